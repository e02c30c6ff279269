//! `sangathan programmes …`, `sangathan volunteers …` and `sangathan bulletins …`: programmes,
//! duties and rosters, check-in by code, incidents and summaries; check-in codes, activation and
//! follow-up lists; bulletins and comment moderation. The same policy as the API, audited.

use crate::access::Operator;
use crate::meetings::{installation_wide, must_at, person_id_of, print_json};
use anyhow::{anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use sangathan_core::access::Action;
use sangathan_core::volunteers as vt;
use sangathan_store::volunteers::{NewBulletin, NewDuty, NewProgramme, Programme};
use sangathan_store::{DynStore, clock};

#[derive(Subcommand)]
pub enum ProgrammesCmd {
    /// A programme (rally, jan sabha, workers' conference, any event) at a venue.
    Add {
        #[arg(long)]
        wing: String,
        /// The organising unit.
        #[arg(long)]
        unit: String,
        /// The venue unit (within the organising unit).
        #[arg(long)]
        venue: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "event")]
        kind: String,
        /// Start, RFC 3339 (e.g. 2026-12-06T10:00:00+05:30).
        #[arg(long)]
        start: DateTime<Utc>,
        #[arg(long)]
        end: DateTime<Utc>,
        #[arg(long, default_value_t = 0)]
        expected: u32,
        #[arg(long)]
        json: bool,
    },
    /// Programmes whose venue lies within a unit, from now on.
    List {
        unit: String,
        #[arg(long)]
        json: bool,
    },
    /// A programme's roster: duties, people, gaps.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Add a duty with a shift (default: the programme's window) and a headcount.
    Duty {
        programme: i64,
        /// gate, stage, crowd, parking, water, first-aid or any short code.
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        headcount: u32,
        #[arg(long)]
        start: Option<DateTime<Utc>>,
        #[arg(long)]
        end: Option<DateTime<Utc>>,
        /// The duty leader's person id.
        #[arg(long)]
        leader: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Fill a duty's open places from the volunteer force within reach (or put one person on it).
    Fill {
        duty: i64,
        #[arg(long)]
        person: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Check a volunteer in by their code (the same code twice is one check-in).
    Checkin {
        programme: i64,
        code: String,
        /// When the scan happened (default: now).
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        #[arg(long)]
        json: bool,
    },
    /// Check a volunteer out.
    Checkout {
        programme: i64,
        code: String,
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        #[arg(long)]
        json: bool,
    },
    /// Add to the programme's discipline log.
    Incident {
        programme: i64,
        /// low, medium or high.
        #[arg(long)]
        severity: String,
        #[arg(long)]
        text: String,
    },
    /// Attendance per duty, no-shows, incidents.
    Summary {
        programme: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum VolunteersCmd {
    /// A volunteer's personal check-in code (made on first use); --svg writes their QR code.
    Code {
        person: i64,
        #[arg(long)]
        svg: Option<std::path::PathBuf>,
    },
    /// A volunteer cannot serve from one day to another.
    Unavailable {
        person: i64,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
    },
    /// Activation at a unit and its children.
    Activation {
        unit: String,
        #[arg(long, default_value_t = vt::ACTIVE_WINDOW_DAYS)]
        days: i64,
        #[arg(long)]
        json: bool,
    },
    /// Make a follow-up list of inactive workers in a unit, assigned to one person.
    Followups {
        unit: String,
        #[arg(long)]
        assign_to: i64,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long, default_value_t = vt::ACTIVE_WINDOW_DAYS)]
        days: i64,
        #[arg(long)]
        json: bool,
    },
    /// A unit's follow-up list.
    FollowupList {
        unit: String,
        #[arg(long)]
        open: bool,
        #[arg(long)]
        json: bool,
    },
    /// Record how a follow-up went: reached, not_reachable, will_come, moved_away.
    Outcome {
        id: i64,
        outcome: String,
        #[arg(long, default_value = "")]
        next_step: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum BulletinsCmd {
    /// Post a bulletin to a unit's subtree (optionally one wing).
    Post {
        #[arg(long)]
        unit: String,
        #[arg(long)]
        wing: Option<String>,
        #[arg(long)]
        title: String,
        /// The text in Hindi.
        #[arg(long)]
        hi: Option<String>,
        /// The text in English.
        #[arg(long)]
        en: Option<String>,
        #[arg(long)]
        pinned: bool,
        #[arg(long)]
        json: bool,
    },
    /// One bulletin with its comments (hidden ones too, with why).
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Hide a comment, keeping the reason.
    Hide {
        bulletin: i64,
        comment: i64,
        #[arg(long)]
        reason: String,
    },
}


/// A programme the command's user may do `action` on: its venue in their scope, in its wing.
async fn programme_at(
    s: &DynStore,
    op: &Operator,
    id: i64,
    action: Action,
) -> anyhow::Result<Programme> {
    op.must_be_able(action)?;
    let p = s
        .programme(id)
        .await?
        .ok_or_else(|| anyhow!("no programme {id}"))?;
    if op
        .wings_named(action, &p.venue, Some(&p.wing))
        .await?
        .is_none()
    {
        bail!("no programme {id}");
    }
    Ok(p)
}

/// Follow-up lists (names and mobiles): managing follow-ups at the unit in the volunteer force.
async fn followups_at(op: &Operator, unit: &str) -> anyhow::Result<()> {
    op.must_be_able(Action::ManageFollowups)?;
    if op.wings_named(Action::ManageFollowups, unit, Some("volunteers")).await?.is_none() {
        bail!("unknown unit: {unit}");
    }
    Ok(())
}


pub async fn programmes(
    s: &DynStore,
    as_user: Option<&str>,
    cmd: ProgrammesCmd,
) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    match cmd {
        ProgrammesCmd::Add {
            wing,
            unit,
            venue,
            title,
            kind,
            start,
            end,
            expected,
            json,
        } => {
            op.must_be_able(Action::ManageProgrammes)?;
            if op
                .wings_named(Action::ManageProgrammes, &unit, Some(&wing))
                .await?
                .is_none()
            {
                bail!("unknown unit: {unit}");
            }
            let p = s
                .add_programme(
                    &NewProgramme {
                        wing,
                        unit,
                        venue,
                        title,
                        kind,
                        starts_at: start,
                        ends_at: end,
                        expected,
                    },
                    &op.actor,
                )
                .await?;
            op.audit("add-programme", Some(format!("programme:{}", p.id)), None)
                .await?;
            if json {
                print_json(&p)?;
            } else {
                println!(
                    "programme {} at {} (report: meeting {})",
                    p.id, p.venue, p.meeting_id
                );
            }
        }
        ProgrammesCmd::List { unit, json } => {
            op.must_be_able(Action::ViewProgrammes)?;
            let wings = op.wings(Action::ViewProgrammes, &unit).await?;
            let list = s
                .programmes_within(&unit, clock::now(), &wings)
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            if json {
                print_json(&serde_json::json!({ "programmes": list }))?;
            } else {
                for p in list {
                    println!(
                        "{:>5}  {}  {:<16} {:<10} {}/{} places  {}",
                        p.id,
                        p.starts_at
                            .with_timezone(&clock::ist())
                            .format("%Y-%m-%d %H:%M"),
                        p.venue,
                        p.kind,
                        p.filled,
                        p.places,
                        p.title
                    );
                }
            }
        }
        ProgrammesCmd::Show { id, json } => {
            let p = programme_at(s, &op, id, Action::ViewProgrammes).await?;
            let r = s
                .roster(p.id)
                .await?
                .ok_or_else(|| anyhow!("no programme {id}"))?;
            op.audit("view-roster", Some(format!("programme:{id}")), None)
                .await?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{} — {} ({})",
                    r.programme.title, r.programme.venue_name, r.programme.venue
                );
                for d in r.duties {
                    println!(
                        "  duty {:>4} {:<14} {}/{} (confirmed {}, gap {})",
                        d.id, d.label, d.filled, d.headcount, d.confirmed, d.gap
                    );
                    for a in d.people {
                        println!(
                            "        {:>6} {:<24} {}{}",
                            a.person_id,
                            a.name,
                            a.status,
                            if a.checked_in_at.is_some() {
                                ", checked in"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
        ProgrammesCmd::Duty {
            programme,
            kind,
            label,
            headcount,
            start,
            end,
            leader,
            json,
        } => {
            programme_at(s, &op, programme, Action::ManageProgrammes).await?;
            let d = s
                .add_duty(
                    programme,
                    &NewDuty {
                        kind,
                        label,
                        starts_at: start,
                        ends_at: end,
                        headcount,
                        leader,
                    },
                )
                .await?;
            op.audit("add-duty", Some(format!("duty:{}", d.id)), None)
                .await?;
            if json {
                print_json(&d)?;
            } else {
                println!("duty {} ({}) for {} volunteers", d.id, d.label, d.headcount);
            }
        }
        ProgrammesCmd::Fill { duty, person, json } => {
            let d = s
                .duty(duty)
                .await?
                .ok_or_else(|| anyhow!("no duty {duty}"))?;
            programme_at(s, &op, d.programme_id, Action::ManageProgrammes).await?;
            let d = s.assign(duty, person, &op.actor, clock::now()).await?;
            op.audit("assign-duty", Some(format!("duty:{duty}")), person)
                .await?;
            if json {
                print_json(&d)?;
            } else {
                println!(
                    "duty {}: {}/{} places taken, {} open",
                    d.id, d.filled, d.headcount, d.gap
                );
            }
        }
        ProgrammesCmd::Checkin {
            programme,
            code,
            at,
            json,
        } => {
            programme_at(s, &op, programme, Action::CheckIn).await?;
            let c = s
                .check_in(programme, &code, at, &op.actor, clock::now())
                .await?;
            op.audit(
                "check-in",
                Some(format!("programme:{programme}")),
                Some(c.person_id),
            )
            .await?;
            if json {
                print_json(&c)?;
            } else {
                println!(
                    "{} {} at {}",
                    c.name,
                    if c.already {
                        "was already checked in"
                    } else {
                        "checked in"
                    },
                    c.in_at.with_timezone(&clock::ist()).format("%H:%M")
                );
            }
        }
        ProgrammesCmd::Checkout {
            programme,
            code,
            at,
            json,
        } => {
            programme_at(s, &op, programme, Action::CheckIn).await?;
            let c = s.check_out(programme, &code, at, clock::now()).await?;
            op.audit(
                "check-out",
                Some(format!("programme:{programme}")),
                Some(c.person_id),
            )
            .await?;
            if json {
                print_json(&c)?;
            } else {
                println!("{} checked out", c.name);
            }
        }
        ProgrammesCmd::Incident {
            programme,
            severity,
            text,
        } => {
            programme_at(s, &op, programme, Action::CheckIn).await?;
            let i = s
                .add_incident(programme, &severity, &text, &op.actor, clock::now())
                .await?;
            op.audit("add-incident", Some(format!("programme:{programme}")), None)
                .await?;
            println!("incident {} recorded", i.id);
        }
        ProgrammesCmd::Summary { programme, json } => {
            programme_at(s, &op, programme, Action::ViewProgrammes).await?;
            let r = s
                .programme_summary(programme)
                .await?
                .ok_or_else(|| anyhow!("no programme {programme}"))?;
            op.audit("view-roster", Some(format!("programme:{programme}")), None)
                .await?;
            if json {
                print_json(&r)?;
            } else {
                println!(
                    "{}: {} checked in, {} incidents",
                    r.programme.title,
                    r.checked_in,
                    r.incidents.len()
                );
                for d in r.duties {
                    println!(
                        "  {:<14} {}/{} present, {} no-shows",
                        d.label,
                        d.present,
                        d.headcount,
                        d.no_shows.len()
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn volunteers(
    s: &DynStore,
    as_user: Option<&str>,
    cmd: VolunteersCmd,
) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    match cmd {
        VolunteersCmd::Code { person, svg } => {
            installation_wide(&op)?;
            let code = s.checkin_code(person).await?;
            if let Some(path) = svg {
                let q = qrcode::QrCode::new(vt::qr_payload(&code).as_bytes())?;
                std::fs::write(
                    &path,
                    q.render::<qrcode::render::svg::Color>()
                        .min_dimensions(240, 240)
                        .build(),
                )?;
            }
            op.audit(
                "checkin-code",
                Some(format!("person:{person}")),
                Some(person),
            )
            .await?;
            println!("{code}");
        }
        VolunteersCmd::Unavailable { person, from, to } => {
            installation_wide(&op)?;
            s.set_volunteer_unavailable(person, from, to).await?;
            op.audit(
                "set-unavailable",
                Some(format!("person:{person}")),
                Some(person),
            )
            .await?;
            println!("person {person} serves on no duty from {from} to {to}");
        }
        VolunteersCmd::Activation { unit, days, json } => {
            must_at(&op, Action::ViewUnit, &unit).await?;
            let a = s
                .activation(&unit, days.clamp(1, 366), clock::now())
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            if json {
                print_json(&a)?;
            } else {
                let pct =
                    |r: Option<f64>| r.map(|x| format!("{x:.1}%")).unwrap_or_else(|| "-".into());
                println!(
                    "{:<20} {:>7} {:>7} {:>7}",
                    "unit", "cadre", "active", "rate"
                );
                println!(
                    "{:<20} {:>7} {:>7} {:>7}",
                    a.unit.code,
                    a.unit.cadre,
                    a.unit.active,
                    pct(a.unit.rate)
                );
                for c in a.children {
                    println!(
                        "  {:<18} {:>7} {:>7} {:>7}",
                        c.code,
                        c.cadre,
                        c.active,
                        pct(c.rate)
                    );
                }
            }
        }
        VolunteersCmd::Followups {
            unit,
            assign_to,
            limit,
            days,
            json,
        } => {
            followups_at(&op, &unit).await?;
            let list = s
                .make_followups(
                    &unit,
                    assign_to,
                    limit,
                    days.clamp(1, 366),
                    &op.actor,
                    clock::now(),
                )
                .await?;
            op.audit(
                "make-followups",
                Some(format!("unit:{}", unit.to_ascii_uppercase())),
                None,
            )
            .await?;
            if json {
                print_json(&serde_json::json!({ "followups": list }))?;
            } else {
                println!("{} follow-ups assigned to person {assign_to}", list.len());
            }
        }
        VolunteersCmd::FollowupList { unit, open, json } => {
            followups_at(&op, &unit).await?;
            let list = s
                .followups_within(&unit, open)
                .await?
                .ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            op.audit(
                "view-followups",
                Some(format!("unit:{}", unit.to_ascii_uppercase())),
                None,
            )
            .await?;
            if json {
                print_json(&serde_json::json!({ "followups": list }))?;
            } else {
                for f in list {
                    println!(
                        "{:>5} {:<24} {:<12} → {:<20} {}",
                        f.id,
                        f.name,
                        f.mobile.as_deref().unwrap_or("-"),
                        f.assigned_name,
                        f.outcome.as_deref().unwrap_or("open")
                    );
                }
            }
        }
        VolunteersCmd::Outcome {
            id,
            outcome,
            next_step,
            note,
        } => {
            let f = s
                .followup(id)
                .await?
                .ok_or_else(|| anyhow!("no follow-up {id}"))?;
            if op.actor != format!("person:{}", f.assigned_to) {
                followups_at(&op, &f.unit).await?;
            }
            let f = s
                .followup_outcome(id, &outcome, &next_step, &note, clock::now())
                .await?;
            op.audit(
                "followup-outcome",
                Some(format!("followup:{id}")),
                Some(f.person_id),
            )
            .await?;
            println!("follow-up {id}: {}", f.outcome.unwrap_or_default());
        }
    }
    Ok(())
}

pub async fn bulletins(
    s: &DynStore,
    as_user: Option<&str>,
    cmd: BulletinsCmd,
) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    let person = person_id_of(&op);
    match cmd {
        BulletinsCmd::Post {
            unit,
            wing,
            title,
            hi,
            en,
            pinned,
            json,
        } => {
            op.must_be_able(Action::PostBulletins)?;
            if op
                .wings_named(Action::PostBulletins, &unit, wing.as_deref())
                .await?
                .is_none()
            {
                bail!("unknown unit: {unit}");
            }
            let b = s
                .post_bulletin(
                    &NewBulletin {
                        unit,
                        wing,
                        title,
                        body_hi: hi,
                        body_en: en,
                        pinned,
                    },
                    person,
                    &op.actor,
                    clock::now(),
                )
                .await?;
            op.audit("post-bulletin", Some(format!("bulletin:{}", b.id)), None)
                .await?;
            if json {
                print_json(&b)?;
            } else {
                println!("bulletin {} posted to {}", b.id, b.unit);
            }
        }
        BulletinsCmd::Show { id, json } => {
            let b = s
                .bulletin(id)
                .await?
                .ok_or_else(|| anyhow!("no bulletin {id}"))?;
            must_at(&op, Action::PostBulletins, &b.unit).await?;
            let comments = s.comments(id, true).await?;
            if json {
                print_json(&serde_json::json!({ "bulletin": b, "comments": comments }))?;
            } else {
                println!("{} ({} views, {} comments)", b.title, b.views, b.comments);
                for k in comments {
                    println!(
                        "  {:>5} {:<20} {}{}",
                        k.id,
                        k.name,
                        k.body,
                        k.hidden_reason
                            .map(|r| format!("  [hidden: {r}]"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        BulletinsCmd::Hide {
            bulletin,
            comment,
            reason,
        } => {
            let b = s
                .bulletin(bulletin)
                .await?
                .ok_or_else(|| anyhow!("no bulletin {bulletin}"))?;
            if person.is_none() || person != b.author_id {
                must_at(&op, Action::PostBulletins, &b.unit).await?;
            }
            let k = s
                .hide_comment(bulletin, comment, &reason, &op.actor, clock::now())
                .await?;
            op.audit(
                "hide-comment",
                Some(format!("comment:{comment} reason:{}", reason.trim())),
                Some(k.person_id),
            )
            .await?;
            println!("comment {comment} hidden");
        }
    }
    Ok(())
}
