//! Meetings: rotating series and their plans, single meetings, chairs, reports that climb the
//! chain (inbox, acknowledge, return), weekly compliance, and calendar feeds.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, present};
use crate::routes::units::scope_at;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime};
use sangathan_core::FieldError;
use sangathan_core::access::Action;
use sangathan_store::clock;
use sangathan_store::meetings::{
    ChairRequest, Charge, Compliance, Contact, EscalationRun, FeedKind, InboxItem, MeetingView,
    NewContact, NewMeeting, NewPoint, NewReport, NewSeries, Plan, ReportView, Series,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

/// The id of a wing by its code (None: no such wing; the store then refuses it by name).
pub async fn wing_id(state: &AppState, code: &str) -> Result<Option<i64>, ApiError> {
    Ok(state
        .store
        .wings()
        .await?
        .into_iter()
        .find(|w| w.code.eq_ignore_ascii_case(code.trim()))
        .map(|w| w.id))
}

/// Refuse a wing the caller holds no post of at the unit (as if the record did not exist).
pub async fn in_wing(
    state: &AppState,
    wings: &sangathan_core::access::Wings,
    code: &str,
) -> Result<(), ApiError> {
    match wing_id(state, code).await? {
        Some(id) if !wings.contains(id) => Err(ApiError::Hidden),
        _ => Ok(()),
    }
}

/// A meeting the caller may see: at a venue in their scope and wing, or one they chair or organise.
pub async fn meeting_seen(
    caller: &Caller,
    state: &AppState,
    id: i64,
    action: Action,
) -> Result<MeetingView, ApiError> {
    let m = state.store.meeting(id).await?.ok_or(ApiError::NotFound)?;
    let me = caller.actor.person_id;
    if action != Action::ManageMeetings && me.is_some() && (m.chair == me || m.organiser == me) {
        return Ok(m);
    }
    caller.must_be_able(action)?;
    let wings = scope_at(caller, state, m.venue.as_deref().unwrap_or(""), action).await?;
    in_wing(state, &wings, &m.wing).await?;
    Ok(m)
}

async fn series_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
    action: Action,
) -> Result<Series, ApiError> {
    caller.must_be_able(action)?;
    let s = state
        .store
        .series(id_of(id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let wings = scope_at(caller, state, &s.unit, action).await?;
    in_wing(state, &wings, &s.wing).await?;
    Ok(s)
}

/// Create a rotating meeting series over the ACs, sectors or booths of a unit.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/series",
    tag = "meetings",
    request_body = NewSeries,
    responses(
        (status = 201, description = "Created", body = Series),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow managing meetings", body = ErrorBody),
        (status = 422, description = "Invalid rule, unit, wing or gap (nothing written)", body = ErrorBody),
    )
)]
pub async fn create_series(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewSeries>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageMeetings)?;
    let wings = scope_at(&caller, &state, &body.unit, Action::ManageMeetings).await?;
    in_wing(&state, &wings, &body.wing).await?;
    let s = state.store.add_series(&body, &caller.actor.id).await?;
    Ok(
        AuditNote::new("add-series", Some(format!("series:{}", s.id)))
            .on((StatusCode::CREATED, Json(s))),
    )
}

/// One series, with its pool of venues.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/series/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Series id")),
    responses(
        (status = 200, description = "The series", body = Series),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such series (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn get_series(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Series>, ApiError> {
    Ok(Json(
        series_seen(&caller, &state, &id, Action::ViewMeetings).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// How many weeks ahead (default 8).
    pub weeks: Option<u32>,
    /// First day, YYYY-MM-DD (default: today, IST).
    pub from: Option<NaiveDate>,
}

/// Place (venue and chair) and list a series' occurrences for the coming weeks. Occurrences
/// placed before never move: planning again returns the same plan.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/series/{id}/plan",
    tag = "meetings",
    params(("id" = i64, Path, description = "Series id"), PlanQuery),
    responses(
        (status = 200, description = "The plan: occurrences and skipped dates", body = Plan),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such series", body = ErrorBody),
    )
)]
pub async fn plan_series(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PlanQuery>,
) -> Result<Response, ApiError> {
    let s = series_seen(&caller, &state, &id, Action::ManageMeetings).await?;
    let weeks = q.weeks.unwrap_or(8);
    let plan = state
        .store
        .plan(
            s.id,
            q.from.unwrap_or_else(clock::today),
            weeks,
            &caller.actor.id,
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(AuditNote::new(
        "plan-series",
        Some(format!("series:{} {weeks} weeks", s.id)),
    )
    .on(Json(plan)))
}

const ICAL: &str = "text/calendar; charset=utf-8";

/// A series as an iCalendar feed (RFC 5545).
#[utoipa::path(
    get,
    path = "/api/v1/meetings/series/{id}/ical",
    tag = "meetings",
    params(("id" = i64, Path, description = "Series id")),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such series", body = ErrorBody),
    )
)]
pub async fn series_ical(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = series_seen(&caller, &state, &id, Action::ViewMeetings).await?;
    let text = crate::calendar::series_feed(&state.store, s.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(([(header::CONTENT_TYPE, ICAL)], text).into_response())
}

/// Call a single meeting (e.g. a booth meeting this week); the caller organises it.
#[utoipa::path(
    post,
    path = "/api/v1/meetings",
    tag = "meetings",
    request_body = NewMeeting,
    responses(
        (status = 201, description = "Created", body = MeetingView),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "Venue outside the caller's scope", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn create_meeting(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(mut body): ApiJson<NewMeeting>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageMeetings)?;
    let wings = scope_at(&caller, &state, &body.venue, Action::ManageMeetings).await?;
    in_wing(&state, &wings, &body.wing).await?;
    // The caller organises it; only the state office may name someone else.
    if !caller.scope.is_state_admin() || body.organiser.is_none() {
        body.organiser = caller.actor.person_id;
    }
    let m = state.store.add_meeting(&body, &caller.actor.id).await?;
    Ok(
        AuditNote::new("add-meeting", Some(format!("meeting:{}", m.id)))
            .on((StatusCode::CREATED, Json(m))),
    )
}

/// A meeting with its report (if filed) and WhatsApp share links for its notice and for its
/// report's summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingPage {
    pub meeting: MeetingView,
    pub report: Option<ReportView>,
    /// `https://wa.me/?text=…`: a notice to share, no provider needed.
    pub whatsapp: String,
    /// The filed report's summary in Hindi and English (kind, date, venue, held or not, the
    /// counts, the chair's post; never a name, number or free text), once a report is filed.
    pub report_summary: Option<String>,
    /// `https://wa.me/?text=…` sharing `report_summary`.
    pub report_whatsapp: Option<String>,
    /// The talking points on its agenda.
    pub talking_points: Vec<sangathan_store::meetings::Point>,
}

/// The notice of a meeting, in Hindi and English, for sharing.
pub fn notice(m: &MeetingView) -> String {
    let kind = sangathan_core::meetings::Kind::parse(&m.kind).ok();
    let venue = m
        .venue_name_hi
        .clone()
        .or(m.venue_name.clone())
        .unwrap_or_default();
    format!(
        "{} — {} {} बजे, {} ({})\n{} — {} {}, {} ({})",
        kind.map(|k| k.name_hi()).unwrap_or(&m.kind),
        m.date.format("%d-%m-%Y"),
        m.time,
        venue,
        m.venue.as_deref().unwrap_or(""),
        kind.map(|k| k.name_en()).unwrap_or(&m.kind),
        m.date.format("%d %b %Y"),
        m.time,
        m.venue_name.as_deref().unwrap_or(""),
        m.venue.as_deref().unwrap_or(""),
    )
}

/// A filed report's summary, in Hindi and English, for sharing: the meeting's kind, date and
/// venue, whether it was held and its counts, and the chair's post (`chair_role`, a role code
/// such as `district-president`). Names, mobiles and the report's free text (reason, agenda,
/// issues, notes) stay out: the summary leaves Sangathan.
pub fn report_summary(m: &MeetingView, r: &ReportView, chair_role: Option<&str>) -> String {
    use crate::web::i18n::Lang;
    let kind = sangathan_core::meetings::Kind::parse(&m.kind).ok();
    let code = m.venue.as_deref().unwrap_or("");
    let venue_en = m.venue_name.clone().unwrap_or_default();
    let venue_hi = m.venue_name_hi.clone().unwrap_or_else(|| venue_en.clone());
    let n = &r.report;
    let mut hi = format!(
        "बैठक की रिपोर्ट: {}, {}, {} ({})\n",
        kind.map(|k| k.name_hi()).unwrap_or(&m.kind),
        m.date.format("%d-%m-%Y"),
        venue_hi,
        code,
    );
    let mut en = format!(
        "Meeting report: {}, {}, {} ({})\n",
        kind.map(|k| k.name_en()).unwrap_or(&m.kind),
        m.date.format("%d %b %Y"),
        venue_en,
        code,
    );
    if n.held {
        hi.push_str(&format!(
            "बैठक हुई। उपस्थिति {}, कर्मचारियों से भेंट {}, नए समर्थक {}, नए सदस्य {}।",
            n.attendance, n.employees_met, n.new_supporters, n.new_members
        ));
        en.push_str(&format!(
            "Held. Attendance {}, employees met {}, new supporters {}, new members {}.",
            n.attendance, n.employees_met, n.new_supporters, n.new_members
        ));
    } else {
        hi.push_str("बैठक नहीं हुई।");
        en.push_str("Not held.");
    }
    if let Some(role) = chair_role {
        let key = format!("role-{role}");
        hi.push_str(&format!("\nअध्यक्षता: {}", Lang::Hi.t(&key)));
        en.push_str(&format!("\nChair: {}", Lang::En.t(&key)));
    }
    format!("{hi}\n\n{en}")
}

/// The post (a role code) under which a meeting's chair presides: one they hold on the
/// meeting's day at a unit above its venue, in the meeting's wing when they have one there.
pub async fn chair_role(state: &AppState, m: &MeetingView) -> Result<Option<String>, ApiError> {
    let (Some(chair), Some(venue)) = (m.chair, m.venue.as_deref()) else {
        return Ok(None);
    };
    let Some(place) = state.store.place(venue).await? else {
        return Ok(None);
    };
    let mut best: Option<(bool, String)> = None;
    for p in state.store.posts(chair, m.date).await? {
        if !p.active || p.role == "member" || p.role == "volunteer" {
            continue;
        }
        let Some(unit) = state.store.unit_id_of(&p.unit).await? else {
            continue;
        };
        if unit == place.id || !place.within(unit) {
            continue;
        }
        let same_wing = p.wing == m.wing;
        if best.as_ref().is_none_or(|b| same_wing && !b.0) {
            best = Some((same_wing, p.role));
        }
    }
    Ok(best.map(|b| b.1))
}

/// The summary of a meeting's filed report and its WhatsApp link (None before a report).
pub async fn report_share(
    state: &AppState,
    m: &MeetingView,
    r: Option<&ReportView>,
) -> Result<Option<(String, String)>, ApiError> {
    let Some(r) = r else { return Ok(None) };
    let role = chair_role(state, m).await?;
    let text = report_summary(m, r, role.as_deref());
    let link = crate::notify::whatsapp_share(&text);
    Ok(Some((text, link)))
}

#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingPage),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such meeting (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn get_meeting(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MeetingPage>, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ViewMeetings).await?;
    let report = state.store.report(m.id).await?;
    let whatsapp = crate::notify::whatsapp_share(&notice(&m));
    let (report_summary, report_whatsapp) =
        report_share(&state, &m, report.as_ref()).await?.unzip();
    let talking_points = state.store.meeting_points(m.id).await?;
    Ok(Json(MeetingPage {
        meeting: m,
        report,
        whatsapp,
        report_summary,
        report_whatsapp,
        talking_points,
    }))
}

/// What to change when moving a meeting.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveRequest {
    pub date: Option<NaiveDate>,
    #[schema(value_type = Option<String>, example = "16:30")]
    pub time: Option<NaiveTime>,
    /// A new venue's unit code.
    pub venue: Option<String>,
}

/// Move one meeting; nothing else in its series changes.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/move",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = MoveRequest,
    responses(
        (status = 200, description = "Moved", body = MeetingView),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Cancelled, or already reported", body = ErrorBody),
    )
)]
pub async fn move_meeting(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveRequest>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ManageMeetings).await?;
    if let Some(v) = &body.venue {
        let wings = scope_at(&caller, &state, v, Action::ManageMeetings).await?;
        in_wing(&state, &wings, &m.wing).await?;
    }
    let m = state
        .store
        .move_meeting(
            m.id,
            body.date,
            body.time,
            body.venue.as_deref(),
            &caller.actor.id,
        )
        .await?;
    Ok(AuditNote::new("move-meeting", Some(format!("meeting:{}", m.id))).on(Json(m)))
}

#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/cancel",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Cancelled", body = MeetingView),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Already reported", body = ErrorBody),
    )
)]
pub async fn cancel_meeting(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ManageMeetings).await?;
    let m = state.store.cancel_meeting(m.id, &caller.actor.id).await?;
    Ok(AuditNote::new("cancel-meeting", Some(format!("meeting:{}", m.id))).on(Json(m)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetChairBody {
    pub person_id: i64,
}

/// Set the chair by hand (refused if they chair another meeting that day).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/chair",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = SetChairBody,
    responses(
        (status = 200, description = "Chair set", body = MeetingView),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 422, description = "Unknown person, or double-booked", body = ErrorBody),
    )
)]
pub async fn set_chair(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetChairBody>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ManageMeetings).await?;
    let m = state
        .store
        .set_chair(m.id, body.person_id, &caller.actor.id)
        .await?;
    Ok(AuditNote::new(
        "set-chair",
        Some(format!("meeting:{} person:{}", m.id, body.person_id)),
    )
    .on(Json(m)))
}

/// The caller declines to chair; another chair is chosen, never them again for this meeting.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/decline",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Declined; the meeting with its new chair", body = MeetingView),
        (status = 404, description = "No such meeting", body = ErrorBody),
    )
)]
pub async fn decline_chair(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let m = state
        .store
        .meeting(id_of(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if m.chair != Some(me) {
        return Err(ApiError::NotFound);
    }
    let m = state.store.decline_chair(m.id, me).await?;
    Ok(AuditNote::new("decline-chair", Some(format!("meeting:{}", m.id))).on(Json(m)))
}

/// File (or correct, after a return) a meeting's report. Sending the same report again changes
/// nothing, so a retried request never files twice.
#[utoipa::path(
    put,
    path = "/api/v1/meetings/{id}/report",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = NewReport,
    responses(
        (status = 200, description = "Filed: where it waits now", body = ReportView),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "Cancelled, or already acknowledged", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn file_report(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewReport>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::FileReport).await?;
    // Members linked to the report must be ones the caller may see: any other id, existing or
    // not, gets the same answer.
    for (field, ids) in [("present", &body.present), ("enrolled", &body.enrolled)] {
        for pid in ids.iter().flatten() {
            if crate::routes::members::member_seen(&caller, &state, &pid.to_string())
                .await
                .is_err()
            {
                return Err(FieldError::new(
                    field,
                    "unknown_person",
                    format!("no such member: {pid}"),
                    format!("ऐसा कोई सदस्य नहीं: {pid}"),
                )
                .into());
            }
        }
    }
    let v = state
        .store
        .file_report(m.id, &body, &caller.actor.id, clock::now())
        .await?;
    Ok(AuditNote::new("file-report", Some(format!("meeting:{}", m.id))).on(Json(v)))
}

#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/report",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The report and its way up the chain", body = ReportView),
        (status = 404, description = "No such meeting or no report yet", body = ErrorBody),
    )
)]
pub async fn get_report(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ReportView>, ApiError> {
    let id = id_of(&id)?;
    let me = caller.actor.person_id;
    let report = state.store.report(id).await?.ok_or(ApiError::NotFound)?;
    // Those on its route may read it even outside their scope's action rights.
    if !(me.is_some() && report.route.iter().any(|r| Some(r.person_id) == me)) {
        meeting_seen(&caller, &state, id, Action::ViewMeetings).await?;
    }
    Ok(Json(report))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ActRequest {
    /// Required when returning: what to correct.
    pub comment: Option<String>,
}

/// Acknowledge a report waiting for the caller; it climbs to the next level.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/report/acknowledge",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = ActRequest,
    responses(
        (status = 200, description = "Acknowledged", body = ReportView),
        (status = 409, description = "Not waiting for the caller", body = ErrorBody),
    )
)]
pub async fn acknowledge_report(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ActRequest>,
) -> Result<Response, ApiError> {
    act(caller, state, id, true, body).await
}

/// Return a report waiting for the caller to its filer, saying what to correct.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/report/return",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = ActRequest,
    responses(
        (status = 200, description = "Returned", body = ReportView),
        (status = 409, description = "Not waiting for the caller", body = ErrorBody),
        (status = 422, description = "No comment", body = ErrorBody),
    )
)]
pub async fn return_report(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ActRequest>,
) -> Result<Response, ApiError> {
    act(caller, state, id, false, body).await
}

async fn act(
    caller: Caller,
    state: AppState,
    id: String,
    ack: bool,
    body: ActRequest,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let id = id_of(&id)?;
    let v = state
        .store
        .act_on_report(id, me, ack, present(&body.comment), clock::now())
        .await?;
    let action = if ack {
        "acknowledge-report"
    } else {
        "return-report"
    };
    Ok(AuditNote::new(action, Some(format!("meeting:{id}"))).on(Json(v)))
}

/// A request to preside, with its meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestItem {
    pub meeting: MeetingView,
    pub request: ChairRequest,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    pub reports: Vec<InboxItem>,
    /// Requests to preside waiting for the caller's answer.
    pub requests: Vec<RequestItem>,
}

/// Reports waiting for the caller.
#[utoipa::path(
    get,
    path = "/api/v1/reports/inbox",
    tag = "meetings",
    responses(
        (status = 200, description = "Waiting reports, oldest first, and requests to preside", body = Inbox),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn inbox(caller: Caller, State(state): State<AppState>) -> Result<Json<Inbox>, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let requests = state
        .store
        .requests_for(me)
        .await?
        .into_iter()
        .map(|(meeting, request)| RequestItem { meeting, request })
        .collect();
    Ok(Json(Inbox {
        reports: state.store.inbox(me).await?,
        requests,
    }))
}

/// Run the overdue-report check now (the server runs it hourly; each meeting once a day).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/escalate",
    tag = "meetings",
    responses(
        (status = 200, description = "What the run did", body = EscalationRun),
        (status = 403, description = "For the state office", body = ErrorBody),
    )
)]
pub async fn escalate(caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    if !caller.scope.is_state_admin() {
        return Err(ApiError::Forbidden);
    }
    let run = state.store.escalate(clock::now()).await?;
    Ok(AuditNote::new(
        "escalate-reports",
        Some(format!("{} escalated", run.escalated)),
    )
    .on(Json(run)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// ISO week, e.g. `2027-W02` (default: this week).
    pub week: Option<String>,
}

/// Meetings planned, held, not held, reported on time, late and missing in a unit and each
/// child for one week, rolled up like membership counters.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/compliance",
    tag = "meetings",
    params(("code" = String, Path, description = "Unit code"), WeekQuery),
    responses(
        (status = 200, description = "The week's compliance", body = Compliance),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "Bad week", body = ErrorBody),
    )
)]
pub async fn compliance(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> Result<Json<Compliance>, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    let wings = scope_at(&caller, &state, &code, Action::ViewMeetings).await?;
    let monday = match present(&q.week) {
        Some(w) => sangathan_core::meetings::parse_week(w)?,
        None => clock::today(),
    };
    // Only the wings the caller holds posts of here are counted.
    Ok(Json(
        state
            .store
            .compliance_in(&code, monday, clock::now(), &wings)
            .await?
            .ok_or(ApiError::NotFound)?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// From (default: 30 days ago).
    pub from: Option<NaiveDate>,
    /// To (default: 90 days ahead).
    pub to: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Meetings {
    pub meetings: Vec<MeetingView>,
}

/// Meetings at venues within a unit.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/meetings",
    tag = "meetings",
    params(("code" = String, Path, description = "Unit code"), RangeQuery),
    responses(
        (status = 200, description = "Meetings by date", body = Meetings),
        (status = 404, description = "No such unit", body = ErrorBody),
    )
)]
pub async fn unit_meetings(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Meetings>, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    let wings = scope_at(&caller, &state, &code, Action::ViewMeetings).await?;
    let today = clock::today();
    let from = q.from.unwrap_or(today - chrono::Duration::days(30));
    let to = q.to.unwrap_or(today + chrono::Duration::days(90));
    let mut meetings = state
        .store
        .meetings_within(&code, from, to)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Only the wings the caller holds posts of here.
    let ids: std::collections::HashMap<String, i64> = state
        .store
        .wings()
        .await?
        .into_iter()
        .map(|w| (w.code, w.id))
        .collect();
    meetings.retain(|m| ids.get(&m.wing).is_some_and(|id| wings.contains(*id)));
    Ok(Json(Meetings { meetings }))
}

/// A calendar feed to subscribe to: a series, a unit, or the caller's own meetings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedRequest {
    pub kind: FeedKind,
    /// The series id (kind `series`).
    pub series: Option<i64>,
    /// The unit code (kind `unit`).
    pub unit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedCreated {
    pub id: i64,
    /// The secret URL path (shown once); anyone holding it can read the feed until it is revoked.
    pub url: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/calendar/feeds",
    tag = "meetings",
    request_body = FeedRequest,
    responses(
        (status = 201, description = "Created", body = FeedCreated),
        (status = 404, description = "No such series or unit in the caller's scope", body = ErrorBody),
        (status = 422, description = "Missing series or unit", body = ErrorBody),
    )
)]
pub async fn create_feed(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<FeedRequest>,
) -> Result<Response, ApiError> {
    let target = match body.kind {
        FeedKind::Series => {
            let id = body.series.ok_or_else(|| {
                FieldError::new(
                    "series",
                    "required",
                    "series id is required",
                    "सीरीज़ आईडी आवश्यक है",
                )
            })?;
            series_seen(&caller, &state, &id.to_string(), Action::ViewMeetings)
                .await?
                .id
        }
        FeedKind::Unit => {
            let code = present(&body.unit).ok_or_else(|| {
                FieldError::new(
                    "unit",
                    "required",
                    "unit code is required",
                    "इकाई कोड आवश्यक है",
                )
            })?;
            caller.must_be_able(Action::ViewMeetings)?;
            scope_at(&caller, &state, code, Action::ViewMeetings).await?;
            state
                .store
                .unit_id_of(code)
                .await?
                .ok_or(ApiError::NotFound)?
        }
        FeedKind::Person => caller.actor.person_id.ok_or(ApiError::Forbidden)?,
    };
    let (id, token) = state
        .store
        .create_feed(body.kind, target, &caller.actor.id)
        .await?;
    Ok(AuditNote::new(
        "create-feed",
        Some(format!("feed:{id} {}:{target}", body.kind.code())),
    )
    .on((
        StatusCode::CREATED,
        Json(FeedCreated {
            id,
            url: format!("/ical/{token}.ics"),
        }),
    )))
}

/// Revoke a feed: its URL stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/calendar/feeds/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Feed id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No live feed", body = ErrorBody),
    )
)]
pub async fn revoke_feed(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    let id = id_of(&id)?;
    let by = (!caller.scope.is_state_admin()).then_some(caller.actor.id.as_str());
    if !state.store.revoke_feed(id, by).await? {
        return Err(ApiError::NotFound);
    }
    Ok(AuditNote::new("revoke-feed", Some(format!("feed:{id}"))).on(StatusCode::NO_CONTENT))
}

/// `GET /ical/{token}.ics`: a feed by its secret token, for calendar apps (no login).
pub async fn public_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = file.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    if token.len() > 100 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    let (kind, target, made_by) = state.store.feed(token).await?.ok_or(ApiError::NotFound)?;
    let text = crate::calendar::feed_for(&state.store, kind, target, &made_by)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, ICAL),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        text,
    )
        .into_response())
}

/// Ask a senior to preside: a named person, or the nearest senior office-bearer not asked yet.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChairRequestBody {
    pub person_id: Option<i64>,
    /// Hours to answer before the next senior is asked (default 24).
    pub hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChairRequests {
    pub requests: Vec<ChairRequest>,
}

#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/requests",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = ChairRequestBody,
    responses(
        (status = 201, description = "Asked; every request of the meeting", body = ChairRequests),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 409, description = "A request is already pending or accepted, or the meeting is cancelled", body = ErrorBody),
        (status = 422, description = "Unknown person, or nobody left to ask", body = ErrorBody),
    )
)]
pub async fn request_chair(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ChairRequestBody>,
) -> Result<Response, ApiError> {
    let id = id_of(&id)?;
    let m = state.store.meeting(id).await?.ok_or(ApiError::NotFound)?;
    // The organiser asks for their own meeting; otherwise whoever manages meetings there.
    if m.organiser.is_none() || m.organiser != caller.actor.person_id {
        meeting_seen(&caller, &state, id, Action::ManageMeetings).await?;
    }
    let requests = state
        .store
        .request_chair(
            id,
            body.person_id,
            body.hours.unwrap_or(24),
            &caller.actor.id,
            clock::now(),
        )
        .await?;
    Ok(
        AuditNote::new("request-chair", Some(format!("meeting:{id}")))
            .on((StatusCode::CREATED, Json(ChairRequests { requests }))),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/requests",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting's requests to preside, oldest first", body = ChairRequests),
        (status = 404, description = "No such meeting", body = ErrorBody),
    )
)]
pub async fn list_requests(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ChairRequests>, ApiError> {
    let id = id_of(&id)?;
    let me = caller.actor.person_id;
    let requests = state.store.chair_requests(id).await?;
    if !(me.is_some() && requests.iter().any(|r| Some(r.person_id) == me)) {
        meeting_seen(&caller, &state, id, Action::ViewMeetings).await?;
    }
    Ok(Json(ChairRequests { requests }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerBody {
    pub accept: bool,
}

/// The asked senior accepts (they chair it) or declines (the next senior is asked at once).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/requests/answer",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = AnswerBody,
    responses(
        (status = 200, description = "Answered; the meeting as it stands", body = MeetingView),
        (status = 409, description = "No request waits for the caller", body = ErrorBody),
        (status = 422, description = "Accepting would double-book the caller", body = ErrorBody),
    )
)]
pub async fn answer_request(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Response, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let id = id_of(&id)?;
    let m = state
        .store
        .answer_request(id, me, body.accept, clock::now())
        .await?;
    let action = if body.accept {
        "accept-chair"
    } else {
        "decline-chair"
    };
    Ok(AuditNote::new(action, Some(format!("meeting:{id}"))).on(Json(m)))
}

/// Put a person in charge of a unit's drive or its meetings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChargeBody {
    pub person_id: i64,
    pub unit: String,
    /// `drive` or `meetings`.
    pub what: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Charges {
    pub charges: Vec<Charge>,
}

#[utoipa::path(
    post,
    path = "/api/v1/charges",
    tag = "meetings",
    request_body = ChargeBody,
    responses(
        (status = 201, description = "Given", body = Charge),
        (status = 403, description = "The caller may not appoint", body = ErrorBody),
        (status = 422, description = "Unknown unit, not a user, or not drive/meetings", body = ErrorBody),
    )
)]
pub async fn create_charge(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ChargeBody>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageUsers)?;
    scope_at(&caller, &state, &body.unit, Action::ManageUsers).await?;
    let c = state
        .store
        .add_charge(body.person_id, &body.unit, &body.what, &caller.actor.id)
        .await?;
    Ok(AuditNote::new(
        "add-charge",
        Some(format!("charge:{} person:{} {}", c.id, c.person_id, c.unit)),
    )
    .person(c.person_id)
    .on((StatusCode::CREATED, Json(c))))
}

/// What the caller answers for.
#[utoipa::path(
    get,
    path = "/api/v1/charges",
    tag = "meetings",
    responses((status = 200, description = "The caller's charges", body = Charges))
)]
pub async fn my_charges(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Charges>, ApiError> {
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    Ok(Json(Charges {
        charges: state.store.charges_of(me).await?,
    }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/charges/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Charge id")),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "The caller may not appoint", body = ErrorBody),
        (status = 404, description = "No such charge in force", body = ErrorBody),
    )
)]
pub async fn end_charge(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageUsers)?;
    let id = id_of(&id)?;
    if !state.store.end_charge(id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(AuditNote::new("end-charge", Some(format!("charge:{id}"))).on(StatusCode::NO_CONTENT))
}

/// A unit's weekly digest (as sent to its office-bearers on Mondays), in Hindi and English.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/digest",
    tag = "meetings",
    params(("code" = String, Path, description = "Unit code"), WeekQuery),
    responses(
        (status = 200, description = "The digest", body = crate::digest::Digest),
        (status = 404, description = "No such unit", body = ErrorBody),
    )
)]
pub async fn digest(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<WeekQuery>,
) -> Result<Json<crate::digest::Digest>, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    scope_at(&caller, &state, &code, Action::ViewMeetings).await?;
    let monday = match present(&q.week) {
        Some(w) => sangathan_core::meetings::parse_week(w)?,
        None => clock::today(),
    };
    let d = crate::digest::compose(&state.store, &code, monday, clock::now())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(d))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactsBody {
    pub contacts: Vec<NewContact>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contacts {
    pub contacts: Vec<Contact>,
}

/// Record the people met at a meeting (not members yet) for follow-up; all or none.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/contacts",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = ContactsBody,
    responses(
        (status = 201, description = "Recorded", body = Contacts),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 422, description = "A bad row (named by its index), or a number without consent", body = ErrorBody),
    )
)]
pub async fn add_contacts(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ContactsBody>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::FileReport).await?;
    let contacts = state
        .store
        .add_contacts(m.id, &body.contacts, &caller.actor.id)
        .await?;
    Ok(AuditNote::new(
        "add-contacts",
        Some(format!("meeting:{} {} contacts", m.id, contacts.len())),
    )
    .on((StatusCode::CREATED, Json(Contacts { contacts }))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Only this status.
    pub status: Option<String>,
    /// `true`: only those assigned to the caller.
    pub mine: Option<bool>,
}

/// Contacts at a unit and below, in the wings the caller may see members of, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/contacts",
    tag = "meetings",
    params(("code" = String, Path, description = "Unit code"), ContactQuery),
    responses(
        (status = 200, description = "Contacts", body = Contacts),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    )
)]
pub async fn list_contacts(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ViewMembers)?;
    let wings = scope_at(&caller, &state, &code, Action::ViewMembers).await?;
    let mine = if q.mine == Some(true) {
        Some(caller.actor.person_id.ok_or(ApiError::Forbidden)?)
    } else {
        None
    };
    let contacts = state
        .store
        .contacts(&code, &wings, present(&q.status), mine, 500)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(AuditNote::new(
        "list-contacts",
        Some(format!("{code} {} rows", contacts.len())),
    )
    .on(Json(Contacts { contacts })))
}

/// A contact the caller may work on: assigned to them, or in their scope (members' wings).
/// The assignee may record outcomes and convert; assigning and deleting need the scope.
async fn contact_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
    assignee_ok: bool,
) -> Result<Contact, ApiError> {
    let c = state.store.contact(id_of(id)?).await?;
    if let Some(c) = &c
        && assignee_ok
        && caller.actor.person_id.is_some()
        && c.assigned_to == caller.actor.person_id
    {
        return Ok(c.clone());
    }
    caller.must_be_able(Action::ViewMembers)?;
    let c = c.ok_or(ApiError::NotFound)?;
    let wings = scope_at(caller, state, &c.unit, Action::ViewMembers).await?;
    in_wing(state, &wings, &c.wing).await?;
    Ok(c)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignBody {
    pub person_id: i64,
}

/// Give a contact to someone to call or visit.
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/assign",
    tag = "meetings",
    params(("id" = i64, Path, description = "Contact id")),
    request_body = AssignBody,
    responses(
        (status = 200, description = "Assigned", body = Contact),
        (status = 404, description = "No such contact in the caller's scope", body = ErrorBody),
        (status = 422, description = "Not a user", body = ErrorBody),
    )
)]
pub async fn assign_contact(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssignBody>,
) -> Result<Response, ApiError> {
    let c = contact_seen(&caller, &state, &id, false).await?;
    // The assignee must be able to see this contact themself (its unit and wing).
    let scope = state.store.scope(body.person_id, clock::today()).await?;
    let place = state
        .store
        .place(&c.unit)
        .await?
        .ok_or(ApiError::NotFound)?;
    let wing = wing_id(&state, &c.wing).await?.ok_or(ApiError::NotFound)?;
    if !scope.wings(Action::ViewMembers, &place).contains(wing) {
        return Err(FieldError::new(
            "person_id",
            "not_in_scope",
            "they cannot see members there, so they cannot follow this contact up",
            "वे वहाँ के सदस्य नहीं देख सकते, इसलिए यह संपर्क उन्हें नहीं सौंपा जा सकता",
        )
        .into());
    }
    let c = state.store.assign_contact(c.id, body.person_id).await?;
    Ok(AuditNote::new(
        "assign-contact",
        Some(format!("contact:{} person:{}", c.id, body.person_id)),
    )
    .on(Json(c)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OutcomeBody {
    /// `reached`, `not_reachable`, `will_come`, `moved_away` or `declined`.
    pub status: String,
    #[serde(default)]
    pub note: String,
}

/// Record a follow-up's outcome.
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/outcome",
    tag = "meetings",
    params(("id" = i64, Path, description = "Contact id")),
    request_body = OutcomeBody,
    responses(
        (status = 200, description = "Recorded", body = Contact),
        (status = 404, description = "No such contact for the caller", body = ErrorBody),
        (status = 422, description = "Not an outcome", body = ErrorBody),
    )
)]
pub async fn contact_outcome(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OutcomeBody>,
) -> Result<Response, ApiError> {
    let c = contact_seen(&caller, &state, &id, true).await?;
    let c = state
        .store
        .contact_outcome(c.id, &body.status, &body.note)
        .await?;
    Ok(AuditNote::new(
        "contact-outcome",
        Some(format!("contact:{} {}", c.id, c.status)),
    )
    .on(Json(c)))
}

/// Enrol a contact as a member (name and mobile from the contact unless given) and link them.
/// Retrying is safe: the enrolment's idempotency key is the contact's.
#[utoipa::path(
    post,
    path = "/api/v1/contacts/{id}/convert",
    tag = "meetings",
    params(("id" = i64, Path, description = "Contact id")),
    request_body = crate::routes::members::EnrolRequest,
    responses(
        (status = 200, description = "Enrolled and linked", body = Contact),
        (status = 404, description = "No such contact for the caller", body = ErrorBody),
        (status = 422, description = "The enrolment was refused (fields say why)", body = ErrorBody),
    )
)]
pub async fn convert_contact(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<crate::routes::members::EnrolRequest>,
) -> Result<Response, ApiError> {
    let c = contact_seen(&caller, &state, &id, true).await?;
    // Already a member: nothing to enrol again.
    if c.person_id.is_some() {
        return Ok(AuditNote::new(
            "convert-contact",
            Some(format!("contact:{} (already)", c.id)),
        )
        .on(Json(c)));
    }
    body.name = body.name.or(Some(c.name.clone()));
    body.mobile = body.mobile.or(c.mobile.clone());
    body.wing = body.wing.or(Some(c.wing.clone()));
    body.unit = body.unit.or(Some(c.unit.clone()));
    let (outcome, _, _) = crate::routes::members::enrol_as(
        &caller,
        &state,
        Ok(format!("contact:{}", c.id)),
        &body,
        "contact",
        None,
    )
    .await?;
    let c = state.store.link_contact(c.id, outcome.person_id).await?;
    Ok(AuditNote::new(
        "convert-contact",
        Some(format!("contact:{} person:{}", c.id, outcome.person_id)),
    )
    .person(outcome.person_id)
    .on(Json(c)))
}

/// Delete a contact: on their request, or when they are no longer to be followed up.
#[utoipa::path(
    delete,
    path = "/api/v1/contacts/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such contact for the caller", body = ErrorBody),
    )
)]
pub async fn delete_contact(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = contact_seen(&caller, &state, &id, false).await?;
    if !state.store.delete_contact(c.id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(
        AuditNote::new("delete-contact", Some(format!("contact:{}", c.id)))
            .on(StatusCode::NO_CONTENT),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HolidayBody {
    pub date: NaiveDate,
    pub name: String,
}

/// A date no series meets on (state-wide; the state office's).
#[utoipa::path(
    post,
    path = "/api/v1/holidays",
    tag = "meetings",
    request_body = HolidayBody,
    responses(
        (status = 204, description = "Recorded"),
        (status = 403, description = "For the state office", body = ErrorBody),
        (status = 422, description = "No name", body = ErrorBody),
    )
)]
pub async fn add_holiday(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<HolidayBody>,
) -> Result<Response, ApiError> {
    if !caller.scope.is_state_admin() {
        return Err(ApiError::Forbidden);
    }
    state.store.add_holiday(body.date, &body.name).await?;
    Ok(AuditNote::new("add-holiday", Some(body.date.to_string())).on(StatusCode::NO_CONTENT))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UnavailableBody {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub reason: String,
}

/// A unit that cannot host meetings from one date to another (rotation skips it).
#[utoipa::path(
    post,
    path = "/api/v1/units/{code}/unavailable",
    tag = "meetings",
    params(("code" = String, Path, description = "Unit code")),
    request_body = UnavailableBody,
    responses(
        (status = 204, description = "Recorded"),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
        (status = 422, description = "Dates out of order", body = ErrorBody),
    )
)]
pub async fn set_unavailable(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<UnavailableBody>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageMeetings)?;
    scope_at(&caller, &state, &code, Action::ManageMeetings).await?;
    state
        .store
        .set_unavailable(&code, body.from, body.to, &body.reason)
        .await?;
    Ok(AuditNote::new(
        "unit-unavailable",
        Some(format!("{code} {}..{}", body.from, body.to)),
    )
    .on(StatusCode::NO_CONTENT))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ChainBody {
    /// Unit levels from nearest to highest, e.g. `ac,district,division`.
    pub levels: String,
}

/// The levels a wing's meeting reports climb (the state office's).
#[utoipa::path(
    put,
    path = "/api/v1/wings/{code}/report-chain",
    tag = "meetings",
    params(("code" = String, Path, description = "Wing code")),
    request_body = ChainBody,
    responses(
        (status = 200, description = "Set", body = ChainBody),
        (status = 403, description = "For the state office", body = ErrorBody),
        (status = 422, description = "Not a chain of levels, or no such wing", body = ErrorBody),
    )
)]
pub async fn set_report_chain(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<ChainBody>,
) -> Result<Response, ApiError> {
    if !caller.scope.is_state_admin() {
        return Err(ApiError::Forbidden);
    }
    let chain = sangathan_core::meetings::parse_chain(&body.levels)?;
    state.store.set_report_chain(&code, &chain).await?;
    Ok(AuditNote::new("report-chain", Some(format!("{code}: {}", body.levels))).on(Json(body)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailBody {
    /// An address for notifications; absent or empty: back to SMS.
    pub email: Option<String>,
}

/// Where a user's notifications go: their own, or anyone's for those who manage users.
#[utoipa::path(
    put,
    path = "/api/v1/users/{mobile}/email",
    tag = "meetings",
    params(("mobile" = String, Path, description = "The user's mobile")),
    request_body = EmailBody,
    responses(
        (status = 204, description = "Set"),
        (status = 403, description = "Someone else's, without the right to manage users", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 422, description = "Not an email address", body = ErrorBody),
    )
)]
pub async fn set_email(
    caller: Caller,
    State(state): State<AppState>,
    Path(mobile): Path<String>,
    ApiJson(body): ApiJson<EmailBody>,
) -> Result<Response, ApiError> {
    let m = sangathan_core::ids::Mobile::parse(&mobile).map_err(|_| ApiError::NotFound)?;
    let user = state.store.user_by_mobile(m.e164()).await?;
    let own = user
        .as_ref()
        .is_some_and(|u| Some(u.person_id) == caller.actor.person_id);
    if !own {
        caller.must_be_able(Action::ManageUsers)?;
    }
    let user = user.ok_or(ApiError::NotFound)?;
    if !state
        .store
        .set_email(user.person_id, present(&body.email))
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(
        AuditNote::new("set-email", Some(format!("person:{}", user.person_id)))
            .person(user.person_id)
            .on(StatusCode::NO_CONTENT),
    )
}

fn photo_number(n: &str) -> Result<u32, ApiError> {
    n.trim().parse().map_err(|_| ApiError::NotFound)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Photos {
    pub photos: Vec<sangathan_store::meetings::PhotoInfo>,
}

/// A meeting's photos (numbers, types, sizes).
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/photos",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The photos", body = Photos),
        (status = 404, description = "No such meeting", body = ErrorBody),
    )
)]
pub async fn list_photos(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Photos>, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ViewMeetings).await?;
    Ok(Json(Photos {
        photos: state.store.photos(m.id).await?,
    }))
}

/// Upload photo N (1 to 3) of a meeting: the body is the image itself (JPEG, PNG or WebP, at
/// most 512 KB); a photo already there is replaced.
#[utoipa::path(
    put,
    path = "/api/v1/meetings/{id}/photos/{n}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id"), ("n" = u32, Path, description = "1, 2 or 3")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 200, description = "Kept", body = sangathan_store::meetings::PhotoInfo),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 413, description = "Larger than 512 KB", body = ErrorBody),
        (status = 422, description = "Not an image, or not 1 to 3", body = ErrorBody),
    )
)]
pub async fn put_photo(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::FileReport).await?;
    let n = photo_number(&n)?;
    // Read at most one byte past the limit: a larger photo is refused without buffering it.
    let bytes = axum::body::to_bytes(body, sangathan_core::meetings::PHOTO_MAX_BYTES + 1)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    if bytes.len() > sangathan_core::meetings::PHOTO_MAX_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let info = state
        .store
        .put_photo(m.id, n, &bytes, &caller.actor.id)
        .await?;
    Ok(AuditNote::new("put-photo", Some(format!("meeting:{} photo {n}", m.id))).on(Json(info)))
}

#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}/photos/{n}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id"), ("n" = u32, Path, description = "1, 2 or 3")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>),
        (status = 404, description = "No such meeting or photo", body = ErrorBody),
    )
)]
pub async fn get_photo(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::ViewMeetings).await?;
    let (ct, bytes) = state
        .store
        .photo(m.id, photo_number(&n)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(
        AuditNote::new("view-photo", Some(format!("meeting:{} photo {n}", m.id))).on((
            [
                (header::CONTENT_TYPE, ct),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            bytes,
        )),
    )
}

#[utoipa::path(
    delete,
    path = "/api/v1/meetings/{id}/photos/{n}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id"), ("n" = u32, Path, description = "1, 2 or 3")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such meeting or photo", body = ErrorBody),
    )
)]
pub async fn delete_photo(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::FileReport).await?;
    if !state.store.delete_photo(m.id, photo_number(&n)?).await? {
        return Err(ApiError::NotFound);
    }
    Ok(
        AuditNote::new("delete-photo", Some(format!("meeting:{} photo {n}", m.id)))
            .on(StatusCode::NO_CONTENT),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointQuery {
    /// Only points for this audience tag.
    pub audience: Option<String>,
    /// `true`: drafts too (for those who may write talking points).
    pub drafts: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Points {
    pub talking_points: Vec<sangathan_store::meetings::Point>,
}

/// The talking-point library of the caller's wings: published ones, most used first.
#[utoipa::path(
    get,
    path = "/api/v1/talking-points",
    tag = "meetings",
    params(PointQuery),
    responses(
        (status = 200, description = "The library", body = Points),
        (status = 403, description = "The caller's posts take no part in meetings", body = ErrorBody),
    )
)]
pub async fn list_points(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PointQuery>,
) -> Result<Json<Points>, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    let drafts = q.drafts == Some(true);
    let wings = if drafts {
        caller.scope.wings_for(Action::ManageMeetings)
    } else {
        caller.scope.wings_for(Action::ViewMeetings)
    };
    Ok(Json(Points {
        talking_points: state
            .store
            .points(&wings, present(&q.audience), drafts)
            .await?,
    }))
}

/// A talking point the caller may read: published in a wing they take part in meetings of, or
/// any in a wing they may write for.
async fn point_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
) -> Result<sangathan_store::meetings::Point, ApiError> {
    caller.must_be_able(Action::ViewMeetings)?;
    let p = state
        .store
        .point(id_of(id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let wing = wing_id(state, &p.wing).await?.ok_or(ApiError::NotFound)?;
    let reads =
        p.status == "published" && caller.scope.wings_for(Action::ViewMeetings).contains(wing);
    if reads
        || caller
            .scope
            .wings_for(Action::ManageMeetings)
            .contains(wing)
    {
        Ok(p)
    } else {
        Err(ApiError::Hidden)
    }
}

/// Refuse writing for a wing the caller may not manage meetings of.
async fn may_write_points(caller: &Caller, state: &AppState, wing: &str) -> Result<(), ApiError> {
    caller.must_be_able(Action::ManageMeetings)?;
    match wing_id(state, wing).await? {
        Some(w) if !caller.scope.wings_for(Action::ManageMeetings).contains(w) => {
            Err(ApiError::Forbidden)
        }
        _ => Ok(()),
    }
}

/// Add a talking point (Hindi and/or English; draft or published).
#[utoipa::path(
    post,
    path = "/api/v1/talking-points",
    tag = "meetings",
    request_body = NewPoint,
    responses(
        (status = 201, description = "Added (version 1)", body = sangathan_store::meetings::Point),
        (status = 403, description = "Not a wing the caller may write for", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn create_point(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewPoint>,
) -> Result<Response, ApiError> {
    may_write_points(&caller, &state, &body.wing).await?;
    let p = state.store.add_point(&body, &caller.actor.id).await?;
    Ok(
        AuditNote::new("add-talking-point", Some(format!("point:{}", p.id)))
            .on((StatusCode::CREATED, Json(p))),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/talking-points/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Talking point id")),
    responses(
        (status = 200, description = "The point", body = sangathan_store::meetings::Point),
        (status = 404, description = "No such point for the caller", body = ErrorBody),
    )
)]
pub async fn get_point(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<sangathan_store::meetings::Point>, ApiError> {
    Ok(Json(point_seen(&caller, &state, &id).await?))
}

/// Edit a talking point: the next version (the ones before are kept).
#[utoipa::path(
    put,
    path = "/api/v1/talking-points/{id}",
    tag = "meetings",
    params(("id" = i64, Path, description = "Talking point id")),
    request_body = NewPoint,
    responses(
        (status = 200, description = "Edited", body = sangathan_store::meetings::Point),
        (status = 404, description = "No such point for the caller", body = ErrorBody),
        (status = 422, description = "Invalid fields (nothing written)", body = ErrorBody),
    )
)]
pub async fn edit_point(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewPoint>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::ManageMeetings)?;
    let p = state
        .store
        .point(id_of(&id)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let wing = wing_id(&state, &p.wing).await?.ok_or(ApiError::NotFound)?;
    if !caller
        .scope
        .wings_for(Action::ManageMeetings)
        .contains(wing)
    {
        return Err(ApiError::Hidden);
    }
    let p = state
        .store
        .edit_point(p.id, &body, &caller.actor.id)
        .await?;
    Ok(AuditNote::new(
        "edit-talking-point",
        Some(format!("point:{} v{}", p.id, p.version)),
    )
    .on(Json(p)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointVersions {
    pub versions: Vec<sangathan_store::meetings::PointVersion>,
}

/// Every version of a talking point, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/talking-points/{id}/versions",
    tag = "meetings",
    params(("id" = i64, Path, description = "Talking point id")),
    responses(
        (status = 200, description = "The versions", body = PointVersions),
        (status = 404, description = "No such point for the caller", body = ErrorBody),
    )
)]
pub async fn point_versions(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PointVersions>, ApiError> {
    let p = point_seen(&caller, &state, &id).await?;
    Ok(Json(PointVersions {
        versions: state.store.point_versions(p.id).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AttachBody {
    /// Published talking points of the meeting's wing.
    pub ids: Vec<i64>,
}

/// Put talking points on a meeting's agenda (each counts one use, once per meeting).
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/talking-points",
    tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = AttachBody,
    responses(
        (status = 200, description = "The agenda's talking points", body = Points),
        (status = 404, description = "No such meeting", body = ErrorBody),
        (status = 422, description = "Not a published point of the meeting's wing (nothing attached)", body = ErrorBody),
    )
)]
pub async fn attach_points(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AttachBody>,
) -> Result<Response, ApiError> {
    let m = meeting_seen(&caller, &state, id_of(&id)?, Action::FileReport).await?;
    let talking_points = state.store.attach_points(m.id, &body.ids).await?;
    Ok(
        AuditNote::new("attach-talking-points", Some(format!("meeting:{}", m.id)))
            .on(Json(Points { talking_points })),
    )
}
