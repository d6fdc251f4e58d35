//! `POST /api/v1/projects/{project}/reports`: a user tells the index a project is malicious, a
//! typosquat, spam or dependency confusion. Authenticated by an account-wide API token (as PyPI's
//! observations API is); one open report per reporter and project; held to `rate-report-user`.
//!
//! The automatic quarantine rules (`report-quarantine-*`) are judged by the store inside the
//! transaction that files the report. Admins decide with `picket admin reports confirm|reject|
//! revert`; the owners are mailed by [`crate::notify`] from the journal, whoever acted.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picket_formats::Version;
use picket_store::{NewReport, QuarantineRules, ReportRefusal};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::{AppState, ClientIp, now_ms};

/// The kinds of report.
pub const KINDS: [&str; 5] = [
    "malware",
    "typosquat",
    "spam",
    "dependency-confusion",
    "other",
];
/// Largest report body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// Longest evidence text, in characters.
pub const MAX_EVIDENCE: usize = 20_000;
/// Longest evidence URL.
pub const MAX_URL: usize = 2_048;
/// Most versions named in one report.
pub const MAX_VERSIONS: usize = 100;

/// A report as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    kind: String,
    #[serde(default)]
    versions: Vec<String>,
    evidence: String,
    #[serde(default)]
    evidence_url: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message).json()
}

fn too_large(detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "A report is at most {MAX_BODY} bytes ({detail}); put long evidence behind \"evidence_url\"."
        ),
    )
    .json()
}

/// Checks a report's fields; returns its versions, parsed.
fn check(body: &ReportBody) -> Result<Vec<Version>, ApiError> {
    if !KINDS.contains(&body.kind.as_str()) {
        return Err(bad(format!(
            "\"kind\" `{}` is not a report kind; one of {}.",
            body.kind.chars().take(64).collect::<String>(),
            KINDS.join(", ")
        )));
    }
    let evidence = body.evidence.trim();
    if evidence.is_empty() {
        return Err(bad(
            "\"evidence\" is empty: say what the project does (the file, the code, what it sends where).",
        ));
    }
    let chars = evidence.chars().count();
    if chars > MAX_EVIDENCE {
        return Err(bad(format!(
            "\"evidence\" is {chars} characters; at most {MAX_EVIDENCE} (put the rest behind \"evidence_url\")."
        )));
    }
    if let Some(url) = &body.evidence_url {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() > "https://".len()
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok || url.len() > MAX_URL {
            return Err(bad(format!(
                "\"evidence_url\" must be an http(s) URL of at most {MAX_URL} characters without spaces."
            )));
        }
    }
    if body.versions.len() > MAX_VERSIONS {
        return Err(bad(format!(
            "{} versions named; at most {MAX_VERSIONS} (name none to report the whole project).",
            body.versions.len()
        )));
    }
    body.versions
        .iter()
        .map(|v| {
            v.parse::<Version>().map_err(|_| {
                bad(format!(
                    "\"versions\": `{}` is not a PEP 440 version.",
                    v.chars().take(64).collect::<String>()
                ))
            })
        })
        .collect()
}

/// The automatic quarantine rules of the configuration.
pub fn rules(config: &crate::ServeConfig) -> QuarantineRules {
    QuarantineRules {
        kinds: config.report_quarantine_kinds.clone(),
        trusted_young_ms: (config.report_quarantine_young_hours > 0)
            .then(|| i64::from(config.report_quarantine_young_hours) * 3_600_000),
        corroborating: (config.report_quarantine_reporters > 0)
            .then_some(config.report_quarantine_reporters),
    }
}

/// `POST /api/v1/projects/{project}/reports` → 201 with the report.
pub async fn file(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > MAX_BODY as u64) {
        return Err(too_large(&format!("this one declares {n}")));
    }
    let actor = crate::auth::actor(&state, &headers)
        .await
        .map_err(ApiError::json)?;
    let Some(token) = &actor.token else {
        return Err(ApiError::forbidden(
            "Reports are filed with an API token (Basic __token__:pkt-… or Bearer pkt-…), not a login session.",
        )
        .json());
    };
    if !matches!(token.scope, picket_store::TokenScope::User) {
        return Err(ApiError::forbidden(
            "A project-scoped token can't file reports; use an account-wide token.",
        )
        .json());
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| too_large("this one is longer"))?;
    let report: ReportBody = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "Expected {{\"kind\", \"evidence\", \"versions\"?: [..], \"evidence_url\"?}}: {e}"
        ))
    })?;
    let versions = check(&report)?;
    let Some(found) = state.store.project(&project).await? else {
        return Err(ApiError::not_found(format!(
            "No project named `{}` on this index.",
            project.chars().take(200).collect::<String>()
        ))
        .json());
    };
    if !versions.is_empty() {
        let known: Vec<Version> = state
            .store
            .all_releases(&found.name)
            .await?
            .iter()
            .filter_map(|r| r.version.parse().ok())
            .collect();
        for (v, parsed) in report.versions.iter().zip(&versions) {
            if !known.contains(parsed) {
                return Err(
                    ApiError::not_found(format!("`{}` has no release `{v}`.", found.name)).json(),
                );
            }
        }
    }
    crate::limits::check(
        &state,
        crate::limits::Action::ReportUser,
        Some(&actor.user.username),
    )
    .await
    .map_err(ApiError::json)?;
    let filed = state
        .store
        .file_report(
            &NewReport {
                project: &found.name,
                reporter_id: actor.user.id,
                kind: &report.kind,
                versions: &report.versions,
                evidence: report.evidence.trim(),
                evidence_url: report.evidence_url.as_deref(),
                ip: ip.as_deref(),
                time_ms: now_ms(),
            },
            &rules(&state.config),
        )
        .await?;
    let filed = match filed {
        Ok(f) => f,
        Err(refusal) => {
            let status = match refusal {
                ReportRefusal::Duplicate { .. } => StatusCode::CONFLICT,
                ReportRefusal::OwnProject(_) => StatusCode::BAD_REQUEST,
                ReportRefusal::Blocked => StatusCode::FORBIDDEN,
            };
            return Err(ApiError::new(status, format!("{refusal}.")).json());
        }
    };
    if filed.quarantined_by.is_some() {
        state.pages.clear();
    }
    tracing::info!(report = filed.report.id, project = %found.name, kind = %report.kind,
        quarantined = filed.quarantined_by.is_some(), "report filed");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": filed.report.id,
            "project": filed.report.project,
            "kind": filed.report.kind,
            "versions": filed.report.versions,
            "status": filed.report.status,
            "quarantined": filed.quarantined_by.is_some(),
            "rule": filed.quarantined_by,
        })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: serde_json::Value) -> Result<(), String> {
        let parsed: ReportBody = serde_json::from_value(text).map_err(|e| e.to_string())?;
        check(&parsed).map(|_| ()).map_err(|e| e.message)
    }

    #[test]
    fn reports_are_checked_field_by_field() {
        assert_eq!(
            body(
                json!({"kind": "malware", "evidence": "posts ~/.aws to a host", "versions": ["1.0"],
                        "evidence_url": "https://analysis.example/r/1"})
            ),
            Ok(())
        );
        for (bad, says) in [
            (
                json!({"kind": "evil", "evidence": "x"}),
                "not a report kind",
            ),
            (
                json!({"kind": "malware", "evidence": "  "}),
                "\"evidence\" is empty",
            ),
            (
                json!({"kind": "malware", "evidence": "x".repeat(MAX_EVIDENCE + 1)}),
                "at most 20000",
            ),
            (
                json!({"kind": "malware", "evidence": "x", "evidence_url": "javascript:alert(1)"}),
                "http(s) URL",
            ),
            (
                json!({"kind": "malware", "evidence": "x", "versions": ["not a version"]}),
                "not a PEP 440 version",
            ),
            (
                json!({"kind": "malware", "evidence": "x", "versions": vec!["1"; 101]}),
                "at most 100",
            ),
        ] {
            let e = body(bad.clone()).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(
            body(json!({"kind": "malware", "evidence": "x", "extra": 1}))
                .unwrap_err()
                .contains("unknown field")
        );
    }
}
