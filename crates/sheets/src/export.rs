//! Streaming member export to CSV or XLSX, one row at a time.
//!
//! Both formats hold the same columns ([`HEADERS`]) and re-import unchanged through
//! [`crate::sheet::Sheet`] and `sangathan_core::import::validate_row`. Every text cell goes
//! through [`escape_cell`] (CSV/formula injection).

use anyhow::{Context, bail};
use chrono::SecondsFormat;
use rust_xlsxwriter::{Format as XlsxFormat, Workbook};
use sangathan_store::ExportRow;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "xlsx" => Ok(Format::Xlsx),
            other => Err(format!("unknown export format {other:?}: use csv or xlsx")),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        })
    }
}

#[allow(dead_code)]
pub const HEADERS: [&str; 12] = [
    "name",
    "mobile",
    "epic",
    "ac_no",
    "booth_no",
    "gender",
    "birth_year",
    "address",
    "wing",
    "membership_number",
    "status",
    "enrolled_at",
];

/// OWASP CSV-injection guidance: a text cell beginning with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading `'` (which the importer drops again before `=+-@`).
#[allow(dead_code)]
pub fn escape_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// The most data rows one XLSX worksheet holds (Excel's 1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// One exported row as cells, before escaping.
enum Cell<'a> {
    Text(Cow<'a, str>),
    Number(i64),
    Empty,
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Cow::Borrowed(s))
}

fn opt_text(s: &Option<String>) -> Cell<'_> {
    s.as_deref().map_or(Cell::Empty, text)
}

fn opt_num(n: Option<i32>) -> Cell<'static> {
    n.map_or(Cell::Empty, |n| Cell::Number(n.into()))
}

fn cells(row: &ExportRow) -> [Cell<'_>; 12] {
    // The ten digits people write; a stored value that is not +91 is written as it is.
    let mobile = match &row.mobile {
        Some(m) => Cell::Text(Cow::Borrowed(m.strip_prefix("+91").unwrap_or(m))),
        None => Cell::Empty,
    };
    [
        text(&row.name),
        mobile,
        opt_text(&row.epic),
        Cell::Number(row.ac_no.into()),
        opt_num(row.booth_no),
        opt_text(&row.gender),
        opt_num(row.birth_year),
        opt_text(&row.address),
        text(&row.wing),
        text(&row.membership_number),
        text(&row.status),
        Cell::Text(Cow::Owned(
            row.enrolled_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        )),
    ]
}

/// Writes rows as they come: CSV straight to a buffered file, XLSX through
/// rust_xlsxwriter's constant-memory worksheet (rows go to a temporary file, the workbook
/// is assembled at [`Exporter::finish`]).
#[allow(dead_code)]
pub struct Exporter {
    sink: Sink,
    rows: u64,
}

enum Sink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Xlsx {
        workbook: Box<Workbook>,
        path: PathBuf,
    },
}

#[allow(dead_code)]
impl Exporter {
    /// Create (or truncate) `path` and write the header row.
    pub fn create(path: &Path, format: Format) -> anyhow::Result<Exporter> {
        // Fail now, not after a million rows, if the file cannot be written.
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let sink = match format {
            Format::Csv => {
                let mut out = BufWriter::with_capacity(1 << 16, file);
                // A BOM so that Excel reads the file as UTF-8 (Devanagari).
                out.write_all("\u{FEFF}".as_bytes())?;
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(out);
                w.write_record(HEADERS)?;
                Sink::Csv(Box::new(w))
            }
            Format::Xlsx => {
                drop(file);
                let mut workbook = Box::new(Workbook::new());
                let bold = XlsxFormat::new().set_bold();
                let ws = workbook
                    .add_worksheet_with_constant_memory()
                    .context("cannot create the XLSX worksheet's temporary file")?;
                ws.set_name("members")?;
                for (c, w) in [28, 12, 12, 7, 9, 7, 10, 40, 12, 20, 10, 21]
                    .iter()
                    .enumerate()
                {
                    ws.set_column_width(c as u16, *w)?;
                }
                ws.set_freeze_panes(1, 0)?;
                for (c, h) in HEADERS.iter().enumerate() {
                    ws.write_string_with_format(0, c as u16, *h, &bold)?;
                }
                Sink::Xlsx {
                    workbook,
                    path: path.to_path_buf(),
                }
            }
        };
        Ok(Exporter { sink, rows: 0 })
    }

    pub fn write(&mut self, row: &ExportRow) -> anyhow::Result<()> {
        let cells = cells(row);
        match &mut self.sink {
            Sink::Csv(w) => {
                let fields = cells.iter().map(|c| match c {
                    Cell::Text(s) => escape_cell(s).into_owned(),
                    Cell::Number(n) => n.to_string(),
                    Cell::Empty => String::new(),
                });
                w.write_record(fields)?;
            }
            Sink::Xlsx { workbook, .. } => {
                if self.rows >= XLSX_MAX_ROWS {
                    bail!(
                        "an XLSX sheet holds at most {XLSX_MAX_ROWS} rows: export as CSV, \
                         or export a smaller area"
                    );
                }
                let r = (self.rows + 1) as u32;
                let ws = workbook.worksheet_from_index(0)?;
                for (c, cell) in cells.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        // A string cell: never evaluated as a formula.
                        Cell::Text(s) => {
                            ws.write_string(r, c, escape_cell(s))?;
                        }
                        Cell::Number(n) => {
                            ws.write_number(r, c, *n as f64)?;
                        }
                        Cell::Empty => {}
                    }
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flush and close the file; the number of data rows written.
    pub fn finish(self) -> anyhow::Result<u64> {
        match self.sink {
            Sink::Csv(w) => {
                let out = w.into_inner().map_err(|e| e.into_error())?;
                out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            }
            Sink::Xlsx { mut workbook, path } => {
                workbook
                    .save(&path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sheet::Sheet;
    use chrono::{TimeZone, Utc};
    use sangathan_core::import::{RowOutcome, validate_row};

    fn row(name: &str, address: Option<&str>) -> ExportRow {
        ExportRow {
            name: name.to_string(),
            mobile: Some("+919839012345".into()),
            epic: Some("ABC1234567".into()),
            ac_no: 173,
            booth_no: Some(12),
            gender: Some("F".into()),
            birth_year: Some(1980),
            address: address.map(str::to_string),
            wing: "yuva".into(),
            membership_number: "UP-173-0000001".into(),
            status: "active".into(),
            enrolled_at: Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
        }
    }

    fn export(rows: &[ExportRow], format: Format) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("out.{format}"));
        let mut e = Exporter::create(&path, format).unwrap();
        for r in rows {
            e.write(r).unwrap();
        }
        assert_eq!(e.finish().unwrap(), rows.len() as u64);
        (dir, path)
    }

    fn read_back(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
        let mut s = Sheet::open(path).unwrap();
        let mut rows = Vec::new();
        while let Some(r) = s.next_row() {
            rows.push(r.unwrap().1);
        }
        (s.headers, rows)
    }

    #[test]
    fn formats_parse_any_case() {
        assert_eq!("CSV".parse::<Format>().unwrap(), Format::Csv);
        assert_eq!("xlsx".parse::<Format>().unwrap(), Format::Xlsx);
        assert_eq!(" Xlsx ".parse::<Format>().unwrap(), Format::Xlsx);
        assert!("xls".parse::<Format>().is_err());
    }

    #[test]
    fn escape_cell_follows_owasp() {
        for s in ["=1+2", "+91", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(escape_cell(s), format!("'{s}"));
        }
        for s in ["", "Ram", "9839012345", "'=x", " =x", "राम"] {
            assert!(matches!(escape_cell(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn csv_has_bom_crlf_and_plain_numbers() {
        let (_d, p) = export(
            &[row("राम, \"प्रकाश\"", Some("Gali 2\nLucknow"))],
            Format::Csv,
        );
        let bytes = std::fs::read(&p).unwrap();
        assert!(bytes.starts_with("\u{FEFF}name,mobile,epic,".as_bytes()));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("enrolled_at\r\n"));
        assert!(text.ends_with("2024-01-02T03:04:05Z\r\n"), "{text}");
        assert!(text.contains(
            "\"राम, \"\"प्रकाश\"\"\",9839012345,ABC1234567,173,12,F,1980,\"Gali 2\nLucknow\",yuva,"
        ));
    }

    #[test]
    fn leading_formula_characters_are_escaped_in_both_formats() {
        let leads = ['=', '+', '-', '@', '\t', '\r'];
        let rows: Vec<ExportRow> = leads
            .iter()
            .map(|c| {
                row(
                    &format!("{c}cmd|' /C calc'!A0"),
                    Some(&format!("{c}HYPERLINK(x)")),
                )
            })
            .collect();
        for format in [Format::Csv, Format::Xlsx] {
            let (_d, p) = export(&rows, format);
            // Raw cells, independently of our reader.
            let raw: Vec<Vec<String>> = match format {
                Format::Csv => {
                    let mut r = csv::ReaderBuilder::new().from_path(&p).unwrap();
                    r.records()
                        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
                        .collect()
                }
                Format::Xlsx => {
                    use calamine::{Reader, Xlsx, open_workbook};
                    let mut wb: Xlsx<_> = open_workbook(&p).unwrap();
                    let range = wb.worksheet_range_at(0).unwrap().unwrap();
                    range
                        .rows()
                        .skip(1)
                        .map(|r| r.iter().map(|c| c.to_string()).collect())
                        .collect()
                }
            };
            assert_eq!(raw.len(), leads.len());
            for (c, cells) in leads.iter().zip(&raw) {
                assert_eq!(cells[0], format!("'{c}cmd|' /C calc'!A0"), "{format} name");
                assert_eq!(cells[7], format!("'{c}HYPERLINK(x)"), "{format} address");
            }
            if format == Format::Xlsx {
                // No formula anywhere, and text cells really are strings.
                use calamine::{Data, Reader, Xlsx, open_workbook};
                let mut wb: Xlsx<_> = open_workbook(&p).unwrap();
                let formulas = wb.worksheet_formula("members").unwrap();
                assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
                let range = wb.worksheet_range_at(0).unwrap().unwrap();
                assert!(matches!(range.get((1, 0)), Some(Data::String(_))));
                assert!(matches!(range.get((1, 1)), Some(Data::String(_))));
                assert!(matches!(range.get((1, 3)), Some(Data::Float(_))));
            }
        }
    }

    #[test]
    fn round_trip_reimport_gives_the_same_values() {
        let mut rows = vec![
            row("राम प्रकाश", Some("मकान 12, गोमती नगर\nलखनऊ")),
            row("=Sharma, \"Ram\"", Some("-Gali 2")),
            row("श्री\u{200D}राम", None),
            row("+Plus @at", Some("@home, 'quoted'")),
        ];
        rows[1].mobile = None;
        rows[2].epic = None;
        rows[2].booth_no = None;
        rows[2].gender = None;
        rows[2].birth_year = None;
        rows[3].wing = "महिला मोर्चा".into();
        rows[3].gender = Some("O".into());
        for format in [Format::Csv, Format::Xlsx] {
            let (_d, p) = export(&rows, format);
            let mut sheet = Sheet::open(&p).unwrap();
            assert_eq!(sheet.headers, HEADERS);
            assert_eq!(sheet.columns.index.len(), 9, "{format}");
            let mut n = 0;
            while let Some(r) = sheet.next_row() {
                let (line, cells) = r.unwrap();
                let orig = &rows[n];
                assert_eq!(line, n as u64 + 2);
                let c: Vec<&str> = cells.iter().map(String::as_str).collect();
                let v = match validate_row(&sheet.columns, &c, 2026) {
                    RowOutcome::Valid(v) => v,
                    o => panic!("{format} row {n}: {o:?}"),
                };
                assert_eq!(v.name.as_str(), orig.name, "{format}");
                assert_eq!(v.mobile.map(|m| m.e164().to_string()), orig.mobile);
                assert_eq!(v.epic.map(|e| e.as_str().to_string()), orig.epic);
                assert_eq!(v.ac_no as i32, orig.ac_no);
                assert_eq!(v.booth_no.map(|b| b as i32), orig.booth_no);
                assert_eq!(v.gender.map(|g| g.code().to_string()), orig.gender);
                assert_eq!(v.birth_year, orig.birth_year);
                assert_eq!(v.address, orig.address, "{format}");
                assert_eq!(v.wing.as_deref(), Some(orig.wing.as_str()));
                n += 1;
            }
            assert_eq!(n, rows.len());
        }
        // The CSV reader sees the raw, escaped and unescaped text the same way as Sheet.
        let (_d, p) = export(&rows, Format::Csv);
        let (_, raw) = read_back(&p);
        assert_eq!(raw[1][0], "'=Sharma, \"Ram\"");
        assert_eq!(raw[0][1], "9839012345");
        assert_eq!(raw[0][11], "2024-01-02T03:04:05Z");
    }

    #[test]
    fn empty_export_is_just_the_header() {
        for format in [Format::Csv, Format::Xlsx] {
            let (_d, p) = export(&[], format);
            let (headers, rows) = read_back(&p);
            assert_eq!(headers, HEADERS);
            assert!(rows.is_empty());
        }
    }

    #[test]
    fn unwritable_path_fails_at_create() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/out.csv");
        assert!(Exporter::create(&p, Format::Csv).is_err());
        assert!(Exporter::create(&p, Format::Xlsx).is_err());
    }
}
