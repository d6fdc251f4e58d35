//! The legacy upload API that twine and `uv publish` speak: `POST /legacy/`, multipart form,
//! `:action=file_upload`, an API token in Basic auth. The rules are PyPI's: the form's name and
//! version must match the file's own metadata and filename, digests must match, one sdist per
//! release, a filename is never reused, and the archive must pass the inspector.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::Digest as _;
use picket_formats::{DistFilename, Version};
use picket_inspect::{DistKind, Inventory, Limits};
use picket_store::{Upload, UploadOutcome};

use crate::auth::actor;
use crate::error::ApiError;
use crate::{AppState, ClientIp};

/// Most form fields accepted besides the file.
const MAX_FIELDS: usize = 512;
/// Most bytes of all text fields together (descriptions can be long).
const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

struct Form {
    fields: HashMap<String, Vec<String>>,
    file: Option<(String, Vec<u8>)>,
}

impl Form {
    fn one(&self, key: &str) -> Option<&str> {
        self.fields
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

async fn read_form(mut multipart: Multipart, max_file: u64) -> Result<Form, ApiError> {
    let mut form = Form {
        fields: HashMap::new(),
        file: None,
    };
    let mut text_bytes = 0usize;
    let mut count = 0usize;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?
    {
        count += 1;
        if count > MAX_FIELDS {
            return Err(ApiError::bad_request(format!(
                "Too many form fields (more than {MAX_FIELDS})"
            )));
        }
        let name = field.name().unwrap_or("").to_owned();
        if name == "content" {
            if form.file.is_some() {
                return Err(ApiError::bad_request("More than one file in `content`"));
            }
            let filename = field
                .file_name()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::bad_request("The `content` field has no filename"))?;
            let mut bytes = Vec::new();
            let mut over = false;
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| ApiError::bad_request(format!("Invalid multipart body: {e}")))?
            {
                if over || (bytes.len() + chunk.len()) as u64 > max_file {
                    // Keep reading (and dropping) so the client gets this answer rather than a
                    // reset in the middle of its upload; the body limit still bounds it.
                    over = true;
                    bytes = Vec::new();
                    continue;
                }
                bytes.extend_from_slice(&chunk);
            }
            if over {
                drop(field);
                while let Ok(Some(mut rest)) = multipart.next_field().await {
                    while let Ok(Some(_)) = rest.chunk().await {}
                }
                return Err(too_large(max_file));
            }
            form.file = Some((filename, bytes));
        } else {
            // Read piece by piece against what is left of the text allowance, so one huge field
            // is refused at the cap instead of being buffered up to the body limit first.
            let mut value = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| ApiError::bad_request(format!("Form field `{name}`: {e}")))?
            {
                text_bytes += chunk.len();
                if text_bytes > MAX_TEXT_BYTES {
                    return Err(ApiError::bad_request(format!(
                        "Form fields hold more than {MAX_TEXT_BYTES} bytes of text"
                    )));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value).map_err(|_| {
                ApiError::bad_request(format!("Form field `{name}` is not UTF-8 text"))
            })?;
            form.fields.entry(name).or_default().push(value);
        }
    }
    Ok(form)
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        format!(
            "File too large. Limit for this index is {} MB.",
            limit / (1024 * 1024)
        ),
    )
}

fn check_digest(form: &Form, key: &str, actual: &str) -> Result<(), ApiError> {
    match form.one(key) {
        None => Ok(()),
        Some(sent) if sent.trim().eq_ignore_ascii_case(actual) => Ok(()),
        Some(_) => Err(ApiError::bad_request(format!(
            "The digest supplied ({key}) does not match a digest calculated from the uploaded file."
        ))),
    }
}

/// The `artifact` summary of the `file.upload` event.
pub fn artifact_summary(inv: &Inventory) -> serde_json::Value {
    let mut summary = serde_json::json!({
        "files": inv.entries.len(),
        "python_files": inv.measures.python_files,
        "code_lines": inv.measures.substantive_lines,
        "empty": inv.emptiness.empty,
        "console_scripts": inv.console_scripts().collect::<Vec<_>>(),
        "native_binaries": inv.measures.native_binaries.len(),
        "native_sources": inv.measures.native_sources.len(),
        "code_digest": inv.measures.code_digest,
    });
    if let Some(meta) = inv.metadata.as_ref().filter(|m| !m.warnings.is_empty()) {
        summary["metadata_warnings"] = serde_json::json!(meta.warnings);
    }
    summary
}

/// 200 `OK`; with metadata warnings (a newer minor `Metadata-Version`), a 200 whose reason phrase
/// and body carry them, which twine prints with `--verbose` and uv with `-vv`.
fn accepted(warnings: &[String]) -> Response {
    if warnings.is_empty() {
        return "OK".into_response();
    }
    let text = format!("OK, with a warning: {}", warnings.join("; "));
    let mut response = format!("{text}\n").into_response();
    if let Ok(reason) =
        hyper::ext::ReasonPhrase::try_from(crate::error::reason_phrase(&text).into_bytes())
    {
        response.extensions_mut().insert(reason);
    }
    response
}

/// `POST /legacy/`.
pub async fn upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let result = upload_inner(&state, ip, &headers, multipart).await;
    match &result {
        Ok(_) => state.metrics.upload_accepted(),
        Err(e) => state.metrics.upload_rejected(rejection_reason(e)),
    }
    result.map(|warnings| accepted(&warnings))
}

/// A short, bounded label for why an upload was refused (the metrics' `reason`).
pub fn rejection_reason(e: &ApiError) -> &'static str {
    let m = e.message.as_str();
    match e.status {
        StatusCode::UNAUTHORIZED => "no-credentials",
        StatusCode::FORBIDDEN if m.contains("isn't allowed to upload") => "not-owner",
        StatusCode::FORBIDDEN if m.contains("Invalid API Token") => "token-scope",
        StatusCode::FORBIDDEN => "invalid-credentials",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        _ if m.starts_with("File too large") || m.contains("over its limit") => "too-large",
        _ if m.starts_with("File already exists") || m.contains("can't be reused") => "file-exists",
        _ if m.contains("already has an sdist") => "sdist-exists",
        _ if m.starts_with("Invalid distribution file") => "invalid-archive",
        _ if m.contains("digest") => "digest-mismatch",
        _ if m.contains("verified primary email") => "unverified-email",
        _ if m.contains("does not match")
            || m.contains("Start filename")
            || m.contains("Version in filename") =>
        {
            "metadata-mismatch"
        }
        _ => "invalid-request",
    }
}

async fn upload_inner(
    state: &AppState,
    ip: Option<String>,
    headers: &HeaderMap,
    multipart: Multipart,
) -> Result<Vec<String>, ApiError> {
    let actor = actor(state, headers).await?;
    if actor.token.is_none() {
        // A login session skips what tokens demand (2FA before tokens) and the detector's view
        // of who set up publishing; uploads take API tokens only, as on PyPI.
        return Err(ApiError::forbidden(
            "Uploads take an API token (username __token__, the token as password); a login session can't upload.",
        ));
    }
    let user = &actor.user;
    if state.config.require_verified_email && !user.email_verified {
        return Err(ApiError::bad_request(format!(
            "User {} does not have a verified primary email address. Please add a verified primary email before attempting to upload.",
            user.username
        )));
    }
    let max_file = state.config.max_file_size;
    let form = read_form(multipart, max_file).await?;

    match form.one(":action") {
        Some("file_upload") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unsupported :action `{other}`; only file_upload is supported"
            )));
        }
        None => {
            return Err(ApiError::bad_request(
                "Missing :action (expected file_upload)",
            ));
        }
    }
    if let Some(v) = form.one("protocol_version")
        && v != "1"
    {
        return Err(ApiError::bad_request(format!(
            "Unknown protocol_version `{v}`"
        )));
    }
    let form_name = form.one("name").ok_or_else(|| {
        ApiError::bad_request("'' is an invalid value for Name. Error: This field is required.")
    })?;
    let form_version = form.one("version").ok_or_else(|| {
        ApiError::bad_request("'' is an invalid value for Version. Error: This field is required.")
    })?;
    let filetype = form.one("filetype").unwrap_or("");
    let Some((filename, bytes)) = &form.file else {
        return Err(ApiError::bad_request(
            "Upload payload does not have a file.",
        ));
    };

    let project_name: picket_formats::ProjectName = form_name.parse().map_err(|e| {
        ApiError::bad_request(format!(
            "'{form_name}' is an invalid value for Name. Error: {e}"
        ))
    })?;
    let version: Version = form_version.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "'{form_version}' is an invalid value for Version. Error: Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'."
        ))
    })?;
    // Lowercase only, as PyPI requires.
    if ![".whl", ".tar.gz", ".zip"]
        .iter()
        .any(|ext| filename.ends_with(ext))
    {
        return Err(ApiError::bad_request(format!(
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. ({filename})"
        )));
    }
    if filename.contains('/') || filename.contains('\\') || filename.len() > 255 {
        return Err(ApiError::bad_request(format!(
            "Invalid filename `{filename}`"
        )));
    }
    let parsed: DistFilename = filename.parse().map_err(|e| {
        ApiError::bad_request(format!("Invalid distribution file name `{filename}`: {e}"))
    })?;
    let (expected_type, packagetype) = match parsed {
        DistFilename::Wheel(_) => ("bdist_wheel", "bdist_wheel"),
        DistFilename::Sdist(_) => ("sdist", "sdist"),
    };
    if !filetype.is_empty() && filetype != expected_type {
        return Err(ApiError::bad_request(format!(
            "Invalid value for filetype: `{filetype}`, but `{filename}` is a {expected_type}"
        )));
    }
    if parsed.name().normalized() != project_name.normalized() {
        return Err(ApiError::bad_request(format!(
            "Start filename for {filename} with the project name {}",
            project_name.normalized().replace('-', "_")
        )));
    }
    if parsed.version() != &version {
        return Err(ApiError::bad_request(format!(
            "Version in filename should be '{version}' not '{}'.",
            parsed.version()
        )));
    }
    if bytes.len() as u64 > max_file {
        return Err(too_large(max_file));
    }

    // Digests, then the archive itself, off the async runtime.
    let bytes: Arc<[u8]> = Arc::from(bytes.as_slice());
    let limits = Limits {
        max_archive_bytes: max_file,
        ..Limits::default()
    };
    let (sha256, md5, blake2, inventory) = {
        let bytes = bytes.clone();
        let filename = filename.clone();
        tokio::task::spawn_blocking(move || {
            let sha256 = picket_store::sha256_hex(&bytes);
            let md5 = data_encoding::HEXLOWER.encode(&md5::Md5::digest(&bytes));
            let blake2 = data_encoding::HEXLOWER.encode(&blake2::Blake2b::<
                blake2::digest::consts::U32,
            >::digest(&bytes));
            let inventory = picket_inspect::inspect_bytes(&filename, &bytes, &limits);
            (sha256, md5, blake2, inventory)
        })
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    };
    check_digest(&form, "md5_digest", &md5)?;
    check_digest(&form, "sha256_digest", &sha256)?;
    check_digest(&form, "blake2_256_digest", &blake2)?;
    let inventory =
        inventory.map_err(|e| ApiError::bad_request(format!("Invalid distribution file: {e}")))?;
    let metadata = inventory.metadata.as_ref().ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid distribution file: `{filename}` has no {}",
            if inventory.kind == DistKind::Wheel {
                ".dist-info/METADATA"
            } else {
                "PKG-INFO"
            }
        ))
    })?;
    if picket_formats::normalize(&metadata.name) != project_name.normalized() {
        return Err(ApiError::bad_request(format!(
            "The name in the file's metadata (`{}`) does not match the form's name (`{form_name}`)",
            metadata.name
        )));
    }
    if metadata.version.parse::<Version>().ok().as_ref() != Some(&version) {
        return Err(ApiError::bad_request(format!(
            "The version in the file's metadata (`{}`) does not match the form's version (`{form_version}`)",
            metadata.version
        )));
    }

    let project_normalized = project_name.normalized().to_owned();
    if let Some(token) = &actor.token
        && !token.scope.allows(&project_normalized)
    {
        return Err(ApiError::forbidden(format!(
            "Invalid API Token: token `{}` is not valid for project '{form_name}'",
            token.name
        )));
    }
    let may_create = actor
        .token
        .as_ref()
        .is_none_or(|t| matches!(t.scope, picket_store::TokenScope::User));

    // The upload gate.
    let existing = state.store.project(&project_normalized).await?;
    let uploader_owns = match &existing {
        Some(p) => state.store.is_owner(&p.normalized, user.id).await?,
        None => false,
    };
    let new_project = existing.is_none();
    if new_project && may_create {
        crate::limits::check(
            state,
            crate::limits::Action::ProjectCreateUser,
            Some(&user.username),
        )
        .await?;
        crate::limits::check(state, crate::limits::Action::ProjectCreateIp, ip.as_deref()).await?;
    }
    let owned = state.knowledge.trusted_owned(
        state.store.owned_projects(user.id).await?,
        state.config.gate_popular_name_rank,
    );
    let (twins, prohibited) = if new_project {
        (
            state
                .store
                .projects_with_skeleton(&picket_formats::skeleton(&metadata.name))
                .await?,
            state
                .store
                .name_prohibition(&project_normalized)
                .await?
                .map(|p| p.reason),
        )
    } else {
        (Vec::new(), None)
    };
    // With an upstream, a new name it already has would shadow it here.
    let upstream_has = match (&state.upstream, new_project) {
        (Some(upstream), true) => match upstream.has_project(&project_normalized).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, project = %project_normalized, "upstream not asked whether it has the name");
                None
            }
        },
        _ => None,
    };
    let commands: Vec<String> = inventory
        .entry_points
        .iter()
        .filter(|e| e.is_script())
        .map(|e| e.name.clone())
        .collect();
    let now = crate::now_ms();
    let risk = crate::gate::risk(user, &state.config, now);
    let decisions = crate::gate::evaluate(
        &state.knowledge,
        &state.config,
        &crate::gate::Candidate {
            name: &metadata.name,
            new_project,
            existing_name: existing.as_ref().map(|p| p.name.as_str()),
            uploader_owns,
            commands: &commands,
            empty: inventory.emptiness.empty.then(|| {
                serde_json::json!({
                    "reason": inventory.emptiness.reason,
                    "files": inventory.entries.len(),
                    "python_files": inventory.measures.python_files,
                    "code_lines": inventory.measures.substantive_lines,
                })
            }),
            skeleton_twins: &twins,
            prohibited,
            owned: &owned,
            upstream_has,
        },
        !risk.is_empty(),
    );
    let version_text = version.to_string();
    let decision_events: Vec<picket_store::Event> = decisions
        .iter()
        .map(|d| {
            state.metrics.gate_decision(d.rule, d.action.as_str());
            crate::gate::event(
                d,
                &metadata.name,
                &version_text,
                filename,
                &user.username,
                ip.as_deref(),
                now,
            )
        })
        .collect();
    if let Some(reject) = decisions
        .iter()
        .find(|d| d.action == crate::config::GateAction::Reject)
    {
        state.store.append_events(&decision_events).await?;
        tracing::info!(user = %user.username, %filename, rule = reject.rule, "upload refused by the gate");
        let status = StatusCode::from_u16(reject.status).unwrap_or(StatusCode::BAD_REQUEST);
        return Err(ApiError::new(status, reject.message.clone()));
    }
    let held: Vec<&crate::gate::Decision> = decisions
        .iter()
        .filter(|d| d.action == crate::config::GateAction::Quarantine)
        .collect();
    let quarantine = if held.is_empty() && !user.restricted {
        None
    } else {
        let mut reasons: Vec<String> = held.iter().map(|d| d.message.clone()).collect();
        if user.restricted {
            reasons.push(format!(
                "Uploads of the account '{}' are held for review.",
                user.username
            ));
        }
        Some(picket_store::Quarantine::new(
            now,
            reasons.join(" "),
            serde_json::json!({
                "decisions": held,
                "risk": risk,
                "filename": filename,
                "version": version_text,
            }),
        ))
    };

    // Blobs first (content-addressed, so an orphan from a refused transaction is harmless).
    let sha256_stored = state.store.put_blob(bytes.clone()).await?;
    debug_assert_eq!(sha256_stored, sha256);
    let metadata_sha256 = match (&inventory.kind, &inventory.metadata_bytes) {
        (DistKind::Wheel, Some(meta)) => {
            Some(state.store.put_blob(Arc::from(meta.as_slice())).await?)
        }
        _ => None,
    };
    let release_metadata = serde_json::to_value(metadata).unwrap_or_default();
    let artifact = artifact_summary(&inventory);
    let outcome = state
        .store
        .record_upload(&Upload {
            project: &metadata.name,
            version: &version.to_string(),
            filename,
            packagetype,
            requires_python: metadata.requires_python.as_deref(),
            user_id: user.id,
            user_name: &user.username,
            ip: ip.as_deref(),
            may_create,
            sha256: &sha256,
            size: bytes.len() as u64,
            md5: Some(&md5),
            blake2_256: Some(&blake2),
            metadata_sha256: metadata_sha256.as_deref(),
            release_metadata: &release_metadata,
            artifact: &artifact,
            summary: metadata.summary.as_deref(),
            max_project_bytes: state.config.max_project_size,
            time_ms: now,
            quarantine: quarantine.as_ref(),
            commands: &commands,
            journal: &decision_events,
            skeleton_twins_seen: (new_project && state.config.gate_similar_name != crate::config::GateAction::Off)
                .then_some(twins.as_slice()),
        })
        .await
        .map_err(|e| match e {
            picket_store::StoreError::NotOwner { user, project } => ApiError::forbidden(format!(
                "The user '{user}' isn't allowed to upload to project '{project}'. See /help/#project-name for more information."
            )),
            picket_store::StoreError::FileExists { filename, .. } => ApiError::bad_request(format!(
                "File already exists ('{filename}', with a different sha256 digest). See /help/#file-name-reuse for more information."
            )),
            picket_store::StoreError::SimilarNameCreated { name, existing } => ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "The name '{name}' is too similar to the project '{existing}', created while this upload was checked; upload again to have it judged. See /help/#project-name for more information."
                ),
            ),
            picket_store::StoreError::NoProject(p) => ApiError::forbidden(format!(
                "Invalid API Token: this token can't create the new project '{p}'"
            )),
            other => other.into(),
        })?;
    state.pages.invalidate(&project_normalized);
    match outcome {
        UploadOutcome::Duplicate => {
            tracing::info!(user = %user.username, %filename, "duplicate upload ignored");
        }
        UploadOutcome::Stored { created_project } => {
            tracing::info!(user = %user.username, %filename, created_project, empty = inventory.emptiness.empty, quarantined = quarantine.is_some(), "file uploaded");
            match &quarantine {
                None if existing.as_ref().is_none_or(|p| p.quarantine.is_none()) => {
                    state.knowledge.learn(&commands, &project_normalized);
                }
                None => {}
                Some(q) => tell_owner(state, user, &metadata.name, filename, q).await,
            }
        }
    }
    Ok(metadata.warnings.clone())
}

/// Mails the uploader why an upload was quarantined (a failure to mail is logged, not fatal: the
/// owners' API shows the same).
async fn tell_owner(
    state: &AppState,
    user: &picket_store::User,
    project: &str,
    filename: &str,
    q: &picket_store::Quarantine,
) {
    let mail = crate::mail::Mail {
        to: user.email.clone(),
        subject: format!("{project}: your upload is held for review"),
        body: format!(
            "Hello {},\n\nThe file {filename} was stored but is quarantined: installers can't see it until an administrator of this index releases it.\n\nWhy: {}\n\nDetails: GET {}/api/v1/projects/{}/status\n",
            user.username,
            q.reason,
            state.base_url(),
            picket_formats::normalize(project)
        ),
    };
    if let Err(e) = state.mailer.send(&mail, q.at).await {
        tracing::warn!(error = %e, "quarantine notice not mailed");
    }
}
