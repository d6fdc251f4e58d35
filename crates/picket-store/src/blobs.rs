//! Distribution files, stored by the SHA-256 of their content, in a local folder (the default) or
//! in S3-compatible object storage through `object_store`.
//!
//! Locally a write goes to a temporary file in the same folder, is flushed to disk, then renamed
//! over its final name and the folder synced: a crash leaves either no file or the whole file,
//! never half of one. (This is why the local default is picket's own code rather than
//! `object_store`'s `LocalFileSystem`, which renames without syncing.) An object store's PUT is
//! atomic by itself. Writing the same content twice is a no-op either way, so uploads can be
//! retried freely.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use picket_formats::hashes::sha256_hex;

use crate::StoreError;

/// Where blobs live.
#[derive(Debug, Clone)]
pub enum BlobStore {
    /// A local folder (see [`LocalBlobs`]).
    Local(LocalBlobs),
    /// An object store (S3-compatible), keys `PREFIX/ab/cd/abcd…`.
    Remote(RemoteBlobs),
}

/// Blobs in an object store.
#[derive(Debug, Clone)]
pub struct RemoteBlobs {
    store: Arc<dyn ObjectStore>,
    url: String,
}

/// The bytes of a blob, with its size.
#[derive(Debug, Clone)]
pub struct BlobBytes {
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// The blob's size.
    pub total: u64,
}

fn key(sha256: &str) -> String {
    format!("{}/{}/{sha256}", &sha256[..2], &sha256[2..4])
}

impl BlobStore {
    /// The local folder store.
    pub fn open_local(root: &Path) -> Result<Self, StoreError> {
        LocalBlobs::open(root).map(Self::Local)
    }

    /// Opens `s3://BUCKET[/PREFIX]` with credentials, region and endpoint from the usual
    /// `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_ALLOW_HTTP` for a local server), or
    /// `file:///PATH` for a local folder.
    pub fn open_url(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Io {
            path: url.to_owned(),
            message: why.to_owned(),
        };
        if let Some(path) = url.strip_prefix("file://") {
            return Self::open_local(Path::new(path));
        }
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("storage URL must start with s3:// or file://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket in the storage URL"));
        }
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        let prefix = prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        Ok(Self::Remote(RemoteBlobs {
            store,
            url: url.to_owned(),
        }))
    }

    /// The local file of a blob, when blobs are local and it exists (for `sendfile`-style serving).
    pub fn local_path(&self, sha256: &str) -> Option<PathBuf> {
        match self {
            Self::Local(local) => local.path_of(sha256),
            Self::Remote(_) => None,
        }
    }

    /// Stores `bytes` and returns their sha256.
    pub async fn put(&self, bytes: Arc<[u8]>) -> Result<String, StoreError> {
        match self {
            Self::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || local.put(&bytes))
                    .await
                    .map_err(|e| StoreError::Database(format!("blob writer: {e}")))?
            }
            Self::Remote(remote) => {
                let sha256 = sha256_hex(&bytes);
                let payload = PutPayload::from(bytes::Bytes::copy_from_slice(&bytes));
                remote
                    .store
                    .put(&key(&sha256).into(), payload)
                    .await
                    .map_err(|e| remote.error(&sha256, &e))?;
                Ok(sha256)
            }
        }
    }

    /// Checks that files can be stored, so a storage that refuses writes (no permission on the
    /// bucket, wrong keys, no such bucket, unreachable) stops `picket serve` at start rather
    /// than failing the first upload: in object storage a small object is written under
    /// `.picket-start-check` and deleted again; locally the folder must take a file.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        match self {
            Self::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || local.check_writable())
                    .await
                    .map_err(|e| StoreError::Database(format!("blob writer: {e}")))?
            }
            Self::Remote(remote) => {
                let refused = |why: String| StoreError::Io {
                    path: remote.url.clone(),
                    message: format!(
                        "the storage refused a test write: {}",
                        why.replace('\n', " ")
                    ),
                };
                let path = object_store::path::Path::from(".picket-start-check");
                let attempt = async {
                    remote
                        .store
                        .put(&path, PutPayload::from_static(b"picket"))
                        .await?;
                    remote.store.delete(&path).await
                };
                match tokio::time::timeout(std::time::Duration::from_secs(15), attempt).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(refused(e.to_string())),
                    Err(_) => Err(refused("no answer within 15 s".into())),
                }
            }
        }
    }

    /// Removes the temporary files writes interrupted by a crash (`kill -9`, power loss) left in
    /// a local blob folder, and returns how many. A temporary file is swept when the process that
    /// wrote it is gone (its pid is in the name) or it is over a day old, so `picket admin` or a
    /// second instance on the same folder never removes a write in progress. Object storage has
    /// nothing to sweep: its PUT is atomic.
    pub async fn sweep_temporary(&self) -> Result<usize, StoreError> {
        match self {
            Self::Local(local) => {
                let local = local.clone();
                tokio::task::spawn_blocking(move || local.sweep_temporary())
                    .await
                    .map_err(|e| StoreError::Database(format!("blob sweeper: {e}")))?
            }
            Self::Remote(_) => Ok(0),
        }
    }

    /// The blob, if stored. A key that is not a sha256 finds nothing.
    pub async fn get(&self, sha256: &str) -> Result<Option<BlobBytes>, StoreError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match self {
            Self::Local(local) => {
                let local = local.clone();
                let key = sha256.to_owned();
                let bytes = tokio::task::spawn_blocking(move || local.get(&key))
                    .await
                    .map_err(|e| StoreError::Database(format!("blob reader: {e}")))??;
                Ok(bytes.map(|b| BlobBytes {
                    total: b.len() as u64,
                    bytes: b.into(),
                }))
            }
            Self::Remote(remote) => match remote.store.get(&key(sha256).into()).await {
                Ok(result) => {
                    let total = result.meta.size;
                    let bytes = result.bytes().await.map_err(|e| remote.error(sha256, &e))?;
                    Ok(Some(BlobBytes { bytes, total }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(remote.error(sha256, &e)),
            },
        }
    }
}

impl RemoteBlobs {
    fn error(&self, sha256: &str, e: &object_store::Error) -> StoreError {
        StoreError::Io {
            path: format!("{}/{}", self.url.trim_end_matches('/'), key(sha256)),
            message: e.to_string(),
        }
    }
}

/// The writer's pid when `name` is a blob write's temporary file, `.<sha256>.<pid>.<n>.tmp`.
fn temporary_writer(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = rest.split('.');
    let (sha256, pid, n) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_sha256_hex(sha256) || n.parse::<u64>().is_err() {
        return None;
    }
    pid.parse().ok()
}

/// The two-hex-digit subfolders of `dir` (`ab/`, then `cd/`).
fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir, &e)),
    };
    Ok(entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.len() == 2
                && name.bytes().all(|b| b.is_ascii_hexdigit())
                && e.file_type().is_ok_and(|t| t.is_dir())
        })
        .map(|e| e.path())
        .collect())
}

/// Numbers the temporary files of this process's writes.
static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A content-addressed folder of blobs: `ROOT/ab/cd/abcd…` for sha256 `abcd…`.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    /// Shared: a `Store` is cloned per request (in the server's state), and a path would be a
    /// new allocation each time.
    root: Arc<Path>,
}

fn is_sha256_hex(key: &str) -> bool {
    key.len() == 64
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl LocalBlobs {
    /// Opens (creating if needed) the blob folder.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|e| StoreError::io(root, &e))?;
        Ok(Self {
            root: Arc::from(root),
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
        // Unique per write: two uploads of the same bytes at once must not share (and truncate)
        // one temporary file before either renames it.
        let temp = dir.join(format!(
            ".{sha256}.{}.{}.tmp",
            std::process::id(),
            WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
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

    fn check_writable(&self) -> Result<(), StoreError> {
        let probe = self
            .root
            .join(format!(".start-check.{}.tmp", std::process::id()));
        std::fs::write(&probe, b"picket").map_err(|e| StoreError::io(&self.root, &e))?;
        std::fs::remove_file(&probe).map_err(|e| StoreError::io(&probe, &e))
    }

    /// See [`BlobStore::sweep_temporary`]; only `ROOT/ab/cd/.<sha256>.<pid>.<n>.tmp` names are
    /// touched.
    pub fn sweep_temporary(&self) -> Result<usize, StoreError> {
        let day = std::time::Duration::from_hours(24);
        let mut swept = 0;
        for first in read_dirs(&self.root)? {
            for second in read_dirs(&first)? {
                let entries =
                    std::fs::read_dir(&second).map_err(|e| StoreError::io(&second, &e))?;
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(pid) = temporary_writer(&name.to_string_lossy()) else {
                        continue;
                    };
                    let stale = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > day);
                    let writer_gone = pid != std::process::id()
                        && !Path::new("/proc").join(pid.to_string()).exists()
                        && Path::new("/proc/self").exists();
                    if stale || writer_gone {
                        let path = entry.path();
                        match std::fs::remove_file(&path) {
                            Ok(()) => swept += 1,
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => return Err(StoreError::io(&path, &e)),
                        }
                    }
                }
            }
        }
        Ok(swept)
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
    fn the_same_bytes_written_at_once_are_stored_whole() {
        // Two uploads of one file race here; with one shared temporary name a writer truncated
        // the other's file or lost it before the rename.
        let dir = tempfile::tempdir().unwrap();
        let blobs = std::sync::Arc::new(LocalBlobs::open(dir.path()).unwrap());
        let bytes: std::sync::Arc<Vec<u8>> =
            std::sync::Arc::new((0..4u32 << 20).map(|i| (i % 251) as u8).collect());
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (blobs, bytes) = (blobs.clone(), bytes.clone());
                std::thread::spawn(move || blobs.put(&bytes))
            })
            .collect();
        for w in writers {
            assert_eq!(w.join().unwrap().unwrap(), sha256_hex(&bytes));
        }
        let stored = blobs.get(&sha256_hex(&bytes)).unwrap().unwrap();
        assert_eq!(sha256_hex(&stored), sha256_hex(&bytes));
    }

    #[test]
    fn stores_by_content_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
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

    #[test]
    fn a_crash_s_temporary_files_are_swept_and_blobs_and_live_writes_kept() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path()).unwrap();
        let sha = blobs.put(b"wheel bytes").unwrap();
        let folder = dir.path().join(&sha[..2]).join(&sha[2..4]);
        // pid_max is at most 2^22, so this writer can't be alive.
        let dead = folder.join(format!(".{sha}.999999999.0.tmp"));
        let ours = folder.join(format!(".{sha}.{}.7.tmp", std::process::id()));
        let old = folder.join(format!(".{sha}.{}.8.tmp", std::process::id()));
        let other = folder.join("notes.tmp");
        for path in [&dead, &ours, &old, &other] {
            std::fs::write(path, b"half a wh").unwrap();
        }
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_hours(48))
            .unwrap();
        assert_eq!(blobs.sweep_temporary().unwrap(), 2);
        assert!(!dead.exists() && !old.exists());
        assert!(ours.exists(), "a write in progress is left alone");
        assert!(other.exists(), "only blob temporaries are touched");
        assert_eq!(
            blobs.get(&sha).unwrap().as_deref(),
            Some(&b"wheel bytes"[..])
        );
        assert_eq!(temporary_writer(&format!(".{sha}.12.3.tmp")), Some(12));
        assert_eq!(temporary_writer(".abc.12.3.tmp"), None);
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
