//! The graded response on small hand-made logs: what is watched, what is alerted, and why.

use picket_campaigns::{Config, Detector, Level, NameJudge, parse_line};

const T0: i64 = 1_750_000_000_000; // 2025-06-15, a Sunday
const MIN: i64 = 60_000;

/// A log under construction: events are fed to a detector in time order when it is read.
struct Log {
    detector: Detector,
    pending: Vec<(i64, String)>,
}

impl Log {
    fn new() -> Self {
        let popular = picket_names::NameIndex::embedded().ranked();
        let config = Config {
            warmup_hours: 0,
            ..Config::default()
        };
        Self {
            detector: Detector::new(config, NameJudge::new(&popular, 0.7)),
            pending: Vec::new(),
        }
    }

    fn event(&mut self, minute: i64, json: &str) {
        let time = picket_campaigns::format_rfc3339(T0 + minute * MIN);
        self.pending
            .push((minute, format!(r#"{{"time":"{time}",{json}}}"#)));
    }

    fn account(&mut self, minute: i64, user: &str, domain: &str, scripted: bool) {
        self.event(
            minute,
            &format!(r#""kind":"account.create","user":"{user}","email":"{user}@{domain}""#),
        );
        let steps = [
            "account.email.verify",
            "account.2fa.add",
            "account.token.create",
        ];
        for (k, kind) in (0i64..).zip(steps) {
            // By script: minutes apart; by hand: the next days.
            let at = if scripted {
                2 + 3 * k
            } else {
                2 + 1500 * (k + 1)
            };
            self.event(minute + at, &format!(r#""kind":"{kind}","user":"{user}""#));
        }
    }

    fn upload(&mut self, minute: i64, user: &str, project: &str, summary: &str, code_lines: u64) {
        let empty = code_lines == 0;
        self.event(
            minute,
            &format!(
                r#""kind":"file.upload","user":"{user}","project":"{project}","summary":"{summary}","artifact":{{"files":3,"python_files":1,"code_lines":{code_lines},"empty":{empty}}}"#
            ),
        );
    }

    /// (level, accounts, reasons) of every cohort, alerts first.
    fn cohorts(&mut self) -> Vec<(Level, usize, String)> {
        self.pending.sort_by_key(|(minute, _)| *minute);
        for (_, line) in self.pending.drain(..) {
            let (t, e) = parse_line(line.as_bytes()).unwrap().unwrap();
            self.detector.observe(t, &e);
        }
        let mut all = self.detector.campaigns();
        all.extend(self.detector.watch());
        all.iter()
            .map(|c| (c.level, c.accounts.len(), c.reasons.join(" | ")))
            .collect()
    }
}

fn burst(domain: &str, scripted: bool) -> Log {
    let mut log = Log::new();
    for i in 0..12 {
        log.account(i * 5, &format!("u{i}"), domain, scripted);
    }
    log.event(24 * 60 * 3, r#""kind":"account.login","user":"late""#);
    log
}

#[test]
fn a_scripted_burst_is_watched_on_an_organisations_domain_and_alerted_at_a_free_mail_provider() {
    let mut company = burst("northwind-example.com", true);
    let cohorts = company.cohorts();
    assert_eq!(cohorts.len(), 1, "{cohorts:?}");
    let (level, accounts, reasons) = &cohorts[0];
    assert_eq!(*level, Level::Watch);
    assert_eq!(*accounts, 12);
    assert!(
        reasons.contains("organisation or unlisted domain"),
        "{reasons}"
    );
    assert!(reasons.contains("no evidence of abuse"), "{reasons}");

    let mut provider = burst("inbox.ru", true);
    let cohorts = provider.cohorts();
    assert_eq!(cohorts[0].0, Level::Alert, "{cohorts:?}");
    assert!(
        cohorts[0]
            .2
            .contains("scripted mass sign-up at a free-mail provider")
    );

    // The same burst set up by hand (a class signing up together) is not even a campaign.
    let mut class = burst("inbox.ru", false);
    assert!(
        class.cohorts().iter().all(|c| c.0 == Level::Watch),
        "{:?}",
        class.cohorts()
    );
}

#[test]
fn a_workshop_walking_half_its_people_through_2fa_at_a_free_mail_provider_is_watched() {
    // Found by `simulate --accounts 12000`: the hackathon's sign-ups at 163.com, eight of the
    // first ten set up within minutes, once alerted as a scripted mass sign-up.
    let mut log = Log::new();
    for i in 0..14 {
        log.account(
            i * 4,
            &format!("h{i}"),
            "163.com",
            if i < 10 { i != 3 && i != 8 } else { i % 2 == 0 },
        );
    }
    log.event(24 * 60 * 3, r#""kind":"account.login","user":"late""#);
    let cohorts = log.cohorts();
    assert!(!cohorts.is_empty());
    assert!(cohorts.iter().all(|c| c.0 == Level::Watch), "{cohorts:?}");
}

/// Fifteen strangers at four providers, one a day, each uploading one empty placeholder.
fn strangers_with_placeholders() -> Log {
    let mut log = Log::new();
    let domains = ["gmail.com", "163.com", "qq.com", "tiny-shop.example"];
    for (i, domain) in (0i64..15).zip(domains.iter().cycle()) {
        let user = format!("p{i}");
        let at = i * 24 * 60; // one a day
        log.account(at, &user, domain, false);
        log.upload(
            at + 120,
            &user,
            &format!("kalo-mira-{}", i * 7),
            "Placeholder",
            0,
        );
    }
    log
}

#[test]
fn strangers_uploading_empty_placeholders_are_watched_never_alerted() {
    let mut log = strangers_with_placeholders();
    let cohorts = log.cohorts();
    assert!(
        !cohorts.is_empty(),
        "15 identical placeholders are worth a look"
    );
    assert!(cohorts.iter().all(|c| c.0 == Level::Watch), "{cohorts:?}");
    assert!(cohorts[0].2.contains("not by itself evidence of one actor"));
}

#[test]
fn an_account_squatting_popular_names_with_empty_packages_is_alerted_alone() {
    let mut log = Log::new();
    log.account(0, "sq", "gmail.com", false);
    log.upload(60, "sq", "reqeusts", "A package", 0);
    assert!(
        log.cohorts().is_empty(),
        "one bait name is the upload gate's business"
    );
    log.upload(90, "sq", "nunpy-17", "A package", 0);
    let cohorts = log.cohorts();
    assert_eq!(cohorts.len(), 1);
    assert_eq!(cohorts[0].0, Level::Alert);
    assert!(cohorts[0].2.contains("squatting names"), "{cohorts:?}");
}

/// Three accounts, each uploading empty packages whose names end in a number, from `numbers`.
fn numbered_uploads(domains: [&str; 3], numbers: [&[u32]; 3]) -> Log {
    let mut log = Log::new();
    let stems = ["zorvak-plimt", "quenby-drast", "wolmish-trev"];
    for (i, (domain, numbers)) in domains.iter().zip(numbers).enumerate() {
        let user = format!("n{i}");
        let at = i64::try_from(i).unwrap() * 6 * 60; // one every six hours, set up by hand
        log.account(at, &user, domain, false);
        for (k, n) in (0i64..).zip(numbers) {
            let project = format!("{}-{n}", stems[(i + usize::try_from(k).unwrap()) % 3]);
            log.upload(
                at + 600 + k * 30,
                &user,
                &project,
                &format!("A {project} package"),
                0,
            );
        }
    }
    log
}

fn never_alerted(log: &mut Log) {
    let cohorts = log.cohorts();
    assert!(cohorts.iter().all(|c| c.0 == Level::Watch), "{cohorts:?}");
}

#[test]
fn one_counter_numbering_the_names_of_several_free_mail_accounts_is_alerted() {
    // The drip: accounts across providers, their names numbered by one script's counter.
    let mut drip = numbered_uploads(["gmail.com", "qq.com", "163.com"], [&[3, 4], &[6], &[8]]);
    let cohorts = drip.cohorts();
    assert_eq!(cohorts.len(), 1, "{cohorts:?}");
    assert_eq!(cohorts[0].0, Level::Alert, "{cohorts:?}");
    assert_eq!(cohorts[0].1, 3);
    assert!(cohorts[0].2.contains("one running counter"), "{cohorts:?}");

    // The same counter at an organisation's own domain: its staff numbering its releases.
    let domain = "northwind-example.com";
    let mut org = numbered_uploads([domain; 3], [&[3, 4], &[6], &[8]]);
    never_alerted(&mut org);

    // Each account numbering its own (`lab-1`, `lab-2`): no single counter.
    let mut students = numbered_uploads(["gmail.com", "qq.com", "163.com"], [&[1, 2], &[1], &[2]]);
    never_alerted(&mut students);

    // A class numbering its members' skeletons by seat: real files, not reservations.
    let mut class = Log::new();
    for (i, domain) in (0i64..3).zip(["gmail.com", "qq.com", "163.com"]) {
        let user = format!("c{i}");
        class.account(i * 60, &user, domain, false);
        for k in 0..2 {
            let project = format!("bootcamp-seat-{}", 2 * i + k + 1);
            class.upload(
                i * 60 + 600 + k * 30,
                &user,
                &project,
                "Bootcamp skeleton",
                8,
            );
        }
    }
    never_alerted(&mut class);

    // Numbers far apart (`-2019`, `-7`, `-300`) are not a counter.
    let mut sparse = numbered_uploads(
        ["gmail.com", "qq.com", "163.com"],
        [&[7, 2019], &[300], &[40]],
    );
    never_alerted(&mut sparse);
}

#[test]
fn empty_packages_under_invented_popular_names_are_squatting() {
    // Slopsquatting: a popular name with generic words, uploaded empty, is bait.
    let mut log = Log::new();
    log.account(0, "sl", "gmail.com", false);
    log.upload(60, "sl", "numpy-helper-toolkit", "A package", 0);
    log.upload(90, "sl", "pandas-utils-3", "A package", 0);
    let cohorts = log.cohorts();
    assert_eq!(cohorts.len(), 1, "{cohorts:?}");
    assert_eq!(cohorts[0].0, Level::Alert);
    assert!(cohorts[0].2.contains("squatting names"), "{cohorts:?}");
}

#[test]
fn identical_code_is_watched_until_it_comes_under_bait_names() {
    let mut log = Log::new();
    // A workshop: twelve people upload the same 150-line starter project under their own names.
    let providers = ["gmail.com", "outlook.com", "qq.com", "yahoo.com"];
    for (i, domain) in (0i64..12).zip(providers.iter().cycle()) {
        let user = format!("w{i}");
        log.account(i * 3, &user, domain, false);
        log.upload(
            240 + i,
            &user,
            &format!("team-{i}-solver"),
            "Workshop starter",
            150,
        );
    }
    let cohorts = log.cohorts();
    assert_eq!(cohorts.len(), 1, "{cohorts:?}");
    assert_eq!(cohorts[0].0, Level::Watch);
    assert!(
        cohorts[0].2.contains("same non-trivial code"),
        "{cohorts:?}"
    );
    // The same code under names imitating popular projects, from new accounts: one actor
    // spreading a payload.
    let mut log = Log::new();
    for (i, name) in (0i64..).zip(["reqeusts", "nunpy", "pandsa", "flsak"]) {
        let user = format!("x{i}");
        log.account(i * 300, &user, "outlook.com", false);
        log.upload(i * 300 + 60, &user, name, "helpers", 64);
    }
    let cohorts = log.cohorts();
    assert!(
        cohorts.iter().any(|c| c.0 == Level::Alert && c.1 >= 3),
        "{cohorts:?}"
    );
}

impl Log {
    fn report(&mut self, minute: i64, reporter: &str, project: &str, trust: &str, domain: &str) {
        self.event(
            minute,
            &format!(
                r#""kind":"report.create","user":"{reporter}","project":"{project}","report_kind":"malware","reporter_trust":"{trust}","reporter_domain":"{domain}""#
            ),
        );
    }
}

/// A company's scripted onboarding: twelve staff on its own domain, each publishing real code.
fn onboarding_that_publishes() -> Log {
    let mut log = burst("northwind-example.com", true);
    for i in 0..12 {
        log.upload(
            120 + i,
            &format!("u{i}"),
            &format!("Northwind_Tool.{i}"),
            "Internal tool",
            40 + u64::try_from(i).unwrap(),
        );
    }
    log
}

#[test]
fn reports_across_a_watched_cohort_alert_it_when_independent_and_one_is_trusted() {
    // Without reports: watched, as before.
    let cohorts = onboarding_that_publishes().cohorts();
    assert!(cohorts.iter().all(|c| c.0 == Level::Watch), "{cohorts:?}");

    // Two projects of the cohort reported by two independent reporters, one trusted: the
    // reports are evidence of abuse, and the cohort is alerted with them as its reason.
    let mut log = onboarding_that_publishes();
    log.report(
        400,
        "researcher",
        "northwind-tool-3",
        "trusted",
        "lab.example",
    );
    log.report(
        420,
        "bystander",
        "northwind-tool-7",
        "normal",
        "mail.example",
    );
    let cohorts = log.cohorts();
    let alert = cohorts.iter().find(|c| c.0 == Level::Alert);
    let (_, accounts, reasons) = alert.unwrap_or_else(|| panic!("{cohorts:?}"));
    assert!(*accounts >= 12, "{cohorts:?}");
    assert!(
        reasons.contains("reports (malware) against projects of 2 of its accounts, from 2 independent reporters, one trusted"),
        "{reasons}"
    );
}

#[test]
fn reports_from_one_reporter_or_none_trusted_or_sock_puppets_only_watch() {
    // Each case: two reports (reporter, trust, domain) on two members' projects. None is
    // evidence enough: one voice is what an attacker can fake, and a trusted researcher can be
    // wrong.
    let cases = [
        // One reporter, even trusted, reporting several members.
        [
            ("researcher", "trusted", "lab.example"),
            ("researcher", "trusted", "lab.example"),
        ],
        // Two reporters, none trusted.
        [("a", "normal", "a.example"), ("b", "normal", "b.example")],
        // A trusted reporter and a second account of the same domain: not independent.
        [
            ("researcher", "trusted", "lab.example"),
            ("colleague", "normal", "lab.example"),
        ],
        // Blocked reporters count for nothing.
        [
            ("researcher", "trusted", "lab.example"),
            ("troll", "blocked", "troll.example"),
        ],
    ];
    for case in cases {
        let mut log = onboarding_that_publishes();
        for ((reporter, trust, domain), (minute, project)) in case
            .into_iter()
            .zip([(400, "northwind-tool-3"), (410, "northwind-tool-7")])
        {
            log.report(minute, reporter, project, trust, domain);
        }
        let cohorts = log.cohorts();
        assert!(
            cohorts.iter().all(|c| c.0 == Level::Watch),
            "{case:?}: {cohorts:?}"
        );
        assert!(
            case[1].1 == "blocked" || cohorts[0].2.contains("not yet enough to act on"),
            "{case:?}: {cohorts:?}"
        );
    }
}

#[test]
fn reported_placeholders_of_strangers_are_not_tied_together_by_the_reports() {
    let mut log = strangers_with_placeholders();
    log.report(
        15 * 24 * 60,
        "researcher",
        "kalo-mira-7",
        "trusted",
        "lab.example",
    );
    log.report(
        15 * 24 * 60 + 5,
        "other",
        "kalo-mira-14",
        "normal",
        "other.example",
    );
    let cohorts = log.cohorts();
    assert!(cohorts.iter().all(|c| c.0 == Level::Watch), "{cohorts:?}");
    assert!(
        cohorts.iter().any(|c| c.2.contains("don't tie strangers")),
        "{cohorts:?}"
    );
}

#[test]
fn reports_tie_accounts_that_share_non_trivial_code() {
    // Three accounts at three providers upload the same 64-line code under harmless names:
    // watched at most. Reports on two of them from independent reporters make it an alert.
    let mut log = Log::new();
    for (i, domain) in (0i64..3).zip(["gmail.com", "outlook.com", "qq.com"]) {
        let user = format!("c{i}");
        log.account(i * 300, &user, domain, false);
        log.upload(
            i * 300 + 60,
            &user,
            &format!("handy-widget-{i}"),
            "helpers",
            64,
        );
    }
    let quiet = log.cohorts();
    assert!(quiet.iter().all(|c| c.0 == Level::Watch), "{quiet:?}");
    log.report(
        2000,
        "researcher",
        "handy-widget-0",
        "trusted",
        "lab.example",
    );
    log.report(2010, "other", "handy-widget-2", "normal", "other.example");
    let cohorts = log.cohorts();
    assert!(
        cohorts.iter().any(|c| c.0 == Level::Alert && c.1 == 3),
        "{cohorts:?}"
    );
}
