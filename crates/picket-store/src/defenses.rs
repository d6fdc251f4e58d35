//! What the registry's defenses keep: rate-limit state, each e-mail domain's sign-up history,
//! prohibited project names, the commands learned from stored wheels, addresses added to accounts,
//! and the bulk admin actions (each one transaction, journaled, with a dry run that is the same
//! transaction rolled back).

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::journal::{Event, append};
use crate::packages::{Quarantine, delete_files, require_project, user_id_in};
use crate::{Store, StoreError};

/// Length of one bucket of the sign-up history.
pub const SIGNUP_BUCKET_MS: i64 = 10 * 60 * 1000;

/// The answer of a rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateDecision {
    /// Whether this request may go on (and was counted).
    pub allowed: bool,
    /// Requests allowed per period.
    pub limit: u32,
    /// Requests left before the limiter refuses.
    pub remaining: u32,
    /// Milliseconds until the full quota is back.
    pub reset_ms: i64,
    /// When refused: milliseconds until one request is allowed again.
    pub retry_after_ms: i64,
}

/// A name nobody may create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameProhibition {
    /// The normalized name.
    pub normalized: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub actor: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A bulk admin action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// Disable accounts: no login, tokens refused.
    DisableUser(Vec<String>),
    /// Enable them again.
    EnableUser(Vec<String>),
    /// Quarantine every new upload of accounts.
    RestrictUser(Vec<String>),
    /// Lift that.
    UnrestrictUser(Vec<String>),
    /// Quarantine projects.
    Quarantine(Vec<String>),
    /// Release projects (and every quarantined release of them).
    Release(Vec<String>),
    /// Remove projects; optionally prohibit their names for good.
    RemoveProject {
        /// The projects.
        projects: Vec<String>,
        /// Also add the name to the prohibited names.
        prohibit_name: bool,
        /// Removed as malicious: publish a record naming every version first.
        malicious: bool,
    },
    /// Disable accounts and quarantine every project they own.
    NukeUser(Vec<String>),
    /// Undo a nuke in one step: enable and unrestrict accounts, and release every project they
    /// own that an administrator's action quarantined (holds of the upload gate stay).
    RestoreUser(Vec<String>),
    /// A campaign's bulk action: quarantine its projects, disable its accounts, prohibit its
    /// domains for `expires_ms`, and mark the campaign applied.
    ApplyCampaign {
        /// The campaign's id.
        id: String,
        /// Member accounts.
        accounts: Vec<String>,
        /// Member projects (ones already removed are skipped).
        projects: Vec<String>,
        /// Domains to prohibit.
        domains: Vec<String>,
        /// How long the prohibitions last.
        expires_ms: i64,
    },
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredCampaign {
    /// Its id.
    pub id: String,
    /// `open`, `applied` or `dismissed`.
    pub status: String,
    /// Milliseconds since the epoch.
    pub detected_at: i64,
    /// Last refresh.
    pub updated_at: i64,
    /// The detector's report.
    pub report: serde_json::Value,
    /// Accounts the automatic response restricted.
    pub restricted: Vec<String>,
}

/// Who acts, why, and when.
#[derive(Debug, Clone)]
pub struct AdminContext<'a> {
    /// `cli:NAME` or `api:NAME`.
    pub actor: &'a str,
    /// Why (recorded with every change).
    pub reason: &'a str,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
}

impl Store {
    /// Rate limiting by GCRA, state in the database: `limit` requests per `period_ms` for `key`,
    /// counted only when allowed (refused attempts do not push the window out).
    pub async fn rate_check(
        &self,
        key: &str,
        limit: u32,
        period_ms: i64,
        now_ms: i64,
    ) -> Result<RateDecision, StoreError> {
        let limit = limit.max(1);
        let interval = (period_ms / i64::from(limit)).max(1);
        let tolerance = period_ms - interval;
        let mut tx = self.write_tx().await?;
        let stored: Option<i64> = sqlx::query("SELECT tat FROM rate_limits WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get("tat"));
        let tat = stored.unwrap_or(now_ms).max(now_ms);
        if tat - now_ms > tolerance {
            tx.rollback().await?;
            return Ok(RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_ms: tat - now_ms,
                retry_after_ms: tat - now_ms - tolerance,
            });
        }
        let next = tat + interval;
        sqlx::query(
            "INSERT INTO rate_limits (key, tat) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
        )
        .bind(key)
        .bind(next)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let remaining = (now_ms + period_ms - next) / interval;
        Ok(RateDecision {
            allowed: true,
            limit,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
            reset_ms: next - now_ms,
            retry_after_ms: 0,
        })
    }

    /// Drops rate-limit rows whose quota is full again (they carry no information).
    pub async fn prune_rate_limits(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let n = sqlx::query("DELETE FROM rate_limits WHERE tat <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Sign-ups from `domain`: `(in the last window_ms, in the history_ms before that)`.
    pub async fn domain_signups(
        &self,
        domain: &str,
        now_ms: i64,
        window_ms: i64,
        history_ms: i64,
    ) -> Result<(u64, u64), StoreError> {
        let now_bucket = now_ms.div_euclid(SIGNUP_BUCKET_MS);
        let window_start = now_bucket - (window_ms / SIGNUP_BUCKET_MS).max(1) + 1;
        let history_start = window_start - (history_ms / SIGNUP_BUCKET_MS).max(1);
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN bucket >= $1 THEN count ELSE 0 END), 0) AS BIGINT) AS recent, \
                    CAST(COALESCE(SUM(CASE WHEN bucket < $2 THEN count ELSE 0 END), 0) AS BIGINT) AS history \
             FROM domain_signups WHERE domain = $3 AND bucket >= $4 AND bucket <= $5",
        )
        .bind(window_start)
        .bind(window_start)
        .bind(domain)
        .bind(history_start)
        .bind(now_bucket)
        .fetch_one(&self.pool)
        .await?;
        let as_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok((as_u64(row.get("recent")), as_u64(row.get("history"))))
    }

    /// Adds sign-ups to domains' histories (`(domain, time_ms)` each), e.g. from an exported
    /// event log, so the velocity limit knows each domain's normal rate from the first day.
    pub async fn import_signups(&self, signups: &[(String, i64)]) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        for (domain, time) in signups {
            count_signup(&mut tx, domain, *time, 1).await?;
        }
        tx.commit().await?;
        Ok(signups.len() as u64)
    }

    /// The prohibition of a (normalized) name, if any.
    pub async fn name_prohibition(
        &self,
        normalized: &str,
    ) -> Result<Option<NameProhibition>, StoreError> {
        let row = sqlx::query("SELECT * FROM prohibited_names WHERE normalized = $1")
            .bind(normalized)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| NameProhibition {
            normalized: r.get("normalized"),
            reason: r.get("reason"),
            actor: r.get("actor"),
            created_at: r.get("created_at"),
        }))
    }

    /// Existing projects whose confusable skeleton is `skeleton`, as `(name, normalized)`.
    pub async fn projects_with_skeleton(
        &self,
        skeleton: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, normalized FROM projects WHERE skeleton = $1")
            .bind(skeleton)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("normalized")))
            .collect())
    }

    /// Every project, quarantined ones included, as `(name, normalized)`.
    pub async fn all_projects(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, normalized FROM projects ORDER BY normalized")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("normalized")))
            .collect())
    }

    /// The commands learned from stored wheels, as `(command, project)`.
    pub async fn learned_commands(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT command, project FROM commands ORDER BY command")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("command"), r.get("project")))
            .collect())
    }

    /// The normalized names of the projects an account owns, each with whether an administrator
    /// has reviewed it (released it from quarantine).
    pub async fn owned_projects(&self, user_id: i64) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.normalized, CASE WHEN p.reviewed_at IS NULL THEN 0 ELSE 1 END AS reviewed FROM projects p \
             JOIN project_owners o ON o.project_id = p.id WHERE o.user_id = $1 ORDER BY p.normalized",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("normalized"), r.get::<i64, _>("reviewed") != 0))
            .collect())
    }

    /// Adds an (unverified) address to an account; false when it was already there.
    pub async fn add_email(
        &self,
        user_id: i64,
        email: &str,
        journal: &[Event],
    ) -> Result<bool, StoreError> {
        let now = journal.first().map_or(0, |e| e.time_ms);
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO user_emails (user_id, email, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, email) DO NOTHING",
        )
        .bind(user_id)
        .bind(email)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            append(&mut tx, journal).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// The addresses of an account besides the primary one, as `(email, verified)`.
    pub async fn emails(&self, user_id: i64) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT email, verified FROM user_emails WHERE user_id = $1 ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("email"), r.get::<i64, _>("verified") != 0))
            .collect())
    }

    /// Applies a bulk admin action in one transaction and returns the journal of what changed
    /// (nothing, for a change already in place). With `dry_run` the same transaction is rolled
    /// back, so the list is exactly what a real run would do. Unknown users or projects fail the
    /// whole action.
    pub async fn admin(
        &self,
        action: &AdminAction,
        cx: &AdminContext<'_>,
        dry_run: bool,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut changes = Vec::new();
        match action {
            AdminAction::DisableUser(users)
            | AdminAction::EnableUser(users)
            | AdminAction::RestrictUser(users)
            | AdminAction::UnrestrictUser(users) => {
                let (column, on) = match action {
                    AdminAction::DisableUser(_) => ("disabled", true),
                    AdminAction::EnableUser(_) => ("disabled", false),
                    AdminAction::RestrictUser(_) => ("restricted", true),
                    _ => ("restricted", false),
                };
                for user in users {
                    set_user_flag(&mut tx, user, column, on, cx, &mut changes).await?;
                }
            }
            AdminAction::Quarantine(projects) => {
                for project in projects {
                    quarantine_in(&mut tx, project, cx, &mut changes).await?;
                }
            }
            AdminAction::Release(projects) => {
                for project in projects {
                    release_in(&mut tx, project, cx, &mut changes).await?;
                    // Released: whatever held it as malicious is reverted.
                    crate::malicious::withdraw_in(&mut tx, project, cx, &mut changes).await?;
                }
            }
            AdminAction::RemoveProject {
                projects,
                prohibit_name,
                malicious,
            } => {
                for project in projects {
                    let p = require_project(&mut tx, project).await?;
                    if *malicious {
                        let details =
                            format!("Removed as malicious by {}: {}", cx.actor, cx.reason);
                        crate::malicious::publish_whole_in(
                            &mut tx,
                            &p,
                            ("removal", &p.normalized),
                            &details,
                            cx,
                            &mut changes,
                        )
                        .await?;
                    }
                    let files = delete_files(
                        &mut tx,
                        "release_id IN (SELECT id FROM releases WHERE project_id = $1)",
                        p.id,
                    )
                    .await?;
                    for sql in [
                        "DELETE FROM releases WHERE project_id = $1",
                        "DELETE FROM project_owners WHERE project_id = $1",
                        "DELETE FROM projects WHERE id = $1",
                    ] {
                        sqlx::query(sql).bind(p.id).execute(&mut *tx).await?;
                    }
                    changes.push(admin_event(
                        "project.remove",
                        None,
                        cx,
                        json!({ "project": p.name, "files": files }),
                    ));
                    if *prohibit_name {
                        sqlx::query(
                            "INSERT INTO prohibited_names (normalized, reason, actor, created_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (normalized) DO NOTHING",
                        )
                        .bind(&p.normalized)
                        .bind(cx.reason)
                        .bind(cx.actor)
                        .bind(cx.time_ms)
                        .execute(&mut *tx)
                        .await?;
                        changes.push(admin_event(
                            "name.prohibit",
                            None,
                            cx,
                            json!({ "name": p.normalized }),
                        ));
                    }
                }
            }
            AdminAction::NukeUser(users) => {
                for user in users {
                    let id = user_id_in(&mut tx, user).await?;
                    set_user_flag(&mut tx, user, "disabled", true, cx, &mut changes).await?;
                    let owned: Vec<String> = sqlx::query(
                    "SELECT p.normalized FROM projects p JOIN project_owners o ON o.project_id = p.id \
                     WHERE o.user_id = $1 ORDER BY p.normalized",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.get("normalized"))
                .collect();
                    for project in &owned {
                        quarantine_in(&mut tx, project, cx, &mut changes).await?;
                    }
                }
            }
            AdminAction::RestoreUser(users) => {
                for user in users {
                    let id = user_id_in(&mut tx, user).await?;
                    set_user_flag(&mut tx, user, "disabled", false, cx, &mut changes).await?;
                    set_user_flag(&mut tx, user, "restricted", false, cx, &mut changes).await?;
                    // Quarantined by an admin action (a nuke, a campaign, `quarantine`): the
                    // evidence names the actor; the gate's holds name its decisions instead.
                    let held: Vec<(i64, String)> = sqlx::query(
                        "SELECT p.id, p.name, p.quarantine_evidence FROM projects p \
                         JOIN project_owners o ON o.project_id = p.id \
                         WHERE o.user_id = $1 AND p.quarantined_at IS NOT NULL ORDER BY p.normalized",
                    )
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .filter(|r| {
                        r.get::<Option<String>, _>("quarantine_evidence")
                            .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
                            .is_some_and(|e| e.get("actor").is_some())
                    })
                    .map(|r| (r.get("id"), r.get("name")))
                    .collect();
                    for (project_id, name) in held {
                        // As with `release`: what held the project as malicious is reverted, so
                        // the record a campaign or a confirmed report published is withdrawn.
                        sqlx::query(
                            "UPDATE projects SET quarantined_at = NULL, quarantine_reason = NULL, \
                             quarantine_evidence = NULL, reviewed_at = $1 WHERE id = $2",
                        )
                        .bind(cx.time_ms)
                        .bind(project_id)
                        .execute(&mut *tx)
                        .await?;
                        changes.push(admin_event(
                            "project.release",
                            None,
                            cx,
                            json!({ "project": name, "versions": [] }),
                        ));
                        crate::malicious::withdraw_in(&mut tx, &name, cx, &mut changes).await?;
                    }
                }
            }
            AdminAction::ApplyCampaign {
                id,
                accounts,
                projects,
                domains,
                expires_ms,
            } => {
                let details = campaign_details(&mut tx, id, cx).await?;
                for project in projects {
                    match quarantine_in(&mut tx, project, cx, &mut changes).await {
                        Ok(()) => {}
                        Err(StoreError::NoProject(_)) => continue,
                        Err(e) => return Err(e),
                    }
                    let p = require_project(&mut tx, project).await?;
                    crate::malicious::publish_whole_in(
                        &mut tx,
                        &p,
                        ("campaign", id),
                        &details,
                        cx,
                        &mut changes,
                    )
                    .await?;
                }
                for user in accounts {
                    set_user_flag(&mut tx, user, "disabled", true, cx, &mut changes).await?;
                }
                for domain in domains {
                    let expires = cx.time_ms + expires_ms;
                    sqlx::query(
                        "INSERT INTO prohibited_domains (domain, reason, actor, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (domain) DO UPDATE SET reason = excluded.reason, \
                         actor = excluded.actor, created_at = excluded.created_at, expires_at = excluded.expires_at",
                    )
                    .bind(domain)
                    .bind(cx.reason)
                    .bind(cx.actor)
                    .bind(cx.time_ms)
                    .bind(expires)
                    .execute(&mut *tx)
                    .await?;
                    changes.push(admin_event(
                        "domain.prohibit",
                        None,
                        cx,
                        json!({ "domain": domain, "expires": crate::rfc3339(expires) }),
                    ));
                }
                let updated = sqlx::query(
                    "UPDATE campaigns SET status = 'applied', updated_at = $1 WHERE id = $2",
                )
                .bind(cx.time_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    return Err(StoreError::NoCampaign(id.clone()));
                }
                changes.push(admin_event(
                    "campaign.apply",
                    None,
                    cx,
                    json!({ "campaign": id }),
                ));
            }
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            append(&mut tx, &changes).await?;
            tx.commit().await?;
        }
        Ok(changes)
    }

    /// The admin actions in the journal at or after `since_ms` (events that name an `actor`).
    pub async fn audit(&self, since_ms: i64) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .events_since(since_ms)
            .await?
            .into_iter()
            .filter(|e| e.data.get("actor").is_some())
            .collect())
    }
}

/// The `details` of the records a campaign's application publishes: the detector's signals and
/// the admin's reason.
async fn campaign_details(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    cx: &AdminContext<'_>,
) -> Result<String, StoreError> {
    let report = campaign_in(tx, id)
        .await?
        .ok_or_else(|| StoreError::NoCampaign(id.to_owned()))?
        .report;
    let signals: Vec<String> = report["signals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect();
    let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
    Ok(format!(
        "Part of campaign {id}, found by picket's campaign detector ({} accounts, {} projects; signals: {}). Applied by {}: {}",
        count("accounts"),
        count("projects"),
        if signals.is_empty() {
            "none recorded".to_owned()
        } else {
            signals.join(", ")
        },
        cx.actor,
        cx.reason
    ))
}

pub(crate) fn admin_event(
    kind: &str,
    user: Option<&str>,
    cx: &AdminContext<'_>,
    mut data: serde_json::Value,
) -> Event {
    data["actor"] = cx.actor.into();
    data["reason"] = cx.reason.into();
    Event::new(kind, cx.time_ms, user, None, data)
}

async fn set_user_flag(
    tx: &mut Transaction<'_, Any>,
    user: &str,
    column: &str,
    on: bool,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT id, username, {column} AS flag FROM users WHERE lower(username) = lower($1)"
    ))
    .bind(user)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NoUser(user.to_owned()))?;
    if (row.get::<i64, _>("flag") != 0) == on {
        return Ok(());
    }
    let username: String = row.get("username");
    sqlx::query(&format!(
        "UPDATE users SET {column} = $1 WHERE username = $2"
    ))
    .bind(i64::from(on))
    .bind(&username)
    .execute(&mut **tx)
    .await?;
    let kind = match (column, on) {
        ("disabled", true) => "account.disable",
        ("disabled", false) => "account.enable",
        (_, true) => "account.restrict",
        (_, false) => "account.unrestrict",
    };
    // Disabling or restricting ends the account's sessions, so a later enable or unrestrict
    // brings none back; disabling also revokes its tokens for good (a restricted account's
    // tokens keep working, and its uploads are quarantined).
    let data = if on {
        let (sessions, tokens) =
            crate::accounts::end_access(tx, row.get("id"), column == "disabled", cx.time_ms)
                .await?;
        json!({ "sessions_ended": sessions, "tokens_revoked": tokens })
    } else {
        json!({})
    };
    changes.push(admin_event(kind, Some(&username), cx, data));
    Ok(())
}

pub(crate) async fn quarantine_in(
    tx: &mut Transaction<'_, Any>,
    project: &str,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let p = require_project(tx, project).await?;
    if p.quarantine.is_some() {
        return Ok(());
    }
    let evidence = json!({ "actor": cx.actor });
    sqlx::query(
        "UPDATE projects SET quarantined_at = $1, quarantine_reason = $2, quarantine_evidence = $3 \
         WHERE id = $4",
    )
    .bind(cx.time_ms)
    .bind(cx.reason)
    .bind(evidence.to_string())
    .bind(p.id)
    .execute(&mut **tx)
    .await?;
    changes.push(admin_event(
        "project.quarantine",
        None,
        cx,
        json!({ "project": p.name }),
    ));
    Ok(())
}

pub(crate) async fn release_in(
    tx: &mut Transaction<'_, Any>,
    project: &str,
    cx: &AdminContext<'_>,
    changes: &mut Vec<Event>,
) -> Result<(), StoreError> {
    let p = require_project(tx, project).await?;
    let versions: Vec<String> = sqlx::query(
        "SELECT version FROM releases WHERE project_id = $1 AND quarantined_at IS NOT NULL ORDER BY id",
    )
    .bind(p.id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| r.get("version"))
    .collect();
    if p.quarantine.is_none() && versions.is_empty() {
        return Ok(());
    }
    for sql in [
        "UPDATE projects SET quarantined_at = NULL, quarantine_reason = NULL, \
         quarantine_evidence = NULL, reviewed_at = $1 WHERE id = $2",
        "UPDATE releases SET quarantined_at = NULL, quarantine_reason = NULL, \
         quarantine_evidence = NULL WHERE project_id = $1",
    ] {
        let query = sqlx::query(sql);
        let query = if sql.starts_with("UPDATE projects") {
            query.bind(cx.time_ms)
        } else {
            query
        };
        query.bind(p.id).execute(&mut **tx).await?;
    }
    changes.push(admin_event(
        "project.release",
        None,
        cx,
        json!({ "project": p.name, "versions": versions }),
    ));
    Ok(())
}

/// Sign-ups from `domain` in the hour up to `now_ms` (the buckets `domain_signups` sums as
/// recent), read inside a write transaction.
pub(crate) async fn recent_signups(
    tx: &mut Transaction<'_, Any>,
    domain: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let now_bucket = now_ms.div_euclid(SIGNUP_BUCKET_MS);
    let window_start = now_bucket - (3_600_000 / SIGNUP_BUCKET_MS) + 1;
    let recent: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM domain_signups \
         WHERE domain = $1 AND bucket >= $2 AND bucket <= $3",
    )
    .bind(domain)
    .bind(window_start)
    .bind(now_bucket)
    .fetch_one(&mut **tx)
    .await?;
    Ok(u64::try_from(recent).unwrap_or(0))
}

/// Counts sign-ups in a domain's history.
pub(crate) async fn count_signup(
    tx: &mut Transaction<'_, Any>,
    domain: &str,
    time_ms: i64,
    n: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO domain_signups (domain, bucket, count) VALUES ($1, $2, $3) \
         ON CONFLICT (domain, bucket) DO UPDATE SET count = domain_signups.count + excluded.count",
    )
    .bind(domain)
    .bind(time_ms.div_euclid(SIGNUP_BUCKET_MS))
    .bind(n)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Quarantine {
    /// A quarantine decided now.
    pub fn new(at: i64, reason: impl Into<String>, evidence: serde_json::Value) -> Self {
        Self {
            at,
            reason: reason.into(),
            evidence,
        }
    }
}

impl Store {
    /// Stores a new campaign or refreshes its report; returns the stored row.
    pub async fn upsert_campaign(
        &self,
        id: &str,
        detected_at: i64,
        report: &serde_json::Value,
        now_ms: i64,
        journal: &[Event],
    ) -> Result<StoredCampaign, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO campaigns (id, status, detected_at, updated_at, report) VALUES ($1, 'open', $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET report = excluded.report, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(detected_at)
        .bind(now_ms)
        .bind(report.to_string())
        .execute(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        let row = campaign_in(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NoCampaign(id.into()))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Records accounts the automatic response restricted (and restricts them), in one transaction.
    pub async fn restrict_for_campaign(
        &self,
        id: &str,
        accounts: &[String],
        cx: &AdminContext<'_>,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = campaign_in(&mut tx, id).await? else {
            return Err(StoreError::NoCampaign(id.into()));
        };
        let mut restricted = row.restricted;
        let mut changes = Vec::new();
        for user in accounts {
            if restricted.contains(user) {
                continue;
            }
            match set_user_flag(&mut tx, user, "restricted", true, cx, &mut changes).await {
                Ok(()) | Err(StoreError::NoUser(_)) => {}
                Err(e) => return Err(e),
            }
            restricted.push(user.clone());
        }
        sqlx::query("UPDATE campaigns SET restricted = $1 WHERE id = $2")
            .bind(serde_json::to_string(&restricted).unwrap_or_else(|_| "[]".into()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, &changes).await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// Marks a campaign a false positive and undoes the automatic response: its restricted
    /// accounts are unrestricted and its domains' throttles lifted. One transaction.
    pub async fn dismiss_campaign(
        &self,
        id: &str,
        domains: &[String],
        cx: &AdminContext<'_>,
        dry_run: bool,
    ) -> Result<Vec<Event>, StoreError> {
        let mut tx = self.write_tx().await?;
        let Some(row) = campaign_in(&mut tx, id).await? else {
            return Err(StoreError::NoCampaign(id.into()));
        };
        let mut changes = Vec::new();
        for user in &row.restricted {
            match set_user_flag(&mut tx, user, "restricted", false, cx, &mut changes).await {
                Ok(()) | Err(StoreError::NoUser(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for domain in domains {
            sqlx::query("DELETE FROM domain_throttles WHERE domain = $1")
                .bind(domain)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE campaigns SET status = 'dismissed', updated_at = $1 WHERE id = $2")
            .bind(cx.time_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        changes.push(admin_event(
            "campaign.dismiss",
            None,
            cx,
            json!({ "campaign": id }),
        ));
        if dry_run {
            tx.rollback().await?;
        } else {
            append(&mut tx, &changes).await?;
            tx.commit().await?;
        }
        Ok(changes)
    }

    /// One campaign.
    pub async fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = campaign_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every campaign, newest first.
    pub async fn campaigns(&self) -> Result<Vec<StoredCampaign>, StoreError> {
        let rows = sqlx::query("SELECT * FROM campaigns ORDER BY detected_at DESC, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(campaign_from_row).collect())
    }

    /// Holds a domain's registrations to `per_hour` until `until`.
    pub async fn throttle_domain(
        &self,
        domain: &str,
        until: i64,
        per_hour: u32,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO domain_throttles (domain, until, per_hour, reason) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (domain) DO UPDATE SET until = excluded.until, per_hour = excluded.per_hour, \
             reason = excluded.reason",
        )
        .bind(domain)
        .bind(until)
        .bind(i64::from(per_hour))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The throttle in force for a domain at `now_ms`: `(per_hour, reason)`.
    pub async fn domain_throttle(
        &self,
        domain: &str,
        now_ms: i64,
    ) -> Result<Option<(u32, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT per_hour, reason FROM domain_throttles WHERE domain = $1 AND until > $2",
        )
        .bind(domain)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            (
                u32::try_from(r.get::<i64, _>("per_hour")).unwrap_or(0),
                r.get("reason"),
            )
        }))
    }

    /// Journal events with ids above `after_id`, oldest first, at most `limit`: `(id, event)`.
    pub async fn events_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, time, kind, user_name, ip, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let data: String = r.get("data");
                (
                    r.get("id"),
                    Event {
                        time_ms: r.get("time"),
                        kind: r.get("kind"),
                        user: r.get("user_name"),
                        ip: r.get("ip"),
                        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                    },
                )
            })
            .collect())
    }
}

fn campaign_from_row(r: &AnyRow) -> StoredCampaign {
    StoredCampaign {
        id: r.get("id"),
        status: r.get("status"),
        detected_at: r.get("detected_at"),
        updated_at: r.get("updated_at"),
        report: serde_json::from_str(&r.get::<String, _>("report")).unwrap_or_default(),
        restricted: serde_json::from_str(&r.get::<String, _>("restricted")).unwrap_or_default(),
    }
}

async fn campaign_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
) -> Result<Option<StoredCampaign>, StoreError> {
    Ok(sqlx::query("SELECT * FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(campaign_from_row))
}
