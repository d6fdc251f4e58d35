//! `picket db`: the offline advisory database.

use serde_json::json;

use crate::cli::{DbCommand, Format};
use crate::config::data_dir;
use crate::output::{self, Exit, error};

/// Largest `all.zip` downloaded.
const MAX_DOWNLOAD: u64 = 1 << 30;

pub fn run(command: &DbCommand, format: Format) -> Exit {
    match command {
        DbCommand::Update { url, data_dir: dir } => match update(url, dir.as_deref(), format) {
            Ok(exit) => exit,
            Err(e) => {
                error(&format!("{e:#}"));
                Exit::Error
            }
        },
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
            hint_monitor(&dir);
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

/// What one source's download did.
enum Fetched {
    /// New content in a temporary file beside the cache, with its `ETag`; it replaces the cached
    /// copy only once the database was imported from it.
    Downloaded {
        temp: std::path::PathBuf,
        etag: Option<String>,
        bytes: usize,
    },
    /// `304`: the cached copy is current.
    Unchanged,
}

/// The cache of one source URL: `osv/sources/HASH.zip` and its `.etag`.
fn source_paths(dir: &std::path::Path, url: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = &picket_formats::hashes::sha256_hex(url.as_bytes())[..16];
    let base = dir.join("osv").join("sources");
    (
        base.join(format!("{key}.zip")),
        base.join(format!("{key}.etag")),
    )
}

/// Downloads `url` into its cache unless its `ETag` says the cached copy is current.
fn fetch(agent: &ureq::Agent, dir: &std::path::Path, url: &str) -> anyhow::Result<Fetched> {
    use anyhow::Context;
    let (zip_path, etag_path) = source_paths(dir, url);
    let mut request = agent.get(url);
    if zip_path.exists()
        && let Ok(tag) = std::fs::read_to_string(&etag_path)
    {
        request = request.header("If-None-Match", tag.trim());
    }
    let mut response = request.call().with_context(|| format!("GET {url}"))?;
    let status = response.status().as_u16();
    if status == 304 {
        return Ok(Fetched::Unchanged);
    }
    if status != 200 {
        anyhow::bail!("GET {url}: HTTP {status}");
    }
    let etag = response
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
    let folder = zip_path.parent().unwrap_or(dir);
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let temp = zip_path.with_extension("zip.download");
    std::fs::write(&temp, &bytes).with_context(|| format!("writing {}", temp.display()))?;
    Ok(Fetched::Downloaded {
        temp,
        etag,
        bytes: bytes.len(),
    })
}

/// Removes the temporary copies of an update that failed.
fn discard(fetched: &[Fetched]) {
    for f in fetched {
        if let Fetched::Downloaded { temp, .. } = f {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Makes a downloaded copy the source's cache, with its `ETag`.
fn keep(dir: &std::path::Path, url: &str, fetched: &Fetched) -> anyhow::Result<()> {
    use anyhow::Context;
    let Fetched::Downloaded { temp, etag, .. } = fetched else {
        return Ok(());
    };
    let (zip_path, etag_path) = source_paths(dir, url);
    std::fs::rename(temp, &zip_path).with_context(|| format!("writing {}", zip_path.display()))?;
    match etag {
        Some(tag) => std::fs::write(&etag_path, tag)
            .with_context(|| format!("writing {}", etag_path.display()))?,
        None => {
            let _ = std::fs::remove_file(&etag_path);
        }
    }
    Ok(())
}

fn update(urls: &[String], dir: Option<&std::path::Path>, format: Format) -> anyhow::Result<Exit> {
    use anyhow::Context;
    let mut urls: Vec<String> = urls.to_vec();
    if urls.is_empty() {
        urls = std::env::var("PICKET_OSV_URL")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    }
    if urls.is_empty() {
        crate::output::hint(
            "pass --url URL or set PICKET_OSV_URL to where the PyPI all.zip is served",
        );
        anyhow::bail!("no OSV download URL configured");
    }
    let dir = data_dir(dir)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_mins(10)))
        .build()
        .into();
    // Every source is fetched before anything is imported: one failing leaves the database as
    // it was.
    let mut fetched = Vec::new();
    for url in &urls {
        match fetch(&agent, &dir, url) {
            Ok(f) => fetched.push(f),
            Err(e) => {
                discard(&fetched);
                return Err(e);
            }
        }
    }
    // The database holds exactly these sources: a different list imports again even if none
    // of them changed.
    let list_path = dir.join("osv").join("sources.txt");
    let list = urls.join("\n");
    let same_list = std::fs::read_to_string(&list_path).is_ok_and(|l| l == list);
    let downloaded: usize = fetched
        .iter()
        .map(|f| match f {
            Fetched::Downloaded { bytes, .. } => *bytes,
            Fetched::Unchanged => 0,
        })
        .sum();
    let changed = fetched
        .iter()
        .any(|f| matches!(f, Fetched::Downloaded { .. }));
    let single = urls.first().filter(|_| urls.len() == 1);
    if !changed && same_list && picket_osv::store_path(&dir).exists() {
        let _ = output::emit(
            format,
            &json!({ "updated": false, "url": single, "urls": urls }),
            |w| {
                writeln!(
                    w,
                    "the advisory database is up to date ({} has not changed)",
                    urls.join(", ")
                )
            },
        );
        return Ok(Exit::Ok);
    }
    let mut db = picket_osv::Database::default();
    let imported = urls.iter().zip(&fetched).try_for_each(|(url, f)| {
        let path = match f {
            Fetched::Downloaded { temp, .. } => temp.clone(),
            Fetched::Unchanged => source_paths(&dir, url).0,
        };
        db.import(&path).map(|_| ())
    });
    if let Err(e) = imported.and_then(|()| db.save(&dir).map(|_| ())) {
        // Nothing replaced: the cached copies and their ETags stay as they were.
        discard(&fetched);
        return Err(e.into());
    }
    for (url, f) in urls.iter().zip(&fetched) {
        keep(&dir, url, f)?;
    }
    std::fs::write(&list_path, &list)
        .with_context(|| format!("writing {}", list_path.display()))?;
    warn_problems(&db);
    hint_monitor(&dir);
    let added = db.len();
    let _ = output::emit(
        format,
        &json!({ "updated": true, "url": single, "urls": urls, "records": added,
                 "withdrawn": db.skipped_withdrawn, "bytes": downloaded }),
        |w| {
            writeln!(
                w,
                "imported {added} PyPI records from {} ({downloaded} bytes downloaded; {} withdrawn records left out)",
                urls.join(", "),
                db.skipped_withdrawn
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

/// After new records: the monitored projects are not scanned here (a failing webhook must not
/// fail an update); `picket monitor run` does it, which the hint says.
fn hint_monitor(dir: &std::path::Path) {
    if let Ok(state) = picket_check::monitor::State::load(dir)
        && !state.projects.is_empty()
    {
        output::hint(&format!(
            "{} monitored project{}: `picket monitor run` sends the findings these records bring",
            state.projects.len(),
            if state.projects.len() == 1 { "" } else { "s" }
        ));
    }
}
