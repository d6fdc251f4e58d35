//! The name index: every known project name of an index, with its popularity rank and the month of
//! its latest release.
//!
//! Stored as an `fst` map from PEP 503 normalized name to a packed value, so the full 886k-name
//! PyPI snapshot is a few MB, loads by reading one file, and answers a lookup in about a microsecond.

use std::io::{BufRead, BufReader, Read};

use fst::{IntoStreamer, Map, MapBuilder, Streamer};
use serde::Serialize;

/// The names compiled into picket: every ranked project of the PyPI snapshot (see
/// `scripts/derive-popular-names.sh`).
#[cfg(test)]
const EMBEDDED: &str = include_str!("../data/popular.tsv");
/// `data/popular.tsv` as [`NameIndex::from_tsv`] builds it, kept in the repository because
/// building it took 130 M instructions at every start of `check` or `scan` (a third of a scan of
/// 300 installed distributions). A test checks that the two agree, and rewrites this file when
/// asked (`scripts/derive-popular-names.sh` does).
const EMBEDDED_FST: &[u8] = include_bytes!("../data/popular.fst");

/// Year and month of a release, e.g. 2026-11.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ReleaseMonth {
    /// The year.
    pub year: u16,
    /// The month, 1–12.
    pub month: u8,
}

impl ReleaseMonth {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        let year: u16 = year.parse().ok()?;
        let month: u8 = month.parse().ok()?;
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Self { year, month })
    }

    /// Months since year 0, for differences.
    pub fn ordinal(self) -> u32 {
        u32::from(self.year) * 12 + u32::from(self.month) - 1
    }

    fn from_ordinal(ordinal: u32) -> Option<Self> {
        let year = u16::try_from(ordinal / 12).ok()?;
        let month = u8::try_from(ordinal % 12 + 1).ok()?;
        Some(Self { year, month })
    }
}

impl std::fmt::Display for ReleaseMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What the index knows of one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NameInfo {
    /// Download rank, 1 = most downloaded; `None` when outside the ranked list.
    pub rank: Option<u32>,
    /// Month of the latest release, if known.
    pub latest_release: Option<ReleaseMonth>,
    /// Whether the latest version is a first number (`0.0.x`, `0.1.x`): a project that never got
    /// past its first releases, which is how name reservations and squats look.
    pub first_versions: bool,
}

/// Whether a version string is a first number: `0.0.x` or `0.1.x` (any suffix).
pub fn is_first_version(version: &str) -> bool {
    let mut parts = version.trim().split('.');
    let major = parts.next().unwrap_or("");
    let minor = parts
        .next()
        .map(|m| m.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""));
    major == "0" && matches!(minor, Some("0" | "1"))
}

impl NameInfo {
    /// Bit 31 of the low word: [`NameInfo::first_versions`] (months need 17 bits).
    const FIRST_VERSIONS: u64 = 1 << 31;

    fn pack(self) -> u64 {
        (u64::from(self.rank.unwrap_or(0)) << 32)
            | u64::from(self.latest_release.map_or(0, |m| m.ordinal() + 1))
            | if self.first_versions {
                Self::FIRST_VERSIONS
            } else {
                0
            }
    }

    fn unpack(value: u64) -> Self {
        let rank = u32::try_from(value >> 32).unwrap_or(0);
        let month = u32::try_from(value & 0x7fff_ffff).unwrap_or(0);
        Self {
            rank: (rank > 0).then_some(rank),
            latest_release: month.checked_sub(1).and_then(ReleaseMonth::from_ordinal),
            first_versions: value & Self::FIRST_VERSIONS != 0,
        }
    }
}

/// Why a name list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// Reading failed.
    #[error("reading the name list: {0}")]
    Io(#[from] std::io::Error),
    /// A line that is not `name<TAB>…` in the snapshot format.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An index file that is not an fst map or fails its checksum.
    #[error("the index file is damaged ({0}); import the snapshot again")]
    Corrupt(String),
    /// No names at all.
    #[error("the name list holds no names")]
    Empty,
}

/// A set of project names with what is known of each.
pub struct NameIndex {
    map: Map<Vec<u8>>,
    /// Found by a scan of every name, so only on first use.
    newest_release: std::sync::OnceLock<Option<ReleaseMonth>>,
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameIndex")
            .field("names", &self.len())
            .finish()
    }
}

/// Which columns a name list has, read from its header.
struct Columns {
    rank: Option<usize>,
    month: Option<usize>,
    version: Option<usize>,
}

impl NameIndex {
    /// The index compiled into picket: the ranked projects of the PyPI snapshot.
    pub fn embedded() -> Self {
        Self::from_bytes(EMBEDDED_FST.to_vec()).expect("the embedded name index is well formed")
    }

    /// Builds an index from a name list: the snapshot format (`name`, `latest_version`,
    /// `latest_release_month`, `download_rank` with a header line), or the embedded format
    /// (`name`, `rank`, `latest_release_month`, `#` comments). Names are normalized; a repeated name
    /// keeps its best rank.
    pub fn from_tsv(reader: impl Read) -> Result<Self, IndexError> {
        let mut entries: Vec<(String, NameInfo)> = Vec::new();
        let mut columns: Option<Columns> = None;
        for (index, line) in BufReader::new(reader).lines().enumerate() {
            let line_no = index + 1;
            let line = line.map_err(|e| IndexError::Line {
                line: line_no,
                message: e.to_string(),
            })?;
            if line.is_empty() {
                continue;
            }
            if let Some(header) = line.strip_prefix("# ").filter(|h| h.starts_with("name\t")) {
                columns = Some(Self::columns(header));
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            if columns.is_none() && line.starts_with("name\t") {
                columns = Some(Self::columns(&line));
                continue;
            }
            // Without a header, the embedded format: name, rank, latest_release_month.
            let cols = columns.get_or_insert(Columns {
                rank: Some(1),
                month: Some(2),
                version: None,
            });
            let fields: Vec<&str> = line.split('\t').collect();
            let name = fields[0].trim();
            if picket_formats::project_name::validate(name).is_err() {
                return Err(IndexError::Line {
                    line: line_no,
                    message: format!("`{}` is not a valid project name", shorten(name)),
                });
            }
            let field = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(|f| f.trim());
            let rank = match field(cols.rank).filter(|r| !r.is_empty()) {
                Some(r) => Some(r.parse::<u32>().ok().filter(|r| *r > 0).ok_or_else(|| {
                    IndexError::Line {
                        line: line_no,
                        message: format!("rank `{}` is not a positive whole number", shorten(r)),
                    }
                })?),
                None => None,
            };
            let latest_release = field(cols.month).and_then(ReleaseMonth::parse);
            let first_versions = field(cols.version).is_some_and(is_first_version);
            entries.push((
                picket_formats::normalize(name),
                NameInfo {
                    rank,
                    latest_release,
                    first_versions,
                },
            ));
        }
        Self::from_entries(entries)
    }

    fn columns(header: &str) -> Columns {
        let names: Vec<&str> = header.split('\t').map(str::trim).collect();
        let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(n));
        Columns {
            rank: find(&["download_rank", "rank"]),
            month: find(&["latest_release_month"]),
            version: find(&["latest_version"]),
        }
    }

    /// Builds an index from `(normalized name, info)` pairs in any order.
    pub fn from_entries(mut entries: Vec<(String, NameInfo)>) -> Result<Self, IndexError> {
        if entries.is_empty() {
            return Err(IndexError::Empty);
        }
        // Sort by name, best rank first, so dedup keeps the best.
        entries.sort_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                a.1.rank
                    .unwrap_or(u32::MAX)
                    .cmp(&b.1.rank.unwrap_or(u32::MAX))
            })
        });
        entries.dedup_by(|later, kept| later.0 == kept.0);
        let mut builder = MapBuilder::memory();
        for (name, info) in &entries {
            builder
                .insert(name, info.pack())
                .map_err(|e| IndexError::Corrupt(e.to_string()))?;
        }
        let bytes = builder
            .into_inner()
            .map_err(|e| IndexError::Corrupt(e.to_string()))?;
        Self::from_bytes(bytes)
    }

    /// Opens an index written by [`NameIndex::as_bytes`], verifying its checksum.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, IndexError> {
        let map = Map::new(bytes).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        map.as_fst()
            .verify()
            .map_err(|e| IndexError::Corrupt(e.to_string()))?;
        Ok(Self {
            map,
            newest_release: std::sync::OnceLock::new(),
        })
    }

    /// The bytes to store the index on disk.
    pub fn as_bytes(&self) -> &[u8] {
        self.map.as_fst().as_bytes()
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no names (never true for a built index).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// What is known of a project, by any spelling of its name.
    pub fn get(&self, name: &str) -> Option<NameInfo> {
        self.map
            .get(picket_formats::normalize(name))
            .map(NameInfo::unpack)
    }

    /// The newest release month in the index: the index's "now", for judging what is new.
    pub fn newest_release(&self) -> Option<ReleaseMonth> {
        *self.newest_release.get_or_init(|| {
            let mut newest = None;
            let mut stream = self.map.stream();
            while let Some((_, value)) = stream.next() {
                newest = newest.max(NameInfo::unpack(value).latest_release);
            }
            newest
        })
    }

    /// Every name with a rank, best first.
    pub fn ranked(&self) -> Vec<(String, u32)> {
        let mut ranked = Vec::new();
        let mut stream = self.map.stream();
        while let Some((name, value)) = stream.next() {
            if let Some(rank) = NameInfo::unpack(value).rank {
                ranked.push((String::from_utf8_lossy(name).into_owned(), rank));
            }
        }
        ranked.sort_by_key(|(_, rank)| *rank);
        ranked
    }

    /// Calls `visit` with every name and its info, in name order.
    pub fn for_each(&self, mut visit: impl FnMut(&str, NameInfo)) {
        let mut stream = self.map.into_stream();
        while let Some((name, value)) = stream.next() {
            visit(&String::from_utf8_lossy(name), NameInfo::unpack(value));
        }
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_fst_is_the_embedded_list() {
        let built = NameIndex::from_tsv(EMBEDDED.as_bytes()).unwrap();
        if std::env::var_os("PICKET_WRITE_EMBEDDED_FST").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/popular.fst");
            std::fs::write(path, built.as_bytes()).unwrap();
            return;
        }
        assert!(
            built.as_bytes() == EMBEDDED_FST,
            "data/popular.fst is not data/popular.tsv's index; rebuild it: \
             PICKET_WRITE_EMBEDDED_FST=1 cargo test -p picket-names --lib the_embedded_fst"
        );
        assert_eq!(NameIndex::embedded().ranked(), built.ranked());
    }

    #[test]
    fn reads_the_snapshot_format_and_normalizes() {
        let tsv = "name\tlatest_version\tlatest_release_month\tdownload_rank\n\
                   Requests\t2.32.0\t2026-05\t6\nzope.interface\t7.0\t2025-01\t\nfresh\t0.1\t2026-11\t\n";
        let index = NameIndex::from_tsv(tsv.as_bytes()).unwrap();
        assert_eq!(index.len(), 3);
        let requests = index.get("requests").unwrap();
        assert_eq!(requests.rank, Some(6));
        assert_eq!(requests.latest_release.unwrap().to_string(), "2026-05");
        assert_eq!(index.get("Zope_Interface").unwrap().rank, None);
        assert_eq!(index.get("missing"), None);
        assert_eq!(index.newest_release().unwrap().to_string(), "2026-11");
        assert_eq!(index.ranked(), [("requests".to_owned(), 6)]);
        // The first-versions flag survives packing, next to the month.
        let fresh = index.get("fresh").unwrap();
        assert!(fresh.first_versions);
        assert_eq!(fresh.latest_release.unwrap().to_string(), "2026-11");
        assert!(!requests.first_versions);
    }

    #[test]
    fn first_versions_are_0_0_and_0_1() {
        for v in ["0.0.1", "0.1", "0.1.2", "0.0.3.dev1", "0.1rc1"] {
            assert!(is_first_version(v), "{v}");
        }
        for v in ["1.0.14", "0.2.0", "0.10.1", "2.3.2", "", "0", "01.1"] {
            assert!(!is_first_version(v), "{v}");
        }
    }

    #[test]
    fn round_trips_through_bytes_and_refuses_damage() {
        let index = NameIndex::from_tsv("a\t1\t2020-01\nb\t\t\n".as_bytes()).unwrap();
        let bytes = index.as_bytes().to_vec();
        let again = NameIndex::from_bytes(bytes.clone()).unwrap();
        assert_eq!(again.get("a").unwrap().rank, Some(1));
        let mut damaged = bytes;
        let middle = damaged.len() / 2;
        damaged[middle] ^= 0xff;
        assert!(matches!(
            NameIndex::from_bytes(damaged),
            Err(IndexError::Corrupt(_))
        ));
        assert!(matches!(
            NameIndex::from_bytes(b"not an fst".to_vec()),
            Err(IndexError::Corrupt(_))
        ));
    }

    #[test]
    fn bad_lines_are_named() {
        let err = NameIndex::from_tsv("ok\t1\n-bad-\t2\n".as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: `-bad-` is not a valid project name"
        );
        let err = NameIndex::from_tsv("name\trank\nok\tx\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("rank `x`"), "{err}");
        assert!(matches!(
            NameIndex::from_tsv(&b""[..]),
            Err(IndexError::Empty)
        ));
    }

    #[test]
    fn the_embedded_list_is_the_ranked_snapshot() {
        let index = NameIndex::embedded();
        assert!(index.len() > 14_000, "{}", index.len());
        assert_eq!(index.get("boto3").unwrap().rank, Some(1));
        assert!(index.get("python-dateutil").unwrap().rank.unwrap() < 50);
    }
}
