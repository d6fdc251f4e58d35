//! `picket proxy`: starts the install-time proxy in front of an upstream index; `picket proxy
//! report` lists what it hid or refused.

use std::io::Write;

use picket_check::{index_url, name_data};
use picket_names::{AssessConfig, SquatDetector};
use serde::Serialize;

use crate::cli::{Format, ProxyArgs, ProxyCommand};
use crate::config::{Config, data_dir};
use crate::output::{self, BOLD, DIM, Exit, error, hint};

pub fn run(args: &ProxyArgs, format: Format) -> Exit {
    let dir = match data_dir(args.options.data_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    match args.command {
        Some(ProxyCommand::Report) => report(&dir, format),
        None => serve(args, &dir),
    }
}

/// The flags that override `[proxy]`.
pub(crate) struct Overrides<'a> {
    pub(crate) listen: Option<&'a str>,
    pub(crate) upstream: &'a [String],
    pub(crate) cooldown: Option<&'a str>,
}

/// The proxy's settings: `[proxy]` with the flags over it, the upstream defaulting to the index
/// the user's own pip/uv configuration names.
pub(crate) fn settings(
    config: &Config,
    flags: &Overrides<'_>,
) -> anyhow::Result<picket_proxy::ProxyConfig> {
    let mut proxy = config.proxy.clone();
    if let Some(listen) = flags.listen {
        listen.clone_into(&mut proxy.listen);
    }
    if !flags.upstream.is_empty() {
        proxy.upstream = flags.upstream.to_vec();
    }
    if let Some(cooldown) = flags.cooldown {
        cooldown.clone_into(&mut proxy.cooldown);
    }
    let env = |k: &str| std::env::var(k).ok();
    if proxy.upstream.is_empty()
        && let Some(found) = index_url::resolve(None, config.index_url.as_deref(), &env)
            .or_else(|| index_url::ask_pip(&env))
    {
        tracing::info!(upstream = %found.url, origin = %found.origin, "upstream from your configuration");
        proxy.upstream.push(found.url);
    }
    proxy.validate().map_err(anyhow::Error::msg)?;
    Ok(proxy)
}

fn serve(args: &ProxyArgs, dir: &std::path::Path) -> Exit {
    let config = match Config::load(args.options.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    super::serve::init_logging(config.serve.log_format);
    let flags = Overrides {
        listen: args.listen.as_deref(),
        upstream: &args.options.upstream,
        cooldown: args.options.cooldown.as_deref(),
    };
    let settings = match settings(&config, &flags) {
        Ok(s) => s,
        Err(e) => {
            error(&format!("{e:#}"));
            if e.to_string().contains("no upstream") {
                hint(
                    "name the index to stand in front of: picket proxy --upstream URL (or PIP_INDEX_URL, pip.conf, `upstream` in [proxy])",
                );
            }
            return Exit::Error;
        }
    };
    let proxy = match build(dir, &config, settings) {
        Ok(p) => p,
        Err(e) => {
            error(&e);
            return Exit::Error;
        }
    };
    let runtime = match super::serve::runtime() {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let upstreams = config_upstreams(&proxy);
    let result = runtime.block_on(picket_proxy::run(
        proxy,
        super::serve::shutdown_signal(),
        |bound| {
            // The one line on stdout: where the index is (tests and scripts read it).
            println!(
                "picket proxy: listening on http://{bound}/simple/ in front of {upstreams} (data in {})",
                dir.display()
            );
        },
    ));
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            error(&e);
            if e.contains("listen") {
                hint("pick another address with --listen 127.0.0.1:PORT (port 0 picks a free one)");
            }
            Exit::Error
        }
    }
}

/// The hint for a proxy without an upstream.
pub(crate) fn hint_upstream(e: &anyhow::Error) {
    if e.to_string().contains("no upstream") {
        hint(
            "name the index to stand in front of: --upstream URL (or PIP_INDEX_URL, UV_DEFAULT_INDEX, pip.conf, `upstream` in [proxy])",
        );
    }
}

fn config_upstreams(proxy: &picket_proxy::Proxy) -> String {
    proxy.upstreams().join(", ")
}

/// The proxy over `settings`, judging names with the name index of `dir` and `[names]`.
pub(crate) fn build(
    dir: &std::path::Path,
    config: &Config,
    settings: picket_proxy::ProxyConfig,
) -> Result<picket_proxy::Proxy, String> {
    build_at(dir, config, settings, "/files")
}

/// [`build`] with its files served under `files_path`.
pub(crate) fn build_at(
    dir: &std::path::Path,
    config: &Config,
    settings: picket_proxy::ProxyConfig,
    files_path: &str,
) -> Result<picket_proxy::Proxy, String> {
    let loaded = name_data::load(dir).map_err(|e| format!("{e:#}"))?;
    let detector = SquatDetector::new(&loaded.popular, config.names.squat_config());
    let assess = AssessConfig {
        index_is_complete: loaded.complete,
        new_within_months: config
            .names
            .new_within_months
            .unwrap_or(AssessConfig::default().new_within_months),
    };
    let policy = picket_proxy::Policy::new(&settings, loaded.index, detector, assess)?;
    picket_proxy::Proxy::new_at(dir, settings, policy, files_path)
}

#[derive(Serialize)]
struct Report {
    journal: String,
    decisions: Vec<picket_proxy::JournalEntry>,
}

fn report(dir: &std::path::Path, format: Format) -> Exit {
    let (decisions, bad) = match picket_proxy::report(dir) {
        Ok(r) => r,
        Err(e) => {
            error(&e);
            return Exit::Error;
        }
    };
    if bad > 0 {
        output::warning(&format!(
            "{bad} journal lines could not be read and are left out"
        ));
    }
    let journal = picket_proxy::proxy_dir(dir)
        .join("decisions.jsonl")
        .display()
        .to_string();
    if decisions.is_empty() && format == Format::Table {
        hint(&format!(
            "no decisions journaled in {journal}: nothing was hidden or refused yet"
        ));
    }
    let report = Report { journal, decisions };
    match output::emit(format, &report, |out| print_table(out, &report.decisions)) {
        Ok(()) => Exit::Ok,
        Err(exit) => exit,
    }
}

fn print_table(
    out: &mut dyn Write,
    decisions: &[picket_proxy::JournalEntry],
) -> std::io::Result<()> {
    for d in decisions {
        writeln!(
            out,
            "{DIM}{}{DIM:#}  {BOLD}{:<5}{BOLD:#} {:<15} {}=={}  {}",
            d.time, d.action, d.rule, d.project, d.version, d.reason
        )?;
    }
    Ok(())
}
