//! The tools that own lock files, run by `picket fix`: `uv lock --upgrade-package NAME==VERSION`
//! for `uv.lock`, `poetry update --lock NAME` for `poetry.lock`.
//!
//! A tool runs in a scratch copy of the lock file's folder (its top-level files: the
//! `pyproject.toml`, the lock, the tool's own settings), so a failure or a dry run leaves the
//! project as it was; the caller checks the new lock and puts it in place. The tools use their
//! own index settings (`[[tool.uv.index]]`, `UV_DEFAULT_INDEX`, Poetry's sources), as they do
//! when the user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use picket_deps::FileFormat;

/// The largest file copied into the scratch folder.
const MAX_COPIED_BYTES: u64 = 16 << 20;

/// A lock tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockTool {
    /// uv, for `uv.lock`.
    Uv,
    /// Poetry, for `poetry.lock`.
    Poetry,
}

impl LockTool {
    /// The tool that writes a lock file of this format.
    pub fn of(format: FileFormat) -> Option<Self> {
        match format {
            FileFormat::UvLock => Some(Self::Uv),
            FileFormat::PoetryLock => Some(Self::Poetry),
            _ => None,
        }
    }

    /// Its program name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Uv => "uv",
            Self::Poetry => "poetry",
        }
    }

    /// The lock file it writes.
    pub fn lock_name(self) -> &'static str {
        match self {
            Self::Uv => "uv.lock",
            Self::Poetry => "poetry.lock",
        }
    }

    /// The executable: `given` (a flag), else the first on `PATH`. The error is one line; the
    /// caller adds the hint.
    pub fn locate(
        self,
        given: Option<&Path>,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<PathBuf, String> {
        if let Some(given) = given {
            return if given.is_file() {
                Ok(given.to_owned())
            } else {
                Err(format!(
                    "{}: no such file (given for {})",
                    given.display(),
                    self.program()
                ))
            };
        }
        path_var
            .into_iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(self.program()))
            .find(|p| is_executable(p))
            .ok_or_else(|| {
                format!(
                    "{} is updated with `{}`, and there is no `{}` on PATH",
                    self.lock_name(),
                    self.program(),
                    self.program()
                )
            })
    }

    /// Runs the tool on a scratch copy of `lock`'s folder to move each `(name, version)` there
    /// (Poetry is given the names only: it picks the newest release the project's ranges allow,
    /// which the caller checks); returns the new lock file's text.
    pub fn relock(
        self,
        exe: &Path,
        lock: &Path,
        upgrades: &[(String, String)],
    ) -> Result<String, String> {
        let dir = match lock.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let scratch = tempfile::Builder::new()
            .prefix("picket-fix-")
            .tempdir()
            .map_err(|e| format!("making a scratch folder: {e}"))?;
        copy_top_level(dir, scratch.path())?;
        let mut cmd = Command::new(exe);
        match self {
            Self::Uv => {
                cmd.args(["lock", "--no-progress"]);
                for (name, version) in upgrades {
                    cmd.arg("--upgrade-package")
                        .arg(format!("{name}=={version}"));
                }
            }
            Self::Poetry => {
                cmd.args(["update", "--lock", "--no-interaction"]);
                cmd.args(upgrades.iter().map(|(name, _)| name));
            }
        }
        let shown = format!(
            "{} {}",
            self.program(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = cmd
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let said: Vec<&str> = stderr
                .lines()
                .chain(stdout.lines())
                .filter(|l| !l.trim().is_empty())
                .collect();
            let tail = said[said.len().saturating_sub(12)..].join("\n  ");
            return Err(format!("`{shown}` failed ({}):\n  {tail}", out.status));
        }
        std::fs::read_to_string(scratch.path().join(self.lock_name()))
            .map_err(|e| format!("`{shown}` wrote no readable {}: {e}", self.lock_name()))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Copies the regular files directly in `from` (not folders, not links) into `to`.
fn copy_top_level(from: &Path, to: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.filter_map(Result::ok) {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let small = entry.metadata().is_ok_and(|m| m.len() <= MAX_COPIED_BYTES);
        if kind.is_file() && small {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn locates_on_path_or_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = LockTool::Uv
            .locate(None, Some(dir.path().as_os_str()))
            .unwrap_err();
        assert_eq!(
            err,
            "uv.lock is updated with `uv`, and there is no `uv` on PATH"
        );
        let exe = dir.path().join("poetry");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            LockTool::Poetry
                .locate(None, Some(dir.path().as_os_str()))
                .unwrap(),
            exe
        );
    }
}
