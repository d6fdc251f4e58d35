//! The bounds every inspection runs within.

use serde::Serialize;

/// Hard limits for opening an untrusted archive. Each one turns a hostile input into a typed error
/// instead of unbounded time or memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// The largest archive accepted, in bytes (compressed, as stored).
    pub max_archive_bytes: u64,
    /// The largest sum of uncompressed entry sizes.
    pub max_total_uncompressed: u64,
    /// The largest single uncompressed entry.
    pub max_entry_bytes: u64,
    /// The largest ratio of uncompressed to compressed bytes, for an entry (zip) or the whole
    /// stream (tar.gz), once past [`Limits::ratio_floor`] bytes.
    pub max_ratio: u64,
    /// Below this many uncompressed bytes the ratio is not checked: tiny files compress absurdly well.
    pub ratio_floor: u64,
    /// The most entries (files, directories, links).
    pub max_entries: usize,
    /// The longest entry path, in bytes.
    pub max_path_len: usize,
    /// The most path components an entry may have.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_archive_bytes: 1 << 30,
            max_total_uncompressed: 2 << 30,
            max_entry_bytes: 512 << 20,
            max_ratio: 200,
            ratio_floor: 1 << 20,
            max_entries: 50_000,
            max_path_len: 1024,
            max_depth: 32,
        }
    }
}
