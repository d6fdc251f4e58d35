//! The campaign detector's evaluation matrix over simulated logs: for each seed, every attack
//! scenario and every planted legitimate cohort in one 60-day log, run through the detector
//! with the default thresholds; then per attack its recall (accounts, projects) and detection
//! delay, per legitimate cohort its accounts in alerts and on watch, as a Markdown table.
//!
//! ```sh
//! cargo run --release -p picket-campaigns --example campaign_matrix -- 1001 1010
//! ```
//!
//! Arguments: first and last seed (inclusive), optionally the legitimate sign-ups per log
//! (200,000 by default). Seeds 1–100 were used while building the model; report on others.

use picket_campaigns::evaluate::{Score, score};
use picket_campaigns::simulate::{Options, SCENARIOS, simulate};
use picket_campaigns::{Config, Detector, NameJudge, parse_line};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("seeds and sign-ups are numbers"))
        .collect();
    let (first, last) = (
        args.first().copied().unwrap_or(1001),
        args.get(1).copied().unwrap_or(1010),
    );
    let accounts = args.get(2).copied().unwrap_or(200_000);
    let ranked = picket_names::NameIndex::embedded().ranked();
    let popular: Vec<String> = ranked
        .iter()
        .filter(|(_, r)| *r <= 2000)
        .map(|(n, _)| n.clone())
        .collect();
    let mut scores = Vec::new();
    for seed in first..=last {
        let mut options = Options::new(seed);
        options.accounts = accounts;
        options.scenarios = SCENARIOS.iter().map(|s| (*s).to_owned()).collect();
        options.popular.clone_from(&popular);
        let mut detector = Detector::new(Config::default(), NameJudge::new(&ranked, 0.7));
        let truth = simulate(&options, &mut |line| {
            if let Ok(Some((time, event))) = parse_line(line.as_bytes()) {
                detector.observe(time, &event);
            }
        });
        let s = score(&truth, &detector.campaigns(), &detector.watch());
        eprintln!(
            "seed {seed}: {}; legitimate accounts alerted {}, watched {}",
            s.attacks
                .iter()
                .map(|a| format!(
                    "{} {}/{} acc {}/{} proj {}",
                    a.name,
                    a.accounts_alerted,
                    a.accounts,
                    a.projects_alerted,
                    a.projects,
                    a.delay_minutes
                        .map_or_else(|| "never".to_owned(), |m| format!("{m} min"))
                ))
                .collect::<Vec<_>>()
                .join(", "),
            s.legitimate_alerted,
            s.legitimate_watched
        );
        scores.push(s);
    }
    print!("{}", table(first, last, accounts, &scores));
}

fn table(first: u64, last: u64, accounts: u64, scores: &[Score]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Seeds {first}–{last} ({} logs of 60 days, {accounts} legitimate sign-ups each, every scenario in each)\n",
        scores.len()
    );
    let _ = writeln!(
        out,
        "| attack | accounts alerted (all seeds) | worst seed | projects alerted (all seeds) | worst seed | delay from | delay median | delay worst |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    let Some(first_score) = scores.first() else {
        return out;
    };
    for (i, attack) in first_score.attacks.iter().enumerate() {
        let rows: Vec<_> = scores.iter().map(|s| &s.attacks[i]).collect();
        let (acc, acc_all, proj, proj_all) = rows.iter().fold((0, 0, 0, 0), |t, r| {
            (
                t.0 + r.accounts_alerted,
                t.1 + r.accounts,
                t.2 + r.projects_alerted,
                t.3 + r.projects,
            )
        });
        let worst = |f: &dyn Fn(&&picket_campaigns::evaluate::AttackScore) -> f64| {
            rows.iter().map(f).fold(f64::INFINITY, f64::min) * 100.0
        };
        #[allow(clippy::cast_precision_loss)]
        let worst_acc = worst(&|r| r.accounts_alerted as f64 / r.accounts.max(1) as f64);
        #[allow(clippy::cast_precision_loss)]
        let worst_proj = worst(&|r| r.projects_alerted as f64 / r.projects.max(1) as f64);
        let mut delays: Vec<Option<i64>> = rows.iter().map(|r| r.delay_minutes).collect();
        delays.sort_by_key(|d| d.unwrap_or(i64::MAX));
        let show = |d: Option<i64>| d.map_or_else(|| "never".to_owned(), minutes);
        let _ = writeln!(
            out,
            "| {} | {acc}/{acc_all} ({:.1}%) | {worst_acc:.1}% | {proj}/{proj_all} ({:.1}%) | {worst_proj:.1}% | {} | {} | {} |",
            attack.name,
            pct(acc, acc_all),
            pct(proj, proj_all),
            attack.delay_from,
            show(delays[delays.len() / 2]),
            show(delays[delays.len() - 1]),
        );
    }
    let _ = writeln!(
        out,
        "\n| legitimate cohort | accounts (all seeds) | in alerts | on watch |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- |");
    for (i, cohort) in first_score.legitimate.iter().enumerate() {
        let (n, a, w) = scores
            .iter()
            .map(|s| &s.legitimate[i])
            .fold((0, 0, 0), |t, c| {
                (t.0 + c.accounts, t.1 + c.alerted, t.2 + c.watched)
            });
        let _ = writeln!(out, "| {} | {n} | {a} | {w} |", cohort.name);
    }
    let alerted: usize = scores.iter().map(|s| s.legitimate_alerted).sum();
    let watched: usize = scores.iter().map(|s| s.legitimate_watched).sum();
    let _ = writeln!(
        out,
        "| every legitimate account (background included) | | **{alerted}** | {watched} |"
    );
    out
}

fn minutes(m: i64) -> String {
    if m < 120 {
        format!("{m} min")
    } else {
        #[allow(clippy::cast_precision_loss)]
        let hours = m as f64 / 60.0;
        format!("{hours:.1} h")
    }
}

#[allow(clippy::cast_precision_loss)]
fn pct(n: usize, of: usize) -> f64 {
    n as f64 * 100.0 / of.max(1) as f64
}
