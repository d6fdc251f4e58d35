//! Leader election among the instances that share one store: the jobs that must run once per
//! registry (the live campaign detector, the notices read from the journal, the domain checks)
//! run in the instance holding the leadership; the others keep trying and take over when it is
//! released.
//!
//! - **PostgreSQL**: a session advisory lock held on a connection of its own, taken out of the
//!   pool. The server releases it when that connection ends, so a leader that dies (even by
//!   `kill -9`: the kernel closes its socket) frees it at once, and a leader whose connection
//!   broke can tell ([`Leadership::still_held`]) and stops.
//! - **SQLite**: instances share one database only on one machine, so an exclusive lock on a
//!   file beside the database (`picket.db.leader`) does it; the kernel releases it when the
//!   process ends.

use std::path::{Path, PathBuf};

use sqlx::{Any, Connection as _};

use crate::{Backend, Store, StoreError};

/// The advisory lock's key (`leader` in ASCII), apart from the write lock's.
const LEADER_LOCK_KEY: i64 = 0x6c65_6164_6572;

/// Held leadership; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct Leadership {
    hold: Hold,
}

#[derive(Debug)]
enum Hold {
    Postgres(<Any as sqlx::Database>::Connection),
    File(std::fs::File),
}

impl Leadership {
    /// Whether the leadership is still this process's. On PostgreSQL this asks the server over
    /// the lock's own connection: if that connection is gone, so is the lock, and another
    /// instance may already lead.
    pub async fn still_held(&mut self) -> bool {
        match &mut self.hold {
            Hold::Postgres(conn) => {
                // A session lock lasts as long as its session: the connection answering is the
                // lock still held.
                let answer = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    sqlx::query("SELECT 1").execute(&mut *conn),
                )
                .await;
                matches!(answer, Ok(Ok(_)))
            }
            Hold::File(_) => true,
        }
    }

    /// Gives the leadership up now (another instance may take it at once).
    pub async fn release(self) {
        match self.hold {
            Hold::Postgres(mut conn) => {
                // Unlocked by the server before this returns. Closing alone is not enough: the
                // server ends the session (and frees its locks) a moment after the client hangs
                // up, so an instance asking right after would still be refused.
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(LEADER_LOCK_KEY)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            Hold::File(file) => drop(file),
        }
    }
}

impl Store {
    /// Takes the leadership if no other instance holds it; `None` when one does.
    pub async fn try_lead(&self) -> Result<Option<Leadership>, StoreError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?;
                let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await?;
                // Won: the connection leaves the pool, so the lock lives exactly as long as it.
                // Refused: it holds nothing and goes back to the pool (a follower asks every
                // 2 s; it must not open a connection each time).
                Ok(won.then(|| Leadership {
                    hold: Hold::Postgres(conn.detach()),
                }))
            }
            Backend::Sqlite => {
                let path = self.leader_file.clone().ok_or_else(|| {
                    StoreError::Database("an in-memory SQLite database has no leader file".into())
                })?;
                let file = tokio::task::spawn_blocking(move || try_lock_file(&path))
                    .await
                    .map_err(|e| StoreError::Database(e.to_string()))??;
                Ok(file.map(|file| Leadership {
                    hold: Hold::File(file),
                }))
            }
        }
    }
}

fn try_lock_file(path: &Path) -> Result<Option<std::fs::File>, StoreError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(path, &e)),
    }
}

/// Where a SQLite database at `url` keeps its leader lock: beside the database file.
pub(crate) fn leader_file(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(format!("{path}.leader")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_leader_file_sits_beside_the_database() {
        assert_eq!(
            super::leader_file("sqlite:///srv/picket/picket.db?mode=rwc"),
            Some("/srv/picket/picket.db.leader".into())
        );
        assert_eq!(super::leader_file("sqlite::memory:"), None);
        assert_eq!(super::leader_file("postgres://h/db"), None);
    }
}
