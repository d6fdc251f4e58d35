//! The web interface in real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! Selenium from the test venv): sign up → verify through the outbox mail → log in → enrol TOTP
//! from the page's QR code (decoded from a screenshot) → create a token → twine upload → the
//! project page; an empty upload → the owner sees why it is held → an admin releases it; a
//! campaign of accounts made through the API → the admin previews and applies it and its
//! projects leave `/simple/`. Hostile input in every field a person writes, a forged cross-site
//! post, axe-core on every page in light and dark. The walk is `tests/support/web_browser.py`;
//! screenshots land in `target/web-screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::registry::{Registry, both, twine};
use common::text;
use serde_json::Value;

/// What the walk needs, or why it can't run (a failure under CI).
fn tools() -> Option<(PathBuf, PathBuf)> {
    let venv = common::venv()?;
    let missing: Vec<&str> = [
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/chromedriver", "chromium-driver"),
    ]
    .iter()
    .filter(|(path, _)| !Path::new(path).exists())
    .map(|(_, package)| *package)
    .collect();
    let python = venv.join("bin/python");
    let selenium = Command::new(&python)
        .args(["-c", "import selenium, zxingcpp"])
        .status()
        .is_ok_and(|s| s.success());
    if missing.is_empty() && selenium {
        return Some((venv, python));
    }
    let why = format!(
        "skipped: the browser walk needs {} (Debian) and selenium + zxing-cpp in the venv (scripts/test-requirements.txt)",
        missing.join(", ")
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("{why}");
    None
}

#[test]
fn a_person_and_an_admin_walk_the_web_interface_in_chromium() {
    let Some((venv, python)) = tools() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    common::create_admin(&data, "root");
    let detector = tmp.path().join("detector.toml");
    std::fs::write(&detector, "free-mail-domains = [\"inbox.example\"]\n").unwrap();
    let env = |detect: &'static str| {
        vec![
            ("PICKET_SERVE_CAMPAIGN_DETECTION", detect),
            ("PICKET_SERVE_VELOCITY_FLOOR", "0"),
            ("PICKET_SERVE_RATE_REGISTER_IP", "off"),
            ("PICKET_SERVE_RATE_LOGIN_IP", "off"),
            ("PICKET_SERVE_CAMPAIGN_WARMUP_HOURS", "0"),
        ]
    };

    // A fake-account burst made through the API while the detector is off, with live projects.
    let registry = Registry::start(&data, &env("false"));
    let session = registry.login("root", None);
    let root_totp = registry.enrol_totp(&session);
    for i in 0..10 {
        registry.register_verified(&format!("bot{i}"), &format!("bot{i}@inbox.example"));
    }
    let tokens: Vec<String> = (0..10)
        .map(|i| registry.set_up_publishing(&format!("bot{i}")).0)
        .collect();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let bot_projects = ["amber-lantern", "cobalt-meadow", "velvet-quarry"];
    for (name, token) in bot_projects.iter().zip(&tokens) {
        let path = common::code_wheel(&wheels, name, b"def run():\n    return 'x'\n");
        let out = twine(&venv, &registry, token, &[&path]);
        assert!(out.status.success(), "{}", both(&out));
        assert_eq!(registry.get(&format!("/simple/{name}/"), &[]).0, 200);
    }
    drop(registry);

    // The detector, on, replays the journal and finds the campaign.
    let detector_env = detector.to_str().unwrap().to_owned();
    let mut env_on = env("true");
    env_on.push(("PICKET_SERVE_CAMPAIGN_CONFIG", &detector_env));
    let registry = Registry::start(&data, &env_on);
    let deadline = Instant::now() + Duration::from_secs(30);
    let campaign = loop {
        let out = common::admin_json(&data, &["campaigns"]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if let Some(id) = list
            .as_array()
            .and_then(|l| l.first())
            .and_then(|c| c["id"].as_str())
        {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "no campaign detected");
        std::thread::sleep(Duration::from_millis(250));
    };
    let setup = started.elapsed();

    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-screenshots");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let axe = venv.join("npm/node_modules/axe-core/axe.min.js");
    if !axe.exists() {
        let why = "axe-core is not installed beside the venv (scripts/test installs it with npm)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("note: {why}; accessibility not checked");
    }
    let walk = Command::new(&python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/web_browser.py"))
        .env("PICKET_WEB_BASE", &registry.base)
        .env("PICKET_WEB_DATA", &data)
        .env("PICKET_WEB_WORK", &work)
        .env("PICKET_WEB_SHOTS", &shots)
        .env("PICKET_WEB_ROOT_TOTP", &root_totp)
        .env("PICKET_WEB_CAMPAIGN", &campaign)
        .env("PICKET_WEB_BOT_PROJECTS", bot_projects.join(","))
        .env(
            "PICKET_WEB_AXE",
            if axe.exists() {
                axe.to_str().unwrap()
            } else {
                ""
            },
        )
        .env("PICKET_WEB_TWINE", venv.join("bin/twine"))
        .env("PIP_CONFIG_FILE", "/dev/null")
        .output()
        .expect("run the browser walk");
    eprintln!("{}", text(&walk.stdout));
    assert!(
        walk.status.success(),
        "{}\n{}",
        text(&walk.stdout),
        text(&walk.stderr)
    );
    assert!(text(&walk.stdout).ends_with("ok\n"));

    // What the walk did, seen from outside the browser.
    let root = text(&registry.get("/simple/", &[]).2);
    assert!(
        root.contains(">harbor-kit<") && root.contains(">tidewater-shell<"),
        "{root}"
    );
    for name in bot_projects {
        assert!(!root.contains(&format!(">{name}<")), "{name}");
        let page = text(&registry.get(&format!("/simple/{name}/"), &[]).2);
        assert!(!page.contains(".whl"), "{page}");
    }
    let out = common::admin_json(&data, &["campaign", "show", &campaign]);
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["status"], "applied");
    eprintln!(
        "web walk: setup {:.1} s, browser {:.1} s",
        setup.as_secs_f64(),
        started.elapsed().saturating_sub(setup).as_secs_f64()
    );
}
