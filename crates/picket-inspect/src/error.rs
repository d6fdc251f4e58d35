//! Why an archive could not be inspected.

/// Every way an inspection can fail. Each message is one line that says what was found and the limit
/// or rule it broke.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// Neither a wheel nor a known sdist format.
    #[error("{0}: not a wheel or sdist (expected .whl, .tar.gz, .tgz, .tar or .zip)")]
    UnknownKind(String),
    /// A legacy compression picket does not open.
    #[error("{0}: .tar.bz2 and .tar.xz sdists are not supported; PEP 625 sdists are .tar.gz")]
    UnsupportedFormat(String),
    /// The archive is larger than allowed.
    #[error("archive is {size} bytes; the limit is {limit}")]
    ArchiveTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The zip structure is broken.
    #[error("not a valid zip archive: {0}")]
    Zip(String),
    /// The gzip stream is broken.
    #[error("not a valid gzip stream: {0}")]
    Gzip(String),
    /// The tar structure is broken.
    #[error("not a valid tar archive (entry {index}): {message}")]
    Tar {
        /// 0-based index of the entry where reading failed.
        index: usize,
        /// What the tar reader said.
        message: String,
    },
    /// More entries than allowed.
    #[error("archive has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// One entry expands beyond the limit.
    #[error("entry `{path}` expands to more than {limit} bytes")]
    EntryTooLarge {
        /// The entry.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// All entries together expand beyond the limit.
    #[error("archive expands to more than {limit} bytes in total")]
    TotalTooLarge {
        /// The limit.
        limit: u64,
    },
    /// Compressed far better than real files do: a decompression bomb.
    #[error(
        "`{path}` expands {ratio}x ({uncompressed} bytes from {compressed}); the limit is {limit}x: a decompression bomb"
    )]
    CompressionRatio {
        /// The entry, or the archive for stream formats.
        path: String,
        /// The ratio reached.
        ratio: u64,
        /// Uncompressed bytes read so far.
        uncompressed: u64,
        /// Compressed bytes.
        compressed: u64,
        /// The limit.
        limit: u64,
    },
    /// An entry path longer than allowed.
    #[error("an entry path is {len} bytes long (starts `{prefix}`); the limit is {limit}")]
    PathTooLong {
        /// The first characters of the path.
        prefix: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An entry path nested deeper than allowed.
    #[error("entry `{path}` is nested {depth} levels deep; the limit is {limit}")]
    PathTooDeep {
        /// The entry.
        path: String,
        /// Its depth.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A path that would land outside the extraction folder.
    #[error("entry `{path}` {reason}: unsafe path")]
    UnsafePath {
        /// The entry.
        path: String,
        /// Why (`is absolute`, `climbs out with ..`, …).
        reason: &'static str,
    },
    /// A symbolic or hard link whose target is outside the archive.
    #[error("{kind} `{path}` points outside the archive, to `{target}`")]
    LinkEscapes {
        /// `symlink` or `hard link`.
        kind: &'static str,
        /// The link.
        path: String,
        /// Its target.
        target: String,
    },
    /// A device, FIFO or other special file.
    #[error(
        "entry `{path}` is a special file ({kind}); archives may hold only files, folders and links"
    )]
    SpecialFile {
        /// The entry.
        path: String,
        /// What kind.
        kind: String,
    },
    /// The same path twice, so two tools could read two different files.
    #[error("entry `{0}` appears twice")]
    DuplicateEntry(String),
    /// An encrypted zip entry.
    #[error("entry `{0}` is encrypted")]
    Encrypted(String),
    /// Core metadata that does not parse.
    #[error("{path}: {source}")]
    Metadata {
        /// The metadata file.
        path: String,
        /// The parse error.
        source: picket_formats::MetadataError,
    },
    /// `entry_points.txt` that does not parse.
    #[error("{path}: {source}")]
    EntryPoints {
        /// The file.
        path: String,
        /// The parse error.
        source: picket_formats::EntryPointsError,
    },
    /// An sdist's `pyproject.toml` that is not valid TOML.
    #[error("{path}: invalid TOML: {message}")]
    Pyproject {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// More metadata files than any real distribution has.
    #[error(
        "archive has more than {limit} metadata files (`.dist-info` / `.egg-info`, `PKG-INFO`)"
    )]
    TooManyMetadataFiles {
        /// The limit.
        limit: usize,
    },
    /// A wheel without its metadata.
    #[error("wheel has no `.dist-info/METADATA`")]
    NoWheelMetadata,
    /// A wheel with several `.dist-info` folders.
    #[error("wheel has {0} `.dist-info` folders; it must have exactly one")]
    SeveralDistInfo(usize),
}
