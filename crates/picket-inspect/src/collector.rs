//! The one place where entries are checked, counted, measured and kept; both archive walkers feed it.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Read};

use picket_formats::{CoreMetadata, DistFilename, EntryPoint, EntryPoints};

use crate::native::native_format;
use crate::paths::{check_entry_path, parent, stays_inside};
use crate::python_lines::{self, PythonLines};
use crate::{
    ArchiveFormat, DistKind, Emptiness, Entry, EntryKind, InspectError, Inventory, Limits,
    Measures, NativeBinary,
};

/// Metadata files are kept in memory for parsing; each is capped at this size.
const MAX_KEPT_FILE: u64 = 16 << 20;
/// And an archive with more of them than this is refused (a real one has two or three).
const MAX_KEPT_FILES: usize = 64;
/// Bytes of each file kept to recognize native binaries.
const HEAD_LEN: usize = 1024;
/// Extensions of source files in the compiled languages Python extension modules are written in.
const NATIVE_SOURCE_EXTENSIONS: [&str; 12] = [
    "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "rs", "pyx", "pxd", "f90", "f",
];
/// sdist files that build the package rather than being part of it.
const BUILD_FILES: [&str; 4] = ["setup.py", "conftest.py", "noxfile.py", "docs/conf.py"];

pub(crate) struct Collector<'l> {
    kind: DistKind,
    archive_size: u64,
    limits: &'l Limits,
    entries: Vec<Entry>,
    seen: HashSet<String>,
    total: u64,
    measures: Measures,
    python: Vec<(String, PythonLines)>,
    /// A hash of each Python file that does something, for [`Measures::code_digest`].
    code_hashes: Vec<u64>,
    kept: Vec<(String, Vec<u8>)>,
}

/// Checks everything a stream format has decompressed so far — entry data, headers, padding —
/// against the total and ratio limits, so a stream of nothing but headers is bounded too.
pub(crate) fn check_stream(
    limits: &Limits,
    archive_size: u64,
    decompressed: u64,
) -> Result<(), InspectError> {
    if decompressed > limits.max_total_uncompressed {
        return Err(InspectError::TotalTooLarge {
            limit: limits.max_total_uncompressed,
        });
    }
    let ratio = decompressed / archive_size.max(1);
    if decompressed > limits.ratio_floor && ratio > limits.max_ratio {
        return Err(InspectError::CompressionRatio {
            path: "(archive)".to_owned(),
            ratio,
            uncompressed: decompressed,
            compressed: archive_size,
            limit: limits.max_ratio,
        });
    }
    Ok(())
}

fn has_extension(path: &str, extension: &str) -> bool {
    std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(extension))
}

/// Lines of a C-family, Rust, Cython or Fortran source that hold code: not blank, not a comment
/// line (`//`, `/*`, `*`, `#`, `!`) and not a lone brace. Bytes that aren't UTF-8 count as code.
fn native_code_lines(content: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(content);
    let count = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !["//", "/*", "*", "#", "!"].iter().any(|c| l.starts_with(c)))
        .filter(|l| !matches!(*l, "{" | "}" | "};" | "(" | ")" | ");"))
        .count();
    count as u64
}

fn depth(path: &str) -> usize {
    path.split('/').count()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl<'l> Collector<'l> {
    pub(crate) fn new(kind: DistKind, archive_size: u64, limits: &'l Limits) -> Self {
        Self {
            kind,
            archive_size,
            limits,
            entries: Vec::new(),
            seen: HashSet::new(),
            total: 0,
            measures: Measures::default(),
            python: Vec::new(),
            code_hashes: Vec::new(),
            kept: Vec::new(),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        self.limits
    }

    /// Called for every entry before anything else, so a flood of entries stops at the limit.
    pub(crate) fn check_count(&self, count: usize) -> Result<(), InspectError> {
        if count > self.limits.max_entries {
            return Err(InspectError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    fn path(&mut self, raw: &str, unique: bool) -> Result<String, InspectError> {
        self.check_count(self.entries.len() + 1)?;
        let path = check_entry_path(raw, self.limits)?;
        if unique && !self.seen.insert(path.clone()) {
            return Err(InspectError::DuplicateEntry(path));
        }
        Ok(path)
    }

    pub(crate) fn add_dir(&mut self, raw: &str) -> Result<(), InspectError> {
        let path = self.path(raw, false)?;
        self.entries.push(Entry {
            path,
            size: 0,
            kind: EntryKind::Dir,
        });
        Ok(())
    }

    pub(crate) fn add_link(
        &mut self,
        raw: &str,
        target: &str,
        hard: bool,
    ) -> Result<(), InspectError> {
        let path = self.path(raw, true)?;
        // A symlink resolves from its own folder, a hard link from the archive root.
        let base = if hard { "" } else { parent(&path) };
        if !stays_inside(base, target) {
            return Err(InspectError::LinkEscapes {
                kind: if hard { "hard link" } else { "symlink" },
                path,
                target: target.to_owned(),
            });
        }
        let target = target.to_owned();
        self.entries.push(Entry {
            path,
            size: 0,
            kind: if hard {
                EntryKind::Hardlink { target }
            } else {
                EntryKind::Symlink { target }
            },
        });
        Ok(())
    }

    pub(crate) fn special(raw: &str, kind: &str) -> InspectError {
        InspectError::SpecialFile {
            path: raw.to_owned(),
            kind: kind.to_owned(),
        }
    }

    /// The files parsed after the walk, and only those: a wheel's `NAME.dist-info/METADATA` and
    /// `entry_points.txt`; an sdist's `ROOT/PKG-INFO`, `ROOT/pyproject.toml` and
    /// `*.egg-info/entry_points.txt`. Anything looser would let decoys crowd out the real ones.
    fn wants_kept(kind: DistKind, path: &str) -> bool {
        let parent_dir = file_name(parent(path));
        match (kind, file_name(path), depth(path)) {
            (DistKind::Wheel, "METADATA" | "entry_points.txt", 2) => {
                has_extension(parent_dir, "dist-info")
            }
            (DistKind::Sdist, "PKG-INFO" | "pyproject.toml", 2) => true,
            (DistKind::Sdist, "entry_points.txt", 3 | 4) => has_extension(parent_dir, "egg-info"),
            _ => false,
        }
    }

    /// Reads a regular file to its end, counting real bytes against every limit.
    /// `compressed` is the entry's stored size where the format gives one (zip).
    pub(crate) fn add_file(
        &mut self,
        raw: &str,
        reader: &mut dyn Read,
        compressed: Option<u64>,
        read_error: &dyn Fn(&str, io::Error) -> InspectError,
    ) -> Result<(), InspectError> {
        let path = self.path(raw, true)?;
        let is_python = has_extension(&path, "py");
        let is_native_source = self.kind == DistKind::Sdist
            && NATIVE_SOURCE_EXTENSIONS
                .iter()
                .any(|ext| has_extension(&path, ext));
        let keep = Self::wants_kept(self.kind, &path);
        if keep && self.kept.len() >= MAX_KEPT_FILES {
            return Err(InspectError::TooManyMetadataFiles {
                limit: MAX_KEPT_FILES,
            });
        }
        let mut content = Vec::new();
        let mut head = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(&path, e)),
            };
            size += n as u64;
            self.total += n as u64;
            if size > self.limits.max_entry_bytes || (keep && size > MAX_KEPT_FILE) {
                let limit = if keep {
                    MAX_KEPT_FILE
                } else {
                    self.limits.max_entry_bytes
                };
                return Err(InspectError::EntryTooLarge { path, limit });
            }
            if self.total > self.limits.max_total_uncompressed {
                return Err(InspectError::TotalTooLarge {
                    limit: self.limits.max_total_uncompressed,
                });
            }
            if let Some(compressed) = compressed {
                let ratio = size / compressed.max(1);
                if size > self.limits.ratio_floor && ratio > self.limits.max_ratio {
                    return Err(InspectError::CompressionRatio {
                        path,
                        ratio,
                        uncompressed: size,
                        compressed,
                        limit: self.limits.max_ratio,
                    });
                }
            }
            let chunk = &buf[..n];
            if head.len() < HEAD_LEN {
                let take = (HEAD_LEN - head.len()).min(n);
                head.extend_from_slice(&chunk[..take]);
            }
            if is_python || is_native_source || keep {
                content.extend_from_slice(chunk);
            }
        }

        if let Some(format) = native_format(&head) {
            self.measures.native_binaries.push(NativeBinary {
                path: path.clone(),
                format,
            });
        }
        if is_python {
            let lines = python_lines::count(&content);
            if lines.substantive > 0 {
                self.code_hashes
                    .push(fnv1a(0xcbf2_9ce4_8422_2325, &content));
            }
            self.measures.python_files += 1;
            self.measures.code_lines += lines.code;
            self.python.push((path.clone(), lines));
        }
        if is_native_source {
            let lines = native_code_lines(&content);
            if lines > 0 {
                self.measures.native_sources.push(path.clone());
                self.measures.native_source_lines += lines;
            }
        }
        if has_extension(&path, "pth") {
            self.measures.pth_files.push(path.clone());
        }
        if self.kind == DistKind::Wheel
            && path
                .split('/')
                .next()
                .is_some_and(|top| has_extension(top, "data"))
            && path.split('/').nth(1) == Some("scripts")
        {
            self.measures.data_scripts.push(path.clone());
        }
        if keep {
            self.kept.push((path.clone(), content));
        }
        self.entries.push(Entry {
            path,
            size,
            kind: EntryKind::File,
        });
        Ok(())
    }

    pub(crate) fn archive_size(&self) -> u64 {
        self.archive_size
    }

    fn kept(&self, path: &str) -> Option<&[u8]> {
        self.kept
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.as_slice())
    }

    fn parse_metadata(&self, path: &str) -> Result<Option<CoreMetadata>, InspectError> {
        self.kept(path)
            .map(|bytes| {
                CoreMetadata::parse(bytes).map_err(|source| InspectError::Metadata {
                    path: path.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    fn parse_entry_points(&self, path: &str) -> Result<Vec<EntryPoint>, InspectError> {
        match self.kept(path) {
            Some(bytes) => EntryPoints::parse(bytes)
                .map(|e| e.entries)
                .map_err(|source| InspectError::EntryPoints {
                    path: path.to_owned(),
                    source,
                }),
            None => Ok(Vec::new()),
        }
    }

    /// The wheel's one `.dist-info` folder.
    fn dist_info(&self) -> Result<String, InspectError> {
        let mut dirs: Vec<&str> = self
            .entries
            .iter()
            .filter_map(|e| e.path.split('/').next())
            .filter(|top| top.ends_with(".dist-info"))
            .collect();
        dirs.sort_unstable();
        dirs.dedup();
        match dirs.as_slice() {
            [] => Err(InspectError::NoWheelMetadata),
            [one] => Ok((*one).to_owned()),
            many => Err(InspectError::SeveralDistInfo(many.len())),
        }
    }

    /// `[project.scripts]`, `[project.gui-scripts]` and `[project.entry-points.*]` of an sdist's
    /// `pyproject.toml`; also notes an in-tree build backend as an install-time hook.
    fn pyproject(&mut self, root: &str) -> Result<Vec<EntryPoint>, InspectError> {
        let path = if root.is_empty() {
            "pyproject.toml".to_owned()
        } else {
            format!("{root}/pyproject.toml")
        };
        let Some(bytes) = self.kept(&path) else {
            return Ok(Vec::new());
        };
        let invalid = |message: String| InspectError::Pyproject {
            path: path.clone(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("not valid UTF-8".into()))?;
        let doc: toml::Table = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        if doc
            .get("build-system")
            .and_then(|b| b.get("backend-path"))
            .is_some()
        {
            self.measures
                .install_hooks
                .push(format!("{path} (in-tree build backend)"));
        }
        let Some(project) = doc.get("project").and_then(toml::Value::as_table) else {
            return Ok(Vec::new());
        };
        let mut groups: Vec<(String, &toml::Table)> = Vec::new();
        for (key, group) in [
            ("scripts", "console_scripts"),
            ("gui-scripts", "gui_scripts"),
        ] {
            if let Some(table) = project.get(key).and_then(toml::Value::as_table) {
                groups.push((group.to_owned(), table));
            }
        }
        if let Some(eps) = project.get("entry-points").and_then(toml::Value::as_table) {
            for (group, table) in eps {
                if let Some(table) = table.as_table() {
                    groups.push((group.clone(), table));
                }
            }
        }
        let mut synthetic = String::new();
        for (group, table) in groups {
            let _ = writeln!(synthetic, "[{group}]");
            for (name, value) in table {
                if let Some(value) = value.as_str() {
                    let _ = writeln!(synthetic, "{name} = {value}");
                }
            }
        }
        EntryPoints::parse(synthetic.as_bytes())
            .map(|e| e.entries)
            .map_err(|e| invalid(e.to_string()))
    }

    pub(crate) fn finish(
        mut self,
        filename: &str,
        format: ArchiveFormat,
    ) -> Result<Inventory, InspectError> {
        let (metadata_path, entry_points) = match self.kind {
            DistKind::Wheel => {
                let dist_info = self.dist_info()?;
                let metadata_path = format!("{dist_info}/METADATA");
                if self.kept(&metadata_path).is_none() {
                    return Err(InspectError::NoWheelMetadata);
                }
                let eps = self.parse_entry_points(&format!("{dist_info}/entry_points.txt"))?;
                (Some(metadata_path), eps)
            }
            DistKind::Sdist => {
                let root = self
                    .entries
                    .first()
                    .and_then(|e| e.path.split('/').next())
                    .unwrap_or_default()
                    .to_owned();
                let pkg_info = format!("{root}/PKG-INFO");
                let metadata_path = self.kept(&pkg_info).map(|_| pkg_info);
                let egg_info_eps =
                    self.kept.iter().map(|(p, _)| p.clone()).find(|p| {
                        p.starts_with(&root) && p.ends_with(".egg-info/entry_points.txt")
                    });
                let mut eps = match egg_info_eps {
                    Some(path) => self.parse_entry_points(&path)?,
                    None => Vec::new(),
                };
                let from_pyproject = self.pyproject(&root)?;
                if eps.is_empty() {
                    eps = from_pyproject;
                }
                let setup_py = format!("{root}/setup.py");
                if self.seen.contains(&setup_py) {
                    self.measures.install_hooks.insert(0, setup_py);
                }
                (metadata_path, eps)
            }
        };
        let metadata = match &metadata_path {
            Some(path) => self.parse_metadata(path)?,
            None => None,
        };

        let parsed_name = filename.parse::<DistFilename>().ok();
        let name = metadata
            .as_ref()
            .map(|m| m.name.clone())
            .or_else(|| parsed_name.as_ref().map(|f| f.name().to_string()));
        let version = metadata
            .as_ref()
            .map(|m| m.version.clone())
            .or_else(|| parsed_name.as_ref().map(|f| f.version().to_string()));

        let metadata_bytes = metadata_path
            .as_deref()
            .and_then(|path| self.kept(path))
            .map(<[u8]>::to_vec);
        self.measures.substantive_lines = self.substantive_lines();
        self.measures.code_digest = (!self.code_hashes.is_empty()).then(|| {
            // Paths left out (a payload moves with the project's name), order too.
            self.code_hashes.sort_unstable();
            let digest = self
                .code_hashes
                .iter()
                .fold(0xcbf2_9ce4_8422_2325, |h, c| fnv1a(h, &c.to_le_bytes()));
            format!("{digest:016x}")
        });
        let emptiness = self.emptiness();
        Ok(Inventory {
            filename: filename.to_owned(),
            kind: self.kind,
            format,
            archive_size: self.archive_size,
            uncompressed_size: self.total,
            name,
            version,
            entries: self.entries,
            metadata,
            metadata_path,
            metadata_bytes,
            entry_points,
            measures: self.measures,
            emptiness,
        })
    }

    /// Substantive Python lines, leaving out an sdist's build files.
    fn substantive_lines(&self) -> u64 {
        self.python
            .iter()
            .filter(|(path, _)| {
                self.kind == DistKind::Wheel
                    || !BUILD_FILES
                        .iter()
                        .any(|b| path.split_once('/').is_some_and(|(_, rest)| rest == *b))
            })
            .map(|(_, lines)| lines.substantive)
            .sum()
    }

    fn emptiness(&self) -> Emptiness {
        let m = &self.measures;
        let code_files = self
            .python
            .iter()
            .filter(|(_, l)| l.substantive > 0)
            .count();
        if m.substantive_lines > 0 {
            return Emptiness {
                empty: false,
                reason: format!(
                    "{} substantive Python lines in {code_files} of {} Python files",
                    m.substantive_lines, m.python_files
                ),
            };
        }
        let mut other = Vec::new();
        if !m.native_binaries.is_empty() {
            other.push(format!("{} native binaries", m.native_binaries.len()));
        }
        if !m.native_sources.is_empty() {
            other.push(format!(
                "{} lines of native source code (C, C++, Rust, Cython or Fortran) in {} files",
                m.native_source_lines,
                m.native_sources.len()
            ));
        }
        if !m.pth_files.is_empty() {
            other.push(format!("{} .pth files", m.pth_files.len()));
        }
        if !m.data_scripts.is_empty() {
            other.push(format!("{} installed scripts", m.data_scripts.len()));
        }
        if !other.is_empty() {
            return Emptiness {
                empty: false,
                reason: format!("no Python code, but {}", other.join(", ")),
            };
        }
        Emptiness {
            empty: true,
            reason: format!(
                "no code: {} Python files with nothing beyond docstrings, imports and `__dunder__` assignments; no native binaries or sources, .pth files or scripts",
                m.python_files
            ),
        }
    }
}

/// FNV-1a over `bytes`, continuing from `hash`: a grouping key, not a security hash (a collision
/// only puts an attacker's upload beside another's).
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
