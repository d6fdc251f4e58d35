//! `[serve]` in `picket.toml`: every key, its default, and what it does.

use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The server's settings. Every key is optional; the defaults are what `picket serve` uses
/// without a file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServeConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// The URL users reach the server at, for links in e-mail (default: `http://LISTEN`).
    pub public_url: Option<String>,
    /// Where distribution files go: unset for `DATA_DIR/files`, `s3://BUCKET[/PREFIX]` for
    /// S3-compatible storage (credentials, region and endpoint from `AWS_*` variables), or
    /// `file:///PATH`.
    pub storage_url: Option<String>,
    /// The metadata database: unset for SQLite in `DATA_DIR/picket.db`, or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` for PostgreSQL, which several instances can
    /// share (also `PICKET_DATABASE_URL` or `--database-url`; `picket admin` reads the same).
    pub database_url: Option<String>,
    /// Largest distribution file accepted, in bytes (PyPI: 100 MiB).
    pub max_file_size: u64,
    /// Largest total size of one project's files, in bytes (PyPI: 10 GiB).
    pub max_project_size: u64,
    /// Refuse uploads from accounts whose e-mail address is not verified.
    pub require_verified_email: bool,
    /// Refuse to create API tokens for accounts without two-factor authentication.
    pub require_2fa_for_tokens: bool,
    /// Allow anyone to register over HTTP (otherwise only `picket admin create-user`).
    pub open_registration: bool,
    /// How long a login session lasts, in hours.
    pub session_hours: u64,
    /// How long an e-mail verification link works, in hours.
    pub verification_hours: u64,
    /// SMTP relay for outgoing mail, `smtp://HOST:PORT`; without it mail goes to `DATA_DIR/outbox/`.
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    pub mail_from: String,
    /// `text` or `json`.
    pub log_format: LogFormat,

    /// Logins per account (PyPI: 10 per 5 minutes). Every `rate-*` key takes `"N per PERIOD"`
    /// (`second`, `minute`, `hour`, `day`, optionally with a count: `"10 per 5 minutes"`) or `"off"`.
    pub rate_login_user: RateLimit,
    /// Logins per client address (PyPI: 10 per 5 minutes).
    pub rate_login_ip: RateLimit,
    /// Registrations per client address (picket's default; PyPI relies on a CAPTCHA).
    pub rate_register_ip: RateLimit,
    /// Addresses added per account (PyPI: 2 per day).
    pub rate_email_add_user: RateLimit,
    /// API tokens created per account (picket's default).
    pub rate_token_create_user: RateLimit,
    /// New projects per account (PyPI: 20 per hour).
    pub rate_project_create_user: RateLimit,
    /// New projects per client address (PyPI: 40 per hour).
    pub rate_project_create_ip: RateLimit,
    /// Reports filed per reporter (picket's default).
    pub rate_report_user: RateLimit,

    /// Registrations per e-mail domain and hour are refused above
    /// `max(velocity-floor, velocity-multiplier × the domain's own hourly mean)`, the mean taken over
    /// the `velocity-history-days` before the last hour. 0 turns the limit off.
    pub velocity_floor: u32,
    /// See `velocity-floor`.
    pub velocity_multiplier: f64,
    /// See `velocity-floor`.
    pub velocity_history_days: u32,
    /// Registrable domains the velocity limit leaves alone (say, your company's).
    pub velocity_exempt_domains: Vec<String>,

    /// Disposable-mail domains refused at registration: `builtin` (the shipped list), `off`, or
    /// the path of a file with one domain a line (`#` comments), e.g. a newer copy of the list.
    pub disposable_domains: String,
    /// DNS server for the MX lookups of `prohibit-domain --mx` (`HOST:PORT`); unset: the system's.
    pub dns_resolver: Option<String>,

    /// Upload gate: a new project named like a standard-library module.
    pub gate_stdlib: GateAction,
    /// Upload gate: a new project whose name is prohibited.
    pub gate_prohibited_name: GateAction,
    /// Upload gate: a new project that takes the exact name of a popular project (one of the
    /// `gate-popular-name-rank` most downloaded) no project here holds yet. On an index used
    /// beside an upstream one this is dependency confusion; the owner of such a name counts as
    /// its owner (exempting look-alikes and commands of that name) only once an admin has
    /// released the project.
    pub gate_popular_name: GateAction,
    /// See `gate-popular-name`: how far down the popularity ranks a name counts as popular.
    pub gate_popular_name_rank: u32,
    /// Upload gate: a new project named like one AI assistants are known to invent (the shipped
    /// watchlist): the slopsquatting case. `flag` by default, which the account-risk rule raises
    /// to `quarantine` for young or watched accounts.
    pub gate_hallucination: GateAction,
    /// Upload gate: a new project whose confusable skeleton matches an existing project's.
    pub gate_similar_name: GateAction,
    /// Upload gate, with `upstream` set: a new project whose name an upstream index has. Created
    /// here it would replace the upstream project for everyone installing through this index.
    pub gate_upstream_name: GateAction,
    /// Upload gate: a new project named like a typosquat of a popular project.
    pub gate_typosquat: GateAction,
    /// Typosquat matches below this confidence (0–1) are left alone: affix matches such as
    /// `pandas-utils` → `pandas` score about 0.6, single edits of popular names 0.7–0.95.
    pub gate_typosquat_min_confidence: f32,
    /// Upload gate: a console/GUI script that shadows another project's or a reserved command.
    pub gate_entry_point: GateAction,
    /// Upload gate: a distribution with no code.
    pub gate_empty: GateAction,
    /// Accounts younger than this many days, or registered from a `watch-domains` domain, have
    /// `flag` decisions raised to `quarantine`.
    pub gate_new_account_days: u32,
    /// Registrable e-mail domains whose accounts get the stricter gate.
    pub watch_domains: Vec<String>,

    /// Reverse proxies in front of picket, as addresses or CIDR blocks (`["127.0.0.1",
    /// "10.0.0.0/8"]`). A request from one of them is taken to come from the last address of its
    /// `X-Forwarded-For` that is not itself a trusted proxy; from anyone else the header is
    /// ignored. Empty (the default): every request comes from its TCP peer.
    pub trusted_proxies: Vec<String>,
    /// Most seconds a client may take to send a request's header, and to send the next piece of
    /// its body; slower connections are closed (slowloris). Idle keep-alive connections are
    /// closed after the same time.
    pub read_timeout_secs: u64,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this>`; unset, it
    /// is open to anyone who can reach the server (it holds counts, no names or addresses).
    pub metrics_token: Option<String>,

    /// Run the live campaign detector over the journal.
    pub campaign_detection: bool,
    /// The detector judges no registration bursts in the first hours of the journal (baselines
    /// are still empty).
    pub campaign_warmup_hours: u32,
    /// How long a detected campaign's burst domains are held to one registration an hour.
    pub campaign_throttle_hours: u32,
    /// POST each detected campaign (JSON) to this URL.
    pub campaign_webhook: Option<String>,
    /// Sign webhook bodies with this key: `X-Picket-Signature-256: sha256=HEX`, the HMAC-SHA256
    /// of the body, so the receiver can tell picket's calls from forged ones.
    pub campaign_webhook_secret: Option<String>,
    /// The detector's thresholds (TOML, the keys of `picket replay --config`); `campaign-warmup-hours`
    /// overrides its `warmup-hours`.
    pub campaign_config: Option<String>,

    /// Upstream simple-API URLs, asked in order for a project this index does not have (with the
    /// `[proxy]` policies); a name that exists here is never looked up there.
    pub upstream: Vec<String>,

    /// The id prefix of picket's own OSV records (`PREFIX` + year + `-` + number). It must start
    /// with `MAL-`, which OSV clients read as a malicious package, and should name this index so
    /// its ids never collide with another database's. Set it once: ids already given never change.
    pub osv_id_prefix: String,
    /// Report kinds that count toward automatic quarantine.
    pub report_quarantine_kinds: Vec<String>,
    /// A trusted reporter's report on a project younger than this many hours quarantines it at
    /// once (0: off).
    pub report_quarantine_young_hours: u32,
    /// Open reports on a project from this many independent reporters (different accounts and
    /// e-mail domains), one of them trusted, quarantine it (0: off).
    pub report_quarantine_reporters: u32,

    /// RDAP service asked for the registration dates of the domains of verified addresses (a
    /// base URL: `BASE/domain/NAME` is fetched); unset: the check is off.
    pub rdap_url: Option<String>,
    /// Hours between two runs of the domain check.
    pub rdap_check_hours: u32,
    /// A domain that expires within this many days counts as expired (PyPI unverifies addresses
    /// whose domain is about to lapse, too).
    pub rdap_expiry_margin_days: u32,
}

/// What the upload gate does when a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateAction {
    /// Refuse the upload (400).
    Reject,
    /// Store it, invisible to installers until an admin releases it.
    Quarantine,
    /// Store and serve it; record the decision for admins.
    Flag,
    /// Don't check.
    Off,
}

impl GateAction {
    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Quarantine => "quarantine",
            Self::Flag => "flag",
            Self::Off => "off",
        }
    }
}

/// `"N per PERIOD"` or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct RateLimit(pub Option<(u32, i64)>);

impl RateLimit {
    /// `count` per `period_ms`.
    pub const fn per(count: u32, period_ms: i64) -> Self {
        Self(Some((count, period_ms)))
    }
}

impl TryFrom<String> for RateLimit {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        let bad = || {
            format!(
                "invalid rate limit `{t}`: expected \"N per PERIOD\" (e.g. \"10 per 5 minutes\") or \"off\""
            )
        };
        let (count, period) = t.split_once(" per ").ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let mut words = period.split_whitespace();
        let (n, unit) = match (words.next(), words.next(), words.next()) {
            (Some(unit), None, None) => (1, unit),
            (Some(n), Some(unit), None) => (n.parse::<i64>().map_err(|_| bad())?, unit),
            _ => return Err(bad()),
        };
        let unit_ms = match unit.trim_end_matches('s') {
            "second" => 1_000,
            "minute" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            _ => return Err(bad()),
        };
        if count == 0 || n <= 0 || n > 366 {
            return Err(bad());
        }
        Ok(Self::per(count, n * unit_ms))
    }
}

impl From<RateLimit> for String {
    fn from(limit: RateLimit) -> String {
        match limit.0 {
            None => "off".into(),
            Some((count, ms)) => {
                let (n, unit) = [(86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute")]
                    .into_iter()
                    .find(|(u, _)| ms % u == 0)
                    .map_or((ms / 1000, "second"), |(u, name)| (ms / u, name));
                if n == 1 {
                    format!("{count} per {unit}")
                } else {
                    format!("{count} per {n} {unit}s")
                }
            }
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            storage_url: None,
            database_url: None,
            max_file_size: 100 * 1024 * 1024,
            max_project_size: 10 * 1024 * 1024 * 1024,
            require_verified_email: true,
            require_2fa_for_tokens: true,
            open_registration: true,
            session_hours: 12,
            verification_hours: 48,
            smtp_url: None,
            mail_from: "picket@localhost".into(),
            log_format: LogFormat::Text,
            rate_login_user: RateLimit::per(10, 5 * 60_000),
            rate_login_ip: RateLimit::per(10, 5 * 60_000),
            rate_register_ip: RateLimit::per(10, 3_600_000),
            rate_email_add_user: RateLimit::per(2, 86_400_000),
            rate_token_create_user: RateLimit::per(10, 3_600_000),
            rate_project_create_user: RateLimit::per(20, 3_600_000),
            rate_project_create_ip: RateLimit::per(40, 3_600_000),
            rate_report_user: RateLimit::per(20, 3_600_000),
            velocity_floor: 5,
            velocity_multiplier: 10.0,
            velocity_history_days: 28,
            velocity_exempt_domains: Vec::new(),
            disposable_domains: "builtin".into(),
            dns_resolver: None,
            gate_stdlib: GateAction::Reject,
            gate_prohibited_name: GateAction::Reject,
            gate_popular_name: GateAction::Quarantine,
            gate_popular_name_rank: 5_000,
            gate_hallucination: GateAction::Flag,
            gate_similar_name: GateAction::Reject,
            gate_upstream_name: GateAction::Reject,
            gate_typosquat: GateAction::Quarantine,
            gate_typosquat_min_confidence: 0.7,
            gate_entry_point: GateAction::Quarantine,
            gate_empty: GateAction::Quarantine,
            gate_new_account_days: 7,
            watch_domains: Vec::new(),
            trusted_proxies: Vec::new(),
            read_timeout_secs: 30,
            metrics_token: None,
            campaign_detection: true,
            campaign_warmup_hours: 6,
            campaign_throttle_hours: 24,
            campaign_webhook: None,
            campaign_webhook_secret: None,
            campaign_config: None,
            upstream: Vec::new(),
            osv_id_prefix: picket_store::DEFAULT_ID_PREFIX.into(),
            report_quarantine_kinds: vec!["malware".into()],
            report_quarantine_young_hours: 24,
            report_quarantine_reporters: 2,
            rdap_url: None,
            rdap_check_hours: 24,
            rdap_expiry_margin_days: 0,
        }
    }
}

impl ServeConfig {
    /// Where the registry's data lives, for [`picket_store::Store::connect`]: `picket serve`
    /// and `picket admin` both open the store through this, so they see the same database.
    pub fn store_config(&self, data_dir: &std::path::Path) -> picket_store::StoreConfig {
        picket_store::StoreConfig {
            data_dir: data_dir.to_owned(),
            database_url: self.database_url.clone(),
            storage_url: self.storage_url.clone(),
        }
    }

    /// What is wrong with the settings serde can't check: the record prefix and report kinds.
    pub fn check(&self) -> Result<(), String> {
        let p = &self.osv_id_prefix;
        if !p.starts_with("MAL-")
            || !p.ends_with('-')
            || !p
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            || p.len() > 40
        {
            return Err(format!(
                "osv-id-prefix `{p}`: it must start with `MAL-` (what OSV clients read as a malicious package), end with `-` and hold only A-Z, 0-9 and `-`, like `MAL-PICKET-`"
            ));
        }
        for kind in &self.report_quarantine_kinds {
            if !crate::reports::KINDS.contains(&kind.as_str()) {
                return Err(format!(
                    "report-quarantine-kinds: `{kind}` is not a report kind ({})",
                    crate::reports::KINDS.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The base URL for links in mail.
    pub fn public_url(&self, bound: &std::net::SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_and_print() {
        for (text, count, ms, back) in [
            ("10 per 5 minutes", 10, 300_000, "10 per 5 minutes"),
            ("20 per hour", 20, 3_600_000, "20 per hour"),
            ("2 per day", 2, 86_400_000, "2 per day"),
            (" 3 per 6 hours ", 3, 21_600_000, "3 per 6 hours"),
            ("1 per second", 1, 1_000, "1 per second"),
        ] {
            let limit = RateLimit::try_from(text.to_owned()).unwrap();
            assert_eq!(limit, RateLimit::per(count, ms), "{text}");
            assert_eq!(String::from(limit), back);
        }
        assert_eq!(
            RateLimit::try_from("OFF".to_owned()).unwrap(),
            RateLimit(None)
        );
        for bad in [
            "",
            "10",
            "ten per hour",
            "0 per hour",
            "5 per fortnight",
            "5 per -1 hours",
            "5 per 1 2 hours",
        ] {
            let e = RateLimit::try_from(bad.to_owned()).unwrap_err();
            assert!(e.contains("expected"), "{bad}: {e}");
        }
    }

    #[test]
    fn record_prefixes_and_report_kinds_are_checked() {
        assert_eq!(ServeConfig::default().check(), Ok(()));
        for (toml, says) in [
            ("osv-id-prefix = \"PICKET-\"", "must start with `MAL-`"),
            ("osv-id-prefix = \"MAL-picket-\"", "only A-Z"),
            ("osv-id-prefix = \"MAL-PICKET\"", "end with `-`"),
            ("report-quarantine-kinds = [\"virus\"]", "not a report kind"),
        ] {
            let c: ServeConfig = toml::from_str(toml).unwrap();
            let e = c.check().unwrap_err();
            assert!(e.contains(says), "{toml}: {e}");
        }
        let c: ServeConfig = toml::from_str("osv-id-prefix = \"MAL-EXAMPLE-ORG-\"").unwrap();
        assert_eq!(c.check(), Ok(()));
    }

    #[test]
    fn gate_actions_from_toml() {
        let c: ServeConfig =
            toml::from_str("gate-empty = \"flag\"\nrate-login-ip = \"off\"").unwrap();
        assert_eq!(c.gate_empty, GateAction::Flag);
        assert_eq!(c.rate_login_ip, RateLimit(None));
        assert!(toml::from_str::<ServeConfig>("gate-empty = \"maybe\"").is_err());
    }
}
