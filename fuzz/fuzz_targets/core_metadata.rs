#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = picket_formats::CoreMetadata::parse(data);
});
