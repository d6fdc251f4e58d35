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
    let admin = std::env::var("PICKET_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "PICKET_TEST_BACKEND=postgres needs PICKET_TEST_DATABASE_URL (scripts/test starts a \
             cluster and sets both)"
        )
    });
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

/// [`fresh_url`] for code outside an async runtime (the tests that spawn `picket serve`).
pub fn fresh_url_blocking() -> Option<String> {
    if !postgres() {
        return None;
    }
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(fresh_url())
    })
    .join()
    .expect("creating a test database")
}

/// Runs `sql` on the database at `url` (`sqlite://…` or `postgres://…`), from code outside an
/// async runtime: what a test does to a database behind a server's back.
pub fn execute_blocking(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(async {
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
    })
    .join()
    .expect("running SQL");
}
