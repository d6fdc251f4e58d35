//! Bounded reading of tar's name extensions. Iterated the usual way, the tar crate reads a GNU
//! long-name, long-link or pax extension entry whole into memory however large it declares
//! itself, so a hostile archive (an upload's sdist, an image layer) could make a reader allocate
//! gigabytes. Readers iterate raw (`Entries::raw(true)`) and hand each entry to
//! [`TarNames::take`], which reads these with a bound and remembers what they say for the entry
//! that follows ([`TarNames::apply`]).

use std::io::Read;

/// The largest GNU long-name, long-link or pax extension entry read (a path is at most a few
/// KiB; pax records for one entry are short).
pub const MAX_EXTENSION_BYTES: u64 = 64 << 10;

/// What GNU long-name / long-link and pax entries say about the entry that follows them.
#[derive(Debug, Default)]
pub struct TarNames {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
}

impl TarNames {
    /// Consumes `entry` when it is a metadata entry (long name, long link, pax extensions),
    /// remembering what it says for the next entry; `Ok(false)` for an ordinary entry. A metadata
    /// entry over [`MAX_EXTENSION_BYTES`] and GNU sparse entries are refused with the reason.
    ///
    /// # Errors
    /// The reason, for one line of the caller's error.
    pub fn take<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<bool, String> {
        let kind = entry.header().entry_type();
        if kind.is_gnu_sparse() {
            return Err("a GNU sparse entry (not read)".to_owned());
        }
        let what = if kind.is_gnu_longname() {
            "GNU long name"
        } else if kind.is_gnu_longlink() {
            "GNU long link"
        } else if kind.is_pax_local_extensions() {
            "pax extension"
        } else if kind.is_pax_global_extensions() {
            "pax global extension"
        } else {
            return Ok(false);
        };
        let size = entry
            .header()
            .size()
            .map_err(|e| format!("a {what} entry with a broken size ({e})"))?;
        if size > MAX_EXTENSION_BYTES {
            return Err(format!(
                "a {what} entry of {size} bytes (at most {MAX_EXTENSION_BYTES} are read)"
            ));
        }
        let mut bytes = Vec::new();
        entry
            .take(MAX_EXTENSION_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("a broken {what} entry ({e})"))?;
        let trimmed = |mut b: Vec<u8>| {
            while b.last() == Some(&0) {
                b.pop();
            }
            b
        };
        if kind.is_gnu_longname() {
            self.path = Some(trimmed(bytes));
        } else if kind.is_gnu_longlink() {
            self.link = Some(trimmed(bytes));
        } else if kind.is_pax_local_extensions() {
            for record in tar::PaxExtensions::new(&bytes) {
                let record = record.map_err(|e| format!("a broken pax record ({e})"))?;
                match record.key_bytes() {
                    b"path" => self.path = Some(record.value_bytes().to_vec()),
                    b"linkpath" => self.link = Some(record.value_bytes().to_vec()),
                    b"size" => {
                        let size = std::str::from_utf8(record.value_bytes())
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                            .ok_or("a pax size record that is not a number")?;
                        self.size = Some(size);
                    }
                    _ => {}
                }
            }
        }
        Ok(true)
    }

    /// The path and link name of `entry`, with what the metadata before it said; resets. A pax
    /// `size` other than the header's is refused: raw iteration goes by the header's, so such an
    /// entry (one over 8 GiB, the header's limit) cannot be read. Writers commonly record the
    /// size in pax although the header holds it; those agree.
    ///
    /// # Errors
    /// The reason, for one line of the caller's error.
    pub fn apply<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
        if let Some(size) = self.size.take() {
            let header = entry.header().size().unwrap_or(u64::MAX);
            if size != header {
                return Err(format!(
                    "a pax size record of {size} bytes for an entry whose header says {header} (entries over 8 GiB are not read)"
                ));
            }
        }
        let path = self
            .path
            .take()
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let link = self
            .link
            .take()
            .or_else(|| entry.link_name_bytes().map(std::borrow::Cow::into_owned));
        Ok((path, link))
    }
}
