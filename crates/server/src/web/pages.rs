//! The pages. Each handler gets its data through the same functions as the API (scope checks
//! and audit notes included) and renders one template.

use super::i18n::{LANG_COOKIE, Lang, indian};
use super::{Chrome, PageCaller, PageError, html, safe_next, urlencode};
use crate::AppState;
use crate::audit::AuditNote;
use crate::dto::MemberListDto;
use crate::error::ApiError;
use crate::routes::members::{EnrolRequest, ListQuery, enrol_as, member_seen, members_seen};
use crate::routes::session::{
    CodeRequest, LoginRequest, answer_code_request, check_login, session_cookie,
};
use crate::routes::units::{in_scope, progress_seen, scope_at};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sangathan_core::access::Action;
use sangathan_core::geo::UnitKind;
use sangathan_core::volunteers::ACTIVE_WINDOW_DAYS;
use sangathan_store::volunteers::{Activation, ActivationRow};
use sangathan_store::{ProgressRow, UnitBrief, clock};
use serde::Deserialize;

type PageResult = Result<Response, PageError>;

/// A progress row as a page shows it.
pub struct Row {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub achieved: String,
    pub verified: String,
    pub percent: f64,
    pub percent_text: String,
    pub pace: String,
    pub last7: String,
    /// Behind the pace needed (last 7 days slower than needed).
    pub behind: bool,
    pub link: bool,
}

/// Which count a page's % uses: the campaign's own (`counts`), or the reader's choice
/// (`?count=all|verified`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    Verified,
    Achieved,
}

impl Basis {
    /// The campaign's own (`verified` or `achieved`).
    fn of(counts: &str) -> Basis {
        if counts == "achieved" {
            Basis::Achieved
        } else {
            Basis::Verified
        }
    }
    /// The reader's choice, if any.
    fn chosen(q: Option<&str>) -> Option<Basis> {
        match q.map(str::trim) {
            Some("all") | Some("achieved") => Some(Basis::Achieved),
            Some("verified") => Some(Basis::Verified),
            _ => None,
        }
    }
    fn param(self) -> &'static str {
        match self {
            Basis::Verified => "verified",
            Basis::Achieved => "all",
        }
    }
}

impl Row {
    fn of(r: &ProgressRow, lang: Lang, link: bool) -> Row {
        Row::by(r, lang, link, None)
    }
    /// A row whose % counts `basis` (computed here when it is not the campaign's own, `counts`).
    fn by(r: &ProgressRow, lang: Lang, link: bool, basis: Option<(Basis, Basis)>) -> Row {
        let percent = match basis {
            Some((want, own)) if want != own => {
                let n = match want {
                    Basis::Verified => r.verified,
                    Basis::Achieved => r.achieved,
                };
                if r.target > 0 {
                    (n as f64) * 100.0 / (r.target as f64)
                } else {
                    0.0
                }
            }
            _ => r.percent,
        };
        Row {
            code: r.code.clone(),
            name: lang.pick(&r.name, r.name_hi.as_deref()).to_string(),
            kind: lang.t(&format!("kind-{}", r.kind)),
            target: indian(r.target),
            achieved: indian(r.achieved),
            verified: indian(r.verified),
            percent,
            percent_text: format!("{percent:.1}%"),
            pace: if r.needed == 0 {
                lang.t("pace-done")
            } else {
                lang.ta("pace-needs", &[("n", indian(r.daily_needed.ceil() as i64))])
            },
            last7: lang.ta("pace-last7", &[("n", format!("{:.0}", r.rate_7d))]),
            behind: r.needed > 0 && r.rate_7d < r.daily_needed,
            link,
        }
    }
    pub fn meter(&self) -> String {
        format!("{:.1}", self.percent.min(100.0))
    }
}

// ---------------------------------------------------------------- login, logout, language

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    mobile: String,
    code_sent: bool,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::of(&headers);
    html(&LoginPage {
        c: Chrome::public(lang, lang.t("login-title"), "/login"),
        next: safe_next(q.next.as_deref()),
        mobile: String::new(),
        code_sent: false,
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    mobile: Option<String>,
    password: Option<String>,
    code: Option<String>,
    next: Option<String>,
}

/// A form post from another site is refused (SameSite keeps the cookie off it; this keeps the
/// login form itself from being posted by another site).
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    // The Host the browser used, or the one a reverse proxy says it was.
    let hosts = [host("host"), host("x-forwarded-host")];
    origin.split_once("://").is_some_and(|(_, h)| {
        hosts
            .iter()
            .any(|x| !x.is_empty() && h.eq_ignore_ascii_case(x))
    })
}

pub(super) fn message_of(e: &ApiError, lang: Lang) -> String {
    let b = e.body().error;
    let fields = match lang {
        Lang::Hi => b.fields_hi,
        Lang::En => b.fields,
    };
    match (fields, lang) {
        (Some(f), _) if !f.is_empty() => f.into_values().collect::<Vec<_>>().join("; "),
        (_, Lang::Hi) => b.message_hi,
        (_, Lang::En) => b.message,
    }
}

pub async fn login_submit(
    State(state): State<AppState>,
    ext: Extensions,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = safe_next(f.next.as_deref());
    let page = |error: Option<String>, code_sent: bool, status: StatusCode| {
        let mut res = html(&LoginPage {
            c: Chrome::public(lang, lang.t("login-title"), "/login"),
            next: next.clone(),
            mobile: f.mobile.clone().unwrap_or_default(),
            code_sent,
            error,
        });
        *res.status_mut() = status;
        res
    };
    if !same_origin(&headers) {
        return PageError(ApiError::Csrf, lang, None).into_response();
    }
    let body = LoginRequest {
        mobile: f.mobile.clone(),
        password: f.password.clone(),
        code: f.code.clone(),
    };
    let code_sent = f.code.is_some();
    match check_login(&state, &ext, &body).await {
        Ok(Ok(person_id)) => match state.store.create_session(person_id, "user").await {
            Ok((id, _csrf)) => {
                let mut res = Redirect::to(&next).into_response();
                res.headers_mut().insert(
                    header::SET_COOKIE,
                    session_cookie(&state, &headers, &id, crate::auth::ABSOLUTE.num_seconds()),
                );
                AuditNote::new("login-user", Some(format!("person:{person_id}")))
                    .person(person_id)
                    .actor(format!("person:{person_id}"))
                    .on(res)
            }
            Err(e) => PageError(e.into(), lang, None).into_response(),
        },
        Ok(Err(note)) => note.on(page(
            Some(lang.t("login-failed")),
            code_sent,
            StatusCode::UNAUTHORIZED,
        )),
        Err(e) => {
            let status = e.status();
            let mut res = page(Some(message_of(&e, lang)), code_sent, status);
            if let Some(v) = e.into_response().headers().get(header::RETRY_AFTER) {
                res.headers_mut().insert(header::RETRY_AFTER, v.clone());
            }
            res
        }
    }
}

pub async fn login_code(
    State(state): State<AppState>,
    ext: Extensions,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    if !same_origin(&headers) {
        return PageError(ApiError::Csrf, lang, None).into_response();
    }
    let body = CodeRequest {
        mobile: f.mobile.clone(),
    };
    let (error, status) = match answer_code_request(&state, &ext, &body, "login").await {
        Ok(_) => (None, StatusCode::OK),
        Err(e) => (Some(message_of(&e, lang)), e.status()),
    };
    let mut res = html(&LoginPage {
        c: Chrome::public(lang, lang.t("login-title"), "/login"),
        next: safe_next(f.next.as_deref()),
        mobile: f.mobile.unwrap_or_default(),
        code_sent: error.is_none(),
        error,
    });
    *res.status_mut() = status;
    res
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

pub async fn logout(
    pc: PageCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    if let Some(id) = &pc.caller.session {
        state
            .store
            .touch_session(id, true)
            .await
            .map_err(|e| pc.err(e))?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &headers, "", 0));
    Ok(pc.respond(AuditNote::new("logout", None).on(res)))
}

pub async fn switch_lang(Path(lang): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::parse(&lang).unwrap_or_default();
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            lang.code()
        ))
        .expect("ASCII cookie"),
    );
    res
}

// ---------------------------------------------------------------- home and drill-down

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    cards: Vec<Card>,
    /// "Reports waiting for me: N", for those who take part in meetings.
    show_inbox: bool,
    inbox: String,
    /// My meetings (chair or organiser), from a week ago to a month ahead.
    mine: Vec<super::meetings::MeetingLine>,
    /// What I answer for.
    charges: Vec<super::meetings::ChargeLine>,
    /// Unread bulletins, my duties, follow-ups and programmes.
    vol: super::volunteers::HomeVolunteers,
}

pub struct Card {
    /// `?campaign=…` for the links, so that the drill-down follows the card's campaign.
    pub campaign: String,
    pub role: String,
    pub wing: String,
    pub row: Row,
    pub map: bool,
}

/// The campaign of a wing (the first one of that wing), for a post's progress.
async fn campaign_of(state: &AppState, wing: &str) -> Result<Option<String>, ApiError> {
    Ok(state
        .store
        .campaigns()
        .await?
        .into_iter()
        .find(|c| c.wing == wing)
        .map(|c| c.code))
}

pub async fn home(pc: PageCaller, State(state): State<AppState>) -> PageResult {
    let person = pc.caller.actor.person_id.unwrap_or_default();
    let posts = state
        .store
        .posts(person, clock::today())
        .await
        .map_err(|e| pc.err(e))?;
    let mut cards = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let wings = super::wing_names(&state, pc.lang)
        .await
        .map_err(|e| pc.err(e))?;
    for p in posts.iter().filter(|p| p.active) {
        if !seen.insert((p.unit.clone(), p.wing.clone())) {
            continue;
        }
        let campaign = campaign_of(&state, &p.wing).await.map_err(|e| pc.err(e))?;
        let Ok(progress) = progress_seen(&pc.caller, &state, &p.unit, campaign.as_deref()).await
        else {
            continue;
        };
        let kind = progress.unit.kind.clone();
        cards.push(Card {
            campaign: campaign
                .as_deref()
                .map(|c| format!("?campaign={}", urlencode(c)))
                .unwrap_or_default(),
            role: pc.lang.t(&format!("role-{}", p.role)),
            wing: wings
                .get(&p.wing)
                .cloned()
                .unwrap_or_else(|| p.wing.clone()),
            row: Row::of(&progress.unit, pc.lang, true),
            map: matches!(kind.as_str(), "state" | "division" | "district"),
        });
    }
    let (waiting, mine, charges) = super::meetings::home_lines(&pc, &state)
        .await
        .map_err(|e| pc.err(e))?;
    let vol = super::volunteers::home_lines(&pc, &state)
        .await
        .map_err(|e| pc.err(e))?;
    let c = pc.chrome(pc.lang.t("home-title"));
    Ok(pc.respond(html(&HomePage {
        vol,
        show_inbox: c.can_meetings || waiting > 0,
        inbox: pc.lang.ta("inbox-count", &[("n", waiting.to_string())]),
        c,
        cards,
        mine,
        charges,
    })))
}

#[derive(Template)]
#[template(path = "units.html")]
struct UnitPage {
    c: Chrome,
    unit: Row,
    crumbs: Vec<(String, String, bool)>,
    /// Each child's progress, with its activation when the installation has a volunteer force.
    rows: Vec<(Row, Option<Act>)>,
    /// The unit's activation ("Active workers (30 days): …"), and those placed at the unit
    /// itself rather than in a child; None: no activation column.
    activation: Option<(String, Act, Option<(String, i64, i64)>)>,
    sort: String,
    dir: String,
    /// `campaign=…&count=…&` to keep in the sort links, when not the defaults.
    campaign: String,
    /// What the % counts, and the switch: (label, link, current).
    counts: Counts,
    child_kind: String,
    map: bool,
    can_members: bool,
    can_meetings: bool,
    /// May verify here: the flags link.
    can_flags: bool,
    /// May verify here, an AC, sector or booth: the leaderboard link.
    can_leaderboard: bool,
    as_of: String,
}

/// What a page's % counts, and the switch between verified and all enrolled.
pub struct Counts {
    pub note: String,
    pub switch: Vec<(String, String, bool)>,
}

impl Counts {
    /// `base`: the page's path with its query so far (ending in `?` or `&`).
    fn of(lang: Lang, basis: Basis, base: &str) -> Counts {
        Counts {
            note: lang.t(match basis {
                Basis::Verified => "counts-verified",
                Basis::Achieved => "counts-achieved",
            }),
            switch: [Basis::Verified, Basis::Achieved]
                .into_iter()
                .map(|b| {
                    let label = lang.t(match b {
                        Basis::Verified => "count-verified",
                        Basis::Achieved => "count-all",
                    });
                    (label, format!("{base}count={}", b.param()), b == basis)
                })
                .collect(),
        }
    }
}

/// `campaign=…&` when a campaign was chosen.
fn campaign_param(campaign: Option<&str>) -> String {
    campaign
        .map(|c| format!("campaign={}&", urlencode(c)))
        .unwrap_or_default()
}

impl UnitPage {
    /// The link that sorts by `col` (flipping the direction when already sorted by it).
    pub fn sort_link(&self, col: &str) -> String {
        let dir = if self.sort == col && self.dir == "asc" {
            "desc"
        } else {
            "asc"
        };
        format!(
            "/units/{}?{}sort={col}&dir={dir}",
            self.unit.code, self.campaign
        )
    }
    pub fn aria_sort(&self, col: &str) -> &'static str {
        match (self.sort == col, self.dir.as_str()) {
            (false, _) => "none",
            (true, "desc") => "descending",
            _ => "ascending",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SortQuery {
    sort: Option<String>,
    dir: Option<String>,
    campaign: Option<String>,
    /// `all` or `verified`: which count the % uses (default: the campaign's own).
    count: Option<String>,
}

/// Activation at a unit as a page shows it: "12 / 40" and "30.0%" (aggregates, no names).
pub struct Act {
    pub active: i64,
    pub cadre: i64,
    pub figures: String,
    pub rate: String,
}

impl Act {
    fn of(r: &ActivationRow) -> Act {
        Act {
            active: r.active,
            cadre: r.cadre,
            figures: format!("{} / {}", indian(r.active), indian(r.cadre)),
            rate: r
                .rate
                .map(|x| format!("{x:.1}%"))
                .unwrap_or_else(|| "–".into()),
        }
    }
}

/// Activation figures that were slow to read, by unit code, kept ten minutes: a division's or
/// the state's take seconds at 18 M members (they read every volunteer membership), so the page
/// never waits more than two seconds for them and the figures arrive on a later visit.
type ActivationCache = std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Option<Activation>)>>;

fn activation_cache() -> &'static ActivationCache {
    static CACHE: std::sync::OnceLock<ActivationCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

const ACTIVATION_FRESH: std::time::Duration = std::time::Duration::from_secs(600);

async fn read_activation(store: sangathan_store::DynStore, code: String) -> Option<Activation> {
    let started = std::time::Instant::now();
    let a = match store.activation(&code, ACTIVE_WINDOW_DAYS, clock::now()).await {
        Ok(a) => a,
        Err(sangathan_store::StoreError::Invalid(_)) => None,
        Err(e) => {
            tracing::warn!(error = %e, unit = code, "activation figures could not be read");
            return None;
        }
    };
    // Only slow units are kept: an AC's figures (a fraction of a second) are always fresh.
    if started.elapsed() > std::time::Duration::from_millis(500)
        && let Ok(mut c) = activation_cache().lock()
    {
        c.insert(code, (std::time::Instant::now(), a.clone()));
    }
    a
}

/// Activation at a unit and its children over the active window, by code; None when the
/// installation keeps no volunteer force (the store refuses), the read fails, or it is still
/// being read (see [`ActivationCache`]).
async fn activation_of(state: &AppState, code: &str) -> Option<Activation> {
    if let Ok(c) = activation_cache().lock()
        && let Some((at, a)) = c.get(code)
        && at.elapsed() < ACTIVATION_FRESH
    {
        return a.clone();
    }
    let job = tokio::spawn(read_activation(state.store.clone(), code.to_string()));
    // Past two seconds the read goes on in the background and fills the cache.
    tokio::time::timeout(std::time::Duration::from_secs(2), job).await.ok()?.ok()?
}

/// The path from the state down to a unit; each one a link when the caller may see it.
async fn crumbs(
    pc: &PageCaller,
    state: &AppState,
    code: &str,
) -> Result<Vec<(String, String, bool)>, ApiError> {
    let mut out = Vec::new();
    let mut next = state.store.unit(code).await?.and_then(|u| u.parent);
    while let Some(code) = next {
        let Some(u) = state.store.unit(&code).await? else {
            break;
        };
        let visible = in_scope(&pc.caller, state, &u.code).await.is_ok();
        out.push((
            u.code.clone(),
            pc.lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
            visible,
        ));
        next = u.parent;
    }
    out.reverse();
    Ok(out)
}

pub async fn drill(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SortQuery>,
) -> PageResult {
    let campaign = q.campaign.clone().filter(|c| !c.trim().is_empty());
    let progress = progress_seen(&pc.caller, &state, &code, campaign.as_deref())
        .await
        .map_err(|e| pc.err(e))?;
    let lang = pc.lang;
    let sort = q.sort.unwrap_or_else(|| "number".into());
    let dir = if q.dir.as_deref() == Some("desc") {
        "desc"
    } else {
        "asc"
    };
    let mut children = progress.children.clone();
    let own = Basis::of(&progress.counts);
    let chosen = Basis::chosen(q.count.as_deref());
    let basis = chosen.unwrap_or(own);
    let pct = |r: &ProgressRow| Row::by(r, lang, false, Some((basis, own))).percent;
    let act = activation_of(&state, &progress.unit.code).await;
    let act_of = |code: &str| -> Option<&ActivationRow> {
        act.as_ref()
            .and_then(|a| a.children.iter().find(|c| c.code == code))
    };
    let key = |r: &ProgressRow| -> f64 {
        match sort.as_str() {
            "active" => act_of(&r.code).and_then(|a| a.rate).unwrap_or(-1.0),
            "target" => r.target as f64,
            "achieved" => r.achieved as f64,
            "verified" => r.verified as f64,
            "percent" => pct(r),
            "pace" => r.daily_needed,
            "last7" => r.rate_7d,
            _ => 0.0,
        }
    };
    if sort == "name" {
        children.sort_by(|a, b| {
            lang.pick(&a.name, a.name_hi.as_deref())
                .cmp(lang.pick(&b.name, b.name_hi.as_deref()))
        });
    } else if sort != "number" {
        children.sort_by(|a, b| key(a).total_cmp(&key(b)));
    }
    if dir == "desc" {
        children.reverse();
    }
    let unit = Row::by(&progress.unit, lang, false, Some((basis, own)));
    let child_kind = progress
        .children
        .first()
        .map(|r| lang.t(&format!("kind-{}", r.kind)))
        .unwrap_or_default();
    let crumbs = crumbs(&pc, &state, &progress.unit.code)
        .await
        .map_err(|e| pc.err(e))?;
    let kind = progress.unit.kind.clone();
    let page = UnitPage {
        c: pc.chrome(unit.name.clone()),
        crumbs,
        rows: children
            .iter()
            .map(|r| {
                let a = act.as_ref().map(|_| act_of(&r.code).map(Act::of));
                (
                    Row::by(
                        r,
                        lang,
                        !r.code.ends_with("UNASSIGNED"),
                        Some((basis, own)),
                    ),
                    a.flatten(),
                )
            })
            .collect(),
        activation: act.as_ref().map(|a| {
            let placed: (i64, i64) = a
                .children
                .iter()
                .fold((a.unit.cadre, a.unit.active), |(c, n), r| {
                    (c - r.cadre, n - r.active)
                });
            let here = (placed.0 > 0).then(|| {
                let n = format!("{} / {}", indian(placed.1), indian(placed.0));
                let text = lang.ta("activation-here", &[("n", n)]);
                (text, placed.1, placed.0)
            });
            (
                lang.ta("activation-unit", &[("n", a.days.to_string())]),
                Act::of(&a.unit),
                here,
            )
        }),
        campaign: format!(
            "{}{}",
            campaign_param(campaign.as_deref()),
            chosen
                .map(|b| format!("count={}&", b.param()))
                .unwrap_or_default()
        ),
        counts: Counts::of(
            lang,
            basis,
            &format!(
                "/units/{}?{}sort={sort}&dir={dir}&",
                progress.unit.code,
                campaign_param(campaign.as_deref())
            ),
        ),
        sort,
        dir: dir.into(),
        child_kind,
        map: matches!(kind.as_str(), "state" | "division" | "district"),
        can_members: scope_at(&pc.caller, &state, &progress.unit.code, Action::ViewMembers)
            .await
            .is_ok(),
        can_meetings: scope_at(
            &pc.caller,
            &state,
            &progress.unit.code,
            Action::ViewMeetings,
        )
        .await
        .is_ok(),
        can_flags: scope_at(&pc.caller, &state, &progress.unit.code, Action::Verify)
            .await
            .is_ok(),
        can_leaderboard: matches!(kind.as_str(), "ac" | "sector" | "booth")
            && scope_at(&pc.caller, &state, &progress.unit.code, Action::Verify)
                .await
                .is_ok(),
        as_of: progress.as_of.format("%d-%m-%Y").to_string(),
        unit,
    };
    Ok(pc.respond(html(&page)))
}

// ---------------------------------------------------------------- map

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    c: Chrome,
    unit: Row,
    svg: String,
    legend: Vec<(&'static str, String)>,
    rows: Vec<Row>,
    counts: Counts,
}

/// The colour of a percentage of target: five steps, light to dark, readable by the
/// colour-blind (one hue, rising darkness), with the legend's labels.
const STEPS: [(f64, &str, &str); 5] = [
    (0.0, "#fff5eb", "0–20%"),
    (20.0, "#fdbe85", "20–40%"),
    (40.0, "#fd8d3c", "40–60%"),
    (60.0, "#d94701", "60–80%"),
    (80.0, "#8c2d04", "80%+"),
];

fn colour(percent: f64) -> &'static str {
    STEPS
        .iter()
        .rev()
        .find(|(from, _, _)| percent >= *from)
        .map(|s| s.1)
        .unwrap_or(STEPS[0].1)
}

pub async fn state_map(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<SortQuery>,
) -> PageResult {
    let top = state.store.state_code().await.map_err(|e| pc.err(e))?;
    if in_scope(&pc.caller, &state, &top).await.is_ok() {
        return unit_map(pc, State(state), Path(top), Query(q)).await;
    }
    // Not the whole state: the map of the first post's unit.
    let code = pc
        .caller
        .scope
        .posts
        .first()
        .map(|p| super::post_unit(p).to_string())
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/units/{code}/map")).into_response())
}

pub async fn unit_map(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<SortQuery>,
) -> PageResult {
    let lang = pc.lang;
    let campaign = q.campaign.filter(|c| !c.trim().is_empty());
    let campaign = campaign.as_deref();
    let top = progress_seen(&pc.caller, &state, &code, campaign)
        .await
        .map_err(|e| pc.err(e))?;
    let own = Basis::of(&top.counts);
    let basis = Basis::chosen(q.count.as_deref()).unwrap_or(own);
    let by = Some((basis, own));
    // The ACs' figures: from each district of the unit (one read per district), or the AC's own.
    let mut acs: Vec<ProgressRow> = Vec::new();
    if top.unit.kind == "ac" {
        acs.push(top.unit.clone());
    } else {
        let districts: Vec<UnitBrief> = if top.unit.kind == "district" {
            vec![UnitBrief {
                code: top.unit.code.clone(),
                number: None,
                name: String::new(),
                name_hi: None,
            }]
        } else {
            state
                .store
                .units_within(&top.unit.code, UnitKind::District)
                .await
                .map_err(|e| pc.err(e))?
                .unwrap_or_default()
        };
        for d in districts {
            if let Ok(p) = progress_seen(&pc.caller, &state, &d.code, campaign).await {
                acs.extend(p.children.into_iter().filter(|r| r.kind == "ac"));
            }
        }
    }
    let labels: Vec<(u32, String, String, &'static str)> = acs
        .iter()
        .filter_map(|r| {
            let no: u32 = r.code.rsplit('-').next()?.parse().ok()?;
            let name = lang.pick(&r.name, r.name_hi.as_deref());
            let percent = Row::by(r, lang, true, by).percent;
            Some((
                no,
                format!("{name} ({no}): {percent:.1}%"),
                format!("/units/{}", r.code),
                colour(percent),
            ))
        })
        .collect();
    let areas: Vec<crate::map::Area<'_>> = labels
        .iter()
        .map(|(no, label, href, fill)| crate::map::Area {
            ac_no: *no,
            fill,
            label,
            href,
        })
        .collect();
    let unit = Row::by(&top.unit, lang, true, by);
    let svg = crate::map::svg(
        &areas,
        &lang.ta("map-title", &[("unit", unit.name.clone())]),
    );
    let mut rows: Vec<Row> = acs.iter().map(|r| Row::by(r, lang, true, by)).collect();
    rows.sort_by(|a, b| a.percent.total_cmp(&b.percent));
    let page = MapPage {
        c: pc.chrome(lang.ta("map-title", &[("unit", unit.name.clone())])),
        unit,
        svg,
        legend: STEPS.iter().map(|s| (s.1, s.2.to_string())).collect(),
        rows,
        counts: Counts::of(
            lang,
            basis,
            &format!("/units/{}/map?{}", top.unit.code, campaign_param(campaign)),
        ),
    };
    Ok(pc.respond(html(&page)))
}

// ---------------------------------------------------------------- enrolment

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    c: Chrome,
    acs: Vec<UnitBrief>,
    /// The booths to choose from when the scope is one AC (or part of one).
    booths: Vec<UnitBrief>,
    wings: Vec<(String, String)>,
    key: String,
    notice: &'static str,
    notice_version: &'static str,
    form: EnrolForm,
    errors: Vec<(String, String)>,
    done: Option<(String, String, bool)>,
    this_year: i32,
    /// The enroller: the offline outbox keeps each person's entries apart.
    person: i64,
}

impl EnrolPage {
    pub fn err(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
    pub fn booth_label(&self, b: &UnitBrief) -> String {
        format!(
            "{} — {}",
            b.number.unwrap_or_default(),
            self.c.lang.pick(&b.name, b.name_hi.as_deref())
        )
    }
    pub fn ac_label(&self, a: &UnitBrief) -> String {
        format!(
            "{} — {}",
            a.number.unwrap_or_default(),
            self.c.lang.pick(&a.name, a.name_hi.as_deref())
        )
    }
    pub fn selected_ac(&self, code: &str) -> bool {
        self.form.ac.as_deref() == Some(code) || self.acs.len() == 1
    }
    pub fn selected_gender(&self, g: &str) -> bool {
        self.form.gender.as_deref() == Some(g)
    }
    pub fn selected_wing(&self, w: &str) -> bool {
        self.form.wing.as_deref().unwrap_or("party") == w
    }
    pub fn v<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct EnrolForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    key: Option<String>,
    name: Option<String>,
    mobile: Option<String>,
    epic: Option<String>,
    gender: Option<String>,
    birth_year: Option<String>,
    ac: Option<String>,
    booth: Option<String>,
    wing: Option<String>,
    notice_shown: Option<String>,
}

/// The ACs and (for a scope inside one AC) the booths the caller may enrol in.
async fn enrol_choices(
    pc: &PageCaller,
    state: &AppState,
) -> Result<(Vec<UnitBrief>, Vec<UnitBrief>), ApiError> {
    let mut acs: Vec<UnitBrief> = Vec::new();
    let mut booths: Vec<UnitBrief> = Vec::new();
    for p in &pc.caller.scope.posts {
        if !sangathan_core::access::role_may(p.role, Action::Enrol) {
            continue;
        }
        let code = super::post_unit(p).to_string();
        match p.unit.kind {
            UnitKind::Sector | UnitKind::Booth => {
                let ac = code.splitn(4, '-').take(3).collect::<Vec<_>>().join("-");
                if let Some(a) = state.store.units_within(&ac, UnitKind::Ac).await? {
                    acs.extend(a);
                }
                booths.extend(
                    state
                        .store
                        .units_within(&code, UnitKind::Booth)
                        .await?
                        .unwrap_or_default(),
                );
            }
            _ => acs.extend(
                state
                    .store
                    .units_within(&code, UnitKind::Ac)
                    .await?
                    .unwrap_or_default(),
            ),
        }
    }
    acs.sort_by_key(|a| a.number);
    acs.dedup_by(|a, b| a.code == b.code);
    if acs.len() == 1 && booths.is_empty() {
        booths = state
            .store
            .units_within(&acs[0].code, UnitKind::Booth)
            .await?
            .unwrap_or_default();
    }
    booths.sort_by_key(|b| b.number);
    booths.dedup_by(|a, b| a.code == b.code);
    Ok((acs, booths))
}

async fn enrol_page_with(
    pc: &PageCaller,
    state: &AppState,
    form: EnrolForm,
    errors: Vec<(String, String)>,
    done: Option<(String, String, bool)>,
) -> Result<Response, PageError> {
    pc.must_be_able(Action::Enrol)?;
    let (acs, booths) = enrol_choices(pc, state).await.map_err(|e| pc.err(e))?;
    let wings = state
        .store
        .wings()
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .map(|w| {
            let name = pc.lang.pick(&w.name, Some(&w.name_hi)).to_string();
            (w.code, name)
        })
        .collect();
    let notice = sangathan_core::consent::current();
    let mut c = pc.chrome(pc.lang.t("enrol-title"));
    c.scripts = vec!["outbox.js", "enrol.js"];
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EnrolPage {
        c,
        acs,
        booths,
        wings,
        key: new_key(),
        notice: match pc.lang {
            Lang::Hi => notice.hi,
            Lang::En => notice.en,
        },
        notice_version: notice.version,
        form,
        errors,
        done,
        this_year: chrono::Datelike::year(&clock::today()),
        person: pc.caller.actor.person_id.unwrap_or_default(),
    };
    let mut res = html(&page);
    *res.status_mut() = status;
    Ok(pc.respond(res))
}

fn new_key() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS has randomness");
    format!("web-{}", hex::encode(b))
}

pub async fn enrol_page(pc: PageCaller, State(state): State<AppState>) -> PageResult {
    enrol_page_with(&pc, &state, EnrolForm::default(), Vec::new(), None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct BoothsQuery {
    ac: Option<String>,
}

/// The booths of one AC of the enroller's scope, as the form's choices ("42 — name").
pub async fn enrol_booths(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<BoothsQuery>,
) -> PageResult {
    let ac = q.ac.unwrap_or_default();
    scope_at(&pc.caller, &state, &ac, Action::Enrol)
        .await
        .map_err(|e| pc.err(e))?;
    let booths = state
        .store
        .units_within(&ac, UnitKind::Booth)
        .await
        .map_err(|e| pc.err(e))?
        .unwrap_or_default();
    let lang = pc.lang;
    let list: Vec<String> = booths
        .iter()
        .map(|b| {
            format!(
                "{} — {}",
                b.number.unwrap_or_default(),
                lang.pick(&b.name, b.name_hi.as_deref())
            )
        })
        .collect();
    Ok(pc.respond(axum::Json(list)))
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckQuery {
    value: Option<String>,
}

/// While the enroller types: is this mobile or EPIC already recorded in the units they enrol
/// in? Needs only the right to enrol (volunteers too); names are shown only to those who may
/// see members there. Audited as a look.
pub async fn enrol_check(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(q): Query<CheckQuery>,
) -> PageResult {
    pc.must_be_able(Action::Enrol)?;
    let value = q.value.unwrap_or_default();
    let value = value.trim();
    // Only a whole identifier is looked up: no fishing by fragments of names.
    let key = match (
        sangathan_core::ids::Mobile::parse(value),
        sangathan_core::ids::Epic::parse(value),
    ) {
        (Ok(m), _) => m.e164().to_string(),
        (_, Ok(e)) => e.as_str().to_string(),
        (Err(e), _) => return Err(pc.err(e)),
    };
    let mut recorded = false;
    let mut members: Vec<String> = Vec::new();
    for p in &pc.caller.scope.posts {
        if !sangathan_core::access::role_may(p.role, Action::Enrol) {
            continue;
        }
        let code = super::post_unit(p);
        let wings = pc.caller.scope.wings(Action::Enrol, &p.unit);
        let Some(found) = state
            .store
            .search(code, &key, &wings, 0, 3)
            .await
            .map_err(|e| pc.err(e))?
        else {
            continue;
        };
        if found.members.is_empty() {
            continue;
        }
        recorded = true;
        if !pc
            .caller
            .scope
            .wings(Action::ViewMembers, &p.unit)
            .is_none()
        {
            members.extend(
                found
                    .members
                    .into_iter()
                    .map(|m| format!("{} ({})", m.name, m.membership_number)),
            );
        }
    }
    members.dedup();
    let body = serde_json::json!({"recorded": recorded, "members": members});
    Ok(pc.respond(AuditNote::new("enrol-check", None).on(axum::Json(body))))
}

/// The booth code from the form: an AC code and a booth typed as "42" or "42 — name".
pub fn booth_code(ac: &str, booth: &str) -> Option<String> {
    let digits: String = booth
        .trim()
        .chars()
        .map(sangathan_core::ids::ascii_digit)
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u32 = digits.parse().ok()?;
    Some(format!("{}-B{n:04}", ac.trim().to_ascii_uppercase()))
}

/// The enrolment form posted without JavaScript (with it, the page posts to the API and keeps
/// an offline outbox).
pub async fn enrol_submit(
    pc: PageCaller,
    State(state): State<AppState>,
    from: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Form(f): Form<EnrolForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let lang = pc.lang;
    let ac = f.ac.clone().unwrap_or_default();
    let mut errors = Vec::new();
    let unit = match f.booth.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => match booth_code(&ac, b) {
            Some(code) => Some(code),
            None => {
                errors.push(("booth".to_string(), lang.t("err-booth")));
                None
            }
        },
        None => Some(ac.clone()),
    };
    let birth_year = f
        .birth_year
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let birth = match birth_year.map(|y| {
        y.chars()
            .map(sangathan_core::ids::ascii_digit)
            .collect::<String>()
            .parse::<i64>()
    }) {
        Some(Ok(y)) => Some(y),
        Some(Err(_)) => {
            errors.push(("birth_year".to_string(), lang.t("err-birth-year")));
            None
        }
        None => None,
    };
    if f.notice_shown.is_none() {
        errors.push(("notice_shown".to_string(), lang.t("err-notice")));
    }
    let body = EnrolRequest {
        name: f.name.clone(),
        mobile: f.mobile.clone(),
        epic: f.epic.clone(),
        gender: f.gender.clone(),
        birth_year: birth,
        unit,
        wing: f.wing.clone(),
        consent_notice: Some(sangathan_core::consent::current().version.to_string()),
        ..Default::default()
    };
    let key = f.key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
        sangathan_core::FieldError::new("idempotency_key", "idempotency_key_required", "", "")
    });
    if !errors.is_empty() {
        return enrol_page_with(&pc, &state, f, errors, None).await;
    }
    let address = Some(crate::auth::address_of(from));
    match enrol_as(&pc.caller, &state, key, &body, "web", address).await {
        Ok((outcome, _, note)) => {
            let done = Some((
                outcome.membership_number.clone(),
                outcome.unit.clone(),
                outcome.created_membership,
            ));
            let res = enrol_page_with(&pc, &state, EnrolForm::default(), Vec::new(), done).await?;
            Ok(note.on(res))
        }
        Err(ApiError::Invalid(inv)) => {
            let errors = inv
                .0
                .into_iter()
                .map(|e| {
                    let msg = match lang {
                        Lang::Hi => e.hi,
                        Lang::En => e.en,
                    };
                    let field = if e.field == "unit" {
                        "booth".into()
                    } else {
                        e.field
                    };
                    (field, msg)
                })
                .collect();
            enrol_page_with(&pc, &state, f, errors, None).await
        }
        Err(e) => {
            let errors = vec![("form".to_string(), message_of(&e, lang))];
            enrol_page_with(&pc, &state, f, errors, None).await
        }
    }
}

// ---------------------------------------------------------------- members

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    c: Chrome,
    q: String,
    unit: String,
    units: Vec<(String, String)>,
    rows: Vec<MemberLine>,
    next: Option<String>,
    /// The reader may review corrections at this unit.
    review: bool,
}

pub struct MemberLine {
    pub person_id: i64,
    pub name: String,
    pub number: String,
    pub wing: String,
    pub unit: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct MembersQuery {
    q: Option<String>,
    unit: Option<String>,
    after: Option<String>,
}

pub async fn members(
    pc: PageCaller,
    State(state): State<AppState>,
    Query(mq): Query<MembersQuery>,
) -> PageResult {
    pc.must_be_able(Action::ViewMembers)?;
    let lang = pc.lang;
    // The units to browse: each post that may see members.
    let units = super::post_units(&pc, &state, Action::ViewMembers)
        .await
        .map_err(|e| pc.err(e))?;
    let unit = mq
        .unit
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| units.first().map(|u| u.0.clone()))
        .unwrap_or_default();
    let q = mq.q.clone().unwrap_or_default();
    let query = ListQuery {
        unit: Some(unit.clone()),
        q: mq.q.clone(),
        after: mq.after.clone(),
        limit: Some("25".into()),
        ..Default::default()
    };
    let (list, note) = members_seen(&pc.caller, &state, &query)
        .await
        .map_err(|e| pc.err(e))?;
    let wings = super::wing_names(&state, lang)
        .await
        .map_err(|e| pc.err(e))?;
    let line = |person_id, name, number, wing: String, unit| MemberLine {
        person_id,
        name,
        number,
        wing: wings.get(&wing).cloned().unwrap_or(wing),
        unit,
    };
    let (rows, next): (Vec<MemberLine>, Option<String>) = match list {
        MemberListDto::Page(p) => (
            p.members
                .into_iter()
                .map(|m| line(m.person_id, m.name, m.membership_number, m.wing, m.unit))
                .collect(),
            p.next.map(|n| n.to_string()),
        ),
        MemberListDto::Search(p) => (
            p.members
                .into_iter()
                .map(|m| line(m.person_id, m.name, m.membership_number, m.wing, m.unit))
                .collect(),
            p.next.map(|n| n.to_string()),
        ),
    };
    let next = next.map(|n| {
        format!(
            "/members?unit={}&q={}&after={n}",
            urlencode(&unit),
            urlencode(&q)
        )
    });
    let review = match state.store.place(&unit).await.map_err(|e| pc.err(e))? {
        Some(p) => !pc.caller.scope.wings(Action::Merge, &p).is_none(),
        None => false,
    };
    let page = MembersPage {
        c: pc.chrome(lang.t("members-title")),
        q,
        unit,
        units,
        rows,
        next,
        review,
    };
    Ok(pc.respond(note.on(html(&page))))
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    c: Chrome,
    m: sangathan_store::Member,
    trail: Vec<sangathan_store::AuditRecord>,
    can_audit: bool,
    saved: bool,
    wings: std::collections::HashMap<String, String>,
    /// Each membership's verification, by membership id.
    states: std::collections::HashMap<i64, MembershipLine>,
    /// A note after a code was sent or confirmed.
    note: Option<String>,
    /// Who did what, by audit-log actor id (`person:ID`, `operator`), in the reader's language.
    names: std::collections::HashMap<String, String>,
    /// Corrections asked for and not yet reviewed.
    open: Vec<CorrectionLine>,
    /// Where the reader reviews them (a unit they may change members' records in).
    review: Option<String>,
    /// Why the correction just sent was refused, and what was typed.
    correction_error: Option<(String, String, String)>,
}

/// A correction request as a page shows it.
pub struct CorrectionLine {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub unit: String,
    /// The field's name in the reader's language.
    pub field: String,
    pub current: String,
    pub value: String,
    pub requested_at: String,
    /// Why the last decision about it was refused, and the reason typed.
    pub error: Option<String>,
    pub reason: String,
}

impl CorrectionLine {
    fn of(r: &sangathan_store::CorrectionRequest, lang: Lang) -> CorrectionLine {
        let shown = |v: &str| match r.field.as_str() {
            "gender" => sangathan_core::ids::Gender::from_code(v)
                .map(|g| lang.t(&format!("gender-{}", g.code().to_ascii_lowercase())))
                .unwrap_or_else(|| v.to_string()),
            "mobile" => v.strip_prefix("+91").unwrap_or(v).to_string(),
            _ => v.to_string(),
        };
        CorrectionLine {
            id: r.id,
            person_id: r.person_id,
            name: r.name.clone(),
            unit: r.unit.clone(),
            field: field_label(lang, &r.field),
            current: r
                .current
                .as_deref()
                .map(shown)
                .unwrap_or_else(|| "—".into()),
            value: if r.field == "gender" {
                shown(&r.value)
            } else {
                r.value.clone()
            },
            requested_at: (r.requested_at + chrono::Duration::minutes(330))
                .format("%d-%m-%Y %H:%M")
                .to_string(),
            error: None,
            reason: String::new(),
        }
    }
}

/// A member's field by its name in the reader's language.
fn field_label(lang: Lang, field: &str) -> String {
    match field {
        "name" | "mobile" | "epic" | "gender" | "address" => lang.t(&format!("field-{field}")),
        "birth_year" => lang.t("field-birth-year"),
        other => other.to_string(),
    }
}

/// How the audit log's actor ids read on a page: a person's name, the operator, nobody.
pub(super) async fn actor_names(
    state: &AppState,
    lang: Lang,
    ids: impl Iterator<Item = &str>,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let ids: std::collections::BTreeSet<&str> = ids.collect();
    let people: Vec<i64> = ids
        .iter()
        .filter_map(|a| a.strip_prefix("person:")?.parse().ok())
        .collect();
    let names = state.store.people_names(&people).await?;
    Ok(ids
        .into_iter()
        .map(|a| {
            let shown = match a {
                "operator" => lang.t("actor-operator"),
                "anonymous" => lang.t("actor-anonymous"),
                _ => match a
                    .strip_prefix("person:")
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    Some(id) => match names.get(&id) {
                        Some(n) if !n.is_empty() => n.clone(),
                        _ => lang.t("actor-erased"),
                    },
                    None => a.to_string(),
                },
            };
            (a.to_string(), shown)
        })
        .collect())
}

/// A membership's verification as the member page shows it.
pub struct MembershipLine {
    pub status: String,
    pub reason: Option<String>,
    pub pending: bool,
    pub code_sent: bool,
    /// The reader may send a code and type it back (Enrol there).
    pub may_code: bool,
    /// Why the last post about it was refused.
    pub error: Option<String>,
}

impl MemberPage {
    pub fn gender(&self) -> String {
        match self.m.gender.as_deref() {
            Some(g) => self.c.t(&format!("gender-{}", g.to_ascii_lowercase())),
            None => String::new(),
        }
    }
    pub fn wing(&self, w: &str) -> String {
        self.wings.get(w).cloned().unwrap_or_else(|| w.to_string())
    }
    pub fn when(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        (*t + chrono::Duration::minutes(330))
            .format("%d-%m-%Y %H:%M")
            .to_string()
    }
    pub fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("—")
    }
    pub fn year(&self) -> String {
        self.m
            .birth_year
            .map(|y| y.to_string())
            .unwrap_or_else(|| "—".into())
    }
    pub fn line(&self, id: &i64) -> Option<&MembershipLine> {
        self.states.get(id)
    }
    /// The field the refused correction was about (the form shows it chosen again).
    pub fn chosen(&self, field: &str) -> bool {
        self.correction_error.as_ref().is_some_and(|e| e.1 == field)
    }
    /// The value of the refused correction, as typed.
    pub fn typed(&self) -> &str {
        self.correction_error
            .as_ref()
            .map(|e| e.2.as_str())
            .unwrap_or("")
    }
    /// Who an audit-log actor id is, in the reader's language.
    pub fn who(&self, actor: &str) -> String {
        self.names
            .get(actor)
            .cloned()
            .unwrap_or_else(|| actor.to_string())
    }
    /// An audit event's action in the reader's language (a request with no name of its own:
    /// its route).
    pub fn action(&self, action: &str) -> String {
        let lang = self.c.lang;
        if let Some(t) = lang.try_t(&format!("audit-{action}")) {
            return t;
        }
        match action.split_once(' ') {
            Some((_, route)) if route.starts_with('/') => {
                format!("{}: {route}", lang.t("audit-request"))
            }
            _ => format!("{}: {action}", lang.t("audit-other")),
        }
    }
    /// An audit event's outcome in the reader's language.
    pub fn outcome(&self, outcome: &str) -> String {
        match outcome {
            "ok" | "denied" | "failed" => self.c.t(&format!("audit-outcome-{outcome}")),
            // A page's form answers with a redirect when it is done.
            n if n.starts_with('2') || n.starts_with('3') => self.c.t("audit-outcome-ok"),
            n => self
                .c
                .lang
                .ta("audit-outcome-status", &[("n", n.to_string())]),
        }
    }
    /// How a membership came in (web, API, import...), in the reader's language.
    pub fn channel(&self, channel: &str) -> String {
        self.c
            .lang
            .try_t(&format!("channel-{channel}"))
            .unwrap_or_else(|| channel.to_string())
    }
    pub fn status_of(&self, s: &sangathan_store::MembershipView) -> String {
        match self.states.get(&s.membership_id) {
            Some(l) => l.status.clone(),
            None => super::verification::status_name(self.c.lang, &s.status),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
    code: Option<String>,
}

pub async fn member(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(sq): Query<SavedQuery>,
) -> PageResult {
    let note = sq
        .code
        .as_deref()
        .filter(|c| matches!(*c, "sent" | "confirmed" | "asked"))
        .map(|c| if c == "asked" { pc.lang.t("verify-done-asked") } else { pc.lang.t(&format!("code-done-{c}")) });
    member_page_with(&pc, &state, &id, sq.saved.is_some(), note, None).await
}

/// The member page; `error`: a refused post about one membership (its id, the message).
pub(super) async fn member_page_with(
    pc: &PageCaller,
    state: &AppState,
    id: &str,
    saved: bool,
    note: Option<String>,
    error: Option<(i64, String)>,
) -> PageResult {
    member_page_full(pc, state, id, saved, note, error, None).await
}

/// The member page, with a refused correction (message, field and value typed) at its form.
async fn member_page_full(
    pc: &PageCaller,
    state: &AppState,
    id: &str,
    saved: bool,
    note: Option<String>,
    error: Option<(i64, String)>,
    correction_error: Option<(String, String, String)>,
) -> PageResult {
    let (m, audit) = member_seen(&pc.caller, state, id)
        .await
        .map_err(|e| pc.err(e))?;
    // The audit trail, for the roles that may read the audit log where the member lives.
    let can_audit = match state.store.place(&m.unit).await.map_err(|e| pc.err(e))? {
        Some(p) => !pc.caller.scope.wings(Action::ViewAudit, &p).is_none(),
        None => false,
    };
    let trail = if can_audit {
        state
            .store
            .audit_of_person(m.person_id, 50)
            .await
            .map_err(|e| pc.err(e))?
    } else {
        Vec::new()
    };
    let mut states = std::collections::HashMap::new();
    for s in &m.memberships {
        let Some(v) = state
            .store
            .membership_state(s.membership_id)
            .await
            .map_err(|e| pc.err(e))?
        else {
            continue;
        };
        let pending = v.status == "pending";
        let may_code = pending
            && crate::routes::verification::membership_seen(
                &pc.caller,
                state,
                s.membership_id,
                Action::Enrol,
            )
            .await
            .is_ok();
        states.insert(
            s.membership_id,
            MembershipLine {
                status: super::verification::status_name(pc.lang, &v.status),
                reason: v.reason.clone().filter(|r| !r.trim().is_empty()),
                pending,
                code_sent: v.code_sent,
                may_code,
                error: error
                    .as_ref()
                    .filter(|e| e.0 == s.membership_id)
                    .map(|e| e.1.clone()),
            },
        );
    }
    let names = actor_names(
        state,
        pc.lang,
        m.memberships
            .iter()
            .map(|s| s.enrolled_by.as_str())
            .chain(trail.iter().map(|a| a.event.actor.as_str())),
    )
    .await
    .map_err(|e| pc.err(e))?;
    let open: Vec<CorrectionLine> = state
        .store
        .corrections_of(m.person_id)
        .await
        .map_err(|e| pc.err(e))?
        .iter()
        .map(|r| CorrectionLine::of(r, pc.lang))
        .collect();
    // Where the reader may review them: a unit of the member's they may change records in.
    let mut review = None;
    if !open.is_empty() && pc.caller.scope.may_somewhere(Action::Merge) {
        for code in m
            .memberships
            .iter()
            .map(|s| s.unit.as_str())
            .chain(std::iter::once(m.unit.as_str()))
        {
            if let Some(p) = state.store.place(code).await.map_err(|e| pc.err(e))?
                && !pc.caller.scope.wings(Action::Merge, &p).is_none()
            {
                review = Some(code.to_string());
                break;
            }
        }
    }
    let failed = correction_error.is_some();
    let page = MemberPage {
        c: pc.chrome(m.name.clone()),
        m,
        trail,
        can_audit,
        saved,
        wings: super::wing_names(state, pc.lang)
            .await
            .map_err(|e| pc.err(e))?,
        states,
        note,
        names,
        open,
        review,
        correction_error,
    };
    let mut res = html(&page);
    if error.is_some() || failed {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(audit.on(res)))
}

#[derive(Debug, Default, Deserialize)]
pub struct CorrectionForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    field: Option<String>,
    value: Option<String>,
}

/// A correction of a member's record, filed for review (as a member's own request is).
pub async fn correction(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(f): Form<CorrectionForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let (m, _) = member_seen(&pc.caller, &state, &id)
        .await
        .map_err(|e| pc.err(e))?;
    let field = f.field.unwrap_or_default();
    let value = f.value.unwrap_or_default();
    // Checked as an enrolment checks it, so that a typing slip is said now, at the form (the
    // identity rules are checked when it is applied).
    if let Err(e) = check_correction(&field, &value) {
        let msg = message_of(&ApiError::from(e), pc.lang);
        return member_page_full(
            &pc,
            &state,
            &m.person_id.to_string(),
            false,
            None,
            None,
            Some((msg, field, value)),
        )
        .await;
    }
    // Who asked is kept: they may not apply it themselves.
    let req = state
        .store
        .file_correction(m.person_id, &field, value.trim(), pc.caller.actor.person_id)
        .await
        .map_err(|e| pc.err(e))?;
    let res = Redirect::to(&format!("/members/{}?saved=1", m.person_id));
    Ok(pc.respond(
        AuditNote::new("correction-request", Some(format!("correction:{req}")))
            .person(m.person_id)
            .on(res),
    ))
}

/// A correction's value checked as an enrolment checks that field.
fn check_correction(field: &str, value: &str) -> Result<(), sangathan_core::FieldError> {
    use chrono::Datelike;
    use sangathan_core::ids::{Epic, Gender, Mobile, PersonName, check_birth_year, clean_address};
    if !sangathan_store::corrections::CORRECTABLE.contains(&field) || value.trim().is_empty() {
        return Err(sangathan_core::FieldError::new(
            "value",
            "correction_invalid",
            "choose a field and type the correct value",
            "क्षेत्र चुनें और सही मान लिखें",
        ));
    }
    match field {
        "name" => PersonName::parse(value).map(|_| ()),
        "mobile" => Mobile::parse(value).map(|_| ()),
        "epic" => Epic::parse(value).map(|_| ()),
        "gender" => Gender::parse(value).map(|_| ()),
        "birth_year" => {
            let year = clock::today().year();
            let digits: String = value
                .trim()
                .chars()
                .map(sangathan_core::ids::ascii_digit)
                .collect();
            match digits.parse::<i32>() {
                Ok(y) => check_birth_year(y, year).map(|_| ()),
                Err(_) => check_birth_year(0, year).map(|_| ()),
            }
        }
        _ => clean_address(value).map(|_| ()),
    }
}

// ---------------------------------------------------------------- reviewing corrections

#[derive(Template)]
#[template(path = "corrections.html")]
struct CorrectionsPage {
    c: Chrome,
    unit: String,
    /// The reader's other units where they review corrections.
    units: Vec<(String, String)>,
    rows: Vec<CorrectionLine>,
    after: i64,
    next: Option<i64>,
    note: Option<String>,
}

impl CorrectionsPage {
    pub fn next_link(&self) -> String {
        format!(
            "/units/{}/corrections?after={}",
            urlencode(&self.unit),
            self.next.unwrap_or(0)
        )
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CorrectionsQuery {
    after: Option<String>,
    done: Option<String>,
}

/// `/units/{code}/corrections`: the open correction requests of a unit's members, for those
/// who may change members' records there.
pub async fn corrections(
    pc: PageCaller,
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<CorrectionsQuery>,
) -> PageResult {
    pc.must_be_able(Action::Merge)?;
    let after = q
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    let note = q
        .done
        .as_deref()
        .filter(|d| matches!(*d, "applied" | "declined"))
        .map(|d| pc.lang.t(&format!("corrections-done-{d}")));
    corrections_page_with(
        &pc,
        &state,
        &code.trim().to_ascii_uppercase(),
        after,
        note,
        None,
    )
    .await
}

/// The review page; `error`: a refused decision at one row (request id, message, reason typed).
async fn corrections_page_with(
    pc: &PageCaller,
    state: &AppState,
    unit: &str,
    after: i64,
    note: Option<String>,
    error: Option<(i64, String, String)>,
) -> PageResult {
    let after_text = after.to_string();
    let (list, audit) =
        crate::routes::corrections::corrections_seen(&pc.caller, state, unit, Some(&after_text))
            .await
            .map_err(|e| pc.err(e))?;
    let lang = pc.lang;
    let unit_name = match state.store.unit(unit).await.map_err(|e| pc.err(e))? {
        Some(u) => lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
        None => unit.to_string(),
    };
    let rows = list
        .corrections
        .iter()
        .map(|r| {
            let mut line = CorrectionLine::of(r, lang);
            if let Some(e) = error.as_ref().filter(|e| e.0 == r.id) {
                line.error = Some(e.1.clone());
                line.reason = e.2.clone();
            }
            line
        })
        .collect();
    // A refusal about a request no longer listed (decided meanwhile) is said at the top.
    let note = note.or_else(|| {
        error
            .as_ref()
            .filter(|e| !list.corrections.iter().any(|r| r.id == e.0))
            .map(|e| e.1.clone())
    });
    let units = super::post_units(pc, state, Action::Merge)
        .await
        .map_err(|e| pc.err(e))?
        .into_iter()
        .filter(|(c, _)| c != unit)
        .collect();
    let page = CorrectionsPage {
        c: pc.chrome(lang.ta("corrections-title", &[("unit", unit_name)])),
        unit: unit.to_string(),
        units,
        rows,
        after,
        next: list.next,
        note,
    };
    let mut res = html(&page);
    if error.is_some() {
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(pc.respond(audit.on(res)))
}

#[derive(Debug, Default, Deserialize)]
pub struct CorrectionDecisionForm {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
    /// The review page to go back to.
    unit: Option<String>,
    after: Option<String>,
    reason: Option<String>,
}

/// Apply (`answer` = `apply`) or decline (`decline`, with a reason) one correction.
pub async fn correction_decide(
    pc: PageCaller,
    State(state): State<AppState>,
    Path((id, answer)): Path<(String, String)>,
    Form(f): Form<CorrectionDecisionForm>,
) -> PageResult {
    pc.check_csrf(f.csrf.as_deref().unwrap_or(""))?;
    let reason = f.reason.as_deref().unwrap_or("").trim().to_string();
    let decline = match answer.as_str() {
        "apply" => None,
        "decline" => Some(reason.as_str()),
        _ => return Err(pc.err(ApiError::NotFound)),
    };
    let (r, _) = crate::routes::corrections::correction_seen(&pc.caller, &state, &id)
        .await
        .map_err(|e| pc.err(e))?;
    let unit = f
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_ascii_uppercase)
        .unwrap_or_else(|| r.unit.clone());
    let after: i64 = f
        .after
        .as_deref()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(0);
    match crate::routes::corrections::decide(&pc.caller, &state, &id, decline).await {
        Ok((_, note)) => {
            let done = if decline.is_some() {
                "declined"
            } else {
                "applied"
            };
            let res = Redirect::to(&format!(
                "/units/{}/corrections?after={after}&done={done}",
                urlencode(&unit)
            ));
            Ok(pc.respond(note.on(res)))
        }
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_))) => {
            let msg = message_of(&e, pc.lang);
            corrections_page_with(&pc, &state, &unit, after, None, Some((r.id, msg, reason))).await
        }
        Err(e) => Err(pc.err(e)),
    }
}

#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    c: Chrome,
}

/// What the service worker shows for a page it has not kept, when there is no connection.
pub async fn offline(headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    html(&OfflinePage {
        c: Chrome::public(lang, lang.t("offline-title"), "/offline"),
    })
}

#[cfg(test)]
mod tests {
    use super::booth_code;

    #[test]
    fn booth_typed_as_number_name_or_devanagari_digits() {
        assert_eq!(
            booth_code("up-ac-86", "42 — Primary School").as_deref(),
            Some("UP-AC-86-B0042")
        );
        assert_eq!(
            booth_code("UP-AC-86", " ४२ ").as_deref(),
            Some("UP-AC-86-B0042")
        );
        assert_eq!(booth_code("UP-AC-86", "Primary School"), None);
    }
}
