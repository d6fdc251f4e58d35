//! The compatibility matrix (issue 19): projects built by every common build backend, published by
//! every common publisher to a real `picket serve`, then installed by pip and by uv and imported.
//! Everything runs from the virtualenv of `scripts/test` (versions pinned in
//! `scripts/test-requirements.txt`), over loopback only: builds use the installed backends without
//! isolation, and the Rust extension builds offline from crates `scripts/test` fetched.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::registry::{Registry, both};
use common::{text, venv};
use picket_inspect::{DistKind, Inventory};

/// Where the tools' proxy points: the discard port on loopback, where nothing listens.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// A project's source: `(path, content)` pairs under its folder.
type Files = Vec<(String, String)>;

/// The tools' own configuration is kept out: each test gives them a fresh home.
struct Sandbox {
    venv: PathBuf,
    home: PathBuf,
}

impl Sandbox {
    fn new(venv: PathBuf, root: &Path) -> Self {
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        // hatch insists that the configuration file it is pointed at exists.
        std::fs::write(home.join("hatch.toml"), "").unwrap();
        Self { venv, home }
    }

    /// A program of the virtualenv with the user's configuration (pip, uv, twine, poetry, hatch,
    /// pdm, flit, keyring, cargo's target) shut out, and the virtualenv first on `PATH` (maturin's
    /// backend runs `maturin`). Every HTTP client is sent to a closed loopback port as its proxy for
    /// anything but loopback, so a tool that tried to reach a public index would fail here.
    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.venv.join("bin").join(program));
        // The caller's index, upload, tool and interpreter settings go first, so that what is set
        // below stays set; CARGO_HOME stays, as scripts/test fetched the crates there.
        let settings = [
            "PIP_", "UV_", "TWINE_", "FLIT_", "HATCH_", "PDM_", "POETRY_", "CARGO_", "PYTHON",
        ];
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if settings.iter().any(|prefix| key.starts_with(prefix)) && key != "CARGO_HOME" {
                cmd.env_remove(&key);
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![self.venv.join("bin")];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).unwrap())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("UV_NO_CONFIG", "1")
            .env("UV_CACHE_DIR", self.home.join("uv-cache"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
            .env("POETRY_CONFIG_DIR", self.home.join("poetry-config"))
            .env("POETRY_CACHE_DIR", self.home.join("poetry-cache"))
            .env("POETRY_KEYRING_ENABLED", "false")
            .env("PDM_CHECK_UPDATE", "false")
            .env("PDM_HOME", self.home.join("pdm"))
            .env("HATCH_CONFIG", self.home.join("hatch.toml"))
            .env("HATCH_DATA_DIR", self.home.join("hatch-data"))
            .env("HATCH_CACHE_DIR", self.home.join("hatch-cache"))
            .env("HTTP_PROXY", DEAD_PROXY)
            .env("HTTPS_PROXY", DEAD_PROXY)
            .env("ALL_PROXY", DEAD_PROXY)
            .env("http_proxy", DEAD_PROXY)
            .env("https_proxy", DEAD_PROXY)
            .env("all_proxy", DEAD_PROXY)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PDM_USE_VENV", "false")
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TARGET_DIR", self.home.join("cargo-target"))
            // Wheels and sdists of the same source are the same bytes (flit rebuilds on publish).
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env_remove("VIRTUAL_ENV");
        cmd
    }
}

/// Runs `cmd` and returns its output, insisting it succeeded.
fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", both(&out));
    out
}

fn write_files(dir: &Path, files: &Files) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// `[project]` with a name, a version and a description.
fn project_table(name: &str) -> String {
    format!(
        "[project]\nname = \"{name}\"\nversion = \"1.0.0\"\ndescription = \"{name}, built for picket's compatibility matrix\"\nrequires-python = \">=3.8\"\n"
    )
}

/// A pure-Python module `answer() == 42` at `at`.
fn answer_module(at: &str) -> (String, String) {
    (
        at.to_owned(),
        "\"\"\"Part of picket's compatibility matrix.\"\"\"\n\n\ndef answer():\n    return 6 * 7\n"
            .to_owned(),
    )
}

fn module_of(name: &str) -> String {
    name.replace('-', "_")
}

/// A pure-Python project for `backend` (its `requires` and `build-backend`, `extra` TOML after
/// `[project]`) whose module, `answer()`, lies under `src/` or, `flat`, at the top.
fn python_project(
    name: &'static str,
    (requires, backend): (&str, &str),
    extra: &str,
    flat: bool,
) -> (&'static str, Files) {
    let root = if flat { "" } else { "src/" };
    let pyproject = format!(
        "[build-system]\nrequires = [\"{requires}\"]\nbuild-backend = \"{backend}\"\n\n{}{extra}",
        project_table(name)
    );
    (
        name,
        vec![
            ("pyproject.toml".into(), pyproject),
            answer_module(&format!("{root}{}/__init__.py", module_of(name))),
        ],
    )
}

/// The build backends under test: each project's name and sources.
fn backend_project(backend: &str) -> (&'static str, Files) {
    let setuptools = ("setuptools>=77", "setuptools.build_meta");
    match backend {
        "setuptools" => python_project("mx-setuptools-pure", setuptools, "", false),
        "setuptools-c" => {
            let (name, mut files) = python_project("mx-setuptools-cext", setuptools, "", false);
            let module = module_of(name);
            let c = "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n\n\
static PyObject *answer(PyObject *self, PyObject *args) {\n    return PyLong_FromLong(42);\n}\n\n\
static PyMethodDef methods[] = {\n    {\"answer\", answer, METH_NOARGS, \"The answer, computed in C.\"},\n    {NULL, NULL, 0, NULL},\n};\n\n\
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, \"_native\", NULL, -1, methods};\n\n\
PyMODINIT_FUNC PyInit__native(void) {\n    return PyModule_Create(&module);\n}\n";
            files[1].1 = "from ._native import answer\n\n__all__ = [\"answer\"]\n".into();
            files.push((
                "setup.py".into(),
                format!(
                    "from setuptools import Extension, setup\n\nsetup(ext_modules=[Extension(\"{module}._native\", [\"src/{module}/_native.c\"])])\n"
                ),
            ));
            files.push((format!("src/{module}/_native.c"), c.into()));
            (name, files)
        }
        "hatchling" => {
            let module = "mx_hatchling";
            let extra = format!(
                "import-names = [\"{module}\", \"_{module}_impl; private\"]\nimport-namespaces = [\"mx_namespace\"]\n\n\
[tool.hatch.build.targets.wheel]\npackages = [\"src/{module}\", \"src/_{module}_impl\", \"src/mx_namespace\"]\n"
            );
            let (name, mut files) = python_project(
                "mx-hatchling",
                ("hatchling", "hatchling.build"),
                &extra,
                false,
            );
            files.push(answer_module(&format!("src/_{module}_impl/__init__.py")));
            files.push(answer_module("src/mx_namespace/hatchling_part/__init__.py"));
            (name, files)
        }
        "flit-core" => python_project(
            "mx-flit-core",
            ("flit_core>=3.12", "flit_core.buildapi"),
            "",
            true,
        ),
        "poetry-core" => python_project(
            "mx-poetry-core",
            ("poetry-core>=2", "poetry.core.masonry.api"),
            "\n[tool.poetry]\npackages = [{include = \"mx_poetry_core\", from = \"src\"}]\n",
            false,
        ),
        "pdm-backend" => {
            python_project("mx-pdm-backend", ("pdm-backend", "pdm.backend"), "", false)
        }
        "uv_build" => python_project(
            "mx-uv-build",
            ("uv_build>=0.9,<0.14", "uv_build"),
            "",
            false,
        ),
        "maturin" => {
            let fixture =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projects/maturin-ext");
            let files = ["Cargo.toml", "Cargo.lock", "pyproject.toml", "src/lib.rs"]
                .iter()
                .map(|f| {
                    let content = std::fs::read_to_string(fixture.join(f)).unwrap();
                    ((*f).to_owned(), content)
                })
                .collect();
            ("mx-maturin", files)
        }
        other => panic!("no project for {other}"),
    }
}

/// A project written to `root/<name>` and built into its `dist/`: `python -m build`, except
/// uv's backend (and hatchling, so both frontends are exercised) through `uv build`. (`flit
/// publish` and `pdm publish` could build for themselves; flit does, from the same source.)
struct Built {
    name: &'static str,
    dir: PathBuf,
    files: Vec<PathBuf>,
}

fn build(sandbox: &Sandbox, root: &Path, backend: &str) -> Built {
    let (name, files) = backend_project(backend);
    let dir = root.join(name);
    write_files(&dir, &files);
    let dist = dir.join("dist");
    if matches!(backend, "uv_build" | "hatchling") {
        ok(sandbox
            .cmd("uv")
            .args(["build", "--no-build-isolation", "--offline", "--python"])
            .arg(sandbox.venv.join("bin/python"))
            .arg("--out-dir")
            .arg(&dist)
            .arg(&dir));
    } else {
        ok(sandbox
            .cmd("python")
            .args(["-m", "build", "--no-isolation", "--outdir"])
            .arg(&dist)
            .arg(&dir));
    }
    let files = dists(&dist);
    Built { name, dir, files }
}

/// The wheels and sdists in `dir`, sorted.
fn dists(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.to_string_lossy();
        name.ends_with(".whl") || name.ends_with(".tar.gz")
    });
    files.sort();
    files
}

/// What picket's inspector finds in a built file.
fn inspect(file: &Path) -> Inventory {
    picket_inspect::inspect_path(file, &picket_inspect::Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The publishers under test, each run twice with a token; the second run shows the tool accepts
/// the index's answer to a file it already has.
fn publish(sandbox: &Sandbox, registry: &Registry, token: &str, publisher: &str, built: &Built) {
    for attempt in 1..=2 {
        let legacy = registry.legacy();
        let mut cmd = sandbox.cmd(publisher.split(' ').next().unwrap());
        cmd.current_dir(&built.dir);
        match publisher {
            "twine" => cmd
                .args(["upload", "--non-interactive", "--disable-progress-bar"])
                .args(["--repository-url", &legacy, "-u", "__token__", "-p", token])
                .args(&built.files),
            "uv publish" => cmd
                .args(["publish", "--publish-url", &legacy, "--token", token])
                .args(&built.files),
            "uv publish --check-url" => cmd
                .args(["publish", "--publish-url", &legacy, "--token", token])
                .args(["--check-url", &registry.simple()])
                .args(&built.files),
            "poetry publish" => cmd
                .args(["publish", "--no-interaction", "-r", "picket"])
                .args(["-u", "__token__", "-p", token])
                .env("POETRY_REPOSITORIES_PICKET_URL", &legacy),
            "hatch publish" => cmd
                .args(["publish", "--no-prompt", "-r", &legacy])
                .args(["-u", "__token__", "-a", token])
                .args(&built.files),
            "flit publish" => cmd
                .arg("publish")
                .env("FLIT_INDEX_URL", &legacy)
                .env("FLIT_USERNAME", "__token__")
                .env("FLIT_PASSWORD", token),
            "pdm publish" => cmd.args(["publish", "--no-build", "-r", &legacy]).args([
                "-u",
                "__token__",
                "-P",
                token,
            ]),
            other => panic!("no publisher {other}"),
        };
        let out = cmd.output().unwrap_or_else(|e| panic!("{publisher}: {e}"));
        assert!(
            out.status.success(),
            "{publisher} of {} (run {attempt}) failed:\n{}",
            built.name,
            both(&out)
        );
        if publisher == "uv publish --check-url" && attempt == 2 {
            // uv asked the simple API first and found every file there, with its hash.
            assert_eq!(
                one_line(&out).matches("already exists, skipping").count(),
                built.files.len(),
                "{}",
                both(&out)
            );
        }
    }
}

/// What each test starts from: a registry, an uploader's API token and the sandboxed tools, in a
/// temporary folder (dropped last).
struct World {
    registry: Registry,
    token: String,
    sandbox: Sandbox,
    tmp: tempfile::TempDir,
}

impl World {
    /// `None` (the test skips) without the test virtualenv. The registry is `picket serve` as
    /// configured by default except the typosquat rule: the projects are named after their tools
    /// (`mx-setuptools-pure`, `mx-flit-core`, …), which that rule rightly holds for review. Every
    /// other rule, the emptiness rule first, stays on.
    fn new(user: &str) -> Option<Self> {
        let venv = venv()?;
        let tmp = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(venv, tmp.path());
        let registry = Registry::start(
            &tmp.path().join("data"),
            &[("PICKET_SERVE_GATE_TYPOSQUAT", "off")],
        );
        let (token, _) = registry.onboard(user);
        Some(Self {
            registry,
            token,
            sandbox,
            tmp,
        })
    }
}

/// The files the registry lists for `project` (PEP 691 JSON), by filename.
fn listed(registry: &Registry, project: &str) -> Vec<String> {
    let (status, _, body) = registry.get(
        &format!("/simple/{project}/"),
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    assert_eq!(status, 200, "{project}: {}", text(&body));
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut names: Vec<String> = page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["filename"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Installs `projects` from the registry with pip and with uv into two folders (wheels only, no
/// dependencies: nothing but the registry is asked), then imports each module from each and calls
/// `answer()`.
fn install_and_import(sandbox: &Sandbox, registry: &Registry, root: &Path, projects: &[&str]) {
    let pip_target = root.join("installed-by-pip");
    ok(sandbox
        .cmd("python")
        .args(["-m", "pip", "install", "--no-cache-dir", "--no-deps"])
        .args(["--only-binary", ":all:", "--index-url"])
        .arg(registry.simple())
        .arg("--target")
        .arg(&pip_target)
        .args(projects));
    let uv_target = root.join("installed-by-uv");
    ok(sandbox
        .cmd("uv")
        .args(["pip", "install", "--no-deps", "--no-build", "--python"])
        .arg(sandbox.venv.join("bin/python"))
        .arg("--index-url")
        .arg(registry.simple())
        .arg("--target")
        .arg(&uv_target)
        .args(projects));
    let modules: Vec<String> = projects.iter().map(|p| module_of(p)).collect();
    let script = format!(
        "import importlib, sys\nfor name in {modules:?}:\n    m = importlib.import_module(name)\n    assert m.__file__.startswith(sys.path[0]), (name, m.__file__)\n    assert m.answer() == 42, name\nprint('imported', len({modules:?}))\n"
    );
    for target in [&pip_target, &uv_target] {
        let out = ok(sandbox
            .cmd("python")
            .arg("-c")
            .arg(&script)
            .env("PYTHONPATH", target)
            .current_dir(root));
        assert!(
            text(&out.stdout).contains(&format!("imported {}", projects.len())),
            "{}",
            both(&out)
        );
    }
}

/// Regression test for issue 19: hatchling and flit-core write core metadata 2.5 (PEP 794's
/// `Import-Name`, `Import-Namespace`); picket refused every such upload with
/// "metadata version `2.5` is not supported".
#[test]
fn issue_19_metadata_2_5_from_hatchling_and_flit_core_is_accepted() {
    let Some(World {
        registry,
        token,
        sandbox,
        tmp,
    }) = World::new("hatter")
    else {
        return;
    };

    let hatchling = build(&sandbox, tmp.path(), "hatchling");
    let flit = build(&sandbox, tmp.path(), "flit-core");
    for built in [&hatchling, &flit] {
        assert_eq!(built.files.len(), 2, "{:?}", built.files);
        publish(&sandbox, &registry, &token, "twine", built);
        let wheel = built.files.iter().find(|f| f.extension().unwrap() == "whl");
        assert_eq!(
            inspect(wheel.unwrap()).metadata.unwrap().metadata_version,
            "2.5"
        );
        assert_eq!(
            listed(&registry, built.name).len(),
            2,
            "{} is listed",
            built.name
        );
    }

    // The new fields are stored and served by the JSON API under PyPI's names.
    let (status, _, body) = registry.get("/pypi/mx-hatchling/json", &[]);
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["info"]["import_names"],
        serde_json::json!(["_mx_hatchling_impl; private", "mx_hatchling"]),
        "{}",
        doc["info"]
    );
    assert_eq!(
        doc["info"]["import_namespaces"],
        serde_json::json!(["mx_namespace"])
    );
    let (_, _, body) = registry.get("/pypi/mx-flit-core/json", &[]);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["info"]["import_names"],
        serde_json::json!(["mx_flit_core"])
    );

    install_and_import(
        &sandbox,
        &registry,
        tmp.path(),
        &[hatchling.name, flit.name],
    );
}

/// Every backend, every publisher, installed by pip and by uv.
#[test]
fn build_backends_and_publishers_against_picket_serve() {
    let Some(World {
        registry,
        token,
        sandbox,
        tmp,
    }) = World::new("matrix")
    else {
        return;
    };

    // (backend, publisher, the metadata version its wheel declares): every backend once, every
    // publisher at least once.
    let cells = [
        ("setuptools", "twine", "2.4"),
        ("setuptools-c", "uv publish", "2.4"),
        ("hatchling", "hatch publish", "2.5"),
        ("flit-core", "flit publish", "2.5"),
        ("poetry-core", "poetry publish", "2.4"),
        ("pdm-backend", "pdm publish", "2.1"),
        ("uv_build", "uv publish --check-url", "2.3"),
        ("maturin", "twine", "2.4"),
    ];
    let mut names = Vec::new();
    for (backend, publisher, metadata_version) in cells {
        let built = build(&sandbox, tmp.path(), backend);
        publish(&sandbox, &registry, &token, publisher, &built);
        let files = dists(&built.dir.join("dist"));
        let expected: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(expected.len(), 2, "{backend}: a wheel and an sdist");
        assert_eq!(
            listed(&registry, built.name),
            expected,
            "{backend} via {publisher}: the files are installable (not held for review)"
        );
        names.push(built.name);
        for file in &files {
            let inv = inspect(file);
            assert!(!inv.emptiness.empty, "{}", inv.emptiness.reason);
            let m = &inv.measures;
            match (backend, inv.kind) {
                (_, DistKind::Wheel) => assert_eq!(
                    inv.metadata.unwrap().metadata_version,
                    metadata_version,
                    "{backend}"
                ),
                // Native code is code: these sdists hold C or Rust sources and no Python code,
                // their wheels a shared object (beside an `__init__.py` that re-exports it).
                ("setuptools-c" | "maturin", DistKind::Sdist) => {
                    assert_eq!(m.substantive_lines, 0);
                    assert!(!m.native_sources.is_empty(), "{m:?}");
                }
                _ => {}
            }
            if matches!(backend, "setuptools-c" | "maturin") && inv.kind == DistKind::Wheel {
                assert_eq!(m.native_binaries.len(), 1, "{m:?}");
            }
        }
    }

    install_and_import(&sandbox, &registry, tmp.path(), &names);
}

/// A wheel of `mx-later` `version` whose METADATA declares `metadata_version`, in `dir`.
fn wheel_declaring(dir: &Path, version: &str, metadata_version: &str) -> PathBuf {
    let dist_info = format!("mx_later-{version}.dist-info");
    let metadata = format!(
        "Metadata-Version: {metadata_version}\nName: mx-later\nVersion: {version}\nSummary: metadata from the future\nImport-Name: mx_later\n"
    );
    let bytes = picket_testkit::zip(&[
        ("mx_later/__init__.py", b"def answer():\n    return 42\n"),
        (&format!("{dist_info}/METADATA"), metadata.as_bytes()),
        (
            &format!("{dist_info}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: picket-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]);
    let path = dir.join(format!("mx_later-{version}-py3-none-any.whl"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Issue 19: a newer minor metadata version (2.9) is accepted with a warning that the uploader's
/// tool shows and admins can read; a newer major version (3.0) is refused with a message naming it.
#[test]
fn issue_19_metadata_2_9_is_accepted_with_a_warning_and_3_0_refused() {
    let Some(World {
        registry,
        token,
        sandbox,
        tmp,
    }) = World::new("futurist")
    else {
        return;
    };
    let newer_minor = wheel_declaring(tmp.path(), "1.0.0", "2.9");
    let newer_major = wheel_declaring(tmp.path(), "1.0.1", "3.0");
    let warning = "metadata version `2.9` is newer than the newest this reader knows (2.5)";

    // `picket inspect` says the same: a warning on stderr and in the JSON, an error for 3.0.
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["--format=json", "inspect"])
        .arg(&newer_minor)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stderr).contains(&format!("warning: {}", newer_minor.display())),
        "{}",
        both(&out)
    );
    assert!(text(&out.stderr).contains(warning), "{}", both(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = &doc["inspected"][0]["metadata"]["warnings"];
    assert!(warnings[0].as_str().unwrap().starts_with(warning), "{doc}");
    let out = fails_saying(
        Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg("inspect")
            .arg(&newer_major),
        "metadata version `3.0` is not supported",
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));

    // twine validates metadata with `packaging` before sending, which knows neither version.
    for file in [&newer_minor, &newer_major] {
        fails_saying(
            sandbox
                .cmd("twine")
                .args(["upload", "--non-interactive", "--repository-url"])
                .arg(registry.legacy())
                .args(["-u", "__token__", "-p", &token])
                .arg(file),
            "is not a valid metadata version",
        );
    }

    // uv sends both. 2.9 is stored; uv shows the server's words with `-vv`.
    let out = ok(sandbox
        .cmd("uv")
        .args(["publish", "-vv", "--publish-url"])
        .arg(registry.legacy())
        .args(["--token", &token])
        .arg(&newer_minor));
    assert!(one_line(&out).contains(warning), "{}", both(&out));
    assert_eq!(listed(&registry, "mx-later").len(), 1);
    // Owners (and admins) see the warning in the project's status.
    let (status, _, body) = registry.get(
        "/api/v1/projects/mx-later/status",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["releases"][0]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains(warning)),
        "{body}"
    );

    // `picket check` against the registry inspects the release and passes the warning on.
    let check_data = tmp.path().join("check-data");
    std::fs::create_dir_all(&check_data).unwrap();
    let out = common::picket(
        &check_data,
        &[
            "--format=json",
            "check",
            "--index",
            &registry.simple(),
            "mx-later",
        ],
    );
    assert!(one_line(&out).contains(warning), "{}", both(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = common::package(&doc, "mx-later");
    assert!(package["error"].is_null(), "{doc}");
    assert_eq!(package["exists"], true, "{doc}");
    fails_saying(
        sandbox
            .cmd("uv")
            .args(["publish", "--publish-url"])
            .arg(registry.legacy())
            .args(["--token", &token])
            .arg(&newer_major),
        "metadata version `3.0` is not supported",
    );
    assert_eq!(listed(&registry, "mx-later").len(), 1);

    // The reason phrase itself, as any client receives it (a 3.0 answer names the version too).
    let upload_head = |file: &Path, version: &str| {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (content_type, body) = common::registry::multipart(
            &[
                (":action", "file_upload"),
                ("protocol_version", "1"),
                ("name", "mx-later"),
                ("version", version),
                ("filetype", "bdist_wheel"),
            ],
            Some((&name, &std::fs::read(file).unwrap())),
        );
        let credential = data_encoding::BASE64.encode(format!("__token__:{token}").as_bytes());
        let mut request = format!(
            "POST /legacy/ HTTP/1.1\r\nHost: picket\r\nAuthorization: Basic {credential}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        raw_status_line(&registry.base, &request)
    };
    let line = upload_head(&newer_minor, "1.0.0");
    assert!(
        line.starts_with(&format!("HTTP/1.1 200 OK, with a warning: {warning}")),
        "{line}"
    );
    let line = upload_head(&newer_major, "1.0.1");
    assert!(
        line.starts_with("HTTP/1.1 400 Invalid distribution file: ")
            && line.contains("metadata version `3.0` is not supported"),
        "{line}"
    );

    // Admins read the warning in the journal's upload event.
    let out = ok(common::use_database(
        &mut Command::new(env!("CARGO_BIN_EXE_picket")),
        &registry.data,
    )
    .args(["admin", "--data-dir"])
    .arg(&registry.data)
    .arg("export-events"));
    let upload = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["kind"] == "file.upload")
        .expect("the upload is journaled");
    assert!(
        upload["artifact"]["metadata_warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with(warning)),
        "{upload}"
    );
}

/// Runs `cmd`, insisting it fails and says `expected` (in [`one_line`]'s reading).
fn fails_saying(cmd: &mut Command, expected: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        !out.status.success() && one_line(&out).contains(expected),
        "{cmd:?} should fail saying `{expected}`:\n{}",
        both(&out)
    );
    out
}

/// A tool's output with every run of whitespace made one space (twine wraps its messages).
fn one_line(out: &Output) -> String {
    both(out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sends a raw HTTP request and returns the response's status line.
fn raw_status_line(base: &str, request: &[u8]) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream.write_all(request).unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}
