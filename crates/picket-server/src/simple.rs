//! The simple repository API: PEP 503 HTML and PEP 691 JSON (API version 1.4, with PEP 700's
//! `versions`, `size` and `upload-time`, PEP 592 yanks, PEP 658/714 core metadata and PEP 792
//! project status: a quarantined project's page says `quarantined` and lists no files).
//!
//! Pages are rendered once per change and kept in memory with their `ETag`s; a write to a project
//! drops its page (and the root list when projects come or go).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use picket_store::{FileRow, rfc3339};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::negotiate::{self, Format};

/// The simple API version served.
pub const API_VERSION: &str = "1.4";

/// What a quarantined project's page tells the public (owners see the evidence through the API).
pub const QUARANTINE_NOTICE: &str = "Held for review by the administrators of this index.";

/// One rendered page in both formats, kept as it is sent: each request clones a reference to the
/// body (no copy) and the ready header values (no parse, no allocation).
#[derive(Debug)]
pub struct Page {
    json: axum::body::Bytes,
    html: axum::body::Bytes,
    json_etag: HeaderValue,
    html_etag: HeaderValue,
    last_modified: HeaderValue,
}

impl Page {
    fn new(json: Vec<u8>, html: Vec<u8>) -> Self {
        let etag = |body: &[u8]| {
            HeaderValue::from_str(&format!("\"{}\"", &picket_store::sha256_hex(body)[..32]))
                .expect("a hex ETag is a valid header value")
        };
        Self {
            json_etag: etag(&json),
            html_etag: etag(&html),
            json: json.into(),
            html: html.into(),
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(
                std::time::SystemTime::now(),
            ))
            .expect("an HTTP date is a valid header value"),
        }
    }
}

/// Rendered pages by normalized project name, and the root list in parts.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: RwLock<HashMap<String, Arc<Page>>>,
    generation: AtomicU64,
    root: crate::simple_root::RootIndex,
}

impl PageCache {
    fn get(&self, key: &str) -> Option<Arc<Page>> {
        self.pages
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a page rendered from data read at `generation`, unless something changed since.
    fn insert(&self, key: String, page: Arc<Page>, generation: u64) {
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation() == generation {
            pages.insert(key, page);
        }
    }

    /// Drops every page.
    pub fn clear(&self) {
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        pages.clear();
        self.root.clear();
    }

    /// Drops a project's page (and its part of the root list).
    pub fn invalidate(&self, normalized: &str) {
        let mut pages = self
            .pages
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        pages.remove(normalized);
        self.root.invalidate(normalized);
    }
}

/// `?format=`.
#[derive(Debug, Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// Where a file is served.
pub fn file_url(file: &FileRow) -> String {
    format!("/files/{}/{}", file.sha256, file.filename)
}

fn render_project(
    name: &str,
    files: &[FileRow],
    versions: &[String],
    status: Option<(&str, &str)>,
) -> Page {
    let json_files: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            let mut hashes = serde_json::json!({ "sha256": f.sha256 });
            if let Some(md5) = &f.md5 {
                hashes["md5"] = md5.clone().into();
            }
            let mut v = serde_json::json!({
                "filename": f.filename,
                "url": file_url(f),
                "hashes": hashes,
                "requires-python": f.requires_python,
                "size": f.size,
                "upload-time": rfc3339(f.upload_time),
                "yanked": if f.yanked {
                    serde_json::Value::String(f.yanked_reason.clone().unwrap_or_default())
                } else {
                    serde_json::Value::Bool(false)
                },
            });
            if f.yanked && f.yanked_reason.as_deref().unwrap_or("").is_empty() {
                v["yanked"] = true.into();
            }
            let core = match &f.metadata_sha256 {
                Some(sha) => serde_json::json!({ "sha256": sha }),
                None => false.into(),
            };
            v["core-metadata"] = core.clone();
            v["dist-info-metadata"] = core;
            v
        })
        .collect();
    let mut json = serde_json::json!({
        "meta": { "api-version": API_VERSION },
        "name": picket_formats::normalize(name),
        "versions": versions,
        "files": json_files,
    });
    let mut status_meta = String::new();
    if let Some((status, reason)) = status {
        json["project-status"] = serde_json::json!({ "status": status });
        let _ = writeln!(
            status_meta,
            "    <meta name=\"pypi:project-status\" content=\"{}\">",
            escape(status)
        );
        if !reason.is_empty() {
            json["project-status"]["reason"] = reason.into();
            let _ = writeln!(
                status_meta,
                "    <meta name=\"pypi:project-status-reason\" content=\"{}\">",
                escape(reason)
            );
        }
    }

    let mut html = format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n{status_meta}    <title>Links for {0}</title>\n  </head>\n  <body>\n    <h1>Links for {0}</h1>\n",
        escape(name)
    );
    for f in files {
        let _ = write!(
            html,
            "    <a href=\"{}#sha256={}\"",
            escape(&file_url(f)),
            f.sha256
        );
        if let Some(rp) = &f.requires_python {
            let _ = write!(html, " data-requires-python=\"{}\"", escape(rp));
        }
        if f.yanked {
            let _ = write!(
                html,
                " data-yanked=\"{}\"",
                escape(f.yanked_reason.as_deref().unwrap_or(""))
            );
        }
        if let Some(sha) = &f.metadata_sha256 {
            let _ = write!(
                html,
                " data-core-metadata=\"sha256={sha}\" data-dist-info-metadata=\"sha256={sha}\""
            );
        }
        let _ = writeln!(html, ">{}</a><br />", escape(&f.filename));
    }
    html.push_str("  </body>\n</html>\n");
    Page::new(
        serde_json::to_vec(&json).unwrap_or_default(),
        html.into_bytes(),
    )
}

fn respond(page: &Page, format: Format, headers: &HeaderMap) -> Response {
    let (body, etag) = match format {
        Format::Json => (&page.json, &page.json_etag),
        Format::Html | Format::TextHtml => (&page.html, &page.html_etag),
    };
    let mut response = if if_none_match(headers, etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, format.content_type())],
            body.clone(),
        )
            .into_response()
    };
    page_headers(
        response.headers_mut(),
        Some(etag.clone()),
        Some(page.last_modified.clone()),
    );
    response
}

/// Whether `If-None-Match` names `etag` (weak or strong) or `*`.
fn if_none_match(headers: &HeaderMap, etag: &[u8]) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/").as_bytes() == etag || t.trim() == "*")
        })
}

/// The caching and version headers of every simple page.
fn page_headers(h: &mut HeaderMap, etag: Option<HeaderValue>, last_modified: Option<HeaderValue>) {
    if let Some(v) = etag {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = last_modified {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, must-revalidate"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    h.insert(
        "x-pypi-repository-version",
        HeaderValue::from_static(API_VERSION),
    );
}

fn negotiate(headers: &HeaderMap, query: &FormatQuery) -> Result<Format, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate::choose(accept, query.format.as_deref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: this index serves application/vnd.pypi.simple.v1+json, \
             application/vnd.pypi.simple.v1+html and text/html",
        )
    })
}

/// `GET /simple/`: the root list, assembled from its parts ([`crate::simple_root`]); gzip when
/// the client takes it, from the parts' own compressed bytes.
pub async fn root(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let format = negotiate(&headers, &query)?;
    let store = state.store.clone();
    let answer = state
        .pages
        .root
        .answer(|from, to| {
            let store = store.clone();
            async move { store.projects_between(&from, to.as_deref()).await }
        })
        .await?;
    let assembled = match format {
        Format::Json => &answer.1,
        Format::Html | Format::TextHtml => &answer.0,
    };
    let gzip = accepts_gzip(&headers);
    let etag = if gzip {
        format!("{}-gz\"", assembled.etag.trim_end_matches('"'))
    } else {
        assembled.etag.clone()
    };
    let mut response = if if_none_match(&headers, etag.as_bytes()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let pieces = if gzip {
            &assembled.gzip
        } else {
            &assembled.raw
        };
        let mut r = axum::body::Body::new(Pieces::new(pieces)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        if gzip {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    page_headers(
        response.headers_mut(),
        HeaderValue::try_from(etag).ok(),
        HeaderValue::from_str(&answer.2).ok(),
    );
    Ok(response)
}

/// Whether `Accept-Encoding` takes gzip (with a non-zero weight).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip")) && !zero
        })
}

/// A body sent piece by piece, without copying the pieces together.
struct Pieces {
    pieces: std::collections::VecDeque<axum::body::Bytes>,
    left: u64,
}

impl Pieces {
    fn new(pieces: &[axum::body::Bytes]) -> Self {
        Self {
            left: pieces.iter().map(|p| p.len() as u64).sum(),
            pieces: pieces.iter().cloned().collect(),
        }
    }
}

impl hyper::body::Body for Pieces {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let next = self.pieces.pop_front();
        if let Some(p) = &next {
            self.left -= p.len() as u64;
        }
        std::task::Poll::Ready(next.map(|p| Ok(hyper::body::Frame::data(p))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// `GET /simple/{project}/`.
pub async fn project(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(query): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let normalized = picket_formats::normalize(&name);
    if normalized != name {
        let mut location = format!("/simple/{normalized}/");
        if let Some(format) = &query.format {
            location.push_str("?format=");
            location.push_str(&url_escape(format));
        }
        return Ok(Redirect::permanent(&location).into_response());
    }
    let format = negotiate(&headers, &query)?;
    let page = match state.pages.get(&normalized) {
        Some(page) => page,
        None => {
            let generation = state.pages.generation();
            let Some(project) = state.store.project(&normalized).await? else {
                // Only a name this index does not have is asked upstream: one it has, in any
                // state, is never resolved there (the dependency-confusion defence).
                if let Some(upstream) = &state.upstream {
                    return Ok(upstream.page_response(&normalized, &headers).await);
                }
                return Err(ApiError::not_found(format!(
                    "Not Found: no project named `{normalized}`"
                )));
            };
            let page = if project.quarantine.is_some() {
                Arc::new(render_project(
                    &project.name,
                    &[],
                    &[],
                    Some(("quarantined", QUARANTINE_NOTICE)),
                ))
            } else {
                let files = state.store.project_files(&normalized).await?;
                let versions = state.versions(&normalized).await?;
                let status = project.status.as_ref();
                Arc::new(render_project(
                    &project.name,
                    &files,
                    &versions,
                    status.map(|s| (s.status.as_str(), s.reason.as_str())),
                ))
            };
            state.pages.insert(normalized, page.clone(), generation);
            page
        }
    };
    Ok(respond(&page, format, &headers))
}

/// `GET /simple/{project}` (no slash): redirect to the canonical URL.
pub async fn project_no_slash(Path(name): Path<String>) -> Redirect {
    Redirect::permanent(&format!(
        "/simple/{}/",
        url_escape(&picket_formats::normalize(&name))
    ))
}

pub(crate) fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, yanked: Option<&str>, meta: bool) -> FileRow {
        FileRow {
            filename: name.into(),
            version: "1.0".into(),
            packagetype: "bdist_wheel".into(),
            sha256: "ab".repeat(32),
            md5: None,
            blake2_256: None,
            size: 42,
            requires_python: Some(">=3.9".into()),
            yanked: yanked.is_some(),
            yanked_reason: yanked.map(str::to_owned),
            upload_time: 0,
            metadata_sha256: meta.then(|| "cd".repeat(32)),
        }
    }

    #[test]
    fn html_escapes_and_carries_the_pep_attributes() {
        let page = render_project(
            "Demo",
            &[file("demo-1.0-py3-none-any.whl", Some("bad <build>"), true)],
            &["1.0".into()],
            None,
        );
        let html = String::from_utf8(page.html.to_vec()).unwrap();
        assert!(html.contains("data-requires-python=\"&gt;=3.9\""), "{html}");
        assert!(html.contains("data-yanked=\"bad &lt;build&gt;\""), "{html}");
        assert!(html.contains(&format!(
            "data-core-metadata=\"sha256={}\"",
            "cd".repeat(32)
        )));
        assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.4\">"));
        assert!(!html.contains("project-status"), "{html}");
    }

    #[test]
    fn quarantined_pages_carry_the_pep_792_status_and_no_files() {
        let page = render_project("Demo", &[], &[], Some(("quarantined", QUARANTINE_NOTICE)));
        let v: serde_json::Value = serde_json::from_slice(&page.json).unwrap();
        assert_eq!(v["project-status"]["status"], "quarantined");
        assert_eq!(v["files"], serde_json::json!([]));
        let html = String::from_utf8(page.html.to_vec()).unwrap();
        assert!(
            html.contains("<meta name=\"pypi:project-status\" content=\"quarantined\">"),
            "{html}"
        );
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn archived_pages_keep_their_files_and_carry_the_status_and_reason() {
        let page = render_project(
            "Demo",
            &[file("demo-1.0-py3-none-any.whl", None, false)],
            &["1.0".into()],
            Some(("archived", "moved to <demo2>")),
        );
        let v: serde_json::Value = serde_json::from_slice(&page.json).unwrap();
        assert_eq!(v["project-status"]["status"], "archived");
        assert_eq!(v["project-status"]["reason"], "moved to <demo2>");
        assert_eq!(v["files"].as_array().unwrap().len(), 1);
        let html = String::from_utf8(page.html.to_vec()).unwrap();
        assert!(html.contains("<meta name=\"pypi:project-status\" content=\"archived\">"));
        assert!(html.contains(
            "<meta name=\"pypi:project-status-reason\" content=\"moved to &lt;demo2&gt;\">"
        ));
        let page = render_project("Demo", &[], &[], Some(("deprecated", "")));
        let v: serde_json::Value = serde_json::from_slice(&page.json).unwrap();
        assert_eq!(
            v["project-status"],
            serde_json::json!({ "status": "deprecated" })
        );
        assert!(
            !String::from_utf8(page.html.to_vec())
                .unwrap()
                .contains("project-status-reason")
        );
    }

    /// A cached page is answered with its own bytes and headers in either format, the same page
    /// object each time (the body is shared, not copied), and `If-None-Match` gets a 304.
    #[tokio::test]
    async fn cached_pages_answer_with_their_bytes_and_headers_in_both_formats() {
        let page = render_project(
            "Demo",
            &[file("demo-1.0-py3-none-any.whl", None, true)],
            &["1.0".into()],
            None,
        );
        for (format, accept, body, etag) in [
            (
                Format::TextHtml,
                "text/html; charset=utf-8",
                &page.html,
                &page.html_etag,
            ),
            (
                Format::Html,
                "application/vnd.pypi.simple.v1+html",
                &page.html,
                &page.html_etag,
            ),
            (
                Format::Json,
                "application/vnd.pypi.simple.v1+json",
                &page.json,
                &page.json_etag,
            ),
        ] {
            let response = respond(&page, format, &HeaderMap::new());
            assert_eq!(response.status(), StatusCode::OK);
            let h = response.headers().clone();
            assert_eq!(h[header::CONTENT_TYPE], accept);
            assert_eq!(&h[header::ETAG], etag);
            assert_eq!(h[header::CACHE_CONTROL], "max-age=0, must-revalidate");
            assert_eq!(h[header::VARY], "Accept, Accept-Encoding");
            assert_eq!(h["x-pypi-repository-version"], API_VERSION);
            assert_eq!(h[header::LAST_MODIFIED], page.last_modified);
            let sent = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            assert_eq!(&sent, body);
            assert_eq!(
                sent.as_ptr(),
                body.as_ptr(),
                "the body is shared, not copied"
            );

            let mut conditional = HeaderMap::new();
            conditional.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(&format!("\"other\", W/{}", etag.to_str().unwrap())).unwrap(),
            );
            let response = respond(&page, format, &conditional);
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(&response.headers()[header::ETAG], etag);
        }
        assert_ne!(page.html_etag, page.json_etag);
        let html = String::from_utf8(page.html.to_vec()).unwrap();
        assert!(
            html.starts_with("<!DOCTYPE html>\n<html>\n  <head>\n"),
            "{html}"
        );
        assert!(html.ends_with("</a><br />\n  </body>\n</html>\n"), "{html}");
    }

    #[test]
    fn json_follows_pep_691_and_700() {
        let page = render_project(
            "Demo_Pkg",
            &[file("a.whl", None, false), file("b.whl", Some(""), true)],
            &["1.0".into()],
            None,
        );
        let v: serde_json::Value = serde_json::from_slice(&page.json).unwrap();
        assert_eq!(v["meta"]["api-version"], "1.4");
        assert_eq!(v["name"], "demo-pkg");
        assert_eq!(v["versions"], serde_json::json!(["1.0"]));
        assert_eq!(v["files"][0]["yanked"], false);
        assert_eq!(v["files"][0]["core-metadata"], false);
        assert_eq!(v["files"][0]["upload-time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["files"][1]["yanked"], true);
        assert_eq!(v["files"][1]["size"], 42);
    }
}
