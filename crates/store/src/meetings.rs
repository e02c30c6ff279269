//! Meetings: the storage side of rotating series, presiding chairs, reports that climb the
//! chain, weekly compliance, calendar feeds and the notification outbox. The rules themselves
//! (rotation, chair choice, chains, escalation steps) live in `sangathan_core::meetings`.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sangathan_core::geo::UnitKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new rotating series.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewSeries {
    /// Wing code (e.g. `employees`).
    pub wing: String,
    /// The organising unit (e.g. a division `UP-DIV-LUCKNOW`).
    pub unit: String,
    /// What the venues are: the `ac`s, `sector`s or `booth`s of the organising unit.
    #[schema(value_type = String, example = "ac")]
    pub rotate: UnitKind,
    /// An RFC 5545 weekly or monthly rule, e.g. `FREQ=WEEKLY;BYDAY=SU`.
    pub rule: String,
    /// Local time (IST), `HH:MM`.
    #[schema(value_type = String, example = "11:00")]
    pub time: NaiveTime,
    #[serde(default = "default_minutes")]
    pub minutes: u32,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// `employees`, `booth`, `sector` or `workers`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// No venue twice within this many weeks (0: only the visit-each-once rule).
    #[serde(default)]
    pub min_gap_weeks: u32,
    /// Hours after the start before the report is due (default 48).
    #[serde(default = "default_due_hours")]
    pub due_hours: u32,
}

fn default_minutes() -> u32 {
    120
}
fn default_kind() -> String {
    "employees".into()
}
fn default_due_hours() -> u32 {
    sangathan_core::meetings::REPORT_DUE_HOURS as u32
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Series {
    pub id: i64,
    pub wing: String,
    pub unit: String,
    pub kind: String,
    #[schema(value_type = String)]
    pub rotate: UnitKind,
    pub rule: String,
    pub time: String,
    pub minutes: u32,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub min_gap_weeks: u32,
    pub due_hours: u32,
    /// The venues rotated across, in pool order.
    pub pool: Vec<String>,
}

/// A single meeting (a booth meeting called this week).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct NewMeeting {
    pub wing: String,
    /// The venue unit's code.
    pub venue: String,
    pub date: NaiveDate,
    #[schema(value_type = String, example = "11:00")]
    pub time: NaiveTime,
    #[serde(default = "default_minutes")]
    pub minutes: u32,
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The chair's person id; chosen like a series' chairs when absent.
    pub chair: Option<i64>,
    /// The organiser's person id (default: whoever calls it).
    pub organiser: Option<i64>,
    #[serde(default = "default_due_hours")]
    pub due_hours: u32,
}

/// One meeting as shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MeetingView {
    pub id: i64,
    pub series_id: Option<i64>,
    pub date: NaiveDate,
    pub time: String,
    pub starts_at: DateTime<Utc>,
    pub minutes: u32,
    /// The venue unit's code (None: no venue could be placed; `why` says why).
    pub venue: Option<String>,
    pub venue_name: Option<String>,
    pub venue_name_hi: Option<String>,
    pub wing: String,
    pub kind: String,
    /// The chair's person id.
    pub chair: Option<i64>,
    pub chair_name: Option<String>,
    pub organiser: Option<i64>,
    pub organiser_name: Option<String>,
    /// `planned` or `cancelled`.
    pub status: String,
    /// Why this venue (and chair) were chosen.
    pub why: String,
    pub why_hi: String,
    pub report_due: DateTime<Utc>,
    /// The date the series' rule gave (its iCalendar RECURRENCE-ID); differs from `date` when moved.
    pub rule_date: Option<NaiveDate>,
    pub sequence: u32,
    /// `none`, `filed`, `acknowledged` or `returned`.
    pub report: String,
}

/// A date the rule gave that holds no meeting.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Skipped {
    pub date: NaiveDate,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Plan {
    pub series: Series,
    pub occurrences: Vec<MeetingView>,
    pub skipped: Vec<Skipped>,
}

/// A meeting's report as filed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default, ToSchema)]
pub struct NewReport {
    pub held: bool,
    /// Why it did not happen (required when `held` is false).
    pub reason: Option<String>,
    #[serde(default)]
    pub attendance: u32,
    #[serde(default)]
    pub employees_met: u32,
    #[serde(default)]
    pub new_supporters: u32,
    #[serde(default)]
    pub new_members: u32,
    #[serde(default)]
    pub agenda: String,
    #[serde(default)]
    pub issues: String,
    #[serde(default)]
    pub notes: String,
    /// Members present (person ids); absent: as on file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<Vec<i64>>,
    /// Members enrolled at the meeting (person ids); absent: as on file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled: Option<Vec<i64>>,
}

/// Someone met at a meeting who is not a member yet.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default, ToSchema)]
pub struct NewContact {
    pub name: String,
    /// Department or office.
    #[serde(default)]
    pub department: String,
    /// Kept only with `consent`.
    pub mobile: Option<String>,
    /// They agreed to be contacted again.
    #[serde(default)]
    pub consent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Contact {
    pub id: i64,
    pub meeting_id: Option<i64>,
    pub unit: String,
    pub wing: String,
    pub name: String,
    pub department: String,
    pub mobile: Option<String>,
    pub consent: bool,
    pub assigned_to: Option<i64>,
    pub assigned_name: Option<String>,
    /// `new`, `assigned`, `reached`, `not_reachable`, `will_come`, `moved_away`, `declined` or
    /// `converted` (then `person_id` is the member).
    pub status: String,
    pub note: String,
    pub person_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Follow-up outcomes a contact can be given.
pub const CONTACT_OUTCOMES: [&str; 5] = ["reached", "not_reachable", "will_come", "moved_away", "declined"];

/// One step of a report's way up the chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct RouteStep {
    /// The report's revision this step belongs to (a corrected report climbs again).
    pub revision: u32,
    pub level: u32,
    pub unit: String,
    pub person_id: i64,
    pub name: String,
    /// `waiting`, `acknowledged`, `returned` or `skipped`.
    pub state: String,
    pub comment: Option<String>,
    pub acted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ReportView {
    pub meeting_id: i64,
    #[serde(flatten)]
    pub report: NewReport,
    pub filed_by: String,
    pub first_filed_at: DateTime<Utc>,
    pub filed_at: DateTime<Utc>,
    /// `on_time` or `late` (from the first filing).
    pub timing: String,
    /// `filed` (on its way up), `returned` (for correction) or `acknowledged` (by the top of the chain).
    pub status: String,
    /// The chain level it waits at now (1 = the first level above the venue).
    pub level: u32,
    pub revision: u32,
    pub route: Vec<RouteStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct InboxItem {
    pub meeting: MeetingView,
    pub level: u32,
    pub filed_at: DateTime<Utc>,
    pub timing: String,
}

/// Per unit and week: meetings planned, held, not held, reported on time, late, and missing
/// (due and not reported).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default, ToSchema)]
pub struct ComplianceRow {
    pub code: String,
    pub name: String,
    pub name_hi: Option<String>,
    pub planned: i64,
    pub held: i64,
    pub not_held: i64,
    pub on_time: i64,
    pub late: i64,
    pub missing: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Compliance {
    /// ISO week, e.g. `2027-W02`.
    pub week: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub unit: ComplianceRow,
    pub children: Vec<ComplianceRow>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default, ToSchema)]
pub struct EscalationRun {
    /// Meetings due and not reported.
    pub overdue: u64,
    /// Of those, escalated now (each at most once a day).
    pub escalated: u64,
    /// Requests to preside left unanswered past their time, now put to the next senior.
    pub requests_moved: u64,
    /// Notifications queued.
    pub notified: u64,
}

/// A request to a senior to preside over a meeting.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ChairRequest {
    pub meeting_id: i64,
    pub person_id: i64,
    pub name: String,
    /// `pending`, `accepted`, `declined`, `expired` (unanswered in time) or `withdrawn`
    /// (someone else accepted).
    pub state: String,
    pub asked_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A senior leader answerable for a unit's drive or its meetings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Charge {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub unit: String,
    pub unit_name: String,
    pub unit_name_hi: Option<String>,
    /// `drive` or `meetings`.
    pub what: String,
    pub since: DateTime<Utc>,
}

/// A notification waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    /// `email`, `sms` or `whatsapp`.
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub attempts: u32,
}

/// A notification to queue (once per key).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub person_id: i64,
    pub key: String,
    pub subject: String,
    pub body: String,
}

/// A meeting's photo, as listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PhotoInfo {
    /// 1, 2 or 3.
    pub n: u32,
    pub content_type: String,
    pub size: u64,
    pub uploaded_at: DateTime<Utc>,
}

/// A talking point as written (a new one, or the next version of one).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default, ToSchema)]
pub struct NewPoint {
    /// Wing code.
    pub wing: String,
    pub title: String,
    #[serde(default)]
    pub body_hi: String,
    #[serde(default)]
    pub body_en: String,
    /// Who it is for: free tags (e.g. `government employees`, `youth`, `farmers`).
    #[serde(default)]
    pub audience: Vec<String>,
    /// Published (offered for agendas) or a draft.
    #[serde(default)]
    pub published: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Point {
    pub id: i64,
    pub wing: String,
    pub title: String,
    pub body_hi: String,
    pub body_en: String,
    pub audience: Vec<String>,
    /// `draft` or `published`.
    pub status: String,
    pub version: u32,
    /// How many meeting agendas carry it.
    pub uses: u32,
    pub updated_at: DateTime<Utc>,
}

/// An earlier (or the current) version of a talking point.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PointVersion {
    pub version: u32,
    pub title: String,
    pub body_hi: String,
    pub body_en: String,
    pub audience: Vec<String>,
    pub status: String,
    pub edited_by: String,
    pub edited_at: DateTime<Utc>,
}

/// What a calendar feed covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    Unit,
    Series,
    Person,
}

impl FeedKind {
    pub fn code(self) -> &'static str {
        match self {
            FeedKind::Unit => "unit",
            FeedKind::Series => "series",
            FeedKind::Person => "person",
        }
    }
    pub fn parse(s: &str) -> Option<FeedKind> {
        [FeedKind::Unit, FeedKind::Series, FeedKind::Person].into_iter().find(|k| k.code() == s)
    }
}

#[async_trait]
pub trait Meetings: Send + Sync {
    /// Create a series (its pool must hold more venues than `min_gap_weeks`).
    async fn add_series(&self, s: &NewSeries, actor: &str) -> Result<Series>;
    async fn series(&self, id: i64) -> Result<Option<Series>>;
    /// The series' occurrences from `from` for `weeks` weeks, placing (venue and chair) and
    /// storing those not placed yet; placed ones never move unless moved by hand. None: no series.
    async fn plan(&self, series_id: i64, from: NaiveDate, weeks: u32, actor: &str) -> Result<Option<Plan>>;
    /// Every stored meeting of a series, by date.
    async fn series_meetings(&self, series_id: i64) -> Result<Vec<MeetingView>>;
    async fn add_meeting(&self, m: &NewMeeting, actor: &str) -> Result<MeetingView>;
    async fn meeting(&self, id: i64) -> Result<Option<MeetingView>>;
    /// Move one meeting (date, time, venue); nothing else in its series changes. A chair busy on
    /// the new date is replaced.
    async fn move_meeting(
        &self,
        id: i64,
        date: Option<NaiveDate>,
        time: Option<NaiveTime>,
        venue: Option<&str>,
        actor: &str,
    ) -> Result<MeetingView>;
    async fn cancel_meeting(&self, id: i64, actor: &str) -> Result<MeetingView>;
    /// Set the chair by hand (refused if they chair another meeting that day).
    async fn set_chair(&self, id: i64, person_id: i64, actor: &str) -> Result<MeetingView>;
    /// The chair declines; another is chosen, never them again for this meeting.
    async fn decline_chair(&self, id: i64, person_id: i64) -> Result<MeetingView>;
    /// Meetings held at venues within a unit, or chaired/organised by a person, between two dates.
    async fn meetings_within(&self, unit: &str, from: NaiveDate, to: NaiveDate) -> Result<Option<Vec<MeetingView>>>;
    async fn meetings_of_person(&self, person_id: i64, from: NaiveDate, to: NaiveDate) -> Result<Vec<MeetingView>>;

    /// File (or correct, after a return) a meeting's report; it goes to the chain's first level.
    /// Filing the same report again changes nothing.
    async fn file_report(&self, meeting_id: i64, r: &NewReport, filed_by: &str, now: DateTime<Utc>) -> Result<ReportView>;
    async fn report(&self, meeting_id: i64) -> Result<Option<ReportView>>;
    /// Reports waiting for this person at the level they sit on.
    async fn inbox(&self, person_id: i64) -> Result<Vec<InboxItem>>;
    /// Acknowledge (it climbs to the next level) or return (back to the filer, with a comment).
    async fn act_on_report(
        &self,
        meeting_id: i64,
        person_id: i64,
        acknowledge: bool,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ReportView>;
    /// The overdue check: each meeting due and not reported is escalated one level further up
    /// each day and the organiser, chair and that level are notified; at most once a day.
    async fn escalate(&self, now: DateTime<Utc>) -> Result<EscalationRun>;
    /// A unit's and its children's compliance for the ISO week starting `monday`, every wing.
    /// None: no unit.
    async fn compliance(&self, unit: &str, monday: NaiveDate, now: DateTime<Utc>) -> Result<Option<Compliance>> {
        self.compliance_in(unit, monday, now, &sangathan_core::access::Wings::All).await
    }
    /// The same, counting only the meetings of `wings` (a caller's wings at the unit).
    async fn compliance_in(
        &self,
        unit: &str,
        monday: NaiveDate,
        now: DateTime<Utc>,
        wings: &sangathan_core::access::Wings,
    ) -> Result<Option<Compliance>>;

    async fn add_holiday(&self, day: NaiveDate, name: &str) -> Result<()>;
    async fn set_unavailable(&self, unit: &str, from: NaiveDate, to: NaiveDate, reason: &str) -> Result<()>;
    async fn set_report_chain(&self, wing: &str, levels: &[UnitKind]) -> Result<()>;
    async fn set_email(&self, person_id: i64, email: Option<&str>) -> Result<bool>;

    /// A new secret feed URL token (returned once; only its hash is kept): (feed id, token).
    async fn create_feed(&self, kind: FeedKind, target_id: i64, actor: &str) -> Result<(i64, String)>;
    /// A live feed by its token: what it covers, and who made it (`person:ID` or the operator).
    async fn feed(&self, token: &str) -> Result<Option<(FeedKind, i64, String)>>;
    /// Revoke a feed; `by` Some(actor): only a feed that actor created (None: any, the state office).
    async fn revoke_feed(&self, id: i64, by: Option<&str>) -> Result<bool>;
    /// A unit's code from its id (feeds keep ids).
    async fn unit_code_of(&self, id: i64) -> Result<Option<String>>;
    /// A unit's id from its code.
    async fn unit_id_of(&self, code: &str) -> Result<Option<i64>>;

    /// Ask a senior to preside over a meeting (`person`, or the next eligible one up the levels
    /// who was not asked yet), answering within `hours`. All the meeting's requests.
    async fn request_chair(&self, meeting_id: i64, person: Option<i64>, hours: u32, actor: &str, now: DateTime<Utc>) -> Result<Vec<ChairRequest>>;
    /// The asked senior accepts (they become the chair) or declines (the next one is asked).
    async fn answer_request(&self, meeting_id: i64, person_id: i64, accept: bool, now: DateTime<Utc>) -> Result<MeetingView>;
    async fn chair_requests(&self, meeting_id: i64) -> Result<Vec<ChairRequest>>;
    /// Requests waiting for this person's answer, with their meetings.
    async fn requests_for(&self, person_id: i64) -> Result<Vec<(MeetingView, ChairRequest)>>;

    /// Put a person in charge of a unit's `drive` or `meetings`.
    async fn add_charge(&self, person_id: i64, unit: &str, what: &str, actor: &str) -> Result<Charge>;
    async fn end_charge(&self, id: i64) -> Result<bool>;
    /// What a person answers for.
    async fn charges_of(&self, person_id: i64) -> Result<Vec<Charge>>;
    /// Who answers for the unit and the units below it. None: no such unit.
    async fn charges_within(&self, unit: &str) -> Result<Option<Vec<Charge>>>;

    /// Record the people met at a meeting as contacts (all or none). A mobile without consent is
    /// refused: no number is kept without it.
    async fn add_contacts(&self, meeting_id: i64, list: &[NewContact], actor: &str) -> Result<Vec<Contact>>;
    async fn contact(&self, id: i64) -> Result<Option<Contact>>;
    /// Contacts at units within `unit` in `wings`, newest first; optionally by status or assignee.
    async fn contacts(
        &self,
        unit: &str,
        wings: &sangathan_core::access::Wings,
        status: Option<&str>,
        assigned_to: Option<i64>,
        limit: u32,
    ) -> Result<Option<Vec<Contact>>>;
    async fn assign_contact(&self, id: i64, person_id: i64) -> Result<Contact>;
    /// A follow-up outcome (one of [`CONTACT_OUTCOMES`]) with a note.
    async fn contact_outcome(&self, id: i64, status: &str, note: &str) -> Result<Contact>;
    /// The contact became this member.
    async fn link_contact(&self, id: i64, person_id: i64) -> Result<Contact>;
    /// Delete a contact (on their request, or when no longer needed). False: no such contact.
    async fn delete_contact(&self, id: i64) -> Result<bool>;

    /// Keep photo `n` (1..=3) of a meeting (replacing one there): JPEG, PNG or WebP, at most
    /// `sangathan_core::meetings::PHOTO_MAX_BYTES`.
    async fn put_photo(&self, meeting_id: i64, n: u32, bytes: &[u8], actor: &str) -> Result<PhotoInfo>;
    /// Keep a new photo of a meeting in its first free place (checked as `put_photo` checks
    /// it), chosen in the same transaction that writes it: uploads at the same moment take
    /// different places and never replace one another. Refused (`photos_full`, in English and
    /// Hindi) when the meeting has its `sangathan_core::meetings::PHOTOS_PER_MEETING` photos.
    async fn add_photo(&self, meeting_id: i64, bytes: &[u8], actor: &str) -> Result<PhotoInfo>;
    /// A photo's type and bytes.
    async fn photo(&self, meeting_id: i64, n: u32) -> Result<Option<(String, Vec<u8>)>>;
    async fn photos(&self, meeting_id: i64) -> Result<Vec<PhotoInfo>>;
    async fn delete_photo(&self, meeting_id: i64, n: u32) -> Result<bool>;

    /// Add a talking point (version 1).
    async fn add_point(&self, p: &NewPoint, actor: &str) -> Result<Point>;
    /// Edit one: the version before is kept. Its wing cannot change.
    async fn edit_point(&self, id: i64, p: &NewPoint, actor: &str) -> Result<Point>;
    async fn point(&self, id: i64) -> Result<Option<Point>>;
    /// Every version, oldest first.
    async fn point_versions(&self, id: i64) -> Result<Vec<PointVersion>>;
    /// The library in `wings`: published ones (and drafts when asked), optionally for one
    /// audience tag; most used first.
    async fn points(&self, wings: &sangathan_core::access::Wings, audience: Option<&str>, drafts: bool) -> Result<Vec<Point>>;
    /// Put published talking points on a meeting's agenda (each once; each new one counts a use).
    async fn attach_points(&self, meeting_id: i64, ids: &[i64]) -> Result<Vec<Point>>;
    /// The talking points on a meeting's agenda.
    async fn meeting_points(&self, meeting_id: i64) -> Result<Vec<Point>>;

    /// The office-bearers holding a post at the unit today: (person id, name, role). None: no unit.
    async fn office_bearers(&self, unit: &str, day: NaiveDate) -> Result<Option<Vec<(i64, String, String)>>>;

    /// Queue notifications (a key already queued is skipped): email when the person has an
    /// address, SMS to their mobile otherwise. How many were new.
    async fn notify(&self, notices: &[Notice], now: DateTime<Utc>) -> Result<u64>;
    /// Notifications due for sending.
    async fn outbox_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<OutboxItem>>;
    /// Record a delivery attempt: sent, or failed (retried later with back-off).
    async fn outbox_done(&self, id: i64, error: Option<&str>, now: DateTime<Utc>) -> Result<()>;
}
