//! A wheel's `RECORD` as an installer writes it: CSV rows of `path,algorithm=digest,size`, the
//! digest urlsafe-base64 without padding. Pure: text in, rows out.

/// One row of a `RECORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordEntry {
    /// The path as written: relative to the folder holding the `.dist-info`, `/`-separated.
    pub path: String,
    /// The digest, when the row has one (the `RECORD` itself and compiled files have none).
    pub hash: Option<Digest>,
    /// The size in bytes, when the row has one.
    pub size: Option<u64>,
    /// 1-based line.
    pub line: usize,
}

/// A digest from a `RECORD` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// `sha256`, `sha384`, `sha512`, or what the row names.
    pub algorithm: String,
    /// The decoded digest bytes.
    pub bytes: Vec<u8>,
}

/// Why a `RECORD` row could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RecordError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads every row; a row that is not `path,hash,size` is an error naming its line.
pub fn parse(text: &str) -> Result<Vec<RecordEntry>, RecordError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fail = |message: String| RecordError { line, message };
        // A row without quotes (nearly all) is split on its commas as it is.
        let fields = if raw.contains('"') {
            split_csv(raw).map_err(|m| fail(m.to_owned()))?
        } else {
            raw.split(',').map(str::to_owned).collect()
        };
        let [path, hash, size] = <[String; 3]>::try_from(fields).map_err(|f| {
            fail(format!(
                "{} fields; a RECORD row is path,hash,size",
                f.len()
            ))
        })?;
        if path.is_empty() {
            return Err(fail("empty path".to_owned()));
        }
        let hash = if hash.is_empty() {
            None
        } else {
            let (algorithm, digest) = hash
                .split_once('=')
                .ok_or_else(|| fail(format!("hash `{hash}` is not algorithm=digest")))?;
            let bytes = data_encoding::BASE64URL_NOPAD
                .decode(digest.trim_end_matches('=').as_bytes())
                .map_err(|_| fail(format!("digest of {path} is not urlsafe base64")))?;
            Some(Digest {
                algorithm: algorithm.to_ascii_lowercase(),
                bytes,
            })
        };
        let size = if size.is_empty() {
            None
        } else {
            Some(
                size.parse::<u64>()
                    .map_err(|_| fail(format!("size `{size}` of {path} is not a number")))?,
            )
        };
        out.push(RecordEntry {
            path,
            hash,
            size,
            line,
        });
    }
    Ok(out)
}

/// One CSV row (RFC 4180 quoting: `"` around a field, `""` inside for a quote).
fn split_csv(row: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = row.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => quoted = true,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            _ => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field is not closed");
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_as_pip_writes_them() {
        let text = "requests/__init__.py,sha256=LcIG_KEjQDvNe9sbN54Kn4J4U1o-DRW96ZeDPfJsc1g,5072\n\
                    requests-2.30.0.dist-info/RECORD,,\n\
                    \"odd,name.py\",sha256=YWI,2\n\
                    ../../../bin/tool,sha256=YWI,2\n";
        let rows = parse(text).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].path, "requests/__init__.py");
        assert_eq!(rows[0].size, Some(5072));
        assert_eq!(rows[0].hash.as_ref().unwrap().algorithm, "sha256");
        assert_eq!(rows[0].hash.as_ref().unwrap().bytes.len(), 32);
        assert_eq!(rows[1].hash, None);
        assert_eq!(rows[1].size, None);
        assert_eq!(rows[2].path, "odd,name.py");
        assert_eq!(rows[2].hash.as_ref().unwrap().bytes, b"ab");
        assert_eq!(rows[3].line, 4);
    }

    #[test]
    fn broken_rows_name_their_line() {
        for (text, needle) in [
            ("a.py,sha256=YWI\n", "2 fields"),
            ("a.py\nb.py,md5,3\n", "line 1: 1 fields"),
            ("ok.py,,\nb.py,sha256=!!,3\n", "line 2: digest of b.py"),
            ("b.py,sha256=YWI,many\n", "size `many`"),
            ("\"b.py,sha256=YWI,1\n", "not closed"),
            (",sha256=YWI,1\n", "empty path"),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
