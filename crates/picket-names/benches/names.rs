//! Name-engine latency: one offline assessment (index lookup, typosquat detector, hallucination
//! patterns) with the full 886k-name index loaded when the PyPI snapshot is beside the project
//! (`../shared/data/pypi-snapshot.tsv.gz`), else with the embedded list, which the output says.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use picket_names::{AssessConfig, NameIndex, SquatConfig, SquatDetector, assess};

fn load() -> (NameIndex, bool) {
    let snapshot =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pypi-snapshot.tsv.gz");
    match std::fs::File::open(&snapshot) {
        Ok(file) => (
            NameIndex::from_tsv(flate2::read::GzDecoder::new(file)).expect("snapshot"),
            true,
        ),
        Err(_) => (NameIndex::embedded(), false),
    }
}

fn bench(c: &mut Criterion) {
    let (index, full) = load();
    eprintln!(
        "index: {} names ({})",
        index.len(),
        if full {
            "full snapshot"
        } else {
            "embedded list; snapshot not found"
        }
    );
    let detector = SquatDetector::new(&index.ranked(), SquatConfig::default());
    let config = AssessConfig {
        index_is_complete: full,
        ..AssessConfig::default()
    };
    let mut group = c.benchmark_group("check");
    for name in [
        "requests",
        "reqeusts",
        "python3-dateutil",
        "requests-helper-toolkit",
        "a-rather-long-unusual-project-name",
    ] {
        group.bench_function(name, |b| {
            b.iter(|| assess(black_box(name), &index, &detector, &config, None));
        });
    }
    group.finish();
    c.bench_function("detector/build-from-popular", |b| {
        let popular = index.ranked();
        b.iter(|| SquatDetector::new(black_box(&popular), SquatConfig::default()));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
