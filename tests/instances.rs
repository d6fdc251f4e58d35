//! Several `picket serve` instances on one PostgreSQL database and one S3-compatible bucket
//! (moto), behind nginx (Debian's) as the load balancer: what one instance changes the other
//! serves within a second, real clients publish and install through nginx, the once-per-registry
//! jobs run in one leader that another instance replaces when it is killed, and clients see no
//! error while an instance is stopped and started again.
//!
//! These tests need PostgreSQL whatever the run's backend (`scripts/test` starts a cluster and
//! sets `PICKET_TEST_DATABASE_URL`) and nginx; without them they skip with a reason, except under
//! CI, where a missing one fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::registry::{Registry, both, fresh_venv, pip_install, twine};
use common::{Server, text};
use serde_json::Value;

/// Debian's nginx, or `None` (with the reason printed) outside CI.
fn nginx() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "nginx is missing under CI (.ci/run installs nginx-light)"
        );
        eprintln!("skipped: no nginx (apt-get install nginx-light)");
    }
    found
}

/// Two instances, one database, one bucket, one nginx in front.
struct Cluster {
    tmp: PathBuf,
    env: Vec<(String, String)>,
    ports: [u16; 2],
    instances: [Option<Server>; 2],
    /// nginx as a [`Registry`]: its base URL is the load balancer's.
    front: Registry,
    _s3: Server,
}

impl Cluster {
    /// Starts everything; `None` when PostgreSQL or nginx is missing (outside CI).
    fn start(tmp: &Path, venv: &Path, extra: &[(&str, &str)]) -> Option<Self> {
        picket_testkit::database::cluster()?;
        let nginx = nginx()?;
        let database = picket_testkit::database::create_blocking()?;
        let (s3, endpoint) = common::registry::s3_bucket(venv, "dists", &[]);
        let front_port = common::free_port();
        let ports = [common::free_port(), common::free_port()];
        let public = format!("http://127.0.0.1:{front_port}");
        let mut env: Vec<(String, String)> = [
            ("PICKET_DATABASE_URL", database.as_str()),
            ("PICKET_SERVE_STORAGE_URL", "s3://dists/picket"),
            ("AWS_ENDPOINT", endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("PICKET_SERVE_PUBLIC_URL", public.as_str()),
            ("PICKET_SERVE_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ("PICKET_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );

        let conf = tmp.join("nginx");
        std::fs::create_dir_all(&conf).unwrap();
        let c = conf.display();
        // No keep-alive to the upstreams, so a stopping instance has no idle connection nginx
        // could reuse as it closes. Reads are retried on the other instance when one fails.
        // Uploads too (`non_idempotent`): re-sending the same file is answered like PyPI does,
        // as the same upload, so a retry after an instance went away can't store it twice.
        std::fs::write(
            conf.join("nginx.conf"),
            format!(
                "daemon off;\nmaster_process off;\nworker_processes 1;\npid {c}/nginx.pid;\n\
                 error_log {c}/error.log warn;\nevents {{ worker_connections 1024; }}\n\
                 http {{\n  access_log {c}/access.log;\n  client_body_temp_path {c}/body;\n\
                 proxy_temp_path {c}/proxy;\n  fastcgi_temp_path {c}/fastcgi;\n\
                 uwsgi_temp_path {c}/uwsgi;\n  scgi_temp_path {c}/scgi;\n\
                 client_max_body_size 50m;\n\
                 log_format up '$status $upstream_addr $request';\n\
                 upstream picket {{\n    server 127.0.0.1:{} max_fails=1 fail_timeout=1s;\n\
                 server 127.0.0.1:{} max_fails=1 fail_timeout=1s;\n  }}\n\
                 server {{\n    listen 127.0.0.1:{front_port};\n\
                 access_log {c}/upstreams.log up;\n\
                 proxy_set_header Host $http_host;\n\
                 proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                 proxy_next_upstream error timeout http_502 http_503;\n\
                 location / {{ proxy_pass http://picket; }}\n\
                 location /legacy/ {{ proxy_pass http://picket;\n\
                 proxy_next_upstream error timeout http_502 http_503 non_idempotent; }}\n  }}\n}}\n",
                ports[0], ports[1]
            ),
        )
        .unwrap();
        let front = Server(
            Command::new(nginx)
                .arg("-p")
                .arg(&conf)
                .arg("-c")
                .arg(conf.join("nginx.conf"))
                .arg("-e")
                .arg(conf.join("error.log"))
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start nginx"),
        );
        common::wait_for_port(front_port);
        let mut cluster = Self {
            tmp: tmp.to_owned(),
            env,
            ports,
            instances: [None, None],
            front: Registry {
                server: front,
                base: public,
                data: tmp.join("instance-0"),
            },
            _s3: s3,
        };
        cluster.start_instance(0);
        cluster.start_instance(1);
        Some(cluster)
    }

    /// Starts instance `i` (again) on its port, with a data directory of its own.
    fn start_instance(&mut self, i: usize) {
        let data = self.tmp.join(format!("instance-{i}"));
        std::fs::create_dir_all(&data).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.ports[i])])
            .arg("--data-dir")
            .arg(&data)
            .current_dir(&self.tmp)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start picket serve");
        common::announced_url(&mut child);
        common::wait_for_port(self.ports[i]);
        self.instances[i] = Some(Server(child));
    }

    /// `picket admin` on the shared database.
    fn admin(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let dir = self.tmp.join("admin");
        std::fs::create_dir_all(&dir).unwrap();
        let mut all = vec!["admin", "--data-dir", dir.to_str().unwrap()];
        all.extend_from_slice(args);
        common::picket_with_env(&self.tmp, &all, stdin, &self.env)
    }

    /// Instance `i` directly, bypassing nginx.
    fn direct(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    /// Sends `signal` to instance `i` and waits for it to exit.
    fn signal(&mut self, i: usize, signal: &str) {
        let mut server = self.instances[i].take().expect("running");
        let status = Command::new("kill")
            .args([signal, &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        server.0.wait().unwrap();
    }

    /// Which instance says it leads (`picket_leader 1` in its metrics); waits up to 15 s for
    /// exactly one to.
    fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let leading: Vec<usize> = (0..2)
                .filter(|&i| self.instances[i].is_some())
                .filter(|&i| {
                    get(&format!("{}/metrics", self.direct(i)))
                        .1
                        .lines()
                        .any(|l| l == "picket_leader 1")
                })
                .collect();
            if let [one] = leading[..] {
                return one;
            }
            assert!(
                Instant::now() < deadline,
                "no single leader: {leading:?} lead"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Registers `user` through nginx and follows the verification link, which is in the outbox
    /// of whichever instance answered. `false` when the registration was refused because the
    /// live detector throttled the address's domain (its answer to a campaign).
    fn register_verified(&self, user: &str, email: &str) -> bool {
        let (status, body) = self.front.post_json(
            "/api/v1/register",
            None,
            &serde_json::json!({"username": user, "email": email, "password": "correct horse battery"}),
        );
        if status == 429 && body.to_string().contains("Too many new accounts from") {
            return false;
        }
        assert_eq!(status, 201, "{body}");
        let link = (0..2)
            .flat_map(|i| {
                std::fs::read_dir(self.tmp.join(format!("instance-{i}/outbox")))
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            })
            .filter(|mail| mail.contains(&format!("To: {email}\r\n")))
            .find_map(|mail| {
                mail.lines()
                    .find(|l| l.contains("/account/verify-email?token="))
                    .map(|l| l.trim().to_owned())
            })
            .expect("a verification mail in one instance's outbox");
        assert_eq!(self.front.verify(&link), 200, "verify {link}");
        true
    }
}

/// `GET url`: status and body.
fn get(url: &str) -> (u16, String) {
    match Registry::agent().get(url).call() {
        Ok(mut resp) => (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

/// The status nginx logged for each request, and which instance answered.
fn upstream_log(cluster: &Cluster) -> Vec<(u16, String)> {
    std::fs::read_to_string(cluster.tmp.join("nginx/upstreams.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let status = parts.next()?.parse().ok()?;
            Some((status, parts.next()?.to_owned()))
        })
        .collect()
}

const CODE: &[u8] = b"def main():\n    return 42\n";

#[test]
fn two_instances_behind_nginx_share_one_registry_and_the_detector_survives_its_leader() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let detector_toml = tmp.path().join("detector.toml");
    std::fs::write(&detector_toml, "free-mail-domains = [\"inbox.example\"]\n").unwrap();
    let Some(mut cluster) = Cluster::start(
        tmp.path(),
        &venv,
        &[
            ("PICKET_SERVE_VELOCITY_FLOOR", "0"),
            ("PICKET_SERVE_RATE_REGISTER_IP", "off"),
            ("PICKET_SERVE_RATE_LOGIN_IP", "off"),
            ("PICKET_SERVE_CAMPAIGN_WARMUP_HOURS", "0"),
            (
                "PICKET_SERVE_CAMPAIGN_CONFIG",
                detector_toml.to_str().unwrap(),
            ),
        ],
    ) else {
        return;
    };

    // Publishing through nginx with twine, installing through it with pip and uv.
    let out = cluster.admin(
        &[
            "create-user",
            "lena",
            "--email",
            "lena@own.example",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cluster.admin(&["create-token", "lena"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let mut files = Vec::new();
    for version in ["1.0", "1.1"] {
        let path = wheels.join(format!("shared_tool-{version}-py3-none-any.whl"));
        std::fs::write(
            &path,
            picket_testkit::wheel(
                "shared-tool",
                version,
                &[
                    ("shared_tool/__init__.py", CODE),
                    (&format!("shared_tool-{version}.dist-info/RECORD"), b""),
                ],
            ),
        )
        .unwrap();
        files.push(path);
    }
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = twine(&venv, &cluster.front, &token, &paths);
    assert!(out.status.success(), "{}", both(&out));
    let target = tmp.path().join("env");
    fresh_venv(&venv, &target);
    let out = pip_install(&target, &cluster.front, &["shared-tool==1.0"]);
    assert!(out.status.success(), "{}", both(&out));
    let out = Command::new(venv.join("bin/uv"))
        .args(["pip", "install", "--no-cache", "--python"])
        .arg(target.join("bin/python"))
        .args(["--index-url", &cluster.front.simple(), "shared-tool==1.1"])
        .env("UV_NO_CONFIG", "1")
        .env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let served_by: std::collections::BTreeSet<String> = upstream_log(&cluster)
        .into_iter()
        .map(|(_, upstream)| upstream)
        .collect();
    assert!(
        cluster
            .ports
            .iter()
            .all(|p| served_by.iter().any(|u| u.ends_with(&format!(":{p}")))),
        "nginx sent requests to both instances: {served_by:?}"
    );

    // A change through one instance shows on the other within a second, though the other had
    // the page cached: each instance reads the journal four times a second.
    let page = |i: usize| get(&format!("{}/simple/shared-tool/", cluster.direct(i)));
    assert!(!page(1).1.contains("1.2"));
    assert!(!page(1).1.contains("1.2"), "cached now");
    let changed = Registry {
        server: Server(Command::new("true").spawn().unwrap()),
        base: cluster.direct(0),
        data: tmp.path().join("instance-0"),
    };
    let (status, body) = changed.upload_wheel(
        &token,
        "shared-tool",
        "1.2",
        &[("shared_tool/__init__.py", CODE)],
    );
    assert_eq!(status, 200, "{body}");
    let uploaded = Instant::now();
    while !page(1).1.contains("shared_tool-1.2-py3-none-any.whl") {
        assert!(
            uploaded.elapsed() < Duration::from_secs(5),
            "instance 1 never served the upload made through instance 0"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen_after = uploaded.elapsed();
    eprintln!("the other instance served the change after {seen_after:?}");
    assert!(
        seen_after < Duration::from_secs(1),
        "the other instance took {seen_after:?}"
    );
    // The leader runs the detector; kill it in the middle of a campaign, and the other instance
    // takes over, replays the journal and alerts on the campaign as it goes on.
    let first = cluster.leader();
    for i in 0..4 {
        assert!(cluster.register_verified(&format!("bot{i}"), &format!("bot{i}@inbox.example")));
        cluster.front.set_up_publishing(&format!("bot{i}"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let out = cluster.admin(&["--format", "json", "campaigns"], "");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list,
        serde_json::json!([]),
        "4 accounts are no campaign yet"
    );
    cluster.signal(first, "-KILL");
    let killed_at = Instant::now();
    let second = cluster.leader();
    assert_ne!(second, first);
    eprintln!(
        "instance {second} took the leadership {:?} after instance {first} was killed",
        killed_at.elapsed()
    );
    // The campaign goes on until the new leader's answer (the domain throttled) stops it.
    let mut bots = 4;
    while bots < 12
        && cluster.register_verified(&format!("bot{bots}"), &format!("bot{bots}@inbox.example"))
    {
        cluster.front.set_up_publishing(&format!("bot{bots}"));
        bots += 1;
    }
    assert!(bots >= 8, "only {bots} accounts registered");
    let deadline = Instant::now() + Duration::from_secs(20);
    let campaign = loop {
        let out = cluster.admin(&["--format", "json", "campaigns"], "");
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(c) = list.as_array().and_then(|l| l.first()) {
            break c.clone();
        }
        assert!(Instant::now() < deadline, "the new leader never alerted");
        std::thread::sleep(Duration::from_millis(250));
    };
    let id = campaign["id"].as_str().unwrap().to_owned();
    let show = |cluster: &Cluster| -> Value {
        let out = cluster.admin(&["--format", "json", "campaign", "show", &id], "");
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while show(&cluster)["restricted"].as_array().map_or(0, Vec::len) < bots {
        assert!(
            Instant::now() < deadline,
            "members not all restricted: {}",
            show(&cluster)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let accounts = show(&cluster)["report"]["accounts"].clone();
    assert!(
        (0..bots).all(|i| accounts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &format!("bot{i}"))),
        "accounts from before and after the kill: {accounts}"
    );

    // The killed instance comes back as a follower; nothing is answered twice.
    cluster.start_instance(first);
    assert_eq!(cluster.leader(), second);
    std::thread::sleep(Duration::from_millis(1500));
    let journal = tmp.path().join("journal.jsonl");
    let out = cluster.admin(&["export-events", "--out", journal.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let detections = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"campaign.detect\""))
        .count();
    assert_eq!(detections, 1, "one campaign, detected once");
}

/// A number from the environment (the benchmark runs this test bigger), or `default`.
fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn clients_through_nginx_see_no_error_while_instances_restart() {
    // `bash benches/instances.sh` runs this with 200 clients for 60 s.
    let clients = knob("PICKET_LOAD_CLIENTS", 16);
    let seconds = knob("PICKET_LOAD_SECONDS", 12);
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // One account creates a project per uploading client: the per-account and per-address
    // project limits (20 and 40 an hour) would measure the limiter, not the instances.
    let Some(mut cluster) = Cluster::start(
        tmp.path(),
        &venv,
        &[
            ("PICKET_SERVE_RATE_PROJECT_CREATE_USER", "off"),
            ("PICKET_SERVE_RATE_PROJECT_CREATE_IP", "off"),
        ],
    ) else {
        return;
    };
    let out = cluster.admin(
        &[
            "create-user",
            "loader",
            "--email",
            "loader@own.example",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cluster.admin(&["create-token", "loader"], "");
    let token = text(&out.stdout).trim().to_owned();
    for i in 0..10 {
        let (status, body) = cluster.front.upload_wheel(
            &token,
            &format!("steady-{i}"),
            "1.0",
            &[
                ("steady/__init__.py", format!("N = {i}\n").as_bytes()),
                (&format!("steady_{i}-1.0.dist-info/RECORD"), b""),
            ],
        );
        assert_eq!(status, 200, "{body}");
    }

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let base = cluster.front.base.clone();
    // Readers do what pip does: the project page (PEP 691 JSON), then a file, whose hash must
    // match the page's. One client in eight runs pip itself, one in eight uploads new releases.
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, base, token) = (stop.clone(), base.clone(), token.clone());
            let (pip, downloads) = (venv.join("bin/pip"), tmp.path().join(format!("pip-{c}")));
            std::thread::spawn(move || {
                let registry = Registry {
                    server: Server(Command::new("true").spawn().unwrap()),
                    base,
                    data: PathBuf::new(),
                };
                let (mut done, mut failures, mut uploaded) = (0u64, Vec::new(), Vec::new());
                let mut installs = 0u64;
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    if c % 8 == 3 {
                        // A real installer: pip resolves, downloads and checks the hash.
                        let project = format!("steady-{}", (c + n) % 10);
                        let out = Command::new(&pip)
                            .args(["download", "--no-deps", "--no-cache-dir"])
                            .args(["--disable-pip-version-check", "--index-url"])
                            .arg(format!("{}/simple/", registry.base))
                            .arg("-d")
                            .arg(&downloads)
                            .arg(&project)
                            .env("PIP_CONFIG_FILE", "/dev/null")
                            .output()
                            .unwrap();
                        if out.status.success() {
                            installs += 1;
                        } else {
                            failures.push(format!("pip download {project}: {}", both(&out)));
                        }
                    } else if c % 8 == 7 {
                        // New releases of one project each (new projects have an hourly limit).
                        let (name, version) = (format!("fresh-{c}"), format!("1.{n}"));
                        let (status, body) = registry.upload_wheel(
                            &token,
                            &name,
                            &version,
                            &[
                                ("fresh/__init__.py", format!("N = {n}\n").as_bytes()),
                                (&format!("fresh_{c}-{version}.dist-info/RECORD"), b""),
                            ],
                        );
                        if status == 200 {
                            uploaded.push((name, version));
                        } else {
                            failures.push(format!("upload {name} {version}: {status} {body}"));
                        }
                    } else {
                        let project = format!("steady-{}", (c + n) % 10);
                        match fetch_verified(&registry, &project, None) {
                            Ok(()) => {}
                            Err(e) => failures.push(e),
                        }
                    }
                    done += 1;
                }
                (done, failures, uploaded, installs)
            })
        })
        .collect();

    // Each instance in turn is stopped (SIGTERM: it finishes what it has in flight) and started
    // again while the clients go on.
    let phase = Duration::from_secs(seconds) / 5;
    std::thread::sleep(phase);
    for i in [1, 0] {
        cluster.signal(i, "-TERM");
        std::thread::sleep(phase);
        cluster.start_instance(i);
        std::thread::sleep(phase);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut requests, mut failures, mut uploaded, mut installs) = (0, Vec::new(), Vec::new(), 0);
    for w in workers {
        let (done, f, u, i) = w.join().unwrap();
        requests += done;
        installs += i;
        failures.extend(f);
        uploaded.extend(u);
    }
    let log = upstream_log(&cluster);
    let errors: Vec<_> = log.iter().filter(|(status, _)| *status >= 500).collect();
    eprintln!(
        "{clients} clients, {seconds} s: {requests} operations ({} uploads, {installs} pip downloads), {} failed, {} 5xx of {} requests nginx logged",
        uploaded.len(),
        failures.len(),
        errors.len(),
        log.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(errors.is_empty(), "5xx through nginx: {errors:?}");
    assert!(!uploaded.is_empty() && installs > 0);
    // Nothing lost: every accepted upload is served, with its hash, by each instance.
    for i in 0..2 {
        let direct = Registry {
            server: Server(Command::new("true").spawn().unwrap()),
            base: cluster.direct(i),
            data: PathBuf::new(),
        };
        for (name, version) in &uploaded {
            fetch_verified(&direct, name, Some(version))
                .unwrap_or_else(|e| panic!("instance {i}: {e}"));
        }
    }
    // And a real installer through nginx after all that.
    let target = tmp.path().join("env");
    fresh_venv(&venv, &target);
    let newest = format!("{}=={}", uploaded[0].0, uploaded[0].1);
    let out = pip_install(&target, &cluster.front, &[&newest, "steady-3"]);
    assert!(out.status.success(), "{}", both(&out));
}

/// Reads `project`'s PEP 691 page and a file of it (of `version`, or the first) through
/// `registry`, checking the file's SHA-256 against the page.
fn fetch_verified(registry: &Registry, project: &str, version: Option<&str>) -> Result<(), String> {
    let (status, _, page) = registry.get(
        &format!("/simple/{project}/"),
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    if status != 200 {
        return Err(format!("{project} page: {status} {}", text(&page)));
    }
    let page: Value = serde_json::from_slice(&page).map_err(|e| format!("{project}: {e}"))?;
    let wanted = version.map(|v| format!("{}-{v}-", project.replace('-', "_")));
    let file = page["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| {
            wanted
                .as_ref()
                .is_none_or(|w| f["filename"].as_str().is_some_and(|n| n.starts_with(w)))
        })
        .ok_or_else(|| format!("{project} {version:?}: not on its page"))?;
    let (url, sha) = (
        file["url"].as_str().unwrap_or_default(),
        file["hashes"]["sha256"].as_str().unwrap_or_default(),
    );
    let path = url.strip_prefix(&registry.base).unwrap_or(url);
    let (status, _, bytes) = registry.get(path, &[]);
    if status != 200 {
        return Err(format!("{project} file {url}: {status}"));
    }
    if picket_formats::hashes::sha256_hex(&bytes) != sha {
        return Err(format!("{project} file {url}: hash mismatch"));
    }
    Ok(())
}
