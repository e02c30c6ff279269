//! The `sangathan` binary against real database files: the exact command forms of the contract.

mod support;

use serde_json::Value;
use support::{MINI, ok, run};

struct Db {
    url: String,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    Db {
        url: format!("sqlite://{}", path.display()),
        path,
        _dir: dir,
    }
}

impl AsRef<str> for Db {
    fn as_ref(&self) -> &str {
        &self.url
    }
}

fn progress(db: &Db, unit: &str) -> Value {
    serde_json::from_str(&ok(db, &["progress", unit, "--json"])).unwrap()
}

fn sum(v: &Value, key: &str) -> i64 {
    v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[key].as_i64().unwrap())
        .sum()
}

/// Walk from `code` down the first child with members, checking sums at every level.
fn assert_sums_down(db: &Db, code: &str) -> usize {
    let p = progress(db, code);
    let kids = p["children"].as_array().unwrap();
    if kids.is_empty() {
        return 1;
    }
    assert_eq!(
        sum(&p, "target"),
        p["unit"]["target"].as_i64().unwrap(),
        "targets under {code}"
    );
    assert_eq!(
        sum(&p, "achieved"),
        p["unit"]["achieved"].as_i64().unwrap(),
        "achieved under {code}"
    );
    let next = kids
        .iter()
        .filter(|c| c["kind"] != "unassigned")
        .max_by_key(|c| c["achieved"].as_i64().unwrap())
        .unwrap();
    1 + assert_sums_down(db, next["code"].as_str().unwrap())
}

#[test]
fn init_up_progress_and_verify() {
    let d = db();
    let out = ok(&d, &["init", "--preset", "up"]);
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("sgn_") && token.len() > 40, "{out}");
    let p = progress(&d, "UP");
    let divs = p["children"].as_array().unwrap();
    assert_eq!(divs.len(), 18);
    assert_eq!(sum(&p, "target"), 18_135_000);
    assert_eq!(p["unit"]["target"], 18_135_000);
    assert_eq!(p["unit"]["code"], "UP");
    // Codes are matched in any case; the AC's children are sectors plus the unassigned row.
    let ac = progress(&d, "up-ac-173");
    assert_eq!(ac["unit"]["code"], "UP-AC-173");
    assert_eq!(
        ac["children"].as_array().unwrap().last().unwrap()["kind"],
        "unassigned"
    );
    assert!(ok(&d, &["verify"]).starts_with("ok"));
    // A second init is refused; the token command prints a bare token last.
    assert!(!run(&d, &["init", "--preset", "up"]).status.success());
    let t2 = ok(&d, &["token", "issue", "--admin"]);
    assert!(t2.trim().starts_with("sgn_") && t2.lines().count() == 1);
    let human = ok(&d, &["progress", "UP-DIV-AGRA"]);
    assert!(human.contains("UP-DT-AGRA"), "{human}");
}

#[test]
fn demo_rolls_up_at_every_level_and_verifies() {
    let d = db();
    let out = ok(
        &d,
        &["demo", "--members", "3000", "--seed", "5", "--preset", MINI],
    );
    assert!(out.lines().last().unwrap().starts_with("sgn_"));
    let p = progress(&d, "TS");
    let party = p["unit"]["achieved"].as_i64().unwrap();
    assert!(party > 2500 && party < 3000, "party members: {party}");
    assert_eq!(sum(&p, "achieved"), party);
    assert_eq!(sum(&p, "target"), 4000);
    // Enrolments fall inside the backdated campaign, so the last 7 days are non-trivial.
    assert!(p["unit"]["last_7_days"].as_i64().unwrap() > 0);
    // state → division → district → AC → sector → booth
    assert_eq!(assert_sums_down(&d, "TS"), 6);
    assert!(ok(&d, &["verify"]).starts_with("ok"));
    // The same seed gives the same members.
    let d2 = db();
    ok(
        &d2,
        &["demo", "--members", "3000", "--seed", "5", "--preset", MINI],
    );
    let a = ok(&d, &["progress", "TS-AC-2", "--json"]);
    let b = ok(&d2, &["progress", "TS-AC-2", "--json"]);
    let strip = |s: &str| {
        let mut v: Value = serde_json::from_str(s).unwrap();
        for r in v["children"].as_array_mut().unwrap() {
            r.as_object_mut()
                .unwrap()
                .retain(|k, _| k == "code" || k == "achieved" || k == "target");
        }
        v["children"].clone()
    };
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn verify_fails_naming_a_tampered_unit() {
    let d = db();
    ok(&d, &["demo", "--members", "500", "--preset", MINI]);
    assert!(run(&d, &["verify"]).status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&d.url).await.unwrap();
        sqlx::query(
            "UPDATE unit_counters SET achieved = achieved + 5 \
             WHERE unit_id = (SELECT id FROM units WHERE code = 'TS-AC-3') AND wing_id = 1",
        )
        .execute(&mut c)
        .await
        .unwrap();
    });
    let o = run(&d, &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("TS-AC-3"), "{out}");
    assert!(d.path.exists());
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let d = db();
    let o = run(
        &d,
        &[
            "init",
            "--preset",
            MINI,
            "--campaign-start",
            "2027-01-10",
            "--campaign-end",
            "2027-01-01",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("end") && err.contains("अभियान"), "{err}");
    // Nothing was written: a correct init still works.
    ok(
        &d,
        &[
            "init",
            "--preset",
            MINI,
            "--campaign-start",
            "2027-01-01",
            "--campaign-end",
            "2027-12-31",
        ],
    );
    let o = run(&d, &["progress", "TS-AC-99"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown unit"));
    let o = run(&d, &["init", "--preset", "nowhere"]);
    assert!(!o.status.success());
    let fresh = db();
    let o = run(&fresh, &["progress", "UP"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not initialised"));
}

#[test]
fn import_booths_replaces_the_synthetic_list() {
    let d = db();
    ok(&d, &["init", "--preset", MINI]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("booths.csv");
    let mut csv = String::from("\u{feff}ac_no,part_no,booth name,sector\r\n");
    for p in 1..=24 {
        csv.push_str(&format!(
            "3,{p},\"Govt. School, Room {p}\",{}\r\n",
            1 + (p - 1) / 12
        ));
    }
    std::fs::write(&f, csv).unwrap();
    let out = ok(&d, &["units", "import-booths", f.to_str().unwrap()]);
    assert!(out.contains("24"), "{out}");
    let ac = progress(&d, "TS-AC-3");
    assert_eq!(ac["children"].as_array().unwrap().len(), 3); // 2 sectors + unassigned
    assert_eq!(sum(&ac, "target"), 1000);
    let show = ok(&d, &["units", "show", "TS-AC-3-S02", "--json"]);
    let v: Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["children"].as_array().unwrap().len(), 12);
    assert_eq!(v["children"][0]["name"], "Govt. School, Room 13");
    assert!(ok(&d, &["verify"]).starts_with("ok"));
    std::fs::write(&f, "ac_no,part_no,booth name\n3,x,School\n").unwrap();
    let o = run(&d, &["units", "import-booths", f.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("row 2"));
}

#[test]
fn search_from_the_command_line() {
    let d = db();
    ok(
        &d,
        &["demo", "--members", "300", "--seed", "9", "--preset", MINI],
    );
    let first: Value =
        serde_json::from_str(&ok(&d, &["search", "TS", "a", "--json", "--limit", "1"])).unwrap();
    let hit = &first["members"][0];
    let name = hit["name"].as_str().unwrap().to_string();
    let found: Value = serde_json::from_str(&ok(&d, &["search", "TS", &name, "--json"])).unwrap();
    assert_eq!(found["members"][0]["name"], name.as_str(), "{found}");
    assert_eq!(found["members"][0]["rank"], 3);
    let human = ok(&d, &["search", "TS", &name]);
    assert!(human.contains(&name), "{human}");
    assert!(!run(&d, &["search", "TS-AC-77", "x"]).status.success());
}

#[test]
fn duplicates_merge_into_and_unmerge() {
    let d = db();
    ok(&d, &["init", "--preset", MINI]);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("people.csv");
    std::fs::write(
        &f,
        "name,mobile,epic,ac_no,booth_no,birth_year,wing\n\
         Ram Prakash,9839012345,RPK1234567,1,1,1980,party\n\
         राम प्रकाश,9839012345,,1,1,1980,employees\n\
         Gita Devi,9839012345,,1,1,1985,party\n",
    )
    .unwrap();
    ok(&d, &["import", "members", f.to_str().unwrap()]);
    let dup: Value = serde_json::from_str(&ok(&d, &["duplicates", "TS-AC-1", "--json"])).unwrap();
    let c = dup["candidates"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{dup}");
    assert_eq!(c[0]["a_name"], "Ram Prakash");
    assert_eq!(c[0]["b_name"], "राम प्रकाश");
    assert_eq!(c[0]["reason"], "same mobile, names match across scripts");
    let (a, b) = (c[0]["a"].to_string(), c[0]["b"].to_string());
    let human = ok(&d, &["duplicates", "ts-ac-1", "--limit", "5"]);
    assert!(
        human.contains("Ram Prakash") && human.contains("राम प्रकाश"),
        "{human}"
    );
    assert!(!run(&d, &["duplicates", "TS-AC-99"]).status.success());

    // The middle word must be INTO (any case); without it nothing is merged.
    let o = run(&d, &["merge", &a, "WITH", &b]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("INTO") && err.trim().lines().count() == 1,
        "{err}"
    );
    let o = run(&d, &["merge", &a, "INTO", &a]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("itself") && err.contains('|'), "{err}");

    let out = ok(&d, &["merge", &a, "INTO", &b]);
    assert!(
        out.starts_with(&format!("merge #1: person #{a} merged into #{b}")),
        "{out}"
    );
    assert!(
        out.contains("TS-1-0000001"),
        "the moved party membership: {out}"
    );
    assert!(
        out.contains("epic") && out.contains("sangathan unmerge 1"),
        "{out}"
    );
    assert!(ok(&d, &["verify"]).starts_with("ok"));
    let after: Value = serde_json::from_str(&ok(&d, &["duplicates", "TS", "--json"])).unwrap();
    assert_eq!(after["candidates"], serde_json::json!([]));
    // Already merged: refused, in English and Hindi.
    let o = run(&d, &["merge", &a, "into", &b]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already merged"));

    let undo = ok(&d, &["unmerge", "1", "--json"]);
    let u: Value = serde_json::from_str(&undo).unwrap();
    assert_eq!(u["undone"], true);
    assert_eq!(u["moved_identifiers"], serde_json::json!(["epic"]));
    assert!(ok(&d, &["verify"]).starts_with("ok"));
    let o = run(&d, &["unmerge", "1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already undone"));
    let o = run(&d, &["unmerge", "42"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no merge #42"));
    // The pair is a candidate again; merging the other way round works too.
    let again: Value = serde_json::from_str(&ok(&d, &["duplicates", "TS", "--json"])).unwrap();
    assert_eq!(again["candidates"], dup["candidates"]);
    let out = ok(&d, &["merge", &b, "into", &a]);
    assert!(out.starts_with("merge #2:"), "{out}");
    assert!(ok(&d, &["verify"]).starts_with("ok"));
}
