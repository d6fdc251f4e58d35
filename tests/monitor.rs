//! `picket monitor` as a cron job runs it: projects added, advisories imported one after another,
//! and the new findings sent by POST to a webhook on loopback (a receiver in this test) or filed as mail.

mod common;

use std::path::Path;

use common::{Canned, canned_server_logged, free_port, picket, recording_server, text};
use serde_json::Value;

fn fixture_record(id: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/picket-osv/tests/fixtures/osv")
        .join(format!("{id}.json"))
}

/// Imports exactly these fixture records (the database is replaced, as `db update` replaces it).
fn import(data: &Path, ids: &[&str]) {
    let records = data.join(format!("records-{}", ids.len()));
    std::fs::create_dir_all(&records).unwrap();
    for id in ids {
        std::fs::copy(fixture_record(id), records.join(format!("{id}.json"))).unwrap();
    }
    let out = picket(data, &["db", "import-osv", records.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn run(data: &Path, extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["--format", "json", "monitor", "run"];
    args.extend_from_slice(extra);
    let out = picket(data, &args);
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", text(&out.stdout), text(&out.stderr)));
    (out, doc)
}

/// `(package, advisory)` of every alert in a webhook body or run report.
fn advisories(alerts: &Value) -> Vec<(String, String)> {
    alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["package"].as_str().unwrap_or("").to_owned(),
                a["advisory"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn pair(package: &str, advisory: &str) -> (String, String) {
    (package.to_owned(), advisory.to_owned())
}

/// `DATA/shop`, a project whose requirements pin `requests`, `jinja2` and `urllib3` releases the
/// fixture records name.
fn shop(data: &Path) -> std::path::PathBuf {
    let project = data.join("shop");
    std::fs::create_dir(&project).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deps/uv/requirements.txt"),
        project.join("requirements.txt"),
    )
    .unwrap();
    project
}

#[test]
fn monitor_sends_each_new_finding_once_and_retries_what_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let project = shop(data);

    // A folder without dependency files is refused when added, not at the first run.
    let empty = data.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = picket(data, &["monitor", "add", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no dependency files"),
        "{}",
        text(&out.stderr)
    );

    let out = picket(data, &["monitor", "add", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = picket(data, &["--format", "json", "monitor", "list"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["projects"][0]["name"], "shop", "{list}");

    let (url, received) = recording_server();
    let hook = format!("{url}/hook");
    let posts = || received.lock().unwrap().clone();

    // The first records: the first run sends what they find, the next one nothing.
    import(data, &["GHSA-9wx4-h78v-vm56"]);
    let (out, _) = run(data, &["--webhook", &hook]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(posts().len(), 1);
    let body: Value = serde_json::from_slice(&posts()[0].body).unwrap();
    assert_eq!(
        advisories(&body["alerts"]),
        [pair("requests", "GHSA-9wx4-h78v-vm56")]
    );
    assert_eq!(body["alerts"][0]["project"], "shop");
    let (out, doc) = run(data, &["--webhook", &hook]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(posts().len(), 1, "nothing new, nothing sent: {doc}");

    // One new record affecting the project: exactly one call, with that advisory alone.
    import(data, &["GHSA-9wx4-h78v-vm56", "GHSA-h5c8-rqwp-cp95"]);
    let (out, _) = run(data, &["--webhook", &hook]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(posts().len(), 2);
    let body: Value = serde_json::from_slice(&posts()[1].body).unwrap();
    assert_eq!(
        advisories(&body["alerts"]),
        [pair("jinja2", "GHSA-h5c8-rqwp-cp95")]
    );
    assert_eq!(posts()[1].path, "/hook");
    let (_, _) = run(data, &["--webhook", &hook]);
    assert_eq!(posts().len(), 2, "the next run sends none");

    // A webhook that fails: exit 2 with one clear line, and the finding stays unsent.
    import(
        data,
        &[
            "GHSA-9wx4-h78v-vm56",
            "GHSA-h5c8-rqwp-cp95",
            "GHSA-v845-jxx5-vc9f",
        ],
    );
    let (failing, served) = canned_server_logged(vec![(
        "/hook".to_owned(),
        Canned {
            status: 500,
            content_type: "text/plain",
            body: b"down".to_vec(),
        },
    )]);
    let failing = failing.replace("/simple/", "/hook");
    let (out, _) = run(data, &["--webhook", &failing]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("answered HTTP 500")
            && text(&out.stderr).contains("go out on the next run"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        served.lock().unwrap().len(),
        1,
        "the failing hook was called"
    );
    let refused = format!("http://127.0.0.1:{}/hook", free_port());
    let (out, _) = run(data, &["--webhook", &refused]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not reached"),
        "{}",
        text(&out.stderr)
    );

    // Delivered the next time, by webhook and by mail (filed in the outbox without smtp-url).
    let (out, doc) = run(
        data,
        &["--webhook", &hook, "--mail-to", "security@example.org"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        advisories(&doc["new"]),
        [pair("urllib3", "GHSA-v845-jxx5-vc9f")]
    );
    assert_eq!(posts().len(), 3);
    let body: Value = serde_json::from_slice(&posts()[2].body).unwrap();
    assert_eq!(advisories(&body["alerts"]), advisories(&doc["new"]));
    let mail: Vec<_> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("To: security@example.org")
            && mail[0].contains("GHSA-v845-jxx5-vc9f")
            && !mail[0].contains("GHSA-h5c8-rqwp-cp95"),
        "{}",
        mail[0]
    );

    // Removed, it is no longer scanned.
    let out = picket(data, &["monitor", "remove", "shop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = picket(data, &["monitor", "run", "--webhook", &hook]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("no project is monitored"));
    assert_eq!(posts().len(), 3);
}

/// A webhook receiver that takes one request at a time and answers 200 only when released: a run
/// whose POST it holds is mid-delivery. Returns its URL, the bodies as they arrive, and the
/// release.
fn held_webhook() -> (
    String,
    std::sync::mpsc::Receiver<Vec<u8>>,
    std::sync::mpsc::Sender<()>,
) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let (arrived, bodies) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            arrived.send(body).unwrap();
            if released.recv().is_err() {
                return;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, bodies, release)
}

#[test]
fn overlapping_runs_send_a_finding_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let project = shop(data);
    let out = picket(data, &["monitor", "add", project.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    import(data, &["GHSA-9wx4-h78v-vm56"]);

    // The first run, as cron starts it, is held in the middle of delivering its finding…
    let (held, bodies, release) = held_webhook();
    let first = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["--format", "json", "monitor", "run", "--webhook", &held])
        .env("PICKET_DATA_DIR", data)
        .env("HOME", data)
        .current_dir(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let body = bodies
        .recv_timeout(std::time::Duration::from_mins(1))
        .expect("the first run posts its finding");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        advisories(&body["alerts"]),
        [pair("requests", "GHSA-9wx4-h78v-vm56")]
    );

    // …when the next one starts: it does nothing, says why in one error and a hint, exits 2.
    let (hook, received) = recording_server();
    let hook = format!("{hook}/hook");
    let out = picket(data, &["monitor", "run", "--webhook", &hook]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: another `picket monitor` command is running on ")
            && stderr.contains("monitor.lock")
            && stderr.contains("\nhint: "),
        "{stderr}"
    );
    assert!(received.lock().unwrap().is_empty(), "nothing sent twice");
    // `add` and `remove` wait their turn too (a run saves the list when it ends).
    let out = picket(data, &["monitor", "remove", "shop"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // The first run ends well; the next one finds nothing new.
    release.send(()).unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    let (out, doc) = run(data, &["--webhook", &hook]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(doc["new"], serde_json::json!([]), "{doc}");
    assert!(received.lock().unwrap().is_empty());
    assert!(bodies.try_recv().is_err(), "one POST in all");
}
