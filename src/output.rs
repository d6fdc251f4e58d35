//! Writing for people and machines: data to stdout, diagnostics to stderr, color only where wanted.

use std::io::Write;

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};

use crate::cli::Color;

/// The outcome of a command, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: nothing at or above the fail level.
    Ok = 0,
    /// 1: findings at or above the fail level.
    Findings = 1,
    /// 2: usage or input error.
    Error = 2,
}

/// Styles used in tables.
pub const BOLD: Style = Style::new().bold();
/// A bad verdict.
pub const BAD: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
/// A good verdict.
pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
/// Secondary text.
pub const DIM: Style = Style::new().dimmed();

/// Applies `--color` globally; `auto` lets anstream decide from the terminal and `NO_COLOR`.
pub fn init_color(color: Color) {
    let choice = match color {
        Color::Auto => ColorChoice::Auto,
        Color::Always => ColorChoice::Always,
        Color::Never => ColorChoice::Never,
    };
    choice.write_global();
}

/// Standard output, stripped of color when color is off.
pub fn stdout() -> AutoStream<std::io::StdoutLock<'static>> {
    AutoStream::auto(std::io::stdout().lock())
}

/// Writes a command's data to stdout: the JSON document, or the table `print_table` draws.
/// A closed pipe (`| head`) is not an error; any other write failure is reported and exits 2.
pub fn emit<T: serde::Serialize>(
    format: crate::cli::Format,
    report: &T,
    print_table: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), Exit> {
    let mut out = stdout();
    let written = match format {
        crate::cli::Format::Json => serde_json::to_writer_pretty(&mut out, report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out)),
        crate::cli::Format::Table => print_table(&mut out),
        other => {
            error(&format!(
                "--format {} does not apply here; use table or json",
                other.name()
            ));
            return Err(Exit::Error);
        }
    };
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            error(&format!("writing output: {e}"));
            Err(Exit::Error)
        }
        _ => Ok(()),
    }
}

/// Stderr, with styles stripped where color is off (not a terminal, `NO_COLOR`, `--color never`).
pub fn stderr() -> AutoStream<std::io::StderrLock<'static>> {
    AutoStream::auto(std::io::stderr().lock())
}

/// Prints `error: MESSAGE` on stderr.
pub fn error(message: &str) {
    let mut err = stderr();
    let _ = writeln!(err, "{BAD}error{BAD:#}: {message}");
}

/// Prints `warning: MESSAGE` on stderr.
pub fn warning(message: &str) {
    let mut err = stderr();
    let _ = writeln!(err, "{BOLD}warning{BOLD:#}: {message}");
}

/// Prints `hint: MESSAGE` on stderr.
pub fn hint(message: &str) {
    let mut err = stderr();
    let _ = writeln!(err, "{BOLD}hint{BOLD:#}: {message}");
}

/// Formats a byte count for people: `1,986 B`, `4.2 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 10 * 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_well() {
        assert_eq!(bytes(1986), "1986 B");
        assert_eq!(bytes(5 << 20), "5.0 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
