//! Accounts over the JSON API: registration, login with optional TOTP (or a recovery code), TOTP
//! enrolment and recovery codes, e-mail addresses, and API tokens. The web pages
//! ([`crate::web`]) call the same functions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use picket_store::{Event, NewUser, TokenScope, User, rfc3339};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, SESSION_PREFIX, TOKEN_PREFIX, actor};
use crate::error::ApiError;
use crate::mail::Mail;
use crate::{AppState, ClientIp, now_ms};

/// Longest password accepted (argon2 has no limit; this bounds the work per request).
const MAX_PASSWORD: usize = 4096;

/// `{"username","email","password"}`.
#[derive(Debug, Deserialize)]
pub struct Registration {
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) password: String,
}

/// PyPI's username rule: letters, digits, `.`, `_`, `-`; starts and ends with a letter or digit;
/// at most 50 characters.
pub fn validate_username(name: &str) -> Result<(), String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.len() > 50 {
        return Err("The username must be 1 to 50 characters long.".into());
    }
    if !name.chars().all(ok_char)
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("The username is invalid. Usernames must be composed of letters, numbers, periods, underscores and hyphens, and start and finish with a letter or number.".into());
    }
    if name.eq_ignore_ascii_case("__token__") {
        return Err("The username is reserved.".into());
    }
    Ok(())
}

/// A deliberately plain address check: one `@`, a non-empty local part, a dotted domain, no
/// spaces or control characters, at most 254 characters.
pub fn validate_email(email: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "The email address `{email}` isn't valid. Try again."
        ))
    };
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad();
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return bad();
    };
    if local.is_empty()
        || local.contains('@')
        || domain.len() < 3
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
    {
        return bad();
    }
    Ok(())
}

/// An address as every domain rule sees it: the domain mapped by UTS-46 (IDNA) to its ASCII form,
/// so full-width or otherwise compatible spellings (`ｍailinator.com`) are the domain they
/// display as, and an internationalised domain is one punycode name with one velocity count.
/// Then [`validate_email`]. The local part is kept as written.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let bad = || format!("The email address `{email}` isn't valid. Try again.");
    let (local, domain) = email.rsplit_once('@').ok_or_else(bad)?;
    if domain.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| bad())?;
    let normalized = format!("{local}@{ascii}");
    validate_email(&normalized).map_err(|_| bad())?;
    Ok(normalized)
}

pub(crate) fn validate_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 8 {
        return Err("Your password is too short: use at least 8 characters.".into());
    }
    if password.len() > MAX_PASSWORD {
        return Err(format!(
            "Your password is too long: at most {MAX_PASSWORD} bytes."
        ));
    }
    Ok(())
}

/// The registration field a refusal is about, so a form can show it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The username.
    Username,
    /// The e-mail address (its form, or the domain policy).
    Email,
    /// The password.
    Password,
}

/// A registration refusal and the field it is about (none: the whole form).
#[derive(Debug)]
pub(crate) struct FieldError {
    pub(crate) field: Option<Field>,
    pub(crate) error: ApiError,
}

impl From<ApiError> for FieldError {
    fn from(error: ApiError) -> Self {
        Self { field: None, error }
    }
}

fn at(field: Field) -> impl FnOnce(ApiError) -> FieldError {
    move |error| FieldError {
        field: Some(field),
        error,
    }
}

pub(crate) async fn register_user(
    state: &AppState,
    form: &Registration,
    ip: Option<&str>,
) -> Result<User, FieldError> {
    if !state.config.open_registration {
        return Err(ApiError::forbidden(
            "New user registration is disabled on this index; ask an administrator.",
        )
        .into());
    }
    validate_username(&form.username)
        .map_err(ApiError::bad_request)
        .map_err(at(Field::Username))?;
    let email = normalize_email(&form.email)
        .map_err(ApiError::bad_request)
        .map_err(at(Field::Email))?;
    validate_password(&form.password)
        .map_err(ApiError::bad_request)
        .map_err(at(Field::Password))?;
    crate::limits::check(state, crate::limits::Action::RegisterIp, ip).await?;
    crate::policy::check_email_domain(state, &email, &form.username, ip, "account.create")
        .await
        .map_err(at(Field::Email))?;
    let domain = crate::policy::registrable_domain(&email);
    let velocity = match &domain {
        Some(domain) => crate::limits::check_domain_velocity(state, domain, &form.username, ip)
            .await
            .map_err(at(Field::Email))?,
        None => None,
    };
    let hash = auth::hash_password(form.password.clone()).await?;
    let now = now_ms();
    let user = state
        .store
        .create_user(
            &NewUser {
                username: &form.username,
                email: &email,
                password_hash: &hash,
                is_admin: false,
                email_verified: false,
                email_domain: domain.as_deref(),
                time_ms: now,
                signup_cap: velocity.map(|v| v.allowed),
            },
            &[Event::new(
                "account.create",
                now,
                Some(&form.username),
                ip,
                json!({ "email": email }),
            )],
        )
        .await
        .map_err(|e| match e {
            picket_store::StoreError::UserExists(_) => Ok(at(Field::Username)(ApiError::new(
                StatusCode::CONFLICT,
                "This username is already being used by another account. Choose a different username.",
            ))),
            picket_store::StoreError::SignupCap { recent } => Err(recent),
            other => Ok(FieldError::from(ApiError::from(other))),
        });
    let user = match user {
        Ok(user) => user,
        Err(Ok(error)) => return Err(error),
        // Another sign-up from the domain filled the hour while this one was being hashed.
        Err(Err(recent)) => {
            let cap = velocity.unwrap_or(crate::limits::VelocityCap {
                allowed: recent,
                history_hourly_mean: 0.0,
                throttled: false,
            });
            let domain = domain.as_deref().unwrap_or_default();
            return Err(at(Field::Email)(
                cap.refuse(state, domain, recent, &form.username, ip, now)
                    .await,
            ));
        }
    };
    send_verification(state, &user, &user.email, now).await?;
    tracing::info!(user = %user.username, "account registered");
    Ok(user)
}

async fn send_verification(
    state: &AppState,
    user: &User,
    email: &str,
    now: i64,
) -> Result<(), ApiError> {
    let secret = auth::new_secret("");
    let hours = i64::try_from(state.config.verification_hours).unwrap_or(48);
    state
        .store
        .create_verification(
            user.id,
            email,
            &auth::secret_hash(&secret),
            now,
            now + hours * 3_600_000,
        )
        .await?;
    let link = format!("{}/account/verify-email?token={secret}", state.base_url());
    let mail = Mail {
        to: email.to_owned(),
        subject: "Verify your email address".into(),
        body: format!(
            "Hello {},\n\nConfirm that {email} is your address by opening this link within {hours} hours:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n",
            user.username
        ),
    };
    state.mailer.send(&mail, now).await.map_err(|e| {
        tracing::error!(error = %e, "mail not sent");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The account was created but the verification mail could not be sent; try again later.",
        )
    })
}

/// `POST /api/v1/register`.
pub async fn register_json(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form: Registration = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected a JSON object {{\"username\", \"email\", \"password\"}}: {e}"
        ))
        .json()
    })?;
    let user = register_user(&state, &form, ip.as_deref())
        .await
        .map_err(|e| e.error.json())?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "username": user.username,
            "email": user.email,
            "email_verified": false,
            "message": "Check your inbox for the verification link.",
        })),
    )
        .into_response())
}

/// `{"username","password","totp"?}`.
#[derive(Debug, Deserialize)]
pub struct Login {
    username: String,
    password: String,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /api/v1/login` → a session token.
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected a JSON object {{\"username\", \"password\", \"totp\"}}: {e}"
        ))
        .json()
    })?;
    let (session, expires) = log_in(
        &state,
        &form.username,
        &form.password,
        form.totp.as_deref(),
        ip.as_deref(),
    )
    .await
    .map_err(ApiError::json)?;
    Ok(Json(json!({ "session": session, "expires": rfc3339(expires) })).into_response())
}

/// Checks a password (and the TOTP code when the account has one) under the login rate limits and
/// opens a session: the secret and when it expires. The JSON API and the web login share it.
pub(crate) async fn log_in(
    state: &AppState,
    username: &str,
    password: &str,
    totp: Option<&str>,
    ip: Option<&str>,
) -> Result<(String, i64), ApiError> {
    let refused = || ApiError::unauthorized("The username or password is invalid.");
    if password.len() > MAX_PASSWORD {
        return Err(refused());
    }
    crate::limits::check(state, crate::limits::Action::LoginIp, ip).await?;
    // The per-account limit can be filled by anyone who knows the username, so it does not lock
    // the owner out: over it, only the right password together with a valid two-factor code
    // gets through (as on PyPI); everything else gets the 429.
    let account_limited =
        crate::limits::check(state, crate::limits::Action::LoginUser, Some(username))
            .await
            .err();
    let user = state.store.user(username).await?;
    // Hash even for unknown users, so timing does not tell which names exist.
    let phc = user.as_ref().map_or_else(
        || "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2x2xXKPU/bVq1jLJUiQhD1bNnUh7lzfjqxSMPrYpD1I".to_owned(),
        |u| u.password_hash.clone(),
    );
    let password_ok = auth::verify_password(password.to_owned(), phc).await;
    let Some(user) = user.filter(|u| password_ok && !u.disabled) else {
        return Err(account_limited.unwrap_or_else(refused));
    };
    let mfa = user.totp_secret.is_some();
    // Over the account's limit every failure is the same 429, so guesses learn nothing.
    let fail = |specific: ApiError| account_limited.clone().unwrap_or(specific);
    if account_limited.is_some() && !mfa {
        return Err(fail(refused()));
    }
    if let Some(secret) = &user.totp_secret {
        let Some(code) = totp else {
            return Err(fail(ApiError::unauthorized(
                "Two-factor authentication is on for this account: send the current code (or one of your recovery codes) as \"totp\".",
            )));
        };
        claim_second_factor(state, &user, secret, code, ip)
            .await
            .map_err(|e| {
                if e.status.is_server_error() {
                    e
                } else {
                    fail(e)
                }
            })?;
    }
    let now = now_ms();
    let session = auth::new_secret(SESSION_PREFIX);
    let expires = now + i64::try_from(state.config.session_hours).unwrap_or(12) * 3_600_000;
    state
        .store
        .create_session(user.id, &auth::secret_hash(&session), now, expires, mfa)
        .await?;
    state
        .store
        .record_login(
            user.id,
            &[Event::new(
                "account.login",
                now,
                Some(&user.username),
                ip,
                json!({}),
            )],
        )
        .await?;
    Ok((session, expires))
}

/// How many recovery codes an enrolment (or a regeneration) gives.
pub const RECOVERY_CODES: usize = 8;

/// A recovery code as typed (any case, with or without its dash and spaces) in the form its
/// hash is taken of.
fn recovery_code_key(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a login's second factor looks like a recovery code (`xxxxx-xxxxx`, base32) rather
/// than a 6-digit TOTP code.
fn is_recovery_code(code: &str) -> bool {
    let key = recovery_code_key(code);
    key.len() == 10 && !key.chars().all(|c| c.is_ascii_digit())
}

/// New recovery codes (`xxxxx-xxxxx`, 50 random bits each), shown once, and their sha256s, which
/// are all that is stored.
pub(crate) fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let key = || -> String {
        data_encoding::BASE32_NOPAD
            .encode(&auth::random_bytes::<7>())
            .to_ascii_lowercase()
            .chars()
            .take(10)
            .collect()
    };
    (0..RECOVERY_CODES)
        .map(|_| {
            // All digits (one in 50 million) would read as a TOTP code at login: draw again.
            let key = std::iter::repeat_with(key)
                .find(|k| is_recovery_code(k))
                .unwrap_or_default();
            let hash = auth::secret_hash(&key);
            (format!("{}-{}", &key[..5], &key[5..]), hash)
        })
        .unzip()
}

/// A login's second factor: the current TOTP code (one use per time step) or one of the
/// account's recovery codes (one use each, journaled); 401 otherwise.
async fn claim_second_factor(
    state: &AppState,
    user: &User,
    secret: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<(), ApiError> {
    if !is_recovery_code(code) {
        return claim_totp(state, user.id, secret, code).await;
    }
    let left = state.store.recovery_codes_left(user.id).await?;
    let used = state
        .store
        .use_recovery_code(
            user.id,
            &auth::secret_hash(&recovery_code_key(code)),
            &[Event::new(
                "account.2fa.recovery-code.use",
                now_ms(),
                Some(&user.username),
                ip,
                json!({ "left": (left - 1).max(0) }),
            )],
        )
        .await?;
    if used {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "This recovery code is not one of yours or was already used.",
        ))
    }
}

/// Checks a TOTP code against `secret` now and uses its time step up, so one code opens one
/// session or confirms one admin action; 401 when it is wrong or already used.
pub(crate) async fn claim_totp(
    state: &AppState,
    user_id: i64,
    secret: &str,
    code: &str,
) -> Result<(), ApiError> {
    let Some(step) = auth::totp_step(secret, code, u64::try_from(now_ms() / 1000).unwrap_or(0))
    else {
        return Err(ApiError::unauthorized("The two-factor code is invalid."));
    };
    if !state
        .store
        .claim_totp_step(user_id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?
    {
        return Err(ApiError::unauthorized(
            "This two-factor code was already used; wait for the next one.",
        ));
    }
    Ok(())
}

async fn session_actor(state: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    let actor = actor(state, headers).await.map_err(ApiError::json)?;
    if actor.token.is_some() {
        return Err(ApiError::forbidden(
            "API tokens can't manage accounts; log in (POST /api/v1/login) and use the session.",
        )
        .json());
    }
    Ok(actor.user)
}

/// `POST /api/v1/account/2fa/totp`: offers a secret to add to an authenticator app.
pub async fn totp_begin(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let secret = begin_totp(&state, &user).await.map_err(ApiError::json)?;
    Ok(Json(json!({
        "secret": secret,
        "otpauth_uri": auth::otpauth_uri(&user.username, &secret),
        "next": "POST /api/v1/account/2fa/totp/confirm with {\"code\": \"123456\"}",
    })))
}

/// Offers a new TOTP secret for `user` to confirm (409 when TOTP is already on).
pub(crate) async fn begin_totp(state: &AppState, user: &User) -> Result<String, ApiError> {
    if user.has_2fa() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "TOTP is already on for this account.",
        ));
    }
    let secret = auth::new_totp_secret();
    state.store.set_totp_pending(user.id, &secret).await?;
    Ok(secret)
}

/// `{"code"}`.
#[derive(Debug, Deserialize)]
pub struct Code {
    code: String,
}

/// `POST /api/v1/account/2fa/totp/confirm`: turns TOTP on once a code from the app matches.
pub async fn totp_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let form: Code = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Expected {{\"code\": \"123456\"}}: {e}")).json()
    })?;
    let codes = confirm_totp(&state, &user, &form.code, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    Ok(Json(json!({
        "totp": true,
        "recovery_codes": codes,
        "message": "Store these recovery codes now: each logs in once in place of a TOTP code, and they are shown only this once.",
    })))
}

/// `{"totp"}`.
#[derive(Debug, Deserialize)]
pub struct FreshTotp {
    totp: String,
}

/// `POST /api/v1/account/2fa/recovery-codes` `{"totp"}`: new recovery codes in place of the old.
pub async fn recovery_codes(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let form: FreshTotp = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Expected {{\"totp\": \"123456\"}}: {e}")).json()
    })?;
    let codes = regenerate_recovery_codes(&state, &user, &form.totp, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    Ok(Json(json!({ "recovery_codes": codes })))
}

/// Replaces `user`'s recovery codes once a fresh TOTP code from the app proves it is them;
/// answers the new codes (shown once).
pub(crate) async fn regenerate_recovery_codes(
    state: &AppState,
    user: &User,
    totp: &str,
    ip: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let Some(secret) = &user.totp_secret else {
        return Err(ApiError::bad_request(
            "Two-factor authentication is off for this account: recovery codes come with TOTP enrolment.",
        ));
    };
    claim_totp(state, user.id, secret, totp.trim()).await?;
    let (codes, hashes) = new_recovery_codes();
    state
        .store
        .replace_recovery_codes(
            user.id,
            &hashes,
            &[Event::new(
                "account.2fa.recovery-codes",
                now_ms(),
                Some(&user.username),
                ip,
                json!({ "count": codes.len() }),
            )],
        )
        .await?;
    Ok(codes)
}

/// Turns TOTP on for `user` once `code` from the app matches the offered secret; answers the
/// account's recovery codes, made with it (shown once).
pub(crate) async fn confirm_totp(
    state: &AppState,
    user: &User,
    code: &str,
    ip: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    let Some(secret) = &user.totp_pending else {
        return Err(ApiError::bad_request(
            "No TOTP enrolment in progress; start one first (POST /api/v1/account/2fa/totp, or the account page).",
        ));
    };
    let Some(step) = auth::totp_step(secret, code, u64::try_from(now_ms() / 1000).unwrap_or(0))
    else {
        return Err(ApiError::bad_request(
            "The code does not match; check the app's clock and try again.",
        ));
    };
    // The enrolment code is used up like a login code, so it can't open a session afterwards.
    if !state
        .store
        .claim_totp_step(user.id, i64::try_from(step).unwrap_or(i64::MAX))
        .await?
    {
        return Err(ApiError::bad_request(
            "This two-factor code was already used; wait for the next one.",
        ));
    }
    let now = now_ms();
    let (codes, hashes) = new_recovery_codes();
    state
        .store
        .confirm_totp(
            user.id,
            &hashes,
            &[Event::new(
                "account.2fa.add",
                now,
                Some(&user.username),
                ip,
                json!({ "method": "totp", "recovery_codes": codes.len() }),
            )],
        )
        .await?;
    Ok(codes)
}

/// `{"email"}`.
#[derive(Debug, Deserialize)]
pub struct NewEmail {
    email: String,
}

/// `POST /api/v1/account/emails`: adds an address (checked against the domain policy, limited per
/// account) and mails it a verification link.
pub async fn add_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let form: NewEmail = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Expected {{\"email\"}}: {e}")).json())?;
    let email = add_address(&state, &user, &form.email, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "email": email, "verified": false,
                     "message": "A verification link was sent to this address." })),
    )
        .into_response())
}

/// Adds an address to `user` (checked against the domain policy, limited per account) and mails
/// it a verification link; answers the address as stored.
pub(crate) async fn add_address(
    state: &AppState,
    user: &User,
    address: &str,
    ip: Option<&str>,
) -> Result<String, ApiError> {
    let email = normalize_email(address).map_err(ApiError::bad_request)?;
    crate::limits::check(
        state,
        crate::limits::Action::EmailAddUser,
        Some(&user.username),
    )
    .await?;
    crate::policy::check_email_domain(state, &email, &user.username, ip, "account.email.add")
        .await?;
    let now = now_ms();
    let added = state
        .store
        .add_email(
            user.id,
            &email,
            &[Event::new(
                "account.email.add",
                now,
                Some(&user.username),
                ip,
                json!({ "email": email }),
            )],
        )
        .await?;
    if !added {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This address is already on your account.",
        ));
    }
    send_verification(state, user, &email, now).await?;
    Ok(email)
}

/// `DELETE /api/v1/account/emails/{email}`: removes an added address (never the primary one).
pub async fn remove_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(email): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = session_actor(&state, &headers).await?;
    remove_address(&state, &user, &email, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/account/emails/primary` `{"email"}`: makes a verified added address the
/// primary one.
pub async fn primary_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let form: NewEmail = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Expected {{\"email\"}}: {e}")).json())?;
    make_primary(&state, &user, &form.email, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    Ok(Json(
        json!({ "email": form.email.trim(), "primary": true, "previous": user.email }),
    ))
}

/// Removes one of `user`'s added addresses: 400 for the primary address (make another verified
/// address primary first), 404 for an address not on the account.
pub(crate) async fn remove_address(
    state: &AppState,
    user: &User,
    address: &str,
    ip: Option<&str>,
) -> Result<(), ApiError> {
    let address = address.trim();
    if address.eq_ignore_ascii_case(&user.email) {
        return Err(ApiError::bad_request(
            "This is your primary address: make another verified address primary before removing it.",
        ));
    }
    let removed = state
        .store
        .remove_email(
            user.id,
            address,
            &[Event::new(
                "account.email.remove",
                now_ms(),
                Some(&user.username),
                ip,
                json!({ "email": address }),
            )],
        )
        .await?;
    if !removed {
        return Err(ApiError::not_found(format!(
            "`{address}` is not one of your added addresses."
        )));
    }
    Ok(())
}

/// Makes one of `user`'s verified added addresses the primary one, and tells the old primary
/// address it was replaced.
pub(crate) async fn make_primary(
    state: &AppState,
    user: &User,
    address: &str,
    ip: Option<&str>,
) -> Result<(), ApiError> {
    let address = address.trim();
    if address.eq_ignore_ascii_case(&user.email) {
        return Err(ApiError::bad_request(
            "This is already your primary address.",
        ));
    }
    let now = now_ms();
    let domain = crate::policy::registrable_domain(address);
    let change = state
        .store
        .make_primary_email(
            user.id,
            address,
            domain.as_deref(),
            &[Event::new(
                "account.email.primary",
                now,
                Some(&user.username),
                ip,
                json!({ "email": address, "previous": user.email }),
            )],
        )
        .await?;
    match change {
        picket_store::PrimaryChange::Done => {}
        picket_store::PrimaryChange::NotAdded => {
            return Err(ApiError::not_found(format!(
                "`{address}` is not one of your added addresses; add and verify it first."
            )));
        }
        picket_store::PrimaryChange::NotVerified => {
            return Err(ApiError::bad_request(format!(
                "`{address}` is not verified yet: open the link we mailed to it first."
            )));
        }
    }
    let mail = Mail {
        to: user.email.clone(),
        subject: "Your primary email address changed".into(),
        body: format!(
            "Hello {},\n\nThe primary address of your account is now {address}; this address stays on the account as a secondary one.\n\nIf you did not do this, reset your password and contact the index's administrators.\n",
            user.username
        ),
    };
    if let Err(e) = state.mailer.send(&mail, now).await {
        tracing::warn!(error = %e, "primary-address notice not sent");
    }
    Ok(())
}

/// `{"name", "projects"?}`.
#[derive(Debug, Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    projects: Option<Vec<String>>,
}

/// `POST /api/v1/tokens` → 201 with the token, shown this once.
pub async fn create_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let form: NewToken = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Expected {{\"name\", \"projects\": [..]}}: {e}")).json()
    })?;
    let (token, id, scope) = new_token(
        &state,
        &user,
        &form.name,
        form.projects.as_deref(),
        ip.as_deref(),
    )
    .await
    .map_err(ApiError::json)?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": id, "token": token, "name": form.name, "scope": scope.to_json(),
                     "message": "This token is shown once; store it now." }),
        ),
    )
        .into_response())
}

/// Creates a token for `user` (who must have a verified address and 2FA when the index asks for
/// them), scoped to `projects` when given, under the token rate limit: the secret, its row id and
/// the scope.
pub(crate) async fn new_token(
    state: &AppState,
    user: &User,
    name: &str,
    projects: Option<&[String]>,
    ip: Option<&str>,
) -> Result<(String, i64, TokenScope), ApiError> {
    if state.config.require_verified_email && !user.email_verified {
        return Err(ApiError::forbidden(
            "Verify your e-mail address before creating API tokens.",
        ));
    }
    if state.config.require_2fa_for_tokens && !user.has_2fa() {
        return Err(ApiError::forbidden(
            "Two-factor authentication is required before creating API tokens: enrol TOTP (POST /api/v1/account/2fa/totp, or the account page).",
        ));
    }
    let scope = scope_for(state, user, projects).await?;
    crate::limits::check(
        state,
        crate::limits::Action::TokenCreateUser,
        Some(&user.username),
    )
    .await?;
    let (token, id) = issue_token(state, user, name, &scope, ip).await?;
    Ok((token, id, scope))
}

/// The scope for a new token: the user's own projects only.
pub async fn scope_for(
    state: &AppState,
    user: &User,
    projects: Option<&[String]>,
) -> Result<TokenScope, ApiError> {
    let Some(projects) = projects else {
        return Ok(TokenScope::User);
    };
    if projects.is_empty() {
        return Err(
            ApiError::bad_request("A project-scoped token needs at least one project.").json(),
        );
    }
    let mut names = Vec::new();
    for p in projects {
        if !state.store.is_owner(p, user.id).await? {
            return Err(ApiError::forbidden(format!(
                "You can't scope a token to `{p}`: you don't own a project of that name."
            ))
            .json());
        }
        names.push(picket_formats::normalize(p));
    }
    Ok(TokenScope::Projects(names))
}

/// Creates a token and journals it; returns the secret and the row id.
pub async fn issue_token(
    state: &AppState,
    user: &User,
    name: &str,
    scope: &TokenScope,
    ip: Option<&str>,
) -> Result<(String, i64), ApiError> {
    let token = auth::new_secret(TOKEN_PREFIX);
    let now = now_ms();
    let id = state
        .store
        .create_token(
            user.id,
            name,
            scope,
            &auth::secret_hash(&token),
            &token[..12],
            &[Event::new(
                "account.token.create",
                now,
                Some(&user.username),
                ip,
                json!({ "scope": scope.to_json() }),
            )],
        )
        .await?;
    Ok((token, id))
}

/// `GET /api/v1/tokens`.
pub async fn list_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = session_actor(&state, &headers).await?;
    let tokens = state.store.tokens(user.id).await?;
    Ok(Json(json!({ "tokens": tokens })))
}

/// `DELETE /api/v1/tokens/{id}`.
pub async fn revoke_token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let user = session_actor(&state, &headers).await?;
    if revoke(&state, &user, id, ip.as_deref()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("You have no live token with id {id}.")).json())
    }
}

/// Revokes one of `user`'s live tokens; false when there is none with that id.
pub(crate) async fn revoke(
    state: &AppState,
    user: &User,
    id: i64,
    ip: Option<&str>,
) -> Result<bool, ApiError> {
    let now = now_ms();
    Ok(state
        .store
        .revoke_token(
            user.id,
            id,
            &[Event::new(
                "account.token.revoke",
                now,
                Some(&user.username),
                ip,
                json!({ "token_id": id }),
            )],
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_told_from_totp_codes_as_typed() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(
            (codes.len(), hashes.len()),
            (RECOVERY_CODES, RECOVERY_CODES)
        );
        for code in &codes {
            assert!(is_recovery_code(code), "{code}");
            assert!(is_recovery_code(&code.to_uppercase().replace('-', " ")));
            assert_eq!(
                auth::secret_hash(&recovery_code_key(&code.to_uppercase())),
                hashes[codes.iter().position(|c| c == code).unwrap()]
            );
        }
        assert!(!is_recovery_code("123456"));
        assert!(
            !is_recovery_code("2345672345"),
            "all digits: a TOTP guess, not a code"
        );
    }

    #[test]
    fn usernames() {
        for ok in ["alice", "A.b_c-9", "x"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-alice",
            "alice-",
            "al ice",
            "ålice",
            "__token__",
            &"a".repeat(51),
        ] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@example.org", "first.last+tag@sub.example.co.uk"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@example.org",
            "a@.org",
            "a@example..org",
            "a b@example.org",
            "a@exa mple.org",
            "a@example.org\n",
        ] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn e_mail_domains_are_mapped_to_the_ascii_they_display_as() {
        for (given, want) in [
            ("x@\u{ff4d}ailinator.com", "x@mailinator.com"),
            ("x@MAILINATOR.com", "x@mailinator.com"),
            ("x@m\u{0430}ilinator.com", "x@xn--milinator-0yh.com"),
            ("Ünïcode@bücher.example", "Ünïcode@xn--bcher-kva.example"),
            ("x@example.org", "x@example.org"),
        ] {
            assert_eq!(normalize_email(given).as_deref(), Ok(want), "{given}");
        }
        assert!(normalize_email("x@exa\u{3000}mple.org").is_err());
    }
}
