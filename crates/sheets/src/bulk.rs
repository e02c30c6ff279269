//! `sangathan import members` and `sangathan export members`: whole sheets in and out, streaming.

use crate::export::{Exporter, Format};
use crate::sheet::Sheet;
use anyhow::{Context, anyhow};
use chrono::Datelike;
use sangathan_core::geo::UnitCode;
use sangathan_core::import::{Column, RowOutcome, validate_row};
use sangathan_store::dry_run::DryRun;
use sangathan_store::{
    DynStore, EnrolContext, Enrolment, ImportError, ImportRow, ImportStats, clock,
};
use std::io::Read;
use std::path::Path;

/// Rows committed together with their checkpoint: `SANGATHAN_IMPORT_BATCH`, else the caller's.
fn batch_size(default: usize) -> usize {
    std::env::var("SANGATHAN_IMPORT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The command line's batch: larger transactions rewrite each index page fewer times (a batch
/// of random keys dirties most of an index's pages, written again at every commit): 1,000,000
/// rows took 106 s in batches of 5,000 and 76 s in batches of 20,000, peak RSS 284 → 411 MB.
pub const CLI_BATCH: usize = 20_000;

/// A first load with its indexes deferred (`ImportOptions::defer_indexes`): the unique indexes
/// still kept up are rewritten at every commit, so fewer, larger commits (1,000,000 rows: 91 s in
/// batches of 20,000, 76 s in batches of 100,000, peak RSS 0.8 → 1.1 GB with the writer's load
/// cache). The first batch's size; see [`load_batch`].
pub const LOAD_BATCH: usize = 100_000;

/// The largest batch of a first load.
pub const LOAD_BATCH_MAX: usize = 1_000_000;

/// A first load's next batch after `done` rows: an eighth of them, from [`LOAD_BATCH`] up to
/// [`LOAD_BATCH_MAX`] (or `SANGATHAN_IMPORT_BATCH`, fixed). A batch of random keys dirties a share
/// of the unique indexes' pages that grows with the batch, not with the table: at 18 M people a
/// batch of 100,000 rewrote about 40 % of each index's leaves, so the load wrote those indexes
/// some 180 times over; batches that grow with the table keep that to a few dozen.
pub fn load_batch(done: u64) -> usize {
    batch_size(((done / 8) as usize).clamp(LOAD_BATCH, LOAD_BATCH_MAX))
}

/// Inside the server (the web app's import) batches stay small: its memory is the server's.
pub const SERVER_BATCH: usize = 5_000;

/// A dry run's batch (`SANGATHAN_IMPORT_BATCH` too): each is counted in a transaction of its own
/// that writes nothing, after the earlier ones (`DryRun`).
pub const DRY_BATCH: usize = 100_000;

fn file_hash(path: &Path) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

pub struct ImportOptions<'a> {
    pub wing: Option<&'a str>,
    pub dry_run: bool,
    pub errors: Option<&'a Path>,
    /// The importer's scope (`--as`); rows for units outside it are rejected as unknown units.
    pub scope: Option<std::sync::Arc<sangathan_core::access::Scope>>,
    /// Who the memberships are recorded as enrolled by (the audit name).
    pub actor: String,
    /// Told the rows read so far after each batch.
    pub progress: &'a (dyn Fn(u64) + Send + Sync),
    /// Told what the importer should know but that stops nothing (unknown columns, a resumed
    /// file).
    pub warn: &'a (dyn Fn(String) + Send + Sync),
    /// Where the membership was made: `import` (CLI), `web-import` (the web app).
    pub channel: &'a str,
    /// The file's name as the importer knows it (default: the path's); an unfinished import of
    /// the same file by the same importer resumes.
    pub file_name: Option<&'a str>,
    /// The sheet's members were verified before (a state admin says so; the caller checks and
    /// audits): its new memberships arrive `verified`.
    pub verified: bool,
    /// Rows per transaction unless `SANGATHAN_IMPORT_BATCH` says otherwise ([`CLI_BATCH`],
    /// [`SERVER_BATCH`]).
    pub batch: usize,
    /// Some: into a database with nobody in it yet, the indexes no write needs are built after
    /// the load rather than row by row (`Store::defer_indexes`); told when that build starts.
    /// None (the web app's import, inside a serving process): indexes kept up as rows arrive.
    pub defer_indexes: Option<&'a (dyn Fn(&str) + Send + Sync)>,
}

/// Import a sheet; returns the whole file's totals (a resumed run counts the earlier part too).
pub async fn import_members(
    store: &DynStore,
    path: &Path,
    opt: ImportOptions<'_>,
) -> anyhow::Result<ImportStats> {
    let mut sheet = Sheet::open(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    for u in &sheet.columns.unknown {
        (opt.warn)(format!(
            "column {u:?} is not one Sangathan knows; it is ignored"
        ));
    }
    let state = store.state_code().await?;
    let year = clock::today().year();
    let name = opt.file_name.map(str::to_string).unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    });
    let job = if opt.dry_run {
        None
    } else {
        Some(
            store
                .import_begin(&file_hash(path)?, &name, &opt.actor)
                .await?,
        )
    };
    let deferred = match (&job, opt.defer_indexes) {
        (Some(_), Some(_)) => store.defer_indexes().await?,
        _ => false,
    };
    let mut total = job.as_ref().map(|j| j.stats).unwrap_or_default();
    let skip = job.as_ref().map(|j| j.rows_done).unwrap_or(0);
    if let Some(j) = &job
        && j.resumed
    {
        (opt.warn)(format!(
            "resuming the unfinished import of this file after {} rows",
            j.rows_done
        ));
    }
    let batch = match (opt.dry_run, deferred) {
        (true, _) => batch_size(DRY_BATCH),
        (false, true) => load_batch(skip),
        (false, false) => batch_size(opt.batch),
    };
    // The sheet is read and its rows validated on a thread of their own while the store writes
    // the batch before (two cores: parsing no longer waits for the database, nor it for parsing).
    // One batch at most waits in between, so memory stays bounded.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<Batch>>(1);
    let reader = Reader {
        default_wing: opt.wing.unwrap_or("party").to_string(),
        actor: opt.actor.clone(),
        channel: opt.channel.to_string(),
        scope: opt.scope.clone(),
        verified: opt.verified,
        state,
        year,
        skip,
        batch,
        grow: deferred,
    };
    let shown = path.display().to_string();
    let parser = std::thread::spawn(move || reader.run(&mut sheet, &shown, &tx));
    // A dry run keeps nothing, so its report is written as its batches are counted: the same
    // lines, in the same order, as the real import's (read back from the store).
    let mut dry_report = match (&job, opt.errors) {
        (None, Some(out)) => Some(ErrorReport::create(out)?),
        _ => None,
    };
    // What the dry run's earlier batches would have written, for the batches after them; its
    // bound in people and memberships, `SANGATHAN_DRY_RUN_CARRY` or the default.
    let carry = std::env::var("SANGATHAN_DRY_RUN_CARRY").ok().filter(|_| job.is_none());
    let mut dry = match carry.map(|v| (v.trim().parse::<usize>(), v)) {
        Some((Ok(n), _)) => DryRun::with_limit(n),
        Some((Err(_), v)) => {
            (opt.warn)(format!(
                "SANGATHAN_DRY_RUN_CARRY={v:?} is not a whole number (digits only); the default, {}, is used",
                sangathan_store::dry_run::CARRY_LIMIT
            ));
            DryRun::new()
        }
        None => DryRun::new(),
    };
    let mut told = false;
    while let Some(b) = rx.recv().await {
        let b = b?;
        // Rows after a batch the dry run could not keep: said once, before they are counted.
        if let (false, Some(line)) = (told, dry.inexact_from()) {
            told = true;
            (opt.warn)(format!(
                "this dry run keeps what its rows would write in memory, up to {} people and memberships, \
                 and reached that at row {}: a person named again after it may be counted as new, \
                 so its counts after that row may differ from a real import's",
                dry.limit(),
                line - 1
            ));
        }
        let stats = match &job {
            Some(j) => {
                store
                    .import_batch(j.id, b.first_line, &b.rows)
                    .await?
            }
            None => {
                let (stats, errors) = store.import_batch_dry(b.first_line, &b.rows, &mut dry).await?;
                if let Some(r) = &mut dry_report {
                    r.write(&errors)?;
                }
                stats
            }
        };
        add(&mut total, stats);
        (opt.progress)(b.seen);
    }
    parser
        .join()
        .map_err(|_| anyhow!("the sheet's reader stopped unexpectedly"))?;
    if let Some(r) = dry_report {
        r.finish()?;
    }
    if let Some(j) = &job {
        // Built before the job is closed: killed during the build, the same command resumes
        // this job (nothing left to load) and builds them, with this job's totals.
        if let (true, Some(told)) = (deferred, opt.defer_indexes) {
            told("building the indexes left out of the load");
            store.restore_indexes().await?;
        }
        store.import_finish(j.id).await?;
        if let Some(out) = opt.errors {
            write_errors(out, &store.import_errors(j.id).await?)?;
        }
    }
    Ok(total)
}

/// Validated rows for one `import_batch`: the first one's line (the others follow it without a
/// gap), and the rows read so far.
struct Batch {
    first_line: u64,
    rows: Vec<ImportRow>,
    seen: u64,
}

/// What the reader thread needs to turn a sheet's rows into batches.
struct Reader {
    default_wing: String,
    actor: String,
    channel: String,
    scope: Option<std::sync::Arc<sangathan_core::access::Scope>>,
    verified: bool,
    state: String,
    year: i32,
    /// Rows already imported (a resumed file): read past, not validated again.
    skip: u64,
    batch: usize,
    /// A first load: batches grow with the rows read ([`load_batch`]; `batch` is the first's).
    grow: bool,
}

impl Reader {
    /// Read the whole sheet, sending a batch every `batch` rows (and the rest at the end); stops
    /// early when the receiver is gone (the import failed) or with the sheet's error.
    fn run(
        &self,
        sheet: &mut Sheet,
        shown: &str,
        tx: &tokio::sync::mpsc::Sender<anyhow::Result<Batch>>,
    ) {
        let columns = sheet.columns.clone();
        let raw = |cells: &[String], col: Column| {
            columns
                .index
                .get(&col)
                .and_then(|&i| cells.get(i))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        // The current batch's size; a first load's next one is told the rows read so far.
        let mut batch = self.batch;
        let mut rows: Vec<ImportRow> = Vec::with_capacity(batch);
        let mut first_line = 0u64;
        let mut seen = 0u64;
        while let Some(next) = sheet.next_row() {
            let (line, cells) = match next {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.blocking_send(Err(anyhow!("{shown}: {e}")));
                    return;
                }
            };
            seen += 1;
            if seen <= self.skip {
                continue;
            }
            // The store numbers a batch's rows from its first one's line: a row that does not
            // follow the one before (the sheet gives none such) starts a batch of its own.
            if !rows.is_empty() && line != first_line + rows.len() as u64 {
                let part = std::mem::replace(&mut rows, Vec::with_capacity(batch));
                if tx
                    .blocking_send(Ok(Batch {
                        first_line,
                        rows: part,
                        seen: seen - 1,
                    }))
                    .is_err()
                {
                    return;
                }
            }
            if rows.is_empty() {
                first_line = line;
            }
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            rows.push(match validate_row(&columns, &refs, self.year) {
                RowOutcome::Blank => ImportRow::Blank,
                RowOutcome::Rejected(errs) => ImportRow::Rejected(
                    errs.into_iter()
                        .map(|e| ImportError {
                            line,
                            column: e.column.to_string(),
                            value: e.value,
                            reason_en: e.en,
                            reason_hi: e.hi,
                        })
                        .collect(),
                ),
                RowOutcome::Valid(v) => {
                    let unit = match v.booth_no {
                        Some(b) => UnitCode::booth(&self.state, v.ac_no, b),
                        None => UnitCode::ac(&self.state, v.ac_no),
                    };
                    let values = [
                        Column::AcNo,
                        Column::BoothNo,
                        Column::Wing,
                        Column::Mobile,
                        Column::Epic,
                        Column::Name,
                    ]
                    .into_iter()
                    .map(|c| (c.as_str().to_string(), raw(&cells, c)))
                    .collect();
                    ImportRow::Enrol {
                        enrolment: Enrolment {
                            name: v.name,
                            mobile: v.mobile,
                            epic: v.epic,
                            gender: v.gender,
                            birth_year: v.birth_year,
                            address: v.address,
                            unit: unit.to_string(),
                            wing: v.wing.unwrap_or_else(|| self.default_wing.clone()),
                        },
                        ctx: EnrolContext {
                            actor: self.actor.clone(),
                            channel: self.channel.clone(),
                            at: clock::now(),
                            scope: self.scope.clone(),
                            consent: None,
                            audit: None,
                        },
                        values,
                        verified: self.verified,
                    }
                }
            });
            if rows.len() >= batch {
                if self.grow {
                    batch = load_batch(seen);
                }
                let full = std::mem::replace(&mut rows, Vec::with_capacity(batch));
                if tx.blocking_send(Ok(Batch { first_line, rows: full, seen })).is_err() {
                    return;
                }
            }
        }
        if !rows.is_empty() {
            let _ = tx.blocking_send(Ok(Batch { first_line, rows, seen }));
        }
    }
}

fn add(t: &mut ImportStats, b: ImportStats) {
    t.rows += b.rows;
    t.blank += b.blank;
    t.created_people += b.created_people;
    t.created_memberships += b.created_memberships;
    t.duplicates += b.duplicates;
    t.rejected += b.rejected;
}

/// The error report: one line per rejected field, numbered as a spreadsheet shows the row.
pub fn write_errors(out: &Path, errors: &[ImportError]) -> anyhow::Result<()> {
    let mut r = ErrorReport::create(out)?;
    r.write(errors)?;
    r.finish()
}

/// The error report written as it comes (a dry run's, batch by batch).
struct ErrorReport {
    w: csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl ErrorReport {
    fn create(out: &Path) -> anyhow::Result<ErrorReport> {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(out)
                .with_context(|| format!("cannot write {}", out.display()))?,
        );
        std::io::Write::write_all(&mut f, "\u{feff}".as_bytes())?;
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(f);
        w.write_record(["row", "column", "value", "reason", "कारण"])?;
        Ok(ErrorReport { w })
    }

    fn write(&mut self, errors: &[ImportError]) -> anyhow::Result<()> {
        for e in errors {
            self.w.write_record([
                e.line.to_string(),
                e.column.clone(),
                crate::export::escape_cell(&e.value).into_owned(),
                e.reason_en.clone(),
                e.reason_hi.clone(),
            ])?;
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        self.w.flush()?; // the file's buffer too
        Ok(())
    }
}

/// Export a unit's memberships page by page into a CSV or XLSX file; returns the rows written.
pub async fn export_members(
    store: &DynStore,
    unit: &str,
    wings: &sangathan_core::access::Wings,
    format: Format,
    out: &Path,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> anyhow::Result<u64> {
    if store.unit(unit).await?.is_none() {
        return Err(anyhow!("unknown unit: {unit}"));
    }
    let mut x = Exporter::create(out, format)?;
    let mut n = 0u64;
    let mut after = 0i64;
    loop {
        let page = store
            .export_page(unit, wings, after, 10_000)
            .await?
            .unwrap_or_default();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, row) in &page {
            x.write(row)?;
        }
        n += page.len() as u64;
        progress(n);
    }
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_loads_batches_grow_with_the_rows_loaded() {
        // nextest runs each test in a process of its own; the override is read at every call.
        if std::env::var_os("SANGATHAN_IMPORT_BATCH").is_some() {
            assert_eq!(load_batch(0), load_batch(50_000_000));
            return;
        }
        assert_eq!(load_batch(0), LOAD_BATCH);
        assert_eq!(load_batch(799_999), LOAD_BATCH);
        assert_eq!(load_batch(1_600_000), 200_000);
        assert_eq!(load_batch(8_000_000), LOAD_BATCH_MAX);
        assert_eq!(load_batch(18_100_000), LOAD_BATCH_MAX);
        // 18.1 M rows in a few dozen batches, not 181.
        let (mut done, mut batches) = (0u64, 0);
        while done < 18_100_000 {
            done += load_batch(done) as u64;
            batches += 1;
        }
        assert!((30..=45).contains(&batches), "{batches} batches");
    }
}
