#![no_main]
//! OSV input: arbitrary bytes as one record (JSON), then everything picket derives from it —
//! the index, range matching under PEP 440, fixed versions, the CVSS score and the problems
//! reported — and the same bytes as a records file read through the per-project index.
use picket_osv::Database;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut db = Database::default();
    if db.add_json("fuzz", data).is_err() {
        return;
    }
    for record in db.records() {
        let _ = record.score();
        let _ = record.problems();
        for affected in &record.affected {
            let name = picket_formats::normalize(&affected.package.name);
            let _ = record.fixed_versions(&name);
            for v in ["0", "1.0", "2.31.0", "1!2.0.post1.dev3+local"] {
                let _ = db.affecting(&affected.package.name, &v.parse().unwrap());
            }
            for range in &affected.ranges {
                for event in &range.events {
                    for text in [&event.introduced, &event.fixed, &event.last_affected, &event.limit]
                        .into_iter()
                        .flatten()
                    {
                        if let Ok(v) = text.parse() {
                            let _ = picket_osv::in_range(range, &v);
                        }
                    }
                }
            }
        }
    }
});
