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
    let path = state.store.blobs().path_of(&blob).ok_or_else(not_found)?;
    let mut response = ServeFile::new(path)
        .oneshot(request.map(|_| Body::empty()))
        .await
        .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .into_response();
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
