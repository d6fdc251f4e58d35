//! Registry defenses, through the real server: the e-mail domain policy.

mod common;

use common::registry::{Registry, both, fresh_venv, pip_install, totp_now};
use common::{picket_with_stdin, text};
use serde_json::{Value, json};

fn admin(tmp: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin", "--data-dir", data.to_str().unwrap()];
    all.extend_from_slice(args);
    picket_with_stdin(tmp, &all, "")
}

fn register(registry: &Registry, user: &str, email: &str) -> (u16, Value) {
    registry.post_json(
        "/api/v1/register",
        None,
        &json!({"username": user, "email": email, "password": "correct horse battery"}),
    )
}

#[test]
fn a_prohibited_domain_cannot_register_until_allowed_again() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let registry = Registry::start(&data, &[]);

    // A dry run changes nothing.
    let out = admin(
        tmp.path(),
        &data,
        &[
            "prohibit-domain",
            "inbox.example",
            "--reason",
            "campaign",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("would have prohibited inbox.example"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(register(&registry, "first", "first@inbox.example").0, 201);

    // The registrable domain is what counts: a subdomain given or used is caught.
    let out = admin(
        tmp.path(),
        &data,
        &[
            "prohibit-domain",
            "mx.inbox.example",
            "--reason",
            "fake-account campaign",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("using the registrable domain inbox.example"));
    for (user, email) in [
        ("second", "second@inbox.example"),
        ("third", "third@mail.INBOX.example"),
    ] {
        let (status, body) = register(&registry, user, email);
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error"],
            "You can't use an email address from this domain."
        );
    }
    // Other domains are unaffected.
    assert_eq!(register(&registry, "fourth", "fourth@example.org").0, 201);

    // The web form gives the same refusal (the legacy form address only redirects to it now).
    let page = Registry::agent()
        .get(&format!("{}/account/register/", registry.base))
        .call()
        .unwrap();
    let csrf = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let value = csrf.split_once('=').unwrap().1.to_owned();
    let mut resp = Registry::agent()
        .post(&format!("{}/account/register/", registry.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Cookie", &csrf)
        .send(
            format!(
                "csrf={value}&username=fifth&email=fifth%40inbox.example&password=correct+horse+battery"
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body = resp.body_mut().read_to_string().unwrap();
    // At the address field, escaped by the template engine.
    assert!(body.contains("id=\"email-error\""), "{body}");
    assert!(
        body.contains("You can&#39;t use an email address from this domain."),
        "{body}"
    );

    let out = admin(tmp.path(), &data, &["--format", "json", "list-domains"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["domain"], "inbox.example");
    assert_eq!(list[0]["reason"], "fake-account campaign");
    assert!(list[0]["actor"].as_str().unwrap().starts_with("cli:"));

    let out = admin(tmp.path(), &data, &["allow-domain", "inbox.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(register(&registry, "second", "second@inbox.example").0, 201);
    let out = admin(tmp.path(), &data, &["allow-domain", "inbox.example"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("inbox.example is not prohibited"),
        "{}",
        text(&out.stderr)
    );

    // Every refusal and admin action is in the journal.
    let out = admin(tmp.path(), &data, &["export-events"]);
    let events: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds = |k: &str| events.iter().filter(|e| e["kind"] == k).count();
    assert_eq!(kinds("account.refused"), 3);
    assert_eq!(kinds("domain.prohibit"), 1, "the dry run journaled nothing");
    assert_eq!(kinds("domain.allow"), 1);
    let refused = events
        .iter()
        .find(|e| e["kind"] == "account.refused")
        .unwrap();
    assert_eq!(refused["domain"], "inbox.example");
    assert_eq!(refused["email"], "second@inbox.example");
}

#[test]
fn a_prohibition_with_an_expiry_lapses_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let registry = Registry::start(&data, &[]);
    let out = admin(
        tmp.path(),
        &data,
        &[
            "prohibit-domain",
            "brief.example",
            "--reason",
            "burst",
            "--expires",
            "2s",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(register(&registry, "early", "early@brief.example").0, 400);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    assert_eq!(register(&registry, "later", "later@brief.example").0, 201);
    let out = admin(tmp.path(), &data, &["list-domains"]);
    assert!(
        text(&out.stdout).contains("(lapsed)"),
        "{}",
        text(&out.stdout)
    );
    // Bad arguments get precise errors.
    for (args, message) in [
        (
            vec![
                "prohibit-domain",
                "brief.example",
                "--reason",
                "x",
                "--expires",
                "soon",
            ],
            "is not a duration",
        ),
        (
            vec!["prohibit-domain", "not a domain", "--reason", "x"],
            "is not a domain name",
        ),
    ] {
        let out = admin(tmp.path(), &data, &args);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    }
}

fn data_dir(tmp: &std::path::Path) -> std::path::PathBuf {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    data
}

/// `POST` JSON and keep the answer's headers.
fn post_with_headers(
    registry: &Registry,
    path: &str,
    body: &Value,
) -> (u16, ureq::http::HeaderMap, String) {
    let mut resp = Registry::agent()
        .post(&format!("{}{path}", registry.base))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .unwrap();
    let headers = resp.headers().clone();
    (
        resp.status().as_u16(),
        headers,
        resp.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn header<'a>(headers: &'a ureq::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

fn events(tmp: &std::path::Path, data: &std::path::Path) -> Vec<Value> {
    let out = admin(tmp, data, &["export-events"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn registration_velocity_follows_each_domains_own_history() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    // A big provider's normal history: 60 sign-ups an hour for the last 28 days.
    let now = picket_server::now_ms();
    let mut log = String::new();
    for minute in 61..(28 * 24 * 60) {
        let time = picket_store::rfc3339(now - minute * 60_000);
        let line = json!({"time": time, "kind": "account.create", "user": format!("u{minute}"),
                          "email": format!("u{minute}@bigmail.example")});
        log.push_str(&line.to_string());
        log.push('\n');
    }
    log.push_str("not json\n{\"kind\":\"account.login\"}\n");
    let baseline = tmp.path().join("baseline.jsonl");
    std::fs::write(&baseline, log).unwrap();
    let out = admin(
        tmp.path(),
        &data,
        &["import-baseline", baseline.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("imported 40259 sign-ups from 1 domains (2 other lines skipped)"),
        "{}",
        text(&out.stdout)
    );
    // Per-address registration limits are not what this test is about.
    let registry = Registry::start(&data, &[("PICKET_SERVE_RATE_REGISTER_IP", "1000 per hour")]);

    // 60 accounts from a fresh domain within a minute: the floor (5 an hour) holds.
    let mut statuses = Vec::new();
    let mut refusal = None;
    for i in 0..60 {
        let (status, headers, body) = post_with_headers(
            &registry,
            "/api/v1/register",
            &json!({"username": format!("fresh{i}"), "email": format!("fresh{i}@fresh.example"),
                    "password": "correct horse battery"}),
        );
        if status == 429 && refusal.is_none() {
            refusal = Some((headers, body));
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..5], &[201; 5]);
    assert!(statuses[5..].iter().all(|&s| s == 429), "{statuses:?}");
    let (headers, body) = refusal.unwrap();
    assert!(
        body.contains("Too many new accounts from fresh.example"),
        "{body}"
    );
    let retry: u64 = header(&headers, "retry-after").parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert_eq!(
        header(&headers, "ratelimit-policy"),
        "\"domain-velocity\";q=5;w=3600"
    );
    assert!(header(&headers, "ratelimit").starts_with("\"domain-velocity\";r=0;t="));

    // The same 60 from the big provider, whose history says that is normal: all accepted.
    for i in 0..60 {
        let (status, body) = register(
            &registry,
            &format!("big{i}"),
            &format!("big{i}@bigmail.example"),
        );
        assert_eq!(status, 201, "big{i}: {body}");
    }

    let log = events(tmp.path(), &data);
    let refused: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "account.refused" && e["reason"] == "domain velocity")
        .collect();
    assert_eq!(refused.len(), 55);
    assert_eq!(refused[0]["domain"], "fresh.example");
    assert_eq!(refused[0]["allowed_per_hour"], 5);

    // 24 sign-ups from another fresh domain at once, 8 in flight at a time: password hashing
    // between the check and the insert must not let more than the floor through.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= 24 {
                        break;
                    }
                    let (status, _) = register(
                        &registry,
                        &format!("rush{i}"),
                        &format!("rush{i}@rush.example"),
                    );
                    statuses.lock().unwrap().push(status);
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        19,
        "{statuses:?}"
    );
}

#[test]
fn rate_limits_answer_429_with_retry_after_and_survive_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let mut registry = Registry::start(&data, &[]);
    assert_eq!(register(&registry, "lena", "lena@example.org").0, 201);
    // PyPI's default: 10 logins per address per 5 minutes, good or bad.
    for i in 0..10 {
        let password = if i % 2 == 0 {
            "wrong password!"
        } else {
            "correct horse battery"
        };
        let (status, _, body) = post_with_headers(
            &registry,
            "/api/v1/login",
            &json!({"username": "lena", "password": password}),
        );
        assert!(status == 200 || status == 401, "{status} {body}");
    }
    let (status, headers, body) = post_with_headers(
        &registry,
        "/api/v1/login",
        &json!({"username": "lena", "password": "correct horse battery"}),
    );
    assert_eq!(status, 429, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("at most 10 per 5 minutes"),
        "{body}"
    );
    let retry: u64 = header(&headers, "retry-after").parse().unwrap();
    assert!(
        (1..=30).contains(&retry),
        "one slot frees after 30 s: {retry}"
    );
    assert_eq!(
        header(&headers, "ratelimit-policy"),
        "\"login-ip\";q=10;w=300"
    );

    // The limit is kept in the database: a restart does not reset it.
    drop(registry);
    registry = Registry::start(&data, &[]);
    let (status, _, _) = post_with_headers(
        &registry,
        "/api/v1/login",
        &json!({"username": "lena", "password": "correct horse battery"}),
    );
    assert_eq!(status, 429);
    let (_, _, metrics) = registry.get("/metrics", &[]);
    // Counted by the restarted process.
    assert!(
        text(&metrics).contains("picket_rate_limited_total{policy=\"login-ip\"} 1"),
        "{}",
        text(&metrics)
    );
}

/// A dnsmasq answering MX queries on a free loopback port; killed on drop.
struct Dns(std::process::Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq(port: u16, mx: &[(&str, &str)]) -> Option<Dns> {
    let binary = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var_os("CI").is_none(),
            "dnsmasq is missing; .ci/run installs dnsmasq-base"
        );
        eprintln!("skipping the MX part: dnsmasq is not installed (apt-get install dnsmasq-base)");
        return None;
    };
    let mut cmd = std::process::Command::new(binary);
    cmd.args([
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        "--listen-address=127.0.0.1",
        "--user=root",
    ])
    .arg(format!("--port={port}"));
    for (domain, host) in mx {
        cmd.arg(format!("--mx-host={domain},{host},10"));
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start dnsmasq");
    std::thread::sleep(std::time::Duration::from_millis(300));
    Some(Dns(child))
}

#[test]
fn prohibited_domains_are_matched_by_mail_server_and_on_added_addresses() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let port = common::free_port();
    let dns = dnsmasq(
        port,
        &[
            ("alias.example", "mx1.inbox.example"),
            ("own.example", "mail.own.example"),
        ],
    );
    let resolver = format!("127.0.0.1:{port}");
    let registry = Registry::start(&data, &[("PICKET_SERVE_DNS_RESOLVER", &resolver)]);
    assert_eq!(register(&registry, "olga", "olga@own.example").0, 201);
    let out = admin(
        tmp.path(),
        &data,
        &[
            "prohibit-domain",
            "inbox.example",
            "--mx",
            "--reason",
            "campaign",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The domain itself, and (through its mail servers) a domain it hosts.
    let (status, body) = register(&registry, "ines", "ines@inbox.example");
    assert_eq!(
        (status, body["error"].as_str()),
        (
            400,
            Some("You can't use an email address from this domain.")
        )
    );
    if dns.is_some() {
        let (status, body) = register(&registry, "alan", "alan@alias.example");
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["error"],
            "You can't use an email address from this domain."
        );
        let log = events(tmp.path(), &data);
        let by_mx = log
            .iter()
            .find(|e| e["kind"] == "account.refused" && e["email"] == "alan@alias.example")
            .expect("the MX refusal is journaled");
        assert_eq!(by_mx["prohibited_domain"], "inbox.example");
        assert_eq!(by_mx["mx"], json!(["inbox.example"]));
    }
    // A domain with its own mail servers is unaffected.
    assert_eq!(register(&registry, "omar", "omar@own.example").0, 201);
    // Disposable-mail domains from the shipped list are refused too.
    let (status, body) = register(&registry, "tom", "tom@mailinator.com");
    assert_eq!(status, 400, "{body}");

    // Adding an address goes through the same policy.
    let links = registry.mailed_links();
    let olga_link = links.iter().find(|l| l.contains("verify-email")).unwrap();
    assert_eq!(registry.verify(olga_link), 200);
    let session = registry.login("olga", None);
    let (status, body) = registry.post_json(
        "/api/v1/account/emails",
        Some(&session),
        &json!({"email": "olga@mail.inbox.example"}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "You can't use an email address from this domain."
    );
    let out = admin(tmp.path(), &data, &["allow-domain", "inbox.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = registry.post_json(
        "/api/v1/account/emails",
        Some(&session),
        &json!({"email": "olga@mail.inbox.example"}),
    );
    assert_eq!(status, 201, "{body}");
    // PyPI's limit: 2 addresses added a day per account, attempts counted (the refused one too).
    let (status, body) = registry.post_json(
        "/api/v1/account/emails",
        Some(&session),
        &json!({"email": "olga2@own.example"}),
    );
    assert_eq!(status, 429, "{body}");
    assert_eq!(register(&registry, "ines", "ines@inbox.example").0, 201);
    let log = events(tmp.path(), &data);
    assert_eq!(
        log.iter()
            .filter(|e| e["kind"] == "account.email.add")
            .count(),
        1
    );
    assert!(
        log.iter()
            .any(|e| e["kind"] == "account.refused" && e["attempt"] == "account.email.add")
    );
}

/// Writes a wheel built in memory to `dir` and returns its path.
fn wheel_file(dir: &std::path::Path, name: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
    let escaped = picket_formats::normalize(name).replace('-', "_");
    let path = dir.join(format!("{escaped}-1.0-py3-none-any.whl"));
    // pip insists on a RECORD; it may be empty.
    let record = format!("{escaped}-1.0.dist-info/RECORD");
    let mut all = files.to_vec();
    all.push((&record, b""));
    std::fs::write(&path, picket_testkit::wheel(name, "1.0", &all)).unwrap();
    path
}

/// Output with runs of whitespace made one space (twine wraps long messages).
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

const CODE: &[u8] = b"def main():\n    return 'real work'\n";

#[test]
fn the_upload_gate_holds_bait_and_lets_real_packages_through() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    // An upstream snapshot of popular names, imported like an operator would.
    let snapshot = tmp.path().join("snapshot.tsv");
    std::fs::write(
        &snapshot,
        "name\tlatest_release_month\tdownload_rank\nrequests\t2026-10\t4\nawscli\t2026-11\t9\n",
    )
    .unwrap();
    let out = common::picket(
        tmp.path(),
        &[
            "names",
            "import",
            snapshot.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let registry = Registry::start(&data, &[]);
    let (token, secret) = registry.onboard("alice");
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let upload = |name: &str, files: &[(&str, &[u8])]| {
        let path = wheel_file(&wheels, name, files);
        common::registry::twine(&venv, &registry, &token, &[&path])
    };

    // A normal package goes through.
    let out = upload("normal-pkg", &[("normal_pkg/__init__.py", CODE)]);
    assert!(out.status.success(), "{}", both(&out));
    // Bait is stored but held: twine succeeds, installers see nothing.
    for (name, files) in [
        ("hollow-pkg", vec![("hollow_pkg/__init__.py", &b""[..])]),
        (
            "cloud-helper",
            vec![
                ("cloud_helper/__init__.py", CODE),
                (
                    "cloud_helper-1.0.dist-info/entry_points.txt",
                    &b"[console_scripts]\naws = cloud_helper:main\n"[..],
                ),
            ],
        ),
        ("reqeusts", vec![("reqeusts/__init__.py", CODE)]),
    ] {
        let out = upload(name, &files);
        assert!(out.status.success(), "{name}: {}", both(&out));
    }
    // Refused outright: a look-alike of a local project, a standard-library name.
    let out = upload("norma1pkg", &[("norma1pkg/__init__.py", CODE)]);
    assert!(!out.status.success());
    assert!(
        squash(&both(&out)).contains("400 Bad Request")
            && squash(&both(&out)).contains("too similar to an existing project ('normal-pkg')"),
        "{}",
        both(&out)
    );
    let out = upload("asyncio", &[("asyncio/__init__.py", CODE)]);
    assert!(
        squash(&both(&out)).contains("conflict with Python Standard Library module name"),
        "{}",
        both(&out)
    );

    let (_, _, root) = registry.get("/simple/", &[]);
    let root = text(&root);
    assert!(root.contains("normal-pkg"), "{root}");
    for held in [
        "hollow-pkg",
        "cloud-helper",
        "reqeusts",
        "norma1pkg",
        "asyncio",
    ] {
        assert!(
            !root.contains(&format!(">{held}<")),
            "{held} listed: {root}"
        );
    }
    let target = tmp.path().join("target-env");
    fresh_venv(&venv, &target);
    let out = pip_install(&target, &registry, &["normal-pkg"]);
    assert!(out.status.success(), "{}", both(&out));
    let out = pip_install(&target, &registry, &["hollow-pkg"]);
    assert!(!out.status.success());
    assert!(
        both(&out).contains("No matching distribution"),
        "{}",
        both(&out)
    );
    // PEP 792: the page says so, with no files; the JSON API and the files are gone.
    let (status, _, page) = registry.get(
        "/simple/hollow-pkg/",
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&page).unwrap();
    assert_eq!(page["project-status"]["status"], "quarantined");
    assert_eq!(page["files"], json!([]));
    assert_eq!(registry.get("/pypi/hollow-pkg/json", &[]).0, 404);
    assert_eq!(
        registry
            .get("/files/0/hollow_pkg-1.0-py3-none-any.whl", &[])
            .0,
        404
    );

    // The owner is told why: the status API and a mail.
    let session = registry.login("alice", Some(&totp_now(&secret)));
    for (project, why) in [
        ("hollow-pkg", "contains no code"),
        ("cloud-helper", "'aws'"),
        ("reqeusts", "typosquat of the popular project 'requests'"),
    ] {
        let (status, _, body) = get_json(
            &registry,
            &format!("/api/v1/projects/{project}/status"),
            &session,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "quarantined", "{body}");
        let reason = body["quarantine"]["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{project}: {reason}");
    }
    let (_, _, body) = get_json(&registry, "/api/v1/projects/reqeusts/status", &session);
    let evidence = &body["quarantine"]["evidence"]["decisions"][0]["evidence"];
    assert!(
        evidence["popular_names"]
            .as_str()
            .unwrap()
            .ends_with("names.fst"),
        "judged against the imported snapshot: {evidence}"
    );
    let outbox: Vec<String> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(
        outbox
            .iter()
            .filter(|m| m.contains("your upload is held for review"))
            .count(),
        3
    );

    // Every decision is journaled with its evidence.
    let log = events(tmp.path(), &data);
    let decisions: Vec<(&str, &str)> = log
        .iter()
        .filter(|e| e["kind"] == "gate.decision")
        .map(|e| (e["rule"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    for expected in [
        ("empty", "quarantine"),
        ("entry-point", "quarantine"),
        ("typosquat", "quarantine"),
        ("similar-name", "reject"),
        ("stdlib", "reject"),
    ] {
        assert!(
            decisions.contains(&expected),
            "{expected:?} in {decisions:?}"
        );
    }

    // An admin releases one; pip installs it.
    let out = admin(
        tmp.path(),
        &data,
        &[
            "release",
            "hollow-pkg",
            "--reason",
            "reviewed: a placeholder we own",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = pip_install(&target, &registry, &["hollow-pkg"]);
        if out.status.success() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{}", both(&out));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn get_json(registry: &Registry, path: &str, session: &str) -> (u16, ureq::http::HeaderMap, Value) {
    let (status, headers, body) =
        registry.get(path, &[("Authorization", &format!("Bearer {session}"))]);
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[test]
fn nuke_user_hides_twenty_projects_and_stops_tokens_with_an_exact_dry_run() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let registry = Registry::start(&data, &[]);
    let (token, secret) = registry.onboard("mallory");
    let projects: Vec<String> = (0..20).map(|i| format!("helpful-tool-{i}")).collect();
    for p in &projects {
        let module = format!("{}/__init__.py", p.replace('-', "_"));
        let (status, body) = registry.upload_wheel(&token, p, "1.0", &[(&module, CODE)]);
        assert_eq!(status, 200, "{p}: {body}");
    }
    // PyPI's default of 20 new projects an hour per account: the 21st waits.
    let (status, body) =
        registry.upload_wheel(&token, "one-more-tool", "1.0", &[("m/__init__.py", CODE)]);
    assert_eq!(status, 429, "{body}");

    let run = |dry: bool| {
        let mut args = vec![
            "--format",
            "json",
            "nuke-user",
            "mallory",
            "--reason",
            "fake-project campaign",
        ];
        if dry {
            args.push("--dry-run");
        }
        let out = admin(tmp.path(), &data, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let changes: Vec<(String, String)> = v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let subject = c["user"].as_str().or(c["project"].as_str()).unwrap();
                (c["kind"].as_str().unwrap().to_owned(), subject.to_owned())
            })
            .collect();
        changes
    };
    let dry = run(true);
    assert_eq!(dry.len(), 21);
    assert_eq!(dry[0], ("account.disable".to_owned(), "mallory".to_owned()));
    // Nothing changed: still listed, token still works.
    let (_, _, root) = registry.get("/simple/", &[]);
    assert_eq!(text(&root).matches(">helpful-tool-").count(), 20);
    let out = admin(tmp.path(), &data, &["audit"]);
    assert!(
        text(&out.stdout).contains("no admin actions"),
        "{}",
        text(&out.stdout)
    );

    let done = run(false);
    assert_eq!(done, dry, "the dry run listed exactly what was done");
    // Tokens stop at once; the projects vanish for installers within the journal tick.
    let (status, _) =
        registry.upload_wheel(&token, "helpful-tool-0", "1.1", &[("m/__init__.py", CODE)]);
    assert_eq!(status, 403);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, _, root) = registry.get("/simple/", &[]);
        if !text(&root).contains("helpful-tool-") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still listed: {}",
            text(&root)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let target = tmp.path().join("target-env");
    fresh_venv(&venv, &target);
    let out = pip_install(&target, &registry, &["helpful-tool-7"]);
    assert!(!out.status.success());
    assert!(
        both(&out).contains("No matching distribution"),
        "{}",
        both(&out)
    );

    // The audit journal shows it all, with actor and reason.
    let out = admin(
        tmp.path(),
        &data,
        &["--format", "json", "audit", "--since", "1h"],
    );
    let audit: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(audit.len(), 21);
    assert!(audit.iter().all(|e| e["reason"] == "fake-project campaign"
        && e["actor"].as_str().unwrap().starts_with("cli:")));
    let out = admin(tmp.path(), &data, &["audit"]);
    assert!(
        text(&out.stdout).contains("project.quarantine"),
        "{}",
        text(&out.stdout)
    );

    // Reversible: enable and release put the account and the projects back; the tokens stay
    // revoked (issue 18, item 9), so the owner logs in and makes a new one.
    let out = admin(
        tmp.path(),
        &data,
        &["enable-user", "mallory", "--reason", "appeal upheld"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut args = vec!["release", "--reason", "appeal upheld"];
    args.extend(projects.iter().map(String::as_str));
    let out = admin(tmp.path(), &data, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("project.release").count(), 20);
    let (status, body) = registry.upload_wheel(
        &token,
        "helpful-tool-0",
        "1.1",
        &[("helpful_tool_0/__init__.py", CODE)],
    );
    assert_eq!(status, 403, "a nuked account's token came back: {body}");
    let session = registry.login("mallory", Some(&common::registry::totp_now(&secret)));
    let (status, body) = registry.post_json(
        "/api/v1/tokens",
        Some(&session),
        &json!({"name": "after appeal"}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = registry.upload_wheel(
        body["token"].as_str().unwrap(),
        "helpful-tool-0",
        "1.1",
        &[("helpful_tool_0/__init__.py", CODE)],
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn bad_admin_input_gets_precise_errors_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let registry = Registry::start(&data, &[]);
    let (token, secret) = registry.onboard("owner");
    let (status, body) =
        registry.upload_wheel(&token, "kept-pkg", "1.0", &[("kept_pkg/__init__.py", CODE)]);
    assert_eq!(status, 200, "{body}");

    // CLI: unknown names fail the whole action, with a hint.
    let out = admin(
        tmp.path(),
        &data,
        &["quarantine", "kept-pkg", "no-such-pkg", "--reason", "x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no project named `no-such-pkg`"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("hint:"), "{}", text(&out.stderr));
    let out = admin(tmp.path(), &data, &["nuke-user", "nobody", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no user named `nobody`"),
        "{}",
        text(&out.stderr)
    );
    let out = admin(tmp.path(), &data, &["disable-user", "owner"]);
    assert_eq!(out.status.code(), Some(2), "--reason is required");
    let (_, _, root) = registry.get("/simple/", &[]);
    assert!(text(&root).contains("kept-pkg"), "nothing half-applied");

    // The admin API: credentials, then shape, then names.
    let action = json!({"action": "quarantine", "projects": ["kept-pkg"], "reason": "x"});
    assert_eq!(
        registry.post_json("/api/v1/admin/actions", None, &action).0,
        401
    );
    let session = registry.login("owner", Some(&totp_now(&secret)));
    let (status, body) = registry.post_json("/api/v1/admin/actions", Some(&session), &action);
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not an administrator")
    );

    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            "root",
            "--email",
            "root@example.org",
            "--admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Admin actions take a session opened with TOTP (issue 18, item 1).
    let root_secret = registry.enrol_totp(&registry.login("root", None));
    let root = registry.login("root", Some(&totp_now(&root_secret)));
    for (request, status, message) in [
        (
            json!({"action": "quarantine", "projects": ["kept-pkg"]}),
            400,
            "missing field `reason`",
        ),
        (
            json!({"action": "quarantine", "projects": [], "reason": "x"}),
            400,
            "non-empty list",
        ),
        (
            json!({"action": "launch", "reason": "x"}),
            400,
            "Unknown action `launch`",
        ),
        (
            json!({"action": "nuke-user", "reason": " "}),
            400,
            "needs a \"reason\"",
        ),
        (
            json!({"action": "nuke-user", "reason": "x"}),
            400,
            "needs \"user\"",
        ),
        (
            json!({"action": "quarantine", "projects": ["kept-pkg"], "reason": "x", "extra": 1}),
            400,
            "unknown field `extra`",
        ),
        (
            json!({"action": "quarantine", "projects": ["kept-pkg", "no-such"], "reason": "x"}),
            404,
            "no project named `no-such`",
        ),
        (
            json!({"action": "disable-user", "user": "ghost", "reason": "x"}),
            404,
            "no user named `ghost`",
        ),
        (
            json!({"action": "allow-domain", "domain": "never.example", "reason": "x"}),
            404,
            "is not prohibited",
        ),
        (
            json!({"action": "prohibit-domain", "domain": "not a domain", "reason": "x"}),
            400,
            "needs \"domain\"",
        ),
    ] {
        let (got, body) = registry.post_json("/api/v1/admin/actions", Some(&root), &request);
        assert_eq!(got, status, "{request}: {body}");
        assert!(
            body["error"].as_str().unwrap_or("").contains(message),
            "{request}: {body}"
        );
    }
    let mut resp = Registry::agent()
        .post(&format!("{}/api/v1/admin/actions", registry.base))
        .header("Authorization", &format!("Bearer {root}"))
        .header("Content-Type", "application/json")
        .send(&b"{\"action\": "[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.body_mut()
            .read_to_string()
            .unwrap()
            .contains("Invalid admin request")
    );
    let (_, _, root_page) = registry.get("/simple/", &[]);
    assert!(
        text(&root_page).contains("kept-pkg"),
        "nothing half-applied"
    );

    // A valid dry run, then the real thing, then the audit.
    let (status, dry) = registry.post_json(
        "/api/v1/admin/actions",
        Some(&root),
        &json!({"action": "quarantine", "projects": ["kept-pkg"], "reason": "review", "dry_run": true}),
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["changes"][0]["kind"], "project.quarantine");
    let (_, _, root_page) = registry.get("/simple/", &[]);
    assert!(text(&root_page).contains("kept-pkg"));
    let (status, done) = registry.post_json(
        "/api/v1/admin/actions",
        Some(&root),
        &json!({"action": "quarantine", "projects": ["kept-pkg"], "reason": "review"}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["changes"][0]["actor"], "api:root");
    let (_, _, root_page) = registry.get("/simple/", &[]);
    assert!(!text(&root_page).contains("kept-pkg"));
    let (status, _, audit) = get_json(&registry, "/api/v1/admin/audit?since=0", &root);
    assert_eq!(status, 200);
    // The admin's own creation by `picket admin create-user` is an admin action too.
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "account.create",
            "account.email.verify",
            "project.quarantine"
        ],
        "{audit}"
    );
    let (status, _, body) = get_json(&registry, "/api/v1/admin/audit?since=yesterday", &root);
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = get_json(&registry, "/api/v1/admin/audit", &session);
    assert_eq!(status, 403);

    // Removed for good: the name can't be taken again, by anyone.
    let out = admin(
        tmp.path(),
        &data,
        &[
            "remove-project",
            "kept-pkg",
            "--prohibit-name",
            "--reason",
            "bait name",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("name.prohibit"),
        "{}",
        text(&out.stdout)
    );
    let (status, body) =
        registry.upload_wheel(&token, "Kept_Pkg", "2.0", &[("kept_pkg/__init__.py", CODE)]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("The name 'Kept_Pkg' isn't allowed"), "{body}");
}

#[test]
fn a_young_account_taking_a_name_models_invent_is_held_for_review() {
    let tmp = tempfile::tempdir().unwrap();
    let data = data_dir(tmp.path());
    let registry = Registry::start(&data, &[]);
    let (token, _) = registry.onboard("sam");
    let (status, body) = registry.upload_wheel(
        &token,
        "aetherplot",
        "0.0.1",
        &[("aetherplot/__init__.py", CODE)],
    );
    assert_eq!(status, 200, "{body}");
    let (_, _, root) = registry.get("/simple/", &[]);
    assert!(!text(&root).contains("aetherplot"), "{}", text(&root));
    let (status, _, body) = registry.get(
        "/api/v1/projects/aetherplot/status",
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(status, 200);
    let status: Value = serde_json::from_slice(&body).unwrap();
    let decisions = &status["quarantine"]["evidence"]["decisions"];
    assert_eq!(decisions[0]["rule"], "known-hallucination", "{status}");
    assert_eq!(
        decisions[0]["action"], "quarantine",
        "flag raised for a new account"
    );
    assert!(
        status["quarantine"]["reason"]
            .as_str()
            .unwrap()
            .contains("AI assistants are known to invent"),
        "{status}"
    );
}
