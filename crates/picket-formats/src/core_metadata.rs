//! Core metadata (`METADATA` in wheels, `PKG-INFO` in sdists), versions 1.0 to 2.5.
//!
//! As the specification asks of consumers, a newer minor version of the newest major (2.6, 2.9, …)
//! is read with a warning ([`CoreMetadata::warnings`]) and a newer major version (3.0) is refused.
//!
//! The format is a set of RFC 822 style headers, then an optional body that holds the description
//! (metadata 2.1+). The parser is strict where a lax reading would let two tools disagree about what a
//! package is (duplicate single-use fields, a description given twice, invalid UTF-8), and bounded:
//! a header line longer than [`MAX_HEADER_LINE`] is refused instead of being carried around.

use serde::Serialize;

/// The longest physical header line accepted. Real metadata stays far below; a longer line is
/// either an attack on whoever parses it or a corrupted file.
pub const MAX_HEADER_LINE: usize = 64 * 1024;

/// The metadata versions this parser knows field by field.
pub const SUPPORTED_VERSIONS: [&str; 9] = [
    "1.0", "1.1", "1.2", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5",
];

/// The newest of [`SUPPORTED_VERSIONS`], as `(major, minor)`.
pub const NEWEST_VERSION: (u32, u32) = (2, 5);

/// The version that added `Import-Name` and `Import-Namespace` (PEP 794).
const IMPORT_NAMES_SINCE: (u32, u32) = (2, 5);

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
    /// A `Metadata-Version` that is no version this parser knows, nor a newer minor one.
    #[error(
        "metadata version `{0}` is not supported (known: 1.0, 1.1, 1.2, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5; a newer 2.x is read with a warning)"
    )]
    UnsupportedVersion(String),
    /// A `Metadata-Version` of a newer major version, which may change what existing fields mean.
    #[error(
        "metadata version `{0}` is not supported: its major version is newer than this reader knows (the newest is 2.5), and a new major version may change what fields mean"
    )]
    NewerMajorVersion(String),
    /// `Import-Name` or `Import-Namespace` with a value that is not an import name.
    #[error("metadata line {line}: `{field}: {value}` is not valid: {reason}")]
    InvalidImportName {
        /// The field.
        field: &'static str,
        /// 1-based line number.
        line: usize,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same name in `Import-Name` and `Import-Namespace` (the specification says to refuse it).
    #[error(
        "metadata lists `{0}` in both `Import-Name` and `Import-Namespace`; a name is either provided exclusively or shared, not both"
    )]
    AmbiguousImportName(String),
    /// An empty `Import-Name` (no import names) beside other `Import-Name`s.
    #[error(
        "metadata has an empty `Import-Name`, which says the distribution provides no import names, and other `Import-Name`s too"
    )]
    EmptyImportNameWithOthers,
    /// A field used in a file that declares a metadata version older than the field.
    #[error(
        "metadata field `{field}` was added in metadata version {added}, but the file declares `Metadata-Version: {version}`"
    )]
    FieldTooNew {
        /// The field.
        field: &'static str,
        /// The version that added it.
        added: &'static str,
        /// The declared version.
        version: String,
    },
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
    /// `Import-Name` (2.5, PEP 794), as written (`name` or `name; private`): `None` when absent,
    /// empty when a lone empty `Import-Name:` says the distribution provides no import names.
    pub import_names: Option<Vec<String>>,
    /// `Import-Namespace` (2.5, PEP 794): names provided, but not exclusively, as written.
    pub import_namespaces: Vec<String>,
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
    /// What a reader should be told but that does not make the metadata unreadable: a newer minor
    /// `Metadata-Version` than [`NEWEST_VERSION`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

enum Slot {
    Required(fn(&mut CoreMetadata) -> &mut String),
    Single(fn(&mut CoreMetadata) -> &mut Option<String>),
    Multi(fn(&mut CoreMetadata) -> &mut Vec<String>),
}

/// Every field of metadata 1.0–2.5, by its canonical spelling.
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
    (
        "Import-Name",
        Slot::Multi(|m| m.import_names.get_or_insert_with(Vec::new)),
    ),
    (
        "Import-Namespace",
        Slot::Multi(|m| &mut m.import_namespaces),
    ),
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

/// Python's keywords (`keyword.kwlist`): no part of an import name can be one.
const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// `MAJOR.MINOR` of a `Metadata-Version`: a known version, or a newer minor of the newest major.
fn check_version(text: &str) -> Result<(u32, u32), MetadataError> {
    let parsed = text.split_once('.').and_then(|(major, minor)| {
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        Some((number(major)?, number(minor)?))
    });
    match parsed {
        Some(version) if SUPPORTED_VERSIONS.contains(&text) => Ok(version),
        Some((major, _)) if major > NEWEST_VERSION.0 => {
            Err(MetadataError::NewerMajorVersion(text.to_owned()))
        }
        Some(version) if version > NEWEST_VERSION => Ok(version),
        _ => Err(MetadataError::UnsupportedVersion(text.to_owned())),
    }
}

/// One `Import-Name` or `Import-Namespace` value (PEP 794): a dotted name of Python identifiers,
/// none a keyword, optionally followed by `; private`. An empty `Import-Name` is allowed here
/// (it means "no import names"; [`CoreMetadata::check_import_names`] checks it stands alone).
fn check_import_name(field: &'static str, value: &str, line: usize) -> Result<(), MetadataError> {
    let invalid = |reason: String| MetadataError::InvalidImportName {
        field,
        line,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() {
        return if field == "Import-Name" {
            Ok(())
        } else {
            Err(invalid("`Import-Namespace` can't be empty".into()))
        };
    }
    let (name, option) = match value.split_once(';') {
        Some((name, option)) => (name.trim_end(), Some(option.trim())),
        None => (value, None),
    };
    if let Some(option) = option.filter(|o| *o != "private") {
        return Err(invalid(format!(
            "`{option}` follows the `;`; the only option is `private`"
        )));
    }
    for part in name.split('.') {
        let mut chars = part.chars();
        let identifier = chars
            .next()
            .is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
            && chars.all(unicode_ident::is_xid_continue);
        if !identifier {
            return Err(invalid(format!("`{part}` is not a Python identifier")));
        }
        if PYTHON_KEYWORDS.contains(&part) {
            return Err(invalid(format!("`{part}` is a Python keyword")));
        }
    }
    Ok(())
}

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
                if matches!(*canonical, "Import-Name" | "Import-Namespace") {
                    check_import_name(canonical, &value, header.line)?;
                }
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
            if required == "Metadata-Version" {
                let version = check_version(&meta.metadata_version)?;
                if version > NEWEST_VERSION {
                    meta.warnings.push(format!(
                        "metadata version `{}` is newer than the newest this reader knows (2.5): its fields were read as 2.5 defines them, fields 2.5 does not define are kept as unknown",
                        meta.metadata_version
                    ));
                }
                meta.check_import_names(version)?;
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

    /// PEP 794's rules across fields: only in metadata 2.5 and later, an empty `Import-Name` only
    /// alone, and no name both exclusive and shared.
    fn check_import_names(&mut self, version: (u32, u32)) -> Result<(), MetadataError> {
        let too_new = |field| MetadataError::FieldTooNew {
            field,
            added: "2.5",
            version: self.metadata_version.clone(),
        };
        if version < IMPORT_NAMES_SINCE {
            if self.import_names.is_some() {
                return Err(too_new("Import-Name"));
            }
            if !self.import_namespaces.is_empty() {
                return Err(too_new("Import-Namespace"));
            }
        }
        if let Some(names) = &mut self.import_names {
            if names.len() > 1 && names.iter().any(String::is_empty) {
                return Err(MetadataError::EmptyImportNameWithOthers);
            }
            names.retain(|n| !n.is_empty());
            let bare = |entry: &String| {
                entry
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            if let Some(both) = names.iter().map(bare).find(|name| {
                self.import_namespaces
                    .iter()
                    .map(bare)
                    .any(|ns| ns == *name)
            }) {
                return Err(MetadataError::AmbiguousImportName(both));
            }
        }
        Ok(())
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
    fn parses_pep_794_import_names() {
        // As hatchling 1.33 writes them.
        let m = CoreMetadata::parse(
            "Metadata-Version: 2.5\nName: demo\nVersion: 1\nImport-Name: _demo_impl; private\n\
Import-Name: demo\nImport-Name: zope.interface\nImport-Namespace: zope\nImport-Namespace: \u{e9}t\u{e9}  ;  private\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            m.import_names.as_deref(),
            Some(&["_demo_impl; private", "demo", "zope.interface"].map(str::to_owned)[..])
        );
        assert_eq!(m.import_namespaces, ["zope", "\u{e9}t\u{e9}  ;  private"]);
        assert!(m.warnings.is_empty());

        let none =
            CoreMetadata::parse(b"Metadata-Version: 2.5\nName: d\nVersion: 1\nImport-Name:\n");
        assert_eq!(
            none.unwrap().import_names,
            Some(Vec::new()),
            "declared: no import names"
        );
        let absent = CoreMetadata::parse(b"Metadata-Version: 2.5\nName: d\nVersion: 1\n");
        assert_eq!(absent.unwrap().import_names, None, "not declared");
    }

    #[test]
    fn refuses_what_pep_794_forbids() {
        let check = |fields: &str, expected: &str| {
            let input = format!("Metadata-Version: 2.5\nName: d\nVersion: 1\n{fields}");
            check_err(input.as_bytes(), expected);
        };
        check(
            "Import-Name: 2fast\n",
            "line 4: `Import-Name: 2fast` is not valid: `2fast` is not a Python identifier",
        );
        check("Import-Name: a..b\n", "`` is not a Python identifier");
        check(
            "Import-Name: my-pkg\n",
            "`my-pkg` is not a Python identifier",
        );
        check("Import-Name: pkg.class\n", "`class` is a Python keyword");
        check("Import-Name: pkg; public\n", "the only option is `private`");
        check("Import-Namespace:\n", "`Import-Namespace` can't be empty");
        check("Import-Name:\nImport-Name: a\n", "an empty `Import-Name`");
        check(
            "Import-Name: zope ; private\nImport-Namespace: zope\n",
            "lists `zope` in both `Import-Name` and `Import-Namespace`",
        );
        check_err(
            b"Metadata-Version: 2.4\nName: d\nVersion: 1\nImport-Namespace: a\n",
            "`Import-Namespace` was added in metadata version 2.5, but the file declares `Metadata-Version: 2.4`",
        );
    }

    #[test]
    fn newer_minor_versions_warn_and_newer_major_versions_are_refused() {
        let m = CoreMetadata::parse(
            b"Metadata-Version: 2.9\nName: d\nVersion: 1\nImport-Name: d\nFuture-Field: x\n",
        )
        .unwrap();
        assert_eq!(m.metadata_version, "2.9");
        assert_eq!(m.import_names.as_deref(), Some(&["d".to_owned()][..]));
        assert_eq!(m.unknown_fields, [("Future-Field".into(), "x".into())]);
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].starts_with(
            "metadata version `2.9` is newer than the newest this reader knows (2.5)"
        ));
        assert!(CoreMetadata::parse(b"Metadata-Version: 2.10\nName: d\nVersion: 1\n").is_ok());

        check_err(
            b"Metadata-Version: 3.0\nName: d\nVersion: 1\n",
            "metadata version `3.0` is not supported: its major version is newer",
        );
        for unknown in ["1.3", "2", "2.x", "two", "2.5.1", "", "+2.6"] {
            let input = format!("Metadata-Version: {unknown}\nName: d\nVersion: 1\n");
            check_err(
                input.as_bytes(),
                &format!("metadata version `{unknown}` is not supported (known: 1.0"),
            );
        }
    }

    proptest::proptest! {
        /// Any version text and any import names end in metadata or an error, never a panic, and
        /// whatever is accepted as an import name is a dotted identifier.
        #[test]
        fn import_names_and_versions_never_panic(
            version in "[0-9]{0,3}[.]?[0-9]{0,3}|\\PC{0,8}",
            names in proptest::collection::vec("[a-z_.; ]{0,12}|\\PC{0,12}", 0..4),
            namespaces in proptest::collection::vec("[a-z_.; ]{0,12}|\\PC{0,12}", 0..3),
        ) {
            let names = names.iter().map(|n| format!("Import-Name: {n}\n"));
            let namespaces = namespaces.iter().map(|n| format!("Import-Namespace: {n}\n"));
            let text: String = std::iter::once(format!("Metadata-Version: {version}\nName: a\nVersion: 1\n"))
                .chain(names)
                .chain(namespaces)
                .collect();
            if let Ok(meta) = CoreMetadata::parse(text.as_bytes()) {
                for name in meta.import_names.iter().flatten().chain(&meta.import_namespaces) {
                    let bare = name.split(';').next().unwrap_or_default().trim();
                    proptest::prop_assert!(!bare.is_empty() && !bare.contains(' '), "{name:?}");
                }
            }
        }
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
