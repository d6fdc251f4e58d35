//! Loading the name index: the imported full snapshot when there is one, else the embedded list.

use std::path::{Path, PathBuf};

use anyhow::Context;
use picket_names::NameIndex;

/// The file `picket names import` writes inside the data directory.
pub const INDEX_FILE: &str = "names.fst";

/// The index in use and whether it lists every project.
pub struct LoadedIndex {
    /// The names.
    pub index: NameIndex,
    /// `true` for an imported full snapshot: absence then means the project does not exist.
    pub complete: bool,
    /// Where it came from, for messages.
    pub origin: String,
    /// The popular names typosquats are judged against: the index's ranked names, or the embedded
    /// list when the index has no ranks (one imported from an index's project list).
    pub popular: Vec<(String, u32)>,
}

/// The index file inside `data_dir`.
pub fn index_path(data_dir: &Path) -> PathBuf {
    data_dir.join(INDEX_FILE)
}

/// Loads the imported index from `data_dir`, or the embedded one when none was imported.
pub fn load(data_dir: &Path) -> anyhow::Result<LoadedIndex> {
    let path = index_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let index =
                NameIndex::from_bytes(bytes).with_context(|| format!("{}", path.display()))?;
            let mut popular = index.ranked();
            if popular.is_empty() {
                popular = NameIndex::embedded().ranked();
            }
            Ok(LoadedIndex {
                index,
                complete: true,
                origin: path.display().to_string(),
                popular,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let index = NameIndex::embedded();
            let popular = index.ranked();
            Ok(LoadedIndex {
                index,
                complete: false,
                origin: "the embedded list of ranked projects".to_owned(),
                popular,
            })
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}
