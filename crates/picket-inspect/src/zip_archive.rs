//! Walking a zip archive (wheels and legacy `.zip` sdists).

use std::io::Cursor;

use zip::ZipArchive;
use zip::result::ZipError;

use crate::InspectError;
use crate::collector::Collector;

fn zip_error(e: &ZipError) -> InspectError {
    InspectError::Zip(e.to_string())
}

pub(crate) fn walk(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), InspectError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(&e))?;
    // The central directory is parsed by now; refuse a flood of entries before touching any.
    collector.check_count(archive.len())?;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| match e {
            ZipError::UnsupportedArchive(msg)
                if msg.contains("ncrypt") || msg.contains("assword") =>
            {
                InspectError::Encrypted(format!("#{index}"))
            }
            other => InspectError::Zip(format!("entry {index}: {other}")),
        })?;
        let name = file
            .name()
            .map_err(|e| InspectError::Zip(format!("entry {index}: {e}")))?
            .into_owned();
        if file.encrypted() {
            return Err(InspectError::Encrypted(name));
        }
        if file.is_dir() {
            collector.add_dir(&name)?;
        } else if file.is_symlink() {
            let mut target = Vec::new();
            let limit = collector.limits().max_path_len;
            std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut file, limit as u64 + 1),
                &mut target,
            )
            .map_err(|e| InspectError::Zip(format!("entry `{name}`: {e}")))?;
            if target.len() > limit {
                return Err(InspectError::PathTooLong {
                    prefix: name,
                    len: target.len(),
                    limit,
                });
            }
            collector.add_link(&name, &String::from_utf8_lossy(&target), false)?;
        } else {
            let compressed = file.compressed_size();
            collector.add_file(&name, &mut file, Some(compressed), &|path, e| {
                InspectError::Zip(format!("entry `{path}`: {e}"))
            })?;
        }
    }
    Ok(())
}
