//! Distribution files and their PEP 658 metadata: immutable, so cached for a year, with HTTP
//! Range support (through tower-http's file service).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::AppState;
use crate::error::ApiError;

/// `GET /files/{sha256}/{filename}` (and `…/{filename}.metadata`).
pub async fn file(
    State(state): State<AppState>,
    Path((sha256, filename)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(format!("Not Found: no file `{filename}`"));
    let (blob, download_name) = match state.store.file(&filename).await? {
        Some((_, row)) if row.sha256 == sha256 => (row.sha256, filename.clone()),
        Some(_) => return Err(not_found()),
        None => {
            let base = filename.strip_suffix(".metadata").ok_or_else(not_found)?;
            match state.store.file(base).await? {
                Some((_, row)) if row.sha256 == sha256 => {
                    (row.metadata_sha256.ok_or_else(not_found)?, filename.clone())
                }
                _ => return Err(not_found()),
            }
        }
    };
    let mut response = match state.store.blobs().local_path(&blob) {
        Some(path) => ServeFile::new(path)
            .oneshot(request.map(|_| Body::empty()))
            .await
            .map_err(|e| {
                ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            })?
            .into_response(),
        None => remote(&state, &blob, request.headers())
            .await?
            .ok_or_else(not_found)?,
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{blob}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(disposition) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        download_name.replace('"', "")
    )) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// One `bytes=` range of RFC 9110 (`a-b`, `a-`, `-n`), resolved against the blob's size later;
/// anything else (several ranges, other units) is answered with the whole file.
pub fn parse_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let parse = |s: &str| -> Option<Option<u64>> {
        let s = s.trim();
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    Some((parse(start)?, parse(end)?))
}

/// Serves a blob from an object store, honouring a single-range `Range` header.
async fn remote(
    state: &AppState,
    sha256: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Option<Response>, ApiError> {
    use axum::http::StatusCode;
    let wanted = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_range);
    // A suffix or open range needs the size first; fetch the whole blob then (files are bounded
    // by max-file-size) and slice, which keeps one round trip for the common full download.
    let Some(blob) = state.store.blobs().get(sha256).await? else {
        return Ok(None);
    };
    let total = blob.total;
    let range = wanted.and_then(|(start, end)| match (start, end) {
        // `e` may be u64::MAX ("to the end", written out): no `e + 1` overflow.
        (Some(s), Some(e)) if s <= e && s < total => Some(s..e.saturating_add(1).min(total)),
        (Some(s), None) if s < total => Some(s..total),
        (None, Some(n)) if n > 0 => Some(total.saturating_sub(n)..total),
        _ => None,
    });
    let mut response = match (&wanted, range) {
        (_, Some(r)) => {
            let body = blob
                .bytes
                .slice(usize::try_from(r.start).unwrap_or(0)..usize::try_from(r.end).unwrap_or(0));
            let mut resp = (StatusCode::PARTIAL_CONTENT, body).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("bytes {}-{}/{total}", r.start, r.end - 1))
            {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            resp
        }
        (Some(_), None) => {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            resp
        }
        (None, None) => (StatusCode::OK, blob.bytes).into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(Some(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-3"), Some((Some(0), Some(3))));
        assert_eq!(parse_range("bytes=10-"), Some((Some(10), None)));
        assert_eq!(parse_range("bytes=-5"), Some((None, Some(5))));
        assert_eq!(parse_range("bytes=0-1,4-5"), None);
        assert_eq!(parse_range("items=0-1"), None);
        assert_eq!(parse_range("bytes=a-b"), None);
    }
}
