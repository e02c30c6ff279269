//! Meetings: rotating series, presiding chairs, report routing and escalation, compliance
//! weeks and iCalendar output.
//!
//! Pure rules: no I/O and no clock reads; every time is passed in. Wall-clock times are local
//! times in Asia/Kolkata (IST, UTC+05:30, no daylight saving).

use crate::error::FieldError;
use crate::geo::UnitKind;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, Utc, Weekday};
use std::collections::{BTreeSet, HashMap, HashSet};

// ---------------------------------------------------------------------------------------------
// Recurrence rules
// ---------------------------------------------------------------------------------------------

/// How often a series repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freq {
    Weekly,
    Monthly,
}

impl Freq {
    pub fn as_str(self) -> &'static str {
        match self {
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
        }
    }
}

/// A recurrence rule: the subset of RFC 5545 RRULE that meeting series use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub freq: Freq,
    /// Every `interval` weeks or months; at least 1.
    pub interval: u32,
    /// Week days, each with an optional ordinal within the month (MONTHLY only: 1..5, -1..-5).
    pub by_day: Vec<(Option<i8>, Weekday)>,
    /// Days of the month, 1..31 or -1..-31 (counted from the month's end); MONTHLY only.
    pub by_month_day: Vec<i8>,
    /// Positions within each month's set of matching days (1.., or -1.. from the end);
    /// empty: every matching day. MONTHLY only, with BYDAY or BYMONTHDAY.
    pub by_set_pos: Vec<i16>,
    /// The day a week starts on (WKST; Monday by default): with INTERVAL > 1, which days of a
    /// WEEKLY rule fall in the same week.
    pub wkst: Weekday,
    pub count: Option<u32>,
    pub until: Option<NaiveDate>,
}

/// Longest rule text accepted by [`Rule::parse`].
pub const RULE_MAX_LEN: usize = 500;

/// Occurrences are generated at most this many years after the series' start (400 years is a
/// full Gregorian cycle, so a rule with no date in that span has none at all).
pub const RULE_HORIZON_YEARS: u32 = 400;

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Mon),
    ("TU", Weekday::Tue),
    ("WE", Weekday::Wed),
    ("TH", Weekday::Thu),
    ("FR", Weekday::Fri),
    ("SA", Weekday::Sat),
    ("SU", Weekday::Sun),
];

/// The RFC 5545 two-letter code of a week day (`SU`, `MO`, …).
pub fn day_code(w: Weekday) -> &'static str {
    WEEKDAYS[w.num_days_from_monday() as usize].0
}

fn parse_day_code(s: &str) -> Option<Weekday> {
    WEEKDAYS.iter().find(|(c, _)| *c == s).map(|&(_, w)| w)
}

fn rule_error(en: impl Into<String>, hi: impl Into<String>) -> FieldError {
    FieldError::new("rule", "invalid_rule", en, hi)
}

fn bad_value(part: &str) -> FieldError {
    rule_error(
        format!("{part}: invalid value"),
        format!("{part}: अमान्य मान"),
    )
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_positive(part: &str, v: &str) -> Result<u32, FieldError> {
    if !all_digits(v) {
        return Err(bad_value(part));
    }
    match v.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(bad_value(part)),
    }
}

/// `YYYYMMDD`, `YYYYMMDDTHHMMSS` or `YYYYMMDDTHHMMSSZ` → the date.
fn parse_until(part: &str, v: &str) -> Result<NaiveDate, FieldError> {
    let (date, time) = match v.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z').unwrap_or(t))),
        None => (v, None),
    };
    if date.len() != 8 || !all_digits(date) {
        return Err(bad_value(part));
    }
    if let Some(t) = time {
        if t.len() != 6 || !all_digits(t) {
            return Err(bad_value(part));
        }
        let n = |i: usize| t[i..i + 2].parse::<u32>().unwrap_or(99);
        if n(0) > 23 || n(2) > 59 || n(4) > 60 {
            return Err(bad_value(part));
        }
    }
    let y: i32 = date[..4].parse().map_err(|_| bad_value(part))?;
    let m: u32 = date[4..6].parse().map_err(|_| bad_value(part))?;
    let d: u32 = date[6..].parse().map_err(|_| bad_value(part))?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| bad_value(part))
}

/// One BYDAY entry such as `SU`, `1SU`, `+2MO` or `-1SU`.
fn parse_by_day(part: &str, tok: &str, freq: Freq) -> Result<(Option<i8>, Weekday), FieldError> {
    if tok.len() < 2 || !tok.is_char_boundary(tok.len() - 2) {
        return Err(bad_value(part));
    }
    let (prefix, code) = tok.split_at(tok.len() - 2);
    let day = parse_day_code(code).ok_or_else(|| bad_value(part))?;
    if prefix.is_empty() {
        return Ok((None, day));
    }
    if freq == Freq::Weekly {
        return Err(rule_error(
            format!("{part}: a numbered day (like 1SU) needs FREQ=MONTHLY"),
            format!("{part}: क्रमांकित दिन (जैसे 1SU) के लिए FREQ=MONTHLY चाहिए"),
        ));
    }
    let (neg, digits) = match prefix.as_bytes()[0] {
        b'-' => (true, &prefix[1..]),
        b'+' => (false, &prefix[1..]),
        _ => (false, prefix),
    };
    if !all_digits(digits) || digits.len() > 1 {
        return Err(bad_value(part));
    }
    let n: i8 = digits.parse().map_err(|_| bad_value(part))?;
    if !(1..=5).contains(&n) {
        return Err(bad_value(part));
    }
    Ok((Some(if neg { -n } else { n }), day))
}

fn parse_month_day(part: &str, tok: &str) -> Result<i8, FieldError> {
    let (neg, digits) = match tok.as_bytes().first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    if !all_digits(digits) || digits.len() > 2 {
        return Err(bad_value(part));
    }
    let n: i8 = digits.parse().map_err(|_| bad_value(part))?;
    if !(1..=31).contains(&n) {
        return Err(bad_value(part));
    }
    Ok(if neg { -n } else { n })
}

/// Sort key of a BYDAY entry: by week day from Monday, then plain, 1..5, -5..-1.
fn by_day_key(&(ord, day): &(Option<i8>, Weekday)) -> (u32, i32) {
    let o = match ord {
        None => 0,
        Some(n) if n > 0 => n as i32,
        Some(n) => 20 + n as i32,
    };
    (day.num_days_from_monday(), o)
}

fn normalize_by_day(v: &mut Vec<(Option<i8>, Weekday)>) {
    v.sort_by_key(by_day_key);
    v.dedup();
}

fn normalize_month_days(v: &mut Vec<i8>) {
    v.sort_by_key(|&d| (d < 0, d.unsigned_abs()));
    v.dedup();
}

fn normalize_set_pos(v: &mut Vec<i16>) {
    v.sort_by_key(|&d| (d < 0, d.unsigned_abs()));
    v.dedup();
}

/// One BYSETPOS entry: 1..366 or -366..-1.
fn parse_set_pos(part: &str, tok: &str) -> Result<i16, FieldError> {
    let (neg, digits) = match tok.as_bytes().first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    if !all_digits(digits) || digits.len() > 3 {
        return Err(bad_value(part));
    }
    let n: i16 = digits.parse().map_err(|_| bad_value(part))?;
    if !(1..=366).contains(&n) {
        return Err(bad_value(part));
    }
    Ok(if neg { -n } else { n })
}

/// The members of one month's ascending set at the BYSETPOS positions (all when none),
/// ascending and without repeats.
fn at_positions<T: Copy + Ord>(set: Vec<T>, pos: &[i16]) -> Vec<T> {
    if pos.is_empty() {
        return set;
    }
    let n = set.len() as i64;
    let picked: BTreeSet<T> = pos
        .iter()
        .filter_map(|&p| {
            let i = if p > 0 {
                i64::from(p) - 1
            } else {
                n + i64::from(p)
            };
            (0..n).contains(&i).then(|| set[i as usize])
        })
        .collect();
    picked.into_iter().collect()
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    match (
        NaiveDate::from_ymd_opt(y, m, 1),
        NaiveDate::from_ymd_opt(ny, nm, 1),
    ) {
        (Some(a), Some(b)) => (b - a).num_days() as u32,
        _ => 31,
    }
}

impl Rule {
    /// Parse `FREQ=WEEKLY;BYDAY=SU` (an optional leading `RRULE:` is allowed; parts in any
    /// order; case-insensitive). FREQ (WEEKLY or MONTHLY) is required; INTERVAL, BYDAY,
    /// BYMONTHDAY and BYSETPOS (MONTHLY only; BYSETPOS with BYDAY or BYMONTHDAY), COUNT or
    /// UNTIL (not both) and WKST are accepted.
    pub fn parse(s: &str) -> Result<Rule, FieldError> {
        if s.len() > RULE_MAX_LEN {
            return Err(rule_error(
                format!("rule is longer than {RULE_MAX_LEN} characters"),
                format!("नियम {RULE_MAX_LEN} अक्षरों से लंबा है"),
            ));
        }
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix("RRULE:").unwrap_or(&upper).trim();
        if body.is_empty() {
            return Err(rule_error(
                "rule is empty: FREQ is required (WEEKLY or MONTHLY)",
                "नियम खाली है: FREQ आवश्यक है (WEEKLY या MONTHLY)",
            ));
        }
        let mut parts: Vec<(&str, &str, &str)> = Vec::new();
        for part in body.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, value)) = part.split_once('=') else {
                return Err(rule_error(
                    format!("{part}: expected NAME=VALUE"),
                    format!("{part}: NAME=VALUE के रूप में होना चाहिए"),
                ));
            };
            let (name, value) = (name.trim(), value.trim());
            if parts.iter().any(|(n, _, _)| *n == name) {
                return Err(rule_error(
                    format!("{name}: given more than once"),
                    format!("{name}: एक से अधिक बार दिया गया है"),
                ));
            }
            parts.push((name, value, part));
        }

        let freq = match parts.iter().find(|(n, _, _)| *n == "FREQ") {
            None => {
                return Err(rule_error(
                    "FREQ is required (WEEKLY or MONTHLY)",
                    "FREQ आवश्यक है (WEEKLY या MONTHLY)",
                ));
            }
            Some((_, "WEEKLY", _)) => Freq::Weekly,
            Some((_, "MONTHLY", _)) => Freq::Monthly,
            Some((_, _, part)) => {
                return Err(rule_error(
                    format!("{part}: only FREQ=WEEKLY or FREQ=MONTHLY is supported"),
                    format!("{part}: केवल FREQ=WEEKLY या FREQ=MONTHLY समर्थित है"),
                ));
            }
        };

        let mut rule = Rule {
            freq,
            interval: 1,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_set_pos: Vec::new(),
            wkst: Weekday::Mon,
            count: None,
            until: None,
        };
        for &(name, value, part) in &parts {
            match name {
                "FREQ" => {}
                "INTERVAL" => rule.interval = parse_positive(part, value)?,
                "COUNT" => rule.count = Some(parse_positive(part, value)?),
                "UNTIL" => rule.until = Some(parse_until(part, value)?),
                "WKST" => rule.wkst = parse_day_code(value).ok_or_else(|| bad_value(part))?,
                "BYSETPOS" => {
                    // Weekly sets are not used: calendar apps disagree on a first week that
                    // starts before DTSTART.
                    if freq != Freq::Monthly {
                        return Err(rule_error(
                            format!("{part}: only allowed with FREQ=MONTHLY"),
                            format!("{part}: केवल FREQ=MONTHLY के साथ मान्य है"),
                        ));
                    }
                    for tok in value.split(',') {
                        rule.by_set_pos.push(parse_set_pos(part, tok.trim())?);
                    }
                }
                "BYDAY" => {
                    for tok in value.split(',') {
                        rule.by_day.push(parse_by_day(part, tok.trim(), freq)?);
                    }
                }
                "BYMONTHDAY" => {
                    if freq != Freq::Monthly {
                        return Err(rule_error(
                            format!("{part}: only allowed with FREQ=MONTHLY"),
                            format!("{part}: केवल FREQ=MONTHLY के साथ मान्य है"),
                        ));
                    }
                    for tok in value.split(',') {
                        rule.by_month_day.push(parse_month_day(part, tok.trim())?);
                    }
                }
                "BYSECOND" | "BYMINUTE" | "BYHOUR" | "BYYEARDAY" | "BYWEEKNO" | "BYMONTH" => {
                    return Err(rule_error(
                        format!("{part}: not supported for meeting series"),
                        format!("{part}: बैठक शृंखला के लिए समर्थित नहीं है"),
                    ));
                }
                _ => {
                    return Err(rule_error(
                        format!("{part}: unknown part"),
                        format!("{part}: अज्ञात भाग"),
                    ));
                }
            }
        }
        if rule.count.is_some() && rule.until.is_some() {
            return Err(rule_error(
                "COUNT and UNTIL cannot both be given",
                "COUNT और UNTIL दोनों एक साथ नहीं दिए जा सकते",
            ));
        }
        if !rule.by_set_pos.is_empty() && rule.by_day.is_empty() && rule.by_month_day.is_empty() {
            return Err(rule_error(
                "BYSETPOS needs BYDAY or BYMONTHDAY",
                "BYSETPOS के साथ BYDAY या BYMONTHDAY चाहिए",
            ));
        }
        normalize_by_day(&mut rule.by_day);
        normalize_month_days(&mut rule.by_month_day);
        normalize_set_pos(&mut rule.by_set_pos);
        Ok(rule)
    }

    /// The canonical text without the `RRULE:` prefix: FREQ, INTERVAL (only if != 1), BYDAY,
    /// BYMONTHDAY, BYSETPOS, WKST (only if not MO), COUNT, UNTIL (as YYYYMMDD). Round-trips
    /// through [`Rule::parse`].
    pub fn to_rrule(&self) -> String {
        let mut out = format!("FREQ={}", self.freq.as_str());
        if self.interval > 1 {
            out.push_str(&format!(";INTERVAL={}", self.interval));
        }
        if !self.by_day.is_empty() {
            let mut days = self.by_day.clone();
            if self.freq == Freq::Weekly {
                for d in &mut days {
                    d.0 = None;
                }
            }
            normalize_by_day(&mut days);
            let days: Vec<String> = days
                .iter()
                .map(|&(o, d)| match o {
                    Some(n) => format!("{n}{}", day_code(d)),
                    None => day_code(d).to_string(),
                })
                .collect();
            out.push_str(";BYDAY=");
            out.push_str(&days.join(","));
        }
        if !self.by_month_day.is_empty() && self.freq == Freq::Monthly {
            let mut md = self.by_month_day.clone();
            normalize_month_days(&mut md);
            let md: Vec<String> = md.iter().map(|d| d.to_string()).collect();
            out.push_str(";BYMONTHDAY=");
            out.push_str(&md.join(","));
        }
        if !self.by_set_pos.is_empty() {
            let mut sp = self.by_set_pos.clone();
            normalize_set_pos(&mut sp);
            let sp: Vec<String> = sp.iter().map(|d| d.to_string()).collect();
            out.push_str(";BYSETPOS=");
            out.push_str(&sp.join(","));
        }
        if self.wkst != Weekday::Mon {
            out.push_str(";WKST=");
            out.push_str(day_code(self.wkst));
        }
        if let Some(c) = self.count {
            out.push_str(&format!(";COUNT={c}"));
        }
        if let Some(u) = self.until {
            out.push_str(&format!(";UNTIL={}", u.format("%Y%m%d")));
        }
        out
    }

    /// The occurrence dates on or after `start` (the series' DTSTART date), on or before `end`
    /// and UNTIL (when given), at most COUNT in all (counted from `start`, only dates matching
    /// the rule count) and at most `limit`, ascending. WEEKLY without BYDAY uses start's week
    /// day; MONTHLY without BYDAY/BYMONTHDAY uses start's day of month (months lacking it are
    /// skipped). INTERVAL counts weeks (starting on WKST, from start's week) or months.
    /// BYSETPOS picks from each month's matching days, counting days before `start` in its
    /// first month (as RFC 5545 and dateutil do). Dates more than [`RULE_HORIZON_YEARS`] after
    /// `start` are never generated.
    pub fn dates(&self, start: NaiveDate, end: Option<NaiveDate>, limit: usize) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let max_n = self.count.map_or(limit, |c| limit.min(c as usize));
        if max_n == 0 {
            return out;
        }
        let mut stop = start
            .checked_add_months(Months::new(12 * RULE_HORIZON_YEARS))
            .unwrap_or(NaiveDate::MAX);
        if let Some(e) = end {
            stop = stop.min(e);
        }
        if let Some(u) = self.until {
            stop = stop.min(u);
        }
        if stop < start {
            return out;
        }
        let interval = u64::from(self.interval.max(1));
        // Pushes `d` if in range; false once the series is finished.
        let take = |d: NaiveDate, out: &mut Vec<NaiveDate>| -> bool {
            if d < start {
                return true;
            }
            if d > stop {
                return false;
            }
            out.push(d);
            out.len() < max_n
        };
        match self.freq {
            Freq::Weekly => {
                // Days after the week's first day (WKST).
                let wkst = self.wkst.num_days_from_monday();
                let after_wkst = |d: Weekday| u64::from((d.num_days_from_monday() + 7 - wkst) % 7);
                let offsets: BTreeSet<u64> = if self.by_day.is_empty() {
                    [after_wkst(start.weekday())].into()
                } else {
                    self.by_day.iter().map(|&(_, d)| after_wkst(d)).collect()
                };
                let week0 = start - Days::new(after_wkst(start.weekday()));
                for k in 0u64.. {
                    let Some(first) = k
                        .checked_mul(interval * 7)
                        .and_then(|n| week0.checked_add_days(Days::new(n)))
                    else {
                        break;
                    };
                    if first > stop {
                        break;
                    }
                    for &o in &offsets {
                        let Some(d) = first.checked_add_days(Days::new(o)) else {
                            return out;
                        };
                        if !take(d, &mut out) {
                            return out;
                        }
                    }
                }
            }
            Freq::Monthly => {
                let m0 = i64::from(start.year()) * 12 + i64::from(start.month0());
                for k in 0u64.. {
                    let Some(m) = i64::try_from(k)
                        .ok()
                        .and_then(|k| k.checked_mul(interval as i64))
                        .and_then(|n| n.checked_add(m0))
                    else {
                        break;
                    };
                    let Ok(y) = i32::try_from(m.div_euclid(12)) else {
                        break;
                    };
                    let month = m.rem_euclid(12) as u32 + 1;
                    let Some(first) = NaiveDate::from_ymd_opt(y, month, 1) else {
                        break;
                    };
                    if first > stop {
                        break;
                    }
                    let days: Vec<u32> =
                        self.month_days(y, month, start.day()).into_iter().collect();
                    for day in at_positions(days, &self.by_set_pos) {
                        let Some(d) = NaiveDate::from_ymd_opt(y, month, day) else {
                            continue;
                        };
                        if !take(d, &mut out) {
                            return out;
                        }
                    }
                }
            }
        }
        out
    }

    /// The matching days (1-based, ascending) of one month for a MONTHLY rule.
    fn month_days(&self, y: i32, month: u32, default_day: u32) -> BTreeSet<u32> {
        let n = days_in_month(y, month);
        let by_month_day: Option<BTreeSet<u32>> = if !self.by_month_day.is_empty() {
            Some(
                self.by_month_day
                    .iter()
                    .filter_map(|&d| {
                        let d = i32::from(d);
                        let day = if d > 0 { d } else { n as i32 + 1 + d };
                        (1..=n as i32).contains(&day).then_some(day as u32)
                    })
                    .collect(),
            )
        } else if self.by_day.is_empty() {
            Some(
                (default_day <= n)
                    .then_some(default_day)
                    .into_iter()
                    .collect(),
            )
        } else {
            None
        };
        let by_day: Option<BTreeSet<u32>> = (!self.by_day.is_empty()).then(|| {
            let first_wd = NaiveDate::from_ymd_opt(y, month, 1)
                .map_or(0, |d| d.weekday().num_days_from_monday());
            let mut set = BTreeSet::new();
            for &(ord, wd) in &self.by_day {
                let first = 1 + (wd.num_days_from_monday() + 7 - first_wd) % 7;
                let all: Vec<u32> = (first..=n).step_by(7).collect();
                match ord {
                    None => set.extend(all),
                    Some(k) if k > 0 => set.extend(all.get(k as usize - 1)),
                    Some(k) => {
                        let back = k.unsigned_abs() as usize;
                        if back <= all.len() {
                            set.insert(all[all.len() - back]);
                        }
                    }
                }
            }
            set
        });
        match (by_month_day, by_day) {
            (Some(a), Some(b)) => a.intersection(&b).copied().collect(),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => BTreeSet::new(),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rrule())
    }
}

impl std::str::FromStr for Rule {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::parse(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Venue rotation
// ---------------------------------------------------------------------------------------------

/// A venue placed earlier in the same series (not cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub venue: i64,
    pub date: NaiveDate,
}

/// Why a venue was chosen (or none), in English and Hindi, for people to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub venue: Option<i64>,
    pub why_en: String,
    pub why_hi: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Place one occurrence on `date`. A venue of `pool` (in pool order; repeats ignored) is a
/// candidate when not `unavailable(venue, date)` and no visit in `history` is less than
/// `min_gap_weeks * 7` days from `date`, either side (0 = no gap rule). The smallest candidate
/// by (visits in history, last visit date with never first, pool position) is chosen.
pub fn place(
    pool: &[i64],
    history: &[Visit],
    date: NaiveDate,
    min_gap_weeks: u32,
    unavailable: &dyn Fn(i64, NaiveDate) -> bool,
) -> Placement {
    // venue → (visits, last visit, nearest distance in days to `date`)
    let mut stats: HashMap<i64, (usize, NaiveDate, i64)> = HashMap::new();
    for v in history {
        let dist = (v.date - date).num_days().abs();
        let e = stats.entry(v.venue).or_insert((0, v.date, dist));
        e.0 += 1;
        e.1 = e.1.max(v.date);
        e.2 = e.2.min(dist);
    }
    let gap_days = i64::from(min_gap_weeks) * 7;
    let mut seen = HashSet::new();
    let mut n_pool = 0usize;
    let mut n_unavailable = 0usize;
    let mut n_gap = 0usize;
    // (visits, last, position, venue)
    let mut best: Option<(usize, Option<NaiveDate>, usize, i64)> = None;
    for &venue in pool {
        if !seen.insert(venue) {
            continue;
        }
        let pos = n_pool;
        n_pool += 1;
        if unavailable(venue, date) {
            n_unavailable += 1;
            continue;
        }
        let st = stats.get(&venue);
        if gap_days > 0 && st.is_some_and(|s| s.2 < gap_days) {
            n_gap += 1;
            continue;
        }
        let key = (st.map_or(0, |s| s.0), st.map(|s| s.1), pos, venue);
        if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
            best = Some(key);
        }
    }

    let weeks_en = plural(min_gap_weeks as usize, "week", "weeks");
    let mut skipped_en = Vec::new();
    let mut skipped_hi = Vec::new();
    if n_unavailable > 0 {
        skipped_en.push(format!("{n_unavailable} unavailable on this date"));
        skipped_hi.push(format!("{n_unavailable} इस तारीख को उपलब्ध नहीं"));
    }
    if n_gap > 0 {
        skipped_en.push(format!(
            "{n_gap} with a meeting less than {weeks_en} from this date"
        ));
        skipped_hi.push(format!(
            "{n_gap} जहाँ इस तारीख से {min_gap_weeks} सप्ताह के भीतर बैठक है"
        ));
    }

    match best {
        None if n_pool == 0 => Placement {
            venue: None,
            why_en: "no venue: the venue pool is empty".into(),
            why_hi: "कोई स्थान नहीं: स्थानों की सूची खाली है".into(),
        },
        None => Placement {
            venue: None,
            why_en: format!(
                "no venue qualifies out of {n_pool}: {}",
                skipped_en.join(", ")
            ),
            why_hi: format!("{n_pool} में से कोई स्थान योग्य नहीं: {}", skipped_hi.join(", ")),
        },
        Some((visits, last, pos, venue)) => {
            let last_en = last.map_or("never".to_string(), |d| format!("last on {d}"));
            let last_hi = last.map_or("कभी नहीं".to_string(), |d| {
                format!("पिछली बार {d} को")
            });
            let mut why_en = format!(
                "least visited ({} so far), then least recently visited ({last_en}), \
                 then first in pool order (position {} of {n_pool})",
                plural(visits, "visit", "visits"),
                pos + 1
            );
            let mut why_hi = format!(
                "सबसे कम बार चुना गया (अब तक {visits} बार), फिर सबसे लंबे समय से नहीं चुना गया \
                 ({last_hi}), फिर सूची के क्रम में पहला ({n_pool} में से {} नंबर पर)",
                pos + 1
            );
            if !skipped_en.is_empty() {
                why_en.push_str(&format!("; skipped {}", skipped_en.join(", ")));
                why_hi.push_str(&format!("; छोड़े गए: {}", skipped_hi.join(", ")));
            }
            Placement {
                venue: Some(venue),
                why_en,
                why_hi,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chairs
// ---------------------------------------------------------------------------------------------

/// Choose a chair among `eligible`: skip those `busy` (chairing another meeting that day) or
/// `declined`; then the smallest by (load, missing = 0; last chaired date, never first; id).
pub fn pick_chair(
    eligible: &[i64],
    load: &HashMap<i64, u32>,
    last: &HashMap<i64, NaiveDate>,
    busy: &HashSet<i64>,
    declined: &HashSet<i64>,
) -> Option<i64> {
    eligible
        .iter()
        .copied()
        .filter(|p| !busy.contains(p) && !declined.contains(p))
        .min_by_key(|p| (load.get(p).copied().unwrap_or(0), last.get(p).copied(), *p))
}

/// The seniority chain, most senior first (PCs are a parallel grouping, not on it).
pub const CHAIN: [UnitKind; 6] = [
    UnitKind::State,
    UnitKind::Division,
    UnitKind::District,
    UnitKind::Ac,
    UnitKind::Sector,
    UnitKind::Booth,
];

fn chain_pos(k: UnitKind) -> Option<usize> {
    CHAIN.iter().position(|&c| c == k)
}

/// Up to `n` levels directly above `venue` on [`CHAIN`], nearest first; none for Pc.
fn levels_above(venue: UnitKind, n: usize) -> Vec<UnitKind> {
    match chain_pos(venue) {
        Some(p) => CHAIN[..p].iter().rev().take(n).copied().collect(),
        None => Vec::new(),
    }
}

/// The unit kinds whose office-bearers may chair a meeting at a venue of `venue` kind: the
/// two levels above it, nearest first (booth → [Sector, Ac]; state → []; Pc → []).
pub fn chair_levels(venue: UnitKind) -> Vec<UnitKind> {
    levels_above(venue, 2)
}

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/// The default report chain for a meeting at a venue of `venue` kind: up to three levels
/// above it, nearest first (booth → [Sector, Ac, District]; state → []; Pc → []).
pub fn default_chain(venue: UnitKind) -> Vec<UnitKind> {
    levels_above(venue, 3)
}

fn levels_error(en: impl Into<String>, hi: impl Into<String>) -> FieldError {
    FieldError::new("levels", "invalid_levels", en, hi)
}

/// Parse a chain like `ac,district,division`: unit kind codes, comma-separated, at least one,
/// strictly ascending in seniority, no `pc`.
pub fn parse_chain(s: &str) -> Result<Vec<UnitKind>, FieldError> {
    let mut out: Vec<UnitKind> = Vec::new();
    if s.trim().is_empty() {
        return Err(levels_error(
            "at least one level is required (for example ac,district,division)",
            "कम से कम एक स्तर आवश्यक है (उदाहरण: ac,district,division)",
        ));
    }
    for tok in s.split(',') {
        let code = tok.trim().to_ascii_lowercase();
        let Some(kind) = UnitKind::parse(&code) else {
            return Err(levels_error(
                format!(
                    "'{}' is not a unit level (state, division, district, ac, sector, booth)",
                    tok.trim()
                ),
                format!(
                    "'{}' इकाई स्तर नहीं है (state, division, district, ac, sector, booth)",
                    tok.trim()
                ),
            ));
        };
        let Some(p) = chain_pos(kind) else {
            return Err(levels_error(
                "pc cannot be a report level",
                "pc रिपोर्ट का स्तर नहीं हो सकता",
            ));
        };
        if let Some(&prev) = out.last()
            && chain_pos(prev).is_none_or(|q| p >= q)
        {
            return Err(levels_error(
                format!(
                    "levels must rise in seniority: {} cannot follow {}",
                    kind.as_str(),
                    prev.as_str()
                ),
                format!(
                    "स्तर वरिष्ठता के क्रम में ऊपर जाने चाहिए: {} के बाद {} नहीं आ सकता",
                    prev.as_str(),
                    kind.as_str()
                ),
            ));
        }
        out.push(kind);
    }
    Ok(out)
}

/// Default hours after a meeting's start before its report is due.
pub const REPORT_DUE_HOURS: i64 = 48;

/// How far up the chain an overdue report has escalated at `now`: None while `now <= due`;
/// else 1 + whole days since `due`. Callers cap it at the chain's length.
pub fn escalation_step(due: DateTime<Utc>, now: DateTime<Utc>) -> Option<u32> {
    if now <= due {
        return None;
    }
    let days = (now - due).num_days();
    Some(u32::try_from(days).unwrap_or(u32::MAX).saturating_add(1))
}

/// On time or late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    OnTime,
    Late,
}

/// `filed <= due` is on time.
pub fn timing(due: DateTime<Utc>, filed: DateTime<Utc>) -> Timing {
    if filed <= due {
        Timing::OnTime
    } else {
        Timing::Late
    }
}

// ---------------------------------------------------------------------------------------------
// Compliance weeks
// ---------------------------------------------------------------------------------------------

/// ISO week of a date as `YYYY-Www` (e.g. `2027-W02`), with the ISO week-year.
pub fn week_code(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// Parse `YYYY-Www` (the `W` in either case) → that ISO week's Monday.
pub fn parse_week(s: &str) -> Result<NaiveDate, FieldError> {
    let err = || {
        FieldError::new(
            "week",
            "invalid_week",
            format!("'{}' is not an ISO week such as 2027-W02", s.trim()),
            format!("'{}' ISO सप्ताह नहीं है (उदाहरण: 2027-W02)", s.trim()),
        )
    };
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() != 8 || b[4] != b'-' || !matches!(b[5], b'W' | b'w') {
        return Err(err());
    }
    if !all_digits(&t[..4]) || !all_digits(&t[6..]) {
        return Err(err());
    }
    let year: i32 = t[..4].parse().map_err(|_| err())?;
    let week: u32 = t[6..].parse().map_err(|_| err())?;
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(err)
}

// ---------------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------------

/// Meeting kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Employees,
    Booth,
    Sector,
    Workers,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Employees, Kind::Booth, Kind::Sector, Kind::Workers];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Employees => "employees",
            Kind::Booth => "booth",
            Kind::Sector => "sector",
            Kind::Workers => "workers",
        }
    }
    /// Parse a kind code (case-insensitive).
    pub fn parse(s: &str) -> Result<Kind, FieldError> {
        let code = s.trim().to_ascii_lowercase();
        Kind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "invalid_kind",
                    "meeting kind must be employees, booth, sector or workers",
                    "बैठक का प्रकार employees, booth, sector या workers होना चाहिए",
                )
            })
    }
    pub fn name_en(self) -> &'static str {
        match self {
            Kind::Employees => "Employees' meeting",
            Kind::Booth => "Booth meeting",
            Kind::Sector => "Sector meeting",
            Kind::Workers => "Workers' meeting",
        }
    }
    pub fn name_hi(self) -> &'static str {
        match self {
            Kind::Employees => "कर्मचारी बैठक",
            Kind::Booth => "बूथ बैठक",
            Kind::Sector => "सेक्टर बैठक",
            Kind::Workers => "कार्यकर्ता बैठक",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// iCalendar
// ---------------------------------------------------------------------------------------------

/// The time zone of every wall-clock time here.
pub const TZID: &str = "Asia/Kolkata";

/// One VEVENT. Times are local wall-clock times in Asia/Kolkata.
#[derive(Debug, Clone, Default)]
pub struct IcsEvent {
    pub uid: String,
    pub start: NaiveDateTime,
    /// Written as `DURATION:PT{minutes}M`.
    pub minutes: u32,
    pub summary: String,
    pub location: String,
    pub description: String,
    /// Canonical rule text, written as `RRULE:…`.
    pub rrule: Option<String>,
    pub exdates: Vec<NaiveDateTime>,
    pub recurrence_id: Option<NaiveDateTime>,
    pub sequence: u32,
    /// `STATUS:CANCELLED` (else `STATUS:CONFIRMED`).
    pub cancelled: bool,
}

/// Escape an RFC 5545 TEXT value: backslash, semicolon, comma, newline (CRLF, LF or CR → `\n`);
/// other control characters except tab are dropped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Drop control characters from a non-TEXT value so it cannot break the line structure.
fn clean_value(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// Append one content line, folded at 75 octets without splitting a UTF-8 character, CRLF ended.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut max = 75;
    loop {
        if rest.len() <= max {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        max = 74;
    }
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// A whole VCALENDAR (PUBLISH) with one VTIMEZONE for Asia/Kolkata and the events, their times
/// as `TZID=Asia/Kolkata` local times and DTSTAMP `stamp` in UTC. CRLF line ends, TEXT values
/// escaped, lines folded at 75 octets.
pub fn calendar(name: &str, events: &[IcsEvent], stamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_line(&mut out, s);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Sangathan//Meetings//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape_text(name)));
    line(&format!("X-WR-TIMEZONE:{TZID}"));
    line("BEGIN:VTIMEZONE");
    line(&format!("TZID:{TZID}"));
    line("BEGIN:STANDARD");
    line("DTSTART:19700101T000000");
    line("TZOFFSETFROM:+0530");
    line("TZOFFSETTO:+0530");
    line("TZNAME:IST");
    line("END:STANDARD");
    line("END:VTIMEZONE");
    let dtstamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    for e in events {
        line("BEGIN:VEVENT");
        line(&format!("UID:{}", escape_text(&e.uid)));
        line(&format!("DTSTAMP:{dtstamp}"));
        if let Some(r) = e.recurrence_id {
            line(&format!("RECURRENCE-ID;TZID={TZID}:{}", local(r)));
        }
        line(&format!("DTSTART;TZID={TZID}:{}", local(e.start)));
        line(&format!("DURATION:PT{}M", e.minutes));
        if let Some(r) = &e.rrule {
            let r = clean_value(r);
            let r = r.trim();
            let body = if r.len() >= 6 && r[..6].eq_ignore_ascii_case("RRULE:") {
                &r[6..]
            } else {
                r
            };
            line(&format!("RRULE:{body}"));
        }
        if !e.exdates.is_empty() {
            let list: Vec<String> = e.exdates.iter().map(|&t| local(t)).collect();
            line(&format!("EXDATE;TZID={TZID}:{}", list.join(",")));
        }
        line(&format!("SEQUENCE:{}", e.sequence));
        line(if e.cancelled {
            "STATUS:CANCELLED"
        } else {
            "STATUS:CONFIRMED"
        });
        line(&format!("SUMMARY:{}", escape_text(&e.summary)));
        if !e.location.is_empty() {
            line(&format!("LOCATION:{}", escape_text(&e.location)));
        }
        if !e.description.is_empty() {
            line(&format!("DESCRIPTION:{}", escape_text(&e.description)));
        }
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn utc(y: i32, m: u32, day: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, mi, s).unwrap()
    }

    // ----- rules -------------------------------------------------------------------------

    #[test]
    fn weekly_sundays_2027() {
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=SU").unwrap();
        let ds = r.dates(d(2027, 1, 3), Some(d(2027, 12, 26)), 1000);
        assert_eq!(ds.len(), 52);
        assert_eq!(ds[0], d(2027, 1, 3));
        assert_eq!(*ds.last().unwrap(), d(2027, 12, 26));
        assert!(ds.iter().all(|x| x.weekday() == Weekday::Sun));
        assert!(ds.windows(2).all(|w| (w[1] - w[0]).num_days() == 7));
    }

    #[test]
    fn weekly_start_mid_week_and_default_day() {
        // Start on a Wednesday: BYDAY=MO,FR gives that Friday first.
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=MO,FR").unwrap();
        let ds = r.dates(d(2027, 1, 6), None, 4);
        assert_eq!(
            ds,
            vec![
                d(2027, 1, 8),
                d(2027, 1, 11),
                d(2027, 1, 15),
                d(2027, 1, 18)
            ]
        );
        // Without BYDAY: start's weekday.
        let r = Rule::parse("FREQ=WEEKLY").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 6), None, 2),
            vec![d(2027, 1, 6), d(2027, 1, 13)]
        );
    }

    #[test]
    fn weekly_interval_two() {
        let r = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=SU").unwrap();
        let ds = r.dates(d(2027, 1, 3), Some(d(2027, 2, 28)), 100);
        assert_eq!(
            ds,
            vec![
                d(2027, 1, 3),
                d(2027, 1, 17),
                d(2027, 1, 31),
                d(2027, 2, 14),
                d(2027, 2, 28)
            ]
        );
        // Weeks are Monday-based and counted from start's week: start on Thursday 2027-01-07,
        // BYDAY=MO,TH → that Thursday, then the Monday and Thursday two weeks on.
        let r = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 7), None, 3),
            vec![d(2027, 1, 7), d(2027, 1, 18), d(2027, 1, 21)]
        );
    }

    #[test]
    fn weekly_wkst_decides_which_days_share_a_week() {
        // RFC 5545 (3.8.5.3)'s own example: from Tuesday 5 August 1997, every other week on
        // Tuesday and Sunday, four times; only the week start differs.
        let mo = Rule::parse("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO").unwrap();
        assert_eq!(mo.wkst, Weekday::Mon);
        assert_eq!(
            mo.dates(d(1997, 8, 5), None, 100),
            vec![
                d(1997, 8, 5),
                d(1997, 8, 10),
                d(1997, 8, 19),
                d(1997, 8, 24)
            ]
        );
        let su = Rule::parse("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU").unwrap();
        assert_eq!(su.wkst, Weekday::Sun);
        assert_eq!(
            su.dates(d(1997, 8, 5), None, 100),
            vec![
                d(1997, 8, 5),
                d(1997, 8, 17),
                d(1997, 8, 19),
                d(1997, 8, 31)
            ]
        );
        // No WKST: Monday.
        let none = Rule::parse("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU").unwrap();
        assert_eq!(
            none.dates(d(1997, 8, 5), None, 100),
            mo.dates(d(1997, 8, 5), None, 100)
        );
        // From Sunday 3 January 2027: with Sunday-based weeks the Tuesday after the start
        // shares its week (3, 5, 17, 19 Jan); with Monday-based weeks the start's week ends on
        // it, and its Tuesday (29 Dec) is before the start (3, 12, 17, 26 Jan).
        let su = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU").unwrap();
        assert_eq!(
            su.dates(d(2027, 1, 3), None, 4),
            vec![d(2027, 1, 3), d(2027, 1, 5), d(2027, 1, 17), d(2027, 1, 19)]
        );
        let mo = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU").unwrap();
        assert_eq!(
            mo.dates(d(2027, 1, 3), None, 4),
            vec![
                d(2027, 1, 3),
                d(2027, 1, 12),
                d(2027, 1, 17),
                d(2027, 1, 26)
            ]
        );
        // A mid-week week start, no BYDAY (start's week day): every third Friday from a
        // Friday, whatever the week start.
        let we = Rule::parse("FREQ=WEEKLY;INTERVAL=3;WKST=WE").unwrap();
        assert_eq!(
            we.dates(d(2027, 1, 8), None, 3),
            vec![d(2027, 1, 8), d(2027, 1, 29), d(2027, 2, 19)]
        );
        // Every other week on Monday and Friday, weeks from Wednesday: from Wednesday 6
        // January 2027 the first week is 6..12 Jan (Fri 8, Mon 11), the next 20..26 Jan.
        let we = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;WKST=WE").unwrap();
        assert_eq!(
            we.dates(d(2027, 1, 6), None, 4),
            vec![
                d(2027, 1, 8),
                d(2027, 1, 11),
                d(2027, 1, 22),
                d(2027, 1, 25)
            ]
        );
        // With INTERVAL=1 the week start changes nothing.
        let a = Rule::parse("FREQ=WEEKLY;BYDAY=TU,SU;WKST=SU").unwrap();
        let b = Rule::parse("FREQ=WEEKLY;BYDAY=TU,SU").unwrap();
        assert_eq!(
            a.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 1000),
            b.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 1000)
        );
    }

    #[test]
    fn bysetpos_picks_within_each_month() {
        // The last Sunday of the month, written with BYSETPOS: the same as BYDAY=-1SU.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-1").unwrap();
        assert_eq!(r.by_set_pos, vec![-1]);
        let ds = r.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 100);
        assert_eq!(
            ds,
            vec![
                d(2027, 1, 31),
                d(2027, 2, 28),
                d(2027, 3, 28),
                d(2027, 4, 25),
                d(2027, 5, 30),
                d(2027, 6, 27),
                d(2027, 7, 25),
                d(2027, 8, 29),
                d(2027, 9, 26),
                d(2027, 10, 31),
                d(2027, 11, 28),
                d(2027, 12, 26),
            ]
        );
        let ordinal = Rule::parse("FREQ=MONTHLY;BYDAY=-1SU").unwrap();
        assert_eq!(ds, ordinal.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 100));
        // RFC 5545's examples: the last work day of the month …
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1").unwrap();
        assert_eq!(
            r.dates(d(1997, 9, 29), None, 7),
            vec![
                d(1997, 9, 30),
                d(1997, 10, 31),
                d(1997, 11, 28),
                d(1997, 12, 31),
                d(1998, 1, 30),
                d(1998, 2, 27),
                d(1998, 3, 31)
            ]
        );
        // … and the third Tuesday, Wednesday or Thursday of the month, three times.
        let r = Rule::parse("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3").unwrap();
        assert_eq!(
            r.dates(d(1997, 9, 4), None, 100),
            vec![d(1997, 9, 4), d(1997, 10, 7), d(1997, 11, 6)]
        );
        // Days before the start still hold their place: from 5 January 2027 the second
        // Sunday is the 10th (the 3rd is the first), then 14 February.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=2").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 5), None, 2),
            vec![d(2027, 1, 10), d(2027, 2, 14)]
        );
        // Several positions; a position past the month's days gives nothing that month.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=1,-1").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 4),
            vec![d(2027, 1, 3), d(2027, 1, 31), d(2027, 2, 7), d(2027, 2, 28)]
        );
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=5").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 100),
            vec![
                d(2027, 1, 31),
                d(2027, 5, 30),
                d(2027, 8, 29),
                d(2027, 10, 31)
            ]
        );
        // With BYMONTHDAY: the middle one of the 1st, 15th and last day is the 15th.
        let r = Rule::parse("FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYSETPOS=2").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 3),
            vec![d(2027, 1, 15), d(2027, 2, 15), d(2027, 3, 15)]
        );
        // Every other month, the last Sunday.
        let r = Rule::parse("FREQ=MONTHLY;INTERVAL=2;BYDAY=SU;BYSETPOS=-1").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 4),
            vec![
                d(2027, 1, 31),
                d(2027, 3, 28),
                d(2027, 5, 30),
                d(2027, 7, 25)
            ]
        );
        // A position no month has terminates with nothing.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=6").unwrap();
        assert!(r.dates(d(2027, 1, 1), None, 10).is_empty());
    }

    #[test]
    fn monthly_last_sunday() {
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=-1SU").unwrap();
        let ds = r.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 100);
        let expect = [
            d(2027, 1, 31),
            d(2027, 2, 28),
            d(2027, 3, 28),
            d(2027, 4, 25),
            d(2027, 5, 30),
            d(2027, 6, 27),
            d(2027, 7, 25),
            d(2027, 8, 29),
            d(2027, 9, 26),
            d(2027, 10, 31),
            d(2027, 11, 28),
            d(2027, 12, 26),
        ];
        assert_eq!(ds, expect);
        for x in &ds {
            assert_eq!(x.weekday(), Weekday::Sun);
            assert!((*x + Days::new(7)).month() != x.month());
        }
    }

    #[test]
    fn monthly_first_and_second_and_fifth() {
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=1SU,2MO").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 4),
            vec![d(2027, 1, 3), d(2027, 1, 11), d(2027, 2, 7), d(2027, 2, 8)]
        );
        // 5th Sunday exists only in some months.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=5SU").unwrap();
        let ds = r.dates(d(2027, 1, 1), Some(d(2027, 12, 31)), 100);
        assert_eq!(
            ds,
            vec![
                d(2027, 1, 31),
                d(2027, 5, 30),
                d(2027, 8, 29),
                d(2027, 10, 31)
            ]
        );
    }

    #[test]
    fn monthly_month_days() {
        // Default: start's day of month, skipping months without it.
        let r = Rule::parse("FREQ=MONTHLY").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 31), None, 4),
            vec![
                d(2027, 1, 31),
                d(2027, 3, 31),
                d(2027, 5, 31),
                d(2027, 7, 31)
            ]
        );
        let r = Rule::parse("FREQ=MONTHLY;BYMONTHDAY=-1").unwrap();
        assert_eq!(
            r.dates(d(2028, 1, 15), None, 3),
            vec![d(2028, 1, 31), d(2028, 2, 29), d(2028, 3, 31)]
        );
        let r = Rule::parse("FREQ=MONTHLY;BYMONTHDAY=15,1").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 10), None, 3),
            vec![d(2027, 1, 15), d(2027, 2, 1), d(2027, 2, 15)]
        );
        // BYDAY and BYMONTHDAY together intersect: Friday the 13th.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 2),
            vec![d(2027, 8, 13), d(2028, 10, 13)]
        );
    }

    #[test]
    fn monthly_interval_two() {
        let r = Rule::parse("FREQ=MONTHLY;INTERVAL=2;BYDAY=-1SU").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 4),
            vec![
                d(2027, 1, 31),
                d(2027, 3, 28),
                d(2027, 5, 30),
                d(2027, 7, 25)
            ]
        );
    }

    #[test]
    fn count_counts_from_start_only_matching_dates() {
        let r = Rule::parse("FREQ=WEEKLY;BYDAY=SU;COUNT=3").unwrap();
        // Start is a Wednesday, which does not match: it is not counted.
        assert_eq!(
            r.dates(d(2027, 1, 6), None, 100),
            vec![d(2027, 1, 10), d(2027, 1, 17), d(2027, 1, 24)]
        );
        // `end` and `limit` cut further.
        assert_eq!(r.dates(d(2027, 1, 6), Some(d(2027, 1, 17)), 100).len(), 2);
        assert_eq!(r.dates(d(2027, 1, 6), None, 1), vec![d(2027, 1, 10)]);
        assert!(r.dates(d(2027, 1, 6), None, 0).is_empty());
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=-1SU;COUNT=2").unwrap();
        assert_eq!(
            r.dates(d(2027, 1, 1), None, 100),
            vec![d(2027, 1, 31), d(2027, 2, 28)]
        );
    }

    #[test]
    fn until_is_inclusive_and_keeps_the_date() {
        for text in [
            "FREQ=WEEKLY;BYDAY=SU;UNTIL=20270124",
            "FREQ=WEEKLY;BYDAY=SU;UNTIL=20270124T235959Z",
            "FREQ=WEEKLY;BYDAY=SU;UNTIL=20270124T000000",
        ] {
            let r = Rule::parse(text).unwrap();
            assert_eq!(r.until, Some(d(2027, 1, 24)));
            assert_eq!(
                r.dates(d(2027, 1, 3), None, 100),
                vec![
                    d(2027, 1, 3),
                    d(2027, 1, 10),
                    d(2027, 1, 17),
                    d(2027, 1, 24)
                ],
                "{text}"
            );
            // The tighter of `end` and UNTIL wins.
            assert_eq!(r.dates(d(2027, 1, 3), Some(d(2027, 1, 12)), 100).len(), 2);
        }
        // UNTIL before start → nothing.
        let r = Rule::parse("FREQ=WEEKLY;UNTIL=20261231").unwrap();
        assert!(r.dates(d(2027, 1, 3), None, 100).is_empty());
    }

    #[test]
    fn rule_that_never_matches_terminates() {
        // The last Monday is never the 1st.
        let r = Rule::parse("FREQ=MONTHLY;BYDAY=-1MO;BYMONTHDAY=1").unwrap();
        assert!(r.dates(d(2027, 1, 1), None, 10).is_empty());
        // A huge interval does not overflow.
        let r = Rule {
            freq: Freq::Weekly,
            interval: u32::MAX,
            by_day: vec![],
            by_month_day: vec![],
            by_set_pos: vec![],
            wkst: Weekday::Mon,
            count: None,
            until: None,
        };
        assert_eq!(r.dates(d(2027, 1, 3), None, 10), vec![d(2027, 1, 3)]);
        let r = Rule {
            freq: Freq::Monthly,
            ..r
        };
        assert_eq!(r.dates(d(2027, 1, 3), None, 10), vec![d(2027, 1, 3)]);
    }

    #[test]
    fn parse_is_case_insensitive_in_any_order_with_prefix() {
        let a = Rule::parse("rrule:byday=su;freq=weekly;wkst=mo").unwrap();
        let b = Rule::parse("FREQ=WEEKLY;BYDAY=SU").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.freq, Freq::Weekly);
        assert_eq!(a.interval, 1);
        assert_eq!(a.by_day, vec![(None, Weekday::Sun)]);
        let c = Rule::parse(" RRULE:FREQ=MONTHLY;BYDAY=+2MO;INTERVAL=3;COUNT=5 ").unwrap();
        assert_eq!(c.by_day, vec![(Some(2), Weekday::Mon)]);
        assert_eq!(c.interval, 3);
        assert_eq!(c.count, Some(5));
        assert_eq!("FREQ=WEEKLY;BYDAY=SU".parse::<Rule>().unwrap(), b);
    }

    #[test]
    fn parse_errors_name_the_bad_part() {
        let cases = [
            ("", "FREQ"),
            ("RRULE:", "FREQ"),
            ("BYDAY=SU", "FREQ"),
            ("FREQ=DAILY", "FREQ=DAILY"),
            ("FREQ=YEARLY", "FREQ=YEARLY"),
            ("FREQ=WEEKLY;BYHOUR=10", "BYHOUR=10"),
            ("FREQ=WEEKLY;BYSETPOS=1", "BYSETPOS=1"),
            ("FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1", "FREQ=MONTHLY"),
            (
                "FREQ=MONTHLY;BYSETPOS=-1",
                "BYSETPOS needs BYDAY or BYMONTHDAY",
            ),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=0", "BYSETPOS=0"),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=367", "BYSETPOS=367"),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-367", "BYSETPOS=-367"),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=1,", "BYSETPOS=1,"),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=--1", "BYSETPOS=--1"),
            ("FREQ=MONTHLY;BYDAY=SU;BYSETPOS=x", "BYSETPOS=X"),
            ("FREQ=WEEKLY;FOO=1", "FOO=1"),
            ("FREQ=WEEKLY;BYDAY", "BYDAY"),
            ("FREQ=WEEKLY;BYDAY=XX", "BYDAY=XX"),
            ("FREQ=WEEKLY;BYDAY=SU,", "BYDAY=SU,"),
            ("FREQ=WEEKLY;BYDAY=1SU", "BYDAY=1SU"),
            ("FREQ=MONTHLY;BYDAY=0SU", "BYDAY=0SU"),
            ("FREQ=MONTHLY;BYDAY=6SU", "BYDAY=6SU"),
            ("FREQ=MONTHLY;BYDAY=--1SU", "BYDAY=--1SU"),
            ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY=1"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY=32"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY=0"),
            ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY=-32"),
            ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0"),
            ("FREQ=WEEKLY;INTERVAL=-1", "INTERVAL=-1"),
            ("FREQ=WEEKLY;INTERVAL=+2", "INTERVAL=+2"),
            ("FREQ=WEEKLY;COUNT=0", "COUNT=0"),
            ("FREQ=WEEKLY;COUNT=x", "COUNT=X"),
            ("FREQ=WEEKLY;UNTIL=2027-01-01", "UNTIL=2027-01-01"),
            ("FREQ=WEEKLY;UNTIL=20270230", "UNTIL=20270230"),
            (
                "FREQ=WEEKLY;UNTIL=20270101T250000Z",
                "UNTIL=20270101T250000Z",
            ),
            ("FREQ=WEEKLY;WKST=XX", "WKST=XX"),
            ("FREQ=WEEKLY;FREQ=MONTHLY", "FREQ"),
            ("FREQ=WEEKLY;COUNT=3;UNTIL=20271231", "COUNT and UNTIL"),
        ];
        for (text, needle) in cases {
            let e = Rule::parse(text).expect_err(text);
            assert_eq!(e.field, "rule", "{text}");
            assert_eq!(e.code, "invalid_rule", "{text}");
            assert!(e.en.contains(needle), "{text}: {}", e.en);
            assert!(!e.hi.is_empty() && e.hi != e.en, "{text}");
        }
        assert!(Rule::parse(&"FREQ=WEEKLY;".repeat(100)).is_err());
    }

    #[test]
    fn parse_odd_input_is_an_error_not_a_panic() {
        for text in [
            "FREQ=MONTHLY;BYDAY=é",
            "FREQ=MONTHLY;BYDAY=-é1SU",
            "FREQ=MONTHLY;BYDAY=सोम",
            "FREQ=MONTHLY;BYMONTHDAY=+",
            "FREQ=MONTHLY;BYMONTHDAY=é",
            "FREQ=WEEKLY;UNTIL=२०२७०१०१",
            "FREQ=WEEKLY;UNTIL=20270101T",
            "FREQ=WEEKLY;COUNT=99999999999",
            "=;=",
            ";;;",
        ] {
            assert_eq!(Rule::parse(text).expect_err(text).field, "rule");
        }
        assert!(parse_week("२०२७-W02").is_err());
        assert!(parse_week("é27-W02").is_err());
    }

    #[test]
    fn to_rrule_is_canonical_and_round_trips() {
        let cases = [
            ("FREQ=WEEKLY;BYDAY=SU", "FREQ=WEEKLY;BYDAY=SU"),
            ("freq=weekly;interval=1;byday=su", "FREQ=WEEKLY;BYDAY=SU"),
            (
                "BYDAY=WE,MO;FREQ=WEEKLY;INTERVAL=2",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            ),
            ("RRULE:FREQ=MONTHLY;BYDAY=-1SU", "FREQ=MONTHLY;BYDAY=-1SU"),
            (
                "UNTIL=20271231T183000Z;BYMONTHDAY=-1,15,1;FREQ=MONTHLY",
                "FREQ=MONTHLY;BYMONTHDAY=1,15,-1;UNTIL=20271231",
            ),
            (
                "FREQ=MONTHLY;COUNT=6;BYDAY=+1SU,3SU",
                "FREQ=MONTHLY;BYDAY=1SU,3SU;COUNT=6",
            ),
            ("FREQ=WEEKLY;BYDAY=SU,SU", "FREQ=WEEKLY;BYDAY=SU"),
            (
                "WKST=SU;FREQ=WEEKLY;BYDAY=TU,SU;INTERVAL=2",
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            ),
            ("wkst=mo;freq=weekly;byday=su", "FREQ=WEEKLY;BYDAY=SU"),
            (
                "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=SU",
                "FREQ=MONTHLY;BYDAY=SU;BYSETPOS=-1",
            ),
            (
                "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,+1,2,-2,1",
                "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1,2,-1,-2",
            ),
        ];
        for (input, canonical) in cases {
            let r = Rule::parse(input).unwrap();
            assert_eq!(r.to_rrule(), canonical, "{input}");
            assert_eq!(Rule::parse(&r.to_rrule()).unwrap(), r, "{input}");
            assert_eq!(r.to_string(), canonical);
        }
    }

    // ----- rotation ------------------------------------------------------------------------

    fn no_blackouts(_: i64, _: NaiveDate) -> bool {
        false
    }

    #[test]
    fn place_round_robin_and_why() {
        let pool = [10, 20, 30];
        let p = place(&pool, &[], d(2027, 1, 3), 0, &no_blackouts);
        assert_eq!(p.venue, Some(10));
        assert_eq!(
            p.why_en,
            "least visited (0 visits so far), then least recently visited (never), \
             then first in pool order (position 1 of 3)"
        );
        assert!(p.why_hi.contains("कभी नहीं"));
        let h = [
            Visit {
                venue: 10,
                date: d(2027, 1, 3),
            },
            Visit {
                venue: 20,
                date: d(2027, 1, 10),
            },
            Visit {
                venue: 30,
                date: d(2027, 1, 17),
            },
        ];
        let p = place(&pool, &h, d(2027, 1, 24), 0, &no_blackouts);
        assert_eq!(p.venue, Some(10));
        assert!(p.why_en.contains("1 visit so far"), "{}", p.why_en);
        assert!(p.why_en.contains("last on 2027-01-03"), "{}", p.why_en);
        // Least visited beats pool order and recency.
        let h2 = [
            h[0],
            h[1],
            Visit {
                venue: 10,
                date: d(2026, 12, 1),
            },
        ];
        let p = place(&pool, &h2, d(2027, 1, 24), 0, &no_blackouts);
        assert_eq!(p.venue, Some(30));
        // Among equally visited, the least recently visited wins over pool order.
        let h3 = [
            Visit {
                venue: 10,
                date: d(2027, 1, 17),
            },
            Visit {
                venue: 20,
                date: d(2027, 1, 3),
            },
            Visit {
                venue: 30,
                date: d(2027, 1, 10),
            },
        ];
        assert_eq!(
            place(&pool, &h3, d(2027, 1, 24), 0, &no_blackouts).venue,
            Some(20)
        );
    }

    #[test]
    fn place_skips_unavailable_and_gap_and_explains_none() {
        let pool = [1, 2, 3];
        let unavailable = |v: i64, _: NaiveDate| v == 1;
        let p = place(&pool, &[], d(2027, 1, 3), 0, &unavailable);
        assert_eq!(p.venue, Some(2));
        assert!(
            p.why_en.contains("skipped 1 unavailable on this date"),
            "{}",
            p.why_en
        );
        assert!(p.why_hi.contains("उपलब्ध नहीं"));

        // Gap of 4 weeks with 3 venues weekly: the 4th week has no candidate.
        let h = [
            Visit {
                venue: 1,
                date: d(2027, 1, 3),
            },
            Visit {
                venue: 2,
                date: d(2027, 1, 10),
            },
            Visit {
                venue: 3,
                date: d(2027, 1, 17),
            },
        ];
        let p = place(&pool, &h, d(2027, 1, 24), 4, &no_blackouts);
        assert_eq!(p.venue, None);
        assert!(
            p.why_en.contains("no venue qualifies out of 3"),
            "{}",
            p.why_en
        );
        assert!(
            p.why_en.contains("3 with a meeting less than 4 weeks"),
            "{}",
            p.why_en
        );
        assert!(p.why_hi.contains("कोई स्थान योग्य नहीं"));
        // Exactly 4 weeks later is allowed; the gap also looks forward.
        assert_eq!(
            place(&pool, &h, d(2027, 1, 31), 4, &no_blackouts).venue,
            Some(1)
        );
        let later = [Visit {
            venue: 1,
            date: d(2027, 2, 7),
        }];
        assert_eq!(
            place(&pool, &later, d(2027, 1, 17), 4, &no_blackouts).venue,
            Some(2)
        );
        // Empty pool.
        let p = place(&[], &[], d(2027, 1, 3), 0, &no_blackouts);
        assert_eq!(p.venue, None);
        assert!(p.why_en.contains("empty"));
        // Everything unavailable.
        let p = place(&pool, &[], d(2027, 1, 3), 0, &|_, _| true);
        assert_eq!(p.venue, None);
        assert!(p.why_en.contains("3 unavailable"), "{}", p.why_en);
    }

    fn year_of_sundays() -> Vec<NaiveDate> {
        let holidays = [d(2027, 3, 21), d(2027, 10, 31)];
        let rule = Rule::parse("FREQ=WEEKLY;BYDAY=SU").unwrap();
        rule.dates(d(2027, 1, 3), Some(d(2027, 12, 26)), 1000)
            .into_iter()
            .filter(|x| !holidays.contains(x))
            .collect()
    }

    /// Place every date in turn, checking the rotation invariants at each step.
    fn rotate(
        pool: &[i64],
        dates: &[NaiveDate],
        gap: u32,
        unavailable: &dyn Fn(i64, NaiveDate) -> bool,
    ) -> Vec<Visit> {
        let mut history: Vec<Visit> = Vec::new();
        let mut cycle: HashSet<i64> = HashSet::new();
        for &date in dates {
            let p = place(pool, &history, date, gap, unavailable);
            let venue = p.venue.unwrap_or_else(|| panic!("{date}: {}", p.why_en));
            assert!(!unavailable(venue, date));
            // The chosen venue is among the least visited of the venues available that day.
            let count = |v: i64| history.iter().filter(|h| h.venue == v).count();
            let min = pool
                .iter()
                .filter(|&&v| !unavailable(v, date))
                .map(|&v| count(v))
                .min()
                .unwrap();
            assert_eq!(count(venue), min, "{date}: venue {venue}");
            // Cycles: a venue repeats only once every available venue had its turn.
            if !cycle.insert(venue) {
                for &v in pool {
                    assert!(
                        unavailable(v, date) || cycle.contains(&v),
                        "{date}: {venue} repeated before {v} was visited"
                    );
                }
                cycle.clear();
                cycle.insert(venue);
            }
            history.push(Visit { venue, date });
        }
        history
    }

    #[test]
    fn division_rotation_over_a_year_of_sundays() {
        let dates = year_of_sundays();
        assert_eq!(dates.len(), 50);
        let pool: Vec<i64> = (1..=22).collect();
        let first_four = dates[3];
        let unavailable = move |v: i64, dt: NaiveDate| v == 5 && dt <= first_four;
        let a = rotate(&pool, &dates, 10, &unavailable);
        let b = rotate(&pool, &dates, 10, &unavailable);
        assert_eq!(a, b, "deterministic");
        assert_eq!(a.len(), 50);
        // Holidays are absent.
        for h in [d(2027, 3, 21), d(2027, 10, 31)] {
            assert!(a.iter().all(|v| v.date != h));
        }
        // Venue 5 is not placed in its first four weeks.
        assert!(a[..4].iter().all(|v| v.venue != 5));
        // No venue twice within 10 weeks.
        for &v in &pool {
            let ds: Vec<NaiveDate> = a.iter().filter(|x| x.venue == v).map(|x| x.date).collect();
            assert!(
                ds.windows(2).all(|w| (w[1] - w[0]).num_days() >= 70),
                "{v}: {ds:?}"
            );
        }
        // 50 meetings over 22 venues: each 2 or 3 times.
        for &v in &pool {
            let n = a.iter().filter(|x| x.venue == v).count();
            assert!((2..=3).contains(&n), "{v}: {n}");
        }
    }

    #[test]
    fn late_venue_gets_its_turn_first() {
        let dates = year_of_sundays();
        let pool: Vec<i64> = (1..=22).collect();
        let fourth = dates[3];
        let unavailable = move |v: i64, dt: NaiveDate| v == 1 && dt <= fourth;
        let a = rotate(&pool, &dates, 10, &unavailable);
        let order: Vec<i64> = a[..6].iter().map(|v| v.venue).collect();
        assert_eq!(order, vec![2, 3, 4, 5, 1, 6]);
    }

    // ----- chairs --------------------------------------------------------------------------

    #[test]
    fn pick_chair_order() {
        let none = HashSet::new();
        let mut load = HashMap::new();
        let mut last = HashMap::new();
        assert_eq!(pick_chair(&[3, 1, 2], &load, &last, &none, &none), Some(1));
        load.insert(1, 1);
        assert_eq!(pick_chair(&[3, 1, 2], &load, &last, &none, &none), Some(2));
        load.insert(2, 1);
        load.insert(3, 1);
        last.insert(1, d(2027, 1, 10));
        last.insert(2, d(2027, 1, 3));
        last.insert(3, d(2027, 1, 17));
        assert_eq!(pick_chair(&[3, 1, 2], &load, &last, &none, &none), Some(2));
        // Never chaired beats any date.
        last.remove(&3);
        assert_eq!(pick_chair(&[3, 1, 2], &load, &last, &none, &none), Some(3));
        let busy: HashSet<i64> = [3].into();
        let declined: HashSet<i64> = [2].into();
        assert_eq!(
            pick_chair(&[3, 1, 2], &load, &last, &busy, &declined),
            Some(1)
        );
        let all: HashSet<i64> = [1, 2, 3].into();
        assert_eq!(pick_chair(&[3, 1, 2], &load, &last, &all, &none), None);
        assert_eq!(pick_chair(&[], &load, &last, &none, &none), None);
    }

    #[test]
    fn chairs_for_two_series_on_the_same_sundays() {
        let dates = year_of_sundays();
        let eligible: Vec<i64> = vec![107, 101, 104, 102, 106, 103, 105];
        let run = || {
            let mut load: HashMap<i64, u32> = HashMap::new();
            let mut last: HashMap<i64, NaiveDate> = HashMap::new();
            let mut log: Vec<(NaiveDate, i64, i64)> = Vec::new();
            let none = HashSet::new();
            for &date in &dates {
                let mut busy: HashSet<i64> = HashSet::new();
                let mut chairs = Vec::new();
                for _series in 0..2 {
                    let c = pick_chair(&eligible, &load, &last, &busy, &none).unwrap();
                    assert!(busy.insert(c), "{date}: {c} chairs twice");
                    *load.entry(c).or_insert(0) += 1;
                    last.insert(c, date);
                    chairs.push(c);
                    let loads: Vec<u32> = eligible
                        .iter()
                        .map(|p| load.get(p).copied().unwrap_or(0))
                        .collect();
                    let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
                    assert!(hi - lo <= 1, "{date}: loads {loads:?}");
                }
                assert_ne!(chairs[0], chairs[1]);
                log.push((date, chairs[0], chairs[1]));
            }
            (log, load)
        };
        let (log, load) = run();
        assert_eq!(run().0, log, "deterministic");
        assert_eq!(load.values().sum::<u32>(), 100);
        assert!(load.values().all(|&n| n == 14 || n == 15));
    }

    #[test]
    fn chair_levels_and_chains() {
        use UnitKind::*;
        assert_eq!(chair_levels(Booth), vec![Sector, Ac]);
        assert_eq!(chair_levels(Sector), vec![Ac, District]);
        assert_eq!(chair_levels(Ac), vec![District, Division]);
        assert_eq!(chair_levels(District), vec![Division, State]);
        assert_eq!(chair_levels(Division), vec![State]);
        assert!(chair_levels(State).is_empty());
        assert!(chair_levels(Pc).is_empty());
        assert_eq!(default_chain(Booth), vec![Sector, Ac, District]);
        assert_eq!(default_chain(Sector), vec![Ac, District, Division]);
        assert_eq!(default_chain(Ac), vec![District, Division, State]);
        assert_eq!(default_chain(District), vec![Division, State]);
        assert_eq!(default_chain(Division), vec![State]);
        assert!(default_chain(State).is_empty());
        assert!(default_chain(Pc).is_empty());
    }

    #[test]
    fn parse_chain_rules() {
        use UnitKind::*;
        assert_eq!(
            parse_chain("ac,district,division").unwrap(),
            vec![Ac, District, Division]
        );
        assert_eq!(parse_chain(" AC , State ").unwrap(), vec![Ac, State]);
        assert_eq!(parse_chain("booth").unwrap(), vec![Booth]);
        for bad in [
            "",
            " ",
            "ac,",
            ",ac",
            "ac,ac",
            "district,ac",
            "ac,pc",
            "pc",
            "ward",
            "ac;district",
        ] {
            let e = parse_chain(bad).expect_err(bad);
            assert_eq!(e.field, "levels", "{bad}");
            assert!(!e.hi.is_empty());
        }
    }

    // ----- reports -------------------------------------------------------------------------

    #[test]
    fn escalation_and_timing() {
        let due = utc(2027, 1, 5, 4, 30, 0);
        assert_eq!(escalation_step(due, utc(2027, 1, 4, 0, 0, 0)), None);
        assert_eq!(escalation_step(due, due), None);
        assert_eq!(escalation_step(due, utc(2027, 1, 5, 4, 30, 1)), Some(1));
        assert_eq!(escalation_step(due, utc(2027, 1, 6, 4, 29, 59)), Some(1));
        assert_eq!(escalation_step(due, utc(2027, 1, 6, 4, 30, 0)), Some(2));
        assert_eq!(escalation_step(due, utc(2027, 1, 8, 12, 0, 0)), Some(4));
        assert_eq!(timing(due, due), Timing::OnTime);
        assert_eq!(timing(due, utc(2027, 1, 1, 0, 0, 0)), Timing::OnTime);
        assert_eq!(timing(due, utc(2027, 1, 5, 4, 30, 1)), Timing::Late);
        assert_eq!(REPORT_DUE_HOURS, 48);
    }

    // ----- weeks ---------------------------------------------------------------------------

    #[test]
    fn week_codes() {
        assert_eq!(week_code(d(2027, 1, 10)), "2027-W01");
        assert_eq!(week_code(d(2027, 1, 11)), "2027-W02");
        assert_eq!(week_code(d(2027, 1, 3)), "2026-W53");
        assert_eq!(week_code(d(2024, 12, 30)), "2025-W01");
        assert_eq!(parse_week("2027-W02").unwrap(), d(2027, 1, 11));
        assert_eq!(parse_week(" 2026-w53 ").unwrap(), d(2026, 12, 28));
        assert_eq!(parse_week("2025-W01").unwrap(), d(2024, 12, 30));
        for bad in [
            "", "2027-W00", "2027-W54", "2027-W53", "2027W02", "2027-02", "27-W02", "2027-W2",
            "2027-W+2",
        ] {
            let e = parse_week(bad).expect_err(bad);
            assert_eq!(e.field, "week");
        }
        let mut x = d(2026, 12, 1);
        while x < d(2028, 2, 1) {
            let monday = parse_week(&week_code(x)).unwrap();
            assert_eq!(monday.weekday(), Weekday::Mon);
            assert!(monday <= x && (x - monday).num_days() < 7);
            x = x.succ_opt().unwrap();
        }
    }

    // ----- kinds ---------------------------------------------------------------------------

    #[test]
    fn kinds() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.code()).unwrap(), k);
            assert!(!k.name_en().is_empty() && !k.name_hi().is_empty());
        }
        assert_eq!(Kind::parse(" Booth ").unwrap(), Kind::Booth);
        assert_eq!(Kind::parse("rally").unwrap_err().field, "kind");
    }

    // ----- calendar ------------------------------------------------------------------------

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some('n') | Some('N') => out.push('\n'),
                    Some(o) => out.push(o),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn value_of<'a>(unfolded: &'a str, prefix: &str) -> Vec<&'a str> {
        unfolded
            .split("\r\n")
            .filter_map(|l| l.strip_prefix(prefix))
            .collect()
    }

    fn t(y: i32, m: u32, day: u32, h: u32, mi: u32) -> NaiveDateTime {
        d(y, m, day).and_hms_opt(h, mi, 0).unwrap()
    }

    #[test]
    fn calendar_structure() {
        let stamp = utc(2027, 1, 1, 6, 0, 0);
        let series = IcsEvent {
            uid: "series-7@sangathan".into(),
            start: t(2027, 1, 3, 10, 0),
            minutes: 90,
            summary: "Booth meeting".into(),
            location: "UP-AC-86".into(),
            description: String::new(),
            rrule: Some("FREQ=WEEKLY;BYDAY=SU".into()),
            exdates: vec![t(2027, 3, 21, 10, 0), t(2027, 10, 31, 10, 0)],
            recurrence_id: None,
            sequence: 2,
            cancelled: false,
        };
        let moved = IcsEvent {
            uid: "series-7@sangathan".into(),
            start: t(2027, 1, 10, 11, 30),
            minutes: 60,
            summary: "Booth meeting".into(),
            recurrence_id: Some(t(2027, 1, 10, 10, 0)),
            sequence: 3,
            cancelled: true,
            ..Default::default()
        };
        let ics = calendar("Agra division", &[series, moved], stamp);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains(['\r', '\n']),
            "bare CR or LF"
        );
        let lines: Vec<&str> = ics.trim_end_matches("\r\n").split("\r\n").collect();
        let expected_head = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Sangathan//Meetings//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:Agra division",
            "X-WR-TIMEZONE:Asia/Kolkata",
            "BEGIN:VTIMEZONE",
            "TZID:Asia/Kolkata",
            "BEGIN:STANDARD",
            "DTSTART:19700101T000000",
            "TZOFFSETFROM:+0530",
            "TZOFFSETTO:+0530",
            "TZNAME:IST",
            "END:STANDARD",
            "END:VTIMEZONE",
        ];
        assert_eq!(&lines[..expected_head.len()], &expected_head);
        for l in [
            "UID:series-7@sangathan",
            "DTSTAMP:20270101T060000Z",
            "DTSTART;TZID=Asia/Kolkata:20270103T100000",
            "DURATION:PT90M",
            "RRULE:FREQ=WEEKLY;BYDAY=SU",
            "EXDATE;TZID=Asia/Kolkata:20270321T100000,20271031T100000",
            "SEQUENCE:2",
            "STATUS:CONFIRMED",
            "LOCATION:UP-AC-86",
            "RECURRENCE-ID;TZID=Asia/Kolkata:20270110T100000",
            "DTSTART;TZID=Asia/Kolkata:20270110T113000",
            "STATUS:CANCELLED",
            "SEQUENCE:3",
        ] {
            assert!(lines.contains(&l), "missing {l}\n{ics}");
        }
        assert_eq!(lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 2);
        assert_eq!(lines.iter().filter(|l| **l == "END:VEVENT").count(), 2);
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("DTSTAMP:")).count(),
            2
        );
        // Empty description is omitted.
        assert!(!ics.contains("DESCRIPTION"));
        // A prefixed rule is not doubled.
        let e = IcsEvent {
            rrule: Some("RRULE:FREQ=MONTHLY;BYDAY=-1SU".into()),
            ..Default::default()
        };
        let ics = calendar("x", &[e], stamp);
        assert!(ics.contains("\r\nRRULE:FREQ=MONTHLY;BYDAY=-1SU\r\n"));
    }

    #[test]
    fn calendar_escaping() {
        let summary = "Review; plans, targets\\notes\nline two\r\nline three";
        let e = IcsEvent {
            uid: "u1".into(),
            start: t(2027, 1, 3, 10, 0),
            minutes: 60,
            summary: summary.into(),
            location: "Hall 2, Station Rd; Agra".into(),
            description: "a\u{7}b".into(),
            ..Default::default()
        };
        let ics = calendar("Name, with; specials", &[e], utc(2027, 1, 1, 0, 0, 0));
        let u = unfold(&ics);
        assert_eq!(
            value_of(&u, "SUMMARY:"),
            vec!["Review\\; plans\\, targets\\\\notes\\nline two\\nline three"]
        );
        assert_eq!(
            value_of(&u, "LOCATION:"),
            vec!["Hall 2\\, Station Rd\\; Agra"]
        );
        assert_eq!(value_of(&u, "DESCRIPTION:"), vec!["ab"]);
        assert_eq!(
            value_of(&u, "X-WR-CALNAME:"),
            vec!["Name\\, with\\; specials"]
        );
        assert_eq!(
            unescape(value_of(&u, "SUMMARY:")[0]),
            "Review; plans, targets\\notes\nline two\nline three"
        );
    }

    #[test]
    fn calendar_folds_long_hindi_lines() {
        let summary = "बूथ स्तरीय कार्यकर्ता बैठक: सदस्यता अभियान की समीक्षा, लक्ष्य; और \
                       अगले सप्ताह की योजना — आगरा मंडल के सभी विधानसभा क्षेत्रों के लिए"
            .repeat(3);
        let description = format!("{summary}\nदूसरी पंक्ति");
        let e = IcsEvent {
            uid: "hindi@sangathan".into(),
            start: t(2027, 1, 3, 10, 0),
            minutes: 120,
            summary: summary.clone(),
            location: "पंचायत भवन, फतेहाबाद".into(),
            description: description.clone(),
            ..Default::default()
        };
        let ics = calendar("आगरा मंडल बैठकें", &[e], utc(2027, 1, 1, 0, 0, 0));
        let mut folded = 0;
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
            if line.starts_with(' ') {
                folded += 1;
                assert!(!line.starts_with("  ") || line.len() > 1);
            }
        }
        assert!(folded > 5, "long lines were folded");
        let u = unfold(&ics);
        assert_eq!(unescape(value_of(&u, "SUMMARY:")[0]), summary);
        assert_eq!(unescape(value_of(&u, "DESCRIPTION:")[0]), description);
        assert_eq!(unescape(value_of(&u, "LOCATION:")[0]), "पंचायत भवन, फतेहाबाद");
        assert_eq!(unescape(value_of(&u, "X-WR-CALNAME:")[0]), "आगरा मंडल बैठकें");
    }

    #[test]
    fn fold_boundaries() {
        let mut out = String::new();
        push_line(&mut out, &"a".repeat(75));
        assert_eq!(out, format!("{}\r\n", "a".repeat(75)));
        let mut out = String::new();
        push_line(&mut out, &"a".repeat(76));
        assert_eq!(out, format!("{}\r\n a\r\n", "a".repeat(75)));
        // 3-octet characters never split: 25 fit on the first line, 24 on continuations.
        let mut out = String::new();
        push_line(&mut out, &"क".repeat(60));
        let lines: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
        assert_eq!(lines[0].chars().count(), 25);
        assert_eq!(lines[1].chars().count(), 25); // the space + 24
        assert_eq!(lines[2], format!(" {}", "क".repeat(11)));
        assert_eq!(unfold(&out), format!("{}\r\n", "क".repeat(60)));
    }
}

/// The largest photo of a meeting the server keeps, in bytes.
pub const PHOTO_MAX_BYTES: usize = 512 * 1024;
/// How many photos a meeting keeps.
pub const PHOTOS_PER_MEETING: u32 = 3;

/// The image type of a photo by its first bytes: JPEG, PNG or WebP; None for anything else.
pub fn photo_kind(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod photo_tests {
    use super::photo_kind;

    #[test]
    fn photos_are_known_by_their_first_bytes() {
        assert_eq!(
            photo_kind(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(photo_kind(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(photo_kind(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(photo_kind(b"<svg onload=alert(1)>"), None);
        assert_eq!(photo_kind(b"{}"), None);
        assert_eq!(photo_kind(b""), None);
    }
}
