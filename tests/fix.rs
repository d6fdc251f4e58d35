//! `picket fix` against a real `picket serve` holding three releases of a project built by pip and
//! `python -m build`, OSV records that make the two lower ones vulnerable, and the real tools:
//! pip installs the rewritten requirements with `--require-hashes`, uv and Poetry relock.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::registry::{Registry, fresh_venv, registry_with_user, twine};
use common::{picket, pip_wheel, project, run, text, venv};
use serde_json::Value;
use sha2::Digest;

const NAME: &str = "tallow-fixture";
const CODE: &str = "def main():\n    total = sum(range(10))\n    print(total)\n    return total\n";

/// An OSV record: `introduced` up to `fixed` of the project is vulnerable.
fn record(id: &str, introduced: &str, fixed: &str) -> String {
    format!(
        r#"{{"id": "{id}", "modified": "2026-11-01T00:00:00Z", "summary": "a flaw for the test",
            "affected": [{{"package": {{"ecosystem": "PyPI", "name": "{NAME}"}},
            "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "{introduced}"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
    )
}

fn sha256(path: &Path) -> String {
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// `picket ARGS` in `dir` (its data directory too) with `env` added, the test venv's tools first
/// on PATH.
fn picket_env(dir: &Path, venv: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(args)
        .env("PICKET_DATA_DIR", dir)
        .env("HOME", dir)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env_remove("PICKET_INDEX_URL")
        .env_remove("PIP_INDEX_URL")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("VIRTUAL_ENV")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run picket")
}

/// The registry with 1.0, 1.1 (wheels) and 1.2 (wheel and sdist) uploaded; returns it with the
/// 1.0 wheel's sha256 and the 1.2 files' sha256s, sorted.
fn index_with_releases(tmp: &Path, venv: &Path) -> (Registry, String, Vec<String>) {
    let (registry, token) = registry_with_user(tmp, &[]);
    let dists = tmp.join("dists");
    std::fs::create_dir_all(&dists).unwrap();
    for version in ["1.0", "1.1", "1.2"] {
        let src = tmp.join(format!("src-{version}"));
        project(
            &src,
            NAME,
            version,
            CODE,
            "tallow = \"tallow_fixture:main\"",
        );
        pip_wheel(venv, &src, &dists);
        if version == "1.2" {
            run(Command::new(venv.join("bin/python"))
                .args(["-m", "build", "--sdist", "--no-isolation", "--outdir"])
                .arg(&dists)
                .arg(&src)
                .stdout(Stdio::null()));
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dists)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = twine(venv, &registry, &token, &refs);
    assert!(out.status.success(), "{}", common::registry::both(&out));
    let of = |v: &str| -> Vec<String> {
        let mut h: Vec<String> = files
            .iter()
            .filter(|f| {
                f.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .contains(&format!("-{v}"))
            })
            .map(|f| sha256(f))
            .collect();
        h.sort();
        h
    };
    let old = of("1.0").remove(0);
    let new = of("1.2");
    assert_eq!(new.len(), 2, "the 1.2 wheel and sdist");
    (registry, old, new)
}

/// A data directory at `dir` with the two advisories imported: 1.0 is fixed in 1.1, and 1.1 has
/// its own flaw fixed in 1.2 — so the smallest release with no advisory is 1.2.
fn with_advisories(tmp: &Path, dir: &Path) {
    let osv = tmp.join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("a.json"), record("PICKET-TEST-1", "0", "1.1")).unwrap();
    std::fs::write(osv.join("b.json"), record("PICKET-TEST-2", "1.1", "1.2")).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let out = picket(dir, &["db", "import-osv", osv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// `picket scan --offline` of `dir` finds nothing vulnerable.
fn scan_is_clean(dir: &Path, venv: &Path) {
    let out = picket_env(dir, venv, &["--format", "json", "scan", "--offline"], &[]);
    let doc = json(&out);
    let vulnerable: Vec<&Value> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["vulnerabilities"].as_array().unwrap().is_empty())
        .collect();
    assert!(vulnerable.is_empty(), "{doc}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn fixes_requirements_and_locks_against_a_real_index() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (registry, old_hash, new_hashes) = index_with_releases(tmp.path(), &venv);
    let simple = registry.simple();

    // requirements.txt, pip-compile's layout with a comment, an option and a marker.
    let work = tmp.path().join("work");
    with_advisories(tmp.path(), &work);
    let requirements = format!(
        "# pinned by hand for the test\n--index-url {simple}\n\n\
         {NAME}==1.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:{old_hash}\n    # via the app\n"
    );
    let path = work.join("requirements.txt");
    std::fs::write(&path, &requirements).unwrap();

    // The only safe release is minutes old: inside the cooldown picket.toml sets, it is not
    // proposed.
    std::fs::write(work.join("picket.toml"), "[check]\ncooldown-days = 7\n").unwrap();
    let out = picket_env(&work, &venv, &["fix", "--index", &simple], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        common::registry::both(&out)
    );
    let said = text(&out.stderr);
    assert!(
        said.contains("hint: wait until the cooldown has passed"),
        "{said}"
    );
    assert!(
        text(&out.stdout).contains("younger than the cooldown of 7 days: 1.2 (0 days old)"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), requirements);

    // --dry-run: the diff on stdout, the file byte for byte as it was.
    let out = picket_env(
        &work,
        &venv,
        &["fix", "--dry-run", "--cooldown-days", "0"],
        &[("PICKET_INDEX_URL", &simple)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::registry::both(&out)
    );
    let diff = text(&out.stdout);
    assert!(
        diff.starts_with("--- a/requirements.txt\n+++ b/requirements.txt\n@@ "),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("\n-{NAME}==1.0 ; python_version")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("\n+{NAME}==1.2 ; python_version")),
        "{diff}"
    );
    assert!(
        diff.contains(&format!("\n+    --hash=sha256:{}", new_hashes[1])),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), requirements);

    // The fix: 1.2 (1.1 has an advisory of its own), both of its files' hashes, all else kept.
    let out = picket_env(
        &work,
        &venv,
        &[
            "--format",
            "json",
            "fix",
            "--cooldown-days",
            "0",
            "--index-url",
            &simple,
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::registry::both(&out)
    );
    let doc = json(&out);
    let fix = &doc["fixes"][0];
    assert_eq!(
        (&fix["from"], &fix["to"], &fix["status"]),
        (&"1.0".into(), &"1.2".into(), &"fixed".into()),
        "{doc}"
    );
    assert_eq!(fix["advisories"], serde_json::json!(["PICKET-TEST-1"]));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!(
            "# pinned by hand for the test\n--index-url {simple}\n\n\
             {NAME}==1.2 ; python_version >= \"3.8\" \\\n    --hash=sha256:{} \\\n    --hash=sha256:{}\n    # via the app\n",
            new_hashes[0], new_hashes[1]
        )
    );
    scan_is_clean(&work, &venv);
    let target = tmp.path().join("installed");
    fresh_venv(&venv, &target);
    let out = common::registry::pip_install(
        &target,
        &registry,
        &["--require-hashes", "-r", path.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", common::registry::both(&out));
    // Nothing left to fix.
    let out = picket_env(
        &work,
        &venv,
        &["fix", "--cooldown-days", "0", "--index", &simple],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::registry::both(&out)
    );
    assert!(
        text(&out.stdout).contains("nothing to fix"),
        "{}",
        text(&out.stdout)
    );

    // uv.lock made by real `uv lock` at 1.0, relocked by `uv lock --upgrade-package`.
    let uv_dir = tmp.path().join("uv-project");
    with_advisories(tmp.path(), &uv_dir);
    let home = tmp.path().display().to_string();
    let python = venv.join("bin/python").display().to_string();
    relocks(
        &venv,
        &uv_dir,
        &["uv", "lock", "--no-progress"],
        "uv.lock",
        &|spec| {
            format!(
                "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.8\"\ndependencies = [\"{NAME}{spec}\"]\n"
            )
        },
        &[
            ("UV_DEFAULT_INDEX", &simple),
            ("UV_CACHE_DIR", &format!("{home}/uv-cache")),
            ("UV_PYTHON", &python),
            ("UV_PYTHON_DOWNLOADS", "never"),
            ("UV_NO_CONFIG", "1"),
        ],
    );

    // poetry.lock made by real Poetry at 1.0, relocked by `poetry update --lock`.
    let poetry_dir = tmp.path().join("poetry-project");
    with_advisories(tmp.path(), &poetry_dir);
    relocks(
        &venv,
        &poetry_dir,
        &["poetry", "lock", "--no-interaction"],
        "poetry.lock",
        &|spec| {
            format!(
                "[project]\nname = \"app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\ndependencies = [\"{NAME} ({spec})\"]\n\n\
                 [tool.poetry]\npackage-mode = false\n\n\
                 [[tool.poetry.source]]\nname = \"local\"\nurl = \"{simple}\"\npriority = \"primary\"\n"
            )
        },
        &[
            ("POETRY_CACHE_DIR", &format!("{home}/poetry-cache")),
            ("POETRY_CONFIG_DIR", &format!("{home}/poetry-config")),
            ("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring"),
            ("POETRY_VIRTUALENVS_CREATE", "false"),
            ("PICKET_INDEX_URL", &simple),
        ],
    );
}

/// Locks `dir` with the real tool (`lock`: the program in the test venv and its arguments) at
/// 1.0 (`pyproject` of `==1.0`), widens the range to `>=1.0` and locks again (the lock keeps
/// 1.0); then `picket fix` must relock to 1.2 and `scan` be clean. `env` reaches both.
fn relocks(
    venv: &Path,
    dir: &Path,
    lock: &[&str],
    lock_name: &str,
    pyproject: &dyn Fn(&str) -> String,
    env: &[(&str, &str)],
) {
    for spec in ["==1.0", ">=1.0"] {
        std::fs::write(dir.join("pyproject.toml"), pyproject(spec)).unwrap();
        run(Command::new(venv.join("bin").join(lock[0]))
            .args(&lock[1..])
            .current_dir(dir)
            .envs(env.iter().copied()));
    }
    let locked = std::fs::read_to_string(dir.join(lock_name)).unwrap();
    assert!(locked.contains("version = \"1.0\""), "{locked}");
    let out = picket_env(dir, venv, &["fix", "--cooldown-days", "0"], env);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        common::registry::both(&out)
    );
    assert!(
        text(&out.stdout).contains(&format!("{NAME} 1.0 -> 1.2")),
        "{}",
        text(&out.stdout)
    );
    scan_is_clean(dir, venv);
}

#[test]
fn a_malformed_requirements_line_stops_the_run_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let body = "ok-package==1.0\nbroken >>= 1\n";
    std::fs::write(tmp.path().join("requirements.txt"), body).unwrap();
    let out = picket(
        tmp.path(),
        &["fix", "--index", "http://127.0.0.1:9/simple/"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("error: requirements.txt:2: `broken >>= 1` is not a valid requirement"),
        "{said}"
    );
    assert!(said.contains("hint: no file was changed"), "{said}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("requirements.txt")).unwrap(),
        body
    );
}
