//! Real databases for tests: a fresh SQLite file, or a fresh PostgreSQL database on the server
//! named by `SANGATHAN_TEST_PG_URL`. With `SANGATHAN_REQUIRE_PG=1` a missing server fails the
//! test instead of skipping it, so CI cannot pass without the PostgreSQL half.

use crate::{DynStore, open};
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

/// Listings and exports of subtrees above `from` members walk ids `window` at a time (in this
/// process), so that a small test database takes the path an 18 M one does.
pub fn walk_ids(from: i64, window: i64) {
    crate::WALK_IDS_FROM.store(from, Ordering::Relaxed);
    crate::ID_WINDOW.store(window, Ordering::Relaxed);
}

pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (admin URL, database name) of a PostgreSQL test database, dropped with the TestDb so
    /// that test runs do not pile databases up on a shared server.
    pg: Option<(String, String)>,
}

/// Drop a test's PostgreSQL database, however it was left: FORCE ends the sessions still on
/// it, but PostgreSQL 15 refuses FORCE to a role that is not a superuser while an autovacuum
/// worker is in the database, and a plain DROP cancels autovacuum; so both, in a few rounds.
/// Best effort: a database still there afterwards is cleared by the next `scripts/pg-up`.
/// `name` is formatted in: only names a test made.
pub async fn drop_pg_database(c: &mut sqlx::PgConnection, name: &str) {
    for round in 0..3 {
        for force in [" WITH (FORCE)", ""] {
            let sql = format!("DROP DATABASE IF EXISTS {name}{force}");
            if sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *c).await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 << round)).await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg.take() else {
            return;
        };
        // Drop may run inside a runtime; a thread of its own with its own runtime avoids
        // blocking it. FORCE closes whatever pool the test left open.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    drop_pg_database(&mut c, &name).await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        TestDb {
            url,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// None when no PostgreSQL is configured and it is not required.
    pub async fn postgres() -> Option<TestDb> {
        let admin = match std::env::var("SANGATHAN_TEST_PG_URL") {
            Ok(u) if !u.is_empty() => u,
            _ => {
                if std::env::var("SANGATHAN_REQUIRE_PG").as_deref() == Ok("1") {
                    panic!(
                        "SANGATHAN_REQUIRE_PG=1 but SANGATHAN_TEST_PG_URL is not set: the PostgreSQL half must run"
                    );
                }
                eprintln!("skipping the PostgreSQL half: SANGATHAN_TEST_PG_URL is not set");
                return None;
            }
        };
        use sqlx::Connection;
        let name = format!(
            "sgt_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to SANGATHAN_TEST_PG_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .expect("create test database");
        let _ = c.close().await;
        let base = match admin.rfind('/') {
            Some(i) if !admin[..i].ends_with('/') => &admin[..i],
            _ => admin.as_str(),
        };
        Some(TestDb {
            url: format!("{base}/{name}"),
            _dir: None,
            pg: Some((admin.clone(), name)),
        })
    }

    pub async fn open(&self) -> DynStore {
        open(&self.url).await.expect("open test store")
    }
}
