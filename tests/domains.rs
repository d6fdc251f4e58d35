//! Domain resurrection (issue 16, part 4), against real `picket serve` processes and an RDAP
//! server on loopback written here: addresses whose domain lapsed or was registered again after
//! they were verified are unverified — by the scheduled check when the server starts and by
//! `picket admin check-domains` — and password resets are refused to them (no mail, a journal
//! entry, and a link mailed earlier stops working), while addresses on domains that still belong
//! to their owners, or that RDAP could not answer for, keep working.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::registry::{Registry, both};
use common::{picket_with_stdin, text};
use serde_json::{Value, json};

type Answers = Arc<Mutex<HashMap<String, (u16, String)>>>;

/// An RDAP service: `GET /domain/NAME` answers what `answers` holds for NAME, else 404.
fn rdap_server(answers: Answers) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or_default();
            let name = path.strip_prefix("/domain/").unwrap_or_default();
            let (status, body) = answers.lock().unwrap().get(name).cloned().unwrap_or((
                404,
                json!({"errorCode": 404, "title": "Not Found"}).to_string(),
            ));
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/rdap+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

/// An RDAP domain object.
fn domain(name: &str, registered: &str, expires: &str) -> (u16, String) {
    let body = json!({
        "objectClassName": "domain", "ldhName": name, "rdapConformance": ["rdap_level_0"],
        "events": [{"eventAction": "registration", "eventDate": registered},
                   {"eventAction": "expiration", "eventDate": expires}]
    });
    (200, body.to_string())
}

fn admin(registry: &Registry, args: &[&str]) -> std::process::Output {
    common::admin_json(&registry.data, args)
}

fn verified(registry: &Registry) -> HashMap<String, bool> {
    let out = admin(registry, &["list-users"]);
    let users: Value = serde_json::from_slice(&out.stdout).unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["username"].as_str().unwrap().to_owned(),
                u["email_verified"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The reset tokens mailed to `to`, oldest first.
fn reset_tokens(registry: &Registry, to: &str) -> Vec<String> {
    let mut mails: Vec<_> = std::fs::read_dir(registry.data.join("outbox"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    mails.sort();
    mails
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .filter(|m| m.contains(&format!("To: {to}\r\n")) && m.contains("Reset your password"))
        .filter_map(|m| {
            let start = m.find("\"token\": \"")? + 10;
            Some(m[start..start + m[start..].find('"')?].to_owned())
        })
        .collect()
}

fn ask_reset(registry: &Registry, user: &str) {
    let (status, body) = registry.post_json(
        "/api/v1/account/password-reset",
        None,
        &json!({"username": user}),
    );
    assert_eq!(status, 202, "{body}");
    assert!(body["message"].as_str().unwrap().contains("If the account"));
}

fn confirm_reset(registry: &Registry, token: &str, password: &str) -> (u16, Value) {
    registry.post_json(
        "/api/v1/account/password-reset/confirm",
        None,
        &json!({"token": token, "password": password}),
    )
}

fn journal(registry: &Registry, kind: &str) -> Vec<Value> {
    let out = admin(registry, &["export-events"]);
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[test]
fn issue_16_addresses_on_lapsed_or_resold_domains_are_unverified_and_get_no_password_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let answers: Answers = Arc::default();
    for name in ["stable.example", "resold.example", "lapsed.example"] {
        answers.lock().unwrap().insert(
            name.into(),
            domain(name, "2015-03-01T00:00:00Z", "2031-03-01T00:00:00Z"),
        );
    }
    answers
        .lock()
        .unwrap()
        .insert("flaky.example".into(), (503, "busy".into()));
    let rdap = rdap_server(answers.clone());

    // Accounts verified while every domain belonged to its owner; a reset works.
    let registry = Registry::start(&data, &[]);
    for (user, email) in [
        ("sam", "sam@stable.example"),
        ("rob", "rob@resold.example"),
        ("lea", "lea@lapsed.example"),
        ("fay", "fay@flaky.example"),
    ] {
        registry.register_verified(user, email);
    }
    ask_reset(&registry, "rob");
    let token = reset_tokens(&registry, "rob@resold.example").pop().unwrap();
    let (status, body) = confirm_reset(&registry, &token, "a brand new password");
    assert_eq!(status, 200, "{body}");
    let (status, _) = confirm_reset(&registry, &token, "a second new password");
    assert_eq!(status, 400, "a link works once");
    let (status, _) = registry.post_json(
        "/api/v1/login",
        None,
        &json!({"username": "rob", "password": "a brand new password"}),
    );
    assert_eq!(status, 200);
    // A link lea asked for before her domain lapsed.
    ask_reset(&registry, "lea");
    let lea_token = reset_tokens(&registry, "lea@lapsed.example").pop().unwrap();
    drop(registry);

    // Meanwhile lapsed.example expired and resold.example was bought by someone else.
    std::thread::sleep(Duration::from_millis(1100));
    let now = picket_store::rfc3339(picket_server::now_ms());
    let now = format!("{}Z", &now[..19]);
    answers.lock().unwrap().insert(
        "resold.example".into(),
        domain("resold.example", &now, "2027-11-30T00:00:00Z"),
    );
    answers.lock().unwrap().insert(
        "lapsed.example".into(),
        domain(
            "lapsed.example",
            "2015-03-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
        ),
    );

    // The scheduled check runs when the server starts with an RDAP service.
    let registry = Registry::start(&data, &[("PICKET_SERVE_RDAP_URL", &rdap)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while journal(&registry, "account.email.unverify").len() < 2 {
        assert!(Instant::now() < deadline, "the scheduled check did not run");
        std::thread::sleep(Duration::from_millis(250));
    }
    let state = verified(&registry);
    assert_eq!(
        (state["sam"], state["rob"], state["lea"], state["fay"]),
        (true, false, false, true),
        "only the lapsed and resold domains; RDAP's 503 leaves fay alone"
    );
    let events = journal(&registry, "account.email.unverify");
    let reasons: HashMap<&str, &str> = events
        .iter()
        .map(|e| (e["user"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert!(
        reasons["rob"].contains("was registered on")
            && reasons["rob"].contains("after the address was verified"),
        "{reasons:?}"
    );
    assert!(
        reasons["lea"].contains("expired on 2026-03-01"),
        "{reasons:?}"
    );

    // No reset mail to an unverified address, and the earlier link is dead.
    let before = reset_tokens(&registry, "rob@resold.example").len();
    ask_reset(&registry, "rob");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reset_tokens(&registry, "rob@resold.example").len(), before);
    let refused = journal(&registry, "account.password-reset.refuse");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["user"], "rob");
    let (status, body) = confirm_reset(&registry, &lea_token, "taken over at last");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no longer verified"),
        "{body}"
    );
    // An unknown account gets the same answer as a known one.
    ask_reset(&registry, "nobody-here");

    // The admin command runs the check now: stable.example lapses too.
    answers.lock().unwrap().insert(
        "stable.example".into(),
        domain(
            "stable.example",
            "2015-03-01T00:00:00Z",
            "2026-06-01T00:00:00Z",
        ),
    );
    let out = admin(&registry, &["check-domains", "--rdap-url", &rdap]);
    assert!(out.status.success(), "{}", both(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["domains"], 2, "{summary}");
    assert_eq!(summary["unverified"][0][0], "sam", "{summary}");
    assert_eq!(summary["failed"][0][0], "flaky.example", "{summary}");
    assert!(!verified(&registry)["sam"]);
    // Without a service configured, a clear error.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "check-domains",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--rdap-url"), "{}", both(&out));
}
