//! `picket scan`'s reports for other tools: SARIF 2.1.0 for code-scanning services, Markdown for a
//! pull-request comment. Both are drawn from [`ScanReport`], the JSON contract.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use picket_names::{FindingId, Severity};
use serde_json::{Value, json};

use picket_check::Verdict;
use picket_check::scan::{
    BaselineFinding, BaselineLocation, ScanFinding, ScanPackage, ScanReport, VulnerabilityReport,
    grouped, label,
};

/// What each rule is about, for the SARIF rule list.
fn rule_text(id: FindingId) -> (&'static str, &'static str) {
    match id {
        FindingId::KnownMalicious => (
            "Known malicious package",
            "An OSV MAL- record names this release: the package is malware. Remove it and treat machines that installed it as compromised.",
        ),
        FindingId::Vulnerable => (
            "Release with a known vulnerability",
            "An OSV advisory affects the pinned release. Upgrade to a fixed release, or record why it does not apply with an ignore entry that expires.",
        ),
        FindingId::Unpinned => (
            "Dependency not pinned",
            "The requirement allows more than one version, so a new release (a hijacked one too) installs without review. Pin it or install from a lock file.",
        ),
        FindingId::NoHashes => (
            "Dependency without hashes",
            "The requirement carries no --hash, so the files installed are not the ones vetted. Add hashes.",
        ),
        FindingId::Tampered => (
            "Installed file differs from its RECORD",
            "A file of an installed package changed after install, was added to the package's folders, or its RECORD names a path outside the environment. Find out what changed it and reinstall the package from a vetted source.",
        ),
        FindingId::PthCode => (
            ".pth file runs code at every start",
            "Python executes the import lines of every .pth file in site-packages (and sitecustomize.py) whenever it starts. Make sure the package that ships it is expected to; remove one no package installed.",
        ),
        FindingId::License => (
            "License outside the policy",
            "The release's license (an SPDX expression from the index's metadata) is denied by [scan.licenses], or not covered by its allow list, or can't be judged. Replace the dependency, or change the policy.",
        ),
        FindingId::Unlocked => (
            "Project without a lock file",
            "pyproject.toml declares dependencies and no lock file records the versions installed.",
        ),
        FindingId::Nonexistent => (
            "Dependency does not exist",
            "No project of this name exists on the index: a typo, or a name an AI assistant invented, which anybody can register.",
        ),
        FindingId::Typosquat => (
            "Name imitates a popular project",
            "The name is one edit or affix away from a much more popular project's.",
        ),
        FindingId::Confusable => (
            "Name confusable with a popular project",
            "The name reads like a popular project's once confusable characters are folded.",
        ),
        FindingId::StdlibName => (
            "Name of a standard-library module",
            "The standard library ships this module; a project of the same name on the index is another package (an old backport, or an impersonation). Import the module instead.",
        ),
        FindingId::KnownHallucination => (
            "Name AI assistants are known to invent",
            "AI assistants are known to recommend this name for a library that did not exist; a project registered under it may be there to catch those installs (slopsquatting).",
        ),
        FindingId::HallucinationPattern => (
            "Name shaped like an invented one",
            "The name has the shape AI assistants invent, and the project is obscure or new.",
        ),
        FindingId::NewProject => (
            "Project first uploaded recently",
            "New projects are where squatters live; wait or verify the publisher.",
        ),
        FindingId::EmptyPackage => (
            "Package holds no code",
            "An empty package is a placeholder for squatting or a later malicious release.",
        ),
        FindingId::EntrypointShadowing => (
            "Console script shadows another command",
            "The package installs a command named like another project's well-known command.",
        ),
        FindingId::Yanked => (
            "Release is yanked",
            "The pinned release was withdrawn by its publisher.",
        ),
        FindingId::ProjectStatus => (
            "Project is archived, deprecated or quarantined",
            "The index marks the project with a PEP 792 status: archived (no more releases), deprecated (obsolete) or quarantined (held as unsafe).",
        ),
        FindingId::SingleRelease => (
            "Project has a single release",
            "Established projects rarely have one release.",
        ),
        FindingId::NoDescription => (
            "Project has no description",
            "The project has no summary or description.",
        ),
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub's `security-severity`: a CVSS-like number it maps to critical/high/medium/low.
fn severity_number(severity: Severity) -> f64 {
    match severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 2.0,
    }
}

/// A SARIF `uri`: the path with forward slashes, relative where it was given relative (an
/// absolute one as a `file://` URI), and percent-encoded where a URI needs it (spaces, `#`, `%`,
/// non-ASCII).
fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A finding, its file and line, the package and version it is about, and its baseline state.
type Located<'a> = (
    &'a ScanFinding,
    String,
    usize,
    Option<(&'a str, Option<&'a str>)>,
    &'static str,
);

/// Against a baseline: the reason its ignores give, and its findings no longer present.
pub(crate) struct BaselineStates<'a> {
    /// `in the baseline FILE`: the findings ignored for it are `unchanged`.
    pub reason: String,
    /// The baseline's findings this scan does not have: `absent`.
    pub absent: Vec<&'a BaselineFinding>,
}

/// The SARIF 2.1.0 log: one run, a rule per finding id, a result per finding located at the
/// declaring file and line. Against a baseline each result has a `baselineState` (SARIF
/// 3.27.24): `new`, `unchanged` (the findings the baseline had, which the other formats list as
/// ignored), or `absent` (a baseline result this scan no longer finds, at its old place).
pub(crate) fn sarif(report: &ScanReport, baseline: Option<&BaselineStates<'_>>) -> Value {
    let in_baseline = |reason: &str| baseline.is_some_and(|b| b.reason == reason);
    let mut located: Vec<Located<'_>> = Vec::new();
    for file in &report.files {
        for f in &file.findings {
            located.push((f, file.path.clone(), file.line, None, "new"));
        }
        for i in file
            .ignored
            .iter()
            .filter(|i| in_baseline(&i.ignored.reason))
        {
            located.push((&i.finding, file.path.clone(), file.line, None, "unchanged"));
        }
    }
    for p in &report.packages {
        let line = if p.installed.is_some() {
            1
        } else {
            p.source.line
        };
        let package = Some((p.normalized.as_str(), p.version.as_deref()));
        for f in &p.findings {
            located.push((f, p.location(f), line, package, "new"));
        }
        for i in p.ignored.iter().filter(|i| in_baseline(&i.ignored.reason)) {
            located.push((
                &i.finding,
                p.location(&i.finding),
                line,
                package,
                "unchanged",
            ));
        }
    }
    // Rules in a stable order; each rule's security-severity is its worst result's.
    let mut rules: BTreeMap<&'static str, (FindingId, f64)> = BTreeMap::new();
    for (f, _, _, package, _) in &located {
        let mut number = severity_number(f.finding.severity);
        if let (Some(advisory), Some((name, _))) = (&f.advisory, package)
            && let Some(score) = report
                .packages
                .iter()
                .filter(|p| p.normalized == *name)
                .flat_map(|p| &p.vulnerabilities)
                .find(|v| &v.id == advisory)
                .and_then(|v| v.severity.as_ref())
                .and_then(|s| s.score)
        {
            number = score;
        }
        let entry = rules
            .entry(f.finding.id.as_str())
            .or_insert((f.finding.id, number));
        entry.1 = entry.1.max(number);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(id, (finding_id, number))| {
            let (short, full) = rule_text(*finding_id);
            // A readable name, distinct from the id (SARIF 3.49.7): the short text in PascalCase.
            let name: String = short
                .split(|c: char| !c.is_ascii_alphanumeric())
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            json!({
                "id": id,
                "name": name,
                "shortDescription": { "text": short },
                "fullDescription": { "text": full },
                "help": { "text": full },
                "properties": {
                    "tags": ["security", "supply-chain"],
                    "security-severity": format!("{number:.1}"),
                }
            })
        })
        .collect();
    let mut results: Vec<Value> = located
        .iter()
        .map(|(f, file, line, package, state)| {
            let mut fingerprint = format!("{}:{file}", f.finding.id.as_str());
            let mut properties = serde_json::Map::new();
            properties.insert("severity".into(), json!(f.finding.severity.as_str()));
            // The file a finding is about, as the JSON report names it (for a baseline).
            if let Some(path) = f.path.as_ref().or(package.is_none().then_some(file)) {
                properties.insert("path".into(), json!(path));
            }
            if let Some((name, version)) = package {
                fingerprint = format!("{fingerprint}:{name}:{}", version.unwrap_or(""));
                properties.insert("package".into(), json!(name));
                properties.insert("version".into(), json!(version));
            }
            if let Some(advisory) = &f.advisory {
                fingerprint = format!("{fingerprint}:{advisory}");
                properties.insert("advisory".into(), json!(advisory));
                // One result per vulnerability: its other ids, full text and fix go with it.
                let found = package.and_then(|(name, version)| {
                    report
                        .packages
                        .iter()
                        .filter(|p| p.normalized == name && p.version.as_deref() == version)
                        .find_map(|p| {
                            let v = p.vulnerabilities.iter().find(|v| &v.id == advisory)?;
                            Some((p, v))
                        })
                });
                if let Some((p, v)) = found {
                    properties.insert("aliases".into(), json!(v.aliases));
                    properties.insert("fixed".into(), json!(v.fixed));
                    properties.insert("details".into(), json!(v.details));
                    if let Some(to) = p.upgrade.as_ref().and_then(|u| u.to.as_ref()) {
                        properties.insert("upgradeTo".into(), json!(to));
                    }
                }
            }
            let mut result = json!({
                "ruleId": f.finding.id.as_str(),
                "ruleIndex": index[f.finding.id.as_str()],
                "level": level(f.finding.severity),
                "message": { "text": f.finding.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(file) },
                        "region": { "startLine": line.max(&1) }
                    }
                }],
                "partialFingerprints": { "picketFinding/v1": fingerprint },
                "properties": properties,
            });
            if baseline.is_some() {
                result["baselineState"] = json!(state);
            }
            result
        })
        .collect();
    for b in baseline.iter().flat_map(|b| &b.absent) {
        results.push(absent_result(b, &index));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "picket",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules_json,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// A baseline's result this scan no longer has, where the baseline had it.
fn absent_result(b: &BaselineFinding, index: &BTreeMap<&str, usize>) -> Value {
    let file = match &b.location {
        BaselineLocation::Path(path) => uri(path),
        BaselineLocation::Uri(uri) => uri.clone(),
    };
    let mut fingerprint = format!("{}:{file}", b.rule);
    let mut properties = serde_json::Map::new();
    if let Some(severity) = &b.severity {
        properties.insert("severity".into(), json!(severity));
    }
    if let Some(package) = &b.package {
        fingerprint = format!(
            "{fingerprint}:{package}:{}",
            b.version.as_deref().unwrap_or("")
        );
        properties.insert("package".into(), json!(package));
        properties.insert("version".into(), json!(b.version));
    }
    if let Some(advisory) = &b.advisory {
        fingerprint = format!("{fingerprint}:{advisory}");
        properties.insert("advisory".into(), json!(advisory));
    }
    let level = match b.severity.as_deref() {
        Some("critical" | "high") => "error",
        Some("low") => "note",
        _ => "warning",
    };
    let mut result = json!({
        "ruleId": b.rule,
        "level": level,
        "message": { "text": b.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": file },
                "region": { "startLine": b.line.max(1) }
            }
        }],
        "partialFingerprints": { "picketFinding/v1": fingerprint },
        "properties": properties,
        "baselineState": "absent",
    });
    // A rule this run has no result of is not in its rule list.
    if let Some(i) = index.get(b.rule.as_str()) {
        result["ruleIndex"] = json!(i);
    }
    result
}

/// The Line column: the declaring line, or an installed distribution's `.dist-info` folder.
fn line_cell(p: &ScanPackage) -> String {
    p.installed_name()
        .map_or_else(|| p.source.line.to_string(), cell)
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('\n', " ")
        .replace('<', "&lt;")
}

/// A Markdown report for a pull-request comment: a headline, then per file a table of the
/// dependencies with findings, worst first.
pub(crate) fn markdown(out: &mut dyn Write, report: &ScanReport) -> std::io::Result<()> {
    let count = |v: Verdict| report.packages.iter().filter(|p| p.verdict == v).count();
    let (block, warn) = (count(Verdict::Block), count(Verdict::Warn));
    let file_findings: usize = report.files.iter().map(|f| f.findings.len()).sum();
    let headline = if block + warn + file_findings == 0 {
        "no findings".to_owned()
    } else {
        format!("{block} to block, {warn} to look at")
    };
    writeln!(out, "## picket scan: {headline}\n")?;
    writeln!(
        out,
        "{} dependencies in {} files, checked against {} advisories ({}).\n",
        report.packages.len(),
        report.files.len(),
        report.advisories.records,
        report.mode
    )?;
    for file in &report.files {
        if let Some(e) = &file.error {
            writeln!(out, "- **error** `{}`: {}", cell(&file.path), cell(e))?;
        }
        for f in &file.findings {
            writeln!(
                out,
                "- **{}** `{}` line {}: {}",
                f.finding.id.as_str(),
                cell(&file.path),
                file.line,
                cell(&f.finding.message)
            )?;
        }
    }
    for (file, packages) in grouped(report) {
        let flagged: Vec<_> = packages
            .into_iter()
            .filter(|p| !p.findings.is_empty() || p.error.is_some())
            .collect();
        if flagged.is_empty() {
            continue;
        }
        writeln!(out, "\n### `{}`\n", cell(&file))?;
        writeln!(out, "| Verdict | Package | Line | Finding | Details |")?;
        writeln!(out, "| --- | --- | --- | --- | --- |")?;
        for &p in &flagged {
            let verdict = match (p.error.is_some(), p.verdict) {
                (true, _) => "**error**",
                (false, Verdict::Block) => "**block**",
                (false, Verdict::Warn) => "warn",
                (false, Verdict::Allow) => "allow",
            };
            if let Some(e) = &p.error {
                writeln!(
                    out,
                    "| {verdict} | `{}` | {} | error | {} |",
                    cell(&label(p)),
                    line_cell(p),
                    cell(e)
                )?;
            }
            let target = p
                .upgrade
                .as_ref()
                .and_then(|u| u.to.as_ref())
                .map(|to| format!(" → {}", cell(to)))
                .unwrap_or_default();
            for f in &p.findings {
                let vulnerability = f
                    .advisory
                    .as_ref()
                    .and_then(|a| p.vulnerabilities.iter().find(|v| &v.id == a));
                let details = match vulnerability {
                    Some(v) => {
                        let ids: Vec<&str> = std::iter::once(v.id.as_str())
                            .chain(v.aliases.iter().map(String::as_str))
                            .collect();
                        let fix = if v.malicious {
                            "remove it".to_owned()
                        } else {
                            v.fix_above(p.version.as_deref()).map_or_else(
                                || "no fix yet".to_owned(),
                                |f| format!("fixed in {f}"),
                            )
                        };
                        format!("{} ({}): {} — {fix}", ids.join(", "), v.rating(), v.summary)
                    }
                    None => f.finding.message.clone(),
                };
                writeln!(
                    out,
                    "| {verdict} | `{}`{target} | {} | {} ({}) | {} |",
                    cell(&label(p)),
                    line_cell(p),
                    f.finding.id.as_str(),
                    f.finding.severity.as_str(),
                    cell(&details)
                )?;
            }
        }
        advisory_texts(out, &flagged)?;
    }
    let ignored: Vec<_> = report
        .packages
        .iter()
        .flat_map(|p| p.ignored.iter().map(move |i| (p, i)))
        .collect();
    if !ignored.is_empty() {
        writeln!(
            out,
            "\n<details><summary>{} ignored by policy</summary>\n",
            ignored.len()
        )?;
        for (p, i) in ignored {
            writeln!(
                out,
                "- `{}` {} until {}: {}",
                cell(&label(p)),
                i.what(),
                i.ignored.until,
                cell(&i.ignored.reason)
            )?;
        }
        writeln!(out, "\n</details>")?;
    }
    Ok(())
}

/// The advisories' full texts under a file's table, collapsed: one `<details>` for the file, a
/// quoted section per vulnerability. The texts come from advisory databases, so HTML is escaped
/// and every line is quoted; nothing in them can close the section or start a table row.
fn advisory_texts(out: &mut dyn Write, flagged: &[&ScanPackage]) -> std::io::Result<()> {
    let texts: Vec<(&ScanPackage, &VulnerabilityReport)> = flagged
        .iter()
        .flat_map(|p| {
            p.vulnerabilities
                .iter()
                .filter(|v| v.ignored.is_none() && !v.details.is_empty())
                .map(move |v| (*p, v))
        })
        .collect();
    if texts.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n<details><summary>Advisory texts ({})</summary>\n",
        texts.len()
    )?;
    for (p, v) in texts {
        let ids: Vec<&str> = std::iter::once(v.id.as_str())
            .chain(v.aliases.iter().map(String::as_str))
            .collect();
        writeln!(
            out,
            "**{}** `{}`: {}\n",
            ids.join(", "),
            cell(&label(p)),
            cell(&v.summary)
        )?;
        for line in v.details.lines() {
            writeln!(out, "> {}", line.replace('<', "&lt;"))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "</details>")
}

#[cfg(test)]
mod tests {
    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(super::uri("requirements.txt"), "requirements.txt");
        assert_eq!(
            super::uri("my project/req#1.txt"),
            "my%20project/req%231.txt"
        );
        assert_eq!(super::uri("dir\\ü.txt"), "dir/%C3%BC.txt");
    }
}
