//! `picket serve` driven by the real clients: twine uploads, pip and uv install, over loopback.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::{Registry, both, fresh_venv, pip_install, twine};
use common::{picket_with_stdin, run, text, venv};

/// A setuptools project with optional dependencies.
fn write_project(dir: &Path, name: &str, version: &str, deps: &[&str]) {
    let module = name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src").join(&module)).unwrap();
    std::fs::write(
        dir.join("src").join(&module).join("__init__.py"),
        format!("VERSION = \"{version}\"\n\ndef hello():\n    return \"hello from {name}\"\n"),
    )
    .unwrap();
    let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"{name} for tests\"\n\
             requires-python = \">=3.8\"\ndependencies = [{}]\n",
            deps.join(", ")
        ),
    )
    .unwrap();
}

/// Builds a wheel and an sdist with `python -m build` (no isolation: no network).
fn build(venv: &Path, src: &Path, out: &Path) -> (PathBuf, PathBuf) {
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "build", "--no-isolation", "--outdir"])
        .arg(out)
        .arg(src));
    let mut wheel = None;
    let mut sdist = None;
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("whl") => wheel = Some(path),
            Some("gz") => sdist = Some(path),
            _ => {}
        }
    }
    (wheel.expect("a wheel"), sdist.expect("an sdist"))
}

#[test]
fn twine_uploads_and_pip_and_uv_install() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::start(&tmp.path().join("data"), &[]);
    let (token, alice_totp) = registry.onboard("alice");

    // Real distributions: demo-lib 1.0 and 2.0, demo-app 1.0 depending on demo-lib.
    let mut dists = Vec::new();
    for (name, version, deps) in [
        ("demo-lib", "1.0", &[][..]),
        ("demo-lib", "2.0", &[][..]),
        ("demo-app", "1.0", &["demo-lib>=1.0"][..]),
    ] {
        let src = tmp.path().join(format!("src-{name}-{version}"));
        write_project(&src, name, version, deps);
        let (wheel, sdist) = build(
            &venv,
            &src,
            &tmp.path().join(format!("dist-{name}-{version}")),
        );
        dists.push((name, version, wheel, sdist));
    }
    let files: Vec<&Path> = dists
        .iter()
        .flat_map(|(_, _, w, s)| [w.as_path(), s.as_path()])
        .collect();
    let out = twine(&venv, &registry, &token, &files);
    assert!(out.status.success(), "{}", both(&out));

    // pip resolves demo-app and its dependency from the index (the newest demo-lib).
    let target = tmp.path().join("venv-pip");
    fresh_venv(&venv, &target);
    let out = pip_install(&target, &registry, &["demo-app"]);
    assert!(out.status.success(), "{}", both(&out));
    let check = Command::new(target.join("bin/python"))
        .args([
            "-c",
            "import demo_app, demo_lib; print(demo_app.hello(), demo_lib.VERSION)",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout).trim(), "hello from demo-app 2.0");

    // uv too (its own resolver, PEP 691 JSON and PEP 658 metadata).
    let uv_target = tmp.path().join("venv-uv");
    run(Command::new(venv.join("bin/uv"))
        .args(["venv", "-q"])
        .arg(&uv_target));
    let out = Command::new(venv.join("bin/uv"))
        .args(["pip", "install", "--no-cache", "--index-url"])
        .arg(registry.simple())
        .arg("--python")
        .arg(uv_target.join("bin/python"))
        .args(["demo-app", "demo-lib==1.0"])
        .env("UV_NO_CONFIG", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let check = Command::new(uv_target.join("bin/python"))
        .args(["-c", "import demo_lib; print(demo_lib.VERSION)"])
        .output()
        .unwrap();
    assert_eq!(text(&check.stdout).trim(), "1.0");

    // pip download with --require-hashes: the index's hashes are the files' hashes.
    let lib_wheel = &dists[0].2;
    let sha = picket_formats::hashes::sha256_hex(&std::fs::read(lib_wheel).unwrap());
    let reqs = tmp.path().join("requirements.txt");
    std::fs::write(&reqs, format!("demo-lib==1.0 --hash=sha256:{sha}\n")).unwrap();
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "download",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--only-binary",
            ":all:",
            "--require-hashes",
            "-d",
        ])
        .arg(tmp.path().join("downloads"))
        .arg("-r")
        .arg(&reqs)
        .arg("--index-url")
        .arg(registry.simple())
        .env("PIP_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));

    // Yank demo-lib 2.0: pip skips it unless pinned exactly.
    let session = registry.login("alice", Some(&common::registry::totp_now(&alice_totp)));
    let (status, body) = registry.post_json(
        "/api/v1/projects/demo-lib/releases/2.0/yank",
        Some(&session),
        &serde_json::json!({"reason": "broken build"}),
    );
    assert_eq!(status, 200, "{body}");
    let target2 = tmp.path().join("venv-pip2");
    fresh_venv(&venv, &target2);
    let out = pip_install(&target2, &registry, &["demo-lib"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(
        text(&out.stdout).contains("demo-lib-1.0") || text(&out.stdout).contains("demo_lib-1.0"),
        "{}",
        both(&out)
    );
    let out = pip_install(&target2, &registry, &["demo-lib==2.0"]);
    assert!(
        out.status.success(),
        "an exact pin still installs a yanked release: {}",
        both(&out)
    );
    assert!(
        both(&out).contains("broken build"),
        "pip shows the yank reason: {}",
        both(&out)
    );

    // The same file again: accepted (200), nothing changes. A changed file under the same name: 400.
    let out = twine(&venv, &registry, &token, &[lib_wheel]);
    assert!(out.status.success(), "identical re-upload: {}", both(&out));
    let changed = tmp.path().join("changed");
    std::fs::create_dir_all(&changed).unwrap();
    let changed_wheel = changed.join(lib_wheel.file_name().unwrap());
    let rebuilt = picket_testkit::wheel(
        "demo-lib",
        "1.0",
        &[("demo_lib/__init__.py", b"VERSION = 'evil'\n")],
    );
    std::fs::write(&changed_wheel, rebuilt).unwrap();
    let out = twine(&venv, &registry, &token, &[&changed_wheel]);
    assert!(!out.status.success());
    assert!(
        both(&out).contains("400") && both(&out).contains("File already exists"),
        "{}",
        both(&out)
    );

    // Someone else's project: 403. A bad token: 403.
    let (bob, _) = registry.onboard("bob");
    let bob_wheel = changed.join("demo_lib-3.0-py3-none-any.whl");
    std::fs::write(
        &bob_wheel,
        picket_testkit::wheel("demo-lib", "3.0", &[("demo_lib/__init__.py", b"X = 1\n")]),
    )
    .unwrap();
    let out = twine(&venv, &registry, &bob, &[&bob_wheel]);
    assert!(
        both(&out).contains("403")
            && both(&out).contains("isn't allowed to upload to project 'demo-lib'"),
        "{}",
        both(&out)
    );
    let out = twine(&venv, &registry, "pkt-not-a-real-token", &[&bob_wheel]);
    assert!(
        both(&out).contains("403") && both(&out).contains("Invalid or non-existent authentication"),
        "{}",
        both(&out)
    );

    // An archive the inspector refuses: 400 with its reason.
    let evil = changed.join("trav-1.0-py3-none-any.whl");
    std::fs::write(
        &evil,
        picket_testkit::wheel("trav", "1.0", &[("../../.bashrc", b"evil")]),
    )
    .unwrap();
    let out = twine(&venv, &registry, &bob, &[&evil]);
    assert!(
        both(&out).contains("400") && both(&out).contains("climbs out with `..`"),
        "{}",
        both(&out)
    );

    // The journal has every step, exported as JSON lines.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            registry.data.to_str().unwrap(),
            "export-events",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kinds: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for kind in [
        "account.create",
        "account.email.verify",
        "account.2fa.add",
        "account.token.create",
        "account.login",
        "project.create",
        "file.upload",
        "release.yank",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    assert_eq!(
        kinds.iter().filter(|k| *k == "file.upload").count(),
        6,
        "refused and duplicate uploads are not journaled as uploads"
    );
    let upload: serde_json::Value = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["kind"] == "file.upload")
        .unwrap();
    assert_eq!(upload["user"], "alice");
    assert_eq!(upload["artifact"]["empty"], false);
    assert!(upload["time"].as_str().unwrap().ends_with('Z'));
}
