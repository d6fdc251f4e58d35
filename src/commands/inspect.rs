//! `picket inspect FILE...`: the inventory and emptiness verdict of each wheel or sdist.

use std::io::Write;

use picket_inspect::{EntryKind, Inventory, Limits, inspect_path};
use serde::Serialize;

use crate::cli::{Format, InspectArgs};
use crate::output::{self, BAD, BOLD, DIM, Exit, GOOD};

/// Entries listed in the table unless `--all-files`.
const LISTED_ENTRIES: usize = 40;

#[derive(Serialize)]
struct Report<'a> {
    inspected: Vec<&'a Inventory>,
    errors: Vec<FileError>,
}

#[derive(Serialize)]
struct FileError {
    file: String,
    error: String,
}

fn limits(args: &InspectArgs) -> Limits {
    let defaults = Limits::default();
    Limits {
        max_archive_bytes: args.max_archive_bytes.unwrap_or(defaults.max_archive_bytes),
        max_total_uncompressed: args
            .max_uncompressed
            .unwrap_or(defaults.max_total_uncompressed),
        max_entry_bytes: args.max_entry_bytes.unwrap_or(defaults.max_entry_bytes),
        max_ratio: args.max_ratio.unwrap_or(defaults.max_ratio),
        max_entries: args.max_entries.unwrap_or(defaults.max_entries),
        ..defaults
    }
}

pub fn run(args: &InspectArgs, format: Format) -> Exit {
    let limits = limits(args);
    let mut inventories = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match inspect_path(path, &limits) {
            Ok(inventory) => {
                for warning in inventory.metadata.iter().flat_map(|m| &m.warnings) {
                    output::warning(&format!("{}: {warning}", path.display()));
                }
                inventories.push(inventory);
            }
            Err(e) => {
                let file = path.display().to_string();
                output::error(&format!("{file}: {e}"));
                errors.push(FileError {
                    file,
                    error: e.to_string(),
                });
            }
        }
    }
    let report = Report {
        inspected: inventories.iter().collect(),
        errors,
    };
    if let Err(exit) = output::emit(format, &report, |out| {
        inventories
            .iter()
            .try_for_each(|inv| print_table(out, inv, args.all_files))
    }) {
        return exit;
    }
    let mut exit = Exit::Ok;
    if inventories.iter().any(|i| i.emptiness.empty) {
        exit = Exit::Findings;
    }
    if args.files.len() != inventories.len() {
        exit = Exit::Error;
    }
    exit
}

fn list_or_none<T: AsRef<str>>(items: &[T]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn print_table(out: &mut dyn Write, inv: &Inventory, all_files: bool) -> std::io::Result<()> {
    let m = &inv.measures;
    let kind = match inv.kind {
        picket_inspect::DistKind::Wheel => "wheel",
        picket_inspect::DistKind::Sdist => "sdist",
    };
    writeln!(
        out,
        "{BOLD}{}{BOLD:#}  {kind}  {} {}",
        inv.filename,
        inv.name.as_deref().unwrap_or("?"),
        inv.version.as_deref().unwrap_or("?"),
    )?;
    let (style, word) = if inv.emptiness.empty {
        (BAD, "EMPTY")
    } else {
        (GOOD, "has code")
    };
    writeln!(
        out,
        "  verdict        {style}{word}{style:#}: {}",
        inv.emptiness.reason
    )?;
    writeln!(
        out,
        "  size           {} ({} uncompressed, {} entries)",
        output::bytes(inv.archive_size),
        output::bytes(inv.uncompressed_size),
        inv.entries.len()
    )?;
    writeln!(
        out,
        "  python         {} files, {} code lines, {} substantive",
        m.python_files, m.code_lines, m.substantive_lines
    )?;
    let natives: Vec<String> = m
        .native_binaries
        .iter()
        .map(|n| format!("{} ({})", n.path, n.format))
        .collect();
    writeln!(out, "  native         {}", list_or_none(&natives))?;
    if !m.native_sources.is_empty() {
        writeln!(
            out,
            "  native source  {} lines in {}",
            m.native_source_lines,
            list_or_none(&m.native_sources)
        )?;
    }
    writeln!(out, "  .pth files     {}", list_or_none(&m.pth_files))?;
    writeln!(out, "  install hooks  {}", list_or_none(&m.install_hooks))?;
    let scripts: Vec<&str> = inv.console_scripts().collect();
    writeln!(out, "  scripts        {}", list_or_none(&scripts))?;
    if let Some(meta) = &inv.metadata {
        writeln!(
            out,
            "  metadata       {} (version {})",
            inv.metadata_path.as_deref().unwrap_or(""),
            meta.metadata_version
        )?;
        for warning in &meta.warnings {
            writeln!(out, "  {BAD}warning{BAD:#}        {warning}")?;
        }
        if let Some(summary) = &meta.summary {
            writeln!(out, "  summary        {summary}")?;
        }
        if let Some(names) = &meta.import_names {
            writeln!(out, "  import names   {}", list_or_none(names))?;
        }
        if !meta.import_namespaces.is_empty() {
            writeln!(
                out,
                "  namespaces     {}",
                list_or_none(&meta.import_namespaces)
            )?;
        }
        writeln!(
            out,
            "  requires       {}",
            list_or_none(&meta.requires_dist)
        )?;
    } else {
        writeln!(out, "  metadata       {DIM}none{DIM:#}")?;
    }
    writeln!(out, "  files")?;
    let shown = if all_files {
        inv.entries.len()
    } else {
        LISTED_ENTRIES
    };
    for entry in inv.entries.iter().take(shown) {
        match &entry.kind {
            EntryKind::File => writeln!(out, "    {:>10}  {}", entry.size, entry.path)?,
            EntryKind::Dir => writeln!(out, "    {:>10}  {}/", "", entry.path)?,
            EntryKind::Symlink { target } | EntryKind::Hardlink { target } => {
                writeln!(out, "    {:>10}  {} -> {target}", "link", entry.path)?;
            }
        }
    }
    if inv.entries.len() > shown {
        writeln!(
            out,
            "    {DIM}… {} more (--all-files lists them){DIM:#}",
            inv.entries.len() - shown
        )?;
    }
    writeln!(out)
}
