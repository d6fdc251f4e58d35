//! `picket mcp`: the Model Context Protocol server on stdio. The server is `picket_mcp`'s; this
//! resolves the policy and the index as `picket check` does and runs it until the client leaves.
//! stdout carries the protocol, so everything else goes to stderr.

use picket_check::name_data;

use super::check;
use crate::cli::McpArgs;
use crate::config::{Config, data_dir};
use crate::output::{self, Exit};

pub fn run(args: &McpArgs) -> Exit {
    let settings = match settings(args) {
        Ok(settings) => settings,
        Err(e) => {
            output::error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    let runtime = match super::serve::runtime() {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    match runtime.block_on(picket_mcp::serve_stdio(settings)) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn settings(args: &McpArgs) -> anyhow::Result<picket_mcp::Settings> {
    let config = Config::load(args.config.as_deref())?;
    let data_dir = data_dir(args.data_dir.as_deref())?;
    let loaded = name_data::load(&data_dir)?;
    let index = check::resolve_index(args.offline, args.index.as_deref(), &config, &loaded.origin);
    Ok(picket_mcp::Settings {
        check: config.check,
        names: config.names,
        scan: config.scan,
        index,
        offline: args.offline,
        loaded,
        data_dir,
        jobs: args.jobs,
    })
}
