//! `sangathan bench` at a tiny size: every step runs and the report has all six sections with
//! numbers, on SQLite and (with SANGATHAN_TEST_PG_URL) on PostgreSQL.

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
    // The HTTP step names its load generator: wrk when installed (scripts/test installs it).
    let wrk = std::process::Command::new("wrk").arg("-v").output().is_ok();
    let named = if wrk { "The load generator is wrk" } else { "wrk was not installed" };
    assert!(md.contains(named), "{named}:\n{md}");
    let requests = md.lines().find(|l| l.starts_with("Requests: ")).expect("a Requests line");
    assert!(requests.contains(", 0 errors)") && requests.contains("health checks (0 errors)"), "{requests}");
}

/// The PostgreSQL server of SANGATHAN_TEST_PG_URL (see sangathan_store::testing): None skips
/// the test, unless SANGATHAN_REQUIRE_PG=1 makes its absence a failure.
fn pg_url() -> Option<String> {
    match std::env::var("SANGATHAN_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("SANGATHAN_REQUIRE_PG").as_deref() != Ok("1"),
                "SANGATHAN_REQUIRE_PG=1 but SANGATHAN_TEST_PG_URL is not set: the PostgreSQL half must run"
            );
            eprintln!("skipping: SANGATHAN_TEST_PG_URL is not set");
            None
        }
    }
}

/// Run SQL on the server (the test's own databases only).
fn pg_exec<T: Send + 'static>(
    url: &str,
    f: impl for<'c> FnOnce(
        &'c mut sqlx::PgConnection,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'c>>,
) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
            let r = f(&mut c).await;
            let _ = c.close().await;
            r
        })
}

/// The names of the databases on the server.
fn pg_databases(url: &str) -> Vec<String> {
    pg_exec(url, |c| {
        Box::pin(async move {
            sqlx::query_scalar("SELECT datname FROM pg_database")
                .fetch_all(c)
                .await
                .unwrap()
        })
    })
}

/// Every step's row is in the section, with a number in it.
fn assert_rows(md: &str, rows: &[&str]) {
    for row in rows {
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
}

const STEPS: [&str; 6] = [
    "### 1. Import",
    "### 2. Roll-up",
    "### 3. Search",
    "### 4. Enrolment over HTTP",
    "### 5. Resources",
    "### 6. Fake-member detection",
];

const ROWS: [&str; 16] = [
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
];

#[test]
fn bench_on_postgres_writes_every_section() {
    let Some(url) = pg_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("B.md");
    // An earlier SQLite section in the same file stays, notes and all.
    std::fs::write(
        &out,
        "# Sangathan benchmarks\n\n## 5,000 members\n\nSQLITE TABLES\n\n<!-- notes -->\nsqlite notes\n<!-- /notes -->\n",
    )
    .unwrap();
    let child = Command::new(BIN)
        .arg("--db")
        .arg(&url)
        .args(["bench", "--members", "5000", "--runs", "1", "--out"])
        .arg(&out)
        .arg("--work")
        .arg(dir.path().join("work"))
        .env_remove("SANGATHAN_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "bench on PostgreSQL failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.starts_with("# Sangathan benchmarks"), "{md}");
    assert!(md.contains("## 5,000 members — PostgreSQL"), "{md}");
    assert!(
        md.contains("SQLITE TABLES") && md.contains("sqlite notes"),
        "{md}"
    );
    assert!(
        md.find("## 5,000 members\n").unwrap() < md.find("## 5,000 members — PostgreSQL").unwrap()
    );
    let section = &md[md.find("## 5,000 members — PostgreSQL").unwrap()..];
    assert!(section.contains("PostgreSQL: server "), "{section}");
    for step in STEPS {
        assert!(section.contains(step), "missing {step}:\n{section}");
    }
    assert_rows(section, &ROWS);
    let import = section
        .lines()
        .find(|l| l.starts_with("| `import.csv` |"))
        .unwrap();
    assert!(
        import.contains("psql") && import.contains("≤ 1.5×"),
        "{import}"
    );
    assert!(section.contains("pg_database_size"), "{section}");
    assert!(
        section.contains("0 mismatches: counters exact"),
        "{section}"
    );
    assert!(section.contains("<!-- notes -->") && section.contains("<!-- /notes -->"));
    // No password in the report.
    if let Some(password) = url
        .split_once("://")
        .and_then(|(_, r)| r.rsplit_once('@'))
        .and_then(|(auth, _)| auth.split_once(':'))
        .map(|(_, p)| p)
        && !password.is_empty()
    {
        assert!(!md.contains(&format!(":{password}@")), "{md}");
    }
    // The bench dropped the databases it made.
    let left: Vec<String> = pg_databases(&url)
        .into_iter()
        .filter(|d| d.starts_with("bench_") && d.ends_with(&format!("_5000_{pid}")))
        .collect();
    assert!(
        left.is_empty(),
        "left behind: {left:?}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bench_measures_an_existing_postgres_database() {
    let Some(url) = pg_url() else { return };
    let name = format!("sgt_bench_existing_{}", std::process::id());
    let create = format!("CREATE DATABASE {name}");
    pg_exec(&url, move |c| {
        Box::pin(async move {
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(c)
                .await
                .unwrap();
        })
    });
    // Dropped however the test ends.
    struct DropDb(String, String);
    impl Drop for DropDb {
        fn drop(&mut self) {
            let name = self.1.clone();
            pg_exec(&self.0, move |c| {
                Box::pin(async move { sangathan_store::testing::drop_pg_database(c, &name).await })
            });
        }
    }
    let _guard = DropDb(url.clone(), name.clone());
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
    let db = format!("{base}/{name}");
    // UP's geography (its 403 ACs: the HTTP step's 64 clients enrol across them) and 300
    // members imported from a CSV (quicker than `demo`, which also plans meetings and verifies).
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("m.csv");
    let latin = [
        "Ram", "Sita", "Mohan", "Geeta", "Arun", "Kavita", "Suresh", "Anita", "Vijay", "Pooja",
        "Rakesh", "Neha", "Amit", "Sunita", "Ravi",
    ];
    let deva = [
        "राम",
        "सीता",
        "मोहन",
        "गीता",
        "अरुण",
        "कविता",
        "सुरेश",
        "अनीता",
        "विजय",
        "पूजा",
        "राकेश",
        "नेहा",
        "अमित",
        "सुनीता",
        "रवि",
    ];
    let lat_last = [
        "Sharma", "Verma", "Yadav", "Gupta", "Singh", "Mishra", "Pandey", "Tiwari", "Shukla",
        "Maurya",
    ];
    let deva_last = [
        "शर्मा",
        "वर्मा",
        "यादव",
        "गुप्ता",
        "सिंह",
        "मिश्रा",
        "पांडेय",
        "तिवारी",
        "शुक्ला",
        "मौर्य",
    ];
    let mut text = String::from("name,mobile,epic,ac_no,booth_no,gender,birth_year,wing\n");
    for i in 0..300usize {
        let (first, last) = if i % 2 == 0 {
            (latin[(i / 2) % 15], lat_last[(i / 30) % 10])
        } else {
            (deva[(i / 2) % 15], deva_last[(i / 30) % 10])
        };
        text += &format!(
            "{first} {last},98{:08},XYZ{:07},{},,{},{},party\n",
            10_000_000 + i,
            1_000_000 + i,
            1 + (i * 7) % 403,
            if i % 3 == 0 { "F" } else { "M" },
            1960 + i % 40
        );
    }
    std::fs::write(&csv, text).unwrap();
    for args in [
        vec!["init", "--preset", "up"],
        vec!["import", "members", csv.to_str().unwrap()],
    ] {
        let o = Command::new(BIN)
            .arg("--db")
            .arg(&db)
            .args(&args)
            .env_remove("SANGATHAN_DB")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let out = dir.path().join("B.md");
    let o = Command::new(BIN)
        .args(["bench", "--runs", "1", "--load-seconds", "2.5"])
        .args(["--load-command", "sangathan import members m.csv"])
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
        "bench --existing postgres://… failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    let count: u64 = md
        .lines()
        .find_map(|l| {
            l.strip_prefix("## ")?
                .strip_suffix(" members — PostgreSQL")?
                .replace(',', "")
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no PostgreSQL members section:\n{md}"));
    assert_eq!(count, 300, "{md}");
    for step in STEPS {
        assert!(md.contains(step), "missing {step}:\n{md}");
    }
    let row = |id: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("no row {id}:\n{md}"))
            .to_string()
    };
    let load = row("import.load_18m");
    assert!(load.contains("2.5 s") && load.contains("✅"), "{load}");
    assert!(
        row("import.csv").contains("not measured at this size"),
        "{md}"
    );
    assert_rows(&md, &ROWS[2..]);
    assert!(md.contains("0 mismatches: counters exact"), "{md}");
    assert!(
        md.contains("the existing database itself, not a copy"),
        "{md}"
    );
    assert!(md.contains(&format!("/{name}`")), "{md}");
}

#[test]
fn bench_on_an_unreachable_postgres_fails_early() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args([
            "--db",
            "postgres://u:p@127.0.0.1:1/x",
            "bench",
            "--members",
            "1000",
            "--out",
        ])
        .arg(dir.path().join("B.md"))
        .arg("--work")
        .arg(dir.path().join("work"))
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot connect to postgres://u:…@127.0.0.1:1/x"),
        "{err}"
    );
    assert!(!err.contains("u:p@"), "{err}");
    assert!(!dir.path().join("B.md").exists());
    assert!(!dir.path().join("work/members-1000.csv").exists());
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
        .find_map(|l| {
            l.strip_prefix("## ")?
                .strip_suffix(" members")?
                .replace(',', "")
                .parse()
                .ok()
        })
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
