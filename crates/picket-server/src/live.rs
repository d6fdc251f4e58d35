//! The live campaign detector: the registry feeds its own journal to [`picket_campaigns`] as it
//! grows (polled each second; on start the whole journal is replayed so restarts lose nothing)
//! and answers an alert — a campaign — the moment it crosses the threshold:
//!
//! - member accounts are restricted — their next uploads are quarantined on arrival;
//! - registrations from the campaign's burst domains are throttled (`campaign-throttle-hours`, one
//!   an hour);
//! - admins are told: a mail to every admin account (outbox or SMTP) and, with
//!   `campaign-webhook`, a JSON POST (signed with `campaign-webhook-secret`, when set, as
//!   `X-Picket-Signature-256: sha256=HEX`, the HMAC-SHA256 of the body).
//!
//! Campaigns are stored (`picket admin campaigns`); `apply` and `dismiss` are the admin's answer.
//! Cohorts on watch (worth a look, no evidence of abuse: a company onboarding its staff by
//! script, strangers reserving names) get no response at all: they are kept apart, in the store
//! (for the admin console of every instance) and in `DATA_DIR/campaign-watch.json` (rewritten
//! when the list changes), and logged once each.
//!
//! One instance of a registry runs this ([`crate::leader`]).

use picket_campaigns::{Config as DetectorConfig, Detector, NameJudge, parse_line};
use picket_store::{AdminContext, Event};
use serde_json::json;

use crate::{AppState, now_ms};

/// The watch list's file name in the data directory.
pub const WATCH_FILE: &str = "campaign-watch.json";

/// The watch list's key in the store's settings (what the admin console of any instance shows).
pub const WATCH_SETTING: &str = "campaign-watch";

/// A campaign's stable id: the day of its first member and that member.
pub fn stable_id(c: &picket_campaigns::Campaign) -> String {
    let day = c.first_seen.get(..10).unwrap_or("unknown");
    let first = c.accounts.first().map_or("empty", String::as_str);
    format!("{day}-{first}")
}

/// The detector's thresholds from `campaign-config` (checked at start, see [`check_config`]).
fn detector_config(path: Option<&str>) -> DetectorConfig {
    path.and_then(|p| check_config(p).ok()).unwrap_or_default()
}

/// Reads a detector configuration file: a clear error for a missing file or a bad key.
pub fn check_config(path: &str) -> Result<DetectorConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("campaign-config {path}: {e}"))?;
    toml::from_str(&text).map_err(|e| {
        format!(
            "campaign-config {path}: {}",
            e.to_string().trim_end().replace('\n', " ")
        )
    })
}

/// Runs until the process ends; the watch list goes to `watch_file`.
pub async fn run(state: AppState, watch_file: std::path::PathBuf) {
    let config = DetectorConfig {
        warmup_hours: state.config.campaign_warmup_hours,
        ..detector_config(state.config.campaign_config.as_deref())
    };
    let min_confidence = config.bait_min_confidence;
    let judge = NameJudge::with_detector(state.knowledge.squats(), min_confidence);
    let mut detector = Detector::new(config, judge);
    let mut last_id = 0i64;
    let mut watched = Vec::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let mut fed = false;
        loop {
            let batch = match state.store.events_after(last_id, 10_000).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the journal for the detector");
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            for (id, event) in &batch {
                last_id = *id;
                let line = event.to_json_line();
                if let Ok(Some((time, e))) = parse_line(line.as_bytes()) {
                    detector.observe(time, &e);
                    fed = true;
                }
            }
        }
        if fed && let Err(e) = respond(&state, &mut detector).await {
            tracing::warn!(error = %e, "answering a campaign");
        }
        if fed {
            keep_watch(&state, &mut detector, &mut watched, &watch_file).await;
        }
    }
}

/// Writes the watch list when it changed (a new cohort, or one that grew); logs new cohorts.
async fn keep_watch(
    state: &AppState,
    detector: &mut Detector,
    watched: &mut Vec<(String, usize)>,
    watch_file: &std::path::Path,
) {
    let watch = detector.watch();
    let now: Vec<(String, usize)> = watch
        .iter()
        .map(|c| (stable_id(c), c.accounts.len()))
        .collect();
    if now == *watched {
        return;
    }
    for (c, (id, _)) in watch.iter().zip(&now) {
        if !watched.iter().any(|(w, _)| w == id) {
            tracing::info!(cohort = %id, accounts = c.accounts.len(), reasons = %c.reasons.join("; "), "cohort on watch (no action)");
        }
    }
    *watched = now;
    let body = json!({ "watch": watch.iter().map(|c| json!({ "id": stable_id(c), "report": c })).collect::<Vec<_>>() });
    // In the store for every instance's admin console; in the data directory for operators.
    if let Err(e) = state
        .store
        .set_setting(WATCH_SETTING, &body.to_string())
        .await
    {
        tracing::warn!(error = %e, "storing the watch list");
    }
    let tmp = watch_file.with_extension("json.tmp");
    let written = tokio::fs::write(&tmp, body.to_string() + "\n").await;
    if let Err(e) = match written {
        Ok(()) => tokio::fs::rename(&tmp, watch_file).await,
        Err(e) => Err(e),
    } {
        tracing::warn!(error = %e, file = %watch_file.display(), "writing the watch list");
    }
}

/// Only alerts are answered: restriction, throttles, notices.
async fn respond(state: &AppState, detector: &mut Detector) -> Result<(), String> {
    let campaigns: Vec<picket_campaigns::Campaign> = detector.campaigns();
    for c in campaigns {
        let id = stable_id(&c);
        let now = now_ms();
        let existing = state.store.campaign(&id).await.map_err(|e| e.to_string())?;
        let grown = existing.as_ref().is_none_or(|row| {
            row.report["accounts"].as_array().map_or(0, Vec::len) != c.accounts.len()
                || row.report["projects"].as_array().map_or(0, Vec::len) != c.projects.len()
        });
        if !grown {
            continue;
        }
        let report = serde_json::to_value(&c).map_err(|e| e.to_string())?;
        let journal = if existing.is_none() {
            vec![Event::new(
                "campaign.detect",
                now,
                None,
                None,
                json!({ "campaign": id, "actor": "detector", "reason": "threshold crossed",
                        "confidence": c.confidence, "accounts": c.accounts.len(),
                        "projects": c.projects.len(), "detected_at": c.detected_at }),
            )]
        } else {
            Vec::new()
        };
        let row = state
            .store
            .upsert_campaign(&id, c.detected_ms(), &report, now, &journal)
            .await
            .map_err(|e| e.to_string())?;
        if row.status != "open" {
            continue;
        }
        let reason = format!("campaign {id}");
        let cx = AdminContext {
            actor: "detector",
            reason: &reason,
            time_ms: now,
        };
        let changes = state
            .store
            .restrict_for_campaign(&id, &c.accounts, &cx)
            .await
            .map_err(|e| e.to_string())?;
        let hours = i64::from(state.config.campaign_throttle_hours);
        for action in c.actions.iter().filter(|a| a.action == "prohibit-domain") {
            state
                .store
                .throttle_domain(&action.subject, now + hours * 3_600_000, 1, &reason)
                .await
                .map_err(|e| e.to_string())?;
        }
        if !changes.is_empty() {
            state.pages.clear();
        }
        if existing.is_none() {
            tracing::warn!(campaign = %id, accounts = c.accounts.len(), projects = c.projects.len(), confidence = c.confidence, "campaign detected");
            notify(state, &id, &c).await;
        }
    }
    Ok(())
}

async fn notify(state: &AppState, id: &str, c: &picket_campaigns::Campaign) {
    let summary = format!(
        "Campaign {id} (confidence {:.2}) detected at {}: {} accounts, {} projects; domains: {}.\n\nSignals:\n{}\n\nMember accounts are restricted (new uploads quarantined) and the burst domains throttled.\nReview: picket admin campaign show {id}\nAct: picket admin campaign apply {id} (or dismiss {id} for a false positive).\n",
        c.confidence,
        c.detected_at,
        c.accounts.len(),
        c.projects.len(),
        c.domain_list(usize::MAX),
        c.signals
            .iter()
            .map(|s| format!("  {} {:.2} {}", s.name, s.strength, s.evidence))
            .collect::<Vec<_>>()
            .join("\n")
    );
    if let Ok(users) = state.store.users().await {
        for admin in users.iter().filter(|u| u.is_admin && !u.disabled) {
            let mail = crate::mail::Mail {
                to: admin.email.clone(),
                subject: format!("picket: campaign {id} detected"),
                body: summary.clone(),
            };
            if let Err(e) = state.mailer.send(&mail, now_ms()).await {
                tracing::warn!(error = %e, "campaign notice not mailed");
            }
        }
    }
    if let Some(url) = state.config.campaign_webhook.clone() {
        let body = json!({ "campaign": id, "report": c }).to_string();
        let signature = state
            .config
            .campaign_webhook_secret
            .as_deref()
            .map(|key| format!("sha256={}", webhook_signature(key, body.as_bytes())));
        let result = tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(std::time::Duration::from_secs(10)))
                .build()
                .into();
            let mut request = agent.post(&url).header("Content-Type", "application/json");
            if let Some(signature) = &signature {
                request = request.header("X-Picket-Signature-256", signature);
            }
            request.send(body.as_bytes()).map(|r| r.status().as_u16())
        })
        .await;
        match result {
            Ok(Ok(status)) => tracing::info!(status, "campaign webhook called"),
            Ok(Err(e)) => tracing::warn!(error = %e, "campaign webhook failed"),
            Err(e) => tracing::warn!(error = %e, "campaign webhook task failed"),
        }
    }
}

/// The hex HMAC-SHA256 of `body` under `key`.
fn webhook_signature(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod signature_tests {
    #[test]
    fn webhook_signature_is_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            super::webhook_signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
