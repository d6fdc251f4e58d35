//! Reading TOML with the line of every value at hand, so a wrong type is reported where it stands.

use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::{DepsError, line_at, syntax};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// A parsed TOML document and the file it came from.
pub(crate) struct Doc<'i> {
    pub(crate) file: &'i Path,
    text: &'i str,
}

impl<'i> Doc<'i> {
    pub(crate) fn parse(file: &'i Path, text: &'i str) -> Result<(Self, DeTable<'i>), DepsError> {
        let root = DeTable::parse(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_at(text, s.start));
            syntax(file, line, format!("invalid TOML: {}", e.message()))
        })?;
        Ok((Self { file, text }, root.into_inner()))
    }

    pub(crate) fn line(&self, value: &Value<'_>) -> usize {
        self.line_at(value.span().start)
    }

    pub(crate) fn line_at(&self, offset: usize) -> usize {
        line_at(self.text, offset)
    }

    fn wrong_type(&self, value: &Value<'_>, what: &str, expected: &str) -> DepsError {
        syntax(
            self.file,
            self.line(value),
            format!(
                "`{what}` must be {expected}, found {}",
                value.get_ref().type_str()
            ),
        )
    }

    pub(crate) fn str<'v>(&self, value: &'v Value<'i>, what: &str) -> Result<&'v str, DepsError> {
        value
            .get_ref()
            .as_str()
            .ok_or_else(|| self.wrong_type(value, what, "a string"))
    }

    pub(crate) fn table<'v>(
        &self,
        value: &'v Value<'i>,
        what: &str,
    ) -> Result<&'v DeTable<'i>, DepsError> {
        value
            .get_ref()
            .as_table()
            .ok_or_else(|| self.wrong_type(value, what, "a table"))
    }

    pub(crate) fn array<'v>(
        &self,
        value: &'v Value<'i>,
        what: &str,
    ) -> Result<&'v [Value<'i>], DepsError> {
        value
            .get_ref()
            .as_array()
            .map(|a| &**a)
            .ok_or_else(|| self.wrong_type(value, what, "an array"))
    }

    /// An optional string field of `table`.
    pub(crate) fn opt_str<'v>(
        &self,
        table: &'v DeTable<'i>,
        key: &str,
    ) -> Result<Option<&'v str>, DepsError> {
        table.get(key).map(|v| self.str(v, key)).transpose()
    }

    /// A required string field of `table`, whose own value stands at `at` for the error's line.
    pub(crate) fn req_str<'v>(
        &self,
        table: &'v DeTable<'i>,
        key: &str,
        at: &Value<'i>,
        what: &str,
    ) -> Result<&'v str, DepsError> {
        match table.get(key) {
            Some(v) => self.str(v, &format!("{what}.{key}")),
            None => Err(syntax(
                self.file,
                self.line(at),
                format!("`{what}` has no `{key}`"),
            )),
        }
    }

    /// An optional array field of `table`; absent means empty.
    pub(crate) fn opt_array<'v>(
        &self,
        table: &'v DeTable<'i>,
        key: &str,
    ) -> Result<&'v [Value<'i>], DepsError> {
        table.get(key).map_or(Ok(&[]), |v| self.array(v, key))
    }

    /// Checks a project name found in the file.
    pub(crate) fn name(
        &self,
        name: &str,
        at: &Value<'i>,
    ) -> Result<picket_formats::ProjectName, DepsError> {
        picket_formats::ProjectName::new(name)
            .map_err(|e| syntax(self.file, self.line(at), e.to_string()))
    }
}

/// Reads `{ sha256 = "…" }`-style hash tables (PEP 751) into `algorithm:hex` strings.
pub(crate) fn hash_table(doc: &Doc<'_>, value: &Value<'_>) -> Result<Vec<String>, DepsError> {
    let table = doc.table(value, "hashes")?;
    table
        .iter()
        .map(|(algorithm, digest)| {
            let digest = doc.str(digest, "hashes value")?;
            Ok(format!(
                "{}:{}",
                algorithm.get_ref(),
                digest.to_ascii_lowercase()
            ))
        })
        .collect()
}
