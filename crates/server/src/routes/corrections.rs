//! Reviewing corrections of members' records: those who may change people's records (the
//! `merge` action: state admin, division in-charge, district president, AC in-charge) list the
//! open requests of their units, apply one (through the enrolment's checks and the identity
//! rules) or decline it with a reason. Every decision is audited.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, present};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use sangathan_core::FieldError;
use sangathan_core::access::{Action, Wings};
use sangathan_store::corrections::Reviewer;
use sangathan_store::{CorrectionRequest, clock};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The most a page of requests holds.
pub const PAGE: u32 = 50;
/// The longest reason a decline may give.
pub const REASON_MAX_CHARS: usize = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectionsQuery {
    /// The `next` value of the previous page.
    #[param(value_type = Option<i64>)]
    pub after: Option<String>,
}

/// A page of open correction requests, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionList {
    pub corrections: Vec<CorrectionRequest>,
    /// Pass as `after` for the next page; none on the last.
    pub next: Option<i64>,
}

/// Why a correction is declined.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct DeclineRequest {
    /// Required; at most 500 characters.
    #[schema(example = "the member's EPIC card shows the name as recorded")]
    pub reason: Option<String>,
}

/// The open requests of a unit's subtree the caller may review, with the audit note.
pub async fn corrections_seen(
    caller: &Caller,
    state: &AppState,
    code: &str,
    after: Option<&str>,
) -> Result<(CorrectionList, AuditNote), ApiError> {
    caller.must_be_able(Action::Merge)?;
    let after = match after.map(str::trim).filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => match a.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                return Err(FieldError::new(
                    "after",
                    "invalid_cursor",
                    "after must be the `next` value of a previous page",
                    "after पिछले पृष्ठ का `next` मान होना चाहिए",
                )
                .into());
            }
        },
    };
    let place = state.store.place(code).await?;
    let wings = caller.wings_at(Action::Merge, place.as_ref())?;
    let post = place
        .as_ref()
        .and_then(|p| caller.post_for(Action::Merge, p, None));
    let mut rows = state
        .store
        .open_corrections(code, &wings, after, PAGE + 1)
        .await?
        .ok_or(ApiError::NotFound)?;
    let next = if rows.len() > PAGE as usize {
        rows.truncate(PAGE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    let note = AuditNote::new("review-corrections", Some(code.to_ascii_uppercase())).post(post);
    Ok((
        CorrectionList {
            corrections: rows,
            next,
        },
        note,
    ))
}

/// One request the caller may decide: its person has a membership in the caller's `merge`
/// scope (or lives where the caller sees every wing); otherwise it does not exist for them.
pub async fn correction_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
) -> Result<(CorrectionRequest, Option<String>), ApiError> {
    caller.must_be_able(Action::Merge)?;
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let r = state
        .store
        .correction(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (home, places) = state
        .store
        .person_places(r.person_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let post = places
        .iter()
        .find(|(p, w)| caller.scope.allows(Action::Merge, p, *w))
        .map(|(p, w)| caller.post_for(Action::Merge, p, Some(*w)));
    let post = match post {
        Some(p) => p,
        None if caller.scope.wings(Action::Merge, &home) == Wings::All => {
            caller.post_for(Action::Merge, &home, None)
        }
        None => return Err(ApiError::Hidden),
    };
    Ok((r, post))
}

/// A decision on a request: `Some(reason)` declines it.
pub async fn decide(
    caller: &Caller,
    state: &AppState,
    id: &str,
    decline: Option<&str>,
) -> Result<(CorrectionRequest, AuditNote), ApiError> {
    let reason = match decline.map(str::trim) {
        None => None,
        Some(r) if r.is_empty() || r.chars().count() > REASON_MAX_CHARS => {
            // Scope first: a request one may not see is not told apart by its validation.
            correction_seen(caller, state, id).await?;
            return Err(FieldError::new(
                "reason",
                "reason_required",
                format!(
                    "say why the correction is declined (at most {REASON_MAX_CHARS} characters)"
                ),
                format!("सुधार अस्वीकार करने का कारण लिखें (अधिकतम {REASON_MAX_CHARS} अक्षर)"),
            )
            .into());
        }
        Some(r) => Some(r.to_string()),
    };
    let (r, post) = correction_seen(caller, state, id).await?;
    let done = match &reason {
        None => {
            // Users log in with their mobile: only a state admin changes one (the store checks),
            // and nobody applies a correction they asked for.
            let by = Reviewer {
                person_id: caller.actor.person_id,
                state_admin: caller.scope.is_state_admin(),
            };
            state
                .store
                .apply_correction(r.id, &by, clock::now())
                .await?
        }
        Some(_) => state.store.decline_correction(r.id, clock::now()).await?,
    };
    let record = match &reason {
        None => format!("correction:{} {}", r.id, r.field),
        Some(why) => format!("correction:{} {} declined: {why}", r.id, r.field),
    };
    let action = if reason.is_some() {
        "decline-correction"
    } else {
        "apply-correction"
    };
    Ok((
        done,
        AuditNote::new(action, Some(record))
            .person(r.person_id)
            .post(post),
    ))
}

/// Open correction requests about members of a unit's subtree, oldest first, 50 a page.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/corrections",
    tag = "members",
    params(("code" = String, Path, description = "Unit code (any case)"), CorrectionsQuery),
    responses(
        (status = 200, description = "The open requests the caller may decide", body = CorrectionList),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's roles may not change people's records", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
        (status = 422, description = "Bad cursor", body = ErrorBody),
    )
)]
pub async fn list_corrections(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<CorrectionsQuery>,
) -> Result<Response, ApiError> {
    let (list, note) = corrections_seen(&caller, &state, &code, present(&q.after)).await?;
    Ok(note.on(Json(list)))
}

/// Apply a correction: the person's field changes, checked as an enrolment is checked (name
/// NFC; mobile and EPIC validated; an adult's birth year) and within the identity rules (an
/// EPIC belongs to one person; one person per mobile and name; the household limit; one login
/// per mobile). A user's mobile (their login) is changed only by a state admin; nobody applies a
/// correction they asked for.
#[utoipa::path(
    post,
    path = "/api/v1/corrections/{id}/apply",
    tag = "members",
    params(("id" = i64, Path, description = "The correction request's id")),
    responses(
        (status = 200, description = "Applied", body = CorrectionRequest),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's roles may not change people's records", body = ErrorBody),
        (status = 404, description = "No such request in the caller's scope", body = ErrorBody),
        (status = 422, description = "Applied or declined already (`correction_decided`); asked for by the caller (`own_correction`); a user's mobile and the caller is no state admin (`user_mobile`); or the value is invalid or clashes with another person's record (nothing written; the request stays open)", body = ErrorBody),
        (status = 503, description = "A first load of members is running or was interrupted (code `first_load_pending`): nothing was written", body = ErrorBody),
    )
)]
pub async fn apply_correction(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (done, note) = decide(&caller, &state, &id, None).await?;
    Ok(note.on(Json(done)))
}

/// Decline a correction, saying why (the reason is kept in the audit log).
#[utoipa::path(
    post,
    path = "/api/v1/corrections/{id}/decline",
    tag = "members",
    params(("id" = i64, Path, description = "The correction request's id")),
    request_body = DeclineRequest,
    responses(
        (status = 200, description = "Declined", body = CorrectionRequest),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's roles may not change people's records", body = ErrorBody),
        (status = 404, description = "No such request in the caller's scope", body = ErrorBody),
        (status = 422, description = "No reason given, or applied or declined already (`correction_decided`)", body = ErrorBody),
    )
)]
pub async fn decline_correction(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeclineRequest>,
) -> Result<Response, ApiError> {
    let reason = body.reason.unwrap_or_default();
    let (done, note) = decide(&caller, &state, &id, Some(&reason)).await?;
    Ok(note.on(Json(done)))
}
