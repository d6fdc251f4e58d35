//! Pipenv's `Pipfile.lock` (JSON): `default` and `develop` map names to `{version, hashes, markers}`.
//!
//! JSON carries no positions once parsed, so each package's line is found by locating its key in the
//! text, searching forward from the section it belongs to.

use std::path::Path;

use serde_json::Value;

use crate::{Dependency, DependencyFile, DepsError, Location, line_at, syntax};

pub(crate) fn parse(path: &Path, text: &str, out: &mut DependencyFile) -> Result<(), DepsError> {
    let root: Value = serde_json::from_str(text)
        .map_err(|e| syntax(path, e.line(), format!("invalid JSON: {e}")))?;
    let Value::Object(root) = root else {
        return Err(syntax(path, 1, "expected a JSON object at the top"));
    };
    for (section, group) in [("default", None), ("develop", Some("dev"))] {
        let Some(packages) = root.get(section) else {
            continue;
        };
        let section_start = text.find(&format!("\"{section}\"")).unwrap_or(0);
        let Value::Object(packages) = packages else {
            return Err(syntax(
                path,
                line_at(text, section_start),
                format!("`{section}` must be an object of packages"),
            ));
        };
        let mut search_from = section_start;
        for (name, entry) in packages {
            let key = format!("\"{name}\"");
            let offset = text[search_from..]
                .find(&key)
                .map_or(section_start, |i| search_from + i);
            search_from = offset;
            let line = line_at(text, offset);
            let project = picket_formats::ProjectName::new(name)
                .map_err(|e| syntax(path, line, e.to_string()))?;
            let Value::Object(entry) = entry else {
                return Err(syntax(
                    path,
                    line,
                    format!("`{section}.{name}` must be an object"),
                ));
            };
            let mut dep = Dependency::new(
                project,
                Location {
                    file: path.to_owned(),
                    line,
                },
            );
            dep.group = group.map(str::to_owned);
            let field = |key: &str| -> Result<Option<&str>, DepsError> {
                match entry.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s)),
                    Some(_) => Err(syntax(
                        path,
                        line,
                        format!("`{section}.{name}.{key}` must be a string"),
                    )),
                }
            };
            if let Some(version) = field("version")? {
                dep.specifier = Some(version.to_owned());
                dep.pinned = version.strip_prefix("==").map(str::to_owned);
            }
            dep.marker = field("markers")?.map(str::to_owned);
            if let Some(url) = field("git")?.or(field("file")?).or(field("path")?) {
                dep.url = Some(url.to_owned());
            }
            if let Some(extras) = entry.get("extras") {
                let Value::Array(extras) = extras else {
                    return Err(syntax(
                        path,
                        line,
                        format!("`{section}.{name}.extras` must be a list"),
                    ));
                };
                dep.extras = extras
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
            }
            match entry.get("hashes") {
                None => {}
                Some(Value::Array(hashes)) => {
                    for hash in hashes {
                        let Some(hash) = hash.as_str() else {
                            return Err(syntax(
                                path,
                                line,
                                format!("`{section}.{name}.hashes` must hold strings"),
                            ));
                        };
                        dep.hashes.push(hash.to_ascii_lowercase());
                    }
                }
                Some(_) => {
                    return Err(syntax(
                        path,
                        line,
                        format!("`{section}.{name}.hashes` must be a list"),
                    ));
                }
            }
            out.dependencies.push(dep);
        }
    }
    Ok(())
}
