//! The registry's storage: metadata in SQL, distribution files in a content-addressed blob store.
//!
//! [`Store::open`] needs nothing but a folder: it creates the SQLite database (WAL mode) and runs the
//! embedded migrations, so `picket serve --data-dir DIR` works on first start. Every write that
//! touches more than one row is one transaction: it happens whole or not at all.
//!
//! **Invariant:** this crate knows nothing of HTTP or of the upload rules; callers decide *whether*
//! something may be stored, the store only makes sure it is stored whole and consistently.
#![deny(missing_docs)]

mod blobs;

use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

pub use blobs::BlobStore;
pub use picket_formats::hashes::sha256_hex;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        message: String,
    },
    /// The database refused.
    #[error("database: {0}")]
    Database(String),
    /// A project with the same normalized name exists.
    #[error("a project named `{existing}` already exists")]
    ProjectExists {
        /// Its name as first registered.
        existing: String,
    },
    /// No such project.
    #[error("no project named `{0}`")]
    NoProject(String),
    /// A file with this name exists with other content.
    #[error("file `{filename}` already exists")]
    FileExists {
        /// The filename.
        filename: String,
        /// The stored file's sha256, so a caller can tell a retry (same hash) from a conflict.
        existing_sha256: String,
    },
}

impl StoreError {
    pub(crate) fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Database(e.to_string())
    }
}

/// A file to add to a release.
#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    /// The project (any spelling).
    pub project: &'a str,
    /// The release version.
    pub version: &'a str,
    /// The distribution filename.
    pub filename: &'a str,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: &'a str,
    /// `Requires-Python`, if any.
    pub requires_python: Option<&'a str>,
    /// The uploading user, if known.
    pub uploaded_by: Option<i64>,
    /// The file's bytes.
    pub bytes: &'a [u8],
    /// Upload time, milliseconds since the epoch.
    pub time_ms: i64,
}

/// A stored file as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    /// The filename.
    pub filename: String,
    /// The release version.
    pub version: String,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: String,
    /// Lowercase hex sha256; also the blob key.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
    /// Whether the release is yanked.
    pub yanked: bool,
    /// Why, if yanked with a reason.
    pub yanked_reason: Option<String>,
    /// Upload time, milliseconds since the epoch.
    pub upload_time: i64,
}

/// An event to journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// The kind, e.g. `project.create`.
    pub kind: String,
    /// The account concerned, if any.
    pub user: Option<String>,
    /// The client address, if known.
    pub ip: Option<String>,
    /// The kind's own fields.
    pub data: serde_json::Value,
}

/// Metadata database and blob store of one registry.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    blobs: BlobStore,
}

impl Store {
    /// Opens the store in `data_dir`, creating the database and folders on first use and running
    /// any migrations not yet applied.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::io(data_dir, &e))?;
        let db = data_dir.join("picket.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let blobs = BlobStore::open(&data_dir.join("files"))?;
        Ok(Self { pool, blobs })
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Registers a project; refuses a name whose normal form is taken.
    pub async fn create_project(&self, name: &str, time_ms: i64) -> Result<i64, StoreError> {
        let normalized = picket_formats::normalize(name);
        let mut tx = self.pool.begin().await?;
        if let Some(row) = sqlx::query("SELECT name FROM projects WHERE normalized = ?")
            .bind(&normalized)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Err(StoreError::ProjectExists {
                existing: row.get("name"),
            });
        }
        let id = sqlx::query(
            "INSERT INTO projects (name, normalized, skeleton, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(name)
        .bind(&normalized)
        .bind(picket_formats::skeleton(name))
        .bind(time_ms)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(id)
    }

    /// Every project, as `(name, normalized)`, ordered by normalized name.
    pub async fn projects(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, normalized FROM projects ORDER BY normalized")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("normalized")))
            .collect())
    }

    /// Adds a file to a release of an existing project, creating the release if needed. The blob
    /// is written first (content-addressed, so an orphan from a failed transaction is harmless),
    /// then the rows, in one transaction. A filename already stored is refused with its hash.
    pub async fn add_file(&self, file: &NewFile<'_>) -> Result<String, StoreError> {
        let sha256 = self.blobs.put(file.bytes)?;
        let normalized = picket_formats::normalize(file.project);
        let mut tx = self.pool.begin().await?;
        let project_id: i64 = sqlx::query("SELECT id FROM projects WHERE normalized = ?")
            .bind(&normalized)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get("id"))
            .ok_or_else(|| StoreError::NoProject(file.project.to_owned()))?;
        if let Some(row) = sqlx::query("SELECT sha256 FROM files WHERE filename = ?")
            .bind(file.filename)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Err(StoreError::FileExists {
                filename: file.filename.to_owned(),
                existing_sha256: row.get("sha256"),
            });
        }
        sqlx::query(
            "INSERT INTO releases (project_id, version, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (project_id, version) DO NOTHING",
        )
        .bind(project_id)
        .bind(file.version)
        .bind(file.time_ms)
        .execute(&mut *tx)
        .await?;
        let release_id: i64 =
            sqlx::query("SELECT id FROM releases WHERE project_id = ? AND version = ?")
                .bind(project_id)
                .bind(file.version)
                .fetch_one(&mut *tx)
                .await?
                .get("id");
        sqlx::query(
            "INSERT INTO files (release_id, filename, packagetype, sha256, size, requires_python, uploaded_by, upload_time) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(release_id)
        .bind(file.filename)
        .bind(file.packagetype)
        .bind(&sha256)
        .bind(i64::try_from(file.bytes.len()).unwrap_or(i64::MAX))
        .bind(file.requires_python)
        .bind(file.uploaded_by)
        .bind(file.time_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(sha256)
    }

    /// The files of a project (any spelling), oldest upload first.
    pub async fn project_files(&self, project: &str) -> Result<Vec<FileRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.filename, r.version, f.packagetype, f.sha256, f.size, f.requires_python, \
                    r.yanked, r.yanked_reason, f.upload_time \
             FROM files f JOIN releases r ON f.release_id = r.id JOIN projects p ON r.project_id = p.id \
             WHERE p.normalized = ? ORDER BY f.upload_time, f.id",
        )
        .bind(picket_formats::normalize(project))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| FileRow {
                filename: r.get("filename"),
                version: r.get("version"),
                packagetype: r.get("packagetype"),
                sha256: r.get("sha256"),
                size: r.get("size"),
                requires_python: r.get("requires_python"),
                yanked: r.get::<i64, _>("yanked") != 0,
                yanked_reason: r.get("yanked_reason"),
                upload_time: r.get("upload_time"),
            })
            .collect())
    }

    /// Yanks (or, with `yanked = false`, restores) a release.
    pub async fn set_yanked(
        &self,
        project: &str,
        version: &str,
        yanked: bool,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE releases SET yanked = ?, yanked_reason = ? \
             WHERE version = ? AND project_id = (SELECT id FROM projects WHERE normalized = ?)",
        )
        .bind(i64::from(yanked))
        .bind(if yanked { reason } else { None })
        .bind(version)
        .bind(picket_formats::normalize(project))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NoProject(format!("{project} {version}")));
        }
        Ok(())
    }

    /// Appends an event to the journal.
    pub async fn append_event(&self, event: &Event) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO events (time, kind, user_name, ip, data) VALUES (?, ?, ?, ?, ?)")
            .bind(event.time_ms)
            .bind(&event.kind)
            .bind(&event.user)
            .bind(&event.ip)
            .bind(event.data.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Events at or after `since_ms`, in journal order.
    pub async fn events_since(&self, since_ms: i64) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT time, kind, user_name, ip, data FROM events WHERE time >= ? ORDER BY time, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.get("data");
                Ok(Event {
                    time_ms: r.get("time"),
                    kind: r.get("kind"),
                    user: r.get("user_name"),
                    ip: r.get("ip"),
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::Database(format!("event data: {e}")))?,
                })
            })
            .collect()
    }
}
