//! The store against a real database: SQLite in a temporary folder, or (under
//! `PICKET_TEST_BACKEND=postgres`, see `scripts/test`) a PostgreSQL database of the test's own.

use std::path::Path;
use std::sync::Arc;

use picket_store::{
    AdminAction, AdminContext, Event, NewUser, Store, StoreConfig, StoreError, TokenScope, Upload,
    UploadOutcome, sha256_hex,
};
use serde_json::json;

const T: i64 = 1_750_000_000_000;

/// Where a test's store lives: SQLite in `dir`, or a fresh PostgreSQL database.
async fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        data_dir: dir.to_owned(),
        database_url: picket_testkit::database::fresh_url().await,
        storage_url: None,
    }
}

async fn open(dir: &Path) -> Store {
    Store::connect(&config(dir).await).await.unwrap()
}

async fn user(store: &Store, name: &str) -> i64 {
    store
        .create_user(
            &NewUser {
                email_domain: None,
                username: name,
                email: &format!("{name}@example.org"),
                password_hash: "$argon2id$stub",
                is_admin: false,
                email_verified: true,
                time_ms: T,
                signup_cap: None,
            },
            &[Event::new("account.create", T, Some(name), None, json!({}))],
        )
        .await
        .unwrap()
        .id
}

fn upload<'a>(
    project: &'a str,
    version: &'a str,
    filename: &'a str,
    sha256: &'a str,
    user: (i64, &'a str),
) -> Upload<'a> {
    static EMPTY: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| json!({}));
    Upload {
        project,
        version,
        filename,
        packagetype: if filename.contains("-py3-") {
            "bdist_wheel"
        } else {
            "sdist"
        },
        requires_python: Some(">=3.9"),
        user_id: user.0,
        user_name: user.1,
        ip: Some("127.0.0.1"),
        may_create: true,
        sha256,
        size: 10,
        md5: None,
        blake2_256: None,
        metadata_sha256: None,
        release_metadata: &EMPTY,
        artifact: &EMPTY,
        summary: Some("demo"),
        max_project_bytes: 1000,
        time_ms: T,
        quarantine: None,
        commands: &[],
        journal: &[],
        skeleton_twins_seen: None,
    }
}

#[tokio::test]
async fn creates_everything_on_first_open_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir.path().join("data")).await;
    let store = Store::connect(&config).await.unwrap();
    store.create_project("Demo_Pkg", 1).await.unwrap();
    store.close().await;
    let again = Store::connect(&config).await.unwrap();
    assert_eq!(
        again.projects().await.unwrap(),
        [("Demo_Pkg".to_owned(), "demo-pkg".to_owned())]
    );
    assert!(dir.path().join("data/files").is_dir());
    assert_eq!(
        dir.path().join("data/picket.db").exists(),
        config.database_url.is_none()
    );
}

#[tokio::test]
async fn a_normalized_name_is_registered_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store.create_project("demo-pkg", 1).await.unwrap();
    let err = store.create_project("Demo.Pkg", 2).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ProjectExists { ref existing } if existing == "demo-pkg"),
        "{err}"
    );
}

#[tokio::test]
async fn a_look_alike_created_while_the_gate_judged_fails_the_upload() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    let sha = "a".repeat(64);
    store
        .record_upload(&upload(
            "racetwin",
            "1.0",
            "racetwin-1.0.tar.gz",
            &sha,
            (alice, "alice"),
        ))
        .await
        .unwrap();
    // The gate saw no twin of `racetw1n`; one exists now.
    let sha2 = "b".repeat(64);
    let mut up = upload(
        "racetw1n",
        "1.0",
        "racetw1n-1.0.tar.gz",
        &sha2,
        (alice, "alice"),
    );
    up.skeleton_twins_seen = Some(&[]);
    let err = store.record_upload(&up).await.unwrap_err();
    assert!(
        matches!(err, StoreError::SimilarNameCreated { ref existing, .. } if existing == "racetwin"),
        "{err}"
    );
    assert!(store.project("racetw1n").await.unwrap().is_none());
    // A twin the gate saw (and let through) does not fail it.
    let seen = [("racetwin".to_owned(), "racetwin".to_owned())];
    up.skeleton_twins_seen = Some(&seen);
    store.record_upload(&up).await.unwrap();
}

#[tokio::test]
async fn usernames_are_unique_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    user(&store, "Alice").await;
    let err = store
        .create_user(
            &NewUser {
                email_domain: None,
                username: "alice",
                email: "a@example.org",
                password_hash: "x",
                is_admin: false,
                email_verified: false,
                time_ms: T,
                signup_cap: None,
            },
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UserExists(ref u) if u == "Alice"),
        "{err}"
    );
    assert_eq!(
        store.user("ALICE").await.unwrap().unwrap().username,
        "Alice"
    );
}

#[tokio::test]
async fn an_upload_creates_the_project_with_its_owner_and_journals_both() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let sha = store.put_blob(Arc::from(&b"wheel one"[..])).await.unwrap();
    assert_eq!(sha, sha256_hex(b"wheel one"));
    let up = upload(
        "Demo",
        "1.0",
        "demo-1.0-py3-none-any.whl",
        &sha,
        (alice, "alice"),
    );
    assert_eq!(
        store.record_upload(&up).await.unwrap(),
        UploadOutcome::Stored {
            created_project: true
        }
    );
    assert_eq!(store.owners("demo").await.unwrap(), ["alice"]);
    // The same file again: nothing changes.
    assert_eq!(
        store.record_upload(&up).await.unwrap(),
        UploadOutcome::Duplicate
    );
    // Same name, other content.
    let other = sha256_hex(b"other");
    let err = store
        .record_upload(&upload(
            "Demo",
            "1.0",
            "demo-1.0-py3-none-any.whl",
            &other,
            (alice, "alice"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::FileExists { .. }), "{err}");
    // Someone else's project.
    let err = store
        .record_upload(&upload(
            "demo",
            "2.0",
            "demo-2.0.tar.gz",
            &other,
            (bob, "bob"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotOwner { .. }), "{err}");
    // One sdist per release.
    store
        .record_upload(&upload(
            "demo",
            "1.0",
            "demo-1.0.tar.gz",
            &other,
            (alice, "alice"),
        ))
        .await
        .unwrap();
    let err = store
        .record_upload(&upload(
            "demo",
            "1.0",
            "demo-1.0.zip",
            &other,
            (alice, "alice"),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SdistExists { .. }), "{err}");
    // The project's size limit (10 bytes a file here).
    let mut big = upload("demo", "3.0", "demo-3.0.tar.gz", &other, (alice, "alice"));
    big.size = 990;
    let err = store.record_upload(&big).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::ProjectTooLarge {
                size: 1010,
                limit: 1000,
                ..
            }
        ),
        "{err}"
    );

    let files = store.project_files("DEMO").await.unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].sha256, sha);
    let kinds: Vec<_> = store
        .events_since(0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "account.create",
            "account.create",
            "project.create",
            "file.upload",
            "file.upload"
        ],
        "refused uploads journal nothing"
    );
}

#[tokio::test]
async fn a_removed_filename_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    let sha = sha256_hex(b"one");
    let up = upload("demo", "1.0", "demo-1.0.tar.gz", &sha, (alice, "alice"));
    store.record_upload(&up).await.unwrap();
    let removal = store.remove_release("demo", "1.0", &[]).await.unwrap();
    assert_eq!(removal.files, ["demo-1.0.tar.gz"]);
    for content in [&sha, &sha256_hex(b"two")] {
        let err = store
            .record_upload(&upload(
                "demo",
                "1.0",
                "demo-1.0.tar.gz",
                content,
                (alice, "alice"),
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::FilenameReused(_)), "{err}");
    }
}

#[tokio::test]
async fn yanking_marks_every_file_of_the_release_and_journals_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    for f in ["demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"] {
        store
            .record_upload(&upload(
                "demo",
                "1.0",
                f,
                &sha256_hex(f.as_bytes()),
                (alice, "alice"),
            ))
            .await
            .unwrap();
    }
    let yank = Event::new("release.yank", T + 1, Some("alice"), None, json!({}));
    store
        .set_yanked(
            "Demo",
            "1.0",
            true,
            Some("broken"),
            std::slice::from_ref(&yank),
        )
        .await
        .unwrap();
    let files = store.project_files("demo").await.unwrap();
    assert!(
        files
            .iter()
            .all(|f| f.yanked && f.yanked_reason.as_deref() == Some("broken"))
    );
    let err = store
        .set_yanked("demo", "9.9", true, None, &[yank])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoRelease { .. }), "{err}");
    let yanks = store
        .events_since(T + 1)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "release.yank")
        .count();
    assert_eq!(yanks, 1, "the failed yank wrote no event");
}

#[tokio::test]
async fn tokens_work_until_revoked_or_the_account_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    let scope = TokenScope::Projects(vec!["demo".into()]);
    let id = store
        .create_token(alice, "ci", &scope, "hash-1", "pkt-abc", &[])
        .await
        .unwrap();
    let (who, token) = store
        .authenticate_token("hash-1", T)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(who.username, "alice");
    assert!(token.scope.allows("demo") && !token.scope.allows("other"));
    assert_eq!(store.tokens(alice).await.unwrap()[0].last_used_at, Some(T));
    assert!(
        store
            .authenticate_token("hash-2", T)
            .await
            .unwrap()
            .is_none()
    );

    store.set_disabled("alice", true, &[]).await.unwrap();
    assert!(
        store
            .authenticate_token("hash-1", T)
            .await
            .unwrap()
            .is_none()
    );
    store.set_disabled("alice", false, &[]).await.unwrap();
    assert!(
        store
            .authenticate_token("hash-1", T)
            .await
            .unwrap()
            .is_none(),
        "enabling the account again does not bring its tokens back"
    );
    assert!(
        store.tokens(alice).await.unwrap()[0].revoked_at.is_some(),
        "the token is listed as revoked"
    );
    assert!(!store.revoke_token(alice, id, &[]).await.unwrap(), "once");
    store
        .create_token(alice, "ci-2", &scope, "hash-3", "pkt-def", &[])
        .await
        .unwrap();
    assert!(store.revoke_token(alice, id + 1, &[]).await.unwrap());
    assert!(
        store
            .authenticate_token("hash-3", T)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_verification_link_works_once_and_not_after_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let id = store
        .create_user(
            &NewUser {
                email_domain: None,
                username: "carol",
                email: "carol@example.org",
                password_hash: "x",
                is_admin: false,
                email_verified: false,
                time_ms: T,
                signup_cap: None,
            },
            &[],
        )
        .await
        .unwrap()
        .id;
    store
        .create_verification(id, "carol@example.org", "v1", T, T + 10)
        .await
        .unwrap();
    store
        .create_verification(id, "carol@example.org", "v2", T, T + 10)
        .await
        .unwrap();
    let event = |u: &picket_store::User, e: &str| {
        Event::new(
            "account.email.verify",
            T,
            Some(&u.username),
            None,
            json!({ "email": e }),
        )
    };
    assert!(
        store
            .use_verification("v2", T + 10, event)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let (user, email) = store
        .use_verification("v1", T + 5, event)
        .await
        .unwrap()
        .unwrap();
    assert!(user.email_verified);
    assert_eq!(email, "carol@example.org");
    assert!(
        store
            .use_verification("v1", T + 6, event)
            .await
            .unwrap()
            .is_none(),
        "used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_queue_instead_of_failing() {
    // Regression: deferred transactions failed with "database is locked" (SQLITE_BUSY_SNAPSHOT)
    // when four uploads ran at once.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let alice = user(&store, "alice").await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let project = format!("proj-{}", i % 8);
            let filename = format!("proj_{}-1.{i}-py3-none-any.whl", i % 8);
            let version = format!("1.{i}");
            let sha = sha256_hex(filename.as_bytes());
            store
                .record_upload(&upload(
                    &project,
                    &version,
                    &filename,
                    &sha,
                    (alice, "alice"),
                ))
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(UploadOutcome::Stored { created_project }) => {
                created += usize::from(created_project);
            }
            Ok(UploadOutcome::Duplicate) => panic!("no duplicates here"),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(created, 8);
}

#[tokio::test]
async fn rate_limits_allow_the_quota_then_refuse_and_refill() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path()).await;
    let store = Store::connect(&config).await.unwrap();
    let minute = 60_000;
    // 3 per minute: three at once, the fourth refused with the wait for one slot.
    for left in [2, 1, 0] {
        let d = store.rate_check("k", 3, minute, T).await.unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, left);
    }
    let refused = store.rate_check("k", 3, minute, T).await.unwrap();
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after_ms, 20_000);
    // Refused attempts don't push the window out.
    for _ in 0..10 {
        assert!(
            !store
                .rate_check("k", 3, minute, T + 1000)
                .await
                .unwrap()
                .allowed
        );
    }
    assert!(
        store
            .rate_check("k", 3, minute, T + 20_000)
            .await
            .unwrap()
            .allowed
    );
    // Another key is independent; state survives reopening.
    assert!(
        store
            .rate_check("other", 3, minute, T)
            .await
            .unwrap()
            .allowed
    );
    store.close().await;
    let store = Store::connect(&config).await.unwrap();
    assert!(
        !store
            .rate_check("k", 3, minute, T + 20_000)
            .await
            .unwrap()
            .allowed
    );
    assert_eq!(store.prune_rate_limits(T + 10 * minute).await.unwrap(), 2);
}

#[tokio::test]
async fn domain_history_counts_the_last_hour_apart_from_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let hour = 3_600_000;
    let mut past: Vec<(String, i64)> = (1..=48)
        .map(|h| ("big.example".to_owned(), T - h * hour - 1))
        .collect();
    past.push(("big.example".into(), T - 60_000));
    past.push(("other.example".into(), T - 60_000));
    store.import_signups(&past).await.unwrap();
    let (recent, history) = store
        .domain_signups("big.example", T, hour, 24 * hour)
        .await
        .unwrap();
    assert_eq!(recent, 1);
    // 24 hours of history before the last hour: about 23-24 of the hourly sign-ups.
    assert!((22..=24).contains(&history), "{history}");
    assert_eq!(
        store
            .domain_signups("new.example", T, hour, 24 * hour)
            .await
            .unwrap(),
        (0, 0)
    );
}

#[tokio::test]
async fn quarantine_hides_and_bulk_actions_are_whole_and_reversible() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let user_id = user(&store, "mallory").await;
    let sha_a = "a".repeat(64);
    let held = picket_store::Quarantine::new(T, "empty", json!({ "rule": "empty" }));
    let q = Upload {
        quarantine: Some(&held),
        ..upload(
            "bait",
            "1.0",
            "bait-1.0.tar.gz",
            &sha_a,
            (user_id, "mallory"),
        )
    };
    store.record_upload(&q).await.unwrap();
    store
        .record_upload(&upload(
            "fine",
            "1.0",
            "fine-1.0.tar.gz",
            &"b".repeat(64),
            (user_id, "mallory"),
        ))
        .await
        .unwrap();
    // Invisible to installers, visible to owners with the reason.
    let listed: Vec<String> = store
        .projects()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.1)
        .collect();
    assert_eq!(listed, ["fine"]);
    assert!(store.file("bait-1.0.tar.gz").await.unwrap().is_none());
    let bait = store.project("bait").await.unwrap().unwrap();
    assert_eq!(bait.quarantine.as_ref().unwrap().reason, "empty");

    let cx = AdminContext {
        actor: "cli:test",
        reason: "campaign",
        time_ms: T,
    };
    let nuke = AdminAction::NukeUser(vec!["mallory".into()]);
    let dry = store.admin(&nuke, &cx, true).await.unwrap();
    let kinds: Vec<&str> = dry.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["account.disable", "project.quarantine"],
        "bait is already held"
    );
    assert!(
        !store.user("mallory").await.unwrap().unwrap().disabled,
        "dry run changed nothing"
    );
    assert!(store.audit(0).await.unwrap().is_empty());
    let done = store.admin(&nuke, &cx, false).await.unwrap();
    assert_eq!(
        done, dry,
        "the dry run listed exactly what the real run did"
    );
    assert!(store.user("mallory").await.unwrap().unwrap().disabled);
    assert!(store.projects().await.unwrap().is_empty());
    assert_eq!(store.audit(0).await.unwrap().len(), 2);
    // Again: nothing to change.
    assert!(store.admin(&nuke, &cx, false).await.unwrap().is_empty());

    // One unknown name fails the whole action.
    let bad = AdminAction::Release(vec!["fine".into(), "no-such".into()]);
    assert!(matches!(
        store.admin(&bad, &cx, false).await,
        Err(StoreError::NoProject(_))
    ));
    assert!(
        store.projects().await.unwrap().is_empty(),
        "nothing half-applied"
    );

    let release = AdminAction::Release(vec!["fine".into(), "bait".into()]);
    assert_eq!(store.admin(&release, &cx, false).await.unwrap().len(), 2);
    assert_eq!(store.projects().await.unwrap().len(), 2);
    assert!(store.file("bait-1.0.tar.gz").await.unwrap().is_some());

    let remove = AdminAction::RemoveProject {
        projects: vec!["Bait".into()],
        prohibit_name: true,
        malicious: false,
    };
    let changes = store.admin(&remove, &cx, false).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        store
            .name_prohibition("bait")
            .await
            .unwrap()
            .unwrap()
            .reason,
        "campaign"
    );
}

#[tokio::test]
async fn campaigns_and_malicious_removals_publish_records_that_a_release_withdraws() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .set_setting(picket_store::ID_PREFIX_KEY, "MAL-TEST-")
        .await
        .unwrap();
    let user_id = user(&store, "bot").await;
    for (i, name) in ["bait-one", "bait-two"].iter().enumerate() {
        let sha = format!("{i}").repeat(64);
        let file = format!("{name}-1.0.tar.gz");
        store
            .record_upload(&upload(name, "1.0", &file, &sha, (user_id, "bot")))
            .await
            .unwrap();
    }
    let report = json!({"accounts": ["bot"], "projects": ["bait-one", "bait-two", "gone"],
                        "signals": [{"name": "empty-artifacts"}, {"name": "scripted-setup"}]});
    store
        .upsert_campaign("inbox-1", T, &report, T, &[])
        .await
        .unwrap();
    let cx = AdminContext {
        actor: "cli:test",
        reason: "confirmed campaign",
        time_ms: T,
    };
    let apply = AdminAction::ApplyCampaign {
        id: "inbox-1".into(),
        accounts: vec!["bot".into()],
        projects: vec!["bait-one".into(), "bait-two".into(), "gone".into()],
        domains: vec![],
        expires_ms: 1000,
    };
    // The dry run lists the records; nothing is published.
    let dry = store.admin(&apply, &cx, true).await.unwrap();
    assert_eq!(dry.iter().filter(|e| e.kind == "osv.publish").count(), 2);
    assert!(store.malicious_records().await.unwrap().is_empty());
    store.admin(&apply, &cx, false).await.unwrap();
    let records = store.malicious_records().await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["MAL-TEST-2025-1", "MAL-TEST-2025-2"]);
    assert!(records[0].whole_project);
    assert_eq!(records[0].versions, ["1.0"]);
    assert!(
        records[0].details.contains("campaign inbox-1")
            && records[0].details.contains("empty-artifacts")
            && records[0].details.contains("confirmed campaign"),
        "{}",
        records[0].details
    );
    assert_eq!(records[0].origins[0]["kind"], "campaign");
    let version = store.malicious_records_version().await.unwrap();

    // Releasing a project reverts the campaign for it: its record is withdrawn, not deleted.
    let later = AdminContext {
        time_ms: T + 1000,
        ..cx.clone()
    };
    let released = store
        .admin(
            &AdminAction::Release(vec!["bait-one".into()]),
            &later,
            false,
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = released.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["project.release", "osv.withdraw"]);
    let records = store.malicious_records().await.unwrap();
    assert_eq!(records[0].withdrawn_at, Some(T + 1000));
    assert_eq!(records[1].withdrawn_at, None);
    assert_ne!(store.malicious_records_version().await.unwrap(), version);

    // Restoring the account reverts the campaign for what it still owns: bait-two is released and
    // its record withdrawn too.
    let restored = store
        .admin(&AdminAction::RestoreUser(vec!["bot".into()]), &later, false)
        .await
        .unwrap();
    let kinds: Vec<&str> = restored.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["account.enable", "project.release", "osv.withdraw"]);
    assert_eq!(restored[2].data["project"], "bait-two");
    let records = store.malicious_records().await.unwrap();
    assert_eq!(records[1].withdrawn_at, Some(T + 1000));
    assert!(
        store
            .project("bait-two")
            .await
            .unwrap()
            .unwrap()
            .quarantine
            .is_none()
    );

    // Removed as malicious: the record keeps its id and comes back with the new origin alone.
    let remove = AdminAction::RemoveProject {
        projects: vec!["bait-one".into()],
        prohibit_name: false,
        malicious: true,
    };
    let removed = store.admin(&remove, &later, false).await.unwrap();
    let kinds: Vec<&str> = removed.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["osv.publish", "project.remove"]);
    let record = &store.malicious_records().await.unwrap()[0];
    assert_eq!(
        (record.id.as_str(), record.withdrawn_at),
        ("MAL-TEST-2025-1", None)
    );
    assert_eq!(record.origins.len(), 1);
    assert_eq!(record.origins[0]["kind"], "removal");
    assert!(store.project("bait-one").await.unwrap().is_none());
    // Withdrawn by id; an unknown id is refused by name.
    let withdrawn = store
        .withdraw_malicious_record("MAL-TEST-2025-1", &later)
        .await
        .unwrap();
    assert_eq!(withdrawn[0].kind, "osv.withdraw");
    assert!(matches!(
        store
            .withdraw_malicious_record("MAL-TEST-2025-9", &later)
            .await,
        Err(StoreError::NoRecord(_))
    ));
}

#[tokio::test]
async fn reports_across_one_campaign_are_counted_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let bot = user(&store, "bot").await;
    let reporter = user(&store, "rita").await;
    for (i, name) in ["bait-one", "bait-two", "unrelated"].iter().enumerate() {
        let sha = format!("{i}").repeat(64);
        let file = format!("{name}-1.0.tar.gz");
        store
            .record_upload(&upload(name, "1.0", &file, &sha, (bot, "bot")))
            .await
            .unwrap();
    }
    let report = json!({"accounts": ["bot"], "projects": ["Bait_One", "bait-two"]});
    store
        .upsert_campaign("inbox-1", T, &report, T, &[])
        .await
        .unwrap();
    let rules = picket_store::QuarantineRules::default();
    let file = |project: &'static str| picket_store::NewReport {
        project,
        reporter_id: reporter,
        kind: "malware",
        versions: &[],
        evidence: "empty bait",
        evidence_url: None,
        ip: None,
        time_ms: T,
    };
    let mut cohorts = Vec::new();
    for project in ["bait-one", "bait-two", "unrelated"] {
        let filed = store
            .file_report(&file(project), &rules)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(filed.quarantined_by, None, "no rule is on");
        cohorts.push(filed.events[0].data["campaigns"].clone());
    }
    assert_eq!(
        cohorts,
        [
            json!([{"campaign": "inbox-1", "reported_projects": 1}]),
            json!([{"campaign": "inbox-1", "reported_projects": 2}]),
            json!([]),
        ]
    );
}

#[tokio::test]
async fn writers_in_several_processes_check_and_write_one_at_a_time() {
    // Two stores on one database stand for two `picket serve` processes: each check-then-write
    // (a username taken, a project name taken) must let exactly one of them win, the others
    // getting the domain error, never a database error.
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path()).await;
    let a = Store::connect(&config).await.unwrap();
    let b = Store::connect(&config).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let user = store
                .create_user(
                    &NewUser {
                        email_domain: None,
                        username: if i % 4 < 2 { "Racer" } else { "racer" },
                        email: "racer@example.org",
                        password_hash: "$argon2id$stub",
                        is_admin: false,
                        email_verified: true,
                        time_ms: T,
                        signup_cap: None,
                    },
                    &[],
                )
                .await;
            let project = store
                .create_project(&format!("race{}pkg", ["-", "_", "."][i % 3]), T)
                .await;
            (user.map(|_| ()), project.map(|_| ()))
        }));
    }
    let (mut users, mut projects) = (0, 0);
    for task in tasks {
        let (user, project) = task.await.unwrap();
        match user {
            Ok(()) => users += 1,
            Err(StoreError::UserExists(_)) => {}
            Err(e) => panic!("creating a user: {e}"),
        }
        match project {
            Ok(()) => projects += 1,
            Err(StoreError::ProjectExists { .. }) => {}
            Err(e) => panic!("creating a project: {e}"),
        }
    }
    assert_eq!((users, projects), (1, 1));
}

#[tokio::test]
async fn a_schema_newer_than_the_binary_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path()).await;
    let store = Store::connect(&config).await.unwrap();
    store.close().await;
    // What a newer picket leaves behind: a migration this binary doesn't have.
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("picket.db").display()));
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101, 'from the future', $1, $2, 1)",
    )
    .bind(true)
    .bind(vec![0_u8])
    .execute(&mut conn)
    .await
    .unwrap();
    let err = Store::connect(&config).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                version: 99_990_101
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer than this picket"), "{err}");
}

#[test]
fn the_postgres_migrations_are_the_sqlite_ones_in_postgres_types() {
    // Two folders because the two dialects differ where it matters (SQLite's `INTEGER PRIMARY
    // KEY` is its rowid; PostgreSQL needs BIGINT for the i64 the store reads): each PostgreSQL
    // migration must be its SQLite twin with only those types changed, so neither drifts.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let names = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
    let code = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .map(str::to_owned)
            .collect()
    };
    for name in names("sqlite") {
        let sqlite = std::fs::read_to_string(root.join("sqlite").join(&name)).unwrap();
        let postgres = std::fs::read_to_string(root.join("postgres").join(&name)).unwrap();
        let expected = sqlite
            .replace(
                "INTEGER PRIMARY KEY",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            .replace("INTEGER", "BIGINT");
        assert_eq!(code(&postgres), code(&expected), "{name}");
    }
}

#[tokio::test]
async fn one_store_of_several_leads_and_another_takes_over_when_it_lets_go() {
    // Two stores on one database stand for two `picket serve` processes: one wins the
    // leadership, the other is refused while it is held and wins once it is released.
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path()).await;
    let a = Store::connect(&config).await.unwrap();
    let b = Store::connect(&config).await.unwrap();
    let mut lead = a.try_lead().await.unwrap().expect("the first asker leads");
    assert!(b.try_lead().await.unwrap().is_none());
    assert!(
        a.try_lead().await.unwrap().is_none(),
        "held once, not twice"
    );
    assert!(lead.still_held().await);
    lead.release().await;
    let mut taken = b.try_lead().await.unwrap().expect("released, so b leads");
    assert!(taken.still_held().await);
    assert!(a.try_lead().await.unwrap().is_none());
    drop(taken);
    // Dropping it releases it too (a dead process's connection or file lock goes with it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if a.try_lead().await.unwrap().is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never released");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `migrate-db` reads and writes each table in batches (keyset pagination by primary key):
/// tables of several batches, single and composite keys, integer and text keys all arrive, the
/// digests match, and they don't depend on the batch size or on row order.
#[tokio::test]
async fn migrate_db_moves_tables_larger_than_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    // The source is SQLite (what migrate-db moves from); the target is this run's backend.
    let source = Store::connect(&StoreConfig::in_dir(&dir.path().join("source")))
        .await
        .unwrap();
    let target = open(&dir.path().join("target")).await;
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol"] {
        users.push((user(&source, name).await, name));
    }
    // 5 projects x 3 releases: 15 files, registry rows and journal events, 5 owner rows.
    let mut shas = Vec::new();
    for p in 0..5 {
        for v in 0..3 {
            shas.push((p, v, sha256_hex(format!("{p}/{v}").as_bytes())));
        }
    }
    for (p, v, sha) in &shas {
        let project = format!("proj-{p}");
        let filename = format!("proj_{p}-1.{v}.tar.gz");
        let version = format!("1.{v}");
        let up = upload(&project, &version, &filename, sha, users[p % users.len()]);
        source.record_upload(&up).await.unwrap();
    }
    let batch = 4;
    let digests = source.copy_into_in_batches(&target, batch).await.unwrap();
    let rows = |table: &str| digests.iter().find(|d| d.table == table).unwrap().rows;
    assert_eq!(rows("files"), 15);
    assert_eq!(rows("filename_registry"), 15);
    assert_eq!(rows("project_owners"), 5);
    assert_eq!(rows("users"), 3);
    assert!(rows("files") > batch as u64 * 3, "several batches");
    // The target serves what the source does.
    for p in 0..5 {
        let name = format!("proj-{p}");
        let files = |f: Vec<picket_store::FileRow>| {
            let mut f: Vec<_> = f.into_iter().map(|f| (f.filename, f.sha256)).collect();
            f.sort();
            f
        };
        assert_eq!(
            files(target.project_files(&name).await.unwrap()),
            files(source.project_files(&name).await.unwrap())
        );
    }
    // The digest is the same whatever the batch size (and so the read order).
    assert_eq!(target.table_digests_in_batches(1).await.unwrap(), digests);
    assert_eq!(source.table_digests().await.unwrap(), digests);
    // New ids on the target go past the copied ones.
    let dave = user(&target, "dave").await;
    assert!(users.iter().all(|(id, _)| *id < dave));
    // A changed row changes the digest.
    target.create_project("late", T).await.unwrap();
    assert_ne!(target.table_digests().await.unwrap(), digests);
    // A second migration into a target with data is refused.
    let err = source
        .copy_into_in_batches(&target, batch)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already holds data"), "{err}");
}

/// The synthetic index's loader: multi-row inserts land every project, release and file (more
/// rows than one statement binds), and a name already there rolls the whole batch back.
#[tokio::test]
async fn bulk_insert_writes_every_row_or_none() {
    use picket_store::{BulkFile, BulkProject};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let project = |i: usize| BulkProject {
        name: format!("Bulk_{i}"),
        created_at: T + i64::try_from(i).unwrap(),
        releases: (0..2)
            .map(|r| {
                let files = [("-py3-none-any.whl", "bdist_wheel"), (".tar.gz", "sdist")]
                    .iter()
                    .map(|(suffix, kind)| {
                        let filename = format!("bulk_{i}-1.{r}{suffix}");
                        BulkFile {
                            sha256: sha256_hex(filename.as_bytes()),
                            size: 1000,
                            filename,
                            packagetype: kind,
                        }
                    })
                    .collect();
                (format!("1.{r}"), files)
            })
            .collect(),
    };
    // 8,000 files x 6 values: more than one statement's binds.
    let batch: Vec<BulkProject> = (0..2_000).map(project).collect();
    store.bulk_insert(&batch).await.unwrap();
    let files = store.project_files("bulk-1999").await.unwrap();
    let mut names: Vec<_> = files.iter().map(|f| f.filename.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "bulk_1999-1.0-py3-none-any.whl",
            "bulk_1999-1.0.tar.gz",
            "bulk_1999-1.1-py3-none-any.whl",
            "bulk_1999-1.1.tar.gz"
        ]
    );
    assert!(
        files
            .iter()
            .all(|f| f.sha256 == sha256_hex(f.filename.as_bytes()))
    );
    assert_eq!(store.projects().await.unwrap().len(), 2_000);
    // One new project and one already there: nothing of the batch is written.
    let err = store
        .bulk_insert(&[project(2_000), project(5)])
        .await
        .unwrap_err();
    assert!(!err.to_string().is_empty());
    assert_eq!(store.projects().await.unwrap().len(), 2_000);
    assert!(store.project("bulk-2000").await.unwrap().is_none());
}
