//! `picket names import` and `picket names sweep`.

use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use picket_names::{NameIndex, SquatDetector};

use crate::cli::{Format, NamesCommand};
use crate::config::{Config, data_dir};
use crate::output::{self, Exit};
use picket_check::name_data;

pub fn run(command: &NamesCommand, _format: Format) -> Exit {
    let result = match command {
        NamesCommand::Import {
            file,
            from_index,
            data_dir,
        } => match (file, from_index) {
            (Some(file), _) => import(file, data_dir.as_deref()),
            (None, Some(url)) => import_from_index(url, data_dir.as_deref()),
            (None, None) => unreachable!("clap requires one of them"),
        },
        NamesCommand::Sweep {
            out,
            min_confidence,
            threads,
            data_dir,
            config,
        } => sweep(
            out.as_deref(),
            *min_confidence,
            *threads,
            data_dir.as_deref(),
            config.as_deref(),
        ),
    };
    match result {
        Ok(()) => Exit::Ok,
        Err(e) => {
            output::error(&format!("{e:#}"));
            Exit::Error
        }
    }
}

fn import(file: &Path, data_dir_flag: Option<&Path>) -> anyhow::Result<()> {
    let dir = data_dir(data_dir_flag)?;
    let start = Instant::now();
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut head = [0u8; 2];
    let gzip = {
        let mut probe = std::fs::File::open(file)?;
        probe.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b]
    };
    let index = if gzip {
        NameIndex::from_tsv(flate2::read::GzDecoder::new(reader))
    } else {
        NameIndex::from_tsv(reader)
    }
    .with_context(|| format!("{}", file.display()))?;
    write_index(&dir, &index, &start)
}

/// Builds the index from an index's live project list. It has no download ranks, so typosquats are
/// judged against the embedded popular list (see `name_data::load`).
fn import_from_index(url: &str, data_dir_flag: Option<&Path>) -> anyhow::Result<()> {
    let dir = data_dir(data_dir_flag)?;
    let start = Instant::now();
    let client = picket_check::online::Client::new(url, &dir.join("http-cache"))?;
    let list = client.project_list()?;
    let total = list.names.len();
    let entries: Vec<(String, picket_names::NameInfo)> = list
        .names
        .iter()
        .filter(|n| picket_formats::project_name::validate(n).is_ok())
        .map(|n| {
            let info = picket_names::NameInfo {
                rank: None,
                latest_release: None,
                first_versions: false,
            };
            (picket_formats::normalize(n), info)
        })
        .collect();
    if entries.len() < total {
        output::hint(&format!(
            "{} of the index's {total} names are not valid project names and were left out",
            total - entries.len()
        ));
    }
    let index = NameIndex::from_entries(entries).with_context(|| url.to_owned())?;
    write_index(&dir, &index, &start)
}

/// Writes the index beside its final name and renames it into place: a crash never leaves half
/// an index.
fn write_index(dir: &Path, index: &NameIndex, start: &Instant) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let target = name_data::index_path(dir);
    let temp = target.with_extension("fst.tmp");
    {
        let mut out = std::fs::File::create(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        out.write_all(index.as_bytes())?;
        out.sync_all()?;
    }
    std::fs::rename(&temp, &target)?;
    let ranked = index.ranked().len();
    eprintln!(
        "imported {} names ({ranked} ranked) into {} ({}) in {:.1?}",
        index.len(),
        target.display(),
        output::bytes(index.as_bytes().len() as u64),
        start.elapsed()
    );
    Ok(())
}

fn sweep(
    out: Option<&Path>,
    min_confidence: f32,
    threads: Option<usize>,
    data_dir_flag: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<()> {
    let config = Config::load(config)?;
    let loaded = name_data::load(&data_dir(data_dir_flag)?)?;
    if !loaded.complete {
        output::hint(
            "sweeping only the embedded ranked names; `picket names import SNAPSHOT.tsv.gz` sweeps every project",
        );
    }
    let detector = SquatDetector::new(&loaded.popular, config.names.squat_config());
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let bar = ProgressBar::new(loaded.index.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} sweeping {pos}/{len} names [{bar:30}] {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let start = Instant::now();
    let suspects = picket_names::sweep(&loaded.index, &detector, threads, &|done| {
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut written = 0;
    for suspect in suspects.iter().filter(|s| s.confidence >= min_confidence) {
        serde_json::to_writer(&mut writer, suspect)?;
        writeln!(writer)?;
        written += 1;
    }
    writer.flush()?;
    eprintln!(
        "swept {} names against {} popular ones in {:.1?}: {written} suspects",
        loaded.index.len(),
        detector.len(),
        start.elapsed()
    );
    Ok(())
}
