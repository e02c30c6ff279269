//! The geography and progress against targets.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::{Children, ProgressDto, UnitDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, present};
use axum::Json;
use axum::extract::{Path, State};
use sangathan_core::access::{Action, Wings};
use sangathan_store::clock;
use serde::Deserialize;
use utoipa::IntoParams;

/// One unit by its code (any case).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}",
    tag = "units",
    params(("code" = String, Path, description = "Unit code, e.g. `UP-AC-173` (any case)")),
    responses(
        (status = 200, description = "The unit", body = UnitDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
    )
)]
pub async fn get_unit(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<UnitDto>, ApiError> {
    in_scope(&caller, &state, &code).await?;
    let unit = state.store.unit(&code).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(unit.into()))
}

/// The children of a unit in the tree (a booth has none).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/children",
    tag = "units",
    params(("code" = String, Path, description = "Unit code (any case)")),
    responses(
        (status = 200, description = "The unit's children", body = Children),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
    )
)]
pub async fn get_children(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<Children>, ApiError> {
    in_scope(&caller, &state, &code).await?;
    let unit = state.store.unit(&code).await?.ok_or(ApiError::NotFound)?;
    let children = state
        .store
        .children(&unit.code)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Children {
        unit: unit.code,
        children: children.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// Campaign code; default: the first campaign.
    pub campaign: Option<String>,
}

/// Target, achievement and pace of a unit and each of its children, today (IST).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/progress",
    tag = "units",
    params(("code" = String, Path, description = "Unit code (any case)"), ProgressQuery),
    responses(
        (status = 200, description = "Progress of the unit and its children", body = ProgressDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "Unknown campaign", body = ErrorBody),
    )
)]
pub async fn get_progress(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> Result<Json<ProgressDto>, ApiError> {
    let progress = progress_seen(&caller, &state, &code, present(&q.campaign)).await?;
    Ok(Json(progress.into()))
}

/// A unit's progress in a campaign (default: the first), if the caller may follow it there:
/// the one rule for the API and the pages.
pub async fn progress_seen(
    caller: &Caller,
    state: &AppState,
    code: &str,
    campaign: Option<&str>,
) -> Result<sangathan_store::Progress, ApiError> {
    let wings = in_scope(caller, state, code).await?;
    // A campaign of a wing the caller holds no post in is not theirs to follow.
    if let Some(c) = campaign
        && let Some(c) = state.store.campaign(c).await?
        && let Some(w) = state.store.wings().await?.iter().find(|w| w.code == c.wing)
        && !wings.contains(w.id)
    {
        return Err(ApiError::Hidden);
    }
    state
        .store
        .progress(code, campaign, clock::today())
        .await?
        .ok_or(ApiError::NotFound)
}

/// A unit the caller may see (figures, not people); outside the scope it does not exist.
pub async fn in_scope(caller: &Caller, state: &AppState, code: &str) -> Result<Wings, ApiError> {
    scope_at(caller, state, code, Action::ViewUnit).await
}

/// The wings in which the caller may do `action` at the unit `code`; a unit outside the scope
/// answers like one that does not exist.
pub async fn scope_at(
    caller: &Caller,
    state: &AppState,
    code: &str,
    action: Action,
) -> Result<Wings, ApiError> {
    let place = state.store.place(code).await?;
    caller.wings_at(action, place.as_ref())
}

/// [`scope_at`], narrowed to one wing when `wing` (a code, any case) is given: an unknown wing
/// narrows to none, so it reads as empty, never as every wing.
pub async fn scope_narrowed(
    caller: &Caller,
    state: &AppState,
    code: &str,
    action: Action,
    wing: Option<&str>,
) -> Result<Wings, ApiError> {
    let wings = scope_at(caller, state, code, action).await?;
    Ok(match wing.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => wings.narrow(crate::routes::meetings::wing_id(state, w).await?.or(Some(-1))),
        None => wings,
    })
}
