//! Registry defenses, through the real server: the e-mail domain policy.

mod common;

use common::registry::Registry;
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

    // The HTML form gives the same refusal.
    let mut resp = Registry::agent()
        .post(&format!("{}/account/register", registry.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(&b"username=fifth&email=fifth%40inbox.example&password=correct+horse+battery"[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(
        resp.body_mut()
            .read_to_string()
            .unwrap()
            .contains("You can&#x27;t use an email address from this domain.")
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
        log.push_str(&format!(
            "{{\"time\":\"{time}\",\"kind\":\"account.create\",\"user\":\"u{minute}\",\"email\":\"u{minute}@bigmail.example\"}}\n"
        ));
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
    registry.get(olga_link.trim_start_matches(&registry.base), &[]);
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
