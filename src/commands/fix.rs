//! `picket fix [PATH...]`: each vulnerable pin moved to the smallest release that clears every
//! known advisory. The deciding and rewriting are `picket_check::fix`'s; this reads the files,
//! the advisories and the index, applies the plan (or prints its diff), and reports.

use std::io::Write;

use picket_check::fix::{self, Change, Fix, Rules, Status};
use picket_check::lock_tool::LockTool;
use picket_check::online::{Client, IndexSource, OnlineError};
use picket_check::{index_url, scan};
use picket_deps::{FileFormat, FsSource};
use serde::Serialize;

use crate::cli::{FixArgs, Format};
use crate::config::{Config, data_dir};
use crate::output::{self, BAD, BOLD, DIM, Exit, GOOD};

/// The JSON contract of `picket fix`.
#[derive(Serialize)]
struct Report<'a> {
    dry_run: bool,
    index: Option<&'a str>,
    cooldown_days: u32,
    fixes: &'a [Fix],
    changes: Vec<ChangeReport>,
}

#[derive(Serialize)]
struct ChangeReport {
    path: String,
    diff: String,
}

/// The index when none is configured: every question is answered with why.
struct NoIndex;

impl IndexSource for NoIndex {
    fn project(
        &self,
        _: &str,
    ) -> Result<Option<(url::Url, picket_formats::simple_api::ProjectPage)>, OnlineError> {
        Err(OnlineError::Malformed {
            url: "(none)".to_owned(),
            message: "no package index configured to take releases from".to_owned(),
        })
    }

    fn download(&self, url: &url::Url, _: Option<&str>) -> Result<Vec<u8>, OnlineError> {
        Err(OnlineError::Status {
            url: url.to_string(),
            status: 404,
        })
    }
}

pub fn run(args: &FixArgs, format: Format) -> Exit {
    match run_checked(args, format) {
        Ok(exit) => exit,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn run_checked(args: &FixArgs, format: Format) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = data_dir(args.data_dir.as_deref())?;
    let paths = scan::discover(&args.paths)?;
    // Every file is read before anything is decided: a malformed one stops the run, and no file
    // is changed.
    let source = FsSource {
        max_bytes: scan::MAX_FILE_BYTES,
    };
    let mut files = Vec::new();
    let mut unreadable = false;
    for path in &paths {
        match picket_deps::parse_file(path, &source) {
            Ok(file) => files.push(file),
            Err(e) => {
                output::error(&e.to_string());
                unreadable = true;
            }
        }
    }
    if unreadable {
        output::hint("no file was changed; correct the file and run `picket fix` again");
        return Ok(Exit::Error);
    }
    for file in &files {
        if matches!(file.format, FileFormat::PipfileLock | FileFormat::Pylock) {
            output::warning(&format!(
                "{}: `picket fix` does not rewrite this format; `picket scan` reports its vulnerable pins, upgrade them with the tool that wrote it",
                file.path.display()
            ));
        }
    }
    let names = files
        .iter()
        .flat_map(|f| f.dependencies.iter().map(|d| d.name.normalized()));
    let (db, total) = picket_osv::Database::load_for(&data_dir, names)?;
    if total == 0 {
        output::hint(
            "no advisories imported, so no release is known to be vulnerable; run `picket db import-osv PATH` or `picket db update`",
        );
    }
    let env = |k: &str| std::env::var(k).ok();
    let index = index_url::resolve(args.index.as_deref(), config.index_url.as_deref(), &env)
        .or_else(|| index_url::ask_pip(&env));
    let client: Box<dyn IndexSource> = match &index {
        Some(u) => Box::new(Client::new(&u.url, &data_dir.join("http-cache"))?),
        None => Box::new(NoIndex),
    };
    let rules = Rules {
        cooldown_days: args.cooldown_days.unwrap_or(config.check.cooldown_days),
        now: picket_formats::time::now_unix(),
        ignore: &config.check.ignore,
    };
    let mut plan = fix::plan(&files, &db, client.as_ref(), &rules);
    for warning in &plan.warnings {
        output::warning(warning);
    }
    let mut changes = fix::rewrite(&mut plan.fixes);
    let mut locks: Vec<(std::path::PathBuf, FileFormat)> = Vec::new();
    for f in &plan.fixes {
        if f.status == Status::Fixed
            && LockTool::of(f.format).is_some()
            && !locks.iter().any(|(p, _)| *p == f.top)
        {
            locks.push((f.top.clone(), f.format));
        }
    }
    let path_var = std::env::var_os("PATH");
    for (lock, lock_format) in locks {
        let Some(tool) = LockTool::of(lock_format) else {
            continue;
        };
        let flag = match tool {
            LockTool::Uv => args.uv.as_deref(),
            LockTool::Poetry => args.poetry.as_deref(),
        };
        let exe = tool.locate(flag, path_var.as_deref());
        let exe_ref = exe.as_deref().map_err(String::as_str);
        changes.extend(fix::relock(&mut plan, &lock, tool, exe_ref, &db, &rules));
    }
    if !args.dry_run {
        for change in &changes {
            if let Err(e) = fix::write_atomically(&change.path, change.new.as_bytes()) {
                let shown = change.path.display().to_string();
                for f in plan
                    .fixes
                    .iter_mut()
                    .filter(|f| f.file == shown || f.top == change.path)
                {
                    f.fail(
                        Status::Error,
                        format!("writing {shown}: {e} (the file is as it was)"),
                        None,
                    );
                }
            }
        }
    }
    let diffs: Vec<ChangeReport> = changes.iter().map(diff).collect();
    let report = Report {
        dry_run: args.dry_run,
        index: index.as_ref().map(|u| u.url.as_str()),
        cooldown_days: rules.cooldown_days,
        fixes: &plan.fixes,
        changes: diffs,
    };
    if format == Format::Json {
        if let Err(exit) = output::emit(format, &report, |_| Ok(())) {
            return Ok(exit);
        }
    } else {
        print_people(&report)?;
    }
    for f in &plan.fixes {
        if let Some(hint) = &f.hint {
            output::hint(hint);
        }
    }
    if index.is_none() && plan.fixes.iter().any(|f| f.status == Status::Error) {
        output::hint(
            "`picket fix` takes releases, upload times and hashes from an index: pass --index URL, or set PICKET_INDEX_URL, `index-url` in picket.toml, PIP_INDEX_URL, UV_DEFAULT_INDEX or pip.conf",
        );
    }
    Ok(if plan.fixes.iter().any(|f| f.status == Status::Error) {
        Exit::Error
    } else if plan.fixes.iter().any(|f| f.status == Status::Unfixable) {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn diff(change: &Change) -> ChangeReport {
    let path = change.path.display().to_string();
    ChangeReport {
        diff: picket_check::text_diff::unified(&path, &change.old, &change.new),
        path,
    }
}

/// The table: on stdout, or with `--dry-run` on stderr (stdout then carries the diff).
fn print_people(report: &Report<'_>) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    let width = report
        .fixes
        .iter()
        .map(|f| f.file.len() + f.line.to_string().len() + 1)
        .max()
        .unwrap_or(0);
    for f in report.fixes {
        let place = format!("{}:{}", f.file, f.line);
        let (style, word) = match (f.status, report.dry_run) {
            (Status::Fixed, true) => (GOOD, "would fix"),
            (Status::Fixed, false) => (GOOD, "fixed    "),
            (Status::Unfixable, _) => (BAD, "unfixable"),
            (Status::Error, _) => (BAD, "error    "),
        };
        let what = match (&f.to, f.status) {
            (Some(to), Status::Fixed) => format!("{} {} -> {to}", f.name, f.from),
            _ => format!(
                "{} {}: {}",
                f.name,
                f.from,
                f.reason.as_deref().unwrap_or_default()
            ),
        };
        lines.push(format!(
            "{style}{word}{style:#}  {place:<width$}  {what}  {DIM}({}){DIM:#}",
            f.advisories.join(", ")
        ));
    }
    if report.fixes.is_empty() {
        lines.push(format!(
            "{BOLD}nothing to fix{BOLD:#}: no pinned release has a known advisory"
        ));
    }
    let table = lines.join("\n") + "\n";
    if report.dry_run {
        let mut out = output::stdout();
        for change in &report.changes {
            write_all(&mut out, change.diff.as_bytes())?;
        }
        let _ = output::stderr().write_all(table.as_bytes());
    } else {
        write_all(&mut output::stdout(), table.as_bytes())?;
    }
    Ok(())
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> anyhow::Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("writing output: {e}"))
        }
        _ => Ok(()),
    }
}
