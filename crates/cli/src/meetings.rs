//! `sangathan meetings …`: rotating series, single meetings, chairs, reports and their chain,
//! escalation, compliance, calendar feeds, and the notification outbox.

use crate::access::Operator;
use anyhow::{anyhow, bail};
use chrono::{NaiveDate, NaiveTime};
use clap::{Args, Subcommand};
use sangathan_core::access::Action;
use sangathan_core::geo::UnitKind;
use sangathan_core::ids::Mobile;
use sangathan_store::meetings::{FeedKind, MeetingView, NewMeeting, NewReport, NewSeries};
use sangathan_store::{DynStore, clock};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum MeetingsCmd {
    /// Rotating meeting series.
    #[command(subcommand)]
    Series(SeriesCmd),
    /// Place (venue and chair) and print a series' occurrences for the next weeks.
    Plan {
        id: i64,
        #[arg(long, default_value_t = 8)]
        weeks: u32,
        /// First day (default: today, IST).
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        json: bool,
    },
    /// A single meeting (e.g. a booth meeting called this week).
    Add {
        #[arg(long)]
        wing: String,
        /// The venue unit's code.
        #[arg(long)]
        venue: String,
        #[arg(long)]
        date: NaiveDate,
        #[arg(long, value_parser = parse_time)]
        time: NaiveTime,
        #[arg(long, default_value = "booth")]
        kind: String,
        /// The chair's person id (default: chosen like a series' chairs).
        #[arg(long)]
        chair: Option<i64>,
        /// Hours after the start before the report is due (1 to 720).
        #[arg(long, default_value_t = sangathan_core::meetings::REPORT_DUE_HOURS as u32,
              value_parser = clap::value_parser!(u32).range(1..=720))]
        due_hours: u32,
        #[arg(long)]
        json: bool,
    },
    /// One meeting, with its report if filed.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Move one meeting; the rest of its series stays as planned.
    Move {
        id: i64,
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_parser = parse_time)]
        time: Option<NaiveTime>,
        #[arg(long)]
        venue: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Cancel one meeting.
    Cancel {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Set a meeting's chair by hand (a person id).
    Chair { id: i64, person: i64 },
    /// The chair declines (with --as, the chair themself); another is chosen.
    Decline {
        id: i64,
        /// The declining person's id (default: the --as user).
        #[arg(long)]
        person: Option<i64>,
    },
    /// Ask a senior to preside (a person id, or the nearest senior not asked yet); unanswered
    /// requests move one senior up when `escalate` runs after their time.
    Request {
        id: i64,
        #[arg(long)]
        person: Option<i64>,
        /// Hours to answer.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        #[arg(long)]
        json: bool,
    },
    /// Accept a request to preside (as the --as user).
    Accept { id: i64 },
    /// File (or correct) a meeting's report.
    Report(ReportArgs),
    /// A unit's weekly digest (Hindi and English); --send queues it to its office-bearers and
    /// those in charge within it (once per week).
    Digest {
        unit: String,
        /// ISO week, e.g. 2027-W02 (default: last week).
        #[arg(long)]
        week: Option<String>,
        #[arg(long)]
        send: bool,
        #[arg(long)]
        json: bool,
    },
    /// Put a user (their mobile) in charge of a unit's drive or meetings.
    Charge {
        mobile: String,
        #[arg(long)]
        unit: String,
        #[arg(long = "for", value_parser = ["drive", "meetings"])]
        what: String,
    },
    /// What a user (their mobile) answers for.
    Charges {
        mobile: String,
        #[arg(long)]
        json: bool,
    },
    /// Reports waiting for a person (their mobile).
    Inbox {
        mobile: String,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge a report waiting for the --as user; it climbs to the next level.
    Ack {
        meeting_id: i64,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Return a report waiting for the --as user to its filer, saying what to correct.
    Return {
        meeting_id: i64,
        #[arg(long)]
        comment: String,
    },
    /// Run the overdue-report check now (serving runs it hourly; each meeting once a day).
    Escalate {
        #[arg(long)]
        json: bool,
    },
    /// Meetings planned, held, reported on time, late and missing in a unit for one week.
    Compliance {
        unit: String,
        /// ISO week, e.g. 2027-W02 (default: this week).
        #[arg(long)]
        week: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// An iCalendar feed on standard output.
    Ical {
        #[arg(long, conflicts_with_all = ["unit", "person"])]
        series: Option<i64>,
        #[arg(long, conflicts_with = "person")]
        unit: Option<String>,
        /// A person's mobile: the meetings they chair or organise.
        #[arg(long)]
        person: Option<String>,
    },
    /// Secret calendar feed URLs.
    #[command(subcommand)]
    Feed(FeedCmd),
    /// A date no series meets on.
    Holiday { date: NaiveDate, name: String },
    /// A unit that cannot host meetings for a while.
    Unavailable {
        unit: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The levels a wing's reports climb, e.g. --levels ac,district,division.
    Chain {
        #[arg(long)]
        wing: String,
        #[arg(long)]
        levels: String,
    },
    /// The talking-point library.
    #[command(subcommand)]
    Points(PointsCmd),
    /// Send the notifications that are due now (SMTP from SANGATHAN_SMTP_URL; SMS and WhatsApp log).
    Deliver {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum SeriesCmd {
    /// Create a rotating series; with --json prints it (with its `id`).
    Add {
        #[arg(long)]
        wing: String,
        /// The organising unit (e.g. a division).
        #[arg(long)]
        unit: String,
        #[arg(long, value_parser = ["ac", "sector", "booth"])]
        rotate: String,
        /// An RFC 5545 weekly or monthly rule, e.g. FREQ=WEEKLY;BYDAY=SU.
        #[arg(long)]
        rule: String,
        /// Local time (IST), HH:MM.
        #[arg(long, value_parser = parse_time)]
        time: NaiveTime,
        #[arg(long)]
        start: NaiveDate,
        #[arg(long)]
        end: Option<NaiveDate>,
        /// employees, booth, sector or workers.
        #[arg(long, default_value = "employees")]
        kind: String,
        #[arg(long, default_value_t = 0)]
        min_gap_weeks: u32,
        /// Minutes a meeting lasts.
        #[arg(long, default_value_t = 120)]
        minutes: u32,
        /// Hours after the start before the report is due (1 to 720).
        #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u32).range(1..=720))]
        due_hours: u32,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum PointsCmd {
    /// Published talking points (with --drafts, drafts too), most used first.
    List {
        #[arg(long)]
        audience: Option<String>,
        #[arg(long)]
        drafts: bool,
        #[arg(long)]
        json: bool,
    },
    /// Add one (a draft unless --publish).
    Add(PointArgs),
    /// Edit one: the next version (earlier versions are kept).
    Edit {
        id: i64,
        #[command(flatten)]
        point: PointArgs,
    },
    /// Every version of one.
    Versions {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Put talking points on a meeting's agenda.
    Attach { meeting_id: i64, ids: Vec<i64> },
}

#[derive(Args)]
pub struct PointArgs {
    #[arg(long)]
    pub wing: String,
    #[arg(long)]
    pub title: String,
    /// The text in Hindi.
    #[arg(long, default_value = "")]
    pub hi: String,
    /// The text in English.
    #[arg(long, default_value = "")]
    pub en: String,
    /// Audience tags, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,
    #[arg(long)]
    pub publish: bool,
}

impl PointArgs {
    fn point(self) -> sangathan_store::meetings::NewPoint {
        sangathan_store::meetings::NewPoint {
            wing: self.wing,
            title: self.title,
            body_hi: self.hi,
            body_en: self.en,
            audience: self.audience,
            published: self.publish,
        }
    }
}

#[derive(Subcommand)]
pub enum FeedCmd {
    /// A new secret feed URL (printed once).
    Create {
        #[arg(long, conflicts_with_all = ["unit", "person"])]
        series: Option<i64>,
        #[arg(long, conflicts_with = "person")]
        unit: Option<String>,
        #[arg(long)]
        person: Option<String>,
    },
    /// Revoke a feed: its URL stops working at once.
    Revoke { id: i64 },
}

#[derive(Args)]
pub struct ReportArgs {
    pub meeting_id: i64,
    /// Did the meeting happen?
    #[arg(long, value_parser = ["yes", "no"])]
    pub held: String,
    /// Why it did not happen.
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long, default_value_t = 0)]
    pub attendance: u32,
    #[arg(long, default_value_t = 0)]
    pub employees_met: u32,
    #[arg(long, default_value_t = 0)]
    pub new_supporters: u32,
    #[arg(long, default_value_t = 0)]
    pub new_members: u32,
    #[arg(long, default_value = "")]
    pub agenda: String,
    #[arg(long, default_value = "")]
    pub issues: String,
    #[arg(long, default_value = "")]
    pub notes: String,
    /// Members present (person ids, comma-separated; default: as filed before).
    #[arg(long, value_delimiter = ',')]
    pub present: Vec<i64>,
    /// Members enrolled at the meeting (person ids; default: as filed before).
    #[arg(long, value_delimiter = ',')]
    pub enrolled: Vec<i64>,
    #[arg(long)]
    pub json: bool,
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| format!("not a time (HH:MM): {s}"))
}

pub(crate) fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn show_meeting(m: &MeetingView) {
    println!(
        "{:>6}  {} {}  {:<14} {:<10} chair {:<8} {:<9} report {}",
        m.id,
        m.date,
        m.time,
        m.venue.as_deref().unwrap_or("-"),
        m.kind,
        m.chair.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
        m.status,
        m.report
    );
}

/// The person a mobile logs in as.
async fn person_of(s: &DynStore, mobile: &str) -> anyhow::Result<i64> {
    let m = Mobile::parse(mobile).map_err(|e| anyhow!("{} | {}", e.en, e.hi))?;
    Ok(s.user_by_mobile(m.e164())
        .await?
        .ok_or_else(|| anyhow!("no user logs in with {mobile}"))?
        .person_id)
}

/// Refuse unless the command's user may do `action` at `unit` (the operator may do all).
pub(crate) async fn must_at(op: &Operator, action: Action, unit: &str) -> anyhow::Result<()> {
    op.must_be_able(action)?;
    op.wings(action, unit).await?;
    Ok(())
}

/// Like [`must_at`], in one wing: a meeting of a wing the user holds no post of there does not
/// exist for them.
async fn must_at_wing(op: &Operator, action: Action, unit: &str, wing: &str) -> anyhow::Result<()> {
    op.must_be_able(action)?;
    if op.wings_named(action, unit, Some(wing)).await?.is_none() {
        bail!("unknown unit: {unit}");
    }
    Ok(())
}

pub(crate) fn person_id_of(op: &Operator) -> Option<i64> {
    op.actor
        .strip_prefix("person:")
        .and_then(|p| p.parse().ok())
}

/// A meeting the command's user may do `action` on: at a venue in their scope, in its wing.
async fn meeting_at(s: &DynStore, op: &Operator, id: i64, action: Action) -> anyhow::Result<MeetingView> {
    let m = venue_of(s, id).await?;
    must_at_wing(op, action, m.venue.as_deref().unwrap_or(""), &m.wing).await?;
    Ok(m)
}

async fn venue_of(s: &DynStore, id: i64) -> anyhow::Result<MeetingView> {
    s.meeting(id)
        .await?
        .ok_or_else(|| anyhow!("no meeting {id}"))
}

pub async fn run(
    s: &DynStore,
    as_user: Option<&str>,
    cmd: MeetingsCmd,
) -> anyhow::Result<ExitCode> {
    let op = Operator::resolve(s, as_user).await?;
    match cmd {
        MeetingsCmd::Series(SeriesCmd::Add {
            wing,
            unit,
            rotate,
            rule,
            time,
            start,
            end,
            kind,
            min_gap_weeks,
            minutes,
            due_hours,
            json,
        }) => {
            must_at_wing(&op, Action::ManageMeetings, &unit, &wing).await?;
            let n = NewSeries {
                wing,
                unit,
                rotate: UnitKind::parse(&rotate)
                    .ok_or_else(|| anyhow!("--rotate: ac, sector or booth"))?,
                rule,
                time,
                minutes,
                start,
                end,
                kind,
                min_gap_weeks,
                due_hours,
            };
            let series = s.add_series(&n, &op.actor).await?;
            op.audit("add-series", Some(format!("series:{}", series.id)), None)
                .await?;
            if json {
                print_json(&series)?;
            } else {
                println!(
                    "series {}: {} meeting of {} every {} at {} from {}, rotating across {} {}(s)",
                    series.id,
                    series.kind,
                    series.unit,
                    series.rule,
                    series.time,
                    series.start,
                    series.pool.len(),
                    series.rotate.as_str()
                );
            }
        }
        MeetingsCmd::Series(SeriesCmd::Show { id, json }) => {
            let series = s
                .series(id)
                .await?
                .ok_or_else(|| anyhow!("no series {id}"))?;
            must_at_wing(&op, Action::ViewMeetings, &series.unit, &series.wing).await?;
            if json {
                print_json(&series)?;
            } else {
                println!(
                    "series {}: {} of {} ({}), {} at {}, pool {}",
                    series.id,
                    series.kind,
                    series.unit,
                    series.wing,
                    series.rule,
                    series.time,
                    series.pool.join(" ")
                );
            }
        }
        MeetingsCmd::Plan {
            id,
            weeks,
            from,
            json,
        } => {
            let series = s
                .series(id)
                .await?
                .ok_or_else(|| anyhow!("no series {id}"))?;
            must_at_wing(&op, Action::ManageMeetings, &series.unit, &series.wing).await?;
            let plan = s
                .plan(id, from.unwrap_or_else(clock::today), weeks, &op.actor)
                .await?
                .ok_or_else(|| anyhow!("no series {id}"))?;
            op.audit(
                "plan-series",
                Some(format!("series:{id} {weeks} weeks")),
                None,
            )
            .await?;
            if json {
                print_json(&plan)?;
            } else {
                for m in &plan.occurrences {
                    show_meeting(m);
                    println!("        {}", m.why);
                }
                for k in &plan.skipped {
                    println!("  skip  {}  {}", k.date, k.reason);
                }
            }
        }
        MeetingsCmd::Add {
            wing,
            venue,
            date,
            time,
            kind,
            chair,
            due_hours,
            json,
        } => {
            must_at_wing(&op, Action::ManageMeetings, &venue, &wing).await?;
            let n = NewMeeting {
                wing,
                venue,
                date,
                time,
                minutes: 120,
                kind,
                chair,
                organiser: person_id_of(&op),
                due_hours,
            };
            let m = s.add_meeting(&n, &op.actor).await?;
            op.audit("add-meeting", Some(format!("meeting:{}", m.id)), None)
                .await?;
            if json {
                print_json(&m)?
            } else {
                show_meeting(&m)
            }
        }
        MeetingsCmd::Show { id, json } => {
            let m = meeting_at(s, &op, id, Action::ViewMeetings).await?;
            let r = s.report(id).await?;
            if json {
                print_json(&serde_json::json!({"meeting": m, "report": r}))?;
            } else {
                show_meeting(&m);
                println!("        {}", m.why);
                if let Some(r) = r {
                    println!(
                        "report: {} ({}), level {}, revision {}",
                        r.status, r.timing, r.level, r.revision
                    );
                    for st in &r.route {
                        println!(
                            "  level {} {} {} {}: {}",
                            st.level, st.unit, st.person_id, st.name, st.state
                        );
                    }
                }
            }
        }
        MeetingsCmd::Move {
            id,
            date,
            time,
            venue,
            json,
        } => {
            let m = meeting_at(s, &op, id, Action::ManageMeetings).await?;
            if let Some(v) = &venue {
                must_at_wing(&op, Action::ManageMeetings, v, &m.wing).await?;
            }
            let m = s
                .move_meeting(id, date, time, venue.as_deref(), &op.actor)
                .await?;
            op.audit("move-meeting", Some(format!("meeting:{id}")), None)
                .await?;
            if json {
                print_json(&m)?
            } else {
                show_meeting(&m)
            }
        }
        MeetingsCmd::Cancel { id, json } => {
            meeting_at(s, &op, id, Action::ManageMeetings).await?;
            let m = s.cancel_meeting(id, &op.actor).await?;
            op.audit("cancel-meeting", Some(format!("meeting:{id}")), None)
                .await?;
            if json {
                print_json(&m)?
            } else {
                show_meeting(&m)
            }
        }
        MeetingsCmd::Chair { id, person } => {
            meeting_at(s, &op, id, Action::ManageMeetings).await?;
            let m = s.set_chair(id, person, &op.actor).await?;
            op.audit(
                "set-chair",
                Some(format!("meeting:{id} person:{person}")),
                None,
            )
            .await?;
            show_meeting(&m);
        }
        MeetingsCmd::Decline { id, person } => {
            let person = match (person, person_id_of(&op)) {
                (Some(p), None) => p,
                (None, Some(me)) => me,
                (Some(p), Some(me)) if p == me => me,
                _ => bail!("a chair declines for themself: use --as their mobile (or, as the operator, --person ID)"),
            };
            // A pending request to preside is declined (the next senior is asked); otherwise the
            // chair steps down and another is chosen.
            let asked = s.chair_requests(id).await?.iter().any(|r| r.person_id == person && r.state == "pending");
            let m = if asked {
                s.answer_request(id, person, false, clock::now()).await?
            } else {
                s.decline_chair(id, person).await?
            };
            op.audit("decline-chair", Some(format!("meeting:{id} person:{person}")), None)
                .await?;
            show_meeting(&m);
        }
        MeetingsCmd::Request { id, person, hours, json } => {
            let m = venue_of(s, id).await?;
            if person_id_of(&op).is_none() || m.organiser != person_id_of(&op) {
                must_at_wing(&op, Action::ManageMeetings, m.venue.as_deref().unwrap_or(""), &m.wing).await?;
            }
            let rs = s.request_chair(id, person, hours, &op.actor, clock::now()).await?;
            op.audit("request-chair", Some(format!("meeting:{id}")), None).await?;
            if json {
                print_json(&serde_json::json!({ "requests": rs }))?;
            } else {
                for r in &rs {
                    println!("{} {} ({}): {} until {}", r.person_id, r.name, r.meeting_id, r.state, r.due_at);
                }
            }
        }
        MeetingsCmd::Accept { id } => {
            let me = person_id_of(&op).ok_or_else(|| anyhow!("say who accepts: --as MOBILE"))?;
            let m = s.answer_request(id, me, true, clock::now()).await?;
            op.audit("accept-chair", Some(format!("meeting:{id}")), None).await?;
            show_meeting(&m);
        }
        MeetingsCmd::Digest { unit, week, send, json } => {
            must_at(&op, Action::ViewMeetings, &unit).await?;
            let monday = match week {
                Some(w) => sangathan_core::meetings::parse_week(&w).map_err(|e| anyhow!("--week: {} | {}", e.en, e.hi))?,
                None => clock::today() - chrono::Duration::days(7),
            };
            let d = sangathan_server::digest::compose(s, &unit, monday, clock::now())
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            let queued = if send {
                installation_wide(&op)?;
                let n = sangathan_server::digest::send(s, &d, clock::now()).await?;
                op.audit("send-digest", Some(format!("{} {}", d.unit, d.week)), None).await?;
                Some(n)
            } else {
                None
            };
            if json {
                print_json(&serde_json::json!({ "digest": d, "queued": queued }))?;
            } else {
                println!("{}\n\n{}", d.subject, d.text);
                if let Some(n) = queued {
                    eprintln!("{n} notification(s) queued");
                }
            }
        }
        MeetingsCmd::Charge { mobile, unit, what } => {
            must_at(&op, Action::ManageUsers, &unit).await?;
            let p = person_of(s, &mobile).await?;
            let c = s.add_charge(p, &unit, &what, &op.actor).await?;
            op.audit("add-charge", Some(format!("charge:{} {}", c.id, c.unit)), Some(p)).await?;
            println!("charge {}: {} answers for the {} of {}", c.id, c.name, c.what, c.unit);
        }
        MeetingsCmd::Charges { mobile, json } => {
            let p = person_of(s, &mobile).await?;
            if person_id_of(&op).is_some_and(|me| me != p) {
                op.must_be_able(Action::ManageUsers)?;
            }
            let cs = s.charges_of(p).await?;
            if json {
                print_json(&serde_json::json!({ "charges": cs }))?;
            } else {
                for c in &cs {
                    println!("{:>4}  {:<10} {}", c.id, c.what, c.unit);
                }
            }
        }
        MeetingsCmd::Report(a) => {
            let m = venue_of(s, a.meeting_id).await?;
            // The chair and organiser may always report their meeting; others need the right in scope.
            let me = person_id_of(&op);
            if me.is_none() || (m.chair != me && m.organiser != me) {
                must_at_wing(&op, Action::FileReport, m.venue.as_deref().unwrap_or(""), &m.wing).await?;
            }
            let r = NewReport {
                held: a.held == "yes",
                reason: a.reason,
                attendance: a.attendance,
                employees_met: a.employees_met,
                new_supporters: a.new_supporters,
                new_members: a.new_members,
                agenda: a.agenda,
                issues: a.issues,
                notes: a.notes,
                present: (!a.present.is_empty()).then_some(a.present),
                enrolled: (!a.enrolled.is_empty()).then_some(a.enrolled),
            };
            let v = s
                .file_report(a.meeting_id, &r, &op.actor, clock::now())
                .await?;
            op.audit(
                "file-report",
                Some(format!("meeting:{}", a.meeting_id)),
                None,
            )
            .await?;
            if a.json {
                print_json(&v)?;
            } else {
                println!(
                    "report of meeting {} filed ({}), waiting at level {}",
                    a.meeting_id, v.timing, v.level
                );
            }
        }
        MeetingsCmd::Inbox { mobile, json } => {
            let person = person_of(s, &mobile).await?;
            if let Some(me) = person_id_of(&op)
                && me != person
            {
                bail!("an inbox is its owner's: --as {mobile}");
            }
            let items = s.inbox(person).await?;
            op.audit("read-inbox", Some(format!("person:{person}")), None)
                .await?;
            if json {
                print_json(&serde_json::json!({ "reports": items }))?;
            } else if items.is_empty() {
                println!("no reports waiting");
            } else {
                for i in &items {
                    show_meeting(&i.meeting);
                    println!(
                        "        level {}, filed {} ({})",
                        i.level, i.filed_at, i.timing
                    );
                }
            }
        }
        MeetingsCmd::Ack {
            meeting_id,
            comment,
        } => {
            let me =
                person_id_of(&op).ok_or_else(|| anyhow!("say who acknowledges: --as MOBILE"))?;
            let v = s
                .act_on_report(meeting_id, me, true, comment.as_deref(), clock::now())
                .await?;
            op.audit(
                "acknowledge-report",
                Some(format!("meeting:{meeting_id}")),
                None,
            )
            .await?;
            println!(
                "acknowledged; the report is now {} (level {})",
                v.status, v.level
            );
        }
        MeetingsCmd::Return {
            meeting_id,
            comment,
        } => {
            let me = person_id_of(&op).ok_or_else(|| anyhow!("say who returns it: --as MOBILE"))?;
            let v = s
                .act_on_report(meeting_id, me, false, Some(&comment), clock::now())
                .await?;
            op.audit("return-report", Some(format!("meeting:{meeting_id}")), None)
                .await?;
            println!("returned to the filer for correction ({})", v.status);
        }
        MeetingsCmd::Escalate { json } => {
            let run = s.escalate(clock::now()).await?;
            op.audit(
                "escalate-reports",
                Some(format!("{} escalated", run.escalated)),
                None,
            )
            .await?;
            if json {
                print_json(&run)?;
            } else {
                println!(
                    "{} overdue, {} escalated now, {} notifications queued",
                    run.overdue, run.escalated, run.notified
                );
            }
        }
        MeetingsCmd::Compliance { unit, week, json } => {
            op.must_be_able(Action::ViewMeetings)?;
            let wings = op.wings(Action::ViewMeetings, &unit).await?;
            let monday = match week {
                Some(w) => sangathan_core::meetings::parse_week(&w)
                    .map_err(|e| anyhow!("--week: {} | {}", e.en, e.hi))?,
                None => clock::today(),
            };
            let c = s
                .compliance_in(&unit, monday, clock::now(), &wings)
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            if json {
                print_json(&c)?;
            } else {
                println!("{} ({} to {})", c.week, c.from, c.to);
                println!(
                    "{:<22} {:>7} {:>5} {:>8} {:>7} {:>5} {:>7}",
                    "unit", "planned", "held", "not held", "on time", "late", "missing"
                );
                for r in std::iter::once(&c.unit).chain(c.children.iter()) {
                    println!(
                        "{:<22} {:>7} {:>5} {:>8} {:>7} {:>5} {:>7}",
                        r.code, r.planned, r.held, r.not_held, r.on_time, r.late, r.missing
                    );
                }
            }
        }
        MeetingsCmd::Ical {
            series,
            unit,
            person,
        } => {
            let text = match (series, unit, person) {
                (Some(id), _, _) => {
                    let se = s
                        .series(id)
                        .await?
                        .ok_or_else(|| anyhow!("no series {id}"))?;
                    must_at_wing(&op, Action::ViewMeetings, &se.unit, &se.wing).await?;
                    sangathan_server::calendar::series_feed(s, id)
                        .await?
                        .ok_or_else(|| anyhow!("no series {id}"))?
                }
                (None, Some(u), _) => {
                    must_at(&op, Action::ViewMeetings, &u).await?;
                    sangathan_server::calendar::unit_feed(s, &u)
                        .await?
                        .ok_or_else(|| anyhow!("unknown unit: {u}"))?
                }
                (None, None, Some(m)) => {
                    let p = person_of(s, &m).await?;
                    if person_id_of(&op).is_some_and(|me| me != p) {
                        bail!("a person's calendar is their own: --as {m}");
                    }
                    sangathan_server::calendar::person_feed(s, p).await?
                }
                _ => bail!("which feed: --series ID, --unit CODE or --person MOBILE"),
            };
            print!("{text}");
        }
        MeetingsCmd::Feed(FeedCmd::Create {
            series,
            unit,
            person,
        }) => {
            let (kind, target) = match (series, unit, person) {
                (Some(id), _, _) => {
                    let se = s
                        .series(id)
                        .await?
                        .ok_or_else(|| anyhow!("no series {id}"))?;
                    must_at_wing(&op, Action::ViewMeetings, &se.unit, &se.wing).await?;
                    (FeedKind::Series, id)
                }
                (None, Some(u), _) => {
                    must_at(&op, Action::ViewMeetings, &u).await?;
                    (
                        FeedKind::Unit,
                        s.unit_id_of(&u)
                            .await?
                            .ok_or_else(|| anyhow!("unknown unit: {u}"))?,
                    )
                }
                (None, None, Some(m)) => {
                    let p = person_of(s, &m).await?;
                    if person_id_of(&op).is_some_and(|me| me != p) {
                        bail!("a person's calendar is their own: --as {m}");
                    }
                    (FeedKind::Person, p)
                }
                _ => bail!("which feed: --series ID, --unit CODE or --person MOBILE"),
            };
            let (id, token) = s.create_feed(kind, target, &op.actor).await?;
            op.audit(
                "create-feed",
                Some(format!("feed:{id} {}:{target}", kind.code())),
                None,
            )
            .await?;
            println!(
                "feed {id} (revoke with `sangathan meetings feed revoke {id}`); its URL, shown once:"
            );
            println!("/ical/{token}.ics");
        }
        MeetingsCmd::Feed(FeedCmd::Revoke { id }) => {
            let by = person_id_of(&op).map(|_| op.actor.as_str());
            if !s.revoke_feed(id, by).await? {
                bail!("no live feed {id}");
            }
            op.audit("revoke-feed", Some(format!("feed:{id}")), None)
                .await?;
            println!("feed {id} revoked");
        }
        MeetingsCmd::Holiday { date, name } => {
            installation_wide(&op)?;
            s.add_holiday(date, &name).await?;
            op.audit("add-holiday", Some(date.to_string()), None)
                .await?;
            println!("{date}: holiday ({name}); no series meets on it");
        }
        MeetingsCmd::Unavailable {
            unit,
            from,
            to,
            reason,
        } => {
            must_at(&op, Action::ManageMeetings, &unit).await?;
            s.set_unavailable(&unit, from, to, &reason).await?;
            op.audit(
                "unit-unavailable",
                Some(format!("{unit} {from}..{to}")),
                None,
            )
            .await?;
            println!("{unit} hosts no meetings from {from} to {to}");
        }
        MeetingsCmd::Chain { wing, levels } => {
            installation_wide(&op)?;
            let chain = sangathan_core::meetings::parse_chain(&levels)
                .map_err(|e| anyhow!("--levels: {} | {}", e.en, e.hi))?;
            s.set_report_chain(&wing, &chain).await?;
            op.audit("report-chain", Some(format!("{wing}: {levels}")), None)
                .await?;
            println!("{wing}: reports climb {levels}");
        }
        MeetingsCmd::Points(cmd) => points(s, &op, cmd).await?,
        MeetingsCmd::Deliver { json } => {
            installation_wide(&op)?;
            let providers = sangathan_server::notify::Providers::from_env()?;
            let d = sangathan_server::notify::deliver(s, &providers).await?;
            if json {
                print_json(&d)?;
            } else {
                println!(
                    "{} sent, {} failed (will retry), {} waiting for a provider",
                    d.sent, d.failed, d.held
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn installation_wide(op: &Operator) -> anyhow::Result<()> {
    match &op.scope {
        Some(sc) if !sc.is_state_admin() => bail!("this command is for the state office"),
        _ => Ok(()),
    }
}

/// The demo's meetings: the employees' federation meeting every Sunday in a different AC of the
/// Agra division since eight weeks ago (most reported, some late, one not held, the last two
/// missing), the division in-charge answerable for them, and a booth meeting this week whose
/// booth asked its sector in-charge to preside. Returns how many meetings were placed.
pub async fn demo_meetings(s: &DynStore) -> anyhow::Result<usize> {
    use chrono::Datelike;
    let today = clock::today();
    let start = today - chrono::Duration::days(today.weekday().num_days_from_sunday() as i64 + 56);
    // The first division (Agra in the UP preset).
    let state = s.state_code().await?;
    let Some(division) = s.units_within(&state, UnitKind::Division).await?.and_then(|d| d.into_iter().next()) else {
        return Ok(0);
    };
    let division = division.code;
    let acs = s.units_within(&division, UnitKind::Ac).await?.unwrap_or_default().len() as u32;
    let series = s
        .add_series(
            &NewSeries {
                wing: "employees".into(),
                unit: division.clone(),
                rotate: UnitKind::Ac,
                rule: "FREQ=WEEKLY;BYDAY=SU".into(),
                time: NaiveTime::from_hms_opt(11, 0, 0).expect("valid time"),
                minutes: 120,
                start,
                end: None,
                kind: "employees".into(),
                min_gap_weeks: 4.min(acs.saturating_sub(1)),
                due_hours: 48,
            },
            sangathan_store::OPERATOR,
        )
        .await?;
    let plan = s.plan(series.id, start, 16, sangathan_store::OPERATOR).await?.ok_or_else(|| anyhow!("the series vanished"))?;
    let now = clock::now();
    let past: Vec<&MeetingView> = plan.occurrences.iter().filter(|m| m.report_due < now).collect();
    let issues = ["वेतन आयोग की सिफ़ारिशें", "पुरानी पेंशन योजना", "संविदा कर्मचारियों का नियमितीकरण", "तबादला नीति"];
    for (i, m) in past.iter().enumerate() {
        // The last two stay unreported (they show as missing and escalate).
        if i + 2 >= past.len() {
            break;
        }
        let held = i != 3;
        let r = NewReport {
            held,
            reason: (!held).then(|| "भारी बारिश के कारण स्थगित".to_string()),
            attendance: if held { 40 + (i as u32 * 17) % 60 } else { 0 },
            employees_met: if held { 25 + (i as u32 * 11) % 40 } else { 0 },
            new_supporters: if held { 3 + (i as u32 * 5) % 9 } else { 0 },
            new_members: if held { (i as u32 * 3) % 7 } else { 0 },
            agenda: "संगठन की उपलब्धियाँ; सदस्यता अभियान".into(),
            issues: if held { issues[i % issues.len()].into() } else { String::new() },
            ..Default::default()
        };
        // Most on time, every third a day late.
        let filed = m.starts_at + chrono::Duration::hours(if i % 3 == 2 { 70 } else { 20 });
        let by = m.chair.map(|c| format!("person:{c}")).unwrap_or_else(|| sangathan_store::OPERATOR.into());
        s.file_report(m.id, &r, &by, filed).await?;
    }
    if let Some(p) = s.office_bearers(&division, clock::today()).await?.unwrap_or_default().first() {
        s.add_charge(p.0, &division, "meetings", sangathan_store::OPERATOR).await?;
    }
    // A booth meeting this coming Saturday at the demo's first booth president's booth
    // (UP-AC-86-B0001 in UP, see README), the booth asking its sector in-charge to preside.
    let first = match s.user_by_mobile("+919500000001").await? {
        Some(u) => s.posts(u.person_id, today).await?.into_iter().find(|p| p.active).map(|p| (u.person_id, p.unit)),
        None => None,
    };
    if let Some((pres, booth)) = first {
        let booth = booth.as_str();
        let saturday = today + chrono::Duration::days((6 - today.weekday().num_days_from_sunday() as i64).rem_euclid(7).max(1));
        let m = s
            .add_meeting(
                &NewMeeting {
                    wing: "party".into(),
                    venue: booth.into(),
                    date: saturday,
                    time: NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
                    minutes: 90,
                    kind: "booth".into(),
                    chair: None,
                    organiser: Some(pres),
                    due_hours: 48,
                },
                &format!("person:{pres}"),
            )
            .await?;
        s.request_chair(m.id, None, 48, &format!("person:{pres}"), now).await?;
    }
    Ok(plan.occurrences.len() + 1)
}

/// The wings in which the command's user may do `action` (all for the operator).
fn wings_for(op: &Operator, action: Action) -> sangathan_core::access::Wings {
    match &op.scope {
        None => sangathan_core::access::Wings::All,
        Some(sc) => sc.wings_for(action),
    }
}

async fn wing_allowed(s: &DynStore, op: &Operator, action: Action, wing: &str) -> anyhow::Result<()> {
    op.must_be_able(action)?;
    let id = s.wings().await?.into_iter().find(|w| w.code.eq_ignore_ascii_case(wing.trim())).map(|w| w.id);
    match id {
        Some(id) if !wings_for(op, action).contains(id) => bail!("your posts do not allow this in the {wing} wing"),
        _ => Ok(()),
    }
}

async fn points(s: &DynStore, op: &Operator, cmd: PointsCmd) -> anyhow::Result<()> {
    match cmd {
        PointsCmd::List { audience, drafts, json } => {
            op.must_be_able(Action::ViewMeetings)?;
            let wings = wings_for(op, if drafts { Action::ManageMeetings } else { Action::ViewMeetings });
            let ps = s.points(&wings, audience.as_deref(), drafts).await?;
            if json {
                print_json(&serde_json::json!({ "talking_points": ps }))?;
            } else {
                for p in &ps {
                    println!("{:>5}  v{:<3} {:<10} {:>4} uses  {}  [{}]", p.id, p.version, p.status, p.uses, p.title, p.audience.join(", "));
                }
            }
        }
        PointsCmd::Add(a) => {
            wing_allowed(s, op, Action::ManageMeetings, &a.wing).await?;
            let p = s.add_point(&a.point(), &op.actor).await?;
            op.audit("add-talking-point", Some(format!("point:{}", p.id)), None).await?;
            println!("talking point {} ({}, version {})", p.id, p.status, p.version);
        }
        PointsCmd::Edit { id, point } => {
            let old = s.point(id).await?.ok_or_else(|| anyhow!("no talking point {id}"))?;
            wing_allowed(s, op, Action::ManageMeetings, &old.wing).await?;
            let p = s.edit_point(id, &point.point(), &op.actor).await?;
            op.audit("edit-talking-point", Some(format!("point:{} v{}", p.id, p.version)), None).await?;
            println!("talking point {} now version {} ({})", p.id, p.version, p.status);
        }
        PointsCmd::Versions { id, json } => {
            let p = s.point(id).await?.ok_or_else(|| anyhow!("no talking point {id}"))?;
            wing_allowed(s, op, Action::ViewMeetings, &p.wing).await?;
            let vs = s.point_versions(id).await?;
            if json {
                print_json(&serde_json::json!({ "versions": vs }))?;
            } else {
                for v in &vs {
                    println!("v{:<3} {} {} {}", v.version, v.edited_at, v.status, v.title);
                }
            }
        }
        PointsCmd::Attach { meeting_id, ids } => {
            let m = venue_of(s, meeting_id).await?;
            let me = person_id_of(op);
            if me.is_none() || (m.chair != me && m.organiser != me) {
                must_at_wing(op, Action::FileReport, m.venue.as_deref().unwrap_or(""), &m.wing).await?;
            }
            let ps = s.attach_points(meeting_id, &ids).await?;
            op.audit("attach-talking-points", Some(format!("meeting:{meeting_id}")), None).await?;
            for p in &ps {
                println!("{:>5}  {}", p.id, p.title);
            }
        }
    }
    Ok(())
}
