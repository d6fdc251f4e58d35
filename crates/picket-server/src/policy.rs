//! Account policy applied at registration and when an address is added: the e-mail domain
//! policy (prohibited domains, optionally matched by their mail servers, and disposable-mail
//! domains).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use picket_store::Event;
use serde_json::json;

use crate::error::ApiError;
use crate::{AppState, now_ms};

/// The shipped disposable-mail list (its header names the source).
const DISPOSABLE: &str = include_str!("../data/disposable-domains.txt");

/// What the e-mail policy needs besides the database.
pub struct EmailPolicy {
    disposable: HashSet<String>,
    /// Where the disposable list came from.
    pub disposable_origin: String,
    resolver: Option<TokioResolver>,
}

impl std::fmt::Debug for EmailPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailPolicy")
            .field("disposable", &self.disposable.len())
            .field("disposable_origin", &self.disposable_origin)
            .finish_non_exhaustive()
    }
}

fn parse_domain_list(text: &str) -> HashSet<String> {
    text.lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

impl EmailPolicy {
    /// From `disposable-domains` (`builtin`, `off` or a path) and `dns-resolver`.
    pub fn new(disposable: &str, dns_resolver: Option<&str>) -> Result<Self, String> {
        let (list, origin) = match disposable {
            "off" => (HashSet::new(), "off".to_owned()),
            "builtin" => (
                parse_domain_list(DISPOSABLE),
                "the shipped list (disposable-email-domains 0.0.293)".to_owned(),
            ),
            path => (
                parse_domain_list(
                    &std::fs::read_to_string(path)
                        .map_err(|e| format!("disposable-domains: can't read {path}: {e}"))?,
                ),
                path.to_owned(),
            ),
        };
        let mut builder = match dns_resolver {
            Some(server) => {
                let addr: SocketAddr = server.parse().map_err(|_| {
                    format!("dns-resolver: `{server}` is not an address and port like 127.0.0.1:53")
                })?;
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                TokioResolver::builder_with_config(
                    ResolverConfig::from_parts(None, vec![], group),
                    TokioConnectionProvider::default(),
                )
            }
            None => match TokioResolver::builder_tokio() {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "no system DNS configuration; MX matching is off");
                    return Ok(Self {
                        disposable: list,
                        disposable_origin: origin,
                        resolver: None,
                    });
                }
            },
        };
        builder.options_mut().timeout = Duration::from_secs(2);
        builder.options_mut().attempts = 1;
        Ok(Self {
            disposable: list,
            disposable_origin: origin,
            resolver: Some(builder.build()),
        })
    }

    /// Whether the address's domain (or a parent of it) is a disposable-mail domain.
    pub fn is_disposable(&self, email_domain: &str) -> bool {
        let mut d = email_domain;
        loop {
            if self.disposable.contains(d) {
                return true;
            }
            match d.split_once('.') {
                Some((_, rest)) if rest.contains('.') => d = rest,
                _ => return false,
            }
        }
    }

    /// The registrable domains of `domain`'s mail servers (empty when the lookup fails: the MX
    /// match is a refinement, and a DNS outage must not stop registrations).
    pub async fn mx_domains(&self, domain: &str) -> Vec<String> {
        let Some(resolver) = &self.resolver else {
            return Vec::new();
        };
        match resolver.mx_lookup(format!("{domain}.")).await {
            Ok(mx) => {
                let mut out: Vec<String> = mx
                    .iter()
                    .filter_map(|r| {
                        let host = r.exchange().to_ascii();
                        let host = host.trim_end_matches('.').to_ascii_lowercase();
                        (!host.is_empty()).then(|| {
                            psl::domain_str(&host).map_or_else(|| host.clone(), str::to_owned)
                        })
                    })
                    .collect();
                out.sort();
                out.dedup();
                out
            }
            Err(e) => {
                tracing::debug!(%domain, error = %e, "MX lookup failed");
                Vec::new()
            }
        }
    }
}

/// The refusal PyPI gives, word for word, so people recognize it.
pub const DOMAIN_REFUSAL: &str = "You can't use an email address from this domain.";

/// The registrable domain of an address (`alice@mail.example.co.uk` → `example.co.uk`), by the
/// public suffix list; the address's own domain when the list does not know its suffix. The same
/// function the campaign detector groups accounts by.
pub fn registrable_domain(email: &str) -> Option<String> {
    picket_campaigns::email_domain(email)
}

/// Refuses an address whose registrable domain is prohibited (directly, or through its mail
/// servers for prohibitions made with `--mx`) or is a disposable-mail domain, journaling the
/// refusal. `kind` is what was attempted (`account.create`, `account.email.add`).
pub async fn check_email_domain(
    state: &AppState,
    email: &str,
    username: &str,
    ip: Option<&str>,
    kind: &str,
) -> Result<(), ApiError> {
    let Some(domain) = registrable_domain(email) else {
        return Ok(());
    };
    let full = email.rsplit_once('@').map_or(String::new(), |(_, d)| {
        d.trim_end_matches('.').to_ascii_lowercase()
    });
    let now = now_ms();
    let mut refusal = None;
    if let Some(p) = state.store.domain_prohibition(&domain, now).await? {
        refusal = Some(json!({ "reason": "domain prohibited", "prohibition": p.reason }));
    } else if state.email_policy.is_disposable(&full) {
        refusal = Some(json!({ "reason": "disposable domain" }));
    } else {
        let by_mx = state.store.mx_prohibitions(now).await?;
        if !by_mx.is_empty() {
            let servers = state.email_policy.mx_domains(&full).await;
            if let Some(p) = by_mx.iter().find(|p| servers.contains(&p.domain)) {
                refusal = Some(json!({
                    "reason": "mail servers of a prohibited domain",
                    "prohibition": p.reason,
                    "prohibited_domain": p.domain,
                    "mx": servers,
                }));
            }
        }
    }
    let Some(mut data) = refusal else {
        return Ok(());
    };
    data["email"] = email.into();
    data["domain"] = domain.clone().into();
    data["attempt"] = kind.into();
    state
        .store
        .append_events(&[Event::new(
            "account.refused",
            now,
            Some(username),
            ip,
            data.clone(),
        )])
        .await?;
    tracing::info!(%domain, username, reason = %data["reason"], "e-mail address refused");
    Err(ApiError::bad_request(DOMAIN_REFUSAL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains() {
        assert_eq!(
            registrable_domain("a@mail.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(
            registrable_domain("a@Example.ORG.").as_deref(),
            Some("example.org")
        );
        assert_eq!(
            registrable_domain("a@sub.inbox.lv").as_deref(),
            Some("inbox.lv")
        );
        assert_eq!(registrable_domain("no-at-sign"), None);
    }

    #[test]
    fn disposable_list_matches_domains_and_their_subdomains() {
        let policy = EmailPolicy {
            disposable: parse_domain_list("# comment\nmailinator.com\nTrash.Example # note\n\n"),
            disposable_origin: String::new(),
            resolver: None,
        };
        assert!(policy.is_disposable("mailinator.com"));
        assert!(policy.is_disposable("a.b.mailinator.com"));
        assert!(policy.is_disposable("trash.example"));
        assert!(!policy.is_disposable("com"));
        assert!(!policy.is_disposable("example.org"));
        assert!(!policy.is_disposable("notmailinator.com"));
    }

    #[test]
    fn the_shipped_list_is_loaded() {
        let policy = EmailPolicy::new("builtin", Some("127.0.0.1:9")).unwrap();
        assert!(
            policy.disposable.len() > 10_000,
            "{}",
            policy.disposable.len()
        );
        assert!(policy.is_disposable("mailinator.com"));
        assert!(!policy.is_disposable("gmail.com"));
        let e = EmailPolicy::new("/nonexistent/list", None).unwrap_err();
        assert!(e.contains("/nonexistent/list"), "{e}");
        let e = EmailPolicy::new("builtin", Some("not-an-address")).unwrap_err();
        assert!(e.contains("dns-resolver"), "{e}");
    }
}
