//! VEX documents in: what a supplier or the project itself has said about a vulnerability in a
//! release — OpenVEX (`statements`) and CycloneDX VEX (`vulnerabilities[].analysis`). A statement
//! that the release is not affected (OpenVEX `not_affected` or `fixed`; CycloneDX `not_affected`,
//! `false_positive` or `resolved`) becomes an ignore entry for that vulnerability and package (and
//! version, when the product names one), its reason the statement's status and justification, so
//! the finding is listed as ignored with them. Other statuses (`affected`, `under_investigation`,
//! `exploitable`, `in_triage`) leave the finding as it is.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use crate::config::Ignore;

/// The largest VEX document read.
const MAX_VEX_BYTES: u64 = 64 << 20;

/// The ignore entries a VEX document's statements make.
pub fn read(path: &Path) -> anyhow::Result<Vec<Ignore>> {
    use picket_deps::FileSource as _;
    let bytes = picket_deps::FsSource {
        max_bytes: MAX_VEX_BYTES,
    }
    .read(path)
    .with_context(|| format!("reading the VEX document {}", path.display()))?;
    let hint = "hint: --vex reads OpenVEX (JSON with \"statements\") and CycloneDX VEX (JSON with \"vulnerabilities\")";
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("the VEX document {} is not JSON\n{hint}", path.display()))?;
    let shown = path.display().to_string();
    if doc.get("statements").is_some() {
        Ok(openvex(&doc, &shown))
    } else if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        Ok(cyclonedx(&doc, &shown))
    } else {
        anyhow::bail!(
            "{} is neither OpenVEX nor CycloneDX VEX (no \"statements\", no \"bomFormat\": \"CycloneDX\")\n{hint}",
            path.display()
        )
    }
}

/// `(name, version)` of a `pkg:pypi/NAME[@VERSION]` purl; `None` for another ecosystem.
fn pypi_purl(purl: &str) -> Option<(String, Option<String>)> {
    let rest = purl.strip_prefix("pkg:pypi/")?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (name, version) = match rest.split_once('@') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (rest, None),
    };
    (!name.is_empty()).then(|| (name.to_owned(), version))
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn entry(id: &str, (package, version): (String, Option<String>), reason: String) -> Ignore {
    Ignore {
        id: id.to_owned(),
        package: Some(package),
        version,
        until: "9999-12-31".to_owned(),
        reason,
    }
}

/// The reason shown: `VEX FILE: STATUS — JUSTIFICATION; DETAIL`.
fn reason(file: &str, status: &str, justification: Option<&str>, detail: Option<&str>) -> String {
    let mut out = format!("VEX {file}: {status}");
    if let Some(j) = justification {
        out.push_str(" — ");
        out.push_str(j);
    }
    if let Some(d) = detail {
        out.push_str(if justification.is_some() {
            "; "
        } else {
            " — "
        });
        out.push_str(d);
    }
    out
}

fn openvex(doc: &Value, file: &str) -> Vec<Ignore> {
    let mut out = Vec::new();
    for statement in doc
        .get("statements")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(status) = text(statement, "status") else {
            continue;
        };
        if !matches!(status, "not_affected" | "fixed") {
            continue;
        }
        // `vulnerability` is an object (`name`, `aliases`) since OpenVEX 0.2, a string before.
        let vulnerability = statement.get("vulnerability");
        let id = vulnerability
            .and_then(|v| v.as_str().or_else(|| text(v, "name")))
            .or_else(|| vulnerability.and_then(|v| text(v, "@id")));
        let Some(id) = id else { continue };
        let why = reason(
            file,
            status,
            text(statement, "justification"),
            text(statement, "impact_statement").or(text(statement, "status_notes")),
        );
        for product in statement
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let purl = text(product, "@id")
                .or_else(|| product.get("identifiers").and_then(|i| text(i, "purl")));
            if let Some(package) = purl.and_then(pypi_purl) {
                out.push(entry(id, package, why.clone()));
            }
        }
    }
    out
}

fn cyclonedx(doc: &Value, file: &str) -> Vec<Ignore> {
    // bom-ref → purl, through nested components.
    let mut refs = std::collections::HashMap::new();
    let mut stack: Vec<&Value> = doc
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(doc.pointer("/metadata/component"))
        .collect();
    while let Some(c) = stack.pop() {
        if let (Some(r), Some(p)) = (text(c, "bom-ref"), text(c, "purl")) {
            refs.insert(r.to_owned(), p.to_owned());
        }
        stack.extend(
            c.get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    }
    let mut out = Vec::new();
    for v in doc
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(id), Some(analysis)) = (text(v, "id"), v.get("analysis")) else {
            continue;
        };
        let Some(state) = text(analysis, "state") else {
            continue;
        };
        if !matches!(state, "not_affected" | "false_positive" | "resolved") {
            continue;
        }
        let why = reason(
            file,
            state,
            text(analysis, "justification"),
            text(analysis, "detail"),
        );
        for affected in v
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(r) = text(affected, "ref") else {
                continue;
            };
            let purl = refs.get(r).map_or(r, String::as_str);
            if let Some(package) = pypi_purl(purl) {
                out.push(entry(id, package, why.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(doc: &Value) -> Vec<(String, String, Option<String>, String)> {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("doc.json");
        std::fs::write(&path, doc.to_string()).unwrap();
        read(&path)
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.id,
                    e.package.unwrap(),
                    e.version,
                    e.reason.replace(&path.display().to_string(), "F"),
                )
            })
            .collect()
    }

    #[test]
    fn openvex_statements() {
        let doc = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.org/vex/1",
            "author": "a", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
            "statements": [
                {"vulnerability": {"name": "CVE-2024-35195"},
                 "products": [{"@id": "pkg:pypi/requests@2.31.0"}, {"@id": "pkg:npm/x@1"}],
                 "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
                 "impact_statement": "we never pass verify=False"},
                {"vulnerability": "GHSA-h5c8-rqwp-cp95",
                 "products": [{"identifiers": {"purl": "pkg:pypi/Jinja2"}}], "status": "fixed"},
                {"vulnerability": {"name": "CVE-2023-43804"},
                 "products": [{"@id": "pkg:pypi/urllib3@1.26.5"}], "status": "affected"},
            ]
        });
        assert_eq!(
            entries(&doc),
            [
                (
                    "CVE-2024-35195".to_owned(),
                    "requests".to_owned(),
                    Some("2.31.0".to_owned()),
                    "VEX F: not_affected — vulnerable_code_not_in_execute_path; we never pass verify=False".to_owned()
                ),
                ("GHSA-h5c8-rqwp-cp95".to_owned(), "Jinja2".to_owned(), None, "VEX F: fixed".to_owned()),
            ]
        );
    }

    #[test]
    fn cyclonedx_analyses() {
        let doc = serde_json::json!({
            "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "components": [{"type": "library", "bom-ref": "urllib3-ref", "name": "urllib3",
                            "version": "1.26.5", "purl": "pkg:pypi/urllib3@1.26.5"}],
            "vulnerabilities": [
                {"id": "CVE-2023-43804", "analysis": {"state": "not_affected",
                  "justification": "code_not_reachable", "detail": "no redirects"},
                 "affects": [{"ref": "urllib3-ref"}]},
                {"id": "GHSA-9wx4-h78v-vm56", "analysis": {"state": "false_positive"},
                 "affects": [{"ref": "pkg:pypi/requests@2.31.0"}]},
                {"id": "GHSA-h5c8-rqwp-cp95", "analysis": {"state": "exploitable"},
                 "affects": [{"ref": "pkg:pypi/jinja2@3.1.2"}]},
            ]
        });
        assert_eq!(
            entries(&doc),
            [
                (
                    "CVE-2023-43804".to_owned(),
                    "urllib3".to_owned(),
                    Some("1.26.5".to_owned()),
                    "VEX F: not_affected — code_not_reachable; no redirects".to_owned()
                ),
                (
                    "GHSA-9wx4-h78v-vm56".to_owned(),
                    "requests".to_owned(),
                    Some("2.31.0".to_owned()),
                    "VEX F: false_positive".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn other_documents_are_refused_with_a_hint() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.json");
        std::fs::write(&path, r#"{"hello": 1}"#).unwrap();
        let e = format!("{:#}", read(&path).unwrap_err());
        assert!(
            e.contains("neither OpenVEX nor CycloneDX VEX") && e.contains("\nhint: "),
            "{e}"
        );
        std::fs::write(&path, "not json").unwrap();
        let e = format!("{:#}", read(&path).unwrap_err());
        assert!(e.contains("is not JSON"), "{e}");
    }
}
