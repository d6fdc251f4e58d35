//! `entry_points.txt`: INI sections of `name = module:attr [extras]` object references.
//!
//! Read as `importlib.metadata` reads it: `=` is the only delimiter, `#` and `;` start comment lines,
//! names and values are trimmed.

use serde::Serialize;

/// The longest `entry_points.txt` line accepted.
pub const MAX_LINE: usize = 64 * 1024;

/// Why an `entry_points.txt` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryPointsError {
    /// Bytes that are not UTF-8.
    #[error("entry_points.txt line {line} is not valid UTF-8")]
    InvalidUtf8 {
        /// 1-based line number.
        line: usize,
    },
    /// A line over [`MAX_LINE`] bytes.
    #[error("entry_points.txt line {line} is {len} bytes long; the limit is {MAX_LINE}")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length.
        len: usize,
    },
    /// An entry before any `[group]` header.
    #[error("entry_points.txt line {line} defines an entry point outside any `[group]` section")]
    NoGroup {
        /// 1-based line number.
        line: usize,
    },
    /// A line that is neither a section, a comment nor `name = value`.
    #[error("entry_points.txt line {line} is not `name = module:attr`: `{text}`")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// The line, shortened.
        text: String,
    },
    /// An object reference that is not `module(.sub)*(:attr(.attr)*)?`.
    #[error(
        "entry_points.txt line {line}: `{value}` is not a valid object reference (`module:attr`)"
    )]
    ObjectReference {
        /// 1-based line number.
        line: usize,
        /// The value.
        value: String,
    },
}

/// One entry point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryPoint {
    /// The group, e.g. `console_scripts`.
    pub group: String,
    /// The name, e.g. the command a console script installs.
    pub name: String,
    /// The module part of the object reference.
    pub module: String,
    /// The attribute path after `:`, if any.
    pub attr: Option<String>,
    /// Extras in `[...]` (deprecated, still accepted).
    pub extras: Vec<String>,
    /// 1-based line number.
    pub line: usize,
}

impl EntryPoint {
    /// Whether this entry point installs a command (`console_scripts` or `gui_scripts`).
    pub fn is_script(&self) -> bool {
        self.group == "console_scripts" || self.group == "gui_scripts"
    }
}

/// All entry points of a distribution, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EntryPoints {
    /// Every entry point.
    pub entries: Vec<EntryPoint>,
}

impl EntryPoints {
    /// Parses `entry_points.txt`.
    pub fn parse(bytes: &[u8]) -> Result<Self, EntryPointsError> {
        let mut entries = Vec::new();
        let mut group: Option<String> = None;
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            if raw.len() > MAX_LINE {
                return Err(EntryPointsError::LineTooLong {
                    line,
                    len: raw.len(),
                });
            }
            let text = std::str::from_utf8(raw)
                .map_err(|_| EntryPointsError::InvalidUtf8 { line })?
                .trim();
            if text.is_empty() || text.starts_with(['#', ';']) {
                continue;
            }
            if let Some(section) = text.strip_prefix('[') {
                let Some(name) = section.strip_suffix(']') else {
                    return Err(syntax(line, text));
                };
                group = Some(name.trim().to_owned());
                continue;
            }
            let Some((name, value)) = text.split_once('=') else {
                return Err(syntax(line, text));
            };
            let Some(group) = &group else {
                return Err(EntryPointsError::NoGroup { line });
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(syntax(line, text));
            }
            let (module, attr, extras) = parse_object_reference(value.trim()).ok_or_else(|| {
                EntryPointsError::ObjectReference {
                    line,
                    value: shorten(value.trim()),
                }
            })?;
            entries.push(EntryPoint {
                group: group.clone(),
                name: name.to_owned(),
                module,
                attr,
                extras,
                line,
            });
        }
        Ok(Self { entries })
    }

    /// The entry points of one group.
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a EntryPoint> {
        self.entries.iter().filter(move |e| e.group == group)
    }

    /// The commands this distribution installs (`console_scripts` and `gui_scripts`).
    pub fn scripts(&self) -> impl Iterator<Item = &EntryPoint> {
        self.entries.iter().filter(|e| e.is_script())
    }
}

fn shorten(text: &str) -> String {
    const KEEP: usize = 80;
    match text.char_indices().nth(KEEP) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn syntax(line: usize, text: &str) -> EntryPointsError {
    EntryPointsError::Syntax {
        line,
        text: shorten(text),
    }
}

fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Splits `module.sub:attr.inner [extra1, extra2]`.
fn parse_object_reference(value: &str) -> Option<(String, Option<String>, Vec<String>)> {
    let (reference, extras) = match value.split_once('[') {
        Some((reference, rest)) => {
            let inner = rest.trim_end().strip_suffix(']')?;
            let extras: Vec<String> = inner
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_owned)
                .collect();
            (reference.trim(), extras)
        }
        None => (value, Vec::new()),
    };
    let (module, attr) = match reference.split_once(':') {
        Some((module, attr)) => (module.trim(), Some(attr.trim())),
        None => (reference, None),
    };
    if !is_dotted_identifier(module) || attr.is_some_and(|a| !is_dotted_identifier(a)) {
        return None;
    }
    Some((module.to_owned(), attr.map(str::to_owned), extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_scripts_and_references() {
        let input = b"# generated\n[console_scripts]\nblack = black:patched_main\n\
blackd = blackd:patched_main [d]\n\n[gui_scripts]\nviewer=pkg.gui:App.run\n\n\
[pytest11]\nplugin = pkg.plugin\n";
        let eps = EntryPoints::parse(input).unwrap();
        assert_eq!(eps.entries.len(), 4);
        let scripts: Vec<&str> = eps.scripts().map(|e| e.name.as_str()).collect();
        assert_eq!(scripts, ["black", "blackd", "viewer"]);
        let blackd = &eps.entries[1];
        assert_eq!(blackd.extras, ["d"]);
        assert_eq!(blackd.line, 4);
        let viewer = eps.group("gui_scripts").next().unwrap();
        assert_eq!(viewer.module, "pkg.gui");
        assert_eq!(viewer.attr.as_deref(), Some("App.run"));
        assert_eq!(eps.group("pytest11").next().unwrap().attr, None);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        for (input, expected) in [
            (&b"x = y:z\n"[..], "line 1 defines an entry point outside"),
            (b"[g]\njust text\n", "line 2 is not `name = module:attr`"),
            (
                b"[g]\nx = 1bad:z\n",
                "`1bad:z` is not a valid object reference",
            ),
            (b"[g]\nx = a:b [oops\n", "not a valid object reference"),
            (b"[g\n", "line 1 is not"),
            (b"[g]\nx = a\xff\n", "line 2 is not valid UTF-8"),
        ] {
            let err = EntryPoints::parse(input).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }
}
