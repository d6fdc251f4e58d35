#![no_main]
use picket_formats::simple_api::ProjectPage;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ProjectPage::from_json(data);
    let _ = ProjectPage::from_html(data);
});
