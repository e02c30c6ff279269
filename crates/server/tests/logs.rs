//! What the server logs: routes, statuses and latencies, never personal data. A test binary of its
//! own because it installs a process-wide subscriber (a thread-local one misses events whose
//! callsites another test thread registered first).

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use reqwest::Method;
use sangathan_store::Backend;
use serde_json::json;
use std::sync::{Arc, Mutex, OnceLock};
use support::{key, person, spawn_app};

/// Everything every test of this binary logged, at every level.
fn capture() -> Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        #[derive(Clone)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Buf(buf.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_logs_carry_no_personal_data() {
    logs_carry_no_personal_data(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logs_carry_no_personal_data() {
    logs_carry_no_personal_data(Backend::Postgres).await
}

/// Everything logged while serving (at every level) names routes, statuses and
/// latencies, never the person, the query string or the token.
async fn logs_carry_no_personal_data(backend: Backend) {
    let buf = capture();
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = person("TS-AC-1-B0001");
    let v = app.enrol(&body, &key()).await.expect(201);
    let id = v["person_id"].as_i64().unwrap();
    app.get(&format!("/api/v1/members/{id}")).await.expect(200);
    app.get("/api/v1/members?unit=TS-AC-1&limit=7")
        .await
        .expect(200);
    let mut bad = body.clone();
    bad["mobile"] = json!("5839012399");
    app.enrol(&bad, &key()).await.expect(422);
    app.send(
        Method::GET,
        "/api/v1/wings",
        Some(Some("Bearer sgn_not_a_real_token")),
        None,
        None,
    )
    .await
    .expect(401);

    let logs = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/api/v1/members/{person_id}"),
        "the matched route is logged:\n{logs}"
    );
    assert!(
        logs.contains("status=201") && logs.contains("status=422"),
        "statuses are logged:\n{logs}"
    );
    assert!(logs.contains("latency="), "latency is logged:\n{logs}");
    let mobile = body["mobile"].as_str().unwrap();
    for secret in [
        body["name"].as_str().unwrap(),
        &mobile[2..],
        body["epic"].as_str().unwrap(),
        body["address"].as_str().unwrap(),
        "5839012399",
        "limit=7",
        "unit=TS-AC-1",
        &format!("/api/v1/members/{id}"),
        &app.token,
        "sgn_not_a_real_token",
    ] {
        assert!(!logs.contains(secret), "{secret:?} was logged:\n{logs}");
    }
}
