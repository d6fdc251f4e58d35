//! Poetry's `poetry.lock`: `[[package]]` tables with `name`, `version`, `files` (`file`, `hash`),
//! an optional `source` table for non-registry packages, and `[metadata]`.

use std::path::Path;

use crate::toml_doc::Doc;
use crate::{Dependency, DependencyFile, DepsError, Location};

pub(crate) fn parse(path: &Path, text: &str, out: &mut DependencyFile) -> Result<(), DepsError> {
    let (doc, root) = Doc::parse(path, text)?;
    let packages = root
        .get("package")
        .map_or(Ok(&[][..]), |v| doc.array(v, "package"))?;
    for entry in packages {
        let table = doc.table(entry, "package")?;
        let name = doc.req_str(table, "name", entry, "package")?;
        let name = doc.name(name, entry)?;
        let version = doc.req_str(table, "version", entry, "package")?;
        let mut dep = Dependency::new(
            name,
            Location {
                file: path.to_owned(),
                line: doc.line(table.get("name").unwrap_or(entry)),
            },
        );
        dep.pinned = Some(version.to_owned());
        dep.specifier = Some(format!("=={version}"));
        // Poetry 1 writes `category = "dev"`, Poetry 2 writes `groups = ["main", "dev"]`.
        if let Some(category) = doc.opt_str(table, "category")?
            && category != "main"
        {
            dep.group = Some(category.to_owned());
        }
        let groups = doc
            .opt_array(table, "groups")?
            .iter()
            .map(|g| doc.str(g, "package.groups"))
            .collect::<Result<Vec<_>, _>>()?;
        if !groups.is_empty() && !groups.contains(&"main") {
            dep.group = Some(groups.join(","));
        }
        for file in doc.opt_array(table, "files")? {
            let file = doc.table(file, "package.files")?;
            if let Some(hash) = doc.opt_str(file, "hash")? {
                dep.hashes.push(hash.to_ascii_lowercase());
            }
        }
        if let Some(requires) = table.get("dependencies") {
            dep.requires = doc
                .table(requires, "package.dependencies")?
                .keys()
                .map(|k| picket_formats::normalize(k.get_ref()))
                .collect();
            dep.requires.sort();
            dep.requires.dedup();
        }
        if let Some(source) = table.get("source") {
            let source = doc.table(source, "package.source")?;
            let kind = doc.opt_str(source, "type")?;
            if kind != Some("legacy") {
                dep.url = doc.opt_str(source, "url")?.map(str::to_owned);
            }
        }
        out.dependencies.push(dep);
    }
    Ok(())
}
