//! picket's own malicious-package records: one per project held or removed as malicious (a
//! confirmed report, an applied campaign, `remove-project --malicious`), published by the server
//! as OSV `MAL-` records. A record is never deleted: reverting the action withdraws it, so every
//! subscriber learns of the withdrawal on its next update.

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::defenses::AdminContext;
use crate::journal::Event;
use crate::{Store, StoreError};

/// The `settings` key holding the id prefix of new records.
pub const ID_PREFIX_KEY: &str = "osv-id-prefix";
/// The prefix when the server never set one.
pub const DEFAULT_ID_PREFIX: &str = "MAL-PICKET-";

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaliciousRecord {
    /// `PREFIX` + year + `-` + sequence, e.g. `MAL-PICKET-2026-3`; never changes.
    pub id: String,
    /// The project's name as registered.
    pub project: String,
    /// Its normalized name.
    pub normalized: String,
    /// The versions known to be malicious.
    pub versions: Vec<String>,
    /// Every version, past and future (a range from version 0).
    pub whole_project: bool,
    /// One line.
    pub summary: String,
    /// The evidence.
    pub details: String,
    /// Why it was published: `{"kind", "id", "actor", "reason", "time"}` objects, oldest first.
    pub origins: Vec<serde_json::Value>,
    /// Milliseconds since the epoch.
    pub published_at: i64,
    /// Last change.
    pub modified_at: i64,
    /// When withdrawn, if it is.
    pub withdrawn_at: Option<i64>,
}

/// What a new record says.
#[derive(Debug, Clone)]
pub struct Finding<'a> {
    /// The project (any spelling; it must exist when published).
    pub project: &'a str,
    /// The versions named; empty with `whole_project` for all.
    pub versions: Vec<String>,
    /// Every version.
    pub whole_project: bool,
    /// `report`, `campaign` or `removal`.
    pub origin_kind: &'a str,
    /// The report's or campaign's id (the project name for a removal).
    pub origin_id: &'a str,
    /// The evidence, for `details`.
    pub details: &'a str,
}

fn from_row(r: &AnyRow) -> MaliciousRecord {
    MaliciousRecord {
        id: r.get("id"),
        project: r.get("project"),
        normalized: r.get("normalized"),
        versions: serde_json::from_str(&r.get::<String, _>("versions")).unwrap_or_default(),
        whole_project: r.get::<i64, _>("whole_project") != 0,
        summary: r.get("summary"),
        details: r.get("details"),
        origins: serde_json::from_str(&r.get::<String, _>("origins")).unwrap_or_default(),
        published_at: r.get("published_at"),
        modified_at: r.get("modified_at"),
        withdrawn_at: r.get("withdrawn_at"),
    }
}

async fn record_for(
    tx: &mut Transaction<'_, Any>,
    normalized: &str,
) -> Result<Option<MaliciousRecord>, StoreError> {
    Ok(
        sqlx::query("SELECT * FROM malicious_records WHERE normalized = $1")
            .bind(normalized)
            .fetch_optional(&mut **tx)
            .await?
            .as_ref()
            .map(from_row),
    )
}

pub(crate) async fn setting_in(
    tx: &mut Transaction<'_, Any>,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Publishes (or extends, or brings back) the record of `finding.project` inside the caller's
/// transaction, and journals `osv.publish`. The versions named are added to those already in
/// the record. Returns the record's id.
pub(crate) async fn publish_in(
    tx: &mut Transaction<'_, Any>,
    finding: &Finding<'_>,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<String, StoreError> {
    let project = crate::packages::require_project(tx, finding.project).await?;
    let origin = json!({
        "kind": finding.origin_kind,
        "id": finding.origin_id,
        "actor": cx.actor,
        "reason": cx.reason,
        "time": crate::rfc3339(cx.time_ms),
    });
    let summary = format!("Malicious code in {} (PyPI)", project.name);
    let existing = record_for(tx, &project.normalized).await?;
    // `(id, versions, whole project, origins, details, already stored)`.
    let (id, versions, whole, origins, details, stored) = match existing {
        Some(mut r) => {
            if r.withdrawn_at.is_some() {
                // Brought back: the earlier origins were reverted, this one stands alone.
                r.origins.clear();
                r.versions.clear();
                r.whole_project = false;
                r.details.clear();
            }
            r.origins.push(origin);
            for v in &finding.versions {
                if !r.versions.contains(v) {
                    r.versions.push(v.clone());
                }
            }
            if r.details.is_empty() {
                r.details = finding.details.to_owned();
            } else if !r.details.contains(finding.details) {
                r.details = format!("{}\n\n{}", r.details, finding.details);
            }
            let whole = r.whole_project || finding.whole_project;
            (r.id, r.versions, whole, r.origins, r.details, true)
        }
        None => {
            let prefix = setting_in(tx, ID_PREFIX_KEY)
                .await?
                .unwrap_or_else(|| DEFAULT_ID_PREFIX.to_owned());
            let seq: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM malicious_records")
                    .fetch_one(&mut **tx)
                    .await?;
            let year = &crate::rfc3339(cx.time_ms)[..4];
            (
                format!("{prefix}{year}-{seq}"),
                finding.versions.clone(),
                finding.whole_project,
                vec![origin],
                finding.details.to_owned(),
                false,
            )
        }
    };
    let versions_json = serde_json::to_string(&versions).unwrap_or_else(|_| "[]".into());
    let origins_json = serde_json::to_string(&origins).unwrap_or_else(|_| "[]".into());
    if stored {
        sqlx::query(
            "UPDATE malicious_records SET versions = $1, whole_project = $2, summary = $3, details = $4, \
             origins = $5, modified_at = $6, withdrawn_at = NULL WHERE id = $7",
        )
        .bind(&versions_json)
        .bind(i64::from(whole))
        .bind(&summary)
        .bind(&details)
        .bind(&origins_json)
        .bind(cx.time_ms)
        .bind(&id)
        .execute(&mut **tx)
        .await?;
    } else {
        let seq: i64 = id
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO malicious_records (id, seq, project, normalized, versions, whole_project, \
             summary, details, origins, published_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(seq)
        .bind(&project.name)
        .bind(&project.normalized)
        .bind(&versions_json)
        .bind(i64::from(whole))
        .bind(&summary)
        .bind(&details)
        .bind(&origins_json)
        .bind(cx.time_ms)
        .bind(cx.time_ms)
        .execute(&mut **tx)
        .await?;
    }
    changes.push(crate::defenses::admin_event(
        "osv.publish",
        None,
        cx,
        json!({ "project": project.name, "record": id, "origin": finding.origin_kind,
                "origin_id": finding.origin_id, "versions": versions, "whole_project": whole }),
    ));
    Ok(id)
}

/// Publishes a record naming every version of `project`, past and future (a removal or a
/// campaign: the whole project is malicious).
pub(crate) async fn publish_whole_in(
    tx: &mut Transaction<'_, Any>,
    project: &crate::Project,
    origin: (&str, &str),
    details: &str,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<String, StoreError> {
    let versions = crate::reports::all_versions(tx, project.id).await?;
    publish_in(
        tx,
        &Finding {
            project: &project.name,
            versions,
            whole_project: true,
            origin_kind: origin.0,
            origin_id: origin.1,
            details,
        },
        cx,
        changes,
    )
    .await
}

/// Withdraws the project's record, if one stands, inside the caller's transaction, and journals
/// `osv.withdraw`. Returns the record's id.
pub(crate) async fn withdraw_in(
    tx: &mut Transaction<'_, Any>,
    project: &str,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<Option<String>, StoreError> {
    let Some(record) = record_for(tx, &picket_formats::normalize(project)).await? else {
        return Ok(None);
    };
    if record.withdrawn_at.is_some() {
        return Ok(None);
    }
    sqlx::query("UPDATE malicious_records SET withdrawn_at = $1, modified_at = $2 WHERE id = $3")
        .bind(cx.time_ms)
        .bind(cx.time_ms)
        .bind(&record.id)
        .execute(&mut **tx)
        .await?;
    changes.push(crate::defenses::admin_event(
        "osv.withdraw",
        None,
        cx,
        json!({ "project": record.project, "record": record.id }),
    ));
    Ok(Some(record.id))
}

impl Store {
    /// Every record, withdrawn ones included, by sequence.
    pub async fn malicious_records(&self) -> Result<Vec<MaliciousRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM malicious_records ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// A cheap fingerprint of the records: `(count, newest change)`; it changes whenever a record
    /// is published, extended or withdrawn.
    pub async fn malicious_records_version(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(modified_at), 0) AS m FROM malicious_records",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get("n"), row.get("m")))
    }

    /// Withdraws a record by id (the revert of `remove-project --malicious`, or a record found
    /// wrong), journaled with the admin's reason.
    pub async fn withdraw_malicious_record(
        &self,
        id: &str,
        cx: &AdminContext<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let project: Option<String> =
            sqlx::query_scalar("SELECT project FROM malicious_records WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let project = project.ok_or_else(|| StoreError::NoRecord(id.to_owned()))?;
        let mut changes = Vec::new();
        withdraw_in(&mut tx, &project, cx, &mut changes).await?;
        crate::journal::append(&mut tx, &changes).await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// A setting, if set.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Sets a setting.
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
