#![no_main]
//! The same bytes read as every TOML/JSON dependency format.
use std::collections::BTreeMap;
use std::path::PathBuf;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for name in ["pyproject.toml", "uv.lock", "poetry.lock", "pylock.toml", "Pipfile.lock"] {
        let files: BTreeMap<PathBuf, Vec<u8>> = [(PathBuf::from(name), data.to_vec())].into();
        let _ = picket_deps::parse_file(&PathBuf::from(name), &files);
    }
});
