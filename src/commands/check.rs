//! `picket check NAME[==VERSION]...`: is each name the project you meant, does it exist, does it
//! look like bait? The checking is `picket_check`'s; this reads the names, draws the progress
//! bar, and prints.

use std::io::{BufRead, Write};

use anyhow::Context;
use indicatif::ProgressBar;
use picket_check::online::{Client, IndexSource};
use picket_check::{Checker, PackageReport, Request, Verdict, index_url, name_data};
use picket_names::SquatDetector;
use serde::Serialize;

use crate::cli::{CheckArgs, Format};
use crate::config::{Config, data_dir};
use crate::output::{self, BAD, BOLD, DIM, Exit, GOOD};

#[derive(Serialize)]
struct Report<'a> {
    mode: &'static str,
    index: Option<&'a str>,
    packages: &'a [PackageReport],
}

/// The names asked about, in order: each a request, or the entry as given and why it is not one
/// (reported as that entry's error, so one bad line among a thousand stops nothing else).
fn read_requests(args: &[String]) -> anyhow::Result<Vec<Result<Request, (String, String)>>> {
    let mut requests = Vec::new();
    let mut push = |raw: &str| {
        requests.push(
            raw.parse::<Request>()
                .map_err(|e| (raw.to_owned(), format!("{e:#}"))),
        );
    };
    for arg in args {
        if arg == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading names from stdin")?;
                let line = line.split('#').next().unwrap_or_default().trim();
                if !line.is_empty() {
                    push(line);
                }
            }
        } else {
            push(arg);
        }
    }
    Ok(requests)
}

/// [`check_all`] over the valid requests, with an error entry in place of each invalid one.
fn check_in_order(
    context: &Checker<'_>,
    requests: Vec<Result<Request, (String, String)>>,
    jobs: usize,
) -> Vec<PackageReport> {
    let mut slots: Vec<Option<PackageReport>> = Vec::with_capacity(requests.len());
    let (mut positions, mut valid) = (Vec::new(), Vec::new());
    for (i, request) in requests.into_iter().enumerate() {
        match request {
            Ok(request) => {
                positions.push(i);
                valid.push(request);
                slots.push(None);
            }
            Err((raw, error)) => {
                output::error(&error);
                slots.push(Some(PackageReport::failed(raw, error)));
            }
        }
    }
    for (i, report) in positions.into_iter().zip(check_all(context, &valid, jobs)) {
        slots[i] = Some(report);
    }
    slots.into_iter().flatten().collect()
}

pub fn run(args: &CheckArgs, format: Format) -> Exit {
    match run_checked(args, format) {
        Ok(exit) => exit,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

/// The index URL a command uses: none offline, else the first configured one, else the one the
/// user's own pip uses (said in a hint), else none (with a hint).
pub(crate) fn resolve_index(
    offline: bool,
    flag: Option<&str>,
    config: &Config,
    origin: &str,
) -> Option<index_url::IndexUrl> {
    if offline {
        return None;
    }
    let env = |k: &str| std::env::var(k).ok();
    if let Some(url) = index_url::resolve(flag, config.index_url.as_deref(), &env) {
        return Some(url);
    }
    if let Some(url) = index_url::ask_pip(&env) {
        output::hint(&format!(
            "checking against {} ({}); --offline checks against the name index alone",
            url.url, url.origin
        ));
        return Some(url);
    }
    output::hint(&format!(
        "no package index configured (--index, PICKET_INDEX_URL, picket.toml, PIP_INDEX_URL, UV_INDEX_URL, pip.conf) and none from pip; checked offline against {origin}"
    ));
    None
}

/// The index client for `index_url` (none offline), caching under the data folder.
pub(crate) fn source(
    index_url: Option<&index_url::IndexUrl>,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<Box<dyn IndexSource>>> {
    Ok(match index_url {
        Some(u) => Some(Box::new(Client::new(&u.url, &data_dir.join("http-cache"))?)),
        None => None,
    })
}

/// [`picket_check::check_all`] with a progress bar when it asks an index about several names,
/// and the inspections' warnings printed.
pub(crate) fn check_all(
    context: &Checker<'_>,
    requests: &[Request],
    jobs: usize,
) -> Vec<PackageReport> {
    let bar = progress_bar(context.online() && requests.len() > 1);
    let reports = picket_check::check_all(context, requests, jobs, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    for warning in reports.iter().flat_map(|r| &r.warnings) {
        output::warning(warning);
    }
    reports
}

/// A progress bar (its length set as the work reports it), or a hidden one.
pub(crate) fn progress_bar(shown: bool) -> ProgressBar {
    if shown {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    }
}

/// The hint for names whose existence could not be judged (`exists` of each report).
pub(crate) fn hint_unknown_existence(
    context: &Checker<'_>,
    exists: impl Iterator<Item = Option<bool>>,
) {
    if context.existence_unjudged(exists) {
        output::hint(
            "existence of unranked names can't be judged offline with the embedded list; `picket names import SNAPSHOT.tsv.gz` or --index URL can",
        );
    }
}

fn run_checked(args: &CheckArgs, format: Format) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = data_dir(args.data_dir.as_deref())?;
    let requests = read_requests(&args.names)?;
    let loaded = name_data::load(&data_dir)?;
    let index_url = resolve_index(args.offline, args.index.as_deref(), &config, &loaded.origin);
    let detector = SquatDetector::new(&loaded.popular, config.names.squat_config());
    let source = source(index_url.as_ref(), &data_dir)?;
    let context = Checker::new(&config.check, &config.names, &loaded, &detector, source);

    let mut reports = check_in_order(&context, requests, args.jobs.max(1));
    hint_unknown_existence(&context, reports.iter().map(|r| r.exists));
    // `[[check.ignore]]` entries naming a finding id leave it out until their date.
    let today = picket_formats::time::now_unix().div_euclid(86_400);
    for report in &mut reports {
        report.apply_ignores(&config.check.ignore, today);
    }
    let fail_on = args.fail_on.unwrap_or(config.check.fail_on);
    let report = Report {
        mode: if context.online() {
            "online"
        } else {
            "offline"
        },
        index: index_url.as_ref().map(|u| u.url.as_str()),
        packages: &reports,
    };
    if let Err(exit) = output::emit(format, &report, |out| print_table(out, &reports)) {
        return Ok(exit);
    }
    Ok(if reports.iter().any(|r| r.error.is_some()) {
        Exit::Error
    } else if reports.iter().any(|r| r.verdict.at_least(fail_on)) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn print_table(out: &mut dyn Write, reports: &[PackageReport]) -> std::io::Result<()> {
    let width = reports
        .iter()
        .map(|r| r.name.len() + r.version.as_ref().map_or(0, |v| v.len() + 2))
        .max()
        .unwrap_or(0);
    for report in reports {
        let (style, word) = match (report.error.is_some(), report.verdict) {
            (true, _) => (BAD, "ERROR"),
            (false, Verdict::Block) => (BAD, "BLOCK"),
            (false, Verdict::Warn) => (BOLD, "WARN "),
            (false, Verdict::Allow) => (GOOD, "ALLOW"),
        };
        let label = match &report.version {
            Some(v) => format!("{}=={v}", report.name),
            None => report.name.clone(),
        };
        let headline = match (&report.error, report.findings.first()) {
            (Some(e), _) => e.clone(),
            (None, Some(f)) => format!("{}: {}", f.id.as_str(), f.message),
            (None, None) => match report.exists {
                Some(true) => "exists; nothing found".to_owned(),
                Some(false) => "does not exist".to_owned(),
                None => "nothing found (existence unknown offline)".to_owned(),
            },
        };
        writeln!(out, "{style}{word}{style:#}  {label:<width$}  {headline}")?;
        for f in report
            .findings
            .iter()
            .skip(usize::from(report.error.is_none()))
        {
            writeln!(
                out,
                "       {DIM}{:<8}{DIM:#} {}: {}",
                f.severity.as_str(),
                f.id.as_str(),
                f.message
            )?;
        }
    }
    Ok(())
}
