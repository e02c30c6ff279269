//! Wings and campaigns.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::{CampaignDto, Campaigns, Wings};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, present};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use sangathan_core::access::Action;
use sangathan_core::{FieldError, Invalid};
use sangathan_store::NewCampaign;
use serde::Deserialize;
use utoipa::ToSchema;

/// The wings of the organisation.
#[utoipa::path(
    get,
    path = "/api/v1/wings",
    tag = "campaigns",
    responses(
        (status = 200, description = "All wings", body = Wings),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn list_wings(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Wings>, ApiError> {
    caller.must_be_able(Action::ViewUnit)?;
    let wings = state.store.wings().await?;
    Ok(Json(Wings {
        wings: wings.into_iter().map(Into::into).collect(),
    }))
}

/// All campaigns, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns",
    tag = "campaigns",
    responses(
        (status = 200, description = "All campaigns", body = Campaigns),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn list_campaigns(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Campaigns>, ApiError> {
    caller.must_be_able(Action::ViewUnit)?;
    let campaigns = state.store.campaigns().await?;
    Ok(Json(Campaigns {
        campaigns: campaigns.into_iter().map(Into::into).collect(),
    }))
}

/// One campaign by its code.
#[utoipa::path(
    get,
    path = "/api/v1/campaigns/{code}",
    tag = "campaigns",
    params(("code" = String, Path, description = "Campaign code")),
    responses(
        (status = 200, description = "The campaign", body = CampaignDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
    )
)]
pub async fn get_campaign(
    caller: Caller,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<CampaignDto>, ApiError> {
    caller.must_be_able(Action::ViewUnit)?;
    let campaign = state
        .store
        .campaign(&code)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(campaign.into()))
}

/// A new campaign. Its target per AC is split over the sectors and booths of every AC.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = NewCampaign)]
pub struct NewCampaignRequest {
    /// 1–40 letters, digits, `-` or `_`.
    #[schema(example = "drive-2025")]
    pub code: Option<String>,
    pub name: Option<String>,
    pub name_hi: Option<String>,
    /// Wing code or name.
    #[schema(example = "party")]
    pub wing: Option<String>,
    #[schema(value_type = String, format = Date, example = "2025-01-01")]
    pub start_date: Option<String>,
    #[schema(value_type = String, format = Date, example = "2025-12-31")]
    pub end_date: Option<String>,
    #[schema(example = 45000)]
    pub target_per_ac: Option<i64>,
    /// What drives percentage and pacing: `verified` (the default) or `achieved`.
    #[schema(example = "verified")]
    pub counts: Option<String>,
    /// How members may be verified: any of `code`, `missed_call`, `officer` (default: all three).
    #[schema(example = json!(["code", "officer"]))]
    pub verify_by: Option<Vec<String>>,
}

fn required(field: &str, en: &str, hi: &str) -> FieldError {
    FieldError::new(
        field,
        "required",
        format!("{en} is required"),
        format!("{hi} आवश्यक है"),
    )
}

fn date(
    field: &str,
    value: Option<&str>,
    en: &str,
    hi: &str,
    errs: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    let Some(v) = value else {
        errs.push(required(field, en, hi));
        return None;
    };
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errs.push(FieldError::new(
                field,
                "invalid_date",
                format!("{en} must be a date written YYYY-MM-DD"),
                format!("{hi} YYYY-MM-DD रूप की तिथि होनी चाहिए"),
            ));
            None
        }
    }
}

/// Checks presence and form; the store checks the rest (code shape, dates in order, wing, duplicates).
pub fn validate_campaign(body: &NewCampaignRequest) -> Result<NewCampaign, Invalid> {
    let mut errs = Vec::new();
    let code = present(&body.code);
    if code.is_none() {
        errs.push(required("code", "campaign code", "अभियान कोड"));
    }
    let name = present(&body.name);
    if name.is_none() {
        errs.push(required("name", "campaign name", "अभियान का नाम"));
    }
    let wing = present(&body.wing);
    if wing.is_none() {
        errs.push(required("wing", "wing", "शाखा"));
    }
    let start = date(
        "start_date",
        present(&body.start_date),
        "start date",
        "आरंभ तिथि",
        &mut errs,
    );
    let end = date(
        "end_date",
        present(&body.end_date),
        "end date",
        "समाप्ति तिथि",
        &mut errs,
    );
    if body.target_per_ac.is_none() {
        errs.push(required(
            "target_per_ac",
            "target per AC",
            "प्रति विधानसभा लक्ष्य",
        ));
    }
    match (code, name, wing, start, end, body.target_per_ac) {
        (
            Some(code),
            Some(name),
            Some(wing),
            Some(start_date),
            Some(end_date),
            Some(target_per_ac),
        ) if errs.is_empty() => Ok(NewCampaign {
            code: code.to_string(),
            name: name.to_string(),
            name_hi: present(&body.name_hi).unwrap_or_default().to_string(),
            wing: wing.to_string(),
            start_date,
            end_date,
            target_per_ac,
            counts: present(&body.counts).map(String::from),
            verify_by: body.verify_by.clone(),
        }),
        _ => Err(Invalid(errs)),
    }
}

/// Create a campaign. Nothing is written when anything is invalid.
#[utoipa::path(
    post,
    path = "/api/v1/campaigns",
    tag = "campaigns",
    request_body = NewCampaignRequest,
    responses(
        (status = 201, description = "Created", body = CampaignDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 422, description = "Invalid fields, unknown wing or duplicate code", body = ErrorBody),
    )
)]
pub async fn create_campaign(
    caller: Caller,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewCampaignRequest>,
) -> Result<(StatusCode, Json<CampaignDto>), ApiError> {
    caller.must_be_able(Action::ManageCampaigns)?;
    let new = validate_campaign(&body)?;
    let campaign = state.store.create_campaign(&new).await?;
    Ok((StatusCode::CREATED, Json(campaign.into())))
}
