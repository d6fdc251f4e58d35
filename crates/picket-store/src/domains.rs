//! What the domain-resurrection defense keeps: the verified addresses with the time each was
//! verified, the outcome of each domain's last check, unverification (journaled), and
//! password-reset links, which are only ever mailed to a verified address.

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use crate::defenses::{AdminContext, admin_event};
use crate::journal::{Event, append};
use crate::{Store, StoreError, User};

/// A verified address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedAddress {
    /// The account.
    pub user_id: i64,
    /// Its name.
    pub username: String,
    /// The address.
    pub email: String,
    /// When it was verified (the account's creation for addresses verified before picket kept
    /// the time: the verification came later, so this errs toward suspicion).
    pub verified_at: i64,
    /// The account's primary address (password resets go there).
    pub primary: bool,
}

/// The outcome of one domain's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainCheck {
    /// The registrable domain.
    pub domain: String,
    /// Milliseconds since the epoch.
    pub checked_at: i64,
    /// `ok`, `expired`, `re-registered`, `unregistered` or `error`.
    pub outcome: String,
    /// The registration date RDAP gave.
    pub registered: Option<i64>,
    /// The expiration date RDAP gave.
    pub expires: Option<i64>,
    /// For people.
    pub detail: String,
}

impl Store {
    /// Every verified address of an account that is not disabled, primary and added ones.
    pub async fn verified_addresses(&self) -> Result<Vec<VerifiedAddress>, StoreError> {
        let rows = sqlx::query(
            "SELECT id AS user_id, username, email, COALESCE(email_verified_at, created_at) AS at, 1 AS primary_address \
             FROM users WHERE email_verified = 1 AND disabled = 0 \
             UNION ALL \
             SELECT u.id, u.username, e.email, COALESCE(e.verified_at, e.created_at), 0 \
             FROM user_emails e JOIN users u ON u.id = e.user_id \
             WHERE e.verified = 1 AND u.disabled = 0 AND e.email != u.email \
             ORDER BY 1, 3",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| VerifiedAddress {
                user_id: r.get("user_id"),
                username: r.get("username"),
                email: r.get("email"),
                verified_at: r.get("at"),
                primary: r.get::<i64, _>("primary_address") != 0,
            })
            .collect())
    }

    /// Marks an address unverified (primary or added), in one transaction with its
    /// `account.email.unverify` event; nothing when it is not verified.
    pub async fn unverify_address(
        &self,
        user_id: i64,
        email: &str,
        cx: &AdminContext<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let primary = sqlx::query(
            "UPDATE users SET email_verified = 0, email_unverified_reason = $1 \
             WHERE id = $2 AND email = $3 AND email_verified = 1",
        )
        .bind(cx.reason)
        .bind(user_id)
        .bind(email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let added = sqlx::query(
            "UPDATE user_emails SET verified = 0 WHERE user_id = $1 AND email = $2 AND verified = 1",
        )
        .bind(user_id)
        .bind(email)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let mut changes = Vec::new();
        if primary + added > 0 {
            let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            changes.push(admin_event(
                "account.email.unverify",
                Some(&username),
                cx,
                json!({ "email": email, "primary": primary > 0 }),
            ));
            append(&mut tx, &changes).await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// Records a domain's check.
    pub async fn record_domain_check(&self, check: &DomainCheck) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO domain_checks (domain, checked_at, outcome, registered, expires, detail) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain) DO UPDATE SET \
             checked_at = excluded.checked_at, outcome = excluded.outcome, \
             registered = excluded.registered, expires = excluded.expires, detail = excluded.detail",
        )
        .bind(&check.domain)
        .bind(check.checked_at)
        .bind(&check.outcome)
        .bind(check.registered)
        .bind(check.expires)
        .bind(&check.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every domain's last check, by domain.
    pub async fn domain_checks(&self) -> Result<Vec<DomainCheck>, StoreError> {
        let rows = sqlx::query("SELECT * FROM domain_checks ORDER BY domain")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| DomainCheck {
                domain: r.get("domain"),
                checked_at: r.get("checked_at"),
                outcome: r.get("outcome"),
                registered: r.get("registered"),
                expires: r.get("expires"),
                detail: r.get("detail"),
            })
            .collect())
    }

    /// Stores a password-reset link (its sha256) for the account's address, with `journal`.
    pub async fn create_password_reset(
        &self,
        user_id: i64,
        email: &str,
        token_hash: &str,
        now_ms: i64,
        expires_ms: i64,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let link = crate::accounts::Link {
            user_id,
            email,
            token_hash,
            now_ms,
            expires_ms,
        };
        crate::accounts::insert_link(&mut *tx, "password_resets", &link).await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses a password-reset link: if it is known, unused, unexpired and its address is still the
    /// account's verified primary address, sets the new password hash and ends the account's
    /// sessions. Returns the account; `make_event` journals it.
    pub async fn use_password_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now_ms: i64,
        make_event: impl FnOnce(&User) -> Event,
    ) -> Result<Option<User>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(user_id) = sqlx::query_scalar::<_, i64>(
            "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id \
             WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 \
             AND u.email = r.email AND u.email_verified = 1 AND u.disabled = 0",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        sqlx::query("UPDATE password_resets SET used_at = $1 WHERE token_hash = $2")
            .bind(now_ms)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        crate::accounts::end_access(&mut tx, user_id, false, now_ms).await?;
        let user = crate::accounts::user_in(&mut tx, user_id).await?;
        append(&mut tx, &[make_event(&user)]).await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}
