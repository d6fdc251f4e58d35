//! The scan: every dependency a project declares, vetted in one pass — the names (as
//! `picket check` judges them), releases named by OSV advisories (malicious or vulnerable), pins,
//! hashes and lock files — with each finding located at its file and line.
//!
//! The pipeline: find the dependency files, parse them (`picket-deps`), check each distinct
//! name/version once (`check`'s checker, offline or against an index), match pinned versions
//! against the local OSV database, add the pinning rules, then apply the policy's ignores.
//! [`ScanReport`] is the JSON contract; `table`, `sarif` and `markdown` are drawn from it.

use picket_deps::FileSource as _;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_deps::{Dependency, DependencyFile, FileFormat, FsSource};
use picket_formats::Version;
use picket_names::{Finding, FindingId, Severity};
use picket_osv::Record;
use serde::Serialize;

use crate::check::{self, Checker, PackageReport, Request, Verdict};
use crate::config::Ignore;

/// The largest dependency file read: real ones are kilobytes; this bounds hostile ones.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// A finding as `check` reports it, plus the advisory it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct ScanFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The OSV id, for `vulnerable` and `known-malicious`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    /// The installed file it is about, for `tampered` and `pth-code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Where a dependency was declared.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The file, as named or found.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// Why a finding is not counted.
#[derive(Debug, Clone, Serialize)]
pub struct Ignored {
    /// The date (YYYY-MM-DD) the ignore runs to.
    pub until: String,
    /// Why, as the policy says.
    pub reason: String,
}

/// One vulnerability affecting a dependency: the advisories that alias each other, as one.
#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilityReport {
    /// The id: the first advisory's.
    pub id: String,
    /// Every other id: the other advisories' ids and their aliases.
    pub aliases: Vec<String>,
    /// One line: the advisory's summary, else the first sentence of its details.
    pub summary: String,
    /// The full text.
    pub details: String,
    /// An OSV `MAL-` record: the release is malware.
    pub malicious: bool,
    /// From the advisories' CVSS vectors, the highest.
    pub severity: Option<picket_osv::Score>,
    /// PEP 440 versions that fix it, ascending.
    pub fixed: Vec<String>,
    /// Set when the policy ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

impl VulnerabilityReport {
    /// The smallest fixed version above `current`: this vulnerability's own fix.
    pub fn fix_above(&self, current: Option<&str>) -> Option<&str> {
        let current: Version = current?.parse().ok()?;
        self.fixed
            .iter()
            .find(|f| f.parse::<Version>().is_ok_and(|f| f > current))
            .map(String::as_str)
    }

    /// `high 7.5`, `medium`, or `severity unknown`.
    pub fn rating(&self) -> String {
        self.severity.as_ref().map_or_else(
            || "severity unknown".to_owned(),
            |s| match s.score {
                Some(n) => format!("{} {n:.1}", s.rating),
                None => s.rating.to_owned(),
            },
        )
    }

    /// The first CVE id among the aliases: the id people search for.
    pub fn cve(&self) -> Option<&str> {
        self.aliases
            .iter()
            .find(|a| a.starts_with("CVE-"))
            .map(String::as_str)
    }
}

/// The release a vulnerable dependency should move to: the smallest that clears every
/// vulnerability with a fix (checked against the index's releases when online).
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    /// `None` when no release clears any of them.
    pub to: Option<String>,
    /// The ids of the vulnerabilities no release clears.
    pub unfixed: Vec<String>,
}

/// One dependency where it is declared: `check`'s package entry plus `source` and
/// `vulnerabilities`.
#[derive(Debug, Clone, Serialize)]
pub struct ScanPackage {
    /// The name as declared.
    pub name: String,
    /// Its PEP 503 normalized form.
    pub normalized: String,
    /// The pinned version.
    pub version: Option<String>,
    /// Whether the project exists (`None`: not judged).
    pub exists: Option<bool>,
    /// The verdict of the findings not ignored.
    pub verdict: Verdict,
    /// Worst first, the ignored ones left out.
    pub findings: Vec<ScanFinding>,
    /// Where it is declared (for an installed distribution: the `site-packages` folder, and its
    /// place in it).
    pub source: Source,
    /// For an installed distribution, its `.dist-info` (or `.egg-info`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed: Option<String>,
    /// The vulnerabilities of the pinned release (or the malicious records of the name).
    pub vulnerabilities: Vec<VulnerabilityReport>,
    /// The release to move to, when some vulnerability has a fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradeReport>,
    /// Set when the policy ignores it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredFinding>,
    /// Why it could not be fully checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ScanPackage {
    /// The `.dist-info` / `.egg-info` folder's name, for an installed distribution.
    pub fn installed_name(&self) -> Option<&str> {
        let path = Path::new(self.installed.as_deref()?);
        path.file_name()?.to_str()
    }

    /// Where a person finds it: `line N` of its file, or its `.dist-info` folder.
    pub fn place(&self) -> String {
        self.installed_name()
            .map_or_else(|| format!("line {}", self.source.line), ToOwned::to_owned)
    }

    /// The file a finding about it points at: the installed file it names, else the
    /// distribution's metadata file, else the file declaring it.
    pub fn location(&self, finding: &ScanFinding) -> String {
        if let Some(path) = &finding.path {
            return path.clone();
        }
        match &self.installed {
            Some(folder) if folder.ends_with(".dist-info") => format!("{folder}/METADATA"),
            Some(folder) if folder.ends_with(".egg-info") => format!("{folder}/PKG-INFO"),
            Some(other) => other.clone(),
            None => self.source.file.clone(),
        }
    }
}

/// A finding the policy leaves out.
#[derive(Debug, Clone, Serialize)]
pub struct IgnoredFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: ScanFinding,
    /// Set when the policy ignores it.
    #[serde(flatten)]
    pub ignored: Ignored,
}

impl IgnoredFinding {
    /// `ID` or `ID ADVISORY`: what was ignored, for people.
    pub fn what(&self) -> String {
        match &self.finding.advisory {
            Some(a) => format!("{} {a}", self.finding.finding.id.as_str()),
            None => self.finding.finding.id.as_str().to_owned(),
        }
    }
}

/// One dependency file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The path as named or found.
    pub path: String,
    /// Its format (`None` when unreadable and unknown by name).
    pub format: Option<FileFormat>,
    /// How many dependencies it declares.
    pub dependencies: usize,
    /// File-level findings (`unlocked`), located at `line`.
    pub findings: Vec<ScanFinding>,
    /// File-level findings the policy leaves out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<IgnoredFinding>,
    /// 1-based line.
    pub line: usize,
    /// Why it could not be fully checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The advisory database used.
#[derive(Debug, Clone, Serialize)]
pub struct Advisories {
    /// How many records the database holds (or answered, for an OSV API).
    pub records: usize,
    /// The store file or API URL.
    pub database: Option<String>,
}

/// The JSON contract of `picket scan`.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// `online` or `offline`.
    pub mode: &'static str,
    /// The index checked against, online.
    pub index: Option<String>,
    /// The earlier report whose findings are left out (`--baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The advisory database used.
    pub advisories: Advisories,
    /// Every dependency file, in scan order.
    pub files: Vec<FileReport>,
    /// Every declaration, in file order.
    pub packages: Vec<ScanPackage>,
    /// What the caller should show as warnings: advisories that could not be read, metadata
    /// problems of inspected releases.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl ScanReport {
    /// The verdict that decides the exit code: the worst package or file finding not ignored.
    pub fn worst(&self) -> Verdict {
        let files = self
            .files
            .iter()
            .flat_map(|f| f.findings.iter().map(|f| f.finding.clone()))
            .collect::<Vec<_>>();
        self.packages
            .iter()
            .map(|p| p.verdict)
            .chain(std::iter::once(Verdict::of(&files)))
            .max()
            .unwrap_or(Verdict::Allow)
    }
}

/// The dependency files named by `paths` (files as given; folders searched one level, plus a
/// `requirements/` folder).
pub fn discover(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let defaulted = paths.is_empty();
    let paths = if defaulted {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let mut found = Vec::new();
    for path in &paths {
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        if !meta.is_dir() {
            // A file named here is read by its content when its name says nothing.
            if FileFormat::detect(path).is_none() && sniff(path).is_none() {
                anyhow::bail!(
                    "{}: not a known dependency file, by name or by content (expected requirements*.txt, requirements*.lock, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock or pylock.toml)",
                    path.display()
                );
            }
            found.push(path.clone());
            continue;
        }
        let before = found.len();
        for dir in [path.clone(), path.join("requirements")] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| is_dependency_file(p, dir != *path))
                .map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p))
                .collect();
            here.sort();
            found.extend(here);
        }
        if found.len() == before {
            anyhow::bail!(
                "no dependency files in {}\nhint: picket scan reads requirements*.txt, requirements*.lock, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock and pylock.toml; name a file to read another (its content then tells its format)",
                if defaulted {
                    "the current folder".to_owned()
                } else {
                    path.display().to_string()
                }
            );
        }
    }
    // A file named and also found in a named folder is read once.
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(p.clone()));
    Ok(found)
}

/// How a baseline names a finding about a file (`tampered`, `pth-code`, `unlocked`): its id
/// and the file, so another file's finding of the same kind is new.
pub fn baseline_key(id: &str, path: &str) -> String {
    format!("{id}:{path}")
}

/// One finding of an earlier report (`--baseline`): what names it, and where it was, so a
/// SARIF report can say it is `absent` now.
#[derive(Debug, Clone)]
pub struct BaselineFinding {
    /// Its advisory id, else finding id (`ID:PATH` for a finding about a file).
    pub key: String,
    /// The package's normalized name; none for a finding about a whole file.
    pub package: Option<String>,
    /// The version it was about.
    pub version: Option<String>,
    /// The finding id (the SARIF `ruleId`).
    pub rule: String,
    /// `critical`, `high`, `medium` or `low`, when the report said.
    pub severity: Option<String>,
    /// What the report said of it.
    pub message: String,
    /// Where it was: a file path (JSON report), or the SARIF location's URI as written.
    pub location: BaselineLocation,
    /// 1-based line.
    pub line: usize,
    /// The advisory id, for `vulnerable` and `known-malicious`.
    pub advisory: Option<String>,
}

/// Where a baseline's finding was.
#[derive(Debug, Clone)]
pub enum BaselineLocation {
    /// A path, as a JSON report names files.
    Path(String),
    /// A SARIF `artifactLocation.uri`, already a URI.
    Uri(String),
}

impl BaselineFinding {
    /// The ignore entry that leaves it out of a later scan (without end).
    pub fn ignore(&self, reason: &str) -> Ignore {
        Ignore {
            id: self.key.clone(),
            package: self.package.clone(),
            version: None,
            until: "9999-12-31".to_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// The reason a baseline's ignores give: "in the baseline FILE".
pub fn baseline_reason(path: &Path) -> String {
    format!("in the baseline {}", path.display())
}

/// The findings of an earlier `picket scan` report — `--format json`, or `--format sarif` — each
/// named as an ignore entry without end would name it ([`BaselineFinding::ignore`]): a
/// package's finding by its advisory id (or finding id, with the file for a finding about one)
/// for that package, a file's finding by its id and file. What the earlier JSON report ignored
/// counts as known too.
pub fn baseline_findings(path: &Path) -> anyhow::Result<Vec<BaselineFinding>> {
    use serde_json::Value;
    let bytes = picket_deps::FsSource {
        max_bytes: 64 << 20,
    }
    .read(path)
    .with_context(|| format!("reading the baseline {}", path.display()))?;
    let hint = "hint: write it with `picket scan --format json -o FILE` (or --format sarif)";
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("the baseline {} is not JSON\n{hint}", path.display()))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let list = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let line_of = |v: Option<&Value>| {
        v.and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1)
    };
    let mut out = Vec::new();
    if let Some(runs) = doc.get("runs").and_then(Value::as_array) {
        // SARIF: picket's own results carry the package, advisory and file in `properties`.
        for result in runs.iter().flat_map(|r| list(r, "results")) {
            // What the earlier report already called absent is gone.
            if result.get("baselineState").and_then(Value::as_str) == Some("absent") {
                continue;
            }
            let properties = result.get("properties").cloned().unwrap_or(Value::Null);
            let Some(rule) = text(&result, "ruleId") else {
                continue;
            };
            let key = text(&properties, "advisory").unwrap_or_else(|| {
                text(&properties, "path").map_or(rule.clone(), |p| baseline_key(&rule, &p))
            });
            let physical = result.pointer("/locations/0/physicalLocation");
            out.push(BaselineFinding {
                key,
                package: text(&properties, "package"),
                version: text(&properties, "version"),
                severity: text(&properties, "severity"),
                message: result
                    .pointer("/message/text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                location: BaselineLocation::Uri(
                    physical
                        .and_then(|p| p.pointer("/artifactLocation/uri"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ),
                line: line_of(physical.and_then(|p| p.pointer("/region/startLine"))),
                advisory: text(&properties, "advisory"),
                rule,
            });
        }
        return Ok(out);
    }
    let Some(packages) = doc.get("packages").and_then(Value::as_array) else {
        anyhow::bail!(
            "the baseline {} is not a picket scan report (no \"packages\" or \"runs\")\n{hint}",
            path.display()
        );
    };
    for p in packages {
        let name = text(p, "normalized");
        let source_file = p.pointer("/source/file").and_then(Value::as_str);
        for f in list(p, "findings").iter().chain(&list(p, "ignored")) {
            let Some(id) = text(f, "id") else { continue };
            let key = text(f, "advisory")
                .or_else(|| text(f, "path").map(|path| baseline_key(&id, &path)))
                .unwrap_or_else(|| id.clone());
            out.push(BaselineFinding {
                key,
                package: name.clone(),
                version: text(p, "version"),
                severity: text(f, "severity"),
                message: text(f, "message").unwrap_or_default(),
                location: BaselineLocation::Path(
                    text(f, "path")
                        .or_else(|| source_file.map(str::to_owned))
                        .unwrap_or_default(),
                ),
                line: line_of(p.pointer("/source/line")),
                advisory: text(f, "advisory"),
                rule: id,
            });
        }
    }
    for file in doc
        .get("files")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let file_path = text(file, "path").unwrap_or_default();
        for f in list(file, "findings").iter().chain(&list(file, "ignored")) {
            let Some(id) = text(f, "id") else { continue };
            let at = text(f, "path").unwrap_or_else(|| file_path.clone());
            out.push(BaselineFinding {
                key: baseline_key(&id, &at),
                package: None,
                version: None,
                severity: text(f, "severity"),
                message: text(f, "message").unwrap_or_default(),
                location: BaselineLocation::Path(at),
                line: line_of(file.get("line")),
                advisory: None,
                rule: id,
            });
        }
    }
    Ok(out)
}

/// The findings of `previous` (a baseline) that `report` no longer has, found or ignored: what
/// SARIF calls `absent`.
pub fn absent<'a>(
    previous: &'a [BaselineFinding],
    report: &ScanReport,
    today: i64,
) -> Vec<&'a BaselineFinding> {
    previous
        .iter()
        .filter(|b| {
            let entry = [b.ignore("")];
            let policy = Policy {
                require_hashes: false,
                ignore: &entry,
                today,
                licenses: None,
            };
            let in_files = report.files.iter().any(|file| {
                file.findings
                    .iter()
                    .chain(file.ignored.iter().map(|i| &i.finding))
                    .any(|f| policy.ignores_in_file(&file.path, f).is_some())
            });
            let in_packages = report.packages.iter().any(|p| {
                p.findings
                    .iter()
                    .chain(p.ignored.iter().map(|i| &i.finding))
                    .any(|f| {
                        let aliases = f
                            .advisory
                            .as_ref()
                            .and_then(|a| p.vulnerabilities.iter().find(|v| &v.id == a))
                            .map(|v| v.aliases.as_slice())
                            .unwrap_or_default();
                        policy
                            .ignores(&p.normalized, p.version.as_deref(), f, aliases)
                            .is_some()
                    })
            });
            !in_files && !in_packages
        })
        .collect()
}

/// The format a file's content shows ([`FileFormat::sniff`]); `None` when unreadable or none.
pub fn sniff(path: &Path) -> Option<FileFormat> {
    let bytes = picket_deps::FsSource {
        max_bytes: MAX_FILE_BYTES,
    }
    .read(path)
    .ok()?;
    FileFormat::sniff(path, std::str::from_utf8(&bytes).ok()?)
}

fn is_dependency_file(path: &Path, in_requirements_dir: bool) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    match FileFormat::detect(path) {
        Some(FileFormat::Requirements) => {
            in_requirements_dir || name.to_ascii_lowercase().contains("requirements")
        }
        Some(_) => !in_requirements_dir,
        None => false,
    }
}

/// The policy a scan applies.
pub struct Policy<'a> {
    /// Every requirement must carry `--hash`.
    pub require_hashes: bool,
    /// The ignore entries (config and baseline).
    pub ignore: &'a [Ignore],
    /// Days since the epoch.
    pub today: i64,
    /// The license policy and what the index said of each pinned release, by normalized name
    /// and version (`None`: no license policy, or offline).
    pub licenses: Option<Licenses<'a>>,
}

/// `[scan.licenses]` and the licenses it judges.
pub struct Licenses<'a> {
    /// The policy.
    pub policy: &'a crate::licenses::LicensePolicy,
    /// The index's answer for each `(normalized name, version)`.
    pub found: HashMap<(String, String), crate::licenses::LicenseAnswer>,
}

impl Policy<'_> {
    /// The entry that leaves `finding` of `normalized` at `version` out, if one applies today
    /// (`aliases`: the advisory's other ids). A finding about a file is also known as `ID:PATH`,
    /// which is how a baseline names it.
    pub fn ignores(
        &self,
        normalized: &str,
        version: Option<&str>,
        finding: &ScanFinding,
        aliases: &[String],
    ) -> Option<&Ignore> {
        let at_path = finding
            .path
            .as_ref()
            .map(|p| baseline_key(finding.finding.id.as_str(), p));
        let mut ids = vec![finding.finding.id.as_str()];
        ids.extend(finding.advisory.as_deref());
        ids.extend(aliases.iter().map(String::as_str));
        ids.extend(at_path.as_deref());
        self.ignore
            .iter()
            .find(|e| e.applies(normalized, version, &ids, self.today))
    }

    /// The entry that leaves a file-level finding of the file at `path` out, if any: one for
    /// every package naming its id, or its `ID:PATH`.
    pub fn ignores_in_file(&self, path: &str, finding: &ScanFinding) -> Option<&Ignore> {
        let id = finding.finding.id.as_str();
        let key = baseline_key(id, finding.path.as_deref().unwrap_or(path));
        self.ignore
            .iter()
            .find(|e| e.package.is_none() && e.applies("", None, &[id, &key], self.today))
    }

    /// A warning for each ignore entry that has expired.
    pub fn expired(&self) -> Vec<String> {
        self.ignore
            .iter()
            .filter(|e| e.until_day() < self.today)
            .map(|e| {
                format!(
                    "the ignore of {}{} expired on {} ({}); it counts again",
                    e.id,
                    e.package
                        .as_deref()
                        .map(|p| format!(" for {p}"))
                        .unwrap_or_default(),
                    e.until,
                    e.reason
                )
            })
            .collect()
    }
}

fn finding(id: FindingId, severity: Severity, message: String) -> ScanFinding {
    ScanFinding {
        finding: Finding {
            id,
            severity,
            message,
            target: None,
            technique: None,
        },
        advisory: None,
        path: None,
    }
}

/// The dependency files read, and a report entry for each (with the error of those that could
/// not be read).
pub struct Parsed {
    files: Vec<FileReport>,
    documents: Vec<DependencyFile>,
    /// What is known of installed distributions, by where they are "declared".
    installed: HashMap<picket_deps::Location, Installed>,
    warnings: Vec<String>,
}

/// An installed distribution's folder and the findings about its files.
struct Installed {
    metadata: String,
    findings: Vec<ScanFinding>,
}

impl Parsed {
    /// Every pinned dependency's normalized name and version, each once.
    pub fn pins(&self) -> Vec<(String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        for dep in self.documents.iter().flat_map(|f| &f.dependencies) {
            if let Some(v) = &dep.pinned
                && dep.url.is_none()
            {
                seen.insert((dep.name.normalized().to_owned(), v.clone()));
            }
        }
        seen.into_iter().collect()
    }

    /// Both sets of files, `other` after these.
    #[must_use]
    pub fn and(mut self, other: Parsed) -> Parsed {
        self.files.extend(other.files);
        self.documents.extend(other.documents);
        self.installed.extend(other.installed);
        self.warnings.extend(other.warnings);
        self
    }

    /// Every dependency's normalized name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.documents
            .iter()
            .flat_map(|f| f.dependencies.iter().map(|d| d.name.normalized()))
    }
}

/// Reads every file; a file that fails is kept with its error, the others go on.
pub fn parse_files(paths: &[PathBuf]) -> Parsed {
    let source = FsSource {
        max_bytes: MAX_FILE_BYTES,
    };
    let mut files = Vec::new();
    let mut parsed: Vec<DependencyFile> = Vec::new();
    for path in paths {
        match picket_deps::parse_file(path, &source) {
            Ok(file) => {
                files.push(FileReport {
                    path: path.display().to_string(),
                    format: Some(file.format),
                    dependencies: file.dependencies.len(),
                    findings: Vec::new(),
                    ignored: Vec::new(),
                    line: 1,
                    error: None,
                });
                parsed.push(file);
            }
            Err(e) => {
                files.push(FileReport {
                    path: path.display().to_string(),
                    format: FileFormat::detect(path),
                    dependencies: 0,
                    findings: Vec::new(),
                    ignored: Vec::new(),
                    line: 1,
                    error: Some(e.to_string()),
                });
                parsed.push(DependencyFile {
                    path: path.clone(),
                    format: FileFormat::Requirements,
                    dependencies: Vec::new(),
                    unnamed: Vec::new(),
                    index_urls: Vec::new(),
                    extra_index_urls: Vec::new(),
                    require_hashes: false,
                    files_read: Vec::new(),
                });
            }
        }
    }
    Parsed {
        files,
        documents: parsed,
        installed: HashMap::new(),
        warnings: Vec::new(),
    }
}

/// An installed environment as the scan's input: each `site-packages` folder one "file" whose
/// distributions are pinned dependencies (declared at their place in the folder's sorted
/// list), with the findings about their files and the folder's own (an unlisted `.pth`).
pub fn parse_environment(sites: Vec<picket_env::SitePackages>) -> Parsed {
    let mut out = Parsed {
        files: Vec::new(),
        documents: Vec::new(),
        installed: HashMap::new(),
        warnings: Vec::new(),
    };
    for site in sites {
        let file = site.path.display().to_string();
        let mut dependencies = Vec::new();
        for (i, dist) in site.distributions.into_iter().enumerate() {
            let source = picket_deps::Location {
                file: site.path.clone(),
                line: i + 1,
            };
            let mut dep = Dependency::new(dist.name, source.clone());
            dep.specifier = Some(format!("=={}", dist.version));
            dep.pinned = Some(dist.version);
            out.installed.insert(
                source,
                Installed {
                    metadata: dist.metadata.display().to_string(),
                    findings: dist.problems.into_iter().map(installed_finding).collect(),
                },
            );
            dependencies.push(dep);
        }
        out.files.push(FileReport {
            path: file,
            format: Some(FileFormat::Installed),
            dependencies: dependencies.len(),
            findings: site.problems.into_iter().map(installed_finding).collect(),
            ignored: Vec::new(),
            line: 1,
            error: None,
        });
        out.warnings.extend(site.warnings);
        out.documents.push(DependencyFile {
            path: site.path.clone(),
            format: FileFormat::Installed,
            dependencies,
            unnamed: Vec::new(),
            index_urls: Vec::new(),
            extra_index_urls: Vec::new(),
            require_hashes: false,
            files_read: vec![site.path],
        });
    }
    out
}

fn installed_finding(p: picket_env::Problem) -> ScanFinding {
    let id = match p.kind {
        picket_env::Kind::Tampered => FindingId::Tampered,
        picket_env::Kind::PthCode => FindingId::PthCode,
    };
    let severity = match p.weight {
        picket_env::Weight::High => Severity::High,
        picket_env::Weight::Medium => Severity::Medium,
        picket_env::Weight::Low => Severity::Low,
    };
    ScanFinding {
        path: Some(p.path.display().to_string()),
        ..finding(id, severity, p.message)
    }
}

/// Runs the whole scan over the parsed files, with `db` holding (at least) the advisories for
/// their dependencies.
pub fn scan(
    Parsed {
        mut files,
        documents: parsed,
        mut installed,
        warnings: read_warnings,
    }: Parsed,
    checker: &Checker<'_>,
    db: &picket_osv::Database,
    policy: &Policy<'_>,
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> ScanReport {
    let locked_dirs = unlocked_findings(&mut files, &parsed);
    for file in &mut files {
        let (mut kept, mut ignored) = (Vec::new(), Vec::new());
        for f in std::mem::take(&mut file.findings) {
            match policy.ignores_in_file(&file.path, &f) {
                Some(entry) => ignored.push(IgnoredFinding {
                    finding: f,
                    ignored: Ignored {
                        until: entry.until.clone(),
                        reason: entry.reason.clone(),
                    },
                }),
                None => kept.push(f),
            }
        }
        file.findings = kept;
        file.ignored.extend(ignored);
    }

    // Every declaration once (a file included by two others, or named and included, is one).
    let mut seen = std::collections::HashSet::new();
    let mut declared: Vec<(&DependencyFile, &Dependency)> = Vec::new();
    for file in &parsed {
        for dep in &file.dependencies {
            if seen.insert((dep.source.clone(), dep.name.normalized().to_owned())) {
                declared.push((file, dep));
            }
        }
    }

    // Each distinct name and version is checked once.
    let mut keys: HashMap<(String, Option<String>), usize> = HashMap::new();
    let mut requests = Vec::new();
    for (_, dep) in &declared {
        if dep.url.is_some() || dep.editable {
            continue;
        }
        keys.entry((dep.name.normalized().to_owned(), dep.pinned.clone()))
            .or_insert_with(|| {
                requests.push(Request {
                    name: dep.name.as_given().to_owned(),
                    version: dep.pinned.clone(),
                });
                requests.len() - 1
            });
    }
    let checked = check::check_all(checker, &requests, jobs, progress);

    let packages = declared
        .iter()
        .map(|(file, dep)| {
            let report = keys
                .get(&(dep.name.normalized().to_owned(), dep.pinned.clone()))
                .map(|&i| &checked[i]);
            let advisories = !(file.format == FileFormat::Pyproject
                && locked_dirs.contains(file.path.parent().unwrap_or(Path::new(""))));
            let installed = installed.remove(&dep.source);
            package_report(
                file,
                dep,
                report,
                advisories.then_some(db),
                policy,
                installed,
            )
        })
        .collect();
    let mut warnings = read_warnings;
    warnings.extend(checked.iter().flat_map(|c| c.warnings.clone()));
    let mut warned = std::collections::HashSet::new();
    for (_, dep) in &declared {
        if warned.insert(dep.name.normalized()) {
            warnings.extend(db.problems_for(dep.name.normalized()));
        }
    }
    ScanReport {
        mode: "offline",
        index: None,
        baseline: None,
        advisories: Advisories {
            records: db.len(),
            database: None,
        },
        files,
        packages,
        warnings,
    }
}

/// `unlocked`: a `pyproject.toml` that declares dependencies with no lock file beside it (a
/// requirements file that pins everything counts as one, as pip-tools users keep it).
///
/// Returns the folders whose `pyproject.toml` is locked by a file in this scan: there the lock
/// file, not the ranges, says which releases install, so advisories are matched against it alone.
fn unlocked_findings(
    files: &mut [FileReport],
    parsed: &[DependencyFile],
) -> std::collections::HashSet<PathBuf> {
    let mut locked_dirs = std::collections::HashSet::new();
    for (report, file) in files.iter_mut().zip(parsed) {
        if file.format != FileFormat::Pyproject || file.dependencies.is_empty() {
            continue;
        }
        let dir = file.path.parent().unwrap_or(Path::new(""));
        // A lock in this scan records what installs, so advisories are matched against it alone;
        // one on disk that was not scanned only means the project is not `unlocked`.
        let lock_scanned = parsed.iter().any(|other| {
            other.path.parent().unwrap_or(Path::new("")) == dir
                && match other.format {
                    FileFormat::UvLock
                    | FileFormat::PoetryLock
                    | FileFormat::PipfileLock
                    | FileFormat::Pylock => true,
                    FileFormat::Requirements => {
                        !other.dependencies.is_empty()
                            && other.dependencies.iter().all(|d| d.pinned.is_some())
                    }
                    FileFormat::Pyproject | FileFormat::Installed => false,
                }
        });
        if lock_scanned {
            locked_dirs.insert(dir.to_owned());
            continue;
        }
        if ["uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml"]
            .iter()
            .any(|name| dir.join(name).is_file())
        {
            continue;
        }
        let f = finding(
            FindingId::Unlocked,
            Severity::Medium,
            format!(
                "{} declares {} dependencies and no lock file records the versions installed; lock them (`uv lock`, `poetry lock`, `pip-compile`) so every install gets the releases you vetted",
                report.path,
                file.dependencies.len()
            ),
        );
        report.line = file.dependencies[0].source.line;
        // The ignores are applied with the other file-level findings'.
        report.findings.push(f);
    }
    locked_dirs
}

/// The finding severity of an advisory rating (medium when unknown).
pub fn rating_severity(rating: Option<&str>) -> Severity {
    match rating {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("low" | "none") => Severity::Low,
        _ => Severity::Medium,
    }
}

fn vulnerability(v: &picket_osv::Vulnerability<'_>) -> VulnerabilityReport {
    VulnerabilityReport {
        id: v.id.clone(),
        aliases: v.aliases.clone(),
        summary: v.title.clone(),
        details: v.details.clone(),
        malicious: v.malicious,
        severity: v.severity.clone(),
        fixed: v.fixed.iter().map(ToString::to_string).collect(),
        ignored: None,
    }
}

/// What OSV advisories say of one release of a project.
#[derive(Debug, Default)]
pub struct Advisory {
    /// The vulnerabilities, aliased advisories grouped.
    pub vulnerabilities: Vec<VulnerabilityReport>,
    /// The release to move to, when some vulnerability has a fix.
    pub upgrade: Option<UpgradeReport>,
    /// A `known-malicious` or `vulnerable` finding for each vulnerability.
    pub findings: Vec<ScanFinding>,
}

/// The advisories of `name` at `version` in `db` (without a version: the `MAL-` records naming
/// the project), the release to upgrade to (among the index's live `releases` when known), and a
/// finding for each. The policy's ignores are not applied here.
pub fn advisories(
    name: &str,
    normalized: &str,
    version: Option<&str>,
    db: &picket_osv::Database,
    releases: Option<&[Version]>,
) -> Advisory {
    // The release, or without one the MAL- records that name the project.
    let parsed = version.and_then(|v| v.parse::<Version>().ok());
    let records: Vec<&Record> = match &parsed {
        Some(v) => db.affecting(normalized, v),
        None => db.malicious(normalized),
    };
    let grouped = picket_osv::group(&records, normalized);
    let upgrade = match &parsed {
        Some(v) if !grouped.is_empty() => {
            let upgrade =
                picket_osv::upgrade(normalized, v, &grouped, &db.naming(normalized), releases);
            Some(UpgradeReport {
                to: upgrade.to.map(|t| t.to_string()),
                unfixed: upgrade.unfixed,
            })
        }
        _ => None,
    };
    let vulnerabilities: Vec<VulnerabilityReport> = grouped.iter().map(vulnerability).collect();
    let mut findings = Vec::new();
    for v in &vulnerabilities {
        let f = if v.malicious {
            let scope = match version {
                Some(pinned) => format!("{name} {pinned}"),
                None => format!("releases of {name}"),
            };
            ScanFinding {
                advisory: Some(v.id.clone()),
                ..finding(
                    FindingId::KnownMalicious,
                    Severity::Critical,
                    format!(
                        "{scope}: {} — {}; remove it, and treat machines that installed it as compromised",
                        v.id,
                        if v.summary.is_empty() {
                            "a malicious package"
                        } else {
                            &v.summary
                        }
                    ),
                )
            }
        } else {
            let aliases: String = v.aliases.iter().flat_map(|a| [", ", a.as_str()]).collect();
            let fix = match (
                v.fixed.is_empty(),
                upgrade.as_ref().and_then(|u| u.to.as_ref()),
            ) {
                (true, _) => "no fixed release yet".to_owned(),
                (false, Some(to))
                    if !upgrade.as_ref().is_some_and(|u| u.unfixed.contains(&v.id)) =>
                {
                    format!("fixed in {}; upgrade to {to}", v.fixed.join(", "))
                }
                (false, _) => format!("fixed in {}", v.fixed.join(", ")),
            };
            ScanFinding {
                advisory: Some(v.id.clone()),
                ..finding(
                    FindingId::Vulnerable,
                    rating_severity(v.severity.as_ref().map(|s| s.rating)),
                    format!("{} ({}{aliases}): {} — {fix}", v.id, v.rating(), v.summary),
                )
            }
        };
        findings.push(f);
    }
    Advisory {
        vulnerabilities,
        upgrade,
        findings,
    }
}

fn package_report(
    file: &DependencyFile,
    dep: &Dependency,
    checked: Option<&PackageReport>,
    db: Option<&picket_osv::Database>,
    policy: &Policy<'_>,
    installed: Option<Installed>,
) -> ScanPackage {
    let normalized = dep.name.normalized().to_owned();
    let name = dep.name.as_given().to_owned();
    let mut findings: Vec<ScanFinding> = checked
        .map(|c| {
            c.findings
                .iter()
                .map(|f| ScanFinding {
                    finding: f.clone(),
                    advisory: None,
                    path: None,
                })
                .collect()
        })
        .unwrap_or_default();

    let Advisory {
        mut vulnerabilities,
        upgrade,
        findings: advisory_findings,
    } = db.map_or_else(Advisory::default, |db| {
        advisories(
            &name,
            &normalized,
            dep.pinned.as_deref(),
            db,
            checked.and_then(|c| c.releases.as_deref()),
        )
    });
    findings.extend(advisory_findings);
    let (installed, installed_findings) = match installed {
        Some(i) => (Some(i.metadata), i.findings),
        None => (None, Vec::new()),
    };
    findings.extend(installed_findings);
    if let (Some(licenses), Some(version)) = (&policy.licenses, &dep.pinned)
        && let Some(Ok(license)) = licenses.found.get(&(normalized.clone(), version.clone()))
        && let Some((severity, why)) = licenses.policy.judge(license.as_ref())
    {
        findings.push(finding(
            FindingId::License,
            severity,
            format!("{name} {version} is {why}"),
        ));
    }

    // Pins and hashes.
    let is_requirements_txt = file.format == FileFormat::Requirements
        && dep
            .source
            .file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    if is_requirements_txt
        && dep.pinned.is_none()
        && dep.url.is_none()
        && !dep.editable
        && !dep.constraint
    {
        findings.push(finding(
            FindingId::Unpinned,
            Severity::Medium,
            format!(
                "`{name}{}` is not pinned to one version, so any new release — a hijacked one too — installs; pin it (`{name}==X`) or install from a lock file",
                dep.specifier.as_deref().unwrap_or("")
            ),
        ));
    }
    let hash_mode = file.format == FileFormat::Requirements
        && (file.require_hashes || file.dependencies.iter().any(|d| !d.hashes.is_empty()));
    // What is installed is checked against its RECORD instead.
    let hashes_apply = !matches!(file.format, FileFormat::Pyproject | FileFormat::Installed)
        && !dep.editable
        && !dep.constraint;
    if hashes_apply && dep.hashes.is_empty() && (policy.require_hashes || hash_mode) {
        let why = if policy.require_hashes {
            "the policy requires hashes"
        } else {
            "the file is in hash-checking mode, and pip refuses to install it"
        };
        findings.push(finding(
            FindingId::NoHashes,
            Severity::Medium,
            format!(
                "{name} has no --hash: {why}; add the hashes of the files you vetted (`pip-compile --generate-hashes`, `uv export`)"
            ),
        ));
    }

    // The policy's ignores.
    let mut kept = Vec::new();
    let mut ignored = Vec::new();
    for f in findings {
        let aliases = f
            .advisory
            .as_deref()
            .and_then(|a| vulnerabilities.iter().find(|v| v.id == a))
            .map(|v| v.aliases.clone())
            .unwrap_or_default();
        match policy.ignores(&normalized, dep.pinned.as_deref(), &f, &aliases) {
            Some(entry) => {
                let why = Ignored {
                    until: entry.until.clone(),
                    reason: entry.reason.clone(),
                };
                if let Some(v) = vulnerabilities
                    .iter_mut()
                    .find(|v| Some(&v.id) == f.advisory.as_ref())
                {
                    v.ignored = Some(why.clone());
                }
                ignored.push(IgnoredFinding {
                    finding: f,
                    ignored: why,
                });
            }
            None => kept.push(f),
        }
    }
    kept.sort_by_key(|f| std::cmp::Reverse(f.finding.severity));
    let plain: Vec<Finding> = kept.iter().map(|f| f.finding.clone()).collect();
    ScanPackage {
        name,
        normalized,
        version: dep.pinned.clone(),
        exists: checked.and_then(|c| c.exists),
        verdict: Verdict::of(&plain),
        findings: kept,
        source: Source {
            file: dep.source.file.display().to_string(),
            line: dep.source.line,
        },
        installed,
        vulnerabilities,
        upgrade,
        ignored,
        error: checked.and_then(|c| c.error.clone()),
    }
}

/// Packages grouped by the file they are declared in, worst first, files in scan order.
pub fn grouped(report: &ScanReport) -> Vec<(String, Vec<&ScanPackage>)> {
    let mut groups: BTreeMap<usize, (String, Vec<&ScanPackage>)> = BTreeMap::new();
    let order: HashMap<&str, usize> = report
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    for p in &report.packages {
        let rank = order
            .get(p.source.file.as_str())
            .copied()
            .unwrap_or(usize::MAX - 1);
        groups
            .entry(rank)
            .or_insert_with(|| (p.source.file.clone(), Vec::new()))
            .1
            .push(p);
    }
    let mut out: Vec<(String, Vec<&ScanPackage>)> = groups.into_values().collect();
    for (_, packages) in &mut out {
        packages.sort_by(|a, b| {
            (b.error.is_some(), b.verdict, top_severity(b))
                .cmp(&(a.error.is_some(), a.verdict, top_severity(a)))
                .then(a.source.line.cmp(&b.source.line))
        });
    }
    out
}

fn top_severity(p: &ScanPackage) -> Option<Severity> {
    p.findings.iter().map(|f| f.finding.severity).max()
}

/// `name==version` or `name SPEC`.
pub fn label(p: &ScanPackage) -> String {
    match &p.version {
        Some(v) => format!("{}=={v}", p.name),
        None => p.name.clone(),
    }
}
