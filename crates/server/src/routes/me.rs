//! Members' rights over their data (DPDP Act 2023): a member, authenticated by a one-time code
//! sent to their mobile, sees everything held about them (and the household records sharing the
//! mobile), asks for a correction, withdraws consent, and erases their record.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::{Caller, Kind, client_address};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::session::{
    CodeRequest, CodeSent, answer_code_request, check_limits, mobile_of, start_session, wrong_login,
};
use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sangathan_core::FieldError;
use sangathan_store::corrections::CORRECTABLE;
use sangathan_store::{AuditEvent, failure_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MemberLogin {
    #[schema(example = "9876543210")]
    pub mobile: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct PersonRef {
    /// One of the records on the member's mobile (`GET /api/v1/me` lists them).
    pub person_id: Option<i64>,
    /// The record's EPIC, when it has one: others sharing the mobile cannot withdraw or erase
    /// it on the code alone.
    pub epic: Option<String>,
}

/// A record with an EPIC is changed only by someone who also gives that EPIC.
async fn confirm_epic(state: &AppState, id: i64, given: &Option<String>) -> Result<(), ApiError> {
    let Some(m) = state.store.member(id).await? else {
        return Err(ApiError::NotFound);
    };
    let Some(held) = m.epic else { return Ok(()) };
    let same = given
        .as_deref()
        .and_then(|g| sangathan_core::ids::Epic::parse(g).ok())
        .is_some_and(|g| g.as_str() == held);
    if same {
        Ok(())
    } else {
        Err(FieldError::new(
            "epic",
            "epic_confirmation_required",
            "give this record's EPIC (voter ID) to confirm it is yours",
            "पुष्टि के लिए इस रिकॉर्ड का EPIC (वोटर आईडी) दें",
        )
        .into())
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CorrectionRequest {
    pub person_id: Option<i64>,
    /// Which field is wrong: name, mobile, epic, gender, birth_year or address.
    pub field: Option<String>,
    /// What it should say.
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Done {
    pub done: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/me/code",
    tag = "me",
    security(()),
    request_body = CodeRequest,
    responses(
        (status = 202, description = "If members are held on this mobile, a one-time code is on its way", body = CodeSent),
        (status = 422, description = "Missing or malformed mobile", body = ErrorBody),
        (status = 429, description = "Too many failures from this address", body = ErrorBody),
    )
)]
pub async fn send_member_code(
    State(state): State<AppState>,
    ext: Extensions,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Response, ApiError> {
    answer_code_request(&state, &ext, &body, "member").await
}

#[utoipa::path(
    post,
    path = "/api/v1/me/session",
    tag = "me",
    security(()),
    request_body = MemberLogin,
    responses(
        (status = 201, description = "A member session (cookie) for the records on this mobile", body = crate::routes::session::SessionDto),
        (status = 401, description = "Wrong or expired code", body = ErrorBody),
        (status = 429, description = "Too many failures", body = ErrorBody),
    )
)]
pub async fn member_login(
    State(state): State<AppState>,
    ext: Extensions,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MemberLogin>,
) -> Result<Response, ApiError> {
    let mobile = mobile_of(&body.mobile)?;
    let keys = [
        failure_key("account", mobile.e164()),
        failure_key("address", &client_address(&ext)),
    ];
    check_limits(&state, &keys).await?;
    state.store.note_failure(&keys).await?;
    let code = body.code.clone().unwrap_or_default();
    let ok = !code.trim().is_empty()
        && state
            .store
            .redeem_code(mobile.e164(), "member", &code)
            .await?;
    let people = state.store.people_on_mobile(mobile.e164()).await?;
    match people.first() {
        Some(first) if ok => {
            state.store.forgive_failure(&keys).await?;
            start_session(&state, &headers, *first, "member").await
        }
        _ => Ok(AuditNote::new("member-login-failed", None).on(wrong_login())),
    }
}

/// The records a member session covers: every live person on the session person's mobile.
async fn household(state: &AppState, caller: &Caller) -> Result<Vec<i64>, ApiError> {
    if caller.kind != Kind::Member {
        return Err(ApiError::Forbidden);
    }
    let me = caller.actor.person_id.ok_or(ApiError::Forbidden)?;
    let Some(m) = state.store.member(me).await? else {
        return Ok(Vec::new());
    };
    match m.mobile {
        Some(mobile) => Ok(state.store.people_on_mobile(&mobile).await?),
        None => Ok(vec![me]),
    }
}

async fn one_of(state: &AppState, caller: &Caller, id: Option<i64>) -> Result<i64, ApiError> {
    let ids = household(state, caller).await?;
    let id = id.or(caller.actor.person_id).ok_or(ApiError::NotFound)?;
    if ids.contains(&id) {
        Ok(id)
    } else {
        Err(ApiError::Hidden)
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "Everything held about the member (and the other records on their mobile), as JSON", body = Object),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Not a member session", body = ErrorBody),
    )
)]
pub async fn my_data(caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut people = Vec::new();
    for id in household(&state, &caller).await? {
        if let Some(d) = state.store.member_data(id).await? {
            people.push(d);
        }
    }
    Ok(AuditNote::new(
        "member-download",
        caller.actor.person_id.map(|p| format!("person:{p}")),
    )
    .on(Json(serde_json::json!({ "people": people }))))
}

#[utoipa::path(
    post,
    path = "/api/v1/me/corrections",
    tag = "me",
    request_body = CorrectionRequest,
    responses(
        (status = 201, description = "The correction request is recorded for the office to act on", body = Done),
        (status = 403, description = "Not a member session", body = ErrorBody),
        (status = 404, description = "Not one of the member's records", body = ErrorBody),
        (status = 422, description = "Missing or unknown field (the unit is not corrected this way)", body = ErrorBody),
    )
)]
pub async fn request_correction(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CorrectionRequest>,
) -> Result<Response, ApiError> {
    let id = one_of(&state, &caller, body.person_id).await?;
    // The fields a review can apply (the home unit is not one: an office-bearer moves a
    // membership).
    const FIELDS: [&str; 6] = CORRECTABLE;
    let field = body.field.as_deref().map(str::trim).unwrap_or("");
    if field == "unit" {
        return Err(FieldError::new(
            "field",
            "unit_not_correctable",
            "the unit cannot be corrected here: ask your local office-bearer to move your membership",
            "इकाई यहाँ नहीं सुधारी जा सकती: अपनी सदस्यता बदलवाने के लिए अपने स्थानीय पदाधिकारी से कहें",
        )
        .into());
    }
    if !FIELDS.contains(&field) {
        return Err(FieldError::new(
            "field",
            "unknown_field",
            format!("field must be one of {}", FIELDS.join(", ")),
            format!("field इनमें से एक होना चाहिए: {}", FIELDS.join(", ")),
        )
        .into());
    }
    let value = body.value.as_deref().map(str::trim).unwrap_or("");
    if value.is_empty() || value.chars().count() > 500 {
        return Err(FieldError::new(
            "value",
            "invalid_value",
            "value is required (at most 500 characters)",
            "value आवश्यक है (अधिकतम 500 अक्षर)",
        )
        .into());
    }
    // The member asked: they may not apply it themselves (should they also review corrections).
    state
        .store
        .file_correction(id, field, value, caller.actor.person_id)
        .await?;
    Ok(
        AuditNote::new("member-correction-request", Some(format!("person:{id}")))
            .person(id)
            .on((StatusCode::CREATED, Json(Done { done: true }))),
    )
}

#[utoipa::path(
    post,
    path = "/api/v1/me/consent/withdraw",
    tag = "me",
    request_body = PersonRef,
    responses(
        (status = 200, description = "Consent withdrawn", body = Done),
        (status = 403, description = "Not a member session", body = ErrorBody),
        (status = 404, description = "Not one of the member's records", body = ErrorBody),
    )
)]
pub async fn withdraw_consent(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PersonRef>,
) -> Result<Response, ApiError> {
    let id = one_of(&state, &caller, body.person_id).await?;
    confirm_epic(&state, id, &body.epic).await?;
    state.store.set_consent(id, None).await?;
    Ok(
        AuditNote::new("member-consent-withdrawn", Some(format!("person:{id}")))
            .person(id)
            .on(Json(Done { done: true })),
    )
}

#[utoipa::path(
    post,
    path = "/api/v1/me/erasure",
    tag = "me",
    request_body = PersonRef,
    responses(
        (status = 200, description = "Erased: nothing personal remains; anonymous counts stay", body = Done),
        (status = 403, description = "Not a member session", body = ErrorBody),
        (status = 404, description = "Not one of the member's records", body = ErrorBody),
    )
)]
pub async fn erase_me(
    caller: Caller,
    State(state): State<AppState>,
    ext: Extensions,
    ApiJson(body): ApiJson<PersonRef>,
) -> Result<Response, ApiError> {
    let id = one_of(&state, &caller, body.person_id).await?;
    confirm_epic(&state, id, &body.epic).await?;
    let event = AuditEvent {
        actor: caller.actor.id.clone(),
        post: None,
        action: "erase".into(),
        record: Some(format!("person:{id}")),
        person_id: Some(id),
        address: Some(client_address(&ext)),
        outcome: "ok".into(),
    };
    let done = state.store.erase(id, &event).await?;
    // The erasure is its own audit event (written with it); nothing more to note.
    Ok(Json(Done { done }).into_response())
}
