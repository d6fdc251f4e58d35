//! The verified-hash cache: each installed file's digest, kept with the file's identity and
//! timestamps so that a second scan of an unchanged environment reads no file twice.
//!
//! An entry is used only when the file's path, device, inode, size, modification time and
//! **change time** (all in nanoseconds) are exactly what they were when it was hashed — the test
//! git's index uses. Any write to a file moves its change time to the present, and no system
//! call sets it back (`utime` and `touch -d` set the modification time only), so an edit that
//! keeps size and modification time is still seen and the file is hashed again. Two more rules
//! close the gaps:
//!
//! - **Racy entries are not kept.** A file whose change time is within [`MARGIN`] of the moment
//!   it was looked at is hashed but not cached: a write in the same clock tick as the hashing
//!   could otherwise leave every timestamp unchanged.
//! - **The digest is the file's, not a verdict.** The cache holds what the file hashed to; the
//!   comparison with the `RECORD` is made on every scan, so a `RECORD` that changes is judged
//!   again.
//!
//! What it can't see: a file changed through a writable shared mapping that was already dirty
//! (the kernel updates the times on the first write after write-back, within about 30 s), and
//! file systems that do not keep change times. `picket scan --env --no-hash-cache` hashes every
//! file. The cache is as trustworthy as the data folder it lives in: whoever can write it could
//! as well rewrite the environment's `RECORD` files.
//!
//! One file per environment (named by a hash of the environment's resolved root), rewritten
//! whole (atomically, by rename) after a scan with the entries that scan used or made, so it
//! never grows beyond one environment's files; a scan that used every entry and made none (an
//! unchanged environment) leaves it as it is. It ends with the SHA-256 of its content; a file that is torn,
//! foreign or corrupt is ignored (with a warning) and rebuilt.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use rustc_hash::FxHashMap;
use sha2::Digest as _;

/// How old a file's change time must be for its digest to be kept.
pub const MARGIN: Duration = Duration::from_secs(2);
/// The largest cache file read.
const MAX_CACHE_BYTES: u64 = 512 << 20;
const MAGIC: &[u8] = b"picket-hash-cache 1\n";

#[cfg(test)]
thread_local! {
    /// The margin the tests on this thread use instead of [`MARGIN`].
    pub(crate) static TEST_MARGIN: std::cell::Cell<Option<Duration>> = const { std::cell::Cell::new(None) };
}

fn margin() -> Duration {
    #[cfg(test)]
    if let Some(margin) = TEST_MARGIN.with(std::cell::Cell::get) {
        return margin;
    }
    MARGIN
}

/// What identifies one state of a file: if any of it differs, the file is hashed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of a file's metadata (links followed); `None` where there is no inode and
    /// change time to go by.
    #[cfg(unix)]
    pub fn of(meta: &std::fs::Metadata) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        Some(Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// The stamp of a file's metadata (links followed); `None` where there is no inode and
    /// change time to go by.
    #[cfg(not(unix))]
    pub fn of(_meta: &std::fs::Metadata) -> Option<Self> {
        None
    }
}

/// A digest the cache holds: the algorithm's name and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    stamp: Stamp,
    algorithm: u8,
    digest: Vec<u8>,
}

const ALGORITHMS: [&str; 3] = ["sha256", "sha384", "sha512"];

fn algorithm_code(name: &str) -> Option<u8> {
    ALGORITHMS
        .iter()
        .position(|a| *a == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// An entry read from the file, and whether this scan used it.
#[derive(Debug)]
struct Known {
    entry: Entry,
    used: AtomicBool,
}

/// The cache of one environment, as read at the start of a scan.
#[derive(Debug)]
pub struct HashCache {
    file: PathBuf,
    known: FxHashMap<PathBuf, Known>,
    /// Change times at or after this are too recent to keep (seconds, nanoseconds).
    cutoff: (i64, i64),
}

/// Entries one hashing thread made, for the cache written after the scan.
#[derive(Debug, Default)]
pub struct Fresh(Vec<(PathBuf, Entry)>);

impl HashCache {
    /// The cache of the environment rooted at `canonical_root`, in the folder `dir`; a missing
    /// file is an empty cache, an unreadable one too (with the warning why).
    pub fn open(dir: &Path, canonical_root: &Path) -> (Self, Option<String>) {
        let name = sha2::Sha256::digest(canonical_root.as_os_str().as_encoded_bytes());
        let file = dir.join(format!(
            "{}.bin",
            data_encoding::HEXLOWER.encode(&name[..16])
        ));
        let now = SystemTime::now()
            .checked_sub(margin())
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .unwrap_or_default();
        let cutoff = (
            i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            i64::from(now.subsec_nanos()),
        );
        let (known, warning) = match read_entries(&file) {
            Ok(known) => (known, None),
            Err(why) => (
                FxHashMap::default(),
                Some(format!(
                    "{}: {why}; ignored, every file hashed (the cache is rewritten)",
                    file.display()
                )),
            ),
        };
        (
            Self {
                file,
                known,
                cutoff,
            },
            warning,
        )
    }

    /// The file this cache is kept in.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The digest of `path` under `algorithm` if the cache holds it for exactly this `stamp`
    /// (the entry is then kept).
    pub fn get(&self, path: &Path, stamp: &Stamp, algorithm: &str) -> Option<Vec<u8>> {
        let known = self.known.get(path)?;
        let entry = &known.entry;
        if entry.stamp != *stamp || Some(entry.algorithm) != algorithm_code(algorithm) {
            return None;
        }
        known.used.store(true, Ordering::Relaxed);
        Some(entry.digest.clone())
    }

    /// Notes in `fresh` that `path`, at `stamp`, hashed to `digest`, unless its change time is
    /// too recent to trust (or the algorithm is not one the cache keeps).
    pub fn put(
        &self,
        path: &Path,
        stamp: &Stamp,
        algorithm: &str,
        digest: &[u8],
        fresh: &mut Fresh,
    ) {
        let Some(algorithm) = algorithm_code(algorithm) else {
            return;
        };
        if stamp.ctime >= self.cutoff || stamp.ctime < stamp.mtime || stamp.ctime == (0, 0) {
            // Racy (changed within the margin), or a file system that does not keep change
            // times (before its modification time, or none at all).
            return;
        }
        fresh.0.push((
            path.to_owned(),
            Entry {
                stamp: *stamp,
                algorithm,
                digest: digest.to_vec(),
            },
        ));
    }

    /// Replaces the file with the entries this scan used and those the threads made (and only
    /// those); when every entry was used and none made, the file is left as it is.
    pub fn save(&self, fresh: impl IntoIterator<Item = Fresh>) -> std::io::Result<()> {
        let mut made: FxHashMap<&Path, &Entry> = FxHashMap::default();
        let fresh: Vec<Fresh> = fresh.into_iter().collect();
        for (path, entry) in fresh.iter().flat_map(|f| &f.0) {
            made.insert(path, entry);
        }
        let all_used = self.known.values().all(|k| k.used.load(Ordering::Relaxed));
        if made.is_empty() && all_used && self.file.exists() {
            return Ok(());
        }
        let mut entries: Vec<(&Path, &Entry)> = self
            .known
            .iter()
            .filter(|(path, k)| {
                k.used.load(Ordering::Relaxed) && !made.contains_key(path.as_path())
            })
            .map(|(path, k)| (path.as_path(), &k.entry))
            .collect();
        entries.extend(made);
        let mut bytes = Vec::with_capacity(64 + entries.len() * 128);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(
            &u64::try_from(entries.len())
                .unwrap_or(u64::MAX)
                .to_le_bytes(),
        );
        for &(path, e) in &entries {
            let path = path.as_os_str().as_encoded_bytes();
            bytes.extend_from_slice(&u32::try_from(path.len()).unwrap_or(u32::MAX).to_le_bytes());
            bytes.extend_from_slice(path);
            for n in [e.stamp.dev, e.stamp.ino, e.stamp.size] {
                bytes.extend_from_slice(&n.to_le_bytes());
            }
            for n in [
                e.stamp.mtime.0,
                e.stamp.mtime.1,
                e.stamp.ctime.0,
                e.stamp.ctime.1,
            ] {
                bytes.extend_from_slice(&n.to_le_bytes());
            }
            bytes.push(e.algorithm);
            bytes.push(u8::try_from(e.digest.len()).unwrap_or(0));
            bytes.extend_from_slice(&e.digest);
        }
        let sum = sha2::Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        let dir = self.file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut temp = tempfile_in(dir, &self.file)?;
        temp.1.write_all(&bytes)?;
        temp.1.sync_all()?;
        drop(temp.1);
        std::fs::rename(&temp.0, &self.file).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp.0);
        })
    }
}

/// A new file beside `target` (same folder, so the rename is atomic).
fn tempfile_in(dir: &Path, target: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let stem = target.file_name().unwrap_or_default().to_string_lossy();
    for n in 0..100u32 {
        let path = dir.join(format!(".{stem}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary name"))
}

/// The entries of a cache file; a missing file has none.
fn read_entries(file: &Path) -> Result<FxHashMap<PathBuf, Known>, String> {
    let bytes = match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FxHashMap::default()),
        Err(e) => return Err(e.to_string()),
        Ok(meta) if !meta.is_file() => return Err("not a regular file".to_owned()),
        Ok(meta) if meta.len() > MAX_CACHE_BYTES => {
            return Err(format!("over the {MAX_CACHE_BYTES}-byte limit"));
        }
        Ok(_) => std::fs::read(file).map_err(|e| e.to_string())?,
    };
    let corrupt = || "not a picket hash cache, or corrupt".to_owned();
    let body_len = bytes.len().checked_sub(32).ok_or_else(corrupt)?;
    let (body, sum) = bytes.split_at(body_len);
    if sha2::Sha256::digest(body).as_slice() != sum {
        return Err(corrupt());
    }
    let mut r = Reader(body.strip_prefix(MAGIC).ok_or_else(corrupt)?);
    let count = r.u64().ok_or_else(corrupt)?;
    let mut out = FxHashMap::default();
    out.reserve(usize::try_from(count.min(1 << 20)).unwrap_or(0));
    for _ in 0..count {
        let entry = (|| {
            let len = usize::try_from(u32::from_le_bytes(r.take(4)?.try_into().ok()?)).ok()?;
            let path = path_from(r.take(len)?)?;
            let (dev, ino, size) = (r.u64()?, r.u64()?, r.u64()?);
            let mtime = (r.i64()?, r.i64()?);
            let ctime = (r.i64()?, r.i64()?);
            let algorithm = r.take(1)?[0];
            let len = usize::from(r.take(1)?[0]);
            let digest = r.take(len)?.to_vec();
            (usize::from(algorithm) < ALGORITHMS.len()).then_some(())?;
            Some((
                path,
                Entry {
                    stamp: Stamp {
                        dev,
                        ino,
                        size,
                        mtime,
                        ctime,
                    },
                    algorithm,
                    digest,
                },
            ))
        })()
        .ok_or_else(corrupt)?;
        out.insert(
            entry.0,
            Known {
                entry: entry.1,
                used: AtomicBool::new(false),
            },
        );
    }
    if !r.0.is_empty() {
        return Err(corrupt());
    }
    Ok(out)
}

/// A path as `save` wrote it (an `OsStr`'s bytes on this platform).
#[cfg(unix)]
#[allow(
    clippy::unnecessary_wraps,
    reason = "elsewhere the bytes may not be a path"
)]
fn path_from(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// A path as `save` wrote it (nothing is cached where there are no inodes).
#[cfg(not(unix))]
fn path_from(bytes: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(bytes).ok().map(PathBuf::from)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}
