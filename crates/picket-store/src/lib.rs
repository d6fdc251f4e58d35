//! The registry's storage: metadata in SQL, distribution files in a content-addressed blob store.
//!
//! [`Store::open`] needs nothing but a folder: it creates the SQLite database (WAL mode) and runs the
//! embedded migrations, so `picket serve --data-dir DIR` works on first start. Every write that
//! touches more than one row is one transaction — including the journal event that records it — so
//! it happens whole or not at all.
//!
//! **Invariant:** this crate knows nothing of HTTP, of credentials' secrets or of the upload rules;
//! callers decide *whether* something may be stored, the store only makes sure it is stored whole and
//! consistently (the few checks it does make — a name taken, a file already there, ownership — are
//! the ones that must be made inside the transaction to be race-free).
#![deny(missing_docs)]

mod accounts;
mod blobs;
mod bulk;
mod defenses;
mod domains;
mod journal;
mod malicious;
mod packages;
mod policy;
mod reports;
mod web;

use std::path::Path;
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use accounts::{NewUser, TokenInfo, TokenScope, User};
pub use blobs::{BlobBytes, BlobStore, LocalBlobs, RemoteBlobs};
pub use bulk::{BulkFile, BulkProject};
pub use defenses::{
    AdminAction, AdminContext, NameProhibition, RateDecision, SIGNUP_BUCKET_MS, StoredCampaign,
};
pub use domains::{DomainCheck, VerifiedAddress};
pub use journal::{Event, rfc3339};
pub use malicious::{DEFAULT_ID_PREFIX, ID_PREFIX_KEY, MaliciousRecord};
pub use packages::{FileRow, Project, Quarantine, ReleaseRow, Removal, Upload, UploadOutcome};
pub use picket_formats::hashes::sha256_hex;
pub use policy::Prohibition;
pub use reports::{Decision, Filed, NewReport, QuarantineRules, Report, ReportRefusal};
pub use web::{Held, ProjectListing};

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
    /// No such release.
    #[error("project `{project}` has no release `{version}`")]
    NoRelease {
        /// The project.
        project: String,
        /// The version.
        version: String,
    },
    /// No such file.
    #[error("project `{project}` has no file `{filename}`")]
    NoFile {
        /// The project.
        project: String,
        /// The filename.
        filename: String,
    },
    /// A file with this name exists with other content.
    #[error("file `{filename}` already exists")]
    FileExists {
        /// The filename.
        filename: String,
        /// The stored file's sha256, so a caller can tell a retry (same hash) from a conflict.
        existing_sha256: String,
    },
    /// The filename was used before by a file since removed.
    #[error("file `{0}` was uploaded before and removed; a filename can't be reused")]
    FilenameReused(String),
    /// The release already has an sdist.
    #[error("release `{version}` already has an sdist (`{existing}`)")]
    SdistExists {
        /// The version.
        version: String,
        /// The sdist stored.
        existing: String,
    },
    /// The project would exceed its size limit.
    #[error("project `{project}` would hold {size} bytes, over its limit of {limit}")]
    ProjectTooLarge {
        /// The project.
        project: String,
        /// Its size with the new file.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The user does not own the project.
    #[error("user `{user}` isn't an owner of project `{project}`")]
    NotOwner {
        /// The user.
        user: String,
        /// The project.
        project: String,
    },
    /// A project with the same confusable skeleton was created while the upload gate judged
    /// this one (the gate's look-alike check saw an older state).
    #[error("the name `{name}` is too similar to `{existing}`, created meanwhile")]
    SimilarNameCreated {
        /// The name uploaded.
        name: String,
        /// The project created in the meantime.
        existing: String,
    },
    /// A username is taken (in any case).
    #[error("the username `{0}` is taken")]
    UserExists(String),
    /// The e-mail domain already had its allowance of sign-ups in the last hour.
    #[error("the e-mail domain had {recent} sign-ups in the last hour, its allowance")]
    SignupCap {
        /// Sign-ups counted.
        recent: u64,
    },
    /// No such user.
    #[error("no user named `{0}`")]
    NoUser(String),
    /// No such campaign.
    #[error("no campaign `{0}`")]
    NoCampaign(String),
    /// No such report.
    #[error("no report {0}")]
    NoReport(i64),
    /// The report is not in the state the decision needs.
    #[error("report {id} is {status}; only {expected} report can be decided that way")]
    ReportState {
        /// The report.
        id: i64,
        /// Its status.
        status: String,
        /// The status the decision needs, with its article (`an open`).
        expected: &'static str,
    },
    /// No such OSV record.
    #[error("no record `{0}`")]
    NoRecord(String),
    /// Removing this owner would leave the project without one.
    #[error("`{user}` is the last owner of `{project}`")]
    LastOwner {
        /// The user.
        user: String,
        /// The project.
        project: String,
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

/// Metadata database and blob store of one registry.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    blobs: BlobStore,
}

impl Store {
    /// Opens the store in `data_dir` with files in `data_dir/files`, creating the database and
    /// folders on first use and running any migrations not yet applied.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let blobs = BlobStore::open_local(&data_dir.join("files"))?;
        Self::open_with_blobs(data_dir, blobs).await
    }

    /// Like [`Store::open`], with files in `blobs`.
    pub async fn open_with_blobs(data_dir: &Path, blobs: BlobStore) -> Result<Self, StoreError> {
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
        Ok(Self { pool, blobs })
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// A write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock at the start, so two
    /// writers queue on the busy timeout instead of one failing with "database is locked" when
    /// it upgrades a read snapshot another writer has moved past (`SQLITE_BUSY_SNAPSHOT`).
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Closes the database cleanly (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
