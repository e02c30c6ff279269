//! `sangathan user …`, `token issue --user`, `audit …` and `member …`.

use crate::access::Operator;
use crate::{AuditCmd, MemberCmd, UserCmd};
use anyhow::{anyhow, bail};
use sangathan_core::access::Action;
use sangathan_core::ids::{Mobile, PersonName};
use sangathan_store::{DynStore, NewPost, OPERATOR, clock};
use std::io::BufRead;
use std::process::ExitCode;

fn mobile(m: &str) -> anyhow::Result<Mobile> {
    Mobile::parse(m).map_err(|e| anyhow!("mobile: {} | {}", e.en, e.hi))
}

async fn user_id(s: &DynStore, m: &str) -> anyhow::Result<i64> {
    let m = mobile(m)?;
    Ok(s.user_by_mobile(m.e164())
        .await?
        .ok_or_else(|| anyhow!("no user logs in with this mobile"))?
        .person_id)
}

pub async fn user_token(s: &DynStore, m: &str) -> anyhow::Result<String> {
    let id = user_id(s, m).await?;
    let op = Operator::operator(s);
    op.audit("issue-token", Some(format!("person:{id}")), Some(id))
        .await?;
    Ok(s.issue_user_token(id, "cli").await?)
}

pub async fn run(db: &str, as_user: Option<&str>, cmd: UserCmd) -> anyhow::Result<()> {
    let s = crate::open_initialised(db).await?;
    let op = Operator::resolve(&s, as_user).await?;
    match cmd {
        UserCmd::Add {
            name,
            mobile: m,
            password_stdin,
            posts,
        } => {
            op.must_be_able(Action::ManageUsers)?;
            let name =
                PersonName::parse(&name).map_err(|e| anyhow!("name: {} | {}", e.en, e.hi))?;
            let m = mobile(&m)?;
            let today = clock::today();
            let posts: Vec<NewPost> = posts
                .iter()
                .map(|p| {
                    NewPost::parse(p, today).map_err(|e| anyhow!("--post {p}: {} | {}", e.en, e.hi))
                })
                .collect::<anyhow::Result<_>>()?;
            for p in &posts {
                op.wings(Action::ManageUsers, &p.unit).await?;
            }
            let hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let pw = line.trim_end_matches(['\r', '\n']);
                if pw.chars().count() < 8 {
                    bail!("password: at least 8 characters | पासवर्ड: कम से कम 8 अक्षर");
                }
                Some(sangathan_server::auth::hash_password(pw)?)
            } else {
                None
            };
            let id = s
                .add_user(&name, &m, hash.as_deref(), &posts, &op.actor)
                .await?;
            op.audit("add-user", Some(format!("person:{id}")), Some(id))
                .await?;
            println!("user person:{id} with {} post(s) added", posts.len());
        }
        UserCmd::Posts { mobile: m, json } => {
            op.must_be_able(Action::ManageUsers)?;
            let id = user_id(&s, &m).await?;
            op.audit("view-posts", Some(format!("person:{id}")), Some(id))
                .await?;
            let posts = s.posts(id, clock::today()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&posts)?);
            } else {
                for p in posts {
                    println!(
                        "{:<20} {:<22} {:<10} {} – {} {}",
                        p.role,
                        p.unit,
                        p.wing,
                        p.starts_on,
                        p.ends_on.map(|d| d.to_string()).unwrap_or_default(),
                        if p.active { "(active)" } else { "" }
                    );
                }
            }
        }
        UserCmd::EndPost {
            mobile: m,
            post,
            on,
        } => {
            op.must_be_able(Action::ManageUsers)?;
            let id = user_id(&s, &m).await?;
            let p = NewPost::parse(&post, clock::today())
                .map_err(|e| anyhow!("--post {post}: {} | {}", e.en, e.hi))?;
            op.wings(Action::ManageUsers, &p.unit).await?;
            let on = on.unwrap_or_else(|| clock::today() - chrono::Duration::days(1));
            if !s.end_post(id, &p, on).await? {
                bail!("this user holds no open post {post}");
            }
            op.audit("end-post", Some(format!("person:{id} {post}")), Some(id))
                .await?;
            println!("post {post} ends on {on}");
        }
        UserCmd::Email { mobile: m, email } => {
            op.must_be_able(Action::ManageUsers)?;
            let id = user_id(&s, &m).await?;
            let email = email.filter(|e| !e.trim().is_empty());
            if !s.set_email(id, email.as_deref()).await? {
                bail!("no user logs in with {m}");
            }
            op.audit("set-email", Some(format!("person:{id}")), Some(id))
                .await?;
            println!(
                "{}",
                if email.is_some() {
                    "notifications go by email"
                } else {
                    "notifications go by SMS"
                }
            );
        }
        UserCmd::Disable { mobile: m } => {
            op.must_be_able(Action::ManageUsers)?;
            let id = user_id(&s, &m).await?;
            let changed = s.disable_user(id).await?;
            op.audit("disable-user", Some(format!("person:{id}")), Some(id))
                .await?;
            println!(
                "{}",
                if changed {
                    "disabled; sessions ended and tokens revoked"
                } else {
                    "already disabled"
                }
            );
        }
    }
    Ok(())
}

pub async fn audit(db: &str, cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    let s = crate::open_initialised(db).await?;
    match cmd {
        AuditCmd::Verify => {
            let check = s.audit_verify().await?;
            match check.first_broken {
                None => println!("ok: {} audit events, chain intact", check.events),
                Some((id, why)) => {
                    println!("BROKEN at event {id}: {why}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        AuditCmd::Member { who, limit, json } => {
            let ids: Vec<i64> = match who.trim().parse::<i64>() {
                Ok(id) if who.trim().len() < 10 => vec![id],
                _ => s.people_on_mobile(mobile(&who)?.e164()).await?,
            };
            if ids.is_empty() {
                bail!("no member with this id or mobile");
            }
            let op = Operator::operator(&s);
            let mut all = Vec::new();
            for id in &ids {
                op.audit("view-audit", Some(format!("person:{id}")), Some(*id))
                    .await?;
                all.extend(s.audit_of_person(*id, limit).await?);
            }
            all.sort_by(|a, b| b.id.cmp(&a.id));
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for e in all {
                    println!(
                        "{:>8} {} {:<14} {:<28} {:<22} {:<12} {}",
                        e.id,
                        e.at.format("%Y-%m-%d %H:%M:%S"),
                        e.event.actor,
                        e.event.post.unwrap_or_default(),
                        e.event.action,
                        e.event.outcome,
                        e.event.address.unwrap_or_default()
                    );
                }
            }
        }
        AuditCmd::Archive { retain_days, out } => {
            if retain_days < 365 {
                bail!("--retain-days: audit events are kept at least 365 days");
            }
            let before = clock::now() - chrono::Duration::days(retain_days);
            // One archive run at a time across every node and operator: a second run would write
            // the same events to its own file before the store refused its record of them.
            let node = sangathan_server::notify::node_id();
            let held = s
                .take_lease("audit-archive", node, chrono::Duration::hours(1), chrono::Utc::now())
                .await?;
            if held.is_none() {
                let who = s
                    .leases()
                    .await?
                    .into_iter()
                    .find(|l| l.name == "audit-archive")
                    .map(|l| format!(" ({} holds it until {})", l.holder.unwrap_or_default(), l.held_until.map(|t| t.to_rfc3339()).unwrap_or_default()))
                    .unwrap_or_default();
                bail!("another `audit archive` is running: it holds the audit-archive lease{who}; a crashed run's hold lapses at that time");
            }
            // The run, then the lease given up whether it finished or failed.
            let run = async {
                let mut total = 0u64;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&out)?;
                loop {
                    // Renewed before every batch: a long archive keeps its hold, a crashed
                    // one's lapses within the hour.
                    if s
                        .take_lease("audit-archive", node, chrono::Duration::hours(1), chrono::Utc::now())
                        .await?
                        .is_none()
                    {
                        bail!("the audit-archive lease was lost (another run took it): stopped");
                    }
                    let batch = s.audit_before(before, 10_000).await?;
                    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                        break;
                    };
                    use std::io::Write;
                    for e in &batch {
                        writeln!(file, "{}", serde_json::to_string(e)?)?;
                    }
                    file.sync_all()?;
                    total += s
                        .audit_archived(first.id, last.id, &out.display().to_string())
                        .await?;
                }
                Operator::operator(&s)
                    .audit(
                        "audit-archive",
                        Some(format!("{total} events to {}", out.display())),
                        None,
                    )
                    .await?;
                anyhow::Ok(total)
            }
            .await;
            s.release_lease("audit-archive", node).await?;
            let total = run?;
            println!("archived {total} events to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn member(db: &str, as_user: Option<&str>, cmd: MemberCmd) -> anyhow::Result<()> {
    let s = crate::open_initialised(db).await?;
    let op = Operator::resolve(&s, as_user).await?;
    match cmd {
        MemberCmd::Data { person_id } => {
            op.must_be_able(Action::Erase)?;
            let d = s
                .member_data(person_id)
                .await?
                .ok_or_else(|| anyhow!("no such member: {person_id}"))?;
            op.audit(
                "member-data",
                Some(format!("person:{person_id}")),
                Some(person_id),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&d)?);
        }
        MemberCmd::Erase { person_id } => {
            op.must_be_able(Action::Erase)?;
            let event = op.event(
                "erase",
                Some(format!("person:{person_id}")),
                Some(person_id),
            );
            if !s.erase(person_id, &event).await? {
                bail!("no such member (or already erased): {person_id}");
            }
            println!("erased person {person_id}: personal data removed, anonymous counts kept");
        }
    }
    Ok(())
}

/// The password of every demo login (documented in the README; demo databases only).
pub const DEMO_PASSWORD: &str = "sangathan-demo";

/// Appoint demo office-bearers in every wing: a division in-charge per division, a district
/// president per district, an AC in-charge per AC, sector in-charges and booth presidents for the
/// first two ACs, federation officers and volunteer commanders for the first districts. Returns
/// (role, unit, mobile) of each.
pub async fn appoint_demo(s: &DynStore) -> anyhow::Result<Vec<(String, String, String)>> {
    use sangathan_core::access::Role;
    use sangathan_core::geo::UnitKind;
    let hash = sangathan_server::auth::hash_password(DEMO_PASSWORD)?;
    let state = s.state_code().await?;
    let kids = |code: String| {
        let s = s.clone();
        async move { anyhow::Ok(s.children(&code).await?.unwrap_or_default()) }
    };
    let mut plan: Vec<(Role, String, &str)> = vec![(Role::StateAdmin, state.clone(), "party")];
    let mut acs = Vec::new();
    let divisions = kids(state.clone()).await?;
    let mut districts = Vec::new();
    for d in &divisions {
        plan.push((Role::DivisionIncharge, d.code.clone(), "party"));
        for x in kids(d.code.clone()).await? {
            if x.kind == UnitKind::District {
                districts.push(x.code.clone());
            }
        }
    }
    for (i, d) in districts.iter().enumerate() {
        plan.push((Role::DistrictPresident, d.clone(), "party"));
        if i < 5 {
            plan.push((Role::FederationOfficer, d.clone(), "employees"));
            plan.push((Role::VolunteerCommander, d.clone(), "volunteers"));
        }
        for a in kids(d.clone()).await? {
            if a.kind == UnitKind::Ac {
                acs.push(a.code.clone());
            }
        }
    }
    for (i, ac) in acs.iter().enumerate() {
        plan.push((Role::AcIncharge, ac.clone(), "party"));
        if i < 2 {
            for sector in kids(ac.clone()).await? {
                plan.push((Role::SectorIncharge, sector.code.clone(), "party"));
                for (j, booth) in kids(sector.code.clone()).await?.into_iter().enumerate() {
                    plan.push((Role::BoothPresident, booth.code.clone(), "party"));
                    if j == 0 {
                        plan.push((Role::Volunteer, booth.code.clone(), "volunteers"));
                    }
                }
            }
        }
    }
    let today = clock::today();
    let mut seq = std::collections::HashMap::<Role, u64>::new();
    let mut out = Vec::with_capacity(plan.len());
    let mut events = Vec::with_capacity(plan.len());
    let operator = Operator::operator(s);
    let bar = indicatif::ProgressBar::new(plan.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} demo office-bearers {bar:40} {human_pos}/{human_len}",
        )
        .expect("valid template"),
    );
    for (role, unit, wing) in plan {
        let n = seq.entry(role).or_default();
        *n += 1;
        let idx = Role::ALL.iter().position(|r| *r == role).expect("a role") as u64;
        let m = mobile(&(9_000_000_000u64 + idx * 100_000_000 + *n).to_string())?;
        let name =
            PersonName::parse(&format!("Demo {} {}", role.code(), n)).map_err(|e| anyhow!(e.en))?;
        let post = NewPost {
            role,
            unit: unit.clone(),
            wing: wing.into(),
            // Held since before the demo's campaign and meetings began.
            starts_on: today - chrono::Duration::days(180),
        };
        let id = s
            .add_user(&name, &m, Some(&hash), &[post], OPERATOR)
            .await?;
        events.push(operator.event("add-user", Some(format!("person:{id}")), Some(id)));
        out.push((
            role.code().to_string(),
            format!("{unit}:{wing}"),
            m.e164().to_string(),
        ));
        bar.inc(1);
    }
    s.audit(&events).await?;
    bar.finish_and_clear();
    Ok(out)
}

/// Print the first login of each kind.
pub fn print_demo_logins(logins: &[(String, String, String)]) {
    let mut seen = std::collections::HashSet::new();
    eprintln!(
        "demo logins (password for all: {DEMO_PASSWORD}); {} office-bearers in all:",
        logins.len()
    );
    for (role, unit, m) in logins {
        if seen.insert(role.clone()) {
            eprintln!("  {role:<20} {unit:<28} {m}");
        }
    }
}
