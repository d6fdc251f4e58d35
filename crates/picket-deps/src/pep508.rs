//! Turning a PEP 508 requirement string into a [`Dependency`].

use std::str::FromStr;

use picket_formats::pep440_rs::Operator;
use picket_formats::pep508_rs::{Requirement, VersionOrUrl};
use picket_formats::{ProjectName, VerbatimUrl};

use crate::{Dependency, Location};

/// Parses `text` as a PEP 508 requirement. The error is a message fit to follow `file:line: `.
pub(crate) fn parse(text: &str, source: Location) -> Result<Dependency, String> {
    if let Some(message) = panicking_input(text) {
        return Err(format!("`{text}` is not a valid requirement: {message}"));
    }
    // Last line of defence: a parser bug on hostile input must not take the process down.
    let parsed =
        std::panic::catch_unwind(|| Requirement::<VerbatimUrl>::from_str(text)).map_err(|_| {
            format!("`{text}` is not a valid requirement (the PEP 508 parser failed on it)")
        })?;
    let given = given_name(text);
    // The error's own `Display` slices its input at char offsets as if they were byte offsets and
    // panics on multi-byte input (third fuzz find); its message field is all we show anyway.
    let requirement =
        parsed.map_err(|e| format!("`{text}` is not a valid requirement: {}", e.message))?;
    let name = ProjectName::new(given)
        .or_else(|_| ProjectName::new(requirement.name.as_ref()))
        .map_err(|e| e.to_string())?;
    let mut dep = Dependency::new(name, source);
    dep.extras = requirement.extras.iter().map(ToString::to_string).collect();
    dep.marker = requirement.marker.try_to_string();
    match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
            dep.specifier = Some(specifiers.to_string());
            if let [only] = &**specifiers
                && matches!(only.operator(), Operator::Equal | Operator::ExactEqual)
            {
                dep.pinned = Some(only.version().to_string());
            }
        }
        Some(VersionOrUrl::Url(url)) => {
            dep.url = Some(url.given().map_or_else(|| url.to_string(), str::to_owned));
        }
        None => {}
    }
    Ok(dep)
}

/// `pep508_rs` 0.9.2 scans a name or an extra as a run of `[A-Za-z0-9._-]` and then `expect`s that
/// run to be valid, so a run ending in `.`, `-` or `_` (`N. x`, `pkg[l- ]`) panics. Such input is
/// refused here with the message the grammar calls for. Found by `cargo fuzz run requirements`.
fn panicking_input(text: &str) -> Option<String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let given = given_name(text);
    if given.ends_with(['.', '-', '_']) {
        return Some(format!(
            "the name `{given}` must end with a letter or digit"
        ));
    }
    let after_name = text.trim_start()[given.len()..].trim_start();
    let extras = after_name.strip_prefix('[')?;
    let extras = extras.split(']').next().unwrap_or(extras);
    extras
        .split(|c: char| !is_name_char(c))
        .find(|run| run.ends_with(['.', '-', '_']))
        .map(|run| format!("the extra `{run}` must end with a letter or digit"))
}

/// The name as written: the leading run of name characters.
fn given_name(text: &str) -> &str {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn here() -> Location {
        Location {
            file: PathBuf::from("r.txt"),
            line: 1,
        }
    }

    #[test]
    fn pins_only_exact_single_specifiers() {
        let d = parse(
            "Requests[socks,security] == 2.31.0 ; python_version >= '3.8'",
            here(),
        )
        .unwrap();
        assert_eq!(d.name.as_given(), "Requests");
        assert_eq!(d.pinned.as_deref(), Some("2.31.0"));
        assert_eq!(d.extras, ["socks", "security"]);
        assert_eq!(d.marker.as_deref(), Some("python_full_version >= '3.8'"));
        assert_eq!(parse("urllib3==1.26.*", here()).unwrap().pinned, None);
        assert_eq!(parse("urllib3>=1,<2", here()).unwrap().pinned, None);
        assert_eq!(
            parse("foo===1.0", here()).unwrap().pinned.as_deref(),
            Some("1.0")
        );
    }

    #[test]
    fn keeps_direct_urls() {
        let d = parse("pkg @ https://example.invalid/pkg-1.0.tar.gz", here()).unwrap();
        assert_eq!(
            d.url.as_deref(),
            Some("https://example.invalid/pkg-1.0.tar.gz")
        );
    }

    /// Found by `cargo fuzz run requirements`: these inputs panicked inside `pep508_rs`.
    #[test]
    fn fuzz_name_ending_in_a_separator_before_a_space() {
        for input in [
            "N. ismflUhit T##fl# ",
            "foo- >=1",
            "foo_[x]",
            "foo.;python_version>'3'",
        ] {
            let err = parse(input, here()).unwrap_err();
            assert!(
                err.contains("must end with a letter or digit"),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn reports_invalid_requirements() {
        let err = parse("foo >>= 1", here()).unwrap_err();
        assert!(
            err.starts_with("`foo >>= 1` is not a valid requirement"),
            "{err}"
        );
    }
}
