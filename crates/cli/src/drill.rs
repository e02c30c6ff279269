//! `sangathan drill NAME`: the operations drills. Each runs this binary as subprocesses
//! (`init`, `serve`, `import members`, `backup`, `restore`, `verify`) on fresh databases in a
//! work directory, does the damage it is named after, checks the result and prints it (text, or
//! one JSON line with `--json`). Exit status: 0 when the check holds, 1 when it does not, 2 when
//! the drill could not run.
//!
//! - `kill-serve`: kill -9 of the server at random moments under enrolment load, restarted on
//!   the same database: every acknowledged enrolment is there exactly once, a retry with the
//!   same Idempotency-Key answers the first answer again, `verify` and `audit verify` pass.
//! - `kill-import`: kill -9 at random moments of `import members`, then the same command again:
//!   the database equals one uninterrupted import of the same file into a fresh database.
//! - `backup`: `backup` while enrolments are written, `restore` into a new database: it
//!   verifies, holds every enrolment acknowledged before the backup started and none sent after
//!   it finished, and its counts are the backup file's.
//! - `soak`: a steady load for minutes: the server's memory stays flat and nothing errs.
//! - `compare`: two databases' memberships (counts and a content digest), as `kill-import`
//!   compares them.

use crate::bench::{Bench, ProcMem, loadavg};
use anyhow::{Context, anyhow, bail};
use sangathan_core::rng::SplitMix64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone)]
pub struct Common {
    /// Where the databases, CSV and server log go (default: a temporary directory, removed
    /// afterwards unless the drill fails).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The preset of the fresh databases: `up`, or a directory of preset files.
    #[arg(long, default_value = "up")]
    preset: String,
    /// Seed of the random kill moments (default: from the clock; printed, to repeat a run).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
pub enum DrillCmd {
    /// kill -9 of `serve` at random moments under enrolment load, restarted on the same
    /// database: every acknowledged enrolment is there exactly once, counters exact.
    /// `--db postgres://…` (an empty database) drills PostgreSQL instead of a fresh SQLite file.
    KillServe {
        #[command(flatten)]
        common: Common,
        /// How long the load runs.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// How many times the server is killed (at random moments, one in each equal slice).
        #[arg(long, default_value_t = 5)]
        kills: u32,
        /// Enrolments per second asked of the server.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Concurrent clients (each retries its request with the same key until answered).
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// kill -9 of `import members` at random moments, then the same command again: the result
    /// equals one uninterrupted import of the same CSV into a fresh database (SQLite).
    KillImport {
        #[command(flatten)]
        common: Common,
        /// Rows of the CSV (the demo generator's members).
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        #[arg(long, default_value_t = 50)]
        kills: u32,
        /// cumulative: every kill interrupts the same import, resumed each time, then finished;
        /// fresh: each kill interrupts a new import into a new database, then it is finished and
        /// compared.
        #[arg(long, value_enum, default_value_t = ImportMode::Cumulative)]
        mode: ImportMode,
    },
    /// `backup` while enrolments are written, then `restore` into a new database (SQLite).
    Backup {
        #[command(flatten)]
        common: Common,
        /// Enrolments per second written meanwhile.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// How long the load runs; the backup starts a third of the way in.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        #[arg(long, default_value_t = 16)]
        clients: usize,
    },
    /// A steady load (enrolments, and every fifth request a progress read) for minutes: the
    /// server's memory stays flat (last quarter's median RSS within 10 % or 20 MiB of the second
    /// quarter's) and no request errs.
    Soak {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        /// Requests per second.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds between two samples of the server's RSS.
        #[arg(long, default_value_t = 5.0)]
        sample_secs: f64,
    },
    /// Compare two databases' memberships: people, memberships, import errors and a digest of
    /// every membership's content (name, mobile, EPIC, gender, birth year, unit, wing, number,
    /// status, channel). Exit 1 when they differ.
    Compare {
        /// A database URL (sqlite://FILE, postgres://…) or a SQLite file.
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ImportMode {
    Cumulative,
    Fresh,
}

impl ImportMode {
    fn as_str(self) -> &'static str {
        match self {
            ImportMode::Cumulative => "cumulative",
            ImportMode::Fresh => "fresh",
        }
    }
}

fn is_pg(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

/// What a drill found: its fields, and what went wrong (nothing: it passed).
struct Outcome {
    name: &'static str,
    fields: serde_json::Map<String, Value>,
    lines: Vec<String>,
    problems: Vec<String>,
}

impl Outcome {
    fn new(name: &'static str) -> Outcome {
        Outcome {
            name,
            fields: serde_json::Map::new(),
            lines: Vec::new(),
            problems: Vec::new(),
        }
    }
    fn set(&mut self, k: &str, v: impl Into<Value>) {
        self.fields.insert(k.to_string(), v.into());
    }
    fn line(&mut self, s: String) {
        self.lines.push(s);
    }
    fn problem(&mut self, s: String) {
        self.problems.push(s);
    }
}

pub async fn run(db: &str, cmd: DrillCmd) -> anyhow::Result<ExitCode> {
    let (common, name) = match &cmd {
        DrillCmd::Compare { a, b, json } => return compare_cmd(a, b, *json).await,
        DrillCmd::KillServe { common, .. } => (common.clone(), "kill-serve"),
        DrillCmd::KillImport { common, .. } => (common.clone(), "kill-import"),
        DrillCmd::Backup { common, .. } => (common.clone(), "backup"),
        DrillCmd::Soak { common, .. } => (common.clone(), "soak"),
    };
    let pg = is_pg(db).then(|| db.to_string());
    match (&cmd, &pg) {
        (DrillCmd::KillImport { .. } | DrillCmd::Backup { .. }, Some(_)) => bail!(
            "drill {name} works on SQLite databases it creates under --work: drop --db / SANGATHAN_DB \
             (kill-serve and soak take --db postgres://…)"
        ),
        (_, None) if db != sangathan_store::DEFAULT_DB => eprintln!(
            "note: drill {name} ignores --db {db} and creates its own SQLite databases under the work directory"
        ),
        _ => {}
    }
    let seed = common.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1
    });
    let exe = std::env::current_exe().context("cannot find this executable")?;
    let (work, temporary) = match &common.work {
        Some(w) => (w.clone(), false),
        None => (
            std::env::temp_dir().join(format!("sangathan-drill-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&work)
        .with_context(|| format!("cannot create the work directory {}", work.display()))?;
    let work = work.canonicalize()?;
    let ctx = Ctx {
        exe,
        work: work.clone(),
        preset: common.preset.clone(),
        rng: Mutex::new(SplitMix64::new(seed)),
        t0: Instant::now(),
        pg,
    };
    let load_start = loadavg();
    ctx.say(&format!(
        "drill {name}, seed {seed}, work directory {}{}",
        work.display(),
        if cfg!(debug_assertions) {
            " (DEBUG build)"
        } else {
            ""
        }
    ));
    let result = match cmd {
        DrillCmd::KillServe {
            seconds,
            kills,
            rate,
            clients,
            ..
        } => kill_serve(&ctx, seconds, kills, rate, clients).await,
        DrillCmd::KillImport {
            rows, kills, mode, ..
        } => kill_import(&ctx, rows, kills, mode).await,
        DrillCmd::Backup {
            rate,
            seconds,
            clients,
            ..
        } => backup(&ctx, rate, seconds, clients).await,
        DrillCmd::Soak {
            minutes,
            rate,
            clients,
            sample_secs,
            ..
        } => soak(&ctx, minutes, rate, clients, sample_secs).await,
        DrillCmd::Compare { .. } => unreachable!("handled above"),
    };
    let mut o = match result {
        Ok(o) => o,
        Err(e) => {
            if temporary {
                eprintln!("the work directory is kept for a look: {}", work.display());
            }
            return Err(e);
        }
    };
    let ok = o.problems.is_empty();
    if temporary {
        if ok {
            let _ = std::fs::remove_dir_all(&work);
        } else {
            eprintln!("the work directory is kept for a look: {}", work.display());
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("drill".into(), o.name.into());
    out.insert("ok".into(), ok.into());
    out.insert("problems".into(), json!(o.problems));
    out.insert("seed".into(), seed.into());
    out.insert(
        "build".into(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
    );
    out.insert(
        "backend".into(),
        if ctx.pg.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
        .into(),
    );
    out.insert("cpus".into(), cpus().into());
    out.insert("loadavg_start".into(), load_start.into());
    out.insert("loadavg_end".into(), loadavg().into());
    out.insert(
        "elapsed_s".into(),
        json!(round1(ctx.t0.elapsed().as_secs_f64())),
    );
    out.append(&mut o.fields);
    if common.json {
        println!("{}", Value::Object(out));
    } else {
        println!(
            "drill {} ({}, seed {seed}, {} CPUs, load {} → {}, {:.0} s)",
            o.name,
            out["build"].as_str().unwrap_or(""),
            out["cpus"],
            out["loadavg_start"].as_str().unwrap_or(""),
            out["loadavg_end"].as_str().unwrap_or(""),
            ctx.t0.elapsed().as_secs_f64()
        );
        for l in &o.lines {
            println!("  {l}");
        }
        if ok {
            println!("PASS");
        } else {
            for p in &o.problems {
                println!("FAIL: {p}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

// ---------------------------------------------------------------------------------------------
// Subprocesses.

struct Ctx {
    exe: PathBuf,
    work: PathBuf,
    preset: String,
    rng: Mutex<SplitMix64>,
    t0: Instant,
    /// `--db postgres://…`: the server drills run there.
    pg: Option<String>,
}

impl Ctx {
    fn say(&self, msg: &str) {
        crate::bench::progress_line("drill", self.t0, msg);
    }

    /// Uniform in [0, 1).
    fn random(&self) -> f64 {
        self.rng.lock().expect("rng").unit()
    }

    fn command(&self, db: &str) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.exe);
        // The URL (and a PostgreSQL password in it) through the environment, never in argv.
        c.env("SANGATHAN_DB", db)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// `sangathan --db DB ARGS…`: (exit success, stdout, stderr).
    async fn run(&self, db: &str, args: &[&str]) -> anyhow::Result<(bool, String, String)> {
        let out = self
            .command(db)
            .args(args)
            .output()
            .await
            .with_context(|| format!("cannot run sangathan {}", args.join(" ")))?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    async fn run_ok(&self, db: &str, args: &[&str]) -> anyhow::Result<String> {
        let (ok, out, err) = self.run(db, args).await?;
        if !ok {
            bail!("sangathan {} failed: {}", args.join(" "), err.trim());
        }
        Ok(out)
    }

    /// A fresh database (a new SQLite file, or the empty PostgreSQL database of --db) with the
    /// preset loaded; its admin token.
    async fn init(&self, db: &str) -> anyhow::Result<String> {
        if !is_pg(db) {
            remove_sqlite(&PathBuf::from(db.trim_start_matches("sqlite://")));
        } else {
            let s = sangathan_store::open(db).await?;
            if s.is_initialised().await? {
                bail!("the drill needs an empty PostgreSQL database: this one is initialised");
            }
        }
        let out = self.run_ok(db, &["init", "--preset", &self.preset]).await?;
        out.lines()
            .last()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .ok_or_else(|| anyhow!("sangathan init printed no token"))
    }

    /// `verify` (counters) and `audit verify` (the hash chain): (counters ok, chain ok, what
    /// they said when not).
    async fn verify(&self, db: &str) -> anyhow::Result<(bool, bool, String)> {
        let (v, vo, ve) = self.run(db, &["verify"]).await?;
        let (a, ao, ae) = self.run(db, &["audit", "verify"]).await?;
        let mut why = String::new();
        if !v {
            why.push_str(&format!("verify: {} {}", vo.trim(), ve.trim()));
        }
        if !a {
            why.push_str(&format!(" audit verify: {} {}", ao.trim(), ae.trim()));
        }
        Ok((v, a, why.trim().to_string()))
    }
}

fn remove_sqlite(p: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut s = p.as_os_str().to_owned();
        s.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(s));
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// `sangathan serve` on a fixed port of 127.0.0.1, its log appended to `serve.log`.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

impl Server {
    async fn start(
        ctx: &Ctx,
        db: &str,
        port: u16,
        client: &reqwest::Client,
    ) -> anyhow::Result<Server> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ctx.work.join("serve.log"))?;
        let child = ctx
            .command(db)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("cannot start sangathan serve")?;
        let pid = child
            .id()
            .ok_or_else(|| anyhow!("the server exited at once"))?;
        let mut s = Server {
            child,
            pid,
            base: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", s.base)).send().await
                && r.status().is_success()
            {
                return Ok(s);
            }
            if let Some(st) = s.child.try_wait()? {
                bail!(
                    "sangathan serve exited ({st}); see {}",
                    ctx.work.join("serve.log").display()
                );
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("sangathan serve did not answer /healthz within 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// kill -9.
    async fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGTERM: the server finishes what is in flight and stops (kill -9 after 30 s).
    async fn stop(&mut self) -> anyhow::Result<bool> {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(st) => Ok(st?.success()),
            Err(_) => {
                self.kill9().await?;
                Ok(false)
            }
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn http_client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(30))
        .build()?)
}

// ---------------------------------------------------------------------------------------------
// Databases: read straight with SQL, the same queries on SQLite and PostgreSQL.

enum Conn {
    Lite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Conn {
    /// A database URL, or a SQLite file's path.
    async fn open(db: &str, read_only: bool) -> anyhow::Result<Conn> {
        if is_pg(db) {
            let p = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(db)
                .await
                .context("cannot connect to the PostgreSQL database")?;
            return Ok(Conn::Pg(p));
        }
        let url = if db.starts_with("sqlite:") {
            db.to_string()
        } else {
            sqlite_url(Path::new(db))
        };
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
            .read_only(read_only)
            .create_if_missing(false);
        let p = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .with_context(|| format!("cannot open {db}"))?;
        Ok(Conn::Lite(p))
    }

    async fn count(&self, sql: &'static str) -> anyhow::Result<i64> {
        Ok(match self {
            Conn::Lite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
            Conn::Pg(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        })
    }

    /// Every column must be text (NULL reads as "").
    async fn texts(&self, sql: &'static str) -> anyhow::Result<Vec<Vec<String>>> {
        fn cells<R: Row>(r: &R) -> anyhow::Result<Vec<String>>
        where
            usize: sqlx::ColumnIndex<R>,
            for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
        {
            (0..r.len())
                .map(|i| Ok(r.try_get::<Option<String>, _>(i)?.unwrap_or_default()))
                .collect()
        }
        match self {
            Conn::Lite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(cells)
                .collect(),
            Conn::Pg(p) => sqlx::query(sql)
                .fetch_all(p)
                .await?
                .iter()
                .map(cells)
                .collect(),
        }
    }

    async fn close(self) {
        match self {
            Conn::Lite(p) => p.close().await,
            Conn::Pg(p) => p.close().await,
        }
    }
}

/// What `kill-import` and `compare` compare: the counts, and a SHA-256 over every membership's
/// content (sorted, so the order rows were written in does not matter) and every import error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub people: i64,
    pub memberships: i64,
    pub import_errors: i64,
    pub digest: String,
}

const MEMBERSHIP_CONTENT: &str = "SELECT p.name, COALESCE(p.mobile, ''), COALESCE(p.epic, ''), \
     COALESCE(p.gender, ''), COALESCE(CAST(p.birth_year AS TEXT), ''), u.code, w.code, m.number, \
     m.status, m.channel \
     FROM memberships m JOIN people p ON p.id = m.person_id JOIN units u ON u.id = m.unit_id \
     JOIN wings w ON w.id = m.wing_id";

const IMPORT_ERRORS: &str = "SELECT CAST(line AS TEXT), col, value, reason_en FROM import_errors";

async fn snapshot(db: &str) -> anyhow::Result<Snapshot> {
    let c = Conn::open(db, true).await?;
    let people = c.count("SELECT COUNT(*) FROM people").await?;
    let memberships = c.count("SELECT COUNT(*) FROM memberships").await?;
    let mut rows = c.texts(MEMBERSHIP_CONTENT).await?;
    let mut errors = c.texts(IMPORT_ERRORS).await?;
    c.close().await;
    rows.sort_unstable();
    errors.sort_unstable();
    let mut h = Sha256::new();
    for r in &rows {
        for cell in r {
            h.update(cell.as_bytes());
            h.update([0x1f]);
        }
        h.update([0x1e]);
    }
    h.update(b"import errors\x1d");
    for r in &errors {
        for cell in r {
            h.update(cell.as_bytes());
            h.update([0x1f]);
        }
        h.update([0x1e]);
    }
    Ok(Snapshot {
        people,
        memberships,
        import_errors: errors.len() as i64,
        digest: hex::encode(h.finalize()),
    })
}

/// How `b` differs from `a` (nothing: they are the same).
fn differences(a: &Snapshot, b: &Snapshot) -> Vec<String> {
    let mut d = Vec::new();
    for (what, x, y) in [
        ("people", a.people, b.people),
        ("memberships", a.memberships, b.memberships),
        ("import errors", a.import_errors, b.import_errors),
    ] {
        if x != y {
            d.push(format!("{what}: {x} against {y}"));
        }
    }
    if a.digest != b.digest {
        d.push(format!(
            "the memberships' content differs (digest {} against {})",
            &a.digest[..16],
            &b.digest[..16]
        ));
    }
    d
}

async fn compare_cmd(a: &str, b: &str, json_out: bool) -> anyhow::Result<ExitCode> {
    let sa = snapshot(a)
        .await
        .with_context(|| format!("cannot read {a}"))?;
    let sb = snapshot(b)
        .await
        .with_context(|| format!("cannot read {b}"))?;
    let d = differences(&sa, &sb);
    if json_out {
        println!(
            "{}",
            json!({"drill": "compare", "ok": d.is_empty(), "problems": d, "a": sa, "b": sb})
        );
    } else {
        for (n, s) in [(a, &sa), (b, &sb)] {
            println!(
                "{n}: {} people, {} memberships, {} import errors, digest {}",
                s.people, s.memberships, s.import_errors, s.digest
            );
        }
        if d.is_empty() {
            println!("PASS: the same memberships");
        } else {
            for x in &d {
                println!("FAIL: {x}");
            }
        }
    }
    Ok(if d.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A membership as the enrolment checks see it.
#[derive(Debug, Clone)]
struct Held {
    epic: String,
    mobile: String,
    wing: String,
    number: String,
}

async fn held(db: &str, read_only: bool) -> anyhow::Result<Vec<Held>> {
    let c = Conn::open(db, read_only).await?;
    let rows = c
        .texts(
            "SELECT COALESCE(p.epic, ''), COALESCE(p.mobile, ''), w.code, m.number \
             FROM memberships m JOIN people p ON p.id = m.person_id JOIN wings w ON w.id = m.wing_id",
        )
        .await?;
    c.close().await;
    Ok(rows
        .into_iter()
        .map(|r| Held {
            epic: r[0].clone(),
            mobile: r[1].clone(),
            wing: r[2].clone(),
            number: r[3].clone(),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The load: new people enrolled over HTTP at a steady rate, each request retried with its key
// until it is answered.

/// One enrolment the drill sends: a new person (mobile 7000000000 + i, EPIC DRL + i).
#[derive(Clone, Debug)]
struct Sent {
    i: u64,
    epic: String,
    /// As stored: +91 and the ten digits.
    mobile: String,
    wing: String,
    key: String,
    body: Arc<Vec<u8>>,
}

impl Sent {
    /// What the drill's enrolment `i` is.
    fn expect(i: u64, wing: &str) -> Sent {
        Sent {
            i,
            epic: format!("DRL{i:07}"),
            mobile: format!("+91{}", 7_000_000_000 + i),
            wing: wing.to_string(),
            key: String::new(),
            body: Arc::new(Vec::new()),
        }
    }
}

/// The drill's enrolment number `i`: from the EPIC it carries.
fn drill_index(epic: &str) -> Option<u64> {
    epic.strip_prefix("DRL").and_then(|d| d.parse().ok())
}

struct Members {
    g: crate::demo::Generator,
    next: u64,
    run: String,
}

impl Members {
    fn next(&mut self) -> Sent {
        let i = self.next;
        self.next += 1;
        let m = self.g.member(i);
        let mut s = Sent::expect(i, &m.wing);
        let body = json!({
            "name": m.name.as_str(),
            "mobile": &s.mobile[3..],
            "epic": s.epic,
            "gender": m.gender.map(|x| x.code()),
            "birth_year": m.birth_year,
            "unit": m.unit,
            "wing": m.wing,
        });
        s.key = format!("drill-{}-{i}", self.run);
        s.body = Arc::new(serde_json::to_vec(&body).expect("serialises"));
        s
    }
}

/// An enrolment answered 201 or 200.
#[derive(Clone, Debug)]
struct Answer {
    sent: Sent,
    status: u16,
    /// The answer replayed an earlier one (its first answer was lost, e.g. to a kill).
    replayed: bool,
    number: String,
    first_sent: Instant,
    acked: Instant,
    attempts: u32,
}

#[derive(Default)]
struct Tally {
    answers: Vec<Answer>,
    /// Given up on (unanswered when the drain ended).
    unresolved: Vec<Sent>,
    /// Answers that are neither success nor worth a retry (4xx): the drill fails on them.
    failures: Vec<String>,
    /// Connection errors and 5xx answers, each retried.
    transport_errors: u64,
    server_errors: u64,
    reads_ok: u64,
    reads_failed: u64,
    latencies: Vec<Duration>,
}

impl Tally {
    fn latency(&self, q: f64) -> Duration {
        let mut v = self.latencies.clone();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v.sort_unstable();
        v[((v.len() - 1) as f64 * q).round() as usize]
    }
}

struct LoadCfg {
    base: Arc<Mutex<String>>,
    token: String,
    rate: f64,
    clients: usize,
    /// Every this-many-th request is a progress read of the state (0: none).
    read_every: u64,
    state: String,
}

struct Load {
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    give_up: Arc<Mutex<Option<Instant>>>,
    ticker: tokio::task::JoinHandle<()>,
    workers: tokio::task::JoinSet<()>,
    started: Instant,
    members: Arc<Mutex<Members>>,
}

impl Load {
    fn start(cfg: LoadCfg, booths: Vec<(String, Vec<String>)>, seed: u64) -> anyhow::Result<Load> {
        if !(cfg.rate.is_finite() && cfg.rate > 0.0) {
            bail!("--rate must be a positive number of requests per second");
        }
        let now = sangathan_store::clock::now();
        let members = Arc::new(Mutex::new(Members {
            g: crate::demo::Generator::new(seed, booths, now, now),
            next: 0,
            run: format!("{}-{seed}", std::process::id()),
        }));
        let client = http_client(cfg.clients)?;
        let cfg = Arc::new(cfg);
        let tally = Arc::new(Mutex::new(Tally::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let give_up: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(cfg.clients.max(1));
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let ticker = {
            let (stop, period) = (stop.clone(), Duration::from_secs_f64(1.0 / cfg.rate));
            tokio::spawn(async move {
                let mut iv = tokio::time::interval(period);
                iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut t = 0u64;
                loop {
                    iv.tick().await;
                    if stop.load(Ordering::SeqCst) || tx.send(t).await.is_err() {
                        break;
                    }
                    t += 1;
                }
            })
        };
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..cfg.clients.max(1) {
            let (client, cfg, rx, tally, stop, give_up, members) = (
                client.clone(),
                cfg.clone(),
                rx.clone(),
                tally.clone(),
                stop.clone(),
                give_up.clone(),
                members.clone(),
            );
            workers.spawn(async move {
                loop {
                    let ticket = rx.lock().await.recv().await;
                    let Some(t) = ticket else { break };
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if cfg.read_every > 0 && t % cfg.read_every == cfg.read_every - 1 {
                        let base = cfg.base.lock().expect("base").clone();
                        let r = client
                            .get(format!("{base}/api/v1/units/{}/progress", cfg.state))
                            .bearer_auth(&cfg.token)
                            .send()
                            .await;
                        let good = match r {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        let mut tl = tally.lock().expect("tally");
                        if good {
                            tl.reads_ok += 1;
                        } else {
                            tl.reads_failed += 1;
                        }
                        continue;
                    }
                    let sent = members.lock().expect("members").next();
                    enrol_until_answered(&client, &cfg, sent, &tally, &give_up).await;
                }
            });
        }
        Ok(Load {
            tally,
            stop,
            give_up,
            ticker,
            workers,
            started: Instant::now(),
            members,
        })
    }

    fn acked(&self) -> usize {
        self.tally.lock().expect("tally").answers.len()
    }

    /// Stop sending new requests; the ones in flight are retried for up to `drain` more.
    async fn finish(mut self, drain: Duration) -> (Tally, u64, f64) {
        self.stop.store(true, Ordering::SeqCst);
        *self.give_up.lock().expect("give up") = Some(Instant::now() + drain);
        let secs = self.started.elapsed().as_secs_f64();
        self.ticker.abort();
        while self.workers.join_next().await.is_some() {}
        let sent = self.members.lock().expect("members").next;
        let tally = std::mem::take(&mut *self.tally.lock().expect("tally"));
        (tally, sent, secs)
    }
}

/// POST one enrolment until it is answered: connection errors and 5xx are retried with the same
/// Idempotency-Key (backing off up to 1 s) until answered or the drain ends.
async fn enrol_until_answered(
    client: &reqwest::Client,
    cfg: &LoadCfg,
    sent: Sent,
    tally: &Mutex<Tally>,
    give_up: &Mutex<Option<Instant>>,
) {
    let first = Instant::now();
    let mut backoff = Duration::from_millis(50);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let base = cfg.base.lock().expect("base").clone();
        let t = Instant::now();
        let r = client
            .post(format!("{base}/api/v1/members"))
            .bearer_auth(&cfg.token)
            .header("idempotency-key", &sent.key)
            .header("content-type", "application/json")
            .body(sent.body.as_ref().clone())
            .send()
            .await;
        let retry = match r {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let replayed = resp.headers().contains_key("idempotent-replayed");
                match resp.bytes().await {
                    Ok(b) if status == 200 || status == 201 => {
                        let number = serde_json::from_slice::<Value>(&b)
                            .ok()
                            .and_then(|v| v["membership_number"].as_str().map(str::to_string))
                            .unwrap_or_default();
                        let mut tl = tally.lock().expect("tally");
                        tl.latencies.push(t.elapsed());
                        tl.answers.push(Answer {
                            sent,
                            status,
                            replayed,
                            number,
                            first_sent: first,
                            acked: Instant::now(),
                            attempts,
                        });
                        return;
                    }
                    Ok(_) if status >= 500 => {
                        tally.lock().expect("tally").server_errors += 1;
                        true
                    }
                    Ok(b) => {
                        tally.lock().expect("tally").failures.push(format!(
                            "enrolment {} ({}): HTTP {status}: {}",
                            sent.i,
                            sent.key,
                            String::from_utf8_lossy(&b[..b.len().min(300)])
                        ));
                        return;
                    }
                    Err(_) => {
                        tally.lock().expect("tally").transport_errors += 1;
                        true
                    }
                }
            }
            Err(_) => {
                tally.lock().expect("tally").transport_errors += 1;
                true
            }
        };
        debug_assert!(retry);
        if give_up
            .lock()
            .expect("give up")
            .is_some_and(|g| Instant::now() >= g)
        {
            tally.lock().expect("tally").unresolved.push(sent);
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// What `check_enrolments` found.
#[derive(Debug, Default, PartialEq, Eq)]
struct EnrolCheck {
    problems: Vec<String>,
    /// Acknowledged, and held exactly once with the answered number.
    confirmed: usize,
    /// Held, sent, never acknowledged (committed when the answer was lost and never retried
    /// to an answer): allowed.
    committed_unacknowledged: usize,
}

/// Every acknowledged enrolment is held exactly once (its wing, mobile and the number its
/// answer gave); nothing is held that the drill did not send (`sent`: the drill's enrolments
/// 0..sent); a person of the drill is held once per wing at most.
fn check_enrolments(acked: &[Answer], sent: u64, held: &[Held]) -> EnrolCheck {
    let mut by_epic: HashMap<&str, Vec<&Held>> = HashMap::new();
    for h in held {
        by_epic.entry(h.epic.as_str()).or_default().push(h);
    }
    let mut c = EnrolCheck::default();
    let mut problems = Vec::new();
    let mut acked_epics = HashSet::new();
    for a in acked {
        acked_epics.insert(a.sent.epic.as_str());
        match by_epic.get(a.sent.epic.as_str()).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "acknowledged enrolment {} (EPIC {}, HTTP {}) is missing",
                a.sent.i, a.sent.epic, a.status
            )),
            Some([h]) => {
                if h.wing != a.sent.wing || h.mobile != a.sent.mobile {
                    problems.push(format!(
                        "enrolment {} is held as {} / {} instead of {} / {}",
                        a.sent.i, h.mobile, h.wing, a.sent.mobile, a.sent.wing
                    ));
                } else if a.number.is_empty() {
                    problems.push(format!(
                        "enrolment {} was acknowledged (HTTP {}) without a membership number",
                        a.sent.i, a.status
                    ));
                } else if h.number != a.number {
                    problems.push(format!(
                        "enrolment {} was answered with number {} but is held as {}",
                        a.sent.i, a.number, h.number
                    ));
                } else {
                    c.confirmed += 1;
                }
            }
            Some(many) => problems.push(format!(
                "acknowledged enrolment {} (EPIC {}) is held {} times",
                a.sent.i,
                a.sent.epic,
                many.len()
            )),
        }
    }
    for (epic, hs) in &by_epic {
        match drill_index(epic) {
            Some(i) if i < sent => {
                if !acked_epics.contains(epic) {
                    if hs.len() == 1 {
                        c.committed_unacknowledged += 1;
                    } else {
                        problems.push(format!(
                            "unacknowledged enrolment {i} (EPIC {epic}) is held {} times",
                            hs.len()
                        ));
                    }
                }
            }
            _ => problems.push(format!(
                "a membership the drill never sent is held (EPIC {epic:?}, {} row(s))",
                hs.len()
            )),
        }
    }
    problems.sort();
    if problems.len() > 20 {
        let more = problems.len() - 20;
        problems.truncate(20);
        problems.push(format!("… and {more} more"));
    }
    c.problems = problems;
    c
}

/// Send `n` acknowledged enrolments again with their keys: each must answer 2xx with the
/// Idempotent-Replayed header and the number of its first answer. (checked, problems)
async fn replay(
    base: &str,
    token: &str,
    answers: &[Answer],
    n: usize,
) -> anyhow::Result<(usize, Vec<String>)> {
    let client = http_client(4)?;
    let step = (answers.len() / n.max(1)).max(1);
    let mut problems = Vec::new();
    let mut checked = 0;
    for a in answers.iter().step_by(step).take(n) {
        let r = client
            .post(format!("{base}/api/v1/members"))
            .bearer_auth(token)
            .header("idempotency-key", &a.sent.key)
            .header("content-type", "application/json")
            .body(a.sent.body.as_ref().clone())
            .send()
            .await?;
        let status = r.status().as_u16();
        let replayed = r.headers().contains_key("idempotent-replayed");
        let v: Value = r.json().await.unwrap_or(Value::Null);
        let number = v["membership_number"].as_str().unwrap_or_default();
        checked += 1;
        if !(status == 200 || status == 201) || !replayed || number != a.number {
            problems.push(format!(
                "the retry of enrolment {} answered HTTP {status}, replayed {replayed}, number {number:?} (first answer: {})",
                a.sent.i, a.number
            ));
        }
    }
    Ok((checked, problems))
}

/// The preset's state code and booths (for the member generator), read once.
async fn geography(db: &str) -> anyhow::Result<(String, Vec<(String, Vec<String>)>)> {
    let s = sangathan_store::open(db).await?;
    let state = s.state_code().await?;
    let booths = s.booth_codes().await?;
    // The store is kept open for the drill's life: closing sqlx pools while others run can
    // leave a maintenance task spinning (see main's exit).
    std::mem::forget(s);
    Ok((state, booths))
}

fn load_fields(o: &mut Outcome, t: &Tally, sent: u64, secs: f64) {
    let created = t.answers.iter().filter(|a| a.status == 201).count();
    o.set("sent", sent);
    o.set("acknowledged", t.answers.len());
    o.set("created_201", created);
    o.set("existing_200", t.answers.len() - created);
    o.set(
        "retried",
        t.answers.iter().filter(|a| a.attempts > 1).count(),
    );
    o.set(
        "replayed_after_lost_answer",
        t.answers.iter().filter(|a| a.replayed).count(),
    );
    o.set("transport_errors", t.transport_errors);
    o.set("server_errors", t.server_errors);
    o.set("failures", t.failures.len());
    o.set("unresolved", t.unresolved.len());
    o.set("load_s", round1(secs));
    o.set(
        "acknowledged_per_s",
        round1(t.answers.len() as f64 / secs.max(1e-9)),
    );
    o.set("p50_ms", ms(t.latency(0.5)));
    o.set("p99_ms", ms(t.latency(0.99)));
    o.line(format!(
        "load: {} enrolments sent in {:.0} s, {} acknowledged ({:.1}/s; {} new, {} existing), \
         {} retried, {} answered by a replay after a lost answer; {} connection errors, {} 5xx, \
         {} failures, {} unresolved; p50 {:.1} ms, p99 {:.1} ms",
        sent,
        secs,
        t.answers.len(),
        t.answers.len() as f64 / secs.max(1e-9),
        created,
        t.answers.len() - created,
        t.answers.iter().filter(|a| a.attempts > 1).count(),
        t.answers.iter().filter(|a| a.replayed).count(),
        t.transport_errors,
        t.server_errors,
        t.failures.len(),
        t.unresolved.len(),
        ms(t.latency(0.5)),
        ms(t.latency(0.99)),
    ));
    for f in t.failures.iter().take(5) {
        o.problem(f.clone());
    }
    if t.failures.len() > 5 {
        o.problem(format!(
            "… and {} more failed requests",
            t.failures.len() - 5
        ));
    }
    if !t.unresolved.is_empty() {
        o.problem(format!(
            "{} enrolments were still unanswered when the drain ended",
            t.unresolved.len()
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// kill-serve

async fn kill_serve(
    ctx: &Ctx,
    seconds: u64,
    kills: u32,
    rate: f64,
    clients: usize,
) -> anyhow::Result<Outcome> {
    if seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    let mut o = Outcome::new("kill-serve");
    let db = match &ctx.pg {
        Some(u) => u.clone(),
        None => sqlite_url(&ctx.work.join("live.db")),
    };
    let token = ctx.init(&db).await?;
    let (state, booths) = geography(&db).await?;
    let port = free_port()?;
    let client = http_client(4)?;
    let mut server = Server::start(ctx, &db, port, &client).await?;
    ctx.say(&format!(
        "serving on 127.0.0.1:{port}; {rate}/s enrolments from {clients} clients for {seconds} s, {kills} kill(s)"
    ));
    let base = Arc::new(Mutex::new(server.base.clone()));
    let seed = ctx.rng.lock().expect("rng").next_u64();
    let load = Load::start(
        LoadCfg {
            base: base.clone(),
            token: token.clone(),
            rate,
            clients,
            read_every: 0,
            state,
        },
        booths,
        seed,
    )?;
    let window = seconds as f64 / kills.max(1) as f64;
    let mut kill_log = Vec::new();
    let mut downtimes = Vec::new();
    for k in 0..kills {
        let at = window * k as f64 + window * (0.1 + 0.8 * ctx.random());
        tokio::time::sleep_until((load.started + Duration::from_secs_f64(at)).into()).await;
        let acked = load.acked();
        let t = Instant::now();
        server.kill9().await?;
        server = Server::start(ctx, &db, port, &client).await?;
        let down = t.elapsed();
        downtimes.push(ms(down));
        ctx.say(&format!(
            "kill {}/{kills} at {:.1} s ({acked} acknowledged so far); answering again after {:.0} ms",
            k + 1,
            at,
            ms(down)
        ));
        kill_log
            .push(json!({"at_s": round1(at), "acknowledged_before": acked, "down_ms": ms(down)}));
    }
    tokio::time::sleep_until((load.started + Duration::from_secs(seconds)).into()).await;
    let (tally, sent, secs) = load.finish(Duration::from_secs(120)).await;
    load_fields(&mut o, &tally, sent, secs);
    // Retries of acknowledged enrolments with their keys, on the restarted server.
    let (checked, replay_problems) = replay(&server.base, &token, &tally.answers, 200).await?;
    o.set("replays_checked", checked);
    o.line(format!(
        "retried {checked} acknowledged enrolments again with their keys: {} answered other than the first answer",
        replay_problems.len()
    ));
    for p in replay_problems.into_iter().take(5) {
        o.problem(p);
    }
    let clean = server.stop().await?;
    if !clean {
        o.problem("the server did not stop cleanly on SIGTERM".into());
    }
    let held = held(&db, false).await?;
    let c = check_enrolments(&tally.answers, sent, &held);
    o.set("kills", kills);
    o.set("kill_log", Value::Array(kill_log));
    let mut sorted = downtimes.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    o.set(
        "down_ms_median",
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
    );
    o.set("down_ms_max", sorted.last().copied().unwrap_or(0.0));
    o.set("memberships", held.len());
    o.set("confirmed_exactly_once", c.confirmed);
    o.set("committed_unacknowledged", c.committed_unacknowledged);
    let (v, a, why) = ctx.verify(&db).await?;
    o.set("verify_ok", v);
    o.set("audit_chain_ok", a);
    o.line(format!(
        "{kills} kill -9 of the server, back answering after {:.0} ms median ({:.0} ms at most)",
        sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
        sorted.last().copied().unwrap_or(0.0)
    ));
    o.line(format!(
        "database: {} memberships; {} of {} acknowledged enrolments held exactly once with their numbers; \
         {} committed but never acknowledged; verify {}, audit chain {}",
        held.len(),
        c.confirmed,
        tally.answers.len(),
        c.committed_unacknowledged,
        if v { "ok" } else { "FAILED" },
        if a { "ok" } else { "FAILED" }
    ));
    o.problems.extend(c.problems);
    if !v || !a {
        o.problem(format!("the database does not verify: {why}"));
    }
    if tally.answers.is_empty() {
        o.problem("no enrolment was acknowledged: the drill checked nothing".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// kill-import

#[derive(Default, serde::Serialize)]
struct ImportKill {
    delay_ms: f64,
    rows_done_before: i64,
    rows_done_after: i64,
    /// The import had finished when the kill came (it had exited, or was exiting).
    finished_first: bool,
}

/// The unfinished import's checkpoint (0 when none has begun).
async fn rows_done(c: &Conn) -> anyhow::Result<i64> {
    c.count("SELECT COALESCE(MAX(rows_done), 0) FROM import_jobs WHERE finished_at IS NULL")
        .await
}

/// The totals of the finished import (as `import members --json` prints them), if one finished;
/// and how many imports were begun.
async fn finished_import(c: &Conn) -> anyhow::Result<(Option<Value>, i64)> {
    let jobs = c.count("SELECT COUNT(*) FROM import_jobs").await?;
    let rows = c
        .texts(
            "SELECT CAST(rows_done AS TEXT), CAST(blank AS TEXT), CAST(created_people AS TEXT), \
             CAST(created_memberships AS TEXT), CAST(duplicates AS TEXT), CAST(rejected AS TEXT) \
             FROM import_jobs WHERE finished_at IS NOT NULL ORDER BY id LIMIT 1",
        )
        .await?;
    let totals = rows.first().map(|r| {
        let n = |i: usize| r[i].parse::<u64>().unwrap_or(u64::MAX);
        json!({"rows": n(0), "blank": n(1), "created_people": n(2), "created_memberships": n(3),
            "duplicates": n(4), "rejected": n(5)})
    });
    Ok((totals, jobs))
}

/// After the kills: run the import to its end unless a killed run finished it (killed while it
/// exited). The totals it reports, checked against the job's row; a second job (the file
/// imported again rather than resumed) is a problem.
async fn finish_import(
    ctx: &Ctx,
    victim: &str,
    csv: &str,
    problems: &mut Vec<String>,
) -> anyhow::Result<Value> {
    let c = Conn::open(victim, false).await?;
    let (done, _) = finished_import(&c).await?;
    let got = match done {
        Some(t) => t,
        None => {
            let t = Instant::now();
            let got = import_json(ctx, victim, csv).await?;
            ctx.say(&format!(
                "resumed to the end in {:.1} s: {got}",
                t.elapsed().as_secs_f64()
            ));
            let (row, _) = finished_import(&c).await?;
            if row.as_ref() != Some(&got) {
                problems.push(format!(
                    "the resumed import printed {got} but its job holds {}",
                    row.unwrap_or(Value::Null)
                ));
            }
            got
        }
    };
    let (_, jobs) = finished_import(&c).await?;
    c.close().await;
    if jobs != 1 {
        problems.push(format!(
            "{victim} holds {jobs} import jobs of the one file: the resumed runs did not all resume"
        ));
    }
    Ok(got)
}

/// `import members CSV --json`, killed with SIGKILL after `delay` unless it finished first
/// (then: true).
async fn import_killed_after(
    ctx: &Ctx,
    db: &str,
    csv: &str,
    delay: Duration,
) -> anyhow::Result<bool> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ctx.work.join("import.log"))?;
    let mut child = ctx
        .command(db)
        .args(["import", "members", csv, "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .context("cannot start sangathan import")?;
    tokio::time::sleep(delay).await;
    if let Some(st) = child.try_wait()? {
        if !st.success() {
            bail!(
                "the import failed before it was killed ({st}); see {}",
                ctx.work.join("import.log").display()
            );
        }
        return Ok(true);
    }
    child.start_kill()?;
    child.wait().await?;
    Ok(false)
}

async fn import_json(ctx: &Ctx, db: &str, csv: &str) -> anyhow::Result<Value> {
    let out = ctx
        .run_ok(db, &["import", "members", csv, "--json"])
        .await?;
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("the import printed {line:?}"))
}

async fn kill_import(
    ctx: &Ctx,
    rows: u64,
    kills: u32,
    mode: ImportMode,
) -> anyhow::Result<Outcome> {
    if rows == 0 {
        bail!("--rows must be at least 1");
    }
    let mut o = Outcome::new("kill-import");
    let reference = sqlite_url(&ctx.work.join("reference.db"));
    ctx.init(&reference).await?;
    let (_, booths) = geography(&reference).await?;
    let csv_path = ctx.work.join(format!("members-{rows}.csv"));
    Bench::members_csv(&csv_path, rows, booths)?;
    let csv = csv_path.display().to_string();
    ctx.say(&format!(
        "{} ({rows} rows, {:.1} MB); importing it once, uninterrupted, into a fresh database",
        csv_path.display(),
        file_len(&csv_path) as f64 / 1e6
    ));
    let t = Instant::now();
    let expected = import_json(ctx, &reference, &csv).await?;
    let t_ref = t.elapsed().as_secs_f64();
    let want = snapshot(&reference).await?;
    let (rv, ra, rwhy) = ctx.verify(&reference).await?;
    if !rv || !ra {
        o.problem(format!("the uninterrupted import does not verify: {rwhy}"));
    }
    ctx.say(&format!(
        "uninterrupted: {t_ref:.1} s, {expected}; {} memberships, digest {}",
        want.memberships,
        &want.digest[..16]
    ));
    o.set("rows", rows);
    o.set("mode", mode.as_str());
    o.set("kills", kills);
    o.set("reference_import_s", round1(t_ref));
    o.set("reference", expected.clone());
    o.set("reference_snapshot", serde_json::to_value(&want)?);
    o.line(format!(
        "CSV of {rows} rows ({:.1} MB); one uninterrupted import: {t_ref:.1} s → {expected}",
        file_len(&csv_path) as f64 / 1e6
    ));
    let mut log = Vec::new();
    let mut results = Vec::new();
    let mut fresh_compared = 0;
    let t_victims = Instant::now();
    match mode {
        ImportMode::Cumulative => {
            let victim_path = ctx.work.join("victim.db");
            let victim = sqlite_url(&victim_path);
            ctx.init(&victim).await?;
            let mut c = Conn::open(&victim, false).await?;
            // A run that finished before its kill (this machine was faster than the reference
            // run) starts the drill again on a fresh database with shorter kill windows, up to
            // three times: only kills that found the import running count.
            let mut shrink = 1.0f64;
            let mut restarts = 0;
            let mut k = 0;
            while k < kills {
                let before = rows_done(&c).await?;
                // Stick-breaking: each kill lands on average 1/(kills left + 1) of the way
                // through what is left, so that every kill finds the import unfinished.
                // (1.2, not 2: the last kill's window ends well before the import would.)
                let left = t_ref * (rows as f64 - before as f64).max(0.0) / rows as f64;
                let window = (0.2 + 1.2 * left / (kills - k + 1) as f64) * shrink;
                let delay = Duration::from_secs_f64(window * ctx.random());
                let exited = import_killed_after(ctx, &victim, &csv, delay).await?;
                let after = rows_done(&c).await?;
                // Killed while it exited, after its last commit: it finished all the same.
                let finished = exited || finished_import(&c).await?.0.is_some();
                if finished {
                    ctx.say(&format!(
                        "run {}: the import finished before its kill at {:.0} ms",
                        k + 1,
                        ms(delay)
                    ));
                } else if (k + 1) % 10 == 0 || k + 1 == kills || kills <= 10 {
                    ctx.say(&format!(
                        "kill {}/{kills} after {:.0} ms: checkpoint {before} → {after} rows",
                        k + 1,
                        ms(delay)
                    ));
                }
                log.push(ImportKill {
                    delay_ms: ms(delay),
                    rows_done_before: before,
                    rows_done_after: after,
                    finished_first: finished,
                });
                if finished {
                    if restarts == 3 {
                        break;
                    }
                    restarts += 1;
                    shrink *= 0.4;
                    ctx.say(&format!("starting again on a fresh database with kill windows × {shrink:.2}"));
                    c.close().await;
                    remove_sqlite(&victim_path);
                    ctx.init(&victim).await?;
                    c = Conn::open(&victim, false).await?;
                    log.clear();
                    k = 0;
                    continue;
                }
                k += 1;
            }
            c.close().await;
            let got = finish_import(ctx, &victim, &csv, &mut o.problems).await?;
            results.push((victim, got));
        }
        ImportMode::Fresh => {
            let mut shrink = 1.0f64;
            // A kill drawn late finds a run finished (it is checked all the same); while none
            // has landed, up to five more runs are made, each with a shorter window, so that a
            // machine faster than the reference run still has its import killed mid-way.
            let mut k = 0;
            while k < kills || (kills > 0 && k < kills + 5 && log.iter().all(|l: &ImportKill| l.finished_first)) {
                let victim = sqlite_url(&ctx.work.join(format!("victim-{k}.db")));
                ctx.init(&victim).await?;
                let delay = Duration::from_secs_f64((0.1 + 0.9 * t_ref) * ctx.random() * shrink);
                let exited = import_killed_after(ctx, &victim, &csv, delay).await?;
                let c = Conn::open(&victim, false).await?;
                let after = rows_done(&c).await?;
                let finished = exited || finished_import(&c).await?.0.is_some();
                c.close().await;
                let got = finish_import(ctx, &victim, &csv, &mut o.problems).await?;
                ctx.say(&format!(
                    "fresh import {}/{}: {} after {:.0} ms (checkpoint {after} rows), resumed: {got}",
                    k + 1,
                    kills.max(k + 1),
                    if finished { "finished before its kill" } else { "killed" },
                    ms(delay)
                ));
                log.push(ImportKill {
                    delay_ms: ms(delay),
                    rows_done_before: 0,
                    rows_done_after: after,
                    finished_first: finished,
                });
                // Imports here run faster than the reference did: draw later kills earlier.
                if finished {
                    shrink *= 0.5;
                }
                // Keep the disk small: only the database being checked stays.
                results.push((victim, got));
                if results.len() > 1 {
                    let (old, got) = results.remove(0);
                    let problems = check_victim(ctx, &old, &got, &expected, &want).await?;
                    o.problems.extend(problems);
                    remove_sqlite(&PathBuf::from(old.trim_start_matches("sqlite://")));
                    fresh_compared += 1;
                }
                k += 1;
            }
        }
    }
    let mut compared = 0;
    for (victim, got) in &results {
        let problems = check_victim(ctx, victim, got, &expected, &want).await?;
        compared += 1;
        o.problems.extend(problems);
    }
    let landed = log.iter().filter(|k| !k.finished_first).count();
    let progressed = log
        .iter()
        .filter(|k| !k.finished_first && k.rows_done_after > k.rows_done_before)
        .count();
    let positions: Vec<i64> = log
        .iter()
        .filter(|k| !k.finished_first)
        .map(|k| k.rows_done_after)
        .collect();
    o.set("kills_landed", landed);
    o.set("kills_after_progress", progressed);
    o.set("killed_runs_s", round1(t_victims.elapsed().as_secs_f64()));
    o.set("checkpoints_at_kills", json!(positions));
    o.set("kill_log", serde_json::to_value(&log)?);
    o.set("results_compared", compared + fresh_compared);
    o.set("runs", log.len());
    o.line(format!(
        "{} mode: {landed} of {} kills landed mid-import ({progressed} after the checkpoint had moved); \
         checkpoints at the kills: {}",
        mode.as_str(),
        log.len(),
        summarise_positions(&positions, rows)
    ));
    o.line(format!(
        "killed-and-resumed runs took {:.1} s; each result compared with the uninterrupted import: \
         the import's totals, people, memberships, import errors, content digest, verify",
        t_victims.elapsed().as_secs_f64()
    ));
    // Cumulative: every kill must find the import running. Fresh: a kill drawn late may come
    // after a run finished (that run is checked all the same), but one at least must land.
    if (mode == ImportMode::Cumulative && (landed as u32) < kills) || (kills > 0 && landed == 0) {
        o.problem(format!(
            "only {landed} of {} kills found the import still running (use more --rows)",
            log.len()
        ));
    }
    if o.problems.is_empty() {
        o.line(format!(
            "equal to the uninterrupted import: {} people, {} memberships, {} import errors, digest {}",
            want.people,
            want.memberships,
            want.import_errors,
            &want.digest[..16]
        ));
    }
    Ok(o)
}

fn summarise_positions(p: &[i64], rows: u64) -> String {
    if p.is_empty() {
        return "none".into();
    }
    let mut s = p.to_vec();
    s.sort_unstable();
    let zero = s.iter().filter(|&&x| x == 0).count();
    format!(
        "{} before the first checkpoint, then {} … {} of {rows} (median {})",
        zero,
        s.iter().find(|&&x| x > 0).copied().unwrap_or(0),
        s.last().copied().unwrap_or(0),
        s[s.len() / 2]
    )
}

/// A killed-and-resumed database against the uninterrupted one.
async fn check_victim(
    ctx: &Ctx,
    victim: &str,
    got: &Value,
    expected: &Value,
    want: &Snapshot,
) -> anyhow::Result<Vec<String>> {
    let mut p = Vec::new();
    if got != expected {
        p.push(format!(
            "the resumed import reports {got}, the uninterrupted one {expected}"
        ));
    }
    let have = snapshot(victim).await?;
    for d in differences(want, &have) {
        p.push(format!("{victim} against the uninterrupted import: {d}"));
    }
    let (v, a, why) = ctx.verify(victim).await?;
    if !v || !a {
        p.push(format!("{victim} does not verify: {why}"));
    }
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// backup

async fn backup(ctx: &Ctx, rate: f64, seconds: u64, clients: usize) -> anyhow::Result<Outcome> {
    if seconds < 3 {
        bail!("--seconds must be at least 3");
    }
    let mut o = Outcome::new("backup");
    let live_path = ctx.work.join("live.db");
    let live = sqlite_url(&live_path);
    let token = ctx.init(&live).await?;
    let (state, booths) = geography(&live).await?;
    let port = free_port()?;
    let client = http_client(4)?;
    let mut server = Server::start(ctx, &live, port, &client).await?;
    let seed = ctx.rng.lock().expect("rng").next_u64();
    let load = Load::start(
        LoadCfg {
            base: Arc::new(Mutex::new(server.base.clone())),
            token,
            rate,
            clients,
            read_every: 0,
            state,
        },
        booths,
        seed,
    )?;
    ctx.say(&format!(
        "{rate}/s enrolments for {seconds} s; the backup starts at {:.0} s",
        seconds as f64 / 3.0
    ));
    tokio::time::sleep_until((load.started + Duration::from_secs_f64(seconds as f64 / 3.0)).into())
        .await;
    let file = ctx.work.join("backup.db");
    let _ = std::fs::remove_file(&file);
    let acked_at_start = load.acked();
    let b0 = Instant::now();
    let (bok, bout, berr) = ctx
        .run(&live, &["backup", &file.display().to_string()])
        .await?;
    let b1 = Instant::now();
    let acked_at_end = load.acked();
    if !bok {
        bail!("sangathan backup failed: {}", berr.trim());
    }
    ctx.say(&format!(
        "backup took {:.0} ms ({acked_at_start} → {acked_at_end} acknowledged meanwhile): {}",
        ms(b1 - b0),
        bout.trim()
    ));
    tokio::time::sleep_until((load.started + Duration::from_secs(seconds)).into()).await;
    let (tally, sent, secs) = load.finish(Duration::from_secs(60)).await;
    load_fields(&mut o, &tally, sent, secs);
    let clean = server.stop().await?;
    if !clean {
        o.problem("the server did not stop cleanly on SIGTERM".into());
    }
    let in_backup = Conn::open(&file.display().to_string(), true).await?;
    let backup_memberships = in_backup.count("SELECT COUNT(*) FROM memberships").await?;
    let backup_people = in_backup.count("SELECT COUNT(*) FROM people").await?;
    in_backup.close().await;
    let restored_path = ctx.work.join("restored.db");
    remove_sqlite(&restored_path);
    let restored = sqlite_url(&restored_path);
    let (rok, rout, rerr) = ctx
        .run(&restored, &["restore", &file.display().to_string()])
        .await?;
    let (v, a, why) = ctx.verify(&restored).await?;
    let restored_people = {
        let c = Conn::open(&restored, true).await?;
        let n = c.count("SELECT COUNT(*) FROM people").await?;
        c.close().await;
        n
    };
    let held_restored = held(&restored, true).await?;
    let held_live = held(&live, false).await?;
    let in_restored: HashSet<&str> = held_restored.iter().map(|h| h.epic.as_str()).collect();
    let before: Vec<&Answer> = tally.answers.iter().filter(|a| a.acked < b0).collect();
    let after: Vec<&Answer> = tally.answers.iter().filter(|a| a.first_sent > b1).collect();
    let during = tally.answers.len() - before.len() - after.len();
    let during_kept = tally
        .answers
        .iter()
        .filter(|a| {
            a.acked >= b0 && a.first_sent <= b1 && in_restored.contains(a.sent.epic.as_str())
        })
        .count();
    let missing = before
        .iter()
        .filter(|a| !in_restored.contains(a.sent.epic.as_str()))
        .count();
    let leaked = after
        .iter()
        .filter(|a| in_restored.contains(a.sent.epic.as_str()))
        .count();
    // The restored database holds only what the drill sent, each once.
    let restored_check = check_enrolments(&[], sent, &held_restored);
    let live_check = check_enrolments(&tally.answers, sent, &held_live);
    o.set("backup_ms", ms(b1 - b0));
    o.set("backup_bytes", file_len(&file));
    o.set("acknowledged_before_backup", before.len());
    o.set("answered_during_backup", during);
    o.set("answered_during_backup_in_it", during_kept);
    o.set("sent_after_backup", after.len());
    o.set("missing_from_restore", missing);
    o.set("after_backup_in_restore", leaked);
    o.set("backup_memberships", backup_memberships);
    o.set("restored_memberships", held_restored.len());
    o.set("restored_people", restored_people);
    o.set("live_memberships", held_live.len());
    o.set("restore_ok", rok);
    o.set("verify_ok", v);
    o.set("audit_chain_ok", a);
    o.line(format!(
        "backup under load: {:.0} ms, {:.2} MB; {} enrolments acknowledged before it started, \
         {during} answered while it ran ({during_kept} of them in it), {} sent after it finished",
        ms(b1 - b0),
        file_len(&file) as f64 / 1e6,
        before.len(),
        after.len()
    ));
    o.line(format!(
        "restored into a new database: {} memberships, {} people (the backup file: {} and {}); \
         {missing} acknowledged-before missing, {leaked} sent-after present; restore {}, verify {}, audit chain {}",
        held_restored.len(),
        restored_people,
        backup_memberships,
        backup_people,
        if rok { "ok" } else { "FAILED" },
        if v { "ok" } else { "FAILED" },
        if a { "ok" } else { "FAILED" }
    ));
    o.line(format!(
        "the live database afterwards: {} memberships, {} of {} acknowledged held exactly once",
        held_live.len(),
        live_check.confirmed,
        tally.answers.len()
    ));
    if !rok {
        o.problem(format!(
            "sangathan restore failed: {} {}",
            rout.trim(),
            rerr.trim()
        ));
    }
    if !v || !a {
        o.problem(format!("the restored database does not verify: {why}"));
    }
    if missing > 0 {
        o.problem(format!(
            "{missing} enrolments acknowledged before the backup started are not in the restored database"
        ));
    }
    if leaked > 0 {
        o.problem(format!(
            "{leaked} enrolments sent after the backup finished are in the restored database"
        ));
    }
    if held_restored.len() as i64 != backup_memberships || restored_people != backup_people {
        o.problem(format!(
            "the restored database holds {} memberships and {restored_people} people, the backup {backup_memberships} and {backup_people}",
            held_restored.len()
        ));
    }
    if held_restored.len() != before.len() + during_kept {
        o.problem(format!(
            "the restored database holds {} memberships, not the {} enrolments answered before or during the backup that it should",
            held_restored.len(),
            before.len() + during_kept
        ));
    }
    o.problems.extend(
        restored_check
            .problems
            .into_iter()
            .map(|p| format!("restored: {p}")),
    );
    o.problems.extend(
        live_check
            .problems
            .into_iter()
            .map(|p| format!("live: {p}")),
    );
    if before.is_empty() || after.is_empty() {
        o.problem("the load did not straddle the backup (nothing before or nothing after it): the drill checked too little".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// soak

/// Memory flat: the last quarter's median RSS within 10 % (or 20 MiB, whichever is more) of
/// the second quarter's (the first quarter is warm-up).
#[derive(Debug, PartialEq)]
struct Flat {
    ok: bool,
    q2: u64,
    q4: u64,
    allowed: u64,
}

fn memory_flat(rss: &[u64]) -> Option<Flat> {
    let n = rss.len();
    if n < 8 {
        return None;
    }
    let median = |s: &[u64]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let q2 = median(&rss[n / 4..n / 2]);
    let q4 = median(&rss[n - n / 4..]);
    let allowed = (q2 / 10).max(20 << 20);
    Some(Flat {
        ok: q4 <= q2 + allowed,
        q2,
        q4,
        allowed,
    })
}

/// RssAnon and RssFile of a process, in bytes.
fn rss_split(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}

fn mib(b: u64) -> f64 {
    round1(b as f64 / (1u64 << 20) as f64)
}

async fn soak(
    ctx: &Ctx,
    minutes: f64,
    rate: f64,
    clients: usize,
    sample_secs: f64,
) -> anyhow::Result<Outcome> {
    if !(minutes.is_finite() && minutes > 0.0) {
        bail!("--minutes must be positive");
    }
    if !(sample_secs.is_finite() && sample_secs >= 0.1) {
        bail!("--sample-secs must be at least 0.1");
    }
    let mut o = Outcome::new("soak");
    let live_path = ctx.work.join("live.db");
    let db = match &ctx.pg {
        Some(u) => u.clone(),
        None => sqlite_url(&live_path),
    };
    let token = ctx.init(&db).await?;
    let (state, booths) = geography(&db).await?;
    let port = free_port()?;
    let client = http_client(4)?;
    let mut server = Server::start(ctx, &db, port, &client).await?;
    let seed = ctx.rng.lock().expect("rng").next_u64();
    let total = Duration::from_secs_f64(minutes * 60.0);
    ctx.say(&format!(
        "{rate}/s requests (4 enrolments to 1 progress read) for {minutes} min; RSS every {sample_secs} s"
    ));
    let load = Load::start(
        LoadCfg {
            base: Arc::new(Mutex::new(server.base.clone())),
            token,
            rate,
            clients,
            read_every: 5,
            state,
        },
        booths,
        seed,
    )?;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut hwm = 0;
    let mut split = None;
    let mut exited = None;
    let mut next = load.started;
    let mut last_said = Instant::now();
    while load.started.elapsed() < total {
        next += Duration::from_secs_f64(sample_secs);
        tokio::time::sleep_until(next.into()).await;
        if let Some(st) = server.child.try_wait()? {
            exited = Some(st.to_string());
            break;
        }
        let m = ProcMem::of(server.pid)?;
        hwm = m.hwm;
        split = rss_split(server.pid);
        samples.push((load.started.elapsed().as_secs_f64(), m.rss));
        if last_said.elapsed() >= Duration::from_secs(60) {
            last_said = Instant::now();
            ctx.say(&format!(
                "{:.0} s: RSS {:.1} MiB, {} acknowledged",
                load.started.elapsed().as_secs_f64(),
                mib(m.rss),
                load.acked()
            ));
        }
    }
    let (tally, sent, secs) = load.finish(Duration::from_secs(30)).await;
    load_fields(&mut o, &tally, sent, secs);
    let wal = file_len(&ctx.work.join("live.db-wal"));
    let size = file_len(&live_path);
    let clean = match exited {
        Some(st) => {
            o.problem(format!("the server exited during the soak ({st})"));
            false
        }
        None => server.stop().await?,
    };
    if !clean {
        o.problem("the server did not stop cleanly on SIGTERM".into());
    }
    let rss: Vec<u64> = samples.iter().map(|s| s.1).collect();
    let flat = memory_flat(&rss);
    let (v, a, why) = ctx.verify(&db).await?;
    o.set("minutes", minutes);
    o.set("rate", rate);
    o.set("reads_ok", tally.reads_ok);
    o.set("reads_failed", tally.reads_failed);
    o.set("rss_samples", rss.len());
    o.set("rss_first_mib", rss.first().map(|&x| mib(x)).unwrap_or(0.0));
    o.set(
        "rss_min_mib",
        rss.iter().min().map(|&x| mib(x)).unwrap_or(0.0),
    );
    o.set(
        "rss_max_mib",
        rss.iter().max().map(|&x| mib(x)).unwrap_or(0.0),
    );
    o.set("rss_last_mib", rss.last().map(|&x| mib(x)).unwrap_or(0.0));
    o.set("rss_hwm_mib", mib(hwm));
    if let Some((anon, file)) = split {
        // Anonymous memory holds the heap (SQLite's page caches among it); file-backed, the
        // binary and mapped files.
        o.set("rss_last_anon_mib", mib(anon));
        o.set("rss_last_file_mib", mib(file));
    }
    if let Some(f) = &flat {
        o.set("rss_q2_median_mib", mib(f.q2));
        o.set("rss_q4_median_mib", mib(f.q4));
        o.set("rss_allowed_growth_mib", mib(f.allowed));
        o.set("memory_flat", f.ok);
    }
    // The curve, a point a minute at most (all of them for short soaks).
    let every = (60.0 / sample_secs).ceil().max(1.0) as usize;
    let curve: Vec<Value> = samples
        .iter()
        .step_by(if samples.len() > 60 { every } else { 1 })
        .map(|(t, r)| json!([round1(*t), mib(*r)]))
        .collect();
    o.set("rss_curve", Value::Array(curve));
    o.set("db_bytes", size);
    o.set("wal_bytes", wal);
    o.set("verify_ok", v);
    o.set("audit_chain_ok", a);
    o.line(format!(
        "{} progress reads ok, {} failed",
        tally.reads_ok, tally.reads_failed
    ));
    match &flat {
        Some(f) => o.line(format!(
            "server RSS over {} samples: first {:.1} MiB, min {:.1}, max {:.1}, last {:.1}, peak (HWM) {:.1}; \
             median of the 2nd quarter {:.1} MiB, of the last {:.1} MiB (allowed growth {:.1} MiB): {}",
            rss.len(),
            mib(rss[0]),
            mib(*rss.iter().min().unwrap_or(&0)),
            mib(*rss.iter().max().unwrap_or(&0)),
            mib(*rss.last().unwrap_or(&0)),
            mib(hwm),
            mib(f.q2),
            mib(f.q4),
            mib(f.allowed),
            if f.ok { "flat" } else { "GROWING" }
        )),
        None => o.problem(format!(
            "only {} RSS samples: run longer or sample more often (--sample-secs)",
            rss.len()
        )),
    }
    if ctx.pg.is_none() {
        o.line(format!(
            "database {:.1} MB, WAL {:.1} MB at the end; verify {}, audit chain {}",
            size as f64 / 1e6,
            wal as f64 / 1e6,
            if v { "ok" } else { "FAILED" },
            if a { "ok" } else { "FAILED" }
        ));
    }
    if let Some(f) = &flat
        && !f.ok
    {
        o.problem(format!(
            "the server's memory grew: median RSS {:.1} MiB in the second quarter, {:.1} MiB in the last (allowed {:.1} MiB more)",
            mib(f.q2),
            mib(f.q4),
            mib(f.allowed)
        ));
    }
    let errors = tally.transport_errors + tally.server_errors + tally.reads_failed;
    if errors > 0 {
        o.problem(format!(
            "{errors} requests erred ({} connection errors, {} 5xx, {} failed reads)",
            tally.transport_errors, tally.server_errors, tally.reads_failed
        ));
    }
    let asked = rate * secs;
    let done = (tally.answers.len() as u64 + tally.reads_ok) as f64;
    o.set("achieved_per_s", round1(done / secs.max(1e-9)));
    // The load is closed-loop (--clients): a server that falls behind is asked less. Below
    // half the rate the soak did not soak at the rate asked; below 90 % it is said.
    if done < 0.5 * asked {
        o.problem(format!(
            "the server kept up with {:.1} requests/s of the {rate} asked",
            done / secs.max(1e-9)
        ));
    } else if done < 0.9 * asked {
        o.line(format!(
            "note: {:.1} requests/s were answered of the {rate} asked (the machine is busy?)",
            done / secs.max(1e-9)
        ));
    }
    if !v || !a {
        o.problem(format!("the database does not verify: {why}"));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(i: u64, wing: &str, number: &str) -> Answer {
        Answer {
            sent: Sent::expect(i, wing),
            status: 201,
            replayed: false,
            number: number.into(),
            first_sent: Instant::now(),
            acked: Instant::now(),
            attempts: 1,
        }
    }

    fn hold(i: u64, wing: &str, number: &str) -> Held {
        let s = Sent::expect(i, wing);
        Held {
            epic: s.epic,
            mobile: s.mobile,
            wing: wing.into(),
            number: number.into(),
        }
    }

    #[test]
    fn enrolments_exactly_once() {
        let acked = vec![answer(0, "party", "N-0"), answer(1, "yuva", "N-1")];
        let mut held = vec![
            hold(0, "party", "N-0"),
            hold(1, "yuva", "N-1"),
            hold(2, "party", "N-2"),
        ];
        let c = check_enrolments(&acked, 3, &held);
        assert_eq!(c.problems, Vec::<String>::new());
        assert_eq!((c.confirmed, c.committed_unacknowledged), (2, 1));

        // A lost acknowledged enrolment.
        let c = check_enrolments(&acked, 3, &held[1..]);
        assert!(
            c.problems[0].contains("enrolment 0") && c.problems[0].contains("missing"),
            "{c:?}"
        );
        // A duplicate.
        held.push(hold(1, "yuva", "N-1b"));
        let c = check_enrolments(&acked, 3, &held);
        assert!(
            c.problems.iter().any(|p| p.contains("held 2 times")),
            "{c:?}"
        );
        held.pop();
        // Something never sent.
        held.push(hold(7, "party", "N-7"));
        let c = check_enrolments(&acked, 3, &held);
        assert!(c.problems.iter().any(|p| p.contains("never sent")), "{c:?}");
        held.pop();
        // The wrong number, the wrong wing.
        held[0].number = "N-9".into();
        held[1].wing = "party".into();
        let c = check_enrolments(&acked, 3, &held);
        assert_eq!(c.problems.len(), 2, "{c:?}");
    }

    #[test]
    fn memory_flatness() {
        let mb = |x: u64| x << 20;
        assert_eq!(memory_flat(&[mb(50); 7]), None);
        let flat: Vec<u64> = (0..40)
            .map(|i| mb(if i < 5 { 30 } else { 60 + i % 3 }))
            .collect();
        assert!(memory_flat(&flat).unwrap().ok);
        // 2 MiB a sample: 40 MiB more from the second quarter to the last.
        let leak: Vec<u64> = (0..40).map(|i| mb(100 + 2 * i)).collect();
        let f = memory_flat(&leak).unwrap();
        assert!(!f.ok, "{f:?}");
        // Big processes get 10 %.
        let big: Vec<u64> = (0..40)
            .map(|i| mb(1000 + if i >= 30 { 90 } else { 0 }))
            .collect();
        assert!(memory_flat(&big).unwrap().ok);
    }

    #[test]
    fn snapshots_differ() {
        let a = Snapshot {
            people: 3,
            memberships: 4,
            import_errors: 1,
            digest: "a".repeat(64),
        };
        assert!(differences(&a, &a.clone()).is_empty());
        let mut b = a.clone();
        b.digest = "b".repeat(64);
        b.memberships = 5;
        assert_eq!(differences(&a, &b).len(), 2);
    }
}
