//! Meetings over HTTP: scope, reports up the chain, compliance, and a secret calendar feed.

use super::support::{App, spawn_app};
use chrono::{Datelike, Duration, NaiveTime};
use reqwest::Method;
use sangathan_core::access::Role;
use sangathan_core::ids::{Mobile, PersonName};
use sangathan_store::meetings::{FeedKind, NewReport, NewSeries};
use sangathan_store::{Backend, NewPost, clock};
use serde_json::{Value, json};

/// What the OpenAPI route check needs to find: series 1, its meeting 1 with a report, feed 1.
pub async fn seed(app: &App) {
    let s = &app.store;
    let series = NewSeries {
        wing: "employees".into(),
        unit: "TS-DIV-NORTH".into(),
        rotate: sangathan_core::geo::UnitKind::Ac,
        rule: "FREQ=WEEKLY;BYDAY=SU".into(),
        time: NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        minutes: 120,
        start: clock::today() - Duration::days(14),
        end: None,
        kind: "employees".into(),
        min_gap_weeks: 0,
        due_hours: 48,
    };
    let id = s.add_series(&series, "admin").await.unwrap().id;
    s.plan(id, clock::today() - Duration::days(14), 2, "admin")
        .await
        .unwrap();
    s.file_report(
        1,
        &NewReport {
            held: true,
            attendance: 3,
            ..Default::default()
        },
        "admin",
        clock::now(),
    )
    .await
    .unwrap();
    s.create_feed(FeedKind::Series, id, "admin").await.unwrap();
    let met = sangathan_store::meetings::NewContact {
        name: "Sunita Verma".into(),
        department: "Education".into(),
        mobile: Some("9876512345".into()),
        consent: true,
    };
    s.add_contacts(1, &[met], "admin").await.unwrap();
    s.put_photo(1, 1, &jpeg(100), "admin").await.unwrap();
    let point = sangathan_store::meetings::NewPoint {
        wing: "employees".into(),
        title: "Old pension scheme".into(),
        body_hi: "पुरानी पेंशन योजना".into(),
        published: true,
        ..Default::default()
    };
    s.add_point(&point, "admin").await.unwrap();
    let (person, _) = user(app, 90, Role::DivisionIncharge, "TS-DIV-NORTH").await;
    s.add_charge(person, "TS-DIV-NORTH", "meetings", "admin")
        .await
        .unwrap();
}

/// A JPEG-looking image of `n` bytes.
pub fn jpeg(n: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.resize(n.max(4), 0x42);
    v
}

/// A user with one post and an API token.
async fn user(app: &App, n: u64, role: Role, unit: &str) -> (i64, String) {
    let s = &app.store;
    let name = PersonName::parse(&format!("Bearer {n}")).unwrap();
    let mobile = Mobile::parse(&format!("{}", 6_300_000_000u64 + n)).unwrap();
    let post = NewPost {
        role,
        unit: unit.into(),
        wing: "party".into(),
        starts_on: clock::today() - Duration::days(1),
    };
    let id = s
        .add_user(&name, &mobile, None, &[post], "admin")
        .await
        .unwrap();
    (id, s.issue_user_token(id, "test").await.unwrap())
}

async fn as_user(
    app: &App,
    token: &str,
    m: Method,
    path: &str,
    body: Option<&Value>,
) -> super::support::Answer {
    let auth = format!("Bearer {token}");
    app.send(m, path, Some(Some(&auth)), body, None).await
}

pub async fn meetings_scoped_reports_and_a_revocable_feed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (a, a_tok) = user(&app, 1, Role::AcIncharge, "TS-AC-1").await;
    let (_, c_tok) = user(&app, 3, Role::AcIncharge, "TS-AC-3").await;
    let (d, d_tok) = user(&app, 4, Role::DistrictPresident, "TS-DT-HILL").await;

    // A bad series names each field in both languages; nothing is written.
    let bad = app
        .post(
            "/api/v1/meetings/series",
            &json!({"wing": "employees", "unit": "TS-DIV-NORTH", "rotate": "ac", "rule": "FREQ=DAILY", "time": "11:00", "start": "2027-01-03"}),
        )
        .await
        .expect(422);
    assert_eq!(
        bad["error"]["fields"]["rule"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true),
        "{bad}"
    );
    assert!(
        bad["error"]["fields_hi"]["rule"].as_str().is_some(),
        "{bad}"
    );
    let ok = app
        .post(
            "/api/v1/meetings/series",
            &json!({"wing": "employees", "unit": "TS-DIV-NORTH", "rotate": "ac", "rule": "FREQ=WEEKLY;BYDAY=SU", "time": "11:00", "start": "2027-01-03", "min_gap_weeks": 1}),
        )
        .await
        .expect(201);
    assert_eq!(ok["pool"].as_array().unwrap().len(), 3);

    // The AC in-charge calls a booth meeting yesterday; the other AC's in-charge cannot see it.
    let day = clock::today() - Duration::days(1);
    let body = json!({"wing": "party", "venue": "TS-AC-1-B0001", "date": day, "time": "10:00", "kind": "booth"});
    let m = as_user(&app, &a_tok, Method::POST, "/api/v1/meetings", Some(&body))
        .await
        .expect(201);
    assert_eq!(m["organiser"], a);
    let id = m["id"].as_i64().unwrap();
    let path = format!("/api/v1/meetings/{id}");
    as_user(&app, &c_tok, Method::GET, &path, None)
        .await
        .expect(404);
    as_user(&app, &c_tok, Method::POST, "/api/v1/meetings", Some(&body))
        .await
        .expect(404);
    let page = as_user(&app, &a_tok, Method::GET, &path, None)
        .await
        .expect(200);
    assert!(
        page["whatsapp"]
            .as_str()
            .unwrap()
            .starts_with("https://wa.me/?text="),
        "{page}"
    );
    assert!(page["report"].is_null());
    assert!(
        page["report_summary"].is_null() && page["report_whatsapp"].is_null(),
        "nothing to share before a report: {page}"
    );
    assert_eq!(m["chair"], a, "the AC in-charge presides over the booth meeting");

    // Filed by the organiser (twice: a retry changes nothing); it skips the filer and waits
    // for the district president.
    let report = json!({"held": true, "attendance": 31, "employees_met": 9, "issues": "वेतन आयोग"});
    let r1 = as_user(
        &app,
        &a_tok,
        Method::PUT,
        &format!("{path}/report"),
        Some(&report),
    )
    .await
    .expect(200);
    let r2 = as_user(
        &app,
        &a_tok,
        Method::PUT,
        &format!("{path}/report"),
        Some(&report),
    )
    .await
    .expect(200);
    assert_eq!(
        (r1["revision"].as_i64(), r2["revision"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(r1["timing"], "on_time");
    assert_eq!(r1["route"][0]["person_id"], d, "{r1}");
    let no_reason = as_user(
        &app,
        &a_tok,
        Method::PUT,
        &format!("{path}/report"),
        Some(&json!({"held": false})),
    )
    .await
    .expect(422);
    assert_eq!(no_reason["error"]["code"], "required");
    let inbox = as_user(&app, &d_tok, Method::GET, "/api/v1/reports/inbox", None)
        .await
        .expect(200);
    assert_eq!(inbox["reports"][0]["meeting"]["id"], id);
    assert!(
        as_user(&app, &a_tok, Method::GET, "/api/v1/reports/inbox", None)
            .await
            .expect(200)["reports"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    as_user(
        &app,
        &c_tok,
        Method::POST,
        &format!("{path}/report/acknowledge"),
        Some(&json!({})),
    )
    .await
    .expect(409);
    let done = as_user(
        &app,
        &d_tok,
        Method::POST,
        &format!("{path}/report/acknowledge"),
        Some(&json!({})),
    )
    .await
    .expect(200);
    assert_eq!(
        done["status"], "acknowledged",
        "nobody above the district in the mini state: {done}"
    );

    // The filed report's summary to share on WhatsApp: kind, date, venue, the counts and the
    // chair's post, in Hindi and English; no names, mobiles or free text.
    let page = as_user(&app, &d_tok, Method::GET, &path, None)
        .await
        .expect(200);
    let summary = page["report_summary"].as_str().expect("a summary").to_string();
    let link = page["report_whatsapp"].as_str().expect("a share link");
    let text = link
        .strip_prefix("https://wa.me/?text=")
        .expect("a click-to-chat link");
    assert_eq!(percent_decode(text), summary, "the link carries the summary");
    for want in [
        "बैठक की रिपोर्ट",
        "बूथ बैठक",
        "Meeting report",
        "Booth meeting",
        "(TS-AC-1-B0001)",
        &day.format("%d-%m-%Y").to_string(),
        "बैठक हुई",
        "उपस्थिति 31",
        "कर्मचारियों से भेंट 9",
        "Held.",
        "Attendance 31, employees met 9, new supporters 0, new members 0.",
        "अध्यक्षता: विधानसभा प्रभारी",
        "Chair: Constituency in-charge",
    ] {
        assert!(summary.contains(want), "{want:?} missing from {summary}");
    }
    for never in ["Bearer", "6300000", "वेतन आयोग", "+91"] {
        assert!(!summary.contains(never), "{never:?} in {summary}");
    }

    // Contacts met there: no number kept without consent (all or none), followed up, converted.
    let cpath = format!("{path}/contacts");
    let bad = json!({"contacts": [{"name": "Geeta Devi", "department": "Health"}, {"name": "Mohan Lal", "mobile": "9876512399"}]});
    let e = as_user(&app, &a_tok, Method::POST, &cpath, Some(&bad))
        .await
        .expect(422);
    assert_eq!(e["error"]["code"], "consent_required", "{e}");
    assert!(
        e["error"]["fields"]["contacts[1].mobile"].is_string(),
        "{e}"
    );
    let listed = as_user(
        &app,
        &a_tok,
        Method::GET,
        "/api/v1/units/TS-AC-1/contacts",
        None,
    )
    .await
    .expect(200);
    assert!(
        listed["contacts"].as_array().unwrap().is_empty(),
        "nothing written: {listed}"
    );
    let good = json!({"contacts": [{"name": "Geeta Devi", "department": "Health"}, {"name": "Mohan Lal", "mobile": "9876512399", "consent": true}]});
    let made = as_user(&app, &a_tok, Method::POST, &cpath, Some(&good))
        .await
        .expect(201);
    let mohan = made["contacts"][1]["id"].as_i64().unwrap();
    as_user(
        &app,
        &c_tok,
        Method::GET,
        "/api/v1/units/TS-AC-1/contacts",
        None,
    )
    .await
    .expect(404);
    // Not to someone who cannot see members there (the other AC's in-charge).
    let c_id = app
        .store
        .user_by_mobile("+916300000003")
        .await
        .unwrap()
        .unwrap()
        .person_id;
    let refused = as_user(
        &app,
        &a_tok,
        Method::POST,
        &format!("/api/v1/contacts/{mohan}/assign"),
        Some(&json!({"person_id": c_id})),
    )
    .await
    .expect(422);
    assert_eq!(refused["error"]["code"], "not_in_scope");
    let assigned = as_user(
        &app,
        &a_tok,
        Method::POST,
        &format!("/api/v1/contacts/{mohan}/assign"),
        Some(&json!({"person_id": d})),
    )
    .await
    .expect(200);
    assert_eq!(assigned["status"], "assigned");
    let mine = as_user(
        &app,
        &d_tok,
        Method::GET,
        "/api/v1/units/TS-DT-HILL/contacts?mine=true",
        None,
    )
    .await
    .expect(200);
    assert_eq!(mine["contacts"].as_array().unwrap().len(), 1);
    as_user(
        &app,
        &d_tok,
        Method::POST,
        &format!("/api/v1/contacts/{mohan}/outcome"),
        Some(&json!({"status": "will_come", "note": "रविवार को आएँगे"})),
    )
    .await
    .expect(200);
    let conv = json!({"unit": "TS-AC-1-B0001"});
    let c1 = as_user(
        &app,
        &d_tok,
        Method::POST,
        &format!("/api/v1/contacts/{mohan}/convert"),
        Some(&conv),
    )
    .await
    .expect(200);
    let c2 = as_user(
        &app,
        &d_tok,
        Method::POST,
        &format!("/api/v1/contacts/{mohan}/convert"),
        Some(&conv),
    )
    .await
    .expect(200);
    assert_eq!(c1["status"], "converted");
    assert_eq!(
        c1["person_id"], c2["person_id"],
        "a retried conversion enrols once"
    );
    let member = app
        .get(&format!("/api/v1/members/{}", c1["person_id"]))
        .await
        .expect(200);
    assert_eq!(member["name"], "Mohan Lal", "{member}");
    let geeta = made["contacts"][0]["id"].as_i64().unwrap();
    as_user(
        &app,
        &a_tok,
        Method::DELETE,
        &format!("/api/v1/contacts/{geeta}"),
        None,
    )
    .await
    .expect_status(204);
    assert!(app.store.contact(geeta).await.unwrap().is_none());

    // Photos: images only, at most 512 KB, three per meeting, seen like the meeting.
    let photo = |n: u32, body: Vec<u8>, tok: String| {
        let app = &app;
        let url = app.url(&format!("{path}/photos/{n}"));
        async move {
            let res = app
                .client
                .put(url)
                .bearer_auth(tok)
                .header("content-type", "image/jpeg")
                .body(body)
                .send()
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    assert_eq!(photo(1, jpeg(20_000), a_tok.clone()).await, 200);
    assert_eq!(photo(2, jpeg(600 * 1024), a_tok.clone()).await, 413);
    assert_eq!(
        photo(2, b"<svg onload=alert(1)>".to_vec(), a_tok.clone()).await,
        422
    );
    assert_eq!(photo(4, jpeg(100), a_tok.clone()).await, 422);
    assert_eq!(photo(2, jpeg(100), c_tok.clone()).await, 404);
    let got = app
        .client
        .get(app.url(&format!("{path}/photos/1")))
        .bearer_auth(&a_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().to_vec(), jpeg(20_000));
    as_user(&app, &c_tok, Method::GET, &format!("{path}/photos/1"), None)
        .await
        .expect(404);
    let list = as_user(&app, &a_tok, Method::GET, &format!("{path}/photos"), None)
        .await
        .expect(200);
    assert_eq!(list["photos"].as_array().unwrap().len(), 1);

    // Compliance for the week, in the AC and at the state (the admin).
    let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
    let week = sangathan_core::meetings::week_code(monday);
    let c = as_user(
        &app,
        &a_tok,
        Method::GET,
        &format!("/api/v1/units/TS-AC-1/compliance?week={week}"),
        None,
    )
    .await
    .expect(200);
    assert_eq!(
        (
            c["unit"]["planned"].as_i64(),
            c["unit"]["held"].as_i64(),
            c["unit"]["on_time"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{c}"
    );
    let c = app
        .get(&format!("/api/v1/units/TS/compliance?week={week}"))
        .await
        .expect(200);
    assert_eq!(c["unit"]["on_time"], 1);
    as_user(
        &app,
        &c_tok,
        Method::GET,
        &format!("/api/v1/units/TS-AC-1/compliance?week={week}"),
        None,
    )
    .await
    .expect(404);
    app.get("/api/v1/units/TS/compliance?week=2027-W99")
        .await
        .expect(422);

    // The AC in-charge's own calendar: a secret URL that needs no login, until revoked (only by
    // its owner or the state office).
    let feed = as_user(
        &app,
        &a_tok,
        Method::POST,
        "/api/v1/calendar/feeds",
        Some(&json!({"kind": "person"})),
    )
    .await
    .expect(201);
    let url = feed["url"].as_str().unwrap().to_string();
    let cal = app.send(Method::GET, &url, Some(None), None, None).await;
    cal.expect_status(200);
    assert!(
        cal.header("content-type")
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = cal.text();
    assert!(
        text.contains("BEGIN:VCALENDAR") && text.contains(&format!("UID:meeting-{id}@sangathan")),
        "{text}"
    );
    assert!(!text.contains("Bearer 1"), "no names in feeds");
    let revoke = format!("/api/v1/calendar/feeds/{}", feed["id"]);
    as_user(&app, &c_tok, Method::DELETE, &revoke, None)
        .await
        .expect(404);
    as_user(&app, &a_tok, Method::DELETE, &revoke, None)
        .await
        .expect_status(204);
    app.send(Method::GET, &url, Some(None), None, None)
        .await
        .expect_status(404);
    app.send(Method::GET, "/ical/not-a-token.ics", Some(None), None, None)
        .await
        .expect_status(404);
    assert!(app.store.verify().await.unwrap().is_empty());
}

/// `%XX` escapes back to bytes (what a browser does with the share link's text).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("a hex escape"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}
