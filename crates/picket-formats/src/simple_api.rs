//! Project pages of the simple repository API: PEP 691 JSON and PEP 503 HTML, with the PEP 592
//! (yanked), PEP 658/714 (core metadata), PEP 700 (`size`, `upload-time`, `versions`) and PEP 792
//! (project status) fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The JSON media type of PEP 691, version 1.
pub const JSON_CONTENT_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// Why a project page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not valid PEP 691 JSON.
    #[error("invalid simple-API JSON: {0}")]
    Json(String),
    /// Not UTF-8.
    #[error("the project page is not valid UTF-8")]
    Utf8,
}

/// Whether a file is yanked, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Yanked {
    /// Not yanked.
    No,
    /// Yanked, with the reason if one was given.
    Yes(Option<String>),
}

/// One file of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// The distribution filename.
    pub filename: String,
    /// Where to download it (absolute, or relative to the page).
    pub url: String,
    /// Hashes by algorithm, lowercase hex.
    pub hashes: BTreeMap<String, String>,
    /// `Requires-Python`, if given.
    pub requires_python: Option<String>,
    /// Yank status.
    pub yanked: Yanked,
    /// Size in bytes (PEP 700).
    pub size: Option<u64>,
    /// Upload time, RFC 3339 (PEP 700).
    pub upload_time: Option<String>,
    /// Whether the core metadata is served separately (PEP 658/714).
    pub core_metadata: bool,
}

/// A project's status marker (PEP 792). A page without one, or with a value PEP 792 does not
/// define, is `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    /// The default: nothing to say.
    Active,
    /// Its owners expect no more releases.
    Archived,
    /// The index holds it as unsafe (malware, for instance); it lists no files.
    Quarantined,
    /// Obsolete, perhaps superseded by another project.
    Deprecated,
}

impl ProjectStatus {
    /// The status a marker's value names; `None` for a value PEP 792 does not define.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            "quarantined" => Some(Self::Quarantined),
            "deprecated" => Some(Self::Deprecated),
            _ => None,
        }
    }

    /// The marker's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
            Self::Quarantined => "quarantined",
            Self::Deprecated => "deprecated",
        }
    }
}

/// A project page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectPage {
    /// The project name as the index spells it (HTML pages may not say).
    pub name: Option<String>,
    /// The files.
    pub files: Vec<FileEntry>,
    /// Every version (PEP 700); empty when the index does not list them.
    pub versions: Vec<String>,
    /// The project's status (PEP 792).
    pub status: ProjectStatus,
    /// Why, if the index says (PEP 792's `reason`), for people to read.
    pub status_reason: Option<String>,
}

#[derive(Deserialize)]
struct JsonPage {
    name: Option<String>,
    files: Vec<JsonFile>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default, rename = "project-status")]
    project_status: Option<JsonStatus>,
}

#[derive(Deserialize)]
struct JsonStatus {
    status: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    String(String),
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
    #[serde(rename = "requires-python")]
    requires_python: Option<String>,
    yanked: Option<BoolOrString>,
    size: Option<u64>,
    #[serde(rename = "upload-time")]
    upload_time: Option<String>,
    #[serde(rename = "core-metadata")]
    core_metadata: Option<serde_json::Value>,
    #[serde(rename = "dist-info-metadata")]
    dist_info_metadata: Option<serde_json::Value>,
}

fn metadata_flag(value: Option<&serde_json::Value>) -> bool {
    match value {
        None | Some(serde_json::Value::Bool(false) | serde_json::Value::Null) => false,
        Some(_) => true,
    }
}

impl ProjectPage {
    /// Parses a PEP 691 JSON page.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PageError> {
        let page: JsonPage =
            serde_json::from_slice(bytes).map_err(|e| PageError::Json(e.to_string()))?;
        let (status, status_reason) = match page.project_status {
            Some(JsonStatus { status, reason }) => (
                status
                    .as_deref()
                    .and_then(ProjectStatus::parse)
                    .unwrap_or(ProjectStatus::Active),
                reason.filter(|r| !r.trim().is_empty()),
            ),
            None => (ProjectStatus::Active, None),
        };
        Ok(Self {
            status,
            status_reason,
            name: page.name,
            files: page
                .files
                .into_iter()
                .map(|f| FileEntry {
                    core_metadata: metadata_flag(f.core_metadata.as_ref())
                        || metadata_flag(f.dist_info_metadata.as_ref()),
                    filename: f.filename,
                    url: f.url,
                    hashes: f
                        .hashes
                        .into_iter()
                        .map(|(k, v)| (k, v.to_ascii_lowercase()))
                        .collect(),
                    requires_python: f.requires_python,
                    yanked: match f.yanked {
                        None | Some(BoolOrString::Bool(false)) => Yanked::No,
                        Some(BoolOrString::Bool(true)) => Yanked::Yes(None),
                        Some(BoolOrString::String(reason)) => Yanked::Yes(Some(reason)),
                    },
                    size: f.size,
                    upload_time: f.upload_time,
                })
                .collect(),
            versions: page.versions,
        })
    }

    /// Parses a PEP 503 HTML page: every `<a>` is a file; the hash is in the URL fragment.
    pub fn from_html(bytes: &[u8]) -> Result<Self, PageError> {
        let html = std::str::from_utf8(bytes).map_err(|_| PageError::Utf8)?;
        let mut files = Vec::new();
        let mut rest = html;
        while let Some(start) = find_ignore_case(rest, "<a") {
            let after = &rest[start + 2..];
            if !after.starts_with(|c: char| c.is_whitespace()) {
                rest = after;
                continue;
            }
            let Some(tag_end) = after.find('>') else {
                break;
            };
            let attributes = parse_attributes(&after[..tag_end]);
            let body = &after[tag_end + 1..];
            let text_end = find_ignore_case(body, "</a").unwrap_or(body.len());
            let filename = unescape(body[..text_end].trim());
            rest = &body[text_end..];
            let Some(href) = attributes.get("href") else {
                continue;
            };
            let (url, fragment) = href.split_once('#').unwrap_or((href, ""));
            let hashes = fragment
                .split_once('=')
                .map(|(algorithm, digest)| {
                    BTreeMap::from([(algorithm.to_owned(), digest.to_ascii_lowercase())])
                })
                .unwrap_or_default();
            files.push(FileEntry {
                filename,
                url: url.to_owned(),
                hashes,
                requires_python: attributes.get("data-requires-python").cloned(),
                yanked: match attributes.get("data-yanked") {
                    None => Yanked::No,
                    Some(reason) if reason.is_empty() => Yanked::Yes(None),
                    Some(reason) => Yanked::Yes(Some(reason.clone())),
                },
                size: None,
                upload_time: None,
                core_metadata: attributes.contains_key("data-core-metadata")
                    || attributes.contains_key("data-dist-info-metadata"),
            });
        }
        let meta = |wanted: &str| {
            let mut rest = html;
            while let Some(start) = find_ignore_case(rest, "<meta") {
                let after = &rest[start + 5..];
                let tag_end = after.find('>').unwrap_or(after.len());
                let attributes = parse_attributes(after[..tag_end].trim_end_matches('/'));
                if attributes
                    .get("name")
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                {
                    return attributes.get("content").cloned();
                }
                rest = &after[tag_end..];
            }
            None
        };
        Ok(Self {
            name: None,
            files,
            versions: Vec::new(),
            status: meta("pypi:project-status")
                .as_deref()
                .and_then(ProjectStatus::parse)
                .unwrap_or(ProjectStatus::Active),
            status_reason: meta("pypi:project-status-reason").filter(|r| !r.trim().is_empty()),
        })
    }
}

/// The root page of an index (`/simple/`): every project it hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectList {
    /// Project names as the index spells them.
    pub names: Vec<String>,
}

#[derive(Deserialize)]
struct JsonRoot {
    projects: Vec<JsonProject>,
}

#[derive(Deserialize)]
struct JsonProject {
    name: String,
}

impl ProjectList {
    /// Parses a PEP 691 JSON root page.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PageError> {
        let root: JsonRoot =
            serde_json::from_slice(bytes).map_err(|e| PageError::Json(e.to_string()))?;
        Ok(Self {
            names: root.projects.into_iter().map(|p| p.name).collect(),
        })
    }

    /// Parses a PEP 503 HTML root page: the text of every `<a>`.
    pub fn from_html(bytes: &[u8]) -> Result<Self, PageError> {
        let page = ProjectPage::from_html(bytes)?;
        Ok(Self {
            names: page.files.into_iter().map(|f| f.filename).collect(),
        })
    }
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// `name="value"`, `name='value'`, `name=value` and bare `name`, names lowercased, values unescaped.
fn parse_attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let value = if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (value, remaining) = if let Some(quote @ ('"' | '\'')) = after_eq.chars().next() {
                let inner = &after_eq[1..];
                let end = inner.find(quote).unwrap_or(inner.len());
                (&inner[..end], inner.get(end + 1..).unwrap_or(""))
            } else {
                let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
                (&after_eq[..end], &after_eq[end..])
            };
            rest = remaining.trim_start();
            unescape(value)
        } else {
            rest = rest.trim_start_matches('/').trim_start();
            String::new()
        };
        if !name.is_empty() {
            out.insert(name, value);
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pep_691_json_with_pep_700_fields() {
        let json = br#"{"meta":{"api-version":"1.1"},"name":"demo","versions":["1.0","1.1"],
          "files":[{"filename":"demo-1.0.tar.gz","url":"../../f/demo-1.0.tar.gz","hashes":{"sha256":"ABC"},
          "yanked":"broken build","size":10,"upload-time":"2026-11-01T10:00:00Z","core-metadata":{"sha256":"d"}},
          {"filename":"demo-1.1-py3-none-any.whl","url":"x","hashes":{},"yanked":false,"data-dist-info-metadata":false}]}"#;
        let page = ProjectPage::from_json(json).unwrap();
        assert_eq!(page.name.as_deref(), Some("demo"));
        assert_eq!(page.versions, ["1.0", "1.1"]);
        assert_eq!(
            page.files[0].yanked,
            Yanked::Yes(Some("broken build".into()))
        );
        assert_eq!(page.files[0].hashes["sha256"], "abc");
        assert!(page.files[0].core_metadata);
        assert_eq!(page.files[1].yanked, Yanked::No);
        assert_eq!(page.status, ProjectStatus::Active);
        assert!(matches!(
            ProjectPage::from_json(b"{\"files\": 3}"),
            Err(PageError::Json(_))
        ));
    }

    #[test]
    fn reads_root_pages() {
        let json =
            br#"{"meta":{"api-version":"1.0"},"projects":[{"name":"Demo_Pkg"},{"name":"six"}]}"#;
        assert_eq!(
            ProjectList::from_json(json).unwrap().names,
            ["Demo_Pkg", "six"]
        );
        let html = b"<html><body><a href=\"/simple/demo-pkg/\">Demo_Pkg</a>\n<a href='six/'>six</a></body></html>";
        assert_eq!(
            ProjectList::from_html(html).unwrap().names,
            ["Demo_Pkg", "six"]
        );
        assert!(ProjectList::from_json(b"{\"projects\": [{}]}").is_err());
    }

    #[test]
    fn reads_pep_503_html() {
        let html = br#"<!DOCTYPE html><html><body><h1>Links for demo</h1>
<a href="/packages/demo-1.0.tar.gz#sha256=AbC" data-requires-python="&gt;=3.9">demo-1.0.tar.gz</a><br>
<A HREF='../demo-1.1-py3-none-any.whl' data-yanked="">demo-1.1-py3-none-any.whl</A>
<a href="x.whl" data-yanked="bad &amp; broken" data-core-metadata="sha256=1">x.whl</a>
<abbr>not a link</abbr></body></html>"#;
        let page = ProjectPage::from_html(html).unwrap();
        assert_eq!(page.files.len(), 3);
        assert_eq!(page.files[0].url, "/packages/demo-1.0.tar.gz");
        assert_eq!(page.files[0].hashes["sha256"], "abc");
        assert_eq!(page.files[0].requires_python.as_deref(), Some(">=3.9"));
        assert_eq!(page.files[1].yanked, Yanked::Yes(None));
        assert_eq!(
            page.files[2].yanked,
            Yanked::Yes(Some("bad & broken".into()))
        );
        assert!(page.files[2].core_metadata);
        assert_eq!(page.status, ProjectStatus::Active);
    }

    #[test]
    fn reads_pep_792_status_markers_in_both_formats() {
        let json = br#"{"meta":{"api-version":"1.4"},"name":"old","files":[],
          "project-status":{"status":"deprecated","reason":"use new-thing"}}"#;
        let page = ProjectPage::from_json(json).unwrap();
        assert_eq!(page.status, ProjectStatus::Deprecated);
        assert_eq!(page.status_reason.as_deref(), Some("use new-thing"));
        let html = br#"<html><head><meta name="pypi:repository-version" content="1.4">
<META NAME="pypi:project-status" CONTENT="quarantined"/>
<meta name="pypi:project-status-reason" content="malware &amp; more"></head><body></body></html>"#;
        let page = ProjectPage::from_html(html).unwrap();
        assert_eq!(page.status, ProjectStatus::Quarantined);
        assert_eq!(page.status_reason.as_deref(), Some("malware & more"));
        // A value PEP 792 does not define, or an empty reason, says nothing.
        let json = br#"{"files":[],"project-status":{"status":"sunset","reason":" "}}"#;
        let page = ProjectPage::from_json(json).unwrap();
        assert_eq!(
            (page.status, page.status_reason),
            (ProjectStatus::Active, None)
        );
        let html = br#"<meta name="pypi:project-status" content="archived"><a href="a-1.0.tar.gz">a-1.0.tar.gz</a>"#;
        let page = ProjectPage::from_html(html).unwrap();
        assert_eq!(page.status, ProjectStatus::Archived);
        assert_eq!(page.files.len(), 1);
    }
}
