//! Names of the shape code-generating models invent: a popular project's name joined to a generic
//! word (`requests-helper`, `pandas-utils-pro`) or to another popular name (`flask-django`).
//!
//! Such a name is only suspicious when the project behind it is obscure or new: many real plugins
//! have this shape, and they earn downloads.

use serde::Serialize;

use crate::squat::SquatDetector;

/// Generic words that invented names add to a real one.
pub const GENERIC_WORDS: [&str; 40] = [
    "utils",
    "util",
    "helper",
    "helpers",
    "tools",
    "tool",
    "toolkit",
    "kit",
    "sdk",
    "api",
    "client",
    "wrapper",
    "lib",
    "plus",
    "pro",
    "extended",
    "ext",
    "extra",
    "extras",
    "ai",
    "llm",
    "gpt",
    "async",
    "fast",
    "easy",
    "simple",
    "auto",
    "core",
    "connector",
    "integration",
    "manager",
    "cli",
    "py",
    "python",
    "official",
    "secure",
    "master",
    "next",
    "lite",
    "v2",
];

/// The shipped watchlist of names models invent (`data/hallucinations.tsv`, with its source and
/// licence).
const KNOWN: &str = include_str!("../data/hallucinations.tsv");

/// How many models the study behind [`KNOWN`] asked.
pub const STUDY_MODELS: u8 = 7;

/// The month the study behind [`KNOWN`] ran: a project of such a name whose latest release is this
/// recent or newer was (re)registered after models were seen inventing it.
pub const STUDY_MONTH: (u16, u8) = (2025, 6);

/// A name AI models are known to invent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KnownHallucination {
    /// How many of the study's [`STUDY_MODELS`] models named it.
    pub models: u8,
}

/// The watchlist, parsed once: name → how many models named it.
fn watchlist() -> &'static std::collections::HashMap<&'static str, u8> {
    static LIST: std::sync::LazyLock<std::collections::HashMap<&'static str, u8>> =
        std::sync::LazyLock::new(|| {
            KNOWN
                .lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| {
                    let (name, models) = l.split_once('\t')?;
                    Some((name, models.trim().parse().ok()?))
                })
                .collect()
        });
    &LIST
}

/// Whether models are known to invent `normalized` (PEP 503 form), from the shipped watchlist.
pub fn known(normalized: &str) -> Option<KnownHallucination> {
    watchlist()
        .get(normalized)
        .map(|&models| KnownHallucination { models })
}

/// How many names the shipped watchlist holds (lines that failed to parse are not counted).
pub fn known_len() -> usize {
    watchlist().len()
}

/// Why a name has the shape of an invented one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HallucinationPattern {
    /// The popular project the name builds on.
    pub base: String,
    /// What was joined to it: a generic word, or a second popular project.
    pub joined: String,
    /// Whether `joined` is another popular project (else a generic word).
    pub joined_is_project: bool,
}

/// Checks whether `normalized` is `popular-generic`, `generic-popular` or `popular-popular`
/// (words split on `-`; the base must be a popular project of at least four characters).
pub fn pattern(normalized: &str, popular: &SquatDetector) -> Option<HallucinationPattern> {
    let words: Vec<&str> = normalized.split('-').collect();
    if words.len() < 2 {
        return None;
    }
    // Try every split into a popular head and a tail, then a tail and a popular head.
    for split in 1..words.len() {
        let head = words[..split].join("-");
        let tail = words[split..].join("-");
        for (base, rest) in [(&head, &tail), (&tail, &head)] {
            if base.len() < 4 || popular.popular_rank(base).is_none() {
                continue;
            }
            let rest_words: Vec<&str> = rest.split('-').collect();
            if rest_words.iter().all(|w| GENERIC_WORDS.contains(w)) {
                return Some(HallucinationPattern {
                    base: base.clone(),
                    joined: rest.clone(),
                    joined_is_project: false,
                });
            }
            if rest.len() >= 4 && popular.popular_rank(rest).is_some() {
                return Some(HallucinationPattern {
                    base: base.clone(),
                    joined: rest.clone(),
                    joined_is_project: true,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SquatConfig;

    #[test]
    fn recognizes_invented_shapes() {
        let popular: Vec<(String, u32)> = [
            ("requests", 6),
            ("pandas", 30),
            ("flask", 90),
            ("django", 528),
        ]
        .iter()
        .map(|(n, r)| ((*n).to_owned(), *r))
        .collect();
        let d = SquatDetector::new(&popular, SquatConfig::default());
        let p = pattern("requests-helper", &d).unwrap();
        assert_eq!(
            (p.base.as_str(), p.joined.as_str(), p.joined_is_project),
            ("requests", "helper", false)
        );
        let p = pattern("pandas-utils-pro", &d).unwrap();
        assert_eq!(p.joined, "utils-pro");
        let p = pattern("flask-django", &d).unwrap();
        assert!(p.joined_is_project);
        assert_eq!(pattern("ai-pandas", &d).unwrap().base, "pandas");
        assert_eq!(
            pattern("requests-oauthlib", &d),
            None,
            "a real word, not a generic one"
        );
        assert_eq!(pattern("requests", &d), None);
    }
}
