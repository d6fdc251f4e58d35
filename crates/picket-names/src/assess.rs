//! Findings about one name, from what the name index and the detector know. The binary adds the
//! findings that need the network (`new-project`, `empty-package`, …) to the same list.

use std::fmt::Write as _;

use serde::Serialize;

use crate::hallucination::{self, HallucinationPattern};
use crate::index::NameIndex;
use crate::squat::{SquatDetector, SquatMatch};
use crate::techniques::Technique;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Look before installing.
    Medium,
    /// Do not install without checking.
    High,
    /// Known bad.
    Critical,
}

impl Severity {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What kind of finding. The serialized names are the stable ids of the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingId {
    /// The project does not exist on the index.
    Nonexistent,
    /// The name imitates a popular project's name.
    Typosquat,
    /// The name has the same confusable skeleton as a popular project's.
    Confusable,
    /// The name has the shape of an invented one and the project is obscure or new.
    HallucinationPattern,
    /// AI assistants are known to invent the name (the shipped watchlist).
    KnownHallucination,
    /// The name is a standard-library module's: Python ships it, nothing is to be installed.
    StdlibName,
    /// The project's first upload is recent.
    NewProject,
    /// The distribution holds no code.
    EmptyPackage,
    /// A console script named like another project's well-known command or name.
    EntrypointShadowing,
    /// The chosen release is yanked.
    Yanked,
    /// The index marks the project archived, deprecated or quarantined (PEP 792).
    ProjectStatus,
    /// The project has a single release.
    SingleRelease,
    /// The project has no description.
    NoDescription,
    /// An OSV `MAL-` record names the release: the package is malicious (`scan`).
    KnownMalicious,
    /// An OSV advisory affects the release (`scan`).
    Vulnerable,
    /// A requirement that is not pinned to one version (`scan`).
    Unpinned,
    /// A requirement without `--hash` where hashes are required (`scan`).
    NoHashes,
    /// A `pyproject.toml` with dependencies and no lock file next to it (`scan`).
    Unlocked,
    /// An installed file that is not what its distribution's `RECORD` says: changed, added, or
    /// outside the environment (`scan --env`).
    Tampered,
    /// A `.pth` file (or `sitecustomize.py`) that runs code at every Python start (`scan --env`).
    PthCode,
    /// The release's license is denied, or not allowed, by `[scan.licenses]` (`scan`).
    License,
}

impl FindingId {
    /// The id used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nonexistent => "nonexistent",
            Self::Typosquat => "typosquat",
            Self::Confusable => "confusable",
            Self::HallucinationPattern => "hallucination-pattern",
            Self::KnownHallucination => "known-hallucination",
            Self::StdlibName => "stdlib-name",
            Self::NewProject => "new-project",
            Self::EmptyPackage => "empty-package",
            Self::EntrypointShadowing => "entrypoint-shadowing",
            Self::Yanked => "yanked",
            Self::ProjectStatus => "project-status",
            Self::SingleRelease => "single-release",
            Self::NoDescription => "no-description",
            Self::KnownMalicious => "known-malicious",
            Self::Vulnerable => "vulnerable",
            Self::Unpinned => "unpinned",
            Self::NoHashes => "no-hashes",
            Self::Unlocked => "unlocked",
            Self::Tampered => "tampered",
            Self::PthCode => "pth-code",
            Self::License => "license",
        }
    }
}

/// One finding about a name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What kind.
    pub id: FindingId,
    /// How serious.
    pub severity: Severity,
    /// One or two sentences for a person, ending with what to do.
    pub message: String,
    /// The project the finding points at (the imitated one), if any.
    pub target: Option<String>,
    /// How the name imitates the target, if it does.
    pub technique: Option<Technique>,
}

/// Tunable parts of the assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AssessConfig {
    /// Whether the index lists every project, so absence means the project does not exist. The
    /// embedded list holds only ranked projects and cannot say so.
    pub index_is_complete: bool,
    /// A latest release within this many months of the index's newest counts as new.
    pub new_within_months: u32,
}

impl Default for AssessConfig {
    fn default() -> Self {
        Self {
            index_is_complete: false,
            new_within_months: 3,
        }
    }
}

/// What is known about one name offline: whether it exists (`None`: cannot tell) and the findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// Exists on the index; `None` when the index cannot tell.
    pub exists: Option<bool>,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
}

/// A project whose latest release is at least this many months older than the index's newest has
/// been on the index for years: it is not a squat, whatever its name resembles (squats are removed
/// within days of being reported, and new ones are young).
pub const ESTABLISHED_MONTHS: u32 = 24;

/// An old reservation (see [`crate::NameInfo::first_versions`]) is only called a squat of a target
/// ranked at most this.
pub const RESERVATION_MAX_TARGET_RANK: u32 = 100;

/// A standard-library name names its popular numbered successor (`urllib3`) when that is ranked
/// at most this.
pub const SUCCESSOR_MAX_RANK: u32 = 1000;

/// A project whose latest release is within this many months of the index's newest is young
/// enough for an invented-looking name to count against it.
pub const YOUNG_MONTHS: u32 = 18;

/// Whether the evidence is one edit of a short name (fewer than 7 characters): many honest names
/// sit one edit from a short popular one, so such a match warns rather than blocks.
fn one_short_edit(m: &SquatMatch) -> bool {
    m.target.chars().count() < 7
        && matches!(
            m.technique,
            Technique::Substitution
                | Technique::Insertion
                | Technique::Deletion
                | Technique::KeyboardAdjacent
                | Technique::RepeatedCharacter
                | Technique::OmittedCharacter
                | Technique::Transposition
        )
}

/// Evidence strong enough against a project that exists and is recent: not an affix or a
/// two-edit guess, not an edit of a short name, and a target among the most popular.
fn strong_for_existing(m: &SquatMatch) -> bool {
    !matches!(
        m.technique,
        Technique::Affix | Technique::TwoEdits | Technique::Compound
    ) && !one_short_edit(m)
        && m.target_rank <= 5000
}

/// How a target's popularity is told: its rank, or that it is a well-known name.
fn rank_words(m: &SquatMatch) -> String {
    if m.well_known {
        "a well-known name, not a ranked project".to_owned()
    } else {
        format!("rank {}", m.target_rank)
    }
}

fn squat_finding(name: &str, m: &SquatMatch) -> Finding {
    if m.technique == Technique::Confusable {
        return Finding {
            id: FindingId::Confusable,
            severity: Severity::High,
            message: format!(
                "`{name}` looks the same as `{}` ({}) once look-alike characters and separators are folded; did you mean `{}`?",
                m.target,
                rank_words(m),
                m.target
            ),
            target: Some(m.target.clone()),
            technique: Some(m.technique),
        };
    }
    let severity = if m.confidence >= 0.7 && !one_short_edit(m) {
        Severity::High
    } else if m.confidence >= 0.5 {
        Severity::Medium
    } else {
        Severity::Low
    };
    Finding {
        id: FindingId::Typosquat,
        severity,
        message: if m.technique == Technique::Compound {
            format!(
                "`{name}` is built from `{}` ({}) and other words, and no project of that name exists; did you mean `{}`?",
                m.target,
                rank_words(m),
                m.target
            )
        } else {
            format!(
                "`{name}` imitates `{}` ({}) by {}; did you mean `{}`?",
                m.target,
                rank_words(m),
                m.technique.as_str().replace('-', " "),
                m.target
            )
        },
        target: Some(m.target.clone()),
        technique: Some(m.technique),
    }
}

/// The `stdlib-name` finding: a standard-library module comes with Python, so a project of that
/// name is someone else's package — an old backport when it is established (ranked: low), else
/// worth a look (medium).
fn stdlib_finding(
    name: &str,
    exists: Option<bool>,
    own_rank: Option<u32>,
    successor: Option<(String, u32)>,
) -> Finding {
    let (severity, what) = match (exists, own_rank) {
        (Some(true), Some(rank)) => (
            Severity::Low,
            format!("the project of that name on the index (rank {rank}) is a separate package, usually an old backport"),
        ),
        (Some(false), _) => (
            Severity::Medium,
            "no project of that name exists on the index, and one that appears later is not the module".to_owned(),
        ),
        _ => (
            Severity::Medium,
            "a project of that name on the index is someone else's package, not the module".to_owned(),
        ),
    };
    let successor_words = successor.as_ref().map_or_else(String::new, |(p, rank)| {
        format!("; if you meant the project `{p}` (rank {rank}), install that")
    });
    Finding {
        id: FindingId::StdlibName,
        severity,
        message: format!(
            "`{name}` is a standard-library module: it comes with Python; {what}; import the module instead of installing anything{successor_words}"
        ),
        target: successor.map(|(p, _)| p),
        technique: None,
    }
}

/// The `known-hallucination` finding, when there is something to say: a ranked, established
/// project of that name is left alone.
fn known_finding(
    name: &str,
    k: hallucination::KnownHallucination,
    exists: Option<bool>,
    own_rank: Option<u32>,
    info: Option<crate::index::NameInfo>,
) -> Option<Finding> {
    let study = format!(
        "AI assistants are known to invent `{name}` (named by {} of {} models in a 2025 study)",
        k.models,
        hallucination::STUDY_MODELS
    );
    let (severity, message) = match exists {
        Some(false) => (
            Severity::High,
            format!(
                "{study}; it does not exist, so whoever registers it gets the installs of everyone who follows that advice; find the real project"
            ),
        ),
        Some(true) if own_rank.is_some() => return None,
        Some(true) => {
            let latest = info.and_then(|i| i.latest_release);
            let after_study =
                latest.is_none_or(|m| (m.year, m.month) >= hallucination::STUDY_MONTH);
            let when = latest.map_or_else(
                || "its release dates are unknown".to_owned(),
                |m| format!("its latest release is {:04}-{:02}", m.year, m.month),
            );
            (
                if after_study {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "{study}; a project of that name exists, {when}, with no download rank{}; make sure it is the project you meant",
                    if after_study {
                        ": it may have been registered to catch those installs (slopsquatting)"
                    } else {
                        ""
                    }
                ),
            )
        }
        None => (
            Severity::Medium,
            format!(
                "{study}; whether it exists can't be told offline with the embedded list; check the name at its source before installing"
            ),
        ),
    };
    Some(Finding {
        id: FindingId::KnownHallucination,
        severity,
        message,
        target: None,
        technique: None,
    })
}

fn pattern_words(p: &HallucinationPattern) -> String {
    if p.joined_is_project {
        format!(
            "joins two popular projects, `{}` and `{}`",
            p.base, p.joined
        )
    } else {
        format!("joins popular `{}` with the generic `{}`", p.base, p.joined)
    }
}

/// Assesses one name. Existence comes from `online` when an index answered (`Some(true)` or
/// `Some(false)`), else from the name index.
pub fn assess(
    name: &str,
    index: &NameIndex,
    detector: &SquatDetector,
    config: &AssessConfig,
    online: Option<bool>,
) -> Assessment {
    assess_with(name, index, detector, *config, online, true)
}

/// [`assess`] without the shipped watchlist of invented names: what the judgement of the name's
/// shape and the index's context finds by itself (for measuring how it generalises).
pub fn assess_unlisted(
    name: &str,
    index: &NameIndex,
    detector: &SquatDetector,
    config: &AssessConfig,
    online: Option<bool>,
) -> Assessment {
    assess_with(name, index, detector, *config, online, false)
}

fn assess_with(
    name: &str,
    index: &NameIndex,
    detector: &SquatDetector,
    config: AssessConfig,
    online: Option<bool>,
    watchlist: bool,
) -> Assessment {
    let normalized = picket_formats::normalize(name);
    let info = index.get(&normalized);
    let exists = online.or(match info {
        Some(_) => Some(true),
        None if config.index_is_complete => Some(false),
        None => None,
    });
    let own_rank = info.and_then(|i| i.rank);
    let stdlib = crate::is_stdlib(&normalized);
    let system = !stdlib && crate::is_system_library(&normalized) && own_rank.is_none();
    // A standard-library name is explained by `stdlib-name`, not as an edit of some popular
    // project (`json` is not a squat of `ujson`).
    let newest = index.newest_release().map(crate::ReleaseMonth::ordinal);
    let latest = info
        .and_then(|i| i.latest_release)
        .map(crate::ReleaseMonth::ordinal);
    let age = match (newest, latest) {
        (Some(n), Some(l)) => Some(n.saturating_sub(l)),
        _ => None,
    };
    let established = age.is_some_and(|months| months >= ESTABLISHED_MONTHS);
    // An old project that never got past its first version numbers (`0.0.1`) is a reservation,
    // not an established project: an old squat left in place keeps its name's evidence, held to
    // one or two edits of one of the most popular names.
    let reservation = established && info.is_some_and(|i| i.first_versions && i.rank.is_none());
    let squats = if stdlib || (exists == Some(true) && established && !reservation) {
        Vec::new()
    } else {
        let mut squats = detector.check(&normalized, own_rank);
        if reservation {
            // Old and never past its first versions: one or two edits of a top name.
            squats.retain(|m| {
                m.target_rank <= RESERVATION_MAX_TARGET_RANK
                    && (strong_for_existing(m) || m.technique == Technique::TwoEdits)
            });
        } else if exists == Some(true) {
            // A live project near a popular name: only strong evidence counts, as most such
            // neighbours are honest (`zapp`, `firstpy`).
            squats.retain(strong_for_existing);
        }
        if exists == Some(false) && squats.is_empty() {
            squats.extend(detector.compound(&normalized));
        }
        squats
    };
    let pattern = hallucination::pattern(&normalized, detector);
    let mut findings = Vec::new();

    if exists == Some(false) {
        let mut message = format!(
            "`{name}` does not exist on the index; anyone can register it and wait for installs"
        );
        if let Some(p) = &pattern {
            let _ = write!(
                message,
                ". The name {}, a shape AI assistants invent (slopsquatting)",
                pattern_words(p)
            );
        }
        match squats.first() {
            Some(m) => {
                let _ = write!(message, "; did you mean `{}`?", m.target);
            }
            None => message.push_str("; check the name at its source before installing"),
        }
        findings.push(Finding {
            id: FindingId::Nonexistent,
            severity: Severity::High,
            message,
            target: squats.first().map(|m| m.target.clone()),
            technique: None,
        });
    }
    // The strongest imitation per target, at most three.
    findings.extend(squats.iter().take(3).map(|m| squat_finding(name, m)));

    if stdlib {
        // A popular project named after the module with a version digit (`urllib` → `urllib3`)
        // is what someone installing the module's name most likely wanted.
        let successor = (own_rank.is_none())
            .then(|| {
                ["3", "2"].iter().find_map(|digit| {
                    let p = format!("{normalized}{digit}");
                    detector
                        .popular_rank(&p)
                        .filter(|&r| r <= SUCCESSOR_MAX_RANK)
                        .map(|r| (p, r))
                })
            })
            .flatten();
        findings.push(stdlib_finding(name, exists, own_rank, successor));
    }
    if system {
        findings.push(Finding {
            id: FindingId::StdlibName,
            severity: Severity::Medium,
            message: format!(
                "`{name}` is the name of a native system library: it is installed with the operating system's package manager, not from the Python index; a project of that name {} someone else's package; install the library through the system, or the real Python binding",
                if exists == Some(false) { "would be" } else { "is" }
            ),
            target: Some(normalized.clone()),
            technique: None,
        });
    }
    let known = hallucination::known(&normalized).filter(|_| watchlist);
    if let Some(k) = known {
        findings.extend(known_finding(name, k, exists, own_rank, info));
    }
    if exists == Some(true)
        && squats.is_empty()
        && own_rank.is_none()
        && known.is_none()
        && let Some(p) = &pattern
    {
        let is_new = age.is_some_and(|months| months < config.new_within_months.max(YOUNG_MONTHS));
        findings.push(Finding {
            id: FindingId::HallucinationPattern,
            severity: if is_new { Severity::Medium } else { Severity::Low },
            message: format!(
                "`{name}` {}, a shape AI assistants invent, and the project is obscure{}; make sure it is the project you meant, not a name a model made up",
                pattern_words(p),
                if is_new { " and new" } else { "" }
            ),
            target: Some(p.base.clone()),
            technique: None,
        });
    }
    // Beyond the list and the popular-name shapes: a young, unranked project whose name looks
    // coined from stock pieces is how slopsquatting looks on the index.
    if exists == Some(true)
        && squats.is_empty()
        && own_rank.is_none()
        && !stdlib
        && known.is_none()
        && pattern.is_none()
        && age.is_some_and(|months| months < YOUNG_MONTHS)
        && let Some(why) = hallucination::invented_shape(&normalized, detector)
    {
        let months = age.unwrap_or(0);
        findings.push(Finding {
            id: FindingId::HallucinationPattern,
            severity: Severity::Medium,
            message: format!(
                "`{name}` looks invented ({why}), has no download rank and its latest release is {months} month{} old: names of this shape are what AI assistants make up and what slopsquatters register; make sure it is the project you meant",
                if months == 1 { "" } else { "s" }
            ),
            target: None,
            technique: None,
        });
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Assessment { exists, findings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::{NameInfo, ReleaseMonth};
    use crate::squat::SquatConfig;

    fn known_of(entries: Vec<(String, NameInfo)>, complete: bool, name: &str) -> Option<Finding> {
        let index = NameIndex::from_entries(entries).unwrap();
        let detector = SquatDetector::new(&[("requests".to_owned(), 6)], SquatConfig::default());
        let config = AssessConfig {
            index_is_complete: complete,
            ..AssessConfig::default()
        };
        assess(name, &index, &detector, &config, None)
            .findings
            .into_iter()
            .find(|f| f.id == FindingId::KnownHallucination)
    }

    fn complete() -> AssessConfig {
        AssessConfig {
            index_is_complete: true,
            ..AssessConfig::default()
        }
    }

    fn info(rank: Option<u32>, month: &str) -> NameInfo {
        NameInfo {
            rank,
            latest_release: ReleaseMonth::parse(month),
            first_versions: false,
        }
    }

    #[test]
    fn standard_library_names_say_there_is_nothing_to_install() {
        let index = NameIndex::from_entries(vec![
            ("asyncio".to_owned(), info(None, "2015-03")),
            ("dataclasses".to_owned(), info(Some(900), "2020-01")),
        ])
        .unwrap();
        let detector = SquatDetector::new(&[("requests".to_owned(), 6)], SquatConfig::default());
        let config = complete();
        let stdlib = |name: &str| {
            assess(name, &index, &detector, &config, None)
                .findings
                .into_iter()
                .find(|f| f.id == FindingId::StdlibName)
                .map(|f| f.severity)
        };
        assert_eq!(stdlib("asyncio"), Some(Severity::Medium));
        assert_eq!(stdlib("dataclasses"), Some(Severity::Low));
        assert_eq!(stdlib("json"), Some(Severity::Medium));
        assert_eq!(stdlib("requests"), None);
        assert_eq!(stdlib("libssl"), Some(Severity::Medium));
    }

    #[test]
    fn an_old_reservation_of_a_top_name_is_still_a_squat() {
        let old = |first_versions| NameInfo {
            first_versions,
            ..info(None, "2021-12")
        };
        let index = NameIndex::from_entries(vec![
            ("requests".to_owned(), info(Some(6), "2026-11")),
            ("urllib3".to_owned(), info(Some(3), "2026-11")),
            ("requezts".to_owned(), old(true)),
            ("requestz".to_owned(), old(false)),
        ])
        .unwrap();
        let popular = [("requests".to_owned(), 6), ("urllib3".to_owned(), 3)];
        let detector = SquatDetector::new(&popular, SquatConfig::default());
        let config = complete();
        let target = |name: &str| {
            assess(name, &index, &detector, &config, None)
                .findings
                .into_iter()
                .find(|f| matches!(f.id, FindingId::Typosquat | FindingId::StdlibName))
                .and_then(|f| f.target)
        };
        // 0.0.3, last released five years ago: a reservation, not an established project.
        assert_eq!(target("requezts").as_deref(), Some("requests"));
        // The same age with a real version history: established.
        assert_eq!(target("requestz"), None);
        // The module's name points to its numbered successor.
        assert_eq!(target("urllib").as_deref(), Some("urllib3"));
    }

    #[test]
    fn names_models_invent_are_reported_by_what_the_index_says_of_them() {
        assert_eq!(
            hallucination::known("aetherplot").map(|k| k.models),
            Some(1)
        );
        assert!(hallucination::known("requests").is_none());
        assert_eq!(hallucination::known_len(), 713);
        let other = ("requests".to_owned(), info(Some(6), "2026-10"));
        // Unknown offline with a partial list: look before installing.
        let f = known_of(vec![other.clone()], false, "AetherPlot").unwrap();
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.message.contains("can't be told offline"), "{}", f.message);
        // Does not exist: anyone can take it.
        let f = known_of(vec![other.clone()], true, "aetherplot").unwrap();
        assert_eq!(f.severity, Severity::High);
        assert!(f.message.contains("does not exist"), "{}", f.message);
        // Registered after the study, unranked: the slopsquatting case.
        let squatted = ("aetherplot".to_owned(), info(None, "2026-06"));
        let f = known_of(vec![other.clone(), squatted], true, "aetherplot").unwrap();
        assert_eq!(f.severity, Severity::High);
        assert!(
            f.message.contains("latest release is 2026-06") && f.message.contains("slopsquatting"),
            "{}",
            f.message
        );
        // Older and unranked: medium; ranked and established: nothing to say.
        let old = ("aetherplot".to_owned(), info(None, "2019-03"));
        let f = known_of(vec![other.clone(), old], true, "aetherplot").unwrap();
        assert_eq!(f.severity, Severity::Medium);
        let ranked = ("aetherplot".to_owned(), info(Some(4000), "2026-06"));
        assert!(known_of(vec![other, ranked], true, "aetherplot").is_none());
    }
}
