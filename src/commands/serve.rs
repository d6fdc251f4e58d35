//! `picket serve`: starts the package index on the data directory.

use crate::cli::ServeArgs;
use crate::config::{Config, choose_database, data_dir};
use crate::output::{Exit, error, hint};
use picket_server::LogFormat;

pub fn run(args: &ServeArgs) -> Exit {
    let whole = match Config::load_with_env(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    let mut config = whole.serve.clone();
    choose_database(&mut config, args.database_url.as_deref());
    if let Some(listen) = &args.listen {
        config.listen.clone_from(listen);
    }
    if let Some(format) = &args.log_format {
        config.log_format = if format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        };
    }
    let dir = match data_dir(args.data_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    init_logging(config.log_format);
    let names = match picket_check::name_data::load(&dir) {
        Ok(loaded) => picket_server::PopularNames {
            names: loaded.popular,
            origin: loaded.origin,
        },
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    // With `upstream`, projects this index does not have come from there, under `[proxy]`'s
    // policies; its files are served at /upstream-files/ beside the index's own /files/.
    let upstream = if config.upstream.is_empty() {
        None
    } else {
        let mut settings = whole.proxy.clone();
        settings.upstream.clone_from(&config.upstream);
        match super::proxy::build_at(&dir, &whole, settings, "/upstream-files") {
            Ok(p) => Some(p),
            Err(e) => {
                error(&format!("upstream: {e}"));
                return Exit::Error;
            }
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(exit) => return exit,
    };
    let result = runtime.block_on(picket_server::serve(
        dir.clone(),
        config,
        names,
        upstream,
        shutdown_signal(),
        |bound, first| {
            // The one line on stdout: where the index is (tests and scripts read it).
            println!(
                "picket serve: listening on http://{bound}/simple/ (data in {})",
                dir.display()
            );
            // An empty registry: what to do next, on stderr with the other diagnostics.
            if let Some(first) = first {
                for line in first.text().lines() {
                    hint(line);
                }
            }
        },
    ));
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            Exit::Ok
        }
        Err(e) => {
            error(&e);
            if e.contains("listen") {
                hint("pick another address with --listen 127.0.0.1:PORT (port 0 picks a free one)");
            }
            Exit::Error
        }
    }
}

/// The multi-threaded runtime a server runs on (the error is printed).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            error(&format!("starting the async runtime: {e}"));
            Exit::Error
        })
}

pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PICKET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none(),
            )
            .init(),
    }
}

pub(crate) async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down: finishing requests in flight");
}
