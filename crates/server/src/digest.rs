//! The weekly digest of a division, in Hindi and English: meetings held and missing, compliance
//! per district, the membership drive's progress, and the people answerable for each unit. Sent
//! through the outbox to the division's office-bearers and everyone in charge within it, once
//! per week (the notice key carries the week).

use crate::web::i18n::indian;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sangathan_core::geo::UnitKind;
use sangathan_store::meetings::Notice;
use sangathan_store::{DynStore, Result, clock};
use std::fmt::Write;

/// A composed digest.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Digest {
    pub unit: String,
    pub week: String,
    pub subject: String,
    /// Hindi first, then English.
    pub text: String,
    /// Who receives it (person ids).
    pub recipients: Vec<i64>,
}

fn pct(a: i64, b: i64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * a as f64 / b as f64)
    }
}

/// The digest of `unit` (a division, or any unit) for the ISO week starting `monday`.
pub async fn compose(
    store: &DynStore,
    unit: &str,
    monday: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<Digest>> {
    let Some(c) = store.compliance(unit, monday, now).await? else {
        return Ok(None);
    };
    let Some(u) = store.unit(unit).await? else {
        return Ok(None);
    };
    let name_hi = u.name_hi.clone().unwrap_or_else(|| u.name.clone());
    let meetings = store
        .meetings_within(&u.code, c.from, c.to)
        .await?
        .unwrap_or_default();
    let mut held = Vec::new();
    let mut missing = Vec::new();
    for m in meetings.iter().filter(|m| m.status == "planned") {
        match store.report(m.id).await? {
            Some(r) if r.report.held => held.push((m, r.report.attendance)),
            Some(_) => {}
            None if m.report_due < now => missing.push(m),
            None => {}
        }
    }
    let progress = store.progress(&u.code, None, clock::day_of(now)).await?;
    let charges = store.charges_within(&u.code).await?.unwrap_or_default();
    let t = &c.unit;
    let mut hi = String::new();
    let mut en = String::new();
    let _ = writeln!(
        hi,
        "साप्ताहिक रिपोर्ट: {name_hi} — सप्ताह {} ({} से {})",
        c.week, c.from, c.to
    );
    let _ = writeln!(
        en,
        "Weekly digest: {} — week {} ({} to {})",
        u.name, c.week, c.from, c.to
    );
    let _ = writeln!(
        hi,
        "\nबैठकें: तय {}, हुईं {}, नहीं हुईं {}, समय पर रिपोर्ट {}, देर से {}, बाकी {}",
        t.planned, t.held, t.not_held, t.on_time, t.late, t.missing
    );
    let _ = writeln!(
        en,
        "\nMeetings: planned {}, held {}, not held {}, reported on time {}, late {}, missing {}",
        t.planned, t.held, t.not_held, t.on_time, t.late, t.missing
    );
    for r in c.children.iter().filter(|r| r.planned > 0) {
        let n = r.name_hi.clone().unwrap_or_else(|| r.name.clone());
        let _ = writeln!(
            hi,
            "  {n}: तय {}, हुईं {}, बाकी {}",
            r.planned, r.held, r.missing
        );
        let _ = writeln!(
            en,
            "  {}: planned {}, held {}, missing {}",
            r.name, r.planned, r.held, r.missing
        );
    }
    if !held.is_empty() {
        let _ = writeln!(hi, "\nहुई बैठकें:");
        let _ = writeln!(en, "\nHeld:");
        for (m, n) in &held {
            let v = m.venue.as_deref().unwrap_or("-");
            let _ = writeln!(hi, "  {} {} — {} उपस्थित", m.date, v, n);
            let _ = writeln!(en, "  {} {} — {} present", m.date, v, n);
        }
    }
    if !missing.is_empty() {
        let _ = writeln!(hi, "\nरिपोर्ट बाकी:");
        let _ = writeln!(en, "\nReports missing:");
        for m in &missing {
            let v = m.venue.as_deref().unwrap_or("-");
            let _ = writeln!(hi, "  {} {} (बैठक {})", m.date, v, m.id);
            let _ = writeln!(en, "  {} {} (meeting {})", m.date, v, m.id);
        }
    }
    if let Some(p) = &progress {
        let r = &p.unit;
        let _ = writeln!(
            hi,
            "\nसदस्यता अभियान: लक्ष्य {}, अब तक {} ({}); पिछले 7 दिन {} प्रतिदिन, ज़रूरत {} प्रतिदिन",
            indian(r.target),
            indian(r.achieved),
            pct(r.achieved, r.target),
            indian(r.rate_7d.round() as i64),
            indian(r.daily_needed.round() as i64)
        );
        let _ = writeln!(
            en,
            "\nMembership drive: target {}, achieved {} ({}); last 7 days {} a day, needs {} a day",
            indian(r.target),
            indian(r.achieved),
            pct(r.achieved, r.target),
            indian(r.rate_7d.round() as i64),
            indian(r.daily_needed.round() as i64)
        );
    }
    if !charges.is_empty() {
        let _ = writeln!(hi, "\nज़िम्मेदार:");
        let _ = writeln!(en, "\nAnswerable:");
        for ch in &charges {
            let (w_hi, w_en) = if ch.what == "drive" {
                ("अभियान", "drive")
            } else {
                ("बैठकें", "meetings")
            };
            let _ = writeln!(
                hi,
                "  {} — {} ({w_hi})",
                ch.name,
                ch.unit_name_hi.as_deref().unwrap_or(&ch.unit_name)
            );
            let _ = writeln!(en, "  {} — {} ({w_en})", ch.name, ch.unit_name);
        }
    }
    let mut recipients: Vec<i64> = store
        .office_bearers(&u.code, clock::day_of(now))
        .await?
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.0)
        .collect();
    recipients.extend(charges.iter().map(|c| c.person_id));
    recipients.sort_unstable();
    recipients.dedup();
    Ok(Some(Digest {
        unit: u.code.clone(),
        week: c.week.clone(),
        subject: format!(
            "साप्ताहिक रिपोर्ट {name_hi} {} / Weekly digest {} {}",
            c.week, u.name, c.week
        ),
        text: format!("{hi}\n———\n\n{en}"),
        recipients,
    }))
}

/// Queue the digest to its recipients (once per unit, week and person). How many were new.
pub async fn send(store: &DynStore, d: &Digest, now: DateTime<Utc>) -> Result<u64> {
    let notices: Vec<Notice> = d
        .recipients
        .iter()
        .map(|p| Notice {
            person_id: *p,
            key: format!("digest:{}:{}:{p}", d.unit, d.week),
            subject: d.subject.clone(),
            body: d.text.clone(),
        })
        .collect();
    store.notify(&notices, now).await
}

/// Every division's digest of the week before `now`'s (sent on Monday mornings).
pub async fn send_all(store: &DynStore, now: DateTime<Utc>) -> Result<u64> {
    let today = clock::day_of(now);
    let last_monday =
        today - Duration::days(chrono::Datelike::weekday(&today).num_days_from_monday() as i64 + 7);
    let state = store.state_code().await?;
    let mut n = 0;
    for div in store
        .units_within(&state, UnitKind::Division)
        .await?
        .unwrap_or_default()
    {
        if let Some(d) = compose(store, &div.code, last_monday, now).await? {
            n += send(store, &d, now).await?;
        }
    }
    Ok(n)
}
