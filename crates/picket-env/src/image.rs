//! Container images: a `docker save` tarball or an OCI image layout (a folder, or a tar of one),
//! its layers applied in order — whiteouts honoured — and the Python environments of the result.
//!
//! Only what a scan reads is unpacked: entries under a `site-packages` or `dist-packages` folder,
//! into a scratch folder the caller owns. Every layer is streamed (never held in memory), and
//! hostile input is refused with one line: an entry that leaves the image (`..`), a layer that
//! declares more than [`ImageLimits::max_layer_bytes`], more decompressed bytes than
//! [`ImageLimits::max_unpacked_bytes`] (a tar bomb), too many entries, a layer whose digest
//! differs from its manifest's. No link is created in the scratch folder, so nothing written can
//! land outside it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use picket_formats::tar_names::TarNames;
use sha2::Digest as _;

use crate::Environment;

/// How much of an image is read.
#[derive(Debug, Clone)]
pub struct ImageLimits {
    /// Layers at most.
    pub max_layers: usize,
    /// The largest layer, as its manifest (or the archive) declares it.
    pub max_layer_bytes: u64,
    /// Decompressed bytes of all layers together.
    pub max_unpacked_bytes: u64,
    /// Entries of all layers together.
    pub max_entries: usize,
    /// Bytes written to the scratch folder.
    pub max_extracted_bytes: u64,
    /// A manifest or index document.
    pub max_document_bytes: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_layers: 256,
            max_layer_bytes: 4 << 30,
            max_unpacked_bytes: 32 << 30,
            max_entries: 4_000_000,
            max_extracted_bytes: 8 << 30,
            max_document_bytes: 4 << 20,
        }
    }
}

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not an image this reads.
    #[error(
        "{}: {message}\nhint: give a `docker save` tarball, an OCI image layout folder (with index.json) or a tar of one",
        path.display()
    )]
    NotAnImage {
        /// The file.
        path: PathBuf,
        /// What is missing or wrong.
        message: String,
    },
    /// The image is hostile or broken: refused.
    #[error("{}: {message}; refused", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// An image unpacked (its Python environments only).
#[derive(Debug)]
pub struct Unpacked {
    /// How many layers were applied.
    pub layers: usize,
    /// The environments found, under the scratch folder: each `site-packages` folder with the
    /// prefix it sits under.
    pub environments: Vec<Environment>,
}

/// Where the blobs of an image are: a folder, or entries of a tar (offset, size).
enum Blobs {
    Folder(PathBuf),
    Tar {
        file: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
}

impl Blobs {
    /// The blob at `name` (a path inside the layout) and its size.
    fn open(&self, name: &str) -> std::io::Result<(Box<dyn Read>, u64)> {
        match self {
            Self::Folder(dir) => {
                let path = dir.join(name);
                let size = std::fs::metadata(&path)?.len();
                Ok((Box::new(File::open(path)?), size))
            }
            Self::Tar { file, entries } => {
                let &(offset, size) =
                    entries.get(name.trim_start_matches("./")).ok_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            format!("{name} is not in the archive"),
                        )
                    })?;
                let mut f = File::open(file)?;
                f.seek(SeekFrom::Start(offset))?;
                Ok((Box::new(f.take(size)), size))
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Self::Folder(dir) => dir.join(name).is_file(),
            Self::Tar { entries, .. } => entries.contains_key(name),
        }
    }
}

/// One layer to apply: where its blob is, its declared size and digest when the manifest says.
struct Layer {
    blob: String,
    declared: Option<u64>,
    digest: Option<String>,
}

/// Applies the image's layers in order into `scratch` (Python environments only) and finds the
/// environments there.
pub fn unpack_python(
    image: &Path,
    scratch: &Path,
    limits: &ImageLimits,
) -> Result<Unpacked, ImageError> {
    let io = |source| ImageError::Io {
        path: image.to_owned(),
        source,
    };
    let refused = |message: String| ImageError::Refused {
        path: image.to_owned(),
        message,
    };
    let not_image = |message: &str| ImageError::NotAnImage {
        path: image.to_owned(),
        message: message.to_owned(),
    };
    let blobs = if std::fs::metadata(image).map_err(io)?.is_dir() {
        Blobs::Folder(image.to_owned())
    } else {
        let mut file = File::open(image).map_err(io)?;
        let mut magic = [0; 4];
        let n = file.read(&mut magic).map_err(io)?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] {
            return Err(not_image(
                "a compressed archive; decompress it first (`gunzip`), so its layers can be read in place",
            ));
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut archive = tar::Archive::new(file);
        let mut entries = HashMap::new();
        let mut pending = TarNames::default();
        for entry in archive
            .entries_with_seek()
            .map_err(|e| not_image(&format!("not a tar archive ({e})")))?
            .raw(true)
        {
            let mut entry = entry.map_err(|e| not_image(&format!("not a tar archive ({e})")))?;
            if pending.take(&mut entry).map_err(refused)? {
                continue;
            }
            let (path, _) = pending.apply(&entry).map_err(refused)?;
            let name = String::from_utf8_lossy(&path)
                .trim_start_matches("./")
                .to_owned();
            entries.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Blobs::Tar {
            file: image.to_owned(),
            entries,
        }
    };
    let read_document = |name: &str| -> Result<serde_json::Value, ImageError> {
        let (reader, size) = blobs.open(name).map_err(io)?;
        if size > limits.max_document_bytes {
            return Err(refused(format!(
                "{name} declares {size} bytes, over the {}-byte limit for a manifest",
                limits.max_document_bytes
            )));
        }
        let mut bytes = Vec::new();
        reader
            .take(limits.max_document_bytes)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        serde_json::from_slice(&bytes).map_err(|e| not_image(&format!("{name} is not JSON ({e})")))
    };
    let blob_name = |digest: &str| -> Result<String, ImageError> {
        let (algorithm, hex) = digest
            .split_once(':')
            .filter(|(a, h)| {
                !a.is_empty()
                    && a.chars().all(|c| c.is_ascii_alphanumeric())
                    && !h.is_empty()
                    && h.chars().all(|c| c.is_ascii_hexdigit())
            })
            .ok_or_else(|| refused(format!("digest `{digest}` is not algorithm:hex")))?;
        Ok(format!("blobs/{algorithm}/{hex}"))
    };

    // The layers, lowest first.
    let layers: Vec<Layer> = if blobs.has("manifest.json") {
        // `docker save`: [{"Config": …, "Layers": ["<path in the archive>", …]}].
        let doc = read_document("manifest.json")?;
        let image_entry = doc
            .as_array()
            .and_then(|a| a.first())
            .ok_or_else(|| not_image("manifest.json lists no image"))?;
        image_entry
            .get("Layers")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| not_image("manifest.json has no Layers"))?
            .iter()
            .map(|l| {
                l.as_str()
                    .map(|blob| Layer {
                        blob: blob.to_owned(),
                        declared: None,
                        digest: None,
                    })
                    .ok_or_else(|| not_image("a layer in manifest.json is not a path"))
            })
            .collect::<Result<_, _>>()?
    } else if blobs.has("index.json") {
        // An OCI image layout: index.json → (an index →) a manifest → its layers.
        let mut doc = read_document("index.json")?;
        let mut depth = 0;
        let manifest = loop {
            let first = doc
                .get("manifests")
                .and_then(serde_json::Value::as_array)
                .and_then(|m| m.first())
                .cloned();
            let Some(descriptor) = first else {
                if doc.get("layers").is_some() {
                    break doc;
                }
                return Err(not_image("index.json names no manifest"));
            };
            depth += 1;
            if depth > 4 {
                return Err(refused("indexes nested more than 4 deep".to_owned()));
            }
            let digest = descriptor
                .get("digest")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| not_image("a manifest descriptor has no digest"))?;
            doc = read_document(&blob_name(digest)?)?;
        };
        manifest
            .get("layers")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| not_image("the manifest has no layers"))?
            .iter()
            .map(|l| {
                let digest = l
                    .get("digest")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| not_image("a layer has no digest"))?;
                Ok(Layer {
                    blob: blob_name(digest)?,
                    declared: l.get("size").and_then(serde_json::Value::as_u64),
                    digest: Some(digest.to_owned()),
                })
            })
            .collect::<Result<_, ImageError>>()?
    } else {
        return Err(not_image(
            "neither manifest.json (docker save) nor index.json (OCI)",
        ));
    };
    if layers.len() > limits.max_layers {
        return Err(refused(format!(
            "{} layers, over the limit of {}",
            layers.len(),
            limits.max_layers
        )));
    }

    let mut budget = Budget {
        unpacked: 0,
        entries: 0,
        extracted: 0,
    };
    for (n, layer) in layers.iter().enumerate() {
        let number = n + 1;
        let (reader, size) = blobs.open(&layer.blob).map_err(|e| {
            refused(format!(
                "layer {number} ({}) cannot be read: {e}",
                layer.blob
            ))
        })?;
        for declared in [layer.declared, Some(size)].into_iter().flatten() {
            if declared > limits.max_layer_bytes {
                return Err(refused(format!(
                    "layer {number} declares {declared} bytes, over the {}-byte limit",
                    limits.max_layer_bytes
                )));
            }
        }
        apply_layer(reader, layer, scratch, limits, &mut budget).map_err(|e| match e {
            LayerError::Io(source) => ImageError::Io {
                path: scratch.to_owned(),
                source,
            },
            LayerError::Refused(message) => refused(format!("layer {number}: {message}")),
        })?;
    }
    Ok(Unpacked {
        layers: layers.len(),
        environments: environments(scratch),
    })
}

/// What all layers have used so far.
struct Budget {
    unpacked: u64,
    entries: usize,
    extracted: u64,
}

enum LayerError {
    Io(std::io::Error),
    Refused(String),
}

impl From<std::io::Error> for LayerError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// A reader that counts what passes, hashes it, and fails past a limit.
struct Metered<R> {
    inner: R,
    count: u64,
    limit: u64,
    hasher: Option<sha2::Sha256>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(std::io::Error::other(OVER_LIMIT));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

const OVER_LIMIT: &str = "over the limit";

fn apply_layer(
    reader: Box<dyn Read>,
    layer: &Layer,
    scratch: &Path,
    limits: &ImageLimits,
    budget: &mut Budget,
) -> Result<(), LayerError> {
    let verify = layer
        .digest
        .as_deref()
        .filter(|d| d.starts_with("sha256:"))
        .map(|_| sha2::Sha256::new());
    let mut compressed = BufReader::new(Metered {
        inner: reader,
        count: 0,
        limit: u64::MAX,
        hasher: verify,
    });
    let head = compressed.fill_buf()?.to_vec();
    let decompressed: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(&mut compressed))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(LayerError::Refused(
            "zstd-compressed layers are not read (only tar and tar+gzip)".to_owned(),
        ));
    } else {
        Box::new(&mut compressed)
    };
    let metered = Metered {
        inner: decompressed,
        count: 0,
        limit: limits.max_unpacked_bytes.saturating_sub(budget.unpacked),
        hasher: None,
    };
    let mut archive = tar::Archive::new(metered);
    let mut written_here: HashSet<PathBuf> = HashSet::new();
    let bomb = |e: &std::io::Error| e.to_string().contains(OVER_LIMIT);
    let over = |limits: &ImageLimits| {
        LayerError::Refused(format!(
            "more than {} bytes once decompressed (a tar bomb?)",
            limits.max_unpacked_bytes
        ))
    };
    let entries = archive.entries().map_err(|e| {
        if bomb(&e) {
            over(limits)
        } else {
            LayerError::Refused(format!("not a tar layer ({e})"))
        }
    })?;
    let mut pending = TarNames::default();
    for entry in entries.raw(true) {
        let mut entry = entry.map_err(|e| {
            if bomb(&e) {
                over(limits)
            } else {
                LayerError::Refused(format!("a broken tar entry ({e})"))
            }
        })?;
        budget.entries += 1;
        if budget.entries > limits.max_entries {
            return Err(LayerError::Refused(format!(
                "more than {} entries in all",
                limits.max_entries
            )));
        }
        let refused = |e: String| {
            if e.contains(OVER_LIMIT) {
                over(limits)
            } else {
                LayerError::Refused(e)
            }
        };
        if pending.take(&mut entry).map_err(refused)? {
            continue;
        }
        let (raw, link_name) = pending.apply(&entry).map_err(refused)?;
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let Some(path) = inside(&shown) else {
            return Err(LayerError::Refused(format!(
                "entry `{shown}` leaves the image"
            )));
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = path.parent().unwrap_or(Path::new("")).to_owned();
        if name == ".wh..wh..opq" {
            // Opaque: what lower layers had in this folder is gone.
            let dir = scratch.join(&parent);
            if let Ok(children) = std::fs::read_dir(&dir) {
                for child in children.filter_map(Result::ok) {
                    let rel = parent.join(child.file_name());
                    if !written_here.iter().any(|w| w.starts_with(&rel)) {
                        remove(&child.path())?;
                    }
                }
            }
            continue;
        }
        if let Some(target) = name.strip_prefix(".wh.") {
            remove(&scratch.join(&parent).join(target))?;
            continue;
        }
        let wanted = path.components().any(
            |c| matches!(c, Component::Normal(n) if n == "site-packages" || n == "dist-packages"),
        );
        if !wanted {
            continue;
        }
        let target = scratch.join(&path);
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.is_dir()) {
                remove(&target)?;
            }
            std::fs::create_dir_all(&target)?;
        } else if kind.is_file() || kind.is_hard_link() {
            let size = entry.size();
            budget.extracted += size;
            if budget.extracted > limits.max_extracted_bytes {
                return Err(LayerError::Refused(format!(
                    "more than {} bytes of Python environments",
                    limits.max_extracted_bytes
                )));
            }
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            remove(&target)?;
            if kind.is_hard_link() {
                let linked = link_name
                    .map(|l| String::from_utf8_lossy(&l).into_owned())
                    .and_then(|l| inside(&l));
                if let Some(source) = linked.map(|l| scratch.join(l)).filter(|s| s.is_file()) {
                    std::fs::copy(source, &target)?;
                }
            } else {
                let mut out = File::create(&target)?;
                std::io::copy(&mut entry, &mut out).map_err(|e| {
                    if bomb(&e) {
                        over(limits)
                    } else {
                        LayerError::Io(e)
                    }
                })?;
            }
        }
        // Links and devices are not created: nothing written may lead outside the scratch.
        written_here.insert(path);
    }
    // The rest of the blob (tar padding, a gzip trailer) counts for its digest.
    let metered = archive.into_inner();
    budget.unpacked += metered.count;
    drop(metered);
    std::io::copy(&mut compressed, &mut std::io::sink())?;
    if let (Some(expected), Some(hasher)) = (&layer.digest, compressed.into_inner().hasher) {
        let actual = format!("sha256:{}", picket_formats::hashes::hex(&hasher.finalize()));
        if &actual != expected {
            return Err(LayerError::Refused(format!(
                "its content is {actual}, not the {expected} its manifest names"
            )));
        }
    }
    Ok(())
}

/// An entry's path inside the image (leading `/` and `./` dropped), `None` when it leaves it.
fn inside(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Removes a file or folder if it is there.
fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every `site-packages` / `dist-packages` folder under `root` (not inside another), each an
/// environment under the prefix it sits in.
fn environments(root: &Path) -> Vec<Environment> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_owned(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name();
            if name == "site-packages" || name == "dist-packages" {
                found.push(entry.path());
            } else if depth < 32 {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|sp| Environment {
            root: crate::prefix_of(&sp),
            site_packages: vec![sp],
        })
        .collect()
}
