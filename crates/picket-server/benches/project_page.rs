//! The web interface's project page for a project with 500 releases (issue 20 asks for ≤ 20 ms):
//! the whole request through the router — session lookup skipped (no cookie), the store's reads,
//! version sorting, the Markdown description rendered and sanitized, the template.
//!
//! `cargo bench -p picket-server --bench project_page`; a smoke run:
//! `cargo bench -p picket-server --bench project_page -- --test`.
#![allow(missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use picket_server::{AppState, ServeConfig, gate, router};
use picket_store::{NewUser, Store, Upload};
use tower::ServiceExt;

const RELEASES: usize = 500;

/// A README of the usual shape: headings, lists, code, a table, links (about 6 KB).
fn readme() -> String {
    let mut text = String::from("# bench-project\n\nA project with many releases.\n\n");
    for i in 0..20 {
        let _ = write!(
            text,
            "## Section {i}\n\nSome *text* with `code` and a [link](https://docs.example/{i}).\n\n\
             - one\n- two\n\n```python\nimport bench_project\nbench_project.run({i})\n```\n\n"
        );
    }
    text.push_str("| a | b |\n|---|---|\n| 1 | 2 |\n");
    text
}

fn setup(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> axum::Router {
    rt.block_on(async {
        let store = Store::open(dir).await.expect("store");
        let user = store
            .create_user(
                &NewUser {
                    username: "bench",
                    email: "bench@example.org",
                    password_hash: "x",
                    is_admin: false,
                    email_verified: true,
                    email_domain: None,
                    time_ms: 0,
                    signup_cap: None,
                },
                &[],
            )
            .await
            .expect("user");
        let metadata = serde_json::json!({
            "name": "bench-project",
            "summary": "A project with many releases",
            "description": readme(),
            "description_content_type": "text/markdown",
        });
        let artifact = serde_json::json!({});
        for i in 0..RELEASES {
            let version = format!("{}.{}.{}", i / 100, (i / 10) % 10, i % 10);
            let filename = format!("bench_project-{version}-py3-none-any.whl");
            let sha256 = picket_store::sha256_hex(filename.as_bytes());
            let mut release_metadata = metadata.clone();
            release_metadata["version"] = version.clone().into();
            store
                .record_upload(&Upload {
                    project: "bench-project",
                    version: &version,
                    filename: &filename,
                    packagetype: "bdist_wheel",
                    requires_python: Some(">=3.9"),
                    user_id: user.id,
                    user_name: "bench",
                    ip: None,
                    may_create: true,
                    sha256: &sha256,
                    size: 12_345,
                    md5: None,
                    blake2_256: None,
                    metadata_sha256: None,
                    release_metadata: &release_metadata,
                    artifact: &artifact,
                    summary: Some("A project with many releases"),
                    max_project_bytes: u64::MAX,
                    time_ms: i64::try_from(i).unwrap() * 1000,
                    quarantine: None,
                    commands: &[],
                    journal: &[],
                    skeleton_twins_seen: None,
                })
                .await
                .expect("upload");
        }
        let knowledge = gate::Knowledge::new(&[], "none".into(), &[]);
        let state = AppState::new(store, ServeConfig::default(), dir, knowledge).expect("state");
        router(state)
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = setup(&rt, dir.path());
    let rt = &rt;
    let get = |path: &'static str| {
        let app = app.clone();
        move || {
            rt.block_on(async {
                let response = app
                    .clone()
                    .oneshot(Request::get(path).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                black_box(
                    axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap(),
                )
            })
        }
    };
    let mut group = c.benchmark_group("web");
    let mut page = get("/project/bench-project/");
    group.bench_function("project page, 500 releases", |b| b.iter(&mut page));
    let mut release = get("/project/bench-project/4.9.9/");
    group.bench_function("release page, 500 releases", |b| b.iter(&mut release));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
