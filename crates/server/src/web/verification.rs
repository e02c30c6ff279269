//! Members you can trust, as pages: the verification queue of a unit (Verify, or Reject with a
//! reason, one tap each), the member verification code on the member page (send it, type back
//! what the member reads out), and the member's own confirmation page behind the link in the
//! message they were sent (no login); asking the member to confirm by a missed call or a reply
//! SMS; the flags detection raised, for an office-bearer to resolve as genuine or fake; and the
//! leaderboard of an AC, sector or booth (enrollers ranked by members verified).
//!
//! Access is the API's: `routes::verification::membership_seen` and `routes::units::scope_at`,
//! and nobody verifies what they enrolled themselves (`not_own`, as in the API); flags are seen
//! and resolved under the flag API's checks (`flag_seen`, `flag_reviewable`); every post is
//! audited like the API's.

use super::i18n::Lang;
use super::pages::{message_of, same_origin};
use super::{Chrome, PageCaller, PageError, html, urlencode};
use crate::AppState;
use crate::audit::AuditNote;
use crate::error::ApiError;
use crate::routes::units::scope_at;
use crate::routes::verification::{flag_reviewable, flag_seen, membership_seen};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sangathan_core::access::Action;
use sangathan_store::clock;
use sangathan_store::verification::Flag;
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
    /// The reader may ask the member to confirm by a missed call or a reply SMS (Enrol where
    /// the member is, as `membership_seen`; a mobile to ask).
    pub may_ask: bool,
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
    /// An AC, sector or booth: it has a leaderboard.
    leaderboard: bool,
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
        .filter(|d| matches!(*d, "verified" | "rejected" | "asked"))
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
    queue_page_with(
        &pc,
        &state,
        &code.trim().to_ascii_uppercase(),
        0,
        None,
        None,
    )
    .await
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
    let here = state.store.unit(unit).await.map_err(|e| pc.err(e))?;
    let unit_name = match &here {
        Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
        None => unit.to_string(),
    };
    let leaderboard = here.as_ref().is_some_and(|u| {
        use sangathan_core::geo::UnitKind;
        matches!(u.kind, UnitKind::Ac | UnitKind::Sector | UnitKind::Booth)
    });
    // Who may ask a member to confirm from their mobile: `membership_seen` with Enrol (scope
    // at the member's booth, in the member's wing), looked up once per booth.
    let wing_ids: std::collections::HashMap<String, i64> = state
        .store
        .wings()
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|w| (w.code, w.id))
        .collect();
    let mut enrol_at: std::collections::HashMap<&str, Option<sangathan_core::access::Wings>> =
        std::collections::HashMap::new();
    for m in &members {
        if !enrol_at.contains_key(m.unit.as_str()) {
            let w = scope_at(&pc.caller, state, &m.unit, Action::Enrol)
                .await
                .ok();
            enrol_at.insert(m.unit.as_str(), w);
        }
    }
    let rows = members
        .iter()
        .map(|m| {
            let err = error.as_ref().filter(|e| e.0 == m.membership_id);
            let may_ask = m.mobile_tail.is_some()
                && match (&enrol_at[m.unit.as_str()], wing_ids.get(&m.wing)) {
                    (Some(w), Some(id)) => w.contains(*id),
                    _ => false,
                };
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
                may_ask,
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
        leaderboard,
    };
    let mut res = html(&page);
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(AuditNote::new("view-verification-queue", Some(format!("unit:{unit}"))).on(res)))
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
        Ok(()) => state
            .store
            .set_status(
                &[m.membership_id],
                to,
                (to == "rejected").then_some(reason.as_str()),
                &pc.caller.actor.id,
                clock::now(),
            )
            .await
            .map_err(ApiError::from),
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

// ---------------------------------------------------------------- missed call / reply SMS

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// Asked from the queue of this unit (back to it); none: from the member page.
    unit: Option<String>,
    after: Option<String>,
}

/// Ask the member to confirm from their own mobile: a message through the outbox saying to give
/// a missed call or reply "YES <code>" ("NO" if they never joined), with the checks of
/// `POST /api/v1/memberships/{id}/missed-call` (Enrol where the member is). A refusal (the
/// campaign does not verify this way, too many messages today, not pending, no mobile) is said
/// at the member's row, in the reader's language.
pub async fn ask_missed_call(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<AskForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let m = membership_seen(&pc.caller, &state, id, Action::Enrol)
        .await
        .map_err(|e| pc.err(e))?;
    let queue = f
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_ascii_uppercase);
    let after: i64 = f
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    match state
        .store
        .request_missed_call(m.membership_id, clock::now())
        .await
    {
        Ok(()) => {
            let to = match &queue {
                Some(unit) => format!(
                    "/verification?unit={}&after={after}&done=asked#m-{}",
                    urlencode(unit),
                    m.membership_id
                ),
                None => format!(
                    "/members/{}?code=asked#membership-{}",
                    m.person_id, m.membership_id
                ),
            };
            Ok(pc.respond(
                AuditNote::new(
                    "request-missed-call",
                    Some(format!("membership:{}", m.membership_id)),
                )
                .person(m.person_id)
                .on(Redirect::to(&to)),
            ))
        }
        Err(e) => {
            let msg = refusal(ApiError::from(e), pc.lang).map_err(|e| pc.err(e))?;
            match queue {
                Some(unit) => {
                    let error = Some((m.membership_id, msg, String::new()));
                    queue_page_with(&pc, &state, &unit, after, None, error).await
                }
                None => {
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
    match state
        .store
        .confirm_by_link(&token, &code, clock::now())
        .await
    {
        Ok(s) => AuditNote::new(
            "member-confirmed",
            Some(format!("membership:{}", s.membership_id)),
        )
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

// ---------------------------------------------------------------- flags

/// Flags on one page of a unit's list.
const FLAGS_PAGE: usize = 50;

/// Members listed on a flag's page (a padding flag can hold thousands; the count says all).
const FLAG_MEMBERS_SHOWN: usize = 200;

/// A detection rule's name in the reader's language.
fn rule_name(lang: Lang, rule: &str) -> String {
    if sangathan_core::detection::RULES.contains(&rule) {
        lang.t(&format!("flag-rule-{rule}"))
    } else {
        rule.to_string()
    }
}

/// A flag's state in the reader's language.
fn flag_status_name(lang: Lang, status: &str) -> String {
    match status {
        "open" | "genuine" | "fake" => lang.t(&format!("flag-status-{status}")),
        other => other.to_string(),
    }
}

/// A unit's name in the reader's language (its code when unknown), looked up once per page.
async fn unit_name(
    state: &AppState,
    lang: Lang,
    names: &mut std::collections::HashMap<String, String>,
    code: &str,
) -> Result<String, ApiError> {
    if let Some(n) = names.get(code) {
        return Ok(n.clone());
    }
    let name = match state.store.unit(code).await? {
        Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
        None => code.to_string(),
    };
    names.insert(code.to_string(), name.clone());
    Ok(name)
}

/// One flag as the list shows it.
pub struct FlagRow {
    pub id: i64,
    pub rule: String,
    pub reason: String,
    pub unit: String,
    pub unit_name: String,
    pub members: usize,
    pub created: String,
    pub open: bool,
    pub status: String,
}

#[derive(Template)]
#[template(path = "flags.html")]
struct FlagsPage {
    c: Chrome,
    unit: String,
    /// Resolved flags too.
    all: bool,
    rows: Vec<FlagRow>,
    after: i64,
    next: Option<i64>,
}

impl FlagsPage {
    /// This list's link with `after` (0: the first page).
    pub fn link(&self, after: i64) -> String {
        let mut l = format!("/units/{}/flags", urlencode(&self.unit));
        let mut sep = '?';
        if self.all {
            l.push_str("?all=1");
            sep = '&';
        }
        if after > 0 {
            l.push_str(&format!("{sep}after={after}"));
        }
        l
    }
    pub fn next_link(&self) -> String {
        self.link(self.next.unwrap_or(0))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FlagsQuery {
    all: Option<String>,
    after: Option<String>,
}

/// `/units/{code}/flags`: the open flags (`?all=1`: resolved ones too) within a unit that the
/// caller may review, as `GET /api/v1/units/{code}/flags` lists them, 50 a page.
pub async fn unit_flags(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<FlagsQuery>,
) -> PageResult {
    pc.must_be_able(Action::Verify)?;
    let unit = code.trim().to_ascii_uppercase();
    let all = matches!(q.all.as_deref().map(str::trim), Some("1" | "true"));
    let after: i64 = q
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    let lang = pc.lang;
    scope_at(&pc.caller, &state, &unit, Action::Verify)
        .await
        .map_err(|e| pc.err(e))?;
    let within = state
        .store
        .flags_within(&unit, !all)
        .await
        .map_err(|e| pc.err(e))?
        .ok_or_else(|| pc.err(ApiError::NotFound))?;
    let mut flags = Vec::new();
    let mut next = None;
    for f in within.into_iter().filter(|f| f.id > after) {
        if !flag_reviewable(&pc.caller, &state, &f)
            .await
            .map_err(|e| pc.err(e))?
        {
            continue;
        }
        if flags.len() == FLAGS_PAGE {
            next = flags.last().map(|f: &Flag| f.id);
            break;
        }
        flags.push(f);
    }
    let mut names = std::collections::HashMap::new();
    let title_name = unit_name(&state, lang, &mut names, &unit)
        .await
        .map_err(|e| pc.err(e))?;
    let mut rows = Vec::with_capacity(flags.len());
    for f in &flags {
        rows.push(FlagRow {
            id: f.id,
            rule: rule_name(lang, &f.rule),
            reason: lang.pick(&f.reason, Some(&f.reason_hi)).to_string(),
            unit_name: unit_name(&state, lang, &mut names, &f.unit)
                .await
                .map_err(|e| pc.err(e))?,
            unit: f.unit.clone(),
            members: f.members.len(),
            created: ist(f.created_at),
            open: f.status == "open",
            status: flag_status_name(lang, &f.status),
        });
    }
    let page = FlagsPage {
        c: pc.chrome(lang.ta("flags-title", &[("unit", title_name)])),
        unit: unit.clone(),
        all,
        rows,
        after,
        next,
    };
    Ok(pc.respond(AuditNote::new("view-flags", Some(format!("unit:{unit}"))).on(html(&page))))
}

/// One member of a flag as its page shows them.
pub struct FlagMemberRow {
    pub person_id: i64,
    pub membership_id: i64,
    pub number: String,
    pub unit: String,
    pub wing: String,
    pub status: String,
    pub enrolled_by: String,
}

#[derive(Template)]
#[template(path = "flag.html")]
struct FlagPage {
    c: Chrome,
    id: i64,
    rule: String,
    reason: String,
    unit: String,
    unit_name: String,
    created: String,
    open: bool,
    status: String,
    resolved_by: Option<String>,
    resolved_note: Option<String>,
    /// The first members (at most `FLAG_MEMBERS_SHOWN`), and how many the flag holds.
    members: Vec<FlagMemberRow>,
    total: usize,
    /// Said when not all are listed.
    more: Option<String>,
    /// What was just done.
    done: Option<String>,
    /// A refused post: the message, and the note typed.
    error: Option<String>,
    note: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct FlagQuery {
    done: Option<String>,
    rejected: Option<String>,
}

/// `/flags/{id}`: a flag, why it was raised, its members, and (while open) genuine or fake.
pub async fn flag(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<FlagQuery>,
) -> PageResult {
    pc.must_be_able(Action::Verify)?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let f = flag_seen(&pc.caller, &state, id)
        .await
        .map_err(|e| pc.err(e))?;
    let done = match q.done.as_deref() {
        Some("genuine") => Some(pc.lang.t("flag-done-genuine")),
        Some("fake") => {
            let n: u64 = q
                .rejected
                .as_deref()
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            Some(pc.lang.ta("flag-done-fake", &[("n", n.to_string())]))
        }
        _ => None,
    };
    flag_page_with(&pc, &state, &f, done, None).await
}

/// The flag's page; `error`: a refused post (the message, the note typed).
async fn flag_page_with(
    pc: &PageCaller,
    state: &AppState,
    f: &Flag,
    done: Option<String>,
    error: Option<(String, String)>,
) -> PageResult {
    let lang = pc.lang;
    let wings = super::wing_names(state, lang)
        .await
        .map_err(|e| pc.err(e))?;
    let mut names = std::collections::HashMap::new();
    let page = FlagPage {
        c: pc.chrome(rule_name(lang, &f.rule)),
        id: f.id,
        rule: f.rule.clone(),
        reason: lang.pick(&f.reason, Some(&f.reason_hi)).to_string(),
        unit: f.unit.clone(),
        unit_name: unit_name(state, lang, &mut names, &f.unit)
            .await
            .map_err(|e| pc.err(e))?,
        created: ist(f.created_at),
        open: f.status == "open",
        status: flag_status_name(lang, &f.status),
        resolved_by: f.resolved_by.clone(),
        resolved_note: f.note.clone().filter(|n| !n.trim().is_empty()),
        total: f.members.len(),
        more: (f.members.len() > FLAG_MEMBERS_SHOWN).then(|| {
            lang.ta(
                "flag-members-more",
                &[("n", FLAG_MEMBERS_SHOWN.to_string())],
            )
        }),
        members: f
            .members
            .iter()
            .take(FLAG_MEMBERS_SHOWN)
            .map(|m| FlagMemberRow {
                person_id: m.person_id,
                membership_id: m.membership_id,
                number: m.number.clone(),
                unit: m.unit.clone(),
                wing: wings
                    .get(&m.wing)
                    .cloned()
                    .unwrap_or_else(|| m.wing.clone()),
                status: status_name(lang, &m.status),
                enrolled_by: m.enrolled_by.clone(),
            })
            .collect(),
        done,
        note: error.as_ref().map(|e| e.1.clone()).unwrap_or_default(),
        error: error.map(|e| e.0),
    };
    let mut res = html(&page);
    if page.error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(AuditNote::new("view-flag", Some(format!("flag:{}", f.id))).on(res)))
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// `genuine` or `fake`.
    verdict: Option<String>,
    /// Why (required when fake; the store says so).
    note: Option<String>,
}

/// Resolve a flag from its page: genuine (nothing changes) or fake (its members still counted
/// are rejected together, counters exact), as `POST /api/v1/flags/{id}/resolve`.
pub async fn resolve_flag(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<ResolveForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let id = id_of(&id).map_err(|e| pc.err(e))?;
    let flag = flag_seen(&pc.caller, &state, id)
        .await
        .map_err(|e| pc.err(e))?;
    let note = f.note.unwrap_or_default();
    let fake = match f.verdict.as_deref().map(str::trim) {
        Some("fake") => true,
        Some("genuine") => false,
        _ => {
            let msg = pc.lang.t("err-flag-verdict");
            return flag_page_with(&pc, &state, &flag, None, Some((msg, note))).await;
        }
    };
    let counted: std::collections::HashSet<i64> = flag
        .members
        .iter()
        .filter(|m| m.status == "pending" || m.status == "verified")
        .map(|m| m.membership_id)
        .collect();
    match state
        .store
        .resolve_flag(flag.id, fake, &note, &pc.caller.actor.id, clock::now())
        .await
        .map_err(ApiError::from)
    {
        Ok(done) => {
            let to = if fake {
                let rejected = done
                    .members
                    .iter()
                    .filter(|m| m.status == "rejected" && counted.contains(&m.membership_id))
                    .count();
                format!("/flags/{}?done=fake&rejected={rejected}", done.id)
            } else {
                format!("/flags/{}?done=genuine", done.id)
            };
            Ok(pc.respond(
                AuditNote::new(
                    "resolve-flag",
                    Some(format!("flag:{} {}", done.id, done.status)),
                )
                .on(Redirect::to(&to)),
            ))
        }
        Err(e) => {
            let msg = refusal(e, pc.lang).map_err(|e| pc.err(e))?;
            // Show the flag as it is now (resolved meanwhile, say).
            let now = state
                .store
                .flag(flag.id)
                .await
                .map_err(|e| pc.err(e))?
                .unwrap_or(flag);
            flag_page_with(&pc, &state, &now, None, Some((msg, note))).await
        }
    }
}

// ---------------------------------------------------------------- leaderboard

/// Enrollers shown on a leaderboard page (the API gives up to 500; a phone reads the top).
const LEADERBOARD_SHOWN: u32 = 100;

/// One enroller as the leaderboard shows them.
pub struct LeaderRow {
    pub rank: u32,
    /// The person's name; the operator, or the enroller's code, when not a person (in pieces
    /// after each ':', where a narrow screen may break it).
    pub name: Vec<String>,
    pub enroller: String,
    pub verified: String,
    pub pending: String,
    pub rejected: String,
    /// Of those checked, the share verified ("—" before any check).
    pub percent: String,
}

#[derive(Template)]
#[template(path = "leaderboard.html")]
struct LeaderboardPage {
    c: Chrome,
    unit: String,
    /// The wing chosen (its code), if any.
    wing: Option<String>,
    /// The wings the reader may verify in here: (code, name).
    wings: Vec<(String, String)>,
    rows: Vec<LeaderRow>,
    /// Said when the list is cut at `LEADERBOARD_SHOWN`.
    more: Option<String>,
    /// Why there is no leaderboard here (a unit above an AC).
    error: Option<String>,
}

impl LeaderboardPage {
    /// This leaderboard for one wing (none: all).
    pub fn wing_link(&self, wing: &str) -> String {
        let mut l = format!("/units/{}/leaderboard", urlencode(&self.unit));
        if !wing.is_empty() {
            l.push_str(&format!("?wing={}", urlencode(wing)));
        }
        l
    }
    pub fn is_wing(&self, wing: &str) -> bool {
        self.wing.as_deref().unwrap_or("") == wing
    }
}

/// Who enrolled, as a leaderboard names them: the person's name, the operator, or the code.
fn enroller_name(lang: Lang, enroller: &str, name: Option<&str>) -> String {
    match (name, enroller) {
        (Some(n), _) if !n.trim().is_empty() => n.to_string(),
        (_, "operator") => lang.t("actor-operator"),
        (_, "anonymous") => lang.t("actor-anonymous"),
        (_, e) if e.starts_with("person:") => lang.t("actor-erased"),
        (_, e) => e.to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LeaderboardQuery {
    wing: Option<String>,
}

/// `/units/{code}/leaderboard[?wing=W]`: enrollers within an AC, sector or booth ranked by
/// members verified (then fewer rejected), with pending, rejected and the share of checked
/// members verified, as `GET /api/v1/units/{code}/leaderboard` (Verify, the caller's scope and
/// wings, narrowed to one wing on request). Above an AC the store's refusal is the page (422).
pub async fn leaderboard(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LeaderboardQuery>,
) -> PageResult {
    pc.must_be_able(Action::Verify)?;
    let unit = code.trim().to_ascii_uppercase();
    let lang = pc.lang;
    let mut wings = scope_at(&pc.caller, &state, &unit, Action::Verify)
        .await
        .map_err(|e| pc.err(e))?;
    let all_wings = state.store.wings().await.map_err(|e| pc.err(e))?;
    let choices: Vec<(String, String)> = all_wings
        .iter()
        .filter(|w| wings.contains(w.id))
        .map(|w| {
            (
                w.code.clone(),
                lang.pick(&w.name, Some(&w.name_hi)).to_string(),
            )
        })
        .collect();
    let wing = q
        .wing
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string);
    if let Some(w) = &wing {
        let id = all_wings
            .iter()
            .find(|x| x.code.eq_ignore_ascii_case(w))
            .map(|x| x.id);
        wings = wings.narrow(id.or(Some(-1)));
    }
    let title_name = match state.store.unit(&unit).await.map_err(|e| pc.err(e))? {
        Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
        None => unit.clone(),
    };
    let mut page = LeaderboardPage {
        c: pc.chrome(lang.ta("leaderboard-title", &[("unit", title_name)])),
        unit: unit.clone(),
        wing: wing.map(|w| w.to_ascii_lowercase()),
        wings: if choices.len() > 1 {
            choices
        } else {
            Vec::new()
        },
        rows: Vec::new(),
        more: None,
        error: None,
    };
    match state
        .store
        .leaderboard(&unit, &wings, LEADERBOARD_SHOWN)
        .await
        .map_err(ApiError::from)
    {
        Ok(Some(enrollers)) => {
            page.more = (enrollers.len() as u32 == LEADERBOARD_SHOWN)
                .then(|| lang.ta("leaderboard-more", &[("n", LEADERBOARD_SHOWN.to_string())]));
            page.rows = enrollers
                .iter()
                .map(|r| LeaderRow {
                    rank: r.rank,
                    name: enroller_name(lang, &r.enroller, r.name.as_deref())
                        .split_inclusive(':')
                        .map(str::to_string)
                        .collect(),
                    enroller: r.enroller.clone(),
                    verified: super::i18n::indian(r.verified),
                    pending: super::i18n::indian(r.pending),
                    rejected: super::i18n::indian(r.rejected),
                    percent: r
                        .verified_percent
                        .map(|p| format!("{p:.1}%"))
                        .unwrap_or_else(|| "—".into()),
                })
                .collect();
            Ok(pc.respond(
                AuditNote::new("view-leaderboard", Some(format!("unit:{unit}"))).on(html(&page)),
            ))
        }
        Ok(None) => Err(pc.err(ApiError::NotFound)),
        // Above an AC: said in the reader's language, on the page.
        Err(e @ ApiError::Invalid(_)) => {
            page.error = Some(message_of(&e, lang));
            page.wings = Vec::new();
            let mut res = html(&page);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(pc.respond(res))
        }
        Err(e) => Err(pc.err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_and_flag_state_has_a_name_in_both_languages() {
        for l in [Lang::Hi, Lang::En] {
            for r in sangathan_core::detection::RULES {
                let n = rule_name(l, r);
                assert!(n != r && !n.starts_with("Unknown"), "{r} in {l:?}: {n}");
            }
            for s in ["open", "genuine", "fake"] {
                let n = flag_status_name(l, s);
                assert!(n != s && !n.starts_with("Unknown"), "{s} in {l:?}: {n}");
            }
        }
        assert_eq!(rule_name(Lang::Hi, "no_such_rule"), "no_such_rule");
    }

    #[test]
    fn enrollers_are_named_in_the_readers_language() {
        assert_eq!(enroller_name(Lang::Hi, "person:7", Some("Asha")), "Asha");
        assert_eq!(
            enroller_name(Lang::Hi, "operator", None),
            Lang::Hi.t("actor-operator")
        );
        assert_eq!(
            enroller_name(Lang::En, "operator", None),
            Lang::En.t("actor-operator")
        );
        assert_eq!(
            enroller_name(Lang::En, "person:7", None),
            Lang::En.t("actor-erased")
        );
        assert_eq!(enroller_name(Lang::En, "sheet-bot", None), "sheet-bot");
    }
}
