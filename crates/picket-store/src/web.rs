//! Reads (and one delete) the web interface needs beyond what the APIs use: project search, the
//! newest projects, the quarantine queue, and ending a login session.
//!
//! Written with `$N` placeholders and portable SQL (no SQLite-only functions), so a PostgreSQL
//! port takes them as they are.

use serde::Serialize;
use sqlx::Row;

use crate::packages::Quarantine;
use crate::{Store, StoreError};

/// A project as a listing shows it: its name and the core metadata of its newest visible release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectListing {
    /// The name as first uploaded.
    pub name: String,
    /// PEP 503 normal form.
    pub normalized: String,
    /// The newest visible release's version (none when every release is held back).
    pub version: Option<String>,
    /// Its `Summary`.
    pub summary: Option<String>,
    /// When that release was created (milliseconds since the epoch).
    pub released_at: Option<i64>,
}

/// A project or release held back from installers, for the admin queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    /// The project's name.
    pub project: String,
    /// PEP 503 normal form.
    pub normalized: String,
    /// The release, when only a release is held.
    pub version: Option<String>,
    /// Why.
    pub quarantine: Quarantine,
}

fn summary_of(metadata: Option<String>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(&metadata?).ok()?;
    value
        .get("summary")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

const LISTING: &str = "SELECT p.name, p.normalized, r.version, r.metadata, r.created_at \
     FROM projects p LEFT JOIN releases r ON r.id = ( \
         SELECT r2.id FROM releases r2 WHERE r2.project_id = p.id AND r2.quarantined_at IS NULL \
         ORDER BY r2.created_at DESC, r2.id DESC LIMIT 1) \
     WHERE p.quarantined_at IS NULL";

fn listing(r: &sqlx::any::AnyRow) -> ProjectListing {
    ProjectListing {
        name: r.get("name"),
        normalized: r.get("normalized"),
        version: r.get("version"),
        summary: summary_of(r.get("metadata")),
        released_at: r.get("created_at"),
    }
}

impl Store {
    /// Visible projects whose normalized name contains `name_part` or whose newest visible
    /// release's metadata contains `text` (case-insensitively; the caller ranks and keeps the
    /// ones whose summary really matches). At most `limit` candidates.
    pub async fn search_candidates(
        &self,
        name_part: &str,
        text: &str,
        limit: i64,
    ) -> Result<Vec<ProjectListing>, StoreError> {
        let like = |s: &str| {
            let escaped: String = s
                .to_lowercase()
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("%{escaped}%")
        };
        let rows = sqlx::query(&format!(
            "{LISTING} AND (p.normalized LIKE $1 ESCAPE '\\' OR LOWER(r.metadata) LIKE $2 ESCAPE '\\') \
             ORDER BY p.normalized LIMIT $3"
        ))
        .bind(like(name_part))
        .bind(like(text))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(listing).collect())
    }

    /// The visible projects released to most recently, newest first.
    pub async fn recent_projects(&self, limit: i64) -> Result<Vec<ProjectListing>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LISTING} AND r.id IS NOT NULL ORDER BY r.created_at DESC, p.normalized LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(listing).collect())
    }

    /// Every quarantined project and every quarantined release of a project that is not itself
    /// quarantined, oldest first.
    pub async fn quarantine_queue(&self) -> Result<Vec<Held>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.name, p.normalized, NULL AS version, p.quarantined_at AS at, \
                    p.quarantine_reason AS reason, p.quarantine_evidence AS evidence \
             FROM projects p WHERE p.quarantined_at IS NOT NULL \
             UNION ALL \
             SELECT p.name, p.normalized, r.version, r.quarantined_at AS at, \
                    r.quarantine_reason AS reason, r.quarantine_evidence AS evidence \
             FROM releases r JOIN projects p ON p.id = r.project_id \
             WHERE r.quarantined_at IS NOT NULL AND p.quarantined_at IS NULL \
             ORDER BY at, normalized",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Held {
                    project: r.get("name"),
                    normalized: r.get("normalized"),
                    version: r.get("version"),
                    quarantine: Quarantine::from_columns(
                        r.get("at"),
                        r.get("reason"),
                        r.get("evidence"),
                    )?,
                })
            })
            .collect())
    }

    /// Ends a login session (its sha256); false when there was none.
    pub async fn end_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Accounts whose name or address contains `text` (case-insensitively), by name, at most
    /// `limit`.
    pub async fn search_users(
        &self,
        text: &str,
        limit: i64,
    ) -> Result<Vec<crate::User>, StoreError> {
        let all = self.users().await?;
        let needle = text.to_lowercase();
        Ok(all
            .into_iter()
            .filter(|u| {
                u.username.to_lowercase().contains(&needle)
                    || u.email.to_lowercase().contains(&needle)
            })
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_come_from_the_metadata_json() {
        assert_eq!(
            summary_of(Some(r#"{"summary":"A tool"}"#.into())).as_deref(),
            Some("A tool")
        );
        assert_eq!(summary_of(Some("{}".into())), None);
        assert_eq!(summary_of(Some("not json".into())), None);
        assert_eq!(summary_of(None), None);
    }
}
