//! Liveness and the API's own description.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::Health;
use crate::error::ErrorBody;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// Liveness: answers without a token and without touching the database.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The server is up", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// This API's OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3 document", body = Object, content_type = "application/json"),
        (status = 401, description = "No or bad token", body = ErrorBody),
    )
)]
pub async fn openapi_json(_caller: Caller, State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.clone(),
    )
}
