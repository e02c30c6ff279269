//! `sangathan import members` / `export members` against real SQLite and PostgreSQL databases.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use support::{BIN, MINI, ok, run};

fn summary(db: &str, file: &str, extra: &[&str]) -> Value {
    let mut a = vec!["import", "members", file, "--json"];
    a.extend_from_slice(extra);
    let out = ok(db, &a);
    let v: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("rows"),
        n("blank") + n("created_memberships") + n("duplicates") + n("rejected"),
        "{v}"
    );
    v
}

async fn fresh(backend: &str) -> Option<(sangathan_store::testing::TestDb, String)> {
    let db = match backend {
        "sqlite" => sangathan_store::testing::TestDb::sqlite(),
        _ => sangathan_store::testing::TestDb::postgres().await?,
    };
    let url = db.url.clone();
    ok(&url, &["init", "--preset", MINI]);
    Some((db, url))
}

/// A sheet as offices type them: Hindi and English headers, BOM, CRLF, quoted commas and
/// newlines, every kind of bad row.
fn messy_sheet() -> String {
    let mut s =
        String::from("\u{feff}नाम,Mobile No, EPIC ,ac_no,बूथ संख्या,Gender,age,पता,Remarks\r\n");
    let rows = [
        "Ram Prakash,+91 98390 12345,abc 1234567,1,3,पुरुष,40,\"Ward 4, Lane 2\",ok", // new
        "Sita Devi,09839012345,,1,3,F,,\"Line one\nline two\",household", // household, new
        "ram  PRAKASH,9839012345,,1,3,m,,,same person: duplicate",        // duplicate
        ",,,,,,,,",                                                       // blank
        "   ,  , ,,,,,,",                                                 // blank (whitespace)
        ",9000000001,,1,,,,,no name",                                     // rejected: name
        "No Ids,,,1,,,,,no identifiers",                                  // rejected: neither
        "Bad Mobile,12345,,1,,,,,bad mobile",                             // rejected
        "Bad Epic,9000000002,AB123,1,,,,,bad epic",                       // rejected
        "No AC,9000000003,,,,,,,missing ac",                              // rejected
        "Wrong AC,9000000004,,99,,,,,not a constituency",                 // rejected by the store
        "Wrong Booth,9000000005,,1,999,,,,not a booth",                   // rejected by the store
        "Bad Gender,9000000006,,1,,X,,,bad gender",                       // rejected
        "'=Formula,9000000007,,2,,,,,quote dropped",                      // new (name =Formula)
        "Conflict,9839012345,XYZ7654321,1,3,,,,epic of nobody but mobile+name of nobody", // new household member
        "Ram Prakash,9999999999,ABC1234567,1,,,,,conflict: EPIC with another mobile", // rejected by identity
        "AC Level,9000000008,,4,,अन्य,,,no booth", // new at AC level
    ];
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

macro_rules! on_both {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some((_db, url)) = super::fresh("sqlite").await { super::$name(&url).await } } )* }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some((_db, url)) = super::fresh("postgres").await { super::$name(&url).await } } )* }
    };
}

on_both!(import_contract, export_round_trip_is_a_no_op);

async fn import_contract(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("members.csv");
    std::fs::write(&f, messy_sheet()).unwrap();
    let errors = dir.path().join("errors.csv");
    let f = f.to_str().unwrap();
    // A dry run counts exactly what the real run will do, and writes nothing.
    let dry = summary(url, f, &["--dry-run"]);
    let v = summary(url, f, &["--errors", errors.to_str().unwrap()]);
    assert_eq!(dry, v);
    assert_eq!(v["rows"], 17);
    assert_eq!(v["blank"], 2);
    assert_eq!(v["created_memberships"], 5, "{v}");
    assert_eq!(v["created_people"], 5);
    assert_eq!(v["duplicates"], 1);
    assert_eq!(v["rejected"], 9);
    let report = std::fs::read_to_string(&errors).unwrap();
    let mut rdr = csv::Reader::from_reader(report.trim_start_matches('\u{feff}').as_bytes());
    let recs: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    let has = |line: &str, col: &str| {
        recs.iter()
            .any(|r| &r[0] == line && &r[1] == col && !r[3].is_empty() && !r[4].is_empty())
    };
    // Row numbers as a spreadsheet shows them: header = 1; the quoted newline stays inside row 3.
    assert!(has("7", "name"), "{report}");
    assert!(has("8", "mobile"), "{report}");
    assert!(has("9", "mobile"), "{report}");
    assert!(has("10", "epic"), "{report}");
    assert!(has("11", "ac_no"), "{report}");
    assert!(has("12", "ac_no"), "{report}");
    assert!(has("13", "booth_no"), "{report}");
    assert!(has("14", "gender"), "{report}");
    assert!(recs.iter().any(|r| &r[0] == "17"), "{report}");
    // The same file again creates nothing: every accepted row is now a duplicate.
    let again = summary(url, f, &[]);
    assert_eq!(again["created_memberships"], 0);
    assert_eq!(again["created_people"], 0);
    assert_eq!(again["duplicates"], 6);
    assert_eq!(again["rejected"], 9);
    assert!(ok(url, &["verify"]).starts_with("ok"));
    // No header, unreadable, unknown format: non-zero.
    std::fs::write(dir.path().join("empty.csv"), "").unwrap();
    assert!(
        !run(
            url,
            &[
                "import",
                "members",
                dir.path().join("empty.csv").to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    assert!(
        !run(url, &["import", "members", "/nonexistent.csv"])
            .status
            .success()
    );
    std::fs::write(dir.path().join("x.pdf"), "x").unwrap();
    assert!(
        !run(
            url,
            &[
                "import",
                "members",
                dir.path().join("x.pdf").to_str().unwrap()
            ]
        )
        .status
        .success()
    );
}

async fn export_round_trip_is_a_no_op(url: &str) {
    ok(
        url,
        &["demo", "--members", "400", "--seed", "3", "--preset", MINI],
    );
    let dir = tempfile::tempdir().unwrap();
    for format in ["csv", "xlsx"] {
        let out = dir.path().join(format!("all.{format}"));
        ok(
            url,
            &[
                "export",
                "members",
                "--unit",
                "TS",
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let v = summary(url, out.to_str().unwrap(), &[]);
        assert_eq!(v["created_memberships"], 0, "{format}: {v}");
        assert_eq!(v["created_people"], 0, "{format}: {v}");
        assert_eq!(v["rejected"], 0, "{format}: {v}");
        assert!(v["duplicates"].as_u64().unwrap() >= 390, "{format}: {v}");
    }
    assert!(ok(url, &["verify"]).starts_with("ok"));
}

/// kill -9 at random moments, then run the same command again: the result equals one
/// uninterrupted run, row for row, and the counters are exact.
#[test]
fn killed_import_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.csv");
    let mut s = String::from("name,mobile,epic,ac_no,booth_no,wing\n");
    for i in 0..20000u32 {
        let wing = if i % 10 == 0 { "employees" } else { "" };
        // Every 7th row repeats an earlier person (a duplicate); every 50th is invalid.
        let k = if i % 7 == 3 { i - 3 } else { i };
        let mobile = if i % 50 == 49 {
            "123".to_string()
        } else {
            format!("9{:09}", 100_000 + k)
        };
        s.push_str(&format!(
            "Person {k},{mobile},,{},{},{wing}\n",
            1 + k % 4,
            1 + k % 20
        ));
    }
    std::fs::write(&f, s).unwrap();
    let f = f.to_str().unwrap();
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = format!("sqlite://{}", reference_dir.path().join("ref.db").display());
    ok(&reference, &["init", "--preset", MINI]);
    let t0 = std::time::Instant::now();
    let expected = summary(&reference, f, &[]);
    let full_ms = t0.elapsed().as_millis() as u64;

    let victim_dir = tempfile::tempdir().unwrap();
    let victim = format!("sqlite://{}", victim_dir.path().join("v.db").display());
    ok(&victim, &["init", "--preset", MINI]);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut interrupted = 0;
    for _ in 0..4 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut child = Command::new(BIN)
            .args(["--db", &victim, "import", "members", f, "--json"])
            .env("SANGATHAN_IMPORT_BATCH", "250")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Somewhere in the first fifth of a whole run: start-up, mid-batch, mid-commit.
        std::thread::sleep(std::time::Duration::from_millis(seed % (full_ms / 5 + 1)));
        let _ = child.kill(); // SIGKILL
        if !child.wait().unwrap().success() {
            interrupted += 1;
        }
    }
    assert!(
        interrupted >= 3,
        "the kills should interrupt the import ({interrupted} of 4 did)"
    );
    let o = Command::new(BIN)
        .args(["--db", &victim, "import", "members", f, "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let resumed: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    // The resumed run reports the whole file, as one uninterrupted run does.
    assert_eq!(resumed, expected);
    assert!(ok(&victim, &["verify"]).starts_with("ok"));
    let dump = |url: &str| {
        let out = dir
            .path()
            .join(format!("{}.csv", url.len() + url.find("v.db").unwrap_or(0)));
        ok(
            url,
            &[
                "export",
                "members",
                "--unit",
                "TS",
                "--format",
                "csv",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let text = std::fs::read_to_string(&out).unwrap();
        // Compare everything but the enrolment time.
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                l.rsplit_once(',')
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default()
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(dump(&reference), dump(&victim));
}
