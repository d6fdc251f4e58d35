//! Account pages: register, log in and out, two-factor enrolment with a QR code, API tokens,
//! and the owner's page of a project (owners, yank, why it is held).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{
    Chrome, CsrfForm, HtmlError, SESSION_COOKIE, SessionUser, Viewer, WebResult, day, render,
    render_status, safe_next, set_cookie,
};
use crate::accounts::{self, Field, Registration};
use crate::error::ApiError;
use crate::{AppState, ClientIp, auth};

#[derive(Template, Default)]
#[template(path = "register.html")]
struct RegisterPage {
    chrome: Chrome,
    username: String,
    email: String,
    username_error: String,
    email_error: String,
    password_error: String,
    form_error: String,
    sent_to: String,
}

/// `GET /account/register/`.
pub async fn register_page(viewer: Viewer) -> Response {
    render(&RegisterPage {
        chrome: Chrome::new(&viewer, "Create an account"),
        ..RegisterPage::default()
    })
}

/// The registration form.
#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /account/register/`: the API's registration (same checks, same e-mail policy, same
/// limits), its refusal shown at the field it is about.
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Response {
    let registration = Registration {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    let mut page = RegisterPage {
        chrome: Chrome::new(&viewer, "Create an account"),
        username: form.username,
        email: form.email,
        ..RegisterPage::default()
    };
    match accounts::register_user(&state, &registration, ip.as_deref()).await {
        Ok(user) => {
            page.chrome.title = "Check your inbox".into();
            page.sent_to = user.email;
            render_status(StatusCode::CREATED, &page)
        }
        Err(e) => {
            let message = e.error.message.clone();
            match e.field {
                Some(Field::Username) => page.username_error = message,
                Some(Field::Email) => page.email_error = message,
                Some(Field::Password) => page.password_error = message,
                None => page.form_error = message,
            }
            let mut response = render_status(e.error.status, &page);
            for (name, value) in e.error.headers {
                if name != header::WWW_AUTHENTICATE {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    chrome: Chrome,
    /// The token from the link, for the confirm button (empty once used).
    token: String,
    /// The address verified, when it was.
    verified: String,
    failed: bool,
}

/// `?token=` (or the form's `token`).
#[derive(Debug, Deserialize)]
pub struct VerifyToken {
    #[serde(default)]
    token: String,
}

/// `GET /account/verify-email?token=…`: the page the mailed link opens, with one button that
/// confirms. Opening the link verifies nothing, so a mail scanner that fetches every link in a
/// message can't verify an address for whoever registered it.
pub async fn verify_page(viewer: Viewer, Query(q): Query<VerifyToken>) -> Response {
    let mut page = render(&VerifyPage {
        chrome: Chrome::new(&viewer, "Confirm your e-mail address"),
        token: q.token,
        verified: String::new(),
        failed: false,
    });
    // The token is in the URL: keep it out of Referer headers and caches.
    let headers = page.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

/// `POST /account/verify-email` (form-encoded `token`): verifies the address. The token is the
/// secret the mail carried, so the form needs no CSRF token of its own (and the API clients that
/// post it have none).
pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    axum::extract::Form(form): axum::extract::Form<VerifyToken>,
) -> WebResult {
    let now = crate::now_ms();
    let verified = state
        .store
        .use_verification(&auth::secret_hash(&form.token), now, |user, email| {
            picket_store::Event::new(
                "account.email.verify",
                now,
                Some(&user.username),
                ip.as_deref(),
                serde_json::json!({ "email": email }),
            )
        })
        .await?;
    Ok(match verified {
        Some((user, email)) => {
            tracing::info!(user = %user.username, "e-mail verified");
            render(&VerifyPage {
                chrome: Chrome::new(&viewer, "E-mail verified"),
                token: String::new(),
                verified: email,
                failed: false,
            })
        }
        None => render_status(
            StatusCode::BAD_REQUEST,
            &VerifyPage {
                chrome: Chrome::new(&viewer, "Link invalid or expired"),
                token: String::new(),
                verified: String::new(),
                failed: true,
            },
        ),
    })
}

#[derive(Template, Default)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    next: String,
    error: String,
}

/// `?next=`.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `GET /account/login/`.
pub async fn login_page(viewer: Viewer, Query(q): Query<Next>) -> Response {
    render(&LoginPage {
        chrome: Chrome::new(&viewer, "Log in"),
        next: safe_next(q.next.as_deref()),
        ..LoginPage::default()
    })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /account/login/`: the API's login (rate limits, TOTP, one use per code), then the session
/// in a cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Response {
    let totp = Some(form.totp.trim()).filter(|t| !t.is_empty());
    match accounts::log_in(&state, &form.username, &form.password, totp, ip.as_deref()).await {
        Ok((session, expires)) => {
            let age = (expires - crate::now_ms()) / 1000;
            let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&set_cookie(&state, SESSION_COOKIE, &session, Some(age)))
            {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
        Err(e) => {
            let mut response = render_status(
                e.status,
                &LoginPage {
                    chrome: Chrome::new(&viewer, "Log in"),
                    username: form.username,
                    next: safe_next(form.next.as_deref()),
                    error: e.message,
                },
            );
            for (name, value) in e.headers {
                if name != header::WWW_AUTHENTICATE {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
    }
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /account/logout/`: ends the session.
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult {
    if let Some(session) = &viewer.session {
        state.store.end_session(&auth::secret_hash(session)).await?;
    }
    let mut response = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&state, SESSION_COOKIE, "", Some(0))) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// A token for people.
pub struct TokenView {
    id: i64,
    name: String,
    prefix: String,
    scope: String,
    created: String,
    last_used: String,
}

/// A project the account owns.
pub struct OwnedView {
    name: String,
    held: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    verified: bool,
    /// Added addresses and whether each is verified.
    emails: Vec<(String, bool)>,
    two_factor: bool,
    tokens: Vec<TokenView>,
    projects: Vec<OwnedView>,
    /// A token just created, shown this once.
    new_token: Option<String>,
    error: String,
}

async fn account_page(
    state: &AppState,
    viewer: &Viewer,
    new_token: Option<String>,
    error: String,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let tokens = state
        .store
        .tokens(user.id)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none())
        .map(|t| TokenView {
            id: t.id,
            scope: match &t.scope {
                picket_store::TokenScope::User => "all your projects".to_owned(),
                picket_store::TokenScope::Projects(p) => p.join(", "),
            },
            name: t.name,
            prefix: t.prefix,
            created: day(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), day),
        })
        .collect();
    let mut projects = Vec::new();
    for (normalized, _) in state.store.owned_projects(user.id).await? {
        let held = match state.store.project(&normalized).await? {
            Some(p) => {
                p.quarantine.is_some()
                    || state
                        .store
                        .all_releases(&normalized)
                        .await?
                        .iter()
                        .any(|r| r.quarantine.is_some())
            }
            None => false,
        };
        projects.push(OwnedView {
            name: normalized,
            held,
        });
    }
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render_status(
        if new_token.is_some() {
            StatusCode::CREATED
        } else {
            status
        },
        &AccountPage {
            chrome: Chrome::new(viewer, "Your account"),
            email: user.email.clone(),
            verified: user.email_verified,
            emails: state.store.emails(user.id).await?,
            two_factor: user.has_2fa(),
            tokens,
            projects,
            new_token,
            error,
        },
    ))
}

/// `GET /account/`.
pub async fn overview(
    State(state): State<AppState>,
    SessionUser(viewer): SessionUser,
) -> WebResult {
    account_page(&state, &viewer, None, String::new()).await
}

#[derive(Template, Default)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    chrome: Chrome,
    on: bool,
    /// The enrolment in progress: the secret and its QR code (an SVG data URI).
    secret: String,
    qr: String,
    error: String,
    /// Recovery codes just made, shown this once.
    codes: Vec<String>,
    /// How many unused recovery codes the account has.
    codes_left: i64,
}

/// The page of an account with TOTP on: its unused recovery codes, or `codes` just made (shown
/// once, never cached), or `error` from a refused regeneration.
async fn two_factor_on(
    state: &AppState,
    viewer: &Viewer,
    codes: Vec<String>,
    error: Option<ApiError>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let (status, error) = error.map_or((StatusCode::OK, String::new()), |e| (e.status, e.message));
    let mut page = render_status(
        status,
        &TwoFactorPage {
            chrome: Chrome::new(viewer, "Two-factor authentication"),
            on: true,
            codes_left: state.store.recovery_codes_left(user.id).await?,
            codes,
            error,
            ..TwoFactorPage::default()
        },
    );
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(page)
}

/// `GET /account/two-factor/`.
pub async fn two_factor(
    State(state): State<AppState>,
    SessionUser(viewer): SessionUser,
) -> WebResult {
    if viewer.actor.as_ref().is_some_and(|a| a.user.has_2fa()) {
        return two_factor_on(&state, &viewer, Vec::new(), None).await;
    }
    Ok(render(&TwoFactorPage {
        chrome: Chrome::new(&viewer, "Two-factor authentication"),
        ..TwoFactorPage::default()
    }))
}

/// The QR code of an `otpauth://` URI, as an SVG `data:` URI for an `<img>`.
pub fn qr_data_uri(text: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        data_encoding::BASE64.encode(svg.as_bytes())
    ))
}

/// `POST /account/two-factor/`: offers a secret (the API's enrolment) and shows it as a QR code.
pub async fn two_factor_begin(
    State(state): State<AppState>,
    SessionUser(viewer): SessionUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let secret = accounts::begin_totp(&state, user).await?;
    let uri = auth::otpauth_uri(&user.username, &secret);
    Ok(render(&TwoFactorPage {
        chrome: Chrome::new(&viewer, "Two-factor authentication"),
        qr: qr_data_uri(&uri)?,
        secret,
        ..TwoFactorPage::default()
    }))
}

/// `{code}`.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /account/two-factor/confirm/`.
pub async fn two_factor_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    match accounts::confirm_totp(&state, user, &form.code, ip.as_deref()).await {
        Ok(codes) => two_factor_on(&state, &viewer, codes, None).await,
        Err(e) if e.status.is_client_error() => {
            let (qr, secret) = match &user.totp_pending {
                Some(s) => (
                    qr_data_uri(&auth::otpauth_uri(&user.username, s))?,
                    s.clone(),
                ),
                None => (String::new(), String::new()),
            };
            Ok(render_status(
                e.status,
                &TwoFactorPage {
                    chrome: Chrome::new(&viewer, "Two-factor authentication"),
                    qr,
                    secret,
                    error: e.message,
                    ..TwoFactorPage::default()
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `{totp}`.
#[derive(Debug, Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    totp: String,
}

/// `POST /account/two-factor/recovery-codes/`: new recovery codes in place of the old ones,
/// after a fresh TOTP code; shown once.
pub async fn recovery_codes(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<TotpForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    match accounts::regenerate_recovery_codes(&state, user, &form.totp, ip.as_deref()).await {
        Ok(codes) => two_factor_on(&state, &viewer, codes, None).await,
        Err(e) if e.status.is_client_error() && user.has_2fa() => {
            two_factor_on(&state, &viewer, Vec::new(), Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
    /// Empty: every project of the account.
    #[serde(default)]
    project: String,
}

/// `POST /account/tokens/`: the API's token creation; the token is shown once.
pub async fn token_create(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let projects = Some(form.project.trim())
        .filter(|p| !p.is_empty())
        .map(|p| vec![p.to_owned()]);
    match accounts::new_token(
        &state,
        user,
        form.name.trim(),
        projects.as_deref(),
        ip.as_deref(),
    )
    .await
    {
        Ok((token, _, _)) => {
            let mut page = account_page(&state, &viewer, Some(token), String::new()).await?;
            page.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(page)
        }
        Err(e) if e.status.is_client_error() => {
            account_page(&state, &viewer, None, e.message).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The add-an-address form.
#[derive(Debug, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /account/emails/`: the API's added address (domain policy, limit, verification mail).
pub async fn email_add(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let done = accounts::add_address(&state, user, form.email.trim(), ip.as_deref())
        .await
        .map(|_| ());
    back_to_account(&state, &viewer, done).await
}

/// `POST /account/emails/primary/`: the API's change of primary address.
pub async fn email_primary(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let done = accounts::make_primary(&state, user, &form.email, ip.as_deref()).await;
    back_to_account(&state, &viewer, done).await
}

/// `POST /account/emails/remove/`: the API's removal of an added address.
pub async fn email_remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    let done = accounts::remove_address(&state, user, &form.email, ip.as_deref()).await;
    back_to_account(&state, &viewer, done).await
}

/// Back to the account page after a change, or the page with the refusal shown.
async fn back_to_account(
    state: &AppState,
    viewer: &Viewer,
    done: Result<(), ApiError>,
) -> WebResult {
    match done {
        Ok(()) => Ok(Redirect::to("/account/").into_response()),
        Err(e) if e.status.is_client_error() => account_page(state, viewer, None, e.message).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /account/tokens/{id}/revoke/`.
pub async fn token_revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> WebResult {
    let user = &viewer.actor.as_ref().expect("signed in").user;
    if !accounts::revoke(&state, user, id, ip.as_deref()).await? {
        return Err(HtmlError(ApiError::not_found(format!(
            "You have no live token with id {id}."
        ))));
    }
    Ok(Redirect::to("/account/").into_response())
}

/// A release on the owner's page.
pub struct ManagedRelease {
    version: String,
    yanked: bool,
    yanked_reason: String,
    held: Option<String>,
    evidence: String,
}

#[derive(Template)]
#[template(path = "manage_project.html")]
struct ManagePage {
    chrome: Chrome,
    name: String,
    normalized: String,
    owners: Vec<String>,
    releases: Vec<ManagedRelease>,
    held: Option<String>,
    evidence: String,
    /// The PEP 792 status (`active`, `archived`, `deprecated`) and its reason.
    status: String,
    status_reason: String,
    error: String,
}

async fn manage_page(state: &AppState, viewer: &Viewer, project: &str, error: String) -> WebResult {
    let actor = viewer.actor.as_ref().expect("signed in");
    let p = crate::manage::project_for(state, actor, project).await?;
    let mut releases = state.store.all_releases(&p.normalized).await?;
    releases.sort_by_cached_key(|r| {
        std::cmp::Reverse(r.version.parse::<picket_formats::Version>().ok())
    });
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    Ok(render_status(
        if error.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        &ManagePage {
            chrome: Chrome::new(viewer, format!("Manage {}", p.name)),
            owners: state.store.owners(&p.normalized).await?,
            releases: releases
                .iter()
                .map(|r| ManagedRelease {
                    version: r.version.clone(),
                    yanked: r.yanked,
                    yanked_reason: r.yanked_reason.clone().unwrap_or_default(),
                    held: r.quarantine.as_ref().map(|q| q.reason.clone()),
                    evidence: r
                        .quarantine
                        .as_ref()
                        .map(|q| pretty(&q.evidence))
                        .unwrap_or_default(),
                })
                .collect(),
            held: p.quarantine.as_ref().map(|q| q.reason.clone()),
            evidence: p
                .quarantine
                .as_ref()
                .map(|q| pretty(&q.evidence))
                .unwrap_or_default(),
            status: p
                .status
                .as_ref()
                .map_or_else(|| "active".to_owned(), |s| s.status.clone()),
            status_reason: p.status.map(|s| s.reason).unwrap_or_default(),
            name: p.name,
            normalized: p.normalized,
            error,
        },
    ))
}

/// `POST /manage/project/NAME/status/`: the API's PEP 792 status change.
pub async fn manage_status(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    Path(project): Path<String>,
    CsrfForm(form): CsrfForm<crate::manage::StatusForm>,
) -> WebResult {
    let actor = viewer.actor.as_ref().expect("signed in");
    match crate::manage::set_status_by(
        &state,
        actor,
        ip.as_deref(),
        &project,
        &form.status,
        &form.reason,
    )
    .await
    {
        Ok(()) => Ok(back_to_manage(&project)),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            manage_page(&state, &viewer, &project, e.message).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /manage/project/NAME/`: owners, releases with yank buttons, and why anything is held.
pub async fn manage_project(
    State(state): State<AppState>,
    SessionUser(viewer): SessionUser,
    Path(project): Path<String>,
) -> WebResult {
    manage_page(&state, &viewer, &project, String::new()).await
}

/// Back to the owner's page of `project`.
fn back_to_manage(project: &str) -> Response {
    Redirect::to(&format!(
        "/manage/project/{}/",
        picket_formats::normalize(project)
    ))
    .into_response()
}

/// The yank form.
#[derive(Debug, Deserialize)]
pub struct YankForm {
    version: String,
    /// `yank` or `unyank`.
    action: String,
    #[serde(default)]
    reason: String,
}

/// `POST /manage/project/NAME/yank/`: the API's yank or unyank.
pub async fn manage_yank(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    Path(project): Path<String>,
    CsrfForm(form): CsrfForm<YankForm>,
) -> WebResult {
    let actor = viewer.actor.as_ref().expect("signed in");
    let yanked = match form.action.as_str() {
        "yank" => true,
        "unyank" => false,
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown action `{other}`: yank or unyank."
            ))));
        }
    };
    let reason = Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let _changed = crate::manage::set_yanked_by(
        &state,
        actor,
        ip.as_deref(),
        &project,
        &form.version,
        yanked,
        reason,
    )
    .await?;
    Ok(back_to_manage(&project))
}

/// The owners form.
#[derive(Debug, Deserialize)]
pub struct OwnerForm {
    username: String,
    /// `add` or `remove`.
    action: String,
}

/// `POST /manage/project/NAME/owners/`: the API's owner change.
pub async fn manage_owners(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    Path(project): Path<String>,
    CsrfForm(form): CsrfForm<OwnerForm>,
) -> WebResult {
    let actor = viewer.actor.as_ref().expect("signed in");
    let add = form.action == "add";
    match crate::manage::change_owner(
        &state,
        actor,
        ip.as_deref(),
        &project,
        form.username.trim(),
        add,
    )
    .await
    {
        Ok(_) => Ok(back_to_manage(&project)),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::NOT_FOUND => {
            manage_page(&state, &viewer, &project, e.message).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The removal form: what (`project`, `release`, `file`), which, and the project name typed to
/// confirm (absent: show the confirmation page).
#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    what: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    filename: String,
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "manage_remove.html")]
struct RemovePage {
    chrome: Chrome,
    name: String,
    normalized: String,
    what: String,
    version: String,
    filename: String,
    summary: String,
    button: String,
    /// `(filename, version, size)` of what goes.
    files: Vec<(String, String, String)>,
    /// For a release: its files, each removable alone.
    release_files: Vec<String>,
    error: String,
}

/// `POST /manage/project/NAME/remove/`: first the confirmation page (what goes, file by file),
/// then, with the project's name typed, the API's removal of the project, a release or a file.
pub async fn manage_remove(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    SessionUser(viewer): SessionUser,
    Path(project): Path<String>,
    CsrfForm(form): CsrfForm<RemoveForm>,
) -> WebResult {
    use crate::manage::Removing;
    let actor = viewer.actor.as_ref().expect("signed in");
    let p = crate::manage::project_for(&state, actor, &project).await?;
    let what = match form.what.as_str() {
        "project" => Removing::Project,
        "release" if !form.version.is_empty() => Removing::Release(&form.version),
        "file" if !form.filename.is_empty() => Removing::File(&form.filename),
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown removal `{other}`: project, release (with a version) or file (with a filename)."
            ))));
        }
    };
    let typed = form.confirm.as_deref().map(str::trim);
    if let Some(typed) = typed
        && picket_formats::normalize(typed) == p.normalized
    {
        crate::manage::remove_by(&state, actor, ip.as_deref(), &p.normalized, what).await?;
        return Ok(match what {
            Removing::Project => Redirect::to("/account/").into_response(),
            _ => back_to_manage(&p.normalized),
        });
    }
    let files = state.store.project_files(&p.normalized).await?;
    let (summary, button, going, release_files) = match what {
        Removing::Project => (
            format!(
                "Removing the project {} removes all its releases and files and its owners.",
                p.name
            ),
            format!("Remove the project {}", p.name),
            files.iter().collect::<Vec<_>>(),
            Vec::new(),
        ),
        Removing::Release(version) => {
            let of_release: Vec<_> = files.iter().filter(|f| f.version == version).collect();
            let names = of_release.iter().map(|f| f.filename.clone()).collect();
            (
                format!(
                    "Removing release {version} of {} removes its files.",
                    p.name
                ),
                format!("Remove release {version}"),
                of_release,
                names,
            )
        }
        Removing::File(filename) => (
            format!("Removing the file {filename} leaves the rest of its release."),
            "Remove this file".to_owned(),
            files.iter().filter(|f| f.filename == filename).collect(),
            Vec::new(),
        ),
    };
    let error = match typed {
        Some(_) => format!("The name you typed is not {}: nothing was removed.", p.name),
        None => String::new(),
    };
    Ok(render_status(
        if error.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        &RemovePage {
            chrome: Chrome::new(&viewer, format!("Remove from {}", p.name)),
            files: going
                .iter()
                .map(|f| {
                    (
                        f.filename.clone(),
                        f.version.clone(),
                        super::human_size(f.size),
                    )
                })
                .collect(),
            release_files,
            summary,
            button,
            what: form.what,
            version: form.version,
            filename: form.filename,
            name: p.name,
            normalized: p.normalized,
            error,
        },
    ))
}
