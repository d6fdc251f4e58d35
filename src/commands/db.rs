//! `picket db`: the offline advisory database.

use serde_json::json;

use crate::cli::{DbCommand, Format};
use crate::config::data_dir;
use crate::output::{self, Exit, error};

pub fn run(command: &DbCommand, format: Format) -> Exit {
    match command {
        DbCommand::ImportOsv {
            path,
            data_dir: dir,
        } => {
            let dir = match data_dir(dir.as_deref()) {
                Ok(d) => d,
                Err(e) => {
                    error(&format!("{e:#}"));
                    return Exit::Error;
                }
            };
            let started = std::time::Instant::now();
            let mut db = picket_osv::Database::default();
            let result = db.import(path).and_then(|n| db.save(&dir).map(|p| (n, p)));
            let (added, stored) = match result {
                Ok(r) => r,
                Err(e) => {
                    error(&e.to_string());
                    return Exit::Error;
                }
            };
            let malicious = db.records().iter().filter(|r| r.is_malicious()).count();
            let report = json!({
                "records": added,
                "malicious": malicious,
                "skipped_other_ecosystems": db.skipped_other_ecosystems,
                "skipped_withdrawn": db.skipped_withdrawn,
                "stored": stored.display().to_string(),
                "elapsed_ms": started.elapsed().as_millis(),
            });
            let _ = output::emit(format, &report, |w| {
                writeln!(
                    w,
                    "imported {added} PyPI records ({malicious} malicious-package records) into {}; skipped {} of other ecosystems and {} withdrawn",
                    stored.display(),
                    db.skipped_other_ecosystems,
                    db.skipped_withdrawn
                )
            });
            Exit::Ok
        }
    }
}
