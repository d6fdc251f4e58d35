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
