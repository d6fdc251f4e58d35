#![no_main]
//! The first file includes the others: the input is split on NUL bytes into up to four files,
//! `r0.txt`..`r3.txt`, so includes and cycles between them get explored too.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files: BTreeMap<PathBuf, Vec<u8>> = data
        .split(|&b| b == 0)
        .take(4)
        .enumerate()
        .map(|(i, part)| (PathBuf::from(format!("r{i}.txt")), part.to_vec()))
        .collect();
    let _ = picket_deps::parse_file(Path::new("r0.txt"), &files);
});
