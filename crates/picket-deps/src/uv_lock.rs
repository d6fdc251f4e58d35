//! uv's `uv.lock`: `[[package]]` tables with `name`, `version`, `source`, `sdist`, `wheels` and
//! `dependencies`. The packages whose source is the project itself (`editable`/`virtual`) are not
//! dependencies; their own `dependencies` say which packages are direct.

use std::collections::HashSet;
use std::path::Path;

use crate::toml_doc::Doc;
use crate::{Dependency, DependencyFile, DepsError, Location};

pub(crate) fn parse(path: &Path, text: &str, out: &mut DependencyFile) -> Result<(), DepsError> {
    let (doc, root) = Doc::parse(path, text)?;
    let packages = root
        .get("package")
        .map_or(Ok(&[][..]), |v| doc.array(v, "package"))?;

    let mut direct: HashSet<String> = HashSet::new();
    let mut has_root = false;
    for entry in packages {
        let table = doc.table(entry, "package")?;
        let is_project = match table.get("source") {
            Some(source) => {
                let source = doc.table(source, "package.source")?;
                source.contains_key("editable") || source.contains_key("virtual")
            }
            None => false,
        };
        if !is_project {
            continue;
        }
        has_root = true;
        let mut lists = vec![doc.opt_array(table, "dependencies")?];
        for key in ["optional-dependencies", "dev-dependencies"] {
            if let Some(groups) = table.get(key) {
                for (_, list) in doc.table(groups, key)? {
                    lists.push(doc.array(list, key)?);
                }
            }
        }
        for dep in lists.into_iter().flatten() {
            let dep = doc.table(dep, "dependencies")?;
            let name = doc.req_str(dep, "name", entry, "dependency")?;
            direct.insert(picket_formats::normalize(name));
        }
    }

    for entry in packages {
        let table = doc.table(entry, "package")?;
        if let Some(source) = table.get("source") {
            let source = doc.table(source, "package.source")?;
            if source.contains_key("editable") || source.contains_key("virtual") {
                continue;
            }
        }
        let name = doc.req_str(table, "name", entry, "package")?;
        let name = doc.name(name, entry)?;
        let line = doc.line(table.get("name").unwrap_or(entry));
        let mut dep = Dependency::new(
            name,
            Location {
                file: path.to_owned(),
                line,
            },
        );
        dep.pinned = doc.opt_str(table, "version")?.map(str::to_owned);
        dep.specifier = dep.pinned.as_ref().map(|v| format!("=={v}"));
        if let Some(source) = table.get("source") {
            let source = doc.table(source, "package.source")?;
            for kind in ["git", "url", "path", "directory"] {
                if let Some(v) = source.get(kind) {
                    dep.url = Some(doc.str(v, "package.source")?.to_owned());
                }
            }
        }
        if let Some(sdist) = table.get("sdist") {
            push_hash(&doc, doc.table(sdist, "package.sdist")?, &mut dep)?;
        }
        for wheel in doc.opt_array(table, "wheels")? {
            push_hash(&doc, doc.table(wheel, "package.wheels")?, &mut dep)?;
        }
        for key in ["dependencies", "optional-dependencies"] {
            let lists = match (key, table.get(key)) {
                (_, None) => Vec::new(),
                ("dependencies", Some(_)) => vec![doc.opt_array(table, key)?],
                (_, Some(groups)) => doc
                    .table(groups, key)?
                    .values()
                    .map(|list| doc.array(list, key))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            for item in lists.into_iter().flatten() {
                let item = doc.table(item, key)?;
                let name = doc.req_str(item, "name", entry, "dependency")?;
                dep.requires.push(picket_formats::normalize(name));
            }
        }
        dep.requires.sort();
        dep.requires.dedup();
        if has_root {
            dep.direct = Some(direct.contains(dep.name.normalized()));
        }
        out.dependencies.push(dep);
    }
    Ok(())
}

fn push_hash(
    doc: &Doc<'_>,
    table: &toml::de::DeTable<'_>,
    dep: &mut Dependency,
) -> Result<(), DepsError> {
    if let Some(hash) = doc.opt_str(table, "hash")? {
        dep.hashes.push(hash.to_ascii_lowercase());
    }
    Ok(())
}
