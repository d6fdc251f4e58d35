//! `picket db`: the offline advisory database.

use serde_json::json;

use crate::cli::{DbCommand, Format};
use crate::config::data_dir;
use crate::output::{self, Exit, error};

/// Largest `all.zip` downloaded.
const MAX_DOWNLOAD: u64 = 1 << 30;

pub fn run(command: &DbCommand, format: Format) -> Exit {
    match command {
        DbCommand::Update { url, data_dir: dir } => {
            match update(url.as_deref(), dir.as_deref(), format) {
                Ok(exit) => exit,
                Err(e) => {
                    error(&format!("{e:#}"));
                    Exit::Error
                }
            }
        }
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
            warn_problems(&db);
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

fn update(
    url: Option<&str>,
    dir: Option<&std::path::Path>,
    format: Format,
) -> anyhow::Result<Exit> {
    use anyhow::Context;
    let env_url = std::env::var("PICKET_OSV_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let Some(url) = url.map(str::to_owned).or(env_url) else {
        crate::output::hint(
            "pass --url URL or set PICKET_OSV_URL to where the PyPI all.zip is served",
        );
        anyhow::bail!("no OSV download URL configured");
    };
    let dir = data_dir(dir)?;
    let etag_path = dir.join("osv").join("all.zip.etag");
    let etag = std::fs::read_to_string(&etag_path).ok();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_mins(10)))
        .build()
        .into();
    let mut request = agent.get(&url);
    if let Some(tag) = etag
        .as_deref()
        .filter(|_| picket_osv::store_path(&dir).exists())
    {
        request = request.header("If-None-Match", tag.trim());
    }
    let mut response = request.call().with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    if status == 304 {
        let _ = output::emit(format, &json!({ "updated": false, "url": url }), |w| {
            writeln!(
                w,
                "the advisory database is up to date ({url} has not changed)"
            )
        });
        return Ok(Exit::Ok);
    }
    if status != 200 {
        anyhow::bail!("GET {url}: HTTP {status}");
    }
    let new_etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_vec()
        .with_context(|| format!("reading {url}"))?;
    std::fs::create_dir_all(dir.join("osv"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let zip_path = dir.join("osv").join("all.zip.download");
    std::fs::write(&zip_path, &bytes).with_context(|| format!("writing {}", zip_path.display()))?;
    let mut db = picket_osv::Database::default();
    let imported = db.import(&zip_path).and_then(|n| db.save(&dir).map(|_| n));
    let _ = std::fs::remove_file(&zip_path);
    let added = imported?;
    warn_problems(&db);
    match new_etag {
        Some(tag) => std::fs::write(&etag_path, tag)
            .with_context(|| format!("writing {}", etag_path.display()))?,
        None => {
            let _ = std::fs::remove_file(&etag_path);
        }
    }
    let _ = output::emit(
        format,
        &json!({ "updated": true, "url": url, "records": added, "bytes": bytes.len() }),
        |w| {
            writeln!(
                w,
                "imported {added} PyPI records from {url} ({} bytes)",
                bytes.len()
            )
        },
    );
    Ok(Exit::Ok)
}

/// Warns of records whose ranges or vectors picket cannot use (the first ten, then a count).
pub fn warn_problems(db: &picket_osv::Database) {
    for problem in db.problems.iter().take(10) {
        output::warning(problem);
    }
    if db.problems.len() > 10 {
        output::warning(&format!(
            "… and {} more problems in the records",
            db.problems.len() - 10
        ));
    }
}
