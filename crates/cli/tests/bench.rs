//! `sangathan bench` at a tiny size: every step runs and the report has all five sections with numbers.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sangathan");

#[test]
fn bench_writes_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("B.md");
    let o = Command::new(BIN)
        .args(["bench", "--members", "5000", "--runs", "1", "--out"])
        .arg(&out)
        .arg("--work")
        .arg(dir.path())
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bench failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.starts_with("# Sangathan benchmarks"), "{md}");
    assert!(md.contains("## 5,000 members"), "{md}");
    for section in [
        "### 1. Import",
        "### 2. Roll-up",
        "### 3. Search",
        "### 4. Enrolment over HTTP",
        "### 5. Resources",
        "### 6. Fake-member detection",
    ] {
        assert!(md.contains(section), "missing {section}:\n{md}");
    }
    // Every measurement's row is there, with a number in it.
    for row in [
        "import.csv",
        "import.load_18m",
        "rollup.state",
        "rollup.division",
        "rollup.ac",
        "search.name_latin",
        "search.name_latin_ac",
        "search.name_devanagari",
        "search.mobile",
        "search.epic",
        "enrol.http64",
        "enrol.verify",
        "resources.rss",
        "resources.db_size",
        "detect.full",
        "detect.incremental",
    ] {
        let line = md
            .lines()
            .find(|l| l.starts_with(&format!("| `{row}` |")))
            .unwrap_or_else(|| panic!("no row {row}:\n{md}"));
        let cells: Vec<&str> = line.split('|').skip(3).collect();
        assert!(
            cells
                .iter()
                .any(|c| c.chars().any(|ch| ch.is_ascii_digit())),
            "row {row} has no number: {line}"
        );
    }
    assert!(md.contains("0 mismatches: counters exact"), "{md}");
    assert!(md.contains("<!-- notes -->") && md.contains("<!-- /notes -->"));
}

#[test]
fn bench_refuses_postgres() {
    let o = Command::new(BIN)
        .args([
            "--db",
            "postgres://u:p@localhost/x",
            "bench",
            "--members",
            "1000",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("PostgreSQL is not supported by bench"));
}

#[test]
fn bench_measures_an_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mini.db");
    let preset = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/mini-state"
    );
    let o = Command::new(BIN)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .args(["demo", "--members", "300", "--preset", preset])
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = dir.path().join("B.md");
    let o = Command::new(BIN)
        .args(["bench", "--runs", "1", "--load-seconds", "2.5"])
        .args(["--load-command", "sangathan demo --members 300"])
        .arg("--existing")
        .arg(&db)
        .arg("--out")
        .arg(&out)
        .arg("--work")
        .arg(dir.path().join("work"))
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bench --existing failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    // The section is named by the database's membership count: the demo's members (a few are
    // refused by the identity rules) and its volunteer force (a commander and four volunteers).
    let count: u64 = md
        .lines()
        .find_map(|l| l.strip_prefix("## ")?.strip_suffix(" members")?.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("no members section:\n{md}"));
    assert!((300..=305).contains(&count), "{count}");
    assert!(!dir.path().join("work/members-300.csv").exists());
    let row = |id: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("no row {id}:\n{md}"))
            .to_string()
    };
    let load = row("import.load_18m");
    assert!(load.contains("2.5 s") && load.contains("✅"), "{load}");
    assert!(load.contains("sangathan demo --members 300"), "{load}");
    assert!(
        row("import.csv").contains("not measured at this size"),
        "{md}"
    );
    for id in [
        "rollup.state",
        "rollup.division",
        "rollup.ac",
        "search.name_latin",
        "search.name_latin_ac",
        "search.name_devanagari",
        "search.mobile",
        "search.epic",
        "enrol.http64",
        "resources.rss",
        "resources.db_size",
        "detect.full",
        "detect.incremental",
    ] {
        row(id);
    }
    assert!(md.contains("0 mismatches: counters exact"), "{md}");
    // The HTTP step wrote its enrolments into the database itself.
    assert!(
        md.contains("the existing database itself, not a copy"),
        "{md}"
    );
}
