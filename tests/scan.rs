//! `picket scan` and `picket sbom` as a user and a CI job run them: the dependency files real tools
//! wrote (tests/fixtures/deps), OSV records in their published form, and the real validators and
//! peers (pip-audit, cyclonedx-python-lib, spdx-tools, the SARIF multitool).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Server, free_port, picket, text, venv, wait_for_port};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn deps_fixture(rel: &str) -> String {
    root()
        .join("tests/fixtures/deps")
        .join(rel)
        .to_str()
        .unwrap()
        .to_owned()
}

fn osv_fixtures() -> PathBuf {
    root().join("crates/picket-osv/tests/fixtures/osv")
}

/// A data directory with the OSV fixture records imported.
fn data_with_advisories() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = picket(
        tmp.path(),
        &["db", "import-osv", osv_fixtures().to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    tmp
}

fn scan_json(dir: &Path, args: &[&str]) -> (Value, std::process::Output) {
    let mut all = vec!["--format", "json", "scan", "--offline"];
    all.extend_from_slice(args);
    let out = picket(dir, &all);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (doc, out)
}

/// `(name, version, finding id, advisory)` of every finding (for `tampered` and `pth-code`, the
/// file's path in place of the advisory).
fn findings(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["findings"].as_array().unwrap().iter().map(move |f| {
                (
                    p["normalized"].as_str().unwrap().to_owned(),
                    p["version"].as_str().unwrap_or("").to_owned(),
                    f["id"].as_str().unwrap().to_owned(),
                    f["advisory"]
                        .as_str()
                        .or(f["path"].as_str())
                        .unwrap_or("")
                        .to_owned(),
                )
            })
        })
        .collect()
}

/// `picket --format json scan --index INDEX requirements.txt` in `dir`: the document and the run.
fn scan_online(dir: &Path, index: &str) -> (Value, std::process::Output) {
    let out = picket(
        dir,
        &[
            "--format",
            "json",
            "scan",
            "--index",
            index,
            "requirements.txt",
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    (doc, out)
}

fn line_of(value: &Value) -> usize {
    usize::try_from(value.as_u64().unwrap()).unwrap()
}

fn package<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["normalized"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc}"))
}

#[test]
fn every_lock_format_gives_the_same_findings() {
    let data = data_with_advisories();
    let (reference, out) = scan_json(data.path(), &[&deps_fixture("uv/requirements.txt")]);
    // Medium findings only: exit 0 at the default fail level, 1 at `warn`.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected: BTreeSet<(String, String, String, String)> = [
        ("jinja2", "3.1.2", "vulnerable", "GHSA-h5c8-rqwp-cp95"),
        ("requests", "2.31.0", "vulnerable", "GHSA-9wx4-h78v-vm56"),
        ("urllib3", "1.26.5", "vulnerable", "GHSA-v845-jxx5-vc9f"),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into()))
    .collect();
    assert_eq!(findings(&reference), expected);

    // The advisory as the user reads it: aliases, CVSS severity, fixed versions, the line.
    let requests = package(&reference, "requests");
    let vuln = &requests["vulnerabilities"][0];
    assert_eq!(vuln["id"], "GHSA-9wx4-h78v-vm56");
    assert_eq!(vuln["aliases"], serde_json::json!(["CVE-2024-35195"]));
    assert_eq!(vuln["severity"]["score"], 5.6);
    assert_eq!(vuln["severity"]["rating"], "medium");
    assert_eq!(
        vuln["severity"]["vector"],
        "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N"
    );
    assert_eq!(vuln["fixed"], serde_json::json!(["2.32.0"]));
    assert_eq!(requests["verdict"], "warn");
    let file = std::fs::read_to_string(deps_fixture("uv/requirements.txt")).unwrap();
    let line = line_of(&requests["source"]["line"]);
    assert!(
        file.lines()
            .nth(line - 1)
            .unwrap()
            .starts_with("requests==2.31.0"),
        "line {line}"
    );
    // PYSEC-2023-74 affects requests up to 2.31.0 exclusive: not reported.
    assert!(!text(&out.stdout).contains("PYSEC-2023-74"));
    assert_eq!(
        package(&reference, "urllib3")["vulnerabilities"][0]["fixed"],
        serde_json::json!(["1.26.17", "2.0.6"])
    );

    for other in [
        "uv/uv.lock",
        "uv/pylock.toml",
        "poetry/poetry.lock",
        "pipenv/Pipfile.lock",
    ] {
        let (doc, out) = scan_json(data.path(), &[&deps_fixture(other), "--fail-on", "warn"]);
        assert_eq!(out.status.code(), Some(1), "{other}: {}", text(&out.stderr));
        assert_eq!(findings(&doc), expected, "{other} disagrees");
        // Every finding points at the package's entry in that file.
        let file = std::fs::read_to_string(deps_fixture(other)).unwrap();
        for p in doc["packages"].as_array().unwrap() {
            let line = line_of(&p["source"]["line"]);
            let at = file.lines().nth(line - 1).unwrap().to_ascii_lowercase();
            assert!(
                at.contains(p["normalized"].as_str().unwrap()),
                "{other}:{line}: {at}"
            );
        }
    }

    // A folder: the project's files found and reported together; the pyproject's pins are not
    // matched again when a lock file records what installs.
    let (doc, _) = scan_json(data.path(), &[&deps_fixture("uv")]);
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "pylock.toml",
            "pyproject.toml",
            "requirements.txt",
            "uv.lock"
        ]
    );
    assert!(
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["source"]["file"]
                .as_str()
                .unwrap()
                .ends_with("pyproject.toml"))
            .all(|p| p["findings"].as_array().unwrap().is_empty())
    );
    assert!(
        doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["findings"].as_array().unwrap().is_empty()),
        "a locked project is not `unlocked`"
    );

    // pyproject.toml alone: its lock on disk makes it not `unlocked`, but since the lock is not
    // part of this scan, the pins it declares are matched (nothing is silently skipped).
    let (doc, _) = scan_json(data.path(), &[&deps_fixture("uv/pyproject.toml")]);
    assert!(doc["files"][0]["findings"].as_array().unwrap().is_empty());
    let pinned_findings: BTreeSet<String> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap().iter())
        .map(|f| f["advisory"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        pinned_findings,
        [
            "GHSA-9wx4-h78v-vm56",
            "GHSA-h5c8-rqwp-cp95",
            "GHSA-v845-jxx5-vc9f"
        ]
        .map(str::to_owned)
        .into()
    );
}

/// A hand-written project with bait in it.
fn bait_project(dir: &Path) {
    std::fs::write(
        dir.join("requirements.txt"),
        "# hand-written\n\
         reqeusts==2.31.0\n\
         flask>=2.0\n\
         numpy==1.26.4 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n\
         requests==2.31.0\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(
        dir.join("app/pyproject.toml"),
        "[project]\nname = \"app\"\nversion = \"0.1\"\ndependencies = [\n  \"requests>=2\",\n  \"djnago\",\n]\n",
    )
    .unwrap();
}

#[test]
fn bait_pins_hashes_and_unlocked_projects_are_found() {
    let data = data_with_advisories();
    bait_project(data.path());
    // No path: the current folder (and `app` named).
    let (doc, out) = scan_json(data.path(), &[".", "app"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let reqeusts = package(&doc, "reqeusts");
    assert_eq!(reqeusts["verdict"], "block");
    let ids: Vec<&str> = reqeusts["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["known-malicious", "typosquat", "no-hashes"]);
    assert_eq!(reqeusts["findings"][0]["severity"], "critical");
    assert_eq!(reqeusts["findings"][0]["advisory"], "MAL-0000-0001");
    assert_eq!(reqeusts["findings"][1]["target"], "requests");
    assert_eq!(reqeusts["source"]["line"], 2);
    let flask = package(&doc, "flask");
    assert_eq!(flask["findings"][0]["id"], "unpinned");
    assert!(
        flask["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`flask>=2.0`")
    );
    // One hashed requirement puts the file in pip's hash-checking mode.
    assert_eq!(flask["findings"][1]["id"], "no-hashes");
    assert!(
        package(&doc, "numpy")["findings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let djnago = package(&doc, "djnago");
    assert_eq!(djnago["findings"][0]["id"], "typosquat");
    assert_eq!(djnago["source"]["file"], "app/pyproject.toml");
    let app = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "app/pyproject.toml")
        .unwrap();
    assert_eq!(app["findings"][0]["id"], "unlocked");
    assert_eq!(app["line"], 5);

    // The table groups by file, worst first, and says where.
    let out = picket(data.path(), &["scan", "--offline"]);
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("requirements.txt (4 dependencies, 3 with findings)"),
        "{table}"
    );
    assert!(
        lines[1].contains("BLOCK  reqeusts 2.31.0: malicious; remove it")
            && lines[1].contains("line 2"),
        "{table}"
    );
    assert!(
        table.contains(
            "4 dependencies in 1 files: 1 block, 2 warn, 1 allow; 6 advisories checked (offline)"
        ),
        "{table}"
    );

    // Policy: ignore an advisory (by its CVE alias) until a date, with a reason; an expired ignore
    // counts again, with a warning; `--require-hashes` flags the lock-less file.
    std::fs::write(
        data.path().join("picket.toml"),
        "[[check.ignore]]\nid = \"CVE-2024-35195\"\npackage = \"requests\"\nuntil = \"2999-12-31\"\nreason = \"we never pass verify=False\"\n\n\
         [[check.ignore]]\nid = \"unpinned\"\nuntil = \"2001-01-01\"\nreason = \"old exception\"\n",
    )
    .unwrap();
    let (doc, out) = scan_json(data.path(), &["requirements.txt"]);
    let requests = package(&doc, "requests");
    assert!(
        requests["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != "vulnerable")
    );
    assert_eq!(requests["ignored"][0]["advisory"], "GHSA-9wx4-h78v-vm56");
    assert_eq!(
        requests["ignored"][0]["reason"],
        "we never pass verify=False"
    );
    assert_eq!(
        requests["vulnerabilities"][0]["ignored"]["until"],
        "2999-12-31"
    );
    assert_eq!(package(&doc, "flask")["findings"][0]["id"], "unpinned");
    assert!(
        text(&out.stderr).contains(
            "warning: the ignore of unpinned expired on 2001-01-01 (old exception); it counts again"
        ),
        "{}",
        text(&out.stderr)
    );

    // A policy with a bad date is refused, naming the key.
    std::fs::write(
        data.path().join("picket.toml"),
        "[[check.ignore]]\nid = \"X\"\nuntil = \"next week\"\nreason = \"r\"\n",
    )
    .unwrap();
    let out = picket(data.path(), &["scan", "--offline"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`next week` is not a date; write YYYY-MM-DD"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(data.path().join("picket.toml")).unwrap();

    // --require-hashes: a lock file's hashes satisfy it, a bare requirement does not.
    std::fs::write(data.path().join("requirements-dev.txt"), "pytest==8.0.0\n").unwrap();
    let (doc, _) = scan_json(
        data.path(),
        &[
            "requirements-dev.txt",
            &deps_fixture("uv/uv.lock"),
            "--require-hashes",
        ],
    );
    let no_hashes: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["id"] == "no-hashes")
        })
        .map(|p| p["normalized"].as_str().unwrap())
        .collect();
    assert_eq!(no_hashes, ["pytest"]);
}

#[test]
fn sarif_validates_and_markdown_reads_as_a_comment() {
    let data = data_with_advisories();
    bait_project(data.path());
    let out = picket(
        data.path(),
        &[
            "--format",
            "sarif",
            "scan",
            "--offline",
            ".",
            "app",
            "-o",
            "scan.sarif",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let sarif_path = data.path().join("scan.sarif");
    let sarif: Value = serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "known-malicious",
            "no-hashes",
            "typosquat",
            "unlocked",
            "unpinned",
            "vulnerable"
        ]
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 9);
    for r in results {
        let index = line_of(&r["ruleIndex"]);
        assert_eq!(r["ruleId"], rules[index]);
    }
    let malicious = results
        .iter()
        .find(|r| r["ruleId"] == "known-malicious")
        .unwrap();
    assert_eq!(malicious["level"], "error");
    let location = &malicious["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "requirements.txt");
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(malicious["properties"]["advisory"], "MAL-0000-0001");
    let vulnerable = run["tool"]["driver"]["rules"][5]["properties"]["security-severity"].clone();
    assert_eq!(
        vulnerable, "5.6",
        "the worst CVSS score of the rule's results"
    );

    // The SARIF object model (sarif-pydantic, from the 2.1.0 schema) accepts it, and rejects the
    // same log broken.
    if let Some(venv) = venv() {
        let mut broken = sarif.clone();
        broken["runs"][0]["results"][0]["level"] = "fatal".into();
        broken["runs"][0]["results"][1]
            .as_object_mut()
            .unwrap()
            .remove("message");
        std::fs::write(data.path().join("broken.sarif"), broken.to_string()).unwrap();
        let check = Command::new(venv.join("bin/python"))
            .arg("-c")
            .arg(SARIF_MODEL)
            .arg(&sarif_path)
            .arg(data.path().join("broken.sarif"))
            .output()
            .unwrap();
        let said = text(&check.stdout);
        assert!(check.status.success(), "{said}{}", text(&check.stderr));
        assert!(
            said.starts_with("valid\ninvalid: 2 validation errors"),
            "{said}"
        );
        assert!(said.contains("runs.0.results.0.level"), "{said}");
    }

    // The SARIF SDK's multitool applies the specification's rules. Only the missing
    // `informationUri` (picket has no public home page to name) may remain, as a warning.
    match sarif_multitool() {
        Some(tool) => {
            let report = data.path().join("validation.sarif");
            let out = Command::new(&tool)
                .arg("validate")
                .arg(&sarif_path)
                .arg("-o")
                .arg(&report)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
            let validation: Value =
                serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
            let findings: Vec<String> = validation["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["ruleId"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(findings, ["SARIF2005"], "{}", text(&out.stdout));
        }
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the SARIF multitool is missing; scripts/test installs it with npm"
            );
            eprintln!("skipped: the SARIF multitool is not installed (npm missing)");
        }
    }

    let out = picket(
        data.path(),
        &["--format", "markdown", "scan", "--offline", ".", "app"],
    );
    let md = text(&out.stdout);
    assert!(
        // `djnago` is one transposition of a six-letter name: a warning, not a block (issue 13).
        md.starts_with("## picket scan: 1 to block, 3 to look at\n"),
        "{md}"
    );
    assert!(md.contains("### `requirements.txt`"), "{md}");
    assert!(
        md.contains("| **block** | `reqeusts==2.31.0` | 2 | known-malicious (critical) |"),
        "{md}"
    );
    assert!(
        md.contains("- **unlocked** `app/pyproject.toml` line 5:"),
        "{md}"
    );
}

/// Validates SARIF files with sarif-pydantic's 2.1.0 object model; prints `valid` or
/// `invalid: why` per file.
const SARIF_MODEL: &str = r#"
import json, sys
import pydantic
from sarif_pydantic import Sarif
for path in sys.argv[1:]:
    try:
        Sarif.model_validate(json.load(open(path)))
        print("valid")
    except pydantic.ValidationError as e:
        print("invalid:", str(e).replace("\n", " "))
"#;

fn sarif_multitool() -> Option<PathBuf> {
    let venv = std::env::var_os("PICKET_TEST_VENV").map(PathBuf::from)?;
    let tool = venv.join("npm/node_modules/.bin/sarif-multitool");
    tool.exists().then_some(tool)
}

#[test]
fn sbom_documents_validate_with_the_reference_tools() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let python = venv.join("bin/python");
    for (lock, expect_graph) in [
        ("uv/uv.lock", true),
        ("poetry/poetry.lock", true),
        ("uv/requirements.txt", false),
    ] {
        let cdx = data.path().join("bom.cdx.json");
        let spdx = data.path().join("bom.spdx.json");
        let out = picket(
            data.path(),
            &["sbom", &deps_fixture(lock), "-o", cdx.to_str().unwrap()],
        );
        assert!(out.status.success(), "{lock}: {}", text(&out.stderr));
        let out = picket(
            data.path(),
            &[
                "--format",
                "spdx",
                "sbom",
                &deps_fixture(lock),
                "-o",
                spdx.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{lock}: {}", text(&out.stderr));

        let bom: Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
        assert_eq!(bom["specVersion"], "1.6");
        let components = bom["components"].as_array().unwrap();
        assert_eq!(components.len(), 7, "{lock}");
        let requests = components.iter().find(|c| c["name"] == "requests").unwrap();
        assert_eq!(requests["purl"], "pkg:pypi/requests@2.31.0");
        assert_eq!(requests["hashes"][0]["alg"], "SHA-256");
        let vulns: BTreeSet<&str> = bom["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            vulns,
            [
                "GHSA-9wx4-h78v-vm56",
                "GHSA-h5c8-rqwp-cp95",
                "GHSA-v845-jxx5-vc9f"
            ]
            .into()
        );
        let deps = bom["dependencies"].as_array().unwrap();
        let root_ref = bom["metadata"]["component"]["bom-ref"].as_str().unwrap();
        let root = deps.iter().find(|d| d["ref"] == root_ref).unwrap();
        assert_eq!(
            root["dependsOn"],
            serde_json::json!([
                "pkg:pypi/jinja2@3.1.2",
                "pkg:pypi/requests@2.31.0",
                "pkg:pypi/urllib3@1.26.5"
            ]),
            "{lock}: the direct dependencies"
        );
        let of_requests = deps
            .iter()
            .find(|d| d["ref"] == "pkg:pypi/requests@2.31.0")
            .unwrap();
        assert_eq!(
            of_requests["dependsOn"].as_array().unwrap().len(),
            if expect_graph { 4 } else { 0 },
            "{lock}"
        );

        let check = validate_sboms(&python, &cdx, &spdx);
        assert!(
            check.status.success(),
            "{lock}: {}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
        assert_eq!(
            text(&check.stdout).trim(),
            "cyclonedx: valid\nspdx: valid 8 packages"
        );
    }

    // Pipfile.lock lists urllib3 in `default` and `develop`: one component, and still valid.
    let cdx = data.path().join("bom.cdx.json");
    let spdx = data.path().join("bom.spdx.json");
    for (format, path) in [("cyclonedx", &cdx), ("spdx", &spdx)] {
        let out = picket(
            data.path(),
            &[
                "--format",
                format,
                "sbom",
                &deps_fixture("pipenv/Pipfile.lock"),
                "-o",
                path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let bom: Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    assert_eq!(bom["components"].as_array().unwrap().len(), 7);
    let check = validate_sboms(&python, &cdx, &spdx);
    assert!(check.status.success(), "{}", text(&check.stdout));

    // The validators do reject what is wrong: the same documents, broken.
    let cdx = data.path().join("bom.cdx.json");
    let mut bom: Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    bom["components"][0]["hashes"][0]["alg"] = "SHA-257".into();
    std::fs::write(&cdx, bom.to_string()).unwrap();
    let spdx = data.path().join("bom.spdx.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    doc["packages"][1]["SPDXID"] = "not-an-spdx-id".into();
    std::fs::write(&spdx, doc.to_string()).unwrap();
    let check = validate_sboms(&python, &cdx, &spdx);
    assert!(!check.status.success());
    let said = text(&check.stdout);
    assert!(said.contains("cyclonedx: invalid"), "{said}");
    assert!(said.contains("spdx: invalid"), "{said}");

    // No lock file: a clear error.
    let out = picket(
        data.path(),
        &["sbom", &deps_fixture("poetry/pyproject.toml")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("an SBOM describes locked dependencies"));
}

/// Runs [`VALIDATE`] with the test venv's `python` on the two documents.
fn validate_sboms(python: &Path, cdx: &Path, spdx: &Path) -> std::process::Output {
    Command::new(python)
        .arg("-c")
        .arg(VALIDATE)
        .arg(cdx)
        .arg(spdx)
        .output()
        .unwrap()
}

/// Validates a CycloneDX document with cyclonedx-python-lib's strict JSON validator and an SPDX
/// document with spdx-tools; prints `… valid` or `… invalid: why` for each, exits 1 on any invalid.
const VALIDATE: &str = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

bad = False
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if error is None:
    print("cyclonedx: valid")
else:
    bad = True
    print("cyclonedx: invalid:", error)
try:
    doc = parse_file(sys.argv[2])
    messages = validate_full_spdx_document(doc)
except Exception as e:
    messages = [e]
if messages:
    bad = True
    print("spdx: invalid:", [getattr(m, "validation_message", str(m)) for m in messages])
else:
    print("spdx: valid", len(doc.packages), "packages")
sys.exit(1 if bad else 0)
"#;

/// The OSV stand-in (`tests/support/osv_api.py`) on loopback, serving `records` (a directory or
/// an `all.zip`).
fn osv_api(venv: &Path, records: &Path) -> (Server, String) {
    let port = free_port();
    let child = Command::new(venv.join("bin/python"))
        .arg(root().join("tests/support/osv_api.py"))
        .arg(records)
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server(child);
    wait_for_port(port);
    (server, format!("http://127.0.0.1:{port}/v1/query"))
}

/// pip-audit's JSON report on `requirements`, asking the OSV stand-in at `url`.
fn pip_audit(venv: &Path, url: &str, requirements: &str, work: &Path, extra: &[&str]) -> Value {
    let out = Command::new(venv.join("bin/pip-audit"))
        .args([
            "-r",
            requirements,
            "--disable-pip",
            "-s",
            "osv",
            "--osv-url",
            url,
        ])
        .args(extra)
        .args(["-f", "json", "--progress-spinner", "off", "--cache-dir"])
        .arg(work.join("pip-audit-cache"))
        .output()
        .unwrap();
    // pip-audit exits 1 when it finds vulnerabilities.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pip_audit_finds_the_same_vulnerabilities() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let (_server, url) = osv_api(&venv, &osv_fixtures());
    let requirements = deps_fixture("uv/requirements.txt");
    let audit = pip_audit(&venv, &url, &requirements, data.path(), &[]);
    // pip-audit names an advisory by its CVE alias when there is one: compare id sets.
    let theirs = common::advisory_sets(&audit["dependencies"], "name", "vulns");
    let (doc, _) = scan_json(data.path(), &[&requirements]);
    let ours = common::advisory_sets(&doc["packages"], "normalized", "vulnerabilities");
    assert_eq!(ours.len(), 3);
    assert_eq!(ours, theirs);
}

#[test]
fn hostile_and_broken_input_gets_clear_errors() {
    let data = data_with_advisories();
    let dir = data.path();

    // A 50 MB requirements file: refused by size, and the other file is still reported.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(dir.join("requirements-huge.txt")).unwrap();
        let line = "requests==2.31.0 --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000\n";
        for _ in 0..=(50 << 20) / line.len() {
            f.write_all(line.as_bytes()).unwrap();
        }
    }
    std::fs::write(dir.join("requirements.txt"), "reqeusts==1.0\n").unwrap();
    let (doc, out) = scan_json(dir, &["requirements-huge.txt", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        doc["files"][0]["error"],
        "requirements-huge.txt: file is larger than the limit of 16777216 bytes"
    );
    assert_eq!(package(&doc, "reqeusts")["verdict"], "block");
    std::fs::remove_file(dir.join("requirements-huge.txt")).unwrap();

    // Includes that form a cycle.
    std::fs::write(
        dir.join("requirements-a.txt"),
        "-r requirements-b.txt\nflask==3.0.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("requirements-b.txt"), "-r requirements-a.txt\n").unwrap();
    let out = picket(dir, &["scan", "--offline", "requirements-a.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("requirement files include each other in a cycle: requirements-a.txt -> requirements-b.txt -> requirements-a.txt"),
        "{}",
        text(&out.stdout)
    );

    // A lock file with wrong types: the file and line.
    std::fs::create_dir_all(dir.join("bad")).unwrap();
    std::fs::write(
        dir.join("bad/uv.lock"),
        "version = 1\n\n[[package]]\nname = \"requests\"\nversion = 2\n",
    )
    .unwrap();
    let (doc, out) = scan_json(dir, &["bad/uv.lock"]);
    assert_eq!(out.status.code(), Some(2));
    let error = doc["files"][0]["error"].as_str().unwrap();
    assert!(error.starts_with("bad/uv.lock:5: "), "{error}");
    std::fs::write(dir.join("bad/poetry.lock"), "[[package]]\nname = [1]\n").unwrap();
    let (doc, _) = scan_json(dir, &["bad/poetry.lock"]);
    assert!(
        doc["files"][0]["error"]
            .as_str()
            .unwrap()
            .starts_with("bad/poetry.lock:2: "),
        "{doc}"
    );

    // An advisory with an invalid range: the package's scan says why it cannot be judged.
    std::fs::write(dir.join("requirements.txt"), "badrange==0.5\n").unwrap();
    let out = picket(dir, &["scan", "--offline", "requirements.txt"]);
    assert!(
        text(&out.stderr).contains(
            "warning: PYSEC-bad-range: badrange range event `introduced: not a version` is not a PEP 440 version; the range is ignored"
        ),
        "{}",
        text(&out.stderr)
    );

    // Nothing to scan, an unknown file, a missing path, a format of another command.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let out = picket(dir, &["scan", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no dependency files in empty"));
    assert!(text(&out.stderr).contains("hint: picket scan reads requirements*.txt"));
    std::fs::write(dir.join("setup.py"), "").unwrap();
    let out = picket(dir, &["scan", "setup.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("setup.py: not a known dependency file"));
    let out = picket(dir, &["scan", "missing.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.txt"));
    let out = picket(dir, &["--format", "spdx", "scan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("`picket scan` writes table, json, sarif, markdown, not --format spdx"),
        "{}",
        text(&out.stderr)
    );
    let out = picket(dir, &["--format", "sarif", "check", "requests"]);
    assert!(text(&out.stderr).contains("--format sarif is only for `picket scan`"));

    // Without advisories: a hint says vulnerabilities were not checked.
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("requirements.txt"), "requests==2.31.0\n").unwrap();
    let out = picket(empty.path(), &["scan", "--offline"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("hint: no advisories imported"));
}

#[test]
fn sbom_takes_licenses_from_the_index_json_api() {
    use common::registry::{Registry, twine};
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(&tmp.path().join("registry"), &[]);
    let (token, _) = registry.onboard("alice");
    let wheel = root().join("tests/fixtures/dists/demo_tool-1.0.0-py3-none-any.whl");
    let out = twine(&venv, &registry, &token, &[&wheel]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("requirements.txt"),
        "demo-tool==1.0.0\nnot-on-this-index==1.0\n",
    )
    .unwrap();
    let cdx = work.join("bom.cdx.json");
    let spdx = work.join("bom.spdx.json");
    let index = registry.simple();
    let out = picket(
        &work,
        &["sbom", "--index", &index, "-o", cdx.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(
            "warning: license of not-on-this-index 1.0 unknown: the index has no release not-on-this-index 1.0"
        ),
        "{}",
        text(&out.stderr)
    );
    let bom: Value = serde_json::from_slice(&std::fs::read(&cdx).unwrap()).unwrap();
    let demo = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "demo-tool")
        .unwrap();
    assert_eq!(demo["licenses"], serde_json::json!([{"expression": "MIT"}]));
    let out = picket(
        &work,
        &[
            "--format",
            "spdx",
            "sbom",
            "--index",
            &index,
            "-o",
            spdx.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&spdx).unwrap()).unwrap();
    let demo = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "demo-tool")
        .unwrap();
    assert_eq!(demo["licenseDeclared"], "MIT");
    let check = validate_sboms(&venv.join("bin/python"), &cdx, &spdx);
    assert!(
        check.status.success(),
        "{}{}",
        text(&check.stdout),
        text(&check.stderr)
    );

    // An index URL without `/simple/` can't lead to the JSON API: said per release, not fatal.
    let out = picket(&work, &["sbom", "--index", &registry.base]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("the JSON API is found beside `/simple/`"),
        "{}",
        text(&out.stderr)
    );
}

/// The real PyPI advisory records (`../shared/data`, beside the checkout; CI keeps a copy beside
/// its clone), or `None` with a note when they are absent.
fn real_advisories() -> Option<PathBuf> {
    let zip = root().join("../shared/data/osv-pypi-sample.zip");
    if zip.is_file() {
        Some(zip)
    } else {
        eprintln!(
            "skipped: {} is absent (the shared data folder beside the checkout)",
            zip.display()
        );
        None
    }
}

/// The 19 pins of 2020 (`tests/fixtures/scan/requirements-2020.txt`, see its README).
fn pins_2020() -> PathBuf {
    root().join("tests/fixtures/scan/requirements-2020.txt")
}

/// A data directory with the real records imported, and the 2020 pins in it as
/// `requirements.txt`.
fn real_project(zip: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let out = picket(tmp.path(), &["db", "import-osv", zip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::copy(pins_2020(), tmp.path().join("requirements.txt")).unwrap();
    tmp
}

/// Compares `actual` with the checked-in `expected` file; `PICKET_BLESS=1` rewrites it (review
/// the difference before committing it).
fn snapshot(expected: &Path, actual: &str) {
    if std::env::var_os("PICKET_BLESS").is_some() {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    assert!(
        want == actual,
        "{} differs (PICKET_BLESS=1 rewrites it); got:\n{actual}",
        expected.display()
    );
}

#[test]
fn issue_21_real_advisories_read_as_one_line_per_vulnerability() {
    let Some(zip) = real_advisories() else { return };
    let data = real_project(&zip);

    let out = picket(data.path(), &["scan", "--offline", "requirements.txt"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    snapshot(
        &root().join("tests/fixtures/scan/requirements-2020.table"),
        &table,
    );
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "wider than 100: {line}");
        assert!(
            !line
                .split(|c: char| !c.is_ascii_hexdigit())
                .any(|w| w.len() == 40),
            "a commit id: {line}"
        );
    }
    assert!(
        text(&out.stderr).contains("hint: `--verbose` prints every id"),
        "{}",
        text(&out.stderr)
    );

    let (doc, _) = scan_json(data.path(), &["requirements.txt"]);
    let mut vulnerabilities = 0;
    for p in doc["packages"].as_array().unwrap() {
        let list = p["vulnerabilities"].as_array().unwrap();
        vulnerabilities += list.len();
        // One line per vulnerability, under its package's line.
        let rows = table
            .lines()
            .filter(|l| {
                list.iter()
                    .any(|v| l.split_whitespace().any(|w| w == v["id"].as_str().unwrap()))
            })
            .count();
        assert_eq!(rows, list.len(), "{}", p["name"]);
        // Aliases grouped: no id is in two vulnerabilities of one package.
        let mut seen = BTreeSet::new();
        for v in list {
            for id in std::iter::once(&v["id"]).chain(v["aliases"].as_array().unwrap()) {
                assert!(seen.insert(id.as_str().unwrap()), "{id} twice in {p}");
            }
            for fixed in v["fixed"].as_array().unwrap() {
                let fixed = fixed.as_str().unwrap();
                assert!(
                    fixed.len() < 40 && fixed.starts_with(|c: char| c.is_ascii_digit()),
                    "{fixed}"
                );
            }
            assert!(!v["summary"].as_str().unwrap().contains('\n'));
        }
        if !list.is_empty() {
            assert!(p["upgrade"]["to"].is_string(), "a target for {p}");
        }
    }
    assert_eq!(vulnerabilities, 27);
    let aiohttp = package(&doc, "aiohttp");
    assert_eq!(aiohttp["upgrade"]["to"], "3.9.2");
    let traversal = aiohttp["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "PYSEC-2024-24")
        .unwrap();
    assert_eq!(
        traversal["aliases"],
        serde_json::json!(["CVE-2024-23334", "GHSA-5h86-8mv2-jq9f"])
    );
    assert_eq!(
        traversal["summary"],
        "aiohttp is vulnerable to directory traversal"
    );
    assert!(
        traversal["details"]
            .as_str()
            .unwrap()
            .contains("follow_symlinks"),
        "the full text stays in JSON"
    );
    // PYSEC-2024-60 and GHSA-jjg7-2v4v-x38h only share their CVE id.
    let idna = &package(&doc, "idna")["vulnerabilities"][0];
    assert_eq!(idna["id"], "PYSEC-2024-60");
    assert_eq!(
        idna["aliases"],
        serde_json::json!(["CVE-2024-3651", "GHSA-jjg7-2v4v-x38h"])
    );
    assert_eq!(
        package(&doc, "urllib3")["upgrade"],
        serde_json::json!({"to": "1.26.18", "unfixed": []})
    );

    // --verbose: every id, every fixed version and the text under each vulnerability.
    let out = picket(
        data.path(),
        &["scan", "--offline", "--verbose", "requirements.txt"],
    );
    let verbose = text(&out.stdout);
    assert!(
        verbose.contains("ids: PYSEC-2024-24, CVE-2024-23334, GHSA-5h86-8mv2-jq9f"),
        "{verbose}"
    );
    assert!(verbose.contains("fixed in 1.26.17, 2.0.6"), "{verbose}");
    assert!(verbose.contains("follow_symlinks"), "{verbose}");

    // SARIF: one result per vulnerability; Markdown: the texts collapsed.
    let (sarif, _) = {
        let out = picket(
            data.path(),
            &["--format", "sarif", "scan", "--offline", "requirements.txt"],
        );
        (serde_json::from_slice::<Value>(&out.stdout).unwrap(), out)
    };
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), vulnerabilities);
    let out = picket(
        data.path(),
        &[
            "--format",
            "markdown",
            "scan",
            "--offline",
            "requirements.txt",
        ],
    );
    let md = text(&out.stdout);
    assert!(
        md.contains("<details><summary>Advisory texts (27)</summary>"),
        "{md}"
    );
    assert!(md.contains("| `aiohttp==3.6.2` → 3.9.2 |"), "{md}");
}

#[test]
fn issue_21_grouped_vulnerabilities_equal_pip_audits_on_real_records() {
    let Some(zip) = real_advisories() else { return };
    let Some(venv) = venv() else { return };
    let data = real_project(&zip);
    let (_server, url) = osv_api(&venv, &zip);
    let requirements = pins_2020();
    let audit = pip_audit(
        &venv,
        &url,
        requirements.to_str().unwrap(),
        data.path(),
        &["--no-deps"],
    );
    let theirs = common::advisory_sets(&audit["dependencies"], "name", "vulns");
    let (doc, _) = scan_json(data.path(), &["requirements.txt"]);
    let ours = common::advisory_sets(&doc["packages"], "normalized", "vulnerabilities");
    assert_eq!(ours.len(), 27);
    assert_eq!(ours, theirs);
}

#[test]
fn issue_21_the_target_is_a_release_the_index_offers() {
    let tmp = tempfile::tempdir().unwrap();
    // Two advisories: A fixed in 1.2.0; B introduced in 1.3.0 and fixed in 1.3.1.
    let records = tmp.path().join("records");
    std::fs::create_dir_all(&records).unwrap();
    for (id, events) in [
        (
            "PYSEC-0000-1",
            r#"[{"introduced": "0"}, {"fixed": "1.2.0"}]"#,
        ),
        (
            "PYSEC-0000-2",
            r#"[{"introduced": "1.3.0"}, {"fixed": "1.3.1"}]"#,
        ),
    ] {
        std::fs::write(
            records.join(format!("{id}.json")),
            format!(
                r#"{{"id": "{id}", "modified": "2024-01-01T00:00:00Z", "details": "A flaw.",
                    "affected": [{{"package": {{"ecosystem": "PyPI", "name": "demo-tool"}},
                                  "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
            ),
        )
        .unwrap();
    }
    let out = picket(tmp.path(), &["db", "import-osv", records.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(tmp.path().join("requirements.txt"), "demo-tool==1.0.0\n").unwrap();

    // Offline, the candidates are the fixed versions: 1.2.0 clears A, and B is not in 1.2.0.
    let (doc, _) = scan_json(tmp.path(), &["requirements.txt"]);
    assert_eq!(
        package(&doc, "demo-tool")["upgrade"],
        serde_json::json!({"to": "1.2.0", "unfixed": []})
    );

    // The index yanked 1.2.0, and 1.3.0 carries B: the target is 1.3.1 (not the 2.0.0rc1).
    let wheel = std::fs::read(root().join("tests/fixtures/dists/demo_tool-1.0.0-py3-none-any.whl"))
        .unwrap();
    let sha = data_encoding::HEXLOWER.encode(&<sha2::Sha256 as sha2::Digest>::digest(&wheel));
    let file = |version: &str, yanked: Value| {
        serde_json::json!({
            "filename": format!("demo_tool-{version}-py3-none-any.whl"),
            "url": format!("/files/demo_tool-{version}-py3-none-any.whl"),
            "hashes": {"sha256": sha}, "size": wheel.len(),
            "upload-time": "2020-01-01T00:00:00Z", "yanked": yanked,
        })
    };
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"}, "name": "demo-tool",
        "versions": ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.3.1", "2.0.0rc1"],
        "files": [
            file("1.0.0", false.into()), file("1.1.0", false.into()),
            file("1.2.0", "broken build".into()), file("1.3.0", false.into()),
            file("1.3.1", false.into()), file("2.0.0rc1", false.into()),
        ]
    });
    let index = common::canned_server(vec![
        (
            "/simple/demo-tool/".into(),
            common::Canned {
                status: 200,
                content_type: "application/vnd.pypi.simple.v1+json",
                body: page.to_string().into_bytes(),
            },
        ),
        (
            "/files/demo_tool-1.0.0-py3-none-any.whl".into(),
            common::Canned {
                status: 200,
                content_type: "application/octet-stream",
                body: wheel.clone(),
            },
        ),
    ]);
    let (doc, _) = scan_online(tmp.path(), &index);
    let demo = package(&doc, "demo-tool");
    assert!(demo["error"].is_null(), "{demo}");
    assert_eq!(
        demo["upgrade"],
        serde_json::json!({"to": "1.3.1", "unfixed": []})
    );
}

#[test]
fn rye_locks_and_files_named_on_the_command_line_are_read_by_content() {
    let data = data_with_advisories();
    let dir = data.path();
    let pins = std::fs::read_to_string(deps_fixture("uv/requirements.txt")).unwrap();
    let (reference, _) = scan_json(dir, &[&deps_fixture("uv/requirements.txt")]);
    // Rye keeps its pins in requirements.lock / requirements-dev.lock: found in a folder.
    let rye = dir.join("rye-project");
    std::fs::create_dir_all(&rye).unwrap();
    std::fs::write(rye.join("requirements-dev.lock"), &pins).unwrap();
    let (doc, out) = scan_json(dir, &["rye-project"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(findings(&doc), findings(&reference));
    assert_eq!(
        doc["files"][0]["format"], "requirements",
        "{}",
        doc["files"]
    );
    // A file whose name says nothing, named on the command line: its content decides.
    std::fs::write(dir.join("deps.pinned"), &pins).unwrap();
    let (doc, out) = scan_json(dir, &["deps.pinned"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(findings(&doc), findings(&reference));
    std::fs::copy(deps_fixture("uv/uv.lock"), dir.join("lockfile")).unwrap();
    let (doc, _) = scan_json(dir, &["lockfile"]);
    assert_eq!(doc["files"][0]["format"], "uv-lock", "{}", doc["files"]);
    assert_eq!(findings(&doc), findings(&reference));
    // Prose is neither.
    std::fs::write(
        dir.join("NOTES"),
        "Remember to pin requests before the release!\n",
    )
    .unwrap();
    let out = picket(dir, &["scan", "NOTES"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("NOTES: not a known dependency file, by name or by content"),
        "{}",
        text(&out.stderr)
    );
}

/// The fixture's pins in `dir/requirements.txt`, their report written to `before.FORMAT`; then
/// the change: a bait dependency added.
fn baseline_then_bait(dir: &Path, format: &str) {
    let pins = std::fs::read_to_string(deps_fixture("uv/requirements.txt")).unwrap();
    std::fs::write(dir.join("requirements.txt"), &pins).unwrap();
    let before = format!("before.{format}");
    let out = picket(
        dir,
        &[
            "--format",
            format,
            "scan",
            "--offline",
            "requirements.txt",
            "-o",
            &before,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::write(
        dir.join("requirements.txt"),
        format!("{pins}reqeusts==2.31.0\n"),
    )
    .unwrap();
}

#[test]
fn a_baseline_leaves_only_what_a_change_adds() {
    let data = data_with_advisories();
    let dir = data.path();
    baseline_then_bait(dir, "json");
    let before: Value =
        serde_json::from_slice(&std::fs::read(dir.join("before.json")).unwrap()).unwrap();
    assert_eq!(findings(&before).len(), 3);
    let (after, out) = scan_json(dir, &["requirements.txt", "--baseline", "before.json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the new finding blocks: {}",
        text(&out.stderr)
    );
    assert_eq!(after["baseline"], "before.json");
    let new: BTreeSet<String> = findings(&after).into_iter().map(|f| f.0).collect();
    assert_eq!(new, BTreeSet::from(["reqeusts".to_owned()]), "{after}");
    // What the baseline had is listed as ignored, saying why.
    let requests = package(&after, "requests");
    assert_eq!(requests["verdict"], "allow");
    assert_eq!(requests["ignored"][0]["advisory"], "GHSA-9wx4-h78v-vm56");
    assert!(
        requests["ignored"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("in the baseline before.json")
    );
    // SARIF (3.27.24): the added finding's results `new`, the baseline's three `unchanged`.
    let sarif_states = |baseline: &str| {
        let out = picket(
            dir,
            &[
                "--format",
                "sarif",
                "scan",
                "--offline",
                "requirements.txt",
                "--baseline",
                baseline,
            ],
        );
        let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
        let states: BTreeSet<(String, String, String, u64)> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["baselineState"].as_str().unwrap().to_owned(),
                    r["properties"]["package"].as_str().unwrap().to_owned(),
                    r["properties"]["advisory"]
                        .as_str()
                        .unwrap_or(r["ruleId"].as_str().unwrap())
                        .to_owned(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect();
        (states, sarif)
    };
    let state = |s: &str, p: &str, a: &str, line: u64| -> (String, String, String, u64) {
        (s.into(), p.into(), a.into(), line)
    };
    let (states, sarif) = sarif_states("before.json");
    let line = |name: &str| package(&after, name)["source"]["line"].as_u64().unwrap();
    let unchanged = [
        state("unchanged", "jinja2", "GHSA-h5c8-rqwp-cp95", line("jinja2")),
        state(
            "unchanged",
            "requests",
            "GHSA-9wx4-h78v-vm56",
            line("requests"),
        ),
        state(
            "unchanged",
            "urllib3",
            "GHSA-v845-jxx5-vc9f",
            line("urllib3"),
        ),
    ];
    let reqeusts_line = line("reqeusts");
    let new: BTreeSet<_> = states.iter().filter(|s| s.0 == "new").cloned().collect();
    assert!(
        !new.is_empty()
            && new
                .iter()
                .all(|s| s.1 == "reqeusts" && s.3 == reqeusts_line),
        "{sarif}"
    );
    assert_eq!(
        states.difference(&new).cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(unchanged.clone()),
        "{sarif}"
    );
    // A baseline result no longer found is `absent`, where the baseline had it: jinja2 upgraded
    // past its advisory, against the JSON baseline and against the same baseline as SARIF.
    baseline_then_bait(dir, "sarif");
    let pins = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
    std::fs::write(
        dir.join("requirements.txt"),
        pins.replace("jinja2==3.1.2", "jinja2==3.1.4"),
    )
    .unwrap();
    for baseline in ["before.json", "before.sarif"] {
        let (states, sarif) = sarif_states(baseline);
        let absent: Vec<_> = states.iter().filter(|s| s.0 == "absent").cloned().collect();
        let jinja2 = state("absent", "jinja2", "GHSA-h5c8-rqwp-cp95", line("jinja2"));
        assert_eq!(absent, [jinja2], "{baseline}: {sarif}");
        let unchanged_now = states.iter().filter(|s| s.0 == "unchanged").count();
        assert_eq!(unchanged_now, 2, "{baseline}: {sarif}");
        // The table and JSON output stay the new findings only.
        let (doc, _) = scan_json(dir, &["requirements.txt", "--baseline", baseline]);
        let new: BTreeSet<String> = findings(&doc).into_iter().map(|f| f.0).collect();
        assert_eq!(new, BTreeSet::from(["reqeusts".to_owned()]), "{doc}");
    }
    std::fs::write(dir.join("requirements.txt"), pins).unwrap();
    // A baseline that is not a report is refused with a hint.
    std::fs::write(dir.join("notes.json"), "{\"hello\": 1}").unwrap();
    let out = picket(
        dir,
        &[
            "scan",
            "--offline",
            "requirements.txt",
            "--baseline",
            "notes.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a picket scan report")
            && text(&out.stderr).contains("hint:"),
        "{}",
        text(&out.stderr)
    );
}

/// pypiserver on loopback serving `requests` 2.30.0 (a project of two modules built here with
/// pip); returns it and its simple-API URL.
fn index_with_requests_2_30(venv: &Path, work: &Path) -> (Server, String) {
    let src = work.join("src");
    common::project(&src, "requests", "2.30.0", "from .api import get\n", "");
    std::fs::write(
        src.join("src/requests/api.py"),
        "def get(url):\n    return url\n",
    )
    .unwrap();
    let packages = work.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    common::pip_wheel(venv, &src, &packages);
    common::pypiserver(venv, &packages)
}

/// A virtualenv made by `python -m venv`, with `requests` 2.30.0 installed by the environment's
/// own pip from [`index_with_requests_2_30`].
fn installed_environment(venv: &Path, work: &Path) -> PathBuf {
    let (_server, index) = index_with_requests_2_30(venv, work);
    let env = work.join("env");
    common::registry::fresh_venv(venv, &env);
    common::run(
        Command::new(env.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--index-url",
                &index,
                "requests==2.30.0",
            ])
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env_remove("PIP_INDEX_URL")
            .env_remove("PIP_EXTRA_INDEX_URL"),
    );
    env
}

/// The one site-packages folder of a virtualenv.
fn site_packages(env: &Path) -> PathBuf {
    let lib = std::fs::read_dir(env.join("lib"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("python")
        })
        .unwrap();
    lib.join("site-packages")
}

#[test]
fn issue_17_an_installed_environment_is_vetted_and_its_files_checked() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let env = installed_environment(&venv, data.path());
    let sp = site_packages(&env);
    let prefix = format!("{}/", data.path().display());
    let work = prefix.as_str();

    // As installed: the pinned release's advisories, and no file differs from its RECORD.
    let (doc, out) = scan_json(data.path(), &["--env", "env"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(doc["files"][0]["format"], "installed");
    let requests = package(&doc, "requests");
    assert_eq!(requests["version"], "2.30.0");
    assert!(
        requests["installed"]
            .as_str()
            .unwrap()
            .ends_with("site-packages/requests-2.30.0.dist-info")
    );
    assert!(
        doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["normalized"] == "pip")
    );
    // Paths as named: relative to the data folder (VIRTUAL_ENV is absolute).
    let ids = |doc: &Value| -> BTreeSet<(String, String, String)> {
        findings(doc)
            .into_iter()
            .map(|(name, _, id, what)| (name, id, what.replace(work, "")))
            .collect()
    };
    let mut vulnerable = BTreeSet::from([
        (
            "requests".to_owned(),
            "vulnerable".to_owned(),
            "GHSA-9wx4-h78v-vm56".to_owned(),
        ),
        (
            "requests".to_owned(),
            "vulnerable".to_owned(),
            "PYSEC-2023-74".to_owned(),
        ),
    ]);
    // Before Python 3.12, venv installs setuptools too, whose distutils-precedence.pth runs code
    // at every start: a warning, as the package's own.
    if let Some(setuptools) = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["normalized"] == "setuptools")
    {
        assert_eq!(setuptools["verdict"], "warn", "{setuptools}");
        let pth = sp.join("distutils-precedence.pth");
        vulnerable.insert((
            "setuptools".to_owned(),
            "pth-code".to_owned(),
            format!("env/{}", pth.strip_prefix(&env).unwrap().display()),
        ));
    }
    assert_eq!(ids(&doc), vulnerable, "{doc}");

    // The same environment found through VIRTUAL_ENV, without a path.
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["--format", "json", "scan", "--offline", "--env"])
        .env("PICKET_DATA_DIR", data.path())
        .env("HOME", data.path())
        .env("VIRTUAL_ENV", &env)
        .current_dir(data.path())
        .output()
        .unwrap();
    let active: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&active), vulnerable, "{}", text(&out.stderr));

    // The verified-hash cache (DATA_DIR/hash-cache): once the files are older than its 2-second
    // margin, a scan keeps their digests, and the next one reads no file that did not change.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let hashed = |extra: &[&str]| -> (Value, (u64, u64)) {
        let mut args = vec!["--env", "env", "--verbose"];
        args.extend_from_slice(extra);
        let (doc, out) = scan_json(data.path(), &args);
        let stderr = text(&out.stderr);
        let note = stderr
            .lines()
            .find_map(|l| l.strip_prefix("note: hashed "))
            .unwrap_or_else(|| panic!("no count of hashed files: {stderr}"));
        let number = |s: &str| s.split(' ').next().unwrap().parse::<u64>().unwrap();
        let (_, unchanged) = note.split_once("; ").unwrap();
        (doc, (number(note), number(unchanged)))
    };
    // (The scans above kept what was already older than the margin: pip's own files.)
    let (doc, (read, kept)) = hashed(&[]);
    let all = read + kept;
    assert!(
        all > 100,
        "pip's files and requests' hashed: {read} + {kept}"
    );
    assert_eq!(ids(&doc), vulnerable, "{doc}");
    let (doc, counts) = hashed(&[]);
    assert_eq!(counts, (0, all), "nothing read again");
    assert_eq!(ids(&doc), vulnerable, "{doc}");
    assert_eq!(hashed(&["--no-hash-cache"]).1, (all, 0));
    // An edit that keeps the size, with the modification time put back by os.utime: the change
    // time moved, so the file is hashed again and the edit is found.
    let api = sp.join("requests/api.py");
    let before = std::fs::metadata(&api).unwrap();
    let edit = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(
            "import os, sys\n\
             p = sys.argv[1]\n\
             st = os.stat(p)\n\
             body = open(p, 'rb').read()\n\
             open(p, 'wb').write(body.replace(b'return url', b'return URL'))\n\
             os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))\n",
        )
        .arg(&api)
        .output()
        .unwrap();
    assert!(edit.status.success(), "{}", text(&edit.stderr));
    let after = std::fs::metadata(&api).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
    assert_ne!(
        std::fs::read(&api).unwrap(),
        b"def get(url):\n    return url\n"
    );
    let (doc, counts) = hashed(&[]);
    assert_eq!(counts, (1, all - 1), "only the edited file hashed");
    let mut edited = vulnerable.clone();
    edited.insert((
        "requests".to_owned(),
        "tampered".to_owned(),
        format!("env/{}", api.strip_prefix(&env).unwrap().display()),
    ));
    assert_eq!(ids(&doc), edited, "{doc}");

    // One installed file edited, one planted beside it, and a .pth that runs code.
    std::fs::write(&api, "import os\ndef get(url):\n    os.system(url)\n").unwrap();
    std::fs::write(sp.join("requests/_hook.py"), "print('hi')\n").unwrap();
    std::fs::write(sp.join("zz-hook.pth"), "import requests._hook\n").unwrap();
    let (doc, out) = scan_json(data.path(), &["--env", "env"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "tampering blocks: {}",
        text(&out.stderr)
    );
    let shown = |p: &Path| format!("env/{}", p.strip_prefix(&env).unwrap().display());
    let mut expected = vulnerable.clone();
    for file in [&api, &sp.join("requests/_hook.py")] {
        expected.insert(("requests".to_owned(), "tampered".to_owned(), shown(file)));
    }
    assert_eq!(ids(&doc), expected, "{doc}");
    let requests = package(&doc, "requests");
    assert_eq!(requests["verdict"], "block");
    let changed = requests["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == shown(&api))
        .unwrap();
    assert_eq!(changed["severity"], "high");
    assert!(
        changed["message"]
            .as_str()
            .unwrap()
            .contains("differs from its RECORD"),
        "{changed}"
    );
    let loose = &doc["files"][0]["findings"][0];
    assert_eq!(loose["id"], "pth-code");
    assert_eq!(loose["path"], shown(&sp.join("zz-hook.pth")));

    // The table and SARIF carry them too, SARIF located at the changed file.
    let out = picket(data.path(), &["scan", "--offline", "--env", "env"]);
    let table = text(&out.stdout);
    assert!(table.contains("requests-2.30.0.dist-info"), "{table}");
    assert!(
        table.contains("tampered") && table.contains("pth-code"),
        "{table}"
    );
    let out = picket(
        data.path(),
        &[
            "--format",
            "sarif",
            "scan",
            "--offline",
            "--env",
            "env",
            "-o",
            "env.sarif",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(data.path().join("env.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let uri = |r: &Value| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let tampered: BTreeSet<String> = results
        .iter()
        .filter(|r| r["ruleId"] == "tampered")
        .map(uri)
        .collect();
    assert_eq!(
        tampered,
        BTreeSet::from([shown(&api), shown(&sp.join("requests/_hook.py"))])
    );
    assert!(
        results
            .iter()
            .filter(|r| r["ruleId"] == "vulnerable")
            .all(|r| uri(r).ends_with("requests-2.30.0.dist-info/METADATA"))
    );
    let check = Command::new(venv.join("bin/python"))
        .arg("-c")
        .arg(SARIF_MODEL)
        .arg(data.path().join("env.sarif"))
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout), "valid\n", "{}", text(&check.stderr));
}

#[test]
fn issue_17_hostile_environments_are_refused_in_one_line() {
    let data = data_with_advisories();
    let dir = data.path();
    // A site-packages folder with a forged RECORD that points outside, and a link loop.
    let sp = dir.join("env/lib/python3.13/site-packages");
    let info = sp.join("evil-1.0.dist-info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
    )
    .unwrap();
    std::fs::write(
        info.join("RECORD"),
        "../../../../../../../../../../etc/passwd,sha256=AAAA,4\n/etc/hostname,sha256=AAAA,4\nevil-1.0.dist-info/RECORD,,\n",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(sp.join("loop"), sp.join("loop")).unwrap();
    let (doc, out) = scan_json(dir, &["--env", "env/lib/python3.13/site-packages"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let evil = package(&doc, "evil");
    let messages: Vec<&str> = evil["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{evil}");
    assert!(messages[0].contains("line 1 lists `../../../../../../../../../../etc/passwd`, outside the environment; refused, not read"), "{}", messages[0]);
    assert!(
        messages[1].contains("line 2 lists `/etc/hostname`, outside the environment"),
        "{}",
        messages[1]
    );
    // Not an environment: one error with a hint, exit 2.
    let out = picket(dir, &["scan", "--offline", "--env", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("not a virtualenv or site-packages folder") && err.contains("hint:"),
        "{err}"
    );
}

/// `path,sha256=…,size` of `bytes`, as a RECORD row.
fn record_row(path: &str, bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!(
        "{path},sha256={},{}\n",
        data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(bytes)),
        bytes.len()
    )
}

/// Two projects and an environment, against `baseline` if given.
fn args(baseline: Option<&str>) -> Vec<&str> {
    let mut all = vec!["app/pyproject.toml", "tool", "--env", "env"];
    if let Some(b) = baseline {
        all.extend(["--baseline", b]);
    }
    all
}

#[test]
fn issue_17_baselines_from_sarif_and_of_findings_about_files() {
    let data = data_with_advisories();
    let dir = data.path();

    // A SARIF report is a baseline too.
    baseline_then_bait(dir, "sarif");
    let (after, out) = scan_json(dir, &["requirements.txt", "--baseline", "before.sarif"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let new: BTreeSet<String> = findings(&after).into_iter().map(|f| f.0).collect();
    assert_eq!(new, BTreeSet::from(["reqeusts".to_owned()]), "{after}");
    // The fixture's three advisories, each known from the SARIF results.
    let ignored: usize = after["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ignored"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(ignored, 3, "{after}");

    // Findings about files are known by their file: a second project without a lock file, a
    // second changed file and a second planted .pth are new though the first ones are not.
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::create_dir_all(dir.join("tool")).unwrap();
    let project = "[project]\nname = \"x\"\nversion = \"1\"\ndependencies = [\"flask>=2\"]\n";
    std::fs::write(dir.join("app/pyproject.toml"), project).unwrap();
    let sp = dir.join("env/lib/python3.13/site-packages");
    std::fs::create_dir_all(sp.join("demo-1.0.dist-info")).unwrap();
    std::fs::create_dir_all(sp.join("demo")).unwrap();
    std::fs::write(
        sp.join("demo-1.0.dist-info/METADATA"),
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    )
    .unwrap();
    std::fs::write(
        sp.join("demo-1.0.dist-info/RECORD"),
        format!(
            "{}{}demo-1.0.dist-info/RECORD,,\n",
            record_row("demo/a.py", b"a = 1\n"),
            record_row("demo/b.py", b"b = 1\n")
        ),
    )
    .unwrap();
    std::fs::write(sp.join("demo/a.py"), "a = 2\n").unwrap();
    std::fs::write(sp.join("demo/b.py"), "b = 1\n").unwrap();
    std::fs::write(sp.join("one.pth"), "import demo\n").unwrap();
    for format in ["json", "sarif"] {
        let name = format!("files.{format}");
        let mut all = vec!["--format", format, "scan", "--offline", "-o", &name];
        all.extend(args(None));
        std::fs::write(dir.join("tool/pyproject.toml"), "[project]\nname = \"t\"\n").unwrap();
        let out = picket(dir, &all);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    }
    std::fs::write(dir.join("tool/pyproject.toml"), project).unwrap();
    std::fs::write(sp.join("demo/b.py"), "b = 2\n").unwrap();
    std::fs::write(sp.join("two.pth"), "import os\n").unwrap();
    for baseline in ["files.json", "files.sarif"] {
        let (doc, out) = scan_json(dir, &args(Some(baseline)));
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let tampered: Vec<&str> = package(&doc, "demo")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            tampered,
            ["env/lib/python3.13/site-packages/demo/b.py"],
            "{baseline}: {doc}"
        );
        let file_findings: Vec<(String, String)> = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| {
                f["findings"].as_array().unwrap().iter().map(move |x| {
                    (
                        x["id"].as_str().unwrap().to_owned(),
                        x["path"]
                            .as_str()
                            .unwrap_or(f["path"].as_str().unwrap())
                            .to_owned(),
                    )
                })
            })
            .collect();
        assert_eq!(
            file_findings,
            // The environment comes first, then the files named.
            [
                (
                    "pth-code".to_owned(),
                    "env/lib/python3.13/site-packages/two.pth".to_owned()
                ),
                ("unlocked".to_owned(), "tool/pyproject.toml".to_owned()),
            ],
            "{baseline}: {doc}"
        );
    }
}

/// The findings of `requests` 2.30.0 against the OSV fixtures: its two advisories.
fn requests_2_30_advisories() -> BTreeSet<(String, String, String, String)> {
    ["GHSA-9wx4-h78v-vm56", "PYSEC-2023-74"]
        .into_iter()
        .map(|id| {
            (
                "requests".to_owned(),
                "2.30.0".to_owned(),
                "vulnerable".to_owned(),
                id.to_owned(),
            )
        })
        .collect()
}

#[test]
fn issue_17_pip_compile_layouts_are_read() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let dir = data.path();
    let (_server, index) = index_with_requests_2_30(&venv, dir);
    // pip-tools' layout: loose requirements in requirements.in, compiled (here by uv's
    // pip-compile, with hashes) into requirements.txt.
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("requirements.in"), "requests>=2.0\n").unwrap();
    common::run(
        Command::new(venv.join("bin/uv"))
            .args([
                "pip",
                "compile",
                "--quiet",
                "--generate-hashes",
                "--no-cache",
            ])
            .args([
                "--index-url",
                &index,
                "requirements.in",
                "-o",
                "requirements.txt",
            ])
            .current_dir(&project)
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX")
            .env("UV_NO_CONFIG", "1"),
    );
    let compiled = std::fs::read_to_string(project.join("requirements.txt")).unwrap();
    assert!(compiled.contains("requests==2.30.0") && compiled.contains("--hash=sha256:"));
    let line = 1 + compiled
        .lines()
        .position(|l| l.starts_with("requests==2.30.0"))
        .unwrap();

    // The folder: both files, the .in's range not called unpinned, the pins' advisories at
    // their line of the compiled file.
    let (doc, out) = scan_json(dir, &["project"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files: Vec<(&str, &str)> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        files,
        [
            ("project/requirements.in", "requirements"),
            ("project/requirements.txt", "requirements")
        ]
    );
    let pinned = requests_2_30_advisories();
    assert_eq!(findings(&doc), pinned, "{doc}");
    let at: Vec<(&str, usize)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["source"]["file"].as_str().unwrap(),
                line_of(&p["source"]["line"]),
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            ("project/requirements.in", 1),
            ("project/requirements.txt", line)
        ]
    );

    // The compiled file under a name no tool gives it, named on the command line: read by its
    // content, the same findings.
    std::fs::copy(project.join("requirements.txt"), dir.join("pins.compiled")).unwrap();
    let (doc, _) = scan_json(dir, &["pins.compiled"]);
    assert_eq!(doc["files"][0]["format"], "requirements");
    assert_eq!(findings(&doc), pinned, "{doc}");
}

/// `git ARGS` in `dir` with a fixed identity and no user or system configuration.
fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.org")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.org");
    cmd
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    git_command(dir, args).output().unwrap()
}

/// The folder of the picket binary under test, first on a PATH for child processes.
fn path_with_picket() -> std::ffi::OsString {
    let bin = Path::new(env!("CARGO_BIN_EXE_picket")).parent().unwrap();
    std::env::join_paths(std::iter::once(bin.to_owned()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap()
}

#[test]
fn issue_17_the_pre_commit_hook_blocks_a_commit_adding_a_typosquat() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let dir = data.path();
    // The hooks repository: this repository's .pre-commit-hooks.yaml, committed.
    let hooks = dir.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &["commit", "-qm", "hooks"],
    ] {
        assert!(git(&hooks, args).status.success());
    }
    let rev = text(&git(&hooks, &["rev-parse", "HEAD"]).stdout)
        .trim()
        .to_owned();
    // A project using it, with pre-commit's hook installed in its git repository.
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: picket-scan\n",
            hooks.display()
        ),
    )
    .unwrap();
    assert!(git(&project, &["init", "-q"]).status.success());
    let pre_commit = |args: &[&str]| {
        Command::new(venv.join("bin/pre-commit"))
            .args(args)
            .current_dir(&project)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("PRE_COMMIT_HOME", dir.join("pre-commit-home"))
            .output()
            .unwrap()
    };
    let out = pre_commit(&["install"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // git runs the hook, which runs the picket under test (PATH) with this data folder.
    let commit = |message: &str| {
        git_command(&project, &["commit", "-m", message])
            .env("PATH", path_with_picket())
            .env("PICKET_DATA_DIR", dir)
            .env("PRE_COMMIT_HOME", dir.join("pre-commit-home"))
            .env_remove("PICKET_INDEX_URL")
            .output()
            .unwrap()
    };

    std::fs::write(project.join("requirements.txt"), "requests==2.32.0\n").unwrap();
    git(&project, &["add", "."]);
    let out = commit("clean");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("picket scan") && said.contains("Passed"),
        "{said}"
    );

    std::fs::write(
        project.join("requirements.txt"),
        "requests==2.32.0\nreqeusts==2.31.0\n",
    )
    .unwrap();
    git(&project, &["add", "requirements.txt"]);
    let out = commit("add a typosquat");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("Failed") && said.contains("typosquat: `reqeusts` imitates `requests`"),
        "{said}"
    );
    let log = text(&git(&project, &["log", "--format=%s"]).stdout);
    assert_eq!(log, "clean\n", "the blocked commit was not made");
    // A commit that touches no dependency file does not run it.
    std::fs::write(project.join("notes.txt"), "x\n").unwrap();
    git(&project, &["add", "notes.txt"]);
    git(&project, &["reset", "-q", "requirements.txt"]);
    let out = commit("notes");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() && said.contains("(no files to check)Skipped"),
        "{said}"
    );
}

#[test]
fn issue_17_the_github_action_runs_its_steps_as_a_runner_would() {
    let Some(venv) = venv() else { return };
    let data = data_with_advisories();
    let dir = data.path();
    // Its shell steps, executed (tests/support/run_action.py), with the binary under test as the
    // `picket` input; the upload step (another action) can't run outside GitHub.
    let run = |inputs: &[&str]| {
        let out = Command::new(venv.join("bin/python"))
            .arg(root().join("tests/support/run_action.py"))
            .arg(root().join("action.yml"))
            .arg(dir)
            .arg(format!("picket={}", env!("CARGO_BIN_EXE_picket")))
            .args(inputs)
            .env("PICKET_DATA_DIR", dir)
            .env("HOME", dir)
            .env_remove("PICKET_INDEX_URL")
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code(), report)
    };
    std::fs::write(dir.join("requirements.txt"), "requests==2.32.0\n").unwrap();
    let (code, report) = run(&["paths=requirements.txt", "offline=true"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["outputs"]["exit-code"], "0");
    let steps: Vec<(&str, bool)> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["ran"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("Install picket", true),
            ("Import advisories", false),
            ("Scan", true),
            ("Upload to code scanning", false),
            ("Verdict", true)
        ]
    );
    let upload = &report["steps"][3];
    assert_eq!(upload["uses"], "github/codeql-action/upload-sarif@v3");
    assert_eq!(upload["with"]["sarif_file"], "picket.sarif");

    // A typosquat: the report is written (for the upload) and the verdict step fails.
    std::fs::write(dir.join("requirements.txt"), "reqeusts==2.31.0\n").unwrap();
    let baseline = dir.join("empty.json");
    std::fs::write(&baseline, "{\"packages\": []}").unwrap();
    let (code, report) = run(&[
        "paths=requirements.txt",
        "offline=true",
        &format!("baseline={}", baseline.display()),
        "sarif-file=out/picket.sarif",
    ]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["outputs"]["exit-code"], "1");
    assert_eq!(report["steps"][4]["status"], 1);
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/picket.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "typosquat" && r["baselineState"] == "new")
    );
    // An input the action does not declare is refused, as a runner warns of it.
    let out = Command::new(venv.join("bin/python"))
        .arg(root().join("tests/support/run_action.py"))
        .arg(root().join("action.yml"))
        .arg(dir)
        .arg("format=json")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// `TOOL ARGS` in `dir`, insisting it succeeds.
fn tool(dir: &Path, program: &str, args: &[&str]) {
    common::run(Command::new(program).args(args).current_dir(dir));
}

/// Whether the image tools (umoci, skopeo: Debian packages) are here; under CI they must be.
fn image_tools() -> bool {
    let here = ["umoci", "skopeo"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "umoci and skopeo are missing; .ci/run installs them"
        );
        eprintln!("skipped: umoci or skopeo is not installed");
    }
    here
}

#[test]
fn issue_17_an_image_made_by_umoci_is_scanned_top_layer_only() {
    let Some(venv) = venv() else { return };
    if !image_tools() {
        return;
    }
    let data = data_with_advisories();
    let dir = data.path();
    let env = installed_environment(&venv, dir);
    let sp = site_packages(&env);
    let python = sp
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // Three layers, each a umoci repack of the bundle: an environment at /opt/old; a second at
    // /usr/local; then /opt/old deleted (a whiteout) and one installed file of /usr/local edited.
    tool(dir, "umoci", &["init", "--layout", "oci"]);
    tool(dir, "umoci", &["new", "--image", "oci:t"]);
    let layer = |change: &dyn Fn(&Path)| {
        tool(
            dir,
            "umoci",
            &["unpack", "--rootless", "--image", "oci:t", "bundle"],
        );
        change(&dir.join("bundle/rootfs"));
        tool(dir, "umoci", &["repack", "--image", "oci:t", "bundle"]);
        std::fs::remove_dir_all(dir.join("bundle")).unwrap();
    };
    let copy_env = |rootfs: &Path, prefix: &str| {
        let target = rootfs.join(prefix).join("lib").join(&python);
        std::fs::create_dir_all(&target).unwrap();
        tool(
            dir,
            "cp",
            &["-r", sp.to_str().unwrap(), target.to_str().unwrap()],
        );
    };
    layer(&|rootfs| copy_env(rootfs, "opt/old"));
    layer(&|rootfs| copy_env(rootfs, "usr/local"));
    let api = format!("usr/local/lib/{python}/site-packages/requests/api.py");
    layer(&|rootfs| {
        std::fs::remove_dir_all(rootfs.join("opt/old")).unwrap();
        std::fs::write(rootfs.join(&api), "import os\n").unwrap();
    });
    // The same image as `docker save` writes it.
    tool(
        dir,
        "skopeo",
        &[
            "copy",
            "--quiet",
            "oci:oci:t",
            "docker-archive:saved.tar:picket/test:t",
        ],
    );

    for image in ["oci", "saved.tar"] {
        let (doc, out) = scan_json(dir, &["--image", image]);
        assert_eq!(out.status.code(), Some(1), "{image}: {}", text(&out.stderr));
        let files: Vec<&str> = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        let site = format!("{image}:/usr/local/lib/{python}/site-packages");
        assert_eq!(
            files,
            [site.as_str()],
            "{image}: only the top layer's environment"
        );
        let mut expected = requests_2_30_advisories();
        expected.insert((
            "requests".to_owned(),
            "2.30.0".to_owned(),
            "tampered".to_owned(),
            format!("{image}:/{api}"),
        ));
        // Before Python 3.12, the environment holds setuptools with its code-running .pth.
        if let Some(setuptools) = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["normalized"] == "setuptools")
        {
            expected.insert((
                "setuptools".to_owned(),
                setuptools["version"].as_str().unwrap().to_owned(),
                "pth-code".to_owned(),
                format!("{site}/distutils-precedence.pth"),
            ));
        }
        assert_eq!(findings(&doc), expected, "{image}: {doc}");
    }
    // Not an image: one error with a hint.
    let out = picket(dir, &["scan", "--offline", "--image", "bundle-missing"]);
    assert_eq!(out.status.code(), Some(2));
    let out = picket(dir, &["scan", "--offline", "--image", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("hint: give a `docker save` tarball"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn issue_17_vex_statements_suppress_their_findings_with_the_justification() {
    let data = data_with_advisories();
    let dir = data.path();
    std::fs::write(
        dir.join("supplier.openvex.json"),
        serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.org/vex/2026-1",
            "author": "app team",
            "timestamp": "2026-11-01T00:00:00Z",
            "version": 1,
            "statements": [
                {"vulnerability": {"name": "CVE-2024-35195"},
                 "products": [{"@id": "pkg:pypi/requests@2.31.0"}],
                 "status": "not_affected",
                 "justification": "vulnerable_code_not_in_execute_path",
                 "impact_statement": "verify=False is never used"},
                // Another release: it does not apply to the pinned one.
                {"vulnerability": {"name": "CVE-2024-22195"},
                 "products": [{"@id": "pkg:pypi/jinja2@3.1.3"}],
                 "status": "not_affected",
                 "justification": "component_not_present"},
            ]
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("bom.cdx.json"),
        serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "components": [{"type": "library", "bom-ref": "u3", "name": "urllib3",
                            "version": "1.26.5", "purl": "pkg:pypi/urllib3@1.26.5"}],
            "vulnerabilities": [{"id": "GHSA-v845-jxx5-vc9f",
                "analysis": {"state": "not_affected", "justification": "code_not_reachable"},
                "affects": [{"ref": "u3"}]}]
        })
        .to_string(),
    )
    .unwrap();
    let requirements = deps_fixture("uv/requirements.txt");
    let (doc, out) = scan_json(
        dir,
        &[
            &requirements,
            "--vex",
            "supplier.openvex.json",
            "--vex",
            "bom.cdx.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let left: BTreeSet<String> = findings(&doc).into_iter().map(|f| f.3).collect();
    assert_eq!(
        left,
        BTreeSet::from(["GHSA-h5c8-rqwp-cp95".to_owned()]),
        "{doc}"
    );
    let requests = package(&doc, "requests");
    assert_eq!(
        requests["ignored"][0]["reason"],
        "VEX supplier.openvex.json: not_affected — vulnerable_code_not_in_execute_path; verify=False is never used"
    );
    assert_eq!(
        requests["vulnerabilities"][0]["ignored"]["reason"],
        requests["ignored"][0]["reason"]
    );
    assert_eq!(
        package(&doc, "urllib3")["ignored"][0]["reason"],
        "VEX bom.cdx.json: not_affected — code_not_reachable"
    );
    // The table lists them as ignored, saying why (in full with --verbose).
    let out = picket(
        dir,
        &[
            "scan",
            "--offline",
            "--verbose",
            &requirements,
            "--vex",
            "supplier.openvex.json",
        ],
    );
    let table = text(&out.stdout);
    assert!(
        table.contains("vulnerable_code_not_in_execute_path"),
        "{table}"
    );
    // A file that is not VEX: one error with a hint.
    let out = picket(
        dir,
        &["scan", "--offline", &requirements, "--vex", &requirements],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not JSON"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn issue_17_ignore_entries_go_out_as_cyclonedx_vex_and_come_back_in() {
    let Some(venv) = venv() else { return };
    let data = project_with_ignores();
    let dir = data.path();
    for (format, file) in [("cyclonedx", "bom.cdx.json"), ("spdx", "bom.spdx.json")] {
        let out = picket(
            dir,
            &[
                "--format",
                format,
                "sbom",
                "project",
                "--config",
                "picket.toml",
                "-o",
                file,
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let check = validate_sboms(
        &venv.join("bin/python"),
        &dir.join("bom.cdx.json"),
        &dir.join("bom.spdx.json"),
    );
    assert!(check.status.success(), "{}", text(&check.stdout));
    let bom: Value =
        serde_json::from_slice(&std::fs::read(dir.join("bom.cdx.json")).unwrap()).unwrap();
    let analyses: Vec<(&str, &Value)> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("analysis").is_some())
        .map(|v| (v["id"].as_str().unwrap(), &v["analysis"]))
        .collect();
    assert_eq!(analyses.len(), 1, "{bom}");
    assert_eq!(analyses[0].0, "GHSA-9wx4-h78v-vm56");
    assert_eq!(analyses[0].1["state"], "not_affected");
    assert_eq!(
        analyses[0].1["detail"],
        "verify=False is never used (picket.toml [[check.ignore]], until 2099-01-01)"
    );
    read_back_without_the_policy(dir, "bom.cdx.json");
}

#[test]
fn issue_17_ignore_entries_go_out_as_openvex_and_come_back_in() {
    let data = project_with_ignores();
    let dir = data.path();
    let out = picket(
        dir,
        &[
            "--format",
            "openvex",
            "sbom",
            "project",
            "--config",
            "picket.toml",
            "-o",
            "vex.openvex.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let vex: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vex.openvex.json")).unwrap()).unwrap();
    // OpenVEX 0.2.0's required fields, and one statement for the entry in force.
    assert_eq!(vex["@context"], "https://openvex.dev/ns/v0.2.0");
    for key in ["@id", "author", "timestamp"] {
        assert!(
            vex[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key}: {vex}"
        );
    }
    assert_eq!(vex["version"], 1);
    let statements = vex["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{vex}");
    let statement = &statements[0];
    assert_eq!(statement["vulnerability"]["name"], "GHSA-9wx4-h78v-vm56");
    assert!(
        statement["vulnerability"]["aliases"]
            .as_array()
            .unwrap()
            .contains(&Value::from("CVE-2024-35195")),
        "{statement}"
    );
    assert_eq!(statement["products"][0]["@id"], "pkg:pypi/requests@2.31.0");
    assert_eq!(statement["status"], "not_affected");
    assert_eq!(
        statement["impact_statement"],
        "verify=False is never used (picket.toml [[check.ignore]], until 2099-01-01)"
    );
    read_back_without_the_policy(dir, "vex.openvex.json");
}

/// A data directory with the OSV fixtures, `project/` (the uv fixture) and a `picket.toml` with
/// one ignore entry in force (by the CVE alias of requests' advisory) and one expired: only the
/// first is a VEX statement.
fn project_with_ignores() -> tempfile::TempDir {
    let data = data_with_advisories();
    let dir = data.path();
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    for file in ["uv.lock", "pyproject.toml"] {
        std::fs::copy(deps_fixture(&format!("uv/{file}")), project.join(file)).unwrap();
    }
    std::fs::write(
        dir.join("picket.toml"),
        "[[check.ignore]]\nid = \"CVE-2024-35195\"\npackage = \"requests\"\nuntil = \"2099-01-01\"\nreason = \"verify=False is never used\"\n\n\
         [[check.ignore]]\nid = \"GHSA-v845-jxx5-vc9f\"\npackage = \"urllib3\"\nuntil = \"2001-01-01\"\nreason = \"old\"\n",
    )
    .unwrap();
    data
}

/// `scan --vex VEX` of the project after `picket.toml` is gone: requests' finding is left out
/// with the statement's reason, urllib3's (whose entry expired) is not.
fn read_back_without_the_policy(dir: &Path, vex: &str) {
    std::fs::remove_file(dir.join("picket.toml")).unwrap();
    let (doc, out) = scan_json(dir, &["project/uv.lock", "--vex", vex]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let requests = package(&doc, "requests");
    assert!(
        requests["findings"].as_array().unwrap().is_empty(),
        "{requests}"
    );
    assert_eq!(
        requests["ignored"][0]["reason"],
        format!(
            "VEX {vex}: not_affected — verify=False is never used (picket.toml [[check.ignore]], until 2099-01-01)"
        )
    );
    assert_eq!(
        package(&doc, "urllib3")["findings"][0]["advisory"],
        "GHSA-v845-jxx5-vc9f"
    );
}

#[test]
fn issue_17_a_license_policy_judges_the_licenses_the_index_declares() {
    use common::registry::{Registry, twine};
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(&tmp.path().join("registry"), &[]);
    let (token, _) = registry.onboard("alice");
    // Releases built by setuptools with PEP 639 license expressions, uploaded with twine.
    let dists = tmp.path().join("dists");
    std::fs::create_dir_all(&dists).unwrap();
    let licensed = [
        ("plumtree-mit", "MIT"),
        ("plumtree-either", "GPL-3.0-only OR MIT"),
        ("plumtree-gpl", "GPL-3.0-only"),
        ("plumtree-mpl", "MPL-2.0"),
    ];
    for (name, license) in licensed {
        let src = tmp.path().join(name);
        common::project(&src, name, "1.0", "x = 1\n", "");
        let pyproject = std::fs::read_to_string(src.join("pyproject.toml")).unwrap();
        std::fs::write(
            src.join("pyproject.toml"),
            pyproject.replace(
                "description = \"built by a test\"",
                &format!("description = \"built by a test\"\nlicense = \"{license}\""),
            ),
        )
        .unwrap();
        common::pip_wheel(&venv, &src, &dists);
    }
    let wheels: Vec<PathBuf> = std::fs::read_dir(&dists)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let out = twine(
        &venv,
        &registry,
        &token,
        &wheels.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("requirements.txt"),
        licensed
            .iter()
            .map(|(n, _)| format!("{n}==1.0"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    std::fs::write(
        work.join("picket.toml"),
        "[scan.licenses]\nallow = [\"MIT\", \"Apache-2.0\"]\ndeny = [\"GPL-3.0-only\"]\n",
    )
    .unwrap();
    let index = registry.simple();
    let (doc, out) = scan_online(&work, &index);
    let judged: Vec<(String, String, String)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["id"] == "license")
                .map(move |f| {
                    (
                        p["normalized"].as_str().unwrap().to_owned(),
                        f["severity"].as_str().unwrap().to_owned(),
                        f["message"].as_str().unwrap().to_owned(),
                    )
                })
        })
        .collect();
    assert_eq!(
        judged,
        [
            (
                "plumtree-gpl".to_owned(),
                "high".to_owned(),
                "plumtree-gpl 1.0 is licensed `GPL-3.0-only`: GPL-3.0-only denied by [scan.licenses]; replace it, or change the policy".to_owned()
            ),
            (
                "plumtree-mpl".to_owned(),
                "medium".to_owned(),
                "plumtree-mpl 1.0 is licensed `MPL-2.0`, which [scan.licenses] allow does not cover; check the terms, or allow the license".to_owned()
            ),
        ],
        "{}",
        text(&out.stderr)
    );
    assert_eq!(package(&doc, "plumtree-gpl")["verdict"], "block");
    assert_eq!(out.status.code(), Some(1));
    // Offline there is nothing to judge by: a hint, no license findings.
    let out = picket(
        &work,
        &["--format", "json", "scan", "--offline", "requirements.txt"],
    );
    assert!(
        text(&out.stderr).contains("hint: [scan.licenses] is set but licenses were not checked")
    );
    assert!(!text(&out.stdout).contains("\"license\""));
}
