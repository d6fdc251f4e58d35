//! Core metadata (`METADATA` in wheels, `PKG-INFO` in sdists), versions 1.0 to 2.4.
//!
//! The format is a set of RFC 822 style headers, then an optional body that holds the description
//! (metadata 2.1+). The parser is strict where a lax reading would let two tools disagree about what a
//! package is (duplicate single-use fields, a description given twice, invalid UTF-8), and bounded:
//! a header line longer than [`MAX_HEADER_LINE`] is refused instead of being carried around.

use serde::Serialize;

/// The longest physical header line accepted. Real metadata stays far below; a longer line is
/// either an attack on whoever parses it or a corrupted file.
pub const MAX_HEADER_LINE: usize = 64 * 1024;

/// The metadata versions this parser knows.
pub const SUPPORTED_VERSIONS: [&str; 8] = ["1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4"];

/// Why a metadata file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Bytes that are not UTF-8.
    #[error("metadata line {line} is not valid UTF-8 (byte offset {offset})")]
    InvalidUtf8 {
        /// 1-based line number.
        line: usize,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A header line over [`MAX_HEADER_LINE`] bytes.
    #[error(
        "metadata line {line} is {len} bytes long; header lines are limited to {MAX_HEADER_LINE}"
    )]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// A header line without `:`.
    #[error("metadata line {line} is not a `Field: value` header")]
    NotAHeader {
        /// 1-based line number.
        line: usize,
    },
    /// A continuation line before any header.
    #[error("metadata line {line} continues a header, but no header precedes it")]
    OrphanContinuation {
        /// 1-based line number.
        line: usize,
    },
    /// A required field is absent.
    #[error("metadata has no `{0}` field")]
    Missing(&'static str),
    /// A single-use field appears more than once.
    #[error("metadata field `{field}` appears again on line {line}; it may appear only once")]
    Duplicate {
        /// The field.
        field: &'static str,
        /// 1-based line number of the repetition.
        line: usize,
    },
    /// A `Metadata-Version` this parser does not know.
    #[error(
        "metadata version `{0}` is not supported (known: 1.0, 1.1, 1.2, 2.0, 2.1, 2.2, 2.3, 2.4)"
    )]
    UnsupportedVersion(String),
    /// Both a `Description` field and a message body.
    #[error("metadata gives the description twice: as the `Description` field and as the body")]
    DescriptionTwice,
}

/// Parsed core metadata. Single-use fields are `Option`s, multiple-use fields are lists in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoreMetadata {
    /// `Metadata-Version`.
    pub metadata_version: String,
    /// `Name`, as written (not validated here; see [`crate::ProjectName`]).
    pub name: String,
    /// `Version`, as written.
    pub version: String,
    /// `Dynamic` (2.2+).
    pub dynamic: Vec<String>,
    /// `Platform`.
    pub platforms: Vec<String>,
    /// `Supported-Platform` (1.1+).
    pub supported_platforms: Vec<String>,
    /// `Summary`.
    pub summary: Option<String>,
    /// `Description`, from the field or the body.
    pub description: Option<String>,
    /// `Description-Content-Type` (2.1+).
    pub description_content_type: Option<String>,
    /// `Keywords`.
    pub keywords: Option<String>,
    /// `Home-page`.
    pub home_page: Option<String>,
    /// `Download-URL` (1.1+).
    pub download_url: Option<String>,
    /// `Author`.
    pub author: Option<String>,
    /// `Author-email`.
    pub author_email: Option<String>,
    /// `Maintainer` (1.2+).
    pub maintainer: Option<String>,
    /// `Maintainer-email` (1.2+).
    pub maintainer_email: Option<String>,
    /// `License`.
    pub license: Option<String>,
    /// `License-Expression` (2.4).
    pub license_expression: Option<String>,
    /// `License-File` (2.4).
    pub license_files: Vec<String>,
    /// `Classifier` (1.1+).
    pub classifiers: Vec<String>,
    /// `Requires-Dist` (1.2+).
    pub requires_dist: Vec<String>,
    /// `Requires-Python` (1.2+).
    pub requires_python: Option<String>,
    /// `Requires-External` (1.2+).
    pub requires_external: Vec<String>,
    /// `Project-URL` (1.2+).
    pub project_urls: Vec<String>,
    /// `Provides-Extra` (2.1+).
    pub provides_extra: Vec<String>,
    /// `Provides-Dist` (1.2+).
    pub provides_dist: Vec<String>,
    /// `Obsoletes-Dist` (1.2+).
    pub obsoletes_dist: Vec<String>,
    /// `Requires` (1.1, deprecated).
    pub requires: Vec<String>,
    /// `Provides` (1.1, deprecated).
    pub provides: Vec<String>,
    /// `Obsoletes` (1.1, deprecated).
    pub obsoletes: Vec<String>,
    /// Fields no metadata version defines, kept in order as `(field, value)`.
    pub unknown_fields: Vec<(String, String)>,
}

enum Slot {
    Required(fn(&mut CoreMetadata) -> &mut String),
    Single(fn(&mut CoreMetadata) -> &mut Option<String>),
    Multi(fn(&mut CoreMetadata) -> &mut Vec<String>),
}

/// Every field of metadata 1.0–2.4, by its canonical spelling.
const FIELDS: &[(&str, Slot)] = &[
    (
        "Metadata-Version",
        Slot::Required(|m| &mut m.metadata_version),
    ),
    ("Name", Slot::Required(|m| &mut m.name)),
    ("Version", Slot::Required(|m| &mut m.version)),
    ("Dynamic", Slot::Multi(|m| &mut m.dynamic)),
    ("Platform", Slot::Multi(|m| &mut m.platforms)),
    (
        "Supported-Platform",
        Slot::Multi(|m| &mut m.supported_platforms),
    ),
    ("Summary", Slot::Single(|m| &mut m.summary)),
    ("Description", Slot::Single(|m| &mut m.description)),
    (
        "Description-Content-Type",
        Slot::Single(|m| &mut m.description_content_type),
    ),
    ("Keywords", Slot::Single(|m| &mut m.keywords)),
    ("Home-page", Slot::Single(|m| &mut m.home_page)),
    ("Download-URL", Slot::Single(|m| &mut m.download_url)),
    ("Author", Slot::Single(|m| &mut m.author)),
    ("Author-email", Slot::Single(|m| &mut m.author_email)),
    ("Maintainer", Slot::Single(|m| &mut m.maintainer)),
    (
        "Maintainer-email",
        Slot::Single(|m| &mut m.maintainer_email),
    ),
    ("License", Slot::Single(|m| &mut m.license)),
    (
        "License-Expression",
        Slot::Single(|m| &mut m.license_expression),
    ),
    ("License-File", Slot::Multi(|m| &mut m.license_files)),
    ("Classifier", Slot::Multi(|m| &mut m.classifiers)),
    ("Requires-Dist", Slot::Multi(|m| &mut m.requires_dist)),
    ("Requires-Python", Slot::Single(|m| &mut m.requires_python)),
    (
        "Requires-External",
        Slot::Multi(|m| &mut m.requires_external),
    ),
    ("Project-URL", Slot::Multi(|m| &mut m.project_urls)),
    ("Provides-Extra", Slot::Multi(|m| &mut m.provides_extra)),
    ("Provides-Dist", Slot::Multi(|m| &mut m.provides_dist)),
    ("Obsoletes-Dist", Slot::Multi(|m| &mut m.obsoletes_dist)),
    ("Requires", Slot::Multi(|m| &mut m.requires)),
    ("Provides", Slot::Multi(|m| &mut m.provides)),
    ("Obsoletes", Slot::Multi(|m| &mut m.obsoletes)),
];

struct Header {
    field: String,
    value: String,
    line: usize,
}

/// Splits the header block into fields with their continuation lines unfolded, and returns the body.
fn split_headers(text: &str) -> Result<(Vec<Header>, Option<&str>), MetadataError> {
    let mut headers: Vec<Header> = Vec::new();
    let mut rest = text;
    let mut line_no = 0;
    while !rest.is_empty() {
        line_no += 1;
        let (raw, after) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        if raw.len() > MAX_HEADER_LINE {
            return Err(MetadataError::LineTooLong {
                line: line_no,
                len: raw.len(),
            });
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            return Ok((headers, Some(after)));
        }
        if line.starts_with([' ', '\t']) {
            let Some(last) = headers.last_mut() else {
                return Err(MetadataError::OrphanContinuation { line: line_no });
            };
            last.value.push('\n');
            last.value.push_str(line);
        } else {
            let Some((field, value)) = line.split_once(':') else {
                return Err(MetadataError::NotAHeader { line: line_no });
            };
            headers.push(Header {
                field: field.trim().to_owned(),
                value: value.trim_start().to_owned(),
                line: line_no,
            });
        }
        rest = after;
    }
    Ok((headers, None))
}

/// Unfolds a `Description` field: continuation lines carry up to eight spaces of indent and,
/// from setuptools, a `|` marker that stands for the left margin.
fn unfold_description(value: &str) -> String {
    let mut lines = value.split('\n');
    let mut out = lines.next().unwrap_or_default().to_owned();
    for line in lines {
        out.push('\n');
        let trimmed = line.trim_start_matches([' ', '\t']);
        let dropped = line.len() - trimmed.len();
        let kept_indent = dropped.saturating_sub(8);
        let body = trimmed.strip_prefix('|').unwrap_or(trimmed);
        out.extend(std::iter::repeat_n(' ', kept_indent));
        out.push_str(body);
    }
    out
}

/// Unfolds any other field: continuation lines join with one space.
fn unfold(value: &str) -> String {
    value
        .split('\n')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl CoreMetadata {
    /// Parses metadata from raw bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, MetadataError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let offset = e.valid_up_to();
            MetadataError::InvalidUtf8 {
                line: bytes[..offset].split(|&b| b == b'\n').count(),
                offset,
            }
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let (headers, body) = split_headers(text)?;

        let mut meta = CoreMetadata::default();
        let mut seen_single: Vec<&'static str> = Vec::new();
        for header in headers {
            let Some((canonical, slot)) = FIELDS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&header.field))
            else {
                meta.unknown_fields
                    .push((header.field, unfold(&header.value)));
                continue;
            };
            let value = if *canonical == "Description" {
                unfold_description(&header.value)
            } else {
                unfold(&header.value)
            };
            if let Slot::Multi(get) = slot {
                get(&mut meta).push(value);
                continue;
            }
            if seen_single.contains(canonical) {
                return Err(MetadataError::Duplicate {
                    field: canonical,
                    line: header.line,
                });
            }
            seen_single.push(canonical);
            match slot {
                Slot::Required(get) => *get(&mut meta) = value,
                Slot::Single(get) => *get(&mut meta) = Some(value),
                Slot::Multi(_) => {}
            }
        }
        for required in ["Metadata-Version", "Name", "Version"] {
            if !seen_single.contains(&required) {
                return Err(MetadataError::Missing(required));
            }
            if required == "Metadata-Version"
                && !SUPPORTED_VERSIONS.contains(&meta.metadata_version.as_str())
            {
                return Err(MetadataError::UnsupportedVersion(meta.metadata_version));
            }
        }
        if let Some(body) = body.filter(|b| !b.trim().is_empty()) {
            if meta.description.is_some() {
                return Err(MetadataError::DescriptionTwice);
            }
            meta.description = Some(body.to_owned());
        }
        Ok(meta)
    }

    /// The `Project-URL` entries split into `(label, url)` pairs.
    pub fn project_url_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.project_urls
            .iter()
            .map(|entry| match entry.split_once(',') {
                Some((label, url)) => (label.trim(), url.trim()),
                None => ("", entry.trim()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(input: &[u8], expected: &str) {
        let err = CoreMetadata::parse(input).unwrap_err().to_string();
        assert!(err.contains(expected), "expected `{expected}` in `{err}`");
    }

    #[test]
    fn parses_a_modern_wheel_metadata() {
        let input = b"Metadata-Version: 2.4\r\nName: demo-pkg\r\nVersion: 1.0.0\r\n\
Summary: A demo\r\nLicense-Expression: MIT\r\nLicense-File: LICENSE\r\nLicense-File: NOTICE\r\n\
Requires-Dist: requests>=2\r\nRequires-Dist: rich; extra == \"cli\"\r\nProvides-Extra: cli\r\n\
Project-URL: Source, https://example.invalid/src\r\nX-Custom: kept\r\n\
Description-Content-Type: text/markdown\r\n\r\n# Demo\r\n\r\nBody text.\r\n";
        let m = CoreMetadata::parse(input).unwrap();
        assert_eq!(m.metadata_version, "2.4");
        assert_eq!(m.name, "demo-pkg");
        assert_eq!(m.license_files, ["LICENSE", "NOTICE"]);
        assert_eq!(m.requires_dist, ["requests>=2", "rich; extra == \"cli\""]);
        assert_eq!(
            m.unknown_fields,
            [("X-Custom".to_owned(), "kept".to_owned())]
        );
        assert_eq!(
            m.project_url_pairs().collect::<Vec<_>>(),
            [("Source", "https://example.invalid/src")]
        );
        assert!(m.description.unwrap().starts_with("# Demo"));
    }

    #[test]
    fn unfolds_legacy_description_and_continuations() {
        let input = b"Metadata-Version: 1.0\nName: old\nVersion: 0.1\n\
Description: First line\n        |  indented\n        |last\nKeywords: a,\n  b\n";
        let m = CoreMetadata::parse(input).unwrap();
        assert_eq!(
            m.description.as_deref(),
            Some("First line\n  indented\nlast")
        );
        assert_eq!(m.keywords.as_deref(), Some("a, b"));
    }

    #[test]
    fn field_names_are_case_insensitive() {
        let m = CoreMetadata::parse(b"metadata-version: 2.1\nNAME: x\nversion: 1\nhome-PAGE: h\n")
            .unwrap();
        assert_eq!(m.home_page.as_deref(), Some("h"));
    }

    #[test]
    fn refuses_what_tools_would_read_differently() {
        check_err(
            b"Metadata-Version: 2.1\nName: a\nName: b\nVersion: 1\n",
            "`Name` appears again on line 3",
        );
        check_err(
            b"Metadata-Version: 2.1\nName: a\nVersion: 1\nDescription: x\n\nbody",
            "twice",
        );
        check_err(
            b"Metadata-Version: 9.9\nName: a\nVersion: 1\n",
            "`9.9` is not supported",
        );
        check_err(b"Name: a\nVersion: 1\n", "no `Metadata-Version`");
        check_err(b"Metadata-Version: 2.1\nVersion: 1\n", "no `Name`");
        check_err(b"Metadata-Version: 2.1\nName: a\n", "no `Version`");
        check_err(b" orphan\n", "no header precedes");
        check_err(
            b"Metadata-Version: 2.1\nbroken line\n",
            "line 2 is not a `Field: value`",
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        check_err(
            b"Metadata-Version: 2.1\nName: a\xff\nVersion: 1\n",
            "line 2 is not valid UTF-8",
        );
    }

    #[test]
    fn huge_header_lines_are_refused_without_copying_them() {
        let mut input = b"Metadata-Version: 2.1\nSummary: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 1 << 20));
        check_err(&input, "line 2 is 1048585 bytes long");
    }
}
