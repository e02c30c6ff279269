//! SQLite's own page cache, wrapped to skip a scan that finds nothing.
//!
//! When a b-tree page splits, SQLite's `balance_nonroot` gives the new pages ascending numbers
//! by swapping their numbers in the page cache through a spare one: the page at `PENDING_BYTE`
//! (1 GiB into the file, page 262,145 at 4 KiB), which no database uses. The cache remembers that
//! number as the largest it has held, and every commit then truncates the cache above the file's
//! size: while the file is under 1 GiB, the gap to that number is wider than the cache's hash
//! table, so the truncation walks every slot and every page in it, to drop nothing. Under 64
//! enrolling clients on a 1 M-member file (586 MiB) that walk was 5 % of the server's CPU and a
//! tenth of the writer's thread (`perf`; a file over 1 GiB, as at 18.1 M, never pays it).
//!
//! The wrapper passes every call to SQLite's cache unchanged and keeps, for each cache, the
//! largest page number it may hold other than the spare: a truncation above it has nothing to
//! drop and is skipped. Installed once per process, before SQLite's first use
//! ([`install`]); if SQLite was already started (another library in the same process used it
//! first), nothing changes.
//!
//! The same call turns off SQLite's memory statistics (`SQLITE_CONFIG_MEMSTATUS`, as SQLite
//! recommends where nothing reads them: nothing here sets a heap limit or asks how much memory
//! SQLite holds): with them on, every allocation of every connection (the search index's
//! writes allocate for each term) takes one process-wide mutex to count itself.

use libsqlite3_sys as ffi;
use std::os::raw::{c_int, c_uint, c_void};
use std::sync::OnceLock;

/// SQLite's default `PENDING_BYTE` (only its own test builds move it).
const PENDING_BYTE: u32 = 0x4000_0000;

/// SQLite's own cache methods, as they were before the wrapper replaced them.
struct Inner(ffi::sqlite3_pcache_methods2);
// SAFETY: a table of C function pointers and SQLite's argument for them (null for its default
// cache), written once before SQLite starts and only read after.
unsafe impl Send for Inner {}
unsafe impl Sync for Inner {}

static INNER: OnceLock<Inner> = OnceLock::new();

fn inner() -> &'static ffi::sqlite3_pcache_methods2 {
    &INNER.get().expect("installed before use").0
}

/// One cache: SQLite's, and what the wrapper knows of it. Only its own connection calls it, one
/// call at a time (sqlx runs each connection on a thread of its own; no shared cache here);
/// SQLite's memory release and other caches' evictions work inside SQLite's cache, never
/// through the wrapper.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// At least the largest page number held, the spare aside.
    max_key: c_uint,
    /// `balance_nonroot`'s spare page number for this page size.
    spare: c_uint,
    /// A page sits at the spare number (between the swaps).
    spare_held: bool,
}

unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: every `sqlite3_pcache` SQLite hands back came from `create`.
    unsafe { &mut *(p as *mut Cache) }
}

unsafe extern "C" fn init(_arg: *mut c_void) -> c_int {
    let i = inner();
    // SAFETY: SQLite's own method with its own argument.
    unsafe { i.xInit.map_or(ffi::SQLITE_OK, |f| f(i.pArg)) }
}

unsafe extern "C" fn shutdown(_arg: *mut c_void) {
    let i = inner();
    if let Some(f) = i.xShutdown {
        // SAFETY: as above.
        unsafe { f(i.pArg) }
    }
}

unsafe extern "C" fn create(sz_page: c_int, sz_extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    // SAFETY: SQLite's own method, with the arguments SQLite gave.
    let p = unsafe { inner().xCreate.expect("xCreate")(sz_page, sz_extra, purgeable) };
    if p.is_null() {
        return p;
    }
    let spare = if sz_page > 0 { PENDING_BYTE / sz_page as u32 + 1 } else { c_uint::MAX };
    Box::into_raw(Box::new(Cache { inner: p, max_key: 0, spare, spare_held: false })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    // SAFETY: the wrapped cache of a live wrapper.
    unsafe { inner().xCachesize.expect("xCachesize")(cache(p).inner, n) }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    // SAFETY: as above.
    unsafe { inner().xPagecount.expect("xPagecount")(cache(p).inner) }
}

unsafe extern "C" fn fetch(p: *mut ffi::sqlite3_pcache, key: c_uint, create_flag: c_int) -> *mut ffi::sqlite3_pcache_page {
    // SAFETY: as above.
    let c = unsafe { cache(p) };
    let page = unsafe { inner().xFetch.expect("xFetch")(c.inner, key, create_flag) };
    if !page.is_null() && key > c.max_key {
        c.max_key = key;
    }
    page
}

unsafe extern "C" fn unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
    // SAFETY: as above.
    unsafe { inner().xUnpin.expect("xUnpin")(cache(p).inner, page, discard) }
}

unsafe extern "C" fn rekey(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, old: c_uint, new: c_uint) {
    // SAFETY: as above.
    let c = unsafe { cache(p) };
    unsafe { inner().xRekey.expect("xRekey")(c.inner, page, old, new) };
    if new == c.spare {
        c.spare_held = true;
    } else {
        if old == c.spare {
            c.spare_held = false;
        }
        c.max_key = c.max_key.max(new);
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    // SAFETY: as above.
    let c = unsafe { cache(p) };
    if !c.spare_held && limit > c.max_key {
        // No page at `limit` or above: nothing to drop.
        return;
    }
    #[cfg(test)]
    tests::PASSED_ON.with(|n| n.set(n.get() + 1));
    unsafe { inner().xTruncate.expect("xTruncate")(c.inner, limit) };
    if limit <= c.spare {
        c.spare_held = false;
    }
    c.max_key = c.max_key.min(limit.saturating_sub(1));
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: made by `create`, destroyed once.
    let c = unsafe { Box::from_raw(p as *mut Cache) };
    unsafe { inner().xDestroy.expect("xDestroy")(c.inner) }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: as for `cachesize`.
    unsafe { inner().xShrink.expect("xShrink")(cache(p).inner) }
}

/// Wrap SQLite's page cache, once per process, before any connection opens. True when the
/// wrapper is in place (false: SQLite had already started, and keeps its cache as it is).
pub(crate) fn install() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: as below; an integer argument. A refusal leaves the statistics on.
        let stats_off = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
        if stats_off != ffi::SQLITE_OK {
            tracing::debug!(code = stats_off, "SQLite's memory statistics stay on: SQLite had started");
        }
        let mut own: ffi::sqlite3_pcache_methods2 = unsafe { std::mem::zeroed() };
        // SAFETY: `sqlite3_config` before SQLite starts (it refuses, SQLITE_MISUSE, after);
        // nothing else in this process configures SQLite.
        let got = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, &mut own as *mut ffi::sqlite3_pcache_methods2) };
        if got != ffi::SQLITE_OK || own.xCreate.is_none() || INNER.set(Inner(own)).is_err() {
            return false;
        }
        let wrapped = ffi::sqlite3_pcache_methods2 {
            iVersion: own.iVersion,
            pArg: std::ptr::null_mut(),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            xCreate: Some(create),
            xCachesize: Some(cachesize),
            xPagecount: Some(pagecount),
            xFetch: Some(fetch),
            xUnpin: Some(unpin),
            xRekey: Some(rekey),
            xTruncate: Some(truncate),
            xDestroy: Some(destroy),
            xShrink: Some(shrink),
        };
        // SQLite copies the table.
        let set = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &wrapped as *const ffi::sqlite3_pcache_methods2) };
        if set != ffi::SQLITE_OK {
            tracing::debug!(code = set, "SQLite's page cache is not wrapped: SQLite had started");
        }
        set == ffi::SQLITE_OK
    })
}

#[cfg(test)]
mod tests {
    use super::ffi;
    use sqlx::{Connection, Row};

    thread_local! {
        /// Truncations passed to SQLite's cache on this thread.
        pub(super) static PASSED_ON: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The wrapper's decisions, on one cache driven as SQLite's pager and `balance_nonroot`
    /// drive it: a truncation with nothing at or above it is skipped (the spare's swap
    /// included); any other reaches SQLite's cache and drops what it must.
    #[test]
    fn a_truncation_is_skipped_only_when_nothing_is_at_or_above_it() {
        assert!(super::install(), "SQLite's page cache is wrapped");
        let passed = || PASSED_ON.with(|n| n.get());
        // SAFETY: SQLite started (its cache set up), then one cache made, used and destroyed
        // through the wrapper on this thread, pages unpinned before the next call.
        unsafe {
            assert_eq!(ffi::sqlite3_initialize(), ffi::SQLITE_OK);
            let p = super::create(4096, 64, 1);
            assert!(!p.is_null());
            super::cachesize(p, 100);
            let page = |k: u32| {
                let pg = super::fetch(p, k, 2);
                assert!(!pg.is_null(), "page {k}");
                pg
            };
            for k in 1..=12 {
                super::unpin(p, page(k), 0);
            }
            // A rollback's truncation at the file's old end: 11 and 12 go.
            super::truncate(p, 11);
            assert_eq!(super::pagecount(p), 10);
            assert!(super::fetch(p, 12, 0).is_null());
            // A split's renumbering: 9 → spare, 4 → 9, spare → 4 (swapping 4 and 9).
            let spare = 0x4000_0000 / 4096 + 1;
            let (a, b) = (page(9), page(4));
            super::rekey(p, a, 9, spare);
            // Mid-swap a page is at the spare: a truncation there must reach it.
            let before = passed();
            super::truncate(p, spare + 1);
            assert_eq!(passed(), before + 1, "a page at the spare is not skipped over");
            super::rekey(p, b, 4, 9);
            super::rekey(p, a, spare, 4);
            super::unpin(p, a, 0);
            super::unpin(p, b, 0);
            assert_eq!(super::pagecount(p), 10);
            // The commit's truncation above the file's end (11): nothing there, skipped.
            let before = passed();
            super::truncate(p, 11);
            assert_eq!(passed(), before, "skipped");
            assert_eq!(super::pagecount(p), 10);
            // A page renumbered past the others is still dropped by a truncation below it.
            let pg = page(3);
            super::rekey(p, pg, 3, 20);
            super::unpin(p, pg, 0);
            super::truncate(p, 15);
            assert_eq!(super::pagecount(p), 9, "page 20 dropped");
            assert!(super::fetch(p, 20, 0).is_null());
            // And pages fetched are dropped by a truncation below them: 8, 9 and 10 go.
            super::truncate(p, 8);
            assert_eq!(super::pagecount(p), 6);
            // A clear (SQLite's truncation to nothing) empties it.
            super::truncate(p, 1);
            assert_eq!(super::pagecount(p), 0);
            super::destroy(p);
        }
    }

    async fn pages(c: &mut sqlx::SqliteConnection) -> i64 {
        sqlx::query("PRAGMA page_count").fetch_one(c).await.expect("count").get::<i64, _>(0)
    }

    async fn sum(c: &mut sqlx::SqliteConnection) -> i64 {
        sqlx::query_scalar("SELECT SUM(length(k)) FROM t").fetch_one(c).await.expect("reads")
    }

    async fn exec(c: &mut sqlx::SqliteConnection, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut *c).await.expect(sql);
    }

    /// Through SQLite itself: page splits in a file under 1 GiB (whose commits' truncations the
    /// wrapper skips), a transaction that grows the file and is rolled back, growth again over
    /// those page numbers, and another connection rewriting rows this one has read (this one's
    /// next read clears its cache, a truncation to nothing, and must see the new rows): every row
    /// reads back from both connections and the file is whole. And SQLite counts no memory.
    #[tokio::test]
    async fn the_wrapped_cache_still_drops_stale_pages_and_memory_is_not_counted() {
        assert!(super::install(), "SQLite's page cache is wrapped");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.expect("opens");
        exec(&mut c, "PRAGMA journal_mode = WAL; PRAGMA cache_size = -16384; CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL); CREATE INDEX t_k ON t (k)").await;
        // Keys in no order: the index splits its pages all over.
        let fill = |from: i64, n: i64| {
            format!(
                "WITH RECURSIVE s(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM s WHERE i < {}) \
                 INSERT INTO t (id, k) SELECT i, hex(randomblob(24)) || i FROM s",
                from + n - 1
            )
        };
        for b in 0..4 {
            exec(&mut c, &format!("BEGIN; {}; COMMIT", fill(b * 5_000 + 1, 5_000))).await;
        }
        let before = pages(&mut c).await;
        exec(&mut c, &format!("BEGIN; {}", fill(20_001, 20_000))).await;
        assert!(pages(&mut c).await > before, "the rolled-back transaction grew the file");
        exec(&mut c, "ROLLBACK").await;
        assert_eq!(pages(&mut c).await, before);
        exec(&mut c, &format!("BEGIN; {}; COMMIT", fill(40_001, 20_000))).await;
        // Another connection rewrites rows this one has read: this one's next read sees the
        // log moved and clears its cache (a truncation to nothing), then reads the new rows.
        let mut other = sqlx::SqliteConnection::connect(&url).await.expect("opens");
        let was = sum(&mut c).await;
        exec(&mut other, "UPDATE t SET k = k || 'x' WHERE id % 2 = 0").await;
        assert_eq!(sum(&mut c).await, was + 20_000, "this connection reads the other's rows");
        for conn in [&mut c, &mut other] {
            let (n, ids): (i64, i64) = sqlx::query_as("SELECT COUNT(*), SUM(id) FROM t INDEXED BY t_k WHERE k > ''").fetch_one(&mut *conn).await.expect("reads");
            assert_eq!(n, 40_000);
            assert_eq!(ids, (1..=20_000).sum::<i64>() + (40_001..=60_000).sum::<i64>());
            let ok: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut *conn).await.expect("checks");
            assert_eq!(ok, "ok");
        }
        // SAFETY: a read of SQLite's counter.
        assert_eq!(unsafe { libsqlite3_sys::sqlite3_memory_used() }, 0, "SQLite's memory statistics are off");
    }
}
