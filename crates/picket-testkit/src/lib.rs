//! Archives for tests, benchmarks and fuzz seeds: small well-formed wheels and sdists, and every
//! hostile shape the inspector must refuse; and the database a test runs on ([`database`]). Only
//! tests and tools depend on this crate.
#![deny(missing_docs)]

pub mod database;

use std::io::{Cursor, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// Deterministic, poorly compressible bytes (a linear congruential generator).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

/// A zip with the given files, deflated.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(false);
    for (name, content) in files {
        writer.start_file(*name, options).expect("start zip entry");
        writer.write_all(content).expect("write zip entry");
    }
    writer.finish().expect("finish zip").into_inner()
}

/// `METADATA` text for a wheel.
pub fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test package\n")
        .into_bytes()
}

/// A wheel of `name` `version` holding `files` plus a `.dist-info` with METADATA and WHEEL.
pub fn wheel(name: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let dist_info = format!("{}-{version}.dist-info", name.replace('-', "_"));
    let meta = metadata(name, version);
    let wheel_file = b"Wheel-Version: 1.0\nGenerator: picket-testkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let meta_path = format!("{dist_info}/METADATA");
    let wheel_path = format!("{dist_info}/WHEEL");
    let mut all: Vec<(&str, &[u8])> = files.to_vec();
    all.push((&meta_path, &meta));
    all.push((&wheel_path, wheel_file));
    zip(&all)
}

/// A wheel pip and uv install: [`wheel`] plus a `RECORD` with every file's sha256 and size.
pub fn installable_wheel(name: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    use sha2::Digest;
    use std::fmt::Write as _;
    let dist_info = format!("{}-{version}.dist-info", name.replace('-', "_"));
    let meta = metadata(name, version);
    let wheel_file: &[u8] = b"Wheel-Version: 1.0\nGenerator: picket-testkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let meta_path = format!("{dist_info}/METADATA");
    let wheel_path = format!("{dist_info}/WHEEL");
    let record_path = format!("{dist_info}/RECORD");
    let mut all: Vec<(&str, &[u8])> = files.to_vec();
    all.push((&meta_path, &meta));
    all.push((&wheel_path, wheel_file));
    let mut record = String::new();
    for (path, bytes) in &all {
        let digest = base64url(&sha2::Sha256::digest(bytes));
        let _ = writeln!(record, "{path},sha256={digest},{}", bytes.len());
    }
    record.push_str(&record_path);
    record.push_str(",,\n");
    all.push((&record_path, record.as_bytes()));
    zip(&all)
}

/// Base64 with the URL-safe alphabet and no padding, as `RECORD` writes hashes.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// One entry of a hand-built tar: raw path bytes, so hostile names are possible.
pub enum TarEntry<'a> {
    /// A regular file.
    File(&'a [u8], &'a [u8]),
    /// A symbolic link and its target.
    Symlink(&'a [u8], &'a [u8]),
    /// A hard link and its target.
    Hardlink(&'a [u8], &'a [u8]),
    /// A character device.
    CharDevice(&'a [u8]),
}

fn set_raw(slot: &mut [u8], value: &[u8]) {
    slot.fill(0);
    slot[..value.len()].copy_from_slice(value);
}

/// A plain tar, headers written byte by byte.
pub fn tar(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (path, data, kind, link): (&[u8], &[u8], tar::EntryType, &[u8]) = match entry {
            TarEntry::File(p, d) => (p, d, tar::EntryType::Regular, b""),
            TarEntry::Symlink(p, t) => (p, b"", tar::EntryType::Symlink, t),
            TarEntry::Hardlink(p, t) => (p, b"", tar::EntryType::Link, t),
            TarEntry::CharDevice(p) => (p, b"", tar::EntryType::Char, b""),
        };
        set_raw(&mut header.as_old_mut().name, path);
        set_raw(&mut header.as_old_mut().linkname, link);
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, data).expect("append tar entry");
    }
    builder.into_inner().expect("finish tar")
}

/// Gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A small well-formed sdist (`.tar.gz`).
pub fn sdist(name: &str, version: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let root = format!("{}-{version}", name.replace('-', "_"));
    let paths: Vec<String> = files
        .iter()
        .map(|(p, _)| format!("{root}/{p}"))
        .chain([format!("{root}/PKG-INFO")])
        .collect();
    let meta = metadata(name, version);
    let mut entries: Vec<TarEntry<'_>> = files
        .iter()
        .zip(&paths)
        .map(|((_, d), p)| TarEntry::File(p.as_bytes(), d))
        .collect();
    entries.push(TarEntry::File(paths[files.len()].as_bytes(), &meta));
    gzip(&tar(&entries))
}

/// A hostile archive and what the inspector must say about it.
pub struct Hostile {
    /// A short name for the case.
    pub case: &'static str,
    /// The filename to present it under.
    pub filename: &'static str,
    /// The archive.
    pub bytes: Vec<u8>,
    /// A part of the one-line error the inspector must give.
    pub expect: &'static str,
}

/// Every hostile archive, each with the error it must produce under default limits.
pub fn hostile_archives() -> Vec<Hostile> {
    let good = wheel("fine", "1.0", &[("fine/__init__.py", b"x = 1\n")]);
    let mut cases = vec![
        Hostile {
            case: "zip-bomb-ratio",
            filename: "bomb-1.0-py3-none-any.whl",
            bytes: wheel("bomb", "1.0", &[("bomb/zeros.bin", &vec![0u8; 24 << 20])]),
            expect: "a decompression bomb",
        },
        Hostile {
            case: "path-traversal",
            filename: "trav-1.0-py3-none-any.whl",
            bytes: wheel("trav", "1.0", &[("../../.bashrc", b"evil")]),
            expect: "climbs out with `..`",
        },
        Hostile {
            case: "absolute-path",
            filename: "abs-1.0-py3-none-any.whl",
            bytes: wheel("abs", "1.0", &[("/etc/cron.d/evil", b"* * * * * root id")]),
            expect: "is absolute",
        },
        Hostile {
            case: "too-many-entries",
            filename: "many-1.0-py3-none-any.whl",
            bytes: {
                let names: Vec<String> = (0..100_000).map(|i| format!("many/f{i}.txt")).collect();
                let files: Vec<(&str, &[u8])> =
                    names.iter().map(|n| (n.as_str(), &b""[..])).collect();
                zip(&files)
            },
            expect: "more than 50000 entries",
        },
        Hostile {
            case: "truncated-zip",
            filename: "cut-1.0-py3-none-any.whl",
            bytes: good[..good.len() / 2].to_vec(),
            expect: "not a valid zip archive",
        },
        Hostile {
            case: "bad-central-directory",
            filename: "cd-1.0-py3-none-any.whl",
            bytes: {
                let mut bytes = good.clone();
                let cd = find(&bytes, b"PK\x01\x02").expect("central directory");
                bytes[cd + 2..cd + 4].copy_from_slice(b"XX");
                bytes
            },
            expect: "not a valid zip archive",
        },
        Hostile {
            case: "tar-bad-header",
            filename: "badtar-1.0.tar.gz",
            bytes: {
                let mut raw = tar(&[TarEntry::File(b"badtar-1.0/PKG-INFO", b"x")]);
                raw[148..156].copy_from_slice(b"9999999\0");
                gzip(&raw)
            },
            expect: "not a valid tar archive",
        },
        Hostile {
            case: "tar-symlink-escape",
            filename: "link-1.0.tar.gz",
            bytes: gzip(&tar(&[TarEntry::Symlink(
                b"link-1.0/setup.cfg",
                b"../../../etc/passwd",
            )])),
            expect: "points outside the archive",
        },
        Hostile {
            case: "tar-hardlink-escape",
            filename: "hard-1.0.tar.gz",
            bytes: gzip(&tar(&[TarEntry::Hardlink(b"hard-1.0/x", b"../outside")])),
            expect: "hard link `hard-1.0/x` points outside",
        },
        Hostile {
            case: "tar-device",
            filename: "dev-1.0.tar.gz",
            bytes: gzip(&tar(&[TarEntry::CharDevice(b"dev-1.0/null")])),
            expect: "is a special file",
        },
        Hostile {
            // A GNU long name declaring 1 GiB: refused at its header, nothing of it read (the tar
            // crate alone would read it whole into memory).
            case: "tar-huge-long-name",
            filename: "longname-1.0.tar.gz",
            bytes: {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::GNULongName);
                header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
                header.set_size(1 << 30);
                header.set_cksum();
                let mut raw = header.as_bytes().to_vec();
                raw.extend(std::iter::repeat_n(b'a', 64 << 10));
                gzip(&raw)
            },
            expect: "a GNU long name entry of 1073741824 bytes (at most 65536 are read)",
        },
        Hostile {
            case: "tar-gz-bomb",
            filename: "tgzbomb-1.0.tar.gz",
            bytes: gzip(&tar(&[TarEntry::File(
                b"tgzbomb-1.0/zeros",
                &vec![0u8; 24 << 20],
            )])),
            expect: "a decompression bomb",
        },
        Hostile {
            case: "not-gzip",
            filename: "plain-1.0.tar.gz",
            bytes: b"this is not gzip at all".to_vec(),
            expect: "not a valid",
        },
        Hostile {
            case: "metadata-invalid-utf8",
            filename: "utf-1.0-py3-none-any.whl",
            bytes: zip(&[(
                "utf-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: utf\nVersion: 1.0\nSummary: caf\xe9\n",
            )]),
            expect: "line 4 is not valid UTF-8",
        },
        Hostile {
            case: "metadata-huge-line",
            filename: "huge-1.0-py3-none-any.whl",
            bytes: {
                let mut meta =
                    b"Metadata-Version: 2.1\nName: huge\nVersion: 1.0\nSummary: ".to_vec();
                meta.extend(noise(1 << 20, 7).iter().map(|b| b'a' + b % 26));
                zip(&[("huge-1.0.dist-info/METADATA", &meta)])
            },
            expect: "line 4 is 1048585 bytes long",
        },
        Hostile {
            case: "wheel-without-metadata",
            filename: "nometa-1.0-py3-none-any.whl",
            bytes: zip(&[("nometa/__init__.py", b"")]),
            expect: "no `.dist-info/METADATA`",
        },
    ];
    cases.push(Hostile {
        case: "zip-symlink-escape",
        filename: "zlink-1.0-py3-none-any.whl",
        bytes: {
            let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
            writer
                .add_symlink(
                    "zlink/data",
                    "../../../../etc/shadow",
                    SimpleFileOptions::default(),
                )
                .expect("symlink");
            writer.finish().expect("finish").into_inner()
        },
        expect: "symlink `zlink/data` points outside",
    });
    cases
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_hashes_are_base64url_without_padding() {
        // sha256("abc"), as Python's urlsafe_b64encode(...).rstrip(b"=") writes it.
        use sha2::Digest;
        assert_eq!(
            super::base64url(&sha2::Sha256::digest(b"abc")),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
        assert_eq!(super::base64url(b"ab"), "YWI");
    }
}
