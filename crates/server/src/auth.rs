//! Who is calling, and what they may see: bearer tokens (scripts), server-side sessions in an
//! HttpOnly cookie (people), CSRF for cookie-authenticated writes, and the caller's scope loaded
//! fresh on every request (a change of post takes effect on the next one).

use crate::AppState;
use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Duration;
use sangathan_core::access::{Action, Place, Post, Role, Scope, Wings};
use sangathan_store::{Actor, clock};
use std::net::SocketAddr;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "sangathan_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long unused…
pub const IDLE: Duration = Duration::minutes(30);
/// …and this long after login, whatever happens.
pub const ABSOLUTE: Duration = Duration::hours(12);

/// Routes answered without credentials: health, and the ways to log in.
pub fn is_public(method: &Method, path: &str) -> bool {
    match *method {
        // A calendar feed's secret token is its credential (calendar apps cannot log in).
        Method::GET => {
            path == "/healthz"
                || path == "/api/v1/consent"
                || path.starts_with("/ical/")
                // Prometheus: counts only (see metrics.rs); keep it from the internet at the proxy.
                || path == "/metrics"
        }
        Method::POST => matches!(
            path,
            "/api/v1/session"
                | "/api/v1/session/code"
                | "/api/v1/me/code"
                | "/api/v1/me/session"
                // A member confirms with the link's secret token and the code they were sent.
                | "/api/v1/member-verification"
                // The SMS provider's webhook presents its own secret (X-Inbound-Secret).
                | "/api/v1/provider/inbound"
        ),
        _ => false,
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The value of a cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The client's address, for rate limits and the audit log.
pub fn client_address(parts_ext: &axum::http::Extensions) -> String {
    address_of(parts_ext.get::<ConnectInfo<SocketAddr>>().cloned().map(axum::Extension))
}

/// The client's address as the audit log names it, from a handler's optional extractor.
pub fn address_of(from: Option<axum::Extension<ConnectInfo<SocketAddr>>>) -> String {
    from.map(|c| c.0.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// What kind of login a caller has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An office-bearer (or the operator): posts give the scope.
    User,
    /// A member by one-time code: their own records only.
    Member,
}

/// The authenticated caller, with the scope of their posts as of this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub scope: Arc<Scope>,
    pub kind: Kind,
    /// The session id, when authenticated by cookie.
    pub session: Option<String>,
    /// The session's CSRF token (pages put it in their forms and scripts).
    pub csrf: Option<String>,
}

impl Caller {
    /// Who the audit log names for this caller's requests.
    pub fn audit_who(&self) -> AuditWho {
        AuditWho {
            actor: self.actor.id.clone(),
            posts: self.scope.labels(),
        }
    }

    /// May not do `action` anywhere: 403 before anything is looked up.
    pub fn must_be_able(&self, action: Action) -> Result<(), ApiError> {
        if self.kind == Kind::User && self.scope.may_somewhere(action) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The wings the caller may act in at `place`; a place outside the scope answers like one
    /// that does not exist.
    pub fn wings_at(&self, action: Action, place: Option<&Place>) -> Result<Wings, ApiError> {
        self.must_be_able(action)?;
        let place = place.ok_or(ApiError::NotFound)?;
        let w = self.scope.wings(action, place);
        if w.is_none() {
            Err(ApiError::Hidden)
        } else {
            Ok(w)
        }
    }

    /// The post that allows `action` at `place` (for the audit log).
    pub fn post_for(&self, action: Action, place: &Place, wing: Option<i64>) -> Option<String> {
        self.scope
            .granting(action, place, wing)
            .map(|p| p.label.clone())
    }
}

/// Who the audit log names for a response (set by the authentication middleware).
#[derive(Debug, Clone)]
pub struct AuditWho {
    pub actor: String,
    pub posts: Option<String>,
}

async fn operator_scope(state: &AppState) -> Result<Arc<Scope>, ApiError> {
    if let Some(s) = state.operator_scope.get() {
        return Ok(s.clone());
    }
    let code = state.store.state_code().await?;
    let place = state
        .store
        .place(&code)
        .await?
        .ok_or(ApiError::NotInitialised)?;
    let scope = Arc::new(Scope::new(vec![Post {
        role: Role::StateAdmin,
        unit: place,
        wing_id: 0,
        label: format!("state-admin@{code}"),
    }]));
    let _ = state.operator_scope.set(scope.clone());
    Ok(scope)
}

async fn authenticate(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Caller, ApiError> {
    authenticate_with(state, method, headers, None).await
}

/// Authenticates a request; `form_csrf` is the CSRF token a page's form sent in its body (the
/// pages' own posts), checked instead of the header.
pub async fn authenticate_with(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    form_csrf: Option<&str>,
) -> Result<Caller, ApiError> {
    if let Some(token) = bearer_token(headers) {
        let actor = state
            .store
            .authenticate(token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return caller_of(state, actor, None).await;
    }
    let raw = cookie(headers, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?;
    let s = state
        .store
        .session(raw)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let now = clock::now();
    if now - s.created_at >= ABSOLUTE || now - s.last_seen >= IDLE {
        state.store.touch_session(raw, true).await?;
        return Err(ApiError::Unauthorized);
    }
    // CSRF: every state-changing request by cookie carries the session's token in a header
    // (which another site's form cannot set); SameSite=Lax keeps the cookie off cross-site posts too.
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = form_csrf
            .or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
            .unwrap_or("");
        if !csrf_matches(sent, &s.csrf) {
            return Err(ApiError::Csrf);
        }
    }
    if now - s.last_seen >= Duration::seconds(60) {
        state.store.touch_session(raw, false).await?;
    }
    let kind = if s.kind == "member" {
        Kind::Member
    } else {
        Kind::User
    };
    let mut caller = caller_of(state, Actor::user(s.person_id), Some(raw.to_string())).await?;
    caller.kind = kind;
    caller.csrf = Some(s.csrf);
    if kind == Kind::Member {
        caller.scope = Arc::new(Scope::default());
    }
    Ok(caller)
}

async fn caller_of(
    state: &AppState,
    actor: Actor,
    session: Option<String>,
) -> Result<Caller, ApiError> {
    let scope = match actor.person_id {
        None => operator_scope(state).await?,
        Some(p) => Arc::new(state.store.scope(p, clock::today()).await?),
    };
    Ok(Caller {
        actor,
        scope,
        kind: Kind::User,
        session,
        csrf: None,
    })
}

/// The session's CSRF token as a page carries it: a fresh random pad, then the token XORed with
/// it, so that no two answers carry the same bytes and a compressed page cannot leak the token
/// next to text an attacker chose (BREACH).
pub fn mask_csrf(token: &str) -> String {
    let t = token.as_bytes();
    let mut pad = vec![0u8; t.len()];
    getrandom::fill(&mut pad).expect("the OS has randomness");
    let x: Vec<u8> = t.iter().zip(&pad).map(|(a, b)| a ^ b).collect();
    format!("{}{}", hex::encode(&pad), hex::encode(x))
}

/// Does `sent` (the token itself, or one masked by [`mask_csrf`]) match the session's token?
pub fn csrf_matches(sent: &str, token: &str) -> bool {
    if token.is_empty() {
        return false;
    }
    if constant_time_eq(sent.as_bytes(), token.as_bytes()) {
        return true;
    }
    let n = token.len();
    if sent.len() != 4 * n || !sent.is_ascii() {
        return false;
    }
    let (Ok(pad), Ok(x)) = (hex::decode(&sent[..2 * n]), hex::decode(&sent[2 * n..])) else {
        return false;
    };
    let plain: Vec<u8> = pad.iter().zip(&x).map(|(a, b)| a ^ b).collect();
    constant_time_eq(&plain, token.as_bytes())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Rejects every request without valid credentials (except [`is_public`] routes); hands the
/// caller to handlers and names them for the audit log.
pub async fn require_caller(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if is_public(req.method(), req.uri().path()) || crate::web::is_page(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let caller = authenticate(&state, req.method(), req.headers()).await?;
    let who = caller.audit_who();
    req.extensions_mut().insert(caller);
    let mut res = next.run(req).await;
    res.extensions_mut().insert(who);
    Ok(res)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(c) = parts.extensions.get::<Caller>() {
            return Ok(c.clone());
        }
        let caller = authenticate(state, &parts.method, &parts.headers).await?;
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// An argon2id hash of a password (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// Does `password` match the stored hash?
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when there is no account, so that a wrong mobile takes as long
/// as a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("no such account").expect("argon2 works"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_csrf_tokens_differ_each_time_and_still_match() {
        let token = "0123456789abcdef0123456789abcdef0123456789abcdef";
        let (a, b) = (mask_csrf(token), mask_csrf(token));
        assert_ne!(a, b);
        assert!(csrf_matches(&a, token) && csrf_matches(&b, token));
        assert!(csrf_matches(token, token));
        assert!(!csrf_matches(
            &mask_csrf("another token of the same length 1234567890abc"),
            token
        ));
        assert!(!csrf_matches("", token) && !csrf_matches(token, ""));
        let mut bad = a.clone();
        bad.replace_range(0..2, if &a[0..2] == "00" { "01" } else { "00" });
        assert!(!csrf_matches(&bad, token));
    }
}
