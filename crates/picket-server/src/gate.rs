//! The upload gate: rules every new project and new release passes before it is stored.
//!
//! Name rules (new projects only): the exact name of a popular project not held here yet
//! (dependency confusion), a name AI assistants are known to invent (slopsquatting), PEP 508
//! validity (the upload parser's), standard-library
//! module names, prohibited names, an existing project under another spelling (409), a
//! confusable-skeleton collision with an existing project (400 "too similar"), and typosquats of
//! popular projects (picket-names' detector over the imported snapshot or the embedded list).
//! Content rules (every upload): console/GUI scripts that shadow another project's command or a
//! reserved one (the shipped seed plus every command learned from wheels stored here), and empty
//! distributions (picket-inspect's verdict).
//!
//! Each rule has an action — `reject`, `quarantine`, `flag` or `off` — and every match is a
//! [`Decision`] with its evidence, journaled as `gate.decision`. An account's risk (younger than
//! `gate-new-account-days`, e-mail domain on `watch-domains`, or restricted) raises `flag` to
//! `quarantine`; a restricted account's uploads are always quarantined.

use std::collections::HashSet;
use std::sync::RwLock;

use picket_names::{CommandMap, Owner, SquatDetector};
use picket_store::{Event, User};
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{GateAction, ServeConfig};

/// Popular names a command may not take unless installed by that project: the top of the ranks.
const COMMAND_NAME_RANK: u32 = 5_000;

/// What the gate knows beyond the database: popular names, standard-library names, commands.
pub struct Knowledge {
    detector: std::sync::Arc<SquatDetector>,
    /// Where the popular names came from.
    pub origin: String,
    stdlib: HashSet<String>,
    commands: RwLock<CommandMap>,
}

impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field("popular", &self.detector.len())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Knowledge {
    /// From the popular names `(name, rank)` and the commands learned so far.
    pub fn new(popular: &[(String, u32)], origin: String, learned: &[(String, String)]) -> Self {
        let mut commands = CommandMap::default();
        for (command, project) in learned {
            commands.learn(command, project);
        }
        Self {
            detector: std::sync::Arc::new(SquatDetector::new(
                popular,
                picket_names::SquatConfig::default(),
            )),
            origin,
            stdlib: picket_names::stdlib_modules().collect(),
            commands: RwLock::new(commands),
        }
    }

    /// The popular-name detector, shared with the campaign detector.
    pub fn squats(&self) -> std::sync::Arc<SquatDetector> {
        self.detector.clone()
    }

    /// The popularity rank of a normalized name (1 the most downloaded), if it is popular.
    pub fn popular_rank(&self, normalized: &str) -> Option<u32> {
        self.detector.popular_rank(normalized)
    }

    /// Of the projects an account owns (`(normalized, reviewed)`), those that count as its own
    /// for the look-alike and command rules: a popular name (within `rank_limit`) only once an
    /// administrator has reviewed it, so claiming `requests` here does not license `reqests`.
    pub fn trusted_owned(&self, owned: Vec<(String, bool)>, rank_limit: u32) -> Vec<String> {
        owned
            .into_iter()
            .filter(|(name, reviewed)| {
                *reviewed || self.popular_rank(name).is_none_or(|r| r > rank_limit)
            })
            .map(|(name, _)| name)
            .collect()
    }

    /// Records commands of a stored (not quarantined) wheel.
    pub fn learn(&self, commands: &[String], project: &str) {
        let mut map = self
            .commands
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for c in commands {
            map.learn(c, project);
        }
    }
}

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The rule: `popular-name`, `known-hallucination`, `stdlib`, `prohibited-name`,
    /// `existing-name`, `similar-name`, `typosquat`, `entry-point`, `empty`, `restricted-account`.
    pub rule: &'static str,
    /// What is done.
    pub action: GateAction,
    /// Why, for people.
    pub message: String,
    /// What it was based on.
    pub evidence: Value,
    /// The status to answer with when rejected.
    #[serde(skip)]
    pub status: u16,
}

/// What the gate needs to know about an upload.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// The project name as uploaded.
    pub name: &'a str,
    /// Whether this upload would create the project.
    pub new_project: bool,
    /// The existing project's name, when the project exists.
    pub existing_name: Option<&'a str>,
    /// Whether the uploader owns the existing project.
    pub uploader_owns: bool,
    /// Console and GUI scripts of the distribution.
    pub commands: &'a [String],
    /// The inspector's emptiness verdict and its reasons.
    pub empty: Option<Value>,
    /// Names of existing projects with the same confusable skeleton, as `(name, normalized)`.
    pub skeleton_twins: &'a [(String, String)],
    /// The prohibition of the name, if any (its reason).
    pub prohibited: Option<String>,
    /// Normalized names of the projects that count as the uploader's own
    /// ([`Knowledge::trusted_owned`]).
    pub owned: &'a [String],
    /// With `upstream` set: the upstream index that has a project of this name.
    pub upstream_has: Option<String>,
}

/// The account's risk factors; any one raises `flag` to `quarantine`.
pub fn risk(user: &User, config: &ServeConfig, now_ms: i64) -> Vec<String> {
    let mut out = Vec::new();
    let age_days = (now_ms - user.created_at) / 86_400_000;
    if age_days < i64::from(config.gate_new_account_days) {
        out.push(format!(
            "account is {age_days} days old (< {})",
            config.gate_new_account_days
        ));
    }
    if let Some(domain) = &user.email_domain
        && config
            .watch_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    {
        out.push(format!("e-mail domain {domain} is on the watch list"));
    }
    if user.restricted {
        out.push("account is restricted".to_owned());
    }
    out
}

/// Runs the rules. Returns every match (actions `off` never appear).
pub fn evaluate(
    knowledge: &Knowledge,
    config: &ServeConfig,
    c: &Candidate<'_>,
    risky: bool,
) -> Vec<Decision> {
    let mut out = Vec::new();
    let normalized = picket_formats::normalize(c.name);
    let mut push =
        |rule: &'static str, action: GateAction, status: u16, message: String, evidence: Value| {
            if action == GateAction::Off {
                return;
            }
            let action = if action == GateAction::Flag && risky {
                GateAction::Quarantine
            } else {
                action
            };
            out.push(Decision {
                rule,
                action,
                message,
                evidence,
                status,
            });
        };

    if c.new_project {
        if let Some(rank) = knowledge
            .popular_rank(&normalized)
            .filter(|&r| r <= config.gate_popular_name_rank)
        {
            push(
                "popular-name",
                config.gate_popular_name,
                400,
                format!(
                    "The name '{}' is the popular project '{normalized}' (rank {rank}), which this index does not hold yet; a new project of that name is held for review.",
                    c.name
                ),
                json!({ "target": normalized, "target_rank": rank,
                        "popular_names": knowledge.origin }),
            );
        }
        if let Some(known) = picket_names::hallucination::known(&normalized) {
            push(
                "known-hallucination",
                config.gate_hallucination,
                400,
                format!(
                    "The name '{}' is one AI assistants are known to invent (named by {} of {} models in a 2025 study); a new project of that name can catch the installs of everyone who follows that advice.",
                    c.name,
                    known.models,
                    picket_names::hallucination::STUDY_MODELS
                ),
                json!({ "models": known.models, "watchlist": "picket-names data/hallucinations.tsv" }),
            );
        }
        if knowledge.stdlib.contains(&normalized) {
            push(
                "stdlib",
                config.gate_stdlib,
                400,
                format!(
                    "The name '{}' isn't allowed (conflict with Python Standard Library module name). See /help/#project-name for more information.",
                    c.name
                ),
                json!({ "module": normalized }),
            );
        }
        if let Some(upstream) = &c.upstream_has {
            push(
                "upstream-name",
                config.gate_upstream_name,
                403,
                format!(
                    "'{}' is a project on the upstream index {upstream}: created here, it would replace that project for everyone installing through this index (dependency confusion). An administrator can create it, or set gate-upstream-name",
                    c.name
                ),
                json!({ "upstream": upstream }),
            );
        }
        if let Some(reason) = &c.prohibited {
            push(
                "prohibited-name",
                config.gate_prohibited_name,
                400,
                format!(
                    "The name '{}' isn't allowed. See /help/#project-name for more information.",
                    c.name
                ),
                json!({ "reason": reason }),
            );
        }
        let twins: Vec<&(String, String)> = c
            .skeleton_twins
            .iter()
            .filter(|(_, n)| *n != normalized)
            .collect();
        if let Some((twin, _)) = twins.first() {
            push(
                "similar-name",
                config.gate_similar_name,
                400,
                format!(
                    "The name '{}' is too similar to an existing project ('{twin}'). See /help/#project-name for more information.",
                    c.name
                ),
                json!({ "existing": twins.iter().map(|(n, _)| n).collect::<Vec<_>>(),
                        "skeleton": picket_formats::skeleton(c.name) }),
            );
        }
        let rank = knowledge.detector.popular_rank(&normalized);
        if let Some(m) = knowledge
            .detector
            .check(&normalized, rank)
            .into_iter()
            .filter(|m| m.confidence >= config.gate_typosquat_min_confidence)
            .find(|m| !c.owned.contains(&m.target))
        {
            push(
                "typosquat",
                config.gate_typosquat,
                400,
                format!(
                    "The name '{}' looks like a typosquat of the popular project '{}' ({}).",
                    c.name,
                    m.target,
                    m.technique.as_str()
                ),
                json!({ "target": m.target, "target_rank": m.target_rank,
                        "technique": m.technique.as_str(), "confidence": m.confidence,
                        "popular_names": knowledge.origin }),
            );
        }
    } else if let Some(existing) = c.existing_name
        && !c.uploader_owns
        && existing != c.name
    {
        push(
            "existing-name",
            GateAction::Reject,
            409,
            format!(
                "The name '{}' conflicts with the existing project '{existing}' (the same name after normalization).",
                c.name
            ),
            json!({ "existing": existing }),
        );
    }

    let commands = knowledge
        .commands
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for command in c.commands {
        let owner = match commands.shadowed_by(command, &normalized) {
            Some(Owner::Reserved(what)) => Some(format!("reserved for {what}")),
            Some(Owner::Project(p)) if !c.owned.contains(p) => {
                Some(format!("installed by the project '{p}'"))
            }
            Some(Owner::Project(_)) => None,
            None => {
                let as_project = picket_formats::normalize(command);
                knowledge
                    .detector
                    .popular_rank(&as_project)
                    .filter(|&r| r <= COMMAND_NAME_RANK)
                    .filter(|_| as_project != normalized && !c.owned.contains(&as_project))
                    .map(|r| format!("the name of the popular project '{as_project}' (rank {r})"))
            }
        };
        if let Some(owner) = owner {
            push(
                "entry-point",
                config.gate_entry_point,
                400,
                format!(
                    "The command '{command}' of '{}' shadows a command {owner}.",
                    c.name
                ),
                json!({ "command": command, "owner": owner }),
            );
        }
    }
    drop(commands);

    if let Some(empty) = &c.empty {
        push(
            "empty",
            config.gate_empty,
            400,
            format!("The distribution of '{}' contains no code.", c.name),
            empty.clone(),
        );
    }
    out
}

/// The journal entry of a decision.
pub fn event(
    d: &Decision,
    project: &str,
    version: &str,
    filename: &str,
    user: &str,
    ip: Option<&str>,
    now_ms: i64,
) -> Event {
    Event::new(
        "gate.decision",
        now_ms,
        Some(user),
        ip,
        json!({
            "project": project, "version": version, "filename": filename,
            "rule": d.rule, "action": d.action.as_str(), "message": d.message,
            "evidence": d.evidence,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knowledge() -> Knowledge {
        let popular: Vec<(String, u32)> = [
            "requests", "numpy", "django", "awscli", "pytest", "black", "boto3",
        ]
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).to_owned(), u32::try_from(i).unwrap() + 1))
        .collect();
        Knowledge::new(
            &popular,
            "test".into(),
            &[("mytool".into(), "my-tool".into())],
        )
    }

    fn candidate<'a>(name: &'a str, commands: &'a [String]) -> Candidate<'a> {
        Candidate {
            name,
            new_project: true,
            existing_name: None,
            uploader_owns: false,
            commands,
            empty: None,
            skeleton_twins: &[],
            prohibited: None,
            owned: &[],
            upstream_has: None,
        }
    }

    fn rules(d: &[Decision]) -> Vec<(&'static str, GateAction)> {
        d.iter().map(|d| (d.rule, d.action)).collect()
    }

    #[test]
    fn a_name_an_upstream_has_is_refused_unless_the_rule_is_off() {
        let k = knowledge();
        let mut c = ServeConfig::default();
        let shadowing = Candidate {
            upstream_has: Some("http://127.0.0.1:1/simple/".to_owned()),
            ..candidate("internal-tool", &[])
        };
        let d = evaluate(&k, &c, &shadowing, false);
        assert_eq!(rules(&d), [("upstream-name", GateAction::Reject)]);
        assert_eq!(d[0].status, 403);
        assert!(
            d[0].message.contains("dependency confusion"),
            "{}",
            d[0].message
        );
        c.gate_upstream_name = GateAction::Off;
        assert!(evaluate(&k, &c, &shadowing, false).is_empty());
        // An existing project's new release is not asked about.
        let release = Candidate {
            new_project: false,
            existing_name: Some("internal-tool"),
            uploader_owns: true,
            ..shadowing
        };
        c.gate_upstream_name = GateAction::Reject;
        assert!(evaluate(&k, &c, &release, false).is_empty());
    }

    #[test]
    fn name_rules() {
        let k = knowledge();
        let c = ServeConfig::default();
        assert_eq!(
            rules(&evaluate(&k, &c, &candidate("Asyncio", &[]), false)),
            [("stdlib", GateAction::Reject)]
        );
        assert_eq!(
            rules(&evaluate(&k, &c, &candidate("reqeusts", &[]), false)),
            [("typosquat", GateAction::Quarantine)]
        );
        assert!(evaluate(&k, &c, &candidate("sturdy-widget-tool", &[]), false).is_empty());
        // A plugin named after a popular project is not a typosquat.
        assert!(evaluate(&k, &c, &candidate("requests-extras", &[]), false).is_empty());
        // A typosquat of the uploader's own project is theirs to make.
        let owned = ["requests".to_owned()];
        let mine = Candidate {
            owned: &owned,
            ..candidate("reqeusts", &[])
        };
        assert!(evaluate(&k, &c, &mine, false).is_empty());
        let twins = [("my-lib".to_owned(), "my-lib".to_owned())];
        let similar = Candidate {
            skeleton_twins: &twins,
            ..candidate("my-1ib", &[])
        };
        let d = evaluate(&k, &c, &similar, false);
        assert_eq!(rules(&d), [("similar-name", GateAction::Reject)]);
        assert!(d[0].message.contains("too similar"), "{}", d[0].message);
        let prohibited = Candidate {
            prohibited: Some("campaign".into()),
            ..candidate("bait", &[])
        };
        assert_eq!(
            rules(&evaluate(&k, &c, &prohibited, false)),
            [("prohibited-name", GateAction::Reject)]
        );
        let respelled = Candidate {
            new_project: false,
            existing_name: Some("My.Lib"),
            ..candidate("my_lib", &[])
        };
        let d = evaluate(&k, &c, &respelled, false);
        assert_eq!((d[0].rule, d[0].status), ("existing-name", 409));
    }

    #[test]
    fn entry_point_rules() {
        let k = knowledge();
        let c = ServeConfig::default();
        let aws = ["aws".to_owned()];
        let d = evaluate(&k, &c, &candidate("cloud-helper", &aws), false);
        assert_eq!(rules(&d), [("entry-point", GateAction::Quarantine)]);
        assert!(d[0].message.contains("awscli"), "{}", d[0].message);
        // The owner of awscli may install `aws`.
        let owned = ["awscli".to_owned()];
        let mine = Candidate {
            owned: &owned,
            ..candidate("awscli-v3", &aws)
        };
        assert!(
            evaluate(&k, &c, &mine, false)
                .iter()
                .all(|d| d.rule != "entry-point")
        );
        let python = ["python".to_owned()];
        assert_eq!(
            rules(&evaluate(&k, &c, &candidate("fine-name-x", &python), false)),
            [("entry-point", GateAction::Quarantine)]
        );
        // Named like a popular project: `boto3` as a command.
        let boto = ["boto3".to_owned()];
        assert_eq!(
            rules(&evaluate(&k, &c, &candidate("fine-name-x", &boto), false)),
            [("entry-point", GateAction::Quarantine)]
        );
        // Learned from this index's own wheels.
        let learned = ["mytool".to_owned()];
        assert_eq!(
            rules(&evaluate(
                &k,
                &c,
                &candidate("fine-name-x", &learned),
                false
            )),
            [("entry-point", GateAction::Quarantine)]
        );
        let own = ["fine-name-x".to_owned()];
        assert!(evaluate(&k, &c, &candidate("fine-name-x", &own), false).is_empty());
    }

    #[test]
    fn actions_follow_configuration_and_risk() {
        let k = knowledge();
        let mut c = ServeConfig::default();
        let empty = Candidate {
            empty: Some(json!({ "empty": true })),
            ..candidate("fine-name-x", &[])
        };
        assert_eq!(
            rules(&evaluate(&k, &c, &empty, false)),
            [("empty", GateAction::Quarantine)]
        );
        c.gate_empty = GateAction::Flag;
        assert_eq!(
            rules(&evaluate(&k, &c, &empty, false)),
            [("empty", GateAction::Flag)]
        );
        assert_eq!(
            rules(&evaluate(&k, &c, &empty, true)),
            [("empty", GateAction::Quarantine)]
        );
        c.gate_empty = GateAction::Off;
        assert!(evaluate(&k, &c, &empty, true).is_empty());
    }

    #[test]
    fn risk_factors() {
        let mut c = ServeConfig {
            watch_domains: vec!["inbox.example".into()],
            ..ServeConfig::default()
        };
        let day = 86_400_000;
        let user = User {
            id: 1,
            username: "u".into(),
            email: "u@inbox.example".into(),
            email_verified: true,
            password_hash: String::new(),
            totp_secret: None,
            totp_pending: None,
            is_admin: false,
            disabled: false,
            created_at: 0,
            last_login_at: None,
            restricted: false,
            email_domain: Some("inbox.example".into()),
        };
        assert_eq!(risk(&user, &c, 2 * day).len(), 2);
        c.watch_domains.clear();
        assert!(risk(&user, &c, 30 * day).is_empty());
    }
}
