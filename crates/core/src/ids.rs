//! Validated identifiers. Every way in (API, pages, import, offline sync) parses
//! through these, so a mobile or an EPIC means the same thing everywhere.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Map Devanagari (and other common Indic) digits to ASCII; leave everything else.
pub fn ascii_digit(c: char) -> char {
    match c {
        '\u{0966}'..='\u{096F}' => char::from(b'0' + (c as u32 - 0x0966) as u8),
        _ => c,
    }
}

/// An Indian mobile number, stored as E.164: `+91` and ten digits starting 6–9.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mobile(String);

impl Mobile {
    /// Accepts what people type: spaces, dashes, dots, parentheses, `+91`, `91`, `0`, `0091`
    /// prefixes and Devanagari digits.
    pub fn parse(input: &str) -> Result<Mobile, FieldError> {
        let bad = || {
            FieldError::new(
                "mobile",
                "invalid_mobile",
                "not a valid Indian mobile number: 10 digits starting with 6, 7, 8 or 9",
                "मान्य भारतीय मोबाइल नंबर नहीं है: 6, 7, 8 या 9 से शुरू होने वाले 10 अंक चाहिए",
            )
        };
        let typed = input.trim();
        // A number a spreadsheet kept as a decimal and wrote out as one (`9839012345.0`): digits,
        // a dot and zeros only. Dots that separate groups of digits are kept as separators.
        let typed = match typed.rsplit_once('.') {
            Some((whole, zeros))
                if !zeros.is_empty()
                    && zeros.bytes().all(|b| b == b'0')
                    && whole.trim_start_matches('+').chars().filter(|c| ascii_digit(*c).is_ascii_digit()).count() >= 10
                    && whole.trim_start_matches('+').chars().all(|c| ascii_digit(c).is_ascii_digit()) =>
            {
                whole
            }
            _ => typed,
        };
        let mut digits = String::with_capacity(16);
        let mut plus = false;
        for c in typed.chars().map(ascii_digit) {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                // `+91 …` and `(+91) …`: a plus before any digit, once.
                '+' if digits.is_empty() && !plus => plus = true,
                _ => return Err(bad()),
            }
        }
        let national = if plus {
            let rest = digits.strip_prefix("91").ok_or_else(bad)?;
            // `+91 0…`: the trunk zero typed after the country code as well.
            if rest.len() == 11 { rest.strip_prefix('0').ok_or_else(bad)? } else { rest }
        } else if digits.len() == 14 && digits.starts_with("0091") {
            &digits[4..]
        } else if digits.len() == 12 && digits.starts_with("91") {
            &digits[2..]
        } else if digits.len() == 11 && digits.starts_with('0') {
            &digits[1..]
        } else {
            &digits[..]
        };
        if national.len() != 10 || !matches!(national.as_bytes()[0], b'6'..=b'9') {
            return Err(bad());
        }
        Ok(Mobile(format!("+91{national}")))
    }
    /// `+919839012345`
    pub fn e164(&self) -> &str {
        &self.0
    }
    /// The ten digits people write: `9839012345`.
    pub fn national(&self) -> &str {
        &self.0[3..]
    }
    /// Rebuild from a stored E.164 value (trusted).
    pub fn from_stored(s: String) -> Mobile {
        Mobile(s)
    }
}

impl TryFrom<String> for Mobile {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Mobile::parse(&s)
    }
}
impl From<Mobile> for String {
    fn from(m: Mobile) -> String {
        m.0
    }
}
impl std::fmt::Display for Mobile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An elector's photo identity card number: 3 letters and 7 digits, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Epic(String);

impl Epic {
    /// Spaces are ignored and any case is accepted.
    pub fn parse(input: &str) -> Result<Epic, FieldError> {
        let s: String = input
            .chars()
            .map(ascii_digit)
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() == 10
            && b[..3].iter().all(u8::is_ascii_uppercase)
            && b[3..].iter().all(u8::is_ascii_digit)
        {
            Ok(Epic(s))
        } else {
            Err(FieldError::new(
                "epic",
                "invalid_epic",
                "not a valid EPIC (voter ID): 3 letters followed by 7 digits",
                "मान्य EPIC (वोटर आईडी) नहीं है: 3 अक्षर और उसके बाद 7 अंक चाहिए",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Newer cards carry a Luhn check digit over the seven digits; older ones need not.
    pub fn has_luhn_check(&self) -> bool {
        luhn_valid(&self.0[3..])
    }
    pub fn from_stored(s: String) -> Epic {
        Epic(s)
    }
}

/// Luhn check over a string of ASCII digits (the last digit is the check digit).
pub fn luhn_valid(digits: &str) -> bool {
    luhn_sum(digits.bytes().rev().map(|b| (b - b'0') as u32), false) % 10 == 0
}

/// The check digit that makes `body` followed by it Luhn-valid.
pub fn luhn_check_digit(body: &str) -> u8 {
    let s = luhn_sum(body.bytes().rev().map(|b| (b - b'0') as u32), true);
    ((10 - s % 10) % 10) as u8
}

fn luhn_sum(rev_digits: impl Iterator<Item = u32>, double_first: bool) -> u32 {
    rev_digits
        .enumerate()
        .map(|(i, d)| {
            if (i % 2 == 0) == double_first {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

impl TryFrom<String> for Epic {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Epic::parse(&s)
    }
}
impl From<Epic> for String {
    fn from(e: Epic) -> String {
        e.0
    }
}
impl std::fmt::Display for Epic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's name as typed: trimmed and NFC-normalised, never empty. Its identity key and its
/// search key are worked out once, where the name is parsed: an import does that in its
/// reading thread, ahead of the writer, which then only copies them (at 1 M rows the two keys
/// took ~7 % of the import's time on the writer's side). Serialised as the name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    text: String,
    key: String,
    search_key: String,
}

impl Serialize for PersonName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// As stored: the keys are worked out again from the text, which is not validated again.
impl<'de> Deserialize<'de> for PersonName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(PersonName::with_keys(String::deserialize(d)?))
    }
}

pub const NAME_MAX_CHARS: usize = 200;

impl PersonName {
    pub fn parse(input: &str) -> Result<PersonName, FieldError> {
        let s: String = input.trim().nfc().collect();
        if s.is_empty() || key_chars(&s).next().is_none() {
            return Err(FieldError::new(
                "name",
                "empty_name",
                "name is required",
                "नाम आवश्यक है",
            ));
        }
        if s.chars().count() > NAME_MAX_CHARS {
            return Err(FieldError::new(
                "name",
                "name_too_long",
                format!("name is longer than {NAME_MAX_CHARS} characters"),
                format!("नाम {NAME_MAX_CHARS} अक्षरों से लंबा है"),
            ));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                "name",
                "invalid_name",
                "name contains control characters",
                "नाम में नियंत्रण वर्ण हैं",
            ));
        }
        Ok(PersonName::with_keys(s))
    }
    fn with_keys(text: String) -> PersonName {
        PersonName { key: name_key(&text), search_key: crate::search::joined_key(&text), text }
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The identity key: NFC, case-folded, whitespace collapsed, zero-width characters removed.
    pub fn key(&self) -> String {
        self.key.clone()
    }
    /// The search key ([`crate::search::joined_key`]) the name is indexed under.
    pub fn search_key(&self) -> &str {
        &self.search_key
    }
}

fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{2066}'..='\u{2069}')
}

fn key_chars(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|c| !is_zero_width(*c) && !c.is_whitespace())
}

/// The name key used by the identity rule (see [`PersonName::key`]).
pub fn name_key(s: &str) -> String {
    let cleaned: String = s.nfc().filter(|c| !is_zero_width(*c)).collect();
    let folded = cleaned.to_lowercase();
    let collapsed = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.nfc().collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    M,
    F,
    O,
}

impl Gender {
    /// M/F/O, male/female/other, पुरुष/महिला/अन्य, any case; blank is `None`.
    pub fn parse(input: &str) -> Result<Option<Gender>, FieldError> {
        let s = input.trim().to_lowercase();
        Ok(Some(match s.as_str() {
            "" => return Ok(None),
            "m" | "male" | "पुरुष" => Gender::M,
            "f" | "female" | "महिला" => Gender::F,
            "o" | "other" | "अन्य" => Gender::O,
            _ => {
                return Err(FieldError::new(
                    "gender",
                    "invalid_gender",
                    "gender must be M, F or O (male, female, other)",
                    "लिंग M, F या O (पुरुष, महिला, अन्य) होना चाहिए",
                ));
            }
        }))
    }
    pub fn code(self) -> &'static str {
        match self {
            Gender::M => "M",
            Gender::F => "F",
            Gender::O => "O",
        }
    }
    pub fn from_code(s: &str) -> Option<Gender> {
        Gender::parse(s).ok().flatten()
    }
}

/// A plausible birth year: not in the future and not before 1900.
/// The youngest age Sangathan enrols: no children's data without verifiable parental consent
/// (DPDP Act 2023, s. 9).
pub const MIN_AGE: i32 = 18;

pub fn check_birth_year(year: i32, current_year: i32) -> Result<i32, FieldError> {
    if !(1900..=current_year).contains(&year) {
        return Err(FieldError::new(
            "birth_year",
            "invalid_birth_year",
            format!("birth year must be between 1900 and {current_year}"),
            format!("जन्म वर्ष 1900 और {current_year} के बीच होना चाहिए"),
        ));
    }
    // Born in `current_year - 18` may still be 17: without a birth date, only a year that
    // makes the person surely under 18 is refused.
    if year > current_year - MIN_AGE {
        return Err(FieldError::new(
            "birth_year",
            "under_18",
            format!(
                "a member must be at least {MIN_AGE}: born in {year}, this person is under {MIN_AGE} (children's data needs verifiable parental consent)"
            ),
            format!(
                "सदस्य की आयु कम से कम {MIN_AGE} वर्ष होनी चाहिए: {year} में जन्मे व्यक्ति की आयु {MIN_AGE} से कम है (बच्चों के डेटा के लिए माता-पिता की सत्यापित सहमति आवश्यक है)"
            ),
        ));
    }
    Ok(year)
}

pub const ADDRESS_MAX_CHARS: usize = 500;

/// An optional free-text address: trimmed, NFC, bounded.
pub fn clean_address(input: &str) -> Result<Option<String>, FieldError> {
    let s: String = input.trim().nfc().collect();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > ADDRESS_MAX_CHARS {
        return Err(FieldError::new(
            "address",
            "address_too_long",
            format!("address is longer than {ADDRESS_MAX_CHARS} characters"),
            format!("पता {ADDRESS_MAX_CHARS} अक्षरों से लंबा है"),
        ));
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_in_the_forms_people_type() {
        for s in [
            "9839012345",
            "+91 98390 12345",
            "09839012345",
            "98390-12345",
            "919839012345",
            "0091 9839012345",
            "+91-98390-12345",
            "(983) 901.2345",
            "९८३९०१२३४५",
            "98390.12345",
            "(+91) 9839012345",
            "+91 098390 12345",
            "9839012345.0",
            "9839012345.00",
            "+919839012345.0",
        ] {
            assert_eq!(Mobile::parse(s).unwrap().e164(), "+919839012345", "{s}");
        }
        for s in [
            "",
            "12345",
            "5839012345",
            "98390123456",
            "+1 9839012345",
            "98390x2345",
            "+9198390123",
            "98+39012345",
            "++919839012345",
            "+91 198390 12345",
            "9839012345.5",
            "983901234.50",
        ] {
            assert!(Mobile::parse(s).is_err(), "{s}");
        }
        // Dots between digits are separators, even before a group of zeros.
        assert_eq!(Mobile::parse("98390.00000").unwrap().e164(), "+919839000000");
        assert_eq!(
            Mobile::parse("9839012345").unwrap().national(),
            "9839012345"
        );
    }

    #[test]
    fn epics() {
        assert_eq!(Epic::parse(" abc 1234567 ").unwrap().as_str(), "ABC1234567");
        for s in [
            "AB1234567",
            "ABC123456",
            "ABCD234567",
            "1231234567",
            "ABC12345678",
            "",
        ] {
            assert!(Epic::parse(s).is_err(), "{s}");
        }
        let body = "123456";
        let d = luhn_check_digit(body);
        assert!(luhn_valid(&format!("{body}{d}")));
        assert!(!luhn_valid(&format!("{body}{}", (d + 1) % 10)));
        assert!(luhn_valid("79927398713"));
    }

    #[test]
    fn name_keys_ignore_case_spacing_and_zero_width() {
        let a = PersonName::parse("  Ram   Prakash ").unwrap();
        let b = PersonName::parse("ram prakash\u{200B}").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Ram   Prakash");
        // Decomposed and composed forms of the same Devanagari name are one key.
        let c = PersonName::parse("क\u{093C}मल").unwrap();
        let d = PersonName::parse("\u{0958}मल").unwrap();
        assert_eq!(c.key(), d.key());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("\u{200B}").is_err());
        assert_ne!(a.key(), PersonName::parse("Ram Prakasj").unwrap().key());
    }

    #[test]
    fn genders() {
        assert_eq!(Gender::parse("Male").unwrap(), Some(Gender::M));
        assert_eq!(Gender::parse("महिला").unwrap(), Some(Gender::F));
        assert_eq!(Gender::parse(" ").unwrap(), None);
        assert!(Gender::parse("x").is_err());
    }
}
