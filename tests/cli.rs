//! The `picket` binary as a user runs it: output streams, formats and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn picket(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run picket")
}

fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn inspect_prints_the_inventory_of_a_real_wheel() {
    let out = picket(&[
        "inspect",
        &fixture("dists/demo_tool-1.0.0-py3-none-any.whl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "demo-tool 1.0.0",
        "has code",
        "scripts        demo-admin, demo-tool",
        "demo_tool/cli.py",
        "requires       click>=8",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(
        !stdout.contains('\x1b'),
        "no color when stdout is not a terminal"
    );
}

#[test]
fn inspect_calls_the_empty_package_empty_and_exits_1() {
    let out = picket(&[
        "inspect",
        &fixture("dists/empty_pkg-0.0.1-py3-none-any.whl"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("EMPTY: no code"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn inspect_json_is_one_stable_document() {
    let out = picket(&[
        "inspect",
        "--format",
        "json",
        &fixture("dists/cext_demo-0.1.0-cp311-cp311-linux_x86_64.whl"),
        &fixture("dists/legacy_zip-0.3.zip"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let inspected = doc["inspected"].as_array().unwrap();
    assert_eq!(inspected.len(), 2);
    assert_eq!(inspected[0]["kind"], "wheel");
    assert_eq!(
        inspected[0]["measures"]["native_binaries"][0]["format"],
        "ELF"
    );
    assert_eq!(inspected[0]["emptiness"]["empty"], false);
    assert_eq!(inspected[1]["format"], "zip");
    assert_eq!(
        inspected[1]["measures"]["install_hooks"][0],
        "legacy_zip-0.3/setup.py"
    );
    assert_eq!(inspected[1]["entry_points"][0]["name"], "legacy-zip");
    assert_eq!(doc["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn every_hostile_archive_exits_2_with_a_one_line_reason() {
    let dir = tempfile::tempdir().unwrap();
    for case in picket_testkit::hostile_archives() {
        let path: PathBuf = dir.path().join(case.filename);
        std::fs::write(&path, &case.bytes).unwrap();
        let out = picket(&["inspect", path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", case.case);
        assert_eq!(
            stderr.lines().count(),
            1,
            "{}: one line: {stderr}",
            case.case
        );
        assert!(stderr.starts_with("error: "), "{}: {stderr}", case.case);
        assert!(stderr.contains(case.expect), "{}: {stderr}", case.case);
        assert!(out.stdout.is_empty(), "{}: nothing on stdout", case.case);
    }
}

#[test]
fn limits_are_configurable_from_the_command_line() {
    let wheel = fixture("dists/demo_tool-1.0.0-py3-none-any.whl");
    let out = picket(&["inspect", "--max-entries", "3", &wheel]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("more than 3 entries"));
    let out = picket(&["inspect", "--max-archive-bytes", "100", &wheel]);
    assert!(
        text(&out.stderr).contains("the limit is 100"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_missing_file_and_a_usage_error_exit_2() {
    let out = picket(&["inspect", "/nonexistent/x-1.0-py3-none-any.whl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read"));
    let out = picket(&["inspect"]);
    assert_eq!(out.status.code(), Some(2));
    let out = picket(&["--format", "xml", "inspect", "x.whl"]);
    assert_eq!(out.status.code(), Some(2));
    let out = picket(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Exit codes:"));
}

#[test]
fn color_follows_the_flag() {
    let wheel = fixture("dists/empty_pkg-0.0.1-py3-none-any.whl");
    let out = picket(&["--color", "always", "inspect", &wheel]);
    assert!(text(&out.stdout).contains('\x1b'));
    let out = picket(&["--color", "never", "inspect", &wheel]);
    assert!(!text(&out.stdout).contains('\x1b'));
}

#[test]
fn deps_reads_every_format_the_tools_wrote() {
    let out = picket(&[
        "--format",
        "json",
        "deps",
        &fixture("deps/uv/requirements.txt"),
        &fixture("deps/poetry/poetry.lock"),
        &fixture("deps/pipenv/Pipfile.lock"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for file in doc["files"].as_array().unwrap() {
        let requests = file["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "requests")
            .expect("requests is locked");
        assert_eq!(requests["pinned"], "2.31.0");
        assert!(requests["source"]["line"].as_u64().unwrap() > 0);
    }
    // A file whose name and content are no dependency format (read by content since names that
    // say nothing are sniffed), and a file that isn't there.
    let dir = tempfile::tempdir().unwrap();
    let setup = dir.path().join("setup.py");
    std::fs::write(&setup, "from setuptools import setup\n\nsetup(name='x')\n").unwrap();
    let out = picket(&["deps", setup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a known dependency file")
            && text(&out.stderr).contains("hint: "),
        "{}",
        text(&out.stderr)
    );
    let out = picket(&["deps", dir.path().join("missing.txt").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.txt"),
        "{}",
        text(&out.stderr)
    );
}
