//! Public pages: home with search, search results, project and release pages, user profiles.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use picket_formats::Version;
use picket_store::{FileRow, ProjectListing, ReleaseRow};
use serde::Deserialize;

use super::{Chrome, FirstContact, HtmlError, Viewer, WebResult, day, human_size, render};
use crate::AppState;
use crate::error::ApiError;

/// A project in a list.
pub struct Listed {
    name: String,
    normalized: String,
    version: String,
    summary: String,
    date: String,
}

impl From<ProjectListing> for Listed {
    fn from(p: ProjectListing) -> Self {
        Self {
            name: p.name,
            normalized: p.normalized,
            version: p.version.unwrap_or_default(),
            summary: p.summary.unwrap_or_default(),
            date: p.released_at.map(day).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
    recent: Vec<Listed>,
    /// For an administrator of an empty registry: how to begin.
    first: Option<FirstContact>,
    empty: bool,
    simple: String,
}

/// `GET /`.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> WebResult {
    let recent: Vec<Listed> = state
        .store
        .recent_projects(20)
        .await?
        .into_iter()
        .map(Listed::from)
        .collect();
    let empty = recent.is_empty() && !state.store.any_served_project().await?;
    let is_admin = viewer.actor.as_ref().is_some_and(|a| a.user.is_admin);
    let first = FirstContact {
        base: state.base_url(),
    };
    Ok(render(&Home {
        chrome: Chrome::new(&viewer, "picket"),
        recent,
        simple: first.simple(),
        first: (empty && is_admin).then_some(first),
        empty,
    }))
}

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct Search {
    chrome: Chrome,
    q: String,
    results: Vec<Listed>,
}

/// The rank of a project for a query (lower first): the exact name, a name that starts with it,
/// one that contains it, then a summary that contains it; `None` when nothing matches.
pub fn rank(query_normalized: &str, query_lower: &str, p: &ProjectListing) -> Option<u8> {
    if query_normalized.is_empty() {
        return None;
    }
    if p.normalized == query_normalized {
        Some(0)
    } else if p.normalized.starts_with(query_normalized) {
        Some(1)
    } else if p.normalized.contains(query_normalized) {
        Some(2)
    } else if p
        .summary
        .as_deref()
        .is_some_and(|s| s.to_lowercase().contains(query_lower))
    {
        Some(3)
    } else {
        None
    }
}

/// `GET /search/?q=`: names and summaries, ranked.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> WebResult {
    let q = query.q.trim().chars().take(100).collect::<String>();
    let normalized = picket_formats::normalize(&q);
    let lower = q.to_lowercase();
    let mut ranked: Vec<(u8, ProjectListing)> = if q.is_empty() {
        Vec::new()
    } else {
        state
            .store
            .search_candidates(&normalized, &lower, 500)
            .await?
            .into_iter()
            .filter_map(|p| rank(&normalized, &lower, &p).map(|r| (r, p)))
            .collect()
    };
    ranked.sort_by(|a, b| (a.0, &a.1.normalized).cmp(&(b.0, &b.1.normalized)));
    let title = if q.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {q}")
    };
    Ok(render(&Search {
        chrome: Chrome::new(&viewer, title),
        q,
        results: ranked
            .into_iter()
            .take(100)
            .map(|(_, p)| p.into())
            .collect(),
    }))
}

/// A file row for people.
pub struct FileView {
    filename: String,
    url: String,
    kind: &'static str,
    size: String,
    sha256: String,
    date: String,
}

impl FileView {
    fn new(f: &FileRow) -> Self {
        Self {
            filename: f.filename.clone(),
            url: crate::simple::file_url(f),
            kind: if f.packagetype == "sdist" {
                "Source"
            } else {
                "Wheel"
            },
            size: human_size(f.size),
            sha256: f.sha256.clone(),
            date: day(f.upload_time),
        }
    }
}

/// A release row for people.
pub struct ReleaseView {
    version: String,
    date: String,
    yanked: bool,
    yanked_reason: String,
    prerelease: bool,
}

impl ReleaseView {
    fn new(r: &ReleaseRow) -> Self {
        Self {
            version: r.version.clone(),
            date: day(r.created_at),
            yanked: r.yanked,
            yanked_reason: r.yanked_reason.clone().unwrap_or_default(),
            prerelease: r
                .version
                .parse::<Version>()
                .is_ok_and(|v| v.any_prerelease()),
        }
    }
}

/// A project's description as the page shows it.
pub enum Description {
    /// Markdown, rendered and sanitized.
    Html(String),
    /// Anything else, as text.
    Text(String),
    /// None given.
    None,
}

/// Renders a description: Markdown (`CommonMark` with tables, strikethrough and task lists)
/// sanitized by ammonia; every other content type is shown as text.
pub fn describe(metadata: &serde_json::Value) -> Description {
    let text = metadata
        .get("description")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Description::None;
    }
    let kind = metadata
        .get("description_content_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if kind.starts_with("text/markdown") {
        let mut options = pulldown_cmark::Options::empty();
        options.insert(pulldown_cmark::Options::ENABLE_TABLES);
        options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
        options.insert(pulldown_cmark::Options::ENABLE_TASKLISTS);
        // Images become links to them (their alt text the link's text): the page's CSP loads
        // no image from elsewhere, so a description can't track its readers or show a broken
        // picture, and raw `<img>` tags are dropped by the sanitizer for the same reason.
        let events = pulldown_cmark::Parser::new_ext(text, options).map(|event| match event {
            pulldown_cmark::Event::Start(pulldown_cmark::Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) => pulldown_cmark::Event::Start(pulldown_cmark::Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }),
            pulldown_cmark::Event::End(pulldown_cmark::TagEnd::Image) => {
                pulldown_cmark::Event::End(pulldown_cmark::TagEnd::Link)
            }
            other => other,
        });
        let mut html = String::with_capacity(text.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, events);
        Description::Html(
            ammonia::Builder::default()
                .rm_tags(["img"])
                .link_rel(Some("nofollow noopener noreferrer ugc"))
                .clean(&html)
                .to_string(),
        )
    } else {
        Description::Text(text.to_owned())
    }
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    chrome: Chrome,
    name: String,
    normalized: String,
    /// The release the page describes.
    version: String,
    summary: String,
    description: Description,
    /// Newest first.
    releases: Vec<ReleaseView>,
    files: Vec<FileView>,
    install: String,
    /// Why the project (or this release) is held back, when it is.
    quarantine: Option<String>,
    yanked: Option<String>,
    /// The PEP 792 status the owners set (`archived`, `deprecated`) and its reason.
    status: Option<picket_store::ProjectStatus>,
    owners: Vec<String>,
    requires_python: String,
    can_manage: bool,
    /// The release page rather than the project page.
    is_release: bool,
}

fn newest_first(releases: &mut [ReleaseRow]) {
    releases.sort_by_cached_key(|r| std::cmp::Reverse(r.version.parse::<Version>().ok()));
}

/// The release a project page describes: the newest non-yanked final, else the newest
/// non-yanked, else the newest (PyPI's choice). `releases` is newest first.
fn current(releases: &[ReleaseRow]) -> Option<&ReleaseRow> {
    let final_release = |r: &&ReleaseRow| {
        !r.yanked
            && r.version
                .parse::<Version>()
                .is_ok_and(|v| !v.any_prerelease())
    };
    releases
        .iter()
        .find(final_release)
        .or_else(|| releases.iter().find(|r| !r.yanked))
        .or_else(|| releases.first())
}

async fn project_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    version: Option<&str>,
) -> WebResult {
    let Some(project) = state.store.project(name).await? else {
        return Err(
            ApiError::not_found(format!("There is no project named `{name}` here.")).into(),
        );
    };
    let base_path = format!("/project/{}/", project.normalized);
    if name != project.normalized {
        let to = match version {
            Some(v) => format!("{base_path}{}/", crate::simple::url_escape(v)),
            None => base_path,
        };
        return Ok(Redirect::permanent(&to).into_response());
    }
    let owners = state.store.owners(&project.normalized).await?;
    let can_manage = match &viewer.actor {
        Some(a) => a.is_site_admin() || owners.contains(&a.user.username),
        None => false,
    };
    let mut releases = if project.quarantine.is_some() {
        Vec::new()
    } else {
        state.store.releases(&project.normalized).await?
    };
    newest_first(&mut releases);
    let shown = match version {
        Some(v) => Some(releases.iter().find(|r| r.version == v).ok_or_else(|| {
            ApiError::not_found(format!("`{}` has no release {v} here.", project.name))
        })?),
        None => current(&releases),
    };
    let files: Vec<FileView> = match shown {
        Some(r) => state
            .store
            .project_files(&project.normalized)
            .await?
            .iter()
            .filter(|f| f.version == r.version)
            .map(FileView::new)
            .collect(),
        None => Vec::new(),
    };
    let metadata = shown.map(|r| &r.metadata);
    let text = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let install = match (shown, version) {
        (Some(r), Some(_)) => format!(
            "pip install --index-url {}/simple/ {}=={}",
            state.base_url(),
            project.name,
            r.version
        ),
        _ => format!(
            "pip install --index-url {}/simple/ {}",
            state.base_url(),
            project.name
        ),
    };
    let title = match shown {
        Some(r) if version.is_some() => format!("{} {}", project.name, r.version),
        _ => project.name.clone(),
    };
    Ok(render(&ProjectPage {
        chrome: Chrome::new(viewer, title),
        summary: text("summary"),
        description: metadata.map_or(Description::None, describe),
        requires_python: shown
            .and_then(|r| r.requires_python.clone())
            .unwrap_or_default(),
        version: shown.map(|r| r.version.clone()).unwrap_or_default(),
        yanked: shown
            .filter(|r| r.yanked)
            .map(|r| r.yanked_reason.clone().unwrap_or_default()),
        releases: releases.iter().map(ReleaseView::new).collect(),
        files,
        install,
        quarantine: project.quarantine.as_ref().map(|q| q.reason.clone()),
        status: project.status.clone(),
        owners,
        can_manage,
        is_release: version.is_some(),
        name: project.name,
        normalized: project.normalized,
    }))
}

/// `GET /project/NAME/`.
pub async fn project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> WebResult {
    project_page(&state, &viewer, &name, None).await
}

/// `GET /project/NAME/VERSION/`.
pub async fn release(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((name, version)): Path<(String, String)>,
) -> WebResult {
    project_page(&state, &viewer, &name, Some(&version)).await
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    chrome: Chrome,
    username: String,
    joined: String,
    projects: Vec<String>,
}

/// `GET /user/NAME/`: the account's name, when it joined, and the projects it owns that
/// installers can see.
pub async fn user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(username): Path<String>,
) -> WebResult {
    let Some(user) = state.store.user(&username).await?.filter(|u| !u.disabled) else {
        return Err(HtmlError(ApiError::not_found(format!(
            "There is no user named `{username}` here."
        ))));
    };
    let mut projects = Vec::new();
    for (normalized, _) in state.store.owned_projects(user.id).await? {
        if let Some(p) = state.store.project(&normalized).await?
            && p.quarantine.is_none()
        {
            projects.push(p.normalized);
        }
    }
    Ok(render(&UserPage {
        chrome: Chrome::new(&viewer, user.username.clone()),
        joined: day(user.created_at),
        username: user.username,
        projects,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listing(name: &str, summary: &str) -> ProjectListing {
        ProjectListing {
            name: name.into(),
            normalized: picket_formats::normalize(name),
            version: None,
            summary: Some(summary.into()),
            released_at: None,
        }
    }

    #[test]
    fn search_ranks_names_before_summaries() {
        let r = |p: &ProjectListing| rank("demo", "demo", p);
        assert_eq!(r(&listing("demo", "")), Some(0));
        assert_eq!(r(&listing("demo-tools", "")), Some(1));
        assert_eq!(r(&listing("my-demo", "")), Some(2));
        assert_eq!(r(&listing("other", "A Demo of things")), Some(3));
        assert_eq!(r(&listing("other", "nothing")), None);
        assert_eq!(rank("", "", &listing("demo", "")), None);
    }

    #[test]
    fn markdown_is_rendered_and_sanitized_other_formats_are_text() {
        let md = json!({
            "description": "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
            "description_content_type": "text/markdown; charset=UTF-8",
        });
        let Description::Html(html) = describe(&md) else {
            panic!("markdown")
        };
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            !html.contains("onerror") && !html.contains("<img"),
            "{html}"
        );
        let pictured = json!({"description": "![the logo](https://img.example/x.png)", "description_content_type": "text/markdown"});
        let Description::Html(html) = describe(&pictured) else {
            panic!("markdown")
        };
        assert!(
            html.contains(">the logo</a>") && !html.contains("<img"),
            "{html}"
        );
        let rst = json!({"description": "Title\n=====\n<b>x</b>", "description_content_type": "text/x-rst"});
        assert!(matches!(describe(&rst), Description::Text(t) if t.contains("<b>x</b>")));
        assert!(matches!(describe(&json!({})), Description::None));
    }
}
