//! `picket check` online: a real pypiserver on loopback serving wheels pip builds in the test, and
//! a PEP 691 JSON index (yanked files, upload times, hashes) that pypiserver cannot serve.

mod common;

use common::{
    Canned, canned_server, canned_server_logged, check_json as check, package, picket, pip_wheel,
    project, pypiserver, text, venv,
};
use serde_json::Value;

fn ids(pkg: &Value) -> Vec<String> {
    pkg["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

const CODE: &str = "def main():\n    total = sum(range(10))\n    print(total)\n    return total\n";

#[test]
fn against_pypiserver_with_wheels_built_by_pip() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    for (name, version, init, scripts) in [
        ("hollow-thing", "0.0.1", "", ""),
        (
            "cloud-shortcuts",
            "1.0",
            CODE,
            "aws = \"cloud_shortcuts:main\"",
        ),
        ("pip-booster", "1.0", CODE, "pip = \"pip_booster:main\""),
        (
            "django-kit",
            "1.0",
            CODE,
            "django-admin = \"django_kit:main\"",
        ),
        ("sturdy-tool", "1.0", CODE, "sturdy = \"sturdy_tool:main\""),
        ("sturdy-tool", "1.1", CODE, "sturdy = \"sturdy_tool:main\""),
    ] {
        let src = tmp.path().join(format!("{name}-{version}"));
        project(&src, name, version, init, scripts);
        pip_wheel(&venv, &src, &packages);
    }
    let (_server, index) = pypiserver(&venv, &packages);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    let (code, doc) = check(
        &data,
        &index,
        &[
            "hollow-thing",
            "cloud-shortcuts",
            "pip-booster",
            "django-kit",
            "sturdy-tool",
            "no-such-project-here",
        ],
    );
    assert_eq!(code, Some(1), "{doc}");
    assert_eq!(doc["mode"], "online");

    let hollow = package(&doc, "hollow-thing");
    assert_eq!(hollow["exists"], true);
    assert_eq!(hollow["version"], "0.0.1");
    assert_eq!(hollow["verdict"], "block");
    assert!(
        ids(hollow).contains(&"empty-package".to_owned()),
        "{hollow}"
    );
    assert!(
        ids(hollow).contains(&"single-release".to_owned()),
        "{hollow}"
    );

    for (name, command, owner) in [
        ("cloud-shortcuts", "aws", Some("awscli")),
        ("pip-booster", "pip", Some("pip")),
        ("django-kit", "django-admin", Some("django")),
    ] {
        let pkg = package(&doc, name);
        let shadow = pkg["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "entrypoint-shadowing")
            .unwrap_or_else(|| panic!("{name}: {pkg}"));
        assert!(
            shadow["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{command}`"))
        );
        assert_eq!(shadow["target"].as_str(), owner, "{name}");
        assert_eq!(pkg["verdict"], "block", "{name}");
    }

    let sturdy = package(&doc, "sturdy-tool");
    assert_eq!(sturdy["version"], "1.1", "the newest release");
    assert_eq!(sturdy["verdict"], "allow", "{sturdy}");
    assert!(!ids(sturdy).contains(&"single-release".to_owned()));

    let missing = package(&doc, "no-such-project-here");
    assert_eq!(missing["exists"], false, "a 404 is absence");
    assert_eq!(missing["findings"][0]["id"], "nonexistent");

    // `picket scan` runs the same checks online, each located at its line.
    std::fs::write(
        data.join("requirements.txt"),
        "sturdy-tool==1.1\nhollow-thing==0.0.1\nno-such-project-here==1.0\n",
    )
    .unwrap();
    let out = picket(
        &data,
        &[
            "--format",
            "json",
            "scan",
            "--index",
            &index,
            "requirements.txt",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(scan["mode"], "online");
    let hollow = package(&scan, "hollow-thing");
    assert_eq!(hollow["source"]["line"], 2);
    assert_eq!(hollow["verdict"], "block");
    assert!(
        ids(hollow).contains(&"empty-package".to_owned()),
        "{hollow}"
    );
    let missing = package(&scan, "no-such-project-here");
    assert_eq!(missing["exists"], false);
    assert_eq!(missing["findings"][0]["id"], "nonexistent");
    assert_eq!(package(&scan, "sturdy-tool")["verdict"], "allow");

    // A release that exists on the index is picked when asked for.
    let (_, doc) = check(&data, &index, &["sturdy-tool==1.0"]);
    assert_eq!(package(&doc, "sturdy-tool")["version"], "1.0");
    let (code, doc) = check(&data, &index, &["sturdy-tool==9.9"]);
    assert_eq!(code, Some(2));
    assert!(
        package(&doc, "sturdy-tool")["error"]
            .as_str()
            .unwrap()
            .contains("no release 9.9")
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ` for `days_ago` days and one hour before now, so
/// that the age in whole days is `days_ago` whatever the time of day (a fixed
/// time of day made this "2 days" for a run before noon).
fn rfc3339_days_ago(days_ago: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let then = i64::try_from(now).unwrap() - days_ago * 86_400 - 3_600;
    let days = then.div_euclid(86_400);
    let secs = then.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

#[test]
fn yanked_new_and_tampered_releases_on_a_pep_691_index() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    for version in ["1.0", "2.0"] {
        let src = tmp.path().join(format!("yanky-{version}"));
        project(&src, "yanky", version, CODE, "");
        pip_wheel(&venv, &src, &dist);
    }
    let wheel = |v: &str| std::fs::read(dist.join(format!("yanky-{v}-py3-none-any.whl"))).unwrap();
    let sha = |bytes: &[u8]| {
        let out = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(bytes)?;
                c.wait_with_output()
            })
            .unwrap();
        text(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (w1, w2) = (wheel("1.0"), wheel("2.0"));
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "yanky",
        "versions": ["1.0", "2.0"],
        "files": [
            {"filename": "yanky-1.0-py3-none-any.whl", "url": "../../files/yanky-1.0-py3-none-any.whl",
             "hashes": {"sha256": sha(&w1)}, "size": w1.len(), "upload-time": rfc3339_days_ago(3)},
            {"filename": "yanky-2.0-py3-none-any.whl", "url": "/files/yanky-2.0-py3-none-any.whl",
             "hashes": {"sha256": sha(&w2)}, "size": w2.len(), "upload-time": rfc3339_days_ago(1),
             "yanked": "broke installs on Windows"}
        ]
    });
    let tampered = serde_json::json!({
        "meta": {"api-version": "1.1"}, "name": "tampered",
        "files": [{"filename": "tampered-1.0-py3-none-any.whl", "url": "/files/yanky-1.0-py3-none-any.whl",
                   "hashes": {"sha256": "00".repeat(32)}}]
    });
    let json = "application/vnd.pypi.simple.v1+json";
    let index = canned_server(vec![
        (
            "/simple/yanky/".into(),
            Canned {
                status: 200,
                content_type: json,
                body: page.to_string().into_bytes(),
            },
        ),
        (
            "/simple/tampered/".into(),
            Canned {
                status: 200,
                content_type: json,
                body: tampered.to_string().into_bytes(),
            },
        ),
        (
            "/files/yanky-1.0-py3-none-any.whl".into(),
            Canned {
                status: 200,
                content_type: "application/octet-stream",
                body: w1,
            },
        ),
        (
            "/files/yanky-2.0-py3-none-any.whl".into(),
            Canned {
                status: 200,
                content_type: "application/octet-stream",
                body: w2,
            },
        ),
    ]);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    let (_, doc) = check(&data, &index, &["yanky"]);
    let pkg = package(&doc, "yanky");
    assert_eq!(pkg["version"], "1.0", "pip skips the yanked 2.0");
    assert!(!ids(pkg).contains(&"yanked".to_owned()));
    let new = pkg["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "new-project")
        .expect("3 days old");
    assert!(
        new["message"].as_str().unwrap().contains("3 days ago"),
        "{new}"
    );

    let (_, doc) = check(&data, &index, &["yanky==2.0"]);
    let pkg = package(&doc, "yanky");
    let yanked = pkg["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "yanked")
        .expect("2.0 is yanked");
    assert!(
        yanked["message"]
            .as_str()
            .unwrap()
            .contains("broke installs on Windows")
    );

    let (code, doc) = check(&data, &index, &["tampered"]);
    assert_eq!(code, Some(2));
    assert!(
        package(&doc, "tampered")["error"]
            .as_str()
            .unwrap()
            .contains("but the index lists")
    );
}

#[test]
fn the_name_index_can_come_from_an_index_project_list() {
    let Some(venv) = venv() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let packages = tmp.path().join("packages");
    for name in ["internal-billing", "internal-auth"] {
        let src = tmp.path().join(name);
        project(&src, name, "1.0", CODE, "");
        pip_wheel(&venv, &src, &packages);
    }
    let (_server, index) = pypiserver(&venv, &packages);
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let out = picket(&data, &["names", "import", "--from-index", &index]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("imported 2 names (0 ranked)"),
        "{}",
        text(&out.stderr)
    );

    let out = picket(
        &data,
        &[
            "--format=json",
            "check",
            "--offline",
            "internal-auth",
            "internal-payroll",
            "reqeusts",
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(package(&doc, "internal-auth")["exists"], true);
    assert_eq!(package(&doc, "internal-payroll")["exists"], false);
    let reqeusts = package(&doc, "reqeusts");
    assert!(
        reqeusts["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["target"] == "requests"),
        "typosquats are still judged against the embedded popular list: {reqeusts}"
    );
}

#[test]
fn the_http_cache_revalidates_instead_of_refetching() {
    let tmp = tempfile::tempdir().unwrap();
    let wheel = picket_testkit::wheel(
        "cached-thing",
        "1.0",
        &[("cached_thing/__init__.py", b"def f():\n    return 1\n")],
    );
    let page = serde_json::json!({
        "meta": {"api-version": "1.1"}, "name": "cached-thing",
        "files": [{"filename": "cached_thing-1.0-py3-none-any.whl", "url": "/files/c.whl", "hashes": {}}]
    });
    let (index, served) = canned_server_logged(vec![
        (
            "/simple/cached-thing/".into(),
            Canned {
                status: 200,
                content_type: "application/vnd.pypi.simple.v1+json",
                body: page.to_string().into_bytes(),
            },
        ),
        (
            "/files/c.whl".into(),
            Canned {
                status: 200,
                content_type: "application/octet-stream",
                body: wheel,
            },
        ),
    ]);
    let first = check(tmp.path(), &index, &["cached-thing"]);
    let second = check(tmp.path(), &index, &["cached-thing"]);
    assert_eq!(first, second, "the cached answer gives the same result");
    let log = served.lock().unwrap().clone();
    let statuses: Vec<u16> = log.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [200, 200, 304, 304], "{log:?}");
}
