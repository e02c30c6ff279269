//! Meetings from the command line on a real database file: the exact command forms, the iCalendar
//! feed read back by a third-party parser (Python's `icalendar` and `recurring_ical_events`), and
//! notifications delivered to a real SMTP server (Python's `aiosmtpd`).

mod support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use support::{BIN, MINI, ok};

fn db() -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        format!("sqlite://{}", dir.path().join("m.db").display()),
        dir,
    )
}

/// `sangathan --db DB ARGS…` with extra environment.
fn run_env(db: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut a = vec!["--db", db];
    a.extend_from_slice(args);
    let mut c = Command::new(BIN);
    c.args(&a)
        .env_remove("SANGATHAN_DB")
        .env_remove("SANGATHAN_NOW")
        .env_remove("SANGATHAN_SMTP_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok_env(db: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let o = run_env(db, env, args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The Python that `.ci/run` prepares (`target/pyenv`, with icalendar and aiosmtpd), or
/// `SANGATHAN_TEST_PYTHON`. Missing: the test is skipped, unless CI requires every part.
fn python() -> Option<PathBuf> {
    let p = std::env::var("SANGATHAN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/pyenv/bin/python"
            ))
        });
    let usable = p.exists()
        && Command::new(&p)
            .args(["-c", "import icalendar, recurring_ical_events, aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
    if usable {
        return Some(p);
    }
    if std::env::var("SANGATHAN_REQUIRE_PG").as_deref() == Ok("1") {
        panic!(
            "{} lacks icalendar/aiosmtpd: scripts/test installs them",
            p.display()
        );
    }
    eprintln!(
        "skipping: no Python with icalendar and aiosmtpd at {}",
        p.display()
    );
    None
}

/// A demo-sized state with office-bearers: (db, dir, division in-charge's person id).
fn state() -> (String, tempfile::TempDir) {
    let (db, dir) = db();
    ok(
        &db,
        &["init", "--preset", MINI, "--campaign-start", "2026-12-01"],
    );
    for (name, mobile, post) in [
        (
            "Division Incharge",
            "9811111101",
            "division-incharge@TS-DIV-NORTH",
        ),
        (
            "Hill President",
            "9811111102",
            "district-president@TS-DT-HILL",
        ),
        (
            "Lake President",
            "9811111103",
            "district-president@TS-DT-LAKE",
        ),
        ("Alpha Incharge", "9811111104", "ac-incharge@TS-AC-1"),
    ] {
        // Posts held since before the test's (pinned) dates, whatever today's date is.
        ok_env(
            &db,
            &[("SANGATHAN_NOW", "2026-11-01T10:00:00+05:30")],
            &["user", "add", "--name", name, "--mobile", mobile, "--post", post],
        );
    }
    (db, dir)
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn series_plan_move_cancel_and_the_ical_feed_parse_in_a_third_party_parser() {
    let Some(py) = python() else { return };
    let (db, dir) = state();
    let now = [("SANGATHAN_NOW", "2026-12-20T10:00:00+05:30")];
    let series = json(&ok_env(
        &db,
        &now,
        &[
            "meetings",
            "series",
            "add",
            "--wing",
            "employees",
            "--unit",
            "TS-DIV-NORTH",
            "--rotate",
            "ac",
            "--rule",
            "FREQ=WEEKLY;BYDAY=SU",
            "--time",
            "11:00",
            "--start",
            "2027-01-03",
            "--end",
            "2027-06-27",
            "--json",
        ],
    ));
    let id = series["id"]
        .as_i64()
        .expect("the series has an id")
        .to_string();
    assert_eq!(
        series["pool"].as_array().unwrap().len(),
        3,
        "North has three ACs"
    );
    ok(
        &db,
        &["meetings", "holiday", "2027-01-24", "Republic Day weekend"],
    );

    let plan = json(&ok_env(
        &db,
        &now,
        &["meetings", "plan", &id, "--weeks", "6", "--json"],
    ));
    let occ = plan["occurrences"].as_array().unwrap();
    // 3 Jan .. 7 Feb: six Sundays from the first, one a holiday.
    let dates: Vec<&str> = occ.iter().map(|o| o["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        [
            "2027-01-03",
            "2027-01-10",
            "2027-01-17",
            "2027-01-31",
            "2027-02-07"
        ]
    );
    let venues: Vec<&str> = occ.iter().map(|o| o["venue"].as_str().unwrap()).collect();
    assert_eq!(
        &venues[..3],
        ["TS-AC-1", "TS-AC-2", "TS-AC-3"],
        "each AC once, in pool order, before any twice"
    );
    assert!(
        occ.iter().all(|o| o["chair"].as_i64().is_some()),
        "every occurrence has a chair: {plan}"
    );
    assert_eq!(plan["skipped"][0]["date"], "2027-01-24");

    // Move the second, cancel the fourth; the plan prints the same for the others.
    // The party's AC in-charge cannot touch the employees' federation meeting at their AC.
    let first = occ[0]["id"].to_string();
    for args in [["meetings", "cancel", &first], ["meetings", "show", &first]] {
        let mut a = vec!["--as", "9811111104"];
        a.extend(args);
        assert!(!run_env(&db, &[], &a).status.success(), "{args:?} in another wing");
    }
    let second = occ[1]["id"].to_string();
    let fourth = occ[3]["id"].to_string();
    ok(
        &db,
        &[
            "meetings",
            "move",
            &second,
            "--date",
            "2027-01-12",
            "--time",
            "16:30",
        ],
    );
    ok(&db, &["meetings", "cancel", &fourth]);
    let again = json(&ok_env(
        &db,
        &now,
        &["meetings", "plan", &id, "--weeks", "6", "--json"],
    ));
    for (a, b) in occ.iter().zip(again["occurrences"].as_array().unwrap()) {
        if a["id"].to_string() != second && a["id"].to_string() != fourth {
            assert_eq!(
                (&a["date"], &a["venue"], &a["chair"]),
                (&b["date"], &b["venue"], &b["chair"])
            );
        }
    }

    let ics = ok(&db, &["meetings", "ical", "--series", &id]);
    assert!(ics.contains("\r\n"), "iCalendar lines end in CRLF");
    let file = dir.path().join("series.ics");
    std::fs::write(&file, &ics).unwrap();
    let check = r#"
import sys, datetime, icalendar, recurring_ical_events
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
tz = [c for c in cal.walk('VTIMEZONE')]
assert len(tz) == 1 and str(tz[0]['TZID']) == 'Asia/Kolkata', tz
events = cal.walk('VEVENT')
master = [e for e in events if 'RRULE' in e]
assert len(master) == 1, len(master)
m = master[0]
rule = m['RRULE']
assert rule['FREQ'] == ['WEEKLY'] and rule['BYDAY'] == ['SU'], rule
start = m.decoded('DTSTART')
assert start.utcoffset() == datetime.timedelta(hours=5, minutes=30), start
assert (start.date(), start.hour, start.minute) == (datetime.date(2027, 1, 3), 11, 0), start
exdates = set()
for ex in (m.get('EXDATE') if isinstance(m.get('EXDATE'), list) else [m.get('EXDATE')]):
    for d in ex.dts:
        exdates.add(d.dt.date())
assert datetime.date(2027, 1, 24) in exdates, exdates   # the holiday
assert datetime.date(2027, 1, 31) in exdates, exdates   # the cancelled one
moved = [e for e in events if 'RECURRENCE-ID' in e and e.decoded('RECURRENCE-ID').date() == datetime.date(2027, 1, 10)]
assert len(moved) == 1
mv = moved[0].decoded('DTSTART')
assert (mv.date(), mv.hour, mv.minute) == (datetime.date(2027, 1, 12), 16, 30), mv
assert 'TS-AC-2' in str(moved[0]['LOCATION']), moved[0]['LOCATION']
# What a calendar app shows for January: the rule expanded with its exceptions applied.
shown = recurring_ical_events.of(cal).between(datetime.date(2027, 1, 1), datetime.date(2027, 2, 1))
days = sorted(e.decoded('DTSTART').date().isoformat() for e in shown)
assert days == ['2027-01-03', '2027-01-12', '2027-01-17'], days
print('ok', len(events))
"#;
    let out = Command::new(&py)
        .args(["-c", check, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the feed did not parse as expected: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A secret feed URL works until revoked: the server's view of it is in the API tests; here
    // the CLI prints it once and revokes it.
    let created = ok(&db, &["meetings", "feed", "create", "--series", &id]);
    assert!(
        created
            .lines()
            .any(|l| l.starts_with("/ical/") && l.ends_with(".ics")),
        "{created}"
    );
    ok(&db, &["meetings", "feed", "revoke", "1"]);
    assert!(
        !run_env(&db, &[], &["meetings", "feed", "revoke", "1"])
            .status
            .success()
    );
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Smtp(std::process::Child);
impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn overdue_reports_escalate_daily_and_the_emails_arrive_at_a_real_smtp_server() {
    let Some(py) = python() else { return };
    let (db, dir) = state();
    let maildir = dir.path().join("mail");
    let port = free_port();
    let _smtp = Smtp(
        Command::new(&py)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the SMTP server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    ok(&db, &["user", "email", "9811111102", "hill@example.org"]);
    ok(
        &db,
        &[
            "meetings",
            "chain",
            "--wing",
            "party",
            "--levels",
            "ac,district,division",
        ],
    );
    // A booth meeting on 10 January, organised by the AC in-charge; due 48 h later.
    let booth = "TS-AC-1-B0001";
    let m = json(&ok_env(
        &db,
        &[("SANGATHAN_NOW", "2027-01-08T09:00:00+05:30")],
        &[
            "--as",
            "9811111104",
            "meetings",
            "add",
            "--wing",
            "party",
            "--venue",
            booth,
            "--date",
            "2027-01-10",
            "--time",
            "11:00",
            "--json",
        ],
    ));
    let mid = m["id"].to_string();
    assert_eq!(m["report_due"], "2027-01-12T05:30:00Z");

    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let at = |t: &'static str| {
        [
            ("SANGATHAN_NOW", t),
            ("SANGATHAN_SMTP_URL", smtp_url.as_str()),
        ]
    };
    // Day 1 overdue: the AC level (the AC in-charge, also organiser), by SMS (logged).
    let r = json(&ok_env(
        &db,
        &at("2027-01-12T12:00:00+05:30"),
        &["meetings", "escalate", "--json"],
    ));
    assert_eq!(
        (r["overdue"].as_u64(), r["escalated"].as_u64()),
        (Some(1), Some(1))
    );
    let again = json(&ok_env(
        &db,
        &at("2027-01-12T18:00:00+05:30"),
        &["meetings", "escalate", "--json"],
    ));
    assert_eq!(again["escalated"], 0, "at most once a day");
    // Day 2: one level up, the district president, by email.
    let r = json(&ok_env(
        &db,
        &at("2027-01-13T12:00:00+05:30"),
        &["meetings", "escalate", "--json"],
    ));
    assert_eq!(r["escalated"], 1);
    let d = json(&ok_env(
        &db,
        &at("2027-01-13T12:01:00+05:30"),
        &["meetings", "deliver", "--json"],
    ));
    assert_eq!(d["failed"], 0, "{d}");
    assert!(d["sent"].as_u64().unwrap() >= 2, "{d}");
    // Delivered exactly once: a second round sends nothing.
    let d2 = json(&ok_env(
        &db,
        &at("2027-01-13T12:02:00+05:30"),
        &["meetings", "deliver", "--json"],
    ));
    assert_eq!(d2["sent"], 0, "{d2}");

    // The mail, read back by Python's mailbox module.
    let read = r#"
import sys, mailbox, email.header
box = mailbox.Maildir(sys.argv[1], create=False)
msgs = list(box)
for m in msgs:
    subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))
    body = m.get_payload(decode=True).decode(m.get_content_charset() or 'utf-8')
    print(m['To'], '|', subject, '|', body.replace('\n', ' '))
"#;
    let out = Command::new(&py)
        .args(["-c", read])
        .arg(&maildir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mails = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = mails.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one email (the district president's): {mails}"
    );
    assert!(lines[0].starts_with("hill@example.org |"), "{mails}");
    assert!(
        lines[0].contains("Meeting report overdue") && lines[0].contains("बैठक की रिपोर्ट बाकी"),
        "{mails}"
    );
    assert!(
        lines[0].contains(booth) && lines[0].contains(&format!("बैठक {mid}")),
        "{mails}"
    );

    // Filed, acknowledged up the chain from the CLI; the inbox shows what waits for whom.
    ok_env(
        &db,
        &at("2027-01-13T13:00:00+05:30"),
        &[
            "--as",
            "9811111104",
            "meetings",
            "report",
            &mid,
            "--held",
            "yes",
            "--attendance",
            "25",
        ],
    );
    // The filer is never their own recipient: it skips the AC level (the AC in-charge filed it).
    let inbox = json(&ok(
        &db,
        &[
            "--as",
            "9811111104",
            "meetings",
            "inbox",
            "9811111104",
            "--json",
        ],
    ));
    assert!(inbox["reports"].as_array().unwrap().is_empty(), "{inbox}");
    let inbox = json(&ok(
        &db,
        &[
            "--as",
            "9811111102",
            "meetings",
            "inbox",
            "9811111102",
            "--json",
        ],
    ));
    assert_eq!(inbox["reports"][0]["meeting"]["id"].to_string(), mid);
    assert!(
        !run_env(
            &db,
            &[],
            &["--as", "9811111104", "meetings", "inbox", "9811111102"]
        )
        .status
        .success(),
        "someone else's inbox"
    );
    assert!(
        !run_env(&db, &[], &["--as", "9811111104", "meetings", "ack", &mid])
            .status
            .success(),
        "not waiting for them"
    );
    ok(&db, &["--as", "9811111102", "meetings", "ack", &mid]);
    let inbox = json(&ok(&db, &["meetings", "inbox", "9811111101", "--json"]));
    assert_eq!(
        inbox["reports"][0]["meeting"]["id"].to_string(),
        mid,
        "climbed to the division"
    );
    let c = json(&ok(
        &db,
        &[
            "meetings",
            "compliance",
            "TS-DIV-NORTH",
            "--week",
            "2027-W01",
            "--json",
        ],
    ));
    assert_eq!(
        (c["unit"]["planned"].as_i64(), c["unit"]["late"].as_i64()),
        (Some(1), Some(1)),
        "{c}"
    );
    assert!(ok(&db, &["verify"]).starts_with("ok"));

    // The weekly digest names the one answerable for Hill's meetings, and reaches them by email.
    ok(&db, &["meetings", "charge", "9811111102", "--unit", "TS-DT-HILL", "--for", "meetings"]);
    let d = json(&ok_env(
        &db,
        &at("2027-01-18T09:00:00+05:30"),
        &["meetings", "digest", "TS-DIV-NORTH", "--week", "2027-W01", "--send", "--json"],
    ));
    let text = d["digest"]["text"].as_str().unwrap();
    assert!(text.contains("हुई बैठकें") && text.contains("Held:") && text.contains(booth), "{text}");
    assert!(text.contains("Hill President") && text.contains("ज़िम्मेदार"), "{text}");
    assert!(d["queued"].as_u64().unwrap() >= 2, "the division in-charge and the one in charge: {d}");
    let again = json(&ok_env(&db, &at("2027-01-18T10:00:00+05:30"), &["meetings", "digest", "TS-DIV-NORTH", "--week", "2027-W01", "--send", "--json"]));
    assert_eq!(again["queued"], 0, "once per week");
    ok_env(&db, &at("2027-01-18T10:01:00+05:30"), &["meetings", "deliver"]);
    let out = Command::new(&py).args(["-c", read]).arg(&maildir).output().unwrap();
    let mails = String::from_utf8(out.stdout).unwrap();
    assert!(mails.lines().any(|l| l.starts_with("hill@example.org |") && l.contains("Weekly digest")), "{mails}");
}

#[test]
fn talking_points_keep_versions_and_go_on_agendas() {
    let (db, _dir) = state();
    let now = [("SANGATHAN_NOW", "2026-12-20T10:00:00+05:30")];
    let add = ok(
        &db,
        &[
            "meetings", "points", "add", "--wing", "employees", "--title", "Old pension", "--hi",
            "पुरानी पेंशन योजना पर संगठन का रुख", "--audience", "government employees,teachers",
        ],
    );
    assert!(add.contains("draft"), "{add}");
    let list = json(&ok(&db, &["meetings", "points", "list", "--json"]));
    assert!(list["talking_points"].as_array().unwrap().is_empty(), "drafts are not offered: {list}");
    ok(
        &db,
        &[
            "meetings", "points", "edit", "1", "--wing", "employees", "--title", "Old pension scheme",
            "--hi", "पुरानी पेंशन योजना", "--en", "The old pension scheme", "--audience", "teachers", "--publish",
        ],
    );
    let v = json(&ok(&db, &["meetings", "points", "versions", "1", "--json"]));
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    assert_eq!(v["versions"][0]["title"], "Old pension");
    let m = json(&ok_env(
        &db,
        &now,
        &["meetings", "add", "--wing", "employees", "--venue", "TS-AC-1", "--date", "2027-01-10", "--time", "11:00", "--kind", "employees", "--json"],
    ));
    let mid = m["id"].to_string();
    ok(&db, &["meetings", "points", "attach", &mid, "1"]);
    ok(&db, &["meetings", "points", "attach", &mid, "1"]);
    let list = json(&ok(&db, &["meetings", "points", "list", "--audience", "teachers", "--json"]));
    assert_eq!(list["talking_points"][0]["uses"], 1, "attached twice to one agenda counts once");
    assert!(ok(&db, &["verify"]).starts_with("ok"));
}

/// Reads an iCalendar feed of single meetings (a unit's or a person's) with Python's
/// `icalendar` and `recurring_ical_events`: argv = file, moved id, cancelled id, kept id, the
/// id of a meeting that must not be in it. Prints `ok` or fails.
const SINGLES_CHECK: &str = r#"
import sys, datetime, icalendar, recurring_ical_events
path, moved_id, cancelled_id, kept_id, absent_id = sys.argv[1:]
cal = icalendar.Calendar.from_ical(open(path, 'rb').read())
tz = cal.walk('VTIMEZONE')
assert len(tz) == 1 and str(tz[0]['TZID']) == 'Asia/Kolkata', tz
ist = datetime.timedelta(hours=5, minutes=30)
events = {str(e['UID']): e for e in cal.walk('VEVENT')}
uid = lambda i: 'meeting-%s@sangathan' % i
assert set(events) == {uid(moved_id), uid(cancelled_id), uid(kept_id)}, sorted(events)
assert uid(absent_id) not in events
for e in events.values():
    assert 'RRULE' not in e and 'RECURRENCE-ID' not in e, e
    assert e.decoded('DTSTART').utcoffset() == ist, e.decoded('DTSTART')
    assert e.decoded('DURATION') == datetime.timedelta(minutes=120), e.decoded('DURATION')
    assert 'TS-AC-1-B0001' in str(e['LOCATION']), e['LOCATION']
mv = events[uid(moved_id)]
start = mv.decoded('DTSTART')
assert (start.date(), start.hour, start.minute) == (datetime.date(2027, 1, 12), 16, 30), start
assert int(mv['SEQUENCE']) >= 1 and str(mv['STATUS']) == 'CONFIRMED', (mv['SEQUENCE'], mv['STATUS'])
cx = events[uid(cancelled_id)]
assert str(cx['STATUS']) == 'CANCELLED', cx['STATUS']
assert cx.decoded('DTSTART').date() == datetime.date(2027, 1, 17)
assert int(cx['SEQUENCE']) >= 1, cx['SEQUENCE']
kept = events[uid(kept_id)].decoded('DTSTART')
assert (kept.date(), kept.hour) == (datetime.date(2027, 1, 24), 11), kept
# What a calendar app lists for January: the cancelled one, if listed, is marked so.
shown = recurring_ical_events.of(cal).between(datetime.date(2027, 1, 1), datetime.date(2027, 2, 1))
live = sorted(e.decoded('DTSTART').date().isoformat() for e in shown if str(e.get('STATUS')) != 'CANCELLED')
assert live == ['2027-01-12', '2027-01-24'], live
print('ok')
"#;

#[test]
fn unit_and_person_feeds_parse_in_a_third_party_parser() {
    let Some(py) = python() else { return };
    let (db, dir) = state();
    let now = [("SANGATHAN_NOW", "2027-01-08T09:00:00+05:30")];
    // Three booth meetings organised (and chaired) by Alpha's AC in-charge; one elsewhere.
    let add = |who: Option<&str>, venue: &str, date: &str| -> String {
        let mut a = Vec::new();
        if let Some(w) = who {
            a.extend(["--as", w]);
        }
        a.extend([
            "meetings", "add", "--wing", "party", "--venue", venue, "--date", date, "--time",
            "11:00", "--json",
        ]);
        json(&ok_env(&db, &now, &a))["id"].to_string()
    };
    let alpha = Some("9811111104");
    let moved = add(alpha, "TS-AC-1-B0001", "2027-01-10");
    let cancelled = add(alpha, "TS-AC-1-B0001", "2027-01-17");
    let kept = add(alpha, "TS-AC-1-B0001", "2027-01-24");
    let elsewhere = add(None, "TS-AC-3-B0001", "2027-01-10");
    ok_env(
        &db,
        &now,
        &["--as", "9811111104", "meetings", "move", &moved, "--date", "2027-01-12", "--time", "16:30"],
    );
    ok_env(&db, &now, &["--as", "9811111104", "meetings", "cancel", &cancelled]);
    let feeds = [
        ("unit", ok_env(&db, &now, &["meetings", "ical", "--unit", "TS-AC-1"])),
        (
            "person",
            ok_env(
                &db,
                &now,
                &["--as", "9811111104", "meetings", "ical", "--person", "9811111104"],
            ),
        ),
    ];
    for (name, ics) in feeds {
        assert!(ics.contains("\r\n") && !ics.contains("Alpha Incharge"), "{name}: {ics}");
        let file = dir.path().join(format!("{name}.ics"));
        std::fs::write(&file, &ics).unwrap();
        let out = Command::new(&py)
            .args(["-c", SINGLES_CHECK])
            .arg(&file)
            .args([&moved, &cancelled, &kept, &elsewhere])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the {name} feed did not parse as expected: {}\n{ics}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Someone else's calendar is not theirs to read.
    assert!(
        !run_env(&db, &now, &["--as", "9811111102", "meetings", "ical", "--person", "9811111104"])
            .status
            .success()
    );
}

#[test]
fn wkst_and_bysetpos_rules_plan_and_expand_like_dateutil() {
    let Some(py) = python() else { return };
    let (db, dir) = state();
    let now = [("SANGATHAN_NOW", "2026-12-20T10:00:00+05:30")];
    // Every other week on Sunday and Tuesday, weeks from Sunday (3, 5, 17, 19 Jan …; Monday
    // weeks would give 3, 12, 17, 26 Jan …), and the last Sunday of each month.
    for (rule, start, end, weeks, first) in [
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            "2027-01-03",
            "2027-06-30",
            "27",
            ["2027-01-03", "2027-01-05", "2027-01-17", "2027-01-19"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-1",
            "2027-01-01",
            "2027-12-31",
            "53",
            ["2027-01-31", "2027-02-28", "2027-03-28", "2027-04-25"],
        ),
    ] {
        let series = json(&ok_env(
            &db,
            &now,
            &[
                "meetings", "series", "add", "--wing", "employees", "--unit", "TS-DIV-NORTH",
                "--rotate", "ac", "--rule", rule, "--time", "11:00", "--start", start, "--end",
                end, "--json",
            ],
        ));
        let id = series["id"].to_string();
        let plan = json(&ok_env(
            &db,
            &now,
            &["meetings", "plan", &id, "--weeks", weeks, "--from", start, "--json"],
        ));
        let planned: Vec<String> = plan["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["date"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&planned[..4], first, "{rule}");
        assert!(plan["skipped"].as_array().unwrap().is_empty(), "{plan}");
        let ics = ok(&db, &["meetings", "ical", "--series", &id]);
        let file = dir.path().join(format!("series-{id}.ics"));
        std::fs::write(&file, &ics).unwrap();
        let check = r#"
import sys, json, datetime, icalendar, recurring_ical_events
from dateutil.rrule import rrulestr
rule, start, end, path = sys.argv[1:]
s = datetime.datetime.fromisoformat(start)
e = datetime.datetime.fromisoformat(end) + datetime.timedelta(days=1)
by_dateutil = [d.date().isoformat() for d in rrulestr(rule, dtstart=s).between(s, e, inc=True)]
cal = icalendar.Calendar.from_ical(open(path, 'rb').read())
master = [v for v in cal.walk('VEVENT') if 'RRULE' in v]
assert len(master) == 1
feed_rule = master[0]['RRULE'].to_ical().decode()
shown = recurring_ical_events.of(cal).between(s.date(), e.date())
by_feed = sorted(v.decoded('DTSTART').date().isoformat() for v in shown)
print(json.dumps({"dateutil": by_dateutil, "feed": by_feed, "rule": feed_rule}))
"#;
        let out = Command::new(&py)
            .args(["-c", check, rule, start, end])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}\n{ics}", String::from_utf8_lossy(&out.stderr));
        let got = json(&String::from_utf8(out.stdout).unwrap());
        let as_list = |v: &Value| -> Vec<String> {
            v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
        };
        assert_eq!(planned, as_list(&got["dateutil"]), "{rule}: planned vs dateutil");
        assert_eq!(planned, as_list(&got["feed"]), "{rule}: planned vs the feed in a calendar app");
        let feed_rule = got["rule"].as_str().unwrap();
        for part in rule.split(';') {
            assert!(feed_rule.contains(part), "{part} kept in the feed's rule: {feed_rule}");
        }
    }
}

#[test]
fn the_serve_job_escalates_and_a_failed_email_is_retried_after_its_back_off() {
    let Some(py) = python() else { return };
    let (db, dir) = state();
    ok(&db, &["user", "email", "9811111104", "alpha@example.org"]);
    // A booth meeting on 10 January with its report due a day later (not the default two).
    let add = |hours: &str| {
        run_env(
            &db,
            &[("SANGATHAN_NOW", "2027-01-08T09:00:00+05:30")],
            &[
                "--as", "9811111104", "meetings", "add", "--wing", "party", "--venue",
                "TS-AC-1-B0001", "--date", "2027-01-10", "--time", "11:00", "--due-hours", hours,
                "--json",
            ],
        )
    };
    assert!(!add("0").status.success(), "--due-hours 0 is refused");
    assert!(!add("721").status.success(), "at most 30 days");
    let o = add("24");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = json(&String::from_utf8(o.stdout).unwrap());
    assert_eq!(m["report_due"], "2027-01-11T05:30:00Z");

    // Serving the day after, with the mail relay down: the background job escalates at once
    // (the organiser, by email) and tries to deliver, which fails.
    let now = "2027-01-11T12:00:00+05:30";
    let smtp_port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let serve_port = free_port().to_string();
    let mut server = Command::new(BIN);
    server
        .args(["--db", &db, "serve", "--addr", &format!("127.0.0.1:{serve_port}")])
        .env_remove("SANGATHAN_DB")
        .env_remove("RUST_LOG")
        .env("SANGATHAN_NOW", now)
        .env("SANGATHAN_SMTP_URL", &smtp_url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = Smtp(server.spawn().unwrap());
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut log = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains("notification not delivered; will retry");
                log.push(line);
                if done {
                    break;
                }
            }
            Err(_) => panic!("the serve job never tried to deliver an escalation:\n{}", log.join("\n")),
        }
    }
    // (The server stays up: its clock is pinned to `now`, when nothing more falls due.)
    // The job escalated today's step: a manual run the same day finds it done.
    let at = |t: &'static str| [("SANGATHAN_NOW", t), ("SANGATHAN_SMTP_URL", smtp_url.as_str())];
    let r = json(&ok_env(&db, &at(now), &["meetings", "escalate", "--json"]));
    assert_eq!((r["overdue"].as_u64(), r["escalated"].as_u64()), (Some(1), Some(0)), "{r}");

    // Not retried before its back-off (a minute after the failure), even with the relay up.
    let maildir = dir.path().join("mail");
    let _smtp = Smtp(
        Command::new(&py)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{smtp_port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the SMTP server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let d = json(&ok_env(&db, &at("2027-01-11T12:00:30+05:30"), &["meetings", "deliver", "--json"]));
    assert_eq!((d["sent"].as_u64(), d["failed"].as_u64()), (Some(0), Some(0)), "{d}");
    // After it: delivered, once. (The job logs the failure just before recording it: a round
    // that finds nothing due yet sends nothing and claims nothing, so it is asked again.)
    let mut sent = 0;
    for _ in 0..40 {
        let d = json(&ok_env(&db, &at("2027-01-11T12:01:30+05:30"), &["meetings", "deliver", "--json"]));
        assert_eq!(d["failed"], 0, "{d}");
        sent = d["sent"].as_u64().unwrap();
        if sent > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(sent, 1);
    let d = json(&ok_env(&db, &at("2027-01-11T12:10:00+05:30"), &["meetings", "deliver", "--json"]));
    assert_eq!(d["sent"], 0, "{d}");
    let read = r#"
import sys, mailbox, email.header
for m in mailbox.Maildir(sys.argv[1], create=False):
    subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))
    print(m['To'], '|', subject)
"#;
    let out = Command::new(&py).args(["-c", read]).arg(&maildir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mails = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = mails.lines().collect();
    assert_eq!(lines.len(), 1, "{mails}");
    assert!(lines[0].starts_with("alpha@example.org |") && lines[0].contains("Meeting report overdue"), "{mails}");
    drop(child);
}
