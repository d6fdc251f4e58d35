//! The web interface for people: server-rendered pages at PyPI's URLs (`/`, `/search/`,
//! `/project/NAME/`, `/user/NAME/`, `/account/…`, `/manage/…`, `/admin/…`).
//!
//! Pages are askama templates (checked at compile time, escaping by default) under
//! `crates/picket-server/templates/`, with one stylesheet and no scripts. The rules are the ones
//! the JSON API uses — the same functions in [`crate::accounts`], [`crate::manage`],
//! [`crate::admin`] and the store — only the answer is HTML.
//!
//! Safety: the session is the API's (`pks-…`), carried in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` when `public-url` is https); every form carries a CSRF token that must match
//! a second cookie, and a POST whose `Origin` is another site is refused; every page is sent with
//! a Content-Security-Policy that allows no script and no inline style.

mod account;
mod admin;
mod public;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::auth::{self, Actor};
use crate::error::ApiError;

/// The session cookie: the API's login session secret.
pub const SESSION_COOKIE: &str = "picket_session";
/// The CSRF cookie; every form sends its value back as `csrf`.
pub const CSRF_COOKIE: &str = "picket_csrf";

/// What every page may show: no script, no inline style, nothing from elsewhere.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet (light and dark).
const STYLE: &str = include_str!("../../static/style.css");

/// The web routes, merged into [`crate::router`].
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(public::home))
        .route("/search/", get(public::search))
        .route("/project/{project}/", get(public::project))
        .route("/project/{project}/{version}/", get(public::release))
        .route("/user/{username}/", get(public::user))
        .route("/static/style.css", get(style))
        .route(
            "/account/register/",
            get(account::register_page).post(account::register),
        )
        .route(
            "/account/login/",
            get(account::login_page).post(account::login),
        )
        .route("/account/logout/", post(account::logout))
        .route(
            "/account/verify-email",
            get(account::verify_page).post(account::verify),
        )
        .route("/account/", get(account::overview))
        .route(
            "/account/two-factor/",
            get(account::two_factor).post(account::two_factor_begin),
        )
        .route(
            "/account/two-factor/confirm/",
            post(account::two_factor_confirm),
        )
        .route(
            "/account/two-factor/recovery-codes/",
            post(account::recovery_codes),
        )
        .route("/account/tokens/", post(account::token_create))
        .route("/account/emails/", post(account::email_add))
        .route("/account/emails/primary/", post(account::email_primary))
        .route("/account/emails/remove/", post(account::email_remove))
        .route("/account/tokens/{id}/revoke/", post(account::token_revoke))
        .route("/manage/project/{project}/", get(account::manage_project))
        .route(
            "/manage/project/{project}/yank/",
            post(account::manage_yank),
        )
        .route(
            "/manage/project/{project}/owners/",
            post(account::manage_owners),
        )
        .route(
            "/manage/project/{project}/remove/",
            post(account::manage_remove),
        )
        .route(
            "/manage/project/{project}/status/",
            post(account::manage_status),
        )
        .merge(admin::routes())
        .layer(axum::middleware::from_fn_with_state(state, guard))
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// The CSRF value of this request (from its cookie, or new), set on the response when new.
#[derive(Debug, Clone)]
pub struct CsrfValue(pub String);

/// Around every web route: the CSRF cookie, and the security headers.
async fn guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookie(request.headers(), CSRF_COOKIE).filter(|v| v.len() == 52);
    let fresh = existing.is_none();
    let value = existing.unwrap_or_else(|| auth::new_secret(""));
    request.extensions_mut().insert(CsrfValue(value.clone()));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page may be stricter: the e-mail verification page sends no referrer at all (its URL
    // carries the token).
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    if fresh && let Ok(v) = HeaderValue::from_str(&set_cookie(&state, CSRF_COOKIE, &value, None)) {
        headers.append(header::SET_COOKIE, v);
    }
    response
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, path `/`, `Secure` behind https;
/// `max_age` seconds, or a session cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if state.base_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}{secure}")
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Who is looking at a page: the account behind the session cookie, if any.
#[derive(Debug)]
pub struct Viewer {
    /// The signed-in account (a session, never a token).
    pub actor: Option<Actor>,
    /// The session secret, when signed in (for logging out).
    pub session: Option<String>,
    /// The CSRF value forms carry.
    pub csrf: String,
    /// The path asked for (where to come back to after logging in).
    pub path: String,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = HtmlError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let csrf = parts
            .extensions
            .get::<CsrfValue>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let path = parts.uri.path().to_owned();
        let Some(session) =
            cookie(&parts.headers, SESSION_COOKIE).filter(|s| s.starts_with(auth::SESSION_PREFIX))
        else {
            return Ok(Self {
                actor: None,
                session: None,
                csrf,
                path,
            });
        };
        let actor = state
            .store
            .session_user(&auth::secret_hash(&session), crate::now_ms())
            .await
            .map_err(ApiError::from)?
            .map(|(user, mfa_session)| Actor {
                user,
                token: None,
                mfa_session,
            });
        Ok(Self {
            session: actor.as_ref().map(|_| session),
            actor,
            csrf,
            path,
        })
    }
}

/// A signed-in person; others are sent to the login page (303).
#[derive(Debug)]
pub struct SessionUser(pub Viewer);

impl SessionUser {
    /// The account.
    pub fn actor(&self) -> &Actor {
        self.0.actor.as_ref().expect("checked on extraction")
    }
}

impl FromRequestParts<AppState> for SessionUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if viewer.actor.is_none() {
            return Err(login_redirect(&viewer.path));
        }
        Ok(Self(viewer))
    }
}

/// A site administrator whose session was opened with two-factor authentication (the rule of
/// [`Actor::is_site_admin`]); signed-out people are sent to log in, others get 403.
#[derive(Debug)]
pub struct Admin(pub Viewer);

impl Admin {
    /// The administrator.
    pub fn actor(&self) -> &Actor {
        self.0.actor.as_ref().expect("checked on extraction")
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SessionUser(viewer) = SessionUser::from_request_parts(parts, state).await?;
        let actor = viewer.actor.as_ref().expect("signed in");
        if !actor.is_site_admin() {
            let message = if actor.user.is_admin {
                "The admin console needs a session opened with two-factor authentication: enrol TOTP and log in again with a code."
            } else {
                "This page is for the index's administrators."
            };
            return Err(HtmlError(ApiError::forbidden(message)).into_response());
        }
        Ok(Self(viewer))
    }
}

fn login_redirect(path: &str) -> Response {
    Redirect::to(&format!(
        "/account/login/?next={}",
        crate::simple::url_escape(path)
    ))
    .into_response()
}

/// A form whose `csrf` field matches the CSRF cookie and whose `Origin`, when sent, is this site;
/// anything else is refused with 403 before the form is read further.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = HtmlError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let forged = || {
            HtmlError(ApiError::forbidden(
                "This form was not sent from this site's page (the CSRF check failed). Reload the page and try again.",
            ))
        };
        let expected = cookie(req.headers(), CSRF_COOKIE).ok_or_else(forged)?;
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            let origin = origin.to_str().unwrap_or_default();
            let ours = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(|o| o == host)
                || state.base_url() == origin;
            if !ours {
                return Err(forged());
            }
        }
        let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .map_err(|_| HtmlError(ApiError::bad_request("The form is too large.")))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|e| HtmlError(ApiError::bad_request(format!("Unreadable form: {e}"))))?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        if !auth::constant_time_eq(sent, &expected) {
            return Err(forged());
        }
        serde_urlencoded::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| HtmlError(ApiError::bad_request(format!("Incomplete form: {e}"))))
    }
}

/// The layout's view of the viewer.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The page title.
    pub title: String,
    /// The signed-in account's name.
    pub username: Option<String>,
    /// Whether the admin console is open to the viewer.
    pub admin: bool,
    /// The CSRF value for the page's forms.
    pub csrf: String,
}

impl Chrome {
    /// The layout for `viewer`.
    pub fn new(viewer: &Viewer, title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            username: viewer.actor.as_ref().map(|a| a.user.username.clone()),
            admin: viewer.actor.as_ref().is_some_and(Actor::is_site_admin),
            csrf: viewer.csrf.clone(),
        }
    }
}

/// Renders a template (a failure is a 500 page, never a panic).
pub fn render(template: &impl askama::Template) -> Response {
    render_status(StatusCode::OK, template)
}

/// [`render`] with a status.
pub fn render_status(status: StatusCode, template: &impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.\n",
            )
                .into_response()
        }
    }
}

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    message: &'a str,
}

/// An error as a page: the web routes' error format (the status and message of the
/// [`ApiError`], in the layout).
#[derive(Debug)]
pub struct HtmlError(pub ApiError);

impl From<ApiError> for HtmlError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<picket_store::StoreError> for HtmlError {
    fn from(e: picket_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for HtmlError {
    fn into_response(self) -> Response {
        let chrome = Chrome {
            title: self
                .0
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            ..Chrome::default()
        };
        let mut response = render_status(
            self.0.status,
            &ErrorPage {
                chrome,
                status: self.0.status.as_u16(),
                message: &self.0.message,
            },
        );
        for (name, value) in self.0.headers {
            if name != header::WWW_AUTHENTICATE {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A web handler's result.
pub type WebResult = Result<Response, HtmlError>;

/// Bytes for people: `1.2 MB`.
pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1000.0 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} kB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} GB", b / 1e9)
    }
}

/// A date for people: `2026-11-30`.
pub fn day(ms: i64) -> String {
    picket_store::rfc3339(ms).chars().take(10).collect()
}

/// Where to go after logging in: a path on this site only.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/account/".to_owned(),
    }
}

/// Shown to an administrator on the home page of an empty registry, and printed by `serve` on
/// its first start: how to begin.
#[derive(Debug, Clone)]
pub struct FirstContact {
    /// The index's public address.
    pub base: String,
}

impl FirstContact {
    /// The simple index URL.
    pub fn simple(&self) -> String {
        format!("{}/simple/", self.base)
    }

    /// The upload URL.
    pub fn legacy(&self) -> String {
        format!("{}/legacy/", self.base)
    }

    /// The text `serve` prints.
    pub fn text(&self) -> String {
        format!(
            "This registry is empty. Next steps:\n\
             \x20 web:          {base}/\n\
             \x20 first admin:  picket admin create-user NAME --email ADDRESS --admin --password-stdin\n\
             \x20               (then log in at {base}/account/login/ and enrol TOTP: the admin console needs it)\n\
             \x20 pip:          pip install --index-url {simple} PROJECT   (or PIP_INDEX_URL={simple})\n\
             \x20 uv:           UV_DEFAULT_INDEX={simple}   (or [[tool.uv.index]] url = \"{simple}\")\n\
             \x20 twine:        twine upload --repository-url {legacy} -u __token__ -p pkt-… dist/*\n\
             \x20 uv publish:   uv publish --publish-url {legacy} --token pkt-…\n",
            base = self.base,
            simple = self.simple(),
            legacy = self.legacy(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/admin/")), "/admin/");
        assert_eq!(safe_next(Some("//evil.example/")), "/account/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/account/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/account/");
        assert_eq!(safe_next(None), "/account/");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; picket_session=pks-x; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("pks-x"));
        assert_eq!(cookie(&h, "c"), None);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_500), "1.5 kB");
        assert_eq!(human_size(2_500_000), "2.5 MB");
    }
}
