//! Regression tests for issue 18: the flaws a review found in `picket serve`, each driven through
//! the real server as the attacker drove it. Test names carry the issue's item numbers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::registry::{Registry, totp_at, totp_now};
use common::{picket_with_stdin, text};
use serde_json::{Value, json};

const CODE: &[u8] = b"def main():\n    return 1\n";

fn start(tmp: &std::path::Path, env: &[(&str, &str)]) -> Registry {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    Registry::start(&data, env)
}

fn admin_cli(registry: &Registry, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin", "--data-dir", registry.data.to_str().unwrap()];
    all.extend_from_slice(args);
    picket_with_stdin(registry.data.parent().unwrap(), &all, "")
}

/// An administrator made by `picket admin create-user --admin`, without 2FA.
fn create_admin(registry: &Registry, name: &str) {
    let out = picket_with_stdin(
        registry.data.parent().unwrap(),
        &[
            "admin",
            "--data-dir",
            registry.data.to_str().unwrap(),
            "create-user",
            name,
            "--email",
            &format!("{name}@example.org"),
            "--admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// [`create_admin`], then TOTP enrolled over the API; returns the TOTP secret.
fn make_admin(registry: &Registry, name: &str) -> String {
    create_admin(registry, name);
    registry.enrol_totp(&registry.login(name, None))
}

fn get_json(registry: &Registry, path: &str, bearer: &str) -> (u16, Value) {
    let (status, _, body) = registry.get(path, &[("Authorization", &format!("Bearer {bearer}"))]);
    (
        status,
        serde_json::from_slice(&body).unwrap_or(Value::String(text(&body))),
    )
}

fn listed(registry: &Registry, project: &str) -> bool {
    let (_, _, root) = registry.get("/simple/", &[]);
    text(&root).contains(&format!(">{project}<"))
}

fn quarantine(project: &str) -> Value {
    json!({"action": "quarantine", "projects": [project], "reason": "test"})
}

#[test]
fn issue_18_1_admin_routes_take_only_an_admins_session_opened_with_2fa() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let secret = make_admin(&registry, "root");
    let (bob, _) = registry.onboard("bob");
    assert_eq!(
        registry
            .upload_wheel(&bob, "bobproj", "1.0", &[("bobproj/__init__.py", CODE)])
            .0,
        200
    );
    // The admin's own project, for a project-scoped token.
    let root_all = text(&admin_cli(&registry, &["create-token", "root"]).stdout)
        .trim()
        .to_owned();
    assert_eq!(
        registry
            .upload_wheel(
                &root_all,
                "rootproj",
                "1.0",
                &[("rootproj/__init__.py", CODE)]
            )
            .0,
        200
    );
    let root_scoped = text(
        &admin_cli(
            &registry,
            &["create-token", "root", "--project", "rootproj"],
        )
        .stdout,
    )
    .trim()
    .to_owned();
    assert!(root_scoped.starts_with("pkt-"), "{root_scoped}");

    // Tokens, scoped or not, are not admin credentials: the review's exact request was 200.
    for token in [&root_scoped, &root_all] {
        let (status, body) =
            registry.post_json("/api/v1/admin/actions", Some(token), &quarantine("bobproj"));
        assert_eq!(status, 403, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("not an API token"),
            "{body}"
        );
        assert_eq!(get_json(&registry, "/api/v1/admin/audit", token).0, 403);
        // Nor do they lend the admin's reach over other people's projects.
        assert_eq!(
            get_json(&registry, "/api/v1/projects/bobproj/status", token).0,
            403
        );
    }
    assert!(listed(&registry, "bobproj"), "nothing was quarantined");

    // A session without the second factor is refused too.
    // (A session opened before TOTP was enrolled, or by an admin without TOTP.)
    create_admin(&registry, "root2");
    let plain = registry.login("root2", None);
    let (status, body) = registry.post_json(
        "/api/v1/admin/actions",
        Some(&plain),
        &quarantine("bobproj"),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("two-factor authentication"),
        "{body}"
    );
    assert!(listed(&registry, "bobproj"));

    // The admin's session opened with TOTP works.
    let session = registry.login("root", Some(&totp_now(&secret)));
    let (status, body) = registry.post_json(
        "/api/v1/admin/actions",
        Some(&session),
        &quarantine("bobproj"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(!listed(&registry, "bobproj"));
    let (status, audit) = get_json(&registry, "/api/v1/admin/audit", &session);
    assert_eq!(status, 200, "{audit}");
    let (status, body) = get_json(&registry, "/api/v1/projects/bobproj/status", &session);
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("quarantined"))
    );
}

#[test]
fn issue_18_2_a_login_session_cannot_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    // Registered and verified, no TOTP: no token can be made, and the session can't stand in.
    let (status, body) = registry.post_json(
        "/api/v1/register",
        None,
        &json!({"username": "mallory", "email": "mallory@example.org", "password": "correct horse battery"}),
    );
    assert_eq!(status, 201, "{body}");
    let link = registry.mailed_links().pop().unwrap();
    assert_eq!(registry.verify(&link), 200);
    let session = registry.login("mallory", None);
    let (status, _) = registry.post_json("/api/v1/tokens", Some(&session), &json!({"name": "ci"}));
    assert_eq!(status, 403);
    let wheel = picket_testkit::wheel("sneaky-pkg", "1.0", &[("sneaky_pkg/__init__.py", CODE)]);
    let (content_type, body) = common::registry::multipart(
        &[
            (":action", "file_upload"),
            ("name", "sneaky-pkg"),
            ("version", "1.0"),
            ("filetype", "bdist_wheel"),
        ],
        Some(("sneaky_pkg-1.0-py3-none-any.whl", &wheel)),
    );
    let mut resp = Registry::agent()
        .post(&registry.legacy())
        .header("Content-Type", &content_type)
        .header("Authorization", &format!("Bearer {session}"))
        .send(&body[..])
        .unwrap();
    let status = resp.status().as_u16();
    let message = resp.body_mut().read_to_string().unwrap_or_default();
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("Uploads take an API token"), "{message}");
    assert!(!listed(&registry, "sneaky-pkg"));
    assert_eq!(
        registry.get("/simple/sneaky-pkg/", &[]).0,
        404,
        "no project was made"
    );
}

#[test]
fn issue_18_3_popular_names_are_held_and_owning_one_licenses_no_look_alikes() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let secret = make_admin(&registry, "root");
    let (eve, _) = registry.onboard("eve");
    let (frank, _) = registry.onboard("frank");
    let pytest_script: &[(&str, &[u8])] = &[
        ("fakepytest/__init__.py", CODE),
        (
            "fakepytest-1.0.dist-info/entry_points.txt",
            b"[console_scripts]\npytest = fakepytest:main\n",
        ),
    ];

    // Claiming `pytest` is stored but held for review.
    let (status, body) =
        registry.upload_wheel(&eve, "pytest", "1.0", &[("pytest/__init__.py", CODE)]);
    assert_eq!(status, 200, "{body}");
    assert!(
        !listed(&registry, "pytest"),
        "a claimed popular name is public"
    );
    // Owning it does not license a package whose command is `pytest`: the same as anyone else's.
    for token in [&eve, &frank] {
        let name = if token == &eve {
            "fakepytest"
        } else {
            "otherpytest"
        };
        let files: Vec<(String, &[u8])> = pytest_script
            .iter()
            .map(|(p, b)| (p.replace("fakepytest", name), *b))
            .collect();
        let files: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let (status, body) = registry.upload_wheel(token, name, "1.0", &files);
        assert_eq!(status, 200, "{body}");
        assert!(
            !listed(&registry, name),
            "{name} with command `pytest` is public"
        );
    }
    // `requests`, then `reqests` by the same owner: both held.
    let (status, _) =
        registry.upload_wheel(&eve, "requests", "1.0", &[("requests/__init__.py", CODE)]);
    assert_eq!(status, 200);
    let (status, _) =
        registry.upload_wheel(&eve, "reqests", "1.0", &[("reqests/__init__.py", CODE)]);
    assert_eq!(status, 200);
    assert!(!listed(&registry, "requests"));
    assert!(!listed(&registry, "reqests"));

    // The evidence says why, for the owner and for admins.
    let admin = registry.login("root", Some(&totp_now(&secret)));
    let (_, status) = get_json(&registry, "/api/v1/projects/requests/status", &admin);
    let rules: Vec<&str> = status["quarantine"]["evidence"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["popular-name"], "{status}");
    let (_, status) = get_json(&registry, "/api/v1/projects/reqests/status", &admin);
    assert!(
        status.to_string().contains("typosquat"),
        "owning an unreviewed `requests` exempted `reqests`: {status}"
    );

    // Once an admin has reviewed and released the claim, the owner's own names are its own.
    let (status, body) = registry.post_json(
        "/api/v1/admin/actions",
        Some(&admin),
        &json!({"action": "release", "projects": ["requests"], "reason": "our fork, checked"}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(listed(&registry, "requests"));
    let (status, _) =
        registry.upload_wheel(&eve, "requestz", "1.0", &[("requestz/__init__.py", CODE)]);
    assert_eq!(status, 200);
    assert!(
        listed(&registry, "requestz"),
        "the reviewed owner's look-alike is held"
    );
    let (status, _) = registry.upload_wheel(
        &frank,
        "reqquests",
        "1.0",
        &[("reqquests/__init__.py", CODE)],
    );
    assert_eq!(status, 200);
    assert!(
        !listed(&registry, "reqquests"),
        "someone else's look-alike is public"
    );
}

#[test]
fn issue_18_4_a_project_scoped_token_reads_only_its_projects_status() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let (alice, _) = registry.onboard("alice");
    for project in ["alice-lib", "alice-other"] {
        let module = format!("{}/__init__.py", project.replace('-', "_"));
        assert_eq!(
            registry
                .upload_wheel(&alice, project, "1.0", &[(&module, CODE)])
                .0,
            200
        );
    }
    let scoped = text(
        &admin_cli(
            &registry,
            &["create-token", "alice", "--project", "alice-lib"],
        )
        .stdout,
    )
    .trim()
    .to_owned();
    let (status, body) = get_json(&registry, "/api/v1/projects/alice-lib/status", &scoped);
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("active")),
        "{body}"
    );
    let (status, body) = get_json(&registry, "/api/v1/projects/alice-other/status", &scoped);
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not valid for project"),
        "{body}"
    );
    // The owners route answered 403 already; it still does.
    assert_eq!(
        get_json(&registry, "/api/v1/projects/alice-other/owners", &scoped).0,
        403
    );
    // Design choice (SECURITY.md): a project-scoped token can't change owners, even of its own
    // project; an account-wide token can.
    registry.onboard("carl");
    let (status, body) = registry.post_json(
        "/api/v1/projects/alice-lib/owners",
        Some(&scoped),
        &json!({"username": "carl"}),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("owners"), "{body}");
    let (status, body) = registry.post_json(
        "/api/v1/projects/alice-lib/owners",
        Some(&alice),
        &json!({"username": "carl"}),
    );
    assert_eq!(
        (status, body["owners"].clone()),
        (200, json!(["alice", "carl"]))
    );
}

#[test]
fn issue_18_6_look_alikes_uploaded_at_once_do_not_both_become_public() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let (one, _) = registry.onboard("one");
    let (two, _) = registry.onboard("two");
    for round in 0..3 {
        let names = [format!("racetwin{round}x"), format!("racetw1n{round}x")];
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<(u16, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .zip([&one, &two])
                .map(|(name, token)| {
                    let (registry, barrier) = (&registry, &barrier);
                    scope.spawn(move || {
                        let module = format!("{name}/__init__.py");
                        let bytes = picket_testkit::wheel(name, "1.0", &[(&module, CODE)]);
                        barrier.wait();
                        registry.upload_raw(
                            Some(token),
                            &[
                                (":action", "file_upload"),
                                ("name", name),
                                ("version", "1.0"),
                                ("filetype", "bdist_wheel"),
                            ],
                            Some((&format!("{name}-1.0-py3-none-any.whl"), &bytes)),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let public: Vec<&String> = names.iter().filter(|n| listed(&registry, n)).collect();
        assert_eq!(
            public.len(),
            1,
            "round {round}: {public:?} public; {results:?}"
        );
        let refused: Vec<&(u16, String)> = results.iter().filter(|(s, _)| *s != 200).collect();
        assert_eq!(refused.len(), 1, "round {round}: {results:?}");
        assert!(
            refused[0].1.contains("too similar"),
            "round {round}: {results:?}"
        );
    }
}

/// Reads until the server closes the connection; the time it took, or `None` if it was still
/// open after `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn issue_18_7_slow_or_silent_connections_are_closed() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[("PICKET_SERVE_READ_TIMEOUT_SECS", "2")]);
    let addr = registry.base.trim_start_matches("http://").to_owned();
    let limit = Duration::from_secs(10);

    // A partial header, never finished (the review's slowloris).
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial
        .write_all(b"GET /simple/ HTTP/1.1\r\nHost: picket\r\nX-Slow: ")
        .unwrap();
    // A header trickled a byte a second keeps no connection alive either.
    let mut trickle = TcpStream::connect(&addr).unwrap();
    trickle.write_all(b"GET /simple/ HTTP/1.1\r\n").unwrap();
    // A keep-alive connection that goes quiet after one answer.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: picket\r\n\r\n")
        .unwrap();
    // A body that stops half-way.
    let mut body = TcpStream::connect(&addr).unwrap();
    body.write_all(
        b"POST /api/v1/login HTTP/1.1\r\nHost: picket\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\": ",
    )
    .unwrap();

    let trickler = std::thread::spawn(move || {
        let start = Instant::now();
        for _ in 0..10 {
            std::thread::sleep(Duration::from_secs(1));
            if trickle.write_all(b"X").is_err() {
                break;
            }
        }
        closed_within(&mut trickle, Duration::from_secs(2)).map(|_| start.elapsed())
    });
    for (what, stream) in [
        ("partial header", &mut partial),
        ("idle keep-alive", &mut idle),
        ("stalled body", &mut body),
    ] {
        let took = closed_within(stream, limit);
        assert!(
            took.is_some_and(|t| t < Duration::from_secs(8)),
            "{what}: still open after {limit:?}"
        );
    }
    let took = trickler.join().unwrap();
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(8)),
        "trickled header: {took:?}"
    );
    // The server still answers.
    assert_eq!(registry.get("/healthz", &[]).0, 200);
}

#[test]
fn issue_18_8_unicode_spellings_of_a_domain_are_that_domain() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(
        tmp.path(),
        &[
            ("PICKET_SERVE_VELOCITY_FLOOR", "2"),
            ("PICKET_SERVE_RATE_REGISTER_IP", "1000 per hour"),
        ],
    );
    let register = |user: &str, email: &str| {
        registry.post_json(
            "/api/v1/register",
            None,
            &json!({"username": user, "email": email, "password": "correct horse battery"}),
        )
    };
    // The review's case: full-width ｍ registered while the ASCII address was refused.
    let (ascii, ascii_body) = register("x1", "x@mailinator.com");
    let (wide, wide_body) = register("x2", "x@\u{ff4d}ailinator.com");
    assert_eq!(ascii, 400, "{ascii_body}");
    assert_eq!((wide, &wide_body), (ascii, &ascii_body));
    // One velocity count per domain, however it is spelled.
    assert_eq!(register("c1", "c1@camp.example").0, 201);
    assert_eq!(register("c2", "c2@CAMP.example").0, 201);
    let (status, body) = register("c3", "c3@\u{ff43}amp.example");
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("camp.example"),
        "{body}"
    );
    // An internationalised domain is stored as the one ASCII name every rule sees.
    let (status, body) = register("u1", "u1@b\u{fc}cher.example");
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], "u1@xn--bcher-kva.example");
    let (status, body) = register("u2", "u2@exa mple.org");
    assert_eq!(status, 400, "{body}");
}

#[test]
fn issue_18_9_enabling_an_account_again_brings_back_no_session_or_token() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let (token, secret) = registry.onboard("dave");
    let session = registry.login("dave", Some(&totp_now(&secret)));
    let tokens = |credential: &str| get_json(&registry, "/api/v1/tokens", credential).0;
    assert_eq!(tokens(&session), 200);
    for args in [
        ["disable-user", "dave", "--reason", "stolen laptop"],
        ["enable-user", "dave", "--reason", "laptop found"],
    ] {
        let out = admin_cli(&registry, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(tokens(&session), 403, "the old session is back");
    let (status, body) = registry.upload_wheel(
        &token,
        "daves-pkg",
        "1.0",
        &[("daves_pkg/__init__.py", CODE)],
    );
    assert_eq!(status, 403, "the old token is back: {body}");
    // The owner logs in again and sees the token listed as revoked.
    let fresh = registry.login("dave", Some(&totp_at(&secret, 30)));
    let (status, list) = get_json(&registry, "/api/v1/tokens", &fresh);
    assert_eq!(status, 200);
    assert!(
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| !t["revoked_at"].is_null()),
        "{list}"
    );

    // Restricting ends sessions too; tokens keep working, their uploads held for review.
    let (status, body) =
        registry.post_json("/api/v1/tokens", Some(&fresh), &json!({"name": "ci2"}));
    assert_eq!(status, 201, "{body}");
    let token2 = body["token"].as_str().unwrap().to_owned();
    let out = admin_cli(&registry, &["restrict-user", "dave", "--reason", "review"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(tokens(&fresh), 403);
    let (status, body) = registry.upload_wheel(
        &token2,
        "daves-pkg",
        "1.0",
        &[("daves_pkg/__init__.py", CODE)],
    );
    assert_eq!(status, 200, "{body}");
    assert!(!listed(&registry, "daves-pkg"));
    // The journal says what ended.
    let out = admin_cli(&registry, &["export-events"]);
    let journal = text(&out.stdout);
    let disable = journal
        .lines()
        .find(|l| l.contains("\"account.disable\""))
        .unwrap();
    assert!(
        disable.contains("\"sessions_ended\":2") && disable.contains("\"tokens_revoked\":1"),
        "{disable}"
    );
}

#[test]
fn behind_a_trusted_proxy_limits_count_each_forwarded_client() {
    let tmp = tempfile::tempdir().unwrap();
    let register = |registry: &Registry, user: &str, forwarded: &str| {
        let mut resp = Registry::agent()
            .post(&format!("{}/api/v1/register", registry.base))
            .header("Content-Type", "application/json")
            .header("X-Forwarded-For", forwarded)
            .send(
                json!({"username": user, "email": format!("{user}@example.org"),
                       "password": "correct horse battery"})
                .to_string()
                .as_bytes(),
            )
            .unwrap();
        let _ = resp.body_mut().read_to_string();
        resp.status().as_u16()
    };
    // Not configured: the header is the client's to forge, so it is ignored.
    let data = tmp.path().join("plain");
    std::fs::create_dir_all(&data).unwrap();
    let plain = Registry::start(&data, &[("PICKET_SERVE_RATE_REGISTER_IP", "2 per hour")]);
    assert_eq!(register(&plain, "p1", "203.0.113.1"), 201);
    assert_eq!(register(&plain, "p2", "203.0.113.2"), 201);
    assert_eq!(
        register(&plain, "p3", "203.0.113.3"),
        429,
        "a forged header escaped the limit"
    );
    drop(plain);

    // Behind the proxy (loopback here): one count per forwarded client, not one for everyone.
    let data = tmp.path().join("proxied");
    std::fs::create_dir_all(&data).unwrap();
    let proxied = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_RATE_REGISTER_IP", "2 per hour"),
            ("PICKET_SERVE_TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
        ],
    );
    assert_eq!(register(&proxied, "a1", "203.0.113.1"), 201);
    assert_eq!(register(&proxied, "a2", "203.0.113.1"), 201);
    assert_eq!(register(&proxied, "a3", "203.0.113.1"), 429);
    assert_eq!(register(&proxied, "b1", "203.0.113.2"), 201);
    // What a client prepends is not believed: the proxy appends the real address last.
    assert_eq!(register(&proxied, "a4", "198.51.100.7, 203.0.113.1"), 429);
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "export-events",
        ],
        "",
    );
    assert!(
        text(&out.stdout).contains("\"ip\":\"203.0.113.2\""),
        "the journal records the forwarded client"
    );
    // A bad setting is refused at start.
    let data = tmp.path().join("bad");
    std::fs::create_dir_all(&data).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("PICKET_SERVE_TRUSTED_PROXIES", "[\"10.0.0.0/33\"]")
        .envs(common::database_for(&data).map(|u| ("PICKET_DATABASE_URL", u)))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("trusted-proxies: `10.0.0.0/33`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_flood_of_wrong_passwords_does_not_lock_out_the_owner_with_2fa() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(
        tmp.path(),
        &[
            ("PICKET_SERVE_RATE_LOGIN_USER", "3 per hour"),
            ("PICKET_SERVE_RATE_LOGIN_IP", "off"),
        ],
    );
    let (_, secret) = registry.onboard("gail");
    let login = |password: &str, totp: Option<String>| {
        registry.post_json(
            "/api/v1/login",
            None,
            &json!({"username": "gail", "password": password, "totp": totp}),
        )
    };
    // The onboarding login counted once; the attacker fills the rest and more.
    for _ in 0..5 {
        login("wrong guess", None);
    }
    // Over the limit, everything but the right password with a valid code is the same 429 ...
    for (password, totp) in [
        ("wrong guess", None),
        ("wrong guess", Some(totp_now(&secret))),
        ("correct horse battery", None),
        ("correct horse battery", Some("000000".to_owned())),
    ] {
        let (status, body) = login(password, totp.clone());
        assert_eq!(status, 429, "{password} {totp:?}: {body}");
    }
    // ... and the owner, with the password and the code, still gets in.
    let (status, body) = login("correct horse battery", Some(totp_at(&secret, 30)));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_huge_text_field_is_refused_before_the_rest_of_the_body_arrives() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(tmp.path(), &[]);
    let (token, _) = registry.onboard("hank");
    let addr = registry.base.trim_start_matches("http://").to_owned();
    let boundary = "XyZbOuNdArY";
    let credential = data_encoding::BASE64.encode(format!("__token__:{token}").as_bytes());
    let mut stream = TcpStream::connect(&addr).unwrap();
    // Announce a 60 MiB body; send a 9 MiB description (over the 8 MiB text allowance) and
    // then nothing more.
    write!(
        stream,
        "POST /legacy/ HTTP/1.1\r\nHost: picket\r\nAuthorization: Basic {credential}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n",
        60 << 20
    )
    .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..9 {
        stream.write_all(&chunk).unwrap();
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = [0u8; 512];
    let n = stream
        .read(&mut answer)
        .expect("an answer before the body is complete");
    let head = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(head.contains("bytes of text"), "{head}");
}

#[test]
fn metrics_can_require_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = start(
        tmp.path(),
        &[("PICKET_SERVE_METRICS_TOKEN", "scrape-secret")],
    );
    assert_eq!(registry.get("/metrics", &[]).0, 401);
    assert_eq!(
        registry
            .get("/metrics", &[("Authorization", "Bearer wrong")])
            .0,
        401
    );
    let (status, _, body) = registry.get("/metrics", &[("Authorization", "Bearer scrape-secret")]);
    assert_eq!(status, 200);
    assert!(text(&body).contains("picket_"), "{}", text(&body));
}
