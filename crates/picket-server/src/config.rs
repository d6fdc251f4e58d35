//! `[serve]` in `picket.toml`: every key, its default, and what it does.

use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The server's settings. Every key is optional; the defaults are what `picket serve` uses
/// without a file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServeConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// The URL users reach the server at, for links in e-mail (default: `http://LISTEN`).
    pub public_url: Option<String>,
    /// Where distribution files go: unset for `DATA_DIR/files`, `s3://BUCKET[/PREFIX]` for
    /// S3-compatible storage (credentials, region and endpoint from `AWS_*` variables), or
    /// `file:///PATH`.
    pub storage_url: Option<String>,
    /// Largest distribution file accepted, in bytes (PyPI: 100 MiB).
    pub max_file_size: u64,
    /// Largest total size of one project's files, in bytes (PyPI: 10 GiB).
    pub max_project_size: u64,
    /// Refuse uploads from accounts whose e-mail address is not verified.
    pub require_verified_email: bool,
    /// Refuse to create API tokens for accounts without two-factor authentication.
    pub require_2fa_for_tokens: bool,
    /// Allow anyone to register over HTTP (otherwise only `picket admin create-user`).
    pub open_registration: bool,
    /// How long a login session lasts, in hours.
    pub session_hours: u64,
    /// How long an e-mail verification link works, in hours.
    pub verification_hours: u64,
    /// SMTP relay for outgoing mail, `smtp://HOST:PORT`; without it mail goes to `DATA_DIR/outbox/`.
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            storage_url: None,
            max_file_size: 100 * 1024 * 1024,
            max_project_size: 10 * 1024 * 1024 * 1024,
            require_verified_email: true,
            require_2fa_for_tokens: true,
            open_registration: true,
            session_hours: 12,
            verification_hours: 48,
            smtp_url: None,
            mail_from: "picket@localhost".into(),
            log_format: LogFormat::Text,
        }
    }
}

impl ServeConfig {
    /// The base URL for links in mail.
    pub fn public_url(&self, bound: &std::net::SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned()
    }
}
