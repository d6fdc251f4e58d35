//! What the tools answer: compact structures an agent acts on (their JSON Schemas are the tools'
//! output schemas), drawn from `picket_check`'s reports, and the same answer as text.

use std::fmt::Write as _;

use picket_check::PackageReport;
use picket_check::scan::{Advisory, ScanFinding, ScanPackage, ScanReport};
use picket_names::{Finding, FindingId, NameIndex};
use schemars::JsonSchema;
use serde::Serialize;

/// The verdict on a package, as `picket check` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing worth stopping for.
    Allow,
    /// Look before installing: tell the user what was found.
    Warn,
    /// Do not install: a typosquat, a name that does not exist, a malicious or empty package.
    Block,
}

impl From<picket_check::Verdict> for Verdict {
    fn from(verdict: picket_check::Verdict) -> Self {
        match verdict {
            picket_check::Verdict::Allow => Self::Allow,
            picket_check::Verdict::Warn => Self::Warn,
            picket_check::Verdict::Block => Self::Block,
        }
    }
}

impl Verdict {
    /// The word shown first on a line of text.
    fn word(self) -> &'static str {
        match self {
            Self::Allow => "ALLOW",
            Self::Warn => "WARN",
            Self::Block => "BLOCK",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FindingOut {
    /// What kind: `nonexistent`, `typosquat`, `confusable`, `stdlib-name`,
    /// `known-hallucination`, `hallucination-pattern`, `new-project`, `empty-package`,
    /// `entrypoint-shadowing`, `yanked`, `project-status`, `single-release`, `no-description`,
    /// and in scans `known-malicious`, `vulnerable`, `unpinned`, `no-hashes`, `unlocked`.
    pub id: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// For a person, ending with what to do.
    pub message: String,
    /// The project the finding points at (the one imitated), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The OSV advisory id, for `vulnerable` and `known-malicious`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
}

impl FindingOut {
    fn of(finding: &Finding, advisory: Option<&str>) -> Self {
        FindingOut {
            id: finding.id.as_str().to_owned(),
            severity: finding.severity.as_str().to_owned(),
            message: finding.message.clone(),
            target: finding.target.clone(),
            advisory: advisory.map(str::to_owned),
        }
    }

    fn of_scan(finding: &ScanFinding) -> Self {
        Self::of(&finding.finding, finding.advisory.as_deref())
    }
}

/// The real projects the findings point at, in order: what the user probably meant.
fn did_you_mean<'a>(normalized: &str, findings: impl Iterator<Item = &'a Finding>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for finding in findings {
        let suggests = matches!(
            finding.id,
            FindingId::Nonexistent
                | FindingId::Typosquat
                | FindingId::Confusable
                | FindingId::KnownHallucination
                | FindingId::HallucinationPattern
        );
        if let (true, Some(target)) = (suggests, &finding.target)
            && picket_formats::normalize(target) != normalized
            && !names.contains(target)
        {
            names.push(target.clone());
        }
    }
    names
}

/// How old a project is and how many releases it has (from the index's page, online).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Age {
    /// The first upload, `YYYY-MM-DD`, when the index gives upload times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_upload: Option<String>,
    /// Days since the first upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_old: Option<i64>,
    /// Releases with a file that is not yanked.
    pub releases: usize,
    /// The newest of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
}

/// One package vetted.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PackageOut {
    /// The name as asked.
    pub name: String,
    /// Its normalized form (PEP 503).
    pub normalized: String,
    /// The version asked about, or (online) the release that was checked: the one to pin.
    pub version: Option<String>,
    /// Whether the project exists; `null` when that cannot be known (offline with the embedded
    /// list, or the index did not answer).
    pub exists: Option<bool>,
    /// `allow`, `warn` or `block`.
    pub verdict: Verdict,
    /// The real projects the name imitates or was probably meant to be.
    pub did_you_mean: Vec<String>,
    /// Worst first.
    pub findings: Vec<FindingOut>,
    /// The release that fixes the known vulnerabilities of this one, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_to: Option<String>,
    /// Age and releases, from the index's page (online).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<Age>,
    /// Download rank in the name index (1 = most downloaded), when ranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Month of the latest release the name index knows (`YYYY-MM`), offline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_release_month: Option<String>,
    /// Why the check could not be completed (the index did not answer, the version asked for
    /// does not exist): the package is not vetted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PackageOut {
    /// The answer for one report and what the advisories say of its release (`advisory`, the
    /// policy's ignores applied); `index` is the name index (rank, latest month), `now` the time
    /// in seconds since the epoch.
    pub fn of(report: &PackageReport, advisory: &Advisory, index: &NameIndex, now: i64) -> Self {
        let info = index.get(&report.normalized);
        let mut findings: Vec<(&Finding, Option<&str>)> =
            report.findings.iter().map(|f| (f, None)).collect();
        findings.extend(
            advisory
                .findings
                .iter()
                .map(|f| (&f.finding, f.advisory.as_deref())),
        );
        findings.sort_by_key(|(f, _)| std::cmp::Reverse(f.severity));
        let plain: Vec<Finding> = findings.iter().map(|(f, _)| (*f).clone()).collect();
        let age = report.releases.as_ref().map(|releases| Age {
            first_upload: report.first_upload.map(date),
            days_old: report.first_upload.map(|t| (now - t).div_euclid(86_400)),
            releases: releases.len(),
            latest: releases.last().map(ToString::to_string),
        });
        PackageOut {
            name: report.name.clone(),
            normalized: report.normalized.clone(),
            version: report.version.clone(),
            exists: report.exists,
            verdict: picket_check::Verdict::of(&plain).into(),
            did_you_mean: did_you_mean(&report.normalized, report.findings.iter()),
            findings: findings
                .iter()
                .map(|(f, advisory)| FindingOut::of(f, *advisory))
                .collect(),
            upgrade_to: advisory.upgrade.as_ref().and_then(|u| u.to.clone()),
            age,
            rank: info.and_then(|i| i.rank),
            latest_release_month: info.and_then(|i| i.latest_release).map(|m| m.to_string()),
            error: report.error.clone(),
        }
    }

    /// `name` or `name==version`.
    fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("{}=={v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// `YYYY-MM-DD` of a time in seconds since the epoch.
fn date(seconds: i64) -> String {
    let (y, m, d) = picket_formats::time::civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Where the answers come from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Source {
    /// `online` (the index was asked) or `offline` (the name index only).
    pub mode: String,
    /// The index asked, online.
    pub index: Option<String>,
    /// What offline checking cannot tell, and how to go online.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Source {
    pub(crate) fn write(&self, text: &mut String) {
        match (&self.index, &self.note) {
            (Some(index), _) => {
                let _ = writeln!(text, "Checked online against {index}.");
            }
            (None, Some(note)) => {
                let _ = writeln!(text, "Checked offline: {note}");
            }
            (None, None) => text.push_str("Checked offline.\n"),
        }
    }
}

/// The answer of `check_packages`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckResult {
    /// Where the answers come from.
    #[serde(flatten)]
    pub source: Source,
    /// Advisory records available to match releases against (0: known-malicious and vulnerable
    /// releases were not checked).
    pub advisories: usize,
    /// The worst verdict of all.
    pub worst: Verdict,
    /// One entry per name asked, in order.
    pub packages: Vec<PackageOut>,
}

impl CheckResult {
    /// The answer as text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for p in &self.packages {
            let headline = match (&p.error, p.findings.first()) {
                (Some(e), _) => format!("not vetted: {e}"),
                (None, Some(f)) => format!("{}: {}", f.id, f.message),
                (None, None) => match p.exists {
                    Some(true) => "exists; nothing found".to_owned(),
                    Some(false) => "does not exist".to_owned(),
                    None => "nothing found (existence unknown offline)".to_owned(),
                },
            };
            let word = if p.error.is_some() {
                "ERROR"
            } else {
                p.verdict.word()
            };
            let _ = writeln!(text, "{word} {}: {headline}", p.label());
            for f in p.findings.iter().skip(usize::from(p.error.is_none())) {
                let _ = writeln!(text, "  {} {}: {}", f.severity, f.id, f.message);
            }
            if !p.did_you_mean.is_empty() {
                let _ = writeln!(text, "  did you mean: {}", p.did_you_mean.join(", "));
            }
            if let Some(to) = &p.upgrade_to {
                let _ = writeln!(text, "  upgrade to {to}");
            }
            if let Some(age) = &p.age {
                let _ = writeln!(
                    text,
                    "  {} release{}{}{}",
                    age.releases,
                    if age.releases == 1 { "" } else { "s" },
                    age.latest
                        .as_deref()
                        .map(|l| format!(", latest {l}"))
                        .unwrap_or_default(),
                    match (&age.first_upload, age.days_old) {
                        (Some(d), Some(days)) => format!(", first upload {d} ({days} days ago)"),
                        _ => String::new(),
                    }
                );
            }
        }
        if self.advisories == 0 {
            text.push_str(NO_ADVISORIES);
        }
        self.source.write(&mut text);
        text
    }
}

/// Said when no advisories were imported.
const NO_ADVISORIES: &str = "No advisories imported: releases were not checked for known vulnerabilities or malware (`picket db update`).\n";

/// One dependency file scanned.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileOut {
    /// The path.
    pub path: String,
    /// How many dependencies it declares.
    pub dependencies: usize,
    /// File-level findings (`unlocked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingOut>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A dependency that needs acting on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProblemOut {
    /// The name as declared.
    pub name: String,
    /// The pinned version, if pinned.
    pub version: Option<String>,
    /// `warn` or `block`.
    pub verdict: Verdict,
    /// The file that declares it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The real projects the name imitates or was probably meant to be.
    pub did_you_mean: Vec<String>,
    /// The release to move to, when advisories name a fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_to: Option<String>,
    /// Worst first.
    pub findings: Vec<FindingOut>,
    /// Why it could not be fully checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ProblemOut {
    fn of(p: &ScanPackage) -> Self {
        ProblemOut {
            name: p.name.clone(),
            version: p.version.clone(),
            verdict: p.verdict.into(),
            file: p.source.file.clone(),
            line: p.source.line,
            did_you_mean: did_you_mean(&p.normalized, p.findings.iter().map(|f| &f.finding)),
            upgrade_to: p.upgrade.as_ref().and_then(|u| u.to.clone()),
            findings: p.findings.iter().map(FindingOut::of_scan).collect(),
            error: p.error.clone(),
        }
    }
}

/// How many declarations got each verdict.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Counts {
    /// Declarations scanned.
    pub dependencies: usize,
    /// With verdict `allow`.
    pub allow: usize,
    /// With verdict `warn`.
    pub warn: usize,
    /// With verdict `block`.
    pub block: usize,
}

/// The answer of `scan_project`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ScanResult {
    /// Where the answers come from.
    #[serde(flatten)]
    pub source: Source,
    /// Advisory records available to match releases against (0: vulnerabilities and malware
    /// were not checked).
    pub advisories: usize,
    /// The worst verdict: what decides whether the project is safe to install as it is.
    pub worst: Verdict,
    /// Declarations per verdict.
    pub counts: Counts,
    /// The dependency files read.
    pub files: Vec<FileOut>,
    /// Only the dependencies with a `warn` or `block` verdict or an error, worst first.
    pub problems: Vec<ProblemOut>,
    /// What could not be checked, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ScanResult {
    /// The compact answer for a scan report.
    pub fn of(report: &ScanReport, source: Source, warnings: Vec<String>) -> Self {
        let mut counts = Counts::default();
        for p in &report.packages {
            counts.dependencies += 1;
            match p.verdict {
                picket_check::Verdict::Allow => counts.allow += 1,
                picket_check::Verdict::Warn => counts.warn += 1,
                picket_check::Verdict::Block => counts.block += 1,
            }
        }
        let mut problems: Vec<ProblemOut> = report
            .packages
            .iter()
            .filter(|p| p.verdict != picket_check::Verdict::Allow || p.error.is_some())
            .map(ProblemOut::of)
            .collect();
        problems.sort_by_key(|p| std::cmp::Reverse(p.verdict));
        ScanResult {
            source,
            advisories: report.advisories.records,
            worst: report.worst().into(),
            counts,
            files: report
                .files
                .iter()
                .map(|f| FileOut {
                    path: f.path.clone(),
                    dependencies: f.dependencies,
                    findings: f.findings.iter().map(FindingOut::of_scan).collect(),
                    error: f.error.clone(),
                })
                .collect(),
            problems,
            warnings,
        }
    }

    /// The answer as text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let c = &self.counts;
        let _ = writeln!(
            text,
            "{}: {} dependencies in {} file{} ({} block, {} warn, {} allow)",
            self.worst.word(),
            c.dependencies,
            self.files.len(),
            if self.files.len() == 1 { "" } else { "s" },
            c.block,
            c.warn,
            c.allow
        );
        for f in &self.files {
            if let Some(e) = &f.error {
                let _ = writeln!(text, "ERROR {}: {e}", f.path);
            }
            for finding in &f.findings {
                let _ = writeln!(
                    text,
                    "{} {}: {}: {}",
                    if finding.severity == "low" {
                        "NOTE"
                    } else {
                        "WARN"
                    },
                    f.path,
                    finding.id,
                    finding.message
                );
            }
        }
        for p in &self.problems {
            let label = match &p.version {
                Some(v) => format!("{} {v}", p.name),
                None => p.name.clone(),
            };
            let _ = writeln!(text, "{} {label} ({}:{})", p.verdict.word(), p.file, p.line);
            if let Some(e) = &p.error {
                let _ = writeln!(text, "  not fully checked: {e}");
            }
            for f in &p.findings {
                let _ = writeln!(
                    text,
                    "  {} {}{}: {}",
                    f.severity,
                    f.id,
                    f.advisory
                        .as_deref()
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default(),
                    f.message
                );
            }
            if !p.did_you_mean.is_empty() {
                let _ = writeln!(text, "  did you mean: {}", p.did_you_mean.join(", "));
            }
            if let Some(to) = &p.upgrade_to {
                let _ = writeln!(text, "  upgrade to {to}");
            }
        }
        for w in &self.warnings {
            let _ = writeln!(text, "warning: {w}");
        }
        if self.advisories == 0 {
            text.push_str(NO_ADVISORIES);
        }
        self.source.write(&mut text);
        text
    }
}
