//! Account policy applied at registration: the e-mail domain policy.

use picket_store::Event;
use serde_json::json;

use crate::error::ApiError;
use crate::{AppState, now_ms};

/// The refusal PyPI gives, word for word, so people recognize it.
pub const DOMAIN_REFUSAL: &str = "You can't use an email address from this domain.";

/// The registrable domain of an address (`alice@mail.example.co.uk` → `example.co.uk`), by the
/// public suffix list; the address's own domain when the list does not know its suffix.
pub fn registrable_domain(email: &str) -> Option<String> {
    let domain = email
        .rsplit_once('@')?
        .1
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if domain.is_empty() {
        return None;
    }
    Some(psl::domain_str(&domain).map_or_else(|| domain.clone(), str::to_owned))
}

/// Refuses an address whose registrable domain is prohibited, journaling the refusal.
pub async fn check_email_domain(
    state: &AppState,
    email: &str,
    username: &str,
    ip: Option<&str>,
) -> Result<(), ApiError> {
    let Some(domain) = registrable_domain(email) else {
        return Ok(());
    };
    let now = now_ms();
    if let Some(prohibition) = state.store.domain_prohibition(&domain, now).await? {
        state
            .store
            .append_events(&[Event::new(
                "account.refused",
                now,
                Some(username),
                ip,
                json!({ "email": email, "domain": domain, "reason": "domain prohibited", "prohibition": prohibition.reason }),
            )])
            .await?;
        tracing::info!(%domain, username, "registration refused: prohibited e-mail domain");
        return Err(ApiError::bad_request(DOMAIN_REFUSAL));
    }
    Ok(())
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
}
