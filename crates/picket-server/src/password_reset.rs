//! Password resets: `POST /api/v1/account/password-reset` `{"username"}` mails a link to the
//! account's primary address only if that address is verified — an address the domain check
//! unverified (its domain expired or changed hands) gets nothing, so whoever bought the domain
//! can't take the account over — and answers the same 202 whatever happened, so it tells no one
//! whether an account exists. `POST /api/v1/account/password-reset/confirm`
//! `{"token", "password"}` sets the password (the link works once, for an hour, and only while
//! the address is still verified) and ends the account's sessions. Every step is journaled.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use picket_store::Event;
use serde::Deserialize;
use serde_json::json;

use crate::auth;
use crate::error::ApiError;
use crate::mail::Mail;
use crate::{AppState, ClientIp, now_ms};

/// How long a reset link works.
pub const LINK_MS: i64 = 3_600_000;

/// `{"username"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    username: String,
}

/// `{"token", "password"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    password: String,
}

const ACCEPTED: &str = "If the account has a verified address, a reset link was mailed to it.";

/// `POST /api/v1/account/password-reset` → 202, whatever happened.
pub async fn request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form: ResetRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Expected a JSON object {{\"username\"}}: {e}")).json()
    })?;
    // Guessing at accounts costs the same as guessing at passwords.
    crate::limits::check(&state, crate::limits::Action::LoginIp, ip.as_deref())
        .await
        .map_err(ApiError::json)?;
    let now = now_ms();
    let accepted = (StatusCode::ACCEPTED, Json(json!({ "message": ACCEPTED }))).into_response();
    let Some(user) = state.store.user(&form.username).await? else {
        return Ok(accepted);
    };
    if user.disabled {
        return Ok(accepted);
    }
    if !user.email_verified {
        state
            .store
            .append_events(&[Event::new(
                "account.password-reset.refuse",
                now,
                Some(&user.username),
                ip.as_deref(),
                json!({ "email": user.email, "reason": "the address is not verified" }),
            )])
            .await?;
        return Ok(accepted);
    }
    let secret = auth::new_secret("");
    state
        .store
        .create_password_reset(
            user.id,
            &user.email,
            &auth::secret_hash(&secret),
            now,
            now + LINK_MS,
            &[Event::new(
                "account.password-reset.request",
                now,
                Some(&user.username),
                ip.as_deref(),
                json!({ "email": user.email }),
            )],
        )
        .await?;
    let mail = Mail {
        to: user.email.clone(),
        subject: "Reset your password".into(),
        body: format!(
            "Hello {},\n\nSomeone asked to reset the password of your account at {}. To choose a new one within an hour, send\n\n  POST {}/api/v1/account/password-reset/confirm\n  {{\"token\": \"{secret}\", \"password\": \"…\"}}\n\nIf it was not you, ignore this message: your password is unchanged.\n",
            user.username,
            state.base_url(),
            state.base_url()
        ),
    };
    if let Err(e) = state.mailer.send(&mail, now).await {
        tracing::error!(error = %e, "reset mail not sent");
    }
    Ok(accepted)
}

/// `POST /api/v1/account/password-reset/confirm` → 200.
pub async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form: ResetConfirm = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected a JSON object {{\"token\", \"password\"}}: {e}"
        ))
        .json()
    })?;
    crate::accounts::validate_password(&form.password)
        .map_err(|e| ApiError::bad_request(e).json())?;
    let hash = auth::hash_password(form.password).await?;
    let now = now_ms();
    let reset = state
        .store
        .use_password_reset(&auth::secret_hash(&form.token), &hash, now, |u| {
            Event::new(
                "account.password-reset",
                now,
                Some(&u.username),
                ip.as_deref(),
                json!({ "email": u.email }),
            )
        })
        .await?;
    match reset {
        Some(_) => Ok(Json(json!({
            "message": "Your password is changed; every session was ended. Log in again."
        }))
        .into_response()),
        None => Err(ApiError::bad_request(
            "This reset link is unknown, used, expired, or its address is no longer verified; ask for a new one.",
        )
        .json()),
    }
}
