//! Members you can trust: the verification queue, verifying and rejecting (one or a batch, with
//! counters exact), member verification codes sent through the outbox and typed back by the
//! worker, and the member's own confirmation through the link they were sent.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::meetings::wing_id;
use crate::routes::units::{scope_at, scope_narrowed};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sangathan_core::access::Action;
use sangathan_store::clock;
use sangathan_store::verification::{DetectRun, Flag, MembershipState, StatusChange};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

/// A membership the caller may do `action` on: at a unit in their scope, in its wing.
pub async fn membership_seen(caller: &Caller, state: &AppState, id: i64, action: Action) -> Result<MembershipState, ApiError> {
    caller.must_be_able(action)?;
    let m = state.store.membership_state(id).await?.ok_or(ApiError::NotFound)?;
    let wings = scope_at(caller, state, &m.unit, action).await?;
    match wing_id(state, &m.wing).await? {
        Some(w) if wings.contains(w) => Ok(m),
        _ => Err(ApiError::Hidden),
    }
}

/// Nobody verifies what they enrolled themselves.
pub fn not_own(caller: &Caller, m: &MembershipState) -> Result<(), ApiError> {
    if m.enrolled_by == caller.actor.id && caller.actor.person_id.is_some() {
        return Err(ApiError::Invalid(sangathan_core::FieldError::new(
            "membership",
            "own_enrolment",
            format!("{}: you enrolled this member; someone above you verifies them", m.number),
            format!("{}: यह सदस्य आपने जोड़ा है; सत्यापन आपसे ऊपर का पदाधिकारी करेगा", m.number),
        )
        .into()));
    }
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Only this wing.
    pub wing: Option<String>,
    /// After this membership id (the last one of the previous page).
    pub after: Option<i64>,
    /// At most this many (default 50, at most 200).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Queue {
    pub members: Vec<MembershipState>,
    /// Pass as `after` for the next page (none at the end).
    pub next_after: Option<i64>,
}

/// Pending members within a unit, oldest first, for an office-bearer to verify or reject.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/verification-queue",
    tag = "verification",
    params(("code" = String, Path, description = "Unit code"), QueueQuery),
    responses(
        (status = 200, description = "The queue", body = Queue),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow verifying", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn queue(caller: Caller, State(state): State<AppState>, Path(code): Path<String>, ApiQuery(q): ApiQuery<QueueQuery>) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Verify)?;
    let wings = scope_narrowed(&caller, &state, &code, Action::Verify, q.wing.as_deref()).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let members = state.store.verification_queue(&code, &wings, q.after.unwrap_or(0), limit).await?.ok_or(ApiError::NotFound)?;
    let next_after = (members.len() as u32 == limit).then(|| members.last().map(|m| m.membership_id)).flatten();
    Ok(AuditNote::new("view-verification-queue", Some(format!("unit:{}", code.trim().to_ascii_uppercase()))).on(Json(Queue { members, next_after })))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct StatusBody {
    /// `verified`, `rejected`, `lapsed` or `cancelled`.
    pub status: String,
    /// Why (required for a rejection).
    pub reason: Option<String>,
}

/// Verify, reject, lapse or cancel one membership (the counters move in the same transaction).
#[utoipa::path(
    post,
    path = "/api/v1/memberships/{id}/status",
    tag = "verification",
    params(("id" = i64, Path, description = "Membership id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "Done (or already so)", body = StatusChange),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such membership (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "A move not allowed, no reason for a rejection, or one's own enrolment", body = ErrorBody),
    )
)]
pub async fn set_status(caller: Caller, State(state): State<AppState>, Path(id): Path<String>, ApiJson(body): ApiJson<StatusBody>) -> Result<Response, ApiError> {
    let m = membership_seen(&caller, &state, id_of(&id)?, Action::Verify).await?;
    not_own(&caller, &m)?;
    let ch = state.store.set_status(&[m.membership_id], &body.status, body.reason.as_deref(), &caller.actor.id, clock::now()).await?;
    Ok(AuditNote::new("membership-status", Some(format!("membership:{} {}", m.membership_id, body.status.trim()))).person(m.person_id).on(Json(ch)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct BatchBody {
    /// Membership ids (at most 10,000), every one in the caller's scope.
    pub ids: Vec<i64>,
    pub status: String,
    pub reason: Option<String>,
}

/// The same for a batch (e.g. the members of a flag found fake): all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/memberships/status",
    tag = "verification",
    request_body = BatchBody,
    responses(
        (status = 200, description = "Done", body = StatusChange),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "A membership outside the caller's scope (nothing done)", body = ErrorBody),
        (status = 422, description = "A move not allowed, or no reason for a rejection (nothing done)", body = ErrorBody),
    )
)]
pub async fn set_status_batch(caller: Caller, State(state): State<AppState>, ApiJson(body): ApiJson<BatchBody>) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Verify)?;
    if body.ids.is_empty() || body.ids.len() > 10_000 {
        return Err(ApiError::Invalid(
            sangathan_core::FieldError::new("ids", "bad_ids", "give 1 to 10,000 memberships", "1 से 10,000 सदस्यताएँ दें").into(),
        ));
    }
    for id in &body.ids {
        let m = membership_seen(&caller, &state, *id, Action::Verify).await?;
        not_own(&caller, &m)?;
    }
    let ch = state.store.set_status(&body.ids, &body.status, body.reason.as_deref(), &caller.actor.id, clock::now()).await?;
    Ok(AuditNote::new("membership-status", Some(format!("{} memberships {}", body.ids.len(), body.status.trim()))).on(Json(ch)))
}

/// Send a verification code to the member's mobile (through the outbox; at most three a day).
#[utoipa::path(
    post,
    path = "/api/v1/memberships/{id}/code",
    tag = "verification",
    params(("id" = i64, Path, description = "Membership id")),
    responses(
        (status = 202, description = "Sent (queued in the outbox)"),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such membership (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Not pending, no mobile, or too many codes today", body = ErrorBody),
    )
)]
pub async fn send_code(caller: Caller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = membership_seen(&caller, &state, id_of(&id)?, Action::Enrol).await?;
    state.store.send_verification_code(m.membership_id, clock::now()).await?;
    Ok(AuditNote::new("send-verification-code", Some(format!("membership:{}", m.membership_id))).person(m.person_id).on(StatusCode::ACCEPTED))
}

/// Ask the member to confirm from their own mobile: a missed call to the number the SMS comes
/// from, or a reply "YES <code>" ("NO" if they never joined). Through the outbox.
#[utoipa::path(
    post,
    path = "/api/v1/memberships/{id}/missed-call",
    tag = "verification",
    params(("id" = i64, Path, description = "Membership id")),
    responses(
        (status = 202, description = "Asked (queued in the outbox)"),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such membership (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Not pending, no mobile, too many messages today, or the campaign does not verify this way", body = ErrorBody),
    )
)]
pub async fn request_missed_call(caller: Caller, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let m = membership_seen(&caller, &state, id_of(&id)?, Action::Enrol).await?;
    state.store.request_missed_call(m.membership_id, clock::now()).await?;
    Ok(AuditNote::new("request-missed-call", Some(format!("membership:{}", m.membership_id))).person(m.person_id).on(StatusCode::ACCEPTED))
}

/// The SMS provider's inbound webhook: a missed call or a reply SMS from a member's mobile.
/// Authenticated by the provider's secret (header `X-Inbound-Secret: <SANGATHAN_INBOUND_SECRET>`);
/// refused (403) when no secret is configured. A reply that is not understood is answered 200
/// (`understood: false`) so that the provider does not send it again.
#[utoipa::path(
    post,
    path = "/api/v1/provider/inbound",
    tag = "verification",
    request_body = crate::notify::Inbound,
    security(()),
    responses(
        (status = 200, description = "Read", body = InboundAnswer),
        (status = 401, description = "Wrong secret", body = ErrorBody),
        (status = 403, description = "No inbound secret is configured: the webhook is off", body = ErrorBody),
        (status = 422, description = "Not a mobile number, or not an inbound message", body = ErrorBody),
    )
)]
pub async fn inbound(State(state): State<AppState>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Result<Response, ApiError> {
    use sha2::{Digest, Sha256};
    let Some(secret) = &state.config.inbound_secret else { return Err(ApiError::Forbidden) };
    let given = headers.get("x-inbound-secret").and_then(|v| v.to_str().ok()).unwrap_or("");
    // Compared as digests: equal length, no early exit on the secret's bytes.
    if Sha256::digest(given.trim().as_bytes()) != Sha256::digest(secret.as_bytes()) {
        return Err(ApiError::Unauthorized);
    }
    let providers = crate::notify::Providers::from_env().map_err(|e| { tracing::error!("inbound: providers: {e}"); ApiError::Internal })?;
    let msg = providers.sms.parse_inbound(&body).map_err(|e| {
        ApiError::Invalid(sangathan_core::FieldError::new("body", "bad_inbound", e, "संदेश पढ़ा नहीं जा सका").into())
    })?;
    let reply = match msg.kind.as_str() {
        "missed_call" => None,
        "sms" => match sangathan_core::verification::parse_reply(msg.text.as_deref().unwrap_or("")) {
            Some(r) => Some(r),
            None => {
                return Ok(AuditNote::new("inbound-confirmation", Some("not understood".into()))
                    .actor("provider".into())
                    .on(Json(InboundAnswer { understood: false, verified: 0, rejected: 0, wrong_code: false, needs_code: false })));
            }
        },
        _ => {
            return Err(ApiError::Invalid(
                sangathan_core::FieldError::new("kind", "bad_kind", "kind is missed_call or sms", "kind missed_call या sms हो").into(),
            ));
        }
    };
    let r = state.store.inbound_confirmation(&msg.from, reply.as_ref(), clock::now()).await?;
    Ok(AuditNote::new("inbound-confirmation", Some(format!("{} verified, {} rejected", r.verified, r.rejected)))
        .actor("provider".into())
        .on(Json(InboundAnswer { understood: true, verified: r.verified, rejected: r.rejected, wrong_code: r.wrong_code, needs_code: r.needs_code })))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct InboundAnswer {
    /// Whether the message was a missed call or a reply Sangathan reads (YES [code] / NO).
    pub understood: bool,
    pub verified: u64,
    pub rejected: u64,
    /// The reply's code was not one sent to this mobile (nothing done; answered 200 so that the
    /// provider does not send it again).
    pub wrong_code: bool,
    /// A "NO" without its code from a mobile several waiting members share (nothing done).
    pub needs_code: bool,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct CodeBody {
    pub code: String,
}

/// The worker types back the code the member received: verified, exactly once.
#[utoipa::path(
    post,
    path = "/api/v1/memberships/{id}/code/confirm",
    tag = "verification",
    params(("id" = i64, Path, description = "Membership id")),
    request_body = CodeBody,
    responses(
        (status = 200, description = "Verified", body = MembershipState),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such membership (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Wrong, used or expired code, too many tries, or not pending", body = ErrorBody),
    )
)]
pub async fn confirm_code(caller: Caller, State(state): State<AppState>, Path(id): Path<String>, ApiJson(body): ApiJson<CodeBody>) -> Result<Response, ApiError> {
    let m = membership_seen(&caller, &state, id_of(&id)?, Action::Enrol).await?;
    // The worker who enrolled the member may not confirm for them (one phone on many fakes):
    // the member confirms through their own link, or someone else types the code.
    not_own(&caller, &m)?;
    let s = state.store.confirm_verification_code(m.membership_id, &body.code, &caller.actor.id, clock::now()).await?;
    Ok(AuditNote::new("confirm-verification-code", Some(format!("membership:{}", m.membership_id))).person(m.person_id).on(Json(s)))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct LinkBody {
    /// The token from the link in the message.
    pub token: String,
    pub code: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Confirmed {
    pub status: String,
    /// The membership number.
    pub number: String,
}

/// The member's own confirmation, through the link they were sent (no login).
#[utoipa::path(
    post,
    path = "/api/v1/member-verification",
    tag = "verification",
    request_body = LinkBody,
    security(()),
    responses(
        (status = 200, description = "Verified", body = Confirmed),
        (status = 404, description = "No such link"),
        (status = 422, description = "Wrong, used or expired code, too many tries, or not pending", body = ErrorBody),
    )
)]
pub async fn member_confirm(State(state): State<AppState>, ApiJson(body): ApiJson<LinkBody>) -> Result<Response, ApiError> {
    let s = state.store.confirm_by_link(&body.token, &body.code, clock::now()).await.map_err(|e| match e {
        sangathan_store::StoreError::NotFound => ApiError::NotFound,
        // Said without the membership's number or state: the link is all the caller shows.
        sangathan_store::StoreError::Invalid(i) if i.code() == "not_pending" => ApiError::Invalid(
            sangathan_core::FieldError::new("code", "not_pending", "this membership is no longer waiting for confirmation", "यह सदस्यता अब पुष्टि की प्रतीक्षा में नहीं है").into(),
        ),
        e => e.into(),
    })?;
    Ok(AuditNote::new("member-confirmed", Some(format!("membership:{}", s.membership_id)))
        .person(s.person_id)
        .actor("member".into())
        .on(Json(Confirmed { status: s.status, number: s.number }))
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// Only this wing.
    pub wing: Option<String>,
    /// At most this many (default 20, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Leaderboard {
    pub unit: String,
    pub enrollers: Vec<sangathan_store::verification::EnrollerRow>,
}

/// Enrollers within an AC (or a sector or booth) ranked by members verified, not by raw
/// counts; sheet imports are not enrollers.
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/leaderboard",
    tag = "verification",
    params(("code" = String, Path, description = "An AC, sector or booth"), LeaderboardQuery),
    responses(
        (status = 200, description = "The leaderboard", body = Leaderboard),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow verifying", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "A unit above an AC", body = ErrorBody),
    )
)]
pub async fn leaderboard(caller: Caller, State(state): State<AppState>, Path(code): Path<String>, ApiQuery(q): ApiQuery<LeaderboardQuery>) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Verify)?;
    let wings = scope_narrowed(&caller, &state, &code, Action::Verify, q.wing.as_deref()).await?;
    let enrollers = state.store.leaderboard(&code, &wings, q.limit.unwrap_or(20)).await?.ok_or(ApiError::NotFound)?;
    let unit = code.trim().to_ascii_uppercase();
    Ok(AuditNote::new("view-leaderboard", Some(format!("unit:{unit}"))).on(Json(Leaderboard { unit, enrollers })))
}

/// May the caller review a flag: every member it links is one they may verify (a flag can span
/// wings, ACs and districts), and none was enrolled by the caller.
pub async fn flag_reviewable(caller: &Caller, state: &AppState, f: &Flag) -> Result<bool, ApiError> {
    if caller.scope.is_state_admin() {
        return Ok(true);
    }
    let wings = state.store.wings().await?;
    let mut places = std::collections::HashMap::new();
    for m in &f.members {
        if m.enrolled_by == caller.actor.id {
            return Ok(false);
        }
        if !places.contains_key(&m.unit) {
            places.insert(m.unit.clone(), state.store.place(&m.unit).await?);
        }
        let (Some(place), Some(w)) = (&places[&m.unit], wings.iter().find(|w| w.code == m.wing)) else { return Ok(false) };
        if !caller.scope.allows(Action::Verify, place, w.id) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A flag the caller may review (and resolve): they may verify, the flag's unit is within their
/// scope, and every member it links is one they may verify and none their own
/// (`flag_reviewable`); otherwise not found (a flag outside it is audited as denied). The rule
/// of `POST /api/v1/flags/{id}/resolve` and of the flag's page.
pub async fn flag_seen(caller: &Caller, state: &AppState, id: i64) -> Result<Flag, ApiError> {
    caller.must_be_able(Action::Verify)?;
    let f = state.store.flag(id).await?.ok_or(ApiError::NotFound)?;
    scope_at(caller, state, &f.unit, Action::Verify).await?;
    if !flag_reviewable(caller, state, &f).await? {
        return Err(ApiError::Hidden);
    }
    Ok(f)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlagsQuery {
    /// Resolved flags too (default: open ones only).
    pub all: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Flags {
    pub flags: Vec<Flag>,
}

/// Flags about units within a unit, each saying why and linking the members concerned: for an
/// office-bearer to review (a flag never rejects anyone by itself).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}/flags",
    tag = "verification",
    params(("code" = String, Path, description = "Unit code"), FlagsQuery),
    responses(
        (status = 200, description = "The flags", body = Flags),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The caller's posts do not allow verifying", body = ErrorBody),
        (status = 404, description = "No such unit (or outside the caller's scope)", body = ErrorBody),
    )
)]
pub async fn flags(caller: Caller, State(state): State<AppState>, Path(code): Path<String>, ApiQuery(q): ApiQuery<FlagsQuery>) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Verify)?;
    scope_at(&caller, &state, &code, Action::Verify).await?;
    let mut flags = Vec::new();
    for f in state.store.flags_within(&code, !q.all.unwrap_or(false)).await?.ok_or(ApiError::NotFound)? {
        if flag_reviewable(&caller, &state, &f).await? {
            flags.push(f);
        }
    }
    Ok(AuditNote::new("view-flags", Some(format!("unit:{}", code.trim().to_ascii_uppercase()))).on(Json(Flags { flags })))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ResolveBody {
    /// `genuine` (nothing changes) or `fake` (the members still counted are rejected).
    pub verdict: String,
    /// Why (required when fake).
    #[serde(default)]
    pub note: String,
}

/// Resolve a flag: genuine, or fake (its members rejected together, counters exact).
#[utoipa::path(
    post,
    path = "/api/v1/flags/{id}/resolve",
    tag = "verification",
    params(("id" = i64, Path, description = "Flag id")),
    request_body = ResolveBody,
    responses(
        (status = 200, description = "Resolved", body = Flag),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such flag (or outside the caller's scope)", body = ErrorBody),
        (status = 422, description = "Bad verdict, no note for fake, or already resolved", body = ErrorBody),
    )
)]
pub async fn resolve_flag(caller: Caller, State(state): State<AppState>, Path(id): Path<String>, ApiJson(body): ApiJson<ResolveBody>) -> Result<Response, ApiError> {
    caller.must_be_able(Action::Verify)?;
    let f = flag_seen(&caller, &state, id_of(&id)?).await?;
    let fake = match body.verdict.trim() {
        "fake" => true,
        "genuine" => false,
        _ => {
            return Err(ApiError::Invalid(
                sangathan_core::FieldError::new("verdict", "bad_verdict", "verdict is genuine or fake", "निर्णय genuine या fake हो").into(),
            ));
        }
    };
    let f = state.store.resolve_flag(f.id, fake, &body.note, &caller.actor.id, clock::now()).await?;
    Ok(AuditNote::new("resolve-flag", Some(format!("flag:{} {}", f.id, f.status))).on(Json(f)))
}

/// Run detection now over what is new (the server also runs it every hour). State office only.
#[utoipa::path(
    post,
    path = "/api/v1/flags/detect",
    tag = "verification",
    responses(
        (status = 200, description = "What the run did", body = DetectRun),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "Not the state office", body = ErrorBody),
    )
)]
pub async fn detect(caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    if !caller.scope.is_state_admin() {
        return Err(ApiError::Forbidden);
    }
    let r = state.store.detect(&state.config.detection, clock::now()).await?;
    Ok(AuditNote::new("detect", None).on(Json(r)))
}
