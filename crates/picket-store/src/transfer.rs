//! Moving a registry's metadata between databases (`picket admin migrate-db`, SQLite →
//! PostgreSQL), checked by each table's row count and a digest of its rows, and SQLite's online
//! backup (`picket admin backup`).

use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Column, Row};

use crate::{Backend, Store, StoreError};

/// Every table of the schema, parents before the tables that reference them. A table the
/// database has and this list lacks stops a migration (nothing may be left behind).
const TABLES: &[&str] = &[
    "users",
    "tokens",
    "projects",
    "project_owners",
    "releases",
    "files",
    "events",
    "email_verifications",
    "sessions",
    "filename_registry",
    "prohibited_domains",
    "prohibited_names",
    "rate_limits",
    "domain_signups",
    "commands",
    "user_emails",
    "campaigns",
    "domain_throttles",
    "settings",
    "reports",
    "malicious_records",
    "domain_checks",
    "password_resets",
    "recovery_codes",
];

/// Tables whose `id` a sequence gives on PostgreSQL (moved past the copied ids).
const IDENTITY_TABLES: &[&str] = &[
    "users", "tokens", "projects", "releases", "files", "events", "reports",
];

/// One table's rows, as `migrate-db` compares them on both sides.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableDigest {
    /// The table.
    pub table: String,
    /// Its rows.
    pub rows: u64,
    /// sha256 over the sorted sha256s of its rows (each value typed and length-prefixed), so
    /// it doesn't depend on row order or on either database's collation.
    pub sha256: String,
}

/// A value as read from any backend.
#[derive(Debug, Clone)]
enum Value {
    Null(AnyTypeInfoKind),
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

fn values(row: &AnyRow) -> Result<Vec<(String, Value)>, StoreError> {
    let mut out = Vec::with_capacity(row.columns().len());
    for (i, column) in row.columns().iter().enumerate() {
        let kind = column.type_info().kind();
        let value = if kind.is_integer() || kind == AnyTypeInfoKind::Bool {
            row.try_get::<Option<i64>, _>(i)?.map(Value::Int)
        } else if matches!(kind, AnyTypeInfoKind::Real | AnyTypeInfoKind::Double) {
            row.try_get::<Option<f64>, _>(i)?.map(Value::Real)
        } else if kind == AnyTypeInfoKind::Blob {
            row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob)
        } else {
            row.try_get::<Option<String>, _>(i)?.map(Value::Text)
        };
        out.push((column.name().to_owned(), value.unwrap_or(Value::Null(kind))));
    }
    Ok(out)
}

fn row_digest(values: &[(String, Value)]) -> [u8; 32] {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for (name, value) in values {
        hash.update(name.as_bytes());
        hash.update(b"=");
        match value {
            Value::Null(_) => hash.update(b"n;"),
            Value::Int(i) => hash.update(format!("i{i};")),
            Value::Real(r) => hash.update(format!("r{};", r.to_bits())),
            Value::Text(t) => hash.update(format!("t{}:{t};", t.len())),
            Value::Blob(b) => {
                hash.update(format!("b{}:", b.len()));
                hash.update(b);
            }
        }
    }
    hash.finalize().into()
}

impl Store {
    /// The tables this database has that picket doesn't know how to move.
    async fn unknown_tables(&self) -> Result<Vec<String>, StoreError> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name <> '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename <> '_sqlx_migrations'"
            }
        };
        let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(&self.pool).await?;
        Ok(names
            .into_iter()
            .filter(|n| !TABLES.contains(&n.as_str()))
            .collect())
    }

    /// Each table's row count and digest.
    pub async fn table_digests(&self) -> Result<Vec<TableDigest>, StoreError> {
        use sha2::Digest;
        let mut out = Vec::new();
        for table in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&self.pool)
                .await?;
            let mut digests = rows
                .iter()
                .map(|r| values(r).map(|v| row_digest(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            digests.sort_unstable();
            let mut all = sha2::Sha256::new();
            for d in &digests {
                all.update(d);
            }
            out.push(TableDigest {
                table: (*table).to_owned(),
                rows: digests.len() as u64,
                sha256: picket_formats::hashes::hex(&all.finalize()),
            });
        }
        Ok(out)
    }

    /// Copies every row of this store's database into `target`'s, which must hold no
    /// registry data yet, in one transaction on the target, then compares both sides' row counts
    /// and digests table by table. Returns the digests (equal on both sides).
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<TableDigest>, StoreError> {
        let unknown = self.unknown_tables().await?;
        if !unknown.is_empty() {
            return Err(StoreError::Database(format!(
                "the source has tables this picket doesn't know ({}); use the picket version \
                 that made them",
                unknown.join(", ")
            )));
        }
        for table in TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&target.pool)
                .await?;
            if n > 0 {
                return Err(StoreError::Database(format!(
                    "the target already holds data ({n} rows in {table}); migrate into an empty \
                     database"
                )));
            }
        }
        let mut tx = target.write_tx().await?;
        for table in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                let values = values(row)?;
                let columns: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
                let marks: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                );
                let mut query = sqlx::query(&sql);
                for (_, value) in values {
                    query = match value {
                        Value::Null(kind) if kind.is_integer() || kind == AnyTypeInfoKind::Bool => {
                            query.bind(None::<i64>)
                        }
                        Value::Null(AnyTypeInfoKind::Real | AnyTypeInfoKind::Double) => {
                            query.bind(None::<f64>)
                        }
                        Value::Null(AnyTypeInfoKind::Blob) => query.bind(None::<Vec<u8>>),
                        Value::Null(_) => query.bind(None::<String>),
                        Value::Int(i) => query.bind(i),
                        Value::Real(r) => query.bind(r),
                        Value::Text(t) => query.bind(t),
                        Value::Blob(b) => query.bind(b),
                    };
                }
                query.execute(&mut *tx).await?;
            }
        }
        if target.backend == Backend::Postgres {
            for table in IDENTITY_TABLES {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        let (from, to) = (self.table_digests().await?, target.table_digests().await?);
        for (a, b) in from.iter().zip(&to) {
            if a != b {
                return Err(StoreError::Database(format!(
                    "table {} differs after the copy: {} rows ({}) here, {} rows ({}) there",
                    a.table, a.rows, a.sha256, b.rows, b.sha256
                )));
            }
        }
        Ok(from)
    }

    /// Writes a consistent copy of the SQLite database to `dest` while the registry keeps
    /// serving (`VACUUM INTO`: one read transaction, readers and writers go on). PostgreSQL is
    /// backed up with its own tools (`pg_dump`).
    pub async fn backup_sqlite(&self, dest: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Database(
                "backup copies a SQLite database; back PostgreSQL up with pg_dump".into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::Io {
                path: dest.display().to_string(),
                message: "already exists; backup never overwrites".into(),
            });
        }
        sqlx::query("VACUUM INTO $1")
            .bind(dest.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
