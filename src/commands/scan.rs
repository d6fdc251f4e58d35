//! `picket scan [PATH...]` / `picket scan --env [PATH]`: every dependency a project declares (or an
//! environment has installed), vetted in one pass. The scan is
//! `picket_check::scan`'s; this resolves the sources (index, advisories, baseline), prints the
//! warnings and hints, and writes the report in the format asked.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use picket_check::scan::{self, Advisories, Policy, ScanReport};
use picket_check::{Checker, name_data};
use picket_names::SquatDetector;

use super::check;
use crate::cli::{Format, ScanArgs};
use crate::config::{Config, data_dir};
use crate::output::{self, Exit};

pub fn run(args: &ScanArgs, format: Format) -> Exit {
    match run_checked(args, format) {
        Ok(exit) => exit,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn run_checked(args: &ScanArgs, format: Format) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = data_dir(args.data_dir.as_deref())?;
    // With --env or --image, dependency files are read only when named.
    let files = if (args.env.is_some() || args.image.is_some()) && args.paths.is_empty() {
        Vec::new()
    } else {
        scan::discover(&args.paths)?
    };
    // The name index and the typosquat detector built from it (tens of milliseconds) are made
    // while the files and the environment are read.
    let names = {
        let data_dir = data_dir.clone();
        let squat = config.names.squat_config();
        std::thread::spawn(move || {
            name_data::load(&data_dir).map(|loaded| {
                let detector = SquatDetector::new(&loaded.popular, squat);
                (loaded, detector)
            })
        })
    };
    let mut parsed = scan::parse_files(&files);
    if let Some(env) = &args.env {
        let env = match env {
            Some(path) => picket_env::Environment::locate(path)?,
            None => picket_env::Environment::active()?,
        };
        let check = if args.record_sizes_only {
            output::warning(
                "--record-sizes-only: installed files were compared with their RECORD by size alone, so an edit that keeps a file's size is not seen",
            );
            picket_env::FileCheck::Size
        } else {
            picket_env::FileCheck::Hash
        };
        let cache = (!args.no_hash_cache).then(|| data_dir.join("hash-cache"));
        let sites = picket_env::read_cached(&env, args.jobs.max(1), check, cache.as_deref())?;
        if args.verbose && check == picket_env::FileCheck::Hash {
            let mut hashed = picket_env::HashStats::default();
            for site in &sites {
                hashed.files += site.hashed.files;
                hashed.bytes += site.hashed.bytes;
                hashed.cached += site.hashed.cached;
            }
            let _ = writeln!(
                output::stderr(),
                "note: hashed {} installed files ({}); {} more unchanged since a scan hashed them{}",
                hashed.files,
                output::bytes(hashed.bytes),
                hashed.cached,
                if args.no_hash_cache {
                    " (--no-hash-cache)"
                } else {
                    ""
                }
            );
        }
        parsed = scan::parse_environment(sites).and(parsed);
    }
    if let Some(image) = &args.image {
        parsed = scan::parse_environment(image_environments(image, args.jobs.max(1))?).and(parsed);
    }
    // Where the advisories come from: an OSV API (its records about these projects), or the
    // imported database (with the count of all it holds).
    let (db, total, database) = match &args.osv_url {
        Some(url) => {
            let db = picket_check::osv_client::fetch(url, parsed.names(), args.jobs)?;
            let answered = db.len();
            (
                db,
                answered,
                Some(picket_check::osv_client::query_url(url)?),
            )
        }
        None => {
            let (db, total) = picket_osv::Database::load_for(&data_dir, parsed.names())?;
            let store =
                (total > 0).then(|| picket_osv::store_path(&data_dir).display().to_string());
            (db, total, store)
        }
    };
    if total == 0 && args.osv_url.is_none() {
        output::hint(
            "no advisories imported, so releases were not checked for vulnerabilities or malware; run `picket db import-osv PATH` or `picket db update`",
        );
    }
    let (loaded, detector) = names
        .join()
        .map_err(|_| anyhow::anyhow!("loading the name index failed"))??;
    let index_url =
        check::resolve_index(args.offline, args.index.as_deref(), &config, &loaded.origin);
    let source = check::source(index_url.as_ref(), &data_dir)?;
    let checker = Checker::new(&config.check, &config.names, &loaded, &detector, source);
    let mut ignore = config.check.ignore.clone();
    let previous = match &args.baseline {
        Some(path) => {
            let found = scan::baseline_findings(path)?;
            let reason = scan::baseline_reason(path);
            ignore.extend(found.iter().map(|f| f.ignore(&reason)));
            Some((found, reason))
        }
        None => None,
    };
    for path in &args.vex {
        ignore.extend(picket_check::vex::read(path)?);
    }
    let policy = Policy {
        require_hashes: args.require_hashes || config.scan.require_hashes,
        ignore: &ignore,
        today: picket_formats::time::now_unix().div_euclid(86_400),
        licenses: licenses(&config, index_url.as_ref(), &data_dir, &parsed, args.jobs)?,
    };
    let bar = check::progress_bar(checker.online());
    let report = scan::scan(
        parsed,
        &checker,
        &db,
        &policy,
        args.jobs.max(1),
        &|done, total| {
            if total > 1 {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        },
    );
    bar.finish_and_clear();
    for warning in report.warnings.iter().chain(&policy.expired()) {
        output::warning(warning);
    }
    check::hint_unknown_existence(&checker, report.packages.iter().map(|p| p.exists));
    let report = ScanReport {
        mode: if checker.online() {
            "online"
        } else {
            "offline"
        },
        index: index_url.map(|u| u.url.clone()),
        baseline: args.baseline.as_ref().map(|p| p.display().to_string()),
        advisories: Advisories {
            records: total,
            database,
        },
        ..report
    };
    let layout = super::scan_table::Layout {
        width: super::scan_table::width(args.out.is_none()),
        verbose: args.verbose,
    };
    let states = previous
        .as_ref()
        .map(|(found, reason)| super::scan_formats::BaselineStates {
            reason: reason.clone(),
            absent: scan::absent(found, &report, policy.today),
        });
    write_report(
        &report,
        format,
        args.out.as_deref(),
        &layout,
        states.as_ref(),
    )?;
    if format == Format::Table
        && !args.verbose
        && report
            .packages
            .iter()
            .any(|p| !p.vulnerabilities.is_empty())
    {
        output::hint(
            "`--verbose` prints every id, fixed version and advisory text (`--format json` has them too)",
        );
    }
    let fail_on = args.fail_on.unwrap_or(config.check.fail_on);
    Ok(
        if report.files.iter().any(|f| f.error.is_some())
            || report.packages.iter().any(|p| p.error.is_some())
        {
            Exit::Error
        } else if report.worst().at_least(fail_on) {
            Exit::Findings
        } else {
            Exit::Ok
        },
    )
}

/// With `[scan.licenses]` set, what the index's JSON API says of each pinned release's license;
/// offline there is nothing to judge them by (lock files carry no licenses), which a hint says.
fn licenses<'a>(
    config: &'a Config,
    index_url: Option<&picket_check::index_url::IndexUrl>,
    data_dir: &Path,
    parsed: &scan::Parsed,
    jobs: usize,
) -> anyhow::Result<Option<scan::Licenses<'a>>> {
    let policy = &config.scan.licenses;
    if !policy.is_set() {
        return Ok(None);
    }
    let Some(index) = index_url else {
        output::hint(
            "[scan.licenses] is set but licenses were not checked: they come from the index's metadata, and this scan is offline (give --index, or drop --offline)",
        );
        return Ok(None);
    };
    let client = picket_check::online::Client::new(&index.url, &data_dir.join("http-cache"))?;
    let wanted = parsed.pins();
    let answers = picket_check::licenses::fetch(&client, &wanted, jobs.max(1), &|| {});
    let mut found = std::collections::HashMap::new();
    for (key, answer) in wanted.into_iter().zip(answers) {
        if let Err(e) = &answer {
            output::warning(&format!("license of {} {} unknown: {e}", key.0, key.1));
        }
        found.insert(key, answer);
    }
    Ok(Some(scan::Licenses { policy, found }))
}

/// The Python environments inside a container image, read from a scratch folder that holds only
/// them (removed afterwards), with paths shown as `IMAGE:/usr/lib/…`.
fn image_environments(image: &Path, jobs: usize) -> anyhow::Result<Vec<picket_env::SitePackages>> {
    let scratch = tempfile::Builder::new()
        .prefix("picket-image-")
        .tempdir()
        .context("making a scratch folder for the image")?;
    let unpacked = picket_env::image::unpack_python(
        image,
        scratch.path(),
        &picket_env::image::ImageLimits::default(),
    )?;
    if unpacked.environments.is_empty() {
        output::warning(&format!(
            "{}: no Python environment (site-packages or dist-packages folder) in its {} layers",
            image.display(),
            unpacked.layers
        ));
    }
    let mut sites = Vec::new();
    for env in &unpacked.environments {
        sites.extend(picket_env::read(env, jobs)?);
    }
    picket_env::relabel(&mut sites, scratch.path(), &format!("{}:", image.display()));
    Ok(sites)
}

/// Writes the report in `format` to `out` or stdout.
fn write_report(
    report: &ScanReport,
    format: Format,
    out: Option<&Path>,
    layout: &super::scan_table::Layout,
    baseline: Option<&super::scan_formats::BaselineStates<'_>>,
) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut buffer, report)?;
            buffer.push(b'\n');
        }
        Format::Sarif => {
            serde_json::to_writer_pretty(
                &mut buffer,
                &super::scan_formats::sarif(report, baseline),
            )?;
            buffer.push(b'\n');
        }
        Format::Markdown => super::scan_formats::markdown(&mut buffer, report)?,
        _ => super::scan_table::print_table(&mut buffer, report, layout)?,
    }
    match out {
        Some(path) => {
            let plain = anstream::adapter::strip_bytes(&buffer).into_vec();
            std::fs::write(path, plain).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut stdout = output::stdout();
            match stdout.write_all(&buffer).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::anyhow!("writing output: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}
