//! Reports about projects (malware, typosquats, spam, dependency confusion) from users, the
//! reporters' trust levels, the automatic quarantine rules (judged inside the transaction that
//! files the report, so two reports arriving together are counted together), and the admins'
//! decisions: confirm (the project is held as malicious and a record published), reject (an
//! automatic quarantine the reports caused is lifted), revert (a confirmation undone: the project
//! released, its record withdrawn). Every step is journaled in its transaction.

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::defenses::{AdminContext, admin_event};
use crate::journal::{Event, append};
use crate::malicious::{Finding, publish_in, withdraw_in};
use crate::packages::require_project;
use crate::{Store, StoreError};

/// A report as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Its number.
    pub id: i64,
    /// The project's name as registered when reported.
    pub project: String,
    /// The reporter's username.
    pub reporter: String,
    /// `malware`, `typosquat`, `spam`, `dependency-confusion` or `other`.
    pub kind: String,
    /// The versions reported; empty: the whole project.
    pub versions: Vec<String>,
    /// What the reporter saw.
    pub evidence: String,
    /// Where more is (an analysis, a sandbox run).
    pub evidence_url: Option<String>,
    /// `open`, `confirmed`, `rejected` or `reverted`.
    pub status: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// When the project was quarantined automatically on this report's account, if it was.
    pub quarantined_at: Option<i64>,
    /// When an admin decided.
    pub decided_at: Option<i64>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Why.
    pub decision_reason: Option<String>,
    /// The record a confirmation published.
    pub record_id: Option<String>,
}

/// A report being filed.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    /// The project (any spelling).
    pub project: &'a str,
    /// The reporter's account id.
    pub reporter_id: i64,
    /// The kind (checked by the caller).
    pub kind: &'a str,
    /// Versions (checked by the caller to exist).
    pub versions: &'a [String],
    /// Evidence text.
    pub evidence: &'a str,
    /// Evidence URL.
    pub evidence_url: Option<&'a str>,
    /// Client address.
    pub ip: Option<&'a str>,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
}

/// When reports quarantine a project without waiting for an admin.
#[derive(Debug, Clone, Default)]
pub struct QuarantineRules {
    /// Report kinds that count.
    pub kinds: Vec<String>,
    /// A trusted reporter's report on a project created less than this long ago (ms).
    pub trusted_young_ms: Option<i64>,
    /// Open reports from this many independent reporters (different accounts and e-mail
    /// domains), at least one trusted. `None`: off.
    pub corroborating: Option<u32>,
}

/// What filing a report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filed {
    /// The report.
    pub report: Report,
    /// The rule that quarantined the project, if one did.
    pub quarantined_by: Option<String>,
    /// The events journaled.
    #[serde(skip)]
    pub events: Vec<Event>,
}

/// An admin's decision on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Malicious: hold the project, publish a record, close the project's other open reports.
    Confirm,
    /// Not malicious: close the report; lift an automatic quarantine nothing else holds up.
    Reject,
    /// Undo a confirmation: release the project, withdraw the record.
    Revert,
}

/// Why a report was refused (the caller turns these into 4xx answers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportRefusal {
    /// The reporter already has an open report on this project.
    #[error("you already reported `{project}` (report {id} is open)")]
    Duplicate {
        /// The project.
        project: String,
        /// The open report.
        id: i64,
    },
    /// The reporter owns the project.
    #[error("you own `{0}`; remove or yank it yourself instead of reporting it")]
    OwnProject(String),
    /// The reporter's reports are refused.
    #[error("reports from this account are not accepted")]
    Blocked,
}

const REPORT_COLUMNS: &str = "r.id, r.project, u.username AS reporter, r.kind, r.versions, \
    r.evidence, r.evidence_url, r.status, r.created_at, r.quarantined_at, r.decided_at, \
    r.decided_by, r.decision_reason, r.record_id";

fn from_row(r: &AnyRow) -> Report {
    Report {
        id: r.get("id"),
        project: r.get("project"),
        reporter: r.get("reporter"),
        kind: r.get("kind"),
        versions: serde_json::from_str(&r.get::<String, _>("versions")).unwrap_or_default(),
        evidence: r.get("evidence"),
        evidence_url: r.get("evidence_url"),
        status: r.get("status"),
        created_at: r.get("created_at"),
        quarantined_at: r.get("quarantined_at"),
        decided_at: r.get("decided_at"),
        decided_by: r.get("decided_by"),
        decision_reason: r.get("decision_reason"),
        record_id: r.get("record_id"),
    }
}

async fn report_in(tx: &mut Transaction<'_, Any>, id: i64) -> Result<Option<Report>, StoreError> {
    Ok(sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} FROM reports r JOIN users u ON u.id = r.reporter_id WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(from_row))
}

/// The open reports on a project that count for quarantine: `(report id, reporter id, trust,
/// e-mail domain)`.
async fn open_reports(
    tx: &mut Transaction<'_, Any>,
    normalized: &str,
    kinds: &[String],
) -> Result<Vec<(i64, i64, String, Option<String>)>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id, r.kind, r.reporter_id, u.reporter_trust, u.email_domain FROM reports r \
         JOIN users u ON u.id = r.reporter_id WHERE r.normalized = $1 AND r.status = 'open' ORDER BY r.id",
    )
    .bind(normalized)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .filter(|r| kinds.iter().any(|k| *k == r.get::<String, _>("kind")))
        .map(|r| {
            (
                r.get("id"),
                r.get("reporter_id"),
                r.get("reporter_trust"),
                r.get("email_domain"),
            )
        })
        .collect())
}

/// The campaigns (not dismissed) whose members include the project, each with how many of its
/// projects have been reported: several reports across one cohort is a signal of its own, for
/// admins and for the campaign detector reading the journal.
async fn reported_cohorts(
    tx: &mut Transaction<'_, Any>,
    normalized: &str,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let rows =
        sqlx::query("SELECT id, report FROM campaigns WHERE status != 'dismissed' ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
    let mut out = Vec::new();
    for row in rows {
        let report: serde_json::Value =
            serde_json::from_str(&row.get::<String, _>("report")).unwrap_or_default();
        let members: Vec<String> = report["projects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(picket_formats::normalize))
            .collect();
        if !members.iter().any(|m| m == normalized) {
            continue;
        }
        let mut reported = 0;
        for member in &members {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE normalized = $1")
                    .bind(member)
                    .fetch_one(&mut **tx)
                    .await?;
            reported += usize::from(count > 0);
        }
        out.push(json!({ "campaign": row.get::<String, _>("id"), "reported_projects": reported }));
    }
    Ok(out)
}

/// Which rule, if any, quarantines the project now that `new` (a report id) is filed.
fn judge(
    rules: &QuarantineRules,
    project_age_ms: i64,
    new: i64,
    open: &[(i64, i64, String, Option<String>)],
) -> Option<String> {
    let this = open.iter().find(|r| r.0 == new)?;
    if let Some(young) = rules.trusted_young_ms
        && this.2 == "trusted"
        && project_age_ms < young
    {
        return Some(format!(
            "a trusted reporter on a project younger than {} hours",
            young / 3_600_000
        ));
    }
    let needed = rules.corroborating?;
    // Independent: different accounts and different e-mail domains (two accounts of one person
    // usually share one); trusted reporters are counted first, so one of them is never passed
    // over for an untrusted account of the same domain.
    let mut reports: Vec<_> = open.iter().collect();
    reports.sort_by_key(|r| r.2 != "trusted");
    let mut accounts = std::collections::HashSet::new();
    let mut domains = std::collections::HashSet::new();
    let (mut independent, mut trusted) = (0u32, false);
    for (_, reporter, trust, domain) in reports {
        if accounts.contains(reporter) || domain.as_ref().is_some_and(|d| domains.contains(d)) {
            continue;
        }
        accounts.insert(*reporter);
        domains.extend(domain.clone());
        independent += 1;
        trusted |= trust == "trusted";
    }
    (trusted && independent >= needed)
        .then(|| format!("{needed} independent reporters, one of them trusted"))
}

impl Store {
    /// Files a report and applies the automatic quarantine rules, in one transaction.
    pub async fn file_report(
        &self,
        new: &NewReport<'_>,
        rules: &QuarantineRules,
    ) -> Result<Result<Filed, ReportRefusal>, StoreError> {
        let mut tx = self.write_tx().await?;
        let project = require_project(&mut tx, new.project).await?;
        let reporter =
            sqlx::query("SELECT username, reporter_trust, email_domain FROM users WHERE id = $1")
                .bind(new.reporter_id)
                .fetch_one(&mut *tx)
                .await?;
        let username: String = reporter.get("username");
        let trust: String = reporter.get("reporter_trust");
        let reporter_domain: Option<String> = reporter.get("email_domain");
        if trust == "blocked" {
            return Ok(Err(ReportRefusal::Blocked));
        }
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM project_owners WHERE project_id = $1 AND user_id = $2",
        )
        .bind(project.id)
        .bind(new.reporter_id)
        .fetch_one(&mut *tx)
        .await?;
        if owners > 0 {
            return Ok(Err(ReportRefusal::OwnProject(project.name)));
        }
        let duplicate: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM reports WHERE normalized = $1 AND reporter_id = $2 AND status = 'open'",
        )
        .bind(&project.normalized)
        .bind(new.reporter_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = duplicate {
            return Ok(Err(ReportRefusal::Duplicate {
                project: project.name,
                id,
            }));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO reports (project, normalized, reporter_id, kind, versions, evidence, \
             evidence_url, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING id",
        )
        .bind(&project.name)
        .bind(&project.normalized)
        .bind(new.reporter_id)
        .bind(new.kind)
        .bind(serde_json::to_string(new.versions).unwrap_or_else(|_| "[]".into()))
        .bind(new.evidence)
        .bind(new.evidence_url)
        .bind(new.time_ms)
        .fetch_one(&mut *tx)
        .await?;
        let cohorts = reported_cohorts(&mut tx, &project.normalized).await?;
        let mut events = vec![Event::new(
            "report.create",
            new.time_ms,
            Some(&username),
            new.ip,
            json!({ "report": id, "project": project.name, "report_kind": new.kind,
                    "versions": new.versions, "evidence_url": new.evidence_url,
                    "campaigns": cohorts, "reporter_trust": trust,
                    "reporter_domain": reporter_domain }),
        )];
        let open = open_reports(&mut tx, &project.normalized, &rules.kinds).await?;
        let rule = judge(rules, new.time_ms - project.created_at, id, &open);
        if let Some(rule) = &rule {
            let ids: Vec<i64> = open.iter().map(|r| r.0).collect();
            if project.quarantine.is_none() {
                let evidence = json!({ "reports": ids, "rule": rule });
                sqlx::query(
                    "UPDATE projects SET quarantined_at = $1, quarantine_reason = $2, \
                     quarantine_evidence = $3 WHERE id = $4",
                )
                .bind(new.time_ms)
                .bind(format!("reported: {rule}"))
                .bind(evidence.to_string())
                .bind(project.id)
                .execute(&mut *tx)
                .await?;
                events.push(Event::new(
                    "project.quarantine",
                    new.time_ms,
                    None,
                    None,
                    json!({ "project": project.name, "reason": format!("reported: {rule}"),
                            "reports": ids }),
                ));
            }
            for report in &ids {
                sqlx::query(
                    "UPDATE reports SET quarantined_at = $1 WHERE id = $2 AND quarantined_at IS NULL",
                )
                .bind(new.time_ms)
                .bind(report)
                .execute(&mut *tx)
                .await?;
            }
            events.push(Event::new(
                "report.quarantine",
                new.time_ms,
                None,
                None,
                json!({ "project": project.name, "reports": ids, "rule": rule }),
            ));
        }
        append(&mut tx, &events).await?;
        let report = report_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NoReport(id))?;
        tx.commit().await?;
        Ok(Ok(Filed {
            report,
            quarantined_by: rule,
            events,
        }))
    }

    /// Reports, newest first; `status` filters.
    pub async fn reports(&self, status: Option<&str>) -> Result<Vec<Report>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REPORT_COLUMNS} FROM reports r JOIN users u ON u.id = r.reporter_id \
             WHERE $1 IS NULL OR r.status = $2 ORDER BY r.id DESC"
        ))
        .bind(status)
        .bind(status)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(from_row).collect())
    }

    /// One report.
    pub async fn report(&self, id: i64) -> Result<Option<Report>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let report = report_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Reports filed by `reporter_id` at or after `since_ms` (for the per-reporter limit's
    /// answer).
    pub async fn reports_by(&self, reporter_id: i64, since_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM reports WHERE reporter_id = $1 AND created_at >= $2",
        )
        .bind(reporter_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    /// An admin's decision, in one transaction; returns the events journaled and, for a
    /// confirmation, the record published. With `dry_run` the transaction is rolled back.
    pub async fn decide_report(
        &self,
        id: i64,
        decision: Decision,
        cx: &AdminContext<'_>,
        dry_run: bool,
    ) -> Result<(Vec<Event>, Option<String>), StoreError> {
        let mut tx = self.write_tx().await?;
        let report = report_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NoReport(id))?;
        let (expected, needs) = match decision {
            Decision::Confirm | Decision::Reject => ("open", "an open"),
            Decision::Revert => ("confirmed", "a confirmed"),
        };
        if report.status != expected {
            return Err(StoreError::ReportState {
                id,
                status: report.status,
                expected: needs,
            });
        }
        let mut changes = Vec::new();
        let mut record = None;
        let (status, kind) = match decision {
            Decision::Confirm => ("confirmed", "report.confirm"),
            Decision::Reject => ("rejected", "report.reject"),
            Decision::Revert => ("reverted", "report.revert"),
        };
        // Confirming or reverting closes every report of the project in the same state.
        let ids: Vec<i64> = if decision == Decision::Reject {
            vec![id]
        } else {
            sqlx::query_scalar(
                "SELECT id FROM reports WHERE normalized = $1 AND status = $2 ORDER BY id",
            )
            .bind(picket_formats::normalize(&report.project))
            .bind(expected)
            .fetch_all(&mut *tx)
            .await?
        };
        match decision {
            Decision::Confirm => {
                let project = require_project(&mut tx, &report.project).await?;
                if project.quarantine.is_none() {
                    crate::defenses::quarantine_in(&mut tx, &project.name, cx, &mut changes)
                        .await?;
                }
                let held = format!("malicious: report {id} confirmed");
                sqlx::query(
                    "UPDATE projects SET quarantine_reason = $1, quarantine_evidence = $2 WHERE id = $3",
                )
                .bind(&held)
                .bind(json!({ "reports": ids, "actor": cx.actor }).to_string())
                .bind(project.id)
                .execute(&mut *tx)
                .await?;
                // The reporter is not named: the record is public.
                let details = format!(
                    "Reported as {} (report {id}): {}{}\n\nConfirmed by {}: {}",
                    report.kind,
                    report.evidence,
                    report
                        .evidence_url
                        .as_deref()
                        .map(|u| format!(" ({u})"))
                        .unwrap_or_default(),
                    cx.actor,
                    cx.reason
                );
                // A report naming no version is about the whole project, future releases too.
                let whole_project = report.versions.is_empty();
                let versions = if whole_project {
                    all_versions(&mut tx, project.id).await?
                } else {
                    report.versions.clone()
                };
                record = Some(
                    publish_in(
                        &mut tx,
                        &Finding {
                            project: &project.name,
                            whole_project,
                            versions,
                            origin_kind: "report",
                            origin_id: &id.to_string(),
                            details: &details,
                        },
                        cx,
                        &mut changes,
                    )
                    .await?,
                );
            }
            Decision::Reject => {
                // An automatic quarantine stands while any report that caused it is open.
                let others: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM reports WHERE normalized = $1 AND status = 'open' \
                     AND quarantined_at IS NOT NULL AND id != $2",
                )
                .bind(picket_formats::normalize(&report.project))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let project = require_project(&mut tx, &report.project).await?;
                let auto = project
                    .quarantine
                    .as_ref()
                    .is_some_and(|q| q.reason.starts_with("reported: "));
                if report.quarantined_at.is_some() && others == 0 && auto {
                    crate::defenses::release_in(&mut tx, &project.name, cx, &mut changes).await?;
                }
            }
            Decision::Revert => {
                // A project removed since is gone for good; its record is still withdrawn.
                let released =
                    crate::defenses::release_in(&mut tx, &report.project, cx, &mut changes).await;
                match released {
                    Ok(()) | Err(StoreError::NoProject(_)) => {}
                    Err(e) => return Err(e),
                }
                withdraw_in(&mut tx, &report.project, cx, &mut changes).await?;
            }
        }
        for report_id in &ids {
            sqlx::query(
                "UPDATE reports SET status = $1, decided_at = $2, decided_by = $3, decision_reason = $4, \
                 record_id = COALESCE($5, record_id) WHERE id = $6",
            )
            .bind(status)
            .bind(cx.time_ms)
            .bind(cx.actor)
            .bind(cx.reason)
            .bind(&record)
            .bind(report_id)
            .execute(&mut *tx)
            .await?;
            changes.push(admin_event(
                kind,
                None,
                cx,
                json!({ "report": report_id, "project": report.project, "record": record }),
            ));
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            append(&mut tx, &changes).await?;
            tx.commit().await?;
        }
        Ok((changes, record))
    }

    /// Sets how far a reporter is believed (`blocked`, `normal`, `trusted`), journaled.
    pub async fn set_reporter_trust(
        &self,
        username: &str,
        level: &str,
        cx: &AdminContext<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = crate::packages::user_id_in(&mut tx, username).await?;
        let before: String = sqlx::query_scalar("SELECT reporter_trust FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let mut changes = Vec::new();
        if before != level {
            sqlx::query("UPDATE users SET reporter_trust = $1 WHERE id = $2")
                .bind(level)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            changes.push(admin_event(
                "account.reporter-trust",
                Some(username),
                cx,
                json!({ "from": before, "to": level }),
            ));
            append(&mut tx, &changes).await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// A user's reporter trust level.
    pub async fn reporter_trust(&self, user_id: i64) -> Result<String, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT reporter_trust FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

/// Every version of a project, quarantined ones included.
pub(crate) async fn all_versions(
    tx: &mut Transaction<'_, Any>,
    project_id: i64,
) -> Result<Vec<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT version FROM releases WHERE project_id = $1 ORDER BY id")
            .bind(project_id)
            .fetch_all(&mut **tx)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> QuarantineRules {
        QuarantineRules {
            kinds: vec!["malware".into()],
            trusted_young_ms: Some(24 * 3_600_000),
            corroborating: Some(2),
        }
    }

    fn r(id: i64, who: i64, trust: &str, domain: &str) -> (i64, i64, String, Option<String>) {
        (id, who, trust.into(), Some(domain.into()))
    }

    #[test]
    fn quarantine_rules() {
        let hour = 3_600_000;
        // A trusted reporter on a young project.
        assert!(judge(&rules(), hour, 1, &[r(1, 10, "trusted", "a.org")]).is_some());
        // … not on an old one, alone.
        assert_eq!(
            judge(&rules(), 48 * hour, 1, &[r(1, 10, "trusted", "a.org")]),
            None
        );
        // Two independent reporters, one trusted.
        let two = [r(1, 10, "normal", "a.org"), r(2, 11, "trusted", "b.org")];
        assert!(judge(&rules(), 48 * hour, 2, &two).is_some());
        // Two untrusted: no.
        let untrusted = [r(1, 10, "normal", "a.org"), r(2, 11, "normal", "b.org")];
        assert_eq!(judge(&rules(), hour, 2, &untrusted), None);
        // Two accounts of one domain are one reporter.
        let same = [r(1, 10, "normal", "a.org"), r(2, 11, "trusted", "a.org")];
        assert_eq!(judge(&rules(), 48 * hour, 2, &same), None);
        // Rules off.
        let off = QuarantineRules {
            kinds: vec!["malware".into()],
            ..QuarantineRules::default()
        };
        assert_eq!(judge(&off, hour, 2, &two), None);
    }
}
