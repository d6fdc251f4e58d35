//! `picket admin backup` / `restore` (SQLite, while the registry serves) and `picket admin
//! migrate-db` (SQLite to PostgreSQL, checked by counts and digests), each followed by a real
//! `picket serve` on the result.

mod common;

use std::path::Path;

use common::registry::{Registry, registry_with_user};
use common::text;

const JSON: &str = "application/vnd.pypi.simple.v1+json";

fn versions(registry: &Registry, project: &str) -> Vec<String> {
    let (status, _, page) = registry.get(&format!("/simple/{project}/"), &[("Accept", JSON)]);
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_slice(&page).unwrap();
    page["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn upload(registry: &Registry, token: &str, version: &str) {
    let (status, body) = registry.upload_wheel(
        token,
        "moved",
        version,
        &[("moved/__init__.py", format!("V = '{version}'\n").as_bytes())],
    );
    assert_eq!(status, 200, "{body}");
}

fn admin(data: &Path, args: &[&str]) -> serde_json::Value {
    let out = common::admin_json(data, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_backup_taken_while_serving_restores_the_registry_as_it_was() {
    if picket_testkit::database::postgres() {
        eprintln!("skipped: backup and restore are for SQLite (PostgreSQL: pg_dump)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let data = registry.data.clone();
    upload(&registry, &token, "1.0");
    let file = tmp.path().join("backup.db");
    let out = admin(&data, &["backup", file.to_str().unwrap()]);
    assert!(out["bytes"].as_u64().unwrap() > 0, "{out}");
    // A second backup to the same file is refused rather than overwriting it.
    let again = common::admin_json(&data, &["backup", file.to_str().unwrap()]);
    assert!(!again.status.success());
    upload(&registry, &token, "2.0");
    assert_eq!(versions(&registry, "moved"), ["1.0", "2.0"]);
    drop(registry);

    let out = admin(&data, &["restore", file.to_str().unwrap()]);
    let projects = out["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "projects")
        .unwrap();
    assert_eq!(projects["rows"], 1);
    assert!(data.join("picket.db.before-restore").is_file());
    let registry = Registry::start(&data, &[]);
    assert_eq!(versions(&registry, "moved"), ["1.0"]);
    // The restored registry takes uploads again (the same token, ids carry on).
    upload(&registry, &token, "3.0");
    assert_eq!(versions(&registry, "moved"), ["1.0", "3.0"]);
}

#[test]
fn migrate_db_moves_a_sqlite_registry_to_postgresql() {
    if picket_testkit::database::postgres() {
        eprintln!("skipped: the source of this migration is SQLite (run on the SQLite pass)");
        return;
    }
    if picket_testkit::database::cluster().is_none() {
        return;
    }
    let target = picket_testkit::database::create_blocking().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (registry, token) = registry_with_user(tmp.path(), &[]);
    let data = registry.data.clone();
    upload(&registry, &token, "1.0");
    upload(&registry, &token, "1.1");
    drop(registry);

    let out = admin(&data, &["migrate-db", "--to", &target]);
    let tables = out["tables"].as_array().unwrap();
    let rows = |name: &str| {
        tables.iter().find(|t| t["table"] == name).unwrap()["rows"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        (rows("projects"), rows("files"), rows("users")),
        (1, 2, 1),
        "{out}"
    );
    assert!(rows("events") > 0);
    let password = target
        .split('@')
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap();
    assert!(!out.to_string().contains(password), "{out}");
    // Into a database that already holds a registry, nothing is copied.
    let twice = common::admin_json(&data, &["migrate-db", "--to", &target]);
    assert!(!twice.status.success());
    assert!(
        text(&twice.stderr).contains("already holds data"),
        "{}",
        text(&twice.stderr)
    );

    // The same data directory (files) on the PostgreSQL database: everything is there, the
    // token works, and new rows get fresh ids.
    let registry = Registry::start(&data, &[("PICKET_DATABASE_URL", &target)]);
    assert_eq!(versions(&registry, "moved"), ["1.0", "1.1"]);
    upload(&registry, &token, "2.0");
    assert_eq!(versions(&registry, "moved"), ["1.0", "1.1", "2.0"]);
}
