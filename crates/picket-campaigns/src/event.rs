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
    #[serde(borrow, deserialize_with = "borrowed")]
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
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub user: Option<Cow<'a, str>>,
    /// The client's IP address.
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub ip: Option<Cow<'a, str>>,
    /// The address (`account.create`, `account.email.*`).
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub email: Option<Cow<'a, str>>,
    /// The project (`project.create`, `file.upload`, admin kinds).
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub project: Option<Cow<'a, str>>,
    /// The release summary (`file.upload`).
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub summary: Option<Cow<'a, str>>,
    /// File size (`file.upload`).
    #[serde(default)]
    pub size: Option<u64>,
    /// The inspector's summary (`file.upload`).
    #[serde(default, borrow)]
    pub artifact: Option<Artifact<'a>>,
    /// What a report says the project is (`report.create`: `malware`, `typosquat`, …).
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub report_kind: Option<Cow<'a, str>>,
    /// The reporter's trust level as the registry's admins set it (`report.create`: `trusted`,
    /// `normal`).
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub reporter_trust: Option<Cow<'a, str>>,
    /// The registrable domain of the reporter's address (`report.create`): two accounts of one
    /// domain are not independent reporters.
    #[serde(default, borrow, deserialize_with = "borrowed")]
    pub reporter_domain: Option<Cow<'a, str>>,
}

/// An optional string, borrowed from the line unless it has escapes. (Serde's own `Option<Cow>`
/// always copies: a field of the line cost an allocation.)
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct Text;
    impl<'de> serde::de::Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
    }
    d.deserialize_option(Text)
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
    // Valid UTF-8 is checked once for the line, not string by string; a line that is not keeps
    // the byte parser's error message.
    let event: Result<Event<'_>, _> = match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(line),
    };
    let event = event.map_err(|e| LineError {
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
    fn a_batch_gives_back_the_events_put_in_it() {
        let lines = [
            &br#"{"time":"2025-06-11T09:30:00Z","kind":"account.create","user":"a","ip":"192.0.2.1","email":"a@example.org"}"#[..],
            br#"{"time":"2025-06-11T09:31:00Z","kind":"file.upload","user":"a","project":"p\u00e9","summary":"s","size":5,"artifact":{"files":3,"python_files":1,"code_lines":40,"empty":false,"console_scripts":["aws","pip"],"code_digest":"d1"}}"#,
            br#"{"time":"2025-06-11T09:32:00Z","kind":"report.create","user":"b","project":"p","report_kind":"malware","reporter_trust":"trusted","reporter_domain":"example.net"}"#,
            br#"{"time":"2025-06-11T09:33:00Z","kind":"something.new","user":null}"#,
        ];
        let mut batch = EventBatch::with_capacity(2);
        let mut parsed = Vec::new();
        for line in lines {
            let (time, event) = parse_line(line).unwrap().unwrap();
            batch.push(time, &event);
            parsed.push((time, event));
        }
        assert_eq!(batch.len(), 4);
        assert!(batch.text_len() > 0);
        for ((time, event), (t, e)) in parsed.into_iter().zip(batch.iter()) {
            assert_eq!(t, time);
            assert_eq!(
                e,
                Event {
                    time: Cow::Borrowed(""),
                    ..event
                }
            );
        }
        let (_, upload) = parse_line(lines[1]).unwrap().unwrap();
        assert_eq!(upload.project.as_deref(), Some("p\u{e9}"));
        assert!(
            matches!(upload.user, Some(Cow::Borrowed("a"))),
            "strings without escapes are borrowed"
        );
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
/// Events parsed from a run of lines, their text held in one buffer: a batch costs a few
/// allocations, not one for each field of each event. `picket replay` parses in one thread and
/// detects in another; a batch is what crosses.
#[derive(Debug, Clone, Default)]
pub struct EventBatch {
    text: String,
    events: Vec<Packed>,
    scripts: Vec<Span>,
}

/// A string of the batch's text: start and length.
type Span = (u32, u32);

#[derive(Debug, Clone)]
struct Packed {
    time: i64,
    kind: Span,
    /// `user`, `ip`, `email`, `project`, `summary`, `report_kind`, `reporter_trust`,
    /// `reporter_domain`, then the artifact's `code_digest`.
    text: [Option<Span>; 9],
    size: Option<u64>,
    /// Files, Python files, code lines, empty; its console scripts are `scripts[from..to]`.
    artifact: Option<(u64, u64, u64, bool, u32, u32)>,
}

impl EventBatch {
    /// An empty batch with room for `events` events.
    pub fn with_capacity(events: usize) -> Self {
        Self {
            text: String::with_capacity(events * 64),
            events: Vec::with_capacity(events),
            scripts: Vec::new(),
        }
    }

    /// Events in the batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Bytes of text it holds (a batch is sent before this reaches 4 GiB; see [`Self::push`]).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Adds an event (its text copied in).
    ///
    /// # Panics
    /// When the batch's text would pass 4 GiB: send batches well before.
    pub fn push(&mut self, time: i64, e: &Event<'_>) {
        let (text, scripts) = (&mut self.text, &mut self.scripts);
        let mut put = |s: &str| -> Span {
            let at = |n: usize| u32::try_from(n).expect("a batch holds under 4 GiB of text");
            let start = at(text.len());
            text.push_str(s);
            (start, at(s.len()))
        };
        let kind = put(&e.kind);
        let mut fields = [None; 9];
        let digest = e.artifact.as_ref().and_then(|a| a.code_digest.as_deref());
        for (slot, value) in fields.iter_mut().zip([
            e.user.as_deref(),
            e.ip.as_deref(),
            e.email.as_deref(),
            e.project.as_deref(),
            e.summary.as_deref(),
            e.report_kind.as_deref(),
            e.reporter_trust.as_deref(),
            e.reporter_domain.as_deref(),
            digest,
        ]) {
            *slot = value.map(&mut put);
        }
        let artifact = e.artifact.as_ref().map(|a| {
            let from = u32::try_from(scripts.len()).unwrap_or(u32::MAX);
            for c in &a.console_scripts {
                scripts.push(put(c));
            }
            let to = u32::try_from(scripts.len()).unwrap_or(u32::MAX);
            (a.files, a.python_files, a.code_lines, a.empty, from, to)
        });
        self.events.push(Packed {
            time,
            kind,
            text: fields,
            size: e.size,
            artifact,
        });
    }

    /// The events in order, with their times, borrowing from the batch.
    pub fn iter(&self) -> impl Iterator<Item = (i64, Event<'_>)> + '_ {
        self.events.iter().map(|p| (p.time, self.view(p)))
    }

    fn view(&self, p: &Packed) -> Event<'_> {
        let at = |(start, len): Span| &self.text[start as usize..(start + len) as usize];
        let text = |i: usize| p.text[i].map(|s| Cow::Borrowed(at(s)));
        Event {
            time: Cow::Borrowed(""),
            kind: Cow::Borrowed(at(p.kind)),
            user: text(0),
            ip: text(1),
            email: text(2),
            project: text(3),
            summary: text(4),
            size: p.size,
            artifact: p
                .artifact
                .map(
                    |(files, python_files, code_lines, empty, from, to)| Artifact {
                        files,
                        python_files,
                        code_lines,
                        empty,
                        console_scripts: self.scripts[from as usize..to as usize]
                            .iter()
                            .map(|s| Cow::Borrowed(at(*s)))
                            .collect(),
                        code_digest: text(8),
                    },
                ),
            report_kind: text(5),
            reporter_trust: text(6),
            reporter_domain: text(7),
        }
    }
}
