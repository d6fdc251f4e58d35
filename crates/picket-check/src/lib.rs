//! The checker that `picket check`, `scan`, the proxy and the MCP server share.
//!
//! - [`check`]: one name (and version) judged — the name index's findings, and with an
//!   [`online::IndexSource`] the index's page and the inspected release.
//! - [`scan`]: every dependency of a project's files, checked once each, matched against OSV
//!   advisories, with the pinning rules and the policy's ignores.
//! - [`online`]: the cached HTTP client for a package index; [`index_url`]: which index the user
//!   configured; [`osv_client`]: advisories from an OSV API.
//! - [`fix`]: the smallest safe upgrade of each vulnerable pin, written into requirements files
//!   or handed to the lock tool ([`lock_tool`]); [`text_diff`]: the diff `fix --dry-run` shows.
//! - [`config`]: `picket.toml`, the policy; [`name_data`]: the name index in use.
//! - [`monitor`]: the projects `picket monitor` watches and the findings it has sent.
//!
//! Nothing here prints: hints and warnings come back as data, progress as a callback.

pub mod check;
pub mod config;
pub mod fix;
pub mod index_url;
pub mod licenses;
pub mod lock_tool;
pub mod monitor;
pub mod name_data;
pub mod online;
pub mod osv_client;
pub mod scan;
pub mod text_diff;
pub mod vex;

pub use check::{Checker, PackageReport, Request, Verdict, check_all};
