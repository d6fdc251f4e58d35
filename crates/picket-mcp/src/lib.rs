//! `picket mcp`: a Model Context Protocol server on stdio, for coding agents. Its tools are the
//! checks an agent runs before it installs or adds a dependency:
//!
//! - `check_packages`: names (and versions) vetted — verdict, findings, "did you mean", whether
//!   the project exists, its age and releases (online);
//! - `scan_project`: a project's dependency files vetted in one pass, summarised;
//! - `safe_install_command`: the pinned `pip install` / `uv add` of the names that pass, the
//!   others refused with the reason and the real name.
//!
//! The judging is `picket_check`'s (the same checker `picket check` and `picket scan` run); this
//! crate turns requests into checks and reports into answers (structured JSON plus text). The
//! protocol is the official SDK's (`rmcp`). The command line resolves the policy and the index
//! exactly as `picket check` does and hands them over in [`Settings`].

#![deny(missing_docs)]

mod install;
mod results;
mod server;

use std::path::PathBuf;

use picket_check::config::{CheckPolicy, NamesPolicy, ScanPolicy};
use picket_check::index_url::IndexUrl;
use picket_check::name_data::LoadedIndex;
use rmcp::ServiceExt as _;

pub use install::Installer;

/// What the server checks with.
pub struct Settings {
    /// `[check]` of picket.toml: allow list, cooldown, ignores.
    pub check: CheckPolicy,
    /// `[names]` of picket.toml.
    pub names: NamesPolicy,
    /// `[scan]` of picket.toml.
    pub scan: ScanPolicy,
    /// The index to check against; `None` checks offline.
    pub index: Option<IndexUrl>,
    /// Whether offline was asked for (`--offline`), rather than no index being configured.
    pub offline: bool,
    /// The name index, loaded from `data_dir` ([`picket_check::name_data::load`]).
    pub loaded: LoadedIndex,
    /// Where the advisories and the HTTP cache live.
    pub data_dir: PathBuf,
    /// How many names to check at once online.
    pub jobs: usize,
}

/// Serves the tools on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(settings: Settings) -> anyhow::Result<()> {
    let server = server::Picket::new(settings);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake failed: {e}"))?;
    running.waiting().await?;
    Ok(())
}
