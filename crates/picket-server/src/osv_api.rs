//! The OSV API over the advisories imported into the data directory (`picket db import-osv`) and
//! picket's own malicious-package records ([`crate::osv_feed`]): `POST /v1/query`, `POST /v1/querybatch` and `GET /v1/vulns/{id}`, with the OSV schema and the
//! OSV service's semantics, so pip-audit (`-s osv --osv-url`), osv-scanner and any OSV client can
//! ask picket instead of a public service.
//!
//! - A query names a package (`{"name", "ecosystem"}` or `{"purl"}`) and optionally a version;
//!   without a version every record naming the package answers. Only the `PyPI` ecosystem is
//!   served (picket imports PyPI records); anything else is a 400, as are commit queries.
//! - Nothing found is `{}` (what the OSV service answers, and what pip-audit expects).
//! - Answers longer than [`PAGE`] records are paged: `next_page_token`, sent back as `page_token`.
//! - `querybatch` takes at most [`MAX_BATCH`] queries and answers `id` and `modified` per record.
//! - Errors are `{"code", "message"}` (gRPC codes, as the OSV service writes them) with 400 or 404.
//!
//! The records are read once and again whenever the imported database file changes.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use picket_formats::Version;
use picket_osv::{Database, Record};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;

/// Most records in one answer; the rest follow through `next_page_token`.
pub const PAGE: usize = 1000;
/// Most queries in one `querybatch` (the OSV service's limit).
pub const MAX_BATCH: usize = 1000;

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

/// A database with its records also found by id.
#[derive(Debug, Default)]
pub struct Indexed {
    /// The records.
    pub db: Database,
    by_id: std::collections::HashMap<String, usize>,
}

impl Indexed {
    fn new(db: Database) -> Self {
        let by_id = db
            .records()
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Self { db, by_id }
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Option<&Record> {
        self.by_id.get(id).map(|&i| &self.db.records()[i])
    }
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

/// An OSV error answer: `{"code", "message"}`.
#[derive(Debug)]
pub struct OsvError {
    status: StatusCode,
    message: String,
}

impl OsvError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for OsvError {
    fn into_response(self) -> Response {
        // gRPC codes, as the OSV service answers: 3 INVALID_ARGUMENT, 5 NOT_FOUND.
        let code = if self.status == StatusCode::NOT_FOUND {
            5
        } else {
            3
        };
        (
            self.status,
            Json(json!({ "code": code, "message": self.message })),
        )
            .into_response()
    }
}

/// One query as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    #[serde(default)]
    package: Option<PackageQuery>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
}

/// `package` of a query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

/// A query after checking: the project, the version if any, and the first record to answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    /// The project name as given.
    pub name: String,
    /// The version, if the query names one.
    pub version: Option<Version>,
    /// Records to skip (from `page_token`).
    pub offset: usize,
}

/// Reads a `pkg:pypi/NAME[@VERSION]` purl (qualifiers and subpath are ignored).
pub fn parse_purl(purl: &str) -> Result<(String, Option<String>), String> {
    let rest = purl
        .strip_prefix("pkg:")
        .ok_or_else(|| format!("`{purl}` is not a package URL (pkg:pypi/NAME@VERSION)"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (kind, rest) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{purl}` is not a package URL (pkg:pypi/NAME@VERSION)"))?;
    if !kind.eq_ignore_ascii_case("pypi") {
        return Err(format!(
            "purl type `{kind}`: this index serves PyPI records only"
        ));
    }
    let (name, version) = match rest.rsplit_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (rest, None),
    };
    let decode =
        |s: &str| percent_decode(s).ok_or_else(|| format!("`{purl}` has a broken percent-escape"));
    let name = decode(name.trim_matches('/'))?;
    if name.is_empty() || name.contains('/') {
        return Err(format!("`{purl}` names no PyPI project"));
    }
    Ok((name, version.map(decode).transpose()?))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Checks one query the way the OSV service does.
pub fn check(query: &Query) -> Result<Checked, String> {
    if query.commit.is_some() {
        return Err(
            "commit queries are not supported: this index serves PyPI records, which name versions"
                .into(),
        );
    }
    let package = query
        .package
        .as_ref()
        .ok_or("a query needs \"package\": {\"name\", \"ecosystem\"} or {\"purl\"}")?;
    let (name, version) = match (&package.purl, &package.name) {
        (Some(purl), None) => {
            if package.ecosystem.is_some() {
                return Err("a purl names its ecosystem; leave out \"ecosystem\"".into());
            }
            let (name, version) = parse_purl(purl)?;
            match (version, &query.version) {
                (Some(_), Some(_)) => {
                    return Err("the version is given twice, in the purl and as \"version\"".into());
                }
                (Some(v), None) => (name, Some(v)),
                (None, v) => (name, v.clone()),
            }
        }
        (None, Some(name)) => {
            match package.ecosystem.as_deref() {
                Some("PyPI") => {}
                Some(other) => {
                    return Err(format!(
                        "ecosystem `{other}`: this index serves PyPI records only"
                    ));
                }
                None => return Err("\"package\" needs \"ecosystem\": \"PyPI\"".into()),
            }
            (name.clone(), query.version.clone())
        }
        (Some(_), Some(_)) => return Err("give \"name\" or \"purl\", not both".into()),
        (None, None) => return Err("\"package\" needs \"name\" or \"purl\"".into()),
    };
    if name.trim().is_empty() || name.len() > 256 {
        return Err("the package name is empty or too long".into());
    }
    let version = version
        .map(|v| {
            v.parse::<Version>()
                .map_err(|e| format!("`{v}` is not a PEP 440 version: {e}"))
        })
        .transpose()?;
    let offset = match &query.page_token {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| format!("`{t}` is not a page token this index gave"))?,
    };
    Ok(Checked {
        name,
        version,
        offset,
    })
}

/// The records of `dbs` answering a checked query, and the token for the next page if more
/// remain.
pub fn answer<'a>(dbs: &[&'a Database], q: &Checked) -> (Vec<&'a Record>, Option<String>) {
    let all: Vec<&Record> = dbs
        .iter()
        .flat_map(|db| match &q.version {
            Some(v) => db.affecting(&q.name, v),
            None => db.naming(&q.name),
        })
        .collect();
    let end = q.offset.saturating_add(PAGE).min(all.len());
    let page = all.get(q.offset..end).unwrap_or_default().to_vec();
    let next = (end < all.len()).then(|| end.to_string());
    (page, next)
}

async fn feed(state: &AppState) -> Result<Arc<crate::osv_feed::Feed>, OsvError> {
    state
        .feed
        .current(&state.store)
        .await
        .map_err(|e| OsvError {
            status: e.status,
            message: e.message,
        })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, OsvError> {
    serde_json::from_slice(body).map_err(|e| OsvError::invalid(format!("Invalid query: {e}")))
}

fn page_json(records: Vec<Value>, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    if !records.is_empty() {
        out.insert("vulns".into(), Value::Array(records));
    }
    if let Some(token) = next {
        out.insert("next_page_token".into(), token.into());
    }
    Value::Object(out)
}

/// `POST /v1/query`.
pub async fn query(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, OsvError> {
    let q: Query = parse(&body)?;
    let checked = check(&q).map_err(OsvError::invalid)?;
    let data = state.osv.current().await;
    let feed = feed(&state).await?;
    let (records, next) = answer(&[&data.db, &feed.db], &checked);
    let records = records
        .into_iter()
        .map(|r| {
            feed.json_of(r)
                .cloned()
                .unwrap_or_else(|| serde_json::to_value(r).unwrap_or(Value::Null))
        })
        .collect();
    Ok(Json(page_json(records, next)))
}

/// `{"queries": [..]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    queries: Vec<Query>,
}

/// `POST /v1/querybatch`.
pub async fn querybatch(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, OsvError> {
    let batch: Batch = parse(&body)?;
    if batch.queries.len() > MAX_BATCH {
        return Err(OsvError::invalid(format!(
            "{} queries in one batch; at most {MAX_BATCH}",
            batch.queries.len()
        )));
    }
    let checked = batch
        .queries
        .iter()
        .enumerate()
        .map(|(i, q)| check(q).map_err(|e| OsvError::invalid(format!("query {i}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let data = state.osv.current().await;
    let feed = feed(&state).await?;
    let results = checked
        .iter()
        .map(|q| {
            let (records, next) = answer(&[&data.db, &feed.db], q);
            let records = records
                .into_iter()
                .map(|r| json!({ "id": r.id, "modified": r.modified }))
                .collect();
            page_json(records, next)
        })
        .collect::<Vec<_>>();
    Ok(Json(json!({ "results": results })))
}

/// `GET /v1/vulns/{id}`.
pub async fn vuln(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, OsvError> {
    // picket's own first: withdrawn ones answer too, with their `withdrawn` time.
    if let Some(own) = feed(&state).await?.json.get(&id) {
        return Ok(Json(own.clone()));
    }
    let data = state.osv.current().await;
    data.get(&id)
        .map(|r| Json(serde_json::to_value(r).unwrap_or(Value::Null)))
        .ok_or(OsvError {
            status: StatusCode::NOT_FOUND,
            message: "Bug not found.".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Result<Checked, String> {
        check(&serde_json::from_str::<Query>(text).unwrap())
    }

    #[test]
    fn queries_are_checked_like_the_osv_service_does() {
        let v = |s: &str| Some(s.parse::<Version>().unwrap());
        assert_eq!(
            q(r#"{"package": {"name": "Jinja2", "ecosystem": "PyPI"}, "version": "3.1.2"}"#),
            Ok(Checked {
                name: "Jinja2".into(),
                version: v("3.1.2"),
                offset: 0
            })
        );
        assert_eq!(
            q(
                r#"{"package": {"purl": "pkg:pypi/jinja2@3.1.2?repository_url=x"}, "page_token": "1000"}"#
            ),
            Ok(Checked {
                name: "jinja2".into(),
                version: v("3.1.2"),
                offset: 1000
            })
        );
        assert_eq!(
            q(r#"{"package": {"purl": "pkg:pypi/zope.interface"}, "version": "5.0"}"#)
                .unwrap()
                .version,
            v("5.0")
        );
        for (bad, says) in [
            (
                r#"{"package": {"name": "x", "ecosystem": "npm"}}"#,
                "PyPI records only",
            ),
            (r#"{"package": {"name": "x"}}"#, "needs \"ecosystem\""),
            (
                r#"{"package": {"purl": "pkg:npm/x@1"}}"#,
                "PyPI records only",
            ),
            (
                r#"{"package": {"purl": "pkg:pypi/x@1"}, "version": "1"}"#,
                "given twice",
            ),
            (r#"{"package": {"purl": "pypi/x"}}"#, "not a package URL"),
            (
                r#"{"package": {"purl": "pkg:pypi/x%zz"}}"#,
                "percent-escape",
            ),
            (
                r#"{"package": {"name": "x", "ecosystem": "PyPI"}, "version": "not a version"}"#,
                "not a PEP 440 version",
            ),
            (
                r#"{"package": {"name": "x", "ecosystem": "PyPI"}, "page_token": "abc"}"#,
                "page token",
            ),
            (
                r#"{"commit": "6879efc2c1596d11a6a6ad296f80063b558d5e0f"}"#,
                "commit queries",
            ),
            (r#"{"version": "1.0"}"#, "needs \"package\""),
        ] {
            let err = q(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn long_answers_are_paged() {
        let mut db = Database::default();
        for i in 0..(PAGE + 5) {
            db.add(
                serde_json::from_value(json!({
                    "id": format!("PYSEC-0000-{i}"), "modified": "2025-01-01T00:00:00Z",
                    "affected": [{"package": {"ecosystem": "PyPI", "name": "many"},
                                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
                }))
                .unwrap(),
            );
        }
        let mut checked =
            q(r#"{"package": {"name": "Many", "ecosystem": "PyPI"}, "version": "1.0"}"#).unwrap();
        let (first, next) = answer(&[&db], &checked);
        assert_eq!((first.len(), next.as_deref()), (PAGE, Some("1000")));
        checked.offset = 1000;
        let (rest, next) = answer(&[&db], &checked);
        assert_eq!((rest.len(), next), (5, None));
        checked.offset = 99_999;
        assert_eq!(answer(&[&db], &checked).0.len(), 0);
    }
}
