//! `picket simulate` and `picket replay` as a user runs them.

mod common;

use common::{picket, text};
use serde_json::Value;

fn sha(path: &std::path::Path) -> String {
    picket_store::sha256_hex(&std::fs::read(path).unwrap())
}

#[test]
fn simulate_is_deterministic_and_replay_finds_the_campaign() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("a.jsonl");
    let args = |out: &std::path::Path, seed: &str| {
        vec![
            "simulate".to_owned(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--scenario".into(),
            "inbox-2025".into(),
            "--accounts".into(),
            "12000".into(),
            "--seed".into(),
            seed.into(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        picket(tmp.path(), &a)
    };
    let out = run(args(&log, "9"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("253 malicious accounts, 1525 malicious projects"));
    let again = tmp.path().join("b.jsonl");
    run(args(&again, "9"));
    assert_eq!(sha(&log), sha(&again), "same seed, same log");
    let other = tmp.path().join("c.jsonl");
    run(args(&other, "10"));
    assert_ne!(sha(&log), sha(&other));
    let truth: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("a.jsonl.truth.json")).unwrap())
            .unwrap();
    assert_eq!(truth["accounts"].as_array().unwrap().len(), 253);

    // JSON: the contract's fields.
    let out = picket(
        tmp.path(),
        &["--format", "json", "replay", log.to_str().unwrap(), "-q"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events"], truth["events"]);
    let campaigns = report["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 1, "{report}");
    let c = &campaigns[0];
    for field in [
        "id",
        "confidence",
        "first_seen",
        "detected_at",
        "accounts",
        "projects",
        "domains",
        "signals",
        "timeline",
        "actions",
    ] {
        assert!(c.get(field).is_some(), "missing {field}");
    }
    assert_eq!(
        c["domains"][0],
        serde_json::json!({"domain": "inbox.ru", "accounts": 253})
    );
    assert_eq!(c["accounts"].as_array().unwrap().len(), 253);
    assert_eq!(c["projects"].as_array().unwrap().len(), 1525);
    assert!(report["elapsed_ms"].is_u64());

    // Table: what an admin reads first.
    let out = picket(tmp.path(), &["replay", log.to_str().unwrap(), "-q"]);
    let table = text(&out.stdout);
    assert!(table.contains("1 campaigns"), "{table}");
    assert!(
        table.contains("prohibit-domain inbox.ru --expires 14d"),
        "{table}"
    );

    // HTML: self-contained, with the timeline drawn.
    let page = tmp.path().join("report.html");
    let out = picket(
        tmp.path(),
        &[
            "--format",
            "html",
            "replay",
            log.to_str().unwrap(),
            "-q",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("campaign registrations"));
    assert!(!html.contains("<script"), "no scripts, no external assets");
    // `html` is refused where it means nothing.
    let out = picket(tmp.path(), &["--format", "html", "admin", "list-domains"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("only for `picket replay`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn hostile_logs_are_skipped_with_line_numbers_and_a_count() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("bad.jsonl");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"time\":\"2025-06-11T08:00:00Z\",\"kind\":\"account.create\",\"user\":\"a\",\"email\":\"a@x.example\"}\n");
    bytes.extend_from_slice(b"{\"time\":\"2025-06-11T08:00:00Z\",\"kind\":\"acc\n"); // truncated
    bytes.extend_from_slice(b"{\"time\":5,\"kind\":\"account.create\"}\n"); // wrong type
    bytes.extend_from_slice(b"\xff\xfe\xfd\n"); // invalid UTF-8
    bytes.extend(std::iter::repeat_n(b'x', 10 << 20)); // a 10 MB line
    bytes.push(b'\n');
    bytes.extend_from_slice(
        b"{\"time\":\"2025-06-11T07:59:30Z\",\"kind\":\"account.login\",\"user\":\"a\"}\n",
    ); // out of order
    bytes.extend_from_slice(
        b"{\"time\":\"2025-06-11T08:01:00Z\",\"kind\":\"future.kind\",\"extra\":[1,2]}\n",
    );
    bytes.extend_from_slice(
        b"{\"time\":\"2025-06-11T08:02:00Z\",\"kind\":\"account.create\",\"user\":\"b\"}",
    ); // no newline at the end
    std::fs::write(&log, &bytes).unwrap();
    let out = picket(
        tmp.path(),
        &["--format", "json", "replay", log.to_str().unwrap(), "-q"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events"], 4);
    assert_eq!(report["skipped_lines"], 4);
    let stderr = text(&out.stderr);
    for expected in [
        "bad.jsonl:2: skipped",
        "bad.jsonl:3: skipped",
        "bad.jsonl:4: skipped",
        "bad.jsonl:5: skipped: a line of more than 1048576 bytes",
        "hint: 4 lines were skipped",
    ] {
        assert!(stderr.contains(expected), "{expected} in {stderr}");
    }
    // A missing file: exit 2 with the path.
    let out = picket(tmp.path(), &["replay", "/nonexistent/events.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/events.jsonl"));
    let out = picket(
        tmp.path(),
        &[
            "simulate",
            "--out",
            tmp.path().join("x").to_str().unwrap(),
            "--scenario",
            "nope",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown scenario `nope`"),
        "{}",
        text(&out.stderr)
    );
}

fn admin(tmp: &std::path::Path, data: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin", "--data-dir", data.to_str().unwrap()];
    all.extend_from_slice(args);
    common::picket_with_stdin(tmp, &all, "")
}

#[test]
fn the_live_detector_restricts_a_campaign_and_its_next_uploads_are_quarantined() {
    use common::registry::{Registry, both, fresh_venv, pip_install, twine};
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = common::picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            "root",
            "--email",
            "root@own.example",
            "--admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Accelerated sign-ups: the per-address and per-domain limits would stop this burst first
    // (as they should); here the detector is what is tested, over a fresh journal.
    // inbox.example plays a free-mail provider (the shipped list has the real ones).
    let detector_toml = tmp.path().join("detector.toml");
    std::fs::write(&detector_toml, "free-mail-domains = [\"inbox.example\"]\n").unwrap();
    let (hook_base, hooks) = common::recording_server();
    let hook = format!("{hook_base}/hook");
    let registry = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_CAMPAIGN_WEBHOOK", &hook),
            ("PICKET_SERVE_CAMPAIGN_WEBHOOK_SECRET", "s3cret"),
            ("PICKET_SERVE_VELOCITY_FLOOR", "0"),
            ("PICKET_SERVE_RATE_REGISTER_IP", "off"),
            ("PICKET_SERVE_RATE_LOGIN_IP", "off"),
            ("PICKET_SERVE_CAMPAIGN_WARMUP_HOURS", "0"),
            (
                "PICKET_SERVE_CAMPAIGN_CONFIG",
                detector_toml.to_str().unwrap(),
            ),
        ],
    );
    let (lena, _) = registry.onboard_with("lena", "lena@own.example");
    // All ten sign up before any sets up publishing: the detector alerts on the burst together
    // with the scripted set-ups, so on a slow machine a sign-up after the eighth set-up could
    // meet the domain throttle the detection imposes.
    for i in 0..10 {
        registry.register_verified(&format!("bot{i}"), &format!("bot{i}@inbox.example"));
    }
    let tokens: Vec<String> = (0..10)
        .map(|i| registry.set_up_publishing(&format!("bot{i}")).0)
        .collect();
    // The detector polls the journal each second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let id = loop {
        let out = admin(tmp.path(), &data, &["--format", "json", "campaigns"]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(c) = list.as_array().and_then(|l| l.first()) {
            break c["id"].as_str().unwrap().to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no campaign detected");
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let out = admin(
        tmp.path(),
        &data,
        &["--format", "json", "campaign", "show", &id],
    );
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    let accounts: Vec<&str> = row["report"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        accounts.len() >= 8 && accounts.iter().all(|a| a.starts_with("bot")),
        "{accounts:?}"
    );
    assert_eq!(row["report"]["domains"][0]["domain"], "inbox.example");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while admin(
        tmp.path(),
        &data,
        &["--format", "json", "campaign", "show", &id],
    )
    .stdout
    .is_empty()
        || serde_json::from_slice::<Value>(
            &admin(
                tmp.path(),
                &data,
                &["--format", "json", "campaign", "show", &id],
            )
            .stdout,
        )
        .unwrap()["restricted"]
            .as_array()
            .unwrap()
            .len()
            < 10
    {
        assert!(
            std::time::Instant::now() < deadline,
            "members not all restricted"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }

    // Fake projects uploaded after detection are quarantined on arrival; a real one is served.
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let wheel = |name: &str, code: &[u8]| {
        let escaped = name.replace('-', "_");
        let path = wheels.join(format!("{escaped}-1.0-py3-none-any.whl"));
        let record = format!("{escaped}-1.0.dist-info/RECORD");
        let module = format!("{escaped}/__init__.py");
        std::fs::write(
            &path,
            picket_testkit::wheel(name, "1.0", &[(&module, code), (&record, b"")]),
        )
        .unwrap();
        path
    };
    for (i, token) in tokens.iter().enumerate().take(3) {
        let path = wheel(&format!("useful-thing-{i}"), b"");
        let out = twine(&venv, &registry, token, &[&path]);
        assert!(out.status.success(), "{}", both(&out));
    }
    let path = wheel("lenas-tool", b"def main():\n    return 'real'\n");
    let out = twine(&venv, &registry, &lena, &[&path]);
    assert!(out.status.success(), "{}", both(&out));
    let target = tmp.path().join("env");
    fresh_venv(&venv, &target);
    let out = pip_install(&target, &registry, &["useful-thing-1"]);
    assert!(!out.status.success(), "{}", both(&out));
    let out = pip_install(&target, &registry, &["lenas-tool"]);
    assert!(out.status.success(), "{}", both(&out));
    // The journal ties code, not names: each upload carries the digest of its code, none for
    // an empty package.
    let exported = tmp.path().join("journal.jsonl");
    let out = admin(
        tmp.path(),
        &data,
        &["export-events", "--out", exported.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let uploads: Vec<Value> = std::fs::read_to_string(&exported)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "file.upload")
        .collect();
    let digest = |project: &str| {
        uploads
            .iter()
            .find(|e| e["project"] == project)
            .map(|e| e["artifact"]["code_digest"].clone())
            .unwrap()
    };
    assert_eq!(digest("lenas-tool").as_str().map(str::len), Some(16));
    assert_eq!(digest("useful-thing-0"), Value::Null);

    // The domain's registrations are throttled; admins were told.
    let (status, body) = registry.post_json(
        "/api/v1/register",
        None,
        &serde_json::json!({"username": "bot99", "email": "bot99@inbox.example", "password": "correct horse battery"}),
    );
    assert_eq!(status, 429, "{body}");
    let mails: Vec<String> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        mails.iter().any(|m| m.contains("To: root@own.example")
            && m.contains(&format!("campaign {id} detected"))),
        "no admin notice"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let call = loop {
        if let Some(call) = hooks.lock().unwrap().iter().find(|r| r.path == "/hook") {
            break call.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook was not called"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    // The body names the campaign, and the signature is the HMAC-SHA256 of it under the secret.
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["campaign"], id.as_str());
    let signature = call
        .headers
        .iter()
        .find(|(n, _)| n == "x-picket-signature-256")
        .map(|(_, v)| v.clone())
        .expect("a signed webhook");
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(b"s3cret").unwrap();
    hmac::Mac::update(&mut mac, &call.body);
    let expected = data_encoding::HEXLOWER.encode(&hmac::Mac::finalize(mac).into_bytes());
    assert_eq!(signature, format!("sha256={expected}"));

    // Dismiss (dry run) would lift the restrictions; apply disables and quarantines in one go.
    let out = admin(
        tmp.path(),
        &data,
        &["--format", "json", "campaign", "dismiss", &id, "--dry-run"],
    );
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = dry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "account.unrestrict").count(),
        10,
        "{kinds:?}"
    );
    let out = admin(tmp.path(), &data, &["campaign", "apply", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, _) =
        registry.upload_wheel(&tokens[0], "another-one", "1.0", &[("m/__init__.py", b"")]);
    assert_eq!(status, 403, "disabled accounts' tokens stop at once");
    let out = admin(tmp.path(), &data, &["audit"]);
    let audit = text(&out.stdout);
    for kind in [
        "campaign.detect",
        "account.restrict",
        "campaign.apply",
        "account.disable",
        "domain.prohibit",
    ] {
        assert!(audit.contains(kind), "{kind} in {audit}");
    }
    let out = admin(tmp.path(), &data, &["campaign", "show", "no-such-campaign"]);
    assert_eq!(out.status.code(), Some(2));

    // Issue 13: a company onboarding ten staff by script on its own domain is the same burst
    // and the same scripted set-up, with no evidence of abuse: watched, never acted on.
    for i in 0..10 {
        registry.register_verified(&format!("staff{i}"), &format!("staff{i}@corp.example"));
    }
    for i in 0..10 {
        registry.set_up_publishing(&format!("staff{i}"));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let watch = loop {
        if let Ok(text) = std::fs::read_to_string(data.join("campaign-watch.json")) {
            let watch: Value = serde_json::from_str(&text).unwrap();
            if watch["watch"].as_array().unwrap().iter().any(|c| {
                c["report"]["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|a| a.as_str().unwrap().starts_with("staff"))
                    .count()
                    >= 8
            }) {
                break watch;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the onboarding was not put on watch"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    let cohort = watch["watch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["report"])
        .find(|c| c["accounts"][0].as_str().unwrap().starts_with("staff"))
        .unwrap();
    assert!(
        cohort["reasons"]
            .to_string()
            .contains("no evidence of abuse"),
        "{cohort}"
    );
    assert_eq!(cohort["level"], "watch");
    assert_eq!(cohort["actions"], serde_json::json!([]));
    let out = admin(tmp.path(), &data, &["--format", "json", "campaigns"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "only the bots: {list}");
    let (status, body) = registry.post_json(
        "/api/v1/register",
        None,
        &serde_json::json!({"username": "staff99", "email": "staff99@corp.example", "password": "correct horse battery"}),
    );
    assert!(
        status < 300,
        "the company's domain is not throttled: {status} {body}"
    );
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing; .ci/run installs it"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log.jsonl");
    let out = picket(
        tmp.path(),
        &[
            "simulate",
            "--out",
            log.to_str().unwrap(),
            "--scenario",
            "inbox-2025",
            "--accounts",
            "6000",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = tmp.path().join("report.html");
    let out = picket(
        tmp.path(),
        &[
            "--format",
            "html",
            "replay",
            log.to_str().unwrap(),
            "-q",
            "--out",
            page.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shot = tmp.path().join("report.png");
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,1000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", tmp.path())
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank page compresses to a few kB; the charts and tables do not.
    assert!(png.len() > 30_000, "{} bytes: nothing drawn?", png.len());
}

#[test]
fn a_bad_detector_config_stops_serve_with_the_key_named() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("detector.toml");
    std::fs::write(&config, "min-acounts = 3\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env("PICKET_SERVE_CAMPAIGN_CONFIG", &config)
        .envs(common::database_for(&tmp.path().join("data")).map(|u| ("PICKET_DATABASE_URL", u)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("min-acounts"),
        "{}",
        text(&out.stderr)
    );
    // The same file is refused by replay, which shares the model's keys.
    let log = tmp.path().join("empty.jsonl");
    std::fs::write(&log, "").unwrap();
    let out = picket(
        tmp.path(),
        &[
            "replay",
            log.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("min-acounts"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&config, "min-accounts = 3\n[weights]\nburst = 0.5\n").unwrap();
    let out = picket(
        tmp.path(),
        &[
            "replay",
            log.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
