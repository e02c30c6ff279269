//! Sangathan's storage: one trait, [`Store`], and one implementation per backend.
//!
//! Both backends run the same SQL (`common.rs`, compiled once against each native driver:
//! `sqlx::Sqlite` and `sqlx::Postgres`, never the `Any` driver) with their own migrations under
//! `migrations/sqlite` and `migrations/postgres`, and their own hooks for what differs: how a
//! writer takes its turn (one writer connection on SQLite; advisory locks on PostgreSQL).

mod auth_cache;

/// Maps of the write path's keys (ids, and a batch's mobiles and EPICs, which come from sheets and
/// requests but only in validated forms, in bounded batches): foldhash, seeded at random per
/// process, several times faster than the standard SipHash on the millions of keys of a first load.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
mod load_index;
mod sqlite_pcache;
/// How many candidates a name search ranks at most, in person order: people in a whole-state
/// search in every wing, memberships in scope otherwise; the people whose search key is exactly
/// the query's are added beyond them.
pub const SEARCH_CANDIDATES: u32 = 2000;

pub mod clock;
pub mod corrections;
pub mod dry_run;
pub mod meetings;
pub mod model;
pub mod ops;
pub mod postgres;
pub mod preset;
pub mod read_ahead;
pub mod sqlite;
pub mod testing;
pub mod verification;
pub mod volunteers;

use async_trait::async_trait;
use chrono::NaiveDate;
pub use corrections::{CorrectionRequest, Corrections};
pub use meetings::Meetings;
pub use ops::Ops;
pub use verification::{Detection, Verification};
pub use volunteers::Volunteers;
pub use model::*;
use sangathan_core::Invalid;
pub use sangathan_core::access::{Action, Place, Role, Scope, Wings};
use sangathan_core::geo::{BoothRow, Preset, UnitKind};
use std::sync::Arc;

/// Subtrees holding more counted memberships than this are listed and exported in id order by
/// walking id windows (`ids_in_order` in common.rs) instead of through their ACs' index: about
/// one AC's worth. (Tests lower it and the window, through `testing::walk_ids`; any values give
/// the same rows.)
pub(crate) static WALK_IDS_FROM: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(50_000);

/// How many ids one statement of that walk covers.
pub(crate) static ID_WINDOW: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(200_000);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Bad input: which field and why.
    #[error("{0}")]
    Invalid(Invalid),
    #[error("not found")]
    NotFound,
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused for a different request")]
    KeyReused,
    #[error("the database is not initialised: run `sangathan init --preset up` first")]
    NotInitialised,
    #[error("the database is already initialised")]
    AlreadyInitialised,
    #[error("{0}")]
    Refused(String),
    /// A first load of members is pending: only its own process writes people until it ends.
    #[error("{}", LOAD_PENDING_EN)]
    LoadPending,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Why a write of people waits for a pending first load, in English and Hindi.
pub const LOAD_PENDING_EN: &str = "a first load of members (`import` or `demo` into an empty database) is running or was \
     interrupted: members cannot be added or changed until it ends; let it finish, or finish an \
     interrupted one by running it again or by `sangathan verify`";
pub const LOAD_PENDING_HI: &str = "सदस्यों का पहला लोड (खाली डेटाबेस में `import` या `demo`) चल रहा है या अधूरा रुका है: \
     उसके पूरा होने तक सदस्य जोड़े या बदले नहीं जा सकते; उसे पूरा होने दें, या रुके हुए लोड को फिर से चलाकर \
     या `sangathan verify` से पूरा करें";

impl From<Invalid> for StoreError {
    fn from(i: Invalid) -> Self {
        StoreError::Invalid(i)
    }
}
impl From<sangathan_core::FieldError> for StoreError {
    fn from(e: sangathan_core::FieldError) -> Self {
        StoreError::Invalid(Invalid::one(e))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How an idempotent request is answered: the first result, every time.
#[derive(Debug, Clone, PartialEq)]
pub struct Idempotent {
    pub outcome: EnrolOutcome,
    /// True when this is a replay of an earlier request with the same key.
    pub replayed: bool,
    /// True when the enrolment's audit event ([`EnrolContext::audit`]) was stored with it.
    pub audited: bool,
}

#[async_trait]
pub trait Store: Meetings + Volunteers + Verification + Detection + Corrections + Ops + Send + Sync {
    fn backend(&self) -> Backend;

    /// Is a preset loaded?
    async fn is_initialised(&self) -> Result<bool>;
    /// Load a preset: units, wings, campaigns with their targets. Fails if already initialised.
    async fn init(
        &self,
        preset: &Preset,
        campaign_start: NaiveDate,
        campaign_end: Option<NaiveDate>,
    ) -> Result<InitSummary>;
    /// The state's code (`UP`).
    async fn state_code(&self) -> Result<String>;
    /// How many people may share one mobile.
    async fn household_limit(&self) -> Result<usize>;
    async fn set_household_limit(&self, limit: usize) -> Result<()>;

    /// A new API token for `actor`; the raw token is returned once and only its hash is kept.
    async fn issue_token(&self, actor: &str, label: &str) -> Result<String>;
    async fn authenticate(&self, token: &str) -> Result<Option<Actor>>;

    async fn unit(&self, code: &str) -> Result<Option<Unit>>;
    async fn children(&self, code: &str) -> Result<Option<Vec<Unit>>>;
    /// The units of `kind` in a unit's subtree (the unit itself when it is of that kind), by
    /// number: e.g. the ACs of a district, the booths of an AC. None when no such unit.
    async fn units_within(&self, code: &str, kind: UnitKind) -> Result<Option<Vec<UnitBrief>>>;
    async fn wings(&self) -> Result<Vec<Wing>>;
    async fn campaigns(&self) -> Result<Vec<Campaign>>;
    async fn campaign(&self, code: &str) -> Result<Option<Campaign>>;
    async fn create_campaign(&self, c: &NewCampaign) -> Result<Campaign>;
    /// Target, achieved and pacing of a unit and each child, for a campaign (default: the first).
    async fn progress(
        &self,
        code: &str,
        campaign: Option<&str>,
        today: NaiveDate,
    ) -> Result<Option<Progress>>;

    /// Enrol one person, under an idempotency key scoped to the actor.
    async fn enrol(
        &self,
        e: &Enrolment,
        ctx: &EnrolContext,
        idempotency_key: &str,
    ) -> Result<Idempotent>;
    /// Enrol many in one transaction, row by row in order (imports, the demo). Each row's
    /// result is independent: a rejected row writes nothing and the others go on.
    async fn enrol_batch(
        &self,
        rows: &[(Enrolment, EnrolContext)],
    ) -> Result<Vec<Result<EnrolOutcome, Invalid>>>;
    async fn member(&self, person_id: i64) -> Result<Option<Member>>;
    /// A unit's memberships in the wings given (the caller's scope, narrowed to a wing asked for).
    async fn list_members(
        &self,
        unit: &str,
        wings: &Wings,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Option<MemberPage>>;

    /// Find members of a unit's subtree by name (either script, spelling variants), mobile in any
    /// typed form, or EPIC; ranked exact before fuzzy, then paged by `offset`. None for an unknown unit.
    async fn search(
        &self,
        unit: &str,
        q: &str,
        wings: &Wings,
        offset: u32,
        limit: u32,
    ) -> Result<Option<SearchPage>>;

    /// Retake, now, the statistics name searches plan with (SQLite: how many people each trigram
    /// of the search index appears in, read from the index). A search retakes stale ones by
    /// itself, in the background (hourly; every 10 minutes while they are cheap to take), and
    /// works without them, only slower at scale; this is for a caller that wants them current
    /// before it starts (the benchmark). PostgreSQL plans its own: nothing to do.
    async fn refresh_search_statistics(&self) -> Result<()>;

    /// One page of a unit's memberships as exported (every wing unless `wing`), after `after`
    /// (a cursor from the previous page). None for an unknown unit.
    async fn export_page(
        &self,
        unit: &str,
        wings: &Wings,
        after: i64,
        limit: u32,
    ) -> Result<Option<Vec<(i64, ExportRow)>>>;

    /// Start an import of a file (by content hash), or resume the unfinished one for the same file.
    async fn import_begin(
        &self,
        file_hash: &str,
        file_name: &str,
        actor: &str,
    ) -> Result<ImportJob>;
    /// Import one batch of rows (numbered from `first_line`) in one transaction together with the
    /// job's checkpoint (a dry run uses [`Store::import_batch_dry`]).
    async fn import_batch(
        &self,
        job: i64,
        first_line: u64,
        rows: &[ImportRow],
    ) -> Result<ImportStats>;
    /// A dry run's batch: what a real import of these rows would count after the dry run's
    /// earlier batches (`dry`, which learns this one), and the lines the error report of the
    /// real import would have for these rows (in file order, one per row and column, as
    /// [`Store::import_errors`] gives them). Nothing is written, and nothing is locked: the batch
    /// reads a snapshot on a reader's connection.
    async fn import_batch_dry(
        &self,
        first_line: u64,
        rows: &[ImportRow],
        dry: &mut dry_run::DryRun,
    ) -> Result<(ImportStats, Vec<ImportError>)>;
    /// Mark the job finished; a later import of the same file starts afresh.
    async fn import_finish(&self, job: i64) -> Result<()>;
    /// The job's rejected rows, in file order.
    async fn import_errors(&self, job: i64) -> Result<Vec<ImportError>>;
    /// Before a load into a database with nobody in it yet (a state's first import, the demo):
    /// leave out the indexes no write needs (listings, roll-up scans, search), so the load
    /// writes rows instead of rewriting scattered index pages; [`Store::restore_indexes`] builds
    /// them from the rows afterwards. Foreign keys too: PostgreSQL drops those of people and
    /// memberships and validates them when it puts them back; SQLite's writer runs without any
    /// and checks every table at the build. People's unique index on (mobile, name key) too (on
    /// PostgreSQL also the EPIC's): this process becomes the load's owner and decides identity
    /// with an index of its own in memory, and every other writer of people is refused
    /// ([`StoreError::LoadPending`]) until the build; a load already pending (interrupted, or
    /// another process's) is taken over, the index made from its rows. True when indexes are
    /// (now, or still from an interrupted load) left out; false when people exist already.
    async fn defer_indexes(&self) -> Result<bool>;
    /// Build what [`Store::defer_indexes`] left out, in one transaction (the search index from
    /// the table), then settle the loaded tables (SQLite: the log copied and cut back;
    /// PostgreSQL: vacuumed). False when nothing was left out.
    async fn restore_indexes(&self) -> Result<bool>;

    /// Every AC's code with its booth codes, in tree order (for generators and pickers).
    async fn booth_codes(&self) -> Result<Vec<(String, Vec<String>)>>;

    /// Replace the booth list of the ACs named in `rows` (booths with members must stay).
    /// Refused while a first load's indexes and keys are left out ([`Store::defer_indexes`]).
    async fn import_booths(&self, rows: &[BoothRow]) -> Result<usize>;

    /// Pairs of live people of a unit's subtree (a person is in it when one of their memberships
    /// is) who look like one person: the same mobile with names that match across scripts, or the
    /// same name and birth year in one booth. Lowest ids first, each pair once. None for an
    /// unknown unit.
    async fn duplicate_candidates(
        &self,
        unit: &str,
        wings: &Wings,
        limit: u32,
    ) -> Result<Option<Vec<DuplicateCandidate>>>;

    /// Merge the record `from` into the person `into`, in one transaction, losing nothing:
    /// identifiers `into` lacks move over, `from`'s memberships move to `into` (or, in a wing both
    /// hold, are cancelled and uncounted), `from` stays as history pointing at `into`, and a
    /// `merges` row (actor, time, a snapshot of everything changed) makes it auditable and
    /// reversible. Refused (`Invalid`, nothing written) for the same person, an unknown or already
    /// merged person, or two different EPICs.
    async fn merge(&self, from: i64, into: i64, actor: &str) -> Result<MergeOutcome>;

    /// Undo a merge exactly, from its snapshot, in one transaction. `NotFound` for an unknown
    /// merge; `Refused` when it was already undone, when `into` was merged (or merged into)
    /// again since, or when an identifier to restore is now held by someone else.
    async fn unmerge(&self, merge_id: i64, actor: &str) -> Result<MergeOutcome>;
    /// Does this deployment collect community/category and religion?
    async fn sensitive_fields(&self) -> Result<bool>;
    async fn set_sensitive_fields(&self, on: bool) -> Result<()>;
    /// Counts of sensitive values among a unit's members in `wings`, groups of at least
    /// [`sangathan_core::consent::MIN_GROUP`] only. None for an unknown unit.
    async fn sensitive_aggregates(
        &self,
        unit: &str,
        wings: &Wings,
    ) -> Result<Option<Vec<SensitiveCount>>>;
    /// A merge's (from, into).
    async fn merge_parties(&self, merge_id: i64) -> Result<Option<(i64, i64)>>;

    /// Recompute every counter from the base rows; every disagreement.
    async fn verify(&self) -> Result<Vec<Mismatch>>;

    // ---- Accounts and access ----

    /// Where a unit sits, for the access policy. None for an unknown code.
    async fn place(&self, code: &str) -> Result<Option<Place>>;
    /// A live person's home unit and each membership's unit and wing id (None: unknown or erased).
    async fn person_places(&self, person_id: i64) -> Result<Option<(Place, Vec<(Place, i64)>)>>;
    /// Add a user (a person who can log in; the person is found by mobile + name or created) and
    /// appoint them to `posts`, in one transaction. Adding an existing user adds the new posts,
    /// sets the password if one is given and re-enables them.
    async fn add_user(
        &self,
        name: &sangathan_core::ids::PersonName,
        mobile: &sangathan_core::ids::Mobile,
        password_hash: Option<&str>,
        posts: &[NewPost],
        actor: &str,
    ) -> Result<i64>;
    /// The user who logs in with this mobile (E.164).
    async fn user_by_mobile(&self, mobile: &str) -> Result<Option<UserRecord>>;
    /// End a person's open post (`ROLE@UNIT:WING`) on `ends_on` (kept as history). False if they
    /// hold no such open post.
    async fn end_post(
        &self,
        person_id: i64,
        post: &NewPost,
        ends_on: chrono::NaiveDate,
    ) -> Result<bool>;
    /// Every post a person holds or held, oldest first.
    async fn posts(&self, person_id: i64, today: chrono::NaiveDate) -> Result<Vec<PostView>>;
    /// The posts a person holds today (nothing for a disabled or unknown user): their scope.
    async fn scope(&self, person_id: i64, today: chrono::NaiveDate) -> Result<Scope>;
    /// Disable a user: their sessions end and their tokens stop working at once.
    async fn disable_user(&self, person_id: i64) -> Result<bool>;
    /// An API token carrying the user's scope.
    async fn issue_user_token(&self, person_id: i64, label: &str) -> Result<String>;

    /// A new server-side session: (session id, CSRF token). Only the id's hash is kept.
    async fn create_session(&self, person_id: i64, kind: &str) -> Result<(String, String)>;
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>>;
    /// Mark the session used now, or end it.
    async fn touch_session(&self, id: &str, end: bool) -> Result<()>;
    /// Record a failed login (or code check) against each key ([`failure_key`]).
    async fn note_failure(&self, keys: &[String]) -> Result<()>;
    /// Take back the newest failure recorded against each key (the attempt succeeded).
    async fn forgive_failure(&self, keys: &[String]) -> Result<()>;
    /// Failures against `key` since `since`: how many, and the oldest.
    async fn failures(
        &self,
        key: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<(i64, Option<chrono::DateTime<chrono::Utc>>)>;
    /// A one-time code for `mobile`, written to the SMS outbox; None when `per_window` codes were
    /// already sent within `window`. Earlier live codes stop working.
    async fn issue_code(
        &self,
        mobile: &str,
        purpose: &str,
        ttl: chrono::Duration,
        per_window: i64,
        window: chrono::Duration,
    ) -> Result<Option<String>>;
    /// Use up the live code if `code` is it.
    async fn redeem_code(&self, mobile: &str, purpose: &str, code: &str) -> Result<bool>;
    /// Messages queued for a recipient (the SMS provider's side; tests read codes here).
    async fn outbox(&self, recipient: &str) -> Result<Vec<String>>;

    // ---- Audit ----

    /// Append events to the hash-chained audit log.
    async fn audit(&self, events: &[AuditEvent]) -> Result<()>;
    /// Walk the chain; the first event that does not hold.
    async fn audit_verify(&self) -> Result<AuditCheck>;
    /// Who looked at or changed a person, newest first.
    async fn audit_of_person(&self, person_id: i64, limit: u32) -> Result<Vec<AuditRecord>>;
    /// The oldest events before `before`, at most `limit`.
    async fn audit_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>>;
    /// Drop events `first_id..=last_id`, already written to the archive `file`, keeping the link.
    async fn audit_archived(&self, first_id: i64, last_id: i64, file: &str) -> Result<u64>;

    // ---- Members' rights ----

    /// Live people on a mobile (E.164).
    async fn people_on_mobile(&self, mobile: &str) -> Result<Vec<i64>>;
    /// Everything held about a person, as JSON.
    async fn member_data(&self, person_id: i64) -> Result<Option<serde_json::Value>>;
    async fn request_correction(&self, person_id: i64, field: &str, value: &str) -> Result<i64>;
    /// Record consent given (`Some((notice version, purposes))`) or withdrawn (`None`).
    async fn set_consent(&self, person_id: i64, notice: Option<(&str, &str)>) -> Result<()>;
    /// Erase a person's personal data from every table and index, keeping anonymous counts, and
    /// audit the fact (`event`) in the same transaction. False if unknown or already erased.
    async fn erase(&self, person_id: i64, event: &AuditEvent) -> Result<bool>;
}

/// The rate-limit key of an account (`account`, mobile) or an address (`address`, IP).
pub fn failure_key(kind: &str, value: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "{kind}:{}",
        hex::encode(&Sha256::digest(format!("sangathan-failure:{value}").as_bytes())[..16])
    )
}

pub type DynStore = Arc<dyn Store>;

/// Open a store from a URL: `sqlite://FILE` (created if missing) or `postgres://…`; migrations run.
pub async fn open(url: &str) -> Result<DynStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Refused(format!(
            "unsupported database URL (use sqlite://FILE or postgres://…): {}",
            url.split('@').next_back().unwrap_or("")
        )))
    }
}

/// The default database: a SQLite file in the working directory.
pub const DEFAULT_DB: &str = "sqlite://sangathan.db";
