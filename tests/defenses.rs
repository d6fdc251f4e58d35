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
