//! `picket sbom [PATH]`: a software bill of materials for a project's locked dependencies, as
//! CycloneDX 1.6 JSON (with the advisories found in the local OSV database) or SPDX 2.3 JSON.
//!
//! Components are the lock file's packages with `pkg:pypi/` purls, versions and the hashes the
//! lock records; the dependency graph comes from the lock file where it records one (uv, Poetry),
//! and the project itself (from `pyproject.toml` beside the lock) is the root that depends on the
//! direct dependencies. Lock files do not record licenses: with `--index`, each release's comes
//! from the index's JSON API (PEP 639 `license_expression`, else the free-text `license`).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use picket_deps::{Dependency, FileFormat, FsSource};
use picket_formats::Version;
use serde_json::{Value, json};

use crate::cli::{Format, SbomArgs};
use crate::config::data_dir;
use crate::output::{self, Exit};
use indicatif::ProgressBar;
use picket_check::licenses::{self, License, is_spdx_expression};
use picket_check::online::Client;

/// Lock files in the order a folder is searched.
const LOCK_FILES: [&str; 5] = [
    "uv.lock",
    "poetry.lock",
    "pylock.toml",
    "Pipfile.lock",
    "requirements.txt",
];

pub fn run(args: &SbomArgs, format: Format) -> Exit {
    match run_checked(args, format) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

/// The project an SBOM describes.
struct Root {
    name: String,
    version: Option<String>,
    license: Option<String>,
    /// Its declared dependencies (normalized), when `pyproject.toml` lists them.
    declared: HashSet<String>,
}

/// One locked package.
struct Component<'a> {
    dep: &'a Dependency,
    version: String,
    purl: String,
    /// `SPDXRef-…`-safe id.
    spdx_id: String,
    license: Option<License>,
}

fn run_checked(args: &SbomArgs, format: Format) -> anyhow::Result<()> {
    let lock = find_lock(args.path.as_deref())?;
    let source = FsSource {
        max_bytes: picket_check::scan::MAX_FILE_BYTES,
    };
    let file = picket_deps::parse_file(&lock, &source)?;
    let root = read_root(&lock)?;
    let mut components = Vec::new();
    let mut left_out = Vec::new();
    let mut seen = HashSet::new();
    for dep in file.dependencies.iter().filter(|d| !d.constraint) {
        match (&dep.pinned, &dep.url, dep.editable) {
            // One release is one component, however many groups list it (Pipfile.lock's
            // `default` and `develop`).
            (Some(version), None, false) if !seen.insert(purl(dep.name.normalized(), version)) => {}
            (Some(version), None, false) => components.push(Component {
                dep,
                version: version.clone(),
                purl: purl(dep.name.normalized(), version),
                spdx_id: spdx_id(dep.name.normalized(), version),
                license: None,
            }),
            _ => left_out.push(dep.name.as_given().to_owned()),
        }
    }
    if !left_out.is_empty() {
        output::warning(&format!(
            "{}: left out of the SBOM, not locked to a release from an index: {}",
            lock.display(),
            left_out.join(", ")
        ));
    }
    if components.is_empty() {
        bail!(
            "{}: no locked dependencies to describe\nhint: an SBOM lists exact releases; lock the project first (`uv lock`, `poetry lock`, `pip-compile`)",
            lock.display()
        );
    }
    if let Some(index) = &args.index {
        let dir = data_dir(args.data_dir.as_deref())?;
        let client = Client::new(index, &dir.join("http-cache"))?;
        fetch_licenses(&client, &mut components, args.jobs.max(1));
    }
    let direct = direct_names(&components, &root);
    let created = created_time();
    let document = if format == Format::Spdx {
        spdx(&root, &components, &direct, &created)
    } else {
        let dir = data_dir(args.data_dir.as_deref())?;
        let names = components.iter().map(|c| c.dep.name.normalized());
        let (db, total) = picket_osv::Database::load_for(&dir, names)?;
        if total == 0 {
            output::hint(if format == Format::Openvex {
                "no advisories imported, so no ignore entry covers a known vulnerability; `picket db import-osv PATH` or `picket db update` adds them"
            } else {
                "no advisories imported, so the SBOM lists no vulnerabilities; `picket db import-osv PATH` or `picket db update` adds them"
            });
        }
        let config = crate::config::Config::load(args.config.as_deref())?;
        let today = picket_formats::time::now_unix().div_euclid(86_400);
        let statements = Statements {
            ignore: &config.check.ignore,
            today,
        };
        if format == Format::Openvex {
            openvex(&components, &created, &db, &statements)
        } else {
            cyclonedx(&root, &components, &direct, &created, &db, &statements)
        }
    };
    let mut text = serde_json::to_vec_pretty(&document)?;
    text.push(b'\n');
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&text) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(anyhow::anyhow!("writing output: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Fills each component's license from the index, `jobs` at a time; a release the index can't
/// tell about is named in a warning and keeps no license.
fn fetch_licenses(client: &Client, components: &mut [Component<'_>], jobs: usize) {
    let bar = if components.len() > 1 {
        ProgressBar::new(components.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    let wanted: Vec<(String, String)> = components
        .iter()
        .map(|c| (c.dep.name.normalized().to_owned(), c.version.clone()))
        .collect();
    let answers = licenses::fetch(client, &wanted, jobs, &|| bar.inc(1));
    bar.finish_and_clear();
    for (i, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok(license) => components[i].license = license,
            Err(e) => output::warning(&format!(
                "license of {} {} unknown: {e}",
                wanted[i].0, wanted[i].1
            )),
        }
    }
}

fn find_lock(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = path.unwrap_or(Path::new("."));
    let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
    if !meta.is_dir() {
        return match FileFormat::detect(path).or_else(|| picket_check::scan::sniff(path)) {
            Some(FileFormat::Pyproject) => bail!(
                "{}: an SBOM describes locked dependencies, and pyproject.toml lists ranges\nhint: give the lock file, or lock the project first (`uv lock`, `poetry lock`)",
                path.display()
            ),
            Some(_) => Ok(path.to_owned()),
            None => bail!(
                "{}: not a known lock file (expected uv.lock, poetry.lock, pylock.toml, Pipfile.lock or a pinned requirements.txt)",
                path.display()
            ),
        };
    }
    LOCK_FILES
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
        .map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p))
        .with_context(|| {
            format!(
                "no lock file in {} (looked for {})\nhint: lock the project first (`uv lock`, `poetry lock`), or name the file",
                path.display(),
                LOCK_FILES.join(", ")
            )
        })
}

/// The project itself, from `pyproject.toml` beside the lock file (PEP 621, else Poetry's table),
/// else named after the folder.
fn read_root(lock: &Path) -> anyhow::Result<Root> {
    let dir = lock.parent().unwrap_or(Path::new(""));
    let folder_name = std::fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .ok()
    .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
    .unwrap_or_else(|| "project".to_owned());
    let mut root = Root {
        name: folder_name,
        version: None,
        license: None,
        declared: HashSet::new(),
    };
    let pyproject = dir.join("pyproject.toml");
    if !pyproject.is_file() {
        return Ok(root);
    }
    let source = FsSource {
        max_bytes: picket_check::scan::MAX_FILE_BYTES,
    };
    let parsed = picket_deps::parse_file(&pyproject, &source)?;
    root.declared = parsed
        .dependencies
        .iter()
        .map(|d| d.name.normalized().to_owned())
        .collect();
    let text = std::fs::read_to_string(&pyproject)
        .with_context(|| format!("reading {}", pyproject.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{}: not valid TOML", pyproject.display()))?;
    let project = table.get("project").and_then(|p| p.as_table());
    let poetry = table
        .get("tool")
        .and_then(|t| t.get("poetry"))
        .and_then(|p| p.as_table());
    let field = |key: &str| {
        project
            .and_then(|p| p.get(key))
            .or_else(|| poetry.and_then(|p| p.get(key)))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if let Some(name) = field("name") {
        root.name = name;
    }
    root.version = field("version");
    // PEP 639: `license` is an SPDX expression string; the older table form is free text.
    root.license = field("license");
    Ok(root)
}

/// The direct dependencies: what the lock file marks direct, else what pyproject.toml declares,
/// else the packages no other package depends on.
fn direct_names(components: &[Component<'_>], root: &Root) -> HashSet<String> {
    let marked: HashSet<String> = components
        .iter()
        .filter(|c| c.dep.direct == Some(true))
        .map(|c| c.dep.name.normalized().to_owned())
        .collect();
    if !marked.is_empty() {
        return marked;
    }
    if !root.declared.is_empty() {
        return root.declared.clone();
    }
    let required: HashSet<&str> = components
        .iter()
        .flat_map(|c| c.dep.requires.iter().map(String::as_str))
        .collect();
    components
        .iter()
        .map(|c| c.dep.name.normalized())
        .filter(|n| !required.contains(n))
        .map(str::to_owned)
        .collect()
}

/// `pkg:pypi/NAME@VERSION` (purl spec: the normalized name; `+` of local versions encoded).
fn purl(normalized: &str, version: &str) -> String {
    let mut encoded = String::new();
    for ch in version.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | '~' | '!') {
            encoded.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for byte in ch.encode_utf8(&mut buf).bytes() {
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
    }
    format!("pkg:pypi/{normalized}@{encoded}")
}

fn spdx_id(normalized: &str, version: &str) -> String {
    let safe: String = format!("{normalized}-{version}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-Package-{safe}")
}

/// `(CycloneDX algorithm, SPDX algorithm, hex)` of a lock file's `algo:hex` hash.
fn hash_parts(hash: &str) -> Option<(&'static str, &'static str, &str)> {
    let (algo, hex) = hash.split_once(':')?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (cdx, spdx) = match algo {
        "sha256" => ("SHA-256", "SHA256"),
        "sha384" => ("SHA-384", "SHA384"),
        "sha512" => ("SHA-512", "SHA512"),
        "sha1" => ("SHA-1", "SHA1"),
        "md5" => ("MD5", "MD5"),
        _ => return None,
    };
    Some((cdx, spdx, hex))
}

/// The creation time: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn created_time() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(picket_formats::time::now_unix);
    picket_campaigns::event::format_rfc3339(seconds * 1000)
}

fn root_ref(root: &Root) -> String {
    match &root.version {
        Some(v) => purl(&picket_formats::normalize(&root.name), v),
        None => format!("pkg:pypi/{}", picket_formats::normalize(&root.name)),
    }
}

/// The graph as `(from, [to])` refs; `to` are components of the lock that exist.
fn graph<'a>(
    components: &'a [Component<'a>],
    direct: &HashSet<String>,
    reference: impl Fn(&Component<'_>) -> String,
) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let by_name: BTreeMap<&str, &Component<'_>> = components
        .iter()
        .map(|c| (c.dep.name.normalized(), c))
        .collect();
    let root_edges: Vec<String> = components
        .iter()
        .filter(|c| direct.contains(c.dep.name.normalized()))
        .map(&reference)
        .collect();
    let edges = components
        .iter()
        .map(|c| {
            let to = c
                .dep
                .requires
                .iter()
                .filter_map(|n| by_name.get(n.as_str()))
                .map(|d| reference(d))
                .collect();
            (reference(c), to)
        })
        .collect();
    (root_edges, edges)
}

/// A vulnerability's CycloneDX entry, the components it affects, and the reason an ignore entry
/// gives for each (`None`: none covers it).
type Affected = (Value, Vec<String>, Vec<Option<String>>);

/// The `[[check.ignore]]` entries written as VEX, and the day that says which are in force.
struct Statements<'a> {
    ignore: &'a [picket_check::config::Ignore],
    today: i64,
}

impl Statements<'_> {
    /// The reason an entry in force gives for leaving `record` out for `component`.
    fn covers(&self, record: &picket_osv::Record, component: &Component<'_>) -> Option<String> {
        let mut ids = vec![record.id.as_str()];
        ids.extend(record.aliases.iter().map(String::as_str));
        self.ignore
            .iter()
            .find(|e| {
                e.applies(
                    component.dep.name.normalized(),
                    Some(&component.version),
                    &ids,
                    self.today,
                )
            })
            .map(|e| {
                format!(
                    "{} (picket.toml [[check.ignore]], until {})",
                    e.reason, e.until
                )
            })
    }
}

/// An advisory record's aliases, and each release it affects that an ignore entry covers: its
/// purl and the entry's reason.
type Covered = (Vec<String>, Vec<(String, String)>);

/// OpenVEX 0.2.0: for each advisory record affecting a locked release that an ignore entry in
/// force covers, a `not_affected` statement on that release's purl, the entry's reason and end
/// date as its `impact_statement` (an ignore entry's reason is free text, not one of OpenVEX's
/// `justification` labels). `scan --vex` reads it back.
fn openvex(
    components: &[Component<'_>],
    created: &str,
    db: &picket_osv::Database,
    statements: &Statements<'_>,
) -> Value {
    // By record: its aliases, and each covered product with the reason.
    let mut covered: BTreeMap<String, Covered> = BTreeMap::new();
    for c in components {
        let Ok(version) = c.version.parse::<Version>() else {
            continue;
        };
        for record in db.affecting(c.dep.name.normalized(), &version) {
            if let Some(reason) = statements.covers(record, c) {
                covered
                    .entry(record.id.clone())
                    .or_insert_with(|| (record.aliases.clone(), Vec::new()))
                    .1
                    .push((c.purl.clone(), reason));
            }
        }
    }
    let mut out = Vec::new();
    for (id, (aliases, products)) in covered {
        // One statement per reason: products that share it share a statement.
        let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (purl, reason) in products {
            by_reason.entry(reason).or_default().push(purl);
        }
        for (reason, purls) in by_reason {
            let mut vulnerability = json!({ "name": id });
            if !aliases.is_empty() {
                vulnerability["aliases"] = json!(aliases);
            }
            out.push(json!({
                "vulnerability": vulnerability,
                "timestamp": created,
                "products": purls.iter().map(|p| json!({ "@id": p })).collect::<Vec<_>>(),
                "status": "not_affected",
                "impact_statement": reason,
            }));
        }
    }
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "author": "picket",
        "role": "Document Creator",
        "timestamp": created,
        "version": 1,
        "tooling": format!("picket {}", env!("CARGO_PKG_VERSION")),
        "statements": out,
    })
}

fn cyclonedx(
    root: &Root,
    components: &[Component<'_>],
    direct: &HashSet<String>,
    created: &str,
    db: &picket_osv::Database,
    statements: &Statements<'_>,
) -> Value {
    let root_ref = root_ref(root);
    let mut root_component = json!({
        "type": "application",
        "bom-ref": root_ref,
        "name": root.name,
    });
    if let Some(v) = &root.version {
        root_component["version"] = json!(v);
        root_component["purl"] = json!(root_ref);
    }
    if let Some(license) = &root.license {
        root_component["licenses"] = if is_spdx_expression(license) {
            License::Expression(license.clone())
        } else {
            License::Name(license.clone())
        }
        .cyclonedx();
    }
    let component_json: Vec<Value> = components
        .iter()
        .map(|c| {
            let mut seen = HashSet::new();
            let hashes: Vec<Value> = c
                .dep
                .hashes
                .iter()
                .filter_map(|h| hash_parts(h))
                .filter(|(_, _, hex)| seen.insert(hex.to_ascii_lowercase()))
                .map(|(alg, _, hex)| json!({ "alg": alg, "content": hex.to_ascii_lowercase() }))
                .collect();
            let mut value = json!({
                "type": "library",
                "bom-ref": c.purl,
                "name": c.dep.name.as_given(),
                "version": c.version,
                "purl": c.purl,
                "scope": if c.dep.group.is_some() { "optional" } else { "required" },
            });
            if !hashes.is_empty() {
                value["hashes"] = json!(hashes);
            }
            if let Some(license) = &c.license {
                value["licenses"] = license.cyclonedx();
            }
            value
        })
        .collect();
    let (root_edges, edges) = graph(components, direct, |c| c.purl.clone());
    let mut dependencies = vec![json!({ "ref": root_ref, "dependsOn": root_edges })];
    dependencies.extend(
        edges
            .into_iter()
            .map(|(from, to)| json!({ "ref": from, "dependsOn": to })),
    );

    // Advisories: one entry per record, affecting every component it matches; the reason an
    // ignore entry gives for each.
    let mut vulnerabilities: BTreeMap<String, Affected> = BTreeMap::new();
    for c in components {
        let Ok(version) = c.version.parse::<Version>() else {
            continue;
        };
        for record in db.affecting(c.dep.name.normalized(), &version) {
            let entry = vulnerabilities.entry(record.id.clone()).or_insert_with(|| {
                (
                    vulnerability_json(record, c.dep.name.normalized()),
                    vec![],
                    vec![],
                )
            });
            entry.1.push(c.purl.clone());
            entry.2.push(statements.covers(record, c));
        }
    }
    let vulnerabilities: Vec<Value> = vulnerabilities
        .into_values()
        .map(|(mut v, affects, reasons)| {
            v["affects"] = json!(
                affects
                    .iter()
                    .map(|r| json!({ "ref": r }))
                    .collect::<Vec<_>>()
            );
            // VEX: not affected when the policy leaves it out for every component it affects.
            let reasons: Option<Vec<String>> = reasons.into_iter().collect();
            if let Some(mut reasons) = reasons {
                reasons.dedup();
                v["analysis"] = json!({ "state": "not_affected", "detail": reasons.join("; ") });
            }
            v
        })
        .collect();

    let mut bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "picket",
                    "version": env!("CARGO_PKG_VERSION"),
                }]
            },
            "component": root_component,
        },
        "components": component_json,
        "dependencies": dependencies,
    });
    if !vulnerabilities.is_empty() {
        bom["vulnerabilities"] = json!(vulnerabilities);
    }
    bom
}

fn vulnerability_json(record: &picket_osv::Record, normalized: &str) -> Value {
    let mut value = json!({
        "bom-ref": format!("vulnerability-{}", record.id),
        "id": record.id,
        "source": { "name": "OSV" },
    });
    if !record.aliases.is_empty() {
        value["references"] = json!(
            record
                .aliases
                .iter()
                .map(|a| json!({
                    "id": a,
                    "source": { "name": if a.starts_with("CVE-") { "NVD" } else if a.starts_with("GHSA-") { "GitHub" } else { "OSV" } }
                }))
                .collect::<Vec<_>>()
        );
    }
    let ratings: Vec<Value> = record
        .severity
        .iter()
        .filter_map(|s| {
            let cvss = s.score.parse::<cvss::Cvss>().ok()?;
            let method = match cvss {
                cvss::Cvss::CvssV20(_) => "CVSSv2",
                cvss::Cvss::CvssV30(_) => "CVSSv3",
                cvss::Cvss::CvssV31(_) => "CVSSv31",
                cvss::Cvss::CvssV40(_) => "CVSSv4",
                _ => "other",
            };
            Some(json!({
                "source": { "name": "OSV" },
                "score": cvss.score(),
                "severity": cvss.severity().as_str(),
                "method": method,
                "vector": s.score,
            }))
        })
        .collect();
    if !ratings.is_empty() {
        value["ratings"] = json!(ratings);
    } else if let Some(score) = record.score() {
        value["ratings"] =
            json!([{ "source": { "name": "OSV" }, "severity": score.rating, "method": "other" }]);
    }
    if !record.summary.is_empty() {
        value["description"] = json!(record.summary);
    }
    if !record.details.is_empty() {
        value["detail"] = json!(record.details);
    }
    let fixed: Vec<String> = record
        .fixed_versions(normalized)
        .iter()
        .map(ToString::to_string)
        .collect();
    value["recommendation"] = json!(if record.is_malicious() {
        "Malicious package: remove it and treat machines that installed it as compromised."
            .to_owned()
    } else if fixed.is_empty() {
        "No fixed release yet.".to_owned()
    } else {
        format!("Upgrade to {}.", fixed.join(" or "))
    });
    value
}

fn spdx(
    root: &Root,
    components: &[Component<'_>],
    direct: &HashSet<String>,
    created: &str,
) -> Value {
    let root_id = "SPDXRef-Package-root".to_owned();
    let mut root_package = json!({
        "SPDXID": root_id,
        "name": root.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": root
            .license
            .as_deref()
            .filter(|l| is_spdx_expression(l))
            .unwrap_or("NOASSERTION"),
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "APPLICATION",
    });
    if let Some(v) = &root.version {
        root_package["versionInfo"] = json!(v);
        root_package["externalRefs"] = json!([{
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": root_ref(root),
        }]);
    }
    let mut packages = vec![root_package];
    let mut ids = HashSet::new();
    for c in components {
        if !ids.insert(c.spdx_id.clone()) {
            continue;
        }
        let mut seen = HashSet::new();
        let checksums: Vec<Value> = c
            .dep
            .hashes
            .iter()
            .filter_map(|h| hash_parts(h))
            .filter(|(_, _, hex)| seen.insert(hex.to_ascii_lowercase()))
            .map(|(_, alg, hex)| json!({ "algorithm": alg, "checksumValue": hex.to_ascii_lowercase() }))
            .collect();
        let mut package = json!({
            "SPDXID": c.spdx_id,
            "name": c.dep.name.as_given(),
            "versionInfo": c.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": c.license.as_ref().map_or("NOASSERTION", License::spdx),
            "copyrightText": "NOASSERTION",
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": c.purl,
            }],
        });
        if !checksums.is_empty() {
            package["checksums"] = json!(checksums);
        }
        packages.push(package);
    }
    let (root_edges, edges) = graph(components, direct, |c| c.spdx_id.clone());
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": root_id,
    })];
    let mut seen = HashSet::new();
    for (from, to) in std::iter::once((root_id.clone(), root_edges)).chain(edges) {
        for target in to {
            if seen.insert((from.clone(), target.clone())) {
                relationships.push(json!({
                    "spdxElementId": from,
                    "relationshipType": "DEPENDS_ON",
                    "relatedSpdxElement": target,
                }));
            }
        }
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": match &root.version {
            Some(v) => format!("{}-{v}", root.name),
            None => root.name.clone(),
        },
        "documentNamespace": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: picket-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages,
        "relationships": relationships,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_expressions_are_told_from_free_text() {
        for good in [
            "MIT",
            "Apache-2.0 OR MIT",
            "(MIT OR Apache-2.0) AND BSD-3-Clause",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "LicenseRef-Proprietary",
        ] {
            assert!(is_spdx_expression(good), "{good}");
        }
        for bad in [
            "",
            "MIT License",
            "BSD 3-Clause",
            "MIT OR",
            "(MIT",
            "MIT)",
            "see LICENSE file",
        ] {
            assert!(!is_spdx_expression(bad), "{bad}");
        }
    }

    #[test]
    fn licenses_come_from_the_json_api_fields() {
        let doc =
            |expr: &str, text: &str| json!({"info": {"license_expression": expr, "license": text}});
        assert_eq!(
            License::from_release(&doc("MIT", "whatever")),
            Some(License::Expression("MIT".into()))
        );
        assert_eq!(
            License::from_release(&doc("", "BSD 3-Clause License\n\nCopyright …")),
            Some(License::Name("BSD 3-Clause License".into()))
        );
        assert_eq!(
            License::from_release(&doc("", "Apache-2.0")),
            Some(License::Expression("Apache-2.0".into()))
        );
        assert_eq!(License::from_release(&doc("", "UNKNOWN")), None);
        assert_eq!(License::from_release(&json!({"info": {}})), None);
    }
}
