//! The typosquat and look-alike detector: which popular names does a candidate imitate, and how.
//!
//! Built once from the popular names, it keeps one hash map per technique, keyed by a transform of
//! each popular name (1-deletion neighbourhoods, the confusable skeleton, a homoglyph fold, the
//! separator-free form, sorted words, affix-stripped cores). Checking a name computes the same
//! transforms of the candidate and looks them up: a few dozen hash probes instead of a comparison
//! with every popular name, which is what lets a sweep of 886k names finish in seconds.

use rustc_hash::{FxBuildHasher, FxHashMap as HashMap};
use serde::Serialize;

use crate::hashed::{HashedIds, HashedIdsBuilder};
use crate::techniques::{
    SQUAT_PREFIXES, SQUAT_SUFFIXES, Technique, american_spelling, damerau_within,
    deletion_neighbourhood, for_each_deletion, for_each_two_deletion, glyph_fold, reordered_pieces,
    single_edit, sorted_letters, sorted_words, without_separators,
};

/// Tunable parts of the detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SquatConfig {
    /// Single-character edits are only considered against targets at least this long: short names
    /// are one edit from many others.
    pub min_edit_len: usize,
    /// A ranked candidate is reported only when its target is at least this many times more popular
    /// (rank ratio); unranked candidates are always compared. Keeps established neighbours (a project
    /// and its long-standing fork) from being called squats of each other.
    pub min_rank_ratio: u32,
    /// Affix-stripped cores shorter than this are not used: `py` + `yaml` is not `yaml`.
    pub min_core_len: usize,
    /// Two-edit variants and piece reorders are only considered against targets at least this long…
    pub min_two_edit_len: usize,
    /// …and at least this popular (rank at most this): two edits from a short or obscure name
    /// reach too many honest names.
    pub max_two_edit_rank: u32,
    /// Whether the shipped well-known names that are not ranked projects (`python`, `ethereum`,
    /// `data/well-known-targets.tsv`) are targets too, at rank [`WELL_KNOWN_RANK`].
    pub well_known_targets: bool,
}

/// The rank a well-known target that is not a ranked project is compared at: the top-thousand
/// tier, below the most downloaded projects.
pub const WELL_KNOWN_RANK: u32 = 1000;

impl Default for SquatConfig {
    fn default() -> Self {
        Self {
            min_edit_len: 5,
            min_rank_ratio: 50,
            min_core_len: 4,
            min_two_edit_len: 7,
            max_two_edit_rank: 3000,
            well_known_targets: true,
        }
    }
}

/// A popular name a candidate imitates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SquatMatch {
    /// The imitated project (normalized).
    pub target: String,
    /// Its download rank.
    pub target_rank: u32,
    /// How the candidate imitates it.
    pub technique: Technique,
    /// 0–1: technique strength, scaled by the target's popularity and the candidate's own.
    pub confidence: f32,
    /// The target is a well-known name, not a ranked project (`target_rank` is then
    /// [`WELL_KNOWN_RANK`]).
    pub well_known: bool,
}

type Ids = Vec<u32>;

/// The detector. Cheap to query from many threads at once (`&self` only).
///
/// Its maps use a fast non-keyed hasher: their keys are the popular names, which are trusted; a
/// candidate name is only ever looked up, never inserted.
pub struct SquatDetector {
    config: SquatConfig,
    names: Vec<String>,
    ranks: Vec<u32>,
    exact: HashMap<String, u32>,
    /// Each long enough name and its 1-deletions, by hash: an id from here is a candidate to
    /// verify, never a match by itself (see [`HashedIds`]).
    deletions: HashedIds,
    skeletons: HashMap<String, Ids>,
    glyphs: HashMap<String, Ids>,
    bare: HashMap<String, Ids>,
    words: HashMap<String, Ids>,
    cores: HashMap<String, Ids>,
    /// Two-deletion neighbourhoods of the long, popular names, by hash (verified like
    /// `deletions`).
    deletions2: HashedIds,
    /// Sorted letters of the long, popular names, for piece reorders.
    letters: HashMap<String, Ids>,
    /// The longest of those names, in characters: a longer candidate can't be two edits away.
    longest_two_edit_target: usize,
    /// Ids from this one on are well-known targets, not ranked projects.
    first_well_known: u32,
}

fn push(map: &mut HashMap<String, Ids>, key: String, id: u32) {
    let ids = map.entry(key).or_default();
    if ids.last() != Some(&id) {
        ids.push(id);
    }
}

/// Whether two multi-word names differ in one short word only (`tensorflow-gpu`, `tensorflow-cpu`):
/// members of one family, not a typo. Squatters edit the distinctive word.
fn edits_a_short_word(candidate: &str, target: &str) -> bool {
    let (c, t): (Vec<&str>, Vec<&str>) =
        (candidate.split('-').collect(), target.split('-').collect());
    if c.len() < 2 || c.len() != t.len() {
        return false;
    }
    let mut differing = c.iter().zip(&t).filter(|(a, b)| a != b);
    // A plural of the word (`hub` → `hubs`) is an imitation, not another member of the family.
    matches!((differing.next(), differing.next()),
        (Some((own, word)), None) if word.len() < 4 && own.strip_suffix('s') != Some(word))
}

fn lookup<'a>(map: &'a HashMap<String, Ids>, key: &str) -> &'a [u32] {
    map.get(key).map_or(&[], Vec::as_slice)
}

/// `name` with one known prefix or suffix removed, every way that applies.
fn strip_affixes(name: &str, min_core_len: usize) -> impl Iterator<Item = &str> {
    let prefixed = SQUAT_PREFIXES
        .iter()
        .filter_map(move |p| name.strip_prefix(p));
    let suffixed = SQUAT_SUFFIXES
        .iter()
        .filter_map(move |s| name.strip_suffix(s));
    prefixed
        .chain(suffixed)
        .map(|core| core.trim_matches('-'))
        .filter(move |core| core.len() >= min_core_len)
}

impl SquatDetector {
    /// Builds the detector from popular names (any spelling) and their ranks.
    pub fn new(popular: &[(String, u32)], config: SquatConfig) -> Self {
        let well_known: Vec<(String, u32)> = if config.well_known_targets {
            crate::well_known_targets()
                .map(|n| (n.to_owned(), WELL_KNOWN_RANK))
                .collect()
        } else {
            Vec::new()
        };
        let mut detector = Self {
            config,
            names: Vec::with_capacity(popular.len()),
            ranks: Vec::with_capacity(popular.len()),
            exact: HashMap::with_capacity_and_hasher(popular.len(), FxBuildHasher),
            skeletons: HashMap::with_capacity_and_hasher(popular.len(), FxBuildHasher),
            glyphs: HashMap::with_capacity_and_hasher(popular.len(), FxBuildHasher),
            bare: HashMap::with_capacity_and_hasher(popular.len(), FxBuildHasher),
            words: HashMap::default(),
            cores: HashMap::default(),
            letters: HashMap::default(),
            deletions: HashedIds::default(),
            deletions2: HashedIds::default(),
            longest_two_edit_target: 0,
            first_well_known: u32::MAX,
        };
        // The variants are hashed into flat vectors, not a map of strings: half a million keys
        // (see `hashed`).
        let mut deletions = HashedIdsBuilder::with_capacity(popular.len() * 12);
        let mut deletions2 = HashedIdsBuilder::default();
        for (k, (name, rank)) in popular.iter().chain(&well_known).enumerate() {
            let normalized = picket_formats::normalize(name);
            if detector.exact.contains_key(&normalized) {
                continue;
            }
            let id = u32::try_from(detector.names.len()).expect("fewer than 4 billion names");
            if k >= popular.len() {
                detector.first_well_known = detector.first_well_known.min(id);
            }
            if normalized.chars().count() >= config.min_edit_len {
                deletions.push(&normalized, id);
                for_each_deletion(&normalized, |variant| deletions.push(variant, id));
            }
            push(
                &mut detector.skeletons,
                picket_formats::skeleton(&normalized),
                id,
            );
            push(&mut detector.glyphs, glyph_fold(&normalized), id);
            push(&mut detector.bare, without_separators(&normalized), id);
            if let Some(words) = sorted_words(&normalized) {
                push(&mut detector.words, words, id);
            }
            for core in strip_affixes(&normalized, config.min_core_len) {
                push(&mut detector.cores, core.to_owned(), id);
            }
            if normalized.chars().count() >= config.min_two_edit_len
                && *rank <= config.max_two_edit_rank
            {
                for_each_two_deletion(&normalized, |variant| deletions2.push(variant, id));
                push(&mut detector.letters, sorted_letters(&normalized), id);
                detector.longest_two_edit_target = detector
                    .longest_two_edit_target
                    .max(normalized.chars().count());
            }
            detector.exact.insert(normalized.clone(), id);
            detector.names.push(normalized);
            detector.ranks.push(*rank);
        }
        detector.deletions = deletions.build();
        detector.deletions2 = deletions2.build();
        detector
    }

    /// Whether `name` is one of the shipped well-known targets that are not ranked projects.
    pub fn is_well_known(&self, name: &str) -> bool {
        self.exact
            .get(&picket_formats::normalize(name))
            .is_some_and(|&id| id >= self.first_well_known)
    }

    /// How many popular names the detector knows (well-known targets included).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The rank of a popular name, if it is one.
    pub fn popular_rank(&self, name: &str) -> Option<u32> {
        self.exact
            .get(&picket_formats::normalize(name))
            .filter(|&&id| id < self.first_well_known)
            .map(|&id| self.ranks[id as usize])
    }

    /// For a name that does not exist: the popular project it is built from, if any — one of its
    /// words (`requests-darwin-lite`, `beautifulsoup-numpy`, the first such word), or, for one
    /// word, the longest popular name it begins or ends with (`fairsequence`, `torchtriton`). A
    /// word that is itself an old sibling of a far more popular name points to that name
    /// (`beautifulsoup` → `beautifulsoup4`). Only for absent names: existing projects named so are
    /// mostly plugins and extensions.
    pub fn compound(&self, candidate: &str) -> Option<SquatMatch> {
        let normalized = picket_formats::normalize(candidate);
        let words: Vec<&str> = normalized.split('-').collect();
        let found = if words.len() >= 2 {
            words
                .iter()
                .filter(|w| w.len() >= self.config.min_core_len)
                .find_map(|w| self.exact.get(*w).copied())
        } else {
            let bare = normalized.as_str();
            let min = self.config.min_edit_len;
            (min..bare.len().saturating_sub(1))
                .rev()
                .filter(|&i| bare.is_char_boundary(i) && bare.is_char_boundary(bare.len() - i))
                .find_map(|i| {
                    self.exact
                        .get(&bare[..i])
                        .or_else(|| self.exact.get(&bare[bare.len() - i..]))
                        .copied()
                })
        }?;
        let word = &self.names[found as usize];
        let rank = self.ranks[found as usize];
        if let Some(sibling) = self.check(word, Some(rank)).into_iter().next() {
            return Some(SquatMatch {
                technique: Technique::Compound,
                confidence: confidence(Technique::Compound, sibling.target_rank, None),
                ..sibling
            });
        }
        Some(SquatMatch {
            target: word.clone(),
            target_rank: rank,
            technique: Technique::Compound,
            confidence: confidence(Technique::Compound, rank, None),
            well_known: found >= self.first_well_known,
        })
    }

    /// The popular names `candidate` imitates, strongest first, at most one match per target.
    /// `candidate_rank` is the candidate's own rank, if it has one.
    pub fn check(&self, candidate: &str, candidate_rank: Option<u32>) -> Vec<SquatMatch> {
        let normalized = picket_formats::normalize(candidate);
        let mut found: HashMap<u32, Technique> = HashMap::default();
        self.collect(&normalized, &mut found);
        // A British spelling of a popular name, or of one edit from it (`colouramas`).
        if let Some(american) = american_spelling(&normalized) {
            let mut respelled: HashMap<u32, Technique> = HashMap::default();
            if let Some(&id) = self.exact.get(&american) {
                respelled.insert(id, Technique::Spelling);
            }
            self.collect(&american, &mut respelled);
            for (id, technique) in respelled {
                let technique = if technique == Technique::TwoEdits {
                    continue;
                } else {
                    Technique::Spelling
                };
                let best = found.entry(id).or_insert(technique);
                if technique.weight() > best.weight() {
                    *best = technique;
                }
            }
        }
        self.rank_matches(&normalized, found, candidate_rank)
    }

    fn two_edit_target(&self, id: u32) -> bool {
        self.ranks[id as usize] <= self.config.max_two_edit_rank
            && self.names[id as usize].chars().count() >= self.config.min_two_edit_len
    }

    fn collect(&self, normalized: &str, found: &mut HashMap<u32, Technique>) {
        let mut note = |id: u32, technique: Technique| {
            let best = found.entry(id).or_insert(technique);
            if technique.weight() > best.weight() {
                *best = technique;
            }
        };

        for &id in lookup(&self.skeletons, &picket_formats::skeleton(normalized)) {
            note(id, Technique::Confusable);
        }
        for &id in lookup(&self.bare, &without_separators(normalized)) {
            note(id, Technique::Separator);
        }
        for &id in lookup(&self.glyphs, &glyph_fold(normalized)) {
            note(id, Technique::Homoglyph);
        }
        if let Some(words) = sorted_words(normalized) {
            for &id in lookup(&self.words, &words) {
                note(id, Technique::WordOrder);
            }
        }
        let long_enough = normalized.chars().count() + 2 >= self.config.min_two_edit_len;
        let neighbourhood = deletion_neighbourhood(normalized);
        for variant in &neighbourhood {
            for id in self.deletions.get(variant) {
                let target = &self.names[id as usize];
                if edits_a_short_word(normalized, target) {
                    continue;
                }
                if let Some(technique) = single_edit(normalized, target) {
                    note(id, technique);
                } else if long_enough
                    && self.two_edit_target(id)
                    && damerau_within(normalized, target, 2).is_some()
                {
                    note(id, Technique::TwoEdits);
                }
            }
        }
        if long_enough {
            // Every other way to be within two edits of a long popular name: the candidate or one of
            // its 1-deletions is a 2-deletion of the target (two left out, or one left out and one
            // changed), or one of its 2-deletions is the target or a 1-deletion of it (two added, or
            // one added and one changed). Each is verified by the distance itself.
            let mut two = |id: u32| {
                let target = &self.names[id as usize];
                if self.two_edit_target(id)
                    && !edits_a_short_word(normalized, target)
                    && damerau_within(normalized, target, 2).is_some()
                {
                    note(id, Technique::TwoEdits);
                }
            };
            for variant in &neighbourhood {
                for id in self.deletions2.get(variant) {
                    two(id);
                }
            }
            if normalized.chars().count() > self.config.min_two_edit_len
                && normalized.chars().count() <= self.longest_two_edit_target + 2
            {
                for_each_two_deletion(normalized, |variant| {
                    if let Some(&id) = self.exact.get(variant) {
                        two(id);
                    }
                    for id in self.deletions.get(variant) {
                        two(id);
                    }
                });
            }
            // The pieces of one word in another order.
            let bare = without_separators(normalized);
            for &id in lookup(&self.letters, &sorted_letters(normalized)) {
                if reordered_pieces(&bare, &without_separators(&self.names[id as usize])) {
                    note(id, Technique::SubwordOrder);
                }
            }
        }
        // Affixes: the candidate is a popular name (or a popular name's core) plus or minus an affix.
        for &id in lookup(&self.cores, normalized) {
            note(id, Technique::Affix);
        }
        for core in strip_affixes(normalized, self.config.min_core_len) {
            if let Some(&id) = self.exact.get(core) {
                note(id, Technique::Affix);
            }
            for &id in lookup(&self.cores, core) {
                note(id, Technique::Affix);
            }
        }
    }

    fn rank_matches(
        &self,
        normalized: &str,
        found: HashMap<u32, Technique>,
        candidate_rank: Option<u32>,
    ) -> Vec<SquatMatch> {
        let mut matches: Vec<SquatMatch> = found
            .into_iter()
            .filter(|(id, _)| self.names[*id as usize] != normalized)
            .filter_map(|(id, technique)| {
                let target_rank = self.ranks[id as usize];
                if let Some(own) = candidate_rank
                    && own < target_rank.saturating_mul(self.config.min_rank_ratio)
                {
                    return None;
                }
                Some(SquatMatch {
                    target: self.names[id as usize].clone(),
                    target_rank,
                    technique,
                    confidence: confidence(technique, target_rank, candidate_rank),
                    well_known: id >= self.first_well_known,
                })
            })
            .collect();
        matches.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.target_rank.cmp(&b.target_rank))
        });
        // Of near-equal evidence, the far more popular target is the one imitated: `fabrice` is
        // `fabric` (rank 1,142) more than `fabric3` (a fork, rank 9,875); `beaufifulsoup` is
        // `beautifulsoup4` more than the old `beautifulsoup`.
        if let Some(best) = matches.first() {
            let (confidence, rank) = (best.confidence, best.target_rank);
            if let Some(k) = matches.iter().position(|m| {
                m.confidence + SIBLING_MARGIN >= confidence
                    && m.target_rank.saturating_mul(SIBLING_RANK_RATIO) <= rank
            }) {
                let popular = matches.remove(k);
                matches.insert(0, popular);
            }
        }
        matches
    }
}

/// A target at least this many times more popular than the best match's…
const SIBLING_RANK_RATIO: u32 = 5;
/// …whose evidence is at most this much weaker is named first.
const SIBLING_MARGIN: f32 = 0.1;

/// Technique strength, scaled by how popular (and so how worth imitating) the target is, and
/// lowered when the candidate has a following of its own.
fn confidence(technique: Technique, target_rank: u32, candidate_rank: Option<u32>) -> f32 {
    let popularity = match target_rank {
        0..=100 => 1.0,
        101..=1_000 => 0.95,
        1_001..=5_000 => 0.88,
        _ => 0.78,
    };
    let own = if candidate_rank.is_some() { 0.6 } else { 1.0 };
    technique.weight() * popularity * own
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> SquatDetector {
        let popular: Vec<(String, u32)> = [
            ("requests", 6),
            ("python-dateutil", 13),
            ("urllib3", 3),
            ("colorama", 81),
            ("beautifulsoup4", 103),
            ("django", 528),
            ("matplotlib", 60),
            ("pillow", 78),
            ("six", 14),
        ]
        .iter()
        .map(|(n, r)| ((*n).to_owned(), *r))
        .collect();
        SquatDetector::new(&popular, SquatConfig::default())
    }

    fn check(candidate: &str, target: &str, technique: Technique) {
        let matches = detector().check(candidate, None);
        let best = matches
            .first()
            .unwrap_or_else(|| panic!("{candidate}: no match"));
        assert_eq!(
            (best.target.as_str(), best.technique),
            (target, technique),
            "{candidate}: {matches:?}"
        );
    }

    #[test]
    fn finds_known_typosquats_with_their_technique() {
        check("reqeusts", "requests", Technique::Transposition);
        check("python3-dateutil", "python-dateutil", Technique::Insertion);
        check("dateutil-py", "python-dateutil", Technique::Affix);
        check("colourama", "colorama", Technique::Spelling);
        check("urlib3", "urllib3", Technique::OmittedCharacter);
        check("beautifulsup4", "beautifulsoup4", Technique::Deletion);
        check("djanga", "django", Technique::Substitution);
        check("dateutil-python", "python-dateutil", Technique::WordOrder);
        check("pythondateutil", "python-dateutil", Technique::Confusable);
        check("rnatplotlib", "matplotlib", Technique::Homoglyph);
        check("pi11ow", "pillow", Technique::Confusable);
        check("requests-py", "requests", Technique::Affix);
        check("dateutil", "python-dateutil", Technique::Affix);
        check("mattplotib", "matplotlib", Technique::TwoEdits);
        check("plotmatlib", "matplotlib", Technique::SubwordOrder);
        check("beautfulsop4", "beautifulsoup4", Technique::TwoEdits);
        check("colouramas", "colorama", Technique::Spelling);
    }

    #[test]
    fn leaves_the_real_names_and_short_ones_alone() {
        let d = detector();
        for name in [
            "requests",
            "Requests",
            "python_dateutil",
            "django",
            "flask",
            "sox",
        ] {
            assert!(
                d.check(name, None).is_empty(),
                "{name}: {:?}",
                d.check(name, None)
            );
        }
    }

    #[test]
    fn a_popular_neighbour_is_not_a_squat() {
        let d = detector();
        assert!(!d.check("reqeusts", None).is_empty());
        assert!(d.check("reqeusts", Some(250)).is_empty(), "250 < 6 × 50");
        assert!(!d.check("reqeusts", Some(500)).is_empty(), "500 ≥ 6 × 50");
    }

    #[test]
    fn the_imitated_target_is_named() {
        let popular: Vec<(String, u32)> = [
            ("fabric", 1142),
            ("fabric3", 9875),
            ("beautifulsoup4", 103),
            ("beautifulsoup", 9788),
            ("huggingface-hub", 136),
            ("requests", 6),
            ("triton", 443),
            ("torch", 30),
        ]
        .iter()
        .map(|(n, r)| ((*n).to_owned(), *r))
        .collect();
        let d = SquatDetector::new(&popular, SquatConfig::default());
        let first = |name: &str| d.check(name, None).first().map(|m| m.target.clone());
        // Near-equal evidence: the far more popular target.
        assert_eq!(first("fabrice").as_deref(), Some("fabric"));
        assert_eq!(first("beaufifulsoup").as_deref(), Some("beautifulsoup4"));
        // A plural is not a family member.
        assert_eq!(
            first("huggingface-hubs").as_deref(),
            Some("huggingface-hub")
        );
        // Well-known names that are not ranked projects.
        let python = d.check("pyhton", None);
        assert_eq!(python[0].target, "python");
        assert!(python[0].well_known);
        assert!(d.is_well_known("python") && d.popular_rank("python").is_none());
        let without = SquatDetector::new(
            &popular,
            SquatConfig {
                well_known_targets: false,
                ..SquatConfig::default()
            },
        );
        assert!(without.check("pyhton", None).is_empty());
        // Compounds of absent names.
        let compound = |name: &str| d.compound(name).map(|m| (m.target, m.technique));
        assert_eq!(
            compound("requests-darwin-lite"),
            Some(("requests".to_owned(), Technique::Compound))
        );
        assert_eq!(
            compound("beautifulsoup-numpy").map(|c| c.0).as_deref(),
            Some("beautifulsoup4")
        );
        assert_eq!(
            compound("torchtriton").map(|c| c.0).as_deref(),
            Some("triton")
        );
        assert_eq!(compound("nothing-here"), None);
    }

    #[test]
    fn family_variants_are_not_typos() {
        let popular = vec![
            ("tensorflow-cpu".to_owned(), 3940),
            ("types-pyyaml".to_owned(), 200),
        ];
        let d = SquatDetector::new(&popular, SquatConfig::default());
        assert!(d.check("tensorflow-gpu", None).is_empty());
        assert!(
            !d.check("tensorfl0w-cpu", None).is_empty(),
            "the distinctive word is edited"
        );
    }
}
