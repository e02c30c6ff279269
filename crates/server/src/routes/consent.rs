//! The consent notice shown at enrolment, and sensitive fields as aggregates only.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use sangathan_core::access::Action;
use sangathan_core::consent;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurposeDto {
    pub code: String,
    pub en: String,
    pub hi: String,
    pub required: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeDto {
    /// Send this as `consent_notice` with an enrolment.
    pub version: String,
    /// The notice in English (Markdown).
    pub en: String,
    /// The notice in Hindi (Markdown).
    pub hi: String,
    pub purposes: Vec<PurposeDto>,
    /// Does this deployment collect community/category and religion (with consent)?
    pub sensitive_fields: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/consent",
    tag = "members",
    security(()),
    responses((status = 200, description = "The current consent notice, in English and Hindi, with its purposes", body = NoticeDto))
)]
pub async fn get_notice(State(state): State<AppState>) -> Result<Json<NoticeDto>, ApiError> {
    let n = consent::current();
    Ok(Json(NoticeDto {
        version: n.version.into(),
        en: n.en.into(),
        hi: n.hi.into(),
        purposes: consent::PURPOSES
            .iter()
            .map(|p| PurposeDto {
                code: p.0.into(),
                en: p.1.into(),
                hi: p.2.into(),
                required: p.3,
            })
            .collect(),
        sensitive_fields: state.store.sensitive_fields().await?,
    }))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SensitiveCountDto {
    /// `category` or `religion`.
    pub field: String,
    pub value: String,
    pub members: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SensitiveAggregates {
    pub unit: String,
    pub collected: bool,
    /// Groups smaller than this are left out.
    pub min_group: i64,
    pub counts: Vec<SensitiveCountDto>,
}

#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/sensitive",
    tag = "units",
    params(("code" = String, Path, description = "Unit code (any case)")),
    responses(
        (status = 200, description = "Counts of community/category and religion among the unit's members (consented, in the caller's wings), groups of 10 or more only", body = SensitiveAggregates),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow sensitive aggregates", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
    )
)]
pub async fn get_sensitive(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let place = state.store.place(&code).await?;
    let wings = caller.wings_at(Action::ViewSensitiveAggregates, place.as_ref())?;
    let collected = state.store.sensitive_fields().await?;
    let counts = if collected {
        state
            .store
            .sensitive_aggregates(&code, &wings)
            .await?
            .ok_or(ApiError::NotFound)?
    } else {
        Vec::new()
    };
    Ok(
        AuditNote::new("view-sensitive-aggregates", Some(code.to_ascii_uppercase())).on(Json(
            SensitiveAggregates {
                unit: code.to_ascii_uppercase(),
                collected,
                min_group: consent::MIN_GROUP,
                counts: counts
                    .into_iter()
                    .map(|c| SensitiveCountDto {
                        field: c.field,
                        value: c.value,
                        members: c.members,
                    })
                    .collect(),
            },
        )),
    )
}
