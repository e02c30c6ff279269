//! The embedded default: SQLite (bundled), WAL, one writer connection and a pool of readers.

use sqlx::Pool;
use sqlx::sqlite::{
    Sqlite as DB, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration as StdDuration;

const BACKEND: Backend = Backend::Sqlite;

pub struct SqliteStore {
    /// All writes go through this one connection, so writers queue instead of failing busy.
    write: Pool<DB>,
    read: Pool<DB>,
    /// Enrolments go to one writer task that commits whatever is waiting together.
    writer: tokio::sync::mpsc::Sender<GroupJob>,
    /// Settings shared by the group writer and every other writer of this store.
    settings: std::sync::Arc<SettingsCache>,
    auth_cache: crate::auth_cache::AuthCache,
    /// The search index's trigram counts, for planning name searches.
    trigrams: std::sync::Arc<Trigrams>,
    /// Dropped with the store: stops its checkpointer.
    _checkpointer: tokio::sync::oneshot::Sender<()>,
    /// The writer is set for a first load (its foreign keys off, its cache large): see
    /// [`SqliteStore::loading`].
    loading: std::sync::atomic::AtomicBool,
    /// While this process owns a pending first load: its identity index (held by one batch at
    /// a time, for the whole batch).
    load: tokio::sync::Mutex<Option<crate::load_index::LoadIndex>>,
}

/// How often the checkpointer copies the write-ahead log into the database file while writes
/// keep coming, and while nothing is written. Copying every 10 ms under load leaves the writer's
/// own checkpoint (which lets the log restart) little to copy inside a commit: on a 1 M-member
/// file under 64 clients it took the enrolments' p99 from 57–61 ms (every 250 ms) to 35–40 ms
/// (see BENCHMARKS.md).
const CHECKPOINT_BUSY: StdDuration = StdDuration::from_millis(10);
const CHECKPOINT_IDLE: StdDuration = StdDuration::from_millis(250);

/// Each connection's page cache (negative: KiB), and the writer's during a first load whose
/// indexes are deferred: the unique indexes it still keeps up (EPIC, mobile + name) take about
/// 1.2 GB at 18 M people, and a batch of up to a million random keys dirties nearly all of their
/// pages, which a smaller cache spills to the log and rewrites within the same transaction.
/// SQLite takes the memory as pages are read, so a small load stays small.
const CACHE_KIB: &str = "-65536";
const LOAD_CACHE_KIB: &str = "-3145728";

/// How long a connection waits for another process's lock before it reports the database busy.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(60);

/// How much of the file readers ask to map (64 GiB less 64 KiB: a state's 18 M members take
/// 13 GB). SQLite's compiled-in ceiling, `SQLITE_MAX_MMAP_SIZE`, silently lowers the request:
/// its default is 2 GiB, so `.cargo/config.toml` builds the bundled SQLite with this very
/// ceiling (`LIBSQLITE3_FLAGS`; checked by `readers_map_the_whole_file`). A build without it
/// still works, mapping only the file's first 2 GiB.
const MMAP_BYTES: &str = "68719411200";

/// The FTS5 query for all of `grams` (`"abc" AND "def" AND …`).
fn fts_all_of(grams: &[&str]) -> String {
    grams.iter().map(|g| format!("\"{g}\"")).collect::<Vec<_>>().join(" AND ")
}

/// The log's length (pages of 4 KiB) at which the writer checkpoints after a commit: once past
/// it, inside every commit until the log starts again. Enrolments let the log start again
/// between groups instead ([`SqliteStore::restart_log`]), so this bounds the log for the other
/// writers (imports, a CLI). At 4,000 pages, with the group writer checkpointing inside most of
/// its commits under load, alternated 8 s runs of 64 clients on 1 M members gave 2,186–2,379
/// enrolments/s; at 32,000 with the restarts between groups, 2,616–2,904 (medians +21 %).
const WRITER_CHECKPOINT_PAGES: &str = "32000";


/// Prepared statements the writer keeps: its statements' texts (each multi-row statement in about
/// ten sizes, `pow2_chunks`) are more than sqlx's default of 100.
const WRITER_STATEMENTS: usize = 400;

type StoreImpl = SqliteStore;

/// SQLite's process-wide settings: its page cache wrapped and its memory statistics off
/// (`sqlite_pcache.rs`). They must come before SQLite's first use in the process:
/// [`SqliteStore::connect`] applies them, and a process that may open a SQLite file some other
/// way first (the CLI: a bench's baseline, a restore's check) calls this at its start. True when
/// they are in place.
pub fn configure_sqlite() -> bool {
    crate::sqlite_pcache::install()
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        configure_sqlite();
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", CACHE_KIB)
            .pragma("temp_store", "memory")
            // Deleted and overwritten content is zeroed, so an erased member leaves no trace in
            // the file's free space.
            .pragma("secure_delete", "fast");
        // A checkpoint copies the log's pages into the file and syncs it; inside a commit it
        // stalls every enrolment waiting on the one writer (10–15 ms at SQLite's default of every
        // 1,000 pages, measured). So a task with its own connection copies them as they come
        // (`PASSIVE`: it never waits for, nor blocks, the writer or readers). Only a checkpoint
        // that has copied everything just before a write transaction lets the log start again
        // from its beginning (under steady writes the task never quite catches up), so the group
        // writer finishes one between two groups now and then (`restart_log`), and the writer's
        // own checkpoint, inside a commit once the log passes WRITER_CHECKPOINT_PAGES, bounds it
        // for every other writer.
        // The one write connection lives as long as the store (no lifetime or idle limit): its
        // prepared statements are kept.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            // A log grown past 64 MiB (a first load's index builds write gigabytes into it) is
            // cut back to that when it next starts again from its beginning.
            .connect_with(
                opts.clone()
                    .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
                    .pragma("journal_size_limit", "67108864")
                    .statement_cache_capacity(WRITER_STATEMENTS),
            )
            .await?;
        // A migration that builds an index over a large table (18 M memberships) sorts through
        // temporary files, not memory, as a first load's index builds do.
        sqlx::query("PRAGMA temp_store = FILE").execute(&write).await?;
        sqlx::migrate!("./migrations/sqlite").run(&write).await?;
        sqlx::query("PRAGMA temp_store = MEMORY").execute(&write).await?;
        // Readers go through a memory map of the whole file (see MMAP_BYTES): a
        // search at 18 M members visits a few thousand pages spread over the file (FTS5
        // doclists, the candidates' people and memberships rows), which a pooled connection's own
        // cache rarely still holds; through the map each is a page the OS already caches, with no
        // system call and no copy. Those pages are the OS's cache, shared and reclaimable, though
        // `VmRSS` counts the ones touched (once per connection that touched them).
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts.clone().read_only(true).pragma("mmap_size", MMAP_BYTES))
            .await?;
        let (writer, jobs) = tokio::sync::mpsc::channel(1024);
        let settings = std::sync::Arc::new(SettingsCache::default());
        // The group writer on a thread and runtime of its own: each of a group's ~20 statements
        // wakes it once, and on the server's runtime every wake-up queued behind the HTTP tasks
        // of the requests waiting for the next group. Alternated 8 s runs of 64 wrk clients on a
        // 1 M-member file: 2,290 → 2,556 enrolments/s (medians of 12 and 9 runs), p50 23.5 → 21 ms.
        // (SQLite's connections are worker threads of their own, tied to no runtime.) The thread
        // is never joined: it ends when the store, the only sender of `jobs`, is dropped (after
        // at most the group it is running). If it stopped (a panic, logged here), every
        // enrolment after it fails as a server error (`StoreImpl::enrol`).
        {
            let (w, s) = (write.clone(), settings.clone());
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Refused(format!("the group writer's runtime: {e}")))?;
            std::thread::Builder::new()
                .name("group-writer".into())
                .spawn(move || {
                    let run = std::panic::AssertUnwindSafe(|| rt.block_on(group_writer(w, jobs, s)));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("the group writer panicked: enrolments fail until the server restarts");
                    }
                })
                .map_err(|e| StoreError::Refused(format!("the group writer's thread: {e}")))?;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        tokio::spawn(checkpointer(checkpoints, stopped));
        Ok(SqliteStore {
            write,
            read,
            writer,
            settings,
            auth_cache: Default::default(),
            trigrams: Default::default(),
            _checkpointer: stop,
            loading: Default::default(),
            load: Default::default(),
        })
    }

    /// `BEGIN IMMEDIATE`: take the write lock up front, so that a second process writing the same
    /// file waits (busy timeout) instead of failing half-way through a transaction.
    async fn begin_write(&self) -> Result<Transaction<'static, DB>> {
        Self::begin_on(&self.write).await
    }

    async fn begin_on(pool: &Pool<DB>) -> Result<Transaction<'static, DB>> {
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The one writer serialises everything: a group's audit events go in its transaction.
    const AUDITS_IN_GROUP: bool = true;

    /// `BEGIN IMMEDIATE` on a connection the caller holds (the group writer's).
    async fn begin_conn(c: &mut sqlx::SqliteConnection) -> Result<Transaction<'_, DB>> {
        Ok(sqlx::Connection::begin_with(c, "BEGIN IMMEDIATE").await?)
    }

    /// Long reads (detection over a whole state) sort on disk, not in memory: the pool's
    /// connections keep sorts in memory for speed, which at 18 M members costs gigabytes. (Like
    /// every read, they go through the memory map, as far as it reaches: detection visits each
    /// enroller's members by index, in no file order.)
    async fn long_reads(c: &mut Conn, on: bool) -> Result<()> {
        let sql = if on { "PRAGMA temp_store = FILE" } else { "PRAGMA temp_store = MEMORY" };
        sqlx::query(sql).execute(&mut *c).await?;
        Ok(())
    }

    /// No bulk path on SQLite (multi-row INSERTs through the one writer are its fast path), so
    /// a batch's rows are not first written out as CSV.
    const BULK_COPY: bool = false;

    /// How a batch's rows are inserted. A multi-row INSERT that may stop part way (any
    /// `ABORT` constraint: a unique index, an immediate foreign key) copies every page it is
    /// about to change into a statement journal first, so that it can undo itself alone. A
    /// batch's writes never need that: a row's rejection is decided before its writes, and a failed
    /// write fails the whole transaction (no caller goes on in it). `OR FAIL` stops at the
    /// offending row without undoing the statement's earlier rows; with the writer's foreign keys
    /// off during a first load (see [`Self::loading`]) the people and memberships INSERTs keep no
    /// journal (200,000 rows with a unique index, in Python's sqlite3: 3.2 s → 1.6 s). With
    /// foreign keys on (any other time) they keep one as before. (Deferring the keys to `COMMIT`
    /// instead, `PRAGMA defer_foreign_keys` in each transaction, was tried for the group writer:
    /// 20 % fewer enrolments a second, as setting that pragma expires every prepared statement.)
    /// Tables without foreign keys (the idempotency answers, the audit log) are written so too.
    const INSERT_ROWS: &str = "INSERT OR FAIL INTO";

    /// Every daily row of a unit (`$1`) under its AC (`$2`), for the booth-list rewrite. The
    /// rows are kept in day order (migration 0024) and no index leads with the unit: an index
    /// on the AC (`unit_daily_ac`, dropped by migration 0025) took an entry for every unit's
    /// first count of each day, 6 % of the pages an enrolment's commit wrote. Instead the days
    /// that have rows are walked along the key, each the least day after the one before, and
    /// the unit's row of each day and wing is one look-up (a campaign's ~120 days on the 1 M
    /// file: a few milliseconds; checked by `last_7_days_are_read_by_day_wing_and_unit`).
    const DELETE_UNIT_DAILY: &str = "WITH RECURSIVE days(day) AS (SELECT MIN(day) FROM unit_daily \
        UNION ALL SELECT (SELECT MIN(n.day) FROM unit_daily n WHERE n.day > days.day) FROM days WHERE days.day IS NOT NULL) \
        DELETE FROM unit_daily WHERE day IN (SELECT day FROM days) AND wing_id IN (SELECT id FROM wings) AND unit_id = $1 AND ac_id = $2";

    /// A first load's rows are written as they are decided (see `enrol_rows`): the statements
    /// run on the connection's own thread, beside the one deciding, where the two took turns.
    /// Alternated runs: a 900,118-row import 27.2, 26.6 s → 24.1, 23.4 s; 3 M demo members'
    /// enrolling 63.8 s → 52.4, 57.5 s; at 18.1 M no gain, the two cores being full (see
    /// docs/first-load.md, "Writing while deciding").
    const PIPELINE_WRITES: bool = true;

    /// The order a state-wide search takes its first CANDIDATES people in: by id, which the
    /// index's matches already come in, so SQLite stops at the cap.
    const CANDIDATE_ORDER: &str = "p.id";

    /// SQLite joins in the order a query gives: the people found are written as a set the
    /// memberships are looked up by, so that it seeks (person, AC) before reading any row
    /// (`a_scoped_search_seeks_person_and_ac` checks the plan); the same for a key's prefix.
    const FOUND: Found = Found::AsSet;
    const FOUND_BY_PREFIX: Found = Found::AsSet;

    /// A deferred transaction in WAL mode already reads one snapshot from its first read on.
    const READ_SNAPSHOT: &str = "BEGIN";

    /// Nothing to set for a search.
    const SEARCH_SETTINGS: &str = "";

    #[allow(dead_code)] // never called: BULK_COPY is false
    async fn copy_csv(_c: &mut Conn, _target: &str, _csv: String) -> Result<bool> {
        Ok(false)
    }

    /// The search index's triggers are left out of a first load too; the index is filled from
    /// the table afterwards (see [`Build`]).
    const DEFERRABLE_HERE: &[&str] = &["people_fts_insert", "people_fts_delete", "people_fts_update"];

    /// (name, how to drop it, how to make it again) of the named indexes and triggers, for
    /// `fetch_in`.
    const DEFINITIONS: &str = "SELECT name, 'DROP ' || upper(type) || ' ' || name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND name";

    async fn before_index_builds(_c: &mut Conn) -> Result<()> {
        Ok(())
    }

    /// The transaction of a first load's index builds, on a connection of its own with the
    /// writer's settings for a load (its large cache, foreign keys off), whose sorts go through
    /// temporary files, not memory (at 18 M members the builds' sorts took the process to 3.6 GB
    /// in memory), and with the search index built beside it ([`Build`]). Its `BEGIN` is deferred
    /// and its first statement a write, which takes the file's write lock at once as
    /// `BEGIN IMMEDIATE` would; `IMMEDIATE` would also lock the attached file the search index is
    /// being built in. The writer's own cache goes back to its everyday size first, so that the
    /// two large caches are not held at once (and back to the load's should the build fail,
    /// here or later).
    ///
    /// The index is built in place instead, on the writer (its sorts through temporary files
    /// too, until [`Build::finish`]), for a database in memory (no file beside it), a path that
    /// is not UTF-8, or a search index whose definition is not the one [`Build`] copies
    /// ([`PEOPLE_FTS`]).
    async fn begin_build(&self) -> Result<(Transaction<'static, DB>, Build)> {
        let opts = self.write.connect_options();
        let main = opts.get_filename().to_path_buf();
        let definition: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'people_fts'").fetch_optional(&self.read).await?;
        let beside = std::fs::metadata(&main).is_ok_and(|m| m.is_file()) && main.to_str().is_some() && definition.as_deref() == Some(PEOPLE_FTS);
        let mut build = Build { writer: self.write.clone(), restore_load_cache: false, side: None };
        let begun = if beside {
            build.restore_load_cache = self.loading.load(std::sync::atomic::Ordering::SeqCst);
            Self::begin_beside(&self.write, &main, &mut build).await
        } else {
            // Outside a transaction: SQLite refuses it inside one.
            match sqlx::query("PRAGMA temp_store = FILE").execute(&self.write).await {
                Ok(_) => self.begin_write().await,
                Err(e) => Err(e.into()),
            }
        };
        match begun {
            Ok(tx) => Ok((tx, build)),
            Err(e) => {
                build.finish(true).await;
                Err(e)
            }
        }
    }

    /// [`Self::begin_build`] with the search index beside: the writer's cache made small, the
    /// side file and its connection, the build's connection with the file attached, and its
    /// transaction holding the lock.
    async fn begin_beside(write: &Pool<DB>, main: &std::path::Path, build: &mut Build) -> Result<Transaction<'static, DB>> {
        for sql in [format!("PRAGMA cache_size = {CACHE_KIB}"), "PRAGMA shrink_memory".into()] {
            sqlx::query(AssertSqlSafe(sql)).execute(write).await?;
        }
        remove_stale_side_files(main);
        let path = format!("{}{SIDE_FILE}{}", main.display(), random_hex(8)?);
        // Only its owner may read it: it holds people's search keys (SQLite would create it
        // readable by all, as the umask allows). Locked while the build lasts, so that another
        // process's `remove_stale_side_files` leaves it alone.
        let file = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)
        }
        .map_err(|e| StoreError::Refused(format!("the search index's build file {path}: {e}")))?;
        let side = build.side.insert(SideBuild {
            path: path.clone().into(),
            main: main.to_path_buf(),
            _file: file,
            pool: None,
            conn: None,
            task: None,
            cancel: Default::default(),
        });
        side._file.try_lock().map_err(|e| StoreError::Refused(format!("the search index's build file {path}: {e}")))?;
        let side_opts = SqliteConnectOptions::new()
            .filename(&side.path)
            .journal_mode(SqliteJournalMode::Off)
            .synchronous(SqliteSynchronous::Off);
        let mut conn = sqlx::ConnectOptions::connect(&side_opts).await?;
        sqlx::query(AssertSqlSafe(PEOPLE_FTS.replace(PEOPLE_FTS_CONTENT, "content = ''"))).execute(&mut conn).await?;
        side.conn = Some(conn);
        // The settings and the attached file on every connection the pool makes (it may replace
        // one between its first use and the transaction's).
        let build_opts = (*write.connect_options()).clone().pragma("cache_size", LOAD_CACHE_KIB).foreign_keys(false).pragma("temp_store", "file");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect(move |c, _| {
                let path = path.clone();
                Box::pin(async move {
                    sqlx::query("ATTACH DATABASE $1 AS aside").bind(path).execute(c).await?;
                    Ok(())
                })
            })
            .connect_with(build_opts)
            .await?;
        side.pool = Some(pool.clone());
        let mut tx = pool.begin_with("BEGIN").await?;
        sqlx::query("UPDATE main.meta SET value = value WHERE key = $1").bind(DEFERRED_INDEXES).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// The writer's cache while indexes are deferred (a first load running), and after. When the
    /// load is over, the log is copied into the file and cut back to nothing: the index builds
    /// wrote every index into it (3 GB at 18 M members), and a log that long stays that long on
    /// disk and costs every reader a longer look-up of which pages it holds.
    ///
    /// A first load also runs with the writer's foreign keys off: its writes refer only to units,
    /// wings and people it has just looked up or written itself, through the one writer, and
    /// with them on every multi-row INSERT keeps a statement journal (see [`Self::INSERT_ROWS`]).
    /// The keys are checked over the whole tables before the load is declared complete
    /// ([`Self::after_index_builds`]), as PostgreSQL validates the keys it puts back.
    async fn loading(&self, on: bool) -> Result<()> {
        self.writer_for_load(on).await?;
        if !on {
            // Best effort, waiting at most 200 ms (TRUNCATE holds the log's write lock while it
            // waits, so another process's writers would wait as long): a reader of another
            // process still on an older snapshot, or this store's checkpointer at work, makes it
            // give up (busy), and the log is cut back the next time it starts again from its
            // beginning (`journal_size_limit`).
            let mut c = self.write.acquire().await?;
            sqlx::query("PRAGMA busy_timeout = 200").execute(&mut *c).await?;
            let done = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *c).await;
            sqlx::query(AssertSqlSafe(format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()))).execute(&mut *c).await?;
            match done {
                Ok((0, _, _)) => {}
                Ok(_) => tracing::info!("the log was busy after the load: it is cut back at a later checkpoint"),
                Err(e) => tracing::warn!(error = %e, "checkpoint after the load failed"),
            }
        }
        Ok(())
    }

    /// The writer's settings for a first load (its large cache, foreign keys off), or its
    /// everyday ones.
    async fn writer_for_load(&self, on: bool) -> Result<()> {
        let kib = if on { LOAD_CACHE_KIB } else { CACHE_KIB };
        sqlx::query(AssertSqlSafe(format!("PRAGMA cache_size = {kib}"))).execute(&self.write).await?;
        let keys = if on { "OFF" } else { "ON" };
        sqlx::query(AssertSqlSafe(format!("PRAGMA foreign_keys = {keys}"))).execute(&self.write).await?;
        self.loading.store(on, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    /// The load this process was running was built by another process (or there was none): the
    /// writer goes back to its everyday settings, foreign keys on.
    async fn loading_over(&self) -> Result<()> {
        if self.loading.load(std::sync::atomic::Ordering::SeqCst) {
            self.writer_for_load(false).await?;
        }
        Ok(())
    }

    /// The rows loaded while the triggers were away go into the search index, all of them: the
    /// index built beside the builds ([`Build`]) is copied in (its tables as they are, as SQLite's
    /// own `.dump` restores an FTS5 table), or, where the build is in place (see
    /// [`Self::begin_build`]), rebuilt. And the foreign keys the load ran without (see
    /// [`Self::loading`]) are checked, over every table (the writer ran without any of its keys,
    /// whatever it wrote): a row that breaks one stops the build, naming the table and row, and
    /// the load stays pending.
    async fn after_index_builds(c: &mut Conn, build: &mut Build) -> Result<()> {
        let Some(side) = &mut build.side else {
            sqlx::query("INSERT INTO people_fts (people_fts) VALUES ('rebuild')").execute(&mut *c).await?;
            return key_check(c, "main").await;
        };
        let task = side.task.take().ok_or_else(|| StoreError::Refused("the search index's build was not started".into()))?;
        let filled = task.await.map_err(|e| StoreError::Refused(format!("the search index's build: {e}")))??;
        // The file attached is the one filled (each build's file has a name of its own), and it
        // holds everyone this transaction commits (the side read them under its lock).
        let (found, people): (i64, i64) =
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM aside.people_fts_docsize), (SELECT COUNT(*) FROM main.people)").fetch_one(&mut *c).await?;
        if u64::try_from(found).ok() != Some(filled) || found != people {
            return Err(StoreError::Refused(format!(
                "the search index built beside the load holds {found} people ({filled} read) of {people}; the load stays pending"
            )));
        }
        for table in ["people_fts_data", "people_fts_idx", "people_fts_docsize"] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM main.{table}"))).execute(&mut *c).await?;
            sqlx::query(AssertSqlSafe(format!("INSERT INTO main.{table} SELECT * FROM aside.{table}"))).execute(&mut *c).await?;
        }
        Ok(())
    }

    /// One writer at a time already serialises everything.
    async fn lock_keys(_c: &mut Conn, _keys: &[String]) -> Result<()> {
        Ok(())
    }

    /// The first-load lock (see PostgreSQL's): the one writer already serialises everything.
    async fn first_load_lock(_c: &mut Conn, _exclusive: bool) -> Result<()> {
        Ok(())
    }

    /// A batch's new people, as multi-row INSERTs in few sizes (`pow2_chunks`).
    async fn insert_people(c: &mut Conn, rows: &[NewPerson]) -> Result<()> {
        run_chunks(c, rows, WRITE_CHUNK, people_insert).await
    }

    /// A batch's new memberships, likewise.
    async fn insert_memberships(c: &mut Conn, rows: &[NewMembership]) -> Result<()> {
        run_chunks(c, rows, WRITE_CHUNK, members_insert).await
    }

    /// The answers kept under these (actor, key) pairs, by the table's key: both lists, so that
    /// the look-up probes the primary key instead of scanning every key ever stored. Pairs of
    /// one caller's actor with another's key may come back too; the caller uses exact pairs
    /// only.
    async fn answers_kept(c: &mut Conn, pairs: &[(String, String)]) -> Result<Vec<(String, String, String, String)>> {
        let actors: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
        let keys: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
        let mut stored = Vec::new();
        for keys in keys.chunks(IN_CHUNK) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("SELECT actor, key, request_hash, response FROM idempotency WHERE actor IN (");
            let mut sep = qb.separated(", ");
            for a in pow2_padded(&actors) {
                sep.push_bind(a.to_string());
            }
            qb.push(") AND key IN (");
            let mut sep = qb.separated(", ");
            for k in pow2_padded(keys) {
                sep.push_bind(k.to_string());
            }
            qb.push(")");
            stored.extend(qb.build_query_as::<(String, String, String, String)>().fetch_all(&mut *c).await?);
        }
        Ok(stored)
    }

    /// A group's answers under their idempotency keys, likewise.
    async fn keep_answers(c: &mut Conn, rows: &[KeptAnswer]) -> Result<()> {
        for chunk in pow2_chunks(rows, 256) {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("{} idempotency (actor, key, request_hash, status, response, created_at) ", Self::INSERT_ROWS));
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(r.0.clone()).push_bind(r.1.clone()).push_bind(r.2.clone()).push_bind(r.3).push_bind(r.4.clone()).push_bind(r.5);
            });
            qb.build().execute(&mut *c).await?;
        }
        Ok(())
    }

    /// A batch's counter changes, as multi-row upserts in few sizes (`pow2_chunks`).
    async fn add_counts(c: &mut Conn, achieved: &[AchievedRow], daily: &[DailyRow]) -> Result<()> {
        run_chunks(c, achieved, 1000, |chunk| {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("{} unit_counters (unit_id, wing_id, ac_id, achieved, verified) ", StoreImpl::INSERT_ROWS));
            qb.push_values(chunk, |mut b, ((u, w, a), (n, v))| {
                b.push_bind(*u).push_bind(*w).push_bind(*a).push_bind(*n).push_bind(*v);
            });
            qb.push(
                " ON CONFLICT (unit_id, wing_id, ac_id) DO UPDATE SET achieved = unit_counters.achieved + excluded.achieved, \
                 verified = unit_counters.verified + excluded.verified",
            );
            qb
        })
        .await?;
        run_chunks(c, daily, 1000, |chunk| {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new(format!("{} unit_daily (unit_id, wing_id, day, ac_id, n, verified) ", StoreImpl::INSERT_ROWS));
            qb.push_values(chunk, |mut b, ((u, w, d, a), (n, v))| {
                b.push_bind(*u).push_bind(*w).push_bind(*d).push_bind(*a).push_bind(*n).push_bind(*v);
            });
            qb.push(" ON CONFLICT (unit_id, wing_id, day, ac_id) DO UPDATE SET n = unit_daily.n + excluded.n, verified = unit_daily.verified + excluded.verified");
            qb
        })
        .await
    }

    /// The one writer holds the database: no row locks (and no such syntax).
    fn for_update() -> &'static str {
        ""
    }

    /// One writer at a time (`BEGIN IMMEDIATE`): nothing to skip.
    fn skip_locked() -> &'static str {
        ""
    }

    /// Ids for `n` new people. Safe because this connection is the only writer (`BEGIN IMMEDIATE`).
    async fn reserve_person_ids(c: &mut Conn, n: i64) -> Result<(i64, i64)> {
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM people")
            .fetch_one(&mut *c)
            .await?;
        Ok((max + 1, max + n.max(1)))
    }

    /// People whose search key contains `$1`, through the FTS5 trigram index.
    ///
    /// FTS5 answers a phrase by reading the whole list of people under every one of its
    /// trigrams, and names share some trigrams widely: at 18 M people "ndr" (Chandra, Surendra,
    /// Devendra…) is in 994,000 of them, and a long name's dozen trigrams came to 2 M entries
    /// read. So when the trigram counts are known, the index is asked only for the people under
    /// [`TRIGRAMS_READ`] of the key's trigrams ([`rarest_trigrams`]: the rarest, then the rarest
    /// sharing no letter with those taken), and the key itself is checked on those rows
    /// (`instr`): the same people, the search's candidate look-up p95 ~47 → ~24 ms at 18 M (with
    /// the three rarest, the rule measured then).
    /// Without the counts (not yet taken: they are taken in the background, see [`Trigrams`]),
    /// the phrase.
    /// (In any scope: `_within_one_ac` is for backends whose index holds the home AC.)
    fn trigram_condition(&self, key: String, _within_one_ac: bool) -> (String, Vec<String>) {
        let counts = Trigrams::now_or_later(&self.trigrams, &self.read);
        match counts.as_ref().and_then(|c| rarest_trigrams(&key, c)).map(|g| fts_all_of(&g)) {
            Some(q) => (
                "p.id IN (SELECT rowid FROM people_fts WHERE people_fts MATCH $2) AND instr(p.search_key, $1) > 0".to_string(),
                vec![key, q],
            ),
            None => (
                "p.id IN (SELECT rowid FROM people_fts WHERE people_fts MATCH '\"' || $1 || '\"')".to_string(),
                vec![key],
            ),
        }
    }

    /// People whose search key starts with `$1` (keys are lower-case ASCII), by b-tree range.
    fn prefix_condition() -> String {
        "p.search_key >= $1 AND p.search_key < $1 || '~'".to_string()
    }

    async fn refresh_search_statistics_here(&self) -> Result<()> {
        Trigrams::retake(&self.read, &self.trigrams, false).await
    }

    /// How many people each trigram is in, from the FTS5 index itself (`fts5vocab`: one pass
    /// over it, ~6 s at 18 M people, 5,000 trigrams).
    async fn count_trigrams(c: &mut Conn) -> Result<Vec<(String, i64)>> {
        sqlx::query("CREATE VIRTUAL TABLE IF NOT EXISTS temp.people_fts_terms USING fts5vocab(main, people_fts, row)")
            .execute(&mut *c)
            .await?;
        Ok(sqlx::query_as("SELECT term, doc FROM temp.people_fts_terms").fetch_all(&mut *c).await?)
    }

    fn is_retryable(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c == "5" || c == "517"))
    }

    /// Groups of enrolments between two attempts to start the write-ahead log again (a group
    /// of 20 writes about 270 pages to it: every 50 groups kept it under 130 MiB under load).
    const RESTART_LOG_EVERY: u32 = 50;

    /// Between two groups, on the writer's connection: copy what is left of the log into the
    /// file (the checkpointer task has copied most of it), so that the next write starts the log
    /// again from its beginning. True when it will. It does not wait: a reader still on an older
    /// snapshot, or the checkpointer task at work, makes it false (the next group tries again);
    /// the writer's own checkpoint (WRITER_CHECKPOINT_PAGES) bounds the log if it never can.
    /// An error only when its busy wait could not be set back (the caller then replaces the
    /// connection).
    async fn restart_log(c: &mut Conn) -> Result<bool> {
        if let Err(e) = sqlx::query("PRAGMA busy_timeout = 0").execute(&mut *c).await {
            tracing::debug!(error = %e, "the log could not start again");
            return Ok(false);
        }
        let r = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(RESTART)").fetch_one(&mut *c).await;
        sqlx::query(AssertSqlSafe(format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()))).execute(&mut *c).await?;
        Ok(match r {
            Ok((busy, _, _)) => busy == 0,
            Err(e) => {
                tracing::debug!(error = %e, "the log could not start again");
                false
            }
        })
    }

    /// The underlying pool, for tests and maintenance commands.
    /// Before an erasure: deleted and overwritten content is zeroed, free pages included.
    async fn before_erase(&self) -> Result<()> {
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// After an erasure: back to the everyday setting, and nothing of the erased rows lingers in
    /// the write-ahead log (the checkpoint empties it).
    async fn after_erase(&self, erased: bool) -> Result<()> {
        sqlx::query("PRAGMA secure_delete = FAST")
            .execute(&self.write)
            .await?;
        if erased {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.write
    }
}

/// The search index's definition (migration 0003) that [`Build`] copies into: its side table is
/// this with [`PEOPLE_FTS_CONTENT`] made `content = ''`. Another definition (a later migration)
/// builds in place until this is brought along.
const PEOPLE_FTS: &str = "CREATE VIRTUAL TABLE people_fts USING fts5(search_key, content = 'people', content_rowid = 'id', tokenize = 'trigram')";
const PEOPLE_FTS_CONTENT: &str = "content = 'people', content_rowid = 'id'";

/// What follows the database's file name in a build's side file: then a random token of its own.
const SIDE_FILE: &str = ".search-build-";

/// A first load's search index and key check, run beside its index builds. The builds are sorts
/// on one core, and the FTS5 rebuild after them (every person's search key tokenised, read in
/// search-key order through the index just built) and `foreign_key_check` over every table were
/// a third of the build, on the same core, the other core idle. A connection of its own fills an
/// FTS5 index of the same definition (contentless: its rows are the people the load wrote) in a
/// file beside the database, in id order, and checks the keys; the build then copies that index's
/// tables into its own. They hold the entries a rebuild from the table makes (a rebuild cuts
/// them into other segments), and FTS5's own check finds them agreeing with the table
/// (`the_search_index_built_aside_is_a_rebuilds`). The file holds search keys (personal data):
/// only its owner may read it, and it is deleted when the build ends, or, should the process
/// die first, by the next build beside that database.
pub(crate) struct Build {
    /// The store's writer: its `temp_store` back to memory after a build in place, its cache a
    /// load's again after a failed build beside ([`Self::restore_load_cache`]).
    writer: Pool<DB>,
    restore_load_cache: bool,
    side: Option<SideBuild>,
}

struct SideBuild {
    /// The file the index is built in, and the database's.
    path: std::path::PathBuf,
    main: std::path::PathBuf,
    /// The side file, open and locked until the build ends (see `remove_stale_side_files`).
    _file: std::fs::File,
    /// The build's own connection (see [`SqliteStore::begin_build`]), closed at the end.
    pool: Option<Pool<DB>>,
    /// The connection building the index, until [`Build::start`] hands it to its task.
    conn: Option<sqlx::SqliteConnection>,
    /// The task: how many people it put in the index.
    task: Option<tokio::task::JoinHandle<Result<u64>>>,
    /// Set when the build ends: stops the task's statement inside SQLite (aborting the task
    /// only drops its future; the statement would run on in the connection's thread).
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Build {
    /// Under the build's write lock (no other writer can commit until the build does, so what
    /// this reads is what the build commits): the index filled and the keys checked.
    pub(crate) fn start(&mut self) {
        if let Some(side) = &mut self.side
            && let Some(conn) = side.conn.take()
        {
            side.task = Some(tokio::spawn(fill_aside(conn, side.main.clone(), side.cancel.clone())));
        }
    }

    /// After the build's commit or its failure (or its start's): the side statement stopped,
    /// the build's connection closed, the writer as it was (the file goes when the value is
    /// dropped).
    pub(crate) async fn finish(mut self, failed: bool) {
        let Some(side) = &mut self.side else {
            if let Err(e) = sqlx::query("PRAGMA temp_store = MEMORY").execute(&self.writer).await {
                tracing::warn!(error = %e, "the writer's temporary store after the build");
            }
            return;
        };
        side.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(pool) = side.pool.take() {
            pool.close().await;
        }
        if failed
            && self.restore_load_cache
            && let Err(e) = sqlx::query(AssertSqlSafe(format!("PRAGMA cache_size = {LOAD_CACHE_KIB}"))).execute(&self.writer).await
        {
            tracing::warn!(error = %e, "the writer's cache for the load");
        }
    }
}

impl Drop for SideBuild {
    fn drop(&mut self) {
        self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(task) = self.task.take() {
            task.abort();
        }
        // Its journal's and log's names too, should SQLite have made them.
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Side files beside `main` that no build holds (their build's process died): removed. A build
/// holds its file locked (`flock`) from its creation to its end, whatever process or container
/// it runs in; a lock is released with its process.
fn remove_stale_side_files(main: &std::path::Path) {
    let (Some(dir), Some(name)) = (main.parent(), main.file_name().and_then(|n| n.to_str())) else { return };
    let prefix = format!("{name}{SIDE_FILE}");
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() { std::path::Path::new(".") } else { dir }) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().to_str().is_some_and(|f| f.starts_with(&prefix)) {
            continue;
        }
        if std::fs::File::open(entry.path()).is_ok_and(|f| f.try_lock().is_ok()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Every person of `main` into the side file's contentless FTS5 table, in id order (a rebuild
/// would read them in search-key order through the index the build has just made, and FTS5
/// starts a new segment whenever an id goes down); then `main`'s foreign keys checked. How many
/// people went in.
async fn fill_aside(mut c: sqlx::SqliteConnection, main: std::path::PathBuf, cancel: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Result<u64> {
    c.lock_handle().await?.set_progress_handler(10_000, move || !cancel.load(std::sync::atomic::Ordering::Relaxed));
    sqlx::query("ATTACH DATABASE $1 AS src").bind(main.to_str().map(str::to_string)).execute(&mut c).await?;
    let filled = sqlx::query("INSERT INTO people_fts (rowid, search_key) SELECT id, search_key FROM src.people ORDER BY id").execute(&mut c).await?.rows_affected();
    let checked = key_check(&mut c, "src").await;
    let _ = sqlx::Connection::close(c).await;
    checked.map(|()| filled)
}

/// The first foreign key broken anywhere in `schema`, refused by name.
async fn key_check(c: &mut sqlx::SqliteConnection, schema: &str) -> Result<()> {
    let broken: Option<(String, Option<i64>, String)> = sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check(NULL, $1) LIMIT 1")
        .bind(schema)
        .fetch_optional(&mut *c)
        .await?;
    if let Some((table, rowid, parent)) = broken {
        return Err(StoreError::Refused(format!(
            "a foreign key is broken: {table} row {} refers to a missing {parent} row; the load stays pending",
            rowid.map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    Ok(())
}

/// Copies the write-ahead log into the database file until the store is dropped, then once more:
/// every [`CHECKPOINT_BUSY`] while the log keeps changing, every [`CHECKPOINT_IDLE`] when it did
/// not. The writer restarts the log from its beginning once a checkpoint has copied all of it and
/// no reader still needs it.
async fn checkpointer(c: Pool<DB>, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let mut last: Option<(i64, i64)> = None;
    let mut every = CHECKPOINT_IDLE;
    loop {
        let stop = tokio::select! {
            _ = &mut stopped => true,
            _ = tokio::time::sleep(every) => false,
        };
        // (busy, frames in the log, frames copied): quiet when this pass could run, found every
        // frame copied and the log as the last pass left it; anything else means writes are
        // coming (or another checkpoint was running).
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&c).await {
            Ok((busy, log, copied)) => {
                let quiet = busy == 0 && log == copied && last == Some((log, copied));
                every = if quiet { CHECKPOINT_IDLE } else { CHECKPOINT_BUSY };
                last = Some((log, copied));
            }
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
        if stop {
            c.close().await;
            return;
        }
    }
}

/// Run `sql_prefix IN (…) sql_suffix` once per chunk of `items`, each chunk bound as
/// placeholders (SQLite has no array parameter; in process, a statement costs no round trip).
async fn fetch_in<T, R>(c: &mut Conn, sql_prefix: &str, sql_suffix: &str, items: &[T]) -> Result<Vec<R>>
where
    T: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB> + Clone + Send + Sync,
    R: for<'r> sqlx::FromRow<'r, <DB as sqlx::Database>::Row> + Send + Unpin,
{
    let mut out = Vec::new();
    for chunk in items.chunks(IN_CHUNK) {
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(sql_prefix);
        qb.push(" IN (");
        let mut sep = qb.separated(", ");
        // A power of two of placeholders up to 256, else IN_CHUNK, padded with a repeat: few
        // distinct statement texts, which the connection keeps prepared (`pow2_padded`).
        for v in pow2_padded(chunk).into_iter().take(IN_CHUNK) {
            sep.push_bind(v);
        }
        qb.push(")");
        qb.push(sql_suffix);
        out.extend(qb.build_query_as::<R>().fetch_all(&mut *c).await?);
    }
    Ok(out)
}

include!("common.rs");
include!("access_sql.rs");
include!("meetings_sql.rs");
include!("volunteers_sql.rs");
include!("verification_sql.rs");
include!("ops_sql.rs");

#[cfg(test)]
mod sqlite_only {
    use super::*;

    /// Multi-row statements take every row once, in order, in full chunks then powers of two;
    /// an `IN` list is padded with its last item to a power of two.
    #[test]
    fn statements_come_in_few_sizes() {
        for n in 0..1100usize {
            let rows: Vec<usize> = (0..n).collect();
            let parts = pow2_chunks(&rows, 400);
            assert_eq!(parts.concat(), rows, "{n}");
            assert!(parts.iter().all(|p| p.len() == 400 || (p.len().is_power_of_two() && p.len() < 400)), "{n}: {parts:?}");
            assert!(parts.windows(2).all(|w| w[0].len() > w[1].len() || w[0].len() == 400), "{n}");
            let padded = pow2_padded(&rows);
            assert_eq!(&padded[..n], &rows[..], "{n}");
            assert!(n == 0 && padded.is_empty() || padded.len() == n.next_power_of_two() && padded[n..].iter().all(|&v| v == n - 1), "{n}");
        }
    }

    /// A store on a fresh file in a temporary directory, removed with the `TestDb`.
    async fn fresh() -> (SqliteStore, crate::testing::TestDb) {
        let db = crate::testing::TestDb::sqlite();
        let store = SqliteStore::connect(&db.url).await.expect("opens");
        (store, db)
    }

    /// A build's side file that no build holds (its process died) is removed by the next build;
    /// one a build holds stays, as do other databases' files.
    #[test]
    fn side_files_no_build_holds_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let main = dir.path().join("x.db");
        let [dead, live, other] = [format!("x.db{SIDE_FILE}0a"), format!("x.db{SIDE_FILE}0b"), format!("y.db{SIDE_FILE}0c")].map(|f| dir.path().join(f));
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"").expect("written");
        }
        let held = std::fs::File::open(&live).expect("opens");
        held.try_lock().expect("locks");
        remove_stale_side_files(&main);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
        drop(held);
        remove_stale_side_files(&main);
        assert!(!live.exists(), "once its build is gone");
    }

    /// Counters spread as one sum per (unit, wing) and per (sector, wing, day), the days and a
    /// sector's booths folded first, equal each counted row spread over its own ancestors.
    #[test]
    fn counters_spread_folded_equal_each_row_spread() {
        // State 1, division 2, district 3, PC 4; AC 10 with sectors 11 (booths 12, 13) and 20
        // (booth 21); AC 30 with sector 31 (booth 32); a booth with no sector (40, under AC 30).
        let (state, division, district, pc) = (Some(1), Some(2), Some(3), Some(4));
        let anc = |ac: Option<i64>, sector: Option<i64>| Ancestors { state, division, district, pc, ac, sector };
        let units: Vec<(i64, UnitKind, Ancestors)> = vec![
            (10, UnitKind::Ac, anc(None, None)),
            (11, UnitKind::Sector, anc(Some(10), None)),
            (12, UnitKind::Booth, anc(Some(10), Some(11))),
            (13, UnitKind::Booth, anc(Some(10), Some(11))),
            (20, UnitKind::Sector, anc(Some(10), None)),
            (21, UnitKind::Booth, anc(Some(10), Some(20))),
            (30, UnitKind::Ac, anc(None, None)),
            (32, UnitKind::Booth, anc(Some(30), Some(31))),
            (40, UnitKind::Booth, anc(Some(30), None)),
        ];
        let mut d = Deltas::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..2_000 {
            let (id, kind, anc) = units[next(units.len() as u64) as usize];
            let day = NaiveDate::from_ymd_opt(2026, 9, 1).expect("a date") + Duration::days(next(20) as i64);
            let e = d.by_unit.entry((id, 1 + next(2) as i64, day)).or_insert((kind, anc, 0, 0));
            // Some rows net to nothing: they must not be written.
            e.2 += next(5) as i64 - 2;
            e.3 += next(3) as i64 - 1;
        }
        let mut achieved: BTreeMap<(i64, i64, i64), (i64, i64)> = BTreeMap::new();
        let mut daily: BTreeMap<(i64, i64, NaiveDate, i64), (i64, i64)> = BTreeMap::new();
        for (&(id, wing, day), &(kind, anc, n, v)) in &d.by_unit {
            let ac = ac_of_parts(id, kind, &anc).unwrap_or(0);
            for u in anc.rollup(id) {
                let e = achieved.entry((u, wing, ac)).or_default();
                (e.0, e.1) = (e.0 + n, e.1 + v);
            }
            for u in daily_rollup_of(id, kind, &anc) {
                let e = daily.entry((u, wing, day, ac)).or_default();
                (e.0, e.1) = (e.0 + n, e.1 + v);
            }
        }
        let achieved: Vec<_> = achieved.into_iter().filter(|(_, n)| *n != (0, 0)).collect();
        let daily: Vec<_> = daily.into_iter().filter(|(_, n)| *n != (0, 0)).collect();
        assert!(achieved.len() > 20 && daily.len() > 200, "the rows reach every level");
        assert_eq!(d.spread(), (achieved, daily));
    }

    /// The group writer's restart of the log never waits for a reader (it answers false, and
    /// the reader's end a moment later does not make it true), leaves the connection's busy
    /// wait as it was, and once no reader is on the log lets the next write start it again.
    #[tokio::test]
    async fn the_log_restarts_between_groups_without_waiting() {
        use sqlx::Connection;
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", dir.path().join("r.db").display()))
            .expect("a url")
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("wal_autocheckpoint", "0");
        configure_sqlite();
        let mut w = sqlx::SqliteConnection::connect_with(&opts).await.expect("opens");
        let insert = "INSERT INTO t (x) SELECT zeroblob(3000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)";
        sqlx::query("CREATE TABLE t (x BLOB)").execute(&mut w).await.expect("creates");
        for _ in 0..20 {
            sqlx::query(insert).execute(&mut w).await.expect("writes");
        }
        // A reader on a snapshot of the log as it is now, ending 2 s from now.
        let mut r = sqlx::SqliteConnection::connect_with(&opts).await.expect("opens");
        sqlx::query("BEGIN").execute(&mut r).await.expect("begins");
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut r).await.expect("reads");
        sqlx::query(insert).execute(&mut w).await.expect("writes");
        let reader = tokio::spawn(async move {
            tokio::time::sleep(StdDuration::from_secs(2)).await;
            sqlx::query("COMMIT").execute(&mut r).await.expect("ends");
        });
        assert!(!SqliteStore::restart_log(&mut w).await.expect("runs"), "a reader is on the log");
        let wait: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&mut w).await.expect("reads");
        assert_eq!(wait as u128, BUSY_TIMEOUT.as_millis());
        reader.await.expect("the reader ends");
        let frames = "PRAGMA wal_checkpoint(PASSIVE)";
        let before = sqlx::query_as::<_, (i64, i64, i64)>(frames).fetch_one(&mut w).await.expect("checkpoints").1;
        assert!(SqliteStore::restart_log(&mut w).await.expect("runs"), "no reader now");
        sqlx::query(insert).execute(&mut w).await.expect("writes");
        let after = sqlx::query_as::<_, (i64, i64, i64)>(frames).fetch_one(&mut w).await.expect("checkpoints").1;
        assert!(before > 20 && after < before / 4, "the log started again: {before} frames, then {after}");
    }

    /// The bundled SQLite was built with `.cargo/config.toml`'s ceiling: a reader's map is the
    /// size asked for, not the default 2 GiB.
    #[tokio::test]
    async fn readers_map_the_whole_file() {
        let (s, _db) = fresh().await;
        let mapped: i64 = sqlx::query_scalar("PRAGMA mmap_size").fetch_one(&s.read).await.expect("reads");
        assert_eq!(mapped.to_string(), MMAP_BYTES);
    }

    /// A name key is looked up by its rarest trigrams once their counts are taken: a trigram not
    /// counted is taken as rarest, ties go in alphabetical order, and a key with no more trigrams
    /// than are read (or not plain lower-case ASCII) keeps the phrase.
    #[tokio::test]
    async fn a_name_search_reads_its_rarest_trigrams() {
        let counts: HashMap<String, i64> =
            [("rmp", 50), ("mpr", 50), ("prk", 90), ("rks", 90), ("ksn", 3), ("sns", 2)].map(|(t, n)| (t.to_string(), n)).into();
        // rmprksnsd: rmp mpr prk rks ksn sns nsd; nsd is not counted. After nsd, sns and ksn
        // share letters with it; mpr does not; sns fills the third place.
        assert_eq!(rarest_trigrams("rmprksnsd", &counts).map(|g| fts_all_of(&g)).as_deref(), Some(r#""nsd" AND "mpr" AND "sns""#));
        assert_eq!(rarest_trigrams("rmprks", &counts).map(|g| fts_all_of(&g)).as_deref(), Some(r#""mpr" AND "rmp" AND "prk""#));
        assert_eq!(rarest_trigrams("rmprk", &counts), None, "three trigrams: the phrase reads no more");
        assert_eq!(rarest_trigrams("sssssss", &counts), None, "one distinct trigram");
        assert_eq!(rarest_trigrams("rmpr\u{0915}ksnsd", &counts), None);
        let (s, _db) = fresh().await;
        let (cond, binds) = s.trigram_condition("rmprksnsd".into(), false);
        assert_eq!(binds.len(), 1, "no counts yet: the phrase ({cond})");
        s.refresh_search_statistics_here().await.expect("counts taken");
        let (cond, binds) = s.trigram_condition("rmprksnsd".into(), false);
        assert!(cond.contains("instr(p.search_key, $1)"), "{cond}");
        assert_eq!(binds, ["rmprksnsd", r#""ksn" AND "mpr" AND "nsd""#]);
    }

    /// A search within an AC, a sector or a booth looks the people it found up in
    /// memberships_person_ac by person and AC, and never starts from the AC's own memberships
    /// (45,000 at 18 M), with SQLite's default estimates (the store never runs ANALYZE).
    #[tokio::test]
    async fn a_scoped_search_seeks_person_and_ac() {
        let (s, _db) = fresh().await;
        let unit = scoped_test_unit;
        // Both forms of the name condition, as the search makes them: the phrase (no trigram
        // counts yet), then the rarest trigrams (counts taken).
        let (phrase, _) = s.trigram_condition("rmprksnsd".into(), false);
        s.refresh_search_statistics_here().await.expect("counts taken");
        let (rarest, _) = s.trigram_condition("rmprksnsd".into(), false);
        assert_ne!(phrase, rarest);
        let conds = [phrase.as_str(), rarest.as_str()];
        for (kind, code) in [(UnitKind::Ac, "UP-AC-1"), (UnitKind::Sector, "UP-AC-1-S01"), (UnitKind::Booth, "UP-AC-1-B0001")] {
            for wings in [Wings::All, Wings::Only([1, 2].into_iter().collect())] {
                for cond in conds {
                    let sql = scoped_search_sql(cond, &unit(kind, code), 3, &wings, SqliteStore::FOUND);
                    let plan = query_plan(&s, &sql).await;
                    assert!(plan.iter().any(|r| r.contains("memberships_person_ac (person_id=? AND ac_id=?)")), "{sql}\n{plan:?}");
                    assert!(!plan.iter().any(|r| r.contains("INDEX memberships_ac ") || r.contains("SCAN m")), "{sql}\n{plan:?}");
                }
            }
        }
    }

    /// The people stored with a query's leading words only are found through the search key's
    /// b-tree, state-wide and within an AC, a sector or a booth (then by person and AC, as the
    /// name search itself), with SQLite's default estimates.
    #[tokio::test]
    async fn leading_words_are_found_by_the_key_btree() {
        let (s, _db) = fresh().await;
        for n in 1..=sangathan_core::search::LEADING_MAX_KEYS {
            let sql = leading_people_sql(n);
            let plan = query_plan(&s, &sql).await;
            assert!(plan.iter().any(|r| r.contains("USING INDEX people_search_key (search_key=?)")), "{sql}\n{plan:?}");
            assert!(!plan.iter().any(|r| r.contains("SCAN p")), "{sql}\n{plan:?}");
            let cond = leading_keys_condition(n);
            for (kind, code) in [(UnitKind::Ac, "UP-AC-1"), (UnitKind::Sector, "UP-AC-1-S01"), (UnitKind::Booth, "UP-AC-1-B0001")] {
                for wings in [Wings::All, Wings::Only([1, 2].into_iter().collect())] {
                    let sql = scoped_search_sql(&cond, &scoped_test_unit(kind, code), n + 1, &wings, SqliteStore::FOUND);
                    let plan = query_plan(&s, &sql).await;
                    assert!(plan.iter().any(|r| r.contains("USING INDEX people_search_key (search_key=?)")), "{sql}\n{plan:?}");
                    assert!(plan.iter().any(|r| r.contains("memberships_person_ac (person_id=? AND ac_id=?)")), "{sql}\n{plan:?}");
                    assert!(!plan.iter().any(|r| r.contains("INDEX memberships_ac ") || r.contains("SCAN m") || r.contains("SCAN p")), "{sql}\n{plan:?}");
                }
            }
        }
    }

    /// A unit's last 7 days are read from its daily rows of each day by the table's key (day,
    /// wing, unit), seven short look-ups, never by reading every unit's rows of those days (the
    /// rows are kept in day order: migration 0024); the booth-list rewrite finds a unit's rows of
    /// every day by walking the days along the key. With SQLite's default estimates (the store
    /// never runs ANALYZE).
    #[tokio::test]
    async fn last_7_days_are_read_by_day_wing_and_unit() {
        let (s, _db) = fresh().await;
        let mut plans = Vec::new();
        for drive in [Drive::Achieved, Drive::Verified] {
            for kind in [UnitKind::State, UnitKind::Division, UnitKind::Pc, UnitKind::Ac, UnitKind::Sector, UnitKind::Booth] {
                for sql in [unit_figures_sql(kind, drive), children_progress_sql(kind, drive)] {
                    plans.push((sql.clone(), query_plan(&s, &sql).await));
                }
            }
        }
        for (sql, plan) in &plans {
            assert!(plan.iter().any(|r| r.contains("SEARCH d USING PRIMARY KEY (day=? AND wing_id=? AND unit_id=?)")), "{sql}\n{plan:?}");
            assert!(!plan.iter().any(|r| r.contains("SCAN d") || r.contains("unit_daily_ac")), "{sql}\n{plan:?}");
        }
        let rewrite = SqliteStore::DELETE_UNIT_DAILY;
        let plan = query_plan(&s, rewrite).await;
        assert!(plan.iter().any(|r| r.contains("SEARCH unit_daily USING PRIMARY KEY (day=? AND wing_id=? AND unit_id=? AND ac_id=?)")), "{rewrite}\n{plan:?}");
        assert!(plan.iter().any(|r| r.contains("SEARCH n USING PRIMARY KEY (day>?)")), "{rewrite}\n{plan:?}");
        assert!(!plan.iter().any(|r| r.contains("SCAN unit_daily") || r.contains("SCAN n")), "{rewrite}\n{plan:?}");
    }

    /// The details of SQLite's plan for `sql`, one per step.
    async fn query_plan(s: &SqliteStore, sql: &str) -> Vec<String> {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).fetch_all(&s.read).await.expect("plans");
        plan.into_iter().map(|r| r.3).collect()
    }

    /// Detection's per-AC reads are answered from `memberships_ac_enroller` alone, never by
    /// visiting each membership row (at 18 M members the difference is minutes).
    #[tokio::test]
    async fn detections_per_ac_reads_use_their_index_alone() {
        let (s, _db) = fresh().await;
        let mut plans = Vec::new();
        for sql in [ac_counts_sql("1, 2"), ac_checked_sql("1, 2"), enroller_in_ac_sql(COUNTED), enroller_in_ac_sql("('pending', 'rejected')")] {
            let plan = query_plan(&s, &sql).await;
            plans.push((sql, plan));
        }
        for (sql, plan) in plans {
            assert!(
                plan.iter().any(|r| r.contains("COVERING INDEX memberships_ac_enroller")),
                "{sql}\n{plan:?}"
            );
            assert!(!plan.iter().any(|r| r.contains("SCAN m") || r.contains("SCAN memberships")), "{sql}\n{plan:?}");
        }
    }
}
