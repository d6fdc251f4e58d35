//! `picket replay` (campaign detection over an event log) and `picket simulate` (event logs for
//! drills and benchmarks).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use picket_campaigns::simulate::{Options, SCENARIOS, simulate};
use picket_campaigns::{Campaign, Config as DetectorConfig, Detector, NameJudge, parse_line};
use serde_json::json;

use crate::cli::{Format, ReplayArgs, SimulateArgs};
use crate::output::{self, Exit, error, hint};

/// Longest line read whole; longer lines are skipped (counted, with their number).
const MAX_LINE: usize = 1 << 20;

pub fn replay(args: &ReplayArgs, format: Format) -> Exit {
    match replay_checked(args, format) {
        Ok(exit) => exit,
        Err(e) => {
            error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn detector_config(path: Option<&Path>) -> anyhow::Result<DetectorConfig> {
    let Some(path) = path else {
        return Ok(DetectorConfig::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}", path.display()))
}

struct Run {
    events: u64,
    skipped: u64,
    campaigns: Vec<Campaign>,
    watch: Vec<Campaign>,
    elapsed_ms: u128,
    peak_state: picket_campaigns::Stats,
}

fn run_detector(file: &Path, config: DetectorConfig, quiet: bool) -> anyhow::Result<Run> {
    let popular = picket_names::NameIndex::embedded().ranked();
    let judge = NameJudge::new(&popular, config.bait_min_confidence);
    let mut detector = Detector::new(config, judge);
    let handle =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let size = handle.metadata().map_or(0, |m| m.len());
    let started = std::time::Instant::now();
    let bar = (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    // Two cores: one thread reads and parses, this one detects.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(16);
    let display = file.display().to_string();
    let reader = std::thread::spawn(move || parse_batches(handle, &tx));
    let (mut events, mut skipped) = (0u64, 0u64);
    let mut peak = picket_campaigns::Stats::default();
    for batch in rx {
        for (time, event) in batch.events.iter() {
            events += 1;
            detector.observe(time, &event);
        }
        for (line_no, message) in &batch.errors {
            skipped += 1;
            if skipped <= 10 {
                eprintln!("{display}:{line_no}: skipped: {message}");
            }
        }
        if let Some(bar) = &bar {
            bar.set_position(batch.read);
        }
        if (batch.first_line / BATCH as u64).is_multiple_of(64) {
            let s = detector.stats();
            if s.young_accounts + s.domains + s.clusters
                > peak.young_accounts + peak.domains + peak.clusters
            {
                peak = s;
            }
        }
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread failed"))?
        .with_context(|| format!("reading {}", file.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if skipped > 10 {
        eprintln!(
            "{}: {skipped} lines skipped in all (first 10 shown)",
            file.display()
        );
    }
    let s = detector.stats();
    if s.young_accounts + s.domains + s.clusters
        > peak.young_accounts + peak.domains + peak.clusters
    {
        peak = s;
    }
    peak.events = events;
    Ok(Run {
        events,
        skipped,
        campaigns: detector.campaigns(),
        watch: detector.watch(),
        elapsed_ms: started.elapsed().as_millis(),
        peak_state: peak,
    })
}

/// Lines parsed per batch handed to the detector.
const BATCH: usize = 4096;

/// A batch's text is sent on before it reaches this many bytes.
const BATCH_TEXT: usize = 64 << 20;

struct Batch {
    first_line: u64,
    read: u64,
    events: picket_campaigns::EventBatch,
    /// Lines skipped, with their numbers and why.
    errors: Vec<(u64, String)>,
}

impl Batch {
    fn new(first_line: u64) -> Self {
        Self {
            first_line,
            read: 0,
            events: picket_campaigns::EventBatch::with_capacity(BATCH),
            errors: Vec::new(),
        }
    }
}

/// Reads and parses the log, sending batches in order; stops when the receiver is gone.
fn parse_batches(
    handle: std::fs::File,
    tx: &std::sync::mpsc::SyncSender<Batch>,
) -> std::io::Result<()> {
    let mut batch = Batch::new(1);
    for_each_line(handle, |line_no, line, read| {
        batch.read = read;
        match line {
            None => batch
                .errors
                .push((line_no, format!("a line of more than {MAX_LINE} bytes"))),
            Some(line) => match parse_line(line) {
                Ok(Some((time, event))) => batch.events.push(time, &event),
                Ok(None) => {}
                Err(e) => batch.errors.push((line_no, e.message)),
            },
        }
        if batch.events.len() + batch.errors.len() >= BATCH || batch.events.text_len() >= BATCH_TEXT
        {
            let next = Batch::new(line_no + 1);
            return tx.send(std::mem::replace(&mut batch, next)).is_ok();
        }
        true
    })?;
    let _ = tx.send(batch);
    Ok(())
}

/// Calls `f` with each line's number, the line without its newline (`None` for a line of more
/// than `MAX_LINE` bytes, which is skipped unread) and the bytes read so far, until `f` says
/// stop (false). Lines are found in a large buffer, not copied out one by one.
fn for_each_line(
    mut source: impl std::io::Read,
    mut f: impl FnMut(u64, Option<&[u8]>, u64) -> bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 2 * MAX_LINE + 2];
    let (mut filled, mut line_no, mut read) = (0usize, 0u64, 0u64);
    // Inside a line too long to keep: its bytes are dropped until its newline.
    let mut too_long = false;
    loop {
        let n = match source.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let end = filled + n;
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[start..end]) {
            line_no += 1;
            read += (i + 1) as u64;
            let line = &buf[start..start + i];
            let keep = !too_long && line.len() <= MAX_LINE;
            too_long = false;
            if !f(line_no, keep.then_some(line), read) {
                return Ok(());
            }
            start += i + 1;
        }
        if n == 0 {
            // The end: a last line without a newline.
            if end > start || too_long {
                line_no += 1;
                read += (end - start) as u64;
                let line = &buf[start..end];
                let keep = !too_long && line.len() <= MAX_LINE;
                f(line_no, keep.then_some(line), read);
            }
            return Ok(());
        }
        if end - start > MAX_LINE {
            // Too long already: drop what there is of it and go on to its newline.
            too_long = true;
            read += (end - start) as u64;
            filled = 0;
        } else {
            buf.copy_within(start..end, 0);
            filled = end - start;
        }
    }
}

fn replay_checked(args: &ReplayArgs, format: Format) -> anyhow::Result<Exit> {
    let config = detector_config(args.config.as_deref())?;
    let run = run_detector(&args.events, config, args.quiet)?;
    let report = json!({
        "events": run.events,
        "skipped_lines": run.skipped,
        "campaigns": run.campaigns,
        "watch": run.watch,
        "elapsed_ms": run.elapsed_ms,
        "state": run.peak_state,
    });
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => table(&run),
        Format::Html => html(&args.events, &run)?,
        other => anyhow::bail!("`picket replay` does not write --format {}", other.name()),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let mut out = output::stdout();
            let _ = out.write_all(text.as_bytes());
        }
    }
    if run.skipped > 0 {
        hint(&format!(
            "{} lines were skipped; the figures cover the rest",
            run.skipped
        ));
    }
    Ok(Exit::Ok)
}

fn table(run: &Run) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} events, {} campaigns, {} cohorts on watch ({} ms{})",
        run.events,
        run.campaigns.len(),
        run.watch.len(),
        run.elapsed_ms,
        if run.skipped > 0 {
            format!(", {} lines skipped", run.skipped)
        } else {
            String::new()
        }
    );
    for c in &run.campaigns {
        let _ = writeln!(
            s,
            "\n{}  confidence {:.2}  first seen {}  detected {}\n  {} accounts, {} projects; domains: {}",
            c.id,
            c.confidence,
            c.first_seen,
            c.detected_at,
            c.accounts.len(),
            c.projects.len(),
            c.domain_list(5)
        );
        for reason in &c.reasons {
            let _ = writeln!(s, "  why: {reason}");
        }
        for sig in &c.signals {
            let _ = writeln!(
                s,
                "  {:<20} {:.2}  {}",
                sig.name, sig.strength, sig.evidence
            );
        }
        let _ = writeln!(
            s,
            "  actions: {}",
            c.actions
                .iter()
                .filter(|a| a.action == "prohibit-domain")
                .map(|a| format!(
                    "prohibit-domain {} --expires {}",
                    a.subject,
                    a.expires.as_deref().unwrap_or("")
                ))
                .chain(std::iter::once(format!(
                    "{} accounts to restrict, {} projects to quarantine",
                    c.accounts.len(),
                    c.projects.len()
                )))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !run.watch.is_empty() {
        let _ = writeln!(
            s,
            "\nOn watch (worth a look; nothing is done to their members):"
        );
    }
    for c in &run.watch {
        let _ = writeln!(
            s,
            "  {}  confidence {:.2}  since {}  {} accounts, {} projects; domains: {}",
            c.id,
            c.confidence,
            c.detected_at,
            c.accounts.len(),
            c.projects.len(),
            c.domain_list(3)
        );
        for reason in &c.reasons {
            let _ = writeln!(s, "    why: {reason}");
        }
    }
    s
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained page: per campaign, registrations and uploads per hour (all vs members) as SVG.
fn html(file: &Path, run: &Run) -> anyhow::Result<String> {
    // Second pass: hourly counts, members highlighted.
    let members: std::collections::HashSet<&str> = run
        .campaigns
        .iter()
        .flat_map(|c| c.accounts.iter().map(String::as_str))
        .collect();
    let mut hours: BTreeMap<i64, [u64; 4]> = BTreeMap::new();
    for_each_line(std::fs::File::open(file)?, |_, line, _| {
        let Some(Ok(Some((time, e)))) = line.map(parse_line) else {
            return true;
        };
        let slot = match &*e.kind {
            "account.create" => 0,
            "file.upload" => 2,
            _ => return true,
        };
        let member = e.user.as_deref().is_some_and(|u| members.contains(u));
        let h = hours.entry(time.div_euclid(3_600_000)).or_default();
        h[slot] += 1;
        if member {
            h[slot + 1] += 1;
        }
        true
    })?;
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>picket replay</title>\n<style>\nbody{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:2em}\n.c{border:1px solid #ccc;border-radius:6px;padding:1em;margin:1em 0}.k{color:#666}\nsvg{background:#fafafa;border:1px solid #eee}table{border-collapse:collapse}td{padding:2px 8px}\n</style></head><body>\n",
    );
    let _ = writeln!(
        page,
        "<h1>picket replay: {} campaign{} in {} events</h1>",
        run.campaigns.len(),
        if run.campaigns.len() == 1 { "" } else { "s" },
        run.events
    );
    page.push_str(&timeline_svg(&hours, "Whole log", None));
    for c in &run.campaigns {
        let from = c.first_seen_ms().div_euclid(3_600_000) - 24;
        // Up to a day after the members' last activity.
        let last_day = c
            .timeline
            .last()
            .and_then(|d| picket_campaigns::parse_rfc3339(&format!("{}T00:00:00Z", d.day)))
            .map_or(from + 48, |ms| ms.div_euclid(3_600_000) + 48);
        let to = last_day.min(hours.keys().next_back().copied().unwrap_or(last_day));
        let window: BTreeMap<i64, [u64; 4]> =
            hours.range(from..=to).map(|(k, v)| (*k, *v)).collect();
        let _ = writeln!(
            page,
            "<div class=\"c\"><h2>{} &mdash; confidence {:.2}</h2><p><span class=\"k\">first seen</span> {} &nbsp; <span class=\"k\">detected</span> {} &nbsp; <b>{}</b> accounts, <b>{}</b> projects</p>",
            escape(&c.id),
            c.confidence,
            escape(&c.first_seen),
            escape(&c.detected_at),
            c.accounts.len(),
            c.projects.len()
        );
        page.push_str(&timeline_svg(
            &window,
            &format!("{} from a day before its first member", c.id),
            Some(c.detected_ms().div_euclid(3_600_000)),
        ));
        for reason in &c.reasons {
            let _ = writeln!(
                page,
                "<p><span class=\"k\">why</span> {}</p>",
                escape(reason)
            );
        }
        page.push_str("<table><tr><th>signal</th><th>strength</th><th>evidence</th></tr>");
        for s in &c.signals {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{:.2}</td><td><code>{}</code></td></tr>",
                s.name,
                s.strength,
                escape(&s.evidence.to_string())
            );
        }
        page.push_str("</table><p><span class=\"k\">domains</span> ");
        page.push_str(&escape(&c.domain_list(8)));
        page.push_str("</p></div>\n");
    }
    if !run.watch.is_empty() {
        let _ = writeln!(
            page,
            "<h2>On watch: {} cohort{} (no action)</h2><table><tr><th>id</th><th>since</th><th>accounts</th><th>why</th></tr>",
            run.watch.len(),
            if run.watch.len() == 1 { "" } else { "s" }
        );
        for c in &run.watch {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.id),
                escape(&c.detected_at),
                c.accounts.len(),
                escape(&c.reasons.join("; "))
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body></html>\n");
    Ok(page)
}

fn timeline_svg(hours: &BTreeMap<i64, [u64; 4]>, title: &str, detected: Option<i64>) -> String {
    let (Some(first), Some(last)) = (hours.keys().next(), hours.keys().next_back()) else {
        return String::new();
    };
    let span = (last - first + 1).max(1);
    let (w, h) = (1000.0, 220.0);
    let max = hours
        .values()
        .map(|v| v[0].max(v[2]))
        .max()
        .unwrap_or(1)
        .max(1);
    #[allow(clippy::cast_precision_loss)]
    let x = |hour: i64| (hour - first) as f64 / span as f64 * w;
    #[allow(clippy::cast_precision_loss)]
    let y = |n: u64| h - (n as f64 / max as f64) * (h - 20.0);
    #[allow(clippy::cast_precision_loss)]
    let bw = (w / span as f64).max(1.0);
    let mut svg = format!(
        "<h2>{}</h2><svg width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n",
        escape(title),
        h + 30.0,
        h + 30.0
    );
    for (hour, v) in hours {
        let_bar(
            &mut svg,
            x(*hour),
            y(v[0]),
            bw / 2.0,
            h - y(v[0]),
            "#9ecae1",
        );
        let_bar(
            &mut svg,
            x(*hour),
            y(v[1]),
            bw / 2.0,
            h - y(v[1]),
            "#d62728",
        );
        let_bar(
            &mut svg,
            x(*hour) + bw / 2.0,
            y(v[2]),
            bw / 2.0,
            h - y(v[2]),
            "#c7e9c0",
        );
        let_bar(
            &mut svg,
            x(*hour) + bw / 2.0,
            y(v[3]),
            bw / 2.0,
            h - y(v[3]),
            "#ff7f0e",
        );
    }
    if let Some(hour) = detected.filter(|h| (first..=last).contains(&h)) {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"18\" y2=\"{h}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/><text x=\"{1:.1}\" y=\"30\" font-size=\"12\">detected</text>",
            x(hour),
            x(hour) + 4.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"14\" font-size=\"12\">max {max}/hour &#8212; <tspan fill=\"#3182bd\">registrations</tspan>, <tspan fill=\"#d62728\">campaign registrations</tspan>, <tspan fill=\"#31a354\">uploads</tspan>, <tspan fill=\"#ff7f0e\">campaign uploads</tspan></text>\n<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text></svg>\n",
        h + 22.0,
        picket_campaigns::format_rfc3339(first * 3_600_000),
        w - 4.0,
        h + 22.0,
        picket_campaigns::format_rfc3339(last * 3_600_000)
    );
    svg
}

fn let_bar(svg: &mut String, x: f64, y: f64, w: f64, h: f64, color: &str) {
    if h > 0.0 {
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{h:.1}\" fill=\"{color}\"/>"
        );
    }
}

pub fn simulate_command(args: &SimulateArgs) -> Exit {
    match simulate_checked(args) {
        Ok(exit) => exit,
        Err(e) => {
            error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn simulate_checked(args: &SimulateArgs) -> anyhow::Result<Exit> {
    for s in &args.scenarios {
        if !SCENARIOS.contains(&s.as_str()) {
            anyhow::bail!("unknown scenario `{s}`; one of {}", SCENARIOS.join(", "));
        }
    }
    let mut options = Options::new(args.seed);
    options.days = args.days;
    options.accounts = args.accounts;
    options.scenarios.clone_from(&args.scenarios);
    options.popular = picket_names::NameIndex::embedded()
        .ranked()
        .into_iter()
        .filter(|(_, r)| *r <= 2000)
        .map(|(n, _)| n)
        .collect();
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut failed = None;
    let truth = simulate(&options, &mut |line| {
        if failed.is_none()
            && let Err(e) = writer
                .write_all(line.as_bytes())
                .and_then(|()| writer.write_all(b"\n"))
        {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e).with_context(|| format!("writing {}", args.out.display()));
    }
    writer
        .flush()
        .with_context(|| format!("writing {}", args.out.display()))?;
    let truth_path = args.truth.clone().unwrap_or_else(|| {
        let mut p = args.out.clone().into_os_string();
        p.push(".truth.json");
        p.into()
    });
    std::fs::write(&truth_path, serde_json::to_string_pretty(&truth)? + "\n")
        .with_context(|| format!("writing {}", truth_path.display()))?;
    eprintln!(
        "wrote {} events to {} ({} malicious accounts, {} malicious projects; truth in {})",
        truth.events,
        args.out.display(),
        truth.accounts.len(),
        truth.projects.len(),
        truth_path.display()
    );
    Ok(Exit::Ok)
}
