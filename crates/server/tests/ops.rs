//! `GET /metrics` on a real server and database (SQLite, and PostgreSQL when configured):
//! without a token, in the Prometheus text format, with route templates and never anyone's data.

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use reqwest::Method;
use sangathan_store::Backend;
use support::{key, person, spawn_app};

/// One sample line: `name{label="value",…} number`.
fn check_sample(line: &str) {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
    assert!(
        value == "+Inf" || value.parse::<f64>().is_ok(),
        "not a number: {line}"
    );
    let name_end = series.find('{').unwrap_or(series.len());
    let name = &series[..name_end];
    assert!(
        !name.is_empty()
            && name.starts_with("sangathan_")
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "bad metric name: {line}"
    );
    if name_end < series.len() {
        let labels = &series[name_end..];
        assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        for pair in labels[1..labels.len() - 1].split("\",") {
            let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
            assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            assert!(!v.contains('\n'), "{line}");
        }
    }
}

async fn metrics_without_a_token(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Some traffic: an enrolment, a look at the member, a 404, a refused request.
    let p = person("TS-AC-1");
    let id = app.enrol(&p, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    app.get(&format!("/api/v1/members/{id}")).await.expect(200);
    app.get("/api/v1/members/999999999").await.expect(404);
    app.send(Method::GET, "/api/v1/units/TS", Some(None), None, None)
        .await
        .expect_status(401);
    app.get(&format!("/api/v1/members?unit=TS-AC-1&q={}", p["mobile"].as_str().unwrap()))
        .await;

    let m = app
        .send(Method::GET, "/metrics", Some(None), None, None)
        .await;
    m.expect_status(200);
    assert!(
        m.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        m.header("content-type")
    );
    let text = m.text();
    let mut typed = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.insert(name.to_string());
        } else if line.starts_with("# HELP ") {
        } else {
            check_sample(line);
            let name = line.split(['{', ' ']).next().unwrap();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|b| typed.contains(*b))
                .unwrap_or(name);
            assert!(typed.contains(base), "sample before its TYPE: {line}");
        }
    }
    // Request counters are this process's (other tests in it may have added to them): at least.
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
            .map(|v| v.parse().unwrap())
    };
    for series in [
        "sangathan_http_requests_total{method=\"POST\",route=\"/api/v1/members\",status=\"2xx\"}",
        "sangathan_http_requests_total{method=\"GET\",route=\"/api/v1/members/{person_id}\",status=\"2xx\"}",
        "sangathan_http_requests_total{method=\"GET\",route=\"/api/v1/members/{person_id}\",status=\"4xx\"}",
        "sangathan_http_requests_total{method=\"GET\",route=\"/api/v1/units/{code}\",status=\"4xx\"}",
        "sangathan_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/members\",le=\"+Inf\"}",
        "sangathan_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/members\"}",
    ] {
        assert!(value(series).is_some_and(|v| v >= 1.0), "{series} missing from:\n{text}");
    }
    // The database's figures are this test's database's: exact.
    assert_eq!(value("sangathan_members_enrolled{wing=\"party\"}"), Some(1.0), "{text}");
    assert_eq!(value("sangathan_import_rows_total"), Some(0.0));
    assert!(value("sangathan_outbox_due").is_some());
    assert!(value("sangathan_outbox_undelivered").is_some());
    assert_eq!(value("sangathan_database_up"), Some(1.0));
    for job in ["delivery", "escalation", "detection", "digest"] {
        assert!(value(&format!("sangathan_job_lag_seconds{{job=\"{job}\"}}")).is_some_and(|v| v >= 0.0));
    }
    // Nobody's data: not the mobile (in any form), the name, the EPIC, the id in a path, the query.
    // Looked for in the names, labels and comments: a sample's value is a number, whose digits
    // (a latency's sum, say) may happen to hold any run of digits.
    let text: String = text
        .lines()
        .map(|l| if l.starts_with('#') { l } else { l.rsplit_once(' ').map_or(l, |x| x.0) })
        .collect::<Vec<_>>()
        .join("\n");
    let mobile = p["mobile"].as_str().unwrap();
    for secret in [
        mobile,
        &mobile[2..],
        p["name"].as_str().unwrap(),
        p["epic"].as_str().unwrap(),
        "999999999",
        &format!("/api/v1/members/{id}"),
        "Ward 4",
        "q=",
    ] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    // Not part of the API document.
    let doc = serde_json::to_value(sangathan_server::openapi()).unwrap();
    assert!(doc["paths"].get("/metrics").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_sqlite() {
    metrics_without_a_token(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_postgres() {
    metrics_without_a_token(Backend::Postgres).await
}

/// Behind a trusted proxy the audit log (and the rate limits) see the client it forwards; from
/// anyone else the header is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_client_only_from_a_trusted_proxy() {
    for trusted in [false, true] {
        let config = sangathan_server::Config {
            trusted_proxies: if trusted {
                vec!["127.0.0.1".parse().unwrap()]
            } else {
                vec![]
            },
            ..Default::default()
        };
        let Some(app) = support::spawn_app_with(Backend::Sqlite, config).await else {
            return;
        };
        let id = app.enrol(&person("TS-AC-1"), &key()).await.expect(201)["person_id"]
            .as_i64()
            .unwrap();
        let r = app
            .client
            .get(app.url(&format!("/api/v1/members/{id}")))
            .bearer_auth(&app.token)
            .header("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The audit writer is a task: wait for the event.
        let mut seen = None;
        for _ in 0..100 {
            let events = app.store.audit_of_person(id, 10).await.unwrap();
            if let Some(e) = events.iter().find(|e| e.event.action.contains("view")) {
                seen = e.event.address.clone();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let want = if trusted { "203.0.113.7" } else { "127.0.0.1" };
        assert_eq!(seen.as_deref(), Some(want), "trusted: {trusted}");
    }
}

/// The label values of `label` in an exposition.
fn label_values(text: &str, label: &str) -> std::collections::BTreeSet<String> {
    let key = format!("{label}=\"");
    let mut out = std::collections::BTreeSet::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        for (i, _) in l.match_indices(&key) {
            let rest = &l[i + key.len()..];
            out.insert(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    out
}

/// Odd methods and paths, before any authentication, add no series: methods are a fixed set,
/// routes are the router's templates and every other path is `(unmatched)`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_are_a_fixed_set() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    for (method, path) in [
        ("FOO1", "/x"),
        ("FOO2", "/x"),
        ("PROPFIND", "/api/v1/members"),
        ("TRACE", "/healthz"),
        ("GET", "/odd-path-7781/more"),
        ("GET", "/api/v1/odd-path-7782?q=odd-query-7783"),
        ("POST", "/api/v1/members/odd-path-7784"),
        ("DELETE", "/metrics-odd-path-7785"),
    ] {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        app.send(m, path, Some(None), None, None).await;
        app.send(Method::from_bytes(method.as_bytes()).unwrap(), path, None, None, None)
            .await;
    }
    // Twice: the first scrape is itself counted in the second.
    app.send(Method::GET, "/metrics", Some(None), None, None).await;
    let m = app.send(Method::GET, "/metrics", Some(None), None, None).await;
    m.expect_status(200);
    let text = m.text();
    let methods = label_values(&text, "method");
    let fixed = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"];
    assert!(methods.iter().all(|m| fixed.contains(&m.as_str())), "{methods:?}");
    assert!(methods.contains("OTHER"), "{methods:?}");
    let routes = label_values(&text, "route");
    assert!(routes.contains("(unmatched)"), "{routes:?}");
    for r in &routes {
        assert!(r == "(unmatched)" || r.starts_with('/'), "{r}");
        assert!(!r.contains("odd") && !r.contains('?') && r != "/x", "{r} in {routes:?}");
    }
    for odd in ["FOO1", "FOO2", "PROPFIND", "TRACE", "odd-"] {
        assert!(!text.contains(odd), "{odd} in the metrics:\n{text}");
    }
    // Nothing grows with more of them.
    let series = |t: &str| t.lines().filter(|l| !l.starts_with('#')).count();
    let before = series(&text);
    for i in 0..20 {
        let m = Method::from_bytes(format!("ODD{i}").as_bytes()).unwrap();
        app.send(m, &format!("/odd-{i}"), Some(None), None, None).await;
    }
    let again = app.send(Method::GET, "/metrics", Some(None), None, None).await.text();
    assert_eq!(series(&again), before, "{again}");
}

/// On the main address `/metrics` answers a direct local scrape only: a request relayed by a
/// proxy (with `X-Forwarded-For` or `Forwarded`, from a trusted proxy or not) gets the answer of
/// a path that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_not_for_relayed_requests() {
    for trusted in [false, true] {
        let config = sangathan_server::Config {
            trusted_proxies: if trusted {
                vec!["127.0.0.1".parse().unwrap()]
            } else {
                vec![]
            },
            ..Default::default()
        };
        let Some(app) = support::spawn_app_with(Backend::Sqlite, config).await else {
            return;
        };
        let direct = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(direct.status(), 200);
        assert!(direct.text().await.unwrap().contains("sangathan_members_enrolled"));
        let absent = app.client.get(app.url("/no-such-page")).send().await.unwrap();
        let absent_type = absent.headers().get("content-type").cloned();
        assert_eq!(absent.status(), 404);
        for (h, v) in [
            ("X-Forwarded-For", "203.0.113.7"),
            ("X-Forwarded-For", "127.0.0.1"),
            ("Forwarded", "for=203.0.113.7;proto=https"),
            ("X-Real-IP", "203.0.113.7"),
        ] {
            // With a token too: the figures are not for callers of the app.
            for token in [false, true] {
                let mut req = app.client.get(app.url("/metrics")).header(h, v);
                if token {
                    req = req.bearer_auth(&app.token);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), 404, "{h}: {v}, trusted: {trusted}, token: {token}");
                assert_eq!(r.headers().get("content-type"), absent_type.as_ref());
                let body = r.text().await.unwrap();
                assert!(!body.contains("sangathan_"), "{body}");
            }
        }
    }
}

/// On a dual-stack listener an IPv4 peer is `::ffff:127.0.0.1`: still the configured proxy
/// `127.0.0.1` (its `X-Forwarded-For` is believed), and still a local peer for `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapped_ipv4_peer_is_the_trusted_proxy() {
    let config = sangathan_server::Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Default::default()
    };
    let Some(app) = support::spawn_app_with(Backend::Sqlite, config.clone()).await else {
        return;
    };
    // The same database, served on `[::]` (dual-stack): IPv4 peers arrive mapped.
    let Ok(listener) = tokio::net::TcpListener::bind("[::]:0").await else {
        eprintln!("no IPv6 here: skipped");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let router = sangathan_server::router_with(app.store.clone(), config);
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    let base = format!("http://127.0.0.1:{port}");
    let id = app.enrol(&person("TS-AC-1"), &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let r = app
        .client
        .get(format!("{base}/api/v1/members/{id}"))
        .bearer_auth(&app.token)
        .header("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
        .send()
        .await;
    let Ok(r) = r else {
        eprintln!("the dual-stack listener does not take IPv4 here: skipped");
        server.abort();
        return;
    };
    assert_eq!(r.status(), 200);
    let mut seen = None;
    for _ in 0..100 {
        let events = app.store.audit_of_person(id, 10).await.unwrap();
        if let Some(e) = events.iter().find(|e| e.event.action.contains("view")) {
            seen = e.event.address.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen.as_deref(), Some("203.0.113.7"));
    let m = app.client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(m.status(), 200, "a mapped loopback peer scrapes locally");
    server.abort();
}
