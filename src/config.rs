//! `picket.toml`: the policy and settings file, and where picket keeps its data.
//!
//! Every key is optional; the defaults below are what picket uses without a file. Unknown keys are
//! refused, so a typo does not silently leave a default in force.
//!
//! ```toml
//! # Index to check names against (also taken from PICKET_INDEX_URL, PIP_INDEX_URL, UV_INDEX_URL,
//! # UV_DEFAULT_INDEX or pip.conf, in that order, when neither --index nor this key is given).
//! index-url = "http://127.0.0.1:8080/simple/"
//!
//! [check]
//! allow = ["my-internal-pkg"]   # names never reported
//! fail-on = "block"             # exit 1 at this verdict or worse: "warn" or "block"
//! cooldown-days = 14            # a first upload younger than this is `new-project`
//!
//! [[check.ignore]]              # `check` and `scan` leave a finding out until a date
//! id = "GHSA-9wx4-h78v-vm56"    # an advisory id or alias, or a finding id (`unpinned`, …)
//! package = "requests"          # optional: only for this project
//! until = "2027-01-31"          # required; past it the finding counts again (with a warning)
//! reason = "not reachable: we never pass verify=False"   # required
//!
//! [scan]
//! require-hashes = false        # every requirement must carry --hash (`no-hashes` otherwise)
//!
//! [monitor]                   # `picket monitor run`: where new findings go
//! webhook-url = "https://hooks.example.org/picket"   # POST JSON
//! webhook-secret = "…"          # optional: X-Picket-Signature-256 = HMAC-SHA256 of the body
//! mail-to = ["security@example.org"]
//! smtp-url = "smtp://127.0.0.1:25"   # without it mail goes to DATA_DIR/outbox/
//!
//! [names]
//! min-edit-len = 5              # single-character edits only against names this long or longer
//! min-rank-ratio = 50           # a ranked name is a squat only of names this many times more popular
//! new-within-months = 3         # latest release this recent counts as new
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

pub use picket_check::config::{CheckPolicy, FailOn, NamesPolicy, ScanPolicy};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The index `check` uses online.
    pub index_url: Option<String>,
    /// `[check]`.
    #[serde(default)]
    pub check: CheckPolicy,
    /// `[names]`.
    #[serde(default)]
    pub names: NamesPolicy,
    /// `[scan]`.
    #[serde(default)]
    pub scan: ScanPolicy,
    /// `[serve]`: the package index (see `picket_server::ServeConfig` for every key).
    #[serde(default)]
    pub serve: picket_server::ServeConfig,
    /// `[proxy]`: `picket proxy` (see `picket_proxy::ProxyConfig`).
    #[serde(default)]
    pub proxy: picket_proxy::ProxyConfig,
    /// `[monitor]`: where `picket monitor run` sends new findings.
    #[serde(default)]
    pub monitor: picket_check::monitor::MonitorConfig,
}

impl Config {
    /// Reads `--config PATH`, else `./picket.toml` if it exists, else the defaults.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => {
                let local = PathBuf::from("picket.toml");
                if !local.exists() {
                    return Ok(Self::default());
                }
                local
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        match toml::from_str(&text) {
            Ok(config) => Ok(config),
            Err(e) => bail!(
                "{}: {}",
                path.display(),
                e.to_string().trim_end().replace('\n', " ")
            ),
        }
    }

    /// Like [`Config::load`], then `PICKET_SERVE_<KEY>` environment variables override
    /// `[serve]` keys (`PICKET_SERVE_MAX_FILE_SIZE=1000` sets `max-file-size`). Values are read
    /// as TOML (numbers, booleans) and otherwise taken as strings; an unknown key is an error.
    pub fn load_with_env(explicit: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Self::load(explicit)?;
        let mut overrides = toml::Table::new();
        for (key, value) in std::env::vars() {
            let Some(field) = key.strip_prefix("PICKET_SERVE_") else {
                continue;
            };
            let field = field.to_ascii_lowercase().replace('_', "-");
            let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            overrides.insert(field, parsed);
        }
        if overrides.is_empty() {
            return Ok(config);
        }
        let mut serve = toml::Table::try_from(&config.serve)
            .context("re-reading [serve] to apply PICKET_SERVE_* overrides")?;
        serve.extend(overrides);
        config.serve = serve.try_into().map_err(|e: toml::de::Error| {
            anyhow::anyhow!(
                "PICKET_SERVE_* environment: {}",
                e.to_string().trim_end().replace('\n', " ")
            )
        })?;
        Ok(config)
    }
}

/// Sets the database `picket serve` and `picket admin` open: `--database-url` (`flag`), else
/// `PICKET_DATABASE_URL`, else `[serve] database-url` as read (else SQLite in the data directory).
pub fn choose_database(serve: &mut picket_server::ServeConfig, flag: Option<&str>) {
    let chosen = flag.map(str::to_owned).or_else(|| {
        std::env::var("PICKET_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
    });
    if chosen.is_some() {
        serve.database_url = chosen;
    }
}

/// Where picket keeps imported data: `--data-dir`, else `PICKET_DATA_DIR`, else
/// `$XDG_DATA_HOME/picket`, else `~/.local/share/picket`.
pub fn data_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("PICKET_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("picket"));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/picket")),
        None => bail!("no data directory: set PICKET_DATA_DIR or pass --data-dir"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_key() {
        let config: Config = toml::from_str(
            "index-url = \"http://127.0.0.1:1/simple/\"\n[check]\nallow = [\"x\"]\nfail-on = \"warn\"\ncooldown-days = 7\n\
             [names]\nmin-edit-len = 6\nmin-rank-ratio = 10\nnew-within-months = 2\n\
             [serve]\nlisten = \"0.0.0.0:9000\"\npublic-url = \"https://x.test\"\nmax-file-size = 10\nmax-project-size = 20\n\
             require-verified-email = false\nrequire-2fa-for-tokens = false\nopen-registration = false\n\
             session-hours = 1\nverification-hours = 2\nsmtp-url = \"smtp://127.0.0.1:25\"\nmail-from = \"a@x.test\"\n\
             log-format = \"json\"\n",
        )
        .unwrap();
        assert_eq!(config.check.fail_on, FailOn::Warn);
        assert_eq!(config.check.cooldown_days, 7);
        assert_eq!(config.names.squat_config().min_rank_ratio, 10);
        assert_eq!(config.serve.listen, "0.0.0.0:9000");
        assert_eq!(config.serve.max_project_size, 20);
        assert!(!config.serve.require_2fa_for_tokens);
        assert_eq!(config.serve.log_format, picket_server::LogFormat::Json);
    }

    #[test]
    fn refuses_unknown_keys() {
        let err = toml::from_str::<Config>("[check]\nfail_on = \"warn\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `fail_on`"), "{err}");
    }
}
