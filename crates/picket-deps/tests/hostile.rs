//! Malformed and hostile dependency files: each gets a message with file and line, never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picket_deps::parse_file;

fn check_err(name: &str, content: &[u8], expected: &str) {
    let files: BTreeMap<PathBuf, Vec<u8>> = [(PathBuf::from(name), content.to_vec())].into();
    let err = parse_file(Path::new(name), &files)
        .map_or_else(|e| e.to_string(), |f| format!("parsed: {f:?}"));
    assert!(
        err.contains(expected),
        "{name}: expected `{expected}` in `{err}`"
    );
}

#[test]
fn lock_files_with_wrong_types_name_the_line() {
    check_err(
        "uv.lock",
        b"version = 1\n\n[[package]]\nname = \"ok\"\nversion = \"1.0\"\n\n[[package]]\nname = 42\n",
        "uv.lock:8: `package.name` must be a string, found integer",
    );
    check_err(
        "uv.lock",
        b"package = \"not an array\"\n",
        "uv.lock:1: `package` must be an array",
    );
    check_err(
        "poetry.lock",
        b"[[package]]\nname = \"requests\"\nversion = \"2.31.0\"\nfiles = [{file = \"x\", hash = 7}]\n",
        "poetry.lock:4: `hash` must be a string, found integer",
    );
    check_err(
        "poetry.lock",
        b"[[package]]\nname = \"requests\"\n",
        "poetry.lock:1: `package` has no `version`",
    );
    check_err(
        "pylock.toml",
        b"lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nwheels = [{hashes = {sha256 = 1}}]\n",
        "pylock.toml:4: `hashes value` must be a string, found integer",
    );
    check_err(
        "pylock.toml",
        b"lock-version = \"2.0\"\n",
        "lock-version `2.0` is not supported",
    );
    check_err(
        "pylock.toml",
        b"[[packages]]\nname = \"x\"\n",
        "no `lock-version`",
    );
    check_err(
        "Pipfile.lock",
        b"{\n  \"default\": {\n    \"requests\": {\"version\": 2}\n  }\n}\n",
        "Pipfile.lock:3: `default.requests.version` must be a string",
    );
    check_err(
        "Pipfile.lock",
        b"[1, 2]",
        "expected a JSON object at the top",
    );
    check_err(
        "Pipfile.lock",
        b"{\"default\": ",
        "Pipfile.lock:1: invalid JSON",
    );
    check_err(
        "pyproject.toml",
        b"[project]\ndependencies = [\"ok\", 3]\n",
        "pyproject.toml:2: `dependency` must be a string, found integer",
    );
    check_err(
        "pyproject.toml",
        b"[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = \"a\"}]\n",
        "cycle: a -> b -> a",
    );
    check_err(
        "pyproject.toml",
        b"[dependency-groups]\na = [{include-group = \"missing\"}]\n",
        "includes `missing`, which does not exist",
    );
    check_err(
        "pyproject.toml",
        b"[project\n",
        "pyproject.toml:1: invalid TOML",
    );
    check_err(
        "pyproject.toml",
        b"[tool.poetry.dependencies]\nrequests = 5\n",
        "dependency `requests` must be a version string or a table, found integer",
    );
}

#[test]
fn a_huge_requirements_file_is_read_in_one_pass() {
    // 50 MB of requirements: bounded by the file size, linear in it.
    let mut content = Vec::with_capacity(52 << 20);
    let mut i = 0;
    while content.len() < 50 << 20 {
        content.extend_from_slice(
            format!("package-number-{i}==1.{i} --hash=sha256:{i:064x}\n").as_bytes(),
        );
        i += 1;
    }
    let files: BTreeMap<PathBuf, Vec<u8>> = [(PathBuf::from("requirements.txt"), content)].into();
    let parsed = parse_file(Path::new("requirements.txt"), &files).unwrap();
    assert_eq!(parsed.dependencies.len(), i);
    assert_eq!(parsed.dependencies[i - 1].source.line, i);
}

#[test]
fn the_file_size_limit_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("picket-deps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("requirements.txt");
    std::fs::write(&path, vec![b'a'; 2048]).unwrap();
    let err = parse_file(&path, &picket_deps::FsSource { max_bytes: 1024 }).unwrap_err();
    assert!(
        err.to_string()
            .contains("larger than the limit of 1024 bytes"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every input `cargo fuzz run requirements` found crashing (all inside `pep508_rs`), replayed the
/// way the fuzz target reads them: split on NUL into files that may include each other.
#[test]
fn fuzz_crashes_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let files: BTreeMap<PathBuf, Vec<u8>> = data
            .split(|&b| b == 0)
            .take(4)
            .enumerate()
            .map(|(i, part)| (PathBuf::from(format!("r{i}.txt")), part.to_vec()))
            .collect();
        // Any outcome but a panic is right; these inputs are garbage, so an error is expected.
        assert!(parse_file(Path::new("r0.txt"), &files).is_err());
        replayed += 1;
    }
    assert_eq!(replayed, 3);
}
