//! The OSV API of `picket serve` ([`picket_proxy::osv_api`], shared with `picket proxy`) over
//! the advisories imported into the data directory (`picket db import-osv`) and picket's own
//! malicious-package records ([`crate::osv_feed`]); the imported records are read once and again
//! whenever the imported database file changes.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use picket_osv::Database;
use picket_proxy::osv_api::Indexed;
use picket_proxy::osv_api::{OsvError, OsvSource, Records};

use crate::AppState;

/// The imported records and where they came from, reloaded when the file changes.
#[derive(Debug)]
pub struct OsvData {
    data_dir: std::path::PathBuf,
    loaded: RwLock<Loaded>,
}

#[derive(Debug, Default)]
struct Loaded {
    modified: Option<SystemTime>,
    db: Arc<Indexed>,
}

impl OsvData {
    /// Over the OSV store of `data_dir` (read on first use).
    pub fn new(data_dir: &std::path::Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            loaded: RwLock::new(Loaded::default()),
        }
    }

    /// The records as the store holds them now: reloaded (off the async runtime) when the file's
    /// modification time changed. A store that can't be read keeps the records last read.
    pub async fn current(self: &Arc<Self>) -> Arc<Indexed> {
        let path = picket_osv::store_path(&self.data_dir);
        let modified = tokio::fs::metadata(&path)
            .await
            .ok()
            .and_then(|m| m.modified().ok());
        {
            let loaded = self
                .loaded
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if loaded.modified == modified {
                return loaded.db.clone();
            }
        }
        let me = self.clone();
        let read = tokio::task::spawn_blocking(move || Database::load(&me.data_dir)).await;
        let mut loaded = self
            .loaded
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match read {
            Ok(Ok(db)) => {
                tracing::info!(records = db.len(), "OSV records loaded");
                *loaded = Loaded {
                    modified,
                    db: Arc::new(Indexed::new(db)),
                };
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "OSV records not reloaded"),
            Err(e) => tracing::warn!(error = %e, "OSV records not reloaded"),
        }
        loaded.db.clone()
    }
}

impl OsvSource for AppState {
    /// picket's own records first (withdrawn ones answer `GET /v1/vulns/{id}` with their
    /// `withdrawn` time), then the imported ones.
    async fn layers(&self) -> Result<Vec<Arc<dyn Records>>, OsvError> {
        let feed = self
            .feed
            .current(&self.store)
            .await
            .map_err(|e| OsvError::new(e.status, e.message))?;
        Ok(vec![feed, self.osv.current().await])
    }
}
