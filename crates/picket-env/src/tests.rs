//! Environments written by hand, for the cases a real installer never produces (forged RECORDs,
//! link loops); tests/scan.rs covers real virtualenvs made by `python -m venv` and pip.

use super::*;
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `sha256=…` of `bytes` as a RECORD writes it.
fn digest(bytes: &[u8]) -> String {
    format!(
        "sha256={}",
        data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(bytes))
    )
}

/// A virtualenv at `root` with one distribution `demo` 1.0 whose RECORD is `files` (listed with
/// their digests) plus `extra_rows`; returns its site-packages folder.
fn venv(root: &Path, files: &[(&str, &[u8])], extra_rows: &str) -> PathBuf {
    let sp = root.join("lib/python3.13/site-packages");
    let info = sp.join("demo-1.0.dist-info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(root.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    )
    .unwrap();
    let mut record = String::new();
    for (path, bytes) in files {
        let full = sp.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, bytes).unwrap();
        let _ = writeln!(record, "{path},{},{}", digest(bytes), bytes.len());
    }
    record.push_str(extra_rows);
    record.push_str("demo-1.0.dist-info/RECORD,,\n");
    std::fs::write(info.join("RECORD"), record).unwrap();
    sp
}

fn read_one(root: &Path) -> SitePackages {
    let env = Environment::locate(root).unwrap();
    let mut all = read(&env, 2).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn messages(sp: &SitePackages) -> Vec<String> {
    sp.distributions
        .iter()
        .flat_map(|d| &d.problems)
        .chain(&sp.problems)
        .map(|p| p.message.clone())
        .collect()
}

#[test]
fn an_untouched_environment_has_no_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = venv(
        tmp.path(),
        &[
            ("demo/__init__.py", b"x = 1\n"),
            ("demo/data/table.csv", b"a,b\n"),
        ],
        "demo/__pycache__/__init__.cpython-313.pyc,,\n../../../bin/demo,,\n",
    );
    // What Python writes at import is not an addition.
    std::fs::create_dir_all(sp.join("demo/__pycache__")).unwrap();
    std::fs::write(sp.join("demo/__pycache__/__init__.cpython-314.pyc"), b"x").unwrap();
    let read = read_one(tmp.path());
    assert_eq!(read.distributions.len(), 1);
    let d = &read.distributions[0];
    assert_eq!((d.name.normalized(), d.version.as_str()), ("demo", "1.0"));
    assert!(d.verified);
    assert!(messages(&read).is_empty(), "{:?}", messages(&read));
}

/// `demo` with `__init__.py` and `core.py`, `core.py` then edited keeping its size.
fn two_modules_one_edited(root: &Path) -> PathBuf {
    let sp = venv(
        root,
        &[
            ("demo/__init__.py", b"x = 1\n"),
            ("demo/core.py", b"y = 2\n"),
        ],
        "",
    );
    std::fs::write(sp.join("demo/core.py"), b"y = 3\n").unwrap();
    sp
}

#[test]
fn changed_and_added_files_are_tampered_at_their_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = two_modules_one_edited(tmp.path());
    std::fs::write(sp.join("demo/__init__.py"), b"import os; os.system('id')\n").unwrap();
    std::fs::write(sp.join("demo/helper.py"), b"z = 1\n").unwrap();
    std::fs::write(sp.join("demo/notes.txt"), b"hi\n").unwrap();
    // An unlisted module's cached bytecode is an addition too.
    std::fs::create_dir_all(sp.join("demo/__pycache__")).unwrap();
    std::fs::write(sp.join("demo/__pycache__/evil.cpython-313.pyc"), b"x").unwrap();
    let read = read_one(tmp.path());
    let problems = &read.distributions[0].problems;
    let by_path: BTreeMap<String, (Kind, Weight, &str)> = problems
        .iter()
        .map(|p| {
            (
                p.path.strip_prefix(&sp).unwrap().display().to_string(),
                (p.kind, p.weight, p.message.as_str()),
            )
        })
        .collect();
    assert_eq!(
        by_path.keys().collect::<Vec<_>>(),
        [
            "demo/__init__.py",
            "demo/__pycache__/evil.cpython-313.pyc",
            "demo/core.py",
            "demo/helper.py",
            "demo/notes.txt"
        ],
        "{problems:#?}"
    );
    let (kind, weight, message) = by_path["demo/core.py"];
    assert_eq!((kind, weight), (Kind::Tampered, Weight::High));
    assert!(
        message.contains("differs from its RECORD (sha256 "),
        "{message}"
    );
    assert!(
        by_path["demo/__init__.py"]
            .2
            .contains("bytes, RECORD says 6")
    );
    assert!(by_path["demo/helper.py"].2.contains("not in its RECORD"));
    assert_eq!(by_path["demo/helper.py"].1, Weight::High);
    assert_eq!(by_path["demo/notes.txt"].1, Weight::Medium);
}

#[test]
fn record_paths_outside_the_environment_are_refused_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("env");
    // A file outside the environment whose digest the forged RECORD gets wrong: were it read,
    // it would be reported as changed.
    std::fs::write(tmp.path().join("secret"), b"outside\n").unwrap();
    let escape = "../../../../secret";
    let rows = format!(
        "{escape},{},1\n/etc/passwd,{},1\n../../../bin/ok,,\n",
        digest(b"not it"),
        digest(b"not it")
    );
    venv(&root, &[("demo/__init__.py", b"")], &rows);
    let read = read_one(&root);
    let m = messages(&read);
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(
        m[0].contains(
            "line 2 lists `../../../../secret`, outside the environment; refused, not read"
        ),
        "{}",
        m[0]
    );
    assert!(
        m[1].contains("line 3 lists `/etc/passwd`, outside the environment"),
        "{}",
        m[1]
    );
    assert!(
        m.iter()
            .all(|m| !m.contains('\n') && !m.contains("differs"))
    );
}

#[cfg(unix)]
#[test]
fn links_out_of_the_environment_and_link_loops_neither_escape_nor_hang() {
    use std::os::unix::fs::symlink;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("env");
    std::fs::write(tmp.path().join("secret"), b"outside\n").unwrap();
    let sp = venv(
        &root,
        &[("demo/__init__.py", b""), ("demo/linked.py", b"a = 1\n")],
        &format!("demo/loop/x.py,{},1\n", digest(b"x")),
    );
    // A listed file replaced by a link out of the environment.
    std::fs::remove_file(sp.join("demo/linked.py")).unwrap();
    symlink(tmp.path().join("secret"), sp.join("demo/linked.py")).unwrap();
    // Loops: a folder linking to itself, a link to its parent inside the package, and a
    // dist-info that is a loop.
    symlink(sp.join("demo/loop"), sp.join("demo/loop")).unwrap();
    symlink(sp.join("demo"), sp.join("demo/up")).unwrap();
    symlink(sp.join("spin.dist-info"), sp.join("spin.dist-info")).unwrap();
    let started = std::time::Instant::now();
    let read = read_one(&root);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let m = messages(&read);
    assert!(
        m.iter().any(|m| m.contains("linked.py is a link to")
            && m.contains("outside the environment; refused, not read")),
        "{m:#?}"
    );
    assert!(
        m.iter()
            .any(|m| m.contains("demo/loop/x.py cannot be checked")),
        "{m:#?}"
    );
    // The links themselves are unlisted entries of the package's folder.
    assert!(
        m.iter()
            .any(|m| m.contains("demo/up is in demo's folders but not in its RECORD"))
    );
    assert!(
        read.warnings.iter().any(|w| w.contains("spin.dist-info")),
        "{:?}",
        read.warnings
    );
}

#[test]
fn pth_files_that_run_code() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = venv(
        tmp.path(),
        &[
            ("demo/__init__.py", b""),
            ("demo-hook.pth", b"import demo\n"),
            ("paths.pth", b"/opt/extra\n"),
        ],
        "",
    );
    std::fs::write(
        sp.join("planted.pth"),
        b"/opt\nimport os;exec('print(1)')\n",
    )
    .unwrap();
    std::fs::write(sp.join("plain.pth"), b"/opt/other\n").unwrap();
    std::fs::write(sp.join("sitecustomize.py"), b"print('hi')\n").unwrap();
    let read = read_one(tmp.path());
    let shipped = &read.distributions[0].problems;
    assert_eq!(shipped.len(), 1, "{shipped:#?}");
    assert_eq!(
        (shipped[0].kind, shipped[0].weight),
        (Kind::PthCode, Weight::Medium)
    );
    assert!(
        shipped[0].message.contains(
            "(installed by demo) runs code at every Python start (line 1: `import demo`)"
        )
    );
    let loose: Vec<_> = read
        .problems
        .iter()
        .map(|p| {
            (
                p.kind,
                p.weight,
                p.path.file_name().unwrap().to_string_lossy().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        loose,
        [
            (Kind::PthCode, Weight::High, "planted.pth".to_owned()),
            (Kind::PthCode, Weight::High, "sitecustomize.py".to_owned())
        ]
    );
    assert!(
        read.problems[0]
            .message
            .contains("line 2: `import os;exec('print(1)')`")
    );
}

#[test]
fn a_site_packages_folder_and_broken_distributions() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = venv(tmp.path(), &[("demo/__init__.py", b"")], "");
    // An egg-info (no RECORD), a dist-info without metadata (named by its folder), a broken RECORD.
    std::fs::create_dir_all(sp.join("old.egg-info")).unwrap();
    std::fs::write(
        sp.join("old.egg-info/PKG-INFO"),
        "Metadata-Version: 1.0\nName: old\nVersion: 0.1\n",
    )
    .unwrap();
    std::fs::create_dir_all(sp.join("bare-2.0.dist-info")).unwrap();
    std::fs::create_dir_all(sp.join("broken-1.0.dist-info")).unwrap();
    std::fs::write(sp.join("broken-1.0.dist-info/RECORD"), "a.py,sha256=YWI\n").unwrap();
    let env = Environment::locate(&sp).unwrap();
    assert_eq!(env.root, tmp.path().to_owned());
    let read = &read(&env, 1).unwrap()[0];
    let names: Vec<_> = read
        .distributions
        .iter()
        .map(|d| {
            (
                d.name.normalized().to_owned(),
                d.version.clone(),
                d.verified,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("bare".to_owned(), "2.0".to_owned(), false),
            ("broken".to_owned(), "1.0".to_owned(), false),
            ("demo".to_owned(), "1.0".to_owned(), true),
            ("old".to_owned(), "0.1".to_owned(), false),
        ]
    );
    assert!(
        read.distributions[1].problems[0]
            .message
            .contains("RECORD cannot be read (line 1: 2 fields")
    );
    assert!(
        read.warnings
            .iter()
            .any(|w| w.contains("3 of 4 distributions have no RECORD"))
    );
}

#[test]
fn what_is_not_an_environment_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let e = Environment::locate(tmp.path()).unwrap_err().to_string();
    assert!(
        e.contains("not a virtualenv or site-packages folder"),
        "{e}"
    );
    assert!(e.contains("\nhint: "), "{e}");
    let e = Environment::locate(&tmp.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing: No such file"), "{e}");
}

/// Image layouts written by hand: what no image tool writes (hostile layers) and the rules
/// (order, whiteouts) checked exactly; tests/scan.rs covers images made by umoci and skopeo.
mod images {
    use super::*;
    use crate::image::{ImageLimits, unpack_python};
    use std::io::Write as _;

    /// A layer: `(path, Some(content))` files, `(path, None)` folders.
    fn layer(entries: &[(&str, Option<&[u8]>)], gzip: bool) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let mut header = tar::Header::new_gnu();
            match content {
                Some(bytes) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(bytes.len() as u64);
                    header.set_mode(0o644);
                    builder.append_data(&mut header, path, *bytes).unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    header.set_mode(0o755);
                    builder.append_data(&mut header, path, &[][..]).unwrap();
                }
            }
        }
        let bytes = builder.into_inner().unwrap();
        if !gzip {
            return bytes;
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        gz.finish().unwrap()
    }

    /// An OCI layout at `dir` with `layers` (blob bytes, declared size override).
    fn layout(dir: &Path, layers: &[(Vec<u8>, Option<u64>)]) {
        let blobs = dir.join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        let put = |bytes: &[u8]| {
            let hex = picket_formats::hashes::sha256_hex(bytes);
            std::fs::write(blobs.join(&hex), bytes).unwrap();
            (format!("sha256:{hex}"), bytes.len() as u64)
        };
        let descriptors: Vec<serde_json::Value> = layers
            .iter()
            .map(|(bytes, declared)| {
                let (digest, size) = put(bytes);
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest,
                    "size": declared.unwrap_or(size),
                })
            })
            .collect();
        let (config, config_size) = put(b"{}");
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
            "layers": descriptors,
        });
        let (digest, size) = put(manifest.to_string().as_bytes());
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion": "1.0.0"}"#).unwrap();
        std::fs::write(
            dir.join("index.json"),
            serde_json::json!({"schemaVersion": 2, "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size}
            ]})
            .to_string(),
        )
        .unwrap();
    }

    const META: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

    #[test]
    fn layers_apply_in_order_with_whiteouts() {
        let tmp = tempfile::tempdir().unwrap();
        let sp = "usr/local/lib/python3.12/site-packages";
        let old = "opt/old/lib/python3.12/site-packages";
        let record = format!(
            "demo/__init__.py,{},6\ndemo-1.0.dist-info/RECORD,,\n",
            digest(b"x = 1\n")
        );
        let lower = layer(
            &[
                (sp, None),
                (&format!("{sp}/demo-1.0.dist-info/METADATA"), Some(META)),
                (
                    &format!("{sp}/demo-1.0.dist-info/RECORD"),
                    Some(record.as_bytes()),
                ),
                (&format!("{sp}/demo/__init__.py"), Some(b"x = 1\n")),
                (&format!("{sp}/gone/x.py"), Some(b"")),
                (&format!("{old}/demo-1.0.dist-info/METADATA"), Some(META)),
                ("etc/passwd", Some(b"not unpacked")),
            ],
            true,
        );
        let upper = layer(
            &[
                // The old environment deleted, a folder made opaque, a file changed.
                ("opt/old/lib/python3.12/.wh.site-packages", Some(b"")),
                (&format!("{sp}/gone/.wh..wh..opq"), Some(b"")),
                (&format!("{sp}/gone/new.py"), Some(b"")),
                (&format!("{sp}/demo/__init__.py"), Some(b"x = 2\n")),
            ],
            false,
        );
        let image = tmp.path().join("image");
        layout(&image, &[(lower, None), (upper, None)]);
        let scratch = tmp.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let unpacked = unpack_python(&image, &scratch, &ImageLimits::default()).unwrap();
        assert_eq!(unpacked.layers, 2);
        assert!(
            !scratch.join("etc/passwd").exists(),
            "only environments are unpacked"
        );
        assert!(!scratch.join(format!("{sp}/gone/x.py")).exists());
        assert!(scratch.join(format!("{sp}/gone/new.py")).exists());
        let envs = unpacked.environments;
        assert_eq!(envs.len(), 1, "{envs:?}");
        assert_eq!(envs[0].root, scratch.join("usr/local"));
        let mut sites = read(&envs[0], 1).unwrap();
        relabel(&mut sites, &scratch, "image:");
        let site = &sites[0];
        assert_eq!(
            site.path,
            Path::new("image:/usr/local/lib/python3.12/site-packages")
        );
        let problems = &site.distributions[0].problems;
        let changed = problems
            .iter()
            .find(|p| p.message.contains("differs"))
            .unwrap();
        assert_eq!(
            changed.path,
            Path::new(&format!("image:/{sp}/demo/__init__.py"))
        );
        assert!(
            changed
                .message
                .starts_with(&format!("image:/{sp}/demo/__init__.py differs"))
        );
    }

    fn refusal(layers: &[(Vec<u8>, Option<u64>)], limits: &ImageLimits) -> String {
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("image");
        layout(&image, layers);
        let scratch = tmp.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let e = unpack_python(&image, &scratch, limits)
            .unwrap_err()
            .to_string();
        // Nothing outside the scratch folder: the tempdir holds only the image and the scratch.
        let mut names: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["image", "scratch"]);
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    /// A pax extension entry holding one record, `LEN key=value\n` (LEN counting itself).
    fn pax_entry(key: &str, value: &str) -> Vec<u8> {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}").len() + body.len() != len {
            len += 1;
        }
        let record = format!("{len}{body}").into_bytes();
        raw_entry(
            tar::EntryType::XHeader,
            "PaxHeaders/x",
            &record,
            record.len() as u64,
        )
    }

    /// A raw entry of `kind` named `name` with `data`, its size declared as `declared`.
    fn raw_entry(kind: tar::EntryType, name: &str, data: &[u8], declared: u64) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(declared);
        header.set_mode(0o644);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn long_names_in_layers_are_read_and_oversized_ones_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let sp = "usr/local/lib/python3.12/site-packages";
        // A GNU long name (the tar crate writes one for a path over 100 bytes) and a pax path.
        let deep = format!("{sp}/demo/{}/long.py", "nested".repeat(20));
        let mut bytes = layer(&[(&deep, Some(b"x = 1\n"))], false);
        bytes.truncate(bytes.len() - 1024); // the end-of-archive blocks
        let paxed = format!("{sp}/paxed/renamed.py");
        bytes.extend(pax_entry("path", &paxed));
        bytes.extend(raw_entry(tar::EntryType::Regular, "short.py", b"y\n", 2));
        bytes.extend([0; 1024]);
        let image = tmp.path().join("image");
        layout(&image, &[(bytes, None)]);
        let scratch = tmp.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        unpack_python(&image, &scratch, &ImageLimits::default()).unwrap();
        assert_eq!(std::fs::read(scratch.join(&deep)).unwrap(), b"x = 1\n");
        assert_eq!(std::fs::read(scratch.join(&paxed)).unwrap(), b"y\n");
        assert!(!scratch.join("short.py").exists());

        // A long name that declares 1 GiB is refused at its header: nothing of it is read.
        let limits = ImageLimits::default();
        let mut huge = raw_entry(tar::EntryType::GNULongName, "././@LongLink", b"a", 1 << 30);
        huge.extend([0; 1024]);
        let e = refusal(&[(huge, None)], &limits);
        assert!(
            e.contains(
                "layer 1: a GNU long name entry of 1073741824 bytes (at most 65536 are read)"
            ),
            "{e}"
        );
        // A pax size record that disagrees with the header (raw reading goes by the header's).
        let mut sized = pax_entry("size", "9000000000");
        sized.extend(raw_entry(tar::EntryType::Regular, "x", b"ab", 2));
        sized.extend([0; 1024]);
        let e = refusal(&[(sized, None)], &limits);
        assert!(
            e.contains("a pax size record of 9000000000 bytes for an entry whose header says 2"),
            "{e}"
        );
    }

    #[test]
    fn hostile_layers_are_refused_in_one_line() {
        let limits = ImageLimits::default();
        // An entry that climbs out.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_old();
        {
            let raw = header.as_old_mut();
            raw.name[..31].copy_from_slice(b"../../x/site-packages/escape.p\0");
        }
        header.set_size(1);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &b"x"[..]).unwrap();
        let escape = builder.into_inner().unwrap();
        let e = refusal(&[(escape, None)], &limits);
        assert!(
            e.contains("layer 1: entry `../../x/site-packages/escape.p` leaves the image; refused"),
            "{e}"
        );

        // A layer that declares 10 GB.
        let e = refusal(
            &[(layer(&[("a", Some(b""))], true), Some(10 << 30))],
            &limits,
        );
        assert!(
            e.contains("layer 1 declares 10737418240 bytes, over the"),
            "{e}"
        );

        // A tar bomb: 64 MiB of zeros in a small gzip, against a 16 MiB budget.
        let zeros = vec![0u8; 64 << 20];
        let bomb = layer(
            &[("usr/lib/python3/dist-packages/z.bin", Some(&zeros))],
            true,
        );
        assert!(bomb.len() < 1 << 20);
        let small = ImageLimits {
            max_unpacked_bytes: 16 << 20,
            ..ImageLimits::default()
        };
        let e = refusal(&[(bomb, None)], &small);
        assert!(
            e.contains("layer 1: more than 16777216 bytes once decompressed (a tar bomb?)"),
            "{e}"
        );

        // zstd, and a layer whose bytes are not its digest's.
        let e = refusal(&[(vec![0x28, 0xb5, 0x2f, 0xfd, 0, 0], None)], &limits);
        assert!(e.contains("zstd-compressed layers are not read"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let image = tmp.path().join("image");
        layout(&image, &[(layer(&[("a", Some(b"1"))], false), None)]);
        for blob in std::fs::read_dir(image.join("blobs/sha256")).unwrap() {
            let path = blob.unwrap().path();
            let mut bytes = std::fs::read(&path).unwrap();
            if bytes.starts_with(b"a\0") {
                let at = 512;
                bytes[at] = b'2';
                std::fs::write(&path, bytes).unwrap();
            }
        }
        let e = unpack_python(&image, tmp.path(), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("layer 1: its content is sha256:") && e.contains("not the sha256:"),
            "{e}"
        );

        // Not an image.
        let e = unpack_python(tmp.path(), tmp.path(), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("neither manifest.json (docker save) nor index.json (OCI)")
                && e.contains("\nhint: "),
            "{e}"
        );
    }
}

#[test]
fn by_size_alone_a_same_size_edit_goes_unseen() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = two_modules_one_edited(tmp.path());
    std::fs::write(sp.join("demo/__init__.py"), b"import os\n").unwrap();
    let env = Environment::locate(tmp.path()).unwrap();
    let changed = |check| {
        let read = read_with(&env, 2, check).unwrap();
        let mut paths: Vec<String> = read[0].distributions[0]
            .problems
            .iter()
            .map(|p| p.path.strip_prefix(&sp).unwrap().display().to_string())
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(
        changed(FileCheck::Hash),
        ["demo/__init__.py", "demo/core.py"]
    );
    assert_eq!(changed(FileCheck::Size), ["demo/__init__.py"]);
}

/// What `read_cached` found changed in `demo`, and how much it hashed.
fn cached_read(root: &Path, cache: Option<&Path>) -> (Vec<String>, HashStats, Vec<String>) {
    let env = Environment::locate(root).unwrap();
    let mut read = read_cached(&env, 2, FileCheck::Hash, cache).unwrap();
    let site = read.remove(0);
    let mut changed: Vec<String> = site.distributions[0]
        .problems
        .iter()
        .map(|p| {
            p.path
                .strip_prefix(&site.path)
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    changed.sort();
    (changed, site.hashed, site.warnings)
}

/// Writes `bytes` to `path`, then sets its modification time back to `before`'s.
fn write_keeping_mtime(path: &Path, bytes: &[u8], before: &std::fs::Metadata) {
    std::fs::write(path, bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(before.modified().unwrap())
        .unwrap();
}

#[test]
fn the_hash_cache_skips_unchanged_files_and_sees_an_edit_that_keeps_size_and_mtime() {
    cache::TEST_MARGIN.with(|m| m.set(Some(std::time::Duration::ZERO)));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("env");
    let dir = tmp.path().join("cache");
    let sp = venv(
        &root,
        &[
            ("demo/__init__.py", b"x = 1\n"),
            ("demo/core.py", b"def f():\n    return 1\n"),
        ],
        "",
    );
    // Later than the files' change time, so they are not in its clock tick.
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (changed, hashed, warnings) = cached_read(&root, Some(&dir));
    assert!(
        changed.is_empty() && warnings.is_empty(),
        "{changed:?} {warnings:?}"
    );
    assert_eq!((hashed.files, hashed.cached), (2, 0));
    assert_eq!(hashed.bytes, 6 + 22);
    // Unchanged: nothing read, and the cache file is not rewritten.
    let written = || {
        let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
        let meta = file.metadata().unwrap();
        (file.path(), meta.modified().unwrap(), meta.len())
    };
    let first = written();
    let (changed, hashed, _) = cached_read(&root, Some(&dir));
    assert!(changed.is_empty());
    assert_eq!((hashed.files, hashed.cached), (0, 2));
    assert_eq!(written(), first);

    // An edit keeping the size, with the modification time set back: the change time moved, so
    // the file is hashed again and the edit is found.
    let core = sp.join("demo/core.py");
    let before = std::fs::metadata(&core).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    write_keeping_mtime(&core, b"def f():\n    return 2\n", &before);
    let after = std::fs::metadata(&core).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (changed, hashed, _) = cached_read(&root, Some(&dir));
    assert_eq!(changed, ["demo/core.py"]);
    assert_eq!((hashed.files, hashed.cached), (1, 1));
    assert_ne!(written(), first, "the new digest is kept");
    // The cache holds what the file hashed to, not a verdict: still tampered, from the cache.
    let (changed, hashed, _) = cached_read(&root, Some(&dir));
    assert_eq!(changed, ["demo/core.py"]);
    assert_eq!((hashed.files, hashed.cached), (0, 2));
    // A file replaced by another (new inode) of the same size and time: hashed again.
    std::fs::remove_file(&core).unwrap();
    write_keeping_mtime(&core, b"def f():\n    return 1\n", &before);
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (changed, hashed, _) = cached_read(&root, Some(&dir));
    assert!(changed.is_empty(), "{changed:?}");
    assert_eq!((hashed.files, hashed.cached), (1, 1));
    // No cache: everything hashed.
    let (_, hashed, _) = cached_read(&root, None);
    assert_eq!((hashed.files, hashed.cached), (2, 0));
}

#[test]
fn the_hash_cache_keeps_no_file_changed_within_its_margin_and_survives_corruption() {
    // The real margin: files just written are hashed every time until they are older.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("env");
    let dir = tmp.path().join("cache");
    venv(&root, &[("demo/__init__.py", b"x = 1\n")], "");
    for _ in 0..2 {
        let (changed, hashed, warnings) = cached_read(&root, Some(&dir));
        assert!(changed.is_empty() && warnings.is_empty(), "{warnings:?}");
        assert_eq!((hashed.files, hashed.cached), (1, 0));
    }

    // A corrupt cache file is ignored with a warning and rewritten.
    cache::TEST_MARGIN.with(|m| m.set(Some(std::time::Duration::ZERO)));
    std::thread::sleep(std::time::Duration::from_millis(30));
    let (_, hashed, _) = cached_read(&root, Some(&dir));
    assert_eq!((hashed.files, hashed.cached), (1, 0));
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"))
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let (changed, hashed, warnings) = cached_read(&root, Some(&dir));
    assert!(changed.is_empty());
    assert_eq!((hashed.files, hashed.cached), (1, 0));
    assert!(
        warnings.len() == 1 && warnings[0].contains("not a picket hash cache, or corrupt; ignored"),
        "{warnings:?}"
    );
    let (_, hashed, warnings) = cached_read(&root, Some(&dir));
    assert_eq!((hashed.files, hashed.cached), (0, 1));
    assert!(warnings.is_empty());
    // Only the cache file is left in the folder (no temporary files).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}
