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
    // The record with an invalid range is kept, and the user is told which range is ignored.
    assert!(
        text(&out.stderr).contains("warning: PYSEC-bad-range: badrange range event `introduced: not a version` is not a PEP 440 version; the range is ignored"),
        "{}",
        text(&out.stderr)
    );
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

#[test]
fn update_downloads_all_zip_and_revalidates_with_its_etag() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/picket-osv/tests/fixtures/osv");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        zip.start_file(
            path.file_name().unwrap().to_str().unwrap(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    let bytes = zip.finish().unwrap().into_inner();
    let (base, served) = common::canned_server_logged(vec![(
        "/osv/PyPI/all.zip".to_owned(),
        common::Canned {
            status: 200,
            content_type: "application/zip",
            body: bytes,
        },
    )]);
    let url = format!("{}osv/PyPI/all.zip", base.trim_end_matches("simple/"));
    let args = [
        "--format",
        "json",
        "db",
        "update",
        "--url",
        &url,
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let out = picket(tmp.path(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (first["updated"].as_bool(), first["records"].as_u64()),
        (Some(true), Some(6))
    );
    let out = picket(tmp.path(), &args);
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        second["updated"], false,
        "revalidated, not downloaded again"
    );
    let log = served.lock().unwrap().clone();
    assert_eq!(log.iter().map(|(_, s)| *s).collect::<Vec<_>>(), [200, 304]);
    assert_eq!(picket_osv::Database::load(&data).unwrap().len(), 6);

    // No URL: a clear error with a hint; a 404: the status named, nothing replaced.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["db", "update", "--data-dir", data.to_str().unwrap()])
        .env_remove("PICKET_OSV_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PICKET_OSV_URL"),
        "{}",
        text(&out.stderr)
    );
    let missing = format!("{}nothing.zip", base.trim_end_matches("simple/"));
    let out = picket(
        tmp.path(),
        &[
            "db",
            "update",
            "--url",
            &missing,
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("HTTP 404"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(picket_osv::Database::load(&data).unwrap().len(), 6);
}
