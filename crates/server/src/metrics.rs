//! `GET /metrics`: the Prometheus text format (version 0.0.4), written by hand from atomics.
//!
//! What it holds, and only this: requests by method, route template (`/api/v1/members/{person_id}`,
//! never a path or a query) and status class; a latency histogram per route template; members
//! enrolled per wing, rows imported and the outbox's depth (from the database, so every app node
//! reports the same); for this process's background jobs, when each last succeeded; and the
//! job leases (whether this node holds each, and when any node last ran its jobs). No
//! name, mobile, identifier or address of anyone ever goes into a label.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sangathan_store::{DynStore, clock};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The background jobs whose last success is reported.
pub const JOBS: [&str; 4] = ["delivery", "escalation", "detection", "digest"];

/// One route's latencies.
#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Everything this process counts. One per process ([`METRICS`]).
pub struct Metrics {
    started: Instant,
    started_unix: i64,
    /// (method, route template, status class) → requests. Every label comes from a fixed set
    /// ([`method_label`], the router's route templates, [`UNMATCHED`]), whatever a client sends:
    /// the map cannot be grown by odd methods or paths.
    requests: Mutex<BTreeMap<(&'static str, String, &'static str), u64>>,
    /// (method, route template) → latencies.
    latency: Mutex<BTreeMap<(&'static str, String), Histogram>>,
    /// Per job in [`JOBS`]: unix time of the last success (0: none yet), and failures.
    last_success: [AtomicI64; JOBS.len()],
    failures: [AtomicU64; JOBS.len()],
    /// Where `serve`'s read-ahead of the database file stands ([`READ_AHEAD_STATES`]' index;
    /// stored after the bytes, with Release), and the bytes of the file the OS's cache held
    /// when it was done.
    read_ahead: AtomicU8,
    read_ahead_bytes: AtomicU64,
}

/// The states of `serve`'s read-ahead of the database file (`sangathan_database_read_ahead`):
/// not asked for (`SANGATHAN_READ_AHEAD=off`, or not `serve`), running, done, or skipped
/// (PostgreSQL, a file larger than three quarters of the memory available, an error, or not Linux; the log
/// says which).
pub const READ_AHEAD_STATES: [&str; 4] = ["off", "running", "done", "skipped"];

/// This process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    started: Instant::now(),
    started_unix: clock::now().timestamp(),
    requests: Default::default(),
    latency: Default::default(),
    last_success: Default::default(),
    failures: Default::default(),
    read_ahead: AtomicU8::new(0),
    read_ahead_bytes: AtomicU64::new(0),
});

fn job_index(job: &str) -> usize {
    JOBS.iter()
        .position(|j| *j == job)
        .unwrap_or_else(|| panic!("unknown job {job}"))
}

impl Metrics {
    /// A background job's round finished: successfully or not.
    pub fn job_done(&self, job: &str, ok: bool) {
        let i = job_index(job);
        if ok {
            self.last_success[i].store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
        } else {
            self.failures[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `serve`'s read-ahead of the database file moved to `state` (one of
    /// [`READ_AHEAD_STATES`]), the OS's cache holding `bytes` of the file.
    pub fn read_ahead(&self, state: &str, bytes: u64) {
        let i = READ_AHEAD_STATES
            .iter()
            .position(|s| *s == state)
            .unwrap_or_else(|| panic!("unknown read-ahead state {state}"));
        self.read_ahead_bytes.store(bytes, Ordering::Relaxed);
        self.read_ahead.store(i as u8, Ordering::Release);
    }

    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        {
            let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            *r.entry((method, route.to_string(), class))
                .or_default() += 1;
        }
        let mut l = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = l
            .entry((method, route.to_string()))
            .or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The route label of a request that matched no route (whatever its path).
pub const UNMATCHED: &str = "(unmatched)";

/// The method label: one of a fixed set, `OTHER` for any other token a client sends (HTTP
/// accepts any, before authentication; each would otherwise be a new series for ever).
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Count every request by its route template (the layer sits inside the router, where the
/// matched route is known: a template written in the code, never the path; an unmatched path
/// counts as [`UNMATCHED`]).
pub async fn track(req: Request, next: Next) -> Response {
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.into());
    let t = Instant::now();
    let res = next.run(req).await;
    METRICS.observe(method, &route, res.status().as_u16(), t.elapsed().as_secs_f64());
    res
}

/// The whole exposition.
pub async fn render(store: &DynStore) -> String {
    let m = &*METRICS;
    let mut o = String::with_capacity(16 * 1024);
    let now = chrono::Utc::now().timestamp();
    let _ = writeln!(o, "# HELP sangathan_build_info The running build.");
    let _ = writeln!(o, "# TYPE sangathan_build_info gauge");
    let _ = writeln!(
        o,
        "sangathan_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(o, "# HELP sangathan_process_start_time_seconds When this process started (unix time).");
    let _ = writeln!(o, "# TYPE sangathan_process_start_time_seconds gauge");
    let _ = writeln!(o, "sangathan_process_start_time_seconds {}", m.started_unix);

    let _ = writeln!(o, "# HELP sangathan_http_requests_total HTTP requests answered, by method, route template and status class.");
    let _ = writeln!(o, "# TYPE sangathan_http_requests_total counter");
    for ((method, route, class), n) in m.requests.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(
            o,
            "sangathan_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{class}\"}} {n}",
            label(method),
            label(route)
        );
    }
    let _ = writeln!(o, "# HELP sangathan_http_request_duration_seconds Time to answer an HTTP request, by method and route template.");
    let _ = writeln!(o, "# TYPE sangathan_http_request_duration_seconds histogram");
    for ((method, route), h) in m.latency.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let (method, route) = (label(method), label(route));
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "sangathan_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            o,
            "sangathan_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            o,
            "sangathan_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            o,
            "sangathan_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
            h.count
        );
    }

    let _ = writeln!(o, "# HELP sangathan_job_last_success_timestamp_seconds When each background job of this process last finished a round successfully (unix time; 0: not yet). Escalation, detection and digests count as done here too when another node holding their lease ran the current period.");
    let _ = writeln!(o, "# TYPE sangathan_job_last_success_timestamp_seconds gauge");
    for (i, job) in JOBS.iter().enumerate() {
        let _ = writeln!(
            o,
            "sangathan_job_last_success_timestamp_seconds{{job=\"{job}\"}} {}",
            m.last_success[i].load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(o, "# HELP sangathan_job_lag_seconds Seconds since each background job last succeeded (since the process started, when it has not yet).");
    let _ = writeln!(o, "# TYPE sangathan_job_lag_seconds gauge");
    for (i, job) in JOBS.iter().enumerate() {
        let last = m.last_success[i].load(Ordering::Relaxed);
        let lag = if last > 0 {
            (now - last).max(0) as f64
        } else {
            m.started.elapsed().as_secs_f64().floor()
        };
        let _ = writeln!(o, "sangathan_job_lag_seconds{{job=\"{job}\"}} {lag}");
    }
    let _ = writeln!(o, "# HELP sangathan_job_failures_total Failed rounds of each background job in this process.");
    let _ = writeln!(o, "# TYPE sangathan_job_failures_total counter");
    for (i, job) in JOBS.iter().enumerate() {
        let _ = writeln!(
            o,
            "sangathan_job_failures_total{{job=\"{job}\"}} {}",
            m.failures[i].load(Ordering::Relaxed)
        );
    }

    let _ = writeln!(o, "# HELP sangathan_database_read_ahead Where this process's read-ahead of the database file into the OS's page cache stands (1: its state now): off, running, done or skipped.");
    let _ = writeln!(o, "# TYPE sangathan_database_read_ahead gauge");
    let state = m.read_ahead.load(Ordering::Acquire) as usize;
    for (i, s) in READ_AHEAD_STATES.iter().enumerate() {
        let _ = writeln!(o, "sangathan_database_read_ahead{{state=\"{s}\"}} {}", u8::from(i == state));
    }
    let _ = writeln!(o, "# HELP sangathan_database_read_ahead_bytes Bytes of the database file in the OS's page cache when this process's read-ahead was done.");
    let _ = writeln!(o, "# TYPE sangathan_database_read_ahead_bytes gauge");
    let _ = writeln!(o, "sangathan_database_read_ahead_bytes {}", m.read_ahead_bytes.load(Ordering::Relaxed));

    // The database's figures: the same on every node. A slow or failing database is reported
    // as such instead of holding the scrape.
    let figures = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        store.figures(clock::now()),
    )
    .await;
    let figures = match figures {
        Ok(Ok(f)) => Some(f),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database's figures could not be read");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the database's figures took more than 10 s");
            None
        }
    };
    let _ = writeln!(o, "# HELP sangathan_database_up Whether the database answered this scrape.");
    let _ = writeln!(o, "# TYPE sangathan_database_up gauge");
    let _ = writeln!(o, "sangathan_database_up {}", u8::from(figures.is_some()));
    if let Some(f) = figures {
        let _ = writeln!(o, "# HELP sangathan_members_enrolled Memberships counted towards targets (pending and verified), by wing.");
        let _ = writeln!(o, "# TYPE sangathan_members_enrolled gauge");
        for (wing, n) in &f.enrolled {
            let _ = writeln!(o, "sangathan_members_enrolled{{wing=\"{}\"}} {n}", label(wing));
        }
        let _ = writeln!(o, "# HELP sangathan_import_rows_total Rows read by every recorded import.");
        let _ = writeln!(o, "# TYPE sangathan_import_rows_total counter");
        let _ = writeln!(o, "sangathan_import_rows_total {}", f.import_rows);
        let _ = writeln!(o, "# HELP sangathan_outbox_due Notifications due for delivery now.");
        let _ = writeln!(o, "# TYPE sangathan_outbox_due gauge");
        let _ = writeln!(o, "sangathan_outbox_due {}", f.outbox_due);
        let _ = writeln!(o, "# HELP sangathan_outbox_undelivered Notifications not delivered yet (due, waiting for a retry, or given up).");
        let _ = writeln!(o, "# TYPE sangathan_outbox_undelivered gauge");
        let _ = writeln!(o, "sangathan_outbox_undelivered {}", f.outbox_undelivered);
    }
    // The job leases (the same on every node but for `held`): which node runs the periodic
    // jobs, and when any node last ran them.
    if let Ok(Ok(leases)) =
        tokio::time::timeout(std::time::Duration::from_secs(10), store.leases()).await
    {
        let me = crate::notify::node_id();
        let _ = writeln!(o, "# HELP sangathan_job_lease_held Whether this node holds each background job lease now.");
        let _ = writeln!(o, "# TYPE sangathan_job_lease_held gauge");
        for l in &leases {
            let held = l.holder.as_deref() == Some(me) && l.held_until.is_some_and(|u| u.timestamp() >= now);
            let _ = writeln!(o, "sangathan_job_lease_held{{lease=\"{}\"}} {}", label(&l.name), u8::from(held));
        }
        let _ = writeln!(o, "# HELP sangathan_job_lease_last_run_timestamp_seconds When the jobs under each lease last finished a period, on any node (unix time; 0: never).");
        let _ = writeln!(o, "# TYPE sangathan_job_lease_last_run_timestamp_seconds gauge");
        for l in &leases {
            let _ = writeln!(
                o,
                "sangathan_job_lease_last_run_timestamp_seconds{{lease=\"{}\"}} {}",
                label(&l.name),
                l.last_finished.map_or(0, |t| t.timestamp())
            );
        }
        let _ = writeln!(o, "# HELP sangathan_job_lease_runs_total Periods run under each lease, on every node together.");
        let _ = writeln!(o, "# TYPE sangathan_job_lease_runs_total counter");
        for l in &leases {
            let _ = writeln!(o, "sangathan_job_lease_runs_total{{lease=\"{}\"}} {}", label(&l.name), l.runs);
        }
    }
    o
}

fn exposition(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// Whether a request to the main address may see `/metrics`: only a direct local scrape, from a
/// loopback peer (`::ffff:127.0.0.1` and `::1` too) with no `X-Forwarded-For`, `Forwarded` or
/// `X-Real-IP` header (a request relayed by a proxy on this machine has one). Anything else,
/// and a peer that is not known, is refused: the figures (members enrolled per wing, live) are
/// for the operator's monitoring only.
pub fn local_scrape(peer: Option<std::net::SocketAddr>, headers: &HeaderMap) -> bool {
    let relayed = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !relayed && peer.is_some_and(|p| p.ip().to_canonical().is_loopback())
}

/// `GET /metrics` on the main router: for a direct local scrape only ([`local_scrape`]); to
/// anyone else the answer of a path that does not exist. (On `--metrics-addr`, [`router`].)
pub async fn handler(State(state): State<crate::AppState>, req: Request) -> Response {
    // The peer as the connection has it: `forwarded_client` only rewrites it when a forwarding
    // header is present, and such a request is refused here anyway.
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    if !local_scrape(peer, req.headers()) {
        return crate::not_found(req).await;
    }
    exposition(render(&state.store).await)
}

/// A router serving only `GET /metrics` (for `serve --metrics-addr`): to anyone who reaches that
/// address, so bind it to a loopback or private address only.
pub fn router(store: DynStore) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(s): State<DynStore>| async move { exposition(render(&s).await) }),
        )
        .with_state(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_a_fixed_set() {
        for (m, want) in [
            ("GET", "GET"),
            ("POST", "POST"),
            ("PUT", "PUT"),
            ("PATCH", "PATCH"),
            ("DELETE", "DELETE"),
            ("HEAD", "HEAD"),
            ("OPTIONS", "OPTIONS"),
            ("TRACE", "OTHER"),
            ("CONNECT", "OTHER"),
            ("FOO1", "OTHER"),
            ("get", "OTHER"),
            ("PROPFIND", "OTHER"),
        ] {
            assert_eq!(method_label(&Method::from_bytes(m.as_bytes()).unwrap()), want, "{m}");
        }
    }

    #[test]
    fn metrics_for_a_direct_local_scrape_only() {
        let none = HeaderMap::new();
        let peer = |a: &str| Some(a.parse::<std::net::SocketAddr>().unwrap());
        assert!(local_scrape(peer("127.0.0.1:5000"), &none));
        assert!(local_scrape(peer("[::1]:5000"), &none));
        assert!(local_scrape(peer("[::ffff:127.0.0.1]:5000"), &none));
        assert!(!local_scrape(peer("192.0.2.7:5000"), &none));
        assert!(!local_scrape(peer("[::ffff:192.0.2.7]:5000"), &none));
        assert!(!local_scrape(peer("[2001:db8::1]:5000"), &none));
        assert!(!local_scrape(None, &none), "an unknown peer");
        for h in ["X-Forwarded-For", "Forwarded", "X-Real-IP"] {
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::HeaderName::from_bytes(h.as_bytes()).unwrap(),
                HeaderValue::from_static("127.0.0.1"),
            );
            assert!(!local_scrape(peer("127.0.0.1:5000"), &headers), "{h}");
        }
    }
}
