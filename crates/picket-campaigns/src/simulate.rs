//! Realistic registry event logs for drills and benchmarks: a background of legitimate activity
//! (sign-ups across a mix of mail domains, uploads by established and new accounts, legitimate
//! bursts) plus attack scenarios, deterministic for a seed, with the ground truth on the side.
//!
//! Scenarios: `inbox-2025` (the published 2025 timeline: 46 accounts in 3 hours on 11 June, 207 in
//! 4 hours on 24 June, then 9 projects on 26 June, 295 on 27 June, 740 on 30 June, 1,525 in all by
//! 8 July, every account verified with 2FA and a token, every project empty), `drip` (a slow
//! campaign over many free-mail domains), `flood` (one new account uploading a hundred empty
//! projects in a day). The background always holds the legitimate bursts a detector must not flag:
//! 60 students of one university in an hour, a company onboarding 40 staff, and an established
//! account releasing 50 real packages in a day.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde_json::json;

use crate::event::{format_rfc3339, parse_rfc3339};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of the generator.
    pub seed: u64,
    /// First day (ms at 00:00 UTC).
    pub start_ms: i64,
    /// Days of activity.
    pub days: u32,
    /// Legitimate sign-ups over the whole period.
    pub accounts: u64,
    /// Attack scenarios.
    pub scenarios: Vec<String>,
    /// Popular names attackers imitate.
    pub popular: Vec<String>,
}

/// The scenarios `picket simulate` knows.
pub const SCENARIOS: [&str; 6] = [
    "inbox-2025",
    "drip",
    "flood",
    "sleeper",
    "rotating",
    "payload",
];

impl Options {
    /// The defaults: 60 days from 12 May 2025, 200,000 sign-ups.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            start_ms: parse_rfc3339("2025-05-12T00:00:00Z").unwrap_or(0),
            days: 60,
            accounts: 200_000,
            scenarios: Vec::new(),
            popular: Vec::new(),
        }
    }
}

/// Which accounts and projects were malicious.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Truth {
    /// Malicious accounts.
    pub accounts: Vec<String>,
    /// Their projects.
    pub projects: Vec<String>,
    /// Per scenario: its accounts, projects and the time of its first account.
    pub scenarios: Vec<ScenarioTruth>,
    /// The legitimate cohorts planted to look like campaigns (a detector must not alert on
    /// them; watching them is allowed).
    pub legitimate: Vec<CohortTruth>,
    /// Events written.
    pub events: u64,
}

/// One scenario's ground truth.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScenarioTruth {
    /// Its name.
    pub name: String,
    /// Accounts.
    pub accounts: Vec<String>,
    /// Projects.
    pub projects: Vec<String>,
    /// RFC 3339 time of its first account.
    pub first_account: String,
    /// RFC 3339 time of its first upload.
    pub first_upload: String,
    #[serde(skip)]
    first_upload_ms: Option<i64>,
}

/// A planted legitimate cohort.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CohortTruth {
    /// What it is (`it-onboarding`, `hackathon`, …).
    pub name: String,
    /// Its accounts.
    pub accounts: Vec<String>,
}

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    #[allow(clippy::cast_precision_loss)]
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn within(&mut self, ms: i64) -> i64 {
        i64::try_from(self.below(u64::try_from(ms.max(1)).unwrap_or(1))).unwrap_or(0)
    }
}

/// Big providers and their share of sign-ups; the rest goes to a long tail of small domains.
const PROVIDERS: [(&str, u64); 12] = [
    ("gmail.com", 450),
    ("outlook.com", 80),
    ("yahoo.com", 50),
    ("hotmail.com", 40),
    ("proton.me", 30),
    ("icloud.com", 30),
    ("qq.com", 30),
    ("163.com", 20),
    ("gmx.de", 15),
    ("yandex.ru", 15),
    ("mail.ru", 10),
    ("web.de", 10),
];

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ra", "te", "no", "vi", "sa", "du", "pe", "zo", "ri", "an", "el", "or", "ul",
    "be", "ta", "ko", "ne", "si", "ma", "jo", "ly",
];

fn word(rng: &mut Rng, parts: u64) -> String {
    (0..parts)
        .map(|_| SYLLABLES[usize::try_from(rng.below(SYLLABLES.len() as u64)).unwrap_or(0)])
        .collect()
}

/// How an attacker's account is set up.
#[derive(Debug, Clone, Copy)]
enum Setup {
    /// Verified, 2FA and a token within minutes.
    Scripted,
    /// The same with random pauses of up to 40 minutes between steps.
    Jittered,
    /// Over days, like a person.
    Slow,
}

/// FNV-1a, to turn a digest's description into a stable hex digest.
fn fx(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    time: i64,
    seq: u64,
    line: PendingLine,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PendingLine {
    Create {
        user: u32,
        email: String,
        ip: String,
    },
    Step {
        user: u32,
        kind: u8,
    },
    Upload(Upload),
}

/// One file upload and what the inspector would say of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Upload {
    user: u32,
    project: String,
    version: String,
    empty: bool,
    scripts: Vec<String>,
    summary: String,
    files: u64,
    python_files: u64,
    lines: u64,
    /// The code's digest; `None` for an empty artifact.
    digest: Option<String>,
}

impl Upload {
    /// Real code of its own: a digest no other upload shares.
    fn real(user: u32, project: String, summary: String, files: u64, lines: u64) -> Self {
        let digest = Some(format!("own:{project}:{files}:{lines}"));
        Self {
            user,
            project,
            version: "1.0".into(),
            empty: false,
            scripts: vec![],
            summary,
            files,
            python_files: files.saturating_sub(2).max(1),
            lines,
            digest,
        }
    }

    /// An empty package (no code at all).
    fn empty(user: u32, project: String, summary: String, files: u64) -> Self {
        Self {
            user,
            project,
            version: "1.0".into(),
            empty: true,
            scripts: vec![],
            summary,
            files,
            python_files: files.saturating_sub(2),
            lines: 0,
            digest: None,
        }
    }
}

struct Gen<'a> {
    rng: Rng,
    seq: u64,
    heap: BinaryHeap<Reverse<Pending>>,
    names: Vec<String>,
    truth: Truth,
    /// The /24 new accounts sign up from, when they share one.
    net: Option<[u8; 3]>,
    out: &'a mut dyn FnMut(&str),
}

impl Gen<'_> {
    fn user(&mut self, prefix: &str) -> u32 {
        let name = format!("{}{}{}", prefix, word(&mut self.rng, 2), self.names.len());
        self.names.push(name);
        u32::try_from(self.names.len() - 1).unwrap_or(u32::MAX)
    }

    fn push(&mut self, time: i64, line: PendingLine) {
        self.seq += 1;
        self.heap.push(Reverse(Pending {
            time,
            seq: self.seq,
            line,
        }));
    }

    fn flush_until(&mut self, until: i64) {
        while self.heap.peek().is_some_and(|Reverse(p)| p.time < until) {
            let Reverse(p) = self.heap.pop().expect("peeked");
            let time = format_rfc3339(p.time);
            let line = match p.line {
                PendingLine::Create { user, email, ip } => {
                    json!({"time": time, "kind": "account.create",
                    "user": self.names[user as usize], "ip": ip, "email": email})
                }
                PendingLine::Step { user, kind } => {
                    let user = &self.names[user as usize];
                    match kind {
                        0 => json!({"time": time, "kind": "account.email.verify", "user": user}),
                        1 => {
                            json!({"time": time, "kind": "account.2fa.add", "user": user, "method": "totp"})
                        }
                        2 => {
                            json!({"time": time, "kind": "account.token.create", "user": user, "scope": "user"})
                        }
                        _ => json!({"time": time, "kind": "account.login", "user": user}),
                    }
                }
                PendingLine::Upload(u) => {
                    let filename = format!("{}-{}.tar.gz", u.project.replace('-', "_"), u.version);
                    let mut artifact = json!({"files": u.files, "python_files": u.python_files,
                        "code_lines": u.lines, "empty": u.empty, "console_scripts": u.scripts,
                        "native_binaries": 0});
                    if let Some(d) = &u.digest {
                        artifact["code_digest"] = json!(format!("{:016x}", fx(d)));
                    }
                    json!({"time": time, "kind": "file.upload", "user": self.names[u.user as usize],
                        "project": u.project, "version": u.version, "filename": filename,
                        "size": 900 + u.files * 300 + u.lines * 40, "sha256": format!("{:064x}", p.seq),
                        "summary": u.summary, "artifact": artifact})
                }
            };
            (self.out)(&line.to_string());
            self.truth.events += 1;
        }
    }

    /// A legitimate sign-up at `t` from `domain`, with the usual (slow, partial) set-up and maybe
    /// a few real uploads later.
    fn legit_account(&mut self, t: i64, domain: &str, setup: f64) {
        let u = self.user("");
        let email = format!("{}@{domain}", self.names[u as usize]);
        let ip = self.address();
        self.push(t, PendingLine::Create { user: u, email, ip });
        if self.rng.chance(0.85) {
            let verify = t + MINUTE + self.rng.within(6 * HOUR);
            self.push(verify, PendingLine::Step { user: u, kind: 0 });
            if self.rng.chance(setup) {
                // 2FA and a token: mostly hours or days later; rarely within the half hour.
                let fast = self.rng.chance(0.08);
                let twofa = if fast {
                    verify + self.rng.within(10 * MINUTE)
                } else {
                    verify + HOUR + self.rng.within(5 * DAY)
                };
                self.push(twofa, PendingLine::Step { user: u, kind: 1 });
                if self.rng.chance(0.6) {
                    let token = if fast {
                        twofa + self.rng.within(10 * MINUTE)
                    } else {
                        twofa + self.rng.within(3 * DAY)
                    };
                    self.push(token, PendingLine::Step { user: u, kind: 2 });
                }
            }
            if self.rng.chance(0.12) {
                let projects = 1 + self.rng.below(3);
                for _ in 0..projects {
                    let at = t + HOUR + self.rng.within(20 * DAY);
                    let project = format!("{}-{}", word(&mut self.rng, 2), word(&mut self.rng, 2));
                    let lines = 40 + self.rng.below(2000);
                    let files = 4 + self.rng.below(40);
                    let summary =
                        format!("{} for {}", word(&mut self.rng, 3), word(&mut self.rng, 2));
                    self.push(
                        at,
                        PendingLine::Upload(Upload::real(u, project, summary, files, lines)),
                    );
                }
            }
        }
    }

    /// A legitimate account that sets up 2FA and a token within minutes, the way an IT
    /// department's script or a workshop's instructor does it.
    fn quick_setup(&mut self, u: u32, t: i64) {
        let verify = t + MINUTE + self.rng.within(5 * MINUTE);
        let twofa = verify + MINUTE + self.rng.within(6 * MINUTE);
        let token = twofa + MINUTE + self.rng.within(6 * MINUTE);
        for (kind, at) in [(0, verify), (1, twofa), (2, token)] {
            self.push(at, PendingLine::Step { user: u, kind });
        }
    }

    /// A new account at `t` with an address at `domain`; its id and name.
    fn create(&mut self, prefix: &str, t: i64, domain: &str) -> (u32, String) {
        let u = self.user(prefix);
        let name = self.names[u as usize].clone();
        let ip = self.address();
        self.push(
            t,
            PendingLine::Create {
                user: u,
                email: format!("{name}@{domain}"),
                ip,
            },
        );
        (u, name)
    }

    /// A planted legitimate account: created at `t` from `domain`, recorded in `cohort`.
    fn planted(&mut self, cohort: usize, prefix: &str, t: i64, domain: &str) -> u32 {
        let (u, name) = self.create(prefix, t, domain);
        self.truth.legitimate[cohort].accounts.push(name);
        u
    }

    /// An address in `self.net` when set (an office, a venue, a server range), else anywhere.
    fn address(&mut self) -> String {
        let [a, b, c] = self.net.unwrap_or_else(|| {
            let r = self.rng.next().to_le_bytes();
            [1 + r[0] % 222, r[1], r[2]]
        });
        format!("{a}.{b}.{c}.{}", 1 + self.rng.below(254))
    }

    /// A /24 of its own.
    fn network(&mut self) -> [u8; 3] {
        let r = self.rng.next().to_le_bytes();
        [1 + r[0] % 222, r[1], r[2]]
    }

    fn cohort(&mut self, name: &str) -> usize {
        self.truth.legitimate.push(CohortTruth {
            name: name.into(),
            accounts: Vec::new(),
        });
        self.truth.legitimate.len() - 1
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[usize::try_from(self.rng.below(from.len() as u64)).unwrap_or(0)]
    }

    fn legit_domain(&mut self) -> String {
        let r = self.rng.below(1000);
        let mut acc = 0;
        for (d, share) in PROVIDERS {
            acc += share;
            if r < acc {
                return d.to_owned();
            }
        }
        // Long tail: companies, universities, personal domains (and, rarely, the inbox.ru of the
        // 2025 campaign, a real provider with a trickle of ordinary sign-ups).
        if self.rng.chance(0.002) {
            return "inbox.ru".to_owned();
        }
        format!("{}.example", word(&mut self.rng, 3))
    }

    fn malicious(&mut self, scenario: usize, prefix: &str, t: i64, domain: &str) -> u32 {
        self.malicious_with(scenario, prefix, t, domain, Setup::Scripted)
    }

    fn malicious_with(
        &mut self,
        scenario: usize,
        prefix: &str,
        t: i64,
        domain: &str,
        setup: Setup,
    ) -> u32 {
        let (u, name) = self.create(prefix, t, domain);
        let step = match setup {
            Setup::Scripted => 4 * MINUTE,
            // Pauses between steps to look human: some accounts finish within half an hour,
            // most don't.
            Setup::Jittered => 40 * MINUTE,
            Setup::Slow => 2 * DAY,
        };
        let verify = t + MINUTE + self.rng.within(step);
        let twofa = verify + MINUTE + self.rng.within(step);
        let token = twofa + MINUTE + self.rng.within(step);
        for (kind, at) in [(0, verify), (1, twofa), (2, token)] {
            self.push(at, PendingLine::Step { user: u, kind });
        }
        self.truth.accounts.push(name.clone());
        self.truth.scenarios[scenario].accounts.push(name);
        u
    }

    fn bait_name(&mut self, popular: &[String], i: usize) -> String {
        let style = self.rng.below(3);
        let base = popular
            .get(usize::try_from(self.rng.below(popular.len().max(1) as u64)).unwrap_or(0))
            .cloned()
            .unwrap_or_else(|| "requests".into());
        let name = match style {
            // A typo of a popular name: swap two neighbouring letters.
            0 if base.len() > 5 => {
                let mut c: Vec<char> = base.chars().collect();
                let k = 1 + usize::try_from(self.rng.below(c.len() as u64 - 2)).unwrap_or(0);
                c.swap(k, k + 1);
                c.into_iter().collect()
            }
            // The name an assistant might invent.
            1 => format!(
                "{base}-{}",
                ["utils", "helper", "toolkit", "sdk", "client"]
                    [usize::try_from(self.rng.below(5)).unwrap_or(0)]
            ),
            _ => format!("{}-{}", word(&mut self.rng, 2), word(&mut self.rng, 2)),
        };
        let _ = i;
        name
    }

    fn malicious_upload(&mut self, scenario: usize, user: u32, at: i64, project: String) {
        let summary = format!("A {project} package");
        let upload = Upload::empty(user, project, summary, 4);
        self.malicious_file(scenario, at, upload);
    }

    /// Records a malicious upload in the truth (its project once) and schedules it.
    fn malicious_file(&mut self, scenario: usize, at: i64, mut upload: Upload) {
        let scripts = if self.rng.chance(0.15) {
            vec![
                ["aws", "pip", "django-admin", "jupyter", "pytest", "black"]
                    [usize::try_from(self.rng.below(6)).unwrap_or(0)]
                .to_owned(),
            ]
        } else {
            vec![]
        };
        upload.scripts = scripts;
        let first_upload = &mut self.truth.scenarios[scenario].first_upload_ms;
        *first_upload = Some(first_upload.map_or(at, |t: i64| t.min(at)));
        if !self.truth.scenarios[scenario]
            .projects
            .contains(&upload.project)
        {
            self.truth.projects.push(upload.project.clone());
            self.truth.scenarios[scenario]
                .projects
                .push(upload.project.clone());
        }
        self.push(at, PendingLine::Upload(upload));
    }
}

/// Generates the log, calling `out` with each line in time order; returns the ground truth.
#[allow(clippy::many_single_char_names, clippy::too_many_lines)]
pub fn simulate(options: &Options, out: &mut dyn FnMut(&str)) -> Truth {
    let mut g = Gen {
        rng: Rng(options.seed),
        seq: 0,
        heap: BinaryHeap::new(),
        names: Vec::new(),
        truth: Truth::default(),
        net: None,
        out,
    };
    let start = options.start_ms;
    let days = i64::from(options.days.max(1));
    let per_day = options.accounts / u64::try_from(days).unwrap_or(1);

    // Established accounts (registered before the log starts) keep releasing real code.
    let established: Vec<u32> = (0..2000).map(|_| g.user("maint")).collect();

    let popular = if options.popular.is_empty() {
        vec!["requests".to_owned()]
    } else {
        options.popular.clone()
    };
    // Legitimate cohorts that look like campaigns, at seed-dependent days.
    let mut day_of =
        |g: &mut Gen<'_>, k: i64| start + ((k * 7 + g.rng.below(5).cast_signed()) % days) * DAY;
    let students_at = day_of(&mut g, 3) + 14 * HOUR;
    let company_at = day_of(&mut g, 5) + 9 * HOUR;
    let monorepo_at = day_of(&mut g, 6) + 11 * HOUR;
    plant_legitimate(&mut g, start, days, &established, &mut day_of);

    for (si, scenario) in options.scenarios.iter().enumerate() {
        g.truth.scenarios.push(ScenarioTruth {
            name: scenario.clone(),
            ..Default::default()
        });
        plant_attack(&mut g, si, scenario, start, days, &popular);
        let first = g
            .heap
            .iter()
            .filter_map(|Reverse(p)| match &p.line {
                PendingLine::Create { user, .. }
                    if g.truth.scenarios[si]
                        .accounts
                        .contains(&g.names[*user as usize]) =>
                {
                    Some(p.time)
                }
                _ => None,
            })
            .min()
            .unwrap_or(start);
        let s = &mut g.truth.scenarios[si];
        s.first_account = format_rfc3339(first);
        s.first_upload = s.first_upload_ms.map(format_rfc3339).unwrap_or_default();
    }

    let students = g.cohort("students");
    let company = g.cohort("company-onboarding");
    let monorepo = g.cohort("monorepo");
    g.truth.legitimate[monorepo]
        .accounts
        .push(g.names[established[0] as usize].clone());
    for d in 0..days {
        let day_start = start + d * DAY;
        for _ in 0..per_day {
            // Sign-ups follow the day: more in working hours.
            let hour = loop {
                let h = g.rng.below(24);
                if g.rng.chance(if (8..20).contains(&h) { 1.0 } else { 0.45 }) {
                    break i64::try_from(h).unwrap_or(0);
                }
            };
            let t = day_start + hour * HOUR + g.rng.within(HOUR);
            let domain = g.legit_domain();
            g.legit_account(t, &domain, 0.35);
        }
        // Established maintainers: real releases every day.
        for _ in 0..1500 {
            let user =
                established[usize::try_from(g.rng.below(established.len() as u64)).unwrap_or(0)];
            let at = day_start + g.rng.within(DAY);
            let project = format!("lib-{}", g.rng.below(20_000));
            let summary = format!("{} {}", word(&mut g.rng, 3), word(&mut g.rng, 2));
            let (files, lines) = (5 + g.rng.below(200), 100 + g.rng.below(20_000));
            g.push(
                at,
                PendingLine::Upload(Upload::real(user, project, summary, files, lines)),
            );
        }
        if (day_start..day_start + DAY).contains(&students_at) {
            // 60 students of one university in an hour; a third upload their homework later.
            g.net = Some(g.network());
            for i in 0..60 {
                let t = students_at + i * MINUTE + g.rng.within(MINUTE);
                let u = g.planted(students, "stud", t, "uni-tartu-example.edu");
                let verify = t + 2 * MINUTE + g.rng.within(20 * MINUTE);
                g.push(verify, PendingLine::Step { user: u, kind: 0 });
                if i % 3 == 0 {
                    let at = t + 2 * DAY + g.rng.within(3 * DAY);
                    let project = format!("hw3-{}", g.names[u as usize]);
                    let upload =
                        Upload::real(u, project, "Homework 3: linked lists".into(), 6, 180);
                    g.push(at, PendingLine::Upload(upload));
                }
            }
        }
        if (day_start..day_start + DAY).contains(&company_at) {
            // A company onboards 40 staff in an hour; 2FA and tokens come over the following days.
            g.net = Some(g.network());
            for i in 0..40 {
                let t = company_at + i * 90_000;
                let u = g.planted(company, "staff", t, "acme-example.com");
                let v = t + 5 * MINUTE + g.rng.within(HOUR);
                g.push(v, PendingLine::Step { user: u, kind: 0 });
                if g.rng.chance(0.7) {
                    let f = v + HOUR + g.rng.within(3 * DAY);
                    g.push(f, PendingLine::Step { user: u, kind: 1 });
                    if g.rng.chance(0.4) {
                        let token = f + g.rng.within(DAY);
                        g.push(token, PendingLine::Step { user: u, kind: 2 });
                    }
                }
            }
        }
        g.net = None;
        if (day_start..day_start + DAY).contains(&monorepo_at) {
            // One established account releases 50 new packages of a mono-repo in a day.
            let user = established[0];
            for k in 0..50 {
                let at = monorepo_at + k * 4 * MINUTE;
                let project = format!("acme-monorepo-part-{k}");
                let upload =
                    Upload::real(user, project, "Part of the acme mono-repo".into(), 12, 900);
                g.push(at, PendingLine::Upload(upload));
            }
        }
        g.flush_until(day_start + DAY);
    }
    g.flush_until(i64::MAX);
    g.truth
}

/// The legitimate cohorts of issue 13: IT-scripted onboarding, a hackathon on big providers,
/// strangers reserving names with empty placeholders, strangers publishing one project
/// template, nightly-release bots, a young organisation's mono-repo release.
#[allow(clippy::too_many_lines, clippy::many_single_char_names)]
fn plant_legitimate(
    g: &mut Gen<'_>,
    start: i64,
    days: i64,
    established: &[u32],
    day_of: &mut dyn FnMut(&mut Gen<'_>, i64) -> i64,
) {
    let big = [
        "gmail.com",
        "outlook.com",
        "qq.com",
        "163.com",
        "yahoo.com",
        "hotmail.com",
    ];
    // IT-scripted onboarding: 30 staff of a company in two hours on its own domain, each with
    // 2FA and a token within minutes; nothing uploaded. A few colleagues signed up earlier.
    let it = g.cohort("it-onboarding");
    let corp = format!("{}-corp.com", word(&mut g.rng, 2));
    for _ in 0..3 {
        let t = start + g.rng.within(20 * DAY);
        let u = g.planted(it, "emp", t, &corp);
        g.quick_setup(u, t);
    }
    let at = day_of(g, 2) + 9 * HOUR;
    g.net = Some(g.network()); // the office
    for i in 0..30 {
        let t = at + i * 4 * MINUTE + g.rng.within(2 * MINUTE);
        let u = g.planted(it, "emp", t, &corp);
        g.quick_setup(u, t);
    }

    // A hackathon: 80 people in two hours on the big providers; the instructor walks half of
    // them through 2FA and a token; 30 teams upload the starter project (identical code).
    let hack = g.cohort("hackathon");
    let at = day_of(g, 4) + 10 * HOUR;
    let edition = word(&mut g.rng, 2);
    g.net = Some(g.network()); // the venue's network
    for i in 0..80 {
        let t = at + i * 90_000 + g.rng.within(MINUTE);
        let domain = g.pick(&big);
        let u = g.planted(hack, "hack", t, domain);
        if g.rng.chance(0.5) {
            g.quick_setup(u, t);
        } else {
            let at = t + g.rng.within(3 * HOUR);
            g.push(at, PendingLine::Step { user: u, kind: 0 });
        }
        if i < 30 {
            let upload_at = t + 3 * HOUR + g.rng.within(DAY);
            let project = format!("{edition}-team-{}", word(&mut g.rng, 2));
            let mut upload =
                Upload::real(u, project, format!("{edition} hackathon starter"), 9, 150);
            upload.digest = Some(format!("hackathon-starter-{edition}"));
            g.push(upload_at, PendingLine::Upload(upload));
        }
    }

    g.net = None;
    // Four groups of strangers reserving names with empty placeholders, over one to two weeks,
    // on the big providers and small company domains.
    let summaries = [
        "Placeholder",
        "Reserved",
        "",
        "Coming soon",
        "placeholder package",
    ];
    for k in 0..4 {
        let c = g.cohort(&format!("placeholders-{}", k + 1));
        let n = 9 + g.rng.below(11);
        let from = day_of(g, 7 + k);
        let span = 7 * DAY + g.rng.within(7 * DAY);
        let summary = g.pick(&summaries);
        for _ in 0..n {
            let t = from + g.rng.within(span);
            let domain = if g.rng.chance(0.7) {
                g.pick(&["gmail.com", "163.com", "qq.com", "outlook.com"])
                    .to_owned()
            } else {
                format!("{}.example", word(&mut g.rng, 3))
            };
            let u = g.planted(c, "", t, &domain);
            let at = t + HOUR + g.rng.within(DAY);
            g.push(at, PendingLine::Step { user: u, kind: 0 });
            let project = format!("{}-{}", word(&mut g.rng, 2), word(&mut g.rng, 2));
            let upload = Upload::empty(u, project, summary.into(), 3);
            let at = t + 2 * HOUR + g.rng.within(2 * DAY);
            g.push(at, PendingLine::Upload(upload));
        }
    }

    // Strangers publishing from one project template, unchanged: the same files and skeleton
    // code, the template's default summary.
    let c = g.cohort("cookiecutter");
    let from = day_of(g, 9);
    for _ in 0..20 {
        let t = from + g.rng.within(21 * DAY);
        let domain = g.pick(&big);
        let u = g.planted(c, "", t, domain);
        g.push(t + HOUR, PendingLine::Step { user: u, kind: 0 });
        let project = format!("{}-{}", word(&mut g.rng, 2), word(&mut g.rng, 3));
        let mut upload = Upload::real(
            u,
            project,
            "Python Boilerplate contains all the boilerplate you need to create a Python package."
                .into(),
            11,
            6,
        );
        upload.python_files = 4;
        upload.digest = Some("cookiecutter-pypackage".into());
        let at = t + 3 * HOUR + g.rng.within(5 * DAY);
        g.push(at, PendingLine::Upload(upload));
    }

    // Release bots: three accounts set up by script, each publishing two projects every night.
    let c = g.cohort("nightly-bots");
    g.net = Some(g.network()); // the CI runners
    for b in 0..3 {
        let t = start + (1 + b) * DAY + 10 * HOUR;
        let u = g.planted(c, "ci-bot", t, "gmail.com");
        g.quick_setup(u, t);
        let projects = [word(&mut g.rng, 3), word(&mut g.rng, 3)];
        for d in (2 + b)..days {
            for p in &projects {
                let at = start + d * DAY + 2 * HOUR + g.rng.within(HOUR);
                let mut upload = Upload::real(
                    u,
                    format!("{p}-nightly"),
                    format!("{p} nightly build"),
                    30,
                    2400,
                );
                upload.version = format!("1.0.dev{d}");
                upload.digest = Some(format!("{p}-{d}"));
                g.push(at, PendingLine::Upload(upload));
            }
        }
    }

    // A young organisation account releases the 30 packages of its mono-repo within an hour.
    g.net = None;
    let c = g.cohort("young-monorepo");
    let t = day_of(g, 8) + 8 * HOUR;
    let org = word(&mut g.rng, 2);
    let u = g.planted(c, "org", t, &format!("{org}-labs.io"));
    g.quick_setup(u, t);
    for k in 0..30 {
        let at = t + 2 * HOUR + k * 2 * MINUTE;
        let lines = 200 + g.rng.below(3000);
        let upload = Upload::real(
            u,
            format!("{org}-{}", word(&mut g.rng, 2)),
            format!("Part of the {org} toolkit"),
            14,
            lines,
        );
        g.push(at, PendingLine::Upload(upload));
    }
    let _ = established;
}

/// One attack scenario, its accounts and uploads scheduled and recorded in the truth.
#[allow(clippy::too_many_lines)]
fn plant_attack(
    g: &mut Gen<'_>,
    si: usize,
    scenario: &str,
    start: i64,
    days: i64,
    popular: &[String],
) {
    let providers: Vec<&str> = PROVIDERS.iter().map(|(d, _)| *d).collect();
    match scenario {
        "inbox-2025" => {
            let day = |date: &str| parse_rfc3339(&format!("{date}T00:00:00Z")).unwrap_or(start);
            let mut members = Vec::new();
            let servers = [g.network(), g.network(), g.network()];
            for (date, hour, count, hours) in [("2025-06-11", 8, 46, 3), ("2025-06-24", 13, 207, 4)]
            {
                let t0 = day(date) + hour * HOUR;
                for i in 0..count {
                    let t = t0 + i * hours * HOUR / count + g.rng.within(2 * MINUTE);
                    g.net = Some(servers[usize::try_from(g.rng.below(3)).unwrap_or(0)]);
                    members.push(g.malicious(si, "", t, "inbox.ru"));
                    g.net = None;
                }
            }
            let mut n = 0usize;
            let mut uploads = vec![("2025-06-26", 9), ("2025-06-27", 295), ("2025-06-30", 740)];
            for (k, d) in [
                "2025-07-01",
                "2025-07-02",
                "2025-07-03",
                "2025-07-04",
                "2025-07-05",
                "2025-07-06",
                "2025-07-07",
                "2025-07-08",
            ]
            .iter()
            .enumerate()
            {
                uploads.push((d, if k < 1 { 61 } else { 60 }));
            }
            for (date, count) in uploads {
                for _ in 0..count {
                    let user =
                        members[usize::try_from(g.rng.below(members.len() as u64)).unwrap_or(0)];
                    let at = day(date) + g.rng.within(DAY);
                    let project = format!("{}-{n}", g.bait_name(popular, n));
                    g.malicious_upload(si, user, at, project);
                    n += 1;
                }
            }
        }
        "drip" => {
            // Slow: an account every six hours for a month, across the big providers.
            let mut k = 0;
            for i in 0..120i64 {
                let t = start + 10 * DAY + i * 6 * HOUR + g.rng.within(HOUR);
                let domain =
                    providers[usize::try_from(g.rng.below(providers.len() as u64)).unwrap_or(0)];
                let user = g.malicious(si, "", t, domain);
                for _ in 0..(3 + g.rng.below(3)) {
                    let at = t + DAY + g.rng.within(3 * DAY);
                    let project = format!("{}-{k}", g.bait_name(popular, k));
                    g.malicious_upload(si, user, at, project);
                    k += 1;
                }
            }
        }
        "flood" => {
            let t = start + 40 * DAY + 10 * HOUR;
            let user = g.malicious(si, "", t, "gmail.com");
            for k in 0..100 {
                let at = t + 2 * HOUR + k * 5 * MINUTE;
                let project = format!(
                    "{}-{k}",
                    g.bait_name(popular, usize::try_from(k).unwrap_or(0))
                );
                g.malicious_upload(si, user, at, project);
            }
        }
        "sleeper" => {
            // Aged accounts: opened in the first days, set up like a person, silent for six
            // weeks, then all waking within ten hours with empty bait packages.
            let wake = start + (days * 3 / 4).max(1) * DAY + 9 * HOUR;
            let summary = word(&mut g.rng, 3);
            let mut k = 0;
            for _ in 0..30 {
                let t = start + g.rng.within(5 * DAY);
                let domain =
                    providers[usize::try_from(g.rng.below(providers.len() as u64)).unwrap_or(0)];
                let user = g.malicious_with(si, "", t, domain, Setup::Slow);
                for _ in 0..(2 + g.rng.below(3)) {
                    let at = wake + g.rng.within(10 * HOUR);
                    let project = g.bait_name(popular, k);
                    let upload = Upload::empty(user, project, format!("{summary} {k}"), 5);
                    g.malicious_file(si, at, upload);
                    k += 1;
                }
            }
        }
        "rotating" => {
            // Rotating domains: two or three accounts per freshly registered domain, set up
            // with pauses, each uploading a few empty bait packages within days.
            let from = start + days / 3 * DAY;
            let mut k = 0;
            let mut domain = String::new();
            for i in 0..60 {
                if i % (2 + usize::try_from(g.rng.below(2)).unwrap_or(0)) == 0 || domain.is_empty()
                {
                    domain = format!("{}{}.net", word(&mut g.rng, 2), word(&mut g.rng, 2));
                }
                let t = from + g.rng.within(10 * DAY);
                let user = g.malicious_with(si, "", t, &domain, Setup::Jittered);
                for _ in 0..(2 + g.rng.below(3)) {
                    let at = t + 2 * HOUR + g.rng.within(3 * DAY);
                    let project = g.bait_name(popular, k);
                    let upload =
                        Upload::empty(user, project.clone(), format!("The {project} library"), 3);
                    g.malicious_file(si, at, upload);
                    k += 1;
                }
            }
        }
        "payload" => {
            // One non-empty payload (an install hook that phones home) under bait names, from
            // accounts across the big providers over three days, with jittered set-up.
            let from = start + days / 2 * DAY;
            let digest = format!("payload-{}", word(&mut g.rng, 3));
            let mut k = 0;
            for _ in 0..25 {
                let t = from + g.rng.within(3 * DAY);
                let domain =
                    providers[usize::try_from(g.rng.below(providers.len() as u64)).unwrap_or(0)];
                let user = g.malicious_with(si, "", t, domain, Setup::Jittered);
                for _ in 0..=g.rng.below(3) {
                    let at = t + HOUR + g.rng.within(DAY);
                    let project = g.bait_name(popular, k);
                    let mut upload =
                        Upload::real(user, project.clone(), format!("{project} helpers"), 6, 64);
                    upload.python_files = 3;
                    upload.digest = Some(digest.clone());
                    g.malicious_file(si, at, upload);
                    k += 1;
                }
            }
        }
        _ => {}
    }
}
