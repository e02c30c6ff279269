//! The web pages against a real server on a real database (SQLite, and PostgreSQL when
//! `SANGATHAN_TEST_PG_URL` is set): sessions, CSRF on form posts, scope, audit, language.
//! The browser suite (`e2e/`) drives the same pages through Chromium.

#[path = "api/support.rs"]
#[allow(dead_code)] // shared with the other test binaries, which use all of it
mod support;

use reqwest::redirect::Policy;
use sangathan_store::{Backend, NewPost, Role, clock};
use support::{App, key, person, spawn_app};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(sangathan_store::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(sangathan_store::Backend::Postgres).await
                }
            )*
        }
    };
}

on_both_backends!(
    pages_need_a_session_and_speak_hindi_first,
    page_forms_need_the_csrf_token_and_retries_land_once,
    member_pages_are_scoped_and_audited,
);

/// A browser-like client: no automatic redirects, cookies sent by hand.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// An AC in-charge of TS-AC-1 with a password; logs in through the login form.
async fn officer(app: &App) -> (i64, String) {
    let hash = sangathan_server::auth::hash_password("correct horse").unwrap();
    let name = sangathan_core::ids::PersonName::parse("Asha Verma").unwrap();
    let mobile = sangathan_core::ids::Mobile::parse("9811100001").unwrap();
    let post = NewPost {
        role: Role::AcIncharge,
        unit: "TS-AC-1".into(),
        wing: "party".into(),
        starts_on: clock::today(),
    };
    let id = app
        .store
        .add_user(&name, &mobile, Some(&hash), &[post], "test")
        .await
        .unwrap();
    let res = client()
        .post(app.url("/login"))
        .form(&[
            ("mobile", "9811100001"),
            ("password", "correct horse"),
            ("next", "/enrol"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/enrol");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (id, cookie)
}

async fn page(app: &App, path: &str, cookie: &str) -> (u16, String) {
    let res = client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The session's CSRF token, as a page carries it.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf-token\" content=\"").unwrap() + 27;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

async fn pages_need_a_session_and_speak_hindi_first(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // No session: every page sends the reader to the login page, and back afterwards.
    for path in ["/", "/enrol", "/members", "/units/TS", "/map"] {
        let res = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(
            res.headers()["location"].to_str().unwrap(),
            format!("/login?next={path}")
        );
    }
    // Hindi unless the reader chose English (remembered in a cookie).
    let (status, hi) = page(&app, "/login", "").await;
    assert_eq!(status, 200);
    assert!(hi.contains("<html lang=\"hi\">") && hi.contains("लॉग इन"));
    let res = client()
        .get(app.url("/lang/en?next=/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("sangathan_lang=en;"), "{set}");
    let (_, en) = page(&app, "/login", "sangathan_lang=en").await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Log in"));
    // The language switch never sends the reader to another site.
    let res = client()
        .get(app.url("/lang/en?next=//evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
    // Unknown pages are pages; unknown API paths stay JSON and need a token.
    let (status, body) = page(&app, "/no-such-page", "").await;
    assert_eq!(status, 404);
    assert!(body.contains("<!doctype html>"));
    let api = client().get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(api.status(), 401);
    // Every answer forbids loading anything from another host.
    let res = client().get(app.url("/login")).send().await.unwrap();
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("connect-src 'self'"));
}

async fn page_forms_need_the_csrf_token_and_retries_land_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // A login form posted from another site is refused.
    let res = client()
        .post(app.url("/login"))
        .header("origin", "http://evil.example")
        .form(&[("mobile", "9811100001"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (_, cookie) = officer(&app).await;
    let (status, html) = page(&app, "/enrol", &cookie).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let booth = "3";
    let mut form = vec![
        ("name", "Ram Prakash Nishad".to_string()),
        ("mobile", "9839012345".into()),
        ("gender", "M".into()),
        ("birth_year", "1980".into()),
        ("ac", "TS-AC-1".into()),
        ("booth", booth.into()),
        ("wing", "party".into()),
        ("notice_shown", "1".into()),
        ("key", key()),
    ];
    let before = app.member_count().await;
    // Without the session's token: refused, nothing written.
    for token in [None, Some("wrong")] {
        let mut f = form.clone();
        if let Some(t) = token {
            f.push(("_csrf", t.into()));
        }
        let res = client()
            .post(app.url("/enrol"))
            .header("cookie", &cookie)
            .form(&f)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
    assert_eq!(app.member_count().await, before);
    // With it: enrolled; the same form posted again (a double tap) lands once.
    form.push(("_csrf", csrf.clone()));
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let res = client()
            .post(app.url("/enrol"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let at = html.find("id=\"done-number\">").unwrap() + 17;
        numbers.push(html[at..at + html[at..].find('<').unwrap()].to_string());
    }
    assert!(numbers[0].starts_with("TS-"), "{numbers:?}");
    assert_eq!(numbers[0], numbers[1]);
    assert_eq!(app.member_count().await, before + 1);
    // Invalid input: every field's reason in the reader's language, nothing written.
    let bad = [
        ("_csrf", csrf.as_str()),
        ("key", "k-bad"),
        ("name", " "),
        ("mobile", "12345"),
        ("ac", "TS-AC-1"),
        ("notice_shown", "1"),
    ];
    let res = client()
        .post(app.url("/enrol"))
        .header("cookie", &cookie)
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"name-err\">नाम"),
        "the name's reason in Hindi"
    );
    assert!(html.contains("id=\"mobile-err\">") && html.contains("मोबाइल"));
    assert_eq!(app.member_count().await, before + 1);
    // Logging out needs the token too, and ends the session.
    let res = client()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let (status, _) = page(&app, "/enrol", &cookie).await;
    assert_eq!(status, 303);
}

async fn member_pages_are_scoped_and_audited(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (officer_id, cookie) = officer(&app).await;
    let (mine_body, other_body) = (person("TS-AC-1"), person("TS-AC-2"));
    let mine = app.enrol(&mine_body, &key()).await.expect(201);
    let other = app.enrol(&other_body, &key()).await.expect(201);
    // While typing: a mobile already recorded in the enroller's units is flagged, with the name
    // for those who may see members; one recorded elsewhere is not (nothing leaks out of scope).
    let check = |v: &serde_json::Value| {
        format!(
            "/enrol/check?value={}",
            v["mobile"].as_str().unwrap().to_string()
        )
    };
    let (status, body) = page(&app, &check(&mine_body), &cookie).await;
    assert_eq!(status, 200);
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["recorded"], true);
    assert!(
        found["members"][0]
            .as_str()
            .unwrap()
            .contains("Test Person")
    );
    let (_, body) = page(&app, &check(&other_body), &cookie).await;
    let found: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["recorded"], false);
    // A fragment is not looked up.
    let (status, _) = page(&app, "/enrol/check?value=98", &cookie).await;
    assert_eq!(status, 422);
    let (mine, other) = (
        mine["person_id"].as_i64().unwrap(),
        other["person_id"].as_i64().unwrap(),
    );
    let (status, html) = page(&app, &format!("/members/{mine}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Test Person"));
    // Outside the scope: answered exactly like a person that does not exist.
    let (s1, hidden) = page(&app, &format!("/members/{other}"), &cookie).await;
    let (s2, none) = page(&app, "/members/999999999", &cookie).await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(hidden, none);
    let (status, _) = page(&app, "/units/TS-AC-2", &cookie).await;
    assert_eq!(status, 404);
    let (status, _) = page(&app, "/units/TS-AC-1", &cookie).await;
    assert_eq!(status, 200);
    // Both looks are in the audit log, under the officer's name; the hidden one as denied.
    let trail = app.store.audit_of_person(mine, 50).await.unwrap();
    assert!(
        trail.iter().any(|e| e.event.action == "view-member"
            && e.event.actor == format!("person:{officer_id}")
            && e.event.outcome == "ok"),
        "{trail:?}"
    );
    // The hidden look is in the log as denied, under the officer's name (not anonymous), as is
    // a form post without the CSRF token.
    let res = client()
        .post(app.url(&format!("/members/{mine}/correction")))
        .header("cookie", &cookie)
        .form(&[("field", "name"), ("value", "X")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let recent = app
        .store
        .audit_before(chrono::Utc::now() + chrono::Duration::minutes(1), 50)
        .await
        .unwrap();
    let officer = format!("person:{officer_id}");
    let denied: Vec<_> = recent
        .iter()
        .filter(|e| e.event.outcome == "denied")
        .collect();
    assert!(
        denied.iter().any(|e| e.event.actor == officer
            && e.event.action.contains("/members/{id}")
            && !e.event.action.contains("correction")),
        "{denied:?}"
    );
    assert!(
        denied
            .iter()
            .any(|e| e.event.actor == officer && e.event.action.contains("correction")),
        "{denied:?}"
    );
    assert!(
        denied.iter().all(|e| e.event.actor != "anonymous"),
        "{denied:?}"
    );
    // Search in the other script finds the member enrolled in Latin letters.
    let mut ram = person("TS-AC-1-B0002");
    ram["name"] = "Ram Prakash Nishad".into();
    let ram = app.enrol(&ram, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let q = "%E0%A4%B0%E0%A4%BE%E0%A4%AE%20%E0%A4%AA%E0%A5%8D%E0%A4%B0%E0%A4%95%E0%A4%BE%E0%A4%B6%20%E0%A4%A8%E0%A4%BF%E0%A4%B7%E0%A4%BE%E0%A4%A6";
    let (status, list) = page(&app, &format!("/members?unit=TS-AC-1&q={q}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("href=\"/members/{ram}\"")), "{list}");
    assert!(!list.contains(&format!("href=\"/members/{other}\"")));
}
