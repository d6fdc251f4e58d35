//! Wheels and sdists built during the test run by real build tools (pip, uv, python -m build),
//! then inspected by the `picket` binary. Needs the virtualenv `scripts/test` sets up.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{pip_wheel, project, run, venv};

fn inspect_json(paths: &[PathBuf]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("--format=json")
        .arg("inspect")
        .args(paths)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code(), doc)
}

/// The distributions a build tool wrote (uv also writes a `.gitignore` there).
fn built(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".whl") || name.ends_with(".tar.gz")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn wheels_and_sdists_from_pip_uv_and_build() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();

    let real = tmp.path().join("real-cli");
    project(
        &real,
        "real-cli",
        "2.0.0",
        "def main():\n    return 42\n",
        "real-cli = \"real_cli:main\"",
    );
    let empty = tmp.path().join("hollow-pkg");
    project(
        &empty,
        "hollow-pkg",
        "2.0.0",
        "",
        "pip = \"hollow_pkg:main\"",
    );

    let pip_out = tmp.path().join("pip");
    pip_wheel(&venv, &real, &pip_out);
    let uv_out = tmp.path().join("uv");
    // --no-build-isolation builds with the interpreter's own setuptools: name the test venv's,
    // or uv takes the first Python on PATH (a system Python whose setuptools may need `wheel`).
    run(Command::new(venv.join("bin/uv"))
        .args(["build", "-q", "--no-build-isolation", "--python"])
        .arg(venv.join("bin/python"))
        .arg("--out-dir")
        .arg(&uv_out)
        .arg(&empty));
    let build_out = tmp.path().join("build");
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "build", "--no-isolation", "--sdist", "--outdir"])
        .arg(&build_out)
        .arg(&real));

    let (code, doc) = inspect_json(&built(&pip_out));
    assert_eq!(code, Some(0));
    let wheel = &doc["inspected"][0];
    assert_eq!(wheel["name"], "real-cli");
    assert_eq!(wheel["entry_points"][0]["name"], "real-cli");
    assert_eq!(wheel["emptiness"]["empty"], false);

    let (code, doc) = inspect_json(&built(&build_out));
    assert_eq!(code, Some(0));
    assert_eq!(doc["inspected"][0]["kind"], "sdist");
    assert_eq!(doc["inspected"][0]["entry_points"][0]["name"], "real-cli");

    // uv builds both forms; both are empty and both declare a `pip` command.
    let files = built(&uv_out);
    assert_eq!(files.len(), 2, "{files:?}");
    let (code, doc) = inspect_json(&files);
    assert_eq!(code, Some(1), "empty packages are findings");
    for inv in doc["inspected"].as_array().unwrap() {
        assert_eq!(inv["emptiness"]["empty"], true, "{}", inv["filename"]);
        assert_eq!(inv["entry_points"][0]["name"], "pip", "{}", inv["filename"]);
    }
}
