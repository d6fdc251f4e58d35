//! The policy sections of `picket.toml` (`[check]`, `[scan]`, `[names]`); the file itself is read
//! by the command line, which adds its other sections.
//!
//! Every key is optional; the defaults below are what picket uses without a file. Unknown keys are
//! refused, so a typo does not silently leave a default in force.
//!
//! ```toml
//! # Index to check names against (also taken from PICKET_INDEX_URL, PIP_INDEX_URL, UV_INDEX_URL,
//! # UV_DEFAULT_INDEX or pip.conf, in that order, when neither --index nor this key is given).
//! index-url = "http://127.0.0.1:8080/simple/"
//!
//! [check]
//! allow = ["my-internal-pkg"]   # names never reported
//! fail-on = "block"             # exit 1 at this verdict or worse: "warn" or "block"
//! cooldown-days = 14            # a first upload younger than this is `new-project`
//!
//! [[check.ignore]]              # `check` and `scan` leave a finding out until a date
//! id = "GHSA-9wx4-h78v-vm56"    # an advisory id or alias, or a finding id (`unpinned`, …)
//! package = "requests"          # optional: only for this project
//! until = "2027-01-31"          # required; past it the finding counts again (with a warning)
//! reason = "not reachable: we never pass verify=False"   # required
//!
//! [scan]
//! require-hashes = false        # every requirement must carry --hash (`no-hashes` otherwise)
//!
//! [names]
//! min-edit-len = 5              # single-character edits only against names this long or longer
//! min-rank-ratio = 50           # a ranked name is a squat only of names this many times more popular
//! new-within-months = 3         # latest release this recent counts as new
//! ```

use serde::Deserialize;

/// The verdict at which a command exits 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Exit 1 on `warn` or `block`.
    Warn,
    /// Exit 1 on `block` only.
    Block,
}

/// `[check]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckPolicy {
    /// Names never reported (any spelling).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Exit 1 at this verdict or worse.
    #[serde(default = "default_fail_on")]
    pub fail_on: FailOn,
    /// A first upload younger than this many days is `new-project`.
    #[serde(default = "default_cooldown")]
    pub cooldown_days: u32,
    /// Findings left out until a date.
    #[serde(default)]
    pub ignore: Vec<Ignore>,
}

impl Default for CheckPolicy {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            fail_on: default_fail_on(),
            cooldown_days: default_cooldown(),
            ignore: Vec::new(),
        }
    }
}

/// One `[[check.ignore]]` entry.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Ignore {
    /// An advisory id or alias (`GHSA-…`, `PYSEC-…`, `CVE-…`, `MAL-…`) or a finding id.
    pub id: String,
    /// Only for this project (any spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Only for this release of it (a VEX statement about one version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The last day it applies, `YYYY-MM-DD`.
    #[serde(deserialize_with = "date")]
    pub until: String,
    /// Why; shown in reports.
    pub reason: String,
}

impl Ignore {
    /// Days since 1970-01-01 of `until` (validated when the file was read).
    pub fn until_day(&self) -> i64 {
        parse_date(&self.until).unwrap_or(i64::MIN)
    }

    /// Whether it leaves out, on day `today`, a finding about `normalized` at `version` known by
    /// any of `ids` (the finding id, an advisory id and its aliases).
    pub fn applies(
        &self,
        normalized: &str,
        version: Option<&str>,
        ids: &[&str],
        today: i64,
    ) -> bool {
        let package = self
            .package
            .as_deref()
            .is_none_or(|p| picket_formats::normalize(p) == normalized);
        let release = self.version.as_deref().is_none_or(|v| Some(v) == version);
        package
            && release
            && self.until_day() >= today
            && ids.iter().any(|id| id.eq_ignore_ascii_case(&self.id))
    }
}

/// Days since the epoch of a `YYYY-MM-DD` date, if it is a real one.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = picket_formats::time::days_from_civil(y, m, d);
    (picket_formats::time::civil_from_days(days) == (y, m, d)).then_some(days)
}

fn date<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    match parse_date(&text) {
        Some(_) => Ok(text),
        None => Err(serde::de::Error::custom(format!(
            "`{text}` is not a date; write YYYY-MM-DD"
        ))),
    }
}

/// `[scan]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ScanPolicy {
    /// Every requirement must carry `--hash`.
    #[serde(default)]
    pub require_hashes: bool,
    /// Licenses allowed and denied (judged online: licenses come from the index).
    #[serde(default)]
    pub licenses: crate::licenses::LicensePolicy,
}

fn default_fail_on() -> FailOn {
    FailOn::Block
}

fn default_cooldown() -> u32 {
    14
}

/// `[names]`. Unset keys take `picket-names`' defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NamesPolicy {
    /// See [`picket_names::SquatConfig::min_edit_len`].
    pub min_edit_len: Option<usize>,
    /// See [`picket_names::SquatConfig::min_rank_ratio`].
    pub min_rank_ratio: Option<u32>,
    /// See [`picket_names::AssessConfig::new_within_months`].
    pub new_within_months: Option<u32>,
}

impl NamesPolicy {
    /// The detector configuration, defaults filled in.
    pub fn squat_config(&self) -> picket_names::SquatConfig {
        let defaults = picket_names::SquatConfig::default();
        picket_names::SquatConfig {
            min_edit_len: self.min_edit_len.unwrap_or(defaults.min_edit_len),
            min_rank_ratio: self.min_rank_ratio.unwrap_or(defaults.min_rank_ratio),
            ..defaults
        }
    }
}
