//! Campaign detection over a registry's event stream, one event at a time, in bounded memory.
//!
//! A campaign shows in the *shape* of a crowd, not in any one account: many young accounts from one
//! e-mail domain created in a burst against that domain's own baseline, set up by script (verified,
//! 2FA, token within minutes), then uploading together — empty artifacts, bait names, the same file
//! layout. The [`Detector`] keeps three kinds of cohorts and scores each with a noisy-OR of its
//! signals (see `ARCHITECTURE.md`, "Campaign model"):
//!
//! - **domain cohorts**: the accounts a registrable domain registered during its bursts;
//! - **fingerprint cohorts**: young accounts (any domain) uploading artifacts of the same shape;
//! - **account floods**: one young account creating many projects in a day.
//!
//! A cohort whose confidence crosses the threshold with at least two signals becomes a
//! [`Campaign`]; accounts and projects that qualify later join it as they arrive.
//!
//! State is bounded: accounts are tracked only while young (`young-days`), domains keep an
//! exponentially weighted baseline instead of their history, and fingerprint clusters expire when
//! idle. Memory follows the registry's activity in the last weeks, not the length of the log.
#![deny(missing_docs)]

pub mod evaluate;
pub mod event;
pub mod simulate;

use std::collections::{BTreeMap, VecDeque};

use picket_names::{CommandMap, Owner, SquatDetector};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::{Value, json};

pub use event::{
    Artifact, Event, EventBatch, LineError, format_day, format_rfc3339, parse_line, parse_rfc3339,
};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Every threshold of the model.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Accounts are followed for this many days after creation.
    pub young_days: u32,
    /// A domain bursts when its last hour holds more sign-ups than
    /// `max(burst-floor, burst-multiplier × its hourly baseline)`.
    pub burst_floor: u32,
    /// See `burst-floor`.
    pub burst_multiplier: f64,
    /// Half-life of the domain baselines, in days.
    pub baseline_half_life_days: f64,
    /// No bursts are judged in the first hours of a stream (baselines are empty).
    pub warmup_hours: u32,
    /// Set-up by script: verified, 2FA and a token within this many minutes of creation.
    pub setup_minutes: u32,
    /// Fewest accounts in a domain or fingerprint cohort before it can alert.
    pub min_accounts: usize,
    /// New projects in a day that make one young account a flood.
    pub flood_projects: u32,
    /// Alert at this confidence (0–1), with at least two signals and a reason to act (see
    /// `ARCHITECTURE.md`: evidence of abuse, or a pattern legitimate groups do not produce).
    pub alert_confidence: f64,
    /// Watch a cohort at this confidence (0–1), with at least two signals: worth an admin's look,
    /// no action against its members.
    pub watch_confidence: f64,
    /// Bait names are evidence of abuse when at least this share of a cohort's uploads has them…
    pub alert_bait_share: f64,
    /// …from at least this many of its accounts (one account's unlucky name is not a cohort's).
    pub min_bait_accounts: usize,
    /// The same, for accounts that uploaded identical non-trivial code: the code already ties
    /// them to one actor, so fewer bait names show what that actor is doing.
    pub min_bait_accounts_shared_code: usize,
    /// A registration burst at a free-mail provider alerts by itself when the share of its
    /// decided accounts set up by script is credibly at least this high (the lower bound of its
    /// one-sided 95% Wilson interval, so that 8 of 10 is not yet "nearly all"): one actor opening
    /// mailboxes and accounts in bulk, which neither an organisation onboarding its staff (on its
    /// own domain) nor a workshop walking half its people through 2FA looks like.
    pub alert_scripted_share: f64,
    /// An artifact is specific (its fingerprint can tie strangers together) only when it is not
    /// empty and has at least this many substantive code lines; an empty package, a bare
    /// `__init__.py` or a project template's skeleton is not evidence of one actor.
    pub specific_min_code_lines: u64,
    /// Domains treated as free-mail providers besides the shipped list.
    pub free_mail_domains: Vec<String>,
    /// An account that uploaded this many empty packages under bait names is squatting names:
    /// evidence of abuse by itself, and its fingerprint cohort's alert.
    pub squat_min_bait: u32,
    /// Name-imitation matches below this confidence don't count as bait.
    pub bait_min_confidence: f32,
    /// Reports (`report.create`) against a cohort are evidence of abuse when they name at least
    /// this many of its accounts' projects…
    pub min_reported_accounts: usize,
    /// …from at least this many independent reporters (different accounts and e-mail
    /// domains), one of them trusted by the registry's admins. Fewer, or none trusted, is a
    /// signal that puts the cohort on watch: reports can be filed by anyone, also to hurt a
    /// rival's accounts.
    pub min_independent_reporters: usize,
    /// Accounts of one artifact shape whose project names carry one running counter
    /// (`…-17`, `…-18` from one account, `…-19` from the next; no number used by two accounts,
    /// the numbers dense) are one script naming for many accounts — a pattern legitimate groups
    /// don't produce — when at least this many accounts…
    pub scheme_min_accounts: usize,
    /// …uploaded at least this many numbered names between them.
    pub scheme_min_names: u32,
    /// Signal weights (each a probability-like 0–1 strength, combined by noisy-OR).
    pub weights: Weights,
}

/// The strength of each signal at its strongest.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct Weights {
    /// A registration burst of the domain.
    pub burst: f64,
    /// The share of the cohort set up by script.
    pub scripted_setup: f64,
    /// The share of the cohort's uploads that are empty.
    pub empty: f64,
    /// The share of the cohort's uploads with bait names or commands.
    pub bait: f64,
    /// Accounts sharing one specific artifact (identical non-trivial code).
    pub shared_fingerprint: f64,
    /// One account uploading several empty packages under bait names.
    pub bait_squatting: f64,
    /// Most of a cohort signing up from one address range (a /24, or an IPv6 /48).
    pub shared_range: f64,
    /// Young accounts starting to upload together.
    pub young_uploaders: f64,
    /// One account's flood of new projects.
    pub flood: f64,
    /// Reports filed against the cohort's projects.
    pub reports: f64,
    /// Project names numbered by one counter across accounts.
    pub naming_scheme: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            burst: 0.35,
            scripted_setup: 0.45,
            empty: 0.5,
            bait: 0.3,
            shared_fingerprint: 0.5,
            young_uploaders: 0.15,
            flood: 0.4,
            bait_squatting: 0.55,
            shared_range: 0.2,
            reports: 0.5,
            naming_scheme: 0.5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            young_days: 14,
            burst_floor: 5,
            burst_multiplier: 10.0,
            baseline_half_life_days: 7.0,
            warmup_hours: 6,
            setup_minutes: 30,
            min_accounts: 8,
            flood_projects: 20,
            alert_confidence: 0.6,
            watch_confidence: 0.3,
            alert_bait_share: 0.15,
            min_bait_accounts: 3,
            min_bait_accounts_shared_code: 2,
            alert_scripted_share: 0.7,
            specific_min_code_lines: 20,
            free_mail_domains: Vec::new(),
            squat_min_bait: 2,
            bait_min_confidence: 0.7,
            min_reported_accounts: 2,
            min_independent_reporters: 2,
            scheme_min_accounts: 2,
            scheme_min_names: 3,
            weights: Weights::default(),
        }
    }
}

/// One signal of a campaign, with what it saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// `registration-burst`, `scripted-setup`, `empty-artifacts`, `bait-names`,
    /// `shared-fingerprint`, `young-uploaders`, `project-flood`.
    pub name: &'static str,
    /// Its contribution (0–1).
    pub strength: f64,
    /// The figures behind it.
    pub evidence: Value,
}

/// Accounts created and files uploaded by members on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Member accounts created.
    pub accounts: u64,
    /// Files uploaded by members.
    pub uploads: u64,
}

/// A proposed admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// `prohibit-domain`, `restrict-account`, `quarantine-project`, `disable-account`.
    pub action: &'static str,
    /// What it applies to.
    pub subject: String,
    /// For `prohibit-domain`: how long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A domain and how many member accounts it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainCount {
    /// The registrable domain.
    pub domain: String,
    /// Member accounts from it.
    pub accounts: u64,
}

/// How far a cohort has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth an admin's look; nothing is done to its members.
    Watch,
    /// A campaign: its members are restricted, its uploads quarantined on arrival.
    Alert,
}

/// A detected campaign (an alert) or a cohort on watch.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    /// `C1`, `C2`, … in order of detection (watch cohorts and alerts share the numbering).
    pub id: String,
    /// `alert` or `watch`.
    pub level: Level,
    /// Why it is at its level, in words an admin reads: what was seen and, for a watch, what is
    /// missing for an alert.
    pub reasons: Vec<String>,
    /// 0–1.
    pub confidence: f64,
    /// Creation of the earliest member account (RFC 3339).
    pub first_seen: String,
    /// The `time` of the event at which it reached its level (for an alert: when it alerted).
    pub detected_at: String,
    /// Member accounts, in order of joining.
    pub accounts: Vec<String>,
    /// Member projects, in order of joining.
    pub projects: Vec<String>,
    /// Domains of the members.
    pub domains: Vec<DomainCount>,
    /// The signals, strongest first.
    pub signals: Vec<Signal>,
    /// Per day.
    pub timeline: Vec<Day>,
    /// What an admin should do.
    pub actions: Vec<Action>,
    #[serde(skip)]
    first_seen_ms: i64,
    #[serde(skip)]
    detected_ms: i64,
    #[serde(skip)]
    domain_counts: BTreeMap<String, u64>,
    #[serde(skip)]
    days: BTreeMap<i64, (u64, u64)>,
    #[serde(skip)]
    project_set: FxHashSet<String>,
    #[serde(skip)]
    burst_domains: std::collections::BTreeSet<String>,
    #[serde(skip)]
    account_set: FxHashSet<Box<str>>,
    #[serde(skip)]
    joined_ms: Vec<i64>,
}

impl Campaign {
    /// Milliseconds of `detected_at`.
    pub fn detected_ms(&self) -> i64 {
        self.detected_ms
    }

    /// Milliseconds of `first_seen`.
    pub fn first_seen_ms(&self) -> i64 {
        self.first_seen_ms
    }

    /// Its first `n` domains as `a.example (12), b.example (3)`.
    pub fn domain_list(&self, n: usize) -> String {
        self.domains
            .iter()
            .take(n)
            .map(|d| format!("{} ({})", d.domain, d.accounts))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// When each of `accounts` joined, in the same order (for an alert: when it was alerted).
    pub fn joined_ms(&self) -> &[i64] {
        &self.joined_ms
    }

    fn finish(&mut self) {
        self.first_seen = format_rfc3339(self.first_seen_ms);
        self.detected_at = format_rfc3339(self.detected_ms);
        self.domains = self
            .domain_counts
            .iter()
            .map(|(d, n)| DomainCount {
                domain: d.clone(),
                accounts: *n,
            })
            .collect();
        self.domains
            .sort_by(|a, b| b.accounts.cmp(&a.accounts).then(a.domain.cmp(&b.domain)));
        self.timeline = self
            .days
            .iter()
            .map(|(d, (a, u))| Day {
                day: format_day(*d),
                accounts: *a,
                uploads: *u,
            })
            .collect();
        self.signals
            .sort_by(|a, b| b.strength.total_cmp(&a.strength).then(a.name.cmp(b.name)));
        let mut actions = Vec::new();
        if self.level == Level::Watch {
            // A watch is for reading, not acting.
            self.actions = actions;
            return;
        }
        for d in &self.domains {
            // A domain whose burst the campaign is: a time-boxed prohibition.
            if self.burst_domains.contains(&d.domain) {
                actions.push(Action {
                    action: "prohibit-domain",
                    subject: d.domain.clone(),
                    expires: Some("14d".into()),
                });
            }
        }
        let severe = self.confidence >= 0.9;
        for a in &self.accounts {
            actions.push(Action {
                action: if severe {
                    "disable-account"
                } else {
                    "restrict-account"
                },
                subject: a.clone(),
                expires: None,
            });
        }
        for p in &self.projects {
            actions.push(Action {
                action: "quarantine-project",
                subject: p.clone(),
                expires: None,
            });
        }
        self.actions = actions;
    }
}

/// Judges names: does a project name or a command imitate a popular project or a known command?
pub struct NameJudge {
    squats: std::sync::Arc<SquatDetector>,
    commands: CommandMap,
    min_confidence: f32,
}

impl NameJudge {
    /// Over popular names `(name, rank)`.
    pub fn new(popular: &[(String, u32)], min_confidence: f32) -> Self {
        Self::with_detector(
            std::sync::Arc::new(SquatDetector::new(
                popular,
                picket_names::SquatConfig::default(),
            )),
            min_confidence,
        )
    }

    /// Over a detector built already (the registry shares its upload gate's).
    pub fn with_detector(squats: std::sync::Arc<SquatDetector>, min_confidence: f32) -> Self {
        Self {
            squats,
            commands: CommandMap::default(),
            min_confidence,
        }
    }

    /// Whether the project name or one of its commands is bait: it imitates a popular project,
    /// joins one with generic words, or shadows a well-known command. A name numbered by a
    /// script (`reqeusts-17`) is judged by its stem (`reqeusts`); `boto3` keeps its digit.
    pub fn is_bait(&self, project: &str, commands: &[std::borrow::Cow<'_, str>]) -> bool {
        let normalized = picket_formats::normalize(project);
        let judged = normalized
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .strip_suffix('-')
            .filter(|stem| !stem.is_empty() && normalized.len() > stem.len() + 1)
            .unwrap_or(&normalized);
        if self.squats.popular_rank(judged).is_none()
            && self
                .squats
                .check(judged, None)
                .iter()
                .any(|m| m.confidence >= self.min_confidence)
        {
            return true;
        }
        // A popular name with generic words (`vulture-utils`, `nodeenv-sdk`): the names AI
        // assistants invent, which slopsquatters register (the name engine's
        // `hallucination-pattern`). Two popular names joined are how plugins are named; not bait.
        if picket_names::hallucination::pattern(judged, &self.squats)
            .is_some_and(|p| !p.joined_is_project)
        {
            return true;
        }
        commands.iter().any(|c| {
            matches!(
                self.commands.shadowed_by(c, &normalized),
                Some(Owner::Reserved(_))
            ) || matches!(
                self.commands.shadowed_by(c, &normalized),
                Some(Owner::Project(_))
            )
        })
    }
}

struct Account {
    /// Empty for an account first seen uploading something empty (created before the log, or
    /// long enough ago that it is no longer followed): a sleeper waking up.
    domain: Box<str>,
    created: i64,
    /// The address range it signed up from ([`address_range`]; 0: unknown).
    net: u64,
    /// Its domain is a free-mail provider.
    free_mail: bool,
    dormant: bool,
    verified: Option<i64>,
    twofa: Option<i64>,
    token: Option<i64>,
    scripted: bool,
    in_burst: bool,
    uploads: u32,
    empty: u32,
    bait: u32,
    flood_day: i64,
    flood_count: u32,
    projects: Vec<Box<str>>,
    upload_days: Vec<(i64, u64)>,
    /// The fingerprint clusters it uploaded into (a report re-judges them).
    fingerprints: Vec<u64>,
    /// Reports filed against its projects, one per reporter.
    reports: Vec<Reporter>,
}

/// Who filed a report against an account's project.
struct Reporter {
    user: Box<str>,
    domain: Option<Box<str>>,
    trusted: bool,
    kind: Box<str>,
}

/// The reports against a cohort, counted for its verdict.
#[derive(Default)]
struct ReportTally {
    accounts: u64,
    /// Reporters that count as independent (different accounts and domains).
    independent: u64,
    trusted: bool,
    kinds: std::collections::BTreeSet<Box<str>>,
}

impl ReportTally {
    /// Counts the reports against `users`' projects; `None` when there are none.
    fn of<'u>(
        accounts: &FxHashMap<Box<str>, Box<Account>>,
        users: impl Iterator<Item = &'u Box<str>>,
    ) -> Option<Self> {
        let mut tally = Self::default();
        let mut reporters: Vec<&Reporter> = Vec::new();
        for u in users {
            let Some(a) = accounts.get(u).filter(|a| !a.reports.is_empty()) else {
                continue;
            };
            tally.accounts += 1;
            reporters.extend(&a.reports);
        }
        if tally.accounts == 0 {
            return None;
        }
        // Trusted reporters first, so one is never passed over for an untrusted account of the
        // same domain (the store's quarantine rule counts the same way).
        reporters.sort_by_key(|r| !r.trusted);
        let mut seen_users: FxHashSet<&str> = FxHashSet::default();
        let mut seen_domains: FxHashSet<&str> = FxHashSet::default();
        for r in reporters {
            tally.kinds.insert(r.kind.clone());
            if seen_users.contains(&*r.user)
                || r.domain
                    .as_deref()
                    .is_some_and(|d| seen_domains.contains(d))
            {
                continue;
            }
            seen_users.insert(&r.user);
            seen_domains.extend(r.domain.as_deref());
            tally.independent += 1;
            tally.trusted |= r.trusted;
        }
        Some(tally)
    }

    /// Pushes the `reports` signal and its reason; whether the reports are evidence of abuse.
    /// `ties`: whether the cohort is one by something of its own (a burst, shared code), so
    /// that reports on some members speak for the others.
    fn judge(
        &self,
        config: &Config,
        ties: bool,
        signals: &mut Vec<Signal>,
        reasons: &mut Vec<String>,
    ) -> bool {
        let needed = config.min_reported_accounts.max(1) as u64;
        let abuse = ties
            && self.accounts >= needed
            && self.independent >= config.min_independent_reporters as u64
            && self.trusted;
        signals.push(Signal {
            name: "reports",
            strength: config.weights.reports * share(self.accounts.min(needed), needed),
            evidence: json!({ "reported_accounts": self.accounts,
                              "independent_reporters": self.independent,
                              "trusted_reporter": self.trusted,
                              "kinds": self.kinds.iter().map(|k| &**k).collect::<Vec<_>>() }),
        });
        let kinds = self
            .kinds
            .iter()
            .map(|k| &**k)
            .collect::<Vec<_>>()
            .join(", ");
        reasons.push(format!(
            "reports ({kinds}) against projects of {} of its accounts, from {} independent reporter{}{}{}",
            self.accounts,
            self.independent,
            if self.independent == 1 { "" } else { "s" },
            if self.trusted { ", one trusted" } else { ", none trusted" },
            if abuse {
                ""
            } else if !ties {
                ": they don't tie strangers' trivial uploads into one actor"
            } else {
                ": not yet enough to act on (reports from anyone can be filed to hurt a rival)"
            }
        ));
        abuse
    }
}

/// Where a cohort's findings went: its alert (a campaign) and its watch record.
#[derive(Default, Clone, Copy)]
struct Slot {
    alert: Option<usize>,
    watch: Option<usize>,
}

#[derive(Default)]
struct Domain {
    free_mail: bool,
    ema: f64,
    hour: i64,
    hour_count: u32,
    recent: VecDeque<(i64, Box<str>)>,
    burst_until: i64,
    last_seen: i64,
    cohort: Vec<Box<str>>,
    // Counters over every account that ever joined the cohort.
    joined: u64,
    scripted: u64,
    uploads: u64,
    empty: u64,
    bait: u64,
    uploaders: u64,
    peak: u64,
    allowance: u64,
    slot: Slot,
}

/// What one account did inside a fingerprint cluster.
#[derive(Default, Clone, Copy)]
struct ClusterMember {
    uploads: u32,
    bait: u32,
    /// Empty uploads under bait names.
    squats: u32,
    /// Uploads under a numbered name (`…-17`).
    numbered: u32,
}

#[derive(Default)]
struct Cluster {
    /// Non-trivial code: the fingerprint itself ties its accounts together.
    specific: bool,
    code_lines: u64,
    accounts: FxHashMap<Box<str>, ClusterMember>,
    uploads: u64,
    empty: u64,
    bait: u64,
    last_seen: i64,
    slot: Slot,
    /// The numbers of its numbered project names, each with the account that used it first
    /// (by a hash of its name); at most [`MAX_SCHEME_NUMBERS`].
    numbers: FxHashMap<u32, u64>,
    /// A number used by two accounts: whatever numbers them, it is not one counter.
    number_clash: bool,
}

/// Numbers kept per cluster for the naming-scheme signal.
const MAX_SCHEME_NUMBERS: usize = 4096;

/// The number a script gave a project name (`reqeusts-17` → 17), if it has one.
fn name_number(normalized: &str) -> Option<u32> {
    let (stem, digits) = normalized.rsplit_once('-')?;
    (!stem.is_empty()
        && (1..=6).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then(|| digits.parse().ok())
    .flatten()
}

fn user_key(user: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    user.hash(&mut h);
    h.finish()
}

impl Cluster {
    /// Whether its accounts' numbered names read as one counter: empty uploads only, at least
    /// `min_accounts` accounts whose every upload here is numbered, `min_names` numbers between them, none used
    /// by two accounts, and the numbers dense (spanning at most four per name, as a counter
    /// handed out to many accounts does). Returns the accounts and the range.
    fn naming_scheme<'a>(
        &self,
        accounts: &'a FxHashMap<Box<str>, ClusterMember>,
        min_accounts: usize,
        min_names: u32,
    ) -> Option<(Vec<&'a str>, u32, u32)> {
        let count = u32::try_from(self.numbers.len()).unwrap_or(u32::MAX);
        // Names reserved with nothing in them: a counter over real code or a skeleton is how
        // a class or an organisation numbers its work.
        if self.number_clash || count < min_names || self.empty < self.uploads {
            return None;
        }
        let numbered: Vec<&str> = accounts
            .iter()
            .filter(|(_, m)| m.numbered > 0 && m.numbered == m.uploads)
            .map(|(u, _)| &**u)
            .collect();
        if numbered.len() < min_accounts {
            return None;
        }
        let lo = self.numbers.keys().copied().min()?;
        let hi = self.numbers.keys().copied().max()?;
        (hi - lo < count.saturating_mul(4)).then_some((numbered, lo, hi))
    }
}

impl Cluster {
    fn has_campaign(&self) -> bool {
        self.slot.alert.is_some() || self.slot.watch.is_some()
    }
}

/// Counts of what a run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events consumed.
    pub events: u64,
    /// Accounts followed right now.
    pub young_accounts: usize,
    /// Domains with a baseline right now.
    pub domains: usize,
    /// Fingerprint clusters right now.
    pub clusters: usize,
}

/// The detector. Feed it events in time order (a minute of disorder is fine).
pub struct Detector {
    config: Config,
    judge: NameJudge,
    free_mail: FxHashSet<Box<str>>,
    decay: f64,
    start: Option<i64>,
    clock: i64,
    events: u64,
    /// Boxed: the table holds tens of thousands of young accounts, and growing or sweeping it
    /// moves entries; an entry of a pointer moves, rehashes and faults in far less memory.
    accounts: FxHashMap<Box<str>, Box<Account>>,
    by_age: VecDeque<(i64, Box<str>)>,
    domains: FxHashMap<Box<str>, Domain>,
    clusters: FxHashMap<u64, Cluster>,
    /// Accounts in alerts, and the alert each is in.
    members: FxHashMap<Box<str>, usize>,
    campaigns: Vec<Campaign>,
    last_sweep: i64,
    last_prune: i64,
    registrable: FxHashMap<Box<str>, std::sync::Arc<str>>,
    /// The followed account behind each of its projects (PEP 503 normal form), for reports.
    owners: FxHashMap<Box<str>, Box<str>>,
    weight_hours: i64,
    weight: f64,
}

/// The shipped list of free-mail providers (`data/free-mail-domains.txt`, source and licence in
/// its header).
pub const FREE_MAIL_DOMAINS: &str = include_str!("../data/free-mail-domains.txt");

/// The registrable domain of an address.
pub fn email_domain(email: &str) -> Option<String> {
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

fn noisy_or(strengths: &[f64]) -> f64 {
    1.0 - strengths
        .iter()
        .fold(1.0, |acc, s| acc * (1.0 - s.clamp(0.0, 1.0)))
}

/// A cohort's judgement: its signals, their combined confidence, the level it reached (if any)
/// and why.
struct Verdict {
    signals: Vec<Signal>,
    confidence: f64,
    level: Option<Level>,
    reasons: Vec<String>,
}

impl Verdict {
    /// Judges `signals`: an alert needs `abuse` or `pattern` (the reasons for acting); without
    /// them the cohort is at most watched.
    fn new(
        config: &Config,
        signals: Vec<Signal>,
        mut reasons: Vec<String>,
        abuse: bool,
        pattern: bool,
    ) -> Self {
        let strengths: Vec<f64> = signals.iter().map(|s| s.strength).collect();
        let confidence = noisy_or(&strengths);
        let counted = signals.iter().filter(|s| s.strength > 0.0).count();
        let level = if counted < 2 {
            None
        } else if confidence >= config.alert_confidence && (abuse || pattern) {
            Some(Level::Alert)
        } else if confidence >= config.watch_confidence {
            if !(abuse || pattern) {
                reasons.push(
                    "no evidence of abuse (bait names) and no pattern legitimate groups don't \
                     produce: watched, not acted on"
                        .into(),
                );
            }
            Some(Level::Watch)
        } else {
            None
        };
        Self {
            signals,
            confidence,
            level,
            reasons,
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn share(n: u64, of: u64) -> f64 {
    n as f64 / of.max(1) as f64
}

/// The lower bound of the one-sided 95% Wilson score interval of `n` out of `of`: how high a
/// share credibly is, given how few it was measured on.
#[allow(clippy::cast_precision_loss)]
fn wilson_lower(n: u64, of: u64) -> f64 {
    if of == 0 {
        return 0.0;
    }
    let z = 1.645f64;
    let (p, m) = (share(n, of), of as f64);
    let centre = p + z * z / (2.0 * m);
    let margin = z * (p * (1.0 - p) / m + z * z / (4.0 * m * m)).sqrt();
    (centre - margin) / (1.0 + z * z / m)
}

impl Detector {
    /// A detector with `config`, judging names with `judge`.
    pub fn new(config: Config, judge: NameJudge) -> Self {
        let half_life_hours = (config.baseline_half_life_days * 24.0).max(1.0);
        let free_mail = FREE_MAIL_DOMAINS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Box::from)
            .chain(
                config
                    .free_mail_domains
                    .iter()
                    .map(|d| Box::from(d.trim().to_ascii_lowercase().as_str())),
            )
            .collect();
        Self {
            decay: 0.5f64.powf(1.0 / half_life_hours),
            config,
            judge,
            free_mail,
            start: None,
            clock: i64::MIN,
            events: 0,
            accounts: FxHashMap::default(),
            by_age: VecDeque::new(),
            domains: FxHashMap::default(),
            clusters: FxHashMap::default(),
            members: FxHashMap::default(),
            campaigns: Vec::new(),
            last_sweep: i64::MIN,
            last_prune: i64::MIN,
            registrable: FxHashMap::default(),
            owners: FxHashMap::default(),
            weight_hours: -1,
            weight: 0.0,
        }
    }

    /// Whether a registrable domain is a free-mail provider (the shipped list plus
    /// `free-mail-domains`).
    pub fn is_free_mail(&self, domain: &str) -> bool {
        self.free_mail.contains(domain)
    }

    /// What the detector holds right now.
    pub fn stats(&self) -> Stats {
        Stats {
            events: self.events,
            young_accounts: self.accounts.len(),
            domains: self.domains.len(),
            clusters: self.clusters.len(),
        }
    }

    /// The alerts so far (campaigns to act on), with their derived fields filled in.
    pub fn campaigns(&mut self) -> Vec<Campaign> {
        self.at_level(Level::Alert)
    }

    /// The cohorts on watch so far (worth an admin's look; no action).
    pub fn watch(&mut self) -> Vec<Campaign> {
        self.at_level(Level::Watch)
    }

    fn at_level(&mut self, level: Level) -> Vec<Campaign> {
        self.campaigns
            .iter_mut()
            .filter(|c| c.level == level)
            .map(|c| {
                c.finish();
                c.clone()
            })
            .collect()
    }

    /// Consumes one event at `time` (ms).
    pub fn observe(&mut self, time: i64, e: &Event<'_>) {
        self.events += 1;
        let start = *self.start.get_or_insert(time);
        self.clock = self.clock.max(time);
        if self.clock.saturating_sub(self.last_sweep) >= HOUR {
            self.sweep();
            self.last_sweep = self.clock;
        }
        let Some(user) = e.user.as_deref() else {
            return;
        };
        match &*e.kind {
            "account.create" => {
                let Some(host) = e.email.as_deref().and_then(|m| m.rsplit_once('@')) else {
                    return;
                };
                // Registrable domains are looked up once per distinct host.
                let domain = match self.registrable.get(host.1) {
                    Some(d) => d.clone(),
                    None => {
                        let Some(d) = email_domain(e.email.as_deref().unwrap_or_default()) else {
                            return;
                        };
                        if self.registrable.len() > 200_000 {
                            self.registrable.clear();
                        }
                        let d: std::sync::Arc<str> = d.into();
                        self.registrable.insert(host.1.into(), d.clone());
                        d
                    }
                };
                let net = e.ip.as_deref().map_or(0, address_range);
                self.account_created(user, &domain, net, time, time.saturating_sub(start));
            }
            "account.email.verify" => self.setup_step(user, time, 0),
            "account.2fa.add" => self.setup_step(user, time, 1),
            "account.token.create" => self.setup_step(user, time, 2),
            "file.upload" => self.uploaded(user, time, e),
            "report.create" => self.reported(user, time, e),
            _ => {}
        }
    }

    fn sweep(&mut self) {
        let young = i64::from(self.config.young_days) * DAY;
        while let Some((created, _)) = self.by_age.front() {
            if self.clock.saturating_sub(*created) <= young {
                break;
            }
            let (_, user) = self.by_age.pop_front().expect("front exists");
            if let Some(a) = self.accounts.remove(&user) {
                for p in &a.projects {
                    let key = normalize(p);
                    if self.owners.get(&*key).is_some_and(|o| *o == user) {
                        self.owners.remove(&*key);
                    }
                }
                if let Some(d) = self.domains.get_mut(&a.domain) {
                    d.cohort.retain(|u| **u != *user);
                }
            }
        }
        let clock = self.clock;
        if clock.saturating_sub(self.last_prune) < DAY {
            return;
        }
        self.last_prune = clock;
        // Idle domains whose baseline has decayed to nothing, and idle clusters, carry nothing
        // worth keeping.
        let decay = self.decay;
        self.domains.retain(|_, d| {
            // The decayed baseline (a power) only for domains idle long enough to go.
            let baseline = || {
                let idle_hours = clock.div_euclid(HOUR).saturating_sub(d.hour).min(100_000);
                d.ema * decay.powi(i32::try_from(idle_hours).unwrap_or(i32::MAX))
            };
            clock.saturating_sub(d.last_seen) < 2 * young
                || d.slot.alert.is_some()
                || d.slot.watch.is_some()
                || baseline() > 0.01
        });
        self.clusters
            .retain(|_, c| clock.saturating_sub(c.last_seen) < young || c.has_campaign());
    }

    fn account_created(&mut self, user: &str, domain: &str, net: u64, time: i64, since_start: i64) {
        let hours_seen = since_start / HOUR;
        if hours_seen != self.weight_hours {
            self.weight_hours = hours_seen;
            self.weight = 1.0
                - self
                    .decay
                    .powi(i32::try_from(hours_seen.max(1)).unwrap_or(i32::MAX));
        }
        let weight = self.weight;
        let cfg = &self.config;
        let decay = self.decay;
        if !self.domains.contains_key(domain) {
            let free_mail = self.free_mail.contains(domain);
            self.domains.insert(
                domain.into(),
                Domain {
                    free_mail,
                    ..Domain::default()
                },
            );
        }
        let Some(d) = self.domains.get_mut(domain) else {
            return;
        };
        let hour = time.div_euclid(HOUR);
        if d.last_seen == 0 && d.hour == 0 {
            d.hour = hour;
        }
        if hour > d.hour {
            let elapsed = hour.saturating_sub(d.hour).min(10_000);
            d.ema = d.ema * decay + f64::from(d.hour_count) * (1.0 - decay);
            d.ema *= decay.powi(i32::try_from(elapsed - 1).unwrap_or(i32::MAX));
            d.hour = hour;
            d.hour_count = 0;
        }
        d.hour_count += 1;
        d.last_seen = time;
        d.recent.push_back((time, user.into()));
        while d
            .recent
            .front()
            .is_some_and(|(t, _)| time.saturating_sub(*t) >= HOUR)
        {
            d.recent.pop_front();
        }
        // The baseline with its start-up bias removed (an EMA that began at zero).
        let baseline = if weight > 0.0 { d.ema / weight } else { 0.0 };
        let allowance = (cfg.burst_multiplier * baseline)
            .ceil()
            .max(f64::from(cfg.burst_floor));
        let in_burst = time < d.burst_until;
        let mut newly = Vec::new();
        if hours_seen >= i64::from(cfg.warmup_hours) && d.recent.len() as f64 > allowance {
            d.burst_until = time + HOUR;
            d.peak = d.peak.max(d.recent.len() as u64);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            {
                d.allowance = allowance as u64;
            }
            newly.extend(d.recent.iter().map(|(_, u)| u.clone()));
        } else if in_burst {
            newly.push(user.into());
        }
        // A domain with no burst cohort, and none joining now, has nothing to judge (most
        // sign-ups): `evaluate_domain` would only look the domain up again to find that.
        let judge = !d.cohort.is_empty() || !newly.is_empty();
        let mut account = new_account(domain, time, false);
        account.net = net;
        account.free_mail = d.free_mail;
        self.accounts.insert(user.into(), Box::new(account));
        self.by_age.push_back((time, user.into()));
        for u in newly {
            self.join_burst(&u, domain);
        }
        if judge {
            self.evaluate_domain(domain, time);
        }
    }

    fn join_burst(&mut self, user: &str, domain: &str) {
        let Some(a) = self.accounts.get_mut(user) else {
            return;
        };
        if a.in_burst {
            return;
        }
        a.in_burst = true;
        let Some(d) = self.domains.get_mut(domain) else {
            return;
        };
        d.cohort.push(user.into());
        d.joined += 1;
        d.scripted += u64::from(a.scripted);
        d.uploads += u64::from(a.uploads);
        d.empty += u64::from(a.empty);
        d.bait += u64::from(a.bait);
        d.uploaders += u64::from(a.uploads > 0);
    }

    fn setup_step(&mut self, user: &str, time: i64, step: u8) {
        let window = i64::from(self.config.setup_minutes) * 60_000;
        let Some(a) = self.accounts.get_mut(user) else {
            return;
        };
        let slot = match step {
            0 => &mut a.verified,
            1 => &mut a.twofa,
            _ => &mut a.token,
        };
        slot.get_or_insert(time);
        let done = [a.verified, a.twofa, a.token]
            .iter()
            .all(|t| t.is_some_and(|t| t.saturating_sub(a.created) <= window));
        if done && !a.scripted && !a.dormant {
            a.scripted = true;
            if a.in_burst {
                let domain = a.domain.clone();
                if let Some(d) = self.domains.get_mut(&domain) {
                    d.scripted += 1;
                }
                self.evaluate_domain(&domain, time);
            }
        }
    }

    fn uploaded(&mut self, user: &str, time: i64, e: &Event<'_>) {
        let Some(project) = e.project.as_deref() else {
            return;
        };
        let member = self.members.get(user).copied();
        let empty_artifact = Artifact::default();
        let artifact = e.artifact.as_ref().unwrap_or(&empty_artifact);
        if !self.accounts.contains_key(user) {
            // An account no longer (or never) followed. A member of a known campaign is followed
            // further; one that wakes up with an empty upload — a sleeper created long ago, or
            // before the log — is followed from now on; anyone else (an established maintainer
            // releasing real code) is left alone, without judging its names: that is most of a
            // registry's uploads.
            if let Some(c) = member {
                add_project(&mut self.campaigns[c], project, time);
                return;
            }
            if !artifact.empty {
                return;
            }
            self.accounts
                .insert(user.into(), Box::new(new_account("", time, true)));
            self.by_age.push_back((time, user.into()));
        }
        let (fp, specific) = fingerprint(
            artifact,
            e.summary.as_deref(),
            project,
            self.config.specific_min_code_lines,
        );
        // Judging a name costs a few microseconds: only where it can tip a cohort — empty
        // artifacts, burst accounts, shared code, crowded fingerprints, accounts creating many
        // projects.
        let crowded = self.clusters.get(&fp).is_some_and(|c| {
            c.accounts.len() * 2 >= self.config.min_accounts || (specific && !c.accounts.is_empty())
        });
        let Some(a) = self.accounts.get_mut(user) else {
            return;
        };
        let busy = a.flood_count * 2 >= self.config.flood_projects;
        let bait = (artifact.empty || a.in_burst || crowded || busy)
            && self.judge.is_bait(project, &artifact.console_scripts);
        let day = time.div_euclid(DAY);
        let first_upload = a.uploads == 0;
        a.uploads += 1;
        a.empty += u32::from(artifact.empty);
        a.bait += u32::from(bait);
        if !a.fingerprints.contains(&fp) && a.fingerprints.len() < 64 {
            a.fingerprints.push(fp);
        }
        if !a.projects.iter().any(|p| **p == *project) && a.projects.len() < 10_000 {
            a.projects.push(project.into());
            self.owners.insert(normalize(project).into(), user.into());
            if a.flood_day == day {
                a.flood_count += 1;
            } else {
                a.flood_day = day;
                a.flood_count = 1;
            }
        }
        match a.upload_days.last_mut() {
            Some((d, n)) if *d == day => *n += 1,
            _ => a.upload_days.push((day, 1)),
        }
        let (domain, in_burst, flood, scripted) =
            (a.domain.clone(), a.in_burst, a.flood_count, a.scripted);
        let suspicious = artifact.empty || bait;
        if in_burst && let Some(d) = self.domains.get_mut(&domain) {
            d.uploads += 1;
            d.empty += u64::from(artifact.empty);
            d.bait += u64::from(bait);
            d.uploaders += u64::from(first_upload);
        }
        let cluster = self.clusters.entry(fp).or_default();
        cluster.specific = specific;
        cluster.code_lines = artifact.code_lines;
        let number = name_number(&normalize(project));
        if let Some(n) = number {
            let key = user_key(user);
            match cluster.numbers.get(&n) {
                Some(&first) if first != key => cluster.number_clash = true,
                None if cluster.numbers.len() < MAX_SCHEME_NUMBERS => {
                    cluster.numbers.insert(n, key);
                }
                _ => {}
            }
        }
        let m = cluster.accounts.entry(user.into()).or_default();
        m.uploads += 1;
        m.bait += u32::from(bait);
        m.squats += u32::from(bait && artifact.empty);
        m.numbered += u32::from(number.is_some());
        let squatter = is_squatter(m, scripted, &self.config);
        cluster.uploads += 1;
        cluster.empty += u64::from(artifact.empty);
        cluster.bait += u64::from(bait);
        cluster.last_seen = time;

        if let Some(c) = member {
            add_project(&mut self.campaigns[c], project, time);
        }
        if in_burst {
            self.evaluate_domain(&domain, time);
        }
        if squatter
            || self.clusters.get(&fp).is_some_and(|c| {
                c.accounts.len() >= self.config.min_accounts
                    || (c.bait > 0 && c.accounts.len() >= self.config.min_bait_accounts)
                    || (c.bait > 0 && specific && c.accounts.len() >= 2)
                    || (number.is_some()
                        && !c.number_clash
                        && c.numbers.len() >= self.config.scheme_min_names as usize
                        && c.accounts.len() >= self.config.scheme_min_accounts)
            })
        {
            self.evaluate_cluster(fp, time);
        }
        if flood >= self.config.flood_projects && suspicious {
            self.evaluate_flood(user, time);
        }
    }

    /// A report against a project (`report.create`, filed by `reporter`): counted against the
    /// followed account that uploaded it, whose cohorts are judged again. Reports on projects of
    /// established accounts are the store's quarantine rules' business, not a cohort's.
    fn reported(&mut self, reporter: &str, time: i64, e: &Event<'_>) {
        let Some(project) = e.project.as_deref() else {
            return;
        };
        let Some(owner) = self.owners.get(normalize(project).as_str()).cloned() else {
            return;
        };
        // A reporter inside an alerted campaign, or a blocked one, testifies to nothing.
        if *owner == *reporter
            || self.members.contains_key(reporter)
            || e.reporter_trust.as_deref() == Some("blocked")
        {
            return;
        }
        let Some(a) = self.accounts.get_mut(&owner) else {
            return;
        };
        if a.reports.iter().any(|r| *r.user == *reporter) || a.reports.len() >= 16 {
            return;
        }
        a.reports.push(Reporter {
            user: reporter.into(),
            domain: e.reporter_domain.as_deref().map(Box::from),
            trusted: e.reporter_trust.as_deref() == Some("trusted"),
            kind: e.report_kind.as_deref().unwrap_or("other").into(),
        });
        let (domain, in_burst, fingerprints) =
            (a.domain.clone(), a.in_burst, a.fingerprints.clone());
        if in_burst {
            self.evaluate_domain(&domain, time);
        }
        for fp in fingerprints {
            self.evaluate_cluster(fp, time);
        }
    }

    fn evaluate_domain(&mut self, domain: &str, time: i64) {
        let Some(d) = self.domains.get_mut(domain) else {
            return;
        };
        if d.cohort.is_empty() {
            return;
        }
        // Lent out for the evaluation, so members are named by reference (no copies); put back
        // at the end.
        let cohort = std::mem::take(&mut d.cohort);
        let cfg = &self.config;
        let w = &cfg.weights;
        let d = &self.domains[domain];
        let n = d.joined;
        let provider = if d.free_mail {
            "free-mail provider"
        } else {
            "organisation or unlisted domain"
        };
        let mut signals = Vec::new();
        let mut reasons = Vec::new();
        if n >= cfg.min_accounts as u64 {
            signals.push(Signal {
                name: "registration-burst",
                strength: w.burst,
                evidence: json!({ "domain": domain, "burst_accounts": n, "peak_per_hour": d.peak,
                                  "allowed_per_hour": d.allowance, "provider": provider }),
            });
            reasons.push(format!(
                "{n} accounts from {domain} ({provider}) in a registration burst: up to {} an hour against {} allowed by its own history",
                d.peak, d.allowance
            ));
        }
        let (mut scripted_share, mut scripted_low) = (0.0, 0.0);
        if d.scripted >= cfg.min_accounts as u64 {
            // Accounts still inside the set-up window are undecided, not counted against it.
            let window = i64::from(cfg.setup_minutes) * 60_000;
            let undecided = cohort
                .iter()
                .filter_map(|u| self.accounts.get(u))
                .filter(|a| !a.scripted && time.saturating_sub(a.created) < window)
                .count() as u64;
            let decided = d.joined.saturating_sub(undecided).max(d.scripted).max(1);
            scripted_share = share(d.scripted, decided);
            scripted_low = wilson_lower(d.scripted, decided);
            signals.push(Signal {
                name: "scripted-setup",
                strength: w.scripted_setup * scripted_share,
                evidence: json!({ "accounts": d.scripted, "of": d.joined,
                                  "within_minutes": cfg.setup_minutes }),
            });
            reasons.push(format!(
                "{} of {} set up by script (verified, 2FA and a token within {} minutes)",
                d.scripted, d.joined, cfg.setup_minutes
            ));
        }
        self.push_range_signal(cohort.iter(), &mut signals, &mut reasons);
        push_upload_signals(&mut signals, w, d.uploads, d.empty, d.bait);
        if d.uploaders >= 5 {
            signals.push(Signal {
                name: "young-uploaders",
                strength: w.young_uploaders,
                evidence: json!({ "uploading_accounts": d.uploaders }),
            });
        }
        let suspicious =
            |a: &Account| a.scripted || a.empty > 0 || a.bait > 0 || !a.reports.is_empty();
        let mut members: Vec<&str> = Vec::new();
        let mut bait_accounts = 0u64;
        for u in &cohort {
            if let Some(a) = self.accounts.get(u) {
                bait_accounts += u64::from(a.bait > 0);
                if suspicious(a) {
                    members.push(u);
                }
            }
        }
        let reported = ReportTally::of(&self.accounts, cohort.iter())
            .is_some_and(|t| t.judge(cfg, true, &mut signals, &mut reasons));
        let abuse = self.bait_abuse(
            d.uploads,
            d.bait,
            (bait_accounts, cfg.min_bait_accounts),
            &mut reasons,
        ) || reported;
        let pattern = d.free_mail
            && d.scripted >= cfg.min_accounts as u64
            && scripted_low >= cfg.alert_scripted_share;
        if pattern {
            reasons.push(format!(
                "scripted mass sign-up at a free-mail provider: {:.0}% of the burst set up by script, which an organisation onboarding staff on its own domain does not look like",
                scripted_share * 100.0
            ));
        }
        let verdict = Verdict::new(cfg, signals, reasons, abuse, pattern);
        let watchers: Vec<&str> = if members.is_empty() {
            cohort.iter().map(|u| &**u).collect()
        } else {
            members.clone()
        };
        let slot = d.slot;
        let slot = self.raise(slot, verdict, &members, &watchers, time);
        if let Some(d) = self.domains.get_mut(domain) {
            d.slot = slot;
            d.cohort = cohort;
        }
    }

    /// Coordination, not abuse: most of a cohort (and at least `min-bait-accounts`) signed up from
    /// one address range — an office or a venue does that as well as a server.
    fn push_range_signal<'u>(
        &self,
        users: impl Iterator<Item = &'u Box<str>>,
        signals: &mut Vec<Signal>,
        reasons: &mut Vec<String>,
    ) {
        let mut counts: FxHashMap<u64, u64> = FxHashMap::default();
        let mut n = 0u64;
        for u in users {
            n += 1;
            if let Some(a) = self.accounts.get(u).filter(|a| a.net != 0) {
                *counts.entry(a.net).or_default() += 1;
            }
        }
        let Some((net, k)) = counts.into_iter().max_by_key(|(net, k)| (*k, *net)) else {
            return;
        };
        if k < self.config.min_bait_accounts as u64 || k * 2 < n {
            return;
        }
        let range = format_range(net);
        signals.push(Signal {
            name: "shared-address-range",
            strength: self.config.weights.shared_range,
            evidence: json!({ "range": range, "accounts": k, "of": n }),
        });
        reasons.push(format!(
            "{k} of {n} signed up from one address range, {range}"
        ));
    }

    /// Whether a cohort's bait names are evidence of abuse; says why in `reasons`.
    fn bait_abuse(
        &self,
        uploads: u64,
        bait: u64,
        (bait_accounts, min_accounts): (u64, usize),
        reasons: &mut Vec<String>,
    ) -> bool {
        let abuse = uploads > 0
            && share(bait, uploads) >= self.config.alert_bait_share
            && bait_accounts >= min_accounts as u64;
        if abuse {
            reasons.push(format!(
                "bait names: {bait} of {uploads} uploads, from {bait_accounts} accounts, imitate popular projects or shadow well-known commands"
            ));
        }
        abuse
    }

    fn evaluate_cluster(&mut self, fp: u64, time: i64) {
        let Some(c) = self.clusters.get_mut(&fp) else {
            return;
        };
        // Lent out for the evaluation, so members are named by reference; put back at the end.
        let accounts = std::mem::take(&mut c.accounts);
        self.judge_cluster(fp, &accounts, time);
        if let Some(c) = self.clusters.get_mut(&fp) {
            c.accounts = accounts;
        }
    }

    fn judge_cluster(&mut self, fp: u64, accounts: &FxHashMap<Box<str>, ClusterMember>, time: i64) {
        let cfg = &self.config;
        let w = &cfg.weights;
        let Some(c) = self.clusters.get(&fp) else {
            return;
        };
        let n = accounts.len() as u64;
        let (mut scripted, mut free_mail, mut bait_accounts) = (0u64, 0u64, 0u64);
        let mut members: Vec<&str> = Vec::new();
        let mut squatters: Vec<&str> = Vec::new();
        for (u, m) in accounts {
            let account = self.accounts.get(u);
            let is_scripted = account.is_some_and(|a| a.scripted);
            scripted += u64::from(is_scripted);
            free_mail += u64::from(account.is_some_and(|a| a.free_mail));
            bait_accounts += u64::from(m.bait > 0);
            // A trivial shape ties no one to anyone: only accounts with something of their own
            // against them (bait, scripted set-up, several of the cohort's uploads) are members.
            if c.specific || m.bait > 0 || is_scripted || m.uploads >= 2 {
                members.push(u);
            }
            if is_squatter(m, is_scripted, cfg) {
                squatters.push(u);
            }
        }
        let cohort = n >= cfg.min_accounts as u64 && (c.specific || c.empty > 0 || c.bait > 0);
        // Bait names are abuse in themselves: a few accounts suffice to tie a cohort.
        let min_bait_accounts = if c.specific {
            cfg.min_bait_accounts_shared_code
        } else {
            cfg.min_bait_accounts
        };
        // Reports tie a cohort together only where something specific already does (shared
        // non-trivial code): strangers' placeholders, each reported, are still strangers.
        let tally = ReportTally::of(&self.accounts, accounts.keys());
        let reported = c.specific
            && n >= cfg.min_bait_accounts as u64
            && tally
                .as_ref()
                .is_some_and(|t| t.accounts >= cfg.min_reported_accounts as u64);
        let small = (n >= cfg.min_bait_accounts as u64
            && bait_accounts >= min_bait_accounts as u64)
            || reported;
        // One counter across accounts of free-mail providers: an organisation numbering its
        // own releases from several staff accounts (its own domain) is not this pattern.
        let scheme = c
            .naming_scheme(accounts, cfg.scheme_min_accounts, cfg.scheme_min_names)
            .filter(|(numbered, _, _)| {
                let free = numbered
                    .iter()
                    .filter(|u| self.accounts.get(**u).is_some_and(|a| a.free_mail))
                    .count();
                free * 2 >= numbered.len()
            });
        if !cohort && !small && squatters.is_empty() && scheme.is_none() {
            return;
        }
        let mut signals = Vec::new();
        let mut reasons = Vec::new();
        if !squatters.is_empty() {
            signals.push(Signal {
                name: "bait-squatting",
                strength: w.bait_squatting,
                evidence: json!({ "accounts": squatters.len(), "min_empty_bait_uploads": cfg.squat_min_bait }),
            });
            reasons.push(format!(
                "{} new publishers uploaded empty packages under names imitating popular projects ({} or more, or one after a scripted set-up): squatting names",
                squatters.len(),
                cfg.squat_min_bait
            ));
        }
        if (cohort || small) && c.specific {
            signals.push(Signal {
                name: "shared-fingerprint",
                strength: w.shared_fingerprint,
                evidence: json!({ "accounts": n, "uploads": c.uploads, "fingerprint": format!("{fp:016x}"),
                                  "code_lines": c.code_lines }),
            });
            reasons.push(format!(
                "{n} new publishers uploaded the same non-trivial code ({} substantive lines)",
                c.code_lines
            ));
        } else if cohort {
            reasons.push(format!(
                "{n} new publishers uploaded artifacts of one trivial shape ({}): not by itself evidence of one actor",
                if c.empty > 0 { "empty packages" } else { "a skeleton" }
            ));
        }
        if let Some((numbered, lo, hi)) = &scheme {
            signals.push(Signal {
                name: "naming-scheme",
                strength: w.naming_scheme,
                evidence: json!({ "accounts": numbered.len(), "names": c.numbers.len(), "from": lo, "to": hi }),
            });
            reasons.push(format!(
                "{} new publishers number their projects with one running counter ({} names numbered {lo}–{hi}, no number used by two of them): one script naming for many accounts",
                numbered.len(),
                c.numbers.len()
            ));
        }
        signals.push(Signal {
            name: "young-uploaders",
            strength: w.young_uploaders,
            evidence: json!({ "uploading_accounts": n }),
        });
        let scripted_share = share(scripted, n);
        if cohort && scripted >= cfg.min_accounts as u64 / 2 {
            signals.push(Signal {
                name: "scripted-setup",
                strength: w.scripted_setup * scripted_share,
                evidence: json!({ "accounts": scripted, "of": n, "within_minutes": cfg.setup_minutes }),
            });
            reasons.push(format!(
                "{scripted} of {n} set up by script (verified, 2FA and a token within {} minutes)",
                cfg.setup_minutes
            ));
        }
        if cohort {
            self.push_range_signal(accounts.keys(), &mut signals, &mut reasons);
        }
        push_upload_signals(&mut signals, w, c.uploads, c.empty, c.bait);
        let reports_abuse = tally
            .as_ref()
            .is_some_and(|t| t.judge(cfg, c.specific, &mut signals, &mut reasons));
        let abuse = !squatters.is_empty()
            || reports_abuse
            || self.bait_abuse(
                c.uploads,
                c.bait,
                (bait_accounts, min_bait_accounts),
                &mut reasons,
            );
        // Accounts opened by script at public providers, uploading nothing but empty packages:
        // bulk sign-up with nothing to publish, which neither strangers (who set up by hand)
        // nor an organisation (on its own domain) look like.
        let pattern = cohort
            && !c.specific
            && scripted >= cfg.min_accounts as u64
            && wilson_lower(scripted, n) >= cfg.alert_scripted_share
            && share(free_mail, n) >= 0.5
            && share(c.empty, c.uploads) >= cfg.alert_scripted_share;
        if pattern {
            reasons.push(format!(
                "{:.0}% of them set up by script at free-mail providers, uploading only empty packages",
                scripted_share * 100.0
            ));
        }
        let mut verdict = Verdict::new(cfg, signals, reasons, abuse, pattern || scheme.is_some());
        if !cohort && verdict.level == Some(Level::Watch) {
            // Too few to watch as a cohort; only abuse counts below `min-accounts`.
            verdict.level = None;
        }
        // Before the cohort itself is judged, only the squatters (and the accounts one counter
        // names) are alerted.
        let mut alert_members = if cohort || small { members } else { squatters };
        if let Some((numbered, _, _)) = scheme {
            // A set, not `contains` on the list: a cohort of hundreds would cost its square.
            let mut listed: FxHashSet<&str> = alert_members.iter().copied().collect();
            for u in numbered {
                if listed.insert(u) {
                    alert_members.push(u);
                }
            }
        }
        let watchers: Vec<&str> = if cohort {
            accounts.keys().map(|u| &**u).collect()
        } else {
            Vec::new()
        };
        let slot = c.slot;
        let slot = self.raise(slot, verdict, &alert_members, &watchers, time);
        if let Some(c) = self.clusters.get_mut(&fp) {
            c.slot = slot;
        }
    }

    fn evaluate_flood(&mut self, user: &str, time: i64) {
        let cfg = &self.config;
        let w = &cfg.weights;
        let Some(a) = self.accounts.get(user) else {
            return;
        };
        let mut signals = vec![
            Signal {
                name: "project-flood",
                strength: w.flood,
                evidence: json!({ "account": user, "new_projects_in_a_day": a.flood_count }),
            },
            Signal {
                name: "young-uploaders",
                strength: w.young_uploaders,
                evidence: json!({ "account_age_days": (time - a.created) / DAY }),
            },
        ];
        push_upload_signals(
            &mut signals,
            w,
            u64::from(a.uploads),
            u64::from(a.empty),
            u64::from(a.bait),
        );
        let reasons = vec![format!(
            "one new publisher created {} projects in a day, {} of its {} uploads empty and {} with bait names: squatting names in bulk",
            a.flood_count, a.empty, a.uploads, a.bait
        )];
        // Only called for empty or bait uploads: a flood of them is abuse in itself.
        let verdict = Verdict::new(cfg, signals, reasons, true, false);
        let slot = Slot {
            alert: self.members.get(user).copied(),
            watch: None,
        };
        self.raise(slot, verdict, &[user], &[user], time);
    }

    fn open(&mut self, level: Level, time: i64) -> usize {
        self.campaigns.push(Campaign {
            id: format!("C{}", self.campaigns.len() + 1),
            level,
            reasons: Vec::new(),
            confidence: 0.0,
            first_seen: String::new(),
            detected_at: String::new(),
            accounts: Vec::new(),
            projects: Vec::new(),
            domains: Vec::new(),
            signals: Vec::new(),
            timeline: Vec::new(),
            actions: Vec::new(),
            first_seen_ms: i64::MAX,
            detected_ms: time,
            domain_counts: BTreeMap::new(),
            days: BTreeMap::new(),
            project_set: FxHashSet::default(),
            burst_domains: std::collections::BTreeSet::new(),
            account_set: FxHashSet::default(),
            joined_ms: Vec::new(),
        });
        self.campaigns.len() - 1
    }

    /// Records a cohort's verdict: opens or grows its alert (once alerted, qualifying members
    /// keep joining as they arrive) or its watch record. Returns where it went.
    fn raise(
        &mut self,
        mut slot: Slot,
        verdict: Verdict,
        alert_members: &[&str],
        watch_members: &[&str],
        time: i64,
    ) -> Slot {
        let Verdict {
            signals,
            confidence,
            level,
            reasons,
        } = verdict;
        let (index, members) = if slot.alert.is_some() || level == Some(Level::Alert) {
            // Join the cohort's alert, or the one its members are already in.
            let existing = slot.alert.or_else(|| {
                alert_members
                    .iter()
                    .find_map(|m| self.members.get(*m).copied())
            });
            let index = match existing {
                Some(i) => i,
                None if !alert_members.is_empty() => self.open(Level::Alert, time),
                None => return slot,
            };
            slot.alert = Some(index);
            (index, alert_members)
        } else if level == Some(Level::Watch) {
            let index = match slot.watch {
                Some(i) => i,
                None if !watch_members.is_empty() => self.open(Level::Watch, time),
                None => return slot,
            };
            slot.watch = Some(index);
            (index, watch_members)
        } else {
            return slot;
        };
        let campaign = &mut self.campaigns[index];
        let at_level = level == Some(campaign.level);
        if at_level && (confidence >= campaign.confidence || campaign.reasons.is_empty()) {
            campaign.confidence = campaign.confidence.max(confidence);
            campaign.reasons = reasons;
        }
        for s in &signals {
            if s.name == "registration-burst"
                && let Some(d) = s.evidence.get("domain").and_then(Value::as_str)
            {
                campaign.burst_domains.insert(d.to_owned());
            }
        }
        for s in signals.into_iter().filter(|s| s.strength > 0.0) {
            match campaign.signals.iter_mut().find(|x| x.name == s.name) {
                Some(x) if s.strength >= x.strength => *x = s,
                Some(_) => {}
                None => campaign.signals.push(s),
            }
        }
        let alert = campaign.level == Level::Alert;
        for &m in members {
            if alert {
                if self.members.contains_key(m) {
                    continue;
                }
                self.members.insert(m.into(), index);
            }
            let campaign = &mut self.campaigns[index];
            if campaign.account_set.contains(m) {
                continue;
            }
            campaign.account_set.insert(m.into());
            campaign.accounts.push(m.to_string());
            campaign.joined_ms.push(time);
            if let Some(a) = self.accounts.get(m) {
                campaign.first_seen_ms = campaign.first_seen_ms.min(a.created);
                let domain = if a.domain.is_empty() {
                    "(unknown: seen first uploading)"
                } else {
                    &a.domain
                };
                *campaign.domain_counts.entry(domain.to_owned()).or_default() += 1;
                campaign
                    .days
                    .entry(a.created.div_euclid(DAY))
                    .or_default()
                    .0 += u64::from(!a.dormant);
                for (day, n) in &a.upload_days {
                    campaign.days.entry(*day).or_default().1 += n;
                }
                for p in &a.projects {
                    if campaign.project_set.insert(p.to_string()) {
                        campaign.projects.push(p.to_string());
                    }
                }
            }
        }
        slot
    }
}

/// An account squatting names: `squat-min-bait` empty uploads under bait names, or one after a
/// set-up by script (the shape of one account of the 2025 campaign).
fn is_squatter(m: &ClusterMember, scripted: bool, config: &Config) -> bool {
    m.squats >= config.squat_min_bait || (scripted && m.squats >= 1)
}

/// The range an address belongs to, as a key: its /24 for IPv4, its /48 for IPv6 (what one
/// office, venue or rented server block holds); 0 for anything else.
pub fn address_range(ip: &str) -> u64 {
    match ip.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => (1 << 62) | u64::from(u32::from(v4) >> 8),
        Ok(std::net::IpAddr::V6(v6)) => {
            (2 << 62) | u64::try_from(u128::from(v6) >> 80).unwrap_or(0)
        }
        Err(_) => 0,
    }
}

/// `198.51.100.0/24` or `2001:db8:1::/48` for a key of [`address_range`].
fn format_range(key: u64) -> String {
    let bits = key & ((1 << 62) - 1);
    if key >> 62 == 1 {
        let v4 = std::net::Ipv4Addr::from(u32::try_from(bits << 8).unwrap_or(0));
        format!("{v4}/24")
    } else {
        let v6 = std::net::Ipv6Addr::from(u128::from(bits) << 80);
        format!("{v6}/48")
    }
}

fn new_account(domain: &str, time: i64, dormant: bool) -> Account {
    Account {
        domain: domain.into(),
        created: time,
        net: 0,
        free_mail: false,
        dormant,
        verified: None,
        twofa: None,
        token: None,
        scripted: false,
        in_burst: false,
        uploads: 0,
        empty: 0,
        bait: 0,
        flood_day: 0,
        flood_count: 0,
        projects: Vec::new(),
        upload_days: Vec::new(),
        fingerprints: Vec::new(),
        reports: Vec::new(),
    }
}

/// A project name in PEP 503 normal form (runs of `-`, `_`, `.` as one `-`, lower case).
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn push_upload_signals(
    signals: &mut Vec<Signal>,
    w: &Weights,
    uploads: u64,
    empty: u64,
    bait: u64,
) {
    if uploads < 3 {
        return;
    }
    #[allow(clippy::cast_precision_loss)]
    let share = |n: u64| n as f64 / uploads as f64;
    if empty > 0 {
        signals.push(Signal {
            name: "empty-artifacts",
            strength: w.empty * share(empty),
            evidence: json!({ "empty": empty, "uploads": uploads }),
        });
    }
    if bait > 0 {
        signals.push(Signal {
            name: "bait-names",
            strength: w.bait * share(bait),
            evidence: json!({ "bait": bait, "uploads": uploads }),
        });
    }
}

fn add_project(c: &mut Campaign, project: &str, time: i64) {
    c.days.entry(time.div_euclid(DAY)).or_default().1 += 1;
    if c.project_set.insert(project.to_owned()) {
        c.projects.push(project.to_owned());
    }
}

/// An artifact's fingerprint, and whether it is specific. Non-trivial code (not empty, at least
/// `specific_min_code_lines` substantive lines) is fingerprinted by its code digest when the log
/// has one, else by its layout counts: identical code under other names and summaries is the
/// same fingerprint. Anything else — an empty package, a bare `__init__.py`, a template's
/// skeleton — is fingerprinted by its layout counts and its summary with the project's name and
/// digits taken out (a campaign's summaries are one template), and is not specific: strangers
/// produce such shapes too.
fn fingerprint(
    a: &Artifact<'_>,
    summary: Option<&str>,
    project: &str,
    specific_min_code_lines: u64,
) -> (u64, bool) {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    let specific = !a.empty && a.code_lines >= specific_min_code_lines;
    if specific {
        match a.code_digest.as_deref() {
            Some(digest) => (1u8, digest).hash(&mut h),
            None => (2u8, a.files, a.python_files, a.code_lines).hash(&mut h),
        }
        return (h.finish(), true);
    }
    (a.files, a.python_files, a.code_lines, a.empty).hash(&mut h);
    if let Some(s) = summary {
        let lower = s.to_ascii_lowercase();
        let name = project.to_ascii_lowercase();
        let template = if name.is_empty() {
            lower
        } else {
            lower.replace(&name, "{}")
        };
        let mut previous_digit = false;
        for c in template.chars() {
            let digit = c.is_ascii_digit();
            if !(digit && previous_digit) {
                (if digit { '0' } else { c }).hash(&mut h);
            }
            previous_digit = digit;
        }
    }
    (h.finish(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noisy_or_combines_independent_signals() {
        assert!((noisy_or(&[0.3, 0.45]) - 0.615).abs() < 1e-9);
        assert!(noisy_or(&[]).abs() < 1e-12);
        assert!((noisy_or(&[2.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fingerprints_ignore_the_name_and_digits_in_summaries() {
        let a = Artifact {
            files: 3,
            empty: true,
            ..Artifact::default()
        };
        let fp = |a: &Artifact<'_>, summary: &str, project: &str| {
            fingerprint(a, Some(summary), project, 20)
        };
        assert_eq!(
            fp(&a, "The foo-bar package 1", "foo-bar"),
            fp(&a, "The baz package 22", "baz")
        );
        assert!(!fp(&a, "x", "p").1, "an empty package is not specific");
        let four = Artifact {
            files: 4,
            ..a.clone()
        };
        assert_ne!(fp(&a, "x", "p"), fp(&four, "x", "p"));
    }

    #[test]
    fn only_non_trivial_code_is_a_specific_fingerprint() {
        let skeleton = Artifact {
            files: 12,
            python_files: 3,
            code_lines: 4,
            code_digest: Some("aa".into()),
            ..Artifact::default()
        };
        let payload = Artifact {
            files: 5,
            python_files: 2,
            code_lines: 84,
            code_digest: Some("bb".into()),
            ..Artifact::default()
        };
        assert!(!fingerprint(&skeleton, None, "p", 20).1);
        let (a, specific) = fingerprint(&payload, Some("Fast JSON"), "p", 20);
        assert!(specific);
        // The same code under another name and summary is the same fingerprint…
        assert_eq!(
            (a, true),
            fingerprint(&payload, Some("HTTP for humans"), "q", 20)
        );
        // …and other code with the same counts is not.
        let other = Artifact {
            code_digest: Some("cc".into()),
            ..payload.clone()
        };
        assert_ne!(a, fingerprint(&other, None, "p", 20).0);
    }

    #[test]
    fn a_share_is_only_as_high_as_its_numbers_allow() {
        // All of eight or nine is credibly "nearly all"; eight of ten is not yet.
        assert!(wilson_lower(8, 8) > 0.7);
        assert!(wilson_lower(9, 9) > 0.7);
        assert!(wilson_lower(8, 10) < 0.6);
        assert!(wilson_lower(45, 46) > 0.85);
        assert!(wilson_lower(0, 0).abs() < 1e-12);
    }

    #[test]
    fn address_ranges_are_a_24_or_a_48() {
        let a = address_range("198.51.100.7");
        assert_eq!(a, address_range("198.51.100.250"));
        assert_ne!(a, address_range("198.51.101.7"));
        assert_eq!(format_range(a), "198.51.100.0/24");
        let b = address_range("2001:db8:1:2::5");
        assert_eq!(b, address_range("2001:db8:1:ffff::1"));
        assert_eq!(format_range(b), "2001:db8:1::/48");
        assert_eq!(address_range("not an address"), 0);
    }

    #[test]
    fn a_script_numbers_names_at_their_end() {
        assert_eq!(name_number("reqeusts-17"), Some(17));
        assert_eq!(name_number("elor-lora-3"), Some(3));
        assert_eq!(name_number("boto3"), None);
        assert_eq!(name_number("-17"), None);
        assert_eq!(name_number("build-1234567"), None, "not a counter's size");
        assert_eq!(name_number("v-2a"), None);
    }

    #[test]
    fn the_free_mail_list_has_the_big_providers_and_no_organisations() {
        let config = Config {
            free_mail_domains: vec!["Inbox.Example".into()],
            ..Config::default()
        };
        let d = Detector::new(config, NameJudge::new(&[], 0.7));
        for p in [
            "gmail.com",
            "qq.com",
            "163.com",
            "inbox.ru",
            "proton.me",
            "inbox.example",
        ] {
            assert!(d.is_free_mail(p), "{p}");
        }
        for o in ["python.org", "acme-example.com", "ut.ee"] {
            assert!(!d.is_free_mail(o), "{o}");
        }
    }
}
