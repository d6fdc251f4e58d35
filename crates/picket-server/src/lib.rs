//! `picket serve`: a PyPI-compatible package index.
//!
//! Routes: the simple API (`/simple/`), files (`/files/{sha256}/{filename}`), PyPI's JSON API
//! (`/pypi/{project}/json`), the legacy upload API (`/legacy/`), the OSV API over the imported
//! advisories and picket's own records (`/v1/query`, `/v1/querybatch`, `/v1/vulns/{id}`), the
//! feed of its own records (`/osv/all.zip`), reports (`/api/v1/projects/{p}/reports`), accounts and tokens
//! (`/api/v1/…`, `/account/…`), project management (`/api/v1/projects/…`), and operations
//! (`/healthz`, `/metrics`).
//!
//! **Invariant:** handlers hold no state of their own; everything durable is in [`Store`], and the
//! in-memory page cache is only ever a copy of it, dropped on every write (and re-checked against
//! the journal four times a second, so changes made by another instance or by `picket admin` show
//! up too).
#![deny(missing_docs)]

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod config;
pub mod domains;
pub mod error;
pub mod files;
pub mod gate;
pub mod json_api;
pub mod leader;
pub mod limits;
pub mod live;
pub mod mail;
pub mod manage;
pub mod metrics;
pub mod negotiate;
pub mod notify;
pub mod osv_api;
pub mod osv_feed;
pub mod password_reset;
pub mod policy;
pub mod reports;
pub mod simple;
pub mod simple_root;
pub mod upload;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use picket_store::Store;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::limit::RequestBodyLimitLayer;

pub use config::{LogFormat, ServeConfig};

use crate::mail::Mailer;
use crate::metrics::Metrics;
use crate::simple::PageCache;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Metadata and files.
    pub store: Store,
    /// Settings.
    pub config: Arc<ServeConfig>,
    /// Rendered simple pages.
    pub pages: Arc<PageCache>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// What the upload gate knows (popular names, commands).
    pub knowledge: Arc<gate::Knowledge>,
    /// Disposable-mail list and the MX resolver.
    pub email_policy: Arc<policy::EmailPolicy>,
    /// The imported OSV records the OSV API answers from.
    pub osv: Arc<osv_api::OsvData>,
    /// picket's own records, rendered.
    pub feed: Arc<osv_feed::FeedCache>,
    /// `trusted-proxies`, parsed.
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// The upstream indexes asked for projects this index does not have (`upstream`).
    pub upstream: Option<picket_proxy::Proxy>,
    base_url: Arc<OnceLock<String>>,
    /// Where the live detector keeps the cohorts on watch (`DATA_DIR/campaign-watch.json`).
    pub watch_file: Arc<PathBuf>,
    /// Whether this instance runs the once-per-registry jobs ([`leader`]).
    pub leading: Arc<AtomicBool>,
}

impl AppState {
    /// State over an open store; fails on an unreadable disposable-domain list or a malformed
    /// resolver address.
    pub fn new(
        store: Store,
        config: ServeConfig,
        data_dir: &std::path::Path,
        knowledge: gate::Knowledge,
    ) -> Result<Self, String> {
        let mailer = Mailer::new(
            data_dir.join("outbox"),
            config.smtp_url.clone(),
            config.mail_from.clone(),
        );
        let email_policy =
            policy::EmailPolicy::new(&config.disposable_domains, config.dns_resolver.as_deref())?;
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|p| parse_proxy(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            osv: Arc::new(osv_api::OsvData::new(data_dir)),
            feed: Arc::new(osv_feed::FeedCache::default()),
            trusted_proxies: Arc::new(trusted_proxies),
            upstream: None,
            store,
            pages: Arc::new(PageCache::default()),
            metrics: Arc::new(Metrics::default()),
            mailer,
            knowledge: Arc::new(knowledge),
            email_policy: Arc::new(email_policy),
            base_url: Arc::new(OnceLock::new()),
            watch_file: Arc::new(data_dir.join(live::WATCH_FILE)),
            leading: Arc::new(AtomicBool::new(false)),
            config: Arc::new(config),
        })
    }

    /// The public base URL (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url
            .get()
            .cloned()
            .unwrap_or_else(|| self.config.public_url.clone().unwrap_or_default())
    }

    /// A project's versions, PEP 440 order.
    pub async fn versions(&self, normalized: &str) -> Result<Vec<String>, error::ApiError> {
        let mut versions: Vec<(Option<picket_formats::Version>, String)> = self
            .store
            .releases(normalized)
            .await?
            .into_iter()
            .map(|r| (r.version.parse().ok(), r.version))
            .collect();
        versions.sort();
        Ok(versions.into_iter().map(|(_, v)| v).collect())
    }
}

/// One `trusted-proxies` entry: an address or a CIDR block.
fn parse_proxy(entry: &str) -> Result<ipnet::IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<ipnet::IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            format!(
                "trusted-proxies: `{entry}` is not an address or a CIDR block (like 10.0.0.0/8)"
            )
        })
}

/// The client's address, when the server knows it: the TCP peer, or behind a trusted proxy the
/// last `X-Forwarded-For` hop that is not a trusted proxy.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self(None));
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        Ok(Self(Some(
            client_ip(peer.0.ip(), &forwarded, &state.trusted_proxies).to_string(),
        )))
    }
}

/// Walks `X-Forwarded-For` (`hops`, in header order) from the nearest hop back while each hop is
/// a trusted proxy; the first address that is not is the client. A hop that is not an address
/// stops the walk (what lies before it can't be believed).
pub fn client_ip(peer: IpAddr, hops: &[&str], trusted: &[ipnet::IpNet]) -> IpAddr {
    let trusts = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    for hop in hops.iter().rev() {
        if !trusts(&client) {
            break;
        }
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => client = ip.to_canonical(),
            Err(_) => break,
        }
    }
    client
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let upload_limit = usize::try_from(state.config.max_file_size)
        .unwrap_or(usize::MAX)
        .saturating_add(16 * 1024 * 1024);
    let compress = CompressionLayer::new().gzip(true).zstd(true).compress_when(
        SizeAbove::new(256)
            .and(NotForContentType::const_new("application/octet-stream"))
            .and(NotForContentType::const_new("application/zip")),
    );
    let pages = Router::new()
        .route("/simple/", get(simple::root))
        .route("/simple/{project}/", get(simple::project))
        .route("/simple/{project}", get(simple::project_no_slash))
        .route("/pypi/{project}/json", get(json_api::project))
        .route("/pypi/{project}/{version}/json", get(json_api::release))
        .layer(compress);
    // Checks Content-Length before reading (413 at once) and counts the bytes of chunked bodies.
    let small_body = RequestBodyLimitLayer::new(64 * 1024);
    let upload = Router::new()
        .route("/legacy/", post(upload::upload))
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(RequestBodyLimitLayer::new(upload_limit));
    // The OSV API (shared with `picket proxy`; it limits its own bodies).
    let osv = picket_proxy::osv_api::routes::<AppState>();
    // Reads its body itself, to refuse a long one with a message that says what to do.
    let reports = Router::new().route("/api/v1/projects/{project}/reports", post(reports::file));
    let api = Router::new()
        .route("/api/v1/register", post(accounts::register_json))
        // The page moved to `/account/register/`; its form posts there, with a CSRF token.
        .route(
            "/account/register",
            get(|| async { axum::response::Redirect::permanent("/account/register/") }),
        )
        .route("/api/v1/login", post(accounts::login))
        .route("/api/v1/account/2fa/totp", post(accounts::totp_begin))
        .route(
            "/api/v1/account/2fa/totp/confirm",
            post(accounts::totp_confirm),
        )
        .route(
            "/api/v1/account/2fa/recovery-codes",
            post(accounts::recovery_codes),
        )
        .route(
            "/api/v1/tokens",
            get(accounts::list_tokens).post(accounts::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/v1/account/emails", post(accounts::add_email))
        .route(
            "/api/v1/account/emails/primary",
            post(accounts::primary_email),
        )
        .route(
            "/api/v1/account/emails/{email}",
            delete(accounts::remove_email),
        )
        .route(
            "/api/v1/account/password-reset",
            post(password_reset::request),
        )
        .route(
            "/api/v1/account/password-reset/confirm",
            post(password_reset::confirm),
        )
        .route("/api/v1/admin/actions", post(admin::action))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route(
            "/api/v1/projects/{project}/status",
            get(admin::project_status).post(manage::set_status),
        )
        .route("/api/v1/projects/{project}", delete(manage::remove_project))
        .route(
            "/api/v1/projects/{project}/releases/{version}",
            delete(manage::remove_release),
        )
        .route(
            "/api/v1/projects/{project}/releases/{version}/yank",
            post(manage::yank),
        )
        .route(
            "/api/v1/projects/{project}/releases/{version}/unyank",
            post(manage::unyank),
        )
        .route(
            "/api/v1/projects/{project}/files/{filename}",
            delete(manage::remove_file),
        )
        .route(
            "/api/v1/projects/{project}/owners",
            get(manage::owners).post(manage::add_owner),
        )
        .route(
            "/api/v1/projects/{project}/owners/{username}",
            delete(manage::remove_owner),
        )
        .layer(small_body);
    let read_timeout = std::time::Duration::from_secs(state.config.read_timeout_secs.max(1));
    Router::new()
        .merge(pages)
        .merge(upload)
        .merge(osv)
        .merge(reports)
        .merge(api)
        .route("/osv/all.zip", get(osv_feed::all_zip))
        .route("/files/{sha256}/{filename}", get(files::file))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .merge(web::routes(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        // A body that stops arriving for this long fails the request (a slow upload that keeps
        // sending is fine).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            read_timeout,
        ))
        .merge(
            state
                .upstream
                .as_ref()
                .map(picket_proxy::Proxy::file_router)
                .unwrap_or_default(),
        )
        .with_state(state)
}

async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    state.store.any_served_project().await?;
    Ok("ok\n")
}

/// The popular project names the upload gate judges typosquats and command names against.
#[derive(Debug, Clone)]
pub struct PopularNames {
    /// `(name, rank)`, rank 1 the most downloaded.
    pub names: Vec<(String, u32)>,
    /// Where they came from, for the gate's evidence.
    pub origin: String,
}

/// What failed opening the store, as one line naming the part at fault.
fn open_error(data_dir: &std::path::Path, e: &picket_store::StoreError) -> String {
    use picket_store::StoreError;
    match e {
        StoreError::Connect { .. } | StoreError::SchemaTooNew { .. } => format!("database: {e}"),
        StoreError::Io { .. } => format!("opening the storage: {e}"),
        _ => format!("opening the data directory {}: {e}", data_dir.display()),
    }
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests (uploads
/// included) finish. `on_bound` is told the address actually bound (port 0 picks a free one), and
/// on the first start of an empty registry (no accounts, no projects) what to do next.
pub async fn serve(
    data_dir: PathBuf,
    config: ServeConfig,
    popular: PopularNames,
    upstream: Option<picket_proxy::Proxy>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(SocketAddr, Option<web::FirstContact>),
) -> Result<(), String> {
    let store = Store::connect(&config.store_config(&data_dir))
        .await
        .map_err(|e| open_error(&data_dir, &e))?;
    store
        .blobs()
        .check_writable()
        .await
        .map_err(|e| format!("storage: {e}"))?;
    match store.blobs().sweep_temporary().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "removed temporary files interrupted writes left"),
        Err(e) => return Err(format!("storage: sweeping temporary files: {e}")),
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("can't listen on {}: {e}", config.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let base = config.public_url(&bound);
    let learned = store
        .learned_commands()
        .await
        .map_err(|e| format!("reading the learned commands: {e}"))?;
    let knowledge = tokio::task::spawn_blocking(move || {
        gate::Knowledge::new(&popular.names, popular.origin, &learned)
    })
    .await
    .map_err(|e| e.to_string())?;
    if let Some(path) = &config.campaign_config {
        live::check_config(path)?;
    }
    config.check()?;
    store
        .set_setting(picket_store::ID_PREFIX_KEY, &config.osv_id_prefix)
        .await
        .map_err(|e| format!("storing osv-id-prefix: {e}"))?;
    let mut state = AppState::new(store.clone(), config, &data_dir, knowledge)?;
    state.upstream = upstream;
    let _ = state.base_url.set(base);
    tokio::spawn(watch_journal(state.clone()));
    tokio::spawn(leader::run(state.clone()));
    // Projects first: one row read; the accounts are listed only when there are none.
    let empty = !store
        .any_served_project()
        .await
        .map_err(|e| e.to_string())?
        && store.users().await.map_err(|e| e.to_string())?.is_empty();
    on_bound(
        bound,
        empty.then(|| web::FirstContact {
            base: state.base_url(),
        }),
    );
    let read_timeout = std::time::Duration::from_secs(state.config.read_timeout_secs.max(1));
    let app = router(state);
    picket_proxy::accept_loop(
        listener,
        move |peer| app.clone().layer(axum::Extension(ConnectInfo(peer))),
        read_timeout,
        shutdown,
    )
    .await;
    store.close().await;
    Ok(())
}

/// Journal kinds that change no simple page (a kind ending in `.` stands for its family).
const NO_PAGE_EFFECT: &[&str] = &[
    "account.create",
    "account.email.",
    "account.2fa.",
    "account.token.",
    "account.login",
    "account.password-reset",
    "account.refused",
    "account.reporter-trust",
    "account.restrict",
    "account.unrestrict",
    "domain.",
    "campaign.detect",
    "osv.",
];

/// Every change is journaled, so new events say which pages may be stale: a project's own
/// (and its part of the root list) for an event naming a project, none for account set-up and
/// the like, all of them for anything else. In-process writes drop their pages at once; this
/// catches `picket admin` in another process.
async fn watch_journal(state: AppState) {
    const BATCH: i64 = 1000;
    let mut seen = state.store.last_event_id().await.unwrap_or(0);
    // Four times a second: one indexed read, and what bounds how long another instance's change
    // takes to show here.
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let mut tick_count: u64 = 0;
    loop {
        tick.tick().await;
        if let Ok(last) = state.store.last_event_id().await
            && last != seen
        {
            match state.store.events_after(seen, BATCH).await {
                Ok(events) if i64::try_from(events.len()).is_ok_and(|n| n < BATCH) => {
                    for (id, event) in events {
                        seen = id;
                        invalidate_for(&state, &event);
                    }
                }
                _ => {
                    seen = last;
                    state.pages.clear();
                }
            }
        }
        if tick_count.is_multiple_of(240) {
            let _ = state.store.prune_rate_limits(now_ms()).await;
        }
        tick_count += 1;
    }
}

/// Drops the pages `event` may have changed.
fn invalidate_for(state: &AppState, event: &picket_store::Event) {
    if let Some(project) = event
        .data
        .get("project")
        .and_then(serde_json::Value::as_str)
    {
        state.pages.invalidate(&picket_formats::normalize(project));
    } else if !NO_PAGE_EFFECT
        .iter()
        .any(|k| event.kind == *k || (k.ends_with('.') && event.kind.starts_with(k)))
    {
        state.pages.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = ["127.0.0.1", "10.0.0.0/8"]
            .iter()
            .map(|p| parse_proxy(p).unwrap())
            .collect();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(ip("192.0.2.7"), &["203.0.113.1"], &trusted),
            ip("192.0.2.7")
        );
        // Behind the proxy: the last hop that is not a proxy, whatever the client prepended.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                &["6.6.6.6", "203.0.113.9", " 10.1.2.3"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(client_ip(ip("127.0.0.1"), &[], &trusted), ip("127.0.0.1"));
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["6.6.6.6", "junk"], &trusted),
            ip("127.0.0.1")
        );
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("proxy.internal").is_err());
    }
}
