//! Several stateless app nodes on one PostgreSQL: two `sangathan serve` processes, requests
//! alternating between them, answer exactly as one node does (enrolments, idempotency keys,
//! sessions, one-time codes, rate limits); their background jobs escalate and deliver once; and
//! with one node killed (`kill -9`) under load the other keeps serving, takes the periodic jobs'
//! lease over when it lapses, and nothing is lost or done twice.
//!
//! Needs `SANGATHAN_TEST_PG_URL` (skipped without it, failed under `SANGATHAN_REQUIRE_PG=1`).

mod support;

use reqwest::{Client, Method, StatusCode};
use sangathan_store::testing::TestDb;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{BIN, MINI, ok, run};

/// The pinned clock of the meeting scenarios: the day after a report fell due.
const NOW: &str = "2027-01-11T12:00:00+05:30";
const PASSWORD: &str = "correct horse battery staple";

/// One `sangathan serve` process, its JSON log lines collected as they come.
struct Node {
    child: Child,
    base: String,
    pid: u32,
    log: Arc<Mutex<Vec<Value>>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    async fn start(db: &str, env: &[(&str, &str)]) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = Command::new(BIN);
        c.args(["--db", db, "serve", "--addr", &format!("127.0.0.1:{port}")])
            .env_remove("SANGATHAN_DB")
            .env_remove("SANGATHAN_NOW")
            .env_remove("SANGATHAN_SMTP_URL")
            .env_remove("SANGATHAN_METRICS_ADDR")
            .env_remove("SANGATHAN_CONFIG")
            .env("SANGATHAN_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c.spawn().unwrap();
        let pid = child.id();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            pid,
            log,
        };
        let client = Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .get(format!("{}/healthz", node.base))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                break;
            }
            assert!(Instant::now() < deadline, "node {pid} did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    /// The log's messages so far, with their fields.
    fn messages(&self, message: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["fields"]["message"] == message)
            .map(|v| v["fields"].clone())
            .collect()
    }

    /// The outbox ids this node handed to the (logging) provider.
    fn delivered(&self) -> Vec<i64> {
        self.messages("notification handed to the logging provider")
            .iter()
            .filter_map(|f| f["id"].as_i64())
            .collect()
    }
}

/// `sangathan --db DB ARGS…` with extra environment, asserting success; its standard output.
fn ok_env(db: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut a = vec!["--db", db];
    a.extend_from_slice(args);
    let mut c = Command::new(BIN);
    c.args(&a)
        .env_remove("SANGATHAN_DB")
        .env_remove("SANGATHAN_NOW");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// A fresh PostgreSQL database holding the mini state; the admin token `init` printed.
async fn fresh() -> Option<(TestDb, String)> {
    let db = TestDb::postgres().await?;
    let out = ok(
        &db.url,
        &["init", "--preset", MINI, "--campaign-start", "2026-12-01"],
    );
    let token = out.lines().last().unwrap().trim().to_string();
    Some((db, token))
}

async fn pg(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap()
}

async fn scalar(url: &str, sql: &'static str) -> i64 {
    use sqlx::Connection;
    let mut c = pg(url).await;
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap();
    let _ = c.close().await;
    n
}

/// The periodic jobs' lease: (holder, runs).
async fn lease(url: &str) -> Option<(Option<String>, i64)> {
    use sqlx::Connection;
    let mut c = pg(url).await;
    let r: Option<(Option<String>, i64)> =
        sqlx::query_as("SELECT holder, runs FROM job_leases WHERE name = 'periodic'")
            .fetch_optional(&mut c)
            .await
            .unwrap();
    let _ = c.close().await;
    r
}

/// The pid in a holder's name (`host:pid:random`).
fn pid_of(holder: &str) -> u32 {
    holder.split(':').nth(1).unwrap().parse().unwrap()
}

/// Wait (at most `secs`) for `cond`, checked every 100 ms.
async fn eventually<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An answer, reduced to what must be the same on one node and on two.
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
    /// Status and body, without what differs from run to run (times, secrets).
    fn line(&self) -> String {
        fn strip(v: &mut Value) {
            match v {
                Value::Object(o) => {
                    o.remove("enrolled_at");
                    o.remove("csrf_token");
                    o.values_mut().for_each(strip);
                }
                Value::Array(a) => a.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let mut v = self.json();
        strip(&mut v);
        format!("{} {v}", self.status.as_u16())
    }
}

#[allow(clippy::too_many_arguments)] // one request, every part spelt out
async fn send(
    client: &Client,
    base: &str,
    method: Method,
    path: &str,
    auth: Option<&str>,
    cookie: Option<(&str, &str)>,
    body: Option<&Value>,
    key: Option<&str>,
) -> Answer {
    let mut r = client.request(method, format!("{base}{path}"));
    if let Some(t) = auth {
        r = r.bearer_auth(t);
    }
    if let Some((cookie, csrf)) = cookie {
        r = r.header("Cookie", cookie).header("X-CSRF-Token", csrf);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let res = r.send().await.expect("request");
    Answer {
        status: res.status(),
        headers: res.headers().clone(),
        bytes: res.bytes().await.unwrap().to_vec(),
    }
}

fn person(i: u64) -> Value {
    json!({
        "name": format!("Node Person {i}"),
        "mobile": format!("97{:08}", 10_000 + i),
        "gender": if i.is_multiple_of(2) { "F" } else { "M" },
        "birth_year": 1960 + (i % 40),
        "unit": format!("TS-AC-{}-B{:04}", 1 + i % 4, 1 + i % 7),
    })
}

/// The scenario, request `n` going to node `n % nodes`: its transcript.
async fn scenario(db: &str, token: &str, bases: &[&str]) -> Vec<String> {
    let client = Client::new();
    let mut n = 0usize;
    let mut next = || {
        n += 1;
        bases[(n - 1) % bases.len()]
    };
    let mut t = Vec::new();
    // (a) Enrolments: new people, the same people again under new keys, a second wing.
    for i in 0..24 {
        let a = send(
            &client,
            next(),
            Method::POST,
            "/api/v1/members",
            Some(token),
            None,
            Some(&person(i)),
            Some(&format!("enrol-{i}")),
        )
        .await;
        t.push(format!("enrol {i}: {}", a.line()));
    }
    for i in 0..6 {
        let mut p = person(i * 3);
        p["mobile"] = json!(format!("+91 {}", p["mobile"].as_str().unwrap()));
        let a = send(
            &client,
            next(),
            Method::POST,
            "/api/v1/members",
            Some(token),
            None,
            Some(&p),
            Some(&format!("again-{i}")),
        )
        .await;
        t.push(format!("again {i}: {}", a.line()));
        let mut w = person(i * 5);
        w["wing"] = json!("employees");
        let a = send(
            &client,
            next(),
            Method::POST,
            "/api/v1/members",
            Some(token),
            None,
            Some(&w),
            Some(&format!("wing-{i}")),
        )
        .await;
        t.push(format!("wing {i}: {}", a.line()));
    }
    // (b) One key, sent to each node in turn: one membership, the same answer byte for byte;
    // the key with another body is refused.
    let body = person(100);
    let first = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/members",
        Some(token),
        None,
        Some(&body),
        Some("the-key"),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.line());
    for _ in 0..3 {
        let again = send(
            &client,
            next(),
            Method::POST,
            "/api/v1/members",
            Some(token),
            None,
            Some(&body),
            Some("the-key"),
        )
        .await;
        assert_eq!(
            (again.status, &again.bytes),
            (first.status, &first.bytes),
            "a replay on any node answers the same"
        );
        assert_eq!(
            again
                .headers
                .get("idempotent-replayed")
                .and_then(|v| v.to_str().ok()),
            Some("true")
        );
    }
    t.push(format!("keyed: {}", first.line()));
    let other = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/members",
        Some(token),
        None,
        Some(&person(101)),
        Some("the-key"),
    )
    .await;
    t.push(format!("key reused: {}", other.line()));
    for path in [
        "/api/v1/units/TS/progress",
        "/api/v1/units/TS-AC-1/progress",
        "/api/v1/members?unit=TS&limit=500",
    ] {
        let a = send(
            &client,
            next(),
            Method::GET,
            path,
            Some(token),
            None,
            None,
            None,
        )
        .await;
        t.push(format!("{path}: {}", a.line()));
    }
    let memberships = scalar(db, "SELECT COUNT(*) FROM memberships").await;
    let people = scalar(db, "SELECT COUNT(*) FROM people").await;
    t.push(format!("memberships {memberships}, people {people}"));

    // Sessions: made on one node, used and ended on the other.
    let login = |password: &'static str| json!({"mobile": "9811111101", "password": password});
    let a = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/session",
        None,
        None,
        Some(&login(PASSWORD)),
        None,
    )
    .await;
    t.push(format!("login: {}", a.line()));
    let cookie = a.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = a.json()["csrf_token"].as_str().unwrap().to_string();
    let a = send(
        &client,
        next(),
        Method::GET,
        "/api/v1/session",
        None,
        Some((&cookie, &csrf)),
        None,
        None,
    )
    .await;
    t.push(format!("whoami: {}", a.line()));
    let a = send(
        &client,
        next(),
        Method::DELETE,
        "/api/v1/session",
        None,
        Some((&cookie, &csrf)),
        None,
        None,
    )
    .await;
    t.push(format!("logout: {}", a.status));
    let a = send(
        &client,
        next(),
        Method::GET,
        "/api/v1/session",
        None,
        Some((&cookie, &csrf)),
        None,
        None,
    )
    .await;
    t.push(format!("whoami after logout: {}", a.status));
    // A one-time code sent by one node, used on the other, once.
    let a = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/session/code",
        None,
        None,
        Some(&json!({"mobile": "9811111101"})),
        None,
    )
    .await;
    t.push(format!("code sent: {}", a.line()));
    let code: String = {
        use sqlx::Connection;
        let mut c = pg(db).await;
        let body: String = sqlx::query_scalar("SELECT body FROM outbox WHERE recipient = '+919811111101' AND idem_key IS NULL ORDER BY id DESC LIMIT 1")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let _ = c.close().await;
        body.chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(char::is_ascii_digit)
            .collect()
    };
    let by_code = json!({"mobile": "9811111101", "code": code});
    let a = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/session",
        None,
        None,
        Some(&by_code),
        None,
    )
    .await;
    t.push(format!("login by code: {}", a.status));
    let a = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/session",
        None,
        None,
        Some(&by_code),
        None,
    )
    .await;
    t.push(format!("the code again: {}", a.line()));

    // (c) Failed logins, alternating: the limit is reached at the same attempt.
    for i in 0..12 {
        let a = send(
            &client,
            next(),
            Method::POST,
            "/api/v1/session",
            None,
            None,
            Some(&login("wrong guess")),
            None,
        )
        .await;
        t.push(format!(
            "failed login {i}: {} retry-after {}",
            a.line(),
            a.headers.contains_key("retry-after")
        ));
    }
    let a = send(
        &client,
        next(),
        Method::POST,
        "/api/v1/session",
        None,
        None,
        Some(&login(PASSWORD)),
        None,
    )
    .await;
    t.push(format!("right password while limited: {}", a.line()));
    t
}

/// A user who logs in with a password.
fn add_login_user(db: &str) {
    let mut c = Command::new(BIN)
        .args([
            "--db",
            db,
            "user",
            "add",
            "--name",
            "Login User",
            "--mobile",
            "9811111101",
            "--post",
            "ac-incharge@TS-AC-1",
            "--password-stdin",
        ])
        .env_remove("SANGATHAN_DB")
        .env_remove("SANGATHAN_NOW")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(c.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// (a)–(c): the scenario on two nodes, requests alternating, answers as on one node; counters
/// verify and the audit chain (appended to by both) holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_nodes_answer_like_one() {
    let Some((one, one_token)) = fresh().await else {
        return;
    };
    let Some((two, two_token)) = fresh().await else {
        return;
    };
    add_login_user(&one.url);
    add_login_user(&two.url);
    let single = Node::start(&one.url, &[]).await;
    let baseline = scenario(&one.url, &one_token, &[&single.base]).await;
    drop(single);
    let (a, b) = (
        Node::start(&two.url, &[]).await,
        Node::start(&two.url, &[]).await,
    );
    let pair = scenario(&two.url, &two_token, &[&a.base, &b.base]).await;
    for (x, y) in baseline.iter().zip(&pair) {
        assert_eq!(x, y, "one node vs two");
    }
    assert_eq!(baseline.len(), pair.len());
    // What the scenario must show, whatever the node count.
    let has = |prefix: &str, status: &str| {
        assert!(
            pair.iter().any(
                |l| l.starts_with(prefix) && l[prefix.len()..].trim_start().starts_with(status)
            ),
            "{prefix} {status} in:\n{}",
            pair.join("\n")
        )
    };
    has("key reused:", "409");
    has("whoami:", "200");
    has("whoami after logout:", "401");
    has("login by code:", "201");
    has("the code again:", "401");
    has("right password while limited:", "429");
    let limited_at = pair
        .iter()
        .position(|l| l.starts_with("failed login") && l.contains(": 429"))
        .unwrap();
    assert!(
        pair[limited_at - 1].contains(": 401"),
        "{}",
        pair.join("\n")
    );
    assert_eq!(
        scalar(&two.url, "SELECT COUNT(*) FROM memberships").await,
        24 + 6 + 1,
        "new people, a second wing each for six, the keyed one"
    );
    for args in [&["verify"][..], &["audit", "verify"][..]] {
        let o = run(&two.url, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    drop((a, b));
}

/// The mini state with office-bearers, and an overdue booth meeting (report due 2027-01-11
/// 11:00 IST, a day after the meeting): its id.
fn meeting_state(db: &str) -> i64 {
    for (name, mobile, post) in [
        (
            "Division Incharge",
            "9811111101",
            "division-incharge@TS-DIV-NORTH",
        ),
        (
            "Hill President",
            "9811111102",
            "district-president@TS-DT-HILL",
        ),
        ("Alpha Incharge", "9811111104", "ac-incharge@TS-AC-1"),
    ] {
        ok_env(
            db,
            &[("SANGATHAN_NOW", "2026-11-01T10:00:00+05:30")],
            &[
                "user", "add", "--name", name, "--mobile", mobile, "--post", post,
            ],
        );
    }
    add_meeting(db, "TS-AC-1-B0001", "2027-01-10")
}

fn add_meeting(db: &str, venue: &str, date: &str) -> i64 {
    let out = ok_env(
        db,
        &[("SANGATHAN_NOW", "2027-01-08T09:00:00+05:30")],
        &[
            "--as",
            "9811111104",
            "meetings",
            "add",
            "--wing",
            "party",
            "--venue",
            venue,
            "--date",
            date,
            "--time",
            "11:00",
            "--due-hours",
            "24",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    v["id"].as_i64().unwrap()
}

/// Outbox rows of a meeting's overdue notices: (id, attempts, sent).
async fn notices(url: &str, meeting: i64) -> Vec<(i64, i64, bool)> {
    use sqlx::Connection;
    let mut c = pg(url).await;
    let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT id, CAST(attempts AS BIGINT), sent_at IS NOT NULL FROM outbox WHERE idem_key LIKE $1 ORDER BY id",
    )
    .bind(format!("overdue:{meeting}:%"))
    .fetch_all(&mut c)
    .await
    .unwrap();
    let _ = c.close().await;
    rows
}

/// Every notice in the outbox (one-time codes aside): (id, attempts, sent).
async fn all_notices(url: &str) -> Vec<(i64, i64, bool)> {
    use sqlx::Connection;
    let mut c = pg(url).await;
    let rows: Vec<(i64, i64, bool)> = sqlx::query_as(
        "SELECT id, CAST(attempts AS BIGINT), sent_at IS NOT NULL FROM outbox WHERE idem_key IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let _ = c.close().await;
    rows
}

async fn escalations(url: &str, meeting: i64) -> i64 {
    use sqlx::Connection;
    let mut c = pg(url).await;
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM meeting_escalations WHERE meeting_id = $1")
            .bind(meeting)
            .fetch_one(&mut c)
            .await
            .unwrap();
    let _ = c.close().await;
    n
}

const TOOK_OVER: &str = "took over the periodic jobs' lease: its holder stopped renewing it";

/// Jobs every second on both nodes, a period of one second.
const FAST_JOBS: [(&str, &str); 4] = [
    ("SANGATHAN_NOW", NOW),
    ("SANGATHAN_JOBS_TICK_SECS", "1"),
    ("SANGATHAN_JOBS_PERIOD_SECS", "1"),
    ("SANGATHAN_JOBS_LEASE_SECS", "3"),
];

/// (d): both nodes run the jobs every second; the periodic jobs run on one node at a time, once
/// per period; the overdue report is escalated once and each notice delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_nodes_escalate_and_deliver_once() {
    let Some((db, _token)) = fresh().await else {
        return;
    };
    let url = db.url.as_str();
    let meeting = meeting_state(url);
    let nodes = [
        Node::start(&db.url, &FAST_JOBS).await,
        Node::start(&db.url, &FAST_JOBS).await,
    ];
    eventually(20, "the notices delivered", || async move {
        !notices(url, meeting).await.is_empty() && all_notices(url).await.iter().all(|x| x.2)
    })
    .await;
    // A few more periods with both nodes trying.
    let runs = lease(&db.url).await.unwrap().1;
    eventually(20, "more periodic runs", || async move {
        lease(url).await.unwrap().1 >= runs + 3
    })
    .await;
    let n = all_notices(url).await;
    assert_eq!(escalations(&db.url, meeting).await, 1, "escalated once");
    assert!(
        n.iter().all(|x| x.1 == 1 && x.2),
        "each sent at the first attempt, once: {n:?}"
    );
    let mut handed: Vec<i64> = nodes.iter().flat_map(Node::delivered).collect();
    handed.sort_unstable();
    let ids: Vec<i64> = n.iter().map(|x| x.0).collect();
    assert_eq!(
        handed, ids,
        "each notice handed to the provider once, by one node or the other"
    );
    // Each period recorded once, by the lease holder; one node holds the lease.
    let (holder, runs) = lease(&db.url).await.unwrap();
    assert_eq!(
        scalar(
            &db.url,
            "SELECT COUNT(*) FROM job_runs WHERE name = 'periodic'"
        )
        .await,
        runs
    );
    let holder = pid_of(&holder.expect("held"));
    assert!(nodes.iter().any(|n| n.pid == holder));
    // /metrics: each node says whether it holds the lease; never both, and one does.
    let client = Client::new();
    let mut seen_one = false;
    for _ in 0..20 {
        let mut held = 0;
        for n in &nodes {
            let text = client
                .get(format!("{}/metrics", n.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let line = text
                .lines()
                .find(|l| l.starts_with("sangathan_job_lease_held{lease=\"periodic\"}"))
                .unwrap_or_else(|| panic!("no lease in:\n{text}"));
            held += line.rsplit(' ').next().unwrap().parse::<u32>().unwrap();
            assert!(
                text.lines()
                    .any(|l| l.starts_with("sangathan_job_lease_runs_total{lease=\"periodic\"}"))
            );
        }
        assert!(held <= 1, "both nodes hold the lease");
        if held == 1 {
            seen_one = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen_one, "a node holds the lease");
}

/// (e): the drill. Enrolments go to both nodes; the node holding the periodic jobs' lease is
/// killed with SIGKILL. Requests to the survivor all succeed (the ones the dead node did not
/// answer are retried there with the same key); every enrolment is in the database once;
/// counters verify; the dead node's lease lapses and the survivor takes it over and runs the
/// jobs: a meeting that falls overdue after the kill is escalated and delivered, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_node_killed_under_load_the_other_takes_over() {
    let Some((db, token)) = fresh().await else {
        return;
    };
    let url = db.url.as_str();
    let first = meeting_state(url);
    let mut nodes = vec![
        Node::start(&db.url, &FAST_JOBS).await,
        Node::start(&db.url, &FAST_JOBS).await,
    ];
    eventually(20, "the first notices delivered", || async move {
        !notices(url, first).await.is_empty() && all_notices(url).await.iter().all(|x| x.2)
    })
    .await;
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();

    // The load: four workers, each enrolling new people on the nodes in turn.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let (stop, client, bases, token) =
            (stop.clone(), client.clone(), bases.clone(), token.clone());
        workers.push(tokio::spawn(async move {
            // (enrolment number, person id) acknowledged; failures of the survivor.
            let mut acked = Vec::new();
            let mut retried = 0u32;
            let mut failed = Vec::new();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let k = 1000 + w * 100_000 + i;
                let (body, key) = (person(k), format!("load-{k}"));
                let to = ((w + i) % 2) as usize;
                let post = |base: String| {
                    let (client, body, key, token) =
                        (client.clone(), body.clone(), key.clone(), token.clone());
                    async move {
                        client
                            .post(format!("{base}/api/v1/members"))
                            .bearer_auth(&token)
                            .header("Idempotency-Key", &key)
                            .json(&body)
                            .send()
                            .await
                    }
                };
                let mut answer = post(bases[to].clone()).await;
                if answer.is_err() {
                    // The node is gone: the same request, the same key, on the other.
                    retried += 1;
                    answer = post(bases[1 - to].clone()).await;
                }
                match answer {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.push((k, v["person_id"].as_i64().unwrap()));
                    }
                    Ok(r) => failed.push(format!(
                        "{k}: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => failed.push(format!("{k}: {e}")),
                }
                i += 1;
            }
            (acked, failed, retried)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The node holding the periodic jobs' lease dies.
    let holder = lease(url).await.unwrap().0.expect("held");
    let victim = nodes
        .iter()
        .position(|n| n.pid == pid_of(&holder))
        .expect("a node holds the lease");
    let took_before = nodes[1 - victim].messages(TOOK_OVER).len();
    let mut dead = nodes.remove(victim);
    let dead_pid = dead.pid;
    dead.child.kill().unwrap(); // SIGKILL
    dead.child.wait().unwrap();
    let killed_at = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(200)).await; // the rest of its log read
    let dead_delivered = dead.delivered();
    let survivor = &nodes[0];
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // A report that falls overdue while only the survivor runs (added now; due in the past).
    let second = add_meeting(&db.url, "TS-AC-1-B0002", "2027-01-10");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    let mut retried = 0;
    for w in workers {
        let (a, f, r) = w.await.unwrap();
        acked.extend(a);
        failed.extend(f);
        retried += r;
    }
    eprintln!(
        "drill: {} enrolments acknowledged, {retried} retried on the survivor after the kill",
        acked.len()
    );
    assert!(
        failed.is_empty(),
        "requests failed on the survivor: {failed:?}"
    );
    assert!(acked.len() >= 20, "a load: {} enrolments", acked.len());
    assert!(retried > 0, "some requests went to the dead node");

    // Every acknowledged enrolment once: one person per mobile, one membership each.
    let (people, distinct, memberships): (i64, i64, i64) = {
        use sqlx::Connection;
        let mut c = pg(&db.url).await;
        let r = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT p.mobile), (SELECT COUNT(*) FROM memberships m JOIN people q ON q.id = m.person_id WHERE q.name LIKE 'Node Person %') \
             FROM people p WHERE p.name LIKE 'Node Person %'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        let _ = c.close().await;
        r
    };
    assert_eq!(
        (people, distinct, memberships),
        (acked.len() as i64, acked.len() as i64, acked.len() as i64)
    );
    let mut ids: Vec<i64> = acked.iter().map(|a| a.1).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), acked.len(), "one person each");

    // The survivor took the lease over once the dead node's hold lapsed, and runs the jobs.
    eventually(15, "the survivor holding the lease", || async move {
        lease(url)
            .await
            .unwrap()
            .0
            .is_some_and(|h| pid_of(&h) == survivor.pid)
    })
    .await;
    let took = survivor.messages(TOOK_OVER);
    let took_at = survivor
        .log
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|v| v["fields"]["message"] == TOOK_OVER)
        .and_then(|v| v["timestamp"].as_str().map(str::to_string))
        .unwrap();
    let took_at = chrono::DateTime::parse_from_rfc3339(&took_at).unwrap();
    let after = (took_at.with_timezone(&chrono::Utc) - killed_at).num_milliseconds();
    eprintln!("drill: the survivor took the lease over {after} ms after the kill");
    assert!(after > 0 && after < 10_000, "{after} ms");
    assert!(took.len() > took_before, "{took:?}");
    assert_eq!(
        pid_of(took.last().unwrap()["from"].as_str().unwrap()),
        dead_pid
    );
    eventually(
        20,
        "the second meeting's notices delivered",
        || async move {
            !notices(url, second).await.is_empty() && all_notices(url).await.iter().all(|x| x.2)
        },
    )
    .await;
    let runs = lease(&db.url).await.unwrap().1;
    eventually(10, "more periodic runs on the survivor", || async move {
        lease(url).await.unwrap().1 >= runs + 2
    })
    .await;

    // Nothing done twice: one escalation a meeting, each notice sent once, each period once.
    for m in [first, second] {
        assert_eq!(
            escalations(&db.url, m).await,
            1,
            "meeting {m} escalated once"
        );
    }
    let all = all_notices(url).await;
    let second_notices = notices(&db.url, second).await;
    assert!(all.iter().all(|x| x.1 == 1 && x.2), "{all:?}");
    let mut handed: Vec<i64> = dead_delivered
        .iter()
        .copied()
        .chain(survivor.delivered())
        .collect();
    handed.sort_unstable();
    let want: Vec<i64> = all.iter().map(|x| x.0).collect();
    assert_eq!(handed, want, "each notice handed to the provider once");
    let survivor_handed = survivor.delivered();
    assert!(
        second_notices
            .iter()
            .all(|x| survivor_handed.contains(&x.0)),
        "the survivor delivers after the kill"
    );
    let (_, runs) = lease(&db.url).await.unwrap();
    assert_eq!(
        scalar(
            &db.url,
            "SELECT COUNT(*) FROM job_runs WHERE name = 'periodic'"
        )
        .await,
        runs,
        "each period recorded once"
    );
    for args in [&["verify"][..], &["audit", "verify"][..]] {
        let o = run(&db.url, args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}
