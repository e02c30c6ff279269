//! Streaming readers for bulk import: CSV and XLSX, one row at a time, as raw text cells.
//!
//! The header row is mapped with [`sangathan_core::import::map_headers`]; rows are handed
//! out as they are read (bounded memory), to be checked with
//! [`sangathan_core::import::validate_row`].

use calamine::{DataRef, Reader, Xlsx, open_workbook};
use sangathan_core::import::{Columns, map_headers};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetError {
    /// The file could not be opened or read (I/O error, damaged XLSX, ...).
    Unreadable(String),
    /// The file is empty, or its first non-blank row names no known column.
    NoHeader,
    /// Not `.csv` or `.xlsx` (the extension found, possibly empty).
    UnknownFormat(String),
}

impl std::fmt::Display for SheetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SheetError::Unreadable(e) => write!(f, "cannot read the file: {e}"),
            SheetError::NoHeader => f.write_str(
                "no header row: the first row must name the columns \
                 (name, mobile, epic, ac_no, booth_no, gender, birth_year, age, address, wing)",
            ),
            SheetError::UnknownFormat(ext) if ext.is_empty() => {
                f.write_str("unknown file format: the file name must end in .csv or .xlsx")
            }
            SheetError::UnknownFormat(ext) => {
                write!(f, "unknown file format .{ext}: use .csv or .xlsx")
            }
        }
    }
}

impl std::error::Error for SheetError {}

/// An open spreadsheet, positioned after its header row.
#[allow(dead_code)]
pub struct Sheet {
    pub columns: Columns,
    /// The header row's cells as written (for messages).
    pub headers: Vec<String>,
    /// The header's line number (1 unless blank rows come first).
    pub header_line: u64,
    source: Rows,
}

/// A source's rows with the empty rows between them put back: a spreadsheet shows (and
/// numbers) an empty line of a CSV, or a row of an XLSX with nothing in it, as a row, so each
/// becomes a row with no cells (blank) when a row with something in it follows; empty rows
/// after the last such row are not rows. Every row handed out is numbered one more than the
/// one before.
struct Rows {
    source: Source,
    /// The number the next row handed out has.
    next_line: u64,
    /// A row read ahead, held back while the empty rows before it are handed out.
    held: Option<(u64, Vec<String>)>,
}

impl Rows {
    fn next(&mut self) -> Option<RowResult> {
        let (line, cells) = match self.held.take() {
            Some(h) => h,
            None => match self.source.next()? {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            },
        };
        if line > self.next_line {
            self.held = Some((line, cells));
            self.next_line += 1;
            return Some(Ok((self.next_line - 1, Vec::new())));
        }
        self.next_line = line + 1;
        Some(Ok((line, cells)))
    }
}

enum Source {
    Csv(CsvSource),
    Xlsx(XlsxSource),
}

struct CsvSource {
    reader: csv::Reader<Tail>,
    record: csv::ByteRecord,
    /// 0-based index of the next record (header and leading blank records included).
    next_index: u64,
    /// The row a spreadsheet shows the last record on (0 before the first).
    line: u64,
    /// The reader's line count (`\n`s read, plus one) after the last record.
    newlines: u64,
    /// The last record ended on a `\r` (so the reader reads its `\n`, if any, with the next one).
    ended_cr: bool,
    done: bool,
}

/// The CSV reader's buffer (the part of the file it has read but not parsed yet is within it).
const CSV_BUFFER: usize = 1 << 16;

/// The file as the CSV reader reads it, remembering the last bytes handed over, so that the byte
/// a record ended on can be looked at: the reader's own position is always within the last
/// [`CSV_BUFFER`] bytes, and this keeps twice as many.
struct Tail {
    file: File,
    ring: Box<[u8]>,
    /// Bytes handed over so far.
    total: u64,
}

impl Tail {
    const KEEP: usize = 2 * CSV_BUFFER;

    fn new(file: File) -> Tail {
        Tail {
            file,
            ring: vec![0; Self::KEEP].into_boxed_slice(),
            total: 0,
        }
    }

    /// The byte at offset `at` of the file, if still kept.
    fn byte_at(&self, at: u64) -> Option<u8> {
        (at < self.total && self.total - at <= Self::KEEP as u64)
            .then(|| self.ring[(at % Self::KEEP as u64) as usize])
    }
}

impl Read for Tail {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        let keep = &buf[n.saturating_sub(Self::KEEP)..n];
        let start = self.total + (n - keep.len()) as u64;
        let at = (start % Self::KEEP as u64) as usize;
        let first = keep.len().min(Self::KEEP - at);
        self.ring[at..at + first].copy_from_slice(&keep[..first]);
        self.ring[..keep.len() - first].copy_from_slice(&keep[first..]);
        self.total += n as u64;
        Ok(n)
    }
}

type RowResult = Result<(u64, Vec<String>), SheetError>;

#[allow(dead_code)]
impl Sheet {
    /// `.csv` or `.xlsx` by extension (case-insensitive); anything else is `UnknownFormat`.
    pub fn open(path: &Path) -> Result<Sheet, SheetError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let source = match ext.as_str() {
            "csv" => Source::Csv(CsvSource::open(path)?),
            "xlsx" => Source::Xlsx(XlsxSource::open(path)?),
            _ => return Err(SheetError::UnknownFormat(ext)),
        };
        let mut source = Rows {
            source,
            next_line: 1,
            held: None,
        };
        // The header is the first row with a non-blank cell.
        loop {
            match source.next() {
                None => return Err(SheetError::NoHeader),
                Some(Err(e)) => return Err(e),
                Some(Ok((_, cells))) if cells.iter().all(|c| c.trim().is_empty()) => continue,
                Some(Ok((line, cells))) => {
                    let columns = map_headers(cells.iter().map(String::as_str));
                    if columns.index.is_empty() {
                        return Err(SheetError::NoHeader);
                    }
                    return Ok(Sheet {
                        columns,
                        headers: cells,
                        header_line: line,
                        source,
                    });
                }
            }
        }
    }

    /// The next data row: its line number as a spreadsheet shows it (the header is line 1,
    /// so the first data row is 2; a CSV record spanning several physical lines is one row)
    /// and its cells. Each row is numbered one more than the one before: an empty row (an
    /// empty CSV line, an XLSX row with nothing in it) followed by a row with something in it
    /// is a row with no cells. `None` at the end; after an error, the next call gives `None`.
    pub fn next_row(&mut self) -> Option<Result<(u64, Vec<String>), SheetError>> {
        self.source.next()
    }
}

impl Source {
    fn next(&mut self) -> Option<RowResult> {
        match self {
            Source::Csv(c) => c.next(),
            Source::Xlsx(x) => x.next(),
        }
    }
}

impl CsvSource {
    fn open(path: &Path) -> Result<CsvSource, SheetError> {
        let file = File::open(path)
            .map_err(|e| SheetError::Unreadable(format!("{}: {e}", path.display())))?;
        // csv strips a UTF-8 BOM and accepts LF, CRLF and CR line ends.
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(Tail::new(file));
        Ok(CsvSource {
            reader,
            record: csv::ByteRecord::new(),
            next_index: 0,
            line: 0,
            newlines: 1,
            ended_cr: false,
            done: false,
        })
    }

    /// The empty lines the reader skipped before the record just read (it skips them without a
    /// word). What it read for the record is: the `\n` of the record before if that one ended
    /// on `\r` (CRLF), the empty lines, the record (`\n`s inside quotes included) and its own
    /// `\n` if it ended on one. The reader counts the `\n`s, so the empty lines are what is
    /// left of them. Lines ended by a lone `\r` are not counted (old Mac files: none is
    /// put back).
    fn empty_lines_before(&mut self) -> u64 {
        let pos = self.reader.position();
        let newlines = pos.line();
        let last = pos
            .byte()
            .checked_sub(1)
            .and_then(|b| self.reader.get_ref().byte_at(b));
        let read = newlines.saturating_sub(self.newlines);
        let known = u64::from(self.ended_cr) + u64::from(last == Some(b'\n'));
        self.newlines = newlines;
        self.ended_cr = last == Some(b'\r');
        if read <= known {
            return 0;
        }
        let inside: u64 = self
            .record
            .iter()
            .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
            .sum();
        read.saturating_sub(known + inside)
    }

    fn next(&mut self) -> Option<RowResult> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                self.line += self.empty_lines_before() + 1;
                let line = self.line;
                self.next_index += 1;
                // Bad UTF-8 becomes U+FFFD: the row is validated (and likely rejected)
                // rather than the whole file failing.
                let cells = self
                    .record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                Some(Ok((line, cells)))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(SheetError::Unreadable(format!(
                    "CSV record {}: {e}",
                    self.next_index + 1
                ))))
            }
        }
    }
}

/// What the XLSX reading thread sends.
enum Msg {
    Row(u64, Vec<String>),
    Err(SheetError),
    End,
}

/// XLSX is read by calamine's streaming cell reader (`worksheet_cells_reader`), which
/// decompresses and parses the worksheet XML as it goes, so memory stays bounded by one row
/// (plus the workbook's shared-string table, which XLSX keeps in one part and calamine loads
/// whole). The cell reader borrows the workbook, so both live on a reading thread that
/// hands rows over a small bounded channel; dropping the [`Sheet`] stops that thread at its
/// next send.
struct XlsxSource {
    rx: Receiver<Msg>,
    done: bool,
}

impl XlsxSource {
    fn open(path: &Path) -> Result<XlsxSource, SheetError> {
        let workbook: Xlsx<BufReader<File>> = open_workbook(path)
            .map_err(|e| SheetError::Unreadable(format!("{}: {e}", path.display())))?;
        let (tx, rx) = sync_channel(256);
        std::thread::Builder::new()
            .name("xlsx-reader".into())
            .spawn(move || read_xlsx(workbook, &tx))
            .map_err(|e| SheetError::Unreadable(format!("cannot start the XLSX reader: {e}")))?;
        Ok(XlsxSource { rx, done: false })
    }

    fn next(&mut self) -> Option<RowResult> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Msg::Row(line, cells)) => Some(Ok((line, cells))),
            Ok(Msg::End) => {
                self.done = true;
                None
            }
            Ok(Msg::Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            // The thread ended without saying `End`: it panicked inside the XLSX parser.
            // Never report a silently truncated file as complete.
            Err(_) => {
                self.done = true;
                Some(Err(SheetError::Unreadable(
                    "the XLSX reader stopped unexpectedly (damaged file?)".into(),
                )))
            }
        }
    }
}

/// Runs on the reading thread: first worksheet, rows in file order. Rows with no stored
/// value at all are not sent; line numbers are the sheet's own row numbers, so [`Rows`] puts
/// the empty rows between back.
fn read_xlsx(mut workbook: Xlsx<BufReader<File>>, tx: &SyncSender<Msg>) {
    let Some(first) = workbook.sheet_names().into_iter().next() else {
        let _ = tx.send(Msg::End);
        return;
    };
    let mut reader = match workbook.worksheet_cells_reader(&first) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Msg::Err(SheetError::Unreadable(format!("{first}: {e}"))));
            return;
        }
    };
    let mut current: Option<(u32, Vec<String>)> = None;
    loop {
        let cell = match reader.next_cell() {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                let _ = tx.send(Msg::Err(SheetError::Unreadable(format!("{first}: {e}"))));
                return;
            }
        };
        let (row, col) = cell.get_position();
        let Some(text) = cell_text(cell.get_value()) else {
            continue;
        };
        if current.as_ref().is_some_and(|(r, _)| *r != row)
            && let Some((r, cells)) = current.take()
            && tx.send(Msg::Row(u64::from(r) + 1, cells)).is_err()
        {
            return; // the Sheet was dropped
        }
        let (_, cells) = current.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cells[col] = text;
    }
    if let Some((r, cells)) = current.take()
        && tx.send(Msg::Row(u64::from(r) + 1, cells)).is_err()
    {
        return;
    }
    let _ = tx.send(Msg::End);
}

/// A cell as text; `None` for an empty cell. Whole numbers come out without `.0` and
/// without an exponent (`9839012345`, `173`). Date cells give their serial number (so a
/// year typed into a date-formatted cell reads as that number).
fn cell_text(v: &DataRef<'_>) -> Option<String> {
    Some(match v {
        DataRef::Empty => return None,
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_number(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => format_number(d.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    })
}

/// Rust's `Display` for `f64` never uses an exponent and drops a zero fraction
/// (`9839012345.0` → `9839012345`, `1e20` → `100000000000000000000`).
fn format_number(f: f64) -> String {
    if f == 0.0 {
        "0".to_string() // also for -0.0
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sangathan_core::import::{Column, RowOutcome, match_header, validate_row};
    use std::io::Write;

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    fn all_rows(s: &mut Sheet) -> Vec<(u64, Vec<String>)> {
        let mut v = Vec::new();
        while let Some(r) = s.next_row() {
            v.push(r.unwrap());
        }
        v
    }

    #[test]
    fn numbers_format_without_fraction_or_exponent() {
        assert_eq!(format_number(9839012345.0), "9839012345");
        assert_eq!(format_number(173.0), "173");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(173.5), "173.5");
    }

    #[test]
    fn csv_with_bom_crlf_and_quoted_newline() {
        let dir = tempfile::tempdir().unwrap();
        let body = "\u{FEFF}Name,Mobile,AC_NO,पता\r\n\
                    \"Sharma, Ram\",9839012345,173,\"Gali 2,\r\nLucknow\"\r\n\
                    ,,,\r\n\
                    सीता देवी,+91 98390 12346,173.0\r\n";
        let p = write_file(&dir, "m.CSV", body.as_bytes());
        let mut s = Sheet::open(&p).unwrap();
        assert_eq!(s.columns.get(Column::Name), Some(0));
        assert_eq!(s.columns.get(Column::Address), Some(3));
        assert_eq!(s.header_line, 1);
        let rows = all_rows(&mut s);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, 2);
        assert_eq!(
            rows[0].1,
            vec!["Sharma, Ram", "9839012345", "173", "Gali 2,\r\nLucknow"]
        );
        assert_eq!(rows[1].0, 3);
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1.len(), 3);
        let outcomes: Vec<_> = rows
            .iter()
            .map(|(_, c)| {
                let c: Vec<&str> = c.iter().map(String::as_str).collect();
                validate_row(&s.columns, &c, 2026)
            })
            .collect();
        match &outcomes[0] {
            RowOutcome::Valid(v) => {
                assert_eq!(v.name.as_str(), "Sharma, Ram");
                assert_eq!(v.address.as_deref(), Some("Gali 2,\r\nLucknow"));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(outcomes[1], RowOutcome::Blank);
        assert!(matches!(&outcomes[2], RowOutcome::Valid(v) if v.ac_no == 173));
    }

    #[test]
    fn csv_with_invalid_utf8_is_read_lossily() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = b"name,mobile,ac_no\n".to_vec();
        body.extend_from_slice(b"R\xffam\xc3,9839012345,173\n");
        body.extend_from_slice(b"Sita,9839012346,\xe0\xa4\n");
        body.extend_from_slice(b"Gita,9839012347,12\n");
        let p = write_file(&dir, "bad.csv", &body);
        let mut s = Sheet::open(&p).unwrap();
        let rows = all_rows(&mut s);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].1[0], "R\u{FFFD}am\u{FFFD}");
        let c: Vec<&str> = rows[1].1.iter().map(String::as_str).collect();
        assert!(matches!(
            validate_row(&s.columns, &c, 2026),
            RowOutcome::Rejected(_)
        ));
        assert_eq!(rows[2].0, 4);
    }

    #[test]
    fn no_header_unknown_format_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write_file(&dir, "e.csv", b"");
        assert_eq!(Sheet::open(&empty).err(), Some(SheetError::NoHeader));
        let blank = write_file(&dir, "b.csv", b"\r\n,,\r\n\r\n");
        assert_eq!(Sheet::open(&blank).err(), Some(SheetError::NoHeader));
        let data = write_file(&dir, "d.csv", b"Ram,9839012345,173\n");
        assert_eq!(Sheet::open(&data).err(), Some(SheetError::NoHeader));
        let txt = write_file(&dir, "m.txt", b"name\n");
        assert_eq!(
            Sheet::open(&txt).err(),
            Some(SheetError::UnknownFormat("txt".into()))
        );
        let none = write_file(&dir, "noext", b"name\n");
        assert!(matches!(
            Sheet::open(&none),
            Err(SheetError::UnknownFormat(_))
        ));
        assert!(matches!(
            Sheet::open(&dir.path().join("missing.csv")),
            Err(SheetError::Unreadable(_))
        ));
        let fake = write_file(&dir, "fake.xlsx", b"name,mobile\n");
        assert!(matches!(Sheet::open(&fake), Err(SheetError::Unreadable(_))));
        // Leading blank records before the header keep line numbers true.
        let late = write_file(
            &dir,
            "late.csv",
            b",,\nname,mobile,ac_no\nRam,9839012345,1\n",
        );
        let mut s = Sheet::open(&late).unwrap();
        assert_eq!(s.header_line, 2);
        assert_eq!(s.next_row().unwrap().unwrap().0, 3);
        assert!(s.next_row().is_none());
        assert!(s.next_row().is_none());
    }

    #[test]
    fn xlsx_with_numbers_and_devanagari() {
        use rust_xlsxwriter::Workbook;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.XLSX");
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in [
            "नाम",
            "मोबाइल",
            "विधानसभा संख्या",
            "बूथ संख्या",
            "जन्म वर्ष",
            "शाखा",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "राम प्रकाश").unwrap();
        ws.write_number(1, 1, 9839012345.0).unwrap();
        ws.write_number(1, 2, 173.0).unwrap();
        ws.write_number(1, 3, 12.0).unwrap();
        ws.write_number(1, 4, 1980.0).unwrap();
        ws.write_string(1, 5, "युवा").unwrap();
        // Row 3 (index 2) left out entirely; row 4 has a gap in column B.
        ws.write_string(3, 0, "श्री\u{200D}राम").unwrap();
        ws.write_number(3, 2, 173.5).unwrap();
        ws.write_boolean(3, 3, true).unwrap();
        wb.add_worksheet()
            .write_string(0, 0, "second sheet ignored")
            .unwrap();
        wb.save(&p).unwrap();

        let mut s = Sheet::open(&p).unwrap();
        assert_eq!(s.columns.get(Column::Wing), Some(5));
        let rows = all_rows(&mut s);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0, 2);
        assert_eq!(
            rows[0].1,
            vec!["राम प्रकाश", "9839012345", "173", "12", "1980", "युवा"]
        );
        // The empty row 3 is a (blank) row, as the spreadsheet shows it.
        assert_eq!(rows[1], (3, vec![]));
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1, vec!["श्री\u{200D}राम", "", "173.5", "TRUE"]);
        let c: Vec<&str> = rows[0].1.iter().map(String::as_str).collect();
        match validate_row(&s.columns, &c, 2026) {
            RowOutcome::Valid(v) => {
                assert_eq!(v.mobile.unwrap().national(), "9839012345");
                assert_eq!(
                    (v.ac_no, v.booth_no, v.birth_year),
                    (173, Some(12), Some(1980))
                );
                assert_eq!(v.wing.as_deref(), Some("युवा"));
            }
            o => panic!("{o:?}"),
        }
    }

    /// (line, first cell) of every row.
    fn lines_of(p: &std::path::Path) -> (u64, Vec<(u64, String)>) {
        let mut s = Sheet::open(p).unwrap();
        let rows = all_rows(&mut s)
            .into_iter()
            .map(|(l, c)| (l, c.first().cloned().unwrap_or_default()))
            .collect();
        (s.header_line, rows)
    }

    fn want(header: u64, rows: &[(u64, &str)]) -> (u64, Vec<(u64, String)>) {
        (
            header,
            rows.iter().map(|(l, c)| (*l, c.to_string())).collect(),
        )
    }

    #[test]
    fn csv_empty_lines_are_numbered_blank_rows() {
        let dir = tempfile::tempdir().unwrap();
        // The audit's file: BBB is on row 6 as a spreadsheet shows it; rows 3, 4, 5 are blank.
        let p = write_file(
            &dir,
            "a.csv",
            b"name,mobile,ac_no\n\nAAA,9839012345,173\n\n\nBBB,123,173\n",
        );
        assert_eq!(
            lines_of(&p),
            want(1, &[(2, ""), (3, "AAA"), (4, ""), (5, ""), (6, "BBB")])
        );
        // The same with CRLF, a quoted field over three physical lines (one row), a line of
        // commas, a BOM, empty lines before the header and after the last row (not rows), and
        // no line end after the last row.
        for eol in ["\n", "\r\n"] {
            let body = format!(
                "\u{feff}{eol}{eol}name,mobile,address{eol}\
                 A,1,\"x{eol}{eol}y\"{eol}{eol}B,2,3{eol},,{eol}{eol}C,3,\"{eol}\"{eol}D{eol}{eol}{eol}E"
            );
            let p = write_file(&dir, "b.csv", body.as_bytes());
            assert_eq!(
                lines_of(&p),
                want(
                    3,
                    &[
                        (4, "A"),
                        (5, ""),
                        (6, "B"),
                        (7, ""),
                        (8, ""),
                        (9, "C"),
                        (10, "D"),
                        (11, ""),
                        (12, ""),
                        (13, "E")
                    ]
                ),
                "{body:?}"
            );
            let trailing = format!("name{eol}A{eol}{eol}{eol}");
            let p = write_file(&dir, "c.csv", trailing.as_bytes());
            assert_eq!(lines_of(&p), want(1, &[(2, "A")]));
        }
        // Mixed line ends: each kind still counts once.
        let p = write_file(&dir, "d.csv", b"name\r\nA\n\r\n\nB\r\n\r\nC\n");
        assert_eq!(
            lines_of(&p),
            want(
                1,
                &[(2, "A"), (3, ""), (4, ""), (5, "B"), (6, ""), (7, "C")]
            )
        );
        // Lines ended by a lone CR (old Mac files): records numbered one after another.
        let p = write_file(&dir, "e.csv", b"name\rA\rB\r");
        assert_eq!(lines_of(&p), want(1, &[(2, "A"), (3, "B")]));
    }

    #[test]
    fn csv_line_numbers_hold_across_large_fields_and_many_empty_lines() {
        // Records and runs of empty lines much larger than the reader's buffer.
        let dir = tempfile::tempdir().unwrap();
        let mut body = String::from("name,address\r\n");
        let mut expect = Vec::new();
        let mut line = 1u64;
        for i in 0..40u64 {
            let empties = (i * 7919) % 50_000 * u64::from(i % 3 == 0);
            for _ in 0..empties {
                body.push_str("\r\n");
                line += 1;
                expect.push((line, String::new()));
            }
            let big = "ab\r\n".repeat(((i * 104_729) % 60_000) as usize);
            body.push_str(&format!("R{i},\"{big}\"\r\n"));
            line += 1;
            expect.push((line, format!("R{i}")));
        }
        let p = write_file(&dir, "big.csv", body.as_bytes());
        let (header, rows) = lines_of(&p);
        assert_eq!(header, 1);
        assert_eq!(rows.len(), expect.len());
        assert!(rows == expect);
    }

    #[test]
    fn xlsx_empty_rows_are_numbered_blank_rows() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gaps.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        // Rows 1 and 2 empty, the header on row 3, data on rows 4, 6, 7 and 10; a row with only
        // formatting (row 12) after the last one is not a row.
        ws.write_string(2, 0, "name").unwrap();
        for r in [3u32, 5, 6, 9] {
            ws.write_string(r, 0, format!("n{}", r + 1)).unwrap();
        }
        ws.write_blank(11, 0, &rust_xlsxwriter::Format::new().set_bold())
            .unwrap();
        wb.save(&p).unwrap();
        assert_eq!(
            lines_of(&p),
            want(
                3,
                &[
                    (4, "n4"),
                    (5, ""),
                    (6, "n6"),
                    (7, "n7"),
                    (8, ""),
                    (9, ""),
                    (10, "n10")
                ]
            )
        );
    }

    #[test]
    fn xlsx_empty_workbook_has_no_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        wb.add_worksheet();
        wb.save(&p).unwrap();
        assert_eq!(Sheet::open(&p).err(), Some(SheetError::NoHeader));
    }

    #[test]
    fn dropping_an_xlsx_sheet_early_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet_with_constant_memory().unwrap();
        ws.write_string(0, 0, "name").unwrap();
        for r in 1..2000u32 {
            ws.write_string(r, 0, format!("n{r}")).unwrap();
        }
        wb.save(&p).unwrap();
        let mut s = Sheet::open(&p).unwrap();
        assert_eq!(s.next_row().unwrap().unwrap(), (2, vec!["n1".to_string()]));
        drop(s); // the reading thread is blocked on a full channel; it must just stop
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        const KNOWN: &[&str] = &[
            "name",
            "Mobile",
            "EPIC",
            "ac_no",
            "बूथ संख्या",
            "gender",
            "birth_year",
            "आयु",
            "पता",
            "wing",
            "नाम",
            "phone",
        ];

        fn header() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => proptest::sample::select(KNOWN).prop_map(str::to_string),
                1 => "[a-z ]{0,8}",
            ]
        }

        /// A cell as bytes: plausible values, Devanagari with joiners, quotes/commas/newlines,
        /// bad UTF-8, whitespace, and now and then a 100 KB field.
        fn cell() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                4 => proptest::sample::select(&[
                    "", " ", "\u{a0}", "Ram Prakash", "9839012345", "+91 98390 12345",
                    "ABC1234567", "abc 1234567", "173", "173.0", "0", "-1", "12", "M", "महिला",
                    "x", "1980", "35", "121", "'=SUM(A1)", "'-5", "युवा", "\"", ",", "\r\n",
                ][..]).prop_map(|s| s.as_bytes().to_vec()),
                2 => "[\\PC\u{200C}\u{200D}\u{0915}-\u{094D}\",\r\n ]{0,20}"
                    .prop_map(String::into_bytes),
                1 => proptest::collection::vec(any::<u8>(), 0..12),
                1 => Just("क\u{094D}\u{200D}ष क\u{094D}\u{200C}ष".as_bytes().to_vec()),
                1 => (0u8..2).prop_map(|k| if k == 0 {
                    "न".repeat(100 * 1024 / 3).into_bytes()
                } else {
                    vec![b'a'; 100 * 1024]
                }),
            ]
        }

        /// Quote as CSV needs; a lone empty field is written `""` so the record is not an
        /// empty line (which CSV readers skip).
        fn encode(record: &[Vec<u8>], eol: &[u8], out: &mut Vec<u8>) {
            for (i, f) in record.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let needs = f.is_empty() && record.len() == 1
                    || f.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
                if needs {
                    out.push(b'"');
                    for &b in f {
                        if b == b'"' {
                            out.push(b'"');
                        }
                        out.push(b);
                    }
                    out.push(b'"');
                } else {
                    out.extend_from_slice(f);
                }
            }
            out.extend_from_slice(eol);
        }

        #[derive(Debug, Clone)]
        struct Generated {
            headers: Vec<String>,
            rows: Vec<Vec<Vec<u8>>>,
            bom: bool,
            crlf: bool,
        }

        /// Values that pass for each known column (blank for unknown ones), padded with
        /// whitespace now and then, so that valid rows are generated too.
        fn good_value(c: Option<Column>) -> BoxedStrategy<Vec<u8>> {
            let pick: &'static [&'static str] = match c {
                Some(Column::Name) => &["Ram Prakash", "राम प्रकाश", "श्री\u{200D}राम", "'=Ram"],
                Some(Column::Mobile) => &["9839012345", "+91 98390 12345", "09839012345", ""],
                Some(Column::Epic) => &["ABC1234567", "abc 1234567", ""],
                Some(Column::AcNo) => &["173", "173.0", "1"],
                Some(Column::BoothNo) => &["12", "", "12.0"],
                Some(Column::Gender) => &["M", "महिला", "", "other"],
                Some(Column::BirthYear) => &["1980", "", "1980.0"],
                Some(Column::Age) => &["35", "", "0"],
                Some(Column::Address) => &["Gali 2,\r\nLucknow", "", "पता \"१२\""],
                Some(Column::Wing) => &["yuva", "", "महिला मोर्चा"],
                None => &["", "junk"],
            };
            (
                proptest::sample::select(pick),
                proptest::sample::select(&["", " ", "\u{a0}"][..]),
            )
                .prop_map(|(v, pad)| format!("{pad}{v}{pad}").into_bytes())
                .boxed()
        }

        fn generated() -> impl Strategy<Value = Generated> {
            proptest::collection::vec(header(), 1..8).prop_flat_map(|headers| {
                let fitted: Vec<BoxedStrategy<Vec<u8>>> = headers
                    .iter()
                    .map(|h| good_value(match_header(h)))
                    .collect();
                let row = prop_oneof![proptest::collection::vec(cell(), 1..10), fitted,];
                (
                    Just(headers),
                    proptest::collection::vec(row, 0..12),
                    any::<bool>(),
                    any::<bool>(),
                )
                    .prop_map(|(headers, rows, bom, crlf)| Generated {
                        headers,
                        rows,
                        bom,
                        crlf,
                    })
            })
        }

        fn check(sheet: Result<Sheet, SheetError>, g: &Generated) -> Result<(), TestCaseError> {
            let known = map_headers(g.headers.iter().map(String::as_str));
            let mut sheet = match sheet {
                Err(SheetError::NoHeader) => {
                    prop_assert!(known.index.is_empty());
                    return Ok(());
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                Ok(s) => s,
            };
            prop_assert_eq!(&sheet.columns, &known);
            let (mut read, mut blank, mut valid, mut rejected) = (0usize, 0, 0, 0);
            let mut last_line = sheet.header_line;
            while let Some(r) = sheet.next_row() {
                let (line, cells) = r.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                prop_assert!(line > last_line);
                last_line = line;
                read += 1;
                let c: Vec<&str> = cells.iter().map(String::as_str).collect();
                match validate_row(&sheet.columns, &c, 2026) {
                    RowOutcome::Blank => blank += 1,
                    RowOutcome::Valid(_) => valid += 1,
                    RowOutcome::Rejected(e) => {
                        prop_assert!(!e.is_empty());
                        rejected += 1
                    }
                }
            }
            prop_assert_eq!(read, blank + valid + rejected);
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

            #[test]
            fn csv_rows_are_each_blank_valid_or_rejected(g in generated()) {
                let dir = tempfile::tempdir().unwrap();
                let eol: &[u8] = if g.crlf { b"\r\n" } else { b"\n" };
                let mut bytes = Vec::new();
                if g.bom {
                    bytes.extend_from_slice("\u{FEFF}".as_bytes());
                }
                let header: Vec<Vec<u8>> =
                    g.headers.iter().map(|h| h.clone().into_bytes()).collect();
                encode(&header, eol, &mut bytes);
                for r in &g.rows {
                    encode(r, eol, &mut bytes);
                }
                let p = write_file(&dir, "p.csv", &bytes);
                let sheet = Sheet::open(&p);
                let header_blank = g.headers.iter().all(|h| h.trim().is_empty());
                if header_blank {
                    // The header is then the first non-blank record: not what this test
                    // counts, but it must still not panic.
                    if let Ok(mut s) = sheet {
                        while s.next_row().is_some() {}
                    }
                    return Ok(());
                }
                check(sheet, &g)?;
                // Rows read == records written.
                if let Ok(mut s) = Sheet::open(&p) {
                    let mut n = 0;
                    while let Some(r) = s.next_row() {
                        prop_assert!(r.is_ok());
                        n += 1;
                    }
                    prop_assert_eq!(n, g.rows.len());
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

            #[test]
            fn xlsx_rows_are_each_blank_valid_or_rejected(g in generated()) {
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("p.xlsx");
                let mut wb = rust_xlsxwriter::Workbook::new();
                let ws = wb.add_worksheet_with_constant_memory().unwrap();
                for (c, h) in g.headers.iter().enumerate() {
                    ws.write_string(0, c as u16, h.as_str()).unwrap();
                }
                for (r, row) in g.rows.iter().enumerate() {
                    for (c, cell) in row.iter().enumerate() {
                        // XLSX holds text only (and at most 32,767 characters a cell).
                        let s: String = String::from_utf8_lossy(cell).chars().take(32_000).collect();
                        ws.write_string(r as u32 + 1, c as u16, s).unwrap();
                    }
                }
                wb.save(&p).unwrap();
                let sheet = Sheet::open(&p);
                if g.headers.iter().all(|h| h.trim().is_empty()) {
                    if let Ok(mut s) = sheet {
                        while s.next_row().is_some() {}
                    }
                    return Ok(());
                }
                check(sheet, &g)?;
            }
        }
    }
}
