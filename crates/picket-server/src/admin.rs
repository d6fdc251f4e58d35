//! The admin JSON API (site administrators, logged-in session or token) and the owners' view of
//! why a project is held back.
//!
//! `POST /api/v1/admin/actions` takes one bulk action —
//! `{"action": "disable-user"|"enable-user"|"restrict-user"|"unrestrict-user"|"nuke-user"|"restore-user", "user"}`
//! (or `"users": [..]`), `{"action": "quarantine"|"release", "projects": [..]}`,
//! `{"action": "remove-project", "project" (or "projects"), "prohibit_name"?, "malicious"?}`,
//! `{"action": "prohibit-domain", "domain", "expires_days"?, "mx"?}`, `{"action": "allow-domain", "domain"}` —
//! always with `"reason"`, optionally `"dry_run": true`, and answers the journal entries it made
//! (or would make). Each action is one transaction. `GET /api/v1/admin/audit?since=MS`
//! lists the journal of admin actions (`since` in milliseconds since the epoch).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use picket_store::{AdminAction, AdminContext, Event};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::actor;
use crate::error::ApiError;
use crate::{AppState, now_ms};

/// One admin request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    action: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    users: Option<Vec<String>>,
    #[serde(default)]
    projects: Option<Vec<String>>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default)]
    prohibit_name: bool,
    #[serde(default)]
    malicious: bool,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    expires_days: Option<u32>,
    #[serde(default)]
    mx: bool,
    reason: String,
    #[serde(default)]
    dry_run: bool,
}

impl ActionRequest {
    /// `prohibit-domain` or `allow-domain` of `domain`, as the web console asks for it.
    pub(crate) fn domain(
        action: &str,
        domain: &str,
        reason: &str,
        expires_days: Option<u32>,
        mx: bool,
    ) -> Self {
        Self {
            action: action.to_owned(),
            user: None,
            users: None,
            projects: None,
            project: None,
            prohibit_name: false,
            malicious: false,
            domain: Some(domain.to_owned()),
            expires_days,
            mx,
            reason: reason.to_owned(),
            dry_run: false,
        }
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message).json()
}

/// Admin routes take only an administrator's login session opened with two-factor
/// authentication: never an API token, whatever its scope.
async fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let actor = actor(state, headers).await.map_err(ApiError::json)?;
    if !actor.user.is_admin {
        return Err(ApiError::forbidden(format!(
            "`{}` is not an administrator of this index.",
            actor.user.username
        ))
        .json());
    }
    if actor.token.is_some() {
        return Err(ApiError::forbidden(
            "Admin actions take a login session, not an API token: POST /api/v1/login with your password and two-factor code, and send the session (Bearer pks-…).",
        )
        .json());
    }
    if !actor.mfa_session {
        return Err(ApiError::forbidden(format!(
            "Admin actions need a session opened with two-factor authentication; `{}` logged in without a code. Enrol TOTP (POST /api/v1/account/2fa/totp) and log in again with it.",
            actor.user.username
        ))
        .json());
    }
    Ok(format!("api:{}", actor.user.username))
}

/// Parses a request into a store action (domain actions are handled apart).
pub fn parse_action(r: &ActionRequest) -> Result<AdminAction, ApiError> {
    let user = || {
        let mut all: Vec<String> = r.users.clone().unwrap_or_default();
        all.extend(r.user.clone());
        if all.is_empty() || all.iter().any(|u| u.trim().is_empty()) {
            return Err(bad(format!(
                "`{}` needs \"user\" (or \"users\": a list).",
                r.action
            )));
        }
        Ok(all)
    };
    let projects = || {
        r.projects
            .clone()
            .filter(|p| !p.is_empty() && p.iter().all(|n| !n.trim().is_empty()))
            .ok_or_else(|| {
                bad(format!(
                    "`{}` needs \"projects\": a non-empty list of names.",
                    r.action
                ))
            })
    };
    Ok(match r.action.as_str() {
        "disable-user" => AdminAction::DisableUser(user()?),
        "enable-user" => AdminAction::EnableUser(user()?),
        "restrict-user" => AdminAction::RestrictUser(user()?),
        "unrestrict-user" => AdminAction::UnrestrictUser(user()?),
        "nuke-user" => AdminAction::NukeUser(user()?),
        "restore-user" => AdminAction::RestoreUser(user()?),
        "quarantine" => AdminAction::Quarantine(projects()?),
        "release" => AdminAction::Release(projects()?),
        "remove-project" => AdminAction::RemoveProject {
            projects: match (&r.project, &r.projects) {
                (Some(p), None) if !p.trim().is_empty() => vec![p.clone()],
                (None, Some(_)) => projects()?,
                _ => {
                    return Err(bad(
                        "`remove-project` needs \"project\" (or \"projects\": a list).",
                    ));
                }
            },
            prohibit_name: r.prohibit_name,
            malicious: r.malicious,
        },
        other => {
            return Err(bad(format!(
                "Unknown action `{other}`; one of disable-user, enable-user, restrict-user, unrestrict-user, nuke-user, quarantine, release, remove-project, prohibit-domain, allow-domain."
            )));
        }
    })
}

/// The domains a campaign's report proposes to prohibit (its sign-up bursts).
pub fn campaign_domains(row: &picket_store::StoredCampaign) -> Vec<String> {
    row.report["actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["action"] == "prohibit-domain")
                .filter_map(|x| x["subject"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The strings of a JSON array (a campaign report's accounts or projects); nothing else counts.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// How long applying a campaign prohibits its domains.
pub const CAMPAIGN_PROHIBITION_MS: i64 = 14 * 86_400_000;

/// The bulk action that applies a campaign: its accounts disabled, its projects quarantined, its
/// domains prohibited for [`CAMPAIGN_PROHIBITION_MS`] (`picket admin campaign apply` and the
/// admin console run this one).
pub fn campaign_apply_action(row: &picket_store::StoredCampaign) -> AdminAction {
    AdminAction::ApplyCampaign {
        id: row.id.clone(),
        accounts: strings(&row.report["accounts"]),
        projects: strings(&row.report["projects"]),
        domains: campaign_domains(row),
        expires_ms: CAMPAIGN_PROHIBITION_MS,
    }
}

/// `POST /api/v1/admin/actions`.
pub async fn action(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = require_admin(&state, &headers).await?;
    let r: ActionRequest =
        serde_json::from_slice(&body).map_err(|e| bad(format!("Invalid admin request: {e}")))?;
    if r.reason.trim().is_empty() {
        return Err(bad("Every admin action needs a \"reason\"."));
    }
    let now = now_ms();
    let changes = match r.action.as_str() {
        "prohibit-domain" | "allow-domain" => domain_action(&state, &r, &actor, now).await?,
        _ => {
            let action = parse_action(&r)?;
            let cx = AdminContext {
                actor: &actor,
                reason: &r.reason,
                time_ms: now,
            };
            state
                .store
                .admin(&action, &cx, r.dry_run)
                .await
                .map_err(|e| ApiError::from(e).json())?
        }
    };
    if !r.dry_run && !changes.is_empty() {
        state.pages.clear();
    }
    tracing::info!(%actor, action = %r.action, dry_run = r.dry_run, changes = changes.len(), "admin action");
    Ok(Json(json!({
        "action": r.action,
        "dry_run": r.dry_run,
        "changes": changes.iter().map(|e| serde_json::from_str::<Value>(&e.to_json_line()).unwrap_or(Value::Null)).collect::<Vec<_>>(),
    })))
}

pub(crate) async fn domain_action(
    state: &AppState,
    r: &ActionRequest,
    actor: &str,
    now: i64,
) -> Result<Vec<Event>, ApiError> {
    let domain = r
        .domain
        .as_deref()
        .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|d| d.contains('.') && !d.contains('@') && !d.contains(' '))
        .ok_or_else(|| {
            bad(format!(
                "`{}` needs \"domain\", like example.com.",
                r.action
            ))
        })?;
    let mut data = json!({ "domain": domain, "actor": actor, "reason": r.reason });
    if r.action == "prohibit-domain" {
        let expires_at = r
            .expires_days
            .map(|d| now + i64::from(d.max(1)) * 86_400_000);
        if let Some(t) = expires_at {
            data["expires"] = picket_store::rfc3339(t).into();
        }
        data["mx"] = r.mx.into();
        let event = Event::new("domain.prohibit", now, None, None, data);
        if !r.dry_run {
            state
                .store
                .prohibit_domain(
                    &picket_store::Prohibition {
                        domain,
                        reason: r.reason.clone(),
                        actor: actor.to_owned(),
                        created_at: now,
                        expires_at,
                        match_mx: r.mx,
                    },
                    std::slice::from_ref(&event),
                )
                .await?;
        }
        Ok(vec![event])
    } else {
        let event = Event::new("domain.allow", now, None, None, data);
        let exists = state
            .store
            .prohibitions()
            .await?
            .iter()
            .any(|p| p.domain == domain);
        if !exists {
            return Err(ApiError::not_found(format!("{domain} is not prohibited.")).json());
        }
        if !r.dry_run {
            state
                .store
                .allow_domain(&domain, std::slice::from_ref(&event))
                .await?;
        }
        Ok(vec![event])
    }
}

/// `?since=`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    since: Option<String>,
}

/// `GET /api/v1/admin/audit`.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&state, &headers).await?;
    let since = match q.since.as_deref() {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            bad(format!(
                "`since` must be milliseconds since the Unix epoch, not `{s}`."
            ))
        })?,
    };
    let events = state.store.audit(since).await?;
    Ok(Json(json!({
        "events": events.iter().map(|e| serde_json::from_str::<Value>(&e.to_json_line()).unwrap_or(Value::Null)).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/projects/{project}/status`: owners (and admins) see whether the project or any
/// release is quarantined, and why.
pub async fn project_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, p) = crate::manage::authorize_project(&state, &headers, &project).await?;
    let releases = state.store.all_releases(&p.normalized).await?;
    Ok(Json(json!({
        "project": p.name,
        "status": if p.quarantine.is_some() {
            "quarantined"
        } else {
            p.status.as_ref().map_or("active", |s| s.status.as_str())
        },
        "status_reason": p.status.as_ref().map(|s| s.reason.as_str()),
        "quarantine": p.quarantine,
        "releases": releases.iter().map(|r| json!({
            "version": r.version,
            "status": if r.quarantine.is_some() { "quarantined" } else { "active" },
            "quarantine": r.quarantine,
            // What reading the release's metadata warned about (a newer minor Metadata-Version).
            "warnings": r.metadata.get("warnings").cloned().unwrap_or_else(|| json!([])),
        })).collect::<Vec<_>>(),
    })))
}
