//! The `picket` command line.

mod cli;
mod commands;
mod config;
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
    if let Some(message) = format_refusal(&cli) {
        output::error(&message);
        return ExitCode::from(output::Exit::Error as u8);
    }
    let exit = match &cli.command {
        cli::Command::Inspect(args) => commands::inspect::run(args, cli.format),
        cli::Command::Deps(args) => commands::deps::run(args, cli.format),
        cli::Command::Check(args) => commands::check::run(args, cli.format),
        cli::Command::Scan(args) => commands::scan::run(args, cli.format),
        cli::Command::Fix(args) => commands::fix::run(args, cli.format),
        cli::Command::Sbom(args) => commands::sbom::run(args, cli.format),
        cli::Command::Names(command) => commands::names::run(command, cli.format),
        cli::Command::Db(command) => commands::db::run(command, cli.format),
        cli::Command::Monitor(command) => commands::monitor::run(command, cli.format),
        cli::Command::Serve(args) => commands::serve::run(args),
        cli::Command::Proxy(args) => commands::proxy::run(args, cli.format),
        cli::Command::Mcp(args) => commands::mcp::run(args),
        cli::Command::Guard(args) => return ExitCode::from(commands::guard::run(args)),
        cli::Command::Admin(args) => commands::admin::run(args, cli.format),
        cli::Command::Replay(args) => commands::campaigns::replay(args, cli.format),
        cli::Command::Simulate(args) => commands::campaigns::simulate_command(args),
    };
    ExitCode::from(exit as u8)
}

/// Why `--format` does not fit the command, if it does not: each command has its own formats.
fn format_refusal(cli: &cli::Cli) -> Option<String> {
    use cli::{Command, Format};
    let (command, allowed): (&str, &[Format]) = match &cli.command {
        Command::Replay(_) => ("replay", &[Format::Table, Format::Json, Format::Html]),
        Command::Scan(_) => (
            "scan",
            &[Format::Table, Format::Json, Format::Sarif, Format::Markdown],
        ),
        Command::Sbom(_) => (
            "sbom",
            &[
                Format::Table,
                Format::Cyclonedx,
                Format::Spdx,
                Format::Openvex,
            ],
        ),
        _ => ("", &[Format::Table, Format::Json]),
    };
    if allowed.contains(&cli.format) {
        return None;
    }
    // `table` is only the default for `sbom` (it writes CycloneDX), not a format to offer.
    let names: Vec<&str> = allowed
        .iter()
        .filter(|f| command != "sbom" || **f != Format::Table)
        .map(|f| f.name())
        .collect();
    Some(if command.is_empty() {
        let owner = match cli.format {
            Format::Html => "`picket replay`",
            Format::Sarif | Format::Markdown => "`picket scan`",
            _ => "`picket sbom`",
        };
        format!(
            "--format {} is only for {owner}; use {} here",
            cli.format.name(),
            names.join(" or ")
        )
    } else {
        format!(
            "`picket {command}` writes {}, not --format {}",
            names.join(", "),
            cli.format.name()
        )
    })
}
