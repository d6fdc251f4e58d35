//! `picket serve` refuses a bad configuration at start — an unreachable database, wrong
//! credentials, a schema newer than the binary, a bucket that refuses writes — with one `error:`
//! line and a non-zero exit, before it listens (never at the first request); and it sweeps the
//! temporary files a `kill -9` in the middle of an upload leaves in the local file store.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::registry::{Registry, registry_with_user};
use common::text;

/// `picket serve` on `data` with `env`, expected to stop by itself.
fn serve_fails(data: &Path, env: &[(&str, &str)]) -> Output {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("PICKET_LOG", "warn");
    common::use_database(&mut cmd, data);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(!out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("listening"),
        "{}",
        text(&out.stdout)
    );
    out
}

/// The one line `picket serve` said, which must start with `start`.
fn one_line(out: &Output, start: &str) -> String {
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with(start), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn an_unreachable_database_stops_serve_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let url = format!("postgres://picket:secret@127.0.0.1:{port}/registry");
    let out = serve_fails(&tmp.path().join("data"), &[("PICKET_DATABASE_URL", &url)]);
    let line = one_line(
        &out,
        "error: database: can't connect to postgres://picket:***@127.0.0.1:",
    );
    assert!(line.contains("Connection refused"), "{line}");
    assert!(!line.contains("secret"), "{line}");
}

#[test]
fn wrong_database_credentials_stop_serve_at_start() {
    let Some(cluster) = picket_testkit::database::cluster() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (credentials, rest) = cluster
        .strip_prefix("postgres://")
        .unwrap()
        .split_once('@')
        .unwrap();
    let user = credentials.split(':').next().unwrap();
    let wrong = format!("postgres://{user}:not-the-password@{rest}");
    let out = serve_fails(&tmp.path().join("data"), &[("PICKET_DATABASE_URL", &wrong)]);
    let line = one_line(&out, "error: database: can't connect to postgres://");
    assert!(line.contains("password authentication failed"), "{line}");
    assert!(!line.contains("not-the-password"), "{line}");
}

#[test]
fn a_schema_newer_than_the_binary_stops_serve_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // `picket admin` creates the schema (on this run's backend), then a newer picket is
    // pretended to have migrated it further.
    let out = common::admin_json(&data, &["list-users"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let url = common::database_for(&data)
        .unwrap_or_else(|| format!("sqlite://{}", data.join("picket.db").display()));
    let checksum = if url.starts_with("sqlite:") {
        "x'00'"
    } else {
        "'\\x00'::bytea"
    };
    picket_testkit::database::execute_blocking(
        &url,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES (20991231000000, 'from a newer picket', TRUE, {checksum}, 1)"
        ),
    );
    let out = serve_fails(&data, &[]);
    let line = one_line(
        &out,
        "error: database: the database schema is newer than this picket",
    );
    assert!(line.contains("20991231000000"), "{line}");
    // `picket admin` refuses it the same way.
    let out = common::admin_json(&data, &["list-users"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("newer than this picket"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bucket_that_refuses_writes_stops_serve_at_start() {
    let Some(venv) = common::venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // picket's keys are unknown to moto, which checks them after the request that makes the
    // bucket: every write is refused (403).
    let (_s3, endpoint) =
        common::registry::s3_bucket(&venv, "dists", &[("INITIAL_NO_AUTH_ACTION_COUNT", "1")]);
    let out = serve_fails(
        &tmp.path().join("data"),
        &[
            ("PICKET_SERVE_STORAGE_URL", "s3://dists/picket"),
            ("AWS_ENDPOINT", &endpoint),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "unknown"),
            ("AWS_SECRET_ACCESS_KEY", "unknown"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    let line = one_line(
        &out,
        "error: storage: s3://dists/picket: the storage refused a test write",
    );
    assert!(line.contains("403"), "{line}");
}

#[test]
fn temporary_files_a_kill_during_an_upload_leaves_are_swept_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let (status, body) = registry.upload_wheel(
        &token,
        "kept",
        "1.0",
        &[("kept/__init__.py", b"VALUE = 1\n")],
    );
    assert_eq!(status, 200, "{body}");
    let data = registry.data.clone();
    let (_, _, page) = registry.get(
        "/simple/kept/",
        &[("Accept", "application/vnd.pypi.simple.v1+json")],
    );
    let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
    let sha = page["files"][0]["hashes"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = page["files"][0]["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(&registry.base).unwrap_or(&url).to_owned();
    drop(registry); // SIGKILL
    // What a `kill -9` in the middle of writing a second upload leaves: its temporary file
    // beside the stored blobs, named with the dead writer's pid (pid_max is at most 2^22).
    let blob = data
        .join("files")
        .join(&sha[..2])
        .join(&sha[2..4])
        .join(&sha);
    assert!(blob.is_file());
    let other = "ab".repeat(32);
    let folder = data.join("files").join(&other[..2]).join(&other[2..4]);
    std::fs::create_dir_all(&folder).unwrap();
    let leftover = folder.join(format!(".{other}.999999999.0.tmp"));
    std::fs::write(&leftover, vec![7_u8; 1 << 20]).unwrap();

    let registry = Registry::start(&data, &[]);
    assert!(
        !leftover.exists(),
        "the interrupted write's temporary file is swept"
    );
    assert!(blob.is_file(), "stored files are kept");
    let (status, _, bytes) = registry.get(&path, &[]);
    assert_eq!(status, 200);
    assert_eq!(picket_store::sha256_hex(&bytes), sha);
}
