//! Bulk rows for tests and benchmarks at registry scale (a synthetic index of hundreds of
//! thousands of projects made directly in the store, not through uploads), and the range reads
//! that let the `/simple/` root list be rebuilt one part at a time.
//!
//! The rows are what an upload writes (project, release, file, filename registry), without
//! owners, blobs or journal events: a synthetic index is for measuring pages and uploads beside
//! it, and its files can't be downloaded.

use std::collections::HashMap;
use std::fmt::Write as _;

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, Store, StoreError};

/// At most this many bound values in one statement (SQLite allows 32,766, PostgreSQL 65,535).
pub(crate) const MAX_BINDS: usize = 30_000;

/// One value of a multi-row insert.
enum Cell {
    Int(i64),
    Text(String),
}

/// `($1, $2), ($3, $4)...`: `cells` placeholders, `width` to a row. SQLite gets `?`: it takes
/// `$N` as a named parameter and looks each new name up in a list, which makes a statement of
/// thousands of them quadratic to prepare (13x slower loading than one row a statement).
pub(crate) fn values_list(cells: usize, width: usize, backend: Backend) -> String {
    let mut sql = String::with_capacity(cells * 6);
    for i in 0..cells {
        let sep = match (i % width.max(1), i) {
            (0, 0) => "(",
            (0, _) => "), (",
            _ => ", ",
        };
        sql.push_str(sep);
        match backend {
            Backend::Sqlite => sql.push('?'),
            Backend::Postgres => {
                let _ = write!(sql, "${}", i + 1);
            }
        }
    }
    if cells > 0 {
        sql.push(')');
    }
    sql
}

/// `INSERT INTO {into} VALUES (...), (...)...` of `cells`, `width` to a row, in as few
/// statements as the bind limit allows; `returning` (empty or ` RETURNING ...`) rows of all.
async fn insert_many(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    into: &str,
    width: usize,
    cells: Vec<Cell>,
    returning: &str,
) -> Result<Vec<AnyRow>, StoreError> {
    let per_statement = (MAX_BINDS / width.max(1)).max(1) * width;
    let mut out = Vec::new();
    let mut cells = cells.into_iter().peekable();
    while cells.peek().is_some() {
        let chunk: Vec<Cell> = cells.by_ref().take(per_statement).collect();
        let sql = format!(
            "INSERT INTO {into} VALUES {}{returning}",
            values_list(chunk.len(), width, backend)
        );
        let mut query = sqlx::query(&sql);
        for cell in chunk {
            query = match cell {
                Cell::Int(i) => query.bind(i),
                Cell::Text(t) => query.bind(t),
            };
        }
        if returning.is_empty() {
            query.execute(&mut **tx).await?;
        } else {
            out.extend(query.fetch_all(&mut **tx).await?);
        }
    }
    Ok(out)
}

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
    /// Inserts `projects` in one transaction, with multi-row `INSERT`s (a few statements per
    /// thousands of rows, which matters on PostgreSQL, where each statement is a round trip). A
    /// name or filename already there is an error and the whole batch is rolled back.
    pub async fn bulk_insert(&self, projects: &[BulkProject]) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let mut cells = Vec::with_capacity(projects.len() * 4);
        for p in projects {
            cells.extend([
                Cell::Text(p.name.clone()),
                Cell::Text(picket_formats::normalize(&p.name)),
                Cell::Text(picket_formats::skeleton(&p.name)),
                Cell::Int(p.created_at),
            ]);
        }
        let project_ids: HashMap<String, i64> = insert_many(
            &mut tx,
            self.backend,
            "projects (name, normalized, skeleton, created_at)",
            4,
            cells,
            " RETURNING id, normalized",
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get("normalized")?, r.try_get("id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let project_id = |p: &BulkProject| {
            project_ids
                .get(&picket_formats::normalize(&p.name))
                .copied()
                .ok_or_else(|| StoreError::Database(format!("no id returned for {}", p.name)))
        };
        let mut cells = Vec::new();
        for p in projects {
            let id = project_id(p)?;
            for (version, _) in &p.releases {
                cells.extend([
                    Cell::Int(id),
                    Cell::Text(version.clone()),
                    Cell::Int(p.created_at),
                ]);
            }
        }
        let release_ids: HashMap<(i64, String), i64> = insert_many(
            &mut tx,
            self.backend,
            "releases (project_id, version, created_at)",
            3,
            cells,
            " RETURNING id, project_id, version",
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                (r.try_get("project_id")?, r.try_get("version")?),
                r.try_get("id")?,
            ))
        })
        .collect::<Result<_, sqlx::Error>>()?;
        let (mut files, mut registry) = (Vec::new(), Vec::new());
        for p in projects {
            let id = project_id(p)?;
            for (version, list) in &p.releases {
                let release = release_ids
                    .get(&(id, version.clone()))
                    .copied()
                    .ok_or_else(|| {
                        StoreError::Database(format!("no id returned for {} {version}", p.name))
                    })?;
                for f in list {
                    files.extend([
                        Cell::Int(release),
                        Cell::Text(f.filename.clone()),
                        Cell::Text(f.packagetype.to_owned()),
                        Cell::Text(f.sha256.clone()),
                        Cell::Int(f.size),
                        Cell::Int(p.created_at),
                    ]);
                    registry.extend([Cell::Text(f.filename.clone()), Cell::Text(f.sha256.clone())]);
                }
            }
        }
        insert_many(
            &mut tx,
            self.backend,
            "files (release_id, filename, packagetype, sha256, size, upload_time)",
            6,
            files,
            "",
        )
        .await?;
        insert_many(
            &mut tx,
            self.backend,
            "filename_registry (filename, sha256)",
            2,
            registry,
            "",
        )
        .await?;
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
