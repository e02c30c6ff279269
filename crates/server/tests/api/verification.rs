//! Verification over HTTP: a worker enrols, sends the member a code and types it back (verified
//! once); a sector in-charge works the queue and rejects a batch (counters exact); nobody
//! verifies their own enrolment; the member confirms through their link without logging in.

use super::support::{App, key, person, spawn_app};
use chrono::Duration;
use reqwest::Method;
use sangathan_core::access::Role;
use sangathan_core::ids::{Mobile, PersonName};
use sangathan_store::{Backend, NewPost, clock};
use serde_json::{Value, json};

async fn as_user(app: &App, token: &str, m: Method, path: &str, body: Option<&Value>) -> super::support::Answer {
    let auth = format!("Bearer {token}");
    app.send(m, path, Some(Some(&auth)), body, Some(&key())).await
}

async fn user(app: &App, n: u64, role: Role, unit: &str) -> String {
    let post = NewPost { role, unit: unit.into(), wing: "party".into(), starts_on: clock::today() - Duration::days(1) };
    let id = app
        .store
        .add_user(&PersonName::parse(&format!("Checker {n}")).unwrap(), &Mobile::parse(&format!("{}", 6_500_000_000u64 + n)).unwrap(), None, &[post], "admin")
        .await
        .unwrap();
    app.store.issue_user_token(id, "test").await.unwrap()
}

/// The code in the newest verification message (what the member's phone shows).
async fn last_code(app: &App) -> (String, String) {
    let items = app.store.outbox_due(clock::now() + Duration::hours(1), 50).await.unwrap();
    let body = items.iter().rev().find(|i| i.body.contains("/m/verify/")).map(|i| i.body.clone()).expect("a verification message");
    let at = body.find("कोड: ").unwrap() + "कोड: ".len();
    let t = body.find("/m/verify/").unwrap() + "/m/verify/".len();
    (body[at..at + 6].to_string(), body[t..t + 32].to_string())
}

pub async fn verification_queue_codes_and_batches(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let booth_worker = user(&app, 1, Role::BoothPresident, "TS-AC-1-B0001").await;
    let sector = user(&app, 2, Role::SectorIncharge, "TS-AC-1-S01").await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        let e = as_user(&app, &booth_worker, Method::POST, "/api/v1/members", Some(&person("TS-AC-1-B0001"))).await.expect(201);
        let m = app.get(&format!("/api/v1/members/{}", e["person_id"])).await.expect(200);
        ids.push(m["memberships"][0]["id"].as_i64().unwrap());
    }
    // The worker may not verify what they enrolled; a booth president may not verify at all.
    let own = as_user(&app, &booth_worker, Method::POST, &format!("/api/v1/memberships/{}/status", ids[0]), Some(&json!({"status": "verified"}))).await;
    own.expect_status(403);
    // The worker sends the member a code and types back what the member reads out.
    as_user(&app, &booth_worker, Method::POST, &format!("/api/v1/memberships/{}/code", ids[0]), None).await.expect_status(202);
    let (code, _) = last_code(&app).await;
    // The enroller may not type it back themself (one phone on many fakes); the sector in-charge may.
    let own = as_user(&app, &booth_worker, Method::POST, &format!("/api/v1/memberships/{}/code/confirm", ids[0]), Some(&json!({"code": code}))).await.expect(422);
    assert_eq!(own["error"]["code"], "own_enrolment");
    let ok = as_user(&app, &sector, Method::POST, &format!("/api/v1/memberships/{}/code/confirm", ids[0]), Some(&json!({"code": code}))).await.expect(200);
    assert_eq!(ok["status"], "verified");
    let again = as_user(&app, &sector, Method::POST, &format!("/api/v1/memberships/{}/code/confirm", ids[0]), Some(&json!({"code": code}))).await.expect(422);
    assert_eq!(again["error"]["code"], "not_pending");
    assert!(again["error"]["message_hi"].as_str().is_some_and(|m| !m.is_empty()));
    // The member confirms through their link, without logging in.
    as_user(&app, &booth_worker, Method::POST, &format!("/api/v1/memberships/{}/code", ids[1]), None).await.expect_status(202);
    let (code, token) = last_code(&app).await;
    let bad = app.send(Method::POST, "/api/v1/member-verification", Some(None), Some(&json!({"token": token, "code": "000000"})), None).await;
    if code != "000000" {
        assert_eq!(bad.expect(422)["error"]["code"], "wrong_code");
    }
    let me = app.send(Method::POST, "/api/v1/member-verification", Some(None), Some(&json!({"token": token, "code": code})), None).await.expect(200);
    assert_eq!(me["status"], "verified");
    app.send(Method::POST, "/api/v1/member-verification", Some(None), Some(&json!({"token": "nope", "code": code})), None).await.expect_status(404);

    // The sector in-charge's queue holds the two still pending; they reject them as a batch.
    let q = as_user(&app, &sector, Method::GET, "/api/v1/units/TS-AC-1-S01/verification-queue", None).await.expect(200);
    let pending: Vec<i64> = q["members"].as_array().unwrap().iter().map(|m| m["membership_id"].as_i64().unwrap()).collect();
    assert_eq!(pending, ids[2..].to_vec());
    as_user(&app, &sector, Method::GET, "/api/v1/units/TS-AC-2/verification-queue", None).await.expect_status(404);
    let before = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    let no_reason = as_user(&app, &sector, Method::POST, "/api/v1/memberships/status", Some(&json!({"ids": pending, "status": "rejected"}))).await.expect(422);
    assert_eq!(no_reason["error"]["code"], "reason_required");
    let done = as_user(&app, &sector, Method::POST, "/api/v1/memberships/status", Some(&json!({"ids": pending, "status": "rejected", "reason": "enrolled from one phone in a run"})))
        .await
        .expect(200);
    assert_eq!(done["changed"], 2);
    let after = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    assert_eq!(after["unit"]["achieved"].as_i64().unwrap(), before["unit"]["achieved"].as_i64().unwrap() - 2);
    assert_eq!(after["unit"]["verified"].as_i64(), Some(2));
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// An EPIC whose check digit does not hold is accepted with a warning (older cards have none).
pub async fn epic_check_digit_is_a_warning(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let digits = "123456";
    let check = sangathan_core::ids::luhn_check_digit(digits);
    let good = format!("ABC{digits}{check}");
    let bad = format!("ABC{digits}{}", (check + 1) % 10);
    let mut p = person("TS-AC-1-B0001");
    p["epic"] = json!(good);
    let ok = app.enrol(&p, &key()).await.expect(201);
    assert!(ok.get("warnings").is_none(), "{ok}");
    let mut q = person("TS-AC-1-B0001");
    q["epic"] = json!(bad);
    let warned = app.enrol(&q, &key()).await.expect(201);
    assert_eq!(warned["warnings"][0]["code"], "epic_check_digit", "{warned}");
    assert_eq!(warned["warnings"][0]["field"], "epic");
    assert!(warned["warnings"][0]["hi"].as_str().is_some_and(|h| !h.is_empty()));
}
