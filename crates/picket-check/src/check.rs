//! The checker: is each name the project you meant, does it exist, does it look like bait?
//! Offline from the name index; with an [`IndexSource`], also from the index's own page and the
//! inspected release.

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use picket_formats::simple_api::{ProjectPage, ProjectStatus, Yanked};
use picket_formats::time::{now_unix, unix_seconds};
use picket_formats::{DistFilename, ProjectName, Version};
use picket_inspect::{Inventory, Limits, inspect_bytes};
use picket_names::{
    AssessConfig, CommandMap, Finding, FindingId, NameIndex, Owner, Severity, SquatDetector, assess,
};
use serde::Serialize;

use crate::config::{CheckPolicy, FailOn, Ignore, NamesPolicy};
use crate::name_data;
use crate::online::{IndexSource, OnlineError};

/// The verdict on one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing worth stopping for.
    Allow,
    /// Look before installing.
    Warn,
    /// Do not install without checking.
    Block,
}

impl Verdict {
    /// The verdict of the worst finding: high or critical blocks, medium warns.
    pub fn of(findings: &[Finding]) -> Self {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::High | Severity::Critical) => Self::Block,
            Some(Severity::Medium) => Self::Warn,
            _ => Self::Allow,
        }
    }

    /// Whether this verdict fails a run whose policy fails on `fail_on`.
    pub fn at_least(self, fail_on: FailOn) -> bool {
        match fail_on {
            FailOn::Warn => self >= Self::Warn,
            FailOn::Block => self == Self::Block,
        }
    }
}

/// The JSON contract of `picket check`: one entry of `packages`.
#[derive(Debug, Serialize)]
pub struct PackageReport {
    /// The name as asked.
    pub name: String,
    /// Its PEP 503 normalized form.
    pub normalized: String,
    /// The version asked about, or (online) the release that was checked.
    pub version: Option<String>,
    /// Whether the project exists; `None` when that cannot be judged.
    pub exists: Option<bool>,
    /// The verdict of the findings.
    pub verdict: Verdict,
    /// Worst first.
    pub findings: Vec<Finding>,
    /// Why the check could not be completed (the findings so far are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The releases the index offers with a file that is not yanked (online only), ascending:
    /// where `scan` looks for a release to upgrade to.
    #[serde(skip)]
    pub releases: Option<Vec<Version>>,
    /// When the project's first file was uploaded, in seconds since the epoch (online, when the
    /// index says): its age, for front ends that show it.
    #[serde(skip)]
    pub first_upload: Option<i64>,
    /// What the inspection of the release noticed that is not a finding (a metadata field
    /// malformed, …), for the caller to show as warnings.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl PackageReport {
    /// The report of a name that could not be checked at all.
    pub fn failed(name: String, error: String) -> Self {
        PackageReport {
            normalized: picket_formats::normalize(&name),
            name,
            version: None,
            exists: None,
            verdict: Verdict::Allow,
            findings: Vec::new(),
            error: Some(error),
            releases: None,
            first_upload: None,
            warnings: Vec::new(),
        }
    }

    /// Leaves out the findings a `[[check.ignore]]` entry names (by finding id) on day `today`
    /// (days since the epoch), and recomputes the verdict.
    pub fn apply_ignores(&mut self, ignore: &[Ignore], today: i64) {
        let normalized = &self.normalized;
        self.findings.retain(|f| {
            !ignore
                .iter()
                .any(|e| e.applies(normalized, self.version.as_deref(), &[f.id.as_str()], today))
        });
        self.verdict = Verdict::of(&self.findings);
    }
}

/// One name to check, and the version asked about.
pub struct Request {
    /// A valid project name, as given.
    pub name: String,
    /// A valid PEP 440 version.
    pub version: Option<String>,
}

impl std::str::FromStr for Request {
    type Err = anyhow::Error;

    /// `NAME` or `NAME==VERSION`, both validated.
    fn from_str(raw: &str) -> anyhow::Result<Request> {
        parse_request(raw)
    }
}

fn parse_request(raw: &str) -> anyhow::Result<Request> {
    let (name, version) = match raw.split_once("==") {
        Some((name, version)) => (name.trim(), Some(version.trim())),
        None => (raw.trim(), None),
    };
    ProjectName::new(name).with_context(|| format!("`{raw}`"))?;
    if let Some(v) = version
        && v.parse::<Version>().is_err()
    {
        bail!("`{raw}`: `{v}` is not a valid version");
    }
    Ok(Request {
        name: name.to_owned(),
        version: version.map(str::to_owned),
    })
}

/// Everything a check needs, shared by the worker threads.
pub struct Checker<'a> {
    index: &'a NameIndex,
    detector: &'a SquatDetector,
    assess_config: AssessConfig,
    commands: CommandMap,
    source: Option<Box<dyn IndexSource + 'a>>,
    allow: Vec<String>,
    cooldown_days: u32,
    now: i64,
}

impl<'a> Checker<'a> {
    /// The checker for a policy over a loaded name index.
    pub fn new(
        policy: &CheckPolicy,
        names: &NamesPolicy,
        loaded: &'a name_data::LoadedIndex,
        detector: &'a SquatDetector,
        source: Option<Box<dyn IndexSource + 'a>>,
    ) -> Self {
        let defaults = AssessConfig::default();
        Checker {
            index: &loaded.index,
            detector,
            assess_config: AssessConfig {
                index_is_complete: loaded.complete,
                new_within_months: names
                    .new_within_months
                    .unwrap_or(defaults.new_within_months),
            },
            commands: CommandMap::default(),
            source,
            allow: policy
                .allow
                .iter()
                .map(|n| picket_formats::normalize(n))
                .collect(),
            cooldown_days: policy.cooldown_days,
            now: now_unix(),
        }
    }

    /// Whether it checks against an index.
    pub fn online(&self) -> bool {
        self.source.is_some()
    }

    /// Whether some name's existence could not be judged, and would have been with the full
    /// snapshot or an index: the caller's cue to say how.
    pub fn existence_unjudged(&self, mut exists: impl Iterator<Item = Option<bool>>) -> bool {
        !self.assess_config.index_is_complete && !self.online() && exists.any(|e| e.is_none())
    }

    /// Checks one name.
    pub fn check(&self, request: &Request) -> PackageReport {
        check_one(self, request)
    }
}

/// Checks every request, `jobs` at a time, keeping the input order; `progress(done, total)` is
/// called as each request is done (from the worker threads).
pub fn check_all(
    context: &Checker<'_>,
    requests: &[Request],
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<PackageReport> {
    let done = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<PackageReport>> = (0..requests.len()).map(|_| None).collect();
    let results = std::sync::Mutex::new(&mut slots);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(requests.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(i) else {
                        break;
                    };
                    let report = check_one(context, request);
                    results.lock().expect("no worker panics")[i] = Some(report);
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, requests.len());
                }
            });
        }
    });
    slots.into_iter().flatten().collect()
}

fn check_one(context: &Checker<'_>, request: &Request) -> PackageReport {
    let normalized = picket_formats::normalize(&request.name);
    let mut report = PackageReport {
        name: request.name.clone(),
        normalized: normalized.clone(),
        version: request.version.clone(),
        exists: None,
        verdict: Verdict::Allow,
        findings: Vec::new(),
        error: None,
        releases: None,
        first_upload: None,
        warnings: Vec::new(),
    };
    if context.allow.contains(&normalized) {
        report.exists = context.index.get(&normalized).map(|_| true);
        return report;
    }
    let page = match &context.source {
        Some(client) => match client.project(&normalized) {
            Ok(page) => Some(page),
            Err(e) => {
                report.error = Some(e.to_string());
                None
            }
        },
        None => None,
    };
    let online_exists = page.as_ref().map(Option::is_some);
    let assessment = assess(
        &request.name,
        context.index,
        context.detector,
        &context.assess_config,
        online_exists,
    );
    report.exists = assessment.exists;
    report.findings = assessment.findings;
    if let (Some(client), Some(Some((page_url, page)))) = (&context.source, page) {
        let mut releases: Vec<Version> = page
            .files
            .iter()
            .filter(|f| f.yanked == Yanked::No)
            .filter_map(|f| {
                let parsed = f.filename.parse::<DistFilename>().ok()?;
                (parsed.name().normalized() == normalized).then(|| parsed.version().clone())
            })
            .collect();
        releases.sort();
        releases.dedup();
        report.releases = Some(releases);
        report.first_upload = first_upload(&page);
        if let Some(status) = status_finding(&request.name, &page) {
            let quarantined = page.status == ProjectStatus::Quarantined;
            report.findings.push(status);
            if quarantined {
                // It lists no files: there is no release to inspect, and nothing is missing.
                return finish(report);
            }
        }
        match online_findings(
            context,
            client.as_ref(),
            request,
            &normalized,
            &page_url,
            &page,
            &mut report.warnings,
        ) {
            Ok((version, findings)) => {
                report.version = Some(version);
                report.findings.extend(findings);
            }
            Err(e) => report.error = Some(e),
        }
    }
    finish(report)
}

/// Sorts the findings worst first and sets the verdict.
fn finish(mut report: PackageReport) -> PackageReport {
    report
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    report.verdict = Verdict::of(&report.findings);
    report
}

/// The finding a PEP 792 status marker on the project page calls for: quarantined blocks (the
/// index holds the project as unsafe), deprecated warns (obsolete; the reason often names the
/// successor), archived is noted (no more releases, so no more fixes, but nothing wrong today).
fn status_finding(name: &str, page: &ProjectPage) -> Option<Finding> {
    let reason = page
        .status_reason
        .as_deref()
        .map(|r| format!(" (\"{}\")", from_index(r)))
        .unwrap_or_default();
    let (severity, message) = match page.status {
        ProjectStatus::Active => return None,
        ProjectStatus::Quarantined => (
            Severity::High,
            format!(
                "the index has quarantined {name}{reason}: it holds the project as unsafe and serves no files; do not install it, and remove it where it is installed"
            ),
        ),
        ProjectStatus::Deprecated => (
            Severity::Medium,
            format!("{name} is deprecated by its owners{reason}; move to its successor"),
        ),
        ProjectStatus::Archived => (
            Severity::Low,
            format!(
                "{name} is archived{reason}: its owners expect no more releases, so no more security fixes; plan a replacement"
            ),
        ),
    };
    Some(finding(FindingId::ProjectStatus, severity, message, None))
}

/// Free text an index wrote (a yank or status reason), fit for a finding's message: control
/// characters (a terminal escape sequence, a line break) become spaces, and at most 200
/// characters are kept.
fn from_index(text: &str) -> String {
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(201)
        .collect();
    if out.chars().count() > 200 {
        out = out.chars().take(199).collect::<String>() + "…";
    }
    out
}

fn finding(id: FindingId, severity: Severity, message: String, target: Option<String>) -> Finding {
    Finding {
        id,
        severity,
        message,
        target,
        technique: None,
    }
}

/// The earliest upload time the page lists, in seconds since the epoch.
fn first_upload(page: &ProjectPage) -> Option<i64> {
    page.files
        .iter()
        .filter_map(|f| f.upload_time.as_deref().and_then(unix_seconds))
        .min()
}

/// Findings from the index's page and the inspected release; returns the version checked.
fn online_findings(
    context: &Checker<'_>,
    client: &dyn IndexSource,
    request: &Request,
    normalized: &str,
    page_url: &url::Url,
    page: &ProjectPage,
    warnings: &mut Vec<String>,
) -> Result<(String, Vec<Finding>), String> {
    let name = &request.name;
    let mut findings = Vec::new();
    let files: Vec<(Version, &picket_formats::simple_api::FileEntry)> = page
        .files
        .iter()
        .filter_map(|f| {
            let parsed = f.filename.parse::<DistFilename>().ok()?;
            (parsed.name().normalized() == normalized).then(|| (parsed.version().clone(), f))
        })
        .collect();
    let mut versions: Vec<&Version> = files.iter().map(|(v, _)| v).collect();
    versions.sort();
    versions.dedup();
    let version = match &request.version {
        Some(wanted) => {
            let wanted: Version = wanted
                .parse()
                .map_err(|_| format!("`{wanted}` is not a version"))?;
            versions
                .iter()
                .find(|v| ***v == wanted)
                .map(|v| (*v).clone())
                .ok_or_else(|| format!("{name} has no release {wanted} on the index"))?
        }
        None => {
            // The newest release with a file that is not yanked, as pip would pick.
            let live = files
                .iter()
                .filter(|(_, f)| f.yanked == Yanked::No)
                .map(|(v, _)| v)
                .max();
            match live.or(versions.last().copied()) {
                Some(v) => v.clone(),
                None => return Err(format!("{name} has no installable files on the index")),
            }
        }
    };
    let release: Vec<&picket_formats::simple_api::FileEntry> = files
        .iter()
        .filter(|(v, _)| *v == version)
        .map(|(_, f)| *f)
        .collect();

    if release.iter().all(|f| f.yanked != Yanked::No) {
        let reason = release.iter().find_map(|f| match &f.yanked {
            Yanked::Yes(Some(reason)) => Some(reason.clone()),
            _ => None,
        });
        findings.push(finding(
            FindingId::Yanked,
            Severity::Medium,
            format!(
                "{name} {version} is yanked{}; pin another release",
                reason
                    .map(|r| format!(" ({})", from_index(&r)))
                    .unwrap_or_default()
            ),
            None,
        ));
    }
    if versions.len() == 1 {
        findings.push(finding(
            FindingId::SingleRelease,
            Severity::Low,
            format!("{name} has a single release; established projects rarely do"),
            None,
        ));
    }
    if let Some(first) = first_upload(page) {
        let age_days = (context.now - first) / 86_400;
        if age_days < i64::from(context.cooldown_days) {
            findings.push(finding(
                FindingId::NewProject,
                Severity::Medium,
                format!(
                    "{name} was first uploaded {age_days} days ago (cooldown {} days); new projects are where squatters live — wait or verify the publisher",
                    context.cooldown_days
                ),
                None,
            ));
        }
    }

    // Inspect the smallest wheel, else the smallest sdist.
    let pick = release
        .iter()
        .filter(|f| {
            matches!(
                f.filename.parse::<DistFilename>(),
                Ok(DistFilename::Wheel(_))
            )
        })
        .min_by_key(|f| f.size.unwrap_or(u64::MAX))
        .or_else(|| release.iter().min_by_key(|f| f.size.unwrap_or(u64::MAX)));
    if let Some(file) = pick {
        let url = page_url
            .join(&file.url)
            .map_err(|e| format!("{}: bad file URL: {e}", file.url))?;
        let bytes = client
            .download(&url, file.hashes.get("sha256").map(String::as_str))
            .map_err(|e: OnlineError| e.to_string())?;
        let inventory = inspect_bytes(&file.filename, &bytes, &Limits::default())
            .map_err(|e| format!("{}: {e}", file.filename))?;
        for warning in inventory.metadata.iter().flat_map(|m| &m.warnings) {
            warnings.push(format!("{}: {warning}", file.filename));
        }
        findings.extend(artifact_findings(context, name, normalized, &inventory));
    }
    Ok((version.to_string(), findings))
}

fn artifact_findings(
    context: &Checker<'_>,
    name: &str,
    normalized: &str,
    inventory: &Inventory,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if inventory.emptiness.empty {
        findings.push(finding(
            FindingId::EmptyPackage,
            Severity::High,
            format!(
                "{} holds no code ({}); empty packages are placeholders for squatting or a later malicious release",
                inventory.filename, inventory.emptiness.reason
            ),
            None,
        ));
    }
    let described = inventory.metadata.as_ref().is_some_and(|m| {
        m.description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty())
            || m.summary.as_deref().is_some_and(|s| !s.trim().is_empty())
    });
    if !described {
        findings.push(finding(
            FindingId::NoDescription,
            Severity::Low,
            format!("{name} has no summary or description"),
            None,
        ));
    }
    for script in inventory.console_scripts() {
        if let Some(owner) = context.commands.shadowed_by(script, normalized) {
            let (whose, target) = match owner {
                Owner::Project(project) => (
                    format!("the `{script}` command of {project}"),
                    Some(project.clone()),
                ),
                Owner::Reserved(kind) => (format!("the {kind} command `{script}`"), None),
            };
            findings.push(finding(
                FindingId::EntrypointShadowing,
                Severity::High,
                format!("{name} installs a console script `{script}` that would replace {whose}; do not install it next to the real one"),
                target,
            ));
        } else if picket_formats::normalize(script) != normalized
            && let Some(rank) = context.detector.popular_rank(script)
        {
            findings.push(finding(
                FindingId::EntrypointShadowing,
                Severity::Medium,
                format!("{name} installs a console script `{script}`, named like the popular project {script} (rank {rank}); make sure it is not meant to pass for it"),
                Some(picket_formats::normalize(script)),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_worst_finding() {
        let f = |severity| finding(FindingId::SingleRelease, severity, String::new(), None);
        assert_eq!(Verdict::of(&[]), Verdict::Allow);
        assert_eq!(Verdict::of(&[f(Severity::Low)]), Verdict::Allow);
        assert_eq!(
            Verdict::of(&[f(Severity::Low), f(Severity::Medium)]),
            Verdict::Warn
        );
        assert_eq!(Verdict::of(&[f(Severity::High)]), Verdict::Block);
        assert!(Verdict::Warn.at_least(FailOn::Warn));
        assert!(!Verdict::Warn.at_least(FailOn::Block));
    }

    #[test]
    fn an_index_reason_cannot_drive_the_terminal_or_flood_it() {
        assert_eq!(from_index(" use x\u{1b}[2J\nnow "), "use x [2J now");
        let long = from_index(&"a".repeat(500));
        assert_eq!(long.chars().count(), 200);
        assert!(long.ends_with('…'));
        assert_eq!(from_index(&"b".repeat(200)), "b".repeat(200));
    }

    #[test]
    fn requests_are_validated() {
        assert!(parse_request("requests==2.31.0").is_ok());
        assert!(parse_request("requests").unwrap().version.is_none());
        assert!(parse_request("-bad").is_err());
        assert!(parse_request("requests==not.a.version!").is_err());
    }
}
