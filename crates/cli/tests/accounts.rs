//! Accounts, `--as`, the audit log and erasure from the command line, on real database files.

mod support;

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};
use support::{BIN, MINI, ok, run};

fn db() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        format!("sqlite://{}", dir.path().join("s.db").display()),
        dir,
    )
}

/// `user add` with the password on standard input.
fn add_user(
    db: &str,
    name: &str,
    mobile: &str,
    password: &str,
    posts: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--db",
        db,
        "user",
        "add",
        "--name",
        name,
        "--mobile",
        mobile,
        "--password-stdin",
    ];
    for p in posts {
        args.push("--post");
        args.push(p);
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .env_remove("SANGATHAN_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

fn sql(url: &str, statements: &[&str]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        for s in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(s.to_string()))
                .execute(&mut c)
                .await
                .unwrap();
        }
    });
}

#[test]
fn demo_appoints_office_bearers_with_logins_and_its_audit_chain_holds() {
    let (d, _dir) = db();
    let o = run(&d, &["demo", "--members", "300", "--preset", MINI]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    for role in [
        "state-admin",
        "division-incharge",
        "district-president",
        "ac-incharge",
        "sector-incharge",
        "booth-president",
        "federation-officer",
        "volunteer-commander",
        "volunteer",
    ] {
        assert!(
            err.contains(role),
            "{role} missing from the demo logins:\n{err}"
        );
    }
    assert!(err.contains("sangathan-demo"));
    let v = ok(&d, &["audit", "verify"]);
    assert!(v.starts_with("ok:"), "{v}");
    // One altered row (the append-only guard dropped first, as someone with the file could):
    // verify exits non-zero naming it.
    sql(
        &d,
        &[
            "DROP TRIGGER audit_events_no_update",
            "UPDATE audit_events SET action = 'nothing' WHERE id = 7",
        ],
    );
    let o = run(&d, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("event 7"), "{out}");
}

#[test]
fn users_posts_tokens_and_as() {
    let (d, _dir) = db();
    ok(
        &d,
        &["demo", "--members", "400", "--seed", "3", "--preset", MINI],
    );
    let o = add_user(
        &d,
        "Kamla Devi",
        "9898000001",
        "a good password",
        &[
            "ac-incharge@TS-AC-1",
            "federation-officer@TS-DT-HILL:employees",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Bad posts are refused, naming the problem, and write nothing.
    let bad = add_user(
        &d,
        "Someone",
        "9898000002",
        "a good password",
        &["booth-president@TS-AC-1"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("booth-president"));
    assert!(!run(&d, &["user", "posts", "9898000002"]).status.success());
    let bad = add_user(
        &d,
        "Someone",
        "9898000002",
        "a good password",
        &["chief@TS"],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));

    let posts: Value =
        serde_json::from_str(&ok(&d, &["user", "posts", "9898000001", "--json"])).unwrap();
    let got: Vec<(String, String, String)> = posts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["role"].as_str().unwrap().into(),
                p["unit"].as_str().unwrap().into(),
                p["wing"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("ac-incharge".into(), "TS-AC-1".into(), "party".into()),
            (
                "federation-officer".into(),
                "TS-DT-HILL".into(),
                "employees".into()
            )
        ]
    );
    let token = ok(&d, &["token", "issue", "--user", "9898000001"]);
    assert!(token.trim().starts_with("sgn_"));

    // --as narrows: their AC is searchable, an AC of another district does not exist for them.
    ok(
        &d,
        &["--as", "9898000001", "search", "TS-AC-1", "a", "--json"],
    );
    let o = run(&d, &["--as", "9898000001", "search", "TS-AC-3", "a"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown unit: TS-AC-3"));
    let o = run(&d, &["--as", "9898000001", "verify"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("state office"));
    // Export: only their wings' memberships, and the export is audited.
    let out = _dir.path().join("x.csv");
    ok(
        &d,
        &[
            "--as",
            "9898000001",
            "export",
            "members",
            "--unit",
            "TS-AC-1",
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().count() > 1);
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains(",party,") || l.contains(",employees,")),
        "{text}"
    );

    // Ending a post takes effect on the next command; the history keeps it.
    ok(
        &d,
        &[
            "user",
            "end-post",
            "9898000001",
            "--post",
            "federation-officer@TS-DT-HILL:employees",
        ],
    );
    assert!(
        !run(&d, &["--as", "9898000001", "search", "TS-AC-2", "a"])
            .status
            .success()
    );
    let posts: Value =
        serde_json::from_str(&ok(&d, &["user", "posts", "9898000001", "--json"])).unwrap();
    assert_eq!(posts.as_array().unwrap().len(), 2);
    assert_eq!(posts[1]["active"], false);
    assert!(
        !run(
            &d,
            &[
                "user",
                "end-post",
                "9898000001",
                "--post",
                "federation-officer@TS-DT-HILL:employees"
            ]
        )
        .status
        .success()
    );

    // Disabled: --as and the token stop at once.
    ok(&d, &["user", "disable", "9898000001"]);
    assert!(
        !run(&d, &["--as", "9898000001", "search", "TS-AC-1", "a"])
            .status
            .success()
    );

    // The audit log names who did what; `audit member` finds a member's events.
    let person =
        serde_json::from_str::<Value>(&ok(&d, &["search", "TS", "a", "--json", "--limit", "1"]))
            .unwrap()["members"][0]["person_id"]
            .as_i64()
            .unwrap();
    ok(&d, &["member", "data", &person.to_string()]);
    let events = ok(&d, &["audit", "member", &person.to_string(), "--json"]);
    assert!(events.contains("member-data"), "{events}");
    // Erasure keeps the counts exact.
    ok(&d, &["member", "erase", &person.to_string()]);
    assert!(
        !run(&d, &["member", "erase", &person.to_string()])
            .status
            .success(),
        "already erased"
    );
    ok(&d, &["verify"]);
    assert!(ok(&d, &["audit", "verify"]).starts_with("ok:"));
}

#[test]
fn old_audit_events_are_archived_not_dropped() {
    let (d, dir) = db();
    // A demo run two years ago: its events are past the one-year retention.
    let o = Command::new(BIN)
        .args(["--db", &d, "demo", "--members", "50", "--preset", MINI])
        .env_remove("SANGATHAN_DB")
        .env("SANGATHAN_NOW", "2024-06-01T10:00:00+05:30")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // And one event now.
    ok(&d, &["search", "TS", "a"]);
    let before = ok(&d, &["audit", "verify"]);
    let total: u64 = before.split_whitespace().nth(1).unwrap().parse().unwrap();
    let out = dir.path().join("audit-2024.jsonl");
    let o = run(
        &d,
        &[
            "audit",
            "archive",
            "--retain-days",
            "30",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        !o.status.success(),
        "less than a year's retention is refused"
    );
    let msg = ok(&d, &["audit", "archive", "--out", out.to_str().unwrap()]);
    let archived = std::fs::read_to_string(&out).unwrap().lines().count() as u64;
    assert!(
        archived > 0 && archived < total,
        "{msg}: {archived} of {total}"
    );
    assert!(msg.contains(&archived.to_string()), "{msg}");
    // The chain still verifies from the archive's last hash, with the rest held.
    let after = ok(&d, &["audit", "verify"]);
    assert!(after.starts_with("ok:"), "{after}");
    let held: u64 = after.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        held + archived,
        total + 1,
        "the archive run itself is one more event; {before} / {after}"
    );
}
