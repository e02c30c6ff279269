//! Operations: `backup` while enrolments go on and `restore` into a new database, the
//! configuration file, JSON logs, `/metrics` and a clean stop of `serve` (requests and jobs).

mod support;

use sangathan_core::ids::{Mobile, PersonName};
use sangathan_store::testing::TestDb;
use sangathan_store::{DynStore, EnrolContext, Enrolment, clock};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::{BIN, MINI, ok, run};

/// A name of letters only, different for each `i`.
fn letters(mut i: u64) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (i % 26) as u8) as char);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    s
}

fn rows(booths: &[String], from: u64, n: u64) -> Vec<(Enrolment, EnrolContext)> {
    (from..from + n)
        .map(|i| {
            (
                Enrolment {
                    name: PersonName::parse(&format!("Ram {}", letters(i))).unwrap(),
                    mobile: Some(Mobile::parse(&format!("98{:08}", i)).unwrap()),
                    epic: None,
                    gender: None,
                    birth_year: None,
                    address: None,
                    unit: booths[(i as usize) % booths.len()].clone(),
                    wing: "party".into(),
                },
                EnrolContext {
                    actor: "operator".into(),
                    channel: "test".into(),
                    at: clock::now(),
                    scope: None,
                    consent: None,
                    audit: None,
                },
            )
        })
        .collect()
}

/// A file's permission bits.
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

async fn memberships(url: &str) -> i64 {
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;
    let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .unwrap()
        .read_only(true)
        .connect()
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memberships")
        .fetch_one(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_enrolling_then_restore() {
    let db = TestDb::sqlite();
    ok(&db.url, &["init", "--preset", MINI]);
    let store: DynStore = sangathan_store::open(&db.url).await.unwrap();
    let booths: Vec<String> = store
        .booth_codes()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|(_, b)| b)
        .collect();
    // Enough members that the copy takes a moment.
    for k in 0..10 {
        let r = store.enrol_batch(&rows(&booths, k * 2_000, 2_000)).await.unwrap();
        assert!(r.iter().all(|x| x.is_ok()));
    }
    // A writer enrols without a pause until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, booths, stop, written) =
            (store.clone(), booths.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            let mut i = 20_000;
            while !stop.load(Ordering::Relaxed) {
                let r = store.enrol_batch(&rows(&booths, i, 10)).await.unwrap();
                assert!(r.iter().all(|x| x.is_ok()));
                i += 10;
                written.fetch_add(10, Ordering::Relaxed);
            }
        })
    };
    while written.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = memberships(&db.url).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.db");
    let b = backup.to_str().unwrap().to_string();
    let url = db.url.clone();
    let w0 = written.load(Ordering::Relaxed);
    let out = tokio::task::spawn_blocking(move || ok(&url, &["backup", &b]))
        .await
        .unwrap();
    let during = written.load(Ordering::Relaxed) - w0;
    let after = memberships(&db.url).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(out.contains("memberships"), "{out}");
    assert!(during > 0, "the writer went on during the backup");
    assert!(after > before);
    assert!(!dir.path().join("backup.db.partial").exists());
    // A copy of the membership is this user's only, whatever the umask.
    assert_eq!(mode(&backup), 0o600, "the backup's mode");

    // The backup holds a moment between the two counts, and restores to a database that verifies.
    let in_backup = memberships(&format!("sqlite://{}", backup.display())).await;
    assert!(
        before <= in_backup && in_backup <= after,
        "{before} <= {in_backup} <= {after}"
    );
    let target = format!("sqlite://{}", dir.path().join("restored.db").display());
    let out = ok(&target, &["restore", backup.to_str().unwrap()]);
    assert!(out.contains("ok: every counter"), "{out}");
    assert_eq!(memberships(&target).await, in_backup);
    assert!(ok(&target, &["verify"]).starts_with("ok"));
    assert!(ok(&target, &["audit", "verify"]).contains("ok"));
    // Both commands are in the audit log (the backup in the live database, the restore in the new one).
    let actions = |url: &str| {
        let u = url.to_string();
        async move {
            use sqlx::{ConnectOptions, Connection};
            use std::str::FromStr;
            let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(&u)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let v: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events ORDER BY id")
                .fetch_all(&mut c)
                .await
                .unwrap();
            c.close().await.unwrap();
            v
        }
    };
    assert!(actions(&db.url).await.contains(&"backup".to_string()));
    assert!(actions(&target).await.contains(&"restore".to_string()));

    // Refusals: a database that holds something, without --force; a file that is not one of ours;
    // --as; an existing backup file.
    let o = run(&target, &["restore", backup.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    let out = ok(&target, &["restore", "--force", backup.to_str().unwrap()]);
    assert!(out.contains("ok: every counter"), "{out}");
    let restored = dir.path().join("restored.db");
    assert_eq!(mode(&restored), 0o600, "the restored database's mode");

    // A restore that fails leaves the database it would have replaced as it was: here the copy
    // cannot be written (its temporary name is taken by a directory)…
    let stuck = dir.path().join("restored.db.restoring");
    std::fs::create_dir(&stuck).unwrap();
    std::fs::write(stuck.join("x"), b"x").unwrap();
    let o = run(&target, &["restore", "--force", backup.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("restoring"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(memberships(&target).await, in_backup);
    assert!(ok(&target, &["verify"]).starts_with("ok"));
    std::fs::remove_dir_all(&stuck).unwrap();
    // …and here the copy is made and checked but cannot take the database's place (a directory
    // stands there, holding a file): the side files moved aside come back, nothing is left over.
    let blocked = dir.path().join("blocked.db");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("x"), b"x").unwrap();
    let wal = dir.path().join("blocked.db-wal");
    std::fs::write(&wal, b"the old database's log").unwrap();
    let blocked_url = format!("sqlite://{}", blocked.display());
    let o = run(&blocked_url, &["restore", "--force", backup.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("left as it was"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&wal).unwrap(), b"the old database's log");
    assert!(blocked.join("x").exists());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".restoring") || n.ends_with(".replaced"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    let fresh = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let o = run(&fresh, &["restore", junk.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a SQLite database"));
    assert!(!dir.path().join("fresh.db").exists(), "nothing written on a refusal");
    let other = dir.path().join("other.db");
    {
        use sqlx::{ConnectOptions, Connection};
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x)").execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    let o = run(&fresh, &["restore", other.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a Sangathan database"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&fresh, &["restore", backup.to_str().unwrap(), "--as", "9300000001"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("drop --as"));
    let o = run(&db.url, &["backup", backup.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    // --force replaces it (renamed over it once written), still this user's only.
    let out = ok(&db.url, &["backup", "--force", backup.to_str().unwrap()]);
    assert!(out.contains("memberships"), "{out}");
    assert_eq!(mode(&backup), 0o600);
    assert_eq!(
        memberships(&format!("sqlite://{}", backup.display())).await,
        memberships(&db.url).await,
        "the writer has stopped: the new backup holds everything"
    );
    let o = run("postgres://nobody@127.0.0.1:1/none", &["backup", "x.db"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("pg_dump"));
}

/// The database's monitoring figures, and PostgreSQL's refusal to back up through `sangathan`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_and_backup_on_both_backends() {
    for pg in [false, true] {
        let db = if pg {
            match TestDb::postgres().await {
                Some(d) => d,
                None => continue,
            }
        } else {
            TestDb::sqlite()
        };
        ok(&db.url, &["init", "--preset", MINI]);
        let store = db.open().await;
        let booths: Vec<String> = store
            .booth_codes()
            .await
            .unwrap()
            .into_iter()
            .flat_map(|(_, b)| b)
            .collect();
        store.enrol_batch(&rows(&booths, 0, 25)).await.unwrap();
        let f = store.figures(clock::now()).await.unwrap();
        let party = f.enrolled.iter().find(|w| w.0 == "party").map(|w| w.1);
        assert_eq!(party, Some(25), "pg: {pg}: {:?}", f.enrolled);
        assert!(f.enrolled.iter().all(|w| w.0 == "party" || w.1 == 0));
        assert_eq!((f.outbox_due, f.import_rows), (0, 0));
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("b.db");
        let r = store.backup(&dest).await;
        if pg {
            assert!(r.unwrap_err().to_string().contains("pg_dump"));
        } else {
            r.unwrap();
            assert_eq!(mode(&dest), 0o600, "a backup is this user's only");
            assert!(store.backup(&dest).await.is_err(), "never over a file");
            let info = sangathan_store::ops::inspect_sqlite_file(&dest).await.unwrap();
            assert_eq!((info.memberships, info.state.as_str()), (25, "TS"));
            assert_eq!(info.migration, info.latest_known);
        }
        // Reading ahead: the SQLite file, whole; PostgreSQL's server keeps its own cache.
        // (The checkpointer may grow the file meanwhile: the size is taken before and after.)
        let file_len = || (!pg).then(|| std::fs::metadata(db.url.trim_start_matches("sqlite://")).unwrap().len());
        let before = file_len();
        match (store.read_ahead().await.unwrap(), before) {
            (sangathan_store::read_ahead::ReadAhead::Done { bytes, .. }, Some(len)) => {
                assert!(len > 0 && (len..=file_len().unwrap()).contains(&bytes), "{bytes} of {len}")
            }
            (sangathan_store::read_ahead::ReadAhead::Skipped(why), None) => assert!(why.contains("PostgreSQL"), "{why}"),
            (other, _) => panic!("pg: {pg}: {other:?}"),
        }
    }
}

/// `--config FILE`: settings from TOML, the environment winning over the file; an unknown
/// setting or a bad file is refused without showing the file's values.
#[test]
fn configuration_file() {
    let db = TestDb::sqlite();
    ok(&db.url, &["init", "--preset", MINI]);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("sangathan.toml");
    std::fs::write(&conf, format!("db = \"{}\"\nlog_format = \"json\"\n", db.url)).unwrap();
    let o = Command::new(BIN)
        .args(["--config", conf.to_str().unwrap(), "verify"])
        .env_remove("SANGATHAN_DB")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The environment wins: a database that does not exist is not initialised.
    let o = Command::new(BIN)
        .args(["verify"])
        .env("SANGATHAN_CONFIG", &conf)
        .env("SANGATHAN_DB", format!("sqlite://{}", dir.path().join("none.db").display()))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not initialised"));
    std::fs::write(&conf, "inbound_secret = \"s3cret-s3cret-s3cret\nsmtp = 1\n").unwrap();
    let o = Command::new(BIN)
        .args(["--config", conf.to_str().unwrap(), "verify"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && e.contains("line 1") && !e.contains("s3cret"), "{e}");
    std::fs::write(&conf, "smtp_password = \"s3cret\"\n").unwrap();
    let o = Command::new(BIN)
        .args(["--config", conf.to_str().unwrap(), "verify"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("unknown setting smtp_password") && !e.contains("s3cret"), "{e}");
}

/// `serve` on `addr` with its log at `info` (and `NO_COLOR` unset) and these settings, its
/// standard error read line by line on a thread into the returned channel.
fn serve_logging(
    db_url: &str,
    addr: std::net::SocketAddr,
    env: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = Command::new(BIN);
    cmd.args(["--db", db_url, "serve", "--addr", &addr.to_string()])
        .env("RUST_LOG", "info")
        .env_remove("SANGATHAN_DB")
        .env_remove("NO_COLOR")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Text logs written anywhere but a terminal (a file, a pipe, a collector) are plain text: no
/// colour escape codes around the fields.
#[test]
fn text_logs_off_a_terminal_carry_no_escape_codes() {
    let db = TestDb::sqlite();
    ok(&db.url, &["init", "--preset", MINI]);
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // The log is read on a thread, so that a server that never says "listening" fails the test
    // in a minute instead of hanging it.
    let (mut child, rx) = serve_logging(
        &db.url,
        addr,
        &[("SANGATHAN_LOG_FORMAT", "text"), ("SANGATHAN_JOBS", "off"), ("SANGATHAN_READ_AHEAD", "off")],
    );
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) {
        let done = line.contains("listening");
        lines.push(line);
        if done {
            break;
        }
    }
    // Asked not to read the database file ahead, it does not (its /metrics, a direct local scrape).
    let metrics = {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut t = String::new();
        c.read_to_string(&mut t).unwrap();
        t
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("INFO") && l.contains("listening")), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
    assert!(metrics.contains("sangathan_database_read_ahead{state=\"off\"} 1"), "{metrics}");
    // A value that is neither on nor off is refused, naming the setting.
    // (Waited for a minute at most: a server that started anyway is killed, failing the test.)
    let mut c = Command::new(BIN)
        .args(["--db", &db.url, "serve", "--addr", "127.0.0.1:0"])
        .env("SANGATHAN_READ_AHEAD", "maybe")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(st) = c.try_wait().unwrap() {
            break Some(st);
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = c.kill();
            let _ = c.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut e = String::new();
    std::io::Read::read_to_string(&mut c.stderr.take().unwrap(), &mut e).unwrap();
    assert!(status.is_some_and(|s| !s.success()), "{status:?}: {e}");
    assert!(e.contains("SANGATHAN_READ_AHEAD must be on or off"), "{e}");
}

/// `serve` with JSON logs and metrics on their own address: every log line is one JSON object,
/// `/metrics` answers in the Prometheus format there (and not on the app's address), and SIGTERM
/// stops the server and its background jobs cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_json_logs_metrics_and_a_clean_stop() {
    let db = TestDb::sqlite();
    ok(&db.url, &["init", "--preset", MINI]);
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    };
    let (addr, maddr) = (free(), free());
    let maddr_text = maddr.to_string();
    let (mut child, rx) = serve_logging(
        &db.url,
        addr,
        &[("SANGATHAN_LOG_FORMAT", "json"), ("SANGATHAN_METRICS_ADDR", &maddr_text)],
    );
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(up, "the server came up");
    let m = client
        .get(format!("http://{maddr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(m.status(), 200);
    assert!(m.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = m.text().await.unwrap();
    assert!(
        text.contains("sangathan_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"2xx\"}"),
        "{text}"
    );
    assert!(text.contains("sangathan_database_up 1"));
    assert!(text.contains("sangathan_job_lag_seconds{job=\"delivery\"}"));
    // The server asked the OS to read the whole database file into its page cache, in the
    // background, and says so.
    let file_len = std::fs::metadata(db.url.trim_start_matches("sqlite://")).unwrap().len();
    let mut state = String::new();
    for _ in 0..200 {
        let t = client.get(format!("http://{maddr}/metrics")).send().await.unwrap().text().await.unwrap();
        if t.contains("sangathan_database_read_ahead{state=\"done\"} 1") {
            let bytes: u64 = t
                .lines()
                .find_map(|l| l.strip_prefix("sangathan_database_read_ahead_bytes "))
                .expect("the bytes read ahead")
                .parse()
                .unwrap();
            // The file as it was when the server started: the server's own writes since (its
            // audit of the scrape, sessions) go to the log first.
            assert!(bytes > 0 && bytes <= file_len, "{bytes} of {file_len}");
            state = "done".into();
            break;
        }
        assert!(t.contains("sangathan_database_read_ahead{state=\"running\"} 1"), "{t}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done");
    // Not on the app's own address when it has one of its own.
    let r = client.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    // Everything it wrote: the reading thread may still be behind when the process has exited,
    // and stops (closing the channel) at the pipe's end.
    let mut lines: Vec<String> = Vec::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(10)) {
        lines.push(line);
    }
    let mut messages = Vec::new();
    for l in lines.iter().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        messages.push(v["fields"]["message"].as_str().unwrap_or("").to_string());
    }
    // The only non-JSON line is the banner printed before logging starts.
    assert!(
        lines.iter().filter(|l| !l.starts_with('{')).all(|l| l.starts_with("serving on")),
        "{lines:?}"
    );
    for m in [
        "listening",
        "metrics listening",
        "the database file was read ahead into the OS's page cache",
        "background jobs stopped",
        "stopped",
    ] {
        assert!(messages.iter().any(|x| x == m), "{m}: {messages:?}");
    }
}
