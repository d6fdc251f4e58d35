//! pip's requirements format.
//!
//! Logical lines are built the way pip builds them: a trailing `\` joins the next line, `#` after
//! whitespace (or at the start) starts a comment. A line is either a global option (`-r`, `-c`, `-e`,
//! `-i`, `--extra-index-url`, …) or a requirement followed by per-requirement options (`--hash`).

use std::path::{Path, PathBuf};

use picket_formats::{DistFilename, ProjectName};

use crate::{
    Dependency, DependencyFile, DepsError, FileFormat, FileSource, Location, MAX_INCLUDE_DEPTH,
    UnnamedRequirement, join_lexically, pep508, read_text, syntax,
};

pub(crate) fn parse(path: &Path, source: &dyn FileSource) -> Result<DependencyFile, DepsError> {
    let mut out = DependencyFile::empty(path, FileFormat::Requirements);
    out.files_read.clear();
    let mut stack = Vec::new();
    read_into(path, source, false, &mut stack, &mut out)?;
    Ok(out)
}

fn read_into(
    path: &Path,
    source: &dyn FileSource,
    constraint: bool,
    stack: &mut Vec<PathBuf>,
    out: &mut DependencyFile,
) -> Result<(), DepsError> {
    if stack.iter().any(|p| p == path) {
        let mut chain = stack.clone();
        chain.push(path.to_owned());
        return Err(DepsError::IncludeCycle(chain));
    }
    if stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(DepsError::IncludeTooDeep(path.to_owned()));
    }
    let text = read_text(path, source)?;
    out.files_read.push(path.to_owned());
    stack.push(path.to_owned());
    for (line, logical) in logical_lines(&text) {
        parse_line(path, line, &logical, source, constraint, stack, out)?;
    }
    stack.pop();
    Ok(())
}

/// Strips a comment: `#` at the start or after whitespace.
pub(crate) fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

pub(crate) fn is_comment_line(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Yields `(first physical line number, logical line)` with continuations joined, comments removed
/// and blank lines skipped.
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut physical = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    std::iter::from_fn(move || {
        loop {
            let (first, line) = physical.next()?;
            let mut joined = String::new();
            let mut current = line;
            loop {
                if is_comment_line(current) || !current.ends_with('\\') {
                    joined.push_str(strip_comment(current));
                    break;
                }
                joined.push_str(&current[..current.len() - 1]);
                match physical.next() {
                    Some((_, next)) => current = next,
                    None => break,
                }
            }
            let trimmed = joined.trim();
            if !trimmed.is_empty() {
                return Some((first, trimmed.to_owned()));
            }
        }
    })
}

/// Splits `--opt=value` / `--opt value` / `-ovalue` / `-o value` tokens into `(option, value)`.
struct Options<'a> {
    tokens: std::iter::Peekable<std::slice::Iter<'a, &'a str>>,
}

impl<'a> Options<'a> {
    fn next_option(&mut self) -> Option<(&'a str, Option<&'a str>)> {
        let token = *self.tokens.next()?;
        if let Some(long) = token.strip_prefix("--") {
            return Some(match long.split_once('=') {
                Some((name, value)) => (&token[..name.len() + 2], Some(value)),
                None => (token, None),
            });
        }
        // Short options with the value attached: `-rfile.txt`, `-e./pkg`.
        if token.len() > 2 && token.starts_with('-') && token.is_char_boundary(2) {
            return Some((&token[..2], Some(&token[2..])));
        }
        Some((token, None))
    }

    /// The value of an option: attached, or the next token.
    fn value(&mut self, attached: Option<&'a str>) -> Option<&'a str> {
        attached.or_else(|| self.tokens.next().copied())
    }
}

const GLOBAL_FLAGS: &[&str] = &[
    "--pre",
    "--no-index",
    "--prefer-binary",
    "--use-feature",
    "--trusted-host",
    "--only-binary",
    "--no-binary",
    "-f",
    "--find-links",
];

fn parse_line(
    path: &Path,
    line: usize,
    logical: &str,
    source: &dyn FileSource,
    constraint: bool,
    stack: &mut Vec<PathBuf>,
    out: &mut DependencyFile,
) -> Result<(), DepsError> {
    let here = Location {
        file: path.to_owned(),
        line,
    };
    let tokens: Vec<&str> = logical.split_whitespace().collect();
    if logical.starts_with('-') {
        let mut options = Options {
            tokens: tokens.iter().peekable(),
        };
        while let Some((option, attached)) = options.next_option() {
            let missing = || syntax(path, line, format!("option `{option}` needs a value"));
            match option {
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    let target = options.value(attached).ok_or_else(missing)?;
                    if target.contains("://") {
                        return Err(syntax(
                            path,
                            line,
                            format!(
                                "`{target}`: including a requirements file by URL is not supported; download it and include the local copy"
                            ),
                        ));
                    }
                    let included = join_lexically(path, Path::new(target));
                    let as_constraint = constraint || matches!(option, "-c" | "--constraint");
                    read_into(&included, source, as_constraint, stack, out)?;
                }
                "-e" | "--editable" => {
                    let target = options.value(attached).ok_or_else(missing)?;
                    add_path_or_url(target, true, Vec::new(), constraint, here.clone(), out);
                }
                "-i" | "--index-url" => {
                    let url = options.value(attached).ok_or_else(missing)?;
                    out.index_urls.push(url.to_owned());
                }
                "--extra-index-url" => {
                    let url = options.value(attached).ok_or_else(missing)?;
                    out.extra_index_urls.push(url.to_owned());
                }
                "--require-hashes" => out.require_hashes = true,
                flag if GLOBAL_FLAGS.contains(&flag) => {
                    let takes_value = !matches!(flag, "--pre" | "--no-index" | "--prefer-binary");
                    if takes_value && attached.is_none() {
                        options.value(None).ok_or_else(missing)?;
                    }
                }
                other => {
                    return Err(syntax(
                        path,
                        line,
                        format!("unknown option `{other}` in a requirements file"),
                    ));
                }
            }
        }
        return Ok(());
    }

    // A requirement: the words before the first option, then per-requirement options.
    let split = tokens
        .iter()
        .position(|t| t.starts_with('-'))
        .unwrap_or(tokens.len());
    let requirement = tokens[..split].join(" ");
    let mut hashes = Vec::new();
    let mut options = Options {
        tokens: tokens[split..].iter().peekable(),
    };
    while let Some((option, attached)) = options.next_option() {
        let value = options.value(attached);
        let Some(value) = value else {
            return Err(syntax(
                path,
                line,
                format!("option `{option}` needs a value"),
            ));
        };
        match option {
            "--hash" => {
                let Some((algorithm, digest)) = value.split_once(':') else {
                    return Err(syntax(
                        path,
                        line,
                        format!("`--hash={value}` must look like `--hash=sha256:<hex digest>`"),
                    ));
                };
                if algorithm.is_empty()
                    || digest.is_empty()
                    || !digest.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(syntax(
                        path,
                        line,
                        format!("`--hash={value}` must look like `--hash=sha256:<hex digest>`"),
                    ));
                }
                hashes.push(format!("{algorithm}:{}", digest.to_ascii_lowercase()));
            }
            "--config-settings" | "--global-option" | "--install-option" => {}
            other => {
                return Err(syntax(
                    path,
                    line,
                    format!("unknown option `{other}` after a requirement"),
                ));
            }
        }
    }

    if looks_like_path_or_url(&requirement) {
        add_path_or_url(&requirement, false, hashes, constraint, here, out);
        return Ok(());
    }
    let mut dep = pep508::parse(&requirement, here).map_err(|m| syntax(path, line, m))?;
    dep.hashes = hashes;
    dep.constraint = constraint;
    out.dependencies.push(dep);
    Ok(())
}

/// pip treats a requirement as a path or URL when it has a scheme, a path separator, starts with a
/// dot, or names an archive; `name @ url` stays a named PEP 508 requirement.
fn looks_like_path_or_url(requirement: &str) -> bool {
    if requirement.contains(" @ ") || requirement.contains(" @") {
        return false;
    }
    let head = requirement.split(';').next().unwrap_or(requirement).trim();
    head.contains("://")
        || head.starts_with("git+")
        || head.starts_with('.')
        || head.starts_with('/')
        || head.contains('/')
        || head.contains('\\')
        || [".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz"]
            .iter()
            .any(|ext| head.ends_with(ext))
}

/// Records a path/URL requirement, named when `#egg=` or the archive filename gives the name.
fn add_path_or_url(
    target: &str,
    editable: bool,
    hashes: Vec<String>,
    constraint: bool,
    source: Location,
    out: &mut DependencyFile,
) {
    let target = target.trim();
    let egg = target
        .split_once('#')
        .and_then(|(_, fragment)| fragment.split('&').find_map(|kv| kv.strip_prefix("egg=")))
        .and_then(|name| ProjectName::new(name).ok());
    let from_filename = || {
        let last = target.rsplit(['/', '\\']).next()?;
        let last = last.split(['#', '?']).next()?;
        last.parse::<DistFilename>().ok()
    };
    let (name, pinned) = match (egg, from_filename()) {
        (Some(name), _) => (Some(name), None),
        (None, Some(file)) => (Some(file.name().clone()), Some(file.version().to_string())),
        (None, None) => (None, None),
    };
    match name {
        Some(name) => {
            let mut dep = Dependency::new(name, source);
            dep.url = Some(target.to_owned());
            dep.pinned = pinned;
            dep.editable = editable;
            dep.hashes = hashes;
            dep.constraint = constraint;
            out.dependencies.push(dep);
        }
        None => out.unnamed.push(UnnamedRequirement {
            location: target.to_owned(),
            editable,
            hashes,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::parse_file;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<PathBuf, Vec<u8>> {
        entries
            .iter()
            .map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec()))
            .collect()
    }

    fn check(text: &str) -> DependencyFile {
        parse_file(
            Path::new("requirements.txt"),
            &files(&[("requirements.txt", text)]),
        )
        .unwrap()
    }

    fn check_err(entries: &[(&str, &str)], expected: &str) {
        let err = parse_file(Path::new(entries[0].0), &files(entries))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "expected `{expected}` in `{err}`");
    }

    #[test]
    fn reads_the_awkward_cases() {
        let parsed = check(
            "# top comment\n\
             --index-url http://127.0.0.1:1/simple/\n\
             --extra-index-url=http://127.0.0.1:2/simple/\n\
             requests==2.31.0 \\\n    --hash=sha256:ABCDEF \\\n    --hash sha256:0123\n\
             \n\
             urllib3>=1.26,<2 ; python_version < \"3.10\"  # trailing comment\n\
             -e git+https://example.invalid/repo.git#egg=mylib\n\
             ./local/pkg\n\
             https://example.invalid/dl/six-1.16.0-py2.py3-none-any.whl\n\
             pkg @ https://example.invalid/pkg.tar.gz\n\
             --pre\n--require-hashes\n-f ./wheels\n\
",
        );
        assert_eq!(parsed.index_urls, ["http://127.0.0.1:1/simple/"]);
        assert_eq!(parsed.extra_index_urls, ["http://127.0.0.1:2/simple/"]);
        assert!(parsed.require_hashes);
        let deps = &parsed.dependencies;
        let names: Vec<&str> = deps.iter().map(|d| d.name.normalized()).collect();
        assert_eq!(names, ["requests", "urllib3", "mylib", "six", "pkg"]);
        assert_eq!(deps[0].hashes, ["sha256:abcdef", "sha256:0123"]);
        assert_eq!(deps[0].source.line, 4);
        assert_eq!(deps[1].source.line, 8);
        assert!(deps[1].marker.is_some());
        assert!(deps[2].editable);
        assert_eq!(deps[3].pinned.as_deref(), Some("1.16.0"));
        assert_eq!(parsed.unnamed.len(), 1);
        assert_eq!(parsed.unnamed[0].location, "./local/pkg");
    }

    #[test]
    fn follows_includes_and_marks_constraints() {
        let fs = files(&[
            (
                "app/requirements.txt",
                "-r base.txt\n-c ../constraints.txt\nflask\n",
            ),
            ("app/base.txt", "click==8.1.7\n"),
            ("constraints.txt", "werkzeug==3.0.0\n"),
        ]);
        let parsed = parse_file(Path::new("app/requirements.txt"), &fs).unwrap();
        let summary: Vec<(String, bool, String)> = parsed
            .dependencies
            .iter()
            .map(|d| {
                (
                    d.name.normalized().to_owned(),
                    d.constraint,
                    d.source.file.display().to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("click".into(), false, "app/base.txt".into()),
                ("werkzeug".into(), true, "constraints.txt".into()),
                ("flask".into(), false, "app/requirements.txt".into()),
            ]
        );
        assert_eq!(parsed.files_read.len(), 3);
    }

    #[test]
    fn include_cycles_are_reported_with_the_chain() {
        check_err(
            &[("a.txt", "-r b.txt\n"), ("b.txt", "-r a.txt\n")],
            "cycle: a.txt -> b.txt -> a.txt",
        );
        check_err(&[("a.txt", "-r a.txt\n")], "cycle: a.txt -> a.txt");
    }

    #[test]
    fn errors_name_file_and_line() {
        check_err(
            &[("r.txt", "ok\n\nfoo >>= 1\n")],
            "r.txt:3: `foo >>= 1` is not a valid requirement",
        );
        check_err(
            &[("r.txt", "--bogus\n")],
            "r.txt:1: unknown option `--bogus`",
        );
        check_err(
            &[("r.txt", "foo --hash=md5\n")],
            "must look like `--hash=sha256:",
        );
        check_err(&[("r.txt", "-r\n")], "option `-r` needs a value");
        check_err(
            &[("r.txt", "-r missing.txt\n")],
            "missing.txt: no such file",
        );
        check_err(
            &[("r.txt", "-r https://x/y.txt\n")],
            "by URL is not supported",
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let fs: BTreeMap<PathBuf, Vec<u8>> =
            [(PathBuf::from("r.txt"), b"ok\n\xff\n".to_vec())].into();
        let err = parse_file(Path::new("r.txt"), &fs).unwrap_err().to_string();
        assert_eq!(err, "r.txt:2: not valid UTF-8");
    }

    #[test]
    fn a_trailing_backslash_at_end_of_file_is_harmless() {
        let parsed = check("requests \\");
        assert_eq!(parsed.dependencies.len(), 1);
    }
}
