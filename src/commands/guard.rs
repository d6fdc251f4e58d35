//! `picket guard -- CMD …`: runs an installer through an ephemeral `picket proxy` on a loopback
//! port, in front of the index the user's own configuration names, then says what was refused or
//! held back.

use std::io::Write as _;
use std::process::Command;

use crate::cli::GuardArgs;
use crate::commands::proxy::{Overrides, build, hint_upstream, settings};
use crate::config::{Config, data_dir};
use crate::output::{self, BAD, BOLD, Exit, error, hint};

/// Environment variables that name an index for pip, uv and pdm: the proxy takes their place.
const INDEX_VARIABLES: [&str; 3] = ["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "PDM_PYPI_URL"];
/// Extra indexes would be asked beside the proxy, around its policies: removed for the command.
const BYPASS_VARIABLES: [&str; 6] = [
    "PIP_EXTRA_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_INDEX_URL",
    "PDM_EXTRA_INDEX_URLS",
    "UV_FIND_LINKS",
];

/// The exit code: the command's, 1 when picket refused a download, 2 when the guard failed.
pub fn run(args: &GuardArgs) -> u8 {
    match run_checked(args) {
        Ok(code) => code,
        Err(e) => {
            error(&format!("{e:#}"));
            hint_upstream(&e);
            Exit::Error as u8
        }
    }
}

fn run_checked(args: &GuardArgs) -> anyhow::Result<u8> {
    let config = Config::load(args.options.config.as_deref())?;
    let dir = data_dir(args.options.data_dir.as_deref())?;
    let program = args.command[0].as_str();
    let base = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    if base == "poetry" {
        anyhow::bail!(
            "poetry takes its package sources from pyproject.toml, not from the environment, so picket guard cannot put itself in front of it\nhint: run `picket proxy` and add it as the primary source: poetry source add --priority=primary picket http://127.0.0.1:3141/simple/"
        );
    }
    if args.command.iter().any(|a| {
        a == "-i"
            || a.starts_with("--index-url")
            || a.starts_with("--extra-index-url")
            || a.starts_with("--default-index")
            || a.starts_with("--index=")
    }) {
        output::warning(
            "the command names an index itself; what it fetches from there does not pass through picket",
        );
    }
    let flags = Overrides {
        listen: Some("127.0.0.1:0"),
        upstream: &args.options.upstream,
        cooldown: args.options.cooldown.as_deref(),
    };
    let settings = settings(&config, &flags)?;
    let proxy = build(&dir, &config, settings).map_err(anyhow::Error::msg)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let server = runtime.spawn(picket_proxy::run(
        proxy.clone(),
        async move {
            let _ = stopped.await;
        },
        move |addr| {
            let _ = bound_tx.send(addr);
        },
    ));
    let Ok(addr) = bound_rx.recv() else {
        let outcome = runtime.block_on(server);
        anyhow::bail!(
            "the proxy did not start: {}",
            match outcome {
                Ok(Err(e)) => e,
                Ok(Ok(())) => "it stopped at once".to_owned(),
                Err(e) => e.to_string(),
            }
        );
    };
    let index = format!("http://{addr}/simple/");

    let mut command = Command::new(program);
    command.args(&args.command[1..]);
    for var in INDEX_VARIABLES {
        command.env(var, &index);
    }
    for var in BYPASS_VARIABLES {
        command.env_remove(var);
    }
    let status = command.status();
    let _ = stop.send(());
    let _ = runtime.block_on(server);
    let status = status.map_err(|e| anyhow::anyhow!("running `{program}`: {e}"))?;

    let decisions = proxy.decisions();
    let blocked = decisions.iter().filter(|d| d.action == "block").count();
    for d in &decisions {
        let (style, word) = if d.action == "block" {
            (BAD, "refused")
        } else {
            (BOLD, "held back")
        };
        let _ = writeln!(
            output::stderr(),
            "picket guard: {style}{word}{style:#} {}=={} ({}): {}",
            d.project,
            d.version,
            d.rule,
            d.reason
        );
    }
    if decisions.is_empty() {
        let _ = writeln!(
            output::stderr(),
            "picket guard: nothing refused or held back"
        );
    } else {
        hint(
            "`picket proxy report` lists every decision; `[proxy] allow` exempts a project you trust",
        );
    }
    Ok(if blocked > 0 {
        Exit::Findings as u8
    } else {
        // A command killed by a signal has no code: 128 + the signal, as shells report it.
        status.code().map_or_else(
            || {
                use std::os::unix::process::ExitStatusExt as _;
                128u8.saturating_add(u8::try_from(status.signal().unwrap_or(0)).unwrap_or(0))
            },
            |c| u8::try_from(c).unwrap_or(1),
        )
    })
}
