//! Project management over the authenticated JSON API: yank/unyank, remove a file, release or
//! project, add/remove owners. Owners (with a session or a token scoped to the project) and site
//! admins (a session opened with 2FA) may act; every action is journaled. Changing who owns a
//! project takes a session or an account-wide token: a project-scoped token (a CI credential)
//! can't add owners, so a leaked one can't be turned into lasting access.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use picket_store::Event;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Actor, actor};
use crate::error::ApiError;
use crate::{AppState, ClientIp, now_ms};

/// Like [`authorize`], for owner changes: refuses project-scoped tokens.
async fn authorize_owner_change(
    state: &AppState,
    headers: &HeaderMap,
    project: &str,
) -> Result<Actor, ApiError> {
    let actor = authorize(state, headers, project).await?;
    if actor.is_project_scoped() {
        return Err(ApiError::forbidden(
            "A project-scoped token can't change a project's owners; use a login session or an account-wide token.",
        )
        .json());
    }
    Ok(actor)
}

/// The actor, when it may manage `project`: an owner (a token must be valid for the project)
/// or a site admin. Also answers with the project.
pub(crate) async fn authorize_project(
    state: &AppState,
    headers: &HeaderMap,
    project: &str,
) -> Result<(Actor, picket_store::Project), ApiError> {
    let actor = actor(state, headers).await.map_err(ApiError::json)?;
    let p = project_for(state, &actor, project).await?;
    Ok((actor, p))
}

/// The project, when `actor` may manage it: an owner (a token must be valid for the project) or a
/// site admin.
pub(crate) async fn project_for(
    state: &AppState,
    actor: &Actor,
    project: &str,
) -> Result<picket_store::Project, ApiError> {
    let Some(p) = state.store.project(project).await? else {
        return Err(ApiError::not_found(format!("No project named `{project}`.")).json());
    };
    if let Some(token) = &actor.token
        && !token.scope.allows(&p.normalized)
    {
        return Err(ApiError::forbidden(format!(
            "This token is not valid for project `{}`.",
            p.name
        ))
        .json());
    }
    if !actor.is_site_admin() && !state.store.is_owner(&p.normalized, actor.user.id).await? {
        return Err(ApiError::forbidden(format!(
            "`{}` isn't an owner of `{}`.",
            actor.user.username, p.name
        ))
        .json());
    }
    Ok(p)
}

async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    project: &str,
) -> Result<Actor, ApiError> {
    Ok(authorize_project(state, headers, project).await?.0)
}

fn event(kind: &str, actor: &Actor, ip: Option<&str>, mut data: Value) -> Event {
    if actor.is_site_admin() {
        data["actor"] = actor.user.username.clone().into();
    }
    Event::new(kind, now_ms(), Some(&actor.user.username), ip, data)
}

/// `{"reason"}`.
#[derive(Debug, Default, Deserialize)]
pub struct Reason {
    #[serde(default)]
    reason: Option<String>,
}

fn reason(body: &[u8]) -> Result<Reason, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Reason::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Expected {{\"reason\": \"…\"}}: {e}")).json())
}

/// `POST /api/v1/projects/{project}/releases/{version}/yank`.
pub async fn yank(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((project, version)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    set_yanked(&state, ip, &headers, &project, &version, true, &body).await
}

/// `POST /api/v1/projects/{project}/releases/{version}/unyank`.
pub async fn unyank(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((project, version)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    set_yanked(&state, ip, &headers, &project, &version, false, &body).await
}

async fn set_yanked(
    state: &AppState,
    ip: Option<String>,
    headers: &HeaderMap,
    project: &str,
    version: &str,
    yanked: bool,
    body: &[u8],
) -> Result<Json<Value>, ApiError> {
    let actor = authorize(state, headers, project).await?;
    let reason = reason(body)?.reason;
    set_yanked_by(
        state,
        &actor,
        ip.as_deref(),
        project,
        version,
        yanked,
        reason,
    )
    .await
}

/// Yanks (or restores) a release as `actor`, who may manage the project.
pub(crate) async fn set_yanked_by(
    state: &AppState,
    actor: &Actor,
    ip: Option<&str>,
    project: &str,
    version: &str,
    yanked: bool,
    reason: Option<String>,
) -> Result<Json<Value>, ApiError> {
    project_for(state, actor, project).await?;
    let kind = if yanked {
        "release.yank"
    } else {
        "release.unyank"
    };
    let e = event(
        kind,
        actor,
        ip,
        json!({ "project": project, "version": version, "reason": reason }),
    );
    state
        .store
        .set_yanked(project, version, yanked, reason.as_deref(), &[e])
        .await
        .map_err(|e| ApiError::from(e).json())?;
    state.pages.invalidate(&picket_formats::normalize(project));
    Ok(Json(
        json!({ "project": project, "version": version, "yanked": yanked, "reason": reason }),
    ))
}

/// What an owner removes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Removing<'a> {
    /// The whole project.
    Project,
    /// One release and its files.
    Release(&'a str),
    /// One file.
    File(&'a str),
}

/// Removes a project, a release or a file as `actor`, who may manage the project; journaled
/// (`project.remove`, `release.remove`, `file.remove`). The JSON API and the owner's page share it.
pub(crate) async fn remove_by(
    state: &AppState,
    actor: &Actor,
    ip: Option<&str>,
    project: &str,
    what: Removing<'_>,
) -> Result<picket_store::Removal, ApiError> {
    project_for(state, actor, project).await?;
    let (kind, data) = match what {
        Removing::Project => (
            "project.remove",
            json!({ "project": project, "reason": "removed by owner" }),
        ),
        Removing::Release(version) => (
            "release.remove",
            json!({ "project": project, "version": version }),
        ),
        Removing::File(filename) => (
            "file.remove",
            json!({ "project": project, "filename": filename }),
        ),
    };
    let e = [event(kind, actor, ip, data)];
    let removal = match what {
        Removing::Project => state.store.remove_project(project, &e).await,
        Removing::Release(version) => state.store.remove_release(project, version, &e).await,
        Removing::File(filename) => state.store.remove_file(project, filename, &e).await,
    }?;
    state.pages.invalidate(&picket_formats::normalize(project));
    Ok(removal)
}

async fn remove(
    state: &AppState,
    ip: Option<String>,
    headers: &HeaderMap,
    project: &str,
    what: Removing<'_>,
) -> Result<Json<Value>, ApiError> {
    let actor = authorize(state, headers, project).await?;
    let removal = remove_by(state, &actor, ip.as_deref(), project, what)
        .await
        .map_err(ApiError::json)?;
    Ok(Json(json!({ "removed": removal })))
}

/// `DELETE /api/v1/projects/{project}/releases/{version}`.
pub async fn remove_release(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((project, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    remove(&state, ip, &headers, &project, Removing::Release(&version)).await
}

/// `DELETE /api/v1/projects/{project}/files/{filename}`.
pub async fn remove_file(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((project, filename)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    remove(&state, ip, &headers, &project, Removing::File(&filename)).await
}

/// `DELETE /api/v1/projects/{project}`.
pub async fn remove_project(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    remove(&state, ip, &headers, &project, Removing::Project).await
}

/// `{"status", "reason"?}` (the owner's page posts the same fields).
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) reason: String,
}

/// `POST /api/v1/projects/{project}/status` `{"status": "archived"|"deprecated"|"active",
/// "reason"?}`: the project's PEP 792 status, set by an owner.
pub async fn set_status(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = authorize(&state, &headers, &project).await?;
    let form: StatusForm = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Expected {{\"status\": \"archived\", \"reason\": \"…\"}}: {e}"
        ))
        .json()
    })?;
    set_status_by(
        &state,
        &actor,
        ip.as_deref(),
        &project,
        &form.status,
        &form.reason,
    )
    .await
    .map_err(ApiError::json)?;
    Ok(Json(
        json!({ "project": project, "status": form.status, "reason": form.reason.trim() }),
    ))
}

/// Longest status reason kept.
const MAX_STATUS_REASON: usize = 500;

/// Sets a project's PEP 792 status as `actor`, who may manage it: `archived` (no new uploads,
/// files still served), `deprecated`, or `active`; `quarantined` is the administrators' (400).
pub(crate) async fn set_status_by(
    state: &AppState,
    actor: &Actor,
    ip: Option<&str>,
    project: &str,
    status: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let p = project_for(state, actor, project).await?;
    let status = match status.trim() {
        "active" => None,
        s @ ("archived" | "deprecated") => Some(s),
        other => {
            return Err(ApiError::bad_request(format!(
                "Unknown project status `{other}`: active, archived or deprecated (quarantine is for administrators)."
            )));
        }
    };
    let reason = reason.trim();
    if reason.chars().count() > MAX_STATUS_REASON || reason.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "The reason must be one line of at most {MAX_STATUS_REASON} characters."
        )));
    }
    let e = event(
        "project.status",
        actor,
        ip,
        json!({ "project": p.normalized, "status": status.unwrap_or("active"), "reason": reason }),
    );
    state
        .store
        .set_project_status(&p.normalized, status, reason, &[e])
        .await?;
    state.pages.invalidate(&p.normalized);
    Ok(())
}

/// `GET /api/v1/projects/{project}/owners`.
pub async fn owners(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    authorize(&state, &headers, &project).await?;
    Ok(Json(
        json!({ "owners": state.store.owners(&project).await? }),
    ))
}

/// `{"username"}`.
#[derive(Debug, Deserialize)]
pub struct Owner {
    username: String,
}

/// `POST /api/v1/projects/{project}/owners`.
pub async fn add_owner(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(project): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let actor = authorize_owner_change(&state, &headers, &project).await?;
    let owner: Owner = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("Expected {{\"username\": \"…\"}}: {e}")).json()
    })?;
    let owners = change_owner(
        &state,
        &actor,
        ip.as_deref(),
        &project,
        &owner.username,
        true,
    )
    .await
    .map_err(ApiError::json)?;
    Ok(Json(json!({ "owners": owners })))
}

/// `DELETE /api/v1/projects/{project}/owners/{username}`.
pub async fn remove_owner(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((project, username)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let actor = authorize_owner_change(&state, &headers, &project).await?;
    let owners = change_owner(&state, &actor, ip.as_deref(), &project, &username, false)
        .await
        .map_err(ApiError::json)?;
    Ok(Json(json!({ "owners": owners })))
}

/// Adds (or removes) an owner as `actor`, who may manage the project with a credential that is not
/// project-scoped; answers the owners after the change.
pub(crate) async fn change_owner(
    state: &AppState,
    actor: &Actor,
    ip: Option<&str>,
    project: &str,
    username: &str,
    add: bool,
) -> Result<Vec<String>, ApiError> {
    project_for(state, actor, project).await?;
    if actor.is_project_scoped() {
        return Err(ApiError::forbidden(
            "A project-scoped token can't change a project's owners; use a login session or an account-wide token.",
        ));
    }
    let kind = if add {
        "project.owner.add"
    } else {
        "project.owner.remove"
    };
    let e = event(
        kind,
        actor,
        ip,
        json!({ "project": project, "owner": username }),
    );
    if add {
        state.store.add_owner(project, username, &[e]).await?;
    } else {
        state.store.remove_owner(project, username, &[e]).await?;
    }
    Ok(state.store.owners(project).await?)
}
