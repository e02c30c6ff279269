//! Operating an installation: figures for monitoring (counts only, never a person's data), and
//! backups of the embedded database.
//!
//! - [`Ops::figures`]: what `GET /metrics` reports from the database.
//! - [`Ops::backup`]: SQLite writes a consistent copy with `VACUUM INTO` on one of its read
//!   connections (a snapshot of one read transaction, taken while writers go on); PostgreSQL
//!   refuses and points to `pg_dump` and base backups.
//! - [`inspect_sqlite_file`]: is a file a Sangathan database at a migration this build knows?
//!   (`sangathan restore` checks a backup with it before putting it in place.)
//! - [`Ops::take_lease`] and the rest: leases for background jobs, so that any number of app
//!   nodes can run them against one database, each job by one node at a time and once per period.

use crate::{Result, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::Path;

/// Counts the database holds for monitoring: nothing that names or identifies anyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Memberships counted towards targets (pending and verified), per wing code, at state level.
    pub enrolled: Vec<(String, i64)>,
    /// Rows read by every import recorded (finished or not).
    pub import_rows: i64,
    /// Notifications due for delivery now (not sent, under the retry limit, not waiting for a retry).
    pub outbox_due: i64,
    /// Notifications not delivered yet, due or not (one-time login codes excluded).
    pub outbox_undelivered: i64,
}

/// A background job's lease: which app node may run the job, until when, and what it last ran.
/// Lease times are the machines' real clocks (a pinned `SANGATHAN_NOW` would never let a dead
/// node's lease lapse); nodes' clocks must agree to well within the lease's length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    /// The node holding it (`host:pid:random`), None when free.
    pub holder: Option<String>,
    /// When the holder's hold lapses unless renewed.
    pub held_until: Option<DateTime<Utc>>,
    /// The start of the last period the job ran for (by whichever node).
    pub done_period: Option<DateTime<Utc>>,
    pub last_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
    /// The node that ran the last period.
    pub last_ran_by: Option<String>,
    /// Periods run, on every node together.
    pub runs: i64,
    /// From [`Ops::take_lease`]: the node whose lapsed hold this one took over, if any.
    pub taken_from: Option<String>,
}

#[async_trait]
pub trait Ops: Send + Sync {
    /// The figures for monitoring, read on a read connection.
    async fn figures(&self, now: DateTime<Utc>) -> Result<Figures>;
    /// Write a consistent copy of the whole database to `dest` (which must not exist) while
    /// writers go on. SQLite only: PostgreSQL answers [`StoreError::Refused`].
    async fn backup(&self, dest: &Path) -> Result<()>;
    /// Have the OS read the database into its page cache, in the background of whoever calls it
    /// (`serve` at start): on SQLite the file, when it fits in three quarters of the memory available (see
    /// [`crate::read_ahead`]); PostgreSQL's server keeps its own cache, so it is skipped there.
    async fn read_ahead(&self) -> Result<crate::read_ahead::ReadAhead>;

    /// Take (or renew) the lease `name` for `holder` until `now + ttl`: only when it is free,
    /// already `holder`'s, or its holder's hold lapsed before `now`. None when another node holds
    /// it, or is taking it this instant (PostgreSQL reads the row `FOR UPDATE SKIP LOCKED`: a
    /// node never waits for another's lease). The lease row is made on first use.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Lease>>;
    /// Record that `holder` ran the job for the period starting `period` (from `started` to
    /// `now`). False, and nothing recorded, when `holder` no longer holds the lease or that
    /// period (or a later one) was already recorded: a period is recorded once.
    async fn finish_lease(
        &self,
        name: &str,
        holder: &str,
        period: DateTime<Utc>,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Give the lease up (a node stopping cleanly): another node may take it at once. False
    /// when `holder` did not hold it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<bool>;
    /// Every lease, by name (for monitoring).
    async fn leases(&self) -> Result<Vec<Lease>>;
}

/// What a SQLite file holds, as far as a restore needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The newest migration applied in the file.
    pub migration: i64,
    /// The newest migration this build knows (the file is brought forward to it when opened).
    pub latest_known: i64,
    /// The state's code (`UP`).
    pub state: String,
    /// Memberships held (every status).
    pub memberships: i64,
}

/// Check that `file` is a Sangathan SQLite database: readable, undamaged (`quick_check`), its
/// migrations all known to this build with the same checksums, and initialised. The file is
/// opened read-only and immutable: nothing is written next to it.
pub async fn inspect_sqlite_file(file: &Path) -> Result<FileInfo> {
    use sqlx::ConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;
    let refuse = |m: String| StoreError::Refused(m);
    let name = file.display().to_string();
    let meta = std::fs::metadata(file).map_err(|e| refuse(format!("cannot read {name}: {e}")))?;
    if !meta.is_file() || meta.len() < 512 {
        return Err(refuse(format!("{name} is not a SQLite database")));
    }
    let mut header = [0u8; 16];
    {
        use std::io::Read;
        std::fs::File::open(file)
            .and_then(|mut f| f.read_exact(&mut header))
            .map_err(|e| refuse(format!("cannot read {name}: {e}")))?;
    }
    if &header != b"SQLite format 3\0" {
        return Err(refuse(format!("{name} is not a SQLite database")));
    }
    let mut c = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut c).await?;
    if check != "ok" {
        return Err(refuse(format!("{name} is damaged (quick_check: {check})")));
    }
    let has_migrations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut c)
    .await?;
    if has_migrations == 0 {
        return Err(refuse(format!("{name} is not a Sangathan database (no migrations table)")));
    }
    let applied: Vec<(i64, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut c)
            .await?;
    let known = sqlx::migrate!("./migrations/sqlite");
    let latest_known = known.iter().map(|m| m.version).max().unwrap_or(0);
    for (version, checksum, success) in &applied {
        let Some(m) = known.iter().find(|m| m.version == *version) else {
            return Err(refuse(format!(
                "{name} is at migration {version}, which this build does not know (it knows up to {latest_known}): restore it with the Sangathan that made it"
            )));
        };
        if m.checksum.as_ref() != checksum.as_slice() {
            return Err(refuse(format!(
                "{name}: migration {version} differs from this build's: not a database of this Sangathan"
            )));
        }
        if !success {
            return Err(refuse(format!("{name}: migration {version} did not finish")));
        }
    }
    let migration = applied.last().map(|a| a.0).ok_or_else(|| {
        refuse(format!("{name} is not a Sangathan database (no migration applied)"))
    })?;
    let state: Option<String> =
        sqlx::query_scalar("SELECT code FROM units WHERE kind = 'state' LIMIT 1")
            .fetch_optional(&mut c)
            .await?;
    let state = state.ok_or_else(|| {
        refuse(format!("{name} is not initialised (no preset loaded): nothing to restore"))
    })?;
    let memberships: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships")
        .fetch_one(&mut c)
        .await?;
    Ok(FileInfo {
        migration,
        latest_known,
        state,
        memberships,
    })
}
