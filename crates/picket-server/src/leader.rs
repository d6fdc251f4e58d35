//! The jobs that must run once per registry, however many instances serve it: the live campaign
//! detector (its automatic actions and notices), the report notices read from the journal and
//! the scheduled domain checks. Each instance asks the store for the leadership
//! ([`picket_store::Store::try_lead`]: a PostgreSQL session lock, or a file lock beside a SQLite
//! database) every [`RETRY`]; the one that holds it runs the jobs and checks each [`RETRY`] that
//! it still does. When the leader dies its lock goes with it and another instance starts the jobs
//! within [`RETRY`]: the detector replays the journal and finds the campaigns it already answered
//! stored (see `live::respond`), so each automatic action is applied once.
//!
//! Everything else an instance does is shared through the database and needs no leader: rate
//! limits and the domain velocity limit are rows written under the store's write lock, and every
//! instance drops its cached pages from the journal (`watch_journal`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::{AppState, domains, live, notify};

/// How often a follower asks for the leadership, and a leader checks it still holds it.
pub const RETRY: Duration = Duration::from_secs(2);

/// Runs until the process ends.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(RETRY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut refused_logged = false;
    loop {
        tick.tick().await;
        let mut lead = match state.store.try_lead().await {
            Ok(Some(lead)) => lead,
            Ok(None) => {
                if !refused_logged {
                    tracing::info!(
                        "another instance runs the campaign detector and notices; this one takes over if it stops"
                    );
                    refused_logged = true;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "asking for the leadership");
                continue;
            }
        };
        refused_logged = false;
        tracing::info!(
            "this instance runs the campaign detector, the notices and the domain checks"
        );
        state.leading.store(true, Ordering::Relaxed);
        let mut jobs = tokio::task::JoinSet::new();
        if state.config.campaign_detection {
            jobs.spawn(live::run(state.clone(), state.watch_file.as_ref().clone()));
        }
        jobs.spawn(notify::run(state.clone()));
        jobs.spawn(domains::run(state.clone()));
        loop {
            tick.tick().await;
            if !lead.still_held().await {
                break;
            }
        }
        jobs.abort_all();
        state.leading.store(false, Ordering::Relaxed);
        tracing::warn!(
            "lost the leadership (the database connection holding it ended); the jobs stopped here and another instance takes them over"
        );
        lead.release().await;
    }
}
