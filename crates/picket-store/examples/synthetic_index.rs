//! Fills a data directory with a synthetic index at registry scale, directly in the store (not
//! through uploads), for the scale benchmark (`benches/scale.sh`) and tests that need size.
//!
//! ```sh
//! cargo run --release -p picket-store --example synthetic_index -- DATA_DIR 900000 [FILES] [NAMES]
//! ```
//!
//! `FILES` (default 4) files per project: a wheel and an sdist per release. `NAMES`: a file with
//! one project name per line (the first tab-separated column; a header line `name` is skipped),
//! used in order and then with numbered suffixes; without it names are made up. Files have no
//! blobs: pages list them, downloads answer 404.

use std::path::PathBuf;
use std::time::Instant;

use picket_store::{BulkFile, BulkProject, Store, sha256_hex};

const BATCH: usize = 5_000;

fn made_up(i: usize) -> String {
    const PARTS: [&str; 16] = [
        "py", "data", "flask", "aio", "cloud", "ml", "web", "tool", "kit", "json", "fast", "auth",
        "test", "graph", "stream", "utils",
    ];
    let a = PARTS[i % 16];
    let b = PARTS[(i / 16) % 16];
    format!("{a}{b}-{}", i / 256)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: synthetic_index DATA_DIR PROJECTS [FILES] [NAMES]";
    let data_dir = PathBuf::from(args.first().ok_or(usage)?);
    let projects: usize = args.get(1).ok_or(usage)?.parse()?;
    let files: usize = args.get(2).map_or(Ok(4), |f| f.parse())?;
    let names: Vec<String> = match args.get(3) {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter_map(|l| l.split('\t').next())
            .filter(|n| !n.is_empty() && *n != "name")
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    // PICKET_DATABASE_URL: fill a PostgreSQL database instead of DATA_DIR/picket.db.
    let store = Store::connect(&picket_store::StoreConfig {
        database_url: std::env::var("PICKET_DATABASE_URL").ok(),
        ..picket_store::StoreConfig::in_dir(&data_dir)
    })
    .await?;
    let started = Instant::now();
    let mut seen = std::collections::HashSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut made = 0usize;
    let mut i = 0usize;
    let base_ms: i64 = 1_600_000_000_000;
    while made < projects {
        let name = match names.get(i % names.len().max(1)) {
            Some(n) if i < names.len() => n.clone(),
            Some(n) => format!("{n}-{}", i / names.len()),
            None => made_up(i),
        };
        i += 1;
        if !seen.insert(picket_formats::normalize(&name)) {
            continue;
        }
        let escaped = picket_formats::normalize(&name).replace('-', "_");
        let releases = files.div_ceil(2).max(1);
        let mut left = files;
        let release_list = (0..releases)
            .map(|r| {
                let version = format!("1.{r}.0");
                let mut list = Vec::new();
                for (suffix, kind) in [("-py3-none-any.whl", "bdist_wheel"), (".tar.gz", "sdist")] {
                    if left == 0 {
                        break;
                    }
                    left -= 1;
                    let filename = format!("{escaped}-{version}{suffix}");
                    list.push(BulkFile {
                        sha256: sha256_hex(filename.as_bytes()),
                        size: 1_000 + i64::try_from((made * 7919 + r) % 500_000).unwrap_or(0),
                        filename,
                        packagetype: kind,
                    });
                }
                (version, list)
            })
            .collect();
        batch.push(BulkProject {
            name,
            created_at: base_ms + i64::try_from(made).unwrap_or(0) * 1_000,
            releases: release_list,
        });
        made += 1;
        if batch.len() == BATCH || made == projects {
            store.bulk_insert(&batch).await?;
            batch.clear();
            eprint!(
                "\rsynthetic_index: {made}/{projects} projects ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.close().await;
    eprintln!(
        "\nsynthetic_index: {made} projects, {} files in {:.1} s",
        made * files,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
