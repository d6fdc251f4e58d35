//! The name engine's quality on material it was not built from, with the full PyPI snapshot
//! (`../shared/data/pypi-snapshot.tsv.gz`) and the name lists of `../shared/data/hallucinations/`:
//!
//! - real typosquats from public reports (`examples/squats.tsv`, each row sourced), split by a
//!   seeded hash of the name into a tuning half and a held-out half: is the right target named?
//! - 3,000 random existing project names (seeded sample of the snapshot): how many get a
//!   typosquat finding?
//! - the real recommended packages: is any blocked (the 95 best-ranked, and all of them)?
//! - slopsquatting: the training half's names that exist on the index, flagged warn or block, with
//!   and without the shipped watchlist; and the same rate on the real recommended names.
//!
//! `cargo run --release -p picket-names --example quality -- [DATA_DIR]` (default `../shared/data`)
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use picket_names::{
    AssessConfig, Finding, FindingId, NameIndex, Severity, SquatConfig, SquatDetector, assess,
    assess_unlisted,
};

/// Seed of the tuning/held-out split and of the random sample. Fixed before any tuning.
const SEED: u64 = 13;

fn fnv(text: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn is_squat(f: &Finding) -> bool {
    matches!(f.id, FindingId::Typosquat | FindingId::Confusable)
}

fn verdict(findings: &[Finding]) -> &'static str {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::High | Severity::Critical) => "block",
        Some(Severity::Medium) => "warn",
        _ => "allow",
    }
}

fn pct(n: usize, of: usize) -> String {
    format!("{n}/{of} ({:.1}%)", 100.0 * n as f64 / of.max(1) as f64)
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/data".to_owned()),
    );
    let snapshot = dir.join("pypi-snapshot.tsv.gz");
    let file =
        std::fs::File::open(&snapshot).unwrap_or_else(|e| panic!("{}: {e}", snapshot.display()));
    let index = NameIndex::from_tsv(flate2::read::GzDecoder::new(file)).expect("snapshot");
    let detector = SquatDetector::new(&index.ranked(), SquatConfig::default());
    let config = AssessConfig {
        index_is_complete: true,
        ..AssessConfig::default()
    };
    println!(
        "index: {} names, {} ranked (and {} well-known targets)",
        index.len(),
        index.ranked().len(),
        picket_names::well_known_targets().count()
    );

    // 1. Real squats, two halves; and again without the shipped well-known targets, which were
    //    written after reading the tuning half's misses.
    real_squats(&index, &detector, config, "");
    let bare = SquatDetector::new(
        &index.ranked(),
        SquatConfig {
            well_known_targets: false,
            ..SquatConfig::default()
        },
    );
    real_squats(&index, &bare, config, " (without the well-known targets)");

    // 2. Random existing names.
    let mut all = Vec::with_capacity(index.len());
    index.for_each(|name, _| all.push(name.to_owned()));
    let mut state = SEED.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut sample = Vec::with_capacity(3000);
    while sample.len() < 3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let name = &all[usize::try_from(state % all.len() as u64).expect("fits")];
        if !sample.contains(name) {
            sample.push(name.clone());
        }
    }
    let mut flagged = Vec::new();
    let mut flagged_warn = 0;
    for name in &sample {
        let a = assess(name, &index, &detector, &config, None);
        if let Some(f) = a.findings.iter().find(|f| is_squat(f)) {
            if f.severity >= Severity::Medium {
                flagged_warn += 1;
            }
            flagged.push(format!(
                "{name} -> {} ({}, {})",
                f.target.as_deref().unwrap_or("?"),
                f.technique.map_or("-", |t| t.as_str()),
                f.severity.as_str()
            ));
        }
    }
    println!(
        "random existing names with a typosquat finding: {}; of which warn or block {}",
        pct(flagged.len(), sample.len()),
        pct(flagged_warn, sample.len())
    );
    for f in &flagged {
        println!("  {f}");
    }

    // 3. Real recommended packages.
    let real_text = std::fs::read_to_string(dir.join("hallucinations/real-recommended.txt"))
        .expect("real-recommended.txt");
    let real: Vec<&str> = real_text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut by_rank: Vec<(u32, &str)> = real
        .iter()
        .map(|n| (index.get(n).and_then(|i| i.rank).unwrap_or(u32::MAX), *n))
        .collect();
    by_rank.sort_unstable();
    let top: Vec<&str> = by_rank.iter().take(95).map(|(_, n)| *n).collect();
    let blocked_top: Vec<&&str> = top
        .iter()
        .filter(|n| verdict(&assess(n, &index, &detector, &config, None).findings) == "block")
        .collect();
    println!(
        "95 best-ranked real recommended packages blocked: {} {blocked_top:?}",
        blocked_top.len()
    );
    let mut real_counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut slop_real = Vec::new();
    for n in &real {
        let a = assess(n, &index, &detector, &config, None);
        *real_counts.entry(verdict(&a.findings)).or_default() += 1;
        if let Some(f) = a.findings.iter().find(|f| {
            matches!(
                f.id,
                FindingId::HallucinationPattern | FindingId::KnownHallucination
            ) && f.severity >= Severity::Medium
        }) {
            slop_real.push(format!("{n} ({})", f.id.as_str()));
        }
    }
    println!(
        "all {} real recommended: {real_counts:?}; typosquat-blocked {}",
        real.len(),
        real.iter()
            .filter(|n| assess(n, &index, &detector, &config, None)
                .findings
                .iter()
                .any(|f| is_squat(f) && f.severity >= Severity::High))
            .count()
    );
    println!(
        "real recommended flagged warn/block as invented names: {} {slop_real:?}",
        pct(slop_real.len(), real.len())
    );

    // 4. Slopsquatting: the training half's names that exist on the index.
    let train = std::fs::read_to_string(dir.join("hallucinations/hallucinated-train.tsv"))
        .expect("hallucinated-train.tsv");
    let names: Vec<&str> = train
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    let existing: Vec<&&str> = names.iter().filter(|n| index.get(n).is_some()).collect();
    for (label, listed) in [
        ("with the watchlist", true),
        ("without the watchlist", false),
    ] {
        let mut hit = 0;
        let mut misses = Vec::new();
        for n in &existing {
            let a = if listed {
                assess(n, &index, &detector, &config, None)
            } else {
                assess_unlisted(n, &index, &detector, &config, None)
            };
            if verdict(&a.findings) == "allow" {
                misses.push(**n);
            } else {
                hit += 1;
            }
        }
        println!(
            "training-half names on the index flagged warn/block {label}: {}; missed {misses:?}",
            pct(hit, existing.len())
        );
    }
    let unlisted_real = real
        .iter()
        .filter(|n| {
            assess_unlisted(n, &index, &detector, &config, None)
                .findings
                .iter()
                .any(|f| f.id == FindingId::HallucinationPattern && f.severity >= Severity::Medium)
        })
        .count();
    println!(
        "real recommended flagged warn/block by the invented-name judgement alone: {}",
        pct(unlisted_real, real.len())
    );

    // 5. The same slopsquat rates with the embedded list only (what a fresh install knows).
    let embedded = NameIndex::embedded();
    let small = SquatDetector::new(&embedded.ranked(), SquatConfig::default());
    let partial = AssessConfig::default();
    let slop = |n: &str, listed: bool| {
        let a = if listed {
            assess(n, &embedded, &small, &partial, None)
        } else {
            assess_unlisted(n, &embedded, &small, &partial, None)
        };
        a.findings.iter().any(|f| {
            matches!(
                f.id,
                FindingId::HallucinationPattern | FindingId::KnownHallucination
            ) && f.severity >= Severity::Medium
        })
    };
    for (label, listed) in [
        ("with the watchlist", true),
        ("without the watchlist", false),
    ] {
        let train_hit = existing.iter().filter(|n| slop(n, listed)).count();
        let real_hit = real.iter().filter(|n| slop(n, listed)).count();
        println!(
            "embedded list only, {label}: training-half names on the index {}; real recommended {}",
            pct(train_hit, existing.len()),
            pct(real_hit, real.len())
        );
    }
}

fn real_squats(index: &NameIndex, detector: &SquatDetector, config: AssessConfig, label: &str) {
    let labelled = include_str!("squats.tsv");
    let mut halves: BTreeMap<&str, (usize, usize, usize, Vec<String>)> = BTreeMap::new();
    for line in labelled
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut cols = line.split('\t');
        let (name, want) = (cols.next().unwrap(), cols.next().unwrap());
        let half = if fnv(name, SEED).is_multiple_of(2) {
            "tune"
        } else {
            "held-out"
        };
        let a = assess(name, index, detector, &config, None);
        let got = a
            .findings
            .iter()
            .find(|f| is_squat(f) || f.id == FindingId::StdlibName)
            .and_then(|f| {
                f.target
                    .clone()
                    .or_else(|| Some(format!("({})", f.id.as_str())))
            });
        let entry = halves.entry(half).or_default();
        entry.0 += 1;
        if got.as_deref() == Some(want) {
            entry.1 += 1;
        } else {
            entry.3.push(format!(
                "{name} -> {} (expected {want}; exists {:?}, verdict {})",
                got.unwrap_or_else(|| "nothing".to_owned()),
                a.exists,
                verdict(&a.findings)
            ));
        }
        if verdict(&a.findings) != "allow" {
            entry.2 += 1;
        }
    }
    for (half, (n, right, flagged, misses)) in &halves {
        println!(
            "real squats{label}, {half} half: right target {}; warn or block {}",
            pct(*right, *n),
            pct(*flagged, *n)
        );
        for m in misses {
            println!("  miss: {m}");
        }
    }
}
