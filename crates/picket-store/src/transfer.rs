//! Moving a registry's metadata between databases (`picket admin migrate-db`, SQLite →
//! PostgreSQL), checked by each table's row count and a digest of its rows, and SQLite's online
//! backup (`picket admin backup`).

use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Column, Row};

use crate::{Backend, Store, StoreError};

/// Every table of the schema with its primary key, parents before the tables that reference
/// them. Rows are read in batches in key order (keyset pagination), so a migration's memory
/// doesn't grow with a table. A table the database has and this list lacks stops a migration
/// (nothing may be left behind).
const TABLES: &[(&str, &[&str])] = &[
    ("users", &["id"]),
    ("tokens", &["id"]),
    ("projects", &["id"]),
    ("project_owners", &["project_id", "user_id"]),
    ("releases", &["id"]),
    ("files", &["id"]),
    ("events", &["id"]),
    ("email_verifications", &["token_hash"]),
    ("sessions", &["token_hash"]),
    ("filename_registry", &["filename"]),
    ("prohibited_domains", &["domain"]),
    ("prohibited_names", &["normalized"]),
    ("rate_limits", &["key"]),
    ("domain_signups", &["domain", "bucket"]),
    ("commands", &["command"]),
    ("user_emails", &["user_id", "email"]),
    ("campaigns", &["id"]),
    ("domain_throttles", &["domain"]),
    ("settings", &["key"]),
    ("reports", &["id"]),
    ("malicious_records", &["id"]),
    ("domain_checks", &["domain"]),
    ("password_resets", &["token_hash"]),
    ("recovery_codes", &["user_id", "code_hash"]),
];

/// Rows read (and written) at a time by `migrate-db` and the digests.
pub const TRANSFER_BATCH: usize = 1_000;

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
    /// sha256 over the row count and the sum (mod 2^256) of the sha256s of its rows (each value
    /// typed and length-prefixed): it doesn't depend on row order or on either database's
    /// collation, and it is computed in one pass with constant memory.
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

/// Adds a row's digest to a running sum modulo 2^256 (both big-endian).
fn add_digest(sum: &mut [u8; 32], digest: &[u8; 32]) {
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let total = u16::from(sum[i]) + u16::from(digest[i]) + carry;
        sum[i] = total.to_be_bytes()[1];
        carry = total >> 8;
    }
}

/// One batch's rows: `SELECT * FROM table` after `after` in key order, at most `limit` rows.
fn batch_query(table: &str, key: &[&str], after: bool, limit: usize) -> String {
    let key_list = key.join(", ");
    let condition = if after {
        let marks: Vec<String> = (1..=key.len()).map(|i| format!("${i}")).collect();
        format!(" WHERE ({key_list}) > ({})", marks.join(", "))
    } else {
        String::new()
    };
    format!("SELECT * FROM {table}{condition} ORDER BY {key_list} LIMIT {limit}")
}

fn bind_value<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    value: Value,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Value::Null(kind) if kind.is_integer() || kind == AnyTypeInfoKind::Bool => {
            query.bind(None::<i64>)
        }
        Value::Null(AnyTypeInfoKind::Real | AnyTypeInfoKind::Double) => query.bind(None::<f64>),
        Value::Null(AnyTypeInfoKind::Blob) => query.bind(None::<Vec<u8>>),
        Value::Null(_) => query.bind(None::<String>),
        Value::Int(i) => query.bind(i),
        Value::Real(r) => query.bind(r),
        Value::Text(t) => query.bind(t),
        Value::Blob(b) => query.bind(b),
    }
}

/// A table read in batches in key order (keyset pagination: each batch starts after the last
/// key of the one before).
struct Batches<'a> {
    pool: &'a sqlx::AnyPool,
    table: &'a str,
    key: &'a [&'a str],
    batch: usize,
    after: Option<Vec<Value>>,
    read: u64,
    done: bool,
}

impl<'a> Batches<'a> {
    fn new(pool: &'a sqlx::AnyPool, table: &'a str, key: &'a [&'a str], batch: usize) -> Self {
        Self {
            pool,
            table,
            key,
            batch: batch.max(1),
            after: None,
            read: 0,
            done: false,
        }
    }

    /// The next batch, or `None` after the last row.
    async fn next(&mut self) -> Result<Option<Vec<Vec<(String, Value)>>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let sql = batch_query(self.table, self.key, self.after.is_some(), self.batch);
        let mut query = sqlx::query(&sql);
        for value in self.after.take().unwrap_or_default() {
            query = bind_value(query, value);
        }
        let rows = query
            .fetch_all(self.pool)
            .await?
            .iter()
            .map(values)
            .collect::<Result<Vec<_>, _>>()?;
        self.done = rows.len() < self.batch;
        self.read += rows.len() as u64;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        let mut next = Vec::with_capacity(self.key.len());
        for column in self.key {
            match last.iter().find(|(name, _)| name == column) {
                Some((_, v @ (Value::Int(_) | Value::Text(_)))) => next.push(v.clone()),
                _ => {
                    return Err(StoreError::Database(format!(
                        "table {}: key column {column} is missing or not an integer or text",
                        self.table
                    )));
                }
            }
        }
        self.after = Some(next);
        Ok(Some(rows))
    }

    /// The rows read, checked against `COUNT(*)`: a row the key order skipped (a NULL in a
    /// SQLite text key) fails the transfer rather than going missing.
    async fn finish(self) -> Result<u64, StoreError> {
        let counted: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", self.table))
            .fetch_one(self.pool)
            .await?;
        if u64::try_from(counted).ok() != Some(self.read) {
            return Err(StoreError::Database(format!(
                "table {}: {} rows read in key order but {counted} counted; is it being \
                 written to, or does a key hold NULL?",
                self.table, self.read
            )));
        }
        Ok(self.read)
    }
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
            .filter(|n| !TABLES.iter().any(|(t, _)| t == n))
            .collect())
    }

    /// Each table's row count and digest.
    pub async fn table_digests(&self) -> Result<Vec<TableDigest>, StoreError> {
        self.table_digests_in_batches(TRANSFER_BATCH).await
    }

    /// [`Store::table_digests`], reading `batch` rows at a time.
    pub async fn table_digests_in_batches(
        &self,
        batch: usize,
    ) -> Result<Vec<TableDigest>, StoreError> {
        use sha2::Digest;
        let mut out = Vec::new();
        for (table, key) in TABLES {
            let mut sum = [0u8; 32];
            let mut batches = Batches::new(&self.pool, table, key, batch);
            while let Some(rows) = batches.next().await? {
                for row in &rows {
                    add_digest(&mut sum, &row_digest(row));
                }
            }
            let rows = batches.finish().await?;
            let mut all = sha2::Sha256::new();
            all.update(rows.to_be_bytes());
            all.update(sum);
            out.push(TableDigest {
                table: (*table).to_owned(),
                rows,
                sha256: picket_formats::hashes::hex(&all.finalize()),
            });
        }
        Ok(out)
    }

    /// Copies every row of this store's database into `target`'s, which must hold no
    /// registry data yet, in one transaction on the target, then compares both sides' row counts
    /// and digests table by table. Returns the digests (equal on both sides).
    pub async fn copy_into(&self, target: &Store) -> Result<Vec<TableDigest>, StoreError> {
        self.copy_into_in_batches(target, TRANSFER_BATCH).await
    }

    /// [`Store::copy_into`], reading and writing `batch` rows at a time (memory stays flat
    /// whatever a table's size).
    pub async fn copy_into_in_batches(
        &self,
        target: &Store,
        batch: usize,
    ) -> Result<Vec<TableDigest>, StoreError> {
        let unknown = self.unknown_tables().await?;
        if !unknown.is_empty() {
            return Err(StoreError::Database(format!(
                "the source has tables this picket doesn't know ({}); use the picket version \
                 that made them",
                unknown.join(", ")
            )));
        }
        for (table, _) in TABLES {
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
        for (table, key) in TABLES {
            let mut batches = Batches::new(&self.pool, table, key, batch);
            while let Some(rows) = batches.next().await? {
                insert_rows(&mut tx, target.backend, table, rows).await?;
            }
            batches.finish().await?;
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
        let (from, to) = (
            self.table_digests_in_batches(batch).await?,
            target.table_digests_in_batches(batch).await?,
        );
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

/// Inserts `rows` (all of `table`, same columns) with multi-row `INSERT`s.
async fn insert_rows(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    table: &str,
    rows: Vec<Vec<(String, Value)>>,
) -> Result<(), StoreError> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let columns: Vec<String> = first.iter().map(|(n, _)| n.clone()).collect();
    let per_statement = (crate::bulk::MAX_BINDS / columns.len().max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(per_statement).collect();
        if let Some(row) = chunk.iter().find(|r| r.len() != columns.len()) {
            return Err(StoreError::Database(format!(
                "table {table}: a row with {} columns where {} were expected",
                row.len(),
                columns.len()
            )));
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            crate::bulk::values_list(chunk.len() * columns.len(), columns.len(), backend)
        );
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for (_, value) in row {
                query = bind_value(query, value);
            }
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
