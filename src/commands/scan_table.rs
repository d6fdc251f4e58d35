//! `picket scan`'s table for people, drawn from [`ScanReport`]: per file, each dependency with
//! findings on one line (for a vulnerable one, the release to upgrade to and how many
//! vulnerabilities it clears), then one line per vulnerability — severity, ids, its fix and its
//! title cut to the terminal's width — and one per other finding. `--verbose` adds every id,
//! every fixed version and the advisory's text under each vulnerability.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use picket_names::Severity;

use crate::output::{BAD, BOLD, DIM, GOOD};
use picket_check::Verdict;
use picket_check::scan::{
    ScanPackage, ScanReport, VulnerabilityReport, grouped, label, rating_severity,
};

/// The narrowest width laid out for.
const MIN_WIDTH: usize = 60;
/// The width used when there is no terminal (a pipe, `-o FILE`) and `COLUMNS` is not set.
pub(crate) const DEFAULT_WIDTH: usize = 100;
/// Where the lines under a dependency start.
const INDENT: &str = "    ";
/// The shortest title worth printing; below it the title is left to `--verbose` and JSON.
const MIN_TITLE: usize = 12;

/// How the table is laid out.
pub(crate) struct Layout {
    /// Characters per line.
    pub(crate) width: usize,
    /// Every id, fixed version and text under each vulnerability.
    pub(crate) verbose: bool,
}

/// The width to lay out for: `COLUMNS` when set, else the terminal's when the table goes to stdout
/// and stdout is one, else [`DEFAULT_WIDTH`].
pub(crate) fn width(to_stdout: bool) -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let terminal = || {
        let stdout = std::io::stdout();
        if !to_stdout || !stdout.is_terminal() {
            return None;
        }
        terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0))
    };
    columns
        .or_else(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

fn verdict_word(v: Verdict, error: bool) -> (anstyle::Style, &'static str) {
    match (error, v) {
        (true, _) => (BAD, "ERROR"),
        (false, Verdict::Block) => (BAD, "BLOCK"),
        (false, Verdict::Warn) => (BOLD, "WARN "),
        (false, Verdict::Allow) => (GOOD, "ALLOW"),
    }
}

/// `text` cut to `max` characters, ending in `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word stands alone);
/// control characters other than whitespace become `�`, so advisory text can't drive a terminal.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let text = picket_osv::printable(text);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() || lines.last().is_some_and(|l: &String| !l.is_empty()) {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// The vulnerabilities a package still counts (not ignored).
fn live(p: &ScanPackage) -> impl Iterator<Item = &VulnerabilityReport> {
    p.vulnerabilities.iter().filter(|v| v.ignored.is_none())
}

/// `aiohttp 3.6.2 → 3.9.2: 8 vulnerabilities, 2 high`, or `flask` for a dependency whose
/// findings are not advisories.
fn headline(p: &ScanPackage) -> String {
    let mut head = match &p.version {
        Some(v) => format!("{} {v}", p.name),
        None => p.name.clone(),
    };
    let live: Vec<&VulnerabilityReport> = live(p).collect();
    if live.is_empty() {
        return head;
    }
    if live.iter().any(|v| v.malicious) {
        head.push_str(": malicious; remove it");
        return head;
    }
    if let Some(to) = p.upgrade.as_ref().and_then(|u| u.to.as_ref()) {
        let _ = write!(head, " → {to}");
    }
    let n = live.len();
    let _ = write!(
        head,
        ": {n} {}",
        if n == 1 {
            "vulnerability"
        } else {
            "vulnerabilities"
        }
    );
    for (rating, word) in [("critical", "critical"), ("high", "high")] {
        let k = live
            .iter()
            .filter(|v| v.severity.as_ref().is_some_and(|s| s.rating == rating))
            .count();
        if k > 0 {
            let _ = write!(head, ", {k} {word}");
        }
    }
    let unfixed = live
        .iter()
        .filter(|v| {
            p.upgrade
                .as_ref()
                .is_some_and(|u| u.unfixed.contains(&v.id))
        })
        .count();
    if unfixed > 0 {
        let _ = write!(head, ", {unfixed} without a fix");
    }
    head
}

/// Column widths of the vulnerability lines of one file.
struct Columns {
    severity: usize,
    id: usize,
    cve: usize,
    fix: usize,
}

/// `high 7.5`, `medium` or `unknown`.
fn severity_cell(v: &VulnerabilityReport) -> String {
    if v.malicious {
        return Severity::Critical.as_str().to_owned();
    }
    match &v.severity {
        Some(s) => match s.score {
            Some(n) => format!("{} {n:.1}", s.rating),
            None => s.rating.to_owned(),
        },
        None => "unknown".to_owned(),
    }
}

/// The version that fixes one vulnerability, `no fix`, or `remove` for malware.
fn fix_cell(v: &VulnerabilityReport, p: &ScanPackage) -> String {
    if v.malicious {
        return "remove".to_owned();
    }
    v.fix_above(p.version.as_deref())
        .unwrap_or("no fix")
        .to_owned()
}

/// One line per vulnerability: `high     7.5  PYSEC-2024-24  CVE-2024-23334  fix 3.9.2  title`;
/// with `--verbose`, its ids, fixed versions and text under it.
fn vulnerability_lines(
    out: &mut dyn Write,
    p: &ScanPackage,
    v: &VulnerabilityReport,
    columns: &Columns,
    layout: &Layout,
) -> std::io::Result<()> {
    let style = match rating_severity(v.severity.as_ref().map(|s| s.rating)) {
        _ if v.malicious => BAD,
        Severity::Critical | Severity::High => BAD,
        _ => anstyle::Style::new(),
    };
    let severity = format!("{:<w$}", severity_cell(v), w = columns.severity);
    let mut cells = format!("  {:<id$}  ", v.id, id = columns.id);
    if columns.cve > 0 {
        let _ = write!(
            cells,
            "{:<cve$}  ",
            v.cve().unwrap_or(""),
            cve = columns.cve
        );
    }
    let _ = write!(cells, "{:<fix$}  ", fix_cell(v, p), fix = columns.fix);
    let used = INDENT.len() + columns.severity + cells.chars().count();
    let room = layout.width.saturating_sub(used);
    let title = if room >= MIN_TITLE {
        cut(&v.summary, room)
    } else {
        String::new()
    };
    writeln!(out, "{INDENT}{style}{severity}{style:#}{cells}{title}")?;
    if layout.verbose {
        let pad = " ".repeat(INDENT.len() + columns.severity + 2);
        let text_width = layout.width.saturating_sub(pad.len()).max(20);
        let ids: Vec<&str> = std::iter::once(v.id.as_str())
            .chain(v.aliases.iter().map(String::as_str))
            .collect();
        for line in wrap(&format!("ids: {}", ids.join(", ")), text_width) {
            writeln!(out, "{pad}{DIM}{line}{DIM:#}")?;
        }
        let fixed = if v.fixed.is_empty() {
            "no fixed release".to_owned()
        } else {
            format!("fixed in {}", v.fixed.join(", "))
        };
        writeln!(out, "{pad}{DIM}{fixed}{DIM:#}")?;
        for line in wrap(&v.details, text_width) {
            writeln!(out, "{pad}{line}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Prints the table.
pub(crate) fn print_table(
    out: &mut dyn Write,
    report: &ScanReport,
    layout: &Layout,
) -> std::io::Result<()> {
    for file in &report.files {
        if let Some(e) = &file.error {
            writeln!(out, "{BAD}ERROR{BAD:#}  {e}")?;
        }
        for f in &file.findings {
            writeln!(
                out,
                "{BOLD}WARN {BOLD:#}  {}:{}  {}: {}",
                file.path,
                file.line,
                f.finding.id.as_str(),
                f.finding.message
            )?;
        }
    }
    for (file, packages) in &grouped(report) {
        let flagged: Vec<&&ScanPackage> = packages
            .iter()
            .filter(|p| !p.findings.is_empty() || p.error.is_some() || !p.ignored.is_empty())
            .collect();
        writeln!(
            out,
            "{BOLD}{file}{BOLD:#} {DIM}({} dependencies, {} with findings){DIM:#}",
            packages.len(),
            flagged
                .iter()
                .filter(|p| !p.findings.is_empty() || p.error.is_some())
                .count()
        )?;
        for p in flagged {
            let (style, word) = verdict_word(p.verdict, p.error.is_some());
            let head = match &p.error {
                Some(e) => format!("{}: {e}", label(p)),
                None => headline(p),
            };
            writeln!(
                out,
                "  {style}{word}{style:#}  {head}  {DIM}{}{DIM:#}",
                p.place()
            )?;
            // Columns line up within a dependency, so one long id does not narrow every title.
            let rows = || live(p);
            let others = || p.findings.iter().filter(|f| f.advisory.is_none());
            let columns = Columns {
                severity: rows()
                    .map(|v| severity_cell(v).len())
                    .chain(others().map(|f| f.finding.severity.as_str().len()))
                    .max()
                    .unwrap_or(0),
                id: rows().map(|v| v.id.len()).max().unwrap_or(0),
                cve: rows()
                    .map(|v| v.cve().map_or(0, str::len))
                    .max()
                    .unwrap_or(0),
                fix: rows()
                    .map(|v| fix_cell(v, p).chars().count())
                    .max()
                    .unwrap_or(0),
            };
            // Vulnerabilities first (worst first), then the other findings, worst first.
            for v in live(p) {
                vulnerability_lines(out, p, v, &columns, layout)?;
            }
            // Other findings whole (they say what to do), wrapped under their text.
            let pad = " ".repeat(INDENT.len() + columns.severity + 2);
            for f in others() {
                let text = format!("{}: {}", f.finding.id.as_str(), f.finding.message);
                for (k, line) in wrap(&text, layout.width.saturating_sub(pad.len()).max(20))
                    .iter()
                    .enumerate()
                {
                    if k == 0 {
                        writeln!(
                            out,
                            "{INDENT}{DIM}{:<w$}{DIM:#}  {line}",
                            f.finding.severity.as_str(),
                            w = columns.severity
                        )?;
                    } else {
                        writeln!(out, "{pad}{line}")?;
                    }
                }
            }
            for i in &p.ignored {
                let line = format!(
                    "ignored  {} until {}: {}",
                    i.what(),
                    i.ignored.until,
                    i.ignored.reason
                );
                let line = if layout.verbose {
                    line
                } else {
                    cut(&line, layout.width.saturating_sub(INDENT.len()))
                };
                writeln!(out, "{INDENT}{DIM}{line}{DIM:#}")?;
            }
        }
    }
    let count = |v: Verdict| report.packages.iter().filter(|p| p.verdict == v).count();
    writeln!(
        out,
        "{} dependencies in {} files: {} block, {} warn, {} allow; {} advisories checked{}",
        report.packages.len(),
        report.files.len(),
        count(Verdict::Block),
        count(Verdict::Warn),
        count(Verdict::Allow),
        report.advisories.records,
        if report.mode == "offline" {
            " (offline)"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::{cut, headline, wrap};
    use picket_check::Verdict;
    use picket_check::scan::{ScanPackage, Source, UpgradeReport, VulnerabilityReport};

    fn vulnerability(
        id: &str,
        rating: Option<&'static str>,
        malicious: bool,
    ) -> VulnerabilityReport {
        VulnerabilityReport {
            id: id.to_owned(),
            aliases: Vec::new(),
            summary: String::new(),
            details: String::new(),
            malicious,
            severity: rating.map(|rating| picket_osv::Score {
                kind: "database".to_owned(),
                vector: None,
                score: None,
                rating,
            }),
            fixed: Vec::new(),
            ignored: None,
        }
    }

    fn package(
        vulnerabilities: Vec<VulnerabilityReport>,
        upgrade: Option<(&str, &[&str])>,
    ) -> ScanPackage {
        ScanPackage {
            name: "Pkg".to_owned(),
            normalized: "pkg".to_owned(),
            version: Some("1.0".to_owned()),
            exists: None,
            verdict: Verdict::Warn,
            findings: Vec::new(),
            source: Source {
                file: "requirements.txt".to_owned(),
                line: 1,
            },
            installed: None,
            vulnerabilities,
            upgrade: upgrade.map(|(to, unfixed)| UpgradeReport {
                to: (!to.is_empty()).then(|| to.to_owned()),
                unfixed: unfixed.iter().map(|s| (*s).to_owned()).collect(),
            }),
            ignored: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn headlines_count_what_is_left_to_fix() {
        let check = |p: ScanPackage, expected: &str| assert_eq!(headline(&p), expected);
        check(package(vec![], None), "Pkg 1.0");
        check(
            package(
                vec![
                    vulnerability("A", Some("critical"), false),
                    vulnerability("B", Some("high"), false),
                    vulnerability("C", Some("high"), false),
                    vulnerability("D", None, false),
                ],
                Some(("2.0", &["D"])),
            ),
            "Pkg 1.0 → 2.0: 4 vulnerabilities, 1 critical, 2 high, 1 without a fix",
        );
        check(
            package(
                vec![vulnerability("A", Some("low"), false)],
                Some(("", &["A"])),
            ),
            "Pkg 1.0: 1 vulnerability, 1 without a fix",
        );
        let mut ignored = vulnerability("B", Some("high"), false);
        ignored.ignored = Some(picket_check::scan::Ignored {
            until: "2999-01-01".to_owned(),
            reason: "r".to_owned(),
        });
        check(
            package(
                vec![vulnerability("A", Some("medium"), false), ignored],
                Some(("1.1", &[])),
            ),
            "Pkg 1.0 → 1.1: 1 vulnerability",
        );
        check(
            package(
                vec![vulnerability("MAL-1", None, true)],
                Some(("", &["MAL-1"])),
            ),
            "Pkg 1.0: malicious; remove it",
        );
    }

    #[test]
    fn cuts_and_wraps_by_characters() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("aiohttp is vulnerable", 12), "aiohttp is…");
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(
            wrap("one two three\n\nfour", 7),
            ["one two", "three", "", "four"]
        );
        assert_eq!(wrap("a verylongword b", 4), ["a", "verylongword", "b"]);
        assert!(wrap("\n\n", 10).is_empty());
        assert_eq!(wrap("a\u{1b}[31mred", 20), ["a\u{fffd}[31mred"]);
    }
}
