//! Every flag of the `picket` command line, in one place; `clap` derives parsing and help from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success, nothing found at or above the fail level
  1  findings at or above the fail level (for `inspect`: an archive is empty)
  2  usage or input error (unreadable, malformed or hostile input)";

/// picket: defense against fake, squatted and malicious Python packages.
#[derive(Debug, Parser)]
#[command(name = "picket", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Output format: `table` for people, `json` for machines.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// When to color output; `auto` colors a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// One JSON document on stdout.
    Json,
}

/// Color choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Color when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open wheels and sdists safely and print what they hold: files, metadata, entry points,
    /// code measures and whether the package is empty.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),
    /// Read dependency files (requirements*.txt, pyproject.toml, uv.lock, poetry.lock,
    /// Pipfile.lock, pylock.toml) and list the dependencies they declare.
    #[command(after_help = EXIT_CODES)]
    Deps(DepsArgs),
}

/// `picket inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Wheels (.whl) and sdists (.tar.gz, .zip, .tgz, .tar) to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// List every entry in the table output, not only the first 40.
    #[arg(long)]
    pub all_files: bool,
    /// Largest archive accepted, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_archive_bytes: Option<u64>,
    /// Largest total uncompressed size, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_uncompressed: Option<u64>,
    /// Largest single uncompressed entry, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_entry_bytes: Option<u64>,
    /// Largest uncompressed-to-compressed ratio.
    #[arg(long, value_name = "RATIO")]
    pub max_ratio: Option<u64>,
    /// Most entries an archive may hold.
    #[arg(long, value_name = "N")]
    pub max_entries: Option<usize>,
}

/// `picket deps`.
#[derive(Debug, Args)]
pub struct DepsArgs {
    /// Dependency files to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
