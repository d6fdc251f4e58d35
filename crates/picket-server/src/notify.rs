//! Mail about reports, sent from the journal: whoever acted — a reporter over HTTP, an admin with
//! `picket admin` in another process — the server reads the events each second and tells the
//! people concerned: admins of a new report, owners when their project is quarantined on
//! reports, confirmed malicious or restored, the reporter when a report is rejected. Reporters'
//! names are never sent to owners. The position read up to is kept in the store (`settings`),
//! so a restart neither loses nor repeats mail; the first start begins at the journal's end.

use std::collections::HashSet;
use std::fmt::Write as _;

use picket_store::Event;

use crate::mail::Mail;
use crate::{AppState, now_ms};

const CURSOR_KEY: &str = "notify-cursor";

/// Runs forever, one pass a second.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = pass(&state).await {
            tracing::warn!(error = %e, "report notifications");
        }
    }
}

async fn pass(state: &AppState) -> Result<(), String> {
    let store = &state.store;
    let cursor = match store.setting(CURSOR_KEY).await.map_err(|e| e.to_string())? {
        Some(c) => c.parse::<i64>().unwrap_or(0),
        None => {
            let end = store.last_event_id().await.map_err(|e| e.to_string())?;
            store
                .set_setting(CURSOR_KEY, &end.to_string())
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
    };
    let events = store
        .events_after(cursor, 500)
        .await
        .map_err(|e| e.to_string())?;
    let Some(last) = events.last().map(|(id, _)| *id) else {
        return Ok(());
    };
    let mut told = HashSet::new();
    for (_, event) in &events {
        for mail in mails_for(state, event, &mut told).await? {
            if let Err(e) = state.mailer.send(&mail, now_ms()).await {
                tracing::warn!(error = %e, to = %mail.to, "report mail not sent");
            }
        }
    }
    store
        .set_setting(CURSOR_KEY, &last.to_string())
        .await
        .map_err(|e| e.to_string())
}

async fn owner_addresses(state: &AppState, project: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for owner in state
        .store
        .owners(project)
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(user) = state.store.user(&owner).await.map_err(|e| e.to_string())?
            && user.email_verified
            && !user.disabled
        {
            out.push(user.email);
        }
    }
    Ok(out)
}

async fn admin_addresses(state: &AppState) -> Result<Vec<String>, String> {
    Ok(state
        .store
        .users()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|u| u.is_admin && !u.disabled)
        .map(|u| u.email)
        .collect())
}

/// The mail one event calls for; `told` keeps one mail per project and kind in a pass (a
/// confirmation closes all of a project's reports at once).
async fn mails_for(
    state: &AppState,
    event: &Event,
    told: &mut HashSet<(String, String)>,
) -> Result<Vec<Mail>, String> {
    let field = |k: &str| event.data[k].as_str().unwrap_or_default().to_owned();
    let project = field("project");
    let base = state.base_url();
    let (to, subject, body) = match event.kind.as_str() {
        "report.create" => {
            let mut cohorts = String::new();
            for c in event.data["campaigns"].as_array().into_iter().flatten() {
                let _ = write!(
                    cohorts,
                    "\nIt is a member of campaign {} ({} of its projects reported so far).",
                    c["campaign"].as_str().unwrap_or_default(),
                    c["reported_projects"]
                );
            }
            (
                admin_addresses(state).await?,
                format!("[picket] report {} on {project}", event.data["report"]),
                format!(
                    "{} reported {project} as {}.{cohorts}\nReview it with `picket admin reports list`.\n",
                    event.user.as_deref().unwrap_or("someone"),
                    field("report_kind")
                ),
            )
        }
        "report.quarantine" => {
            let mut to = owner_addresses(state, &project).await?;
            to.extend(admin_addresses(state).await?);
            (
                to,
                format!("[picket] {project} is quarantined after reports"),
                format!(
                    "{project} was reported as malicious and is quarantined until an administrator \
                     reviews the reports ({}): it can't be installed from {base} meanwhile.\n",
                    field("rule")
                ),
            )
        }
        "report.confirm" => (
            owner_addresses(state, &project).await?,
            format!("[picket] {project} was removed as malicious"),
            format!(
                "An administrator confirmed a report that {project} is malicious: {}.\n\
                 It stays off {base}, and OSV record {} names it.\n",
                field("reason"),
                field("record")
            ),
        ),
        "report.revert" => (
            owner_addresses(state, &project).await?,
            format!("[picket] {project} is restored"),
            format!(
                "An administrator reverted the decision that {project} is malicious: {}.\n\
                 It is installable from {base} again and its OSV record is withdrawn.\n",
                field("reason")
            ),
        ),
        "report.reject" => {
            let id = event.data["report"].as_i64().unwrap_or_default();
            let reporter = match state.store.report(id).await.map_err(|e| e.to_string())? {
                Some(r) => state
                    .store
                    .user(&r.reporter)
                    .await
                    .map_err(|e| e.to_string())?
                    .filter(|u| u.email_verified)
                    .map(|u| u.email),
                None => None,
            };
            (
                reporter.into_iter().collect(),
                format!("[picket] your report {id} on {project}"),
                format!(
                    "An administrator reviewed your report on {project} and found nothing to act on: {}.\n",
                    field("reason")
                ),
            )
        }
        _ => return Ok(Vec::new()),
    };
    if !told.insert((event.kind.clone(), project)) {
        return Ok(Vec::new());
    }
    Ok(to
        .into_iter()
        .map(|to| Mail {
            to,
            subject: subject.clone(),
            body: body.clone(),
        })
        .collect())
}
