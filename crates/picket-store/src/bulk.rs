//! Bulk rows for tests and benchmarks at registry scale (a synthetic index of hundreds of
//! thousands of projects made directly in the store, not through uploads), and the range reads
//! that let the `/simple/` root list be rebuilt one part at a time.
//!
//! The rows are what an upload writes (project, release, file, filename registry), without
//! owners, blobs or journal events: a synthetic index is for measuring pages and uploads beside
//! it, and its files can't be downloaded.

use sqlx::Row;

use crate::{Store, StoreError};

/// One synthetic project and its files.
#[derive(Debug, Clone)]
pub struct BulkProject {
    /// The name as registered.
    pub name: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// `(version, files)` in release order.
    pub releases: Vec<(String, Vec<BulkFile>)>,
}

/// One synthetic file.
#[derive(Debug, Clone)]
pub struct BulkFile {
    /// The filename (unique in the index).
    pub filename: String,
    /// `bdist_wheel` or `sdist`.
    pub packagetype: &'static str,
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
}

impl Store {
    /// Inserts `projects` in one transaction. A name or filename already there is an error and
    /// the whole batch is rolled back.
    pub async fn bulk_insert(&self, projects: &[BulkProject]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        for p in projects {
            let normalized = picket_formats::normalize(&p.name);
            let project_id: i64 = sqlx::query_scalar(
                "INSERT INTO projects (name, normalized, skeleton, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(&p.name)
            .bind(&normalized)
            .bind(picket_formats::skeleton(&p.name))
            .bind(p.created_at)
            .fetch_one(&mut *tx)
            .await?;
            for (version, files) in &p.releases {
                let release_id: i64 = sqlx::query_scalar(
                    "INSERT INTO releases (project_id, version, created_at) VALUES ($1, $2, $3) \
                     RETURNING id",
                )
                .bind(project_id)
                .bind(version)
                .bind(p.created_at)
                .fetch_one(&mut *tx)
                .await?;
                for f in files {
                    sqlx::query(
                        "INSERT INTO files (release_id, filename, packagetype, sha256, size, \
                         upload_time) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(release_id)
                    .bind(&f.filename)
                    .bind(f.packagetype)
                    .bind(&f.sha256)
                    .bind(f.size)
                    .bind(p.created_at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("INSERT INTO filename_registry (filename, sha256) VALUES ($1, $2)")
                        .bind(&f.filename)
                        .bind(&f.sha256)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether any project is served (not quarantined): one row read, however large the index
    /// (for health checks and the first-start hint, which must not list every project).
    pub async fn any_served_project(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM projects WHERE quarantined_at IS NULL LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The served projects (not quarantined) whose normalized names sort in `[from, to)`, as
    /// `(name, normalized)` in that order; `to = None`: to the end.
    pub async fn projects_between(
        &self,
        from: &str,
        to: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, normalized FROM projects WHERE quarantined_at IS NULL \
             AND normalized >= $1 AND ($2 IS NULL OR normalized < $2) ORDER BY normalized",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("normalized")))
            .collect())
    }
}
