//! Asking an upstream index: bounded bodies, a deadline per request, redirects followed only
//! within the upstream's own origin, and files streamed to disk while their sha256 is computed.
//!
//! Blocking (ureq); the server calls it from `spawn_blocking`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Why upstream gave no usable answer. Every variant's message names the URL.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No answer: refused, timed out, reset.
    #[error("no answer from upstream {url}: {message}")]
    Network {
        /// The URL asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// An error status.
    #[error("upstream {url} answered HTTP {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A body over the limit.
    #[error("upstream {url} sent more than {limit} bytes; refused")]
    TooLarge {
        /// The URL asked.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// A redirect away from the upstream's origin, or too many.
    #[error("upstream {url} redirected to {location}: {why}; refused")]
    Redirect {
        /// The URL asked.
        url: String,
        /// Where it pointed.
        location: String,
        /// Why it is not followed.
        why: &'static str,
    },
    /// A file whose bytes do not hash to what the page lists.
    #[error("upstream file {url} has sha256 {actual}, but its page lists {expected}; refused")]
    HashMismatch {
        /// The URL.
        url: String,
        /// Listed.
        expected: String,
        /// Received.
        actual: String,
    },
    /// Could not write the cache.
    #[error("writing the cache: {0}")]
    Io(String),
}

/// An answer with a body.
#[derive(Debug)]
pub struct Fetched {
    /// The URL that answered (after same-origin redirects): relative file URLs resolve against it.
    pub url: url::Url,
    /// 200, 304 or 404.
    pub status: u16,
    /// `ETag`, if sent.
    pub etag: Option<String>,
    /// `Last-Modified`, if sent.
    pub last_modified: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The body (empty for 304 and 404).
    pub body: Vec<u8>,
}

/// A client for upstream indexes.
#[derive(Clone)]
pub struct Upstream {
    agent: ureq::Agent,
}

const MAX_REDIRECTS: usize = 5;

impl Upstream {
    /// A client whose requests each end within `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(Duration::from_secs(10).min(timeout)))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("picket-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self { agent }
    }

    /// GETs `url` (conditionally, with the validators given), following redirects within its
    /// origin, and returns the response with its headers.
    fn call(
        &self,
        url: &url::Url,
        accept: &str,
        validators: (Option<&str>, Option<&str>),
    ) -> Result<(url::Url, ureq::http::Response<ureq::Body>), UpstreamError> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut request = self.agent.get(current.as_str()).header("Accept", accept);
            if let Some(etag) = validators.0 {
                request = request.header("If-None-Match", etag);
            }
            if let Some(modified) = validators.1 {
                request = request.header("If-Modified-Since", modified);
            }
            let response = request.call().map_err(|e| UpstreamError::Network {
                url: current.to_string(),
                message: e.to_string(),
            })?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                return Ok((current, response));
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let next = current
                .join(&location)
                .map_err(|_| UpstreamError::Redirect {
                    url: current.to_string(),
                    location: location.clone(),
                    why: "not a URL",
                })?;
            if next.origin() != url.origin() {
                return Err(UpstreamError::Redirect {
                    url: current.to_string(),
                    location: next.to_string(),
                    why: "another host than the upstream configured",
                });
            }
            current = next;
        }
        Err(UpstreamError::Redirect {
            url: url.to_string(),
            location: current.to_string(),
            why: "too many redirects",
        })
    }

    /// A page or small document: 200 with its body, 304 (validators matched), or 404/410 as 404.
    pub fn get(
        &self,
        url: &url::Url,
        accept: &str,
        validators: (Option<&str>, Option<&str>),
        limit: u64,
    ) -> Result<Fetched, UpstreamError> {
        let (final_url, mut response) = self.call(url, accept, validators)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut fetched = Fetched {
            url: final_url,
            status,
            etag: header("etag"),
            last_modified: header("last-modified"),
            content_type: header("content-type"),
            body: Vec::new(),
        };
        match status {
            304 => return Ok(fetched),
            404 | 410 => {
                fetched.status = 404;
                return Ok(fetched);
            }
            200..=299 => {}
            _ => {
                return Err(UpstreamError::Status {
                    url: fetched.url.to_string(),
                    status,
                });
            }
        }
        if let Some(length) = header("content-length").and_then(|l| l.parse::<u64>().ok())
            && length > limit
        {
            return Err(UpstreamError::TooLarge {
                url: fetched.url.to_string(),
                limit,
            });
        }
        fetched.body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => UpstreamError::TooLarge {
                    url: fetched.url.to_string(),
                    limit,
                },
                other => UpstreamError::Network {
                    url: fetched.url.to_string(),
                    message: other.to_string(),
                },
            })?;
        fetched.status = 200;
        Ok(fetched)
    }

    /// Streams a file into `dest`, checking its sha256 against `expected`; on any failure `dest`
    /// is removed, so nothing unverified stays on disk.
    pub fn download(
        &self,
        url: &url::Url,
        expected: &str,
        limit: u64,
        dest: &Path,
    ) -> Result<u64, UpstreamError> {
        let result = self.download_inner(url, expected, limit, dest);
        if result.is_err() {
            let _ = std::fs::remove_file(dest);
        }
        result
    }

    fn download_inner(
        &self,
        url: &url::Url,
        expected: &str,
        limit: u64,
        dest: &Path,
    ) -> Result<u64, UpstreamError> {
        let (final_url, mut response) = self.call(url, "*/*", (None, None))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(UpstreamError::Status {
                url: final_url.to_string(),
                status,
            });
        }
        let too_large = || UpstreamError::TooLarge {
            url: final_url.to_string(),
            limit,
        };
        let network = |e: std::io::Error| UpstreamError::Network {
            url: final_url.to_string(),
            message: e.to_string(),
        };
        let io = |e: std::io::Error| UpstreamError::Io(e.to_string());
        let mut reader = response
            .body_mut()
            .with_config()
            .limit(limit.saturating_add(1))
            .reader();
        let mut out = std::fs::File::create(dest).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut total: u64 = 0;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.to_string().contains("limit") => return Err(too_large()),
                Err(e) => return Err(network(e)),
            };
            total += n as u64;
            if total > limit {
                return Err(too_large());
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io)?;
        }
        out.sync_all().map_err(io)?;
        let actual = picket_formats::hashes::hex(&hasher.finalize());
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(UpstreamError::HashMismatch {
                url: final_url.to_string(),
                expected: expected.to_owned(),
                actual,
            });
        }
        Ok(total)
    }
}
