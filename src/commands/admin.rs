//! `picket admin`: works directly on a registry's data directory (the server may be running; a
//! running server notices the changes within a second through the journal).

use std::io::{Read, Write};

use picket_server::admin::strings;
use picket_store::{AdminAction, AdminContext, Event, NewUser, Store, StoreError, TokenScope};
use serde_json::json;

use crate::cli::{AdminArgs, AdminCommand, Format};
use crate::config::{Config, choose_database, data_dir};
use crate::output::{self, Exit, error, hint};

pub fn run(args: &AdminArgs, format: Format) -> Exit {
    let dir = match data_dir(args.data_dir.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    let actor = args.actor.clone().unwrap_or_else(|| {
        format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        )
    });
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            error(&format!("starting the async runtime: {e}"));
            return Exit::Error;
        }
    };
    let mut serve = match Config::load_with_env(args.config.as_deref()) {
        Ok(c) => c.serve,
        Err(e) => {
            error(&format!("{e:#}"));
            return Exit::Error;
        }
    };
    choose_database(&mut serve, args.database_url.as_deref());
    if let Some(exit) = runtime.block_on(super::admin_data::run(
        &args.command,
        &serve.store_config(&dir),
        format,
    )) {
        return exit;
    }
    runtime.block_on(async {
        let store = match Store::connect(&serve.store_config(&dir)).await {
            Ok(s) => s,
            Err(e) => {
                error(&format!("opening {}: {e}", dir.display()));
                return Exit::Error;
            }
        };
        let result = act(&store, &args.command, &serve, &actor, format).await;
        store.close().await;
        match result {
            Ok(exit) => exit,
            Err(e) => {
                error(&e.to_string());
                if let Some(h) = hint_for(&e) {
                    hint(h);
                }
                Exit::Error
            }
        }
    })
}

fn hint_for(e: &AdminError) -> Option<&'static str> {
    match e {
        AdminError::Store(StoreError::NoUser(_)) => {
            Some("list the accounts with `picket admin list-users`")
        }
        AdminError::Store(StoreError::NoProject(_)) => {
            Some("project names are matched after PEP 503 normalization; check the spelling")
        }
        AdminError::Store(StoreError::NoReport(_) | StoreError::ReportState { .. }) => {
            Some("list the reports with `picket admin reports list`")
        }
        AdminError::Store(StoreError::NoRecord(_)) => {
            Some("list the records with `picket admin osv list`")
        }
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Input(String),
}

fn admin_event(kind: &str, actor: &str, user: Option<&str>, data: serde_json::Value) -> Event {
    let mut data = data;
    data["actor"] = actor.into();
    Event::new(kind, picket_server::now_ms(), user, None, data)
}

/// A duration like `90s`, `90m`, `24h`, `14d`, in milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let n: i64 = text[..text.len() - 1].parse().ok().filter(|n| *n > 0)?;
    Some(n.saturating_mul(seconds * 1000))
}

/// The registrable domain an admin means.
fn domain_arg(domain: &str) -> Result<String, AdminError> {
    let domain = domain.trim().trim_start_matches('@');
    if domain.is_empty() || domain.contains(['@', ' ', '/']) || !domain.contains('.') {
        return Err(AdminError::Input(format!(
            "`{domain}` is not a domain name (e.g. example.org)"
        )));
    }
    let registrable = picket_server::policy::registrable_domain(&format!("x@{domain}"))
        .unwrap_or_else(|| domain.to_ascii_lowercase());
    if registrable != domain.to_ascii_lowercase() {
        eprintln!("note: using the registrable domain {registrable} (from {domain})");
    }
    Ok(registrable)
}

/// Parses `--since`: RFC 3339, a date (`2025-06-11`), or a duration ago (`90m`, `24h`, `7d`).
fn since_ms(text: &str) -> Result<i64, AdminError> {
    let text = text.trim();
    let bad = || {
        AdminError::Input(format!(
            "--since `{text}` is not a time: use RFC 3339 (2025-06-11T09:00:00Z), a date (2025-06-11) or a duration ago (90m, 24h, 7d)"
        ))
    };
    if let Some(ms) = duration_ms(text) {
        return Ok(picket_server::now_ms() - ms);
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    picket_formats::time::unix_seconds(&full)
        .map(|s| s * 1000)
        .ok_or_else(bad)
}

async fn act(
    store: &Store,
    command: &AdminCommand,
    serve: &picket_server::ServeConfig,
    actor: &str,
    format: Format,
) -> Result<Exit, AdminError> {
    let now = picket_server::now_ms();
    let mut out = output::stdout();
    match command {
        AdminCommand::CreateUser {
            name,
            email,
            admin,
            password_stdin: _,
        } => {
            picket_server::accounts::validate_username(name).map_err(AdminError::Input)?;
            picket_server::accounts::validate_email(email).map_err(AdminError::Input)?;
            let mut password = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut password)
                .map_err(|e| AdminError::Input(format!("reading the password from stdin: {e}")))?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            if password.chars().count() < 8 {
                return Err(AdminError::Input(
                    "the password on stdin is shorter than 8 characters".into(),
                ));
            }
            let hash = picket_server::auth::hash_password(password)
                .await
                .map_err(|e| AdminError::Input(e.message))?;
            let user = store
                .create_user(
                    &NewUser {
                        username: name,
                        email,
                        password_hash: &hash,
                        is_admin: *admin,
                        email_verified: true,
                        email_domain: picket_server::policy::registrable_domain(email).as_deref(),
                        time_ms: now,
                        signup_cap: None,
                    },
                    &[
                        admin_event(
                            "account.create",
                            actor,
                            Some(name),
                            json!({ "email": email }),
                        ),
                        admin_event(
                            "account.email.verify",
                            actor,
                            Some(name),
                            json!({ "email": email }),
                        ),
                    ],
                )
                .await?;
            let _ = output::emit(format, &user, |w| {
                writeln!(
                    w,
                    "created user {} <{}>{}",
                    user.username,
                    user.email,
                    if user.is_admin { " (admin)" } else { "" }
                )
            });
        }
        AdminCommand::CreateToken {
            name,
            projects,
            label,
        } => {
            let user = store
                .user(name)
                .await?
                .ok_or_else(|| StoreError::NoUser(name.clone()))?;
            let scope = if projects.is_empty() {
                TokenScope::User
            } else {
                for p in projects {
                    if store.project(p).await?.is_none() {
                        return Err(StoreError::NoProject(p.clone()).into());
                    }
                }
                TokenScope::Projects(
                    projects
                        .iter()
                        .map(|p| picket_formats::normalize(p))
                        .collect(),
                )
            };
            let token = picket_server::auth::new_secret(picket_server::auth::TOKEN_PREFIX);
            let id = store
                .create_token(
                    user.id,
                    label,
                    &scope,
                    &picket_server::auth::secret_hash(&token),
                    &token[..12],
                    &[admin_event(
                        "account.token.create",
                        actor,
                        Some(&user.username),
                        json!({ "scope": scope.to_json() }),
                    )],
                )
                .await?;
            let report = json!({ "id": id, "user": user.username, "token": token, "scope": scope.to_json() });
            let _ = output::emit(format, &report, |w| writeln!(w, "{token}"));
            crate::output::hint(
                "the token is shown once; store it now (twine: username __token__, this as the password)",
            );
        }
        AdminCommand::ListUsers => {
            let users = store.users().await?;
            let _ = output::emit(format, &users, |w| {
                writeln!(
                    w,
                    "{:<24} {:<32} {:<8} {:<5} {:<5} STATE",
                    "USER", "EMAIL", "VERIFIED", "2FA", "ADMIN"
                )?;
                for u in &users {
                    writeln!(
                        w,
                        "{:<24} {:<32} {:<8} {:<5} {:<5} {}",
                        u.username,
                        u.email,
                        if u.email_verified { "yes" } else { "no" },
                        if u.has_2fa() { "yes" } else { "no" },
                        if u.is_admin { "yes" } else { "no" },
                        if u.disabled { "disabled" } else { "active" }
                    )?;
                }
                Ok(())
            });
        }
        AdminCommand::ExportEvents { since, out: path } => {
            let since = since
                .as_deref()
                .map(since_ms)
                .transpose()?
                .unwrap_or(i64::MIN);
            let events = store.events_since(since).await?;
            let mut text = String::new();
            for e in &events {
                text.push_str(&e.to_json_line());
                text.push('\n');
            }
            match path {
                Some(path) => {
                    std::fs::write(path, text)
                        .map_err(|e| AdminError::Input(format!("{}: {e}", path.display())))?;
                    eprintln!("wrote {} events to {}", events.len(), path.display());
                }
                None => {
                    if let Err(e) = out.write_all(text.as_bytes())
                        && e.kind() != std::io::ErrorKind::BrokenPipe
                    {
                        return Err(AdminError::Input(format!("writing output: {e}")));
                    }
                }
            }
        }
        AdminCommand::Yank {
            project,
            version,
            reason,
        } => {
            store
                .set_yanked(
                    project,
                    version,
                    true,
                    reason.as_deref(),
                    &[admin_event(
                        "release.yank",
                        actor,
                        None,
                        json!({ "project": project, "version": version, "reason": reason }),
                    )],
                )
                .await?;
            eprintln!("yanked {project} {version}");
        }
        AdminCommand::Unyank { project, version } => {
            store
                .set_yanked(project, version, false, None, &[admin_event(
                    "release.unyank", actor, None,
                    json!({ "project": project, "version": version, "reason": "unyanked by an administrator" }),
                )])
                .await?;
            eprintln!("unyanked {project} {version}");
        }
        AdminCommand::Remove {
            project,
            version,
            file,
            reason,
        } => {
            let removal = match (version, file) {
                (Some(v), _) => {
                    store
                        .remove_release(
                            project,
                            v,
                            &[admin_event(
                                "release.remove",
                                actor,
                                None,
                                json!({ "project": project, "version": v, "reason": reason }),
                            )],
                        )
                        .await?
                }
                (None, Some(f)) => {
                    store
                        .remove_file(
                            project,
                            f,
                            &[admin_event(
                                "file.remove",
                                actor,
                                None,
                                json!({ "project": project, "filename": f, "reason": reason }),
                            )],
                        )
                        .await?
                }
                (None, None) => {
                    store
                        .remove_project(
                            project,
                            &[admin_event(
                                "project.remove",
                                actor,
                                None,
                                json!({ "project": project, "reason": reason }),
                            )],
                        )
                        .await?
                }
            };
            let _ = output::emit(format, &removal, |w| {
                writeln!(
                    w,
                    "removed {} release(s), {} file(s)",
                    removal.releases,
                    removal.files.len()
                )?;
                for f in &removal.files {
                    writeln!(w, "  {f}")?;
                }
                Ok(())
            });
        }
        AdminCommand::ProhibitDomain {
            domain,
            reason,
            expires,
            mx,
            dry_run,
        } => {
            let domain = domain_arg(domain)?;
            let expires_at = match expires {
                Some(text) => Some(
                    now + duration_ms(text).ok_or_else(|| {
                        AdminError::Input(format!(
                            "--expires `{text}` is not a duration (90m, 24h, 14d)"
                        ))
                    })?,
                ),
                None => None,
            };
            let prohibition = picket_store::Prohibition {
                domain: domain.clone(),
                reason: reason.clone(),
                actor: actor.to_owned(),
                created_at: now,
                expires_at,
                match_mx: *mx,
            };
            if !dry_run {
                let mut data = json!({ "domain": domain, "reason": reason, "mx": mx });
                if let Some(t) = expires_at {
                    data["expires"] = picket_store::rfc3339(t).into();
                }
                store
                    .prohibit_domain(
                        &prohibition,
                        &[admin_event("domain.prohibit", actor, None, data)],
                    )
                    .await?;
            }
            let _ = output::emit(
                format,
                &json!({ "dry_run": dry_run, "prohibited": prohibition }),
                |w| {
                    writeln!(
                        w,
                        "{}prohibited {domain}{}: {reason}",
                        if *dry_run { "would have " } else { "" },
                        expires_at.map_or_else(String::new, |t| format!(
                            " until {}",
                            picket_store::rfc3339(t)
                        ))
                    )
                },
            );
        }
        AdminCommand::AllowDomain {
            domain,
            reason,
            dry_run,
        } => {
            let domain = domain_arg(domain)?;
            let existing = if *dry_run {
                store
                    .prohibitions()
                    .await?
                    .into_iter()
                    .find(|p| p.domain == domain)
            } else {
                store
                    .allow_domain(
                        &domain,
                        &[admin_event(
                            "domain.allow",
                            actor,
                            None,
                            json!({ "domain": domain, "reason": reason }),
                        )],
                    )
                    .await?
            };
            let Some(existing) = existing else {
                return Err(AdminError::Input(format!("{domain} is not prohibited")));
            };
            let _ = output::emit(
                format,
                &json!({ "dry_run": dry_run, "allowed": existing }),
                |w| {
                    writeln!(
                        w,
                        "{}allowed {domain} (prohibited since {} by {}: {})",
                        if *dry_run { "would have " } else { "" },
                        picket_store::rfc3339(existing.created_at),
                        existing.actor,
                        existing.reason
                    )
                },
            );
        }
        AdminCommand::DisableUser(b)
        | AdminCommand::EnableUser(b)
        | AdminCommand::RestrictUser(b)
        | AdminCommand::UnrestrictUser(b)
        | AdminCommand::NukeUser(b)
        | AdminCommand::RestoreUser(b) => {
            let users = b.users.clone();
            let action = match command {
                AdminCommand::DisableUser(_) => AdminAction::DisableUser(users),
                AdminCommand::EnableUser(_) => AdminAction::EnableUser(users),
                AdminCommand::RestrictUser(_) => AdminAction::RestrictUser(users),
                AdminCommand::UnrestrictUser(_) => AdminAction::UnrestrictUser(users),
                AdminCommand::RestoreUser(_) => AdminAction::RestoreUser(users),
                _ => AdminAction::NukeUser(users),
            };
            return bulk(store, &action, actor, &b.reason, b.dry_run, format).await;
        }
        AdminCommand::Quarantine(b) => {
            let action = AdminAction::Quarantine(b.projects.clone());
            return bulk(store, &action, actor, &b.reason, b.dry_run, format).await;
        }
        AdminCommand::Release(b) => {
            let action = AdminAction::Release(b.projects.clone());
            return bulk(store, &action, actor, &b.reason, b.dry_run, format).await;
        }
        AdminCommand::RemoveProject {
            projects,
            prohibit_name,
            malicious,
            reason,
            dry_run,
        } => {
            let action = AdminAction::RemoveProject {
                projects: projects.clone(),
                prohibit_name: *prohibit_name,
                malicious: *malicious,
            };
            return bulk(store, &action, actor, reason, *dry_run, format).await;
        }
        AdminCommand::Audit { since } => {
            let since = since.as_deref().map(since_ms).transpose()?.unwrap_or(0);
            let events = store.audit(since).await?;
            let lines: Vec<serde_json::Value> = events
                .iter()
                .map(|e| serde_json::from_str(&e.to_json_line()).unwrap_or_default())
                .collect();
            let _ = output::emit(format, &lines, |w| {
                for e in &events {
                    writeln!(w, "{}", describe(e))?;
                }
                if events.is_empty() {
                    writeln!(w, "no admin actions")?;
                }
                Ok(())
            });
        }
        AdminCommand::Campaigns => {
            let list = store.campaigns().await?;
            let _ = output::emit(format, &list, |w| {
                if list.is_empty() {
                    writeln!(w, "no campaigns")?;
                }
                for c in &list {
                    writeln!(
                        w,
                        "{:<40} {:<9} detected {}  {} accounts, {} projects, confidence {:.2}",
                        c.id,
                        c.status,
                        picket_store::rfc3339(c.detected_at),
                        c.report["accounts"].as_array().map_or(0, Vec::len),
                        c.report["projects"].as_array().map_or(0, Vec::len),
                        c.report["confidence"].as_f64().unwrap_or(0.0)
                    )?;
                }
                Ok(())
            });
        }
        AdminCommand::Campaign(sub) => {
            return campaign(store, sub, actor, format).await;
        }
        AdminCommand::Reports(sub) => return reports(store, sub, actor, format).await,
        AdminCommand::ReporterTrust {
            user,
            level,
            reason,
        } => {
            let cx = AdminContext {
                actor,
                reason,
                time_ms: now,
            };
            let changes = store.set_reporter_trust(user, level, &cx).await?;
            if changes.is_empty() {
                eprintln!("{user}'s reports are already {level}");
            } else {
                eprintln!("{user}'s reports are now {level}");
            }
        }
        AdminCommand::Osv(sub) => return osv(store, sub, actor, format).await,
        AdminCommand::MigrateDb { .. }
        | AdminCommand::Backup { .. }
        | AdminCommand::Restore { .. } => {
            unreachable!("admin_data::run handles the commands that move data")
        }
        AdminCommand::CheckDomains { rdap_url } => {
            let url = rdap_url.clone().or(serve.rdap_url.clone()).ok_or_else(|| {
                AdminError::Input(
                    "no RDAP service: pass --rdap-url URL or set rdap-url in [serve]".into(),
                )
            })?;
            let margin = serve.rdap_expiry_margin_days;
            let summary = picket_server::domains::check_all(store, &url, margin, actor)
                .await
                .map_err(AdminError::Input)?;
            let _ = output::emit(format, &summary, |w| {
                for (user, email, reason) in &summary.unverified {
                    writeln!(w, "unverified {email} ({user}): {reason}")?;
                }
                for (domain, error) in &summary.failed {
                    writeln!(w, "left as is: {domain}: {error}")?;
                }
                writeln!(
                    w,
                    "{} domains of {} verified addresses checked; {} unverified, {} not answered",
                    summary.domains,
                    summary.addresses,
                    summary.unverified.len(),
                    summary.failed.len()
                )
            });
        }
        AdminCommand::ImportBaseline { file } => {
            let text = std::fs::read(file)
                .map_err(|e| AdminError::Input(format!("{}: {e}", file.display())))?;
            let mut signups = Vec::new();
            let mut skipped = 0u64;
            for line in text.split(|&b| b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let parsed: Option<(String, i64)> =
                    serde_json::from_slice::<serde_json::Value>(line)
                        .ok()
                        .filter(|v| v["kind"] == "account.create")
                        .and_then(|v| {
                            let domain =
                                picket_server::policy::registrable_domain(v["email"].as_str()?)?;
                            let time = picket_formats::time::unix_seconds(v["time"].as_str()?)?;
                            Some((domain, time * 1000))
                        });
                match parsed {
                    Some(s) => signups.push(s),
                    None => skipped += 1,
                }
            }
            let n = store.import_signups(&signups).await?;
            let domains: std::collections::BTreeSet<&str> =
                signups.iter().map(|(d, _)| d.as_str()).collect();
            let _ = output::emit(
                format,
                &json!({ "signups": n, "domains": domains.len(), "skipped_lines": skipped }),
                |w| {
                    writeln!(
                        w,
                        "imported {n} sign-ups from {} domains ({skipped} other lines skipped)",
                        domains.len()
                    )
                },
            );
        }
        AdminCommand::ListDomains => {
            let list = store.prohibitions().await?;
            let _ = output::emit(format, &list, |w| {
                writeln!(
                    w,
                    "{:<32} {:<26} {:<26} {:<16} REASON",
                    "DOMAIN", "SINCE", "EXPIRES", "BY"
                )?;
                for p in &list {
                    let expires = p.expires_at.map_or_else(
                        || "never".to_owned(),
                        |t| {
                            format!(
                                "{}{}",
                                picket_store::rfc3339(t),
                                if t <= now { " (lapsed)" } else { "" }
                            )
                        },
                    );
                    writeln!(
                        w,
                        "{:<32} {:<26} {:<26} {:<16} {}",
                        p.domain,
                        picket_store::rfc3339(p.created_at),
                        expires,
                        p.actor,
                        p.reason
                    )?;
                }
                Ok(())
            });
        }
        AdminCommand::AddOwner { project, user } => {
            store
                .add_owner(
                    project,
                    user,
                    &[admin_event(
                        "project.owner.add",
                        actor,
                        None,
                        json!({ "project": project, "owner": user }),
                    )],
                )
                .await?;
            eprintln!("{user} now owns {project}");
        }
        AdminCommand::RemoveOwner { project, user } => {
            store
                .remove_owner(
                    project,
                    user,
                    &[admin_event(
                        "project.owner.remove",
                        actor,
                        None,
                        json!({ "project": project, "owner": user }),
                    )],
                )
                .await?;
            eprintln!("{user} no longer owns {project}");
        }
    }
    Ok(Exit::Ok)
}

/// One journal entry of an admin action, for people.
fn describe(e: &Event) -> String {
    let subject = e
        .user
        .clone()
        .or_else(|| {
            ["project", "domain", "name"]
                .iter()
                .find_map(|k| e.data.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
        })
        .unwrap_or_default();
    let field = |k: &str| e.data.get(k).and_then(|v| v.as_str()).unwrap_or("");
    format!(
        "{}  {:<20} {:<28} by {}: {}",
        picket_store::rfc3339(e.time_ms),
        e.kind,
        subject,
        field("actor"),
        field("reason")
    )
}

/// Runs a bulk action in one transaction and prints what changed (or would change).
async fn bulk(
    store: &Store,
    action: &AdminAction,
    actor: &str,
    reason: &str,
    dry_run: bool,
    format: Format,
) -> Result<Exit, AdminError> {
    if reason.trim().is_empty() {
        return Err(AdminError::Input("--reason must say why".into()));
    }
    let cx = AdminContext {
        actor,
        reason,
        time_ms: picket_server::now_ms(),
    };
    let changes = store.admin(action, &cx, dry_run).await?;
    print_changes(&changes, dry_run, format, &json!({}));
    Ok(Exit::Ok)
}

async fn campaign(
    store: &Store,
    sub: &crate::cli::CampaignCommand,
    actor: &str,
    format: Format,
) -> Result<Exit, AdminError> {
    use crate::cli::CampaignCommand;
    let id = match sub {
        CampaignCommand::Show { id }
        | CampaignCommand::Apply { id, .. }
        | CampaignCommand::Dismiss { id, .. } => id,
    };
    let row = store.campaign(id).await?.ok_or_else(|| {
        AdminError::Input(format!(
            "no campaign `{id}`; list them with `picket admin campaigns`"
        ))
    })?;
    let burst_domains = picket_server::admin::campaign_domains(&row);
    match sub {
        CampaignCommand::Show { .. } => {
            let _ = output::emit(format, &row, |w| {
                let r = &row.report;
                writeln!(
                    w,
                    "{} ({}), confidence {:.2}",
                    row.id,
                    row.status,
                    r["confidence"].as_f64().unwrap_or(0.0)
                )?;
                writeln!(
                    w,
                    "first seen {}, detected {}",
                    r["first_seen"].as_str().unwrap_or(""),
                    r["detected_at"].as_str().unwrap_or("")
                )?;
                writeln!(
                    w,
                    "accounts ({}): {}",
                    strings(&r["accounts"]).len(),
                    strings(&r["accounts"]).join(" ")
                )?;
                writeln!(
                    w,
                    "projects ({}): {}",
                    strings(&r["projects"]).len(),
                    strings(&r["projects"]).join(" ")
                )?;
                for s in r["signals"].as_array().into_iter().flatten() {
                    writeln!(
                        w,
                        "  {:<20} {:.2} {}",
                        s["name"].as_str().unwrap_or(""),
                        s["strength"].as_f64().unwrap_or(0.0),
                        s["evidence"]
                    )?;
                }
                for d in r["timeline"].as_array().into_iter().flatten() {
                    writeln!(
                        w,
                        "  {}  {:>5} accounts  {:>5} uploads",
                        d["day"].as_str().unwrap_or(""),
                        d["accounts"],
                        d["uploads"]
                    )?;
                }
                writeln!(w, "restricted automatically: {}", row.restricted.len())
            });
            Ok(Exit::Ok)
        }
        CampaignCommand::Apply {
            reason, dry_run, ..
        } => {
            let action = picket_server::admin::campaign_apply_action(&row);
            bulk(store, &action, actor, reason, *dry_run, format).await
        }
        CampaignCommand::Dismiss {
            reason, dry_run, ..
        } => {
            let cx = AdminContext {
                actor,
                reason,
                time_ms: picket_server::now_ms(),
            };
            let changes = store
                .dismiss_campaign(id, &burst_domains, &cx, *dry_run)
                .await?;
            let lines: Vec<serde_json::Value> = changes
                .iter()
                .map(|e| serde_json::from_str(&e.to_json_line()).unwrap_or_default())
                .collect();
            let _ = output::emit(
                format,
                &json!({ "dry_run": dry_run, "changes": lines }),
                |w| {
                    for e in &changes {
                        writeln!(
                            w,
                            "{}{}",
                            if *dry_run { "would: " } else { "" },
                            describe(e)
                        )?;
                    }
                    Ok(())
                },
            );
            Ok(Exit::Ok)
        }
    }
}

/// `picket admin reports …`.
async fn reports(
    store: &Store,
    sub: &crate::cli::ReportsCommand,
    actor: &str,
    format: Format,
) -> Result<Exit, AdminError> {
    use crate::cli::ReportsCommand;
    let (decision, d) = match sub {
        ReportsCommand::List { status } => {
            let list = store.reports(status.as_deref()).await?;
            let _ = output::emit(format, &list, |w| {
                if list.is_empty() {
                    return writeln!(w, "no reports");
                }
                writeln!(
                    w,
                    "{:>5}  {:<9} {:<20} {:<24} {:<16} {:<24} EVIDENCE",
                    "ID", "STATUS", "KIND", "PROJECT", "REPORTER", "FILED"
                )?;
                for r in &list {
                    let mut evidence: String = r.evidence.chars().take(60).collect();
                    if r.quarantined_at.is_some() {
                        evidence = format!("[quarantined] {evidence}");
                    }
                    writeln!(
                        w,
                        "{:>5}  {:<9} {:<20} {:<24} {:<16} {:<24} {}",
                        r.id,
                        r.status,
                        r.kind,
                        r.project,
                        r.reporter,
                        picket_store::rfc3339(r.created_at),
                        evidence.replace(['\n', '\r'], " ")
                    )?;
                }
                Ok(())
            });
            return Ok(Exit::Ok);
        }
        ReportsCommand::Confirm(d) => (picket_store::Decision::Confirm, d),
        ReportsCommand::Reject(d) => (picket_store::Decision::Reject, d),
        ReportsCommand::Revert(d) => (picket_store::Decision::Revert, d),
    };
    if d.reason.trim().is_empty() {
        return Err(AdminError::Input("--reason must say why".into()));
    }
    let cx = AdminContext {
        actor,
        reason: &d.reason,
        time_ms: picket_server::now_ms(),
    };
    let (changes, record) = store.decide_report(d.id, decision, &cx, d.dry_run).await?;
    print_changes(&changes, d.dry_run, format, &json!({ "record": record }));
    Ok(Exit::Ok)
}

/// `picket admin osv …`.
async fn osv(
    store: &Store,
    sub: &crate::cli::OsvCommand,
    actor: &str,
    format: Format,
) -> Result<Exit, AdminError> {
    match sub {
        crate::cli::OsvCommand::List => {
            let records = store.malicious_records().await?;
            let _ = output::emit(format, &records, |w| {
                if records.is_empty() {
                    return writeln!(w, "no records");
                }
                for r in &records {
                    let origins: Vec<String> = r
                        .origins
                        .iter()
                        .map(|o| {
                            format!(
                                "{} {}",
                                o["kind"].as_str().unwrap_or(""),
                                o["id"].as_str().unwrap_or("")
                            )
                        })
                        .collect();
                    writeln!(
                        w,
                        "{:<24} {:<24} {:<28} {}",
                        r.id,
                        r.project,
                        r.withdrawn_at.map_or_else(
                            || format!(
                                "published {}",
                                &picket_store::rfc3339(r.published_at)[..10]
                            ),
                            |t| format!("withdrawn {}", &picket_store::rfc3339(t)[..10])
                        ),
                        origins.join(", ")
                    )?;
                }
                Ok(())
            });
        }
        crate::cli::OsvCommand::Withdraw { id, reason } => {
            let cx = AdminContext {
                actor,
                reason,
                time_ms: picket_server::now_ms(),
            };
            let changes = store.withdraw_malicious_record(id, &cx).await?;
            print_changes(&changes, false, format, &json!({}));
        }
    }
    Ok(Exit::Ok)
}

/// Prints the journal entries a change made (or would make), with `extra` fields in JSON.
fn print_changes(changes: &[Event], dry_run: bool, format: Format, extra: &serde_json::Value) {
    let lines: Vec<serde_json::Value> = changes
        .iter()
        .map(|e| serde_json::from_str(&e.to_json_line()).unwrap_or_default())
        .collect();
    let mut report = json!({ "dry_run": dry_run, "changes": lines });
    if let (Some(out), Some(extra)) = (report.as_object_mut(), extra.as_object()) {
        out.extend(extra.clone());
    }
    let _ = output::emit(format, &report, |w| {
        for e in changes {
            writeln!(w, "{}{}", if dry_run { "would: " } else { "" }, describe(e))?;
        }
        if changes.is_empty() {
            writeln!(w, "nothing to change")?;
        }
        Ok(())
    });
    if dry_run && !changes.is_empty() {
        hint("nothing was changed (--dry-run); run again without it to apply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_dates_and_durations() {
        assert_eq!(since_ms("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(since_ms("1970-01-01T00:01:00Z").unwrap(), 60_000);
        let day_ago = since_ms("1d").unwrap();
        assert!((picket_server::now_ms() - day_ago - 86_400_000).abs() < 5_000);
        assert!(since_ms("yesterday").is_err());
        assert!(since_ms("5x").is_err());
    }
}
