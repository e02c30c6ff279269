//! Volunteer-force pages: a programme's roster (fill open places, add a duty), the check-in
//! scanner (camera where the browser can read QR codes, a typed code always; scans made with no
//! connection wait in the outbox, see `checkin.js`), my duties with my check-in QR code,
//! follow-up lists (a unit's and my own) and bulletins with their moderated comments.
//!
//! Access is the API's: `routes::volunteers::{programme_seen, reader_of, may_moderate,
//! bulletin_seen}` and `routes::units::scope_at`; every post is audited like the API's.

use super::i18n::{Lang, indian};
use super::pages::message_of;
use super::{Chrome, PageCaller, PageError, html};
use crate::AppState;
use crate::audit::AuditNote;
use crate::error::ApiError;
use crate::routes::units::scope_at;
use crate::routes::volunteers::{bulletin_seen, may_moderate, programme_seen, qr_svg, reader_of};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sangathan_core::access::Action;
use sangathan_core::volunteers as vt;
use sangathan_store::clock;
use sangathan_store::volunteers::{
    Bulletin, Followup, NewBulletin, NewDuty, NewProgramme, Programme,
};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

/// A moment in Indian time (UTC+5:30).
fn ist(t: DateTime<Utc>) -> String {
    (t + Duration::minutes(330))
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

/// Only the time of day, in Indian time.
fn ist_time(t: DateTime<Utc>) -> String {
    (t + Duration::minutes(330)).format("%H:%M").to_string()
}

/// A programme's window: "06-12-2026 10:00–14:00".
fn window(p: &Programme) -> String {
    if ist(p.starts_at)[..10] == ist(p.ends_at)[..10] {
        format!("{}–{}", ist(p.starts_at), ist_time(p.ends_at))
    } else {
        format!("{} – {}", ist(p.starts_at), ist(p.ends_at))
    }
}

/// A duty kind in the reader's language (the code itself when not a default kind).
fn duty_kind_name(lang: Lang, kind: &str) -> String {
    match vt::DUTY_KINDS.iter().find(|k| k.0 == kind) {
        Some((_, en, hi)) => match lang {
            Lang::Hi => (*hi).to_string(),
            Lang::En => (*en).to_string(),
        },
        None => kind.to_string(),
    }
}

fn outcome_name(lang: Lang, code: &str) -> String {
    match vt::FOLLOWUP_OUTCOMES.iter().find(|o| o.0 == code) {
        Some((_, en, hi)) => match lang {
            Lang::Hi => (*hi).to_string(),
            Lang::En => (*en).to_string(),
        },
        None => code.to_string(),
    }
}

fn status_name(lang: Lang, status: &str) -> String {
    match status {
        "asked" | "confirmed" | "declined" => lang.t(&format!("duty-status-{status}")),
        other => other.to_string(),
    }
}

/// The reason of a refused write in the reader's language.
fn refusal(e: ApiError, lang: Lang) -> Result<String, ApiError> {
    match e {
        ApiError::Invalid(_) | ApiError::Conflict(_) => Ok(message_of(&e, lang)),
        other => Err(other),
    }
}

fn me(pc: &PageCaller) -> Result<i64, PageError> {
    pc.caller
        .actor
        .person_id
        .ok_or_else(|| pc.err(ApiError::Forbidden))
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoteQuery {
    done: Option<String>,
}

/// The note a page shows after a post that succeeded (`?done=…`).
fn note_of(lang: Lang, q: &NoteQuery, known: &[&str]) -> Option<String> {
    q.done
        .as_deref()
        .filter(|d| known.contains(d))
        .map(|d| lang.t(&format!("vol-done-{d}")))
}

/// A page answered with 422 when it carries the reason a post was refused.
fn with_status(mut res: Response, error: &Option<String>) -> Response {
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

// ---------------------------------------------------------------- the roster

#[derive(Template)]
#[template(path = "programme.html")]
struct ProgrammePage {
    c: Chrome,
    p: Programme,
    when: String,
    totals: String,
    duties: Vec<DutyLine>,
    may_manage: bool,
    may_checkin: bool,
    kinds: Vec<(&'static str, String)>,
    note: Option<String>,
    error: Option<String>,
}

pub struct DutyLine {
    pub id: i64,
    pub label: String,
    pub kind: String,
    pub shift: String,
    pub leader: String,
    pub headcount: u32,
    pub filled: u32,
    pub confirmed: u32,
    pub gap: u32,
    pub people: Vec<PersonLine>,
}

pub struct PersonLine {
    pub name: String,
    pub status: String,
    pub status_code: String,
    pub checked_in: String,
}

async fn programme_page_with(
    pc: &PageCaller,
    state: &AppState,
    id: i64,
    note: Option<String>,
    error: Option<String>,
) -> PageResult {
    let lang = pc.lang;
    let p = programme_seen(&pc.caller, state, id, Action::ViewProgrammes)
        .await
        .map_err(|e| pc.err(e))?;
    let may_manage = programme_seen(&pc.caller, state, id, Action::ManageProgrammes)
        .await
        .is_ok();
    let may_checkin = programme_seen(&pc.caller, state, id, Action::CheckIn)
        .await
        .is_ok();
    let roster = state
        .store
        .roster(p.id)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let duties = roster
        .duties
        .iter()
        .map(|d| DutyLine {
            id: d.id,
            label: d.label.clone(),
            kind: duty_kind_name(lang, &d.kind),
            shift: format!("{}–{}", ist_time(d.starts_at), ist_time(d.ends_at)),
            leader: d.leader_name.clone().unwrap_or_default(),
            headcount: d.headcount,
            filled: d.filled,
            confirmed: d.confirmed,
            gap: d.gap,
            people: d
                .people
                .iter()
                .map(|a| PersonLine {
                    name: a.name.clone(),
                    status: status_name(lang, &a.status),
                    status_code: a.status.clone(),
                    checked_in: a.checked_in_at.map(ist_time).unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let page = ProgrammePage {
        c: pc.chrome(p.title.clone()),
        when: window(&p),
        totals: format!(
            "{} / {} · {}",
            indian(i64::from(p.filled)),
            indian(i64::from(p.places)),
            lang.ta(
                "programme-expected",
                &[("n", indian(i64::from(p.expected)))]
            )
        ),
        duties,
        may_manage,
        may_checkin,
        kinds: vt::DUTY_KINDS
            .iter()
            .map(|k| (k.0, duty_kind_name(lang, k.0)))
            .collect(),
        note,
        p,
        error: error.clone(),
    };
    let res = html(&page);
    Ok(pc.respond(
        AuditNote::new("view-roster", Some(format!("programme:{id}"))).on(with_status(res, &error)),
    ))
}

/// A programme's roster: each duty's headcount, places taken, confirmed, the gap, and who.
pub async fn programme(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let note = note_of(pc.lang, &q, &["filled", "added"]);
    programme_page_with(&pc, &state, id, note, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct DutyForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    kind: Option<String>,
    label: Option<String>,
    headcount: Option<String>,
}

/// Add a duty over the programme's whole window.
pub async fn add_duty(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<DutyForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let p = programme_seen(&pc.caller, &state, id, Action::ManageProgrammes)
        .await
        .map_err(|e| pc.err(e))?;
    let digits: String = f
        .headcount
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .collect();
    let Ok(headcount) = digits.parse::<u32>() else {
        let msg = pc.lang.t("err-headcount");
        return programme_page_with(&pc, &state, id, None, Some(msg)).await;
    };
    let duty = NewDuty {
        kind: f.kind.unwrap_or_default(),
        label: f.label.unwrap_or_default().trim().to_string(),
        starts_at: None,
        ends_at: None,
        headcount,
        leader: None,
    };
    match state.store.add_duty(p.id, &duty).await {
        Ok(d) => {
            let res = Redirect::to(&format!("/programmes/{}?done=added#duty-{}", p.id, d.id));
            Ok(pc.respond(AuditNote::new("add-duty", Some(format!("duty:{}", d.id))).on(res)))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            programme_page_with(&pc, &state, id, None, Some(msg)).await
        }
    }
}

/// Fill a duty's open places from the volunteer force within reach of the venue.
pub async fn fill_duty(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let d = state
        .store
        .duty(id)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let p = programme_seen(&pc.caller, &state, d.programme_id, Action::ManageProgrammes)
        .await
        .map_err(|e| pc.err(e))?;
    match state
        .store
        .assign(d.id, None, &pc.caller.actor.id, clock::now())
        .await
    {
        Ok(d) => {
            let res = Redirect::to(&format!("/programmes/{}?done=filled#duty-{}", p.id, d.id));
            Ok(pc.respond(AuditNote::new("assign-duty", Some(format!("duty:{}", d.id))).on(res)))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            programme_page_with(&pc, &state, p.id, None, Some(msg)).await
        }
    }
}

// ---------------------------------------------------------------- a new programme

#[derive(Template)]
#[template(path = "programme_new.html")]
struct NewProgrammePage {
    c: Chrome,
    /// Wings in which I may manage programmes: (code, name).
    wings: Vec<(String, String)>,
    /// Units where I hold a post that manages programmes: (code, name), for suggestions.
    units: Vec<(String, String)>,
    kinds: Vec<(&'static str, String)>,
    form: ProgrammeForm,
    /// Field errors: (field, message); "form" for the whole form.
    errors: Vec<(String, String)>,
}

impl NewProgrammePage {
    pub fn v<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
    pub fn chosen(&self, s: &Option<String>, v: &str) -> bool {
        s.as_deref() == Some(v)
    }
    pub fn err(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub fn bad(&self, field: &str) -> bool {
        self.errors.iter().any(|(f, _)| f == field)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProgrammeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    wing: Option<String>,
    unit: Option<String>,
    venue: Option<String>,
    title: Option<String>,
    kind: Option<String>,
    date: Option<String>,
    start: Option<String>,
    end: Option<String>,
    expected: Option<String>,
}

fn kind_name(lang: Lang, kind: &str) -> String {
    lang.t(&format!("programme-kind-{kind}"))
}

async fn new_programme_page(
    pc: &PageCaller,
    state: &AppState,
    mut form: ProgrammeForm,
    errors: Vec<(String, String)>,
) -> PageResult {
    let lang = pc.lang;
    let may = pc.caller.scope.wings_for(Action::ManageProgrammes);
    let wings: Vec<(String, String)> = state
        .store
        .wings()
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .filter(|w| may.contains(w.id))
        .map(|w| {
            let name = lang.pick(&w.name, Some(&w.name_hi)).to_string();
            (w.code, name)
        })
        .collect();
    let units = super::post_units(pc, state, Action::ManageProgrammes)
        .await
        .map_err(|e| pc.err(e))?;
    // A fresh form: the volunteer force's wing when I may manage there, my first unit.
    if form.wing.is_none() {
        form.wing = wings
            .iter()
            .find(|w| w.0 == "volunteers")
            .or(wings.first())
            .map(|w| w.0.clone());
    }
    if form.unit.is_none() {
        form.unit = units.first().map(|u| u.0.clone());
    }
    if form.kind.is_none() {
        form.kind = Some("event".into());
    }
    let page = NewProgrammePage {
        c: pc.chrome(lang.t("programme-new")),
        wings,
        units,
        kinds: vt::PROGRAMME_KINDS
            .iter()
            .map(|k| (*k, kind_name(lang, k)))
            .collect(),
        form,
        errors,
    };
    let mut res = html(&page);
    if !page.errors.is_empty() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(res))
}

/// The form for a new programme, for those who may manage programmes somewhere.
pub async fn new_programme(pc: PageCaller, State(state): State<AppState>) -> PageResult {
    pc.must_be_able(Action::ManageProgrammes)?;
    new_programme_page(&pc, &state, ProgrammeForm::default(), Vec::new()).await
}

/// Digits typed in either script.
fn ascii_digits(s: &str) -> String {
    s.trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .collect()
}

/// A day typed as the date picker sends it (2026-12-06) or as people write it (06-12-2026).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = ascii_digits(s).replace('/', "-").replace('.', "-");
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&s, "%d-%m-%Y"))
        .ok()
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = ascii_digits(s).replace('.', ":");
    NaiveTime::parse_from_str(&s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(&s, "%H:%M:%S"))
        .ok()
}

/// A moment in Indian time as UTC.
fn from_ist(day: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
    day.and_time(t)
        .and_local_timezone(clock::ist())
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// The field of the form a store's field error belongs to.
fn form_field(store_field: &str) -> &str {
    match store_field {
        "starts_at" => "start",
        "ends_at" => "end",
        "wing" | "unit" | "venue" | "title" | "kind" | "expected" => store_field,
        _ => "form",
    }
}

/// Create a programme (and its meeting), with the API's scope check: managing programmes at
/// the organising unit, in the wing.
pub async fn create_programme(
    pc: PageCaller,
    State(state): State<AppState>,
    Form(f): Form<ProgrammeForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    pc.must_be_able(Action::ManageProgrammes)?;
    let lang = pc.lang;
    let mut errors: Vec<(String, String)> = Vec::new();
    let day = parse_date(f.date.as_deref().unwrap_or(""));
    if day.is_none() {
        errors.push(("date".into(), lang.t("err-programme-date")));
    }
    let start = parse_time(f.start.as_deref().unwrap_or(""));
    if start.is_none() {
        errors.push(("start".into(), lang.t("err-programme-time")));
    }
    let end = parse_time(f.end.as_deref().unwrap_or(""));
    if end.is_none() {
        errors.push(("end".into(), lang.t("err-programme-time")));
    }
    let typed = ascii_digits(f.expected.as_deref().unwrap_or(""));
    let expected = if typed.is_empty() {
        Some(0)
    } else {
        typed.parse::<u32>().ok()
    };
    if expected.is_none() {
        errors.push(("expected".into(), lang.t("err-expected")));
    }
    let (starts_at, ends_at) = match (day, start, end) {
        (Some(d), Some(s), Some(e)) => match (from_ist(d, s), from_ist(d, e)) {
            (Some(s), Some(e)) => (s, e),
            _ => {
                errors.push(("start".into(), lang.t("err-programme-time")));
                (Utc::now(), Utc::now())
            }
        },
        _ => (Utc::now(), Utc::now()),
    };
    if !errors.is_empty() {
        return new_programme_page(&pc, &state, f, errors).await;
    }
    let unit = f.unit.as_deref().unwrap_or("").trim().to_uppercase();
    let wing = f.wing.as_deref().unwrap_or("").trim().to_string();
    // As the API: the organising unit in my scope for managing programmes, the wing one of mine
    // there (otherwise as if neither existed).
    let wings = scope_at(&pc.caller, &state, &unit, Action::ManageProgrammes)
        .await
        .map_err(|e| pc.err(e))?;
    crate::routes::meetings::in_wing(&state, &wings, &wing)
        .await
        .map_err(|e| pc.err(e))?;
    let body = NewProgramme {
        wing,
        unit,
        venue: f.venue.as_deref().unwrap_or("").trim().to_uppercase(),
        title: f.title.clone().unwrap_or_default(),
        kind: f.kind.clone().unwrap_or_else(|| "event".into()),
        starts_at,
        ends_at,
        expected: expected.unwrap_or_default(),
    };
    match state.store.add_programme(&body, &pc.caller.actor.id).await {
        Ok(p) => {
            let res = Redirect::to(&format!("/programmes/{}", p.id));
            Ok(pc.respond(
                AuditNote::new("add-programme", Some(format!("programme:{}", p.id))).on(res),
            ))
        }
        Err(e) => {
            let errors = match ApiError::from(e) {
                ApiError::Invalid(inv) => inv
                    .0
                    .into_iter()
                    .map(|e| {
                        let msg = match lang {
                            Lang::Hi => e.hi,
                            Lang::En => e.en,
                        };
                        (form_field(&e.field).to_string(), msg)
                    })
                    .collect(),
                e @ ApiError::Conflict(_) => vec![("form".to_string(), message_of(&e, lang))],
                other => return Err(pc.err(other)),
            };
            new_programme_page(&pc, &state, f, errors).await
        }
    }
}

// ---------------------------------------------------------------- check-in

#[derive(Template)]
#[template(path = "checkin.html")]
struct CheckinPage {
    c: Chrome,
    p: Programme,
    when: String,
    person: i64,
    may_view: bool,
}

/// The scanner: the camera where the browser reads QR codes, a typed code always. The page
/// names nobody (the programme and the venue only), so the phone keeps it for offline use.
pub async fn checkin_page(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let p = programme_seen(&pc.caller, &state, id, Action::CheckIn)
        .await
        .map_err(|e| pc.err(e))?;
    let may_view = programme_seen(&pc.caller, &state, id, Action::ViewProgrammes)
        .await
        .is_ok();
    let mut c = pc.chrome(pc.lang.t("checkin-title"));
    c.scripts = vec!["outbox.js", "checkin.js"];
    let page = CheckinPage {
        c,
        when: window(&p),
        person: pc.caller.actor.person_id.unwrap_or_default(),
        may_view,
        p,
    };
    Ok(pc.respond(html(&page)))
}

// ---------------------------------------------------------------- my duties

#[derive(Template)]
#[template(path = "duties.html")]
struct DutiesPage {
    c: Chrome,
    rows: Vec<MyDutyLine>,
    code: String,
    qr: String,
    note: Option<String>,
    error: Option<String>,
}

pub struct MyDutyLine {
    pub duty_id: i64,
    pub programme: String,
    pub venue: String,
    pub what: String,
    pub when: String,
    pub status: String,
    pub status_code: String,
}

async fn duties_page_with(
    pc: &PageCaller,
    state: &AppState,
    note: Option<String>,
    error: Option<String>,
) -> PageResult {
    let lang = pc.lang;
    let me = me(pc)?;
    let rows = state
        .store
        .my_duties(me, clock::now() - Duration::hours(12))
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|d| MyDutyLine {
            duty_id: d.duty_id,
            programme: d.programme,
            venue: d.venue,
            what: if d.label.is_empty() {
                duty_kind_name(lang, &d.kind)
            } else {
                format!("{} ({})", d.label, duty_kind_name(lang, &d.kind))
            },
            when: format!("{}–{}", ist(d.starts_at), ist_time(d.ends_at)),
            status: status_name(lang, &d.status),
            status_code: d.status,
        })
        .collect();
    let code = state.store.checkin_code(me).await.map_err(|e| pc.err(e))?;
    let page = DutiesPage {
        c: pc.chrome(lang.t("duties-title")),
        rows,
        qr: qr_svg(&vt::qr_payload(&code)),
        code,
        note,
        error: error.clone(),
    };
    Ok(pc.respond(with_status(html(&page), &error)))
}

/// My duties from today on, Confirm and Decline, and my check-in QR code with its code.
pub async fn duties(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let note = note_of(pc.lang, &q, &["confirmed", "declined"]);
    duties_page_with(&pc, &state, note, None).await
}

/// Confirm or decline my place on a duty.
pub async fn answer_duty(
    pc: PageCaller,
    State(state): State<AppState>,
    Path((id, answer)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let accept = match answer.as_str() {
        "confirm" => true,
        "decline" => false,
        _ => return Err(pc.err(ApiError::NotFound)),
    };
    let me = me(&pc)?;
    match state.store.answer_duty(id, me, accept, clock::now()).await {
        Ok(d) => {
            let (action, done) = if accept {
                ("confirm-duty", "confirmed")
            } else {
                ("decline-duty", "declined")
            };
            let res = Redirect::to(&format!("/duties?done={done}"));
            Ok(pc.respond(AuditNote::new(action, Some(format!("duty:{}", d.id))).on(res)))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            duties_page_with(&pc, &state, None, Some(msg)).await
        }
    }
}

// ---------------------------------------------------------------- follow-ups

#[derive(Template)]
#[template(path = "followups.html")]
struct FollowupsPage {
    c: Chrome,
    /// The unit whose list this is (None: my own list).
    unit: Option<(String, String)>,
    rows: Vec<FollowupLine>,
    outcomes: Vec<(&'static str, String)>,
    me: i64,
    note: Option<String>,
    error: Option<String>,
}

pub struct FollowupLine {
    pub id: i64,
    pub name: String,
    pub unit: String,
    pub assignee: String,
    pub last_active: String,
    pub outcome: String,
    pub outcome_code: String,
    pub next_step: String,
    pub note: String,
    pub whatsapp: String,
    pub call: String,
}

/// The ten-digit national number of a mobile kept as `+91…` (the links add the country code).
fn national(mobile: &Option<String>) -> Option<&str> {
    let m = mobile.as_deref()?.trim();
    let m = m.strip_prefix("+91").unwrap_or(m);
    (m.len() == 10 && m.bytes().all(|b| b.is_ascii_digit())).then_some(m)
}

impl FollowupLine {
    fn of(f: Followup, lang: Lang) -> FollowupLine {
        FollowupLine {
            id: f.id,
            name: f.name,
            unit: f.unit,
            assignee: f.assigned_name,
            last_active: f
                .last_active
                .map(|t| ist(t)[..10].to_string())
                .unwrap_or_else(|| lang.t("followup-never")),
            outcome: f
                .outcome
                .as_deref()
                .map(|o| outcome_name(lang, o))
                .unwrap_or_else(|| lang.t("followup-open")),
            outcome_code: f.outcome.unwrap_or_default(),
            next_step: f.next_step,
            note: f.note,
            whatsapp: national(&f.mobile)
                .map(vt::whatsapp_link)
                .unwrap_or_default(),
            call: national(&f.mobile).map(vt::call_link).unwrap_or_default(),
        }
    }
}

async fn followups_page_with(
    pc: &PageCaller,
    state: &AppState,
    unit: Option<&str>,
    note: Option<String>,
    error: Option<String>,
) -> PageResult {
    let lang = pc.lang;
    let (list, unit, audit) = match unit {
        Some(code) => {
            pc.must_be_able(Action::ManageFollowups)?;
            crate::routes::volunteers::followups_scope(&pc.caller, state, code)
                .await
                .map_err(|e| pc.err(e))?;
            let list = state
                .store
                .followups_within(code, false)
                .await
                .map_err(|e| pc.err(e))?
                .ok_or_else(|| pc.err(ApiError::NotFound))?;
            let u = state
                .store
                .unit(code)
                .await
                .map_err(|e| pc.err(e))?
                .ok_or_else(|| pc.err(ApiError::NotFound))?;
            let name = lang.pick(&u.name, u.name_hi.as_deref()).to_string();
            let audit = format!("unit:{}", u.code);
            (list, Some((u.code, name)), audit)
        }
        None => {
            let me = me(pc)?;
            let list = state.store.followups_of(me).await.map_err(|e| pc.err(e))?;
            (list, None, format!("assignee:{me}"))
        }
    };
    let title = match &unit {
        Some((_, name)) => lang.ta("followups-unit-title", &[("unit", name.clone())]),
        None => lang.t("followups-title"),
    };
    let page = FollowupsPage {
        c: pc.chrome(title),
        unit,
        rows: list
            .into_iter()
            .map(|f| FollowupLine::of(f, lang))
            .collect(),
        outcomes: vt::FOLLOWUP_OUTCOMES
            .iter()
            .map(|o| (o.0, outcome_name(lang, o.0)))
            .collect(),
        me: pc.caller.actor.person_id.unwrap_or_default(),
        note,
        error: error.clone(),
    };
    Ok(pc.respond(
        AuditNote::new("view-followups", Some(audit)).on(with_status(html(&page), &error)),
    ))
}

/// A unit's follow-up list (names and mobiles: audited), with the form that makes a new one.
pub async fn unit_followups(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let note = note_of(pc.lang, &q, &["made", "outcome"]);
    followups_page_with(&pc, &state, Some(&code), note, None).await
}

/// The follow-ups assigned to me.
pub async fn my_followups(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let note = note_of(pc.lang, &q, &["outcome"]);
    followups_page_with(&pc, &state, None, note, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct MakeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    assign_to: Option<String>,
    limit: Option<String>,
}

fn number_of(s: Option<&str>) -> Option<i64> {
    let d: String = s
        .unwrap_or("")
        .trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .collect();
    d.parse().ok()
}

/// Make a follow-up list at a unit: its longest-inactive workers, assigned to one person.
pub async fn make_followups(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<MakeForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    pc.must_be_able(Action::ManageFollowups)?;
    crate::routes::volunteers::followups_scope(&pc.caller, &state, &code)
        .await
        .map_err(|e| pc.err(e))?;
    let code = code.trim().to_ascii_uppercase();
    let Some(assignee) = number_of(f.assign_to.as_deref()) else {
        let msg = pc.lang.t("err-assignee");
        return followups_page_with(&pc, &state, Some(&code), None, Some(msg)).await;
    };
    let limit = number_of(f.limit.as_deref()).unwrap_or(20).clamp(1, 200) as u32;
    match state
        .store
        .make_followups(
            &code,
            assignee,
            limit,
            vt::ACTIVE_WINDOW_DAYS,
            &pc.caller.actor.id,
            clock::now(),
        )
        .await
    {
        Ok(_) => {
            let res = Redirect::to(&format!("/units/{code}/followups?done=made"));
            Ok(pc.respond(AuditNote::new("make-followups", Some(format!("unit:{code}"))).on(res)))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            followups_page_with(&pc, &state, Some(&code), None, Some(msg)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct OutcomeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    outcome: Option<String>,
    next_step: Option<String>,
    note: Option<String>,
    /// `unit` to go back to the unit's list, else my own.
    back: Option<String>,
}

/// Record how a follow-up went (its assignee, or whoever manages follow-ups at its unit).
pub async fn followup_outcome(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<OutcomeForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let fu = state
        .store
        .followup(id)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let mine = pc.caller.actor.person_id == Some(fu.assigned_to);
    if !mine {
        crate::routes::volunteers::followups_scope(&pc.caller, &state, &fu.unit)
            .await
            .map_err(|e| pc.err(e))?;
    }
    let to_unit = f.back.as_deref() == Some("unit") || !mine;
    let unit_code = to_unit.then(|| fu.unit.clone());
    match state
        .store
        .followup_outcome(
            fu.id,
            f.outcome.as_deref().unwrap_or(""),
            f.next_step.as_deref().unwrap_or("").trim(),
            f.note.as_deref().unwrap_or("").trim(),
            clock::now(),
        )
        .await
    {
        Ok(fu) => {
            let to = match &unit_code {
                Some(u) => format!("/units/{u}/followups?done=outcome#followup-{}", fu.id),
                None => format!("/followups?done=outcome#followup-{}", fu.id),
            };
            Ok(pc.respond(
                AuditNote::new("followup-outcome", Some(format!("followup:{}", fu.id)))
                    .person(fu.person_id)
                    .on(Redirect::to(&to)),
            ))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            followups_page_with(&pc, &state, unit_code.as_deref(), None, Some(msg)).await
        }
    }
}

// ---------------------------------------------------------------- bulletins

#[derive(Template)]
#[template(path = "bulletins.html")]
struct BulletinsPage {
    c: Chrome,
    rows: Vec<BulletinLine>,
    /// Units where I may post, and the wings I may choose.
    units: Vec<(String, String)>,
    wings: Vec<(String, String)>,
    form: PostForm,
    note: Option<String>,
    error: Option<String>,
}

impl BulletinsPage {
    pub fn v<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
    pub fn chosen(&self, s: &Option<String>, v: &str) -> bool {
        s.as_deref() == Some(v)
    }
}

pub struct BulletinLine {
    pub id: i64,
    pub title: String,
    pub text: String,
    pub meta: String,
    pub counts: String,
    pub pinned: bool,
    pub read: bool,
}

/// The bulletin's text in the reader's language (the other one when it has only that).
fn text_of(b: &Bulletin, lang: Lang) -> String {
    let (mine, other) = match lang {
        Lang::Hi => (&b.body_hi, &b.body_en),
        Lang::En => (&b.body_en, &b.body_hi),
    };
    mine.clone().or_else(|| other.clone()).unwrap_or_default()
}

fn meta_of(b: &Bulletin) -> String {
    format!("{} · {} · {}", b.author, b.unit_name, ist(b.created_at))
}

fn counts_of(b: &Bulletin, lang: Lang) -> String {
    format!(
        "{} · {}",
        lang.ta("bulletin-views", &[("n", indian(b.views))]),
        lang.ta("bulletin-comment-count", &[("n", indian(b.comments))])
    )
}

/// A bulletin's first lines, for the feed.
fn teaser(s: &str) -> String {
    let t: String = s.chars().take(180).collect();
    if t.chars().count() < s.chars().count() {
        format!("{t}…")
    } else {
        t
    }
}

async fn bulletins_page_with(
    pc: &PageCaller,
    state: &AppState,
    form: PostForm,
    note: Option<String>,
    error: Option<String>,
) -> PageResult {
    let lang = pc.lang;
    let reader = reader_of(&pc.caller, state).await.map_err(|e| pc.err(e))?;
    let rows = state
        .store
        .bulletins_for(&reader, 50)
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|b| BulletinLine {
            id: b.id,
            title: b.title.clone(),
            text: teaser(&text_of(&b, lang)),
            meta: meta_of(&b),
            counts: counts_of(&b, lang),
            pinned: b.pinned,
            read: b.read,
        })
        .collect();
    let units = super::post_units(pc, state, Action::PostBulletins)
        .await
        .map_err(|e| pc.err(e))?;
    let wings = if units.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .wings()
            .await
            .map_err(|e| pc.err(e))?
            .into_iter()
            .map(|w| {
                let name = lang.pick(&w.name, Some(&w.name_hi)).to_string();
                (w.code, name)
            })
            .collect()
    };
    let page = BulletinsPage {
        c: pc.chrome(lang.t("bulletins-title")),
        rows,
        units,
        wings,
        form,
        note,
        error: error.clone(),
    };
    Ok(pc.respond(with_status(html(&page), &error)))
}

/// My bulletins: pinned first, newest first, unread marked, with views and comments.
pub async fn bulletins(pc: PageCaller, State(state): State<AppState>) -> PageResult {
    bulletins_page_with(&pc, &state, PostForm::default(), None, None).await
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PostForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    unit: Option<String>,
    wing: Option<String>,
    title: Option<String>,
    body_hi: Option<String>,
    body_en: Option<String>,
    pinned: Option<String>,
}

/// Post a bulletin to a unit's subtree (optionally one wing there).
pub async fn post_bulletin(
    pc: PageCaller,
    State(state): State<AppState>,
    Form(f): Form<PostForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    pc.must_be_able(Action::PostBulletins)?;
    let unit = f.unit.clone().unwrap_or_default();
    let wings = scope_at(&pc.caller, &state, &unit, Action::PostBulletins)
        .await
        .map_err(|e| pc.err(e))?;
    let wing = crate::routes::volunteers::bulletin_wing(&state, &wings, f.wing.as_deref())
        .await
        .map_err(|e| pc.err(e))?;
    let body = NewBulletin {
        unit: unit.trim().to_string(),
        wing,
        title: f.title.clone().unwrap_or_default(),
        body_hi: f.body_hi.clone(),
        body_en: f.body_en.clone(),
        pinned: f.pinned.is_some(),
    };
    match state
        .store
        .post_bulletin(
            &body,
            pc.caller.actor.person_id,
            &pc.caller.actor.id,
            clock::now(),
        )
        .await
    {
        Ok(b) => {
            let res = Redirect::to(&format!("/bulletins/{}", b.id));
            Ok(pc.respond(
                AuditNote::new("post-bulletin", Some(format!("bulletin:{}", b.id))).on(res),
            ))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            bulletins_page_with(&pc, &state, f, None, Some(msg)).await
        }
    }
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    c: Chrome,
    b: Bulletin,
    text: String,
    meta: String,
    counts: String,
    comments: Vec<CommentLine>,
    moderator: bool,
    may_comment: bool,
    comment: String,
    note: Option<String>,
    error: Option<String>,
}

pub struct CommentLine {
    pub id: i64,
    pub name: String,
    pub body: String,
    pub at: String,
    pub hidden: bool,
    pub reason: String,
}

async fn bulletin_page_with(
    pc: &PageCaller,
    state: &AppState,
    id: i64,
    count_view: bool,
    comment: String,
    note: Option<String>,
    error: Option<String>,
) -> PageResult {
    let lang = pc.lang;
    let (b, moderator) = bulletin_seen(&pc.caller, state, id, count_view)
        .await
        .map_err(|e| pc.err(e))?;
    let comments = state
        .store
        .comments(b.id, moderator)
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|k| CommentLine {
            id: k.id,
            name: k.name,
            body: k.body,
            at: ist(k.at),
            hidden: k.hidden,
            reason: k.hidden_reason.unwrap_or_default(),
        })
        .collect();
    let page = BulletinPage {
        c: pc.chrome(b.title.clone()),
        text: text_of(&b, lang),
        meta: meta_of(&b),
        counts: counts_of(&b, lang),
        comments,
        moderator,
        may_comment: pc.caller.actor.person_id.is_some(),
        comment,
        note,
        error: error.clone(),
        b,
    };
    Ok(pc.respond(with_status(html(&page), &error)))
}

/// One bulletin with its comments; the reader's first view is counted.
pub async fn bulletin(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<NoteQuery>,
) -> PageResult {
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let note = note_of(pc.lang, &q, &["commented", "hidden"]);
    bulletin_page_with(&pc, &state, id, true, String::new(), note, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    body: Option<String>,
}

/// Comment on a bulletin I read.
pub async fn add_comment(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CommentForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let me = me(&pc)?;
    let (b, _) = bulletin_seen(&pc.caller, &state, id, false)
        .await
        .map_err(|e| pc.err(e))?;
    let typed = f.body.unwrap_or_default();
    match state
        .store
        .add_comment(b.id, me, &typed, clock::now())
        .await
    {
        Ok(k) => {
            let res = Redirect::to(&format!(
                "/bulletins/{}?done=commented#comment-{}",
                b.id, k.id
            ));
            Ok(
                pc.respond(
                    AuditNote::new("add-comment", Some(format!("comment:{}", k.id))).on(res),
                ),
            )
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            bulletin_page_with(&pc, &state, b.id, false, typed, None, Some(msg)).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct HideForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    reason: Option<String>,
}

/// Hide a comment, with the reason (kept with it and in the audit log).
pub async fn hide_comment(
    pc: PageCaller,
    State(state): State<AppState>,
    Path((id, comment)): Path<(String, String)>,
    Form(f): Form<HideForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let comment = id_of(&comment).map_err(|e| pc.err(e))?;
    let b = state
        .store
        .bulletin(id)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    if !may_moderate(&pc.caller, &state, &b)
        .await
        .map_err(|e| pc.err(e))?
    {
        return Err(pc.err(ApiError::Hidden));
    }
    let reason = f.reason.unwrap_or_default();
    match state
        .store
        .hide_comment(b.id, comment, &reason, &pc.caller.actor.id, clock::now())
        .await
    {
        Ok(k) => {
            let res = Redirect::to(&format!("/bulletins/{}?done=hidden#comment-{}", b.id, k.id));
            Ok(pc.respond(
                AuditNote::new(
                    "hide-comment",
                    Some(format!("comment:{} reason:{}", k.id, reason.trim())),
                )
                .person(k.person_id)
                .on(res),
            ))
        }
        Err(sangathan_store::StoreError::NotFound) => Err(pc.err(ApiError::NotFound)),
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            bulletin_page_with(&pc, &state, b.id, false, String::new(), None, Some(msg)).await
        }
    }
}

// ---------------------------------------------------------------- the home page

/// What the home page shows of the volunteer force and the message.
pub struct HomeVolunteers {
    /// "Unread bulletins: 3" (None for the operator).
    pub unread: Option<String>,
    pub unread_n: i64,
    /// "My duties: 2" when I have any.
    pub duties: Option<String>,
    /// "Follow-ups for me: 4" when I have any.
    pub followups: Option<String>,
    /// Programmes from today on where I may see rosters: (id, title, when, venue).
    pub programmes: Vec<(i64, String, String, String)>,
    /// Units where I may keep follow-up lists: (code, name).
    pub followup_units: Vec<(String, String)>,
    /// May I create programmes (the "new programme" link)?
    pub may_create: bool,
}

pub async fn home_lines(pc: &PageCaller, state: &AppState) -> Result<HomeVolunteers, ApiError> {
    let lang = pc.lang;
    let mut out = HomeVolunteers {
        unread: None,
        unread_n: 0,
        duties: None,
        followups: None,
        programmes: Vec::new(),
        followup_units: Vec::new(),
        may_create: pc.caller.scope.may_somewhere(Action::ManageProgrammes),
    };
    let Some(me) = pc.caller.actor.person_id else {
        return Ok(out);
    };
    let reader = reader_of(&pc.caller, state).await?;
    let n = state.store.unread_bulletins(&reader).await?;
    out.unread_n = n;
    out.unread = Some(lang.ta("home-unread", &[("n", indian(n))]));
    let now = clock::now();
    let d = state.store.my_duties(me, now - Duration::hours(12)).await?;
    if !d.is_empty() {
        out.duties = Some(lang.ta("home-duties", &[("n", indian(d.len() as i64))]));
    }
    let f = state.store.followups_of(me).await?;
    let open = f.iter().filter(|x| x.outcome.is_none()).count();
    if !f.is_empty() {
        out.followups = Some(lang.ta("home-followups", &[("n", indian(open as i64))]));
    }
    if pc.caller.scope.may_somewhere(Action::ViewProgrammes) {
        let mut seen = std::collections::HashSet::new();
        for (code, _) in super::post_units(pc, state, Action::ViewProgrammes).await? {
            let Ok(wings) = scope_at(&pc.caller, state, &code, Action::ViewProgrammes).await else {
                continue;
            };
            for p in state
                .store
                .programmes_within(&code, now - Duration::hours(12), &wings)
                .await?
                .unwrap_or_default()
            {
                if out.programmes.len() < 10 && seen.insert(p.id) {
                    out.programmes
                        .push((p.id, p.title.clone(), window(&p), p.venue_name.clone()));
                }
            }
        }
    }
    if pc.caller.scope.may_somewhere(Action::ManageFollowups) {
        out.followup_units = super::post_units(pc, state, Action::ManageFollowups).await?;
    }
    Ok(out)
}
