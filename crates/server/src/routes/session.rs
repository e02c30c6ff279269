//! Logging in and out: mobile + password or a one-time code; a server-side session in an
//! HttpOnly cookie; failed attempts limited per account and per address.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::{self, Caller, Kind, client_address};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use sangathan_core::ids::Mobile;
use sangathan_store::{clock, failure_key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Failures allowed per account and per address within [`WINDOW`].
pub const MAX_FAILURES: i64 = 10;
pub const WINDOW: Duration = Duration::minutes(15);
/// One-time codes: valid this long, at most this many per mobile per window.
pub const CODE_TTL: Duration = Duration::minutes(10);
pub const CODES_PER_WINDOW: i64 = 3;

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "9876543210")]
    pub mobile: Option<String>,
    pub password: Option<String>,
    /// A one-time code from `POST /api/v1/session/code`, instead of the password.
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionDto {
    /// Send this in `X-CSRF-Token` with every state-changing request made with the cookie.
    pub csrf_token: String,
    pub person_id: i64,
    /// `user` (office-bearer) or `member` (self-service).
    pub kind: String,
    /// Idle and absolute limits, in minutes.
    pub idle_minutes: i64,
    pub absolute_minutes: i64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CodeRequest {
    #[schema(example = "9876543210")]
    pub mobile: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CodeSent {
    /// Always true: whether the mobile is known is never revealed.
    pub accepted: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WhoAmI {
    pub actor: String,
    pub person_id: Option<i64>,
    pub kind: String,
    /// Posts held now, `ROLE@UNIT:WING`.
    pub posts: Vec<String>,
    /// With a session cookie: its CSRF token (the web app's offline outbox reads it before
    /// sending; another site cannot read this answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

pub(crate) fn wrong_login() -> ApiError {
    ApiError::LoginFailed
}

pub(crate) fn mobile_of(m: &Option<String>) -> Result<Mobile, ApiError> {
    let raw = m
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            sangathan_core::FieldError::new(
                "mobile",
                "mobile_required",
                "mobile is required",
                "मोबाइल नंबर आवश्यक है",
            )
        })?;
    Ok(Mobile::parse(raw)?)
}

/// 429 when the account or the address has failed too often lately.
pub(crate) async fn check_limits(state: &AppState, keys: &[String]) -> Result<(), ApiError> {
    let now = clock::now();
    for k in keys {
        let (n, oldest) = state.store.failures(k, now - WINDOW).await?;
        if n >= MAX_FAILURES {
            let wait = oldest
                .map(|o| (o + WINDOW - now).num_seconds())
                .unwrap_or(WINDOW.num_seconds());
            return Err(ApiError::TooManyRequests(wait.max(1)));
        }
    }
    Ok(())
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure behind TLS.
pub(crate) fn session_cookie(
    state: &AppState,
    headers: &HeaderMap,
    value: &str,
    max_age: i64,
) -> HeaderValue {
    let behind_tls = state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https");
    let secure = if behind_tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        auth::SESSION_COOKIE
    ))
    .expect("cookie is ASCII")
}

pub(crate) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    person_id: i64,
    kind: &str,
) -> Result<Response, ApiError> {
    let (id, csrf) = state.store.create_session(person_id, kind).await?;
    let mut res = (
        StatusCode::CREATED,
        Json(SessionDto {
            csrf_token: csrf,
            person_id,
            kind: kind.into(),
            idle_minutes: auth::IDLE.num_minutes(),
            absolute_minutes: auth::ABSOLUTE.num_minutes(),
        }),
    )
        .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state, headers, &id, auth::ABSOLUTE.num_seconds()),
    );
    Ok(AuditNote::new(
        &format!("login-{kind}"),
        Some(format!("person:{person_id}")),
    )
    .person(person_id)
    .actor(format!("person:{person_id}"))
    .on(res))
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 201, description = "Logged in: the session cookie is set", body = SessionDto),
        (status = 401, description = "Wrong mobile, password or code (never says which)", body = ErrorBody),
        (status = 422, description = "Missing or malformed mobile", body = ErrorBody),
        (status = 429, description = "Too many failures for this account or address: see Retry-After", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ext: Extensions,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    match check_login(&state, &ext, &body).await? {
        Ok(person_id) => start_session(&state, &headers, person_id, "user").await,
        Err(note) => Ok(note.on(wrong_login())),
    }
}

/// Checks a login attempt against the limits, the password or the one-time code: the person
/// to start a session for, or the audit note of the failure. The one rule for the API and the
/// login page.
pub(crate) async fn check_login(
    state: &AppState,
    ext: &Extensions,
    body: &LoginRequest,
) -> Result<Result<i64, AuditNote>, ApiError> {
    let mobile = mobile_of(&body.mobile)?;
    let keys = [
        failure_key("account", mobile.e164()),
        failure_key("address", &client_address(ext)),
    ];
    check_limits(state, &keys).await?;
    // The attempt counts as a failure before it is checked (parallel guesses cannot slip past
    // the limit) and is taken back if it succeeds.
    state.store.note_failure(&keys).await?;
    let user = state.store.user_by_mobile(mobile.e164()).await?;
    let ok = match (&body.password, &body.code) {
        (Some(p), _) if !p.is_empty() => {
            let hash = user.as_ref().and_then(|u| u.password_hash.clone());
            let matched = auth::verify_password(p, hash.as_deref().unwrap_or(auth::dummy_hash()));
            matched && hash.is_some()
        }
        (_, Some(c)) if !c.trim().is_empty() => {
            state.store.redeem_code(mobile.e164(), "login", c).await?
        }
        _ => false,
    };
    match user {
        Some(u) if ok && !u.disabled => {
            state.store.forgive_failure(&keys).await?;
            Ok(Ok(u.person_id))
        }
        other => {
            let mut note = AuditNote::new("login-failed", None);
            note.person_id = other.map(|u| u.person_id);
            Ok(Err(note))
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/session/code",
    tag = "session",
    security(()),
    request_body = CodeRequest,
    responses(
        (status = 202, description = "If the mobile belongs to a user, a one-time code (valid 10 minutes) is on its way", body = CodeSent),
        (status = 422, description = "Missing or malformed mobile", body = ErrorBody),
        (status = 429, description = "Too many failures from this address", body = ErrorBody),
    )
)]
pub async fn send_login_code(
    State(state): State<AppState>,
    ext: Extensions,
    ApiJson(body): ApiJson<CodeRequest>,
) -> Result<Response, ApiError> {
    answer_code_request(&state, &ext, &body, "login").await
}

/// Send a one-time code if the mobile is known for `purpose` (`login`: an enabled user;
/// `member`: members held on it); the answer is the same either way.
pub(crate) async fn answer_code_request(
    state: &AppState,
    ext: &Extensions,
    body: &CodeRequest,
    purpose: &str,
) -> Result<Response, ApiError> {
    let mobile = mobile_of(&body.mobile)?;
    // Every code request counts against the address: one address cannot text the whole state.
    let key = [failure_key("code-address", &client_address(ext))];
    check_limits(state, &key).await?;
    state.store.note_failure(&key).await?;
    let known = if purpose == "login" {
        state
            .store
            .user_by_mobile(mobile.e164())
            .await?
            .is_some_and(|u| !u.disabled)
    } else {
        !state
            .store
            .people_on_mobile(mobile.e164())
            .await?
            .is_empty()
    };
    if known {
        send_code(state, &mobile, purpose).await?;
    }
    Ok((StatusCode::ACCEPTED, Json(CodeSent { accepted: true })).into_response())
}

pub(crate) async fn send_code(
    state: &AppState,
    mobile: &Mobile,
    purpose: &str,
) -> Result<(), ApiError> {
    let code = state
        .store
        .issue_code(mobile.e164(), purpose, CODE_TTL, CODES_PER_WINDOW, WINDOW)
        .await?;
    if let Some(code) = code
        && state.config.log_codes
    {
        // Development only (no SMS provider): the code, and only the mobile's last digits.
        let tail: String = mobile
            .e164()
            .chars()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        tracing::info!(purpose, mobile_ends = %tail, %code, "one-time code (development: no SMS provider)");
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "session",
    responses(
        (status = 200, description = "Who is calling, with the posts held now", body = WhoAmI),
        (status = 401, description = "Not logged in", body = ErrorBody),
    )
)]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI {
        actor: caller.actor.id.clone(),
        person_id: caller.actor.person_id,
        kind: if caller.kind == Kind::Member {
            "member"
        } else {
            "user"
        }
        .into(),
        posts: caller.scope.posts.iter().map(|p| p.label.clone()).collect(),
        csrf_token: caller.csrf.clone(),
    })
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    responses(
        (status = 204, description = "Logged out: the session has ended"),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Cookie without the CSRF token", body = ErrorBody),
    )
)]
pub async fn logout(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(id) = &caller.session {
        state.store.touch_session(id, true).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &headers, "", 0));
    Ok(AuditNote::new("logout", None).on(res))
}
