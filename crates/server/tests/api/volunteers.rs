//! The volunteer force over HTTP: a commander's programme and roster, volunteers answering and
//! checking in by code (twice is once), the summary, and a bulletin read, commented on and
//! moderated — with the moderation in the audit log.

use super::support::{App, key, spawn_app};
use chrono::{Duration, Utc};
use reqwest::Method;
use sangathan_core::access::Role;
use sangathan_core::ids::{Mobile, PersonName};
use sangathan_store::{Backend, NewPost, clock};
use serde_json::{Value, json};

async fn as_user(app: &App, token: &str, m: Method, path: &str, body: Option<&Value>) -> super::support::Answer {
    let auth = format!("Bearer {token}");
    app.send(m, path, Some(Some(&auth)), body, Some(&key())).await
}

/// A user (with posts, or none) who is also a volunteer-force member at `booth`.
async fn volunteer(app: &App, n: u64, booth: &str, posts: Vec<NewPost>) -> (i64, String) {
    let name = format!("Swayamsevak {n}");
    let mobile = format!("{}", 6_400_000_000u64 + n);
    let id = app
        .store
        .add_user(&PersonName::parse(&name).unwrap(), &Mobile::parse(&mobile).unwrap(), None, &posts, "admin")
        .await
        .unwrap();
    let e = app
        .enrol(&json!({"name": name, "mobile": mobile, "unit": booth, "wing": "volunteers"}), &key())
        .await
        .expect(201);
    assert_eq!(e["person_id"].as_i64(), Some(id), "the user and the volunteer are one person");
    (id, app.store.issue_user_token(id, "test").await.unwrap())
}

pub async fn volunteer_force_end_to_end(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let post = NewPost { role: Role::VolunteerCommander, unit: "TS-AC-1".into(), wing: "volunteers".into(), starts_on: clock::today() - Duration::days(1) };
    let (_, commander) = volunteer(&app, 1, "TS-AC-1-B0001", vec![post]).await;
    let (v1, t1) = volunteer(&app, 2, "TS-AC-1-B0002", vec![]).await;
    let (v2, t2) = volunteer(&app, 3, "TS-AC-1-B0003", vec![]).await;

    // A programme under way now; bad input names the field, in both languages.
    let now = Utc::now();
    let body = json!({"wing": "volunteers", "unit": "TS-AC-1", "venue": "TS-AC-1", "title": "Jan Sabha", "kind": "jan-sabha",
        "starts_at": now - Duration::hours(1), "ends_at": now + Duration::hours(3), "expected": 500});
    let mut bad_body = body.clone();
    bad_body["title"] = json!(" ");
    let bad = as_user(&app, &commander, Method::POST, "/api/v1/programmes", Some(&bad_body)).await;
    let e = bad.expect(422);
    assert_eq!(e["error"]["fields"]["title"].as_str().map(|s| !s.is_empty()), Some(true), "{e}");
    assert!(e["error"]["fields_hi"]["title"].is_string(), "{e}");
    let p = as_user(&app, &commander, Method::POST, "/api/v1/programmes", Some(&body)).await.expect(201);
    let pid = p["id"].as_i64().unwrap();
    let d = as_user(&app, &commander, Method::POST, &format!("/api/v1/programmes/{pid}/duties"), Some(&json!({"kind": "gate", "headcount": 3})))
        .await
        .expect(201);
    let did = d["id"].as_i64().unwrap();
    let filled = as_user(&app, &commander, Method::POST, &format!("/api/v1/duties/{did}/assign"), Some(&json!({}))).await.expect(200);
    assert_eq!((filled["filled"].as_i64(), filled["gap"].as_i64()), (Some(3), Some(0)), "{filled}");
    let on: Vec<i64> = filled["people"].as_array().unwrap().iter().map(|a| a["person_id"].as_i64().unwrap()).collect();
    assert!(on.contains(&v1) && on.contains(&v2), "{on:?}");

    // The volunteer sees the duty, confirms it, and shows their code at the gate.
    let mine = as_user(&app, &t1, Method::GET, "/api/v1/me/duties", None).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let ok = as_user(&app, &t1, Method::POST, &format!("/api/v1/duties/{did}/answer"), Some(&json!({"accept": true}))).await.expect(200);
    assert_eq!(ok["confirmed"].as_i64(), Some(1));
    as_user(&app, &t2, Method::POST, &format!("/api/v1/duties/{did}/answer"), Some(&json!({"accept": false}))).await.expect(200);
    let code = as_user(&app, &t1, Method::GET, "/api/v1/me/checkin-code", None).await.expect(200)["code"].as_str().unwrap().to_string();
    let svg = as_user(&app, &t1, Method::GET, "/api/v1/me/checkin-code.svg", None).await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(String::from_utf8_lossy(&svg.bytes).contains("<svg"));
    let first = as_user(&app, &commander, Method::POST, &format!("/api/v1/programmes/{pid}/checkin"), Some(&json!({"code": code}))).await.expect(200);
    assert_eq!(first["already"], json!(false));
    let again = as_user(&app, &commander, Method::POST, &format!("/api/v1/programmes/{pid}/checkin"), Some(&json!({"code": format!("SGV:{code}")}))).await.expect(200);
    assert_eq!((again["already"].clone(), again["in_at"].clone()), (json!(true), first["in_at"].clone()));
    // A volunteer may not check people in; the decliner is no longer on the roster.
    as_user(&app, &t1, Method::POST, &format!("/api/v1/programmes/{pid}/checkin"), Some(&json!({"code": code}))).await.expect_status(403);
    let c2 = as_user(&app, &t2, Method::GET, "/api/v1/me/checkin-code", None).await.expect(200)["code"].as_str().unwrap().to_string();
    let refused = as_user(&app, &commander, Method::POST, &format!("/api/v1/programmes/{pid}/checkin"), Some(&json!({"code": c2}))).await.expect(422);
    assert_eq!(refused["error"]["code"], "not_on_roster");
    let sum = as_user(&app, &commander, Method::GET, &format!("/api/v1/programmes/{pid}/summary"), None).await.expect(200);
    assert_eq!((sum["checked_in"].as_i64(), sum["duties"][0]["present"].as_i64()), (Some(1), Some(1)), "{sum}");
    let act = as_user(&app, &commander, Method::GET, "/api/v1/units/TS-AC-1/activation", None).await.expect(200);
    assert_eq!((act["unit"]["cadre"].as_i64(), act["unit"]["active"].as_i64()), (Some(3), Some(1)), "{act}");
    // The inactive are followed up: one list, and an outcome.
    let list = as_user(&app, &commander, Method::POST, "/api/v1/units/TS-AC-1/followups", Some(&json!({"assign_to": v1}))).await.expect(201);
    let fid = list[0]["id"].as_i64().unwrap();
    assert!(list[0]["call"].as_str().unwrap().starts_with("tel:+91"));
    let mine = as_user(&app, &t1, Method::GET, "/api/v1/me/followups", None).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), list.as_array().unwrap().len());
    let done = as_user(&app, &t1, Method::POST, &format!("/api/v1/followups/{fid}"), Some(&json!({"outcome": "will_come", "next_step": "Sunday"}))).await.expect(200);
    assert_eq!(done["outcome"], "will_come");

    // A bulletin: read twice, counted once; a comment hidden by the author stays in the audit log.
    let b = as_user(&app, &commander, Method::POST, "/api/v1/bulletins", Some(&json!({"unit": "TS-AC-1", "title": "Rally on Sunday", "body_hi": "रविवार को रैली", "pinned": true})))
        .await
        .expect(201);
    let bid = b["id"].as_i64().unwrap();
    assert_eq!(as_user(&app, &t1, Method::GET, "/api/v1/me/unread", None).await.expect(200)["bulletins"], 1);
    as_user(&app, &t1, Method::GET, &format!("/api/v1/bulletins/{bid}"), None).await.expect(200);
    let seen = as_user(&app, &t1, Method::GET, &format!("/api/v1/bulletins/{bid}"), None).await.expect(200);
    assert_eq!((seen["bulletin"]["views"].as_i64(), seen["moderator"].clone()), (Some(1), json!(false)));
    assert_eq!(as_user(&app, &t1, Method::GET, "/api/v1/me/unread", None).await.expect(200)["bulletins"], 0);
    let k = as_user(&app, &t2, Method::POST, &format!("/api/v1/bulletins/{bid}/comments"), Some(&json!({"body": "बेकार बात"}))).await.expect(201);
    let kid = k["id"].as_i64().unwrap();
    as_user(&app, &t1, Method::POST, &format!("/api/v1/bulletins/{bid}/comments/{kid}/hide"), Some(&json!({"reason": "x"}))).await.expect_status(404);
    let hidden = as_user(&app, &commander, Method::POST, &format!("/api/v1/bulletins/{bid}/comments/{kid}/hide"), Some(&json!({"reason": "Abusive"}))).await.expect(200);
    assert_eq!(hidden["hidden"], json!(true));
    let reader_view = as_user(&app, &t1, Method::GET, &format!("/api/v1/bulletins/{bid}"), None).await.expect(200);
    assert!(reader_view["comments"].as_array().unwrap().is_empty(), "{reader_view}");
    let mod_view = as_user(&app, &commander, Method::GET, &format!("/api/v1/bulletins/{bid}"), None).await.expect(200);
    assert_eq!(mod_view["comments"][0]["hidden_reason"], "Abusive");
    let audit = app.store.audit_of_person(v2, 50).await.unwrap();
    assert!(audit.iter().any(|r| r.event.action == "hide-comment" && r.event.record.as_deref().is_some_and(|x| x.contains("Abusive"))), "{audit:?}");
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// Programme 1 with duty 1, and bulletin 1: for the test that every documented route is served.
pub async fn seed(app: &App) {
    let now = Utc::now();
    let p = app
        .post("/api/v1/programmes", &json!({"wing": "volunteers", "unit": "TS", "venue": "TS-AC-1", "title": "Rally",
            "starts_at": now, "ends_at": now + Duration::hours(2)}))
        .await
        .expect(201);
    app.post(&format!("/api/v1/programmes/{}/duties", p["id"]), &json!({"kind": "stage", "headcount": 1})).await.expect(201);
    app.post("/api/v1/bulletins", &json!({"unit": "TS", "title": "News", "body_en": "Hello"})).await.expect(201);
}
