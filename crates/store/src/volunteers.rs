//! The volunteer force and the message: the storage side of programmes, duties and rosters,
//! check-in, activation, follow-up lists and bulletins. The rules live in
//! `sangathan_core::volunteers`.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sangathan_core::access::Wings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new programme.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewProgramme {
    /// Organising wing's code.
    pub wing: String,
    /// Organising unit's code.
    pub unit: String,
    /// The venue unit's code (within the organising unit).
    pub venue: String,
    pub title: String,
    /// `rally`, `jan-sabha`, `workers-conference`, `event` or any short word.
    #[serde(default = "default_programme_kind")]
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Expected attendance.
    #[serde(default)]
    pub expected: u32,
}

fn default_programme_kind() -> String {
    "event".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Programme {
    pub id: i64,
    pub wing: String,
    pub unit: String,
    pub venue: String,
    pub venue_name: String,
    /// The meeting that carries the programme's report up the chain.
    pub meeting_id: i64,
    pub title: String,
    pub kind: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub expected: u32,
    /// Places on all duties, and how many are taken (asked or confirmed).
    pub places: u32,
    pub filled: u32,
}

/// A new duty at a programme.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewDuty {
    /// `gate`, `stage`, `crowd`, `parking`, `water`, `first-aid` or any short code.
    pub kind: String,
    /// Free label (e.g. "Gate 2"); the kind when empty.
    #[serde(default)]
    pub label: String,
    /// The shift; the programme's window when omitted.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub headcount: u32,
    /// The duty's leader (a person id).
    pub leader: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Assignment {
    pub person_id: i64,
    pub name: String,
    /// `asked`, `confirmed` or `declined`.
    pub status: String,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Duty {
    pub id: i64,
    pub programme_id: i64,
    pub kind: String,
    pub label: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub headcount: u32,
    pub leader: Option<i64>,
    pub leader_name: Option<String>,
    /// Places taken (asked or confirmed) and confirmed.
    pub filled: u32,
    pub confirmed: u32,
    /// Places still open: headcount − filled.
    pub gap: u32,
    pub people: Vec<Assignment>,
}

/// A programme with its duties: the commander's roster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Roster {
    pub programme: Programme,
    pub duties: Vec<Duty>,
}

/// A volunteer's own duty, as their home page and `/me/duties` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MyDuty {
    pub duty_id: i64,
    pub programme_id: i64,
    pub programme: String,
    pub venue: String,
    pub kind: String,
    pub label: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: String,
}

/// A check-in or check-out as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CheckIn {
    pub programme_id: i64,
    pub person_id: i64,
    pub name: String,
    /// The volunteer's duties at this programme (labels).
    pub duties: Vec<String>,
    pub in_at: DateTime<Utc>,
    pub out_at: Option<DateTime<Utc>>,
    /// True when this scan repeated one already recorded (nothing changed).
    pub already: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Incident {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub severity: String,
    pub text: String,
    pub reported_by: String,
}

/// Attendance at one duty after the programme.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct DutyAttendance {
    pub duty_id: i64,
    pub label: String,
    pub headcount: u32,
    pub confirmed: u32,
    pub present: u32,
    /// Confirmed volunteers who never checked in.
    pub no_shows: Vec<Assignment>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ProgrammeSummary {
    pub programme: Programme,
    pub duties: Vec<DutyAttendance>,
    /// Everyone checked in (on a duty or not).
    pub checked_in: u32,
    pub incidents: Vec<Incident>,
}

/// Activation at one unit: its cadre (users and volunteer-wing members placed within it) and
/// how many were active within the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ActivationRow {
    pub code: String,
    pub name: String,
    pub cadre: i64,
    pub active: i64,
    /// Per cent, one decimal; none without cadre.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Activation {
    pub unit: ActivationRow,
    pub days: i64,
    pub children: Vec<ActivationRow>,
}

/// One follow-up: an inactive worker, who follows them up, and how it went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Followup {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub mobile: Option<String>,
    /// Click-to-chat and call links (opened by the phone; nothing passes through Sangathan).
    pub whatsapp: Option<String>,
    pub call: Option<String>,
    pub unit: String,
    pub assigned_to: i64,
    pub assigned_name: String,
    pub last_active: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub next_step: String,
    pub note: String,
    pub updated_at: DateTime<Utc>,
}

/// A new bulletin.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NewBulletin {
    /// The unit whose subtree reads it.
    pub unit: String,
    /// Only this wing's people (all wings when omitted).
    pub wing: Option<String>,
    pub title: String,
    pub body_hi: Option<String>,
    pub body_en: Option<String>,
    #[serde(default)]
    pub pinned: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Bulletin {
    pub id: i64,
    pub unit: String,
    pub unit_name: String,
    pub wing: Option<String>,
    pub author_id: Option<i64>,
    pub author: String,
    pub title: String,
    pub body_hi: Option<String>,
    pub body_en: Option<String>,
    pub pinned: bool,
    pub views: i64,
    /// Comments readers can see.
    pub comments: i64,
    pub created_at: DateTime<Utc>,
    /// Has the caller read it?
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub bulletin_id: i64,
    pub person_id: i64,
    pub name: String,
    pub body: String,
    pub at: DateTime<Utc>,
    /// Only moderators see hidden comments (with why).
    pub hidden: bool,
    pub hidden_reason: Option<String>,
}

/// Who reads: a person, the units they belong to or hold posts at, and their wings.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub person_id: i64,
    /// Ids of the units whose bulletins reach the reader: the units they sit in (home unit,
    /// post units) and every unit above those.
    pub units: Vec<i64>,
    /// Wing ids of the reader's memberships and posts.
    pub wings: Vec<i64>,
}

#[async_trait]
pub trait Volunteers: Send + Sync {
    // Programmes, duties, rosters.
    async fn add_programme(&self, p: &NewProgramme, actor: &str) -> Result<Programme>;
    async fn programme(&self, id: i64) -> Result<Option<Programme>>;
    /// Programmes whose venue lies within `unit`, from `from` on (None: unknown unit).
    async fn programmes_within(&self, unit: &str, from: DateTime<Utc>, wings: &Wings) -> Result<Option<Vec<Programme>>>;
    async fn add_duty(&self, programme_id: i64, d: &NewDuty) -> Result<Duty>;
    async fn duty(&self, id: i64) -> Result<Option<Duty>>;
    async fn roster(&self, programme_id: i64) -> Result<Option<Roster>>;
    /// Put one volunteer on a duty (`person`), or fill its open places from the volunteer wing
    /// within reach of the venue (None). Never beyond the headcount, never two overlapping
    /// shifts for one volunteer, never a volunteer unavailable that day or who declined. Each
    /// volunteer asked is notified through the outbox.
    async fn assign(&self, duty_id: i64, person: Option<i64>, actor: &str, now: DateTime<Utc>) -> Result<Duty>;
    /// A volunteer confirms or declines their place (declining frees it).
    async fn answer_duty(&self, duty_id: i64, person_id: i64, accept: bool, now: DateTime<Utc>) -> Result<Duty>;
    async fn my_duties(&self, person_id: i64, from: DateTime<Utc>) -> Result<Vec<MyDuty>>;
    async fn set_volunteer_unavailable(&self, person_id: i64, from: NaiveDate, to: NaiveDate) -> Result<()>;

    // Check-in.
    /// The volunteer's personal code, made on first use.
    async fn checkin_code(&self, person_id: i64) -> Result<String>;
    /// Check in by code at `at` (or now): the same code twice is one check-in (`already`).
    async fn check_in(&self, programme_id: i64, code: &str, at: Option<DateTime<Utc>>, by: &str, now: DateTime<Utc>) -> Result<CheckIn>;
    async fn check_out(&self, programme_id: i64, code: &str, at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<CheckIn>;
    async fn add_incident(&self, programme_id: i64, severity: &str, text: &str, by: &str, now: DateTime<Utc>) -> Result<Incident>;
    async fn programme_summary(&self, programme_id: i64) -> Result<Option<ProgrammeSummary>>;

    // Activation and follow-up.
    /// Activation at `unit` and each of its children (None: unknown unit).
    async fn activation(&self, unit: &str, days: i64, now: DateTime<Utc>) -> Result<Option<Activation>>;
    /// Open follow-ups for up to `limit` inactive workers within `unit` not yet followed up,
    /// assigned to `assignee`.
    async fn make_followups(&self, unit: &str, assignee: i64, limit: u32, days: i64, actor: &str, now: DateTime<Utc>) -> Result<Vec<Followup>>;
    async fn followups_within(&self, unit: &str, open_only: bool) -> Result<Option<Vec<Followup>>>;
    async fn followups_of(&self, assignee: i64) -> Result<Vec<Followup>>;
    async fn followup(&self, id: i64) -> Result<Option<Followup>>;
    async fn followup_outcome(&self, id: i64, outcome: &str, next_step: &str, note: &str, now: DateTime<Utc>) -> Result<Followup>;

    // Bulletins.
    async fn post_bulletin(&self, b: &NewBulletin, author_id: Option<i64>, author: &str, now: DateTime<Utc>) -> Result<Bulletin>;
    /// The bulletins a reader receives, pinned first, newest first.
    async fn bulletins_for(&self, reader: &Reader, limit: u32) -> Result<Vec<Bulletin>>;
    /// One bulletin as `reader` sees it; their first view is counted. None: not theirs to read.
    async fn read_bulletin(&self, id: i64, reader: &Reader, now: DateTime<Utc>) -> Result<Option<Bulletin>>;
    /// A bulletin without counting a view (moderation, the author's own look).
    async fn bulletin(&self, id: i64) -> Result<Option<Bulletin>>;
    async fn comments(&self, bulletin_id: i64, with_hidden: bool) -> Result<Vec<Comment>>;
    async fn add_comment(&self, bulletin_id: i64, person_id: i64, body: &str, now: DateTime<Utc>) -> Result<Comment>;
    async fn hide_comment(&self, bulletin_id: i64, comment_id: i64, reason: &str, by: &str, now: DateTime<Utc>) -> Result<Comment>;
    async fn unread_bulletins(&self, reader: &Reader) -> Result<i64>;
    /// The units, wings and person a user reads as.
    async fn reader(&self, person_id: i64, day: NaiveDate) -> Result<Reader>;
}
