//! Bearer tokens: a middleware in front of every route but `/healthz`, and an extractor that
//! hands the authenticated [`Actor`] to handlers (and authenticates on its own if the middleware
//! was ever left out, so a handler taking [`Caller`] can never be reached anonymously).

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use sangathan_store::Actor;

/// The only paths answered without a token.
pub const PUBLIC_PATHS: &[&str] = &["/healthz"];

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::Unauthorized)?;
    state
        .store
        .authenticate(token)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// Rejects every request without a valid token (except [`PUBLIC_PATHS`]); stores the actor in
/// the request's extensions for [`Caller`].
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if PUBLIC_PATHS.contains(&req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let actor = authenticate(&state, req.headers()).await?;
    req.extensions_mut().insert(actor);
    Ok(next.run(req).await)
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(Caller(actor.clone()));
        }
        let actor = authenticate(state, &parts.headers).await?;
        parts.extensions.insert(actor.clone());
        Ok(Caller(actor))
    }
}
