//! `sangathan bench`: measures what the issue set targets for, each against a baseline measured
//! in the same run, and (re)writes this size's section of BENCHMARKS.md.
//!
//! 1. import: `sangathan import members` (this binary, as a subprocess) against the `sqlite3`
//!    shell's `.import` of the same CSV (on PostgreSQL: `psql`'s `\copy` into a staging table,
//!    then one `INSERT … SELECT … ON CONFLICT DO NOTHING`);
//! 2. roll-up: `Store::progress` of the state, a division and an AC against a naive GROUP BY;
//! 3. search: `Store::search` by names in both scripts, mobiles as typed, EPICs, against a naive
//!    LIKE scan (names) or an indexed equality lookup (identifiers);
//! 4. enrolment over HTTP: 64 concurrent clients against `sangathan serve` (a subprocess),
//!    against the same load on `GET /healthz`; then `Store::verify`;
//! 5. resources: the server's RSS and the database's size on disk;
//! 6. fake-member detection against one full GROUP BY.
//!
//! The same suite runs on SQLite (databases it creates under --work, the default) or on a
//! PostgreSQL server (`--db postgres://…`: it creates its own databases there and drops them
//! afterwards); `--existing FILE|postgres://…` measures an already loaded database in place.
//! Each backend has its own sections (`## N members`, `## N members — PostgreSQL`).
//!
//! Every step that errors makes the command fail (non-zero exit); the file is written only
//! after every step has run.

use crate::demo;
use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sangathan_core::ids::{Epic, Mobile};
use sangathan_store::{DynStore, clock};
use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Pool, Postgres, Sqlite};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// UP's target: 403 ACs × 45,000 members.
const UP_TARGET_MEMBERS: u64 = 18_135_000;
/// From this size on the import is measured once per invocation.
const SINGLE_IMPORT_FROM: u64 = 5_000_000;
const CLIENTS: usize = 64;
/// Roll-up calls per unit and run: ours (a p95 of 20 calls is their second slowest, one stray
/// pause away from a miss), and the naive query's at most (it is slow at scale).
const ROLLUP_REPS: usize = 100;
const NAIVE_ROLLUP_REPS: usize = 20;
const SEARCH_QUERIES: usize = 200;
/// The naive LIKE scan over every person is slow at scale: only this many name queries per run.
const LIKE_BASELINE_QUERIES: usize = 50;
const SEED: u64 = 1;

/// The PostgreSQL import baseline's table: the CSV's columns, and the identity rule's two unique
/// indexes as partial indexes like the sqlite3 baseline's (empty CSV fields are NULL there). The
/// indexed columns compare bytes, as ours do (migration 0022).
const PG_BASELINE_TABLE: &str = "CREATE TABLE members (name TEXT COLLATE \"C\", mobile TEXT COLLATE \"C\", \
     epic TEXT COLLATE \"C\", ac_no INT, booth_no INT, gender TEXT, birth_year INT, wing TEXT)";
const PG_BASELINE_EPIC: &str =
    "CREATE UNIQUE INDEX members_epic ON members (epic) WHERE epic <> ''";
const PG_BASELINE_MOBILE: &str =
    "CREATE UNIQUE INDEX members_mobile_name ON members (mobile, name) WHERE mobile <> ''";

/// The timed part of the PostgreSQL baseline (one psql run).
fn pg_baseline_script(csv: &Path) -> String {
    format!(
        "CREATE TEMP TABLE staging (LIKE members);\n\
         \\copy staging FROM '{}' WITH (FORMAT csv, HEADER true)\n\
         INSERT INTO members SELECT * FROM staging ON CONFLICT DO NOTHING;\n",
        csv.display().to_string().replace('\'', "''")
    )
}

const NOTES_OPEN: &str = "<!-- notes -->";
const NOTES_CLOSE: &str = "<!-- /notes -->";
const WHY: &str = "why / what would close it:";
const WHY_PLACEHOLDER: &str = "_see the hand-written analysis at the end of this section (its notes block, kept when the section is rewritten)_";

/// The database engine a section measures.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// What follows `## N members` in the section's heading.
    fn heading_suffix(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " — PostgreSQL",
        }
    }
}

fn is_pg_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// A database the bench measures: a SQLite file or a PostgreSQL URL.
#[derive(Clone)]
enum Db {
    File(PathBuf),
    Pg(String),
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::File(p) => format!("sqlite://{}", p.display()),
            Db::Pg(u) => u.clone(),
        }
    }

    /// For the log and the report: a PostgreSQL URL without its password.
    fn display(&self) -> String {
        match self {
            Db::File(p) => p.display().to_string(),
            Db::Pg(u) => masked(u),
        }
    }
}

/// A URL with a password, in parts: (`scheme://user`, password as written, `host/db…`).
fn password_parts(url: &str) -> Option<(String, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (auth, host) = rest.rsplit_once('@')?;
    let (user, password) = auth.split_once(':')?;
    Some((format!("{scheme}://{user}"), password, host))
}

/// `postgres://user:secret@host/db` → `postgres://user:…@host/db`.
fn masked(url: &str) -> String {
    match password_parts(url) {
        Some((head, _, host)) => format!("{head}:…@{host}"),
        None => url.to_string(),
    }
}

/// The same PostgreSQL URL naming another database (its query string kept).
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = main
        .split_once("://")
        .ok_or_else(|| anyhow!("not a database URL: {}", masked(url)))?;
    // The authority ends at the first '/' after the credentials (a password may hold a '/').
    let at = rest.rfind('@').map(|i| i + 1).unwrap_or(0);
    let end = rest[at..].find('/').map(|i| at + i).unwrap_or(rest.len());
    let mut out = format!("{scheme}://{}/{name}", &rest[..end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// A connection pool on a measured (or baseline) database of either backend. The baseline
/// queries are the same text on both (`$n` placeholders), but for the name scans (LIKE on
/// SQLite, which ignores ASCII case; ILIKE on PostgreSQL).
enum Sql {
    Sqlite(Pool<Sqlite>),
    Pg(Pool<Postgres>),
}

/// Run the same sqlx expression on whichever pool `$sql` holds (each arm type-checks alone).
macro_rules! on {
    ($sql:expr, $p:ident => $body:expr) => {
        match $sql {
            Sql::Sqlite($p) => $body,
            Sql::Pg($p) => $body,
        }
    };
}

impl Sql {
    /// One connection; read-only ones on SQLite have a 64 MiB cache like the store's.
    async fn open(db: &Db, read_only: bool) -> anyhow::Result<Sql> {
        Ok(match db {
            Db::File(_) => {
                let mut opts = SqliteConnectOptions::from_str(&db.url())?;
                if read_only {
                    opts = opts.read_only(true).pragma("cache_size", "-65536");
                }
                Sql::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts)
                        .await
                        .with_context(|| format!("cannot open {}", db.display()))?,
                )
            }
            Db::Pg(url) => Sql::Pg(
                PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .with_context(|| format!("cannot connect to {}", db.display()))?,
            ),
        })
    }

    async fn close(self) {
        on!(&self, p => p.close().await)
    }

    fn backend(&self) -> Backend {
        match self {
            Sql::Sqlite(_) => Backend::Sqlite,
            Sql::Pg(_) => Backend::Postgres,
        }
    }
}

/// The PostgreSQL server of `--db postgres://…`: the bench creates its own databases there
/// (`bench_ours_N_PID`, `bench_base_N_PID`) and drops them when it ends. It never touches
/// another database (the URL's own is used only to connect).
struct PgServer {
    url: String,
    created: std::sync::Mutex<Vec<String>>,
}

impl PgServer {
    async fn admin(&self) -> anyhow::Result<sqlx::PgConnection> {
        sqlx::PgConnection::connect(&self.url)
            .await
            .with_context(|| format!("cannot connect to {}", masked(&self.url)))
    }

    fn mine(&self, name: &str) -> bool {
        self.created
            .lock()
            .expect("not poisoned")
            .iter()
            .any(|n| n == name)
    }

    /// A fresh, empty database `name` (dropped first if this bench made it before); its URL.
    async fn fresh(&self, name: &str) -> anyhow::Result<String> {
        // Only names this bench made (digits, letters, underscores) are formatted in.
        self.drop_db(name).await?;
        let mut c = self.admin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .with_context(|| {
                format!(
                    "cannot create the database {name} on {} (the role needs CREATEDB)",
                    masked(&self.url)
                )
            })?;
        let _ = c.close().await;
        if !self.mine(name) {
            self.created
                .lock()
                .expect("not poisoned")
                .push(name.to_string());
        }
        with_database(&self.url, name)
    }

    /// Drop a database this bench made (others are never dropped).
    async fn drop_db(&self, name: &str) -> anyhow::Result<()> {
        if !self.mine(name) {
            return Ok(());
        }
        // FORCE ends our own sessions still on it, but PostgreSQL 15 refuses it to a role
        // that is not a superuser while an autovacuum worker is in the database ("must be
        // a member of the role whose process is being terminated"), which is usual right
        // after a load. A plain DROP cancels autovacuum itself (and waits 5 s for other
        // sessions), so the attempts alternate, for a while, rather than leave it behind.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let force = if attempt % 2 == 1 { " WITH (FORCE)" } else { "" };
            let tried = async {
                let mut c = self.admin().await?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name}{force}"
                )))
                .execute(&mut c)
                .await?;
                let _ = c.close().await;
                anyhow::Ok(())
            }
            .await;
            // Retried: FORCE refused (42501) and a database still in use (55006); anything
            // else (no such role, a server gone) is reported at once.
            let passing = |e: &anyhow::Error| {
                e.downcast_ref::<sqlx::Error>()
                    .and_then(|e| e.as_database_error())
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "42501" || c == "55006")
            };
            match tried {
                Ok(()) => break,
                Err(e) if attempt >= 10 || !passing(&e) => {
                    return Err(e.context(format!(
                        "cannot drop the bench database {name} (tried {attempt} times)"
                    )));
                }
                Err(e) => {
                    eprintln!("warning: dropping the bench database {name}: {e:#}; trying again");
                    tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                }
            }
        }
        self.created
            .lock()
            .expect("not poisoned")
            .retain(|n| n != name);
        Ok(())
    }

    async fn drop_all(&self) {
        let names = self.created.lock().expect("not poisoned").clone();
        for name in names {
            if let Err(e) = self.drop_db(&name).await {
                eprintln!("warning: {e:#}");
            }
        }
    }
}

/// A database's size: a SQLite file and its WAL, or `pg_database_size`.
#[derive(Clone, Copy)]
enum Size {
    File { main: u64, wal: u64 },
    Pg(u64),
}

impl Size {
    fn total(self) -> u64 {
        match self {
            Size::File { main, wal } => main + wal,
            Size::Pg(b) => b,
        }
    }

    /// `12.0 MiB (main 11.0 MiB + WAL 1.0 MiB)` or `12.0 MiB`.
    fn cell(self) -> String {
        match self {
            Size::File { main, wal } => {
                format!(
                    "{} (main {} + WAL {})",
                    mib(main + wal),
                    mib(main),
                    mib(wal)
                )
            }
            Size::Pg(b) => mib(b),
        }
    }

    async fn of(db: &Db) -> anyhow::Result<Size> {
        Ok(match db {
            Db::File(p) => {
                let (main, wal) = file_sizes(p);
                Size::File { main, wal }
            }
            Db::Pg(_) => {
                let pool = Sql::open(db, true).await?;
                let b: i64 = on!(&pool, p => sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(p).await?);
                pool.close().await;
                Size::Pg(b as u64)
            }
        })
    }
}

/// The engine's version (and, for PostgreSQL, the server's non-default settings).
enum Engine {
    Sqlite {
        version: String,
    },
    Postgres {
        version: String,
        settings: Vec<(String, String)>,
    },
}

impl Engine {
    async fn of(pool: &Sql) -> anyhow::Result<Engine> {
        Ok(match pool {
            Sql::Sqlite(p) => Engine::Sqlite {
                version: sqlx::query_scalar("SELECT sqlite_version()")
                    .fetch_one(p)
                    .await?,
            },
            Sql::Pg(p) => Engine::Postgres {
                version: sqlx::query_scalar("SELECT current_setting('server_version')")
                    .fetch_one(p)
                    .await?,
                // The server's configuration: what differs from the built-in defaults, but not
                // what this client set for its own session.
                settings: sqlx::query_as(
                    "SELECT name, current_setting(name) FROM pg_settings \
                     WHERE source NOT IN ('default', 'override', 'client', 'session') ORDER BY name",
                )
                .fetch_all(p)
                .await?,
            },
        })
    }
}

pub struct Options {
    /// Default 1,000,000; with `existing`, default the database's membership count.
    pub members: Option<u64>,
    pub runs: usize,
    pub out: PathBuf,
    pub work: Option<PathBuf>,
    pub label: Option<String>,
    /// An already loaded database, a SQLite file or a `postgres://` URL: step 1 (CSV and
    /// import) is skipped.
    pub existing: Option<PathBuf>,
    /// How long the existing database's load took (measured outside the bench).
    pub load_seconds: Option<f64>,
    /// How the existing database was loaded.
    pub load_command: Option<String>,
    /// A CSV of the existing database's members, for the load's baseline.
    pub load_baseline: Option<PathBuf>,
}

/// An already loaded database measured in place (`--existing`).
struct Existing {
    db: Db,
    /// Its memberships when the bench started.
    memberships: u64,
    people: u64,
    load_seconds: Option<f64>,
    load_command: Option<String>,
    load_baseline: Option<PathBuf>,
}

/// Run every measurement and write the report.
pub async fn run(db: &str, o: Options) -> anyhow::Result<()> {
    if o.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let existing_db = match &o.existing {
        Some(path) => {
            let text = path.to_string_lossy();
            if is_pg_url(&text) {
                Some(Db::Pg(text.into_owned()))
            } else {
                if !path.is_file() {
                    bail!("--existing {}: no such file", path.display());
                }
                Some(Db::File(path.canonicalize()?))
            }
        }
        None => None,
    };
    // PostgreSQL: --existing postgres://…, or --db postgres://… (a server to create databases on).
    let pg = match &existing_db {
        None if is_pg_url(db) => Some(PgServer {
            url: db.to_string(),
            created: std::sync::Mutex::new(Vec::new()),
        }),
        None => {
            if db != sangathan_store::DEFAULT_DB {
                eprintln!(
                    "note: bench ignores --db and creates its own SQLite databases under the work directory \
                     (give --db postgres://… to measure PostgreSQL)"
                );
            }
            None
        }
        Some(e) => {
            if db != sangathan_store::DEFAULT_DB && db != e.url() {
                eprintln!("note: bench ignores --db: --existing names the database measured");
            }
            // The load's baseline (--load-baseline) makes its database on the same server.
            match e {
                Db::Pg(url) if o.load_baseline.is_some() => Some(PgServer {
                    url: url.clone(),
                    created: std::sync::Mutex::new(Vec::new()),
                }),
                _ => None,
            }
        }
    };
    let backend = match (&existing_db, &pg) {
        (Some(Db::Pg(_)), _) | (None, Some(_)) => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let existing = match existing_db {
        Some(edb) => {
            let pool = Sql::open(&edb, true).await?;
            let memberships: i64 = on!(&pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM memberships")
                .fetch_one(p)
                .await
                .with_context(|| format!("{} is not a sangathan database", edb.display()))?);
            let people: i64 = on!(&pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM people")
                .fetch_one(p)
                .await?);
            pool.close().await;
            if memberships == 0 {
                bail!(
                    "--existing {}: the database has no memberships",
                    edb.display()
                );
            }
            if let Some(s) = o.load_seconds
                && !(s.is_finite() && s > 0.0)
            {
                bail!("--load-seconds must be a positive number of seconds");
            }
            if let Some(csv) = &o.load_baseline
                && !csv.is_file()
            {
                bail!("--load-baseline {}: no such file", csv.display());
            }
            Some(Existing {
                db: edb,
                memberships: memberships as u64,
                people: people as u64,
                load_seconds: o.load_seconds,
                load_command: o.load_command.clone(),
                load_baseline: o.load_baseline.as_ref().map(|p| p.canonicalize()).transpose()?,
            })
        }
        None => None,
    };
    let n = match (o.members, &existing) {
        (Some(n), _) => n,
        (None, Some(e)) => e.memberships,
        (None, None) => 1_000_000,
    };
    if existing.is_none() && n < 100 {
        bail!("--members must be at least 100");
    }
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let (work, temporary) = match &o.work {
        Some(w) => (w.clone(), false),
        None => (
            std::env::temp_dir().join(format!("sangathan-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work)
        .with_context(|| format!("cannot create the work directory {}", work.display()))?;
    let work = work.canonicalize()?;
    if let Some(pg) = &pg {
        // Fail early (before generating a CSV) when the server cannot be reached.
        pg.admin().await?.close().await?;
    }
    let b = Bench {
        exe,
        work: work.clone(),
        n,
        runs: o.runs,
        t0: Instant::now(),
        existing,
        backend,
        pg,
    };
    // And before any step when the load's baseline cannot run.
    if o.load_baseline.is_some() && b.baseline_tool().await.is_none() {
        bail!(
            "--load-baseline needs {}",
            match backend {
                Backend::Sqlite => "the sqlite3 shell (Debian: apt-get install sqlite3)",
                Backend::Postgres => "psql (Debian: apt-get install postgresql-client)",
            }
        );
    }
    // Ctrl-C still drops the databases the bench made on the PostgreSQL server.
    let result = tokio::select! {
        r = b.all(&o) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    if let Some(pg) = &b.pg {
        pg.drop_all().await;
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    result
}

pub(crate) struct Bench {
    exe: PathBuf,
    work: PathBuf,
    n: u64,
    runs: usize,
    t0: Instant,
    existing: Option<Existing>,
    backend: Backend,
    /// With `--db postgres://…`, or `--existing postgres://…` and `--load-baseline`: where the
    /// bench makes its databases.
    pg: Option<PgServer>,
}

/// A progress line on standard error, `[TAG hh:mm:ss] msg`, timed from `t0` (bench, drill).
pub(crate) fn progress_line(tag: &str, t0: Instant, msg: &str) {
    let s = t0.elapsed().as_secs();
    eprintln!("[{tag} {:02}:{:02}:{:02}] {msg}", s / 3600, (s / 60) % 60, s % 60);
}

impl Bench {
    fn step(&self, msg: &str) {
        progress_line("bench", self.t0, msg);
    }

    /// The name of one of the bench's own PostgreSQL databases (`ours` or `base`).
    fn pg_name(&self, what: &str) -> String {
        format!("bench_{what}_{}_{}", self.n, std::process::id())
    }

    fn pg(&self) -> anyhow::Result<&PgServer> {
        self.pg
            .as_ref()
            .ok_or_else(|| anyhow!("no PostgreSQL server (--db postgres://…)"))
    }

    /// The name of the import baseline, as the tables say it.
    fn baseline_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite3",
            Backend::Postgres => "psql",
        }
    }

    async fn all(&self, o: &Options) -> anyhow::Result<()> {
        let machine = Machine::detect().await;
        self.step(&format!(
            "{} members on {}, {} run(s), work directory {}{}",
            thousands(self.n),
            match (&self.existing, &self.pg) {
                (Some(e), _) => e.db.display(),
                (None, Some(pg)) => format!("the PostgreSQL server of {}", masked(&pg.url)),
                (None, None) => "SQLite".to_string(),
            },
            self.runs,
            self.work.display(),
            if cfg!(debug_assertions) {
                " (DEBUG build: numbers are not representative)"
            } else {
                ""
            }
        ));

        // 1. Import (or, with --existing, the samples drawn from the loaded database).
        let (ours_db, booths, samples, import) = match &self.existing {
            None => {
                self.step(&format!(
                    "step 1/6: generating the CSV and importing it (ours vs {})",
                    match self.backend {
                        Backend::Sqlite => "the sqlite3 shell",
                        Backend::Postgres => "psql \\copy",
                    }
                ));
                let ours_db = self.init_db().await?;
                let booths = {
                    let s = sangathan_store::open(&ours_db.url()).await?;
                    s.booth_codes().await?
                };
                let csv = self.work.join(format!("members-{}.csv", self.n));
                let samples = self.generate_csv(&csv, booths.clone())?;
                let import = self.bench_import(&csv, &ours_db).await?;
                (ours_db, booths, samples, Some(import))
            }
            Some(e) => {
                self.step(&format!(
                    "step 1/6: skipped (--existing {}: {} memberships, {} people); drawing the search samples from it",
                    e.db.display(),
                    thousands(e.memberships),
                    thousands(e.people)
                ));
                let booths = {
                    let s = sangathan_store::open(&e.db.url()).await?;
                    s.booth_codes().await?
                };
                let samples = self.samples_from_db(&e.db).await?;
                (e.db.clone(), booths, samples, None)
            }
        };
        // 5 (first half). The database's size before the HTTP step writes to it.
        let db_size = Size::of(&ours_db).await?;

        let store = sangathan_store::open(&ours_db.url()).await?;
        let pool = Sql::open(&ours_db, true).await?;
        let engine = Engine::of(&pool).await?;

        // 2. Roll-up.
        self.step("step 2/6: roll-up (Store::progress) vs a naive GROUP BY");
        let rollup = self.bench_rollup(&store, &pool).await?;

        // 3. Search.
        self.step("step 3/6: search (Store::search) vs LIKE scans and indexed lookups");
        // What a running server keeps current in the background: the statistics its name
        // searches plan with (SQLite's trigram counts), taken before the clock starts.
        let t = Instant::now();
        store.refresh_search_statistics().await?;
        let search_statistics = t.elapsed();
        let search = self.bench_search(&store, &pool, &samples).await?;
        pool.close().await;

        // 6 (first half). Detection's first run over every membership, vs one full scan.
        self.step("step 6/6 (first half): fake-member detection, first full run, vs one GROUP BY over every membership");
        // The thresholds `serve`, `detect` and `demo` use (SANGATHAN_DETECT_*).
        let thresholds = sangathan_server::Config::default().from_env()?.detection;
        let detect_full = self
            .bench_detect_full(&store, &ours_db, &thresholds)
            .await?;

        // 4 and 5. Enrolment over HTTP, the server's memory.
        self.step("step 4/6: enrolment over HTTP, 64 clients, vs GET /healthz");
        let http = self.bench_http(&store, &ours_db, booths).await?;
        self.step("step 6/6 (second half): detection again, over what the HTTP step enrolled");
        let detect_next = store.detect(&thresholds, clock::now()).await?;
        self.step("step 5/6: verify and resources");
        let mismatches = store.verify().await?;
        let loadavg_end = loadavg();
        // Last, so that its gigabytes of writes (the disk, the OS's cache, the server's
        // checkpoints) are behind every step measured on the database.
        let load_baseline = match self.existing.as_ref().and_then(|e| e.load_baseline.as_ref()) {
            None => None,
            Some(csv) => {
                self.step(&format!(
                    "step 1/6 (last): the load's baseline, {} of {}",
                    self.baseline_name(),
                    csv.display()
                ));
                // Hours of measurements are not lost to it: the report says it was not run.
                match self.load_baseline(csv).await {
                    Ok(b) => Some(b),
                    Err(e) => {
                        eprintln!("warning: the load's baseline failed, the report goes without it: {e:#}");
                        None
                    }
                }
            }
        };

        let report = Report {
            n: self.n,
            runs: self.runs,
            label: o.label.clone(),
            machine,
            backend: self.backend,
            engine,
            import,
            existing: self.existing.as_ref().map(|e| ExistingReport {
                path: e.db.display(),
                memberships: e.memberships,
                people: e.people,
                load_seconds: e.load_seconds,
                load_command: e.load_command.clone(),
                load_baseline,
            }),
            rollup,
            search,
            search_statistics,
            http,
            detect: (detect_full, detect_next),
            mismatches: mismatches.len(),
            first_mismatch: mismatches.first().map(|m| m.to_string()),
            db_size,
            loadavg_end,
        };
        write_report(&o.out, (self.n, self.backend), &report)?;
        self.step(&format!(
            "wrote the section \"{}\" of {}",
            report.heading().trim_start_matches("## "),
            o.out.display()
        ));
        print!("{}", report.section_tables());
        let mut failures = Vec::new();
        if report.http.enrol.errors > 0 || report.http.health.errors > 0 {
            failures.push(format!(
                "{} enrolment and {} health requests failed (first: {})",
                report.http.enrol.errors,
                report.http.health.errors,
                report
                    .http
                    .enrol
                    .first_error
                    .as_deref()
                    .or(report.http.health.first_error.as_deref())
                    .unwrap_or("-")
            ));
        }
        if let Some(m) = &report.first_mismatch {
            failures.push(format!(
                "verify found {} mismatch(es), first: {m}",
                report.mismatches
            ));
        }
        if !failures.is_empty() {
            bail!("{}", failures.join("; "));
        }
        Ok(())
    }

    /// Detection from an empty state (flags from earlier runs dropped: this is a bench
    /// database), timed with the process's peak memory growth, and the baseline: one
    /// `GROUP BY enrolled_by` over every membership (the least any whole-state rule must read).
    async fn bench_detect_full(
        &self,
        store: &sangathan_store::DynStore,
        db: &Db,
        thresholds: &sangathan_core::detection::Thresholds,
    ) -> anyhow::Result<DetectFull> {
        let pool = Sql::open(db, false).await?;
        for sql in [
            "DELETE FROM flag_members",
            "DELETE FROM flags",
            "DELETE FROM detection_state",
        ] {
            on!(&pool, p => sqlx::query(sql).execute(p).await.map(|_| ())?);
        }
        let t = Instant::now();
        let groups: Vec<(String, i64)> = on!(&pool, p => sqlx::query_as(
            "SELECT enrolled_by, COUNT(*) FROM memberships GROUP BY enrolled_by"
        )
        .fetch_all(p)
        .await?);
        let baseline = t.elapsed();
        pool.close().await;
        let run = store.detect(thresholds, clock::now()).await?;
        let peak = ProcMem::of(std::process::id()).ok();
        Ok(DetectFull {
            run,
            baseline,
            enrollers: groups.len(),
            peak,
        })
    }

    /// `sangathan init --preset up` into a fresh database (not timed): a new file under the work
    /// directory, or a new database on the PostgreSQL server.
    async fn init_db(&self) -> anyhow::Result<Db> {
        let db = match self.backend {
            Backend::Sqlite => {
                let path = self.work.join("sangathan.db");
                remove_db(&path);
                Db::File(path)
            }
            Backend::Postgres => Db::Pg(self.pg()?.fresh(&self.pg_name("ours")).await?),
        };
        let out = tokio::process::Command::new(&self.exe)
            // The URL (and its password) through the environment, never in argv (`ps`).
            .env("SANGATHAN_DB", db.url())
            .args(["init", "--preset", "up"])
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run sangathan init")?;
        if !out.status.success() {
            bail!(
                "sangathan init failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(db)
    }

    /// The CSV of N members (demo generator, seed 1), and a sample of them to search for.
    fn generate_csv(
        &self,
        path: &Path,
        booths: Vec<(String, Vec<String>)>,
    ) -> anyhow::Result<Vec<Sample>> {
        let samples = Self::members_csv(path, self.n, booths)?;
        let size = std::fs::metadata(path)?.len();
        self.step(&format!(
            "generated {} ({} rows, {})",
            path.display(),
            thousands(self.n),
            mib(size)
        ));
        Ok(samples)
    }

    /// The CSV of `n` members (demo generator, seed 1), and a sample of them to search for
    /// (also what `sangathan drill kill-import` imports).
    pub(crate) fn members_csv(
        path: &Path,
        n: u64,
        booths: Vec<(String, Vec<String>)>,
    ) -> anyhow::Result<Vec<Sample>> {
        let now = clock::now();
        let mut g = demo::Generator::new(SEED, booths, now, now);
        let f = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, f));
        w.write_record([
            "name",
            "mobile",
            "epic",
            "ac_no",
            "booth_no",
            "gender",
            "birth_year",
            "wing",
        ])?;
        let stride = (n / 2000).max(1);
        let mut samples = Vec::new();
        let bar = bar(n, "generate CSV");
        for i in 0..n {
            let m = g.member(i);
            let (ac_no, booth_no) = split_unit(&m.unit)?;
            let name = m.name.as_str().to_string();
            let mobile = m.mobile.as_ref().map(|x| x.national().to_string());
            let epic = m.epic.as_ref().map(|x| x.as_str().to_string());
            let ac = ac_no.to_string();
            let booth = booth_no.map(|b| b.to_string()).unwrap_or_default();
            let year = m.birth_year.map(|y| y.to_string()).unwrap_or_default();
            let record: [&str; 8] = [
                name.as_str(),
                mobile.as_deref().unwrap_or(""),
                epic.as_deref().unwrap_or(""),
                ac.as_str(),
                booth.as_str(),
                m.gender.map(|x| x.code()).unwrap_or(""),
                year.as_str(),
                m.wing.as_str(),
            ];
            w.write_record(record)?;
            if i % stride == 0 {
                samples.push(Sample {
                    deva: !name.is_ascii(),
                    name,
                    mobile,
                    epic,
                    ac: format!("{}-AC-{ac_no}", m.unit.split('-').next().unwrap_or("UP")),
                    unit: m.unit.clone(),
                });
            }
            if i % 10_000 == 0 {
                bar.set_position(i);
            }
        }
        w.flush()?;
        bar.finish_and_clear();
        Ok(samples)
    }

    /// With --existing: the people to search for, about 2,000 of them at ids spread evenly over
    /// the table (each with the unit and AC of their first membership).
    async fn samples_from_db(&self, db: &Db) -> anyhow::Result<Vec<Sample>> {
        let pool = Sql::open(db, true).await?;
        let max_id: Option<i64> = on!(&pool, p => sqlx::query_scalar("SELECT MAX(id) FROM people")
            .fetch_one(p)
            .await?);
        let max_id = max_id.ok_or_else(|| anyhow!("{}: no people", db.display()))?;
        let want: i64 = 2000;
        let mut ids: Vec<i64> = (0..want).map(|k| 1 + k * max_id / want).collect();
        ids.dedup();
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        // (name, mobile, EPIC, unit code, AC code)
        type Row = (String, Option<String>, Option<String>, String, String);
        // Only integers are formatted into the query.
        let sql = format!(
            "SELECT p.name, p.mobile, p.epic, u.code, a.code FROM people p \
             JOIN memberships m ON m.id = (SELECT MIN(id) FROM memberships WHERE person_id = p.id) \
             JOIN units u ON u.id = m.unit_id JOIN units a ON a.id = m.ac_id \
             WHERE p.id IN ({list}) ORDER BY p.id"
        );
        let rows: Vec<Row> = on!(&pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(p)
            .await?);
        pool.close().await;
        let samples: Vec<Sample> = rows
            .into_iter()
            .map(|(name, mobile, epic, unit, ac)| {
                let mobile = match mobile {
                    Some(m) => Some(
                        Mobile::parse(&m)
                            .map_err(|e| anyhow!("stored mobile {m}: {e:?}"))?
                            .national()
                            .to_string(),
                    ),
                    None => None,
                };
                anyhow::Ok(Sample {
                    deva: !name.is_ascii(),
                    name,
                    mobile,
                    epic,
                    unit,
                    ac,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        self.step(&format!(
            "drew {} sample people (ids spread evenly up to {}) from the database",
            samples.len(),
            thousands(max_id as u64)
        ));
        Ok(samples)
    }

    /// The import baseline's tool (the sqlite3 shell, or psql) and its version.
    async fn baseline_tool(&self) -> Option<(PathBuf, String)> {
        match self.backend {
            Backend::Sqlite => sqlite3_version()
                .await
                .map(|v| (PathBuf::from("sqlite3"), format!("sqlite3 {v}"))),
            Backend::Postgres => psql().await,
        }
    }

    /// With --existing and --load-baseline: the import baseline's one run on that CSV, its
    /// database dropped afterwards (it is only timed).
    async fn load_baseline(&self, csv: &Path) -> anyhow::Result<LoadBaseline> {
        let (bin, tool) = self.baseline_tool().await.ok_or_else(|| {
            anyhow!("--load-baseline: the {} command-line tool is not installed", self.baseline_name())
        })?;
        let (secs, rows) = match self.backend {
            Backend::Sqlite => {
                let file = self.work.join("sqlite3-load-baseline.db");
                remove_db(&file);
                let r = self.sqlite3_import(csv, &file, 0, 1).await;
                remove_db(&file);
                r?
            }
            Backend::Postgres => {
                let r = self.psql_import(&bin, csv, 0, 1).await;
                // The import's own error first; a database left behind is dropped again at the
                // bench's end (`drop_all`).
                if let Err(e) = self.pg()?.drop_db(&self.pg_name("base")).await {
                    eprintln!("warning: the load baseline's database was not dropped yet: {e:#}");
                }
                let (secs, rows, _) = r?;
                (secs, rows)
            }
        };
        self.step(&format!(
            "the load's baseline: {tool}, {} rows kept in {secs:.1} s",
            thousands(rows)
        ));
        if let Some(e) = &self.existing
            && rows.abs_diff(e.memberships) > e.memberships / 100
        {
            eprintln!(
                "warning: the load's baseline kept {} rows, the database has {} memberships: is {} a CSV of its members?",
                thousands(rows),
                thousands(e.memberships),
                csv.display()
            );
        }
        Ok(LoadBaseline {
            file: csv.display().to_string(),
            bytes: std::fs::metadata(csv).map(|m| m.len()).unwrap_or(0),
            tool,
            secs,
            rows,
        })
    }

    async fn bench_import(&self, csv: &Path, ours_db: &Db) -> anyhow::Result<ImportResult> {
        let runs = if self.n >= SINGLE_IMPORT_FROM {
            1
        } else {
            self.runs
        };
        let tool = self.baseline_tool().await;
        if tool.is_none() {
            eprintln!(
                "warning: {}: the import baseline and its ratio are skipped",
                match self.backend {
                    Backend::Sqlite =>
                        "the sqlite3 command-line tool is missing (Debian: apt-get install sqlite3)",
                    Backend::Postgres =>
                        "psql is missing (Debian: apt-get install postgresql-client)",
                }
            );
        }
        let base_file = self.work.join("sqlite3-baseline.db");
        let mut ours = Vec::new();
        let mut base = Vec::new();
        let mut stats = serde_json::Value::Null;
        let mut base_rows = 0u64;
        let mut base_size = None;
        let mut init_size = Size::of(ours_db).await?;
        for r in 0..runs {
            if let Some((bin, _)) = &tool {
                let (secs, rows, size) = match self.backend {
                    Backend::Sqlite => {
                        remove_db(&base_file);
                        let (secs, rows) = self.sqlite3_import(csv, &base_file, r, runs).await?;
                        (secs, rows, Size::of(&Db::File(base_file.clone())).await?)
                    }
                    Backend::Postgres => self.psql_import(bin, csv, r, runs).await?,
                };
                base.push(secs);
                base_rows = rows;
                base_size = Some(size);
            }
            if r > 0 {
                let again = self.init_db().await?;
                debug_assert_eq!(again.url(), ours_db.url());
                init_size = Size::of(ours_db).await?;
            }
            let sp = spinner(&format!(
                "import run {}/{runs}: sangathan import members",
                r + 1
            ));
            let t = Instant::now();
            let out = tokio::process::Command::new(&self.exe)
                .env("SANGATHAN_DB", ours_db.url())
                .args(["import", "members"])
                .arg(csv)
                .arg("--json")
                .stdin(Stdio::null())
                .output()
                .await
                .context("cannot run sangathan import members")?;
            let secs = t.elapsed().as_secs_f64();
            sp.finish_and_clear();
            if !out.status.success() {
                bail!(
                    "sangathan import members failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let text = String::from_utf8_lossy(&out.stdout);
            stats = serde_json::from_str(text.lines().last().unwrap_or(""))
                .with_context(|| format!("unexpected output of import --json: {text}"))?;
            self.step(&format!(
                "import run {}/{runs}: ours {:.1} s ({}/s){}",
                r + 1,
                secs,
                thousands((self.n as f64 / secs) as u64),
                base.last()
                    .map(|b| format!(", {} {b:.1} s", self.baseline_name()))
                    .unwrap_or_default()
            ));
            ours.push(secs);
        }
        if let Some(pg) = &self.pg {
            // The baseline's database is measured: it is no longer needed.
            pg.drop_db(&self.pg_name("base")).await?;
        }
        Ok(ImportResult {
            runs,
            ours,
            baseline: tool.map(|(_, v)| (v, base, base_rows)),
            stats,
            init_size,
            base_size,
        })
    }

    /// The PostgreSQL baseline, in a fresh database of its own: a table with the identity rule's
    /// two unique indexes (not timed), then, timed from spawn to exit, one `psql` run that
    /// `\copy`s the CSV into a temporary staging table and moves it into the table with
    /// `INSERT … SELECT … ON CONFLICT DO NOTHING` (COPY itself stops at the first duplicate;
    /// sqlite3's `.import` skips it). Returns the seconds, the rows kept and the database's size.
    async fn psql_import(
        &self,
        psql: &Path,
        csv: &Path,
        r: usize,
        runs: usize,
    ) -> anyhow::Result<(f64, u64, Size)> {
        let url = self.pg()?.fresh(&self.pg_name("base")).await?;
        let db = Db::Pg(url.clone());
        let pool = Sql::open(&db, false).await?;
        for sql in [PG_BASELINE_TABLE, PG_BASELINE_EPIC, PG_BASELINE_MOBILE] {
            on!(&pool, p => sqlx::query(sql).execute(p).await.map(|_| ())?);
        }
        let script = self.work.join("psql-baseline.sql");
        std::fs::write(&script, pg_baseline_script(csv))
            .with_context(|| format!("cannot write {}", script.display()))?;
        let log_path = self.work.join("psql-import.log");
        let log = std::fs::File::create(&log_path)?;
        let sp = spinner(&format!(
            "import run {}/{runs}: psql \\copy (baseline)",
            r + 1
        ));
        let t = Instant::now();
        let status = tokio::process::Command::new(psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(without_password(&url))
            // The password through libpq's environment, never in argv (`ps`).
            .env("PGPASSWORD", password_of(&url).map(|p| percent_decoded(&p)).unwrap_or_default())
            .arg("-f")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .status()
            .await
            .with_context(|| format!("cannot run {}", psql.display()))?;
        let secs = t.elapsed().as_secs_f64();
        sp.finish_and_clear();
        if !status.success() {
            bail!(
                "the psql baseline import failed ({status}): {}",
                std::fs::read_to_string(&log_path)
                    .unwrap_or_default()
                    .trim()
            );
        }
        let rows: i64 = on!(&pool, p => sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(p)
            .await?);
        pool.close().await;
        if rows == 0 {
            bail!("the psql baseline imported nothing");
        }
        Ok((secs, rows as u64, Size::of(&db).await?))
    }

    /// The baseline: the sqlite3 shell's `.import` into a table with the identity rule's two unique
    /// indexes, in WAL mode with synchronous=NORMAL and a 64 MiB cache like ours. Returns the
    /// seconds and the rows kept.
    async fn sqlite3_import(
        &self,
        csv: &Path,
        db: &Path,
        r: usize,
        runs: usize,
    ) -> anyhow::Result<(f64, u64)> {
        let schema = "PRAGMA journal_mode=WAL;\n\
            CREATE TABLE members (name TEXT, mobile TEXT, epic TEXT, ac_no INT, booth_no INT, gender TEXT, birth_year INT, wing TEXT);\n\
            CREATE UNIQUE INDEX members_epic ON members (epic) WHERE epic <> '';\n\
            CREATE UNIQUE INDEX members_mobile_name ON members (mobile, name) WHERE mobile <> '';\n";
        let out = tokio::process::Command::new("sqlite3")
            .arg(db)
            .arg(schema)
            .stdin(Stdio::null())
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "sqlite3 (baseline schema) failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let sp = spinner(&format!(
            "import run {}/{runs}: sqlite3 .import (baseline)",
            r + 1
        ));
        let errlog = std::fs::File::create(self.work.join("sqlite3-import.log"))?;
        let t = Instant::now();
        let status = tokio::process::Command::new("sqlite3")
            .args([
                "-cmd",
                "PRAGMA synchronous=NORMAL",
                "-cmd",
                "PRAGMA cache_size=-65536",
            ])
            .arg(db)
            .arg(format!(
                ".import --csv --skip 1 \"{}\" members",
                csv.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(errlog))
            .status()
            .await?;
        let secs = t.elapsed().as_secs_f64();
        sp.finish_and_clear();
        // .import exits non-zero when some rows were refused by a unique index; that is expected.
        let out = tokio::process::Command::new("sqlite3")
            .arg(db)
            .arg("SELECT count(*) FROM members")
            .stdin(Stdio::null())
            .output()
            .await?;
        let rows: u64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                anyhow!(
                    "the sqlite3 baseline import failed (exit {status}); see {}",
                    self.work.join("sqlite3-import.log").display()
                )
            })?;
        if rows == 0 {
            bail!("the sqlite3 baseline imported nothing (exit {status})");
        }
        Ok((secs, rows))
    }

    async fn bench_rollup(&self, store: &DynStore, pool: &Sql) -> anyhow::Result<Vec<LatencyRow>> {
        let state = store.state_code().await?;
        let today = clock::today();
        let wing: i64 = on!(pool, p => sqlx::query_scalar("SELECT id FROM wings WHERE code = 'party'")
            .fetch_one(p)
            .await?);
        // The division and AC measured: UP's AGRA and 173 when the database has them (the
        // numbers stay comparable across sizes), else the first division and the AC with the most
        // members.
        let division = match store.unit(&format!("{state}-DIV-AGRA")).await? {
            Some(u) => u.code,
            None => on!(pool, p => sqlx::query_scalar(
                "SELECT code FROM units WHERE kind = 'division' ORDER BY id LIMIT 1",
            )
            .fetch_optional(p)
            .await?)
            .ok_or_else(|| anyhow!("the database has no division"))?,
        };
        let ac = match store.unit(&format!("{state}-AC-173")).await? {
            Some(u) => u.code,
            None => on!(pool, p => sqlx::query_scalar(
                "SELECT a.code FROM memberships m JOIN units a ON a.id = m.ac_id \
                 GROUP BY m.ac_id, a.code ORDER BY COUNT(*) DESC, m.ac_id LIMIT 1",
            )
            .fetch_optional(p)
            .await?)
            .ok_or_else(|| anyhow!("the database has no memberships"))?,
        };
        let levels = [
            (
                "rollup.state",
                state.clone(),
                "the state: its divisions",
                "SELECT a.division_id, COUNT(*) FROM memberships m JOIN units a ON a.id = m.ac_id \
              WHERE m.wing_id = $1 AND m.status IN ('pending','verified') GROUP BY a.division_id",
            ),
            (
                "rollup.division",
                division,
                "a division: its districts",
                "SELECT a.district_id, COUNT(*) FROM memberships m JOIN units a ON a.id = m.ac_id \
              WHERE a.division_id = $2 AND m.wing_id = $1 AND m.status IN ('pending','verified') GROUP BY a.district_id",
            ),
            (
                "rollup.ac",
                ac,
                "an AC: its sectors",
                "SELECT b.parent_id, COUNT(*) FROM memberships m JOIN units b ON b.id = m.unit_id \
              WHERE m.ac_id = $2 AND m.wing_id = $1 AND m.status IN ('pending','verified') GROUP BY b.parent_id",
            ),
        ];
        let mut rows = Vec::new();
        let bar = bar(
            (levels.len() * self.runs * (ROLLUP_REPS + NAIVE_ROLLUP_REPS)) as u64,
            "roll-up",
        );
        for (id, code, what, sql) in levels {
            let unit = store
                .unit(&code)
                .await?
                .ok_or_else(|| anyhow!("unknown unit {code}"))?;
            let ours_once = || async {
                store
                    .progress(&code, None, today)
                    .await?
                    .ok_or_else(|| anyhow!("no progress for {code}"))
            };
            let base_once = || async {
                let r: Vec<(Option<i64>, i64)> = on!(pool, p => sqlx::query_as(sql)
                    .bind(wing)
                    .bind(unit.id)
                    .fetch_all(p)
                    .await?);
                anyhow::Ok(r)
            };
            // One untimed warm-up call of each, then the check that both count the same.
            let p = ours_once().await?;
            let t = Instant::now();
            let naive: i64 = base_once().await?.iter().map(|r| r.1).sum();
            // A slow naive query (large databases) is timed fewer times: about 20 s per run,
            // at least 3 calls.
            let warm = t.elapsed();
            let base_reps = if warm > Duration::from_secs(1) {
                ((20.0 / warm.as_secs_f64()) as usize).clamp(3, NAIVE_ROLLUP_REPS)
            } else {
                NAIVE_ROLLUP_REPS
            };
            if naive != p.unit.achieved {
                bail!(
                    "roll-up of {code}: progress says {} achieved, the naive GROUP BY counts {naive}",
                    p.unit.achieved
                );
            }
            let (mut ours, mut base) = (Vec::new(), Vec::new());
            for _ in 0..self.runs {
                for _ in 0..ROLLUP_REPS {
                    let t = Instant::now();
                    ours_once().await?;
                    ours.push(t.elapsed());
                    bar.inc(1);
                }
                for _ in 0..base_reps {
                    let t = Instant::now();
                    base_once().await?;
                    base.push(t.elapsed());
                    bar.inc(1);
                }
                bar.inc((NAIVE_ROLLUP_REPS - base_reps) as u64);
            }
            rows.push(LatencyRow {
                id,
                what: format!(
                    "`{code}` ({what}; {} children){}",
                    p.children.len(),
                    if base_reps < NAIVE_ROLLUP_REPS {
                        format!(
                            "; the naive query took {} untimed, so it was timed {base_reps} × {} times",
                            ms(warm),
                            self.runs
                        )
                    } else {
                        String::new()
                    }
                ),
                ours: Lat::of(&ours),
                base: Lat::of(&base),
                recall: None,
            });
        }
        bar.finish_and_clear();
        for r in &rows {
            self.step(&format!(
                "{}: p50 {} p95 {} (naive p95 {})",
                r.id,
                ms(r.ours.p50),
                ms(r.ours.p95),
                ms(r.base.p95)
            ));
        }
        Ok(rows)
    }

    async fn bench_search(
        &self,
        store: &DynStore,
        pool: &Sql,
        samples: &[Sample],
    ) -> anyhow::Result<Vec<LatencyRow>> {
        let state = store.state_code().await?;
        // The quick check (small sizes) asks fewer questions.
        let per_kind = if self.n >= 100_000 {
            SEARCH_QUERIES
        } else {
            SEARCH_QUERIES / 4
        };
        let take = |f: &dyn Fn(&Sample) -> bool| -> Vec<&Sample> {
            samples.iter().filter(|s| f(s)).take(per_kind).collect()
        };
        let latin = take(&|s| !s.deva);
        let deva = take(&|s| s.deva);
        let with_mobile = take(&|s| s.mobile.is_some());
        let with_epic = take(&|s| s.epic.is_some());
        #[derive(Clone, Copy)]
        enum Base {
            Like,
            LikeAc,
            Mobile,
            Epic,
        }
        struct Kind<'a> {
            id: &'static str,
            what: &'static str,
            queries: Vec<(String, String, &'a Sample)>,
            base: Base,
        }
        let first_two = |n: &str| n.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let kinds = vec![
            Kind {
                id: "search.name_latin",
                what: "Latin name in the state (full name; every other query its first two words, lower-case)",
                queries: latin
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let q = if i % 2 == 0 {
                            s.name.clone()
                        } else {
                            first_two(&s.name).to_lowercase()
                        };
                        (state.clone(), q, *s)
                    })
                    .collect(),
                base: Base::Like,
            },
            Kind {
                id: "search.name_latin_ac",
                what: "Latin name within the member's AC (the same queries, scoped)",
                queries: latin
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let q = if i % 2 == 0 {
                            s.name.clone()
                        } else {
                            first_two(&s.name).to_lowercase()
                        };
                        (s.ac.clone(), q, *s)
                    })
                    .collect(),
                base: Base::LikeAc,
            },
            Kind {
                id: "search.name_devanagari",
                what: "Devanagari name in the state (full name)",
                queries: deva
                    .iter()
                    .map(|s| (state.clone(), s.name.clone(), *s))
                    .collect(),
                base: Base::Like,
            },
            Kind {
                id: "search.mobile",
                what: "mobile as typed: `+91 98xxx xxxxx`, `098xxxxxxxx`, `98xxx-xxxxx` in turn",
                queries: with_mobile
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let m = s.mobile.as_deref().unwrap_or_default();
                        let q = match i % 3 {
                            0 => format!("+91 {} {}", &m[..5], &m[5..]),
                            1 => format!("0{m}"),
                            _ => format!("{}-{}", &m[..5], &m[5..]),
                        };
                        (state.clone(), q, *s)
                    })
                    .collect(),
                base: Base::Mobile,
            },
            Kind {
                id: "search.epic",
                what: "EPIC lower-case with a space: `abc 1234567`",
                queries: with_epic
                    .iter()
                    .map(|s| {
                        let e = s.epic.as_deref().unwrap_or_default().to_lowercase();
                        (state.clone(), format!("{} {}", &e[..3], &e[3..]), *s)
                    })
                    .collect(),
                base: Base::Epic,
            },
        ];
        let total: usize = kinds.iter().map(|k| k.queries.len() * self.runs * 2).sum();
        let bar = bar(total as u64, "search");
        let mut rows = Vec::new();
        for k in kinds {
            if k.queries.is_empty() {
                bail!("{}: no sample members to search for", k.id);
            }
            let (mut ours, mut base) = (Vec::new(), Vec::new());
            let mut found = 0usize;
            let mut found_any = 0usize;
            let mut base_cut = usize::MAX;
            for run in 0..self.runs {
                for (unit, q, s) in &k.queries {
                    let t = Instant::now();
                    let page = store
                        .search(unit, q, &sangathan_core::access::Wings::All, 0, 20)
                        .await
                        .with_context(|| format!("search {unit} {q:?}"))?
                        .ok_or_else(|| anyhow!("search: unknown unit {unit}"))?;
                    ours.push(t.elapsed());
                    let is_sought =
                        |h: &sangathan_store::SearchHit| h.name == s.name && h.unit == s.unit;
                    if run == 0 {
                        if page.members.iter().any(is_sought) {
                            found += 1;
                            found_any += 1;
                        } else {
                            // Not on the first page: among the rest of the results (untimed)?
                            let mut next = page.next;
                            while let Some(offset) = next {
                                let more = store
                                    .search(
                                        unit,
                                        q,
                                        &sangathan_core::access::Wings::All,
                                        offset,
                                        100,
                                    )
                                    .await?
                                    .unwrap_or_default();
                                if more.members.iter().any(is_sought) {
                                    found_any += 1;
                                    break;
                                }
                                next = more.next;
                            }
                        }
                    }
                    bar.inc(1);
                }
                let limit = match k.base {
                    Base::Like => LIKE_BASELINE_QUERIES,
                    _ => usize::MAX,
                };
                let like_start = Instant::now();
                let mut done = 0usize;
                for (unit, q, _) in k.queries.iter().take(limit) {
                    // Full LIKE scans of a large table: at most about 30 s of them per run (at
                    // least 5 queries).
                    if matches!(k.base, Base::Like | Base::LikeAc)
                        && done >= 5
                        && like_start.elapsed() > Duration::from_secs(30)
                    {
                        base_cut = base_cut.min(done);
                        break;
                    }
                    done += 1;
                    let t = Instant::now();
                    // LIKE ignores ASCII case on SQLite; ILIKE is PostgreSQL's equivalent.
                    let like = match pool.backend() {
                        Backend::Sqlite => "LIKE",
                        Backend::Postgres => "ILIKE",
                    };
                    let r: Vec<(i64, String)> = match k.base {
                        Base::Like => {
                            let sql = format!(
                                "SELECT p.id, p.name FROM people p WHERE p.name {like} $1 LIMIT 20"
                            );
                            on!(pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                                .bind(format!("%{q}%"))
                                .fetch_all(p)
                                .await?)
                        }
                        Base::LikeAc => {
                            let sql = format!(
                                "SELECT p.id, p.name FROM memberships m JOIN people p ON p.id = m.person_id \
                                 WHERE m.ac_id = (SELECT id FROM units WHERE code = $1) AND p.name {like} $2 LIMIT 20"
                            );
                            on!(pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                                .bind(unit)
                                .bind(format!("%{q}%"))
                                .fetch_all(p)
                                .await?)
                        }
                        Base::Mobile => {
                            let m = Mobile::parse(q).map_err(|e| anyhow!("{q}: {e:?}"))?;
                            on!(pool, p => sqlx::query_as("SELECT p.id, p.name FROM people p WHERE p.mobile = $1 LIMIT 20")
                                .bind(m.e164())
                                .fetch_all(p)
                                .await?)
                        }
                        Base::Epic => {
                            let e = Epic::parse(q).map_err(|e| anyhow!("{q}: {e:?}"))?;
                            on!(pool, p => sqlx::query_as("SELECT p.id, p.name FROM people p WHERE p.epic = $1 LIMIT 20")
                                .bind(e.as_str())
                                .fetch_all(p)
                                .await?)
                        }
                    };
                    std::hint::black_box(r);
                    base.push(t.elapsed());
                    bar.inc(1);
                }
                bar.inc((k.queries.len() - done) as u64);
            }
            let row = LatencyRow {
                id: k.id,
                what: format!(
                    "{} — {} queries × {} run(s){}",
                    k.what,
                    k.queries.len(),
                    self.runs,
                    if base_cut < usize::MAX {
                        format!(
                            "; the baseline's LIKE scans were cut at 30 s a run (as few as {base_cut} queries in a run)"
                        )
                    } else {
                        String::new()
                    }
                ),
                ours: Lat::of(&ours),
                base: Lat::of(&base),
                recall: Some((found, found_any, k.queries.len())),
            };
            rows.push(row);
        }
        bar.finish_and_clear();
        for r in &rows {
            let (f, _, n) = r.recall.unwrap_or((0, 0, 0));
            self.step(&format!(
                "{}: p50 {} p95 {}, found {f}/{n}",
                r.id,
                ms(r.ours.p50),
                ms(r.ours.p95)
            ));
        }
        Ok(rows)
    }

    async fn bench_http(
        &self,
        store: &DynStore,
        db: &Db,
        booths: Vec<(String, Vec<String>)>,
    ) -> anyhow::Result<HttpResult> {
        let token = store.issue_token("admin", "bench").await?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(self.work.join("serve.log"))?;
        let mut child = tokio::process::Command::new(&self.exe)
            .env("SANGATHAN_DB", db.url())
            // No background jobs: their detection run (step 6 measures it) would share the
            // cores with the load and hold a long read open on the database.
            .env("SANGATHAN_JOBS", "off")
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .context("cannot start sangathan serve")?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CLIENTS)
            .timeout(Duration::from_secs(60))
            .build()?;
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status().is_success()
            {
                break;
            }
            if let Some(st) = child.try_wait()? {
                bail!(
                    "sangathan serve exited ({st}); see {}",
                    self.work.join("serve.log").display()
                );
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("sangathan serve did not answer /healthz within 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let read_ahead = await_read_ahead(&client, &base, db).await?;
        self.step(&format!("server ready: {read_ahead}"));
        let idle = ProcMem::of(pid)?;
        // The server's own memory, sampled through the load: VmHWM also counts the database
        // pages its readers touched through their memory map (the OS's cache, not the process's).
        let anon_seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let sampler = tokio::spawn({
            let seen = anon_seen.clone();
            async move {
                while let Ok(ProcMem { anon: Some(a), .. }) = ProcMem::of(pid) {
                    seen.fetch_max(a, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let secs = if self.n >= 200_000 { 10 } else { 2 };
        // wrk (C, one thread per core) when it is installed: the load generator shares this
        // machine's cores with the server, and wrk leaves it more of them than a Rust client.
        let wrk = wrk_version().await;
        let per_run = if wrk.is_some() { 20_000 } else { 10_000 } * secs as usize;
        let now = clock::now();
        let mut g = demo::Generator::new(SEED, booths, now, now);
        // With --existing, far beyond any member the demo generator made for it, at a slot of a
        // million members chosen by the clock (one per second, 3,000 of them): an earlier
        // bench's HTTP step on the same file enrolled from its own slot (at most 5 × 200,000),
        // so this one's members are new people, not duplicates answered by the identity rule.
        // Below 4·10⁹, where the generator's mobiles and EPICs are all distinct.
        let mut next_member = if self.existing.is_some() {
            1_000_000_000 + (now.timestamp().max(0) as u64 % 3_000) * 1_000_000
        } else {
            self.n
        };
        let mut seen = std::collections::HashSet::new();
        let (mut enrol_runs, mut health_runs) = (Vec::new(), Vec::new());
        for r in 0..self.runs {
            let bodies: Vec<bytes_body::Body> = (0..per_run)
                .map(|k| g.member(next_member + k as u64))
                .enumerate()
                // A household (one mobile) may draw the same first name twice: such a pair is one
                // person with two EPICs, which the identity rule rejects. Keep one of them.
                .filter(|(_, m)| {
                    m.mobile.as_ref().is_none_or(|mobile| {
                        seen.insert((mobile.national().to_string(), m.name.key()))
                    })
                })
                .map(|(k, m)| {
                    let body = serde_json::json!({
                        "name": m.name.as_str(),
                        "mobile": m.mobile.as_ref().map(|x| x.national()),
                        "epic": m.epic.as_ref().map(|x| x.as_str()),
                        "gender": m.gender.map(|x| x.code()),
                        "birth_year": m.birth_year,
                        "unit": m.unit,
                        "wing": m.wing,
                    });
                    bytes_body::Body {
                        key: format!("bench-{}-{}", std::process::id(), next_member + k as u64),
                        json: serde_json::to_vec(&body).expect("serialises"),
                    }
                })
                .collect();
            next_member += per_run as u64;
            let label = format!("run {}/{}: POST /api/v1/members", r + 1, self.runs);
            let e = if wrk.is_some() {
                let file = self.work.join(format!("wrk-bodies-{r}.tsv"));
                wrk_load(&base, Some((&token, &bodies, &file)), secs, &self.work, &label).await?
            } else {
                load(&client, &base, Some((&token, Arc::new(bodies))), Duration::from_secs(secs), &label).await?
            };
            self.step(&format!(
                "enrol run {}/{}: {:.0}/s, p50 {} p99 {} ({} ok, {} errors)",
                r + 1,
                self.runs,
                e.per_sec,
                ms(e.lat.p50),
                ms(e.lat.p99),
                e.ok,
                e.errors
            ));
            enrol_runs.push(e);
            let label = format!("run {}/{}: GET /healthz", r + 1, self.runs);
            let h = if wrk.is_some() {
                wrk_load(&base, None, secs, &self.work, &label).await?
            } else {
                load(&client, &base, None, Duration::from_secs(secs), &label).await?
            };
            self.step(&format!(
                "health run {}/{}: {:.0}/s, p50 {} p99 {}",
                r + 1,
                self.runs,
                h.per_sec,
                ms(h.lat.p50),
                ms(h.lat.p99)
            ));
            health_runs.push(h);
        }
        let loaded = ProcMem::of(pid)?;
        sampler.abort();
        let anon_peak = loaded.anon.map(|a| a.max(anon_seen.load(std::sync::atomic::Ordering::Relaxed)));
        // SIGTERM: the server finishes what is in flight and stops.
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .is_err()
        {
            child.kill().await?;
        }
        Ok(HttpResult {
            secs,
            client: wrk,
            enrol: LoadSummary::of(enrol_runs),
            health: LoadSummary::of(health_runs),
            read_ahead,
            idle,
            loaded,
            anon_peak,
        })
    }
}

mod bytes_body {
    pub struct Body {
        pub key: String,
        pub json: Vec<u8>,
    }
}

/// Wait until the server's read-ahead of the database file (`serve` asks the OS for the whole
/// file at start, in the background) is no longer running, as its `/metrics` tell, so that the
/// load meets the server as it runs once started; says what it did, and how much of a SQLite
/// file the OS's page cache then holds.
async fn await_read_ahead(client: &reqwest::Client, base: &str, db: &Db) -> anyhow::Result<String> {
    let started = Instant::now();
    let (state, bytes) = loop {
        let body = client.get(format!("{base}/metrics")).send().await?.error_for_status()?.text().await?;
        let value = |prefix: &str| {
            body.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let state = sangathan_server::metrics::READ_AHEAD_STATES
            .into_iter()
            .find(|s| value(&format!("sangathan_database_read_ahead{{state=\"{s}\"}}")) == Some(1))
            .ok_or_else(|| anyhow!("the server's /metrics do not say where its read-ahead stands"))?;
        if state != "running" {
            break (state, value("sangathan_database_read_ahead_bytes ").unwrap_or(0));
        }
        if started.elapsed() > Duration::from_secs(300) {
            break ("still running after 5 minutes (the load began anyway)", 0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let waited = started.elapsed().as_secs_f64();
    let resident = match db {
        Db::File(p) => sangathan_store::read_ahead::resident(p)
            .map(|r| format!("; {:.0} % of the file in the OS's page cache as the load began", r * 100.0))
            .unwrap_or_default(),
        Db::Pg(_) => String::new(),
    };
    Ok(match state {
        "done" => format!(
            "the server's read-ahead of the database file (`SANGATHAN_READ_AHEAD`, on by default) was done {waited:.1} s after the server first answered, the OS's cache then holding {} MiB of it{resident}",
            bytes >> 20
        ),
        other => format!("the server's read-ahead of the database file: {other}{resident}"),
    })
}

/// The script wrk runs: each of its threads takes every n-th prepared enrolment of the file
/// (`KEY<TAB>JSON` lines), or GETs /healthz when no file is given; statuses are counted per
/// thread and summed in `done`, which prints the totals and 999 latency quantiles (µs).
const WRK_SCRIPT: &str = r#"
local count, threads = 0, {}
function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end
function init(args)
  local token, nthreads, path = os.getenv("SANGATHAN_BENCH_TOKEN"), tonumber(args[1]), args[2]
  reqs, n, created, failed, exhausted = {}, 0, 0, 0, 0
  if path == nil then return end
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == tid - 1 then
      local tab = string.find(line, "\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", "/api/v1/members", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = string.sub(line, 1, tab - 1),
      }, string.sub(line, tab + 1))
    end
    i = i + 1
  end
end
function request()
  if #reqs == 0 then return wrk.format("GET", "/healthz") end
  n = n + 1
  if n > #reqs then
    exhausted = exhausted + 1
    return wrk.format("GET", "/healthz")
  end
  return reqs[n]
end
function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status >= 300 then
    failed = failed + 1
    if first == nil then first = status .. " " .. string.sub(body, 1, 300) end
  end
end
function done(summary, latency, requests)
  local c, f, x, fe = 0, 0, 0, nil
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    f = f + t:get("failed")
    x = x + t:get("exhausted")
    fe = fe or t:get("first")
  end
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %d %d %d\n", summary.requests, summary.duration, c, f,
    e.connect + e.read + e.write + e.timeout, x))
  for p = 1, 999 do io.write(string.format("P %d\n", latency:percentile(p / 10))) end
  if fe then io.write("FIRST " .. string.gsub(fe, "\n", " ") .. "\n") end
end
"#;

/// wrk's version line, when wrk is installed.
async fn wrk_version() -> Option<String> {
    let out = tokio::process::Command::new("wrk").arg("-v").output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    text.lines().next().filter(|l| l.starts_with("wrk")).map(|l| l.split(" Copyright").next().unwrap_or(l).trim().to_string())
}

/// The same load as [`load`] through wrk: 2 threads, CLIENTS connections, `secs` seconds.
async fn wrk_load(
    base: &str,
    enrol: Option<(&str, &[bytes_body::Body], &Path)>,
    secs: u64,
    work: &Path,
    label: &str,
) -> anyhow::Result<LoadRun> {
    let script = work.join("bench.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let mut cmd = tokio::process::Command::new("wrk");
    cmd.args(["-t2", &format!("-c{CLIENTS}"), &format!("-d{secs}s"), "--timeout", "10s", "-s"])
        .arg(&script);
    let url = match enrol {
        Some(_) => format!("{base}/api/v1/members"),
        None => format!("{base}/healthz"),
    };
    cmd.arg(&url);
    if let Some((token, bodies, file)) = enrol {
        let mut tsv = Vec::with_capacity(bodies.len() * 300);
        for b in bodies {
            tsv.extend_from_slice(b.key.as_bytes());
            tsv.push(b'\t');
            tsv.extend_from_slice(&b.json);
            tsv.push(b'\n');
        }
        std::fs::write(file, tsv)?;
        // The token through the environment, not the command line (`ps` shows that).
        cmd.env("SANGATHAN_BENCH_TOKEN", token).arg("--").arg("2").arg(file);
    }
    let sp = spinner(label);
    let out = cmd.stdin(Stdio::null()).output().await.context("cannot run wrk")?;
    sp.finish_and_clear();
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(totals) = text.lines().find_map(|l| l.strip_prefix("WRK ")) else {
        bail!("{label}: wrk gave no summary ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    };
    let n: Vec<u64> = totals.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    let [requests, duration_us, created, failed, socket, exhausted] = n[..] else {
        bail!("{label}: wrk's summary is unreadable: {totals}");
    };
    if exhausted > 0 {
        bail!("{label}: the prepared enrolments ran out ({exhausted} requests beyond them); prepare more");
    }
    let samples: Vec<Duration> = text.lines().filter_map(|l| l.strip_prefix("P ")).filter_map(|v| v.parse().ok()).map(Duration::from_micros).collect();
    let errors = (failed + socket) as usize;
    let ok = (requests.saturating_sub(failed)) as usize;
    if ok == 0 || samples.is_empty() {
        bail!("{label}: no request succeeded ({})", text.lines().find_map(|l| l.strip_prefix("FIRST ")).unwrap_or(""));
    }
    Ok(LoadRun {
        ok,
        created: created as usize,
        errors,
        first_error: text.lines().find_map(|l| l.strip_prefix("FIRST ")).map(str::to_string).or_else(|| (socket > 0).then(|| format!("{socket} socket errors"))),
        per_sec: ok as f64 / (duration_us as f64 / 1e6),
        lat: Lat::of(&samples),
        samples,
    })
}

struct LoadRun {
    ok: usize,
    created: usize,
    errors: usize,
    first_error: Option<String>,
    per_sec: f64,
    lat: Lat,
    samples: Vec<Duration>,
}

/// 64 clients for `secs` (or until the prepared members run out): POST enrolments when `enrol`
/// is given, else GET /healthz.
async fn load(
    client: &reqwest::Client,
    base: &str,
    enrol: Option<(&str, Arc<Vec<bytes_body::Body>>)>,
    secs: Duration,
    label: &str,
) -> anyhow::Result<LoadRun> {
    let next = Arc::new(AtomicUsize::new(0));
    let sp = spinner(label);
    let deadline = Instant::now() + secs;
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CLIENTS {
        let client = client.clone();
        let next = next.clone();
        let enrol = enrol.as_ref().map(|(t, b)| (t.to_string(), b.clone()));
        let url = match enrol {
            Some(_) => format!("{base}/api/v1/members"),
            None => format!("{base}/healthz"),
        };
        let sp = sp.clone();
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut created, mut errors) = (0usize, 0usize, 0usize);
            let mut first_error = None;
            while Instant::now() < deadline {
                let req = match &enrol {
                    Some((token, bodies)) => {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = bodies.get(i) else { break };
                        client
                            .post(&url)
                            .bearer_auth(token)
                            .header("idempotency-key", &b.key)
                            .header("content-type", "application/json")
                            .body(b.json.clone())
                    }
                    None => client.get(&url),
                };
                let t = Instant::now();
                let res = req.send().await;
                let (good, why) = match res {
                    Ok(r) => {
                        let status = r.status();
                        let body = r.bytes().await;
                        match (status.is_success(), body) {
                            (true, Ok(_)) => {
                                if status.as_u16() == 201 {
                                    created += 1;
                                }
                                (true, None)
                            }
                            (_, Ok(b)) => (
                                false,
                                Some(format!(
                                    "HTTP {status}: {}",
                                    String::from_utf8_lossy(&b[..b.len().min(300)])
                                )),
                            ),
                            (_, Err(e)) => (false, Some(format!("HTTP {status}: {e}"))),
                        }
                    }
                    Err(e) => (false, Some(e.to_string())),
                };
                lat.push(t.elapsed());
                if good {
                    ok += 1;
                } else {
                    errors += 1;
                    if first_error.is_none() {
                        first_error = why;
                    }
                }
                sp.inc(1);
            }
            (lat, ok, created, errors, first_error)
        });
    }
    let mut all = Vec::new();
    let (mut ok, mut created, mut errors) = (0, 0, 0);
    let mut first_error = None;
    while let Some(r) = tasks.join_next().await {
        let (lat, o, c, e, f) = r.map_err(|e| anyhow!("a load task failed: {e}"))?;
        all.extend(lat);
        ok += o;
        created += c;
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    sp.finish_and_clear();
    if ok == 0 {
        bail!(
            "{label}: no request succeeded ({})",
            first_error.unwrap_or_default()
        );
    }
    Ok(LoadRun {
        ok,
        created,
        errors,
        first_error,
        per_sec: ok as f64 / elapsed,
        lat: Lat::of(&all),
        samples: all,
    })
}

struct LoadSummary {
    /// Median over runs of requests answered per second.
    per_sec: f64,
    per_run: Vec<f64>,
    /// Latency over every request of every run.
    lat: Lat,
    ok: usize,
    created: usize,
    errors: usize,
    first_error: Option<String>,
}

impl LoadSummary {
    fn of(runs: Vec<LoadRun>) -> LoadSummary {
        let per_run: Vec<f64> = runs.iter().map(|r| r.per_sec).collect();
        let all: Vec<Duration> = runs
            .iter()
            .flat_map(|r| r.samples.iter().copied())
            .collect();
        LoadSummary {
            per_sec: median(&per_run),
            per_run,
            lat: Lat::of(&all),
            ok: runs.iter().map(|r| r.ok).sum(),
            created: runs.iter().map(|r| r.created).sum(),
            errors: runs.iter().map(|r| r.errors).sum(),
            first_error: runs.iter().find_map(|r| r.first_error.clone()),
        }
    }
}

struct HttpResult {
    secs: u64,
    /// wrk's version line when wrk was the load generator; none: the built-in client.
    client: Option<String>,
    enrol: LoadSummary,
    health: LoadSummary,
    /// What the server's read-ahead of the database did before the load (a sentence).
    read_ahead: String,
    idle: ProcMem,
    loaded: ProcMem,
    /// The largest `RssAnon` seen while the load ran (sampled every 100 ms); None where the
    /// kernel does not report it.
    anon_peak: Option<u64>,
}

/// VmRSS and VmHWM of a process, in bytes.
#[derive(Clone, Copy)]
pub(crate) struct ProcMem {
    pub(crate) rss: u64,
    pub(crate) hwm: u64,
    /// Of `rss`, pages of mapped files: the program's own, and the database's that SQLite's
    /// readers touched through their memory map (the OS's cache, shared and reclaimable).
    /// None on kernels before 4.5, which do not split VmRSS.
    pub(crate) file: Option<u64>,
    /// Of `rss`, the process's own memory (heap, stacks): what it costs the machine.
    pub(crate) anon: Option<u64>,
}

impl ProcMem {
    pub(crate) fn of(pid: u32) -> anyhow::Result<ProcMem> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("cannot read /proc/{pid}/status"))?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        };
        let need = |name: &str| field(name).ok_or_else(|| anyhow!("no {name} in /proc/{pid}/status"));
        Ok(ProcMem {
            rss: need("VmRSS:")?,
            hwm: need("VmHWM:")?,
            file: field("RssFile:"),
            anon: field("RssAnon:"),
        })
    }
}

pub(crate) struct Sample {
    name: String,
    /// The ten national digits.
    mobile: Option<String>,
    epic: Option<String>,
    unit: String,
    ac: String,
    deva: bool,
}

/// `UP-AC-173-B0042` → (173, Some(42)); `UP-AC-173` → (173, None).
fn split_unit(code: &str) -> anyhow::Result<(u32, Option<u32>)> {
    let bad = || anyhow!("unexpected unit code {code}");
    let rest = code.split_once("-AC-").ok_or_else(bad)?.1;
    match rest.split_once("-B") {
        Some((ac, b)) => Ok((
            ac.parse().map_err(|_| bad())?,
            Some(b.parse().map_err(|_| bad())?),
        )),
        None => Ok((rest.parse().map_err(|_| bad())?, None)),
    }
}

struct ImportResult {
    runs: usize,
    ours: Vec<f64>,
    /// The baseline tool and its version (`sqlite3 3.40.1`, `psql (PostgreSQL) 15.18`), its
    /// seconds per run and the rows it kept.
    baseline: Option<(String, Vec<f64>, u64)>,
    /// The last run's `import --json` line.
    stats: serde_json::Value,
    /// The size of the freshly initialised database (geography, targets), before the import.
    init_size: Size,
    /// The baseline's database after its last run.
    base_size: Option<Size>,
}

/// p50/p95/p99 of a set of timings.
#[derive(Clone, Copy, Default)]
struct Lat {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

impl Lat {
    fn of(v: &[Duration]) -> Lat {
        let mut s = v.to_vec();
        s.sort();
        let q = |p: f64| {
            if s.is_empty() {
                return Duration::ZERO;
            }
            let i = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
            s[i]
        };
        Lat {
            p50: q(0.50),
            p95: q(0.95),
            p99: q(0.99),
        }
    }
}

struct LatencyRow {
    id: &'static str,
    what: String,
    ours: Lat,
    base: Lat,
    /// (found on the first page, found anywhere in the results, queries) for searches.
    recall: Option<(usize, usize, usize)>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn remove_db(p: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
}

/// (main file, WAL) sizes in bytes.
fn file_sizes(p: &Path) -> (u64, u64) {
    let size = |f: String| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
    (
        size(p.display().to_string()),
        size(format!("{}-wal", p.display())),
    )
}

/// psql (on PATH, else Debian's /usr/lib/postgresql/*/bin/psql, the newest) and its version line.
async fn psql() -> Option<(PathBuf, String)> {
    let mut candidates = vec![PathBuf::from("psql")];
    if let Ok(dir) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let v = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((v, e.path().join("bin/psql")))
            })
            .filter(|(_, p)| p.is_file())
            .collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
    }
    for bin in candidates {
        let Ok(out) = tokio::process::Command::new(&bin)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .await
        else {
            continue;
        };
        if out.status.success() {
            // "psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
            let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
            return Some((bin, v));
        }
    }
    None
}

async fn sqlite3_version() -> Option<String> {
    let out = tokio::process::Command::new("sqlite3")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v = String::from_utf8_lossy(&out.stdout);
    v.split_whitespace().next().map(str::to_string)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} {{bar:40}} {{human_pos}}/{{human_len}} {{per_sec}} eta {{eta}}"
        ))
        .expect("valid template"),
    );
    b
}

fn spinner(what: &str) -> ProgressBar {
    let b = ProgressBar::new_spinner();
    b.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {what} {{human_pos}} {{elapsed}}"))
            .expect("valid template"),
    );
    b.enable_steady_tick(Duration::from_millis(200));
    b
}

// ---------------------------------------------------------------------------------------------
// The machine and the report.

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct Machine {
    cpus: usize,
    cpu_model: String,
    ram: String,
    os: String,
    date: String,
    commit: String,
    build: &'static str,
    loadavg: String,
}

impl Machine {
    async fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let ram = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| format!("{:.1} GiB RAM", kb / 1024.0 / 1024.0))
            .unwrap_or_else(|| "unknown RAM".into());
        let release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let pretty = release
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_else(|| std::env::consts::OS.to_string());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let os = format!("{pretty}, Linux {}", kernel.trim());
        let git = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            async move {
                tokio::process::Command::new("git")
                    .args(&args)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .await
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            }
        };
        let commit = match git(&["rev-parse", "--short", "HEAD"]).await {
            Some(c) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .await
                    .is_some_and(|s| !s.is_empty());
                if dirty {
                    format!("`{c}` + uncommitted changes")
                } else {
                    format!("`{c}`")
                }
            }
            None => "unknown (not a git checkout)".into(),
        };
        Machine {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            ram,
            os,
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit,
            build: if cfg!(debug_assertions) {
                "debug build (not representative)"
            } else {
                "release build"
            },
            loadavg: loadavg(),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} CPU(s) ({}), {}, {}",
            self.cpus, self.cpu_model, self.ram, self.os
        )
    }
}

struct Report {
    n: u64,
    runs: usize,
    label: Option<String>,
    machine: Machine,
    backend: Backend,
    engine: Engine,
    /// None with --existing (step 1 skipped).
    import: Option<ImportResult>,
    existing: Option<ExistingReport>,
    rollup: Vec<LatencyRow>,
    search: Vec<LatencyRow>,
    /// How long taking the search statistics took (before the queries).
    search_statistics: Duration,
    http: HttpResult,
    /// Detection's first full run (and the baseline scan), then its incremental run.
    detect: (DetectFull, sangathan_store::verification::DetectRun),
    mismatches: usize,
    first_mismatch: Option<String>,
    db_size: Size,
    loadavg_end: String,
}

struct DetectFull {
    run: sangathan_store::verification::DetectRun,
    baseline: Duration,
    enrollers: usize,
    /// The bench process's memory after the run (None: /proc unreadable).
    peak: Option<ProcMem>,
}

struct ExistingReport {
    path: String,
    memberships: u64,
    people: u64,
    load_seconds: Option<f64>,
    load_command: Option<String>,
    load_baseline: Option<LoadBaseline>,
}

/// The import baseline's run on a CSV of an existing database's members (`--load-baseline`).
struct LoadBaseline {
    file: String,
    bytes: u64,
    tool: String,
    secs: f64,
    /// The rows the baseline kept.
    rows: u64,
}

/// A table row's verdict.
fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

impl Report {
    fn heading(&self) -> String {
        format!(
            "## {} members{}",
            thousands(self.n),
            self.backend.heading_suffix()
        )
    }

    fn pg(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// The import baseline's tool, as the tables name it.
    fn base_tool(&self) -> &'static str {
        if self.pg() { "psql \\copy" } else { "sqlite3" }
    }

    /// The engine line of the section's header.
    fn engine_line(&self) -> String {
        let baseline = match &self.import {
            Some(imp) => imp
                .baseline
                .as_ref()
                .map(|b| b.0.clone())
                .unwrap_or_else(|| format!("{} not installed", self.base_tool())),
            None => "none (no import at this size)".into(),
        };
        match &self.engine {
            Engine::Sqlite { version } => {
                format!("SQLite: {version} bundled with sangathan; baseline shell: {baseline}.\n\n")
            }
            Engine::Postgres { version, settings } => format!(
                "PostgreSQL: server {version}; its settings that differ from the built-in defaults \
                 (`pg_settings` whose source is not default, override, client or session): {}; \
                 baseline client: {baseline}.\n\n",
                if settings.is_empty() {
                    "none".to_string()
                } else {
                    settings
                        .iter()
                        .map(|(k, v)| format!("`{k}={}`", v.replace('|', "/").replace('`', "'")))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        }
    }

    /// The section without its notes block.
    fn section_tables(&self) -> String {
        let mut s = String::new();
        let mut missed: Vec<&'static str> = Vec::new();
        let m = &self.machine;
        s += &format!("{}\n\n", self.heading());
        s += &format!(
            "Measured {} on commit {}, {}, {} run(s){}.  \n",
            m.date,
            m.commit,
            m.build,
            self.runs,
            self.label
                .as_ref()
                .map(|l| format!("; label: {l}"))
                .unwrap_or_default()
        );
        s += &format!(
            "Machine: {}; load average (1, 5, 15 min) when the run started: {}, when it ended: {} \
             (other work on the machine shares its cores with the bench).  \n",
            m.line(),
            m.loadavg,
            self.loadavg_end
        );
        s += &self.engine_line();

        // 1. Import.
        let imp = match (&self.import, &self.existing) {
            (Some(imp), _) => imp,
            (None, Some(e)) => {
                self.existing_import(&mut s, &mut missed, e);
                return self.section_rest(s, missed);
            }
            (None, None) => unreachable!("either an import or an existing database"),
        };
        let ours = median(&imp.ours);
        s += "### 1. Import\n\nRatio = ours ÷ baseline (time; the target is at most 1.5).\n\n";
        s += "| row | what | ours (median) | baseline (median) | ratio | target | met |\n| --- | --- | ---: | ---: | ---: | --- | :-: |\n";
        let runs_list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (base_cell, ratio_cell, met) = match &imp.baseline {
            Some((_, b, _)) => {
                let bm = median(b);
                let r = ours / bm;
                (
                    format!("{bm:.1} s (runs: {})", runs_list(b)),
                    format!("{r:.2}×"),
                    Some(r <= 1.5),
                )
            }
            None => (
                format!("not measured: {} missing", self.base_tool()),
                "—".into(),
                None,
            ),
        };
        s += &format!(
            "| `import.csv` | `sangathan import members` of {} CSV rows into a fresh `init --preset up` database, vs {} | {:.1} s, {}/s (runs: {}) | {} | {} | ≤ 1.5× {} | {} |\n",
            thousands(self.n),
            if self.pg() {
                "`psql` `\\copy` into a staging table + `INSERT … ON CONFLICT DO NOTHING`"
            } else {
                "`sqlite3 .import`"
            },
            ours,
            thousands((self.n as f64 / ours) as u64),
            runs_list(&imp.ours),
            base_cell,
            ratio_cell,
            self.base_tool(),
            met.map(mark).unwrap_or("—")
        );
        if met == Some(false) {
            missed.push("import.csv");
        }
        let projected = ours * UP_TARGET_MEMBERS as f64 / self.n as f64;
        let measured = self.n >= 18_000_000;
        let ok18 = if measured {
            ours < 300.0
        } else {
            projected < 300.0
        };
        s += &format!(
            "| `import.load_18m` | time to load UP's 18.1 million (403 × 45,000){} | {} | {} | {} | < 5 min | {} |\n",
            if measured {
                ": measured at this size"
            } else {
                ": linear projection of both sides from this size (optimistic: indexes deepen as they grow)"
            },
            human_secs(if measured { ours } else { projected }),
            match &imp.baseline {
                Some((_, b, _)) => {
                    let bm = median(b);
                    human_secs(if measured {
                        bm
                    } else {
                        bm * UP_TARGET_MEMBERS as f64 / self.n as f64
                    })
                }
                None => format!("not measured: {} missing", self.base_tool()),
            },
            match &imp.baseline {
                Some((_, b, _)) => format!("{:.2}×", ours / median(b)),
                None => "—".into(),
            },
            mark(ok18)
        );
        if !ok18 {
            missed.push("import.load_18m");
        }
        s += "\n";
        if imp.runs == 1 && self.runs > 1 {
            s += &format!(
                "The import ran once (not {} times): at {} members and more it is measured once per invocation.\n\n",
                self.runs,
                thousands(SINGLE_IMPORT_FROM)
            );
        }
        let st = &imp.stats;
        let num = |k: &str| st.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        s += &format!(
            "Ours (last run): {} rows → {} new memberships ({} new people), {} duplicates, {} rejected. ",
            thousands(num("rows")),
            thousands(num("created_memberships")),
            thousands(num("created_people")),
            thousands(num("duplicates")),
            thousands(num("rejected"))
        );
        if let Some((_, _, kept)) = &imp.baseline {
            s += &format!(
                "Baseline kept {} rows ({} {}).\n\n",
                thousands(*kept),
                thousands(self.n.saturating_sub(*kept)),
                if self.pg() {
                    "skipped by `ON CONFLICT DO NOTHING` on its unique indexes"
                } else {
                    "refused by its unique indexes"
                }
            );
        } else {
            s += "\n\n";
        }
        if self.pg() {
            s += &format!(
                "How: the CSV (columns `name,mobile,epic,ac_no,booth_no,gender,birth_year,wing`; mobile as the 10 national digits; \
                 about a quarter of members share a household mobile, a fifth have no EPIC) comes from the demo generator (seed 1), \
                 the same file as the SQLite section's. Both sides load into fresh databases the bench creates on the server \
                 (`CREATE DATABASE bench_ours_N_PID` / `bench_base_N_PID`, dropped when the bench ends). **Ours** is this binary \
                 run as a subprocess, `sangathan --db postgres://…/bench_ours_N_PID import members FILE --json`, timed from spawn \
                 to exit, into a database freshly made by `sangathan --db … init --preset up` (not timed): it validates every row, \
                 applies the identity rule, writes people, memberships, counters, daily counts and the resumable-import checkpoint \
                 in batches (into the empty database from 100,000 rows, growing with the rows loaded up to 1,000,000; its listing and search indexes are built after the load: \
                 `Store::defer_indexes`; the index builds are inside the timed run). **Baseline** is `psql` ({}), in its own fresh database, into a normal (logged) table \
                 `members(name TEXT, mobile TEXT, epic TEXT, ac_no INT, booth_no INT, gender TEXT, birth_year INT, wing TEXT)` \
                 (name, mobile and EPIC in the `\"C\"` collation, as ours: migration 0022) \
                 created beforehand (not timed) with the identity rule's two unique indexes as partial indexes, \
                 `UNIQUE(epic) WHERE epic <> ''` and `UNIQUE(mobile, name) WHERE mobile <> ''` (empty CSV fields load as NULL, \
                 which never collide). COPY stops at the first duplicate (sqlite3's `.import` skips it), so the baseline \
                 deduplicates as a bulk load would: one `psql -X -v ON_ERROR_STOP=1 -f SCRIPT` run, timed from spawn to exit, \
                 of `CREATE TEMP TABLE staging (LIKE members); \\copy staging FROM 'FILE' WITH (FORMAT csv, HEADER true)` then \
                 `INSERT INTO members SELECT * FROM staging ON CONFLICT DO NOTHING` (each statement its own transaction). \
                 It is the physical floor: the same bytes parsed and written into one table with the same uniqueness checks, \
                 with no validation, no normalisation and no counters.\n\n",
                imp.baseline
                    .as_ref()
                    .map(|b| b.0.as_str())
                    .unwrap_or("not installed")
            );
            why_lines(&mut s, &mut missed);
            return self.section_rest(s, missed);
        }
        s += "How: the CSV (columns `name,mobile,epic,ac_no,booth_no,gender,birth_year,wing`; mobile as the 10 national digits; \
              about a quarter of members share a household mobile, a fifth have no EPIC) comes from the demo generator (seed 1). \
              **Ours** is this binary run as a subprocess, `sangathan --db sqlite://… import members FILE --json`, timed from \
              spawn to exit, into a database freshly made by `sangathan init --preset up` (not timed): it validates every row, \
              applies the identity rule, writes people, memberships, counters, daily counts and the resumable-import checkpoint \
              in batches (into the empty database from 100,000 rows, growing with the rows loaded up to 1,000,000; its listing and search indexes, FTS5 included, are built \
              after the load: `Store::defer_indexes`; the index builds are inside the timed run). **Baseline** is the `sqlite3` shell, timed from spawn to exit: \
              `sqlite3 -cmd 'PRAGMA synchronous=NORMAL' -cmd 'PRAGMA cache_size=-65536' base.db \".import --csv --skip 1 FILE members\"` \
              into a WAL-mode table `members(name TEXT, mobile TEXT, epic TEXT, ac_no INT, booth_no INT, gender TEXT, birth_year INT, wing TEXT)` \
              created beforehand (not timed) with the identity rule's two unique indexes as partial indexes, \
              `UNIQUE(epic) WHERE epic <> ''` and `UNIQUE(mobile, name) WHERE mobile <> ''` (so absent identifiers, \
              imported as empty strings, do not collide; rows that do collide are refused and skipped by `.import`). \
              It is the physical floor: the same bytes parsed and written into one table with the same uniqueness checks, \
              in one transaction, with no validation, no normalisation and no counters.\n\n";
        why_lines(&mut s, &mut missed);
        self.section_rest(s, missed)
    }

    /// Step 1 with --existing: the load measured outside, no CSV import.
    fn existing_import(&self, s: &mut String, missed: &mut Vec<&'static str>, e: &ExistingReport) {
        let not = format!(
            "not measured at this size: the CSV import of {} rows was not run; see the 1,000,000{} section",
            thousands(self.n),
            if self.pg() {
                " members — PostgreSQL"
            } else {
                ""
            }
        );
        *s += "### 1. Import\n\n";
        *s += &format!(
            "Step 1 was not run: this section measures an existing database, `{}`, loaded outside the bench \
             (`sangathan bench --existing`). It held {} memberships ({} people) when the bench started.\n\n",
            e.path,
            thousands(e.memberships),
            thousands(e.people)
        );
        *s += "| row | what | ours | baseline | ratio | target | met |\n| --- | --- | ---: | ---: | ---: | --- | :-: |\n";
        *s += &format!(
            "| `import.csv` | `sangathan import members` of a CSV vs {} | {not} | {not} | — | ≤ 1.5× {} | — |\n",
            if self.pg() {
                "`psql` `\\copy` (staging table + `INSERT … ON CONFLICT DO NOTHING`)"
            } else {
                "`sqlite3 .import`"
            },
            self.base_tool()
        );
        let (cell, met) = match e.load_seconds {
            Some(secs) => {
                let ok = secs < 300.0;
                if !ok {
                    missed.push("import.load_18m");
                }
                (
                    format!(
                        "{}, {}/s",
                        if secs >= 120.0 {
                            format!("{} ({secs:.0} s)", human_secs(secs))
                        } else {
                            format!("{secs:.1} s")
                        },
                        thousands((e.memberships as f64 / secs) as u64)
                    ),
                    mark(ok),
                )
            }
            None => ("not given (--load-seconds)".to_string(), "—"),
        };
        let (base, ratio) = match (&e.load_baseline, e.load_seconds) {
            (Some(b), Some(secs)) => (
                format!(
                    "{}: {} of a CSV of the same members ({} rows kept)",
                    b.tool,
                    if b.secs >= 120.0 {
                        format!("{} ({:.0} s)", human_secs(b.secs), b.secs)
                    } else {
                        format!("{:.1} s", b.secs)
                    },
                    thousands(b.rows)
                ),
                format!("{:.2}×", secs / b.secs),
            ),
            _ => (not.clone(), "—".to_string()),
        };
        *s += &format!(
            "| `import.load_18m` | time to load this database's {} memberships, measured outside the bench (wall clock){} | {cell} | {base} | {ratio} | < 5 min | {met} |\n\n",
            thousands(e.memberships),
            e.load_command
                .as_ref()
                .map(|c| format!(": `{}`", c.replace('|', "/").replace('`', "'")))
                .unwrap_or_default()
        );
        if let Some(b) = &e.load_baseline {
            *s += &format!(
                "The load's baseline (`--load-baseline`): {} of `{}` ({:.1} MB; meant to hold this database's members, one row per \
                 membership, in the bench's CSV columns `name,mobile,epic,ac_no,booth_no,gender,birth_year,wing`, e.g. cut from \
                 `sangathan export members --unit STATE --format csv` of it), the same tool and table as the 1,000,000 section's \
                 import baseline, run once by the bench into a database of its own (dropped after), after every other step. The load \
                 itself was not from that CSV (see its command): the ratio compares a whole load with the physical floor of the same \
                 members' bytes, parsed and written into one table with the identity rule's two unique indexes.\n\n",
                b.tool,
                b.file.replace('`', "'"),
                b.bytes as f64 / 1e6
            );
        }
        why_lines(s, missed);
    }

    /// Steps 2 to 5 of the section.
    fn section_rest(&self, mut s: String, mut missed: Vec<&'static str>) -> String {
        let src = if self.existing.is_some() {
            "the existing database"
        } else {
            "the imported database"
        };

        // 2. Roll-up.
        s += "### 2. Roll-up\n\nRatio = ours ÷ baseline (below 1: ours is faster).\n\n";
        s += "| row | unit | ours p50 | ours p95 | naive p50 | naive p95 | ratio (p95) | target | met |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | :-: |\n";
        for r in &self.rollup {
            let ok = r.ours.p95 < Duration::from_millis(10);
            if !ok {
                missed.push(r.id);
            }
            s += &format!(
                "| `{}` | {} | {} | {} | {} | {} | {} | p95 < 10 ms | {} |\n",
                r.id,
                r.what,
                ms(r.ours.p50),
                ms(r.ours.p95),
                ms(r.base.p50),
                ms(r.base.p95),
                ratio(r.ours.p95, r.base.p95),
                mark(ok)
            );
        }
        s += &format!(
            "\nHow: {} × {ROLLUP_REPS} sequential calls per unit (the naive query: {} × {NAIVE_ROLLUP_REPS}, fewer where noted) after one untimed warm-up of each. **Ours** is \
             `Store::progress(code, None, today)` in-process on {src} (target, achieved and 7-day pacing \
             of the unit and of every child, from the maintained counters). **Baseline** is the naive query one would \
             write without counters, through sqlx on {}, counting the \
             party wing's pending and verified memberships per child unit: state → \
             `SELECT a.division_id, COUNT(*) FROM memberships m JOIN units a ON a.id = m.ac_id WHERE m.wing_id = ? AND m.status IN ('pending','verified') GROUP BY a.division_id`; \
             division → the same `WHERE a.division_id = ?` grouped by `a.district_id`; AC → \
             `… JOIN units b ON b.id = m.unit_id WHERE m.ac_id = ? … GROUP BY b.parent_id` (sectors). It computes \
             less than ours (no targets, no pacing). Before timing, the bench checks that both give the same total.\n\n",
            self.runs,
            self.runs,
            if self.pg() {
                "one connection of its own to the same database (placeholders `$1`, `$2` where `?` is written)"
            } else {
                "the same file (read-only connection, 64 MiB cache)"
            }
        );
        why_lines(&mut s, &mut missed);

        // 3. Search.
        s += "### 3. Search\n\nRatio = ours ÷ baseline (below 1: ours is faster).\n\n";
        s += "| row | queries | ours p50 | ours p95 | found in top 20 | found in all results | baseline p50 | baseline p95 | ratio (p95) | target | met |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | :-: |\n";
        for r in &self.search {
            let ok = r.ours.p95 < Duration::from_millis(50);
            if !ok {
                missed.push(r.id);
            }
            let (f, a, n) = r.recall.unwrap_or((0, 0, 0));
            s += &format!(
                "| `{}` | {} | {} | {} | {f}/{n} ({:.0}%) | {a}/{n} ({:.0}%) | {} | {} | {} | p95 < 50 ms | {} |\n",
                r.id,
                r.what,
                ms(r.ours.p50),
                ms(r.ours.p95),
                100.0 * f as f64 / n.max(1) as f64,
                100.0 * a as f64 / n.max(1) as f64,
                ms(r.base.p50),
                ms(r.base.p95),
                ratio(r.ours.p95, r.base.p95),
                mark(ok)
            );
        }
        s += &format!(
            "\nHow: queries are built from members sampled evenly through {}. **Ours** is \
             `Store::search(unit, q, None, 0, 20)` in-process (the state, or the member's AC for the scoped row), \
             sequentially, after `Store::refresh_search_statistics` ({}), which a running server does by itself in \
             the background. \"Found in top 20\" counts the queries (first run) whose 20 results include the intended \
             person (same name and booth); at state scope a common name has many namesakes (at 18 M, over a hundred \
             people share some generated full names), so this also tests the ranking; \"found in all results\" \
             pages on through the whole ranked answer (untimed) and counts the queries whose intended person is in it \
             at all: the recall of the search itself. **Baseline**: for names, the naive \
             `SELECT p.id, p.name FROM people p WHERE p.name {} '%q%' LIMIT 20` (with a join on memberships and \
             `m.ac_id = ?` for the AC-scoped row{}), on the first {LIKE_BASELINE_QUERIES} queries of each run; it finds \
             neither the other script nor spelling variants nor reordered words, and stops at the first 20 rows it meets; \
             for mobiles and EPICs, the indexed equality lookup of the already normalised value \
             (`WHERE p.mobile = ?` / `WHERE p.epic = ?`, normalisation in Rust included): the floor for an identifier.\n\n",
            if self.existing.is_some() {
                "the database (about 2,000 people at ids spread evenly over the people table, each with the booth and AC of their first membership)"
            } else {
                "the generated file"
            },
            if self.pg() {
                format!("the search keys' trigram counts, of a sample of about 200,000 people, taken in {:.1} s", self.search_statistics.as_secs_f64())
            } else {
                format!("the search index's trigram counts, taken in {:.1} s", self.search_statistics.as_secs_f64())
            },
            if self.pg() { "ILIKE" } else { "LIKE" },
            if self.pg() {
                "; ILIKE, PostgreSQL's case-insensitive LIKE, as SQLite's LIKE ignores ASCII case"
            } else {
                ""
            }
        );
        why_lines(&mut s, &mut missed);

        // 4. Enrolment over HTTP.
        let h = &self.http;
        s += "### 4. Enrolment over HTTP\n\n";
        s += "| row | what | ours | baseline | ratio | target | met |\n| --- | --- | ---: | ---: | ---: | --- | :-: |\n";
        let e = &h.enrol;
        let ok = e.per_sec >= 5000.0 && e.lat.p99 < Duration::from_millis(25);
        if !ok {
            missed.push("enrol.http64");
        }
        let per_run = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s += &format!(
            "| `enrol.http64` | `POST /api/v1/members`, {CLIENTS} concurrent clients, {} s per run; vs `GET /healthz` | {:.0} enrolments/s (runs: {}); p50 {}, p99 {} | {:.0} req/s (runs: {}); p50 {}, p99 {} | {:.2}× of healthz throughput | ≥ 5,000/s and p99 < 25 ms | {} |\n",
            h.secs,
            e.per_sec,
            per_run(&e.per_run),
            ms(e.lat.p50),
            ms(e.lat.p99),
            h.health.per_sec,
            per_run(&h.health.per_run),
            ms(h.health.lat.p50),
            ms(h.health.lat.p99),
            e.per_sec / h.health.per_sec.max(1e-9),
            mark(ok)
        );
        let exact = self.mismatches == 0;
        if !exact {
            missed.push("enrol.verify");
        }
        s += &format!(
            "| `enrol.verify` | `Store::verify()` after the load: every counter recomputed from the base rows | {} | — | — | 0 mismatches | {} |\n",
            if exact {
                "0 mismatches: counters exact".to_string()
            } else {
                format!(
                    "{} mismatch(es), first: {}",
                    self.mismatches,
                    self.first_mismatch.as_deref().unwrap_or("")
                )
            },
            mark(exact)
        );
        // Every request is meant to be a new member: say so when some were not (the rate above
        // counts answered requests, duplicates included).
        let repeats = e.ok.saturating_sub(e.created);
        let repeats = if repeats > 0 {
            format!(
                " **{} of the answered enrolments were members already enrolled (duplicates answered by the identity rule, nothing written): the rate above counts them.**",
                thousands(repeats as u64)
            )
        } else {
            String::new()
        };
        s += &format!(
            "\nRequests: {} enrolments answered ({} new memberships, {} errors), {} health checks ({} errors).{repeats}{}\n\n",
            thousands(e.ok as u64),
            thousands(e.created as u64),
            e.errors,
            thousands(h.health.ok as u64),
            h.health.errors,
            e.first_error
                .as_ref()
                .map(|x| format!(" First error: {}", x.replace('|', "/")))
                .unwrap_or_default()
        );
        s += &format!(
            "How: the server is this binary, `sangathan --db {}://… serve --addr 127.0.0.1:PORT`, as a subprocess with \
             its background jobs off (`SANGATHAN_JOBS=off`: their hourly detection run, measured in step 6, would otherwise start with the server and share the cores with the load) and its default logging (one line per request, to a file), on {} (the HTTP step \
             runs last and adds to it{}). The load generator is {} on the \
             same {}-CPU machine, so client and server share the cores: each client POSTs one new member after another \
             (demo generator members after the imported ones, at booths across the state: new people whose mobiles and EPICs are not yet in the database, households sharing a mobile included, a household's same-name pairs dropped so that every request is a valid new enrolment), \
             each with its own `Idempotency-Key` and an admin token, until {} s have passed; the members are prepared \
             before the clock starts. Latency is per request, client side, over every request of every run; throughput \
             is the median of the runs. **Baseline**: the same {CLIENTS} clients for the same time on `GET /healthz` of \
             the same server (no authentication, no database): the HTTP floor of this server and client on this machine. \
             Before the first run, {}.\n\n",
            if self.pg() { "postgres" } else { "sqlite" },
            if self.existing.is_some() {
                "the existing database itself, not a copy"
            } else {
                "the database the import step made"
            },
            if self.existing.is_some() {
                if self.pg() {
                    ": the enrolments it makes stay in that database"
                } else {
                    ": the enrolments it makes stay in that file"
                }
            } else {
                ""
            },
            match &h.client {
                Some(v) => format!(
                    "wrk (`{v}`; `wrk -t2 -c{CLIENTS} -d{}s` with a Lua script that sends the prepared requests and counts statuses; latency quantiles from wrk's histogram)",
                    h.secs
                ),
                None => format!("in the bench process (reqwest, {CLIENTS} tokio tasks; wrk was not installed)"),
            },
            self.machine.cpus,
            h.secs,
            h.read_ahead
        );
        why_lines(&mut s, &mut missed);

        // 5. Resources.
        s += "### 5. Resources\n\n";
        s += "| row | what | ours | baseline | ratio | target | met |\n| --- | --- | ---: | ---: | ---: | --- | :-: |\n";
        // The process's own memory when the kernel splits it out; else every resident page.
        let ok = h.anon_peak.unwrap_or(h.loaded.hwm) < 300_000_000;
        if !ok {
            missed.push("resources.rss");
        }
        s += &format!(
            "| `resources.rss` | RSS of the `sangathan serve` process after the HTTP load (VmRSS; VmHWM = its peak; of VmRSS, mapped files: the program and the database pages its readers touched through the map, the OS's shared cache; the target is judged on the process's own memory, RssAnon, at its peak sampled every 100 ms through the load, or on VmHWM where the kernel does not report RssAnon) vs the same process idle just after start | {} (peak {}; own memory {} at its peak; mapped file {}) | {} | {:.2}× | peak < 300 MB | {} |\n",
            mb(h.loaded.rss),
            mb(h.loaded.hwm),
            h.anon_peak.map_or("not reported by this kernel".to_string(), mb),
            h.loaded.file.map_or("not reported by this kernel".to_string(), mb),
            mb(h.idle.rss),
            h.loaded.rss as f64 / h.idle.rss.max(1) as f64,
            mark(ok)
        );
        let ours_size = self.db_size;
        let base_size = self.import.as_ref().and_then(|i| i.base_size);
        let (bcell, rcell) = match base_size {
            Some(b) => (
                b.cell(),
                format!("{:.2}×", ours_size.total() as f64 / b.total().max(1) as f64),
            ),
            None => (
                format!("not measured: {} missing", self.base_tool()),
                "—".into(),
            ),
        };
        match (&self.import, ours_size) {
            (Some(imp), Size::File { main, wal }) => {
                s += &format!(
                    "| `resources.db_size` | database on disk after the import (main file + WAL), vs the sqlite3 baseline's database | {} (main {} + WAL {}; of which {} is the freshly initialised geography and targets) | {} | {} | — | — |\n",
                    mib(main + wal),
                    mib(main),
                    mib(wal),
                    mib(imp.init_size.total()),
                    bcell,
                    rcell
                );
            }
            (Some(imp), Size::Pg(total)) => {
                s += &format!(
                    "| `resources.db_size` | database size after the import (`pg_database_size`: tables, indexes, TOAST, free space map), vs the psql baseline's database | {} (of which {} is the freshly initialised geography and targets) | {} | {} | — | — |\n",
                    mib(total),
                    mib(imp.init_size.total()),
                    bcell,
                    rcell
                );
            }
            (None, Size::File { main, wal }) => {
                s += &format!(
                    "| `resources.db_size` | the existing database on disk (main file + WAL) before the HTTP step, {} memberships | {} (main {} + WAL {}) | not measured at this size (no sqlite3 import) | — | — | — |\n",
                    thousands(self.existing.as_ref().map(|e| e.memberships).unwrap_or(0)),
                    mib(main + wal),
                    mib(main),
                    mib(wal)
                );
            }
            (None, Size::Pg(total)) => {
                s += &format!(
                    "| `resources.db_size` | the existing database's size (`pg_database_size`) before the HTTP step, {} memberships | {} | not measured at this size (no psql import) | — | — | — |\n",
                    thousands(self.existing.as_ref().map(|e| e.memberships).unwrap_or(0)),
                    mib(total)
                );
            }
        }
        if self.pg() {
            s += "\nHow: VmRSS and VmHWM read from `/proc/<pid>/status` of the `sangathan serve` subprocess (not the bench \
                 process) once when it first answers `/healthz` and again after the last load run, and its RssAnon every \
                 100 ms in between (MB = 10^6 bytes); the \
                 PostgreSQL server's own processes (its shared buffers, one backend per pooled connection) are not counted. \
                 The sizes are `SELECT pg_database_size(current_database())` of each database after the last import run, \
                 before the HTTP step (MiB = 2^20 bytes; an empty database is about 7.5 MiB); the server's WAL is shared \
                 by every database and is not counted.\n\n";
        } else {
            s += "\nHow: VmRSS and VmHWM read from `/proc/<pid>/status` of the `sangathan serve` subprocess (not the bench \
                 process) once when it first answers `/healthz` and again after the last load run, and its RssAnon every \
                 100 ms in between (MB = 10^6 bytes); the \
                 sizes are those of the files after the last import run, before the HTTP step (MiB = 2^20 bytes).\n\n";
        }
        why_lines(&mut s, &mut missed);

        // 6. Detection.
        let (full, next) = &self.detect;
        s += "### 6. Fake-member detection\n\nRatio = ours ÷ baseline (the baseline is one `GROUP BY enrolled_by` over every membership: \
              the least a whole-state rule must read).\n\n";
        s += "| row | what | ours | baseline | ratio | target | met |\n| --- | --- | ---: | ---: | ---: | --- | :-: |\n";
        let ok = full.run.seconds < 600.0;
        if !ok {
            missed.push("detect.full");
        }
        s += &format!(
            "| `detect.full` | first run over {} memberships from {} enrollers: {} flags | {} | {} | {:.1}× | minutes (< 10 min) | {} |\n",
            thousands(full.run.new_memberships),
            thousands(full.enrollers as u64),
            full.run.flags_raised,
            human_secs(full.run.seconds),
            ms(full.baseline),
            full.run.seconds / full.baseline.as_secs_f64().max(1e-6),
            mark(ok)
        );
        let ok = next.seconds < 60.0;
        if !ok {
            missed.push("detect.incremental");
        }
        s += &format!(
            "| `detect.incremental` | the next run, over the {} memberships the HTTP step enrolled (and the enrollers, ACs and booths they touch): {} flags raised, {} updated | {} | {} | {:.2}× | < 1 min | {} |\n",
            thousands(next.new_memberships),
            next.flags_raised,
            next.flags_updated,
            human_secs(next.seconds),
            ms(full.baseline),
            next.seconds / full.baseline.as_secs_f64().max(1e-6),
            mark(ok)
        );
        s += &format!(
            "\nHow: `Store::detect` with the thresholds `serve` uses (defaults unless `SANGATHAN_DETECT_*` is set), in the bench process, after dropping earlier flags; the bench process's memory afterwards: {}. Detection reads through the read pool and writes flags in short transactions (enrolment is not blocked); the HTTP step ran after the full run.\n\n",
            full.peak.map_or("not read".to_string(), |m| format!(
                "peak RSS {} (VmHWM, counting the database pages its readers touched through their memory map), own memory now {}",
                mb(m.hwm),
                m.anon.map_or("not reported by this kernel".to_string(), mb)
            ))
        );
        why_lines(&mut s, &mut missed);
        s
    }
}

/// One marked line per missed target, for the engineer to replace by hand (in the notes block).
fn why_lines(s: &mut String, missed: &mut Vec<&str>) {
    if missed.is_empty() {
        return;
    }
    for id in missed.drain(..) {
        *s += &format!("- ❌ `{id}` {WHY} {WHY_PLACEHOLDER}\n");
    }
    *s += "\n";
}

fn default_notes() -> String {
    format!(
        "{NOTES_OPEN}\n_Hand-written analysis of this size goes here; `sangathan bench` keeps this block when it rewrites the section._\n{NOTES_CLOSE}\n"
    )
}

fn header(r: &Report) -> String {
    let m = &r.machine;
    format!(
        "# Sangathan benchmarks\n\n\
         Measurements by `sangathan bench`, one section per member count and database (`## N members` on SQLite, \
         `## N members — PostgreSQL` on PostgreSQL; the same suite and the same targets): import against the `sqlite3` shell \
         (on PostgreSQL: `psql`'s `\\copy`), \
         roll-up against a naive GROUP BY, search against LIKE scans and indexed lookups, enrolment over HTTP at \
         {CLIENTS} concurrent clients against `GET /healthz`, the server's memory and the database's size, and fake-member detection against one full scan. Every \
         number has a baseline measured in the same run; each row states its target from the issue (✅ met, ❌ missed). \
         Rerunning a size replaces only that size's section of the same database; the `{NOTES_OPEN}` … `{NOTES_CLOSE}` block of a section \
         (hand-written analysis) is kept.\n\n\
         Last run: {} on commit {}, {}; machine: {} (`nproc` = {}).\n\n\
         Reproduce (SQLite; the baseline needs the `sqlite3` shell, Debian package `sqlite3`):\n\n\
         ```sh\n\
         cargo build --release --bin sangathan\n\
         target/release/sangathan bench --members 1000000 --runs 3   # rewrites the 1,000,000 section of BENCHMARKS.md\n\
         target/release/sangathan bench --members 18100000 --runs 1  # UP at full scale (disk: about 10 GB under --work)\n\
         sangathan bench --members 20000 --runs 2 --out target/BENCHMARKS.ci.md   # the quick check CI runs\n\
         # an already loaded database, measured in place (step 1 skipped; the HTTP step adds enrolments to it):\n\
         sangathan --db sqlite:///tmp/up18.db demo --members 18100000 --seed 1   # timed outside, e.g. /usr/bin/time -v\n\
         target/release/sangathan bench --existing /tmp/up18.db --members 18100000 --runs 3 --load-seconds SECS --load-command TEXT\n\
         # the load's baseline: the sqlite3 shell on a CSV of the same members, in the bench's 8 columns\n\
         sangathan --db sqlite:///tmp/up18.db export members --unit UP --format csv --out /tmp/up18.csv   # then keep its\n\
         #   name,mobile,epic,ac_no,booth_no,gender,birth_year,wing columns, in that order, e.g. with Python's csv module\n\
         target/release/sangathan bench --existing /tmp/up18.db --runs 1 --load-seconds SECS --load-command TEXT --load-baseline /tmp/up18.csv\n\
         ```\n\n\
         Reproduce (PostgreSQL; the role of the URL must be allowed to create databases: the bench creates \
         `bench_ours_N_PID` and `bench_base_N_PID` on that server and drops them when it ends; the baseline needs `psql`, \
         Debian package `postgresql-client`):\n\n\
         ```sh\n\
         target/release/sangathan bench --db postgres://USER:PASS@HOST/DB --members 1000000 --runs 1   # the 1,000,000 — PostgreSQL section\n\
         # an already loaded PostgreSQL database, measured in place:\n\
         target/release/sangathan bench --existing postgres://USER:PASS@HOST/up18 --runs 1 --load-seconds SECS --load-command TEXT\n\
         ```\n\n\
         Options: `--members N` (default 1,000,000), `--runs K` (default 5; the import runs once from 5,000,000 on), \
         `--out FILE` (default BENCHMARKS.md), `--work DIR` (default a temporary directory, removed afterwards), \
         `--label TEXT` (shown in the section), `--db postgres://…` (run the suite on that PostgreSQL server), \
         `--existing FILE|postgres://…` (measure an already loaded SQLite or PostgreSQL database in place \
         instead of generating and importing a CSV; `--members` then only names the section, default the database's \
         membership count), `--load-seconds S` and `--load-command TEXT` (with `--existing`: how long and how it was loaded, \
         measured outside the bench; the load time is checked against the < 5 min target), `--load-baseline CSV` (with \
         `--load-seconds`: the import baseline run once on a CSV of the same members in the bench's columns \
         `name,mobile,epic,ac_no,booth_no,gender,birth_year,wing`, for the load's ratio).\n\n",
        m.date,
        m.commit,
        m.build,
        m.line(),
        m.cpus
    )
}

/// A section's key: its member count and database, from its heading (`## 1,000,000 members`
/// for SQLite, `## 1,000,000 members — PostgreSQL`).
type SectionKey = (u64, Backend);

fn heading_key(line: &str) -> Option<SectionKey> {
    let rest = line.strip_prefix("## ")?;
    let (count, backend) = match rest.strip_suffix(Backend::Postgres.heading_suffix()) {
        Some(r) => (r.strip_suffix(" members")?, Backend::Postgres),
        None => (rest.strip_suffix(" members")?, Backend::Sqlite),
    };
    Some((count.replace(',', "").parse().ok()?, backend))
}

/// Merge this run's section into the file: other sizes' and databases' sections, and this
/// section's notes, are kept. Sections are ordered by size, SQLite before PostgreSQL.
fn merge(existing: &str, key: SectionKey, header: &str, tables: &str) -> String {
    let mut sections: Vec<(Option<SectionKey>, String)> = Vec::new();
    for line in existing.split_inclusive('\n') {
        if line.starts_with("## ") {
            sections.push((heading_key(line.trim_end()), String::new()));
        }
        if let Some(last) = sections.last_mut() {
            last.1.push_str(line);
        }
    }
    let notes = sections
        .iter()
        .find(|(c, _)| *c == Some(key))
        .and_then(|(_, text)| {
            let a = text.find(NOTES_OPEN)?;
            let b = text[a..].find(NOTES_CLOSE)? + a + NOTES_CLOSE.len();
            Some(format!("{}\n", &text[a..b]))
        })
        .unwrap_or_else(default_notes);
    sections.retain(|(c, _)| *c != Some(key));
    sections.push((Some(key), format!("{tables}{notes}\n")));
    sections.sort_by_key(|(c, _)| c.unwrap_or((u64::MAX, Backend::Postgres)));
    let mut out = header.to_string();
    for (_, text) in sections {
        out.push_str(text.trim_end());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn write_report(out: &Path, key: SectionKey, r: &Report) -> anyhow::Result<()> {
    let existing = std::fs::read_to_string(out).unwrap_or_default();
    let text = merge(&existing, key, &header(r), &r.section_tables());
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = out.with_extension("md.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    let x = d.as_secs_f64() * 1000.0;
    if x < 10.0 {
        format!("{x:.2} ms")
    } else if x < 1000.0 {
        format!("{x:.1} ms")
    } else {
        format!("{x:.0} ms")
    }
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "—".into();
    }
    let r = a.as_secs_f64() / b.as_secs_f64();
    if r < 0.1 {
        format!("{r:.3}×")
    } else {
        format!("{r:.2}×")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn human_secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// A `postgres://user:password@host/db` URL's password, percent-encoded as written.
fn password_of(url: &str) -> Option<String> {
    password_parts(url).map(|(_, p, _)| p.to_string())
}

/// `%XX` escapes of a URL part decoded (a password as libpq's `PGPASSWORD` wants it).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL without its password (`user@host/db`), for a command line.
fn without_password(url: &str) -> String {
    match password_parts(url) {
        Some((head, _, host)) => format!("{head}@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_split() {
        assert_eq!(split_unit("UP-AC-173-B0042").unwrap(), (173, Some(42)));
        assert_eq!(split_unit("UP-AC-7").unwrap(), (7, None));
        assert!(split_unit("UP-DIV-AGRA").is_err());
    }

    #[test]
    fn merge_keeps_other_sizes_and_notes() {
        const SQ: Backend = Backend::Sqlite;
        const PG: Backend = Backend::Postgres;
        let first = merge("", (1000, SQ), "# H1\n\n", "## 1,000 members\n\nT1\n\n");
        assert!(first.contains("## 1,000 members") && first.contains(NOTES_OPEN));
        let edited = first.replace("_Hand-written analysis of this size goes here; `sangathan bench` keeps this block when it rewrites the section._", "my notes");
        let second = merge(
            &edited,
            (18_100_000, SQ),
            "# H2\n\n",
            "## 18,100,000 members\n\nT2\n\n",
        );
        assert!(second.starts_with("# H2"));
        assert!(second.contains("T1") && second.contains("T2") && second.contains("my notes"));
        let third = merge(
            &second,
            (1000, SQ),
            "# H3\n\n",
            "## 1,000 members\n\nT3\n\n",
        );
        assert!(!third.contains("T1") && third.contains("T3") && third.contains("T2"));
        assert!(third.contains("my notes"));
        assert_eq!(third.matches("## 1,000 members").count(), 1);
        assert!(
            third.find("## 1,000 members").unwrap() < third.find("## 18,100,000 members").unwrap()
        );

        // PostgreSQL sections of the same sizes sit beside SQLite's, each with its own notes.
        let fourth = merge(
            &third,
            (1000, PG),
            "# H4\n\n",
            "## 1,000 members — PostgreSQL\n\nP1\n\n",
        );
        assert!(fourth.contains("T3") && fourth.contains("T2") && fourth.contains("P1"));
        assert_eq!(fourth.matches("my notes").count(), 1, "{fourth}");
        assert_eq!(fourth.matches(NOTES_OPEN).count(), 3, "{fourth}");
        let pg_notes = fourth.replace(
            "P1\n\n<!-- notes -->\n_Hand-written analysis of this size goes here; `sangathan bench` keeps this block when it rewrites the section._",
            "P1\n\n<!-- notes -->\npg notes",
        );
        assert!(pg_notes.contains("pg notes"), "{fourth}");
        let fifth = merge(
            &pg_notes,
            (18_100_000, PG),
            "# H5\n\n",
            "## 18,100,000 members — PostgreSQL\n\nP2\n\n",
        );
        // Rewriting the SQLite 1,000 section keeps the PostgreSQL one, and each keeps its notes.
        let sixth = merge(&fifth, (1000, SQ), "# H6\n\n", "## 1,000 members\n\nT4\n\n");
        // And rewriting the PostgreSQL 1,000 section keeps SQLite's.
        let seventh = merge(
            &sixth,
            (1000, PG),
            "# H7\n\n",
            "## 1,000 members — PostgreSQL\n\nP3\n\n",
        );
        for text in [&sixth, &seventh] {
            assert!(text.contains("T4") && text.contains("T2") && text.contains("P2"));
            assert!(!text.contains("T3"));
            assert_eq!(text.matches("my notes").count(), 1, "{text}");
            assert_eq!(text.matches("pg notes").count(), 1, "{text}");
            assert_eq!(text.matches("## 1,000 members\n").count(), 1, "{text}");
            assert_eq!(text.matches("## 1,000 members — PostgreSQL").count(), 1);
            assert_eq!(text.matches(NOTES_OPEN).count(), 4, "{text}");
        }
        assert!(sixth.contains("P1") && !seventh.contains("P1") && seventh.contains("P3"));
        // The notes stay with their own section.
        let pg1 = seventh.find("## 1,000 members — PostgreSQL").unwrap();
        let sq18 = seventh.find("## 18,100,000 members\n").unwrap();
        let sq1 = seventh.find("## 1,000 members\n").unwrap();
        let pg18 = seventh.find("## 18,100,000 members — PostgreSQL").unwrap();
        // Ordered by size, SQLite first.
        assert!(sq1 < pg1 && pg1 < sq18 && sq18 < pg18, "{seventh}");
        let mine = seventh.find("my notes").unwrap();
        let pgn = seventh.find("pg notes").unwrap();
        assert!(sq1 < mine && mine < pg1, "{seventh}");
        assert!(pg1 < pgn && pgn < sq18, "{seventh}");
    }

    #[test]
    fn passwords_stay_out_of_argv() {
        let u = "postgres://sangathan:s3%40cret@127.0.0.1:5432/bench";
        assert_eq!(password_of(u).as_deref(), Some("s3%40cret"));
        assert_eq!(without_password(u), "postgres://sangathan@127.0.0.1:5432/bench");
        assert_eq!(without_password("postgres://127.0.0.1/x"), "postgres://127.0.0.1/x");
        assert_eq!(password_of("postgres://u@h/x"), None);
        assert_eq!(percent_decoded("s3%40cret%"), "s3@cret%");
    }

    #[test]
    fn postgres_urls() {
        let u = "postgres://sangathan:sangathan@127.0.0.1:5432/sangathan";
        assert_eq!(
            with_database(u, "bench_ours_5000_1").unwrap(),
            "postgres://sangathan:sangathan@127.0.0.1:5432/bench_ours_5000_1"
        );
        assert_eq!(
            with_database("postgresql://u:p/w@h/db?sslmode=disable", "x").unwrap(),
            "postgresql://u:p/w@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h", "x").unwrap(),
            "postgres://h/x"
        );
        assert_eq!(masked(u), "postgres://sangathan:…@127.0.0.1:5432/sangathan");
        assert_eq!(masked("postgres://h/db"), "postgres://h/db");
        assert!(pg_baseline_script(Path::new("/tmp/it's.csv")).contains("'/tmp/it''s.csv'"));
        assert!(
            pg_baseline_script(Path::new("/tmp/a.csv"))
                .contains("\n\\copy staging FROM '/tmp/a.csv'")
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(18_100_000), "18,100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(
            heading_key("## 1,000,000 members"),
            Some((1_000_000, Backend::Sqlite))
        );
        assert_eq!(
            heading_key("## 18,135,000 members — PostgreSQL"),
            Some((18_135_000, Backend::Postgres))
        );
        assert_eq!(heading_key("## Notes"), None);
        let l = Lat::of(&(1..=100).map(Duration::from_millis).collect::<Vec<_>>());
        assert_eq!(
            (l.p50, l.p95, l.p99),
            (
                Duration::from_millis(50),
                Duration::from_millis(95),
                Duration::from_millis(99)
            )
        );
    }
}
