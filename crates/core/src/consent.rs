//! Consent under the DPDP Act 2023: the versioned notice shown at enrolment (English and Hindi),
//! the purposes a member may consent to, and the sensitive fields that need their own consent.

use crate::error::FieldError;

/// A consent notice, as shown to the person enrolling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    pub version: &'static str,
    pub en: &'static str,
    pub hi: &'static str,
}

/// Every notice ever shown, oldest first; the last is current. A notice text never changes once
/// shipped: a new text is a new version.
pub const NOTICES: &[Notice] = &[Notice {
    version: "v1",
    en: include_str!("../../../data/notices/v1.en.md"),
    hi: include_str!("../../../data/notices/v1.hi.md"),
}];

pub fn current() -> &'static Notice {
    NOTICES.last().expect("at least one notice")
}

pub fn notice(version: &str) -> Option<&'static Notice> {
    NOTICES.iter().find(|n| n.version == version.trim())
}

/// What a member may consent to: (code, English, Hindi, required).
pub const PURPOSES: &[(&str, &str, &str, bool)] = &[
    (
        "membership",
        "keeping the membership register and counting members",
        "सदस्यता रजिस्टर रखना और सदस्यों की गिनती",
        true,
    ),
    (
        "contact",
        "messages about meetings and programmes",
        "बैठकों और कार्यक्रमों के बारे में संदेश",
        false,
    ),
    (
        "sensitive",
        "recording community/category and religion, shown only as counts of 10 or more",
        "जाति/वर्ग और धर्म दर्ज करना, जो केवल 10 या अधिक की गिनती के रूप में दिखते हैं",
        false,
    ),
];

/// Consent as given at enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub notice: &'static str,
    /// Purpose codes, in [`PURPOSES`] order, `membership` always among them.
    pub purposes: Vec<&'static str>,
}

impl Consent {
    /// Check a notice version and purposes as sent by a client.
    pub fn parse(version: &str, purposes: &[String]) -> Result<Consent, FieldError> {
        let n = notice(version).ok_or_else(|| {
            FieldError::new(
                "consent_notice",
                "unknown_notice",
                format!(
                    "unknown consent notice version: {version} (current: {})",
                    current().version
                ),
                format!(
                    "अज्ञात सहमति सूचना संस्करण: {version} (वर्तमान: {})",
                    current().version
                ),
            )
        })?;
        let mut out = Vec::new();
        for p in purposes {
            let Some(known) = PURPOSES.iter().find(|k| k.0 == p.trim()) else {
                return Err(FieldError::new(
                    "consent_purposes",
                    "unknown_purpose",
                    format!("unknown purpose: {p}"),
                    format!("अज्ञात उद्देश्य: {p}"),
                ));
            };
            out.push(known.0);
        }
        if !out.contains(&"membership") {
            return Err(FieldError::new(
                "consent_purposes",
                "membership_consent_required",
                "consent to the membership purpose is required to enrol",
                "सदस्य बनने के लिए सदस्यता उद्देश्य की सहमति आवश्यक है",
            ));
        }
        out.sort_by_key(|p| PURPOSES.iter().position(|k| k.0 == *p));
        out.dedup();
        Ok(Consent {
            notice: n.version,
            purposes: out,
        })
    }

    pub fn allows(&self, purpose: &str) -> bool {
        self.purposes.contains(&purpose)
    }
}

/// The smallest group a sensitive aggregate may show.
pub const MIN_GROUP: i64 = 10;

/// Community/category values (the Government of India's categories).
pub const CATEGORIES: &[&str] = &["GEN", "OBC", "SC", "ST", "EWS"];

/// A free-text sensitive value: trimmed, bounded, not empty.
pub fn check_sensitive(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if field == "category" {
        let up = v.to_ascii_uppercase();
        return if CATEGORIES.contains(&up.as_str()) {
            Ok(up)
        } else {
            Err(FieldError::new(
                field,
                "unknown_category",
                format!("category must be one of {}", CATEGORIES.join(", ")),
                format!("वर्ग इनमें से एक होना चाहिए: {}", CATEGORIES.join(", ")),
            ))
        };
    }
    if v.is_empty() || v.chars().count() > 40 {
        return Err(FieldError::new(
            field,
            "invalid_value",
            "1 to 40 characters",
            "1 से 40 अक्षर",
        ));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_bilingual_and_versioned() {
        for n in NOTICES {
            assert!(n.en.contains(n.version) && n.hi.contains(n.version));
            assert!(n.hi.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)));
        }
        assert_eq!(current().version, "v1");
    }

    #[test]
    fn consent_needs_a_known_notice_and_the_membership_purpose() {
        let c = Consent::parse("v1", &["contact".into(), "membership".into()]).unwrap();
        assert_eq!(c.purposes, vec!["membership", "contact"]);
        assert_eq!(
            Consent::parse("v9", &["membership".into()])
                .unwrap_err()
                .field,
            "consent_notice"
        );
        assert_eq!(
            Consent::parse("v1", &["contact".into()]).unwrap_err().code,
            "membership_consent_required"
        );
        assert_eq!(
            Consent::parse("v1", &["spam".into()]).unwrap_err().code,
            "unknown_purpose"
        );
    }

    #[test]
    fn sensitive_values() {
        assert_eq!(check_sensitive("category", " obc ").unwrap(), "OBC");
        assert!(check_sensitive("category", "XYZ").is_err());
        assert!(check_sensitive("religion", "").is_err());
    }
}
