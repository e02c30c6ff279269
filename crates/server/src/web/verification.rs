//! Members you can trust, as pages: the verification queue of a unit (Verify, or Reject with a
//! reason, one tap each), the member verification code on the member page (send it, type back
//! what the member reads out), and the member's own confirmation page behind the link in the
//! message they were sent (no login).
//!
//! Access is the API's: `routes::verification::membership_seen` and `routes::units::scope_at`,
//! and nobody verifies what they enrolled themselves (`not_own`, as in the API); every post is
//! audited like the API's.

use super::i18n::Lang;
use super::pages::{message_of, same_origin};
use super::{Chrome, PageCaller, PageError, html, urlencode};
use crate::AppState;
use crate::audit::AuditNote;
use crate::error::ApiError;
use crate::routes::units::scope_at;
use crate::routes::verification::membership_seen;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sangathan_core::access::Action;
use sangathan_store::clock;
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// Members on one page of the queue.
const PAGE: u32 = 20;

fn id_of(s: &str) -> Result<i64, ApiError> {
    s.trim().parse().map_err(|_| ApiError::NotFound)
}

use crate::routes::verification::not_own;

/// The reason of a refused write in the reader's language (other errors are error pages).
fn refusal(e: ApiError, lang: Lang) -> Result<String, ApiError> {
    match e {
        ApiError::Invalid(_) | ApiError::Conflict(_) => Ok(message_of(&e, lang)),
        other => Err(other),
    }
}

/// A moment in Indian time (UTC+5:30).
fn ist(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::minutes(330))
        .format("%d-%m-%Y %H:%M")
        .to_string()
}

/// A membership's state in the reader's language.
pub fn status_name(lang: Lang, status: &str) -> String {
    match status {
        "pending" | "verified" | "rejected" | "lapsed" | "cancelled" => {
            lang.t(&format!("mstatus-{status}"))
        }
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------- the queue

/// One pending member as the queue shows them.
pub struct QueueRow {
    pub id: i64,
    pub name: String,
    pub number: String,
    pub booth: String,
    pub mobile: String,
    pub enrolled_by: String,
    pub enrolled_at: String,
    /// Enrolled by the reader: someone above them verifies.
    pub own: bool,
    /// The reason typed with a refused rejection, and why it was refused.
    pub error: Option<String>,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "verification.html")]
struct QueuePage {
    c: Chrome,
    unit: String,
    /// Other units where the reader may verify: (code, name).
    units: Vec<(String, String)>,
    rows: Vec<QueueRow>,
    after: i64,
    next: Option<i64>,
    note: Option<String>,
}

impl QueuePage {
    pub fn next_link(&self) -> String {
        format!(
            "/verification?unit={}&after={}",
            urlencode(&self.unit),
            self.next.unwrap_or(0)
        )
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    unit: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

pub async fn queue(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<QueueQuery>,
) -> PageResult {
    pc.must_be_able(Action::Verify)?;
    let unit = match q.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u.to_ascii_uppercase(),
        None => super::post_units(&pc, &state, Action::Verify)
            .await
            .map_err(|e| pc.err(e))?
            .into_iter()
            .next()
            .map(|(c, _)| c)
            .ok_or_else(|| pc.err(ApiError::Forbidden))?,
    };
    let after = q
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    let note = q
        .done
        .as_deref()
        .filter(|d| matches!(*d, "verified" | "rejected"))
        .map(|d| pc.lang.t(&format!("verify-done-{d}")));
    queue_page_with(&pc, &state, &unit, after, note, None).await
}

/// `/units/{code}/verification`: the same queue.
pub async fn unit_queue(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> PageResult {
    pc.must_be_able(Action::Verify)?;
    queue_page_with(&pc, &state, &code.trim().to_ascii_uppercase(), 0, None, None).await
}

/// The queue page; `error`: a refused post at one row (membership id, message, reason typed).
async fn queue_page_with(
    pc: &PageCaller,
    state: &AppState,
    unit: &str,
    after: i64,
    note: Option<String>,
    error: Option<(i64, String, String)>,
) -> PageResult {
    let wings = scope_at(&pc.caller, state, unit, Action::Verify)
        .await
        .map_err(|e| pc.err(e))?;
    let members = state
        .store
        .verification_queue(unit, &wings, after, PAGE)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let next = (members.len() as u32 == PAGE)
        .then(|| members.last().map(|m| m.membership_id))
        .flatten();
    let lang = pc.lang;
    let unit_name = match state.store.unit(unit).await.map_err(|e| pc.err(e))? {
        Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
        None => unit.to_string(),
    };
    let rows = members
        .iter()
        .map(|m| {
            let err = error.as_ref().filter(|e| e.0 == m.membership_id);
            QueueRow {
                id: m.membership_id,
                name: m.name.clone(),
                number: m.number.clone(),
                booth: m.unit.clone(),
                mobile: m
                    .mobile_tail
                    .as_deref()
                    .map(|t| format!("••••••{t}"))
                    .unwrap_or_else(|| "—".into()),
                enrolled_by: m.enrolled_by.clone(),
                enrolled_at: ist(m.enrolled_at),
                own: m.enrolled_by == pc.caller.actor.id && pc.caller.actor.person_id.is_some(),
                error: err.map(|e| e.1.clone()),
                reason: err.map(|e| e.2.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let units = super::post_units(pc, state, Action::Verify)
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .filter(|(c, _)| c != unit)
        .collect();
    let page = QueuePage {
        c: pc.chrome(lang.ta("verify-title", &[("unit", unit_name)])),
        unit: unit.to_string(),
        units,
        rows,
        after,
        next,
        note,
    };
    let mut res = html(&page);
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(
        AuditNote::new("view-verification-queue", Some(format!("unit:{unit}"))).on(res),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct DecideForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// The queue to go back to.
    unit: Option<String>,
    after: Option<String>,
    reason: Option<String>,
}

/// Verify (`answer` = `verify`) or reject (`reject`, with a reason) one pending member.
pub async fn decide(
    pc: PageCaller,
    State(state): State<AppState>,
    Path((id, answer)): Path<(String, String)>,
    Form(f): Form<DecideForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let to = match answer.as_str() {
        "verify" => "verified",
        "reject" => "rejected",
        _ => return Err(pc.err(ApiError::NotFound)),
    };
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = membership_seen(&pc.caller, &state, id, Action::Verify)
        .await
        .map_err(|e| pc.err(e))?;
    let unit = f
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| m.unit.clone());
    let after: i64 = f
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    let reason = f.reason.as_deref().map(str::trim).unwrap_or("").to_string();
    if to == "rejected" && reason.is_empty() {
        let msg = pc.lang.t("err-reject-reason");
        return queue_page_with(&pc, &state, &unit, after, None, Some((id, msg, reason))).await;
    }
    let done = match not_own(&pc.caller, &m) {
        Ok(()) => {
            state
                .store
                .set_status(
                    &[m.membership_id],
                    to,
                    (to == "rejected").then_some(reason.as_str()),
                    &pc.caller.actor.id,
                    clock::now(),
                )
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => {
            let res = Redirect::to(&format!(
                "/verification?unit={}&after={after}&done={to}",
                urlencode(&unit)
            ));
            Ok(pc.respond(
                AuditNote::new(
                    "membership-status",
                    Some(format!("membership:{} {to}", m.membership_id)),
                )
                .person(m.person_id)
                .on(res),
            ))
        }
        Err(e) => {
            let msg = refusal(e, pc.lang).map_err(|e| pc.err(e))?;
            queue_page_with(&pc, &state, &unit, after, None, Some((id, msg, reason))).await
        }
    }
}

// ---------------------------------------------------------------- codes on the member page

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    code: Option<String>,
}

/// Send the member a verification code (the member page's button).
pub async fn send_code(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = membership_seen(&pc.caller, &state, id, Action::Enrol)
        .await
        .map_err(|e| pc.err(e))?;
    match state
        .store
        .send_verification_code(m.membership_id, clock::now())
        .await
    {
        Ok(_) => {
            let res = Redirect::to(&format!(
                "/members/{}?code=sent#membership-{}",
                m.person_id, m.membership_id
            ));
            Ok(pc.respond(
                AuditNote::new(
                    "send-verification-code",
                    Some(format!("membership:{}", m.membership_id)),
                )
                .person(m.person_id)
                .on(res),
            ))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            super::pages::member_page_with(
                &pc,
                &state,
                &m.person_id.to_string(),
                false,
                None,
                Some((m.membership_id, msg)),
            )
            .await
        }
    }
}

/// The worker types back the code the member reads out.
pub async fn confirm_code(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CodeForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = membership_seen(&pc.caller, &state, id, Action::Enrol)
        .await
        .map_err(|e| pc.err(e))?;
    let code = f.code.unwrap_or_default();
    let code: String = code
        .trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .collect();
    // As the API: the enroller does not confirm for their own members.
    let done = match not_own(&pc.caller, &m) {
        Ok(()) => state
            .store
            .confirm_verification_code(m.membership_id, &code, &pc.caller.actor.id, clock::now())
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => {
            let res = Redirect::to(&format!(
                "/members/{}?code=confirmed#membership-{}",
                m.person_id, m.membership_id
            ));
            Ok(pc.respond(
                AuditNote::new(
                    "confirm-verification-code",
                    Some(format!("membership:{}", m.membership_id)),
                )
                .person(m.person_id)
                .on(res),
            ))
        }
        Err(e) => {
            let msg = refusal(e, pc.lang).map_err(|e| pc.err(e))?;
            super::pages::member_page_with(
                &pc,
                &state,
                &m.person_id.to_string(),
                false,
                None,
                Some((m.membership_id, msg)),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- the member's own page

#[derive(Template)]
#[template(path = "member_verify.html")]
struct MemberVerifyPage {
    c: Chrome,
    token: String,
    /// The membership number, once confirmed.
    done: Option<String>,
    error: Option<String>,
}

/// A link token as the messages carry it: 32 hex digits. Anything else is no link at all.
fn token_of(s: &str) -> Option<String> {
    let t = s.trim();
    (t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

fn not_found(lang: Lang) -> Response {
    PageError(ApiError::NotFound, lang, None).into_response()
}

pub async fn member_verify_page(headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = Lang::of(&headers);
    let Some(token) = token_of(&token) else {
        return not_found(lang);
    };
    html(&MemberVerifyPage {
        c: Chrome::public(lang, lang.t("mverify-title"), &format!("/m/verify/{token}")),
        token,
        done: None,
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberCodeForm {
    code: Option<String>,
}

pub async fn member_verify_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<MemberCodeForm>,
) -> Response {
    let lang = Lang::of(&headers);
    // As the login form: a post from another site is refused.
    if !same_origin(&headers) {
        return PageError(ApiError::Csrf, lang, None).into_response();
    }
    let Some(token) = token_of(&token) else {
        return not_found(lang);
    };
    let page = |done: Option<String>, error: Option<String>| MemberVerifyPage {
        c: Chrome::public(lang, lang.t("mverify-title"), &format!("/m/verify/{token}")),
        token: token.clone(),
        done,
        error,
    };
    let code: String = f
        .code
        .unwrap_or_default()
        .trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .filter(|c| !c.is_whitespace())
        .collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        let mut res = html(&page(None, Some(lang.t("err-mverify-code"))));
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return res;
    }
    match state.store.confirm_by_link(&token, &code, clock::now()).await {
        Ok(s) => AuditNote::new("member-confirmed", Some(format!("membership:{}", s.membership_id)))
            .person(s.person_id)
            .actor("member".into())
            .on(html(&page(Some(s.number), None))),
        Err(sangathan_store::StoreError::NotFound) => not_found(lang),
        Err(e) => {
            let e = ApiError::from(e);
            let msg = if e.body().error.code == "not_pending" {
                lang.t("mverify-not-pending")
            } else {
                match refusal(e, lang) {
                    Ok(m) => m,
                    Err(e) => return PageError(e, lang, None).into_response(),
                }
            };
            let mut res = html(&page(None, Some(msg)));
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}
