//! picket's own malicious-package records as OSV: rendered from the store's records (a confirmed
//! report, an applied campaign, `remove-project --malicious`), answered by the OSV API beside the
//! imported advisories, and published at `GET /osv/all.zip` — one `ID.json` per record, the
//! layout `picket db import-osv` and `picket db update --url` read — with an `ETag`, so another
//! picket instance subscribes by polling with `If-None-Match`. Withdrawn records stay in the
//! feed with OSV's `withdrawn` time: that is how subscribers learn of a revert.
//!
//! Records are re-rendered only when the store's records change (their count or newest
//! modification time, one cheap query per request).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picket_osv::{Database, Record};
use picket_store::{MaliciousRecord, rfc3339};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// The OSV JSON of one record.
pub fn to_osv(r: &MaliciousRecord) -> Value {
    let mut affected = json!({
        "package": { "ecosystem": "PyPI", "name": r.project,
                     "purl": format!("pkg:pypi/{}", r.normalized) },
        "versions": r.versions,
    });
    if r.whole_project {
        affected["ranges"] = json!([{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }] }]);
    }
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": r.id,
        "published": rfc3339(r.published_at),
        "modified": rfc3339(r.modified_at),
        "summary": r.summary,
        "details": r.details,
        "affected": [affected],
        "database_specific": { "source": "picket", "origins": r.origins },
    });
    if let Some(at) = r.withdrawn_at {
        record["withdrawn"] = rfc3339(at).into();
    }
    record
}

/// The rendered records.
#[derive(Debug, Default)]
pub struct Feed {
    /// The standing records, for queries.
    pub db: Database,
    /// Every record's full JSON (withdrawn ones too), by id.
    pub json: HashMap<String, Value>,
    /// `all.zip`.
    pub zip: Arc<[u8]>,
    /// Its quoted `ETag`.
    pub etag: String,
}

impl Feed {
    fn new(records: &[MaliciousRecord]) -> Result<Self, String> {
        let mut db = Database::default();
        let mut json = HashMap::new();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default());
        let mut digest = String::new();
        for r in records {
            let value = to_osv(r);
            let text = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?;
            digest.push_str(&text);
            zip.start_file(format!("{}.json", r.id), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
            let record: Record =
                serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
            db.add(record);
            json.insert(r.id.clone(), value);
        }
        let zip = zip.finish().map_err(|e| e.to_string())?.into_inner();
        Ok(Self {
            db,
            json,
            zip: zip.into(),
            etag: format!("\"{}\"", &picket_store::sha256_hex(digest.as_bytes())[..32]),
        })
    }

    /// The JSON to answer for `record`: the full record when it is one of ours (the same
    /// object, not merely the same id: an imported record may carry any id).
    pub fn json_of(&self, record: &Record) -> Option<&Value> {
        self.db
            .records()
            .as_ptr_range()
            .contains(&std::ptr::from_ref(record))
            .then(|| self.json.get(&record.id))
            .flatten()
    }
}

impl picket_proxy::osv_api::Records for Feed {
    fn database(&self) -> &Database {
        &self.db
    }

    fn by_id(&self, id: &str) -> Option<Value> {
        self.json.get(id).cloned()
    }

    fn served(&self, record: &Record) -> Value {
        self.json_of(record)
            .cloned()
            .unwrap_or_else(|| serde_json::to_value(record).unwrap_or(Value::Null))
    }
}

/// The feed, re-rendered when the store's records change.
#[derive(Debug, Default)]
pub struct FeedCache {
    current: RwLock<Rendered>,
}

/// The store's records version ([`picket_store::Store::malicious_records_version`]) a feed was
/// rendered at.
type Rendered = (Option<(i64, i64)>, Arc<Feed>);

impl FeedCache {
    /// The feed as the store holds it now.
    pub async fn current(&self, store: &picket_store::Store) -> Result<Arc<Feed>, ApiError> {
        let version = store.malicious_records_version().await?;
        {
            let cached = self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if cached.0 == Some(version) {
                return Ok(cached.1.clone());
            }
        }
        let records = store.malicious_records().await?;
        let feed = tokio::task::spawn_blocking(move || Feed::new(&records))
            .await
            .map_err(|e| e.to_string())
            .and_then(|f| f)
            .map_err(|e| {
                tracing::error!(error = %e, "rendering the OSV feed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "rendering the OSV feed failed",
                )
            })?;
        let feed = Arc::new(feed);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = (Some(version), feed.clone());
        Ok(feed)
    }
}

/// `GET /osv/all.zip`: every record picket published, withdrawn ones included.
pub async fn all_zip(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let feed = state.feed.current(&state.store).await?;
    let etag =
        HeaderValue::from_str(&feed.etag).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == feed.etag
        });
    let cache = HeaderValue::from_static("max-age=0, must-revalidate");
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        axum::body::Bytes::from_owner(feed.zip.clone()),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(withdrawn: Option<i64>) -> MaliciousRecord {
        MaliciousRecord {
            id: "MAL-PICKET-2026-1".into(),
            project: "Evil_Pkg".into(),
            normalized: "evil-pkg".into(),
            versions: vec!["1.0".into()],
            whole_project: true,
            summary: "Malicious code in Evil_Pkg (PyPI)".into(),
            details: "steals tokens".into(),
            origins: vec![json!({"kind": "report", "id": "1"})],
            published_at: 1_780_000_000_000,
            modified_at: 1_780_000_000_000,
            withdrawn_at: withdrawn,
        }
    }

    #[test]
    fn records_read_back_as_malicious_osv_records() {
        let value = to_osv(&record(None));
        let parsed: Record = serde_json::from_value(value).unwrap();
        assert!(parsed.is_malicious());
        assert!(parsed.affects("evil-pkg", &"1.0".parse().unwrap()));
        assert!(
            parsed.affects("evil-pkg", &"9.9".parse().unwrap()),
            "whole project"
        );
        let feed = Feed::new(&[record(None)]).unwrap();
        assert_eq!(feed.db.naming("Evil-Pkg").len(), 1);
        // Withdrawn: in the zip (so subscribers learn of it), not in answers.
        let withdrawn = Feed::new(&[record(Some(1_780_000_100_000))]).unwrap();
        assert!(withdrawn.db.is_empty());
        assert!(withdrawn.json["MAL-PICKET-2026-1"]["withdrawn"].is_string());
        assert_ne!(feed.etag, withdrawn.etag);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.zip");
        std::fs::write(&path, &*feed.zip).unwrap();
        let mut imported = Database::default();
        assert_eq!(imported.import(&path).unwrap(), 1);
        assert_eq!(imported.malicious("evil_pkg").len(), 1);
    }
}
