//! Meeting pages: one meeting (with its report, its way up the chain and, for the one it waits
//! for, Acknowledge and Return), the report form (which also works with no connection, through
//! the outbox in `report.js`), the reports waiting for me, and a unit's weekly compliance.
//!
//! Access is the API's: `routes::meetings::meeting_seen` (a venue in scope, or my own meeting as
//! chair or organiser) and `routes::units::scope_at`; those on a report's route may read it.

use super::i18n::{Lang, indian};
use super::pages::message_of;
use super::{Chrome, PageCaller, PageError, html};
use crate::AppState;
use crate::audit::AuditNote;
use crate::error::ApiError;
use crate::routes::meetings::{meeting_seen, notice};
use crate::routes::units::scope_at;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sangathan_core::access::Action;
use sangathan_store::clock;
use sangathan_store::meetings::{ComplianceRow, MeetingView, NewReport, ReportView};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

/// A date as the pages show it.
fn day(d: NaiveDate) -> String {
    d.format("%d-%m-%Y").to_string()
}

/// A moment in Indian time (UTC+5:30).
fn ist(t: DateTime<Utc>) -> String {
    (t + Duration::minutes(330))
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

/// The Monday of the ISO week holding `d`.
fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn kind_name(lang: Lang, kind: &str) -> String {
    match sangathan_core::meetings::Kind::parse(kind) {
        Ok(k) => lang.t(&format!("meeting-kind-{}", k.code())),
        Err(_) => kind.to_string(),
    }
}

fn venue_name(lang: Lang, m: &MeetingView) -> String {
    match &m.venue_name {
        Some(en) => lang.pick(en, m.venue_name_hi.as_deref()).to_string(),
        None => lang.t("meeting-no-venue"),
    }
}

/// A message for a code the store keeps (`prefix-code`), or the code itself when unknown.
fn coded(lang: Lang, prefix: &str, code: &str, known: &[&str]) -> String {
    if known.contains(&code) {
        lang.t(&format!("{prefix}-{code}"))
    } else {
        code.to_string()
    }
}

fn report_status(lang: Lang, code: &str) -> String {
    coded(
        lang,
        "report-status",
        code,
        &["none", "filed", "returned", "acknowledged"],
    )
}

fn timing(lang: Lang, code: &str) -> String {
    coded(lang, "timing", code, &["on_time", "late"])
}

/// One meeting in a list.
pub struct MeetingLine {
    pub id: i64,
    pub date: String,
    pub time: String,
    pub venue: String,
    pub kind: String,
    pub report: String,
    pub cancelled: bool,
}

impl MeetingLine {
    pub fn of(m: &MeetingView, lang: Lang) -> MeetingLine {
        MeetingLine {
            id: m.id,
            date: day(m.date),
            time: m.time.clone(),
            venue: venue_name(lang, m),
            kind: kind_name(lang, &m.kind),
            report: report_status(lang, &m.report),
            cancelled: m.status == "cancelled",
        }
    }
}

/// What I answer for, on the home page: the unit, what of it, its drive's progress and the
/// reports missing there this week and last.
pub struct ChargeLine {
    pub unit: String,
    pub name: String,
    pub what: String,
    pub progress: String,
    pub missing: String,
    pub behind: bool,
}

/// For the home page: how many reports (and requests to preside) wait for me, my meetings
/// (chair or organiser) from a week ago to a month ahead, and what I answer for.
pub async fn home_lines(
    pc: &PageCaller,
    state: &AppState,
) -> Result<(usize, Vec<MeetingLine>, Vec<ChargeLine>), ApiError> {
    let Some(me) = pc.caller.actor.person_id else {
        return Ok((0, Vec::new(), Vec::new()));
    };
    let lang = pc.lang;
    let waiting = state.store.inbox(me).await?.len() + state.store.requests_for(me).await?.len();
    let today = clock::today();
    let mine = state
        .store
        .meetings_of_person(me, today - Duration::days(7), today + Duration::days(30))
        .await?
        .iter()
        .map(|m| MeetingLine::of(m, lang))
        .collect();
    let now = clock::now();
    let mut charges = Vec::new();
    for ch in state.store.charges_of(me).await? {
        let progress = match state.store.progress(&ch.unit, None, today).await? {
            Some(p) => format!(
                "{} / {} ({:.1}%)",
                indian(p.unit.achieved),
                indian(p.unit.target),
                p.unit.percent
            ),
            None => String::new(),
        };
        let mut missing = 0;
        for monday in [monday_of(today), monday_of(today) - Duration::days(7)] {
            if let Some(c) = state.store.compliance(&ch.unit, monday, now).await? {
                missing += c.unit.missing;
            }
        }
        charges.push(ChargeLine {
            name: lang
                .pick(&ch.unit_name, ch.unit_name_hi.as_deref())
                .to_string(),
            what: lang.t(if ch.what == "drive" {
                "charge-drive"
            } else {
                "charge-meetings"
            }),
            progress,
            missing: lang.ta("charge-missing", &[("n", missing.to_string())]),
            behind: missing > 0,
            unit: ch.unit,
        });
    }
    Ok((waiting, mine, charges))
}

// ---------------------------------------------------------------- inbox

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    c: Chrome,
    rows: Vec<InboxLine>,
    /// Requests to preside waiting for my answer.
    asks: Vec<AskLine>,
}

pub struct AskLine {
    pub m: MeetingLine,
    pub due: String,
}

pub struct InboxLine {
    pub m: MeetingLine,
    pub level: String,
    pub filed: String,
    pub timing: String,
    pub late: bool,
}

/// Reports waiting for me, oldest first.
pub async fn inbox(pc: PageCaller, State(state): State<AppState>) -> PageResult {
    let me = pc
        .caller
        .actor
        .person_id
        .ok_or_else(|| pc.err(ApiError::Forbidden))?;
    let lang = pc.lang;
    let rows = state
        .store
        .inbox(me)
        .await
        .map_err(|e| pc.err(e))?
        .iter()
        .map(|i| InboxLine {
            m: MeetingLine::of(&i.meeting, lang),
            level: lang.ta("report-level", &[("n", i.level.to_string())]),
            filed: ist(i.filed_at),
            timing: timing(lang, &i.timing),
            late: i.timing == "late",
        })
        .collect();
    let asks = state
        .store
        .requests_for(me)
        .await
        .map_err(|e| pc.err(e))?
        .iter()
        .map(|(m, r)| AskLine {
            m: MeetingLine::of(m, lang),
            due: ist(r.due_at),
        })
        .collect();
    let page = InboxPage {
        c: pc.chrome(lang.t("inbox-title")),
        rows,
        asks,
    };
    Ok(pc.respond(html(&page)))
}

/// Accept or decline a request to preside (from the inbox).
pub async fn answer_ask(
    pc: PageCaller,
    State(state): State<AppState>,
    Path((id, answer)): Path<(String, String)>,
    Form(f): Form<ActForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let accept = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(pc.err(ApiError::NotFound)),
    };
    let me = pc
        .caller
        .actor
        .person_id
        .ok_or_else(|| pc.err(ApiError::Forbidden))?;
    state
        .store
        .answer_request(id, me, accept, clock::now())
        .await
        .map_err(|e| pc.err(ApiError::from(e)))?;
    let action = if accept {
        "accept-chair"
    } else {
        "decline-chair"
    };
    let res = Redirect::to("/reports/inbox");
    Ok(pc.respond(AuditNote::new(action, Some(format!("meeting:{id}"))).on(res)))
}

// ---------------------------------------------------------------- one meeting

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    c: Chrome,
    m: MeetingView,
    date: String,
    kind: String,
    venue: String,
    wing: String,
    status: String,
    why: String,
    due: String,
    whatsapp: String,
    /// A WhatsApp link sharing the filed report's summary.
    report_whatsapp: Option<String>,
    report: Option<ReportShown>,
    /// The report waits for me: Acknowledge and Return.
    waiting: bool,
    /// I may file (or correct) the report.
    may_file: bool,
    note: Option<String>,
    comment: String,
    comment_error: String,
}

impl MeetingPage {
    pub fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("—")
    }
}

/// A filed report as the meeting page shows it.
pub struct ReportShown {
    pub held: bool,
    pub reason: String,
    pub attendance: String,
    pub employees_met: String,
    pub new_supporters: String,
    pub new_members: String,
    pub agenda: String,
    pub issues: String,
    pub notes: String,
    pub filed_at: String,
    pub first_filed_at: String,
    pub timing: String,
    pub late: bool,
    pub status: String,
    pub status_code: String,
    pub revision: u32,
    /// What the reviewer asked to correct, while it is back with the filer.
    pub returned: Option<String>,
    pub route: Vec<StepLine>,
}

pub struct StepLine {
    pub revision: u32,
    pub level: String,
    pub unit: String,
    pub name: String,
    pub state: String,
    pub state_code: String,
    pub comment: String,
    pub when: String,
}

/// The returned report's comment (the latest return of its current revision).
fn returned_comment(r: &ReportView) -> Option<String> {
    if r.status != "returned" {
        return None;
    }
    r.route
        .iter()
        .rev()
        .find(|s| s.state == "returned" && s.revision == r.revision)
        .map(|s| s.comment.clone().unwrap_or_default())
}

/// Does the report wait for `me` now?
fn waits_for(r: &ReportView, me: Option<i64>) -> bool {
    r.status == "filed"
        && me.is_some_and(|me| {
            r.route.iter().any(|s| {
                s.person_id == me
                    && s.state == "waiting"
                    && s.level == r.level
                    && s.revision == r.revision
            })
        })
}

async fn report_shown(
    state: &AppState,
    lang: Lang,
    r: &ReportView,
) -> Result<ReportShown, ApiError> {
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut route = Vec::with_capacity(r.route.len());
    for s in &r.route {
        if !names.contains_key(&s.unit) {
            let name = match state.store.unit(&s.unit).await? {
                Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
                None => s.unit.clone(),
            };
            names.insert(s.unit.clone(), name);
        }
        route.push(StepLine {
            revision: s.revision,
            level: lang.ta("report-level", &[("n", s.level.to_string())]),
            unit: names[&s.unit].clone(),
            name: s.name.clone(),
            state: coded(
                lang,
                "step",
                &s.state,
                &[
                    "waiting",
                    "acknowledged",
                    "returned",
                    "skipped",
                    "superseded",
                    "answered",
                ],
            ),
            state_code: s.state.clone(),
            comment: s.comment.clone().unwrap_or_default(),
            when: s.acted_at.map(ist).unwrap_or_default(),
        });
    }
    let n = |v: u32| indian(i64::from(v));
    Ok(ReportShown {
        held: r.report.held,
        reason: r.report.reason.clone().unwrap_or_default(),
        attendance: n(r.report.attendance),
        employees_met: n(r.report.employees_met),
        new_supporters: n(r.report.new_supporters),
        new_members: n(r.report.new_members),
        agenda: r.report.agenda.clone(),
        issues: r.report.issues.clone(),
        notes: r.report.notes.clone(),
        filed_at: ist(r.filed_at),
        first_filed_at: ist(r.first_filed_at),
        timing: timing(lang, &r.timing),
        late: r.timing == "late",
        status: report_status(lang, &r.status),
        status_code: r.status.clone(),
        revision: r.revision,
        returned: returned_comment(r),
        route,
    })
}

/// A meeting the caller may see (the API's rule), or one whose report climbs through them.
async fn meeting_and_report(
    pc: &PageCaller,
    state: &AppState,
    id: i64,
) -> Result<(MeetingView, Option<ReportView>), ApiError> {
    let report = state.store.report(id).await?;
    match meeting_seen(&pc.caller, state, id, Action::ViewMeetings).await {
        Ok(m) => Ok((m, report)),
        Err(e) => {
            let me = pc.caller.actor.person_id;
            let on_route = report
                .as_ref()
                .is_some_and(|r| r.route.iter().any(|s| Some(s.person_id) == me));
            if me.is_some() && on_route {
                let m = state.store.meeting(id).await?.ok_or(ApiError::NotFound)?;
                Ok((m, report))
            } else {
                Err(e)
            }
        }
    }
}

/// May the caller file this meeting's report now?
async fn may_file(
    pc: &PageCaller,
    state: &AppState,
    m: &MeetingView,
    r: Option<&ReportView>,
) -> bool {
    m.status == "planned"
        && m.venue.is_some()
        && r.is_none_or(|r| r.status != "acknowledged")
        && meeting_seen(&pc.caller, state, m.id, Action::FileReport)
            .await
            .is_ok()
}

async fn meeting_page_with(
    pc: &PageCaller,
    state: &AppState,
    id: i64,
    note: Option<String>,
    comment: String,
    comment_error: String,
) -> PageResult {
    let lang = pc.lang;
    let (m, report) = meeting_and_report(pc, state, id)
        .await
        .map_err(|e| pc.err(e))?;
    let wings = super::wing_names(state, lang)
        .await
        .map_err(|e| pc.err(e))?;
    let shown = match &report {
        Some(r) => Some(report_shown(state, lang, r).await.map_err(|e| pc.err(e))?),
        None => None,
    };
    let waiting = report
        .as_ref()
        .is_some_and(|r| waits_for(r, pc.caller.actor.person_id));
    let may_file = may_file(pc, state, &m, report.as_ref()).await;
    let report_whatsapp = crate::routes::meetings::report_share(state, &m, report.as_ref())
        .await
        .map_err(|e| pc.err(e))?
        .map(|(_, link)| link);
    let kind = kind_name(lang, &m.kind);
    let date = day(m.date);
    let status = if comment_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = MeetingPage {
        c: pc.chrome(format!("{kind}, {date}")),
        date,
        venue: venue_name(lang, &m),
        wing: wings
            .get(&m.wing)
            .cloned()
            .unwrap_or_else(|| m.wing.clone()),
        status: coded(lang, "meeting-status", &m.status, &["planned", "cancelled"]),
        why: lang.pick(&m.why, Some(&m.why_hi)).to_string(),
        due: ist(m.report_due),
        whatsapp: crate::notify::whatsapp_share(&notice(&m)),
        report_whatsapp,
        kind,
        report: shown,
        waiting,
        may_file,
        note,
        comment,
        comment_error,
        m,
    };
    let mut res = html(&page);
    *res.status_mut() = status;
    Ok(pc.respond(res))
}

#[derive(Debug, Default, Deserialize)]
pub struct NoteQuery {
    filed: Option<String>,
    acted: Option<String>,
}

pub async fn meeting(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let note = match (q.filed.is_some(), q.acted.as_deref()) {
        (true, _) => Some(pc.lang.t("report-filed")),
        (_, Some("ack")) => Some(pc.lang.t("report-acked")),
        (_, Some("ret")) => Some(pc.lang.t("report-returned-done")),
        _ => None,
    };
    meeting_page_with(&pc, &state, id, note, String::new(), String::new()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    comment: Option<String>,
}

/// Acknowledge (it climbs on) or return (back to the filer, with what to correct) a report
/// waiting for me; the store refuses one that does not wait for me.
async fn act(pc: PageCaller, state: AppState, id: String, ack: bool, f: ActForm) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let lang = pc.lang;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let me = pc
        .caller
        .actor
        .person_id
        .ok_or_else(|| pc.err(ApiError::Forbidden))?;
    let typed = f.comment.clone().unwrap_or_default();
    let comment = f
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if !ack && comment.is_none() {
        return meeting_page_with(&pc, &state, id, None, typed, lang.t("err-comment")).await;
    }
    match state
        .store
        .act_on_report(id, me, ack, comment, clock::now())
        .await
    {
        Ok(_) => {
            let (action, to) = if ack {
                ("acknowledge-report", "ack")
            } else {
                ("return-report", "ret")
            };
            let res = Redirect::to(&format!("/meetings/{id}?acted={to}"));
            Ok(pc.respond(AuditNote::new(action, Some(format!("meeting:{id}"))).on(res)))
        }
        Err(e) => match ApiError::from(e) {
            ApiError::Invalid(inv) => {
                let msg = inv
                    .0
                    .into_iter()
                    .map(|e| match lang {
                        Lang::Hi => e.hi,
                        Lang::En => e.en,
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                meeting_page_with(&pc, &state, id, None, typed, msg).await
            }
            // Answered meanwhile (by another at this level), or never waiting for me.
            ApiError::Conflict(_) => {
                let note = Some(lang.t("report-not-waiting"));
                let mut res =
                    meeting_page_with(&pc, &state, id, note, String::new(), String::new()).await?;
                *res.status_mut() = StatusCode::CONFLICT;
                Ok(res)
            }
            other => Err(pc.err(other)),
        },
    }
}

pub async fn acknowledge(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> PageResult {
    act(pc, state, id, true, f).await
}

pub async fn return_report(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> PageResult {
    act(pc, state, id, false, f).await
}

// ---------------------------------------------------------------- the report form

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    c: Chrome,
    id: i64,
    /// The filer: the offline outbox keeps each person's reports apart.
    person: i64,
    kind: String,
    date: String,
    time: String,
    venue: String,
    form: ReportForm,
    errors: Vec<(String, String)>,
    /// What the reviewer asked to correct.
    returned: Option<String>,
    /// Why no report can be filed now (acknowledged, cancelled).
    closed: Option<String>,
    /// The meeting's photos (their numbers), and "n of 3".
    photos: Vec<u32>,
    photos_count: String,
    /// Room for another photo.
    photo_room: bool,
    /// A photo was just added.
    photo_note: Option<String>,
    photo_error: String,
}

impl ReportPage {
    pub fn err(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.errors.iter().any(|(f, _)| f == field) {
            "true"
        } else {
            "false"
        }
    }
    pub fn held_is(&self, v: &str) -> bool {
        self.form.held.as_deref() == Some(v)
    }
    pub fn v<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReportForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// `yes` or `no`.
    held: Option<String>,
    reason: Option<String>,
    attendance: Option<String>,
    employees_met: Option<String>,
    new_supporters: Option<String>,
    new_members: Option<String>,
    agenda: Option<String>,
    issues: Option<String>,
    notes: Option<String>,
}

impl ReportForm {
    fn of(r: &NewReport) -> ReportForm {
        let n = |v: u32| Some(v.to_string());
        ReportForm {
            csrf: None,
            held: Some(if r.held { "yes" } else { "no" }.into()),
            reason: r.reason.clone(),
            attendance: n(r.attendance),
            employees_met: n(r.employees_met),
            new_supporters: n(r.new_supporters),
            new_members: n(r.new_members),
            agenda: Some(r.agenda.clone()),
            issues: Some(r.issues.clone()),
            notes: Some(r.notes.clone()),
        }
    }

    /// The report, or each field's reason in the reader's language. Text is trimmed as the
    /// page's script trims it, so that the same report sent either way is the same report.
    fn parse(&self, lang: Lang) -> Result<NewReport, Vec<(String, String)>> {
        let mut errors: Vec<(String, String)> = Vec::new();
        let held = match self.held.as_deref() {
            Some("yes") => true,
            Some("no") => false,
            _ => {
                errors.push(("held".into(), lang.t("err-held")));
                true
            }
        };
        let mut count = |field: &str, v: &Option<String>| -> u32 {
            let s: String = v
                .as_deref()
                .unwrap_or("")
                .trim()
                .chars()
                .map(sangathan_core::ids::ascii_digit)
                .collect();
            if s.is_empty() {
                return 0;
            }
            match s.parse::<u32>() {
                Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    errors.push((field.into(), lang.t("err-count")));
                    0
                }
            }
        };
        let attendance = count("attendance", &self.attendance);
        let employees_met = count("employees_met", &self.employees_met);
        let new_supporters = count("new_supporters", &self.new_supporters);
        let new_members = count("new_members", &self.new_members);
        let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
        let reason = Some(text(&self.reason)).filter(|r| !r.is_empty() && !held);
        if self.held.as_deref() == Some("no") && reason.is_none() {
            errors.push(("reason".into(), lang.t("err-reason")));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewReport {
            held,
            reason,
            attendance,
            employees_met,
            new_supporters,
            new_members,
            agenda: text(&self.agenda),
            issues: text(&self.issues),
            notes: text(&self.notes),
            // The form does not edit linked members; `report_submit` keeps those on file.
            present: None,
            enrolled: None,
        })
    }
}

async fn report_page_with(
    pc: &PageCaller,
    state: &AppState,
    m: &MeetingView,
    form: Option<ReportForm>,
    errors: Vec<(String, String)>,
) -> PageResult {
    report_page_full(pc, state, m, form, errors, None, String::new()).await
}

async fn report_page_full(
    pc: &PageCaller,
    state: &AppState,
    m: &MeetingView,
    form: Option<ReportForm>,
    errors: Vec<(String, String)>,
    photo_note: Option<String>,
    photo_error: String,
) -> PageResult {
    let lang = pc.lang;
    let report = state.store.report(m.id).await.map_err(|e| pc.err(e))?;
    let closed = if m.status == "cancelled" || m.venue.is_none() {
        Some(lang.t("report-closed-cancelled"))
    } else if report.as_ref().is_some_and(|r| r.status == "acknowledged") {
        Some(lang.t("report-closed-ack"))
    } else {
        None
    };
    let form = form.unwrap_or_else(|| {
        report
            .as_ref()
            .map(|r| ReportForm::of(&r.report))
            .unwrap_or_default()
    });
    let mut c = pc.chrome(lang.t("report-title"));
    c.scripts = vec!["outbox.js", "report.js"];
    let status = if errors.is_empty() && photo_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let photos: Vec<u32> = state
        .store
        .photos(m.id)
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|p| p.n)
        .collect();
    let max = sangathan_core::meetings::PHOTOS_PER_MEETING;
    let page = ReportPage {
        // (The message says three: PHOTOS_PER_MEETING.)
        photos_count: lang.ta("photo-count", &[("n", photos.len().to_string())]),
        photo_room: photos.len() < max as usize,
        photos,
        photo_note,
        photo_error,
        c,
        id: m.id,
        person: pc.caller.actor.person_id.unwrap_or_default(),
        kind: kind_name(lang, &m.kind),
        date: day(m.date),
        time: m.time.clone(),
        venue: venue_name(lang, m),
        form,
        errors,
        returned: report.as_ref().and_then(returned_comment),
        closed,
    };
    let mut res = html(&page);
    *res.status_mut() = status;
    Ok(pc.respond(res))
}

/// The report form: for those who may file (the API's rule: FileReport at the venue, or the
/// meeting's chair or organiser). Its page carries no names, so the phone may keep it offline.
pub async fn report_page(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PhotoQuery>,
) -> PageResult {
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = meeting_seen(&pc.caller, &state, id, Action::FileReport)
        .await
        .map_err(|e| pc.err(e))?;
    let note = q.photo.is_some().then(|| pc.lang.t("photo-added"));
    report_page_full(&pc, &state, &m, None, Vec::new(), note, String::new()).await
}

/// The largest photo form post: a phone's photo of a few MB is read only as far as needed to
/// refuse it (past 512 KB) with a message on the form, not an error page.
pub const PHOTO_UPLOAD_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
pub struct PhotoQuery {
    photo: Option<String>,
}

/// A photo of the meeting from the report page (a plain form: it needs a connection), by the
/// API's rules (those who may file the report; JPEG, PNG or WebP, at most 512 KB, three per
/// meeting), into the first free place.
pub async fn report_photo(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    mut form: axum::extract::Multipart,
) -> PageResult {
    use sangathan_core::meetings::PHOTO_MAX_BYTES;
    let lang = pc.lang;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = meeting_seen(&pc.caller, &state, id, Action::FileReport)
        .await
        .map_err(|e| pc.err(e))?;
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            pc.err(ApiError::PayloadTooLarge)
        } else {
            pc.err(ApiError::InvalidJson(format!(
                "the upload did not arrive whole: {e}"
            )))
        }
    };
    let mut csrf = String::new();
    let mut photo: Option<Vec<u8>> = None;
    while let Some(mut field) = form.next_field().await.map_err(broken)? {
        match field.name().unwrap_or("") {
            "_csrf" => csrf = field.text().await.unwrap_or_default(),
            "photo" => {
                // The form's token comes first: nothing is read for a forged post.
                pc.check_csrf(&csrf)?;
                // One byte past the limit is enough to refuse it.
                let mut buf = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(broken)? {
                    let room = PHOTO_MAX_BYTES + 1 - buf.len();
                    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if buf.len() > PHOTO_MAX_BYTES {
                        break;
                    }
                }
                photo = Some(buf);
            }
            _ => {}
        }
    }
    pc.check_csrf(&csrf)?;
    let closed = m.status != "planned" || m.venue.is_none();
    let refuse = |msg: String| async {
        report_page_full(&pc, &state, &m, None, Vec::new(), None, msg).await
    };
    if closed {
        return refuse(lang.t("report-closed-cancelled")).await;
    }
    let Some(bytes) = photo.filter(|b| !b.is_empty()) else {
        return refuse(lang.t("photo-none")).await;
    };
    // The free place is chosen where the photo is written: two uploads at once take two places.
    match state
        .store
        .add_photo(m.id, &bytes, &pc.caller.actor.id)
        .await
        .map_err(ApiError::from)
    {
        Ok(info) => {
            let n = info.n;
            let res = Redirect::to(&format!("/meetings/{}/report?photo={n}", m.id));
            Ok(pc.respond(
                AuditNote::new("put-photo", Some(format!("meeting:{} photo {n}", m.id))).on(res),
            ))
        }
        Err(ApiError::Invalid(inv)) if inv.code() == "photos_full" => {
            refuse(lang.t("photo-full")).await
        }
        Err(ApiError::Invalid(inv)) => {
            let msg = inv
                .0
                .into_iter()
                .map(|e| match lang {
                    Lang::Hi => e.hi,
                    Lang::En => e.en,
                })
                .collect::<Vec<_>>()
                .join("; ");
            refuse(msg).await
        }
        Err(e) => Err(pc.err(e)),
    }
}

/// The report form posted without JavaScript (with it, the page sends the report to the API
/// through the outbox). Filing the same report again changes nothing.
pub async fn report_submit(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ReportForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let lang = pc.lang;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = meeting_seen(&pc.caller, &state, id, Action::FileReport)
        .await
        .map_err(|e| pc.err(e))?;
    let body = match f.parse(lang) {
        Ok(b) => b,
        Err(errors) => return report_page_with(&pc, &state, &m, Some(f), errors).await,
    };

    match state
        .store
        .file_report(m.id, &body, &pc.caller.actor.id, clock::now())
        .await
    {
        Ok(_) => {
            let res = Redirect::to(&format!("/meetings/{}?filed=1", m.id));
            Ok(
                pc.respond(
                    AuditNote::new("file-report", Some(format!("meeting:{}", m.id))).on(res),
                ),
            )
        }
        Err(e) => {
            let errors = match ApiError::from(e) {
                // Acknowledged or cancelled meanwhile: the page says which, with no form.
                ApiError::Conflict(_) => {
                    let mut res = report_page_with(&pc, &state, &m, Some(f), Vec::new()).await?;
                    *res.status_mut() = StatusCode::CONFLICT;
                    return Ok(res);
                }
                ApiError::Invalid(inv) => inv
                    .0
                    .into_iter()
                    .map(|e| {
                        let msg = match lang {
                            Lang::Hi => e.hi,
                            Lang::En => e.en,
                        };
                        let known = [
                            "held",
                            "reason",
                            "attendance",
                            "employees_met",
                            "new_supporters",
                            "new_members",
                            "agenda",
                            "issues",
                            "notes",
                        ];
                        (
                            if known.contains(&e.field.as_str()) {
                                e.field
                            } else {
                                "form".to_string()
                            },
                            msg,
                        )
                    })
                    .collect(),
                other => vec![("form".to_string(), message_of(&other, lang))],
            };
            report_page_with(&pc, &state, &m, Some(f), errors).await
        }
    }
}

// ---------------------------------------------------------------- compliance

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    c: Chrome,
    unit: ComplianceLine,
    rows: Vec<ComplianceLine>,
    week: String,
    span: String,
    prev: String,
    next: String,
}

pub struct ComplianceLine {
    pub code: String,
    pub name: String,
    pub planned: String,
    pub held: String,
    pub not_held: String,
    pub on_time: String,
    pub late: String,
    pub missing: String,
    pub behind: bool,
}

impl ComplianceLine {
    fn of(r: &ComplianceRow, lang: Lang) -> ComplianceLine {
        ComplianceLine {
            code: r.code.clone(),
            name: lang.pick(&r.name, r.name_hi.as_deref()).to_string(),
            planned: indian(r.planned),
            held: indian(r.held),
            not_held: indian(r.not_held),
            on_time: indian(r.on_time),
            late: indian(r.late),
            missing: indian(r.missing),
            behind: r.missing > 0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
}

/// A unit and its children for one ISO week: planned, held, not held, reported on time, late,
/// missing.
pub async fn compliance(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<WeekQuery>,
) -> PageResult {
    pc.must_be_able(Action::ViewMeetings)?;
    let wings = scope_at(&pc.caller, &state, &code, Action::ViewMeetings)
        .await
        .map_err(|e| pc.err(e))?;
    let lang = pc.lang;
    let monday = match q.week.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => sangathan_core::meetings::parse_week(w).map_err(|e| pc.err(e))?,
        None => monday_of(clock::today()),
    };
    let c = state
        .store
        .compliance_in(&code, monday, clock::now(), &wings)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let unit = ComplianceLine::of(&c.unit, lang);
    let week = sangathan_core::meetings::week_code(monday);
    let page = CompliancePage {
        c: pc.chrome(lang.ta("compliance-title", &[("unit", unit.name.clone())])),
        span: lang.ta(
            "compliance-week",
            &[
                ("week", week.clone()),
                ("from", day(c.from)),
                ("to", day(c.to)),
            ],
        ),
        week,
        prev: sangathan_core::meetings::week_code(monday - Duration::days(7)),
        next: sangathan_core::meetings::week_code(monday + Duration::days(7)),
        rows: c
            .children
            .iter()
            .map(|r| ComplianceLine::of(r, lang))
            .collect(),
        unit,
    };
    Ok(pc.respond(html(&page)))
}

// ---------------------------------------------------------------- talking points

#[derive(Template)]
#[template(path = "points.html")]
struct PointsPage {
    c: Chrome,
    audience: String,
    rows: Vec<PointLine>,
}

pub struct PointLine {
    pub id: i64,
    pub title: String,
    pub text: String,
    pub tags: String,
    pub meta: String,
}

#[derive(Debug, Deserialize)]
pub struct PointsQuery {
    audience: Option<String>,
}

/// The talking-point library of my wings: published points in my language (the other one when a
/// point has only that), filtered by audience, most used first.
pub async fn points(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<PointsQuery>,
) -> PageResult {
    pc.must_be_able(Action::ViewMeetings)?;
    let lang = pc.lang;
    let audience = q.audience.unwrap_or_default().trim().to_string();
    let wings = pc.caller.scope.wings_for(Action::ViewMeetings);
    let rows = state
        .store
        .points(
            &wings,
            Some(audience.as_str()).filter(|a| !a.is_empty()),
            false,
        )
        .await
        .map_err(|e| pc.err(ApiError::from(e)))?
        .into_iter()
        .map(|p| {
            let (mine, other) = match lang {
                Lang::Hi => (&p.body_hi, &p.body_en),
                Lang::En => (&p.body_en, &p.body_hi),
            };
            PointLine {
                id: p.id,
                title: p.title.clone(),
                text: if mine.is_empty() {
                    other.clone()
                } else {
                    mine.clone()
                },
                tags: p.audience.join(", "),
                meta: lang.ta(
                    "points-meta",
                    &[("v", p.version.to_string()), ("n", p.uses.to_string())],
                ),
            }
        })
        .collect();
    let page = PointsPage {
        c: pc.chrome(lang.t("points-title")),
        audience,
        rows,
    };
    Ok(pc.respond(html(&page)))
}
