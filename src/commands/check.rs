//! `picket check NAME[==VERSION]...`: is each name the project you meant, does it exist, does it
//! look like bait? Offline from the name index; online, also from the index's own page and the
//! inspected release.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use picket_formats::simple_api::{ProjectPage, Yanked};
use picket_formats::{DistFilename, ProjectName, Version};
use picket_inspect::{Inventory, Limits, inspect_bytes};
use picket_names::{
    AssessConfig, CommandMap, Finding, FindingId, NameIndex, Owner, Severity, SquatDetector, assess,
};
use serde::Serialize;

use crate::cli::{CheckArgs, Format};
use crate::config::{Config, FailOn, data_dir};
use crate::index_url;
use crate::name_data;
use crate::online::{Client, OnlineError};
use crate::output::{self, BAD, BOLD, DIM, Exit, GOOD};

/// The verdict on one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    /// Nothing worth stopping for.
    Allow,
    /// Look before installing.
    Warn,
    /// Do not install without checking.
    Block,
}

impl Verdict {
    pub(crate) fn of(findings: &[Finding]) -> Self {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::High | Severity::Critical) => Self::Block,
            Some(Severity::Medium) => Self::Warn,
            _ => Self::Allow,
        }
    }

    pub(crate) fn at_least(self, fail_on: FailOn) -> bool {
        match fail_on {
            FailOn::Warn => self >= Self::Warn,
            FailOn::Block => self == Self::Block,
        }
    }
}

/// The JSON contract: one entry of `packages`.
#[derive(Debug, Serialize)]
pub(crate) struct PackageReport {
    pub(crate) name: String,
    pub(crate) normalized: String,
    pub(crate) version: Option<String>,
    pub(crate) exists: Option<bool>,
    pub(crate) verdict: Verdict,
    pub(crate) findings: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// The releases the index offers with a file that is not yanked (online only), ascending:
    /// where `scan` looks for a release to upgrade to.
    #[serde(skip)]
    pub(crate) releases: Option<Vec<Version>>,
}

#[derive(Serialize)]
struct Report<'a> {
    mode: &'static str,
    index: Option<&'a str>,
    packages: &'a [PackageReport],
}

pub(crate) struct Request {
    pub(crate) name: String,
    pub(crate) version: Option<String>,
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

/// The names asked about, in order: each a request, or the entry as given and why it is not one
/// (reported as that entry's error, so one bad line among a thousand stops nothing else).
fn read_requests(args: &[String]) -> anyhow::Result<Vec<Result<Request, (String, String)>>> {
    let mut requests = Vec::new();
    let mut push = |raw: &str| {
        requests.push(parse_request(raw).map_err(|e| (raw.to_owned(), format!("{e:#}"))));
    };
    for arg in args {
        if arg == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading names from stdin")?;
                let line = line.split('#').next().unwrap_or_default().trim();
                if !line.is_empty() {
                    push(line);
                }
            }
        } else {
            push(arg);
        }
    }
    Ok(requests)
}

/// [`check_all`] over the valid requests, with an error entry in place of each invalid one.
fn check_in_order(
    context: &Checker<'_>,
    requests: Vec<Result<Request, (String, String)>>,
    jobs: usize,
) -> Vec<PackageReport> {
    let mut slots: Vec<Option<PackageReport>> = Vec::with_capacity(requests.len());
    let (mut positions, mut valid) = (Vec::new(), Vec::new());
    for (i, request) in requests.into_iter().enumerate() {
        match request {
            Ok(request) => {
                positions.push(i);
                valid.push(request);
                slots.push(None);
            }
            Err((raw, error)) => {
                output::error(&error);
                slots.push(Some(PackageReport {
                    normalized: picket_formats::normalize(&raw),
                    name: raw,
                    version: None,
                    exists: None,
                    verdict: Verdict::Allow,
                    findings: Vec::new(),
                    error: Some(error),
                    releases: None,
                }));
            }
        }
    }
    for (i, report) in positions.into_iter().zip(check_all(context, &valid, jobs)) {
        slots[i] = Some(report);
    }
    slots.into_iter().flatten().collect()
}

/// Everything a check needs, shared by the worker threads.
pub(crate) struct Checker<'a> {
    index: &'a NameIndex,
    detector: &'a SquatDetector,
    assess_config: AssessConfig,
    commands: CommandMap,
    client: Option<Client>,
    allow: Vec<String>,
    cooldown_days: u32,
    now: i64,
}

pub fn run(args: &CheckArgs, format: Format) -> Exit {
    match run_checked(args, format) {
        Ok(exit) => exit,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

/// The index URL a command uses: none offline, else the first configured one (with a hint when
/// there is none).
pub(crate) fn resolve_index(
    offline: bool,
    flag: Option<&str>,
    config: &Config,
    origin: &str,
) -> Option<index_url::IndexUrl> {
    if offline {
        return None;
    }
    let url = index_url::resolve(flag, config.index_url.as_deref(), &|k| {
        std::env::var(k).ok()
    });
    if url.is_none() {
        output::hint(&format!(
            "no package index configured (--index, PICKET_INDEX_URL, picket.toml, PIP_INDEX_URL, UV_INDEX_URL, pip.conf); checked offline against {origin}"
        ));
    }
    url
}

impl<'a> Checker<'a> {
    /// The checker for `config`'s policy over a loaded name index.
    pub(crate) fn new(
        config: &Config,
        loaded: &'a name_data::LoadedIndex,
        detector: &'a SquatDetector,
        client: Option<Client>,
    ) -> Self {
        let defaults = AssessConfig::default();
        Checker {
            index: &loaded.index,
            detector,
            assess_config: AssessConfig {
                index_is_complete: loaded.complete,
                new_within_months: config
                    .names
                    .new_within_months
                    .unwrap_or(defaults.new_within_months),
            },
            commands: CommandMap::default(),
            client,
            allow: config
                .check
                .allow
                .iter()
                .map(|n| picket_formats::normalize(n))
                .collect(),
            cooldown_days: config.check.cooldown_days,
            now: now_unix(),
        }
    }

    /// Whether it checks against an index.
    pub(crate) fn online(&self) -> bool {
        self.client.is_some()
    }
}

/// The hint for names whose existence could not be judged (`exists` of each report).
pub(crate) fn hint_unknown_existence(
    loaded: &name_data::LoadedIndex,
    context: &Checker<'_>,
    mut exists: impl Iterator<Item = Option<bool>>,
) {
    if !loaded.complete && !context.online() && exists.any(|e| e.is_none()) {
        output::hint(
            "existence of unranked names can't be judged offline with the embedded list; `picket names import SNAPSHOT.tsv.gz` or --index URL can",
        );
    }
}

fn run_checked(args: &CheckArgs, format: Format) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = data_dir(args.data_dir.as_deref())?;
    let requests = read_requests(&args.names)?;
    let loaded = name_data::load(&data_dir)?;
    let index_url = resolve_index(args.offline, args.index.as_deref(), &config, &loaded.origin);
    let detector = SquatDetector::new(&loaded.popular, config.names.squat_config());
    let client = index_url
        .as_ref()
        .map(|u| Client::new(&u.url, &data_dir.join("http-cache")))
        .transpose()?;
    let context = Checker::new(&config, &loaded, &detector, client);

    let mut reports = check_in_order(&context, requests, args.jobs.max(1));
    hint_unknown_existence(&loaded, &context, reports.iter().map(|r| r.exists));
    // `[[check.ignore]]` entries naming a finding id leave it out until their date.
    let today = now_unix().div_euclid(86_400);
    for report in &mut reports {
        let normalized = report.normalized.clone();
        report.findings.retain(|f| {
            !config
                .check
                .ignore
                .iter()
                .any(|e| e.applies(&normalized, &[f.id.as_str()], today))
        });
        report.verdict = Verdict::of(&report.findings);
    }
    let fail_on = args.fail_on.unwrap_or(config.check.fail_on);
    let report = Report {
        mode: if context.client.is_some() {
            "online"
        } else {
            "offline"
        },
        index: index_url.as_ref().map(|u| u.url.as_str()),
        packages: &reports,
    };
    if let Err(exit) = output::emit(format, &report, |out| print_table(out, &reports)) {
        return Ok(exit);
    }
    Ok(if reports.iter().any(|r| r.error.is_some()) {
        Exit::Error
    } else if reports.iter().any(|r| r.verdict.at_least(fail_on)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// Checks every request, `jobs` at a time, keeping the input order.
pub(crate) fn check_all(
    context: &Checker<'_>,
    requests: &[Request],
    jobs: usize,
) -> Vec<PackageReport> {
    let bar = if requests.len() > 1 && context.client.is_some() {
        ProgressBar::new(requests.len() as u64)
    } else {
        ProgressBar::hidden()
    };
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
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
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
    };
    if context.allow.contains(&normalized) {
        report.exists = context.index.get(&normalized).map(|_| true);
        return report;
    }
    let page = match &context.client {
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
    if let (Some(client), Some(Some((page_url, page)))) = (&context.client, page) {
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
        match online_findings(context, client, request, &normalized, &page_url, &page) {
            Ok((version, findings)) => {
                report.version = Some(version);
                report.findings.extend(findings);
            }
            Err(e) => report.error = Some(e),
        }
    }
    report
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    report.verdict = Verdict::of(&report.findings);
    report
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

/// Findings from the index's page and the inspected release; returns the version checked.
fn online_findings(
    context: &Checker<'_>,
    client: &Client,
    request: &Request,
    normalized: &str,
    page_url: &url::Url,
    page: &ProjectPage,
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
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
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
    let first_upload = page
        .files
        .iter()
        .filter_map(|f| f.upload_time.as_deref().and_then(unix_seconds))
        .min();
    if let Some(first) = first_upload {
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
            output::warning(&format!("{}: {warning}", file.filename));
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

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds since the epoch of an RFC 3339 time (`2026-11-01T10:00:00Z`, offsets and fractions
/// accepted), or `None` when it is not one.
pub(crate) fn unix_seconds(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, d) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => (&time[..i], &time[i..]),
        None => (time, "Z"),
    };
    let mut clock_parts = clock.split(':');
    let hh: i64 = clock_parts.next()?.parse().ok()?;
    let mm: i64 = clock_parts.next()?.parse().ok()?;
    let ss: i64 = clock_parts
        .next()
        .unwrap_or("0")
        .split('.')
        .next()?
        .parse()
        .ok()?;
    let offset_seconds = match offset {
        "Z" | "z" => 0,
        _ => {
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (oh, om) = offset[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60)
        }
    };
    let days = picket_formats::time::days_from_civil(y, m, d);
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset_seconds)
}

fn print_table(out: &mut dyn Write, reports: &[PackageReport]) -> std::io::Result<()> {
    let width = reports
        .iter()
        .map(|r| r.name.len() + r.version.as_ref().map_or(0, |v| v.len() + 2))
        .max()
        .unwrap_or(0);
    for report in reports {
        let (style, word) = match (report.error.is_some(), report.verdict) {
            (true, _) => (BAD, "ERROR"),
            (false, Verdict::Block) => (BAD, "BLOCK"),
            (false, Verdict::Warn) => (BOLD, "WARN "),
            (false, Verdict::Allow) => (GOOD, "ALLOW"),
        };
        let label = match &report.version {
            Some(v) => format!("{}=={v}", report.name),
            None => report.name.clone(),
        };
        let headline = match (&report.error, report.findings.first()) {
            (Some(e), _) => e.clone(),
            (None, Some(f)) => format!("{}: {}", f.id.as_str(), f.message),
            (None, None) => match report.exists {
                Some(true) => "exists; nothing found".to_owned(),
                Some(false) => "does not exist".to_owned(),
                None => "nothing found (existence unknown offline)".to_owned(),
            },
        };
        writeln!(out, "{style}{word}{style:#}  {label:<width$}  {headline}")?;
        for f in report
            .findings
            .iter()
            .skip(usize::from(report.error.is_none()))
        {
            writeln!(
                out,
                "       {DIM}{:<8}{DIM:#} {}: {}",
                f.severity.as_str(),
                f.id.as_str(),
                f.message
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2026-11-22T12:00:00Z"), Some(1_795_348_800));
        assert_eq!(
            unix_seconds("2026-11-22T13:00:00.123456+01:00"),
            Some(1_795_348_800)
        );
        assert_eq!(unix_seconds("2026-13-22T13:00:00Z"), None);
        assert_eq!(unix_seconds("yesterday"), None);
    }

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
    fn requests_are_validated() {
        assert!(parse_request("requests==2.31.0").is_ok());
        assert!(parse_request("requests").unwrap().version.is_none());
        assert!(parse_request("-bad").is_err());
        assert!(parse_request("requests==not.a.version!").is_err());
    }
}
