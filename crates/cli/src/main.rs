//! `sangathan`: the command line of Sangathan.

/// mimalloc instead of glibc's malloc: the server and the import allocate small buffers on
/// every request and row from two threads or more, where glibc's arenas showed ~10–15 % of the
/// samples (`_int_malloc`, `malloc_consolidate`, `unlink_chunk`); see BENCHMARKS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod access;
mod alloc;
mod bench;
mod config;
mod demo;
mod drill;
mod meetings;
mod merges;
mod ops;
mod users;
mod verification;
mod volunteers;

use anyhow::{Context, anyhow, bail};
use chrono::{Duration, NaiveDate, TimeZone};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sangathan_core::access::{Action, Wings};
use sangathan_sheets::{bulk, export};
use sangathan_store::{DEFAULT_DB, DynStore, EnrolContext, StoreError, clock, preset};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sangathan",
    version,
    about = "Sangathan: the ground machinery of a mass-membership organisation"
)]
struct Cli {
    /// Database URL: sqlite://FILE (the default, created if missing) or postgres://USER:PASS@HOST/DB.
    #[arg(long, global = true, env = "SANGATHAN_DB", default_value = DEFAULT_DB)]
    db: String,
    /// Act as this user (their mobile), narrowed to their posts' scope; default: the operator
    /// of the installation (the built-in state admin). Either way the command is audited.
    #[arg(long = "as", global = true, value_name = "MOBILE")]
    as_user: Option<String>,
    /// Settings from a TOML file (see the README's Configuration); the environment wins over it.
    #[arg(long, global = true, env = "SANGATHAN_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the database and load a preset; prints an admin API token (last line).
    Init {
        /// `up`, or a directory of preset files (see data/up/).
        #[arg(long, default_value = "up")]
        preset: String,
        /// First day of the preset's campaigns (default: today, IST).
        #[arg(long)]
        campaign_start: Option<NaiveDate>,
        /// Last day of the preset's campaigns (default: start + 364 days).
        #[arg(long)]
        campaign_end: Option<NaiveDate>,
    },
    /// Init (if needed) plus synthetic members; prints an admin API token (last line).
    Demo {
        /// How many members to generate.
        #[arg(long, default_value_t = 100_000)]
        members: u64,
        /// Same seed, same members.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "up")]
        preset: String,
        /// Share of the members enrolled more than a few days ago who are verified (most of the
        /// rest stay pending; about 2% are rejected).
        #[arg(long, default_value_t = 0.85)]
        verified_share: f64,
        /// Share of members (on top of the honest ones) enrolled through fake patterns: padding
        /// enrollers with runs of consecutive mobiles and shared addresses, so that detection can
        /// be seen working; the demo then reports what detection found.
        #[arg(long, default_value_t = 0.0)]
        fake_share: f64,
        /// Start the server afterwards.
        #[arg(long)]
        serve: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Serve the web app (at /) and the JSON API (under /api/v1).
    Serve {
        #[arg(long, env = "SANGATHAN_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Mark session cookies Secure (the server is behind TLS).
        #[arg(long, env = "SANGATHAN_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Serve GET /metrics (Prometheus) on this address only, instead of beside the app.
        #[arg(long, env = "SANGATHAN_METRICS_ADDR")]
        metrics_addr: Option<SocketAddr>,
    },
    /// Write a consistent copy of the SQLite database to FILE while it stays in use.
    Backup {
        file: std::path::PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup in place as the --db file (refused if that holds anything, unless --force),
    /// then verify it.
    Restore {
        file: std::path::PathBuf,
        /// Replace a database that holds something (stop the server first).
        #[arg(long)]
        force: bool,
    },
    /// User accounts and their posts.
    #[command(subcommand)]
    User(UserCmd),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Members' rights.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Deployment settings.
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// A unit's target, achieved and pacing, and one row per child unit.
    Progress {
        /// A unit code such as UP, UP-DIV-AGRA, UP-AC-173 (any case).
        unit: String,
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recompute every counter from the base rows; exits non-zero on any mismatch.
    Verify,
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The geography.
    #[command(subcommand)]
    Units(UnitsCmd),
    /// Print the OpenAPI document.
    Openapi,
    /// Find members of a unit's subtree by name (either script), mobile or EPIC.
    Search {
        unit: String,
        text: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Meetings: rotating series, chairs, reports up the chain, compliance, calendars.
    #[command(subcommand)]
    Meetings(meetings::MeetingsCmd),
    /// Programmes of the volunteer force: duties, rosters, check-in, incidents, summaries.
    #[command(subcommand)]
    Programmes(volunteers::ProgrammesCmd),
    /// The volunteer force: check-in codes, availability, activation, follow-up lists.
    #[command(subcommand)]
    Volunteers(volunteers::VolunteersCmd),
    /// Bulletins to a scope, and moderation of their comments.
    #[command(subcommand)]
    Bulletins(volunteers::BulletinsCmd),
    /// Verifying members: the queue, and verifying or rejecting memberships.
    #[command(subcommand)]
    Verification(verification::VerificationCmd),
    /// Open fake-member flags in a unit's subtree: `{"flags":[{"id","rule","reason","members":[…]},…]}`.
    Flags {
        unit: String,
        /// Resolved flags too.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Enrollers within an AC (or a sector or booth) ranked by members verified, not raw counts.
    Leaderboard {
        unit: String,
        #[arg(long)]
        wing: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Run fake-member detection over what is new since the last run (the server runs it hourly).
    Detect {
        #[arg(long)]
        json: bool,
    },
    /// Resolve a flag: genuine (nothing changes) or fake (its members are rejected together).
    ResolveFlag {
        id: i64,
        /// genuine or fake.
        verdict: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Operations drills: kill -9 of the server or of an import, a backup under load, a soak;
    /// each checks its result (exit 1 when the check fails).
    #[command(subcommand)]
    Drill(drill::DrillCmd),
    /// Bulk import from a spreadsheet.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Bulk export to a spreadsheet.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Pairs of people in a unit's subtree who look like one person (same mobile with names
    /// matching across scripts; same name and birth year in one booth).
    Duplicates {
        unit: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Merge two records of one person: `merge PERSON_ID INTO PERSON_ID`. Memberships,
    /// identifiers and history are all kept; `unmerge` undoes it.
    Merge {
        /// The record to merge away (kept as history).
        #[arg(value_name = "PERSON_ID")]
        from: i64,
        /// The word INTO.
        #[arg(value_name = "INTO")]
        word: String,
        /// The person who remains.
        #[arg(value_name = "PERSON_ID")]
        into: i64,
        #[arg(long)]
        json: bool,
    },
    /// Undo a merge exactly (its id is printed by `merge`).
    Unmerge {
        #[arg(value_name = "MERGE_ID")]
        merge_id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Measure import, roll-up, search, enrolment over HTTP and resources against baselines; (re)writes this size's section of BENCHMARKS.md.
    /// SQLite by default; with --db postgres://… the same suite runs on that server (in databases it creates and drops).
    Bench {
        /// How many members to generate and import (default 1,000,000); with --existing, the size
        /// that names the report's section (default: the database's membership count).
        #[arg(long)]
        members: Option<u64>,
        /// Repetitions of each measurement (the import runs once from 5,000,000 members on).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The report to (re)write; other sizes' sections are kept.
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: std::path::PathBuf,
        /// Where the CSV and databases go (default: a temporary directory, removed afterwards).
        #[arg(long)]
        work: Option<std::path::PathBuf>,
        /// A note shown in the section (e.g. what changed).
        #[arg(long)]
        label: Option<String>,
        /// Measure an already loaded database in place, a SQLite file or a postgres:// URL, instead
        /// of generating and importing a CSV (step 1 is skipped). It writes to that database: the
        /// HTTP step adds enrolments, detection replaces its flags, and an admin token named
        /// `bench` is issued: use a copy or a benchmark database, never a live one.
        #[arg(long)]
        existing: Option<std::path::PathBuf>,
        /// With --existing: how long its load took, in seconds, measured outside the bench.
        #[arg(long, requires = "existing")]
        load_seconds: Option<f64>,
        /// With --existing: how it was loaded (shown in the report).
        #[arg(long, requires = "existing")]
        load_command: Option<String>,
        /// With --load-seconds: a CSV of the same members in the bench's columns
        /// (name,mobile,epic,ac_no,booth_no,gender,birth_year,wing; e.g. cut from `sangathan
        /// export members --unit UP --format csv` of that database), imported once by the import
        /// step's baseline tool (the sqlite3 shell, or psql) to give the load a baseline and a ratio.
        #[arg(long, requires = "load_seconds")]
        load_baseline: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// Import members from a .csv or .xlsx sheet (header row required); resumable after a crash.
    Members {
        file: std::path::PathBuf,
        /// The wing of rows that name none (default party).
        #[arg(long)]
        wing: Option<String>,
        /// Check and count everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON line: {"rows","blank","created_people","created_memberships","duplicates","rejected"}.
        #[arg(long)]
        json: bool,
        /// Write the rejected rows (row, column, value, reason in English and Hindi) to this CSV.
        #[arg(long)]
        errors: Option<std::path::PathBuf>,
        /// The sheet's members were verified already: its new memberships arrive verified
        /// instead of pending. State office only; audited.
        #[arg(long)]
        verified: bool,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// One row per membership in the unit's subtree, with the import's column names.
    Members {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        wing: Option<String>,
        #[arg(long)]
        format: export::Format,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue a new token; prints it as the last line.
    Issue {
        /// A token of the operator (the built-in state admin).
        #[arg(long, conflicts_with = "user")]
        admin: bool,
        /// A token carrying this user's scope (their mobile).
        #[arg(long, value_name = "MOBILE")]
        user: Option<String>,
    },
}

#[derive(Subcommand)]
enum SettingsCmd {
    /// Collect community/category and religion (with members' consent; aggregates only).
    SensitiveFields {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user (or add posts to one) with posts ROLE@UNIT[:WING] (wing default: party).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        mobile: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// e.g. ac-incharge@UP-AC-173, federation-officer@UP-DIST-LUCKNOW:yuva (repeatable).
        #[arg(long = "post", value_name = "ROLE@UNIT[:WING]")]
        posts: Vec<String>,
    },
    /// The posts a user holds and held.
    Posts {
        mobile: String,
        #[arg(long)]
        json: bool,
    },
    /// End a post (it stays in the history); the user's next request no longer has it.
    EndPost {
        mobile: String,
        #[arg(long = "post", value_name = "ROLE@UNIT[:WING]")]
        post: String,
        /// The last day of the post (default: yesterday, so it ends at once).
        #[arg(long)]
        on: Option<NaiveDate>,
    },
    /// Disable a user: their sessions end and tokens stop at once.
    Disable { mobile: String },
    /// Where a user's notifications go: an email address (omit it to go back to SMS).
    Email {
        mobile: String,
        email: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exits non-zero naming the first broken event.
    Verify,
    /// Who looked at or changed a member (person id or mobile), newest first.
    Member {
        #[arg(value_name = "MOBILE_OR_ID")]
        who: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Move events older than the retention period to a JSON-lines archive file (never dropped
    /// silently: the chain continues from the archive's last hash).
    Archive {
        /// Keep this many days (at least 365).
        #[arg(long, env = "SANGATHAN_AUDIT_RETAIN_DAYS", default_value_t = 365)]
        retain_days: i64,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum MemberCmd {
    /// Everything held about a person, as JSON (a member's access request).
    Data { person_id: i64 },
    /// Erase a person's personal data on their request; anonymous counts stay.
    Erase { person_id: i64 },
}

#[derive(Subcommand)]
enum UnitsCmd {
    /// Replace the synthetic booths of the ACs in FILE with a real list (columns ac_no, part_no, booth name, optional sector).
    ImportBooths { file: std::path::PathBuf },
    /// Show one unit and its children.
    Show {
        code: String,
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    // The configuration file fills in the environment before anything else runs (no other
    // thread exists yet), so that every setting reads the same way from either.
    let args: Vec<String> = std::env::args().collect();
    if let Err(e) = config::apply(&args) {
        eprintln!("error: {}", one_line(&e));
        std::process::exit(2);
    }
    // Before any SQLite file is opened, whichever command opens it.
    sangathan_store::sqlite::configure_sqlite();
    run_main()
}

#[tokio::main]
async fn run_main() {
    let cli = Cli::parse();
    let serving = matches!(cli.cmd, Cmd::Serve { .. } | Cmd::Demo { serve: true, .. });
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| {
        if serving {
            "info,sqlx=error".into()
        } else {
            "warn,sqlx=error".into()
        }
    });
    // SANGATHAN_LOG_FORMAT=json: one JSON object a line (for log collectors); the same fields.
    let json_logs = match std::env::var("SANGATHAN_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") | Ok("") | Err(_) => false,
        Ok(other) => {
            eprintln!("error: SANGATHAN_LOG_FORMAT must be text or json, not {other:?}");
            std::process::exit(2);
        }
    };
    // Colours only on a terminal, and not there either with NO_COLOR set (no-color.org): a log
    // sent to a file or a collector gets plain text, not escape codes around every field.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let code: u8 = match run(cli).await {
        Ok(code) => {
            if code == ExitCode::SUCCESS {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            2
        }
    };
    // Exit here, without dropping the runtime: sqlx 0.9's pool maintenance task can spin in a
    // loop that never yields (its idle count goes wrong while pools close), and dropping the
    // runtime would then wait for it for ever. Everything is committed by now; flush and go.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    std::process::exit(i32::from(code))
}

/// A one-line reason, in English and Hindi where the error has both.
fn one_line(e: &anyhow::Error) -> String {
    if let Some(StoreError::Invalid(i)) = e.downcast_ref::<StoreError>() {
        return format!("{} | {}", i.message_en(), i.message_hi());
    }
    let mut s = e.to_string();
    if let Some(cause) = e.chain().nth(1) {
        s = format!("{s}: {cause}");
    }
    s.replace('\n', " ")
}

async fn open(db: &str) -> anyhow::Result<DynStore> {
    Ok(sangathan_store::open(db).await?)
}

/// Build the indexes an interrupted first load left out, saying so (`command` names who did).
async fn restore_left_out(s: &DynStore, command: &str) -> anyhow::Result<()> {
    if s.restore_indexes().await? {
        eprintln!("{command}: built the indexes an interrupted load had left out");
    }
    Ok(())
}

async fn open_initialised(db: &str) -> anyhow::Result<DynStore> {
    let s = open(db).await?;
    if !s.is_initialised().await? {
        bail!("the database is not initialised: run `sangathan init --preset up` first");
    }
    Ok(s)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Installation-wide commands are the state office's: `--as` a user without a state-admin post
    // is refused before anything runs.
    let installation_wide = matches!(
        cli.cmd,
        Cmd::Init { .. }
            | Cmd::Demo { .. }
            | Cmd::Serve { .. }
            | Cmd::Verify
            | Cmd::Token(_)
            | Cmd::Units(UnitsCmd::ImportBooths { .. })
            | Cmd::Merge { .. }
            | Cmd::Unmerge { .. }
            | Cmd::Bench { .. }
            | Cmd::Backup { .. }
            | Cmd::Audit(_)
            | Cmd::Settings(_)
    );
    if installation_wide && let Some(m) = &cli.as_user {
        let s = open_initialised(&cli.db).await?;
        let op = access::Operator::resolve(&s, Some(m)).await?;
        if !op.scope.as_ref().is_some_and(|s| s.is_state_admin()) {
            bail!(
                "this command is for the state office: --as needs a user with a state-admin post"
            );
        }
    }
    match cli.cmd {
        Cmd::Settings(SettingsCmd::SensitiveFields { state }) => {
            let s = open_initialised(&cli.db).await?;
            s.set_sensitive_fields(state == "on").await?;
            access::Operator::operator(&s)
                .audit("settings", Some(format!("sensitive-fields {state}")), None)
                .await?;
            println!("sensitive fields (community/category, religion): {state}");
        }
        Cmd::Init {
            preset,
            campaign_start,
            campaign_end,
        } => {
            let p = preset::load(&preset).map_err(|e| anyhow!(e))?;
            let s = open(&cli.db).await?;
            let start = campaign_start.unwrap_or_else(clock::today);
            let summary = s.init(&p, start, campaign_end).await?;
            println!(
                "initialised {} ({} units, {} booths, {} campaign(s)) in {}",
                p.state_code,
                summary.units,
                summary.booths,
                summary.campaigns,
                redact(&cli.db)
            );
            println!("admin API token (shown once; keep it secret):");
            println!("{}", s.issue_token("admin", "init").await?);
        }
        Cmd::Demo {
            members,
            seed,
            preset,
            verified_share,
            fake_share,
            serve,
            addr,
        } => {
            let s = open(&cli.db).await?;
            if !s.is_initialised().await? {
                let p = preset::load(&preset).map_err(|e| anyhow!(e))?;
                // Backdate the campaign so that the demo's enrolments fall inside it.
                let start = clock::today() - Duration::days(120);
                let summary = s.init(&p, start, None).await?;
                eprintln!(
                    "initialised {} ({} units, {} booths)",
                    p.state_code, summary.units, summary.booths
                );
            }
            let state = s.state_code().await?;
            let has_members = !s
                .list_members(&state, &Wings::All, None, 1)
                .await?
                .map(|p| p.members.is_empty())
                .unwrap_or(true);
            if has_members {
                eprintln!(
                    "{} already has members: not adding demo members (use a fresh --db for a new demo)",
                    redact(&cli.db)
                );
                // An interrupted demo's first load left indexes out: build them before serving.
                restore_left_out(&s, "demo").await?;
            } else {
                let (honest, fake) = load_demo(&s, members, seed, fake_share.clamp(0.0, 0.5)).await?;
                access::Operator::operator(&s)
                    .audit(
                        "demo-load",
                        Some(format!("{members} members, seed {seed}")),
                        None,
                    )
                    .await?;
                let mut logins = users::appoint_demo(&s).await?;
                let placed = meetings::demo_meetings(&s).await?;
                eprintln!(
                    "{placed} demo meetings (the employees' federation in the Agra division, a booth meeting)"
                );
                let (v, r) = demo::verify_share(&s, seed, verified_share.clamp(0.0, 1.0)).await?;
                eprintln!("verification: {v} members verified, {r} rejected, the newest pending");
                let run = s.detect(&sangathan_server::Config::default().from_env()?.detection, clock::now()).await?;
                let r = demo::detection_report(&s, honest, fake).await?;
                eprintln!(
                    "detection: {} flags in {:.1} s; {} of {} fake members flagged (recall {:.1}%), {} of {} honest members flagged ({:.2}%)",
                    run.flags_raised, run.seconds, r.0, fake, r.2, r.1, honest, r.3
                );
                let force = demo::volunteers(&s).await?;
                eprintln!("the volunteer force at the first AC: a commander, {} volunteers, a jan sabha tomorrow, a bulletin", force.len().saturating_sub(1));
                logins.extend(force);
                users::print_demo_logins(&logins);
            }
            println!("admin API token:");
            println!("{}", s.issue_token("admin", "demo").await?);
            if serve {
                eprintln!("serving on http://{addr}/ (API under /api/v1)");
                sangathan_server::serve(s, addr, dev_config(false, true)?).await?;
            }
        }
        Cmd::Serve {
            addr,
            secure_cookies,
            metrics_addr,
        } => {
            let s = open_initialised(&cli.db).await?;
            eprintln!("serving on http://{addr}/ (API under /api/v1)");
            let config = sangathan_server::Config {
                metrics_addr,
                ..dev_config(secure_cookies, false)?
            };
            sangathan_server::serve(s, addr, config).await?;
        }
        Cmd::Backup { file, force } => {
            ops::backup(&cli.db, cli.as_user.as_deref(), &file, force).await?
        }
        Cmd::Restore { file, force } => {
            return ops::restore(&cli.db, cli.as_user.as_deref(), &file, force).await;
        }
        Cmd::User(cmd) => users::run(&cli.db, cli.as_user.as_deref(), cmd).await?,
        Cmd::Meetings(cmd) => {
            let s = open_initialised(&cli.db).await?;
            return meetings::run(&s, cli.as_user.as_deref(), cmd).await;
        }
        Cmd::Programmes(cmd) => {
            let s = open_initialised(&cli.db).await?;
            volunteers::programmes(&s, cli.as_user.as_deref(), cmd).await?;
        }
        Cmd::Volunteers(cmd) => {
            let s = open_initialised(&cli.db).await?;
            volunteers::volunteers(&s, cli.as_user.as_deref(), cmd).await?;
        }
        Cmd::Bulletins(cmd) => {
            let s = open_initialised(&cli.db).await?;
            volunteers::bulletins(&s, cli.as_user.as_deref(), cmd).await?;
        }
        Cmd::Verification(cmd) => {
            let s = open_initialised(&cli.db).await?;
            verification::run(&s, cli.as_user.as_deref(), cmd).await?;
        }
        Cmd::Flags { unit, all, json } => {
            let s = open_initialised(&cli.db).await?;
            verification::flags(&s, cli.as_user.as_deref(), &unit, all, json).await?;
        }
        Cmd::Leaderboard { unit, wing, limit, json } => {
            let s = open_initialised(&cli.db).await?;
            verification::leaderboard(&s, cli.as_user.as_deref(), &unit, wing.as_deref(), limit, json).await?;
        }
        Cmd::Detect { json } => {
            let s = open_initialised(&cli.db).await?;
            verification::detect(&s, cli.as_user.as_deref(), json).await?;
        }
        Cmd::ResolveFlag { id, verdict, note } => {
            let s = open_initialised(&cli.db).await?;
            verification::resolve(&s, cli.as_user.as_deref(), id, verdict.trim(), &note).await?;
        }
        Cmd::Audit(cmd) => return users::audit(&cli.db, cmd).await,
        Cmd::Member(cmd) => users::member(&cli.db, cli.as_user.as_deref(), cmd).await?,
        Cmd::Progress {
            unit,
            campaign,
            json,
        } => {
            let s = open_initialised(&cli.db).await?;
            let op = access::Operator::resolve(&s, cli.as_user.as_deref()).await?;
            op.must_be_able(Action::ViewUnit)?;
            op.wings(Action::ViewUnit, &unit).await?;
            let p = s
                .progress(&unit, campaign.as_deref(), clock::today())
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                print_progress(&p);
            }
        }
        Cmd::Verify => {
            let s = open_initialised(&cli.db).await?;
            // A first load interrupted and never run again left indexes out (verify reads by
            // them): build them now.
            restore_left_out(&s, "verify").await?;
            let m = s.verify().await?;
            if m.is_empty() {
                println!("ok: every counter and target agrees with the base rows");
            } else {
                for x in &m {
                    println!("MISMATCH {x}");
                }
                eprintln!("{} mismatch(es)", m.len());
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Token(TokenCmd::Issue { admin, user }) => {
            let s = open_initialised(&cli.db).await?;
            match (admin, user) {
                (true, _) => {
                    access::Operator::operator(&s)
                        .audit("issue-token", Some("operator".into()), None)
                        .await?;
                    println!("{}", s.issue_token("admin", "cli").await?)
                }
                (false, Some(m)) => println!("{}", users::user_token(&s, &m).await?),
                (false, None) => bail!("say whose token: --admin or --user MOBILE"),
            }
        }
        Cmd::Units(UnitsCmd::ImportBooths { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rows = preset::read_booths(&text).map_err(|e| anyhow!(e))?;
            let s = open_initialised(&cli.db).await?;
            let n = s.import_booths(&rows).await?;
            access::Operator::operator(&s)
                .audit(
                    "import-booths",
                    Some(format!("{n} booths from {}", file.display())),
                    None,
                )
                .await?;
            println!(
                "imported {n} booths; targets re-split and counters rebuilt for the ACs in the file"
            );
        }
        Cmd::Units(UnitsCmd::Show { code, json }) => {
            let s = open_initialised(&cli.db).await?;
            let op = access::Operator::resolve(&s, cli.as_user.as_deref()).await?;
            op.must_be_able(Action::ViewUnit)?;
            op.wings(Action::ViewUnit, &code).await?;
            let u = s
                .unit(&code)
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {code}"))?;
            let kids = s.children(&code).await?.unwrap_or_default();
            if json {
                println!("{}", serde_json::json!({"unit": u, "children": kids}));
            } else {
                println!(
                    "{} {} ({}{})",
                    u.code,
                    u.name,
                    u.kind.as_str(),
                    u.name_hi.map(|h| format!(", {h}")).unwrap_or_default()
                );
                for k in kids {
                    println!("  {:<22} {}", k.code, k.name);
                }
            }
        }
        Cmd::Import(ImportCmd::Members {
            file,
            wing,
            dry_run,
            json,
            errors,
            verified,
        }) => {
            let s = open_initialised(&cli.db).await?;
            let op = access::Operator::resolve(&s, cli.as_user.as_deref()).await?;
            op.must_be_able(Action::Import)?;
            if verified {
                meetings::installation_wide(&op).map_err(|_| anyhow::anyhow!("only the state office may import members as already verified"))?;
            }
            let action = match (dry_run, verified) {
                (true, true) => "import-verified-dry-run",
                (true, false) => "import-dry-run",
                (false, true) => "import-verified",
                (false, false) => "import",
            };
            op.audit(action, Some(file.display().to_string()), None)
                .await?;
            let bar = if json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new_spinner()
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} import {human_pos} rows {per_sec} {elapsed} {msg}",
                )
                .expect("template"),
            );
            let opt = bulk::ImportOptions {
                scope: op.scope.clone(),
                actor: op.actor.clone(),
                wing: wing.as_deref(),
                dry_run,
                errors: errors.as_deref(),
                progress: &|n| bar.set_position(n),
                warn: &|w| eprintln!("warning: {w}"),
                channel: "import",
                file_name: None,
                verified,
                batch: bulk::CLI_BATCH,
                defer_indexes: Some(&|what| bar.set_message(what.to_string())),
            };
            let keep = alloc::KeepFreed::new();
            let t = bulk::import_members(&s, &file, opt).await?;
            drop(keep);
            bar.finish_and_clear();
            if json {
                // The keys in the order the issue writes them (serde_json's map would sort them).
                println!(
                    "{{\"rows\":{},\"blank\":{},\"created_people\":{},\"created_memberships\":{},\"duplicates\":{},\"rejected\":{}}}",
                    t.rows, t.blank, t.created_people, t.created_memberships, t.duplicates, t.rejected
                );
            } else {
                println!(
                    "{}{} rows: {} new memberships ({} new people), {} duplicates, {} rejected, {} blank",
                    if dry_run {
                        "dry run, nothing written: "
                    } else {
                        ""
                    },
                    t.rows,
                    t.created_memberships,
                    t.created_people,
                    t.duplicates,
                    t.rejected,
                    t.blank
                );
            }
        }
        Cmd::Export(ExportCmd::Members {
            unit,
            wing,
            format,
            out,
        }) => {
            let s = open_initialised(&cli.db).await?;
            let op = access::Operator::resolve(&s, cli.as_user.as_deref()).await?;
            op.must_be_able(Action::Export)?;
            let wings = op
                .wings_named(Action::Export, &unit, wing.as_deref())
                .await?;
            op.audit("export", Some(unit.to_ascii_uppercase()), None)
                .await?;
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} export {human_pos} rows {per_sec}")
                    .expect("template"),
            );
            let n = bulk::export_members(&s, &unit, &wings, format, &out, &|n| bar.set_position(n))
                .await?;
            bar.finish_and_clear();
            eprintln!("exported {n} memberships to {}", out.display());
        }
        Cmd::Search {
            unit,
            text,
            json,
            limit,
        } => {
            let s = open_initialised(&cli.db).await?;
            let op = access::Operator::resolve(&s, cli.as_user.as_deref()).await?;
            op.must_be_able(Action::ViewMembers)?;
            let wings = op.wings(Action::ViewMembers, &unit).await?;
            op.audit("search-members", Some(unit.to_ascii_uppercase()), None)
                .await?;
            let page = s
                .search(&unit, &text, &wings, 0, limit)
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
            } else if page.members.is_empty() {
                println!("no member of {unit} matches {text:?}");
            } else {
                for h in &page.members {
                    println!(
                        "{:>10}  {:<32} {:<18} {:<10} {}",
                        h.person_id, h.name, h.membership_number, h.wing, h.unit
                    );
                }
            }
        }
        Cmd::Bench {
            members,
            runs,
            out,
            work,
            label,
            existing,
            load_seconds,
            load_command,
            load_baseline,
        } => {
            bench::run(
                &cli.db,
                bench::Options {
                    members,
                    runs,
                    out,
                    work,
                    label,
                    existing,
                    load_seconds,
                    load_command,
                    load_baseline,
                },
            )
            .await?
        }
        Cmd::Drill(cmd) => return drill::run(&cli.db, cmd).await,
        Cmd::Duplicates { unit, json, limit } => {
            merges::duplicates(&cli.db, cli.as_user.as_deref(), &unit, json, limit).await?
        }
        Cmd::Merge {
            from,
            word,
            into,
            json,
        } => merges::merge(&cli.db, from, &word, into, json).await?,
        Cmd::Unmerge { merge_id, json } => merges::unmerge(&cli.db, merge_id, json).await?,
        Cmd::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&sangathan_server::openapi())?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The server's configuration: `SANGATHAN_LOG_CODES=1` writes one-time codes to the log
/// (development, when no SMS provider is configured; on by default for `demo --serve` only).
fn dev_config(secure_cookies: bool, demo: bool) -> anyhow::Result<sangathan_server::Config> {
    sangathan_server::Config {
        secure_cookies,
        // Codes in the log are for development only: on for `demo --serve`, otherwise only when asked.
        log_codes: match std::env::var("SANGATHAN_LOG_CODES").as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => demo,
        },
        ..Default::default()
    }
    .from_env()
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(a), Some(b)) if b > a => format!("{}://…@{}", &url[..a], &url[b + 1..]),
        _ => url.to_string(),
    }
}

/// The demo's members: `n` honest ones enrolled by a few workers per AC, then `fake_share` × n
/// more through fake patterns. Returns (honest, fake) enrolments accepted.
async fn load_demo(s: &DynStore, n: u64, seed: u64, fake_share: f64) -> anyhow::Result<(u64, u64)> {
    let _keep = alloc::KeepFreed::new();
    let booths = s.booth_codes().await?;
    let acs: Vec<(String, Vec<String>)> = booths.clone();
    let campaign = s
        .campaigns()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no campaign"))?;
    let start = clock::ist()
        .from_local_datetime(
            &campaign
                .start_date
                .and_hms_opt(6, 0, 0)
                .expect("valid time"),
        )
        .single()
        .expect("fixed offset")
        .to_utc();
    let now = clock::now();
    if now - start < chrono::Duration::days(7) {
        // `demo` on a database made by `init` (campaign starting today) squeezes every
        // enrolment into the hours since: enrollers then look like padding (hourly rate).
        eprintln!(
            "demo: the campaign started {} hours ago, so every enrolment falls within them; `demo` on a fresh database backdates the campaign 120 days",
            (now - start).num_hours().max(0)
        );
    }
    let mut g = demo::Generator::new(seed, booths, start, now.max(start));
    let bar = ProgressBar::new(n);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} demo members {bar:40} {human_pos}/{human_len} {per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    let (mut ok, mut rejected) = (0u64, 0u64);
    // Into an empty database the indexes no write needs are built once, after the load.
    let deferred = s.defer_indexes().await?;
    // Members are generated on a thread of their own while the store writes the batch before
    // (one batch waits at most); larger batches rewrite each index page fewer times.
    let demo_batch = move |done: u64| if deferred { bulk::load_batch(done) } else { bulk::CLI_BATCH } as u64;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let generator = std::thread::spawn(move || {
        let mut i = 0u64;
        while i < n {
            let end = (i + demo_batch(i)).min(n);
            let rows: Vec<_> = (i..end)
                .map(|k| {
                    let m = g.member(k);
                    let worker = demo::worker_of(seed, k, &m.unit);
                    (
                        m,
                        EnrolContext {
                            actor: worker,
                            channel: "demo".into(),
                            at: g.enrolled_at(k),
                            scope: None,
                            consent: None,
                            audit: None,
                        },
                    )
                })
                .collect();
            if tx.blocking_send((end, rows)).is_err() {
                break;
            }
            i = end;
        }
        g
    });
    while let Some((end, rows)) = rx.recv().await {
        for r in s.enrol_batch(&rows).await? {
            match r {
                Ok(_) => ok += 1,
                Err(_) => rejected += 1,
            }
        }
        bar.set_position(end);
    }
    let mut g = generator
        .join()
        .map_err(|_| anyhow!("the demo's generator stopped unexpectedly"))?;
    bar.finish();
    eprintln!(
        "demo: {ok} enrolments accepted, {rejected} rejected by the identity rules (seed {seed})"
    );
    let fake_n = (n as f64 * fake_share).round() as u64;
    let mut fake_ok = 0;
    if fake_n > 0 {
        let rows = demo::fake_members(&mut g, seed, n, fake_n, &acs, now);
        for chunk in rows.chunks(5_000) {
            fake_ok += s.enrol_batch(chunk).await?.iter().filter(|r| r.is_ok()).count() as u64;
        }
        eprintln!("demo: {fake_ok} members enrolled through fake patterns (padding, number runs, shared addresses)");
    }
    if deferred {
        let t = std::time::Instant::now();
        s.restore_indexes().await?;
        eprintln!("demo: built the indexes left out of the load in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok((ok, fake_ok))
}

fn print_progress(p: &sangathan_store::Progress) {
    println!(
        "campaign {} (wing {}), as of {}; % and pace count {} members",
        p.campaign, p.wing, p.as_of, p.counts
    );
    let header = format!(
        "{:<26} {:<28} {:>11} {:>11} {:>11} {:>7} {:>11} {:>9} {:>8}",
        "unit", "name", "target", "achieved", "verified", "%", "needed", "need/day", "7d/day"
    );
    println!("{header}");
    let row = |r: &sangathan_store::ProgressRow| {
        let name: String = r.name.chars().take(28).collect();
        println!(
            "{:<26} {:<28} {:>11} {:>11} {:>11} {:>7.1} {:>11} {:>9.1} {:>8.1}",
            r.code, name, r.target, r.achieved, r.verified, r.percent, r.needed, r.daily_needed, r.rate_7d
        );
    };
    row(&p.unit);
    println!("{}", "-".repeat(header.chars().count()));
    for c in &p.children {
        row(c);
    }
}
