//! What the proxy does with each file of a page: serve it, leave it off the page (hide: the
//! resolver then picks another release), or list it and refuse the download with the reason
//! (block: the install fails and the person reads why in pip's and uv's own output).

use std::collections::HashSet;
use std::time::Duration;

use picket_formats::Version;
use picket_names::{AssessConfig, FindingId, NameIndex, Severity, SquatDetector};
use serde::Serialize;

use crate::config::{ProxyConfig, Unknown, YankedPolicy};

/// The rule behind a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// On the deny list.
    Denied,
    /// Named by an OSV `MAL-` record.
    KnownMalicious,
    /// A typosquat, look-alike or known-hallucinated name.
    Name,
    /// Holds no code.
    EmptyPackage,
    /// Inspection refused the archive (a zip bomb, path traversal, …).
    Unsafe,
    /// Younger than the cooldown.
    Cooldown,
    /// Yanked, with `yanked = "hide"`.
    Yanked,
}

impl Rule {
    /// The kebab-case name, as in the journal and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Denied => "denied",
            Rule::KnownMalicious => "known-malicious",
            Rule::Name => "name",
            Rule::EmptyPackage => "empty-package",
            Rule::Unsafe => "unsafe",
            Rule::Cooldown => "cooldown",
            Rule::Yanked => "yanked",
        }
    }
}

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Served.
    Allow,
    /// Left off the page.
    Hide(Rule, String),
    /// Listed; its download (and metadata) refused with the reason.
    Block(Rule, String),
}

/// The facts a decision is made from.
pub struct FileFacts<'a> {
    /// The project, normalized.
    pub project: &'a str,
    /// The name as the page spells it.
    pub display: &'a str,
    /// The release.
    pub version: &'a Version,
    /// Seconds since the epoch of the upload, when upstream says.
    pub uploaded: Option<i64>,
    /// Yanked upstream.
    pub yanked: bool,
}

/// The policies, with what they need to judge.
pub struct Policy {
    deny: HashSet<String>,
    allow: HashSet<String>,
    /// Per-rule exemptions, by rule.
    exempt: std::collections::HashMap<Rule, HashSet<String>>,
    cooldown: Duration,
    cooldown_unknown: Unknown,
    malicious: bool,
    names: bool,
    /// Whether empty packages are blocked.
    pub empty: bool,
    yanked: YankedPolicy,
    index: NameIndex,
    detector: SquatDetector,
    assess: AssessConfig,
}

impl Policy {
    /// The policy of `config`, judging names against `index` and `detector`.
    pub fn new(
        config: &ProxyConfig,
        index: NameIndex,
        detector: SquatDetector,
        assess: AssessConfig,
    ) -> Result<Self, String> {
        let set = |names: &[String]| names.iter().map(|n| picket_formats::normalize(n)).collect();
        Ok(Self {
            deny: set(&config.deny),
            allow: set(&config.allow),
            exempt: [
                (Rule::Cooldown, set(&config.allow_cooldown)),
                (Rule::KnownMalicious, set(&config.allow_malicious)),
                (Rule::Name, set(&config.allow_names)),
                (Rule::EmptyPackage, set(&config.allow_empty)),
                (Rule::Yanked, set(&config.allow_yanked)),
            ]
            .into_iter()
            .collect(),
            cooldown: config.cooldown()?,
            cooldown_unknown: config.cooldown_unknown,
            malicious: config.malicious,
            names: config.names,
            empty: config.empty,
            yanked: config.yanked,
            index,
            detector,
            assess,
        })
    }

    /// Whether `project` is exempt from every rule.
    pub fn allowed(&self, project: &str) -> bool {
        self.allow.contains(project)
    }

    /// Whether `project` is exempt from `rule` (by the allow list or the rule's own).
    pub fn exempt(&self, project: &str, rule: Rule) -> bool {
        self.allowed(project) || self.exempt.get(&rule).is_some_and(|s| s.contains(project))
    }

    /// The project-wide decision (deny list, name), before any file is looked at.
    pub fn project(&self, project: &str, display: &str) -> Decision {
        if self.allowed(project) {
            return Decision::Allow;
        }
        if self.deny.contains(project) {
            return Decision::Block(
                Rule::Denied,
                format!("{display} is on the deny list of this proxy ([proxy] deny)"),
            );
        }
        if self.names && !self.exempt(project, Rule::Name) {
            let assessment = picket_names::assess(
                display,
                &self.index,
                &self.detector,
                &self.assess,
                Some(true),
            );
            let name_rules = [
                FindingId::Typosquat,
                FindingId::Confusable,
                FindingId::KnownHallucination,
                FindingId::StdlibName,
            ];
            if let Some(f) = assessment
                .findings
                .iter()
                .filter(|f| name_rules.contains(&f.id))
                .filter(|f| f.severity >= Severity::High)
                .max_by_key(|f| f.severity)
            {
                let hint = match &f.target {
                    Some(t) if !f.message.contains("did you mean") => {
                        format!("; did you mean {t}?")
                    }
                    _ => String::new(),
                };
                return Decision::Block(
                    Rule::Name,
                    format!("{display}: {}: {}{hint}", f.id.as_str(), f.message),
                );
            }
        }
        Decision::Allow
    }

    /// The decision on one file, given the project-wide one and the OSV records.
    pub fn file(
        &self,
        facts: &FileFacts<'_>,
        project_decision: &Decision,
        osv: &picket_osv::Database,
        now: i64,
    ) -> Decision {
        if self.allowed(facts.project) {
            return Decision::Allow;
        }
        if let Decision::Block(..) = project_decision {
            return project_decision.clone();
        }
        if self.malicious
            && !self.exempt(facts.project, Rule::KnownMalicious)
            && let Some(record) = osv
                .affecting(facts.project, facts.version)
                .into_iter()
                .find(|r| r.is_malicious())
        {
            let summary = match record.summary.trim() {
                "" => "a malicious package",
                s => s,
            };
            return Decision::Block(
                Rule::KnownMalicious,
                format!(
                    "{} {} is known malicious ({}: {summary})",
                    facts.display, facts.version, record.id
                ),
            );
        }
        if !self.cooldown.is_zero() && !self.exempt(facts.project, Rule::Cooldown) {
            let cooldown = i64::try_from(self.cooldown.as_secs()).unwrap_or(i64::MAX);
            match facts.uploaded {
                Some(at) if now.saturating_sub(at) < cooldown => {
                    let age_h = now.saturating_sub(at).max(0) / 3_600;
                    return Decision::Hide(
                        Rule::Cooldown,
                        format!(
                            "{} {} was uploaded {age_h} h ago, inside the cooldown of {} h",
                            facts.display,
                            facts.version,
                            cooldown / 3_600
                        ),
                    );
                }
                None if self.cooldown_unknown == Unknown::Hide => {
                    return Decision::Hide(
                        Rule::Cooldown,
                        format!(
                            "{} {}: upstream gives no upload time, and the cooldown fails closed",
                            facts.display, facts.version
                        ),
                    );
                }
                _ => {}
            }
        }
        if facts.yanked
            && self.yanked == YankedPolicy::Hide
            && !self.exempt(facts.project, Rule::Yanked)
        {
            return Decision::Hide(
                Rule::Yanked,
                format!("{} {} is yanked", facts.display, facts.version),
            );
        }
        Decision::Allow
    }
}

/// A reason as an HTTP reason phrase: visible ASCII and spaces only, at most 300 bytes, so every
/// client can show it (pip and uv print the phrase of a refused download).
pub fn reason_phrase(reason: &str) -> String {
    let mut phrase: String = format!("picket blocked {reason}")
        .chars()
        .map(|c| match c {
            ' '..='~' => c,
            '\u{2014}' | '\u{2013}' => '-',
            _ => '?',
        })
        .collect();
    if phrase.len() > 300 {
        phrase.truncate(297);
        phrase.push_str("...");
    }
    phrase
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_header_safe() {
        let p = reason_phrase("x \u{2014} caf\u{e9}\r\nInjected: 1");
        assert_eq!(p, "picket blocked x - caf???Injected: 1");
        assert!(reason_phrase(&"a".repeat(1_000)).len() <= 300);
    }

    fn policy(extra: &str) -> Policy {
        let config: ProxyConfig = toml::from_str(&format!(
            "upstream = [\"http://127.0.0.1:1/simple/\"]\ncooldown = \"P3D\"\n{extra}"
        ))
        .unwrap();
        config.validate().unwrap();
        let popular = vec![("requests".to_owned(), 1)];
        Policy::new(
            &config,
            picket_names::NameIndex::embedded(),
            SquatDetector::new(&popular, picket_names::SquatConfig::default()),
            AssessConfig::default(),
        )
        .unwrap()
    }

    #[test]
    fn allow_lists_exempt_from_every_rule_or_from_one() {
        let osv = picket_osv::Database::default();
        let version: Version = "1.0".parse().unwrap();
        let young = |project: &'static str| FileFacts {
            project,
            display: project,
            version: &version,
            uploaded: Some(1_000_000 - 60),
            yanked: false,
        };
        let p = policy(
            "allow = [\"reqeusts\"]\nallow-cooldown = [\"fresh\"]\nallow-names = [\"reqeust\"]\n",
        );
        // The name rule, and its exemptions.
        assert!(matches!(p.project("reqeust", "reqeust"), Decision::Allow));
        assert!(matches!(
            p.project("requestss", "requestss"),
            Decision::Block(Rule::Name, _)
        ));
        assert_eq!(p.project("reqeusts", "reqeusts"), Decision::Allow);
        assert_eq!(p.project("reqeust", "reqeust"), Decision::Allow);
        // The cooldown, and its exemptions: one rule's list, or the list of all.
        let hidden = p.file(&young("other"), &Decision::Allow, &osv, 1_000_000);
        assert!(
            matches!(hidden, Decision::Hide(Rule::Cooldown, _)),
            "{hidden:?}"
        );
        assert_eq!(
            p.file(&young("fresh"), &Decision::Allow, &osv, 1_000_000),
            Decision::Allow
        );
        assert_eq!(
            p.file(&young("reqeusts"), &Decision::Allow, &osv, 1_000_000),
            Decision::Allow
        );
        // An exemption from the cooldown is not one from the name rule.
        let q = policy("allow-cooldown = [\"reqeusts\"]\n");
        assert!(matches!(
            q.project("reqeusts", "reqeusts"),
            Decision::Block(Rule::Name, _)
        ));
    }
}
