#![no_main]
//! The campaign detector's input: arbitrary bytes as an event log, line by line, through the
//! parser and the detector (a tiny popular list keeps each run cheap).
use picket_campaigns::{Config, Detector, NameJudge, parse_line};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let popular = vec![("requests".to_owned(), 1), ("numpy".to_owned(), 2)];
    let mut detector = Detector::new(
        Config {
            warmup_hours: 0,
            min_accounts: 2,
            ..Config::default()
        },
        NameJudge::new(&popular, 0.7),
    );
    for line in data.split(|&b| b == b'\n') {
        if let Ok(Some((time, event))) = parse_line(line) {
            let mut batch = picket_campaigns::EventBatch::with_capacity(1);
            batch.push(time, &event);
            for (t, e) in batch.iter() {
                detector.observe(t, &e);
            }
            detector.observe(time, &event);
        }
    }
    let _ = detector.campaigns().len();
});
