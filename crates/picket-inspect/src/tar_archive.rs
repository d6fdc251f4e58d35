//! Walking a tar archive, plain or gzip-compressed (sdists).
//!
//! The tar reader sits on a counting reader, so every decompressed byte — entry data, headers,
//! padding, long-name records — counts against the limits, and a bomb stops where it crosses them.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use flate2::read::GzDecoder;
use picket_formats::tar_names::TarNames;
use tar::EntryType;

use crate::InspectError;
use crate::collector::{Collector, check_stream};

/// Counts bytes read and stops with a recorded error once a limit is crossed.
struct Counting<R> {
    inner: R,
    count: u64,
    check: Box<dyn Fn(u64) -> Result<(), InspectError>>,
    tripped: Rc<RefCell<Option<InspectError>>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Err(e) = (self.check)(self.count) {
            let message = e.to_string();
            *self.tripped.borrow_mut() = Some(e);
            return Err(io::Error::other(message));
        }
        Ok(n)
    }
}

pub(crate) fn walk_gz(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), InspectError> {
    walk_reader(GzDecoder::new(bytes), true, collector)
}

pub(crate) fn walk(bytes: &[u8], collector: &mut Collector<'_>) -> Result<(), InspectError> {
    walk_reader(bytes, false, collector)
}

fn walk_reader<R: Read>(
    reader: R,
    gzip: bool,
    collector: &mut Collector<'_>,
) -> Result<(), InspectError> {
    let tripped = Rc::new(RefCell::new(None));
    let limits = *collector.limits();
    let archive_size = collector.archive_size();
    let counting = Counting {
        inner: reader,
        count: 0,
        check: Box::new(move |count| check_stream(&limits, archive_size, count)),
        tripped: Rc::clone(&tripped),
    };
    let mut archive = tar::Archive::new(counting);
    // A stream error is reported as ours when the counting reader tripped, else as gzip or tar.
    let fail = |index: usize, e: io::Error| -> InspectError {
        if let Some(ours) = tripped.borrow_mut().take() {
            return ours;
        }
        let message = e.to_string();
        if gzip && e.kind() == io::ErrorKind::InvalidInput || message.contains("corrupt deflate") {
            return InspectError::Gzip(message);
        }
        InspectError::Tar { index, message }
    };
    // Raw, so that long names and pax records are read with a bound (see `tar_names`).
    let entries = archive.entries().map_err(|e| fail(0, e))?.raw(true);
    let mut names = TarNames::default();
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| fail(index, e))?;
        let named = match names.take(&mut entry) {
            Ok(true) => continue,
            Ok(false) => names.apply(&entry),
            Err(message) => Err(message),
        };
        let (path, link) = named.map_err(|message| {
            tripped
                .borrow_mut()
                .take()
                .unwrap_or(InspectError::Tar { index, message })
        })?;
        let path = String::from_utf8_lossy(&path).into_owned();
        match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous => {
                collector.add_file(&path, &mut entry, None, &|_, e| fail(index, e))?;
            }
            EntryType::Directory => collector.add_dir(&path)?,
            kind @ (EntryType::Symlink | EntryType::Link) => {
                let target = link
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                collector.add_link(&path, &target, kind == EntryType::Link)?;
            }
            // Archive-wide PAX records carry no file.
            EntryType::XGlobalHeader => {}
            other => return Err(Collector::special(&path, &format!("{other:?}"))),
        }
    }
    if let Some(ours) = tripped.borrow_mut().take() {
        return Err(ours);
    }
    Ok(())
}
