//! `sangathan drill` at tiny sizes: each drill runs, passes, and reports what it checked; and the
//! comparison the import drill relies on catches a database that differs.

mod support;

use serde_json::Value;
use std::process::{Command, Output};
use support::{BIN, MINI, ok};

fn drill(args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .arg("drill")
        .args(args)
        .args(["--preset", MINI, "--json", "--work"])
        .arg(dir.path())
        .env_remove("SANGATHAN_DB")
        // Small batches: the import's checkpoint moves several times in a tiny file.
        .env("SANGATHAN_IMPORT_BATCH", "500")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let v: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or_else(|e| {
            panic!(
                "drill {args:?} printed no JSON ({e}):\n{stdout}\n{}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
    (o, v)
}

fn passed(args: &[&str]) -> Value {
    let (o, v) = drill(args);
    assert!(
        o.status.success() && v["ok"] == true,
        "drill {args:?} failed: {v:#}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(v["problems"], serde_json::json!([]));
    v
}

fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("no number {k} in {v}"))
}

#[test]
fn kill_serve_keeps_every_acknowledged_enrolment_once() {
    let v = passed(&[
        "kill-serve",
        "--seconds",
        "8",
        "--kills",
        "2",
        "--rate",
        "40",
        "--clients",
        "8",
    ]);
    assert_eq!(v["drill"], "kill-serve");
    assert_eq!(n(&v, "kills"), 2);
    assert_eq!(v["kill_log"].as_array().unwrap().len(), 2);
    let acked = n(&v, "acknowledged");
    assert!(acked >= 100, "{v}");
    assert_eq!(n(&v, "confirmed_exactly_once"), acked);
    assert_eq!(
        n(&v, "memberships"),
        acked + n(&v, "committed_unacknowledged")
    );
    assert_eq!(n(&v, "unresolved"), 0);
    assert_eq!(n(&v, "failures"), 0);
    assert!(n(&v, "replays_checked") > 0);
    assert_eq!(v["verify_ok"], true);
    assert_eq!(v["audit_chain_ok"], true);
}

/// The same on PostgreSQL (an empty database of SANGATHAN_TEST_PG_URL's server; skipped
/// without one).
#[test]
fn kill_serve_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(sangathan_store::testing::TestDb::postgres()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args([
            "--db",
            &db.url,
            "drill",
            "kill-serve",
            "--seconds",
            "6",
            "--kills",
            "1",
        ])
        .args([
            "--rate",
            "30",
            "--clients",
            "8",
            "--preset",
            MINI,
            "--json",
            "--work",
        ])
        .arg(dir.path())
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    assert!(
        o.status.success() && v["ok"] == true,
        "{v:#}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(v["backend"], "postgres");
    assert_eq!(n(&v, "confirmed_exactly_once"), n(&v, "acknowledged"));
    drop(rt);
}

#[test]
fn killed_import_resumes_to_the_uninterrupted_result() {
    let v = passed(&["kill-import", "--rows", "12000", "--kills", "5"]);
    assert_eq!(v["mode"], "cumulative");
    assert_eq!(n(&v, "kills_landed"), 5);
    let reference = &v["reference"];
    assert_eq!(n(reference, "rows"), 12000);
    assert!(n(reference, "created_memberships") > 11000, "{v}");
    assert_eq!(
        n(&v["reference_snapshot"], "memberships"),
        n(reference, "created_memberships")
    );
    assert_eq!(n(&v, "results_compared"), 1);
}

#[test]
fn killed_fresh_imports_each_resume_to_the_same_result() {
    let v = passed(&[
        "kill-import",
        "--rows",
        "3000",
        "--kills",
        "2",
        "--mode",
        "fresh",
    ]);
    assert_eq!(v["mode"], "fresh");
    // Two runs at least; more when a fast machine finished runs before their kills.
    assert!(n(&v, "runs") >= 2, "{v}");
    assert_eq!(n(&v, "results_compared"), n(&v, "runs"));
    assert!(n(&v, "kills_landed") >= 1, "{v}");
}

#[test]
fn backup_under_load_restores_what_it_should() {
    let v = passed(&["backup", "--rate", "40", "--seconds", "6", "--clients", "8"]);
    assert!(n(&v, "acknowledged_before_backup") > 0);
    assert!(n(&v, "sent_after_backup") > 0);
    assert_eq!(n(&v, "missing_from_restore"), 0);
    assert_eq!(n(&v, "after_backup_in_restore"), 0);
    assert_eq!(n(&v, "restored_memberships"), n(&v, "backup_memberships"));
    assert!(n(&v, "restored_memberships") >= n(&v, "acknowledged_before_backup"));
    assert!(n(&v, "live_memberships") > n(&v, "restored_memberships"));
    assert_eq!(v["restore_ok"], true);
    assert_eq!(v["verify_ok"], true);
}

#[test]
fn soak_samples_memory_and_counts_errors() {
    let v = passed(&[
        "soak",
        "--minutes",
        "0.2",
        "--rate",
        "30",
        "--clients",
        "8",
        "--sample-secs",
        "1",
    ]);
    assert!(n(&v, "rss_samples") >= 10, "{v}");
    assert_eq!(v["memory_flat"], true);
    assert!(v["rss_q4_median_mib"].as_f64().unwrap() > 1.0);
    assert!(n(&v, "acknowledged") > 100 && n(&v, "reads_ok") > 20, "{v}");
    assert_eq!(n(&v, "transport_errors") + n(&v, "server_errors"), 0);
}

/// The comparison the import drill makes is not vacuous: a database that lost a membership, or
/// differs in one name, or one membership's status, fails it.
#[test]
fn compare_catches_a_tampered_database() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("m.csv");
    let mut s = String::from("name,mobile,epic,ac_no,booth_no\n");
    for i in 0..300u32 {
        s.push_str(&format!(
            "Person {i},9{:09},,{},{}\n",
            100_000 + i,
            1 + i % 4,
            1 + i % 20
        ));
    }
    std::fs::write(&csv, s).unwrap();
    let csv = csv.to_str().unwrap();
    let db = |name: &str| {
        let url = format!("sqlite://{}", dir.path().join(name).display());
        ok(&url, &["init", "--preset", MINI]);
        ok(&url, &["import", "members", csv]);
        url
    };
    let (a, b) = (db("a.db"), db("b.db"));
    let compare = |x: &str, y: &str| {
        let o = Command::new(BIN)
            .args(["drill", "compare", x, y, "--json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        (o.status.code(), v)
    };
    let (code, v) = compare(&a, &b);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["a"], v["b"]);
    assert_eq!(v["a"]["memberships"], 300);

    let tamper = |sql: &'static str| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let path = dir.path().join("b.db");
        rt.block_on(async {
            use sqlx::ConnectOptions;
            let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .foreign_keys(false)
                .connect()
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        });
    };
    // One name changed: same counts, another digest.
    tamper("UPDATE people SET name = 'Person X' WHERE id = (SELECT MIN(id) FROM people)");
    let (code, v) = compare(&a, &b);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["a"]["memberships"], v["b"]["memberships"]);
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("content differs"),
        "{v}"
    );
    tamper("UPDATE people SET name = 'Person 0' WHERE id = (SELECT MIN(id) FROM people)");
    assert_eq!(
        compare(&a, &b).0,
        Some(0),
        "the name restored, the same again"
    );
    // One membership's status.
    tamper(
        "UPDATE memberships SET status = 'verified' WHERE id = (SELECT MAX(id) FROM memberships)",
    );
    assert_eq!(compare(&a, &b).0, Some(1));
    tamper(
        "UPDATE memberships SET status = 'pending' WHERE id = (SELECT MAX(id) FROM memberships)",
    );
    assert_eq!(compare(&a, &b).0, Some(0));
    // One membership lost.
    tamper("DELETE FROM memberships WHERE id = (SELECT MAX(id) FROM memberships)");
    let (code, v) = compare(&a, &b);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["problems"].as_array().unwrap().iter().any(|p| p
            .as_str()
            .unwrap()
            .starts_with("memberships: 300 against 299")),
        "{v}"
    );
}

#[test]
fn drills_that_need_sqlite_refuse_postgres() {
    let o = Command::new(BIN)
        .args([
            "--db",
            "postgres://u:p@localhost/x",
            "drill",
            "kill-import",
            "--rows",
            "10",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("SQLite"));
}
