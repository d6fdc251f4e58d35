//! Content negotiation for the simple API (PEP 691): `Accept` with q-values, or `?format=`.

/// What to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PEP 691 JSON.
    Json,
    /// PEP 503 HTML under the versioned media type.
    Html,
    /// PEP 503 HTML as plain `text/html` (what old clients ask for).
    TextHtml,
}

impl Format {
    /// The `Content-Type` of the answer.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/vnd.pypi.simple.v1+json",
            Self::Html => "application/vnd.pypi.simple.v1+html",
            Self::TextHtml => "text/html; charset=utf-8",
        }
    }
}

fn media(range: &str) -> Option<Format> {
    match range.to_ascii_lowercase().as_str() {
        "application/vnd.pypi.simple.v1+json" | "application/vnd.pypi.simple.latest+json" => {
            Some(Format::Json)
        }
        "application/vnd.pypi.simple.v1+html" | "application/vnd.pypi.simple.latest+html" => {
            Some(Format::Html)
        }
        "text/html" | "text/*" | "*/*" => Some(Format::TextHtml),
        _ => None,
    }
}

/// Picks the format from `?format=` (which wins) or the `Accept` header. `None` means nothing the
/// client accepts can be served: 406.
pub fn choose(accept: Option<&str>, format_param: Option<&str>) -> Option<Format> {
    if let Some(param) = format_param {
        return media(param.trim());
    }
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(Format::TextHtml);
    };
    let mut best: Option<(u16, usize, Format)> = None;
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let mime = parts.next().unwrap_or("").trim();
        let mut q = 1000u16;
        for param in parts {
            if let Some((key, value)) = param.split_once('=')
                && key.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(value.trim()).unwrap_or(0);
            }
        }
        let Some(format) = media(mime) else { continue };
        if q == 0 {
            continue;
        }
        // Highest q wins; on a tie the client's first-listed range wins.
        if best.is_none_or(|(bq, bp, _)| q > bq || (q == bq && position < bp)) {
            best = Some((q, position, format));
        }
    }
    best.map(|(_, _, f)| f)
}

/// A q-value in thousandths (RFC 9110: at most three decimals, 0 to 1).
fn parse_q(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    let q = whole * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_and_uv_get_json() {
        let pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";
        assert_eq!(choose(Some(pip), None), Some(Format::Json));
    }

    #[test]
    fn q_values_rank_and_zero_refuses() {
        assert_eq!(
            choose(
                Some("application/vnd.pypi.simple.v1+json;q=0.2, text/html"),
                None
            ),
            Some(Format::TextHtml)
        );
        assert_eq!(choose(Some("text/html;q=0"), None), None);
        assert_eq!(choose(Some("application/xml"), None), None);
        assert_eq!(
            choose(Some("text/html;q=2"), None),
            None,
            "q over 1 is invalid"
        );
        assert_eq!(choose(None, None), Some(Format::TextHtml));
        assert_eq!(choose(Some("*/*"), None), Some(Format::TextHtml));
        assert_eq!(
            choose(Some("application/vnd.pypi.simple.latest+html"), None),
            Some(Format::Html)
        );
    }

    #[test]
    fn the_format_parameter_wins() {
        assert_eq!(
            choose(
                Some("text/html"),
                Some("application/vnd.pypi.simple.v1+json")
            ),
            Some(Format::Json)
        );
        assert_eq!(choose(None, Some("text/plain")), None);
    }

    #[test]
    fn q_parsing() {
        assert_eq!(parse_q("0.5"), Some(500));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.0001"), None);
        assert_eq!(parse_q("abc"), None);
    }
}
