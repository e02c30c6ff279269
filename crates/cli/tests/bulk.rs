//! `sangathan import members` / `export members` against real SQLite and PostgreSQL databases.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use support::{BIN, MINI, ok, run};

fn summary(db: &str, file: &str, extra: &[&str]) -> Value {
    let mut a = vec!["import", "members", file, "--json"];
    a.extend_from_slice(extra);
    let out = ok(db, &a);
    let line = out.lines().last().unwrap();
    // The keys in the order the contract writes them.
    let keys = ["rows", "blank", "created_people", "created_memberships", "duplicates", "rejected"];
    let at: Vec<usize> = keys.iter().map(|k| line.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k}: {line}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    let v: Value = serde_json::from_str(line).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("rows"),
        n("blank") + n("created_memberships") + n("duplicates") + n("rejected"),
        "{v}"
    );
    v
}

/// [`summary`] of a dry run in batches of `batch` rows (`SANGATHAN_IMPORT_BATCH`), which a small
/// sheet keeps whole in memory (no warning).
fn dry_in_batches(db: &str, file: &str, batch: usize, extra: &[&str]) -> Value {
    let (v, stderr) = dry_run_kept(db, file, batch, None, extra);
    assert!(!stderr.contains("may differ"), "a small dry run is exact: {stderr}");
    v
}

/// A dry run in batches of `batch` rows keeping at most `carry` people and memberships
/// (`SANGATHAN_DRY_RUN_CARRY`): its totals and its standard error.
fn dry_run_kept(db: &str, file: &str, batch: usize, carry: Option<usize>, extra: &[&str]) -> (Value, String) {
    let mut a = vec!["--db", db, "import", "members", file, "--json", "--dry-run"];
    a.extend_from_slice(extra);
    let mut cmd = Command::new(BIN);
    cmd.args(&a).env_remove("SANGATHAN_DB").env("SANGATHAN_IMPORT_BATCH", batch.to_string());
    if let Some(n) = carry {
        cmd.env("SANGATHAN_DRY_RUN_CARRY", n.to_string());
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{stderr}");
    (serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap(), stderr)
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

on_both!(
    import_contract,
    a_dry_run_in_batches_counts_what_the_import_does,
    export_round_trip_is_a_no_op,
    report_rows_are_the_spreadsheets
);

async fn import_contract(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("members.csv");
    std::fs::write(&f, messy_sheet()).unwrap();
    let errors = dir.path().join("errors.csv");
    let f = f.to_str().unwrap();
    // A dry run counts exactly what the real run will do, and writes nothing, in batches of any
    // size: a later batch sees what the earlier ones would have written (a duplicate of an
    // earlier row, an identifier it added, a household's mobile).
    let dry = summary(url, f, &["--dry-run"]);
    for batch in [1, 2, 3, 5] {
        assert_eq!(dry_in_batches(url, f, batch, &[]), dry, "batches of {batch}");
    }
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

/// A minimal XLSX (stored, uncompressed zip) whose first sheet holds `rows`: (spreadsheet row
/// number, cells as inline strings); rows not given are not in the file, as a spreadsheet
/// leaves empty rows out. `extra` is put as it is after them (empty or formatted-only rows).
fn xlsx(rows: &[(u32, &[&str])], extra: &str) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, cells) in rows {
        sheet.push_str(&format!(r#"<row r="{r}">"#));
        for (i, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                let col = (b'A' + i as u8) as char;
                sheet.push_str(&format!(
                    r#"<c r="{col}{r}" t="inlineStr"><is><t>{}</t></is></c>"#,
                    esc(v)
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str(extra);
    sheet.push_str("</sheetData></worksheet>");
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let pkg = "http://schemas.openxmlformats.org/package/2006/relationships";
    let parts: Vec<(&str, String)> = vec![
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_string(),
        ),
        (
            "_rels/.rels",
            format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#),
        ),
        (
            "xl/workbook.xml",
            format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{rel}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            format!(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#),
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let (mut out, mut central) = (Vec::new(), Vec::new());
    let n = parts.len() as u16;
    for (name, body) in &parts {
        let (name, body) = (name.as_bytes(), body.as_bytes());
        let (crc, len, at) = (crc32(body), body.len() as u32, out.len() as u32);
        // Version 2.0, no flags, stored, 1980-01-01 00:00.
        let common = |v: &mut Vec<u8>| {
            for x in [20u16, 0, 0, 0, 0x21] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            for x in [crc, len, len] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(body);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        for x in [0u16, 0, 0] {
            central.extend_from_slice(&x.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&at.to_le_bytes());
        central.extend_from_slice(name);
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for x in [0u16, 0, n, n] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A dry run counts each batch after what the earlier ones would have written, though it writes
/// nothing: a row matching a person an earlier batch made (by the EPIC a later row added), the
/// conflict with that EPIC, a second wing, a household filled by earlier batches, an EPIC an
/// earlier batch gave someone already in the database. In batches of one row each, as in one
/// batch, the counts are the real import's.
async fn a_dry_run_in_batches_counts_what_the_import_does(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Someone already in the database, without an EPIC.
    let before = dir.path().join("before.csv");
    std::fs::write(&before, "name,mobile,ac_no,booth_no\nKiran Yadav,9844444444,1,3\n").unwrap();
    assert_eq!(summary(url, before.to_str().unwrap(), &[])["created_people"], 1);
    let f = dir.path().join("later.csv");
    let mut sheet = String::from("name,mobile,epic,ac_no,booth_no,wing\n");
    sheet.push_str("Asha Verma,9811111111,,1,3,party\n"); // new person, new membership
    sheet.push_str("Asha Verma,9811111111,ASV1234567,1,3,party\n"); // adds her EPIC: duplicate
    sheet.push_str("Asha Verma,,ASV1234567,1,3,party\n"); // found by that EPIC: duplicate
    sheet.push_str("Asha Verma,9822222222,ASV1234567,1,3,party\n"); // her EPIC, another mobile: conflict
    sheet.push_str("Asha Verma,9811111111,,1,3,employees\n"); // a second wing: new membership
    sheet.push_str("asha  VERMA,9811111111,,1,3,Employees' Federation\n"); // duplicate
    for name in ["Ramesh", "Suresh", "Mahesh", "Dinesh", "Naresh", "Umesh"] {
        sheet.push_str(&format!("{name} Kumar,9833333333,,1,3,party\n")); // the sixth: one too many
    }
    sheet.push_str("Kiran Yadav,9844444444,KYD7654321,1,3,party\n"); // gives her an EPIC: duplicate
    sheet.push_str("Kiran Yadav,9844444444,KYD1111111,1,3,party\n"); // another EPIC: conflict
    std::fs::write(&f, sheet).unwrap();
    let f = f.to_str().unwrap();
    let whole = summary(url, f, &["--dry-run"]);
    for batch in [1, 2, 5] {
        assert_eq!(dry_in_batches(url, f, batch, &[]), whole, "batches of {batch}");
    }
    // Kept in memory up to a bound: three people and memberships here. Row 8's batch (Ramesh, a
    // new person and membership) is the first it cannot keep, which it says before going on;
    // the rows after it miss what the rows from there would have written (the household is not
    // full for Umesh, Kiran's second EPIC is no conflict): only Asha's conflict is rejected.
    let (bounded, stderr) = dry_run_kept(url, f, 1, Some(3), &[]);
    assert!(stderr.contains("reached that at row 8:"), "{stderr}");
    assert_eq!(stderr.matches("may differ").count(), 1, "{stderr}");
    assert_eq!(bounded["rejected"], 1, "{bounded}");
    // Reaching it with the last batch says nothing: no row follows.
    let (_, stderr) = dry_run_kept(url, f, 20, Some(3), &[]);
    assert!(!stderr.contains("may differ"), "{stderr}");
    let real = summary(url, f, &[]);
    assert_eq!(whole, real);
    for (k, n) in [("rows", 14), ("created_people", 6), ("created_memberships", 7), ("duplicates", 4), ("rejected", 3)] {
        assert_eq!(real[k], n, "{k}: {real}");
    }
    // The dry runs wrote nothing: the import made everyone, and the same sheet again is all
    // duplicates, in a dry run in batches too.
    let again = dry_in_batches(url, f, 1, &[]);
    assert_eq!((again["created_memberships"].as_u64(), again["duplicates"].as_u64(), again["rejected"].as_u64()), (Some(0), Some(11), Some(3)), "{again}");
    assert!(ok(url, &["verify"]).starts_with("ok"));
}

/// Imports `file` with `--dry-run --errors`, then for real with `--errors`: the same totals and
/// byte for byte the same report. Returns the totals and the report's (row, column) pairs.
fn dry_then_real(url: &str, file: &std::path::Path) -> (Value, Vec<(String, String)>) {
    let dir = file.parent().unwrap();
    let (dry_out, real_out) = (dir.join("dry-errors.csv"), dir.join("errors.csv"));
    let f = file.to_str().unwrap();
    let dry = summary(
        url,
        f,
        &["--dry-run", "--errors", dry_out.to_str().unwrap()],
    );
    let small = dir.join("dry-errors-small.csv");
    let in_twos = dry_in_batches(url, f, 2, &["--errors", small.to_str().unwrap()]);
    let v = summary(url, f, &["--errors", real_out.to_str().unwrap()]);
    assert_eq!(dry, v, "{f}");
    assert_eq!(in_twos, v, "{f}: in batches of 2");
    assert_eq!(std::fs::read(&small).unwrap(), std::fs::read(&real_out).unwrap(), "{f}: in batches of 2");
    let real = std::fs::read(&real_out).unwrap();
    let dry_report = std::fs::read(&dry_out)
        .unwrap_or_else(|e| panic!("a dry run with --errors writes the report: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&dry_report),
        String::from_utf8_lossy(&real),
        "{f}"
    );
    let text = String::from_utf8(real).unwrap();
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let recs = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            assert!(!r[3].is_empty() && !r[4].is_empty(), "{text}");
            (r[0].to_string(), r[1].to_string())
        })
        .collect();
    (v, recs)
}

/// Error report rows are the rows a spreadsheet shows, with empty rows between rows (counted
/// as blank) and quoted fields over several lines; a dry run writes the report the import does.
async fn report_rows_are_the_spreadsheets(url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    // CSV: row 2 spans three physical lines; rows 3, 5, 6 are empty lines and row 8 is
    // commas (all blank); the empty lines at the end are not rows.
    let csv = dir.path().join("gaps.csv");
    std::fs::write(
        &csv,
        "name,mobile,ac_no,address\r\n\
         Asha Rani,9000000101,1,\"Line one\r\nline two\nline three\"\r\n\
         \r\n\
         Bad Mobile,12345,1,\r\n\
         \r\n\
         \r\n\
         Far Away,9000000102,99,\r\n\
         ,,,\r\n\
         ,9000000103,1,\r\n\
         \r\n\r\n",
    )
    .unwrap();
    let (v, report) = dry_then_real(url, &csv);
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["blank"].as_u64(),
            v["rejected"].as_u64()
        ),
        (Some(8), Some(4), Some(3)),
        "{v}"
    );
    assert_eq!(v["created_memberships"], 1, "{v}");
    assert_eq!(
        report,
        pairs(&[("4", "mobile"), ("7", "ac_no"), ("9", "name")])
    );

    // XLSX: data in rows 2, 4, 5, 7; rows 3 and 6 empty (row 6 is in the file with no
    // cells); rows after the last one with only formatting are not rows.
    let x = dir.path().join("gaps.xlsx");
    std::fs::write(
        &x,
        xlsx(
            &[
                (1, &["name", "mobile", "ac_no"]),
                (2, &["Gita Devi", "9000000201", "1"]),
                (4, &["Bad Mobile", "12345", "1"]),
                (5, &["", "9000000202", "1"]),
                (6, &[]),
                (7, &["Far Away", "9000000203", "99"]),
            ],
            r#"<row r="9"><c r="A9" s="0"/></row><row r="12" ht="30" customHeight="1"/>"#,
        ),
    )
    .unwrap();
    let (v, report) = dry_then_real(url, &x);
    assert_eq!(
        (
            v["rows"].as_u64(),
            v["blank"].as_u64(),
            v["rejected"].as_u64()
        ),
        (Some(6), Some(2), Some(3)),
        "{v}"
    );
    assert_eq!(v["created_memberships"], 1, "{v}");
    assert_eq!(
        report,
        pairs(&[("4", "mobile"), ("5", "name"), ("7", "ac_no")])
    );

    // Every kind of rejection, the store's too (unknown units, identity conflicts).
    let messy = dir.path().join("messy.csv");
    std::fs::write(&messy, messy_sheet()).unwrap();
    let (v, report) = dry_then_real(url, &messy);
    assert_eq!(v["rejected"], 9, "{v}");
    assert!(report.len() >= 9);
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
    // One wing, named by its code or by its display name in either language: the same rows.
    let mut exported = Vec::new();
    for (i, wing) in ["employees", "Employees' Federation", "कर्मचारी संघ"].into_iter().enumerate() {
        let out = dir.path().join(format!("employees-{i}.csv"));
        ok(url, &["export", "members", "--unit", "TS", "--wing", wing, "--format", "csv", "--out", out.to_str().unwrap()]);
        exported.push(std::fs::read_to_string(&out).unwrap());
    }
    assert!(exported[0].lines().count() > 1, "{}", exported[0]);
    assert!(exported[0].lines().skip(1).all(|l| l.contains(",employees,")), "{}", exported[0]);
    assert_eq!(exported[1], exported[0]);
    assert_eq!(exported[2], exported[0]);
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
        // Now and then empty lines: blank rows, counted and numbered as a spreadsheet does.
        if i % 97 == 5 {
            s.push_str(&"\n".repeat(1 + (i as usize % 3)));
        }
    }
    std::fs::write(&f, s).unwrap();
    let f = f.to_str().unwrap();
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = format!("sqlite://{}", reference_dir.path().join("ref.db").display());
    ok(&reference, &["init", "--preset", MINI]);
    let t0 = std::time::Instant::now();
    let ref_errors = dir.path().join("ref-errors.csv");
    let expected = summary(&reference, f, &["--errors", ref_errors.to_str().unwrap()]);
    assert!(expected["blank"].as_u64().unwrap() > 300, "{expected}");
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
    let victim_errors = dir.path().join("victim-errors.csv");
    let o = Command::new(BIN)
        .args([
            "--db", &victim, "import", "members", f, "--json", "--errors",
        ])
        .arg(&victim_errors)
        .output()
        .unwrap();
    assert!(o.status.success());
    let resumed: Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    // The resumed run reports the whole file, as one uninterrupted run does, error report too.
    assert_eq!(resumed, expected);
    assert_eq!(
        std::fs::read_to_string(&victim_errors).unwrap(),
        std::fs::read_to_string(&ref_errors).unwrap()
    );
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
