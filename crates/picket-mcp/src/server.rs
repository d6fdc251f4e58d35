//! The MCP server: the three tools, their descriptions (which tell an agent when to call them),
//! and the checks they run on a blocking thread.

use std::path::PathBuf;
use std::sync::Arc;

use picket_check::online::{Client, IndexSource};
use picket_check::scan::{self, Policy};
use picket_check::{Checker, Request};
use picket_names::SquatDetector;
use rmcp::handler::server::common::schema_for_output;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Settings;
use crate::install::{self, InstallResult, Installer};
use crate::results::{CheckResult, PackageOut, ScanResult, Source, Verdict};

/// The most names one call vets: enough for any install line, a bound on one call's work.
const MAX_PACKAGES: usize = 100;

/// What every agent connecting is told first.
const INSTRUCTIONS: &str = "picket vets Python packages before they are installed: typosquats, names that do not exist (often invented by AI assistants, then registered by attackers), look-alikes, empty and brand-new packages, known-malicious and vulnerable releases. Call `check_packages` before every `pip install`, `uv add`, `uv pip install` or `poetry add`, and before you write a new dependency into requirements*.txt or pyproject.toml; prefer `safe_install_command` to writing the install command yourself; call `scan_project` when you start on a project and after you change its dependency files. Never install a package whose verdict is `block`: tell the user why and offer the `did_you_mean` name. Tell the user about `warn` findings.";

/// Arguments of `check_packages` and the names of `safe_install_command`.
#[derive(Debug, Deserialize, JsonSchema)]
struct PackagesArgs {
    /// The packages, as `NAME` or `NAME==VERSION` (`requests`, `flask==3.0.3`): project names
    /// only, no other specifiers, extras or URLs. At most 100.
    packages: Vec<String>,
}

/// Arguments of `scan_project`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ScanArgs {
    /// The project folder (its requirements*.txt, requirements/, pyproject.toml, uv.lock,
    /// poetry.lock, Pipfile.lock and pylock.toml are read), or one dependency file. Absolute, or
    /// relative to the folder the server was started in.
    path: String,
}

/// Arguments of `safe_install_command`.
#[derive(Debug, Deserialize, JsonSchema)]
struct InstallArgs {
    /// The packages to install, as `NAME` or `NAME==VERSION`. At most 100.
    packages: Vec<String>,
    /// The installer: `pip` (`pip install`, the default), `uv` (`uv add`), `uv-pip`
    /// (`uv pip install`) or `poetry` (`poetry add`).
    #[serde(default)]
    installer: Installer,
}

/// What the tools check with, loaded once.
struct State {
    settings: Settings,
    detector: SquatDetector,
}

impl State {
    /// A checker over the loaded name index, with a client for the index when online.
    fn checker(&self) -> Result<Checker<'_>, String> {
        let source: Option<Box<dyn IndexSource>> = match &self.settings.index {
            Some(index) => Some(Box::new(
                Client::new(&index.url, &self.settings.data_dir.join("http-cache"))
                    .map_err(|e| format!("{e:#}"))?,
            )),
            None => None,
        };
        Ok(Checker::new(
            &self.settings.check,
            &self.settings.names,
            &self.settings.loaded,
            &self.detector,
            source,
        ))
    }

    /// Where answers come from, and what offline cannot tell.
    fn source(&self) -> Source {
        match &self.settings.index {
            Some(index) => Source {
                mode: "online".to_owned(),
                index: Some(index.url.clone()),
                note: None,
            },
            None => Source {
                mode: "offline".to_owned(),
                index: None,
                note: Some(format!(
                    "{}, so names were judged against {}{}; ages and releases are unknown and versions not resolved",
                    if self.settings.offline {
                        "the server was started with --offline"
                    } else {
                        "no package index is configured (PICKET_INDEX_URL, picket.toml, PIP_INDEX_URL, UV_INDEX_URL or UV_DEFAULT_INDEX, pip.conf) and pip named none"
                    },
                    self.settings.loaded.origin,
                    if self.settings.loaded.complete {
                        ""
                    } else {
                        " (whether an unranked name exists is unknown)"
                    }
                )),
            },
        }
    }

    /// The policy of `picket.toml` on the day of `now` (seconds since the epoch).
    fn policy(&self, now: i64) -> Policy<'_> {
        Policy {
            require_hashes: self.settings.scan.require_hashes,
            ignore: &self.settings.check.ignore,
            today: now.div_euclid(86_400),
            licenses: None,
        }
    }

    /// `check_packages`: every request checked and matched against the advisories (as `scan`
    /// matches a pinned requirement), the policy's ignores applied.
    fn check(&self, requests: &[Request]) -> Result<CheckResult, String> {
        let checker = self.checker()?;
        let mut reports =
            picket_check::check_all(&checker, requests, self.settings.jobs.max(1), &|_, _| {});
        let now = picket_formats::time::now_unix();
        let policy = self.policy(now);
        let (db, records) = picket_osv::Database::load_for(
            &self.settings.data_dir,
            reports.iter().map(|r| r.normalized.as_str()),
        )
        .map_err(|e| format!("reading the advisories: {e}"))?;
        let packages: Vec<PackageOut> = reports
            .iter_mut()
            .map(|report| {
                report.apply_ignores(policy.ignore, policy.today);
                // The release checked (online: the one resolved), or the project's MAL- records.
                let mut advisory = scan::advisories(
                    &report.name,
                    &report.normalized,
                    report.version.as_deref(),
                    &db,
                    report.releases.as_deref(),
                );
                advisory.findings.retain(|f| {
                    let aliases = advisory
                        .vulnerabilities
                        .iter()
                        .find(|v| Some(&v.id) == f.advisory.as_ref())
                        .map(|v| v.aliases.clone())
                        .unwrap_or_default();
                    policy
                        .ignores(&report.normalized, report.version.as_deref(), f, &aliases)
                        .is_none()
                });
                PackageOut::of(report, &advisory, &self.settings.loaded.index, now)
            })
            .collect();
        Ok(CheckResult {
            source: self.source(),
            advisories: records,
            worst: packages
                .iter()
                .map(|p| p.verdict)
                .max()
                .unwrap_or(Verdict::Allow),
            packages,
        })
    }

    /// `scan_project`: `picket scan`'s pipeline over one folder or file.
    fn scan(&self, path: &str) -> Result<ScanResult, String> {
        if path.trim().is_empty() {
            return Err("`path` is empty: give the project folder".to_owned());
        }
        let path = PathBuf::from(path);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("{}: no such folder or file", path.display()));
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
            Ok(_) => {}
        }
        let files = scan::discover(std::slice::from_ref(&path)).map_err(|e| format!("{e:#}"))?;
        let parsed = scan::parse_files(&files);
        let (db, total) = picket_osv::Database::load_for(&self.settings.data_dir, parsed.names())
            .map_err(|e| format!("reading the advisories: {e}"))?;
        let checker = self.checker()?;
        let policy = self.policy(picket_formats::time::now_unix());
        let mut report = scan::scan(
            parsed,
            &checker,
            &db,
            &policy,
            self.settings.jobs.max(1),
            &|_, _| {},
        );
        report.advisories.records = total;
        let mut warnings = std::mem::take(&mut report.warnings);
        warnings.extend(policy.expired());
        Ok(ScanResult::of(&report, self.source(), warnings))
    }

    /// `safe_install_command`.
    fn install(&self, requests: &[Request], installer: Installer) -> Result<InstallResult, String> {
        for (i, request) in requests.iter().enumerate() {
            let normalized = picket_formats::normalize(&request.name);
            if let Some(other) = requests[..i]
                .iter()
                .find(|r| picket_formats::normalize(&r.name) == normalized)
            {
                return Err(format!(
                    "`{}` and `{}` name the same project; name each package once",
                    label(other),
                    label(request)
                ));
            }
        }
        let checked = self.check(requests)?;
        Ok(install::command(
            installer,
            &checked.packages,
            checked.source,
            self.settings.index.as_ref().map(|i| i.origin.as_str()),
        ))
    }
}

/// `NAME` or `NAME==VERSION`, as asked.
fn label(request: &Request) -> String {
    match &request.version {
        Some(v) => format!("{}=={v}", request.name),
        None => request.name.clone(),
    }
}

/// The requests in `packages`, or one error naming every entry that is not one.
fn requests(packages: &[String]) -> Result<Vec<Request>, String> {
    if packages.is_empty() {
        return Err(
            "`packages` is empty: give at least one name, as NAME or NAME==VERSION".to_owned(),
        );
    }
    if packages.len() > MAX_PACKAGES {
        return Err(format!(
            "{} packages in one call; at most {MAX_PACKAGES}: split the list",
            packages.len()
        ));
    }
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for raw in packages {
        match raw.parse::<Request>() {
            Ok(request) => valid.push(request),
            Err(e) => invalid.push(format!("{e:#}")),
        }
    }
    if invalid.is_empty() {
        Ok(valid)
    } else {
        Err(format!(
            "invalid package {}: {}; write each as NAME or NAME==VERSION (a project name, optionally a PEP 440 version), nothing else",
            if invalid.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            invalid.join("; ")
        ))
    }
}

/// A tool's answer: the text first, then the same as JSON (also as structured content).
fn answer<T: Serialize>(value: &T, text: String) -> Result<CallToolResult, String> {
    let json = serde_json::to_value(value).map_err(|e| format!("encoding the answer: {e}"))?;
    let mut result = CallToolResult::structured(json);
    result.content.insert(0, ContentBlock::text(text));
    Ok(result)
}

/// Runs a check off the async runtime (checks read files and ask the index, blocking).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("the check did not finish: {e}"))?
}

/// The server: the loaded state and the tools.
#[derive(Clone)]
pub(crate) struct Picket {
    state: Arc<State>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Picket {
    /// The server; the squat detector is built once for every call.
    pub(crate) fn new(settings: Settings) -> Self {
        let detector = SquatDetector::new(&settings.loaded.popular, settings.names.squat_config());
        Picket {
            state: Arc::new(State { settings, detector }),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        name = "check_packages",
        description = "Vet Python package names BEFORE installing or adding them. Call this before every `pip install`, `uv add`, `uv pip install` or `poetry add`, and before writing a new dependency into requirements*.txt or pyproject.toml — above all for names you recalled rather than copied from the project's own docs: assistants invent plausible names and attackers register them. Each package gets a verdict (`allow`, `warn`, `block`), its findings (typosquat, nonexistent, look-alike, hallucinated name, new or empty project, yanked, …), `did_you_mean` (the real project a bad name imitates), whether it exists, and online its age and releases. Never install a `block` package: tell the user and offer the `did_you_mean` name (check it too). Packages are `NAME` or `NAME==VERSION`.",
        output_schema = schema_for_output::<CheckResult>(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn check_packages(
        &self,
        Parameters(args): Parameters<PackagesArgs>,
    ) -> Result<CallToolResult, String> {
        let requests = requests(&args.packages)?;
        let state = Arc::clone(&self.state);
        let result = blocking(move || state.check(&requests)).await?;
        answer(&result, result.text())
    }

    #[tool(
        name = "scan_project",
        description = "Scan a Python project's dependency files in one pass (requirements*.txt, pyproject.toml, uv.lock, poetry.lock, Pipfile.lock, pylock.toml): typosquatted, look-alike or nonexistent names, known-malicious and vulnerable releases (OSV advisories), unpinned requirements, missing lock files. Call it when you start working on a project, after you edit its dependency files, and before `pip install -r`, `uv sync` or `poetry install`. Returns the worst verdict, counts, and only the dependencies that need action, each with file and line, findings, `did_you_mean` and the release to upgrade to.",
        output_schema = schema_for_output::<ScanResult>(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn scan_project(
        &self,
        Parameters(args): Parameters<ScanArgs>,
    ) -> Result<CallToolResult, String> {
        let state = Arc::clone(&self.state);
        let result = blocking(move || state.scan(&args.path)).await?;
        answer(&result, result.text())
    }

    #[tool(
        name = "safe_install_command",
        description = "Get the command to install Python packages, vetted first: call it INSTEAD of writing `pip install X`, `uv add X`, `uv pip install X` or `poetry add X` yourself. Each package is checked as `check_packages` does; those that pass are pinned to the release checked (`pip install requests==2.32.3`), `block` ones are left out with the reason and the real name they imitate. Run `command` as returned; if `refused` is not empty, tell the user why and offer the `did_you_mean` names; tell them about `warnings`.",
        output_schema = schema_for_output::<InstallResult>(),
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn safe_install_command(
        &self,
        Parameters(args): Parameters<InstallArgs>,
    ) -> Result<CallToolResult, String> {
        let requests = requests(&args.packages)?;
        let state = Arc::clone(&self.state);
        let installer = args.installer;
        let result = blocking(move || state.install(&requests, installer)).await?;
        answer(&result, result.text())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Picket {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("picket", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}
