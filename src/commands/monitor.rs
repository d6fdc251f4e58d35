//! `picket monitor`: watch projects' dependency files and tell, once, about each finding that new
//! advisories (or a changed file) bring. The list and what was sent live in
//! `picket_check::monitor::State`; this scans each project as `scan --offline` does and delivers
//! the new findings to a webhook and/or by mail.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use picket_check::monitor::{self, Alert, State};
use picket_check::scan::{self, Policy};
use picket_check::{Checker, name_data};
use picket_names::SquatDetector;
use serde_json::json;

use crate::cli::{Format, MonitorCommand, MonitorRunArgs};
use crate::config::{Config, data_dir};
use crate::output::{self, Exit};

pub fn run(command: &MonitorCommand, format: Format) -> Exit {
    let result = match command {
        MonitorCommand::Add {
            path,
            name,
            data_dir: dir,
        } => add(path, name.as_deref(), dir.as_deref(), format),
        MonitorCommand::List { data_dir: dir } => list(dir.as_deref(), format),
        MonitorCommand::Remove {
            project,
            data_dir: dir,
        } => remove(project, dir.as_deref(), format),
        MonitorCommand::Run(args) => run_all(args, format),
    };
    result.unwrap_or_else(|e| {
        output::error(&format!("{e:#}"));
        Exit::Error
    })
}

fn add(
    path: &Path,
    name: Option<&str>,
    dir: Option<&Path>,
    format: Format,
) -> anyhow::Result<Exit> {
    let dir = data_dir(dir)?;
    // What `scan` would read there: a path with no dependency file is refused now, not at the
    // first run.
    let files = scan::discover(&[path.to_path_buf()])?;
    let _lock = lock(&dir)?;
    let mut state = State::load(&dir)?;
    let project = state.add(path, name)?.clone();
    state.save(&dir)?;
    let report = json!({ "name": project.name, "path": project.path, "files": files });
    Ok(emit(format, &report, |w| {
        writeln!(
            w,
            "monitoring {} ({}, {} dependency file{})",
            project.name,
            project.path.display(),
            files.len(),
            if files.len() == 1 { "" } else { "s" }
        )
    }))
}

fn list(dir: Option<&Path>, format: Format) -> anyhow::Result<Exit> {
    let state = State::load(&data_dir(dir)?)?;
    let rows: Vec<_> = state
        .projects
        .iter()
        .map(|p| json!({ "name": p.name, "path": p.path, "sent": p.sent.len() }))
        .collect();
    Ok(emit(format, &json!({ "projects": rows }), |w| {
        if state.projects.is_empty() {
            return writeln!(w, "no project is monitored (picket monitor add PATH)");
        }
        for p in &state.projects {
            writeln!(
                w,
                "{}\t{}\t{} findings sent",
                p.name,
                p.path.display(),
                p.sent.len()
            )?;
        }
        Ok(())
    }))
}

fn remove(which: &str, dir: Option<&Path>, format: Format) -> anyhow::Result<Exit> {
    let dir = data_dir(dir)?;
    let _lock = lock(&dir)?;
    let mut state = State::load(&dir)?;
    let project = state.remove(which)?;
    state.save(&dir)?;
    Ok(emit(
        format,
        &json!({ "removed": project.name, "path": project.path }),
        |w| {
            writeln!(
                w,
                "no longer monitoring {} ({})",
                project.name,
                project.path.display()
            )
        },
    ))
}

fn emit(
    format: Format,
    report: &serde_json::Value,
    table: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Exit {
    match output::emit(format, report, table) {
        Ok(()) => Exit::Ok,
        Err(exit) => exit,
    }
}

/// Where new findings go this run.
struct Channels {
    webhook: Option<String>,
    secret: Option<String>,
    mail_to: Vec<String>,
    mailer: picket_server::mail::Mailer,
}

impl Channels {
    fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .webhook
            .iter()
            .map(|u| format!("webhook {u}"))
            .collect();
        out.extend(self.mail_to.iter().map(|a| format!("mail to {a}")));
        out
    }

    /// Delivers to every channel; the first failure, said in one line.
    fn deliver(&self, alerts: &[Alert], projects: usize, records: usize) -> anyhow::Result<()> {
        if let Some(url) = &self.webhook {
            post_webhook(
                url,
                self.secret.as_deref(),
                &monitor::payload(alerts, projects, records),
            )?;
        }
        if !self.mail_to.is_empty() {
            let (subject, body) = monitor::mail_text(alerts);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the mail sender")?;
            for to in &self.mail_to {
                let mail = picket_server::mail::Mail {
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                };
                let now_ms = i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis(),
                )
                .unwrap_or(0);
                runtime
                    .block_on(self.mailer.send(&mail, now_ms))
                    .map_err(|e| anyhow::anyhow!("mail to {to} not sent: {e}"))?;
            }
        }
        Ok(())
    }
}

/// POSTs `body` as JSON; anything but a 2xx answer is a failure.
fn post_webhook(url: &str, secret: Option<&str>, body: &serde_json::Value) -> anyhow::Result<()> {
    use hmac::{Hmac, KeyInit, Mac};
    let body = body.to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut request = agent.post(url).header("Content-Type", "application/json");
    if let Some(key) = secret {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
            .map_err(|e| anyhow::anyhow!("webhook-secret: {e}"))?;
        mac.update(body.as_bytes());
        let hex = mac
            .finalize()
            .into_bytes()
            .iter()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            });
        request = request.header("X-Picket-Signature-256", format!("sha256={hex}"));
    }
    let response = request
        .send(body.as_bytes())
        .map_err(|e| anyhow::anyhow!("webhook {url} not reached: {e}"))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        anyhow::bail!("webhook {url} answered HTTP {status}");
    }
    Ok(())
}

/// Holds `DATA_DIR/monitor.lock` for as long as the returned file lives: two runs from cron that
/// overlap would otherwise both send the same new findings, and an `add` or `remove` made during
/// a run would be lost when the run saves the list. The lock is the kernel's (`flock`), so a run
/// that is killed leaves none behind.
fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("monitor.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another `picket monitor` command is running on {} (it holds {}), so this one did nothing\nhint: usually a `monitor run` from cron still busy (a slow webhook or mail server) when the next starts; nothing is lost, as what is new goes out with that run or the next one: run it less often, or run this again once the other ends",
            dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

fn run_all(args: &MonitorRunArgs, format: Format) -> anyhow::Result<Exit> {
    let config = Config::load(args.config.as_deref())?;
    let dir = data_dir(args.data_dir.as_deref())?;
    let _lock = lock(&dir)?;
    let mut state = State::load(&dir)?;
    if state.projects.is_empty() {
        output::hint("no project is monitored; add one with `picket monitor add PATH`");
        return Ok(Exit::Ok);
    }
    let settings = &config.monitor;
    let channels = Channels {
        webhook: args
            .webhook
            .clone()
            .or_else(|| settings.webhook_url.clone()),
        secret: settings.webhook_secret.clone(),
        mail_to: if args.mail_to.is_empty() {
            settings.mail_to.clone()
        } else {
            args.mail_to.clone()
        },
        mailer: picket_server::mail::Mailer::new(
            dir.join("outbox"),
            settings.smtp_url.clone(),
            settings
                .mail_from
                .clone()
                .unwrap_or_else(|| "picket@localhost".to_owned()),
        ),
    };

    let loaded = name_data::load(&dir)?;
    let detector = SquatDetector::new(&loaded.popular, config.names.squat_config());
    let checker = Checker::new(&config.check, &config.names, &loaded, &detector, None);
    let policy = Policy {
        require_hashes: config.scan.require_hashes,
        ignore: &config.check.ignore,
        today: picket_formats::time::now_unix().div_euclid(86_400),
        licenses: None,
    };
    let mut failed = false;
    let mut records = 0;
    let mut new: Vec<Alert> = Vec::new();
    // Per project: every key found now, and whether the scan read every file (only then are
    // keys no longer found forgotten, so a finding that goes and comes back is sent again).
    let mut found = Vec::new();
    for project in &state.projects {
        match scan_project(&project.path, &checker, &policy, &dir) {
            Ok((report, total)) => {
                records = total;
                for e in report
                    .files
                    .iter()
                    .filter_map(|f| f.error.as_ref().map(|e| (&f.path, e)))
                {
                    output::error(&format!("{}: {}: {}", project.name, e.0, e.1));
                    failed = true;
                }
                let complete = report.files.iter().all(|f| f.error.is_none())
                    && report.packages.iter().all(|p| p.error.is_none());
                let alerts = monitor::alerts(&project.name, &report);
                let keys: Vec<String> = alerts.iter().flat_map(Alert::keys).cloned().collect();
                new.extend(monitor::unsent(alerts, &project.sent));
                found.push(Some((keys, complete)));
            }
            Err(e) => {
                output::error(&format!("{}: {e:#}", project.name));
                failed = true;
                found.push(None);
            }
        }
    }
    if records == 0 {
        output::hint(
            "no advisories imported, so releases were not checked; run `picket db update` or `picket db import-osv PATH` first",
        );
    }
    let channel_names = channels.names();
    let delivered = if new.is_empty() || channel_names.is_empty() {
        Ok(())
    } else {
        channels.deliver(&new, state.projects.len(), records)
    };
    if let Err(e) = &delivered {
        output::error(&format!(
            "{e:#}; the {} new finding{} stay unsent and go out on the next run",
            new.len(),
            if new.len() == 1 { "" } else { "s" }
        ));
        failed = true;
    } else {
        for (project, found) in state.projects.iter_mut().zip(found) {
            let Some((keys, complete)) = found else {
                continue;
            };
            if complete {
                project.sent = keys.into_iter().collect();
            } else {
                project.sent.extend(
                    new.iter()
                        .filter(|a| a.project == project.name)
                        .flat_map(Alert::keys)
                        .cloned(),
                );
            }
        }
        state.save(&dir)?;
    }
    let report = json!({
        "projects": state.projects.len(),
        "advisories": records,
        "new": new,
        "delivered": delivered.is_ok(),
        "channels": channel_names,
    });
    let exit = emit(format, &report, |w| {
        for a in &new {
            writeln!(
                w,
                "{}\t{}:{}\t{}\t{}\t{}",
                a.project,
                a.file,
                a.line,
                match (&a.package, &a.version) {
                    (Some(p), Some(v)) => format!("{p} {v}"),
                    (Some(p), None) => p.clone(),
                    _ => "-".to_owned(),
                },
                a.finding,
                a.advisory.as_deref().unwrap_or("-")
            )?;
        }
        Ok(())
    });
    if delivered.is_ok() {
        let mut err = output::stderr();
        let projects = state.projects.len();
        let _ = if new.is_empty() {
            writeln!(err, "nothing new in {projects} monitored projects")
        } else if channel_names.is_empty() {
            writeln!(
                err,
                "{} new finding{} in {projects} monitored projects (no webhook or mail configured: printed only)",
                new.len(),
                if new.len() == 1 { "" } else { "s" },
            )
        } else {
            writeln!(
                err,
                "{} new finding{} in {projects} monitored projects sent to {}",
                new.len(),
                if new.len() == 1 { "" } else { "s" },
                channel_names.join(", ")
            )
        };
    }
    Ok(if failed { Exit::Error } else { exit })
}

/// One project scanned offline against the imported advisories, and how many records those are.
fn scan_project(
    path: &Path,
    checker: &Checker<'_>,
    policy: &Policy<'_>,
    data_dir: &Path,
) -> anyhow::Result<(scan::ScanReport, usize)> {
    let files = scan::discover(&[path.to_path_buf()])?;
    let parsed = scan::parse_files(&files);
    let (db, total) = picket_osv::Database::load_for(data_dir, parsed.names())?;
    let report = scan::scan(parsed, checker, &db, policy, 1, &|_, _| {});
    for warning in &report.warnings {
        output::warning(warning);
    }
    Ok((report, total))
}
