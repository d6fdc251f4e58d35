//! `picket db import-osv` as a user runs it.

mod common;

use common::{picket, text};
use serde_json::Value;

#[test]
fn import_osv_keeps_the_pypi_records_and_reloads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/picket-osv/tests/fixtures/osv");
    let out = picket(
        tmp.path(),
        &[
            "--format",
            "json",
            "db",
            "import-osv",
            fixtures.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 6);
    assert_eq!(report["malicious"], 1);
    assert_eq!(report["skipped_withdrawn"], 1);
    let db = picket_osv::Database::load(&data).unwrap();
    assert_eq!(db.len(), 6);
    let hits = db.affecting("requests", &"2.31.0".parse().unwrap());
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, "GHSA-9wx4-h78v-vm56");

    // Bad input: a missing path, a record with wrong types; nothing replaced.
    let out = picket(
        tmp.path(),
        &[
            "db",
            "import-osv",
            "/nonexistent/all.zip",
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/all.zip"),
        "{}",
        text(&out.stderr)
    );
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("x.json"),
        br#"{"id": "X", "affected": [{"package": 3}]}"#,
    )
    .unwrap();
    let out = picket(
        tmp.path(),
        &[
            "db",
            "import-osv",
            bad.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("x.json: not an OSV record"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        picket_osv::Database::load(&data).unwrap().len(),
        6,
        "the earlier import is intact"
    );
}
