//! Measures the name engine on the PyPI snapshot (`../shared/data/pypi-snapshot.tsv.gz`):
//! load time, precision/recall on `examples/labelled.tsv`, false positives among popular projects
//! under several rank-ratio rules, the flag rate on ordinary names, and the full sweep time.
//!
//! `cargo run --release -p picket-names --example evaluate -- [SNAPSHOT]`
#![allow(missing_docs)]

use std::time::Instant;

use picket_names::{NameIndex, SquatConfig, SquatDetector, sweep};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/data/pypi-snapshot.tsv.gz".to_owned());
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = Instant::now();
    let index = NameIndex::from_tsv(flate2::read::GzDecoder::new(file)).expect("snapshot");
    println!(
        "import: {} names in {:.2?}; fst {} bytes",
        index.len(),
        start.elapsed(),
        index.as_bytes().len()
    );
    let bytes = index.as_bytes().to_vec();
    let start = Instant::now();
    let index = NameIndex::from_bytes(bytes).expect("reload");
    println!("load from bytes (verify + scan): {:.2?}", start.elapsed());

    let popular = index.ranked();
    let start = Instant::now();
    let detector = SquatDetector::new(&popular, SquatConfig::default());
    println!(
        "detector over {} popular names built in {:.2?}",
        detector.len(),
        start.elapsed()
    );

    // Labelled set.
    let labelled = include_str!("labelled.tsv");
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    for line in labelled
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, expected) = line.split_once('\t').expect("name<TAB>target");
        let rank = index.get(name).and_then(|i| i.rank);
        let matches = detector.check(name, rank);
        let hit = matches.first().map(|m| m.target.as_str());
        match (expected, hit) {
            ("-", None) => tn += 1,
            ("-", Some(t)) => {
                fp += 1;
                println!("  false positive: {name} -> {t}");
            }
            (want, Some(got)) if matches.iter().any(|m| m.target == want) => {
                tp += 1;
                if got != want {
                    println!("  (best match {got}, expected {want} also found) {name}");
                }
            }
            (want, got) => {
                fn_ += 1;
                println!("  missed: {name} (expected {want}, got {got:?})");
            }
        }
    }
    let precision = f64::from(tp) / f64::from(tp + fp);
    let recall = f64::from(tp) / f64::from(tp + fn_);
    println!(
        "labelled: tp {tp} fp {fp} fn {fn_} tn {tn}; precision {precision:.3} recall {recall:.3}"
    );

    // Popular projects flagged as squats of other popular projects, by rank-ratio rule.
    for ratio in [1, 5, 10, 20, 50, 100] {
        let d = SquatDetector::new(
            &popular,
            SquatConfig {
                min_rank_ratio: ratio,
                ..SquatConfig::default()
            },
        );
        let flagged = popular
            .iter()
            .filter(|(n, r)| !d.check(n, Some(*r)).is_empty())
            .count();
        println!(
            "popular flagged with min_rank_ratio {ratio:>3}: {flagged} of {} ({:.2}%)",
            popular.len(),
            100.0 * flagged as f64 / popular.len() as f64
        );
    }

    // Ordinary (unranked) names: every 80th name of the snapshot.
    let mut ordinary = Vec::new();
    let mut i = 0usize;
    index.for_each(|name, info| {
        if info.rank.is_none() {
            i += 1;
            if i.is_multiple_of(80) {
                ordinary.push(name.to_owned());
            }
        }
    });
    let flagged: Vec<&String> = ordinary
        .iter()
        .filter(|n| !detector.check(n, None).is_empty())
        .collect();
    println!(
        "ordinary names flagged: {} of {} ({:.2}%); e.g. {:?}",
        flagged.len(),
        ordinary.len(),
        100.0 * flagged.len() as f64 / ordinary.len() as f64,
        flagged.iter().take(12).collect::<Vec<_>>()
    );

    let mut by_technique = std::collections::BTreeMap::new();
    for name in &flagged {
        let best = &detector.check(name, None)[0];
        *by_technique.entry(best.technique.as_str()).or_insert(0) += 1;
    }
    println!("  by technique: {by_technique:?}");
    let high = flagged
        .iter()
        .filter(|n| detector.check(n, None)[0].confidence >= 0.7)
        .count();
    println!(
        "  of which high confidence (>= 0.7, verdict block): {high} ({:.2}%)",
        100.0 * high as f64 / ordinary.len() as f64
    );

    let start = Instant::now();
    let suspects = sweep(&index, &detector, 2, &|_| {});
    println!(
        "sweep: {} names, {} suspects in {:.2?} on 2 threads",
        index.len(),
        suspects.len(),
        start.elapsed()
    );
}
