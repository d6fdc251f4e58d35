//! `picket fix`: for each pinned release with a known advisory, the smallest upgrade that leaves
//! none, within the project's own constraints and outside the cooldown — then the requirements
//! files rewritten in place, or the lock tool run for `uv.lock` / `poetry.lock`
//! ([`crate::lock_tool`]).
//!
//! [`plan`] decides (it asks the index for each vulnerable project's releases, their upload times
//! and file hashes); [`rewrite`] turns the plan into new requirements texts and checks them by
//! parsing them again; [`write_atomically`] puts a file in place whole or not at all.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use picket_deps::{Dependency, DependencyFile, FileFormat, FileSource, FsSource, PinUpdate};
use picket_formats::simple_api::{ProjectPage, Yanked};
use picket_formats::{DistFilename, Version, VersionSpecifiers};
use picket_osv::Database;
use serde::Serialize;

use crate::config::Ignore;
use crate::online::IndexSource;

/// One release an index offers: its version and the files of it that are not yanked.
#[derive(Debug, Clone)]
pub struct Release {
    /// The version.
    pub version: Version,
    /// `sha256:HEX` of each live file; `None` for a file the index lists without a sha256.
    pub hashes: Vec<Option<String>>,
    /// The newest upload time among its live files (seconds since the epoch), when the index
    /// gives every file's (PEP 700 `upload-time`; PEP 503 HTML pages have none).
    pub uploaded: Option<i64>,
}

/// The releases of `normalized` on a project page that have a live file, ascending.
pub fn releases(page: &ProjectPage, normalized: &str) -> Vec<Release> {
    // Per version: the files' hashes, and the newest upload time (`Some(None)`: one unknown).
    type Seen = (Vec<Option<String>>, Option<Option<i64>>);
    let mut by_version: BTreeMap<Version, Seen> = BTreeMap::new();
    for file in &page.files {
        if file.yanked != Yanked::No {
            continue;
        }
        let Ok(parsed) = file.filename.parse::<DistFilename>() else {
            continue;
        };
        if parsed.name().normalized() != normalized {
            continue;
        }
        let entry = by_version
            .entry(parsed.version().clone())
            .or_insert((Vec::new(), None));
        entry.0.push(
            file.hashes
                .get("sha256")
                .map(|h| format!("sha256:{}", h.to_ascii_lowercase())),
        );
        let time = file
            .upload_time
            .as_deref()
            .and_then(picket_formats::time::unix_seconds);
        // Unknown for one file is unknown for the release.
        entry.1 = Some(match (entry.1, time) {
            (None, t) => t,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            (Some(_), _) => None,
        });
    }
    by_version
        .into_iter()
        .map(|(version, (mut hashes, uploaded))| {
            hashes.sort();
            hashes.dedup();
            Release {
                version,
                hashes,
                uploaded: uploaded.flatten(),
            }
        })
        .collect()
}

/// A version range the project itself declares for a name, and where.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// The range.
    pub specifiers: VersionSpecifiers,
    /// `FILE:LINE (SPEC)`, for messages.
    pub origin: String,
}

/// What decides an upgrade besides the advisories.
pub struct Rules<'a> {
    /// No release uploaded fewer than this many days ago is proposed.
    pub cooldown_days: u32,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// `[[check.ignore]]` entries: an ignored advisory needs no fix.
    pub ignore: &'a [Ignore],
}

impl Rules<'_> {
    fn today(&self) -> i64 {
        self.now.div_euclid(86_400)
    }
}

/// What became of one vulnerable pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Upgraded (or, in a dry run, would be).
    Fixed,
    /// No release qualifies: none clears the advisories, or only inside the cooldown, or none
    /// within the project's constraints, or the release is malware.
    Unfixable,
    /// The index or the lock tool failed.
    Error,
}

/// One vulnerable pin and its fix.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    /// The file the pin is written in (for an included requirements file, that file).
    pub file: String,
    /// Its 1-based line.
    pub line: usize,
    /// The name as written.
    pub name: String,
    /// Its normalized form.
    pub normalized: String,
    /// The pinned version.
    pub from: String,
    /// The version to move to.
    pub to: Option<String>,
    /// The advisories (ids) affecting `from`.
    pub advisories: Vec<String>,
    /// The outcome.
    pub status: Status,
    /// Why not fixed, for `unfixable` and `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The new `--hash` values, for a requirement that carried hashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// The format of the top-level file, which says how the fix is applied.
    #[serde(skip)]
    pub format: FileFormat,
    /// The top-level file (a lock file, or the requirements file that includes `file`).
    #[serde(skip)]
    pub top: PathBuf,
    /// Whether the pin had `--hash` options.
    #[serde(skip)]
    pub had_hashes: bool,
}

impl Fix {
    /// Marks it not fixed.
    pub fn fail(&mut self, status: Status, reason: String, hint: Option<String>) {
        self.status = status;
        self.reason = Some(reason);
        self.hint = hint;
    }
}

/// What [`plan`] decided.
pub struct Plan {
    /// One entry per vulnerable pin, in file order.
    pub fixes: Vec<Fix>,
    /// Constraints that could not be read or used.
    pub warnings: Vec<String>,
    /// The releases of each vulnerable project, as the index listed them.
    pub releases: HashMap<String, Result<Vec<Release>, String>>,
}

/// The plan for every vulnerable pin of `files`. `index` is asked once per vulnerable project.
pub fn plan(
    files: &[DependencyFile],
    db: &Database,
    index: &dyn IndexSource,
    rules: &Rules<'_>,
) -> Plan {
    let mut warnings = Vec::new();
    let mut fixes: Vec<Fix> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut pages: HashMap<String, Result<Vec<Release>, String>> = HashMap::new();
    for file in files {
        let fixable = match file.format {
            FileFormat::Requirements => !is_in_file(&file.path),
            FileFormat::UvLock | FileFormat::PoetryLock => true,
            _ => false,
        };
        if !fixable {
            continue;
        }
        let constraints = constraints(file, &mut warnings);
        for dep in &file.dependencies {
            let Some(pinned) = &dep.pinned else { continue };
            if dep.url.is_some() || dep.editable {
                continue;
            }
            if file.format == FileFormat::Requirements && is_in_file(&dep.source.file) {
                continue;
            }
            let Ok(current) = pinned.parse::<Version>() else {
                continue;
            };
            let normalized = dep.name.normalized().to_owned();
            if !seen.insert((dep.source.clone(), normalized.clone())) {
                continue;
            }
            let (advisories, malicious) = counted(db, &normalized, &current, pinned, rules);
            if advisories.is_empty() {
                continue;
            }
            let mut fix = Fix {
                file: dep.source.file.display().to_string(),
                line: dep.source.line,
                name: dep.name.as_given().to_owned(),
                normalized: normalized.clone(),
                from: pinned.clone(),
                to: None,
                advisories,
                status: Status::Fixed,
                reason: None,
                hint: None,
                hashes: Vec::new(),
                format: file.format,
                top: file.path.clone(),
                had_hashes: !dep.hashes.is_empty(),
            };
            if malicious {
                fix.fail(
                    Status::Unfixable,
                    format!(
                        "{} {pinned} is malware ({}): no release of it is a fix",
                        fix.name,
                        fix.advisories.join(", ")
                    ),
                    Some(format!(
                        "remove {} and treat machines that installed it as compromised",
                        fix.name
                    )),
                );
                fixes.push(fix);
                continue;
            }
            let releases = pages.entry(normalized.clone()).or_insert_with(|| {
                match index.project(&normalized) {
                    Ok(Some((_, page))) => Ok(releases(&page, &normalized)),
                    Ok(None) => Err(format!("the index has no project {normalized}")),
                    Err(e) => Err(e.to_string()),
                }
            });
            match releases {
                Err(e) => fix.fail(Status::Error, e.clone(), None),
                Ok(releases) => {
                    let mut mine: Vec<&Constraint> = Vec::new();
                    for (_, c) in constraints.iter().filter(|(n, _)| *n == normalized) {
                        match c {
                            Ok(c) => mine.push(c),
                            Err(w) if !warnings.contains(w) => warnings.push(w.clone()),
                            Err(_) => {}
                        }
                    }
                    choose(&mut fix, dep, &current, db, releases, &mine, rules);
                    let unknown_age = releases
                        .iter()
                        .any(|r| Some(r.version.to_string()) == fix.to && r.uploaded.is_none());
                    if unknown_age && rules.cooldown_days > 0 {
                        warnings.push(format!(
                            "the index gives no upload time for {} {}, so the cooldown could not be applied to it",
                            fix.name,
                            fix.to.as_deref().unwrap_or_default()
                        ));
                    }
                }
            }
            fixes.push(fix);
        }
    }
    Plan {
        fixes,
        warnings,
        releases: pages,
    }
}

/// Runs `tool` (at `exe`) on the lock file `lock` for the `fixed` fixes planned in it, and checks
/// the new lock: each package at the planned release — or, for Poetry, which picks the newest
/// release the project's ranges allow, at one that also clears every advisory and is outside the
/// cooldown. Returns the change, or `None` (the fixes marked failed) when it can't be made.
pub fn relock(
    plan: &mut Plan,
    lock: &Path,
    tool: crate::lock_tool::LockTool,
    exe: Result<&Path, &str>,
    db: &Database,
    rules: &Rules<'_>,
) -> Option<Change> {
    let members: Vec<usize> = (0..plan.fixes.len())
        .filter(|&i| plan.fixes[i].top == lock && plan.fixes[i].status == Status::Fixed)
        .collect();
    if members.is_empty() {
        return None;
    }
    let fail_all = |fixes: &mut [Fix], reason: &str, hint: Option<String>| {
        for &i in &members {
            fixes[i].fail(Status::Error, reason.to_owned(), hint.clone());
        }
    };
    let exe = match exe {
        Ok(exe) => exe,
        Err(e) => {
            fail_all(
                &mut plan.fixes,
                e,
                Some(format!("install {0}, or pass --{0} PATH", tool.program())),
            );
            return None;
        }
    };
    let upgrades: Vec<(String, String)> = members
        .iter()
        .map(|&i| {
            (
                plan.fixes[i].normalized.clone(),
                plan.fixes[i].to.clone().unwrap_or_default(),
            )
        })
        .collect();
    let source = FsSource {
        max_bytes: crate::scan::MAX_FILE_BYTES,
    };
    let Ok(Ok(old)) = source.read(lock).map(String::from_utf8) else {
        fail_all(
            &mut plan.fixes,
            &format!("{}: unreadable", lock.display()),
            None,
        );
        return None;
    };
    let new = match tool.relock(exe, lock, &upgrades) {
        Ok(new) => new,
        Err(e) => {
            fail_all(&mut plan.fixes, &e, None);
            return None;
        }
    };
    let format = plan.fixes[members[0]].format;
    let memory = BTreeMap::from([(lock.to_owned(), new.clone().into_bytes())]);
    let locked = match picket_deps::parse_as(lock, format, &memory) {
        Ok(parsed) => parsed.dependencies,
        Err(e) => {
            fail_all(
                &mut plan.fixes,
                &format!("the new lock does not parse: {e}"),
                None,
            );
            return None;
        }
    };
    let mut all_good = true;
    for &i in &members {
        let fix = &mut plan.fixes[i];
        let planned: Option<Version> = fix.to.as_deref().and_then(|v| v.parse().ok());
        let got: Option<Version> = locked
            .iter()
            .filter(|d| d.name.normalized() == fix.normalized)
            .find_map(|d| d.pinned.as_deref()?.parse().ok());
        let Some(got) = got else {
            fix.fail(
                Status::Error,
                format!("{} left {} out of the lock", tool.program(), fix.name),
                None,
            );
            all_good = false;
            continue;
        };
        if Some(&got) == planned.as_ref() {
            continue;
        }
        let pinned = got.to_string();
        let clean = counted(db, &fix.normalized, &got, &pinned, rules)
            .0
            .is_empty();
        let uploaded = plan
            .releases
            .get(&fix.normalized)
            .and_then(|r| r.as_ref().ok())
            .and_then(|r| r.iter().find(|r| r.version == got))
            .map(|r| r.uploaded);
        let cooled = uploaded.is_some_and(|u| {
            u.is_none_or(|t| rules.now - t >= i64::from(rules.cooldown_days) * 86_400)
        });
        let from: Option<Version> = fix.from.parse().ok();
        if clean && cooled && from.is_some_and(|f| got > f) {
            fix.to = Some(pinned);
            continue;
        }
        let why = if clean {
            "inside the cooldown"
        } else {
            "not clear of advisories"
        };
        fix.fail(
            Status::Unfixable,
            format!(
                "{} locked {} {pinned}, which is {why}",
                tool.program(),
                fix.name
            ),
            Some(format!(
                "{} picks the newest release your ranges allow: constrain {} in pyproject.toml to `=={}`, then run `picket fix` again",
                tool.program(),
                fix.name,
                fix.to.as_deref().unwrap_or_default()
            )),
        );
        all_good = false;
    }
    if !all_good {
        // A lock is taken whole: with one package wrong, none of its changes are kept.
        for &i in &members {
            if plan.fixes[i].status == Status::Fixed {
                plan.fixes[i].fail(
                    Status::Error,
                    format!(
                        "{} was left as it is: another package's upgrade in it failed",
                        lock.display()
                    ),
                    None,
                );
            }
        }
        return None;
    }
    Some(Change {
        path: lock.to_owned(),
        old,
        new,
    })
}

/// The advisories affecting `name` at `version` that the policy does not ignore, and whether one
/// is malware.
fn counted(
    db: &Database,
    normalized: &str,
    version: &Version,
    pinned: &str,
    rules: &Rules<'_>,
) -> (Vec<String>, bool) {
    let records = db.affecting(normalized, version);
    let grouped = picket_osv::group(&records, normalized);
    let mut ids = Vec::new();
    let mut malicious = false;
    for v in &grouped {
        let all: Vec<&str> = v.ids().collect();
        if rules
            .ignore
            .iter()
            .any(|e| e.applies(normalized, Some(pinned), &all, rules.today()))
        {
            continue;
        }
        malicious |= v.malicious;
        ids.push(v.id.clone());
    }
    (ids, malicious)
}

/// Sets `fix.to` (and its hashes) to the smallest qualifying release, or says why none does.
fn choose(
    fix: &mut Fix,
    dep: &Dependency,
    current: &Version,
    db: &Database,
    releases: &[Release],
    constraints: &[&Constraint],
    rules: &Rules<'_>,
) {
    let name = fix.normalized.clone();
    let pre = current.any_prerelease();
    let above: Vec<&Release> = releases
        .iter()
        .filter(|r| r.version > *current && (pre || !r.version.any_prerelease()))
        .collect();
    let allowed: Vec<&Release> = above
        .iter()
        .copied()
        .filter(|r| {
            constraints
                .iter()
                .all(|c| c.specifiers.contains(&r.version))
        })
        .collect();
    let clean = |r: &&Release| {
        let pinned = r.version.to_string();
        counted(db, &name, &r.version, &pinned, rules).0.is_empty()
    };
    let safe: Vec<&Release> = allowed.iter().copied().filter(clean).collect();
    let cooldown = i64::from(rules.cooldown_days) * 86_400;
    let cooled = safe
        .iter()
        .find(|r| r.uploaded.is_none_or(|t| rules.now - t >= cooldown));
    let Some(target) = cooled else {
        let (reason, hint) = if above.is_empty() {
            (
                format!(
                    "the index has no release of {} above {}",
                    fix.name, fix.from
                ),
                Some(
                    "no fixed release exists yet: watch the advisory, or remove the dependency"
                        .to_owned(),
                ),
            )
        } else if allowed.is_empty() {
            let origins: Vec<&str> = constraints.iter().map(|c| c.origin.as_str()).collect();
            (
                format!(
                    "no release of {} above {} is allowed by {}",
                    fix.name,
                    fix.from,
                    origins.join(", ")
                ),
                Some("widen that constraint, then run `picket fix` again".to_owned()),
            )
        } else if safe.is_empty() {
            (
                format!(
                    "every release of {} above {} the project allows has a known advisory too",
                    fix.name, fix.from
                ),
                Some(
                    "no safe release exists yet: watch the advisory, or remove the dependency"
                        .to_owned(),
                ),
            )
        } else {
            let young: Vec<String> = safe
                .iter()
                .map(|r| {
                    let days = r.uploaded.map_or(0, |t| (rules.now - t).div_euclid(86_400));
                    format!("{} ({days} days old)", r.version)
                })
                .collect();
            (
                format!(
                    "the releases of {} that clear its advisories are all younger than the cooldown of {} days: {}",
                    fix.name,
                    rules.cooldown_days,
                    young.join(", ")
                ),
                Some("wait until the cooldown has passed, or lower `cooldown-days` in [check] of picket.toml (or --cooldown-days) once you have vetted the release".to_owned()),
            )
        };
        fix.fail(Status::Unfixable, reason, hint);
        return;
    };
    fix.to = Some(target.version.to_string());
    if fix.format == FileFormat::Requirements && !dep.hashes.is_empty() {
        match target.hashes.iter().cloned().collect::<Option<Vec<String>>>() {
            Some(hashes) if !hashes.is_empty() => fix.hashes = hashes,
            _ => fix.fail(
                Status::Error,
                format!(
                    "the index lists a file of {} {} without a sha256, so its --hash lines can't be written",
                    fix.name, target.version
                ),
                None,
            ),
        }
    }
}

/// Whether a requirements file is a pip-tools input (`*.in`): a source of constraints, never
/// rewritten.
fn is_in_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("in"))
}

/// The ranges the project declares beside `file`, by normalized name: for `requirements.txt`
/// its `requirements.in` and the ranges of its own `-c` files; for every file the
/// `pyproject.toml` in its folder. Pins in those files are fixes of their own, not ranges.
/// A range that is not PEP 440 (Poetry's `^1.2`) is kept as the warning to give when it matters.
fn constraints(
    file: &DependencyFile,
    warnings: &mut Vec<String>,
) -> Vec<(String, Result<Constraint, String>)> {
    let source = FsSource {
        max_bytes: crate::scan::MAX_FILE_BYTES,
    };
    let dir = file.path.parent().unwrap_or(Path::new(""));
    let mut sources: Vec<DependencyFile> = Vec::new();
    let mut read = |path: PathBuf| {
        if path.is_file() && path != file.path {
            match picket_deps::parse_file(&path, &source) {
                Ok(parsed) => sources.push(parsed),
                Err(e) => warnings.push(format!("constraints not read: {e}")),
            }
        }
    };
    if file.format == FileFormat::Requirements {
        read(file.path.with_extension("in"));
    }
    read(dir.join("pyproject.toml"));
    let own = file.dependencies.iter().filter(|d| d.constraint);
    let mut out = Vec::new();
    for dep in sources.iter().flat_map(|f| &f.dependencies).chain(own) {
        let Some(spec) = &dep.specifier else { continue };
        let from_in_file = is_in_file(&dep.source.file);
        if dep.pinned.is_some() && !from_in_file && dep.source.file != dir.join("pyproject.toml") {
            continue;
        }
        let origin = format!("{}:{} ({spec})", dep.source.file.display(), dep.source.line);
        let constraint = VersionSpecifiers::from_str(spec)
            .map(|specifiers| Constraint {
                specifiers,
                origin: origin.clone(),
            })
            .map_err(|_| {
                format!(
                    "{origin}: not a PEP 440 range, so the upgrade was chosen without it (the lock tool still applies it)"
                )
            });
        out.push((dep.name.normalized().to_owned(), constraint));
    }
    out
}

/// A file's text before and after.
#[derive(Debug, Clone)]
pub struct Change {
    /// The file.
    pub path: PathBuf,
    /// As it is.
    pub old: String,
    /// As it will be.
    pub new: String,
}

/// The requirements files changed by the `fixed` requirements fixes. Each new text is checked by
/// parsing every top-level file again over the new texts: it must declare the same requirements,
/// pinning (and hashing) what the plan says. A fix whose file can't be rewritten fails, with
/// every other fix of that file.
pub fn rewrite(fixes: &mut [Fix]) -> Vec<Change> {
    let source = FsSource {
        max_bytes: crate::scan::MAX_FILE_BYTES,
    };
    let mut by_file: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, fix) in fixes.iter().enumerate() {
        if fix.format == FileFormat::Requirements && fix.status == Status::Fixed {
            by_file.entry(fix.file.clone()).or_default().push(i);
        }
    }
    let mut changes = Vec::new();
    for (file, members) in by_file {
        let path = PathBuf::from(&file);
        let result = (|| -> Result<Change, String> {
            let old = String::from_utf8(source.read(&path).map_err(|e| format!("{file}: {e}"))?)
                .map_err(|_| format!("{file}: not valid UTF-8"))?;
            let updates: Vec<PinUpdate> = members
                .iter()
                .map(|&i| PinUpdate {
                    line: fixes[i].line,
                    version: fixes[i].to.clone().unwrap_or_default(),
                    hashes: fixes[i].had_hashes.then(|| fixes[i].hashes.clone()),
                })
                .collect();
            let new = picket_deps::rewrite_requirements(&path, &old, &updates)
                .map_err(|e| e.to_string())?;
            let tops: Vec<&PathBuf> = members.iter().map(|&i| &fixes[i].top).collect();
            verify(
                &path,
                &old,
                &new,
                &tops,
                &members.iter().map(|&i| &fixes[i]).collect::<Vec<_>>(),
            )?;
            Ok(Change { path, old, new })
        })();
        match result {
            Ok(change) => changes.push(change),
            Err(e) => {
                for i in members {
                    fixes[i].fail(
                        Status::Error,
                        format!("{file} was left as it is: {e}"),
                        None,
                    );
                }
            }
        }
    }
    changes
}

/// Reads `path` as `new`, every other file from disk.
struct Overlay<'a> {
    path: &'a Path,
    new: &'a str,
    disk: FsSource,
}

impl FileSource for Overlay<'_> {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if path == self.path {
            Ok(self.new.as_bytes().to_vec())
        } else {
            self.disk.read(path)
        }
    }
}

/// Checks the rewritten `path`: parsed through each of `tops`, its requirements are the same
/// names in the same order as before, each fix's pin (and hashes) as planned.
fn verify(
    path: &Path,
    old: &str,
    new: &str,
    tops: &[&PathBuf],
    fixes: &[&Fix],
) -> Result<(), String> {
    let disk = FsSource {
        max_bytes: crate::scan::MAX_FILE_BYTES,
    };
    let of = |text: &str, top: &Path| -> Result<Vec<Dependency>, String> {
        let overlay = Overlay {
            path,
            new: text,
            disk,
        };
        let parsed = picket_deps::parse_as(top, FileFormat::Requirements, &overlay)
            .map_err(|e| e.to_string())?;
        Ok(parsed
            .dependencies
            .into_iter()
            .filter(|d| d.source.file == path)
            .collect())
    };
    for top in tops {
        let before = of(old, top)?;
        let after = of(new, top)?;
        let names = |deps: &[Dependency]| -> Vec<String> {
            deps.iter()
                .map(|d| d.name.normalized().to_owned())
                .collect()
        };
        if names(&before) != names(&after) {
            return Err("the rewritten file would declare other requirements".to_owned());
        }
        for fix in fixes {
            let planned = Some(fix.to.clone().unwrap_or_default());
            let found = after.iter().any(|d| {
                d.name.normalized() == fix.normalized
                    && d.pinned.as_ref().and_then(|v| v.parse::<Version>().ok())
                        == planned.as_ref().and_then(|v| v.parse::<Version>().ok())
                    && (!fix.had_hashes || d.hashes == fix.hashes)
            });
            if !found {
                return Err(format!(
                    "the rewritten file would not pin {} {}",
                    fix.name,
                    fix.to.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it (with the original's
/// permissions), flushed to disk, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.picket-fix-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&temp, meta.permissions())?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_group_files_and_keep_the_newest_upload() {
        let page = ProjectPage::from_json(
            br#"{"meta": {"api-version": "1.1"}, "name": "pkg", "files": [
              {"filename": "pkg-1.0.tar.gz", "url": "a", "hashes": {"sha256": "BB"}, "upload-time": "2026-01-01T00:00:00Z"},
              {"filename": "pkg-1.0-py3-none-any.whl", "url": "b", "hashes": {"sha256": "aa"}, "upload-time": "2026-01-03T00:00:00Z"},
              {"filename": "pkg-1.1-py3-none-any.whl", "url": "c", "hashes": {}, "upload-time": "2026-01-05T00:00:00Z"},
              {"filename": "pkg-1.2-py3-none-any.whl", "url": "d", "hashes": {"sha256": "cc"}, "yanked": true},
              {"filename": "other-9.0-py3-none-any.whl", "url": "e", "hashes": {"sha256": "dd"}}
            ]}"#,
        )
        .unwrap();
        let got = releases(&page, "pkg");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].version.to_string(), "1.0");
        assert_eq!(
            got[0].hashes,
            [Some("sha256:aa".to_owned()), Some("sha256:bb".to_owned())]
        );
        assert_eq!(
            got[0].uploaded,
            picket_formats::time::unix_seconds("2026-01-03T00:00:00Z")
        );
        assert_eq!(got[1].hashes, [None]);
    }

    #[test]
    fn atomic_writes_replace_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requirements.txt");
        std::fs::write(&path, "a==1\n").unwrap();
        write_atomically(&path, b"a==2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a==2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
