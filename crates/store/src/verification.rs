//! Members you can trust: the storage side of verification states (counters kept exact in the
//! same transaction), the verification queue, and member verification codes. The rules live in
//! `sangathan_core::verification`.

use crate::Result;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sangathan_core::access::Wings;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One membership as verification sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct MembershipState {
    pub membership_id: i64,
    pub number: String,
    pub person_id: i64,
    pub name: String,
    /// The mobile's last four digits only (the queue is for checking, not for copying).
    pub mobile_tail: Option<String>,
    pub unit: String,
    pub wing: String,
    /// `pending`, `verified`, `rejected`, `lapsed` or `cancelled`.
    pub status: String,
    pub verified_on: Option<NaiveDate>,
    pub reason: Option<String>,
    pub enrolled_by: String,
    pub enrolled_at: DateTime<Utc>,
    /// A verification code was sent and not yet used.
    pub code_sent: bool,
}

/// What a change of state did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct StatusChange {
    /// Memberships whose state changed.
    pub changed: u64,
    /// Memberships already in the wanted state (nothing done).
    pub unchanged: u64,
    pub memberships: Vec<MembershipState>,
}

#[async_trait]
pub trait Verification: Send + Sync {
    /// One membership, by id.
    async fn membership_state(&self, id: i64) -> Result<Option<MembershipState>>;
    /// Move memberships to `to` (all or none): each move must be allowed, a rejection needs a
    /// reason, and achieved and verified counters move exactly in the same transaction. A
    /// membership already in `to` is left alone. Every change is logged with who and why.
    async fn set_status(&self, ids: &[i64], to: &str, reason: Option<&str>, actor: &str, now: DateTime<Utc>) -> Result<StatusChange>;
    /// Pending memberships within `unit` in `wings`, oldest first, after membership id `after`.
    async fn verification_queue(&self, unit: &str, wings: &Wings, after: i64, limit: u32) -> Result<Option<Vec<MembershipState>>>;
    /// Send a one-time code to the member's mobile through the outbox; the link token for the
    /// member's own confirmation page. Refused without a mobile, or when not pending.
    async fn send_verification_code(&self, membership_id: i64, now: DateTime<Utc>) -> Result<String>;
    /// Confirm with the code typed by the worker: verified once; a wrong code counts an attempt.
    async fn confirm_verification_code(&self, membership_id: i64, code: &str, actor: &str, now: DateTime<Utc>) -> Result<MembershipState>;
    /// The member's own confirmation through the link they were sent (token and code).
    async fn confirm_by_link(&self, token: &str, code: &str, now: DateTime<Utc>) -> Result<MembershipState>;
    /// Ask the member to confirm from their own mobile: a missed call to the number the message
    /// comes from, or a reply "YES <code>" ("NO" if they never joined). Refused like a code.
    async fn request_missed_call(&self, membership_id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Enrollers of members within `unit` (an AC or below: peers are compared within their AC)
    /// in `wings`, by verified members (then fewer rejected, then name); sheet imports are not
    /// enrollers and are left out. None for an unknown unit.
    async fn leaderboard(&self, unit: &str, wings: &Wings, limit: u32) -> Result<Option<Vec<EnrollerRow>>>;
    /// A missed call (`reply` none) or a reply SMS arrived from `mobile` (as the provider gives
    /// it): the memberships on that mobile asked to confirm this way are verified (a reply with
    /// a code: only the one it names), or rejected when the member replies no.
    async fn inbound_confirmation(&self, mobile: &str, reply: Option<&sangathan_core::verification::Reply>, now: DateTime<Utc>) -> Result<Inbound>;
}

/// One enroller on a leaderboard: ranked by members verified, not by raw counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct EnrollerRow {
    pub rank: u32,
    /// Who enrolled (`person:<id>` for a user; `import`, `operator`, … otherwise).
    pub enroller: String,
    /// The person's name when the enroller is one.
    pub name: Option<String>,
    pub verified: i64,
    pub pending: i64,
    pub rejected: i64,
    /// Of those checked (verified + rejected), the share verified, in percent (none before any check).
    pub verified_percent: Option<f64>,
}

/// What a missed call or reply SMS did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Inbound {
    /// Memberships verified by it.
    pub verified: u64,
    /// Memberships rejected by it (the member said they never joined).
    pub rejected: u64,
    /// Membership ids concerned.
    pub memberships: Vec<i64>,
    /// The reply's code is none of those sent to this mobile (an attempt is counted; nothing
    /// else happens).
    pub wrong_code: bool,
    /// A "NO" without a code from a mobile several waiting members share: nothing is done,
    /// since it does not say whose membership it refuses.
    pub needs_code: bool,
}

/// A flag for an office-bearer to review.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Flag {
    pub id: i64,
    /// `padding`, `number_run`, `epic_run`, `shared_address`, `repeated_name`, `unconfirmed`,
    /// `far_apart`.
    pub rule: String,
    /// Why, in English and Hindi.
    pub reason: String,
    pub reason_hi: String,
    /// The unit it concerns (an AC or a booth).
    pub unit: String,
    /// `open`, `genuine` or `fake`.
    pub status: String,
    pub members: Vec<FlagMember>,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct FlagMember {
    pub membership_id: i64,
    pub number: String,
    pub person_id: i64,
    pub unit: String,
    pub wing: String,
    pub status: String,
    pub enrolled_by: String,
}

/// What a detection run did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct DetectRun {
    /// Memberships new since the last run (all of them on the first).
    pub new_memberships: u64,
    pub flags_raised: u64,
    pub flags_updated: u64,
    pub seconds: f64,
}

#[async_trait]
pub trait Detection: Send + Sync {
    /// Run the rules over what is new since the last run (and the enrollers, ACs and booths it
    /// touches). Reads through the read pool; writes flags in short transactions, so enrolment
    /// goes on meanwhile.
    async fn detect(&self, t: &sangathan_core::detection::Thresholds, now: DateTime<Utc>) -> Result<DetectRun>;
    /// Flags about units within `unit` (open only, or all).
    async fn flags_within(&self, unit: &str, open_only: bool) -> Result<Option<Vec<Flag>>>;
    async fn flag(&self, id: i64) -> Result<Option<Flag>>;
    /// Resolve a flag: genuine (nothing changes), or fake (its members still counted are
    /// rejected in the same transaction, counters exact).
    async fn resolve_flag(&self, id: i64, fake: bool, note: &str, actor: &str, now: DateTime<Utc>) -> Result<Flag>;
}
