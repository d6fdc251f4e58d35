//! Distribution files, stored by the SHA-256 of their content.
//!
//! A write goes to a temporary file in the same folder, is flushed to disk, then renamed over its
//! final name: a crash leaves either no file or the whole file, never half of one. Writing the same
//! content twice is a no-op, so uploads can be retried freely.

use std::io::Write;
use std::path::{Path, PathBuf};

use picket_formats::hashes::sha256_hex;

use crate::StoreError;

/// A content-addressed folder of blobs: `ROOT/ab/cd/abcd…` for sha256 `abcd…`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

fn is_sha256_hex(key: &str) -> bool {
    key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BlobStore {
    /// Opens (creating if needed) the blob folder.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, &e))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[..2])
            .join(&sha256[2..4])
            .join(sha256)
    }

    /// Where the blob `sha256` lives, when the key is a sha256 and the blob exists.
    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if !is_sha256_hex(sha256) {
            return None;
        }
        let path = self.path(sha256);
        path.is_file().then_some(path)
    }

    /// Stores `bytes` and returns their sha256.
    pub fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = sha256_hex(bytes);
        let path = self.path(&sha256);
        if path.exists() {
            return Ok(sha256);
        }
        let dir = path.parent().expect("blob paths have a folder");
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, &e))?;
        let temp = dir.join(format!(".{sha256}.{}.tmp", std::process::id()));
        let result = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            // The rename itself is durable once the folder is synced.
            std::fs::File::open(dir)?.sync_all()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(StoreError::io(&path, &e));
        }
        Ok(sha256)
    }

    /// The bytes stored under `sha256`, if any. A key that is not a sha256 finds nothing.
    pub fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        let path = self.path(sha256);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&path, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let sha = blobs.put(b"wheel bytes").unwrap();
        assert_eq!(sha, sha256_hex(b"wheel bytes"));
        assert_eq!(blobs.put(b"wheel bytes").unwrap(), sha, "idempotent");
        assert_eq!(
            blobs.get(&sha).unwrap().as_deref(),
            Some(&b"wheel bytes"[..])
        );
        assert_eq!(blobs.get(&"0".repeat(64)).unwrap(), None);
        assert_eq!(
            blobs.get("../../etc/passwd").unwrap(),
            None,
            "keys are hashes only"
        );
        let leftovers: Vec<_> = walk(dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        assert!(
            dir.path()
                .join(&sha[..2])
                .join(&sha[2..4])
                .join(&sha)
                .exists()
        );
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
