//! Entry paths: the checks that keep an archive's names inside the folder it would be unpacked into.

use crate::{InspectError, Limits};

/// Checks an entry path and returns it with `\` turned into `/` and a leading `./` removed.
pub(crate) fn check_entry_path(raw: &str, limits: &Limits) -> Result<String, InspectError> {
    if raw.len() > limits.max_path_len {
        let prefix: String = raw.chars().take(40).collect();
        return Err(InspectError::PathTooLong {
            prefix,
            len: raw.len(),
            limit: limits.max_path_len,
        });
    }
    let path = raw.replace('\\', "/");
    let unsafe_path = |reason| InspectError::UnsafePath {
        path: raw.to_owned(),
        reason,
    };
    if path.starts_with('/') {
        return Err(unsafe_path("is absolute"));
    }
    if path.as_bytes().get(1) == Some(&b':') {
        return Err(unsafe_path("starts with a drive letter"));
    }
    if path.contains('\0') {
        return Err(unsafe_path("contains a NUL byte"));
    }
    let mut depth = 0;
    for part in path.split('/') {
        match part {
            ".." => return Err(unsafe_path("climbs out with `..`")),
            "" | "." => {}
            _ => depth += 1,
        }
    }
    if depth > limits.max_depth {
        return Err(InspectError::PathTooDeep {
            path: raw.to_owned(),
            depth,
            limit: limits.max_depth,
        });
    }
    let trimmed = path.trim_start_matches("./");
    Ok(trimmed.trim_end_matches('/').to_owned())
}

/// Whether a link target, resolved from the folder holding the link (`base`), stays in the archive.
pub(crate) fn stays_inside(base: &str, target: &str) -> bool {
    let target = target.replace('\\', "/");
    if target.starts_with('/') || target.as_bytes().get(1) == Some(&b':') {
        return false;
    }
    let mut depth: usize = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .count();
    for part in target.split('/') {
        match part {
            ".." => {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            }
            "" | "." => {}
            _ => depth += 1,
        }
    }
    true
}

/// The folder part of a path (`a/b/c` → `a/b`).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_leave_the_folder() {
        let limits = Limits::default();
        for (raw, reason) in [
            ("/etc/passwd", "is absolute"),
            ("\\windows\\x", "is absolute"),
            ("C:/x", "drive letter"),
            ("a/../../x", "climbs out"),
            ("a\\..\\..\\x", "climbs out"),
        ] {
            let err = check_entry_path(raw, &limits).unwrap_err().to_string();
            assert!(err.contains(reason), "{raw}: {err}");
        }
        assert_eq!(
            check_entry_path("./pkg/mod.py", &limits).unwrap(),
            "pkg/mod.py"
        );
        assert_eq!(check_entry_path("pkg/", &limits).unwrap(), "pkg");
        let deep = "d/".repeat(40) + "f";
        assert!(matches!(
            check_entry_path(&deep, &limits),
            Err(InspectError::PathTooDeep { depth: 41, .. })
        ));
    }

    #[test]
    fn link_targets_are_resolved_from_their_folder() {
        assert!(stays_inside("pkg-1.0/docs", "../README"));
        assert!(!stays_inside("pkg-1.0", "../../etc/passwd"));
        assert!(!stays_inside("", "../x"));
        assert!(!stays_inside("pkg", "/etc/passwd"));
    }
}
