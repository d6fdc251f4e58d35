//! PyPI's JSON API: `/pypi/{project}/json` and `/pypi/{project}/{version}/json`, with PyPI's field
//! names so tools written against it work unchanged.

use axum::Json;
use axum::extract::{Path, State};
use picket_formats::pep440_rs::Version;
use picket_store::{FileRow, ReleaseRow, rfc3339};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::simple::file_url;

fn file_json(f: &FileRow, base: &str) -> Value {
    let iso = rfc3339(f.upload_time);
    json!({
        "comment_text": "",
        "digests": {
            "blake2b_256": f.blake2_256,
            "md5": f.md5,
            "sha256": f.sha256,
        },
        "downloads": -1,
        "filename": f.filename,
        "has_sig": false,
        "md5_digest": f.md5,
        "packagetype": f.packagetype,
        "python_version": python_version(f),
        "requires_python": f.requires_python,
        "size": f.size,
        "upload_time": iso.get(..19).unwrap_or(&iso),
        "upload_time_iso_8601": iso,
        "url": format!("{base}{}", file_url(f)),
        "yanked": f.yanked,
        "yanked_reason": f.yanked_reason,
    })
}

fn python_version(f: &FileRow) -> String {
    if f.packagetype == "sdist" {
        return "source".into();
    }
    f.filename
        .parse::<picket_formats::DistFilename>()
        .ok()
        .and_then(|d| match d {
            picket_formats::DistFilename::Wheel(w) => Some(w.python_tags.join(".")),
            picket_formats::DistFilename::Sdist(_) => None,
        })
        .unwrap_or_default()
}

fn info(name: &str, release: &ReleaseRow, base: &str) -> Value {
    let m = &release.metadata;
    let text = |key: &str| m.get(key).cloned().unwrap_or(Value::Null);
    let list_or_null = |key: &str| match m.get(key) {
        Some(Value::Array(a)) if !a.is_empty() => Value::Array(a.clone()),
        _ => Value::Null,
    };
    let project_urls: serde_json::Map<String, Value> = m
        .get("project_urls")
        .and_then(Value::as_array)
        .map(|urls| {
            urls.iter()
                .filter_map(Value::as_str)
                .filter_map(|entry| entry.split_once(','))
                .map(|(label, url)| (label.trim().to_owned(), Value::from(url.trim())))
                .collect()
        })
        .unwrap_or_default();
    let normalized = picket_formats::normalize(name);
    json!({
        "author": text("author"),
        "author_email": text("author_email"),
        "classifiers": m.get("classifiers").cloned().unwrap_or_else(|| json!([])),
        "description": text("description"),
        "description_content_type": text("description_content_type"),
        "download_url": text("download_url"),
        "dynamic": list_or_null("dynamic"),
        "home_page": text("home_page"),
        "import_names": text("import_names"),
        "import_namespaces": list_or_null("import_namespaces"),
        "keywords": text("keywords"),
        "license": text("license"),
        "license_expression": text("license_expression"),
        "license_files": list_or_null("license_files"),
        "maintainer": text("maintainer"),
        "maintainer_email": text("maintainer_email"),
        "name": name,
        "package_url": format!("{base}/project/{normalized}/"),
        "platform": m.get("platforms").and_then(Value::as_array).and_then(|p| p.first().cloned()),
        "project_url": format!("{base}/project/{normalized}/"),
        "project_urls": if project_urls.is_empty() { Value::Null } else { Value::Object(project_urls) },
        "provides_extra": list_or_null("provides_extra"),
        "release_url": format!("{base}/project/{normalized}/{}/", release.version),
        "requires_dist": list_or_null("requires_dist"),
        "requires_python": release.requires_python,
        "summary": text("summary"),
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason,
    })
}

/// The version `info` describes: the newest non-yanked final release, else the newest
/// non-yanked, else the newest (PyPI's choice).
fn latest(releases: &[ReleaseRow]) -> Option<&ReleaseRow> {
    let parsed = |r: &ReleaseRow| r.version.parse::<Version>().ok();
    let best = |pick: &dyn Fn(&ReleaseRow) -> bool| {
        releases
            .iter()
            .filter(|r| pick(r))
            .max_by(|a, b| parsed(a).cmp(&parsed(b)))
    };
    best(&|r| !r.yanked && parsed(r).is_some_and(|v| !v.any_prerelease()))
        .or_else(|| best(&|r| !r.yanked))
        .or_else(|| best(&|_| true))
}

async fn load(
    state: &AppState,
    project: &str,
) -> Result<(String, Vec<ReleaseRow>, Vec<FileRow>), ApiError> {
    let Some(p) = state
        .store
        .project(project)
        .await?
        .filter(|p| p.quarantine.is_none())
    else {
        return Err(ApiError::not_found(format!("Not Found: no project named `{project}`")).json());
    };
    let releases = state.store.releases(&p.normalized).await?;
    let files = state.store.project_files(&p.normalized).await?;
    Ok((p.name, releases, files))
}

/// `GET /pypi/{project}/json`.
pub async fn project(
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (name, releases, files) = load(&state, &project).await?;
    let base = state.base_url();
    let Some(current) = latest(&releases) else {
        return Err(
            ApiError::not_found(format!("Not Found: project `{name}` has no releases")).json(),
        );
    };
    let mut by_version = serde_json::Map::new();
    for r in &releases {
        let list: Vec<Value> = files
            .iter()
            .filter(|f| f.version == r.version)
            .map(|f| file_json(f, &base))
            .collect();
        by_version.insert(r.version.clone(), Value::Array(list));
    }
    let urls: Vec<Value> = files
        .iter()
        .filter(|f| f.version == current.version)
        .map(|f| file_json(f, &base))
        .collect();
    Ok(Json(json!({
        "info": info(&name, current, &base),
        "last_serial": files.len(),
        "releases": by_version,
        "urls": urls,
        "vulnerabilities": [],
    })))
}

/// `GET /pypi/{project}/{version}/json`.
pub async fn release(
    State(state): State<AppState>,
    Path((project, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (name, releases, files) = load(&state, &project).await?;
    let wanted = version.parse::<Version>().ok();
    let Some(release) = releases.iter().find(|r| {
        r.version == version || (wanted.is_some() && r.version.parse::<Version>().ok() == wanted)
    }) else {
        return Err(
            ApiError::not_found(format!("Not Found: `{name}` has no release `{version}`")).json(),
        );
    };
    let base = state.base_url();
    let urls: Vec<Value> = files
        .iter()
        .filter(|f| f.version == release.version)
        .map(|f| file_json(f, &base))
        .collect();
    Ok(Json(json!({
        "info": info(&name, release, &base),
        "last_serial": files.len(),
        "urls": urls,
        "vulnerabilities": [],
    })))
}
