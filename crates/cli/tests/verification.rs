//! Verification and fake-member detection from the command line on a real database file: the
//! demo with injected fake patterns, `flags UNIT --json` in its contract shape, recall and false
//! positives as the demo reports them, resolving a flag as fake, `progress --json` with verified
//! beside achieved, and an honest demo that raises no flag.

mod support;

use serde_json::Value;
use support::{BIN, MINI, ok};

fn demo(db: &str, fake: &str) -> String {
    let o = std::process::Command::new(BIN)
        .args(["--db", db, "demo", "--preset", MINI, "--members", "2000", "--fake-share", fake])
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stderr).unwrap()
}

/// "… (recall R%), … (F%)" from the demo's detection line.
fn rates(stderr: &str) -> (f64, f64) {
    let line = stderr.lines().find(|l| l.starts_with("detection:")).unwrap_or_else(|| panic!("{stderr}"));
    let pct: Vec<f64> = line
        .split(['(', ')'])
        .filter_map(|p| p.trim_start_matches("recall ").strip_suffix('%')?.parse().ok())
        .collect();
    (pct[0], pct[1])
}

#[test]
fn detection_finds_injected_fakes_and_resolving_them_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("f.db").display());
    let (recall, false_positive) = rates(&demo(&db, "0.1"));
    assert!(recall >= 95.0, "recall {recall}");
    assert_eq!(false_positive, 0.0);
    let flags: Value = serde_json::from_str(&ok(&db, &["flags", "TS", "--json"])).unwrap();
    let list = flags["flags"].as_array().unwrap();
    assert!(!list.is_empty());
    for f in list {
        for k in ["id", "rule", "reason", "members"] {
            assert!(!f[k].is_null(), "{k} missing in {f}");
        }
    }
    let run = list.iter().find(|f| f["rule"] == "number_run").unwrap();
    let n = run["members"].as_array().unwrap().len() as i64;
    let before: Value = serde_json::from_str(&ok(&db, &["progress", "TS", "--json"])).unwrap();
    ok(&db, &["resolve-flag", &run["id"].to_string(), "fake", "--note", "numbers bought in a series"]);
    let after: Value = serde_json::from_str(&ok(&db, &["progress", "TS", "--json"])).unwrap();
    let counted = run["members"].as_array().unwrap().iter().filter(|m| m["status"] != "rejected").count() as i64;
    assert!(counted > 0 && counted <= n);
    assert_eq!(after["unit"]["achieved"].as_i64().unwrap(), before["unit"]["achieved"].as_i64().unwrap() - counted);
    // Verified beside achieved on the unit and on every child.
    assert!(after["unit"]["verified"].is_i64());
    assert!(after["children"].as_array().unwrap().iter().all(|c| c["verified"].is_i64()));
    ok(&db, &["verify"]);
    let open: Value = serde_json::from_str(&ok(&db, &["flags", "TS", "--json"])).unwrap();
    assert_eq!(open["flags"].as_array().unwrap().len(), list.len() - 1);
}

#[test]
fn an_honest_demo_raises_no_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("h.db").display());
    demo(&db, "0");
    let flags: Value = serde_json::from_str(&ok(&db, &["flags", "TS", "--json"])).unwrap();
    assert_eq!(flags["flags"].as_array().unwrap().len(), 0, "{flags}");
    let again = ok(&db, &["detect", "--json"]);
    assert!(again.contains("\"flags_raised\": 0"), "{again}");
}

/// A sheet marked as already verified arrives verified, only from the state office, each change
/// recorded under the importer; a missed call through the logging provider's stand-in verifies.
#[test]
fn verified_imports_are_the_state_offices_and_missed_calls_confirm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    ok(&db, &["init", "--preset", MINI]);
    ok(&db, &["user", "add", "--name", "AC Head", "--mobile", "9898000031", "--post", "ac-incharge@TS-AC-1"]);
    let sheet = dir.path().join("checked.csv");
    std::fs::write(&sheet, "name,mobile,ac_no,booth_no\nChecked One,9811100001,1,1\nChecked Two,9811100002,1,2\n").unwrap();
    let refused = support::run(&db, &["--as", "9898000031", "import", "members", sheet.to_str().unwrap(), "--verified"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("state office"), "{}", String::from_utf8_lossy(&refused.stderr));
    let out: Value = serde_json::from_str(&ok(&db, &["import", "members", sheet.to_str().unwrap(), "--verified", "--json"])).unwrap();
    assert_eq!(out["created_memberships"], 2);
    let p: Value = serde_json::from_str(&ok(&db, &["progress", "TS-AC-1", "--json"])).unwrap();
    assert_eq!((p["unit"]["achieved"].as_i64(), p["unit"]["verified"].as_i64()), (Some(2), Some(2)), "{p}");
    ok(&db, &["verify"]);
    let trail = ok(&db, &["audit", "verify"]);
    assert!(!trail.is_empty());

    // An ordinary import arrives pending; the member confirms by a missed call.
    let sheet2 = dir.path().join("new.csv");
    std::fs::write(&sheet2, "name,mobile,ac_no,booth_no\nNew Member,9811100003,1,1\n").unwrap();
    ok(&db, &["import", "members", sheet2.to_str().unwrap()]);
    let q: Value = serde_json::from_str(&ok(&db, &["verification", "queue", "TS-AC-1", "--json"])).unwrap();
    let id = q["members"][0]["membership_id"].as_i64().unwrap();
    ok(&db, &["verification", "missed-call", &id.to_string()]);
    let r: Value = serde_json::from_str(&ok(&db, &["verification", "inbound", "--from", "+91 98111 00003", "--json"])).unwrap();
    assert_eq!(r["verified"], 1, "{r}");
    let p: Value = serde_json::from_str(&ok(&db, &["progress", "TS-AC-1", "--json"])).unwrap();
    assert_eq!(p["unit"]["verified"].as_i64(), Some(3));
    // Not the state office's number: nothing to confirm, nothing changes.
    let none: Value = serde_json::from_str(&ok(&db, &["verification", "inbound", "--from", "9811100009", "--json"])).unwrap();
    assert_eq!(none["verified"], 0);
    ok(&db, &["verify"]);
}
