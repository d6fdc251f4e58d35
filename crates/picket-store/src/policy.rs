//! The e-mail domain policy: prohibited registrable domains, each with its reason, actor, creation
//! time and optional expiry.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::journal::{Event, append};
use crate::{Store, StoreError};

/// One prohibition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prohibition {
    /// The registrable domain.
    pub domain: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// When it lapses, if ever.
    pub expires_at: Option<i64>,
    /// Also refuse addresses whose domain's mail servers (MX) are in this domain.
    pub match_mx: bool,
}

impl Prohibition {
    fn from_row(r: &AnyRow) -> Self {
        Self {
            domain: r.get("domain"),
            reason: r.get("reason"),
            actor: r.get("actor"),
            created_at: r.get("created_at"),
            expires_at: r.get("expires_at"),
            match_mx: r.get::<i64, _>("match_mx") != 0,
        }
    }
}

impl Store {
    /// Prohibits a domain (replacing an earlier prohibition of it) and journals it.
    pub async fn prohibit_domain(
        &self,
        prohibition: &Prohibition,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO prohibited_domains (domain, reason, actor, created_at, expires_at, match_mx) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain) DO UPDATE SET reason = excluded.reason, \
             actor = excluded.actor, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, match_mx = excluded.match_mx",
        )
        .bind(&prohibition.domain)
        .bind(&prohibition.reason)
        .bind(&prohibition.actor)
        .bind(prohibition.created_at)
        .bind(prohibition.expires_at)
        .bind(i64::from(prohibition.match_mx))
        .execute(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lifts a prohibition; the removed one, or `None` when the domain was not prohibited.
    pub async fn allow_domain(
        &self,
        domain: &str,
        journal: &[Event],
    ) -> Result<Option<Prohibition>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query("SELECT * FROM prohibited_domains WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM prohibited_domains WHERE domain = $1")
            .bind(domain)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(Some(Prohibition::from_row(&row)))
    }

    /// The prohibition in force for `domain` at `now_ms`, if any.
    pub async fn domain_prohibition(
        &self,
        domain: &str,
        now_ms: i64,
    ) -> Result<Option<Prohibition>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM prohibited_domains WHERE domain = $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(domain)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(Prohibition::from_row))
    }

    /// Prohibitions in force at `now_ms` that also match by mail server.
    pub async fn mx_prohibitions(&self, now_ms: i64) -> Result<Vec<Prohibition>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM prohibited_domains WHERE match_mx = 1 AND (expires_at IS NULL OR expires_at > $1) \
             ORDER BY domain",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(Prohibition::from_row).collect())
    }

    /// Every prohibition, expired ones included, by domain.
    pub async fn prohibitions(&self) -> Result<Vec<Prohibition>, StoreError> {
        let rows = sqlx::query("SELECT * FROM prohibited_domains ORDER BY domain")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Prohibition::from_row).collect())
    }
}
