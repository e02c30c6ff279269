//! The volunteer force and the message: programmes and their duties, who may be put on a duty,
//! personal check-in codes, activation, follow-up outcomes and bulletins. Rules only, no I/O.

use crate::error::FieldError;
use chrono::{DateTime, Duration, Utc};

/// A volunteer or worker is active when they did something within this many days.
pub const ACTIVE_WINDOW_DAYS: i64 = 30;

/// A check-in may be recorded from this long before a programme starts to this long after it
/// ends (volunteers arrive early; a queued scan may reach the server late).
pub const CHECKIN_MARGIN_HOURS: i64 = 6;

/// The duty kinds offered by default; an installation may use any other short code.
pub const DUTY_KINDS: [(&str, &str, &str); 6] = [
    ("gate", "Gate", "द्वार"),
    ("stage", "Stage", "मंच"),
    ("crowd", "Crowd lines", "भीड़ व्यवस्था"),
    ("parking", "Parking", "पार्किंग"),
    ("water", "Water", "पानी"),
    ("first-aid", "First aid", "प्राथमिक चिकित्सा"),
];

/// The kinds of programme; free text is allowed beyond these.
pub const PROGRAMME_KINDS: [&str; 4] = ["rally", "jan-sabha", "workers-conference", "event"];

/// A duty kind: a short code of lower-case letters, digits and hyphens.
pub fn duty_kind(s: &str) -> Result<String, FieldError> {
    let k = s.trim().to_lowercase();
    if k.is_empty()
        || k.len() > 32
        || !k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(FieldError::new(
            "kind",
            "bad_duty_kind",
            "a duty kind is a short code of letters, digits and hyphens (e.g. gate, stage, first-aid)",
            "ड्यूटी का प्रकार अक्षरों, अंकों और - का छोटा कोड होता है (जैसे gate, stage, first-aid)",
        ));
    }
    Ok(k)
}

/// A time window [start, end): the end must come after the start, within two days.
pub fn window(
    field: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), FieldError> {
    if end <= start {
        return Err(FieldError::new(
            field,
            "end_before_start",
            "the end must come after the start",
            "समाप्ति का समय आरंभ के बाद होना चाहिए",
        ));
    }
    if end - start > Duration::hours(48) {
        return Err(FieldError::new(
            field,
            "too_long",
            "a programme or shift lasts at most 48 hours",
            "कार्यक्रम या पाली अधिकतम 48 घंटे की होती है",
        ));
    }
    Ok((start, end))
}

/// Do two shifts overlap? Back-to-back shifts (one ends when the next starts) do not.
pub fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// A shift must lie within its programme's window.
pub fn shift_within(
    shift: (DateTime<Utc>, DateTime<Utc>),
    programme: (DateTime<Utc>, DateTime<Utc>),
) -> Result<(), FieldError> {
    if shift.0 < programme.0 || shift.1 > programme.1 {
        return Err(FieldError::new(
            "starts_at",
            "shift_outside_programme",
            "a shift must lie within the programme's time window",
            "पाली कार्यक्रम के समय के भीतर होनी चाहिए",
        ));
    }
    Ok(())
}

/// How near a candidate volunteer lives to the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// The venue's own AC.
    SameAc,
    /// Another AC of the venue's district.
    SameDistrict,
}

/// One volunteer who could be put on a duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub person_id: i64,
    pub reach: Reach,
    /// Duties already given to them in this programme (spread the load).
    pub duties_here: u32,
}

/// The order in which volunteers are asked: same AC first, then the district; within each, those
/// with fewer duties at this programme; then by id (deterministic). Busy, unavailable and
/// declined volunteers are not candidates at all (the store leaves them out).
pub fn order_candidates(c: &mut [Candidate]) {
    c.sort_by_key(|x| (x.reach, x.duties_here, x.person_id));
}

/// Letters and digits a person reads off a card without confusing them (no 0/O, 1/I/L).
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a personal check-in code (31^6 ≈ 887 million codes).
pub const CODE_LEN: usize = 6;

/// A check-in code from random bytes (one byte per character, rejection-free bias is ≤ 1/8).
pub fn code_from(random: &[u8; CODE_LEN]) -> String {
    random
        .iter()
        .map(|b| CODE_ALPHABET[(*b as usize) % CODE_ALPHABET.len()] as char)
        .collect()
}

/// A typed or scanned code, normalised: case, spaces and hyphens ignored, a scanned `SGV:CODE`
/// payload accepted. Look-alikes outside the alphabet (0, O, 1, I, L) are an error, never read
/// as another volunteer's code.
pub fn parse_code(s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let s = s
        .strip_prefix("SGV:")
        .or_else(|| s.strip_prefix("sgv:"))
        .unwrap_or(s);
    let k: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if k.len() != CODE_LEN || !k.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
        return Err(FieldError::new(
            "code",
            "bad_code",
            "a check-in code is 6 letters and digits, as printed under the volunteer's QR code",
            "चेक-इन कोड 6 अक्षर/अंक का होता है, जैसा स्वयंसेवक के QR कोड के नीचे छपा है",
        ));
    }
    Ok(k)
}

/// What a volunteer's QR code carries.
pub fn qr_payload(code: &str) -> String {
    format!("SGV:{code}")
}

/// When a scan says it happened (`at`, from a queued offline scan) is believed only within the
/// programme's window widened by the margin, and never in the future; otherwise it is now.
pub fn checkin_time(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    programme: (DateTime<Utc>, DateTime<Utc>),
) -> Result<DateTime<Utc>, FieldError> {
    let lo = programme.0 - Duration::hours(CHECKIN_MARGIN_HOURS);
    let hi = programme.1 + Duration::hours(CHECKIN_MARGIN_HOURS);
    let t = at.unwrap_or(now);
    if t > now + Duration::minutes(5) {
        return Err(FieldError::new(
            "at",
            "in_future",
            "a check-in cannot be in the future",
            "चेक-इन भविष्य के समय का नहीं हो सकता",
        ));
    }
    if t < lo || t > hi {
        return Err(FieldError::new(
            "at",
            "outside_programme",
            format!("check-in is open from {CHECKIN_MARGIN_HOURS} hours before the programme to {CHECKIN_MARGIN_HOURS} hours after it"),
            format!("चेक-इन कार्यक्रम से {CHECKIN_MARGIN_HOURS} घंटे पहले से {CHECKIN_MARGIN_HOURS} घंटे बाद तक खुला है"),
        ));
    }
    Ok(t)
}

/// Is someone whose last activity was `last` active at `now`?
pub fn is_active(last: Option<DateTime<Utc>>, now: DateTime<Utc>, days: i64) -> bool {
    last.is_some_and(|t| t > now - Duration::days(days))
}

/// Activation rate in per cent, one decimal (none without cadre).
pub fn rate(active: i64, cadre: i64) -> Option<f64> {
    (cadre > 0).then(|| (active as f64 * 1000.0 / cadre as f64).round() / 10.0)
}

/// The outcomes of a follow-up call or visit (a contract: API and CLI use these codes).
pub const FOLLOWUP_OUTCOMES: [(&str, &str, &str); 4] = [
    ("reached", "Reached", "बात हुई"),
    ("not_reachable", "Not reachable", "संपर्क नहीं हुआ"),
    ("will_come", "Will come", "आएंगे"),
    ("moved_away", "Moved away", "कहीं और चले गए"),
];

pub fn followup_outcome(s: &str) -> Result<&'static str, FieldError> {
    let k = s.trim().to_lowercase().replace('-', "_");
    FOLLOWUP_OUTCOMES
        .iter()
        .find(|o| o.0 == k)
        .map(|o| o.0)
        .ok_or_else(|| {
            FieldError::new(
                "outcome",
                "bad_outcome",
                "outcome is one of reached, not_reachable, will_come, moved_away",
                "परिणाम इनमें से एक हो: reached, not_reachable, will_come, moved_away",
            )
        })
}

/// The ten digits of an Indian mobile written as stored (`+91…`) or typed (`0…`, `91…`).
fn ten_digits(mobile: &str) -> String {
    let d: String = mobile.chars().filter(char::is_ascii_digit).collect();
    d[d.len().saturating_sub(10)..].to_string()
}

/// A click-to-chat link for an Indian mobile (the phone opens it; nothing goes through us).
pub fn whatsapp_link(mobile: &str) -> String {
    format!("https://wa.me/91{}", ten_digits(mobile))
}

pub fn call_link(mobile: &str) -> String {
    format!("tel:+91{}", ten_digits(mobile))
}

/// Incident severities, least to most serious.
pub const SEVERITIES: [&str; 3] = ["low", "medium", "high"];

pub fn severity(s: &str) -> Result<&'static str, FieldError> {
    let k = s.trim().to_lowercase();
    SEVERITIES.iter().copied().find(|x| *x == k).ok_or_else(|| {
        FieldError::new(
            "severity",
            "bad_severity",
            "severity is low, medium or high",
            "गंभीरता low, medium या high हो",
        )
    })
}

/// A required piece of text, trimmed, at most `max` characters.
pub fn text(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            format!("{field} is required"),
            format!("{field} आवश्यक है"),
        ));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} is at most {max} characters"),
            format!("{field} अधिकतम {max} अक्षर का हो"),
        ));
    }
    Ok(t.to_string())
}

/// A bulletin's body: Hindi and/or English, at least one, each at most 5,000 characters.
pub fn bulletin_bodies(
    hi: Option<&str>,
    en: Option<&str>,
) -> Result<(Option<String>, Option<String>), FieldError> {
    let norm = |f: &str, s: Option<&str>| -> Result<Option<String>, FieldError> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(t) => text(f, t, 5000).map(Some),
        }
    };
    let (h, e) = (norm("body_hi", hi)?, norm("body_en", en)?);
    if h.is_none() && e.is_none() {
        return Err(FieldError::new(
            "body_hi",
            "required",
            "a bulletin needs a text in Hindi or English",
            "बुलेटिन में हिंदी या अंग्रेज़ी में पाठ होना चाहिए",
        ));
    }
    Ok((h, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap()
    }

    #[test]
    fn shifts_overlap_only_when_they_share_time() {
        assert!(overlaps((t(9, 0), t(12, 0)), (t(11, 0), t(14, 0))));
        assert!(overlaps((t(9, 0), t(12, 0)), (t(10, 0), t(11, 0))));
        assert!(!overlaps((t(9, 0), t(12, 0)), (t(12, 0), t(14, 0))));
        assert!(!overlaps((t(12, 0), t(14, 0)), (t(9, 0), t(12, 0))));
    }

    #[test]
    fn candidates_same_ac_first_then_fewer_duties() {
        let mut c = vec![
            Candidate { person_id: 1, reach: Reach::SameDistrict, duties_here: 0 },
            Candidate { person_id: 2, reach: Reach::SameAc, duties_here: 1 },
            Candidate { person_id: 3, reach: Reach::SameAc, duties_here: 0 },
            Candidate { person_id: 4, reach: Reach::SameAc, duties_here: 0 },
        ];
        order_candidates(&mut c);
        let ids: Vec<i64> = c.iter().map(|x| x.person_id).collect();
        assert_eq!(ids, [3, 4, 2, 1]);
    }

    #[test]
    fn codes_read_back_whatever_the_case_and_spacing() {
        let c = code_from(&[0, 1, 2, 30, 31, 255]);
        assert_eq!(c.len(), CODE_LEN);
        assert_eq!(parse_code(&c.to_lowercase()).unwrap(), c);
        assert_eq!(parse_code(&format!(" {}-{} ", &c[..3], &c[3..])).unwrap(), c);
        assert_eq!(parse_code(&qr_payload(&c)).unwrap(), c);
        assert_eq!(parse_code("ABC10O").unwrap_err().code, "bad_code");
        assert_eq!(parse_code("ABCD").unwrap_err().code, "bad_code");
    }

    #[test]
    fn checkin_times_outside_the_window_are_refused() {
        let p = (t(10, 0), t(14, 0));
        assert_eq!(checkin_time(None, t(9, 30), p).unwrap(), t(9, 30));
        assert_eq!(checkin_time(Some(t(11, 0)), t(15, 0), p).unwrap(), t(11, 0));
        assert_eq!(checkin_time(Some(t(3, 0)), t(15, 0), p).unwrap_err().code, "outside_programme");
        assert_eq!(checkin_time(Some(t(16, 0)), t(15, 0), p).unwrap_err().code, "in_future");
    }

    #[test]
    fn activity_window_and_rate() {
        let now = t(12, 0);
        assert!(is_active(Some(now - Duration::days(29)), now, 30));
        assert!(!is_active(Some(now - Duration::days(30)), now, 30));
        assert!(!is_active(None, now, 30));
        assert_eq!(rate(1, 3), Some(33.3));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn outcomes_kinds_and_bodies() {
        assert_eq!(followup_outcome("Will-Come").unwrap(), "will_come");
        assert!(followup_outcome("maybe").is_err());
        assert_eq!(duty_kind(" First-Aid ").unwrap(), "first-aid");
        assert!(duty_kind("gate duty").is_err());
        assert!(bulletin_bodies(Some("  "), None).is_err());
        assert_eq!(bulletin_bodies(Some(" नमस्ते "), None).unwrap(), (Some("नमस्ते".into()), None));
        assert_eq!(whatsapp_link("9839012345"), "https://wa.me/919839012345");
        assert_eq!(whatsapp_link("+919839012345"), "https://wa.me/919839012345");
        assert_eq!(call_link("+919839012345"), "tel:+919839012345");
        assert!(window("starts_at", t(12, 0), t(12, 0)).is_err());
    }
}
