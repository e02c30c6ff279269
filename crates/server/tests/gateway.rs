//! SMS and WhatsApp through an HTTP gateway (`SANGATHAN_SMS_URL`, `SANGATHAN_WHATSAPP_URL`):
//! the outbox delivered to a real HTTP server on loopback standing in for the relay, in both
//! of its forms (a JSON POST with a bearer token; a `{to}`/`{text}` URL template), failures
//! retried with back-off, and a configuration that cannot work refused at start.

#[allow(dead_code)]
#[path = "api/support.rs"]
mod support;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use sangathan_server::notify::{Providers, deliver};
use sangathan_store::meetings::Notice;
use sangathan_store::{Backend, clock};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use support::{key, person, spawn_app};

#[derive(Default)]
struct Gateway {
    /// What arrived: (path, bearer token, to, text).
    got: Vec<(String, Option<String>, String, String)>,
    /// Answer this status instead of 200.
    fail: Option<u16>,
}

type Shared = Arc<Mutex<Gateway>>;

fn answer(g: &Shared) -> StatusCode {
    g.lock().unwrap().fail.map(|s| StatusCode::from_u16(s).unwrap()).unwrap_or(StatusCode::OK)
}

async fn json_send(State(g): State<Shared>, headers: HeaderMap, body: axum::Json<serde_json::Value>) -> StatusCode {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(String::from);
    let to = body["to"].as_str().unwrap_or_default().to_string();
    let text = body["text"].as_str().unwrap_or_default().to_string();
    g.lock().unwrap().got.push(("/send".into(), token, to, text));
    answer(&g)
}

async fn template_send(State(g): State<Shared>, Query(q): Query<HashMap<String, String>>) -> StatusCode {
    let to = q.get("to").cloned().unwrap_or_default();
    let text = q.get("text").cloned().unwrap_or_default();
    g.lock().unwrap().got.push(("/cgi-bin/sendsms".into(), None, to, text));
    answer(&g)
}

async fn gateway() -> (String, Shared) {
    let g: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/send", post(json_send))
        .route("/cgi-bin/sendsms", get(template_send))
        .with_state(g.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (base, g)
}

fn providers(vars: &[(&str, String)]) -> anyhow::Result<Providers> {
    let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    Providers::from_vars(|k| m.get(k).cloned())
}

#[tokio::test]
async fn sms_goes_through_the_configured_gateway() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite");
    let p = person("TS-AC-1");
    let enrolled = app.enrol(&p, &key()).await.expect(201);
    let person_id = enrolled["person_id"].as_i64().unwrap();
    let (base, g) = gateway().await;
    let body = "बैठक कल 10 बजे है & please come \"on time\"";
    let notice = |k: &str| Notice { person_id, key: k.into(), subject: "बैठक / Meeting".into(), body: body.into() };

    // JSON POST with the bearer token.
    let json = providers(&[("SANGATHAN_SMS_URL", format!("{base}/send")), ("SANGATHAN_SMS_TOKEN", "s3cret-token".into())]).unwrap();
    assert_eq!(app.store.notify(&[notice("gw:1")], clock::now()).await.unwrap(), 1);
    let d = deliver(&app.store, &json).await.unwrap();
    assert_eq!((d.sent, d.failed), (1, 0), "{d:?}");
    {
        let got = &g.lock().unwrap().got;
        assert_eq!(got.len(), 1);
        let (path, token, to, text) = &got[0];
        assert_eq!(path, "/send");
        assert_eq!(token.as_deref(), Some("s3cret-token"));
        let mobile = p["mobile"].as_str().unwrap();
        assert!(to.ends_with(&mobile[mobile.len() - 10..]), "{to} is not {mobile}");
        assert_eq!(text, body);
    }
    // Sent once: the next round has nothing to send.
    assert_eq!(deliver(&app.store, &json).await.unwrap().sent, 0);

    // A URL template (Kannel's sendsms): a GET with the recipient and text encoded into it.
    let template = providers(&[(
        "SANGATHAN_SMS_URL",
        format!("{base}/cgi-bin/sendsms?username=u&password=p&to={{to}}&text={{text}}"),
    )])
    .unwrap();
    app.store.notify(&[notice("gw:2")], clock::now()).await.unwrap();
    assert_eq!(deliver(&app.store, &template).await.unwrap().sent, 1);
    {
        let got = &g.lock().unwrap().got;
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, "/cgi-bin/sendsms");
        assert_eq!(got[1].3, body, "the text survives the URL encoding");
    }

    // The gateway fails: the message is kept, counted as failed, and waits (back-off).
    g.lock().unwrap().fail = Some(503);
    app.store.notify(&[notice("gw:3")], clock::now()).await.unwrap();
    let d = deliver(&app.store, &json).await.unwrap();
    assert_eq!((d.sent, d.failed), (0, 1), "{d:?}");
    assert_eq!(deliver(&app.store, &json).await.unwrap().failed, 0, "retried only after its back-off");
    let due = app.store.outbox_due(clock::now() + chrono::Duration::minutes(30), 50).await.unwrap();
    assert_eq!(due.len(), 1, "still in the outbox, due again later");
    g.lock().unwrap().fail = None;
}

#[test]
fn a_gateway_that_cannot_work_is_refused_at_start() {
    let e = providers(&[("SANGATHAN_SMS_URL", "https://sms.example.com/send".into())]).err().expect("refused");
    assert!(e.to_string().contains("SANGATHAN_SMS_URL"), "{e}");
    let e = providers(&[("SANGATHAN_WHATSAPP_URL", "ftp://x".into())]).err().expect("refused");
    assert!(e.to_string().contains("SANGATHAN_WHATSAPP_URL"), "{e}");
    // Unset: SMS and WhatsApp only log; email waits for SMTP.
    let p = providers(&[]).unwrap();
    assert!(p.email.is_none());
}
