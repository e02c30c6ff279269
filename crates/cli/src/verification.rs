//! `sangathan verification …`: the queue of pending members in a unit, and verifying or
//! rejecting memberships (one or many, all or nothing, counters exact). Same policy as the API:
//! office-bearers from the sector up, never one's own enrolments; audited.

use crate::access::Operator;
use anyhow::{anyhow, bail};
use clap::Subcommand;
use sangathan_core::access::Action;
use sangathan_store::{DynStore, clock};

#[derive(Subcommand)]
pub enum VerificationCmd {
    /// Pending members within a unit, oldest first.
    Queue {
        unit: String,
        #[arg(long)]
        wing: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Move memberships (by id) to verified, rejected, lapsed or cancelled.
    Set {
        #[arg(long)]
        status: String,
        /// Why (required for a rejection).
        #[arg(long)]
        reason: Option<String>,
        #[arg(required = true)]
        ids: Vec<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Ask a member to confirm by a missed call or a reply SMS from their own mobile.
    MissedCall { id: i64 },
    /// What the SMS provider's inbound webhook would deliver (the logging provider has no
    /// network): a missed call from `--from`, or with `--text` a reply SMS. State office only.
    Inbound {
        #[arg(long)]
        from: String,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(s: &DynStore, as_user: Option<&str>, cmd: VerificationCmd) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    match cmd {
        VerificationCmd::MissedCall { id } => {
            op.must_be_able(Action::Enrol)?;
            let m = s.membership_state(id).await?.ok_or_else(|| anyhow!("no membership {id}"))?;
            if op.wings_named(Action::Enrol, &m.unit, Some(&m.wing)).await?.is_none() {
                bail!("no membership {id}");
            }
            s.request_missed_call(id, clock::now()).await?;
            op.audit("request-missed-call", Some(format!("membership:{id}")), Some(m.person_id)).await?;
            println!("membership {}: asked to confirm by missed call or reply SMS", m.number);
            return Ok(());
        }
        VerificationCmd::Inbound { from, text, json } => {
            crate::meetings::installation_wide(&op)?;
            let reply = match text.as_deref() {
                None => None,
                Some(t) => Some(sangathan_core::verification::parse_reply(t).ok_or_else(|| anyhow!("a reply is YES [code] or NO (हाँ / नहीं)"))?),
            };
            let r = s.inbound_confirmation(&from, reply.as_ref(), clock::now()).await?;
            op.audit("inbound-confirmation", Some(format!("{} verified, {} rejected", r.verified, r.rejected)), None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{} verified, {} rejected", r.verified, r.rejected);
            }
            return Ok(());
        }
        _ => {}
    }
    op.must_be_able(Action::Verify)?;
    match cmd {
        VerificationCmd::MissedCall { .. } | VerificationCmd::Inbound { .. } => unreachable!("answered above"),
        VerificationCmd::Queue { unit, wing, limit, json } => {
            let wings = op.wings_named(Action::Verify, &unit, wing.as_deref()).await?;
            let q = s.verification_queue(&unit, &wings, 0, limit).await?.ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
            op.audit("view-verification-queue", Some(format!("unit:{}", unit.to_ascii_uppercase())), None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "members": q }))?);
            } else {
                for m in q {
                    println!("{:>8}  {:<20} {:<24} {:<10} …{}  by {}", m.membership_id, m.number, m.name, m.wing, m.mobile_tail.unwrap_or_default(), m.enrolled_by);
                }
            }
        }
        VerificationCmd::Set { status, reason, ids, json } => {
            for id in &ids {
                let m = s.membership_state(*id).await?.ok_or_else(|| anyhow!("no membership {id}"))?;
                if op.wings_named(Action::Verify, &m.unit, Some(&m.wing)).await?.is_none() {
                    bail!("no membership {id}");
                }
                if m.enrolled_by == op.actor && op.scope.is_some() {
                    bail!("{}: you enrolled this member; someone above you verifies them", m.number);
                }
            }
            let ch = s.set_status(&ids, &status, reason.as_deref(), &op.actor, clock::now()).await?;
            op.audit("membership-status", Some(format!("{} memberships {}", ids.len(), status.trim())), None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ch)?);
            } else {
                println!("{} changed, {} already {}", ch.changed, ch.unchanged, status.trim());
            }
        }
    }
    Ok(())
}

/// May the command's user review a flag: every member one they may verify, none enrolled by them.
async fn reviewable(s: &DynStore, op: &Operator, f: &sangathan_store::verification::Flag) -> anyhow::Result<bool> {
    let Some(scope) = &op.scope else { return Ok(true) };
    if scope.is_state_admin() {
        return Ok(true);
    }
    let wings = s.wings().await?;
    for m in &f.members {
        if m.enrolled_by == op.actor {
            return Ok(false);
        }
        let (Some(place), Some(w)) = (s.place(&m.unit).await?, wings.iter().find(|w| w.code == m.wing)) else { return Ok(false) };
        if !scope.allows(Action::Verify, &place, w.id) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `sangathan flags UNIT [--all] [--json]`: open flags in the unit's subtree, each with its rule,
/// why and the members concerned: `{"flags":[{"id","rule","reason","members":[…]},…]}`.
pub async fn flags(s: &DynStore, as_user: Option<&str>, unit: &str, all: bool, json: bool) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    op.must_be_able(Action::Verify)?;
    op.wings(Action::Verify, unit).await?;
    let mut flags = Vec::new();
    for f in s.flags_within(unit, !all).await?.ok_or_else(|| anyhow!("unknown unit: {unit}"))? {
        if reviewable(s, &op, &f).await? {
            flags.push(f);
        }
    }
    op.audit("view-flags", Some(format!("unit:{}", unit.to_ascii_uppercase())), None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "flags": flags }))?);
    } else {
        for f in flags {
            println!("{:>6}  {:<15} {:<8} {:>5} members  {}", f.id, f.rule, f.status, f.members.len(), f.reason);
        }
    }
    Ok(())
}

/// `sangathan leaderboard UNIT [--wing W] [--limit N] [--json]`: `{"enrollers":[{"rank",
/// "enroller","name","verified","pending","rejected","verified_percent"},…]}`.
pub async fn leaderboard(s: &DynStore, as_user: Option<&str>, unit: &str, wing: Option<&str>, limit: u32, json: bool) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    op.must_be_able(Action::Verify)?;
    let wings = op.wings_named(Action::Verify, unit, wing).await?;
    let rows = s.leaderboard(unit, &wings, limit).await?.ok_or_else(|| anyhow!("unknown unit: {unit}"))?;
    op.audit("view-leaderboard", Some(format!("unit:{}", unit.to_ascii_uppercase())), None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "enrollers": rows }))?);
    } else {
        for r in rows {
            let pct = r.verified_percent.map_or("-".to_string(), |p| format!("{p}%"));
            println!("{:>3}. {:<28} {:>6} verified {:>6} pending {:>5} rejected  {pct}", r.rank, r.name.unwrap_or(r.enroller), r.verified, r.pending, r.rejected);
        }
    }
    Ok(())
}

/// `sangathan detect [--json]`: run the fake-member rules over what is new (state office).
pub async fn detect(s: &DynStore, as_user: Option<&str>, json: bool) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    crate::meetings::installation_wide(&op)?;
    let r = s.detect(&sangathan_server::Config::default().from_env()?.detection, clock::now()).await?;
    op.audit("detect", None, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("{} new memberships read; {} flags raised, {} updated, in {:.1} s", r.new_memberships, r.flags_raised, r.flags_updated, r.seconds);
    }
    Ok(())
}

/// `sangathan resolve-flag ID genuine|fake [--note N]`.
pub async fn resolve(s: &DynStore, as_user: Option<&str>, id: i64, verdict: &str, note: &str) -> anyhow::Result<()> {
    let op = Operator::resolve(s, as_user).await?;
    op.must_be_able(Action::Verify)?;
    let f = s.flag(id).await?.ok_or_else(|| anyhow!("no flag {id}"))?;
    op.wings(Action::Verify, &f.unit).await.map_err(|_| anyhow!("no flag {id}"))?;
    if !reviewable(s, &op, &f).await? {
        bail!("no flag {id}");
    }
    let fake = match verdict {
        "fake" => true,
        "genuine" => false,
        _ => bail!("the verdict is genuine or fake"),
    };
    let f = s.resolve_flag(id, fake, note, &op.actor, clock::now()).await?;
    op.audit("resolve-flag", Some(format!("flag:{id} {}", f.status)), None).await?;
    println!("flag {id}: {}", f.status);
    Ok(())
}
