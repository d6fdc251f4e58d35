//! The `picket` command line.

mod cli;
mod commands;
mod config;
mod index_url;
mod name_data;
mod online;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the replay pipeline allocates on one thread and frees on another, where glibc's
/// allocator spends a fifth of the time (measured with perf), and the server allocates per request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; real usage errors exit 2 as documented.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    output::init_color(cli.color);
    if cli.format == cli::Format::Html && !matches!(cli.command, cli::Command::Replay(_)) {
        output::error("--format html is only for `picket replay`; use table or json here");
        return ExitCode::from(output::Exit::Error as u8);
    }
    let exit = match &cli.command {
        cli::Command::Inspect(args) => commands::inspect::run(args, cli.format),
        cli::Command::Deps(args) => commands::deps::run(args, cli.format),
        cli::Command::Check(args) => commands::check::run(args, cli.format),
        cli::Command::Names(command) => commands::names::run(command, cli.format),
        cli::Command::Db(command) => commands::db::run(command, cli.format),
        cli::Command::Serve(args) => commands::serve::run(args),
        cli::Command::Admin(args) => commands::admin::run(args, cli.format),
        cli::Command::Replay(args) => commands::campaigns::replay(args, cli.format),
        cli::Command::Simulate(args) => commands::campaigns::simulate_command(args),
    };
    ExitCode::from(exit as u8)
}
