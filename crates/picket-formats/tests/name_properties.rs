//! Property tests: normalization and the skeleton agree with the PEP regexes and are idempotent.

use picket_formats::{ProjectName, normalize, skeleton};
use proptest::prelude::*;
use regex::Regex;

/// Names drawn from the characters that matter: letters (including the confusable ones), digits
/// and the three separators.
fn name_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9._-]{1,40}").unwrap()
}

proptest! {
    #[test]
    fn normalize_matches_the_pep_503_regex(name in name_like()) {
        // PEP 503: re.sub(r"[-_.]+", "-", name).lower()
        let pep503 = Regex::new(r"[-_.]+").unwrap().replace_all(&name, "-").to_lowercase();
        prop_assert_eq!(normalize(&name), pep503);
    }

    #[test]
    fn normalize_is_idempotent(name in name_like()) {
        let once = normalize(&name);
        prop_assert_eq!(normalize(&once), once);
    }

    #[test]
    fn skeleton_is_idempotent_and_ignores_normalization(name in name_like()) {
        let s = skeleton(&name);
        prop_assert_eq!(skeleton(&s), s.clone());
        prop_assert_eq!(skeleton(&normalize(&name)), s.clone());
        prop_assert!(!s.contains(['-', '_', '.', 'l', 'i', 'o']));
        prop_assert!(!s.chars().any(|c| c.is_ascii_uppercase()));
    }

    #[test]
    fn validity_matches_the_pep_508_grammar(name in name_like()) {
        let grammar = Regex::new(r"(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$").unwrap();
        prop_assert_eq!(ProjectName::new(&name).is_ok(), grammar.is_match(&name));
    }

    #[test]
    fn any_string_is_handled_without_panicking(name in ".{0,200}") {
        let _ = ProjectName::new(&name);
        let _ = normalize(&name);
        let _ = skeleton(&name);
    }
}
