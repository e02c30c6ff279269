//! Duplicate review, and merges that lose nothing and can be undone.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::dto::{Duplicates, MergeOutcomeDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, present};
use crate::routes::members::{DEFAULT_LIMIT, MAX_LIMIT};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use sangathan_core::access::Action;
use sangathan_core::{FieldError, Invalid};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicatesQuery {
    /// How many pairs at most, 1–500; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// Pairs of live people in a unit's subtree who look like one person: the same mobile with
/// names that match across scripts ("Ram Prakash" and "राम प्रकाश"), or the same name and
/// birth year in one booth. Lowest ids first, each pair once.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/duplicates",
    tag = "merges",
    params(("code" = String, Path, description = "Unit code (any case)"), DuplicatesQuery),
    responses(
        (status = 200, description = "The candidate pairs", body = Duplicates),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "Bad limit", body = ErrorBody),
    )
)]
pub async fn get_duplicates(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<DuplicatesQuery>,
) -> Result<Response, ApiError> {
    let limit = match present(&q.limit).map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => {
            return Err(FieldError::new(
                "limit",
                "invalid_limit",
                format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                format!("limit 1 से {MAX_LIMIT} तक की पूर्ण संख्या होनी चाहिए"),
            )
            .into());
        }
    };
    let place = state.store.place(&code).await?;
    let wings = caller.wings_at(Action::Merge, place.as_ref())?;
    let candidates = state
        .store
        .duplicate_candidates(&code, &wings, limit)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(
        AuditNote::new("review-duplicates", Some(code.to_ascii_uppercase())).on(Json(Duplicates {
            candidates: candidates.into_iter().map(Into::into).collect(),
        })),
    )
}

/// May the caller merge this person: a membership of theirs in the caller's Merge scope.
async fn may_merge(caller: &Caller, state: &AppState, person: i64) -> Result<bool, ApiError> {
    let Some((home, places)) = state.store.person_places(person).await? else {
        return Ok(false);
    };
    Ok(places
        .iter()
        .any(|(p, w)| caller.scope.allows(Action::Merge, p, *w))
        || caller.scope.wings(Action::Merge, &home) == sangathan_core::access::Wings::All)
}

/// Two records of one person: merge `from` into `into`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = MergeRequest)]
pub struct MergeRequest {
    /// The record to merge away (kept as history).
    #[schema(example = 42)]
    pub from: Option<i64>,
    /// The person who remains.
    #[schema(example = 17)]
    pub into: Option<i64>,
}

/// Merge one person's record into another's, losing nothing: identifiers `into` lacks move
/// over, `from`'s memberships move to `into` (in a wing both hold, `from`'s is cancelled and
/// no longer counted), `from` stays as history pointing at `into`. Audited (actor and time) and
/// undone by `DELETE /api/v1/merges/{id}`.
#[utoipa::path(
    post,
    path = "/api/v1/merges",
    tag = "merges",
    request_body = MergeRequest,
    responses(
        (status = 201, description = "Merged", body = MergeOutcomeDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 422, description = "Refused: missing ids, the same person, an unknown or already merged person, or two different EPICs (nothing written)", body = ErrorBody),
        (status = 503, description = "A first load of members is running or was interrupted (code `first_load_pending`): nothing was written", body = ErrorBody),
    )
)]
pub async fn create_merge(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<MergeRequest>,
) -> Result<Response, ApiError> {
    let mut errs = Vec::new();
    for (field, v) in [("from", body.from), ("into", body.into)] {
        if v.is_none() {
            errs.push(FieldError::new(
                field,
                "person_required",
                format!("{field} is required: a person id"),
                format!("{field} आवश्यक है: व्यक्ति की आईडी"),
            ));
        }
    }
    let (Some(from), Some(into)) = (body.from, body.into) else {
        return Err(Invalid(errs).into());
    };
    // Both people must be the caller's to merge; otherwise they do not exist for them.
    caller.must_be_able(Action::Merge)?;
    for (field, id) in [("from", from), ("into", into)] {
        if !may_merge(&caller, &state, id).await? {
            return Err(FieldError::new(
                field,
                "unknown_person",
                format!("no such person: {id}"),
                format!("ऐसा कोई व्यक्ति नहीं: {id}"),
            )
            .into());
        }
    }
    let outcome = state.store.merge(from, into, &caller.actor.id).await?;
    let record = format!(
        "merge:{} person:{from} into person:{into}",
        outcome.merge_id
    );
    Ok(AuditNote::new("merge", Some(record))
        .person(into)
        .on((StatusCode::CREATED, Json(MergeOutcomeDto::from(outcome)))))
}

/// Undo a merge exactly: memberships, statuses, counters and identifiers as they were.
#[utoipa::path(
    delete,
    path = "/api/v1/merges/{merge_id}",
    tag = "merges",
    params(("merge_id" = i64, Path, description = "The merge's id")),
    responses(
        (status = 200, description = "Undone: what was put back", body = MergeOutcomeDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such merge", body = ErrorBody),
        (status = 409, description = "Refused: already undone, the person was merged again since, or an identifier to restore is now someone else's", body = ErrorBody),
        (status = 503, description = "A first load of members is running or was interrupted (code `first_load_pending`): nothing was written", body = ErrorBody),
    )
)]
pub async fn undo_merge(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Merge)?;
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let (_, into) = state
        .store
        .merge_parties(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !may_merge(&caller, &state, into).await? {
        return Err(ApiError::Hidden);
    }
    let outcome = state.store.unmerge(id, &caller.actor.id).await?;
    Ok(AuditNote::new("unmerge", Some(format!("merge:{id}")))
        .person(into)
        .on(Json(MergeOutcomeDto::from(outcome))))
}
