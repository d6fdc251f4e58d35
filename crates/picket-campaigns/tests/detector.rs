//! The detector on simulated logs: campaigns found whole, legitimate bursts left alone, state
//! bounded by recent activity rather than the length of the log.

use picket_campaigns::simulate::{Options, simulate};
use picket_campaigns::{Config, Detector, NameJudge, Stats, parse_line};

fn popular() -> Vec<(String, u32)> {
    picket_names::NameIndex::embedded().ranked()
}

fn run(options: &Options) -> (Detector, picket_campaigns::simulate::Truth, Stats) {
    let popular = popular();
    let mut detector = Detector::new(Config::default(), NameJudge::new(&popular, 0.7));
    let mut peak = Stats::default();
    let mut n = 0u64;
    let truth = simulate(options, &mut |line| {
        let (time, event) = parse_line(line.as_bytes()).unwrap().unwrap();
        detector.observe(time, &event);
        n += 1;
        if n.is_multiple_of(10_000) {
            let s = detector.stats();
            if s.young_accounts > peak.young_accounts {
                peak = s;
            }
        }
    });
    (detector, truth, peak)
}

#[test]
fn legitimate_cohorts_are_at_most_watched() {
    let mut options = Options::new(7);
    options.accounts = 30_000;
    let (mut detector, truth, _) = run(&options);
    assert!(truth.accounts.is_empty());
    let campaigns = detector.campaigns();
    assert!(
        campaigns.is_empty(),
        "students, onboardings, a hackathon, placeholders, a template, bots and mono-repos are not campaigns: {:#?}",
        campaigns
            .iter()
            .map(|c| (&c.id, &c.reasons, c.accounts.len()))
            .collect::<Vec<_>>()
    );
    // Issue 13: the IT-scripted company onboarding (burst + scripted set-up on its own domain)
    // is watched, with the reason it is not acted on; no actions are proposed for a watch.
    let watch = detector.watch();
    let it = truth
        .legitimate
        .iter()
        .find(|c| c.name == "it-onboarding")
        .unwrap();
    let onboarding = watch
        .iter()
        .find(|c| c.accounts.iter().any(|a| it.accounts.contains(a)))
        .expect("the onboarding is watched");
    assert!(onboarding.actions.is_empty());
    assert!(
        onboarding
            .reasons
            .iter()
            .any(|r| r.contains("organisation or unlisted domain")),
        "{:?}",
        onboarding.reasons
    );
    assert!(
        onboarding
            .reasons
            .iter()
            .any(|r| r.contains("no evidence of abuse")),
        "{:?}",
        onboarding.reasons
    );
}

/// The done-when bars of issue 13 on seeds never used while building the model (1–100 were);
/// the README's matrix runs ten more at full size
/// (`cargo run --release -p picket-campaigns --example campaign_matrix`).
#[test]
fn held_out_seeds_meet_the_bars() {
    let popular = popular();
    for seed in [4242, 4243] {
        let mut options = Options::new(seed);
        options.accounts = 20_000;
        options.scenarios = picket_campaigns::simulate::SCENARIOS
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        options.popular = popular
            .iter()
            .filter(|(_, r)| *r <= 2000)
            .map(|(n, _)| n.clone())
            .collect();
        let (mut detector, truth, _) = run(&options);
        let score =
            picket_campaigns::evaluate::score(&truth, &detector.campaigns(), &detector.watch());
        assert_eq!(score.legitimate_alerted, 0, "seed {seed}: {score:#?}");
        for a in &score.attacks {
            assert!(
                a.accounts_alerted * 100 >= a.accounts * 99
                    && a.projects_alerted * 100 >= a.projects * 99,
                "seed {seed}: {a:?}"
            );
            let bar = match a.name.as_str() {
                "inbox-2025" => Some(60),
                "drip" | "payload" => Some(24 * 60),
                _ => None,
            };
            if let Some(bar) = bar {
                assert!(
                    a.delay_minutes.is_some_and(|d| d <= bar),
                    "seed {seed}: {a:?}"
                );
            }
        }
    }
}

#[test]
fn each_scenario_is_found_whole_with_no_legitimate_account() {
    let mut options = Options::new(3);
    options.accounts = 30_000;
    options.scenarios = vec!["inbox-2025".into(), "drip".into(), "flood".into()];
    options.popular = popular().into_iter().take(2000).map(|(n, _)| n).collect();
    let (mut detector, truth, _) = run(&options);
    let campaigns = detector.campaigns();
    let found: std::collections::HashSet<&str> = campaigns
        .iter()
        .flat_map(|c| c.accounts.iter().map(String::as_str))
        .collect();
    let projects: std::collections::HashSet<&str> = campaigns
        .iter()
        .flat_map(|c| c.projects.iter().map(String::as_str))
        .collect();
    let bad: std::collections::HashSet<&str> = truth.accounts.iter().map(String::as_str).collect();
    assert!(
        found.is_subset(&bad),
        "legitimate accounts flagged: {:?}",
        found.difference(&bad).collect::<Vec<_>>()
    );
    for s in &truth.scenarios {
        let caught = s
            .accounts
            .iter()
            .filter(|a| found.contains(a.as_str()))
            .count();
        let caught_p = s
            .projects
            .iter()
            .filter(|p| projects.contains(p.as_str()))
            .count();
        assert!(
            caught * 100 >= s.accounts.len() * 99,
            "{}: {caught} of {} accounts",
            s.name,
            s.accounts.len()
        );
        assert!(
            caught_p * 100 >= s.projects.len() * 99,
            "{}: {caught_p} of {} projects",
            s.name,
            s.projects.len()
        );
    }
    let inbox = campaigns
        .iter()
        .find(|c| c.domains.iter().any(|d| d.domain == "inbox.ru"))
        .expect("the inbox-2025 campaign");
    let first = picket_campaigns::parse_rfc3339(&truth.scenarios[0].first_account).unwrap();
    let delay_min = (inbox.detected_ms() - first) / 60_000;
    assert!(
        delay_min <= 60,
        "detected {delay_min} minutes after the first account"
    );
    assert!(
        inbox
            .actions
            .iter()
            .any(|a| a.action == "prohibit-domain" && a.subject == "inbox.ru")
    );
    assert!(
        !inbox
            .actions
            .iter()
            .any(|a| a.action == "prohibit-domain" && a.subject == "gmail.com")
    );
    assert!(
        inbox
            .timeline
            .iter()
            .any(|d| d.day == "2025-06-30" && d.uploads >= 700)
    );
}

#[test]
fn state_follows_recent_activity_not_the_length_of_the_log() {
    let mut short = Options::new(5);
    short.accounts = 10_000;
    short.days = 20;
    let mut long = short.clone();
    long.accounts = 30_000;
    long.days = 60;
    let (_, _, a) = run(&short);
    let (_, _, b) = run(&long);
    // Same daily rate, three times the history: the followed accounts stay within the young window.
    assert!(a.young_accounts > 1000, "{a:?}");
    let ratio = b.young_accounts as f64 / a.young_accounts as f64;
    assert!(
        ratio < 1.3,
        "young accounts {} vs {}",
        b.young_accounts,
        a.young_accounts
    );
}

#[test]
fn hostile_lines_are_errors_not_panics() {
    let popular = popular();
    let mut detector = Detector::new(Config::default(), NameJudge::new(&popular, 0.7));
    let lines: Vec<Vec<u8>> = vec![
        br#"{"time":"2025-06-11T08:00:00Z","kind":"account.create","user":"a","email":"a@x.example"}"#.to_vec(),
        br#"{"time":"2025-06-11T08:00:00Z","kind":"account.cre"#.to_vec(),
        br#"{"time":"2025-06-11T08:00:00Z","kind":"file.upload","user":7,"project":"p"}"#.to_vec(),
        br#"{"time":"2025-06-11T08:00:00Z","kind":"file.upload","user":"a","artifact":{"empty":"yes"}}"#.to_vec(),
        br#"{"time":"9999-12-31T23:59:59Z","kind":"account.create","user":"b","email":"@"}"#.to_vec(),
        br#"{"time":"0001-01-01T00:00:00Z","kind":"account.create","user":"c","email":"c@x.example"}"#.to_vec(),
        b"\xff\xfe{}".to_vec(),
        vec![b'{'; 10 << 20],
        br#"{"time":"2025-06-11T08:00:00Z","kind":"file.upload","user":"a","project":"p","artifact":{"console_scripts":[1,2]}}"#.to_vec(),
    ];
    let mut errors = 0;
    for line in &lines {
        match parse_line(line) {
            Ok(Some((t, e))) => detector.observe(t, &e),
            Ok(None) => {}
            Err(_) => errors += 1,
        }
    }
    assert_eq!(errors, 6);
    assert!(detector.campaigns().is_empty());
}
