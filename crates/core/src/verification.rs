//! Members you can trust: a membership's verification state and the moves between states, which
//! states count towards `achieved` and `verified`, which of the two drives a campaign's
//! percentage and pacing, and member verification codes. Rules only, no I/O.

use crate::error::FieldError;
use chrono::{DateTime, Duration, Utc};

/// A membership's verification state (the codes are stored and are a contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    Verified,
    Rejected,
    Lapsed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Pending, Status::Verified, Status::Rejected, Status::Lapsed, Status::Cancelled];

    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Verified => "verified",
            Status::Rejected => "rejected",
            Status::Lapsed => "lapsed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<Status, FieldError> {
        let k = s.trim().to_ascii_lowercase();
        Status::ALL.into_iter().find(|x| x.code() == k).ok_or_else(|| {
            FieldError::new(
                "status",
                "bad_status",
                "status is one of pending, verified, rejected, lapsed, cancelled",
                "स्थिति इनमें से एक हो: pending, verified, rejected, lapsed, cancelled",
            )
        })
    }

    /// Counted in `achieved`: pending or verified.
    pub fn counts_achieved(self) -> bool {
        matches!(self, Status::Pending | Status::Verified)
    }

    /// Counted in `verified`.
    pub fn counts_verified(self) -> bool {
        self == Status::Verified
    }

    /// (achieved, verified) counter changes of a move from `self` to `to`.
    pub fn deltas(self, to: Status) -> (i64, i64) {
        let d = |a: bool, b: bool| i64::from(b) - i64::from(a);
        (d(self.counts_achieved(), to.counts_achieved()), d(self.counts_verified(), to.counts_verified()))
    }

    /// May a membership move from `self` to `to`? Pending is verified or rejected; a verified
    /// member found fake is rejected; a rejection found wrong is verified; any live membership
    /// lapses or is cancelled; nothing comes back from lapsed or cancelled here (a new
    /// enrolment does that), and nothing moves back to pending.
    pub fn may_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Pending, Verified) | (Pending, Rejected) | (Verified, Rejected) | (Rejected, Verified) | (Pending | Verified, Lapsed | Cancelled)
        )
    }
}

/// The refusal of a move, naming it.
pub fn cannot_move(from: Status, to: Status) -> FieldError {
    FieldError::new(
        "status",
        "bad_transition",
        format!("a {} membership cannot become {}", from.code(), to.code()),
        format!("{} सदस्यता {} नहीं हो सकती", from.code(), to.code()),
    )
}

/// A rejection needs a reason (kept, and shown to those who may see the member).
pub fn reason(to: Status, reason: Option<&str>) -> Result<Option<String>, FieldError> {
    let r = reason.map(str::trim).filter(|r| !r.is_empty());
    match (to, r) {
        (Status::Rejected, None) => Err(FieldError::new(
            "reason",
            "reason_required",
            "say why the membership is rejected",
            "सदस्यता अस्वीकार करने का कारण लिखें",
        )),
        (_, Some(r)) if r.chars().count() > 500 => Err(FieldError::new(
            "reason",
            "too_long",
            "the reason is at most 500 characters",
            "कारण अधिकतम 500 अक्षर का हो",
        )),
        (_, r) => Ok(r.map(String::from)),
    }
}

/// Which count drives a campaign's percentage and pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Drive {
    /// Verified members only (the default: padding does not move the needle).
    #[default]
    Verified,
    /// Pending and verified members.
    Achieved,
}

impl Drive {
    pub fn code(self) -> &'static str {
        match self {
            Drive::Verified => "verified",
            Drive::Achieved => "achieved",
        }
    }
    pub fn parse(s: &str) -> Result<Drive, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "verified" => Ok(Drive::Verified),
            "achieved" => Ok(Drive::Achieved),
            _ => Err(FieldError::new(
                "counts",
                "bad_counts",
                "counts is verified or achieved",
                "गिनती verified या achieved हो",
            )),
        }
    }
    /// The count that drives progress, of (achieved, verified).
    pub fn pick(self, achieved: i64, verified: i64) -> i64 {
        match self {
            Drive::Verified => verified,
            Drive::Achieved => achieved,
        }
    }
}

/// A way a campaign lets its members be verified (the codes are stored and are a contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// A one-time code sent to the member's mobile, typed back by a worker or by the member
    /// through the link in the message.
    Code,
    /// A missed call, or a reply SMS, from the member's own mobile.
    MissedCall,
    /// An office-bearer above the enroller checks the member in the queue.
    Officer,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Code, Method::MissedCall, Method::Officer];

    pub fn code(self) -> &'static str {
        match self {
            Method::Code => "code",
            Method::MissedCall => "missed_call",
            Method::Officer => "officer",
        }
    }

    pub fn name_hi(self) -> &'static str {
        match self {
            Method::Code => "कोड",
            Method::MissedCall => "मिस्ड कॉल / जवाबी SMS",
            Method::Officer => "पदाधिकारी की जाँच",
        }
    }

    /// A campaign's set, stored comma-separated; empty means every way. At least one.
    pub fn parse_set(s: &str) -> Result<Vec<Method>, FieldError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let k = part.to_ascii_lowercase().replace(['-', ' '], "_");
            let m = Method::ALL.into_iter().find(|m| m.code() == k).ok_or_else(|| {
                FieldError::new(
                    "verify_by",
                    "bad_method",
                    format!("{part} is not a way to verify: use code, missed_call or officer"),
                    format!("{part} सत्यापन का तरीका नहीं है: code, missed_call या officer लिखें"),
                )
            })?;
            if !out.contains(&m) {
                out.push(m);
            }
        }
        if out.is_empty() {
            out = Method::ALL.to_vec();
        }
        out.sort();
        Ok(out)
    }

    pub fn join(set: &[Method]) -> String {
        set.iter().map(|m| m.code()).collect::<Vec<_>>().join(",")
    }

    /// Refused when the campaign of the member's wing does not verify this way.
    pub fn must_be_in(self, set: &[Method]) -> Result<(), FieldError> {
        if set.contains(&self) {
            return Ok(());
        }
        let allowed = set.iter().map(|m| m.code()).collect::<Vec<_>>().join(", ");
        let allowed_hi = set.iter().map(|m| m.name_hi()).collect::<Vec<_>>().join(", ");
        Err(FieldError::new(
            "method",
            "method_not_enabled",
            format!("this campaign does not verify members by {}; it uses: {allowed}", self.code()),
            format!("इस अभियान में सदस्यों का सत्यापन {} से नहीं होता; तरीके: {allowed_hi}", self.name_hi()),
        ))
    }
}

/// What a member's reply SMS says: yes or no, with the code if they typed it (it names the
/// membership, where a household shares one mobile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Yes(Option<String>),
    No(Option<String>),
}

impl Reply {
    pub fn code(&self) -> Option<&str> {
        match self {
            Reply::Yes(c) | Reply::No(c) => c.as_deref(),
        }
    }
}

/// Read a reply SMS: "YES", "Y", "हाँ", "HAAN" (any case), optionally followed by the code;
/// "NO", "N", "नहीं", "NAHI", optionally with the code. Anything else is not understood.
pub fn parse_reply(text: &str) -> Option<Reply> {
    let mut words = text.split_whitespace();
    let first = words.next()?.trim_matches(|c: char| c.is_ascii_punctuation() || c == '।').to_lowercase();
    let rest: String = words.collect::<String>().chars().filter(char::is_ascii_digit).collect();
    match first.as_str() {
        "yes" | "y" | "haan" | "ha" | "han" | "हाँ" | "हां" | "हा" => Ok(Reply::Yes((!rest.is_empty()).then_some(rest))),
        "no" | "n" | "nahi" | "nahin" | "नहीं" | "नही" => Ok(Reply::No((!rest.is_empty()).then_some(rest))),
        _ => Err(()),
    }
    .ok()
}

/// A member's verification code lives this long.
pub const CODE_TTL_HOURS: i64 = 48;
/// Wrong tries before a code is dead.
pub const CODE_MAX_ATTEMPTS: i64 = 5;

/// Is a code still usable at `now`?
pub fn code_usable(expires_at: DateTime<Utc>, used: bool, attempts: i64, now: DateTime<Utc>) -> Result<(), FieldError> {
    if used {
        return Err(FieldError::new("code", "code_used", "this code was already used", "यह कोड पहले ही इस्तेमाल हो चुका है"));
    }
    if attempts >= CODE_MAX_ATTEMPTS {
        return Err(FieldError::new("code", "too_many_attempts", "too many wrong tries: send a new code", "बहुत बार गलत कोड: नया कोड भेजें"));
    }
    if now >= expires_at {
        return Err(FieldError::new("code", "code_expired", "this code has expired: send a new one", "यह कोड समाप्त हो गया है: नया भेजें"));
    }
    Ok(())
}

pub fn code_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(CODE_TTL_HOURS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_and_their_counter_deltas() {
        use Status::*;
        assert_eq!(Pending.deltas(Verified), (0, 1));
        assert_eq!(Pending.deltas(Rejected), (-1, 0));
        assert_eq!(Verified.deltas(Rejected), (-1, -1));
        assert_eq!(Rejected.deltas(Verified), (1, 1));
        assert_eq!(Verified.deltas(Lapsed), (-1, -1));
        assert!(Pending.may_become(Verified));
        assert!(!Verified.may_become(Pending));
        assert!(!Cancelled.may_become(Verified));
        assert!(!Pending.may_become(Pending));
        assert_eq!(cannot_move(Lapsed, Verified).code, "bad_transition");
    }

    #[test]
    fn rejections_need_a_reason() {
        assert_eq!(reason(Status::Rejected, Some("  ")).unwrap_err().code, "reason_required");
        assert_eq!(reason(Status::Verified, None).unwrap(), None);
        assert_eq!(reason(Status::Rejected, Some(" fake ")).unwrap().as_deref(), Some("fake"));
    }

    #[test]
    fn methods_and_replies() {
        use Method::*;
        assert_eq!(Method::parse_set("").unwrap(), vec![Code, MissedCall, Officer]);
        assert_eq!(Method::parse_set(" Officer, code ,officer").unwrap(), vec![Code, Officer]);
        assert_eq!(Method::parse_set("missed-call").unwrap(), vec![MissedCall]);
        assert_eq!(Method::parse_set("sms").unwrap_err().code, "bad_method");
        assert_eq!(Method::join(&[Code, Officer]), "code,officer");
        assert!(Officer.must_be_in(&[Code, Officer]).is_ok());
        let e = MissedCall.must_be_in(&[Officer]).unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("method", "method_not_enabled"));
        assert_eq!(parse_reply("YES 482 193"), Some(Reply::Yes(Some("482193".into()))));
        assert_eq!(parse_reply("  yes."), Some(Reply::Yes(None)));
        assert_eq!(parse_reply("हाँ 123456"), Some(Reply::Yes(Some("123456".into()))));
        assert_eq!(parse_reply("नहीं"), Some(Reply::No(None)));
        assert_eq!(parse_reply("No! 123456"), Some(Reply::No(Some("123456".into()))));
        assert_eq!(parse_reply("who is this"), None);
        assert_eq!(parse_reply(""), None);
    }

    #[test]
    fn drive_and_codes() {
        assert_eq!(Drive::parse("").unwrap(), Drive::Verified);
        assert_eq!(Drive::parse("Achieved").unwrap().pick(10, 4), 10);
        assert_eq!(Drive::Verified.pick(10, 4), 4);
        let now = Utc::now();
        assert!(code_usable(code_expiry(now), false, 0, now).is_ok());
        assert_eq!(code_usable(code_expiry(now), false, 0, now + Duration::hours(49)).unwrap_err().code, "code_expired");
        assert_eq!(code_usable(code_expiry(now), true, 0, now).unwrap_err().code, "code_used");
        assert_eq!(code_usable(code_expiry(now), false, 5, now).unwrap_err().code, "too_many_attempts");
    }
}
