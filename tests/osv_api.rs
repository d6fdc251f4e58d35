//! The OSV API of `picket serve` (issue 16, part 1), driven by a real OSV client (pip-audit) and
//! by hand: the same advisories as `picket scan`, the OSV service's answers, and clear 4xx
//! answers to hostile queries.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::Registry;
use common::{picket, text, venv};
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_records() -> PathBuf {
    root().join("crates/picket-osv/tests/fixtures/osv")
}

/// A registry whose data directory has `records` (a folder or an all.zip) imported.
fn serve_with(tmp: &Path, records: &Path) -> Registry {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = picket(&data, &["db", "import-osv", records.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    Registry::start(&data, &[])
}

/// pip-audit asking picket's `/v1/query` about `requirements` (pinned, no resolution).
fn pip_audit_through(venv: &Path, registry: &Registry, requirements: &Path, work: &Path) -> Value {
    let out = Command::new(venv.join("bin/pip-audit"))
        .arg("-r")
        .arg(requirements)
        .args(["--disable-pip", "--no-deps", "-s", "osv", "--osv-url"])
        .arg(format!("{}/v1/query", registry.base))
        .args(["-f", "json", "--progress-spinner", "off", "--cache-dir"])
        .arg(work.join("pip-audit-cache"))
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What `picket scan` finds in `requirements` with the same records (the registry's data dir).
fn scan(registry: &Registry, requirements: &Path) -> Value {
    let out = picket(
        &registry.data,
        &[
            "--format",
            "json",
            "scan",
            "--offline",
            requirements.to_str().unwrap(),
        ],
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
}

/// pip-audit through picket's OSV API and `picket scan` agree on `requirements`; returns how
/// many advisories.
fn agree(venv: &Path, registry: &Registry, requirements: &Path, work: &Path) -> usize {
    let audit = pip_audit_through(venv, registry, requirements, work);
    let theirs = common::advisory_sets(&audit["dependencies"], "name", "vulns");
    let ours = common::advisory_sets(
        &scan(registry, requirements)["packages"],
        "normalized",
        "vulnerabilities",
    );
    assert_eq!(ours, theirs, "{}", requirements.display());
    ours.len()
}

#[test]
fn pip_audit_finds_through_picket_what_scan_finds() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let registry = serve_with(tmp.path(), &fixture_records());
    let requirements = root().join("tests/fixtures/deps/uv/requirements.txt");
    assert_eq!(agree(&venv, &registry, &requirements, tmp.path()), 3);
}

#[test]
fn scan_asks_an_osv_api_instead_of_the_imported_database() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = serve_with(tmp.path(), &fixture_records());
    let requirements = root().join("tests/fixtures/deps/uv/requirements.txt");
    let local = scan(&registry, &requirements);
    // A data directory with nothing imported, asking the registry's OSV API.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let remote = |url: &str| {
        picket(
            &empty,
            &[
                "--format",
                "json",
                "scan",
                "--osv-url",
                url,
                requirements.to_str().unwrap(),
            ],
        )
    };
    let out = remote(&registry.base);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let sets =
        |doc: &Value| common::advisory_sets(&doc["packages"], "normalized", "vulnerabilities");
    assert_eq!(sets(&doc).len(), 3);
    assert_eq!(sets(&doc), sets(&local));
    assert_eq!(
        doc["advisories"]["database"],
        format!("{}/v1/query", registry.base)
    );
    assert!(
        !text(&out.stderr).contains("no advisories imported"),
        "{}",
        text(&out.stderr)
    );
    // The query URL itself works too (what pip-audit's --osv-url takes).
    let out = remote(&format!("{}/v1/query", registry.base));
    assert_eq!(
        sets(&serde_json::from_slice(&out.stdout).unwrap()),
        sets(&local)
    );
    // No answer is an error (exit 2), never "no advisories".
    let port = common::free_port();
    let out = remote(&format!("http://127.0.0.1:{port}"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no answer from the OSV API"),
        "{}",
        text(&out.stderr)
    );
    let out = remote(&format!("{}/simple", registry.base));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("answered HTTP"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn pip_audit_finds_through_picket_what_scan_finds_on_real_records() {
    let zip = root().join("../shared/data/osv-pypi-sample.zip");
    if !zip.is_file() {
        eprintln!(
            "skipped: {} is absent (the shared data folder beside the checkout)",
            zip.display()
        );
        return;
    }
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let registry = serve_with(tmp.path(), &zip);
    // A real project's 2020 pins.
    let pins = root().join("tests/fixtures/scan/requirements-2020.txt");
    assert_eq!(agree(&venv, &registry, &pins, tmp.path()), 27);

    // 500 dependencies, each pinned to a version one of its records lists as affected.
    let mut seen = BTreeSet::new();
    let mut lines = String::new();
    let zipped = std::fs::File::open(&zip).unwrap();
    let mut archive = zip::ZipArchive::new(zipped).unwrap();
    for i in 0..archive.len() {
        if seen.len() == 500 {
            break;
        }
        let mut entry = archive.by_index(i).unwrap();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut entry, &mut body).unwrap();
        let Ok(record) = serde_json::from_str::<Value>(&body) else {
            continue;
        };
        let Some(affected) = record["affected"].get(0) else {
            continue;
        };
        let name = affected["package"]["name"].as_str().unwrap_or_default();
        let version = affected["versions"].get(0).and_then(Value::as_str);
        if let Some(version) = version
            && affected["package"]["ecosystem"] == "PyPI"
            && record["withdrawn"].is_null()
            && version.parse::<picket_formats::Version>().is_ok()
            && seen.insert(picket_formats::normalize(name))
        {
            writeln!(lines, "{name}=={version}").unwrap();
        }
    }
    assert_eq!(seen.len(), 500);
    let big = tmp.path().join("requirements-500.txt");
    std::fs::write(&big, lines).unwrap();
    let found = agree(&venv, &registry, &big, tmp.path());
    assert!(found >= 500, "{found}");
}

fn post(registry: &Registry, path: &str, body: &[u8]) -> (u16, Value) {
    let mut resp = Registry::agent()
        .post(&format!("{}{path}", registry.base))
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn ids(answer: &Value) -> Vec<&str> {
    answer["vulns"]
        .as_array()
        .map(|v| v.iter().map(|r| r["id"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn queries_batches_and_ids_answer_as_the_osv_service_does() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = serve_with(tmp.path(), &fixture_records());
    let query = |body: Value| post(&registry, "/v1/query", body.to_string().as_bytes());

    // By name and version (any spelling of the name), by purl, by name alone.
    let (status, answer) =
        query(json!({"package": {"name": "Requests", "ecosystem": "PyPI"}, "version": "2.31.0"}));
    assert_eq!(
        (status, ids(&answer)),
        (200, vec!["GHSA-9wx4-h78v-vm56"]),
        "{answer}"
    );
    assert!(
        answer["vulns"][0]["affected"][0]["ranges"].is_array(),
        "{answer}"
    );
    let (_, by_purl) = query(json!({"package": {"purl": "pkg:pypi/requests@2.31.0"}}));
    assert_eq!(by_purl, answer);
    let (_, every) = query(json!({"package": {"name": "requests", "ecosystem": "PyPI"}}));
    assert_eq!(ids(&every).len(), 2, "{every}");
    // Nothing found is `{}`.
    let (status, none) =
        query(json!({"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.32.0"}));
    assert_eq!((status, none), (200, json!({})));
    let (_, mal) =
        query(json!({"package": {"name": "reqeusts", "ecosystem": "PyPI"}, "version": "2.31.0"}));
    assert_eq!(ids(&mal), ["MAL-0000-0001"]);

    // A batch answers ids and modification times, one result per query, in order.
    let (status, batch) = post(
        &registry,
        "/v1/querybatch",
        json!({"queries": [
            {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "3.1.2"},
            {"package": {"name": "flask", "ecosystem": "PyPI"}, "version": "3.0.0"},
            {"package": {"purl": "pkg:pypi/urllib3@1.26.5"}},
        ]})
        .to_string()
        .as_bytes(),
    );
    assert_eq!(status, 200, "{batch}");
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["vulns"][0]["id"], "GHSA-h5c8-rqwp-cp95");
    assert!(results[0]["vulns"][0]["modified"].is_string());
    assert!(results[0]["vulns"][0].get("affected").is_none(), "ids only");
    assert_eq!(results[1], json!({}));
    assert_eq!(results[2]["vulns"][0]["id"], "GHSA-v845-jxx5-vc9f");

    // One record by id; an unknown id is OSV's 404.
    let (status, _, body) = registry.get("/v1/vulns/PYSEC-2023-74", &[]);
    let record: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, record["id"].as_str()),
        (200, Some("PYSEC-2023-74"))
    );
    // Whole records: the dates and links the advisory was published with are answered too.
    assert!(record["published"].is_string(), "{record}");
    let (_, _, body) = registry.get("/v1/vulns/GHSA-9wx4-h78v-vm56", &[]);
    let record: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        record["references"]
            .as_array()
            .is_some_and(|r| !r.is_empty() && r.iter().all(|r| r["url"].is_string())),
        "{record}"
    );
    let (status, _, body) = registry.get("/v1/vulns/PYSEC-0000-404", &[]);
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body),
        (404, json!({"code": 5, "message": "Bug not found."}))
    );

    // Hostile or wrong queries: a precise 400 each.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"package": {"name": format!("p{i}"), "ecosystem": "PyPI"}, "version": "1"}))
        .collect();
    for (path, body, says) in [
        (
            "/v1/query",
            json!({"package": {"name": "x", "ecosystem": "npm"}, "version": "1"}).to_string(),
            "PyPI records only",
        ),
        (
            "/v1/query",
            json!({"package": {"name": "x", "ecosystem": "PyPI"}, "version": "one"}).to_string(),
            "not a PEP 440 version",
        ),
        (
            "/v1/query",
            json!({"package": {"purl": "pkg:pypi/x@1"}, "version": "1"}).to_string(),
            "given twice",
        ),
        (
            "/v1/query",
            json!({"commit": "abc"}).to_string(),
            "commit queries",
        ),
        (
            "/v1/query",
            json!({"package": {"name": "x", "ecosystem": "PyPI"}, "extra": 1}).to_string(),
            "unknown field `extra`",
        ),
        ("/v1/query", "{\"package\": ".to_owned(), "Invalid query"),
        (
            "/v1/querybatch",
            json!({"queries": many}).to_string(),
            "1001 queries in one batch; at most 1000",
        ),
        (
            "/v1/querybatch",
            json!({"queries": [{"package": {"name": "x", "ecosystem": "Go"}}]}).to_string(),
            "query 0: ecosystem `Go`",
        ),
    ] {
        let (status, answer) = post(&registry, path, body.as_bytes());
        assert_eq!(status, 400, "{path} {says}: {answer}");
        assert_eq!(answer["code"], 3, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{says}: {answer}"
        );
    }
    // An announced body over 4 MiB is refused before it is read.
    assert_eq!(
        common::registry::raw_status(
            &registry.base,
            "POST /v1/querybatch HTTP/1.1\r\nHost: picket\r\nContent-Length: 5242880\r\n\r\n"
        ),
        413
    );

    // New records imported while the server runs are answered at once.
    let more = tmp.path().join("more");
    std::fs::create_dir_all(&more).unwrap();
    std::fs::write(
        more.join("MAL-0000-0002.json"),
        json!({"id": "MAL-0000-0002", "modified": "2026-11-30T00:00:00Z", "summary": "Malicious code in flaskk (PyPI)",
               "affected": [{"package": {"ecosystem": "PyPI", "name": "flaskk"}, "versions": ["1.0"]}]})
        .to_string(),
    )
    .unwrap();
    let out = picket(
        &registry.data,
        &["db", "import-osv", more.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (_, answer) =
        query(json!({"package": {"name": "flaskk", "ecosystem": "PyPI"}, "version": "1.0"}));
    assert_eq!(ids(&answer), ["MAL-0000-0002"], "{answer}");
}
