//! The release to upgrade a vulnerable package to.
//!
//! [`upgrade`] answers "which release clears these vulnerabilities": the smallest candidate that
//! none of them affects. Candidates are the releases an index lists (when the caller has them:
//! they exist and are not yanked), else the fixed versions the package's advisories name.

use picket_formats::Version;

use crate::{Record, Vulnerability};

/// Where to upgrade one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The smallest candidate that clears every vulnerability that can be cleared — and, when one
    /// does, no other known advisory of the package affects; `None` when none can be cleared.
    pub to: Option<Version>,
    /// The vulnerabilities (their [`Vulnerability::id`]) no candidate clears: no fixed release yet
    /// (or, from an index, none that exists), or malware, which is removed, not upgraded.
    pub unfixed: Vec<String>,
}

/// The release to move `name` (normalized) from `current` to, clearing `vulnerabilities` (those
/// affecting `current`). `known` is every advisory naming the package, so the target can avoid
/// landing on another one; `releases` are the versions an index offers (not yanked), when known.
///
/// Pre-releases are candidates only when `current` is one (pip does not pick them otherwise);
/// offline, a fix named as a pre-release also offers its final release as a candidate.
pub fn upgrade(
    name: &str,
    current: &Version,
    vulnerabilities: &[Vulnerability<'_>],
    known: &[&Record],
    releases: Option<&[Version]>,
) -> Upgrade {
    if vulnerabilities.iter().any(|v| v.malicious) {
        return Upgrade {
            to: None,
            unfixed: vulnerabilities.iter().map(|v| v.id.clone()).collect(),
        };
    }
    let mut candidates: Vec<Version> = match releases {
        Some(releases) => releases.to_vec(),
        None => known
            .iter()
            .flat_map(|r| r.fixed_versions(name))
            .chain(vulnerabilities.iter().flat_map(|v| v.fixed.iter().cloned()))
            .flat_map(|v| {
                let fin = v.any_prerelease().then(|| v.only_release());
                std::iter::once(v).chain(fin)
            })
            .collect(),
    };
    let pre_allowed = current.any_prerelease();
    candidates.retain(|c| c > current && (pre_allowed || !c.any_prerelease()));
    candidates.sort();
    candidates.dedup();

    let (fixable, unfixed): (Vec<&Vulnerability<'_>>, Vec<&Vulnerability<'_>>) = vulnerabilities
        .iter()
        .partition(|v| candidates.iter().any(|c| !v.affects(name, c)));
    let clears = |c: &&Version| fixable.iter().all(|v| !v.affects(name, c));
    let to = if fixable.is_empty() {
        None
    } else {
        candidates
            .iter()
            .filter(clears)
            .find(|c| !known.iter().any(|r| r.affects(name, c)))
            .or_else(|| candidates.iter().find(clears))
            .cloned()
    };
    Upgrade {
        to,
        unfixed: unfixed.iter().map(|v| v.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group;

    fn record(id: &str, events: &str) -> Record {
        serde_json::from_str(&format!(
            r#"{{"id": "{id}", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "pkg"}},
                "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
        ))
        .unwrap()
    }

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    /// The target from `current` given `records` (all the package's advisories) and `releases`.
    fn check(
        records: &[Record],
        current: &str,
        releases: Option<&[&str]>,
        expected: (&str, &[&str]),
    ) {
        let current = v(current);
        let known: Vec<&Record> = records.iter().collect();
        let affecting: Vec<&Record> = known
            .iter()
            .copied()
            .filter(|r| r.affects("pkg", &current))
            .collect();
        let vulnerabilities = group(&affecting, "pkg");
        let releases: Option<Vec<Version>> = releases.map(|r| r.iter().map(|s| v(s)).collect());
        let got = upgrade(
            "pkg",
            &current,
            &vulnerabilities,
            &known,
            releases.as_deref(),
        );
        assert_eq!(
            (
                got.to.map(|t| t.to_string()).unwrap_or_default().as_str(),
                got.unfixed
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .as_slice()
            ),
            expected
        );
    }

    #[test]
    fn the_smallest_release_that_clears_everything() {
        let records = [
            record("A", r#"[{"introduced": "0"}, {"fixed": "3.7.4"}]"#),
            record("B", r#"[{"introduced": "0"}, {"fixed": "3.9.2"}]"#),
            record("C", r#"[{"introduced": "0"}, {"fixed": "3.8.0"}]"#),
        ];
        check(&records, "3.6.2", None, ("3.9.2", &[]));
        check(&records, "3.8.1", None, ("3.9.2", &[]));
        // From an index: the fix does not exist as such, the next release does.
        check(
            &records,
            "3.6.2",
            Some(&["3.6.2", "3.9.1", "3.9.3", "3.10.0"]),
            ("3.9.3", &[]),
        );
        // ... or no release clears B yet: the target clears what it can.
        check(
            &records,
            "3.6.2",
            Some(&["3.8.0", "3.9.0"]),
            ("3.8.0", &["B"]),
        );
    }

    #[test]
    fn a_target_avoids_advisories_that_do_not_affect_the_current_release() {
        let records = [
            record("A", r#"[{"introduced": "0"}, {"fixed": "2.0"}]"#),
            // Introduced in 2.0, fixed in 2.1: 2.0 would trade one advisory for another.
            record("B", r#"[{"introduced": "2.0"}, {"fixed": "2.1"}]"#),
        ];
        check(&records, "1.0", None, ("2.1", &[]));
        // When every later release carries an unfixed advisory, the listed ones are cleared.
        let records = [
            record("A", r#"[{"introduced": "0"}, {"fixed": "2.0"}]"#),
            record("B", r#"[{"introduced": "1.5"}]"#),
        ];
        check(&records, "1.0", None, ("2.0", &[]));
    }

    #[test]
    fn unfixed_vulnerabilities_and_pre_releases() {
        let records = [
            record("A", r#"[{"introduced": "0"}]"#),
            record("B", r#"[{"introduced": "0"}, {"fixed": "1.2"}]"#),
        ];
        check(&records, "1.0", None, ("1.2", &["A"]));
        let only_unfixed = [record("A", r#"[{"introduced": "0"}]"#)];
        check(&only_unfixed, "1.0", None, ("", &["A"]));
        // A fix named as a release candidate: its final release is offered, not the rc.
        let rc = [record(
            "A",
            r#"[{"introduced": "0"}, {"fixed": "2.0.0rc1"}]"#,
        )];
        check(&rc, "1.0", None, ("2.0.0", &[]));
        check(&rc, "2.0.0b1", None, ("2.0.0rc1", &[]));
        check(&rc, "1.0", Some(&["2.0.0rc1", "2.0.0rc2"]), ("", &["A"]));
    }

    #[test]
    fn malware_is_not_upgraded() {
        let records = [record("MAL-2024-1", r#"[{"introduced": "0"}]"#)];
        check(&records, "1.0", None, ("", &["MAL-2024-1"]));
    }
}
