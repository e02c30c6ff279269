//! Spreadsheet columns and row validation for bulk import.
//!
//! Pure: the CLI reads CSV/XLSX rows (as raw text cells) and hands them here. This module
//! says which header names which column ([`match_header`], [`map_headers`]) and turns one
//! row of cells into exactly one [`RowOutcome`]: blank, valid, or rejected with every
//! reason (column, value, English and Hindi).
//!
//! What is *not* checked here (the store does it, since it needs the database): whether the
//! AC number is a real constituency, the booth a booth of it, the wing known, and the
//! identity rules (EPIC / mobile + name).

use crate::error::FieldError;
use crate::ids::{Epic, Gender, Mobile, PersonName, check_birth_year, clean_address};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// A column the importer understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    Mobile,
    Epic,
    AcNo,
    BoothNo,
    Gender,
    BirthYear,
    Age,
    Address,
    Wing,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Name,
        Column::Mobile,
        Column::Epic,
        Column::AcNo,
        Column::BoothNo,
        Column::Gender,
        Column::BirthYear,
        Column::Age,
        Column::Address,
        Column::Wing,
    ];

    /// The canonical (English, snake_case) header.
    pub fn as_str(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Mobile => "mobile",
            Column::Epic => "epic",
            Column::AcNo => "ac_no",
            Column::BoothNo => "booth_no",
            Column::Gender => "gender",
            Column::BirthYear => "birth_year",
            Column::Age => "age",
            Column::Address => "address",
            Column::Wing => "wing",
        }
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Header normal form: BOM and zero-width characters dropped, NFC, lower case, `_` treated
/// as a space, inner whitespace collapsed, trimmed.
fn normalise_header(h: &str) -> String {
    let cleaned: String = h
        .nfc()
        .filter(|c| {
            !matches!(
                c,
                '\u{FEFF}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{00AD}'
            )
        })
        .map(|c| if c == '_' { ' ' } else { c })
        .collect::<String>()
        .to_lowercase();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which known column a header names: case-insensitive after trimming, dropping a UTF-8 BOM
/// and collapsing inner whitespace; English or Hindi names. `_` and a space are the same
/// (`mobile_no` = `Mobile No`, `voter_id` = `Voter ID`).
pub fn match_header(h: &str) -> Option<Column> {
    let n = normalise_header(h);
    Some(match n.as_str() {
        "name" | "नाम" => Column::Name,
        "mobile" | "phone" | "mobile no" | "mobile number" | "मोबाइल" | "मोबाइल नंबर" => {
            Column::Mobile
        }
        "epic" | "epic no" | "voter id" | "वोटर आईडी" => Column::Epic,
        "ac no" | "ac" | "विधानसभा संख्या" => Column::AcNo,
        "booth no" | "part no" | "बूथ संख्या" => Column::BoothNo,
        "gender" | "लिंग" => Column::Gender,
        "birth year" | "जन्म वर्ष" => Column::BirthYear,
        "age" | "आयु" => Column::Age,
        "address" | "पता" => Column::Address,
        "wing" | "शाखा" => Column::Wing,
        _ => return None,
    })
}

/// Which column index holds which known column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub index: HashMap<Column, usize>,
    /// Headers that name no known column (trimmed, as written), for a warning. A second
    /// header naming an already-mapped column is listed as `"<header> (duplicate)"`.
    /// Blank header cells are ignored.
    pub unknown: Vec<String>,
}

impl Columns {
    pub fn get(&self, c: Column) -> Option<usize> {
        self.index.get(&c).copied()
    }
    pub fn has(&self, c: Column) -> bool {
        self.index.contains_key(&c)
    }
}

/// Map a header row. The first occurrence of a known column wins.
pub fn map_headers<'a>(headers: impl IntoIterator<Item = &'a str>) -> Columns {
    let mut cols = Columns::default();
    for (i, h) in headers.into_iter().enumerate() {
        let shown = h.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        if shown.is_empty() {
            continue;
        }
        match match_header(h) {
            Some(c) if !cols.index.contains_key(&c) => {
                cols.index.insert(c, i);
            }
            Some(_) => cols.unknown.push(format!("{shown} (duplicate)")),
            None => cols.unknown.push(shown.to_string()),
        }
    }
    cols
}

/// A row that passed every check this module can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    pub name: PersonName,
    pub mobile: Option<Mobile>,
    pub epic: Option<Epic>,
    pub gender: Option<Gender>,
    pub birth_year: Option<i32>,
    pub address: Option<String>,
    pub ac_no: u32,
    pub booth_no: Option<u32>,
    /// The wing as given (trimmed); `None` when blank. The store resolves codes and names.
    pub wing: Option<String>,
}

/// One reason a row was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The column's canonical name ([`Column::as_str`]).
    pub column: &'static str,
    /// The offending value (trimmed; empty when the value is missing).
    pub value: String,
    pub en: String,
    pub hi: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {:?}: {} ({})",
            self.column, self.value, self.en, self.hi
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Every cell blank: skipped silently.
    Blank,
    Valid(ValidRow),
    /// Every reason, in column order (never empty).
    Rejected(Vec<RowError>),
}

/// Trim (Unicode whitespace, NBSP included) and drop the leading `'` that a CSV-injection
/// escape puts before `=`, `+`, `-` or `@`.
pub fn clean_cell(s: &str) -> &str {
    let t = s.trim();
    match t.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => t,
    }
}

/// A positive whole number as people and spreadsheets write it: `173`, `0173`, `173.0`,
/// `173.00`; Devanagari digits are accepted too.
fn parse_whole(s: &str) -> Option<u64> {
    let ascii: String = s
        .chars()
        .map(|c| match c {
            '\u{0966}'..='\u{096F}' => char::from(b'0' + (c as u32 - 0x0966) as u8),
            _ => c,
        })
        .collect();
    let (int, frac) = match ascii.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (ascii.as_str(), None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(f) = frac
        && !f.bytes().all(|b| b == b'0')
    {
        return None;
    }
    int.parse().ok()
}

fn positive_u32(s: &str) -> Option<u32> {
    parse_whole(s)
        .filter(|&n| n > 0)
        .and_then(|n| u32::try_from(n).ok())
}

fn err(column: Column, value: &str, en: impl Into<String>, hi: impl Into<String>) -> RowError {
    RowError {
        column: column.as_str(),
        value: value.to_string(),
        en: en.into(),
        hi: hi.into(),
    }
}

fn from_field(column: Column, value: &str, e: FieldError) -> RowError {
    err(column, value, e.en, e.hi)
}

/// Validate one data row. `cells` are the row's raw cells by index; missing trailing cells
/// are blank. See the module docs for what is left to the store.
pub fn validate_row(columns: &Columns, cells: &[&str], current_year: i32) -> RowOutcome {
    if cells.iter().all(|c| clean_cell(c).is_empty()) {
        return RowOutcome::Blank;
    }
    let get = |c: Column| -> &str {
        columns
            .get(c)
            .and_then(|i| cells.get(i))
            .map(|s| clean_cell(s))
            .unwrap_or("")
    };
    let mut errors = Vec::new();

    let name_raw = get(Column::Name);
    let name = match PersonName::parse(name_raw) {
        Ok(n) => Some(n),
        Err(e) => {
            errors.push(from_field(Column::Name, name_raw, e));
            None
        }
    };

    let mobile_raw = get(Column::Mobile);
    let mobile = if mobile_raw.is_empty() {
        None
    } else {
        match Mobile::parse(mobile_raw) {
            Ok(m) => Some(m),
            Err(e) => {
                errors.push(from_field(Column::Mobile, mobile_raw, e));
                None
            }
        }
    };
    let epic_raw = get(Column::Epic);
    let epic = if epic_raw.is_empty() {
        None
    } else {
        match Epic::parse(epic_raw) {
            Ok(x) => Some(x),
            Err(e) => {
                errors.push(from_field(Column::Epic, epic_raw, e));
                None
            }
        }
    };
    if mobile_raw.is_empty() && epic_raw.is_empty() {
        errors.push(err(
            Column::Mobile,
            "",
            "a mobile number or an EPIC (voter ID) is required",
            "मोबाइल नंबर या EPIC (वोटर आईडी) में से एक आवश्यक है",
        ));
    }

    let ac_raw = get(Column::AcNo);
    let ac_no = if ac_raw.is_empty() {
        errors.push(err(
            Column::AcNo,
            "",
            "assembly constituency number (ac_no) is required",
            "विधानसभा संख्या (ac_no) आवश्यक है",
        ));
        None
    } else {
        let n = positive_u32(ac_raw);
        if n.is_none() {
            errors.push(err(
                Column::AcNo,
                ac_raw,
                "assembly constituency number must be a positive whole number",
                "विधानसभा संख्या एक धनात्मक पूर्ण संख्या होनी चाहिए",
            ));
        }
        n
    };

    let booth_raw = get(Column::BoothNo);
    let booth_no = if booth_raw.is_empty() {
        None
    } else {
        let n = positive_u32(booth_raw);
        if n.is_none() {
            errors.push(err(
                Column::BoothNo,
                booth_raw,
                "booth (part) number must be a positive whole number",
                "बूथ (भाग) संख्या एक धनात्मक पूर्ण संख्या होनी चाहिए",
            ));
        }
        n
    };

    let gender_raw = get(Column::Gender);
    let gender = match Gender::parse(gender_raw) {
        Ok(g) => g,
        Err(e) => {
            errors.push(from_field(Column::Gender, gender_raw, e));
            None
        }
    };

    let by_raw = get(Column::BirthYear);
    let mut birth_year = None;
    if !by_raw.is_empty() {
        // Not a number: the same texts as `check_birth_year` gives for a year out of range.
        let checked = parse_whole(by_raw)
            .and_then(|n| i32::try_from(n).ok())
            .map(|y| check_birth_year(y, current_year))
            .unwrap_or_else(|| check_birth_year(i32::MIN, current_year));
        match checked {
            Ok(y) => birth_year = Some(y),
            Err(e) => errors.push(from_field(Column::BirthYear, by_raw, e)),
        }
    }
    let age_raw = get(Column::Age);
    if !age_raw.is_empty() {
        match parse_whole(age_raw).filter(|&a| a <= 120) {
            Some(age) => {
                if by_raw.is_empty() {
                    match check_birth_year(current_year - age as i32, current_year) {
                        Ok(y) => birth_year = Some(y),
                        Err(e) => errors.push(from_field(Column::Age, age_raw, e)),
                    }
                }
            }
            None => errors.push(err(
                Column::Age,
                age_raw,
                "age must be a whole number from 0 to 120",
                "आयु 0 से 120 के बीच की पूर्ण संख्या होनी चाहिए",
            )),
        }
    }

    let addr_raw = get(Column::Address);
    let address = match clean_address(addr_raw) {
        Ok(a) => a,
        Err(e) => {
            errors.push(from_field(Column::Address, addr_raw, e));
            None
        }
    };

    let wing = Some(get(Column::Wing))
        .filter(|w| !w.is_empty())
        .map(str::to_string);

    match (errors.is_empty(), name, ac_no) {
        (true, Some(name), Some(ac_no)) => RowOutcome::Valid(ValidRow {
            name,
            mobile,
            epic,
            gender,
            birth_year,
            address,
            ac_no,
            booth_no,
            wing,
        }),
        _ => RowOutcome::Rejected(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;

    fn cols(h: &[&str]) -> Columns {
        map_headers(h.iter().copied())
    }

    fn std_cols() -> Columns {
        cols(&[
            "name",
            "mobile",
            "epic",
            "ac_no",
            "booth_no",
            "gender",
            "birth_year",
            "age",
            "address",
            "wing",
        ])
    }

    /// name, mobile, epic, ac_no, booth_no, gender, birth_year, age, address, wing
    fn row(cells: [&str; 10]) -> RowOutcome {
        validate_row(&std_cols(), &cells, YEAR)
    }

    fn good() -> [&'static str; 10] {
        [
            "Ram Prakash",
            "9839012345",
            "",
            "173",
            "12",
            "M",
            "1980",
            "",
            "Gomti Nagar, Lucknow",
            "",
        ]
    }

    fn valid(o: RowOutcome) -> ValidRow {
        match o {
            RowOutcome::Valid(v) => v,
            other => panic!("expected valid, got {other:?}"),
        }
    }

    fn rejected(o: RowOutcome) -> Vec<RowError> {
        match o {
            RowOutcome::Rejected(e) => {
                assert!(!e.is_empty());
                e
            }
            other => panic!("expected rejected, got {other:?}"),
        }
    }

    fn reject_columns(o: RowOutcome) -> Vec<&'static str> {
        rejected(o).into_iter().map(|e| e.column).collect()
    }

    #[test]
    fn headers_in_english_and_hindi_any_case_with_bom() {
        let cases = [
            ("name", Column::Name),
            ("  NAME ", Column::Name),
            ("\u{FEFF}Name", Column::Name),
            ("नाम", Column::Name),
            ("Mobile", Column::Mobile),
            ("PHONE", Column::Mobile),
            ("Mobile_No", Column::Mobile),
            ("mobile no", Column::Mobile),
            ("मोबाइल", Column::Mobile),
            ("मोबाइल   नंबर", Column::Mobile),
            ("EPIC", Column::Epic),
            ("Voter_ID", Column::Epic),
            ("voter id", Column::Epic),
            ("वोटर आईडी", Column::Epic),
            ("AC_NO", Column::AcNo),
            ("ac", Column::AcNo),
            ("विधानसभा संख्या", Column::AcNo),
            ("Booth_No", Column::BoothNo),
            ("part_no", Column::BoothNo),
            ("बूथ संख्या", Column::BoothNo),
            ("Gender", Column::Gender),
            ("लिंग", Column::Gender),
            ("birth_year", Column::BirthYear),
            ("जन्म वर्ष", Column::BirthYear),
            ("AGE", Column::Age),
            ("आयु", Column::Age),
            ("Address", Column::Address),
            ("पता", Column::Address),
            ("wing", Column::Wing),
            ("शाखा", Column::Wing),
            ("\u{FEFF} नाम\u{a0}", Column::Name),
        ];
        for (h, c) in cases {
            assert_eq!(match_header(h), Some(c), "{h:?}");
        }
        for h in ["", "membership_number", "names", "mob", "status"] {
            assert_eq!(match_header(h), None, "{h:?}");
        }
        for c in Column::ALL {
            assert_eq!(match_header(c.as_str()), Some(c));
        }
    }

    #[test]
    fn map_headers_first_wins_and_lists_unknown() {
        let c = cols(&["\u{FEFF}Name", "Phone", "", "remarks", "mobile", "AC"]);
        assert_eq!(c.get(Column::Name), Some(0));
        assert_eq!(c.get(Column::Mobile), Some(1));
        assert_eq!(c.get(Column::AcNo), Some(5));
        assert!(!c.has(Column::Epic));
        assert_eq!(
            c.unknown,
            vec!["remarks".to_string(), "mobile (duplicate)".into()]
        );
    }

    #[test]
    fn a_good_row() {
        let v = valid(row(good()));
        assert_eq!(v.name.as_str(), "Ram Prakash");
        assert_eq!(v.mobile.unwrap().e164(), "+919839012345");
        assert_eq!(v.epic, None);
        assert_eq!(v.ac_no, 173);
        assert_eq!(v.booth_no, Some(12));
        assert_eq!(v.gender, Some(Gender::M));
        assert_eq!(v.birth_year, Some(1980));
        assert_eq!(v.address.as_deref(), Some("Gomti Nagar, Lucknow"));
        assert_eq!(v.wing, None);
    }

    #[test]
    fn blank_rows() {
        let c = std_cols();
        assert_eq!(validate_row(&c, &[], YEAR), RowOutcome::Blank);
        assert_eq!(
            validate_row(&c, &["", " ", "\u{a0}", "\t"], YEAR),
            RowOutcome::Blank
        );
        // More cells than the header, all blank.
        assert_eq!(validate_row(&c, &[""; 15], YEAR), RowOutcome::Blank);
        // Content only in an unknown column is not blank.
        let mut cells = vec![""; 12];
        cells[11] = "x";
        assert!(matches!(
            validate_row(&c, &cells, YEAR),
            RowOutcome::Rejected(_)
        ));
    }

    #[test]
    fn fewer_cells_than_headers_are_blank_cells() {
        let c = std_cols();
        let v = valid(validate_row(
            &c,
            &["Sita", "", "abc 1234567", "173.0"],
            YEAR,
        ));
        assert_eq!(v.epic.unwrap().as_str(), "ABC1234567");
        assert_eq!(v.ac_no, 173);
        assert_eq!(v.booth_no, None);
        assert_eq!(v.gender, None);
        assert_eq!(v.birth_year, None);
    }

    #[test]
    fn values_are_trimmed_including_nbsp() {
        let mut r = good();
        r[0] = "\u{a0} राम प्रकाश \u{a0}";
        r[1] = " +91 98390 12345\u{a0}";
        r[9] = "  युवा  ";
        let v = valid(row(r));
        assert_eq!(v.name.as_str(), "राम प्रकाश");
        assert_eq!(v.wing.as_deref(), Some("युवा"));
    }

    #[test]
    fn numbers_as_spreadsheets_write_them() {
        let mut r = good();
        r[3] = "173.0";
        r[4] = "12.00";
        r[6] = "1980.0";
        let v = valid(row(r));
        assert_eq!(
            (v.ac_no, v.booth_no, v.birth_year),
            (173, Some(12), Some(1980))
        );
        r[3] = "१७३";
        assert_eq!(valid(row(r)).ac_no, 173);
    }

    #[test]
    fn each_rejection_reason() {
        let cases: &[(usize, &str, &str)] = &[
            (0, "", "name"),
            (0, "   ", "name"),
            (1, "12345", "mobile"),
            (3, "", "ac_no"),
            (3, "0", "ac_no"),
            (3, "-5", "ac_no"),
            (3, "173.5", "ac_no"),
            (3, "abc", "ac_no"),
            (3, "99999999999", "ac_no"),
            (4, "0", "booth_no"),
            (4, "b12", "booth_no"),
            (4, "1.5", "booth_no"),
            (5, "x", "gender"),
            (6, "1850", "birth_year"),
            (6, "2099", "birth_year"),
            (6, "nineteen", "birth_year"),
            (7, "121", "age"),
            (7, "-1", "age"),
            (7, "30.5", "age"),
            (7, "old", "age"),
        ];
        for &(i, v, col) in cases {
            let mut r = good();
            r[i] = v;
            let errs = rejected(row(r));
            assert_eq!(errs.len(), 1, "{i} {v:?}: {errs:?}");
            assert_eq!(errs[0].column, col);
            assert_eq!(errs[0].value, v.trim());
            assert!(!errs[0].en.is_empty() && !errs[0].hi.is_empty());
        }
        // EPIC given but invalid (mobile still fine).
        let mut r = good();
        r[2] = "AB1234567";
        assert_eq!(reject_columns(row(r)), vec!["epic"]);
        // Neither mobile nor EPIC.
        let mut r = good();
        r[1] = "";
        let errs = rejected(row(r));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].column, "mobile");
        assert!(errs[0].en.contains("EPIC"));
        // Address too long.
        let long = "x".repeat(crate::ids::ADDRESS_MAX_CHARS + 1);
        let mut r = good();
        r[8] = &long;
        assert_eq!(reject_columns(row(r)), vec!["address"]);
        // The FieldError texts are reused.
        let mut r = good();
        r[1] = "5839012345";
        let e = &rejected(row(r))[0];
        assert_eq!(e.en, Mobile::parse("5839012345").unwrap_err().en);
        assert_eq!(e.hi, Mobile::parse("5839012345").unwrap_err().hi);
    }

    #[test]
    fn all_errors_of_a_row_are_collected() {
        let r = ["", "123", "XX", "", "0", "q", "1700", "200", "", ""];
        assert_eq!(
            reject_columns(row(r)),
            vec![
                "name",
                "mobile",
                "epic",
                "ac_no",
                "booth_no",
                "gender",
                "birth_year",
                "age"
            ]
        );
    }

    #[test]
    fn missing_columns_count_as_blank() {
        let c = cols(&["name", "mobile"]);
        let errs = rejected(validate_row(&c, &["Ram", "9839012345"], YEAR));
        assert_eq!(
            errs.iter().map(|e| e.column).collect::<Vec<_>>(),
            vec!["ac_no"]
        );
    }

    #[test]
    fn genders_in_both_languages() {
        for (g, want) in [
            ("m", Gender::M),
            ("Female", Gender::F),
            ("OTHER", Gender::O),
            ("पुरुष", Gender::M),
            ("महिला", Gender::F),
            ("अन्य", Gender::O),
        ] {
            let mut r = good();
            r[5] = g;
            assert_eq!(valid(row(r)).gender, Some(want), "{g}");
        }
    }

    #[test]
    fn the_apostrophe_escape_is_dropped() {
        let mut r = good();
        r[0] = "'=Ram";
        r[8] = " '-Gali 2 ";
        r[9] = "'@wing";
        let v = valid(row(r));
        assert_eq!(v.name.as_str(), "=Ram");
        assert_eq!(v.address.as_deref(), Some("-Gali 2"));
        assert_eq!(v.wing.as_deref(), Some("@wing"));
        // Only before = + - @.
        r[0] = "'Ram";
        assert_eq!(valid(row(r)).name.as_str(), "'Ram");
        r[0] = "'+Ram";
        assert_eq!(valid(row(r)).name.as_str(), "+Ram");
        // An escaped mobile is accepted too.
        r[1] = "'+91 98390 12345";
        assert_eq!(valid(row(r)).mobile.unwrap().national(), "9839012345");
        assert_eq!(clean_cell("'"), "'");
        assert_eq!(clean_cell(" ''=x"), "''=x");
    }

    #[test]
    fn age_gives_birth_year_when_birth_year_is_blank() {
        let mut r = good();
        r[6] = "";
        r[7] = "40";
        assert_eq!(valid(row(r)).birth_year, Some(YEAR - 40));
        r[7] = "40.0";
        assert_eq!(valid(row(r)).birth_year, Some(YEAR - 40));
        // Under 18 by age or by birth year: refused, naming the field that said so.
        r[7] = "17";
        assert_eq!(rejected(row(r))[0].column, Column::Age.as_str());
        r[7] = "";
        r[6] = "2015";
        let e = rejected(row(r));
        assert_eq!(e[0].column, Column::BirthYear.as_str());
        assert!(e[0].en.contains("at least 18"), "{}", e[0].en);
        // Birth year wins over age.
        r[6] = "1990";
        r[7] = "40";
        assert_eq!(valid(row(r)).birth_year, Some(1990));
    }

    #[test]
    fn names_are_stored_as_typed_nfc() {
        let mut r = good();
        r[0] = "\u{0958}मल  किशोर";
        let a = valid(row(r)).name;
        r[0] = " क\u{093C}मल  किशोर";
        let b = valid(row(r)).name;
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "क\u{093C}मल  किशोर");
        r[0] = "श्री\u{200D}राम";
        assert_eq!(valid(row(r)).name.as_str(), "श्री\u{200D}राम");
    }
}
