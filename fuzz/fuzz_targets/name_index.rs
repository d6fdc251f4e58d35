#![no_main]
//! The name index from a TSV, and from raw bytes as if read from a damaged index file; a loaded
//! index is then queried and walked.
use picket_names::NameIndex;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(index) = NameIndex::from_tsv(data) {
        let _ = index.get("requests");
        let _ = index.ranked();
    }
    if let Ok(index) = NameIndex::from_bytes(data.to_vec()) {
        let _ = index.get("requests");
        index.for_each(|_, _| {});
    }
});
