//! `picket admin migrate-db`, `backup` and `restore`: the commands that move a registry's
//! metadata whole rather than change it.

use std::path::{Path, PathBuf};

use picket_store::{Store, StoreConfig, redacted};
use serde_json::json;

use crate::cli::{AdminCommand, Format};
use crate::output::{self, Exit, error, hint};

/// Runs `command` if it is one of these, on the registry `config` describes.
pub async fn run(command: &AdminCommand, config: &StoreConfig, format: Format) -> Option<Exit> {
    let result = match command {
        AdminCommand::MigrateDb { from, to } => migrate(config, from.as_deref(), to, format).await,
        AdminCommand::Backup { file } => backup(config, file, format).await,
        AdminCommand::Restore { file } => restore(config, file, format).await,
        _ => return None,
    };
    Some(match result {
        Ok(()) => Exit::Ok,
        Err((message, hint_line)) => {
            error(&message);
            if let Some(h) = hint_line {
                hint(h);
            }
            Exit::Error
        }
    })
}

type Failure = (String, Option<&'static str>);

async fn open(config: &StoreConfig, what: &str) -> Result<Store, Failure> {
    Store::connect(config).await.map_err(|e| {
        let at = config.database_url.as_deref().map_or_else(
            || config.data_dir.join("picket.db").display().to_string(),
            redacted,
        );
        (format!("opening the {what} ({at}): {e}"), None)
    })
}

async fn migrate(
    config: &StoreConfig,
    from: Option<&str>,
    to: &str,
    format: Format,
) -> Result<(), Failure> {
    let source_config = StoreConfig {
        database_url: from
            .map(str::to_owned)
            .or_else(|| config.database_url.clone()),
        ..config.clone()
    };
    let target_config = StoreConfig {
        database_url: Some(to.to_owned()),
        ..config.clone()
    };
    let source = open(&source_config, "source").await?;
    let target = open(&target_config, "target").await?;
    let copied = source.copy_into(&target).await;
    source.close().await;
    target.close().await;
    let tables = copied.map_err(|e| {
        (
            format!("migrating: {e}"),
            Some("the target is left as it was: the copy is one transaction"),
        )
    })?;
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    eprintln!(
        "copied {rows} rows of {} tables to {}; counts and digests match",
        tables.len(),
        redacted(to)
    );
    hint("point database-url (or PICKET_DATABASE_URL) at the target and start picket serve");
    let report = json!({ "to": redacted(to), "tables": tables });
    emit_tables(format, &report, &tables)
}

/// `report` as JSON, or each table's name, rows and digest as a line.
fn emit_tables(
    format: Format,
    report: &serde_json::Value,
    tables: &[picket_store::TableDigest],
) -> Result<(), Failure> {
    output::emit(format, report, |w| {
        for t in tables {
            writeln!(w, "{:<22} {:>9} {}", t.table, t.rows, t.sha256)?;
        }
        Ok(())
    })
    .map_err(|_| ("writing the report".to_owned(), None))
}

fn sqlite_file(config: &StoreConfig) -> Result<PathBuf, Failure> {
    match config.database_url.as_deref() {
        None => Ok(config.data_dir.join("picket.db")),
        Some(url) if url.starts_with("sqlite:") => Err((
            "backup and restore work on the data directory's picket.db; this registry uses another SQLite file".into(),
            Some("copy it with `sqlite3 FILE '.backup DEST'`"),
        )),
        Some(_) => Err((
            "this registry uses PostgreSQL: back it up with pg_dump and restore with pg_restore".into(),
            Some("see docs/backup.md"),
        )),
    }
}

async fn backup(config: &StoreConfig, file: &Path, format: Format) -> Result<(), Failure> {
    sqlite_file(config)?;
    let store = open(config, "database").await?;
    let done = store.backup_sqlite(file).await;
    store.close().await;
    done.map_err(|e| (format!("backing up: {e}"), None))?;
    let bytes = std::fs::metadata(file).map_or(0, |m| m.len());
    eprintln!("backed up to {} ({bytes} bytes)", file.display());
    output::emit(format, &json!({ "backup": file, "bytes": bytes }), |w| {
        writeln!(w, "{}", file.display())
    })
    .map_err(|_| ("writing the report".to_owned(), None))
}

async fn restore(config: &StoreConfig, file: &Path, format: Format) -> Result<(), Failure> {
    let live = sqlite_file(config)?;
    let io = |what: &str, path: &Path, e: std::io::Error| {
        (format!("{what} {}: {e}", path.display()), None)
    };
    // The backup is copied and opened (checked, migrated if older, refused if newer) before
    // anything is replaced.
    let staged = config.data_dir.join("picket.db.restoring");
    std::fs::copy(file, &staged).map_err(|e| io("copying", file, e))?;
    let check = StoreConfig {
        database_url: Some(format!("sqlite://{}", staged.display())),
        ..config.clone()
    };
    let store = match open(&check, "backup").await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    let tables = store.table_digests().await;
    store.close().await;
    let tables = tables.map_err(|e| (format!("reading the backup: {e}"), None))?;
    // A WAL left by the replaced database must not be applied to the restored one.
    let kept = config.data_dir.join("picket.db.before-restore");
    if live.exists() {
        std::fs::rename(&live, &kept).map_err(|e| io("moving aside", &live, e))?;
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", live.display()));
        if side.exists() {
            std::fs::remove_file(&side).map_err(|e| io("removing", &side, e))?;
        }
    }
    std::fs::rename(&staged, &live).map_err(|e| io("restoring", &live, e))?;
    std::fs::File::open(&config.data_dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("syncing", &config.data_dir, e))?;
    let rows: u64 = tables.iter().map(|t| t.rows).sum();
    eprintln!(
        "restored {} ({rows} rows); the replaced database is {}",
        file.display(),
        kept.display()
    );
    emit_tables(
        format,
        &json!({ "restored": file, "tables": tables }),
        &tables,
    )
}
