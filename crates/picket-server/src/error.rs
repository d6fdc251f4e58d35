//! Errors as HTTP answers: the status line carries the message as its reason phrase, as PyPI's
//! upload API does, so twine and `uv publish` show it; the body repeats it (JSON under `/api/`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picket_store::StoreError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
    /// Answer with `{"error": …}` rather than text.
    pub json: bool,
    /// Extra headers (e.g. `WWW-Authenticate`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            json: false,
            headers: Vec::new(),
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 401 with a Basic challenge, so clients know to send credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, message);
        e.headers.push((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"picket\""),
        ));
        e
    }

    /// The same error, answered as JSON.
    #[must_use]
    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }
}

/// A reason phrase may hold only visible ASCII, spaces and tabs; keep it short.
pub(crate) fn reason_phrase(message: &str) -> String {
    let mut out: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                ' '
            }
        })
        .take(300)
        .collect();
    out.truncate(out.trim_end().len());
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = if self.json {
            (
                self.status,
                axum::Json(serde_json::json!({ "error": self.message })),
            )
                .into_response()
        } else {
            (
                self.status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{}\n", self.message),
            )
                .into_response()
        };
        let phrase = reason_phrase(&self.message);
        if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(phrase.into_bytes()) {
            response.extensions_mut().insert(reason);
        }
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::Io { .. }
            | StoreError::Database(_)
            | StoreError::Sql(_)
            | StoreError::Connect { .. }
            | StoreError::SchemaTooNew { .. } => {
                tracing::error!(error = %e, "storage failure");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal storage error; the request changed nothing.",
                );
            }
            StoreError::NoProject(_)
            | StoreError::NoRelease { .. }
            | StoreError::NoFile { .. }
            | StoreError::NoUser(_)
            | StoreError::NoCampaign(_)
            | StoreError::NoReport(_)
            | StoreError::NoRecord(_) => StatusCode::NOT_FOUND,
            StoreError::NotOwner { .. } => StatusCode::FORBIDDEN,
            StoreError::ProjectExists { .. }
            | StoreError::UserExists(_)
            | StoreError::SimilarNameCreated { .. }
            | StoreError::ReportState { .. } => StatusCode::CONFLICT,
            StoreError::SignupCap { .. } => StatusCode::TOO_MANY_REQUESTS,
            StoreError::FileExists { .. }
            | StoreError::FilenameReused(_)
            | StoreError::SdistExists { .. }
            | StoreError::ProjectTooLarge { .. }
            | StoreError::Archived(_)
            | StoreError::LastOwner { .. } => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_sanitized() {
        assert_eq!(reason_phrase("File already exists"), "File already exists");
        assert_eq!(reason_phrase("a\r\nb\u{e9}c"), "a  b c");
        assert_eq!(reason_phrase(&"x".repeat(1000)).len(), 300);
    }
}
