//! The admin console: the quarantine queue, campaigns (with the CLI's dry run as the preview and
//! a confirm step) and users. Every change asks for a reason and a fresh TOTP code, and runs the
//! same store action as `POST /api/v1/admin/actions` and `picket admin`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use picket_store::{AdminAction, AdminContext, Event};
use serde::Deserialize;

use super::{Admin, Chrome, CsrfForm, HtmlError, WebResult, day, render, render_status};
use crate::AppState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/", get(dashboard))
        .route("/admin/quarantine/", get(quarantine).post(quarantine_act))
        .route("/admin/campaigns/", get(campaigns))
        .route("/admin/campaigns/{id}/", get(campaign))
        .route("/admin/campaigns/{id}/preview/", post(campaign_preview))
        .route("/admin/campaigns/{id}/confirm/", post(campaign_confirm))
        .route("/admin/users/", get(users).post(users_act))
        .route("/admin/users/preview/", post(users_preview))
        .route("/admin/domains/", get(domains).post(domains_act))
        .route("/admin/audit/", get(audit))
}

/// An admin's change: why, and a code from the authenticator app made for this change.
async fn confirm(
    state: &AppState,
    admin: &Admin,
    reason: &str,
    totp: &str,
) -> Result<String, ApiError> {
    if reason.trim().is_empty() {
        return Err(ApiError::bad_request("Every admin action needs a reason."));
    }
    let user = &admin.actor().user;
    let Some(secret) = &user.totp_secret else {
        return Err(ApiError::forbidden("Enrol TOTP first."));
    };
    crate::accounts::claim_totp(state, user.id, secret, totp.trim())
        .await
        .map_err(|e| {
            if e.status == StatusCode::UNAUTHORIZED {
                ApiError::forbidden(format!(
                    "{} Admin actions need a fresh code from your authenticator app.",
                    e.message
                ))
            } else {
                e
            }
        })?;
    Ok(format!("web:{}", user.username))
}

/// 200, or 403 when the page shows why an action was refused.
fn refused_if(error: &str) -> StatusCode {
    if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    }
}

/// A journal entry as a row of a preview or a result.
pub struct Change {
    kind: String,
    subject: String,
    detail: String,
}

fn changes(events: &[Event]) -> Vec<Change> {
    events
        .iter()
        .map(|e| {
            let mut detail = e.data.clone();
            if let Some(map) = detail.as_object_mut() {
                map.remove("actor");
                map.remove("reason");
            }
            let named = ["project", "user", "domain", "campaign"]
                .iter()
                .find_map(|k| detail.get(k).and_then(|v| v.as_str()).map(str::to_owned));
            Change {
                kind: e.kind.clone(),
                subject: e.user.clone().or(named).unwrap_or_default(),
                detail: match detail.as_object() {
                    Some(map) if !map.is_empty() => detail.to_string(),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    held: usize,
    open_campaigns: usize,
    users: usize,
}

async fn dashboard(State(state): State<AppState>, admin: Admin) -> WebResult {
    Ok(render(&Dashboard {
        chrome: Chrome::new(&admin.0, "Admin"),
        held: state.store.quarantine_queue().await?.len(),
        open_campaigns: state
            .store
            .campaigns()
            .await?
            .iter()
            .filter(|c| c.status == "open")
            .count(),
        users: state.store.users().await?.len(),
    }))
}

/// A held project or release.
pub struct HeldView {
    project: String,
    normalized: String,
    version: String,
    reason: String,
    date: String,
    evidence: String,
}

#[derive(Template)]
#[template(path = "admin/quarantine.html")]
struct QuarantinePage {
    chrome: Chrome,
    held: Vec<HeldView>,
    done: Vec<Change>,
    error: String,
    /// A removal's dry run: the projects chosen and the rows it would change.
    preview: Option<(Vec<String>, Vec<Change>)>,
}

async fn quarantine_page(
    state: &AppState,
    admin: &Admin,
    done: Vec<Change>,
    error: String,
) -> WebResult {
    quarantine_page_with(state, admin, done, error, None).await
}

async fn quarantine_page_with(
    state: &AppState,
    admin: &Admin,
    done: Vec<Change>,
    error: String,
    preview: Option<(Vec<String>, Vec<Change>)>,
) -> WebResult {
    let held = state
        .store
        .quarantine_queue()
        .await?
        .into_iter()
        .map(|h| HeldView {
            evidence: serde_json::to_string_pretty(&h.quarantine.evidence).unwrap_or_default(),
            reason: h.quarantine.reason,
            date: day(h.quarantine.at),
            version: h.version.unwrap_or_default(),
            project: h.project,
            normalized: h.normalized,
        })
        .collect();
    Ok(render_status(
        refused_if(&error),
        &QuarantinePage {
            chrome: Chrome::new(&admin.0, "Quarantine"),
            held,
            done,
            error,
            preview,
        },
    ))
}

async fn quarantine(State(state): State<AppState>, admin: Admin) -> WebResult {
    quarantine_page(&state, &admin, Vec::new(), String::new()).await
}

/// A queue decision: `project` (repeated: every checked box), `action` (`release` or `remove`),
/// `reason` and `totp`.
struct QuarantineForm {
    project: Vec<String>,
    action: String,
    reason: String,
    totp: String,
}

impl QuarantineForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self {
            project: Vec::new(),
            action: String::new(),
            reason: String::new(),
            totp: String::new(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "project" => form.project.push(value),
                "action" => form.action = value,
                "reason" => form.reason = value,
                "totp" => form.totp = value,
                _ => {}
            }
        }
        form
    }
}

/// Runs an admin action, or answers why not as a message for the page.
async fn run(
    state: &AppState,
    admin: &Admin,
    action: &AdminAction,
    reason: &str,
    totp: &str,
) -> Result<Result<Vec<Event>, String>, HtmlError> {
    let actor = match confirm(state, admin, reason, totp).await {
        Ok(actor) => actor,
        Err(e) if e.status.is_client_error() => return Ok(Err(e.message)),
        Err(e) => return Err(e.into()),
    };
    let cx = AdminContext {
        actor: &actor,
        reason: reason.trim(),
        time_ms: crate::now_ms(),
    };
    match state.store.admin(action, &cx, false).await {
        Ok(events) => {
            if !events.is_empty() {
                state.pages.clear();
            }
            tracing::info!(%actor, ?action, changes = events.len(), "admin action (web)");
            Ok(Ok(events))
        }
        Err(e) => {
            let e = ApiError::from(e);
            if e.status.is_client_error() {
                Ok(Err(e.message))
            } else {
                Err(e.into())
            }
        }
    }
}

async fn quarantine_act(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> WebResult {
    let form = QuarantineForm::from_pairs(pairs);
    let projects: Vec<String> = form
        .project
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect();
    if projects.is_empty() {
        return quarantine_page(
            &state,
            &admin,
            Vec::new(),
            "Choose at least one project.".into(),
        )
        .await;
    }
    let remove = |projects| AdminAction::RemoveProject {
        projects,
        prohibit_name: false,
        malicious: false,
    };
    let action = match form.action.as_str() {
        "release" => AdminAction::Release(projects),
        // The dry run of the removal (the CLI's --dry-run): no reason or code needed, nothing
        // changes; the page lists the rows and asks for both to confirm.
        "preview-remove" => {
            let actor = format!("web:{}", admin.actor().user.username);
            let cx = AdminContext {
                actor: &actor,
                reason: "preview",
                time_ms: crate::now_ms(),
            };
            let rows = match state
                .store
                .admin(&remove(projects.clone()), &cx, true)
                .await
            {
                Ok(events) => changes(&events),
                Err(e) => {
                    let e = ApiError::from(e);
                    if !e.status.is_client_error() {
                        return Err(e.into());
                    }
                    return quarantine_page(&state, &admin, Vec::new(), e.message).await;
                }
            };
            return quarantine_page_with(
                &state,
                &admin,
                Vec::new(),
                String::new(),
                Some((projects, rows)),
            )
            .await;
        }
        "remove" => remove(projects),
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown action `{other}`: release, preview-remove or remove."
            ))));
        }
    };
    match run(&state, &admin, &action, &form.reason, &form.totp).await? {
        Ok(events) => quarantine_page(&state, &admin, changes(&events), String::new()).await,
        Err(message) => quarantine_page(&state, &admin, Vec::new(), message).await,
    }
}

/// A campaign in the list.
pub struct CampaignRow {
    id: String,
    status: String,
    detected: String,
    confidence: String,
    accounts: usize,
    projects: usize,
}

/// A cohort the detector keeps on watch (no evidence of abuse, no action taken).
pub struct WatchRow {
    id: String,
    accounts: usize,
    reasons: String,
}

#[derive(Template)]
#[template(path = "admin/campaigns.html")]
struct CampaignsPage {
    chrome: Chrome,
    campaigns: Vec<CampaignRow>,
    watch: Vec<WatchRow>,
}

/// The live detector's watch list, as the leading instance stored it (any instance may answer
/// this page); none when it has not written one.
async fn watch_list(state: &AppState) -> Vec<WatchRow> {
    let Ok(Some(text)) = state.store.setting(crate::live::WATCH_SETTING).await else {
        return Vec::new();
    };
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    doc["watch"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| WatchRow {
            id: c["id"].as_str().unwrap_or_default().to_owned(),
            accounts: c["report"]["accounts"].as_array().map_or(0, Vec::len),
            reasons: crate::admin::strings(&c["report"]["reasons"]).join("; "),
        })
        .collect()
}

fn confidence(report: &serde_json::Value) -> f64 {
    report["confidence"].as_f64().unwrap_or(0.0)
}

async fn campaigns(State(state): State<AppState>, admin: Admin) -> WebResult {
    let mut list = state.store.campaigns().await?;
    list.sort_by(|a, b| {
        confidence(&b.report)
            .total_cmp(&confidence(&a.report))
            .then(b.detected_at.cmp(&a.detected_at))
    });
    Ok(render(&CampaignsPage {
        chrome: Chrome::new(&admin.0, "Campaigns"),
        campaigns: list
            .iter()
            .map(|c| CampaignRow {
                id: c.id.clone(),
                status: c.status.clone(),
                detected: day(c.detected_at),
                confidence: format!("{:.2}", confidence(&c.report)),
                accounts: c.report["accounts"].as_array().map_or(0, Vec::len),
                projects: c.report["projects"].as_array().map_or(0, Vec::len),
            })
            .collect(),
        watch: watch_list(&state).await,
    }))
}

/// A detector signal.
pub struct Signal {
    name: String,
    strength: String,
    evidence: String,
}

/// A day of the campaign's timeline, with bar widths in percent.
pub struct Day {
    date: String,
    accounts: u64,
    uploads: u64,
    accounts_pct: u64,
    uploads_pct: u64,
    /// The day's place in the SVG chart (its left edge).
    x: u64,
}

#[derive(Template)]
#[template(path = "admin/campaign.html")]
struct CampaignPage {
    chrome: Chrome,
    id: String,
    status: String,
    confidence: String,
    first_seen: String,
    accounts: Vec<String>,
    projects: Vec<String>,
    domains: Vec<String>,
    restricted: usize,
    signals: Vec<Signal>,
    timeline: Vec<Day>,
    /// The SVG chart's width.
    chart_width: u64,
    /// The dry run of `action`, when previewing.
    preview: Option<(String, Vec<Change>)>,
    done: Vec<Change>,
    error: String,
}

async fn campaign_page(
    state: &AppState,
    admin: &Admin,
    id: &str,
    preview: Option<(String, Vec<Change>)>,
    done: Vec<Change>,
    error: String,
) -> WebResult {
    let Some(row) = state.store.campaign(id).await? else {
        return Err(HtmlError(ApiError::not_found(format!(
            "No campaign `{id}`."
        ))));
    };
    let r = &row.report;
    let timeline_raw: Vec<(String, u64, u64)> = r["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["day"].as_str().unwrap_or_default().to_owned(),
                d["accounts"].as_u64().unwrap_or(0),
                d["uploads"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let most = timeline_raw
        .iter()
        .map(|d| d.1.max(d.2))
        .max()
        .unwrap_or(1)
        .max(1);
    Ok(render_status(
        refused_if(&error),
        &CampaignPage {
            chrome: Chrome::new(&admin.0, format!("Campaign {}", row.id)),
            status: row.status.clone(),
            confidence: format!("{:.2}", confidence(r)),
            first_seen: r["first_seen"].as_str().unwrap_or_default().to_owned(),
            accounts: crate::admin::strings(&r["accounts"]),
            projects: crate::admin::strings(&r["projects"]),
            domains: crate::admin::campaign_domains(&row),
            restricted: row.restricted.len(),
            signals: r["signals"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| Signal {
                    name: s["name"].as_str().unwrap_or_default().to_owned(),
                    strength: format!("{:.2}", s["strength"].as_f64().unwrap_or(0.0)),
                    evidence: s["evidence"].to_string(),
                })
                .collect(),
            timeline: timeline_raw
                .into_iter()
                .zip(0u64..)
                .map(|((date, accounts, uploads), i)| Day {
                    x: 40 + i * 28,
                    date,
                    accounts_pct: accounts * 100 / most,
                    uploads_pct: uploads * 100 / most,
                    accounts,
                    uploads,
                })
                .collect(),
            chart_width: 60
                + 28 * u64::try_from(r["timeline"].as_array().map_or(0, Vec::len)).unwrap_or(0),
            id: row.id,
            preview,
            done,
            error,
        },
    ))
}

async fn campaign(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> WebResult {
    campaign_page(&state, &admin, &id, None, Vec::new(), String::new()).await
}

/// `apply` or `dismiss`, and for the confirm step the reason and the code.
#[derive(Debug, Deserialize)]
struct CampaignForm {
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    totp: String,
}

/// The campaign decision's changes: a dry run (rolled back) or the real thing.
async fn decide(
    state: &AppState,
    id: &str,
    action: &str,
    cx: &AdminContext<'_>,
    dry_run: bool,
) -> Result<Vec<Event>, HtmlError> {
    let Some(row) = state.store.campaign(id).await? else {
        return Err(HtmlError(ApiError::not_found(format!(
            "No campaign `{id}`."
        ))));
    };
    Ok(match action {
        "apply" => {
            state
                .store
                .admin(&crate::admin::campaign_apply_action(&row), cx, dry_run)
                .await?
        }
        "dismiss" => {
            state
                .store
                .dismiss_campaign(id, &crate::admin::campaign_domains(&row), cx, dry_run)
                .await?
        }
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown action `{other}`: apply or dismiss."
            ))));
        }
    })
}

/// `POST /admin/campaigns/{id}/preview/`: the dry run `picket admin campaign apply --dry-run`
/// makes, row by row, with the confirm form.
async fn campaign_preview(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CampaignForm>,
) -> WebResult {
    let actor = format!("web:{}", admin.actor().user.username);
    let cx = AdminContext {
        actor: &actor,
        reason: "preview",
        time_ms: crate::now_ms(),
    };
    let events = decide(&state, &id, &form.action, &cx, true).await?;
    campaign_page(
        &state,
        &admin,
        &id,
        Some((form.action, changes(&events))),
        Vec::new(),
        String::new(),
    )
    .await
}

/// `POST /admin/campaigns/{id}/confirm/`: applies or dismisses, with a reason and a fresh code.
async fn campaign_confirm(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CampaignForm>,
) -> WebResult {
    let actor = match confirm(&state, &admin, &form.reason, &form.totp).await {
        Ok(actor) => actor,
        Err(e) if e.status.is_client_error() => {
            return campaign_page(&state, &admin, &id, None, Vec::new(), e.message).await;
        }
        Err(e) => return Err(e.into()),
    };
    let cx = AdminContext {
        actor: &actor,
        reason: form.reason.trim(),
        time_ms: crate::now_ms(),
    };
    let events = decide(&state, &id, &form.action, &cx, false).await?;
    state.pages.clear();
    tracing::info!(%actor, campaign = %id, action = %form.action, changes = events.len(), "campaign decided (web)");
    campaign_page(&state, &admin, &id, None, changes(&events), String::new()).await
}

/// An account in the admin list.
pub struct UserRow {
    username: String,
    email: String,
    joined: String,
    admin: bool,
    disabled: bool,
    restricted: bool,
    two_factor: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    chrome: Chrome,
    q: String,
    users: Vec<UserRow>,
    /// The dry run of nuking (or restoring) an account: the action, its name and the rows.
    preview: Option<(String, String, Vec<Change>)>,
    done: Vec<Change>,
    error: String,
}

/// `?q=`.
#[derive(Debug, Deserialize)]
struct UserQuery {
    #[serde(default)]
    q: String,
}

async fn users_page(
    state: &AppState,
    admin: &Admin,
    q: String,
    done: Vec<Change>,
    error: String,
) -> WebResult {
    users_page_with(state, admin, q, None, done, error).await
}

async fn users_page_with(
    state: &AppState,
    admin: &Admin,
    q: String,
    preview: Option<(String, String, Vec<Change>)>,
    done: Vec<Change>,
    error: String,
) -> WebResult {
    let users = state
        .store
        .search_users(q.trim(), 200)
        .await?
        .into_iter()
        .map(|u| UserRow {
            two_factor: u.has_2fa(),
            joined: day(u.created_at),
            admin: u.is_admin,
            disabled: u.disabled,
            restricted: u.restricted,
            username: u.username,
            email: u.email,
        })
        .collect();
    Ok(render_status(
        refused_if(&error),
        &UsersPage {
            chrome: Chrome::new(&admin.0, "Users"),
            q,
            users,
            preview,
            done,
            error,
        },
    ))
}

async fn users(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<UserQuery>,
) -> WebResult {
    users_page(&state, &admin, q.q, Vec::new(), String::new()).await
}

/// A user decision.
#[derive(Debug, Deserialize)]
struct UserForm {
    username: String,
    /// `restrict-user`, `unrestrict-user`, `disable-user` or `enable-user`.
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    q: String,
}

async fn users_act(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<UserForm>,
) -> WebResult {
    let who = vec![form.username.clone()];
    let action = match form.action.as_str() {
        "restrict-user" => AdminAction::RestrictUser(who),
        "unrestrict-user" => AdminAction::UnrestrictUser(who),
        "disable-user" => AdminAction::DisableUser(who),
        "enable-user" => AdminAction::EnableUser(who),
        "nuke-user" => AdminAction::NukeUser(who),
        "restore-user" => AdminAction::RestoreUser(who),
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown action `{other}`."
            ))));
        }
    };
    match run(&state, &admin, &action, &form.reason, &form.totp).await? {
        Ok(events) => users_page(&state, &admin, form.q, changes(&events), String::new()).await,
        Err(message) => users_page(&state, &admin, form.q, Vec::new(), message).await,
    }
}

/// `{username, action}` for the preview.
#[derive(Debug, Deserialize)]
struct NukeForm {
    username: String,
    /// `nuke-user` (the default) or `restore-user`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    q: String,
}

/// `POST /admin/users/preview/`: what nuking an account would do (disable it, quarantine every
/// project it owns), or restoring it (enable, unrestrict, release what an admin action
/// quarantined), the store's dry run row by row, with the confirm form.
async fn users_preview(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<NukeForm>,
) -> WebResult {
    let actor = format!("web:{}", admin.actor().user.username);
    let cx = AdminContext {
        actor: &actor,
        reason: "preview",
        time_ms: crate::now_ms(),
    };
    let who = vec![form.username.clone()];
    let (action, verb) = match form.action.as_str() {
        "" | "nuke-user" => (AdminAction::NukeUser(who), "nuke-user"),
        "restore-user" => (AdminAction::RestoreUser(who), "restore-user"),
        other => {
            return Err(HtmlError(ApiError::bad_request(format!(
                "Unknown action `{other}`: nuke-user or restore-user."
            ))));
        }
    };
    let events = state.store.admin(&action, &cx, true).await?;
    users_page_with(
        &state,
        &admin,
        form.q,
        Some((verb.to_owned(), form.username, changes(&events))),
        Vec::new(),
        String::new(),
    )
    .await
}

/// A prohibited domain.
pub struct DomainRow {
    domain: String,
    reason: String,
    actor: String,
    since: String,
    expires: String,
    mx: bool,
}

#[derive(Template)]
#[template(path = "admin/domains.html")]
struct DomainsPage {
    chrome: Chrome,
    domains: Vec<DomainRow>,
    done: Vec<Change>,
    error: String,
}

async fn domains_page(
    state: &AppState,
    admin: &Admin,
    done: Vec<Change>,
    error: String,
) -> WebResult {
    let domains = state
        .store
        .prohibitions()
        .await?
        .into_iter()
        .map(|p| DomainRow {
            since: day(p.created_at),
            expires: p.expires_at.map_or_else(|| "never".to_owned(), day),
            domain: p.domain,
            reason: p.reason,
            actor: p.actor,
            mx: p.match_mx,
        })
        .collect();
    Ok(render_status(
        refused_if(&error),
        &DomainsPage {
            chrome: Chrome::new(&admin.0, "E-mail domains"),
            domains,
            done,
            error,
        },
    ))
}

async fn domains(State(state): State<AppState>, admin: Admin) -> WebResult {
    domains_page(&state, &admin, Vec::new(), String::new()).await
}

/// A domain decision.
#[derive(Debug, Deserialize)]
struct DomainForm {
    domain: String,
    /// `prohibit-domain` or `allow-domain`.
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    totp: String,
    /// Days until the prohibition lapses; empty: never.
    #[serde(default)]
    expires_days: String,
    /// `on` when the mail servers are matched too.
    #[serde(default)]
    mx: Option<String>,
}

/// `POST /admin/domains/`: the admin API's `prohibit-domain` / `allow-domain`.
async fn domains_act(
    State(state): State<AppState>,
    admin: Admin,
    CsrfForm(form): CsrfForm<DomainForm>,
) -> WebResult {
    if !matches!(form.action.as_str(), "prohibit-domain" | "allow-domain") {
        return Err(HtmlError(ApiError::bad_request(format!(
            "Unknown action `{}`.",
            form.action
        ))));
    }
    let expires_days = match form.expires_days.trim() {
        "" => None,
        days => Some(days.parse::<u32>().map_err(|_| {
            HtmlError(ApiError::bad_request(format!(
                "`{days}` is not a number of days."
            )))
        })?),
    };
    let actor = match confirm(&state, &admin, &form.reason, &form.totp).await {
        Ok(actor) => actor,
        Err(e) if e.status.is_client_error() => {
            return domains_page(&state, &admin, Vec::new(), e.message).await;
        }
        Err(e) => return Err(e.into()),
    };
    let request = crate::admin::ActionRequest::domain(
        &form.action,
        &form.domain,
        form.reason.trim(),
        expires_days,
        form.mx.is_some(),
    );
    match crate::admin::domain_action(&state, &request, &actor, crate::now_ms()).await {
        Ok(events) => domains_page(&state, &admin, changes(&events), String::new()).await,
        Err(e) if e.status.is_client_error() => {
            domains_page(&state, &admin, Vec::new(), e.message).await
        }
        Err(e) => Err(e.into()),
    }
}

/// An entry of the admin journal.
pub struct AuditRow {
    time: String,
    kind: String,
    actor: String,
    subject: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    kind: String,
    actor: String,
    days: String,
    rows: Vec<AuditRow>,
}

/// `?kind=&actor=&days=`.
#[derive(Debug, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    days: String,
}

/// `GET /admin/audit/`: the admin journal (what `picket admin audit` lists), newest first,
/// filtered by kind (a prefix such as `account.`), actor and age.
async fn audit(
    State(state): State<AppState>,
    admin: Admin,
    Query(q): Query<AuditQuery>,
) -> WebResult {
    let days: i64 = match q.days.trim() {
        "" => 30,
        d => d.parse().map_err(|_| {
            HtmlError(ApiError::bad_request(format!(
                "`{d}` is not a number of days."
            )))
        })?,
    };
    let since = crate::now_ms() - days.clamp(0, 36_500) * 86_400_000;
    let kind = q.kind.trim().to_owned();
    let actor = q.actor.trim().to_owned();
    let mut rows: Vec<AuditRow> = state
        .store
        .audit(since)
        .await?
        .into_iter()
        .filter(|e| kind.is_empty() || e.kind.starts_with(&kind))
        .filter(|e| {
            actor.is_empty()
                || e.data
                    .get("actor")
                    .and_then(|a| a.as_str())
                    .is_some_and(|a| a.contains(&actor))
        })
        .map(|e| {
            let text = |k: &str| {
                e.data
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let change = changes(std::slice::from_ref(&e)).remove(0);
            AuditRow {
                time: picket_store::rfc3339(e.time_ms),
                actor: text("actor"),
                reason: text("reason"),
                subject: change.subject,
                kind: change.kind,
            }
        })
        .collect();
    rows.reverse();
    rows.truncate(1000);
    Ok(render(&AuditPage {
        chrome: Chrome::new(&admin.0, "Audit log"),
        kind,
        actor,
        days: days.to_string(),
        rows,
    }))
}
