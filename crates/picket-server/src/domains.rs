//! Domain resurrection: an attacker who buys the lapsed domain of a verified address receives its
//! password-reset mail. So the domains of verified addresses are re-checked through RDAP
//! (`rdap-url`, every `rdap-check-hours`, and on demand with `picket admin check-domains`), and
//! an address is unverified when its domain is no longer registered, has expired (or expires
//! within `rdap-expiry-margin-days`), or was registered after the address was verified — the
//! domain changed hands. Password resets go only to verified addresses
//! ([`crate::password_reset`]). A domain RDAP can't answer for is left as it is (and recorded):
//! an outage never unverifies anyone.

use std::collections::BTreeMap;

use picket_store::{AdminContext, DomainCheck, Store, VerifiedAddress, rfc3339};
use serde::Serialize;

use crate::{AppState, now_ms};

/// Largest RDAP answer read.
const MAX_ANSWER: u64 = 1 << 20;
/// The `settings` key of the last scheduled run.
const LAST_RUN_KEY: &str = "rdap-last-run";

/// What RDAP says of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Registered, with its `registration` and `expiration` events (ms), when given.
    Registered {
        /// When it was (last) registered.
        registered: Option<i64>,
        /// When it expires.
        expires: Option<i64>,
    },
    /// 404: nobody holds it.
    Unregistered,
    /// No usable answer.
    Failed(String),
}

/// Reads an RDAP domain object's `registration` and `expiration` events.
pub fn parse_rdap(body: &[u8]) -> Result<Lookup, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not RDAP JSON: {e}"))?;
    if doc["objectClassName"] != "domain" {
        return Err("not an RDAP domain object (objectClassName is not \"domain\")".into());
    }
    let event = |action: &str| -> Result<Option<i64>, String> {
        let Some(e) = doc["events"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["eventAction"] == action)
        else {
            return Ok(None);
        };
        let date = e["eventDate"].as_str().unwrap_or_default();
        picket_formats::time::unix_seconds(date)
            .map(|s| Some(s * 1000))
            .ok_or_else(|| format!("{action} date `{date}` is not an RFC 3339 time"))
    };
    Ok(Lookup::Registered {
        registered: event("registration")?,
        expires: event("expiration")?,
    })
}

/// Asks the RDAP service `base` about `domain` (blocking).
pub fn lookup(agent: &ureq::Agent, base: &str, domain: &str) -> Lookup {
    let url = format!("{}/domain/{domain}", base.trim_end_matches('/'));
    let mut response = match agent
        .get(&url)
        .header("Accept", "application/rdap+json")
        .call()
    {
        Ok(r) => r,
        Err(e) => return Lookup::Failed(format!("GET {url}: {e}")),
    };
    match response.status().as_u16() {
        200 => {}
        404 => return Lookup::Unregistered,
        status => return Lookup::Failed(format!("GET {url}: HTTP {status}")),
    }
    match response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_vec()
    {
        Ok(body) => parse_rdap(&body).unwrap_or_else(|e| Lookup::Failed(format!("{url}: {e}"))),
        Err(e) => Lookup::Failed(format!("reading {url}: {e}")),
    }
}

/// Whether an address verified at `verified_at` must be unverified: the outcome
/// (`unregistered`, `expired`, `re-registered`) and the reason, for the journal.
pub fn judge(
    domain: &str,
    lookup: &Lookup,
    verified_at: i64,
    now: i64,
    margin_ms: i64,
) -> Option<(&'static str, String)> {
    let day = |ms: i64| rfc3339(ms)[..10].to_owned();
    match lookup {
        Lookup::Failed(_) => None,
        Lookup::Unregistered => Some((
            "unregistered",
            format!("the domain {domain} is not registered"),
        )),
        Lookup::Registered {
            registered,
            expires,
        } => {
            if let Some(expires) = expires
                && *expires <= now + margin_ms
            {
                let verb = if *expires <= now {
                    "expired"
                } else {
                    "expires"
                };
                return Some((
                    "expired",
                    format!("the domain {domain} {verb} on {}", day(*expires)),
                ));
            }
            registered.filter(|r| *r > verified_at).map(|r| {
                (
                    "re-registered",
                    format!(
                        "the domain {domain} was registered on {}, after the address was verified on {}",
                        day(r),
                        day(verified_at)
                    ),
                )
            })
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Domains asked about.
    pub domains: usize,
    /// Verified addresses looked at.
    pub addresses: usize,
    /// `(user, address, reason)` of each address unverified.
    pub unverified: Vec<(String, String, String)>,
    /// `(domain, error)` of each domain RDAP gave no usable answer for (left as they are).
    pub failed: Vec<(String, String)>,
}

/// Checks the domain of every verified address through the RDAP service `rdap_url` and
/// unverifies the addresses whose domain lapsed or changed hands; journaled as `actor`.
pub async fn check_all(
    store: &Store,
    rdap_url: &str,
    margin_days: u32,
    actor: &str,
) -> Result<Summary, String> {
    let addresses = store
        .verified_addresses()
        .await
        .map_err(|e| e.to_string())?;
    let mut by_domain: BTreeMap<String, Vec<VerifiedAddress>> = BTreeMap::new();
    for a in addresses {
        if let Some(domain) = crate::policy::registrable_domain(&a.email) {
            by_domain.entry(domain).or_default().push(a);
        }
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .build()
        .into();
    let margin_ms = i64::from(margin_days) * 86_400_000;
    let mut summary = Summary::default();
    for (domain, addresses) in by_domain {
        let (agent, base, name) = (agent.clone(), rdap_url.to_owned(), domain.clone());
        let found = tokio::task::spawn_blocking(move || lookup(&agent, &base, &name))
            .await
            .unwrap_or_else(|e| Lookup::Failed(e.to_string()));
        let now = now_ms();
        summary.domains += 1;
        summary.addresses += addresses.len();
        let (mut outcome, registered, expires, detail) = match &found {
            Lookup::Failed(e) => {
                summary.failed.push((domain.clone(), e.clone()));
                ("error", None, None, e.clone())
            }
            Lookup::Unregistered => ("unregistered", None, None, "RDAP: 404".to_owned()),
            Lookup::Registered {
                registered,
                expires,
            } => ("ok", *registered, *expires, String::new()),
        };
        for a in &addresses {
            let Some((judged, reason)) = judge(&domain, &found, a.verified_at, now, margin_ms)
            else {
                continue;
            };
            outcome = judged;
            let cx = AdminContext {
                actor,
                reason: &reason,
                time_ms: now,
            };
            let changed = store
                .unverify_address(a.user_id, &a.email, &cx)
                .await
                .map_err(|e| e.to_string())?;
            if !changed.is_empty() {
                tracing::warn!(user = %a.username, email = %a.email, %reason, "address unverified");
                summary
                    .unverified
                    .push((a.username.clone(), a.email.clone(), reason));
            }
        }
        store
            .record_domain_check(&DomainCheck {
                domain,
                checked_at: now,
                outcome: outcome.to_owned(),
                registered,
                expires,
                detail,
            })
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(summary)
}

/// Runs [`check_all`] every `rdap-check-hours` while `rdap-url` is set (the time of the last
/// run is kept in the store, so a restart doesn't run it again early).
pub async fn run(state: AppState) {
    let Some(url) = state.config.rdap_url.clone() else {
        return;
    };
    let every = i64::from(state.config.rdap_check_hours.max(1)) * 3_600_000;
    let mut tick = tokio::time::interval(std::time::Duration::from_mins(1));
    loop {
        tick.tick().await;
        let last = state
            .store
            .setting(LAST_RUN_KEY)
            .await
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let now = now_ms();
        if now - last < every {
            continue;
        }
        let _ = state
            .store
            .set_setting(LAST_RUN_KEY, &now.to_string())
            .await;
        match check_all(
            &state.store,
            &url,
            state.config.rdap_expiry_margin_days,
            "picket:domain-check",
        )
        .await
        {
            Ok(s) => tracing::info!(
                domains = s.domains,
                unverified = s.unverified.len(),
                failed = s.failed.len(),
                "domain check"
            ),
            Err(e) => tracing::warn!(error = %e, "domain check failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn addresses_are_unverified_on_lapsed_and_resold_domains_only() {
        let now = 1_780_000_000_000;
        let verified = now - 400 * DAY;
        let held = Lookup::Registered {
            registered: Some(now - 3000 * DAY),
            expires: Some(now + 200 * DAY),
        };
        assert_eq!(judge("a.example", &held, verified, now, 0), None);
        let resold = Lookup::Registered {
            registered: Some(now - 10 * DAY),
            expires: Some(now + 355 * DAY),
        };
        assert!(
            judge("a.example", &resold, verified, now, 0)
                .unwrap()
                .1
                .contains("registered on")
        );
        let lapsed = Lookup::Registered {
            registered: Some(now - 3000 * DAY),
            expires: Some(now - DAY),
        };
        assert!(
            judge("a.example", &lapsed, verified, now, 0)
                .unwrap()
                .1
                .contains("expired on")
        );
        // About to lapse, inside the margin.
        let soon = Lookup::Registered {
            registered: Some(now - 3000 * DAY),
            expires: Some(now + 5 * DAY),
        };
        assert_eq!(judge("a.example", &soon, verified, now, 0), None);
        assert!(
            judge("a.example", &soon, verified, now, 30 * DAY)
                .unwrap()
                .1
                .contains("expires on")
        );
        assert!(judge("a.example", &Lookup::Unregistered, verified, now, 0).is_some());
        assert_eq!(
            judge("a.example", &Lookup::Failed("503".into()), verified, now, 0),
            None
        );
    }

    #[test]
    fn rdap_answers_are_read_or_refused_by_name() {
        let body = br#"{"objectClassName": "domain", "ldhName": "a.example",
            "events": [{"eventAction": "registration", "eventDate": "2026-11-01T10:00:00Z"},
                       {"eventAction": "expiration", "eventDate": "2027-11-01T10:00:00Z"},
                       {"eventAction": "last changed", "eventDate": "2026-11-02T00:00:00Z"}]}"#;
        let Lookup::Registered {
            registered,
            expires,
        } = parse_rdap(body).unwrap()
        else {
            panic!()
        };
        assert_eq!(rfc3339(registered.unwrap()), "2026-11-01T10:00:00.000Z");
        assert_eq!(rfc3339(expires.unwrap()), "2027-11-01T10:00:00.000Z");
        assert!(parse_rdap(b"<html>").unwrap_err().contains("not RDAP JSON"));
        assert!(
            parse_rdap(br#"{"objectClassName": "entity"}"#)
                .unwrap_err()
                .contains("not an RDAP domain")
        );
        assert!(
            parse_rdap(br#"{"objectClassName": "domain", "events": [{"eventAction": "registration", "eventDate": "yesterday"}]}"#)
                .unwrap_err()
                .contains("`yesterday`")
        );
    }
}
