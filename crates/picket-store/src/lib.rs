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
mod leader;
mod malicious;
mod packages;
mod policy;
mod reports;
mod transfer;
mod web;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Executor};

pub use accounts::{NewUser, PrimaryChange, TokenInfo, TokenScope, User};
pub use blobs::{BlobBytes, BlobStore, LocalBlobs, RemoteBlobs};
pub use bulk::{BulkFile, BulkProject};
pub use defenses::{
    AdminAction, AdminContext, NameProhibition, RateDecision, SIGNUP_BUCKET_MS, StoredCampaign,
};
pub use domains::{DomainCheck, VerifiedAddress};
pub use journal::{Event, rfc3339};
pub use leader::Leadership;
pub use malicious::{DEFAULT_ID_PREFIX, ID_PREFIX_KEY, MaliciousRecord};
pub use packages::{
    FileRow, Project, ProjectStatus, Quarantine, ReleaseRow, Removal, Upload, UploadOutcome,
};
pub use picket_formats::hashes::sha256_hex;
pub use policy::Prohibition;
pub use reports::{Decision, Filed, NewReport, QuarantineRules, Report, ReportRefusal};
pub use transfer::TableDigest;
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
    /// The database refused (or a stored value could not be read).
    #[error("database: {0}")]
    Database(String),
    /// The database refused a statement; kept whole so callers can ask what it was
    /// ([`StoreError::is_unique_violation`]).
    #[error("database: {0}")]
    Sql(#[source] sqlx::Error),
    /// The database could not be reached or refused the connection (wrong credentials, no such
    /// database).
    #[error("can't connect to {database}: {source}")]
    Connect {
        /// The database URL, its password replaced by `***`.
        database: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer picket: it has a migration this binary doesn't know.
    #[error(
        "the database schema is newer than this picket (it has migration {version}, which this \
         version doesn't know); run the picket version that migrated it, or a newer one"
    )]
    SchemaTooNew {
        /// The unknown migration's version.
        version: i64,
    },
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
    /// The project is archived (PEP 792): it takes no new uploads.
    #[error(
        "project `{0}` is archived: it takes no new uploads; an owner can make it active again"
    )]
    Archived(String),
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
        Self::Sql(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::VersionMissing(version) => Self::SchemaTooNew { version },
            e => Self::Database(e.to_string()),
        }
    }
}

impl StoreError {
    /// Whether the database refused a write because it would break a unique constraint (a row
    /// another writer made first).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Sql(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Where a registry keeps its data: the one description `picket serve` and `picket admin` both
/// open, so the two can never look at different databases.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// The data directory (the SQLite database `picket.db` and, without `storage_url`, the files).
    pub data_dir: PathBuf,
    /// `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://`) for PostgreSQL,
    /// `sqlite://PATH` for a SQLite file elsewhere; unset: `DATA_DIR/picket.db`.
    pub database_url: Option<String>,
    /// Where distribution files go (see [`BlobStore::open_url`]); unset: `DATA_DIR/files`.
    pub storage_url: Option<String>,
}

impl StoreConfig {
    /// The defaults for `data_dir`: SQLite and local files in it.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            ..Self::default()
        }
    }
}

/// The SQL database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file (WAL mode): the zero-configuration default.
    Sqlite,
    /// A PostgreSQL server, which several `picket serve` processes can share.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The key of the PostgreSQL advisory lock every write transaction takes (`picket` in ASCII): the
/// counterpart of SQLite's `BEGIN IMMEDIATE`, so writers in any number of processes run one at a
/// time and every check-then-write the store makes stays race-free.
const WRITE_LOCK_KEY: i64 = 0x7069_636b_6574;

/// `url` with its password, if any, replaced by `***` (for messages and logs).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Metadata database and blob store of one registry.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    blobs: BlobStore,
    /// SQLite: the file whose lock is the leadership ([`Store::try_lead`]).
    leader_file: Option<Arc<Path>>,
}

impl Store {
    /// Opens the store in `data_dir` with files in `data_dir/files`, creating the database and
    /// folders on first use and running any migrations not yet applied.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::connect(&StoreConfig::in_dir(data_dir)).await
    }

    /// Like [`Store::open`], with files in `blobs`.
    pub async fn open_with_blobs(data_dir: &Path, blobs: BlobStore) -> Result<Self, StoreError> {
        Self::connect_with_blobs(&StoreConfig::in_dir(data_dir), blobs).await
    }

    /// Opens the database and file storage `config` names, creating them on first use and
    /// running any migrations not yet applied. Fails — before anything is served — when the
    /// database is unreachable, refuses the credentials, or holds a schema newer than this
    /// binary ([`StoreError::SchemaTooNew`]).
    pub async fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let blobs = match &config.storage_url {
            Some(url) => BlobStore::open_url(url)?,
            None => BlobStore::open_local(&config.data_dir.join("files"))?,
        };
        Self::connect_with_blobs(config, blobs).await
    }

    /// Like [`Store::connect`], with files in `blobs`.
    pub async fn connect_with_blobs(
        config: &StoreConfig,
        blobs: BlobStore,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let url = match &config.database_url {
            Some(url) => url.clone(),
            None => {
                let dir = &config.data_dir;
                std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, &e))?;
                format!("sqlite://{}", dir.join("picket.db").display())
            }
        };
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Database(
                "database-url must start with postgres://, postgresql:// or sqlite://".into(),
            ));
        };
        let leader_file = match backend {
            Backend::Sqlite => leader::leader_file(&url).map(Arc::from),
            Backend::Postgres => None,
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url
                } else {
                    format!("{url}?mode=rwc")
                };
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // What SqliteConnectOptions set before, as pragmas: the Any driver
                            // takes options only from the URL.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                // One connection first, so a wrong address or password fails now with its
                // cause (the pool retries a refused connection until its timeout and then
                // reports only the timeout).
                let connect_error = |source| StoreError::Connect {
                    database: redacted(&url),
                    source,
                };
                let probe = tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&url),
                )
                .await
                .map_err(|_| connect_error(sqlx::Error::PoolTimedOut))?
                .map_err(connect_error)?;
                sqlx::Connection::close(probe).await?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(std::time::Duration::from_secs(10))
                    .connect(&url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Self {
            pool,
            backend,
            blobs,
            leader_file,
        })
    }

    /// The SQL database in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// A write transaction; writers run one at a time, whichever process they are in. On
    /// SQLite, `BEGIN IMMEDIATE` takes the write lock at the start, so two writers queue on the
    /// busy timeout instead of one failing with "database is locked" when it upgrades a read
    /// snapshot another writer has moved past (`SQLITE_BUSY_SNAPSHOT`). On PostgreSQL the
    /// transaction takes one advisory lock first, released at commit or rollback: every
    /// check-then-write (a name taken, the filename registry, the sign-up cap, the rate
    /// limits) then sees the rows the previous writer committed, as under SQLite, instead of
    /// racing under READ COMMITTED.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Closes the database cleanly (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("postgres://picket:s3cr:et@db.example:5432/reg?sslmode=require"),
            "postgres://picket:***@db.example:5432/reg?sslmode=require"
        );
        assert_eq!(
            redacted("postgres://db.example/reg"),
            "postgres://db.example/reg"
        );
        assert_eq!(
            redacted("sqlite:///srv/picket.db"),
            "sqlite:///srv/picket.db"
        );
    }
}
