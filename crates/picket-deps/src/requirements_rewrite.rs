//! Changing pins in a requirements file in place, as `picket fix` does: only the pinned version
//! and the `--hash` options of the requirements named change; every other byte — comments,
//! markers, options, blank lines, line endings, the continuation layout — stays as written.

use std::path::Path;

use crate::requirements_txt::{is_comment_line, strip_comment};
use crate::{DepsError, syntax};

/// A new pin for the requirement whose logical line starts at `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinUpdate {
    /// The 1-based physical line the requirement starts on (its [`crate::Location::line`]).
    pub line: usize,
    /// The version to pin.
    pub version: String,
    /// The `--hash` values (`sha256:HEX`) to put in place of the requirement's own; `None` leaves
    /// its options as they are (a requirement written without hashes stays without).
    pub hashes: Option<Vec<String>>,
}

/// `text` (the file at `path`) with every update applied. An update that does not point at a
/// pinned requirement (`==X` / `===X` on its first line) is an error at its line, and nothing is
/// returned: a file is changed whole or not at all.
pub fn rewrite_requirements(
    path: &Path,
    text: &str,
    updates: &[PinUpdate],
) -> Result<String, DepsError> {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let mut lines: Vec<(String, &str)> = body
        .split_inclusive('\n')
        .map(|l| {
            let ending = if l.ends_with("\r\n") {
                "\r\n"
            } else if l.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            (l[..l.len() - ending.len()].to_owned(), ending)
        })
        .collect();
    let mut updates: Vec<&PinUpdate> = updates.iter().collect();
    // From the bottom up, so a change in the number of lines does not move the lines above.
    updates.sort_by_key(|u| std::cmp::Reverse(u.line));
    for update in updates {
        let start = update.line.checked_sub(1).filter(|&i| i < lines.len());
        let Some(start) = start else {
            return Err(syntax(path, update.line, "no such line"));
        };
        let mut end = start;
        while end + 1 < lines.len() && continues(&lines[end].0) {
            end += 1;
        }
        let mut group: Vec<String> = lines[start..=end].iter().map(|l| l.0.clone()).collect();
        group[0] = replace_pin(&group[0], &update.version)
            .ok_or_else(|| syntax(path, update.line, "no `==VERSION` pin to change here"))?;
        if let Some(hashes) = &update.hashes {
            group = replace_hashes(group, hashes);
        }
        let ending = lines[end].1;
        let inner = lines.get(start).map_or("\n", |l| l.1);
        let inner = if inner.is_empty() { "\n" } else { inner };
        let count = group.len();
        let replacement: Vec<(String, &str)> = group
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, if i + 1 == count { ending } else { inner }))
            .collect();
        lines.splice(start..=end, replacement);
    }
    let mut out = String::with_capacity(text.len() + 256);
    out.push_str(bom);
    for (line, ending) in &lines {
        out.push_str(line);
        out.push_str(ending);
    }
    Ok(out)
}

/// Whether a physical line joins the next, as the parser decides it.
fn continues(line: &str) -> bool {
    !is_comment_line(line) && line.ends_with('\\')
}

/// The line with the version after its first `==` / `===` (before any marker or comment)
/// replaced, or `None` when there is none.
fn replace_pin(line: &str, version: &str) -> Option<String> {
    let code = strip_comment(line);
    let code = code.split(';').next().unwrap_or(code);
    let at = code.find("==")?;
    let mut from = at + 2;
    if code[from..].starts_with('=') {
        from += 1;
    }
    from += code[from..].len() - code[from..].trim_start().len();
    let len = code[from..]
        .find(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '\\' | '#'))
        .unwrap_or(code.len() - from);
    if len == 0 {
        return None;
    }
    Some(format!("{}{version}{}", &line[..from], &line[from + len..]))
}

/// A token of a line's code: its byte range.
fn tokens(code: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in code.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, code.len()));
    }
    out
}

/// The lines of one requirement with its `--hash` options replaced by `hashes`: where the old
/// ones stood one per line (pip-compile's layout), the new ones do too, with the same indent;
/// where they stood beside other words, the new ones stand there in a row.
fn replace_hashes(group: Vec<String>, hashes: &[String]) -> Vec<String> {
    let count = group.len();
    let mut out: Vec<String> = Vec::with_capacity(count + hashes.len());
    // (index in `out`, indent) of the first hash-only line removed, or (index, byte) of the first
    // hash beside other words.
    let mut own_lines: Option<(usize, String)> = None;
    let mut inline: Option<(usize, usize)> = None;
    let mut removed_comments = Vec::new();
    for (n, line) in group.into_iter().enumerate() {
        let code_len = strip_comment(&line).len();
        let code = line[..code_len].trim_end();
        let code = code.strip_suffix('\\').unwrap_or(code);
        let toks = tokens(code);
        let mut spans = Vec::new();
        let mut covered = 0;
        let mut i = 0;
        while i < toks.len() {
            let word = &code[toks[i].0..toks[i].1];
            if word.starts_with("--hash=") {
                spans.push(toks[i]);
                covered += 1;
            } else if word == "--hash" && i + 1 < toks.len() {
                spans.push((toks[i].0, toks[i + 1].1));
                covered += 2;
                i += 1;
            }
            i += 1;
        }
        if spans.is_empty() {
            out.push(line);
            continue;
        }
        let only_hashes = covered == toks.len();
        if only_hashes && n > 0 {
            if own_lines.is_none() && inline.is_none() {
                let indent = &line[..line.len() - line.trim_start().len()];
                own_lines = Some((out.len(), indent.to_owned()));
            }
            let comment = line[code_len..].trim();
            if !comment.is_empty() {
                removed_comments.push(comment.to_owned());
            }
            continue;
        }
        // Remove each hash (with the blank before it), from the right.
        let mut kept = line.clone();
        for (s, e) in spans.iter().rev() {
            let blank_start = kept[..*s].trim_end().len();
            kept.replace_range(blank_start..*e, "");
        }
        if own_lines.is_none() && inline.is_none() {
            inline = Some((out.len(), line[..spans[0].0].trim_end().len()));
        }
        out.push(kept);
    }
    let rendered: Vec<String> = hashes.iter().map(|h| format!("--hash={h}")).collect();
    if let Some((at, indent)) = own_lines {
        let mut new: Vec<String> = rendered.iter().map(|h| format!("{indent}{h}")).collect();
        if let (Some(last), false) = (new.last_mut(), removed_comments.is_empty()) {
            last.push_str("  ");
            last.push_str(&removed_comments.join(" "));
        }
        out.splice(at..at, new);
    } else if let Some((at, byte)) = inline {
        let row: String = rendered.iter().flat_map(|h| [" ", h.as_str()]).collect();
        out[at].insert_str(byte, &row);
    }
    // Every line but the last continues; the last does not.
    let last = out.len().saturating_sub(1);
    for (i, line) in out.iter_mut().enumerate() {
        let ends = continues(line);
        if i < last && !ends {
            line.push_str(" \\");
        } else if i == last && ends {
            let trimmed = line.trim_end_matches('\\').trim_end().len();
            line.truncate(trimmed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, updates: &[PinUpdate], expected: &str) {
        let got = rewrite_requirements(Path::new("r.txt"), text, updates).unwrap();
        assert_eq!(got, expected);
    }

    fn update(line: usize, version: &str, hashes: Option<&[&str]>) -> PinUpdate {
        PinUpdate {
            line,
            version: version.to_owned(),
            hashes: hashes.map(|h| h.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn pip_compile_layout_keeps_its_shape() {
        check(
            "# top\n--index-url http://127.0.0.1:1/simple/\n\
             a==1.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via -r requirements.in\n\
             b==2.0 \\\n    --hash=sha256:cc\n",
            &[
                update(3, "1.2", Some(&["sha256:11", "sha256:22", "sha256:33"])),
                update(7, "2.1", Some(&["sha256:44"])),
            ],
            "# top\n--index-url http://127.0.0.1:1/simple/\n\
             a==1.2 ; python_version >= \"3.8\" \\\n    --hash=sha256:11 \\\n    --hash=sha256:22 \\\n    --hash=sha256:33\n    # via -r requirements.in\n\
             b==2.1 \\\n    --hash=sha256:44\n",
        );
    }

    #[test]
    fn hashes_in_a_row_stay_in_a_row() {
        check(
            "a == 1.0 --hash=sha256:aa --hash sha256:bb  # pinned\r\nc==3\r\n",
            &[update(1, "1.1", Some(&["sha256:11"]))],
            "a == 1.1 --hash=sha256:11  # pinned\r\nc==3\r\n",
        );
    }

    #[test]
    fn without_hashes_only_the_version_changes() {
        check(
            "\u{feff}A[x]===1.0;sys_platform=='linux' # keep==1.0\nlast==0.1",
            &[update(1, "1.5", None), update(2, "0.2", None)],
            "\u{feff}A[x]===1.5;sys_platform=='linux' # keep==1.0\nlast==0.2",
        );
    }

    #[test]
    fn a_line_without_a_pin_is_refused() {
        let err = rewrite_requirements(Path::new("r.txt"), "a>=1\n", &[update(1, "2", None)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.txt:1: no `==VERSION` pin to change here"
        );
        let err = rewrite_requirements(Path::new("r.txt"), "a==1\n", &[update(5, "2", None)])
            .unwrap_err();
        assert_eq!(err.to_string(), "r.txt:5: no such line");
    }
}
