//! Rate limits that follow abuse: per address and per account for logins, registrations, added
//! addresses, tokens and new projects (GCRA, state in the database so limits survive restarts and
//! are shared by replicas), and the per-e-mail-domain registration velocity limit, which compares
//! a domain's last hour with its own history.
//!
//! A refusal is 429 with `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit` fields
//! (draft-ietf-httpapi-ratelimit-headers); allowed answers carry nothing extra.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use picket_store::Event;
use serde_json::json;

use crate::config::RateLimit;
use crate::error::ApiError;
use crate::{AppState, now_ms};

/// A limited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Login, per account.
    LoginUser,
    /// Login, per address.
    LoginIp,
    /// Registration, per address.
    RegisterIp,
    /// Adding an address, per account.
    EmailAddUser,
    /// Creating a token, per account.
    TokenCreateUser,
    /// Creating a project, per account.
    ProjectCreateUser,
    /// Creating a project, per address.
    ProjectCreateIp,
    /// Filing a report, per reporter.
    ReportUser,
}

impl Action {
    /// The policy name in headers and keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::LoginUser => "login-user",
            Self::LoginIp => "login-ip",
            Self::RegisterIp => "register-ip",
            Self::EmailAddUser => "email-add-user",
            Self::TokenCreateUser => "token-create-user",
            Self::ProjectCreateUser => "project-create-user",
            Self::ProjectCreateIp => "project-create-ip",
            Self::ReportUser => "report-user",
        }
    }

    fn limit(self, state: &AppState) -> RateLimit {
        let c = &state.config;
        match self {
            Self::LoginUser => c.rate_login_user,
            Self::LoginIp => c.rate_login_ip,
            Self::RegisterIp => c.rate_register_ip,
            Self::EmailAddUser => c.rate_email_add_user,
            Self::TokenCreateUser => c.rate_token_create_user,
            Self::ProjectCreateUser => c.rate_project_create_user,
            Self::ProjectCreateIp => c.rate_project_create_ip,
            Self::ReportUser => c.rate_report_user,
        }
    }
}

/// Counts one `action` by `subject` (an address or a lowercase username); 429 when over the limit.
/// No subject (an unknown client address) is not limited.
pub async fn check(
    state: &AppState,
    action: Action,
    subject: Option<&str>,
) -> Result<(), ApiError> {
    let (Some(subject), RateLimit(Some((count, period_ms)))) = (subject, action.limit(state))
    else {
        return Ok(());
    };
    let key = format!("{}:{}", action.name(), subject.to_ascii_lowercase());
    let decision = state
        .store
        .rate_check(&key, count, period_ms, now_ms())
        .await?;
    if decision.allowed {
        return Ok(());
    }
    state.metrics.rate_limited(action.name());
    tracing::info!(action = action.name(), subject, "rate limited");
    Err(too_many(
        action.name(),
        count,
        period_ms,
        decision.reset_ms,
        decision.retry_after_ms,
        &format!(
            "Too many requests ({}: at most {} per {}). Try again in {}.",
            action.name(),
            count,
            String::from(RateLimit::per(1, period_ms)).trim_start_matches("1 per "),
            human_seconds(decision.retry_after_ms)
        ),
    ))
}

fn human_seconds(ms: i64) -> String {
    let s = (ms + 999) / 1000;
    if s <= 90 {
        format!("{s} s")
    } else if s <= 5400 {
        format!("{} min", (s + 59) / 60)
    } else {
        format!("{} h", (s + 3599) / 3600)
    }
}

/// A 429 answer with `Retry-After` (seconds) and the `RateLimit` fields.
fn too_many(
    policy: &str,
    quota: u32,
    window_ms: i64,
    reset_ms: i64,
    retry_after_ms: i64,
    message: &str,
) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
    let secs = |ms: i64| ((ms + 999) / 1000).max(1);
    let mut push = |name: HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            e.headers.push((name, v));
        }
    };
    push(header::RETRY_AFTER, secs(retry_after_ms).to_string());
    push(
        HeaderName::from_static("ratelimit-policy"),
        format!("\"{policy}\";q={quota};w={}", secs(window_ms)),
    );
    push(
        HeaderName::from_static("ratelimit"),
        format!("\"{policy}\";r=0;t={}", secs(reset_ms)),
    );
    e
}

/// How many sign-ups an hour `domain` may have given its history: `max(floor, multiplier ×
/// hourly mean)`; `None` when the limit is off.
pub fn velocity_allowance(
    floor: u32,
    multiplier: f64,
    history: u64,
    history_hours: u64,
) -> Option<u64> {
    if floor == 0 {
        return None;
    }
    let mean = history as f64 / history_hours.max(1) as f64;
    let scaled = (multiplier * mean).ceil();
    // In range: finite, positive and below 2^53 before the cast.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let scaled = if scaled.is_finite() && scaled > 0.0 {
        scaled.min(9_007_199_254_740_992.0) as u64
    } else {
        0
    };
    Some(u64::from(floor).max(scaled))
}

/// The per-domain registration velocity limit: refuses now if the last hour is already full, and
/// returns the allowance for [`picket_store::NewUser::signup_cap`], which enforces it again inside
/// the transaction that creates the account (parallel sign-ups can't all pass this read).
/// `None`: no limit applies. Refusals are journaled (`account.refused`).
pub async fn check_domain_velocity(
    state: &AppState,
    domain: &str,
    username: &str,
    ip: Option<&str>,
) -> Result<Option<VelocityCap>, ApiError> {
    let c = &state.config;
    let now = now_ms();
    let throttle = state.store.domain_throttle(domain, now).await?;
    if throttle.is_none()
        && c.velocity_exempt_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    {
        return Ok(None);
    }
    let history_hours = u64::from(c.velocity_history_days.max(1)) * 24;
    let (recent, history) = state
        .store
        .domain_signups(
            domain,
            now,
            3_600_000,
            i64::try_from(history_hours).unwrap_or(i64::MAX / 4) * 3_600_000,
        )
        .await?;
    let allowed = match &throttle {
        // A campaign's domain: held to the throttle whatever its history.
        Some((per_hour, _)) => u64::from(*per_hour),
        None => match velocity_allowance(
            c.velocity_floor,
            c.velocity_multiplier,
            history,
            history_hours,
        ) {
            Some(a) => a,
            None => return Ok(None),
        },
    };
    let cap = VelocityCap {
        allowed,
        history_hourly_mean: history as f64 / history_hours as f64,
        throttled: throttle.is_some(),
    };
    if recent < allowed {
        return Ok(Some(cap));
    }
    Err(cap.refuse(state, domain, recent, username, ip, now).await)
}

/// The velocity limit that applies to a domain now.
#[derive(Debug, Clone, Copy)]
pub struct VelocityCap {
    /// Sign-ups allowed in an hour.
    pub allowed: u64,
    /// The domain's usual hourly rate.
    pub history_hourly_mean: f64,
    /// Held by a campaign throttle rather than its history.
    pub throttled: bool,
}

impl VelocityCap {
    /// Journals a refusal (`recent` sign-ups already in the hour) and returns the 429 to answer.
    pub async fn refuse(
        self,
        state: &AppState,
        domain: &str,
        recent: u64,
        username: &str,
        ip: Option<&str>,
        now: i64,
    ) -> ApiError {
        let Self {
            allowed,
            history_hourly_mean,
            throttled,
        } = self;
        state.metrics.rate_limited("domain-velocity");
        let journaled = state
            .store
            .append_events(&[Event::new(
                "account.refused",
                now,
                Some(username),
                ip,
                json!({
                    "domain": domain,
                    "reason": if throttled { "domain throttled (campaign)" } else { "domain velocity" },
                    "last_hour": recent,
                    "allowed_per_hour": allowed,
                    "history_hourly_mean": history_hourly_mean,
                }),
            )])
            .await;
        if let Err(e) = journaled {
            return e.into();
        }
        tracing::warn!(%domain, recent, allowed, "registration refused: e-mail domain velocity");
        // The oldest bucket of the window leaves it within ten minutes.
        let retry_ms =
            picket_store::SIGNUP_BUCKET_MS - now.rem_euclid(picket_store::SIGNUP_BUCKET_MS);
        too_many(
            "domain-velocity",
            u32::try_from(allowed).unwrap_or(u32::MAX),
            3_600_000,
            3_600_000,
            retry_ms,
            &format!(
                "Too many new accounts from {domain} in the last hour ({recent}; this domain usually sees {history_hourly_mean:.1} an hour). Try again later."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_follows_the_domains_own_history() {
        // A quiet domain (one sign-up a day for four weeks) gets the floor.
        assert_eq!(velocity_allowance(5, 10.0, 28, 28 * 24), Some(5));
        // A big provider with 60 an hour steadily gets ten times that.
        assert_eq!(
            velocity_allowance(5, 10.0, 60 * 28 * 24, 28 * 24),
            Some(600)
        );
        // A new domain: the floor.
        assert_eq!(velocity_allowance(5, 10.0, 0, 28 * 24), Some(5));
        assert_eq!(velocity_allowance(0, 10.0, 100, 1), None);
        assert_eq!(velocity_allowance(5, f64::NAN, 100, 1), Some(5));
    }

    #[test]
    fn waits_read_like_people_write_them() {
        assert_eq!(human_seconds(1), "1 s");
        assert_eq!(human_seconds(90_000), "90 s");
        assert_eq!(human_seconds(600_000), "10 min");
        assert_eq!(human_seconds(86_400_000), "24 h");
    }

    #[test]
    fn refusals_carry_retry_after_and_ratelimit_fields() {
        let e = too_many("login-ip", 10, 300_000, 42_500, 12_001, "slow down");
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        let get = |n: &str| {
            e.headers
                .iter()
                .find(|(k, _)| k.as_str() == n)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get("retry-after").as_deref(), Some("13"));
        assert_eq!(
            get("ratelimit-policy").as_deref(),
            Some("\"login-ip\";q=10;w=300")
        );
        assert_eq!(get("ratelimit").as_deref(), Some("\"login-ip\";r=0;t=43"));
    }
}
