//! The database a test runs on. `scripts/test` runs the suite on SQLite, then runs the store
//! and server tests again with `PICKET_TEST_BACKEND=postgres` and `PICKET_TEST_DATABASE_URL`
//! naming a throw-away PostgreSQL cluster (`scripts/test-postgres`); every store or server a test
//! opens then gets a database of its own in that cluster.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// Numbers the databases this process creates.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Whether this run's tests use PostgreSQL (`PICKET_TEST_BACKEND=postgres`).
pub fn postgres() -> bool {
    std::env::var("PICKET_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A new, empty database's URL under `PICKET_TEST_BACKEND=postgres`, else `None` (SQLite in the
/// test's data directory). Panics when PostgreSQL is asked for and can't be had: a run that
/// asked for PostgreSQL must not quietly test SQLite.
pub async fn fresh_url() -> Option<String> {
    if !postgres() {
        return None;
    }
    Some(create().await.unwrap_or_else(|| {
        panic!(
            "PICKET_TEST_BACKEND=postgres needs PICKET_TEST_DATABASE_URL (scripts/test starts a \
             cluster and sets both)"
        )
    }))
}

/// A new, empty database in the test cluster whatever the backend of the run (for a test that
/// moves data into PostgreSQL); `None` when `PICKET_TEST_DATABASE_URL` is unset.
pub async fn create() -> Option<String> {
    let admin = std::env::var("PICKET_TEST_DATABASE_URL").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "picket_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to PICKET_TEST_DATABASE_URL: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
    conn.close().await.ok();
    let (server, _) = admin
        .rsplit_once('/')
        .expect("PICKET_TEST_DATABASE_URL ends in /DATABASE");
    Some(format!("{server}/{name}"))
}

/// [`create`] for code outside an async runtime.
pub fn create_blocking() -> Option<String> {
    block_on(create)
}

/// [`fresh_url`] for code outside an async runtime (the tests that spawn `picket serve`).
pub fn fresh_url_blocking() -> Option<String> {
    if !postgres() {
        return None;
    }
    block_on(fresh_url)
}

/// Runs `work` to completion on a runtime of its own thread (callable from sync code and from
/// within another runtime).
fn block_on<T: Send + 'static, F: Future<Output = T>>(
    work: impl FnOnce() -> F + Send + 'static,
) -> T {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(work())
    })
    .join()
    .expect("a database task")
}

/// Runs `sql` on the database at `url` (`sqlite://…` or `postgres://…`), from code outside an
/// async runtime: what a test does to a database behind a server's back.
pub fn execute_blocking(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    block_on(move || async move {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        sqlx::raw_sql(&sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.ok();
    });
}

/// The test cluster's admin URL (`scripts/test` starts one), or `None` with a printed reason for
/// a test that needs PostgreSQL whatever the run's backend. Under CI a missing cluster fails.
pub fn cluster() -> Option<String> {
    if let Ok(url) = std::env::var("PICKET_TEST_DATABASE_URL") {
        return Some(url);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "PICKET_TEST_DATABASE_URL is unset under CI; run the suite with scripts/test"
    );
    eprintln!("skipped: PICKET_TEST_DATABASE_URL is not set; run the suite with scripts/test");
    None
}
