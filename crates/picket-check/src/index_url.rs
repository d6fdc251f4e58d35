//! Which package index to ask, from the places a user already configured one.
//!
//! In order: `--index`, `PICKET_INDEX_URL`, `index-url` in picket.toml, `PIP_INDEX_URL`,
//! `UV_INDEX_URL` / `UV_DEFAULT_INDEX`, then `index-url` in pip's configuration files
//! ([`resolve`]); with none of those, the index the user's own pip would use, asked of pip at run
//! time ([`ask_pip`]). picket itself names no index.

use std::path::{Path, PathBuf};

/// An index URL and where it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexUrl {
    /// The simple-API base URL.
    pub url: String,
    /// Where it was configured.
    pub origin: String,
}

/// Resolves the index URL; `env` looks up environment variables (a parameter so tests need not
/// touch the process environment).
pub fn resolve(
    flag: Option<&str>,
    config: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<IndexUrl> {
    let found = |url: &str, origin: &str| {
        Some(IndexUrl {
            url: url.trim().to_owned(),
            origin: origin.to_owned(),
        })
    };
    if let Some(url) = flag {
        return found(url, "--index");
    }
    for var in ["PICKET_INDEX_URL"] {
        if let Some(url) = env(var).filter(|u| !u.trim().is_empty()) {
            return found(&url, var);
        }
    }
    if let Some(url) = config {
        return found(url, "picket.toml");
    }
    for var in ["PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"] {
        if let Some(url) = env(var).filter(|u| !u.trim().is_empty()) {
            return found(&url, var);
        }
    }
    for path in pip_conf_paths(env) {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Some(url) = pip_conf_index_url(&text)
        {
            return found(&url, &path.display().to_string());
        }
    }
    None
}

/// What `ask_pip` runs: pip's own configuration as pip loads it, else pip's built-in default.
const ASK_PIP: &str = "\
import sys
try:
    from pip._internal.configuration import Configuration
    c = Configuration(isolated=False)
    c.load()
    items = dict(c.items())
    url = next((items[k] for k in (':env:.index-url', 'install.index-url', 'global.index-url') if k in items), None)
    if not url:
        from pip._internal.models.index import PyPI
        url = PyPI.simple_url
    print(url)
except Exception as e:
    print(e, file=sys.stderr)
    sys.exit(1)
";

/// The index the user's own pip would use, asked of pip at run time: the Python of
/// `PICKET_PYTHON`, else of the active virtualenv, else `python3`. `None` when there is no such
/// pip, or when `PICKET_NO_INSTALLER_INDEX` is set (the test suite sets it: tests never reach a
/// public index).
pub fn ask_pip(env: &dyn Fn(&str) -> Option<String>) -> Option<IndexUrl> {
    if env("PICKET_NO_INSTALLER_INDEX").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let python = env("PICKET_PYTHON")
        .filter(|p| !p.is_empty())
        .or_else(|| env("VIRTUAL_ENV").map(|v| format!("{v}/bin/python")))
        .unwrap_or_else(|| "python3".to_owned());
    let out = std::process::Command::new(&python)
        .args(["-c", ASK_PIP])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let url = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && (url.starts_with("http://") || url.starts_with("https://"))).then(
        || IndexUrl {
            url,
            origin: format!("the index {python}'s pip uses"),
        },
    )
}

/// pip's configuration files, most specific first.
fn pip_conf_paths(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(file) = env("PIP_CONFIG_FILE") {
        paths.push(PathBuf::from(file));
    }
    if let Some(venv) = env("VIRTUAL_ENV") {
        paths.push(Path::new(&venv).join("pip.conf"));
    }
    let config_home = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = config_home {
        paths.push(dir.join("pip/pip.conf"));
    }
    if let Some(home) = env("HOME") {
        paths.push(Path::new(&home).join(".pip/pip.conf"));
    }
    paths.push(PathBuf::from("/etc/pip.conf"));
    paths
}

/// `index-url` (or `index_url`) from the `[global]` or `[install]` section of a pip.conf.
fn pip_conf_index_url(text: &str) -> Option<String> {
    let mut section = String::new();
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        if !matches!(section.as_str(), "global" | "install") {
            continue;
        }
        if let Some((key, value)) = line.split_once(['=', ':'])
            && matches!(key.trim(), "index-url" | "index_url")
        {
            // `[install]` overrides `[global]` for pip install; either is the user's index.
            if found.is_none() || section == "install" {
                found = Some(value.trim().to_owned());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn follows_the_documented_order() {
        let all = env_of(&[
            ("PICKET_INDEX_URL", "http://127.0.0.1:1/simple/"),
            ("PIP_INDEX_URL", "http://127.0.0.1:2/simple/"),
            ("UV_DEFAULT_INDEX", "http://127.0.0.1:3/simple/"),
            ("HOME", "/nonexistent"),
        ]);
        let pick = |flag, config, env: &dyn Fn(&str) -> Option<String>| {
            resolve(flag, config, env).map(|i| i.origin)
        };
        assert_eq!(
            pick(Some("http://x/"), Some("http://y/"), &all).as_deref(),
            Some("--index")
        );
        assert_eq!(
            pick(None, Some("http://y/"), &all).as_deref(),
            Some("PICKET_INDEX_URL")
        );
        let no_picket = env_of(&[
            ("PIP_INDEX_URL", "http://127.0.0.1:2/"),
            ("HOME", "/nonexistent"),
        ]);
        assert_eq!(
            pick(None, Some("http://y/"), &no_picket).as_deref(),
            Some("picket.toml")
        );
        assert_eq!(
            pick(None, None, &no_picket).as_deref(),
            Some("PIP_INDEX_URL")
        );
        let uv = env_of(&[
            ("UV_DEFAULT_INDEX", "http://127.0.0.1:3/"),
            ("HOME", "/nonexistent"),
        ]);
        assert_eq!(pick(None, None, &uv).as_deref(), Some("UV_DEFAULT_INDEX"));
    }

    #[test]
    fn reads_pip_conf() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("pip.conf");
        std::fs::write(
            &conf,
            "[global]\ntimeout = 60\nindex-url = http://127.0.0.1:9/simple/\n",
        )
        .unwrap();
        let conf_path = conf.to_str().unwrap().to_owned();
        let env = env_of(&[("PIP_CONFIG_FILE", &conf_path), ("HOME", "/nonexistent")]);
        let found = resolve(None, None, &env).unwrap();
        assert_eq!(found.url, "http://127.0.0.1:9/simple/");
        assert_eq!(
            pip_conf_index_url("[install]\nindex_url: http://a/\n[global]\nindex-url=http://b/\n")
                .as_deref(),
            Some("http://a/")
        );
        assert_eq!(pip_conf_index_url("[other]\nindex-url = http://c/\n"), None);
        // With nothing set only the machine's own /etc/pip.conf can answer.
        let bare = resolve(None, None, &env_of(&[("HOME", "/nonexistent")]));
        assert!(bare.is_none_or(|i| i.origin == "/etc/pip.conf"));
    }
}
