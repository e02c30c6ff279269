//! Every string a page shows comes from Fluent (`locales/{hi,en}/main.ftl`); Hindi is the
//! default, English the other choice, remembered in a cookie.

use axum::http::HeaderMap;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, static_loader};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "hi",
        // Fluent wraps inserted values in invisible U+2068/U+2069 marks by default.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie that remembers the reader's language.
pub const LANG_COOKIE: &str = "sangathan_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Hi,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Hi => "hi",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "hi" => Some(Lang::Hi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Hi => Lang::En,
            Lang::En => Lang::Hi,
        }
    }
    /// The reader's choice from the cookie; Hindi when none.
    pub fn of(headers: &HeaderMap) -> Lang {
        crate::auth::cookie(headers, LANG_COOKIE)
            .and_then(Lang::parse)
            .unwrap_or_default()
    }
    fn id(self) -> &'static LanguageIdentifier {
        static HI: OnceLock<LanguageIdentifier> = OnceLock::new();
        static EN: OnceLock<LanguageIdentifier> = OnceLock::new();
        match self {
            Lang::Hi => HI.get_or_init(|| "hi".parse().expect("valid language id")),
            Lang::En => EN.get_or_init(|| "en".parse().expect("valid language id")),
        }
    }
    /// The message `key`.
    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(self.id(), key)
    }
    /// The message `key`, if there is one (for codes kept in the data: audit actions, channels).
    pub fn try_t(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(self.id(), key)
    }
    /// The message `key` with named arguments (numbers already formatted as text).
    pub fn ta(self, key: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), FluentValue::from(v.clone())))
            .collect();
        LOCALES.lookup_with_args(self.id(), key, &args)
    }
    /// One of a pair of strings kept in the data (English name, Hindi name).
    pub fn pick<'a>(self, en: &'a str, hi: Option<&'a str>) -> &'a str {
        match (self, hi) {
            (Lang::Hi, Some(h)) if !h.is_empty() => h,
            _ => en,
        }
    }
}

/// A whole number with Indian digit grouping: 18100000 → 1,81,00,000.
pub fn indian(n: i64) -> String {
    let neg = n < 0;
    let digits = n.unsigned_abs().to_string();
    let out = if digits.len() <= 3 {
        digits
    } else {
        let (head, last3) = digits.split_at(digits.len() - 3);
        let mut groups: Vec<&str> = Vec::new();
        let mut rest = head;
        while rest.len() > 2 {
            let (a, b) = rest.split_at(rest.len() - 2);
            groups.push(b);
            rest = a;
        }
        if !rest.is_empty() {
            groups.push(rest);
        }
        groups.reverse();
        format!("{},{}", groups.join(","), last3)
    };
    if neg { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indian_grouping() {
        assert_eq!(indian(0), "0");
        assert_eq!(indian(999), "999");
        assert_eq!(indian(1000), "1,000");
        assert_eq!(indian(45000), "45,000");
        assert_eq!(indian(170000), "1,70,000");
        assert_eq!(indian(18100000), "1,81,00,000");
        assert_eq!(indian(-1234), "-1,234");
    }

    #[test]
    fn every_key_exists_in_both_languages_without_isolation_marks() {
        let keys = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap_or("").trim().to_string())
                .collect()
        };
        let hi = keys(include_str!("../../locales/hi/main.ftl"));
        let en = keys(include_str!("../../locales/en/main.ftl"));
        assert!(hi.len() > 50, "{} keys", hi.len());
        let mut h = hi.clone();
        h.sort();
        let mut e = en.clone();
        e.sort();
        assert_eq!(h, e, "the two languages have the same keys");
        for k in &hi {
            for l in [Lang::Hi, Lang::En] {
                let s = l.ta(
                    k,
                    &[
                        ("n", "1".into()),
                        ("unit", "x".into()),
                        ("week", "2027-W02".into()),
                        ("from", "11-01-2027".into()),
                        ("to", "17-01-2027".into()),
                        ("v", "2".into()),
                    ],
                );
                assert!(!s.contains('\u{2068}') && !s.contains('\u{2069}'), "{k}");
                assert!(!s.starts_with("Unknown"), "{k} missing in {l:?}");
            }
        }
        assert_eq!(
            Lang::Hi.ta("pace-needs", &[("n", "312".into())]),
            "रोज़ 312 चाहिए"
        );
    }
}
