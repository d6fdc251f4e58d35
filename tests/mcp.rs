//! `picket mcp` driven by a real MCP client: the official Python SDK (`mcp`, pinned in
//! scripts/test-requirements.txt) runs `tests/support/mcp_client.py`, which starts the server over
//! stdio, lists the tools, calls them and validates every structured result against the tool's
//! output schema. Offline against the embedded name list, and online against pypiserver serving
//! wheels pip builds in the test.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{Canned, canned_server, pip_wheel, project, pypiserver, text, venv};
use serde_json::{Value, json};

/// Runs the client with `calls` against `picket mcp ARGS`, with a private data directory, no
/// inherited index configuration and `env` added; returns the transcript.
fn session(venv: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)], calls: &[Value]) -> Value {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut server_env = json!({
        "PICKET_DATA_DIR": data,
        "HOME": dir,
        "PIP_CONFIG_FILE": "/dev/null",
        // The client passes the server only the variables named here: tests never ask pip which
        // public index it uses (see .cargo/config.toml).
        "PICKET_NO_INSTALLER_INDEX": "1",
    });
    for (k, v) in env {
        server_env[*k] = json!(v);
    }
    let scenario = json!({
        "command": env!("CARGO_BIN_EXE_picket"),
        "args": args,
        "env": server_env,
        "cwd": dir,
        "calls": calls,
    });
    let mut child = Command::new(venv.join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mcp_client.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the MCP client");
    serde_json::to_writer(child.stdin.take().unwrap(), &scenario).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the MCP client failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn call(tool: &str, arguments: &Value) -> Value {
    json!({"tool": tool, "arguments": arguments})
}

/// The `i`th call's answer, insisting it is not an error and carries structured content that
/// matched the output schema.
fn answer(transcript: &Value, i: usize) -> &Value {
    let entry = &transcript["calls"][i];
    assert_eq!(entry["is_error"], false, "{entry:#}");
    assert_eq!(entry["schema_valid"], true, "{entry:#}");
    &entry["structured"]
}

/// The `i`th call's error text, insisting it is a tool error.
fn tool_error(transcript: &Value, i: usize) -> String {
    let entry = &transcript["calls"][i];
    assert_eq!(entry["is_error"], true, "{entry:#}");
    entry["texts"][0].as_str().unwrap().to_owned()
}

/// The entry named `name` of a list of objects.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list}"))
}

#[test]
fn offline_tools_vet_names_scan_a_project_and_refuse_a_typosquat() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("requirements.txt"),
        "reqeusts==2.31.0\nflask>=2.0\nrequests==2.31.0\n",
    )
    .unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();

    let t = session(
        &venv,
        tmp.path(),
        &["mcp"],
        &[],
        &[
            call(
                "check_packages",
                &json!({"packages": ["reqeusts", "requests", "flask==3.0.3"]}),
            ),
            call(
                "check_packages",
                &json!({"packages": ["-bad", "requests>=2"]}),
            ),
            call("check_packages", &json!({"packages": []})),
            call("scan_project", &json!({"path": project})),
            call(
                "scan_project",
                &json!({"path": tmp.path().join("no-such-folder")}),
            ),
            call("scan_project", &json!({"path": empty})),
            call(
                "safe_install_command",
                &json!({"packages": ["reqeusts", "requests==2.31.0", "flask"]}),
            ),
            call(
                "safe_install_command",
                &json!({"packages": ["requests"], "installer": "npm"}),
            ),
        ],
    );

    assert_eq!(t["server"]["name"], "picket");
    assert!(
        t["instructions"]
            .as_str()
            .unwrap()
            .contains("before every `pip install`")
    );
    let tools: Vec<&str> = t["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        ["check_packages", "safe_install_command", "scan_project"]
    );
    for tool in t["tools"].as_array().unwrap() {
        let description = tool["description"].as_str().unwrap();
        assert!(
            description.contains("pip install") && description.contains("uv"),
            "{description}"
        );
        assert!(tool["output_schema"].is_object(), "{tool}");
        assert_eq!(tool["read_only"], true, "{tool}");
    }

    // A typosquat is blocked with the real name suggested; a popular name is allowed.
    let checked = answer(&t, 0);
    assert_eq!(checked["mode"], "offline");
    assert!(
        checked["note"]
            .as_str()
            .unwrap()
            .contains("no package index is configured"),
        "{checked}"
    );
    assert_eq!(checked["worst"], "block");
    let squat = named(&checked["packages"], "reqeusts");
    assert_eq!(squat["verdict"], "block");
    assert_eq!(squat["did_you_mean"], json!(["requests"]));
    assert_eq!(squat["findings"][0]["id"], "typosquat");
    let real = named(&checked["packages"], "requests");
    assert_eq!(real["verdict"], "allow");
    assert_eq!(real["exists"], true);
    assert!(real["rank"].as_u64().unwrap() < 100, "{real}");
    assert_eq!(named(&checked["packages"], "flask")["version"], "3.0.3");
    let text = t["calls"][0]["texts"][0].as_str().unwrap();
    assert!(text.contains("BLOCK reqeusts: typosquat"), "{text}");
    assert!(text.contains("did you mean: requests"), "{text}");
    // The same answer as JSON text, for clients that read only text.
    let json_text: Value =
        serde_json::from_str(t["calls"][0]["texts"][1].as_str().unwrap()).unwrap();
    assert_eq!(&json_text, checked);

    // Invalid entries are one tool error naming each.
    let error = tool_error(&t, 1);
    assert!(error.contains("invalid package entries"), "{error}");
    assert!(
        error.contains("`-bad`") && error.contains("`requests>=2`"),
        "{error}"
    );
    assert!(tool_error(&t, 2).contains("`packages` is empty"));

    // The scan: the typosquat blocks, the unpinned requirement warns, the pinned real name is
    // not listed.
    let scanned = answer(&t, 3);
    assert_eq!(scanned["worst"], "block");
    assert_eq!(
        scanned["counts"],
        json!({"dependencies": 3, "allow": 1, "warn": 1, "block": 1})
    );
    let problems = &scanned["problems"];
    assert_eq!(problems.as_array().unwrap().len(), 2, "{scanned:#}");
    let squat = named(problems, "reqeusts");
    assert_eq!(squat["verdict"], "block");
    assert_eq!(squat["line"], 1);
    assert!(
        squat["file"]
            .as_str()
            .unwrap()
            .ends_with("requirements.txt")
    );
    assert_eq!(squat["did_you_mean"], json!(["requests"]));
    let flask = named(problems, "flask");
    assert_eq!(flask["verdict"], "warn");
    assert_eq!(flask["findings"][0]["id"], "unpinned");
    assert_eq!(scanned["advisories"], 0);
    let text = t["calls"][3]["texts"][0].as_str().unwrap();
    assert!(
        text.starts_with("BLOCK: 3 dependencies in 1 file (1 block, 1 warn, 1 allow)"),
        "{text}"
    );
    assert!(text.contains("No advisories imported"), "{text}");

    // A missing folder and a folder without dependency files are tool errors that say so.
    let error = tool_error(&t, 4);
    assert!(
        error.ends_with("no-such-folder: no such folder or file"),
        "{error}"
    );
    let error = tool_error(&t, 5);
    assert!(error.starts_with("no dependency files in"), "{error}");

    // The install command leaves the typosquat out and says what was meant.
    let install = answer(&t, 6);
    assert_eq!(install["installer"], "pip");
    assert_eq!(install["command"], "pip install requests==2.31.0 flask");
    assert_eq!(
        install["argv"],
        json!(["pip", "install", "requests==2.31.0", "flask"])
    );
    let refused = named(&install["refused"], "reqeusts");
    assert_eq!(refused["did_you_mean"], json!(["requests"]));
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("imitates `requests`"),
        "{refused}"
    );
    // Offline, a name given without a version cannot be pinned, and the answer says so.
    assert!(
        install["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("flask is not pinned"),
        "{install}"
    );
    let text = t["calls"][6]["texts"][0].as_str().unwrap();
    assert!(
        text.starts_with("Run: pip install requests==2.31.0 flask\nREFUSED reqeusts:"),
        "{text}"
    );

    // An installer the tool does not know is a tool error naming the ones it does.
    assert_eq!(
        tool_error(&t, 7),
        "failed to deserialize parameters: unknown variant `npm`, expected one of `pip`, `uv`, `uv-pip`, `poetry`"
    );
}

#[test]
fn advisories_are_matched_by_every_tool() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let osv = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/picket-osv/tests/fixtures/osv");
    let out = common::picket(&data, &["db", "import-osv", osv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("requirements.txt"),
        "reqeusts==2.31.0\nrequests==2.31.0\n",
    )
    .unwrap();

    let t = session(
        &venv,
        tmp.path(),
        &["mcp", "--offline"],
        &[],
        &[
            call(
                "check_packages",
                &json!({"packages": ["reqeusts", "requests==2.31.0", "requests==2.32.0"]}),
            ),
            call(
                "safe_install_command",
                &json!({"packages": ["reqeusts", "requests==2.31.0"], "installer": "uv"}),
            ),
            call(
                "safe_install_command",
                &json!({"packages": ["requests==2.31.0", "Requests==2.32.0"]}),
            ),
            call("scan_project", &json!({"path": project})),
        ],
    );

    let checked = answer(&t, 0);
    assert_eq!(checked["advisories"], 6);
    assert!(
        checked["note"]
            .as_str()
            .unwrap()
            .starts_with("the server was started with --offline"),
        "{checked}"
    );
    // Without a version, the MAL- record of the project; with one, that release's advisories.
    let squat = &checked["packages"][0];
    assert_eq!(squat["findings"][0]["id"], "known-malicious");
    assert_eq!(squat["findings"][0]["advisory"], "MAL-0000-0001");
    assert_eq!(squat["findings"][1]["id"], "typosquat");
    let vulnerable = &checked["packages"][1];
    assert_eq!(vulnerable["verdict"], "warn");
    assert_eq!(vulnerable["findings"][0]["advisory"], "GHSA-9wx4-h78v-vm56");
    assert_eq!(vulnerable["upgrade_to"], "2.32.0");
    let fixed = &checked["packages"][2];
    assert_eq!(fixed["verdict"], "allow", "{fixed}");
    assert!(fixed.get("upgrade_to").is_none(), "{fixed}");

    // The install command refuses the malicious package and passes on the vulnerability.
    let install = answer(&t, 1);
    assert_eq!(install["command"], "uv add requests==2.31.0");
    let refused = named(&install["refused"], "reqeusts");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .starts_with("releases of reqeusts: MAL-0000-0001"),
        "{refused}"
    );
    assert_eq!(install["warnings"][0]["advisory"], "GHSA-9wx4-h78v-vm56");
    // Two versions of one project make no install command.
    assert_eq!(
        tool_error(&t, 2),
        "`requests==2.31.0` and `Requests==2.32.0` name the same project; name each package once"
    );

    let scanned = answer(&t, 3);
    assert_eq!(scanned["advisories"], 6);
    let squat = named(&scanned["problems"], "reqeusts");
    assert_eq!(squat["findings"][0]["id"], "known-malicious");
    assert_eq!(
        named(&scanned["problems"], "requests")["upgrade_to"],
        "2.32.0"
    );
}

const CODE: &str = "def main():\n    total = sum(range(10))\n    print(total)\n    return total\n";

/// Wheels built by pip: `sturdy-tool` 1.0 and 1.1 with code, `hollow-thing` empty.
fn wheels(venv: &Path, dir: &Path) -> PathBuf {
    let packages = dir.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for (name, version, init) in [
        ("sturdy-tool", "1.0", CODE),
        ("sturdy-tool", "1.1", CODE),
        ("hollow-thing", "0.0.1", ""),
    ] {
        let src = dir.join(format!("{name}-{version}"));
        project(&src, name, version, init, "");
        pip_wheel(venv, &src, &packages);
    }
    packages
}

#[test]
fn online_against_pypiserver_pins_the_release_checked_and_the_command_installs() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = wheels(&venv, tmp.path());
    let (_server, index) = pypiserver(&venv, &packages);

    // The index comes from PICKET_INDEX_URL, resolved as `picket check` resolves it.
    let t = session(
        &venv,
        tmp.path(),
        &["mcp"],
        &[("PICKET_INDEX_URL", &index)],
        &[
            call(
                "check_packages",
                &json!({"packages": ["sturdy-tool", "hollow-thing", "no-such-project-here", "sturdy-tool==9.9"]}),
            ),
            call(
                "safe_install_command",
                &json!({"packages": ["sturdy-tool", "hollow-thing"], "installer": "uv-pip"}),
            ),
        ],
    );

    let checked = answer(&t, 0);
    assert_eq!(checked["mode"], "online");
    assert_eq!(checked["index"], index.as_str());
    let sturdy = &checked["packages"][0];
    assert_eq!(sturdy["exists"], true);
    assert_eq!(sturdy["version"], "1.1");
    assert_eq!(sturdy["verdict"], "allow", "{sturdy:#}");
    assert_eq!(sturdy["age"]["releases"], 2);
    assert_eq!(sturdy["age"]["latest"], "1.1");
    let hollow = named(&checked["packages"], "hollow-thing");
    assert_eq!(hollow["verdict"], "block");
    assert_eq!(hollow["findings"][0]["id"], "empty-package");
    assert_eq!(hollow["age"]["releases"], 1);
    let missing = named(&checked["packages"], "no-such-project-here");
    assert_eq!(missing["exists"], false);
    assert_eq!(missing["verdict"], "block");
    assert_eq!(missing["findings"][0]["id"], "nonexistent");
    // A version the index does not have is not vetted, and says why.
    let wrong = &checked["packages"][3];
    assert_eq!(
        wrong["error"], "sturdy-tool has no release 9.9 on the index",
        "{wrong}"
    );

    // The command pins the release checked, names the index it was checked against (configured
    // for picket, not for the installer), and leaves the empty package out.
    let install = answer(&t, 1);
    let argv: Vec<String> = install["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        argv,
        [
            "uv",
            "pip",
            "install",
            "--index-url",
            &index,
            "sturdy-tool==1.1"
        ]
    );
    let refused = named(&install["refused"], "hollow-thing");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("holds no code"),
        "{refused}"
    );

    // And the command does install, from the loopback index, into a fresh environment.
    let env_dir = tmp.path().join("env");
    common::run(
        Command::new(venv.join("bin/uv"))
            .args(["venv", "-q", "--python"])
            .arg(venv.join("bin/python"))
            .arg(&env_dir)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_CACHE_DIR", tmp.path().join("uv-cache")),
    );
    common::run(
        Command::new(venv.join("bin").join(&argv[0]))
            .args(&argv[1..])
            .env("VIRTUAL_ENV", &env_dir)
            .env("UV_CACHE_DIR", tmp.path().join("uv-cache"))
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX")
            .env("UV_NO_CONFIG", "1"),
    );
    let installed = Command::new(env_dir.join("bin/python"))
        .args(["-c", "import sturdy_tool; print(sturdy_tool.main())"])
        .output()
        .unwrap();
    assert_eq!(text(&installed.stdout).trim().lines().last(), Some("45"));
}

/// `YYYY-MM-DDT00:00:00Z`, `days` days ago.
fn days_ago(days: i64) -> String {
    let today = picket_formats::time::now_unix().div_euclid(86_400);
    let (y, m, d) = picket_formats::time::civil_from_days(today - days);
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

#[test]
fn a_json_index_gives_the_age_and_a_new_project_warns() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("fresh-thing");
    project(&src, "fresh-thing", "1.0", CODE, "");
    let dist = tmp.path().join("dist");
    pip_wheel(&venv, &src, &dist);
    let wheel = std::fs::read(dist.join("fresh_thing-1.0-py3-none-any.whl")).unwrap();
    let uploaded = days_ago(2);
    let page = json!({
        "meta": {"api-version": "1.1"},
        "name": "fresh-thing",
        "files": [{"filename": "fresh_thing-1.0-py3-none-any.whl",
                   "url": "/files/fresh_thing-1.0-py3-none-any.whl",
                   "hashes": {"sha256": picket_formats::hashes::sha256_hex(&wheel)},
                   "size": wheel.len(), "upload-time": uploaded}]
    });
    let index = canned_server(vec![
        (
            "/simple/fresh-thing/".into(),
            Canned {
                status: 200,
                content_type: "application/vnd.pypi.simple.v1+json",
                body: page.to_string().into_bytes(),
            },
        ),
        (
            "/files/fresh_thing-1.0-py3-none-any.whl".into(),
            Canned {
                status: 200,
                content_type: "application/octet-stream",
                body: wheel,
            },
        ),
    ]);

    let t = session(
        &venv,
        tmp.path(),
        &["mcp", "--index", &index],
        &[],
        &[
            call("check_packages", &json!({"packages": ["fresh-thing"]})),
            call(
                "safe_install_command",
                &json!({"packages": ["fresh-thing"]}),
            ),
        ],
    );

    let fresh = &answer(&t, 0)["packages"][0];
    assert_eq!(fresh["verdict"], "warn", "{fresh:#}");
    assert_eq!(fresh["findings"][0]["id"], "new-project");
    assert_eq!(
        fresh["age"],
        json!({"first_upload": &uploaded[..10], "days_old": 2, "releases": 1, "latest": "1.0"})
    );
    let text = t["calls"][0]["texts"][0].as_str().unwrap();
    assert!(
        text.contains(&format!(
            "1 release, latest 1.0, first upload {} (2 days ago)",
            &uploaded[..10]
        )),
        "{text}"
    );

    // A warning does not stop the command; it travels with it.
    let install = answer(&t, 1);
    assert_eq!(
        install["argv"],
        json!(["pip", "install", "--index-url", index, "fresh-thing==1.0"])
    );
    assert_eq!(install["warnings"][0]["id"], "new-project");
}
