//! Enrolment and members.

use crate::AppState;
use crate::audit::AuditNote;
use crate::auth::{Caller, address_of};
use crate::dto::{EnrolOutcomeDto, MemberDto, MemberListDto};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, present};
use axum::Json;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use std::net::SocketAddr;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Datelike;
use sangathan_core::access::{Action, Wings};
use sangathan_core::geo::UnitCode;
use sangathan_core::ids::{Epic, Gender, Mobile, PersonName, check_birth_year, clean_address};
use sangathan_core::{FieldError, Invalid};
use sangathan_store::GivenConsent;
use sangathan_store::{EnrolContext, Enrolment, clock};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// The header that makes an enrolment safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer that replays an earlier request's result.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

pub const DEFAULT_WING: &str = "party";
pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A person to enrol. Every field is optional here; blank strings count as absent. A name, a
/// unit and at least one of mobile or EPIC are required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = EnrolRequest)]
pub struct EnrolRequest {
    #[schema(example = "Ram Prakash")]
    pub name: Option<String>,
    /// Indian mobile number in any common form (`+91 98390 12345`, `09839012345`...).
    #[schema(example = "+91 98390 12345")]
    pub mobile: Option<String>,
    /// Voter ID: 3 letters and 7 digits.
    #[schema(example = "ABC1234567")]
    pub epic: Option<String>,
    /// M/F/O, male/female/other, or the Hindi words.
    pub gender: Option<String>,
    pub birth_year: Option<i64>,
    pub address: Option<String>,
    /// A booth code, or an AC code when the booth is not known.
    #[schema(example = "UP-AC-173-B0042")]
    pub unit: Option<String>,
    /// Wing code or name; default `party`.
    #[schema(example = "party")]
    pub wing: Option<String>,
    /// The version of the consent notice the person was shown (`GET /api/v1/consent`). Without
    /// it, the enroller attests that the current notice was shown (audited).
    #[schema(example = "v1")]
    pub consent_notice: Option<String>,
    /// Purposes consented to; `membership` is required; default `["membership"]`.
    pub consent_purposes: Option<Vec<String>>,
    /// Community/category (GEN, OBC, SC, ST, EWS): only where the deployment collects it, and
    /// only with the `sensitive` purpose consented to. Never exported, searched or logged.
    pub category: Option<String>,
    /// Religion: as for `category`.
    pub religion: Option<String>,
}

/// The consent part of an enrolment; sensitive fields only where collected and consented to.
pub fn validate_consent(
    body: &EnrolRequest,
    sensitive_on: bool,
) -> Result<Option<GivenConsent>, Invalid> {
    use sangathan_core::consent::{Consent, check_sensitive};
    let mut errs = Vec::new();
    let notice = present(&body.consent_notice);
    let purposes = body
        .consent_purposes
        .clone()
        .unwrap_or_else(|| vec!["membership".into()]);
    let consent = match notice {
        Some(n) => match Consent::parse(n, &purposes) {
            Ok(c) => Some(c),
            Err(e) => {
                errs.push(e);
                None
            }
        },
        None if body.consent_purposes.is_some() => {
            errs.push(FieldError::new(
                "consent_notice",
                "notice_required",
                "consent_purposes needs the consent_notice version that was shown",
                "consent_purposes के साथ दिखाई गई सहमति सूचना का संस्करण (consent_notice) आवश्यक है",
            ));
            None
        }
        None => None,
    };
    let mut sensitive = (None, None);
    for (field, value) in [
        ("category", present(&body.category)),
        ("religion", present(&body.religion)),
    ] {
        let Some(v) = value else { continue };
        if !sensitive_on {
            errs.push(FieldError::new(
                field,
                "not_collected",
                format!("this deployment does not collect {field}"),
                format!("यह व्यवस्था {field} एकत्र नहीं करती"),
            ));
            continue;
        }
        if !consent.as_ref().is_some_and(|c| c.allows("sensitive")) {
            errs.push(FieldError::new(
                field,
                "sensitive_consent_required",
                format!("{field} is recorded only with consent to the `sensitive` purpose on the notice shown"),
                format!("{field} केवल दिखाई गई सूचना पर `sensitive` उद्देश्य की सहमति से ही दर्ज होता है"),
            ));
            continue;
        }
        match check_sensitive(field, v) {
            Ok(v) if field == "category" => sensitive.0 = Some(v),
            Ok(v) => sensitive.1 = Some(v),
            Err(e) => errs.push(e),
        }
    }
    if !errs.is_empty() {
        return Err(Invalid(errs));
    }
    Ok(consent.map(|consent| GivenConsent {
        consent,
        sensitive: (sensitive != (None, None)).then_some(sensitive),
    }))
}

/// Checks the Idempotency-Key header: 1–200 printable ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, FieldError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Err(FieldError::new(
            "idempotency_key",
            "idempotency_key_required",
            "the Idempotency-Key header is required (1–200 printable ASCII characters, new for each enrolment)",
            "Idempotency-Key हेडर आवश्यक है (1–200 छापने योग्य ASCII वर्ण, हर नए सदस्य के लिए नया)",
        ));
    };
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > 200
        || !bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        || value.to_str().is_err()
    {
        return Err(FieldError::new(
            "idempotency_key",
            "invalid_idempotency_key",
            "the Idempotency-Key header must be 1–200 printable ASCII characters",
            "Idempotency-Key हेडर 1–200 छापने योग्य ASCII वर्णों का होना चाहिए",
        ));
    }
    Ok(value.to_str().unwrap_or_default().to_string())
}

/// Validates every field and reports every problem at once.
pub fn validate_enrolment(body: &EnrolRequest, current_year: i32) -> Result<Enrolment, Invalid> {
    let mut errs: Vec<FieldError> = Vec::new();
    let errs_ref = &mut errs;
    macro_rules! keep {
        ($e:expr) => {
            match $e {
                Ok(v) => Some(v),
                Err(e) => {
                    errs_ref.push(e);
                    None
                }
            }
        };
    }

    let name = keep!(PersonName::parse(present(&body.name).unwrap_or("")));
    let mobile = present(&body.mobile).and_then(|m| keep!(Mobile::parse(m)));
    let epic = present(&body.epic).and_then(|e| keep!(Epic::parse(e)));
    if present(&body.mobile).is_none() && present(&body.epic).is_none() {
        errs_ref.push(FieldError::new(
            "mobile",
            "identifier_required",
            "a mobile number or an EPIC (voter ID) is required",
            "मोबाइल नंबर या EPIC (वोटर आईडी) में से कम से कम एक आवश्यक है",
        ));
    }
    let gender = present(&body.gender)
        .and_then(|g| keep!(Gender::parse(g)))
        .flatten();
    let birth_year = body.birth_year.and_then(|y| {
        let y = i32::try_from(y).unwrap_or(if y < 0 { i32::MIN } else { i32::MAX });
        keep!(check_birth_year(y, current_year))
    });
    let address = present(&body.address)
        .and_then(|a| keep!(clean_address(a)))
        .flatten();
    let unit = match present(&body.unit) {
        Some(u) => keep!(UnitCode::parse(u)),
        None => {
            errs_ref.push(FieldError::new(
                "unit",
                "unit_required",
                "unit is required: a booth code, or an assembly constituency code when the booth is not known",
                "इकाई आवश्यक है: बूथ कोड, या बूथ ज्ञात न हो तो विधानसभा कोड",
            ));
            None
        }
    };
    let wing = present(&body.wing).unwrap_or(DEFAULT_WING).to_lowercase();

    match (name, unit) {
        (Some(name), Some(unit)) if errs.is_empty() => Ok(Enrolment {
            name,
            mobile,
            epic,
            gender,
            birth_year,
            address,
            unit: unit.to_string(),
            wing,
        }),
        _ => Err(Invalid(errs)),
    }
}

/// Enrol a person in a wing (default `party`) at a booth or AC. Safe to retry: the same
/// `Idempotency-Key` with the same body answers the first answer again.
#[utoipa::path(
    post,
    path = "/api/v1/members",
    tag = "members",
    params(("Idempotency-Key" = String, Header, description = "1–200 printable ASCII characters; a new one for each enrolment, the same one for its retries")),
    request_body = EnrolRequest,
    responses(
        (status = 201, description = "Enrolled: a new membership", body = EnrolOutcomeDto),
        (status = 200, description = "Already a member of this wing: the existing membership", body = EnrolOutcomeDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 409, description = "Idempotency key reused for a different request", body = ErrorBody),
        (status = 422, description = "Invalid fields (all of them listed), or invalid JSON", body = ErrorBody),
        (status = 503, description = "A first load of members (`import` or `demo` into an empty database) is running or was interrupted (code `first_load_pending`): nothing was written; send the same request again once it ends", body = ErrorBody),
    )
)]
pub async fn enrol(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    from: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<EnrolRequest>,
) -> Result<Response, ApiError> {
    let (outcome, replayed, note) = enrol_as(
        &caller,
        &state,
        idempotency_key(&headers),
        &body,
        "api",
        Some(address_of(from)),
    )
    .await?;
    let status = if outcome.created_membership {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut dto = EnrolOutcomeDto::from(outcome);
    // A newer card carries a Luhn check digit; one that fails it is accepted (older cards have
    // none) but flagged to the enroller as a likely typing slip.
    if let Some(e) = body.epic.as_deref().map(str::trim).filter(|e| !e.is_empty())
        && let Ok(epic) = sangathan_core::ids::Epic::parse(e)
        && !epic.has_luhn_check()
    {
        dto.warnings.push(crate::dto::WarningDto {
            field: "epic".into(),
            code: "epic_check_digit".into(),
            en: "the EPIC's last digit does not match its check digit: please check the number (older cards have no check digit)".into(),
            hi: "EPIC का अंतिम अंक जाँच अंक से मेल नहीं खाता: कृपया नंबर जाँचें (पुराने कार्डों में जाँच अंक नहीं होता)".into(),
        });
    }
    let mut res = (status, Json(dto)).into_response();
    if replayed {
        res.headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(note.on(res))
}

/// Validates and stores an enrolment for the caller through `channel` (`api`, `web`): the one
/// path for the API and the pages. Answers the outcome, whether it replays an earlier request
/// with the same key, and the audit note.
pub async fn enrol_as(
    caller: &Caller,
    state: &AppState,
    key: Result<String, FieldError>,
    body: &EnrolRequest,
    channel: &str,
    address: Option<String>,
) -> Result<(sangathan_store::EnrolOutcome, bool, AuditNote), ApiError> {
    let enrolment = validate_enrolment(body, clock::today().year());
    // The deployment's setting matters only when a sensitive field was sent: no read on the
    // everyday path.
    let sensitive_sent = present(&body.category).is_some() || present(&body.religion).is_some();
    let sensitive_on = sensitive_sent && state.store.sensitive_fields().await?;
    let consent = validate_consent(body, sensitive_on);
    let mut errs = Vec::new();
    if let Err(Invalid(e)) = &enrolment {
        errs.extend(e.iter().cloned());
    }
    if let Err(Invalid(e)) = &consent {
        errs.extend(e.iter().cloned());
    }
    if let Err(k) = &key {
        errs.push(k.clone());
    }
    let (Ok(key), Ok(enrolment), Ok(consent), true) = (key, enrolment, consent, errs.is_empty())
    else {
        return Err(Invalid(errs).into());
    };
    caller.must_be_able(Action::Enrol)?;
    // The post the enrolment is made under (the state admin's needs no look-up: the hot path).
    let post = if caller.scope.is_state_admin() {
        caller.scope.labels()
    } else {
        match state.store.place(&enrolment.unit).await? {
            Some(p) => caller.post_for(Action::Enrol, &p, None),
            None => None,
        }
    };
    let note = AuditNote::new("enrol", None).post(post);
    // Where the backend can, the audit event is stored in the enrolment's own transaction.
    let audit = address.map(|a| note.event(Some(&caller.audit_who()), a, "ok".into()));
    let ctx = EnrolContext {
        actor: caller.actor.id.clone(),
        channel: channel.into(),
        at: clock::now(),
        // The store answers a unit outside this scope exactly like an unknown unit.
        scope: (!caller.scope.is_state_admin()).then(|| caller.scope.clone()),
        consent,
        audit,
    };
    let answer = state.store.enrol(&enrolment, &ctx, &key).await?;
    let note = AuditNote {
        record: Some(answer.outcome.unit.clone()),
        ..note
    }
    .person(answer.outcome.person_id)
    .stored(answer.audited);
    Ok((answer.outcome, answer.replayed, note))
}

/// A person and their memberships.
#[utoipa::path(
    get,
    path = "/api/v1/members/{person_id}",
    tag = "members",
    params(("person_id" = i64, Path, description = "The person's id")),
    responses(
        (status = 200, description = "The person and their memberships", body = MemberDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such person", body = ErrorBody),
    )
)]
pub async fn get_member(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (member, note) = member_seen(&caller, &state, &id).await?;
    Ok(note.on(Json(MemberDto::from(member))))
}

/// A person as the caller may see them (only memberships in their scope and wings), with the
/// audit note of the look: the one rule for the API and the pages.
pub async fn member_seen(
    caller: &Caller,
    state: &AppState,
    id: &str,
) -> Result<(sangathan_store::Member, AuditNote), ApiError> {
    caller.must_be_able(Action::ViewMembers)?;
    let id: i64 = id.trim().parse().map_err(|_| ApiError::NotFound)?;
    let (home, places) = state
        .store
        .person_places(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Visible through a membership in one of the caller's wings inside their scope; a person
    // with no membership only to those who see every wing at their home unit.
    let visible: Vec<bool> = places
        .iter()
        .map(|(p, w)| caller.scope.allows(Action::ViewMembers, p, *w))
        .collect();
    let post = places
        .iter()
        .zip(&visible)
        .find(|(_, v)| **v)
        .and_then(|((p, w), _)| caller.post_for(Action::ViewMembers, p, Some(*w)));
    let whole = caller.scope.wings(Action::ViewMembers, &home) == Wings::All;
    if !whole && !visible.iter().any(|v| *v) {
        return Err(ApiError::Hidden);
    }
    let mut member = state.store.member(id).await?.ok_or(ApiError::NotFound)?;
    if !whole {
        let mut keep = visible.into_iter();
        member.memberships.retain(|_| keep.next().unwrap_or(false));
    }
    let note = AuditNote::new("view-member", Some(format!("person:{id}")))
        .person(id)
        .post(post.or_else(|| caller.post_for(Action::ViewMembers, &home, None)));
    Ok((member, note))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Unit code: members of this unit and everything under it (required).
    #[param(required = true, value_type = String)]
    pub unit: Option<String>,
    /// Wing code; default: all wings.
    pub wing: Option<String>,
    /// Search: a name in Devanagari or Latin letters (spelling variants match), a mobile in any
    /// typed form, or an EPIC. Results are ranked, exact before fuzzy.
    pub q: Option<String>,
    /// The `next` value of the previous page (a cursor; with `q`, an offset).
    #[param(value_type = Option<i64>)]
    pub after: Option<String>,
    /// Page size, 1–500; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
}

/// Members of a unit's subtree, oldest membership first, a page at a time; or, with `q`,
/// the members of the subtree found by name, mobile or EPIC, best first.
#[utoipa::path(
    get,
    path = "/api/v1/members",
    tag = "members",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of members, or of search results with `q`", body = MemberListDto),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 404, description = "No such unit", body = ErrorBody),
        (status = 422, description = "Missing unit or bad paging parameters", body = ErrorBody),
    )
)]
pub async fn list_members(
    caller: Caller,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let (list, note) = members_seen(&caller, &state, &q).await?;
    Ok(note.on(Json(list)))
}

/// A page of a unit's members, or of search results, as the caller may see them, with the
/// audit note: the one rule for the API and the pages.
pub async fn members_seen(
    caller: &Caller,
    state: &AppState,
    q: &ListQuery,
) -> Result<(MemberListDto, AuditNote), ApiError> {
    caller.must_be_able(Action::ViewMembers)?;
    let mut errs = Vec::new();
    let unit = present(&q.unit);
    if unit.is_none() {
        errs.push(FieldError::new(
            "unit",
            "unit_required",
            "the unit query parameter is required",
            "unit क्वेरी पैरामीटर आवश्यक है",
        ));
    }
    let after = match present(&q.after).map(str::parse::<i64>) {
        None => None,
        Some(Ok(a)) if a >= 0 => Some(a),
        Some(_) => {
            errs.push(FieldError::new(
                "after",
                "invalid_cursor",
                "after must be the `next` value of a previous page",
                "after पिछले पृष्ठ का `next` मान होना चाहिए",
            ));
            None
        }
    };
    let limit = match present(&q.limit).map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => {
            errs.push(FieldError::new(
                "limit",
                "invalid_limit",
                format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                format!("limit 1 से {MAX_LIMIT} तक की पूर्ण संख्या होनी चाहिए"),
            ));
            DEFAULT_LIMIT
        }
    };
    let wing = present(&q.wing).map(str::to_lowercase);
    let mut wing_id = None;
    if let Some(w) = &wing {
        let wings = state.store.wings().await?;
        wing_id = wings
            .iter()
            .find(|x| x.code.eq_ignore_ascii_case(w))
            .map(|x| x.id);
        if wing_id.is_none() {
            errs.push(FieldError::new(
                "wing",
                "unknown_wing",
                format!("unknown wing: {w}"),
                format!("अज्ञात शाखा: {w}"),
            ));
        }
    }
    if !errs.is_empty() {
        return Err(Invalid(errs).into());
    }
    let unit = unit.unwrap_or_default();
    // Filtered in the query: the unit must lie in the caller's scope, and only the wings the
    // caller holds posts in (narrowed to `wing` if asked) are read.
    let place = state.store.place(unit).await?;
    let wings = caller
        .wings_at(Action::ViewMembers, place.as_ref())?
        .narrow(wing_id);
    let place = place.expect("wings_at checked the unit exists");
    let post = caller.post_for(Action::ViewMembers, &place, wing_id);
    if let Some(text) = present(&q.q) {
        let offset = u32::try_from(after.unwrap_or(0)).unwrap_or(u32::MAX);
        let page = state
            .store
            .search(unit, text, &wings, offset, limit.min(100))
            .await?
            .ok_or(ApiError::NotFound)?;
        return Ok((
            MemberListDto::Search(page.into()),
            AuditNote::new("search-members", Some(unit.to_ascii_uppercase())).post(post),
        ));
    }
    let page = state
        .store
        .list_members(unit, &wings, after, limit)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok((
        MemberListDto::Page(page.into()),
        AuditNote::new("list-members", Some(unit.to_ascii_uppercase())).post(post),
    ))
}
