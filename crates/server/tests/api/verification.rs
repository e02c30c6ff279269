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

/// The newest missed-call request's code (what the member's phone shows after "YES").
async fn last_missed_call_code(app: &App) -> String {
    let items = app.store.outbox_due(clock::now() + Duration::hours(1), 50).await.unwrap();
    let body = items.iter().rev().find(|i| i.body.contains("YES ")).map(|i| i.body.clone()).expect("a missed-call message");
    let at = body.find("YES ").unwrap() + "YES ".len();
    body[at..at + 6].to_string()
}

/// A member confirms by a missed call or a reply SMS through the provider's webhook, which
/// needs its secret; "NO" rejects; a campaign that verifies only by officer refuses codes.
pub async fn missed_calls_replies_and_campaign_methods(backend: Backend) {
    let config = sangathan_server::Config { inbound_secret: Some("provider-secret-0123456789".into()), ..Default::default() };
    let Some(app) = super::support::spawn_app_with(backend, config).await else { return };
    let worker = user(&app, 11, Role::BoothPresident, "TS-AC-1-B0001").await;
    let mut ids = Vec::new();
    let mut mobiles = Vec::new();
    for i in 0..3 {
        let mut p = person("TS-AC-1-B0001");
        let mobile = format!("98765{:05}", 43_210 + i);
        p["mobile"] = json!(mobile);
        let e = as_user(&app, &worker, Method::POST, "/api/v1/members", Some(&p)).await.expect(201);
        let m = app.get(&format!("/api/v1/members/{}", e["person_id"])).await.expect(200);
        ids.push(m["memberships"][0]["id"].as_i64().unwrap());
        mobiles.push(mobile);
    }
    for id in &ids {
        as_user(&app, &worker, Method::POST, &format!("/api/v1/memberships/{id}/missed-call"), None).await.expect_status(202);
    }
    let hook = |body: Value, secret: &'static str| {
        let app = &app;
        async move {
            let res = app.client.post(app.url("/api/v1/provider/inbound")).header("x-inbound-secret", secret).json(&body).send().await.unwrap();
            let (status, headers) = (res.status(), res.headers().clone());
            super::support::Answer { status, headers, bytes: res.bytes().await.unwrap().to_vec() }
        }
    };
    // Without the provider's secret nothing happens.
    hook(json!({"from": mobiles[0], "kind": "missed_call"}), "wrong-secret-0000000000").await.expect_status(401);
    // A missed call from the member's mobile (as the network writes it) verifies.
    let r = hook(json!({"from": format!("+91 {}", mobiles[0]), "kind": "missed_call"}), "provider-secret-0123456789").await.expect(200);
    assert_eq!((r["verified"].as_u64(), r["rejected"].as_u64()), (Some(1), Some(0)), "{r}");
    assert_eq!(app.store.membership_state(ids[0]).await.unwrap().unwrap().status, "verified");
    let again = hook(json!({"from": mobiles[0], "kind": "missed_call"}), "provider-secret-0123456789").await.expect(200);
    assert_eq!(again["verified"], 0, "a second call changes nothing");
    // A reply with the code verifies; a reply with a wrong code is refused; gibberish is read, not acted on.
    let code = last_missed_call_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let w = hook(json!({"from": mobiles[2], "kind": "sms", "text": format!("YES {wrong}")}), "provider-secret-0123456789").await.expect(200);
    assert_eq!((w["wrong_code"].as_bool(), w["verified"].as_u64()), (Some(true), Some(0)), "answered, not refused: {w}");
    let huh = hook(json!({"from": mobiles[2], "kind": "sms", "text": "who is this?"}), "provider-secret-0123456789").await.expect(200);
    assert_eq!(huh["understood"], false);
    let yes = hook(json!({"from": mobiles[2], "kind": "sms", "text": format!("yes {code}")}), "provider-secret-0123456789").await.expect(200);
    assert_eq!(yes["verified"], 1, "{yes}");
    // "NO": the member never joined; the membership is rejected and stops counting.
    let before = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200)["unit"]["achieved"].as_i64().unwrap();
    let no = hook(json!({"from": mobiles[1], "kind": "sms", "text": "नहीं"}), "provider-secret-0123456789").await.expect(200);
    assert_eq!(no["rejected"], 1, "{no}");
    let after = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200)["unit"]["achieved"].as_i64().unwrap();
    assert_eq!(after, before - 1);
    assert_eq!(app.store.membership_state(ids[1]).await.unwrap().unwrap().status, "rejected");

    // A household shares one mobile: "NO" without a code says nobody's name, so nothing is
    // done; with the code it refuses exactly that membership.
    let mut home = Vec::new();
    for name in ["Sita Devi", "Gita Devi"] {
        let mut p = person("TS-AC-1-B0001");
        p["name"] = json!(name);
        p["mobile"] = json!("9876512345");
        let e = as_user(&app, &worker, Method::POST, "/api/v1/members", Some(&p)).await.expect(201);
        let m = app.get(&format!("/api/v1/members/{}", e["person_id"])).await.expect(200);
        let id = m["memberships"][0]["id"].as_i64().unwrap();
        as_user(&app, &worker, Method::POST, &format!("/api/v1/memberships/{id}/missed-call"), None).await.expect_status(202);
        home.push((id, last_missed_call_code(&app).await));
    }
    let vague = hook(json!({"from": "9876512345", "kind": "sms", "text": "NO"}), "provider-secret-0123456789").await.expect(200);
    assert_eq!((vague["needs_code"].as_bool(), vague["rejected"].as_u64()), (Some(true), Some(0)), "{vague}");
    let no = hook(json!({"from": "9876512345", "kind": "sms", "text": format!("NO {}", home[1].1)}), "provider-secret-0123456789").await.expect(200);
    assert_eq!(no["rejected"], 1, "{no}");
    assert_eq!(app.store.membership_state(home[1].0).await.unwrap().unwrap().status, "rejected");
    assert_eq!(app.store.membership_state(home[0].0).await.unwrap().unwrap().status, "pending");

    // A campaign verifying only by an officer's check: codes and missed calls are refused with
    // the field named, in both languages; the office-bearer's check works.
    let c = app
        .post(
            "/api/v1/campaigns",
            &json!({"code": "vol-check", "name": "Volunteers", "wing": "volunteers", "start_date": clock::today().to_string(),
                    "end_date": (clock::today() + Duration::days(30)).to_string(), "target_per_ac": 10, "verify_by": ["officer"]}),
        )
        .await
        .expect(201);
    assert_eq!(c["verify_by"], json!(["officer"]));
    let mut v = person("TS-AC-1-B0001");
    v["wing"] = json!("volunteers");
    let e = app.enrol(&v, &key()).await.expect(201);
    let m = app.get(&format!("/api/v1/members/{}", e["person_id"])).await.expect(200);
    let vid = m["memberships"].as_array().unwrap().iter().find(|m| m["wing"] == "volunteers").unwrap()["id"].as_i64().unwrap();
    let refused = app.post(&format!("/api/v1/memberships/{vid}/code"), &json!({})).await.expect(422);
    assert_eq!(refused["error"]["code"], "method_not_enabled", "{refused}");
    assert!(refused["error"]["fields"]["method"].as_str().is_some_and(|m| m.contains("officer")), "{refused}");
    assert!(refused["error"]["message_hi"].as_str().is_some_and(|m| m.contains("सत्यापन")));
    app.post(&format!("/api/v1/memberships/{vid}/missed-call"), &json!({})).await.expect(422);
    let ok = app.post(&format!("/api/v1/memberships/{vid}/status"), &json!({"status": "verified"})).await.expect(200);
    assert_eq!(ok["changed"], 1);
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// Enrollers ranked by verified members, not raw counts; imports are not enrollers; above an AC
/// the answer says to choose an AC.
pub async fn leaderboards_rank_by_verified(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let busy = user(&app, 21, Role::BoothPresident, "TS-AC-1-B0001").await;
    let careful = user(&app, 22, Role::BoothPresident, "TS-AC-1-B0002").await;
    let sector = user(&app, 23, Role::AcIncharge, "TS-AC-1").await;
    let mut enrol = |token: String, booth: &'static str| {
        let app = &app;
        async move {
            let e = as_user(app, &token, Method::POST, "/api/v1/members", Some(&person(booth))).await.expect(201);
            let m = app.get(&format!("/api/v1/members/{}", e["person_id"])).await.expect(200);
            m["memberships"][0]["id"].as_i64().unwrap()
        }
    };
    // Five from the busy one, two of them verified and three rejected; three from the careful
    // one, all verified: the careful one ranks first.
    let mut b = Vec::new();
    for _ in 0..5 {
        b.push(enrol(busy.clone(), "TS-AC-1-B0001").await);
    }
    let mut c = Vec::new();
    for _ in 0..3 {
        c.push(enrol(careful.clone(), "TS-AC-1-B0002").await);
    }
    let _ = &mut enrol;
    let set = |ids: &[i64], status: &str| json!({"ids": ids, "status": status, "reason": "checked at the door"});
    as_user(&app, &sector, Method::POST, "/api/v1/memberships/status", Some(&set(&b[..2], "verified"))).await.expect(200);
    as_user(&app, &sector, Method::POST, "/api/v1/memberships/status", Some(&set(&b[2..], "rejected"))).await.expect(200);
    as_user(&app, &sector, Method::POST, "/api/v1/memberships/status", Some(&set(&c, "verified"))).await.expect(200);
    let l = as_user(&app, &sector, Method::GET, "/api/v1/units/TS-AC-1/leaderboard", None).await.expect(200);
    let rows = l["enrollers"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{l}");
    assert_eq!((rows[0]["rank"].as_u64(), rows[0]["verified"].as_i64(), rows[0]["verified_percent"].as_f64()), (Some(1), Some(3), Some(100.0)));
    assert_eq!((rows[1]["verified"].as_i64(), rows[1]["rejected"].as_i64(), rows[1]["verified_percent"].as_f64()), (Some(2), Some(3), Some(40.0)));
    assert!(rows[0]["name"].as_str().is_some_and(|n| n.starts_with("Checker")), "{l}");
    let above = as_user(&app, &sector, Method::GET, "/api/v1/units/TS/leaderboard", None).await;
    above.expect_status(404);
    let admin_above = app.get("/api/v1/units/TS/leaderboard").await.expect(422);
    assert_eq!(admin_above["error"]["code"], "leaderboard_level");
}
