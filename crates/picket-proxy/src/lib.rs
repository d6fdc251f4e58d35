//! `picket proxy`: a PEP 503/691 index in front of upstream indexes that pip, uv, poetry and pdm
//! use unchanged, with picket's install-time policies.
//!
//! - **Pages** are fetched from the upstreams in order (the first that has the project answers),
//!   kept on disk with their validators and revalidated (`If-None-Match`) once `page-ttl-secs`
//!   have passed; with every upstream failing, a cached page up to `stale-if-error-secs` old is
//!   served with an `X-Picket-Stale` header. Rendered pages are kept in memory.
//! - **Files** are listed at `/files/{sha256}/{filename}`: fetched once, streamed to disk while
//!   hashed, compared with the sha256 the page lists, inspected (empty packages, hostile
//!   archives), and only then stored, content-addressed. A file without a sha256 is not listed:
//!   it could not be verified. PEP 658 metadata passes through beside its file.
//! - **One upstream request per miss**: concurrent requests for one page or file wait for the
//!   first one's fetch.
//! - **Policies** ([`Policy`]): a release younger than the cooldown (or yanked, if so set) is
//!   left off the page so resolvers pick an older one; a denied, known-malicious, look-alike or
//!   empty package is listed but its download refused with a 403 whose reason phrase says why —
//!   pip and uv print that phrase. Every decision is journaled (`decisions.jsonl`), counted in
//!   `/metrics`, and listed by `picket proxy report`.

mod config;
pub mod osv_api;
mod policy;
mod upstream;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use picket_formats::simple_api::{
    FileEntry, JSON_CONTENT_TYPE, ProjectPage, ProjectStatus, Yanked,
};
use picket_formats::{DistFilename, Version};
use serde::{Deserialize, Serialize};

pub use config::{ProxyConfig, Unknown, YankedPolicy, parse_duration};
pub use policy::{Decision, Policy, Rule};
pub use upstream::{Upstream, UpstreamError};

/// How long a rendered page is reused before the policy is applied again (cooldowns end, the
/// OSV database changes).
const RENDER_SECS: u64 = 60;
/// How long a page served stale (every upstream failing) is served before upstream is tried
/// again.
const STALE_RETRY_SECS: u64 = 30;
/// The largest PEP 658 metadata file fetched.
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// What a proxy knows about a file it listed.
#[derive(Debug, Clone)]
struct FileInfo {
    project: String,
    display: String,
    version: Version,
    filename: String,
    url: url::Url,
    uploaded: Option<i64>,
    yanked: bool,
}

/// A page as served.
struct Rendered {
    json: Bytes,
    html: Bytes,
    etag: String,
    /// When upstream last confirmed it.
    fetched: SystemTime,
    made: Instant,
    /// Why it is served stale, if it is.
    stale: Option<String>,
}

/// An upstream page and what came with it; no body for a 304.
type UpstreamPage = (PageMeta, Option<Vec<u8>>);

/// A page on disk: the upstream body and what came with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PageMeta {
    url: String,
    upstream: usize,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    /// Seconds since the epoch when upstream last confirmed it.
    fetched: i64,
}

/// One journaled decision.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JournalEntry {
    /// RFC 3339.
    pub time: String,
    /// `hide` or `block`.
    pub action: String,
    /// The rule ([`Rule::as_str`]).
    pub rule: String,
    /// The project, normalized.
    pub project: String,
    /// The release.
    pub version: String,
    /// The file.
    pub file: String,
    /// The reason shown to the client.
    pub reason: String,
}

#[derive(Default)]
struct Metrics {
    page_requests: AtomicU64,
    page_memory_hits: AtomicU64,
    upstream_pages: AtomicU64,
    upstream_not_modified: AtomicU64,
    upstream_errors: AtomicU64,
    stale_pages: AtomicU64,
    file_requests: AtomicU64,
    file_cache_hits: AtomicU64,
    upstream_files: AtomicU64,
    upstream_file_bytes: AtomicU64,
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

struct Inner {
    config: ProxyConfig,
    /// Where files are served: `/files` for `picket proxy`, another path beside an index's own.
    files_path: String,
    upstreams: Vec<url::Url>,
    client: Upstream,
    policy: Policy,
    dir: PathBuf,
    data_dir: PathBuf,
    osv: Mutex<(Arc<osv_api::Indexed>, Option<SystemTime>, Instant)>,
    /// Rendered pages: read by every warm request, written on a miss.
    pages: std::sync::RwLock<HashMap<String, Arc<Rendered>>>,
    files: Mutex<HashMap<String, FileInfo>>,
    verdicts: Mutex<HashMap<String, Decision>>,
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    journal: Mutex<Option<std::fs::File>>,
    logged: Mutex<HashSet<(String, &'static str)>>,
    /// What this instance decided, once per file and rule, for `picket guard`'s summary.
    decided: Mutex<Vec<JournalEntry>>,
    metrics: Metrics,
}

/// A running proxy's state; cheap to clone.
#[derive(Clone)]
pub struct Proxy(Arc<Inner>);

/// An HTTP error with a message for people.
struct Refusal {
    status: StatusCode,
    message: String,
    /// A reason phrase in place of the standard one.
    phrase: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            phrase: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.message),
        )
            .into_response();
        if let Some(phrase) = self.phrase
            && let Ok(phrase) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes())
        {
            response.extensions_mut().insert(phrase);
        }
        response
    }
}

/// The journal and the caches of a proxy live here, inside the data folder.
pub fn proxy_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("proxy")
}

impl Proxy {
    /// A proxy for `config`, keeping its caches under `data_dir`.
    pub fn new(data_dir: &Path, config: ProxyConfig, policy: Policy) -> Result<Self, String> {
        Self::new_at(data_dir, config, policy, "/files")
    }

    /// [`Proxy::new`] serving its files under `files_path` (`/upstream-files`), for an index
    /// that serves its own at `/files`.
    pub fn new_at(
        data_dir: &Path,
        config: ProxyConfig,
        policy: Policy,
        files_path: &str,
    ) -> Result<Self, String> {
        config.validate()?;
        let upstreams = config
            .upstream
            .iter()
            .map(|u| {
                let mut url = url::Url::parse(u).map_err(|e| format!("upstream `{u}`: {e}"))?;
                if !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                Ok(url)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let dir = proxy_dir(data_dir);
        for sub in ["pages", "files", "tmp"] {
            std::fs::create_dir_all(dir.join(sub))
                .map_err(|e| format!("creating {}: {e}", dir.join(sub).display()))?;
        }
        let journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("decisions.jsonl"))
            .map_err(|e| format!("opening {}: {e}", dir.join("decisions.jsonl").display()))?;
        let client = Upstream::new(Duration::from_secs(config.upstream_timeout_secs.max(1)));
        let (osv, stamp) = load_osv(data_dir)?;
        Ok(Self(Arc::new(Inner {
            files_path: files_path.trim_end_matches('/').to_owned(),
            config,
            upstreams,
            client,
            policy,
            dir,
            data_dir: data_dir.to_owned(),
            osv: Mutex::new((Arc::new(osv_api::Indexed::new(osv)), stamp, Instant::now())),
            pages: std::sync::RwLock::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
            verdicts: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            journal: Mutex::new(Some(journal)),
            logged: Mutex::new(HashSet::new()),
            decided: Mutex::new(Vec::new()),
            metrics: Metrics::default(),
        })))
    }

    /// The page of `project` (normalized) as `GET /simple/{project}/` answers it, negotiated
    /// from `headers`: for an index that falls back to its upstreams for names it does not have.
    pub async fn page_response(&self, project: &str, headers: &HeaderMap) -> Response {
        project_page(
            State(self.clone()),
            UrlPath(project.to_owned()),
            headers.clone(),
        )
        .await
    }

    /// Which upstream has `project` (normalized), if one does; an error when they could not be
    /// asked. For an index that must not let a local name shadow an upstream one.
    pub async fn has_project(&self, project: &str) -> Result<Option<String>, String> {
        match self.page(project).await {
            Ok(_) => {
                let meta = read_page(&self.0.dir, project).map(|(m, _)| m.upstream);
                Ok(Some(
                    meta.and_then(|i| self.0.upstreams.get(i))
                        .map_or_else(|| "upstream".to_owned(), ToString::to_string),
                ))
            }
            Err(r) if r.status == StatusCode::NOT_FOUND => Ok(None),
            Err(r) => Err(r.message),
        }
    }

    /// The routes of the files this proxy lists (`{files_path}/{sha256}/{filename}`), for an
    /// index that mounts [`Proxy::page_response`].
    pub fn file_router<S>(&self) -> Router<S> {
        Router::new()
            .route(
                &format!("{}/{{sha256}}/{{filename}}", self.0.files_path),
                get(file),
            )
            .with_state(self.clone())
    }

    /// What this proxy hid or refused since it started, once per file and rule.
    pub fn decisions(&self) -> Vec<JournalEntry> {
        self.0.decided.lock().expect("decided lock").clone()
    }

    /// The upstream URLs, in the order asked.
    pub fn upstreams(&self) -> Vec<String> {
        self.0.upstreams.iter().map(ToString::to_string).collect()
    }

    /// The routes: `/simple/`, `/simple/{project}/`, `/files/{sha256}/{filename}`, `/metrics`,
    /// and the OSV API over the imported advisories ([`osv_api`]).
    pub fn router(&self) -> Router {
        Router::new()
            .merge(osv_api::routes())
            .route("/simple/", get(root))
            .route("/simple", get(|| async { redirect("/simple/") }))
            .route("/simple/{project}/", get(project_page))
            .route(
                "/simple/{project}",
                get(|UrlPath(p): UrlPath<String>| async move {
                    redirect(&format!("/simple/{}/", picket_formats::normalize(&p)))
                }),
            )
            .route("/files/{sha256}/{filename}", get(file))
            .route("/metrics", get(metrics))
            .with_state(self.clone())
    }

    /// The OSV database, read again when its file changed (checked at most every 5 s).
    fn osv(&self) -> Arc<osv_api::Indexed> {
        let mut guard = self.0.osv.lock().expect("osv lock");
        if guard.2.elapsed() >= Duration::from_secs(5) {
            guard.2 = Instant::now();
            let stamp = osv_stamp(&self.0.data_dir);
            if stamp != guard.1 {
                match load_osv(&self.0.data_dir) {
                    Ok((db, stamp)) => {
                        guard.0 = Arc::new(osv_api::Indexed::new(db));
                        guard.1 = stamp;
                        self.0.pages.write().expect("pages lock").clear();
                    }
                    Err(e) => tracing::warn!(error = %e, "re-reading the OSV database"),
                }
            }
        }
        guard.0.clone()
    }

    fn flight(&self, key: String) -> Arc<tokio::sync::Mutex<()>> {
        self.0
            .flights
            .lock()
            .expect("flights lock")
            .entry(key)
            .or_default()
            .clone()
    }

    /// The inspection's verdict on a file, where it applies: an unsafe archive is refused even
    /// for a project on the allow list, an empty one is not.
    fn verdict(&self, project: &str, sha: &str) -> Option<Decision> {
        let verdicts = self.0.verdicts.lock().expect("verdicts lock");
        let verdict = verdicts.get(sha)?;
        let applies = match verdict {
            Decision::Block(rule @ Rule::EmptyPackage, _) => !self.0.policy.exempt(project, *rule),
            _ => true,
        };
        applies.then(|| verdict.clone())
    }

    fn decide(&self, info: &FileInfo, sha: &str) -> Decision {
        if let Some(verdict) = self.verdict(&info.project, sha) {
            return verdict;
        }
        let project = self.0.policy.project(&info.project, &info.display);
        let facts = policy::FileFacts {
            project: &info.project,
            display: &info.display,
            version: &info.version,
            uploaded: info.uploaded,
            yanked: info.yanked,
        };
        self.0
            .policy
            .file(&facts, &project, &self.osv().db, now_unix())
    }

    /// Journals a decision (once per file and rule per run) and counts it (every time).
    fn record(&self, info: &FileInfo, decision: &Decision) {
        let (action, rule, reason) = match decision {
            Decision::Allow => return,
            Decision::Hide(rule, reason) => ("hide", *rule, reason),
            Decision::Block(rule, reason) => ("block", *rule, reason),
        };
        *self
            .0
            .metrics
            .decisions
            .lock()
            .expect("metrics lock")
            .entry((action, rule.as_str()))
            .or_default() += 1;
        if !self
            .0
            .logged
            .lock()
            .expect("logged lock")
            .insert((info.filename.clone(), rule.as_str()))
        {
            return;
        }
        tracing::info!(action, rule = rule.as_str(), file = %info.filename, %reason, "policy decision");
        let entry = JournalEntry {
            time: rfc3339(now_unix()),
            action: action.to_owned(),
            rule: rule.as_str().to_owned(),
            project: info.project.clone(),
            version: info.version.to_string(),
            file: info.filename.clone(),
            reason: reason.clone(),
        };
        if let Some(file) = self.0.journal.lock().expect("journal lock").as_mut() {
            let mut line = serde_json::to_vec(&entry).unwrap_or_default();
            line.push(b'\n');
            if let Err(e) = file.write_all(&line) {
                tracing::warn!(error = %e, "writing the decision journal");
            }
        }
        self.0.decided.lock().expect("decided lock").push(entry);
    }

    /// The rendered page of `project`: from memory, from the disk cache while fresh, else from
    /// upstream (revalidated), else stale from disk, else an error.
    async fn page(&self, project: &str) -> Result<Arc<Rendered>, Refusal> {
        let ttl = Duration::from_secs(self.0.config.page_ttl_secs);
        // A page served stale is tried upstream again only after STALE_RETRY_SECS, so a hanging
        // upstream costs one request its timeout, not every request.
        let usable = |r: &Rendered| match r.stale {
            Some(_) => r.made.elapsed() < Duration::from_secs(STALE_RETRY_SECS),
            None => {
                r.fetched.elapsed().unwrap_or(Duration::MAX) < ttl
                    && r.made.elapsed() < Duration::from_secs(RENDER_SECS)
            }
        };
        if let Some(r) = self.0.pages.read().expect("pages lock").get(project)
            && usable(r)
        {
            self.0
                .metrics
                .page_memory_hits
                .fetch_add(1, Ordering::Relaxed);
            return Ok(r.clone());
        }
        let flight = self.flight(format!("page:{project}"));
        let _guard = flight.lock().await;
        if let Some(r) = self.0.pages.read().expect("pages lock").get(project)
            && usable(r)
        {
            return Ok(r.clone());
        }
        let cached = read_page(&self.0.dir, project);
        let fresh = cached
            .as_ref()
            .is_some_and(|(m, _)| now_unix().saturating_sub(m.fetched) < secs(ttl));
        let (meta, body, stale) = if let (true, Some((meta, body))) = (fresh, cached.as_ref()) {
            (meta.clone(), body.clone(), None)
        } else {
            let this = self.clone();
            let project_owned = project.to_owned();
            let validators = cached.as_ref().map(|(m, _)| m.clone());
            let fetched = tokio::task::spawn_blocking(move || {
                this.fetch_page(&project_owned, validators.as_ref())
            })
            .await
            .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            match fetched {
                Ok(Some((meta, Some(body)))) => (meta, body, None),
                Ok(Some((meta, None))) => match cached {
                    // 304: the cached body stands, confirmed now.
                    Some((_, body)) => (meta, body, None),
                    None => {
                        return Err(Refusal::new(
                            StatusCode::BAD_GATEWAY,
                            "upstream answered 304 to an unconditional request",
                        ));
                    }
                },
                Ok(None) => {
                    let _ = std::fs::remove_file(page_path(&self.0.dir, project, "json"));
                    let _ = std::fs::remove_file(page_path(&self.0.dir, project, "body"));
                    self.0.pages.write().expect("pages lock").remove(project);
                    return Err(Refusal::new(
                        StatusCode::NOT_FOUND,
                        format!("{project}: no upstream index has this project"),
                    ));
                }
                Err(e) => {
                    self.0
                        .metrics
                        .upstream_errors
                        .fetch_add(1, Ordering::Relaxed);
                    let limit =
                        i64::try_from(self.0.config.stale_if_error_secs).unwrap_or(i64::MAX);
                    match cached {
                        Some((meta, body)) if now_unix().saturating_sub(meta.fetched) < limit => {
                            tracing::warn!(error = %e, project, "upstream failed; serving the cached page");
                            self.0.metrics.stale_pages.fetch_add(1, Ordering::Relaxed);
                            (meta, body, Some(e))
                        }
                        _ => return Err(Refusal::new(StatusCode::BAD_GATEWAY, e)),
                    }
                }
            }
        };
        let page = parse_page(&meta, &body)
            .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, format!("{}: {e}", meta.url)))?;
        let rendered = Arc::new(self.render(project, &meta, &page, stale)?);
        self.0
            .pages
            .write()
            .expect("pages lock")
            .insert(project.to_owned(), rendered.clone());
        Ok(rendered)
    }

    /// Asks the upstreams in order. `Ok(None)`: none has the project. A body of `None` is a 304.
    /// A page that does not parse is an error, and is not cached.
    fn fetch_page(
        &self,
        project: &str,
        cached: Option<&PageMeta>,
    ) -> Result<Option<UpstreamPage>, String> {
        let accept = format!(
            "{JSON_CONTENT_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
        );
        for (i, base) in self.0.upstreams.iter().enumerate() {
            let url = base
                .join(&format!("{project}/"))
                .map_err(|e| format!("{base}: {e}"))?;
            let validators = cached
                .filter(|m| m.upstream == i)
                .map_or((None, None), |m| {
                    (m.etag.as_deref(), m.last_modified.as_deref())
                });
            let fetched = self
                .0
                .client
                .get(&url, &accept, validators, self.0.config.max_page_bytes)
                .map_err(|e| e.to_string())?;
            if fetched.status == 404 {
                continue;
            }
            let mut meta = PageMeta {
                url: fetched.url.to_string(),
                upstream: i,
                etag: fetched.etag.clone(),
                last_modified: fetched.last_modified.clone(),
                content_type: fetched.content_type.clone(),
                fetched: now_unix(),
            };
            if fetched.status == 304 {
                self.0
                    .metrics
                    .upstream_not_modified
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(old) = cached {
                    meta.content_type.clone_from(&old.content_type);
                    meta.url.clone_from(&old.url);
                }
                write_page(&self.0.dir, project, &meta, None);
                return Ok(Some((meta, None)));
            }
            self.0
                .metrics
                .upstream_pages
                .fetch_add(1, Ordering::Relaxed);
            parse_page(&meta, &fetched.body)
                .map_err(|e| format!("upstream {url}: {e}; refused"))?;
            write_page(&self.0.dir, project, &meta, Some(&fetched.body));
            return Ok(Some((meta, Some(fetched.body))));
        }
        Ok(None)
    }

    fn render(
        &self,
        project: &str,
        meta: &PageMeta,
        page: &ProjectPage,
        stale: Option<String>,
    ) -> Result<Rendered, Refusal> {
        let base = url::Url::parse(&meta.url)
            .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, format!("{}: {e}", meta.url)))?;
        let display = page.name.clone().unwrap_or_else(|| project.to_owned());
        let project_decision = self.0.policy.project(project, &display);
        let osv = self.osv();
        let now = now_unix();
        let mut listed: Vec<(&FileEntry, String)> = Vec::new();
        let mut versions = std::collections::BTreeSet::new();
        for entry in &page.files {
            let Ok(parsed) = entry.filename.parse::<DistFilename>() else {
                continue;
            };
            if parsed.name().normalized() != project || entry.filename.contains('/') {
                continue;
            }
            let Some(sha) = entry
                .hashes
                .get("sha256")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            else {
                tracing::debug!(file = %entry.filename, "no sha256 upstream; not listed");
                continue;
            };
            let Ok(url) = base.join(&entry.url) else {
                continue;
            };
            let info = FileInfo {
                project: project.to_owned(),
                display: display.clone(),
                version: parsed.version().clone(),
                filename: entry.filename.clone(),
                url,
                uploaded: entry
                    .upload_time
                    .as_deref()
                    .and_then(picket_formats::time::unix_seconds),
                yanked: entry.yanked != Yanked::No,
            };
            let decision = match self.verdict(project, sha) {
                Some(v) => v,
                None => {
                    let facts = policy::FileFacts {
                        project,
                        display: &display,
                        version: &info.version,
                        uploaded: info.uploaded,
                        yanked: info.yanked,
                    };
                    self.0.policy.file(&facts, &project_decision, &osv.db, now)
                }
            };
            if let Decision::Hide(..) = decision {
                self.record(&info, &decision);
                continue;
            }
            versions.insert(info.version.clone());
            self.0
                .files
                .lock()
                .expect("files lock")
                .insert(sha.clone(), info);
            listed.push((entry, sha.clone()));
        }
        let files = self.0.files_path.trim_start_matches('/');
        // The upstream's PEP 792 status passes through: an installer behind the proxy sees that a
        // project is archived, deprecated or quarantined as it would upstream.
        let status = (page.status, page.status_reason.as_deref());
        let json = render_json(&display, &listed, &versions, files, status);
        let html = render_html(&display, &listed, files, status);
        let etag = format!("\"{}\"", &picket_formats::hashes::sha256_hex(&json)[..32]);
        Ok(Rendered {
            json: Bytes::from(json),
            html: Bytes::from(html),
            etag,
            fetched: SystemTime::UNIX_EPOCH
                + Duration::from_secs(u64::try_from(meta.fetched).unwrap_or(0)),
            made: Instant::now(),
            stale,
        })
    }

    /// Fetches, verifies, inspects and stores one file. Returns the inspection's verdict when
    /// it refuses the file (nothing is stored then).
    fn fetch_file(&self, sha: &str, info: &FileInfo) -> Result<Option<Decision>, String> {
        let final_path = blob_path(&self.0.dir, sha);
        // Named as the file (inspection goes by the extension), in a folder of its own.
        let folder = self
            .0
            .dir
            .join("tmp")
            .join(format!("{sha}.{}", std::process::id()));
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let temp = folder.join(&info.filename);
        let result = self.fetch_into(sha, info, &temp, &final_path);
        let _ = std::fs::remove_dir_all(&folder);
        result
    }

    fn fetch_into(
        &self,
        sha: &str,
        info: &FileInfo,
        temp: &Path,
        final_path: &Path,
    ) -> Result<Option<Decision>, String> {
        let allowed = self.0.policy.exempt(&info.project, Rule::EmptyPackage);
        let size = self
            .0
            .client
            .download(&info.url, sha, self.0.config.max_file_bytes, temp)
            .map_err(|e| e.to_string())?;
        self.0
            .metrics
            .upstream_files
            .fetch_add(1, Ordering::Relaxed);
        self.0
            .metrics
            .upstream_file_bytes
            .fetch_add(size, Ordering::Relaxed);
        let limits = picket_inspect::Limits::default();
        let verdict = match picket_inspect::inspect_path(temp, &limits) {
            Err(e) => Some(Decision::Block(
                Rule::Unsafe,
                format!(
                    "{}: the archive was refused on inspection: {e}",
                    info.filename
                ),
            )),
            Ok(inventory) if inventory.emptiness.empty && self.0.policy.empty && !allowed => {
                Some(Decision::Block(
                    Rule::EmptyPackage,
                    format!(
                        "{} holds no code ({}); empty packages are placeholders for squatting or a later malicious release",
                        info.filename, inventory.emptiness.reason
                    ),
                ))
            }
            Ok(_) => None,
        };
        if let Some(v) = &verdict {
            let _ = std::fs::remove_file(temp);
            self.0
                .verdicts
                .lock()
                .expect("verdicts lock")
                .insert(sha.to_owned(), v.clone());
            return Ok(Some(v.clone()));
        }
        if let Some(parent) = final_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::rename(temp, final_path).map_err(|e| {
            let _ = std::fs::remove_file(temp);
            format!("storing {}: {e}", final_path.display())
        })?;
        Ok(None)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn osv_stamp(data_dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(picket_osv::store_path(data_dir))
        .and_then(|m| m.modified())
        .ok()
}

fn load_osv(data_dir: &Path) -> Result<(picket_osv::Database, Option<SystemTime>), String> {
    let stamp = osv_stamp(data_dir);
    let db = picket_osv::Database::load(data_dir)
        .map_err(|e| format!("reading the OSV database: {e}"))?;
    Ok((db, stamp))
}

fn page_path(dir: &Path, project: &str, ext: &str) -> PathBuf {
    dir.join("pages").join(format!("{project}.{ext}"))
}

fn blob_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("files").join(&sha[..2]).join(sha)
}

fn read_page(dir: &Path, project: &str) -> Option<(PageMeta, Vec<u8>)> {
    let meta: PageMeta =
        serde_json::from_slice(&std::fs::read(page_path(dir, project, "json")).ok()?).ok()?;
    Some((meta, std::fs::read(page_path(dir, project, "body")).ok()?))
}

/// Writes atomically (temp file, then rename); a cache that cannot be written costs a refetch.
fn write_page(dir: &Path, project: &str, meta: &PageMeta, body: Option<&[u8]>) {
    let write = |path: PathBuf, bytes: &[u8]| -> std::io::Result<()> {
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&temp, bytes)?;
        std::fs::rename(temp, path)
    };
    let result = body
        .map_or(Ok(()), |b| write(page_path(dir, project, "body"), b))
        .and_then(|()| {
            write(
                page_path(dir, project, "json"),
                &serde_json::to_vec(meta).unwrap_or_default(),
            )
        });
    if let Err(e) = result {
        tracing::warn!(error = %e, project, "caching a page");
    }
}

fn parse_page(meta: &PageMeta, body: &[u8]) -> Result<ProjectPage, String> {
    let json = meta
        .content_type
        .as_deref()
        .is_some_and(|t| t.contains("json"));
    if json {
        ProjectPage::from_json(body)
    } else {
        ProjectPage::from_html(body)
    }
    .map_err(|e| e.to_string())
}

/// The simple API version the proxy's pages declare: 1.4, for PEP 792's status markers (every
/// field added since 1.0 is optional).
const API_VERSION: &str = "1.4";

fn render_json(
    display: &str,
    files: &[(&FileEntry, String)],
    versions: &std::collections::BTreeSet<Version>,
    files_path: &str,
    (status, reason): (ProjectStatus, Option<&str>),
) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(f, sha)| {
            let mut v = serde_json::json!({
                "filename": f.filename,
                "url": format!("../../{files_path}/{sha}/{}", f.filename),
                "hashes": {"sha256": sha},
            });
            if let Some(rp) = &f.requires_python {
                v["requires-python"] = rp.clone().into();
            }
            match &f.yanked {
                Yanked::No => {}
                Yanked::Yes(None) => v["yanked"] = true.into(),
                Yanked::Yes(Some(r)) => v["yanked"] = r.clone().into(),
            }
            if let Some(size) = f.size {
                v["size"] = size.into();
            }
            if let Some(t) = &f.upload_time {
                v["upload-time"] = t.clone().into();
            }
            if f.core_metadata {
                v["core-metadata"] = true.into();
            }
            v
        })
        .collect();
    let mut doc = serde_json::json!({
        "meta": {"api-version": API_VERSION},
        "name": display,
        "versions": versions.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "files": files,
    });
    if status != ProjectStatus::Active {
        doc["project-status"] = serde_json::json!({ "status": status.as_str() });
        if let Some(reason) = reason {
            doc["project-status"]["reason"] = reason.into();
        }
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

fn render_html(
    display: &str,
    files: &[(&FileEntry, String)],
    files_path: &str,
    (status, reason): (ProjectStatus, Option<&str>),
) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(256 + files.len() * 200);
    let mut status_meta = String::new();
    if status != ProjectStatus::Active {
        let _ = write!(
            status_meta,
            "<meta name=\"pypi:project-status\" content=\"{}\">",
            status.as_str()
        );
        if let Some(reason) = reason {
            let _ = write!(
                status_meta,
                "<meta name=\"pypi:project-status-reason\" content=\"{}\">",
                escape(reason)
            );
        }
    }
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">{status_meta}<title>Links for {0}</title></head>\n<body>\n<h1>Links for {0}</h1>\n",
        escape(display)
    );
    for (f, sha) in files {
        let _ = write!(
            out,
            "<a href=\"../../{files_path}/{sha}/{0}#sha256={sha}\"",
            escape(&f.filename)
        );
        if let Some(rp) = &f.requires_python {
            let _ = write!(out, " data-requires-python=\"{}\"", escape(rp));
        }
        match &f.yanked {
            Yanked::No => {}
            Yanked::Yes(r) => {
                let _ = write!(
                    out,
                    " data-yanked=\"{}\"",
                    escape(r.as_deref().unwrap_or_default())
                );
            }
        }
        if f.core_metadata {
            out.push_str(" data-core-metadata=\"true\"");
        }
        let _ = writeln!(out, ">{}</a><br>", escape(&f.filename));
    }
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

fn redirect(to: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, to.to_owned())],
    )
        .into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            // The first of the two simple-API media types named wins; q-values are rare here.
            let json = a.find(JSON_CONTENT_TYPE);
            let html = a
                .find("application/vnd.pypi.simple.v1+html")
                .or_else(|| a.find("text/html"));
            match (json, html) {
                (Some(j), Some(h)) => j < h,
                (Some(_), None) => true,
                _ => false,
            }
        })
}

async fn root(State(proxy): State<Proxy>, headers: HeaderMap) -> Response {
    use std::fmt::Write as _;
    let mut names: Vec<String> = std::fs::read_dir(proxy.0.dir.join("pages"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if wants_json(&headers) {
        let doc = serde_json::json!({
            "meta": {"api-version": API_VERSION},
            "projects": names.iter().map(|n| serde_json::json!({"name": n})).collect::<Vec<_>>(),
        });
        ([(header::CONTENT_TYPE, JSON_CONTENT_TYPE)], doc.to_string()).into_response()
    } else {
        let mut html = String::from("<!DOCTYPE html>\n<html><body>\n");
        for n in &names {
            let _ = writeln!(html, "<a href=\"{0}/\">{0}</a><br>", escape(n));
        }
        html.push_str("</body></html>\n");
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
    }
}

async fn project_page(
    State(proxy): State<Proxy>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    proxy
        .0
        .metrics
        .page_requests
        .fetch_add(1, Ordering::Relaxed);
    if picket_formats::ProjectName::new(&name).is_err() {
        return Refusal::new(
            StatusCode::NOT_FOUND,
            format!("`{name}` is not a project name"),
        )
        .into_response();
    }
    let project = picket_formats::normalize(&name);
    if project != name {
        return redirect(&format!("/simple/{project}/"));
    }
    let rendered = match proxy.page(&project).await {
        Ok(r) => r,
        Err(refusal) => return refusal.into_response(),
    };
    let json = wants_json(&headers);
    let etag = format!(
        "{}{}\"",
        rendered.etag.trim_end_matches('"'),
        if json { "j" } else { "h" }
    );
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else if json {
        (
            [(header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
            rendered.json.clone(),
        )
            .into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            rendered.html.clone(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Some(why) = &rendered.stale {
        let note: String = why
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
            .take(300)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("upstream unavailable: {note}")) {
            h.insert("x-picket-stale", v);
        }
    }
    response
}

async fn file(
    State(proxy): State<Proxy>,
    UrlPath((sha, filename)): UrlPath<(String, String)>,
) -> Response {
    proxy
        .0
        .metrics
        .file_requests
        .fetch_add(1, Ordering::Relaxed);
    match serve_file(&proxy, &sha, &filename).await {
        Ok(r) => r,
        Err(refusal) => refusal.into_response(),
    }
}

async fn serve_file(proxy: &Proxy, sha: &str, filename: &str) -> Result<Response, Refusal> {
    if sha.len() != 64 || !sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "not a sha256"));
    }
    let (dist, metadata) = match filename.strip_suffix(".metadata") {
        Some(dist) => (dist, true),
        None => (filename, false),
    };
    let info = proxy
        .0
        .files
        .lock()
        .expect("files lock")
        .get(sha)
        .cloned()
        .filter(|i| i.filename == dist)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!(
                    "{filename}: not a file this proxy listed; ask for its project's page first"
                ),
            )
        })?;
    let refuse = |decision: &Decision| -> Option<Refusal> {
        match decision {
            Decision::Allow => None,
            Decision::Hide(_, reason) => Some(Refusal::new(StatusCode::NOT_FOUND, reason.clone())),
            Decision::Block(_, reason) => Some(Refusal {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "{}\nhint: picket proxy refused this download; `picket proxy report` lists every decision",
                    policy::reason_phrase(reason)
                ),
                phrase: Some(policy::reason_phrase(reason)),
            }),
        }
    };
    let decision = proxy.decide(&info, sha);
    if let Some(refusal) = refuse(&decision) {
        proxy.record(&info, &decision);
        return Err(refusal);
    }
    if metadata {
        return serve_metadata(proxy, sha, &info).await;
    }
    let path = blob_path(&proxy.0.dir, sha);
    if path.is_file() {
        proxy
            .0
            .metrics
            .file_cache_hits
            .fetch_add(1, Ordering::Relaxed);
    } else {
        let flight = proxy.flight(format!("file:{sha}"));
        let _guard = flight.lock().await;
        if !path.is_file() {
            let this = proxy.clone();
            let (sha_owned, info_owned) = (sha.to_owned(), info.clone());
            let verdict =
                tokio::task::spawn_blocking(move || this.fetch_file(&sha_owned, &info_owned))
                    .await
                    .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
                    .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, e))?;
            if let Some(decision) = verdict {
                proxy.record(&info, &decision);
                return Err(refuse(&decision)
                    .unwrap_or_else(|| Refusal::new(StatusCode::FORBIDDEN, "refused")));
            }
        }
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::ETAG, format!("\"{sha}\"")),
            (
                header::CACHE_CONTROL,
                "max-age=31536000, immutable".to_owned(),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn serve_metadata(proxy: &Proxy, sha: &str, info: &FileInfo) -> Result<Response, Refusal> {
    let path = proxy
        .0
        .dir
        .join("files")
        .join(&sha[..2])
        .join(format!("{sha}.metadata"));
    if !path.is_file() {
        let flight = proxy.flight(format!("meta:{sha}"));
        let _guard = flight.lock().await;
        if !path.is_file() {
            let this = proxy.clone();
            let mut url = info.url.clone();
            url.set_path(&format!("{}.metadata", url.path()));
            let path_owned = path.clone();
            tokio::task::spawn_blocking(move || -> Result<(), String> {
                let fetched = this
                    .0
                    .client
                    .get(&url, "*/*", (None, None), MAX_METADATA_BYTES)
                    .map_err(|e| e.to_string())?;
                if fetched.status != 200 {
                    return Err(format!("upstream has no metadata file at {url}"));
                }
                if let Some(parent) = path_owned.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let temp = path_owned.with_extension(format!("tmp{}", std::process::id()));
                std::fs::write(&temp, &fetched.body).map_err(|e| e.to_string())?;
                std::fs::rename(&temp, &path_owned).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, e))?;
        }
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response())
}

async fn metrics(State(proxy): State<Proxy>) -> Response {
    use std::fmt::Write as _;
    let m = &proxy.0.metrics;
    let mut out = String::new();
    let counters = [
        (
            "picket_proxy_page_requests_total",
            "Project pages asked for.",
            &m.page_requests,
        ),
        (
            "picket_proxy_page_memory_hits_total",
            "Project pages served from memory.",
            &m.page_memory_hits,
        ),
        (
            "picket_proxy_upstream_pages_total",
            "Project pages fetched from upstream (200).",
            &m.upstream_pages,
        ),
        (
            "picket_proxy_upstream_not_modified_total",
            "Upstream revalidations answered 304.",
            &m.upstream_not_modified,
        ),
        (
            "picket_proxy_upstream_errors_total",
            "Upstream page requests that failed.",
            &m.upstream_errors,
        ),
        (
            "picket_proxy_stale_pages_total",
            "Pages served stale because upstream failed.",
            &m.stale_pages,
        ),
        (
            "picket_proxy_file_requests_total",
            "Files asked for.",
            &m.file_requests,
        ),
        (
            "picket_proxy_file_cache_hits_total",
            "Files served from the cache.",
            &m.file_cache_hits,
        ),
        (
            "picket_proxy_upstream_files_total",
            "Files fetched from upstream.",
            &m.upstream_files,
        ),
        (
            "picket_proxy_upstream_file_bytes_total",
            "Bytes of files fetched from upstream.",
            &m.upstream_file_bytes,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            value.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP picket_proxy_decisions_total Files hidden or refused, by rule.\n# TYPE picket_proxy_decisions_total counter"
    );
    for ((action, rule), n) in m.decisions.lock().expect("metrics lock").iter() {
        let _ = writeln!(
            out,
            "picket_proxy_decisions_total{{action=\"{action}\",rule=\"{rule}\"}} {n}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The journaled decisions, oldest first; lines that do not parse are skipped and counted.
pub fn report(data_dir: &Path) -> Result<(Vec<JournalEntry>, usize), String> {
    let path = proxy_dir(data_dir).join("decisions.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let mut bad = 0;
    let entries = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| bad += 1).ok())
        .collect();
    Ok((entries, bad))
}

/// Serves `proxy` until `shutdown`; `on_bound` is told the address bound (port 0 picks one).
pub async fn run(
    proxy: Proxy,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(&proxy.0.config.listen)
        .await
        .map_err(|e| format!("can't listen on {}: {e}", proxy.0.config.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    on_bound(bound);
    let read_timeout = Duration::from_secs(proxy.0.config.read_timeout_secs.max(1));
    let router = proxy.router();
    accept_loop(listener, move |_| router.clone(), read_timeout, shutdown).await;
    Ok(())
}

/// Serves connections until `shutdown`, then lets those in flight finish; `picket serve` and
/// `picket proxy` both listen through it. hyper closes a connection that takes longer than
/// `read_timeout` to send a request's header, or that stays idle that long between requests, so
/// half-open requests can't pile up and exhaust file descriptors (slowloris). `app` makes the
/// router of one connection from the peer's address.
pub async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: impl Fn(SocketAddr) -> Router,
    read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(read_timeout))
        .keep_alive_timeout(read_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little instead of spinning, and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app(peer));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

fn now_unix() -> i64 {
    picket_formats::time::now_unix()
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn rfc3339(unix: i64) -> String {
    let (y, m, d) = picket_formats::time::civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

impl osv_api::OsvSource for Proxy {
    async fn layers(&self) -> Result<Vec<Arc<dyn osv_api::Records>>, osv_api::OsvError> {
        Ok(vec![self.osv()])
    }
}
