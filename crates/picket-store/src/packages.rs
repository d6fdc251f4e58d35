//! Projects, releases and files: the upload transaction and what the index serves.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::journal::{Event, append};
use crate::{Store, StoreError};

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// Row id.
    pub id: i64,
    /// The name as first uploaded.
    pub name: String,
    /// PEP 503 normal form.
    pub normalized: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Why the project is quarantined, if it is.
    pub quarantine: Option<Quarantine>,
    /// The PEP 792 status its owners set (`archived` or `deprecated`); none: `active` (a
    /// quarantine, kept apart in [`Project::quarantine`], outranks it).
    pub status: Option<ProjectStatus>,
}

/// A PEP 792 status set by a project's owners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectStatus {
    /// `archived` (no new uploads) or `deprecated`.
    pub status: String,
    /// Free text shown beside it (may be empty).
    pub reason: String,
}

/// Why a project or release is held back from installers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    /// Milliseconds since the epoch.
    pub at: i64,
    /// One line for people.
    pub reason: String,
    /// What the decision was based on (JSON).
    pub evidence: serde_json::Value,
}

impl Quarantine {
    pub(crate) fn from_columns(
        at: Option<i64>,
        reason: Option<String>,
        evidence: Option<String>,
    ) -> Option<Self> {
        at.map(|at| Self {
            at,
            reason: reason.unwrap_or_default(),
            evidence: evidence
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or(serde_json::Value::Null),
        })
    }
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
    /// MD5, hex, when the uploader sent one that matched.
    pub md5: Option<String>,
    /// BLAKE2b-256, hex.
    pub blake2_256: Option<String>,
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
    /// sha256 of the wheel's METADATA file (PEP 658), when stored.
    pub metadata_sha256: Option<String>,
}

impl FileRow {
    fn from_row(r: &AnyRow) -> Self {
        Self {
            filename: r.get("filename"),
            version: r.get("version"),
            packagetype: r.get("packagetype"),
            sha256: r.get("sha256"),
            md5: r.get("md5"),
            blake2_256: r.get("blake2_256"),
            size: r.get("size"),
            requires_python: r.get("requires_python"),
            yanked: r.get::<i64, _>("yanked") != 0,
            yanked_reason: r.get("yanked_reason"),
            upload_time: r.get("upload_time"),
            metadata_sha256: r.get("metadata_sha256"),
        }
    }
}

const FILE_COLUMNS: &str = "f.filename, r.version, f.packagetype, f.sha256, f.md5, f.blake2_256, \
     f.size, f.requires_python, r.yanked, r.yanked_reason, f.upload_time, f.metadata_sha256";

/// A release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseRow {
    /// The version (PEP 440 normal form).
    pub version: String,
    /// Yanked?
    pub yanked: bool,
    /// Why.
    pub yanked_reason: Option<String>,
    /// The core metadata of its first file, as JSON.
    pub metadata: serde_json::Value,
    /// `Requires-Python`.
    pub requires_python: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Why the release is quarantined, if it is.
    pub quarantine: Option<Quarantine>,
}

/// A file to upload, with everything the transaction records.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    /// The project name as the file's metadata spells it.
    pub project: &'a str,
    /// The version, PEP 440 normal form.
    pub version: &'a str,
    /// The distribution filename.
    pub filename: &'a str,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: &'a str,
    /// `Requires-Python`, if any.
    pub requires_python: Option<&'a str>,
    /// The uploading account.
    pub user_id: i64,
    /// Its name (for the journal).
    pub user_name: &'a str,
    /// The client's address (for the journal).
    pub ip: Option<&'a str>,
    /// May this upload create the project when it does not exist?
    pub may_create: bool,
    /// The file's sha256 (already written to the blob store).
    pub sha256: &'a str,
    /// Its size.
    pub size: u64,
    /// MD5 hex, if verified.
    pub md5: Option<&'a str>,
    /// BLAKE2b-256 hex, if verified.
    pub blake2_256: Option<&'a str>,
    /// sha256 of the METADATA file stored in the blob store, for wheels.
    pub metadata_sha256: Option<&'a str>,
    /// The release's core metadata as JSON (kept from the first file of the release).
    pub release_metadata: &'a serde_json::Value,
    /// The inspector's summary (the `artifact` of the `file.upload` event).
    pub artifact: &'a serde_json::Value,
    /// The release's summary, for the journal.
    pub summary: Option<&'a str>,
    /// Largest total size of the project's files.
    pub max_project_bytes: u64,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
    /// Hold the upload back: a new project is quarantined whole, a new file of an existing
    /// project quarantines its release.
    pub quarantine: Option<&'a Quarantine>,
    /// Commands (console/GUI scripts) to learn as this project's, when not quarantined.
    pub commands: &'a [String],
    /// More events to journal with the upload (the gate's decisions).
    pub journal: &'a [Event],
    /// When the gate judged look-alike names for a new project: the projects sharing its
    /// skeleton that it saw. Any other such project found inside the transaction fails the
    /// upload ([`StoreError::SimilarNameCreated`]), so two look-alikes uploaded at once can't
    /// both pass.
    pub skeleton_twins_seen: Option<&'a [(String, String)]>,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored; `created_project` when this upload created the project.
    Stored {
        /// Whether the project is new.
        created_project: bool,
    },
    /// The same file (same name, same content) was already there: nothing changed.
    Duplicate,
}

/// What a removal took away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// Releases removed.
    pub releases: u64,
    /// Files removed.
    pub files: Vec<String>,
}

pub(crate) async fn project_in(
    tx: &mut Transaction<'_, Any>,
    normalized: &str,
) -> Result<Option<Project>, StoreError> {
    Ok(sqlx::query(
        "SELECT id, name, normalized, created_at, quarantined_at, quarantine_reason, \
                    quarantine_evidence, status, status_reason FROM projects WHERE normalized = $1",
    )
    .bind(normalized)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| Project {
        id: r.get("id"),
        name: r.get("name"),
        normalized: r.get("normalized"),
        created_at: r.get("created_at"),
        quarantine: Quarantine::from_columns(
            r.get("quarantined_at"),
            r.get("quarantine_reason"),
            r.get("quarantine_evidence"),
        ),
        status: r
            .get::<Option<String>, _>("status")
            .map(|status| ProjectStatus {
                status,
                reason: r
                    .get::<Option<String>, _>("status_reason")
                    .unwrap_or_default(),
            }),
    }))
}

pub(crate) async fn require_project(
    tx: &mut Transaction<'_, Any>,
    name: &str,
) -> Result<Project, StoreError> {
    project_in(tx, &picket_formats::normalize(name))
        .await?
        .ok_or_else(|| StoreError::NoProject(name.to_owned()))
}

impl Store {
    /// Registers a project owned by nobody (tests and imports); refuses a taken normal form.
    pub async fn create_project(&self, name: &str, time_ms: i64) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let id = insert_project(&mut tx, name, time_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The project with this name (any spelling).
    pub async fn project(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let project = project_in(&mut tx, &picket_formats::normalize(name)).await?;
        tx.commit().await?;
        Ok(project)
    }

    /// Every project installers may see, as `(name, normalized)`, ordered by normalized name.
    pub async fn projects(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, normalized FROM projects WHERE quarantined_at IS NULL ORDER BY normalized",
        )
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("normalized")))
            .collect())
    }

    /// Records an uploaded file whose blob is already stored: creates the project (with the
    /// uploader as owner) when allowed, checks ownership, filename reuse, one sdist per release
    /// and the project's size limit, adds the release and the file, and journals
    /// `project.create` / `file.upload` — all in one transaction.
    pub async fn record_upload(&self, up: &Upload<'_>) -> Result<UploadOutcome, StoreError> {
        let normalized = picket_formats::normalize(up.project);
        let mut tx = self.write_tx().await?;

        if let Some(row) = sqlx::query("SELECT sha256 FROM filename_registry WHERE filename = $1")
            .bind(up.filename)
            .fetch_optional(&mut *tx)
            .await?
        {
            let existing: String = row.get("sha256");
            let live = sqlx::query("SELECT 1 FROM files WHERE filename = $1")
                .bind(up.filename)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return if !live {
                Err(StoreError::FilenameReused(up.filename.to_owned()))
            } else if existing == up.sha256 {
                Ok(UploadOutcome::Duplicate)
            } else {
                Err(StoreError::FileExists {
                    filename: up.filename.to_owned(),
                    existing_sha256: existing,
                })
            };
        }

        let mut events = Vec::new();
        let (project, created_project) = match project_in(&mut tx, &normalized).await? {
            Some(project) => {
                let owner = sqlx::query(
                    "SELECT 1 FROM project_owners WHERE project_id = $1 AND user_id = $2",
                )
                .bind(project.id)
                .bind(up.user_id)
                .fetch_optional(&mut *tx)
                .await?;
                if owner.is_none() {
                    return Err(StoreError::NotOwner {
                        user: up.user_name.to_owned(),
                        project: project.name,
                    });
                }
                if project
                    .status
                    .as_ref()
                    .is_some_and(|s| s.status == "archived")
                {
                    return Err(StoreError::Archived(project.name));
                }
                (project, false)
            }
            None if up.may_create => {
                if let Some(seen) = up.skeleton_twins_seen {
                    let twin = sqlx::query(
                        "SELECT name, normalized FROM projects WHERE skeleton = $1 AND normalized != $2",
                    )
                    .bind(picket_formats::skeleton(up.project))
                    .bind(&normalized)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("normalized")))
                    .find(|twin| !seen.contains(twin));
                    if let Some((existing, _)) = twin {
                        return Err(StoreError::SimilarNameCreated {
                            name: up.project.to_owned(),
                            existing,
                        });
                    }
                }
                let id = insert_project(&mut tx, up.project, up.time_ms).await?;
                sqlx::query("INSERT INTO project_owners (project_id, user_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(up.user_id)
                    .execute(&mut *tx)
                    .await?;
                events.push(Event::new(
                    "project.create",
                    up.time_ms,
                    Some(up.user_name),
                    up.ip,
                    serde_json::json!({ "project": up.project }),
                ));
                let project = Project {
                    id,
                    name: up.project.to_owned(),
                    normalized: normalized.clone(),
                    created_at: up.time_ms,
                    quarantine: None,
                    status: None,
                };
                (project, true)
            }
            None => return Err(StoreError::NoProject(up.project.to_owned())),
        };

        let total: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(f.size), 0) AS BIGINT) AS total FROM files f \
             JOIN releases r ON f.release_id = r.id WHERE r.project_id = $1",
        )
        .bind(project.id)
        .fetch_one(&mut *tx)
        .await?
        .get("total");
        let size = u64::try_from(total).unwrap_or(0) + up.size;
        if size > up.max_project_bytes {
            return Err(StoreError::ProjectTooLarge {
                project: project.name,
                size,
                limit: up.max_project_bytes,
            });
        }

        sqlx::query(
            "INSERT INTO releases (project_id, version, created_at, metadata, requires_python) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, version) DO NOTHING",
        )
        .bind(project.id)
        .bind(up.version)
        .bind(up.time_ms)
        .bind(up.release_metadata.to_string())
        .bind(up.requires_python)
        .execute(&mut *tx)
        .await?;
        let release_id: i64 =
            sqlx::query("SELECT id FROM releases WHERE project_id = $1 AND version = $2")
                .bind(project.id)
                .bind(up.version)
                .fetch_one(&mut *tx)
                .await?
                .get("id");
        if up.packagetype == "sdist"
            && let Some(row) = sqlx::query(
                "SELECT filename FROM files WHERE release_id = $1 AND packagetype = 'sdist'",
            )
            .bind(release_id)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Err(StoreError::SdistExists {
                version: up.version.to_owned(),
                existing: row.get("filename"),
            });
        }
        sqlx::query(
            "INSERT INTO files (release_id, filename, packagetype, sha256, size, requires_python, \
                                uploaded_by, upload_time, metadata_sha256, md5, blake2_256, inspection) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(release_id)
        .bind(up.filename)
        .bind(up.packagetype)
        .bind(up.sha256)
        .bind(i64::try_from(up.size).unwrap_or(i64::MAX))
        .bind(up.requires_python)
        .bind(up.user_id)
        .bind(up.time_ms)
        .bind(up.metadata_sha256)
        .bind(up.md5)
        .bind(up.blake2_256)
        .bind(up.artifact.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO filename_registry (filename, sha256) VALUES ($1, $2)")
            .bind(up.filename)
            .bind(up.sha256)
            .execute(&mut *tx)
            .await?;
        if let Some(q) = up.quarantine {
            let (table, id) = if created_project {
                ("projects", project.id)
            } else {
                ("releases", release_id)
            };
            sqlx::query(&format!(
                "UPDATE {table} SET quarantined_at = $1, quarantine_reason = $2, \
                 quarantine_evidence = $3 WHERE id = $4 AND quarantined_at IS NULL"
            ))
            .bind(q.at)
            .bind(&q.reason)
            .bind(q.evidence.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        } else if project.quarantine.is_none() {
            for command in up.commands {
                sqlx::query(
                    "INSERT INTO commands (command, project, first_seen) VALUES ($1, $2, $3) \
                     ON CONFLICT (command) DO NOTHING",
                )
                .bind(command)
                .bind(&normalized)
                .bind(up.time_ms)
                .execute(&mut *tx)
                .await?;
            }
        }
        let mut data = serde_json::json!({
            "project": project.name,
            "version": up.version,
            "filename": up.filename,
            "size": up.size,
            "sha256": up.sha256,
        });
        if let Some(summary) = up.summary {
            data["summary"] = summary.into();
        }
        data["artifact"] = up.artifact.clone();
        events.push(Event::new(
            "file.upload",
            up.time_ms,
            Some(up.user_name),
            up.ip,
            data,
        ));
        events.extend_from_slice(up.journal);
        append(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(UploadOutcome::Stored { created_project })
    }

    /// Stores bytes in the blob store and returns their sha256.
    pub async fn put_blob(&self, bytes: std::sync::Arc<[u8]>) -> Result<String, StoreError> {
        self.blobs.put(bytes).await
    }

    /// The files of a project (any spelling), oldest upload first.
    pub async fn project_files(&self, project: &str) -> Result<Vec<FileRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {FILE_COLUMNS} \
             FROM files f JOIN releases r ON f.release_id = r.id JOIN projects p ON r.project_id = p.id \
             WHERE p.normalized = $1 AND r.quarantined_at IS NULL ORDER BY f.upload_time, f.id"
        ))
        .bind(picket_formats::normalize(project))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(FileRow::from_row).collect())
    }

    /// One file installers may download, by filename, with its project's normalized name (`None`
    /// for files of quarantined projects and releases).
    pub async fn file(&self, filename: &str) -> Result<Option<(String, FileRow)>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT p.normalized, {FILE_COLUMNS} \
             FROM files f JOIN releases r ON f.release_id = r.id JOIN projects p ON r.project_id = p.id \
             WHERE f.filename = $1 AND p.quarantined_at IS NULL AND r.quarantined_at IS NULL"
        ))
        .bind(filename)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get("normalized"), FileRow::from_row(&r))))
    }

    /// The releases of a project installers may see, oldest first.
    pub async fn releases(&self, project: &str) -> Result<Vec<ReleaseRow>, StoreError> {
        self.releases_where(project, "AND r.quarantined_at IS NULL")
            .await
    }

    /// Every release of a project, quarantined ones included (for its owners and admins).
    pub async fn all_releases(&self, project: &str) -> Result<Vec<ReleaseRow>, StoreError> {
        self.releases_where(project, "").await
    }

    async fn releases_where(
        &self,
        project: &str,
        condition: &str,
    ) -> Result<Vec<ReleaseRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT r.version, r.yanked, r.yanked_reason, r.metadata, r.requires_python, r.created_at, \
                    r.quarantined_at, r.quarantine_reason, r.quarantine_evidence \
             FROM releases r JOIN projects p ON r.project_id = p.id \
             WHERE p.normalized = $1 {condition} ORDER BY r.created_at, r.id",
        ))
        .bind(picket_formats::normalize(project))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| ReleaseRow {
                version: r.get("version"),
                yanked: r.get::<i64, _>("yanked") != 0,
                yanked_reason: r.get("yanked_reason"),
                metadata: serde_json::from_str(&r.get::<String, _>("metadata")).unwrap_or_default(),
                requires_python: r.get("requires_python"),
                created_at: r.get("created_at"),
                quarantine: Quarantine::from_columns(
                    r.get("quarantined_at"),
                    r.get("quarantine_reason"),
                    r.get("quarantine_evidence"),
                ),
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
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let changed = sqlx::query(
            "UPDATE releases SET yanked = $1, yanked_reason = $2 WHERE version = $3 AND project_id = $4",
        )
        .bind(i64::from(yanked))
        .bind(if yanked { reason } else { None })
        .bind(version)
        .bind(p.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NoRelease {
                project: p.name,
                version: version.to_owned(),
            });
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes one file. Its blob stays (content-addressed blobs may be shared) and its name stays
    /// in the filename registry, so it can't be reused.
    pub async fn remove_file(
        &self,
        project: &str,
        filename: &str,
        journal: &[Event],
    ) -> Result<Removal, StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let changed = sqlx::query(
            "DELETE FROM files WHERE filename = $1 AND release_id IN \
             (SELECT id FROM releases WHERE project_id = $2)",
        )
        .bind(filename)
        .bind(p.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NoFile {
                project: p.name,
                filename: filename.to_owned(),
            });
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(Removal {
            releases: 0,
            files: vec![filename.to_owned()],
        })
    }

    /// Removes a release and its files.
    pub async fn remove_release(
        &self,
        project: &str,
        version: &str,
        journal: &[Event],
    ) -> Result<Removal, StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let Some(release_id) =
            sqlx::query("SELECT id FROM releases WHERE project_id = $1 AND version = $2")
                .bind(p.id)
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.get::<i64, _>("id"))
        else {
            return Err(StoreError::NoRelease {
                project: p.name,
                version: version.to_owned(),
            });
        };
        let files = delete_files(&mut tx, "release_id = $1", release_id).await?;
        sqlx::query("DELETE FROM releases WHERE id = $1")
            .bind(release_id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(Removal { releases: 1, files })
    }

    /// Removes a project with its releases, files and owners.
    pub async fn remove_project(
        &self,
        project: &str,
        journal: &[Event],
    ) -> Result<Removal, StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let files = delete_files(
            &mut tx,
            "release_id IN (SELECT id FROM releases WHERE project_id = $1)",
            p.id,
        )
        .await?;
        let releases = sqlx::query("DELETE FROM releases WHERE project_id = $1")
            .bind(p.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["project_owners"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE project_id = $1"))
                .bind(p.id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(p.id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(Removal { releases, files })
    }

    /// Sets a project's PEP 792 status (`None`: active again) with its reason; journaled.
    pub async fn set_project_status(
        &self,
        project: &str,
        status: Option<&str>,
        reason: &str,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        sqlx::query("UPDATE projects SET status = $1, status_reason = $2 WHERE id = $3")
            .bind(status)
            .bind(status.map(|_| reason))
            .bind(p.id)
            .execute(&mut *tx)
            .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The owners of a project, by name.
    pub async fn owners(&self, project: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.username FROM project_owners o JOIN users u ON o.user_id = u.id \
             JOIN projects p ON o.project_id = p.id WHERE p.normalized = $1 ORDER BY lower(u.username)",
        )
        .bind(picket_formats::normalize(project))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get("username")).collect())
    }

    /// Adds an owner (idempotent).
    pub async fn add_owner(
        &self,
        project: &str,
        username: &str,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let user_id = user_id_in(&mut tx, username).await?;
        sqlx::query(
            "INSERT INTO project_owners (project_id, user_id) VALUES ($1, $2) \
             ON CONFLICT (project_id, user_id) DO NOTHING",
        )
        .bind(p.id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes an owner; refuses to leave a project without one.
    pub async fn remove_owner(
        &self,
        project: &str,
        username: &str,
        journal: &[Event],
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let p = require_project(&mut tx, project).await?;
        let user_id = user_id_in(&mut tx, username).await?;
        let owners: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM project_owners WHERE project_id = $1")
                .bind(p.id)
                .fetch_one(&mut *tx)
                .await?
                .get("n");
        let changed =
            sqlx::query("DELETE FROM project_owners WHERE project_id = $1 AND user_id = $2")
                .bind(p.id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotOwner {
                user: username.to_owned(),
                project: p.name,
            });
        }
        if owners <= 1 {
            return Err(StoreError::LastOwner {
                user: username.to_owned(),
                project: p.name,
            });
        }
        append(&mut tx, journal).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether `user_id` owns the project.
    pub async fn is_owner(&self, project: &str, user_id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM project_owners o JOIN projects p ON o.project_id = p.id \
             WHERE p.normalized = $1 AND o.user_id = $2",
        )
        .bind(picket_formats::normalize(project))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }
}

async fn insert_project(
    tx: &mut Transaction<'_, Any>,
    name: &str,
    time_ms: i64,
) -> Result<i64, StoreError> {
    let normalized = picket_formats::normalize(name);
    if let Some(existing) = project_in(tx, &normalized).await? {
        return Err(StoreError::ProjectExists {
            existing: existing.name,
        });
    }
    Ok(sqlx::query_scalar::<_, i64>(
        "INSERT INTO projects (name, normalized, skeleton, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(&normalized)
    .bind(picket_formats::skeleton(name))
    .bind(time_ms)
    .fetch_one(&mut **tx)
    .await?
    )
}

pub(crate) async fn delete_files(
    tx: &mut Transaction<'_, Any>,
    condition: &str,
    id: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT filename FROM files WHERE {condition} ORDER BY id"
    ))
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    sqlx::query(&format!("DELETE FROM files WHERE {condition}"))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(rows.iter().map(|r| r.get("filename")).collect())
}

pub(crate) async fn user_id_in(
    tx: &mut Transaction<'_, Any>,
    username: &str,
) -> Result<i64, StoreError> {
    sqlx::query("SELECT id FROM users WHERE lower(username) = lower($1)")
        .bind(username)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get("id"))
        .ok_or_else(|| StoreError::NoUser(username.to_owned()))
}
