//! Scores a run of the detector against a simulated log's ground truth: per attack, the share of
//! its accounts and projects in alerts and how long after it began the first was alerted; per
//! legitimate cohort, how many of its accounts were alerted or watched.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::simulate::Truth;
use crate::{Campaign, parse_rfc3339};

/// One attack's result.
#[derive(Debug, Clone, Serialize)]
pub struct AttackScore {
    /// The scenario.
    pub name: String,
    /// Its accounts.
    pub accounts: usize,
    /// Of them, in alerts.
    pub accounts_alerted: usize,
    /// Its projects.
    pub projects: usize,
    /// Of them, in alerts.
    pub projects_alerted: usize,
    /// What the delay is measured from: `first-account` (a registration burst) or
    /// `first-upload`.
    pub delay_from: &'static str,
    /// Minutes from that moment to the first of its accounts being alerted (`None`: never).
    pub delay_minutes: Option<i64>,
}

/// One legitimate cohort's result.
#[derive(Debug, Clone, Serialize)]
pub struct CohortScore {
    /// The cohort.
    pub name: String,
    /// Its accounts.
    pub accounts: usize,
    /// Of them, in alerts (must be 0).
    pub alerted: usize,
    /// Of them, on watch.
    pub watched: usize,
}

/// A run's score.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    /// Per attack.
    pub attacks: Vec<AttackScore>,
    /// Per legitimate cohort the simulator planted.
    pub legitimate: Vec<CohortScore>,
    /// Legitimate accounts in alerts, planted cohorts or background alike.
    pub legitimate_alerted: usize,
    /// Legitimate accounts on watch.
    pub legitimate_watched: usize,
}

/// Scores `alerts` and `watch` (from [`crate::Detector::campaigns`] and
/// [`crate::Detector::watch`]) against `truth`.
pub fn score(truth: &Truth, alerts: &[Campaign], watch: &[Campaign]) -> Score {
    let mut alerted: FxHashMap<&str, i64> = FxHashMap::default();
    for c in alerts {
        for (a, t) in c.accounts.iter().zip(c.joined_ms()) {
            let e = alerted.entry(a.as_str()).or_insert(*t);
            *e = (*e).min(*t);
        }
    }
    let alerted_projects: FxHashSet<&str> = alerts
        .iter()
        .flat_map(|c| c.projects.iter().map(String::as_str))
        .collect();
    let watched: FxHashSet<&str> = watch
        .iter()
        .flat_map(|c| c.accounts.iter().map(String::as_str))
        .collect();
    let bad: FxHashSet<&str> = truth.accounts.iter().map(String::as_str).collect();
    let attacks = truth
        .scenarios
        .iter()
        .map(|s| {
            let (delay_from, from) = if s.name == "inbox-2025" {
                ("first-account", &s.first_account)
            } else {
                ("first-upload", &s.first_upload)
            };
            let start = parse_rfc3339(from).unwrap_or(i64::MIN);
            let first = s
                .accounts
                .iter()
                .filter_map(|a| alerted.get(a.as_str()))
                .min();
            AttackScore {
                name: s.name.clone(),
                accounts: s.accounts.len(),
                accounts_alerted: s
                    .accounts
                    .iter()
                    .filter(|a| alerted.contains_key(a.as_str()))
                    .count(),
                projects: s.projects.len(),
                projects_alerted: s
                    .projects
                    .iter()
                    .filter(|p| alerted_projects.contains(p.as_str()))
                    .count(),
                delay_from,
                delay_minutes: first.map(|t| (t - start).max(0) / 60_000),
            }
        })
        .collect();
    let legitimate = truth
        .legitimate
        .iter()
        .map(|c| CohortScore {
            name: c.name.clone(),
            accounts: c.accounts.len(),
            alerted: c
                .accounts
                .iter()
                .filter(|a| alerted.contains_key(a.as_str()))
                .count(),
            watched: c
                .accounts
                .iter()
                .filter(|a| watched.contains(a.as_str()))
                .count(),
        })
        .collect();
    Score {
        attacks,
        legitimate,
        legitimate_alerted: alerted.keys().filter(|a| !bad.contains(*a)).count(),
        legitimate_watched: watched.iter().filter(|a| !bad.contains(*a)).count(),
    }
}
