//! The install command for vetted packages: pinned to the release that was checked, with the
//! packages that did not pass left out and the reason given.

use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::results::{FindingOut, PackageOut, Source, Verdict};

/// The tool that installs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Installer {
    /// `pip install` into the current environment.
    #[default]
    Pip,
    /// `uv add`: a dependency of the uv project (pyproject.toml and uv.lock).
    Uv,
    /// `uv pip install` into the current environment.
    UvPip,
    /// `poetry add`: a dependency of the Poetry project.
    Poetry,
}

impl Installer {
    /// The command's first words.
    fn words(self) -> &'static [&'static str] {
        match self {
            Self::Pip => &["pip", "install"],
            Self::Uv => &["uv", "add"],
            Self::UvPip => &["uv", "pip", "install"],
            Self::Poetry => &["poetry", "add"],
        }
    }

    /// Whether the installer uses, without being told, an index configured at `origin` (as
    /// `picket_check::index_url` names where an index came from).
    fn reads_itself(self, origin: &str) -> bool {
        const PICKET_ONLY: [&str; 3] = ["--index", "PICKET_INDEX_URL", "picket.toml"];
        const UV_ONLY: [&str; 2] = ["UV_INDEX_URL", "UV_DEFAULT_INDEX"];
        match self {
            // PIP_INDEX_URL, a pip.conf, or the index pip itself named.
            Self::Pip => !PICKET_ONLY.contains(&origin) && !UV_ONLY.contains(&origin),
            Self::Uv | Self::UvPip => UV_ONLY.contains(&origin),
            Self::Poetry => false,
        }
    }

    /// The option that makes the installer use `index` (where the packages were vetted), if it
    /// has one on the command line.
    fn index_option(self, index: &str) -> Option<[String; 2]> {
        match self {
            Self::Pip | Self::UvPip => Some(["--index-url".to_owned(), index.to_owned()]),
            Self::Uv => Some(["--default-index".to_owned(), index.to_owned()]),
            Self::Poetry => None,
        }
    }
}

/// A package the command installs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Included {
    /// The name.
    pub name: String,
    /// The version pinned: the release that was checked (or the one asked for). `null` offline
    /// when no version was given: the command then does not pin it.
    pub version: Option<String>,
    /// `allow` or `warn`; a `warn` package's findings are in `warnings`.
    pub verdict: Verdict,
}

/// A package left out of the command.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Refused {
    /// The name as asked.
    pub name: String,
    /// `block`, or the verdict so far when it could not be vetted.
    pub verdict: Verdict,
    /// Why, for the user.
    pub reason: String,
    /// The real projects it was probably meant to be: check and install one of those instead.
    pub did_you_mean: Vec<String>,
}

/// A finding on a package the command still installs.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Warning {
    /// The package.
    pub name: String,
    /// The finding.
    #[serde(flatten)]
    pub finding: FindingOut,
}

/// The answer of `safe_install_command`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InstallResult {
    /// Where the packages were vetted.
    #[serde(flatten)]
    pub source: Source,
    /// The installer the command is for.
    pub installer: Installer,
    /// The command to run, for a POSIX shell; `null` when no package passed.
    pub command: Option<String>,
    /// The same command as an argument vector (empty when no package passed).
    pub argv: Vec<String>,
    /// The packages the command installs.
    pub included: Vec<Included>,
    /// The packages left out, with the reason: do not install them.
    pub refused: Vec<Refused>,
    /// Findings on included packages (verdict `warn`): tell the user.
    pub warnings: Vec<Warning>,
    /// Caveats about the command itself (a version not pinned offline, …).
    pub notes: Vec<String>,
}

/// The command for the vetted `packages`: `block` verdicts and packages that could not be
/// vetted are refused; the rest are pinned to the version checked. The index they were vetted
/// against (`source.index`, configured at `origin`) is passed to the installer unless it would
/// use that index anyway, so what installs is what was vetted.
pub fn command(
    installer: Installer,
    packages: &[PackageOut],
    source: Source,
    origin: Option<&str>,
) -> InstallResult {
    let mut included = Vec::new();
    let mut refused = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for p in packages {
        if let Some(error) = &p.error {
            refused.push(Refused {
                name: p.name.clone(),
                verdict: p.verdict,
                reason: format!("could not be vetted: {error}"),
                did_you_mean: p.did_you_mean.clone(),
            });
        } else if p.verdict == Verdict::Block {
            let reason = p
                .findings
                .iter()
                .filter(|f| matches!(f.severity.as_str(), "high" | "critical"))
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            refused.push(Refused {
                name: p.name.clone(),
                verdict: p.verdict,
                reason,
                did_you_mean: p.did_you_mean.clone(),
            });
        } else {
            if p.verdict == Verdict::Warn {
                warnings.extend(p.findings.iter().filter(|f| f.severity != "low").map(|f| {
                    Warning {
                        name: p.name.clone(),
                        finding: f.clone(),
                    }
                }));
            }
            if p.version.is_none() {
                notes.push(format!(
                    "{} is not pinned: offline, picket does not know its releases; give NAME==VERSION, or configure an index (PICKET_INDEX_URL, picket.toml, pip or uv settings) to pin the release checked",
                    p.name
                ));
            }
            included.push(Included {
                name: p.name.clone(),
                version: p.version.clone(),
                verdict: p.verdict,
            });
        }
    }
    let mut argv: Vec<String> = Vec::new();
    if !included.is_empty() {
        argv.extend(installer.words().iter().map(|w| (*w).to_owned()));
        if let Some(index) = &source.index
            && !origin.is_some_and(|o| installer.reads_itself(o))
        {
            match installer.index_option(index) {
                Some(option) => argv.extend(option),
                None => notes.push(format!(
                    "the packages were vetted against {index}; make sure the project installs from that index"
                )),
            }
        }
        argv.extend(included.iter().map(|p| match &p.version {
            Some(v) => format!("{}=={v}", p.name),
            None => p.name.clone(),
        }));
    }
    let command = (!argv.is_empty()).then(|| {
        argv.iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ")
    });
    InstallResult {
        source,
        installer,
        command,
        argv,
        included,
        refused,
        warnings,
        notes,
    }
}

/// `word` as a POSIX shell reads it back: as is when it holds only characters no shell treats
/// specially, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.=+/:,@".contains(c));
    if plain && !word.is_empty() {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl InstallResult {
    /// The answer as text.
    pub fn text(&self) -> String {
        let mut text = String::new();
        match &self.command {
            Some(command) => {
                let _ = writeln!(text, "Run: {command}");
            }
            None => text.push_str("No install command: no package passed.\n"),
        }
        for r in &self.refused {
            let _ = writeln!(text, "REFUSED {}: {}", r.name, r.reason);
            if !r.did_you_mean.is_empty() {
                let _ = writeln!(
                    text,
                    "  did you mean: {} (check it before installing)",
                    r.did_you_mean.join(", ")
                );
            }
        }
        for w in &self.warnings {
            let _ = writeln!(
                text,
                "WARN {}: {}: {}",
                w.name, w.finding.id, w.finding.message
            );
        }
        for n in &self.notes {
            let _ = writeln!(text, "note: {n}");
        }
        self.source.write(&mut text);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: Option<&str>, verdict: Verdict, severity: &str) -> PackageOut {
        PackageOut {
            name: name.to_owned(),
            normalized: name.to_owned(),
            version: version.map(str::to_owned),
            exists: Some(true),
            verdict,
            did_you_mean: Vec::new(),
            findings: (verdict != Verdict::Allow)
                .then(|| FindingOut {
                    id: "finding".to_owned(),
                    severity: severity.to_owned(),
                    message: format!("{name} is {severity}"),
                    target: None,
                    advisory: None,
                })
                .into_iter()
                .collect(),
            upgrade_to: None,
            age: None,
            rank: None,
            latest_release_month: None,
            error: None,
        }
    }

    fn source(index: Option<&str>) -> Source {
        Source {
            mode: if index.is_some() { "online" } else { "offline" }.to_owned(),
            index: index.map(str::to_owned),
            note: None,
        }
    }

    #[test]
    fn commands_per_installer() {
        let packages = [
            package("good", Some("1.0"), Verdict::Allow, ""),
            package("meh", Some("2.0"), Verdict::Warn, "medium"),
            package("bad", Some("0.1"), Verdict::Block, "high"),
        ];
        let index = Some("http://127.0.0.1:9/simple/");
        let check = |installer, origin, expected: &str| {
            let result = command(installer, &packages, source(index), Some(origin));
            assert_eq!(result.command.as_deref(), Some(expected));
            assert_eq!(result.refused.len(), 1);
            assert_eq!(result.refused[0].reason, "bad is high");
            assert_eq!(result.warnings.len(), 1);
            result
        };
        check(
            Installer::Pip,
            "PIP_INDEX_URL",
            "pip install good==1.0 meh==2.0",
        );
        check(
            Installer::Pip,
            "picket.toml",
            "pip install --index-url http://127.0.0.1:9/simple/ good==1.0 meh==2.0",
        );
        check(
            Installer::UvPip,
            "/etc/pip.conf",
            "uv pip install --index-url http://127.0.0.1:9/simple/ good==1.0 meh==2.0",
        );
        check(
            Installer::UvPip,
            "UV_DEFAULT_INDEX",
            "uv pip install good==1.0 meh==2.0",
        );
        check(
            Installer::Uv,
            "--index",
            "uv add --default-index http://127.0.0.1:9/simple/ good==1.0 meh==2.0",
        );
        let poetry = check(
            Installer::Poetry,
            "PICKET_INDEX_URL",
            "poetry add good==1.0 meh==2.0",
        );
        assert!(poetry.notes[0].contains("vetted against http://127.0.0.1:9/simple/"));
    }

    #[test]
    fn nothing_passes_no_command() {
        let result = command(
            Installer::Pip,
            &[package("bad", None, Verdict::Block, "critical")],
            source(None),
            None,
        );
        assert_eq!(result.command, None);
        assert!(result.argv.is_empty());
        assert!(
            result.text().starts_with(
                "No install command: no package passed.\nREFUSED bad: bad is critical\n"
            )
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("requests==2.32.3"), "requests==2.32.3");
        assert_eq!(
            shell_word("http://127.0.0.1:8080/simple/"),
            "http://127.0.0.1:8080/simple/"
        );
        assert_eq!(shell_word("pkg==1!2.0"), "'pkg==1!2.0'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
