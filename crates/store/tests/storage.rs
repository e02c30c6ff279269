//! The storage suite: every scenario runs on SQLite and on PostgreSQL, against real databases.
//! The PostgreSQL half needs `SANGATHAN_TEST_PG_URL`; with `SANGATHAN_REQUIRE_PG=1` it fails
//! instead of skipping when that is missing.

use sangathan_store::Wings;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sangathan_core::geo::{BoothRow, UnitKind};
use sangathan_core::ids::{Epic, Gender, Mobile, PersonName};
use sangathan_store::testing::TestDb;
use sangathan_store::{DynStore, EnrolContext, Enrolment, NewCampaign, StoreError, clock, preset};

const MINI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/mini-state"
);

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = sangathan_store::testing::TestDb::sqlite();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = sangathan_store::testing::TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

on_both!(
    up_preset_targets_and_rollup,
    identity_rules_case_by_case,
    households_share_a_mobile_up_to_the_limit,
    idempotent_enrolment,
    concurrent_enrolments_of_one_person,
    verify_names_a_tampered_counter,
    bad_input_writes_nothing,
    members_are_listed_by_subtree_with_paging,
    wide_units_are_listed_and_exported_alike_by_walking_ids,
    booth_list_import_keeps_members_and_targets,
    campaigns_are_validated,
    search_finds_names_across_scripts,
    search_pages_agree_with_one_page_and_any_plan,
    the_state_search_passes_over_people_with_no_membership,
    an_erasure_keeps_a_shared_mobiles_login_throttle,
    a_member_in_two_acs_is_found_in_both,
    exact_names_beyond_the_candidate_cap_come_first,
    duplicates_across_scripts_and_in_one_booth,
    merge_loses_nothing_and_undoes_exactly,
    a_merged_record_gives_no_login,
    merge_refusals_write_nothing,
    merges_undo_in_order_and_guard_identifiers,
    concurrent_opposite_merges_one_wins,
    meetings_rotate_across_a_division_for_a_year,
    reports_climb_the_chain_and_overdue_ones_escalate_daily,
    requests_to_preside_move_up_and_charges_name_who_answers,
    booth_lists_keep_meeting_counters_exact,
    talking_points_keep_versions_and_count_uses,
    outbox_retries_back_off_and_give_up,
    a_chair_replaced_by_hand_frees_their_day,
    verify_names_a_tampered_meeting_counter,
    duties_never_double_book_or_exceed_headcount,
    checkins_count_once_and_activation_rolls_up,
    followups_and_bulletins,
    verification_moves_counters_exactly,
    merges_carry_verified_counts,
    each_rule_fires_on_its_case_and_stays_quiet_otherwise,
    corrections_are_listed_in_scope_and_applied_through_the_identity_rules,
    corrections_never_hand_over_a_login,
    corrections_take_their_locks_at_once,
    photos_added_at_once_take_different_places,
    job_leases_one_holder_and_each_period_once,
    concurrent_enrolments_in_one_ac_all_get_numbers,
    a_large_batch_stores_every_character_as_typed,
    a_first_load_builds_its_indexes_after,
    a_first_load_writes_rows_while_it_decides_the_rest,
    progress_figures_equal_a_count_of_the_members_at_every_level,
    a_dry_run_batch_reads_beside_a_writer,
);

fn start() -> NaiveDate {
    clock::today() - Duration::days(30)
}

async fn mini(db: &TestDb) -> DynStore {
    let s = db.open().await;
    let p = preset::load(MINI).unwrap();
    s.init(&p, start(), None).await.unwrap();
    s
}

fn ctx() -> EnrolContext {
    EnrolContext {
        actor: "admin".into(),
        channel: "test".into(),
        at: clock::now(),
        scope: None,
        consent: None,
        audit: None,
    }
}

fn enr(name: &str, mobile: Option<&str>, epic: Option<&str>, unit: &str) -> Enrolment {
    Enrolment {
        name: PersonName::parse(name).unwrap(),
        mobile: mobile.map(|m| Mobile::parse(m).unwrap()),
        epic: epic.map(|e| Epic::parse(e).unwrap()),
        gender: Some(Gender::F),
        birth_year: Some(1980),
        address: None,
        unit: unit.into(),
        wing: "party".into(),
    }
}

async fn enrol(s: &DynStore, e: &Enrolment) -> Result<sangathan_store::EnrolOutcome, StoreError> {
    let key = uuid::Uuid::new_v4().to_string();
    s.enrol(e, &ctx(), &key).await.map(|i| i.outcome)
}

fn code_of(err: StoreError) -> &'static str {
    match err {
        StoreError::Invalid(i) => i.code(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn count_people(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM people").await
}

async fn count_memberships(db: &TestDb) -> i64 {
    scalar(db, "SELECT COUNT(*) FROM memberships").await
}

/// Raw SQL on the test database, outside the store (as an operator or an attacker would).
async fn scalar(db: &TestDb, sql: &'static str) -> i64 {
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

async fn exec(db: &TestDb, sql: &'static str) {
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

async fn assert_verified(s: &DynStore) {
    let m = s.verify().await.unwrap();
    assert!(m.is_empty(), "verify found mismatches: {m:?}");
}

/// Every level of the tree: children's targets and achieved sum to the parent's.
async fn assert_children_sum(s: &DynStore, code: &str) -> sangathan_store::Progress {
    let p = s
        .progress(code, None, clock::today())
        .await
        .unwrap()
        .unwrap();
    if !p.children.is_empty() {
        let t: i64 = p.children.iter().map(|c| c.target).sum();
        let a: i64 = p.children.iter().map(|c| c.achieved).sum();
        assert_eq!(t, p.unit.target, "targets of {code}'s children");
        assert_eq!(a, p.unit.achieved, "achieved of {code}'s children");
        let l: i64 = p.children.iter().map(|c| c.last_7_days).sum();
        assert_eq!(l, p.unit.last_7_days, "last 7 days of {code}'s children");
    }
    p
}

async fn up_preset_targets_and_rollup(db: TestDb) {
    let s = db.open().await;
    let p = preset::load("up").unwrap();
    let summary = s.init(&p, start(), None).await.unwrap();
    assert!(summary.booths > 165_000, "{summary:?}");
    assert!(matches!(
        s.init(&p, start(), None).await,
        Err(StoreError::AlreadyInitialised)
    ));

    // Members at booths of several divisions, some at AC level without a booth, some in other wings.
    let mut rows = Vec::new();
    let acs = [1u32, 2, 9, 173, 250, 403];
    for (i, ac) in acs.iter().enumerate() {
        for j in 0..20u32 {
            let unit = if j % 5 == 0 {
                format!("UP-AC-{ac}")
            } else {
                format!("UP-AC-{ac}-B{:04}", 1 + j * 13)
            };
            let mut e = enr(
                &format!("Member {i} {j}"),
                Some(&format!("98{:08}", i * 100 + j as usize)),
                None,
                &unit,
            );
            if j % 7 == 0 {
                e.wing = "employees".into();
            }
            rows.push((e, ctx()));
        }
    }
    let res = s.enrol_batch(&rows).await.unwrap();
    assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
    let party = rows.iter().filter(|(e, _)| e.wing == "party").count() as i64;

    let up = assert_children_sum(&s, "up").await;
    assert_eq!(up.children.len(), 18);
    assert!(
        up.children
            .iter()
            .all(|c| c.kind == "division" && c.code.starts_with("UP-DIV-"))
    );
    assert_eq!(up.unit.target, 18_135_000);
    assert_eq!(up.unit.achieved, party);
    // The UP drive counts verified members: nothing is verified yet, so nothing moves its pace.
    assert_eq!((up.unit.verified, up.unit.last_7_days, up.unit.percent), (0, 0, 0.0));
    // Walk one branch down to a booth, checking sums at every level.
    let ac173 = s.unit("up-ac-173").await.unwrap().unwrap();
    let district = s
        .unit(ac173.parent.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    let division = district.parent.clone().unwrap();
    // Units of a kind within a subtree (the enrolment form's choices, the map's ACs).
    let acs = s.units_within("UP", UnitKind::Ac).await.unwrap().unwrap();
    assert_eq!(acs.len(), 403);
    assert!(acs.windows(2).all(|w| w[0].number < w[1].number));
    let in_district = s
        .units_within(&district.code, UnitKind::Ac)
        .await
        .unwrap()
        .unwrap();
    let mut children: Vec<String> = s
        .children(&district.code)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|u| u.code)
        .collect();
    children.sort();
    let mut within: Vec<String> = in_district.iter().map(|u| u.code.clone()).collect();
    within.sort();
    assert_eq!(within, children);
    let mut booths = 0;
    for sector in s.children("UP-AC-173").await.unwrap().unwrap() {
        booths += s.children(&sector.code).await.unwrap().unwrap().len();
    }
    let ac_booths = s
        .units_within("UP-AC-173", UnitKind::Booth)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ac_booths.len(), booths);
    assert!(ac_booths.iter().all(|b| b.code.starts_with("UP-AC-173-B")));
    let itself = s
        .units_within("UP-AC-173", UnitKind::Ac)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(itself.len(), 1);
    assert_eq!(itself[0].name, ac173.name);
    assert!(
        s.units_within(&ac_booths[0].code, UnitKind::Ac)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    assert!(
        s.units_within("UP-AC-999", UnitKind::Booth)
            .await
            .unwrap()
            .is_none()
    );
    assert_children_sum(&s, &division).await;
    assert_children_sum(&s, &district.code).await;
    let acp = assert_children_sum(&s, "UP-AC-173").await;
    assert_eq!(acp.unit.target, 45_000);
    let unassigned = acp
        .children
        .iter()
        .find(|c| c.kind == "unassigned")
        .unwrap();
    assert_eq!(unassigned.achieved, 3); // j = 0, 10 in party; 5 and 15 too, minus j % 7 == 0 (0) → 5,10,15 = 3
    let sector = acp
        .children
        .iter()
        .find(|c| c.kind == "sector" && c.achieved > 0)
        .unwrap();
    let sp = assert_children_sum(&s, &sector.code).await;
    assert!(sp.children.iter().all(|c| c.kind == "booth"));
    let booth = sp.children.iter().find(|c| c.achieved > 0).unwrap();
    let bp = assert_children_sum(&s, &booth.code).await;
    assert!(bp.children.is_empty());
    // The parallel PC grouping sums its ACs.
    let pc = ac173.pc.clone().unwrap();
    let pcp = assert_children_sum(&s, &pc).await;
    assert!(pcp.children.iter().all(|c| c.kind == "ac"));
    assert_verified(&s).await;
}

async fn identity_rules_case_by_case(db: TestDb) {
    let s = mini(&db).await;
    let b = "TS-AC-1-B0001";
    // 1. A known EPIC identifies the person whatever the name says, and adds a missing mobile.
    let a = enrol(&s, &enr("Ram Prakash", None, Some("ABC1234567"), b))
        .await
        .unwrap();
    assert!(a.created_person && a.created_membership);
    let again = enrol(
        &s,
        &enr("R. P. Nishad", Some("9839012345"), Some("abc 1234567"), b),
    )
    .await
    .unwrap();
    assert_eq!(again.person_id, a.person_id);
    assert!(!again.created_membership);
    let m = s.member(a.person_id).await.unwrap().unwrap();
    assert_eq!(m.mobile.as_deref(), Some("+919839012345"));
    assert_eq!(m.name, "Ram Prakash");
    // 2. Same mobile and same name key (case, spacing, zero-width) is the same person, and gains an EPIC.
    let sita = enrol(&s, &enr("Sita Devi", Some("9000000001"), None, b))
        .await
        .unwrap();
    let sita2 = enrol(
        &s,
        &enr(
            "  sita\u{200B}   DEVI ",
            Some("+91 90000 00001"),
            Some("XYZ7654321"),
            b,
        ),
    )
    .await
    .unwrap();
    assert_eq!(sita.person_id, sita2.person_id);
    assert_eq!(
        s.member(sita.person_id)
            .await
            .unwrap()
            .unwrap()
            .epic
            .as_deref(),
        Some("XYZ7654321")
    );
    // Same mobile, another name: another member of the household.
    let gita = enrol(&s, &enr("Gita Devi", Some("9000000001"), None, b))
        .await
        .unwrap();
    assert_ne!(gita.person_id, sita.person_id);
    // 3. Conflicts: EPIC of one with the mobile and name of another.
    assert_eq!(
        code_of(
            enrol(
                &s,
                &enr("Gita Devi", Some("9000000001"), Some("XYZ7654321"), b)
            )
            .await
            .unwrap_err()
        ),
        "identity_conflict"
    );
    // A known EPIC whose person has a different mobile on record.
    assert_eq!(
        code_of(
            enrol(
                &s,
                &enr("Ram Prakash", Some("9999999999"), Some("ABC1234567"), b)
            )
            .await
            .unwrap_err()
        ),
        "identity_conflict"
    );
    // A mobile and name whose person holds a different EPIC.
    assert_eq!(
        code_of(
            enrol(
                &s,
                &enr("Sita Devi", Some("9000000001"), Some("DEF1111111"), b)
            )
            .await
            .unwrap_err()
        ),
        "identity_conflict"
    );
    // Another wing: the same person gains a second membership.
    let mut w = enr("Sita Devi", Some("9000000001"), None, b);
    w.wing = "employees".into();
    let sw = enrol(&s, &w).await.unwrap();
    assert_eq!(sw.person_id, sita.person_id);
    assert!(sw.created_membership && !sw.created_person);
    assert_ne!(sw.membership_number, sita.membership_number);
    assert!(
        sita.membership_number.starts_with("TS-1-"),
        "{}",
        sita.membership_number
    );
    assert_eq!(count_people(&db).await, 3);
    assert_eq!(count_memberships(&db).await, 4);
    assert_verified(&s).await;
}

async fn households_share_a_mobile_up_to_the_limit(db: TestDb) {
    let s = mini(&db).await;
    assert_eq!(s.household_limit().await.unwrap(), 5);
    for n in ["A One", "B Two", "C Three", "D Four", "E Five"] {
        enrol(&s, &enr(n, Some("8000000000"), None, "TS-AC-2-B0002"))
            .await
            .unwrap();
    }
    let err = enrol(&s, &enr("F Six", Some("8000000000"), None, "TS-AC-2-B0002"))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), "household_limit");
    // A known name on the full mobile is still the same person.
    let again = enrol(
        &s,
        &enr("e five", Some("08000000000"), None, "TS-AC-2-B0002"),
    )
    .await
    .unwrap();
    assert!(!again.created_person);
    // Adding that mobile to an EPIC-only person would make six.
    enrol(&s, &enr("G Seven", None, Some("GGG0000007"), "TS-AC-2"))
        .await
        .unwrap();
    let err = enrol(
        &s,
        &enr("G Seven", Some("8000000000"), Some("GGG0000007"), "TS-AC-2"),
    )
    .await
    .unwrap_err();
    assert_eq!(code_of(err), "household_limit");
    s.set_household_limit(6).await.unwrap();
    enrol(&s, &enr("F Six", Some("8000000000"), None, "TS-AC-2-B0002"))
        .await
        .unwrap();
    assert_eq!(count_people(&db).await, 7);
    // A change made by another process (its own connections) applies to the next enrolment
    // here too: the SQLite writer keeps its settings between groups only while nothing changed.
    let err = enrol(&s, &enr("H Eight", Some("8000000000"), None, "TS-AC-2-B0002"))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), "household_limit");
    let other = db.open().await;
    other.set_household_limit(7).await.unwrap();
    enrol(&s, &enr("H Eight", Some("8000000000"), None, "TS-AC-2-B0002"))
        .await
        .unwrap();
    other.set_household_limit(5).await.unwrap();
    let err = enrol(&s, &enr("I Nine", Some("8000000000"), None, "TS-AC-2-B0002"))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), "household_limit");
    assert_eq!(count_people(&db).await, 8);
    assert_verified(&s).await;
}

async fn idempotent_enrolment(db: TestDb) {
    let s = mini(&db).await;
    let e = enr("Kamla", Some("9123456780"), None, "TS-AC-3-B0003");
    let first = s.enrol(&e, &ctx(), "key-1").await.unwrap();
    assert!(!first.replayed);
    let second = s.enrol(&e, &ctx(), "key-1").await.unwrap();
    assert!(second.replayed);
    assert_eq!(first.outcome, second.outcome);
    assert_eq!(count_memberships(&db).await, 1);
    // The same key for another request is refused, and writes nothing.
    let other = enr("Vimla", Some("9123456781"), None, "TS-AC-3-B0003");
    assert!(matches!(
        s.enrol(&other, &ctx(), "key-1").await,
        Err(StoreError::KeyReused)
    ));
    // Keys are per caller.
    let mut c2 = ctx();
    c2.actor = "someone-else".into();
    let third = s.enrol(&e, &c2, "key-1").await.unwrap();
    assert!(!third.replayed);
    assert_eq!(third.outcome.person_id, first.outcome.person_id);
    assert!(!third.outcome.created_membership);
    assert_eq!(count_memberships(&db).await, 1);
    assert_verified(&s).await;
}

async fn concurrent_enrolments_of_one_person(db: TestDb) {
    let s = mini(&db).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Half by mobile and name, half with the EPIC too.
            let epic = if i % 2 == 0 { Some("QWE1234567") } else { None };
            let e = enr("Mohan Lal", Some("9811111111"), epic, "TS-AC-4-B0004");
            s.enrol(&e, &ctx(), &format!("k{i}")).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        let o = t.await.unwrap().unwrap().outcome;
        ids.insert(o.person_id);
        numbers.insert(o.membership_number);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(numbers.len(), 1);
    assert_eq!(count_people(&db).await, 1);
    assert_eq!(count_memberships(&db).await, 1);
    // Concurrent different people on one household mobile never exceed the limit.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let e = enr(
                &format!("Person {i}"),
                Some("9822222222"),
                None,
                "TS-AC-4-B0005",
            );
            s.enrol(&e, &ctx(), &format!("h{i}")).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(code_of(e), "household_limit"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(count_people(&db).await, 6);
    assert_verified(&s).await;
}

async fn verify_names_a_tampered_counter(db: TestDb) {
    let s = mini(&db).await;
    enrol(&s, &enr("Asha", Some("9700000000"), None, "TS-AC-1-B0007"))
        .await
        .unwrap();
    assert_verified(&s).await;
    exec(&db, "UPDATE unit_counters SET achieved = achieved + 1 WHERE unit_id = (SELECT id FROM units WHERE code = 'TS-AC-1-B0007')").await;
    let m = s.verify().await.unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].unit, "TS-AC-1-B0007");
    assert_eq!((m[0].expected, m[0].found), (1, 2));
    // A counter row with no members behind it is caught too.
    exec(&db, "UPDATE unit_counters SET achieved = 1 WHERE unit_id = (SELECT id FROM units WHERE code = 'TS-AC-1-B0007')").await;
    exec(&db, "DELETE FROM memberships").await;
    let m = s.verify().await.unwrap();
    assert!(
        m.iter()
            .any(|x| x.unit == "TS" && x.expected == 0 && x.found == 1),
        "{m:?}"
    );
}

async fn bad_input_writes_nothing(db: TestDb) {
    let s = mini(&db).await;
    let cases = [
        (
            enr("Ravi", Some("9700000001"), None, "TS-AC-9"),
            "unknown_unit",
        ),
        (
            enr("Ravi", Some("9700000001"), None, "TS-AC-1-B0999"),
            "unknown_booth",
        ),
        (
            enr("Ravi", Some("9700000001"), None, "TS-DT-HILL"),
            "not_a_booth_or_ac",
        ),
        (
            enr("Ravi", Some("9700000001"), None, "not a code"),
            "invalid_unit_code",
        ),
        (
            Enrolment {
                wing: "nope".into(),
                ..enr("Ravi", Some("9700000001"), None, "TS-AC-1")
            },
            "unknown_wing",
        ),
        (
            Enrolment {
                mobile: None,
                epic: None,
                ..enr("Ravi", None, None, "TS-AC-1")
            },
            "identifier_required",
        ),
    ];
    for (e, code) in cases {
        assert_eq!(code_of(enrol(&s, &e).await.unwrap_err()), code);
    }
    let rows: Vec<_> = [
        enr("Ravi", Some("9700000001"), None, "TS-AC-1-B0999"),
        enr("Ravi", Some("9700000001"), None, "TS-AC-1-B0001"),
    ]
    .into_iter()
    .map(|e| (e, ctx()))
    .collect();
    let res = s.enrol_batch(&rows).await.unwrap();
    assert!(res[0].is_err() && res[1].is_ok());
    assert_eq!(count_people(&db).await, 1);
    assert_eq!(count_memberships(&db).await, 1);
    assert_verified(&s).await;
}

async fn members_are_listed_by_subtree_with_paging(db: TestDb) {
    let s = mini(&db).await;
    let rows: Vec<_> = (0..25)
        .map(|i| {
            let unit = if i < 20 {
                format!("TS-AC-1-B{:04}", 1 + i % 3)
            } else {
                "TS-AC-4".to_string()
            };
            (
                enr(&format!("P{i}"), Some(&format!("96{:08}", i)), None, &unit),
                ctx(),
            )
        })
        .collect();
    s.enrol_batch(&rows).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .list_members("ts", &Wings::All, after, 10)
            .await
            .unwrap()
            .unwrap();
        seen.extend(page.members.iter().map(|m| m.person_id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    for (code, n) in [
        ("TS-DIV-NORTH", 20),
        ("TS-DIV-SOUTH", 5),
        ("TS-DT-HILL", 20),
        ("TS-PC-2", 5),
        ("TS-AC-1", 20),
        ("TS-AC-1-B0001", 7),
        ("TS-AC-4", 5),
    ] {
        let page = s
            .list_members(code, &Wings::All, None, 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(page.members.len(), n, "{code}");
    }
    let sector = s
        .unit("TS-AC-1-B0001")
        .await
        .unwrap()
        .unwrap()
        .parent
        .unwrap();
    assert!(
        s.list_members(&sector, &Wings::All, None, 100)
            .await
            .unwrap()
            .unwrap()
            .members
            .len()
            >= 7
    );
    assert_eq!(
        s.list_members("TS", &Wings::Only([2].into()), None, 100)
            .await
            .unwrap()
            .unwrap()
            .members
            .len(),
        0
    );
    assert!(
        s.list_members("TS-AC-77", &Wings::All, None, 10)
            .await
            .unwrap()
            .is_none()
    );
}

/// Every page of a unit's members (listing and export), in order.
async fn all_pages(s: &DynStore, unit: &str, wings: &Wings) -> (Vec<(i64, i64)>, Vec<(i64, String)>) {
    let (mut listed, mut after) = (Vec::new(), None);
    loop {
        let page = s.list_members(unit, wings, after, 3).await.unwrap().unwrap();
        listed.extend(page.members.iter().map(|m| (m.cursor, m.person_id)));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let (mut exported, mut after) = (Vec::new(), 0);
    loop {
        let page = s.export_page(unit, wings, after, 4).await.unwrap().unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        exported.extend(page.into_iter().map(|(id, r)| (id, r.name)));
    }
    (listed, exported)
}

async fn wide_units_are_listed_and_exported_alike_by_walking_ids(db: TestDb) {
    let s = mini(&db).await;
    let units = ["TS-AC-1-B0001", "TS-AC-4", "TS-AC-1-B0002", "TS-AC-2-B0003", "TS-AC-1-B0003"];
    let rows: Vec<_> = (0..37)
        .map(|i| (enr(&format!("W{i}"), Some(&format!("95{:08}", i)), None, units[i % units.len()]), ctx()))
        .collect();
    s.enrol_batch(&rows).await.unwrap();
    let wide = ["TS", "TS-DIV-NORTH", "TS-DIV-SOUTH", "TS-DT-HILL", "TS-PC-2"];
    let wings = [Wings::All, Wings::Only([1].into()), Wings::Only([2].into())];
    // Through the subtrees' index (only the state walks its ids at this size)...
    let mut by_index = Vec::new();
    for u in wide {
        for w in &wings {
            by_index.push(all_pages(&s, u, w).await);
        }
    }
    // ...and by walking ids from any size up: five at a time (pages that fill mid-window), and
    // two (windows with none of the unit's ids, skipped to its next one).
    let mut walked = Vec::new();
    for window in [5, 2] {
        sangathan_store::testing::walk_ids(0, window);
        walked.clear();
        for u in wide {
            for w in &wings {
                walked.push(all_pages(&s, u, w).await);
            }
        }
        assert_eq!(walked, by_index, "window {window}");
    }
    // In id order, every member once, the state being its divisions together.
    let (state, north, south) = (&walked[0], &walked[3], &walked[6]);
    assert_eq!(state.0.len(), 37);
    assert_eq!(state.1.len(), 37);
    assert!(state.0.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(state.1.windows(2).all(|w| w[0].0 < w[1].0));
    let mut divisions: Vec<_> = north.0.iter().chain(&south.0).copied().collect();
    divisions.sort();
    assert_eq!(divisions, state.0);
    assert!(!north.0.is_empty() && !south.0.is_empty());
    // The party wing holds them all; wing 2, none.
    assert_eq!(walked[1], walked[0]);
    assert!(walked[2].0.is_empty() && walked[2].1.is_empty());
}

async fn booth_list_import_keeps_members_and_targets(db: TestDb) {
    let s = mini(&db).await;
    enrol(&s, &enr("Kept", Some("9500000000"), None, "TS-AC-2-B0003"))
        .await
        .unwrap();
    // A booth the list moves to another sector, enrolled in before and after the import: the
    // SQLite writer keeps the units it looked up between groups, and must see them change.
    enrol(&s, &enr("Moved Before", Some("9500000010"), None, "TS-AC-2-B0010"))
        .await
        .unwrap();
    // Members of both sectors enrolled and verified on earlier days: the rewrite replaces the
    // sectors' daily rows of every day (SQLite walks the days along the table's key).
    for i in 0..8i64 {
        let mut c = ctx();
        c.at = clock::now() - Duration::days(3 * i + 1);
        let booth = format!("TS-AC-2-B{:04}", [2, 6, 9, 12][i as usize % 4]);
        let p = s.enrol(&enr(&format!("Earlier {i}"), Some(&format!("95000002{i:02}")), None, &booth), &c, &format!("e{i}")).await.unwrap();
        if i % 2 == 0 {
            let id = membership_id(&db, p.outcome.person_id).await;
            s.set_status(&[id], "verified", None, "x", Utc::now() - Duration::days(i)).await.unwrap();
        }
    }
    let list: Vec<BoothRow> = (1..=14)
        .map(|p| BoothRow {
            ac_no: 2,
            part_no: p,
            name: format!("Primary School {p}"),
            sector: Some(if p <= 7 { 1 } else { 2 }),
        })
        .collect();
    assert_eq!(s.import_booths(&list).await.unwrap(), 14);
    let b3 = s.unit("TS-AC-2-B0003").await.unwrap().unwrap();
    assert_eq!(b3.name, "Primary School 3");
    assert!(s.unit("TS-AC-2-B0015").await.unwrap().is_none());
    let ac = assert_children_sum(&s, "TS-AC-2").await;
    assert_eq!(ac.unit.target, 1000);
    assert_eq!(ac.children.iter().filter(|c| c.kind == "sector").count(), 2);
    assert_eq!(ac.unit.achieved, 10);
    assert_children_sum(&s, "TS-AC-2-S01").await;
    enrol(&s, &enr("Moved After", Some("9500000011"), None, "TS-AC-2-B0010"))
        .await
        .unwrap();
    let s02 = assert_children_sum(&s, "TS-AC-2-S02").await;
    assert!(s02.children.iter().any(|c| c.code == "TS-AC-2-B0010" && c.achieved == 2), "{:?}", s02.children);
    assert_eq!(s02.unit.achieved, 6);
    assert_verified(&s).await;
    // A list that drops a booth with members is refused whole.
    let shorter: Vec<BoothRow> = (4..=10)
        .map(|p| BoothRow {
            ac_no: 2,
            part_no: p,
            name: format!("S {p}"),
            sector: None,
        })
        .collect();
    assert!(matches!(
        s.import_booths(&shorter).await,
        Err(StoreError::Refused(_))
    ));
    assert_eq!(
        s.unit("TS-AC-2-B0001").await.unwrap().unwrap().name,
        "Primary School 1"
    );
    let bad = vec![BoothRow {
        ac_no: 99,
        part_no: 1,
        name: "x".into(),
        sector: None,
    }];
    assert!(matches!(
        s.import_booths(&bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert_verified(&s).await;
}

async fn campaigns_are_validated(db: TestDb) {
    let s = mini(&db).await;
    let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let ok = NewCampaign {
        code: "vol-2027".into(),
        name: "Volunteers 2027".into(),
        name_hi: "स्वयंसेवक 2027".into(),
        wing: "volunteers".into(),
        start_date: d(2027, 1, 1),
        end_date: d(2027, 6, 30),
        target_per_ac: 100,
        counts: None,
        verify_by: None,
    };
    let c = s.create_campaign(&ok).await.unwrap();
    assert_eq!(c.counts, "verified", "new campaigns count verified members");
    assert_eq!(c.target, 400);
    let bad = NewCampaign {
        code: "x".into(),
        end_date: d(2026, 12, 1),
        ..ok.clone()
    };
    assert_eq!(
        code_of(s.create_campaign(&bad).await.unwrap_err()),
        "invalid_campaign_dates"
    );
    let bad = NewCampaign {
        code: "y".into(),
        wing: "nope".into(),
        ..ok.clone()
    };
    assert_eq!(
        code_of(s.create_campaign(&bad).await.unwrap_err()),
        "unknown_wing"
    );
    assert_eq!(
        code_of(s.create_campaign(&ok).await.unwrap_err()),
        "campaign_exists"
    );
    assert_eq!(s.campaigns().await.unwrap().len(), 2);
    let p = s
        .progress("TS", Some("vol-2027"), d(2027, 1, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.wing, "volunteers");
    assert_eq!(p.unit.target, 400);
    let _ = Utc.timestamp_opt(0, 0);
    assert_verified(&s).await;
}

async fn search_finds_names_across_scripts(db: TestDb) {
    let s = mini(&db).await;
    let rows: Vec<_> = [
        (
            "Ram Prakash Nishad",
            "9800000001",
            Some("RPN1234567"),
            "TS-AC-1-B0001",
        ),
        ("सीता देवी", "9800000002", None, "TS-AC-1-B0002"),
        ("Mohammad Salim", "9800000003", None, "TS-AC-2-B0001"),
        ("लक्ष्मी यादव", "9800000004", None, "TS-AC-4-B0001"),
        ("Shailendra Singh", "9800000005", None, "TS-AC-3"),
        ("Raman Kumar", "9800000006", None, "TS-AC-1-B0003"),
        ("Jha", "9800000007", None, "TS-AC-1-B0003"),
    ]
    .into_iter()
    .map(|(n, m, e, u)| (enr(n, Some(m), e, u), ctx()))
    .collect();
    assert!(
        s.enrol_batch(&rows)
            .await
            .unwrap()
            .iter()
            .all(|r| r.is_ok())
    );
    let names = |q: &str, unit: &str| {
        let s = s.clone();
        let q = q.to_string();
        let unit = unit.to_string();
        async move {
            s.search(&unit, &q, &Wings::All, 0, 20)
                .await
                .unwrap()
                .unwrap()
                .members
                .into_iter()
                .map(|h| h.name)
                .collect::<Vec<_>>()
        }
    };
    for q in [
        "Ram Prakash Nishad",
        "ram prakash",
        "राम प्रकाश निषाद",
        "रामप्रकाश",
        "rpn 1234567",
        "+91 98000 00001",
        "09800000001",
    ] {
        assert_eq!(
            names(q, "TS").await.first().map(String::as_str),
            Some("Ram Prakash Nishad"),
            "{q}"
        );
    }
    assert_eq!(names("Sita Devi", "TS").await, vec!["सीता देवी"]);
    assert_eq!(names("Mohd Salim", "TS").await, vec!["Mohammad Salim"]);
    assert_eq!(names("Muhammad Salim", "TS").await, vec!["Mohammad Salim"]);
    assert_eq!(names("Laxmi", "TS").await, vec!["लक्ष्मी यादव"]);
    assert_eq!(names("Lakshmi Yadav", "TS").await, vec!["लक्ष्मी यादव"]);
    assert_eq!(names("Shailender", "TS").await, vec!["Shailendra Singh"]);
    assert_eq!(names("शैलेन्द्र सिंह", "TS").await, vec!["Shailendra Singh"]);
    assert_eq!(names("Jha", "TS").await, vec!["Jha"]);
    // Exact before fuzzy: "Ram" ranks nobody called exactly Ram first, but finds both.
    let r = s
        .search("TS", "Raman Kumar", &Wings::All, 0, 20)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.members[0].name, "Raman Kumar");
    assert_eq!(r.members[0].rank, 3);
    // Scoped to the unit's subtree.
    assert!(names("Ram Prakash", "TS-AC-2").await.is_empty());
    assert!(names("Shailendra", "TS-DIV-SOUTH").await.is_empty());
    assert_eq!(
        names("Shailendra", "TS-AC-3").await,
        vec!["Shailendra Singh"]
    );
    assert!(
        s.search("TS-AC-99", "Ram", &Wings::All, 0, 20)
            .await
            .unwrap()
            .is_none()
    );
    // Paging.
    let all = s
        .search("TS", "kumar", &Wings::All, 0, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.members.len(), 1);
    assert!(names("nobody here", "TS").await.is_empty());
}

/// The whole state's search ranks people from their names and reads memberships for the page
/// only: officials made by `user add` (people with no membership) who hold the whole query must
/// not keep it from the members stored with the query's leading words only.
async fn the_state_search_passes_over_people_with_no_membership(db: TestDb) {
    use sangathan_core::access::Role;
    use sangathan_store::NewPost;
    let s = mini(&db).await;
    let member = enrol(&s, &enr("राम प्रकाश", Some("9800000011"), None, "TS-AC-1-B0001")).await.unwrap().person_id;
    for i in 0..3u64 {
        let post = NewPost { role: Role::BoothPresident, unit: "TS-AC-2-B0001".into(), wing: "party".into(), starts_on: clock::today() };
        let mobile = Mobile::parse(&format!("{}", 7_000_000_300u64 + i)).unwrap();
        s.add_user(&PersonName::parse("Ram Prakash Nishad").unwrap(), &mobile, None, &[post], "admin").await.unwrap();
    }
    let ids = |page: &sangathan_store::SearchPage| page.members.iter().map(|h| h.person_id).collect::<Vec<i64>>();
    for limit in [1, 2, 5] {
        for unit in ["TS", "TS-AC-1"] {
            let page = s.search(unit, "Ram Prakash Nishad", &Wings::All, 0, limit).await.unwrap().unwrap();
            assert_eq!(ids(&page), vec![member], "{unit}, pages of {limit}");
            assert_eq!(page.next, None, "{unit}, pages of {limit}");
        }
    }
    // With a member holding the whole query (ranked first) and two whose names only contain it
    // ("Ram" inside "Shriram": ranked 0, below the leading words' member), every page agrees
    // with one long page: each person once, none left out.
    let mut all = vec![member];
    for (i, n) in ["Ram Prakash Nishad", "Shriram Prakash Nishad", "Shriram Prakash Nishad"].into_iter().enumerate() {
        all.push(enrol(&s, &enr(n, Some(&format!("98000000{}", 20 + i)), None, "TS-AC-1-B0002")).await.unwrap().person_id);
    }
    for unit in ["TS", "TS-AC-1"] {
        let one = s.search(unit, "Ram Prakash Nishad", &Wings::All, 0, 50).await.unwrap().unwrap();
        let mut found = ids(&one);
        assert_eq!(found[..2], [all[1], member], "{unit}: the whole query, then its leading words");
        found.sort();
        assert_eq!(found, all, "{unit}");
        for limit in [1, 2, 3] {
            let (mut paged, mut offset) = (Vec::new(), Some(0));
            while let Some(o) = offset {
                let page = s.search(unit, "Ram Prakash Nishad", &Wings::All, o, limit).await.unwrap().unwrap();
                paged.extend(ids(&page));
                offset = page.next;
            }
            assert_eq!(paged, ids(&one), "{unit}, pages of {limit}");
        }
    }
}

/// Erasing a person forgets the failed logins counted against their mobile, but not while a
/// household member still holds it (their login stays throttled).
async fn an_erasure_keeps_a_shared_mobiles_login_throttle(db: TestDb) {
    use sangathan_store::{AuditEvent, failure_key};
    let s = mini(&db).await;
    let id = |o: sangathan_store::EnrolOutcome| o.person_id;
    let sita = id(enrol(&s, &enr("Sita Devi", Some("9800000021"), None, "TS-AC-1-B0001")).await.unwrap());
    let gita = id(enrol(&s, &enr("Gita Devi", Some("9800000021"), None, "TS-AC-1-B0001")).await.unwrap());
    let ramesh = id(enrol(&s, &enr("Ramesh Kumar", Some("9800000022"), None, "TS-AC-1-B0002")).await.unwrap());
    let (shared, own) = (failure_key("account", "+919800000021"), failure_key("account", "+919800000022"));
    s.note_failure(&[shared.clone(), own.clone()]).await.unwrap();
    let since = clock::now() - Duration::hours(1);
    let event = |p: i64| AuditEvent {
        actor: "admin".into(),
        post: None,
        action: "erase".into(),
        record: Some(format!("person:{p}")),
        person_id: Some(p),
        address: Some("cli".into()),
        outcome: "ok".into(),
    };
    assert!(s.erase(sita, &event(sita)).await.unwrap());
    assert!(s.erase(ramesh, &event(ramesh)).await.unwrap());
    assert_eq!(s.failures(&shared, since).await.unwrap().0, 1, "Gita still holds the mobile");
    assert_eq!(s.failures(&own, since).await.unwrap().0, 0, "nobody holds Ramesh's mobile");
    assert!(s.erase(gita, &event(gita)).await.unwrap());
    assert_eq!(s.failures(&shared, since).await.unwrap().0, 0, "the last holder erased");
    assert_verified(&s).await;
}

/// A person's home AC (`people.home_ac`) is the AC of the membership they were created with
/// until they hold one in another AC, by a later enrolment, by a second row of the same batch,
/// or by a merge; then 0 for good. PostgreSQL's search within an AC finds people by it, so a
/// member in two ACs must be found in both; `verify` names a home AC that is wrong.
async fn a_member_in_two_acs_is_found_in_both(db: TestDb) {
    let s = mini(&db).await;
    let names = |q: &'static str, unit: &'static str| {
        let s = s.clone();
        async move { s.search(unit, q, &Wings::All, 0, 20).await.unwrap().unwrap().members.into_iter().map(|h| h.name).collect::<Vec<_>>() }
    };
    // Created in AC 1: that AC is the home AC.
    enrol(&s, &enr("Ramakant Tripathi", Some("9811100001"), Some("RKT1234567"), "TS-AC-1-B0001")).await.unwrap();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM people WHERE epic = 'RKT1234567' AND home_ac = (SELECT id FROM units WHERE code = 'TS-AC-1')").await,
        1
    );
    // A second wing's membership in AC 2 (the same EPIC): several ACs, so 0.
    let again = enrol(&s, &in_wing(enr("Ramakant Tripathi", None, Some("RKT1234567"), "TS-AC-2-B0001"), "volunteers")).await.unwrap();
    assert!(!again.created_person && again.created_membership);
    assert_eq!(scalar(&db, "SELECT home_ac FROM people WHERE epic = 'RKT1234567'").await, 0);
    assert_eq!(names("Ramakant", "TS-AC-1").await, vec!["Ramakant Tripathi"]);
    assert_eq!(names("रमाकांत त्रिपाठी", "TS-AC-2").await, vec!["Ramakant Tripathi"]);
    assert_eq!(names("Ramakant", "TS-AC-2-B0001").await, vec!["Ramakant Tripathi"]);
    // A later wing in the same AC leaves a home AC as it is.
    enrol(&s, &enr("Sushila Kannaujia", Some("9811100002"), None, "TS-AC-3-B0001")).await.unwrap();
    enrol(&s, &in_wing(enr("Sushila Kannaujia", Some("9811100002"), None, "TS-AC-3"), "volunteers")).await.unwrap();
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM people WHERE mobile = '+919811100002' AND home_ac = (SELECT id FROM units WHERE code = 'TS-AC-3')").await,
        1
    );
    // One batch: the person created by its first row, a second AC by its second.
    let rows = vec![
        (enr("Devendra Kushwaha", Some("9811100003"), None, "TS-AC-3-B0001"), ctx()),
        (in_wing(enr("Devendra Kushwaha", Some("9811100003"), None, "TS-AC-4-B0001"), "volunteers"), ctx()),
    ];
    let out = s.enrol_batch(&rows).await.unwrap();
    assert!(out.iter().all(|r| r.as_ref().is_ok_and(|o| o.created_membership)), "{out:?}");
    assert_eq!(scalar(&db, "SELECT home_ac FROM people WHERE mobile = '+919811100003'").await, 0);
    assert_eq!(names("Devendra", "TS-AC-4").await, vec!["Devendra Kushwaha"]);
    assert_eq!(names("Devendra", "TS-AC-3").await, vec!["Devendra Kushwaha"]);
    // A merge moves a membership in AC 2 to a person of AC 4: found in AC 2 by their own name.
    let a = enrol(&s, &enr("Kamlesh Pal", Some("9811100004"), None, "TS-AC-4-B0001")).await.unwrap();
    let b = enrol(&s, &in_wing(enr("Kamlesh Paal", Some("9811100005"), None, "TS-AC-2-B0001"), "volunteers")).await.unwrap();
    assert!(names("Kamlesh Pal", "TS-AC-2").await.iter().all(|n| n != "Kamlesh Pal"));
    s.merge(b.person_id, a.person_id, "tester").await.unwrap();
    assert_eq!(scalar(&db, "SELECT home_ac FROM people WHERE mobile = '+919811100004'").await, 0);
    assert!(names("Kamlesh Pal", "TS-AC-2").await.iter().any(|n| n == "Kamlesh Pal"));
    assert_verified(&s).await;
    // A home AC that is not every membership's AC is named by verify (the AC whose member it is).
    exec(&db, "UPDATE people SET home_ac = (SELECT id FROM units WHERE code = 'TS-AC-1') WHERE epic = 'RKT1234567'").await;
    let m = s.verify().await.unwrap();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].what.as_str(), m[0].unit.as_str(), m[0].expected, m[0].found), ("members with another home AC", "TS-AC-2", 0, 1));
    assert!(names("Ramakant", "TS-AC-1").await.iter().any(|n| n == "Ramakant Tripathi"));
}

/// More substring matches than a search ranks (`SEARCH_CANDIDATES`): people named exactly as
/// typed, enrolled after all of them (so beyond the cap in person order), still come first, in
/// the whole state, within their AC and booth, and in some wings only; and paging through the
/// answer gives each person once.
async fn exact_names_beyond_the_candidate_cap_come_first(db: TestDb) {
    let s = mini(&db).await;
    let cap = sangathan_store::SEARCH_CANDIDATES as usize;
    let surnames = ["Yadav", "Verma", "Gupta", "Nishad", "Maurya"];
    let booth = "TS-AC-1-B0001";
    let mut rows: Vec<_> = (0..cap + 100)
        .map(|i| (enr(&format!("Ram Prakash {}", surnames[i % surnames.len()]), Some(&format!("97{:08}", i)), None, booth), ctx()))
        .collect();
    // Two exact namesakes, in both scripts, last.
    rows.push((enr("Ram Prakash", Some("9600000001"), None, booth), ctx()));
    rows.push((enr("राम प्रकाश", Some("9600000002"), None, booth), ctx()));
    assert!(s.enrol_batch(&rows).await.unwrap().iter().all(|r| r.is_ok()));
    let party = s.wings().await.unwrap().into_iter().find(|w| w.code == "party").unwrap().id;
    for (unit, wings) in [("TS", Wings::All), ("TS", Wings::Only([party].into())), ("TS-AC-1", Wings::All), (booth, Wings::All)] {
        let first = s.search(unit, "ram prakash", &wings, 0, 20).await.unwrap().unwrap();
        assert_eq!(first.members.len(), 20, "{unit} {wings:?}");
        let mut top: Vec<&str> = first.members[..2].iter().map(|h| h.name.as_str()).collect();
        top.sort();
        assert_eq!(top, ["Ram Prakash", "राम प्रकाश"], "{unit} {wings:?}");
        assert!(first.members[2..].iter().all(|h| h.rank < first.members[1].rank), "{unit} {wings:?}");
        assert_eq!(first.next, Some(20), "{unit} {wings:?}");
        // Every page: each person once, ranked no higher than the page before ended; the first
        // CANDIDATES matches (one membership each) and the two namesakes beyond them.
        let (mut seen, mut offset, mut last_rank) = (std::collections::HashSet::new(), Some(0), u8::MAX);
        while let Some(o) = offset {
            let page = s.search(unit, "ram prakash", &wings, o, 100).await.unwrap().unwrap();
            for h in &page.members {
                assert!(seen.insert(h.person_id), "{unit} {wings:?}: {} twice", h.person_id);
                assert!(h.rank <= last_rank, "{unit} {wings:?}: ranked {} after {last_rank}", h.rank);
                last_rank = h.rank;
            }
            offset = page.next;
        }
        assert_eq!(seen.len(), cap + 2, "{unit} {wings:?}");
    }
}

/// A name shared by many: the whole state's search (ranked from names, memberships read for the
/// page; the first page of a name with many namesakes from its key alone) and a narrower unit's
/// or some wings' (memberships joined) give every page of one ranked answer, each person once;
/// and the same answer with the trigram counts that plan SQLite's index reads surely taken
/// (the first pass may or may not have them: the first search starts taking them in the
/// background; `a_name_search_reads_its_rarest_trigrams` checks the switch itself).
async fn search_pages_agree_with_one_page_and_any_plan(db: TestDb) {
    use sangathan_core::search::joined_key;
    let s = mini(&db).await;
    let surnames = ["Nishad", "Yadav", "Verma", "Gupta", "Singh", "Maurya", "Pal", "Saini"];
    let mut names: Vec<String> = surnames.iter().map(|n| format!("Ram Prakash {n}")).collect();
    names.extend(
        ["Prakash Ram", "राम प्रकाश", "रामप्रकाश यादव", "Ramprakash Kori", "Shri Ram Prakash", "Raman Prakashan", "Ram Prakasham Das", "Sita Devi"]
            // Holds the rarest trigrams of "Ram Prakash Nishad" (`ksn`, `sns`, `nsd`), not its key.
            .into_iter()
            .chain(["Kishan Sinha Nishad"])
            // Namesakes of "ram prakash" (as typed, in other case, in the other script): the
            // first page of its whole-state search is found through its key alone.
            .chain(["Ram Prakash", "Ram Prakash", "RAM PRAKASH", "ram  prakash", "राम  प्रकाश"])
            .map(String::from),
    );
    let units = ["TS-AC-1-B0001", "TS-AC-1-B0002", "TS-AC-2-B0001", "TS-AC-3", "TS-AC-4-B0001"];
    let mut rows = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let mut e = enr(n, Some(&format!("98100{:05}", i)), None, units[i % units.len()]);
        if i % 3 == 0 {
            e.wing = "employees".into();
        }
        rows.push((e.clone(), ctx()));
        // Every fourth person is a member of a second wing too: still one hit.
        if i % 4 == 1 {
            e.wing = "volunteers".into();
            rows.push((e, ctx()));
        }
    }
    assert!(s.enrol_batch(&rows).await.unwrap().iter().all(|r| r.is_ok()));
    let employees = s.wings().await.unwrap().into_iter().find(|w| w.code == "employees").unwrap().id;
    let filters = [Wings::All, Wings::Only([employees].into())];
    let whole = |unit: &'static str, q: &'static str, w: usize| {
        let (s, w) = (s.clone(), filters[w].clone());
        async move { s.search(unit, q, &w, 0, 100).await.unwrap().unwrap() }
    };
    let paged = |unit: &'static str, q: &'static str, w: usize| {
        let (s, w) = (s.clone(), filters[w].clone());
        async move {
            let (mut all, mut offset) = (Vec::new(), Some(0));
            while let Some(o) = offset {
                let page = s.search(unit, q, &w, o, 3).await.unwrap().unwrap();
                assert!(page.members.len() <= 3);
                assert!(!page.members.is_empty() || o == 0, "a next page that is empty: {unit} {q} at {o}");
                offset = page.next;
                all.extend(page.members);
            }
            all
        }
    };
    let mut answers = Vec::new();
    for plan in ["whichever plan comes", "with the trigram counts taken"] {
        if plan != "whichever plan comes" {
            s.refresh_search_statistics().await.unwrap();
        }
        let mut these = Vec::new();
        for unit in ["TS", "TS-DIV-NORTH", "TS-AC-1"] {
            for q in ["ram prakash", "रामप्रकाश", "Ram Prakash Nishad", "Prakash"] {
                for w in 0..filters.len() {
                    let one = whole(unit, q, w).await;
                    assert_eq!(one.next, None);
                    let ids: Vec<i64> = one.members.iter().map(|h| h.person_id).collect();
                    assert_eq!(ids.iter().collect::<std::collections::HashSet<_>>().len(), ids.len(), "each person once: {unit} {q}");
                    assert!(one.members.windows(2).all(|p| p[0].rank >= p[1].rank), "ranked: {unit} {q}");
                    // Exactly the people whose key holds the query's (or is the key of its leading
                    // words: a query longer than the stored name), in the unit and the wings.
                    let finder = sangathan_core::search::Ranker::new(q);
                    let mut want: Vec<String> = names
                        .iter()
                        .enumerate()
                        .filter(|(i, n)| {
                            let in_unit = match unit {
                                "TS" => true,
                                "TS-DIV-NORTH" => !units[i % units.len()].starts_with("TS-AC-4"),
                                _ => units[i % units.len()].starts_with("TS-AC-1-"),
                            };
                            finder.finds(&joined_key(n)) && in_unit && (w == 0 || i % 3 == 0)
                        })
                        .map(|(_, n)| n.clone())
                        .collect();
                    let mut got: Vec<String> = one.members.iter().map(|h| h.name.clone()).collect();
                    want.sort();
                    got.sort();
                    assert_eq!(got, want, "{unit} {q} {w} {plan}");
                    if w == 1 {
                        assert!(one.members.iter().all(|h| h.wing == "employees"), "{unit} {q}");
                    }
                    assert_eq!(paged(unit, q, w).await, one.members, "{unit} {q} {w}");
                    these.push(one);
                }
            }
        }
        assert!(these[0].members.len() >= 10);
        answers.push(these);
    }
    assert_eq!(answers[0], answers[1]);
}

// ---- Duplicate review and merges ----

const PHONE: &str = "9811122233";
const B1: &str = "TS-AC-1-B0001";
const B2: &str = "TS-AC-1-B0002";

fn in_wing(mut e: Enrolment, wing: &str) -> Enrolment {
    e.wing = wing.into();
    e
}

/// The household of the merge scenarios: "Ram Prakash" (EPIC, party + volunteers) and
/// "राम प्रकाश" (no EPIC, party + employees) on one phone, enrolled as two people because the
/// identity rule does not merge across scripts; "Gita Devi" shares the phone (another person).
struct Household {
    ram: i64,
    ram_hi: i64,
    gita: i64,
}

async fn household(s: &DynStore) -> Household {
    let ram = enrol(s, &enr("Ram Prakash", Some(PHONE), Some("RPK1234567"), B1))
        .await
        .unwrap();
    let ram_hi = enrol(s, &enr("राम प्रकाश", Some(PHONE), None, B1))
        .await
        .unwrap();
    assert!(
        ram_hi.created_person,
        "two people: the identity rule does not merge across scripts"
    );
    assert_ne!(ram.person_id, ram_hi.person_id);
    let v = enrol(
        s,
        &in_wing(
            enr("Ram Prakash", None, Some("RPK1234567"), B1),
            "volunteers",
        ),
    )
    .await
    .unwrap();
    assert_eq!(v.person_id, ram.person_id);
    let e = enrol(
        s,
        &in_wing(enr("राम प्रकाश", Some(PHONE), None, B2), "employees"),
    )
    .await
    .unwrap();
    assert_eq!(e.person_id, ram_hi.person_id);
    let gita = enrol(s, &enr("Gita Devi", Some(PHONE), None, B1))
        .await
        .unwrap();
    Household {
        ram: ram.person_id,
        ram_hi: ram_hi.person_id,
        gita: gita.person_id,
    }
}

fn pairs(d: &[sangathan_store::DuplicateCandidate]) -> Vec<(i64, i64, &str)> {
    d.iter().map(|c| (c.a, c.b, c.reason.as_str())).collect()
}

async fn achieved(s: &DynStore, unit: &str) -> i64 {
    s.progress(unit, None, clock::today())
        .await
        .unwrap()
        .unwrap()
        .unit
        .achieved
}

async fn merge_code(s: &DynStore, from: i64, into: i64) -> &'static str {
    code_of(s.merge(from, into, "tester").await.unwrap_err())
}

fn refusal(err: StoreError) -> String {
    match err {
        StoreError::Refused(msg) => msg,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn duplicates_across_scripts_and_in_one_booth(db: TestDb) {
    let s = mini(&db).await;
    let h = household(&s).await;
    // The same name and birth year in one booth, on different phones.
    let sita1 = enrol(&s, &enr("Sita Devi", Some("9811100001"), None, B2))
        .await
        .unwrap()
        .person_id;
    let sita2 = enrol(&s, &enr("Sita Devi", Some("9811100002"), None, B2))
        .await
        .unwrap()
        .person_id;
    // The same name in another booth is not a candidate; neither is another birth year.
    enrol(
        &s,
        &enr("Sita Devi", Some("9811100003"), None, "TS-AC-1-B0003"),
    )
    .await
    .unwrap();
    let mut older = enr("Sita Devi", Some("9811100004"), None, B2);
    older.birth_year = Some(1950);
    enrol(&s, &older).await.unwrap();
    // Words in another order on one phone match too.
    let nr = enrol(
        &s,
        &enr("Nishad Ramesh", Some("9811100005"), None, "TS-AC-2-B0001"),
    )
    .await
    .unwrap()
    .person_id;
    let rn = enrol(
        &s,
        &enr("Ramesh Nishad", Some("9811100005"), None, "TS-AC-2-B0001"),
    )
    .await
    .unwrap()
    .person_id;

    let same_mobile = sangathan_store::REASON_SAME_MOBILE;
    let same_booth = sangathan_store::REASON_SAME_BOOTH;
    let all = s
        .duplicate_candidates("TS", &Wings::All, 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pairs(&all),
        vec![
            (h.ram, h.ram_hi, same_mobile),
            (sita1, sita2, same_booth),
            (nr, rn, same_mobile)
        ],
        "Gita shares the phone but is another person: {all:?}"
    );
    assert_eq!(all[0].a_name, "Ram Prakash");
    assert_eq!(all[0].b_name, "राम प्रकाश");
    // Scoped: each unit sees the pairs whose both people are in it; a limit cuts lowest ids first.
    let ac1 = s
        .duplicate_candidates("ts-ac-1", &Wings::All, 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pairs(&ac1),
        vec![(h.ram, h.ram_hi, same_mobile), (sita1, sita2, same_booth)]
    );
    assert_eq!(
        pairs(
            &s.duplicate_candidates(B1, &Wings::All, 50)
                .await
                .unwrap()
                .unwrap()
        ),
        vec![(h.ram, h.ram_hi, same_mobile)]
    );
    assert_eq!(
        pairs(
            &s.duplicate_candidates(B2, &Wings::All, 50)
                .await
                .unwrap()
                .unwrap()
        ),
        vec![(sita1, sita2, same_booth)]
    );
    assert!(
        s.duplicate_candidates("TS-AC-3", &Wings::All, 50)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        pairs(
            &s.duplicate_candidates("TS", &Wings::All, 1)
                .await
                .unwrap()
                .unwrap()
        ),
        vec![(h.ram, h.ram_hi, same_mobile)]
    );
    assert!(
        s.duplicate_candidates("TS-AC-99", &Wings::All, 50)
            .await
            .unwrap()
            .is_none()
    );
    // A merged pair is no longer a candidate.
    s.merge(h.ram, h.ram_hi, "tester").await.unwrap();
    let after = s
        .duplicate_candidates("TS", &Wings::All, 50)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pairs(&after),
        vec![(sita1, sita2, same_booth), (nr, rn, same_mobile)]
    );
    assert_verified(&s).await;
}

/// A merged record keeps its mobile and name (they find the person it joined), but no login:
/// its user no longer logs in, and no user is made on them.
async fn a_merged_record_gives_no_login(db: TestDb) {
    let s = mini(&db).await;
    let post = |unit: &str| NewPost { role: Role::BoothPresident, unit: unit.into(), wing: "party".into(), starts_on: clock::today() };
    let mobile = Mobile::parse("7000000111").unwrap();
    let a = s.add_user(&PersonName::parse("Booth Worker").unwrap(), &mobile, None, &[post(B1)], "admin").await.unwrap();
    let b = enrol(&s, &enr("बूथ कार्यकर्ता", Some("7000000222"), None, B1)).await.unwrap().person_id;
    assert_eq!(s.user_by_mobile("+917000000111").await.unwrap().map(|u| u.person_id), Some(a));
    let token = s.issue_user_token(a, "phone").await.unwrap();
    assert!(s.authenticate(&token).await.unwrap().is_some());
    s.merge(a, b, "tester").await.unwrap();
    // Its token (answered from the cache a moment ago) no longer lets anyone in.
    assert!(s.authenticate(&token).await.unwrap().is_none());
    assert!(s.member(a).await.unwrap().unwrap().mobile.is_some_and(|m| m.ends_with("7000000111")));
    assert!(s.user_by_mobile("+917000000111").await.unwrap().is_none());
    let again = s.add_user(&PersonName::parse("Booth Worker").unwrap(), &mobile, None, &[post(B1)], "admin").await.unwrap_err();
    assert_eq!(code_of(again), "merged_record");
    // Another name on that mobile is another person, who may log in with it.
    let c = s.add_user(&PersonName::parse("Other Worker").unwrap(), &mobile, None, &[post(B1)], "admin").await.unwrap();
    assert_ne!(c, a);
    assert_eq!(s.user_by_mobile("+917000000111").await.unwrap().map(|u| u.person_id), Some(c));
    assert_verified(&s).await;
}

async fn merge_loses_nothing_and_undoes_exactly(db: TestDb) {
    let s = mini(&db).await;
    let h = household(&s).await;
    assert_verified(&s).await;
    let before_ram = s.member(h.ram).await.unwrap().unwrap();
    let before_hi = s.member(h.ram_hi).await.unwrap().unwrap();
    let before_gita = s.member(h.gita).await.unwrap().unwrap();
    let (ac_before, booth_before) = (achieved(&s, "TS-AC-1").await, achieved(&s, B1).await);
    assert_eq!(before_ram.merged_into, None);
    let number = |m: &sangathan_store::Member, wing: &str| {
        m.memberships
            .iter()
            .find(|x| x.wing == wing)
            .unwrap()
            .membership_number
            .clone()
    };

    // Merge the Latin record (with the EPIC) into the Devanagari one.
    let o = s.merge(h.ram, h.ram_hi, "tester").await.unwrap();
    assert_eq!((o.from, o.into, o.undone), (h.ram, h.ram_hi, false));
    assert_eq!(o.moved_memberships, vec![number(&before_ram, "volunteers")]);
    assert_eq!(o.cancelled_memberships, vec![number(&before_ram, "party")]);
    assert_eq!(o.moved_identifiers, vec!["epic".to_string()]);
    assert_verified(&s).await;

    // Every membership is still there: the remaining person holds party (their own), employees
    // (their own) and volunteers (moved); the duplicate party membership stays, cancelled, on the
    // merged record, which is kept as history.
    let into = s.member(h.ram_hi).await.unwrap().unwrap();
    let mut wings: Vec<&str> = into.memberships.iter().map(|m| m.wing.as_str()).collect();
    wings.sort_unstable();
    assert_eq!(wings, vec!["employees", "party", "volunteers"]);
    assert_eq!(number(&into, "party"), number(&before_hi, "party"));
    assert_eq!(number(&into, "employees"), number(&before_hi, "employees"));
    assert_eq!(
        number(&into, "volunteers"),
        number(&before_ram, "volunteers")
    );
    assert_eq!(into.epic.as_deref(), Some("RPK1234567"));
    assert_eq!(into.mobile, before_hi.mobile);
    let merged = s.member(h.ram).await.unwrap().unwrap();
    assert_eq!(merged.merged_into, Some(h.ram_hi));
    // The merged record keeps its mobile (with its name, it names the person it joined); its
    // EPIC moved.
    assert_eq!(
        (merged.mobile.as_deref(), merged.epic.as_deref()),
        (before_ram.mobile.as_deref(), None)
    );
    assert_eq!(merged.memberships.len(), 1);
    assert_eq!(merged.memberships[0].status, "cancelled");
    assert_eq!(
        merged.memberships[0].membership_number,
        number(&before_ram, "party")
    );
    assert_eq!(count_memberships(&db).await, 5);
    assert_eq!(count_people(&db).await, 3);
    // Counted once: one party membership fewer at the booth and everywhere above it.
    assert_eq!(achieved(&s, "TS-AC-1").await, ac_before - 1);
    assert_eq!(achieved(&s, B1).await, booth_before - 1);
    // The merged person's EPIC now identifies the remaining person; search skips the merged record.
    let again = enrol(
        &s,
        &enr("Ram Prakash", Some(PHONE), Some("rpk 1234567"), B1),
    )
    .await
    .unwrap();
    assert_eq!(again.person_id, h.ram_hi);
    assert!(!again.created_membership && !again.created_person);
    // So does its mobile and name alone (the EPIC moved, the mobile stays the person's own):
    // the same row imported or sent again is a duplicate, not the merged record made anew.
    let by_mobile = enrol(&s, &enr("ram  prakash", Some(PHONE), None, B1)).await.unwrap();
    assert_eq!((by_mobile.person_id, by_mobile.created_person, by_mobile.created_membership), (h.ram_hi, false, false));
    // With another EPIC it is a conflict, as for the person's own mobile and name.
    assert_eq!(code_of(enrol(&s, &enr("Ram Prakash", Some(PHONE), Some("XYZ7654321"), B1)).await.unwrap_err()), "identity_conflict");
    assert_eq!(count_people(&db).await, 3);
    let v = enrol(
        &s,
        &in_wing(
            enr("Ram Prakash", None, Some("RPK1234567"), B1),
            "volunteers",
        ),
    )
    .await
    .unwrap();
    assert_eq!(v.person_id, h.ram_hi);
    assert_eq!(v.membership_number, number(&before_ram, "volunteers"));
    let hits = s
        .search("TS", "Ram Prakash", &Wings::All, 0, 20)
        .await
        .unwrap()
        .unwrap()
        .members;
    assert!(hits.iter().any(|x| x.person_id == h.ram_hi), "{hits:?}");
    assert!(hits.iter().all(|x| x.person_id != h.ram), "{hits:?}");
    // A merged record cannot be merged again, nor merged into.
    assert_eq!(merge_code(&s, h.ram, h.gita).await, "already_merged");
    assert_eq!(merge_code(&s, h.gita, h.ram).await, "already_merged");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM merges").await, 1);
    assert_verified(&s).await;
    // An export leaves the merged record out: its one membership (cancelled, the record without
    // identifiers) could not be imported again. The moved one is exported under the person.
    let (mut exported, mut after) = (Vec::new(), 0);
    loop {
        let page = s.export_page("TS", &Wings::All, after, 100).await.unwrap().unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        exported.extend(page.into_iter().map(|(_, r)| r));
    }
    assert!(exported.iter().all(|r| r.mobile.is_some() || r.epic.is_some()), "{exported:?}");
    assert!(!exported.iter().any(|r| r.membership_number == number(&before_ram, "party")), "{exported:?}");
    assert!(
        exported.iter().any(|r| r.membership_number == number(&before_ram, "volunteers") && r.epic.as_deref() == Some("RPK1234567")),
        "{exported:?}"
    );

    // The undo restores both people exactly, counters included.
    let u = s.unmerge(o.merge_id, "tester").await.unwrap();
    assert!(u.undone);
    assert_eq!(u.moved_memberships, o.moved_memberships);
    assert_eq!(u.cancelled_memberships, o.cancelled_memberships);
    assert_eq!(u.moved_identifiers, o.moved_identifiers);
    assert_eq!(s.member(h.ram).await.unwrap().unwrap(), before_ram);
    assert_eq!(s.member(h.ram_hi).await.unwrap().unwrap(), before_hi);
    assert_eq!(s.member(h.gita).await.unwrap().unwrap(), before_gita);
    assert_eq!(achieved(&s, "TS-AC-1").await, ac_before);
    assert_eq!(achieved(&s, B1).await, booth_before);
    assert_verified(&s).await;
    // The audit trail: who merged, who undid, when.
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM merges WHERE actor = 'tester' AND undone_by = 'tester' AND undone_at IS NOT NULL").await,
        1
    );
    // Twice is refused; an unknown merge is not found.
    let again = refusal(s.unmerge(o.merge_id, "tester").await.unwrap_err());
    assert!(again.contains("already undone"), "{again}");
    assert!(matches!(
        s.unmerge(o.merge_id + 100, "tester").await,
        Err(StoreError::NotFound)
    ));
    // The EPIC identifies the Latin record again.
    let e = enrol(&s, &enr("anyone", None, Some("RPK1234567"), B1))
        .await
        .unwrap();
    assert_eq!(e.person_id, h.ram);

    // The other way round: the Devanagari record into the Latin one (which lacks nothing).
    let o2 = s.merge(h.ram_hi, h.ram, "tester").await.unwrap();
    assert_eq!(o2.moved_memberships, vec![number(&before_hi, "employees")]);
    assert_eq!(o2.cancelled_memberships, vec![number(&before_hi, "party")]);
    assert!(o2.moved_identifiers.is_empty());
    assert_verified(&s).await;
    s.unmerge(o2.merge_id, "tester").await.unwrap();
    assert_eq!(s.member(h.ram).await.unwrap().unwrap(), before_ram);
    assert_eq!(s.member(h.ram_hi).await.unwrap().unwrap(), before_hi);
    assert_verified(&s).await;
}

async fn merge_refusals_write_nothing(db: TestDb) {
    let s = mini(&db).await;
    let a = enrol(
        &s,
        &enr("Mohan Lal", Some("9822200001"), Some("MLA1234567"), B1),
    )
    .await
    .unwrap()
    .person_id;
    let b = enrol(
        &s,
        &enr("मोहन लाल", Some("9822200001"), Some("MLB7654321"), B1),
    )
    .await
    .unwrap()
    .person_id;
    let (ma, mb) = (
        s.member(a).await.unwrap().unwrap(),
        s.member(b).await.unwrap().unwrap(),
    );
    let people = count_people(&db).await;
    // Two different EPICs are two people.
    let err = s.merge(a, b, "tester").await.unwrap_err();
    match &err {
        StoreError::Invalid(i) => {
            assert_eq!(i.code(), "different_epics");
            assert_eq!(i.0[0].field, "epic");
            assert!(!i.0[0].hi.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(merge_code(&s, a, a).await, "same_person");
    assert_eq!(merge_code(&s, a, 999_999).await, "unknown_person");
    match s.merge(999_998, 999_999, "tester").await.unwrap_err() {
        StoreError::Invalid(i) => assert_eq!(
            i.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            vec!["from", "into"]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM merges").await, 0);
    assert_eq!(s.member(a).await.unwrap().unwrap(), ma);
    assert_eq!(s.member(b).await.unwrap().unwrap(), mb);
    assert_eq!(count_people(&db).await, people);
    assert_verified(&s).await;
}

async fn merges_undo_in_order_and_guard_identifiers(db: TestDb) {
    let s = mini(&db).await;
    let h = household(&s).await;
    let sita = enrol(&s, &enr("Sita Devi", Some("9811100001"), None, B2))
        .await
        .unwrap()
        .person_id;
    let before: Vec<_> = {
        let mut v = Vec::new();
        for id in [h.ram, h.ram_hi, h.gita, sita] {
            v.push(s.member(id).await.unwrap().unwrap());
        }
        v
    };
    // A chain: राम प्रकाश into Ram Prakash, then Ram Prakash into Sita (who gets the EPIC).
    let m1 = s.merge(h.ram_hi, h.ram, "tester").await.unwrap();
    let m2 = s.merge(h.ram, sita, "tester").await.unwrap();
    assert_eq!(m2.moved_identifiers, vec!["epic".to_string()]);
    assert_verified(&s).await;
    // The first cannot be undone while its person is merged into another.
    let why = refusal(s.unmerge(m1.merge_id, "tester").await.unwrap_err());
    assert!(
        why.contains(&format!("#{}", h.ram)) && why.contains("undo that merge first"),
        "{why}"
    );
    // Merges into one person are undone last first.
    let m3 = s.merge(h.gita, sita, "tester").await.unwrap();
    let why = refusal(s.unmerge(m2.merge_id, "tester").await.unwrap_err());
    assert!(why.contains(&format!("merge #{}", m3.merge_id)), "{why}");
    for m in [&m3, &m2, &m1] {
        s.unmerge(m.merge_id, "tester").await.unwrap();
        assert_verified(&s).await;
    }
    for (i, id) in [h.ram, h.ram_hi, h.gita, sita].into_iter().enumerate() {
        assert_eq!(s.member(id).await.unwrap().unwrap(), before[i]);
    }

    // With the Latin record merged, its name on the phone is the person it joined, not a
    // newcomer, so no one else can come to hold the identifiers an undo restores.
    let m = s.merge(h.ram, h.ram_hi, "tester").await.unwrap();
    let again = enrol(&s, &enr("Ram Prakash", Some(PHONE), None, B1)).await.unwrap();
    assert_eq!((again.person_id, again.created_person), (h.ram_hi, false));
    // Through a chain too: राम प्रकाश merged on into Gita.
    let chain = s.merge(h.ram_hi, h.gita, "tester").await.unwrap();
    let again = enrol(&s, &enr("Ram Prakash", Some(PHONE), None, B1)).await.unwrap();
    assert_eq!((again.person_id, again.created_person), (h.gita, false));
    assert_verified(&s).await;
    // Undone last first, the people are as they were.
    let why = refusal(s.unmerge(m.merge_id, "tester").await.unwrap_err());
    assert!(why.contains("undo that merge first"), "{why}");
    s.unmerge(chain.merge_id, "tester").await.unwrap();
    s.unmerge(m.merge_id, "tester").await.unwrap();
    for (i, id) in [h.ram, h.ram_hi, h.gita, sita].into_iter().enumerate() {
        assert_eq!(s.member(id).await.unwrap().unwrap(), before[i]);
    }
    assert_verified(&s).await;

    // A merged record's kept mobile finds the person it joined, at the end of any chain, in
    // any typed form, and only where that person is a member.
    let found = |unit: &'static str, q: &'static str| {
        let s = s.clone();
        async move { s.search(unit, q, &Wings::All, 0, 20).await.unwrap().unwrap().members.into_iter().map(|h| h.person_id).collect::<Vec<_>>() }
    };
    assert_eq!(found("TS", "9811100001").await, vec![sita]);
    let into_gita = s.merge(sita, h.gita, "tester").await.unwrap();
    assert_eq!(found("TS", "9811100001").await, vec![h.gita]);
    let on = s.merge(h.gita, h.ram, "tester").await.unwrap();
    assert_eq!(found("TS", "+91 98111 00001").await, vec![h.ram]);
    assert_eq!(found(B1, "09811100001").await, vec![h.ram]);
    assert_eq!(found("TS-AC-4", "9811100001").await, Vec::<i64>::new());
    s.unmerge(on.merge_id, "tester").await.unwrap();
    s.unmerge(into_gita.merge_id, "tester").await.unwrap();
    assert_eq!(found("TS", "9811100001").await, vec![sita]);
    assert_verified(&s).await;
}

async fn concurrent_opposite_merges_one_wins(db: TestDb) {
    let s = mini(&db).await;
    let h = household(&s).await;
    let (s1, s2) = (s.clone(), s.clone());
    let a = tokio::spawn(async move { s1.merge(h.ram, h.ram_hi, "one").await });
    let b = tokio::spawn(async move { s2.merge(h.ram_hi, h.ram, "two").await });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let err = match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e,
        other => panic!("exactly one wins: {other:?}"),
    };
    assert_eq!(code_of(err), "already_merged");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM merges").await, 1);
    assert_verified(&s).await;
}

// ---- Meetings ----

use chrono::Datelike;

use sangathan_core::access::Role;
use sangathan_store::NewPost;
use sangathan_store::meetings::{MeetingView, NewMeeting, NewReport, NewSeries};

/// A user holding one post, from `on`; their person id.
async fn appoint(s: &DynStore, n: u64, role: Role, unit: &str, wing: &str, on: NaiveDate) -> i64 {
    let name = PersonName::parse(&format!("Office Bearer {n}")).unwrap();
    let mobile = Mobile::parse(&format!("{}", 7_000_000_000u64 + n)).unwrap();
    let post = NewPost { role, unit: unit.into(), wing: wing.into(), starts_on: on };
    s.add_user(&name, &mobile, None, &[post], "admin").await.unwrap()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn series(wing: &str, unit: &str, kind: &str, gap: u32) -> NewSeries {
    NewSeries {
        wing: wing.into(),
        unit: unit.into(),
        rotate: UnitKind::Ac,
        rule: "FREQ=WEEKLY;BYDAY=SU".into(),
        time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        minutes: 120,
        start: d("2027-01-03"),
        end: Some(d("2027-12-26")),
        kind: kind.into(),
        min_gap_weeks: gap,
        due_hours: 48,
    }
}

/// (date, venue, chair, status) of each occurrence: what must stay put when another one moves.
fn shape(ms: &[MeetingView]) -> Vec<(i64, NaiveDate, Option<String>, Option<i64>, String)> {
    ms.iter().map(|m| (m.id, m.date, m.venue.clone(), m.chair, m.status.clone())).collect()
}

async fn meetings_rotate_across_a_division_for_a_year(db: TestDb) {
    let s = db.open().await;
    s.init(&preset::load("up").unwrap(), start(), None).await.unwrap();
    let div = "UP-DIV-AGRA";
    let on = d("2026-12-01");
    // Chairs: the division's in-charge and each district's president (party), and two
    // federation officers; a sector in-charge is not senior enough for an AC meeting.
    let mut n = 0;
    let mut chairs = vec![appoint(&s, n, Role::DivisionIncharge, div, "party", on).await];
    for dist in s.children(div).await.unwrap().unwrap() {
        n += 1;
        chairs.push(appoint(&s, n, Role::DistrictPresident, &dist.code, "party", on).await);
        if n <= 2 {
            n += 10;
            chairs.push(appoint(&s, n, Role::FederationOfficer, &dist.code, "employees", on).await);
        }
    }
    let acs = s.units_within(div, UnitKind::Ac).await.unwrap().unwrap();
    let sector = s.units_within(&acs[0].code, UnitKind::Sector).await.unwrap().unwrap()[0].code.clone();
    let junior = appoint(&s, 99, Role::SectorIncharge, &sector, "party", on).await;

    s.add_holiday(d("2027-03-21"), "Holi").await.unwrap();
    s.add_holiday(d("2027-10-31"), "Diwali").await.unwrap();
    let away = acs[0].code.clone();
    s.set_unavailable(&away, d("2027-01-01"), d("2027-01-31"), "by-election").await.unwrap();

    // A gap longer than the pool is refused, nothing written.
    let mut bad = series("employees", div, "employees", acs.len() as u32);
    assert_eq!(code_of(s.add_series(&bad, "admin").await.unwrap_err()), "gap_too_long");
    bad.rule = "FREQ=DAILY".into();
    assert!(matches!(s.add_series(&bad, "admin").await, Err(StoreError::Invalid(_))));

    let a = s.add_series(&series("employees", div, "employees", 10), "admin").await.unwrap();
    let b = s.add_series(&series("party", div, "workers", 0), "admin").await.unwrap();
    assert_eq!(a.pool.len(), acs.len());
    let plan_a = s.plan(a.id, d("2027-01-01"), 52, "admin").await.unwrap().unwrap();
    let plan_b = s.plan(b.id, d("2027-01-01"), 52, "admin").await.unwrap().unwrap();
    let (occ, occ_b) = (plan_a.occurrences.clone(), plan_b.occurrences.clone());
    assert_eq!(occ.len(), 52 - 2, "52 Sundays from 3 January to 26 December, two of them holidays");
    assert_eq!(plan_a.skipped.iter().map(|k| k.date).collect::<Vec<_>>(), vec![d("2027-03-21"), d("2027-10-31")]);
    assert!(occ.iter().all(|m| m.date != d("2027-03-21") && m.date != d("2027-10-31")));

    // Every AC once before any twice (among those available that day), never within 10 weeks,
    // never the unavailable one in January.
    let mut visits: std::collections::HashMap<String, Vec<NaiveDate>> = Default::default();
    for m in &occ {
        let v = m.venue.clone().expect("every Sunday has a venue");
        let mine = visits.get(&v).map_or(0, |x| x.len());
        let least = acs
            .iter()
            .filter(|u| !(u.code == away && m.date <= d("2027-01-31")))
            .map(|u| visits.get(&u.code).map_or(0, |x| x.len()))
            .min()
            .unwrap();
        assert_eq!(mine, least, "{} on {} was visited {mine} times while another had {least}", v, m.date);
        if let Some(last) = visits.get(&v).and_then(|x| x.last()) {
            assert!((m.date - *last).num_days() >= 70, "{v} twice within 10 weeks");
        }
        assert!(!(v == away && m.date <= d("2027-01-31")), "unavailable AC placed");
        visits.entry(v).or_default().push(m.date);
    }
    assert_eq!(visits.len(), acs.len(), "every AC of the division was visited");

    // Chairs: senior to the venue, never two meetings on one date across both series, the
    // junior sector in-charge never.
    let mut by_day: std::collections::HashMap<(NaiveDate, i64), u32> = Default::default();
    for m in occ.iter().chain(occ_b.iter()) {
        let c = m.chair.expect("a chair is found for every meeting");
        assert!(chairs.contains(&c) && c != junior, "chair {c} is not an eligible office-bearer");
        *by_day.entry((m.date, c)).or_default() += 1;
    }
    assert!(by_day.values().all(|n| *n == 1), "a chair was double-booked");

    // Planning again changes nothing; moving one occurrence changes only that one, and a
    // cancelled one stays cancelled (not re-placed).
    let before = shape(&s.series_meetings(a.id).await.unwrap());
    let again = s.plan(a.id, d("2027-01-01"), 52, "admin").await.unwrap().unwrap();
    assert_eq!(shape(&again.occurrences), before);
    let target = &occ[10];
    let moved = s.move_meeting(target.id, Some(target.date + Duration::days(1)), None, Some(&acs[1].code), "admin").await.unwrap();
    assert_eq!((moved.date, moved.venue.as_deref(), moved.rule_date), (target.date + Duration::days(1), Some(acs[1].code.as_str()), Some(target.date)));
    assert_eq!(moved.sequence, 1);
    s.cancel_meeting(occ[20].id, "admin").await.unwrap();
    s.plan(a.id, d("2027-01-01"), 52, "admin").await.unwrap();
    let after = shape(&s.series_meetings(a.id).await.unwrap());
    let changed: Vec<i64> = before.iter().zip(after.iter()).filter(|(x, y)| x != y).map(|(x, _)| x.0).collect();
    assert_eq!(changed, vec![target.id, occ[20].id]);
    assert_eq!(after.len(), before.len());

    // A declined chair is replaced and never chosen again for that meeting.
    let m = &occ[30];
    let first = m.chair.unwrap();
    let re = s.decline_chair(m.id, first).await.unwrap();
    assert!(re.chair.is_some() && re.chair != Some(first));
    // Setting a chair by hand who already chairs that day is refused.
    let busy = occ_b.iter().find(|x| x.date == occ[31].date).unwrap().chair.unwrap();
    assert_eq!(code_of(s.set_chair(occ[31].id, busy, "admin").await.unwrap_err()), "double_booked");

    // Compliance counts both series' meetings in the week; verify recomputes them exactly.
    let c = s.compliance(div, occ[0].date, Utc::now()).await.unwrap().unwrap();
    assert_eq!(c.unit.planned, 2, "{c:?}");
    assert_eq!(c.children.iter().map(|r| r.planned).sum::<i64>(), 2);
    assert_eq!(s.compliance("UP", occ[0].date, Utc::now()).await.unwrap().unwrap().unit.planned, 2);
    // Counted in one wing: only that wing's series.
    let party = s.wings().await.unwrap().into_iter().find(|w| w.code == "party").unwrap().id;
    let only = Wings::Only(std::collections::BTreeSet::from([party]));
    assert_eq!(s.compliance_in(div, occ[0].date, Utc::now(), &only).await.unwrap().unwrap().unit.planned, 1);
    assert!(s.verify().await.unwrap().is_empty());
}

async fn reports_climb_the_chain_and_overdue_ones_escalate_daily(db: TestDb) {
    let s = mini(&db).await;
    let on = start();
    let ac = "TS-AC-1";
    let booth = s.units_within(ac, UnitKind::Booth).await.unwrap().unwrap()[0].code.clone();
    let ac_in = appoint(&s, 1, Role::AcIncharge, ac, "party", on).await;
    let dist = appoint(&s, 2, Role::DistrictPresident, "TS-DT-HILL", "party", on).await;
    let div = appoint(&s, 3, Role::DivisionIncharge, "TS-DIV-NORTH", "party", on).await;
    let organiser = appoint(&s, 4, Role::BoothPresident, &booth, "party", on).await;
    assert!(s.set_email(dist, Some("district@example.org")).await.unwrap());
    assert!(matches!(s.set_email(dist, Some("not an address")).await, Err(StoreError::Invalid(_))));
    s.set_report_chain("party", &[UnitKind::Ac, UnitKind::District, UnitKind::Division]).await.unwrap();

    let day = clock::today() - Duration::days(10);
    let m = s
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: booth.clone(),
                date: day,
                time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
                minutes: 90,
                kind: "booth".into(),
                chair: None,
                organiser: Some(organiser),
                due_hours: 48,
            },
            "admin",
        )
        .await
        .unwrap();
    // The chair is senior to the booth: the AC in-charge (sector has nobody; AC is next).
    assert_eq!(m.chair, Some(ac_in));
    let due = m.report_due;
    assert_eq!(due - m.starts_at, Duration::hours(48));
    let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
    let week = |now| {
        let s = s.clone();
        async move { s.compliance(ac, monday, now).await.unwrap().unwrap().unit }
    };
    assert_eq!(week(due - Duration::hours(1)).await.missing, 0);
    assert_eq!(week(due + Duration::hours(1)).await.missing, 1);

    // Not yet due: nothing. Overdue: day 1 the first level (and organiser, chair), once a day.
    let r = s.escalate(due - Duration::hours(1)).await.unwrap();
    assert_eq!((r.overdue, r.escalated), (0, 0));
    let r = s.escalate(due + Duration::hours(1)).await.unwrap();
    assert_eq!((r.overdue, r.escalated), (1, 1));
    assert_eq!(r.notified, 2, "organiser and the AC in-charge (who is also the chair)");
    let r = s.escalate(due + Duration::hours(2)).await.unwrap();
    assert_eq!((r.overdue, r.escalated, r.notified), (1, 0, 0), "once a day");
    // Day 2: one level up, the district president, by email.
    let r = s.escalate(due + Duration::hours(25)).await.unwrap();
    assert_eq!((r.escalated, r.notified), (1, 3));
    let queued = s.outbox_due(due + Duration::hours(25), 100).await.unwrap();
    let mail: Vec<_> = queued.iter().filter(|o| o.channel == "email").collect();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].recipient, "district@example.org");
    assert!(mail[0].subject.as_deref().unwrap().contains("overdue") && mail[0].body.contains("बैठक"));

    // A report of a meeting that did not happen needs a reason; nothing is written without one.
    let no = NewReport { held: false, ..Default::default() };
    assert_eq!(code_of(s.file_report(m.id, &no, "person:4", due).await.unwrap_err()), "required");
    assert!(s.report(m.id).await.unwrap().is_none());

    // Filed late; it waits at level 1 (the AC), not yet at the district.
    let rep = NewReport { held: true, attendance: 40, employees_met: 12, new_supporters: 5, issues: "पानी की समस्या".into(), ..Default::default() };
    let now = due + Duration::hours(30);
    let v = s.file_report(m.id, &rep, "person:4", now).await.unwrap();
    assert_eq!((v.timing.as_str(), v.status.as_str(), v.level, v.revision), ("late", "filed", 1, 1));
    // Filing the same report again (a retry) changes nothing.
    let again = s.file_report(m.id, &rep, "person:4", now + Duration::minutes(1)).await.unwrap();
    assert_eq!((again.revision, again.filed_at), (1, v.filed_at));
    assert_eq!(s.inbox(ac_in).await.unwrap().len(), 1);
    assert!(s.inbox(dist).await.unwrap().is_empty());
    assert!(matches!(s.act_on_report(m.id, dist, true, None, now).await, Err(StoreError::Refused(_))));
    // No more escalation once filed.
    assert_eq!(s.escalate(due + Duration::hours(50)).await.unwrap().overdue, 0);

    // Returned with a comment (required) → back to the filer; corrected → climbs again.
    assert!(matches!(s.act_on_report(m.id, ac_in, false, None, now).await, Err(StoreError::Invalid(_))));
    let v = s.act_on_report(m.id, ac_in, false, Some("attendance list missing"), now).await.unwrap();
    assert_eq!(v.status, "returned");
    assert!(s.inbox(ac_in).await.unwrap().is_empty());
    // A correction that says it did not happen after all moves the counts, exactly.
    let not_held = NewReport { held: false, reason: Some("सभागार नहीं मिला".into()), ..Default::default() };
    let v = s.file_report(m.id, &not_held, "person:4", now + Duration::minutes(30)).await.unwrap();
    assert_eq!((v.status.as_str(), v.revision), ("filed", 2));
    let c = s.compliance(ac, monday, now).await.unwrap().unwrap().unit;
    assert_eq!((c.held, c.not_held, c.late), (0, 1, 1));
    assert!(s.verify().await.unwrap().is_empty());
    let fixed = NewReport { notes: "list attached".into(), ..rep.clone() };
    let v = s.file_report(m.id, &fixed, "person:4", now + Duration::hours(1)).await.unwrap();
    assert_eq!((v.status.as_str(), v.level, v.revision, v.timing.as_str()), ("filed", 1, 3, "late"));
    s.act_on_report(m.id, ac_in, true, None, now).await.unwrap();
    assert_eq!(s.inbox(dist).await.unwrap().len(), 1);
    assert!(s.inbox(ac_in).await.unwrap().is_empty());
    s.act_on_report(m.id, dist, true, Some("ठीक है"), now).await.unwrap();
    let v = s.act_on_report(m.id, div, true, None, now).await.unwrap();
    assert_eq!(v.status, "acknowledged");
    assert!(s.inbox(div).await.unwrap().is_empty());
    let states: Vec<(u32, u32, &str)> = v.route.iter().map(|r| (r.revision, r.level, r.state.as_str())).collect();
    assert_eq!(states, vec![(1, 1, "returned"), (2, 1, "superseded"), (3, 1, "acknowledged"), (3, 2, "acknowledged"), (3, 3, "acknowledged")]);
    assert!(matches!(s.file_report(m.id, &NewReport { attendance: 1, ..rep }, "person:4", now).await, Err(StoreError::Refused(_))));

    // Compliance rolls up exactly: the AC, its district, the state.
    for unit in [ac, "TS-DT-HILL", "TS"] {
        let c = s.compliance(unit, monday, now).await.unwrap().unwrap().unit;
        assert_eq!((c.planned, c.held, c.not_held, c.on_time, c.late, c.missing), (1, 1, 0, 0, 1, 0), "{unit}");
    }
    assert!(s.verify().await.unwrap().is_empty());
}

async fn requests_to_preside_move_up_and_charges_name_who_answers(db: TestDb) {
    let s = mini(&db).await;
    let on = start();
    let booth = s.units_within("TS-AC-1-S01", UnitKind::Booth).await.unwrap().unwrap()[0].code.clone();
    let sector = appoint(&s, 1, Role::SectorIncharge, "TS-AC-1-S01", "party", on).await;
    let ac = appoint(&s, 2, Role::AcIncharge, "TS-AC-1", "party", on).await;
    let dist = appoint(&s, 3, Role::DistrictPresident, "TS-DT-HILL", "party", on).await;
    let booth_pres = appoint(&s, 4, Role::BoothPresident, &booth, "party", on).await;
    let m = s
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: booth.clone(),
                date: clock::today() + Duration::days(5),
                time: chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
                minutes: 60,
                kind: "booth".into(),
                chair: None,
                organiser: Some(booth_pres),
                due_hours: 48,
            },
            "person:4",
        )
        .await
        .unwrap();
    let now = Utc::now();
    // The booth asks: the nearest senior first (the sector in-charge), with a day to answer.
    let rs = s.request_chair(m.id, None, 24, "person:4", now).await.unwrap();
    assert_eq!(rs.iter().map(|r| (r.person_id, r.state.as_str())).collect::<Vec<_>>(), vec![(sector, "pending")]);
    assert!(matches!(s.request_chair(m.id, None, 24, "person:4", now).await, Err(StoreError::Refused(_))), "one pending at a time");
    assert_eq!(s.requests_for(sector).await.unwrap().len(), 1);
    // Declined → the AC in-charge is asked at once; left unanswered → the district president.
    s.answer_request(m.id, sector, false, now).await.unwrap();
    assert!(s.requests_for(sector).await.unwrap().is_empty());
    assert_eq!(s.requests_for(ac).await.unwrap().len(), 1);
    assert_eq!(s.escalate(now + Duration::hours(23)).await.unwrap().requests_moved, 0, "not yet due");
    let run = s.escalate(now + Duration::hours(25)).await.unwrap();
    assert_eq!(run.requests_moved, 1);
    assert!(matches!(s.answer_request(m.id, ac, true, now).await, Err(StoreError::Refused(_))), "expired");
    let v = s.answer_request(m.id, dist, true, now + Duration::hours(26)).await.unwrap();
    assert_eq!(v.chair, Some(dist));
    let states: Vec<(i64, String)> = s.chair_requests(m.id).await.unwrap().into_iter().map(|r| (r.person_id, r.state)).collect();
    assert_eq!(states, vec![(sector, "declined".into()), (ac, "expired".into()), (dist, "accepted".into())]);
    assert!(matches!(s.answer_request(m.id, dist, true, now).await, Err(StoreError::Refused(_))));
    // Each was told (SMS, no email on file), once.
    for p in [sector, ac, dist] {
        let mobile = format!("+91{}", 7_000_000_000u64 + [sector, ac, dist].iter().position(|x| *x == p).unwrap() as u64 + 1);
        let texts = s.outbox(&mobile).await.unwrap();
        assert_eq!(texts.iter().filter(|t| t.contains("preside")).count(), 1, "{mobile}: {texts:?}");
    }

    // Charges: a named person answerable for a district's meetings.
    let c = s.add_charge(dist, "TS-DT-HILL", "meetings", "admin").await.unwrap();
    assert_eq!((c.unit.as_str(), c.what.as_str()), ("TS-DT-HILL", "meetings"));
    assert_eq!(code_of(s.add_charge(dist, "TS-DT-HILL", "parties", "admin").await.unwrap_err()), "bad_charge");
    let member = enrol(&s, &enr("Not A User", Some("9876501234"), None, &booth)).await.unwrap().person_id;
    assert_eq!(code_of(s.add_charge(member, "TS-DT-HILL", "drive", "admin").await.unwrap_err()), "not_a_user");
    assert_eq!(s.charges_of(dist).await.unwrap().len(), 1);
    assert_eq!(s.charges_within("TS-DIV-NORTH").await.unwrap().unwrap().len(), 1);
    assert!(s.charges_within("TS-DIV-SOUTH").await.unwrap().unwrap().is_empty());
    assert!(s.end_charge(c.id).await.unwrap());
    assert!(s.charges_of(dist).await.unwrap().is_empty());
    let bearers = s.office_bearers("TS-AC-1", clock::today()).await.unwrap().unwrap();
    assert_eq!(bearers.iter().map(|b| b.0).collect::<Vec<_>>(), vec![ac]);
}

async fn booth_lists_keep_meeting_counters_exact(db: TestDb) {
    let s = mini(&db).await;
    let m = s
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-2-B0009".into(),
                date: clock::today() - Duration::days(2),
                time: chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                minutes: 60,
                kind: "booth".into(),
                chair: None,
                organiser: None,
                due_hours: 48,
            },
            "admin",
        )
        .await
        .unwrap();
    s.file_report(m.id, &NewReport { held: true, attendance: 12, ..Default::default() }, "admin", Utc::now()).await.unwrap();
    // Booth 9 goes to sector 2, then moves to sector 1: the sectors' counts follow it.
    let day = clock::today() - Duration::days(2);
    let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
    for (last_in_s1, (s1_want, s2_want)) in [(8, (0, 1)), (9, (1, 0))] {
        let list: Vec<BoothRow> = (1..=14)
            .map(|p| BoothRow { ac_no: 2, part_no: p, name: format!("School {p}"), sector: Some(if p <= last_in_s1 { 1 } else { 2 }) })
            .collect();
        s.import_booths(&list).await.unwrap();
        assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
        let c = s.compliance("TS-AC-2", monday, Utc::now()).await.unwrap().unwrap();
        let held = |code: &str| c.children.iter().find(|r| r.code == code).map_or(0, |r| r.held);
        assert_eq!((held("TS-AC-2-S01"), held("TS-AC-2-S02")), (s1_want, s2_want));
        assert_eq!(c.unit.held, 1);
    }
    // A list without the booth that hosted the meeting is refused whole.
    let shorter: Vec<BoothRow> = (1..=8).map(|p| BoothRow { ac_no: 2, part_no: p, name: format!("S {p}"), sector: None }).collect();
    assert!(matches!(s.import_booths(&shorter).await, Err(StoreError::Refused(_))));
    assert!(s.unit("TS-AC-2-B0009").await.unwrap().is_some());
}

async fn talking_points_keep_versions_and_count_uses(db: TestDb) {
    use sangathan_store::meetings::NewPoint;
    let s = mini(&db).await;
    let np = |title: &str, published: bool| NewPoint {
        wing: "employees".into(),
        title: title.into(),
        body_hi: "पुरानी पेंशन योजना पर संगठन का रुख".into(),
        body_en: String::new(),
        audience: vec!["Government Employees".into(), " teachers ".into()],
        published,
    };
    // Bad input names its fields; nothing is written.
    let bad = NewPoint { title: " ".into(), body_hi: String::new(), ..np("x", true) };
    match s.add_point(&bad, "admin").await {
        Err(StoreError::Invalid(i)) => assert_eq!(i.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), vec!["title", "body_hi"]),
        other => panic!("{other:?}"),
    }
    let p = s.add_point(&np("Pension", false), "admin").await.unwrap();
    assert_eq!((p.version, p.status.as_str(), p.audience.clone()), (1, "draft", vec!["government employees".to_string(), "teachers".into()]));
    let emp = s.wings().await.unwrap().into_iter().find(|w| w.code == "employees").unwrap().id;
    let only = Wings::Only(std::collections::BTreeSet::from([emp]));
    assert!(s.points(&only, None, false).await.unwrap().is_empty(), "a draft is not offered");
    let p2 = s.edit_point(p.id, &NewPoint { body_en: "Our stand on the old pension scheme".into(), ..np("Pension scheme", true) }, "person:9").await.unwrap();
    assert_eq!((p2.version, p2.status.as_str()), (2, "published"));
    let versions = s.point_versions(p.id).await.unwrap();
    assert_eq!(versions.iter().map(|v| (v.version, v.title.as_str())).collect::<Vec<_>>(), vec![(1, "Pension"), (2, "Pension scheme")]);
    assert!(matches!(s.edit_point(p.id, &NewPoint { wing: "party".into(), ..np("x", true) }, "admin").await, Err(StoreError::Invalid(_))));
    assert_eq!(s.points(&only, Some("teachers"), false).await.unwrap().len(), 1);
    assert!(s.points(&only, Some("farmers"), false).await.unwrap().is_empty());
    assert!(s.points(&Wings::Only(Default::default()), None, true).await.unwrap().is_empty());

    // On two agendas (attaching twice to one counts once); another wing's meeting refuses it.
    let meet = |wing: &str| NewMeeting {
        wing: wing.into(),
        venue: "TS-AC-1".into(),
        date: clock::today() + Duration::days(3),
        time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        minutes: 60,
        kind: "employees".into(),
        chair: None,
        organiser: None,
        due_hours: 48,
    };
    let m1 = s.add_meeting(&meet("employees"), "admin").await.unwrap();
    let m2 = s.add_meeting(&NewMeeting { date: clock::today() + Duration::days(10), ..meet("employees") }, "admin").await.unwrap();
    let m3 = s.add_meeting(&meet("party"), "admin").await.unwrap();
    s.attach_points(m1.id, &[p.id]).await.unwrap();
    s.attach_points(m1.id, &[p.id]).await.unwrap();
    assert_eq!(s.attach_points(m2.id, &[p.id]).await.unwrap().len(), 1);
    assert_eq!(code_of(s.attach_points(m3.id, &[p.id]).await.unwrap_err()), "unknown_point");
    assert_eq!(s.point(p.id).await.unwrap().unwrap().uses, 2);
    assert_eq!(s.meeting_points(m1.id).await.unwrap()[0].id, p.id);
    assert!(s.verify().await.unwrap().is_empty());
}

// ---- The volunteer force: duties, check-in, activation, follow-ups, bulletins ----

use sangathan_store::volunteers::{NewBulletin, NewDuty, NewProgramme};

/// `n` volunteers (volunteer-wing members) at the first booths of `ac`; their person ids.
async fn volunteers_at(s: &DynStore, ac: u32, n: u32, first_mobile: u64) -> Vec<i64> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut e = enr(&format!("Volunteer {ac} {i}"), Some(&format!("{}", first_mobile + i as u64)), None, &format!("TS-AC-{ac}-B{:04}", i + 1));
        e.wing = "volunteers".into();
        out.push(enrol(s, &e).await.unwrap().person_id);
    }
    out
}

fn at(days: i64, h: u32) -> chrono::DateTime<Utc> {
    let d = clock::today() + Duration::days(days);
    clock::ist().from_local_datetime(&d.and_hms_opt(h, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

fn duty(kind: &str, from: u32, to: u32, headcount: u32) -> NewDuty {
    NewDuty { kind: kind.into(), label: String::new(), starts_at: Some(at(1, from)), ends_at: Some(at(1, to)), headcount, leader: None }
}

async fn rally(s: &DynStore, days: i64) -> sangathan_store::volunteers::Programme {
    let p = NewProgramme {
        wing: "volunteers".into(),
        unit: "TS-DT-HILL".into(),
        venue: "TS-AC-1".into(),
        title: "Jan Sabha at Alpha".into(),
        kind: "jan-sabha".into(),
        starts_at: at(days, 10),
        ends_at: at(days, 14),
        expected: 2000,
    };
    s.add_programme(&p, "admin").await.unwrap()
}

async fn duties_never_double_book_or_exceed_headcount(db: TestDb) {
    let s = mini(&db).await;
    let ac1 = volunteers_at(&s, 1, 6, 9_100_000_000).await;
    let ac2 = volunteers_at(&s, 2, 2, 9_100_000_100).await;
    let far = volunteers_at(&s, 4, 1, 9_100_000_200).await; // another district
    // Bad input names the field; nothing is written.
    let bad = NewProgramme { venue: "TS-AC-4".into(), ..serde_json::from_value(serde_json::json!({
        "wing": "volunteers", "unit": "TS-DT-HILL", "venue": "TS-AC-1", "title": "x", "starts_at": at(1, 10), "ends_at": at(1, 14)})).unwrap() };
    assert_eq!(code_of(s.add_programme(&bad, "admin").await.unwrap_err()), "venue_outside_unit");
    let p = rally(&s, 1).await;
    assert_eq!(code_of(s.add_duty(p.id, &duty("gate", 9, 12, 3)).await.unwrap_err()), "shift_outside_programme");
    assert_eq!(code_of(s.add_duty(p.id, &NewDuty { kind: "gate duty".into(), ..duty("gate", 10, 12, 3) }).await.unwrap_err()), "bad_duty_kind");
    let gate = s.add_duty(p.id, &duty("gate", 10, 12, 3)).await.unwrap();
    let stage = s.add_duty(p.id, &duty("stage", 11, 13, 10)).await.unwrap();
    let water = s.add_duty(p.id, &duty("water", 12, 14, 2)).await.unwrap();
    assert_eq!(gate.label, "Gate");

    // Same AC first, lowest ids; never beyond the headcount.
    let g = s.assign(gate.id, None, "admin", Utc::now()).await.unwrap();
    let on_gate: Vec<i64> = g.people.iter().map(|a| a.person_id).collect();
    assert_eq!(on_gate, ac1[..3].to_vec());
    assert_eq!((g.filled, g.gap), (3, 0));
    // The stage overlaps the gate: the gate's three are not asked; the district's are, the far one is not.
    let st = s.assign(stage.id, None, "admin", Utc::now()).await.unwrap();
    let mut on_stage: Vec<i64> = st.people.iter().map(|a| a.person_id).collect();
    on_stage.sort();
    let mut want: Vec<i64> = ac1[3..].iter().chain(&ac2).copied().collect();
    want.sort();
    assert_eq!(on_stage, want);
    assert_eq!(st.gap, 5);
    assert!(!on_stage.contains(&far[0]));
    // Water starts when the gate ends: the gate's volunteers may serve it (back to back).
    let w = s.assign(water.id, None, "admin", Utc::now()).await.unwrap();
    assert_eq!(w.people.iter().map(|a| a.person_id).collect::<Vec<_>>(), ac1[..2].to_vec());
    // By hand: a full duty, an overlapping shift, a non-volunteer are refused.
    assert_eq!(code_of(s.assign(gate.id, Some(far[0]), "admin", Utc::now()).await.unwrap_err()), "duty_full");
    assert_eq!(code_of(s.assign(stage.id, Some(ac1[0]), "admin", Utc::now()).await.unwrap_err()), "overlapping_shift");
    let member = enrol(&s, &enr("Not A Volunteer", Some("9100000300"), None, "TS-AC-1-B0001")).await.unwrap().person_id;
    assert_eq!(code_of(s.assign(stage.id, Some(member), "admin", Utc::now()).await.unwrap_err()), "not_a_volunteer");
    // A decline frees the place; the refill never asks the decliner again.
    let after = s.answer_duty(water.id, ac1[1], false, Utc::now()).await.unwrap();
    assert_eq!(after.gap, 1);
    assert_eq!(code_of(s.answer_duty(water.id, ac1[1], true, Utc::now()).await.unwrap_err()), "declined");
    let refilled = s.assign(water.id, None, "admin", Utc::now()).await.unwrap();
    let taken: Vec<i64> = refilled.people.iter().filter(|a| a.status != "declined").map(|a| a.person_id).collect();
    assert_eq!(taken, vec![ac1[0], ac1[2]]);
    assert_eq!(code_of(s.assign(water.id, Some(ac1[1]), "admin", Utc::now()).await.unwrap_err()), "duty_full");
    s.answer_duty(gate.id, ac1[0], true, Utc::now()).await.unwrap();
    // Unavailable that day: not asked; another district: out of reach.
    s.set_volunteer_unavailable(ac2[1], clock::today(), clock::today() + Duration::days(2)).await.unwrap();
    let extra = s.add_duty(p.id, &duty("parking", 10, 14, 5)).await.unwrap();
    assert_eq!(code_of(s.assign(extra.id, Some(ac2[1]), "admin", Utc::now()).await.unwrap_err()), "unavailable");
    assert_eq!(code_of(s.assign(extra.id, Some(far[0]), "admin", Utc::now()).await.unwrap_err()), "out_of_reach");
    // Two fills at once never put more than the headcount on a duty.
    let late = s.add_duty(p.id, &duty("first-aid", 13, 14, 2)).await.unwrap();
    let (a, b) = tokio::join!(s.assign(late.id, None, "admin", Utc::now()), s.assign(late.id, None, "admin", Utc::now()));
    a.unwrap();
    b.unwrap();
    assert_eq!(s.duty(late.id).await.unwrap().unwrap().filled, 2);
    // Everyone asked was told, once.
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM outbox WHERE idem_key LIKE 'duty:%'").await, scalar(&db, "SELECT COUNT(*) FROM duty_assignments").await);
    let r = s.roster(p.id).await.unwrap().unwrap();
    assert_eq!(r.duties.len(), 5);
    assert_eq!(r.programme.places, 3 + 10 + 2 + 5 + 2);
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
    // Tampering with a roster behind the store's back is caught.
    exec(&db, "UPDATE duties SET headcount = 1 WHERE kind = 'gate'").await;
    assert!(s.verify().await.unwrap().iter().any(|m| m.what.contains("headcount")));
}

async fn checkins_count_once_and_activation_rolls_up(db: TestDb) {
    let s = mini(&db).await;
    let ac1 = volunteers_at(&s, 1, 3, 9_200_000_000).await;
    let ac2 = volunteers_at(&s, 2, 1, 9_200_000_100).await;
    let p = rally(&s, 0).await;
    let d = s.add_duty(p.id, &NewDuty { kind: "gate".into(), label: "Gate 1".into(), starts_at: None, ends_at: None, headcount: 2, leader: Some(ac1[2]) }).await.unwrap();
    s.assign(d.id, None, "admin", Utc::now()).await.unwrap();
    let code = s.checkin_code(ac1[0]).await.unwrap();
    assert_eq!(s.checkin_code(ac1[0]).await.unwrap(), code, "one code per volunteer");
    let now = p.starts_at + Duration::minutes(30);
    let first = s.check_in(p.id, &code.to_lowercase(), None, "admin", now).await.unwrap();
    assert!(!first.already);
    assert_eq!(first.duties, vec!["Gate 1".to_string()]);
    // The same scan again (a retried queue, a double tap) is the same one check-in.
    let again = s.check_in(p.id, &format!("SGV:{code}"), Some(now + Duration::minutes(5)), "admin", now + Duration::minutes(6)).await.unwrap();
    assert!(again.already);
    assert_eq!(again.in_at, first.in_at);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM checkins").await, 1);
    // Not on this programme's roster, unknown, or outside the window: refused, nothing written.
    let other = s.checkin_code(ac2[0]).await.unwrap();
    assert_eq!(code_of(s.check_in(p.id, &other, None, "admin", now).await.unwrap_err()), "not_on_roster");
    assert_eq!(code_of(s.check_in(p.id, "ZZZZZ2", None, "admin", now).await.unwrap_err()), "unknown_code");
    let c1 = s.checkin_code(ac1[1]).await.unwrap();
    assert_eq!(code_of(s.check_in(p.id, &c1, Some(p.starts_at - Duration::hours(9)), "admin", now).await.unwrap_err()), "outside_programme");
    let out = s.check_out(p.id, &code, None, now + Duration::hours(3)).await.unwrap();
    assert!(out.out_at.is_some());
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM checkins").await, 1);
    let sum = s.programme_summary(p.id).await.unwrap().unwrap();
    assert_eq!((sum.checked_in, sum.duties[0].present, sum.duties[0].no_shows.len()), (1, 1, 1));
    s.add_incident(p.id, "medium", "Crowd pushed at gate 1", "admin", now).await.unwrap();
    assert_eq!(code_of(s.add_incident(p.id, "huge", "x", "admin", now).await.unwrap_err()), "bad_severity");
    assert_eq!(s.programme_summary(p.id).await.unwrap().unwrap().incidents.len(), 1);

    // Activation: the one who checked in is active; the rest of the cadre is not.
    let a = s.activation("TS-AC-1", 30, Utc::now()).await.unwrap().unwrap();
    assert_eq!((a.unit.cadre, a.unit.active), (3, 1));
    let state = s.activation("TS", 30, Utc::now()).await.unwrap().unwrap();
    assert_eq!((state.unit.cadre, state.unit.active), (4, 1));
    for level in ["TS", "TS-DIV-NORTH", "TS-DT-HILL", "TS-AC-1", "TS-AC-1-S01"] {
        let x = s.activation(level, 30, Utc::now()).await.unwrap().unwrap();
        let (c, act) = x.children.iter().fold((0, 0), |acc, r| (acc.0 + r.cadre, acc.1 + r.active));
        assert_eq!((c, act), (x.unit.cadre, x.unit.active), "{level} rolls up exactly");
    }
    // A volunteer enrolling a member becomes active too.
    let mut ctx2 = ctx();
    ctx2.actor = format!("person:{}", ac2[0]);
    s.enrol(&enr("New Member", Some("9200000500"), None, "TS-AC-2-B0003"), &ctx2, "k-act-1").await.unwrap();
    assert_eq!(s.activation("TS", 30, Utc::now()).await.unwrap().unwrap().unit.active, 2);
    assert_eq!(s.activation("TS", 30, Utc::now() + Duration::days(31)).await.unwrap().unwrap().unit.active, 0);
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
    exec(&db, "DELETE FROM activity WHERE source = 'checkin'").await;
    assert!(s.verify().await.unwrap().iter().any(|m| m.what.contains("checkin activity")));
}

async fn followups_and_bulletins(db: TestDb) {
    let s = mini(&db).await;
    let vols = volunteers_at(&s, 1, 4, 9_300_000_000).await;
    let on = clock::today() - Duration::days(1);
    let commander = appoint(&s, 1, Role::VolunteerCommander, "TS-AC-1", "volunteers", on).await;
    // Follow-ups: the inactive cadre, once each while open.
    let made = s.make_followups("TS-AC-1", vols[0], 3, 30, "admin", Utc::now()).await.unwrap();
    assert_eq!(made.len(), 3);
    assert!(made.iter().all(|f| f.person_id != vols[0] && f.outcome.is_none()));
    assert_eq!(made[0].whatsapp.as_deref().map(|w| w.starts_with("https://wa.me/91")), Some(true));
    let more = s.make_followups("TS-AC-1", vols[0], 10, 30, "admin", Utc::now()).await.unwrap();
    let mut everyone: Vec<i64> = made.iter().chain(&more).map(|f| f.person_id).collect();
    everyone.sort();
    everyone.dedup();
    assert_eq!(everyone.len(), made.len() + more.len(), "nobody gets two open follow-ups");
    let f = s.followup_outcome(made[0].id, "will_come", "Call on Sunday", "", Utc::now()).await.unwrap();
    assert_eq!(f.outcome.as_deref(), Some("will_come"));
    assert_eq!(code_of(s.followup_outcome(made[0].id, "maybe", "", "", Utc::now()).await.unwrap_err()), "bad_outcome");
    assert_eq!(s.followups_of(vols[0]).await.unwrap().len(), made.len() + more.len());
    assert_eq!(s.followups_within("TS-AC-1", true).await.unwrap().unwrap().len(), made.len() + more.len() - 1);

    // Bulletins: to the district, to a wing, read once per reader.
    let post = |unit: &str, wing: Option<&str>, title: &str| NewBulletin {
        unit: unit.into(),
        wing: wing.map(Into::into),
        title: title.into(),
        body_hi: Some("रविवार को जन सभा है".into()),
        body_en: None,
        pinned: false,
    };
    assert_eq!(code_of(s.post_bulletin(&NewBulletin { body_hi: None, ..post("TS-DT-HILL", None, "x") }, Some(commander), "person", Utc::now()).await.unwrap_err()), "required");
    let b = s.post_bulletin(&post("TS-DT-HILL", None, "Jan sabha"), Some(commander), &format!("person:{commander}"), Utc::now()).await.unwrap();
    let emp = s.post_bulletin(&post("TS", Some("employees"), "For employees"), None, "admin", Utc::now()).await.unwrap();
    let far = volunteers_at(&s, 4, 1, 9_300_000_100).await;
    let reader = s.reader(vols[1], clock::today()).await.unwrap();
    let far_reader = s.reader(far[0], clock::today()).await.unwrap();
    assert_eq!(s.unread_bulletins(&reader).await.unwrap(), 1, "the employees' bulletin is not theirs");
    assert!(s.read_bulletin(emp.id, &reader, Utc::now()).await.unwrap().is_none());
    assert!(s.read_bulletin(b.id, &far_reader, Utc::now()).await.unwrap().is_none(), "another district's reader");
    let r1 = s.read_bulletin(b.id, &reader, Utc::now()).await.unwrap().unwrap();
    let r2 = s.read_bulletin(b.id, &reader, Utc::now()).await.unwrap().unwrap();
    assert_eq!((r1.views, r2.views, r2.read), (1, 1, true));
    let other = s.reader(vols[2], clock::today()).await.unwrap();
    let (x, y) = tokio::join!(s.read_bulletin(b.id, &other, Utc::now()), s.read_bulletin(b.id, &other, Utc::now()));
    x.unwrap();
    y.unwrap();
    assert_eq!(s.bulletin(b.id).await.unwrap().unwrap().views, 2);
    assert_eq!(s.unread_bulletins(&reader).await.unwrap(), 0);
    // Comments; a hidden one disappears for readers and stays, with why, for moderators.
    let k1 = s.add_comment(b.id, vols[1], "हम आएंगे", Utc::now()).await.unwrap();
    let k2 = s.add_comment(b.id, vols[2], "spam spam", Utc::now()).await.unwrap();
    assert_eq!(code_of(s.add_comment(b.id, vols[2], "  ", Utc::now()).await.unwrap_err()), "required");
    s.hide_comment(b.id, k2.id, "Off topic", &format!("person:{commander}"), Utc::now()).await.unwrap();
    assert_eq!(s.comments(b.id, false).await.unwrap().iter().map(|k| k.id).collect::<Vec<_>>(), vec![k1.id]);
    let all = s.comments(b.id, true).await.unwrap();
    assert_eq!(all.iter().find(|k| k.id == k2.id).unwrap().hidden_reason.as_deref(), Some("Off topic"));
    assert_eq!(s.bulletin(b.id).await.unwrap().unwrap().comments, 1);
    let feed = s.bulletins_for(&reader, 20).await.unwrap();
    assert_eq!(feed.iter().map(|b| b.id).collect::<Vec<_>>(), vec![b.id]);
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
    exec(&db, "UPDATE bulletins SET views = 7").await;
    assert!(s.verify().await.unwrap().iter().any(|m| m.what.contains("views")));
}

// ---- Verification: states, counters, codes, the queue ----

async fn outbox_code(db: &TestDb) -> String {
    use sqlx::Connection;
    let sql = "SELECT body FROM outbox WHERE idem_key LIKE 'verify:%' ORDER BY id DESC LIMIT 1";
    let body: String = if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    };
    let at = body.find("कोड: ").unwrap() + "कोड: ".len();
    body[at..at + 6].to_string()
}

async fn membership_id(db: &TestDb, person: i64) -> i64 {
    use sqlx::Connection;
    let sql = "SELECT id FROM memberships WHERE person_id = $1 ORDER BY id LIMIT 1";
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(person).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar(sql).bind(person).fetch_one(&mut c).await.unwrap()
    }
}

/// The party wing's "verified-drive" campaign, begun `days_before` today, which counts verified
/// members (a new campaign's default).
fn verified_drive(days_before: i64) -> NewCampaign {
    NewCampaign {
        code: "verified-drive".into(),
        name: "Verified drive".into(),
        name_hi: "सत्यापित अभियान".into(),
        wing: "party".into(),
        start_date: clock::today() - Duration::days(days_before),
        end_date: clock::today() + Duration::days(20),
        target_per_ac: 100,
        counts: None,
        verify_by: None,
    }
}

async fn verification_moves_counters_exactly(db: TestDb) {
    let s = mini(&db).await;
    let mut ids = Vec::new();
    for (i, booth) in ["TS-AC-1-B0001", "TS-AC-1-B0002", "TS-AC-1-B0003", "TS-AC-1-B0004", "TS-AC-2-B0001"].iter().enumerate() {
        let p = enrol(&s, &enr(&format!("Member {i}"), Some(&format!("98300000{i:02}")), None, booth)).await.unwrap().person_id;
        ids.push(membership_id(&db, p).await);
    }
    let figures = |p: sangathan_store::Progress| (p.unit.achieved, p.unit.verified);
    let ac = |s: DynStore| async move { figures(s.progress("TS-AC-1", None, clock::today()).await.unwrap().unwrap()) };
    assert_eq!(ac(s.clone()).await, (4, 0));
    // Verify one; reject one (a reason is required); nothing half-done on a bad move.
    let v = s.set_status(&[ids[0]], "verified", None, "person:1", Utc::now()).await.unwrap();
    assert_eq!((v.changed, v.memberships[0].verified_on), (1, Some(clock::today())));
    assert_eq!(code_of(s.set_status(&[ids[1]], "rejected", Some(" "), "person:1", Utc::now()).await.unwrap_err()), "reason_required");
    s.set_status(&[ids[1]], "rejected", Some("No such voter at the address"), "person:1", Utc::now()).await.unwrap();
    assert_eq!(ac(s.clone()).await, (3, 1));
    assert_eq!(code_of(s.set_status(&[ids[2], ids[0]], "pending", None, "person:1", Utc::now()).await.unwrap_err()), "bad_transition");
    // A batch is all or nothing: one bad move, none made.
    assert_eq!(code_of(s.set_status(&[ids[2], ids[1]], "lapsed", None, "x", Utc::now()).await.unwrap_err()), "bad_transition");
    assert_eq!(ac(s.clone()).await, (3, 1));
    // A flagged batch rejected at once: counters move exactly; the same again changes nothing.
    let r = s.set_status(&[ids[0], ids[2]], "rejected", Some("fake pattern"), "person:1", Utc::now()).await.unwrap();
    assert_eq!((r.changed, r.unchanged), (2, 0));
    assert_eq!(ac(s.clone()).await, (1, 0));
    assert_eq!(s.set_status(&[ids[0], ids[2]], "rejected", Some("again"), "x", Utc::now()).await.unwrap().changed, 0);
    // Found genuine after all: back to verified, counted again.
    s.set_status(&[ids[0]], "verified", None, "person:1", Utc::now()).await.unwrap();
    assert_eq!(ac(s.clone()).await, (2, 1));
    let state = s.progress("TS", None, clock::today()).await.unwrap().unwrap();
    assert_eq!((state.unit.achieved, state.unit.verified), (3, 1));
    assert_eq!(state.children.iter().map(|c| c.verified).sum::<i64>(), 1);
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
    exec(&db, "UPDATE unit_counters SET verified = verified + 1 WHERE unit_id = (SELECT id FROM units WHERE code = 'TS')").await;
    assert!(s.verify().await.unwrap().iter().any(|m| m.what.starts_with("verified") && m.unit == "TS"));
    exec(&db, "UPDATE unit_counters SET verified = verified - 1 WHERE unit_id = (SELECT id FROM units WHERE code = 'TS')").await;

    // A campaign driven by verified members paces by verifications.
    s.create_campaign(&verified_drive(10)).await.unwrap();
    let p = s.progress("TS-AC-1", Some("verified-drive"), clock::today()).await.unwrap().unwrap();
    assert_eq!((p.unit.achieved, p.unit.verified, p.unit.last_7_days, p.unit.needed), (2, 1, 1, 99));

    // The queue: pending members in scope, oldest first.
    let q = s.verification_queue("TS-AC-1", &Wings::All, 0, 50).await.unwrap().unwrap();
    assert_eq!(q.iter().map(|m| m.membership_id).collect::<Vec<_>>(), vec![ids[3]]);
    assert_eq!(q[0].mobile_tail.as_deref(), Some("0003"));
    assert!(s.verification_queue("TS-AC-2", &Wings::All, 0, 50).await.unwrap().unwrap().iter().all(|m| m.unit.starts_with("TS-AC-2")));

    // Codes: wrong tries count, the right code verifies exactly once, codes expire.
    let token = s.send_verification_code(ids[3], Utc::now()).await.unwrap();
    let code = outbox_code(&db).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(code_of(s.confirm_verification_code(ids[3], wrong, "person:1", Utc::now()).await.unwrap_err()), "wrong_code");
    let ok = s.confirm_verification_code(ids[3], &code, "person:1", Utc::now()).await.unwrap();
    assert_eq!(ok.status, "verified");
    assert_eq!(code_of(s.confirm_verification_code(ids[3], &code, "person:1", Utc::now()).await.unwrap_err()), "not_pending");
    assert!(matches!(s.confirm_by_link(&token, &code, Utc::now()).await, Err(StoreError::Invalid(_))));
    s.send_verification_code(ids[4], Utc::now()).await.unwrap();
    let code = outbox_code(&db).await;
    assert_eq!(code_of(s.confirm_verification_code(ids[4], &code, "x", Utc::now() + Duration::hours(49)).await.unwrap_err()), "code_expired");
    let token = s.send_verification_code(ids[4], Utc::now()).await.unwrap();
    let code = outbox_code(&db).await;
    for _ in 0..5 {
        let _ = s.confirm_verification_code(ids[4], wrong, "x", Utc::now()).await;
    }
    assert_eq!(code_of(s.confirm_by_link(&token, &code, Utc::now()).await.unwrap_err()), "too_many_attempts");
    let token = s.send_verification_code(ids[4], Utc::now()).await.unwrap();
    let code = outbox_code(&db).await;
    assert_eq!(s.confirm_by_link(&token, &code, Utc::now()).await.unwrap().status, "verified");
    assert_eq!(code_of(s.send_verification_code(ids[4], Utc::now()).await.unwrap_err()), "not_pending");
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
}

async fn merges_carry_verified_counts(db: TestDb) {
    let s = mini(&db).await;
    let a = enrol(&s, &enr("Ramesh Kumar", Some("9830001111"), None, "TS-AC-1-B0001")).await.unwrap().person_id;
    let b = enrol(&s, &enr("Ramesh K", Some("9830002222"), None, "TS-AC-1-B0002")).await.unwrap().person_id;
    let mb = membership_id(&db, b).await;
    s.set_status(&[mb], "verified", None, "x", Utc::now()).await.unwrap();
    let v = |s: DynStore| async move { s.progress("TS", None, clock::today()).await.unwrap().unwrap().unit.verified };
    assert_eq!(v(s.clone()).await, 1);
    let m = s.merge(b, a, "admin").await.unwrap();
    assert_eq!(v(s.clone()).await, 0, "the merged record's verified membership is cancelled");
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
    s.unmerge(m.merge_id, "admin").await.unwrap();
    assert_eq!(v(s.clone()).await, 1);
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
}

async fn enrol_as(s: &DynStore, who: &str, at: chrono::DateTime<Utc>, e: &Enrolment) -> i64 {
    let mut c = ctx();
    c.actor = who.into();
    c.at = at;
    let key = uuid::Uuid::new_v4().to_string();
    s.enrol(e, &c, &key).await.unwrap().outcome.person_id
}

async fn each_rule_fires_on_its_case_and_stays_quiet_otherwise(db: TestDb) {
    use sangathan_core::detection::Thresholds;
    let s = mini(&db).await;
    // Small enrollers are read once and sorted in memory; every second backend run streams
    // them instead (the path for enrollers with very many members): the same flags either way.
    let in_memory_max = if db.url.starts_with("sqlite:") { 500_000 } else { 0 };
    let t = Thresholds { rate_min: 5, address_max: 4, hourly_max: 11, in_memory_max, ..Thresholds::default() };
    let now = Utc::now();
    let hour = |h: i64| now - Duration::days(3) + Duration::hours(h);
    // Honest workers: three at AC 1, a few members each, random-looking numbers, no addresses.
    let mut honest = Vec::new();
    for (w, n) in [("w1", 3), ("w2", 4), ("w3", 3)] {
        for i in 0..n {
            let m = format!("98{:08}", (13_579_111u64 * (i + 1) + w.len() as u64 * 7_777 + n as u64 * 31) % 100_000_000);
            honest.push(enrol_as(&s, w, hour(i as i64), &enr(&format!("{w} Member {i}"), Some(&m), None, &format!("TS-AC-1-B{:04}", i + 1))).await);
        }
    }
    // A padding enroller: twelve members, consecutive mobiles, five to an address, one booth.
    for i in 0..12u64 {
        let mut e = enr(&format!("Padded Person {i}"), Some(&format!("{}", 9_100_000_001u64 + i)), None, "TS-AC-1-B0007");
        e.address = Some(format!("House {}", i / 5 + 1));
        enrol_as(&s, "padder", hour(5) + Duration::minutes(i as i64), &e).await;
    }
    // EPIC serials in a run; one name six times in a booth; one enroller in two districts.
    for i in 0..5 {
        enrol_as(&s, "epics", hour(6), &enr(&format!("Epic Holder {i}"), None, Some(&format!("XYZ00000{}", 11 + i)), "TS-AC-2-B0001")).await;
    }
    for i in 0..6 {
        enrol_as(&s, &format!("n{i}"), hour(7), &enr("Ram Kumar", Some(&format!("97{:08}", (24_681_357u64 * (i + 2)) % 100_000_000)), None, "TS-AC-3-B0001")).await;
    }
    enrol_as(&s, "roamer", hour(8), &enr("Roamer One", Some("9600011111"), None, "TS-AC-1-B0002")).await;
    enrol_as(&s, "roamer", hour(8) + Duration::minutes(5), &enr("Roamer Two", Some("9600022222"), None, "TS-AC-4-B0002")).await;
    // Codes sent eight days ago and never confirmed, for five members of one enroller.
    for i in 0..5 {
        let p = enrol_as(&s, "silent", hour(9), &enr(&format!("Silent {i}"), Some(&format!("95{:08}", (11_223_344u64 * (i + 3)) % 100_000_000)), None, "TS-AC-2-B0002")).await;
        s.send_verification_code(membership_id(&db, p).await, now - Duration::days(8)).await.unwrap();
    }
    // A careless (or dishonest) enroller: six of the ten members checked were rejected, where
    // the AC's other enrollers had none rejected.
    let mut sloppy = Vec::new();
    for i in 0..10u64 {
        let m = format!("93{:08}", (31_415_926u64 * (i + 5)) % 100_000_000);
        let p = enrol_as(&s, "sloppy", hour(11) + Duration::minutes(7 * i as i64), &enr(&format!("Sloppy Entry {i}"), Some(&m), None, &format!("TS-AC-1-B{:04}", i % 4 + 1))).await;
        sloppy.push(membership_id(&db, p).await);
    }
    s.set_status(&sloppy[..6], "rejected", Some("nobody of that name at the address"), "person:1", now).await.unwrap();
    s.set_status(&sloppy[6..], "verified", None, "person:1", now).await.unwrap();
    let mut honest_ms = Vec::new();
    for p in &honest {
        honest_ms.push(membership_id(&db, *p).await);
    }
    s.set_status(&honest_ms, "verified", None, "person:1", now).await.unwrap();
    let run = s.detect(&t, now).await.unwrap();
    assert_eq!(run.new_memberships, 10 + 12 + 5 + 6 + 2 + 5 + 10);
    let flags = s.flags_within("TS", true).await.unwrap().unwrap();
    let mut rules: Vec<&str> = flags.iter().map(|f| f.rule.as_str()).collect();
    rules.sort();
    assert_eq!(
        rules,
        ["epic_run", "far_apart", "hourly_rate", "number_run", "padding", "rejections", "repeated_name", "shared_address", "shared_address", "unconfirmed"],
        "{flags:#?}"
    );
    let hourly = flags.iter().find(|f| f.rule == "hourly_rate").unwrap();
    assert_eq!(hourly.members.len(), 12, "the padder's busiest hour");
    assert!(hourly.members.iter().all(|m| m.enrolled_by == "padder"));
    let rej = flags.iter().find(|f| f.rule == "rejections").unwrap();
    assert!(rej.reason.contains("6 of the 10"), "{}", rej.reason);
    assert_eq!(rej.members.len(), 6, "the rejected ones (none of theirs is still pending)");
    assert!(flags.iter().all(|f| f.members.iter().all(|m| !honest_ms.contains(&m.membership_id))), "no honest member is flagged");
    assert!(flags.iter().all(|f| !f.reason.is_empty() && !f.reason_hi.is_empty()));
    // A flag is scoped: AC 4 sees the roamer, not AC 1's padding.
    assert!(s.flags_within("TS-AC-4", true).await.unwrap().unwrap().iter().all(|f| f.rule != "padding"));
    // Again with nothing new: nothing raised twice.
    let again = s.detect(&t, now).await.unwrap();
    assert_eq!((again.new_memberships, again.flags_raised), (0, 0));

    // Found fake: the padding flag's members are rejected together, counters exact.
    let pad = flags.iter().find(|f| f.rule == "padding").unwrap();
    let before = s.progress("TS-AC-1", None, clock::today()).await.unwrap().unwrap().unit.achieved;
    assert_eq!(code_of(s.resolve_flag(pad.id, true, " ", "person:1", now).await.unwrap_err()), "reason_required");
    let done = s.resolve_flag(pad.id, true, "nobody lives at these houses", "person:1", now).await.unwrap();
    assert_eq!(done.status, "fake");
    assert!(done.members.iter().all(|m| m.status == "rejected"));
    let after = s.progress("TS-AC-1", None, clock::today()).await.unwrap().unwrap().unit.achieved;
    assert_eq!(after, before - 12);
    assert_eq!(code_of(s.resolve_flag(pad.id, false, "", "x", now).await.unwrap_err()), "flag_resolved");
    // Found genuine: nothing moves; resolved flags are not raised again.
    let names = flags.iter().find(|f| f.rule == "repeated_name").unwrap();
    s.resolve_flag(names.id, false, "a common name; checked", "person:1", now).await.unwrap();
    enrol_as(&s, "n9", hour(10), &enr("Ram Kumar", Some("9712121212"), None, "TS-AC-3-B0001")).await;
    s.detect(&t, now).await.unwrap();
    assert!(s.flags_within("TS-AC-3", true).await.unwrap().unwrap().is_empty());
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
}

/// Corrections: listed by subtree and wing; applied through the enrolment's checks and the
/// identity rules (a refusal writes nothing and leaves the request open); declined; decided once.
async fn corrections_are_listed_in_scope_and_applied_through_the_identity_rules(db: TestDb) {
    use sangathan_store::corrections::Reviewer;
    let s = mini(&db).await;
    let sita = enrol(&s, &enr("Sita Devi", Some("9811100011"), Some("SIT1234567"), "TS-AC-1-B0001")).await.unwrap().person_id;
    let gita = enrol(&s, &enr("Gita Devi", Some("9811100011"), Some("GIT7654321"), "TS-AC-1-B0001")).await.unwrap().person_id;
    let ravi = enrol(&s, &enr("Ravi Kumar", Some("9811100022"), None, "TS-AC-4")).await.unwrap().person_id;
    let ask = |p: i64, f: &'static str, v: &'static str| {
        let s = s.clone();
        async move { s.request_correction(p, f, v).await.unwrap() }
    };
    let clash_name = ask(sita, "name", "Gita  Devi").await;
    let clash_epic = ask(sita, "epic", "git 7654321").await;
    let young = ask(sita, "birth_year", "2020").await;
    let bad_mobile = ask(sita, "mobile", "12345").await;
    let rename = ask(sita, "name", "  Sita Kumari ").await;
    let remobile = ask(sita, "mobile", "+91 98222 22222").await;
    let gender = ask(sita, "gender", "महिला").await;
    let year = ask(sita, "birth_year", "१९७५").await;
    let address = ask(gita, "address", "Ward 5").await;
    let elsewhere = ask(ravi, "address", "Lake road").await;

    // Scope: the subtree, and only through memberships in the wings given.
    let ids = |v: Vec<sangathan_store::CorrectionRequest>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let ac1 = ids(s.open_corrections("TS-AC-1", &Wings::All, 0, 100).await.unwrap().unwrap());
    assert_eq!(ac1, vec![clash_name, clash_epic, young, bad_mobile, rename, remobile, gender, year, address]);
    assert_eq!(ids(s.open_corrections("TS-AC-4", &Wings::All, 0, 100).await.unwrap().unwrap()), vec![elsewhere]);
    assert_eq!(ids(s.open_corrections("TS", &Wings::All, rename, 100).await.unwrap().unwrap()), vec![remobile, gender, year, address, elsewhere]);
    let wings = s.wings().await.unwrap();
    let party = wings.iter().find(|w| w.code == "party").unwrap().id;
    let other = wings.iter().find(|w| w.code != "party").unwrap().id;
    assert_eq!(s.open_corrections("TS-AC-1", &Wings::Only([party].into()), 0, 100).await.unwrap().unwrap().len(), 9);
    assert!(s.open_corrections("TS-AC-1", &Wings::Only([other].into()), 0, 100).await.unwrap().unwrap().is_empty());
    assert!(s.open_corrections("TS-AC-99", &Wings::All, 0, 100).await.unwrap().is_none());
    assert_eq!(ids(s.corrections_of(gita).await.unwrap()), vec![address]);
    let shown = s.correction(remobile).await.unwrap().unwrap();
    assert_eq!((shown.field.as_str(), shown.current.as_deref(), shown.value.as_str()), ("mobile", Some("+919811100011"), "+91 98222 22222"));

    // Refusals: a field error in both languages; nothing written; the request stays open.
    let before = s.member(sita).await.unwrap().unwrap();
    for (id, field, code) in [
        (clash_name, "name", "identity_conflict"),
        (clash_epic, "epic", "identity_conflict"),
        (young, "birth_year", "under_18"),
        (bad_mobile, "mobile", "invalid_mobile"),
    ] {
        match s.apply_correction(id, &Reviewer::default(), clock::now()).await {
            Err(StoreError::Invalid(i)) => {
                assert_eq!(i.code(), code, "{i:?}");
                assert_eq!(i.0[0].field, field);
                assert!(!i.0[0].hi.is_empty() && !i.0[0].en.is_empty());
            }
            other => panic!("{field}: {other:?}"),
        }
        assert!(s.correction(id).await.unwrap().unwrap().resolved_at.is_none());
    }
    assert_eq!(s.member(sita).await.unwrap().unwrap(), before);

    // Applied: the name trimmed and NFC (and found by search), the mobile as E.164, the
    // gender and the birth year as enrolment parses them.
    for id in [rename, remobile, gender, year] {
        assert!(s.apply_correction(id, &Reviewer::default(), clock::now()).await.unwrap().resolved_at.is_some());
    }
    let now = s.member(sita).await.unwrap().unwrap();
    assert_eq!(now.name, "Sita Kumari");
    assert_eq!(now.mobile.as_deref(), Some("+919822222222"));
    assert_eq!(now.gender.as_deref(), Some("F"));
    assert_eq!(now.birth_year, Some(1975));
    assert_eq!(now.epic.as_deref(), Some("SIT1234567"));
    let found = s.search("TS-AC-1", "kumari", &Wings::All, 0, 10).await.unwrap().unwrap();
    assert!(found.members.iter().any(|m| m.person_id == sita), "{found:?}");
    // The old mobile no longer finds her; the new one does.
    assert_eq!(s.people_on_mobile("+919811100011").await.unwrap(), vec![gita]);
    assert_eq!(s.people_on_mobile("+919822222222").await.unwrap(), vec![sita]);
    // Now that she left Gita's mobile, the name that clashed there no longer does.
    assert!(s.apply_correction(clash_name, &Reviewer::default(), clock::now()).await.is_ok());
    assert_eq!(s.member(sita).await.unwrap().unwrap().name, "Gita  Devi");

    // Declined: closed, nothing changed; a decided request is not decided again.
    let d = s.decline_correction(address, clock::now()).await.unwrap();
    assert!(d.resolved_at.is_some());
    assert_eq!(s.member(gita).await.unwrap().unwrap().address, None);
    assert_eq!(code_of(s.apply_correction(address, &Reviewer::default(), clock::now()).await.unwrap_err()), "correction_decided");
    assert_eq!(code_of(s.decline_correction(rename, clock::now()).await.unwrap_err()), "correction_decided");
    assert!(matches!(s.apply_correction(999_999, &Reviewer::default(), clock::now()).await, Err(StoreError::NotFound)));
    assert_eq!(ids(s.open_corrections("TS-AC-1", &Wings::All, 0, 100).await.unwrap().unwrap()), vec![clash_epic, young, bad_mobile]);

    let names = s.people_names(&[sita, gita, 999_999]).await.unwrap();
    assert_eq!(names.get(&gita).map(String::as_str), Some("Gita Devi"));
    assert_eq!(names.len(), 2);
}

/// Users log in with the mobile on their person record (a one-time code to it is enough), so a
/// correction never hands over a login: only a state admin changes a user's mobile, never onto a
/// mobile another user logs in with, and nobody applies a correction they asked for.
async fn corrections_never_hand_over_a_login(db: TestDb) {
    use sangathan_store::corrections::Reviewer;
    let s = mini(&db).await;
    let on = start();
    let admin = appoint(&s, 61, Role::StateAdmin, "TS", "party", on).await;
    let other_admin = appoint(&s, 62, Role::StateAdmin, "TS", "party", on).await;
    let ac = appoint(&s, 63, Role::AcIncharge, "TS-AC-1", "party", on).await;
    let colleague = appoint(&s, 64, Role::AcIncharge, "TS-AC-1", "party", on).await;
    let member = enrol(&s, &enr("Lata Devi", Some("9811100031"), None, "TS-AC-1-B0001")).await.unwrap().person_id;
    let by = |p: i64, state_admin: bool| Reviewer { person_id: Some(p), state_admin };
    let login = |m: &'static str| {
        let s = s.clone();
        async move { s.user_by_mobile(m).await.unwrap().map(|u| u.person_id) }
    };
    let refused = |r: Result<sangathan_store::CorrectionRequest, StoreError>, field: &str, code: &str| match r {
        Err(StoreError::Invalid(i)) => {
            assert_eq!((i.code(), i.0[0].field.as_str()), (code, field), "{i:?}");
            assert!(!i.0[0].en.is_empty() && !i.0[0].hi.is_empty());
        }
        other => panic!("{code}: {other:?}"),
    };

    // The takeover: an AC in-charge asks for the state admin's mobile to become their own SIM.
    let takeover = s.file_correction(admin, "mobile", "98111 99999", Some(ac)).await.unwrap();
    refused(s.apply_correction(takeover, &by(ac, false), clock::now()).await, "correction", "own_correction");
    refused(s.apply_correction(takeover, &by(colleague, false), clock::now()).await, "mobile", "user_mobile");
    refused(s.apply_correction(takeover, &Reviewer::default(), clock::now()).await, "mobile", "user_mobile");
    assert_eq!(login("+917000000061").await, Some(admin), "the state admin still logs in with their mobile");
    assert_eq!(login("+919811199999").await, None);
    assert!(s.correction(takeover).await.unwrap().unwrap().resolved_at.is_none());
    // A state admin does not apply what they asked for either.
    let own = s.file_correction(member, "address", "Ward 7", Some(other_admin)).await.unwrap();
    refused(s.apply_correction(own, &by(other_admin, true), clock::now()).await, "correction", "own_correction");
    assert!(s.apply_correction(own, &by(admin, true), clock::now()).await.is_ok());
    // One login per mobile: not even a state admin moves a user onto another user's mobile.
    let onto_user = s.file_correction(admin, "mobile", "7000000063", Some(member)).await.unwrap();
    refused(s.apply_correction(onto_user, &by(other_admin, true), clock::now()).await, "mobile", "mobile_has_user");
    assert_eq!(login("+917000000063").await, Some(ac));
    // A state admin may move a user to a fresh mobile: the login moves with it.
    assert!(s.apply_correction(takeover, &by(other_admin, true), clock::now()).await.is_ok());
    assert_eq!(login("+919811199999").await, Some(admin));
    assert_eq!(login("+917000000061").await, None);
    // A member without a login may join a user's mobile (a household): the login stays the user's.
    let household = s.file_correction(member, "mobile", "7000000063", Some(member)).await.unwrap();
    assert!(s.apply_correction(household, &by(ac, false), clock::now()).await.is_ok());
    assert_eq!(login("+917000000063").await, Some(ac));
    // A disabled user still counts as one: their mobile is the state admin's to change.
    assert!(s.disable_user(colleague).await.unwrap());
    let disabled = s.file_correction(colleague, "mobile", "9811100032", Some(member)).await.unwrap();
    refused(s.apply_correction(disabled, &by(ac, false), clock::now()).await, "mobile", "user_mobile");
    // Only the fields a review applies are filed.
    assert_eq!(code_of(s.file_correction(member, "unit", "TS-AC-2", Some(member)).await.unwrap_err()), "unknown_field");
    assert!(s.verify().await.unwrap().is_empty());
}

/// Applying a correction takes every key it needs in one sorted call: corrections, merges and
/// enrolments on the same people and mobiles at the same moment all finish (no deadlock).
async fn corrections_take_their_locks_at_once(db: TestDb) {
    use sangathan_store::corrections::Reviewer;
    let s = mini(&db).await;
    const N: usize = 8;
    for round in 0..3 {
        let mobile = |set: usize, i: usize| format!("98{round}1{set}002{i:02}");
        let mut people = Vec::new();
        let mut dups = Vec::new();
        for i in 0..N {
            let p = enrol(&s, &enr(&format!("Person Number {round} {i}"), Some(&mobile(0, i)), None, "TS-AC-1-B0001")).await.unwrap();
            let q = enrol(&s, &enr(&format!("Other Number {round} {i}"), Some(&mobile(1, i)), None, "TS-AC-1-B0002")).await.unwrap();
            people.push(p.person_id);
            dups.push(q.person_id);
        }
        let mut ids = Vec::new();
        for (i, p) in people.iter().enumerate() {
            // Each moves to the next one's mobile; each is renamed.
            ids.push(s.file_correction(*p, "mobile", &mobile(0, (i + 1) % N), None).await.unwrap());
            ids.push(s.file_correction(*p, "name", &format!("Renamed Person {round} {i}"), None).await.unwrap());
        }
        let mut tasks = Vec::new();
        for id in ids {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.apply_correction(id, &Reviewer::default(), clock::now()).await.map(|_| ()) }));
        }
        for i in 0..N {
            let (s1, s2) = (s.clone(), s.clone());
            let (from, into) = (dups[i], people[(i + 1) % N]);
            tasks.push(tokio::spawn(async move { s1.merge(from, into, "admin").await.map(|_| ()) }));
            let e = enr(&format!("New Person {round} {i}"), Some(&mobile(0, i)), None, "TS-AC-1-B0001");
            tasks.push(tokio::spawn(async move { enrol(&s2, &e).await.map(|_| ()) }));
        }
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) | Err(StoreError::Invalid(_)) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
    }
    assert!(s.verify().await.unwrap().is_empty(), "{:?}", s.verify().await.unwrap());
}

/// Photos added to a meeting at the same moment take different places (none replaces another);
/// a fourth is refused; the explicit place of `put_photo` still replaces.
async fn photos_added_at_once_take_different_places(db: TestDb) {
    let s = mini(&db).await;
    let ac = appoint(&s, 71, Role::AcIncharge, "TS-AC-1", "party", start()).await;
    let meeting = NewMeeting {
        wing: "party".into(),
        venue: "TS-AC-1-B0001".into(),
        date: clock::today() - Duration::days(1),
        time: chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        minutes: 120,
        kind: "booth".into(),
        chair: None,
        organiser: Some(ac),
        due_hours: 48,
    };
    let m = s.add_meeting(&meeting, "admin").await.unwrap();
    let jpeg = |fill: u8| {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
        v.resize(2000, fill);
        v
    };
    let (one, two) = (jpeg(1), jpeg(2));
    let (a, b) = tokio::join!(s.add_photo(m.id, &one, "one"), s.add_photo(m.id, &two, "two"));
    let (a, b) = (a.unwrap().n, b.unwrap().n);
    assert_ne!(a, b, "two photos at once take two places");
    assert_eq!(s.photo(m.id, a).await.unwrap().unwrap().1, jpeg(1));
    assert_eq!(s.photo(m.id, b).await.unwrap().unwrap().1, jpeg(2));
    // Four at once on a fresh meeting: three places, one refusal, nothing replaced.
    let m2 = s.add_meeting(&NewMeeting { date: clock::today() - Duration::days(2), ..meeting }, "admin").await.unwrap();
    let mut tasks = Vec::new();
    for fill in 1..=4u8 {
        let s = s.clone();
        let bytes = jpeg(fill);
        tasks.push(tokio::spawn(async move { (fill, s.add_photo(m2.id, &bytes, "x").await) }));
    }
    let mut placed = Vec::new();
    let mut full = 0;
    for t in tasks {
        match t.await.unwrap() {
            (fill, Ok(info)) => placed.push((info.n, fill)),
            (_, Err(e)) => {
                assert_eq!(code_of(e), "photos_full");
                full += 1;
            }
        }
    }
    placed.sort();
    assert_eq!((placed.iter().map(|p| p.0).collect::<Vec<_>>(), full), (vec![1, 2, 3], 1));
    for (n, fill) in &placed {
        assert_eq!(s.photo(m2.id, *n).await.unwrap().unwrap().1, jpeg(*fill));
    }
    // The explicit place replaces; a freed place is taken again; the checks hold.
    s.put_photo(m2.id, 2, &jpeg(9), "x").await.unwrap();
    assert_eq!(s.photo(m2.id, 2).await.unwrap().unwrap().1, jpeg(9));
    assert!(s.delete_photo(m2.id, 1).await.unwrap());
    assert_eq!(s.add_photo(m2.id, &jpeg(8), "x").await.unwrap().n, 1);
    assert_eq!(code_of(s.add_photo(m.id, b"<svg>", "x").await.unwrap_err()), "not_an_image");
    assert_eq!(code_of(s.add_photo(999_999, &jpeg(1), "x").await.unwrap_err()), "unknown_meeting");
}

async fn outbox_retries_back_off_and_give_up(db: TestDb) {
    use sangathan_store::meetings::Notice;
    let s = mini(&db).await;
    let p = appoint(&s, 1, Role::AcIncharge, "TS-AC-1", "party", start()).await;
    let t0 = Utc.with_ymd_and_hms(2027, 1, 10, 6, 0, 0).unwrap();
    let notice = |key: &str| Notice { person_id: p, key: format!("outbox-test:{key}"), subject: "s".into(), body: key.into() };
    assert_eq!(s.notify(&[notice("gives-up"), notice("sent"), notice("second-try")], t0).await.unwrap(), 3);
    assert_eq!(s.notify(&[notice("gives-up")], t0).await.unwrap(), 0, "a key is queued once");
    let ours = |items: Vec<sangathan_store::meetings::OutboxItem>| -> Vec<(String, u32)> {
        items.into_iter().filter(|o| o.subject.as_deref() == Some("s")).map(|o| (o.body, o.attempts)).collect()
    };
    let due = s.outbox_due(t0, 50).await.unwrap();
    let id = |body: &str| due.iter().find(|o| o.body == body).unwrap().id;
    let (gives_up, sent, second) = (id("gives-up"), id("sent"), id("second-try"));
    assert!(due.iter().filter(|o| o.subject.as_deref() == Some("s")).all(|o| o.channel == "sms" && o.attempts == 0));
    // Claimed for sending: not handed out a second time meanwhile.
    assert!(ours(s.outbox_due(t0, 50).await.unwrap()).is_empty());

    // Sent: never due again. Failed once, then sent: due after a minute, then never again.
    s.outbox_done(sent, None, t0).await.unwrap();
    s.outbox_done(second, Some("smtp: connection refused"), t0).await.unwrap();
    s.outbox_done(gives_up, Some("smtp: connection refused"), t0).await.unwrap();
    assert!(ours(s.outbox_due(t0 + Duration::seconds(59), 50).await.unwrap()).is_empty(), "not due before its back-off");
    let t1 = t0 + Duration::minutes(1);
    let mut again = ours(s.outbox_due(t1, 50).await.unwrap());
    again.sort();
    assert_eq!(again, vec![("gives-up".to_string(), 1), ("second-try".to_string(), 1)]);
    s.outbox_done(second, None, t1).await.unwrap();

    // Each failure doubles the wait (1, 2, 4 … minutes); after ten attempts it is given up.
    let mut now = t1;
    let mut attempts = 1;
    loop {
        let failed_at = now;
        s.outbox_done(gives_up, Some("smtp: connection refused"), failed_at).await.unwrap();
        attempts += 1;
        let wait = Duration::minutes(1 << (attempts - 1));
        assert!(
            ours(s.outbox_due(failed_at + wait - Duration::seconds(1), 50).await.unwrap()).is_empty(),
            "attempt {attempts}: due before its back-off of {wait}"
        );
        let due = ours(s.outbox_due(failed_at + wait, 50).await.unwrap());
        if attempts == 10 {
            assert!(due.is_empty(), "given up after ten attempts: {due:?}");
            break;
        }
        assert_eq!(due, vec![("gives-up".to_string(), attempts)], "after {wait}");
        now = failed_at + wait;
    }
    assert!(ours(s.outbox_due(now + Duration::days(365), 50).await.unwrap()).is_empty(), "never again");
    assert_eq!(scalar(&db, "SELECT attempts FROM outbox WHERE idem_key = 'outbox-test:gives-up' AND sent_at IS NULL AND last_error LIKE 'smtp:%'").await, 10);
    assert_eq!(scalar(&db, "SELECT attempts FROM outbox WHERE idem_key = 'outbox-test:second-try' AND sent_at IS NOT NULL AND last_error IS NULL").await, 2);
    assert_eq!(scalar(&db, "SELECT attempts FROM outbox WHERE idem_key = 'outbox-test:sent' AND sent_at IS NOT NULL").await, 1);
}

async fn a_chair_replaced_by_hand_frees_their_day(db: TestDb) {
    let s = mini(&db).await;
    let on = start();
    let dist = appoint(&s, 1, Role::DistrictPresident, "TS-DT-HILL", "party", on).await;
    let div = appoint(&s, 2, Role::DivisionIncharge, "TS-DIV-NORTH", "party", on).await;
    let junior = appoint(&s, 3, Role::SectorIncharge, "TS-AC-1-S01", "party", on).await;
    let own_ac = appoint(&s, 4, Role::AcIncharge, "TS-AC-1", "party", on).await;
    let member = enrol(&s, &enr("Ravi Kumar", Some("9700000011"), None, "TS-AC-1-B0001")).await.unwrap().person_id;
    let day = clock::today() + Duration::days(10);
    let at = |venue: &str| NewMeeting {
        wing: "party".into(),
        venue: venue.into(),
        date: day,
        time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        minutes: 120,
        kind: "workers".into(),
        chair: None,
        organiser: None,
        due_hours: 48,
    };
    // Two AC meetings on one day: the district president chairs the first, the division
    // in-charge the second.
    let m1 = s.add_meeting(&at("TS-AC-1"), "admin").await.unwrap();
    let m2 = s.add_meeting(&at("TS-AC-2"), "admin").await.unwrap();
    assert_eq!((m1.chair, m2.chair), (Some(dist), Some(div)));
    // Refused, nothing changed: someone chairing another meeting that day, someone not above the
    // venue (a sector in-charge, the venue's own AC in-charge), a member who holds no post.
    let refusals = [(m1.id, div, "double_booked"), (m2.id, dist, "double_booked"), (m1.id, junior, "not_senior_here"), (m1.id, own_ac, "not_senior_here"), (m1.id, member, "not_an_office_bearer")];
    for (m, p, code) in refusals {
        assert_eq!(code_of(s.set_chair(m, p, "admin").await.unwrap_err()), code, "meeting {m}, person {p}");
    }
    let unchanged = s.meeting(m1.id).await.unwrap().unwrap();
    assert_eq!((unchanged.chair, unchanged.sequence), (Some(dist), m1.sequence));

    // A federation officer of the district takes over the first by hand: the district
    // president's day is free again, so they may now chair the second.
    let fed = appoint(&s, 5, Role::FederationOfficer, "TS-DT-HILL", "employees", on).await;
    let v = s.set_chair(m1.id, fed, "admin").await.unwrap();
    assert_eq!((v.chair, v.sequence), (Some(fed), m1.sequence + 1), "a changed chair is a new calendar sequence");
    let v = s.set_chair(m2.id, dist, "admin").await.unwrap();
    assert_eq!(v.chair, Some(dist));
    // The division in-charge, freed in turn, is the only one left for a third meeting that day.
    let m3 = s.add_meeting(&at("TS-AC-1"), "admin").await.unwrap();
    assert_eq!(m3.chair, Some(div));
    assert_eq!(code_of(s.set_chair(m3.id, fed, "admin").await.unwrap_err()), "double_booked");
    // Setting the chair a meeting already has is no double booking with itself.
    assert_eq!(s.set_chair(m3.id, div, "admin").await.unwrap().chair, Some(div));
    assert_verified(&s).await;
}

async fn verify_names_a_tampered_meeting_counter(db: TestDb) {
    let s = mini(&db).await;
    let m = s
        .add_meeting(
            &NewMeeting {
                wing: "party".into(),
                venue: "TS-AC-1-B0001".into(),
                date: d("2027-01-10"),
                time: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
                minutes: 60,
                kind: "booth".into(),
                chair: None,
                organiser: None,
                due_hours: 48,
            },
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(sangathan_core::meetings::week_code(m.date), "2027-W01");
    assert_verified(&s).await;
    // One more meeting planned at the AC that week than there is.
    exec(&db, "UPDATE meeting_counters SET planned = planned + 1 WHERE week = '2027-W01' AND unit_id = (SELECT id FROM units WHERE code = 'TS-AC-1')").await;
    let found = s.verify().await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let x = &found[0];
    assert_eq!((x.what.as_str(), x.unit.as_str(), x.wing.as_str(), x.expected, x.found), ("meetings planned 2027-W01", "TS-AC-1", "party", 1, 2), "{x}");
    exec(&db, "UPDATE meeting_counters SET planned = planned - 1 WHERE week = '2027-W01' AND unit_id = (SELECT id FROM units WHERE code = 'TS-AC-1')").await;
    assert_verified(&s).await;
    // A counter row for a week with no meetings behind it is named too.
    exec(&db, "INSERT INTO meeting_counters (unit_id, wing_id, week, planned, held, not_held, on_time, late) \
               SELECT u.id, w.id, '2027-W05', 0, 1, 0, 0, 0 FROM units u, wings w WHERE u.code = 'TS-DT-HILL' AND w.code = 'employees'").await;
    let found = s.verify().await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let x = &found[0];
    assert_eq!((x.what.as_str(), x.unit.as_str(), x.wing.as_str(), x.expected, x.found), ("meetings held 2027-W05", "TS-DT-HILL", "employees", 0, 1), "{x}");
    exec(&db, "DELETE FROM meeting_counters WHERE week = '2027-W05'").await;
    assert_verified(&s).await;
}

/// A background job's lease: one holder at a time (also when nodes ask at the same instant), a
/// lapsed hold taken over, each period recorded once and only by the holder.
async fn job_leases_one_holder_and_each_period_once(db: TestDb) {
    let s = db.open().await;
    let t0 = Utc.with_ymd_and_hms(2027, 1, 11, 6, 0, 0).unwrap();
    let ttl = Duration::seconds(10);
    let sec = Duration::seconds;
    let l = s.take_lease("periodic", "a", ttl, t0).await.unwrap().expect("free: taken");
    assert_eq!((l.holder.as_deref(), l.held_until, l.done_period, l.runs, l.taken_from.as_deref()), (Some("a"), Some(t0 + ttl), None, 0, None));
    assert!(s.take_lease("periodic", "b", ttl, t0 + sec(5)).await.unwrap().is_none(), "held by a");
    let l = s.take_lease("periodic", "a", ttl, t0 + sec(5)).await.unwrap().expect("renewed by its holder");
    assert_eq!((l.held_until, l.taken_from), (Some(t0 + sec(15)), None));
    assert!(s.take_lease("periodic", "b", ttl, t0 + sec(14)).await.unwrap().is_none(), "renewed: still a's");

    // Nodes asking at the same instant for a new lease: one gets it.
    let mut asks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        asks.push(tokio::spawn(async move {
            s.take_lease("race", &format!("node{i}"), Duration::seconds(10), t0).await.unwrap()
        }));
    }
    let mut holders = Vec::new();
    for a in asks {
        if let Some(l) = a.await.unwrap() {
            holders.push(l.holder.unwrap());
        }
    }
    assert_eq!(holders.len(), 1, "{holders:?}");

    // a stops renewing: past its hold, b takes over.
    let p0 = Utc.with_ymd_and_hms(2027, 1, 11, 5, 30, 0).unwrap();
    let l = s.take_lease("periodic", "b", ttl, t0 + sec(15)).await.unwrap().expect("a's hold lapsed");
    assert_eq!((l.holder.as_deref(), l.taken_from.as_deref()), (Some("b"), Some("a")));
    assert!(!s.finish_lease("periodic", "a", p0, t0, t0 + sec(16)).await.unwrap(), "a no longer holds it");
    assert!(s.finish_lease("periodic", "b", p0, t0 + sec(15), t0 + sec(16)).await.unwrap());
    assert!(!s.finish_lease("periodic", "b", p0, t0 + sec(16), t0 + sec(17)).await.unwrap(), "that period is done");
    assert!(!s.finish_lease("periodic", "b", p0 - Duration::hours(1), t0 + sec(16), t0 + sec(17)).await.unwrap(), "an earlier period");
    let l = s.take_lease("periodic", "b", ttl, t0 + sec(17)).await.unwrap().unwrap();
    assert_eq!((l.done_period, l.runs, l.last_ran_by.as_deref()), (Some(p0), 1, Some("b")));
    assert!(s.finish_lease("periodic", "b", p0 + Duration::hours(1), t0 + sec(17), t0 + sec(18)).await.unwrap());
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM job_runs WHERE name = 'periodic'").await, 2);

    // A clean stop gives it up: another node takes it at once, with what was done.
    assert!(!s.release_lease("periodic", "a").await.unwrap());
    assert!(s.release_lease("periodic", "b").await.unwrap());
    let l = s.take_lease("periodic", "a", ttl, t0 + sec(19)).await.unwrap().expect("free");
    assert_eq!((l.taken_from, l.runs, l.done_period, l.last_finished), (None, 2, Some(p0 + Duration::hours(1)), Some(t0 + sec(18))));
    let all = s.leases().await.unwrap();
    let names: Vec<&str> = all.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["periodic", "race"]);
    assert_eq!(all[0].holder.as_deref(), Some("a"));
}

/// Many enrolments at once in one AC (PostgreSQL runs them in parallel): each gets its own
/// membership number at the first attempt's pace, none fails, counters stay exact.
async fn concurrent_enrolments_in_one_ac_all_get_numbers(db: TestDb) {
    let s = mini(&db).await;
    let mut tasks = Vec::new();
    for i in 0..48u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let unit = if i % 3 == 0 { "TS-AC-1" } else { "TS-AC-1-B0001" };
            let e = enr(&format!("Samanvay Sadasya {i}"), Some(&format!("98{:08}", 10_000 + i)), None, unit);
            enrol(&s, &e).await
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        let o = t.await.unwrap().expect("every concurrent enrolment succeeds");
        assert!(numbers.insert(o.membership_number.clone()), "number given twice: {}", o.membership_number);
    }
    assert_eq!(numbers.len(), 48);
    assert_eq!(count_memberships(&db).await, 48);
    assert_verified(&s).await;
}

/// A batch large enough for the bulk path (COPY on PostgreSQL) keeps every name and address
/// exactly as a single enrolment would: quotes, commas, line breaks, backslashes, the COPY
/// end-of-data marker, Devanagari with joiners; an absent address stays absent.
async fn a_large_batch_stores_every_character_as_typed(db: TestDb) {
    let s = mini(&db).await;
    let addresses: [Option<&str>; 8] = [
        Some("Gali \"No. 5\", Ward 3"),
        Some("first line\nsecond line"),
        Some("C:\\back\\slash"),
        Some("\\."),
        Some("मकान नं. 12, रामपुर, ज़िला–आगरा"),
        Some("क्\u{200D}ष, 'single', \"double\""),
        Some("tab\there, semi; colon"),
        None,
    ];
    let names = ["Ram Prakash Nishad", "राम प्रकाश निषाद", "D'Souza Maria", "Shri \"Guddu\" Yadav", "क्‍षमा देवी"];
    let mut rows = Vec::new();
    for i in 0..80u32 {
        let mut e = enr(names[i as usize % names.len()], Some(&format!("97{:08}", 20_000 + i)), None, "TS-AC-1-B0002");
        e.address = addresses[i as usize % addresses.len()].map(String::from);
        rows.push((e, ctx()));
    }
    let out = s.enrol_batch(&rows).await.unwrap();
    assert_eq!(out.len(), 80);
    for ((e, _), o) in rows.iter().zip(&out) {
        let o = o.as_ref().expect("every row is valid");
        let m = s.member(o.person_id).await.unwrap().expect("stored");
        assert_eq!(m.name, e.name.as_str(), "name of {}", o.person_id);
        assert_eq!(m.address, e.address, "address of {}", o.person_id);
        assert_eq!(m.memberships.len(), 1);
    }
    assert_eq!(count_memberships(&db).await, 80);
    assert_verified(&s).await;
}

/// Indexes and triggers a first load leaves out, and people's unique indexes it leaves out too
/// (mobile + name key; on PostgreSQL also the EPIC's), as the catalog shows them (2 + `uniques`
/// present when nothing is deferred).
fn uniques(db: &TestDb) -> i64 {
    if db.url.starts_with("sqlite:") { 1 } else { 2 }
}

async fn deferred_present(db: &TestDb) -> (i64, i64) {
    if db.url.starts_with("sqlite:") {
        (
            scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('people_unit_name', 'people_fts_insert')").await,
            scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'people_mobile_name'").await,
        )
    } else {
        (
            scalar(db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('people_unit_name', 'people_search_trgm')").await,
            scalar(db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('people_mobile_name', 'people_epic_key')").await,
        )
    }
}

/// Every index and trigger definition of the schema (on PostgreSQL also every foreign key), as
/// the catalog holds them.
async fn schema_definitions(db: &TestDb) -> String {
    use sqlx::Connection;
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT group_concat(name || ': ' || sql, char(10)) FROM (SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name)")
            .fetch_one(&mut c)
            .await
            .unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let indexes: String = sqlx::query_scalar("SELECT string_agg(indexname || ': ' || indexdef, chr(10) ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let keys: String = sqlx::query_scalar(
            "SELECT string_agg(conname || ' ON ' || conrelid::regclass::text || ': ' || pg_get_constraintdef(oid), chr(10) ORDER BY conname) \
             FROM pg_constraint WHERE contype IN ('f', 'u') AND connamespace = current_schema()::regnamespace",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        format!("{indexes}\n{keys}")
    }
}

/// Add (or remove) a membership of a person who does not exist, while a first load runs
/// without foreign keys (PostgreSQL's put away; SQLite's writer with them off, as this
/// connection is).
async fn orphan_membership(db: &TestDb, add: bool) {
    use sqlx::Connection;
    let sql = if add {
        "INSERT INTO memberships (person_id, wing_id, unit_id, ac_id, number, status, channel, enrolled_by, enrolled_at, enrolled_on) \
         SELECT 999999, wing_id, unit_id, ac_id, number || '-X', status, channel, enrolled_by, enrolled_at, enrolled_on \
         FROM memberships ORDER BY id LIMIT 1"
    } else {
        "DELETE FROM memberships WHERE person_id = 999999"
    };
    let done = if db.url.starts_with("sqlite:") {
        use std::str::FromStr;
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).unwrap().foreign_keys(false);
        let mut c = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap().rows_affected()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut c).await.unwrap().rows_affected()
    };
    assert_eq!(done, 1);
}

async fn a_first_load_builds_its_indexes_after(db: TestDb) {
    let s = mini(&db).await;
    let before = schema_definitions(&db).await;
    assert_eq!(deferred_present(&db).await, (2, uniques(&db)));
    assert!(!s.restore_indexes().await.unwrap(), "nothing deferred yet");
    assert!(s.defer_indexes().await.unwrap(), "an empty database defers");
    assert!(s.defer_indexes().await.unwrap(), "still deferred");
    assert_eq!(deferred_present(&db).await, (0, 0), "people's (mobile, name key) index is left out too");
    if !db.url.starts_with("sqlite:") {
        let keys = "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' AND conrelid IN ('people'::regclass, 'memberships'::regclass)";
        assert_eq!(scalar(&db, keys).await, 1, "only people's merged_into keeps its foreign key while loading");
    }
    // A booth list (it removes units, which the load's rows are not yet checked against) waits.
    let list = vec![BoothRow { ac_no: 2, part_no: 1, name: "Primary School 1".into(), sector: Some(1) }];
    match s.import_booths(&list).await {
        Err(StoreError::Refused(m)) => assert!(m.contains("first load"), "{m}"),
        other => panic!("a booth list during a first load: {other:?}"),
    }
    let rows: Vec<_> = [
        ("Ram Prakash Nishad", "9800000001", Some("RPN1234567"), "TS-AC-1-B0001"),
        ("सीता देवी", "9800000002", None, "TS-AC-1-B0002"),
        // The same EPIC again: the identity rule (by the load's own index) finds the person.
        ("Ram Prakash Nishad", "9800000001", Some("RPN1234567"), "TS-AC-1-B0001"),
    ]
    .into_iter()
    .map(|(n, m, e, u)| (enr(n, Some(m), e, u), ctx()))
    .collect();
    let out = s.enrol_batch(&rows).await.unwrap();
    let out: Vec<_> = out.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(out[2].person_id, out[0].person_id);
    assert!(!out[2].created_membership);
    // Nobody else writes people while the load is pending (no index would check them, and the
    // load's own would not know them): another process's API enrolment and batch, a merge.
    let other = db.open().await;
    match enrol(&other, &enr("Gita Devi", Some("9800000005"), None, "TS-AC-1-B0001")).await {
        Err(StoreError::LoadPending) => {}
        got => panic!("an API enrolment during a first load: {got:?}"),
    }
    assert!(matches!(other.enrol_batch(&rows[..1]).await, Err(StoreError::LoadPending)));
    assert!(matches!(s.merge(out[1].person_id, out[0].person_id, "test").await, Err(StoreError::LoadPending)));
    // Another process takes the load over (as a resumed load does): its index is made from the
    // rows, and the first process's next batch is refused.
    assert!(other.defer_indexes().await.unwrap(), "pending for every process");
    assert!(matches!(s.enrol_batch(&rows[..1]).await, Err(StoreError::LoadPending)));
    let more: Vec<_> = [
        // Found again by EPIC, and by mobile and name without it, through the rebuilt index.
        ("Ram Prakash Nishad", "9800000001", Some("RPN1234567"), "TS-AC-1-B0001"),
        ("Ram Prakash Nishad", "9800000001", None, "TS-AC-1-B0001"),
        // A household: the same mobile with another name is another person.
        ("Shyam Nishad", "9800000001", None, "TS-AC-1-B0001"),
    ]
    .into_iter()
    .map(|(n, m, e, u)| (enr(n, Some(m), e, u), ctx()))
    .collect();
    let got: Vec<_> = other.enrol_batch(&more).await.unwrap().into_iter().map(|r| r.unwrap()).collect();
    assert_eq!((got[0].person_id, got[0].created_membership), (out[0].person_id, false));
    assert_eq!((got[1].person_id, got[1].created_membership), (out[0].person_id, false));
    assert!(got[2].created_person);
    // What a committed batch created, the index knows in the next one.
    let again = other.enrol_batch(&more[2..]).await.unwrap().remove(0).unwrap();
    assert_eq!((again.person_id, again.created_membership), (got[2].person_id, false));
    // A row whose person does not exist, written while the load runs without foreign keys:
    // the build refuses it (PostgreSQL putting its keys back, SQLite checking them), and the
    // load stays pending; once it is gone, the build goes through.
    orphan_membership(&db, true).await;
    let err = other.restore_indexes().await.expect_err("a row breaking a foreign key stops the build").to_string();
    assert!(err.contains("memberships"), "{err}");
    if db.url.starts_with("sqlite:") {
        assert_eq!(side_files(&db), Vec::<String>::new(), "a failed build leaves no search index file behind");
    }
    assert_eq!(deferred_present(&db).await, (0, 0), "still pending");
    orphan_membership(&db, false).await;
    // A person written behind the load's back with another's mobile and name: the (mobile,
    // name key) index cannot be made, and the load stays pending until the row is gone.
    exec(
        &db,
        "INSERT INTO people (id, name, name_key, search_key, mobile, unit_id, created_at) \
         SELECT 999998, name, name_key, search_key, mobile, unit_id, created_at FROM people WHERE name = 'Shyam Nishad'",
    )
    .await;
    let err = other.restore_indexes().await.expect_err("a duplicate stops the build").to_string();
    assert!(err.contains("people") || err.contains("mobile"), "{err}");
    assert_eq!(deferred_present(&db).await, (0, 0), "still pending");
    assert!(matches!(enrol(&s, &enr("Gita Devi", Some("9800000005"), None, "TS-AC-1-B0001")).await, Err(StoreError::LoadPending)));
    exec(&db, "DELETE FROM people WHERE id = 999998").await;
    assert!(other.restore_indexes().await.unwrap());
    assert_eq!(schema_definitions(&db).await, before, "every definition back as it was");
    assert_eq!(s.import_booths(&list).await.unwrap(), 1, "booth lists once the load is over");
    // And enrolments, in any process.
    enrol(&s, &enr("Gita Devi", Some("9800000005"), None, "TS-AC-1-B0001")).await.unwrap();
    // The search index holds the rows loaded while its triggers were away, and keeps up after.
    enrol(&s, &enr("Laxmi Yadav", Some("9800000004"), None, "TS-AC-1-B0003")).await.unwrap();
    for (q, want) in [("राम प्रकाश निषाद", "Ram Prakash Nishad"), ("sita devi", "सीता देवी"), ("lakshmi", "Laxmi Yadav")] {
        let hits = s.search("TS", q, &Wings::All, 0, 20).await.unwrap().unwrap().members;
        assert_eq!(hits.first().map(|h| h.name.as_str()), Some(want), "{q}");
    }
    assert_verified(&s).await;
    assert!(!s.restore_indexes().await.unwrap(), "built once");
    assert!(!s.defer_indexes().await.unwrap(), "people exist: nothing deferred");
    assert_eq!(deferred_present(&db).await, (2, uniques(&db)));
}

/// A first load on SQLite hands a batch's rows to the writer while it decides the rows after
/// them (PostgreSQL writes them once all are decided): a later row that adds an identifier to
/// someone already written updates their row, one who is not yet written is written with it, a
/// membership of someone written earlier is written after them, and the batch comes out as the
/// rule says, whole (foreign keys, unique indexes and counters checked).
async fn a_first_load_writes_rows_while_it_decides_the_rest(db: TestDb) {
    let s = mini(&db).await;
    assert!(s.defer_indexes().await.unwrap());
    let many = 1500;
    let mut rows = vec![(enr("Ram Prakash Nishad", Some("9800000001"), None, "TS-AC-1-B0001"), ctx())];
    for i in 0..many {
        rows.push((enr("Member Kumar", Some(&format!("97{i:08}")), None, "TS-AC-1-B0002"), ctx()));
    }
    // Row `many + 1`: the first person again, with an EPIC (written long before this row).
    rows.push((enr("Ram Prakash Nishad", Some("9800000001"), Some("RPN1234567"), "TS-AC-1-B0001"), ctx()));
    // The first person joins another wing.
    let mut other_wing = enr("Ram Prakash Nishad", Some("9800000001"), None, "TS-AC-1-B0001");
    other_wing.wing = "employees".into();
    rows.push((other_wing, ctx()));
    // The last of the many, created a few rows ago, gains an EPIC.
    let last = format!("97{:08}", many - 1);
    rows.push((enr("Member Kumar", Some(&last), Some("MKR7654321"), "TS-AC-1-B0002"), ctx()));
    let out: Vec<_> = s.enrol_batch(&rows).await.unwrap().into_iter().map(|r| r.unwrap()).collect();
    let first = out[0].person_id;
    assert_eq!((out[many + 1].person_id, out[many + 1].created_person, out[many + 1].created_membership), (first, false, false));
    assert_eq!((out[many + 2].person_id, out[many + 2].created_membership), (first, true));
    assert_eq!((out[many + 3].person_id, out[many + 3].created_membership), (out[many].person_id, false));
    let ids: std::collections::BTreeSet<i64> = out.iter().map(|o| o.person_id).collect();
    assert_eq!(ids.len(), many + 1, "one person per row of the first {}", many + 1);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM people").await, many as i64 + 1);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM memberships").await, many as i64 + 2);
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM people WHERE epic IS NOT NULL").await, 2);
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM people WHERE (name = 'Ram Prakash Nishad' AND epic = 'RPN1234567') OR (name = 'Member Kumar' AND epic = 'MKR7654321')").await,
        2,
        "each EPIC on the person it was added to"
    );
    // The load's index learned the EPIC added to someone already written: a later batch finds
    // them by it alone.
    let by_epic = s.enrol_batch(&[(enr("Ram Prakash Nishad", None, Some("RPN1234567"), "TS-AC-1-B0001"), ctx())]).await.unwrap().remove(0).unwrap();
    assert_eq!((by_epic.person_id, by_epic.created_membership), (first, false));
    // The build checks the foreign keys and makes the unique indexes again.
    assert!(s.restore_indexes().await.unwrap());
    // The built search index serves this process's searches, and takes a new person through
    // the writer's triggers.
    enrol(&s, &enr("Laxmi Yadav", Some("9800000004"), None, "TS-AC-1-B0003")).await.unwrap();
    for (q, want) in [("ram prakash", "Ram Prakash Nishad"), ("lakshmi", "Laxmi Yadav")] {
        let hits = s.search("TS", q, &Wings::All, 0, 20).await.unwrap().unwrap().members;
        assert_eq!(hits.first().map(|h| h.name.as_str()), Some(want), "{q}");
    }
    if db.url.starts_with("sqlite:") {
        the_search_index_built_aside_is_a_rebuilds(&db, many as i64 + 2).await;
    }
    assert_verified(&s).await;
    // Found by the EPIC added while the batch ran, through the database's own index now.
    let again = enrol(&s, &enr("Ram Prakash Nishad", None, Some("RPN1234567"), "TS-AC-1-B0001")).await.unwrap();
    assert_eq!((again.person_id, again.created_membership), (first, false));
}

/// The files a SQLite build's search index is made in (`FILE.search-build-…`) in the database's
/// folder.
fn side_files(db: &TestDb) -> Vec<String> {
    let dir = std::path::Path::new(db.url.trim_start_matches("sqlite://")).parent().unwrap().to_path_buf();
    std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|f| f.contains(".search-build-")).collect()
}

/// A search index of another definition than the one SQLite's build copies beside (as a later
/// migration might leave it) is rebuilt in place instead: the fallback also taken by a database
/// in memory or at a path that is not UTF-8. The index comes out whole, in more segments than
/// a side build's copy, no side file is left, and searches and enrolments use it after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_first_load_rebuilds_a_search_index_of_another_definition_in_place() {
    let db = TestDb::sqlite();
    let s = mini(&db).await;
    assert!(s.defer_indexes().await.unwrap());
    // The same table and options, written as a migration might (spacing): not the text the
    // side build copies, so the build takes the in-place path.
    exec(&db, "DROP TABLE people_fts").await;
    exec(&db, "CREATE VIRTUAL TABLE people_fts USING fts5(search_key, content='people', content_rowid='id', tokenize='trigram')").await;
    let (first, last) = (["Ram", "Sita", "Laxmi", "Mohd", "Shailendra", "राम", "सीता"], ["Nishad", "Yadav", "Devi", "Khan", "Kumar", "निषाद"]);
    let rows: Vec<_> = (0..300usize)
        .map(|i| {
            let name = format!("{} {} {}", first[i % first.len()], ["Prakash", "Kali", "Raj"][(i / 7) % 3], last[(i / 21) % last.len()]);
            (enr(&name, Some(&format!("96{i:08}")), None, "TS-AC-1-B0002"), ctx())
        })
        .collect();
    assert!(s.enrol_batch(&rows).await.unwrap().iter().all(|r| r.is_ok()));
    assert!(s.restore_indexes().await.unwrap());
    assert_eq!(side_files(&db), Vec::<String>::new(), "no side file left");
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM people_fts_docsize").await, 300, "everyone in the index");
    // Rebuilt in place, not copied from a side build (whose one segment would be all there is):
    // the rebuild reads people in search-key order, and FTS5 starts a segment whenever an id
    // goes down.
    let segments = scalar(&db, "SELECT COUNT(DISTINCT segid) FROM people_fts_idx").await;
    assert!(segments > 1, "{segments} segment(s)");
    exec(&db, "INSERT INTO people_fts (people_fts, rank) VALUES ('integrity-check', 1)").await;
    enrol(&s, &enr("Gita Devi", Some("9800000005"), None, "TS-AC-1-B0001")).await.unwrap();
    for (q, want) in [("ram prakash nishad", "Ram Prakash Nishad"), ("gita", "Gita Devi"), ("राम काली कुमार", "राम Kali Kumar")] {
        let hits = s.search("TS", q, &Wings::All, 0, 20).await.unwrap().unwrap().members;
        assert!(hits.iter().any(|h| h.name == want), "{q}: {:?}", hits.iter().map(|h| &h.name).collect::<Vec<_>>());
    }
    assert_verified(&s).await;
}

/// SQLite builds a first load's search index beside the index builds, in a file of its own, and
/// copies its tables in (`Build` in the SQLite store): FTS5's own check finds the index agreeing
/// with the people table, every trigram points at the same people and positions as in a rebuild
/// of the index from that table (which may cut it into more segments: the bytes differ), the
/// documents' sizes are the same bytes, and the file is gone.
async fn the_search_index_built_aside_is_a_rebuilds(db: &TestDb, people: i64) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    assert_eq!(side_files(db), Vec::<String>::new(), "the side file is deleted");
    sqlx::query("CREATE VIRTUAL TABLE temp.fts_entries USING fts5vocab(main, people_fts, instance)").execute(&mut c).await.unwrap();
    let tables = "SELECT (SELECT COUNT(*) FROM people_fts_docsize), \
                  (SELECT COUNT(*) FROM temp.fts_entries), \
                  (SELECT group_concat(term || ':' || doc || ':' || offset, ',') FROM (SELECT * FROM temp.fts_entries ORDER BY term, doc, offset)), \
                  (SELECT group_concat(id || ':' || hex(sz), ',') FROM (SELECT * FROM people_fts_docsize ORDER BY id))";
    let built: (i64, i64, String, String) = sqlx::query_as(tables).fetch_one(&mut c).await.unwrap();
    assert_eq!(built.0, people, "every person in the index");
    // Built beside, not rebuilt in place: one side segment copied, plus the one the new person's
    // trigger wrote (a rebuild here, in search-key order, cuts more).
    let segments: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT segid) FROM people_fts_idx").fetch_one(&mut c).await.unwrap();
    assert!(segments <= 2, "{segments} segments");
    assert!(built.1 >= 3 * people, "each person's trigrams: {}", built.1);
    sqlx::query("INSERT INTO people_fts (people_fts, rank) VALUES ('integrity-check', 1)").execute(&mut c).await.expect("FTS5 finds the index agreeing with the people");
    sqlx::query("INSERT INTO people_fts (people_fts) VALUES ('rebuild')").execute(&mut c).await.unwrap();
    let rebuilt: (i64, i64, String, String) = sqlx::query_as(tables).fetch_one(&mut c).await.unwrap();
    assert!(built == rebuilt, "the index built aside holds other entries than a rebuild");
}

/// The unit's target in a campaign (`$3`: its code), then counts over the memberships in the
/// party wing in the unit's subtree (`$1`: its code), one per condition (`$2` and `$4`: the first
/// and last of the last 7 days, `days`, which they name): the naive answers a roll-up must give.
async fn count_below(db: &TestDb, conds: [&str; 3], code: &str, days: (NaiveDate, NaiveDate), campaign: &str) -> (i64, i64, i64, i64) {
    use sqlx::{AssertSqlSafe, Connection};
    let [a, b, c] = conds;
    let sql = format!(
        "SELECT (SELECT COALESCE(MAX(t.target), 0) FROM targets t JOIN units y ON y.id = t.unit_id \
         JOIN campaigns k ON k.id = t.campaign_id WHERE y.code = $1 AND k.code = $3), \
         COUNT(*) FILTER (WHERE {a}), COUNT(*) FILTER (WHERE {b}), COUNT(*) FILTER (WHERE {c}) \
         FROM memberships m JOIN units b ON b.id = m.unit_id JOIN units x ON x.code = $1 \
         WHERE m.wing_id = (SELECT id FROM wings WHERE code = 'party') \
         AND x.id IN (b.id, b.state_id, b.division_id, b.district_id, b.pc_id, b.ac_id, b.sector_id)"
    );
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(AssertSqlSafe(sql)).bind(code).bind(days.0).bind(campaign).bind(days.1).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(AssertSqlSafe(sql)).bind(code).bind(days.0).bind(campaign).bind(days.1).fetch_one(&mut c).await.unwrap()
    }
}

/// The units one level below `code`, straight from the table, in id order: a PC's ACs, or the
/// units whose parent it is (PCs are not children of their district).
async fn units_below(db: &TestDb, code: &str) -> Vec<(String, String)> {
    use sqlx::Connection;
    let sql = "SELECT u.code, u.kind FROM units u JOIN units x ON x.code = $1 \
               WHERE CASE WHEN x.kind = 'pc' THEN u.pc_id = x.id AND u.kind = 'ac' ELSE u.parent_id = x.id AND u.kind <> 'pc' END \
               ORDER BY u.id";
    if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).bind(code).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query_as(sql).bind(code).fetch_all(&mut c).await.unwrap()
    }
}

/// Every row of a progress answer (the unit and each child) against counts of the members
/// themselves, at every level of the tree (state, division, district, PC, AC, sector, booth),
/// for a campaign that counts enrolments and one that counts verifications: members enrolled
/// over 15 days, in two wings, at booths and at AC level, some verified on different days, some
/// rejected.
async fn progress_figures_equal_a_count_of_the_members_at_every_level(db: TestDb) {
    let s = mini(&db).await;
    let booths = s.booth_codes().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..90usize {
        let (ac, list) = &booths[i % booths.len()];
        let unit = if i % 9 == 0 { ac.clone() } else { list[(i * 7) % list.len()].clone() };
        let mut e = enr(&format!("Member {i}"), Some(&format!("98400{i:05}")), None, &unit);
        if i % 5 == 0 {
            e.wing = "employees".into();
        }
        let mut c = ctx();
        c.at = clock::now() - Duration::days((i % 15) as i64);
        let p = s.enrol(&e, &c, &format!("k{i}")).await.unwrap().outcome.person_id;
        ids.push(membership_id(&db, p).await);
    }
    for (i, id) in ids.iter().enumerate() {
        if i % 3 == 0 {
            s.set_status(&[*id], "verified", None, "x", Utc::now() - Duration::days((i % 11) as i64)).await.unwrap();
        } else if i % 7 == 0 {
            s.set_status(&[*id], "rejected", Some("no such voter"), "x", Utc::now()).await.unwrap();
        }
    }
    s.create_campaign(&verified_drive(20)).await.unwrap();
    let counted = "m.status IN ('pending','verified')";
    let mut seen = std::collections::HashSet::new();
    // As of today, and as of three days ago: the last 7 days end on the day asked for, and what
    // came after it is not in them (nor is it anywhere in a real answer: nothing is dated after
    // today).
    for (campaign, today) in [None, Some("verified-drive")].into_iter().flat_map(|c| [(c, clock::today()), (c, clock::today() - Duration::days(3))]) {
        let days = (today - Duration::days(6), today);
        let recent = match campaign {
            None => "m.status IN ('pending','verified') AND m.enrolled_on BETWEEN $2 AND $4",
            Some(_) => "m.status = 'verified' AND m.verified_on BETWEEN $2 AND $4",
        };
        let mut todo = vec!["TS".to_string(), "TS-PC-1".to_string(), booths[0].1[0].clone()];
        while let Some(code) = todo.pop() {
            let p = s.progress(&code, campaign, today).await.unwrap().unwrap();
            // The children are the tree's, in its order (an AC adds its members without a booth),
            // each of the kind one level down.
            let tree = units_below(&db, &code).await;
            let rows: Vec<(String, String)> =
                p.children.iter().filter(|r| r.kind != "unassigned").map(|r| (r.code.clone(), r.kind.clone())).collect();
            assert_eq!(rows, tree, "children of {code}");
            let below = match p.unit.kind.as_str() {
                "state" => "division",
                "division" => "district",
                "district" | "pc" => "ac",
                "ac" => "sector",
                "sector" => "booth",
                _ => "none",
            };
            assert!(rows.iter().all(|(_, k)| k == below), "{code}: {rows:?}");
            for r in std::iter::once(&p.unit).chain(p.children.iter().filter(|r| r.kind != "unassigned")) {
                seen.insert(r.kind.clone());
                let want = count_below(&db, [counted, "m.status = 'verified'", recent], &r.code, days, campaign.unwrap_or("drive")).await;
                assert_eq!((r.target, r.achieved, r.verified, r.last_7_days), want, "{} in {code}'s progress ({campaign:?} as of {today})", r.code);
            }
            assert_children_sum(&s, &code).await;
            if p.unit.kind != "sector" {
                todo.extend(rows.into_iter().map(|(c, _)| c));
            }
        }
    }
    let mut kinds: Vec<String> = seen.into_iter().collect();
    kinds.sort();
    assert_eq!(kinds, ["ac", "booth", "district", "division", "pc", "sector", "state"]);
    assert!(s.progress("TS", None, clock::today()).await.unwrap().unwrap().unit.last_7_days > 0);
}

/// A dry run's batch reads a snapshot and locks nothing: it counts while another connection
/// holds the database's write side (SQLite's write lock; on PostgreSQL the people, memberships
/// and AC serials locked against writes and `FOR UPDATE`), and it writes nothing.
async fn a_dry_run_batch_reads_beside_a_writer(db: TestDb) {
    use sangathan_store::ImportRow;
    use sqlx::Connection;
    let s = mini(&db).await;
    let known = enr("Kamla Devi", Some("9123456780"), Some("ABC1234567"), "TS-AC-3-B0003");
    enrol(&s, &known).await.unwrap();
    let row = |e: Enrolment| ImportRow::Enrol { enrolment: e, ctx: ctx(), values: Vec::new(), verified: false };
    let rows = vec![
        row(known.clone()),
        row(enr("Vimla", Some("9123456781"), None, "TS-AC-3-B0003")),
        row(enr("Vimla", Some("9123456781"), None, "TS-AC-3-B0003")),
        ImportRow::Blank,
    ];
    let (people, memberships) = (count_people(&db).await, count_memberships(&db).await);

    // The write side held by another connection for as long as the dry batch runs.
    enum Held {
        Sqlite(sqlx::SqliteConnection),
        Pg(sqlx::PgConnection),
    }
    let held = if db.url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
        Held::Sqlite(c)
    } else {
        let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query("BEGIN").execute(&mut c).await.unwrap();
        sqlx::query("LOCK TABLE people, memberships, ac_sequences, import_jobs IN EXCLUSIVE MODE").execute(&mut c).await.unwrap();
        Held::Pg(c)
    };
    let mut dry = sangathan_store::dry_run::DryRun::new();
    let counted = tokio::time::timeout(std::time::Duration::from_secs(20), s.import_batch_dry(2, &rows, &mut dry))
        .await
        .expect("a dry batch does not wait for the writer")
        .unwrap();
    let (stats, errors) = counted;
    assert_eq!(
        (stats.rows, stats.blank, stats.created_people, stats.created_memberships, stats.duplicates, stats.rejected),
        (4, 1, 1, 1, 2, 0),
        "the known member and Vimla's second row are duplicates"
    );
    assert!(errors.is_empty(), "{errors:?}");
    match held {
        Held::Sqlite(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).unwrap(),
        Held::Pg(mut c) => sqlx::query("ROLLBACK").execute(&mut c).await.map(drop).unwrap(),
    }
    assert_eq!((count_people(&db).await, count_memberships(&db).await), (people, memberships), "a dry run writes nothing");
    assert_verified(&s).await;
}
