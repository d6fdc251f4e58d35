//! `.pth` files: Python's `site` module reads each one in `site-packages` at every start, adds
//! its lines to `sys.path`, and executes the lines that begin with `import` followed by a space
//! or a tab. Pure: text in, the line that runs code out.

use std::path::Path;

/// The first line Python would execute (1-based number and text), if any.
pub fn first_code_line(text: &str) -> Option<(usize, &str)> {
    text.lines()
        .enumerate()
        .find(|(_, line)| line.starts_with("import ") || line.starts_with("import\t"))
        .map(|(i, line)| (i + 1, line.trim_end()))
}

/// The line cut for a message.
pub fn shorten(line: &str) -> String {
    const MAX: usize = 120;
    if line.chars().count() <= MAX {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(MAX).collect::<String>())
    }
}

/// The `_virtualenv.pth` that virtualenv writes into every environment it makes (one line,
/// `import _virtualenv`, beside its `_virtualenv.py`).
pub fn is_virtualenvs_own(path: &Path, text: &str) -> bool {
    path.file_name().is_some_and(|n| n == "_virtualenv.pth")
        && text.trim() == "import _virtualenv"
        && path.with_file_name("_virtualenv.py").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_python_executes() {
        assert_eq!(first_code_line("/opt/lib\n# import x\n"), None);
        assert_eq!(first_code_line(" import os\nimportlib\n"), None);
        assert_eq!(
            first_code_line("/opt/lib\nimport os; os.system('x')\n"),
            Some((2, "import os; os.system('x')"))
        );
        assert_eq!(first_code_line("import\tsys\n"), Some((1, "import\tsys")));
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "import x;".repeat(40);
        assert_eq!(shorten(&long).chars().count(), 121);
    }
}
