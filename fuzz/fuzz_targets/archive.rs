#![no_main]
//! The first byte picks the format; the rest is the archive. Limits are small so the fuzzer spends
//! its time on structure, not on inflating.
use picket_inspect::{Limits, inspect_bytes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let filename = match selector % 4 {
        0 => "x-1.0-py3-none-any.whl",
        1 => "x-1.0.tar.gz",
        2 => "x-1.0.zip",
        _ => "x-1.0.tar",
    };
    let limits = Limits {
        max_total_uncompressed: 8 << 20,
        max_entry_bytes: 4 << 20,
        max_entries: 2_000,
        ..Limits::default()
    };
    let _ = inspect_bytes(filename, bytes, &limits);
});
