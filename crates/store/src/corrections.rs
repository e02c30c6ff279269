//! Corrections of members' records: requests filed by a member (self-service) or by an
//! office-bearer on the member's page, reviewed by those who may change people's records
//! (Action::Merge), then applied through the enrolment's own checks or declined with a reason.
//! The SQL lives in `access_sql.rs`.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sangathan_core::access::Wings;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The fields a correction may change.
pub const CORRECTABLE: [&str; 6] = ["name", "mobile", "epic", "gender", "birth_year", "address"];

/// One correction request, with the person it is about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CorrectionRequest {
    pub id: i64,
    pub person_id: i64,
    /// The person's name now.
    pub name: String,
    /// The person's home unit.
    pub unit: String,
    /// `name`, `mobile`, `epic`, `gender`, `birth_year` or `address`.
    pub field: String,
    /// The value on record now (mobile as E.164).
    pub current: Option<String>,
    /// The value asked for, as typed.
    pub value: String,
    pub requested_at: DateTime<Utc>,
    /// When it was applied or declined; none while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Who applies a correction: their person (none for the operator's token) and whether they hold
/// a state admin post (the operator does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reviewer {
    pub person_id: Option<i64>,
    pub state_admin: bool,
}

#[async_trait]
pub trait Corrections: Send + Sync {
    /// File a correction request about a person: `field` one of [`CORRECTABLE`] (a field error in
    /// English and Hindi otherwise), `filed_by` the person who asks (the member, or the
    /// office-bearer on the member's page; none for the operator). The new request's id.
    async fn file_correction(&self, person_id: i64, field: &str, value: &str, filed_by: Option<i64>) -> Result<i64>;
    /// Open correction requests about people with a membership in `unit`'s subtree in `wings`
    /// (every person whose home unit is in the subtree when `wings` is all), oldest first, after
    /// request id `after`. None for an unknown unit.
    async fn open_corrections(&self, unit: &str, wings: &Wings, after: i64, limit: u32) -> Result<Option<Vec<CorrectionRequest>>>;
    /// The open requests about one person, oldest first.
    async fn corrections_of(&self, person_id: i64) -> Result<Vec<CorrectionRequest>>;
    /// One request, open or resolved.
    async fn correction(&self, id: i64) -> Result<Option<CorrectionRequest>>;
    /// Apply an open request: the value is checked as an enrolment checks it (name NFC, mobile
    /// and EPIC parsed, gender, birth year of an adult, address) and the identity rules hold (an
    /// EPIC belongs to one person; one person per mobile and name; the household limit; one
    /// login per mobile). Users log in with the mobile on their person record, so only a state
    /// admin changes a user's mobile, and never onto a mobile another user logs in with. Nobody
    /// applies a request they filed. A refusal is a field error in English and Hindi and writes
    /// nothing. Answers the request as resolved; a request resolved already is refused
    /// (`correction_decided`).
    async fn apply_correction(&self, id: i64, by: &Reviewer, now: DateTime<Utc>) -> Result<CorrectionRequest>;
    /// Decline an open request (the reason goes to the audit log with the decision); a request
    /// resolved already is refused (`correction_decided`).
    async fn decline_correction(&self, id: i64, now: DateTime<Utc>) -> Result<CorrectionRequest>;
    /// People's names by id, for naming who did what (an erased person's name is empty).
    async fn people_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>>;
}
