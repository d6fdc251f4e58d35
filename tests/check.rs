//! `picket check` and `picket names`, as a user runs them: offline against the embedded and an
//! imported index, and online against real index servers on loopback.

mod common;

use std::path::Path;

use common::{Canned, canned_server, package, picket, picket_with_stdin, text};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn finding<'a>(pkg: &'a Value, id: &str) -> Option<&'a Value> {
    pkg["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
}

#[test]
fn known_typosquats_are_blocked_with_their_target() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("reqeusts", "requests"),
        ("python3-dateutil", "python-dateutil"),
        ("colourama", "colorama"),
        ("urlib3", "urllib3"),
        ("beautifulsup4", "beautifulsoup4"),
        ("djanga", "django"),
        ("pythondateutil", "python-dateutil"),
    ];
    let names: Vec<&str> = cases.iter().map(|(n, _)| *n).collect();
    let mut args = vec!["--format", "json", "check", "--offline"];
    args.extend(&names);
    let out = picket(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let doc = json(&out);
    for (name, target) in cases {
        let pkg = package(&doc, name);
        // One edit of a short name (`django`, 6 letters) warns: issue 13 asks for warn, not
        // block, where the evidence is one short edit.
        let want = if name == "djanga" { "warn" } else { "block" };
        assert_eq!(pkg["verdict"], want, "{name}");
        let f = &pkg["findings"][0];
        assert!(
            f["id"] == "typosquat" || f["id"] == "confusable",
            "{name}: {f}"
        );
        assert_eq!(f["target"], target, "{name}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains(&format!("did you mean `{target}`"))
        );
    }
}

#[test]
fn popular_projects_pass_and_the_contract_holds() {
    let dir = tempfile::tempdir().unwrap();
    let out = picket(
        dir.path(),
        &[
            "--format",
            "json",
            "check",
            "--offline",
            "requests",
            "Django==5.0",
            "python_dateutil",
            "pyyaml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let doc = json(&out);
    assert_eq!(doc["mode"], "offline");
    for pkg in doc["packages"].as_array().unwrap() {
        assert_eq!(pkg["verdict"], "allow", "{pkg}");
        assert_eq!(pkg["exists"], true, "{pkg}");
        for key in [
            "name",
            "normalized",
            "version",
            "exists",
            "verdict",
            "findings",
        ] {
            assert!(pkg.get(key).is_some(), "missing {key} in {pkg}");
        }
    }
    let django = package(&doc, "Django");
    assert_eq!(django["normalized"], "django");
    assert_eq!(django["version"], "5.0");
    assert_eq!(
        package(&doc, "python_dateutil")["normalized"],
        "python-dateutil"
    );
}

#[test]
fn without_an_index_it_says_it_ran_offline() {
    let dir = tempfile::tempdir().unwrap();
    let out = picket(dir.path(), &["check", "requests"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("hint: no package index configured"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).starts_with("ALLOW"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn names_come_from_stdin_and_fail_on_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let stdin = "# requirements I was told to install\nrequests\nnumpy-utils\n\n";
    let out = picket_with_stdin(
        dir.path(),
        &["--format=json", "check", "--offline", "-"],
        stdin,
    );
    let doc = json(&out);
    assert_eq!(doc["packages"].as_array().unwrap().len(), 2);
    assert_eq!(package(&doc, "numpy-utils")["verdict"], "warn");
    assert_eq!(
        out.status.code(),
        Some(0),
        "warn is below the default fail level"
    );
    let out = picket_with_stdin(
        dir.path(),
        &["check", "--offline", "--fail-on", "warn", "-"],
        stdin,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_policy_file_allow_lists_and_tunes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("picket.toml"),
        "[check]\nallow = [\"Reqeusts\"]\nfail-on = \"warn\"\n",
    )
    .unwrap();
    let out = picket(
        dir.path(),
        &[
            "--format=json",
            "check",
            "--offline",
            "reqeusts",
            "numpy-utils",
        ],
    );
    let doc = json(&out);
    assert_eq!(package(&doc, "reqeusts")["verdict"], "allow");
    assert_eq!(
        package(&doc, "reqeusts")["findings"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "numpy-utils warns and fail-on is warn"
    );

    std::fs::write(
        dir.path().join("picket.toml"),
        "[check]\nfail_on = \"warn\"\n",
    )
    .unwrap();
    let out = picket(dir.path(), &["check", "--offline", "requests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown field `fail_on`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_names_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = picket(dir.path(), &["check", "--offline", "-not-a-name"]);
    assert_eq!(out.status.code(), Some(2));
    let out = picket(dir.path(), &["check", "--offline", "requests==x.y!"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a valid version"));
}

#[test]
fn one_invalid_name_among_a_thousand_is_that_entrys_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut stdin: String = (0..999).fold(String::new(), |mut all, i| {
        all.push_str("some-project-");
        all.push_str(&i.to_string());
        all.push('\n');
        all
    });
    stdin.insert_str(
        stdin.match_indices('\n').nth(499).unwrap().0 + 1,
        "r\u{e9}quests\n",
    );
    let out = picket_with_stdin(
        dir.path(),
        &["--format", "json", "check", "--offline", "-"],
        &stdin,
    );
    assert_eq!(out.status.code(), Some(2), "an entry failed");
    let doc = json(&out);
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1000, "every entry is reported, in order");
    assert_eq!(packages[500]["name"], "r\u{e9}quests");
    assert!(
        packages[500]["error"]
            .as_str()
            .unwrap()
            .contains("r\u{e9}quests"),
        "{}",
        packages[500]
    );
    assert_eq!(packages[499]["name"], "some-project-499");
    assert_eq!(packages[501]["name"], "some-project-500");
    assert!(packages.iter().filter(|p| p.get("error").is_some()).count() == 1);
    assert!(
        text(&out.stderr).contains("r\u{e9}quests"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn standard_library_names_are_reported_as_nothing_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = picket(
        dir.path(),
        &[
            "--format=json",
            "check",
            "--offline",
            "json",
            "asyncio",
            "requests",
        ],
    );
    let doc = json(&out);
    // Not a ranked project: worth a look.
    let plain = package(&doc, "json");
    let f = finding(plain, "stdlib-name").expect("a standard-library module");
    assert_eq!(f["severity"], "medium");
    assert!(
        f["message"].as_str().unwrap().contains("comes with Python"),
        "{f}"
    );
    assert_eq!(plain["verdict"], "warn");
    // The asyncio backport is an established project (ranked): said, but allowed.
    let backport = package(&doc, "asyncio");
    assert_eq!(finding(backport, "stdlib-name").unwrap()["severity"], "low");
    assert_eq!(backport["verdict"], "allow");
    assert!(finding(package(&doc, "requests"), "stdlib-name").is_none());
}

#[test]
fn names_ai_assistants_are_known_to_invent_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    // With the embedded list: it can't be told whether the name exists, so look before installing.
    let out = picket(
        dir.path(),
        &["--format=json", "check", "--offline", "aetherplot"],
    );
    let doc = json(&out);
    let f = finding(package(&doc, "aetherplot"), "known-hallucination").expect("on the watchlist");
    assert_eq!(f["severity"], "medium");
    assert_eq!(package(&doc, "aetherplot")["verdict"], "warn");
    // With the full index: registered after the study, unranked (slopsquatting), or absent.
    let out = import(
        dir.path(),
        "name\tlatest_version\tlatest_release_month\tdownload_rank\n\
         requests\t2.32.0\t2026-05\t6\naetherplot\t0.0.1\t2026-06\t\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = picket(
        dir.path(),
        &["--format=json", "check", "--offline", "aetherplot", "ajust"],
    );
    let doc = json(&out);
    let squatted = package(&doc, "aetherplot");
    assert_eq!(squatted["verdict"], "block");
    let f = finding(squatted, "known-hallucination").unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("latest release is 2026-06"),
        "{f}"
    );
    let absent = package(&doc, "ajust");
    assert_eq!(absent["exists"], false);
    assert_eq!(
        finding(absent, "known-hallucination").unwrap()["severity"],
        "high"
    );
}

fn import(dir: &Path, tsv: &str) -> std::process::Output {
    let file = dir.join("snapshot.tsv");
    std::fs::write(&file, tsv).unwrap();
    picket(dir, &["names", "import", file.to_str().unwrap()])
}

#[test]
fn an_imported_index_knows_what_does_not_exist_and_what_looks_invented() {
    let dir = tempfile::tempdir().unwrap();
    let out = import(
        dir.path(),
        "name\tlatest_version\tlatest_release_month\tdownload_rank\n\
         requests\t2.32.0\t2026-05\t6\npandas\t2.0\t2026-10\t30\n\
         pandas-helper\t0.1\t2026-11\t\nflask-login\t0.6\t2024-01\t\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("imported 4 names (2 ranked)"));

    let out = picket(
        dir.path(),
        &[
            "--format=json",
            "check",
            "--offline",
            "reqeusts",
            "requests-toolkit",
            "pandas-helper",
            "flask-login",
        ],
    );
    let doc = json(&out);
    let reqeusts = package(&doc, "reqeusts");
    assert_eq!(reqeusts["exists"], false);
    assert_eq!(reqeusts["findings"][0]["id"], "nonexistent");
    assert!(finding(reqeusts, "typosquat").is_some());
    let invented = package(&doc, "requests-toolkit");
    assert_eq!(invented["exists"], false);
    assert!(
        invented["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("slopsquatting")
    );
    let pattern = package(&doc, "pandas-helper");
    assert_eq!(pattern["exists"], true);
    let f = finding(pattern, "hallucination-pattern").expect("obscure and new");
    assert_eq!(f["severity"], "medium");
    assert_eq!(package(&doc, "flask-login")["verdict"], "allow");
}

#[test]
fn a_malformed_snapshot_is_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = import(
        dir.path(),
        "name\tlatest_version\tlatest_release_month\tdownload_rank\nok\t1\t2020-01\t\n-bad\t1\t\t\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 3: `-bad` is not a valid project name"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("names.fst").exists(),
        "nothing half-written"
    );
}

#[test]
fn sweep_writes_suspects_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        "name\tlatest_version\tlatest_release_month\tdownload_rank\n\
         requests\t2\t2026-05\t6\nreqeusts\t0.1\t2026-06\t\ncolorama\t1\t2026-01\t81\nfine-name\t1\t2026-01\t\n",
    );
    let out = picket(dir.path(), &["names", "sweep"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["name"], "reqeusts");
    assert_eq!(lines[0]["matches"][0]["target"], "requests");
    assert_eq!(lines[0]["matches"][0]["technique"], "transposition");
}

#[test]
fn index_failures_are_errors_never_nonexistence() {
    let dir = tempfile::tempdir().unwrap();
    let huge = Canned {
        status: 200,
        content_type: "application/vnd.pypi.simple.v1+json",
        body: vec![b' '; 33 << 20],
    };
    let index = canned_server(vec![
        (
            "/simple/broken/".into(),
            Canned {
                status: 500,
                content_type: "text/plain",
                body: b"oops".to_vec(),
            },
        ),
        (
            "/simple/garbled/".into(),
            Canned {
                status: 200,
                content_type: "application/vnd.pypi.simple.v1+json",
                body: b"{\"files\": [".to_vec(),
            },
        ),
        ("/simple/enormous/".into(), huge),
    ]);
    for (name, expected) in [
        ("broken", "answered HTTP 500"),
        ("garbled", "invalid simple-API JSON"),
        ("enormous", "sent more than"),
    ] {
        let out = picket(
            dir.path(),
            &["--format=json", "check", "--index", &index, name],
        );
        assert_eq!(out.status.code(), Some(2), "{name}");
        let doc = json(&out);
        let pkg = package(&doc, name);
        assert!(
            pkg["error"].as_str().unwrap().contains(expected),
            "{name}: {pkg}"
        );
        assert_ne!(pkg["exists"], false, "{name}: a failure is not absence");
    }
    // Nothing listens on this port.
    let closed = format!("http://127.0.0.1:{}/simple/", common::free_port());
    let out = picket(dir.path(), &["check", "--index", &closed, "requests"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stdout).contains("no answer from"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn ignore_entries_leave_a_finding_out_until_their_date() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("picket.toml"),
        "[[check.ignore]]\nid = \"typosquat\"\npackage = \"djnago\"\nuntil = \"2999-01-01\"\nreason = \"our fork\"\n\n\
         [[check.ignore]]\nid = \"typosquat\"\npackage = \"reqeusts\"\nuntil = \"2000-01-01\"\nreason = \"expired\"\n",
    )
    .unwrap();
    let out = picket(
        tmp.path(),
        &[
            "--format",
            "json",
            "check",
            "--offline",
            "djnago",
            "reqeusts",
        ],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(package(&doc, "djnago")["verdict"], "allow");
    assert_eq!(package(&doc, "reqeusts")["verdict"], "block");
    assert_eq!(out.status.code(), Some(1));
}
