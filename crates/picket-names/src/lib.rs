//! Project-name intelligence: is a name real, popular, new, or an imitation of one that is?
//!
//! - [`NameIndex`] holds the known names of an index with rank and latest-release month: the
//!   embedded default (every ranked PyPI project), or a full snapshot imported into an `fst` map.
//! - [`SquatDetector`] finds the popular names a candidate imitates and names the technique.
//! - [`CommandMap`] knows which project owns a well-known command, for entry-point shadowing.
//! - [`hallucination::pattern`] recognizes the shapes of names code-generating models invent.
//! - [`assess`] combines them into findings for one name; [`sweep`] runs the detector over a whole
//!   index on all cores.
//!
//! **Invariant:** no I/O. Callers hand in bytes (`NameIndex::from_tsv`, `from_bytes`) and get data
//! back; reading files, the network and the terminal belong to the binary.
#![deny(missing_docs)]

mod assess;
mod commands;
pub mod hallucination;
mod hashed;
mod index;
mod squat;
mod sweep;
pub mod techniques;

pub use assess::{AssessConfig, Assessment, Finding, FindingId, Severity, assess, assess_unlisted};
pub use commands::{CommandMap, Owner};
pub use index::{IndexError, NameIndex, NameInfo, ReleaseMonth};
pub use squat::{SquatConfig, SquatDetector, SquatMatch};
pub use sweep::{Suspect, sweep};
pub use techniques::Technique;

/// Whether `normalized` (PEP 503 form) is a standard-library module's name.
pub fn is_stdlib(normalized: &str) -> bool {
    static NAMES: std::sync::LazyLock<std::collections::HashSet<String>> =
        std::sync::LazyLock::new(|| stdlib_modules().collect());
    NAMES.contains(normalized)
}

/// Whether `normalized` is a well-known native library's name (`libssl`, `zlib`): installed by the
/// operating system, never from the Python index (`data/system-libs.txt`).
pub fn is_system_library(normalized: &str) -> bool {
    static NAMES: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            include_str!("../data/system-libs.txt")
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .map(str::trim)
                .collect()
        });
    NAMES.contains(normalized)
}

/// Well-known names squatters imitate that are not ranked projects (`python`, `ethereum`,
/// `detectron2`): `data/well-known-targets.tsv`, each with what it is and a source.
pub fn well_known_targets() -> impl Iterator<Item = &'static str> {
    include_str!("../data/well-known-targets.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').next())
        .map(str::trim)
}

/// The standard library's module names, normalized (PyPI refuses new projects named so);
/// `data/stdlib.txt` names the Python version they were taken from.
pub fn stdlib_modules() -> impl Iterator<Item = String> {
    include_str!("../data/stdlib.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| picket_formats::normalize(l.trim()))
}
