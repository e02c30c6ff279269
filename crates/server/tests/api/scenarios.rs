//! Each scenario once; `api.rs` runs every one on SQLite and on PostgreSQL.

use sangathan_store::Wings;

pub use super::meetings_api::meetings_scoped_reports_and_a_revocable_feed;
pub use super::volunteers_api::volunteer_force_end_to_end;
pub use super::verification_api::{
    epic_check_digit_is_a_warning, leaderboards_rank_by_verified, missed_calls_replies_and_campaign_methods, verification_queue_codes_and_batches,
};
use super::support::{key, person, spawn_app};
use reqwest::Method;
use sangathan_store::Backend;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every route the router serves: (method, OpenAPI path, a concrete path to call).
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("get", "/healthz", "/healthz"),
    ("get", "/api/v1/openapi.json", "/api/v1/openapi.json"),
    ("get", "/api/v1/units/{code}", "/api/v1/units/TS"),
    (
        "get",
        "/api/v1/units/{code}/children",
        "/api/v1/units/TS/children",
    ),
    (
        "get",
        "/api/v1/units/{code}/progress",
        "/api/v1/units/TS/progress",
    ),
    ("post", "/api/v1/members", "/api/v1/members"),
    ("get", "/api/v1/members", "/api/v1/members?unit=TS"),
    ("get", "/api/v1/members/{person_id}", "/api/v1/members/1"),
    ("get", "/api/v1/wings", "/api/v1/wings"),
    ("get", "/api/v1/campaigns", "/api/v1/campaigns"),
    ("post", "/api/v1/campaigns", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{code}", "/api/v1/campaigns/drive"),
    (
        "get",
        "/api/v1/units/{code}/duplicates",
        "/api/v1/units/TS/duplicates",
    ),
    ("post", "/api/v1/merges", "/api/v1/merges"),
    ("delete", "/api/v1/merges/{merge_id}", "/api/v1/merges/1"),
    ("get", "/api/v1/consent", "/api/v1/consent"),
    (
        "get",
        "/api/v1/units/{code}/sensitive",
        "/api/v1/units/TS/sensitive",
    ),
    ("post", "/api/v1/session", "/api/v1/session"),
    ("get", "/api/v1/session", "/api/v1/session"),
    ("delete", "/api/v1/session", "/api/v1/session"),
    ("post", "/api/v1/session/code", "/api/v1/session/code"),
    ("post", "/api/v1/me/code", "/api/v1/me/code"),
    ("post", "/api/v1/me/session", "/api/v1/me/session"),
    ("get", "/api/v1/me", "/api/v1/me"),
    ("post", "/api/v1/me/corrections", "/api/v1/me/corrections"),
    ("get", "/api/v1/units/{code}/corrections", "/api/v1/units/TS/corrections"),
    ("post", "/api/v1/corrections/{id}/apply", "/api/v1/corrections/1/apply"),
    ("post", "/api/v1/corrections/{id}/decline", "/api/v1/corrections/1/decline"),
    (
        "post",
        "/api/v1/me/consent/withdraw",
        "/api/v1/me/consent/withdraw",
    ),
    ("post", "/api/v1/me/erasure", "/api/v1/me/erasure"),
    ("post", "/api/v1/meetings/series", "/api/v1/meetings/series"),
    (
        "get",
        "/api/v1/meetings/series/{id}",
        "/api/v1/meetings/series/1",
    ),
    (
        "post",
        "/api/v1/meetings/series/{id}/plan",
        "/api/v1/meetings/series/1/plan",
    ),
    (
        "get",
        "/api/v1/meetings/series/{id}/ical",
        "/api/v1/meetings/series/1/ical",
    ),
    ("post", "/api/v1/meetings", "/api/v1/meetings"),
    ("get", "/api/v1/meetings/{id}", "/api/v1/meetings/1"),
    (
        "post",
        "/api/v1/meetings/{id}/move",
        "/api/v1/meetings/1/move",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/cancel",
        "/api/v1/meetings/1/cancel",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/chair",
        "/api/v1/meetings/1/chair",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/decline",
        "/api/v1/meetings/1/decline",
    ),
    (
        "put",
        "/api/v1/meetings/{id}/report",
        "/api/v1/meetings/1/report",
    ),
    (
        "get",
        "/api/v1/meetings/{id}/report",
        "/api/v1/meetings/1/report",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/report/acknowledge",
        "/api/v1/meetings/1/report/acknowledge",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/report/return",
        "/api/v1/meetings/1/report/return",
    ),
    ("get", "/api/v1/reports/inbox", "/api/v1/reports/inbox"),
    (
        "post",
        "/api/v1/meetings/escalate",
        "/api/v1/meetings/escalate",
    ),
    (
        "get",
        "/api/v1/units/{code}/compliance",
        "/api/v1/units/TS/compliance",
    ),
    (
        "get",
        "/api/v1/units/{code}/meetings",
        "/api/v1/units/TS/meetings",
    ),
    ("post", "/api/v1/calendar/feeds", "/api/v1/calendar/feeds"),
    (
        "delete",
        "/api/v1/calendar/feeds/{id}",
        "/api/v1/calendar/feeds/1",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/requests",
        "/api/v1/meetings/1/requests",
    ),
    (
        "get",
        "/api/v1/meetings/{id}/requests",
        "/api/v1/meetings/1/requests",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/requests/answer",
        "/api/v1/meetings/1/requests/answer",
    ),
    ("post", "/api/v1/charges", "/api/v1/charges"),
    ("get", "/api/v1/charges", "/api/v1/charges"),
    ("delete", "/api/v1/charges/{id}", "/api/v1/charges/1"),
    (
        "get",
        "/api/v1/units/{code}/digest",
        "/api/v1/units/TS/digest",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/contacts",
        "/api/v1/meetings/1/contacts",
    ),
    (
        "get",
        "/api/v1/units/{code}/contacts",
        "/api/v1/units/TS/contacts",
    ),
    (
        "post",
        "/api/v1/contacts/{id}/assign",
        "/api/v1/contacts/1/assign",
    ),
    (
        "post",
        "/api/v1/contacts/{id}/outcome",
        "/api/v1/contacts/1/outcome",
    ),
    (
        "post",
        "/api/v1/contacts/{id}/convert",
        "/api/v1/contacts/1/convert",
    ),
    ("delete", "/api/v1/contacts/{id}", "/api/v1/contacts/1"),
    ("post", "/api/v1/holidays", "/api/v1/holidays"),
    (
        "post",
        "/api/v1/units/{code}/unavailable",
        "/api/v1/units/TS-AC-1/unavailable",
    ),
    (
        "put",
        "/api/v1/wings/{code}/report-chain",
        "/api/v1/wings/party/report-chain",
    ),
    (
        "put",
        "/api/v1/users/{mobile}/email",
        "/api/v1/users/6300000090/email",
    ),
    (
        "get",
        "/api/v1/meetings/{id}/photos",
        "/api/v1/meetings/1/photos",
    ),
    (
        "put",
        "/api/v1/meetings/{id}/photos/{n}",
        "/api/v1/meetings/1/photos/1",
    ),
    (
        "get",
        "/api/v1/meetings/{id}/photos/{n}",
        "/api/v1/meetings/1/photos/1",
    ),
    (
        "delete",
        "/api/v1/meetings/{id}/photos/{n}",
        "/api/v1/meetings/1/photos/1",
    ),
    ("get", "/api/v1/talking-points", "/api/v1/talking-points"),
    ("post", "/api/v1/talking-points", "/api/v1/talking-points"),
    (
        "get",
        "/api/v1/talking-points/{id}",
        "/api/v1/talking-points/1",
    ),
    (
        "put",
        "/api/v1/talking-points/{id}",
        "/api/v1/talking-points/1",
    ),
    (
        "get",
        "/api/v1/talking-points/{id}/versions",
        "/api/v1/talking-points/1/versions",
    ),
    (
        "post",
        "/api/v1/meetings/{id}/talking-points",
        "/api/v1/meetings/1/talking-points",
    ),    ("post", "/api/v1/programmes", "/api/v1/programmes"),
    ("get", "/api/v1/units/{code}/programmes", "/api/v1/units/TS/programmes"),
    ("get", "/api/v1/programmes/{id}", "/api/v1/programmes/1"),
    ("post", "/api/v1/programmes/{id}/duties", "/api/v1/programmes/1/duties"),
    ("post", "/api/v1/duties/{id}/assign", "/api/v1/duties/1/assign"),
    ("post", "/api/v1/duties/{id}/answer", "/api/v1/duties/1/answer"),
    ("get", "/api/v1/me/duties", "/api/v1/me/duties"),
    ("get", "/api/v1/me/checkin-code", "/api/v1/me/checkin-code"),
    ("get", "/api/v1/me/checkin-code.svg", "/api/v1/me/checkin-code.svg"),
    ("post", "/api/v1/programmes/{id}/checkin", "/api/v1/programmes/1/checkin"),
    ("post", "/api/v1/programmes/{id}/checkout", "/api/v1/programmes/1/checkout"),
    ("post", "/api/v1/programmes/{id}/incidents", "/api/v1/programmes/1/incidents"),
    ("get", "/api/v1/programmes/{id}/summary", "/api/v1/programmes/1/summary"),
    ("post", "/api/v1/me/unavailable", "/api/v1/me/unavailable"),
    ("get", "/api/v1/units/{code}/activation", "/api/v1/units/TS/activation"),
    ("post", "/api/v1/units/{code}/followups", "/api/v1/units/TS/followups"),
    ("get", "/api/v1/units/{code}/followups", "/api/v1/units/TS/followups"),
    ("get", "/api/v1/me/followups", "/api/v1/me/followups"),
    ("post", "/api/v1/followups/{id}", "/api/v1/followups/1"),
    ("post", "/api/v1/bulletins", "/api/v1/bulletins"),
    ("get", "/api/v1/bulletins", "/api/v1/bulletins"),
    ("get", "/api/v1/bulletins/{id}", "/api/v1/bulletins/1"),
    ("post", "/api/v1/bulletins/{id}/comments", "/api/v1/bulletins/1/comments"),
    ("post", "/api/v1/bulletins/{id}/comments/{comment}/hide", "/api/v1/bulletins/1/comments/1/hide"),
    ("get", "/api/v1/me/unread", "/api/v1/me/unread"),
    ("get", "/api/v1/units/{code}/verification-queue", "/api/v1/units/TS/verification-queue"),
    ("post", "/api/v1/memberships/{id}/status", "/api/v1/memberships/1/status"),
    ("post", "/api/v1/memberships/status", "/api/v1/memberships/status"),
    ("post", "/api/v1/memberships/{id}/code", "/api/v1/memberships/1/code"),
    ("post", "/api/v1/memberships/{id}/code/confirm", "/api/v1/memberships/1/code/confirm"),
    ("post", "/api/v1/member-verification", "/api/v1/member-verification"),
    ("post", "/api/v1/provider/inbound", "/api/v1/provider/inbound"),
    ("post", "/api/v1/memberships/{id}/missed-call", "/api/v1/memberships/1/missed-call"),
    ("get", "/api/v1/units/{code}/flags", "/api/v1/units/TS/flags"),
    ("get", "/api/v1/units/{code}/leaderboard", "/api/v1/units/TS-AC-1/leaderboard"),
    ("post", "/api/v1/flags/{id}/resolve", "/api/v1/flags/1/resolve"),
    ("post", "/api/v1/flags/detect", "/api/v1/flags/detect"),
];

fn method(m: &str) -> Method {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes()).expect("method")
}

#[track_caller]
fn assert_error_shape(v: &Value, code: &str) {
    let e = &v["error"];
    assert_eq!(e["code"], code, "{v}");
    assert!(e["message"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(
        e["message_hi"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
}

#[track_caller]
fn assert_security_headers(a: &super::support::Answer) {
    assert_eq!(a.header("cache-control"), Some("no-store"));
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(a.header("referrer-policy"), Some("same-origin"));
}

pub async fn auth_required_everywhere(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let health = app
        .send(Method::GET, "/healthz", Some(None), None, None)
        .await;
    assert_eq!(health.expect(200), json!({"status": "ok"}));
    assert_security_headers(&health);

    let body = person("TS-AC-1-B0001");
    // Everything but health and the ways to log in.
    let mut paths: Vec<(&str, &str)> = ROUTES
        .iter()
        .filter(|r| !sangathan_server::auth::is_public(&method(r.0), r.1))
        .map(|r| (r.0, r.2))
        .collect();
    paths.push(("get", "/api/v1/no-such-route"));
    paths.push(("delete", "/api/v1/members/1"));
    for (m, path) in paths {
        for auth in [
            None,
            Some("Bearer nope"),
            Some("Bearer "),
            Some("Basic YWRtaW46YWRtaW4="),
            Some(app.token.as_str()),
        ] {
            let a = app
                .send(method(m), path, Some(auth), Some(&body), Some(&key()))
                .await;
            assert_eq!(a.status, 401, "{m} {path} with {auth:?}: {}", a.text());
            assert_eq!(a.header("www-authenticate"), Some("Bearer"), "{m} {path}");
            assert_error_shape(&a.json(), "unauthorized");
            assert_security_headers(&a);
        }
    }
    // Nothing was written by the refused enrolments.
    assert_eq!(app.member_count().await, 0);
    // The right token opens the door; an unknown route is then a JSON 404, a wrong method a 405.
    app.get("/api/v1/wings").await.expect(200);
    assert_error_shape(
        &app.get("/api/v1/no-such-route").await.expect(404),
        "not_found",
    );
    let a = app
        .send(Method::DELETE, "/api/v1/members/1", None, None, None)
        .await;
    assert_error_shape(&a.expect(405), "method_not_allowed");
}

pub async fn enrol_and_replay(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = person("ts-ac-1-b0001");
    let k = key();
    let first = app.enrol(&body, &k).await;
    let v = first.expect(201);
    assert_security_headers(&first);
    assert_eq!(v["unit"], "TS-AC-1-B0001");
    assert_eq!(v["wing"], "party");
    assert_eq!(v["created_membership"], true);
    assert!(
        v["membership_number"]
            .as_str()
            .is_some_and(|s| s.starts_with("TS-1-")),
        "{v}"
    );
    for _ in 0..2 {
        let again = app.enrol(&body, &k).await;
        assert_eq!(again.status, first.status);
        assert_eq!(
            again.bytes, first.bytes,
            "a replay answers byte for byte the same"
        );
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let list = app.get("/api/v1/members?unit=TS").await.expect(200);
    assert_eq!(list["members"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["next"], Value::Null);

    // The same key for another request is refused and writes nothing.
    let other = person("TS-AC-1-B0001");
    let a = app.enrol(&other, &k).await;
    assert_error_shape(&a.expect(409), "idempotency_key_reused");
    assert_eq!(app.member_count().await, 1);

    // The same person under a new key: already a member, same membership.
    let mut same = body.clone();
    same["mobile"] = json!(format!("+91 {}", body["mobile"].as_str().unwrap()));
    let a = app.enrol(&same, &key()).await.expect(200);
    assert_eq!(a["person_id"], v["person_id"]);
    assert_eq!(a["membership_number"], v["membership_number"]);
    assert_eq!(a["created_membership"], false);

    // The same person in another wing: a second membership.
    let mut wing = body.clone();
    wing["wing"] = json!("Volunteers");
    let w = app.enrol(&wing, &key()).await.expect(201);
    assert_eq!(w["person_id"], v["person_id"]);
    assert_eq!(w["wing"], "volunteers");
    assert_eq!(app.member_count().await, 2);
    let page = app
        .get("/api/v1/members?unit=TS-AC-1&wing=party")
        .await
        .expect(200);
    assert_eq!(page["members"].as_array().unwrap().len(), 1);

    // Missing or bad Idempotency-Key.
    let a = app
        .send(
            Method::POST,
            "/api/v1/members",
            None,
            Some(&person("TS-AC-1")),
            None,
        )
        .await
        .expect(422);
    assert_error_shape(&a, "idempotency_key_required");
    assert!(a["error"]["fields"]["idempotency_key"].is_string(), "{a}");
    let long = "k".repeat(201);
    let a = app.enrol(&person("TS-AC-1"), &long).await.expect(422);
    assert!(a["error"]["fields"]["idempotency_key"].is_string(), "{a}");
    assert!(
        a["error"]["fields_hi"]["idempotency_key"].is_string(),
        "{a}"
    );
    assert_eq!(app.member_count().await, 2);
}

pub async fn concurrent_enrolments_make_one_member(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = person("TS-AC-2-B0003");
    let answers = futures::future::join_all((0..50).map(|_| {
        let k = key();
        let app = &app;
        let body = &body;
        async move { app.enrol(body, &k).await }
    }))
    .await;
    let mut created = 0;
    let mut seen = BTreeSet::new();
    for a in &answers {
        assert!(
            a.status == 201 || a.status == 200,
            "{}: {}",
            a.status,
            a.text()
        );
        if a.status == 201 {
            created += 1;
        }
        let v = a.json();
        seen.insert((
            v["person_id"].as_i64().unwrap(),
            v["membership_number"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(created, 1, "exactly one answer creates the membership");
    assert_eq!(seen.len(), 1, "all answers agree: {seen:?}");
    let page = app
        .store
        .list_members("TS", &Wings::All, None, 500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.members.len(), 1);
    assert_eq!(page.members[0].person_id, seen.first().unwrap().0);
    let mismatches = app.store.verify().await.expect("verify");
    assert!(mismatches.is_empty(), "{mismatches:?}");
}

pub async fn validation_reports_every_field(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let good = person("TS-AC-1-B0001");
    let with = |field: &str, value: Value| {
        let mut b = good.clone();
        b[field] = value;
        b
    };
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "invalid mobile",
            with("mobile", json!("12345")),
            "mobile",
            "invalid_mobile",
        ),
        (
            "invalid EPIC",
            with("epic", json!("AB12")),
            "epic",
            "invalid_epic",
        ),
        (
            "empty name",
            with("name", json!("   ")),
            "name",
            "empty_name",
        ),
        (
            "missing name",
            with("name", Value::Null),
            "name",
            "empty_name",
        ),
        (
            "no identifiers",
            with("mobile", json!("")).tap(|b| b["epic"] = Value::Null),
            "mobile",
            "identifier_required",
        ),
        (
            "unknown unit",
            with("unit", json!("XX-AC-9")),
            "unit",
            "unknown_unit",
        ),
        (
            "malformed unit",
            with("unit", json!("not a code!")),
            "unit",
            "invalid_unit_code",
        ),
        (
            "missing unit",
            with("unit", json!(" ")),
            "unit",
            "unit_required",
        ),
        (
            "unknown booth",
            with("unit", json!("TS-AC-1-B0999")),
            "unit",
            "unknown_booth",
        ),
        (
            "district",
            with("unit", json!("TS-DT-HILL")),
            "unit",
            "not_a_booth_or_ac",
        ),
        (
            "unknown wing",
            with("wing", json!("cricket")),
            "wing",
            "unknown_wing",
        ),
        (
            "birth year 1800",
            with("birth_year", json!(1800)),
            "birth_year",
            "invalid_birth_year",
        ),
        (
            "birth year next year",
            with("birth_year", json!(9999)),
            "birth_year",
            "invalid_birth_year",
        ),
        (
            "gender",
            with("gender", json!("x")),
            "gender",
            "invalid_gender",
        ),
        (
            "address",
            with("address", json!("x".repeat(501))),
            "address",
            "address_too_long",
        ),
    ];
    for (what, body, field, code) in cases {
        let a = app.enrol(&body, &key()).await;
        let v = a.expect(422);
        assert_error_shape(&v, code);
        assert!(
            v["error"]["fields"][field]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{what}: {v}"
        );
        assert!(
            v["error"]["fields_hi"][field]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{what}: {v}"
        );
    }
    // Several bad fields at once: all listed.
    let bad = json!({"name": "", "mobile": "123", "epic": "E1", "gender": "q", "birth_year": 1800, "unit": "--"});
    let v = app.enrol(&bad, &key()).await.expect(422);
    let fields: BTreeSet<&str> = v["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["name", "mobile", "epic", "gender", "birth_year", "unit"]),
        "{v}"
    );
    let fields_hi: BTreeSet<&str> = v["error"]["fields_hi"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, fields_hi);
    // Bad fields and no key: the key is listed too.
    let a = app
        .send(Method::POST, "/api/v1/members", None, Some(&bad), None)
        .await
        .expect(422);
    assert!(
        a["error"]["fields"]["idempotency_key"].is_string()
            && a["error"]["fields"]["name"].is_string(),
        "{a}"
    );
    // Malformed JSON, a body of the wrong shape, or no JSON at all.
    let raw = |body: &'static str, ct: &'static str| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/api/v1/members"))
                .bearer_auth(&app.token)
                .header("Idempotency-Key", key())
                .header("Content-Type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    for (body, ct) in [
        ("{\"name\": ", "application/json"),
        ("{\"name\": 5}", "application/json"),
        ("[]", "application/json"),
        ("name=x", "text/plain"),
    ] {
        let (status, v) = raw(body, ct).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_error_shape(&v, "invalid_json");
    }
    // Too large.
    let mut huge = good.clone();
    huge["address"] = json!("x".repeat(70 * 1024));
    let a = app.enrol(&huge, &key()).await;
    assert_error_shape(&a.expect(413), "payload_too_large");
    assert_eq!(app.member_count().await, 0, "nothing was written");
    // Blank optional fields count as absent.
    let sparse = json!({"name": "Sita", "mobile": "", "epic": good["epic"], "gender": "", "address": " ", "unit": "TS-AC-1", "wing": ""});
    let v = app.enrol(&sparse, &key()).await.expect(201);
    assert_eq!(v["wing"], "party");
    assert_eq!(app.member_count().await, 1);
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}
impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

pub async fn members_by_id_and_list(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for path in [
        "/api/v1/members/999999",
        "/api/v1/members/abc",
        "/api/v1/members/-1",
        "/api/v1/members/1.5",
    ] {
        assert_error_shape(&app.get(path).await.expect(404), "not_found");
    }
    let v = app
        .enrol(&person("TS-AC-3-B0002"), &key())
        .await
        .expect(201);
    let id = v["person_id"].as_i64().unwrap();
    let m = app.get(&format!("/api/v1/members/{id}")).await.expect(200);
    assert_eq!(m["person_id"], id);
    assert_eq!(m["unit"], "TS-AC-3-B0002");
    assert_eq!(m["gender"], "F");
    assert!(m["mobile"].as_str().unwrap().starts_with("+9198"), "{m}");
    let ms = m["memberships"].as_array().unwrap();
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0]["membership_number"], v["membership_number"]);
    assert_eq!(ms[0]["channel"], "api");
    assert_eq!(ms[0]["enrolled_by"], "operator");

    // Paging.
    for _ in 0..4 {
        app.enrol(&person("TS-AC-3-B0002"), &key())
            .await
            .expect(201);
    }
    let mut seen = Vec::new();
    let mut url = "/api/v1/members?unit=ts-ac-3&limit=2".to_string();
    loop {
        let page = app.get(&url).await.expect(200);
        let members = page["members"].as_array().unwrap();
        assert!(members.len() <= 2);
        seen.extend(members.iter().map(|m| m["person_id"].as_i64().unwrap()));
        match page["next"].as_i64() {
            Some(c) => url = format!("/api/v1/members?unit=ts-ac-3&limit=2&after={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 5);
    let all = app
        .get("/api/v1/members?unit=TS&limit=100000")
        .await
        .expect(200);
    assert_eq!(all["members"].as_array().unwrap().len(), 5);
    assert_eq!(
        app.get("/api/v1/members?unit=TS-AC-4").await.expect(200)["members"],
        json!([])
    );

    // Bad list queries.
    let v = app.get("/api/v1/members").await.expect(422);
    assert!(v["error"]["fields"]["unit"].is_string(), "{v}");
    assert_error_shape(
        &app.get("/api/v1/members?unit=TS-AC-99").await.expect(404),
        "not_found",
    );
    for q in ["limit=abc", "limit=0", "after=x", "wing=cricket"] {
        let v = app
            .get(&format!("/api/v1/members?unit=TS&{q}"))
            .await
            .expect(422);
        assert!(v["error"]["fields"].is_object(), "{q}: {v}");
    }
}

pub async fn units_and_progress(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let u = app.get("/api/v1/units/ts-ac-1").await.expect(200);
    assert_eq!(u["code"], "TS-AC-1");
    assert_eq!(u["kind"], "ac");
    assert_eq!(u["pc"], "TS-PC-1");
    assert_error_shape(
        &app.get("/api/v1/units/TS-AC-77").await.expect(404),
        "not_found",
    );
    assert_error_shape(
        &app.get("/api/v1/units/TS-AC-77/children").await.expect(404),
        "not_found",
    );
    assert_error_shape(
        &app.get("/api/v1/units/TS-AC-77/progress").await.expect(404),
        "not_found",
    );
    let c = app.get("/api/v1/units/ts/children").await.expect(200);
    assert_eq!(c["unit"], "TS");
    let kids: BTreeSet<&str> = c["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["code"].as_str().unwrap())
        .collect();
    assert_eq!(kids, BTreeSet::from(["TS-DIV-NORTH", "TS-DIV-SOUTH"]));
    let wings = app.get("/api/v1/wings").await.expect(200);
    assert_eq!(wings["wings"].as_array().unwrap().len(), 3);

    // Enrol at booths and one at AC level.
    let mut enrolled = 0;
    for unit in [
        "TS-AC-1-B0001",
        "TS-AC-1-B0002",
        "TS-AC-3-B0001",
        "TS-AC-4-B0005",
        "TS-AC-1",
    ] {
        app.enrol(&person(unit), &key()).await.expect(201);
        enrolled += 1;
    }
    // Another wing does not count towards the party's drive.
    let mut vol = person("TS-AC-2-B0001");
    vol["wing"] = json!("volunteers");
    app.enrol(&vol, &key()).await.expect(201);

    let p = app.get("/api/v1/units/TS/progress").await.expect(200);
    assert_eq!(p["campaign"], "drive");
    assert_eq!(p["wing"], "party");
    assert!(p["as_of"].is_string());
    let rows = p["children"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{p}");
    assert!(rows.iter().all(|r| r["kind"] == "division"));
    assert_eq!(
        rows.iter()
            .map(|r| r["target"].as_i64().unwrap())
            .sum::<i64>(),
        4000
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["achieved"].as_i64().unwrap())
            .sum::<i64>(),
        enrolled
    );
    assert_eq!(p["unit"]["target"], 4000);
    assert_eq!(p["unit"]["achieved"], enrolled);

    let p = app
        .get("/api/v1/units/TS-AC-1/progress?campaign=drive")
        .await
        .expect(200);
    assert_eq!(p["unit"]["achieved"], 3);
    let rows = p["children"].as_array().unwrap();
    let unassigned: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "unassigned").collect();
    assert_eq!(unassigned.len(), 1, "{p}");
    assert_eq!(unassigned[0]["achieved"], 1);
    assert_eq!(
        rows.iter()
            .map(|r| r["achieved"].as_i64().unwrap())
            .sum::<i64>(),
        3
    );
    assert_eq!(
        rows.iter()
            .map(|r| r["target"].as_i64().unwrap())
            .sum::<i64>(),
        1000
    );

    let v = app
        .get("/api/v1/units/TS/progress?campaign=nope")
        .await
        .expect(422);
    assert!(v["error"]["fields"]["campaign"].is_string(), "{v}");
}

pub async fn campaigns(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let before = app.get("/api/v1/campaigns").await.expect(200);
    assert_eq!(before["campaigns"].as_array().unwrap().len(), 1);
    let drive = app.get("/api/v1/campaigns/drive").await.expect(200);
    assert_eq!(drive["target"], 4000);
    assert_error_shape(
        &app.get("/api/v1/campaigns/nope").await.expect(404),
        "not_found",
    );

    let new = json!({"code": "fed-2025", "name": "Federation drive", "name_hi": "संघ अभियान", "wing": "employees",
                     "start_date": "2025-01-01", "end_date": "2025-06-30", "target_per_ac": 500});
    let bad_cases = [
        (
            "end before start",
            json!({"end_date": "2024-12-31"}),
            "end_date",
        ),
        ("unknown wing", json!({"wing": "cricket"}), "wing"),
        ("bad code", json!({"code": "no spaces"}), "code"),
        (
            "bad date",
            json!({"start_date": "01/01/2025"}),
            "start_date",
        ),
        (
            "missing target",
            json!({"target_per_ac": null}),
            "target_per_ac",
        ),
        ("duplicate", json!({"code": "drive"}), "code"),
    ];
    for (what, patch, field) in bad_cases {
        let mut body = new.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let v = app.post("/api/v1/campaigns", &body).await.expect(422);
        assert!(v["error"]["fields"][field].is_string(), "{what}: {v}");
        assert!(!v["error"]["message_hi"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        app.get("/api/v1/campaigns").await.expect(200),
        before,
        "nothing written"
    );

    let c = app.post("/api/v1/campaigns", &new).await.expect(201);
    assert_eq!(c["code"], "fed-2025");
    assert_eq!(c["wing"], "employees");
    assert_eq!(c["target"], 2000);
    assert_eq!(c["start_date"], "2025-01-01");
    assert_eq!(app.get("/api/v1/campaigns/fed-2025").await.expect(200), c);
    assert_eq!(
        app.get("/api/v1/campaigns").await.expect(200)["campaigns"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let p = app
        .get("/api/v1/units/TS/progress?campaign=fed-2025")
        .await
        .expect(200);
    assert_eq!(p["wing"], "employees");
    assert_eq!(p["unit"]["target"], 2000);
}

pub async fn openapi_document(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let a = app.get("/api/v1/openapi.json").await;
    let doc = a.expect(200);
    assert!(
        a.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        doc,
        serde_json::to_value(sangathan_server::openapi()).unwrap(),
        "served = generated"
    );
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );

    // Every route is documented, and every documented operation is a route.
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.0.to_string(), r.1.to_string()))
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(m).is_some() {
                documented.insert((m.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(documented, expected);
    // ...and each is served: neither the 404 fallback nor a 405 (the member route gets a real id).
    let id = app.enrol(&person("TS-AC-1"), &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    // ...and the undo route a real merge (of a second record of that person, without an EPIC).
    let mut again = person("TS-AC-1");
    again["epic"] = json!("");
    let other = app.enrol(&again, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let merge_id = app
        .store
        .merge(other, id, "admin")
        .await
        .expect("merge")
        .merge_id;
    // ...and the meeting routes a series, its first meeting with a filed report, and a feed.
    super::meetings_api::seed(&app).await;
    super::volunteers_api::seed(&app).await;
    // ...and the correction routes a request about that person.
    let correction = app
        .store
        .request_correction(id, "address", "Ward 5")
        .await
        .unwrap();
    for (m, _, path) in ROUTES {
        let path = path
            .replace("/members/1", &format!("/members/{id}"))
            .replace("/merges/1", &format!("/merges/{merge_id}"))
            .replace("/corrections/1/", &format!("/corrections/{correction}/"));
        let a = app
            .send(method(m), &path, None, Some(&json!({})), Some(&key()))
            .await;
        assert!(
            a.status != 404 && a.status != 405,
            "{m} {path}: {}",
            a.status
        );
    }

    // Security: a bearer scheme, required globally, lifted for /healthz and the ways to log in only.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["type"],
        "http"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([{}]));
    for (m, path, _) in ROUTES
        .iter()
        .filter(|r| !sangathan_server::auth::is_public(&method(r.0), r.1))
    {
        assert!(
            doc["paths"][path][m].get("security").is_none(),
            "{m} {path} must not override security"
        );
    }

    // The main schemas exist, and every $ref resolves.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "EnrolRequest",
        "EnrolOutcome",
        "Member",
        "MemberPage",
        "Unit",
        "Progress",
        "ProgressRow",
        "Campaign",
        "NewCampaign",
        "ErrorBody",
    ] {
        assert!(
            schemas.contains_key(s),
            "schema {s} missing; have {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    // Request bodies and responses point at their schemas.
    assert_eq!(
        doc["paths"]["/api/v1/members"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/EnrolRequest"
    );
    assert_eq!(
        doc["paths"]["/api/v1/members"]["post"]["responses"]["201"]["content"]["application/json"]
            ["schema"]["$ref"],
        "#/components/schemas/EnrolOutcome"
    );
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_string());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// `GET /api/v1/members?unit=CODE&q=TEXT`: names in either script, mobiles, EPICs; scoped; ranked.
pub async fn search_in_both_scripts(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for (name, mobile, epic, unit) in [
        (
            "Ram Prakash Nishad",
            "9811100001",
            "RPN7654321",
            "TS-AC-1-B0001",
        ),
        ("राम प्रकाश", "9811100002", "", "TS-AC-2-B0001"),
        ("Laxmi Devi", "9811100003", "", "TS-AC-1-B0002"),
    ] {
        let body = serde_json::json!({"name": name, "mobile": mobile, "epic": epic, "unit": unit});
        app.enrol(&body, &key()).await.expect(201);
    }
    let names = |v: &Value| {
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let v = app.get("/api/v1/members?unit=TS&q=%E0%A4%B0%E0%A4%BE%E0%A4%AE%E0%A4%AA%E0%A5%8D%E0%A4%B0%E0%A4%95%E0%A4%BE%E0%A4%B6").await.expect(200); // रामप्रकाश
    let found = names(&v);
    assert!(
        found.contains(&"Ram Prakash Nishad".to_string())
            && found.contains(&"राम प्रकाश".to_string()),
        "{v}"
    );
    let v = app
        .get("/api/v1/members?unit=TS&q=lakshmi")
        .await
        .expect(200);
    assert_eq!(names(&v), vec!["Laxmi Devi"]);

    // The four ways of typing Ram Prakash (Nishad), each stored by someone: each typed finds each
    // stored, 16 pairs, a query longer than the stored name too (by its leading words), in the
    // whole state (ranked from names) and within the stored person's AC (memberships joined).
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let forms = [
        ("Ram Prakash Nishad", "TS-AC-1"),
        ("ram prakash", "TS-AC-3"),
        ("राम प्रकाश निषाद", "TS-AC-3"),
        ("रामप्रकाश", "TS-AC-4"),
    ];
    for (i, (name, ac)) in forms.iter().enumerate().skip(1) {
        let body = serde_json::json!({"name": name, "mobile": format!("98111001{i:02}"), "unit": format!("{ac}-B0001")});
        app.enrol(&body, &key()).await.expect(201);
    }
    for (q, _) in forms {
        let v = app
            .get(&format!("/api/v1/members?unit=TS&q={}", enc(q)))
            .await
            .expect(200);
        let found = names(&v);
        let ranks: Vec<u64> = v["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["rank"].as_u64().unwrap())
            .collect();
        assert!(ranks.windows(2).all(|p| p[0] >= p[1]), "{q}: {v}");
        // The name as typed first.
        assert_eq!(found.first().map(String::as_str), Some(q), "{q}: {v}");
        assert_eq!(ranks[0], 3, "{q}: {v}");
        for (stored, ac) in forms {
            assert!(
                found.iter().any(|n| n == stored),
                "{q} finds {stored} in TS: {v}"
            );
            let v = app
                .get(&format!("/api/v1/members?unit={ac}&q={}", enc(q)))
                .await
                .expect(200);
            assert!(
                names(&v).iter().any(|n| n == stored),
                "{q} finds {stored} in {ac}: {v}"
            );
        }
    }
    // Those holding the whole query come before its leading words alone.
    let v = app
        .get(&format!(
            "/api/v1/members?unit=TS&q={}",
            enc("Ram Prakash Nishad")
        ))
        .await
        .expect(200);
    let found = names(&v);
    assert_eq!(found[..2], ["Ram Prakash Nishad", "राम प्रकाश निषाद"], "{v}");
    assert_eq!(v["members"][1]["rank"], 2, "{v}");
    let mut rest = found[2..].to_vec();
    rest.sort();
    assert_eq!(rest, ["ram prakash", "राम प्रकाश", "रामप्रकाश"], "{v}");
    assert!(
        v["members"].as_array().unwrap()[2..]
            .iter()
            .all(|h| h["rank"] == 1),
        "{v}"
    );

    // Spelled as typed before a spelling variant of the same rank, both ways.
    for (i, (name, unit)) in [
        ("Lakshmi Devi", "TS-AC-3-B0001"),
        ("Shailendra Kumar", "TS-AC-1-B0002"),
        ("Shailender Kumar", "TS-AC-4-B0001"),
        ("Mohammad Rafi", "TS-AC-3-B0002"),
        ("Mohd Rafi", "TS-AC-1-B0001"),
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            serde_json::json!({"name": name, "mobile": format!("98111002{i:02}"), "unit": unit});
        app.enrol(&body, &key()).await.expect(201);
    }
    for (q, want) in [
        ("Laxmi", ["Laxmi Devi", "Lakshmi Devi"]),
        ("lakshmi", ["Lakshmi Devi", "Laxmi Devi"]),
        ("Shailendra", ["Shailendra Kumar", "Shailender Kumar"]),
        ("Shailender", ["Shailender Kumar", "Shailendra Kumar"]),
        ("Mohd", ["Mohd Rafi", "Mohammad Rafi"]),
        ("Mohammad", ["Mohammad Rafi", "Mohd Rafi"]),
    ] {
        let v = app
            .get(&format!("/api/v1/members?unit=TS&q={q}"))
            .await
            .expect(200);
        assert_eq!(names(&v), want, "{q}: {v}");
        assert_eq!(
            v["members"][0]["rank"], v["members"][1]["rank"],
            "the same rank: {q}: {v}"
        );
        // And within a unit holding both (memberships joined).
        if q.starts_with("Moh") {
            let v = app
                .get(&format!("/api/v1/members?unit=TS-DIV-NORTH&q={q}"))
                .await
                .expect(200);
            assert_eq!(names(&v), want, "{q}: {v}");
        }
    }
    let v = app
        .get("/api/v1/members?unit=TS&q=%2B91%2098111%2000001")
        .await
        .expect(200);
    assert_eq!(names(&v), vec!["Ram Prakash Nishad"]);
    assert_eq!(v["members"][0]["rank"], 3);
    let v = app
        .get("/api/v1/members?unit=TS&q=rpn%207654321")
        .await
        .expect(200);
    assert_eq!(names(&v), vec!["Ram Prakash Nishad"]);
    // Scoped: AC 2 holds only the Devanagari Ram Prakash.
    let v = app
        .get("/api/v1/members?unit=TS-AC-2&q=Ram%20Prakash")
        .await
        .expect(200);
    assert_eq!(names(&v), vec!["राम प्रकाश"]);
    app.get("/api/v1/members?unit=TS-AC-99&q=Ram")
        .await
        .expect(404);
}

/// `GET /api/v1/units/{code}/duplicates`, `POST /api/v1/merges`, `DELETE /api/v1/merges/{id}`.
pub async fn duplicates_merge_and_undo(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let booth = "TS-AC-2-B0001";
    let ram = app
        .enrol(
            &json!({"name": "Ram Prakash", "mobile": "9833300001", "epic": "RPA1234567", "unit": booth}),
            &key(),
        )
        .await
        .expect(201);
    let hi = app
        .enrol(
            &json!({"name": "राम प्रकाश", "mobile": "+91 98333 00001", "unit": booth, "wing": "employees"}),
            &key(),
        )
        .await
        .expect(201);
    let (a, b) = (
        ram["person_id"].as_i64().unwrap(),
        hi["person_id"].as_i64().unwrap(),
    );
    assert_ne!(a, b);

    // Review.
    let d = app
        .get("/api/v1/units/ts-ac-2/duplicates")
        .await
        .expect(200);
    assert_eq!(
        d,
        json!({"candidates": [{"a": a, "b": b, "a_name": "Ram Prakash", "b_name": "राम प्रकाश",
                               "reason": "same mobile, names match across scripts"}]})
    );
    assert_eq!(
        app.get("/api/v1/units/TS-AC-3/duplicates")
            .await
            .expect(200),
        json!({"candidates": []})
    );
    assert_error_shape(
        &app.get("/api/v1/units/TS-AC-99/duplicates")
            .await
            .expect(404),
        "not_found",
    );
    let v = app
        .get("/api/v1/units/TS/duplicates?limit=0")
        .await
        .expect(422);
    assert!(v["error"]["fields"]["limit"].is_string(), "{v}");

    // Refusals: every one a 422 naming the field, nothing written.
    let v = app.post("/api/v1/merges", &json!({})).await.expect(422);
    assert!(
        v["error"]["fields"]["from"].is_string() && v["error"]["fields"]["into"].is_string(),
        "{v}"
    );
    for (body, field, code) in [
        (json!({"from": a, "into": a}), "into", "same_person"),
        (
            json!({"from": a, "into": 999_999}),
            "into",
            "unknown_person",
        ),
    ] {
        let v = app.post("/api/v1/merges", &body).await.expect(422);
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["fields"][field].is_string(), "{v}");
        assert!(v["error"]["fields_hi"][field].is_string(), "{v}");
    }
    assert_error_shape(
        &app.post("/api/v1/merges", &json!({"from": "x", "into": b}))
            .await
            .expect(422),
        "invalid_json",
    );
    let other = app
        .enrol(
            &json!({"name": "Mohan", "mobile": "9833300002", "epic": "MOH7654321", "unit": booth}),
            &key(),
        )
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let v = app
        .post("/api/v1/merges", &json!({"from": a, "into": other}))
        .await
        .expect(422);
    assert_eq!(v["error"]["code"], "different_epics", "{v}");
    assert!(v["error"]["fields"]["epic"].is_string(), "{v}");

    // The merge.
    let before_a = app.get(&format!("/api/v1/members/{a}")).await.expect(200);
    let before_b = app.get(&format!("/api/v1/members/{b}")).await.expect(200);
    assert_eq!(before_a["merged_into"], Value::Null);
    let o = app
        .post("/api/v1/merges", &json!({"from": a, "into": b}))
        .await
        .expect(201);
    assert_eq!(o["from"], a);
    assert_eq!(o["into"], b);
    assert_eq!(o["moved_memberships"], json!([ram["membership_number"]]));
    assert_eq!(o["cancelled_memberships"], json!([]));
    assert_eq!(o["moved_identifiers"], json!(["epic"]));
    assert_eq!(o["undone"], false);
    let merge_id = o["merge_id"].as_i64().unwrap();
    let into = app.get(&format!("/api/v1/members/{b}")).await.expect(200);
    assert_eq!(into["epic"], "RPA1234567");
    assert_eq!(into["memberships"].as_array().unwrap().len(), 2);
    let merged = app.get(&format!("/api/v1/members/{a}")).await.expect(200);
    assert_eq!(merged["merged_into"], b);
    assert_eq!(merged["memberships"], json!([]));
    assert_eq!(
        app.get("/api/v1/units/ts-ac-2/duplicates")
            .await
            .expect(200),
        json!({"candidates": []})
    );
    let v = app
        .post("/api/v1/merges", &json!({"from": a, "into": b}))
        .await
        .expect(422);
    assert_eq!(v["error"]["code"], "already_merged", "{v}");
    assert!(app.store.verify().await.unwrap().is_empty());

    // The undo: both people exactly as before; a second undo is a conflict.
    let path = format!("/api/v1/merges/{merge_id}");
    let u = app
        .send(Method::DELETE, &path, None, None, None)
        .await
        .expect(200);
    assert_eq!(u["undone"], true);
    assert_eq!(u["merge_id"], merge_id);
    assert_eq!(u["moved_memberships"], o["moved_memberships"]);
    assert_eq!(
        app.get(&format!("/api/v1/members/{a}")).await.expect(200),
        before_a
    );
    assert_eq!(
        app.get(&format!("/api/v1/members/{b}")).await.expect(200),
        before_b
    );
    assert_error_shape(
        &app.send(Method::DELETE, &path, None, None, None)
            .await
            .expect(409),
        "conflict",
    );
    for missing in ["/api/v1/merges/999999", "/api/v1/merges/abc"] {
        assert_error_shape(
            &app.send(Method::DELETE, missing, None, None, None)
                .await
                .expect(404),
            "not_found",
        );
    }
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// A member asks for corrections of the fields a review applies (not the unit, said in English
/// and Hindi); a member who also reviews corrections may not apply their own request.
pub async fn member_corrections_are_reviewed_by_someone_else(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut p = person("TS-AC-1-B0001");
    p["name"] = json!("Kamla Devi");
    let mobile = p["mobile"].as_str().unwrap().to_string();
    let id = app.enrol(&p, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    // The member is also an AC in-charge (the same person: same name and mobile).
    let post = sangathan_store::NewPost {
        role: sangathan_store::Role::AcIncharge,
        unit: "TS-AC-1".into(),
        wing: "party".into(),
        starts_on: sangathan_store::clock::today(),
    };
    let name = sangathan_core::ids::PersonName::parse("Kamla Devi").unwrap();
    let parsed = sangathan_core::ids::Mobile::parse(&mobile).unwrap();
    let user = app
        .store
        .add_user(&name, &parsed, None, &[post], "test")
        .await
        .unwrap();
    assert_eq!(user, id);
    let token = format!(
        "Bearer {}",
        app.store.issue_user_token(user, "test").await.unwrap()
    );
    // A member session by one-time code.
    app.send(
        Method::POST,
        "/api/v1/me/code",
        Some(None),
        Some(&json!({"mobile": mobile})),
        None,
    )
    .await
    .expect(202);
    let sms = app.store.outbox(&format!("+91{mobile}")).await.unwrap();
    let code = sms.last().unwrap().split("code: ").nth(1).unwrap()[..6].to_string();
    let s = app
        .send(
            Method::POST,
            "/api/v1/me/session",
            Some(None),
            Some(&json!({"mobile": mobile, "code": code})),
            None,
        )
        .await;
    s.expect(201);
    let cookie = s
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = s.json()["csrf_token"].as_str().unwrap().to_string();
    let ask = |body: Value| {
        app.client
            .post(app.url("/api/v1/me/corrections"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    // The unit is not corrected this way: refused, naming the field, in both languages.
    let res = ask(json!({"field": "unit", "value": "TS-AC-2"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unit_not_correctable", "{body}");
    assert!(
        body["error"]["fields"]["field"]
            .as_str()
            .unwrap()
            .contains("unit")
    );
    assert!(
        body["error"]["fields_hi"]["field"]
            .as_str()
            .unwrap()
            .contains("इकाई")
    );
    assert!(app.store.corrections_of(id).await.unwrap().is_empty());
    // A field a review applies is filed...
    let res = ask(json!({"field": "address", "value": "Ward 9"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let req = app.store.corrections_of(id).await.unwrap()[0].id;
    // ...and the member, reviewing corrections too, may not apply it themselves.
    let a = app
        .send(
            Method::POST,
            &format!("/api/v1/corrections/{req}/apply"),
            Some(Some(&token)),
            Some(&json!({})),
            Some(&key()),
        )
        .await;
    let err = a.expect(422);
    assert_eq!(err["error"]["code"], "own_correction", "{err}");
    assert!(
        err["error"]["fields_hi"]["correction"]
            .as_str()
            .unwrap()
            .contains("आपने माँगा")
    );
    // Someone else applies it; then it is decided, said in both languages.
    let path = format!("/api/v1/corrections/{req}/apply");
    app.send(Method::POST, &path, None, Some(&json!({})), Some(&key()))
        .await
        .expect(200);
    let again = app
        .send(Method::POST, &path, None, Some(&json!({})), Some(&key()))
        .await;
    let err = again.expect(422);
    assert_eq!(err["error"]["code"], "correction_decided", "{err}");
    assert!(
        err["error"]["fields_hi"]["correction"]
            .as_str()
            .unwrap()
            .contains("पहले ही")
    );
    assert_eq!(
        app.store
            .member(id)
            .await
            .unwrap()
            .unwrap()
            .address
            .as_deref(),
        Some("Ward 9")
    );
}

/// While a first load is pending (another process's `import` into the empty database), an API
/// enrolment is refused with 503 `first_load_pending`, in English and Hindi, and writes nothing;
/// the same request (same key) goes through once the load's indexes are built.
pub async fn enrolments_wait_for_a_first_load(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let loader = sangathan_store::open(&app.db_url()).await.expect("a second store");
    assert!(loader.defer_indexes().await.expect("defer"), "an empty database starts a first load");
    let body = person("TS-AC-1-B0001");
    let k = key();
    let err = app.enrol(&body, &k).await.expect(503);
    assert_eq!(err["error"]["code"], "first_load_pending", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("first load"), "{err}");
    assert!(err["error"]["message_hi"].as_str().unwrap().contains("पहला लोड"), "{err}");
    assert_eq!(app.member_count().await, 0);
    assert!(loader.restore_indexes().await.expect("build"));
    let ok = app.enrol(&body, &k).await.expect(201);
    assert_eq!(ok["created_membership"], true, "{ok}");
    assert_eq!(app.member_count().await, 1);
}
