//! `pyproject.toml`: PEP 621 `[project]` dependencies and optional dependencies, PEP 735
//! `[dependency-groups]`, and Poetry's `[tool.poetry.*dependencies]` tables.

use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::toml_doc::{Doc, Value};
use crate::{Dependency, DependencyFile, DepsError, Location, pep508, syntax};

pub(crate) fn parse(path: &Path, text: &str, out: &mut DependencyFile) -> Result<(), DepsError> {
    let (doc, root) = Doc::parse(path, text)?;
    if let Some(project) = root.get("project") {
        let project = doc.table(project, "project")?;
        for item in doc.opt_array(project, "dependencies")? {
            out.dependencies.push(requirement(&doc, item, None)?);
        }
        if let Some(optional) = project.get("optional-dependencies") {
            for (extra, list) in doc.table(optional, "project.optional-dependencies")? {
                let group = format!("optional:{}", extra.get_ref());
                for item in doc.array(list, "project.optional-dependencies")? {
                    out.dependencies
                        .push(requirement(&doc, item, Some(group.clone()))?);
                }
            }
        }
    }
    if let Some(groups) = root.get("dependency-groups") {
        dependency_groups(&doc, groups, out)?;
    }
    let poetry = root
        .get("tool")
        .map(|t| doc.table(t, "tool"))
        .transpose()?
        .and_then(|tool| tool.get("poetry"));
    if let Some(poetry) = poetry {
        let poetry = doc.table(poetry, "tool.poetry")?;
        if let Some(table) = poetry.get("dependencies") {
            poetry_table(&doc, table, None, out)?;
        }
        if let Some(table) = poetry.get("dev-dependencies") {
            poetry_table(&doc, table, Some("dev"), out)?;
        }
        if let Some(groups) = poetry.get("group") {
            for (name, group) in doc.table(groups, "tool.poetry.group")? {
                let group_table = doc.table(group, "tool.poetry.group")?;
                if let Some(table) = group_table.get("dependencies") {
                    poetry_table(&doc, table, Some(&format!("group:{}", name.get_ref())), out)?;
                }
            }
        }
    }
    Ok(())
}

fn requirement(
    doc: &Doc<'_>,
    item: &Value<'_>,
    group: Option<String>,
) -> Result<Dependency, DepsError> {
    let text = doc.str(item, "dependency")?;
    let location = Location {
        file: doc.file.to_owned(),
        line: doc.line(item),
    };
    let mut dep = pep508::parse(text, location).map_err(|m| syntax(doc.file, doc.line(item), m))?;
    dep.group = group;
    Ok(dep)
}

/// PEP 735 groups: lists of requirement strings and `{include-group = "…"}` tables. Includes must
/// name an existing group and must not form a cycle.
fn dependency_groups(
    doc: &Doc<'_>,
    groups: &Value<'_>,
    out: &mut DependencyFile,
) -> Result<(), DepsError> {
    let groups = doc.table(groups, "dependency-groups")?;
    let normalized: Vec<(String, &Value<'_>)> = groups
        .iter()
        .map(|(k, v)| (picket_formats::normalize(k.get_ref()), v))
        .collect();
    let find = |name: &str| {
        let wanted = picket_formats::normalize(name);
        normalized
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, v)| *v)
    };
    for (name, list) in &normalized {
        let group = format!("group:{name}");
        for item in doc.array(list, "dependency-groups")? {
            if let DeValue::Table(table) = item.get_ref() {
                let included =
                    doc.req_str(table, "include-group", item, "dependency group entry")?;
                check_include_chain(doc, &find, name, included, item)?;
                continue;
            }
            out.dependencies
                .push(requirement(doc, item, Some(group.clone()))?);
        }
    }
    Ok(())
}

fn check_include_chain<'v, 'i: 'v>(
    doc: &Doc<'i>,
    find: &dyn Fn(&str) -> Option<&'v Value<'i>>,
    from: &str,
    first: &str,
    at: &Value<'_>,
) -> Result<(), DepsError> {
    let mut chain = vec![from.to_owned()];
    let mut pending = vec![first.to_owned()];
    while let Some(next) = pending.pop() {
        let normalized = picket_formats::normalize(&next);
        if chain.contains(&normalized) {
            chain.push(normalized);
            return Err(syntax(
                doc.file,
                doc.line(at),
                format!(
                    "dependency groups include each other in a cycle: {}",
                    chain.join(" -> ")
                ),
            ));
        }
        let Some(list) = find(&next) else {
            return Err(syntax(
                doc.file,
                doc.line(at),
                format!("dependency group `{from}` includes `{next}`, which does not exist"),
            ));
        };
        chain.push(normalized);
        for item in doc.array(list, "dependency-groups")? {
            if let DeValue::Table(table) = item.get_ref()
                && let Some(inc) = table.get("include-group")
            {
                pending.push(doc.str(inc, "include-group")?.to_owned());
            }
        }
        if chain.len() > 64 {
            break;
        }
    }
    Ok(())
}

/// `name = "^1.2"`, `name = { version = "…", extras = […], markers = "…", git/path/url = "…" }`,
/// or a list of such tables (multiple constraints).
fn poetry_table(
    doc: &Doc<'_>,
    table: &Value<'_>,
    group: Option<&str>,
    out: &mut DependencyFile,
) -> Result<(), DepsError> {
    let entries: &DeTable<'_> = doc.table(table, "tool.poetry.dependencies")?;
    for (key, value) in entries {
        let name = key.get_ref();
        if name == "python" {
            continue;
        }
        let line = doc.line_at(key.span().start);
        let project = picket_formats::ProjectName::new(name)
            .map_err(|e| syntax(doc.file, line, e.to_string()))?;
        let constraints: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::Array(items) => items.iter().collect(),
            _ => vec![value],
        };
        for constraint in constraints {
            let mut dep = Dependency::new(
                project.clone(),
                Location {
                    file: doc.file.to_owned(),
                    line,
                },
            );
            dep.group = group.map(str::to_owned);
            match constraint.get_ref() {
                DeValue::String(spec) => set_poetry_version(&mut dep, spec),
                DeValue::Table(spec) => {
                    if let Some(version) = doc.opt_str(spec, "version")? {
                        set_poetry_version(&mut dep, version);
                    }
                    dep.marker = doc.opt_str(spec, "markers")?.map(str::to_owned);
                    for kind in ["git", "path", "url"] {
                        if let Some(url) = doc.opt_str(spec, kind)? {
                            dep.url = Some(url.to_owned());
                        }
                    }
                    for extra in doc.opt_array(spec, "extras")? {
                        dep.extras.push(doc.str(extra, "extras")?.to_owned());
                    }
                }
                other => {
                    return Err(syntax(
                        doc.file,
                        line,
                        format!(
                            "dependency `{name}` must be a version string or a table, found {}",
                            other.type_str()
                        ),
                    ));
                }
            }
            out.dependencies.push(dep);
        }
    }
    Ok(())
}

/// Poetry constraints: `^1.2`, `~1.2`, `1.2.*`, `>=1,<2`, `1.2.3` (a bare version means `==`).
fn set_poetry_version(dep: &mut Dependency, spec: &str) {
    let spec = spec.trim();
    if spec == "*" {
        return;
    }
    dep.specifier = Some(spec.to_owned());
    let exact = spec.strip_prefix("==").unwrap_or(spec).trim();
    if !exact.contains(['*', '^', '~', '<', '>', '!', ',', '|', ' '])
        && exact.parse::<picket_formats::Version>().is_ok()
    {
        dep.pinned = Some(exact.to_owned());
    }
}
