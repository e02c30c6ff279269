//! PostgreSQL, for scale: a pool of connections; writers touching the same person serialise on
//! transaction-scoped advisory locks, and unique-violation or deadlock races are retried.

use sqlx::Pool;
use sqlx::postgres::{PgPoolOptions, Postgres as DB};

const BACKEND: Backend = Backend::Postgres;

/// About how many people `count_trigrams` counts.
const TRIGRAM_SAMPLE: f64 = 200_000.0;

/// Advisory-lock buckets for identity keys, and where their ids start.
const LOCK_BUCKETS: u64 = 1024;
const LOCK_SPACE: i64 = 0x5347_0000_0000;

pub struct PgStore {
    write: Pool<DB>,
    read: Pool<DB>,
    /// API enrolments go to one writer task per process that commits whatever is waiting
    /// together (group commit), as on SQLite; app nodes' writers run side by side.
    writer: tokio::sync::mpsc::Sender<GroupJob>,
    auth_cache: crate::auth_cache::AuthCache,
    settings: std::sync::Arc<SettingsCache>,
    /// The search keys' trigram counts (of a sample of the people), for planning name searches.
    trigrams: std::sync::Arc<Trigrams>,
    /// While this process owns a pending first load: its identity index (held by one batch at
    /// a time, for the whole batch).
    load: tokio::sync::Mutex<Option<crate::load_index::LoadIndex>>,
}

type StoreImpl = PgStore;

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let (writer, jobs) = tokio::sync::mpsc::channel(1024);
        let settings = std::sync::Arc::new(SettingsCache::default());
        tokio::spawn(group_writer(pool.clone(), jobs, settings.clone()));
        Ok(PgStore {
            write: pool.clone(),
            read: pool,
            writer,
            auth_cache: Default::default(),
            settings,
            trigrams: Default::default(),
            load: Default::default(),
        })
    }

    async fn begin_write(&self) -> Result<Transaction<'static, DB>> {
        Self::begin_on(&self.write).await
    }

    async fn begin_on(pool: &Pool<DB>) -> Result<Transaction<'static, DB>> {
        Ok(pool.begin().await?)
    }

    /// The audit chain is one sequence under one lock while app nodes write in parallel: the
    /// enrolments' events are left to the audit layer rather than holding that lock for a group.
    const AUDITS_IN_GROUP: bool = false;

    async fn begin_conn(c: &mut sqlx::PgConnection) -> Result<Transaction<'_, DB>> {
        Ok(sqlx::Connection::begin(c).await?)
    }

    /// PostgreSQL spills big sorts to disk by itself (`work_mem`).
    async fn long_reads(_c: &mut Conn, _on: bool) -> Result<()> {
        Ok(())
    }

    /// Large batches go through `COPY` ([`Self::copy_csv`]).
    const BULK_COPY: bool = true;

    /// A load's settings are the database's (dropped keys and indexes), not the connection's.
    async fn loading_over(&self) -> Result<()> {
        Ok(())
    }

    /// Every daily row of a unit (`$1`) under its AC (`$2`): the table's key leads with the
    /// unit here.
    const DELETE_UNIT_DAILY: &str = "DELETE FROM unit_daily WHERE unit_id = $1 AND ac_id = $2";

    /// Plain INSERTs (SQLite's statement journal has no counterpart here).
    const INSERT_ROWS: &str = "INSERT INTO";

    /// A batch's new rows are written once every row is decided (each table by one COPY from
    /// `BULK_ROWS` rows, multi-row INSERTs below that).
    const PIPELINE_WRITES: bool = false;

    /// The order a state-wide search takes its first CANDIDATES people in: by id, as an
    /// expression, so the planner finds the matches through the trigram or key index and sorts
    /// them, rather than walking the primary key in id order and testing each person's key
    /// (with a generic plan's guess at how many match, that walk can be the whole table).
    const CANDIDATE_ORDER: &str = "p.id + 0";

    /// Each person found, then their memberships in scope, the AC part of the seek in
    /// memberships_person_ac (person, AC): a person found who is a member elsewhere is rejected
    /// from the index alone. From the plain join the planner chose the order by its estimate of
    /// how many people the key finds, and a short key's estimate can be a hundred times the
    /// truth: at 18.1 M, a two-word search in an AC ("raghav vasa": 182,893 estimated, 644
    /// found) read all 18 M memberships for the AC's (1 s) where starting from the people took
    /// 21 ms, and a key in 63,377 people took 0.39 s against 1.4 s.
    const FOUND: Found = Found::Lateral;

    /// A key too short for trigrams, in a scope wider than one AC, is a prefix whose b-tree
    /// estimate is close: there the plain join is kept (the AC a filter), since a prefix can
    /// match a twelfth of the state, and seeking each of 1.5 M people ("r…") took 6.7 s where
    /// the plain join's plan took 2.6 s. Within one AC a prefix takes the lateral join too, the
    /// trigram index serving the anchored pattern and the home AC together (`rm…` in an AC:
    /// 30 ms warm, against 2.9 s).
    const FOUND_BY_PREFIX: Found = Found::Join;

    /// READ COMMITTED takes a snapshot per statement; several reads that must agree need one.
    const READ_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

    /// A search runs without JIT compilation, which pays off for long analytic queries and cost
    /// a search whose rows the planner overestimated another 0.6 s (at 18.1 M). `SET LOCAL`
    /// ends with the transaction; it is a statement of its own inside it (not sent with the
    /// `BEGIN`), so that a server refusing it fails the search and its transaction rolls back,
    /// rather than leaving a pooled connection in an aborted transaction.
    const SEARCH_SETTINGS: &str = "SET LOCAL jit = off";

    /// Rows in bulk through `COPY … FROM STDIN (FORMAT csv)`: one stream instead of multi-row
    /// INSERTs with thousands of bound parameters. `target` is `table (columns)`; `csv` the
    /// rows as `csv_rows` writes them.
    async fn copy_csv(c: &mut Conn, target: &str, csv: String) -> Result<bool> {
        let mut copy = c.copy_in_raw(&format!("COPY {target} FROM STDIN WITH (FORMAT csv)")).await?;
        if let Err(e) = copy.send(csv.into_bytes()).await {
            let _ = copy.abort("send failed").await;
            return Err(e.into());
        }
        copy.finish().await?;
        Ok(true)
    }

    /// The EPIC's unique constraint (people's identity index, with (mobile, name key): see
    /// `DEFERRABLE`), the trigram index, and the foreign keys a load's rows would check one by one: each
    /// checking query runs per row (COPY of 100,000 memberships into a 1 M-member database took
    /// 8.9 s with their four, 3.6 s without). Put back with one validating join each (a row
    /// that breaks one, written by hand meanwhile, fails that build with PostgreSQL's error
    /// naming the table and the key, and the load stays pending until the row is mended).
    /// Dropping them locks the tables they point at (`units`, `wings`) for a moment too.
    const DEFERRABLE_HERE: &[&str] = &[
        "people_epic_key",
        "people_search_trgm",
        "people_unit_id_fkey",
        "memberships_person_id_fkey",
        "memberships_unit_id_fkey",
        "memberships_ac_id_fkey",
        "memberships_wing_id_fkey",
    ];

    /// (name, how to drop it, how to make it again) of the named indexes, foreign keys and unique
    /// constraints (a constraint's own index is named as the constraint, not as an index), for
    /// `fetch_in`. A unique constraint is made again as its index, built with the others, then
    /// attached as the constraint after `LAST_PART` (an `ALTER TABLE` that would lock out
    /// readers too, so it comes just before the build commits).
    const DEFINITIONS: &str = "SELECT d.name, d.drop_sql, d.create_sql FROM ( \
         SELECT indexname::text AS name, 'DROP INDEX ' || quote_ident(indexname) AS drop_sql, indexdef AS create_sql \
         FROM pg_indexes WHERE schemaname = current_schema() \
         AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace) \
         UNION ALL \
         SELECT c.conname::text, 'ALTER TABLE ' || c.conrelid::regclass::text || ' DROP CONSTRAINT ' || quote_ident(c.conname), \
         CASE c.contype WHEN 'u' THEN pg_get_indexdef(c.conindid) || chr(10) || '/* last */' || chr(10) || \
         'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' UNIQUE USING INDEX ' || quote_ident(c.conname) \
         ELSE 'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) END \
         FROM pg_constraint c WHERE c.contype IN ('f', 'u') AND c.connamespace = current_schema()::regnamespace) d WHERE d.name";

    /// Index builds sort in memory up to this much before spilling to disk (the default is 64 MB).
    async fn before_index_builds(c: &mut Conn) -> Result<()> {
        sqlx::query("SET LOCAL maintenance_work_mem = '512MB'").execute(&mut *c).await?;
        Ok(())
    }

    /// The transaction of a first load's index builds: the writer's. PostgreSQL sorts within
    /// `maintenance_work_mem` and spills to disk by itself.
    async fn begin_build(&self) -> Result<(Transaction<'static, DB>, Build)> {
        Ok((self.begin_write().await?, Build))
    }

    /// Nothing to change for a first load's duration (the server's memory is its own setting).
    /// When it is over, the loaded tables are vacuumed at once: their pages marked all-visible
    /// (index-only scans need it) and the upserted counters' dead rows freed. Otherwise
    /// autovacuum does it in the minute after the load, beside the first requests: on a fresh
    /// 1 M import it ran through the bench's roll-up step, whose state p95 went 3–4 → 10.8 ms.
    async fn loading(&self, on: bool) -> Result<()> {
        if !on {
            // Best effort, as SQLite's log truncation: the load is already complete and built,
            // and autovacuum would do the same later.
            if let Err(e) = sqlx::raw_sql("VACUUM people, memberships, unit_counters, unit_daily").execute(&self.write).await {
                tracing::warn!(error = %e, "vacuum after the load failed: autovacuum will do it");
            }
        }
        Ok(())
    }

    /// Fresh statistics for the planner: the tables went from empty to loaded.
    async fn after_index_builds(c: &mut Conn, _build: &mut Build) -> Result<()> {
        sqlx::query("ANALYZE people, memberships").execute(&mut *c).await?;
        Ok(())
    }

    /// Advisory locks on the identity keys, taken in sorted order (no lock-order deadlocks).
    async fn lock_keys(c: &mut Conn, keys: &[String]) -> Result<()> {
        use sha2::{Digest, Sha256};
        // Keys hash into a fixed number of lock buckets: the same key always takes the same
        // lock, and a batch of thousands of rows takes at most LOCK_BUCKETS locks (PostgreSQL's
        // shared lock table holds max_locks_per_transaction × max_connections, 6,400 by default).
        let mut ids: Vec<i64> = keys
            .iter()
            .map(|k| {
                let d = Sha256::digest(k.as_bytes());
                LOCK_SPACE
                    + (u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) % LOCK_BUCKETS)
                        as i64
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if !ids.is_empty() {
            sqlx::query("SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY 1) s")
                .bind(ids)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }

    /// The first-load lock: writers of people's identities take it shared, before any other
    /// lock, and read whether a first load is pending; `defer_indexes` takes it exclusively
    /// before it starts or takes over a load, so no writer that read "no load" is still writing
    /// when the load begins.
    async fn first_load_lock(c: &mut Conn, exclusive: bool) -> Result<()> {
        let sql = if exclusive { "SELECT pg_advisory_xact_lock($1)" } else { "SELECT pg_advisory_xact_lock_shared($1)" };
        sqlx::query(sql).bind(LOCK_SPACE - 1).execute(&mut *c).await?;
        Ok(())
    }

    /// A batch's new people below `BULK_ROWS` (more go by COPY): one statement whatever their
    /// number, the rows as arrays, one per column (see [`Self::add_counts`]).
    async fn insert_people(c: &mut Conn, rows: &[NewPerson]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO people (id, name, name_key, search_key, gender, birth_year, address, mobile, epic, unit_id, home_ac, created_at) \
             SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::text[], $8::text[], \
             $9::text[], $10::int8[], $11::int8[], $12::timestamptz[])",
        )
        .bind(rows.iter().map(|p| p.id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|p| p.name.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|p| p.name_key.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|p| p.search_key.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|p| p.gender).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|p| p.birth_year).collect::<Vec<Option<i32>>>())
        .bind(rows.iter().map(|p| p.address.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|p| p.mobile.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|p| p.epic.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(rows.iter().map(|p| p.unit_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|p| p.home_ac).collect::<Vec<i64>>())
        .bind(rows.iter().map(|p| p.created_at).collect::<Vec<DateTime<Utc>>>())
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// A batch's new memberships below `BULK_ROWS`, likewise.
    async fn insert_memberships(c: &mut Conn, rows: &[NewMembership]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO memberships (person_id, wing_id, unit_id, ac_id, number, status, channel, enrolled_by, enrolled_at, enrolled_on) \
             SELECT r.person_id, r.wing_id, r.unit_id, r.ac_id, r.number, 'pending', r.channel, r.enrolled_by, r.enrolled_at, r.enrolled_on \
             FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::date[]) \
             AS r (person_id, wing_id, unit_id, ac_id, number, channel, enrolled_by, enrolled_at, enrolled_on)",
        )
        .bind(rows.iter().map(|m| m.person_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|m| m.wing_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|m| m.unit_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|m| m.ac_id).collect::<Vec<i64>>())
        .bind(rows.iter().map(|m| m.number.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|m| m.channel.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|m| m.enrolled_by.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|m| m.enrolled_at).collect::<Vec<DateTime<Utc>>>())
        .bind(rows.iter().map(|m| m.enrolled_on).collect::<Vec<NaiveDate>>())
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// The answers kept under these (actor, key) pairs, each pair probed on the table's key. Two
    /// `IN` lists (SQLite's way) let the planner take the actor alone as the index condition and
    /// test every key that caller ever used: all of them for an office's one importer or the
    /// bench's one admin, a scan that grew with every enrolment.
    async fn answers_kept(c: &mut Conn, pairs: &[(String, String)]) -> Result<Vec<(String, String, String, String)>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as(
            "SELECT i.actor, i.key, i.request_hash, i.response FROM UNNEST($1::text[], $2::text[]) AS q (actor, key) \
             JOIN idempotency i ON i.actor = q.actor AND i.key = q.key",
        )
        .bind(pairs.iter().map(|p| p.0.as_str()).collect::<Vec<&str>>())
        .bind(pairs.iter().map(|p| p.1.as_str()).collect::<Vec<&str>>())
        .fetch_all(&mut *c)
        .await?)
    }

    /// A group's answers under their idempotency keys, likewise.
    async fn keep_answers(c: &mut Conn, rows: &[KeptAnswer]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO idempotency (actor, key, request_hash, status, response, created_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[], $6::timestamptz[])",
        )
        .bind(rows.iter().map(|r| r.0.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.1.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.2.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.3).collect::<Vec<i32>>())
        .bind(rows.iter().map(|r| r.4.as_str()).collect::<Vec<&str>>())
        .bind(rows.iter().map(|r| r.5).collect::<Vec<DateTime<Utc>>>())
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    /// A batch's counter changes, one statement per table whatever their number: the rows go as
    /// arrays, one per column (`UNNEST`), so that a group of any size is one round trip and one
    /// prepared statement, where multi-row `VALUES` took a few of each (`pow2_chunks`). The rows
    /// come sorted by key, the order their row locks are taken in.
    async fn add_counts(c: &mut Conn, achieved: &[AchievedRow], daily: &[DailyRow]) -> Result<()> {
        if !achieved.is_empty() {
            let col = |f: fn(&AchievedRow) -> i64| achieved.iter().map(f).collect::<Vec<i64>>();
            sqlx::query(
                "INSERT INTO unit_counters (unit_id, wing_id, ac_id, achieved, verified) \
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
                 ON CONFLICT (unit_id, wing_id, ac_id) DO UPDATE SET achieved = unit_counters.achieved + excluded.achieved, \
                 verified = unit_counters.verified + excluded.verified",
            )
            .bind(col(|r| r.0.0))
            .bind(col(|r| r.0.1))
            .bind(col(|r| r.0.2))
            .bind(col(|r| r.1.0))
            .bind(col(|r| r.1.1))
            .execute(&mut *c)
            .await?;
        }
        if !daily.is_empty() {
            let col = |f: fn(&DailyRow) -> i64| daily.iter().map(f).collect::<Vec<i64>>();
            sqlx::query(
                "INSERT INTO unit_daily (unit_id, wing_id, day, ac_id, n, verified) \
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::date[], $4::int8[], $5::int8[], $6::int8[]) \
                 ON CONFLICT (unit_id, wing_id, day, ac_id) DO UPDATE SET n = unit_daily.n + excluded.n, \
                 verified = unit_daily.verified + excluded.verified",
            )
            .bind(col(|r| r.0.0))
            .bind(col(|r| r.0.1))
            .bind(daily.iter().map(|r| r.0.2).collect::<Vec<NaiveDate>>())
            .bind(col(|r| r.0.3))
            .bind(col(|r| r.1.0))
            .bind(col(|r| r.1.1))
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    }

    /// Appended to a `SELECT` whose rows the transaction will update: locked until commit.
    fn for_update() -> &'static str {
        " FOR UPDATE"
    }

    /// Appended to the `SELECT` of rows a worker claims (outbox items, job leases): rows another
    /// node's transaction holds are skipped, never waited for.
    fn skip_locked() -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }

    /// Ids for up to `n` new people from the identity sequence: the run of consecutive values
    /// at the start of what `nextval` gave (gaps are harmless; the caller asks again when short).
    async fn reserve_person_ids(c: &mut Conn, n: i64) -> Result<(i64, i64)> {
        // The identity's sequence by its name, a constant resolved once: through
        // `pg_get_serial_sequence` it was looked up again for every value (100,000 values in
        // ~0.6 s against ~0.08 s). One row holds them all.
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT array_agg(v ORDER BY v) FROM (SELECT nextval('people_id_seq') AS v FROM generate_series(1, $1)) s",
        )
        .bind(n.max(1))
        .fetch_one(&mut *c)
        .await?;
        let run = ids.windows(2).take_while(|w| w[1] == w[0] + 1).count() as i64;
        Ok((ids[0], ids[0] + run))
    }

    /// People whose search key contains `$1`, through the pg_trgm GIN index.
    ///
    /// The index reads the whole list of people under every trigram of a `LIKE` pattern before
    /// it intersects them: at 18.1 M people `snskrtvndrkr`'s ten trigrams were 1,799 pages
    /// (40 ms, all in memory) for 9 people. So within one AC (`within_one_ac`: the index then
    /// also narrows by the home AC), once the trigram counts are known, the index is asked for
    /// three of the key's trigrams only ([`rarest_trigrams`]), each a pattern of its own (`$2`…),
    /// and the key itself is checked on those rows with `strpos`, which the index cannot serve:
    /// 245 pages, 4.6 ms, the same 9 people (114 rows checked). In a wider scope the whole key
    /// is kept: there three trigrams can leave tens of thousands of rows to check (a common
    /// full name state-wide), and the bench's state-wide name search went from p50 5.2 ms,
    /// p95 18.1 ms to 22.6 ms and 190.5 ms with them.
    fn trigram_condition(&self, key: String, within_one_ac: bool) -> (String, Vec<String>) {
        let counts = if within_one_ac { Trigrams::now_or_later(&self.trigrams, &self.read) } else { None };
        match counts.as_ref().and_then(|c| rarest_trigrams(&key, c)) {
            Some(grams) => {
                let mut cond: Vec<String> = (0..grams.len()).map(|i| format!("p.search_key LIKE '%' || ${} || '%'", i + 2)).collect();
                cond.push("strpos(p.search_key, $1) > 0".to_string());
                let binds = std::iter::once(key.clone()).chain(grams.iter().map(|g| g.to_string())).collect();
                (cond.join(" AND "), binds)
            }
            None => ("p.search_key LIKE '%' || $1 || '%'".to_string(), vec![key]),
        }
    }

    /// How many of a sample of the people (about [`TRIGRAM_SAMPLE`], pages chosen at random)
    /// each trigram of the search keys is in: pg_trgm keeps no such count, and counting all of
    /// 18 M people would take minutes; the sample took 1.4 s there. Only the order matters.
    /// Before the table's first `ANALYZE` (`reltuples` -1) its rows are guessed from its size
    /// (about 45 people to an 8 KiB page: 18.2 M people took 400,900 pages after `VACUUM FULL`), and the
    /// sample is also capped by rows, so a wrong guess never reads the whole table.
    async fn count_trigrams(c: &mut Conn) -> Result<Vec<(String, i64)>> {
        let people: f64 = sqlx::query_scalar(
            "SELECT CASE WHEN reltuples >= 0 THEN reltuples::float8 \
             ELSE pg_relation_size('people') / current_setting('block_size')::float8 * 45 END \
             FROM pg_class WHERE oid = 'people'::regclass",
        )
        .fetch_one(&mut *c)
        .await?;
        let percent = if people <= TRIGRAM_SAMPLE { 100.0 } else { (100.0 * TRIGRAM_SAMPLE / people).max(0.01) };
        let cap = 2.0 * TRIGRAM_SAMPLE;
        // Only numbers are formatted in.
        Ok(sqlx::query_as(AssertSqlSafe(format!(
            "SELECT substr(p.search_key, i, 3), COUNT(*) \
             FROM (SELECT search_key FROM people TABLESAMPLE SYSTEM ({percent:.4}) LIMIT {cap:.0}) p, \
             generate_series(1, length(p.search_key) - 2) i GROUP BY 1"
        )))
        .fetch_all(&mut *c)
        .await?)
    }

    /// People whose search key starts with `$1`, through the text_pattern_ops b-tree.
    fn prefix_condition() -> String {
        "p.search_key LIKE $1 || '%'".to_string()
    }

    async fn refresh_search_statistics_here(&self) -> Result<()> {
        Trigrams::retake(&self.read, &self.trigrams, false).await
    }

    /// Unique violations, serialisation failures and deadlocks: the transaction can be run again.
    fn is_retryable(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "23505" || c == "40001" || c == "40P01"))
    }

    /// PostgreSQL's write-ahead log is its own business: never.
    const RESTART_LOG_EVERY: u32 = u32::MAX;

    async fn restart_log(_c: &mut Conn) -> Result<bool> {
        Ok(true)
    }

    async fn before_erase(&self) -> Result<()> {
        Ok(())
    }

    /// After an erasure: the erased values' old row versions and index entries are removed now,
    /// not at some later autovacuum.
    async fn after_erase(&self, erased: bool) -> Result<()> {
        if erased {
            for t in [
                "people",
                "memberships",
                "merges",
                "import_errors",
                "idempotency",
                "sensitive_attributes",
                "outbox",
                "one_time_codes",
                "users",
                "contacts",
                "meeting_people",
            ] {
                sqlx::query(AssertSqlSafe(format!("VACUUM {t}")))
                    .execute(&self.write)
                    .await?;
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.write
    }
}

/// Nothing runs beside a first load's index builds here (SQLite builds its search index beside
/// them).
pub(crate) struct Build;

impl Build {
    pub(crate) fn start(&mut self) {}

    pub(crate) async fn finish(self, _failed: bool) {}
}

/// Run `sql_prefix = ANY($1) sql_suffix` with `items` bound as one array: one statement and one
/// round trip for any number of them. An IN list of 500 placeholders a statement (SQLite's way)
/// made a 1 M-row load's identity look-ups 3,073 statements and 21 s of the server's time; an
/// array of 80,000 EPICs is looked up in ~0.4 s.
async fn fetch_in<T, R>(c: &mut Conn, sql_prefix: &str, sql_suffix: &str, items: &[T]) -> Result<Vec<R>>
where
    T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::postgres::PgHasArrayType + Clone + Send + Sync,
    R: for<'r> sqlx::FromRow<'r, <DB as sqlx::Database>::Row> + Send + Unpin,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{sql_prefix} = ANY($1){sql_suffix}");
    Ok(sqlx::query_as::<_, R>(AssertSqlSafe(sql)).bind(items.to_vec()).fetch_all(&mut *c).await?)
}

include!("common.rs");
include!("access_sql.rs");
include!("meetings_sql.rs");
include!("volunteers_sql.rs");
include!("verification_sql.rs");
include!("ops_sql.rs");

#[cfg(test)]
mod postgres_only {
    use super::*;

    /// A search within an AC (or a sector or booth) by a name's trigrams seeks each person found
    /// in memberships_person_ac by person and AC together, whatever the planner would prefer
    /// for a plain join: it never starts from the memberships nor reads a membership row to
    /// test its AC. Under `enable_nestloop = off` the plain join became a hash join over the
    /// memberships (what a short key's overestimate led to at 18.1 M: 1 s against 21 ms).
    #[tokio::test]
    async fn a_scoped_search_seeks_person_and_ac() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let s = PgStore::connect(&db.url).await.expect("opens");
        let (cond, _) = s.trigram_condition("rmprksnsd".into(), true);
        let mut c = s.read.acquire().await.expect("a connection");
        for setting in [None, Some("SET enable_nestloop = off"), Some("SET enable_bitmapscan = off")] {
            sqlx::query("RESET ALL").execute(&mut *c).await.expect("reset");
            if let Some(set) = setting {
                sqlx::query(AssertSqlSafe(set)).execute(&mut *c).await.expect("set");
            }
            // An AC's own id is the bound `$2`; a sector's or booth's AC (5) is written in.
            for (kind, code, ac) in [(UnitKind::Ac, "UP-AC-1", "'7'::bigint"), (UnitKind::Sector, "UP-AC-1-S01", "5"), (UnitKind::Booth, "UP-AC-1-B0001", "5")] {
                for wings in [Wings::All, Wings::Only([1, 2].into_iter().collect())] {
                    let sql = scoped_search_sql(&cond, &scoped_test_unit(kind, code), 2, &wings, PgStore::FOUND);
                    let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
                        .bind("rmprksnsd")
                        .bind(7_i64)
                        .fetch_all(&mut *c)
                        .await
                        .expect("plans");
                    let plan = plan.join("\n");
                    let context = format!("{setting:?}: {sql}\n{plan}");
                    assert!(plan.contains(&format!("Index Cond: ((person_id = p.id) AND (ac_id = {ac}))")), "{context}");
                    assert!(!plan.contains("Seq Scan on memberships") && !plan.contains("memberships_ac "), "{context}");
                }
            }
        }
    }

    /// The people stored with a query's leading words only are found by their whole key through an
    /// index of the people (never by reading them all), state-wide and within an AC, a sector or a
    /// booth (then each seeking their memberships by person and AC). The test database is empty,
    /// where reading the table costs least: the test is which index conditions.
    #[tokio::test]
    async fn leading_words_are_found_by_an_index() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let s = PgStore::connect(&db.url).await.expect("opens");
        let mut c = s.read.acquire().await.expect("a connection");
        sqlx::query("SET enable_seqscan = off").execute(&mut *c).await.expect("set");
        let keys = ["rmprksnsd", "rmprks", "rmprk"];
        for n in 1..=sangathan_core::search::LEADING_MAX_KEYS {
            let explain = |sql: String, unit: Option<i64>| {
                let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(format!("EXPLAIN {sql}")));
                for k in &keys[..n] {
                    q = q.bind(*k);
                }
                if let Some(u) = unit {
                    q = q.bind(u);
                }
                q
            };
            let sql = leading_people_sql(n);
            let plan = explain(sql.clone(), None).fetch_all(&mut *c).await.expect("plans").join("\n");
            assert!(plan.contains("people_search_key") || plan.contains("people_search_trgm"), "{sql}\n{plan}");
            assert!(!plan.contains("Seq Scan on people"), "{sql}\n{plan}");
            let cond = leading_keys_condition(n);
            for (kind, code) in [(UnitKind::Ac, "UP-AC-1"), (UnitKind::Sector, "UP-AC-1-S01"), (UnitKind::Booth, "UP-AC-1-B0001")] {
                for wings in [Wings::All, Wings::Only([1, 2].into_iter().collect())] {
                    let sql = scoped_search_sql(&cond, &scoped_test_unit(kind, code), n + 1, &wings, PgStore::FOUND);
                    let plan = explain(sql.clone(), Some(7)).fetch_all(&mut *c).await.expect("plans").join("\n");
                    assert!(plan.contains("people_search_key") || plan.contains("people_search_trgm"), "{sql}\n{plan}");
                    assert!(plan.contains("Index Cond: ((person_id = p.id) AND (ac_id = "), "{sql}\n{plan}");
                    assert!(!plan.contains("Seq Scan on people") && !plan.contains("Seq Scan on memberships"), "{sql}\n{plan}");
                }
            }
        }
    }

    /// A short key in many people state-wide, few of them in the AC: the trigram index finds
    /// them by key and home AC together (`people.home_ac`, this AC or 0), as at 18.1 M, where
    /// reading every person with the key took 237 ms against 13.4 ms. 40,000 people over 400
    /// home ACs, all with the key, statistics fresh.
    #[tokio::test]
    async fn a_scoped_search_finds_people_by_key_and_home_ac() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let s = PgStore::connect(&db.url).await.expect("opens");
        let mut c = s.read.acquire().await.expect("a connection");
        for sql in [
            "ALTER TABLE people DROP CONSTRAINT people_unit_id_fkey",
            "INSERT INTO people (id, name, name_key, search_key, mobile, unit_id, home_ac, created_at) \
             SELECT g, 'x', 'x', 'rtsn' || md5(g::text), '+91' || (9000000000 + g)::text, 1, g % 400, now() FROM generate_series(1, 40000) g",
            "ANALYZE people",
            // At this size reading the table whole costs less; the test is which index conditions.
            "SET enable_seqscan = off",
        ] {
            sqlx::query(sql).execute(&mut *c).await.expect("people");
        }
        let (cond, _) = s.trigram_condition("rtsn".into(), true);
        for (kind, code, ac) in [(UnitKind::Ac, "UP-AC-1", "'7'::bigint"), (UnitKind::Booth, "UP-AC-1-B0001", "5")] {
            let sql = scoped_search_sql(&cond, &scoped_test_unit(kind, code), 2, &Wings::All, PgStore::FOUND);
            let plan: Vec<String> =
                sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}"))).bind("rtsn").bind(7_i64).fetch_all(&mut *c).await.expect("plans");
            let plan = plan.join("\n");
            let home = format!("Index Cond: ((home_ac = ANY ('{{0,{}}}'::bigint[])) AND (search_key ~~ ", ac.trim_start_matches('\'').trim_end_matches("'::bigint"));
            assert!(plan.contains("on people_search_trgm") && plan.contains(&home), "{sql}\n{plan}");
        }
        // A key too short for trigrams, within an AC: its anchored pattern and the home AC.
        let sql = scoped_search_sql(&PgStore::prefix_condition(), &scoped_test_unit(UnitKind::Ac, "UP-AC-1"), 2, &Wings::All, PgStore::FOUND);
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}"))).bind("rt").bind(7_i64).fetch_all(&mut *c).await.expect("plans");
        let plan = plan.join("\n");
        assert!(plan.contains("Index Cond: ((home_ac = ANY ('{0,7}'::bigint[])) AND (search_key ~~ 'rt%'::text))"), "{sql}\n{plan}");
    }

    /// A long name key is looked up by its rarest trigrams once their counts are taken, each a
    /// pattern the trigram index serves, the whole key checked by `strpos` on those rows only.
    #[tokio::test]
    async fn a_name_search_reads_its_rarest_trigrams() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let s = PgStore::connect(&db.url).await.expect("opens");
        let (cond, binds) = s.trigram_condition("rmprksnsd".into(), true);
        assert_eq!((cond.as_str(), binds.len()), ("p.search_key LIKE '%' || $1 || '%'", 1), "no counts yet: the whole key");
        let mut c = s.read.acquire().await.expect("a connection");
        for sql in [
            "ALTER TABLE people DROP CONSTRAINT people_unit_id_fkey",
            // rmprksnsd: rmp mpr prk rks ksn sns nsd; these people hold all but ksn, sns and nsd.
            "INSERT INTO people (id, name, name_key, search_key, mobile, unit_id, created_at) \
             SELECT g, 'x', 'x', 'rmprks' || g, '+91' || (9000000000 + g)::text, 1, now() FROM generate_series(1, 300) g",
        ] {
            sqlx::query(sql).execute(&mut *c).await.expect("people");
        }
        s.refresh_search_statistics_here().await.expect("counts taken");
        assert_eq!(s.trigram_condition("rmprksnsd".into(), false).1.len(), 1, "wider than one AC: the whole key");
        let (cond, binds) = s.trigram_condition("rmprksnsd".into(), true);
        // Not counted, so rarest: ksn, nsd, sns; nsd and sns share letters with ksn, mpr does not.
        assert_eq!(binds, ["rmprksnsd", "ksn", "mpr", "nsd"]);
        assert!(cond.ends_with("AND strpos(p.search_key, $1) > 0"), "{cond}");
        sqlx::query("SET enable_seqscan = off").execute(&mut *c).await.expect("set");
        let sql = format!("EXPLAIN SELECT p.id FROM people p WHERE {cond}");
        let plan: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(sql)).bind("rmprksnsd").bind("ksn").bind("mpr").bind("nsd").fetch_all(&mut *c).await.expect("plans");
        let plan = plan.join("\n");
        assert!(plan.contains("on people_search_trgm") && plan.contains("Filter: (strpos(search_key, 'rmprksnsd'::text) > 0)"), "{plan}");
    }

    /// A search's snapshot is repeatable read, and its settings turn JIT compilation off for
    /// its own transaction only.
    #[tokio::test]
    async fn a_search_snapshot_runs_without_jit() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let s = PgStore::connect(&db.url).await.expect("opens");
        let mut c = s.read.acquire().await.expect("a connection");
        sqlx::query("SET jit = on").execute(&mut *c).await.expect("jit on for the session");
        let mut tx = sqlx::Connection::begin_with(&mut *c, PgStore::READ_SNAPSHOT).await.expect("begins");
        sqlx::query(PgStore::SEARCH_SETTINGS).execute(&mut *tx).await.expect("search settings");
        let within: String = sqlx::query_scalar("SHOW jit").fetch_one(&mut *tx).await.expect("jit");
        let iso: String = sqlx::query_scalar("SHOW transaction_isolation").fetch_one(&mut *tx).await.expect("isolation");
        tx.commit().await.expect("ends");
        let after: String = sqlx::query_scalar("SHOW jit").fetch_one(&mut *c).await.expect("jit");
        assert_eq!((within.as_str(), iso.as_str()), ("off", "repeatable read"));
        assert_eq!(after, "on", "only the search's transaction");
    }
}
