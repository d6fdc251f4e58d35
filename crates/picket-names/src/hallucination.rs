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

/// Word pieces invented names are commonly coined from: domains (`plot`, `chart`, `geo`), crafts
/// (`smith`, `forge`, `craft`), and the generic tails (`lib`, `utils`, `kit`, `py`). Chosen as
/// categories, not from any evaluation list.
const PIECES: [&str; 96] = [
    "plot", "chart", "graph", "viz", "vis", "visual", "data", "text", "word", "words", "num",
    "math", "stat", "stats", "geo", "quad", "pair", "gen", "flow", "craft", "smith", "forge",
    "lib", "libs", "util", "utils", "kit", "tool", "tools", "hub", "lab", "core", "py", "io", "ml",
    "ai", "net", "web", "api", "cli", "sdk", "fast", "easy", "auto", "smart", "deep", "neural",
    "vision", "audio", "image", "time", "date", "weather", "climate", "future", "spectra",
    "signal", "wave", "norm", "metric", "metrics", "scope", "sense", "mind", "logic", "sync",
    "async", "cloud", "secure", "quick", "simple", "meta", "multi", "super", "hyper", "micro",
    "mini", "nano", "open", "pro", "plus", "lite", "matrix", "vector", "tensor", "model", "models",
    "train", "learn", "sci", "bio", "chem", "phys", "quant", "finance", "market",
];

/// Why a name looks invented, judged by its shape alone: a year tacked on (`plotter2025`), a
/// popular name with a digit added (`httpx2`), a generic tail on any word (`quadlib`,
/// `panda-cli`), or a compound made only of stock pieces (`chartflow`, `climategraph`).
pub fn invented_shape(normalized: &str, popular: &SquatDetector) -> Option<String> {
    let bare: String = normalized.chars().filter(|c| *c != '-').collect();
    if bare.len() < 5 || !bare.is_ascii() {
        return None;
    }
    let digits = bare.len() - bare.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let stem = &bare[..bare.len() - digits];
    if digits == 4 && (bare[stem.len()..].starts_with("20") || bare[stem.len()..].starts_with("19"))
    {
        return Some(format!("`{stem}` with a year added"));
    }
    if (1..=2).contains(&digits) && stem.len() >= 4 && popular.popular_rank(stem).is_some() {
        return Some(format!("the popular `{stem}` with a number added"));
    }
    for tail in ["lib", "utils", "util", "kit", "cli", "py", "sdk", "tools"] {
        if let Some(head) = bare.strip_suffix(tail)
            && head.len() >= 4
            && normalized.len() > tail.len()
        {
            return Some(format!("`{head}` with the generic `{tail}` added"));
        }
    }
    // A compound made only of stock pieces (at least two, each at least two letters).
    let n = bare.len();
    let mut split: Vec<Option<usize>> = vec![None; n + 1];
    split[0] = Some(0);
    for end in 1..=n {
        for start in 0..end {
            if let Some(count) = split[start]
                && PIECES.contains(&&bare[start..end])
            {
                let count = count + 1;
                if split[end].is_none_or(|c| c > count) {
                    split[end] = Some(count);
                }
            }
        }
    }
    match split[n] {
        Some(count) if count >= 2 => Some("a compound of stock words".to_owned()),
        _ => None,
    }
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
    fn judges_the_shape_of_unlisted_names() {
        let popular = vec![("httpx".to_owned(), 60), ("numpy".to_owned(), 2)];
        let d = SquatDetector::new(&popular, SquatConfig::default());
        for name in [
            "plotter2025",
            "httpx2",
            "quadlib",
            "panda-cli",
            "chartflow",
            "geo-metrics",
        ] {
            assert!(invented_shape(name, &d).is_some(), "{name}");
        }
        for name in ["pandas", "sinusoidal", "requests", "django", "py"] {
            assert!(invented_shape(name, &d).is_none(), "{name}");
        }
    }

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
