//! Distribution filenames: wheels (PEP 427, PEP 491) and source distributions (PEP 625 and the legacy
//! forms still found on indexes).

use std::fmt;
use std::str::FromStr;

use pep440_rs::Version;
use serde::Serialize;

use crate::project_name::{InvalidProjectName, ProjectName};

/// Why a filename is not a distribution filename.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDistFilename {
    /// Neither `.whl` nor a known sdist extension.
    #[error(
        "`{0}` is not a distribution file: expected `.whl`, `.tar.gz` or `.zip` (also `.tar.bz2`, `.tgz`, `.tar.xz`, `.tar`)"
    )]
    UnknownExtension(String),
    /// A wheel filename without five or six dash-separated parts.
    #[error(
        "wheel filename `{0}` must look like `name-version(-build)?-pythontag-abitag-platformtag.whl`"
    )]
    WheelParts(String),
    /// The build tag does not start with a digit.
    #[error("wheel filename `{filename}` has build tag `{tag}`, which must start with a digit")]
    BuildTag {
        /// The filename.
        filename: String,
        /// The offending build tag.
        tag: String,
    },
    /// An empty tag in a compressed tag set (`py2..py3`).
    #[error("wheel filename `{0}` has an empty compatibility tag")]
    EmptyTag(String),
    /// The name part is not a valid project name.
    #[error("`{filename}`: {source}")]
    Name {
        /// The filename.
        filename: String,
        /// Why the name is invalid.
        source: InvalidProjectName,
    },
    /// The version part is not a PEP 440 version.
    #[error("`{filename}`: `{version}` is not a valid PEP 440 version")]
    Version {
        /// The filename.
        filename: String,
        /// The version part.
        version: String,
    },
    /// No split of an sdist stem gives a valid name and version.
    #[error("source distribution filename `{0}` must look like `name-version.tar.gz`")]
    SdistParts(String),
}

/// The parsed name of a wheel: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WheelFilename {
    /// The project name (stored escaped in the filename).
    pub name: ProjectName,
    /// The release version.
    #[serde(serialize_with = "serialize_display")]
    pub version: Version,
    /// The optional build tag: a number and an optional string suffix, e.g. `1` or `2abc`.
    pub build_tag: Option<String>,
    /// Python tags, the compressed set expanded (`py2.py3` → `py2`, `py3`).
    pub python_tags: Vec<String>,
    /// ABI tags, expanded.
    pub abi_tags: Vec<String>,
    /// Platform tags, expanded.
    pub platform_tags: Vec<String>,
}

impl WheelFilename {
    /// Whether the wheel declares itself pure Python (`none` ABI and `any` platform).
    pub fn is_pure(&self) -> bool {
        self.abi_tags.iter().all(|t| t == "none") && self.platform_tags.iter().all(|t| t == "any")
    }
}

/// How a source distribution is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SdistFormat {
    /// `.tar.gz` — the only form PEP 625 allows for new uploads.
    TarGz,
    /// `.zip` — legacy.
    Zip,
    /// `.tar.bz2` — legacy.
    TarBz2,
    /// `.tar.xz` — legacy.
    TarXz,
    /// `.tgz` — legacy.
    Tgz,
    /// `.tar` — legacy.
    Tar,
}

impl SdistFormat {
    const ALL: [(&'static str, SdistFormat); 6] = [
        (".tar.gz", SdistFormat::TarGz),
        (".zip", SdistFormat::Zip),
        (".tar.bz2", SdistFormat::TarBz2),
        (".tar.xz", SdistFormat::TarXz),
        (".tgz", SdistFormat::Tgz),
        (".tar", SdistFormat::Tar),
    ];

    /// The extension, with its leading dot.
    pub fn extension(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(ext, _)| ext)
    }
}

/// The parsed name of a source distribution: `{name}-{version}{.tar.gz|.zip|…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SdistFilename {
    /// The project name.
    pub name: ProjectName,
    /// The release version.
    #[serde(serialize_with = "serialize_display")]
    pub version: Version,
    /// The archive format.
    pub format: SdistFormat,
}

/// A wheel or sdist filename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DistFilename {
    /// A built distribution.
    Wheel(WheelFilename),
    /// A source distribution.
    Sdist(SdistFilename),
}

impl DistFilename {
    /// The project name.
    pub fn name(&self) -> &ProjectName {
        match self {
            Self::Wheel(w) => &w.name,
            Self::Sdist(s) => &s.name,
        }
    }

    /// The version.
    pub fn version(&self) -> &Version {
        match self {
            Self::Wheel(w) => &w.version,
            Self::Sdist(s) => &s.version,
        }
    }
}

impl FromStr for DistFilename {
    type Err = InvalidDistFilename;
    #[allow(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "PEP 427 spells the extension `.whl`; `.WHL` is not a wheel"
    )]
    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        if filename.ends_with(".whl") {
            return filename.parse().map(Self::Wheel);
        }
        filename.parse().map(Self::Sdist)
    }
}

fn serialize_display<T: fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn parse_version(filename: &str, version: &str) -> Result<Version, InvalidDistFilename> {
    Version::from_str(version).map_err(|_| InvalidDistFilename::Version {
        filename: filename.to_owned(),
        version: version.to_owned(),
    })
}

fn parse_name(filename: &str, name: &str) -> Result<ProjectName, InvalidDistFilename> {
    ProjectName::new(name).map_err(|source| InvalidDistFilename::Name {
        filename: filename.to_owned(),
        source,
    })
}

fn expand_tags(filename: &str, set: &str) -> Result<Vec<String>, InvalidDistFilename> {
    set.split('.')
        .map(|t| {
            if t.is_empty() {
                Err(InvalidDistFilename::EmptyTag(filename.to_owned()))
            } else {
                Ok(t.to_owned())
            }
        })
        .collect()
}

impl FromStr for WheelFilename {
    type Err = InvalidDistFilename;
    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        let Some(stem) = filename.strip_suffix(".whl") else {
            return Err(InvalidDistFilename::UnknownExtension(filename.to_owned()));
        };
        let parts: Vec<&str> = stem.split('-').collect();
        let (name, version, build_tag, tags) = match parts.as_slice() {
            [name, version, py, abi, plat] => (*name, *version, None, [*py, *abi, *plat]),
            [name, version, build, py, abi, plat] => {
                if !build.starts_with(|c: char| c.is_ascii_digit()) {
                    return Err(InvalidDistFilename::BuildTag {
                        filename: filename.to_owned(),
                        tag: (*build).to_owned(),
                    });
                }
                (
                    *name,
                    *version,
                    Some((*build).to_owned()),
                    [*py, *abi, *plat],
                )
            }
            _ => return Err(InvalidDistFilename::WheelParts(filename.to_owned())),
        };
        Ok(Self {
            name: parse_name(filename, name)?,
            version: parse_version(filename, version)?,
            build_tag,
            python_tags: expand_tags(filename, tags[0])?,
            abi_tags: expand_tags(filename, tags[1])?,
            platform_tags: expand_tags(filename, tags[2])?,
        })
    }
}

impl FromStr for SdistFilename {
    type Err = InvalidDistFilename;
    fn from_str(filename: &str) -> Result<Self, Self::Err> {
        let lower = filename.to_ascii_lowercase();
        let Some((ext, format)) = SdistFormat::ALL
            .iter()
            .find(|(ext, _)| lower.ends_with(ext))
            .copied()
        else {
            return Err(InvalidDistFilename::UnknownExtension(filename.to_owned()));
        };
        let stem = &filename[..filename.len() - ext.len()];
        // Legacy sdists keep dashes in the name (`python-dateutil-2.8.2`): take the first split
        // whose left side is a valid name and right side a valid version.
        for (i, _) in stem.match_indices('-') {
            let (name, version) = (&stem[..i], &stem[i + 1..]);
            if let (Ok(name), Ok(version)) = (ProjectName::new(name), Version::from_str(version)) {
                return Ok(Self {
                    name,
                    version,
                    format,
                });
            }
        }
        Err(InvalidDistFilename::SdistParts(filename.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wheels_with_build_tags_and_tag_sets() {
        let w: WheelFilename = "six-1.16.0-py2.py3-none-any.whl".parse().unwrap();
        assert_eq!(w.name.normalized(), "six");
        assert_eq!(w.version.to_string(), "1.16.0");
        assert_eq!(w.python_tags, ["py2", "py3"]);
        assert!(w.is_pure());
        assert_eq!(w.build_tag, None);

        let w: WheelFilename =
            "numpy-2.1.0-1abc-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
                .parse()
                .unwrap();
        assert_eq!(w.build_tag.as_deref(), Some("1abc"));
        assert_eq!(w.platform_tags.len(), 2);
        assert!(!w.is_pure());
    }

    #[test]
    fn rejects_bad_wheels_with_the_reason() {
        for (bad, what) in [
            ("foo-1.0-py3-none.whl", "must look like"),
            ("foo-1.0-x1-py3-none-any.whl", "build tag `x1`"),
            ("foo-1.0-py3..py2-none-any.whl", "empty compatibility tag"),
            ("foo-notaversion!-py3-none-any.whl", "not a valid PEP 440"),
            ("-foo-1.0-py3-none-any.whl", "can't be empty"),
        ] {
            let err = bad.parse::<WheelFilename>().unwrap_err().to_string();
            assert!(err.contains(what), "{bad}: {err}");
        }
    }

    #[test]
    fn parses_sdists_modern_and_legacy() {
        let s: SdistFilename = "python_dateutil-2.9.0.post0.tar.gz".parse().unwrap();
        assert_eq!(s.name.normalized(), "python-dateutil");
        assert_eq!(s.format, SdistFormat::TarGz);
        let s: SdistFilename = "python-dateutil-2.8.2.tar.gz".parse().unwrap();
        assert_eq!(s.name.normalized(), "python-dateutil");
        assert_eq!(s.version.to_string(), "2.8.2");
        let s: SdistFilename = "Foo-Bar-1.0.ZIP".parse().unwrap();
        assert_eq!(s.format, SdistFormat::Zip);
        assert_eq!(s.format.extension(), ".zip");
        assert!("foo.tar.gz".parse::<SdistFilename>().is_err());
        assert!(matches!(
            "foo-1.0.rar".parse::<DistFilename>(),
            Err(InvalidDistFilename::UnknownExtension(_))
        ));
    }
}
