//! The volunteer force from the command line on a real database file: volunteers imported from a
//! sheet, a programme with a duty filled, check-in by code twice (one check-in), the summary,
//! activation that adds up, follow-ups, and a bulletin with a hidden comment.

mod support;

use serde_json::Value;
use support::{MINI, ok, run};

#[test]
fn a_programme_from_sheet_to_summary() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    ok(&db, &["init", "--preset", MINI]);
    let sheet = dir.path().join("volunteers.csv");
    std::fs::write(
        &sheet,
        "name,mobile,ac_no,booth_no\nRam Sevak,9811000001,1,1\nShyam Sevak,9811000002,1,2\nGeeta Sevika,9811000003,1,3\nFar Sevak,9811000004,4,1\n",
    )
    .unwrap();
    ok(
        &db,
        &[
            "import",
            "members",
            sheet.to_str().unwrap(),
            "--wing",
            "volunteers",
        ],
    );
    let now = chrono::Utc::now();
    let (start, end) = (
        (now - chrono::Duration::hours(1)).to_rfc3339(),
        (now + chrono::Duration::hours(3)).to_rfc3339(),
    );
    let p: Value = serde_json::from_str(&ok(
        &db,
        &[
            "programmes",
            "add",
            "--wing",
            "volunteers",
            "--unit",
            "TS-DT-HILL",
            "--venue",
            "TS-AC-1",
            "--title",
            "Jan Sabha",
            "--kind",
            "jan-sabha",
            "--start",
            &start,
            "--end",
            &end,
            "--json",
        ],
    ))
    .unwrap();
    let pid = p["id"].to_string();
    let d: Value = serde_json::from_str(&ok(
        &db,
        &[
            "programmes",
            "duty",
            &pid,
            "--kind",
            "gate",
            "--headcount",
            "2",
            "--json",
        ],
    ))
    .unwrap();
    let did = d["id"].to_string();
    let filled: Value =
        serde_json::from_str(&ok(&db, &["programmes", "fill", &did, "--json"])).unwrap();
    assert_eq!(
        (filled["filled"].as_i64(), filled["gap"].as_i64()),
        (Some(2), Some(0)),
        "{filled}"
    );
    let first = filled["people"][0]["person_id"].to_string();
    // A bad duty names its field; a full duty refuses one more.
    let bad = run(
        &db,
        &[
            "programmes",
            "duty",
            &pid,
            "--kind",
            "gate duty",
            "--headcount",
            "1",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kind"));
    let code = ok(
        &db,
        &[
            "volunteers",
            "code",
            &first,
            "--svg",
            dir.path().join("qr.svg").to_str().unwrap(),
        ],
    )
    .trim()
    .to_string();
    assert!(
        std::fs::read_to_string(dir.path().join("qr.svg"))
            .unwrap()
            .contains("<svg")
    );
    let a: Value =
        serde_json::from_str(&ok(&db, &["programmes", "checkin", &pid, &code, "--json"])).unwrap();
    let b: Value = serde_json::from_str(&ok(
        &db,
        &[
            "programmes",
            "checkin",
            &pid,
            &code.to_lowercase(),
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(
        (a["already"].clone(), b["already"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );
    let sum: Value =
        serde_json::from_str(&ok(&db, &["programmes", "summary", &pid, "--json"])).unwrap();
    assert_eq!(
        (
            sum["checked_in"].as_i64(),
            sum["duties"][0]["no_shows"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "{sum}"
    );
    // Activation: children add up to the unit.
    let act: Value =
        serde_json::from_str(&ok(&db, &["volunteers", "activation", "TS", "--json"])).unwrap();
    assert_eq!(
        (
            act["unit"]["cadre"].as_i64(),
            act["unit"]["active"].as_i64()
        ),
        (Some(4), Some(1)),
        "{act}"
    );
    let sum_children: i64 = act["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cadre"].as_i64().unwrap())
        .sum();
    assert_eq!(sum_children, 4);
    let f: Value = serde_json::from_str(&ok(
        &db,
        &[
            "volunteers",
            "followups",
            "TS-AC-1",
            "--assign-to",
            &first,
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(f["followups"].as_array().unwrap().len(), 2, "{f}");
    // A bulletin and a hidden comment.
    let bl: Value = serde_json::from_str(&ok(
        &db,
        &[
            "bulletins",
            "post",
            "--unit",
            "TS-AC-1",
            "--title",
            "Rally",
            "--hi",
            "रविवार को रैली",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(bl["views"].as_i64(), Some(0));
    ok(&db, &["verify"]);
    // The check-in is on the volunteer's audit trail.
    let audit = ok(&db, &["audit", "member", &first, "--json"]);
    assert!(audit.contains("check-in"), "{audit}");
    ok(&db, &["audit", "verify"]);
}
