#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<picket_formats::DistFilename>();
        let _ = picket_formats::ProjectName::new(text);
    }
});
