//! Talking to a package index: project pages (PEP 691 JSON, else PEP 503 HTML) and distribution
//! downloads, with an on-disk cache revalidated by `ETag` / `Last-Modified`.
//!
//! A 404 and a failure to get an answer are different outcomes and stay different: only a 404 says
//! a project does not exist.

use std::path::{Path, PathBuf};
use std::time::Duration;

use picket_formats::hashes::sha256_hex;
use picket_formats::simple_api::{JSON_CONTENT_TYPE, ProjectList, ProjectPage};
use serde::{Deserialize, Serialize};

/// The largest project page accepted.
const MAX_PAGE_BYTES: u64 = 32 << 20;
/// The largest distribution downloaded for inspection.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

/// Why an index could not answer.
#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    /// No answer: refused, timed out, DNS, TLS.
    #[error("no answer from {url}: {message}")]
    Network {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An answer that is an error.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A body larger than allowed.
    #[error("{url} sent more than {limit} bytes")]
    TooLarge {
        /// The URL asked.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A body that does not parse.
    #[error("{url}: {message}")]
    Malformed {
        /// The URL asked.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A download whose hash differs from the one the index lists.
    #[error("{url}: sha256 is {actual}, but the index lists {expected}")]
    HashMismatch {
        /// The URL.
        url: String,
        /// Listed hash.
        expected: String,
        /// Hash of the bytes received.
        actual: String,
    },
}

/// Where the checker reads an index from: the command line's cached HTTP [`Client`], or a
/// proxy's upstream cache.
pub trait IndexSource: Sync {
    /// The project page and the URL it came from (file URLs are relative to it), or `None` when
    /// the index has no such project.
    fn project(&self, normalized: &str) -> Result<Option<(url::Url, ProjectPage)>, OnlineError>;

    /// A file's bytes, checked against the sha256 the index lists, if any.
    fn download(&self, url: &url::Url, sha256: Option<&str>) -> Result<Vec<u8>, OnlineError>;
}

impl IndexSource for Client {
    fn project(&self, normalized: &str) -> Result<Option<(url::Url, ProjectPage)>, OnlineError> {
        Client::project(self, normalized)
    }

    fn download(&self, url: &url::Url, sha256: Option<&str>) -> Result<Vec<u8>, OnlineError> {
        Client::download(self, url, sha256)
    }
}

/// What the cache keeps beside a body.
#[derive(Serialize, Deserialize)]
struct CacheMeta {
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
}

/// A response body and its media type.
struct Fetched {
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A client for one index.
pub struct Client {
    agent: ureq::Agent,
    base: url::Url,
    cache_dir: PathBuf,
}

impl Client {
    /// A client for the index whose simple API is at `index_url`, caching under `cache_dir`.
    pub fn new(index_url: &str, cache_dir: &Path) -> anyhow::Result<Self> {
        let mut base = url::Url::parse(index_url)
            .map_err(|e| anyhow::anyhow!("index URL `{index_url}` is not a URL: {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_mins(1)))
            .timeout_connect(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .user_agent(concat!("picket/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            agent,
            base,
            cache_dir: cache_dir.to_owned(),
        })
    }

    fn cache_paths(&self, url: &str) -> (PathBuf, PathBuf) {
        let key = sha256_hex(url.as_bytes());
        (
            self.cache_dir.join(format!("{key}.body")),
            self.cache_dir.join(format!("{key}.json")),
        )
    }

    fn read_cache(&self, url: &str) -> Option<(CacheMeta, Vec<u8>)> {
        let (body, meta) = self.cache_paths(url);
        let meta: CacheMeta = serde_json::from_slice(&std::fs::read(meta).ok()?).ok()?;
        Some((meta, std::fs::read(body).ok()?))
    }

    /// Caches best-effort: a cache that cannot be written only costs a refetch.
    fn write_cache(&self, url: &str, meta: &CacheMeta, body: &[u8]) {
        let (body_path, meta_path) = self.cache_paths(url);
        let write = |path: &Path, bytes: &[u8]| -> std::io::Result<()> {
            let temp = path.with_extension("tmp");
            std::fs::write(&temp, bytes)?;
            std::fs::rename(temp, path)
        };
        let _ = std::fs::create_dir_all(&self.cache_dir)
            .and_then(|()| write(&body_path, body))
            .and_then(|()| write(&meta_path, &serde_json::to_vec(meta).unwrap_or_default()));
    }

    /// GETs `url`, revalidating a cached copy. `Ok(None)` is a 404.
    fn get(&self, url: &str, accept: &str, limit: u64) -> Result<Option<Fetched>, OnlineError> {
        let cached = self.read_cache(url);
        let mut request = self.agent.get(url).header("Accept", accept);
        if let Some((meta, _)) = &cached {
            if let Some(etag) = &meta.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(modified) = &meta.last_modified {
                request = request.header("If-Modified-Since", modified);
            }
        }
        let network = |e: ureq::Error| OnlineError::Network {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let mut response = request.call().map_err(network)?;
        let status = response.status().as_u16();
        if status == 304
            && let Some((meta, body)) = cached
        {
            return Ok(Some(Fetched {
                content_type: meta.content_type,
                body,
            }));
        }
        if status == 404 || status == 410 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(OnlineError::Status {
                url: url.to_owned(),
                status,
            });
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let meta = CacheMeta {
            etag: header("etag"),
            last_modified: header("last-modified"),
            content_type: header("content-type"),
        };
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(limit) => OnlineError::TooLarge {
                    url: url.to_owned(),
                    limit,
                },
                other => network(other),
            })?;
        if meta.etag.is_some() || meta.last_modified.is_some() {
            self.write_cache(url, &meta, &body);
        }
        Ok(Some(Fetched {
            content_type: meta.content_type,
            body,
        }))
    }

    /// The project page, or `None` when the index has no such project.
    pub fn project(
        &self,
        normalized: &str,
    ) -> Result<Option<(url::Url, ProjectPage)>, OnlineError> {
        let url =
            self.base
                .join(&format!("{normalized}/"))
                .map_err(|e| OnlineError::Malformed {
                    url: self.base.to_string(),
                    message: e.to_string(),
                })?;
        let accept = format!("{JSON_CONTENT_TYPE}, text/html;q=0.1");
        let Some(fetched) = self.get(url.as_str(), &accept, MAX_PAGE_BYTES)? else {
            return Ok(None);
        };
        let is_json = fetched.content_type.is_some_and(|t| t.contains("json"));
        let page = if is_json {
            ProjectPage::from_json(&fetched.body)
        } else {
            ProjectPage::from_html(&fetched.body)
        }
        .map_err(|e| OnlineError::Malformed {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        Ok(Some((url, page)))
    }

    /// The index's list of every project it hosts (its root page).
    pub fn project_list(&self) -> Result<ProjectList, OnlineError> {
        let url = self.base.as_str();
        let accept = format!("{JSON_CONTENT_TYPE}, text/html;q=0.1");
        let fetched =
            self.get(url, &accept, MAX_PAGE_BYTES)?
                .ok_or_else(|| OnlineError::Status {
                    url: url.to_owned(),
                    status: 404,
                })?;
        let is_json = fetched.content_type.is_some_and(|t| t.contains("json"));
        if is_json {
            ProjectList::from_json(&fetched.body)
        } else {
            ProjectList::from_html(&fetched.body)
        }
        .map_err(|e| OnlineError::Malformed {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }

    /// The JSON API document of one release (`/pypi/NAME/VERSION/json`, beside `/simple/`), or
    /// `None` when the index has no such release.
    pub fn release_json(
        &self,
        normalized: &str,
        version: &str,
    ) -> Result<Option<serde_json::Value>, OnlineError> {
        let base = self.base.as_str();
        let Some(root) = base.strip_suffix("simple/") else {
            return Err(OnlineError::Malformed {
                url: base.to_owned(),
                message: "the JSON API is found beside `/simple/`, and this index URL does not end with it".to_owned(),
            });
        };
        let url = format!("{root}pypi/{normalized}/{version}/json");
        let Some(fetched) = self.get(&url, "application/json", MAX_PAGE_BYTES)? else {
            return Ok(None);
        };
        serde_json::from_slice(&fetched.body)
            .map(Some)
            .map_err(|e| OnlineError::Malformed {
                url,
                message: e.to_string(),
            })
    }

    /// Downloads a file and checks it against the sha256 the index lists, if any.
    pub fn download(&self, url: &url::Url, sha256: Option<&str>) -> Result<Vec<u8>, OnlineError> {
        let Some(Fetched { body, .. }) = self.get(url.as_str(), "*/*", MAX_DOWNLOAD_BYTES)? else {
            return Err(OnlineError::Status {
                url: url.to_string(),
                status: 404,
            });
        };
        if let Some(expected) = sha256 {
            let actual = sha256_hex(&body);
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(OnlineError::HashMismatch {
                    url: url.to_string(),
                    expected: expected.to_owned(),
                    actual,
                });
            }
        }
        Ok(body)
    }
}
