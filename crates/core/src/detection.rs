//! Fake-member detection: the rules that raise a flag for an office-bearer to review. A flag
//! never rejects anyone by itself. Each rule is a pure function over figures the store gathers;
//! thresholds are configuration ([`Thresholds`], defaults explained in the README).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// The rule codes (a contract: flags carry them).
pub const RULES: [&str; 9] =
    ["padding", "hourly_rate", "number_run", "epic_run", "shared_address", "repeated_name", "unconfirmed", "rejections", "far_apart"];

#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// An enroller is flagged above this many times the median of the enrollers of their AC...
    pub rate_factor: f64,
    /// ...when they enrolled at least this many there (a handful is never padding).
    pub rate_min: usize,
    /// Consecutive mobile numbers (or EPIC serials) from one enroller, at least this many.
    pub run_length: usize,
    /// Members sharing one address in one booth, more than this many.
    pub address_max: usize,
    /// One name repeated within one booth, more than this many times.
    pub name_max: usize,
    /// A code sent this many days ago and never confirmed...
    pub unconfirmed_days: i64,
    /// ...for at least this many of one enroller's members.
    pub unconfirmed_min: usize,
    /// One enroller in two different districts within this many minutes.
    pub far_minutes: i64,
    /// More than this many enrolments by one enroller within any 60 minutes (a sheet import is
    /// not an enroller and is not counted).
    pub hourly_max: usize,
    /// An enroller whose members were checked (verified or rejected) at least this many times...
    pub rejected_min: usize,
    /// ...and of whom more than this share were rejected, and more than `rate_factor` times the
    /// median share of their AC's enrollers...
    pub rejected_share: f64,
    /// ...and that many rejections would happen by chance less often than this at the rate of
    /// the AC's other enrollers (at least 1 %).
    pub rejected_chance: f64,
    /// Not a threshold: an enroller with at most this many members is read once and sorted in
    /// memory; more are streamed from the database in each order (memory stays flat).
    pub in_memory_max: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            rate_factor: 3.0,
            rate_min: 20,
            run_length: 5,
            address_max: 10,
            name_max: 5,
            unconfirmed_days: 7,
            unconfirmed_min: 5,
            far_minutes: 15,
            hourly_max: 100,
            rejected_min: 10,
            rejected_share: 0.25,
            rejected_chance: 1e-6,
            in_memory_max: 500_000,
        }
    }
}

impl Thresholds {
    /// The settings by name (the server reads each from `SANGATHAN_DETECT_<NAME>`, upper-case).
    pub const NAMES: [&'static str; 12] = [
        "rate_factor",
        "rate_min",
        "run_length",
        "address_max",
        "name_max",
        "unconfirmed_days",
        "unconfirmed_min",
        "far_minutes",
        "hourly_max",
        "rejected_min",
        "rejected_share",
        "rejected_chance",
    ];

    /// Change one setting; a bad name or value is refused, saying which and why.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let v = value.trim();
        let whole = |min: i64| -> Result<i64, String> {
            v.parse::<i64>().ok().filter(|n| *n >= min).ok_or_else(|| format!("detection setting {name} must be a whole number of at least {min}, not {v:?}"))
        };
        let real = |lo: f64, hi: f64| -> Result<f64, String> {
            v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= lo && *x <= hi).ok_or_else(|| format!("detection setting {name} must be a number from {lo} to {hi}, not {v:?}"))
        };
        match name {
            "rate_factor" => self.rate_factor = real(1.0, 1000.0)?,
            "rate_min" => self.rate_min = whole(1)? as usize,
            "run_length" => self.run_length = whole(2)? as usize,
            "address_max" => self.address_max = whole(1)? as usize,
            "name_max" => self.name_max = whole(1)? as usize,
            "unconfirmed_days" => self.unconfirmed_days = whole(1)?,
            "unconfirmed_min" => self.unconfirmed_min = whole(1)? as usize,
            "far_minutes" => self.far_minutes = whole(1)?,
            "hourly_max" => self.hourly_max = whole(1)? as usize,
            "rejected_min" => self.rejected_min = whole(1)? as usize,
            "rejected_share" => self.rejected_share = real(0.0, 1.0)?,
            "rejected_chance" => self.rejected_chance = real(0.0, 1.0)?,
            _ => return Err(format!("no detection setting is called {name}")),
        }
        Ok(())
    }

    /// The defaults, with each setting `lookup` knows put in their place.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for name in Self::NAMES {
            if let Some(v) = lookup(name).filter(|v| !v.trim().is_empty()) {
                t.set(name, &v)?;
            }
        }
        Ok(t)
    }
}

/// A flag as a rule raises it: a stable key (one flag per subject), why in both languages, and
/// the memberships concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub key: String,
    pub en: String,
    pub hi: String,
    pub members: Vec<i64>,
}

fn median(v: &mut [usize]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] as f64 } else { (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0 }
}

/// Enrollers whose count in an AC is far above their peers'. `rows`: (enroller, AC code,
/// how many they enrolled there). Each finding comes with the index of its row; it carries no
/// members: the store adds them.
pub fn padding(rows: &[(String, String, usize)], t: &Thresholds) -> Vec<(usize, Finding)> {
    let mut by_ac: HashMap<&str, Vec<usize>> = HashMap::new();
    for (_, ac, n) in rows {
        by_ac.entry(ac.as_str()).or_default().push(*n);
    }
    let medians: HashMap<&str, f64> = by_ac.into_iter().map(|(ac, mut v)| (ac, median(&mut v))).collect();
    let mut out = Vec::new();
    for (i, (who, ac, n)) in rows.iter().enumerate() {
        let med = medians[ac.as_str()];
        if *n >= t.rate_min && *n as f64 > t.rate_factor * med {
            out.push((i, Finding {
                rule: "padding",
                key: format!("padding:{who}:{ac}"),
                en: format!("{who} enrolled {n} members in {ac}, more than {} times the median of its enrollers ({med})", t.rate_factor),
                hi: format!("{who} ने {ac} में {n} सदस्य जोड़े, वहाँ के नामांकनकर्ताओं की माध्यिका ({med}) के {} गुना से अधिक", t.rate_factor),
                members: Vec::new(),
            }));
        }
    }
    out
}

/// Most flags one rule raises about one enroller in one run (a flood is one problem, and the
/// first findings show it).
pub const MAX_FINDINGS_PER_ENROLLER: usize = 50;

/// Runs of consecutive numbers from one enroller, fed in ascending order (streamed from the
/// database): `what` is "mobile" (rule number_run) or "EPIC" (epic_run, within one series).
pub struct Runs<'a> {
    who: &'a str,
    what: &'static str,
    t: &'a Thresholds,
    cur: Vec<(u64, i64)>,
    pub found: Vec<Finding>,
}

impl<'a> Runs<'a> {
    pub fn new(who: &'a str, what: &'static str, t: &'a Thresholds) -> Self {
        Runs { who, what, t, cur: Vec::new(), found: Vec::new() }
    }

    /// The next number (ascending; equal numbers — a household's shared phone — are one).
    pub fn push(&mut self, membership: i64, n: u64) {
        match self.cur.last() {
            Some(&(last, _)) if n == last => {}
            Some(&(last, _)) if n == last + 1 => self.cur.push((n, membership)),
            _ => {
                self.close();
                self.cur.push((n, membership));
            }
        }
    }

    /// A break in the sequence (e.g. another EPIC series).
    pub fn close(&mut self) {
        if self.cur.len() >= self.t.run_length && self.found.len() < MAX_FINDINGS_PER_ENROLLER {
            let rule = if self.what == "EPIC" { "epic_run" } else { "number_run" };
            let (first, last, n, who, what) = (self.cur[0].0, self.cur[self.cur.len() - 1].0, self.cur.len(), self.who, self.what);
            self.found.push(Finding {
                rule,
                key: format!("{rule}:{who}:{first}"),
                en: format!("{who} enrolled {n} members with consecutive {what} numbers ({first} … {last})"),
                hi: format!("{who} ने लगातार {what} नंबरों ({first} … {last}) वाले {n} सदस्य जोड़े"),
                members: self.cur.iter().map(|x| x.1).collect(),
            });
        }
        self.cur.clear();
    }

    pub fn finish(mut self) -> Vec<Finding> {
        self.close();
        self.found
    }
}

/// Runs of consecutive numbers from one enroller. `items`: (membership, number), any order.
pub fn runs(who: &str, items: &[(i64, u64)], what: &'static str, t: &Thresholds) -> Vec<Finding> {
    let mut v: Vec<(u64, i64)> = items.iter().map(|(m, n)| (*n, *m)).collect();
    v.sort_unstable();
    let mut r = Runs::new(who, what, t);
    for (n, m) in v {
        r.push(m, n);
    }
    r.finish()
}

/// Too many members sharing something in one booth: `kind` is "address" or "name"; `groups`:
/// (booth, the shared value as typed, memberships).
pub fn crowded(kind: &str, groups: &[(String, String, Vec<i64>)], t: &Thresholds) -> Vec<Finding> {
    let (rule, max) = if kind == "address" { ("shared_address", t.address_max) } else { ("repeated_name", t.name_max) };
    groups
        .iter()
        .filter(|(_, _, m)| m.len() > max)
        .map(|(booth, value, m)| Finding {
            rule,
            // The value itself stays out of the key (an erasure scrubs the reason, not keys).
            key: format!("{rule}:{booth}:{:016x}", value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))),
            en: format!("{} members in booth {booth} share the {kind} “{value}” (more than {max})", m.len()),
            hi: format!(
                "बूथ {booth} में {} सदस्यों का {} “{value}” एक है ({max} से अधिक)",
                m.len(),
                if kind == "address" { "पता" } else { "नाम" }
            ),
            members: m.clone(),
        })
        .collect()
}

/// An enroller many of whose members never confirmed a code sent long ago.
pub fn unconfirmed(who: &str, members: &[i64], t: &Thresholds) -> Option<Finding> {
    (members.len() >= t.unconfirmed_min).then(|| Finding {
        rule: "unconfirmed",
        key: format!("unconfirmed:{who}"),
        en: format!("{} members enrolled by {who} never confirmed the code sent to them {} or more days ago", members.len(), t.unconfirmed_days),
        hi: format!("{who} द्वारा जोड़े गए {} सदस्यों ने {} या अधिक दिन पहले भेजा कोड कभी पुष्ट नहीं किया", members.len(), t.unconfirmed_days),
        members: members.to_vec(),
    })
}

/// Enrollers whose members fail verification unusually often. `rows`: (enroller, AC code,
/// verified, rejected) in that AC. Like [`padding`], each finding comes with its row's index and
/// no members (the store adds the enroller's members there still to check, and those rejected).
pub fn rejections(rows: &[(String, String, usize, usize)], t: &Thresholds) -> Vec<(usize, Finding)> {
    let share = |v: usize, r: usize| if v + r == 0 { 0.0 } else { r as f64 / (v + r) as f64 };
    let mut by_ac: HashMap<&str, Vec<f64>> = HashMap::new();
    for (_, ac, v, r) in rows {
        if v + r > 0 {
            by_ac.entry(ac.as_str()).or_default().push(share(*v, *r));
        }
    }
    let medians: HashMap<&str, f64> = by_ac
        .into_iter()
        .map(|(ac, mut v)| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            (ac, if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
        })
        .collect();
    // Each AC's checked and rejected members, pooled: the rate an honest enroller there shows.
    let mut pooled: HashMap<&str, (usize, usize)> = HashMap::new();
    for (_, ac, v, r) in rows {
        let e = pooled.entry(ac.as_str()).or_default();
        e.0 += v + r;
        e.1 += r;
    }
    let mut out = Vec::new();
    for (i, (who, ac, v, r)) in rows.iter().enumerate() {
        let (checked, s) = (v + r, share(*v, *r));
        let med = medians.get(ac.as_str()).copied().unwrap_or(0.0);
        // The others' rate (at least 1 %): with thousands of enrollers some honest ones draw a
        // few rejections by chance, so the count must also be unlikely at that rate.
        let (all, rej) = pooled[ac.as_str()];
        let others = if all > checked { (rej - r) as f64 / (all - checked) as f64 } else { 0.0 };
        let chance = binomial_tail(checked, *r, others.max(0.01));
        if checked >= t.rejected_min && s > t.rejected_share && s > t.rate_factor * med && chance < t.rejected_chance {
            let pct = (s * 100.0).round();
            let med_pct = (med * 100.0).round();
            out.push((i, Finding {
                rule: "rejections",
                key: format!("rejections:{who}:{ac}"),
                en: format!("{r} of the {checked} members {who} enrolled in {ac} that were checked were rejected ({pct}%; the AC's enrollers: {med_pct}%)"),
                hi: format!("{who} द्वारा {ac} में जोड़े गए {checked} जाँचे गए सदस्यों में से {r} अस्वीकृत हुए ({pct}%; विधानसभा के नामांकनकर्ता: {med_pct}%)"),
                members: Vec::new(),
            }));
        }
    }
    out
}

/// The chance of at least `k` of `n` when each happens with chance `p` (binomial upper tail).
pub fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // ln C(n, j) built up term by term from j = k.
    let mut ln_c: f64 = (0..k).map(|j| ((n - j) as f64).ln() - ((j + 1) as f64).ln()).sum();
    let mut total = 0.0;
    for j in k..=n {
        total += (ln_c + j as f64 * lp + (n - j) as f64 * lq).exp();
        if j < n {
            ln_c += ((n - j) as f64).ln() - ((j + 1) as f64).ln();
        }
    }
    total.min(1.0)
}

/// More than `hourly_max` enrolments by one enroller within 60 minutes, fed in time order
/// (streamed): one flag per enroller, naming the busiest hour's members (at most 500).
pub struct Hourly<'a> {
    who: &'a str,
    t: &'a Thresholds,
    window: std::collections::VecDeque<(DateTime<Utc>, i64)>,
    best: Vec<i64>,
    best_n: usize,
    best_start: Option<DateTime<Utc>>,
}

impl<'a> Hourly<'a> {
    pub fn new(who: &'a str, t: &'a Thresholds) -> Self {
        Hourly { who, t, window: Default::default(), best: Vec::new(), best_n: 0, best_start: None }
    }

    pub fn push(&mut self, at: DateTime<Utc>, membership: i64) {
        self.window.push_back((at, membership));
        while self.window.front().is_some_and(|(a, _)| at - *a >= Duration::minutes(60)) {
            self.window.pop_front();
        }
        if self.window.len() > self.t.hourly_max && self.window.len() > self.best_n {
            self.best_n = self.window.len();
            self.best = self.window.iter().map(|w| w.1).take(500).collect();
            self.best_start = self.window.front().map(|w| w.0);
        }
        // Memory stays bounded however fast the flood: the window never keeps more than needed.
        if self.window.len() > 100_000 {
            self.window.pop_front();
        }
    }

    pub fn finish(self) -> Option<Finding> {
        let who = self.who;
        let n = self.best_n;
        let start = self.best_start?;
        Some(Finding {
            rule: "hourly_rate",
            key: format!("hourly_rate:{who}"),
            en: format!(
                "{who} enrolled {n} members within one hour from {} UTC (more than {} an hour)",
                start.format("%Y-%m-%d %H:%M"),
                self.t.hourly_max
            ),
            hi: format!(
                "{who} ने {} UTC से एक घंटे में {n} सदस्य जोड़े (एक घंटे में {} से अधिक)",
                start.format("%Y-%m-%d %H:%M"),
                self.t.hourly_max
            ),
            members: self.best,
        })
    }
}

/// One enroller in two districts within minutes, fed in time order (streamed): one flag per
/// enroller, holding the pairs found (at most 500 members).
pub struct FarApart<'a> {
    who: &'a str,
    t: &'a Thresholds,
    prev: Option<(DateTime<Utc>, i64, i64)>,
    pairs: usize,
    shortest: Option<i64>,
    members: Vec<i64>,
}

impl<'a> FarApart<'a> {
    pub fn new(who: &'a str, t: &'a Thresholds) -> Self {
        FarApart { who, t, prev: None, pairs: 0, shortest: None, members: Vec::new() }
    }

    pub fn push(&mut self, at: DateTime<Utc>, district: i64, membership: i64) {
        if let Some((pat, pd, pm)) = self.prev
            && pd != district
            && at - pat <= Duration::minutes(self.t.far_minutes)
        {
            self.pairs += 1;
            let gap = (at - pat).num_minutes();
            self.shortest = Some(self.shortest.map_or(gap, |s| s.min(gap)));
            if self.members.len() < 500 {
                if self.members.last() != Some(&pm) {
                    self.members.push(pm);
                }
                self.members.push(membership);
            }
        }
        self.prev = Some((at, district, membership));
    }

    pub fn finish(self) -> Option<Finding> {
        let who = self.who;
        (self.pairs > 0).then(|| Finding {
            rule: "far_apart",
            key: format!("far_apart:{who}"),
            en: format!(
                "{who} enrolled in two different districts within {} minutes, {} times (closest: {} minutes apart)",
                self.t.far_minutes,
                self.pairs,
                self.shortest.unwrap_or(0)
            ),
            hi: format!(
                "{who} ने {} मिनट के भीतर दो अलग ज़िलों में नामांकन किया, {} बार (सबसे कम अंतर: {} मिनट)",
                self.t.far_minutes,
                self.pairs,
                self.shortest.unwrap_or(0)
            ),
            members: self.members,
        })
    }
}

/// One enroller in two districts within minutes. `items`: (time, district, membership), any order.
pub fn far_apart(who: &str, items: &[(DateTime<Utc>, i64, i64)], t: &Thresholds) -> Vec<Finding> {
    let mut v = items.to_vec();
    v.sort_unstable();
    let mut f = FarApart::new(who, t);
    for (at, d, m) in v {
        f.push(at, d, m);
    }
    f.finish().into_iter().collect()
}

/// The digits of an EPIC's serial and its letters (for runs within one series).
pub fn epic_serial(epic: &str) -> Option<(String, u64)> {
    let (letters, digits) = epic.split_at(3.min(epic.len()));
    digits.parse().ok().map(|n| (letters.to_string(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_relative_to_the_ac() {
        let t = Thresholds::default();
        let row = |w: &str, ac: &str, n: usize| (w.to_string(), ac.to_string(), n);
        let rows = vec![row("a", "AC1", 30), row("b", "AC1", 28), row("c", "AC1", 31), row("pad", "AC1", 200), row("x", "AC2", 25)];
        let f = padding(&rows, &t);
        assert_eq!(f.iter().map(|(i, f)| (*i, f.key.as_str())).collect::<Vec<_>>(), [(3, "padding:pad:AC1")]);
        // A lone enroller with few members is not padding.
        assert!(padding(&[row("solo", "AC3", 10)], &t).is_empty());
    }

    #[test]
    fn runs_of_consecutive_numbers() {
        let t = Thresholds::default();
        let items: Vec<(i64, u64)> = [9000000001u64, 9000000002, 9000000004, 9000000003, 9000000005, 9812345678].iter().enumerate().map(|(i, n)| (i as i64, *n)).collect();
        let f = runs("w", &items, "mobile", &t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].members.len(), 5);
        assert!(runs("w", &items[..4], "mobile", &t).is_empty());
        assert_eq!(epic_serial("ABC1234567"), Some(("ABC".into(), 1234567)));
    }

    #[test]
    fn crowds_unconfirmed_and_distance() {
        let t = Thresholds::default();
        let g = vec![("B1".to_string(), "ward 4".to_string(), (0..11).collect::<Vec<i64>>()), ("B2".into(), "x".into(), vec![1, 2])];
        assert_eq!(crowded("address", &g, &t).len(), 1);
        assert_eq!(crowded("name", &g, &t).len(), 2 - 1);
        assert!(unconfirmed("w", &[1, 2, 3, 4], &t).is_none());
        assert!(unconfirmed("w", &[1, 2, 3, 4, 5], &t).is_some());
        let now = Utc::now();
        let f = far_apart("w", &[(now, 1, 10), (now + Duration::minutes(5), 2, 11), (now + Duration::hours(3), 3, 12)], &t);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].members, vec![10, 11]);
    }

    #[test]
    fn thresholds_are_configuration() {
        let t = Thresholds::from_lookup(|n| (n == "hourly_max").then(|| " 40 ".to_string())).unwrap();
        assert_eq!(t, Thresholds { hourly_max: 40, ..Thresholds::default() });
        assert!(Thresholds::from_lookup(|n| (n == "rejected_share").then(|| "1.5".to_string())).unwrap_err().contains("rejected_share"));
        assert!(Thresholds::default().set("nope", "1").is_err());
        assert!(Thresholds::default().set("run_length", "1").unwrap_err().contains("at least 2"));
        let mut all = Thresholds::default();
        for n in Thresholds::NAMES {
            let v = if n.starts_with("rejected_") && n != "rejected_min" { "0.5" } else { "2" };
            all.set(n, v).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn hourly_rate_and_rejections() {
        let t = Thresholds { hourly_max: 3, ..Thresholds::default() };
        let now = Utc::now();
        let mut h = Hourly::new("w", &t);
        for (i, m) in [0, 20, 40, 59, 200].iter().enumerate() {
            h.push(now + Duration::minutes(*m), i as i64);
        }
        let f = h.finish().expect("four within 60 minutes");
        assert_eq!(f.members, vec![0, 1, 2, 3]);
        let mut quiet = Hourly::new("w", &t);
        for (i, m) in [0, 20, 40, 60, 80].iter().enumerate() {
            quiet.push(now + Duration::minutes(*m), i as i64);
        }
        assert!(quiet.finish().is_none(), "never more than three within any 60 minutes");

        let t = Thresholds::default();
        let row = |w: &str, v: usize, r: usize| (w.to_string(), "AC1".to_string(), v, r);
        let rows = vec![row("a", 30, 1), row("b", 28, 0), row("c", 25, 2), row("bad", 6, 9), row("few", 1, 3)];
        let f = rejections(&rows, &t);
        assert_eq!(f.iter().map(|(i, f)| (*i, f.key.as_str())).collect::<Vec<_>>(), [(3, "rejections:bad:AC1")]);
        assert!(rejections(&[row("a", 90, 10), row("b", 85, 15)], &t).is_empty(), "ordinary rejection rates");
        // Chance: 3 of 11 rejected where the others' rate is 2 % happens to some honest enroller
        // among thousands; 6 of 10 does not.
        let others: Vec<_> = (0..5).map(|i| row(&format!("o{i}"), 196, 4)).collect();
        let with = |r: (String, String, usize, usize)| [others.clone(), vec![r]].concat();
        assert!(rejections(&with(row("unlucky", 8, 3)), &t).is_empty());
        assert_eq!(rejections(&with(row("bad", 4, 6)), &t).len(), 1);
        assert!((binomial_tail(11, 3, 0.02) - 0.00117).abs() < 0.0001, "{}", binomial_tail(11, 3, 0.02));
        assert_eq!(binomial_tail(5, 0, 0.3), 1.0);
        assert!((binomial_tail(4, 4, 0.5) - 0.0625).abs() < 1e-12);
    }
}
