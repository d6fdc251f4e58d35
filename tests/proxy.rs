//! `picket proxy` in front of real upstreams (pypiserver, `picket serve`) and hostile ones, driven
//! by real pip, uv and poetry: what installs, what is refused and how the person learns why, cooldowns,
//! the cache with the upstream gone, shadowing, and upstreams that misbehave.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::registry::{Registry, both, fresh_venv, raw_head, registry_with_user};
use common::{Server, picket, pypiserver, text, venv};

/// A running `picket proxy`.
struct Proxy {
    _server: Server,
    simple: String,
    data: PathBuf,
}

/// Starts `picket proxy` on a free port with `[proxy]` set to `upstreams` plus `extra` lines.
fn start_proxy(dir: &Path, upstreams: &[&str], extra: &str) -> Proxy {
    let data = dir.join("proxy-data");
    std::fs::create_dir_all(&data).unwrap();
    let list: Vec<String> = upstreams.iter().map(|u| format!("\"{u}\"")).collect();
    let config = dir.join("proxy.toml");
    std::fs::write(
        &config,
        format!("[proxy]\nupstream = [{}]\n{extra}\n", list.join(", ")),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("PICKET_LOG", "warn")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PICKET_INDEX_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start picket proxy");
    let simple = common::announced_url(&mut child);
    Proxy {
        _server: Server(child),
        simple,
        data,
    }
}

/// `pip install` into `target` from `index` only.
fn pip(target: &Path, index: &str, args: &[&str]) -> Output {
    Command::new(target.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            index,
        ])
        .args(args)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .output()
        .expect("run pip")
}

/// `uv pip install` into `target` from `index` only.
fn uv(venv: &Path, target: &Path, index: &str, args: &[&str]) -> Output {
    Command::new(venv.join("bin/uv"))
        .args(["pip", "install", "--no-cache", "--python"])
        .arg(target.join("bin/python"))
        .args(["--index-url", index])
        .args(args)
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("UV_EXTRA_INDEX_URL")
        .env_remove("UV_FIND_LINKS")
        .env("UV_NO_CONFIG", "1")
        .output()
        .expect("run uv")
}

/// A folder of installable wheels, `(name, version, __init__.py)` each.
fn wheels(dir: &Path, wheels: &[(&str, &str, &[u8])]) -> PathBuf {
    let packages = dir.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for (name, version, init) in wheels {
        let module = name.replace('-', "_");
        let path = packages.join(format!("{module}-{version}-py3-none-any.whl"));
        let init_path = format!("{module}/__init__.py");
        let bytes = picket_testkit::installable_wheel(name, version, &[(&init_path, init)]);
        std::fs::write(&path, bytes).unwrap();
    }
    packages
}

/// Uploads an installable wheel of `name` `version` (with code) to `registry`.
fn upload(registry: &Registry, token: &str, name: &str, version: &str) -> (u16, String) {
    let init = format!("{}/__init__.py", name.replace('-', "_"));
    let bytes = picket_testkit::installable_wheel(name, version, &[(&init, CODE)]);
    registry.upload_wheel_bytes(token, name, version, &bytes)
}

const CODE: &[u8] = b"def greet(name):\n    return 'hello ' + name\n";

/// An OSV `MAL-` record naming every release of `name`, imported into `data`.
fn import_malicious(dir: &Path, data: &Path, name: &str) {
    let records = dir.join("osv");
    std::fs::create_dir_all(&records).unwrap();
    let record = serde_json::json!({
        "id": "MAL-2026-4242",
        "modified": "2026-11-01T00:00:00Z",
        "summary": "Malicious code in evil-helper (PyPI)",
        "details": "Steals credentials on import.",
        "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
    });
    std::fs::write(records.join("MAL-2026-4242.json"), record.to_string()).unwrap();
    let out = picket(
        dir,
        &[
            "db",
            "import-osv",
            records.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", both(&out));
}

#[test]
fn pip_uv_and_poetry_install_through_the_proxy_and_show_why_a_package_is_refused() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = wheels(
        tmp.path(),
        &[
            ("tinylib", "1.0", CODE),
            ("empty-placeholder", "0.1", b"\"\"\"Reserved.\"\"\"\n"),
            ("reqeusts", "2.0", CODE),
            ("evil-helper", "1.0", CODE),
            ("denied-thing", "1.0", CODE),
        ],
    );
    let (_upstream, upstream_url) = pypiserver(&venv, &packages);

    let proxy_data = tmp.path().join("proxy-data");
    import_malicious(tmp.path(), &proxy_data, "evil-helper");
    let proxy = start_proxy(tmp.path(), &[&upstream_url], "deny = [\"denied-thing\"]\n");

    // A normal project installs with pip and with uv.
    let target = tmp.path().join("target");
    fresh_venv(&venv, &target);
    let out = pip(&target, &proxy.simple, &["tinylib"]);
    assert!(out.status.success(), "{}", both(&out));
    let target_uv = tmp.path().join("target-uv");
    fresh_venv(&venv, &target_uv);
    let out = uv(&venv, &target_uv, &proxy.simple, &["tinylib"]);
    assert!(out.status.success(), "{}", both(&out));

    // Each refused package fails, and pip's and uv's own output says why.
    let cases = [
        ("empty-placeholder", "holds no code"),
        ("reqeusts", "typosquat"),
        ("evil-helper", "MAL-2026-4242"),
        ("denied-thing", "deny list"),
    ];
    for (name, why) in cases {
        let out = pip(&target, &proxy.simple, &[name]);
        let shown = both(&out);
        assert!(!out.status.success(), "pip installed {name}: {shown}");
        assert!(
            shown.contains("403 Client Error: picket blocked") && shown.contains(why),
            "pip output for {name} lacks the reason `{why}`:\n{shown}"
        );
        let out = uv(&venv, &target_uv, &proxy.simple, &[name]);
        let shown = both(&out);
        assert!(!out.status.success(), "uv installed {name}: {shown}");
        assert!(
            shown.contains("403 picket blocked") && shown.contains(why),
            "uv output for {name} lacks the reason `{why}`:\n{shown}"
        );
    }
    let listed = Command::new(target.join("bin/python"))
        .args(["-m", "pip", "list", "--format", "freeze"])
        .output()
        .unwrap();
    let listed = text(&listed.stdout);
    assert!(listed.contains("tinylib==1.0"), "{listed}");
    for (name, _) in cases {
        assert!(!listed.contains(name), "{name} got installed: {listed}");
    }

    // Poetry, with the proxy as its primary source, the same.
    let app = tmp.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("pyproject.toml"),
        format!(
            "[project]\nname = \"demo-app\"\nversion = \"0.1.0\"\nrequires-python = \">=3.9\"\ndependencies = []\n\n\
             [[tool.poetry.source]]\nname = \"picket\"\nurl = \"{}\"\npriority = \"primary\"\n\n\
             [tool.poetry]\npackage-mode = false\n",
            proxy.simple
        ),
    )
    .unwrap();
    let poetry = |name: &str| {
        Command::new(venv.join("bin/poetry"))
            .args(["add", "--no-interaction", name])
            .current_dir(&app)
            .env("POETRY_VIRTUALENVS_IN_PROJECT", "true")
            .env("POETRY_CACHE_DIR", tmp.path().join("poetry-cache"))
            .env_remove("PIP_FIND_LINKS")
            .output()
            .expect("run poetry")
    };
    let out = poetry("tinylib");
    assert!(out.status.success(), "{}", both(&out));
    let out = poetry("evil-helper");
    let shown = both(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("403 Client Error: picket blocked") && shown.contains("MAL-2026-4242"),
        "{shown}"
    );

    // Every refusal is journaled with its rule, and counted.
    let out = picket(
        tmp.path(),
        &[
            "--format",
            "json",
            "proxy",
            "report",
            "--data-dir",
            proxy_data.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", both(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: std::collections::BTreeSet<(String, String)> = report["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["project"].as_str().unwrap().to_owned(),
                d["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("empty-placeholder", "empty-package"),
        ("reqeusts", "name"),
        ("evil-helper", "known-malicious"),
        ("denied-thing", "denied"),
    ] {
        assert!(
            rules.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not in {rules:?}"
        );
    }
    assert!(!rules.iter().any(|(p, _)| p == "tinylib"), "{rules:?}");
    let metrics = get(&proxy.simple.replace("/simple/", "/metrics"));
    assert!(
        metrics.contains("picket_proxy_decisions_total{action=\"block\",rule=\"empty-package\"}"),
        "{metrics}"
    );
    // Nothing refused was stored.
    let stored = walk(&proxy.data.join("proxy/files"));
    assert_eq!(
        stored.len(),
        1,
        "only tinylib's wheel is cached: {stored:?}"
    );
}

#[test]
fn a_cooldown_hides_the_newest_release_and_a_private_name_shadows_upstream() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let (status, body) = upload(&registry, &token, "fresh-lib", "1.0");
    assert_eq!(status, 200, "{body}");
    let first_upload = std::time::Instant::now();
    // The private index also holds `tinylib`, which the public stand-in has too.
    let (status, body) = upload(&registry, &token, "tinylib", "5.0");
    assert_eq!(status, 200, "{body}");

    let packages = wheels(
        tmp.path(),
        &[("tinylib", "1.0", CODE), ("tinylib", "9.0", CODE)],
    );
    let (_public, public_url) = pypiserver(&venv, &packages);
    let target = tmp.path().join("target");
    fresh_venv(&venv, &target);
    let target_uv = tmp.path().join("target-uv");
    fresh_venv(&venv, &target_uv);

    // 1.0 is older than the cooldown of 10 s, 2.0 is uploaded just before the installs.
    std::thread::sleep(Duration::from_secs(11).saturating_sub(first_upload.elapsed()));
    let (status, body) = upload(&registry, &token, "fresh-lib", "2.0");
    assert_eq!(status, 200, "{body}");
    // The private index first: a name it has is never resolved from the public one.
    let proxy = start_proxy(
        tmp.path(),
        &[&registry.simple(), &public_url],
        "cooldown = \"10s\"\n",
    );
    let out = pip(&target, &proxy.simple, &["fresh-lib", "tinylib"]);
    assert!(out.status.success(), "{}", both(&out));
    let shown = both(&out);
    assert!(
        shown.contains("fresh-lib-1.0") || shown.contains("fresh_lib-1.0"),
        "pip should pick 1.0 while 2.0 is inside the cooldown:\n{shown}"
    );
    assert!(
        shown.contains("tinylib-5.0"),
        "the private tinylib wins:\n{shown}"
    );
    let out = uv(&venv, &target_uv, &proxy.simple, &["fresh-lib", "tinylib"]);
    let shown = both(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("fresh-lib==1.0"), "{shown}");
    assert!(shown.contains("tinylib==5.0"), "{shown}");

    let out = picket(
        tmp.path(),
        &[
            "proxy",
            "report",
            "--data-dir",
            proxy.data.to_str().unwrap(),
        ],
    );
    let report = text(&out.stdout);
    assert!(
        report.contains("hide") && report.contains("cooldown") && report.contains("fresh-lib==2.0"),
        "{report}"
    );
    drop(registry);
}

#[test]
fn cached_pages_and_files_keep_installs_working_with_the_upstream_stopped() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = wheels(tmp.path(), &[("tinylib", "1.0", CODE)]);
    let (upstream, upstream_url) = pypiserver(&venv, &packages);
    // Pages are revalidated on every request, so the stale path is taken at once.
    let proxy = start_proxy(tmp.path(), &[&upstream_url], "page-ttl-secs = 0\n");
    let target = tmp.path().join("target");
    fresh_venv(&venv, &target);
    let out = pip(&target, &proxy.simple, &["tinylib"]);
    assert!(out.status.success(), "{}", both(&out));

    drop(upstream);
    let again = tmp.path().join("again");
    fresh_venv(&venv, &again);
    let out = pip(&again, &proxy.simple, &["tinylib"]);
    assert!(out.status.success(), "{}", both(&out));
    let base = proxy.simple.trim_end_matches("/simple/");
    let head = raw_head(
        base,
        "GET /simple/tinylib/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-picket-stale: upstream unavailable"),
        "{head}"
    );
    // A project never fetched has no cache to fall back on.
    let head = raw_head(
        base,
        "GET /simple/never-seen/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
}

/// A loopback upstream whose every answer is written by `answer(path, stream)`.
fn hostile_upstream(answer: fn(&str, &mut std::net::TcpStream, u16)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                answer(&path, &mut stream, port);
            });
        }
    });
    format!("http://127.0.0.1:{port}/simple/")
}

fn respond(stream: &mut std::net::TcpStream, status: &str, extra: &str, body: &[u8]) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(body);
}

fn bomb() -> Vec<u8> {
    picket_testkit::hostile_archives()
        .into_iter()
        .find(|h| h.case == "zip-bomb-ratio")
        .unwrap()
        .bytes
}

fn page(name: &str, filename: &str, sha: &str) -> Vec<u8> {
    serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": name,
        "files": [{"filename": filename, "url": format!("/files/{filename}"), "hashes": {"sha256": sha}}],
    })
    .to_string()
    .into_bytes()
}

fn misbehave(path: &str, stream: &mut std::net::TcpStream, port: u16) {
    let json = "Content-Type: application/vnd.pypi.simple.v1+json\r\n";
    match path {
        "/simple/badhash/" => respond(
            stream,
            "200 OK",
            json,
            &page("badhash", "badhash-1.0-py3-none-any.whl", &"ab".repeat(32)),
        ),
        "/files/badhash-1.0-py3-none-any.whl" => respond(
            stream,
            "200 OK",
            "",
            &picket_testkit::wheel("badhash", "1.0", &[("badhash/__init__.py", CODE)]),
        ),
        "/simple/bomb/" => respond(
            stream,
            "200 OK",
            json,
            &page(
                "bomb",
                "bomb-1.0-py3-none-any.whl",
                &picket_formats::hashes::sha256_hex(&bomb()),
            ),
        ),
        "/files/bomb-1.0-py3-none-any.whl" => respond(stream, "200 OK", "", &bomb()),
        "/simple/malformed/" => respond(stream, "200 OK", json, b"{\"files\": [ {\"filename\": "),
        "/simple/elsewhere/" => respond(
            stream,
            "302 Found",
            &format!("Location: http://localhost:{port}/simple/elsewhere/\r\n"),
            b"",
        ),
        "/simple/huge/" => {
            // Headers without a length, then bytes until the reader gives up.
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\n{json}Connection: close\r\n\r\n["
            );
            let chunk = vec![b' '; 1 << 16];
            while stream.write_all(&chunk).is_ok() {}
        }
        "/simple/slow/" => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\n{json}Content-Length: 1000\r\n\r\n"
            );
            for _ in 0..1000 {
                if stream.write_all(b" ").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        _ => respond(stream, "404 Not Found", "", b"not here"),
    }
}

/// GET through a fresh connection asking for PEP 691 JSON; returns the head and body as text.
fn get(url: &str) -> String {
    get_as(url, "application/vnd.pypi.simple.v1+json")
}

/// GET through a fresh connection with `accept`; returns the head and body as text.
fn get_as(url: &str, accept: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (address, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

#[test]
fn hostile_upstreams_are_refused_with_a_clear_error_and_nothing_bad_is_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = hostile_upstream(misbehave);
    let proxy = start_proxy(
        tmp.path(),
        &[&upstream],
        "max-page-bytes = 1048576\nupstream-timeout-secs = 3\n",
    );
    let base = proxy.simple.trim_end_matches("/simple/").to_owned();
    let file_url = |project: &str, page: &str| {
        let doc: serde_json::Value =
            serde_json::from_str(page.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let url = doc["files"][0]["url"].as_str().unwrap();
        assert!(url.starts_with("../../files/"), "{project}: {url}");
        format!("{base}/{}", url.trim_start_matches("../../"))
    };

    // A file whose bytes don't match the page's sha256.
    let listed = get(&format!("{base}/simple/badhash/"));
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let answer = get(&file_url("badhash", &listed));
    assert!(answer.starts_with("HTTP/1.1 502"), "{answer}");
    assert!(answer.contains("but its page lists"), "{answer}");

    // A zip bomb with the right hash: refused on inspection, with the reason.
    let listed = get(&format!("{base}/simple/bomb/"));
    let answer = get(&file_url("bomb", &listed));
    assert!(
        answer.starts_with("HTTP/1.1 403 picket blocked"),
        "{answer}"
    );
    assert!(answer.contains("decompression bomb"), "{answer}");

    for (project, status, message) in [
        ("malformed", "502", "invalid simple-API JSON"),
        (
            "elsewhere",
            "502",
            "another host than the upstream configured",
        ),
        ("huge", "502", "more than 1048576 bytes"),
        ("slow", "502", "no answer from upstream"),
    ] {
        let answer = get(&format!("{base}/simple/{project}/"));
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")) && answer.contains(message),
            "{project}: {answer}"
        );
        assert!(
            !proxy
                .data
                .join(format!("proxy/pages/{project}.body"))
                .exists(),
            "{project} was cached"
        );
    }
    // Only the two good pages are cached, and no file at all.
    assert_eq!(walk(&proxy.data.join("proxy/files")), Vec::<PathBuf>::new());
    let mut pages: Vec<String> = walk(&proxy.data.join("proxy/pages"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        ["badhash.body", "badhash.json", "bomb.body", "bomb.json"]
    );
}

/// An upstream whose projects carry PEP 792 status markers: `retired` (JSON, deprecated, with a
/// reason) and `frozen` (HTML, archived), each with one wheel, and `seized` (quarantined, no files).
fn marked(path: &str, stream: &mut std::net::TcpStream, _port: u16) {
    let wheel =
        |name: &str| picket_testkit::wheel(name, "1.0", &[(&format!("{name}/__init__.py"), CODE)]);
    match path {
        "/simple/retired/" => {
            let bytes = wheel("retired");
            let mut doc: serde_json::Value = serde_json::from_slice(&page(
                "retired",
                "retired-1.0-py3-none-any.whl",
                &picket_formats::hashes::sha256_hex(&bytes),
            ))
            .unwrap();
            doc["project-status"] =
                serde_json::json!({"status": "deprecated", "reason": "use <renewed>"});
            respond(
                stream,
                "200 OK",
                "Content-Type: application/vnd.pypi.simple.v1+json\r\n",
                doc.to_string().as_bytes(),
            );
        }
        "/simple/frozen/" => {
            let sha = picket_formats::hashes::sha256_hex(&wheel("frozen"));
            let html = format!(
                "<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" content=\"1.4\">\
                 <meta name=\"pypi:project-status\" content=\"archived\"></head><body>\
                 <a href=\"/files/frozen-1.0-py3-none-any.whl#sha256={sha}\">frozen-1.0-py3-none-any.whl</a></body></html>"
            );
            respond(stream, "200 OK", "Content-Type: text/html\r\n", html.as_bytes());
        }
        "/simple/seized/" => respond(
            stream,
            "200 OK",
            "Content-Type: application/vnd.pypi.simple.v1+json\r\n",
            br#"{"meta": {"api-version": "1.4"}, "name": "seized", "files": [], "project-status": {"status": "quarantined"}}"#,
        ),
        "/files/retired-1.0-py3-none-any.whl" => respond(stream, "200 OK", "", &wheel("retired")),
        "/files/frozen-1.0-py3-none-any.whl" => respond(stream, "200 OK", "", &wheel("frozen")),
        _ => respond(stream, "404 Not Found", "", b"not here"),
    }
}

#[test]
fn pep_792_status_markers_pass_through_the_proxy_and_check_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let upstream = hostile_upstream(marked);
    let proxy = start_proxy(tmp.path(), &[&upstream], "");
    let base = proxy.simple.trim_end_matches("/simple/").to_owned();
    let body = |answer: &str| answer.split("\r\n\r\n").nth(1).unwrap().to_owned();

    // JSON in, JSON and HTML out; HTML in, the same.
    let answer = get(&format!("{base}/simple/retired/"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let doc: serde_json::Value = serde_json::from_str(&body(&answer)).unwrap();
    assert_eq!(
        doc["project-status"],
        serde_json::json!({"status": "deprecated", "reason": "use <renewed>"})
    );
    assert_eq!(doc["meta"]["api-version"], "1.4");
    assert_eq!(doc["files"].as_array().unwrap().len(), 1, "{doc}");
    let html = |project: &str| {
        let answer = get_as(&format!("{base}/simple/{project}/"), "text/html");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        body(&answer)
    };
    let retired = html("retired");
    assert!(
        retired.contains("<meta name=\"pypi:project-status\" content=\"deprecated\">")
            && retired.contains(
                "<meta name=\"pypi:project-status-reason\" content=\"use &lt;renewed&gt;\">"
            ),
        "{retired}"
    );
    let frozen = html("frozen");
    assert!(
        frozen.contains("<meta name=\"pypi:project-status\" content=\"archived\">"),
        "{frozen}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&body(&get(&format!("{base}/simple/frozen/")))).unwrap();
    assert_eq!(doc["project-status"]["status"], "archived", "{doc}");
    assert!(doc["project-status"].get("reason").is_none(), "{doc}");

    // `picket check` through the proxy: quarantined blocks, deprecated warns, archived is noted.
    let data = tmp.path().join("check-data");
    std::fs::create_dir_all(&data).unwrap();
    let (code, doc) = common::check_json(&data, &proxy.simple, &["retired", "frozen", "seized"]);
    assert_eq!(code, Some(1), "{doc}");
    let status_of = |name: &str| {
        let package = common::package(&doc, name);
        let finding = common::finding(package, "project-status");
        (
            package["verdict"].as_str().unwrap().to_owned(),
            finding["severity"].as_str().unwrap().to_owned(),
            finding["message"].as_str().unwrap().to_owned(),
            package["error"].clone(),
        )
    };
    let (verdict, severity, message, error) = status_of("seized");
    assert_eq!((verdict.as_str(), severity.as_str()), ("block", "high"));
    assert!(message.contains("quarantined seized"), "{message}");
    assert!(
        error.is_null(),
        "a quarantined project is not an error: {error}"
    );
    let (verdict, severity, message, _) = status_of("retired");
    assert_eq!((verdict.as_str(), severity.as_str()), ("warn", "medium"));
    assert!(
        message.contains("deprecated") && message.contains("use <renewed>"),
        "{message}"
    );
    let (_, severity, message, _) = status_of("frozen");
    assert_eq!(severity, "low");
    assert!(message.contains("archived"), "{message}");
}

/// `picket guard -- COMMAND` with the user's index in `PIP_INDEX_URL`.
fn guard(dir: &Path, index: &str, command: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["guard", "--data-dir"])
        .arg(dir.join("guard-data"))
        .arg("--")
        .args(command)
        .current_dir(dir)
        .env("PIP_INDEX_URL", index)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("UV_NO_CONFIG", "1")
        .env("PICKET_LOG", "warn")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PICKET_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .output()
        .expect("run picket guard")
}

#[test]
fn guard_runs_pip_and_uv_through_the_proxy_and_says_what_it_refused() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = wheels(
        tmp.path(),
        &[("tinylib", "1.0", CODE), ("reqeusts", "2.0", CODE)],
    );
    let (_upstream, upstream_url) = pypiserver(&venv, &packages);
    let target = tmp.path().join("target");
    fresh_venv(&venv, &target);
    let python = target.join("bin/python");
    let python = python.to_str().unwrap();
    let uv = venv.join("bin/uv");
    let uv = uv.to_str().unwrap();

    let pip_install = |name: &str| {
        guard(
            tmp.path(),
            &upstream_url,
            &[python, "-m", "pip", "install", "--no-cache-dir", name],
        )
    };
    let out = pip_install("tinylib");
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(
        text(&out.stderr).contains("picket guard: nothing refused or held back"),
        "{}",
        both(&out)
    );
    let out = pip_install("reqeusts");
    let shown = both(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("403 Client Error: picket blocked"),
        "{shown}"
    );
    assert!(
        shown.contains("picket guard: refused reqeusts==2.0 (name)") && shown.contains("requests"),
        "{shown}"
    );

    let out = guard(
        tmp.path(),
        &upstream_url,
        &[
            uv,
            "pip",
            "install",
            "--no-cache",
            "--python",
            python,
            "reqeusts",
        ],
    );
    let shown = both(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("403 picket blocked"), "{shown}");
    assert!(
        shown.contains("picket guard: refused reqeusts==2.0"),
        "{shown}"
    );

    // The command's own exit code passes through when picket refused nothing.
    let out = guard(tmp.path(), &upstream_url, &["sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", both(&out));
    // Poetry can't be redirected from the environment: said, with what to do instead.
    let out = guard(tmp.path(), &upstream_url, &["poetry", "add", "tinylib"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("poetry source add"),
        "{}",
        both(&out)
    );
}

#[test]
fn serve_with_an_upstream_never_resolves_a_local_name_there() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = wheels(
        tmp.path(),
        &[("otherlib", "1.0", CODE), ("reqeusts", "2.0", CODE)],
    );
    let (_public, public_url) = pypiserver(&venv, &packages);
    let upstream = format!("[\"{public_url}\"]");
    let (registry, token) =
        registry_with_user(tmp.path(), &[("PICKET_SERVE_UPSTREAM", upstream.as_str())]);
    let (status, body) = upload(&registry, &token, "tinylib", "5.0");
    assert_eq!(status, 200, "{body}");
    // Later the same name is published upstream, with a higher version: dependency confusion.
    wheels(tmp.path(), &[("tinylib", "9.0", CODE)]);
    let public_page = get(&format!("{public_url}tinylib/"));
    assert!(public_page.contains("tinylib-9.0"), "{public_page}");

    let target = tmp.path().join("target");
    fresh_venv(&venv, &target);
    // tinylib exists here (5.0), so upstream's 9.0 is never offered; otherlib comes from upstream.
    let out = pip(&target, &registry.simple(), &["tinylib", "otherlib"]);
    let shown = both(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("tinylib-5.0") && shown.contains("otherlib-1.0"),
        "{shown}"
    );
    assert!(!shown.contains("tinylib-9.0"), "{shown}");
    // The proxy's policies apply to what comes from upstream, with the reason shown.
    let out = pip(&target, &registry.simple(), &["reqeusts"]);
    let shown = both(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("403 Client Error: picket blocked") && shown.contains("typosquat"),
        "{shown}"
    );
    // Upstream files are served beside the index's own, not mixed with them.
    assert!(shown.contains("/upstream-files/"), "{shown}");
    // A new local project may not take a name upstream has: it would shadow it for everyone.
    let (status, body) = upload(&registry, &token, "otherlib", "2.0");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("dependency confusion"), "{body}");
    let out = pip(
        &target,
        &registry.simple(),
        &["--force-reinstall", "otherlib"],
    );
    let shown = both(&out);
    assert!(
        out.status.success() && shown.contains("otherlib-1.0"),
        "{shown}"
    );
}

#[test]
fn with_nothing_configured_the_proxy_stands_in_front_of_the_index_pip_uses() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // pip's own default, as its help states it (nothing here names an index).
    let help = Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--help"])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_INDEX_URL")
        .output()
        .unwrap();
    let help = text(&help.stdout);
    let default: String = help
        .split("--index-url")
        .nth(1)
        .and_then(|rest| rest.split("(default").nth(1))
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no default index in pip's help:\n{help}"))
        .split_whitespace()
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["proxy", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path())
        .current_dir(tmp.path())
        .env("PICKET_PYTHON", venv.join("bin/python"))
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("HOME", tmp.path())
        .env("PICKET_LOG", "warn")
        .env_remove("PICKET_NO_INSTALLER_INDEX")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PICKET_INDEX_URL")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("VIRTUAL_ENV")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let front = line
        .split(" in front of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no upstream in `{line}`"));
    assert_eq!(
        front.trim_end_matches('/'),
        default.trim_end_matches('/'),
        "{line}"
    );
}

/// `POST` of `body` to `url`: the status and the answer's JSON (`Null` when it is not JSON).
fn post(url: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

#[test]
fn the_proxy_answers_the_osv_api_over_its_imported_records() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    import_malicious(tmp.path(), &tmp.path().join("proxy-data"), "evil-helper");
    // The upstream is never asked: the OSV API answers from the records the proxy imported.
    let proxy = start_proxy(tmp.path(), &["http://127.0.0.1:9/simple/"], "");
    let base = proxy.simple.trim_end_matches("/simple/").to_owned();

    let query = |name: &str| serde_json::json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": "1.0"});
    let (status, answer) = post(
        &format!("{base}/v1/query"),
        query("Evil_Helper").to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["vulns"][0]["id"], "MAL-2026-4242", "{answer}");
    let (status, answer) = post(
        &format!("{base}/v1/query"),
        query("tinylib").to_string().as_bytes(),
    );
    assert_eq!((status, answer), (200, serde_json::json!({})));
    let batch = serde_json::json!({"queries": [query("tinylib"), query("evil-helper")]});
    let (status, answer) = post(
        &format!("{base}/v1/querybatch"),
        batch.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0], serde_json::json!({}));
    assert_eq!(answer["results"][1]["vulns"][0]["id"], "MAL-2026-4242");
    let answer = get(&format!("{base}/v1/vulns/MAL-2026-4242"));
    let record: serde_json::Value =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(record["summary"], "Malicious code in evil-helper (PyPI)");

    // Hostile and wrong queries: OSV's own error shape and a 4xx.
    let npm = serde_json::json!({"package": {"name": "x", "ecosystem": "npm"}});
    let (status, answer) = post(&format!("{base}/v1/query"), npm.to_string().as_bytes());
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], 3);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("PyPI records only")
    );
    let (status, _) = post(&format!("{base}/v1/query"), b"{not json");
    assert_eq!(status, 400);
    let many = serde_json::json!({"queries": vec![query("x"); 1001]});
    let (status, answer) = post(
        &format!("{base}/v1/querybatch"),
        many.to_string().as_bytes(),
    );
    assert_eq!(status, 400, "{answer}");
    // A body over the limit is refused from its declared length, unread.
    let out = raw_head(
        &base,
        "POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    let out = raw_head(
        &base,
        "GET /v1/vulns/MAL-0000-0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");

    // pip-audit, pointed at the proxy, finds the record.
    let requirements = tmp.path().join("requirements.txt");
    std::fs::write(&requirements, "evil-helper==1.0\n").unwrap();
    let out = Command::new(venv.join("bin/pip-audit"))
        .arg("-r")
        .arg(&requirements)
        .args(["--disable-pip", "--no-deps", "-s", "osv", "--osv-url"])
        .arg(format!("{base}/v1/query"))
        .args(["-f", "json", "--progress-spinner", "off", "--cache-dir"])
        .arg(tmp.path().join("pip-audit-cache"))
        .output()
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    assert_eq!(
        doc["dependencies"][0]["vulns"][0]["id"], "MAL-2026-4242",
        "{doc}"
    );
}
