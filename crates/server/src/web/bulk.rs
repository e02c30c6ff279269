//! Import and export pages: a sheet uploaded from the browser is imported in the background
//! through the same code as `sangathan import members` (scope, identity rules and error report
//! included), with a status page that refreshes itself; an export of the caller's scope is
//! downloaded as CSV or XLSX.

use super::i18n::indian;
use super::{Chrome, PageCaller, PageError, html};
use crate::AppState;
use crate::audit::AuditNote;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sangathan_core::access::Action;
use sangathan_sheets::bulk::{self, ImportOptions};
use sangathan_sheets::export::Format;
use sangathan_store::ImportStats;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// The largest sheet accepted from the browser.
pub const UPLOAD_LIMIT: usize = 200 * 1024 * 1024;

/// Imports started from the browser, by id. Held by this process: with several app nodes, the
/// status page must be reached on the node that took the upload (see issue 9).
#[derive(Clone, Default)]
pub struct Jobs(Arc<Mutex<HashMap<String, Job>>>);

#[derive(Debug, Clone, Default)]
pub struct Job {
    pub owner: String,
    /// When it ended: the job (and its error report) is forgotten an hour later.
    pub ended: Option<std::time::Instant>,
    pub file: String,
    pub rows: u64,
    pub done: bool,
    pub failed: Option<String>,
    pub stats: Option<ImportStats>,
    pub warnings: Vec<String>,
    pub dir: Option<Arc<tempfile::TempDir>>,
}

/// How long a finished import's status and error report are kept.
const KEEP: std::time::Duration = std::time::Duration::from_secs(3600);

impl Jobs {
    /// Forgets the imports that ended more than [`KEEP`] ago (their temporary files go with
    /// them); says whether `owner` has one still running.
    fn sweep(&self, owner: &str) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return false;
        };
        m.retain(|_, j| j.ended.is_none_or(|t| t.elapsed() < KEEP));
        m.values().any(|j| j.owner == owner && !j.done)
    }
    fn get(&self, id: &str) -> Option<Job> {
        self.0.lock().ok()?.get(id).cloned()
    }
    fn update(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Ok(mut m) = self.0.lock()
            && let Some(j) = m.get_mut(id)
        {
            f(j);
        }
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    c: Chrome,
    job: Option<(String, Job)>,
    units: Vec<(String, String)>,
    error: Option<String>,
}

impl ImportPage {
    pub fn n(&self, v: &u64) -> String {
        indian(*v as i64)
    }
}

pub async fn import_page(
    pc: PageCaller,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    pc.must_be_able(Action::Import)?;
    let units = super::post_units(&pc, &state, Action::Export)
        .await
        .map_err(|e| pc.err(e))?;
    let c = pc.chrome(pc.lang.t("import-title"));
    Ok(pc.respond(html(&ImportPage {
        c,
        job: None,
        units,
        error: None,
    })))
}

fn new_id() -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the OS has randomness");
    hex::encode(b)
}

/// Takes the uploaded sheet (streamed to a private temporary file) and starts its import.
pub async fn import_upload(
    pc: PageCaller,
    State(state): State<AppState>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    pc.must_be_able(Action::Import)?;
    let lang = pc.lang;
    // One import at a time per person: a double tap does not start the file twice.
    if state.jobs.sweep(&pc.caller.actor.id) {
        return Err(pc.err(ApiError::Conflict(
            "an import of yours is still running: wait for it to finish".into(),
        )));
    }
    let dir = tempfile::tempdir().map_err(|_| pc.err(ApiError::Internal))?;
    let mut csrf = String::new();
    let mut wing = String::new();
    let mut file: Option<(String, std::path::PathBuf)> = None;
    // A broken or oversized upload is refused as a whole: nothing half-received is imported.
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            pc.err(ApiError::PayloadTooLarge)
        } else {
            pc.err(ApiError::InvalidJson(format!(
                "the upload did not arrive whole: {e}"
            )))
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(broken)? {
        match field.name().unwrap_or("") {
            "_csrf" => csrf = field.text().await.unwrap_or_default(),
            "wing" => wing = field.text().await.unwrap_or_default(),
            "file" => {
                // The form's token comes first: nothing is stored for a forged post.
                pc.check_csrf(&csrf)?;
                let name = field.file_name().unwrap_or("sheet").to_string();
                let ext = if name.to_ascii_lowercase().ends_with(".xlsx") {
                    "xlsx"
                } else {
                    "csv"
                };
                let path = dir.path().join(format!("upload.{ext}"));
                let mut out =
                    std::fs::File::create(&path).map_err(|_| pc.err(ApiError::Internal))?;
                while let Some(chunk) = field.chunk().await.map_err(broken)? {
                    out.write_all(&chunk)
                        .map_err(|_| pc.err(ApiError::Internal))?;
                }
                file = Some((name, path));
            }
            _ => {}
        }
    }
    pc.check_csrf(&csrf)?;
    let Some((name, path)) = file else {
        let units = super::post_units(&pc, &state, Action::Export)
            .await
            .map_err(|e| pc.err(e))?;
        let mut res = html(&ImportPage {
            c: pc.chrome(lang.t("import-title")),
            job: None,
            units,
            error: Some(lang.t("import-no-file")),
        });
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(pc.respond(res));
    };
    let id = new_id();
    let dir = Arc::new(dir);
    let job = Job {
        owner: pc.caller.actor.id.clone(),
        file: name.clone(),
        dir: Some(dir.clone()),
        ended: None,
        ..Default::default()
    };
    state
        .jobs
        .0
        .lock()
        .map_err(|_| pc.err(ApiError::Internal))?
        .insert(id.clone(), job);
    let (jobs, store, caller) = (state.jobs.clone(), state.store.clone(), pc.caller.clone());
    let job_id = id.clone();
    tokio::spawn(async move {
        let errors = dir.path().join("errors.csv");
        let wing = (!wing.trim().is_empty()).then_some(wing.trim().to_string());
        let (pj, wj) = (jobs.clone(), jobs.clone());
        let (pid, wid) = (job_id.clone(), job_id.clone());
        let progress = move |n: u64| pj.update(&pid, |j| j.rows = n);
        let warn = move |w: String| wj.update(&wid, |j| j.warnings.push(w));
        let opt = ImportOptions {
            wing: wing.as_deref(),
            dry_run: false,
            errors: Some(&errors),
            scope: (!caller.scope.is_state_admin()).then(|| caller.scope.clone()),
            actor: caller.actor.id.clone(),
            progress: &progress,
            warn: &warn,
            channel: "web-import",
            file_name: Some(&name),
            verified: false,
            batch: bulk::SERVER_BATCH,
            defer_indexes: None,
        };
        let result = bulk::import_members(&store, &path, opt).await;
        // The sheet itself is not kept; only the error report, for an hour.
        let _ = std::fs::remove_file(&path);
        jobs.update(&job_id, |j| {
            j.done = true;
            j.ended = Some(std::time::Instant::now());
            match result {
                Ok(stats) => {
                    j.rows = stats.rows;
                    j.stats = Some(stats);
                }
                Err(e) => j.failed = Some(e.to_string()),
            }
        });
    });
    let res = Redirect::to(&format!("/import/{id}"));
    Ok(pc.respond(AuditNote::new("import", Some(format!("upload:{id}"))).on(res)))
}

/// An import's job, if it is the caller's; anyone else's answers like one that does not exist.
fn own_job(pc: &PageCaller, state: &AppState, id: &str) -> Result<Job, PageError> {
    match state.jobs.get(id) {
        Some(j) if j.owner == pc.caller.actor.id => Ok(j),
        _ => Err(pc.err(ApiError::NotFound)),
    }
}

pub async fn import_status(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&pc, &state, &id)?;
    let c = pc.chrome(pc.lang.t("import-title"));
    Ok(pc.respond(html(&ImportPage {
        c,
        job: Some((id, job)),
        units: Vec::new(),
        error: None,
    })))
}

/// The rejected rows of an import: spreadsheet row, column, value, reason in English and Hindi.
pub async fn import_errors(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = own_job(&pc, &state, &id)?;
    let path = job
        .dir
        .as_ref()
        .map(|d| d.path().join("errors.csv"))
        .filter(|p| p.exists())
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let body = tokio::fs::read(&path)
        .await
        .map_err(|_| pc.err(ApiError::Internal))?;
    let res = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"import-errors.csv\""),
            ),
        ],
        body,
    );
    Ok(pc.respond(AuditNote::new("import-errors", Some(format!("upload:{id}"))).on(res)))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    unit: Option<String>,
    format: Option<String>,
}

/// The members of one of the caller's units (in the caller's wings), as a file.
pub async fn export(
    pc: PageCaller,
    State(state): State<AppState>,
    axum::Form(q): axum::Form<ExportForm>,
) -> Result<Response, PageError> {
    // A post with the session's token: another site cannot start exports in the user's name.
    pc.check_csrf(q.csrf.as_deref().unwrap_or(""))?;
    let unit = q.unit.unwrap_or_default();
    let place = state.store.place(&unit).await.map_err(|e| pc.err(e))?;
    let wings = pc
        .caller
        .wings_at(Action::Export, place.as_ref())
        .map_err(|e| pc.err(e))?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .unwrap_or(Format::Csv);
    let dir = tempfile::tempdir().map_err(|_| pc.err(ApiError::Internal))?;
    let ext = if format == Format::Xlsx {
        "xlsx"
    } else {
        "csv"
    };
    let path = dir.path().join(format!("export.{ext}"));
    bulk::export_members(&state.store, &unit, &wings, format, &path, &|_| {})
        .await
        .map_err(|_| pc.err(ApiError::Internal))?;
    // Streamed from the file (already unlinked with its directory when this returns: the open
    // handle keeps it readable, and nothing stays on disk).
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| pc.err(ApiError::Internal))?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mime = if format == Format::Xlsx {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else {
        "text/csv; charset=utf-8"
    };
    let code = unit.trim().to_ascii_uppercase();
    let disposition = format!("attachment; filename=\"members-{code}.{ext}\"");
    let res = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|_| pc.err(ApiError::NotFound))?,
            ),
        ],
        body,
    );
    let post = place
        .as_ref()
        .and_then(|p| pc.caller.post_for(Action::Export, p, None));
    Ok(pc.respond(
        AuditNote::new("export", Some(code))
            .post(post)
            .on(res.into_response()),
    ))
}
