// The storage logic shared by both backends. This file is `include!`d into `sqlite.rs` and
// `postgres.rs`, where `DB` is the native sqlx database type and `StoreImpl` the backend's store;
// each backend supplies `begin_write`, `lock_keys` and `is_retryable`. Placeholders are `$n`,
// which both drivers accept; everything else here is SQL both engines run the same way.

use crate::load_index::LoadIndex;
use crate::model::*;
use crate::{Actor, Backend, Idempotent, Result, Store, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sangathan_core::access::{Action, Place, Wings};
use sangathan_core::geo::{Ancestors, BoothRow, Preset, UnitCode, UnitKind, UnitSpec};
use sangathan_core::identity::{self, Claim, Decision, Known};
use sangathan_core::ids::{Epic, Mobile};
use sangathan_core::verification::{Drive, Method};
use sangathan_core::{FieldError, Invalid};
use sqlx::{AssertSqlSafe, QueryBuilder, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::{FastMap, FastSet};

type Conn = <DB as sqlx::Database>::Connection;

const CANDIDATES: u32 = crate::SEARCH_CANDIDATES;

/// Membership statuses that count towards `achieved`.
const COUNTED: &str = "('pending','verified')";

const UNIT_COLS: &str = "u.id, u.code, u.kind, u.parent_id, u.number, u.name_en, u.name_hi, u.reserved, \
                         u.state_id, u.division_id, u.district_id, u.pc_id, u.ac_id, u.sector_id";

type UnitTuple = (
    i64,
    String,
    String,
    Option<i64>,
    Option<i32>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn spec_of(t: UnitTuple) -> UnitSpec {
    UnitSpec {
        id: t.0,
        code: UnitCode::parse(&t.1).expect("stored unit codes are valid"),
        kind: UnitKind::parse(&t.2).expect("stored unit kinds are valid"),
        parent_id: t.3,
        number: t.4,
        name_en: t.5,
        name_hi: t.6,
        reserved: t.7,
        anc: Ancestors { state: t.8, division: t.9, district: t.10, pc: t.11, ac: t.12, sector: t.13 },
    }
}

/// Units down to sectors keep per-day counts (the 7-day rate of an AC's sectors is then a read);
/// a booth's last 7 days are counted from its members (a few hundred rows).
fn keeps_daily(kind: UnitKind) -> bool {
    kind != UnitKind::Booth
}

/// The units whose daily counts an enrolment at `u` moves.
fn daily_rollup_of(id: i64, kind: UnitKind, anc: &Ancestors) -> Vec<i64> {
    let mut v: Vec<i64> = [anc.state, anc.division, anc.district, anc.pc, anc.ac, anc.sector].into_iter().flatten().collect();
    if keeps_daily(kind) {
        v.push(id);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The AC a unit at or below AC level belongs to (itself for an AC).
fn ac_of(u: &UnitSpec) -> Option<i64> {
    ac_of_parts(u.id, u.kind, &u.anc)
}

fn ac_of_parts(id: i64, kind: UnitKind, anc: &Ancestors) -> Option<i64> {
    if kind == UnitKind::Ac { Some(id) } else { anc.ac }
}

/// Where a unit sits, for the access policy.
fn place_of(u: &UnitSpec) -> Place {
    Place { id: u.id, kind: u.kind, anc: u.anc }
}

/// The SQL condition for the wings a caller may see (`m` is the membership).
fn wings_filter(w: &Wings) -> String {
    wings_in("m.wing_id", w)
}

/// The SQL condition for the wings a caller may see, on the wing column `col`.
fn wings_in(col: &str, w: &Wings) -> String {
    match w {
        Wings::All => "1 = 1".into(),
        Wings::Only(set) if set.is_empty() => "1 = 0".into(),
        Wings::Only(set) => format!("{col} IN ({})", set.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
    }
}

/// Counter changes gathered during a transaction and written at its end in a fixed order
/// (PostgreSQL's primary-key order, so that its concurrent writers lock rows in one order; SQLite,
/// one writer, keeps its daily rows in day order, its migration 0024).
/// Each map holds (achieved, verified) changes: per unit, wing and AC, and per unit, wing, day
/// and AC (the enrolment day for achieved, the verification day for verified).
///
/// Every counter row is keyed by the AC of the memberships it counts (`ac_id`): a state's,
/// division's, district's or PC's figure is the sum of one row per AC below it. So an enrolment
/// writes only rows of its own AC, enrolments in different ACs never wait on one another's row
/// locks (PostgreSQL), and the AC is the distribution key of a sharded deployment
/// (docs/scale-out.md). `verify` recounts every (unit, wing, AC) row from the memberships.
#[derive(Default)]
struct Deltas {
    /// As counted: per unit, wing and day (the enrolment day for achieved, the verification day
    /// for verified), with where the unit sits; spread over its ancestors once, when applied (a
    /// batch of thousands of rows touches a few hundred units; a first load's batch of a
    /// million, a few hundred thousand (booth, day) pairs).
    by_unit: FastMap<(i64, i64, NaiveDate), (UnitKind, Ancestors, i64, i64)>,
}

/// Counter rows as gathered: (achieved, verified) per (unit, wing, AC) and per (unit, wing, day, AC).
type AchievedRows = FastMap<(i64, i64, i64), (i64, i64)>;
type DailyRows = FastMap<(i64, i64, NaiveDate, i64), (i64, i64)>;
/// One counter's change: (unit, wing, AC) → (achieved, verified).
type AchievedRow = ((i64, i64, i64), (i64, i64));
/// One per-day count's change: (unit, wing, day, AC) → (enrolled, verified).
type DailyRow = ((i64, i64, NaiveDate, i64), (i64, i64));

impl Deltas {
    /// A membership enrolled on `day` starts or stops counting towards achieved.
    fn count(&mut self, u: &UnitSpec, wing_id: i64, day: NaiveDate, by: i64) {
        self.by_unit.entry((u.id, wing_id, day)).or_insert((u.kind, u.anc, 0, 0)).2 += by;
    }

    /// A membership verified on `day` starts or stops counting as verified.
    fn count_verified(&mut self, u: &UnitSpec, wing_id: i64, day: NaiveDate, by: i64) {
        self.by_unit.entry((u.id, wing_id, day)).or_insert((u.kind, u.anc, 0, 0)).3 += by;
    }

    /// The counter rows to change, every ancestor included, in PostgreSQL's key order (the order
    /// they are written in, so that its writers lock them in one order).
    #[allow(clippy::type_complexity)]
    fn spread(self) -> (Vec<AchievedRow>, Vec<DailyRow>) {
        let (mut achieved, mut daily) = (AchievedRows::default(), DailyRows::default());
        self.spread_into(&mut achieved, &mut daily);
        let mut achieved: Vec<_> = achieved.into_iter().filter(|(_, n)| *n != (0, 0)).collect();
        let mut daily: Vec<_> = daily.into_iter().filter(|(_, n)| *n != (0, 0)).collect();
        achieved.sort_unstable_by_key(|r| r.0);
        daily.sort_unstable_by_key(|r| r.0);
        (achieved, daily)
    }

    /// [`Self::spread`], added to rows already gathered. The days are folded away before the
    /// achieved rows are spread (they have no day), and a booth's days into its sector's (a booth
    /// keeps no daily row, and its daily rows above are its sector's): each is then spread over
    /// its ancestors once.
    fn spread_into(self, achieved: &mut AchievedRows, daily: &mut DailyRows) {
        let mut per_unit: FastMap<(i64, i64), (UnitKind, Ancestors, i64, i64)> = FastMap::default();
        // Keyed by the lowest unit keeping daily rows (a booth's sector; a booth without one keys
        // on itself); the value's unit is one that counted there (all share their daily rows and AC).
        let mut per_day: FastMap<(i64, i64, NaiveDate), (i64, UnitKind, Ancestors, i64, i64)> = FastMap::default();
        per_day.reserve(self.by_unit.len());
        for ((unit_id, wing_id, day), (kind, anc, n, v)) in self.by_unit {
            let e = per_unit.entry((unit_id, wing_id)).or_insert((kind, anc, 0, 0));
            e.2 += n;
            e.3 += v;
            let lowest = if keeps_daily(kind) { unit_id } else { anc.sector.unwrap_or(unit_id) };
            let e = per_day.entry((lowest, wing_id, day)).or_insert((unit_id, kind, anc, 0, 0));
            e.3 += n;
            e.4 += v;
        }
        for ((unit_id, wing_id), (kind, anc, n, v)) in per_unit {
            let ac = ac_of_parts(unit_id, kind, &anc).unwrap_or(0);
            for id in anc.rollup(unit_id) {
                let e = achieved.entry((id, wing_id, ac)).or_default();
                e.0 += n;
                e.1 += v;
            }
        }
        for ((_, wing_id, day), (unit_id, kind, anc, n, v)) in per_day {
            let ac = ac_of_parts(unit_id, kind, &anc).unwrap_or(0);
            for id in daily_rollup_of(unit_id, kind, &anc) {
                let e = daily.entry((id, wing_id, day, ac)).or_default();
                e.0 += n;
                e.1 += v;
            }
        }
    }

    async fn apply(self, c: &mut Conn) -> Result<()> {
        let (achieved, daily) = self.spread();
        StoreImpl::add_counts(c, &achieved, &daily).await
    }
}

/// What stays the same for every row of a batch.
struct Settings {
    state: String,
    household_limit: usize,
    wings: HashMap<String, (i64, String)>,
    /// ACs' numbers by unit id, as looked up (like `units`).
    ac_numbers: std::sync::Mutex<HashMap<i64, i32>>,
    /// Enrolment units already looked up (by any writer since the settings were read; see
    /// [`SettingsCache`]): the unit and its AC's number.
    units: std::sync::Mutex<HashMap<String, (UnitSpec, i32)>>,
}

enum Fail {
    Invalid(Invalid),
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Store(StoreError::Db(e))
    }
}
impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}
impl From<FieldError> for Fail {
    fn from(e: FieldError) -> Self {
        Fail::Invalid(Invalid::one(e))
    }
}

async fn meta(c: &mut Conn, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(&mut *c).await?)
}

async fn set_meta(c: &mut Conn, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&mut *c)
        .await?;
    Ok(())
}

async fn unit_by_code(c: &mut Conn, code: &str) -> Result<Option<UnitSpec>> {
    let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE u.code = $1");
    let row: Option<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).bind(code.trim().to_ascii_uppercase()).fetch_optional(&mut *c).await?;
    Ok(row.map(spec_of))
}

async fn all_units(c: &mut Conn) -> Result<Vec<UnitSpec>> {
    let sql = format!("SELECT {UNIT_COLS} FROM units u ORDER BY u.id");
    let rows: Vec<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&mut *c).await?;
    Ok(rows.into_iter().map(spec_of).collect())
}

async fn settings(c: &mut Conn) -> Result<Settings> {
    let state = meta(c, "state_code").await?.ok_or(StoreError::NotInitialised)?;
    let household_limit =
        meta(c, "household_limit").await?.and_then(|v| v.parse().ok()).unwrap_or(identity::DEFAULT_HOUSEHOLD_LIMIT);
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT id, code, name_en, name_hi FROM wings").fetch_all(&mut *c).await?;
    let mut wings = HashMap::new();
    for (id, code, en, hi) in rows {
        // A wing may be named by its code or its display name in either language.
        for k in [code.to_lowercase(), en.to_lowercase(), hi.clone()] {
            wings.insert(k, (id, code.clone()));
        }
    }
    Ok(Settings { state, household_limit, wings, ac_numbers: Default::default(), units: Default::default() })
}

fn unknown_unit(code: &str) -> FieldError {
    FieldError::new("unit", "unknown_unit", format!("unknown unit: {code}"), format!("अज्ञात इकाई: {code}"))
}

/// An enrolment by a scoped enroller of a person whose memberships all lie outside the scope:
/// nothing about them is shown or changed.
fn held_elsewhere(by_epic: bool) -> FieldError {
    FieldError::new(
        if by_epic { "epic" } else { "mobile" },
        "registered_elsewhere",
        "this person is already registered elsewhere in the organisation; ask your district or state office to enrol them here",
        "यह व्यक्ति संगठन में कहीं और पहले से दर्ज है; यहाँ जोड़ने के लिए अपने ज़िला या प्रदेश कार्यालय से कहें",
    )
}

fn unknown_wing(w: &str) -> FieldError {
    FieldError::new("wing", "unknown_wing", format!("unknown wing: {w}"), format!("अज्ञात शाखा: {w}"))
}

/// The membership unit an enrolment names: a booth, or an AC when the booth is unknown.
async fn enrolment_unit(c: &mut Conn, code: &str) -> Result<UnitSpec, Fail> {
    let parsed = UnitCode::parse(code)?;
    if let Some(u) = unit_by_code(c, parsed.as_str()).await? {
        if u.kind.can_hold_members() {
            return Ok(u);
        }
        return Err(FieldError::new(
            "unit",
            "not_a_booth_or_ac",
            format!("{} is a {}; members are enrolled at a booth or an assembly constituency", u.code, u.kind.as_str()),
            format!("{} एक {} है; सदस्य बूथ या विधानसभा स्तर पर ही जोड़े जाते हैं", u.code, u.kind.as_str()),
        )
        .into());
    }
    // A booth code whose AC exists: say which part is wrong.
    if let Some((ac, part)) = parsed.as_str().rsplit_once("-B")
        && unit_by_code(c, ac).await?.is_some_and(|u| u.kind == UnitKind::Ac)
    {
        return Err(FieldError::new(
            "unit",
            "unknown_booth",
            format!("{ac} has no booth number {}", part.trim_start_matches('0')),
            format!("{ac} में बूथ संख्या {} नहीं है", part.trim_start_matches('0')),
        )
        .into());
    }
    Err(unknown_unit(parsed.as_str()).into())
}

type KnownRow = (i64, String, Option<String>, Option<String>);

fn known(r: KnownRow) -> Known {
    Known { person_id: r.0, name_key: r.1, mobile: r.2.map(Mobile::from_stored), epic: r.3.map(Epic::from_stored) }
}

/// A person created by this batch, written at its end.
struct NewPerson {
    id: i64,
    name: String,
    name_key: String,
    search_key: String,
    gender: Option<&'static str>,
    birth_year: Option<i32>,
    address: Option<String>,
    mobile: Option<String>,
    epic: Option<String>,
    unit_id: i64,
    /// The AC of the membership the person is created with (see `leave_home_ac`).
    home_ac: i64,
    created_at: DateTime<Utc>,
}

/// An enrolment's answer kept under its idempotency key: (actor, key, request hash, status,
/// response, at).
type KeptAnswer = (String, String, String, i32, String, DateTime<Utc>);

/// A membership created by this batch.
struct NewMembership {
    person_id: i64,
    wing_id: i64,
    unit_id: i64,
    ac_id: i64,
    number: String,
    channel: String,
    enrolled_by: String,
    enrolled_at: DateTime<Utc>,
    enrolled_on: NaiveDate,
}

use crate::dry_run::{DryRun, Held as HeldMembership};

/// How many values one statement binds as an IN list (SQLite's `fetch_in`; idempotency keys, 512
/// once padded).
const IN_CHUNK: usize = 500;

/// Indexes that no write relies on (listings, roll-up scans and verify, duplicate review, the
/// enroller's activity) and that a load into an empty database builds afterwards
/// (`defer_indexes`), with the backend's own (`DEFERRABLE_HERE`: the search index; on
/// PostgreSQL also the foreign keys of people and memberships, validated when put back, while a
/// booth list, the only writer that removes units, is refused until the load ends). One unique
/// index is among them, people's (mobile, name key) (on PostgreSQL also the EPIC's): while it
/// is left out the loading process decides identity with its own index ([`LoadIndex`]) and every
/// other writer of people is refused ([`first_load_guard`]); the build makes it again, and stops
/// with the load pending should the rows break it.
const DEFERRABLE: &[&str] = &["people_mobile_name", "people_search_key", "people_unit_name", "memberships_unit", "memberships_ac", "memberships_enroller", "memberships_ac_enroller", "memberships_person_ac"];

/// The `meta` key holding the deferred indexes' definitions while they are left out.
const DEFERRED_INDEXES: &str = "deferred_indexes";

/// In a kept definition, what follows this runs at the end of the build, just before it commits
/// (PostgreSQL attaching a unique index as its constraint, which locks readers out too).
const LAST_PART: &str = "\n/* last */\n";

/// The `meta` key naming the process that owns a pending first load: its index's token.
const FIRST_LOAD_OWNER: &str = "first_load_owner";

/// People's identifiers a batch wrote (id, mobile, EPIC, as stored), for the load's index once
/// the batch commits.
type Learned = (i64, Option<String>, Option<String>);

/// What an import batch is for: a real import's job (its checkpoint goes in the batch's
/// transaction), or a dry run's, which writes nothing: the people and memberships its earlier
/// batches would have made (`carry`, which learns this one) and the error report's lines this
/// one would have stored (`report`).
enum BatchFor<'a> {
    Job(i64),
    Dry { carry: &'a mut DryRun, report: &'a mut Vec<ImportError> },
}

/// Taken first in every transaction that writes people's identities: refused while a first load
/// is pending under another owner than `owner` (the identity index it left out cannot check the
/// write, and the load's own index would not know it). True when `owner` owns the pending load;
/// false when none is pending.
async fn first_load_guard(c: &mut Conn, owner: Option<&str>) -> Result<bool> {
    StoreImpl::first_load_lock(c, false).await?;
    match meta(c, FIRST_LOAD_OWNER).await? {
        None => Ok(false),
        Some(o) if Some(o.as_str()) == owner => Ok(true),
        Some(_) => Err(StoreError::LoadPending),
    }
}

/// A committed batch's identifiers, taught to the load's index.
fn learn(ix: &mut Option<LoadIndex>, learned: Vec<Learned>) {
    if let Some(ix) = ix {
        for (id, m, e) in learned {
            ix.learn(id, m.as_deref(), e.as_deref());
        }
    }
}

impl StoreImpl {
    /// `restore_indexes`' transaction: the kept definitions run again, then the backend's
    /// follow-up (the search index filled from the table, the keys checked, fresh statistics).
    /// False when nothing was deferred: a reader says so first, without the write lock or the
    /// backend's preparations, and the transaction says so again under the lock.
    async fn build_deferred(&self) -> Result<bool> {
        if meta(&mut *self.read.acquire().await?, DEFERRED_INDEXES).await?.is_none() {
            return Ok(false);
        }
        let (tx, mut build) = self.begin_build().await?;
        let built = Self::build_in(tx, &mut build).await;
        build.finish(built.is_err()).await;
        built
    }

    /// `build_deferred` in `tx`, with `build` (the backend's work beside it) started once the
    /// transaction holds the lock.
    async fn build_in(mut tx: Transaction<'static, DB>, build: &mut Build) -> Result<bool> {
        StoreImpl::lock_keys(&mut tx, &[DEFERRED_INDEXES.to_string()]).await?;
        let Some(kept) = meta(&mut tx, DEFERRED_INDEXES).await? else {
            return Ok(false);
        };
        let sqls: Vec<String> = serde_json::from_str(&kept).map_err(|e| StoreError::Refused(format!("{DEFERRED_INDEXES}: {e}")))?;
        build.start();
        StoreImpl::before_index_builds(&mut tx).await?;
        let mut last = Vec::new();
        for sql in sqls {
            let mut parts = sql.split(LAST_PART);
            if let Some(now) = parts.next() {
                sqlx::query(AssertSqlSafe(now.to_string())).execute(&mut *tx).await?;
            }
            last.extend(parts.map(String::from));
        }
        StoreImpl::after_index_builds(&mut tx, build).await?;
        for sql in last {
            sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM meta WHERE key IN ($1, $2)").bind(DEFERRED_INDEXES).bind(FIRST_LOAD_OWNER).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Rows at least this many go through the backend's bulk path (COPY on PostgreSQL) when it has
/// one; fewer (an HTTP enrolment's group) cost less as one multi-row INSERT.
const BULK_ROWS: usize = 64;

/// One statement per chunk of `rows`, in order, each built by `build`. The next statement is
/// built while the one before runs: polled once, a statement is on its way to the connection
/// (on SQLite its own thread runs it; on PostgreSQL a statement not yet prepared sends only its
/// preparation), so building one and running the other share the two cores instead of taking
/// turns. A failed statement stops the rest, as awaiting each would.
async fn run_chunks<T>(c: &mut Conn, rows: &[T], size: usize, build: impl Fn(&[T]) -> QueryBuilder<DB>) -> Result<()> {
    let mut chunks = pow2_chunks(rows, size).into_iter();
    let Some(first) = chunks.next() else { return Ok(()) };
    let mut qb = build(first);
    for next in chunks {
        let built = {
            let mut running = std::pin::pin!(qb.build().execute(&mut *c));
            let started = futures::poll!(running.as_mut());
            let built = build(next);
            match started {
                std::task::Poll::Ready(done) => done?,
                std::task::Poll::Pending => running.await?,
            };
            built
        };
        qb = built;
    }
    qb.build().execute(&mut *c).await?;
    Ok(())
}

/// `rows` as the slices that one multi-row statement each takes: `size` rows at a time, then what
/// is left in powers of two, largest first (37 rows: 32, 4, 1). A statement's text changes with
/// its row count, so an enrolment group of any size (1 to 256) now takes a few of about ten
/// texts per statement, which the connection keeps prepared, instead of a text of its own size,
/// prepared anew whenever the cache had let it go (on SQLite 4 % of the writer's time went to
/// parsing and preparing under 64 clients).
fn pow2_chunks<T>(rows: &[T], size: usize) -> Vec<&[T]> {
    assert!(size > 0, "chunks of no rows");
    let mut out = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let n = if rest.len() >= size { size } else { 1 << rest.len().ilog2() };
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

/// `items` repeated at their end up to the next power of two (at least one item): an `IN` list's
/// placeholders then come in few counts, each one statement text (see [`pow2_chunks`]).
fn pow2_padded<T: Clone>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    if let Some(last) = items.last() {
        v.resize(items.len().next_power_of_two(), last.clone());
    }
    v
}

/// What `enrol_rows`' decider asks of the connection, run in order by its writer: a statement,
/// or ids for new people (the range reserved, sent back).
enum Ask {
    Run(QueryBuilder<DB>),
    Reserve(i64, futures::channel::oneshot::Sender<Result<(i64, i64)>>),
}

/// Pending once, asking to be polled again at once: lets the futures polled beside this one
/// (a writer waiting on its statement) take their turn.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// One CSV field as PostgreSQL's `COPY … (FORMAT csv)` reads it: absent is NULL (unquoted
/// empty), anything else quoted with `"` doubled (so an empty string stays an empty string).
fn csv_field(out: &mut String, v: Option<&str>) {
    if let Some(v) = v {
        out.push('"');
        for ch in v.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    }
}

/// The rows of a batch as CSV lines, `fields` giving each row's values in column order.
/// Timestamps are written to the microsecond, PostgreSQL's precision, as sqlx binds them (a
/// COPY and an INSERT of the same row store the same instant).
fn csv_rows<T>(rows: &[T], fields: impl Fn(&T) -> Vec<Option<String>>) -> String {
    let mut out = String::with_capacity(rows.len() * 160);
    for r in rows {
        for (i, f) in fields(r).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, f.as_deref());
        }
        out.push('\n');
    }
    out
}

/// Write a batch's new people: through the backend's bulk path for a large batch (COPY on
/// PostgreSQL), else multi-row INSERTs.
async fn write_people(c: &mut Conn, new_people: &[NewPerson]) -> Result<()> {
    if StoreImpl::BULK_COPY && new_people.len() >= BULK_ROWS {
        let csv = csv_rows(new_people, |p| {
            vec![
                Some(p.id.to_string()),
                Some(p.name.clone()),
                Some(p.name_key.clone()),
                Some(p.search_key.clone()),
                p.gender.map(String::from),
                p.birth_year.map(|y| y.to_string()),
                p.address.clone(),
                p.mobile.clone(),
                p.epic.clone(),
                Some(p.unit_id.to_string()),
                Some(p.home_ac.to_string()),
                Some(p.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            ]
        });
        if StoreImpl::copy_csv(c, PEOPLE_COLS, csv).await? {
            return Ok(());
        }
    }
    StoreImpl::insert_people(c, new_people).await
}

/// The columns a batch writes for each new person and each new membership (COPY or INSERT).
const PEOPLE_COLS: &str = "people (id, name, name_key, search_key, gender, birth_year, address, mobile, epic, unit_id, home_ac, created_at)";
const MEMBER_COLS: &str = "memberships (person_id, wing_id, unit_id, ac_id, number, status, channel, enrolled_by, enrolled_at, enrolled_on)";

/// New people's or memberships' rows per INSERT where one is used.
const WRITE_CHUNK: usize = 400;

/// At most this many statements wait for `enrol_rows`' writer (each holds a copy of its rows).
const QUEUED_STATEMENTS: usize = 16;

/// One INSERT of new people.
fn people_insert(chunk: &[NewPerson]) -> QueryBuilder<DB> {
    let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("{} {PEOPLE_COLS} ", StoreImpl::INSERT_ROWS));
    qb.push_values(chunk, |mut b, p| {
        b.push_bind(p.id)
            .push_bind(p.name.clone())
            .push_bind(p.name_key.clone())
            .push_bind(p.search_key.clone())
            .push_bind(p.gender)
            .push_bind(p.birth_year)
            .push_bind(p.address.clone())
            .push_bind(p.mobile.clone())
            .push_bind(p.epic.clone())
            .push_bind(p.unit_id)
            .push_bind(p.home_ac)
            .push_bind(p.created_at);
    });
    qb
}

/// Write a batch's new memberships, like [`write_people`].
async fn write_memberships(c: &mut Conn, new_members: &[NewMembership]) -> Result<()> {
    if StoreImpl::BULK_COPY && new_members.len() >= BULK_ROWS {
        let csv = csv_rows(new_members, |m| {
            vec![
                Some(m.person_id.to_string()),
                Some(m.wing_id.to_string()),
                Some(m.unit_id.to_string()),
                Some(m.ac_id.to_string()),
                Some(m.number.clone()),
                Some("pending".to_string()),
                Some(m.channel.clone()),
                Some(m.enrolled_by.clone()),
                Some(m.enrolled_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
                Some(m.enrolled_on.to_string()),
            ]
        });
        if StoreImpl::copy_csv(c, MEMBER_COLS, csv).await? {
            return Ok(());
        }
    }
    StoreImpl::insert_memberships(c, new_members).await
}

/// A person's home AC (`people.home_ac`) is the AC every one of their memberships is in, or 0:
/// set when the person is created with their first membership, and moved to 0 here, once for
/// good, when they come to hold a membership in another AC (`pairs`: person, AC of a membership
/// they now hold). Never moved back from 0, which is always safe: it means "look at the
/// memberships" (people with memberships in several ACs, users created without one, and, on
/// SQLite, people from before the column). PostgreSQL's name search within an AC reads it from
/// its trigram index; `verify` checks it.
async fn leave_home_ac(c: &mut Conn, pairs: &[(i64, i64)]) -> Result<()> {
    let mut pairs = pairs.to_vec();
    pairs.sort_unstable();
    pairs.dedup();
    for chunk in pairs.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("WITH held (person_id, ac_id) AS (");
        qb.push_values(chunk, |mut b, (person, ac)| {
            b.push_bind(*person).push_bind(*ac);
        });
        qb.push(
            ") UPDATE people SET home_ac = 0 FROM held \
             WHERE people.id = held.person_id AND people.home_ac <> 0 AND people.home_ac <> held.ac_id",
        );
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

/// One INSERT of new memberships.
fn members_insert(chunk: &[NewMembership]) -> QueryBuilder<DB> {
    let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("{} {MEMBER_COLS} ", StoreImpl::INSERT_ROWS));
    qb.push_values(chunk, |mut b, m| {
        b.push_bind(m.person_id)
            .push_bind(m.wing_id)
            .push_bind(m.unit_id)
            .push_bind(m.ac_id)
            .push_bind(m.number.clone())
            .push_bind("pending")
            .push_bind(m.channel.clone())
            .push_bind(m.enrolled_by.clone())
            .push_bind(m.enrolled_at)
            .push_bind(m.enrolled_on);
    });
    qb
}

/// Enrol `rows` in order inside an open transaction, as a set: one look-up of every unit, EPIC,
/// mobile and membership the batch touches, the identity rule applied row by row in memory
/// (against the database and the rows before it), then multi-row writes. A rejected row writes
/// nothing; a row's rejection is decided before any of its writes.
///
/// `load`: the first load's index, when this process owns a pending one (people's identity
/// indexes are then left out): candidates come from it and are read by id, and the batch's
/// identifiers are added to `learned` for it. On SQLite (`PIPELINE_WRITES`) such a batch's
/// rows are written while the rows after them are decided: with the batch read up front, the
/// decider needs the connection only for people's ids, which it asks the writer for.
///
/// `carry`: a dry run's earlier batches, read as if they were in the database. With it nothing is
/// written: the batch's people and memberships are added to it instead.
async fn enrol_rows(
    c: &mut Conn,
    s: &Settings,
    rows: &[(&Enrolment, &EnrolContext)],
    deltas: &mut Deltas,
    load: Option<(&LoadIndex, &mut Vec<Learned>)>,
    carry: Option<&mut DryRun>,
) -> Result<Vec<Result<EnrolOutcome, Invalid>>> {
    // Units: one query for the batch, then per-code detail only for the unknown ones.
    let mut codes: Vec<String> = rows.iter().map(|(e, _)| e.unit.trim().to_ascii_uppercase()).collect();
    codes.sort_unstable();
    codes.dedup();
    let missing: Vec<String> = {
        let cache = s.units.lock().expect("unit cache");
        codes.iter().filter(|c| !cache.contains_key(*c)).cloned().collect()
    };
    let mut unit_err: HashMap<String, Invalid> = HashMap::new();
    if !missing.is_empty() {
        let found: Vec<UnitTuple> = fetch_in(c, &format!("SELECT {UNIT_COLS} FROM units u WHERE u.code"), "", &missing).await?;
        let found: Vec<UnitSpec> = found.into_iter().map(spec_of).collect();
        let ac_ids: Vec<i64> = {
            let known = s.ac_numbers.lock().expect("AC cache");
            found.iter().filter(|u| u.kind == UnitKind::Booth).filter_map(|u| u.anc.ac).filter(|a| !known.contains_key(a)).collect::<HashSet<_>>().into_iter().collect()
        };
        if !ac_ids.is_empty() {
            let numbers: Vec<(i64, i32)> = fetch_in(c, "SELECT id, number FROM units WHERE id", "", &ac_ids).await?;
            s.ac_numbers.lock().expect("AC cache").extend(numbers);
        }
        let still: Vec<String> = {
            let ac_numbers = s.ac_numbers.lock().expect("AC cache");
            let mut cache = s.units.lock().expect("unit cache");
            for u in found {
                if u.kind.can_hold_members() {
                    let ac_no = if u.kind == UnitKind::Ac {
                        u.number.unwrap_or_default()
                    } else {
                        match u.anc.ac.and_then(|a| ac_numbers.get(&a)) {
                            Some(n) => *n,
                            None => return Err(StoreError::Refused(format!("booth {} has no AC", u.code))),
                        }
                    };
                    cache.insert(u.code.to_string(), (u, ac_no));
                }
            }
            missing.iter().filter(|m| !cache.contains_key(*m)).cloned().collect()
        };
        for code in still {
            match enrolment_unit(c, &code).await {
                Ok(_) => {}
                Err(Fail::Invalid(i)) => {
                    unit_err.insert(code, i);
                }
                Err(Fail::Store(e)) => return Err(e),
            }
        }
    }
    let units: FastMap<String, (UnitSpec, i32)> = {
        let cache = s.units.lock().expect("unit cache");
        codes.iter().filter_map(|c| cache.get(c).map(|u| (c.clone(), u.clone()))).collect()
    };

    // Everyone the batch's identifiers point at, and their memberships.
    let epics: Vec<String> = rows.iter().filter_map(|(e, _)| e.epic.as_ref().map(|x| x.as_str())).collect::<FastSet<_>>().into_iter().map(str::to_string).collect();
    let mobiles: Vec<String> = rows.iter().filter_map(|(e, _)| e.mobile.as_ref().map(|m| m.e164())).collect::<FastSet<_>>().into_iter().map(str::to_string).collect();
    let mut people: FastMap<i64, Known> = FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    // mobile → (name key, person joined) of the records merged into someone on that mobile.
    let mut merged_on: FastMap<String, Vec<(String, i64)>> = FastMap::default();
    if let Some((ix, _)) = &load {
        let ids = ix.candidates(epics.iter().map(String::as_str), mobiles.iter().map(String::as_str));
        for r in fetch_in::<i64, KnownRow>(c, "SELECT id, name_key, mobile, epic FROM people WHERE merged_into IS NULL AND id", "", &ids).await? {
            people.insert(r.0, known(r));
        }
    } else {
        for r in fetch_in::<String, KnownRow>(c, "SELECT id, name_key, mobile, epic FROM people WHERE merged_into IS NULL AND epic", "", &epics).await? {
            people.insert(r.0, known(r));
        }
        // Everyone on those mobiles, and the records merged into someone that keep theirs (their
        // mobile and name key still name the person they joined: identity.rs).
        let on_mobiles: Vec<(i64, String, Option<String>, Option<String>, Option<i64>)> =
            fetch_in(c, "SELECT id, name_key, mobile, epic, merged_into FROM people WHERE mobile", "", &mobiles).await?;
        for (id, name_key, mobile, epic, into) in on_mobiles {
            match (into, mobile) {
                (None, mobile) => {
                    people.insert(id, known((id, name_key, mobile, epic)));
                }
                (Some(into), Some(mobile)) => {
                    // The person at the end of any chain of merges.
                    let joined = match people.contains_key(&into) {
                        true => Some(into),
                        false => survivor(c, into).await?.map(|p| {
                            people.entry(p.0).or_insert_with(|| known((p.0, p.2, p.3, p.4)));
                            p.0
                        }),
                    };
                    if let Some(t) = joined {
                        merged_on.entry(mobile).or_default().push((name_key, t));
                    }
                }
                (Some(_), None) => {}
            }
        }
    }
    // A dry run's earlier batches: their people on these identifiers, and the people already
    // found as those batches left them (with the identifiers they added).
    if let Some(dry) = carry.as_deref() {
        for id in people.keys().copied().filter(|id| dry.people.contains_key(id)).collect::<Vec<_>>() {
            people.insert(id, dry.people[&id].clone());
        }
        let on_ids = epics.iter().filter_map(|x| dry.by_epic.get(x)).copied();
        let on_mobiles = mobiles.iter().filter_map(|m| dry.by_mobile.get(m)).flatten().copied();
        for id in on_ids.chain(on_mobiles) {
            people.insert(id, dry.people[&id].clone());
        }
    }
    let mut by_epic: FastMap<String, i64> = FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut by_mobile: FastMap<String, Vec<i64>> = FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut ids: Vec<i64> = people.keys().copied().collect();
    ids.sort_unstable();
    for id in &ids {
        let k = &people[id];
        if let Some(e) = &k.epic {
            by_epic.insert(e.as_str().to_string(), *id);
        }
        if let Some(m) = &k.mobile {
            by_mobile.entry(m.e164().to_string()).or_default().push(*id);
        }
    }
    let mut held: FastMap<(i64, i64), HeldMembership> = FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    type HeldRow = (i64, i64, String, String, DateTime<Utc>, String);
    let held_rows: Vec<HeldRow> = fetch_in(
        c,
        "SELECT m.person_id, m.wing_id, m.number, m.status, m.enrolled_at, u.code FROM memberships m JOIN units u ON u.id = m.unit_id WHERE m.person_id",
        "",
        &ids,
    )
    .await?;
    for (p, w, number, status, at, unit) in held_rows {
        held.insert((p, w), HeldMembership { number, status, at, unit });
    }
    if let Some(dry) = carry.as_deref() {
        for id in &ids {
            for (w, h) in dry.held.get(id).into_iter().flatten() {
                held.insert((*id, *w), h.clone());
            }
        }
    }
    // A dry run's new people take ids below zero, after its earlier batches' (no row is written,
    // and an id from the database could meet one that an enrolment takes meanwhile).
    let mut dry_id = carry.as_deref().map(|d| d.next_id);
    // For scoped enrollers: where each known person's memberships are, so that a person held
    // only outside the enroller's scope is neither shown nor changed nor pulled into it.
    let mut held_places: HashMap<String, Place> = HashMap::new();
    let mut held_by_person: FastMap<i64, Vec<Place>> = FastMap::default();
    let scoped = rows.iter().any(|(_, ctx)| ctx.scope.is_some());
    if scoped {
        let codes: Vec<String> = held.values().map(|h| h.unit.clone()).collect::<HashSet<_>>().into_iter().collect();
        let found: Vec<UnitTuple> = fetch_in(c, &format!("SELECT {UNIT_COLS} FROM units u WHERE u.code"), "", &codes).await?;
        held_places.extend(found.into_iter().map(spec_of).map(|u| (u.code.to_string(), place_of(&u))));
        for ((p, _), h) in &held {
            if let Some(pl) = held_places.get(&h.unit) {
                held_by_person.entry(*p).or_default().push(*pl);
            }
        }
    }

    // The identity rule, row by row, in memory, by the decider below; the connection (the
    // writer's, or a reader's snapshot for a dry run) runs what the decider asks of it in order
    // (see `Ask`).
    let mut next_person: Option<(i64, i64)> = None; // (next id, last reserved)
    let mut new_people: Vec<NewPerson> = Vec::with_capacity(rows.len());
    let mut new_index: FastMap<i64, usize> = FastMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut adds: BTreeMap<i64, (Option<String>, Option<String>)> = BTreeMap::new();
    let mut new_members: Vec<NewMembership> = Vec::with_capacity(rows.len());
    // Membership numbers: the serial of every AC the batch may enrol in, read before any row
    // (the last number used). On PostgreSQL the rows are locked, in AC order, until commit, so
    // concurrent writers in one AC take turns instead of colliding on a number (not by a dry run,
    // which takes no number: its transaction is a read-only snapshot).
    let mut batch_acs: Vec<i64> = units.values().filter_map(|(u, _)| ac_of(u)).collect();
    batch_acs.sort_unstable();
    batch_acs.dedup();
    let mut serials: HashMap<i64, i64> = fetch_in::<i64, (i64, i64)>(
        c,
        "SELECT ac_id, last FROM ac_sequences WHERE ac_id",
        &format!(" ORDER BY ac_id{}", if carry.is_some() { "" } else { StoreImpl::for_update() }),
        &batch_acs,
    )
    .await?
    .into_iter()
    .collect();
    let serials_before = serials.clone();
    let mut out = Vec::with_capacity(rows.len());
    // New rows already handed to the writer: a later row that adds an identifier to one of
    // these people updates their row (`adds`) instead.
    let (mut flushed_people, mut flushed_members) = (0usize, 0usize);
    // (person, AC) of each membership added to a person this row did not create.
    let mut other_acs: Vec<(i64, i64)> = Vec::new();
    let (asks, mut asked) = futures::channel::mpsc::unbounded::<Ask>();
    // Statements handed to the writer and those it has run: the decider hands over more only
    // while few wait (`QUEUED_STATEMENTS`), so that the waiting ones' copies of the rows stay
    // small when SQLite is the slower of the two.
    let (mut handed, ran) = (0usize, std::sync::atomic::AtomicUsize::new(0));
    let writer = async {
        use futures::StreamExt;
        while let Some(ask) = asked.next().await {
            match ask {
                Ask::Run(mut qb) => {
                    qb.build().execute(&mut *c).await?;
                    ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                Ask::Reserve(n, reply) => {
                    let _ = reply.send(StoreImpl::reserve_person_ids(c, n).await);
                }
            }
        }
        Ok::<(), StoreError>(())
    };
    let decider = async {
        for (i, (e, ctx)) in rows.iter().enumerate() {
            // A first load on SQLite writes as it decides (`PIPELINE_WRITES`): the rows decided so
            // far go to the writer a statement at a time, and the decider lets it start the next
            // one every few rows, so that the connection's thread runs the statements while this
            // one decides the rows after them.
            if StoreImpl::PIPELINE_WRITES && load.is_some() && i % 64 == 0 {
                let room = |handed: usize| handed - ran.load(std::sync::atomic::Ordering::Relaxed) < QUEUED_STATEMENTS;
                while new_people.len() - flushed_people >= WRITE_CHUNK && room(handed) {
                    let _ = asks.unbounded_send(Ask::Run(people_insert(&new_people[flushed_people..flushed_people + WRITE_CHUNK])));
                    flushed_people += WRITE_CHUNK;
                    handed += 1;
                }
                // A membership goes after its person's row (the foreign keys are checked at the end
                // of a first load, but the order stays the one the keys want).
                while new_members.len() - flushed_members >= WRITE_CHUNK
                    && room(handed)
                    && new_members[flushed_members..flushed_members + WRITE_CHUNK]
                        .iter()
                        .all(|m| new_index.get(&m.person_id).is_none_or(|&p| p < flushed_people))
                {
                    let _ = asks.unbounded_send(Ask::Run(members_insert(&new_members[flushed_members..flushed_members + WRITE_CHUNK])));
                    flushed_members += WRITE_CHUNK;
                    handed += 1;
                }
                YieldOnce(false).await;
            }
            let code = e.unit.trim().to_ascii_uppercase();
            let Some((unit, ac_no)) = units.get(&code) else {
                out.push(Err(unit_err.get(&code).cloned().unwrap_or_else(|| Invalid::one(unknown_unit(&code)))));
                continue;
            };
            let Some((wing_id, wing_code)) = s.wings.get(&e.wing.trim().to_lowercase()).or_else(|| s.wings.get(e.wing.trim())).cloned() else {
                out.push(Err(Invalid::one(unknown_wing(&e.wing))));
                continue;
            };
            // Outside the enroller's scope: answered exactly as a unit that does not exist.
            if let Some(scope) = &ctx.scope
                && !scope.allows(Action::Enrol, &place_of(unit), wing_id)
            {
                out.push(Err(Invalid::one(unknown_unit(&code))));
                continue;
            }
            let name_key = e.name.key();
            let by_e = e.epic.as_ref().and_then(|x| by_epic.get(x.as_str())).map(|id| people[id].clone());
            let on_m: Vec<Known> = e
                .mobile
                .as_ref()
                .and_then(|m| by_mobile.get(m.e164()))
                .map(|ids| ids.iter().map(|id| people[id].clone()).collect())
                .unwrap_or_default();
            let merged: Vec<identity::Merged> = e
                .mobile
                .as_ref()
                .and_then(|m| merged_on.get(m.e164()))
                .map(|rs| rs.iter().map(|(k, t)| identity::Merged { name_key: k.clone(), into: people[t].clone() }).collect())
                .unwrap_or_default();
            let claim = Claim { name_key: &name_key, mobile: e.mobile.as_ref(), epic: e.epic.as_ref() };
            let decision = match identity::decide_with_merged(claim, by_e.as_ref(), &on_m, &merged, s.household_limit) {
                Ok(d) => d,
                Err(f) => {
                    out.push(Err(Invalid::one(f)));
                    continue;
                }
            };
            if let (Decision::Existing { person_id, .. }, Some(scope)) = (&decision, &ctx.scope) {
                let visible = held_by_person
                    .get(person_id)
                    .is_some_and(|ps| ps.iter().any(|p| !scope.wings(Action::Enrol, p).is_none()));
                if !visible {
                    out.push(Err(Invalid::one(held_elsewhere(e.epic.is_some()))));
                    continue;
                }
            }
            let (person_id, created_person) = match decision {
                Decision::New => {
                    let (next, last) = match (next_person, dry_id) {
                        (_, Some(d)) => (d, d),
                        (Some((n, l)), None) if n <= l => (n, l),
                        _ => {
                            let (reply, answer) = futures::channel::oneshot::channel();
                            let _ = asks.unbounded_send(Ask::Reserve(rows.len() as i64, reply));
                            answer.await.map_err(|_| StoreError::Refused("the writer stopped".into()))??
                        }
                    };
                    next_person = Some((next + 1, last));
                    dry_id = dry_id.map(|d| d - 1);
                    let id = next;
                    new_index.insert(id, new_people.len());
                    new_people.push(NewPerson {
                        id,
                        name: e.name.as_str().to_string(),
                        name_key: name_key.clone(),
                        search_key: e.name.search_key().to_string(),
                        gender: e.gender.map(|g| g.code()),
                        birth_year: e.birth_year,
                        address: e.address.clone(),
                        mobile: e.mobile.as_ref().map(|m| m.e164().to_string()),
                        epic: e.epic.as_ref().map(|x| x.as_str().to_string()),
                        unit_id: unit.id,
                        home_ac: ac_of(unit).expect("booths and ACs have an AC"),
                        created_at: ctx.at,
                    });
                    people.insert(id, Known { person_id: id, name_key, mobile: e.mobile.clone(), epic: e.epic.clone() });
                    if let Some(x) = &e.epic {
                        by_epic.insert(x.as_str().to_string(), id);
                    }
                    if let Some(m) = &e.mobile {
                        by_mobile.entry(m.e164().to_string()).or_default().push(id);
                    }
                    (id, true)
                }
                Decision::Existing { person_id, add_mobile, add_epic } => {
                    let k = people.get_mut(&person_id).expect("decided on a known person");
                    if let Some(m) = &add_mobile {
                        k.mobile = Some(m.clone());
                        by_mobile.entry(m.e164().to_string()).or_default().push(person_id);
                    }
                    if let Some(x) = &add_epic {
                        k.epic = Some(x.clone());
                        by_epic.insert(x.as_str().to_string(), person_id);
                    }
                    if add_mobile.is_some() || add_epic.is_some() {
                        if let Some(&i) = new_index.get(&person_id).filter(|&&i| i >= flushed_people) {
                            let p = &mut new_people[i];
                            if let Some(m) = &add_mobile {
                                p.mobile = Some(m.e164().to_string());
                            }
                            if let Some(x) = &add_epic {
                                p.epic = Some(x.as_str().to_string());
                            }
                        } else {
                            let a = adds.entry(person_id).or_default();
                            if let Some(m) = add_mobile {
                                a.0 = Some(m.e164().to_string());
                            }
                            if let Some(x) = add_epic {
                                a.1 = Some(x.as_str().to_string());
                            }
                        }
                    }
                    (person_id, false)
                }
            };
            if let Some(h) = held.get(&(person_id, wing_id)) {
                out.push(Ok(EnrolOutcome {
                    person_id,
                    membership_number: h.number.clone(),
                    wing: wing_code,
                    unit: h.unit.clone(),
                    status: h.status.clone(),
                    created_person,
                    created_membership: false,
                    enrolled_at: h.at,
                }));
                continue;
            }
            let ac_id = ac_of(unit).expect("booths and ACs have an AC");
            let serial = match serials.get_mut(&ac_id) {
                Some(n) => {
                    *n += 1;
                    *n
                }
                None => return Err(StoreError::Refused(format!("no membership serial for AC #{ac_id}"))),
            };
            let number = format!("{}-{}-{:07}", s.state, ac_no, serial);
            let day = crate::clock::day_of(ctx.at);
            deltas.count(unit, wing_id, day, 1);
            held.insert((person_id, wing_id), HeldMembership { number: number.clone(), status: "pending".into(), at: ctx.at, unit: unit.code.to_string() });
            if scoped {
                held_by_person.entry(person_id).or_default().push(place_of(unit));
            }
            if !created_person {
                other_acs.push((person_id, ac_id));
            }
            new_members.push(NewMembership {
                person_id,
                wing_id,
                unit_id: unit.id,
                ac_id,
                number: number.clone(),
                channel: ctx.channel.clone(),
                enrolled_by: ctx.actor.clone(),
                enrolled_at: ctx.at,
                enrolled_on: day,
            });
            out.push(Ok(EnrolOutcome {
                person_id,
                membership_number: number,
                wing: wing_code,
                unit: unit.code.to_string(),
                status: "pending".into(),
                created_person,
                created_membership: true,
                enrolled_at: ctx.at,
            }));
        }
        drop(asks);
        Ok::<(), StoreError>(())
    };
    futures::try_join!(writer, decider)?;

    if let Some((_, learned)) = load {
        learned.extend(new_people.iter().map(|p| (p.id, p.mobile.clone(), p.epic.clone())));
        learned.extend(adds.iter().map(|(id, (m, x))| (*id, m.clone(), x.clone())));
    }
    // A dry run writes nothing (its transaction is a reader's, and a membership of a person an
    // earlier batch made would name a row that is not there): it carries this batch's people and
    // memberships to the next batch instead.
    if let Some(dry) = carry {
        let changed = new_people.iter().map(|p| p.id).chain(adds.keys().copied());
        let made = new_members.iter().map(|m| (m.person_id, m.wing_id, held[&(m.person_id, m.wing_id)].clone()));
        dry.learn(changed.map(|id| people[&id].clone()).collect(), made.collect());
        return Ok(out);
    }

    // The writes, as sets (what the decider did not hand to the writer).
    write_people(c, &new_people[flushed_people..]).await?;
    for (id, (m, x)) in adds {
        sqlx::query("UPDATE people SET mobile = COALESCE(mobile, $2), epic = COALESCE(epic, $3) WHERE id = $1")
            .bind(id)
            .bind(m)
            .bind(x)
            .execute(&mut *c)
            .await?;
    }
    write_memberships(c, &new_members[flushed_members..]).await?;
    leave_home_ac(c, &other_acs).await?;
    // Enrolling a member makes the enroller active (activation; verify recomputes it).
    let enrollers: Vec<(i64, DateTime<Utc>)> =
        new_members.iter().filter_map(|m| person_id_of(&m.enrolled_by).map(|p| (p, m.enrolled_at))).collect();
    touch_activity(c, "enrol", &enrollers).await?;
    // The ACs' last numbers, one statement for the batch.
    let mut serials: Vec<(i64, i64)> = serials.into_iter().filter(|(ac, last)| serials_before.get(ac) != Some(last)).collect();
    serials.sort_unstable();
    for chunk in serials.chunks(256) {
        // Padded with its last pair again (the same value for the same AC): few statement texts.
        let chunk = &pow2_padded(chunk);
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("UPDATE ac_sequences SET last = CASE ac_id");
        for (ac, last) in chunk {
            qb.push(" WHEN ").push_bind(*ac).push(" THEN ").push_bind(*last);
        }
        qb.push(" END WHERE ac_id IN (");
        let mut ids = qb.separated(", ");
        for (ac, _) in chunk {
            ids.push_bind(*ac);
        }
        qb.push(")");
        qb.build().execute(&mut *c).await?;
    }
    // Consent as given (API enrolments), only for a person created now: an enroller cannot
    // overwrite a member's own choices (a withdrawal, say) by enrolling them again. One
    // statement per distinct consent (usually one for the batch).
    let mut consents: BTreeMap<(&str, String), Vec<i64>> = BTreeMap::new();
    let mut sensitive: Vec<(i64, &Option<String>, &Option<String>, DateTime<Utc>)> = Vec::new();
    for ((_, ctx), o) in rows.iter().zip(&out) {
        let (Some(k), Ok(o)) = (&ctx.consent, o) else { continue };
        if !o.created_person {
            continue;
        }
        consents.entry((k.consent.notice, k.consent.purposes.join(","))).or_default().push(o.person_id);
        // Sensitive fields only with consent for them.
        if let Some((category, religion)) = &k.sensitive
            && k.consent.allows("sensitive")
        {
            sensitive.push((o.person_id, category, religion, ctx.at));
        }
    }
    for ((notice, purposes), ids) in consents {
        for chunk in ids.chunks(256) {
            let chunk = &pow2_padded(chunk);
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("UPDATE people SET consent_notice = ");
            qb.push_bind(notice).push(", consent_purposes = ").push_bind(purposes.clone());
            qb.push(", consent_by = 'self', consent_withdrawn_at = NULL WHERE id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            qb.push(")");
            qb.build().execute(&mut *c).await?;
        }
    }
    for chunk in pow2_chunks(&sensitive, 256) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO sensitive_attributes (person_id, category, religion, consented_at) ");
        qb.push_values(chunk, |mut b, (id, category, religion, at)| {
            b.push_bind(*id).push_bind((*category).clone()).push_bind((*religion).clone()).push_bind(*at);
        });
        qb.push(
            " ON CONFLICT (person_id) DO UPDATE SET category = COALESCE(excluded.category, sensitive_attributes.category), \
             religion = COALESCE(excluded.religion, sensitive_attributes.religion), consented_at = excluded.consented_at",
        );
        qb.build().execute(&mut *c).await?;
    }
    Ok(out)
}

/// Idempotent enrolments inside an open transaction: each job answers its earlier result when
/// its (caller, key) was seen before (or earlier in the same group), is refused when the key
/// came with another request, and otherwise goes through `enrol_rows` with the others, its
/// answer stored under its key. Counters are applied; the caller commits.
async fn enrol_idempotent(c: &mut Conn, s: &Settings, jobs: &[(&Enrolment, &EnrolContext, &str)]) -> Result<Vec<Result<Idempotent>>> {
    let pairs: Vec<(String, String)> = jobs.iter().map(|(_, ctx, k)| (ctx.actor.clone(), k.to_string())).collect::<BTreeSet<_>>().into_iter().collect();
    let stored = StoreImpl::answers_kept(c, &pairs).await?;
    let mut prior: HashMap<(String, String), (String, Result<EnrolOutcome, ()>)> = HashMap::new();
    for (actor, key, hash, response) in stored {
        let outcome = serde_json::from_str::<EnrolOutcome>(&response).map_err(|_| ());
        prior.insert((actor, key), (hash, outcome));
    }
    enum Plan {
        Replay(usize),
        Stored(Result<EnrolOutcome, ()>),
        Reused,
        Fresh(usize),
    }
    let mut plans = Vec::with_capacity(jobs.len());
    let mut fresh: Vec<(&Enrolment, &EnrolContext)> = Vec::new();
    let mut first_of: HashMap<(String, String), (usize, String)> = HashMap::new();
    for (i, (e, ctx, key)) in jobs.iter().enumerate() {
        let fp = e.fingerprint();
        let id = (ctx.actor.clone(), key.to_string());
        plans.push(if let Some((hash, outcome)) = prior.get(&id) {
            if *hash == fp { Plan::Stored(outcome.clone()) } else { Plan::Reused }
        } else if let Some((j, hash)) = first_of.get(&id) {
            if *hash == fp { Plan::Replay(*j) } else { Plan::Reused }
        } else {
            first_of.insert(id, (i, fp));
            fresh.push((e, ctx));
            Plan::Fresh(fresh.len() - 1)
        });
    }
    let mut deltas = Deltas::default();
    let results = enrol_rows(c, s, &fresh, &mut deltas, None, None).await?;
    deltas.apply(c).await?;
    let mut rows: Vec<KeptAnswer> = Vec::new();
    for (i, (e, ctx, key)) in jobs.iter().enumerate() {
        if let Plan::Fresh(f) = plans[i]
            && let Ok(o) = &results[f]
        {
            let status = if o.created_membership { 201 } else { 200 };
            rows.push((ctx.actor.clone(), key.to_string(), e.fingerprint(), status, serde_json::to_string(o).expect("outcome serialises"), ctx.at));
        }
    }
    StoreImpl::keep_answers(c, &rows).await?;
    let answer = |f: usize| -> Result<Idempotent> {
        match &results[f] {
            Ok(o) => Ok(Idempotent { outcome: o.clone(), replayed: false, audited: false }),
            Err(i) => Err(StoreError::Invalid(i.clone())),
        }
    };
    Ok(plans
        .iter()
        .map(|p| match p {
            Plan::Fresh(f) => answer(*f),
            Plan::Replay(j) => match &plans[*j] {
                Plan::Fresh(f) => answer(*f).map(|i| Idempotent { replayed: true, ..i }),
                _ => unreachable!("a replay points at a fresh job"),
            },
            Plan::Stored(Ok(o)) => Ok(Idempotent { outcome: o.clone(), replayed: true, audited: false }),
            Plan::Stored(Err(())) => Err(StoreError::Refused("stored response unreadable".into())),
            Plan::Reused => Err(StoreError::KeyReused),
        })
        .collect())
}

/// What a caller waits on: the enrolment, its context and key, and where to send the answer.
pub(crate) type GroupJob = (Enrolment, EnrolContext, String, tokio::sync::oneshot::Sender<Result<Idempotent>>);

/// How long the group writer keeps its connection across back-to-back groups before it hands
/// it back, so that other writes (logins, imports, the audit of other requests) get a turn.
const HOLD_WRITER: std::time::Duration = std::time::Duration::from_millis(50);

/// The settings (state, household limit, wings, and the enrolment units and AC numbers looked
/// up so far) as last read, shared by every writer of this store: the group writer (either
/// backend), imports and batches. Each transaction reads the database's settings
/// version (one key look-up) and reads the settings again only when it moved; every change to
/// what they hold (`init`, the household limit, a booth list) bumps it in its own transaction,
/// whichever process makes it. A batch of an import thus no longer looks up again the thousands
/// of booths the batches before it found.
///
/// Whatever the version says, they are read again after [`SETTINGS_FRESH`]: a backstop for a
/// change that did not bump it (an older binary on another app node during an upgrade, SQL by
/// hand).
#[derive(Default)]
pub(crate) struct SettingsCache(std::sync::Mutex<Option<(i64, std::time::Instant, std::sync::Arc<Settings>)>>);

/// See [`SettingsCache`].
const SETTINGS_FRESH: std::time::Duration = std::time::Duration::from_secs(30);

impl SettingsCache {
    async fn get(&self, c: &mut Conn) -> Result<std::sync::Arc<Settings>> {
        let version = settings_version(c).await?;
        if let Some((v, at, s)) = &*self.0.lock().expect("settings cache")
            && *v == version
            && at.elapsed() < SETTINGS_FRESH
        {
            return Ok(s.clone());
        }
        let s = std::sync::Arc::new(settings(c).await?);
        *self.0.lock().expect("settings cache") = Some((version, std::time::Instant::now(), s.clone()));
        Ok(s)
    }

    /// After a failure: read them afresh next time, whatever the version says.
    fn forget(&self) {
        *self.0.lock().expect("settings cache") = None;
    }
}

async fn settings_version(c: &mut Conn) -> Result<i64> {
    Ok(meta(c, "settings_version").await?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// In the transaction that changes the settings. An increment in one statement, so that two
/// concurrent changes (PostgreSQL) give two versions, never one.
async fn bump_settings_version(c: &mut Conn) -> Result<()> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('settings_version', '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)",
    )
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The group writer (one per process, on either backend): takes every API enrolment waiting (up
/// to 256), runs them as one transaction through `enrol_idempotent` (on SQLite with their audit
/// events), commits once and answers each caller (group commit). Between groups it keeps its
/// connection while more are waiting (up to [`HOLD_WRITER`]). On PostgreSQL the group takes the
/// advisory locks of its people's identifiers and idempotency keys, so several app nodes'
/// writers run side by side. On SQLite, every `RESTART_LOG_EVERY` groups it lets the
/// write-ahead log start again from its beginning, between two groups (`restart_log`).
pub(crate) async fn group_writer(pool: sqlx::Pool<DB>, mut rx: tokio::sync::mpsc::Receiver<GroupJob>, cache: std::sync::Arc<SettingsCache>) {
    let mut held: Option<(sqlx::pool::PoolConnection<DB>, std::time::Instant)> = None;
    // Groups committed since the write-ahead log last started again (SQLite; see `restart_log`).
    let mut since_restart = 0u32;
    loop {
        let first = match rx.try_recv() {
            Ok(j) => j,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                held = None;
                match rx.recv().await {
                    Some(j) => j,
                    None => return,
                }
            }
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => return,
        };
        let mut jobs = vec![first];
        while jobs.len() < 256 {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if held.as_ref().is_some_and(|(_, since)| since.elapsed() > HOLD_WRITER) {
            held = None;
        }
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            let conn = match held.take() {
                Some(h) => Ok(h),
                None => pool.acquire().await.map(|c| (c, std::time::Instant::now())),
            };
            let run = match conn {
                Ok(mut conn) => {
                    let r = enrol_group(&mut conn.0, &jobs, &cache).await;
                    // After a failure the connection goes back to the pool (which checks it and
                    // may replace it).
                    if r.is_ok() {
                        held = Some(conn);
                    }
                    r
                }
                Err(e) => Err(e.into()),
            };
            match run {
                Err(StoreError::Db(err)) if attempt < 8 && StoreImpl::is_retryable(&err) => continue,
                other => break other,
            }
        };
        match outcome {
            Ok(answers) => {
                for ((_, _, _, reply), a) in jobs.into_iter().zip(answers) {
                    let _ = reply.send(a);
                }
                // Its callers answered, before the next group: the log starts again.
                since_restart = since_restart.saturating_add(1);
                if since_restart >= StoreImpl::RESTART_LOG_EVERY
                    && let Some((conn, _)) = held.as_mut()
                {
                    match StoreImpl::restart_log(conn).await {
                        Ok(true) => since_restart = 0,
                        // A reader on an older snapshot, or the checkpointer at work: again a few
                        // groups later.
                        Ok(false) => since_restart = StoreImpl::RESTART_LOG_EVERY - StoreImpl::RESTART_LOG_EVERY / 5,
                        Err(e) => {
                            // Its busy wait may be gone: the connection is closed, the pool opens
                            // another with every setting.
                            tracing::warn!(error = %e, "the writer's connection is replaced");
                            if let Some((mut conn, _)) = held.take() {
                                conn.close_on_drop();
                            }
                            since_restart = 0;
                        }
                    }
                }
            }
            Err(e) => {
                // Whatever went wrong, the settings are read afresh next time.
                cache.forget();
                // Each caller gets a server error (500, as for its own failed transaction), not a
                // refusal; the message names the database's code and constraint only (a database's
                // own message can quote the row: personal data).
                let msg = match &e {
                    StoreError::Db(sqlx::Error::Database(d)) => {
                        format!("enrolment group failed: code {:?}, constraint {:?}", d.code(), d.constraint())
                    }
                    other => format!("enrolment group failed: {other}"),
                };
                tracing::error!(error = %msg, "group enrolment failed");
                for (_, _, _, reply) in jobs {
                    let _ = reply.send(Err(StoreError::Db(sqlx::Error::Protocol(msg.clone()))));
                }
            }
        }
    }
}

/// One group's transaction on the writer's connection.
async fn enrol_group(
    conn: &mut <DB as sqlx::Database>::Connection,
    jobs: &[GroupJob],
    cache: &SettingsCache,
) -> Result<Vec<Result<Idempotent>>> {
    let mut tx = StoreImpl::begin_conn(conn).await?;
    // Not while a first load is pending: each enrolment is answered so.
    match first_load_guard(&mut tx, None).await {
        Err(StoreError::LoadPending) => return Ok(jobs.iter().map(|_| Err(StoreError::LoadPending)).collect()),
        other => other?,
    };
    // Other writers (PostgreSQL's other app nodes, merges, corrections, a CLI) touching the same
    // people wait for this group, and it for them (a no-op on SQLite, whose one writer
    // serialises everything).
    let mut keys: Vec<String> = jobs.iter().flat_map(|(e, _, _, _)| identity_keys(e)).collect();
    keys.extend(jobs.iter().map(|(_, ctx, k, _)| format!("k:{}:{}", ctx.actor, k)));
    StoreImpl::lock_keys(&mut tx, &keys).await?;
    let s = cache.get(&mut tx).await?;
    let refs: Vec<(&Enrolment, &EnrolContext, &str)> = jobs.iter().map(|(e, c, k, _)| (e, c, k.as_str())).collect();
    let mut out = enrol_idempotent(&mut tx, &s, &refs).await?;
    // The answered enrolments' audit events, in the same transaction (where the backend does).
    let mut events = Vec::new();
    for ((_, ctx, _, _), a) in jobs.iter().zip(out.iter_mut()) {
        if let (Some(ev), Ok(a), true) = (&ctx.audit, a, StoreImpl::AUDITS_IN_GROUP) {
            events.push(AuditEvent { record: Some(a.outcome.unit.clone()), person_id: Some(a.outcome.person_id), ..ev.clone() });
            a.audited = true;
        }
    }
    audit_append(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(out)
}

/// The group writer is gone (it panicked): a server error (500), not a refusal of the request.
fn writer_stopped() -> StoreError {
    tracing::error!("an enrolment found the group writer stopped");
    StoreError::Db(sqlx::Error::WorkerCrashed)
}

/// Keys that serialise writers touching the same person (used by PostgreSQL's advisory locks).
fn identity_keys(e: &Enrolment) -> Vec<String> {
    let mut k = Vec::new();
    if let Some(m) = &e.mobile {
        k.push(format!("m:{}", m.e164()));
    }
    if let Some(x) = &e.epic {
        k.push(format!("e:{}", x.as_str()));
    }
    k
}

/// Targets of every unit for a campaign of `per_ac` members per AC: split over each AC's booths
/// by largest remainder; sectors sum their booths; districts, divisions, the state and PCs sum their ACs.
pub(crate) fn split_targets(units: &[UnitSpec], per_ac: i64) -> Vec<(i64, i64)> {
    let mut booths_of: HashMap<i64, Vec<&UnitSpec>> = HashMap::new();
    for u in units.iter().filter(|u| u.kind == UnitKind::Booth) {
        booths_of.entry(u.anc.ac.expect("booths have an AC")).or_default().push(u);
    }
    let mut t: HashMap<i64, i64> = HashMap::new();
    for ac in units.iter().filter(|u| u.kind == UnitKind::Ac) {
        let mut booths = booths_of.remove(&ac.id).unwrap_or_default();
        booths.sort_by_key(|b| b.number);
        let parts = sangathan_core::targets::largest_remainder(per_ac, &vec![1; booths.len()]);
        for (b, p) in booths.iter().zip(parts) {
            t.insert(b.id, p);
            *t.entry(b.anc.sector.expect("booths have a sector")).or_default() += p;
        }
        for id in [ac.anc.district, ac.anc.division, ac.anc.state, ac.anc.pc].into_iter().flatten() {
            *t.entry(id).or_default() += per_ac;
        }
        t.insert(ac.id, per_ac);
    }
    let mut v: Vec<(i64, i64)> = units.iter().map(|u| (u.id, t.get(&u.id).copied().unwrap_or(0))).collect();
    v.sort_unstable();
    v
}

async fn insert_targets(c: &mut Conn, campaign_id: i64, targets: &[(i64, i64)]) -> Result<()> {
    for chunk in targets.chunks(5000) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO targets (campaign_id, unit_id, target) ");
        qb.push_values(chunk, |mut b, (u, t)| {
            b.push_bind(campaign_id).push_bind(*u).push_bind(*t);
        });
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

async fn insert_units(c: &mut Conn, units: &[UnitSpec]) -> Result<()> {
    for chunk in units.chunks(2000) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(
            "INSERT INTO units (id, code, kind, parent_id, number, name_en, name_hi, reserved, \
             state_id, division_id, district_id, pc_id, ac_id, sector_id) ",
        );
        qb.push_values(chunk, |mut b, u| {
            b.push_bind(u.id)
                .push_bind(u.code.to_string())
                .push_bind(u.kind.as_str())
                .push_bind(u.parent_id)
                .push_bind(u.number)
                .push_bind(u.name_en.clone())
                .push_bind(u.name_hi.clone())
                .push_bind(u.reserved.clone())
                .push_bind(u.anc.state)
                .push_bind(u.anc.division)
                .push_bind(u.anc.district)
                .push_bind(u.anc.pc)
                .push_bind(u.anc.ac)
                .push_bind(u.anc.sector);
        });
        qb.build().execute(&mut *c).await?;
    }
    Ok(())
}

fn check_campaign(code: &str, start: NaiveDate, end: NaiveDate, per_ac: i64) -> Result<(), Invalid> {
    let mut errs = Vec::new();
    if code.is_empty() || code.len() > 40 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        errs.push(FieldError::new(
            "code",
            "invalid_campaign_code",
            "campaign code must be 1–40 letters, digits, - or _",
            "अभियान कोड 1–40 अक्षर, अंक, - या _ होना चाहिए",
        ));
    }
    if end < start {
        errs.push(FieldError::new(
            "end_date",
            "invalid_campaign_dates",
            format!("the campaign ends ({end}) before it starts ({start})"),
            format!("अभियान की समाप्ति तिथि ({end}) आरंभ तिथि ({start}) से पहले है"),
        ));
    }
    if !(0..=10_000_000).contains(&per_ac) {
        errs.push(FieldError::new(
            "target_per_ac",
            "invalid_target",
            "target per AC must be between 0 and 10,000,000",
            "प्रति विधानसभा लक्ष्य 0 से 1,00,00,000 के बीच होना चाहिए",
        ));
    }
    if errs.is_empty() { Ok(()) } else { Err(Invalid(errs)) }
}

fn hash_token(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

type CampaignTuple = (i64, String, String, String, String, NaiveDate, NaiveDate, Option<i64>, String, String);

const CAMPAIGN_SQL: &str = "SELECT c.id, c.code, c.name_en, c.name_hi, w.code, c.start_date, c.end_date, t.target, c.counts, c.verify_by \
     FROM campaigns c JOIN wings w ON w.id = c.wing_id \
     LEFT JOIN targets t ON t.campaign_id = c.id AND t.unit_id = (SELECT id FROM units WHERE kind = 'state' ORDER BY id LIMIT 1)";

fn campaign_of(t: CampaignTuple) -> Campaign {
    Campaign { code: t.1, name: t.2, name_hi: t.3, wing: t.4, start_date: t.5, end_date: t.6, target: t.7.unwrap_or(0), counts: t.8,
        verify_by: t.9.split(',').map(String::from).collect() }
}

/// What the campaign's pacing counts over the last 7 days: enrolments (still counted) or
/// verifications, by day.
fn daily_column(drive: Drive) -> &'static str {
    match drive {
        Drive::Achieved => "n",
        Drive::Verified => "verified",
    }
}

/// The days of a unit's last 7 days' count: today and the six before it. Each is looked up by
/// itself, bound to the placeholders `$first` … `$first + 6` ([`days_in`]): SQLite keeps its
/// daily counts in day order (its migration 0024), where a range of days followed by the unit
/// would read every unit's rows of those days, and seven days named are seven short look-ups on
/// either backend.
fn last_7_days(today: NaiveDate) -> [NaiveDate; 7] {
    std::array::from_fn(|i| today - Duration::days(6 - i as i64))
}

/// The placeholders of [`last_7_days`]' days, from `$first` on, as an SQL list.
fn days_in(first: usize) -> String {
    (first..first + 7).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The membership condition for the last 7 days (`days`: the placeholders of [`last_7_days`])
/// when counted from the memberships themselves (a booth keeps no daily counts).
fn recent_members(drive: Drive, days: &str) -> String {
    match drive {
        Drive::Achieved => format!("m.enrolled_on IN ({days}) AND m.status IN {COUNTED}"),
        Drive::Verified => format!("m.verified_on IN ({days}) AND m.status = 'verified'"),
    }
}

/// The figures of the unit whose id is `unit` (an SQL expression) as four scalar subqueries:
/// the campaign's target (`campaign`), achieved and verified in the wing (`wing`; the unit's
/// counter rows, one per AC below it, summed), and the last 7 days' count (`days`: the
/// placeholders of [`last_7_days`]) — from the unit's daily counters, or, for a booth (`booth`:
/// an SQL condition true for one), from its members. Each subquery reads one index range (the
/// last, seven short ones), so a whole level of children costs one statement (one round trip)
/// instead of one per figure.
fn figures_sql(unit: &str, booth: &str, campaign: &str, wing: &str, days: &str, drive: Drive) -> String {
    let col = daily_column(drive);
    let recent = recent_members(drive, days);
    format!(
        "COALESCE((SELECT t.target FROM targets t WHERE t.campaign_id = {campaign} AND t.unit_id = {unit}), 0), \
         COALESCE((SELECT CAST(SUM(n.achieved) AS BIGINT) FROM unit_counters n WHERE n.unit_id = {unit} AND n.wing_id = {wing}), 0), \
         COALESCE((SELECT CAST(SUM(n.verified) AS BIGINT) FROM unit_counters n WHERE n.unit_id = {unit} AND n.wing_id = {wing}), 0), \
         CASE WHEN {booth} \
           THEN (SELECT COUNT(*) FROM memberships m WHERE m.unit_id = {unit} AND m.wing_id = {wing} AND {recent}) \
           ELSE COALESCE((SELECT CAST(SUM(d.{col}) AS BIGINT) FROM unit_daily d WHERE d.day IN ({days}) AND d.wing_id = {wing} AND d.unit_id = {unit}), 0) \
         END"
    )
}

/// [`unit_figures`]' statement for a unit of `kind`: its id, the campaign's, the wing's code, then
/// the seven days.
fn unit_figures_sql(kind: UnitKind, drive: Drive) -> String {
    let booth = if keeps_daily(kind) { "1 = 0" } else { "1 = 1" };
    format!("SELECT w.id, {} FROM wings w WHERE w.code = $3", figures_sql("$1", booth, "$2", "w.id", &days_in(4), drive))
}

/// A unit's own figures for a campaign and the id of the campaign's wing (`wing_code`), in one
/// statement.
async fn unit_figures(c: &mut Conn, u: &UnitSpec, campaign_id: i64, wing_code: &str, today: NaiveDate, drive: Drive) -> Result<(i64, Figures)> {
    let q = sqlx::query_as(AssertSqlSafe(unit_figures_sql(u.kind, drive))).bind(u.id).bind(campaign_id).bind(wing_code);
    let (wing_id, target, achieved, verified, last7): (i64, i64, i64, i64, i64) =
        last_7_days(today).into_iter().fold(q, |q, day| q.bind(day)).fetch_one(&mut *c).await?;
    Ok((wing_id, Figures { target, achieved, verified, last7 }))
}

/// A unit's figures for a campaign: target, achieved, verified, the last 7 days' count.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    target: i64,
    achieved: i64,
    verified: i64,
    last7: i64,
}

fn progress_row(code: String, kind: &str, name: String, name_hi: Option<String>, f: Figures, drive: Drive, today: NaiveDate, end: NaiveDate) -> ProgressRow {
    let p = sangathan_core::targets::pacing(f.target, drive.pick(f.achieved, f.verified), f.last7, today, end);
    ProgressRow {
        code,
        kind: kind.to_string(),
        name,
        name_hi,
        target: f.target,
        achieved: f.achieved,
        verified: f.verified,
        percent: p.percent,
        needed: p.needed,
        days_left: p.days_left,
        daily_needed: p.daily_needed,
        rate_7d: p.rate_7d,
        last_7_days: f.last7,
    }
}

/// A child's id, code, kind and names, then [`figures_sql`]'s four.
type ChildFigures = (i64, String, String, String, Option<String>, i64, i64, i64, i64);

/// The condition on `units u` selecting the children of a unit of `kind` whose id is `$1` (a
/// PC's children are its ACs; every other unit's, the units whose parent it is, PCs aside).
fn children_where(kind: UnitKind) -> &'static str {
    if kind == UnitKind::Pc { "u.pc_id = $1 AND u.kind = 'ac'" } else { "u.parent_id = $1 AND u.kind <> 'pc'" }
}

/// [`children_progress`]' statement for the children of a unit of `kind`: its id, the
/// campaign's, the wing's, then the seven days.
fn children_progress_sql(kind: UnitKind, drive: Drive) -> String {
    let booth = format!("u.kind = '{}'", UnitKind::Booth.as_str());
    format!(
        "SELECT u.id, u.code, u.kind, u.name_en, u.name_hi, {} FROM units u WHERE {} ORDER BY u.id",
        figures_sql("u.id", &booth, "$2", "$3", &days_in(4), drive),
        children_where(kind)
    )
}

/// Every child of `u` (in tree order) with its figures, in one statement.
async fn children_progress(c: &mut Conn, u: &UnitSpec, campaign_id: i64, wing_id: i64, today: NaiveDate, drive: Drive) -> Result<Vec<ChildFigures>> {
    let q = sqlx::query_as(AssertSqlSafe(children_progress_sql(u.kind, drive))).bind(u.id).bind(campaign_id).bind(wing_id);
    Ok(last_7_days(today).into_iter().fold(q, |q, day| q.bind(day)).fetch_all(&mut *c).await?)
}

/// Children of a unit in the tree (a PC's children are its ACs; the state's are its divisions).
async fn child_specs(c: &mut Conn, u: &UnitSpec) -> Result<Vec<UnitSpec>> {
    let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE {} ORDER BY u.id", children_where(u.kind));
    let rows: Vec<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).fetch_all(&mut *c).await?;
    Ok(rows.into_iter().map(spec_of).collect())
}

async fn unit_view(c: &mut Conn, u: UnitSpec) -> Result<Unit> {
    let parent: Option<String> = match u.parent_id {
        Some(p) => sqlx::query_scalar("SELECT code FROM units WHERE id = $1").bind(p).fetch_optional(&mut *c).await?,
        None => None,
    };
    let pc: Option<String> = match (u.kind, u.anc.pc) {
        (UnitKind::Ac, Some(p)) => sqlx::query_scalar("SELECT code FROM units WHERE id = $1").bind(p).fetch_optional(&mut *c).await?,
        _ => None,
    };
    Ok(Unit { id: u.id, code: u.code.to_string(), kind: u.kind, name: u.name_en, name_hi: u.name_hi, number: u.number, reserved: u.reserved, parent, pc })
}

/// The SQL condition selecting memberships in a unit's subtree (`m` is memberships).
/// The column of `units` that names a unit of `kind` above it (None for a booth: nothing is below).
fn below_column(kind: UnitKind) -> Option<&'static str> {
    Some(match kind {
        UnitKind::State => "state_id",
        UnitKind::Division => "division_id",
        UnitKind::District => "district_id",
        UnitKind::Pc => "pc_id",
        UnitKind::Ac => "ac_id",
        UnitKind::Sector => "parent_id",
        UnitKind::Booth => return None,
    })
}

fn subtree_filter(u: &UnitSpec) -> String {
    match u.kind {
        UnitKind::Booth => "m.unit_id = $1".into(),
        UnitKind::Sector => "m.unit_id IN (SELECT id FROM units WHERE parent_id = $1)".into(),
        UnitKind::Ac => "m.ac_id = $1".into(),
        k => format!("m.ac_id IN ({})", acs_in(k)),
    }
}

/// The ACs within the unit `$1` of a kind above the AC (state, division, district, PC).
fn acs_in(kind: UnitKind) -> String {
    let col = match kind {
        UnitKind::State => "state_id",
        UnitKind::Division => "division_id",
        UnitKind::District => "district_id",
        _ => "pc_id",
    };
    format!("SELECT id FROM units WHERE kind = 'ac' AND {col} = $1")
}

/// A page of a unit's memberships in id order (listing, export): `sql` selects the rows with
/// `m.id` as its first column, takes the unit as `$1`, the cursor as `$2` (rows after it), the
/// page's size as `$3` and an upper id bound as `$4`, its scope written `{scope}` and its
/// condition on the bound `{upto}`, in the given wings.
///
/// Within an AC, or a subtree of at most [`crate::WALK_IDS_FROM`] members of those wings, the
/// scope is the subtree filter: its index gives every membership after the cursor, sorted for
/// the page. Above that the sort grew with the subtree on every page (at 18.1 M members a
/// division's first page of 51 took 196 s on SQLite, and PostgreSQL sorted the rest of the
/// state, 9 M rows, to disk, for each page of an export), so the ids are walked instead,
/// [`crate::ID_WINDOW`] at a time, through the primary key, with the scope as a filter on the
/// rows met (`+m.ac_id`, or nothing for the state), up to the subtree's last membership, and
/// after an empty window on from the subtree's next membership: each statement reads at most a window, whatever the
/// planner estimates, and a subtree with a share s of the ids costs about limit ÷ s rows a page.
async fn ids_in_order<R>(c: &mut Conn, u: &UnitSpec, wings: &Wings, sql: &str, after: i64, limit: i64) -> Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, <DB as sqlx::Database>::Row> + Send + Unpin + IdFirst,
{
    if matches!(wings, Wings::Only(set) if set.is_empty()) {
        return Ok(Vec::new());
    }
    let walk = match u.kind {
        UnitKind::Booth | UnitKind::Sector | UnitKind::Ac => false,
        UnitKind::State => true,
        _ => {
            // Only ids are formatted in.
            let members: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT CAST(COALESCE(SUM(achieved), 0) AS BIGINT) FROM unit_counters WHERE unit_id = $1 AND {}",
                wings_in("wing_id", wings)
            )))
            .bind(u.id)
            .fetch_one(&mut *c)
            .await?;
            members > crate::WALK_IDS_FROM.load(std::sync::atomic::Ordering::Relaxed)
        }
    };
    if !walk {
        let sql = sql.replace("{scope}", &subtree_filter(u)).replace("{upto}", "$4 = $4");
        return Ok(sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(after).bind(limit).bind(i64::MAX).fetch_all(&mut *c).await?);
    }
    // Every membership is in the state (one state per installation); `$1` stays in the
    // statement so that both drivers take the same parameters.
    let scope = if u.kind == UnitKind::State { "$1 = $1".to_string() } else { scope_on_found(u, 1) };
    let last = seek_membership(c, u, "MAX", 0).await?.unwrap_or(0);
    let sql = sql.replace("{scope}", &scope).replace("{upto}", "m.id <= $4");
    let window = crate::ID_WINDOW.load(std::sync::atomic::Ordering::Relaxed).max(1);
    let mut rows: Vec<R> = Vec::new();
    let mut from = after;
    while (rows.len() as i64) < limit && from < last {
        let to = from.saturating_add(window);
        let wanted = limit - rows.len() as i64;
        let got: Vec<R> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(u.id).bind(from).bind(wanted).bind(to).fetch_all(&mut *c).await?;
        from = match got.last() {
            Some(r) if got.len() as i64 == wanted => r.id(),
            Some(_) => to,
            // Nothing in the window: on from the subtree's next membership (over a gap in the
            // ids, or other units' ids: one seek per AC).
            None => seek_membership(c, u, "MIN", to).await?.map_or(last, |n| (n - 1).max(to)),
        };
        rows.extend(got);
    }
    Ok(rows)
}

/// The first (`agg` = `MIN`) or last (`MAX`) membership id after `after` in the subtree of `u`,
/// a unit above an AC: one seek per AC of `memberships (ac_id, id)`, or of the primary key for
/// the state (every membership is in it).
async fn seek_membership(c: &mut Conn, u: &UnitSpec, agg: &str, after: i64) -> Result<Option<i64>> {
    // Only `MIN` or `MAX` and the units' query are formatted in.
    debug_assert!(agg == "MIN" || agg == "MAX");
    let sql = if u.kind == UnitKind::State {
        format!("SELECT {agg}(id) FROM memberships WHERE id > $2 AND $1 = $1")
    } else {
        format!(
            "SELECT {agg}((SELECT {agg}(m.id) FROM memberships m WHERE m.ac_id = a.id AND m.id > $2)) FROM units a WHERE a.id IN ({})",
            acs_in(u.kind)
        )
    };
    Ok(sqlx::query_scalar(AssertSqlSafe(sql)).bind(u.id).bind(after).fetch_one(&mut *c).await?)
}

/// A row whose first column is a membership's id (see [`ids_in_order`]).
trait IdFirst {
    fn id(&self) -> i64;
}

/// A row of `list_members`: the membership's id first.
type ListedRow = (i64, i64, String, String, String, String, String, DateTime<Utc>);

/// A row of `export_page`: the membership's id first.
type ExportedRow =
    (i64, String, Option<String>, Option<String>, Option<i32>, Option<i32>, Option<String>, Option<i32>, Option<String>, String, String, String, DateTime<Utc>);

impl IdFirst for ListedRow {
    fn id(&self) -> i64 {
        self.0
    }
}

impl IdFirst for ExportedRow {
    fn id(&self) -> i64 {
        self.0
    }
}

/// The unit's subtree (its id in `$arg`) as a filter on memberships already found, never the
/// way in: with the unary `+` SQLite cannot drive the query from the scope's index (an AC's
/// 45,000 memberships at 18 M) and starts from the handful of people a search's key or
/// identifier finds.
fn scope_on_found(u: &UnitSpec, arg: usize) -> String {
    subtree_filter(u).replace("$1", &format!("${arg}")).replacen("m.", "+m.", 1)
}

/// How many of a name key's trigrams a search reads from the index: of 1, 2, 3, 4, 6 and all of
/// them, 3 gave the lowest p95 on the 18.1 M-member SQLite file (fewer leave more rows to
/// check); on PostgreSQL's trigram index, the three rarest of `snskrtvndrkr`'s ten read 245
/// pages where all ten read 1,799 (4.6 against 40 ms).
const TRIGRAMS_READ: usize = 3;

/// How old the trigram counts may grow before a search retakes them: an hour, or ten minutes
/// while taking them takes under a second (a small index, likely still growing).
const TRIGRAMS_STALE: std::time::Duration = std::time::Duration::from_secs(3600);
const TRIGRAMS_STALE_CHEAP: std::time::Duration = std::time::Duration::from_secs(600);

/// How many people each trigram of the search keys appears in, as the backend counts them
/// (`count_trigrams`: SQLite reads them from its FTS5 index, ~6 s at 18 M people; PostgreSQL
/// counts a sample of the people), for choosing the rarest trigrams of a name query. Counts a
/// little out of date only make a search choose less well; a trigram not counted is taken as
/// rare.
#[derive(Default)]
struct Trigrams {
    state: std::sync::Mutex<TrigramsNow>,
}

#[derive(Default)]
struct TrigramsNow {
    counts: Option<std::sync::Arc<HashMap<String, i64>>>,
    /// When the taking of `counts` started.
    counts_started: Option<std::time::Instant>,
    /// When the last taking of the counts started (whether it gave counts or failed), and how
    /// long it took.
    taken: Option<(std::time::Instant, std::time::Duration)>,
    /// A background retake is running.
    retaking: bool,
}

impl Trigrams {
    /// The counts to plan with, and whether the caller should start retaking them (at most one
    /// retake runs at a time).
    fn get(&self) -> (Option<std::sync::Arc<HashMap<String, i64>>>, bool) {
        let mut now = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let stale = match now.taken {
            None => true,
            Some((started, took)) => started.elapsed() > if took < std::time::Duration::from_secs(1) { TRIGRAMS_STALE_CHEAP } else { TRIGRAMS_STALE },
        };
        let retake = stale && !now.retaking;
        if retake {
            now.retaking = true;
        }
        (now.counts.clone(), retake)
    }

    /// The counts to plan with now; when they are stale (or not taken yet), a retake starts in
    /// the background, so no search waits for one.
    fn now_or_later(trigrams: &std::sync::Arc<Trigrams>, read: &Pool<DB>) -> Option<std::sync::Arc<HashMap<String, i64>>> {
        let (counts, retake) = trigrams.get();
        if retake {
            let (read, trigrams) = (read.clone(), trigrams.clone());
            tokio::spawn(async move {
                if let Err(e) = Trigrams::retake(&read, &trigrams, true).await {
                    tracing::warn!(error = %e, "the search keys' trigram counts could not be taken");
                }
            });
        }
        counts
    }

    /// Take the counts, through a reader: in the background (`background`, the one retake
    /// `get` allowed) or when asked (`refresh_search_statistics`), which may overlap a
    /// background retake. Counts whose taking started before the kept ones' did are dropped,
    /// so the later of two overlapping takings wins whichever ends first (a failed taking keeps
    /// whatever counts there are).
    async fn retake(read: &Pool<DB>, trigrams: &Trigrams, background: bool) -> Result<()> {
        let started = std::time::Instant::now();
        let counts: Result<Vec<(String, i64)>> = async {
            let mut c = read.acquire().await?;
            StoreImpl::count_trigrams(&mut c).await
        }
        .await;
        let mut now = trigrams.state.lock().unwrap_or_else(|e| e.into_inner());
        if background {
            now.retaking = false;
        }
        if now.taken.is_none_or(|(last, _)| last <= started) {
            now.taken = Some((started, started.elapsed()));
        }
        let counts = counts?;
        if now.counts_started.is_none_or(|kept| kept <= started) {
            now.counts = Some(std::sync::Arc::new(counts.into_iter().collect()));
            now.counts_started = Some(started);
        }
        Ok(())
    }
}

/// The [`TRIGRAMS_READ`] trigrams of the key to look it up by: the rarest first, then the
/// rarest that overlaps none already taken (trigrams that share letters are mostly found
/// together: at 18.1 M people `prmprksvt`'s three rarest, `mpr`, `rmp` and `prk`, are all in
/// "Ram Prakash" and were found together in ~30,000 people, for 138 with the key; `mpr`, `ksv`
/// and `rmp` read 6.8 ms against 21.7 ms, warm), and so on, the rarest of the rest filling any
/// places left. A trigram not counted is taken as rarest; ties go in alphabetical order. None
/// when the key has no more distinct trigrams than that (reading all of them costs no more) or
/// holds anything but lower-case ASCII letters (the indexes' trigrams are of characters, and
/// fold other scripts' case themselves: such keys are looked up whole).
fn rarest_trigrams<'k>(key: &'k str, counts: &HashMap<String, i64>) -> Option<Vec<&'k str>> {
    if key.len() < 3 || !key.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    // Each distinct trigram with every place it starts at.
    let mut at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for i in 0..=key.len() - 3 {
        at.entry(&key[i..i + 3]).or_default().push(i);
    }
    if at.len() <= TRIGRAMS_READ {
        return None;
    }
    let mut grams: Vec<(&str, Vec<usize>)> = at.into_iter().collect();
    grams.sort_by_key(|(g, _)| (counts.get(*g).copied().unwrap_or(0), *g));
    let mut taken: Vec<usize> = Vec::new();
    for (i, (_, places)) in grams.iter().enumerate() {
        let overlaps = taken.iter().any(|&t| grams[t].1.iter().any(|a| places.iter().any(|b| a.abs_diff(*b) < 3)));
        if !overlaps && taken.len() < TRIGRAMS_READ {
            taken.push(i);
        }
    }
    for i in 0..grams.len() {
        if taken.len() < TRIGRAMS_READ && !taken.contains(&i) {
            taken.push(i);
        }
    }
    Some(taken.into_iter().map(|i| grams[i].0).collect())
}

/// A search within a unit narrower than the state (or in some wings only): the memberships, in
/// the unit's subtree and the wings, of the people `cond` finds, the unit's id in `$arg`, joined
/// in the form `found` says ([`Found`]). Within an AC (or a sector or booth, whose AC is known)
/// "a member there?" is then one seek in memberships_person_ac (person, AC), and the membership
/// rows of people who are members elsewhere are never read: a common short name is found
/// thousands of times state-wide (in the plain join, `Found::Join`, the AC is a filter only).
/// Wider scopes (several ACs) stay filters on the rows. The
/// unary `+` on the wings keeps SQLite from taking the (person, wing) index instead, for its
/// order or its wing filter.
fn scoped_search_sql(cond: &str, u: &UnitSpec, arg: usize, wings: &Wings, found: Found) -> String {
    // In the plain join the AC is a filter only: a generic plan guessing that a search finds
    // many people could otherwise start from the AC's own memberships (memberships_ac).
    let ac = if found == Found::Join { "+m.ac_id" } else { "m.ac_id" };
    let scope = match (u.kind, u.anc.ac) {
        (UnitKind::Ac, _) => format!("{ac} = ${arg}"),
        // Only integers are formatted in.
        (UnitKind::Sector | UnitKind::Booth, Some(id)) => format!("{ac} = {id} AND {}", scope_on_found(u, arg)),
        _ => scope_on_found(u, arg),
    };
    let wings = wings_in("+m.wing_id", wings);
    // Where the scope lies within one AC, the people found are those whose home AC is that AC
    // or 0 (see `leave_home_ac`), which PostgreSQL's trigram index holds beside the key.
    let home = match one_ac(u) {
        Some(_) if u.kind == UnitKind::Ac => format!(" AND p.home_ac IN (0, ${arg})"),
        Some(id) => format!(" AND p.home_ac IN (0, {id})"),
        None => String::new(),
    };
    let from = match found {
        Found::AsSet => format!(
            "FROM memberships m JOIN people p ON p.id = m.person_id JOIN wings w ON w.id = m.wing_id JOIN units b ON b.id = m.unit_id \
             WHERE m.person_id IN (SELECT p.id FROM people p WHERE {cond} AND p.merged_into IS NULL) AND {scope} AND {wings}"
        ),
        Found::Lateral => format!(
            "FROM people p CROSS JOIN LATERAL (SELECT m.person_id, m.number, m.wing_id, m.unit_id FROM memberships m \
             WHERE m.person_id = p.id AND {scope} AND {wings} OFFSET 0) m \
             JOIN wings w ON w.id = m.wing_id JOIN units b ON b.id = m.unit_id WHERE {cond}{home} AND p.merged_into IS NULL"
        ),
        Found::Join => format!(
            "FROM people p JOIN memberships m ON m.person_id = p.id JOIN wings w ON w.id = m.wing_id JOIN units b ON b.id = m.unit_id \
             WHERE {cond} AND p.merged_into IS NULL AND {scope} AND {wings}"
        ),
    };
    format!("SELECT p.id, p.name, p.name_key, p.search_key, m.number, w.code, b.code {from} ORDER BY m.person_id, +m.wing_id LIMIT {CANDIDATES}")
}

/// The AC a unit's subtree lies within, when it lies within one (an AC, or a sector or booth of
/// it).
fn one_ac(u: &UnitSpec) -> Option<i64> {
    match (u.kind, u.anc.ac) {
        (UnitKind::Ac, _) => Some(u.id),
        (UnitKind::Sector | UnitKind::Booth, Some(id)) => Some(id),
        _ => None,
    }
}

/// A unit (id 7) of `kind` under AC 5 and sector 6, for the scoped search's plan tests.
#[cfg(test)]
fn scoped_test_unit(kind: UnitKind, code: &str) -> UnitSpec {
    UnitSpec {
        id: 7,
        code: sangathan_core::geo::UnitCode::parse(code).expect("a code"),
        kind,
        parent_id: Some(6),
        number: Some(1),
        name_en: "x".into(),
        name_hi: None,
        reserved: None,
        anc: sangathan_core::geo::Ancestors { state: Some(1), division: Some(2), district: Some(3), pc: Some(4), ac: Some(5), sector: Some(6) },
    }
}

/// How [`scoped_search_sql`] joins the people a search finds to their memberships in scope
/// (each backend names its forms: `FOUND`, and `FOUND_BY_PREFIX` for keys too short for
/// trigrams).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)] // each backend uses some
enum Found {
    /// The people found as a set the memberships are looked up by (`m.person_id IN (…)`), for a
    /// planner that joins in the order a query gives (SQLite).
    AsSet,
    /// Each person found, then their memberships in scope (`CROSS JOIN LATERAL (… OFFSET 0)`,
    /// which the planner may neither flatten nor reorder), for a planner that would otherwise
    /// choose the order by its estimate of how many people a key finds (PostgreSQL). Where the
    /// scope lies within one AC, the people are found by their home AC too (`people.home_ac`,
    /// in the trigram index on PostgreSQL).
    Lateral,
    /// A plain join, the planner choosing its order (the AC a filter only).
    Join,
}

/// The people whose search key is exactly the query's (`$1`), through the key's b-tree.
const SAME_KEY: &str = "p.search_key = $1";

/// The people whose search key is exactly one of `n` keys (`$1`…`$n`: the query's leading
/// words, `Ranker::leading_keys`), through the key's b-tree.
fn leading_keys_condition(n: usize) -> String {
    let keys: Vec<String> = (1..=n.max(1)).map(|i| format!("${i}")).collect();
    format!("p.search_key IN ({})", keys.join(", "))
}

/// A whole-state search's people whose search key is one of `n` keys (its leading words'), the
/// first CANDIDATES of them.
fn leading_people_sql(n: usize) -> String {
    format!(
        "SELECT p.id, p.name, p.name_key, p.search_key FROM people p WHERE {} AND p.merged_into IS NULL ORDER BY {} LIMIT {CANDIDATES}",
        leading_keys_condition(n),
        StoreImpl::CANDIDATE_ORDER
    )
}

/// A whole-state search's candidates stored with the query's leading words only
/// ([`leading_people_sql`]) that are not `known` yet (added to it): (person, name, name key,
/// search key).
async fn leading_people(c: &mut Conn, leading: &[String], known: &mut HashSet<i64>) -> Result<Vec<(i64, String, String, String)>> {
    let mut query = sqlx::query_as::<_, (i64, String, String, String)>(AssertSqlSafe(leading_people_sql(leading.len())));
    for k in leading {
        query = query.bind(k);
    }
    Ok(query.fetch_all(&mut *c).await?.into_iter().filter(|r| known.insert(r.0)).collect())
}

/// [`scoped_search_sql`]'s rows for `cond` and its arguments, the unit's id after them: (person,
/// name, name key, search key, membership number, wing, unit).
async fn scoped_search_rows(
    c: &mut Conn,
    cond: &str,
    binds: &[String],
    u: &UnitSpec,
    wings: &Wings,
    found: Found,
) -> Result<Vec<(i64, String, String, String, String, String, String)>> {
    let sql = scoped_search_sql(cond, u, binds.len() + 1, wings, found);
    let mut query = sqlx::query_as(AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    Ok(query.bind(u.id).fetch_all(&mut *c).await?)
}

/// Down a ranked list of people, in growing chunks, each person's first membership (by wing) in
/// the unit's subtree and the wings, until `want` hits are found or the list ends; people with
/// none there are passed over.
async fn first_memberships(c: &mut Conn, u: &UnitSpec, wings: &Wings, ranked: &[SearchHit], want: usize) -> Result<Vec<SearchHit>> {
    let mut hits: Vec<SearchHit> = Vec::new();
    let mut rest = ranked;
    let mut chunk = want.max(32);
    while hits.len() < want && !rest.is_empty() {
        let (batch, after) = rest.split_at(chunk.min(rest.len()));
        rest = after;
        chunk *= 4;
        // Only integers are formatted into the query.
        let ids = batch.iter().map(|h| h.person_id.to_string()).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT m.person_id, m.number, w.code, b.code FROM memberships m \
             JOIN wings w ON w.id = m.wing_id JOIN units b ON b.id = m.unit_id \
             WHERE m.person_id IN ({ids}) AND {} AND {} ORDER BY m.person_id, m.wing_id",
            scope_on_found(u, 1),
            wings_filter(wings)
        );
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).fetch_all(&mut *c).await?;
        let mut first: HashMap<i64, (String, String, String)> = HashMap::new();
        for (person, number, wing, unit) in rows {
            first.entry(person).or_insert((number, wing, unit));
        }
        for h in batch {
            if let Some((membership_number, wing, unit)) = first.remove(&h.person_id) {
                hits.push(SearchHit { membership_number, wing, unit, ..h.clone() });
            }
        }
    }
    Ok(hits)
}

/// The page at `offset` of ranked hits; a next page when there is a hit after it.
fn page_of(hits: Vec<SearchHit>, offset: usize, limit: usize) -> SearchPage {
    let more = hits.len() > offset + limit;
    let members: Vec<SearchHit> = hits.into_iter().skip(offset).take(limit).collect();
    let next = more.then_some((offset + members.len()) as u32);
    SearchPage { members, next }
}

// ---- Duplicate review and merges ----

/// Statuses that count towards `achieved` (the Rust side of [`COUNTED`]).
fn counts(status: &str) -> bool {
    matches!(status, "pending" | "verified")
}

async fn unit_by_id(c: &mut Conn, id: i64) -> Result<UnitSpec> {
    let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE u.id = $1");
    let row: UnitTuple = sqlx::query_as(AssertSqlSafe(sql)).bind(id).fetch_one(&mut *c).await?;
    Ok(spec_of(row))
}

/// Do two names on one mobile look like one person written in two scripts (or two spellings,
/// or their words in another order)?
fn names_match_across_scripts(a: &str, b: &str) -> bool {
    use sangathan_core::search;
    let (ka, kb) = (search::joined_key(a), search::joined_key(b));
    if ka.is_empty() || ka == kb {
        return !ka.is_empty();
    }
    // Rank 2 without equal keys means the same words in another order, so the same letters:
    // most pairs on a shared phone (a household) fail this cheap test.
    let sorted = |k: &str| {
        let mut v = k.as_bytes().to_vec();
        v.sort_unstable();
        v
    };
    sorted(&ka) == sorted(&kb) && (search::rank(a, b) >= 2 || search::rank(b, a) >= 2)
}

/// What a merge changed, stored with it (`merges.snapshot`) so that its undo restores exactly.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MergeSnapshot {
    /// The merged record's identifiers before the merge (the merge clears both on it).
    from_mobile: Option<String>,
    from_epic: Option<String>,
    /// The remaining person's identifiers before the merge.
    into_mobile: Option<String>,
    into_epic: Option<String>,
    /// Which of the merged record's identifiers were given to the remaining person: `epic`, `mobile`.
    moved_identifiers: Vec<String>,
    /// Every membership of the merged record, in id order.
    memberships: Vec<MergedMembership>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MergedMembership {
    id: i64,
    number: String,
    wing_id: i64,
    unit_id: i64,
    enrolled_on: NaiveDate,
    previous_status: String,
    previous_person: i64,
    /// `moved` (re-pointed to the remaining person, same unit and status) or `cancelled` (the
    /// remaining person holds the wing: status set to `cancelled`, uncounted if it counted).
    action: String,
}

/// (id, name, name_key, mobile, epic, merged_into)
type PersonIdentity = (i64, String, String, Option<String>, Option<String>, Option<i64>);

async fn person_identity(c: &mut Conn, id: i64) -> Result<Option<PersonIdentity>> {
    Ok(sqlx::query_as("SELECT id, name, name_key, mobile, epic, merged_into FROM people WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await?)
}

/// Every record merged into these people, at any depth, level by level (through the partial
/// index on `people(merged_into)`): (id, mobile). Merges make a forest, never a cycle.
async fn merged_records(c: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, Option<String>)>> {
    let (mut all, mut under) = (Vec::new(), ids.to_vec());
    while !under.is_empty() {
        let merged: Vec<(i64, Option<String>)> = fetch_in(c, "SELECT id, mobile FROM people WHERE merged_into", "", &under).await?;
        under = merged.iter().map(|r| r.0).collect();
        all.extend(merged);
    }
    Ok(all)
}

/// The person at the end of a chain of merges starting at `id` (None: unknown, or a chain
/// longer than any merges make, as a concurrent merge read mid-walk could seem).
async fn survivor(c: &mut Conn, mut id: i64) -> Result<Option<PersonIdentity>> {
    for _ in 0..64 {
        match person_identity(c, id).await? {
            None => return Ok(None),
            Some(p) => match p.5 {
                Some(next) => id = next,
                None => return Ok(Some(p)),
            },
        }
    }
    Ok(None)
}

/// Take the locks that serialise everyone touching these people (`p:ID` for merges, and the
/// mobile and EPIC keys enrolments lock), plus `extra`; then read the people again under them.
async fn lock_people(c: &mut Conn, ids: &[i64], extra: &[String]) -> Result<Vec<Option<PersonIdentity>>> {
    let mut locked: HashSet<String> = HashSet::new();
    loop {
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            rows.push(person_identity(c, *id).await?);
        }
        let mut want: Vec<String> = ids.iter().map(|i| format!("p:{i}")).chain(extra.iter().cloned()).collect();
        for p in rows.iter().flatten() {
            want.extend(p.3.as_ref().map(|m| format!("m:{m}")));
            want.extend(p.4.as_ref().map(|e| format!("e:{e}")));
        }
        // The mobiles of the records merged into them, at any depth: an enrolment claiming one
        // locks only that mobile, then writes to the person it leads to (core's identity.rs).
        want.extend(merged_records(c, ids).await?.into_iter().filter_map(|r| r.1).map(|m| format!("m:{m}")));
        let new: Vec<String> = want.into_iter().filter(|k| !locked.contains(k)).collect();
        if new.is_empty() {
            return Ok(rows);
        }
        StoreImpl::lock_keys(c, &new).await?;
        locked.extend(new);
    }
}

fn refused_field(field: &str, code: &'static str, en: String, hi: String) -> StoreError {
    FieldError::new(field, code, en, hi).into()
}

/// The merge itself, inside the caller's transaction (see [`Store::merge`]).
async fn merge_in(c: &mut Conn, from: i64, into: i64, actor: &str) -> Result<MergeOutcome> {
    if from == into {
        return Err(refused_field(
            "into",
            "same_person",
            format!("person #{from} cannot be merged into itself"),
            format!("व्यक्ति #{from} को उसी में नहीं मिलाया जा सकता"),
        ));
    }
    let rows = lock_people(c, &[from, into], &[]).await?;
    let mut errs = Vec::new();
    for (field, id, row) in [("from", from, &rows[0]), ("into", into, &rows[1])] {
        match row {
            None => errs.push(FieldError::new(
                field,
                "unknown_person",
                format!("there is no person #{id}"),
                format!("व्यक्ति #{id} मौजूद नहीं है"),
            )),
            Some(p) => {
                if let Some(to) = p.5 {
                    errs.push(FieldError::new(
                        field,
                        "already_merged",
                        format!("person #{id} was already merged into #{to}"),
                        format!("व्यक्ति #{id} पहले ही #{to} में मिलाया जा चुका है"),
                    ));
                }
            }
        }
    }
    if !errs.is_empty() {
        return Err(StoreError::Invalid(Invalid(errs)));
    }
    let (f, t) = (rows[0].clone().expect("checked"), rows[1].clone().expect("checked"));
    if let (Some(a), Some(b)) = (&f.4, &t.4)
        && a != b
    {
        return Err(refused_field(
            "epic",
            "different_epics",
            format!(
                "#{from} and #{into} hold different EPICs: an EPIC belongs to exactly one person, so these are two people"
            ),
            format!("#{from} और #{into} के EPIC अलग-अलग हैं: एक EPIC एक ही व्यक्ति का होता है, इसलिए ये दो अलग व्यक्ति हैं"),
        ));
    }

    // Identifiers: what `into` lacks moves over; `from` keeps its mobile (below), its EPIC is
    // cleared; both are kept in the snapshot.
    let mut moved_identifiers = Vec::new();
    let give_epic = if t.4.is_none() { f.4.clone() } else { None };
    if give_epic.is_some() {
        moved_identifiers.push("epic".to_string());
    }
    let give_mobile = match (&t.3, &f.3) {
        (None, Some(m)) => {
            let held: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM people WHERE mobile = $1 AND name_key = $2 AND id <> $3 AND id <> $4 LIMIT 1",
            )
            .bind(m)
            .bind(&t.2)
            .bind(from)
            .bind(into)
            .fetch_optional(&mut *c)
            .await?;
            held.is_none().then(|| m.clone())
        }
        _ => None,
    };
    if give_mobile.is_some() {
        moved_identifiers.push("mobile".to_string());
    }
    // `from` keeps its mobile: with its name key it still names the person it joined (see
    // core's identity.rs), so the same row imported again is a duplicate, not the record
    // made anew. Unless `into` takes that mobile under the same name key: then `into` itself is
    // found by them, and the pair is unique. Its EPIC (unique) has moved to `into` or it had
    // none. Cleared first, as both are unique.
    let from_keeps_mobile = !(give_mobile.is_some() && t.2 == f.2);
    sqlx::query("UPDATE people SET mobile = CASE WHEN $3 THEN mobile END, epic = NULL, merged_into = $2 WHERE id = $1")
        .bind(from)
        .bind(into)
        .bind(from_keeps_mobile)
        .execute(&mut *c)
        .await?;
    if give_epic.is_some() || give_mobile.is_some() {
        sqlx::query("UPDATE people SET mobile = COALESCE(mobile, $2), epic = COALESCE(epic, $3) WHERE id = $1")
            .bind(into)
            .bind(&give_mobile)
            .bind(&give_epic)
            .execute(&mut *c)
            .await?;
    }

    // Memberships: a wing `into` lacks moves over; a wing both hold is cancelled on `from`.
    type Row = (i64, String, i64, i64, String, NaiveDate, Option<NaiveDate>, i64);
    let ms: Vec<Row> = sqlx::query_as(
        "SELECT id, number, wing_id, unit_id, status, enrolled_on, verified_on, ac_id FROM memberships WHERE person_id = $1 ORDER BY id",
    )
    .bind(from)
    .fetch_all(&mut *c)
    .await?;
    let into_wings: HashSet<i64> = sqlx::query_scalar::<_, i64>("SELECT wing_id FROM memberships WHERE person_id = $1")
        .bind(into)
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .collect();
    let mut deltas = Deltas::default();
    let mut units: HashMap<i64, UnitSpec> = HashMap::new();
    let (mut moved, mut cancelled, mut snapshot_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut moved_acs = Vec::new();
    for (id, number, wing_id, unit_id, status, day, verified_on, ac_id) in ms {
        let action = if into_wings.contains(&wing_id) {
            // Guarded on the state read above: a verification landing meanwhile fails the merge
            // instead of leaving the counters one off.
            let n = sqlx::query("UPDATE memberships SET status = 'cancelled' WHERE id = $1 AND status = $2")
                .bind(id)
                .bind(&status)
                .execute(&mut *c)
                .await?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Refused(format!("membership {number} changed during the merge; try again")));
            }
            if counts(&status) {
                let u = match units.get(&unit_id) {
                    Some(u) => u.clone(),
                    None => unit_by_id(c, unit_id).await?,
                };
                deltas.count(&u, wing_id, day, -1);
                if let (true, Some(v)) = (status == "verified", verified_on) {
                    deltas.count_verified(&u, wing_id, v, -1);
                }
                units.insert(unit_id, u);
            }
            cancelled.push(number.clone());
            "cancelled"
        } else {
            sqlx::query("UPDATE memberships SET person_id = $2 WHERE id = $1").bind(id).bind(into).execute(&mut *c).await?;
            moved.push(number.clone());
            moved_acs.push((into, ac_id));
            "moved"
        };
        snapshot_ms.push(MergedMembership {
            id,
            number,
            wing_id,
            unit_id,
            enrolled_on: day,
            previous_status: status,
            previous_person: from,
            action: action.to_string(),
        });
    }
    // The memberships moved over may lie in another AC than the remaining person's (an unmerge
    // moves them back to a person whose home AC they matched, so it needs no such step).
    leave_home_ac(c, &moved_acs).await?;
    deltas.apply(c).await?;
    // Meetings and contacts that named the merged record now name the person it joined.
    sqlx::query(
        "INSERT INTO meeting_people (meeting_id, person_id, role) SELECT meeting_id, $2, role FROM meeting_people WHERE person_id = $1 \
         ON CONFLICT (meeting_id, role, person_id) DO NOTHING",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM meeting_people WHERE person_id = $1").bind(from).execute(&mut *c).await?;
    refresh_activity(c, &[from, into]).await?;
    sqlx::query("UPDATE contacts SET person_id = $2 WHERE person_id = $1").bind(from).bind(into).execute(&mut *c).await?;
    // A merged record logs in no more, as a disabled user (the caller clears the token cache).
    // The person it joined is the one to hold a login; an unmerge leaves the user disabled, for
    // an admin to enable again.
    end_logins(c, from, crate::clock::now()).await?;

    let snapshot = MergeSnapshot {
        from_mobile: f.3,
        from_epic: f.4,
        into_mobile: t.3,
        into_epic: t.4,
        moved_identifiers: moved_identifiers.clone(),
        memberships: snapshot_ms,
    };
    let merge_id: i64 = sqlx::query_scalar(
        "INSERT INTO merges (from_id, into_id, actor, merged_at, snapshot) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(from)
    .bind(into)
    .bind(actor)
    .bind(crate::clock::now())
    .bind(sqlx::types::Json(snapshot))
    .fetch_one(&mut *c)
    .await?;
    Ok(MergeOutcome {
        merge_id,
        from,
        into,
        moved_memberships: moved,
        cancelled_memberships: cancelled,
        moved_identifiers,
        undone: false,
    })
}

type MergeRow = (i64, i64, Option<DateTime<Utc>>, Option<String>, sqlx::types::Json<MergeSnapshot>);

async fn merge_row(c: &mut Conn, merge_id: i64) -> Result<Option<MergeRow>> {
    Ok(sqlx::query_as("SELECT from_id, into_id, undone_at, undone_by, snapshot FROM merges WHERE id = $1")
        .bind(merge_id)
        .fetch_optional(&mut *c)
        .await?)
}

/// The exact reverse of a merge, from its snapshot, inside the caller's transaction (see [`Store::unmerge`]).
async fn unmerge_in(c: &mut Conn, merge_id: i64, actor: &str) -> Result<MergeOutcome> {
    let Some((from, into, _, _, sqlx::types::Json(snap))) = merge_row(c, merge_id).await? else {
        return Err(StoreError::NotFound);
    };
    // The people's merge keys first, as a merge takes them, then their identifiers'.
    StoreImpl::lock_keys(c, &[format!("p:{from}"), format!("p:{into}")]).await?;
    let mut extra = Vec::new();
    extra.extend(snap.from_mobile.as_ref().map(|m| format!("m:{m}")));
    extra.extend(snap.from_epic.as_ref().map(|e| format!("e:{e}")));
    let rows = lock_people(c, &[from, into], &extra).await?;
    // Read again under the locks: a concurrent undo of the same merge has finished by now.
    let (_, _, undone_at, undone_by, _) = merge_row(c, merge_id).await?.ok_or(StoreError::NotFound)?;
    if let Some(at) = undone_at {
        return Err(StoreError::Refused(format!(
            "merge #{merge_id} was already undone on {} by {}",
            at.format("%Y-%m-%d %H:%M UTC"),
            undone_by.unwrap_or_default()
        )));
    }
    let (Some(f), Some(t)) = (rows[0].clone(), rows[1].clone()) else {
        return Err(StoreError::Refused(format!("merge #{merge_id}: its people are no longer on record")));
    };
    if let Some(x) = t.5 {
        return Err(StoreError::Refused(format!(
            "person #{into} has since been merged into #{x}: undo that merge first"
        )));
    }
    if f.5 != Some(into) {
        return Err(StoreError::Refused(format!("person #{from} is no longer merged into #{into}")));
    }
    let later: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM merges WHERE into_id = $1 AND id > $2 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(into)
    .bind(merge_id)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(k) = later {
        return Err(StoreError::Refused(format!(
            "merge #{k} into person #{into} came after this one: undo it first (merges into one person are undone last first)"
        )));
    }

    // Identifiers: take back what was given to `into` (if it still holds it); refuse if anyone
    // else now holds what `from` had.
    let moved = |k: &str| snap.moved_identifiers.iter().any(|x| x == k);
    let take_epic = moved("epic") && t.4.is_some() && t.4 == snap.from_epic;
    let take_mobile = moved("mobile") && t.3.is_some() && t.3 == snap.from_mobile;
    if let Some(e) = &snap.from_epic {
        let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM people WHERE epic = $1 AND id <> $2 LIMIT 1")
            .bind(e)
            .bind(from)
            .fetch_optional(&mut *c)
            .await?;
        if let Some(h) = holder.filter(|h| !(*h == into && take_epic)) {
            return Err(StoreError::Refused(format!(
                "the EPIC person #{from} had is now held by person #{h}: it cannot be restored (merge #{h} into #{from} or correct it first)"
            )));
        }
    }
    if let Some(m) = &snap.from_mobile {
        let holder: Option<i64> =
            sqlx::query_scalar("SELECT id FROM people WHERE mobile = $1 AND name_key = $2 AND id <> $3 LIMIT 1")
                .bind(m)
                .bind(&f.2)
                .bind(from)
                .fetch_optional(&mut *c)
                .await?;
        if let Some(h) = holder.filter(|h| !(*h == into && take_mobile)) {
            return Err(StoreError::Refused(format!(
                "the mobile person #{from} had is now held by person #{h} under the same name: it cannot be restored"
            )));
        }
    }
    let mut taken = Vec::new();
    if take_epic {
        sqlx::query("UPDATE people SET epic = $2 WHERE id = $1").bind(into).bind(&snap.into_epic).execute(&mut *c).await?;
        taken.push("epic".to_string());
    }
    if take_mobile {
        sqlx::query("UPDATE people SET mobile = $2 WHERE id = $1").bind(into).bind(&snap.into_mobile).execute(&mut *c).await?;
        taken.push("mobile".to_string());
    }
    sqlx::query("UPDATE people SET mobile = $2, epic = $3, merged_into = NULL WHERE id = $1")
        .bind(from)
        .bind(&snap.from_mobile)
        .bind(&snap.from_epic)
        .execute(&mut *c)
        .await?;

    // Memberships: moved ones go back, cancelled ones get their status (and count) back.
    let mut deltas = Deltas::default();
    let (mut moved_back, mut restored) = (Vec::new(), Vec::new());
    for m in &snap.memberships {
        let now: Option<(i64, String, i64, i64, NaiveDate, Option<NaiveDate>)> =
            sqlx::query_as("SELECT person_id, status, wing_id, unit_id, enrolled_on, verified_on FROM memberships WHERE id = $1")
                .bind(m.id)
                .fetch_optional(&mut *c)
                .await?;
        let Some((person, status, wing_id, unit_id, day, verified_on)) = now else {
            return Err(StoreError::Refused(format!("membership {} is no longer on record", m.number)));
        };
        if m.action == "moved" {
            if person != into {
                return Err(StoreError::Refused(format!(
                    "membership {} no longer belongs to person #{into}",
                    m.number
                )));
            }
            sqlx::query("UPDATE memberships SET person_id = $2 WHERE id = $1")
                .bind(m.id)
                .bind(m.previous_person)
                .execute(&mut *c)
                .await?;
            moved_back.push(m.number.clone());
        } else {
            if person != from || status != "cancelled" {
                return Err(StoreError::Refused(format!("membership {} has changed since the merge", m.number)));
            }
            let n = sqlx::query("UPDATE memberships SET status = $2 WHERE id = $1 AND status = 'cancelled'")
                .bind(m.id)
                .bind(&m.previous_status)
                .execute(&mut *c)
                .await?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Refused(format!("membership {} changed during the undo; try again", m.number)));
            }
            if counts(&m.previous_status) {
                let u = unit_by_id(c, unit_id).await?;
                deltas.count(&u, wing_id, day, 1);
                if let (true, Some(v)) = (m.previous_status == "verified", verified_on) {
                    deltas.count_verified(&u, wing_id, v, 1);
                }
            }
            restored.push(m.number.clone());
        }
    }
    deltas.apply(c).await?;
    sqlx::query("UPDATE merges SET undone_at = $2, undone_by = $3 WHERE id = $1")
        .bind(merge_id)
        .bind(crate::clock::now())
        .bind(actor)
        .execute(&mut *c)
        .await?;
    Ok(MergeOutcome {
        merge_id,
        from,
        into,
        moved_memberships: moved_back,
        cancelled_memberships: restored,
        moved_identifiers: taken,
        undone: true,
    })
}

/// Live people in a unit's subtree who look like one person (see [`Store::duplicate_candidates`]).
async fn duplicates_in(c: &mut Conn, u: &UnitSpec, wings: &Wings, limit: usize) -> Result<Vec<DuplicateCandidate>> {
    let small = matches!(u.kind, UnitKind::Booth | UnitKind::Sector | UnitKind::Ac);
    let scope = if small {
        subtree_filter(u)
    } else {
        // Above an AC: the subtree's ACs looked up once, as a literal list, instead of once per
        // page. (`m.ac_id = $1` never holds above an AC; it keeps `$1` in the statement, so that
        // both drivers take the same parameters.)
        let acs: Vec<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("{} ORDER BY id", acs_in(u.kind)))).bind(u.id).fetch_all(&mut *c).await?;
        let list: Vec<String> = acs.iter().map(i64::to_string).collect();
        if list.is_empty() { "m.ac_id = $1".to_string() } else { format!("(m.ac_id IN ({}) OR m.ac_id = $1)", list.join(", ")) }
    };
    // Only people the caller may see: a membership in one of the caller's wings in the subtree.
    let scope = format!("{scope} AND {}", wings_filter(wings));
    // A small scope is walked from its memberships; a large one in person order, so that the
    // walk stops at the limit instead of sorting the whole scope first.
    let in_scope = |p: &str| {
        if small {
            format!("{p}.id IN (SELECT m.person_id FROM memberships m WHERE {scope})")
        } else {
            format!("EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = {p}.id AND {scope})")
        }
    };
    let (sa, sb) = (in_scope("a"), in_scope("b"));
    type Pair = (i64, String, i64, String);
    let mut found: Vec<DuplicateCandidate> = Vec::new();

    // The same mobile: pairs from the (mobile, name key) index, names compared here.
    const BATCH: i64 = 2000;
    let sql = format!(
        "SELECT a.id, a.name, b.id, b.name FROM people a JOIN people b ON b.mobile = a.mobile AND b.id > a.id \
         WHERE a.mobile IS NOT NULL AND a.merged_into IS NULL AND b.merged_into IS NULL AND {sa} AND {sb} \
         AND (a.id > $2 OR (a.id = $2 AND b.id > $3)) ORDER BY a.id, b.id LIMIT $4"
    );
    let mut after = (0i64, 0i64);
    'pages: loop {
        let rows: Vec<Pair> = sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(u.id)
            .bind(after.0)
            .bind(after.1)
            .bind(BATCH)
            .fetch_all(&mut *c)
            .await?;
        let n = rows.len() as i64;
        for (a, a_name, b, b_name) in rows {
            after = (a, b);
            if names_match_across_scripts(&a_name, &b_name) {
                found.push(DuplicateCandidate { a, b, a_name, b_name, reason: REASON_SAME_MOBILE.to_string() });
                if found.len() >= limit {
                    break 'pages;
                }
            }
        }
        if n < BATCH {
            break;
        }
    }

    // The same name key and birth year in one booth: decided by the self-join alone.
    let sql = format!(
        "SELECT a.id, a.name, b.id, b.name FROM people a \
         JOIN people b ON b.unit_id = a.unit_id AND b.name_key = a.name_key AND b.id > a.id \
         JOIN units bu ON bu.id = a.unit_id \
         WHERE bu.kind = 'booth' AND a.birth_year IS NOT NULL AND b.birth_year = a.birth_year \
         AND a.merged_into IS NULL AND b.merged_into IS NULL AND {sa} AND {sb} \
         ORDER BY a.id, b.id LIMIT $2"
    );
    let rows: Vec<Pair> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(limit as i64).fetch_all(&mut *c).await?;
    found.extend(rows.into_iter().map(|(a, a_name, b, b_name)| DuplicateCandidate {
        a,
        b,
        a_name,
        b_name,
        reason: REASON_SAME_BOOTH.to_string(),
    }));
    // Each pair once (a stable sort keeps the same-mobile reason first), lowest ids first.
    found.sort_by_key(|d| (d.a, d.b));
    found.dedup_by_key(|d| (d.a, d.b));
    found.truncate(limit);
    Ok(found)
}

impl StoreImpl {
    /// This process's identity index for the load it now owns, from the people already in the
    /// database (none in a fresh load; the loaded rows when it resumes one).
    async fn index_for_load(&self, owner: String) -> Result<()> {
        use futures::TryStreamExt;
        let mut ix = LoadIndex::new(owner);
        let mut c = self.read.acquire().await?;
        let mut rows = sqlx::query_as::<_, (i64, Option<String>, Option<String>)>("SELECT id, mobile, epic FROM people WHERE merged_into IS NULL")
            .fetch(&mut *c);
        while let Some((id, m, e)) = rows.try_next().await? {
            ix.learn(id, m.as_deref(), e.as_deref());
        }
        drop(rows);
        *self.load.lock().await = Some(ix);
        Ok(())
    }

    /// `import_batch` with this process's first-load index, if it owns a pending load, or a dry
    /// run's batch (`BatchFor::Dry`).
    async fn import_batch_with(&self, mut batch: BatchFor<'_>, first_line: u64, rows: &[ImportRow], ix: &mut Option<LoadIndex>) -> Result<ImportStats> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let to_enrol: Vec<(&Enrolment, &EnrolContext)> = rows
                .iter()
                .filter_map(|r| match r {
                    ImportRow::Enrol { enrolment, ctx, .. } => Some((enrolment, ctx)),
                    _ => None,
                })
                .collect();
            let opened = match &batch {
                BatchFor::Job(_) => self.open_batch(ix, to_enrol.iter().map(|(e, _)| *e), attempt).await?,
                BatchFor::Dry { .. } => self.open_dry_batch(ix, attempt).await?,
            };
            let Some(mut tx) = opened else { continue };
            let s = self.settings.get(&mut tx).await?;
            let mut deltas = Deltas::default();
            let mut learned = Vec::new();
            // A dry run reads the database as it is (the load's index is for its writes).
            let (load, carry) = match &mut batch {
                BatchFor::Job(_) => (ix.as_ref().map(|i| (i, &mut learned)), None),
                BatchFor::Dry { carry, .. } => (None, Some(&mut **carry)),
            };
            let results = match enrol_rows(&mut tx, &s, &to_enrol, &mut deltas, load, carry).await {
                Ok(r) => r,
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                Err(err) => return Err(err),
            };
            // Sheets marked as already verified: their new memberships are verified in the same
            // transaction (each change kept in membership_states under the importer's name).
            let mut to_verify: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            let enrol_rows_in_order = rows.iter().filter_map(|r| match r {
                ImportRow::Enrol { ctx, verified, .. } => Some((ctx.actor.as_str(), *verified)),
                _ => None,
            });
            for ((actor, verified), r) in enrol_rows_in_order.zip(&results) {
                if let (true, Ok(o)) = (verified, r)
                    && o.created_membership
                {
                    to_verify.entry(actor).or_default().push(o.membership_number.clone());
                }
            }
            let mut results = results.into_iter();
            let mut stats = ImportStats { rows: rows.len() as u64, ..Default::default() };
            let mut errors: Vec<ImportError> = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let line = first_line + i as u64;
                match r {
                    ImportRow::Blank => stats.blank += 1,
                    ImportRow::Rejected(errs) => {
                        stats.rejected += 1;
                        errors.extend(errs.iter().map(|e| ImportError { line, ..e.clone() }));
                    }
                    ImportRow::Enrol { values, .. } => match results.next().expect("one result per enrolment") {
                        Ok(o) => {
                            stats.created_people += o.created_person as u64;
                            if o.created_membership {
                                stats.created_memberships += 1;
                            } else {
                                stats.duplicates += 1;
                            }
                        }
                        Err(inv) => {
                            stats.rejected += 1;
                            for f in inv.0 {
                                let column = match (f.field.as_str(), f.code) {
                                    ("unit", "unknown_booth") => "booth_no",
                                    ("unit", _) => "ac_no",
                                    (other, _) => other,
                                }
                                .to_string();
                                let value = values.iter().find(|(k, _)| *k == column).map(|(_, v)| v.clone()).unwrap_or_default();
                                errors.push(ImportError { line, column, value, reason_en: f.en, reason_hi: f.hi });
                            }
                        }
                    },
                }
            }
            let job = match &mut batch {
                BatchFor::Job(job) => *job,
                BatchFor::Dry { report, .. } => {
                    tx.rollback().await?;
                    // As the report reads them back: by line, then column; the first of a line
                    // and column only (`ON CONFLICT (job_id, line, col) DO NOTHING`).
                    errors.sort_by(|a, b| (a.line, &a.column).cmp(&(b.line, &b.column)));
                    errors.dedup_by(|b, a| a.line == b.line && a.column == b.column);
                    report.append(&mut errors);
                    return Ok(stats);
                }
            };
            let written: Result<()> = async {
                deltas.apply(&mut tx).await?;
                for (actor, numbers) in &to_verify {
                    for chunk in numbers.chunks(500) {
                        let mut qb: QueryBuilder<DB> = QueryBuilder::new("SELECT id FROM memberships WHERE number IN (");
                        let mut sep = qb.separated(", ");
                        for n in chunk {
                            sep.push_bind(n.clone());
                        }
                        qb.push(")");
                        let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                        set_status_in(&mut tx, &ids, sangathan_core::verification::Status::Verified, Some("imported as verified"), actor, crate::clock::now()).await?;
                    }
                }
                for chunk in errors.chunks(500) {
                    let mut qb: QueryBuilder<DB> =
                        QueryBuilder::new("INSERT INTO import_errors (job_id, line, col, value, reason_en, reason_hi) ");
                    qb.push_values(chunk, |mut b, e| {
                        b.push_bind(job)
                            .push_bind(e.line as i64)
                            .push_bind(e.column.clone())
                            .push_bind(e.value.clone())
                            .push_bind(e.reason_en.clone())
                            .push_bind(e.reason_hi.clone());
                    });
                    qb.push(" ON CONFLICT (job_id, line, col) DO NOTHING");
                    qb.build().execute(&mut *tx).await?;
                }
                sqlx::query(
                    "UPDATE import_jobs SET rows_done = rows_done + $2, blank = blank + $3, created_people = created_people + $4, \
                     created_memberships = created_memberships + $5, duplicates = duplicates + $6, rejected = rejected + $7 WHERE id = $1",
                )
                .bind(job)
                .bind(stats.rows as i64)
                .bind(stats.blank as i64)
                .bind(stats.created_people as i64)
                .bind(stats.created_memberships as i64)
                .bind(stats.duplicates as i64)
                .bind(stats.rejected as i64)
                .execute(&mut *tx)
                .await?;
                Ok(())
            }
            .await;
            match written {
                Ok(()) => {}
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                Err(err) => return Err(err),
            }
            if Self::commit_batch(tx, ix, learned, attempt).await? {
                return Ok(stats);
            }
        }
    }

    /// A batch's transaction (`import_batch_with`, `enrol_batch_with`), opened: the first-load
    /// guard taken (`ix` let go when no load is pending any more), then the locks of the batch's
    /// identities, which a load this process owns does without (every other writer of people
    /// is refused until it ends, see [`first_load_guard`], and this process's batches take
    /// turns on its index). None: a retryable failure (on PostgreSQL a lock wait chosen as a
    /// deadlock's victim), for the caller to try again.
    async fn open_batch<'e>(&self, ix: &mut Option<LoadIndex>, enrolments: impl Iterator<Item = &'e Enrolment>, attempt: u32) -> Result<Option<Transaction<'static, DB>>> {
        let mut tx = self.begin_write().await?;
        match first_load_guard(&mut tx, ix.as_ref().map(|i| i.owner.as_str())).await {
            Ok(true) => return Ok(Some(tx)),
            Ok(false) => *ix = None,
            Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => return Ok(None),
            Err(err) => return Err(err),
        }
        let keys: Vec<String> = enrolments.flat_map(identity_keys).collect();
        match Self::lock_keys(&mut tx, &keys).await {
            Ok(()) => Ok(Some(tx)),
            Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A dry run's batch's transaction: a read snapshot on a reader's connection, which holds
    /// neither the writer (SQLite) nor any lock (PostgreSQL: the AC serials are read without
    /// `FOR UPDATE`, the identities and the first load without their advisory locks), so that
    /// enrolments, imports and a load's build go on beside it. A first load pending in another
    /// process is refused as for a real batch.
    async fn open_dry_batch(&self, ix: &Option<LoadIndex>, attempt: u32) -> Result<Option<Transaction<'static, DB>>> {
        // The owner as the snapshot has it, without the first-load lock (`first_load_guard`'s,
        // for writers): the batch writes nothing a load's build must wait for.
        let mut tx = self.read.begin_with(StoreImpl::READ_SNAPSHOT).await?;
        match meta(&mut tx, FIRST_LOAD_OWNER).await {
            Ok(None) => Ok(Some(tx)),
            Ok(Some(o)) if ix.as_ref().is_some_and(|i| i.owner == o) => Ok(Some(tx)),
            Ok(Some(_)) => Err(StoreError::LoadPending),
            Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A batch's commit, then the identities it wrote taught to the load's index. False: a
    /// retryable failure, for the caller to try the batch again.
    async fn commit_batch(tx: Transaction<'static, DB>, ix: &mut Option<LoadIndex>, learned: Vec<Learned>, attempt: u32) -> Result<bool> {
        match tx.commit().await {
            Ok(()) => {
                learn(ix, learned);
                Ok(true)
            }
            Err(err) if attempt < 8 && Self::is_retryable(&err) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// `defer_indexes` into an empty database: the indexes and keys left out, their definitions
    /// kept in `meta`, in the caller's transaction.
    async fn leave_out_indexes(&self, tx: &mut Conn) -> Result<()> {
        // The definitions as the database holds them (whatever migrations made of them), kept in
        // `meta` in the same transaction as the drops: an interrupted load still knows them.
        let names: Vec<String> = DEFERRABLE.iter().chain(StoreImpl::DEFERRABLE_HERE).map(|n| n.to_string()).collect();
        let defs: Vec<(String, String, String)> = fetch_in(&mut *tx, StoreImpl::DEFINITIONS, "", &names).await?;
        if defs.len() != names.len() {
            // A migration renamed or removed one: say so rather than silently keep it up.
            let found: HashSet<&str> = defs.iter().map(|d| d.0.as_str()).collect();
            let missing: Vec<&String> = names.iter().filter(|n| !found.contains(n.as_str())).collect();
            return Err(StoreError::Refused(format!("indexes or keys to defer not found: {missing:?}")));
        }
        for (_, drop, _) in &defs {
            sqlx::query(AssertSqlSafe(drop.clone())).execute(&mut *tx).await?;
        }
        let sqls: Vec<&str> = defs.iter().map(|d| d.2.as_str()).collect();
        set_meta(tx, DEFERRED_INDEXES, &serde_json::to_string(&sqls).map_err(|e| StoreError::Refused(e.to_string()))?).await?;
        Ok(())
    }


    /// `enrol_batch` with this process's first-load index, if it owns a pending load.
    async fn enrol_batch_with(&self, rows: &[(Enrolment, EnrolContext)], ix: &mut Option<LoadIndex>) -> Result<Vec<Result<EnrolOutcome, Invalid>>> {
        let mut attempt = 0;
        'retry: loop {
            attempt += 1;
            let Some(mut tx) = self.open_batch(ix, rows.iter().map(|(e, _)| e), attempt).await? else { continue 'retry };
            let s = self.settings.get(&mut tx).await?;
            let mut deltas = Deltas::default();
            let refs: Vec<(&Enrolment, &EnrolContext)> = rows.iter().map(|(e, c)| (e, c)).collect();
            let mut learned = Vec::new();
            let out = match enrol_rows(&mut tx, &s, &refs, &mut deltas, ix.as_ref().map(|i| (i, &mut learned)), None).await {
                Ok(out) => out,
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue 'retry,
                Err(err) => return Err(err),
            };
            match deltas.apply(&mut tx).await {
                Ok(()) => {}
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                Err(err) => return Err(err),
            }
            if Self::commit_batch(tx, ix, learned, attempt).await? {
                return Ok(out);
            }
        }
    }
}

#[async_trait]
impl Store for StoreImpl {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn is_initialised(&self) -> Result<bool> {
        let mut c = self.read.acquire().await?;
        Ok(meta(&mut c, "state_code").await?.is_some())
    }

    async fn init(&self, preset: &Preset, start: NaiveDate, end: Option<NaiveDate>) -> Result<InitSummary> {
        let mut tx = self.begin_write().await?;
        if meta(&mut tx, "state_code").await?.is_some() {
            return Err(StoreError::AlreadyInitialised);
        }
        for c in &preset.campaigns {
            let e = end.unwrap_or(start + Duration::days(c.days.max(1) - 1));
            check_campaign(&c.code, start, e, c.target_per_ac)?;
        }
        set_meta(&mut tx, "state_code", &preset.state_code).await?;
        set_meta(&mut tx, "household_limit", &identity::DEFAULT_HOUSEHOLD_LIMIT.to_string()).await?;
        for (i, w) in preset.wings.iter().enumerate() {
            sqlx::query("INSERT INTO wings (id, code, name_en, name_hi) VALUES ($1, $2, $3, $4)")
                .bind(i as i64 + 1)
                .bind(&w.code)
                .bind(&w.name_en)
                .bind(&w.name_hi)
                .execute(&mut *tx)
                .await?;
        }
        insert_units(&mut tx, &preset.units).await?;
        let acs: Vec<i64> = preset.units.iter().filter(|u| u.kind == UnitKind::Ac).map(|u| u.id).collect();
        for chunk in acs.chunks(5000) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("INSERT INTO ac_sequences (ac_id, last) ");
            qb.push_values(chunk, |mut b, id| {
                b.push_bind(*id).push_bind(0i64);
            });
            qb.build().execute(&mut *tx).await?;
        }
        for (i, c) in preset.campaigns.iter().enumerate() {
            let e = end.unwrap_or(start + Duration::days(c.days.max(1) - 1));
            let wing_id = preset.wings.iter().position(|w| w.code == c.wing).expect("preset checks wings") as i64 + 1;
            sqlx::query(
                "INSERT INTO campaigns (id, code, name_en, name_hi, wing_id, start_date, end_date, counts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(i as i64 + 1)
            .bind(&c.code)
            .bind(&c.name_en)
            .bind(&c.name_hi)
            .bind(wing_id)
            .bind(start)
            .bind(e)
            .bind(c.counts.code())
            .execute(&mut *tx)
            .await?;
            insert_targets(&mut tx, i as i64 + 1, &split_targets(&preset.units, c.target_per_ac)).await?;
        }
        bump_settings_version(&mut tx).await?;
        tx.commit().await?;
        Ok(InitSummary {
            units: preset.units.len(),
            booths: preset.count(UnitKind::Booth),
            campaigns: preset.campaigns.len(),
        })
    }

    async fn state_code(&self) -> Result<String> {
        let mut c = self.read.acquire().await?;
        meta(&mut c, "state_code").await?.ok_or(StoreError::NotInitialised)
    }

    async fn household_limit(&self) -> Result<usize> {
        let mut c = self.read.acquire().await?;
        Ok(settings(&mut c).await?.household_limit)
    }

    async fn set_household_limit(&self, limit: usize) -> Result<()> {
        let mut tx = self.begin_write().await?;
        set_meta(&mut tx, "household_limit", &limit.max(1).to_string()).await?;
        bump_settings_version(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn issue_token(&self, actor: &str, label: &str) -> Result<String> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| StoreError::Refused(format!("no randomness: {e}")))?;
        let token = format!("sgn_{}", hex::encode(raw));
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO api_tokens (token_hash, actor, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(hash_token(&token))
            .bind(actor)
            .bind(label)
            .bind(crate::clock::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn authenticate(&self, token: &str) -> Result<Option<Actor>> {
        let hash = hash_token(token);
        if let Some(actor) = self.auth_cache.get(&hash) {
            return Ok(Some(actor));
        }
        let epoch = self.auth_cache.epoch();
        let mut c = self.read.acquire().await?;
        // A user's token works while the user is enabled; a token without a user is the operator's.
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT t.actor, t.person_id FROM api_tokens t LEFT JOIN users u ON u.person_id = t.person_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.person_id IS NULL OR u.disabled_at IS NULL)",
        )
        .bind(&hash)
        .fetch_optional(&mut *c)
        .await?;
        Ok(row.map(|(_, person)| {
            self.auth_cache.put(hash, person, epoch);
            crate::auth_cache::actor_of(person)
        }))
    }

    async fn unit(&self, code: &str) -> Result<Option<Unit>> {
        let mut c = self.read.acquire().await?;
        match unit_by_code(&mut c, code).await? {
            Some(u) => Ok(Some(unit_view(&mut c, u).await?)),
            None => Ok(None),
        }
    }

    async fn children(&self, code: &str) -> Result<Option<Vec<Unit>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, code).await? else { return Ok(None) };
        let parent = u.code.to_string();
        let kids = child_specs(&mut c, &u).await?;
        let mut pcs: HashMap<i64, String> = HashMap::new();
        if kids.iter().any(|k| k.kind == UnitKind::Ac) {
            let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM units WHERE kind = 'pc'").fetch_all(&mut *c).await?;
            pcs.extend(rows);
        }
        Ok(Some(
            kids.into_iter()
                .map(|k| Unit {
                    id: k.id,
                    pc: if k.kind == UnitKind::Ac { k.anc.pc.and_then(|p| pcs.get(&p).cloned()) } else { None },
                    parent: Some(parent.clone()),
                    code: k.code.to_string(),
                    kind: k.kind,
                    name: k.name_en,
                    name_hi: k.name_hi,
                    number: k.number,
                    reserved: k.reserved,
                })
                .collect(),
        ))
    }

    async fn units_within(&self, code: &str, kind: UnitKind) -> Result<Option<Vec<UnitBrief>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, code).await? else { return Ok(None) };
        if u.kind == kind {
            let sql = "SELECT code, number, name_en, name_hi FROM units WHERE id = $1";
            let rows: Vec<(String, Option<i32>, String, Option<String>)> = sqlx::query_as(sql).bind(u.id).fetch_all(&mut *c).await?;
            return Ok(Some(rows.into_iter().map(|(code, number, name, name_hi)| UnitBrief { code, number, name, name_hi }).collect()));
        }
        let Some(col) = below_column(u.kind) else { return Ok(Some(Vec::new())) };
        let sql = format!("SELECT code, number, name_en, name_hi FROM units WHERE {col} = $1 AND kind = $2 ORDER BY number, code");
        let rows: Vec<(String, Option<i32>, String, Option<String>)> =
            sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).bind(kind.as_str()).fetch_all(&mut *c).await?;
        Ok(Some(rows.into_iter().map(|(code, number, name, name_hi)| UnitBrief { code, number, name, name_hi }).collect()))
    }

    async fn wings(&self) -> Result<Vec<Wing>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT id, code, name_en, name_hi FROM wings ORDER BY id").fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(|(id, code, name, name_hi)| Wing { id, code, name, name_hi }).collect())
    }

    async fn campaigns(&self) -> Result<Vec<Campaign>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<CampaignTuple> =
            sqlx::query_as(AssertSqlSafe(format!("{CAMPAIGN_SQL} ORDER BY c.id"))).fetch_all(&mut *c).await?;
        Ok(rows.into_iter().map(campaign_of).collect())
    }

    async fn campaign(&self, code: &str) -> Result<Option<Campaign>> {
        let mut c = self.read.acquire().await?;
        let row: Option<CampaignTuple> =
            sqlx::query_as(AssertSqlSafe(format!("{CAMPAIGN_SQL} WHERE c.code = $1"))).bind(code).fetch_optional(&mut *c).await?;
        Ok(row.map(campaign_of))
    }

    async fn create_campaign(&self, n: &NewCampaign) -> Result<Campaign> {
        check_campaign(&n.code, n.start_date, n.end_date, n.target_per_ac)?;
        let name = n.name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "empty_name", "campaign name is required", "अभियान का नाम आवश्यक है").into());
        }
        let mut tx = self.begin_write().await?;
        let s = settings(&mut tx).await?;
        let (wing_id, _) = s.wings.get(&n.wing.trim().to_lowercase()).cloned().ok_or_else(|| unknown_wing(&n.wing))?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM campaigns WHERE code = $1").bind(&n.code).fetch_optional(&mut *tx).await?;
        if exists.is_some() {
            return Err(FieldError::new(
                "code",
                "campaign_exists",
                format!("a campaign with code {} already exists", n.code),
                format!("कोड {} वाला अभियान पहले से है", n.code),
            )
            .into());
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (id, code, name_en, name_hi, wing_id, start_date, end_date, counts, verify_by) \
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM campaigns), $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&n.code)
        .bind(name)
        .bind(n.name_hi.trim())
        .bind(wing_id)
        .bind(n.start_date)
        .bind(n.end_date)
        .bind(sangathan_core::verification::Drive::parse(n.counts.as_deref().unwrap_or(""))?.code())
        .bind(Method::join(&Method::parse_set(&n.verify_by.clone().unwrap_or_default().join(","))?))
        .fetch_one(&mut *tx)
        .await?;
        let units = all_units(&mut tx).await?;
        insert_targets(&mut tx, id, &split_targets(&units, n.target_per_ac)).await?;
        tx.commit().await?;
        self.campaign(&n.code).await?.ok_or(StoreError::NotFound)
    }

    async fn progress(&self, code: &str, campaign: Option<&str>, today: NaiveDate) -> Result<Option<Progress>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, code).await? else { return Ok(None) };
        let sql = match campaign {
            Some(_) => format!("{CAMPAIGN_SQL} WHERE c.code = $1"),
            None => format!("{CAMPAIGN_SQL} ORDER BY c.id LIMIT 1"),
        };
        let mut q = sqlx::query_as::<_, CampaignTuple>(AssertSqlSafe(sql));
        if let Some(code) = campaign {
            q = q.bind(code);
        }
        let Some(ct) = q.fetch_optional(&mut *c).await? else {
            return Err(FieldError::new(
                "campaign",
                "unknown_campaign",
                format!("unknown campaign: {}", campaign.unwrap_or("")),
                format!("अज्ञात अभियान: {}", campaign.unwrap_or("")),
            )
            .into());
        };
        let campaign_id = ct.0;
        let end = ct.6;
        let wing_code = ct.4.clone();
        let drive = Drive::parse(&ct.8)?;
        let (wing_id, here) = unit_figures(&mut c, &u, campaign_id, &wing_code, today, drive).await?;
        let (t, a, v, l7) = (here.target, here.achieved, here.verified, here.last7);
        let unit_row = progress_row(u.code.to_string(), u.kind.as_str(), u.name_en.clone(), u.name_hi.clone(), here, drive, today, end);
        let kids = children_progress(&mut c, &u, campaign_id, wing_id, today, drive).await?;
        let mut children = Vec::with_capacity(kids.len());
        for (_, code, kind, name, name_hi, target, achieved, verified, last7) in kids {
            let f = Figures { target, achieved, verified, last7 };
            children.push(progress_row(code, &kind, name, name_hi, f, drive, today, end));
        }
        if u.kind == UnitKind::Ac {
            // Members enrolled without a booth count at the AC: shown as their own row so children sum to the parent.
            let rest = Figures {
                target: t - children.iter().map(|r| r.target).sum::<i64>(),
                achieved: a - children.iter().map(|r| r.achieved).sum::<i64>(),
                verified: v - children.iter().map(|r| r.verified).sum::<i64>(),
                last7: l7 - children.iter().map(|r| r.last_7_days).sum::<i64>(),
            };
            children.push(progress_row(format!("{}-UNASSIGNED", u.code), "unassigned", "unassigned".into(), Some("बूथ अज्ञात".into()), rest, drive, today, end));
        }
        Ok(Some(Progress { unit: unit_row, children, campaign: ct.1, wing: wing_code, as_of: today, counts: drive.code().to_string() }))
    }

    async fn enrol(&self, e: &Enrolment, ctx: &EnrolContext, key: &str) -> Result<Idempotent> {
        // Enrolments waiting at the same moment share one transaction (group commit).
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.writer
            .send((e.clone(), ctx.clone(), key.to_string(), tx))
            .await
            .map_err(|_| writer_stopped())?;
        rx.await.map_err(|_| writer_stopped())?
    }

    async fn enrol_batch(&self, rows: &[(Enrolment, EnrolContext)]) -> Result<Vec<Result<EnrolOutcome, Invalid>>> {
        let mut ix = self.load.lock().await;
        self.enrol_batch_with(rows, &mut ix).await
    }

    async fn member(&self, person_id: i64) -> Result<Option<Member>> {
        let mut c = self.read.acquire().await?;
        type P = (i64, String, Option<String>, Option<String>, Option<String>, Option<i32>, Option<String>, String, DateTime<Utc>, Option<i64>);
        let p: Option<P> = sqlx::query_as(
            "SELECT p.id, p.name, p.mobile, p.epic, p.gender, p.birth_year, p.address, u.code, p.created_at, p.merged_into \
             FROM people p JOIN units u ON u.id = p.unit_id WHERE p.id = $1",
        )
        .bind(person_id)
        .fetch_optional(&mut *c)
        .await?;
        let Some(p) = p else { return Ok(None) };
        let ms: Vec<(String, String, String, String, String, String, DateTime<Utc>, i64)> = sqlx::query_as(
            "SELECT m.number, w.code, u.code, m.status, m.channel, m.enrolled_by, m.enrolled_at, m.id \
             FROM memberships m JOIN wings w ON w.id = m.wing_id JOIN units u ON u.id = m.unit_id \
             WHERE m.person_id = $1 ORDER BY m.id",
        )
        .bind(person_id)
        .fetch_all(&mut *c)
        .await?;
        Ok(Some(Member {
            person_id: p.0,
            name: p.1,
            mobile: p.2,
            epic: p.3,
            gender: p.4,
            birth_year: p.5,
            address: p.6,
            unit: p.7,
            created_at: p.8,
            memberships: ms
                .into_iter()
                .map(|m| MembershipView {
                    membership_number: m.0,
                    wing: m.1,
                    unit: m.2,
                    status: m.3,
                    channel: m.4,
                    enrolled_by: m.5,
                    enrolled_at: m.6,
                    membership_id: m.7,
                })
                .collect(),
            merged_into: p.9,
        }))
    }

    async fn list_members(&self, unit: &str, wings: &Wings, after: Option<i64>, limit: u32) -> Result<Option<MemberPage>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let limit = limit.clamp(1, 500) as i64;
        let sql = format!(
            "SELECT m.id, p.id, p.name, m.number, w.code, b.code, m.status, m.enrolled_at \
             FROM memberships m JOIN people p ON p.id = m.person_id JOIN wings w ON w.id = m.wing_id \
             JOIN units b ON b.id = m.unit_id \
             WHERE {{scope}} AND m.id > $2 AND {{upto}} AND {} AND p.erased_at IS NULL ORDER BY m.id LIMIT $3",
            wings_filter(wings)
        );
        let rows: Vec<ListedRow> = ids_in_order(&mut c, &u, wings, &sql, after.unwrap_or(0), limit + 1).await?;
        let more = rows.len() as i64 > limit;
        let members: Vec<MemberRow> = rows
            .into_iter()
            .take(limit as usize)
            .map(|(cursor, person_id, name, membership_number, wing, unit, status, enrolled_at)| MemberRow {
                person_id,
                name,
                membership_number,
                wing,
                unit,
                status,
                enrolled_at,
                cursor,
            })
            .collect();
        let next = if more { members.last().map(|m| m.cursor) } else { None };
        Ok(Some(MemberPage { members, next }))
    }

    async fn search(&self, unit: &str, q: &str, wings: &Wings, offset: u32, limit: u32) -> Result<Option<SearchPage>> {
        use sangathan_core::search;
        // One snapshot for every statement below: a merge committed between the candidates'
        // read and their memberships' would otherwise drop a person from this answer.
        let mut tx = self.read.begin_with(StoreImpl::READ_SNAPSHOT).await?;
        if !StoreImpl::SEARCH_SETTINGS.is_empty() {
            sqlx::query(StoreImpl::SEARCH_SETTINGS).execute(&mut *tx).await?;
        }
        let c: &mut Conn = &mut tx;
        let Some(u) = unit_by_code(c, unit).await? else { return Ok(None) };
        let limit = limit.clamp(1, 100);
        // What to look for: an identifier exactly, or a name by its key.
        enum Find {
            Mobile(String),
            Epic(String),
            Key(String),
        }
        let find = if search::looks_like_identifier(q) {
            if let Ok(m) = Mobile::parse(q) {
                Find::Mobile(m.e164().to_string())
            } else if let Ok(e) = Epic::parse(q) {
                Find::Epic(e.as_str().to_string())
            } else {
                return Ok(Some(SearchPage { members: Vec::new(), next: None }));
            }
        } else {
            let k = search::joined_key(q);
            if k.is_empty() {
                return Ok(Some(SearchPage { members: Vec::new(), next: None }));
            }
            Find::Key(k)
        };
        let find_key = match &find {
            Find::Key(k) => Some(k.clone()),
            _ => None,
        };
        // A prefix in a scope wider than one AC has no home AC to narrow it by.
        let found = match &find {
            Find::Key(k) if k.chars().count() < 3 && one_ac(&u).is_none() => StoreImpl::FOUND_BY_PREFIX,
            _ => StoreImpl::FOUND,
        };
        let (cond, binds): (String, Vec<String>) = match find {
            Find::Mobile(m) => {
                // A record merged into someone keeps its mobile, which names the person it joined
                // (identity.rs): they are found by it too.
                let merged: Vec<i64> =
                    sqlx::query_scalar("SELECT merged_into FROM people WHERE mobile = $1 AND merged_into IS NOT NULL").bind(&m).fetch_all(&mut *c).await?;
                let mut joined = Vec::new();
                for into in merged {
                    joined.extend(survivor(c, into).await?.map(|p| p.0.to_string()));
                }
                // Only integers are formatted into the condition.
                let cond = if joined.is_empty() { "p.mobile = $1".to_string() } else { format!("(p.mobile = $1 OR p.id IN ({}))", joined.join(",")) };
                (cond, vec![m])
            }
            Find::Epic(e) => ("p.epic = $1".to_string(), vec![e]),
            Find::Key(k) if k.chars().count() >= 3 => self.trigram_condition(k, one_ac(&u).is_some()),
            // Too short for trigrams: a prefix of the key, through its b-tree.
            Find::Key(k) => (StoreImpl::prefix_condition(), vec![k]),
        };
        let identifier = search::looks_like_identifier(q);
        let ranker = search::Ranker::new(q);
        // Each hit is ordered by its grade (its rank, then, within the rank, a name holding the
        // whole query before one that is only its leading words, and the query's words spelled
        // as typed before their variants), then by name and person. A grade depends on the name
        // alone (the keys are the name's), so each name is graded once (`memo`): a common full
        // name's thousand namesakes are written in a few ways.
        let grade = |memo: &mut HashMap<String, search::Grade>, name: &str, name_key: &str, search_key: &str| {
            if identifier {
                return search::Grade { rank: 3, whole: true, as_typed: 0 };
            }
            if let Some(g) = memo.get(name) {
                return *g;
            }
            let g = ranker.grade_stored(name, name_key, search_key);
            memo.insert(name.to_string(), g);
            g
        };
        let order = |a: &(search::Grade, SearchHit), b: &(search::Grade, SearchHit)| {
            b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)).then(a.1.person_id.cmp(&b.1.person_id))
        };
        // A query of several words also finds the people stored with its leading words only
        // ("Ram Prakash" and "रामप्रकाश" for "Ram Prakash Nishad"), by their whole key through its
        // b-tree: a few keys, each long enough not to name half the state (see
        // `Ranker::leading_keys`), ranked below everyone holding the whole query.
        let leading: Vec<String> = if find_key.is_some() { ranker.leading_keys().to_vec() } else { Vec::new() };
        let (offset, limit) = (offset as usize, limit as usize);
        if u.kind == UnitKind::State && matches!(wings, Wings::All) {
            // The whole state in every wing: nearly every person found is in scope, so the
            // candidates are ranked from their names alone, and memberships are read only for
            // the people the page shows (at 18 M members, reading every candidate's memberships
            // was half of a search's time). The candidates are people, not memberships: a
            // person with no membership at all takes a place among the CANDIDATES and is passed
            // over. Searches in some wings only take the join below, which caps memberships of
            // those wings (capping people first would lose a wing's members beyond the cap).
            let want = offset + limit + 1;
            let ranked = |rows: Vec<(i64, String, String, String)>| {
                let mut memo = HashMap::new();
                let mut hits: Vec<(search::Grade, SearchHit)> = rows
                    .into_iter()
                    .map(|(person_id, name, name_key, search_key)| {
                        let g = grade(&mut memo, &name, &name_key, &search_key);
                        let hit = SearchHit {
                            rank: g.rank,
                            person_id,
                            name,
                            membership_number: String::new(),
                            wing: String::new(),
                            unit: String::new(),
                        };
                        (g, hit)
                    })
                    .collect();
                hits.sort_by(order);
                hits
            };
            // Of the people the index finds, those ranked 2 or 3 are exactly the ones whose search
            // key is the query's (words that cover the query's make a key of its length). When
            // there are enough of them in scope for the page and one more (a full name shared
            // by many: at 18 M, a hundred namesakes are common), the page is theirs, found
            // through the key's b-tree, and the substring index is not read at all.
            let same_key: Vec<(i64, String, String, String)> = match &find_key {
                Some(k) => sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT p.id, p.name, p.name_key, p.search_key FROM people p \
                     WHERE {SAME_KEY} AND p.merged_into IS NULL ORDER BY {} LIMIT {CANDIDATES}",
                    StoreImpl::CANDIDATE_ORDER
                )))
                .bind(k)
                .fetch_all(&mut *c)
                .await?,
                None => Vec::new(),
            };
            let same_key = ranked(same_key);
            let best = same_key.iter().take_while(|h| h.1.rank >= 2).count();
            if best >= want {
                let top: Vec<SearchHit> = same_key[..best].iter().map(|h| h.1.clone()).collect();
                let hits = first_memberships(c, &u, wings, &top, want).await?;
                if hits.len() >= want {
                    return Ok(Some(page_of(hits, offset, limit)));
                }
            }
            // Otherwise every candidate: the substring matches (the first CANDIDATES by id) and
            // the same-key people (who may lie beyond them), each once.
            let sql = format!(
                "SELECT p.id, p.name, p.name_key, p.search_key FROM people p WHERE {cond} AND p.merged_into IS NULL \
                 ORDER BY {} LIMIT {CANDIDATES}",
                StoreImpl::CANDIDATE_ORDER
            );
            let mut query = sqlx::query_as::<_, (i64, String, String, String)>(AssertSqlSafe(sql));
            for b in &binds {
                query = query.bind(b);
            }
            let rows = query.fetch_all(&mut *c).await?;
            let mut known: HashSet<i64> = same_key.iter().map(|h| h.1.person_id).collect();
            let mut all = ranked(rows.into_iter().filter(|r| known.insert(r.0)).collect());
            all.extend(same_key);
            // The leading words' people rank below everyone ranked 1 or more here: looked up
            // only when those do not fill the page and one more, counting only the people
            // with a membership in scope (an official made by `user add` holds none), so either
            // before reading memberships, when the candidates alone are too few, or after.
            let mut leading_read = false;
            if !leading.is_empty() && all.iter().filter(|h| h.0.rank >= 1).count() < want {
                all.extend(ranked(leading_people(c, &leading, &mut known).await?));
                leading_read = true;
            }
            all.sort_by(order);
            let mut people: Vec<SearchHit> = all.iter().map(|h| h.1.clone()).collect();
            let mut hits = first_memberships(c, &u, wings, &people, want).await?;
            // (The leading words' people rank above the rank-0 hits: those do not fill the page.)
            if hits.iter().filter(|h| h.rank >= 1).count() < want && !leading.is_empty() && !leading_read {
                let more = ranked(leading_people(c, &leading, &mut known).await?);
                if !more.is_empty() {
                    all.extend(more);
                    all.sort_by(order);
                    people = all.into_iter().map(|h| h.1).collect();
                    hits = first_memberships(c, &u, wings, &people, want).await?;
                }
            }
            return Ok(Some(page_of(hits, offset, limit)));
        }
        // A narrower unit, or some wings only: the memberships of the people found, the scope
        // filtering them.
        let mut rows = scoped_search_rows(c, &cond, &binds, &u, wings, found).await?;
        // More matches than are ranked: the people whose key is the query's (ranked first) may
        // lie beyond the first CANDIDATES, so they are found by their key too, as the whole
        // state's search does (each person is kept once below).
        if rows.len() >= CANDIDATES as usize
            && let Some(k) = find_key
        {
            rows.extend(scoped_search_rows(c, SAME_KEY, &[k], &u, wings, StoreImpl::FOUND).await?);
        }
        let (mut seen, mut memo) = (HashSet::new(), HashMap::new());
        type Row = (i64, String, String, String, String, String, String);
        let mut grade_rows = |rows: Vec<Row>, seen: &mut HashSet<i64>| -> Vec<(search::Grade, SearchHit)> {
            rows.into_iter()
                .filter(|r| seen.insert(r.0))
                .map(|(person_id, name, name_key, search_key, membership_number, wing, unit)| {
                    let g = grade(&mut memo, &name, &name_key, &search_key);
                    let hit = SearchHit { rank: g.rank, person_id, name, membership_number, wing, unit };
                    (g, hit)
                })
                .collect()
        };
        let mut hits = grade_rows(rows, &mut seen);
        // And the people stored with the query's leading words only (none of them is found above:
        // their keys are shorter than the query's), who rank below everyone ranked 1 or more
        // here: looked up only when those do not fill the page and one more.
        if !leading.is_empty() && hits.iter().filter(|h| h.0.rank >= 1).count() <= offset + limit {
            let more = scoped_search_rows(c, &leading_keys_condition(leading.len()), &leading, &u, wings, StoreImpl::FOUND).await?;
            hits.extend(grade_rows(more, &mut seen));
        }
        hits.sort_by(order);
        Ok(Some(page_of(hits.into_iter().map(|h| h.1).collect(), offset, limit)))
    }

    async fn refresh_search_statistics(&self) -> Result<()> {
        self.refresh_search_statistics_here().await
    }

    async fn export_page(&self, unit: &str, wings: &Wings, after: i64, limit: u32) -> Result<Option<Vec<(i64, ExportRow)>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        // Neither erased people nor records merged into another person: a merge moves a
        // record's memberships to the person it joined (exported there) and cancels the ones of
        // a wing both held, which stay on the merged record, without identifiers, for an
        // unmerge to restore; a row for them could not be imported again.
        let sql = format!(
            "SELECT m.id, p.name, p.mobile, p.epic, a.number, CASE WHEN b.kind = 'booth' THEN b.number END, p.gender, p.birth_year, \
             p.address, w.code, m.number, m.status, m.enrolled_at \
             FROM memberships m JOIN people p ON p.id = m.person_id JOIN wings w ON w.id = m.wing_id \
             JOIN units b ON b.id = m.unit_id JOIN units a ON a.id = m.ac_id \
             WHERE {{scope}} AND m.id > $2 AND {{upto}} AND {} AND p.erased_at IS NULL AND p.merged_into IS NULL ORDER BY m.id LIMIT $3",
            wings_filter(wings)
        );
        let rows: Vec<ExportedRow> = ids_in_order(&mut c, &u, wings, &sql, after, limit.clamp(1, 100_000) as i64).await?;
        Ok(Some(
            rows.into_iter()
                .map(|r| {
                    (
                        r.0,
                        ExportRow {
                            name: r.1,
                            mobile: r.2,
                            epic: r.3,
                            ac_no: r.4.unwrap_or_default(),
                            booth_no: r.5,
                            gender: r.6,
                            birth_year: r.7,
                            address: r.8,
                            wing: r.9,
                            membership_number: r.10,
                            status: r.11,
                            enrolled_at: r.12,
                        },
                    )
                })
                .collect(),
        ))
    }

    async fn import_begin(&self, file_hash: &str, file_name: &str, actor: &str) -> Result<ImportJob> {
        let mut tx = self.begin_write().await?;
        type J = (i64, i64, i64, i64, i64, i64, i64);
        let open: Option<J> = sqlx::query_as(
            "SELECT id, rows_done, blank, created_people, created_memberships, duplicates, rejected FROM import_jobs \
             WHERE file_hash = $1 AND actor = $2 AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(file_hash)
        .bind(actor)
        .fetch_optional(&mut *tx)
        .await?;
        let job = match open {
            Some((id, done, blank, cp, cm, dup, rej)) => ImportJob {
                id,
                rows_done: done as u64,
                stats: ImportStats {
                    rows: done as u64,
                    blank: blank as u64,
                    created_people: cp as u64,
                    created_memberships: cm as u64,
                    duplicates: dup as u64,
                    rejected: rej as u64,
                },
                resumed: true,
            },
            None => {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO import_jobs (file_hash, file_name, actor, started_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(file_hash)
                .bind(file_name)
                .bind(actor)
                .bind(crate::clock::now())
                .fetch_one(&mut *tx)
                .await?;
                ImportJob { id, rows_done: 0, stats: ImportStats::default(), resumed: false }
            }
        };
        tx.commit().await?;
        Ok(job)
    }

    async fn import_batch(&self, job: i64, first_line: u64, rows: &[ImportRow]) -> Result<ImportStats> {
        let mut ix = self.load.lock().await;
        self.import_batch_with(BatchFor::Job(job), first_line, rows, &mut ix).await
    }

    async fn import_batch_dry(&self, first_line: u64, rows: &[ImportRow], dry: &mut DryRun) -> Result<(ImportStats, Vec<ImportError>)> {
        let mut ix = self.load.lock().await;
        let mut report = Vec::new();
        let stats = self.import_batch_with(BatchFor::Dry { carry: &mut *dry, report: &mut report }, first_line, rows, &mut ix).await?;
        dry.counted(first_line + rows.len() as u64);
        Ok((stats, report))
    }

    async fn import_finish(&self, job: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE import_jobs SET finished_at = $2 WHERE id = $1").bind(job).bind(crate::clock::now()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn defer_indexes(&self) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // Writers of people already past their first-load check finish first (PostgreSQL), and
        // none passes it until this commits.
        StoreImpl::first_load_lock(&mut tx, true).await?;
        // Two loads, or a load and `verify`, take turns (PostgreSQL; SQLite's one writer already
        // serialises them), each then reading the state the other left.
        StoreImpl::lock_keys(&mut tx, &[DEFERRED_INDEXES.to_string()]).await?;
        if meta(&mut tx, DEFERRED_INDEXES).await?.is_none() {
            let anyone: Option<i64> = sqlx::query_scalar("SELECT id FROM people LIMIT 1").fetch_optional(&mut *tx).await?;
            if anyone.is_some() {
                return Ok(false);
            }
            self.leave_out_indexes(&mut tx).await?;
        }
        // This process owns the load now: a fresh one, an interrupted one, or one another process
        // is still running (whose next batch is then refused, as is every other writer of people).
        let owner = random_hex(16)?;
        set_meta(&mut tx, FIRST_LOAD_OWNER, &owner).await?;
        tx.commit().await?;
        self.loading(true).await?;
        self.index_for_load(owner).await?;
        Ok(true)
    }

    async fn restore_indexes(&self) -> Result<bool> {
        let built = self.build_deferred().await;
        // A failed build leaves the load pending, and this process's writer set for it.
        let built = built?;
        *self.load.lock().await = None;
        if built {
            self.loading(false).await?;
            return Ok(true);
        }
        self.loading_over().await?;
        Ok(false)
    }

    async fn import_errors(&self, job: i64) -> Result<Vec<ImportError>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT line, col, value, reason_en, reason_hi FROM import_errors WHERE job_id = $1 ORDER BY line, col",
        )
        .bind(job)
        .fetch_all(&mut *c)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(line, column, value, reason_en, reason_hi)| ImportError { line: line as u64, column, value, reason_en, reason_hi })
            .collect())
    }

    async fn booth_codes(&self) -> Result<Vec<(String, Vec<String>)>> {
        let mut c = self.read.acquire().await?;
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT a.code, b.code FROM units a LEFT JOIN units b ON b.ac_id = a.id AND b.kind = 'booth' \
             WHERE a.kind = 'ac' ORDER BY a.id, b.number",
        )
        .fetch_all(&mut *c)
        .await?;
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (ac, booth) in rows {
            if out.last().is_none_or(|(a, _)| *a != ac) {
                out.push((ac, Vec::new()));
            }
            if let Some(b) = booth {
                out.last_mut().expect("pushed").1.push(b);
            }
        }
        Ok(out)
    }

    async fn import_booths(&self, rows: &[BoothRow]) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let state = meta(&mut tx, "state_code").await?.ok_or(StoreError::NotInitialised)?;
        // Not while a first load runs: booths go away here, and the load's rows are not checked
        // against the units until the load ends (its foreign keys are put back then).
        StoreImpl::lock_keys(&mut tx, &[DEFERRED_INDEXES.to_string()]).await?;
        if meta(&mut tx, DEFERRED_INDEXES).await?.is_some() {
            return Err(StoreError::Refused(
                "a first load of members (`import` or `demo` into an empty database) has not finished: \
                 let it end, or finish an interrupted one by running it again or by `sangathan verify`; \
                 then import the booth list"
                    .into(),
            ));
        }
        let mut by_ac: BTreeMap<u32, Vec<BoothRow>> = BTreeMap::new();
        let mut seen = HashSet::new();
        for (i, r) in rows.iter().enumerate() {
            let line = i + 2;
            if r.part_no == 0 || r.part_no > 9999 {
                return Err(FieldError::new(
                    "part_no",
                    "invalid_part_no",
                    format!("row {line}: part number must be 1–9999"),
                    format!("पंक्ति {line}: भाग संख्या 1–9999 होनी चाहिए"),
                )
                .into());
            }
            if r.name.trim().is_empty() {
                return Err(FieldError::new(
                    "name",
                    "empty_name",
                    format!("row {line}: booth name is required"),
                    format!("पंक्ति {line}: बूथ का नाम आवश्यक है"),
                )
                .into());
            }
            if !seen.insert((r.ac_no, r.part_no)) {
                return Err(FieldError::new(
                    "part_no",
                    "duplicate_booth",
                    format!("row {line}: AC {} part {} is listed twice", r.ac_no, r.part_no),
                    format!("पंक्ति {line}: विधानसभा {} भाग {} दो बार है", r.ac_no, r.part_no),
                )
                .into());
            }
            by_ac.entry(r.ac_no).or_default().push(r.clone());
        }
        let seed: u64 = 0;
        let mut next_id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM units").fetch_one(&mut *tx).await?;
        let campaigns: Vec<i64> = sqlx::query_scalar("SELECT id FROM campaigns").fetch_all(&mut *tx).await?;
        let mut written = 0;
        for (ac_no, list) in by_ac {
            let code = UnitCode::ac(&state, ac_no);
            let Some(ac) = unit_by_code(&mut tx, code.as_str()).await?.filter(|u| u.kind == UnitKind::Ac) else {
                return Err(FieldError::new(
                    "ac_no",
                    "unknown_ac",
                    format!("no assembly constituency {ac_no}"),
                    format!("विधानसभा संख्या {ac_no} नहीं है"),
                )
                .into());
            };
            let old: Vec<UnitSpec> = {
                let sql = format!("SELECT {UNIT_COLS} FROM units u WHERE u.ac_id = $1 ORDER BY u.id");
                let r: Vec<UnitTuple> = sqlx::query_as(AssertSqlSafe(sql)).bind(ac.id).fetch_all(&mut *tx).await?;
                r.into_iter().map(spec_of).collect()
            };
            let old_by_code: HashMap<String, i64> = old.iter().map(|u| (u.code.to_string(), u.id)).collect();
            let mut new = sangathan_core::geo::booth_units(&state, ac_no, ac.id, ac.anc, &list, seed);
            // Keep the ids of units that stay (members point at booths), give new ones fresh ids.
            let mut sector = None;
            for u in new.iter_mut() {
                u.id = match old_by_code.get(u.code.as_str()) {
                    Some(&id) => id,
                    None => {
                        next_id += 1;
                        next_id - 1
                    }
                };
                if u.kind == UnitKind::Sector {
                    sector = Some(u.id);
                } else {
                    u.parent_id = sector;
                    u.anc.sector = sector;
                }
            }
            let keep: HashSet<i64> = new.iter().map(|u| u.id).collect();
            let gone: Vec<&UnitSpec> = old.iter().filter(|u| !keep.contains(&u.id)).collect();
            for g in &gone {
                if meetings_refer_to(&mut tx, g.id).await? {
                    return Err(StoreError::Refused(format!(
                        "{} has meetings, series, contacts or charges and is not in the new list; keep it in the list",
                        g.code
                    )));
                }
            }
            for g in gone.iter().filter(|g| g.kind == UnitKind::Booth) {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE unit_id = $1")
                    .bind(g.id)
                    .fetch_one(&mut *tx)
                    .await?;
                let p: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE unit_id = $1").bind(g.id).fetch_one(&mut *tx).await?;
                if n + p > 0 {
                    return Err(StoreError::Refused(format!(
                        "booth {} has members and is not in the new list; move its members first",
                        g.code
                    )));
                }
            }
            // Detach booths, drop what is gone, then write the new structure.
            sqlx::query("UPDATE units SET parent_id = NULL, sector_id = NULL WHERE ac_id = $1 AND kind = 'booth'")
                .bind(ac.id)
                .execute(&mut *tx)
                .await?;
            for g in &gone {
                for sql in [
                    "UPDATE calendar_feeds SET revoked_at = created_at WHERE kind = 'unit' AND target_id = $1 AND revoked_at IS NULL",
                    "DELETE FROM targets WHERE unit_id = $1",
                    "DELETE FROM unit_counters WHERE unit_id = $1",
                ] {
                    sqlx::query(sql).bind(g.id).execute(&mut *tx).await?;
                }
                // Every daily row of a sector is keyed by its own AC.
                sqlx::query(StoreImpl::DELETE_UNIT_DAILY).bind(g.id).bind(ac.id).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM units WHERE id = $1").bind(g.id).execute(&mut *tx).await?;
            }
            let old_ids: HashSet<i64> = old.iter().map(|u| u.id).collect();
            let (kept, fresh): (Vec<UnitSpec>, Vec<UnitSpec>) = new.iter().cloned().partition(|u| old_ids.contains(&u.id));
            // Sectors first so that booths can point at them.
            let (fresh_sectors, fresh_booths): (Vec<UnitSpec>, Vec<UnitSpec>) =
                fresh.into_iter().partition(|u| u.kind == UnitKind::Sector);
            insert_units(&mut tx, &fresh_sectors).await?;
            for u in &kept {
                sqlx::query("UPDATE units SET name_en = $2, parent_id = $3, sector_id = $4 WHERE id = $1")
                    .bind(u.id)
                    .bind(&u.name_en)
                    .bind(u.parent_id)
                    .bind(u.anc.sector)
                    .execute(&mut *tx)
                    .await?;
            }
            insert_units(&mut tx, &fresh_booths).await?;
            // Targets: re-split each campaign's AC target over the new booths.
            let booths: Vec<UnitSpec> = new.iter().filter(|u| u.kind == UnitKind::Booth).cloned().collect();
            let sectors: Vec<&UnitSpec> = new.iter().filter(|u| u.kind == UnitKind::Sector).collect();
            for &cid in &campaigns {
                let per_ac: i64 = sqlx::query_scalar("SELECT target FROM targets WHERE campaign_id = $1 AND unit_id = $2")
                    .bind(cid)
                    .bind(ac.id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .unwrap_or(0);
                sqlx::query("DELETE FROM targets WHERE campaign_id = $1 AND unit_id IN (SELECT id FROM units WHERE ac_id = $2)")
                    .bind(cid)
                    .bind(ac.id)
                    .execute(&mut *tx)
                    .await?;
                let mut units_for_split = vec![ac.clone()];
                units_for_split.extend(booths.iter().cloned());
                let split: Vec<(i64, i64)> =
                    split_targets(&units_for_split, per_ac).into_iter().filter(|(id, _)| *id != ac.id).collect();
                let mut sector_sum: BTreeMap<i64, i64> = sectors.iter().map(|s| (s.id, 0)).collect();
                for (b, t) in &split {
                    let sec = booths.iter().find(|x| x.id == *b).and_then(|x| x.anc.sector).expect("booth has a sector");
                    *sector_sum.entry(sec).or_default() += t;
                }
                let mut all: Vec<(i64, i64)> = split;
                all.extend(sector_sum);
                insert_targets(&mut tx, cid, &all).await?;
            }
            // Sector counters: rebuilt from their booths' counters (booths keep theirs).
            for s in &sectors {
                sqlx::query("DELETE FROM unit_counters WHERE unit_id = $1").bind(s.id).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO unit_counters (unit_id, wing_id, ac_id, achieved, verified) \
                     SELECT $1, c.wing_id, c.ac_id, CAST(SUM(c.achieved) AS BIGINT), CAST(SUM(c.verified) AS BIGINT) FROM unit_counters c JOIN units b ON b.id = c.unit_id \
                     WHERE b.parent_id = $1 GROUP BY c.wing_id, c.ac_id",
                )
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(StoreImpl::DELETE_UNIT_DAILY).bind(s.id).bind(ac.id).execute(&mut *tx).await?;
                sqlx::query(AssertSqlSafe(format!(
                    "INSERT INTO unit_daily (unit_id, wing_id, day, ac_id, n) \
                     SELECT $1, m.wing_id, m.enrolled_on, m.ac_id, COUNT(*) FROM memberships m JOIN units b ON b.id = m.unit_id \
                     WHERE b.parent_id = $1 AND m.status IN {COUNTED} GROUP BY m.wing_id, m.enrolled_on, m.ac_id"
                )))
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
                // Verifications by day, added to the enrolment days' rows (or rows of their own).
                sqlx::query(
                    "INSERT INTO unit_daily (unit_id, wing_id, day, ac_id, n, verified) \
                     SELECT $1, m.wing_id, m.verified_on, m.ac_id, 0, COUNT(*) FROM memberships m JOIN units b ON b.id = m.unit_id \
                     WHERE b.parent_id = $1 AND m.status = 'verified' GROUP BY m.wing_id, m.verified_on, m.ac_id \
                     ON CONFLICT (unit_id, wing_id, day, ac_id) DO UPDATE SET verified = excluded.verified",
                )
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
            }
            // Meeting counters of the sectors: recomputed from the meetings (booths keep theirs).
            let sector_ids: Vec<i64> = sectors.iter().map(|s| s.id).chain(gone.iter().map(|g| g.id)).collect();
            rebuild_meeting_counters(&mut tx, ac.id, &sector_ids).await?;
            written += booths.len();
        }
        bump_settings_version(&mut tx).await?;
        tx.commit().await?;
        Ok(written)
    }

    async fn sensitive_fields(&self) -> Result<bool> {
        let mut c = self.read.acquire().await?;
        Ok(meta(&mut c, "sensitive_fields").await?.as_deref() == Some("on"))
    }
    async fn set_sensitive_fields(&self, on: bool) -> Result<()> {
        let mut tx = self.begin_write().await?;
        set_meta(&mut tx, "sensitive_fields", if on { "on" } else { "off" }).await?;
        tx.commit().await?;
        Ok(())
    }
    async fn sensitive_aggregates(&self, unit: &str, wings: &Wings) -> Result<Option<Vec<SensitiveCount>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        let mut out = Vec::new();
        for field in ["category", "religion"] {
            // People (not memberships) with a counted membership in the scope; withdrawn consent
            // and erased people are not counted; groups below the minimum are left out.
            let sql = format!(
                "SELECT s.{field}, COUNT(*) FROM sensitive_attributes s JOIN people p ON p.id = s.person_id \
                 WHERE s.{field} IS NOT NULL AND p.erased_at IS NULL AND p.consent_withdrawn_at IS NULL \
                 AND s.person_id IN (SELECT m.person_id FROM memberships m WHERE {} AND {} AND m.status IN {COUNTED}) \
                 GROUP BY s.{field} HAVING COUNT(*) >= {} ORDER BY 2 DESC, 1",
                subtree_filter(&u),
                wings_filter(wings),
                sangathan_core::consent::MIN_GROUP
            );
            let rows: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(sql)).bind(u.id).fetch_all(&mut *c).await?;
            out.extend(rows.into_iter().map(|(value, members)| SensitiveCount { field: field.into(), value, members }));
        }
        Ok(Some(out))
    }
    async fn merge_parties(&self, merge_id: i64) -> Result<Option<(i64, i64)>> {
        let mut c = self.read.acquire().await?;
        Ok(sqlx::query_as("SELECT from_id, into_id FROM merges WHERE id = $1").bind(merge_id).fetch_optional(&mut *c).await?)
    }
    async fn place(&self, code: &str) -> Result<Option<Place>> {
        self.place_impl(code).await
    }
    async fn person_places(&self, person_id: i64) -> Result<Option<(Place, Vec<(Place, i64)>)>> {
        self.person_places_impl(person_id).await
    }
    async fn add_user(&self, name: &sangathan_core::ids::PersonName, mobile: &Mobile, password_hash: Option<&str>, posts: &[NewPost], actor: &str) -> Result<i64> {
        self.add_user_impl(name, mobile, password_hash, posts, actor).await
    }
    async fn end_post(&self, person_id: i64, post: &NewPost, ends_on: NaiveDate) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE posts SET ends_on = $5 WHERE person_id = $1 AND role = $2 AND ends_on IS NULL \
             AND unit_id = (SELECT id FROM units WHERE code = $3) AND wing_id = (SELECT id FROM wings WHERE code = $4)",
        )
        .bind(person_id)
        .bind(post.role.code())
        .bind(&post.unit)
        .bind(&post.wing)
        .bind(ends_on)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }
    async fn user_by_mobile(&self, mobile: &str) -> Result<Option<UserRecord>> {
        self.user_by_mobile_impl(mobile).await
    }
    async fn posts(&self, person_id: i64, today: NaiveDate) -> Result<Vec<PostView>> {
        self.posts_impl(person_id, today).await
    }
    async fn scope(&self, person_id: i64, today: NaiveDate) -> Result<sangathan_core::access::Scope> {
        self.scope_impl(person_id, today).await
    }
    async fn disable_user(&self, person_id: i64) -> Result<bool> {
        self.disable_user_impl(person_id).await
    }
    async fn issue_user_token(&self, person_id: i64, label: &str) -> Result<String> {
        self.issue_user_token_impl(person_id, label).await
    }
    async fn create_session(&self, person_id: i64, kind: &str) -> Result<(String, String)> {
        self.create_session_impl(person_id, kind).await
    }
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>> {
        self.session_impl(id).await
    }
    async fn touch_session(&self, id: &str, end: bool) -> Result<()> {
        self.touch_session_impl(id, end).await
    }
    async fn note_failure(&self, keys: &[String]) -> Result<()> {
        self.note_failure_impl(keys).await
    }
    async fn forgive_failure(&self, keys: &[String]) -> Result<()> {
        self.forgive_failure_impl(keys).await
    }
    async fn failures(&self, key: &str, since: DateTime<Utc>) -> Result<(i64, Option<DateTime<Utc>>)> {
        self.failures_impl(key, since).await
    }
    async fn issue_code(&self, mobile: &str, purpose: &str, ttl: Duration, per_window: i64, window: Duration) -> Result<Option<String>> {
        self.issue_code_impl(mobile, purpose, ttl, per_window, window).await
    }
    async fn redeem_code(&self, mobile: &str, purpose: &str, code: &str) -> Result<bool> {
        self.redeem_code_impl(mobile, purpose, code).await
    }
    async fn outbox(&self, recipient: &str) -> Result<Vec<String>> {
        self.outbox_impl(recipient).await
    }
    async fn audit(&self, events: &[AuditEvent]) -> Result<()> {
        self.audit_impl(events).await
    }
    async fn audit_verify(&self) -> Result<AuditCheck> {
        self.audit_verify_impl().await
    }
    async fn audit_of_person(&self, person_id: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        self.audit_of_person_impl(person_id, limit).await
    }
    async fn audit_before(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<AuditRecord>> {
        self.audit_before_impl(before, limit).await
    }
    async fn audit_archived(&self, first_id: i64, last_id: i64, file: &str) -> Result<u64> {
        self.audit_archived_impl(first_id, last_id, file).await
    }
    async fn people_on_mobile(&self, mobile: &str) -> Result<Vec<i64>> {
        self.people_on_mobile_impl(mobile).await
    }
    async fn member_data(&self, person_id: i64) -> Result<Option<serde_json::Value>> {
        self.member_data_impl(person_id).await
    }
    async fn request_correction(&self, person_id: i64, field: &str, value: &str) -> Result<i64> {
        self.request_correction_impl(person_id, field, value).await
    }
    async fn set_consent(&self, person_id: i64, notice: Option<(&str, &str)>) -> Result<()> {
        self.consent_impl(person_id, notice).await
    }
    async fn erase(&self, person_id: i64, event: &AuditEvent) -> Result<bool> {
        self.erase_impl(person_id, event).await
    }

    async fn verify(&self) -> Result<Vec<Mismatch>> {
        let mut c = self.read.acquire().await?;
        let units = all_units(&mut c).await?;
        let by_id: HashMap<i64, &UnitSpec> = units.iter().map(|u| (u.id, u)).collect();
        let wings: HashMap<i64, String> =
            sqlx::query_as::<_, (i64, String)>("SELECT id, code FROM wings").fetch_all(&mut *c).await?.into_iter().collect();
        // What every counter row should hold, recounted from the memberships AC by AC through the
        // same rule the writes use (`Deltas`): one row per (unit, wing, AC), and per day.
        let (mut expected_achieved, mut expected_daily) = (AchievedRows::default(), DailyRows::default());
        let sql = format!(
            "SELECT unit_id, wing_id, enrolled_on, COUNT(*) FROM memberships WHERE ac_id = $1 AND status IN {COUNTED} \
             GROUP BY unit_id, wing_id, enrolled_on"
        );
        let vsql = "SELECT unit_id, wing_id, verified_on, COUNT(*) FROM memberships WHERE ac_id = $1 AND status = 'verified' \
             GROUP BY unit_id, wing_id, verified_on";
        let mut out = Vec::new();
        let name = |id: i64| by_id.get(&id).map(|u| u.code.to_string()).unwrap_or_else(|| format!("unit #{id}"));
        let wname = |id: i64| wings.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        for ac in units.iter().filter(|u| u.kind == UnitKind::Ac) {
            let mut expected = Deltas::default();
            let rows: Vec<(i64, i64, NaiveDate, i64)> =
                sqlx::query_as(AssertSqlSafe(sql.clone())).bind(ac.id).fetch_all(&mut *c).await?;
            for (unit_id, wing_id, day, n) in rows {
                let Some(u) = by_id.get(&unit_id) else { continue };
                if ac_of(u) != Some(ac.id) {
                    out.push(Mismatch { what: "membership AC".into(), unit: name(unit_id), wing: wname(wing_id), expected: ac.id, found: ac_of(u).unwrap_or(0) });
                }
                expected.count(u, wing_id, day, n);
            }
            let rows: Vec<(i64, i64, Option<NaiveDate>, i64)> = sqlx::query_as(vsql).bind(ac.id).fetch_all(&mut *c).await?;
            for (unit_id, wing_id, day, n) in rows {
                let Some(u) = by_id.get(&unit_id) else { continue };
                let Some(day) = day else {
                    out.push(Mismatch { what: "verified without a day".into(), unit: name(unit_id), wing: wname(wing_id), expected: 0, found: n });
                    continue;
                };
                expected.count_verified(u, wing_id, day, n);
            }
            // AC by AC, so the per-booth-and-day rows of one AC at a time are held.
            expected.spread_into(&mut expected_achieved, &mut expected_daily);
        }
        // Members whose home AC is another than their membership's (`leave_home_ac`: it is that
        // AC or 0), by the membership's AC: one pass over people, each seeking their memberships
        // in memberships_person_ac.
        let strays: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT m.ac_id, COUNT(*) FROM people p JOIN memberships m ON m.person_id = p.id \
             WHERE p.home_ac <> 0 AND m.ac_id <> p.home_ac GROUP BY m.ac_id ORDER BY m.ac_id",
        )
        .fetch_all(&mut *c)
        .await?;
        for (ac, n) in strays {
            out.push(Mismatch { what: "members with another home AC".into(), unit: name(ac), wing: "-".into(), expected: 0, found: n });
        }
        // The rows as stored, compared key by key (a row missing on either side counts as 0).
        let ac_name = |ac: i64| if ac == 0 { String::new() } else { format!(" (AC row {})", name(ac)) };
        let found: Vec<(i64, i64, i64, i64, i64)> =
            sqlx::query_as("SELECT unit_id, wing_id, ac_id, achieved, verified FROM unit_counters").fetch_all(&mut *c).await?;
        let found: HashMap<(i64, i64, i64), (i64, i64)> = found.into_iter().map(|(u, w, a, n, v)| ((u, w, a), (n, v))).collect();
        let mut keys: Vec<(i64, i64, i64)> = expected_achieved.keys().chain(found.keys()).copied().collect::<HashSet<_>>().into_iter().collect();
        keys.sort_unstable();
        for k in keys {
            let e = expected_achieved.get(&k).copied().unwrap_or_default();
            let f = found.get(&k).copied().unwrap_or_default();
            for (what, e, f) in [("achieved", e.0, f.0), ("verified", e.1, f.1)] {
                if e != f {
                    out.push(Mismatch { what: format!("{what}{}", ac_name(k.2)), unit: name(k.0), wing: wname(k.1), expected: e, found: f });
                }
            }
        }
        let found: Vec<(i64, i64, NaiveDate, i64, i64, i64)> =
            sqlx::query_as("SELECT unit_id, wing_id, day, ac_id, n, verified FROM unit_daily").fetch_all(&mut *c).await?;
        let found: HashMap<(i64, i64, NaiveDate, i64), (i64, i64)> =
            found.into_iter().map(|(u, w, d, a, n, v)| ((u, w, d, a), (n, v))).collect();
        let mut keys: Vec<(i64, i64, NaiveDate, i64)> =
            expected_daily.keys().chain(found.keys()).copied().collect::<HashSet<_>>().into_iter().collect();
        keys.sort_unstable();
        for k in keys {
            let e = expected_daily.get(&k).copied().unwrap_or_default();
            let f = found.get(&k).copied().unwrap_or_default();
            for (what, e, f) in [("daily", e.0, f.0), ("verified on", e.1, f.1)] {
                if e != f {
                    out.push(Mismatch { what: format!("{what} {}{}", k.2, ac_name(k.3)), unit: name(k.0), wing: wname(k.1), expected: e, found: f });
                }
            }
        }
        // Targets: every parent equals the sum of its children, for every campaign.
        let campaigns: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM campaigns").fetch_all(&mut *c).await?;
        for (cid, ccode) in campaigns {
            let t: HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>("SELECT unit_id, target FROM targets WHERE campaign_id = $1")
                .bind(cid)
                .fetch_all(&mut *c)
                .await?
                .into_iter()
                .collect();
            let mut sums: HashMap<i64, i64> = HashMap::new();
            for u in &units {
                let v = t.get(&u.id).copied().unwrap_or(0);
                if let Some(p) = u.parent_id.filter(|_| u.kind != UnitKind::Pc) {
                    *sums.entry(p).or_default() += v;
                }
                if u.kind == UnitKind::Ac
                    && let Some(pc) = u.anc.pc
                {
                    *sums.entry(pc).or_default() += v;
                }
            }
            for (p, s) in sums {
                let v = t.get(&p).copied().unwrap_or(0);
                let is_ac = by_id.get(&p).is_some_and(|u| u.kind == UnitKind::Ac);
                // An AC keeps its own target even with no booths; otherwise parents sum their children.
                if v != s && !(is_ac && s == 0) {
                    out.push(Mismatch { what: format!("target ({ccode})"), unit: name(p), wing: "-".into(), expected: s, found: v });
                }
            }
        }
        out.extend(meeting_mismatches(&mut c).await?);
        out.extend(volunteer_mismatches(&mut c).await?);
        Ok(out)
    }

    async fn duplicate_candidates(&self, unit: &str, wings: &Wings, limit: u32) -> Result<Option<Vec<DuplicateCandidate>>> {
        let mut c = self.read.acquire().await?;
        let Some(u) = unit_by_code(&mut c, unit).await? else { return Ok(None) };
        Ok(Some(duplicates_in(&mut c, &u, wings, limit.clamp(1, 500) as usize).await?))
    }

    async fn merge(&self, from: i64, into: i64, actor: &str) -> Result<MergeOutcome> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.begin_write().await?;
            // Every wait below may be chosen as a deadlock's victim (PostgreSQL): the merge then
            // starts again, like a failed commit.
            let locked = match first_load_guard(&mut tx, None).await {
                Ok(_) => Self::lock_keys(&mut tx, &[format!("p:{from}"), format!("p:{into}")]).await,
                Err(e) => Err(e),
            };
            let merged = match locked {
                Ok(()) => merge_in(&mut tx, from, into, actor).await,
                Err(e) => Err(e),
            };
            match merged {
                Ok(outcome) => match tx.commit().await {
                    Ok(()) => {
                        // The merged record's tokens were revoked.
                        self.auth_cache.revoked();
                        return Ok(outcome);
                    }
                    Err(err) if attempt < 8 && Self::is_retryable(&err) => continue,
                    Err(err) => return Err(err.into()),
                },
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                // A refusal: the transaction is dropped, nothing was written.
                Err(err) => return Err(err),
            }
        }
    }

    async fn unmerge(&self, merge_id: i64, actor: &str) -> Result<MergeOutcome> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.begin_write().await?;
            let undone = match first_load_guard(&mut tx, None).await {
                Ok(_) => unmerge_in(&mut tx, merge_id, actor).await,
                Err(e) => Err(e),
            };
            match undone {
                Ok(outcome) => match tx.commit().await {
                    Ok(()) => return Ok(outcome),
                    Err(err) if attempt < 8 && Self::is_retryable(&err) => continue,
                    Err(err) => return Err(err.into()),
                },
                Err(StoreError::Db(err)) if attempt < 8 && Self::is_retryable(&err) => continue,
                Err(err) => return Err(err),
            }
        }
    }
}
