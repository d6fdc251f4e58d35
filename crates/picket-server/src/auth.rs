//! Credentials: argon2 password hashes, random tokens stored as sha256, TOTP (RFC 6238), and the
//! `Authorization` header of the upload and account APIs.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use axum::http::{HeaderMap, header};
use data_encoding::{BASE32_NOPAD, BASE64};
use hmac::{Hmac, KeyInit, Mac};
use picket_store::{TokenInfo, User};

use crate::AppState;
use crate::error::ApiError;

/// Prefix of API tokens.
pub const TOKEN_PREFIX: &str = "pkt-";
/// Prefix of login sessions.
pub const SESSION_PREFIX: &str = "pks-";

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

/// A new secret with `prefix`: 32 random bytes in lowercase base32.
pub fn new_secret(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        BASE32_NOPAD
            .encode(&random_bytes::<32>())
            .to_ascii_lowercase()
    )
}

/// What the database keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    picket_store::sha256_hex(secret.as_bytes())
}

/// argon2id hash (PHC string) of a password; slow on purpose, so run off the async runtime.
pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = random_bytes::<16>();
        Argon2::default()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h: PasswordHash| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e))
}

/// Whether `password` matches the PHC string.
pub async fn verify_password(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A new TOTP secret, base32 without padding (what authenticator apps take).
pub fn new_totp_secret() -> String {
    BASE32_NOPAD.encode(&random_bytes::<20>())
}

/// The 6-digit TOTP code of `secret` at Unix time `unix_secs` (30-second steps, HMAC-SHA1).
pub fn totp_code(secret: &str, unix_secs: u64) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&(unix_secs / 30).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let value = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    Some(format!("{:06}", value % 1_000_000))
}

/// Whether `code` is valid now, allowing one step of clock drift either way.
pub fn totp_accepts(secret: &str, code: &str, unix_secs: u64) -> bool {
    totp_step(secret, code, unix_secs).is_some()
}

/// The 30-second time step `code` belongs to, if it is valid now (one step of drift either way).
pub fn totp_step(secret: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 {
        return None;
    }
    [unix_secs.saturating_sub(30), unix_secs, unix_secs + 30]
        .into_iter()
        .find(|&t| totp_code(secret, t).is_some_and(|c| constant_time_eq(&c, code)))
        .map(|t| t / 30)
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(username: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/picket:{}?secret={secret}&issuer=picket&digits=6&period=30",
        crate::simple::url_escape(username)
    )
}

/// The credential a request carries.
#[derive(Debug)]
pub enum Credential {
    /// An API token (`__token__` in Basic auth, or Bearer).
    Token(String),
    /// A login session (Bearer `pks-…`).
    Session(String),
    /// A username and password in Basic auth (refused for uploads, as on PyPI).
    Password(String, String),
}

/// Reads the `Authorization` header.
pub fn credential(headers: &HeaderMap) -> Result<Option<Credential>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Authorization header is not ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(if rest.starts_with(SESSION_PREFIX) {
            Credential::Session(rest.to_owned())
        } else {
            Credential::Token(rest.to_owned())
        }));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = BASE64
            .decode(rest.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                ApiError::bad_request("Authorization: Basic credentials are not valid base64 UTF-8")
            })?;
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        return Ok(Some(if user == "__token__" {
            Credential::Token(password.to_owned())
        } else {
            Credential::Password(user.to_owned(), password.to_owned())
        }));
    }
    Err(ApiError::bad_request(format!(
        "Authorization scheme `{scheme}` is not supported; use Basic (__token__) or Bearer"
    )))
}

/// Who is acting, and with what.
#[derive(Debug)]
pub struct Actor {
    /// The account.
    pub user: User,
    /// The token, when authenticated by one.
    pub token: Option<TokenInfo>,
    /// Authenticated by a login session that passed a second factor.
    pub mfa_session: bool,
}

impl Actor {
    /// Whether the request carries the site administrator's powers: an administrator's login
    /// session opened with two-factor authentication. An administrator's API token (of any
    /// scope) is only the account's own credential, so a leaked CI token never administers the
    /// index.
    pub fn is_site_admin(&self) -> bool {
        self.user.is_admin && self.token.is_none() && self.mfa_session
    }

    /// Whether the credential is an API token limited to some projects.
    pub fn is_project_scoped(&self) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| !matches!(t.scope, picket_store::TokenScope::User))
    }
}

/// Authenticates a request by token or session; 401/403 otherwise.
pub async fn actor(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let now = crate::now_ms();
    match credential(headers)? {
        None => Err(ApiError::unauthorized(
            "Authentication required: send an API token (Basic __token__:pkt-…) or a session (Bearer pks-…)",
        )),
        Some(Credential::Token(token)) => {
            match state
                .store
                .authenticate_token(&secret_hash(&token), now)
                .await?
            {
                Some((user, token)) => Ok(Actor {
                    user,
                    token: Some(token),
                    mfa_session: false,
                }),
                None => Err(ApiError::forbidden(
                    "Invalid or non-existent authentication information. See /help/#invalid-auth for more information.",
                )),
            }
        }
        Some(Credential::Session(session)) => {
            match state
                .store
                .session_user(&secret_hash(&session), now)
                .await?
            {
                Some((user, mfa_session)) => Ok(Actor {
                    user,
                    token: None,
                    mfa_session,
                }),
                None => Err(ApiError::forbidden(
                    "The session is invalid or expired; log in again.",
                )),
            }
        }
        Some(Credential::Password(..)) => Err(ApiError::forbidden(
            "Username/Password authentication is not supported. Use an API token (username __token__).",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890", 8 digits → last 6 here.
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(totp_code(&secret, 59).unwrap(), "287082");
        assert_eq!(totp_code(&secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(totp_code(&secret, 2_000_000_000).unwrap(), "279037");
        assert!(
            totp_accepts(&secret, "287082", 59 + 30),
            "one step of drift"
        );
        assert!(!totp_accepts(&secret, "287082", 59 + 90));
        assert!(!totp_accepts(&secret, "28708", 59));
        assert_eq!(totp_step(&secret, "287082", 59 + 30), Some(1));
        assert_eq!(totp_step(&secret, "287082", 59 + 90), None);
        assert!(totp_code("not base32!", 0).is_none());
    }

    #[test]
    fn secrets_are_prefixed_and_random() {
        let a = new_secret(TOKEN_PREFIX);
        assert!(a.starts_with("pkt-") && a.len() == 4 + 52, "{a}");
        assert_ne!(a, new_secret(TOKEN_PREFIX));
    }

    #[test]
    fn authorization_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "Basic X190b2tlbl9fOnBrdC1hYmM=".parse().unwrap(),
        );
        assert!(matches!(credential(&h).unwrap(), Some(Credential::Token(t)) if t == "pkt-abc"));
        h.insert(header::AUTHORIZATION, "Bearer pks-xyz".parse().unwrap());
        assert!(matches!(
            credential(&h).unwrap(),
            Some(Credential::Session(_))
        ));
        h.insert(header::AUTHORIZATION, "Basic %%%".parse().unwrap());
        assert!(credential(&h).is_err());
        h.insert(header::AUTHORIZATION, "Digest x".parse().unwrap());
        assert!(credential(&h).is_err());
    }
}
