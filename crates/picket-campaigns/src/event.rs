//! The event stream's contract: one JSON object a line (see the campaign-detection issue). Unknown
//! kinds and fields are ignored; a line that is not an object with a valid `time` and `kind` is an
//! error the caller counts and reports with its line number.

use serde::Deserialize;
use std::borrow::Cow;

/// What the inspector said about an uploaded file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Artifact<'a> {
    /// Entries in the archive.
    pub files: u64,
    /// Python files among them.
    pub python_files: u64,
    /// Python lines that do something.
    pub code_lines: u64,
    /// No code at all.
    pub empty: bool,
    /// Console/GUI scripts.
    #[serde(borrow)]
    pub console_scripts: Vec<Cow<'a, str>>,
    /// A digest of the artifact's code (its Python sources, names aside), when the log has one:
    /// identical code under different names shows as the same digest.
    #[serde(borrow)]
    pub code_digest: Option<Cow<'a, str>>,
}

/// One event, borrowing from its line where it can.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Event<'a> {
    /// RFC 3339.
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    /// `account.create`, `file.upload`, …
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    /// The account concerned.
    #[serde(default, borrow)]
    pub user: Option<Cow<'a, str>>,
    /// The client's IP address.
    #[serde(default, borrow)]
    pub ip: Option<Cow<'a, str>>,
    /// The address (`account.create`, `account.email.*`).
    #[serde(default, borrow)]
    pub email: Option<Cow<'a, str>>,
    /// The project (`project.create`, `file.upload`, admin kinds).
    #[serde(default, borrow)]
    pub project: Option<Cow<'a, str>>,
    /// The release summary (`file.upload`).
    #[serde(default, borrow)]
    pub summary: Option<Cow<'a, str>>,
    /// File size (`file.upload`).
    #[serde(default)]
    pub size: Option<u64>,
    /// The inspector's summary (`file.upload`).
    #[serde(default, borrow)]
    pub artifact: Option<Artifact<'a>>,
    /// What a report says the project is (`report.create`: `malware`, `typosquat`, …).
    #[serde(default, borrow)]
    pub report_kind: Option<Cow<'a, str>>,
    /// The reporter's trust level as the registry's admins set it (`report.create`: `trusted`,
    /// `normal`).
    #[serde(default, borrow)]
    pub reporter_trust: Option<Cow<'a, str>>,
    /// The registrable domain of the reporter's address (`report.create`): two accounts of one
    /// domain are not independent reporters.
    #[serde(default, borrow)]
    pub reporter_domain: Option<Cow<'a, str>>,
}

/// Why a line was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// What was wrong.
    pub message: String,
}

/// Parses one line; `Ok(None)` for a blank line.
pub fn parse_line(line: &[u8]) -> Result<Option<(i64, Event<'_>)>, LineError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let event: Event<'_> = serde_json::from_slice(line).map_err(|e| LineError {
        message: e.to_string(),
    })?;
    let time = parse_rfc3339(&event.time).ok_or_else(|| LineError {
        message: format!("`time` is not an RFC 3339 time: `{}`", shorten(&event.time)),
    })?;
    Ok(Some((time, event)))
}

fn shorten(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut n = 0i64;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(c - b'0');
        }
        Some(n)
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let m = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if *sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    let days = picket_formats::time::days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1000 + millis)
}

/// Milliseconds since the epoch as RFC 3339 UTC, seconds precision.
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil(days: i64) -> (i64, i64, i64) {
    picket_formats::time::civil_from_days(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_offsets_apply() {
        let t = parse_rfc3339("2025-06-11T09:30:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2025-06-11T09:30:00Z");
        assert_eq!(parse_rfc3339("2025-06-11T09:30:00.250Z"), Some(t + 250));
        assert_eq!(parse_rfc3339("2025-06-11T09:30:00.25Z"), Some(t + 250));
        assert_eq!(parse_rfc3339("2025-06-11T11:30:00+02:00"), Some(t));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_day(t.div_euclid(86_400_000)), "2025-06-11");
        for bad in [
            "",
            "2025-06-11",
            "2025-13-01T00:00:00Z",
            "2025-06-11T09:30:00",
            "2025-06-11T09:30:00.Z",
            "2025-06-11T25:00:00Z",
            "２025-06-11T09:30:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn lines_parse_ignoring_unknown_fields_and_report_bad_ones() {
        let line = br#"{"time":"2025-06-11T09:30:00Z","kind":"file.upload","user":"a","project":"p","new":1,"artifact":{"empty":true,"console_scripts":["aws"],"x":[1]}}"#;
        let (_, e) = parse_line(line).unwrap().unwrap();
        assert_eq!(e.kind, "file.upload");
        let a = e.artifact.unwrap();
        assert!(a.empty);
        assert_eq!(a.console_scripts, ["aws"]);
        assert_eq!(parse_line(b"   ").unwrap(), None);
        for bad in [
            &b"{"[..],
            b"[1]",
            br#"{"time":5,"kind":"x"}"#,
            br#"{"time":"yesterday","kind":"x"}"#,
            b"\xff\xfe",
        ] {
            assert!(parse_line(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}

/// An event that owns its text, for handing parsed events from one thread to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEvent {
    /// Milliseconds since the epoch.
    pub time: i64,
    kind: Cow<'static, str>,
    user: Option<Box<str>>,
    ip: Option<Box<str>>,
    email: Option<Box<str>>,
    project: Option<Box<str>>,
    summary: Option<Box<str>>,
    size: Option<u64>,
    artifact: Option<OwnedArtifact>,
    /// `report_kind`, `reporter_trust`, `reporter_domain` of a `report.create`.
    report: Option<Box<[Option<Box<str>>; 3]>>,
}

/// `files`, `python_files`, `code_lines`, `empty`, `console_scripts`, `code_digest`.
type OwnedArtifact = (u64, u64, u64, bool, Vec<Box<str>>, Option<Box<str>>);

/// The kinds the detector reads, kept without an allocation.
const KINDS: [&str; 7] = [
    "account.create",
    "account.email.verify",
    "account.2fa.add",
    "account.token.create",
    "file.upload",
    "project.create",
    "report.create",
];

impl OwnedEvent {
    /// Copies what the detector reads out of a parsed line.
    pub fn new(time: i64, e: &Event<'_>) -> Self {
        let kind = KINDS
            .iter()
            .find(|k| **k == e.kind)
            .map_or_else(|| Cow::Owned(e.kind.to_string()), |k| Cow::Borrowed(*k));
        let text = |v: &Option<Cow<'_, str>>| v.as_deref().map(Box::from);
        Self {
            time,
            kind,
            user: text(&e.user),
            ip: text(&e.ip),
            email: text(&e.email),
            project: text(&e.project),
            summary: text(&e.summary),
            size: e.size,
            artifact: e.artifact.as_ref().map(|a| {
                (
                    a.files,
                    a.python_files,
                    a.code_lines,
                    a.empty,
                    a.console_scripts.iter().map(|c| Box::from(&**c)).collect(),
                    a.code_digest.as_deref().map(Box::from),
                )
            }),
            report: (e.kind == "report.create").then(|| {
                Box::new([
                    text(&e.report_kind),
                    text(&e.reporter_trust),
                    text(&e.reporter_domain),
                ])
            }),
        }
    }

    /// The event, borrowing from this one.
    pub fn view(&self) -> Event<'_> {
        fn text(v: Option<&str>) -> Option<Cow<'_, str>> {
            v.map(Cow::Borrowed)
        }
        Event {
            time: Cow::Borrowed(""),
            kind: Cow::Borrowed(&self.kind),
            user: text(self.user.as_deref()),
            ip: text(self.ip.as_deref()),
            email: text(self.email.as_deref()),
            project: text(self.project.as_deref()),
            summary: text(self.summary.as_deref()),
            size: self.size,
            artifact: self.artifact.as_ref().map(
                |(files, python_files, code_lines, empty, scripts, digest)| Artifact {
                    files: *files,
                    python_files: *python_files,
                    code_lines: *code_lines,
                    empty: *empty,
                    console_scripts: scripts.iter().map(|s| Cow::Borrowed(&**s)).collect(),
                    code_digest: digest.as_deref().map(Cow::Borrowed),
                },
            ),
            report_kind: self.report.as_ref().and_then(|r| text(r[0].as_deref())),
            reporter_trust: self.report.as_ref().and_then(|r| text(r[1].as_deref())),
            reporter_domain: self.report.as_ref().and_then(|r| text(r[2].as_deref())),
        }
    }
}
