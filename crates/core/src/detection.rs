//! Fake-member detection: the rules that raise a flag for an office-bearer to review. A flag
//! never rejects anyone by itself. Each rule is a pure function over figures the store gathers;
//! thresholds are configuration ([`Thresholds`], defaults explained in the README).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// The rule codes (a contract: flags carry them).
pub const RULES: [&str; 7] = ["padding", "number_run", "epic_run", "shared_address", "repeated_name", "unconfirmed", "far_apart"];

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
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { rate_factor: 3.0, rate_min: 20, run_length: 5, address_max: 10, name_max: 5, unconfirmed_days: 7, unconfirmed_min: 5, far_minutes: 15 }
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
/// how many they enrolled there). The findings carry no members: the store adds them.
pub fn padding(rows: &[(String, String, usize)], t: &Thresholds) -> Vec<Finding> {
    let mut by_ac: HashMap<&str, Vec<usize>> = HashMap::new();
    for (_, ac, n) in rows {
        by_ac.entry(ac.as_str()).or_default().push(*n);
    }
    let medians: HashMap<&str, f64> = by_ac.into_iter().map(|(ac, mut v)| (ac, median(&mut v))).collect();
    let mut out = Vec::new();
    for (who, ac, n) in rows {
        let med = medians[ac.as_str()];
        if *n >= t.rate_min && *n as f64 > t.rate_factor * med {
            out.push(Finding {
                rule: "padding",
                key: format!("padding:{who}:{ac}"),
                en: format!("{who} enrolled {n} members in {ac}, more than {} times the median of its enrollers ({med})", t.rate_factor),
                hi: format!("{who} ने {ac} में {n} सदस्य जोड़े, वहाँ के नामांकनकर्ताओं की माध्यिका ({med}) के {} गुना से अधिक", t.rate_factor),
                members: Vec::new(),
            });
        }
    }
    out
}

/// Runs of consecutive numbers from one enroller. `items`: (membership, number), any order.
/// `what` names the kind ("mobile" → rule number_run, "EPIC" → epic_run).
pub fn runs(who: &str, items: &[(i64, u64)], what: &str, t: &Thresholds) -> Vec<Finding> {
    let mut v: Vec<(u64, i64)> = items.iter().map(|(m, n)| (*n, *m)).collect();
    v.sort_unstable();
    v.dedup_by_key(|x| x.0);
    let rule = if what == "EPIC" { "epic_run" } else { "number_run" };
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=v.len() {
        if i < v.len() && v[i].0 == v[i - 1].0 + 1 {
            continue;
        }
        if i - start >= t.run_length {
            let (first, last) = (v[start].0, v[i - 1].0);
            out.push(Finding {
                rule,
                key: format!("{rule}:{who}:{first}"),
                en: format!("{who} enrolled {} members with consecutive {what} numbers ({first} … {last})", i - start),
                hi: format!("{who} ने लगातार {what} नंबरों ({first} … {last}) वाले {} सदस्य जोड़े", i - start),
                members: v[start..i].iter().map(|x| x.1).collect(),
            });
        }
        start = i;
    }
    out
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
            key: format!("{rule}:{booth}:{value}"),
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

/// One enroller in two districts within minutes. `items`: (time, district, membership), any order.
pub fn far_apart(who: &str, items: &[(DateTime<Utc>, i64, i64)], t: &Thresholds) -> Vec<Finding> {
    let mut v = items.to_vec();
    v.sort_unstable();
    let mut out = Vec::new();
    for w in v.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.1 != b.1 && b.0 - a.0 <= Duration::minutes(t.far_minutes) {
            out.push(Finding {
                rule: "far_apart",
                key: format!("far_apart:{who}:{}", a.2),
                en: format!("{who} enrolled in two districts {} minutes apart", (b.0 - a.0).num_minutes()),
                hi: format!("{who} ने {} मिनट के अंतर पर दो ज़िलों में नामांकन किया", (b.0 - a.0).num_minutes()),
                members: vec![a.2, b.2],
            });
        }
    }
    out
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
        assert_eq!(f.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["padding:pad:AC1"]);
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
}
