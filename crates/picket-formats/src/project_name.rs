//! Project names: validity (PEP 508), normalization (PEP 503) and the confusable skeleton.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest project name picket accepts. PEP 508 sets no bound; the longest on PyPI is 188 characters (November 2026), and
/// a bound keeps every derived structure (skeletons, deletion neighbourhoods) small.
pub const MAX_NAME_LEN: usize = 256;

/// Why a string is not a valid project name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProjectName {
    /// The string is empty.
    #[error("a project name can't be empty")]
    Empty,
    /// The string is longer than [`MAX_NAME_LEN`].
    #[error("project name is {0} characters long; the limit is {MAX_NAME_LEN}")]
    TooLong(usize),
    /// A character outside `A-Z a-z 0-9 - _ .`.
    #[error(
        "project name `{name}` contains `{ch}`; only ASCII letters, digits, `-`, `_` and `.` are allowed"
    )]
    BadCharacter {
        /// The name as given.
        name: String,
        /// The first offending character.
        ch: char,
    },
    /// Starts or ends with `-`, `_` or `.`.
    #[error("project name `{0}` must start and end with a letter or digit")]
    BadEdge(String),
}

/// A valid project name, keeping the spelling it was given and its PEP 503 normal form.
///
/// Equality, ordering and hashing use the normal form, so `Foo_Bar` and `foo-bar` are the same project.
#[derive(Clone)]
pub struct ProjectName {
    given: String,
    normalized: String,
}

impl ProjectName {
    /// Checks `name` against the PEP 508 name grammar and normalizes it.
    pub fn new(name: &str) -> Result<Self, InvalidProjectName> {
        validate(name)?;
        Ok(Self {
            given: name.to_owned(),
            normalized: normalize(name),
        })
    }

    /// The spelling the name was given with.
    pub fn as_given(&self) -> &str {
        &self.given
    }

    /// The PEP 503 normal form: lowercase, runs of `-`, `_`, `.` folded to one `-`.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The confusable skeleton, see [`skeleton`].
    pub fn skeleton(&self) -> String {
        skeleton(&self.given)
    }
}

impl PartialEq for ProjectName {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}
impl Eq for ProjectName {}
impl std::hash::Hash for ProjectName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}
impl PartialOrd for ProjectName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ProjectName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.normalized.cmp(&other.normalized)
    }
}

impl fmt::Debug for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProjectName({:?})", self.given)
    }
}

impl fmt::Display for ProjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.given)
    }
}

impl FromStr for ProjectName {
    type Err = InvalidProjectName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for ProjectName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.given)
    }
}

impl<'de> Deserialize<'de> for ProjectName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.')
}

/// Checks the PEP 508 name grammar: `^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`, case-insensitive.
pub fn validate(name: &str) -> Result<(), InvalidProjectName> {
    if name.is_empty() {
        return Err(InvalidProjectName::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(InvalidProjectName::TooLong(name.chars().count()));
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(InvalidProjectName::BadCharacter {
            name: name.to_owned(),
            ch,
        });
    }
    let bytes = name.as_bytes();
    if is_separator(bytes[0]) || is_separator(bytes[bytes.len() - 1]) {
        return Err(InvalidProjectName::BadEdge(name.to_owned()));
    }
    Ok(())
}

/// PEP 503 normalization: lowercase, and every run of `-`, `_`, `.` becomes a single `-`.
///
/// Works on any string (invalid names included) so callers can normalize before validating.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator_run {
                out.push('-');
            }
            in_separator_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator_run = false;
        }
    }
    out
}

/// The confusable skeleton PyPI uses to refuse look-alike names: lowercase, separators removed,
/// `l`/`i` → `1` and `o` → `0`. Two names with the same skeleton are too similar to coexist.
pub fn skeleton(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'l' | 'i' => '1',
            'o' => '0',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_pep_503() {
        for (given, expected) in [
            ("Django", "django"),
            ("python-dateutil", "python-dateutil"),
            ("zope.interface", "zope-interface"),
            ("Foo__Bar", "foo-bar"),
            ("a-_.-b", "a-b"),
            ("ABC123", "abc123"),
        ] {
            assert_eq!(normalize(given), expected, "{given}");
        }
    }

    #[test]
    fn skeleton_collides_look_alikes() {
        assert_eq!(skeleton("Il1-Oo0"), "111000");
        assert_eq!(skeleton("requests"), skeleton("Requests"));
        assert_eq!(skeleton("pil-low"), skeleton("P1LL0W"));
        assert_ne!(skeleton("requests"), skeleton("request"));
    }

    #[test]
    fn validates_the_pep_508_grammar() {
        for ok in ["a", "A1", "foo-bar", "foo.bar_baz", "0x"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        assert_eq!(validate(""), Err(InvalidProjectName::Empty));
        assert!(matches!(
            validate("-foo"),
            Err(InvalidProjectName::BadEdge(_))
        ));
        assert!(matches!(
            validate("foo."),
            Err(InvalidProjectName::BadEdge(_))
        ));
        assert!(matches!(
            validate("foo bar"),
            Err(InvalidProjectName::BadCharacter { ch: ' ', .. })
        ));
        assert!(matches!(
            validate("réquests"),
            Err(InvalidProjectName::BadCharacter { ch: 'é', .. })
        ));
        assert!(matches!(
            validate(&"a".repeat(300)),
            Err(InvalidProjectName::TooLong(300))
        ));
    }

    #[test]
    fn names_compare_by_normal_form() {
        let a = ProjectName::new("Foo_Bar").unwrap();
        let b = ProjectName::new("foo-bar").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_given(), "Foo_Bar");
        assert_eq!(a.to_string(), "Foo_Bar");
        assert_eq!(a.normalized(), "foo-bar");
    }
}
