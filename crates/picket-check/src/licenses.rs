//! Release licenses: what the index's JSON API says of a release (PEP 639's
//! `license_expression`, else the free-text `license`), fetched in parallel, and the `[scan]
//! licenses` policy that judges an SPDX expression against allowed and denied ids.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use picket_names::Severity;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::online::Client;

/// A release's license, as its metadata states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum License {
    /// An SPDX expression (PEP 639 `License-Expression`).
    Expression(String),
    /// Free text (the older `License` field), first line.
    Name(String),
}

impl License {
    /// From a JSON API document's `info`.
    pub fn from_release(doc: &Value) -> Option<Self> {
        let info = doc.get("info")?;
        let field = |key: &str| {
            info.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("UNKNOWN"))
        };
        if let Some(expression) = field("license_expression")
            && is_spdx_expression(expression)
        {
            return Some(Self::Expression(expression.to_owned()));
        }
        let text = field("license")?.lines().next()?.trim();
        let text: String = text.chars().take(200).collect();
        if is_spdx_expression(&text) && !text.contains(' ') {
            // `License: MIT` — a single SPDX id in the old field.
            return Some(Self::Expression(text));
        }
        Some(Self::Name(text))
    }

    /// The CycloneDX `licenses` array.
    pub fn cyclonedx(&self) -> Value {
        match self {
            Self::Expression(e) => json!([{ "expression": e }]),
            Self::Name(n) => json!([{ "license": { "name": n } }]),
        }
    }

    /// SPDX `licenseDeclared`: an expression; free text can't be one.
    pub fn spdx(&self) -> &str {
        match self {
            Self::Expression(e) => e,
            Self::Name(_) => "NOASSERTION",
        }
    }
}

/// The shape of an SPDX license expression: ids (letters, digits, `.`, `-`, `+`, `LicenseRef-…`)
/// joined by `AND`, `OR`, `WITH` and parentheses. The ids themselves are not looked up.
pub fn is_spdx_expression(text: &str) -> bool {
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let mut expect_id = true;
    let mut depth = 0i32;
    for token in spaced.split_whitespace() {
        match token {
            "(" if expect_id => depth += 1,
            ")" if !expect_id && depth > 0 => depth -= 1,
            "AND" | "OR" | "WITH" if !expect_id => expect_id = true,
            id if expect_id
                && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':')) =>
            {
                expect_id = false;
            }
            _ => return false,
        }
    }
    !expect_id && depth == 0
}

/// What the index said of one release's license, or why it could not say.
pub type LicenseAnswer = Result<Option<License>, String>;

/// The license of each `(name, version)` in `wanted`, in order, asked of the index's JSON API
/// `jobs` at a time; `tick` is called after each answer.
pub fn fetch(
    client: &Client,
    wanted: &[(String, String)],
    jobs: usize,
    tick: &(dyn Fn() + Sync),
) -> Vec<LicenseAnswer> {
    let next = AtomicUsize::new(0);
    let found: Mutex<Vec<(usize, LicenseAnswer)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(wanted.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, version)) = wanted.get(i) else {
                        break;
                    };
                    let answer = match client.release_json(name, version) {
                        Ok(Some(doc)) => Ok(License::from_release(&doc)),
                        Ok(None) => Err(format!("the index has no release {name} {version}")),
                        Err(e) => Err(e.to_string()),
                    };
                    found
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((i, answer));
                    tick();
                }
            });
        }
    });
    let mut found = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().map(|(_, a)| a).collect()
}

/// `[scan.licenses]`: SPDX license ids allowed and denied (case-insensitive; `+` and
/// `-or-later` compare as the id they extend).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicensePolicy {
    /// When not empty, only these.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Never these.
    #[serde(default)]
    pub deny: Vec<String>,
}

impl LicensePolicy {
    /// Whether there is anything to judge.
    pub fn is_set(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    fn listed(list: &[String], id: &str) -> bool {
        let base = |s: &str| {
            s.trim_end_matches('+')
                .trim_end_matches("-or-later")
                .trim_end_matches("-only")
                .to_ascii_lowercase()
        };
        list.iter()
            .any(|l| l.eq_ignore_ascii_case(id) || base(l) == base(id) && l.ends_with('+'))
    }

    /// What the policy says of a release whose license is `license` (`None`: the index declares
    /// none): `None` when it passes, else the severity and why (a predicate: "licensed `X`, …"). A denied id in the expression
    /// blocks, an id outside the allow list or a license that can't be judged warns.
    pub fn judge(&self, license: Option<&License>) -> Option<(Severity, String)> {
        if !self.is_set() {
            return None;
        }
        let expression = match license {
            Some(License::Expression(e)) => e,
            Some(License::Name(text)) => {
                return Some((
                    if self.allow.is_empty() {
                        Severity::Low
                    } else {
                        Severity::Medium
                    },
                    format!(
                        "licensed in free text (`{text}`), not an SPDX expression, so [scan.licenses] can't judge it; check it by hand"
                    ),
                ));
            }
            None if self.allow.is_empty() => return None,
            None => {
                return Some((
                    Severity::Medium,
                    "declared with no license (the index's metadata has none), so [scan.licenses] allow can't be met; check it by hand".to_owned(),
                ));
            }
        };
        let tokens: Vec<String> = expression
            .replace('(', " ( ")
            .replace(')', " ) ")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut at = 0;
        let ok = |id: &str| {
            !Self::listed(&self.deny, id)
                && (self.allow.is_empty() || Self::listed(&self.allow, id))
        };
        let satisfied = parse_or(&tokens, &mut at, &ok);
        if satisfied {
            return None;
        }
        let denied: Vec<&str> = tokens
            .iter()
            .map(String::as_str)
            .filter(|t| !matches!(*t, "AND" | "OR" | "WITH" | "(" | ")"))
            .filter(|t| Self::listed(&self.deny, t))
            .collect();
        Some(if denied.is_empty() {
            (
                Severity::Medium,
                format!(
                    "licensed `{expression}`, which [scan.licenses] allow does not cover; check the terms, or allow the license"
                ),
            )
        } else {
            (
                Severity::High,
                format!(
                    "licensed `{expression}`: {} denied by [scan.licenses]; replace it, or change the policy",
                    denied.join(", ")
                ),
            )
        })
    }
}

/// `term (OR term)*`: whether any alternative is acceptable.
fn parse_or(tokens: &[String], at: &mut usize, ok: &dyn Fn(&str) -> bool) -> bool {
    let mut any = parse_and(tokens, at, ok);
    while tokens.get(*at).is_some_and(|t| t == "OR") {
        *at += 1;
        any |= parse_and(tokens, at, ok);
    }
    any
}

/// `factor (AND factor)*`: whether every part is acceptable.
fn parse_and(tokens: &[String], at: &mut usize, ok: &dyn Fn(&str) -> bool) -> bool {
    let mut all = parse_factor(tokens, at, ok);
    while tokens.get(*at).is_some_and(|t| t == "AND") {
        *at += 1;
        all &= parse_factor(tokens, at, ok);
    }
    all
}

/// `( expr )` or `id [WITH exception]`: an exception only adds permissions, so the id decides.
fn parse_factor(tokens: &[String], at: &mut usize, ok: &dyn Fn(&str) -> bool) -> bool {
    match tokens.get(*at).map(String::as_str) {
        Some("(") => {
            *at += 1;
            let inner = parse_or(tokens, at, ok);
            if tokens.get(*at).is_some_and(|t| t == ")") {
                *at += 1;
            }
            inner
        }
        Some(id) => {
            *at += 1;
            if tokens.get(*at).is_some_and(|t| t == "WITH") {
                *at += 2;
            }
            ok(id)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], deny: &[&str]) -> LicensePolicy {
        LicensePolicy {
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
            deny: deny.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn judge(p: &LicensePolicy, expression: &str) -> Option<Severity> {
        p.judge(Some(&License::Expression(expression.to_owned())))
            .map(|(s, _)| s)
    }

    #[test]
    fn expressions_against_allow_and_deny() {
        let p = policy(
            &["MIT", "Apache-2.0", "BSD-3-Clause"],
            &["GPL-3.0-only", "AGPL-3.0+"],
        );
        assert_eq!(judge(&p, "MIT"), None);
        assert_eq!(judge(&p, "mit"), None);
        assert_eq!(
            judge(&p, "GPL-3.0-only OR MIT"),
            None,
            "one acceptable alternative"
        );
        assert_eq!(judge(&p, "(MIT AND BSD-3-Clause) OR GPL-3.0-only"), None);
        assert_eq!(judge(&p, "Apache-2.0 WITH LLVM-exception"), None);
        assert_eq!(judge(&p, "MIT AND GPL-3.0-only"), Some(Severity::High));
        assert_eq!(
            judge(&p, "AGPL-3.0-or-later"),
            Some(Severity::High),
            "AGPL-3.0+ covers it"
        );
        assert_eq!(
            judge(&p, "MPL-2.0"),
            Some(Severity::Medium),
            "not allowed, not denied"
        );
        let deny_only = policy(&[], &["GPL-3.0-only"]);
        assert_eq!(judge(&deny_only, "MPL-2.0"), None);
        assert_eq!(deny_only.judge(None), None);
        assert_eq!(p.judge(None).map(|(s, _)| s), Some(Severity::Medium));
        let free = License::Name("BSD-like".to_owned());
        assert_eq!(p.judge(Some(&free)).map(|(s, _)| s), Some(Severity::Medium));
        assert_eq!(policy(&[], &[]).judge(None), None);
    }
}
