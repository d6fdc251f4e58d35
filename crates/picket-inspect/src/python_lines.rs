//! Counting Python lines without a Python parser: enough to tell real code from an empty shell.

/// Line counts of one Python source file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PythonLines {
    /// Non-blank, non-comment lines.
    pub code: u64,
    /// Code lines that do something: not docstrings or other bare strings, not imports, not
    /// `__dunder__` assignments, not `pass` or `...`.
    pub substantive: u64,
}

const STRING_PREFIXES: [&str; 9] = ["", "r", "u", "b", "f", "rb", "br", "fr", "rf"];

/// If `line` starts with a (prefixed) string literal, returns its quote (`"""`, `'''`, `"` or `'`).
fn leading_quote(line: &str) -> Option<&'static str> {
    let lower = line.get(..3).unwrap_or(line).to_ascii_lowercase();
    for prefix in STRING_PREFIXES {
        if !lower.starts_with(prefix) {
            continue;
        }
        let rest = &line[prefix.len()..];
        for quote in ["\"\"\"", "'''", "\"", "'"] {
            if rest.starts_with(quote) {
                return Some(quote);
            }
        }
    }
    None
}

fn is_boilerplate(line: &str) -> bool {
    if line.contains(';') {
        return false;
    }
    if matches!(line, "pass" | "...") {
        return true;
    }
    if line.starts_with("import ") || (line.starts_with("from ") && line.contains(" import ")) {
        return true;
    }
    // `__version__ = "1.0"`, `__all__: list[str] = []`
    if let Some(rest) = line.strip_prefix("__") {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after = rest[name_end..].trim_start();
        return rest[..name_end].ends_with("__")
            && (after.starts_with('=') || after.starts_with(':'));
    }
    false
}

/// Counts the lines of one Python file.
pub fn count(source: &[u8]) -> PythonLines {
    let text = String::from_utf8_lossy(source);
    let mut lines = PythonLines::default();
    let mut open_triple: Option<&'static str> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(quote) = open_triple {
            if !line.is_empty() {
                lines.code += 1;
            }
            if line.contains(quote) {
                open_triple = None;
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        lines.code += 1;
        if let Some(quote) = leading_quote(line) {
            // A bare string statement (a docstring): not substantive. A triple-quoted one that
            // does not close on this line swallows the lines up to its end.
            if quote.len() == 3 {
                let start = line.find(quote).unwrap_or(0) + 3;
                if !line[start..].contains(quote) {
                    open_triple = Some(quote);
                }
            }
            continue;
        }
        if !is_boilerplate(line) {
            lines.substantive += 1;
        }
        for quote in ["\"\"\"", "'''"] {
            if line.matches(quote).count() % 2 == 1 {
                open_triple = Some(quote);
                break;
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str, code: u64, substantive: u64) {
        assert_eq!(
            count(source.as_bytes()),
            PythonLines { code, substantive },
            "{source}"
        );
    }

    #[test]
    fn empty_shells_have_no_substantive_lines() {
        check("", 0, 0);
        check("# just a comment\n\n", 0, 0);
        check(
            "\"\"\"Package docstring.\n\nMore words.\n\"\"\"\n__version__ = '0.0.1'\n",
            4,
            0,
        );
        check(
            "from .core import *\nimport os\n__all__: list[str] = []\npass\n",
            4,
            0,
        );
        check("r'''raw doc'''\n", 1, 0);
    }

    #[test]
    fn real_code_is_substantive() {
        check("def main():\n    print('hi')\n", 2, 2);
        check("import os; os.system('id')\n", 1, 1);
        check("X = \"\"\"\nnot code\n\"\"\"\ny = 1\n", 4, 2);
        check("__init__ = 3 + foo()\n", 1, 0);
        check("class __Meta__(type):\n    pass\n", 2, 1);
    }
}
