//! Synthetic members for the demo: deterministic for a seed, spread unevenly across ACs and
//! booths, names in Latin and Devanagari from `data/names/`, valid mobiles and EPICs (most with
//! the Luhn check digit of newer cards), households sharing a phone, enrolment dates over the
//! campaign so far.

use chrono::{DateTime, Duration, Utc};
use sangathan_core::ids::{Epic, Gender, Mobile, PersonName, luhn_check_digit};
use sangathan_core::rng::{SplitMix64, mix};
use sangathan_store::Enrolment;

const LATIN: &str = include_str!("../../../data/names/in_names_latin.tsv");
const DEVANAGARI: &str = include_str!("../../../data/names/in_names_devanagari.tsv");

struct Names {
    male: Vec<&'static str>,
    female: Vec<&'static str>,
    last: Vec<&'static str>,
}

fn names(tsv: &'static str) -> Names {
    let mut n = Names {
        male: Vec::new(),
        female: Vec::new(),
        last: Vec::new(),
    };
    for line in tsv.lines().skip(1) {
        let mut f = line.split('\t');
        let (Some(kind), Some(name)) = (f.next(), f.next()) else {
            continue;
        };
        match kind {
            "first_male" => n.male.push(name),
            "first_female" => n.female.push(name),
            "last" => n.last.push(name),
            _ => {}
        }
    }
    n
}

/// Where members go: ACs and booths weighted unevenly (some far ahead, some far behind).
pub struct Spread {
    acs: Vec<(String, Vec<String>, Vec<f64>)>,
    ac_cum: Vec<f64>,
}

/// A roughly log-normal weight: exp(N(0, sigma)), from two uniforms (Box–Muller).
fn lognormal(r: &mut SplitMix64, sigma: f64) -> f64 {
    let u1 = r.unit().max(1e-12);
    let u2 = r.unit();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (sigma * z).exp()
}

impl Spread {
    pub fn new(seed: u64, booths: Vec<(String, Vec<String>)>) -> Spread {
        let mut r = SplitMix64::new(mix(&[seed, 0xAC]));
        let mut acs = Vec::with_capacity(booths.len());
        let mut ac_cum = Vec::with_capacity(booths.len());
        let mut total = 0.0;
        for (ac, list) in booths {
            let w = lognormal(&mut r, 0.7);
            let mut bc = Vec::with_capacity(list.len());
            let mut bt = 0.0;
            for _ in &list {
                bt += lognormal(&mut r, 0.5);
                bc.push(bt);
            }
            total += w;
            ac_cum.push(total);
            acs.push((ac, list, bc));
        }
        Spread { acs, ac_cum }
    }

    fn pick(&self, r: &mut SplitMix64) -> String {
        let x = r.unit() * self.ac_cum.last().copied().unwrap_or(0.0);
        let i = self
            .ac_cum
            .partition_point(|&c| c < x)
            .min(self.acs.len() - 1);
        let (ac, booths, cum) = &self.acs[i];
        // A few members are enrolled before their booth is known.
        if booths.is_empty() || r.unit() < 0.04 {
            return ac.clone();
        }
        let y = r.unit() * cum.last().copied().unwrap_or(0.0);
        let j = cum.partition_point(|&c| c < y).min(booths.len() - 1);
        booths[j].clone()
    }
}

pub struct Generator {
    seed: u64,
    latin: Names,
    deva: Names,
    spread: Spread,
    start: DateTime<Utc>,
    span_secs: i64,
    /// The household in progress: its mobile, surname, booth and members so far.
    household: Option<(Mobile, usize, bool, String, u32)>,
}

/// A bijection of 0..m (a must be coprime with m): distinct indexes give distinct numbers.
fn permute(i: u64, a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * i as u128 + b as u128) % m as u128) as u64
}

impl Generator {
    pub fn new(
        seed: u64,
        booths: Vec<(String, Vec<String>)>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Generator {
        Generator {
            seed,
            latin: names(LATIN),
            deva: names(DEVANAGARI),
            spread: Spread::new(seed, booths),
            start,
            span_secs: (end - start).num_seconds().max(1),
            household: None,
        }
    }

    /// Member number `i` (0-based) of this seed.
    pub fn member(&mut self, i: u64) -> Enrolment {
        let mut r = SplitMix64::new(mix(&[self.seed, i]));
        // Households: a quarter of members share the previous member's phone (up to 4 people).
        let join = matches!(&self.household, Some((_, _, _, _, n)) if *n < 4) && r.unit() < 0.25;
        let (mobile, last_idx, deva, unit) = if join {
            let h = self.household.as_mut().expect("checked");
            h.4 += 1;
            (h.0.clone(), h.1, h.2, h.3.clone())
        } else {
            // Distinct for every member: a permutation of 4·10⁹ numbers from 6000000000 on.
            let n = 6_000_000_000 + permute(i, 2_654_435_761, self.seed % 1_000_003, 4_000_000_000);
            let m = Mobile::parse(&n.to_string()).expect("valid mobile");
            let deva = r.unit() < 0.35;
            let last = if deva {
                self.deva.last.len()
            } else {
                self.latin.last.len()
            };
            let h = (
                m.clone(),
                (r.next_u64() % last as u64) as usize,
                deva,
                self.spread.pick(&mut r),
                1,
            );
            self.household = Some(h.clone());
            (h.0, h.1, h.2, h.3)
        };
        let list = if deva { &self.deva } else { &self.latin };
        let female = r.unit() < 0.45;
        let first = if female {
            r.pick(&list.female)
        } else {
            r.pick(&list.male)
        };
        let name = format!("{first} {}", list.last[last_idx]);
        let gender = if r.unit() < 0.08 {
            None
        } else if female {
            Some(Gender::F)
        } else {
            Some(Gender::M)
        };
        // Most members give an EPIC; most EPICs are newer cards with a Luhn check digit.
        let epic = if r.unit() < 0.8 {
            let v = permute(i, 1_000_003, self.seed % 7919, 17_576_000_000);
            let l = v / 1_000_000;
            let letters: String = [l / 676, (l / 26) % 26, l % 26]
                .iter()
                .map(|&x| char::from(b'A' + x as u8))
                .collect();
            let body = format!("{:06}", v % 1_000_000);
            let check = if r.unit() < 0.9 {
                luhn_check_digit(&body)
            } else {
                (r.next_u64() % 10) as u8
            };
            Some(Epic::parse(&format!("{letters}{body}{check}")).expect("valid EPIC"))
        } else {
            None
        };
        // A few EPIC holders give no phone.
        let mobile = if epic.is_some() && r.unit() < 0.05 {
            None
        } else {
            Some(mobile)
        };
        let wing = match r.unit() {
            x if x < 0.90 => "party",
            x if x < 0.96 => "employees",
            _ => "volunteers",
        };
        Enrolment {
            name: PersonName::parse(&name).expect("names from the lists are valid"),
            mobile,
            epic,
            gender,
            birth_year: Some(1950 + (r.next_u64() % 58) as i32),
            address: None,
            unit,
            wing: wing.into(),
        }
    }

    /// When member `i` enrolled: spread over the campaign so far, more of them recently.
    pub fn enrolled_at(&self, i: u64) -> DateTime<Utc> {
        let mut r = SplitMix64::new(mix(&[self.seed, i, 0xDA7E]));
        self.start + Duration::seconds((r.unit().sqrt() * self.span_secs as f64) as i64)
    }
}

/// The demo's volunteer force at the first AC (`UP-AC-86` in the UP preset): a commander of the
/// AC, four volunteers who are members of the force and log in (mobiles `9800000101`…), a jan
/// sabha tomorrow 10:00–14:00 IST with a gate and a stage duty (the gate filled from the force,
/// one place confirmed), and a pinned bulletin from the commander. Returns (role, unit, mobile)
/// of the logins it made. Deterministic; nothing when the AC already has a programme.
pub async fn volunteers(
    s: &sangathan_store::DynStore,
) -> anyhow::Result<Vec<(String, String, String)>> {
    use anyhow::anyhow;
    use chrono::TimeZone;
    use sangathan_core::access::{Role, Wings};
    use sangathan_store::volunteers::{NewBulletin, NewDuty, NewProgramme};
    use sangathan_store::{EnrolContext, NewPost, clock};
    let state = s.state_code().await?;
    let Some(ac) = first_ac(s, &state).await? else {
        return Ok(Vec::new());
    };
    let district = s
        .unit(&ac)
        .await?
        .and_then(|u| u.parent)
        .ok_or_else(|| anyhow!("{ac} has no district"))?;
    let now = clock::now();
    if !s
        .programmes_within(&ac, now - Duration::days(1), &Wings::All)
        .await?
        .unwrap_or_default()
        .is_empty()
    {
        return Ok(Vec::new());
    }
    let hash = sangathan_server::auth::hash_password(crate::users::DEMO_PASSWORD)?;
    let since = clock::today() - Duration::days(180);
    let mut out = Vec::new();
    // The volunteers: members of the force first, then users (the same person: same name and mobile).
    let mut volunteers = Vec::new();
    for n in 1..=4u64 {
        let name = PersonName::parse(&format!("Demo sevak {n}")).map_err(|e| anyhow!(e.en))?;
        let mobile =
            Mobile::parse(&(9_800_000_100u64 + n).to_string()).map_err(|e| anyhow!(e.en))?;
        let e = Enrolment {
            name: name.clone(),
            mobile: Some(mobile.clone()),
            epic: None,
            gender: Some(if n % 2 == 0 { Gender::F } else { Gender::M }),
            birth_year: Some(1990 + n as i32),
            address: None,
            unit: ac.clone(),
            wing: "volunteers".into(),
        };
        let ctx = EnrolContext {
            actor: "demo".into(),
            channel: "demo".into(),
            at: now - Duration::days(30),
            scope: None,
            consent: None,
            audit: None,
        };
        s.enrol_batch(&[(e, ctx)]).await?;
        let post = NewPost {
            role: Role::Volunteer,
            unit: ac.clone(),
            wing: "volunteers".into(),
            starts_on: since,
        };
        let id = s
            .add_user(&name, &mobile, Some(&hash), &[post], "demo")
            .await?;
        volunteers.push(id);
        out.push((
            "volunteer".to_string(),
            format!("{ac}:volunteers"),
            mobile.e164().to_string(),
        ));
    }
    let name = PersonName::parse("Demo AC commander").map_err(|e| anyhow!(e.en))?;
    let mobile = Mobile::parse("9700000101").map_err(|e| anyhow!(e.en))?;
    let post = NewPost {
        role: Role::VolunteerCommander,
        unit: ac.clone(),
        wing: "volunteers".into(),
        starts_on: since,
    };
    let commander = s
        .add_user(&name, &mobile, Some(&hash), &[post], "demo")
        .await?;
    out.push((
        "volunteer-commander".to_string(),
        format!("{ac}:volunteers"),
        mobile.e164().to_string(),
    ));
    // Tomorrow, 10:00–14:00 IST.
    let day = clock::today() + Duration::days(1);
    let at = |h: u32| {
        clock::ist()
            .from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("valid time"))
            .single()
            .expect("fixed offset")
            .to_utc()
    };
    let p = s
        .add_programme(
            &NewProgramme {
                wing: "volunteers".into(),
                unit: district,
                venue: ac.clone(),
                title: "जनसभा / Jan sabha".into(),
                kind: "jan-sabha".into(),
                starts_at: at(10),
                ends_at: at(14),
                expected: 2000,
            },
            "demo",
        )
        .await?;
    let duty = |kind: &str, label: &str, headcount: u32| NewDuty {
        kind: kind.into(),
        label: label.into(),
        starts_at: None,
        ends_at: None,
        headcount,
        leader: None,
    };
    let gate = s.add_duty(p.id, &duty("gate", "Gate 1", 3)).await?;
    let stage = s.add_duty(p.id, &duty("stage", "Stage", 2)).await?;
    s.assign(stage.id, Some(volunteers[0]), "demo", now).await?;
    s.answer_duty(stage.id, volunteers[0], true, now).await?;
    s.assign(gate.id, None, "demo", now).await?;
    s.post_bulletin(
        &NewBulletin {
            unit: ac.clone(),
            wing: None,
            title: "कल की जनसभा / Tomorrow's jan sabha".into(),
            body_hi: Some("सभी स्वयंसेवक सुबह 9 बजे पहुँचें और अपना चेक-इन कोड साथ रखें।".into()),
            body_en: Some("All volunteers please arrive by 9 am with your check-in code.".into()),
            pinned: true,
        },
        Some(commander),
        "demo",
        now,
    )
    .await?;
    Ok(out)
}

/// The first AC of the state in tree order.
async fn first_ac(s: &sangathan_store::DynStore, state: &str) -> anyhow::Result<Option<String>> {
    use sangathan_core::geo::UnitKind;
    let mut code = state.to_string();
    for _ in 0..4 {
        let kids = s.children(&code).await?.unwrap_or_default();
        if let Some(ac) = kids.iter().find(|k| k.kind == UnitKind::Ac) {
            return Ok(Some(ac.code.clone()));
        }
        match kids.into_iter().next() {
            Some(k) => code = k.code,
            None => return Ok(None),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booths() -> Vec<(String, Vec<String>)> {
        (1..=5)
            .map(|a| {
                (
                    format!("TS-AC-{a}"),
                    (1..=20).map(|b| format!("TS-AC-{a}-B{b:04}")).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn same_seed_same_members() {
        let t0 = Utc::now() - Duration::days(100);
        let t1 = Utc::now();
        let mut a = Generator::new(7, booths(), t0, t1);
        let mut b = Generator::new(7, booths(), t0, t1);
        for i in 0..500 {
            let (x, y) = (a.member(i), b.member(i));
            assert_eq!(x.fingerprint(), y.fingerprint());
            assert!(x.mobile.is_some() || x.epic.is_some());
        }
        let mut c = Generator::new(8, booths(), t0, t1);
        assert_ne!(a.member(1).fingerprint(), c.member(1).fingerprint());
    }

    #[test]
    fn epics_are_distinct_and_mostly_luhn() {
        let t = Utc::now();
        let mut g = Generator::new(1, booths(), t - Duration::days(10), t);
        let mut seen = std::collections::HashSet::new();
        let (mut with, mut luhn) = (0, 0);
        for i in 0..20_000 {
            if let Some(e) = g.member(i).epic {
                with += 1;
                luhn += e.has_luhn_check() as i32;
                assert!(seen.insert(e.as_str().to_string()));
            }
        }
        assert!(
            with > 15_000 && luhn as f64 > 0.85 * with as f64,
            "{with} {luhn}"
        );
    }
}

/// Verification in the demo, as it goes in practice: of the members enrolled more than a few
/// days ago, `share` are verified one to four days after they joined and about one in fifty is
/// rejected as unreachable; the most recent stay pending. Deterministic for a seed. Returns
/// (verified, rejected).
pub async fn verify_share(s: &sangathan_store::DynStore, seed: u64, share: f64) -> anyhow::Result<(u64, u64)> {
    use chrono::TimeZone;
    use sangathan_core::access::Wings;
    use std::collections::BTreeMap;
    let state = s.state_code().await?;
    let now = Utc::now();
    // (day of the decision, rejected?) → membership ids.
    let mut plan: BTreeMap<(chrono::NaiveDate, bool), Vec<i64>> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = s.verification_queue(&state, &Wings::All, after, 200).await?.unwrap_or_default();
        let Some(last) = page.last() else { break };
        after = last.membership_id;
        for m in &page {
            let mut r = SplitMix64::new(mix(&[seed, m.membership_id as u64, 0x7E41]));
            let when = m.enrolled_at + Duration::hours(r.range(20, 96) as i64);
            if when > now || r.unit() >= share {
                continue;
            }
            let rejected = r.unit() < 0.02;
            plan.entry((sangathan_store::clock::day_of(when), rejected)).or_default().push(m.membership_id);
        }
    }
    let (mut verified, mut rejected) = (0, 0);
    for ((day, reject), ids) in plan {
        let at = sangathan_store::clock::ist()
            .from_local_datetime(&day.and_hms_opt(12, 0, 0).expect("noon"))
            .single()
            .expect("IST has no gaps")
            .with_timezone(&Utc);
        for chunk in ids.chunks(5_000) {
            if reject {
                rejected += s.set_status(chunk, "rejected", Some("not reachable on the given mobile"), "demo", at).await?.changed;
            } else {
                verified += s.set_status(chunk, "verified", None, "demo", at).await?.changed;
            }
        }
    }
    Ok((verified, rejected))
}

/// Workers per AC in the demo, who share its booths evenly.
const WORKERS_PER_AC: u64 = 8;

/// Who enrolled honest member `i` at `unit`: one of the AC's workers, evenly.
pub fn worker_of(seed: u64, i: u64, unit: &str) -> String {
    let ac = unit.rsplit_once("-B").map(|(a, _)| a).unwrap_or(unit);
    format!("worker:{ac}:{}", mix(&[seed, i, 0x3E]) % WORKERS_PER_AC)
}

/// How many fake members one padding enroller adds.
const FAKE_BLOCK: u64 = 150;

/// `count` members enrolled through fake patterns, in blocks of 150 by one padding enroller
/// each (`worker:AC:fJ`): consecutive mobile numbers, one booth, twelve to an address, all
/// within about an hour. Names come from the generator (they look real).
pub fn fake_members(
    g: &mut Generator,
    seed: u64,
    honest: u64,
    count: u64,
    acs: &[(String, Vec<String>)],
    now: DateTime<Utc>,
) -> Vec<(Enrolment, sangathan_store::EnrolContext)> {
    let with_booths: Vec<&(String, Vec<String>)> = acs.iter().filter(|(_, b)| !b.is_empty()).collect();
    let mut out = Vec::with_capacity(count as usize);
    let mut k = 0u64;
    while k < count {
        let j = k / FAKE_BLOCK;
        let b = k % FAKE_BLOCK;
        let (ac, booths) = with_booths[(mix(&[seed, j, 0xFA]) % with_booths.len() as u64) as usize];
        let booth = &booths[(mix(&[seed, j, 0xB0]) % booths.len() as u64) as usize];
        let mut m = g.member(honest + 1_000_000 + k);
        m.unit = booth.clone();
        m.wing = "party".into();
        m.epic = None;
        m.mobile = Some(Mobile::parse(&(6_900_000_000 + j * 1_000 + b).to_string()).expect("valid mobile"));
        m.address = Some(format!("House {}, near the school", b / 12 + 1));
        let at = now - Duration::days(2 + (j % 20) as i64) + Duration::seconds((b * 25) as i64);
        out.push((
            m,
            sangathan_store::EnrolContext { actor: format!("worker:{ac}:f{j}"), channel: "demo".into(), at, scope: None, consent: None, audit: None },
        ));
        k += 1;
    }
    out
}

/// What detection found on the demo: (fake members flagged, honest members flagged, recall %,
/// honest share flagged %). The fake ones are known by their enrollers' labels, which the rules
/// never look at.
pub async fn detection_report(s: &sangathan_store::DynStore, honest: u64, fake: u64) -> anyhow::Result<(u64, u64, f64, f64)> {
    let state = s.state_code().await?;
    let flags = s.flags_within(&state, false).await?.unwrap_or_default();
    let flagged: std::collections::HashSet<i64> = flags.iter().flat_map(|f| f.members.iter().map(|m| m.membership_id)).collect();
    let (mut f, mut h) = (0u64, 0u64);
    for id in flagged {
        if let Some(m) = s.membership_state(id).await? {
            if m.enrolled_by.rsplit(':').next().is_some_and(|k| k.starts_with('f')) {
                f += 1;
            } else {
                h += 1;
            }
        }
    }
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
    Ok((f, h, pct(f, fake), pct(h, honest)))
}
