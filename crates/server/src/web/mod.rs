//! The web app: server-rendered pages (askama templates, every string through Fluent in Hindi
//! or English), its assets, and the offline shell (manifest + service worker).
//!
//! Pages use the same rules as the API: the caller comes from the session cookie, scope checks
//! and audit notes come from the same functions (`routes::*::*_seen`, `enrol_as`), and every
//! form post carries the session's CSRF token. A page without a session sends the reader to
//! the login page; an error is a page in the reader's language with the API's status code.

pub mod assets;
pub mod bulk;
pub mod i18n;
pub mod meetings;
pub mod pages;
pub mod verification;
pub mod volunteers;

use crate::AppState;
use crate::auth::{self, Caller, Kind};
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use i18n::Lang;
use sangathan_core::access::Action;

/// The pages and their assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login_submit))
        .route("/login/code", post(pages::login_code))
        .route("/logout", post(pages::logout))
        .route("/lang/{lang}", get(pages::switch_lang))
        .route("/units/{code}", get(pages::drill))
        .route("/units/{code}/map", get(pages::unit_map))
        .route("/units/{code}/compliance", get(meetings::compliance))
        .route("/reports/inbox", get(meetings::inbox))
        .route("/meetings/{id}", get(meetings::meeting))
        .route("/talking-points", get(meetings::points))
        .route(
            "/meetings/{id}/report",
            get(meetings::report_page).post(meetings::report_submit),
        )
        .route("/meetings/{id}/acknowledge", post(meetings::acknowledge))
        .route(
            "/meetings/{id}/photos",
            post(meetings::report_photo)
                .layer(axum::extract::DefaultBodyLimit::max(meetings::PHOTO_UPLOAD_LIMIT)),
        )
        .route(
            "/meetings/{id}/requests/{answer}",
            post(meetings::answer_ask),
        )
        .route("/meetings/{id}/return", post(meetings::return_report))
        .route(
            "/programmes/new",
            get(volunteers::new_programme).post(volunteers::create_programme),
        )
        .route("/programmes/{id}", get(volunteers::programme))
        .route("/programmes/{id}/duties", post(volunteers::add_duty))
        .route("/programmes/{id}/checkin", get(volunteers::checkin_page))
        .route("/duties", get(volunteers::duties))
        .route("/duties/{id}/fill", post(volunteers::fill_duty))
        .route(
            "/duties/{id}/answer/{answer}",
            post(volunteers::answer_duty),
        )
        .route(
            "/units/{code}/followups",
            get(volunteers::unit_followups).post(volunteers::make_followups),
        )
        .route("/followups", get(volunteers::my_followups))
        .route("/followups/{id}", post(volunteers::followup_outcome))
        .route(
            "/bulletins",
            get(volunteers::bulletins).post(volunteers::post_bulletin),
        )
        .route("/bulletins/{id}", get(volunteers::bulletin))
        .route("/bulletins/{id}/comments", post(volunteers::add_comment))
        .route(
            "/bulletins/{id}/comments/{comment}/hide",
            post(volunteers::hide_comment),
        )
        .route("/map", get(pages::state_map))
        .route("/enrol", get(pages::enrol_page).post(pages::enrol_submit))
        .route("/enrol/booths", get(pages::enrol_booths))
        .route("/enrol/check", get(pages::enrol_check))
        .route("/members", get(pages::members))
        .route("/members/{id}", get(pages::member))
        .route("/members/{id}/correction", post(pages::correction))
        .route("/units/{code}/corrections", get(pages::corrections))
        .route(
            "/corrections/{id}/{answer}",
            post(pages::correction_decide),
        )
        .route("/verification", get(verification::queue))
        .route("/units/{code}/verification", get(verification::unit_queue))
        .route(
            "/verification/{id}/{answer}",
            post(verification::decide),
        )
        .route("/units/{code}/flags", get(verification::unit_flags))
        .route("/units/{code}/leaderboard", get(verification::leaderboard))
        .route("/flags/{id}", get(verification::flag))
        .route("/flags/{id}/resolve", post(verification::resolve_flag))
        .route("/memberships/{id}/code", post(verification::send_code))
        .route(
            "/memberships/{id}/missed-call",
            post(verification::ask_missed_call),
        )
        .route(
            "/memberships/{id}/code/confirm",
            post(verification::confirm_code),
        )
        // The member's own confirmation, behind the link in their message (no login).
        .route(
            "/m/verify/{token}",
            get(verification::member_verify_page).post(verification::member_verify_submit),
        )
        .route(
            "/import",
            get(bulk::import_page)
                .post(bulk::import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(bulk::UPLOAD_LIMIT)),
        )
        .route("/import/{id}", get(bulk::import_status))
        .route("/import/{id}/errors.csv", get(bulk::import_errors))
        .route("/export", post(bulk::export))
        .route("/offline", get(pages::offline))
        .route("/sw.js", get(assets::service_worker))
        .route("/manifest.webmanifest", get(assets::manifest))
        .route("/assets/{file}", get(assets::asset))
}

/// Does this path belong to the pages (not the API)?
pub fn is_page(path: &str) -> bool {
    !path.starts_with("/api/") && path != "/healthz"
}

/// The caller of a page: the session's office-bearer, or a redirect to the login page.
pub struct PageCaller {
    pub caller: Caller,
    pub lang: Lang,
    pub path: String,
}

impl FromRequestParts<AppState> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        // Pages check their form's CSRF token themselves (see `check_csrf`).
        let caller = match auth::authenticate_with(state, &Method::GET, &parts.headers, None).await
        {
            Ok(c) if c.kind == Kind::User && c.session.is_some() => c,
            Ok(_) | Err(ApiError::Unauthorized) => {
                let next = if parts.method == Method::GET {
                    path.clone()
                } else {
                    "/".into()
                };
                return Err(
                    Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
                );
            }
            Err(e) => return Err(PageError(e, lang, None).into_response()),
        };
        Ok(PageCaller { caller, lang, path })
    }
}

impl PageCaller {
    /// The frame every page shares.
    pub fn chrome(&self, title: String) -> Chrome {
        let s = &self.caller.scope;
        Chrome {
            lang: self.lang,
            title,
            csrf: self
                .caller
                .csrf
                .as_deref()
                .map(auth::mask_csrf)
                .unwrap_or_default(),
            path: self.path.clone(),
            logged_in: true,
            can_members: s.may_somewhere(Action::ViewMembers),
            can_enrol: s.may_somewhere(Action::Enrol),
            can_verify: s.may_somewhere(Action::Verify),
            can_export: s.may_somewhere(Action::Export),
            can_import: s.may_somewhere(Action::Import),
            can_meetings: s.may_somewhere(Action::ViewMeetings)
                || s.may_somewhere(Action::FileReport),
            can_bulletins: self.caller.actor.person_id.is_some(),
            // The volunteer force: its commanders and volunteers (others reach their duties
            // from the home page when they have any).
            can_duties: self.caller.actor.person_id.is_some()
                && s.posts.iter().any(|p| {
                    matches!(
                        p.role,
                        sangathan_core::access::Role::Volunteer
                            | sangathan_core::access::Role::VolunteerCommander
                    )
                }),
            scripts: Vec::new(),
        }
    }

    /// A form post without the session's CSRF token is refused.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        let want = self.caller.csrf.as_deref().unwrap_or("");
        if !auth::csrf_matches(sent, want) {
            return Err(self.err(ApiError::Csrf));
        }
        Ok(())
    }

    /// May not do `action` anywhere: the error page (403), before anything is looked up.
    pub fn must_be_able(&self, action: Action) -> Result<(), PageError> {
        self.caller.must_be_able(action).map_err(|e| self.err(e))
    }

    /// Who the audit log names for this page's answer.
    pub fn who(&self) -> auth::AuditWho {
        auth::AuditWho {
            actor: self.caller.actor.id.clone(),
            posts: self.caller.scope.labels(),
        }
    }

    /// An error page that the audit log attributes to this caller.
    pub fn err(&self, e: impl Into<ApiError>) -> PageError {
        PageError(e.into(), self.lang, Some(self.who()))
    }

    /// Names the caller on the answer, for the audit log.
    pub fn respond(&self, res: impl IntoResponse) -> Response {
        let mut res = res.into_response();
        res.extensions_mut().insert(self.who());
        res
    }
}

/// What the base template needs: language, title, navigation, the CSRF token.
pub struct Chrome {
    pub lang: Lang,
    pub title: String,
    pub csrf: String,
    pub path: String,
    pub logged_in: bool,
    pub can_members: bool,
    pub can_enrol: bool,
    /// The verification queue.
    pub can_verify: bool,
    pub can_export: bool,
    pub can_import: bool,
    /// Meetings and reports (the inbox link).
    pub can_meetings: bool,
    /// Bulletins (every person) and my duties (the volunteer force).
    pub can_bulletins: bool,
    pub can_duties: bool,
    /// Extra scripts of this page (under /assets/).
    pub scripts: Vec<&'static str>,
}

impl Chrome {
    /// The frame of a page seen without logging in.
    pub fn public(lang: Lang, title: String, path: &str) -> Chrome {
        Chrome {
            lang,
            title,
            csrf: String::new(),
            path: path.into(),
            logged_in: false,
            can_members: false,
            can_enrol: false,
            can_verify: false,
            can_export: false,
            can_import: false,
            can_meetings: false,
            can_bulletins: false,
            can_duties: false,
            scripts: Vec::new(),
        }
    }
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
    pub fn other_lang(&self) -> &'static str {
        self.lang.other().code()
    }
    pub fn other_lang_name(&self) -> &'static str {
        match self.lang {
            Lang::Hi => "English",
            Lang::En => "हिन्दी",
        }
    }
    pub fn next_param(&self) -> String {
        urlencode(&self.path)
    }
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }
}

/// Renders a template as an HTML page.
pub fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// An error shown as a page in the reader's language, with the API's status code (and its
/// marks for the audit log: a hidden record is a denied look, answered as "not found").
pub struct PageError(pub ApiError, pub Lang, pub Option<auth::AuditWho>);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let PageError(err, lang, who) = self;
        let body = err.body().error;
        let api = err.into_response();
        let (parts, _) = api.into_parts();
        let message = match lang {
            Lang::Hi => body.message_hi,
            Lang::En => body.message,
        };
        let page = html(&ErrorPage {
            c: Chrome::public(lang, lang.t("error-title"), "/"),
            status: parts.status.as_u16(),
            message,
        });
        let (_, body) = page.into_parts();
        let mut res = Response::from_parts(parts, body);
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Some(who) = who {
            res.extensions_mut().insert(who);
        }
        res
    }
}

/// The code of the unit a post is held at (its label is `ROLE@UNIT:WING`).
pub fn post_unit(p: &sangathan_core::access::Post) -> &str {
    p.label
        .split_once('@')
        .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
        .unwrap_or("")
}

/// Units where the caller holds a post allowing `action`, with their names.
pub async fn post_units(
    pc: &PageCaller,
    state: &AppState,
    action: Action,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in &pc.caller.scope.posts {
        if !sangathan_core::access::role_may(p.role, action) {
            continue;
        }
        let code = post_unit(p).to_string();
        if out.iter().any(|(c, _)| *c == code) {
            continue;
        }
        let name = match state.store.unit(&code).await? {
            Some(u) => pc.lang.pick(&u.name, u.name_hi.as_deref()).to_string(),
            None => code.clone(),
        };
        out.push((code, name));
    }
    Ok(out)
}

/// Each wing's name in the reader's language, by code (from the wings table, so a wing added
/// later is named too).
pub async fn wing_names(
    state: &AppState,
    lang: Lang,
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    Ok(state
        .store
        .wings()
        .await?
        .into_iter()
        .map(|w| {
            let name = lang.pick(&w.name, Some(&w.name_hi)).to_string();
            (w.code, name)
        })
        .collect())
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A local path to go back to after login or a language switch; anything else goes home.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // A path on this site: one leading slash, then no second slash or backslash, and nothing
        // a browser would strip or reinterpret (control characters, spaces, backslashes).
        Some(n)
            if n.starts_with('/')
                && !matches!(n.as_bytes().get(1), Some(b'/' | b'\\'))
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.into()
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/", "/units/UP?sort=name", "/members?q=%E0%A4%B0"] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/x",
            "https://evil.example",
            "evil",
            "/ /x",
            "/a\\b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
