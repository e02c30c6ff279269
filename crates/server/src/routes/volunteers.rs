//! The volunteer force and the message: programmes, duties and rosters, check-in by personal
//! code, incidents, activation, follow-up lists and bulletins with moderated comments.
//!
//! The access checks here (`programme_seen`, `reader_of`, `may_moderate`) are the ones the pages
//! use too.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::meetings::{in_wing, wing_id};
use crate::routes::units::scope_at;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use sangathan_core::access::{Action, Wings};
use sangathan_core::volunteers as vt;
use sangathan_store::clock;
use sangathan_store::volunteers::{
    Activation, Bulletin, CheckIn, Comment, Duty, Followup, Incident, MyDuty, NewBulletin, NewDuty,
    NewProgramme, Programme, ProgrammeSummary, Reader, Roster,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

/// A programme the caller may `action` on: its venue in their scope, in its wing.
pub async fn programme_seen(
    caller: &Caller,
    state: &AppState,
    id: i64,
    action: Action,
) -> Result<Programme, ApiError> {
    caller.must_be_able(action)?;
    let p = state.store.programme(id).await?.ok_or(ApiError::NotFound)?;
    let wings = scope_at(caller, state, &p.venue, action).await?;
    in_wing(state, &wings, &p.wing).await?;
    Ok(p)
}

/// Follow-up lists are the volunteer force's work, and show names and mobiles: the caller must
/// manage follow-ups at the unit in the volunteer force's wing.
pub async fn followups_scope(caller: &Caller, state: &AppState, code: &str) -> Result<(), ApiError> {
    let wings = scope_at(caller, state, code, Action::ManageFollowups).await?;
    let vol = wing_id(state, "volunteers").await?;
    match vol {
        Some(v) if wings.contains(v) => Ok(()),
        _ => Err(ApiError::Hidden),
    }
}

/// The wing a bulletin goes to: the one asked for, if the caller posts in it there; without one,
/// every wing only for a caller who posts in every wing there (the state office), else their one
/// wing there. A caller of several wings names one.
pub async fn bulletin_wing(state: &AppState, wings: &Wings, asked: Option<&str>) -> Result<Option<String>, ApiError> {
    if let Some(w) = asked.map(str::trim).filter(|w| !w.is_empty()) {
        in_wing(state, wings, w).await?;
        return Ok(Some(w.to_string()));
    }
    match wings {
        Wings::All => Ok(None),
        Wings::Only(set) if set.len() == 1 => {
            let id = *set.iter().next().expect("one");
            Ok(state.store.wings().await?.into_iter().find(|w| w.id == id).map(|w| w.code))
        }
        Wings::Only(_) => Err(ApiError::Invalid(
            sangathan_core::FieldError::new("wing", "choose_wing", "you post for several wings here: choose one", "आप यहाँ कई शाखाओं के लिए लिखते हैं: एक चुनें").into(),
        )),
    }
}

/// The caller as a reader of bulletins (a person; the built-in operator reads none).
pub async fn reader_of(caller: &Caller, state: &AppState) -> Result<Reader, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    Ok(state.store.reader(me, clock::today()).await?)
}

/// May the caller moderate a bulletin's comments: its author, or a post that may post bulletins
/// at its unit (the unit itself or above).
pub async fn may_moderate(
    caller: &Caller,
    state: &AppState,
    b: &Bulletin,
) -> Result<bool, ApiError> {
    if caller.actor.person_id.is_some() && caller.actor.person_id == b.author_id {
        return Ok(true);
    }
    let Some(place) = state.store.place(&b.unit).await? else {
        return Ok(false);
    };
    let wings = caller.scope.wings(Action::PostBulletins, &place);
    Ok(match &b.wing {
        None => !wings.is_none(),
        Some(w) => wing_id(state, w).await?.is_some_and(|id| wings.contains(id)),
    })
}

/// A bulletin the caller may see: as a reader (counting their first view), or as a moderator.
pub async fn bulletin_seen(
    caller: &Caller,
    state: &AppState,
    id: i64,
    count_view: bool,
) -> Result<(Bulletin, bool), ApiError> {
    let b = state.store.bulletin(id).await?.ok_or(ApiError::NotFound)?;
    let moderator = may_moderate(caller, state, &b).await?;
    if caller.actor.person_id.is_some() {
        let reader = reader_of(caller, state).await?;
        let read = if count_view {
            state.store.read_bulletin(id, &reader, clock::now()).await?
        } else {
            state
                .store
                .bulletins_for(&reader, 200)
                .await?
                .into_iter()
                .find(|x| x.id == id)
        };
        if let Some(r) = read {
            return Ok((r, moderator));
        }
    }
    if moderator {
        Ok((b, true))
    } else {
        Err(ApiError::Hidden)
    }
}

/// A QR code as SVG (dark modules on white, a quiet zone, scalable).
pub fn qr_svg(payload: &str) -> String {
    qrcode::QrCode::new(payload.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// Create a programme (rally, jan sabha, workers' conference, any event) at a venue within the
/// organising unit. Its report climbs the chain as a meeting report (`meeting_id`).
#[utoipa::path(
    post,
    path = "/api/v1/programmes",
    tag = "volunteers",
    request_body = NewProgramme,
    responses(
        (status = 201, description = "Created", body = Programme),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow managing programmes", body = ErrorBody),
        (status = 404, description = "Unit outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn create_programme(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewProgramme>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageProgrammes)?;
    let wings = scope_at(&caller, &state, &body.unit, Action::ManageProgrammes).await?;
    in_wing(&state, &wings, &body.wing).await?;
    let p = state.store.add_programme(&body, &caller.actor.id).await?;
    Ok(
        AuditNote::new("add-programme", Some(format!("programme:{}", p.id)))
            .on((StatusCode::CREATED, Json(p))),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FromQuery {
    /// Programmes ending at or after this time (default: now).
    pub from: Option<DateTime<Utc>>,
}

/// Programmes whose venue lies within a unit, in the caller's wings there.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/programmes",
    tag = "volunteers",
    params(("code" = String, Path, description = "Unit code"), FromQuery),
    responses(
        (status = 200, description = "Programmes, soonest first", body = [Programme]),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn unit_programmes(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<FromQuery>,
) -> Result<Json<Vec<Programme>>, ApiError> {
    let wings = scope_at(&caller, &state, &code, Action::ViewProgrammes).await?;
    let list = state
        .store
        .programmes_within(&code, q.from.unwrap_or_else(clock::now), &wings)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(list))
}

/// A programme's roster: its duties, who is on each, confirmed, checked in, and the gaps.
#[utoipa::path(
    get,
    path = "/api/v1/programmes/{id}",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    responses(
        (status = 200, description = "The roster", body = Roster),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn get_programme(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::ViewProgrammes).await?;
    let r = state.store.roster(p.id).await?.ok_or(ApiError::NotFound)?;
    Ok(AuditNote::new("view-roster", Some(format!("programme:{}", p.id))).on(Json(r)))
}

/// Add a duty (gate, stage, crowd lines, parking, water, first aid or any kind) with a shift
/// within the programme's window, a headcount and a leader.
#[utoipa::path(
    post,
    path = "/api/v1/programmes/{id}/duties",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    request_body = NewDuty,
    responses(
        (status = 201, description = "Created", body = Duty),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn add_duty(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewDuty>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::ManageProgrammes).await?;
    let d = state.store.add_duty(p.id, &body).await?;
    Ok(AuditNote::new("add-duty", Some(format!("duty:{}", d.id)))
        .on((StatusCode::CREATED, Json(d))))
}

async fn duty_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
    action: Action,
) -> Result<Duty, ApiError> {
    let d = state
        .store
        .duty(id_of(id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    programme_seen(caller, state, d.programme_id, action).await?;
    Ok(d)
}

#[derive(Debug, Deserialize, Serialize, ToSchema, Default)]
pub struct AssignBody {
    /// One volunteer to put on the duty; omitted: fill the open places from the volunteer force
    /// within reach of the venue (same AC first, then the district).
    pub person: Option<i64>,
}

/// Put volunteers on a duty: never beyond its headcount, never two overlapping shifts, never one
/// unavailable or who declined. Each one asked is notified through the outbox.
#[utoipa::path(
    post,
    path = "/api/v1/duties/{id}/assign",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Duty id")),
    request_body = AssignBody,
    responses(
        (status = 200, description = "The duty with its people", body = Duty),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such duty (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Full, overlapping, unavailable, declined or not a volunteer", body = ErrorBody),
    )
)]
pub async fn assign_duty(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, ApiError> {
    let d = duty_seen(&caller, &state, &id, Action::ManageProgrammes).await?;
    let d = state
        .store
        .assign(d.id, body.person, &caller.actor.id, clock::now())
        .await?;
    let mut note = AuditNote::new("assign-duty", Some(format!("duty:{}", d.id)));
    if let Some(p) = body.person {
        note = note.person(p);
    }
    Ok(note.on(Json(d)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct AnswerBody {
    /// true: confirm; false: decline (the place is freed).
    pub accept: bool,
}

/// A volunteer confirms or declines their own place on a duty.
#[utoipa::path(
    post,
    path = "/api/v1/duties/{id}/answer",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Duty id")),
    request_body = AnswerBody,
    responses(
        (status = 200, description = "The duty", body = Duty),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a person (the operator)", body = ErrorBody),
        (status = 422, description = "Not on this duty, or declined before", body = ErrorBody),
    )
)]
pub async fn answer_duty(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let d = state
        .store
        .answer_duty(id_of(&id)?, me, body.accept, clock::now())
        .await?;
    Ok(AuditNote::new(
        if body.accept {
            "confirm-duty"
        } else {
            "decline-duty"
        },
        Some(format!("duty:{}", d.id)),
    )
    .on(Json(d)))
}

/// The caller's duties from now on.
#[utoipa::path(
    get,
    path = "/api/v1/me/duties",
    tag = "volunteers",
    responses(
        (status = 200, description = "My duties", body = [MyDuty]),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn my_duties(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<MyDuty>>, ApiError> {
    let Some(me) = caller.actor.person_id else {
        return Ok(Json(vec![]));
    };
    Ok(Json(
        state
            .store
            .my_duties(me, clock::now() - chrono::Duration::hours(12))
            .await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyCode {
    /// Six letters and digits, to type when the camera fails.
    pub code: String,
    /// What the QR code carries.
    pub payload: String,
}

/// The caller's personal check-in code (made on first use).
#[utoipa::path(
    get,
    path = "/api/v1/me/checkin-code",
    tag = "volunteers",
    responses(
        (status = 200, description = "My code", body = MyCode),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a person (the operator)", body = ErrorBody),
    )
)]
pub async fn my_code(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<MyCode>, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let code = state.store.checkin_code(me).await?;
    Ok(Json(MyCode {
        payload: vt::qr_payload(&code),
        code,
    }))
}

/// The caller's check-in QR code as SVG, to show on the phone or print.
#[utoipa::path(
    get,
    path = "/api/v1/me/checkin-code.svg",
    tag = "volunteers",
    responses(
        (status = 200, description = "QR code", content_type = "image/svg+xml", body = String),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a person (the operator)", body = ErrorBody),
    )
)]
pub async fn my_code_svg(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let code = state.store.checkin_code(me).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        qr_svg(&vt::qr_payload(&code)),
    )
        .into_response())
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ScanBody {
    /// The code typed or scanned (`SGV:CODE` from the QR code is accepted).
    pub code: String,
    /// When the scan happened, for a scan queued offline (default: now).
    pub at: Option<DateTime<Utc>>,
}

/// Check a volunteer in by their code. The same code twice is one check-in (`already: true`),
/// so a queued scan sent again changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/programmes/{id}/checkin",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    request_body = ScanBody,
    responses(
        (status = 200, description = "Checked in (or already)", body = CheckIn),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Unknown code, not on the roster, or outside the programme's time", body = ErrorBody),
    )
)]
pub async fn check_in(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScanBody>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::CheckIn).await?;
    let c = state
        .store
        .check_in(p.id, &body.code, body.at, &caller.actor.id, clock::now())
        .await?;
    Ok(
        AuditNote::new("check-in", Some(format!("programme:{}", p.id)))
            .person(c.person_id)
            .on(Json(c)),
    )
}

/// Check a volunteer out (idempotent like check-in).
#[utoipa::path(
    post,
    path = "/api/v1/programmes/{id}/checkout",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    request_body = ScanBody,
    responses(
        (status = 200, description = "Checked out (or already)", body = CheckIn),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Unknown code, not checked in, or outside the programme's time", body = ErrorBody),
    )
)]
pub async fn check_out(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScanBody>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::CheckIn).await?;
    let c = state
        .store
        .check_out(p.id, &body.code, body.at, clock::now())
        .await?;
    Ok(
        AuditNote::new("check-out", Some(format!("programme:{}", p.id)))
            .person(c.person_id)
            .on(Json(c)),
    )
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct IncidentBody {
    /// `low`, `medium` or `high`.
    pub severity: String,
    pub text: String,
}

/// Add to a programme's discipline log.
#[utoipa::path(
    post,
    path = "/api/v1/programmes/{id}/incidents",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    request_body = IncidentBody,
    responses(
        (status = 201, description = "Recorded", body = Incident),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Invalid severity or text", body = ErrorBody),
    )
)]
pub async fn add_incident(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<IncidentBody>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::CheckIn).await?;
    let i = state
        .store
        .add_incident(
            p.id,
            &body.severity,
            &body.text,
            &caller.actor.id,
            clock::now(),
        )
        .await?;
    Ok(
        AuditNote::new("add-incident", Some(format!("programme:{}", p.id)))
            .on((StatusCode::CREATED, Json(i))),
    )
}

/// After the programme: attendance per duty, no-shows, everyone checked in, incidents.
#[utoipa::path(
    get,
    path = "/api/v1/programmes/{id}/summary",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Programme id")),
    responses(
        (status = 200, description = "The summary", body = ProgrammeSummary),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such programme (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn programme_summary(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = programme_seen(&caller, &state, id_of(&id)?, Action::ViewProgrammes).await?;
    let s = state
        .store
        .programme_summary(p.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(AuditNote::new("view-roster", Some(format!("programme:{}", p.id))).on(Json(s)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct UnavailableBody {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The caller cannot serve from one day to another: they are not put on duties then.
#[utoipa::path(
    post,
    path = "/api/v1/me/unavailable",
    tag = "volunteers",
    request_body = UnavailableBody,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a person (the operator)", body = ErrorBody),
        (status = 422, description = "The last day comes before the first", body = ErrorBody),
    )
)]
pub async fn my_unavailable(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UnavailableBody>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    state
        .store
        .set_volunteer_unavailable(me, body.from, body.to)
        .await?;
    Ok(AuditNote::new("set-unavailable", Some(format!("person:{me}"))).on(StatusCode::NO_CONTENT))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysQuery {
    /// Active means active within this many days (default 30).
    pub days: Option<i64>,
}

/// Activation at a unit and each of its children: the cadre (users and volunteer-force members
/// placed there) and how many were active (attended a meeting, checked in at a programme or
/// enrolled a member) within the window. Figures only; the children add up to the unit exactly
/// (with those placed at the unit itself).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/activation",
    tag = "volunteers",
    params(("code" = String, Path, description = "Unit code"), DaysQuery),
    responses(
        (status = 200, description = "Activation", body = Activation),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn activation(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> Result<Json<Activation>, ApiError> {
    scope_at(&caller, &state, &code, Action::ViewUnit).await?;
    let days = q.days.unwrap_or(vt::ACTIVE_WINDOW_DAYS).clamp(1, 366);
    Ok(Json(
        state
            .store
            .activation(&code, days, clock::now())
            .await?
            .ok_or(ApiError::NotFound)?,
    ))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct FollowupsBody {
    /// The person who calls or visits them.
    pub assign_to: i64,
    /// At most this many (default 20).
    pub limit: Option<u32>,
    /// Inactive for this many days (default 30).
    pub days: Option<i64>,
}

/// Make a follow-up list: inactive workers within a unit not already being followed up,
/// longest inactive first, assigned to one person.
#[utoipa::path(
    post,
    path = "/api/v1/units/{code}/followups",
    tag = "volunteers",
    params(("code" = String, Path, description = "Unit code")),
    request_body = FollowupsBody,
    responses(
        (status = 201, description = "The follow-ups made", body = [Followup]),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Unknown assignee", body = ErrorBody),
    )
)]
pub async fn make_followups(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<FollowupsBody>,
) -> Result<Response, ApiError> {
    followups_scope(&caller, &state, &code).await?;
    let days = body.days.unwrap_or(vt::ACTIVE_WINDOW_DAYS).clamp(1, 366);
    let list = state
        .store
        .make_followups(
            &code,
            body.assign_to,
            body.limit.unwrap_or(20),
            days,
            &caller.actor.id,
            clock::now(),
        )
        .await?;
    Ok(AuditNote::new(
        "make-followups",
        Some(format!("unit:{}", code.trim().to_ascii_uppercase())),
    )
    .on((StatusCode::CREATED, Json(list))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Only those without an outcome yet.
    pub open: Option<bool>,
}

/// The follow-up list of a unit (names and mobiles: audited).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/followups",
    tag = "volunteers",
    params(("code" = String, Path, description = "Unit code"), OpenQuery),
    responses(
        (status = 200, description = "Follow-ups, open first", body = [Followup]),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn unit_followups(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<OpenQuery>,
) -> Result<Response, ApiError> {
    followups_scope(&caller, &state, &code).await?;
    let list = state
        .store
        .followups_within(&code, q.open.unwrap_or(false))
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(AuditNote::new(
        "view-followups",
        Some(format!("unit:{}", code.trim().to_ascii_uppercase())),
    )
    .on(Json(list)))
}

/// The follow-ups assigned to the caller.
#[utoipa::path(
    get,
    path = "/api/v1/me/followups",
    tag = "volunteers",
    responses(
        (status = 200, description = "My follow-ups, open first", body = [Followup]),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn my_followups(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let Some(me) = caller.actor.person_id else {
        return Ok(Json(Vec::<Followup>::new()).into_response());
    };
    let list = state.store.followups_of(me).await?;
    Ok(AuditNote::new("view-followups", Some(format!("assignee:{me}"))).on(Json(list)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct OutcomeBody {
    /// `reached`, `not_reachable`, `will_come` or `moved_away`.
    pub outcome: String,
    #[serde(default)]
    pub next_step: String,
    #[serde(default)]
    pub note: String,
}

/// Record how a follow-up went (the assignee, or whoever manages follow-ups at its unit).
#[utoipa::path(
    post,
    path = "/api/v1/followups/{id}",
    tag = "volunteers",
    params(("id" = i64, Path, description = "Follow-up id")),
    request_body = OutcomeBody,
    responses(
        (status = 200, description = "The follow-up", body = Followup),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such follow-up (or not the caller's)", body = ErrorBody),
        (status = 422, description = "Invalid outcome", body = ErrorBody),
    )
)]
pub async fn followup_outcome(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OutcomeBody>,
) -> Result<Response, ApiError> {
    let f = state
        .store
        .followup(id_of(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if caller.actor.person_id != Some(f.assigned_to) {
        followups_scope(&caller, &state, &f.unit).await?;
    }
    let f = state
        .store
        .followup_outcome(
            f.id,
            &body.outcome,
            &body.next_step,
            &body.note,
            clock::now(),
        )
        .await?;
    Ok(
        AuditNote::new("followup-outcome", Some(format!("followup:{}", f.id)))
            .person(f.person_id)
            .on(Json(f)),
    )
}

/// Post a bulletin to a unit's subtree (optionally one wing there), in Hindi and/or English.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins",
    tag = "bulletins",
    request_body = NewBulletin,
    responses(
        (status = 201, description = "Posted", body = Bulletin),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow posting bulletins", body = ErrorBody),
        (status = 404, description = "Unit outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn post_bulletin(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewBulletin>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::PostBulletins)?;
    let wings = scope_at(&caller, &state, &body.unit, Action::PostBulletins).await?;
    let mut body = body;
    body.wing = bulletin_wing(&state, &wings, body.wing.as_deref()).await?;
    let b = state
        .store
        .post_bulletin(
            &body,
            caller.actor.person_id,
            &caller.actor.id,
            clock::now(),
        )
        .await?;
    Ok(
        AuditNote::new("post-bulletin", Some(format!("bulletin:{}", b.id)))
            .on((StatusCode::CREATED, Json(b))),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// The caller's bulletin feed: from their units and every unit above, in their wings; pinned
/// first, newest first, with views, comments and whether they have read each.
#[utoipa::path(
    get,
    path = "/api/v1/bulletins",
    tag = "bulletins",
    params(LimitQuery),
    responses(
        (status = 200, description = "The feed", body = [Bulletin]),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not a person (the operator)", body = ErrorBody),
    )
)]
pub async fn bulletin_feed(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> Result<Json<Vec<Bulletin>>, ApiError> {
    let reader = reader_of(&caller, &state).await?;
    Ok(Json(
        state
            .store
            .bulletins_for(&reader, q.limit.unwrap_or(50))
            .await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulletinPage {
    pub bulletin: Bulletin,
    /// Comments as the caller may see them (moderators also see hidden ones, with why).
    pub comments: Vec<Comment>,
    /// May the caller hide comments here?
    pub moderator: bool,
}

/// One bulletin with its comments; the caller's first view is counted.
#[utoipa::path(
    get,
    path = "/api/v1/bulletins/{id}",
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    responses(
        (status = 200, description = "The bulletin", body = BulletinPage),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such bulletin (or not for the caller)", body = ErrorBody),
    )
)]
pub async fn get_bulletin(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BulletinPage>, ApiError> {
    let (bulletin, moderator) = bulletin_seen(&caller, &state, id_of(&id)?, true).await?;
    let comments = state.store.comments(bulletin.id, moderator).await?;
    Ok(Json(BulletinPage {
        bulletin,
        comments,
        moderator,
    }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CommentBody {
    pub body: String,
}

/// Comment on a bulletin one reads.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins/{id}/comments",
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id")),
    request_body = CommentBody,
    responses(
        (status = 201, description = "Posted", body = Comment),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such bulletin (or not for the caller)", body = ErrorBody),
        (status = 422, description = "Empty or too long", body = ErrorBody),
    )
)]
pub async fn add_comment(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CommentBody>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let (b, _) = bulletin_seen(&caller, &state, id_of(&id)?, false).await?;
    let k = state
        .store
        .add_comment(b.id, me, &body.body, clock::now())
        .await?;
    Ok(
        AuditNote::new("add-comment", Some(format!("comment:{}", k.id)))
            .on((StatusCode::CREATED, Json(k))),
    )
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct HideBody {
    /// Why (kept with the comment and in the audit log).
    pub reason: String,
}

/// Hide a comment (the bulletin's author, or an office-bearer at or above its unit). The
/// comment disappears for readers; it and the reason stay for moderators and the audit log.
#[utoipa::path(
    post,
    path = "/api/v1/bulletins/{id}/comments/{comment}/hide",
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id"), ("comment" = i64, Path, description = "Comment id")),
    request_body = HideBody,
    responses(
        (status = 200, description = "Hidden", body = Comment),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such comment (or the caller may not moderate it)", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    )
)]
pub async fn hide_comment(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, comment)): Path<(String, String)>,
    ApiJson(body): ApiJson<HideBody>,
) -> Result<Response, ApiError> {
    let b = state
        .store
        .bulletin(id_of(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !may_moderate(&caller, &state, &b).await? {
        return Err(ApiError::Hidden);
    }
    let k = state
        .store
        .hide_comment(
            b.id,
            id_of(&comment)?,
            &body.reason,
            &caller.actor.id,
            clock::now(),
        )
        .await
        .map_err(|e| match e {
            sangathan_store::StoreError::NotFound => ApiError::NotFound,
            e => e.into(),
        })?;
    Ok(AuditNote::new(
        "hide-comment",
        Some(format!("comment:{} reason:{}", k.id, body.reason.trim())),
    )
    .person(k.person_id)
    .on(Json(k)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unread {
    pub bulletins: i64,
}

/// How many bulletins the caller has not read yet.
#[utoipa::path(
    get,
    path = "/api/v1/me/unread",
    tag = "bulletins",
    responses(
        (status = 200, description = "Unread counts", body = Unread),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn my_unread(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Unread>, ApiError> {
    if caller.actor.person_id.is_none() {
        return Ok(Json(Unread { bulletins: 0 }));
    }
    let reader = reader_of(&caller, &state).await?;
    Ok(Json(Unread {
        bulletins: state.store.unread_bulletins(&reader).await?,
    }))
}
