//! Import and version matching against records in the exact OSV schema.

use std::io::Write;
use std::path::Path;

use picket_formats::Version;
use picket_osv::{Database, OsvError};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/osv")
}

fn v(s: &str) -> Version {
    s.parse().unwrap()
}

fn ids(db: &Database, name: &str, version: &str) -> Vec<String> {
    db.affecting(name, &v(version))
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn matches_ranges_and_version_lists_under_pep_440() {
    let mut db = Database::default();
    let added = db.import(&fixtures()).unwrap();
    assert_eq!(added, 6, "npm-only and withdrawn left out");
    assert_eq!((db.skipped_other_ecosystems, db.skipped_withdrawn), (1, 1));
    // requests 2.31.0: fixed for PYSEC-2023-74 (fixed in 2.31.0), still open for the 2.32.0 fix.
    assert_eq!(ids(&db, "requests", "2.31.0"), ["GHSA-9wx4-h78v-vm56"]);
    assert_eq!(
        ids(&db, "Requests", "2.30.0"),
        ["GHSA-9wx4-h78v-vm56", "PYSEC-2023-74"]
    );
    assert!(ids(&db, "requests", "2.32.0").is_empty());
    assert_eq!(
        ids(&db, "requests", "2.2.1"),
        ["GHSA-9wx4-h78v-vm56"],
        "before PYSEC's introduced"
    );
    assert!(
        ids(&db, "requests", "2.32.0rc1").contains(&"GHSA-9wx4-h78v-vm56".to_owned()),
        "a pre-release sorts before the fix"
    );
    // urllib3: two ranges.
    assert_eq!(ids(&db, "urllib3", "1.26.5"), ["GHSA-v845-jxx5-vc9f"]);
    assert!(ids(&db, "urllib3", "1.26.17").is_empty());
    assert_eq!(ids(&db, "urllib3", "2.0.5"), ["GHSA-v845-jxx5-vc9f"]);
    assert!(ids(&db, "urllib3", "2.0.6").is_empty());
    assert!(ids(&db, "urllib3", "2.1.0").is_empty());
    // jinja2 3.1.2 (range and list agree), normalized names and versions.
    assert_eq!(ids(&db, "Jinja2", "3.1.2"), ["GHSA-h5c8-rqwp-cp95"]);
    assert_eq!(ids(&db, "jinja2", "3.1.2.0"), ["GHSA-h5c8-rqwp-cp95"]);
    assert!(ids(&db, "jinja2", "3.1.3").is_empty());
    let r = db.affecting("jinja2", &v("3.1.2"))[0];
    assert_eq!(r.fixed_versions("jinja2"), [v("3.1.3")]);
    assert_eq!(r.aliases, ["CVE-2024-22195"]);
    // MAL- records: any version.
    assert_eq!(db.malicious("reqeusts")[0].id, "MAL-0000-0001");
    assert_eq!(ids(&db, "reqeusts", "99.0"), ["MAL-0000-0001"]);
    assert!(db.malicious("requests").is_empty());
    // An invalid range never matches silently.
    assert!(ids(&db, "badrange", "0.5").is_empty());
    // ... and says why.
    assert_eq!(
        db.problems,
        [
            "PYSEC-bad-range: badrange range event has 2 keys (introduced, fixed); OSV allows exactly one; the range is ignored",
            "PYSEC-bad-range: badrange range event `introduced: not a version` is not a PEP 440 version; the range is ignored",
        ]
    );
    // Severity from the CVSS vector: the scores the advisories publish.
    let score = db.affecting("requests", &v("2.31.0"))[0].score().unwrap();
    assert_eq!((score.score, score.rating), (Some(5.6), "medium"));
    let score = r.score().unwrap();
    assert_eq!((score.score, score.rating), (Some(5.4), "medium"));
    assert_eq!(score.kind, "CVSS_V3");
    assert!(db.malicious("reqeusts")[0].score().is_none());
}

#[test]
fn severity_falls_back_to_the_database_rating_and_skips_bad_vectors() {
    let record: picket_osv::Record = serde_json::from_str(
        r#"{"id":"GHSA-test","modified":"2024-01-01T00:00:00Z",
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:X"},{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            "database_specific":{"severity":"MODERATE","cwe_ids":["CWE-1"]}}"#,
    )
    .unwrap();
    let score = record.score().unwrap();
    assert_eq!(
        (score.kind.as_str(), score.score, score.rating),
        ("CVSS_V4", Some(9.3), "critical")
    );
    assert_eq!(
        record.problems(),
        ["GHSA-test: severity `CVSS:3.1/AV:X` is not a CVSS vector; it is ignored"]
    );
    let record: picket_osv::Record =
        serde_json::from_str(r#"{"id":"GHSA-test2","database_specific":{"severity":"MODERATE"}}"#)
            .unwrap();
    assert_eq!(record.score().unwrap().rating, "medium");
}

#[test]
fn imports_an_all_zip_and_refuses_hostile_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let write_zip = |name: &str, entries: &[(&str, Vec<u8>)]| {
        let path = tmp.path().join(name);
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (entry, bytes) in entries {
            zip.start_file(*entry, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    };
    let mut entries = Vec::new();
    for file in std::fs::read_dir(fixtures()).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        entries.push((name, std::fs::read(&path).unwrap()));
    }
    let refs: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let all = write_zip("all.zip", &refs);
    let mut db = Database::default();
    assert_eq!(db.import(&all).unwrap(), 6);

    let traversal = write_zip("evil.zip", &[("../escape.json", b"{}".to_vec())]);
    let e = Database::default().import(&traversal).unwrap_err();
    assert!(
        matches!(e, OsvError::Hostile { .. }) && e.to_string().contains("leaves the archive"),
        "{e}"
    );

    let bomb = write_zip("bomb.zip", &[("big.json", vec![b' '; 5 << 20])]);
    let e = Database::default().import(&bomb).unwrap_err();
    assert!(e.to_string().contains("more than a record may hold"), "{e}");

    let wrong = write_zip(
        "wrong.zip",
        &[("x.json", br#"{"id": 5, "affected": "no"}"#.to_vec())],
    );
    let e = Database::default().import(&wrong).unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong.zip: x.json: not an OSV record"),
        "{e}"
    );

    let not_zip = tmp.path().join("plain.zip");
    std::fs::write(&not_zip, b"hello").unwrap();
    let e = Database::default().import(&not_zip).unwrap_err();
    assert!(e.to_string().contains("not a zip archive"), "{e}");
}

#[test]
fn load_for_reads_only_the_named_projects_and_falls_back_when_the_index_is_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let mut db = Database::default();
    db.import(&fixtures()).unwrap();
    db.save(tmp.path()).unwrap();

    let (some, total) = Database::load_for(tmp.path(), ["Requests", "jinja2", "nothing"]).unwrap();
    assert_eq!(total, 6);
    let mut loaded: Vec<&str> = some.records().iter().map(|r| r.id.as_str()).collect();
    loaded.sort_unstable();
    assert_eq!(
        loaded,
        [
            "GHSA-9wx4-h78v-vm56",
            "GHSA-h5c8-rqwp-cp95",
            "PYSEC-2023-74"
        ]
    );
    assert_eq!(ids(&some, "requests", "2.31.0"), ["GHSA-9wx4-h78v-vm56"]);

    // The records changed behind the index's back: everything is read instead.
    let records = picket_osv::store_path(tmp.path());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&records)
        .unwrap();
    file.write_all(b"\n").unwrap();
    let (all, total) = Database::load_for(tmp.path(), ["requests"]).unwrap();
    assert_eq!((all.len(), total), (6, 6));

    // A hostile index (spans past the end of the file) is not trusted either.
    db.save(tmp.path()).unwrap();
    let index = tmp.path().join("osv/pypi.idx");
    let text = std::fs::read_to_string(&index).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let last = lines.len() - 1;
    lines[last] = "requests\t99999999\t10".to_owned();
    std::fs::write(&index, lines.join("\n")).unwrap();
    let (all, total) = Database::load_for(tmp.path(), ["requests"]).unwrap();
    assert_eq!((all.len(), total), (6, 6));

    // No store at all: empty.
    let empty = tempfile::tempdir().unwrap();
    let (none, total) = Database::load_for(empty.path(), ["requests"]).unwrap();
    assert_eq!((none.len(), total), (0, 0));
}
