//! The ways a name can imitate another, and the small string tools that recognize them.

use serde::Serialize;

/// How a candidate name imitates its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Technique {
    /// Same confusable skeleton as the target (PyPI refuses such names).
    Confusable,
    /// A look-alike character or pair: `0/o`, `1/l/i`, `rn/m`, `vv/w`, `cl/d`.
    Homoglyph,
    /// Only separators differ: `-`, `_`, `.`, or none.
    Separator,
    /// Two adjacent characters swapped.
    Transposition,
    /// A key next to the intended one.
    KeyboardAdjacent,
    /// A character typed twice.
    RepeatedCharacter,
    /// One of a doubled character left out.
    OmittedCharacter,
    /// One character replaced.
    Substitution,
    /// One character added.
    Insertion,
    /// One character removed.
    Deletion,
    /// The same words in another order: `dateutil-python`.
    WordOrder,
    /// A prefix or suffix added or removed: `python3-dateutil`, `requests-py`.
    Affix,
    /// Two edits (Damerau: insertions, deletions, substitutions, adjacent swaps) of a long, popular
    /// name: `botoceor`, `reqest`.
    TwoEdits,
    /// The same pieces of one word in another order: `plotmatlib`.
    SubwordOrder,
    /// A British (or American) spelling of the name, maybe with one more edit: `colouramas`.
    Spelling,
    /// A name that does not exist, built from a popular one and other words or letters:
    /// `requests-darwin-lite`, `fairsequence`.
    Compound,
}

impl Technique {
    /// How strongly the technique alone suggests imitation, 0–1.
    pub fn weight(self) -> f32 {
        match self {
            Self::Confusable => 0.95,
            Self::Homoglyph | Self::Separator => 0.9,
            Self::Transposition
            | Self::KeyboardAdjacent
            | Self::RepeatedCharacter
            | Self::OmittedCharacter => 0.85,
            Self::WordOrder | Self::SubwordOrder | Self::Spelling => 0.8,
            Self::Substitution | Self::Insertion | Self::Deletion => 0.75,
            Self::TwoEdits => 0.65,
            Self::Affix => 0.6,
            Self::Compound => 0.5,
        }
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confusable => "confusable",
            Self::Homoglyph => "homoglyph",
            Self::Separator => "separator",
            Self::Transposition => "transposition",
            Self::KeyboardAdjacent => "keyboard-adjacent",
            Self::RepeatedCharacter => "repeated-character",
            Self::OmittedCharacter => "omitted-character",
            Self::Substitution => "substitution",
            Self::Insertion => "insertion",
            Self::Deletion => "deletion",
            Self::WordOrder => "word-order",
            Self::Affix => "affix",
            Self::TwoEdits => "two-edits",
            Self::SubwordOrder => "subword-order",
            Self::Spelling => "spelling",
            Self::Compound => "compound",
        }
    }
}

/// Affixes squatters add to or remove from a real name (the typosquat `affix` technique).
pub const SQUAT_PREFIXES: [&str; 7] = [
    "python-", "python3-", "python2-", "py-", "py3-", "python", "py",
];
/// See [`SQUAT_PREFIXES`].
pub const SQUAT_SUFFIXES: [&str; 19] = [
    "-python",
    "-python3",
    "-py",
    "-py3",
    "-py2",
    "2",
    "3",
    "-lib",
    "-dev",
    "-pro",
    "-api",
    "-sdk",
    "-client",
    "-utils",
    "-tools",
    "-official",
    "-latest",
    "-new",
    "py",
];

/// British spellings and their American forms, as they appear inside project names.
const SPELLINGS: [(&str, &str); 12] = [
    ("colour", "color"),
    ("normalis", "normaliz"),
    ("serialis", "serializ"),
    ("visualis", "visualiz"),
    ("optimis", "optimiz"),
    ("tokenis", "tokeniz"),
    ("analys", "analyz"),
    ("initialis", "initializ"),
    ("authoris", "authoriz"),
    ("centre", "center"),
    ("licence", "license"),
    ("grey", "gray"),
];

/// `name` with British spellings turned American (`colourama` → `colorama`), or `None` when it
/// holds none.
pub fn american_spelling(name: &str) -> Option<String> {
    let mut out = name.to_owned();
    for (british, american) in SPELLINGS {
        out = out.replace(british, american);
    }
    (out != name).then_some(out)
}

/// Every distinct way of deleting two characters from `name`.
pub fn two_deletions(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::with_capacity(chars.len() * chars.len() / 2);
    for i in 0..chars.len() {
        for j in i + 1..chars.len() {
            out.push(
                chars
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != i && *k != j)
                    .map(|(_, c)| c)
                    .collect(),
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Calls `visit` with every way of deleting two characters from `name` (repeats possible), reusing
/// one buffer: the hot path of two-edit lookups, so it allocates once.
pub fn for_each_two_deletion(name: &str, mut visit: impl FnMut(&str)) {
    if !name.is_ascii() {
        for variant in two_deletions(name) {
            visit(&variant);
        }
        return;
    }
    let bytes = name.as_bytes();
    let mut buffer = String::with_capacity(bytes.len());
    for i in 0..bytes.len() {
        for j in i + 1..bytes.len() {
            buffer.clear();
            buffer.push_str(&name[..i]);
            buffer.push_str(&name[i + 1..j]);
            buffer.push_str(&name[j + 1..]);
            visit(&buffer);
        }
    }
}

/// Optimal-string-alignment distance (Damerau: adjacent swaps count one), stopping early above
/// `limit`; `None` when it exceeds `limit`.
pub fn damerau_within(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        let mut best = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
            best = best.min(d);
        }
        if best > limit {
            return None;
        }
    }
    let d = rows[a.len()][b.len()];
    (d <= limit).then_some(d)
}

/// Whether `candidate` is `target` cut into two or three pieces put in another order
/// (`plotmatlib` from `matplotlib`); both without separators.
pub fn reordered_pieces(candidate: &str, target: &str) -> bool {
    if candidate.len() != target.len() || candidate == target || !target.is_ascii() {
        return false;
    }
    let n = target.len();
    for i in 1..n {
        let (a, rest) = target.split_at(i);
        if format!("{rest}{a}") == candidate {
            return true;
        }
        for j in 1..rest.len() {
            let (b, c) = rest.split_at(j);
            for order in [[a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]] {
                if order.concat() == candidate {
                    return true;
                }
            }
        }
    }
    false
}

/// The letters of a name without separators, sorted: equal for names made of the same pieces.
pub fn sorted_letters(normalized: &str) -> String {
    let mut chars: Vec<char> = normalized.chars().filter(|c| *c != '-').collect();
    chars.sort_unstable();
    chars.into_iter().collect()
}

/// Removes separators and folds look-alike characters and pairs into one form, so every homoglyph
/// variant of a name lands on the same key.
pub fn glyph_fold(name: &str) -> String {
    // Characters first, so `c1` becomes `cl` and then folds with `d`; then the pairs, left to
    // right. One pass: no pair's letters are another's, and a fold's result (m, w, d) is in
    // none, so this is what replacing `rn`, then `vv`, then `cl` in turn gives.
    let mut chars = glyph_chars(name).peekable();
    let mut out = String::with_capacity(name.len());
    while let Some(c) = chars.next() {
        let pair = match (c, chars.peek()) {
            ('r', Some('n')) => 'm',
            ('v', Some('v')) => 'w',
            ('c', Some('l')) => 'd',
            _ => {
                out.push(c);
                continue;
            }
        };
        chars.next();
        out.push(pair);
    }
    out
}

/// `name`'s characters without separators, lowercased, look-alike digits and letters folded.
fn glyph_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' => 'l',
            other => other,
        })
}

/// Separators removed.
pub fn without_separators(normalized: &str) -> String {
    normalized.replace('-', "")
}

/// Words sorted, for names of two or more words; `None` otherwise.
pub fn sorted_words(normalized: &str) -> Option<String> {
    let mut words: Vec<&str> = normalized.split('-').filter(|w| !w.is_empty()).collect();
    if words.len() < 2 {
        return None;
    }
    words.sort_unstable();
    Some(words.join("-"))
}

/// Every 1-deletion of `name`, plus `name` itself.
pub fn deletion_neighbourhood(name: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(name.len() + 1);
    out.push(name.to_owned());
    for_each_deletion(name, |variant| out.push(variant.to_owned()));
    out.sort_unstable();
    out.dedup();
    out
}

/// Calls `visit` with every way of deleting one character from `name` (repeats possible), reusing
/// one buffer.
pub fn for_each_deletion(name: &str, mut visit: impl FnMut(&str)) {
    let mut buffer = String::with_capacity(name.len());
    for (i, c) in name.char_indices() {
        buffer.clear();
        buffer.push_str(&name[..i]);
        buffer.push_str(&name[i + c.len_utf8()..]);
        visit(&buffer);
    }
}

fn keyboard_position(c: char) -> Option<(f32, f32)> {
    const ROWS: [(&str, f32); 4] = [
        ("1234567890", 0.0),
        ("qwertyuiop", 0.5),
        ("asdfghjkl", 0.75),
        ("zxcvbnm", 1.25),
    ];
    ROWS.iter()
        .enumerate()
        .find_map(|(row, (keys, offset))| keys.find(c).map(|col| (col as f32 + offset, row as f32)))
}

fn keyboard_adjacent(a: char, b: char) -> bool {
    match (keyboard_position(a), keyboard_position(b)) {
        (Some((ax, ay)), Some((bx, by))) => (ay - by).abs() <= 1.0 && (ax - bx).abs() <= 1.0,
        _ => false,
    }
}

fn look_alike(a: char, b: char) -> bool {
    let class = |c| match c {
        '0' | 'o' => 1,
        '1' | 'l' | 'i' => 2,
        _ => 0,
    };
    class(a) != 0 && class(a) == class(b)
}

/// If `candidate` is one edit from `target` (insertion, deletion, substitution or adjacent swap),
/// names the edit.
pub fn single_edit(candidate: &str, target: &str) -> Option<Technique> {
    let c: Vec<char> = candidate.chars().collect();
    let t: Vec<char> = target.chars().collect();
    let prefix = c.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let suffix = c[prefix..]
        .iter()
        .rev()
        .zip(t[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (c_mid, t_mid) = (&c[prefix..c.len() - suffix], &t[prefix..t.len() - suffix]);
    match (c_mid, t_mid) {
        ([inserted], []) => {
            let neighbours = [c.get(prefix.wrapping_sub(1)), c.get(prefix + 1)];
            Some(if neighbours.contains(&Some(inserted)) {
                Technique::RepeatedCharacter
            } else {
                Technique::Insertion
            })
        }
        ([], [removed]) => {
            let neighbours = [t.get(prefix.wrapping_sub(1)), t.get(prefix + 1)];
            Some(if neighbours.contains(&Some(removed)) {
                Technique::OmittedCharacter
            } else {
                Technique::Deletion
            })
        }
        ([a], [b]) => Some(if look_alike(*a, *b) {
            Technique::Homoglyph
        } else if keyboard_adjacent(*a, *b) {
            Technique::KeyboardAdjacent
        } else {
            Technique::Substitution
        }),
        ([a1, a2], [b1, b2]) if a1 == b2 && a2 == b1 => Some(Technique::Transposition),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_fold_is_the_replacements_in_turn() {
        // The three replacements applied one after another, as glyph_fold did before its one pass.
        let reference = |name: &str| -> String {
            let bare: String = glyph_chars(name).collect();
            bare.replace("rn", "m")
                .replace("vv", "w")
                .replace("cl", "d")
        };
        let alphabet: Vec<char> = "rnvcl1i0-x".chars().collect();
        let mut names = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            for name in &longer {
                assert_eq!(glyph_fold(name), reference(name), "{name}");
            }
            names = longer;
        }
        for name in ["Rn-VV_cL", "İrn", "cIi0", "vvv", "rnrn", "ccl"] {
            assert_eq!(glyph_fold(name), reference(name), "{name}");
        }
    }

    #[test]
    fn names_single_edits() {
        for (candidate, target, technique) in [
            ("reqeusts", "requests", Some(Technique::Transposition)),
            ("requestss", "requests", Some(Technique::RepeatedCharacter)),
            ("reqests", "requests", Some(Technique::Deletion)),
            ("urlib3", "urllib3", Some(Technique::OmittedCharacter)),
            ("requesta", "requests", Some(Technique::KeyboardAdjacent)),
            ("djanga", "django", Some(Technique::Substitution)),
            ("dj4ngo", "django", Some(Technique::Substitution)),
            ("dj0ngo", "django", Some(Technique::Substitution)),
            ("djang0", "django", Some(Technique::Homoglyph)),
            ("requestsx", "requests", Some(Technique::Insertion)),
            ("requests", "requests", None),
            ("rqeuests", "requests", Some(Technique::Transposition)),
            ("rqustsee", "requests", None),
            ("abc", "xyz", None),
        ] {
            assert_eq!(
                single_edit(candidate, target),
                technique,
                "{candidate} vs {target}"
            );
        }
    }

    #[test]
    fn two_edit_reorder_and_spelling_tools() {
        assert_eq!(damerau_within("botoceor", "botocore", 2), Some(2));
        assert_eq!(damerau_within("reqest", "requests", 2), Some(2));
        assert_eq!(damerau_within("reqeusts", "requests", 2), Some(1));
        assert_eq!(damerau_within("numpy", "requests", 2), None);
        assert!(reordered_pieces("plotmatlib", "matplotlib"));
        assert!(reordered_pieces("learnscikit", "scikitlearn"));
        assert!(!reordered_pieces("matplotlib", "matplotlib"));
        assert_eq!(american_spelling("colourama").as_deref(), Some("colorama"));
        assert_eq!(
            american_spelling("charset-normaliser").as_deref(),
            Some("charset-normalizer")
        );
        assert_eq!(american_spelling("requests"), None);
        assert_eq!(two_deletions("abc"), ["a", "b", "c"]);
        let mut seen = Vec::new();
        for_each_two_deletion("abc", |v| seen.push(v.to_owned()));
        assert_eq!(seen, ["c", "b", "a"]);
    }

    #[test]
    fn folds_glyphs_and_words() {
        assert_eq!(glyph_fold("rnatplotlib"), glyph_fold("matplotlib"));
        assert_eq!(glyph_fold("vvheel"), glyph_fold("wheel"));
        assert_eq!(glyph_fold("c1ick"), glyph_fold("click"));
        assert_eq!(glyph_fold("clateutil"), glyph_fold("dateutil"));
        assert_eq!(glyph_fold("Pi11ow"), glyph_fold("pillow"));
        assert_eq!(
            sorted_words("dateutil-python"),
            sorted_words("python-dateutil")
        );
        assert_eq!(sorted_words("requests"), None);
        assert_eq!(deletion_neighbourhood("abc"), ["ab", "abc", "ac", "bc"]);
    }
}
