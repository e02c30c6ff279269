//! Accounts, scoped access, audit and members' rights against a real server on a real database,
//! on SQLite and (with `SANGATHAN_TEST_PG_URL`) PostgreSQL.
//!
//! The authorization matrix's expected answers come from a rule written here, independently of
//! the policy under test: the record's unit lies inside one of the caller's posts' subtrees (by
//! walking the unit's parents), in the post's wing, and the role may do the action (a table here).

#[path = "api/support.rs"]
mod support;

use reqwest::Method;
use sangathan_core::rng::SplitMix64;
use sangathan_store::{AuditEvent, Backend, NewPost, Role, Wings, clock};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
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
    scoped_enrolment_cannot_reach_outside,
    sensitive_fields_only_with_consent_and_as_aggregates,
    authorization_matrix,
    scoped_pairs_property,
    login_sessions_csrf_and_limits,
    audit_chain_detects_tampering,
    erasure_leaves_no_trace,
    every_enrolment_request_leaves_one_audit_event,
);

/// What each role may do: written here, apart from the policy under test.
fn may(role: &str, action: &str) -> bool {
    let table: &[(&str, &[&str])] = &[
        (
            "state-admin",
            &[
                "verify",
                "programmes",
                "manage-programmes",
                "checkin",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "merge",
                "campaigns",
                "sensitive",
                "meetings",
                "manage-meetings",
                "report",
                "users",
            ],
        ),
        (
            "division-incharge",
            &[
                "verify",
                "programmes",
                "manage-programmes",
                "checkin",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "merge",
                "sensitive",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "district-president",
            &[
                "verify",
                "programmes",
                "manage-programmes",
                "checkin",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "merge",
                "sensitive",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "ac-incharge",
            &[
                "verify",
                "programmes",
                "manage-programmes",
                "checkin",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "merge",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "sector-incharge",
            &[
                "verify",
                "programmes",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "booth-president",
            &[
                "programmes",
                "bulletins",
                "followups",
                "unit",
                "members",
                "enrol",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "federation-officer",
            &[
                "programmes",
                "bulletins",
                "unit",
                "members",
                "enrol",
                "meetings",
                "manage-meetings",
                "report",
            ],
        ),
        (
            "volunteer-commander",
            &[
                "unit",
                "members",
                "enrol",
                "meetings",
                "programmes",
                "manage-programmes",
                "checkin",
                "bulletins",
                "followups",
            ],
        ),
        ("volunteer", &["unit", "enrol"]),
        ("member", &[]),
    ];
    table.iter().any(|(r, a)| *r == role && a.contains(&action))
}

/// The posts of the matrix: one caller per role, around AC 1 of district Hill, division North.
const CALLERS: &[(&str, &str, &str)] = &[
    ("state-admin", "TS", "party"),
    ("division-incharge", "TS-DIV-NORTH", "party"),
    ("district-president", "TS-DT-HILL", "party"),
    ("ac-incharge", "TS-AC-1", "party"),
    ("sector-incharge", "TS-AC-1-S01", "party"),
    ("booth-president", "TS-AC-1-B0001", "party"),
    ("federation-officer", "TS-DT-HILL", "employees"),
    ("volunteer-commander", "TS-DT-HILL", "volunteers"),
    ("volunteer", "TS-AC-1-B0001", "volunteers"),
    ("member", "TS-AC-1-B0001", "party"),
];

const WINGS: &[&str] = &["party", "employees", "volunteers"];

struct World {
    app: App,
    /// Parent of each unit code (upper case), from the API.
    parent: HashMap<String, Option<String>>,
    /// role → bearer token.
    tokens: HashMap<&'static str, String>,
    /// role → the caller's person id.
    person_ids: HashMap<&'static str, i64>,
    /// role → the caller's mobile (as typed).
    mobile: HashMap<&'static str, String>,
    /// (booth, wing, person id) of the members.
    members: Vec<(String, String, i64)>,
}

impl World {
    /// Is `unit` the unit `top` or below it?
    fn inside(&self, unit: &str, top: &str) -> bool {
        let mut u = Some(unit.to_string());
        while let Some(x) = u {
            if x == top {
                return true;
            }
            u = self.parent.get(&x).cloned().flatten();
        }
        false
    }

    /// The independent rule.
    fn allowed(&self, role: &str, action: &str, unit: &str, wing: Option<&str>) -> bool {
        let (_, post_unit, post_wing) = CALLERS.iter().find(|c| c.0 == role).unwrap();
        may(role, action)
            && self.inside(unit, post_unit)
            && (role == "state-admin" || wing.is_none_or(|w| w == *post_wing))
    }

    async fn as_role(
        &self,
        role: &str,
        m: Method,
        path: &str,
        body: Option<&Value>,
    ) -> support::Answer {
        let auth = format!("Bearer {}", self.tokens[role]);
        self.app
            .send(m, path, Some(Some(&auth)), body, Some(&key()))
            .await
    }
}

async fn world(backend: Backend) -> Option<World> {
    let app = spawn_app(backend).await?;
    // The tree, as the API shows it to the operator.
    let mut parent = HashMap::new();
    let mut todo = vec!["TS".to_string()];
    while let Some(code) = todo.pop() {
        let kids = app
            .get(&format!("/api/v1/units/{code}/children"))
            .await
            .expect(200);
        for k in kids["children"].as_array().unwrap() {
            let c = k["code"].as_str().unwrap().to_string();
            parent.insert(c.clone(), Some(code.clone()));
            if !c.contains("-B") {
                todo.push(c);
            }
        }
    }
    parent.insert("TS".into(), None);
    let today = clock::today();
    let mut tokens = HashMap::new();
    let mut person_ids = HashMap::new();
    let mut mobiles = HashMap::new();
    for (i, (role, unit, wing)) in CALLERS.iter().enumerate() {
        let post = NewPost {
            role: Role::parse(role).unwrap(),
            unit: unit.to_string(),
            wing: wing.to_string(),
            starts_on: today,
        };
        let name = sangathan_core::ids::PersonName::parse(&format!("Officer {role}")).unwrap();
        let mobile = sangathan_core::ids::Mobile::parse(&format!("70000000{i:02}")).unwrap();
        let id = app
            .store
            .add_user(&name, &mobile, None, &[post], "test")
            .await
            .unwrap();
        tokens.insert(*role, app.store.issue_user_token(id, "test").await.unwrap());
        person_ids.insert(*role, id);
        mobiles.insert(*role, format!("70000000{i:02}"));
    }
    // Members in every wing at booths in each relation to the posts.
    let booths = [
        "TS-AC-1-B0001",
        "TS-AC-1-B0002",
        "TS-AC-1-B0015",
        "TS-AC-2-B0001",
        "TS-AC-3-B0001",
        "TS-AC-4-B0001",
    ];
    let mut members = Vec::new();
    for b in booths {
        let b = b.to_string();
        let mut b = b;
        if !parent.contains_key(&b) {
            // Fall back to a booth of the same AC that exists (booth counts vary).
            let ac = b.rsplit_once("-B").unwrap().0.to_string();
            b = parent
                .keys()
                .filter(|k| k.starts_with(&format!("{ac}-B")))
                .max()
                .cloned()
                .unwrap_or(b);
        }
        for w in WINGS {
            let mut p = person(&b);
            p["wing"] = json!(w);
            let id = app.enrol(&p, &key()).await.expect(201)["person_id"]
                .as_i64()
                .unwrap();
            members.push((b.clone(), w.to_string(), id));
        }
    }
    Some(World {
        app,
        parent,
        tokens,
        person_ids,
        mobile: mobiles,
        members,
    })
}

async fn authorization_matrix(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let units: Vec<String> = [
        "TS",
        "TS-DIV-NORTH",
        "TS-DT-HILL",
        "TS-AC-1",
        "TS-AC-1-S01",
        "TS-AC-1-B0001",
        "TS-AC-1-B0002",
        "TS-AC-1-S02",
        "TS-AC-2",
        "TS-DT-LAKE",
        "TS-AC-3",
        "TS-DIV-SOUTH",
        "TS-AC-4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // A merge already undone: undoing it again is refused (409) for those who may see it.
    let (b, _, a) = w.members[0].clone();
    let mut twin = person(&b);
    twin["epic"] = json!("");
    let twin_id = w.app.enrol(&twin, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let m = w
        .app
        .post("/api/v1/merges", &json!({"from": twin_id, "into": a}))
        .await
        .expect(201);
    let merge_id = m["merge_id"].as_i64().unwrap();
    w.app
        .send(
            Method::DELETE,
            &format!("/api/v1/merges/{merge_id}"),
            None,
            None,
            None,
        )
        .await
        .expect(200);

    // Meetings: a series over the North division's ACs, planned; single meetings at booths in
    // each relation to the posts, each reported by the operator; a feed of the operator's.
    let series = {
        use sangathan_store::meetings::NewSeries;
        let n = NewSeries {
            wing: "employees".into(),
            unit: "TS-DIV-NORTH".into(),
            rotate: sangathan_core::geo::UnitKind::Ac,
            rule: "FREQ=WEEKLY;BYDAY=SU".into(),
            time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            minutes: 120,
            start: chrono::NaiveDate::from_ymd_opt(2027, 1, 3).unwrap(),
            end: None,
            kind: "employees".into(),
            min_gap_weeks: 0,
            due_hours: 48,
        };
        w.app.store.add_series(&n, "admin").await.unwrap().id
    };
    let mut meetings = Vec::new();
    for venue in ["TS-AC-1-B0001", "TS-AC-1-B0002", "TS-AC-2", "TS-AC-4"] {
        let m = w
            .app
            .post("/api/v1/meetings", &json!({"wing": "party", "venue": venue, "date": clock::today() - chrono::Duration::days(3), "time": "10:00", "kind": "booth"}))
            .await
            .expect(201);
        let id = m["id"].as_i64().unwrap();
        w.app
            .send(
                Method::PUT,
                &format!("/api/v1/meetings/{id}/report"),
                None,
                Some(&json!({"held": true, "attendance": 5})),
                None,
            )
            .await
            .expect(200);
        w.app
            .store
            .put_photo(id, 1, &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], "admin")
            .await
            .unwrap();
        w.app
            .post(&format!("/api/v1/meetings/{id}/contacts"), &json!({"contacts": [{"name": "Met Someone", "mobile": "9876512340", "consent": true}]}))
            .await
            .expect(201);
        meetings.push((venue.to_string(), id));
    }
    let mut contact_of = std::collections::HashMap::new();
    for (venue, mid) in &meetings {
        let list = w
            .app
            .get(&format!("/api/v1/units/{venue}/contacts"))
            .await
            .expect(200);
        let cid = list["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["meeting_id"] == *mid)
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        contact_of.insert(*mid, cid);
    }
    let point = w
        .app
        .post("/api/v1/talking-points", &json!({"wing": "party", "title": "Membership drive", "body_hi": "सदस्यता अभियान", "published": true}))
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let admin_feed = w
        .app
        .post(
            "/api/v1/calendar/feeds",
            &json!({"kind": "series", "series": series}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    // Programmes of the volunteer force at venues in each relation to the posts, each with a duty;
    // bulletins to district Hill and to AC 4 (another division), each with a comment.
    let mut programmes = Vec::new();
    for venue in ["TS-AC-1-B0001", "TS-AC-2", "TS-AC-4"] {
        let p = w
            .app
            .post("/api/v1/programmes", &json!({"wing": "volunteers", "unit": "TS", "venue": venue, "title": "Rally", "kind": "rally",
                "starts_at": "2030-01-01T05:00:00Z", "ends_at": "2030-01-01T09:00:00Z", "expected": 100}))
            .await
            .expect(201);
        let pid = p["id"].as_i64().unwrap();
        let d = w
            .app
            .post(&format!("/api/v1/programmes/{pid}/duties"), &json!({"kind": "gate", "headcount": 2}))
            .await
            .expect(201);
        programmes.push((venue.to_string(), pid, d["id"].as_i64().unwrap()));
    }
    let mut bulletins = Vec::new();
    for unit in ["TS-DT-HILL", "TS-AC-4"] {
        let b = w.app.store.post_bulletin(
            &sangathan_store::volunteers::NewBulletin { unit: unit.into(), wing: None, title: "News".into(), body_hi: Some("समाचार".into()), body_en: None, pinned: false },
            None, "admin", clock::now()).await.unwrap();
        let k = w.app.store.add_comment(b.id, w.members[0].2, "टिप्पणी", clock::now()).await.unwrap();
        bulletins.push((unit.to_string(), b.id, k.id));
    }
    let mut membership_of = HashMap::new();
    for (_, _, pid) in &w.members {
        let mine = w.app.get(&format!("/api/v1/members/{pid}")).await.expect(200);
        membership_of.insert(*pid, mine["memberships"][0]["id"].as_i64().unwrap_or_else(|| panic!("{mine}")));
    }
    let denied_at = |role: &str, action: &str| if may(role, action) { 404 } else { 403 };
    // A correction request about each member whose value the review refuses (a birth year
    // before 1900): deciding it answers 422 to those who may, and changes nothing.
    let mut correction_of = HashMap::new();
    for (_, _, pid) in &w.members {
        let cid = w.app.store.request_correction(*pid, "birth_year", "1800").await.unwrap();
        correction_of.insert(*pid, cid);
    }

    // Members as they grow: the matrix's own enrolments count in later lists.
    let mut all_members = w.members.clone();
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut relations: BTreeSet<(String, &str)> = BTreeSet::new();
    let mut disagreements = Vec::new();
    let mut check = |what: String, got: u16, want: u16| {
        if got != want {
            disagreements.push(format!("{what}: got {got}, want {want}"));
        }
    };
    for (role, post_unit, _) in CALLERS {
        // Unit routes × units.
        for u in &units {
            let rel = if u == post_unit {
                "own"
            } else if w.inside(u, post_unit) {
                "below"
            } else if w.inside(post_unit, u) {
                "above"
            } else if w.parent.get(u) == w.parent.get(*post_unit) {
                "sibling"
            } else {
                "elsewhere"
            };
            relations.insert((role.to_string(), rel));
            let denied = |action: &str| if may(role, action) { 404 } else { 403 };
            for (path, tmpl) in [
                (format!("/api/v1/units/{u}"), "/api/v1/units/{code}"),
                (
                    format!("/api/v1/units/{u}/children"),
                    "/api/v1/units/{code}/children",
                ),
                (
                    format!("/api/v1/units/{u}/progress"),
                    "/api/v1/units/{code}/progress",
                ),
            ] {
                covered.insert(("get".into(), tmpl.into()));
                let a = w.as_role(role, Method::GET, &path, None).await;
                let want = if w.allowed(role, "unit", u, None) {
                    200
                } else {
                    denied("unit")
                };
                check(
                    format!("{role} GET {path} ({rel})"),
                    a.status.as_u16(),
                    want,
                );
            }
            for wing in WINGS {
                covered.insert(("get".into(), "/api/v1/members".into()));
                let path = format!("/api/v1/members?unit={u}&wing={wing}");
                let a = w.as_role(role, Method::GET, &path, None).await;
                let ok = w.allowed(role, "members", u, Some(wing));
                // Allowed somewhere at this unit but not in this wing: an empty page.
                let some_wing = WINGS.iter().any(|x| w.allowed(role, "members", u, Some(x)));
                let want = if ok || some_wing {
                    200
                } else {
                    denied("members")
                };
                check(
                    format!("{role} GET {path} ({rel})"),
                    a.status.as_u16(),
                    want,
                );
                if a.status == 200 {
                    let got: BTreeSet<i64> = a.json()["members"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| m["person_id"].as_i64().unwrap())
                        .collect();
                    let expect: BTreeSet<i64> = all_members
                        .iter()
                        .filter(|(b, mw, _)| ok && mw == wing && w.inside(b, u))
                        .map(|m| m.2)
                        .filter(|id| *id != twin_id)
                        .collect();
                    let got: BTreeSet<i64> = got.into_iter().filter(|id| *id != twin_id).collect();
                    check(
                        format!("{role} {path} rows {got:?} vs {expect:?}"),
                        (got == expect) as u16,
                        1,
                    );
                }
            }
            // Meetings at the unit: compliance, the list, calling one, a unit calendar feed.
            for (path, tmpl) in [
                (
                    format!("/api/v1/units/{u}/compliance"),
                    "/api/v1/units/{code}/compliance",
                ),
                (
                    format!("/api/v1/units/{u}/meetings"),
                    "/api/v1/units/{code}/meetings",
                ),
            ] {
                covered.insert(("get".into(), tmpl.into()));
                let a = w.as_role(role, Method::GET, &path, None).await;
                let want = if w.allowed(role, "meetings", u, None) {
                    200
                } else {
                    denied("meetings")
                };
                check(
                    format!("{role} GET {path} ({rel})"),
                    a.status.as_u16(),
                    want,
                );
            }
            covered.insert(("post".into(), "/api/v1/units/{code}/unavailable".into()));
            let a = w
                .as_role(
                    role,
                    Method::POST,
                    &format!("/api/v1/units/{u}/unavailable"),
                    Some(&json!({"from": "2030-01-01", "to": "2030-01-02"})),
                )
                .await;
            let want = if w.allowed(role, "manage-meetings", u, None) {
                204
            } else {
                denied("manage-meetings")
            };
            check(
                format!("{role} unavailable {u} ({rel})"),
                a.status.as_u16(),
                want,
            );
            covered.insert(("get".into(), "/api/v1/units/{code}/contacts".into()));
            let a = w
                .as_role(
                    role,
                    Method::GET,
                    &format!("/api/v1/units/{u}/contacts"),
                    None,
                )
                .await;
            let any_wing = WINGS.iter().any(|x| w.allowed(role, "members", u, Some(x)));
            check(
                format!("{role} contacts of {u} ({rel})"),
                a.status.as_u16(),
                if any_wing { 200 } else { denied("members") },
            );
            covered.insert(("get".into(), "/api/v1/units/{code}/digest".into()));
            let a = w
                .as_role(
                    role,
                    Method::GET,
                    &format!("/api/v1/units/{u}/digest"),
                    None,
                )
                .await;
            let want = if w.allowed(role, "meetings", u, None) {
                200
            } else {
                denied("meetings")
            };
            check(
                format!("{role} digest of {u} ({rel})"),
                a.status.as_u16(),
                want,
            );
            covered.insert(("get".into(), "/api/v1/units/{code}/flags".into()));
            let a = w.as_role(role, Method::GET, &format!("/api/v1/units/{u}/flags"), None).await;
            check(format!("{role} flags of {u} ({rel})"), a.status.as_u16(), if w.allowed(role, "verify", u, None) { 200 } else { denied("verify") });
            // Leaderboards compare enrollers within an AC: above one, a 422 that says so.
            covered.insert(("get".into(), "/api/v1/units/{code}/leaderboard".into()));
            let a = w.as_role(role, Method::GET, &format!("/api/v1/units/{u}/leaderboard"), None).await;
            let at_or_below_ac = u.contains("-AC-");
            check(
                format!("{role} leaderboard of {u} ({rel})"),
                a.status.as_u16(),
                if !w.allowed(role, "verify", u, None) { denied("verify") } else if at_or_below_ac { 200 } else { 422 },
            );
            // The verification queue of the unit: any wing the caller verifies in there.
            covered.insert(("get".into(), "/api/v1/units/{code}/verification-queue".into()));
            let a = w.as_role(role, Method::GET, &format!("/api/v1/units/{u}/verification-queue"), None).await;
            let want = if w.allowed(role, "verify", u, None) { 200 } else { denied("verify") };
            check(format!("{role} verification queue of {u} ({rel})"), a.status.as_u16(), want);
            if a.status == 200 {
                // Only pending members the caller may verify: at units inside the post, in its wing.
                for item in a.json()["members"].as_array().unwrap() {
                    let (unit, wing) = (item["unit"].as_str().unwrap(), item["wing"].as_str().unwrap());
                    check(format!("{role} queue of {u} shows {unit}:{wing}"), w.allowed(role, "verify", unit, Some(wing)) as u16, 1);
                }
            }
            // The volunteer force at the unit: programmes, activation (figures), follow-ups.
            for (m, path, tmpl, body, want) in [
                (
                    "get",
                    format!("/api/v1/units/{u}/programmes"),
                    "/api/v1/units/{code}/programmes",
                    json!({}),
                    if w.allowed(role, "programmes", u, None) { 200 } else { denied("programmes") },
                ),
                (
                    "get",
                    format!("/api/v1/units/{u}/activation"),
                    "/api/v1/units/{code}/activation",
                    json!({}),
                    if w.allowed(role, "unit", u, None) { 200 } else { denied("unit") },
                ),
                (
                    "get",
                    format!("/api/v1/units/{u}/followups"),
                    "/api/v1/units/{code}/followups",
                    json!({}),
                    if w.allowed(role, "followups", u, Some("volunteers")) { 200 } else { denied("followups") },
                ),
                (
                    "post",
                    format!("/api/v1/units/{u}/followups"),
                    "/api/v1/units/{code}/followups",
                    json!({"assign_to": 999_999}),
                    if w.allowed(role, "followups", u, Some("volunteers")) { 422 } else { denied("followups") },
                ),
                (
                    "post",
                    "/api/v1/programmes".to_string(),
                    "/api/v1/programmes",
                    json!({"wing": "volunteers", "unit": u, "venue": u, "title": " ", "starts_at": "2030-01-01T05:00:00Z", "ends_at": "2030-01-01T09:00:00Z"}),
                    if w.allowed(role, "manage-programmes", u, Some("volunteers")) { 422 } else { denied("manage-programmes") },
                ),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(format!("{role} {m} {path} ({rel})"), a.status.as_u16(), want);
            }
            covered.insert(("post".into(), "/api/v1/meetings".into()));
            let body = json!({"wing": "party", "venue": u, "date": "2027-03-07", "time": "10:00", "kind": "workers"});
            let a = w
                .as_role(role, Method::POST, "/api/v1/meetings", Some(&body))
                .await;
            let want = if w.allowed(role, "manage-meetings", u, Some("party")) {
                201
            } else {
                denied("manage-meetings")
            };
            check(
                format!("{role} call a party meeting at {u} ({rel})"),
                a.status.as_u16(),
                want,
            );
            covered.insert(("post".into(), "/api/v1/calendar/feeds".into()));
            let a = w
                .as_role(
                    role,
                    Method::POST,
                    "/api/v1/calendar/feeds",
                    Some(&json!({"kind": "unit", "unit": u})),
                )
                .await;
            let want = if w.allowed(role, "meetings", u, None) {
                201
            } else {
                denied("meetings")
            };
            check(
                format!("{role} unit feed of {u} ({rel})"),
                a.status.as_u16(),
                want,
            );
            covered.insert(("get".into(), "/api/v1/units/{code}/sensitive".into()));
            let a = w
                .as_role(
                    role,
                    Method::GET,
                    &format!("/api/v1/units/{u}/sensitive"),
                    None,
                )
                .await;
            let any_wing = WINGS
                .iter()
                .any(|x| w.allowed(role, "sensitive", u, Some(x)));
            check(
                format!("{role} sensitive {u}"),
                a.status.as_u16(),
                if any_wing { 200 } else { denied("sensitive") },
            );
            covered.insert(("get".into(), "/api/v1/units/{code}/duplicates".into()));
            let a = w
                .as_role(
                    role,
                    Method::GET,
                    &format!("/api/v1/units/{u}/duplicates"),
                    None,
                )
                .await;
            let any_wing = WINGS.iter().any(|x| w.allowed(role, "merge", u, Some(x)));
            check(
                format!("{role} duplicates {u}"),
                a.status.as_u16(),
                if any_wing { 200 } else { denied("merge") },
            );
            // Corrections to review at the unit: only about members the caller may change.
            covered.insert(("get".into(), "/api/v1/units/{code}/corrections".into()));
            let a = w.as_role(role, Method::GET, &format!("/api/v1/units/{u}/corrections"), None).await;
            check(format!("{role} corrections of {u} ({rel})"), a.status.as_u16(), if any_wing { 200 } else { denied("merge") });
            if a.status == 200 {
                for item in a.json()["corrections"].as_array().unwrap() {
                    let pid = item["person_id"].as_i64().unwrap();
                    let Some((b, mw, _)) = w.members.iter().find(|m| m.2 == pid) else { continue };
                    check(format!("{role} corrections of {u} show {b}:{mw}"), (w.allowed(role, "merge", b, Some(mw)) && w.inside(b, u)) as u16, 1);
                }
            }
        }
        // Person routes × members.
        for (booth, wing, id) in &w.members {
            covered.insert(("get".into(), "/api/v1/members/{person_id}".into()));
            let a = w
                .as_role(role, Method::GET, &format!("/api/v1/members/{id}"), None)
                .await;
            let want = if w.allowed(role, "members", booth, Some(wing)) {
                200
            } else if may(role, "members") {
                404
            } else {
                403
            };
            check(
                format!("{role} GET member at {booth}:{wing}"),
                a.status.as_u16(),
                want,
            );
            // Enrolment at the member's booth in their wing.
            covered.insert(("post".into(), "/api/v1/members".into()));
            let mut p = person(booth);
            p["wing"] = json!(wing);
            let a = w
                .as_role(role, Method::POST, "/api/v1/members", Some(&p))
                .await;
            let want = if w.allowed(role, "enrol", booth, Some(wing)) {
                201
            } else if may(role, "enrol") {
                422
            } else {
                403
            };
            check(
                format!("{role} enrol at {booth}:{wing}"),
                a.status.as_u16(),
                want,
            );
            if a.status == 201 {
                all_members.push((
                    booth.clone(),
                    wing.clone(),
                    a.json()["person_id"].as_i64().unwrap(),
                ));
            }
            if a.status == 422 {
                check(
                    format!("{role} enrol refusal code"),
                    (a.json()["error"]["fields"]["unit"].is_string()) as u16,
                    1,
                );
            }
            // A merge of a person with themself: refused by the store (422 `same_person`) when
            // the caller may merge them, and as an unknown person otherwise.
            covered.insert(("post".into(), "/api/v1/merges".into()));
            let a = w
                .as_role(
                    role,
                    Method::POST,
                    "/api/v1/merges",
                    Some(&json!({"from": id, "into": id})),
                )
                .await;
            let mine = w.allowed(role, "merge", booth, Some(wing));
            let want = if may(role, "merge") { 422 } else { 403 };
            check(
                format!("{role} merge at {booth}:{wing}"),
                a.status.as_u16(),
                want,
            );
            if a.status == 422 {
                let unknown = a.text().contains("unknown_person");
                check(
                    format!("{role} merge refusal at {booth}:{wing} ({})", a.text()),
                    (unknown != mine) as u16,
                    1,
                );
            }
            // Deciding a correction about the member: refused by its checks (422) for those who
            // may change the member's record, an unknown request for the rest who may merge.
            let cid = correction_of[id];
            let want = if mine { 422 } else if may(role, "merge") { 404 } else { 403 };
            for (path, tmpl) in [
                (format!("/api/v1/corrections/{cid}/apply"), "/api/v1/corrections/{id}/apply"),
                (format!("/api/v1/corrections/{cid}/decline"), "/api/v1/corrections/{id}/decline"),
            ] {
                covered.insert(("post".into(), tmpl.into()));
                let a = w.as_role(role, Method::POST, &path, Some(&json!({"reason": " "}))).await;
                check(format!("{role} {path} at {booth}:{wing}"), a.status.as_u16(), want);
            }
        }
        let (b0, w0, _) = &w.members[0];
        covered.insert(("delete".into(), "/api/v1/merges/{merge_id}".into()));
        let a = w
            .as_role(
                role,
                Method::DELETE,
                &format!("/api/v1/merges/{merge_id}"),
                None,
            )
            .await;
        let want = if w.allowed(role, "merge", b0, Some(w0)) {
            409
        } else if may(role, "merge") {
            404
        } else {
            403
        };
        check(format!("{role} undo merge"), a.status.as_u16(), want);
        // Meetings by id: seen by those whose scope holds the venue (and by their chair or
        // organiser), managed likewise; reports acted on only by whom they wait for.
        for (venue, mid) in &meetings {
            let me = w.person_ids[role];
            let now = w.app.store.meeting(*mid).await.unwrap().unwrap();
            let involved = now.chair == Some(me) || now.organiser == Some(me);
            let see = if w.allowed(role, "meetings", venue, Some("party")) || involved {
                200
            } else {
                denied_at(role, "meetings")
            };
            let manage = |ok: u16| {
                if w.allowed(role, "manage-meetings", venue, Some("party")) {
                    ok
                } else {
                    denied_at(role, "manage-meetings")
                }
            };
            // A report nobody stands above (the South division has no office-bearers) is
            // complete at once and can no longer change.
            let complete = w
                .app
                .store
                .report(*mid)
                .await
                .unwrap()
                .is_some_and(|r| r.status == "acknowledged");
            let report = if w.allowed(role, "report", venue, Some("party")) || involved {
                if complete { 409 } else { 200 }
            } else {
                denied_at(role, "report")
            };
            let waiting = w
                .app
                .store
                .inbox(me)
                .await
                .unwrap()
                .iter()
                .any(|i| i.meeting.id == *mid);
            for (m, path, tmpl, body, want) in [
                (
                    "get",
                    format!("/api/v1/meetings/{mid}"),
                    "/api/v1/meetings/{id}",
                    json!({}),
                    see,
                ),
                (
                    "get",
                    format!("/api/v1/meetings/{mid}/report"),
                    "/api/v1/meetings/{id}/report",
                    json!({}),
                    see,
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/move"),
                    "/api/v1/meetings/{id}/move",
                    json!({}),
                    manage(409),
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/cancel"),
                    "/api/v1/meetings/{id}/cancel",
                    json!({}),
                    manage(409),
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/chair"),
                    "/api/v1/meetings/{id}/chair",
                    json!({"person_id": 999_999}),
                    manage(422),
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/decline"),
                    "/api/v1/meetings/{id}/decline",
                    json!({}),
                    if now.chair == Some(me) { 200 } else { 404 },
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/report/acknowledge"),
                    "/api/v1/meetings/{id}/report/acknowledge",
                    json!({}),
                    if waiting { 200 } else { 409 },
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/report/return"),
                    "/api/v1/meetings/{id}/report/return",
                    json!({}),
                    422,
                ),
                (
                    "put",
                    format!("/api/v1/meetings/{mid}/report"),
                    "/api/v1/meetings/{id}/report",
                    json!({"held": true, "attendance": 2}),
                    report,
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/requests"),
                    "/api/v1/meetings/{id}/requests",
                    json!({"person_id": 999_999}),
                    manage(422),
                ),
                (
                    "get",
                    format!("/api/v1/meetings/{mid}/requests"),
                    "/api/v1/meetings/{id}/requests",
                    json!({}),
                    see,
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/requests/answer"),
                    "/api/v1/meetings/{id}/requests/answer",
                    json!({"accept": true}),
                    409,
                ),
                // Adding contacts and photos needs the right to report there, whatever the report's state.
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/contacts"),
                    "/api/v1/meetings/{id}/contacts",
                    json!({"contacts": [{"name": "Met Again", "consent": false}]}),
                    if matches!(report, 200 | 409) {
                        201
                    } else {
                        report
                    },
                ),
                (
                    "get",
                    format!("/api/v1/meetings/{mid}/photos"),
                    "/api/v1/meetings/{id}/photos",
                    json!({}),
                    see,
                ),
                (
                    "post",
                    format!("/api/v1/meetings/{mid}/talking-points"),
                    "/api/v1/meetings/{id}/talking-points",
                    json!({"ids": [point]}),
                    if matches!(report, 200 | 409) {
                        200
                    } else {
                        report
                    },
                ),
                (
                    "get",
                    format!("/api/v1/meetings/{mid}/photos/1"),
                    "/api/v1/meetings/{id}/photos/{n}",
                    json!({}),
                    see,
                ),
                (
                    "put",
                    format!("/api/v1/meetings/{mid}/photos/2"),
                    "/api/v1/meetings/{id}/photos/{n}",
                    json!({}),
                    if matches!(report, 200 | 409) {
                        422
                    } else {
                        report
                    },
                ),
                (
                    "delete",
                    format!("/api/v1/meetings/{mid}/photos/3"),
                    "/api/v1/meetings/{id}/photos/{n}",
                    json!({}),
                    if matches!(report, 200 | 409) {
                        404
                    } else {
                        report
                    },
                ),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(
                    format!("{role} {m} {path} at {venue}"),
                    a.status.as_u16(),
                    want,
                );
            }
        }
        let party_post = CALLERS.iter().any(|c| c.0 == *role && c.2 == "party");
        let read_point = if !may(role, "meetings") {
            403
        } else if party_post {
            200
        } else {
            404
        };
        // The series is the employees' federation's: other wings do not see it.
        // Contacts (personal data): those who see the venue's members in its wing.
        for (venue, mid) in &meetings {
            let cid = contact_of[mid];
            let exists = w.app.store.contact(cid).await.unwrap().is_some();
            let see = w.allowed(role, "members", venue, Some("party"));
            // Those who may see members somewhere learn nothing more from a deleted contact.
            let want = |ok: u16| {
                if !may(role, "members") {
                    403
                } else if !exists {
                    404
                } else if see {
                    ok
                } else {
                    404
                }
            };
            for (m, path, tmpl, body, expect) in [
                (
                    "post",
                    format!("/api/v1/contacts/{cid}/assign"),
                    "/api/v1/contacts/{id}/assign",
                    json!({"person_id": 999_999}),
                    want(422),
                ),
                (
                    "post",
                    format!("/api/v1/contacts/{cid}/outcome"),
                    "/api/v1/contacts/{id}/outcome",
                    json!({"status": "bogus"}),
                    want(422),
                ),
                (
                    "post",
                    format!("/api/v1/contacts/{cid}/convert"),
                    "/api/v1/contacts/{id}/convert",
                    json!({"mobile": "123"}),
                    want(422),
                ),
                (
                    "delete",
                    format!("/api/v1/contacts/{cid}"),
                    "/api/v1/contacts/{id}",
                    json!({}),
                    want(204),
                ),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(
                    format!("{role} {m} {path} at {venue}"),
                    a.status.as_u16(),
                    expect,
                );
            }
        }
        let view_div = if w.allowed(role, "meetings", "TS-DIV-NORTH", Some("employees")) {
            200
        } else {
            denied_at(role, "meetings")
        };
        let manage_div = |ok: u16| {
            if w.allowed(role, "manage-meetings", "TS-DIV-NORTH", Some("employees")) {
                ok
            } else {
                denied_at(role, "manage-meetings")
            }
        };
        let series_body = json!({"wing": "employees", "unit": "TS-DIV-NORTH", "rotate": "ac", "rule": "FREQ=WEEKLY;BYDAY=SU", "time": "11:00", "start": "2027-01-03"});
        for (m, path, tmpl, body, want) in [
            (
                "get",
                format!("/api/v1/meetings/series/{series}"),
                "/api/v1/meetings/series/{id}",
                json!({}),
                view_div,
            ),
            (
                "get",
                format!("/api/v1/meetings/series/{series}/ical"),
                "/api/v1/meetings/series/{id}/ical",
                json!({}),
                view_div,
            ),
            (
                "post",
                format!("/api/v1/meetings/series/{series}/plan?weeks=1&from=2027-01-01"),
                "/api/v1/meetings/series/{id}/plan",
                json!({}),
                manage_div(200),
            ),
            (
                "post",
                "/api/v1/meetings/series".to_string(),
                "/api/v1/meetings/series",
                series_body,
                manage_div(201),
            ),
            (
                "get",
                "/api/v1/reports/inbox".to_string(),
                "/api/v1/reports/inbox",
                json!({}),
                200,
            ),
            (
                "get",
                "/api/v1/charges".to_string(),
                "/api/v1/charges",
                json!({}),
                200,
            ),
            // Talking points of the party wing: read by its members' office-bearers, written by those who manage its meetings.
            (
                "get",
                "/api/v1/talking-points".to_string(),
                "/api/v1/talking-points",
                json!({}),
                if may(role, "meetings") { 200 } else { 403 },
            ),
            (
                "post",
                "/api/v1/talking-points".to_string(),
                "/api/v1/talking-points",
                json!({"wing": "party", "title": ""}),
                if may(role, "manage-meetings") && party_post {
                    422
                } else {
                    403
                },
            ),
            (
                "get",
                format!("/api/v1/talking-points/{point}"),
                "/api/v1/talking-points/{id}",
                json!({}),
                read_point,
            ),
            (
                "get",
                format!("/api/v1/talking-points/{point}/versions"),
                "/api/v1/talking-points/{id}/versions",
                json!({}),
                read_point,
            ),
            (
                "put",
                format!("/api/v1/talking-points/{point}"),
                "/api/v1/talking-points/{id}",
                json!({"wing": "party", "title": ""}),
                if !may(role, "manage-meetings") {
                    403
                } else if party_post {
                    422
                } else {
                    404
                },
            ),
            (
                "post",
                "/api/v1/holidays".to_string(),
                "/api/v1/holidays",
                json!({"date": "2030-01-26", "name": ""}),
                if *role == "state-admin" { 422 } else { 403 },
            ),
            (
                "put",
                "/api/v1/wings/party/report-chain".to_string(),
                "/api/v1/wings/{code}/report-chain",
                json!({"levels": "district,ac"}),
                if *role == "state-admin" { 422 } else { 403 },
            ),
            // Their own address; someone else's only with the right to manage users.
            (
                "put",
                format!("/api/v1/users/{}/email", w.mobile[role]),
                "/api/v1/users/{mobile}/email",
                json!({"email": ""}),
                204,
            ),
            (
                "put",
                "/api/v1/users/7000000000/email".to_string(),
                "/api/v1/users/{mobile}/email",
                json!({"email": ""}),
                if may(role, "users") { 204 } else { 403 },
            ),
            (
                "post",
                "/api/v1/charges".to_string(),
                "/api/v1/charges",
                json!({"person_id": 999_999, "unit": "TS-AC-1", "what": "drive"}),
                if may(role, "users") { 422 } else { 403 },
            ),
            (
                "delete",
                "/api/v1/charges/999999".to_string(),
                "/api/v1/charges/{id}",
                json!({}),
                if may(role, "users") { 404 } else { 403 },
            ),
            (
                "post",
                "/api/v1/meetings/escalate".to_string(),
                "/api/v1/meetings/escalate",
                json!({}),
                if *role == "state-admin" { 200 } else { 403 },
            ),
            (
                "post",
                "/api/v1/calendar/feeds".to_string(),
                "/api/v1/calendar/feeds",
                json!({"kind": "person"}),
                201,
            ),
            (
                "delete",
                format!("/api/v1/calendar/feeds/{admin_feed}"),
                "/api/v1/calendar/feeds/{id}",
                json!({}),
                if *role == "state-admin" {
                    204
                } else if may(role, "meetings") {
                    404
                } else {
                    403
                },
            ),
        ] {
            covered.insert((m.into(), tmpl.into()));
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let a = w.as_role(role, method, &path, Some(&body)).await;
            check(format!("{role} {m} {path}"), a.status.as_u16(), want);
        }
        // Programmes: seen and managed at the venue in the volunteers' wing; anyone answers only their own duty.
        for (venue, pid, did) in &programmes {
            let see = w.allowed(role, "programmes", venue, Some("volunteers"));
            let view = if see { 200 } else { denied_at(role, "programmes") };
            let manage = |ok: u16| if w.allowed(role, "manage-programmes", venue, Some("volunteers")) { ok } else { denied_at(role, "manage-programmes") };
            let scan = |ok: u16| if w.allowed(role, "checkin", venue, Some("volunteers")) { ok } else { denied_at(role, "checkin") };
            for (m, path, tmpl, body, want) in [
                ("get", format!("/api/v1/programmes/{pid}"), "/api/v1/programmes/{id}", json!({}), view),
                ("get", format!("/api/v1/programmes/{pid}/summary"), "/api/v1/programmes/{id}/summary", json!({}), view),
                ("post", format!("/api/v1/programmes/{pid}/duties"), "/api/v1/programmes/{id}/duties", json!({"kind": "", "headcount": 1}), manage(422)),
                ("post", format!("/api/v1/duties/{did}/assign"), "/api/v1/duties/{id}/assign", json!({"person": 999_999}), manage(422)),
                ("post", format!("/api/v1/duties/{did}/answer"), "/api/v1/duties/{id}/answer", json!({"accept": true}), 422),
                ("post", format!("/api/v1/programmes/{pid}/checkin"), "/api/v1/programmes/{id}/checkin", json!({"code": "no"}), scan(422)),
                ("post", format!("/api/v1/programmes/{pid}/checkout"), "/api/v1/programmes/{id}/checkout", json!({"code": "no"}), scan(422)),
                ("post", format!("/api/v1/programmes/{pid}/incidents"), "/api/v1/programmes/{id}/incidents", json!({"severity": "x", "text": "y"}), scan(422)),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(format!("{role} {m} {path} at {venue}"), a.status.as_u16(), want);
            }
        }
        // Bulletins: read by those within the unit (and above it nobody but moderators); moderated
        // by posts that may post bulletins at the unit or above.
        let (_, post_unit, _) = CALLERS.iter().find(|c| c.0 == *role).unwrap();
        for (unit, bid, cid) in &bulletins {
            let reader = w.inside(post_unit, unit);
            let moderator = w.allowed(role, "bulletins", unit, None);
            let see = if reader || moderator { 200 } else { 404 };
            for (m, path, tmpl, body, want) in [
                ("get", format!("/api/v1/bulletins/{bid}"), "/api/v1/bulletins/{id}", json!({}), see),
                ("post", format!("/api/v1/bulletins/{bid}/comments"), "/api/v1/bulletins/{id}/comments", json!({"body": " "}), if see == 200 { 422 } else { 404 }),
                ("post", format!("/api/v1/bulletins/{bid}/comments/{cid}/hide"), "/api/v1/bulletins/{id}/comments/{comment}/hide", json!({"reason": " "}), if moderator { 422 } else { 404 }),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(format!("{role} {m} {path} to {unit}"), a.status.as_u16(), want);
            }
        }
        // Verification of each member: by office-bearers above the booth whose post covers the
        // member's unit and wing; codes are sent and confirmed by those who may enrol there.
        for (booth, wing, pid) in &w.members {
            let mid = membership_of[pid];
            let verify = |ok: u16| if w.allowed(role, "verify", booth, Some(wing)) { ok } else { denied_at(role, "verify") };
            let enrol = |ok: u16| if w.allowed(role, "enrol", booth, Some(wing)) { ok } else { denied_at(role, "enrol") };
            for (m, path, tmpl, body, want) in [
                ("post", format!("/api/v1/memberships/{mid}/status"), "/api/v1/memberships/{id}/status", json!({"status": "rejected"}), verify(422)),
                ("post", "/api/v1/memberships/status".to_string(), "/api/v1/memberships/status", json!({"ids": [mid], "status": "rejected"}), verify(422)),
                ("post", format!("/api/v1/memberships/{mid}/code/confirm"), "/api/v1/memberships/{id}/code/confirm", json!({"code": "1"}), enrol(422)),
            ] {
                covered.insert((m.into(), tmpl.into()));
                let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
                let a = w.as_role(role, method, &path, Some(&body)).await;
                check(format!("{role} {m} {path} at {booth}:{wing}"), a.status.as_u16(), want);
            }
        }
        // Flags: detection is the state office's; a flag that does not exist is 404 to those who verify.
        for (m, path, tmpl, body, want) in [
            ("post", "/api/v1/flags/detect".to_string(), "/api/v1/flags/detect", json!({}), if *role == "state-admin" { 200 } else { 403 }),
            ("post", "/api/v1/flags/999999/resolve".to_string(), "/api/v1/flags/{id}/resolve", json!({"verdict": "genuine"}), if may(role, "verify") { 404 } else { 403 }),
        ] {
            covered.insert((m.into(), tmpl.into()));
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let a = w.as_role(role, method, &path, Some(&body)).await;
            check(format!("{role} {m} {path}"), a.status.as_u16(), want);
        }
        // Sending a code (one member per caller: at most three codes a day go to one member).
        covered.insert(("post".into(), "/api/v1/memberships/{id}/code".into()));
        let nth = CALLERS.iter().position(|c| c.0 == *role).unwrap();
        let (booth, wing, pid) = &w.members[nth];
        let a = w.as_role(role, Method::POST, &format!("/api/v1/memberships/{}/code", membership_of[pid]), None).await;
        let want = if w.allowed(role, "enrol", booth, Some(wing)) { 202 } else { denied_at(role, "enrol") };
        check(format!("{role} send a code at {booth}:{wing}"), a.status.as_u16(), want);
        covered.insert(("post".into(), "/api/v1/memberships/{id}/missed-call".into()));
        let a = w.as_role(role, Method::POST, &format!("/api/v1/memberships/{}/missed-call", membership_of[pid]), None).await;
        check(format!("{role} ask for a missed call at {booth}:{wing}"), a.status.as_u16(), want);
        for (m, path, tmpl, body, want) in [
            ("get", "/api/v1/me/duties".to_string(), "/api/v1/me/duties", json!({}), 200),
            ("get", "/api/v1/me/checkin-code".to_string(), "/api/v1/me/checkin-code", json!({}), 200),
            ("get", "/api/v1/me/checkin-code.svg".to_string(), "/api/v1/me/checkin-code.svg", json!({}), 200),
            ("post", "/api/v1/me/unavailable".to_string(), "/api/v1/me/unavailable", json!({"from": "2030-01-02", "to": "2030-01-01"}), 422),
            ("get", "/api/v1/me/followups".to_string(), "/api/v1/me/followups", json!({}), 200),
            ("post", "/api/v1/followups/999999".to_string(), "/api/v1/followups/{id}", json!({"outcome": "reached"}), 404),
            ("get", "/api/v1/bulletins".to_string(), "/api/v1/bulletins", json!({}), 200),
            ("get", "/api/v1/me/unread".to_string(), "/api/v1/me/unread", json!({}), 200),
            (
                "post",
                "/api/v1/bulletins".to_string(),
                "/api/v1/bulletins",
                json!({"unit": "TS-DT-HILL", "title": " ", "body_hi": "x"}),
                if w.allowed(role, "bulletins", "TS-DT-HILL", None) { 422 } else { denied_at(role, "bulletins") },
            ),
        ] {
            covered.insert((m.into(), tmpl.into()));
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let a = w.as_role(role, method, &path, Some(&body)).await;
            check(format!("{role} {m} {path}"), a.status.as_u16(), want);
        }
        // Reference data and the caller's own routes.
        let reference = if CALLERS.iter().any(|c| c.0 == *role && may(role, "unit")) {
            200
        } else {
            403
        };
        for (m, path, tmpl, want) in [
            (
                "get",
                "/api/v1/wings".to_string(),
                "/api/v1/wings",
                reference,
            ),
            (
                "get",
                "/api/v1/campaigns".to_string(),
                "/api/v1/campaigns",
                reference,
            ),
            (
                "get",
                "/api/v1/campaigns/drive".to_string(),
                "/api/v1/campaigns/{code}",
                reference,
            ),
            (
                "post",
                "/api/v1/campaigns".to_string(),
                "/api/v1/campaigns",
                if may(role, "campaigns") { 422 } else { 403 },
            ),
            (
                "get",
                "/api/v1/openapi.json".to_string(),
                "/api/v1/openapi.json",
                200,
            ),
            ("get", "/healthz".to_string(), "/healthz", 200),
            ("get", "/api/v1/consent".to_string(), "/api/v1/consent", 200),
            ("get", "/api/v1/session".to_string(), "/api/v1/session", 200),
            ("get", "/api/v1/me".to_string(), "/api/v1/me", 403),
            (
                "post",
                "/api/v1/me/corrections".to_string(),
                "/api/v1/me/corrections",
                403,
            ),
            (
                "post",
                "/api/v1/me/consent/withdraw".to_string(),
                "/api/v1/me/consent/withdraw",
                403,
            ),
            (
                "post",
                "/api/v1/me/erasure".to_string(),
                "/api/v1/me/erasure",
                403,
            ),
            // Public: login without credentials in the body.
            (
                "post",
                "/api/v1/session".to_string(),
                "/api/v1/session",
                422,
            ),
            (
                "post",
                "/api/v1/session/code".to_string(),
                "/api/v1/session/code",
                422,
            ),
            (
                "post",
                "/api/v1/me/code".to_string(),
                "/api/v1/me/code",
                422,
            ),
            (
                "post",
                "/api/v1/me/session".to_string(),
                "/api/v1/me/session",
                422,
            ),
            (
                "post",
                "/api/v1/member-verification".to_string(),
                "/api/v1/member-verification",
                422,
            ),
            // The provider's webhook is off until a secret is configured.
            (
                "post",
                "/api/v1/provider/inbound".to_string(),
                "/api/v1/provider/inbound",
                403,
            ),
            (
                "delete",
                "/api/v1/session".to_string(),
                "/api/v1/session",
                204,
            ),
        ] {
            covered.insert((m.into(), tmpl.into()));
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let a = w.as_role(role, method, &path, Some(&json!({}))).await;
            check(format!("{role} {m} {path}"), a.status.as_u16(), want);
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    // Every documented route was in the matrix.
    let doc = serde_json::to_value(sangathan_server::openapi()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "put", "patch", "delete"] {
            if item.get(m).is_some() {
                documented.insert((m.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(
        documented, covered,
        "the matrix covers exactly the documented routes"
    );
    // Every role met every relation.
    for (role, unit, _) in CALLERS {
        for rel in ["own", "below", "above", "sibling", "elsewhere"] {
            // Nothing is above or beside the state, nothing below a booth.
            if (*role == "state-admin" && rel != "own" && rel != "below")
                || (unit.contains("-B") && rel == "below")
            {
                continue;
            }
            assert!(
                relations.contains(&(role.to_string(), rel)),
                "{role} never met a unit {rel}"
            );
        }
    }
}

/// Random (office-bearer, member) pairs: visible exactly when the member's booth lies inside
/// one of the office-bearer's posts, in its wing.
async fn scoped_pairs_property(backend: Backend) {
    let Some(w) = world(backend).await else {
        return;
    };
    let mut rng = SplitMix64::new(0x5eed);
    let officers: Vec<&str> = CALLERS
        .iter()
        .map(|c| c.0)
        .filter(|r| may(r, "members"))
        .collect();
    for _ in 0..200 {
        let role = officers[(rng.next_u64() % officers.len() as u64) as usize];
        let (booth, wing, id) = &w.members[(rng.next_u64() % w.members.len() as u64) as usize];
        let a = w
            .as_role(role, Method::GET, &format!("/api/v1/members/{id}"), None)
            .await;
        let want = w.allowed(role, "members", booth, Some(wing));
        assert_eq!(
            a.status == 200,
            want,
            "{role} → member at {booth}:{wing}: {}",
            a.status
        );
        if !want {
            // Exactly like a record that does not exist.
            let none = w
                .as_role(role, Method::GET, "/api/v1/members/999999999", None)
                .await;
            assert_eq!(
                (a.status, a.bytes.clone()),
                (none.status, none.bytes.clone())
            );
        }
    }
}

async fn login(app: &App, mobile: &str, password: &str) -> support::Answer {
    app.send(
        Method::POST,
        "/api/v1/session",
        Some(None),
        Some(&json!({"mobile": mobile, "password": password})),
        None,
    )
    .await
}

fn cookie_of(a: &support::Answer) -> String {
    a.header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn with_cookie(
    app: &App,
    m: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
) -> support::Answer {
    let mut req = app
        .client
        .request(m, app.url(path))
        .header("cookie", cookie);
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    let res = req.json(&json!({})).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    support::Answer {
        status,
        headers,
        bytes: res.bytes().await.unwrap().to_vec(),
    }
}

fn set_now(t: chrono::DateTime<chrono::Utc>) {
    // Each test is its own process under nextest; the clock is read per call.
    unsafe { std::env::set_var("SANGATHAN_NOW", t.to_rfc3339()) };
}

async fn login_sessions_csrf_and_limits(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let t0 = chrono::Utc::now();
    set_now(t0);
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

    // Wrong password and unknown account: the same answer.
    let wrong = login(&app, "9811100001", "nope").await;
    let unknown = login(&app, "9811199999", "nope").await;
    assert_eq!(
        (wrong.status.as_u16(), wrong.json()),
        (unknown.status.as_u16(), unknown.json())
    );
    assert_eq!(wrong.status, 401);

    // Login: an HttpOnly, SameSite=Lax cookie and a CSRF token.
    let ok = login(&app, "9811100001", "correct horse").await;
    let s = ok.expect(201);
    let set = ok.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "no TLS here");
    let cookie = cookie_of(&ok);
    let csrf = s["csrf_token"].as_str().unwrap().to_string();
    with_cookie(&app, Method::GET, "/api/v1/units/TS-AC-1", &cookie, None)
        .await
        .expect(200);
    // Outside the scope: as if it did not exist.
    with_cookie(&app, Method::GET, "/api/v1/units/TS-AC-2", &cookie, None)
        .await
        .expect(404);
    // A write by cookie needs the CSRF token.
    let no_csrf = with_cookie(&app, Method::POST, "/api/v1/members", &cookie, None).await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(no_csrf.json()["error"]["code"], "csrf");
    let bad_csrf = with_cookie(
        &app,
        Method::POST,
        "/api/v1/members",
        &cookie,
        Some("forged"),
    )
    .await;
    assert_eq!(bad_csrf.status, 403);
    let with = with_cookie(&app, Method::POST, "/api/v1/members", &cookie, Some(&csrf)).await;
    assert_eq!(
        with.status,
        422,
        "past CSRF, the (empty) enrolment itself is refused: {}",
        with.text()
    );

    // Idle expiry: 29 minutes idle is fine, then 31 minutes idle ends the session.
    set_now(t0 + chrono::Duration::minutes(29));
    with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
        .await
        .expect(200);
    set_now(t0 + chrono::Duration::minutes(29 + 31));
    with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
        .await
        .expect(401);

    // Absolute expiry: kept busy every 20 minutes, the session still ends at 12 hours.
    set_now(t0);
    let cookie = cookie_of(&login(&app, "9811100001", "correct horse").await);
    let mut t = t0;
    while t < t0 + chrono::Duration::hours(12) - chrono::Duration::minutes(20) {
        t += chrono::Duration::minutes(20);
        set_now(t);
        with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
            .await
            .expect(200);
    }
    set_now(t0 + chrono::Duration::hours(12) + chrono::Duration::minutes(1));
    with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
        .await
        .expect(401);
    set_now(t0 + chrono::Duration::hours(13));
    let t1 = t0 + chrono::Duration::hours(13);

    // Logout ends the session at once.
    let l = login(&app, "9811100001", "correct horse").await;
    let (cookie, csrf) = (
        cookie_of(&l),
        l.json()["csrf_token"].as_str().unwrap().to_string(),
    );
    with_cookie(
        &app,
        Method::DELETE,
        "/api/v1/session",
        &cookie,
        Some(&csrf),
    )
    .await
    .expect_status(204);
    with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
        .await
        .expect(401);

    // Disable ends sessions and tokens at once.
    let cookie = cookie_of(&login(&app, "9811100001", "correct horse").await);
    let token = app.store.issue_user_token(id, "t").await.unwrap();
    let bearer = format!("Bearer {token}");
    let by_token = || app.send(Method::GET, "/api/v1/session", Some(Some(&bearer)), None, None);
    // Used once first: the token's check is then remembered for a moment, and the disable must
    // still apply to the very next request.
    assert_eq!(by_token().await.status, 200);
    app.store.disable_user(id).await.unwrap();
    with_cookie(&app, Method::GET, "/api/v1/session", &cookie, None)
        .await
        .expect(401);
    assert_eq!(by_token().await.status, 401);
    assert_eq!(login(&app, "9811100001", "correct horse").await.status, 401);
    // Re-enabled (added again), it works again.
    app.store
        .add_user(&name, &mobile, None, &[], "test")
        .await
        .unwrap();
    login(&app, "9811100001", "correct horse").await.expect(201);

    // One-time codes: single use, valid 10 minutes, the sent code only.
    let send = |m: &'static str| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/session/code",
                Some(None),
                Some(&json!({"mobile": m})),
                None,
            )
            .await
        }
    };
    send("9811100001").await.expect(202);
    let unknown = send("9811199999").await;
    assert_eq!(
        unknown.status, 202,
        "never says whether the mobile is known"
    );
    let code = |app: &App| {
        let store = app.store.clone();
        async move {
            let sms = store.outbox("+919811100001").await.unwrap();
            let last = sms.last().unwrap().clone();
            last.split("code: ").nth(1).unwrap()[..6].to_string()
        }
    };
    let c = code(&app).await;
    let by_code = |c: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                "/api/v1/session",
                Some(None),
                Some(&json!({"mobile": "9811100001", "code": c})),
                None,
            )
            .await
        }
    };
    by_code(c.clone()).await.expect(201);
    assert_eq!(by_code(c).await.status, 401, "a code works once");
    send("9811100001").await.expect(202);
    let c = code(&app).await;
    set_now(t1 + chrono::Duration::minutes(11));
    assert_eq!(
        by_code(c).await.status,
        401,
        "a code expires after 10 minutes"
    );

    // Brute force: 10 failures in 15 minutes, then 429 with Retry-After, even with the right password.
    let t2 = t1 + chrono::Duration::hours(1);
    set_now(t2);
    let mut last = None;
    for _ in 0..10 {
        last = Some(login(&app, "9811100001", "guess").await);
    }
    assert_eq!(last.unwrap().status, 401);
    let locked = login(&app, "9811100001", "correct horse").await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    set_now(t2 + chrono::Duration::minutes(16));
    login(&app, "9811100001", "correct horse").await.expect(201);
    // Every login and failure is in the audit log.
    let events = app.store.audit_of_person(id, 1000).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.action == "login-failed" && e.event.outcome == "denied")
    );
    assert!(
        events
            .iter()
            .any(|e| e.event.action == "login-user" && e.event.outcome == "ok")
    );
}

/// Run one statement on the test database with the backend's own driver.
async fn raw(app: &App, sql: &str) {
    use sqlx::Connection;
    match app.store.backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.db_url())
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut c)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.db_url()).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}

async fn audit_chain_detects_tampering(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..5 {
        let id = app
            .enrol(&person("TS-AC-1-B0001"), &key())
            .await
            .expect(201)["person_id"]
            .as_i64()
            .unwrap();
        app.get(&format!("/api/v1/members/{id}")).await.expect(200);
        let _ = i;
    }
    let check = app.store.audit_verify().await.unwrap();
    assert!(check.first_broken.is_none(), "{check:?}");
    assert!(check.events >= 10);
    // Append-only: the database itself refuses an update.
    let refused = app.store.audit(&[]).await;
    assert!(refused.is_ok());
    // Someone with the database drops the guard and changes one row: verify names it.
    let drop = match backend {
        Backend::Sqlite => "DROP TRIGGER audit_events_no_update",
        Backend::Postgres => "DROP TRIGGER audit_events_no_update ON audit_events",
    };
    raw(&app, drop).await;
    raw(
        &app,
        "UPDATE audit_events SET actor = 'someone-else' WHERE id = 4",
    )
    .await;
    let check = app.store.audit_verify().await.unwrap();
    assert_eq!(
        check.first_broken.as_ref().map(|b| b.0),
        Some(4),
        "{check:?}"
    );
    // A removed row is named too (restore the change first by re-hashing is impossible: delete instead).
    raw(&app, "DELETE FROM audit_events WHERE id = 4").await;
    let check = app.store.audit_verify().await.unwrap();
    assert_eq!(
        check.first_broken.as_ref().map(|b| b.0),
        Some(5),
        "{check:?}"
    );
    // And so is a removed newest row.
    let app2 = spawn_app(backend).await.unwrap();
    app2.enrol(&person("TS-AC-1"), &key()).await.expect(201);
    app2.enrol(&person("TS-AC-1"), &key()).await.expect(201);
    assert!(
        app2.store
            .audit_verify()
            .await
            .unwrap()
            .first_broken
            .is_none()
    );
    raw(
        &app2,
        "DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events)",
    )
    .await;
    assert!(
        app2.store
            .audit_verify()
            .await
            .unwrap()
            .first_broken
            .is_some()
    );
}

/// Every text value in every table of the database.
async fn all_text(app: &App) -> Vec<(String, String)> {
    use sqlx::{Connection, Row};
    let mut out = Vec::new();
    match app.store.backend() {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.db_url())
                .await
                .unwrap();
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table'")
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            for t in tables {
                let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{t}')"
                )))
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
                for col in cols {
                    let vals: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(
                        format!("SELECT CAST(\"{col}\" AS TEXT) FROM \"{t}\""),
                    ))
                    .fetch_all(&mut c)
                    .await
                    .unwrap_or_default();
                    out.extend(
                        vals.into_iter()
                            .flatten()
                            .map(|v| (format!("{t}.{col}"), v)),
                    );
                }
            }
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.db_url()).await.unwrap();
            let cols: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            for (t, col) in cols {
                let vals: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(\"{col}\" AS TEXT) FROM \"{t}\""
                )))
                .fetch_all(&mut c)
                .await
                .unwrap();
                out.extend(
                    vals.into_iter()
                        .flatten()
                        .map(|v| (format!("{t}.{col}"), v)),
                );
            }
        }
    }
    out
}

async fn erasure_leaves_no_trace(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let mut p = person("TS-AC-1-B0001");
    p["name"] = json!("Zubeida Qureshi Xylo");
    let mobile = p["mobile"].as_str().unwrap().to_string();
    let epic = p["epic"].as_str().unwrap().to_string();
    let id = app.enrol(&p, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    // A second wing, a search, a view: their traces are everywhere.
    let mut p2 = p.clone();
    p2["wing"] = json!("employees");
    app.enrol(&p2, &key()).await.expect(201);
    app.get(&format!("/api/v1/members/{id}")).await.expect(200);
    app.get("/api/v1/members?unit=TS&q=Zubeida")
        .await
        .expect(200);
    // An office-bearer on the same mobile? No: a member self-service session by one-time code.
    app.send(
        Method::POST,
        "/api/v1/me/code",
        Some(None),
        Some(&json!({"mobile": mobile})),
        None,
    )
    .await
    .expect(202);
    let e164 = format!("+91{mobile}");
    let sms = app.store.outbox(&e164).await.unwrap();
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
    let cookie = cookie_of(&s);
    let csrf = s.json()["csrf_token"].as_str().unwrap().to_string();
    let mine = with_cookie(&app, Method::GET, "/api/v1/me", &cookie, None)
        .await
        .expect(200);
    assert_eq!(mine["people"][0]["person"]["name"], "Zubeida Qureshi Xylo");
    assert_eq!(mine["people"][0]["consent"]["notice_version"], "v1");
    // Another member's record is not theirs.
    let other = app
        .enrol(&person("TS-AC-1-B0001"), &key())
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let mut req = app
        .client
        .post(app.url("/api/v1/me/erasure"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf);
    req = req.json(&json!({"person_id": other}));
    assert_eq!(req.send().await.unwrap().status(), 404);
    let before = all_text(&app).await;
    assert!(
        before.iter().any(|(_, v)| v.contains("Zubeida")),
        "the name is there before"
    );
    let erase = |body: Value| {
        app.client
            .post(app.url("/api/v1/me/erasure"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    // The code alone is not enough for a record with an EPIC (others may share the mobile).
    let res = erase(json!({"person_id": id})).await.unwrap();
    assert_eq!(res.status(), 422);
    let res = erase(json!({"person_id": id, "epic": epic.to_lowercase()}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after = all_text(&app).await;
    for needle in [
        "Zubeida",
        "zubeida",
        "Xylo",
        "xylo",
        mobile.as_str(),
        epic.as_str(),
    ] {
        let hits: Vec<&(String, String)> =
            after.iter().filter(|(_, v)| v.contains(needle)).collect();
        assert!(
            hits.is_empty(),
            "{needle} still in {:?}",
            hits.iter().map(|h| &h.0).collect::<Vec<_>>()
        );
    }
    assert!(
        app.store.verify().await.unwrap().is_empty(),
        "counts stay exact"
    );
    // The members still count; the erasure is in the audit log, without the personal data.
    let events = app.store.audit_of_person(id, 100).await.unwrap();
    assert!(events.iter().any(|e| e.event.action == "erase"));
    assert!(
        app.store
            .audit_verify()
            .await
            .unwrap()
            .first_broken
            .is_none()
    );
    app.get(&format!("/api/v1/members/{id}")).await.expect(404);
    let _ = (
        Wings::All,
        AuditEvent {
            actor: String::new(),
            post: None,
            action: String::new(),
            record: None,
            person_id: None,
            address: None,
            outcome: String::new(),
        },
    );
}

async fn sensitive_fields_only_with_consent_and_as_aggregates(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let notice = app
        .send(Method::GET, "/api/v1/consent", Some(None), None, None)
        .await
        .expect(200);
    assert_eq!(notice["version"], "v1");
    assert!(notice["hi"].as_str().unwrap().contains("सहमति"));
    assert_eq!(notice["sensitive_fields"], false);
    // Off by default: refused, naming the field.
    let mut p = person("TS-AC-1-B0001");
    p["consent_notice"] = json!("v1");
    p["consent_purposes"] = json!(["membership", "sensitive"]);
    p["category"] = json!("OBC");
    let a = app.enrol(&p, &key()).await;
    assert_eq!(
        a.expect(422)["error"]["fields"]["category"].is_string(),
        true
    );
    app.store.set_sensitive_fields(true).await.unwrap();
    // On, but without consent for the purpose: refused.
    let mut q = p.clone();
    q["consent_purposes"] = json!(["membership"]);
    let a = app.enrol(&q, &key()).await.expect(422);
    assert!(
        a["error"]["fields"]["category"]
            .as_str()
            .unwrap()
            .contains("consent"),
        "{a}"
    );
    // An unknown notice version: refused.
    let mut r = p.clone();
    r["consent_notice"] = json!("v0");
    assert!(
        app.enrol(&r, &key()).await.expect(422)["error"]["fields"]["consent_notice"].is_string()
    );
    // With consent: recorded. 12 OBC and 3 SC in AC 1; only the group of 10 or more shows.
    for i in 0..15 {
        let mut x = person("TS-AC-1-B0001");
        x["consent_notice"] = json!("v1");
        x["consent_purposes"] = json!(["membership", "sensitive"]);
        x["category"] = json!(if i < 12 { "obc" } else { "SC" });
        let id = app.enrol(&x, &key()).await.expect(201)["person_id"]
            .as_i64()
            .unwrap();
        let data = app.store.member_data(id).await.unwrap().unwrap();
        assert_eq!(data["consent"]["given_by"], "self");
        assert_eq!(
            data["consent"]["purposes"],
            json!(["membership", "sensitive"])
        );
    }
    let agg = app.get("/api/v1/units/TS-AC-1/sensitive").await.expect(200);
    assert_eq!(
        agg["counts"],
        json!([{"field": "category", "value": "OBC", "members": 12}]),
        "{agg}"
    );
    // Never in a member's record, list or search.
    let list = app
        .get("/api/v1/members?unit=TS-AC-1")
        .await
        .expect(200)
        .to_string();
    assert!(!list.contains("OBC"));
    // An enrolment without consent fields: the current notice, attested by the enroller.
    let id = app.enrol(&person("TS-AC-1"), &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let data = app.store.member_data(id).await.unwrap().unwrap();
    assert_eq!(
        (
            data["consent"]["notice_version"].clone(),
            data["consent"]["given_by"].clone()
        ),
        (json!("v1"), json!("enroller"))
    );
}

/// An enroller whose posts do not cover a person's memberships can neither see nor change that
/// person by enrolling their EPIC or mobile in their own area.
async fn scoped_enrolment_cannot_reach_outside(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let today = clock::today();
    let name = sangathan_core::ids::PersonName::parse("Booth Worker").unwrap();
    let mobile = sangathan_core::ids::Mobile::parse("7000000099").unwrap();
    let post = NewPost {
        role: Role::BoothPresident,
        unit: "TS-AC-1-B0001".into(),
        wing: "party".into(),
        starts_on: today,
    };
    let id = app
        .store
        .add_user(&name, &mobile, None, &[post], "test")
        .await
        .unwrap();
    let token = format!(
        "Bearer {}",
        app.store.issue_user_token(id, "t").await.unwrap()
    );
    // Someone in another AC, without a mobile on record.
    let mut far = person("TS-AC-3-B0001");
    far["mobile"] = json!("");
    let far_id = app.enrol(&far, &key()).await.expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let before = app
        .get(&format!("/api/v1/members/{far_id}"))
        .await
        .expect(200);
    // The booth president enrols the same EPIC at their booth, with their own mobile.
    let mut grab = far.clone();
    grab["unit"] = json!("TS-AC-1-B0001");
    grab["mobile"] = json!("7000000099");
    let a = app
        .send(
            Method::POST,
            "/api/v1/members",
            Some(Some(&token)),
            Some(&grab),
            Some(&key()),
        )
        .await;
    let v = a.expect(422);
    assert_eq!(v["error"]["code"], "registered_elsewhere", "{v}");
    let text = a.text();
    assert!(
        !text.contains("TS-AC-3") && !text.contains(&far_id.to_string()),
        "nothing about them is shown: {text}"
    );
    // Nothing changed: no mobile added, no membership in the booth president's area.
    assert_eq!(
        app.get(&format!("/api/v1/members/{far_id}"))
            .await
            .expect(200),
        before
    );
    let seen = app
        .send(
            Method::GET,
            &format!("/api/v1/members/{far_id}"),
            Some(Some(&token)),
            None,
            None,
        )
        .await;
    assert_eq!(seen.status, 404);
    // Someone already in the booth president's own booth: enrolled in another wing as usual.
    let near_id = app
        .enrol(&person("TS-AC-1-B0001"), &key())
        .await
        .expect(201)["person_id"]
        .as_i64()
        .unwrap();
    let near = app
        .get(&format!("/api/v1/members/{near_id}"))
        .await
        .expect(200);
    let mut again =
        serde_json::json!({"name": near["name"], "epic": near["epic"], "unit": "TS-AC-1-B0001"});
    again["mobile"] = near["mobile"].clone();
    let a = app
        .send(
            Method::POST,
            "/api/v1/members",
            Some(Some(&token)),
            Some(&again),
            Some(&key()),
        )
        .await;
    assert_eq!(
        a.expect(200)["person_id"],
        near_id,
        "already a member: the existing membership"
    );
}

/// An enrolment's audit event: stored in the enrolment's own transaction on SQLite, by the audit
/// layer on PostgreSQL; either way exactly one per request, with who, where from and what.
async fn every_enrolment_request_leaves_one_audit_event(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = json!({"name": "Audit Kumari", "mobile": "9812345670", "unit": "TS-AC-2-B0002"});
    let k = key();
    let first = app.enrol(&body, &k).await;
    first.expect(201);
    let person = first.json()["person_id"].as_i64().unwrap();
    let again = app.enrol(&body, &k).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let bad = app
        .enrol(&json!({"name": "", "unit": "TS-AC-2-B0002"}), &key())
        .await;
    assert_eq!(bad.status, 422);
    // Many at once: each answered enrolment is audited exactly once.
    let many: Vec<_> = (0..40)
        .map(|i| {
            let body = json!({"name": format!("Audit Many {i}"), "mobile": format!("97000000{i:02}"), "unit": "TS-AC-3-B0003"});
            let app = &app;
            async move { app.enrol(&body, &key()).await }
        })
        .collect();
    let answers = futures::future::join_all(many).await;
    let mut people = BTreeSet::new();
    for a in &answers {
        a.expect(201);
        people.insert(a.json()["person_id"].as_i64().unwrap());
    }
    let events = app
        .store
        .audit_before(clock::now() + chrono::Duration::hours(1), 10_000)
        .await
        .unwrap();
    let enrolments: Vec<&AuditEvent> = events
        .iter()
        .map(|r| &r.event)
        .filter(|e| e.action == "enrol")
        .collect();
    let of = |id: i64| enrolments.iter().filter(|e| e.person_id == Some(id)).count();
    assert_eq!(of(person), 2, "the enrolment and its replay: {enrolments:#?}");
    for e in enrolments.iter().filter(|e| e.person_id == Some(person)) {
        assert_eq!(e.outcome, "ok");
        assert_eq!(e.record.as_deref(), Some("TS-AC-2-B0002"));
        assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.actor, "operator");
    }
    for p in &people {
        assert_eq!(of(*p), 1, "person {p}");
    }
    let refused: Vec<_> = enrolments.iter().filter(|e| e.outcome == "422").collect();
    assert!(refused.is_empty(), "a refused enrolment is not an enrolment: {refused:?}");
    assert_eq!(
        events
            .iter()
            .filter(|r| r.event.outcome == "422" && r.event.action == "POST /api/v1/members")
            .count(),
        1,
        "the refused request is audited by the layer"
    );
    let check = app.store.audit_verify().await.unwrap();
    assert!(check.first_broken.is_none(), "{check:?}");
}
