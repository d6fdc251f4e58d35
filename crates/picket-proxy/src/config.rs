//! `[proxy]` of `picket.toml`: where the proxy listens, which indexes it stands in front of, and
//! the install-time policies.
//!
//! ```toml
//! [proxy]
//! listen = "127.0.0.1:3141"
//! upstream = ["http://127.0.0.1:8080/simple/"]   # asked in order; the first that has a project wins
//! cooldown = "P3D"             # hide files younger than this (ISO 8601 `P3D`/`PT72H`, or `72h`, `3d`); "0" is off
//! cooldown-unknown = "allow"   # a file whose upload time upstream does not give: "allow" (fail-open) or "hide"
//! malicious = true             # block releases named by OSV `MAL-` records (`picket db import-osv`)
//! names = true                 # block typosquats and look-alikes of popular projects, known-hallucinated names
//! empty = true                 # block packages that hold no code (inspected on first fetch)
//! yanked = "keep"              # "keep" yanked files marked as such (PEP 592), or "hide" them
//! deny = ["some-project"]      # always blocked
//! allow = ["my-internal-tool"] # exempt from every rule above
//! allow-cooldown = ["our-hotfix-lib"]   # exempt from one rule: allow-cooldown, allow-malicious,
//! allow-names = ["pilllow"]             #   allow-names, allow-empty, allow-yanked
//! page-ttl-secs = 600          # a page is revalidated upstream (ETag) after this long
//! stale-if-error-secs = 604800 # with upstream failing, a cached page this old is still served
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[proxy]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ProxyConfig {
    /// Address to listen on.
    pub listen: String,
    /// Simple-API base URLs, asked in order.
    pub upstream: Vec<String>,
    /// Files younger than this are left off pages (`0` is off).
    pub cooldown: String,
    /// What to do with a file whose upload time is unknown while a cooldown is set.
    pub cooldown_unknown: Unknown,
    /// Block releases named by OSV `MAL-` records.
    pub malicious: bool,
    /// Block typosquats, look-alikes and known-hallucinated names.
    pub names: bool,
    /// Block packages that hold no code.
    pub empty: bool,
    /// What to do with yanked files.
    pub yanked: YankedPolicy,
    /// Projects always blocked.
    pub deny: Vec<String>,
    /// Projects exempt from every rule.
    pub allow: Vec<String>,
    /// Projects exempt from the cooldown.
    pub allow_cooldown: Vec<String>,
    /// Projects exempt from the known-malicious rule.
    pub allow_malicious: Vec<String>,
    /// Projects exempt from the name rule.
    pub allow_names: Vec<String>,
    /// Projects exempt from the empty-package rule.
    pub allow_empty: Vec<String>,
    /// Projects exempt from `yanked = "hide"`.
    pub allow_yanked: Vec<String>,
    /// Seconds a fetched page is used before it is revalidated upstream.
    pub page_ttl_secs: u64,
    /// Seconds a cached page may be served while upstream fails.
    pub stale_if_error_secs: u64,
    /// Seconds for one whole upstream request.
    pub upstream_timeout_secs: u64,
    /// Seconds a client may take to send a request's header (slowloris bound).
    pub read_timeout_secs: u64,
    /// The largest upstream page read.
    pub max_page_bytes: u64,
    /// The largest upstream file fetched.
    pub max_file_bytes: u64,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:3141".to_owned(),
            upstream: Vec::new(),
            cooldown: "0".to_owned(),
            cooldown_unknown: Unknown::Allow,
            malicious: true,
            names: true,
            empty: true,
            yanked: YankedPolicy::Keep,
            deny: Vec::new(),
            allow: Vec::new(),
            allow_cooldown: Vec::new(),
            allow_malicious: Vec::new(),
            allow_names: Vec::new(),
            allow_empty: Vec::new(),
            allow_yanked: Vec::new(),
            page_ttl_secs: 600,
            stale_if_error_secs: 7 * 86_400,
            upstream_timeout_secs: 60,
            read_timeout_secs: 30,
            max_page_bytes: 64 << 20,
            max_file_bytes: 1 << 30,
        }
    }
}

/// Fail-open or fail-closed where upstream gives no upload time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    /// Serve it.
    Allow,
    /// Leave it off the page.
    Hide,
}

/// What happens to yanked files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YankedPolicy {
    /// Listed, marked yanked (installers skip them unless pinned).
    Keep,
    /// Left off the page.
    Hide,
}

impl ProxyConfig {
    /// The cooldown, or the reason it does not parse.
    pub fn cooldown(&self) -> Result<Duration, String> {
        parse_duration(&self.cooldown)
    }

    /// Every setting that can be wrong, checked before the proxy starts.
    pub fn validate(&self) -> Result<(), String> {
        self.cooldown()
            .map_err(|e| format!("[proxy] cooldown: {e}"))?;
        if self.upstream.is_empty() {
            return Err(
                "no upstream index: pass --upstream URL or set `upstream` in [proxy]".to_owned(),
            );
        }
        for url in &self.upstream {
            let parsed =
                url::Url::parse(url).map_err(|e| format!("upstream `{url}` is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!(
                    "upstream `{url}`: only http and https are supported"
                ));
            }
        }
        let lists = [
            ("deny", &self.deny),
            ("allow", &self.allow),
            ("allow-cooldown", &self.allow_cooldown),
            ("allow-malicious", &self.allow_malicious),
            ("allow-names", &self.allow_names),
            ("allow-empty", &self.allow_empty),
            ("allow-yanked", &self.allow_yanked),
        ];
        for (key, names) in lists {
            for name in names {
                picket_formats::ProjectName::new(name)
                    .map_err(|e| format!("[proxy] {key}: `{name}`: {e}"))?;
            }
        }
        Ok(())
    }
}

/// `P3D`, `PT72H`, `P1DT12H`, `72h`, `3d`, `90m`, `30s`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "`{text}` is not a duration (ISO 8601 like `P3D` or `PT72H`, or a number with s, m, h or d, like `72h`)"
        )
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let unit = |c: char| match c.to_ascii_lowercase() {
        'w' => Some(7 * 86_400),
        'd' => Some(86_400),
        'h' => Some(3_600),
        'm' => Some(60),
        's' => Some(1),
        _ => None,
    };
    let mut seconds: u64 = 0;
    if let Some(iso) = text.strip_prefix(['P', 'p']) {
        let mut in_time = false;
        let mut number = String::new();
        for c in iso.chars() {
            if c.is_ascii_digit() {
                number.push(c);
            } else if c == 'T' || c == 't' {
                in_time = true;
            } else {
                let n: u64 = number.parse().map_err(|_| bad())?;
                number.clear();
                // M is months before T and minutes after; months are not a fixed length.
                let per = match (c.to_ascii_uppercase(), in_time) {
                    ('M', false) | ('Y', _) => return Err(bad()),
                    ('M', true) => 60,
                    (other, _) => unit(other).ok_or_else(bad)?,
                };
                seconds = seconds
                    .checked_add(n.checked_mul(per).ok_or_else(bad)?)
                    .ok_or_else(bad)?;
            }
        }
        if !number.is_empty() || iso.is_empty() {
            return Err(bad());
        }
        return Ok(Duration::from_secs(seconds));
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, suffix) = text.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let mut chars = suffix.chars();
    let per = chars.next().and_then(unit).ok_or_else(bad)?;
    if chars.next().is_some() {
        return Err(bad());
    }
    Ok(Duration::from_secs(n.checked_mul(per).ok_or_else(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s| parse_duration(s).map(|d| d.as_secs());
        assert_eq!(d("P3D"), Ok(3 * 86_400));
        assert_eq!(d("PT72H"), Ok(72 * 3_600));
        assert_eq!(d("P1DT12H30M"), Ok(86_400 + 12 * 3_600 + 30 * 60));
        assert_eq!(d("72h"), Ok(72 * 3_600));
        assert_eq!(d("3d"), Ok(3 * 86_400));
        assert_eq!(d("0"), Ok(0));
        for bad in [
            "",
            "P",
            "P1M",
            "3",
            "3x",
            "h",
            "P3",
            "3dd",
            "P99999999999999999999D",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_is_validated() {
        let mut c = ProxyConfig::default();
        assert!(c.validate().unwrap_err().contains("no upstream"));
        c.upstream = vec!["ftp://x/simple/".into()];
        assert!(c.validate().unwrap_err().contains("http"));
        c.upstream = vec!["http://127.0.0.1:1/simple/".into()];
        c.cooldown = "soon".into();
        assert!(c.validate().unwrap_err().contains("cooldown"));
        c.cooldown = "P3D".into();
        c.deny = vec!["-bad".into()];
        assert!(c.validate().is_err());
        c.deny = vec!["fine".into()];
        assert!(c.validate().is_ok());
    }
}
