//! The store against a real SQLite database in a temporary folder.

use picket_store::{Event, NewFile, Store, StoreError, sha256_hex};

fn file<'a>(project: &'a str, version: &'a str, filename: &'a str, bytes: &'a [u8]) -> NewFile<'a> {
    NewFile {
        project,
        version,
        filename,
        packagetype: "bdist_wheel",
        requires_python: Some(">=3.9"),
        uploaded_by: None,
        bytes,
        time_ms: 1_700_000_000_000,
    }
}

#[tokio::test]
async fn creates_everything_on_first_open_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).await.unwrap();
    store.create_project("Demo_Pkg", 1).await.unwrap();
    drop(store);
    let again = Store::open(&dir.path().join("data")).await.unwrap();
    assert_eq!(
        again.projects().await.unwrap(),
        [("Demo_Pkg".to_owned(), "demo-pkg".to_owned())]
    );
    assert!(dir.path().join("data/picket.db").exists());
}

#[tokio::test]
async fn a_normalized_name_is_registered_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_project("demo-pkg", 1).await.unwrap();
    let err = store.create_project("Demo.Pkg", 2).await.unwrap_err();
    assert!(
        matches!(err, StoreError::ProjectExists { ref existing } if existing == "demo-pkg"),
        "{err}"
    );
}

#[tokio::test]
async fn files_are_stored_whole_and_listed_with_their_release() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_project("demo", 1).await.unwrap();
    let sha = store
        .add_file(&file(
            "demo",
            "1.0",
            "demo-1.0-py3-none-any.whl",
            b"wheel one",
        ))
        .await
        .unwrap();
    assert_eq!(sha, sha256_hex(b"wheel one"));
    store
        .add_file(&file("demo", "1.0", "demo-1.0.tar.gz", b"sdist one"))
        .await
        .unwrap();
    let files = store.project_files("DEMO").await.unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].version, "1.0");
    assert_eq!(files[0].size, 9);
    assert_eq!(
        store.blobs().get(&files[0].sha256).unwrap().unwrap(),
        b"wheel one"
    );

    // The same filename again is refused with the stored hash, so the caller can tell a retry
    // (same bytes) from a conflict (other bytes).
    let err = store
        .add_file(&file(
            "demo",
            "1.0",
            "demo-1.0-py3-none-any.whl",
            b"other bytes",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::FileExists { ref existing_sha256, .. } if *existing_sha256 == sha),
        "{err}"
    );
    assert_eq!(
        store.project_files("demo").await.unwrap().len(),
        2,
        "nothing half-added"
    );

    let err = store
        .add_file(&file("ghost", "1.0", "ghost-1.0.tar.gz", b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NoProject(_)));
}

#[tokio::test]
async fn yanking_marks_every_file_of_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_project("demo", 1).await.unwrap();
    store
        .add_file(&file("demo", "1.0", "demo-1.0.tar.gz", b"a"))
        .await
        .unwrap();
    store
        .set_yanked("demo", "1.0", true, Some("broken"))
        .await
        .unwrap();
    let files = store.project_files("demo").await.unwrap();
    assert!(files[0].yanked);
    assert_eq!(files[0].yanked_reason.as_deref(), Some("broken"));
    store
        .set_yanked("demo", "1.0", false, Some("ignored"))
        .await
        .unwrap();
    let files = store.project_files("demo").await.unwrap();
    assert!(!files[0].yanked);
    assert_eq!(files[0].yanked_reason, None);
    assert!(store.set_yanked("demo", "9.9", true, None).await.is_err());
}

#[tokio::test]
async fn the_journal_keeps_events_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    for (time_ms, kind) in [
        (10, "account.create"),
        (20, "project.create"),
        (30, "file.upload"),
    ] {
        store
            .append_event(&Event {
                time_ms,
                kind: kind.to_owned(),
                user: Some("alice".to_owned()),
                ip: None,
                data: serde_json::json!({"n": time_ms}),
            })
            .await
            .unwrap();
    }
    let events = store.events_since(20).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["project.create", "file.upload"]);
    assert_eq!(events[1].data["n"], 30);
}
