//! Installed Python environments: what a virtualenv's (or any) `site-packages` folder holds, and
//! whether the files on disk are still the ones the installer wrote.
//!
//! [`Environment::locate`] finds the `site-packages` folders of a virtualenv (or takes one such
//! folder), [`Environment::active`] the environment a plain `python` would use, and [`read`] lists
//! every distribution (`*.dist-info`, `*.egg-info`) with its name and version and checks it:
//!
//! - every file its `RECORD` lists with a digest is hashed and compared (a difference is
//!   [`Kind::Tampered`]);
//! - a file inside a package's folders that no `RECORD` lists is [`Kind::Tampered`] too (except
//!   the `__pycache__` files Python writes for a listed module);
//! - a `.pth` file with an `import` line (Python runs it at every start) is [`Kind::PthCode`], as
//!   is an unlisted `sitecustomize.py`.
//!
//! **Invariant:** nothing outside the environment's root is read. A `RECORD` path that leaves it
//! (`../../../../etc/passwd`, an absolute path elsewhere), lexically or through a link, is a
//! finding and is never opened; folders are walked without following links, so a link loop
//! neither hangs nor fails the scan; reads are bounded and only regular files are opened.

pub mod cache;
pub mod image;
pub mod pth;
pub mod record;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use picket_formats::{CoreMetadata, ProjectName};

/// The largest `RECORD` read.
const MAX_RECORD_BYTES: u64 = 64 << 20;
/// The largest `METADATA` / `PKG-INFO` read.
const MAX_METADATA_BYTES: u64 = 16 << 20;
/// The largest `.pth` file read.
const MAX_PTH_BYTES: u64 = 1 << 20;
/// How many entries the walk of one `site-packages` visits before it stops (with a warning).
const MAX_WALK_ENTRIES: usize = 2_000_000;
/// How deep the walk goes.
const MAX_WALK_DEPTH: usize = 64;

/// Why an environment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The path is not an environment or a `site-packages` folder.
    #[error(
        "{}: not a virtualenv or site-packages folder (no pyvenv.cfg, lib/pythonX.Y/site-packages or *.dist-info in it)\nhint: name the environment's folder (the one holding pyvenv.cfg) or its site-packages",
        .0.display()
    )]
    NotAnEnvironment(PathBuf),
    /// The path could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// No active environment could be found.
    #[error(
        "no active environment: VIRTUAL_ENV is not set and {0}\nhint: name one: `picket scan --env PATH`"
    )]
    NoActive(String),
}

/// An environment: its root (nothing outside it is read) and its `site-packages` folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The prefix: the virtualenv's folder, or the prefix a `site-packages` folder sits under.
    pub root: PathBuf,
    /// The folders distributions are installed in (purelib and platlib, once each).
    pub site_packages: Vec<PathBuf>,
}

impl Environment {
    /// A virtualenv (its folder) or a `site-packages` folder.
    pub fn locate(path: &Path) -> Result<Self, EnvError> {
        let io = |source| EnvError::Io {
            path: path.to_owned(),
            source,
        };
        if !std::fs::metadata(path).map_err(io)?.is_dir() {
            return Err(EnvError::NotAnEnvironment(path.to_owned()));
        }
        let mut site_packages = Vec::new();
        for lib in ["lib", "lib64"] {
            let Ok(entries) = std::fs::read_dir(path.join(lib)) else {
                continue;
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
                .map(|e| e.path().join("site-packages"))
                .filter(|p| p.is_dir())
                .collect();
            found.sort();
            site_packages.extend(found);
        }
        let windows = path.join("Lib").join("site-packages");
        if windows.is_dir() {
            site_packages.push(windows);
        }
        if !site_packages.is_empty() {
            return Ok(Self {
                root: path.to_owned(),
                site_packages: once_each(site_packages),
            });
        }
        let looks_installed = std::fs::read_dir(path).map_err(io)?.any(|e| {
            e.is_ok_and(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".dist-info") || name.ends_with(".egg-info")
            })
        });
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if looks_installed || matches!(name.as_deref(), Some("site-packages" | "dist-packages")) {
            return Ok(Self {
                root: prefix_of(path),
                site_packages: vec![path.to_owned()],
            });
        }
        Err(EnvError::NotAnEnvironment(path.to_owned()))
    }

    /// The environment in use: `VIRTUAL_ENV`, else the one of the Python on `PATH` (`python3`,
    /// then `python`), whose prefix and purelib/platlib folders are asked of it.
    pub fn active() -> Result<Self, EnvError> {
        if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
            return Self::locate(Path::new(&venv));
        }
        let script = "import json, sys, sysconfig; print(json.dumps([sys.prefix, sysconfig.get_path('purelib'), sysconfig.get_path('platlib')]))";
        let mut tried = Vec::new();
        for python in ["python3", "python"] {
            match std::process::Command::new(python)
                .args(["-c", script])
                .stderr(std::process::Stdio::null())
                .output()
            {
                Ok(out) if out.status.success() => {
                    let paths: Vec<String> = serde_json::from_slice(&out.stdout).map_err(|e| {
                        EnvError::NoActive(format!("{python} answered no paths ({e})"))
                    })?;
                    let mut paths = paths.into_iter().map(PathBuf::from);
                    let root = paths.next().unwrap_or_default();
                    let site_packages = once_each(paths.filter(|p| p.is_dir()).collect());
                    if site_packages.is_empty() {
                        return Err(EnvError::NoActive(format!(
                            "{python}'s site-packages folders do not exist"
                        )));
                    }
                    return Ok(Self {
                        root,
                        site_packages,
                    });
                }
                Ok(out) => tried.push(format!("{python} failed ({})", out.status)),
                Err(e) => tried.push(format!("{python}: {e}")),
            }
        }
        Err(EnvError::NoActive(tried.join("; ")))
    }
}

/// The folders, each once (`lib64` is often a link to `lib`).
fn once_each(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    paths
        .into_iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .collect()
}

/// The prefix a `site-packages` folder belongs to: `P` of `P/lib/pythonX.Y/site-packages`,
/// `P/Lib/site-packages` or `P/lib/python3/dist-packages`; else the folder itself.
fn prefix_of(site_packages: &Path) -> PathBuf {
    let absolute = std::path::absolute(site_packages).unwrap_or_else(|_| site_packages.to_owned());
    let up = |p: &Path, n: usize| p.ancestors().nth(n).map(Path::to_path_buf);
    let parent_name = absolute
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if parent_name.starts_with("python")
        && let Some(lib) = up(&absolute, 2)
        && lib
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("lib"))
        && let Some(prefix) = up(&absolute, 3)
    {
        return prefix;
    }
    if parent_name == "Lib"
        && let Some(prefix) = up(&absolute, 2)
    {
        return prefix;
    }
    site_packages.to_owned()
}

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An installed file is not what its `RECORD` says (changed, unlisted, outside the
    /// environment, or not a file), or the `RECORD` itself is unreadable.
    Tampered,
    /// A `.pth` file (or an unlisted `sitecustomize.py`) that runs code at every Python start.
    PthCode,
}

/// How much a finding weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// Known and expected (virtualenv's own `.pth`).
    Low,
    /// Worth a look: code a package ships in a `.pth`, an unlisted data file.
    Medium,
    /// Changed or planted code.
    High,
}

/// One finding about an installed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What it is.
    pub kind: Kind,
    /// How much it weighs.
    pub weight: Weight,
    /// The file (under the `site-packages` folder as named, or as the `RECORD` wrote it).
    pub path: PathBuf,
    /// One sentence or two for a person, ending with what to do.
    pub message: String,
}

/// One installed distribution.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// The project name (from the metadata, else the folder's name).
    pub name: ProjectName,
    /// The installed version.
    pub version: String,
    /// The `.dist-info` / `.egg-info` folder (or file).
    pub metadata: PathBuf,
    /// Whether a `RECORD` was read, so its files were checked.
    pub verified: bool,
    /// What is wrong with its files.
    pub problems: Vec<Problem>,
}

/// One `site-packages` folder, read.
#[derive(Debug, Clone)]
pub struct SitePackages {
    /// The folder.
    pub path: PathBuf,
    /// The distributions, by folder name.
    pub distributions: Vec<Distribution>,
    /// Findings no distribution owns (an unlisted `.pth` or `sitecustomize.py`).
    pub problems: Vec<Problem>,
    /// What could not be read and was skipped, for stderr.
    pub warnings: Vec<String>,
    /// How many files were hashed, and how many digests came from the hash cache instead.
    pub hashed: HashStats,
}

/// How much hashing a read did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashStats {
    /// Files read and hashed.
    pub files: u64,
    /// Bytes read and hashed.
    pub bytes: u64,
    /// Files whose digest came from the hash cache (unchanged since a scan hashed them).
    pub cached: u64,
}

impl HashStats {
    fn add(&mut self, other: Self) {
        self.files += other.files;
        self.bytes += other.bytes;
        self.cached += other.cached;
    }
}

/// How installed files are compared with their `RECORD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileCheck {
    /// Size and digest: any change is seen (the default, and the tamper defense).
    Hash,
    /// Size alone, nothing hashed: faster, but an edit that keeps a file's size goes unseen.
    Size,
}

/// Reads every `site-packages` folder of `env`, hashing with `jobs` threads.
pub fn read(env: &Environment, jobs: usize) -> Result<Vec<SitePackages>, EnvError> {
    read_with(env, jobs, FileCheck::Hash)
}

/// [`read`], comparing installed files with their `RECORD` as `check` says.
pub fn read_with(
    env: &Environment,
    jobs: usize,
    check: FileCheck,
) -> Result<Vec<SitePackages>, EnvError> {
    read_cached(env, jobs, check, None)
}

/// [`read_with`], keeping the digests in the verified-hash cache in `cache_dir` (see
/// [`cache`]): a file unchanged since the last scan (same path, device, inode, size,
/// modification and change time) is not read again. A cache that can't be read or written is a
/// warning, and every file is hashed.
pub fn read_cached(
    env: &Environment,
    jobs: usize,
    check: FileCheck,
    cache_dir: Option<&Path>,
) -> Result<Vec<SitePackages>, EnvError> {
    let root = std::path::absolute(&env.root).map_err(|source| EnvError::Io {
        path: env.root.clone(),
        source,
    })?;
    let canonical_root = std::fs::canonicalize(&root).map_err(|source| EnvError::Io {
        path: env.root.clone(),
        source,
    })?;
    let mut warnings = Vec::new();
    let cache = match cache_dir {
        Some(dir) if check == FileCheck::Hash => {
            let (cache, warning) = cache::HashCache::open(dir, &canonical_root);
            warnings.extend(warning);
            Some(cache)
        }
        _ => None,
    };
    let bounds = Bounds {
        root: normalize(&root),
        canonical_root,
        check,
        cache,
        folders: Folders::default(),
    };
    let mut fresh = Vec::new();
    let mut sites = env
        .site_packages
        .iter()
        .map(|sp| read_site_packages(sp, &bounds, jobs.max(1), &mut fresh))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(cache) = &bounds.cache
        && let Err(e) = cache.save(fresh)
    {
        warnings.push(format!(
            "{}: the hash cache could not be written ({e}), so the next scan hashes every file again",
            cache.file().display()
        ));
    }
    if let Some(first) = sites.first_mut() {
        first.warnings.extend(warnings);
    }
    Ok(sites)
}

/// The environment's root, lexically and with links resolved, how files are compared, and the
/// digests already known.
struct Bounds {
    root: PathBuf,
    canonical_root: PathBuf,
    check: FileCheck,
    cache: Option<cache::HashCache>,
    folders: Folders,
}

impl Bounds {
    /// `path` without `.`/`..`, when it stays under the root lexically.
    fn lexical(&self, path: &Path) -> Option<PathBuf> {
        let path = normalize(&std::path::absolute(path).ok()?);
        path.starts_with(&self.root).then_some(path)
    }
}

/// `.` and `..` resolved lexically (`..` at the top stays at the top).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Shows the paths of `sites` under `from` as under `to` instead, in paths, messages and
/// warnings alike (an image's scratch folder as the image: `image.tar:/usr/lib/…`).
pub fn relabel(sites: &mut [SitePackages], from: &Path, to: &str) {
    let from = from.display().to_string();
    let text = |s: &mut String| *s = s.replace(&from, to);
    let path = |p: &mut PathBuf| *p = PathBuf::from(p.display().to_string().replace(&from, to));
    for site in sites {
        path(&mut site.path);
        site.warnings.iter_mut().for_each(text);
        let problems = site.problems.iter_mut().chain(
            site.distributions
                .iter_mut()
                .flat_map(|d| d.problems.iter_mut()),
        );
        for p in problems {
            path(&mut p.path);
            text(&mut p.message);
        }
        for d in &mut site.distributions {
            path(&mut d.metadata);
        }
    }
}

/// A distribution folder found, before it is read.
struct Found {
    path: PathBuf,
    egg: bool,
}

fn read_site_packages(
    sp: &Path,
    bounds: &Bounds,
    jobs: usize,
    fresh: &mut Vec<cache::Fresh>,
) -> Result<SitePackages, EnvError> {
    let io = |source| EnvError::Io {
        path: sp.to_owned(),
        source,
    };
    let mut warnings = Vec::new();
    let mut found = Vec::new();
    let mut pth_files = Vec::new();
    let mut customize = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(sp)
        .map_err(io)?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(".dist-info") || name.ends_with(".egg-info") {
            // A link is followed here (its target must be a folder or file); a loop is an error.
            match std::fs::metadata(&path) {
                Ok(_) => found.push(Found {
                    path,
                    egg: name.ends_with(".egg-info"),
                }),
                Err(e) => warnings.push(format!("{}: {e}; skipped", path.display())),
            }
        } else if Path::new(&name).extension().is_some_and(|e| e == "pth") {
            // Python's `site` matches the extension case-sensitively.
            pth_files.push(path);
        } else if name == "sitecustomize.py" || name == "usercustomize.py" {
            customize.push(path);
        }
    }

    let mut distributions = Vec::new();
    let mut records = Vec::new();
    for f in &found {
        match read_distribution(f, sp, bounds) {
            Ok((dist, record)) => {
                distributions.push(dist);
                records.push(record);
            }
            Err(message) => warnings.push(message),
        }
    }

    // Every listed file, by its path under site-packages, with its owner.
    let mut listed: HashMap<String, usize> = HashMap::new();
    let mut tasks = Vec::new();
    let sp_resolved = normalize(&std::path::absolute(sp).map_err(io)?);
    for (i, record) in records.iter().enumerate() {
        for (entry, resolved) in record {
            if let Some(rel) = resolved
                .strip_prefix(&sp_resolved)
                .ok()
                .and_then(Path::to_str)
            {
                listed.entry(rel.to_owned()).or_insert(i);
            }
            if entry.hash.is_some() {
                tasks.push((i, entry, resolved));
            }
        }
    }

    // Hash every listed file that has a digest, on `jobs` threads.
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let done = Mutex::new((HashStats::default(), Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..jobs.min(tasks.len()).max(1) {
            s.spawn(|| {
                let mut mine = Vec::new();
                let mut scratch = Scratch::default();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((i, entry, resolved)) = tasks.get(n) else {
                        break;
                    };
                    let shown = sp.join(&entry.path);
                    if let Some(p) = verify(entry, resolved, &shown, bounds, &mut scratch) {
                        mine.push((*i, n, p));
                    }
                }
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend(mine);
                let mut done = done
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                done.0.add(scratch.stats);
                done.1.push(scratch.fresh);
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(_, n, _)| *n);
    let (hashed, used) = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    fresh.extend(used);
    let mut changed = HashSet::new();
    for (i, _, problem) in results {
        changed.insert(problem.path.clone());
        distributions[i].problems.push(problem);
    }

    // Unlisted files inside the folders the distributions install into.
    let (unlisted, walk_warnings) = unlisted_files(sp, &listed);
    warnings.extend(walk_warnings);
    for (rel, owner) in unlisted {
        let path = sp.join(&rel);
        let executable = Path::new(&rel).extension().is_some_and(|e| {
            ["py", "pyc", "pyd", "so", "pth", "dylib", "dll", "pyw"]
                .iter()
                .any(|x| e.eq_ignore_ascii_case(x))
        });
        let dist = &mut distributions[owner];
        dist.problems.push(Problem {
            kind: Kind::Tampered,
            weight: if executable {
                Weight::High
            } else {
                Weight::Medium
            },
            message: format!(
                "{} is in {}'s folders but not in its RECORD: added after install{}; find out what put it there, and reinstall {}",
                path.display(),
                dist.name.as_given(),
                if executable { ", and Python may run it" } else { "" },
                dist.name.as_given()
            ),
            path,
        });
    }

    // `.pth` files and site customization: code at every interpreter start.
    let mut problems = Vec::new();
    for path in pth_files {
        let rel = path.file_name().unwrap_or_default().to_string_lossy();
        let owner = listed.get(rel.as_ref()).copied();
        let text = match read_bounded(&path, MAX_PTH_BYTES) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                warnings.push(format!("{}: {e}; not read", path.display()));
                continue;
            }
        };
        let Some((line, code)) = pth::first_code_line(&text) else {
            continue;
        };
        let shown = format!("line {line}: `{}`", pth::shorten(code));
        match owner {
            Some(i) => {
                let dist = &mut distributions[i];
                let weight = if changed.contains(&path) {
                    Weight::High
                } else {
                    Weight::Medium
                };
                dist.problems.push(Problem {
                    kind: Kind::PthCode,
                    weight,
                    message: format!(
                        "{} (installed by {}) runs code at every Python start ({shown}); make sure you expect it of {}",
                        path.display(),
                        dist.name.as_given(),
                        dist.name.as_given()
                    ),
                    path,
                });
            }
            None if pth::is_virtualenvs_own(&path, &text) => problems.push(Problem {
                kind: Kind::PthCode,
                weight: Weight::Low,
                message: format!(
                    "{} runs code at every Python start ({shown}): virtualenv wrote it when it made the environment",
                    path.display()
                ),
                path,
            }),
            None => problems.push(Problem {
                kind: Kind::PthCode,
                weight: Weight::High,
                message: format!(
                    "{} is in no installed package's RECORD and runs code at every Python start ({shown}); remove it unless you put it there, and treat the environment as compromised",
                    path.display()
                ),
                path,
            }),
        }
    }
    for path in customize {
        let rel = path.file_name().unwrap_or_default().to_string_lossy();
        if listed.contains_key(rel.as_ref()) {
            continue;
        }
        problems.push(Problem {
            kind: Kind::PthCode,
            weight: Weight::High,
            message: format!(
                "{} is in no installed package's RECORD and Python runs it at every start; remove it unless you put it there",
                path.display()
            ),
            path,
        });
    }

    let unverified = distributions.iter().filter(|d| !d.verified).count();
    if unverified > 0 {
        warnings.push(format!(
            "{}: {unverified} of {} distributions have no RECORD (egg-info, or installed by a system package manager), so their files were not checked",
            sp.display(),
            distributions.len()
        ));
    }
    Ok(SitePackages {
        path: sp.to_owned(),
        distributions,
        problems,
        warnings,
        hashed,
    })
}

/// A `RECORD`'s rows, each with its path resolved (lexically, under the root).
type Record = Vec<(record::RecordEntry, PathBuf)>;

/// Reads one distribution's metadata and `RECORD`. `Err` is a warning: the folder is skipped.
fn read_distribution(
    f: &Found,
    sp: &Path,
    bounds: &Bounds,
) -> Result<(Distribution, Record), String> {
    let folder = f.path.file_name().unwrap_or_default().to_string_lossy();
    let metadata_file = if f.path.is_dir() {
        f.path.join(if f.egg { "PKG-INFO" } else { "METADATA" })
    } else {
        f.path.clone()
    };
    // Name and version from the metadata, else from the folder (`name-version.dist-info`).
    let from_metadata = read_bounded(&metadata_file, MAX_METADATA_BYTES)
        .ok()
        .and_then(|b| CoreMetadata::parse(&b).ok())
        .filter(|m| !m.name.is_empty() && !m.version.is_empty())
        .map(|m| (m.name, m.version));
    let (name, version) = match from_metadata {
        Some(pair) => pair,
        None => {
            let stem = folder
                .trim_end_matches(".dist-info")
                .trim_end_matches(".egg-info");
            let (name, rest) = stem.split_once('-').ok_or_else(|| {
                format!(
                    "{}: no readable metadata and no version in the folder's name; skipped",
                    f.path.display()
                )
            })?;
            let version = rest.split('-').next().unwrap_or(rest);
            (name.to_owned(), version.to_owned())
        }
    };
    let name =
        ProjectName::new(&name).map_err(|e| format!("{}: {e}; skipped", f.path.display()))?;
    let mut dist = Distribution {
        name,
        version,
        metadata: f.path.clone(),
        verified: false,
        problems: Vec::new(),
    };
    if f.egg || !f.path.is_dir() {
        return Ok((dist, Vec::new()));
    }
    let record_path = f.path.join("RECORD");
    let text = match read_bounded(&record_path, MAX_RECORD_BYTES) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((dist, Vec::new())),
        Err(e) => {
            dist.problems
                .push(unreadable_record(&record_path, &e.to_string()));
            return Ok((dist, Vec::new()));
        }
    };
    let rows = match record::parse(&text) {
        Ok(rows) => rows,
        Err(e) => {
            dist.problems
                .push(unreadable_record(&record_path, &e.to_string()));
            return Ok((dist, Vec::new()));
        }
    };
    dist.verified = true;
    let mut out = Vec::new();
    let sp_lexical = bounds.lexical(sp);
    for row in rows {
        // A plain relative path (`pkg/mod.py`: no `.`, `..`, empty or absolute part) is under
        // `sp` as it is; anything else is resolved and judged in full.
        let plain = || {
            row.path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
        };
        let resolved = match &sp_lexical {
            Some(sp) if plain() => Some(sp.join(&row.path)),
            _ => bounds.lexical(&sp.join(&row.path)),
        };
        match resolved {
            // `join` keeps an absolute path as it is, so it is judged like `../` ones.
            Some(resolved) => out.push((row, resolved)),
            None => dist.problems.push(outside(&record_path, &row)),
        }
    }
    Ok((dist, out))
}

fn unreadable_record(record_path: &Path, why: &str) -> Problem {
    Problem {
        kind: Kind::Tampered,
        weight: Weight::Medium,
        path: record_path.to_owned(),
        message: format!(
            "{} cannot be read ({why}), so the installed files were not checked; reinstall the package",
            record_path.display()
        ),
    }
}

fn outside(record_path: &Path, row: &record::RecordEntry) -> Problem {
    Problem {
        kind: Kind::Tampered,
        weight: Weight::High,
        path: record_path.to_owned(),
        message: format!(
            "{} line {} lists `{}`, outside the environment; refused, not read (no installer writes such a path: the RECORD was forged)",
            record_path.display(),
            row.line,
            row.path
        ),
    }
}

/// What one hashing thread keeps between files: the read buffer (allocated once: a fresh one per
/// file cost a page fault per 4 KiB, for files of a few KiB each), the folders already resolved
/// (a file's links are then resolved with one `lstat`, not one per path component), the hash
/// cache's entries it used or made, and its counts.
#[derive(Default)]
struct Scratch {
    buffer: Vec<u8>,
    folders: HashMap<PathBuf, PathBuf>,
    fresh: cache::Fresh,
    stats: HashStats,
}

/// The read buffer's size.
const HASH_BUFFER: usize = 256 << 10;

/// Folders with their links resolved, shared by the hashing threads.
type Folders = Mutex<HashMap<PathBuf, PathBuf>>;

/// `folder` (absolute, without `.` or `..`) with every link resolved, as `std::fs::canonicalize`
/// gives it: its parent resolved (once, remembered in `folders`) and its own name, unless it is a
/// link itself, which is resolved whole. One `lstat` per folder where `canonicalize` made a
/// `readlink` per path component (28,000 calls for 300 distributions, most of them failing).
fn resolve_folder(folder: &Path, folders: &Folders) -> std::io::Result<PathBuf> {
    let known = |f: &Path| {
        folders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(f)
            .cloned()
    };
    if let Some(resolved) = known(folder) {
        return Ok(resolved);
    }
    let resolved = match (folder.parent(), folder.file_name()) {
        (Some(parent), Some(name))
            if !std::fs::symlink_metadata(folder)?.file_type().is_symlink() =>
        {
            resolve_folder(parent, folders)?.join(name)
        }
        _ => std::fs::canonicalize(folder)?,
    };
    folders
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(folder.to_owned(), resolved.clone());
    Ok(resolved)
}

/// `path` with every link resolved, as `std::fs::canonicalize` gives it, and its metadata
/// (links followed). Its folder is resolved once (see [`resolve_folder`]; each thread also keeps
/// the ones it used); a file that is itself a link is resolved whole.
fn resolve(
    path: &Path,
    scratch: &mut Scratch,
    shared: &Folders,
) -> std::io::Result<(PathBuf, std::fs::Metadata)> {
    let own = std::fs::symlink_metadata(path)?;
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok((std::fs::canonicalize(path)?, std::fs::metadata(path)?));
    };
    if own.file_type().is_symlink() {
        return Ok((std::fs::canonicalize(path)?, std::fs::metadata(path)?));
    }
    let folder = match scratch.folders.get(folder) {
        Some(resolved) => resolved.clone(),
        None => {
            let resolved = resolve_folder(folder, shared)?;
            scratch.folders.insert(folder.to_owned(), resolved.clone());
            resolved
        }
    };
    Ok((folder.join(name), own))
}

/// Checks one listed file against its digest; `None` when it matches or is gone.
fn verify(
    entry: &record::RecordEntry,
    resolved: &Path,
    shown: &Path,
    bounds: &Bounds,
    scratch: &mut Scratch,
) -> Option<Problem> {
    let digest = entry.hash.as_ref()?;
    let problem = |weight, message: String| {
        Some(Problem {
            kind: Kind::Tampered,
            weight,
            path: shown.to_owned(),
            message,
        })
    };
    // Links resolved: the file must still be inside the environment.
    let (canonical, meta) = match resolve(resolved, scratch, &bounds.folders) {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            return problem(
                Weight::Medium,
                format!(
                    "{} cannot be checked against its RECORD: {e}",
                    shown.display()
                ),
            );
        }
    };
    if !canonical.starts_with(&bounds.canonical_root) {
        return problem(
            Weight::High,
            format!(
                "{} is a link to {}, outside the environment; refused, not read",
                shown.display(),
                canonical.display()
            ),
        );
    }
    if !meta.is_file() {
        return problem(
            Weight::High,
            format!(
                "{} is listed in RECORD as a file but is not a regular file now; reinstall the package",
                shown.display()
            ),
        );
    }
    let changed = |why: String| {
        problem(
            Weight::High,
            format!(
                "{} differs from its RECORD ({why}): changed after install; find out what changed it, and reinstall the package",
                shown.display()
            ),
        )
    };
    if let Some(size) = entry.size
        && size != meta.len()
    {
        return changed(format!("{} bytes, RECORD says {size}", meta.len()));
    }
    if bounds.check == FileCheck::Size {
        return None;
    }
    let stamp = bounds.cache.as_ref().and_then(|_| cache::Stamp::of(&meta));
    let known = match (&bounds.cache, &stamp) {
        (Some(cache), Some(stamp)) => cache.get(&canonical, stamp, &digest.algorithm),
        _ => None,
    };
    if known.is_some() {
        scratch.stats.cached += 1;
    }
    let hashed = match known {
        Some(known) => Ok(Some(known)),
        None => hash_file(&canonical, &digest.algorithm, &mut scratch.buffer).map(|found| {
            found.map(|(actual, read)| {
                scratch.stats.files += 1;
                scratch.stats.bytes += read;
                if let (Some(cache), Some(stamp)) = (&bounds.cache, &stamp) {
                    cache.put(
                        &canonical,
                        stamp,
                        &digest.algorithm,
                        &actual,
                        &mut scratch.fresh,
                    );
                }
                actual
            })
        }),
    };
    let actual = match hashed {
        Ok(Some(actual)) => actual,
        Ok(None) => {
            return problem(
                Weight::Medium,
                format!(
                    "{}: RECORD's hash algorithm `{}` is not one installers may use (sha256 or stronger), so the file was not checked",
                    shown.display(),
                    digest.algorithm
                ),
            );
        }
        Err(e) => {
            return problem(
                Weight::Medium,
                format!("{} cannot be read: {e}", shown.display()),
            );
        }
    };
    if actual == digest.bytes {
        return None;
    }
    changed(format!(
        "{} {}, RECORD says {}",
        digest.algorithm,
        data_encoding::BASE64URL_NOPAD.encode(&actual),
        data_encoding::BASE64URL_NOPAD.encode(&digest.bytes)
    ))
}

/// The file's digest under `algorithm` and the bytes read, streamed through `buffer` (sized on
/// first use); `None` for an algorithm not accepted.
fn hash_file(
    path: &Path,
    algorithm: &str,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, u64)>> {
    fn stream<D: sha2::Digest>(
        mut file: std::fs::File,
        buffer: &mut [u8],
    ) -> std::io::Result<(Vec<u8>, u64)> {
        let mut hasher = D::new();
        let mut read = 0;
        loop {
            let n = file.read(buffer)?;
            if n == 0 {
                return Ok((hasher.finalize().to_vec(), read));
            }
            read += n as u64;
            hasher.update(&buffer[..n]);
        }
    }
    if buffer.len() < HASH_BUFFER {
        buffer.resize(HASH_BUFFER, 0);
    }
    let file = std::fs::File::open(path)?;
    Ok(Some(match algorithm {
        "sha256" => stream::<sha2::Sha256>(file, buffer)?,
        "sha384" => stream::<sha2::Sha384>(file, buffer)?,
        "sha512" => stream::<sha2::Sha512>(file, buffer)?,
        _ => return Ok(None),
    }))
}

/// Reads a regular file of at most `max` bytes (links followed; anything else refused).
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > max {
        return Err(std::io::Error::other(format!(
            "{} bytes, over the {max}-byte limit",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Files under the top-level folders the distributions install into that no `RECORD` lists,
/// each with the distribution that owns the nearest folder holding a listed file. Links are
/// not followed (a link is reported like a file), so a loop ends the walk of that branch.
fn unlisted_files(
    sp: &Path,
    listed: &HashMap<String, usize>,
) -> (Vec<(String, usize)>, Vec<String>) {
    // Each folder holding a listed file, with its first owner; the top-level folders to walk.
    let mut folders: HashMap<&str, usize> = HashMap::new();
    let mut tops: BTreeSet<&str> = BTreeSet::new();
    for (rel, &owner) in listed {
        let mut dir = rel.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            dir = parent;
            let first = folders.entry(dir).or_insert(owner);
            *first = (*first).min(owner);
        }
        if let Some((top, _)) = rel.split_once('/')
            && !Path::new(top)
                .extension()
                .is_some_and(|e| e == "dist-info" || e == "egg-info" || e == "data")
            && top != "__pycache__"
            && top != ".."
        {
            tops.insert(top);
        }
    }
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut visited = 0;
    for top in &tops {
        let mut stack = vec![((*top).to_owned(), 1)];
        while let Some((rel, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(sp.join(&rel)) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                visited += 1;
                if visited > MAX_WALK_ENTRIES {
                    warnings.push(format!(
                        "{}: stopped looking for unlisted files after {MAX_WALK_ENTRIES} entries",
                        sp.display()
                    ));
                    return (out, warnings);
                }
                let child = format!("{rel}/{}", entry.file_name().to_string_lossy());
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if depth < MAX_WALK_DEPTH {
                        stack.push((child, depth + 1));
                    }
                    continue;
                }
                if listed.contains_key(&child) || python_wrote(&child, listed) {
                    continue;
                }
                let mut dir = rel.as_str();
                let owner = loop {
                    if let Some(&o) = folders.get(dir) {
                        break Some(o);
                    }
                    match dir.rsplit_once('/') {
                        Some((parent, _)) => dir = parent,
                        None => break None,
                    }
                };
                if let Some(owner) = owner {
                    out.push((child, owner));
                }
            }
        }
    }
    out.sort();
    (out, warnings)
}

/// `pkg/__pycache__/mod.cpython-313.pyc` (or `.opt-1.pyc`) of a listed `pkg/mod.py`: Python
/// writes these at import, so a `RECORD` need not list them.
fn python_wrote(rel: &str, listed: &HashMap<String, usize>) -> bool {
    let Some((dir, file)) = rel.rsplit_once("/__pycache__/") else {
        return false;
    };
    let Some(stem) = file.strip_suffix(".pyc") else {
        return false;
    };
    let module = stem.split('.').next().unwrap_or(stem);
    listed.contains_key(&format!("{dir}/{module}.py"))
}

#[cfg(test)]
mod tests;
