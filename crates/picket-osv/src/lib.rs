//! OSV advisories for PyPI, offline first.
//!
//! [`Database::import`] reads a directory of OSV JSON records or an `all.zip` as the OSV project
//! publishes it per ecosystem, keeps the records that affect PyPI packages (PYSEC, GHSA, the
//! `MAL-` malicious-package records, …) and indexes them by normalized project name.
//! [`Database::affecting`] answers "which advisories affect NAME at VERSION" with OSV's semantics:
//! `affected[].versions` lists, and `ranges` of type `ECOSYSTEM` (`introduced` / `fixed` /
//! `last_affected` events) compared under PEP 440; withdrawn records are ignored. [`group`] joins
//! the records that alias each other into one [`Vulnerability`], and [`upgrade`] picks the release
//! that clears a package's vulnerabilities.
//!
//! The schema is the subset picket reads, written here from the OSV schema (1.6); unknown fields
//! are ignored, wrong types are errors naming the record.
#![deny(missing_docs)]

mod upgrade;
mod vulnerability;

pub use upgrade::{Upgrade, upgrade};
pub use vulnerability::{Vulnerability, group, printable, title};

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use picket_formats::Version;
use serde::{Deserialize, Serialize};

/// Most bytes read from one record (a zip entry or a file).
pub const MAX_RECORD_BYTES: u64 = 4 << 20;
/// Most bytes read from all entries of a zip together.
pub const MAX_TOTAL_BYTES: u64 = 2 << 30;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    /// Reading failed.
    #[error("{path}: {message}")]
    Io {
        /// The file or entry.
        path: String,
        /// What happened.
        message: String,
    },
    /// A record is not OSV JSON.
    #[error("{path}: not an OSV record: {message}")]
    Record {
        /// The file or entry.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The archive is hostile.
    #[error("{path}: {message}")]
    Hostile {
        /// The archive and entry.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// A range event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeEvent {
    /// First affected version (`"0"`: from the beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// First fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// Last affected version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// Upper limit (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`; only `ECOSYSTEM` is evaluated for PyPI.
    #[serde(rename = "type")]
    pub kind: String,
    /// The events, in any order.
    #[serde(default)]
    pub events: Vec<RangeEvent>,
}

/// The package an `affected` entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// `PyPI` for picket.
    pub ecosystem: String,
    /// The project name.
    pub name: String,
}

/// One `affected` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affected {
    /// The package.
    pub package: Package,
    /// Ranges.
    #[serde(default)]
    pub ranges: Vec<Range>,
    /// Explicit versions.
    #[serde(default)]
    pub versions: Vec<String>,
}

/// A severity score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V3`, `CVSS_V4`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector.
    pub score: String,
}

/// An OSV record (the fields picket reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// `PYSEC-…`, `GHSA-…`, `MAL-…`.
    pub id: String,
    /// Last change, RFC 3339.
    #[serde(default)]
    pub modified: String,
    /// When first published, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When withdrawn, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Other ids of the same advisory.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line.
    #[serde(default)]
    pub summary: String,
    /// Longer text.
    #[serde(default)]
    pub details: String,
    /// Scores.
    #[serde(default)]
    pub severity: Vec<Severity>,
    /// What it affects.
    #[serde(default)]
    pub affected: Vec<Affected>,
    /// Links: the advisory, the fix, reports (kept so the OSV API answers them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// The database's own fields; picket reads GitHub's qualitative `severity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<DatabaseSpecific>,
}

/// One of a record's `references`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `FIX`, `REPORT`, `WEB`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The address.
    pub url: String,
}

/// The part of `database_specific` picket reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSpecific {
    /// `LOW`, `MODERATE`, `HIGH`, `CRITICAL` (GitHub advisories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// A record's severity, from its CVSS vectors or its database's own rating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// `CVSS_V3`, `CVSS_V4`, … or `database` for a rating without a vector.
    pub kind: String,
    /// The CVSS vector, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
    /// The base score, 0.0–10.0, when there is a vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub rating: &'static str,
}

impl Record {
    /// The worst of the record's CVSS scores (v2, v3.0, v3.1, v4.0), else GitHub's qualitative
    /// rating, else `None`. Vectors that do not parse are passed over (see [`Record::problems`]).
    pub fn score(&self) -> Option<Score> {
        let best = self
            .severity
            .iter()
            .filter_map(|s| {
                let cvss = s.score.parse::<cvss::Cvss>().ok()?;
                Some((s, cvss.score(), cvss.severity()))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((s, score, severity)) = best {
            return Some(Score {
                kind: s.kind.clone(),
                vector: Some(s.score.clone()),
                score: Some(score),
                rating: severity.as_str(),
            });
        }
        let rating = match self
            .database_specific
            .as_ref()?
            .severity
            .as_deref()?
            .to_ascii_lowercase()
            .as_str()
        {
            "low" => "low",
            "moderate" | "medium" => "medium",
            "high" => "high",
            "critical" => "critical",
            _ => return None,
        };
        Some(Score {
            kind: "database".to_owned(),
            vector: None,
            score: None,
            rating,
        })
    }

    /// What is wrong with the record's PyPI ranges and severity vectors, one sentence each. A
    /// range with a problem never matches (see [`in_range`]); these say why.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in self.affected.iter().filter(|a| is_pypi(a)) {
            for range in a.ranges.iter().filter(|r| r.kind == "ECOSYSTEM") {
                for e in &range.events {
                    let set: Vec<(&str, &String)> = [
                        ("introduced", &e.introduced),
                        ("fixed", &e.fixed),
                        ("last_affected", &e.last_affected),
                        ("limit", &e.limit),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
                    .collect();
                    match set.as_slice() {
                        [("introduced", v)] if v.as_str() == "0" => {}
                        [(key, v)] => {
                            if v.parse::<Version>().is_err() {
                                out.push(format!(
                                    "{}: {} range event `{key}: {v}` is not a PEP 440 version; the range is ignored",
                                    self.id, a.package.name
                                ));
                            }
                        }
                        _ => out.push(format!(
                            "{}: {} range event has {} keys ({}); OSV allows exactly one; the range is ignored",
                            self.id,
                            a.package.name,
                            set.len(),
                            set.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                        )),
                    }
                }
            }
        }
        for s in &self.severity {
            if s.kind.starts_with("CVSS_") && s.score.parse::<cvss::Cvss>().is_err() {
                out.push(format!(
                    "{}: severity `{}` is not a CVSS vector; it is ignored",
                    self.id, s.score
                ));
            }
        }
        out
    }

    /// A `MAL-` record: the package is malicious, not merely vulnerable.
    pub fn is_malicious(&self) -> bool {
        self.id.starts_with("MAL-")
    }

    /// The fixed versions the record's `ECOSYSTEM` ranges name for `name` (normalized), as PEP 440
    /// versions, ascending and distinct (`2023.07.22` and `2023.7.22` are one). `GIT` ranges'
    /// commit ids and events that are not versions are left out: a pip user can't install them.
    pub fn fixed_versions(&self, name: &str) -> Vec<Version> {
        let mut out: Vec<Version> = self
            .entries_for(name)
            .flat_map(|a| a.ranges.iter())
            .filter(|r| r.kind == "ECOSYSTEM")
            .flat_map(|r| r.events.iter())
            .filter_map(|e| e.fixed.as_deref()?.parse::<Version>().ok())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether the record names `version` of `name` (normalized): in an `affected[].versions`
    /// list or inside an `ECOSYSTEM` range that can be evaluated (see [`in_range`]).
    pub fn affects(&self, name: &str, version: &Version) -> bool {
        self.entries_for(name).any(|a| {
            a.versions
                .iter()
                .any(|v| v.parse::<Version>().is_ok_and(|v| &v == version))
                || a.ranges
                    .iter()
                    .filter(|r| r.kind == "ECOSYSTEM")
                    .any(|r| in_range(r, version) == Some(true))
        })
    }

    /// The PyPI `affected` entries about `name` (normalized).
    fn entries_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Affected> + 'a {
        self.affected
            .iter()
            .filter(move |a| is_pypi(a) && picket_formats::normalize(&a.package.name) == name)
    }
}

fn is_pypi(a: &Affected) -> bool {
    a.package.ecosystem == "PyPI" || a.package.ecosystem.starts_with("PyPI:")
}

/// Whether `version` is inside an `ECOSYSTEM` range.
///
/// OSV: sort the events by version; walking up, `introduced` opens, `fixed` and `limit` close
/// (exclusive), `last_affected` closes inclusively. Events whose version does not parse make the
/// range unusable (`None`), so a broken record never matches silently.
pub fn in_range(range: &Range, version: &Version) -> Option<bool> {
    let mut events: Vec<(Version, u8)> = Vec::new();
    for e in &range.events {
        let (text, kind) = match (&e.introduced, &e.fixed, &e.last_affected, &e.limit) {
            (Some(v), None, None, None) => (v, 0u8),
            (None, Some(v), None, None) => (v, 1),
            (None, None, Some(v), None) => (v, 2),
            (None, None, None, Some(v)) => (v, 3),
            _ => return None,
        };
        let v = if kind == 0 && text == "0" {
            Version::new([0])
        } else {
            text.parse::<Version>().ok()?
        };
        events.push((v, kind));
    }
    // Introduced "0" sorts first; at equal versions, a closing event before an opening one.
    events.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut affected = false;
    for (v, kind) in &events {
        match kind {
            0 if v <= version => affected = true,
            1 | 3 if v <= version => affected = false,
            2 if v < version => affected = false,
            _ => {}
        }
    }
    Some(affected)
}

/// The imported records and their index.
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    by_name: HashMap<String, Vec<u32>>,
    /// Records skipped as not about PyPI.
    pub skipped_other_ecosystems: u64,
    /// Records skipped as withdrawn.
    pub skipped_withdrawn: u64,
    /// What is wrong in the held records ([`Record::problems`]), for warnings.
    pub problems: Vec<String>,
}

impl Database {
    /// Adds one record (PyPI entries only; withdrawn ones are counted and left out).
    pub fn add(&mut self, record: Record) {
        if record.withdrawn.is_some() {
            self.skipped_withdrawn += 1;
            return;
        }
        let names: Vec<String> = record
            .affected
            .iter()
            .filter(|a| is_pypi(a))
            .map(|a| picket_formats::normalize(&a.package.name))
            .collect();
        if names.is_empty() {
            self.skipped_other_ecosystems += 1;
            return;
        }
        self.problems.extend(record.problems());
        let index = u32::try_from(self.records.len()).unwrap_or(u32::MAX);
        for name in names {
            let slot = self.by_name.entry(name).or_default();
            if slot.last() != Some(&index) {
                slot.push(index);
            }
        }
        self.records.push(record);
    }

    /// Parses and adds one record's JSON; `path` names it in errors.
    pub fn add_json(&mut self, path: &str, bytes: &[u8]) -> Result<(), OsvError> {
        let record: Record = serde_json::from_slice(bytes).map_err(|e| OsvError::Record {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        self.add(record);
        Ok(())
    }

    /// Imports a directory of `*.json` records or an OSV `all.zip`.
    pub fn import(&mut self, path: &Path) -> Result<u64, OsvError> {
        let before = self.records.len();
        let io = |e: std::io::Error| OsvError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            files.sort();
            for file in files {
                let name = file.display().to_string();
                let mut bytes = Vec::new();
                std::fs::File::open(&file)
                    .and_then(|f| f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes))
                    .map_err(|e| OsvError::Io {
                        path: name.clone(),
                        message: e.to_string(),
                    })?;
                if bytes.len() as u64 > MAX_RECORD_BYTES {
                    return Err(OsvError::Hostile {
                        path: name,
                        message: format!("a record larger than {MAX_RECORD_BYTES} bytes"),
                    });
                }
                self.add_json(&name, &bytes)?;
            }
        } else {
            let file = std::fs::File::open(path).map_err(io)?;
            self.import_zip(&path.display().to_string(), file)?;
        }
        Ok((self.records.len() - before) as u64)
    }

    fn import_zip(&mut self, name: &str, file: std::fs::File) -> Result<(), OsvError> {
        let hostile = |entry: &str, message: String| OsvError::Hostile {
            path: format!("{name}: {entry}"),
            message,
        };
        let mut archive = zip::ZipArchive::new(file).map_err(|e| OsvError::Io {
            path: name.to_owned(),
            message: format!("not a zip archive: {e}"),
        })?;
        let mut total = 0u64;
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| OsvError::Io {
                path: name.to_owned(),
                message: e.to_string(),
            })?;
            let entry_name = entry
                .name()
                .map_err(|e| hostile(&format!("entry {i}"), e.to_string()))?
                .into_owned();
            if entry_name.contains("..") || entry_name.starts_with('/') || entry_name.contains('\\')
            {
                return Err(hostile(
                    &entry_name,
                    "an entry path that leaves the archive".into(),
                ));
            }
            let is_json = Path::new(&entry_name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            if entry.is_dir() || !is_json {
                continue;
            }
            if entry.size() > MAX_RECORD_BYTES {
                return Err(hostile(
                    &entry_name,
                    format!(
                        "declares {} bytes, more than a record may hold ({MAX_RECORD_BYTES})",
                        entry.size()
                    ),
                ));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_RECORD_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| hostile(&entry_name, e.to_string()))?;
            if bytes.len() as u64 > MAX_RECORD_BYTES {
                return Err(hostile(
                    &entry_name,
                    "expands beyond its declared size: a zip bomb".into(),
                ));
            }
            total += bytes.len() as u64;
            if total > MAX_TOTAL_BYTES {
                return Err(hostile(
                    &entry_name,
                    format!("the entries expand to more than {MAX_TOTAL_BYTES} bytes"),
                ));
            }
            self.add_json(&format!("{name}: {entry_name}"), &bytes)?;
        }
        Ok(())
    }

    /// How many records are held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record, in import order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The advisories affecting `name` at `version`, in import order.
    pub fn affecting(&self, name: &str, version: &Version) -> Vec<&Record> {
        let normalized = picket_formats::normalize(name);
        let Some(ids) = self.by_name.get(&normalized) else {
            return Vec::new();
        };
        ids.iter()
            .map(|&i| &self.records[i as usize])
            .filter(|r| r.affects(&normalized, version))
            .collect()
    }

    /// Every record naming `name` (any version), in import order.
    pub fn naming(&self, name: &str) -> Vec<&Record> {
        let normalized = picket_formats::normalize(name);
        self.by_name
            .get(&normalized)
            .into_iter()
            .flatten()
            .map(|&i| &self.records[i as usize])
            .collect()
    }

    /// The problems ([`Record::problems`]) of the records naming `name`.
    pub fn problems_for(&self, name: &str) -> Vec<String> {
        self.naming(name)
            .iter()
            .flat_map(|r| r.problems())
            .collect()
    }

    /// The `MAL-` records naming `name` (any version).
    pub fn malicious(&self, name: &str) -> Vec<&Record> {
        let mut records = self.naming(name);
        records.retain(|r| r.is_malicious());
        records
    }
}

/// The first word of the index file.
const INDEX_MAGIC: &str = "picket-osv-index-1";

fn index_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("osv").join("pypi.idx")
}

/// The total and the sorted, distinct `(offset, length)` spans of the records naming `names`, if
/// the index exists and describes the records file as it is.
fn read_index<'a>(
    data_dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<(usize, Vec<(u64, u64)>)> {
    let text = std::fs::read_to_string(index_path(data_dir)).ok()?;
    let records_len = std::fs::metadata(store_path(data_dir)).ok()?.len();
    let mut lines = text.lines();
    let mut header = lines.next()?.split(' ');
    if header.next()? != INDEX_MAGIC {
        return None;
    }
    let total: usize = header.next()?.parse().ok()?;
    let bytes: u64 = header.next()?.parse().ok()?;
    if bytes != records_len {
        return None;
    }
    let wanted: std::collections::HashSet<String> =
        names.into_iter().map(picket_formats::normalize).collect();
    let mut spans = Vec::new();
    for line in lines {
        let mut fields = line.split('\t');
        let (name, start, len) = (fields.next()?, fields.next()?, fields.next()?);
        if wanted.contains(name) {
            let (start, len): (u64, u64) = (start.parse().ok()?, len.parse().ok()?);
            if start.checked_add(len)? > bytes || len > MAX_RECORD_BYTES * 4 {
                return None;
            }
            spans.push((start, len));
        }
    }
    spans.sort_unstable();
    spans.dedup();
    Some((total, spans))
}

/// Where the imported records live inside a data directory.
pub fn store_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("osv").join("pypi.jsonl")
}

impl Database {
    /// Writes the records as JSON lines to `store_path(data_dir)`, and beside it an index of
    /// where each project's records are ([`Database::load_for`] reads only those). Both are
    /// written to temporary files and renamed, the index last, so a reader never sees half a
    /// database; an index that does not describe the records is ignored.
    pub fn save(&self, data_dir: &Path) -> Result<std::path::PathBuf, OsvError> {
        let path = store_path(data_dir);
        let io = |e: std::io::Error| OsvError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("jsonl.tmp");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        let mut spans: Vec<(u64, u64)> = Vec::with_capacity(self.records.len());
        let mut offset = 0u64;
        for r in &self.records {
            let line = serde_json::to_vec(r).map_err(|e| io(e.into()))?;
            std::io::Write::write_all(&mut out, &line).map_err(io)?;
            std::io::Write::write_all(&mut out, b"\n").map_err(io)?;
            spans.push((offset, line.len() as u64));
            offset += line.len() as u64 + 1;
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;

        let mut index = format!("{INDEX_MAGIC} {} {offset}\n", self.records.len());
        let mut names: Vec<(&String, &Vec<u32>)> = self.by_name.iter().collect();
        names.sort();
        for (name, ids) in names {
            for &i in ids {
                let (start, len) = spans[i as usize];
                let _ = writeln!(index, "{name}\t{start}\t{len}");
            }
        }
        let index_path = index_path(data_dir);
        let index_tmp = index_path.with_extension("idx.tmp");
        std::fs::write(&index_tmp, index).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        std::fs::rename(&index_tmp, &index_path).map_err(io)?;
        Ok(path)
    }

    /// Loads only the records naming one of `names` (any spelling), through the index
    /// [`Database::save`] wrote; returns them and how many records the store holds in all.
    /// Without a usable index (an older store, or one changed behind picket's back) it loads
    /// everything.
    pub fn load_for<'a>(
        data_dir: &Path,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<(Self, usize), OsvError> {
        let path = store_path(data_dir);
        let Some((total, spans)) = read_index(data_dir, names) else {
            let db = Self::load(data_dir)?;
            let total = db.len();
            return Ok((db, total));
        };
        let io = |e: std::io::Error| OsvError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut db = Self::default();
        let mut file = std::fs::File::open(&path).map_err(io)?;
        let mut buffer = Vec::new();
        for (start, len) in spans {
            use std::io::Seek;
            file.seek(std::io::SeekFrom::Start(start)).map_err(io)?;
            buffer.resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
            file.read_exact(&mut buffer).map_err(io)?;
            db.add_json(&format!("{}@{start}", path.display()), &buffer)?;
        }
        Ok((db, total))
    }

    /// Loads what [`Database::save`] wrote; an empty database when nothing was imported.
    pub fn load(data_dir: &Path) -> Result<Self, OsvError> {
        let path = store_path(data_dir);
        let mut db = Self::default();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(db),
            Err(e) => {
                return Err(OsvError::Io {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if !line.is_empty() {
                db.add_json(&format!("{}:{}", path.display(), i + 1), line)?;
            }
        }
        Ok(db)
    }
}
