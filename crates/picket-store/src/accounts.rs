//! Users, e-mail verification, sessions and API tokens. Secrets never reach this module: callers
//! pass the argon2 hash of a password and the sha256 of a token.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::journal::{Event, append};
use crate::{Store, StoreError};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// The name as registered.
    pub username: String,
    /// The primary address.
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// argon2 PHC string.
    #[serde(skip)]
    pub password_hash: String,
    /// The TOTP secret (base32), once enrolment is confirmed.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    /// A TOTP secret offered but not yet confirmed.
    #[serde(skip)]
    pub totp_pending: Option<String>,
    /// Site administrator.
    pub is_admin: bool,
    /// Disabled accounts can't log in and their tokens stop working.
    pub disabled: bool,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Last successful login.
    pub last_login_at: Option<i64>,
    /// New uploads are quarantined whatever the upload gate says.
    pub restricted: bool,
    /// The registrable domain of the primary address.
    pub email_domain: Option<String>,
}

impl User {
    /// Whether two-factor authentication is on.
    pub fn has_2fa(&self) -> bool {
        self.totp_secret.is_some()
    }

    fn from_row(r: &AnyRow) -> Self {
        Self {
            id: r.get("id"),
            username: r.get("username"),
            email: r.get("email"),
            email_verified: r.get::<i64, _>("email_verified") != 0,
            password_hash: r.get("password_hash"),
            totp_secret: r.get("totp_secret"),
            totp_pending: r.get("totp_pending"),
            is_admin: r.get::<i64, _>("is_admin") != 0,
            disabled: r.get::<i64, _>("disabled") != 0,
            created_at: r.get("created_at"),
            last_login_at: r.get("last_login_at"),
            restricted: r.get::<i64, _>("restricted") != 0,
            email_domain: r.get("email_domain"),
        }
    }
}

const USER_COLUMNS: &str = "id, username, email, email_verified, password_hash, totp_secret, \
     totp_pending, is_admin, disabled, created_at, last_login_at, restricted, email_domain";

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// The name.
    pub username: &'a str,
    /// The address.
    pub email: &'a str,
    /// argon2 PHC string.
    pub password_hash: &'a str,
    /// Site administrator.
    pub is_admin: bool,
    /// Created already verified (by an admin).
    pub email_verified: bool,
    /// The address's registrable domain; counted in the domain's sign-up history.
    pub email_domain: Option<&'a str>,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// The most sign-ups `email_domain` may have in the last hour for this one to be created,
    /// checked inside the creating transaction (so parallel sign-ups can't all slip under it).
    pub signup_cap: Option<u64>,
}

/// What a token may upload to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Every project of the user, and new ones.
    User,
    /// Only these projects (normalized names).
    Projects(Vec<String>),
}

impl TokenScope {
    /// The scope as the event stream and the database write it: `"user"` or a list of names.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::User => "user".into(),
            Self::Projects(names) => names.clone().into(),
        }
    }

    fn from_json(text: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Array(names)) => Self::Projects(
                names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => Self::User,
        }
    }

    /// Whether the token may act on `normalized`.
    pub fn allows(&self, normalized: &str) -> bool {
        match self {
            Self::User => true,
            Self::Projects(names) => names.iter().any(|n| n == normalized),
        }
    }
}

impl Serialize for TokenScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Row id (what revocation names).
    pub id: i64,
    /// The owner's name.
    pub user: String,
    /// A label.
    pub name: String,
    /// The first characters of the token.
    pub prefix: String,
    /// What it may upload to.
    pub scope: TokenScope,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Last use.
    pub last_used_at: Option<i64>,
    /// When revoked.
    pub revoked_at: Option<i64>,
}

impl TokenInfo {
    fn from_row(r: &AnyRow) -> Self {
        Self {
            id: r.get("id"),
            user: r.get("username"),
            name: r.get("name"),
            prefix: r.get("prefix"),
            scope: TokenScope::from_json(&r.get::<String, _>("scope")),
            created_at: r.get("created_at"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        }
    }
}

impl Store {
    /// Creates an account; refuses a username taken in any case. `journal` is written with it.
    pub async fn create_user(
        &self,
        user: &NewUser<'_>,
        journal: &[Event],
    ) -> Result<User, StoreError> {
        let mut tx = self.write_tx().await?;
        if let Some(row) =
            sqlx::query("SELECT username FROM users WHERE lower(username) = lower($1)")
                .bind(user.username)
                .fetch_optional(&mut *tx)
                .await?
        {
            return Err(StoreError::UserExists(row.get("username")));
        }
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (username, email, email_verified, password_hash, is_admin, created_at, \
                                email_domain, email_verified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(user.username)
        .bind(user.email)
        .bind(i64::from(user.email_verified))
        .bind(user.password_hash)
        .bind(i64::from(user.is_admin))
        .bind(user.time_ms)
        .bind(user.email_domain)
        .bind(user.email_verified.then_some(user.time_ms))
        .fetch_one(&mut *tx)
        .await?
        ;
        if let Some(domain) = user.email_domain {
            if let Some(cap) = user.signup_cap {
                let recent = crate::defenses::recent_signups(&mut tx, domain, user.time_ms).await?;
                if recent >= cap {
                    return Err(StoreError::SignupCap { recent });
                }
            }
            crate::defenses::count_signup(&mut tx, domain, user.time_ms, 1).await?;
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        self.user_by_id(id)
            .await?
            .ok_or_else(|| StoreError::NoUser(user.username.to_owned()))
    }

    /// The account named `username` (any case).
    pub async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(User::from_row))
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(User::from_row))
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY lower(username)"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(User::from_row).collect())
    }

    /// Records a successful login.
    pub async fn record_login(&self, user_id: i64, journal: &[Event]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let time = journal.first().map_or(0, |e| e.time_ms);
        sqlx::query("UPDATE users SET last_login_at = $1 WHERE id = $2")
            .bind(time)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores an e-mail verification link (its sha256) valid until `expires_ms`.
    pub async fn create_verification(
        &self,
        user_id: i64,
        email: &str,
        token_hash: &str,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        let link = Link {
            user_id,
            email,
            token_hash,
            now_ms,
            expires_ms,
        };
        insert_link(&self.pool, "email_verifications", &link).await
    }

    /// Uses a verification link: marks the address verified if the link is known, unused and not
    /// expired, and returns the account and address. `journal` gets the verified user's name
    /// filled in by `make_event`.
    pub async fn use_verification(
        &self,
        token_hash: &str,
        now_ms: i64,
        make_event: impl FnOnce(&User, &str) -> Event,
    ) -> Result<Option<(User, String)>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query(
            "SELECT user_id, email FROM email_verifications \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let user_id: i64 = row.get("user_id");
        let email: String = row.get("email");
        sqlx::query("UPDATE email_verifications SET used_at = $1 WHERE token_hash = $2")
            .bind(now_ms)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        // The time of verification: a domain registered after it has changed hands since.
        for sql in [
            "UPDATE users SET email_verified = 1, email_verified_at = $1, \
             email_unverified_reason = NULL WHERE id = $2 AND email = $3",
            "UPDATE user_emails SET verified = 1, verified_at = $1 WHERE user_id = $2 AND email = $3",
        ] {
            sqlx::query(sql)
                .bind(now_ms)
                .bind(user_id)
                .bind(&email)
                .execute(&mut *tx)
                .await?;
        }
        let user = user_in(&mut tx, user_id).await?;
        append(&mut tx, &[make_event(&user, &email)]).await?;
        tx.commit().await?;
        Ok(Some((user, email)))
    }

    /// Offers a TOTP secret; it takes effect once confirmed.
    pub async fn set_totp_pending(&self, user_id: i64, secret: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET totp_pending = $1 WHERE id = $2")
            .bind(secret)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Turns the pending TOTP secret on, with its recovery codes (their sha256s), which replace
    /// any earlier ones.
    pub async fn confirm_totp(
        &self,
        user_id: i64,
        recovery_hashes: &[String],
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL \
             WHERE id = $1 AND totp_pending IS NOT NULL",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        put_recovery_codes(&mut tx, user_id, recovery_hashes, now).await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces an account's recovery codes (their sha256s): the old ones, used or not, stop
    /// working.
    pub async fn replace_recovery_codes(
        &self,
        user_id: i64,
        recovery_hashes: &[String],
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        put_recovery_codes(&mut tx, user_id, recovery_hashes, now).await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses one of an account's recovery codes (its sha256): `false` when it is not one of them
    /// or was used already. One conditional update, so two logins racing with one code can't
    /// both win.
    pub async fn use_recovery_code(
        &self,
        user_id: i64,
        code_hash: &str,
        journal: &[Event],
    ) -> Result<bool, StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if used {
            append(&mut tx, journal).await?;
        }
        tx.commit().await?;
        Ok(used)
    }

    /// How many of an account's recovery codes are still unused.
    pub async fn recovery_codes_left(&self, user_id: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records that a login used TOTP time step `step`; `false` when that step (or a later one)
    /// was already used, so the code is refused. One conditional update: two logins racing with
    /// the same code can't both win.
    pub async fn claim_totp_step(&self, user_id: i64, step: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $3",
        )
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Starts a session (its sha256) for `user_id` until `expires_ms`; `mfa` records that the
    /// login passed a second factor.
    pub async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now_ms: i64,
        expires_ms: i64,
        mfa: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, mfa) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now_ms)
        .bind(expires_ms)
        .bind(i64::from(mfa))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The enabled account a live session belongs to, and whether the session's login passed a
    /// second factor.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(User, bool)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {}, s.mfa AS session_mfa FROM users u JOIN sessions s ON s.user_id = u.id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
            prefixed("u", USER_COLUMNS)
        ))
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .as_ref()
            .map(|r| (User::from_row(r), r.get::<i64, _>("session_mfa") != 0)))
    }

    /// Stores an API token (its sha256) and journals its creation.
    pub async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: &TokenScope,
        token_hash: &str,
        prefix: &str,
        journal: &[Event],
    ) -> Result<i64, StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO tokens (user_id, token_hash, scope, created_at, name, prefix) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(token_hash)
        .bind(scope.to_json().to_string())
        .bind(now)
        .bind(name)
        .bind(prefix)
        .fetch_one(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The enabled account and live token a token hash belongs to; records the use.
    pub async fn authenticate_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(User, TokenInfo)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {}, t.id AS token_id, t.name, t.prefix, t.scope, t.created_at AS token_created, \
                    t.last_used_at, t.revoked_at \
             FROM tokens t JOIN users u ON t.user_id = u.id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
            prefixed("u", USER_COLUMNS)
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = User::from_row(&row);
        let token = TokenInfo {
            id: row.get("token_id"),
            user: user.username.clone(),
            name: row.get("name"),
            prefix: row.get("prefix"),
            scope: TokenScope::from_json(&row.get::<String, _>("scope")),
            created_at: row.get("token_created"),
            last_used_at: Some(now_ms),
            revoked_at: None,
        };
        sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(token.id)
            .execute(&self.pool)
            .await?;
        Ok(Some((user, token)))
    }

    /// The tokens of an account, newest first.
    pub async fn tokens(&self, user_id: i64) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, u.username, t.name, t.prefix, t.scope, t.created_at, t.last_used_at, \
                    t.revoked_at \
             FROM tokens t JOIN users u ON t.user_id = u.id WHERE t.user_id = $1 ORDER BY t.id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(TokenInfo::from_row).collect())
    }

    /// Revokes a token of `user_id`; false when there is no such live token.
    pub async fn revoke_token(
        &self,
        user_id: i64,
        token_id: i64,
        journal: &[Event],
    ) -> Result<bool, StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let changed = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(token_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes an added (non-primary) address from an account, and makes its unused
    /// verification links useless; false when the account has no such added address (the
    /// primary one is never removed: another verified address must be made primary first).
    pub async fn remove_email(
        &self,
        user_id: i64,
        email: &str,
        journal: &[Event],
    ) -> Result<bool, StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let removed = sqlx::query("DELETE FROM user_emails WHERE user_id = $1 AND email = $2")
            .bind(user_id)
            .bind(email)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !removed {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE email_verifications SET used_at = $1 \
             WHERE user_id = $2 AND email = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(email)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Makes a verified added address the account's primary one (its registrable domain is
    /// `email_domain`); the old primary address stays on the account as an added address, as
    /// verified as it was.
    pub async fn make_primary_email(
        &self,
        user_id: i64,
        email: &str,
        email_domain: Option<&str>,
        journal: &[Event],
    ) -> Result<PrimaryChange, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query(
            "SELECT verified, verified_at, created_at FROM user_emails WHERE user_id = $1 AND email = $2",
        )
        .bind(user_id)
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(PrimaryChange::NotAdded);
        };
        if row.get::<i64, _>("verified") == 0 {
            return Ok(PrimaryChange::NotVerified);
        }
        let verified_at: Option<i64> = row.get("verified_at");
        let old = sqlx::query(
            "SELECT email, email_verified, email_verified_at, created_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM user_emails WHERE user_id = $1 AND email = $2")
            .bind(user_id)
            .bind(email)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO user_emails (user_id, email, verified, created_at, verified_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(user_id)
        .bind(old.get::<String, _>("email"))
        .bind(old.get::<i64, _>("email_verified"))
        .bind(old.get::<i64, _>("created_at"))
        .bind(old.get::<Option<i64>, _>("email_verified_at"))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE users SET email = $1, email_verified = 1, email_verified_at = $2, \
             email_unverified_reason = NULL, email_domain = $3 WHERE id = $4",
        )
        .bind(email)
        .bind(verified_at)
        .bind(email_domain)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(PrimaryChange::Done)
    }

    /// Disables or enables an account. Disabling ends its sessions and revokes its tokens for
    /// good, so enabling it again brings none of them back.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query("SELECT id FROM users WHERE lower(username) = lower($1)")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NoUser(username.to_owned()))?
            .get("id");
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            end_access(&mut tx, id, true, now).await?;
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The outcome of [`Store::make_primary_email`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryChange {
    /// The address is now the primary one.
    Done,
    /// The account has no such added address.
    NotAdded,
    /// The address is not verified yet.
    NotVerified,
}

/// What an account loses when it is disabled or restricted: its login sessions always, its API
/// tokens when `revoke_tokens` (revoked, not deleted, so the list still shows them). Returns
/// `(sessions ended, tokens revoked)`.
pub(crate) async fn end_access(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    revoke_tokens: bool,
    now_ms: i64,
) -> Result<(u64, u64), StoreError> {
    let sessions = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let tokens = if revoke_tokens {
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
    } else {
        0
    };
    Ok((sessions, tokens))
}

async fn put_recovery_codes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    hashes: &[String],
    now_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A mailed link (verification, password reset): whose, for which address, until when.
pub(crate) struct Link<'a> {
    pub(crate) user_id: i64,
    pub(crate) email: &'a str,
    pub(crate) token_hash: &'a str,
    pub(crate) now_ms: i64,
    pub(crate) expires_ms: i64,
}

/// Stores a link in `table` (`email_verifications` or `password_resets`, which share columns).
pub(crate) async fn insert_link<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    table: &str,
    link: &Link<'_>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO {table} (token_hash, user_id, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)"
    ))
    .bind(link.token_hash)
    .bind(link.user_id)
    .bind(link.email)
    .bind(link.now_ms)
    .bind(link.expires_ms)
    .execute(executor)
    .await?;
    Ok(())
}

/// The account with this id, inside a transaction.
pub(crate) async fn user_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
) -> Result<User, StoreError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(User::from_row(&row))
}

fn prefixed(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}
