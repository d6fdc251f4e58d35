//! `picket monitor`: the projects watched, and which of their findings were already sent.
//!
//! The state is one JSON file in the data directory, replaced whole (written beside it, flushed,
//! then renamed over it), so a crash leaves the old state or the new one, never half of either.
//! A finding is known by its project's file, package, version and advisory id (or finding id,
//! with the installed file for a finding about one); an alert is a finding whose key the state
//! has not recorded as sent. Keys are recorded only once every channel took the alerts, so a
//! failed delivery is tried again on the next run.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::scan::{ScanReport, baseline_key};

/// `[monitor]` in `picket.toml`: where new findings go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MonitorConfig {
    /// POST each run's new findings (JSON) here.
    pub webhook_url: Option<String>,
    /// Sign webhook bodies with this key: `X-Picket-Signature-256: sha256=HEX` (HMAC-SHA256 of the
    /// body), as `picket serve`'s campaign webhook does.
    pub webhook_secret: Option<String>,
    /// Mail each run's new findings to these addresses.
    #[serde(default)]
    pub mail_to: Vec<String>,
    /// SMTP relay, `smtp://HOST:PORT`; without it mail goes to `DATA_DIR/outbox/` (as `serve`'s).
    pub smtp_url: Option<String>,
    /// Sender address (default `picket@localhost`).
    pub mail_from: Option<String>,
}

/// One watched project.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Project {
    /// What alerts call it (default: its folder's name).
    pub name: String,
    /// The dependency file or the folder holding them, absolute.
    pub path: PathBuf,
    /// The keys of the findings already sent.
    #[serde(default)]
    pub sent: BTreeSet<String>,
}

/// Every watched project.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// In the order they were added.
    pub projects: Vec<Project>,
}

/// The largest state file read.
const MAX_STATE_BYTES: u64 = 64 << 20;

impl State {
    /// `DATA_DIR/monitor.json`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("monitor.json")
    }

    /// The state, or an empty one when none was written yet.
    pub fn load(data_dir: &Path) -> anyhow::Result<Self> {
        use picket_deps::FileSource as _;
        let path = Self::path(data_dir);
        if !path.exists() {
            return Ok(Self::default());
        }
        let bytes = picket_deps::FsSource {
            max_bytes: MAX_STATE_BYTES,
        }
        .read(&path)
        .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a picket monitor state (JSON with \"projects\")",
                path.display()
            )
        })
    }

    /// Replaces the state file whole: a temporary file beside it, flushed, renamed over it.
    pub fn save(&self, data_dir: &Path) -> anyhow::Result<()> {
        let path = Self::path(data_dir);
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let mut temp = tempfile::NamedTempFile::new_in(data_dir)
            .with_context(|| format!("writing beside {}", path.display()))?;
        serde_json::to_writer_pretty(&mut temp, self)?;
        temp.write_all(b"\n")?;
        temp.as_file().sync_all()?;
        temp.persist(&path)
            .with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }

    /// Watches `path` (made absolute) as `name`, else its folder's name; a path or name watched
    /// already is refused.
    pub fn add(&mut self, path: &Path, name: Option<&str>) -> anyhow::Result<&Project> {
        let path =
            std::path::absolute(path).with_context(|| format!("resolving {}", path.display()))?;
        let folder = if path.is_dir() {
            path.as_path()
        } else {
            path.parent().unwrap_or(&path)
        };
        let name = match name {
            Some(n) if n.trim().is_empty() => anyhow::bail!("--name must not be empty"),
            Some(n) => n.to_owned(),
            None => folder
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("project")
                .to_owned(),
        };
        if let Some(p) = self.projects.iter().find(|p| p.path == path) {
            anyhow::bail!("{} is monitored already, as {}", path.display(), p.name);
        }
        if self.projects.iter().any(|p| p.name == name) {
            anyhow::bail!(
                "a project named {name} is monitored already\nhint: give this one another with --name"
            );
        }
        self.projects.push(Project {
            name,
            path,
            sent: BTreeSet::new(),
        });
        Ok(self.projects.last().expect("just pushed"))
    }

    /// Stops watching the project of this name or path.
    pub fn remove(&mut self, which: &str) -> anyhow::Result<Project> {
        let as_path = std::path::absolute(which).ok();
        let at = self
            .projects
            .iter()
            .position(|p| p.name == which || Some(&p.path) == as_path.as_ref());
        match at {
            Some(i) => Ok(self.projects.remove(i)),
            None => anyhow::bail!(
                "no monitored project is named {which} or lives there\nhint: `picket monitor list` shows them"
            ),
        }
    }
}

/// One finding to tell about.
#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    /// The project's name.
    pub project: String,
    /// The dependency file (or installed file) it is about.
    pub file: String,
    /// 1-based line of the declaration.
    pub line: usize,
    /// The package's normalized name (none for a finding about a whole file).
    pub package: Option<String>,
    /// The pinned version.
    pub version: Option<String>,
    /// The finding id (`vulnerable`, `known-malicious`, `typosquat`, …).
    pub finding: String,
    /// `critical`, `high`, `medium` or `low`.
    pub severity: String,
    /// The advisory id, for `vulnerable` and `known-malicious`.
    pub advisory: Option<String>,
    /// The advisory's other ids.
    pub aliases: Vec<String>,
    /// Versions that fix it.
    pub fixed: Vec<String>,
    /// One line, as the scan says it.
    pub message: String,
    /// What the state records once it is sent.
    #[serde(skip)]
    pub key: String,
    /// The same finding under the advisory's other ids: a new record that aliases one sent
    /// before (and now names the vulnerability) is not news.
    #[serde(skip)]
    pub alias_keys: Vec<String>,
}

impl Alert {
    /// Its key and its aliases' keys.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.key).chain(&self.alias_keys)
    }
}

/// Every finding of `report` (not ignored) as an alert of `project`, with its key.
pub fn alerts(project: &str, report: &ScanReport) -> Vec<Alert> {
    let mut out = Vec::new();
    for file in &report.files {
        for f in &file.findings {
            let what = baseline_key(f.finding.id.as_str(), f.path.as_deref().unwrap_or(""));
            out.push(Alert {
                project: project.to_owned(),
                file: file.path.clone(),
                line: file.line,
                package: None,
                version: None,
                finding: f.finding.id.as_str().to_owned(),
                severity: f.finding.severity.as_str().to_owned(),
                advisory: None,
                aliases: Vec::new(),
                fixed: Vec::new(),
                message: f.finding.message.clone(),
                key: key(&file.path, "", "", &what),
                alias_keys: Vec::new(),
            });
        }
    }
    for p in &report.packages {
        for f in &p.findings {
            let vulnerability = f
                .advisory
                .as_ref()
                .and_then(|a| p.vulnerabilities.iter().find(|v| &v.id == a));
            let what = f.advisory.clone().unwrap_or_else(|| match &f.path {
                Some(path) => baseline_key(f.finding.id.as_str(), path),
                None => f.finding.id.as_str().to_owned(),
            });
            let version = p.version.as_deref().unwrap_or("");
            out.push(Alert {
                project: project.to_owned(),
                file: p.source.file.clone(),
                line: p.source.line,
                package: Some(p.normalized.clone()),
                version: p.version.clone(),
                finding: f.finding.id.as_str().to_owned(),
                severity: f.finding.severity.as_str().to_owned(),
                advisory: f.advisory.clone(),
                aliases: vulnerability.map(|v| v.aliases.clone()).unwrap_or_default(),
                fixed: vulnerability.map(|v| v.fixed.clone()).unwrap_or_default(),
                message: f.finding.message.clone(),
                key: key(&p.source.file, &p.normalized, version, &what),
                alias_keys: vulnerability
                    .map(|v| {
                        v.aliases
                            .iter()
                            .map(|a| key(&p.source.file, &p.normalized, version, a))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// `FILE PACKAGE VERSION WHAT`, tab-separated (none of them holds a tab that matters).
fn key(file: &str, package: &str, version: &str, what: &str) -> String {
    format!("{file}\t{package}\t{version}\t{what}")
}

/// The alerts none of whose keys `sent` holds, each once.
pub fn unsent(alerts: Vec<Alert>, sent: &BTreeSet<String>) -> Vec<Alert> {
    let mut seen = BTreeSet::new();
    alerts
        .into_iter()
        .filter(|a| !a.keys().any(|k| sent.contains(k)) && seen.insert(a.key.clone()))
        .collect()
}

/// The body of a webhook call: what was checked and the new findings.
pub fn payload(alerts: &[Alert], projects: usize, records: usize) -> serde_json::Value {
    serde_json::json!({
        "source": "picket monitor",
        "projects": projects,
        "advisories": records,
        "new": alerts.len(),
        "alerts": alerts,
    })
}

/// The mail's subject and plain-text body.
pub fn mail_text(alerts: &[Alert]) -> (String, String) {
    let projects: BTreeSet<&str> = alerts.iter().map(|a| a.project.as_str()).collect();
    let subject = format!(
        "picket monitor: {} new finding{} in {}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" },
        projects.into_iter().collect::<Vec<_>>().join(", ")
    );
    let mut body = String::new();
    for a in alerts {
        let package = match (&a.package, &a.version) {
            (Some(p), Some(v)) => format!("{p} {v}"),
            (Some(p), None) => p.clone(),
            _ => String::new(),
        };
        let _ = write!(
            body,
            "{} {}:{} {package}\n  {} ({}): {}\n\n",
            a.project, a.file, a.line, a.finding, a.severity, a.message
        );
    }
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_are_added_once_and_removed_by_name_or_path() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("app");
        std::fs::create_dir(&app).unwrap();
        let mut state = State::default();
        assert_eq!(state.add(&app, None).unwrap().name, "app");
        let again = state.add(&app, Some("other")).unwrap_err().to_string();
        assert!(again.contains("monitored already, as app"), "{again}");
        let named = state
            .add(&tmp.path().join("x.txt"), Some("app"))
            .unwrap_err();
        assert!(format!("{named:#}").contains("hint: "), "{named:#}");
        state.save(tmp.path()).unwrap();
        let mut read = State::load(tmp.path()).unwrap();
        assert_eq!(read.projects, state.projects);
        assert_eq!(read.remove(app.to_str().unwrap()).unwrap().name, "app");
        assert!(read.remove("app").is_err());
    }

    #[test]
    fn a_broken_state_file_is_an_error_not_an_empty_state() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(State::path(tmp.path()), "{\"projects\": [").unwrap();
        let e = State::load(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("not a picket monitor state"), "{e}");
    }
}
