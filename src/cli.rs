//! Every flag of the `picket` command line, in one place; `clap` derives parsing and help from it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success, nothing found at or above the fail level
  1  findings at or above the fail level (`check`, `scan`: a verdict at --fail-on or
     worse; `inspect`: an archive is empty)
  2  usage or input error (unreadable, malformed or hostile input)";

const FIX_EXIT_CODES: &str = "\
Exit codes:
  0  nothing to fix, or every vulnerable pin fixed (with --dry-run: every one can be)
  1  some vulnerable pin could not be fixed: no release clears its advisories, or only
     releases inside the cooldown, or none within the project's ranges, or it is malware
  2  usage or input error (a malformed file, no index, the index or the lock tool failed);
     no file is changed when a file can't be read";

/// picket: defense against fake, squatted and malicious Python packages.
#[derive(Debug, Parser)]
#[command(name = "picket", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// Output format: `table` for people, `json` for machines; `html` (`replay`), `sarif` and
    /// `markdown` (`scan`), `cyclonedx`, `spdx` and `openvex` (`sbom`).
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
    /// A self-contained HTML page (`replay` only).
    Html,
    /// SARIF 2.1.0, for code-scanning services (`scan` only).
    Sarif,
    /// Markdown, for a pull-request comment (`scan` only).
    Markdown,
    /// CycloneDX 1.6 JSON (`sbom` only, its default).
    Cyclonedx,
    /// SPDX 2.3 JSON (`sbom` only).
    Spdx,
    /// OpenVEX 0.2.0 JSON (`sbom` only): the `[[check.ignore]]` entries in force as
    /// `not_affected` statements on the locked releases they cover.
    Openvex,
}

impl Format {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Table => "table",
            Self::Json => "json",
            Self::Html => "html",
            Self::Sarif => "sarif",
            Self::Markdown => "markdown",
            Self::Cyclonedx => "cyclonedx",
            Self::Spdx => "spdx",
            Self::Openvex => "openvex",
        }
    }
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
    /// Before you install: is each name the project you meant, does it exist, does it look like bait?
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Vet a project's dependency files: the names (as `check`), known-malicious and vulnerable
    /// releases (OSV, offline), pins, hashes and lock files. `--format sarif|markdown` for CI.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Upgrade each vulnerable pinned release to the smallest release that clears every known
    /// advisory, within the project's own ranges and outside the cooldown: requirements files
    /// are rewritten in place (hashes from the index), uv.lock and poetry.lock by their tool.
    #[command(after_help = FIX_EXIT_CODES)]
    Fix(FixArgs),
    /// Write a software bill of materials for a project's locked dependencies:
    /// `--format cyclonedx` (1.6, the default) or `--format spdx` (2.3); or `--format openvex`,
    /// the `[[check.ignore]]` entries as an OpenVEX document.
    #[command(after_help = EXIT_CODES)]
    Sbom(SbomArgs),
    /// Manage the name index: import a full snapshot, sweep it for typosquats.
    #[command(subcommand)]
    Names(NamesCommand),
    /// Manage the advisory database (OSV records for PyPI), offline.
    #[command(subcommand)]
    Db(DbCommand),
    /// Watch projects' dependency files: `monitor run` (after `db update`) scans each offline and
    /// sends the findings not sent before to a webhook and/or by mail.
    #[command(subcommand)]
    Monitor(MonitorCommand),
    /// Read dependency files (requirements*.txt, pyproject.toml, uv.lock, poetry.lock,
    /// Pipfile.lock, pylock.toml) and list the dependencies they declare.
    #[command(after_help = EXIT_CODES)]
    Deps(DepsArgs),
    /// Run the package index: a PyPI-compatible server that pip, uv and twine use unchanged.
    Serve(ServeArgs),
    /// Run an index in front of an upstream index (`--upstream URL`) that pip, uv, poetry and pdm
    /// use unchanged, hiding releases inside the cooldown and refusing known-malicious, look-alike,
    /// empty and denied packages with the reason; `picket proxy report` lists every decision.
    Proxy(ProxyArgs),
    /// Serve picket's checks to coding agents over the Model Context Protocol (stdio): tools to
    /// vet package names, scan a project and get the safe install command, which agents call
    /// before `pip install` or `uv add`. Configure the agent with
    /// `{"command": "picket", "args": ["mcp"]}`.
    Mcp(McpArgs),
    /// Run pip, uv or pdm through an ephemeral `picket proxy` in front of the index your own
    /// configuration names, then say what was refused or held back: `picket guard -- pip install
    /// NAME`. Exit code: the command's, or 1 when picket refused a download.
    #[command(after_help = GUARD_HELP)]
    Guard(GuardArgs),
    /// Administer a registry's data directory: users, tokens, projects, the event journal.
    Admin(AdminArgs),
    /// Find coordinated fake-account and fake-project campaigns in a registry's event log.
    #[command(after_help = EXIT_CODES)]
    Replay(ReplayArgs),
    /// Write a realistic registry event log (legitimate background plus attack scenarios) and its
    /// ground truth, for drills and benchmarks.
    Simulate(SimulateArgs),
}

/// `picket db …`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV records: a directory of `*.json` records or the ecosystem's `all.zip`. The PyPI
    /// records (PYSEC, GHSA, MAL-, …) replace the ones imported before.
    ImportOsv {
        /// The directory or zip.
        path: PathBuf,
        /// Where picket keeps its data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Download the PyPI `all.zip` of OSV and import it, unless the server says it has not changed
    /// since the last update (`ETag`). Several `--url`s are merged: say, the public records and
    /// another picket index's own (`http://HOST/osv/all.zip`).
    Update {
        /// The zip's URL, repeatable (else `PICKET_OSV_URL`, URLs separated by spaces).
        #[arg(long, value_name = "URL")]
        url: Vec<String>,
        /// Where picket keeps its data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// `picket monitor …`.
#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Watch a project: a dependency file, or a folder holding them (as `scan` finds them).
    Add {
        /// The file or folder.
        path: PathBuf,
        /// What alerts call it (default: its folder's name).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Where picket keeps its data (the list is `DIR/monitor.json`).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// List the watched projects.
    List {
        /// Where picket keeps its data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Stop watching a project, by name or path; what was sent about it is forgotten.
    Remove {
        /// Its name or path.
        project: String,
        /// Where picket keeps its data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Scan every watched project against the imported advisories (offline) and send the
    /// findings not sent before; run it after `picket db update`. Without a webhook or mail
    /// address the new findings are printed, and count as sent. Exit 2 when a delivery fails:
    /// nothing is marked sent, so the next run tries again.
    #[command(after_help = MONITOR_EXIT_CODES)]
    Run(MonitorRunArgs),
}

const MONITOR_EXIT_CODES: &str = "\
Exit codes:
  0  every new finding was delivered (or there was none)
  2  a delivery failed, or a project or the state could not be read (nothing marked sent)";

/// `picket monitor run`.
#[derive(Debug, Args)]
pub struct MonitorRunArgs {
    /// POST the new findings (JSON) here (else `[monitor] webhook-url`).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Mail the new findings to this address, repeatable (else `[monitor] mail-to`).
    #[arg(long, value_name = "ADDRESS")]
    pub mail_to: Vec<String>,
    /// The policy file (default: ./picket.toml if present): `[monitor]`, and the
    /// `[[check.ignore]]` entries applied to every project.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where picket keeps its data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `picket replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The event log: JSON lines, as `picket admin export-events` or `picket simulate` write them.
    pub events: PathBuf,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Detector thresholds (TOML; every key of the model, see ARCHITECTURE.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `picket simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Where to write the log.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the ground truth (default: OUT.truth.json).
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
    /// Attack scenarios to add (repeatable): inbox-2025, drip, flood.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Seed: the same seed writes the same log.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Days of activity, from 12 May 2025.
    #[arg(long, default_value_t = 60)]
    pub days: u32,
    /// Legitimate sign-ups over the period.
    #[arg(long, default_value_t = 200_000)]
    pub accounts: u64,
}

/// `picket serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the registry keeps its database and files (created on first start).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (overrides `[serve] listen`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The settings file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The metadata database, `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (overrides
    /// `PICKET_DATABASE_URL` and `[serve] database-url`; default: SQLite in the data directory).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Log lines as `text` or `json` (overrides `[serve] log-format`).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
}

/// `picket proxy`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ProxyArgs {
    /// `report`: the decisions journaled so far.
    #[command(subcommand)]
    pub command: Option<ProxyCommand>,
    /// Address to listen on (overrides `[proxy] listen`; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Upstream, cooldown, settings and data folder.
    #[command(flatten)]
    pub options: ProxyOptions,
}

/// What `picket proxy` and `picket guard` share.
#[derive(Debug, Args)]
pub struct ProxyOptions {
    /// Where the proxy keeps its caches and journal.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// An upstream simple-API URL; repeat for several, asked in order (overrides `[proxy]
    /// upstream`; default: the index your pip/uv configuration names).
    #[arg(long = "upstream", value_name = "URL")]
    pub upstream: Vec<String>,
    /// Hide files younger than this: `P3D`, `PT72H`, `72h`, `3d` (overrides `[proxy] cooldown`).
    #[arg(long, value_name = "DURATION")]
    pub cooldown: Option<String>,
    /// The settings file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `picket guard`.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Upstream, cooldown, settings and data folder.
    #[command(flatten)]
    pub options: ProxyOptions,
    /// The command to run, after `--`: `pip install …`, `uv pip install …`, `uv add …`,
    /// `pdm add …`.
    #[arg(required = true, last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// What `picket guard --help` adds.
pub const GUARD_HELP: &str = "\
How it works: the command runs with PIP_INDEX_URL, UV_DEFAULT_INDEX and PDM_PYPI_URL pointing at a
proxy on a loopback port; extra indexes set in the environment are removed so nothing bypasses it.
Poetry takes its sources from pyproject.toml: run `picket proxy` and add it as the primary source.

Exit codes: the command's own; 1 when picket refused a download (the command then failed); 2 when
the guard itself could not start (no upstream, a port, the command not found).";

/// `picket proxy …`.
#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// List the files the proxy hid or refused, and why (from its journal).
    Report,
}

/// `picket admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The registry's data directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The settings file whose `[serve]` says where the data is (`database-url`, `storage-url`)
    /// and holds `rdap-url` (default: ./picket.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The metadata database (overrides `PICKET_DATABASE_URL` and `[serve] database-url`;
    /// default: SQLite in the data directory).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Who is acting, for the journal (default: `cli:$USER`).
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
    /// The action.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `picket admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an account (verified); the password is read from stdin.
    CreateUser {
        /// The username.
        name: String,
        /// Its e-mail address.
        #[arg(long)]
        email: String,
        /// Make it a site administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (required: passwords never go on a command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Create an API token for a user and print it (shown once).
    CreateToken {
        /// The username.
        name: String,
        /// Limit the token to these projects (repeatable); default: all the user's projects.
        #[arg(long = "project", value_name = "PROJECT")]
        projects: Vec<String>,
        /// A label for the token.
        #[arg(long, default_value = "admin-cli")]
        label: String,
    },
    /// List the accounts.
    ListUsers,
    /// Write the event journal as JSON lines.
    ExportEvents {
        /// Only events at or after this time (RFC 3339, a date, or a duration ago: `24h`, `7d`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Write here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Yank a release (pip skips it unless pinned exactly).
    Yank {
        /// The project.
        project: String,
        /// The version.
        version: String,
        /// Why (shown to installers).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Undo a yank.
    Unyank {
        /// The project.
        project: String,
        /// The version.
        version: String,
    },
    /// Remove a project, or one release of it, or one file.
    Remove {
        /// The project.
        project: String,
        /// Only this release.
        version: Option<String>,
        /// Only this file.
        #[arg(long, conflicts_with = "version")]
        file: Option<String>,
        /// Why, for the journal.
        #[arg(long, default_value = "removed by an administrator")]
        reason: String,
    },
    /// Prohibit an e-mail domain: its addresses can't register. The registrable domain is used
    /// (`mail.example.co.uk` → `example.co.uk`).
    ProhibitDomain {
        /// The domain.
        domain: String,
        /// Why (journaled, shown to admins).
        #[arg(long, required = true)]
        reason: String,
        /// Lift it automatically after this long (`90m`, `24h`, `14d`).
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Also refuse addresses whose domain's mail servers (MX) are in this domain.
        #[arg(long)]
        mx: bool,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Lift a domain prohibition.
    AllowDomain {
        /// The domain.
        domain: String,
        /// Why, for the journal.
        #[arg(long, default_value = "allowed by an administrator")]
        reason: String,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List domain prohibitions (expired ones marked).
    ListDomains,
    /// Add an owner to a project.
    AddOwner {
        /// The project.
        project: String,
        /// The user.
        user: String,
    },
    /// Remove an owner from a project.
    RemoveOwner {
        /// The project.
        project: String,
        /// The user.
        user: String,
    },
    /// Disable accounts: no login, their tokens are refused at once.
    DisableUser(BulkUsers),
    /// Enable accounts again.
    EnableUser(BulkUsers),
    /// Quarantine every new upload of accounts (what the campaign detector does to members).
    RestrictUser(BulkUsers),
    /// Lift that.
    UnrestrictUser(BulkUsers),
    /// Disable accounts and quarantine every project they own; lists what changed.
    NukeUser(BulkUsers),
    /// Undo a nuke: enable and unrestrict accounts and release every project of theirs that an
    /// admin action quarantined (the upload gate's holds stay); lists what changed.
    RestoreUser(BulkUsers),
    /// Quarantine projects: invisible to installers until released.
    Quarantine(BulkProjects),
    /// Release quarantined projects (and their quarantined releases).
    Release(BulkProjects),
    /// Remove projects whole, optionally prohibiting their names for good.
    RemoveProject {
        /// The projects.
        #[arg(required = true)]
        projects: Vec<String>,
        /// Also prohibit the names, so nobody can take them again.
        #[arg(long)]
        prohibit_name: bool,
        /// Removed as malicious: publish an OSV record naming every version (withdraw it with
        /// `picket admin osv withdraw ID`).
        #[arg(long)]
        malicious: bool,
        /// Why (journaled).
        #[arg(long, required = true)]
        reason: String,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the journal of admin actions.
    Audit {
        /// Only actions at or after this time (RFC 3339, a date, or a duration ago: `24h`, `7d`).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
    },
    /// List the campaigns the live detector found, newest first.
    Campaigns,
    /// Look at one campaign, apply the bulk action it proposes, or dismiss it.
    #[command(subcommand)]
    Campaign(CampaignCommand),
    /// Teach the registration velocity limit each e-mail domain's normal sign-up rate from an
    /// exported event log (`account.create` events).
    ImportBaseline {
        /// JSON lines, as `export-events` or `picket simulate` write them.
        file: PathBuf,
    },
    /// Reports about projects: the queue, and the decisions on them.
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// How far a user's reports are believed: `trusted` reports can quarantine a project at once
    /// (see `report-quarantine-*`), `blocked` ones are refused.
    ReporterTrust {
        /// The account.
        user: String,
        /// `blocked`, `normal` or `trusted`.
        #[arg(value_parser = ["blocked", "normal", "trusted"])]
        level: String,
        /// Why (journaled).
        #[arg(long, required = true)]
        reason: String,
    },
    /// picket's own OSV records (`MAL-` style), as `/osv/all.zip` publishes them.
    #[command(subcommand)]
    Osv(OsvCommand),
    /// Copy the registry's metadata into another, empty database (SQLite to PostgreSQL, say),
    /// then compare every table's row count and digest on both sides. Files stay where they
    /// are; point `database-url` at the target afterwards.
    MigrateDb {
        /// The source (default: the database `--database-url`/`database-url` names, else the
        /// data directory's SQLite file).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// The target, e.g. `postgres://USER:PASSWORD@HOST/DATABASE` (created tables, no rows).
        #[arg(long, value_name = "URL")]
        to: String,
    },
    /// Write a consistent copy of the SQLite database to FILE while the registry keeps serving
    /// (PostgreSQL: use `pg_dump`, see `docs/backup.md`).
    Backup {
        /// Where the copy goes (must not exist).
        file: PathBuf,
    },
    /// Replace the SQLite database with a backup (stop `picket serve` first). The backup is
    /// opened and migrated before it replaces anything; the replaced database is kept beside
    /// it as `picket.db.before-restore`.
    Restore {
        /// A file `picket admin backup` wrote.
        file: PathBuf,
    },
    /// Re-check now the domains of verified addresses through RDAP (`rdap-url`), unverifying
    /// addresses whose domain expired or was registered again after they were verified.
    CheckDomains {
        /// The RDAP service (else `rdap-url` of `[serve]` in `--config`/`picket.toml`).
        #[arg(long, value_name = "URL")]
        rdap_url: Option<String>,
    },
}

/// `picket admin reports …`.
#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// The reports, newest first.
    List {
        /// Only `open`, `confirmed`, `rejected` or `reverted` reports.
        #[arg(long, value_parser = ["open", "confirmed", "rejected", "reverted"])]
        status: Option<String>,
    },
    /// Malicious: hold the project off the index, publish an OSV record, close its open reports.
    Confirm(ReportDecision),
    /// Not malicious: close the report and lift an automatic quarantine only reports caused.
    Reject(ReportDecision),
    /// Undo a confirmation: release the project and withdraw its OSV record.
    Revert(ReportDecision),
}

/// A decision on one report.
#[derive(Debug, Args)]
pub struct ReportDecision {
    /// The report's number.
    pub id: i64,
    /// Why (journaled, and the record's text on a confirmation).
    #[arg(long, required = true)]
    pub reason: String,
    /// Say what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `picket admin osv …`.
#[derive(Debug, Subcommand)]
pub enum OsvCommand {
    /// Every record, withdrawn ones too.
    List,
    /// Withdraw a record (say, after `remove-project --malicious` was a mistake).
    Withdraw {
        /// The record's id.
        id: String,
        /// Why (journaled).
        #[arg(long, required = true)]
        reason: String,
    },
}

/// `picket admin campaign …`.
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// The campaign's report: members, domains, signals, timeline, proposed actions.
    Show {
        /// Its id (from `picket admin campaigns`).
        id: String,
    },
    /// Quarantine every member project, disable every member account and prohibit the burst
    /// domains for 14 days, in one transaction.
    Apply {
        /// Its id.
        id: String,
        /// Why (journaled).
        #[arg(long, default_value = "campaign confirmed by an administrator")]
        reason: String,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// A false positive: lift the automatic restrictions and throttles, stop acting on it.
    Dismiss {
        /// Its id.
        id: String,
        /// Why (journaled).
        #[arg(long, default_value = "dismissed as a false positive")]
        reason: String,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Accounts for a bulk action.
#[derive(Debug, Args)]
pub struct BulkUsers {
    /// The accounts.
    #[arg(required = true)]
    pub users: Vec<String>,
    /// Why (journaled).
    #[arg(long, required = true)]
    pub reason: String,
    /// Say what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Projects for a bulk action.
#[derive(Debug, Args)]
pub struct BulkProjects {
    /// The projects.
    #[arg(required = true)]
    pub projects: Vec<String>,
    /// Why (journaled).
    #[arg(long, required = true)]
    pub reason: String,
    /// Say what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
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

/// `picket check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Project names, as `NAME` or `NAME==VERSION`; `-` reads them from stdin, one per line.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Use only the local name index, never the network.
    #[arg(long, conflicts_with = "index")]
    pub offline: bool,
    /// The package index (simple API base URL) to check against.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// Exit 1 at this verdict or worse (default from picket.toml, else `block`).
    #[arg(long, value_enum)]
    pub fail_on: Option<crate::config::FailOn>,
    /// The policy file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where imported data lives (default: `$PICKET_DATA_DIR`, else `~/.local/share/picket`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How many names to check at once online.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
}

/// `picket mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Use only the local name index, never the network.
    #[arg(long, conflicts_with = "index")]
    pub offline: bool,
    /// The package index (simple API base URL) to check against (else as `check` finds one).
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// The policy file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where imported data lives (default: `$PICKET_DATA_DIR`, else `~/.local/share/picket`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How many names to check at once online.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
}

/// `picket scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Dependency files or folders holding them (default: the current folder). In a folder:
    /// requirements*.txt (also under `requirements/`), pyproject.toml, uv.lock, poetry.lock,
    /// Pipfile.lock and pylock*.toml.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Scan an installed environment: a virtualenv's folder or a site-packages folder (without
    /// PATH: `$VIRTUAL_ENV`, else the environment of the `python3` on PATH). Every installed
    /// distribution is vetted like a pinned dependency, and its files are checked against its
    /// RECORD (`tampered`); `.pth` files that run code are `pth-code`. Dependency files are
    /// scanned too only when named.
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    #[allow(
        clippy::option_option,
        reason = "--env, --env PATH and no --env are three cases"
    )]
    pub env: Option<Option<PathBuf>>,
    /// With `--env`: compare installed files with their RECORD by size only, hashing nothing.
    /// Faster, but a weaker tamper check: an edit that keeps a file's size goes unseen. The
    /// default hashes every file.
    #[arg(long, requires = "env")]
    pub record_sizes_only: bool,
    /// With `--env`: hash every installed file, neither using nor updating the verified-hash
    /// cache. By default a file whose path, device, inode, size, modification time and change
    /// time are unchanged since the last scan hashed it is not read again (the cache is
    /// `DATA_DIR/hash-cache/`; any write to a file moves its change time, so an edit is always
    /// hashed).
    #[arg(long, requires = "env")]
    pub no_hash_cache: bool,
    /// Scan the Python environments inside a container image: a `docker save` tarball, an OCI
    /// image layout folder or a tar of one. Its layers are applied in order (whiteouts
    /// honoured) and every site-packages folder of the result is scanned as `--env` scans one.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// Use only local data (name index, advisories), never the network.
    #[arg(long, conflicts_with = "index")]
    pub offline: bool,
    /// The package index (simple API base URL) to check names against.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// Report only what is new since this earlier `picket scan --format json` (or `--format
    /// sarif`) report: its findings are listed as ignored (for pull-request checks). SARIF gives
    /// each result a `baselineState`: `new`, `unchanged` (in the baseline), or `absent` (in the
    /// baseline, no longer found).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// A VEX document (OpenVEX or CycloneDX VEX), repeatable: a statement that a release is not
    /// affected by a vulnerability (`not_affected`, `fixed`; `false_positive`, `resolved`) lists
    /// that finding as ignored, with the statement's status and justification.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Ask this OSV API (its root, or its `/v1/query` URL: `picket serve`'s or any other) for
    /// the advisories instead of the imported database.
    #[arg(long, value_name = "URL", conflicts_with = "offline")]
    pub osv_url: Option<String>,
    /// Exit 1 at this verdict or worse (default from picket.toml, else `block`).
    #[arg(long, value_enum)]
    pub fail_on: Option<crate::config::FailOn>,
    /// Require `--hash` on every requirement (else `[scan] require-hashes`).
    #[arg(long)]
    pub require_hashes: bool,
    /// The policy file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where imported data lives (default: `$PICKET_DATA_DIR`, else `~/.local/share/picket`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// How many names to check at once online.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
    /// Write the report here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// In the table, every id, fixed version and the advisory's full text under each
    /// vulnerability (by default one line each, its title cut to the terminal's width). With
    /// `--env`, also how many files were hashed and how many the hash cache spared (stderr).
    #[arg(long, short)]
    pub verbose: bool,
}

/// `picket fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Dependency files or folders holding them (default: the current folder), found as `scan`
    /// finds them. requirements*.txt (and the files they include) are rewritten, uv.lock and
    /// poetry.lock relocked; `*.in` files and pyproject.toml are read as the project's ranges.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the changes as a unified diff on stdout and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The package index (simple API base URL) to take releases, upload times and hashes from
    /// (else `PICKET_INDEX_URL`, picket.toml's `index-url`, `PIP_INDEX_URL`, `UV_INDEX_URL`,
    /// `UV_DEFAULT_INDEX`, pip.conf).
    #[arg(long, visible_alias = "index-url", value_name = "URL")]
    pub index: Option<String>,
    /// Propose no release uploaded fewer than N days ago (else `cooldown-days` in [check] of
    /// picket.toml, else 14).
    #[arg(long, value_name = "N")]
    pub cooldown_days: Option<u32>,
    /// The uv to relock uv.lock with (default: `uv` on PATH).
    #[arg(long, value_name = "PATH")]
    pub uv: Option<PathBuf>,
    /// The Poetry to relock poetry.lock with (default: `poetry` on PATH).
    #[arg(long, value_name = "PATH")]
    pub poetry: Option<PathBuf>,
    /// The policy file (default: ./picket.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where imported data lives (default: `$PICKET_DATA_DIR`, else `~/.local/share/picket`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `picket sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// A lock file, or a project folder (its uv.lock, poetry.lock, pylock.toml, Pipfile.lock or
    /// requirements.txt, in that order). Default: the current folder.
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Where imported data lives (advisories for CycloneDX's `vulnerabilities`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The policy file (default: ./picket.toml if present): its `[[check.ignore]]` entries in
    /// force go into CycloneDX as VEX, an analysis `not_affected` on the vulnerability they cover.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read each release's license from this index's JSON API (`/pypi/NAME/VERSION/json`
    /// beside its `/simple/`); lock files do not record licenses.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// How many releases to ask the index about at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
    /// Write the SBOM here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `picket names …`.
#[derive(Debug, Subcommand)]
pub enum NamesCommand {
    /// Build the full offline name index from a snapshot TSV (`name`, `latest_version`,
    /// `latest_release_month`, `download_rank`; gzip or plain), or from the live project list of
    /// a package index.
    Import {
        /// The snapshot file.
        #[arg(
            value_name = "FILE",
            required_unless_present = "from_index",
            conflicts_with = "from_index"
        )]
        file: Option<PathBuf>,
        /// Take the names from this index's project list (its simple-API root) instead.
        #[arg(long, value_name = "URL")]
        from_index: Option<String>,
        /// Where to keep the index.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check every name of the index against the popular ones; writes suspects as JSON lines,
    /// most confident first.
    Sweep {
        /// Write the suspects here instead of stdout.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Leave out suspects below this confidence (0–1).
        #[arg(long, default_value_t = 0.0, value_name = "X")]
        min_confidence: f32,
        /// Threads (default: all cores).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Where the imported index lives.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The policy file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// `picket deps`.
#[derive(Debug, Args)]
pub struct DepsArgs {
    /// Dependency files to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
