//! Dependency files: what a Python project says it depends on, in every format the ecosystem writes.
//!
//! `requirements.txt` (with `-r`/`-c` includes), `pyproject.toml` (PEP 621, PEP 735 and Poetry's
//! tables), `uv.lock`, `poetry.lock`, `Pipfile.lock` and `pylock.toml` (PEP 751) all become one list of
//! [`Dependency`] values, each carrying the file and line it came from.
//!
//! No I/O happens here: files are read through a [`FileSource`] the caller hands in, so includes can be
//! followed on disk, in an archive or in a test's in-memory map alike.
#![deny(missing_docs)]

mod pep508;
mod pipfile_lock;
mod poetry_lock;
mod pylock;
mod pyproject;
mod requirements_rewrite;
mod requirements_txt;
mod toml_doc;
mod uv_lock;

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use picket_formats::ProjectName;

pub use requirements_rewrite::{PinUpdate, rewrite_requirements};
use serde::Serialize;

/// The formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    /// pip's requirements format.
    Requirements,
    /// `pyproject.toml`.
    Pyproject,
    /// uv's lock file.
    UvLock,
    /// Poetry's lock file.
    PoetryLock,
    /// Pipenv's lock file.
    PipfileLock,
    /// PEP 751 lock file.
    Pylock,
    /// An installed environment's `site-packages` folder: its distributions, read by
    /// `picket-env`, never by [`parse_file`].
    Installed,
}

impl FileFormat {
    /// Recognizes a dependency file by its name, the way the tools that write it name it.
    pub fn detect(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let lower = name.to_ascii_lowercase();
        Some(match name {
            "pyproject.toml" => Self::Pyproject,
            "uv.lock" => Self::UvLock,
            "poetry.lock" => Self::PoetryLock,
            "Pipfile.lock" => Self::PipfileLock,
            "pylock.toml" => Self::Pylock,
            _ if lower.starts_with("pylock.")
                && Path::new(&lower).extension().is_some_and(|e| e == "toml") =>
            {
                Self::Pylock
            }
            _ if Path::new(&lower)
                .extension()
                .is_some_and(|e| e == "txt" || e == "in") =>
            {
                Self::Requirements
            }
            // Rye's `requirements.lock` / `requirements-dev.lock`: pinned requirements.
            _ if lower.starts_with("requirements")
                && Path::new(&lower).extension().is_some_and(|e| e == "lock") =>
            {
                Self::Requirements
            }
            _ => return None,
        })
    }

    /// Recognizes a dependency file by its content, for a file whose name says nothing (one named
    /// on the command line): a TOML or JSON document by the keys each format must have, else
    /// pip's requirements format when the text reads as requirements with at least one
    /// dependency. `None` for anything else.
    pub fn sniff(path: &Path, text: &str) -> Option<Self> {
        let text = text.trim_start_matches('\u{feff}');
        if let Ok(doc) = text.parse::<toml::Table>() {
            let has = |key: &str| doc.contains_key(key);
            return if has("lock-version") && has("packages") {
                Some(Self::Pylock)
            } else if doc
                .get("metadata")
                .and_then(toml::Value::as_table)
                .is_some_and(|m| m.contains_key("content-hash"))
                && has("package")
            {
                Some(Self::PoetryLock)
            } else if has("version") && has("package") {
                Some(Self::UvLock)
            } else if has("project") || has("build-system") || has("tool") {
                Some(Self::Pyproject)
            } else {
                None
            };
        }
        if let Ok(serde_json::Value::Object(doc)) = serde_json::from_str::<serde_json::Value>(text)
        {
            return (doc.contains_key("_meta") && doc.contains_key("default"))
                .then_some(Self::PipfileLock);
        }
        // Includes (`-r other.txt`) can't be followed from here: the text alone is judged.
        let one = BTreeMap::from([(path.to_owned(), text.as_bytes().to_vec())]);
        requirements_txt::parse(path, &one)
            .ok()
            .filter(|f| !f.dependencies.is_empty())
            .map(|_| Self::Requirements)
    }
}

/// Where a dependency was declared.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Location {
    /// The file, as the caller named it (includes are joined to their parent's folder).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

/// One named dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The project name.
    pub name: ProjectName,
    /// The version constraint as written (PEP 440, or Poetry's syntax in Poetry tables), if any.
    pub specifier: Option<String>,
    /// The exact version when the dependency is pinned (`==X` without a wildcard, `===X`, or locked).
    pub pinned: Option<String>,
    /// Requested extras.
    pub extras: Vec<String>,
    /// The PEP 508 environment marker, if any.
    pub marker: Option<String>,
    /// Hashes as `algorithm:hex`, in file order.
    pub hashes: Vec<String>,
    /// A direct URL, VCS reference or path, if the dependency comes from one.
    pub url: Option<String>,
    /// Installed in editable mode (`-e`).
    pub editable: bool,
    /// Only constrains versions (from a `-c` file); not installed by itself.
    pub constraint: bool,
    /// The group it belongs to: `optional:NAME`, `group:NAME`, `dev`, … `None` for main dependencies.
    pub group: Option<String>,
    /// For lock files that record it: whether the project depends on it directly.
    pub direct: Option<bool>,
    /// For lock files that record it: the normalized names this package depends on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// Where it was declared.
    pub source: Location,
}

impl Dependency {
    /// A dependency with nothing but its name and place.
    pub fn new(name: ProjectName, source: Location) -> Self {
        Self {
            name,
            specifier: None,
            pinned: None,
            extras: Vec::new(),
            marker: None,
            hashes: Vec::new(),
            url: None,
            editable: false,
            constraint: false,
            group: None,
            direct: None,
            requires: Vec::new(),
            source,
        }
    }
}

/// A requirement with no project name: a bare path or URL (`./pkg`, `https://…/x.zip`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnnamedRequirement {
    /// The path or URL.
    pub location: String,
    /// Installed in editable mode.
    pub editable: bool,
    /// Hashes, `algorithm:hex`.
    pub hashes: Vec<String>,
    /// Where it was declared.
    pub source: Location,
}

/// Everything read from one dependency file and the files it includes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyFile {
    /// The top-level file.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// Named dependencies, in file order (includes expanded where they stand).
    pub dependencies: Vec<Dependency>,
    /// Requirements without a name.
    pub unnamed: Vec<UnnamedRequirement>,
    /// `--index-url` values, in order (the last one wins for pip).
    pub index_urls: Vec<String>,
    /// `--extra-index-url` values.
    pub extra_index_urls: Vec<String>,
    /// `--require-hashes` was given.
    pub require_hashes: bool,
    /// Every file read, the top-level one first.
    pub files_read: Vec<PathBuf>,
}

impl DependencyFile {
    fn empty(path: &Path, format: FileFormat) -> Self {
        Self {
            path: path.to_owned(),
            format,
            dependencies: Vec::new(),
            unnamed: Vec::new(),
            index_urls: Vec::new(),
            extra_index_urls: Vec::new(),
            require_hashes: false,
            files_read: vec![path.to_owned()],
        }
    }
}

/// Why a dependency file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepsError {
    /// The file could not be read.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// Neither the name nor the content says which format the file is in.
    #[error(
        "{}: not a known dependency file, by name or by content (expected requirements*.txt, requirements*.lock, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock or pylock.toml)",
        .0.display()
    )]
    UnknownFormat(PathBuf),
    /// Content that is not valid in its format, at a line.
    #[error("{}:{line}: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// `-r`/`-c` includes that form a cycle.
    #[error("requirement files include each other in a cycle: {}", render_chain(.0))]
    IncludeCycle(Vec<PathBuf>),
    /// Includes nested deeper than [`MAX_INCLUDE_DEPTH`].
    #[error("{}: includes are nested more than {MAX_INCLUDE_DEPTH} deep", .0.display())]
    IncludeTooDeep(PathBuf),
}

fn render_chain(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// How deep `-r`/`-c` includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Where dependency files are read from.
pub trait FileSource {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// Reads files from the local file system, refusing any file larger than `max_bytes`.
#[derive(Debug, Clone, Copy)]
pub struct FsSource {
    /// The largest file read.
    pub max_bytes: u64,
}

impl Default for FsSource {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
        }
    }
}

impl FileSource for FsSource {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let file = std::fs::File::open(path)?;
        let mut bytes = Vec::new();
        file.take(self.max_bytes + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(io::Error::other(format!(
                "file is larger than the limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(bytes)
    }
}

/// Files held in memory, for tests and for archives.
impl FileSource for BTreeMap<PathBuf, Vec<u8>> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

/// Reads one dependency file in the format its name says, else the one its content shows
/// ([`FileFormat::sniff`]).
pub fn parse_file(path: &Path, source: &dyn FileSource) -> Result<DependencyFile, DepsError> {
    let format = match FileFormat::detect(path) {
        Some(format) => format,
        None => FileFormat::sniff(path, &read_text(path, source)?)
            .ok_or_else(|| DepsError::UnknownFormat(path.into()))?,
    };
    parse_as(path, format, source)
}

/// Reads one dependency file in the given format.
pub fn parse_as(
    path: &Path,
    format: FileFormat,
    source: &dyn FileSource,
) -> Result<DependencyFile, DepsError> {
    if format == FileFormat::Requirements {
        return requirements_txt::parse(path, source);
    }
    let text = read_text(path, source)?;
    let mut out = DependencyFile::empty(path, format);
    match format {
        FileFormat::Requirements => unreachable!("handled above"),
        FileFormat::Pyproject => pyproject::parse(path, &text, &mut out)?,
        FileFormat::UvLock => uv_lock::parse(path, &text, &mut out)?,
        FileFormat::PoetryLock => poetry_lock::parse(path, &text, &mut out)?,
        FileFormat::PipfileLock => pipfile_lock::parse(path, &text, &mut out)?,
        FileFormat::Pylock => pylock::parse(path, &text, &mut out)?,
        FileFormat::Installed => return Err(DepsError::UnknownFormat(path.to_owned())),
    }
    Ok(out)
}

fn read_text(path: &Path, source: &dyn FileSource) -> Result<String, DepsError> {
    let bytes = source.read(path).map_err(|e| DepsError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        DepsError::Syntax {
            file: path.to_owned(),
            line: e.as_bytes()[..offset].split(|&b| b == b'\n').count(),
            message: "not valid UTF-8".to_owned(),
        }
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Joins `relative` to `base`'s folder and folds `.` and `..` without touching the file system.
fn join_lexically(base: &Path, relative: &Path) -> PathBuf {
    let joined = base.parent().unwrap_or(Path::new("")).join(relative);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn line_at(text: &str, offset: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..offset.min(text.len())]).count() + 1
}

fn syntax(file: &Path, line: usize, message: impl Into<String>) -> DepsError {
    DepsError::Syntax {
        file: file.to_owned(),
        line,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_name() {
        for (name, format) in [
            ("requirements.txt", Some(FileFormat::Requirements)),
            ("requirements-dev.in", Some(FileFormat::Requirements)),
            ("sub/pyproject.toml", Some(FileFormat::Pyproject)),
            ("uv.lock", Some(FileFormat::UvLock)),
            ("poetry.lock", Some(FileFormat::PoetryLock)),
            ("Pipfile.lock", Some(FileFormat::PipfileLock)),
            ("pylock.toml", Some(FileFormat::Pylock)),
            ("pylock.dev.toml", Some(FileFormat::Pylock)),
            ("requirements.lock", Some(FileFormat::Requirements)),
            ("requirements-dev.lock", Some(FileFormat::Requirements)),
            ("setup.py", None),
            ("deps.lock", None),
        ] {
            assert_eq!(FileFormat::detect(Path::new(name)), format, "{name}");
        }
    }

    #[test]
    fn recognizes_formats_by_content() {
        let sniff = |text: &str| FileFormat::sniff(Path::new("deps.pinned"), text);
        assert_eq!(
            sniff("# pinned\nrequests==2.31.0\nurllib3==2.0.7 ; python_version >= '3.8'\n"),
            Some(FileFormat::Requirements)
        );
        assert_eq!(
            sniff("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n"),
            Some(FileFormat::Pylock)
        );
        assert_eq!(
            sniff("version = 1\n[[package]]\nname = \"a\"\nversion = \"1\"\n"),
            Some(FileFormat::UvLock)
        );
        assert_eq!(
            sniff("[[package]]\nname = \"a\"\n[metadata]\ncontent-hash = \"x\"\n"),
            Some(FileFormat::PoetryLock)
        );
        assert_eq!(
            sniff("[project]\nname = \"a\"\n"),
            Some(FileFormat::Pyproject)
        );
        assert_eq!(
            sniff("{\"_meta\": {}, \"default\": {}}"),
            Some(FileFormat::PipfileLock)
        );
        for other in [
            "",
            "# only a comment\n",
            "title = \"a config\"\n",
            "{\"a\": 1}",
            "hello world, this is prose!\n",
        ] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn joins_include_paths_lexically() {
        assert_eq!(
            join_lexically(Path::new("a/b/req.txt"), Path::new("../c/./d.txt")),
            PathBuf::from("a/c/d.txt")
        );
        assert_eq!(
            join_lexically(Path::new("req.txt"), Path::new("../x.txt")),
            PathBuf::from("../x.txt")
        );
    }
}
