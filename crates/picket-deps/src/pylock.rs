//! PEP 751 `pylock.toml`: `[[packages]]` with `name`, `version`, `marker`, `index`, and one of `vcs`,
//! `directory`, `archive`, `sdist`, `wheels`, each artifact carrying a `hashes` table.

use std::path::Path;

use crate::toml_doc::{Doc, hash_table};
use crate::{Dependency, DependencyFile, DepsError, Location, syntax};

pub(crate) fn parse(path: &Path, text: &str, out: &mut DependencyFile) -> Result<(), DepsError> {
    let (doc, root) = Doc::parse(path, text)?;
    match root.get("lock-version") {
        Some(v) => {
            let version = doc.str(v, "lock-version")?;
            if !version.starts_with("1.") {
                return Err(syntax(
                    path,
                    doc.line(v),
                    format!("lock-version `{version}` is not supported (expected 1.x)"),
                ));
            }
        }
        None => {
            return Err(syntax(
                path,
                1,
                "not a PEP 751 lock file: no `lock-version`",
            ));
        }
    }
    let packages = root
        .get("packages")
        .map_or(Ok(&[][..]), |v| doc.array(v, "packages"))?;
    for entry in packages {
        let table = doc.table(entry, "packages")?;
        let name = doc.req_str(table, "name", entry, "packages")?;
        let name = doc.name(name, entry)?;
        let mut dep = Dependency::new(
            name,
            Location {
                file: path.to_owned(),
                line: doc.line(table.get("name").unwrap_or(entry)),
            },
        );
        dep.pinned = doc.opt_str(table, "version")?.map(str::to_owned);
        dep.specifier = dep.pinned.as_ref().map(|v| format!("=={v}"));
        dep.marker = doc.opt_str(table, "marker")?.map(str::to_owned);
        for kind in ["vcs", "directory", "archive"] {
            if let Some(source) = table.get(kind) {
                let source = doc.table(source, kind)?;
                let location = match doc.opt_str(source, "url")? {
                    Some(url) => Some(url),
                    None => doc.opt_str(source, "path")?,
                };
                dep.url = location.map(str::to_owned);
                if let Some(hashes) = source.get("hashes") {
                    dep.hashes.extend(hash_table(&doc, hashes)?);
                }
            }
        }
        if let Some(sdist) = table.get("sdist") {
            let sdist = doc.table(sdist, "sdist")?;
            if let Some(hashes) = sdist.get("hashes") {
                dep.hashes.extend(hash_table(&doc, hashes)?);
            }
        }
        for wheel in doc.opt_array(table, "wheels")? {
            let wheel = doc.table(wheel, "wheels")?;
            if let Some(hashes) = wheel.get("hashes") {
                dep.hashes.extend(hash_table(&doc, hashes)?);
            }
        }
        out.dependencies.push(dep);
    }
    Ok(())
}
