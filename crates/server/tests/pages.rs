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
    asked_to_preside_from_the_inbox_and_charges_on_home,
    talking_points_page_in_my_language_and_wings,
    pages_need_a_session_and_speak_hindi_first,
    page_forms_need_the_csrf_token_and_retries_land_once,
    member_pages_are_scoped_and_audited,
    meeting_pages_report_inbox_and_compliance,
    report_page_takes_photos_within_the_limits,
    volunteer_roster_checkin_and_duty_pages,
    bulletin_and_followup_pages,
    new_programme_form_and_activation_on_the_drill_down,
    verification_queue_page_verifies_and_rejects_in_scope,
    member_page_sends_a_code_and_takes_it_back,
    member_confirms_through_their_own_link,
    flag_pages_show_flags_in_scope_and_resolve_them,
    corrections_are_reviewed_applied_and_declined_on_their_page,
    a_correction_never_hands_over_a_login,
    photos_sent_at_once_take_different_places,
    member_page_names_people_and_shows_the_trail_to_auditors_only,
    members_list_pages_with_a_next_link,
    leaderboard_page_ranks_by_verified_and_asks_by_missed_call,
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
    user(
        app,
        "Asha Verma",
        "9811100001",
        Role::AcIncharge,
        "TS-AC-1",
        "/enrol",
    )
    .await
}

/// A user holding one post (party wing) with a password, logged in through the login form:
/// (person id, session cookie).
async fn user(
    app: &App,
    name: &str,
    mobile: &str,
    role: Role,
    unit: &str,
    next: &str,
) -> (i64, String) {
    user_in(app, name, mobile, role, unit, "party", next).await
}

/// A user holding one post in `wing`, logged in through the login form.
async fn user_in(
    app: &App,
    name: &str,
    mobile: &str,
    role: Role,
    unit: &str,
    wing: &str,
    next: &str,
) -> (i64, String) {
    let hash = sangathan_server::auth::hash_password("correct horse").unwrap();
    let name = sangathan_core::ids::PersonName::parse(name).unwrap();
    let parsed = sangathan_core::ids::Mobile::parse(mobile).unwrap();
    let post = NewPost {
        role,
        unit: unit.into(),
        wing: wing.into(),
        // Held for a while: a report climbs to those holding posts on the meeting's day.
        starts_on: clock::today() - chrono::Duration::days(7),
    };
    let id = app
        .store
        .add_user(&name, &parsed, Some(&hash), &[post], "test")
        .await
        .unwrap();
    let res = client()
        .post(app.url("/login"))
        .form(&[
            ("mobile", mobile),
            ("password", "correct horse"),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], next);
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
    for path in [
        "/",
        "/enrol",
        "/members",
        "/units/TS",
        "/map",
        "/reports/inbox",
        "/meetings/1",
        "/units/TS/compliance",
    ] {
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
    let check =
        |v: &serde_json::Value| format!("/enrol/check?value={}", v["mobile"].as_str().unwrap());
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

/// A form post with the session cookie: (status, Location, body).
async fn post_form(
    app: &App,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let res = client()
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn meeting_pages_report_inbox_and_compliance(backend: Backend) {
    use chrono::{Datelike, Duration, NaiveTime};
    use sangathan_store::meetings::NewMeeting;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (ac, ac_cookie) = officer(&app).await;
    let (_, dp_cookie) = user(
        &app,
        "Dinesh Yadav",
        "9811100002",
        Role::DistrictPresident,
        "TS-DT-HILL",
        "/",
    )
    .await;
    let (_, other_cookie) = user(
        &app,
        "Kiran Pal",
        "9811100003",
        Role::AcIncharge,
        "TS-AC-3",
        "/",
    )
    .await;
    // A booth meeting of TS-AC-1 yesterday, organised by its AC in-charge.
    let day = clock::today() - Duration::days(1);
    let m = app
        .store
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-1-B0001".into(),
                date: day,
                time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                minutes: 120,
                kind: "booth".into(),
                chair: None,
                organiser: Some(ac),
                due_hours: 48,
            },
            "test",
        )
        .await
        .unwrap();
    let id = m.id;
    let path = format!("/meetings/{id}");
    let form_path = format!("{path}/report");

    // Hindi by default: the kind, the venue linked to its drill-down, WhatsApp, the form link.
    let (status, hi) = page(&app, &path, &ac_cookie).await;
    assert_eq!(status, 200, "{hi}");
    assert!(
        hi.contains("<html lang=\"hi\">") && hi.contains("बूथ बैठक"),
        "{hi}"
    );
    assert!(hi.contains("href=\"/units/TS-AC-1-B0001\""));
    assert!(hi.contains("href=\"https://wa.me/?text="));
    assert!(hi.contains(&format!("href=\"{form_path}\"")));
    assert!(hi.contains("id=\"no-report\""));
    assert!(!hi.contains("id=\"report-share\""), "nothing to share before a report");
    // English with the language cookie.
    let (_, en) = page(&app, &path, &format!("sangathan_lang=en; {ac_cookie}")).await;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Booth meeting"),
        "{en}"
    );
    assert!(en.contains("No report has been filed yet."));
    // Outside the scope: answered like a meeting that does not exist.
    let (s1, hidden) = page(&app, &path, &other_cookie).await;
    let (s2, none) = page(&app, "/meetings/999999999", &other_cookie).await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(hidden, none);
    let (status, _) = page(&app, &form_path, &other_cookie).await;
    assert_eq!(status, 404);

    // The form: numeric keypads, and the reason required when the meeting did not happen.
    let (status, form) = page(&app, &form_path, &ac_cookie).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("id=\"attendance\" name=\"attendance\" type=\"text\" inputmode=\"numeric\"")
    );
    assert!(form.contains("बैठक न होने पर कारण लिखना आवश्यक है"));
    let csrf = csrf_of(&form);
    // Without the session's token: refused, nothing written.
    let (status, _, _) = post_form(
        &app,
        &form_path,
        &ac_cookie,
        &[("held", "yes"), ("attendance", "31")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(app.store.report(id).await.unwrap().is_none());
    // Not held and no reason; a count that is not a number: each field's reason in Hindi.
    let (status, _, body) = post_form(
        &app,
        &form_path,
        &ac_cookie,
        &[
            ("_csrf", &csrf),
            ("held", "no"),
            ("reason", "  "),
            ("attendance", "thirty"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"reason-err\">बताइए कि बैठक क्यों नहीं हुई"),
        "{body}"
    );
    assert!(body.contains("id=\"attendance-err\">पूरी संख्या लिखें"));
    assert!(
        body.contains("value=\"thirty\""),
        "what was typed comes back"
    );
    assert!(app.store.report(id).await.unwrap().is_none());
    // Filed (Devanagari digits too); posted again (a double tap) it changes nothing.
    let report = [
        ("_csrf", csrf.as_str()),
        ("held", "yes"),
        ("attendance", "३१"),
        ("employees_met", "9"),
        ("new_supporters", ""),
        ("new_members", "2"),
        ("agenda", "सदस्यता अभियान"),
        ("issues", "वेतन आयोग"),
        ("notes", ""),
    ];
    for _ in 0..2 {
        let (status, location, _) = post_form(&app, &form_path, &ac_cookie, &report).await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("{path}?filed=1"));
    }
    let r = app.store.report(id).await.unwrap().unwrap();
    assert_eq!(
        (r.report.attendance, r.report.new_members, r.revision),
        (31, 2, 1)
    );
    let (_, filed) = page(&app, &format!("{path}?filed=1"), &ac_cookie).await;
    assert!(filed.contains("id=\"meeting-note\"") && filed.contains("रिपोर्ट भेज दी गई"));
    assert!(filed.contains("id=\"report-attendance\">31<"));
    // The filed report's summary, shared on WhatsApp: counts and the chair's post, no names.
    let share = filed
        .split("id=\"report-share\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no report share link: {filed}"));
    assert!(share.starts_with("https://wa.me/?text="), "{share}");
    for want in ["उपस्थिति 31", "नए सदस्य 2", "Attendance 31", "Chair: Constituency in-charge"] {
        assert!(share.contains(&sangathan_server::web::urlencode(want)), "{want}: {share}");
    }
    for never in ["Asha", "Dinesh", "9811100", "वेतन आयोग"] {
        assert!(!share.contains(&sangathan_server::web::urlencode(never)), "{never}: {share}");
    }
    assert!(filed.contains("रिपोर्ट व्हाट्सऐप पर भेजें"));
    assert!(
        !filed.contains("id=\"act\""),
        "it does not wait for its filer"
    );

    // It climbs past the filer to the district president: in their inbox, not the filer's.
    let (status, inbox) = page(&app, "/reports/inbox", &dp_cookie).await;
    assert_eq!(status, 200);
    assert!(
        inbox.contains(&format!("href=\"{path}\"")),
        "{:?}",
        app.store.report(id).await.unwrap()
    );
    assert!(inbox.contains("समय पर"));
    let (_, empty) = page(&app, "/reports/inbox", &ac_cookie).await;
    assert!(empty.contains("id=\"inbox-empty\""));
    let (_, home) = page(&app, "/", &dp_cookie).await;
    assert!(home.contains("मेरे पास लंबित रिपोर्टें: 1"), "{home}");
    let (_, home) = page(&app, "/", &ac_cookie).await;
    assert!(home.contains("id=\"my-meetings\"") && home.contains(&format!("href=\"{path}\"")));

    // The district president returns it (a comment is required), the filer corrects it, and
    // the district president acknowledges the correction.
    let (_, dp_page) = page(&app, &path, &dp_cookie).await;
    assert!(dp_page.contains("id=\"act\""), "{dp_page}");
    let dp_csrf = csrf_of(&dp_page);
    let ret = format!("{path}/return");
    let (status, _, _) = post_form(&app, &ret, &dp_cookie, &[("comment", "x")]).await;
    assert_eq!(status, 403);
    let (status, _, body) = post_form(
        &app,
        &ret,
        &dp_cookie,
        &[("_csrf", &dp_csrf), ("comment", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("बताइए कि क्या सुधारना है"));
    assert_eq!(app.store.report(id).await.unwrap().unwrap().status, "filed");
    let (status, location, _) = post_form(
        &app,
        &ret,
        &dp_cookie,
        &[("_csrf", &dp_csrf), ("comment", "उपस्थिति दोबारा गिनें")],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, &*format!("{path}?acted=ret"))
    );
    let (_, back) = page(&app, &form_path, &ac_cookie).await;
    assert!(back.contains("उपस्थिति दोबारा गिनें") && back.contains("value=\"31\""));
    let mut corrected = report.to_vec();
    corrected[2] = ("attendance", "33");
    let (status, _, _) = post_form(&app, &form_path, &ac_cookie, &corrected).await;
    assert_eq!(status, 303);
    assert_eq!(app.store.report(id).await.unwrap().unwrap().revision, 2);
    let (status, location, _) = post_form(
        &app,
        &format!("{path}/acknowledge"),
        &dp_cookie,
        &[("_csrf", &dp_csrf)],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, &*format!("{path}?acted=ack"))
    );
    let r = app.store.report(id).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.report.attendance),
        ("acknowledged", 33)
    );
    let (_, inbox) = page(&app, "/reports/inbox", &dp_cookie).await;
    assert!(inbox.contains("id=\"inbox-empty\""));
    // Acknowledged: no more form, and the page says why.
    let (_, done) = page(&app, &path, &ac_cookie).await;
    assert!(!done.contains(&format!("href=\"{form_path}\"")));
    assert!(done.contains("स्वीकार की गई"));
    // Acting again, or filing again: refused, and the page says why in the reader's language.
    let (status, _, body) = post_form(
        &app,
        &format!("{path}/acknowledge"),
        &dp_cookie,
        &[("_csrf", &dp_csrf)],
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("यह रिपोर्ट आपके पास लंबित नहीं है"));
    let (status, _, body) = post_form(&app, &form_path, &ac_cookie, &report).await;
    assert_eq!(status, 409);
    assert!(body.contains("id=\"report-closed\""));
    let (_, closed) = page(&app, &form_path, &ac_cookie).await;
    assert!(closed.contains("id=\"report-closed\"") && !closed.contains("id=\"report-form\""));

    // Compliance for the meeting's week: the AC and its sectors, each a link to its own week.
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let week = sangathan_core::meetings::week_code(monday);
    let (_, drill) = page(&app, "/units/TS-AC-1", &ac_cookie).await;
    assert!(drill.contains("href=\"/units/TS-AC-1/compliance\""));
    let (status, c) = page(
        &app,
        &format!("/units/TS-AC-1/compliance?week={week}"),
        &ac_cookie,
    )
    .await;
    assert_eq!(status, 200);
    let unit_row = &c[c.find("id=\"compliance-unit\"").unwrap()..];
    for (col, n) in [
        ("planned", 1),
        ("held", 1),
        ("not_held", 0),
        ("on_time", 1),
        ("late", 0),
        ("missing", 0),
    ] {
        assert!(
            unit_row.contains(&format!("data-col=\"{col}\">{n}<")),
            "{col}: {unit_row}"
        );
    }
    assert!(
        c.contains(&format!("/compliance?week={week}\">")),
        "children link to their week"
    );
    let prev = sangathan_core::meetings::week_code(monday - Duration::days(7));
    assert!(c.contains(&format!("href=\"/units/TS-AC-1/compliance?week={prev}\"")));
    let (status, _) = page(&app, "/units/TS-AC-1/compliance", &other_cookie).await;
    assert_eq!(status, 404);
    let (status, _) = page(&app, "/units/TS-AC-1/compliance?week=2027-W99", &ac_cookie).await;
    assert_eq!(status, 422);
}

async fn asked_to_preside_from_the_inbox_and_charges_on_home(backend: Backend) {
    use chrono::{Duration, NaiveTime};
    use sangathan_store::meetings::NewMeeting;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (ac, ac_cookie) = officer(&app).await;
    // A meeting at a booth of TS-AC-1 next week, its organiser asking a senior to preside.
    let m = app
        .store
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-1-B0001".into(),
                date: clock::today() + Duration::days(6),
                time: NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
                minutes: 90,
                kind: "booth".into(),
                chair: None,
                organiser: None,
                due_hours: 48,
            },
            "test",
        )
        .await
        .unwrap();
    app.store
        .request_chair(m.id, Some(ac), 24, "test", clock::now())
        .await
        .unwrap();
    app.store
        .add_charge(ac, "TS-AC-1", "meetings", "test")
        .await
        .unwrap();
    let (status, home) = page(&app, "/", &ac_cookie).await;
    assert_eq!(status, 200);
    assert!(
        home.contains("id=\"my-charges\"") && home.contains("href=\"/units/TS-AC-1/compliance\""),
        "{home}"
    );
    let (_, inbox) = page(&app, "/reports/inbox", &ac_cookie).await;
    assert!(
        inbox.contains("id=\"asks\"")
            && inbox.contains(&format!("/meetings/{}/requests/accept", m.id)),
        "{inbox}"
    );
    let csrf = csrf_of(&inbox);
    let accept = format!("/meetings/{}/requests/accept", m.id);
    // Without the token: refused, nothing changes.
    let (status, _, _) = post_form(&app, &accept, &ac_cookie, &[]).await;
    assert_eq!(status, 403);
    assert_eq!(
        app.store.chair_requests(m.id).await.unwrap()[0].state,
        "pending"
    );
    let (status, to, _) = post_form(&app, &accept, &ac_cookie, &[("_csrf", csrf.as_str())]).await;
    assert_eq!((status, to.as_str()), (303, "/reports/inbox"));
    assert_eq!(
        app.store.meeting(m.id).await.unwrap().unwrap().chair,
        Some(ac)
    );
    assert_eq!(
        app.store.chair_requests(m.id).await.unwrap()[0].state,
        "accepted"
    );
    // Answered: a second answer is refused.
    let (status, _, _) = post_form(&app, &accept, &ac_cookie, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(status, 409);
}

async fn talking_points_page_in_my_language_and_wings(backend: Backend) {
    use sangathan_store::meetings::NewPoint;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = officer(&app).await;
    let point = |wing: &str, title: &str, tags: &[&str]| NewPoint {
        wing: wing.into(),
        title: title.into(),
        body_hi: format!("{title} — हिंदी में"),
        body_en: format!("{title} — in English"),
        audience: tags.iter().map(|t| t.to_string()).collect(),
        published: true,
    };
    app.store
        .add_point(&point("party", "Membership drive", &["youth"]), "test")
        .await
        .unwrap();
    app.store
        .add_point(&point("party", "Farm prices", &["farmers"]), "test")
        .await
        .unwrap();
    app.store
        .add_point(&point("employees", "Old pension", &["teachers"]), "test")
        .await
        .unwrap();
    app.store
        .add_point(
            &NewPoint {
                published: false,
                ..point("party", "Draft idea", &[])
            },
            "test",
        )
        .await
        .unwrap();
    let (status, hi) = page(&app, "/talking-points", &cookie).await;
    assert_eq!(status, 200, "{hi}");
    assert!(
        hi.contains("Membership drive — हिंदी में") && hi.contains("Farm prices"),
        "{hi}"
    );
    assert!(
        !hi.contains("Old pension"),
        "another wing's points are not mine"
    );
    assert!(!hi.contains("Draft idea"), "drafts are not offered");
    let (_, en) = page(
        &app,
        "/talking-points?audience=youth",
        &format!("sangathan_lang=en; {cookie}"),
    )
    .await;
    assert!(
        en.contains("Membership drive — in English") && !en.contains("Farm prices"),
        "{en}"
    );
    // Without a session: the login page.
    let res = client()
        .get(app.url("/talking-points"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
}

/// A member of the volunteer force at `unit` (enrolled through the API): (person id, name, mobile).
async fn volunteer(app: &App, unit: &str) -> (i64, String, String) {
    let mut body = person(unit);
    body["wing"] = "volunteers".into();
    let id = app.enrol(&body, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    (
        id,
        body["name"].as_str().unwrap().to_string(),
        body["mobile"].as_str().unwrap().to_string(),
    )
}

/// The text of the element with `id` (up to its first tag).
fn text_of_id(html: &str, id: &str) -> String {
    let open = format!("id=\"{id}\"");
    let at = html.find(&open).unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].to_string()
}

async fn volunteer_roster_checkin_and_duty_pages(backend: Backend) {
    use chrono::Duration;
    use sangathan_store::volunteers::{NewDuty, NewProgramme};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cmd) = user_in(
        &app,
        "Vikram Singh",
        "9811100011",
        Role::VolunteerCommander,
        "TS-DT-HILL",
        "volunteers",
        "/",
    )
    .await;
    let (_, far) = user_in(
        &app,
        "Kiran Pal",
        "9811100012",
        Role::VolunteerCommander,
        "TS-DT-LAKE",
        "volunteers",
        "/",
    )
    .await;
    // A volunteer who logs in (a member of the force and a user), and two more of the force.
    let (vol_id, vol_name, vol_mobile) = volunteer(&app, "TS-AC-1-B0001").await;
    let (vol_user, vol) = user_in(
        &app,
        &vol_name,
        &vol_mobile,
        Role::Volunteer,
        "TS-AC-1-B0001",
        "volunteers",
        "/",
    )
    .await;
    assert_eq!(vol_user, vol_id, "the user is the enrolled volunteer");
    volunteer(&app, "TS-AC-1-B0002").await;
    volunteer(&app, "TS-AC-2").await;
    let now = chrono::Utc::now();
    let p = app
        .store
        .add_programme(
            &NewProgramme {
                wing: "volunteers".into(),
                unit: "TS-DT-HILL".into(),
                venue: "TS-AC-1".into(),
                title: "Jan Sabha Alpha".into(),
                kind: "jan-sabha".into(),
                starts_at: now - Duration::hours(1),
                ends_at: now + Duration::hours(3),
                expected: 500,
            },
            "test",
        )
        .await
        .unwrap();
    let gate = app
        .store
        .add_duty(
            p.id,
            &NewDuty {
                kind: "gate".into(),
                label: "Gate 1".into(),
                starts_at: None,
                ends_at: None,
                headcount: 4,
                leader: None,
            },
        )
        .await
        .unwrap();
    let path = format!("/programmes/{}", p.id);

    // The roster: the duty with its gap, the fill button, links to check-in and the report.
    let (status, html) = page(&app, &path, &cmd).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"hi\">") && html.contains("Jan Sabha Alpha"));
    assert!(
        html.contains(&format!(
            "data-duty=\"{}\" data-gap=\"4\" data-filled=\"0\"",
            gate.id
        )),
        "{html}"
    );
    assert!(html.contains("खाली स्थान भरें"));
    assert!(html.contains(&format!("href=\"/meetings/{}\"", p.meeting_id)));
    assert!(html.contains(&format!("href=\"{path}/checkin\"")));
    let csrf = csrf_of(&html);

    // Filling needs the session's token; with it, the three volunteers within reach are asked.
    let fill = format!("/duties/{}/fill", gate.id);
    let (status, _, _) = post_form(&app, &fill, &cmd, &[]).await;
    assert_eq!(status, 403);
    let (status, to, _) = post_form(&app, &fill, &cmd, &[("_csrf", &csrf)]).await;
    assert_eq!(status, 303);
    assert!(to.starts_with(&format!("{path}?done=filled")), "{to}");
    let (_, html) = page(&app, &to, &cmd).await;
    assert!(
        html.contains(&format!(
            "data-duty=\"{}\" data-gap=\"1\" data-filled=\"3\"",
            gate.id
        )),
        "{html}"
    );
    assert!(html.contains(&vol_name) && html.contains("पूछा गया"));
    assert!(html.contains("id=\"programme-note\""));

    // Adding a duty: a bad headcount is said on the page, a good one lands.
    let add = format!("{path}/duties");
    let (status, _, body) = post_form(
        &app,
        &add,
        &cmd,
        &[
            ("_csrf", &csrf),
            ("kind", "stage"),
            ("label", "Manch"),
            ("headcount", "x"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"programme-error\""));
    let (status, to, _) = post_form(
        &app,
        &add,
        &cmd,
        &[
            ("_csrf", &csrf),
            ("kind", "stage"),
            ("label", "Manch"),
            ("headcount", "२"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&app, &to, &cmd).await;
    assert!(html.contains("Manch") && html.contains("मंच"), "{html}");

    // The scanner: the typed code always, the script, and no volunteer's name.
    let (status, html) = page(&app, &format!("{path}/checkin"), &cmd).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"code\"") && html.contains("/assets/checkin.js"));
    assert!(html.contains(&format!("data-programme=\"{}\"", p.id)));
    assert!(!html.contains(&vol_name));

    // My duties: the duty, Confirm and Decline, my QR code with its code printed large.
    let (status, html) = page(&app, "/duties", &vol).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Jan Sabha Alpha") && html.contains("<svg"));
    let code = text_of_id(&html, "my-code");
    assert_eq!(code.len(), 6, "{code}");
    assert!(html.contains("href=\"/duties\""), "the nav links my duties");
    let vcsrf = csrf_of(&html);
    let (status, to, _) = post_form(
        &app,
        &format!("/duties/{}/answer/confirm", gate.id),
        &vol,
        &[("_csrf", &vcsrf)],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/duties?done=confirmed"));
    let (_, html) = page(&app, "/duties", &vol).await;
    assert!(html.contains("data-status=\"confirmed\""));
    // Checked in (as the scanner does): the roster shows the time.
    let c = app
        .store
        .check_in(p.id, &code, None, "test", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(c.person_id, vol_id);
    let (_, html) = page(&app, &path, &cmd).await;
    assert!(html.contains("class=\"in\""), "{html}");
    assert!(html.contains("<dd class=\"confirmed\">1</dd>"));
    // Home: my duties, for the volunteer.
    let (_, home) = page(&app, "/", &vol).await;
    assert!(
        home.contains("id=\"home-duties\"") && home.contains("मेरी ड्यूटी: 1"),
        "{home}"
    );

    // Outside the scope: exactly like a programme that does not exist; a volunteer sees no roster.
    let (s1, hidden) = page(&app, &path, &far).await;
    let (s2, none) = page(&app, "/programmes/999999999", &far).await;
    assert_eq!((s1, s2), (404, 404));
    assert_eq!(hidden, none);
    let (status, _) = page(&app, &format!("{path}/checkin"), &far).await;
    assert_eq!(status, 404);
    let far_csrf = csrf_of(&page(&app, "/", &far).await.1);
    let (status, _, _) = post_form(&app, &fill, &far, &[("_csrf", &far_csrf)]).await;
    assert_eq!(status, 404);
    let (status, _) = page(&app, &path, &vol).await;
    assert_eq!(status, 403);
}

async fn bulletin_and_followup_pages(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (cmd_id, cmd) = user_in(
        &app,
        "Vikram Singh",
        "9811100011",
        Role::VolunteerCommander,
        "TS-DT-HILL",
        "volunteers",
        "/",
    )
    .await;
    // A volunteer of the district: the commander's bulletins go to the force.
    let (_, reader) = user_in(
        &app,
        "Asha Verma",
        "9811100001",
        Role::Volunteer,
        "TS-AC-1-B0001",
        "volunteers",
        "/",
    )
    .await;
    let (_, far) = user(
        &app,
        "Kiran Pal",
        "9811100003",
        Role::AcIncharge,
        "TS-AC-3",
        "/",
    )
    .await;

    // The commander posts a bulletin to the district (the volunteer force: their wing) from the
    // feed's form.
    let (status, html) = page(&app, "/bulletins", &cmd).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"post-bulletin\"") && html.contains("value=\"TS-DT-HILL\""));
    let csrf = csrf_of(&html);
    let (status, _, body) = post_form(
        &app,
        "/bulletins",
        &cmd,
        &[
            ("_csrf", &csrf),
            ("unit", "TS-DT-HILL"),
            ("title", "Rally on Sunday"),
            ("body_hi", " "),
        ],
    )
    .await;
    assert_eq!(status, 422, "a bulletin needs a text");
    assert!(body.contains("id=\"bulletin-error\""));
    let (status, to, _) = post_form(
        &app,
        "/bulletins",
        &cmd,
        &[
            ("_csrf", &csrf),
            ("unit", "TS-DT-HILL"),
            ("wing", ""),
            ("title", "Rally on Sunday"),
            ("body_hi", "रविवार को रैली है।"),
            ("body_en", "The rally is on Sunday."),
            ("pinned", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let id: i64 = to.trim_start_matches("/bulletins/").parse().unwrap();

    // A reader in the district: unread on the home page and in the feed, in their language.
    let (_, home) = page(&app, "/", &reader).await;
    assert!(home.contains("अपठित बुलेटिन: 1"), "{home}");
    assert!(home.contains("href=\"/bulletins\""));
    let (_, feed) = page(&app, "/bulletins", &reader).await;
    assert!(feed.contains("data-read=\"false\"") && feed.contains("रविवार को रैली है।"));
    assert!(!feed.contains("id=\"post-bulletin\"") || feed.contains("TS-AC-1"));
    // Opening it counts one view, however often it is opened.
    for _ in 0..2 {
        let (status, html) = page(&app, &format!("/bulletins/{id}"), &reader).await;
        assert_eq!(status, 200);
        assert!(html.contains("data-views=\"1\""), "{html}");
    }
    let (_, en) = page(
        &app,
        &format!("/bulletins/{id}"),
        &format!("sangathan_lang=en; {reader}"),
    )
    .await;
    assert!(en.contains("The rally is on Sunday."));
    assert_eq!(app.store.bulletin(id).await.unwrap().unwrap().views, 1);
    let (_, feed) = page(&app, "/bulletins", &reader).await;
    assert!(feed.contains("data-read=\"true\""));
    // Outside the district: not theirs to read.
    let (status, _) = page(&app, &format!("/bulletins/{id}"), &far).await;
    assert_eq!(status, 404);

    // Comments: the reader posts two; the commander hides one, with a reason.
    let (_, html) = page(&app, &format!("/bulletins/{id}"), &reader).await;
    let rcsrf = csrf_of(&html);
    assert!(!html.contains("/hide\""), "a reader cannot hide");
    for text in ["Rude words here", "We will be there"] {
        let (status, _, _) = post_form(
            &app,
            &format!("/bulletins/{id}/comments"),
            &reader,
            &[("_csrf", &rcsrf), ("body", text)],
        )
        .await;
        assert_eq!(status, 303);
    }
    let comments = app.store.comments(id, true).await.unwrap();
    let rude = comments
        .iter()
        .find(|c| c.body.starts_with("Rude"))
        .unwrap()
        .id;
    let hide = format!("/bulletins/{id}/comments/{rude}/hide");
    let (status, _, _) =
        post_form(&app, &hide, &reader, &[("_csrf", &rcsrf), ("reason", "x")]).await;
    assert_eq!(status, 404, "a reader may not moderate");
    let (_, html) = page(&app, &format!("/bulletins/{id}"), &cmd).await;
    assert!(html.contains(&hide), "{html}");
    let (status, _, _) = post_form(&app, &hide, &cmd, &[("_csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(status, 422, "a reason is required");
    let (status, _, _) = post_form(
        &app,
        &hide,
        &cmd,
        &[("_csrf", &csrf), ("reason", "abusive language")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&app, &format!("/bulletins/{id}"), &reader).await;
    assert!(!html.contains("Rude words") && html.contains("We will be there"));
    let (_, html) = page(&app, &format!("/bulletins/{id}"), &cmd).await;
    assert!(
        html.contains("Rude words")
            && html.contains("hidden-comment")
            && html.contains("abusive language")
    );
    let recent = app
        .store
        .audit_before(chrono::Utc::now() + chrono::Duration::minutes(1), 100)
        .await
        .unwrap();
    assert!(
        recent.iter().any(|e| e.event.action == "hide-comment"
            && e.event.actor == format!("person:{cmd_id}")
            && e.event
                .record
                .as_deref()
                .is_some_and(|r| r.contains("reason:abusive language"))),
        "{recent:?}"
    );
    assert!(recent.iter().any(|e| e.event.action == "post-bulletin"));

    // Follow-ups: two inactive volunteers of TS-AC-1 go on the commander's list.
    volunteer(&app, "TS-AC-1-B0001").await;
    volunteer(&app, "TS-AC-1-B0003").await;
    let path = "/units/TS-AC-1/followups";
    let (status, html) = page(&app, path, &cmd).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("id=\"make-followups\""));
    let (status, to, _) = post_form(
        &app,
        path,
        &cmd,
        &[
            ("_csrf", &csrf),
            ("assign_to", &cmd_id.to_string()),
            ("limit", "5"),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/units/TS-AC-1/followups?done=made")
    );
    let (_, html) = page(&app, path, &cmd).await;
    assert!(html.contains("href=\"https://wa.me/9198"), "{html}");
    assert!(html.contains("href=\"tel:+9198"));
    let list = app.store.followups_of(cmd_id).await.unwrap();
    assert!(list.len() >= 2, "{list:?}");
    let f = list[0].id;
    let (status, to, _) = post_form(
        &app,
        &format!("/followups/{f}"),
        &cmd,
        &[
            ("_csrf", &csrf),
            ("outcome", "will_come"),
            ("next_step", "Call on Friday"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert!(to.starts_with("/followups?done=outcome"), "{to}");
    let (_, mine) = page(&app, "/followups", &cmd).await;
    assert!(
        mine.contains("आएंगे") && mine.contains("Call on Friday"),
        "{mine}"
    );
    assert!(mine.contains("href=\"https://wa.me/91"));
    // A bad outcome is refused on the page; someone outside the unit gets nothing.
    let (status, _, _) = post_form(
        &app,
        &format!("/followups/{f}"),
        &cmd,
        &[("_csrf", &csrf), ("outcome", "maybe")],
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = page(&app, path, &far).await;
    assert_eq!(status, 404);
}

/// The numbers in `attr="…"` after each occurrence of `marker`.
fn numbers_after(html: &str, marker: &str, attr: &str) -> Vec<i64> {
    html.match_indices(marker)
        .map(|(at, _)| {
            let rest = &html[at..];
            let open = format!("{attr}=\"");
            let from = rest.find(&open).unwrap() + open.len();
            rest[from..from + rest[from..].find('"').unwrap()]
                .parse()
                .unwrap()
        })
        .collect()
}

async fn new_programme_form_and_activation_on_the_drill_down(backend: Backend) {
    use chrono::{Duration, NaiveTime};
    use sangathan_store::volunteers::{NewDuty, NewProgramme};
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (cmd_id, cmd) = user_in(
        &app,
        "Vikram Singh",
        "9811100011",
        Role::VolunteerCommander,
        "TS-DT-HILL",
        "volunteers",
        "/",
    )
    .await;
    let (_, far) = user_in(
        &app,
        "Kiran Pal",
        "9811100012",
        Role::VolunteerCommander,
        "TS-DT-LAKE",
        "volunteers",
        "/",
    )
    .await;
    let (_, booth) = user(
        &app,
        "Ramesh Yadav",
        "9811100013",
        Role::BoothPresident,
        "TS-AC-1-B0001",
        "/",
    )
    .await;

    // The home page leads those who may manage programmes to the form, and no one else.
    let (_, home) = page(&app, "/", &cmd).await;
    assert!(home.contains("href=\"/programmes/new\""), "{home}");
    let (_, home) = page(&app, "/", &booth).await;
    assert!(!home.contains("href=\"/programmes/new\""));

    // The form, in Hindi first: my wing and my unit filled in.
    let (status, html) = page(&app, "/programmes/new", &cmd).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<html lang=\"hi\">") && html.contains("नया कार्यक्रम"));
    assert!(
        html.contains("<option value=\"volunteers\" selected>"),
        "{html}"
    );
    assert!(html.contains("value=\"TS-DT-HILL\""));
    assert!(html.contains("जनसभा") && html.contains("type=\"time\""));
    let csrf = csrf_of(&html);
    let tomorrow = (chrono::Utc::now() + Duration::minutes(330)).date_naive() + Duration::days(1);
    let day = tomorrow.format("%Y-%m-%d").to_string();
    let form = |venue: &'static str, end: &'static str| {
        vec![
            ("_csrf", csrf.clone()),
            ("wing", "volunteers".to_string()),
            ("unit", "ts-dt-hill ".to_string()),
            ("venue", venue.to_string()),
            ("title", "Karyakarta Sammelan".to_string()),
            ("kind", "workers-conference".to_string()),
            ("date", day.clone()),
            ("start", "10:00".to_string()),
            ("end", end.to_string()),
            ("expected", "१२००".to_string()),
        ]
    };
    let post = |cookie: String, f: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let res = client()
                .post(app.url("/programmes/new"))
                .header("cookie", cookie)
                .form(&f)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let to = res
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (status, to, res.text().await.unwrap())
        }
    };

    // Without the session's token: refused.
    let mut no_token = form("TS-AC-1", "14:00");
    no_token.remove(0);
    let (status, _, _) = post(cmd.clone(), no_token).await;
    assert_eq!(status, 403);
    // A venue that does not exist: the venue field says so, in Hindi, and the form keeps what
    // was typed; in English for an English reader.
    let (status, _, body) = post(cmd.clone(), form("TS-XX-9", "14:00")).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("id=\"venue-err\">इकाई TS-XX-9 नहीं मिली<"),
        "{body}"
    );
    assert!(body.contains("value=\"Karyakarta Sammelan\""));
    let (status, _, body) = post(
        format!("sangathan_lang=en; {cmd}"),
        form("TS-XX-9", "14:00"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"venue-err\">no unit TS-XX-9<"), "{body}");
    // The end before the start: said at the end time.
    let (status, _, body) = post(cmd.clone(), form("TS-AC-1", "09:00")).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"end-err\">समाप्ति का समय आरंभ के बाद होना चाहिए<"),
        "{body}"
    );

    // A good one: created, and the browser goes to its roster; the times were Indian time.
    let (status, to, _) = post(cmd.clone(), form("TS-AC-1", "14:00")).await;
    assert_eq!(status, 303);
    let id: i64 = to.trim_start_matches("/programmes/").parse().unwrap();
    let p = app.store.programme(id).await.unwrap().unwrap();
    let ten_ist = tomorrow
        .and_time(NaiveTime::from_hms_opt(4, 30, 0).unwrap())
        .and_utc();
    assert_eq!(p.starts_at, ten_ist);
    assert_eq!(p.ends_at, ten_ist + Duration::hours(4));
    assert_eq!((p.expected, p.kind.as_str()), (1200, "workers-conference"));
    assert_eq!(
        (p.unit.as_str(), p.venue.as_str()),
        ("TS-DT-HILL", "TS-AC-1")
    );
    let (status, html) = page(&app, &to, &cmd).await;
    assert_eq!(status, 200);
    assert!(html.contains("Karyakarta Sammelan"));
    let recent = app
        .store
        .audit_before(chrono::Utc::now() + Duration::minutes(1), 50)
        .await
        .unwrap();
    assert!(
        recent.iter().any(|e| e.event.action == "add-programme"
            && e.event.actor == format!("person:{cmd_id}")
            && e.event.record.as_deref() == Some(&*format!("programme:{id}"))),
        "{recent:?}"
    );

    // Without the right: a booth president may manage no programme (403); a commander of
    // another district may not organise in this one (as if it did not exist).
    let (status, _) = page(&app, "/programmes/new", &booth).await;
    assert_eq!(status, 403);
    let bcsrf = csrf_of(&page(&app, "/", &booth).await.1);
    let mut f = form("TS-AC-1-B0001", "14:00");
    f[0].1 = bcsrf;
    let (status, _, _) = post(booth.clone(), f).await;
    assert_eq!(status, 403);
    let fcsrf = csrf_of(&page(&app, "/", &far).await.1);
    let mut f = form("TS-AC-1", "14:00");
    f[0].1 = fcsrf;
    let (status, _, _) = post(far.clone(), f).await;
    assert_eq!(status, 404);

    // Activation on the drill-down: three of the force in the district, one of them checked in
    // at a programme; each child's figures add up to the district's.
    let (vol_id, _, _) = volunteer(&app, "TS-AC-1-B0001").await;
    volunteer(&app, "TS-AC-1-B0002").await;
    volunteer(&app, "TS-AC-2").await;
    let now = chrono::Utc::now();
    let today = app
        .store
        .add_programme(
            &NewProgramme {
                wing: "volunteers".into(),
                unit: "TS-DT-HILL".into(),
                venue: "TS-AC-1".into(),
                title: "Rally Beta".into(),
                kind: "rally".into(),
                starts_at: now - Duration::hours(1),
                ends_at: now + Duration::hours(3),
                expected: 100,
            },
            "test",
        )
        .await
        .unwrap();
    let gate = app
        .store
        .add_duty(
            today.id,
            &NewDuty {
                kind: "gate".into(),
                label: "Gate 1".into(),
                starts_at: None,
                ends_at: None,
                headcount: 1,
                leader: None,
            },
        )
        .await
        .unwrap();
    app.store
        .assign(gate.id, Some(vol_id), "test", now)
        .await
        .unwrap();
    let code = app.store.checkin_code(vol_id).await.unwrap();
    app.store
        .check_in(today.id, &code, None, "test", chrono::Utc::now())
        .await
        .unwrap();
    for unit in ["TS-DT-HILL", "TS-AC-1"] {
        let (status, html) = page(&app, &format!("/units/{unit}"), &cmd).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("सक्रिय कार्यकर्ता"), "{html}");
        let cadre = numbers_after(&html, "id=\"unit-activation\"", "data-cadre")[0];
        let active = numbers_after(&html, "id=\"unit-activation\"", "data-active")[0];
        assert!(cadre >= 3 && active >= 1, "{unit}: {active} / {cadre}");
        let here = |attr| {
            numbers_after(&html, "id=\"unit-activation-here\"", attr)
                .first()
                .copied()
                .unwrap_or(0)
        };
        let cells = "class=\"num act\" data-active";
        let children_cadre: i64 = numbers_after(&html, cells, "data-cadre").iter().sum();
        let children_active: i64 = numbers_after(&html, cells, "data-active").iter().sum();
        assert_eq!(children_cadre + here("data-cadre"), cadre, "{html}");
        assert_eq!(children_active + here("data-active"), active, "{html}");
        assert!(
            children_active >= 1,
            "the checked-in volunteer's row: {html}"
        );
    }
    // In English too; and a unit outside the scope shows nothing.
    let (_, en) = page(
        &app,
        "/units/TS-DT-HILL",
        &format!("sangathan_lang=en; {cmd}"),
    )
    .await;
    assert!(en.contains("Active workers (last 30 days)"), "{en}");
    let (status, _) = page(&app, "/units/TS-DT-HILL", &far).await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------- verification

/// A membership's id, through the API (the operator's token).
async fn membership_of(app: &App, person_id: &serde_json::Value) -> i64 {
    let m = app
        .get(&format!("/api/v1/members/{person_id}"))
        .await
        .expect(200);
    m["memberships"][0]["id"].as_i64().unwrap()
}

/// The code and link token in the newest verification message (what the member's phone shows).
async fn last_code(app: &App) -> (String, String) {
    let items = app
        .store
        .outbox_due(clock::now() + chrono::Duration::hours(1), 200)
        .await
        .unwrap();
    let body = items
        .iter()
        .rev()
        .find(|i| i.body.contains("/m/verify/"))
        .map(|i| i.body.clone())
        .expect("a verification message");
    let at = body.find("कोड: ").unwrap() + "कोड: ".len();
    let t = body.find("/m/verify/").unwrap() + "/m/verify/".len();
    (body[at..at + 6].to_string(), body[t..t + 32].to_string())
}

/// The audit log's actions about a person (the audit writer may lag a moment).
async fn actions_of(app: &App, person_id: i64, want: &str) -> Vec<sangathan_store::AuditRecord> {
    for _ in 0..50 {
        let trail = app.store.audit_of_person(person_id, 50).await.unwrap();
        if trail.iter().any(|e| e.event.action == want) {
            return trail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.store.audit_of_person(person_id, 50).await.unwrap()
}

async fn verification_queue_page_verifies_and_rejects_in_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (sector_id, sector) = user(
        &app,
        "Sector Checker",
        "9811100071",
        Role::SectorIncharge,
        "TS-AC-1-S01",
        "/",
    )
    .await;
    let (_, booth) = user(
        &app,
        "Booth Worker",
        "9811100072",
        Role::BoothPresident,
        "TS-AC-1-B0001",
        "/",
    )
    .await;
    let mut people = Vec::new();
    for _ in 0..3 {
        people.push(app.enrol(&person("TS-AC-1-B0001"), &key()).await.expect(201));
    }
    let outside = app.enrol(&person("TS-AC-2"), &key()).await.expect(201);
    let mut ids = Vec::new();
    for p in &people {
        ids.push(membership_of(&app, &p["person_id"]).await);
    }
    // The nav shows the queue to those who may verify, and not to a booth president.
    let (_, home) = page(&app, "/", &sector).await;
    assert!(home.contains("href=\"/verification\"") && home.contains("सदस्य सत्यापन"));
    let (_, home) = page(&app, "/", &booth).await;
    assert!(!home.contains("href=\"/verification\""));
    // The queue of the sector (the first post's unit): the three pending, oldest first; nobody
    // from another AC.
    let (status, html) = page(&app, "/verification", &sector).await;
    assert_eq!(status, 200, "{html}");
    let listed = numbers_after(&html, "id=\"m-", "data-id");
    assert_eq!(listed, ids, "{html}");
    for p in &people {
        assert!(html.contains(p["membership_number"].as_str().unwrap()));
    }
    assert!(!html.contains(outside["membership_number"].as_str().unwrap()));
    // Mobiles show their last four digits only.
    let mobile = person_mobile(&app, &people[0]["person_id"]).await;
    assert!(html.contains(&format!("••••••{}", &mobile[mobile.len() - 4..])));
    assert!(!html.contains(&mobile));
    let (status, same) = page(&app, "/units/TS-AC-1-S01/verification", &sector).await;
    assert_eq!(status, 200);
    assert_eq!(numbers_after(&same, "id=\"m-", "data-id"), ids);
    // Another AC is not the sector's; a booth president may not verify at all.
    let (status, _) = page(&app, "/verification?unit=TS-AC-2", &sector).await;
    assert_eq!(status, 404);
    for path in ["/verification", "/units/TS-AC-1-B0001/verification"] {
        let (status, body) = page(&app, path, &booth).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("<!doctype html>"));
    }
    let csrf = csrf_of(&html);
    let before = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    let (achieved, verified) = (
        before["unit"]["achieved"].as_i64().unwrap(),
        before["unit"]["verified"].as_i64().unwrap(),
    );
    // Without the CSRF token: refused. A booth president's post: refused.
    let (status, _, _) = post_form(
        &app,
        &format!("/verification/{}/verify", ids[0]),
        &sector,
        &[("unit", "TS-AC-1-S01")],
    )
    .await;
    assert_eq!(status, 403);
    let (_, booth_page) = page(&app, "/", &booth).await;
    let (status, _, _) = post_form(
        &app,
        &format!("/verification/{}/verify", ids[0]),
        &booth,
        &[("_csrf", &csrf_of(&booth_page)), ("unit", "TS-AC-1-B0001")],
    )
    .await;
    assert_eq!(status, 403);
    // A rejection needs a reason, said at the row in the reader's language.
    let reject = format!("/verification/{}/reject", ids[1]);
    let form = [
        ("_csrf", csrf.as_str()),
        ("unit", "TS-AC-1-S01"),
        ("after", "0"),
        ("reason", "  "),
    ];
    let (status, _, body) = post_form(&app, &reject, &sector, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"err-{}\"", ids[1])), "{body}");
    assert!(body.contains("लिखें कि सदस्य क्यों अस्वीकार किया जा रहा है"));
    let en = format!("sangathan_lang=en; {sector}");
    let (status, _, body) = post_form(&app, &reject, &en, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains("Write why the member is rejected"));
    // Verify one, reject another with a reason: back to the queue, counters moved.
    let (status, location, _) = post_form(
        &app,
        &format!("/verification/{}/verify", ids[0]),
        &sector,
        &[("_csrf", &csrf), ("unit", "TS-AC-1-S01"), ("after", "0")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/verification?unit=TS-AC-1-S01&after=0&done=verified");
    let (status, location, _) = post_form(
        &app,
        &reject,
        &sector,
        &[
            ("_csrf", &csrf),
            ("unit", "TS-AC-1-S01"),
            ("after", "0"),
            ("reason", "not on the voter list"),
        ],
    )
    .await;
    assert_eq!((status, location.ends_with("done=rejected")), (303, true));
    let after = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    assert_eq!(after["unit"]["achieved"].as_i64().unwrap(), achieved - 1);
    assert_eq!(after["unit"]["verified"].as_i64().unwrap(), verified + 1);
    let (_, html) = page(&app, &location, &sector).await;
    assert!(html.contains("सदस्य अस्वीकार कर दिया गया"));
    assert_eq!(numbers_after(&html, "id=\"m-", "data-id"), vec![ids[2]]);
    let s = app.store.membership_state(ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (s.status.as_str(), s.reason.as_deref()),
        ("rejected", Some("not on the voter list"))
    );
    // Audited under the sector in-charge's name.
    let trail = actions_of(&app, s.person_id, "membership-status").await;
    assert!(
        trail.iter().any(|e| e.event.action == "membership-status"
            && e.event.actor == format!("person:{sector_id}")),
        "{trail:?}"
    );
    // Nobody verifies what they enrolled themselves: no buttons, and a post is refused.
    let token = app.store.issue_user_token(sector_id, "test").await.unwrap();
    let mine = app
        .send(
            reqwest::Method::POST,
            "/api/v1/members",
            Some(Some(&format!("Bearer {token}"))),
            Some(&person("TS-AC-1-B0001")),
            Some(&key()),
        )
        .await
        .expect(201);
    let mine = membership_of(&app, &mine["person_id"]).await;
    let (_, html) = page(&app, "/verification", &sector).await;
    assert!(html.contains(&format!("id=\"m-{mine}\"")));
    assert!(!html.contains(&format!("/verification/{mine}/verify")));
    let (status, _, body) = post_form(
        &app,
        &format!("/verification/{mine}/verify"),
        &sector,
        &[("_csrf", &csrf), ("unit", "TS-AC-1-S01")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("यह सदस्य आपने जोड़ा है"));
    assert_eq!(
        app.store.membership_state(mine).await.unwrap().unwrap().status,
        "pending"
    );
    // The drill-down shows verified beside enrolled and says which one the % counts; the
    // switch changes it.
    let progress = app.get("/api/v1/units/TS-AC-1-S01/progress").await.expect(200);
    let (status, html) = page(&app, "/units/TS-AC-1-S01", &sector).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"unit-verified\"") && html.contains(">सत्यापित<"));
    let by_verified = progress["counts"] == "verified";
    let own_note = if by_verified {
        "% सत्यापित सदस्यों से गिना जाता है"
    } else {
        "% सभी नामांकित सदस्यों"
    };
    assert!(html.contains(own_note), "{html}");
    let (_, all) = page(&app, "/units/TS-AC-1-S01?count=all", &sector).await;
    assert!(all.contains("% सभी नामांकित सदस्यों"));
    let (_, ver) = page(&app, "/units/TS-AC-1-S01?count=verified", &sector).await;
    assert!(ver.contains("% सत्यापित सदस्यों से गिना जाता है"));
    let target = progress["unit"]["target"].as_i64().unwrap();
    if target > 0 {
        let pct = |n: i64| format!("{:.1}%", n as f64 * 100.0 / target as f64);
        assert!(all.contains(&pct(progress["unit"]["achieved"].as_i64().unwrap())));
        assert!(ver.contains(&pct(progress["unit"]["verified"].as_i64().unwrap())));
    }
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// A member's mobile (digits as stored), through the API.
async fn person_mobile(app: &App, person_id: &serde_json::Value) -> String {
    let m = app
        .get(&format!("/api/v1/members/{person_id}"))
        .await
        .expect(200);
    m["mobile"].as_str().unwrap().to_string()
}

async fn member_page_sends_a_code_and_takes_it_back(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = officer(&app).await;
    let p = app.enrol(&person("TS-AC-1-B0001"), &key()).await.expect(201);
    let pid = p["person_id"].as_i64().unwrap();
    let mid = membership_of(&app, &p["person_id"]).await;
    let path = format!("/members/{pid}");
    let (status, html) = page(&app, &path, &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("सत्यापन लंबित"), "{html}");
    assert!(html.contains("सदस्य को कोड भेजें"));
    assert!(!html.contains(&format!("/memberships/{mid}/code/confirm")));
    let csrf = csrf_of(&html);
    // Without the CSRF token: refused.
    let (status, _, _) = post_form(&app, &format!("/memberships/{mid}/code"), &cookie, &[]).await;
    assert_eq!(status, 403);
    let (status, location, _) = post_form(
        &app,
        &format!("/memberships/{mid}/code"),
        &cookie,
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, format!("/members/{pid}?code=sent#membership-{mid}"));
    let (_, html) = page(&app, &format!("/members/{pid}?code=sent"), &cookie).await;
    assert!(html.contains("कोड सदस्य के मोबाइल पर भेज दिया गया"));
    assert!(html.contains(&format!("/memberships/{mid}/code/confirm")));
    let (code, _) = last_code(&app).await;
    // A wrong code: said at the membership, in the reader's language.
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let confirm = format!("/memberships/{mid}/code/confirm");
    let (status, _, body) =
        post_form(&app, &confirm, &cookie, &[("_csrf", &csrf), ("code", wrong)]).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"code-err-{mid}\"")));
    assert!(body.contains("यह भेजा गया कोड नहीं है"), "{body}");
    let (status, location, _) =
        post_form(&app, &confirm, &cookie, &[("_csrf", &csrf), ("code", &code)]).await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        format!("/members/{pid}?code=confirmed#membership-{mid}")
    );
    let (_, html) = page(&app, &location, &cookie).await;
    assert!(html.contains("सदस्यता सत्यापित हो गई"));
    assert!(html.contains("data-status=\"verified\""));
    assert!(!html.contains("सदस्य को कोड भेजें"));
    // Twice: not pending any more.
    let (status, _, body) =
        post_form(&app, &confirm, &cookie, &[("_csrf", &csrf), ("code", &code)]).await;
    assert_eq!(status, 422);
    assert!(body.contains("लंबित नहीं"), "{body}");
    assert_eq!(
        app.store.membership_state(mid).await.unwrap().unwrap().status,
        "verified"
    );
    let trail = actions_of(&app, pid, "confirm-verification-code").await;
    assert!(
        trail
            .iter()
            .any(|e| e.event.action == "send-verification-code")
    );
    // A rejected membership shows its reason, in English for an English reader.
    let q = app.enrol(&person("TS-AC-1-B0001"), &key()).await.expect(201);
    let qid = membership_of(&app, &q["person_id"]).await;
    app.store
        .set_status(&[qid], "rejected", Some("duplicate entry"), "test", clock::now())
        .await
        .unwrap();
    let (_, html) = page(
        &app,
        &format!("/members/{}", q["person_id"]),
        &format!("sangathan_lang=en; {cookie}"),
    )
    .await;
    assert!(html.contains("Rejected") && html.contains("duplicate entry"), "{html}");
    assert!(!html.contains("Send code to member"));
    assert!(app.store.verify().await.unwrap().is_empty());
}

async fn member_confirms_through_their_own_link(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let p = app.enrol(&person("TS-AC-1-B0001"), &key()).await.expect(201);
    let pid = p["person_id"].as_i64().unwrap();
    let mid = membership_of(&app, &p["person_id"]).await;
    let token = app
        .store
        .send_verification_code(mid, clock::now())
        .await
        .unwrap();
    let (code, sent) = last_code(&app).await;
    assert_eq!(sent, token);
    let path = format!("/m/verify/{token}");
    // No login needed: the form, in Hindi unless the reader chose English.
    let (status, html) = page(&app, &path, "").await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"hi\">") && html.contains("6 अंकों का कोड"));
    assert!(!html.contains("name=\"csrf-token\""));
    // No such link: a 404 page.
    let (status, body) = page(&app, "/m/verify/not-a-token", "").await;
    assert_eq!(status, 404);
    assert!(body.contains("<!doctype html>"));
    let post = |path: String, code: String, cookie: &'static str, origin: Option<&'static str>| {
        let app_url = app.url(&path);
        async move {
            let mut req = client().post(app_url).form(&[("code", code)]);
            if !cookie.is_empty() {
                req = req.header("cookie", cookie);
            }
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let unknown = format!("/m/verify/{}", "0".repeat(32));
    let (status, _) = post(unknown, code.clone(), "", None).await;
    assert_eq!(status, 404);
    // Another site may not post it.
    let (status, _) = post(path.clone(), code.clone(), "", Some("https://evil.example")).await;
    assert_eq!(status, 403);
    // Not six digits; a wrong code (in Hindi, and in English).
    let (status, body) = post(path.clone(), "12".into(), "", None).await;
    assert_eq!(status, 422);
    assert!(body.contains("संदेश का 6 अंकों का कोड लिखें"));
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let (status, body) = post(path.clone(), wrong.into(), "", None).await;
    assert_eq!(status, 422);
    assert!(body.contains("यह भेजा गया कोड नहीं है"), "{body}");
    let (status, body) = post(path.clone(), wrong.into(), "sangathan_lang=en", None).await;
    assert_eq!(status, 422);
    assert!(body.contains("that is not the code that was sent"), "{body}");
    // The right code: confirmed, with the membership number.
    let (status, body) = post(path.clone(), code.clone(), "", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("आपकी सदस्यता की पुष्टि हो गई"));
    assert!(body.contains(p["membership_number"].as_str().unwrap()));
    assert_eq!(
        app.store.membership_state(mid).await.unwrap().unwrap().status,
        "verified"
    );
    // Once only: the second time says it is already confirmed.
    let (status, body) = post(path.clone(), code.clone(), "", None).await;
    assert_eq!(status, 422);
    assert!(body.contains("पहले ही पुष्टि"), "{body}");
    let (_, body) = post(path.clone(), code.clone(), "sangathan_lang=en", None).await;
    assert!(body.contains("already confirmed"), "{body}");
    // Audited as the member's own act.
    let trail = actions_of(&app, pid, "member-confirmed").await;
    assert!(
        trail
            .iter()
            .any(|e| e.event.action == "member-confirmed" && e.event.actor == "member"),
        "{trail:?}"
    );
    assert!(app.store.verify().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- flags

/// Six members of one name at `unit` (mobiles far apart, no EPIC: only the name repeats),
/// enrolled with the operator's token: their membership ids.
async fn same_name(app: &App, unit: &str, name: &str, seed: u64) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..6u64 {
        let mut p = person(unit);
        p["name"] = serde_json::json!(name);
        p["mobile"] = serde_json::json!(format!(
            "97{:08}",
            (24_681_357u64 * (i + 2) + seed * 7_919_113) % 100_000_000
        ));
        p["address"] = serde_json::json!(format!("House {seed}-{i}"));
        p.as_object_mut().unwrap().remove("epic");
        let e = app.enrol(&p, &key()).await.expect(201);
        ids.push(membership_of(app, &e["person_id"]).await);
    }
    ids
}

async fn flag_pages_show_flags_in_scope_and_resolve_them(backend: Backend) {
    use sangathan_core::detection::Thresholds;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (sector_id, sector) = user(
        &app,
        "Flag Checker",
        "9811100081",
        Role::SectorIncharge,
        "TS-AC-1-S01",
        "/",
    )
    .await;
    let (_, booth) = user(
        &app,
        "Booth Worker",
        "9811100082",
        Role::BoothPresident,
        "TS-AC-1-B0001",
        "/",
    )
    .await;
    let mine = same_name(&app, "TS-AC-1-B0001", "Ramvati Flagged", 1).await;
    let theirs = same_name(&app, "TS-AC-2-B0001", "Sushila Flagged", 2).await;
    // One of the six was verified before the flag was looked at: fake takes it back too.
    app.store
        .set_status(&mine[..1], "verified", None, "admin", clock::now())
        .await
        .unwrap();
    app.store
        .detect(&Thresholds::default(), clock::now())
        .await
        .unwrap();
    let flags = app.store.flags_within("TS", true).await.unwrap().unwrap();
    let find = |ids: &[i64]| {
        flags
            .iter()
            .find(|f| {
                f.rule == "repeated_name"
                    && f.members
                        .iter()
                        .map(|m| m.membership_id)
                        .collect::<Vec<_>>()
                        == ids
            })
            .unwrap_or_else(|| panic!("a repeated_name flag of {ids:?}: {flags:#?}"))
            .clone()
    };
    let (ours, other) = (find(&mine), find(&theirs));

    // The list of the sector: its flag (rule, reason in Hindi, unit, members, date), not the
    // other AC's; linked from the verification queue and the drill-down.
    let (status, html) = page(&app, "/units/TS-AC-1-S01/flags", &sector).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!("id=\"flag-{}\"", ours.id)), "{html}");
    assert!(!html.contains(&format!("id=\"flag-{}\"", other.id)));
    assert!(html.contains(&ours.reason_hi), "{html}");
    assert!(html.contains("एक बूथ में एक ही नाम कई बार"));
    assert!(html.contains(&format!("href=\"/flags/{}\"", ours.id)));
    assert!(html.contains("TS-AC-1-B0001") && html.contains("<dd class=\"n\">6</dd>"));
    let en = format!("sangathan_lang=en; {sector}");
    let (_, english) = page(&app, "/units/TS-AC-1-S01/flags", &en).await;
    assert!(english.contains(&ours.reason) && english.contains("One name many times in a booth"));
    for path in ["/verification", "/units/TS-AC-1-S01"] {
        let (_, html) = page(&app, path, &sector).await;
        assert!(
            html.contains("href=\"/units/TS-AC-1-S01/flags\""),
            "{path}: {html}"
        );
    }
    // Outside the sector's scope: not found; a booth president may not review flags at all.
    for path in [
        format!("/flags/{}", other.id),
        "/units/TS-AC-2/flags".into(),
        "/flags/999999".into(),
    ] {
        let (status, body) = page(&app, &path, &sector).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains(&other.reason_hi));
    }
    for path in [
        "/units/TS-AC-1-B0001/flags".to_string(),
        format!("/flags/{}", ours.id),
    ] {
        let (status, _) = page(&app, &path, &booth).await;
        assert_eq!(status, 403, "{path}");
    }

    // The flag's page: why, and its members linking to their pages.
    let path = format!("/flags/{}", ours.id);
    let (status, html) = page(&app, &path, &sector).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&ours.reason_hi) && html.contains("id=\"flag-resolve\""));
    for m in &ours.members {
        assert!(html.contains(&format!("href=\"/members/{}\"", m.person_id)));
        assert!(html.contains(&m.number));
    }
    let csrf = csrf_of(&html);
    let resolve = format!("/flags/{}/resolve", ours.id);
    // Without the CSRF token, or from outside the scope: refused, nothing done.
    let (status, _, _) = post_form(&app, &resolve, &sector, &[("verdict", "genuine")]).await;
    assert_eq!(status, 403);
    let other_resolve = format!("/flags/{}/resolve", other.id);
    let (status, _, _) = post_form(
        &app,
        &other_resolve,
        &sector,
        &[("_csrf", &csrf), ("verdict", "genuine")],
    )
    .await;
    assert_eq!(status, 404);
    // Fake needs a note: the store's reason, in the reader's language.
    let fake = [("_csrf", csrf.as_str()), ("verdict", "fake"), ("note", " ")];
    let (status, _, body) = post_form(&app, &resolve, &sector, &fake).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"flag-error\"") && body.contains("बताएं कि ये सदस्य फ़र्ज़ी क्यों हैं"),
        "{body}"
    );
    let (status, _, body) = post_form(&app, &resolve, &en, &fake).await;
    assert_eq!(status, 422);
    assert!(body.contains("say why these members are fake"), "{body}");
    assert_eq!(
        app.store.flag(ours.id).await.unwrap().unwrap().status,
        "open"
    );

    // Fake, with a note: all six rejected, counters exact, the count said.
    let before = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    let (status, location, _) = post_form(
        &app,
        &resolve,
        &sector,
        &[
            ("_csrf", &csrf),
            ("verdict", "fake"),
            ("note", "nobody by this name at these houses"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (
            303,
            format!("/flags/{}?done=fake&rejected=6", ours.id).as_str()
        )
    );
    let after = app.get("/api/v1/units/TS-AC-1/progress").await.expect(200);
    let n = |v: &serde_json::Value, k: &str| v["unit"][k].as_i64().unwrap();
    assert_eq!(n(&after, "achieved"), n(&before, "achieved") - 6);
    assert_eq!(n(&after, "verified"), n(&before, "verified") - 1);
    let booth_before = before["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "TS-AC-1-S01")
        .cloned();
    if let Some(b) = booth_before {
        let a = after["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "TS-AC-1-S01")
            .unwrap();
        assert_eq!(
            a["achieved"].as_i64().unwrap(),
            b["achieved"].as_i64().unwrap() - 6
        );
    }
    for id in &mine {
        let s = app.store.membership_state(*id).await.unwrap().unwrap();
        assert_eq!(s.status, "rejected");
        assert!(s.reason.unwrap_or_default().contains("nobody by this name"));
    }
    let (status, html) = page(&app, &location, &sector).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("फ़र्ज़ी के रूप में निपटाया गया; 6 सदस्य अस्वीकार किए गए"),
        "{html}"
    );
    assert!(html.contains("फ़र्ज़ी पाया गया") && !html.contains("id=\"flag-resolve\""));
    assert!(html.contains("nobody by this name at these houses"));
    // Again: the store says it is already resolved.
    let (status, _, body) = post_form(
        &app,
        &resolve,
        &sector,
        &[("_csrf", &csrf), ("verdict", "genuine")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body.contains("पहले ही") && body.contains("id=\"flag-error\""),
        "{body}"
    );
    // Open flags only by default; all with ?all=1.
    let (_, open) = page(&app, "/units/TS-AC-1-S01/flags", &sector).await;
    assert!(!open.contains(&format!("id=\"flag-{}\"", ours.id)));
    let (_, all) = page(&app, "/units/TS-AC-1-S01/flags?all=1", &sector).await;
    assert!(all.contains(&format!("id=\"flag-{}\"", ours.id)) && all.contains("फ़र्ज़ी पाया गया"));
    // Audited under the sector in-charge's name (the audit writer may lag a moment).
    let want = format!("flag:{} fake", ours.id);
    let mut audited = false;
    for _ in 0..50 {
        let recent = app
            .store
            .audit_before(chrono::Utc::now() + chrono::Duration::minutes(1), 100)
            .await
            .unwrap();
        audited = recent.iter().any(|e| {
            e.event.action == "resolve-flag"
                && e.event.actor == format!("person:{sector_id}")
                && e.event.record.as_deref() == Some(want.as_str())
        });
        if audited {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        audited,
        "resolve-flag {want} by person:{sector_id} in the audit log"
    );
    let resolved = app.store.flag(ours.id).await.unwrap().unwrap();
    assert_eq!(
        resolved.resolved_by.as_deref(),
        Some(format!("person:{sector_id}").as_str())
    );
    assert!(app.store.verify().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- corrections and the trail

/// The text of the element with `id`, up to the end of its list item or paragraph.
fn section_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}"))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = html[at..]
        .find("</li>")
        .or_else(|| html[at..].find("</p>"))
        .unwrap_or(html.len() - at);
    html[at..at + end].to_string()
}

async fn corrections_are_reviewed_applied_and_declined_on_their_page(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = officer(&app).await;
    let sunita = app
        .enrol(&person("TS-AC-1-B0001"), &key())
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let other = app
        .enrol(&person("TS-AC-1-B0002"), &key())
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let other_epic = app
        .store
        .member(other)
        .await
        .unwrap()
        .unwrap()
        .epic
        .unwrap();
    let (_, html) = page(&app, &format!("/members/{sunita}"), &cookie).await;
    let csrf = csrf_of(&html);
    // Filed by another office-bearer of the AC: nobody applies a correction they asked for.
    let (_, filer) = user(
        &app,
        "Mohan Lal",
        "9811100007",
        Role::AcIncharge,
        "TS-AC-1",
        "/",
    )
    .await;
    let (_, html) = page(&app, &format!("/members/{sunita}"), &filer).await;
    let filer_csrf = csrf_of(&html);
    let path = format!("/members/{sunita}/correction");
    // A slip is said at the form, in the reader's language, with what was typed kept.
    let (status, _, html) = post_form(
        &app,
        &path,
        &filer,
        &[
            ("_csrf", &filer_csrf),
            ("field", "birth_year"),
            ("value", "2020"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        section_of(&html, "value-err").contains("सदस्य की आयु"),
        "{html}"
    );
    assert!(
        html.contains("value=\"2020\" aria-invalid=\"true\" aria-describedby=\"value-err\""),
        "{html}"
    );
    // Filed: the page says so and lists what waits, with the way to review it.
    for (field, value) in [
        ("name", "Sunita  Devi"),
        ("epic", other_epic.as_str()),
        ("address", "Ward 9"),
    ] {
        let (status, location, _) = post_form(
            &app,
            &path,
            &filer,
            &[("_csrf", &filer_csrf), ("field", field), ("value", value)],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(location, format!("/members/{sunita}?saved=1"));
    }
    let (_, html) = page(&app, &format!("/members/{sunita}?saved=1"), &cookie).await;
    assert!(
        section_of(&html, "open-corrections").contains("Sunita  Devi"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/units/TS-AC-1-B0001/corrections\" id=\"review-corrections\""),
        "{html}"
    );
    // The members list of the unit links to the review too.
    let (_, list) = page(&app, "/members?unit=TS-AC-1", &cookie).await;
    assert!(list.contains("id=\"members-corrections\""));

    // The review page: only for those who may change members' records, only in their units.
    let (status, review) = page(&app, "/units/TS-AC-1/corrections", &cookie).await;
    assert_eq!(status, 200);
    let marker = "<li class=\"card\" id=\"correction-";
    let ids: Vec<i64> = review
        .match_indices(marker)
        .map(|(at, m)| {
            review[at + m.len()..]
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 3, "{review}");
    let (name_req, epic_req, address_req) = (ids[0], ids[1], ids[2]);
    assert!(section_of(&review, &format!("correction-{name_req}")).contains("Sunita  Devi"));
    let (_, booth) = user(
        &app,
        "Booth Worker",
        "9811100005",
        Role::BoothPresident,
        "TS-AC-1-B0001",
        "/",
    )
    .await;
    assert_eq!(
        page(&app, "/units/TS-AC-1/corrections", &booth).await.0,
        403
    );
    let (_, far) = user(
        &app,
        "Far Officer",
        "9811100006",
        Role::AcIncharge,
        "TS-AC-2",
        "/",
    )
    .await;
    assert_eq!(page(&app, "/units/TS-AC-1/corrections", &far).await.0, 404);
    let (_, far_html) = page(&app, "/units/TS-AC-2/corrections", &far).await;
    let far_csrf = csrf_of(&far_html);
    let (status, _, _) = post_form(
        &app,
        &format!("/corrections/{name_req}/apply"),
        &far,
        &[("_csrf", &far_csrf), ("unit", "TS-AC-2")],
    )
    .await;
    assert_eq!(status, 404, "another AC's request does not exist for them");
    // Without the token: refused.
    let (status, _, _) = post_form(
        &app,
        &format!("/corrections/{name_req}/apply"),
        &cookie,
        &[("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 403);
    // The one who asked for it may not apply it: said at its row, in both languages.
    let (status, _, html) = post_form(
        &app,
        &format!("/corrections/{name_req}/apply"),
        &filer,
        &[("_csrf", &filer_csrf), ("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        section_of(&html, &format!("err-{name_req}")).contains("यह सुधार आपने माँगा था"),
        "{html}"
    );
    assert!(
        app.store
            .member(sunita)
            .await
            .unwrap()
            .unwrap()
            .name
            .starts_with("Test Person")
    );

    // Applied: the record changes.
    let (status, location, _) = post_form(
        &app,
        &format!("/corrections/{name_req}/apply"),
        &cookie,
        &[("_csrf", &csrf), ("unit", "TS-AC-1"), ("after", "0")],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/units/TS-AC-1/corrections?after=0&done=applied");
    assert_eq!(
        app.store.member(sunita).await.unwrap().unwrap().name,
        "Sunita  Devi"
    );
    // The EPIC is someone else's: refused at its row in the reader's language, nothing changed.
    let (status, _, html) = post_form(
        &app,
        &format!("/corrections/{epic_req}/apply"),
        &cookie,
        &[("_csrf", &csrf), ("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        section_of(&html, &format!("err-{epic_req}")).contains("EPIC"),
        "{html}"
    );
    assert_ne!(
        app.store.member(sunita).await.unwrap().unwrap().epic,
        Some(other_epic.clone())
    );
    // Declining needs a reason, then closes it; the reason is in the audit log.
    let (status, _, html) = post_form(
        &app,
        &format!("/corrections/{epic_req}/decline"),
        &cookie,
        &[("_csrf", &csrf), ("unit", "TS-AC-1"), ("reason", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains(&format!("id=\"err-{epic_req}\"")));
    let (status, location, _) = post_form(
        &app,
        &format!("/corrections/{epic_req}/decline"),
        &cookie,
        &[
            ("_csrf", &csrf),
            ("unit", "TS-AC-1"),
            ("reason", "the card shows another number"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/units/TS-AC-1/corrections?after=0&done=declined");
    let (_, html) = page(&app, "/units/TS-AC-1/corrections?done=declined", &cookie).await;
    assert!(html.contains("id=\"corrections-note\""));
    assert!(!html.contains(&format!("id=\"correction-{epic_req}\"")));
    assert!(html.contains(&format!("id=\"correction-{address_req}\"")));
    // Decided already: said, not done twice.
    let (status, _, html) = post_form(
        &app,
        &format!("/corrections/{name_req}/apply"),
        &cookie,
        &[("_csrf", &csrf), ("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"corrections-note\""), "{html}");
    let trail = app.store.audit_of_person(sunita, 100).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|e| e.event.action == "apply-correction" && e.event.outcome == "303"),
        "{trail:?}"
    );
    assert!(trail.iter().any(|e| {
        e.event.action == "decline-correction"
            && e.event
                .record
                .as_deref()
                .is_some_and(|r| r.contains("the card shows another number"))
    }));
}

/// The takeover: an AC in-charge asks, on a state admin's member page, for the state admin's
/// mobile (their login: a one-time code to it is enough) to become their own SIM. Neither they
/// nor a colleague may apply it; not even a state admin puts a user on another user's mobile.
async fn a_correction_never_hands_over_a_login(backend: Backend) {
    use reqwest::Method;
    use serde_json::json;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (admin, _) = user(
        &app,
        "Rekha Sharma",
        "9811100041",
        Role::StateAdmin,
        "TS",
        "/",
    )
    .await;
    // The state admin is also a member at a booth of the AC (the same person).
    let mut p = person("TS-AC-1-B0001");
    p["name"] = json!("Rekha Sharma");
    p["mobile"] = json!("9811100041");
    p["epic"] = json!("");
    let enrolled = app.enrol(&p, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    assert_eq!(enrolled, admin);
    let (ac, cookie) = officer(&app).await;
    let (status, html) = page(&app, &format!("/members/{admin}"), &cookie).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let (status, _, _) = post_form(
        &app,
        &format!("/members/{admin}/correction"),
        &cookie,
        &[
            ("_csrf", &csrf),
            ("field", "mobile"),
            ("value", "9811199998"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let req = app.store.corrections_of(admin).await.unwrap()[0].id;
    // Not by the one who asked (said at its row, in Hindi)...
    let (status, _, html) = post_form(
        &app,
        &format!("/corrections/{req}/apply"),
        &cookie,
        &[("_csrf", &csrf), ("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        section_of(&html, &format!("err-{req}")).contains("यह सुधार आपने माँगा था"),
        "{html}"
    );
    // ...nor by a colleague without a state admin post (the API says why, in both languages).
    let colleague = app
        .store
        .add_user(
            &sangathan_core::ids::PersonName::parse("Mohan Lal").unwrap(),
            &sangathan_core::ids::Mobile::parse("9811100042").unwrap(),
            None,
            &[NewPost {
                role: Role::AcIncharge,
                unit: "TS-AC-1".into(),
                wing: "party".into(),
                starts_on: clock::today(),
            }],
            "test",
        )
        .await
        .unwrap();
    let token = format!(
        "Bearer {}",
        app.store.issue_user_token(colleague, "test").await.unwrap()
    );
    let apply = |id: i64, auth: Option<String>| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                &format!("/api/v1/corrections/{id}/apply"),
                auth.as_deref().map(Some),
                Some(&json!({})),
                Some(&key()),
            )
            .await
        }
    };
    let err = apply(req, Some(token.clone())).await.expect(422);
    assert_eq!(err["error"]["code"], "user_mobile", "{err}");
    assert!(
        err["error"]["fields_hi"]["mobile"]
            .as_str()
            .unwrap()
            .contains("राज्य प्रशासक")
    );
    let login = |m: &'static str| {
        let store = app.store.clone();
        async move { store.user_by_mobile(m).await.unwrap().map(|u| u.person_id) }
    };
    assert_eq!(login("+919811100041").await, Some(admin));
    assert_eq!(login("+919811199998").await, None);
    // Not even the operator (a state admin) puts the state admin on the AC in-charge's mobile.
    let onto = app
        .store
        .file_correction(admin, "mobile", "9811100001", Some(ac))
        .await
        .unwrap();
    let err = apply(onto, None).await.expect(422);
    assert_eq!(err["error"]["code"], "mobile_has_user", "{err}");
    assert_eq!(login("+919811100001").await, Some(ac));
    // A state admin may move them to a fresh mobile: the login follows.
    apply(req, None).await.expect(200);
    assert_eq!(login("+919811199998").await, Some(admin));
    assert_eq!(login("+919811100041").await, None);
}

/// Photos sent from the report page at the same moment take different places: none replaces
/// another.
async fn photos_sent_at_once_take_different_places(backend: Backend) {
    use chrono::{Duration, NaiveTime};
    use sangathan_store::meetings::NewMeeting;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (ac, cookie) = officer(&app).await;
    let m = app
        .store
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-1-B0001".into(),
                date: clock::today() - Duration::days(1),
                time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                minutes: 120,
                kind: "booth".into(),
                chair: None,
                organiser: Some(ac),
                due_hours: 48,
            },
            "test",
        )
        .await
        .unwrap();
    let form_path = format!("/meetings/{}/report", m.id);
    let photos_path = format!("/meetings/{}/photos", m.id);
    let csrf = csrf_of(&page(&app, &form_path, &cookie).await.1);
    let jpeg = |fill: u8| {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
        v.resize(30_000, fill);
        v
    };
    let (one, two, three) = (jpeg(1), jpeg(2), jpeg(3));
    let (a, b, c) = tokio::join!(
        post_photo(&app, &photos_path, &cookie, &csrf, "image/jpeg", &one),
        post_photo(&app, &photos_path, &cookie, &csrf, "image/jpeg", &two),
        post_photo(&app, &photos_path, &cookie, &csrf, "image/jpeg", &three),
    );
    assert_eq!((a.0, b.0, c.0), (303, 303, 303));
    let mut places = vec![a.1.clone(), b.1.clone(), c.1.clone()];
    places.sort();
    places.dedup();
    assert_eq!(places.len(), 3, "three places: {places:?}");
    let stored = app.store.photos(m.id).await.unwrap();
    assert_eq!(
        stored.iter().map(|p| p.n).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for (location, bytes) in [(&a.1, &one), (&b.1, &two), (&c.1, &three)] {
        let n: u32 = location.rsplit('=').next().unwrap().parse().unwrap();
        assert_eq!(&app.store.photo(m.id, n).await.unwrap().unwrap().1, bytes);
    }
}

async fn member_page_names_people_and_shows_the_trail_to_auditors_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = officer(&app).await;
    // The officer enrols one through the form; the office another through the API.
    let (_, html) = page(&app, "/enrol", &cookie).await;
    let csrf = csrf_of(&html);
    let k = key();
    let res = client()
        .post(app.url("/enrol"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Kamla Devi"),
            ("mobile", "9839012399"),
            ("gender", "F"),
            ("birth_year", "1970"),
            ("ac", "TS-AC-1"),
            ("booth", "2"),
            ("wing", "party"),
            ("notice_shown", "1"),
            ("key", k.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kamla = app.store.people_on_mobile("+919839012399").await.unwrap()[0];
    let by_office = app
        .enrol(&person("TS-AC-1-B0001"), &key())
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    // Who enrolled them: a name, never an id; the office by its label. No trail for an AC
    // in-charge (who may not read the audit log).
    let (status, html) = page(&app, &format!("/members/{kamla}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Asha Verma (वेब ऐप)"), "{html}");
    assert!(!html.contains("person:"), "{html}");
    assert!(!html.contains("id=\"audit-trail\""));
    let (_, html) = page(&app, &format!("/members/{by_office}"), &cookie).await;
    assert!(html.contains("कार्यालय (सिस्टम संचालक) (API)"), "{html}");
    // A district president reads the trail: names, actions and outcomes in their language.
    let (_, auditor) = user(
        &app,
        "Mohan Lal",
        "9811100007",
        Role::DistrictPresident,
        "TS-DT-HILL",
        "/",
    )
    .await;
    let (status, html) = page(&app, &format!("/members/{kamla}"), &auditor).await;
    assert_eq!(status, 200);
    let trail = &html[html.find("id=\"audit-trail\"").expect("the trail")..];
    for want in ["Asha Verma", "सदस्य बनाया", "रिकॉर्ड देखा", "हो गया"]
    {
        assert!(trail.contains(want), "{want}: {trail}");
    }
    for raw in ["person:", "view-member", ">enrol<", ">ok<"] {
        assert!(!trail.contains(raw), "{raw}: {trail}");
    }
    let (_, en) = page(
        &app,
        &format!("/members/{kamla}"),
        &format!("sangathan_lang=en; {auditor}"),
    )
    .await;
    let trail = &en[en.find("id=\"audit-trail\"").unwrap()..];
    for want in [
        "Asha Verma",
        "Enrolled",
        "Looked at the record",
        "Done",
        "Mohan Lal",
    ] {
        assert!(trail.contains(want), "{want}: {trail}");
    }
}

async fn members_list_pages_with_a_next_link(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (_, cookie) = officer(&app).await;
    for _ in 0..27 {
        app.enrol(&person("TS-AC-1-B0003"), &key())
            .await
            .expect(201);
    }
    let rows = |html: &str| {
        html.matches("<tr><th scope=\"row\"><a href=\"/members/")
            .count()
    };
    let (_, first) = page(&app, "/members?unit=TS-AC-1-B0003", &cookie).await;
    assert_eq!(rows(&first), 25);
    let at = first
        .find("rel=\"next\" id=\"members-next\"")
        .expect("a next link");
    let href_at = first[..at].rfind("href=\"").unwrap() + 6;
    let next = first[href_at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(
        next.starts_with("/members?unit=TS-AC-1-B0003&q=&after="),
        "{next}"
    );
    let (status, second) = page(&app, &next, &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(rows(&second), 2);
    assert!(!second.contains("id=\"members-next\""));
}

/// A multipart form post (`_csrf`, then one file field `photo`): (status, Location, body).
async fn post_photo(
    app: &App,
    path: &str,
    cookie: &str,
    csrf: &str,
    content_type: &str,
    bytes: &[u8],
) -> (u16, String, String) {
    let b = "sangathan-test-boundary";
    let mut body = Vec::new();
    if !csrf.is_empty() {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"photo\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let res = client()
        .post(app.url(path))
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn report_page_takes_photos_within_the_limits(backend: Backend) {
    use chrono::{Duration, NaiveTime};
    use sangathan_store::meetings::NewMeeting;
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (ac, ac_cookie) = officer(&app).await;
    let (_, other_cookie) = user(
        &app,
        "Kiran Pal",
        "9811100003",
        Role::AcIncharge,
        "TS-AC-3",
        "/",
    )
    .await;
    let m = app
        .store
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-1-B0001".into(),
                date: clock::today() - Duration::days(1),
                time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                minutes: 120,
                kind: "booth".into(),
                chair: None,
                organiser: Some(ac),
                due_hours: 48,
            },
            "test",
        )
        .await
        .unwrap();
    let form_path = format!("/meetings/{}/report", m.id);
    let photos_path = format!("/meetings/{}/photos", m.id);
    let jpeg = |n: usize, fill: u8| {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
        v.resize(n, fill);
        v
    };

    // The report form carries a photo form: none yet, three allowed.
    let (status, form) = page(&app, &form_path, &ac_cookie).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("id=\"photo-form\"") && form.contains("enctype=\"multipart/form-data\""),
        "{form}"
    );
    assert!(form.contains("accept=\"image/jpeg,image/png,image/webp\""));
    assert!(form.contains("3 में से 0 तस्वीरें"), "{form}");
    let csrf = csrf_of(&form);

    // Without the session's token, or outside the scope: nothing stored.
    let (status, _, _) = post_photo(
        &app,
        &photos_path,
        &ac_cookie,
        "",
        "image/jpeg",
        &jpeg(1000, 1),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = post_photo(
        &app,
        &photos_path,
        &other_cookie,
        &csrf_of(&page(&app, "/", &other_cookie).await.1),
        "image/jpeg",
        &jpeg(1000, 1),
    )
    .await;
    assert_eq!(status, 404);
    // Not an image, too large, or no file: said at the field, in Hindi; nothing stored.
    for (bytes, says) in [
        (b"<svg onload=alert(1)>".to_vec(), "JPEG, PNG या WebP"),
        (jpeg(600 * 1024, 2), "512 KB"),
        (Vec::new(), "पहले एक तस्वीर चुनें"),
    ] {
        let (status, _, body) =
            post_photo(&app, &photos_path, &ac_cookie, &csrf, "image/jpeg", &bytes).await;
        assert_eq!(status, 422, "{says}");
        let err = body
            .split("id=\"photo-err\" role=\"alert\">")
            .nth(1)
            .and_then(|r| r.split("</p>").next())
            .unwrap_or_default();
        assert!(err.contains(says), "{says}: {body}");
    }
    assert!(app.store.photos(m.id).await.unwrap().is_empty());

    // Three photos, each into the next free place; then the form says there is no more room.
    for n in 1..=3u32 {
        let (status, location, _) = post_photo(
            &app,
            &photos_path,
            &ac_cookie,
            &csrf,
            "image/jpeg",
            &jpeg(20_000, n as u8),
        )
        .await;
        assert_eq!((status, location), (303, format!("{form_path}?photo={n}")));
        let (_, after) = page(&app, &format!("{form_path}?photo={n}"), &ac_cookie).await;
        assert!(
            after.contains("id=\"photo-note\"") && after.contains("तस्वीर जोड़ दी गई"),
            "{after}"
        );
        assert!(after.contains(&format!("3 में से {n} तस्वीरें")));
        assert!(after.contains(&format!("href=\"/api/v1/meetings/{}/photos/{n}\"", m.id)));
    }
    let stored = app.store.photos(m.id).await.unwrap();
    assert_eq!(
        stored.iter().map(|p| (p.n, p.size)).collect::<Vec<_>>(),
        vec![(1, 20_000), (2, 20_000), (3, 20_000)]
    );
    assert_eq!(
        app.store.photo(m.id, 2).await.unwrap().unwrap().1,
        jpeg(20_000, 2)
    );
    let (_, full) = page(&app, &form_path, &format!("sangathan_lang=en; {ac_cookie}")).await;
    assert!(
        !full.contains("id=\"photo-form\"") && full.contains("3 of 3 photos"),
        "{full}"
    );
    let (status, _, body) = post_photo(
        &app,
        &photos_path,
        &ac_cookie,
        &csrf,
        "image/jpeg",
        &jpeg(1000, 9),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("इस बैठक की तीन तस्वीरें पहले से हैं"), "{body}");
    assert_eq!(
        app.store.photo(m.id, 1).await.unwrap().unwrap().1,
        jpeg(20_000, 1),
        "nothing overwritten"
    );
}

// ---------------------------------------------------------------- leaderboard, missed calls

/// Missed-call messages (they ask for "YES <code>") newly due in the outbox: each call claims
/// what it counts, so the next one counts only what came since.
async fn new_missed_call_messages(app: &App) -> usize {
    app.store
        .outbox_due(clock::now() + chrono::Duration::hours(1), 500)
        .await
        .unwrap()
        .iter()
        .filter(|i| i.body.contains("YES "))
        .count()
}

async fn leaderboard_page_ranks_by_verified_and_asks_by_missed_call(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (busy_id, _) = user(
        &app,
        "Busy Enroller",
        "9811100091",
        Role::BoothPresident,
        "TS-AC-1-B0001",
        "/",
    )
    .await;
    let (careful_id, booth) = user(
        &app,
        "Careful Enroller",
        "9811100092",
        Role::BoothPresident,
        "TS-AC-1-B0002",
        "/",
    )
    .await;
    let (_, ac) = officer(&app).await;
    let (_, admin) = user(
        &app,
        "State Office",
        "9811100093",
        Role::StateAdmin,
        "TS",
        "/",
    )
    .await;
    let enrol_as = |id: i64, booth: &'static str| {
        let app = &app;
        async move {
            let token = app.store.issue_user_token(id, "test").await.unwrap();
            let e = app
                .send(
                    reqwest::Method::POST,
                    "/api/v1/members",
                    Some(Some(&format!("Bearer {token}"))),
                    Some(&person(booth)),
                    Some(&key()),
                )
                .await
                .expect(201);
            membership_of(app, &e["person_id"]).await
        }
    };
    // Five from the busy one: two verified, three rejected. Three from the careful one, all
    // verified. Raw counts favour the busy one; the leaderboard ranks the careful one first.
    let mut busy = Vec::new();
    for _ in 0..5 {
        busy.push(enrol_as(busy_id, "TS-AC-1-B0001").await);
    }
    let mut careful = Vec::new();
    for _ in 0..3 {
        careful.push(enrol_as(careful_id, "TS-AC-1-B0002").await);
    }
    let now = clock::now();
    app.store
        .set_status(&busy[..2], "verified", None, "test", now)
        .await
        .unwrap();
    app.store
        .set_status(
            &busy[2..],
            "rejected",
            Some("not on the voter list"),
            "test",
            now,
        )
        .await
        .unwrap();
    app.store
        .set_status(&careful, "verified", None, "test", now)
        .await
        .unwrap();

    // Hindi first: the careful enroller at rank 1 (3 verified, 100%), the busy one below (2
    // verified, 3 rejected, 40%).
    let (status, html) = page(&app, "/units/TS-AC-1/leaderboard", &ac).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<html lang=\"hi\">") && html.contains("लीडरबोर्ड"),
        "{html}"
    );
    assert!(html.contains(">क्रम<") && html.contains(">अस्वीकृत<") && html.contains("% सत्यापित"));
    let careful_at = html
        .find(&format!(
            "data-enroller=\"person:{careful_id}\" data-rank=\"1\""
        ))
        .expect("the careful enroller first");
    let busy_at = html
        .find(&format!(
            "data-enroller=\"person:{busy_id}\" data-rank=\"2\""
        ))
        .expect("the busy enroller second");
    assert!(careful_at < busy_at);
    let row = |id: i64| {
        let at = html
            .find(&format!("data-enroller=\"person:{id}\""))
            .unwrap();
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    let c = row(careful_id);
    assert!(
        c.contains("Careful Enroller") && c.contains(">3<") && c.contains("100.0%"),
        "{c}"
    );
    let b = row(busy_id);
    assert!(
        b.contains("Busy Enroller")
            && b.contains("verified\">2<")
            && b.contains("rejected\">3<")
            && b.contains("40.0%"),
        "{b}"
    );
    // In English on request; a wing narrows it (nobody enrolled volunteers here).
    let en = format!("sangathan_lang=en; {ac}");
    let (_, html_en) = page(&app, "/units/TS-AC-1/leaderboard", &en).await;
    assert!(html_en.contains("Leaderboard") && html_en.contains("% verified"));
    let (status, wing) = page(&app, "/units/TS-AC-1/leaderboard?wing=party", &ac).await;
    assert_eq!(status, 200);
    assert!(wing.contains(&format!("person:{careful_id}")));
    // A sector and a booth have theirs too.
    let (status, b2) = page(&app, "/units/TS-AC-1-B0002/leaderboard", &ac).await;
    assert_eq!(status, 200);
    assert!(
        b2.contains(&format!("person:{careful_id}")) && !b2.contains(&format!("person:{busy_id}"))
    );
    // Audited like the API.
    let recent = app
        .store
        .audit_before(chrono::Utc::now() + chrono::Duration::minutes(1), 50)
        .await
        .unwrap();
    assert!(
        recent.iter().any(|e| e.event.action == "view-leaderboard"
            && e.event.record.as_deref() == Some("unit:TS-AC-1")),
        "{recent:?}"
    );
    // Outside the AC in-charge's scope: not found; a booth president may not verify.
    for path in ["/units/TS-AC-2/leaderboard", "/units/TS/leaderboard"] {
        let (status, body) = page(&app, path, &ac).await;
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("<!doctype html>"));
    }
    let (status, _) = page(&app, "/units/TS-AC-1-B0002/leaderboard", &booth).await;
    assert_eq!(status, 403);
    // Above an AC (the state office may look there): the store's reason, in the reader's
    // language, on the page.
    let (status, body) = page(&app, "/units/TS/leaderboard", &admin).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"leaderboard-error\""), "{body}");
    assert!(body.contains("विधानसभा, सेक्टर या बूथ चुनें"), "{body}");
    let (status, body) = page(
        &app,
        "/units/TS/leaderboard",
        &format!("sangathan_lang=en; {admin}"),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("choose an AC, sector or booth"), "{body}");
    // Linked from the drill-down of an AC (where the reader may verify) and from the queue;
    // not above an AC, nor for a booth president.
    let (_, drill) = page(&app, "/units/TS-AC-1", &ac).await;
    assert!(
        drill.contains("href=\"/units/TS-AC-1/leaderboard\""),
        "{drill}"
    );
    let (_, drill) = page(&app, "/units/TS", &admin).await;
    assert!(!drill.contains("id=\"unit-leaderboard\""));
    let (_, drill) = page(&app, "/units/TS-AC-1-B0002", &booth).await;
    assert!(!drill.contains("id=\"unit-leaderboard\""));
    let (_, queue) = page(&app, "/verification?unit=TS-AC-1", &ac).await;
    assert!(queue.contains("id=\"verify-leaderboard\""));

    // The missed-call button on the queue: the member is asked through the outbox.
    let p = app
        .enrol(&person("TS-AC-1-B0001"), &key())
        .await
        .expect(201);
    let pid = p["person_id"].as_i64().unwrap();
    let mid = membership_of(&app, &p["person_id"]).await;
    let (_, queue) = page(&app, "/verification?unit=TS-AC-1", &ac).await;
    let ask = format!("/memberships/{mid}/missed-call");
    assert!(queue.contains(&format!("action=\"{ask}\"")), "{queue}");
    assert!(queue.contains("मिस्ड कॉल / जवाबी SMS से पुष्टि माँगें"));
    let csrf = csrf_of(&queue);
    new_missed_call_messages(&app).await;
    let (status, _, _) = post_form(&app, &ask, &ac, &[("unit", "TS-AC-1")]).await;
    assert_eq!(status, 403, "no CSRF token");
    let form = [
        ("_csrf", csrf.as_str()),
        ("unit", "TS-AC-1"),
        ("after", "0"),
    ];
    let (status, location, _) = post_form(&app, &ask, &ac, &form).await;
    assert_eq!(status, 303);
    assert_eq!(
        location,
        format!("/verification?unit=TS-AC-1&after=0&done=asked#m-{mid}")
    );
    assert_eq!(new_missed_call_messages(&app).await, 1);
    let (_, back) = page(&app, &location, &ac).await;
    assert!(
        back.contains("मिस्ड कॉल या जवाबी SMS से पुष्टि करने को कहा गया"),
        "{back}"
    );
    let trail = actions_of(&app, pid, "request-missed-call").await;
    assert!(
        trail
            .iter()
            .any(|e| e.event.action == "request-missed-call"),
        "{trail:?}"
    );
    // Three a day; the fourth is refused at the member's row.
    for _ in 0..2 {
        let (status, _, _) = post_form(&app, &ask, &ac, &form).await;
        assert_eq!(status, 303);
    }
    let (status, _, body) = post_form(&app, &ask, &ac, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"err-{mid}\"")), "{body}");
    assert!(body.contains("पिछले 24 घंटे में तीन कोड"), "{body}");
    assert_eq!(new_missed_call_messages(&app).await, 2);

    // A campaign that verifies its members only by an officer's check: refused, in Hindi, at
    // the row (and on the member page when asked from there).
    app.store
        .create_campaign(&sangathan_store::NewCampaign {
            code: "vol-check".into(),
            name: "Volunteers".into(),
            name_hi: "स्वयंसेवक".into(),
            wing: "volunteers".into(),
            start_date: clock::today(),
            end_date: clock::today() + chrono::Duration::days(30),
            target_per_ac: 10,
            counts: None,
            verify_by: Some(vec!["officer".into()]),
        })
        .await
        .unwrap();
    let mut v = person("TS-AC-1-B0001");
    v["wing"] = serde_json::json!("volunteers");
    let e = app.enrol(&v, &key()).await.expect(201);
    let m = app
        .get(&format!("/api/v1/members/{}", e["person_id"]))
        .await
        .expect(200);
    let vid = m["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["wing"] == "volunteers")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, queue) = page(&app, "/verification?unit=TS-AC-1", &admin).await;
    let ask = format!("/memberships/{vid}/missed-call");
    assert!(queue.contains(&format!("action=\"{ask}\"")), "{queue}");
    let csrf = csrf_of(&queue);
    let form = [
        ("_csrf", csrf.as_str()),
        ("unit", "TS-AC-1"),
        ("after", "0"),
    ];
    let (status, _, body) = post_form(&app, &ask, &admin, &form).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"err-{vid}\"")), "{body}");
    assert!(
        body.contains("इस अभियान में सदस्यों का सत्यापन मिस्ड कॉल / जवाबी SMS से नहीं होता"),
        "{body}"
    );
    let (status, _, body) =
        post_form(&app, &ask, &format!("sangathan_lang=en; {admin}"), &form).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("does not verify members by missed_call"),
        "{body}"
    );
    let (status, _, body) = post_form(&app, &ask, &admin, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(status, 422);
    assert!(body.contains(&format!("id=\"code-err-{vid}\"")), "{body}");
    assert_eq!(new_missed_call_messages(&app).await, 0, "nothing queued");
    // The AC in-charge holds no post in the volunteers wing: not theirs to ask.
    let (_, queue) = page(&app, "/verification?unit=TS-AC-1", &ac).await;
    assert!(!queue.contains(&format!("action=\"{ask}\"")));
    let (status, _, _) = post_form(
        &app,
        &ask,
        &ac,
        &[("_csrf", csrf_of(&queue).as_str()), ("unit", "TS-AC-1")],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.store
            .membership_state(vid)
            .await
            .unwrap()
            .unwrap()
            .status,
        "pending"
    );
    assert!(app.store.verify().await.unwrap().is_empty());
}
