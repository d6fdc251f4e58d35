//! Helpers shared by the integration tests: running the binary, the test virtualenv, building
//! distributions with real tools, and loopback servers.
#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `picket` with `args`, a private data directory and no inherited index configuration.
pub fn picket(data_dir: &Path, args: &[&str]) -> Output {
    picket_with_stdin(data_dir, args, "")
}

/// Like [`picket`], feeding `stdin`.
pub fn picket_with_stdin(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    picket_with_env(data_dir, args, stdin, &[])
}

/// Like [`picket_with_stdin`], with `env` set last (over the test database's URL too).
pub fn picket_with_env(
    data_dir: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(String, String)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket"));
    cmd.env_remove("PICKET_DATABASE_URL");
    if args.iter().any(|a| *a == "admin" || *a == "serve") {
        let registry = args
            .iter()
            .position(|a| *a == "--data-dir")
            .and_then(|i| args.get(i + 1))
            .map_or(data_dir, Path::new);
        use_database(&mut cmd, registry);
    }
    let mut child = cmd
        .args(args)
        .env("PICKET_DATA_DIR", data_dir)
        .env("HOME", data_dir)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PICKET_INDEX_URL")
        .env_remove("PIP_INDEX_URL")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("VIRTUAL_ENV")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run picket");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The database `picket serve` and `picket admin` on the data directory `data` use: under
/// `PICKET_TEST_BACKEND=postgres` (see `scripts/test`), a PostgreSQL database of its own, the same
/// for every process on that directory; otherwise none (SQLite inside it).
pub fn database_for(data: &Path) -> Option<String> {
    static DATABASES: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<PathBuf, String>>,
    > = std::sync::LazyLock::new(Default::default);
    if !picket_testkit::database::postgres() {
        return None;
    }
    let key = std::path::absolute(data).unwrap();
    let mut databases = DATABASES.lock().unwrap();
    if let Some(url) = databases.get(&key) {
        return Some(url.clone());
    }
    let url = picket_testkit::database::fresh_url_blocking()?;
    databases.insert(key, url.clone());
    Some(url)
}

/// Points `cmd`, a `picket serve` or `picket admin` on `data`, at [`database_for`] `data`.
pub fn use_database<'a>(cmd: &'a mut Command, data: &Path) -> &'a mut Command {
    if let Some(url) = database_for(data) {
        cmd.env("PICKET_DATABASE_URL", url);
    }
    cmd
}

/// The entry of `packages` named `name` in a `check --format json` document.
pub fn package<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {doc}"))
}

/// `picket --format=json check --index INDEX NAMES…` with `dir` as its data directory: the exit
/// code and the document.
pub fn check_json(dir: &Path, index: &str, names: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["--format=json", "check", "--index", index];
    args.extend(names);
    let out = picket(dir, &args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), doc)
}

/// The finding `id` of one `packages` entry of a `check --format json` document.
pub fn finding<'a>(package: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    package["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no {id} finding in {package}"))
}

/// A wheel of `name` 1.0 whose one module is `code`, written to `dir`; returns its path.
pub fn code_wheel(dir: &Path, name: &str, code: &[u8]) -> PathBuf {
    let escaped = name.replace('-', "_");
    let path = dir.join(format!("{escaped}-1.0-py3-none-any.whl"));
    let record = format!("{escaped}-1.0.dist-info/RECORD");
    let module = format!("{escaped}/__init__.py");
    std::fs::write(
        &path,
        picket_testkit::wheel(name, "1.0", &[(&module, code), (&record, b"")]),
    )
    .unwrap();
    path
}

/// `picket --format json admin --data-dir DATA ARGS…`, run beside the data directory.
pub fn admin_json(data: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "--format",
        "json",
        "admin",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    picket_with_stdin(data.parent().unwrap(), &all, "")
}

/// Creates the site administrator `name` (address `name@own.example`, password
/// `correct horse battery`) with the admin CLI.
pub fn create_admin(data: &Path, name: &str) {
    let email = format!("{name}@own.example");
    let out = picket_with_stdin(
        data.parent().unwrap(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            name,
            "--email",
            &email,
            "--admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Lossy text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The test virtualenv, or `None` (with a note) when the suite runs without `scripts/test`.
pub fn venv() -> Option<PathBuf> {
    let venv = std::env::var_os("PICKET_TEST_VENV").map(PathBuf::from);
    if venv.is_none() {
        eprintln!("skipped: PICKET_TEST_VENV is not set; run the suite with scripts/test");
    }
    venv
}

/// Runs a command and insists it succeeds.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Writes a setuptools project: `init` is the package's `__init__.py`, `scripts` the lines of
/// `[project.scripts]`.
pub fn project(dir: &Path, name: &str, version: &str, init: &str, scripts: &str) {
    let module = name.replace('-', "_");
    std::fs::create_dir_all(dir.join("src").join(&module)).unwrap();
    std::fs::write(dir.join("src").join(&module).join("__init__.py"), init).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"{version}\"\ndescription = \"built by a test\"\n\n\
             [project.scripts]\n{scripts}\n"
        ),
    )
    .unwrap();
}

/// Builds a wheel of the project in `src` into `out` with `pip wheel`.
pub fn pip_wheel(venv: &Path, src: &Path, out: &Path) {
    run(Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
        ])
        .arg(out)
        .arg(src));
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The URL a server announces on its first line of stdout (`picket serve: listening on URL …`).
pub fn announced_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout piped"))
        .read_line(&mut line)
        .unwrap();
    line.split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in `{line}`"))
        .to_owned()
}

/// Waits until `port` accepts connections.
pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "port {port} never opened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts pypiserver on loopback serving `packages`; returns it and its simple-API URL.
pub fn pypiserver(venv: &Path, packages: &Path) -> (Server, String) {
    let port = free_port();
    let child = Command::new(venv.join("bin/pypi-server"))
        .args([
            "run",
            "--disable-fallback",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-a",
            ".",
            "-P",
            ".",
        ])
        .arg(packages)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pypiserver");
    let server = Server(child);
    wait_for_port(port);
    (server, format!("http://127.0.0.1:{port}/simple/"))
}

/// One canned HTTP answer.
#[derive(Clone)]
pub struct Canned {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: Vec<u8>,
}

/// What a canned server answered: `(path, status)` in order.
pub type Served = std::sync::Arc<std::sync::Mutex<Vec<(String, u16)>>>;

/// A loopback HTTP server answering each path from `routes` (404 otherwise), for indexes that
/// misbehave in ways a real server won't on request. Runs until the test process ends.
pub fn canned_server(routes: Vec<(String, Canned)>) -> String {
    canned_server_logged(routes).0
}

/// Like [`canned_server`], and every answer carries an `ETag` (a hash of the body); a request whose
/// `If-None-Match` matches gets `304`. Returns the log of what was served.
pub fn canned_server_logged(routes: Vec<(String, Canned)>) -> (String, Served) {
    let served: Served = Served::default();
    let log = served.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let routes = routes.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                let mut if_none_match = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("if-none-match")
                    {
                        if_none_match = Some(value.trim().to_owned());
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let answer = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, c)| c.clone());
                let answer = answer.unwrap_or(Canned {
                    status: 404,
                    content_type: "text/plain",
                    body: b"not found".to_vec(),
                });
                let etag = format!(
                    "\"{:x}-{}\"",
                    answer.body.iter().map(|&b| u64::from(b)).sum::<u64>(),
                    answer.body.len()
                );
                let not_modified =
                    answer.status == 200 && if_none_match.as_deref() == Some(etag.as_str());
                let (status, body): (u16, &[u8]) = if not_modified {
                    (304, b"")
                } else {
                    (answer.status, &answer.body)
                };
                log.lock().unwrap().push((path.clone(), status));
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
                    answer.content_type,
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(body);
                let _ = stream.flush();
                let _ = reader.read(&mut [0u8; 1]);
            });
        }
    });
    (format!("http://127.0.0.1:{port}/simple/"), served)
}
/// One request a [`recording_server`] received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

/// A loopback HTTP server that answers every request 200 and keeps it whole (path, headers,
/// body), for webhooks. Returns its base URL (`http://127.0.0.1:PORT`) and the requests.
pub fn recording_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length.min(1 << 20)];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_owned();
            log.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (format!("http://127.0.0.1:{port}"), received)
}

pub mod registry;

/// `(name, version, {id and aliases})` of every advisory in a list of packages, whose name and
/// advisory list are under `name_key` and `list_key` (pip-audit's and picket's JSON differ there).
pub fn advisory_sets(
    packages: &serde_json::Value,
    name_key: &str,
    list_key: &str,
) -> std::collections::BTreeSet<(String, String, std::collections::BTreeSet<String>)> {
    let mut out = std::collections::BTreeSet::new();
    for p in packages.as_array().unwrap() {
        for v in p[list_key].as_array().unwrap() {
            let mut ids: std::collections::BTreeSet<String> = v["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            ids.insert(v["id"].as_str().unwrap().to_owned());
            out.insert((
                p[name_key].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                ids,
            ));
        }
    }
    out
}
