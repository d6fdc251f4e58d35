//! Prometheus metrics: requests and latencies by route, uploads, rejections by status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
    uploads: AtomicU64,
    rejections: Mutex<BTreeMap<&'static str, u64>>,
    limited: Mutex<BTreeMap<&'static str, u64>>,
    gate: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let r = routes
            .entry((route.to_owned(), method.to_owned()))
            .or_default();
        *r.by_status.entry(status).or_default() += 1;
        r.count += 1;
        r.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                r.buckets[i] += 1;
            }
        }
    }

    /// An upload stored (or an identical re-upload).
    pub fn upload_accepted(&self) {
        self.uploads.fetch_add(1, Ordering::Relaxed);
    }

    /// An upload refused, by reason.
    pub fn upload_rejected(&self, reason: &'static str) {
        *self
            .rejections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(reason)
            .or_default() += 1;
    }

    /// A request refused by a rate limit, by policy.
    pub fn rate_limited(&self, policy: &'static str) {
        *self
            .limited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(policy)
            .or_default() += 1;
    }

    /// An upload-gate decision, by rule and action.
    pub fn gate_decision(&self, rule: &'static str, action: &'static str) {
        *self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((rule, action))
            .or_default() += 1;
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP picket_http_requests_total HTTP requests by route, method and status.\n# TYPE picket_http_requests_total counter\n");
        let routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((route, method), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "picket_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP picket_http_request_duration_seconds Request latency by route.\n# TYPE picket_http_request_duration_seconds histogram\n");
        for ((route, method), r) in routes.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (bound, n) in BUCKETS.iter().zip(r.buckets) {
                let _ = writeln!(
                    out,
                    "picket_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "picket_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "picket_http_request_duration_seconds_sum{{{labels}}} {}",
                r.sum
            );
            let _ = writeln!(
                out,
                "picket_http_request_duration_seconds_count{{{labels}}} {}",
                r.count
            );
        }
        drop(routes);
        let _ = write!(
            out,
            "# HELP picket_uploads_total Files accepted by the upload API.\n# TYPE picket_uploads_total counter\npicket_uploads_total {}\n",
            self.uploads.load(Ordering::Relaxed)
        );
        out.push_str("# HELP picket_upload_rejections_total Uploads refused, by reason.\n# TYPE picket_upload_rejections_total counter\n");
        for (reason, n) in self
            .rejections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "picket_upload_rejections_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP picket_rate_limited_total Requests refused by a rate limit, by policy.\n# TYPE picket_rate_limited_total counter\n");
        for (policy, n) in self
            .limited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "picket_rate_limited_total{{policy=\"{policy}\"}} {n}");
        }
        out.push_str("# HELP picket_gate_decisions_total Upload-gate decisions, by rule and action.\n# TYPE picket_gate_decisions_total counter\n");
        for ((rule, action), n) in self
            .gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "picket_gate_decisions_total{{rule=\"{rule}\",action=\"{action}\"}} {n}"
            );
        }
        out
    }
}

/// Middleware: times every request under its route pattern (unmatched paths count as `other`,
/// so a scan of random URLs can't grow the label set).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics_token {
        let sent = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as hashes, so the time taken says nothing about the token.
        if crate::auth::secret_hash(sent) != crate::auth::secret_hash(expected) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Bearer")],
                "/metrics needs the metrics token (metrics-token): Authorization: Bearer …\n",
            )
                .into_response();
        }
    }
    let leading = u8::from(state.leading.load(Ordering::Relaxed));
    (
        [("content-type", "text/plain; version=0.0.4")],
        format!(
            "{}# HELP picket_leader Whether this instance runs the campaign detector and the other once-per-registry jobs.\n# TYPE picket_leader gauge\npicket_leader {leading}\n",
            state.metrics.render()
        ),
    )
        .into_response()
}
