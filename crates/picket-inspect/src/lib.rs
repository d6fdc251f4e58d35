//! Safe inspection of untrusted wheels and sdists.
//!
//! [`inspect_bytes`] opens an archive held in memory and returns an [`Inventory`]: every entry with
//! its size, the core metadata and entry points it carries, content measures (Python files and lines,
//! native binaries, `.pth` files, install-time hooks) and an emptiness verdict.
//!
//! Nothing is ever written to disk and no link is ever followed. Every read is bounded by
//! [`Limits`]; sizes are counted from the bytes actually decompressed, never taken from headers.
//! Every malformed or hostile input ends in an [`InspectError`] whose message is one line.
#![deny(missing_docs)]

mod collector;
mod error;
mod limits;
mod native;
mod paths;
pub mod python_lines;
mod tar_archive;
mod zip_archive;

use std::io::Read;
use std::path::Path;

use picket_formats::{CoreMetadata, EntryPoint};
use serde::Serialize;

pub use error::InspectError;
pub use limits::Limits;

/// What kind of distribution an archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistKind {
    /// A wheel (`.whl`, a zip).
    Wheel,
    /// A source distribution.
    Sdist,
}

/// How the archive is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    /// Zip (wheels, legacy sdists).
    Zip,
    /// Gzip-compressed tar.
    TarGz,
    /// Plain tar.
    Tar,
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link to `target` (inside the archive; escaping links are errors).
    Symlink {
        /// The link's target.
        target: String,
    },
    /// A hard link to another entry.
    Hardlink {
        /// The entry it links to.
        target: String,
    },
}

/// One archive entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The path inside the archive, `/`-separated.
    pub path: String,
    /// Uncompressed bytes actually read.
    pub size: u64,
    /// What it is.
    #[serde(flatten)]
    pub kind: EntryKind,
}

/// Content measures of an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Measures {
    /// `.py` files.
    pub python_files: u64,
    /// Non-blank, non-comment Python lines.
    pub code_lines: u64,
    /// Python lines that do something (see [`python_lines::PythonLines::substantive`]).
    pub substantive_lines: u64,
    /// Files whose first bytes are an ELF, PE or Mach-O header, with the format.
    pub native_binaries: Vec<NativeBinary>,
    /// `.pth` files, which run code at every interpreter start when installed.
    pub pth_files: Vec<String>,
    /// Code that runs at install or build time: `setup.py` of an sdist, an in-tree build backend.
    pub install_hooks: Vec<String>,
    /// Scripts a wheel installs from its `.data/scripts` folder.
    pub data_scripts: Vec<String>,
    /// An sdist's sources in compiled languages (C, C++, Rust, Cython, Fortran) with at least one
    /// line of code: what its extension modules are built from.
    pub native_sources: Vec<String>,
    /// Their lines of code (not blank, not only a comment or a brace).
    pub native_source_lines: u64,
    /// A digest of the Python files that do something, their contents only (not their paths or
    /// order): the same code under another project's name has the same digest. `None` without
    /// such files. The campaign detector ties new publishers by it.
    pub code_digest: Option<String>,
}

/// A native executable or library found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NativeBinary {
    /// The entry.
    pub path: String,
    /// `ELF`, `PE` or `Mach-O`.
    pub format: &'static str,
}

/// Whether the archive holds any code at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Emptiness {
    /// No code beyond empty or boilerplate Python files.
    pub empty: bool,
    /// One sentence saying why.
    pub reason: String,
}

/// Everything an inspection found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// The archive's filename.
    pub filename: String,
    /// Wheel or sdist.
    pub kind: DistKind,
    /// How it is packed.
    pub format: ArchiveFormat,
    /// The archive's size in bytes.
    pub archive_size: u64,
    /// Sum of the uncompressed sizes of all entries.
    pub uncompressed_size: u64,
    /// The project name, from the metadata (else the filename).
    pub name: Option<String>,
    /// The version, from the metadata (else the filename).
    pub version: Option<String>,
    /// The entries, in archive order.
    pub entries: Vec<Entry>,
    /// The core metadata (`METADATA` of a wheel, `PKG-INFO` of an sdist), if present.
    pub metadata: Option<CoreMetadata>,
    /// The metadata file it came from.
    pub metadata_path: Option<String>,
    /// That file's bytes exactly as stored (what PEP 658 serves as `.metadata`).
    #[serde(skip)]
    pub metadata_bytes: Option<Vec<u8>>,
    /// All entry points (from `entry_points.txt`, or an sdist's `[project.scripts]`).
    pub entry_points: Vec<EntryPoint>,
    /// Content measures.
    pub measures: Measures,
    /// The emptiness verdict.
    pub emptiness: Emptiness,
}

impl Inventory {
    /// The commands this distribution installs: its console and GUI scripts.
    pub fn console_scripts(&self) -> impl Iterator<Item = &str> {
        self.entry_points
            .iter()
            .filter(|e| e.is_script())
            .map(|e| e.name.as_str())
    }
}

fn detect_format(filename: &str) -> Result<(DistKind, ArchiveFormat), InspectError> {
    let lower = filename.to_ascii_lowercase();
    let has = |ext: &str| lower.ends_with(ext);
    Ok(if has(".whl") {
        (DistKind::Wheel, ArchiveFormat::Zip)
    } else if has(".tar.gz") || has(".tgz") {
        (DistKind::Sdist, ArchiveFormat::TarGz)
    } else if has(".zip") {
        (DistKind::Sdist, ArchiveFormat::Zip)
    } else if has(".tar") {
        (DistKind::Sdist, ArchiveFormat::Tar)
    } else if has(".tar.bz2") || has(".tar.xz") {
        return Err(InspectError::UnsupportedFormat(filename.to_owned()));
    } else {
        return Err(InspectError::UnknownKind(filename.to_owned()));
    })
}

/// Inspects an archive held in memory; `filename` says what kind it is.
pub fn inspect_bytes(
    filename: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Inventory, InspectError> {
    let (kind, format) = detect_format(filename)?;
    let size = bytes.len() as u64;
    if size > limits.max_archive_bytes {
        return Err(InspectError::ArchiveTooLarge {
            size,
            limit: limits.max_archive_bytes,
        });
    }
    let mut collector = collector::Collector::new(kind, size, limits);
    match format {
        ArchiveFormat::Zip => zip_archive::walk(bytes, &mut collector)?,
        ArchiveFormat::TarGz => tar_archive::walk_gz(bytes, &mut collector)?,
        ArchiveFormat::Tar => tar_archive::walk(bytes, &mut collector)?,
    }
    collector.finish(filename, format)
}

/// Reads an archive from disk (refusing files over the size limit) and inspects it.
pub fn inspect_path(path: &Path, limits: &Limits) -> Result<Inventory, InspectError> {
    let io_error = |e: std::io::Error| InspectError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let filename = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    detect_format(&filename)?;
    let file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    if size > limits.max_archive_bytes {
        return Err(InspectError::ArchiveTooLarge {
            size,
            limit: limits.max_archive_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limits.max_archive_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    inspect_bytes(&filename, &bytes, limits)
}
