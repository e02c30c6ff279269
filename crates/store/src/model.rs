//! What the store takes and gives: plain data, serialisable as the API and CLI show it.

use chrono::{DateTime, NaiveDate, Utc};
use sangathan_core::geo::UnitKind;
use sangathan_core::ids::{Epic, Gender, Mobile, PersonName};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub kind: UnitKind,
    pub name: String,
    pub name_hi: Option<String>,
    pub number: Option<i32>,
    pub reserved: Option<String>,
    pub parent: Option<String>,
    /// The parliamentary constituency of an AC.
    pub pc: Option<String>,
}

/// A unit's code, number and names: enough for a list to choose from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnitBrief {
    pub code: String,
    pub number: Option<i32>,
    pub name: String,
    pub name_hi: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wing {
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    pub name: String,
    pub name_hi: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Campaign {
    pub code: String,
    pub name: String,
    pub name_hi: String,
    pub wing: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The state's target.
    pub target: i64,
    /// What drives its percentage and pacing: `verified` or `achieved`.
    pub counts: String,
    /// How its members may be verified: `code`, `missed_call`, `officer`.
    pub verify_by: Vec<String>,
}

/// A new campaign: its target per AC is split over sectors and booths like the preset's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewCampaign {
    pub code: String,
    pub name: String,
    pub name_hi: String,
    pub wing: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub target_per_ac: i64,
    /// `verified` (the default) or `achieved`: which count drives percentage and pacing.
    #[serde(default)]
    pub counts: Option<String>,
    /// How its members may be verified: any of `code`, `missed_call`, `officer` (default all).
    #[serde(default)]
    pub verify_by: Option<Vec<String>>,
}

/// One row of a progress report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProgressRow {
    pub code: String,
    pub kind: String,
    pub name: String,
    pub name_hi: Option<String>,
    pub target: i64,
    /// Pending and verified memberships.
    pub achieved: i64,
    /// Verified memberships.
    pub verified: i64,
    /// Of target, by the count the campaign is driven by (`counts`).
    pub percent: f64,
    pub needed: i64,
    pub days_left: i64,
    pub daily_needed: f64,
    pub rate_7d: f64,
    pub last_7_days: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    pub unit: ProgressRow,
    pub children: Vec<ProgressRow>,
    pub campaign: String,
    pub wing: String,
    pub as_of: NaiveDate,
    /// What drives percentage and pacing: `verified` or `achieved`.
    pub counts: String,
}

/// An enrolment whose fields have been validated (see `sangathan_core::ids`).
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub name: PersonName,
    pub mobile: Option<Mobile>,
    pub epic: Option<Epic>,
    pub gender: Option<Gender>,
    pub birth_year: Option<i32>,
    pub address: Option<String>,
    /// A booth or AC code (upper-cased); checked against the geography by the store.
    pub unit: String,
    pub wing: String,
}

impl Enrolment {
    /// A stable fingerprint of the request, to tell a replay from a reuse of its idempotency key.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let parts = [
            self.name.as_str(),
            self.mobile.as_ref().map(|m| m.e164()).unwrap_or(""),
            self.epic.as_ref().map(|e| e.as_str()).unwrap_or(""),
            self.gender.map(|g| g.code()).unwrap_or(""),
            &self.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            self.address.as_deref().unwrap_or(""),
            &self.unit,
            &self.wing,
        ];
        let mut h = Sha256::new();
        for p in parts {
            h.update(p.as_bytes());
            h.update([0u8]);
        }
        hex::encode(h.finalize())
    }
}

/// Who is enrolling, how, and when.
#[derive(Debug, Clone)]
pub struct EnrolContext {
    pub actor: String,
    pub channel: String,
    pub at: DateTime<Utc>,
    /// The enroller's scope; none for the operator. A unit outside it answers like an unknown unit.
    pub scope: Option<std::sync::Arc<sangathan_core::access::Scope>>,
    /// The consent the person gave on the notice they were shown; none (scripts, imports): the
    /// current notice, attested by the enroller (the columns' defaults).
    pub consent: Option<GivenConsent>,
    /// The audit event of this enrolment, to be stored in the enrolment's own transaction when
    /// the backend can (its `record` and `person_id` are filled in from the answer; see
    /// [`crate::Idempotent::audited`]). SQLite's one writer does: the enrolment and its trace
    /// commit together, with no second write transaction per request. PostgreSQL's writers run
    /// in parallel while the audit chain is one sequence, so there the caller stores it.
    pub audit: Option<AuditEvent>,
}

/// Consent given at enrolment, with the sensitive fields it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenConsent {
    pub consent: sangathan_core::consent::Consent,
    /// (category, religion), recorded only when the consent includes the `sensitive` purpose.
    pub sensitive: Option<(Option<String>, Option<String>)>,
}

/// A sensitive aggregate: how many members of a unit's subtree gave this value (groups below
/// the minimum size are left out).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SensitiveCount {
    pub field: String,
    pub value: String,
    pub members: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnrolOutcome {
    pub person_id: i64,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub created_person: bool,
    pub created_membership: bool,
    pub enrolled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MembershipView {
    /// The id the verification routes take.
    pub membership_id: i64,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub channel: String,
    pub enrolled_by: String,
    pub enrolled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub person_id: i64,
    pub name: String,
    pub mobile: Option<String>,
    pub epic: Option<String>,
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub address: Option<String>,
    pub unit: String,
    pub created_at: DateTime<Utc>,
    pub memberships: Vec<MembershipView>,
    /// Set when this record was merged into another person (it is kept as history: its
    /// memberships that were not moved, with their status, stay here).
    pub merged_into: Option<i64>,
}

/// One line of a member list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberRow {
    pub person_id: i64,
    pub name: String,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    pub status: String,
    pub enrolled_at: DateTime<Utc>,
    /// The membership's id: the paging cursor.
    pub cursor: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemberPage {
    pub members: Vec<MemberRow>,
    /// Pass as `after` for the next page; none when this is the last.
    pub next: Option<i64>,
}

/// A counter that disagrees with the base rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mismatch {
    pub what: String,
    pub unit: String,
    pub wing: String,
    pub expected: i64,
    pub found: i64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} wing {}: expected {}, found {}",
            self.what, self.unit, self.wing, self.expected, self.found
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct InitSummary {
    pub units: usize,
    pub booths: usize,
    pub campaigns: usize,
}

/// The caller as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// How the audit log names the caller: `operator` (the installation's built-in state admin)
    /// or `person:ID`.
    pub id: String,
    /// The user behind the caller; none for the operator.
    pub person_id: Option<i64>,
    pub state_admin: bool,
}

impl Actor {
    /// The installation's operator: the CLI, and tokens issued with `--admin`.
    pub fn operator() -> Actor {
        Actor {
            id: OPERATOR.into(),
            person_id: None,
            state_admin: true,
        }
    }
    pub fn user(person_id: i64) -> Actor {
        Actor {
            id: format!("person:{person_id}"),
            person_id: Some(person_id),
            state_admin: false,
        }
    }
}

/// The audit name of the installation's operator.
pub const OPERATOR: &str = "operator";

/// A post to appoint: `ROLE@UNIT[:WING]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub role: sangathan_core::access::Role,
    pub unit: String,
    pub wing: String,
    pub starts_on: NaiveDate,
}

impl NewPost {
    /// Parse `ROLE@UNIT[:WING]` (wing `party` by default), saying which part is wrong.
    pub fn parse(s: &str, starts_on: NaiveDate) -> Result<NewPost, sangathan_core::FieldError> {
        use sangathan_core::FieldError;
        let bad = |en: String, hi: String| FieldError::new("post", "invalid_post", en, hi);
        let (role, rest) = s.split_once('@').ok_or_else(|| {
            bad(
                format!("a post is ROLE@UNIT[:WING], e.g. ac-incharge@UP-AC-173: {s}"),
                format!("पद ROLE@UNIT[:WING] रूप में लिखें, जैसे ac-incharge@UP-AC-173: {s}"),
            )
        })?;
        let role = sangathan_core::access::Role::parse(role).ok_or_else(|| {
            bad(
                format!("unknown role: {role}"),
                format!("अज्ञात भूमिका: {role}"),
            )
        })?;
        let (unit, wing) = match rest.split_once(':') {
            Some((u, w)) => (u, w.trim().to_lowercase()),
            None => (rest, "party".to_string()),
        };
        Ok(NewPost {
            role,
            unit: unit.trim().to_ascii_uppercase(),
            wing,
            starts_on,
        })
    }
}

/// A post as held, or once held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostView {
    pub id: i64,
    pub role: String,
    pub unit: String,
    pub unit_name: String,
    pub wing: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub active: bool,
}

/// A user as login sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub person_id: i64,
    pub name: String,
    pub mobile: String,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

/// A live server-side session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub person_id: i64,
    pub csrf: String,
    /// `user` (an office-bearer) or `member` (self-service).
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// One audit event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub actor: String,
    /// The post the action was done under (`ROLE@UNIT:WING`), when one was.
    pub post: Option<String>,
    pub action: String,
    /// Which record: a unit code, `person:ID`, `merge:ID`, a route.
    pub record: Option<String>,
    /// The person whose data was looked at or changed.
    pub person_id: Option<i64>,
    /// Where from: the client's address, or `cli`.
    pub address: Option<String>,
    /// `ok`, `denied`, `failed`, or an HTTP status.
    pub outcome: String,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub hash: String,
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditCheck {
    pub events: u64,
    /// The first event whose hash or link does not hold, and why.
    pub first_broken: Option<(i64, String)>,
}

/// One membership as exported: the import's columns (so an export re-imports as a no-op) and
/// a few read-only columns the import ignores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExportRow {
    pub name: String,
    /// E.164 (`+919839012345`); written as the ten digits people write.
    pub mobile: Option<String>,
    pub epic: Option<String>,
    pub ac_no: i32,
    pub booth_no: Option<i32>,
    /// M, F or O.
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub address: Option<String>,
    /// The wing's code.
    pub wing: String,
    pub membership_number: String,
    pub status: String,
    pub enrolled_at: DateTime<Utc>,
}

/// The running totals of an import: rows = blank + created_memberships + duplicates + rejected.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ImportStats {
    pub rows: u64,
    pub blank: u64,
    pub created_people: u64,
    pub created_memberships: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

/// An import in progress (or resumed): where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: i64,
    /// Data rows already committed (blank and rejected included): skip these on resume.
    pub rows_done: u64,
    pub stats: ImportStats,
    pub resumed: bool,
}

/// One data row of a sheet, as the store takes it.
#[derive(Debug, Clone)]
pub enum ImportRow {
    Blank,
    /// Rejected before the store saw it (format errors), with the reasons.
    Rejected(Vec<ImportError>),
    /// A valid row to enrol. `values` are the sheet's raw values by column name, so that a
    /// rejection by the store (unknown AC, booth or wing; identity) can quote them.
    Enrol {
        enrolment: Enrolment,
        ctx: EnrolContext,
        values: Vec<(String, String)>,
        /// The sheet is marked as already verified (by a state admin; the caller checks): the
        /// memberships it creates arrive `verified`, each change logged with who did it.
        verified: bool,
    },
}

/// One line of the error report: the row as a spreadsheet numbers it, the column, the value, why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason_en: String,
    pub reason_hi: String,
}

/// One person found by a search, with their membership in the searched scope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SearchHit {
    pub person_id: i64,
    pub name: String,
    pub membership_number: String,
    pub wing: String,
    pub unit: String,
    /// 3 the same name, 2 the same key or words in another order, 1 whole words of it,
    /// 0 weaker; identifier matches are 3.
    pub rank: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SearchPage {
    pub members: Vec<SearchHit>,
    /// The offset of the next page; none when this is the last.
    pub next: Option<u32>,
}

/// Two live people of a unit's subtree who look like one person.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DuplicateCandidate {
    /// The lower person id.
    pub a: i64,
    pub b: i64,
    pub a_name: String,
    pub b_name: String,
    /// `same mobile, names match across scripts` or `same name and birth year in one booth`.
    pub reason: String,
}

pub const REASON_SAME_MOBILE: &str = "same mobile, names match across scripts";
pub const REASON_SAME_BOOTH: &str = "same name and birth year in one booth";

/// What a merge did (or, with `undone`, what its undo put back).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MergeOutcome {
    pub merge_id: i64,
    /// The record merged away (kept as history, pointing at `into`).
    pub from: i64,
    /// The person who remains.
    pub into: i64,
    /// Membership numbers of `from` re-pointed to `into` (by an undo: back to `from`).
    pub moved_memberships: Vec<String>,
    /// Membership numbers of `from` cancelled because `into` holds the same wing (by an undo:
    /// restored to their previous status).
    pub cancelled_memberships: Vec<String>,
    /// Identifiers of `from` given to `into` (`epic`, `mobile`); by an undo: taken back.
    pub moved_identifiers: Vec<String>,
    /// True for the outcome of an undo.
    pub undone: bool,
}
