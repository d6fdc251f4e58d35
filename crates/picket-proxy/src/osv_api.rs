//! The OSV API over OSV databases — `POST /v1/query`, `POST /v1/querybatch` and
//! `GET /v1/vulns/{id}` with the OSV schema and the OSV service's semantics — served by
//! `picket proxy` over the advisories it imported and by `picket serve` over those and its own
//! malicious-package records, so pip-audit (`-s osv --osv-url`), osv-scanner and any OSV client
//! can ask picket instead of a public service. The front end says where the records come from
//! ([`OsvSource`]); this module checks queries, answers and pages.
//!
//! - A query names a package (`{"name", "ecosystem"}` or `{"purl"}`) and optionally a version;
//!   without a version every record naming the package answers. Only the `PyPI` ecosystem is
//!   served (picket imports PyPI records); anything else is a 400, as are commit queries.
//! - Nothing found is `{}` (what the OSV service answers, and what pip-audit expects).
//! - Answers longer than [`PAGE`] records are paged: `next_page_token`, sent back as `page_token`.
//! - `querybatch` takes at most [`MAX_BATCH`] queries and answers `id` and `modified` per record.
//! - Errors are `{"code", "message"}` (gRPC codes, as the OSV service writes them) with 400, 404
//!   or 413 (a body over [`MAX_BODY`]).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use picket_formats::Version;
use picket_osv::{Database, Record};
use serde::Deserialize;
use serde_json::{Value, json};

/// Most records in one answer; the rest follow through `next_page_token`.
pub const PAGE: usize = 1000;
/// Most queries in one `querybatch` (the OSV service's limit).
pub const MAX_BATCH: usize = 1000;
/// The largest request body read: a batch of 1,000 queries is about 100 KiB.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Records the API answers from, one layer of several.
pub trait Records: Send + Sync {
    /// The standing records, for queries.
    fn database(&self) -> &Database;
    /// The record with `id` as `GET /v1/vulns/{id}` answers it (a layer may keep withdrawn
    /// records there, which no query finds).
    fn by_id(&self, id: &str) -> Option<Value>;
    /// The JSON to answer for `record`, found in [`Records::database`].
    fn served(&self, record: &Record) -> Value {
        serde_json::to_value(record).unwrap_or(Value::Null)
    }
}

/// Where a front end's records come from: its layers in order (the first that has an id answers
/// `GET /v1/vulns/{id}`; queries answer from all of them, in this order).
pub trait OsvSource: Clone + Send + Sync + 'static {
    /// The layers as they are now.
    fn layers(&self) -> impl Future<Output = Result<Vec<Arc<dyn Records>>, OsvError>> + Send;
}

/// The routes of the OSV API over `S`'s records.
pub fn routes<S: OsvSource>() -> Router<S> {
    Router::new()
        .route("/v1/query", post(query::<S>))
        .route("/v1/querybatch", post(querybatch::<S>))
        .route("/v1/vulns/{id}", get(vuln::<S>))
}

/// The request body, at most [`MAX_BODY`] bytes: a longer declared length is refused before
/// anything is read, a longer body once it passes the limit.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, OsvError> {
    let too_long = || {
        OsvError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is over {MAX_BODY} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_long());
    }
    axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_long())
}

/// A database with its records also found by id.
#[derive(Debug, Default)]
pub struct Indexed {
    /// The records.
    pub db: Database,
    by_id: std::collections::HashMap<String, usize>,
}

impl Indexed {
    /// Indexes `db`'s records by id.
    pub fn new(db: Database) -> Self {
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

impl Records for Indexed {
    fn database(&self) -> &Database {
        &self.db
    }

    fn by_id(&self, id: &str) -> Option<Value> {
        self.get(id)
            .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
    }
}

/// An OSV error answer: `{"code", "message"}`.
#[derive(Debug)]
pub struct OsvError {
    status: StatusCode,
    message: String,
}

impl OsvError {
    /// An error with `status` saying `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

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
        let code = match self.status {
            StatusCode::NOT_FOUND => 5,
            StatusCode::INTERNAL_SERVER_ERROR => 13,
            _ => 3,
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
    answer_with(dbs, q, |_, r| r)
}

/// [`answer`] over layers, each record mapped by `f(layer index, record)`.
fn answer_with<'a, T>(
    dbs: &[&'a Database],
    q: &Checked,
    f: impl Fn(usize, &'a Record) -> T,
) -> (Vec<T>, Option<String>) {
    let all: Vec<(usize, &Record)> = dbs
        .iter()
        .enumerate()
        .flat_map(|(i, db)| {
            match &q.version {
                Some(v) => db.affecting(&q.name, v),
                None => db.naming(&q.name),
            }
            .into_iter()
            .map(move |r| (i, r))
        })
        .collect();
    let end = q.offset.saturating_add(PAGE).min(all.len());
    let page = all
        .get(q.offset..end)
        .unwrap_or_default()
        .iter()
        .map(|&(i, r)| f(i, r))
        .collect();
    let next = (end < all.len()).then(|| end.to_string());
    (page, next)
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
pub async fn query<S: OsvSource>(
    State(source): State<S>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, OsvError> {
    let q: Query = parse(&read_body(&headers, body).await?)?;
    let checked = check(&q).map_err(OsvError::invalid)?;
    let layers = source.layers().await?;
    let dbs: Vec<&Database> = layers.iter().map(|l| l.database()).collect();
    let (records, next) = answer_with(&dbs, &checked, |i, r| layers[i].served(r));
    Ok(Json(page_json(records, next)))
}

/// `{"queries": [..]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    queries: Vec<Query>,
}

/// `POST /v1/querybatch`.
pub async fn querybatch<S: OsvSource>(
    State(source): State<S>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, OsvError> {
    let batch: Batch = parse(&read_body(&headers, body).await?)?;
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
    let layers = source.layers().await?;
    let dbs: Vec<&Database> = layers.iter().map(|l| l.database()).collect();
    let results = checked
        .iter()
        .map(|q| {
            let (records, next) = answer_with(
                &dbs,
                q,
                |_, r| json!({ "id": r.id, "modified": r.modified }),
            );
            page_json(records, next)
        })
        .collect::<Vec<_>>();
    Ok(Json(json!({ "results": results })))
}

/// `GET /v1/vulns/{id}`.
pub async fn vuln<S: OsvSource>(
    State(source): State<S>,
    Path(id): Path<String>,
) -> Result<Json<Value>, OsvError> {
    source
        .layers()
        .await?
        .iter()
        .find_map(|l| l.by_id(&id))
        .map(Json)
        .ok_or_else(|| OsvError::new(StatusCode::NOT_FOUND, "Bug not found."))
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
