//! `picket deps FILE...`: the dependencies a project's files declare, with file and line.

use std::io::Write;

use picket_deps::{DependencyFile, FsSource, parse_file};
use serde::Serialize;

use crate::cli::{DepsArgs, Format};
use crate::output::{self, BOLD, DIM, Exit};

#[derive(Serialize)]
struct Report<'a> {
    files: Vec<&'a DependencyFile>,
    errors: Vec<FileError>,
}

#[derive(Serialize)]
struct FileError {
    file: String,
    error: String,
}

pub fn run(args: &DepsArgs, format: Format) -> Exit {
    let source = FsSource::default();
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match parse_file(path, &source) {
            Ok(file) => parsed.push(file),
            Err(e) => {
                output::error(&e.to_string());
                errors.push(FileError {
                    file: path.display().to_string(),
                    error: e.to_string(),
                });
            }
        }
    }
    if errors
        .iter()
        .any(|e| e.error.contains("not a known dependency file"))
    {
        output::hint(
            "name the file as the tool that writes it does, e.g. `requirements-dev.txt` or `uv.lock` (a file whose name says nothing is read by its content)",
        );
    }
    let report = Report {
        files: parsed.iter().collect(),
        errors,
    };
    if let Err(exit) = output::emit(format, &report, |out| {
        parsed.iter().try_for_each(|file| print_table(out, file))
    }) {
        return exit;
    }
    if parsed.len() == args.files.len() {
        Exit::Ok
    } else {
        Exit::Error
    }
}

fn print_table(out: &mut dyn Write, file: &DependencyFile) -> std::io::Result<()> {
    writeln!(
        out,
        "{BOLD}{}{BOLD:#}  {:?}, {} dependencies",
        file.path.display(),
        file.format,
        file.dependencies.len()
    )?;
    for dep in &file.dependencies {
        let version = dep
            .pinned
            .as_deref()
            .map(|v| format!("=={v}"))
            .or_else(|| dep.specifier.clone())
            .unwrap_or_default();
        let group = dep
            .group
            .as_deref()
            .map(|g| format!(" [{g}]"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<32} {:<20} {DIM}{}:{}{group}{DIM:#}",
            dep.name.as_given(),
            version,
            dep.source.file.display(),
            dep.source.line
        )?;
    }
    for unnamed in &file.unnamed {
        writeln!(
            out,
            "  {:<32} {:<20} {DIM}{}:{}{DIM:#}",
            unnamed.location,
            "(unnamed)",
            unnamed.source.file.display(),
            unnamed.source.line
        )?;
    }
    writeln!(out)
}
