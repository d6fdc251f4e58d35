//! `picket serve` at the HTTP level: the simple API's negotiation and caching, files, the JSON
//! API, account policy, configuration, hostile requests, and shutdown.

mod common;

use common::registry::{Registry, registry_with_user};
use common::{picket_with_stdin, text};
use serde_json::{Value, json};

const PIP_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

#[test]
fn the_simple_api_negotiates_caches_and_serves_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let (status, body) = registry.upload_wheel(
        &token,
        "Demo.Pkg",
        "1.0",
        &[("demo_pkg/__init__.py", b"def f():\n    return 1\n")],
    );
    assert_eq!(status, 200, "{body}");

    // PEP 691 JSON for pip's Accept header.
    let (status, headers, body) = registry.get("/simple/demo-pkg/", &[("Accept", PIP_ACCEPT)]);
    assert_eq!(status, 200);
    assert_eq!(
        headers["content-type"],
        "application/vnd.pypi.simple.v1+json"
    );
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["meta"]["api-version"], "1.4");
    assert_eq!(page["versions"], json!(["1.0"]));
    let file = &page["files"][0];
    assert_eq!(file["filename"], "demo_pkg-1.0-py3-none-any.whl");
    assert!(file["size"].as_u64().unwrap() > 0);
    assert!(file["upload-time"].as_str().unwrap().ends_with('Z'));
    let meta_sha = file["core-metadata"]["sha256"]
        .as_str()
        .expect("PEP 658 metadata")
        .to_owned();
    assert_eq!(
        file["dist-info-metadata"]["sha256"],
        meta_sha.as_str(),
        "PEP 714 compatibility key"
    );

    // HTML for browsers and old clients; the versioned HTML type when asked; 406 otherwise.
    let (status, headers, body) = registry.get("/simple/demo-pkg/", &[("Accept", "text/html")]);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(text(&body).contains(&format!("data-core-metadata=\"sha256={meta_sha}\"")));
    let (_, headers, _) = registry.get(
        "/simple/demo-pkg/",
        &[("Accept", "application/vnd.pypi.simple.latest+html")],
    );
    assert_eq!(
        headers["content-type"],
        "application/vnd.pypi.simple.v1+html"
    );
    let (status, _, _) = registry.get("/simple/demo-pkg/", &[("Accept", "application/xml")]);
    assert_eq!(status, 406);
    let (status, headers, _) = registry.get(
        "/simple/demo-pkg/?format=application/vnd.pypi.simple.v1%2Bjson",
        &[("Accept", "text/html")],
    );
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "application/vnd.pypi.simple.v1+json")
    );

    // Non-normalized names redirect; unknown projects 404.
    let (status, headers, _) = registry.get("/simple/Demo.Pkg/", &[]);
    assert_eq!(status, 308);
    assert_eq!(headers["location"], "/simple/demo-pkg/");
    assert_eq!(registry.get("/simple/demo-pkg", &[]).0, 308);
    assert_eq!(registry.get("/simple/no-such-thing/", &[]).0, 404);

    // ETag revalidation, compression.
    let (_, headers, _) = registry.get("/simple/demo-pkg/", &[("Accept", PIP_ACCEPT)]);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, body) = registry.get(
        "/simple/demo-pkg/",
        &[("Accept", PIP_ACCEPT), ("If-None-Match", &etag)],
    );
    assert_eq!((status, body.len()), (304, 0));
    let (status, headers, _) = registry.get(
        "/simple/demo-pkg/",
        &[("Accept", PIP_ACCEPT), ("Accept-Encoding", "zstd")],
    );
    assert_eq!(
        (status, headers["content-encoding"].to_str().unwrap()),
        (200, "zstd")
    );
    let head = common::registry::raw_head(
        &registry.base,
        "GET /simple/demo-pkg/ HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");

    // The file: immutable, hash-checked URL, Range; and its .metadata.
    let url = file["url"].as_str().unwrap();
    let (status, headers, wheel) = registry.get(url, &[]);
    assert_eq!(status, 200);
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        picket_formats::hashes::sha256_hex(&wheel),
        file["hashes"]["sha256"].as_str().unwrap()
    );
    let (status, headers, part) = registry.get(url, &[("Range", "bytes=0-3")]);
    assert_eq!((status, part.as_slice()), (206, &b"PK\x03\x04"[..]));
    assert!(
        headers["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-3/")
    );
    let (status, _, metadata) = registry.get(&format!("{url}.metadata"), &[]);
    assert_eq!(status, 200);
    assert_eq!(picket_formats::hashes::sha256_hex(&metadata), meta_sha);
    assert!(text(&metadata).contains("Name: Demo.Pkg"));
    let wrong = url.replace(&file["hashes"]["sha256"].as_str().unwrap()[..8], "00000000");
    assert_eq!(
        registry.get(&wrong, &[]).0,
        404,
        "the hash in the URL must match"
    );

    // PyPI's JSON API.
    let (status, _, body) = registry.get("/pypi/demo-pkg/json", &[]);
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["info"]["name"], "Demo.Pkg");
    assert_eq!(doc["info"]["version"], "1.0");
    assert_eq!(doc["info"]["summary"], "test package");
    let f = &doc["releases"]["1.0"][0];
    assert_eq!(f["digests"]["sha256"], file["hashes"]["sha256"]);
    assert_eq!(f["packagetype"], "bdist_wheel");
    assert_eq!(f["python_version"], "py3");
    assert_eq!(f["yanked"], false);
    assert!(f["upload_time_iso_8601"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["urls"].as_array().unwrap().len(), 1);
    let (status, _, _) = registry.get("/pypi/demo-pkg/1.0/json", &[]);
    assert_eq!(status, 200);
    assert_eq!(registry.get("/pypi/demo-pkg/9.9/json", &[]).0, 404);

    // Operations.
    let (status, _, body) = registry.get("/healthz", &[]);
    assert_eq!((status, text(&body).trim()), (200, "ok"));
    let (_, _, body) = registry.get("/metrics", &[]);
    let metrics = text(&body);
    assert!(metrics.contains("picket_uploads_total 1"), "{metrics}");
    assert!(metrics.contains("picket_http_requests_total{route=\"/simple/{project}/\",method=\"GET\",status=\"406\"} 1"), "{metrics}");
}

// (case, token, form fields, file, expected status, expected message)
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    Vec<(&'a str, &'a str)>,
    Option<(&'a str, &'a [u8])>,
    u16,
    &'a str,
);

#[test]
fn upload_rules_and_hostile_requests_get_precise_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) =
        registry_with_user(tmp.path(), &[("PICKET_SERVE_MAX_FILE_SIZE", "200000")]);
    let wheel = picket_testkit::wheel(
        "demo",
        "1.0",
        &[("demo/__init__.py", b"def f():\n    return 1\n")],
    );
    let fields = |name: &'static str, version: &'static str| {
        vec![
            (":action", "file_upload"),
            ("name", name),
            ("version", version),
            ("filetype", "bdist_wheel"),
        ]
    };
    let file = Some(("demo-1.0-py3-none-any.whl", &wheel[..]));

    let cases: Vec<Case> = vec![
        (
            "no credentials",
            None,
            fields("demo", "1.0"),
            file,
            401,
            "Authentication required",
        ),
        (
            "form name differs",
            Some(&token),
            fields("other", "1.0"),
            file,
            400,
            "Start filename for demo-1.0-py3-none-any.whl with the project name other",
        ),
        (
            "form version differs",
            Some(&token),
            fields("demo", "2.0"),
            file,
            400,
            "Version in filename should be '2.0' not '1.0'",
        ),
        (
            "bad digest",
            Some(&token),
            {
                let mut f = fields("demo", "1.0");
                f.push(("sha256_digest", "00"));
                f
            },
            file,
            400,
            "does not match a digest calculated",
        ),
        (
            "no file",
            Some(&token),
            fields("demo", "1.0"),
            None,
            400,
            "does not have a file",
        ),
        (
            "wrong action",
            Some(&token),
            vec![(":action", "doc_upload")],
            None,
            400,
            "Unsupported :action",
        ),
        (
            "bad extension",
            Some(&token),
            fields("demo", "1.0"),
            Some(("demo-1.0.exe", &wheel[..])),
            400,
            "Invalid file extension",
        ),
        (
            "invalid name",
            Some(&token),
            fields("-bad-", "1.0"),
            file,
            400,
            "is an invalid value for Name",
        ),
        (
            "not a zip",
            Some(&token),
            fields("demo", "1.0"),
            Some(("demo-1.0-py3-none-any.whl", &b"not a zip at all"[..])),
            400,
            "Invalid distribution file",
        ),
    ];
    for (case, tok, fields, file, status, message) in cases {
        let (got, body) = registry.upload_raw(tok, &fields, file);
        assert_eq!(got, status, "{case}: {body}");
        assert!(body.contains(message), "{case}: {body}");
    }

    // Over the configured size (PICKET_SERVE_MAX_FILE_SIZE).
    let big = picket_testkit::wheel(
        "demo",
        "1.0",
        &[("demo/blob.bin", &picket_testkit::noise(300_000, 1))],
    );
    let (status, body) = registry.upload_raw(
        Some(&token),
        &fields("demo", "1.0"),
        Some(("demo-1.0-py3-none-any.whl", &big)),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("File too large"), "{body}");
    // Metadata that disagrees with the form.
    // Same filename, but METADATA says another project.
    let liar = {
        picket_testkit::zip(&[
            (
                "demo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: other\nVersion: 1.0\n",
            ),
            ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
        ])
    };
    let (status, body) = registry.upload_raw(
        Some(&token),
        &fields("demo", "1.0"),
        Some(("demo-1.0-py3-none-any.whl", &liar)),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("does not match the form's name"), "{body}");
    // Garbage multipart.
    let mut resp = Registry::agent()
        .post(&registry.legacy())
        .header("Content-Type", "multipart/form-data; boundary=xyz")
        .header(
            "Authorization",
            &format!(
                "Basic {}",
                data_encoding::BASE64.encode(format!("__token__:{token}").as_bytes())
            ),
        )
        .send(&b"--xyz\r\nthis is not a part"[..])
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "{}",
        resp.body_mut().read_to_string().unwrap()
    );
    // Nothing of the above was stored.
    assert_eq!(registry.get("/simple/demo/", &[]).0, 404);
    let (status, body) = registry.upload_raw(Some(&token), &fields("demo", "1.0"), file);
    assert_eq!((status, body.trim()), (200, "OK"));

    let (_, _, metrics) = registry.get("/metrics", &[]);
    let metrics = text(&metrics);
    for reason in [
        "no-credentials",
        "metadata-mismatch",
        "digest-mismatch",
        "invalid-archive",
        "too-large",
        "invalid-request",
    ] {
        assert!(
            metrics.contains(&format!(
                "picket_upload_rejections_total{{reason=\"{reason}\"}}"
            )),
            "{reason} missing from {metrics}"
        );
    }

    // One sdist per release.
    let sdist = picket_testkit::sdist(
        "demo",
        "1.0",
        &[("demo-1.0/demo/__init__.py", b"def f():\n    return 1\n")],
    );
    let sfields = vec![
        (":action", "file_upload"),
        ("name", "demo"),
        ("version", "1.0"),
        ("filetype", "sdist"),
    ];
    assert_eq!(
        registry
            .upload_raw(Some(&token), &sfields, Some(("demo-1.0.tar.gz", &sdist)))
            .0,
        200
    );
    let zip_sdist = picket_testkit::zip(&[(
        "demo-1.0/PKG-INFO",
        b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    )]);
    let (status, body) =
        registry.upload_raw(Some(&token), &sfields, Some(("demo-1.0.zip", &zip_sdist)));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("already has an sdist"), "{body}");

    // Hostile JSON and oversized bodies on the account API.
    let (status, body) = registry.post_json("/api/v1/register", None, &json!({"username": "x"}));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("missing field `email`"),
        "{body}"
    );
    let declared_huge = "POST /api/v1/register HTTP/1.1
Host: x
Content-Type: application/json
Content-Length: 1048576

";
    assert_eq!(
        common::registry::raw_status(&registry.base, declared_huge),
        413
    );
    for (body, expect) in [
        (
            json!({"username": "-bad", "email": "a@example.org", "password": "long enough"}),
            "username is invalid",
        ),
        (
            json!({"username": "dave", "email": "not-an-address", "password": "long enough"}),
            "isn't valid",
        ),
        (
            json!({"username": "dave", "email": "d@example.org", "password": "short"}),
            "too short",
        ),
        (
            json!({"username": "CAROL", "email": "c@example.org", "password": "long enough"}),
            "already being used",
        ),
    ] {
        let (status, answer) = registry.post_json("/api/v1/register", None, &body);
        assert!(status == 400 || status == 409, "{status} {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(expect),
            "{answer}"
        );
    }
    let (status, _) = registry.post_json(
        "/api/v1/login",
        None,
        &json!({"username": "carol", "password": "wrong password"}),
    );
    assert_eq!(status, 401);
    let mut resp = Registry::agent()
        .get(&format!("{}/api/v1/tokens", registry.base))
        .header("Authorization", "Digest abc")
        .call()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        400,
        "{}",
        resp.body_mut().read_to_string().unwrap_or_default()
    );
}

#[test]
fn tokens_need_a_verified_address_and_two_factor_authentication() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("data")).unwrap();
    let registry = Registry::start(&tmp.path().join("data"), &[]);
    let (status, body) = registry.post_json(
        "/api/v1/register",
        None,
        &json!({"username": "erin", "email": "erin@example.org", "password": "correct horse battery"}),
    );
    assert_eq!(status, 201, "{body}");
    let session = registry.login("erin", None);
    // Token creation refused, saying what is missing first.
    let tokens_refused = |missing: &str| {
        let (status, body) =
            registry.post_json("/api/v1/tokens", Some(&session), &json!({"name": "x"}));
        assert_eq!(status, 403, "{body}");
        assert!(body["error"].as_str().unwrap().contains(missing), "{body}");
    };
    tokens_refused("Verify your e-mail");
    let link = registry.mailed_links().pop().unwrap();
    // A mail scanner fetching the link (GET, twice, as scanners do) verifies nothing.
    for _ in 0..2 {
        let (status, headers, page) = registry.get(link.trim_start_matches(&registry.base), &[]);
        assert_eq!(status, 200);
        assert!(
            text(&page).contains("Confirm my address"),
            "{}",
            text(&page)
        );
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    tokens_refused("Verify your e-mail");
    assert_eq!(registry.verify(&link), 200);
    assert_eq!(registry.verify(&link), 400, "a link works once");
    tokens_refused("Two-factor authentication is required");
    let (_, body) = registry.post_json("/api/v1/account/2fa/totp", Some(&session), &json!({}));
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(
        body["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/picket:erin?secret=")
    );
    let (status, _) = registry.post_json(
        "/api/v1/account/2fa/totp/confirm",
        Some(&session),
        &json!({"code": "000000"}),
    );
    assert_eq!(status, 400, "a wrong code does not enrol");
    let code = common::registry::totp_now(&secret);
    assert_eq!(
        registry
            .post_json(
                "/api/v1/account/2fa/totp/confirm",
                Some(&session),
                &json!({"code": code})
            )
            .0,
        200
    );
    // Login now needs the code.
    let (status, body) = registry.post_json(
        "/api/v1/login",
        None,
        &json!({"username": "erin", "password": "correct horse battery"}),
    );
    assert_eq!(status, 401);
    assert!(body["error"].as_str().unwrap().contains("totp"), "{body}");
    // A code opens one session: the same code again is refused (RFC 6238 5.2). The code that
    // confirmed the enrolment is used up too: it can't log in afterwards.
    let login = |code: &str| {
        registry.post_json(
            "/api/v1/login",
            None,
            &json!({"username": "erin", "password": "correct horse battery", "totp": code}),
        )
    };
    let (status, body) = login(&code);
    assert_eq!(status, 401, "the enrolment code logged in: {body}");
    assert!(
        body["error"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    // The next step's code (one step of drift is accepted) is fresh.
    let code = common::registry::totp_at(&secret, 30);
    let (status, body) = login(&code);
    assert_eq!(status, 200, "{body}");
    let (status, body) = login(&code);
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    let (status, body) = registry.post_json(
        "/api/v1/tokens",
        Some(&session),
        &json!({"name": "ci", "projects": ["not-mine"]}),
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) =
        registry.post_json("/api/v1/tokens", Some(&session), &json!({"name": "ci"}));
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let id = body["id"].as_i64().unwrap();
    // The token uploads; revoked, it is refused at once.
    assert_eq!(
        registry
            .upload_wheel(
                &token,
                "erins-pkg",
                "1.0",
                &[("erins_pkg/__init__.py", b"def f():\n    return 1\n")]
            )
            .0,
        200
    );
    let mut resp = Registry::agent()
        .delete(&format!("{}/api/v1/tokens/{id}", registry.base))
        .header("Authorization", &format!("Bearer {session}"))
        .call()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        204,
        "{}",
        resp.body_mut().read_to_string().unwrap_or_default()
    );
    let (status, body) = registry.upload_wheel(
        &token,
        "erins-pkg",
        "1.1",
        &[("erins_pkg/__init__.py", b"def f():\n    return 2\n")],
    );
    assert_eq!(status, 403, "{body}");
}

#[test]
fn sigterm_finishes_in_flight_work_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut registry, token) = registry_with_user(tmp.path(), &[]);
    assert_eq!(
        registry
            .upload_wheel(
                &token,
                "calm",
                "1.0",
                &[("calm/__init__.py", b"def f():\n    return 1\n")]
            )
            .0,
        200
    );
    let pid = registry.server.0.id().to_string();
    let started = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = registry.server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Restarted on the same data directory, everything is there.
    let again = Registry::start(&registry.data, &[]);
    assert_eq!(again.get("/simple/calm/", &[]).0, 200);
}

#[test]
fn verification_mail_goes_through_a_real_smtp_server_when_configured() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("Maildir");
    let port = common::free_port();
    let smtp = common::Server(
        std::process::Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd"),
    );
    common::wait_for_port(port);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let registry = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_SMTP_URL", &smtp_url),
            ("PICKET_SERVE_MAIL_FROM", "index@example.org"),
        ],
    );
    let (status, body) = registry.post_json(
        "/api/v1/register",
        None,
        &json!({"username": "gina", "email": "gina@example.org", "password": "correct horse battery"}),
    );
    assert_eq!(status, 201, "{body}");
    let delivered: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(delivered.len(), 1, "one message in the Maildir");
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(message.contains("To: gina@example.org"), "{message}");
    assert!(message.contains("From: index@example.org"), "{message}");
    let link = message
        .lines()
        .find(|l| l.contains("/account/verify-email?token="))
        .expect("the link")
        .trim()
        .to_owned();
    assert!(
        !data.join("outbox").exists(),
        "nothing filed locally when SMTP is configured"
    );
    assert_eq!(registry.verify(&link), 200);
    drop(smtp);
}

#[test]
fn an_upload_in_flight_at_sigterm_completes() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let (mut registry, token) = registry_with_user(tmp.path(), &[]);
    let wheel = picket_testkit::wheel(
        "slow",
        "1.0",
        &[
            ("slow/__init__.py", b"def f():\n    return 1\n"),
            ("slow/data.bin", &picket_testkit::noise(200_000, 3)),
        ],
    );
    let (content_type, body) = common::registry::multipart(
        &[
            (":action", "file_upload"),
            ("name", "slow"),
            ("version", "1.0"),
            ("filetype", "bdist_wheel"),
        ],
        Some(("slow-1.0-py3-none-any.whl", &wheel)),
    );
    let auth = data_encoding::BASE64.encode(format!("__token__:{token}").as_bytes());
    let mut stream =
        std::net::TcpStream::connect(registry.base.trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "POST /legacy/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(first).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = registry.server.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    stream.write_all(rest).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = registry.server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let again = Registry::start(&registry.data, &[]);
    let (_, _, page) = again.get("/simple/slow/", &[]);
    assert!(
        text(&page).contains("slow-1.0-py3-none-any.whl"),
        "the upload was stored whole"
    );
}

#[test]
fn owners_manage_projects_and_admin_changes_reach_a_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let data = registry.data.to_str().unwrap().to_owned();
    for v in ["1.0", "2.0"] {
        assert_eq!(
            registry
                .upload_wheel(
                    &token,
                    "proj",
                    v,
                    &[("proj/__init__.py", b"def f():\n    return 1\n")]
                )
                .0,
            200
        );
    }
    let delete = |path: &str, credential: &str| {
        let mut resp = Registry::agent()
            .delete(&format!("{}{path}", registry.base))
            .header("Authorization", &format!("Bearer {credential}"))
            .call()
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    // A token is a credential for the project API too.
    let (status, body) = delete(
        "/api/v1/projects/proj/files/proj-1.0-py3-none-any.whl",
        &token,
    );
    assert_eq!(status, 200, "{body}");
    let (_, _, page) = registry.get("/simple/proj/", &[]);
    assert!(!text(&page).contains("proj-1.0-py3"), "{}", text(&page));
    // Owners: add one, refuse to remove the last.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "create-user",
            "dan",
            "--email",
            "dan@example.org",
            "--password-stdin",
        ],
        "another long password\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = registry.post_json(
        "/api/v1/projects/proj/owners",
        Some(&token),
        &json!({"username": "dan"}),
    );
    assert_eq!(
        (status, body["owners"].clone()),
        (200, json!(["carol", "dan"]))
    );
    let (status, _) = delete("/api/v1/projects/proj/owners/dan", &token);
    assert_eq!(status, 200);
    let (status, body) = delete("/api/v1/projects/proj/owners/carol", &token);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("last owner"), "{body}");
    // Someone else's token can't touch it.
    let out = picket_with_stdin(
        tmp.path(),
        &["admin", "--data-dir", &data, "create-token", "dan"],
        "",
    );
    let dans = text(&out.stdout).trim().to_owned();
    let (status, _) = delete("/api/v1/projects/proj", &dans);
    assert_eq!(status, 403);
    // The admin CLI yanks in another process; the running server shows it within a second or two.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "yank",
            "proj",
            "2.0",
            "--reason",
            "security",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, _, page) = registry.get("/simple/proj/", &[("Accept", PIP_ACCEPT)]);
        let page: Value = serde_json::from_slice(&page).unwrap();
        if page["files"][0]["yanked"] == "security" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the yank never showed: {page}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "--format",
            "json",
            "remove",
            "proj",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let removal: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(removal["files"], json!(["proj-2.0-py3-none-any.whl"]));
    let out = picket_with_stdin(
        tmp.path(),
        &["admin", "--data-dir", &data, "remove", "proj"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no project named `proj`"),
        "{}",
        text(&out.stderr)
    );
    // The journal names the admin as actor.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "export-events",
            "--since",
            "1h",
        ],
        "",
    );
    let yank = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["kind"] == "release.yank")
        .unwrap();
    assert!(
        yank["actor"].as_str().unwrap().starts_with("cli:"),
        "{yank}"
    );
    assert_eq!(yank["reason"], "security");
}

#[test]
fn files_can_live_in_s3_compatible_storage() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (_s3, endpoint) = common::registry::s3_bucket(&venv, "dists", &[]);

    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            "ivy",
            "--email",
            "ivy@example.org",
            "--password-stdin",
        ],
        "a long enough password\n",
    );
    assert!(out.status.success());
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-token",
            "ivy",
        ],
        "",
    );
    let token = text(&out.stdout).trim().to_owned();
    let registry = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_STORAGE_URL", "s3://dists/picket"),
            ("AWS_ENDPOINT", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let (status, body) = registry.upload_wheel(
        &token,
        "cloudy",
        "1.0",
        &[("cloudy/__init__.py", b"def f():\n    return 1\n")],
    );
    assert_eq!(status, 200, "{body}");
    let (_, _, page) = registry.get("/simple/cloudy/", &[("Accept", PIP_ACCEPT)]);
    let page: Value = serde_json::from_slice(&page).unwrap();
    let url = page["files"][0]["url"].as_str().unwrap().to_owned();
    let sha = page["files"][0]["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, wheel) = registry.get(&url, &[]);
    assert_eq!(status, 200);
    assert_eq!(picket_formats::hashes::sha256_hex(&wheel), sha);
    let (status, headers, part) = registry.get(&url, &[("Range", "bytes=0-3")]);
    assert_eq!((status, part.as_slice()), (206, &b"PK\x03\x04"[..]));
    assert_eq!(
        headers["content-range"],
        format!("bytes 0-3/{}", wheel.len()).as_str()
    );
    let (status, _, tail) = registry.get(&url, &[("Range", "bytes=-2")]);
    assert_eq!((status, tail.as_slice()), (206, &wheel[wheel.len() - 2..]));
    // An end of u64::MAX ("to the end", written out) once overflowed `end + 1` and panicked the
    // handler (a reset connection); it means the rest of the file.
    let (status, headers, rest) = registry.get(&url, &[("Range", "bytes=5-18446744073709551615")]);
    assert_eq!((status, rest.as_slice()), (206, &wheel[5..]));
    assert_eq!(
        headers["content-range"],
        format!("bytes 5-{}/{}", wheel.len() - 1, wheel.len()).as_str()
    );
    assert_eq!(
        registry
            .get(&url, &[("Range", &format!("bytes={}-", wheel.len() + 5))])
            .0,
        416
    );
    let (status, _, metadata) = registry.get(&format!("{url}.metadata"), &[]);
    assert_eq!(status, 200);
    assert!(text(&metadata).contains("Name: cloudy"));
    // The object is in the bucket under the prefix, and nothing was written locally.
    let mut resp = Registry::agent()
        .get(&format!("{endpoint}/dists?list-type=2&prefix=picket/"))
        .call()
        .unwrap();
    let listing = resp.body_mut().read_to_string().unwrap();
    assert!(
        listing.contains(&format!("picket/{}/{}/{sha}", &sha[..2], &sha[2..4])),
        "{listing}"
    );
    assert!(
        !data.join("files").exists()
            || std::fs::read_dir(data.join("files"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn project_scoped_tokens_reach_only_their_projects() {
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let data = registry.data.to_str().unwrap().to_owned();
    for p in ["alpha", "beta"] {
        assert_eq!(
            registry
                .upload_wheel(
                    &token,
                    p,
                    "1.0",
                    &[("m/__init__.py", b"def f():\n    return 1\n")]
                )
                .0,
            200
        );
    }
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "create-token",
            "carol",
            "--project",
            "Alpha",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let scoped = text(&out.stdout).trim().to_owned();
    assert_eq!(
        registry
            .upload_wheel(
                &scoped,
                "alpha",
                "2.0",
                &[("m/__init__.py", b"def f():\n    return 2\n")]
            )
            .0,
        200
    );
    let (status, body) = registry.upload_wheel(
        &scoped,
        "beta",
        "2.0",
        &[("m/__init__.py", b"def f():\n    return 2\n")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("is not valid for project 'beta'"), "{body}");
    let (status, body) = registry.upload_wheel(
        &scoped,
        "gamma",
        "1.0",
        &[("m/__init__.py", b"def f():\n    return 1\n")],
    );
    assert_eq!(status, 403, "a scoped token creates no new project: {body}");
    // Release removal through the API, owners through the admin CLI.
    let mut resp = Registry::agent()
        .delete(&format!(
            "{}/api/v1/projects/alpha/releases/1.0",
            registry.base
        ))
        .header("Authorization", &format!("Bearer {scoped}"))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        body["removed"]["files"],
        json!(["alpha-1.0-py3-none-any.whl"])
    );
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            &data,
            "create-token",
            "carol",
            "--project",
            "no-such",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no project named `no-such`"),
        "{}",
        text(&out.stderr)
    );
    let out = picket_with_stdin(
        tmp.path(),
        &["admin", "--data-dir", &data, "add-owner", "beta", "nobody"],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no user named `nobody`"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("hint: list the accounts"),
        "{}",
        text(&out.stderr)
    );
}
