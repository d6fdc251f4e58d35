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
pub const SCENARIOS: [&str; 3] = ["inbox-2025", "drip", "flood"];

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
    },
    Step {
        user: u32,
        kind: u8,
    },
    Upload {
        user: u32,
        project: String,
        empty: bool,
        scripts: Vec<String>,
        summary: String,
        files: u64,
        lines: u64,
    },
}

struct Gen<'a> {
    rng: Rng,
    seq: u64,
    heap: BinaryHeap<Reverse<Pending>>,
    names: Vec<String>,
    truth: Truth,
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
                PendingLine::Create { user, email } => {
                    json!({"time": time, "kind": "account.create",
                    "user": self.names[user as usize], "email": email})
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
                PendingLine::Upload {
                    user,
                    project,
                    empty,
                    scripts,
                    summary,
                    files,
                    lines,
                } => {
                    let filename = format!("{}-1.0.tar.gz", project.replace('-', "_"));
                    json!({"time": time, "kind": "file.upload", "user": self.names[user as usize],
                        "project": project, "version": "1.0", "filename": filename,
                        "size": 900 + files * 300 + lines * 40, "sha256": format!("{:064x}", self.seq),
                        "summary": summary,
                        "artifact": {"files": files, "python_files": files.saturating_sub(2),
                            "code_lines": lines, "empty": empty, "console_scripts": scripts,
                            "native_binaries": 0}})
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
        self.push(t, PendingLine::Create { user: u, email });
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
                        PendingLine::Upload {
                            user: u,
                            project,
                            empty: false,
                            scripts: vec![],
                            summary,
                            files,
                            lines,
                        },
                    );
                }
            }
        }
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
        let u = self.user(prefix);
        let name = self.names[u as usize].clone();
        self.push(
            t,
            PendingLine::Create {
                user: u,
                email: format!("{name}@{domain}"),
            },
        );
        let verify = t + MINUTE + self.rng.within(4 * MINUTE);
        let twofa = verify + MINUTE + self.rng.within(4 * MINUTE);
        let token = twofa + MINUTE + self.rng.within(4 * MINUTE);
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
        let scripts = if self.rng.chance(0.15) {
            vec![
                ["aws", "pip", "django-admin", "jupyter", "pytest", "black"]
                    [usize::try_from(self.rng.below(6)).unwrap_or(0)]
                .to_owned(),
            ]
        } else {
            vec![]
        };
        let summary = format!("A {project} package");
        self.truth.projects.push(project.clone());
        self.truth.scenarios[scenario]
            .projects
            .push(project.clone());
        self.push(
            at,
            PendingLine::Upload {
                user,
                project,
                empty: true,
                scripts,
                summary,
                files: 4,
                lines: 0,
            },
        );
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
        out,
    };
    let start = options.start_ms;
    let days = i64::from(options.days.max(1));
    let end = start + days * DAY;
    let per_day = options.accounts / u64::try_from(days).unwrap_or(1);

    // Established accounts (registered before the log starts) keep releasing real code.
    let established: Vec<u32> = (0..2000).map(|_| g.user("maint")).collect();

    // Legitimate bursts, spread over the period.
    let trap_day = |k: i64| start + (k * 7 % days.max(1)) * DAY;
    let students_at = trap_day(3) + 14 * HOUR;
    let company_at = trap_day(5) + 9 * HOUR;
    let monorepo_at = trap_day(6) + 11 * HOUR;

    // Attack scenarios.
    let popular = if options.popular.is_empty() {
        vec!["requests".to_owned()]
    } else {
        options.popular.clone()
    };
    for (si, scenario) in options.scenarios.iter().enumerate() {
        g.truth.scenarios.push(crate::simulate::ScenarioTruth {
            name: scenario.clone(),
            ..Default::default()
        });
        match scenario.as_str() {
            "inbox-2025" => {
                let day = |date: &str| parse_rfc3339(&format!("{date}T00:00:00Z")).unwrap_or(start);
                let mut members = Vec::new();
                for (date, hour, count, hours) in
                    [("2025-06-11", 8, 46, 3), ("2025-06-24", 13, 207, 4)]
                {
                    let t0 = day(date) + hour * HOUR;
                    for i in 0..count {
                        let t = t0 + i * hours * HOUR / count + g.rng.within(2 * MINUTE);
                        members.push(g.malicious(si, "", t, "inbox.ru"));
                    }
                }
                let mut n = 0usize;
                let mut uploads = vec![("2025-06-26", 9), ("2025-06-27", 295), ("2025-06-30", 740)];
                let rest = [
                    "2025-07-01",
                    "2025-07-02",
                    "2025-07-03",
                    "2025-07-04",
                    "2025-07-05",
                    "2025-07-06",
                    "2025-07-07",
                    "2025-07-08",
                ];
                for (k, d) in rest.iter().enumerate() {
                    uploads.push((d, if k < 1 { 61 } else { 60 }));
                }
                for (date, count) in uploads {
                    for _ in 0..count {
                        let user = members
                            [usize::try_from(g.rng.below(members.len() as u64)).unwrap_or(0)];
                        let at = day(date) + g.rng.within(DAY);
                        let project = format!("{}-{n}", g.bait_name(&popular, n));
                        g.malicious_upload(si, user, at, project);
                        n += 1;
                    }
                }
            }
            "drip" => {
                let mut k = 0;
                for i in 0..120i64 {
                    let t = start + 10 * DAY + i * 6 * HOUR + g.rng.within(HOUR);
                    let domain = PROVIDERS
                        [usize::try_from(g.rng.below(PROVIDERS.len() as u64)).unwrap_or(0)]
                    .0;
                    let user = g.malicious(si, "", t, domain);
                    for _ in 0..(3 + g.rng.below(3)) {
                        let at = t + DAY + g.rng.within(3 * DAY);
                        let project = format!("{}-{k}", g.bait_name(&popular, k));
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
                        g.bait_name(&popular, usize::try_from(k).unwrap_or(0))
                    );
                    g.malicious_upload(si, user, at, project);
                }
            }
            _ => {}
        }
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
        g.truth.scenarios[si].first_account = format_rfc3339(first);
    }

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
                PendingLine::Upload {
                    user,
                    project,
                    empty: false,
                    scripts: vec![],
                    summary,
                    files,
                    lines,
                },
            );
        }
        if (day_start..day_start + DAY).contains(&students_at) {
            // 60 students in an hour; a third upload the same homework (real code) later.
            for i in 0..60 {
                let t = students_at + i * MINUTE + g.rng.within(MINUTE);
                let u = g.user("stud");
                let email = format!("{}@uni-tartu-example.edu", g.names[u as usize]);
                g.push(t, PendingLine::Create { user: u, email });
                let verify = t + 2 * MINUTE + g.rng.within(20 * MINUTE);
                g.push(verify, PendingLine::Step { user: u, kind: 0 });
                if i % 3 == 0 {
                    let at = t + 2 * DAY + g.rng.within(3 * DAY);
                    let project = format!("hw3-{}", g.names[u as usize]);
                    g.push(
                        at,
                        PendingLine::Upload {
                            user: u,
                            project,
                            empty: false,
                            scripts: vec![],
                            summary: "Homework 3: linked lists".into(),
                            files: 6,
                            lines: 180,
                        },
                    );
                }
            }
        }
        if (day_start..day_start + DAY).contains(&company_at) {
            // A company onboards 40 staff in an hour; 2FA and tokens come over the following days.
            for i in 0..40 {
                let t = company_at + i * 90_000;
                let u = g.user("staff");
                let email = format!("{}@acme-example.com", g.names[u as usize]);
                g.push(t, PendingLine::Create { user: u, email });
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
        if (day_start..day_start + DAY).contains(&monorepo_at) {
            // One established account releases 50 new packages of a mono-repo in a day.
            let user = established[0];
            for k in 0..50 {
                let at = monorepo_at + k * 4 * MINUTE;
                let project = format!("acme-monorepo-part-{k}");
                g.push(
                    at,
                    PendingLine::Upload {
                        user,
                        project,
                        empty: false,
                        scripts: vec![],
                        summary: "Part of the acme mono-repo".into(),
                        files: 12,
                        lines: 900,
                    },
                );
            }
        }
        g.flush_until(day_start + DAY);
    }
    g.flush_until(i64::MAX);
    debug_assert!(end > start);
    g.truth
}
