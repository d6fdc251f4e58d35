//! Dependency files written by the real tools (see `tests/fixtures/README.md` for how each was made):
//! every format must yield the same locked set, with the same hashes, for the same project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picket_deps::{DependencyFile, FileFormat, FsSource, parse_file};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/deps")
        .join(rel)
}

fn parse(rel: &str) -> DependencyFile {
    parse_file(&fixture(rel), &FsSource::default()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// name → (version, sorted hashes)
fn locked(file: &DependencyFile) -> BTreeMap<String, (String, Vec<String>)> {
    file.dependencies
        .iter()
        .map(|d| {
            let mut hashes = d.hashes.clone();
            hashes.sort();
            (
                d.name.normalized().to_owned(),
                (
                    d.pinned.clone().expect("locked files pin every package"),
                    hashes,
                ),
            )
        })
        .collect()
}

#[test]
fn every_lock_format_gives_the_same_locked_set() {
    let uv = parse("uv/uv.lock");
    assert_eq!(uv.format, FileFormat::UvLock);
    let expected = locked(&uv);
    let names: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "certifi",
            "charset-normalizer",
            "idna",
            "jinja2",
            "markupsafe",
            "requests",
            "urllib3"
        ]
    );
    assert_eq!(expected["requests"].0, "2.31.0");
    assert_eq!(expected["requests"].1.len(), 2, "sdist and wheel hash");
    for other in [
        "uv/requirements.txt",
        "uv/pylock.toml",
        "poetry/poetry.lock",
        "pipenv/Pipfile.lock",
    ] {
        assert_eq!(
            locked(&parse(other)),
            expected,
            "{other} disagrees with uv.lock"
        );
    }
}

#[test]
fn uv_lock_knows_direct_dependencies() {
    let uv = parse("uv/uv.lock");
    let direct: Vec<&str> = uv
        .dependencies
        .iter()
        .filter(|d| d.direct == Some(true))
        .map(|d| d.name.normalized())
        .collect();
    assert_eq!(direct, ["jinja2", "requests", "urllib3"]);
}

#[test]
fn uv_and_poetry_locks_record_the_same_dependency_graph() {
    let edges = |file: &DependencyFile| -> BTreeMap<String, Vec<String>> {
        file.dependencies
            .iter()
            .map(|d| (d.name.normalized().to_owned(), d.requires.clone()))
            .collect()
    };
    let uv = edges(&parse("uv/uv.lock"));
    assert_eq!(
        uv["requests"],
        ["certifi", "charset-normalizer", "idna", "urllib3"]
    );
    assert_eq!(uv["jinja2"], ["markupsafe"]);
    assert!(uv["idna"].is_empty());
    assert_eq!(edges(&parse("poetry/poetry.lock")), uv);
}

#[test]
fn lines_point_at_the_package_entry() {
    let text = std::fs::read_to_string(fixture("poetry/poetry.lock")).unwrap();
    for dep in parse("poetry/poetry.lock").dependencies {
        let line = text.lines().nth(dep.source.line - 1).unwrap();
        assert_eq!(line, format!("name = \"{}\"", dep.name.as_given()));
    }
    let text = std::fs::read_to_string(fixture("pipenv/Pipfile.lock")).unwrap();
    for dep in parse("pipenv/Pipfile.lock").dependencies {
        let line = text.lines().nth(dep.source.line - 1).unwrap();
        assert!(
            line.contains(&format!("\"{}\"", dep.name.as_given())),
            "{line}"
        );
    }
    let pipenv = parse("pipenv/Pipfile.lock");
    let urllib3 = pipenv
        .dependencies
        .iter()
        .find(|d| d.name.normalized() == "urllib3" && d.group.is_some());
    assert!(
        urllib3.is_some(),
        "the develop section is read as the dev group"
    );
}

#[test]
fn pyproject_declarations_pep_621_735_and_poetry() {
    let uv = parse("uv/pyproject.toml");
    let summary: Vec<(String, Option<String>, Option<String>)> = uv
        .dependencies
        .iter()
        .map(|d| {
            (
                d.name.normalized().to_owned(),
                d.pinned.clone(),
                d.group.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("requests".into(), Some("2.31.0".into()), None),
            ("jinja2".into(), Some("3.1.2".into()), None),
            (
                "urllib3".into(),
                Some("1.26.5".into()),
                Some("group:dev".into())
            ),
        ]
    );
    let poetry = parse("poetry/pyproject.toml");
    let names: Vec<(&str, Option<&str>)> = poetry
        .dependencies
        .iter()
        .map(|d| (d.name.normalized(), d.group.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("requests", None),
            ("jinja2", None),
            ("urllib3", Some("group:dev"))
        ]
    );
}
