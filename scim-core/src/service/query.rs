//! Decoding what a request says besides its body: query parameters, integers, entity tags,
//! media types; and the JSON nesting check.

use crate::error::{Error, quote_input};
use crate::message::SortOrder;

/// The list-query parameters of a GET (or a SearchRequest), not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawQuery {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    /// RFC 9865 `cursor` (empty for the first page).
    pub cursor: Option<String>,
}

impl RawQuery {
    /// Decodes a query string: `%XX` and `+` decoded, a `%` not followed by two hex digits
    /// kept; parameter names case-insensitive; the first occurrence of a name wins.
    pub(crate) fn parse(query: &str) -> Self {
        let mut q = RawQuery::default();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.to_ascii_lowercase().as_str() {
                "filter" => &mut q.filter,
                "sortby" => &mut q.sort_by,
                "sortorder" => &mut q.sort_order,
                "startindex" => &mut q.start_index,
                "count" => &mut q.count,
                "attributes" => &mut q.attributes,
                "excludedattributes" => &mut q.excluded_attributes,
                "cursor" => &mut q.cursor,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(v.into_owned());
            }
        }
        q
    }
}

/// A decimal integer as RFC 7644 §3.4.2.4 parameters carry it: an optional sign and
/// digits, nothing else. Values beyond `i64` saturate.
///
/// # Errors
///
/// 400 `invalidValue` for anything else (`abc`, `1e9`, `1.5`, empty).
pub(crate) fn parse_int(name: &str, text: &str) -> Result<i64, Error> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_value(format!(
            "`{name}` must be a decimal integer, not {}",
            quote_input(text)
        )));
    }
    let mut n: i64 = 0;
    for b in digits.bytes() {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    Ok(if negative { -n } else { n })
}

/// The clamped `startIndex` (at least 1).
pub(crate) fn clamp_start(start: Option<i64>) -> u64 {
    start.map_or(1, |s| u64::try_from(s.max(1)).unwrap_or(1))
}

/// The clamped `count`: 0 to `max`; `max` when absent.
pub(crate) fn clamp_count(count: Option<i64>, max: u64) -> u64 {
    match count {
        None => max,
        Some(c) => u64::try_from(c.max(0)).unwrap_or(0).min(max),
    }
}

/// The opaque RFC 9865 cursor of the result at `offset` (0-based).
pub(crate) fn encode_cursor(offset: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o{offset}"))
}

/// Reads a cursor made by [`encode_cursor`]; the empty cursor is the first page.
///
/// # Errors
///
/// 400 `invalidValue` for a cursor this service did not make.
pub(crate) fn decode_cursor(cursor: &str) -> Result<u64, Error> {
    use base64::Engine as _;
    if cursor.is_empty() {
        return Ok(0);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix('o').and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            Error::invalid_value(format!(
                "the cursor {} is not one this service issued",
                quote_input(cursor)
            ))
        })
}

/// Reads `sortOrder`.
pub(crate) fn parse_sort_order(text: Option<&str>) -> Result<SortOrder, Error> {
    match text.map(str::trim) {
        None | Some("") => Ok(SortOrder::Ascending),
        Some(t) if t.eq_ignore_ascii_case("ascending") => Ok(SortOrder::Ascending),
        Some(t) if t.eq_ignore_ascii_case("descending") => Ok(SortOrder::Descending),
        Some(t) => Err(Error::invalid_value(format!(
            "`sortOrder` must be \"ascending\" or \"descending\", not {}",
            quote_input(t)
        ))),
    }
}

/// The opaque part of an entity tag (`W/"x"` and `"x"` both give `x`); `None` when it is
/// not an entity tag.
fn opaque(tag: &str) -> Option<&str> {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"')?.strip_suffix('"')
}

/// An `If-Match` / `If-None-Match` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Preconditions {
    /// `*`: any existing resource.
    Any,
    /// The opaque parts of the listed tags.
    Tags(Vec<String>),
}

impl Preconditions {
    /// Reads the header values (a comma-separated list, possibly over several fields).
    pub(crate) fn parse<'a>(values: impl Iterator<Item = &'a http::HeaderValue>) -> Option<Self> {
        let mut tags = Vec::new();
        let mut seen = false;
        for v in values {
            seen = true;
            let text = String::from_utf8_lossy(v.as_bytes());
            for part in split_tags(&text) {
                if part.trim() == "*" {
                    return Some(Preconditions::Any);
                }
                if let Some(o) = opaque(part) {
                    tags.push(o.to_owned());
                }
            }
        }
        seen.then_some(Preconditions::Tags(tags))
    }

    /// Weak comparison with the current version (RFC 7644 §3.14).
    pub(crate) fn matches(&self, version: &str) -> bool {
        match self {
            Preconditions::Any => true,
            Preconditions::Tags(t) => t.iter().any(|t| t == version),
        }
    }
}

/// Splits a list of entity tags at the commas outside quotes.
fn split_tags(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Whether a `Content-Type` value is one the service reads (SCIM or plain JSON).
pub(crate) fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json")
}

/// Whether an `Accept` value asks for `application/json` rather than SCIM's media type.
pub(crate) fn wants_plain_json(accept: &str) -> bool {
    let mut plain = false;
    for item in accept.split(',') {
        let essence = item.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/scim+json") {
            return false;
        }
        if essence.eq_ignore_ascii_case("application/json") {
            plain = true;
        }
    }
    plain
}

/// Checks that `body` nests arrays and objects at most `max` deep, in one pass without
/// recursion (strings and escapes skipped).
///
/// # Errors
///
/// 400 `invalidSyntax`.
pub(crate) fn check_depth(body: &[u8], max: usize) -> Result<(), Error> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Error::invalid_syntax(format!(
                        "the request body nests arrays and objects more than {max} levels deep"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int("count", "10").ok(), Some(10));
        assert_eq!(parse_int("count", "+7").ok(), Some(7));
        assert_eq!(parse_int("count", "-3").ok(), Some(-3));
        assert_eq!(
            parse_int("count", "99999999999999999999999").ok(),
            Some(i64::MAX)
        );
        assert_eq!(
            parse_int("count", "-99999999999999999999999").ok(),
            Some(-i64::MAX)
        );
        for bad in ["", "abc", "1e9", "1.5", "+", "-", " 1", "0x10"] {
            let e = parse_int("count", bad).expect_err(bad);
            assert_eq!(e.status, 400);
            assert_eq!(e.scim_type, Some(crate::ScimType::InvalidValue));
        }
        assert_eq!(clamp_start(Some(-5)), 1);
        assert_eq!(clamp_start(None), 1);
        assert_eq!(clamp_count(Some(-1), 100), 0);
        assert_eq!(clamp_count(Some(i64::MAX), 100), 100);
        assert_eq!(clamp_count(None, 100), 100);
    }

    #[test]
    fn query_decoding() {
        let q = RawQuery::parse("filter=userName+eq+%22a%20b%22&COUNT=5&startIndex=2&count=9");
        assert_eq!(q.filter.as_deref(), Some("userName eq \"a b\""));
        assert_eq!(q.count.as_deref(), Some("5"));
        let q = RawQuery::parse("filter=displayName%20eq%20%22100%%22");
        assert_eq!(q.filter.as_deref(), Some("displayName eq \"100%\""));
        let q = RawQuery::parse("filter=a%zz");
        assert_eq!(q.filter.as_deref(), Some("a%zz"));
    }

    #[test]
    fn cursors() {
        for n in [0, 1, 99, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(n)).ok(), Some(n));
        }
        assert_eq!(decode_cursor("").ok(), Some(0));
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor("bm9wZQ").is_err());
    }

    #[test]
    fn etags() {
        let v = [http::HeaderValue::from_static(r#"W/"3", "a,b""#)];
        let p = Preconditions::parse(v.iter()).expect("present");
        assert!(p.matches("3"));
        assert!(p.matches("a,b"));
        assert!(!p.matches("4"));
        let v = [http::HeaderValue::from_static("*")];
        assert_eq!(Preconditions::parse(v.iter()), Some(Preconditions::Any));
        assert_eq!(Preconditions::parse([].iter()), None);
    }

    #[test]
    fn media_types() {
        assert!(is_json_media_type("application/scim+json; charset=utf-8"));
        assert!(is_json_media_type("Application/JSON"));
        assert!(!is_json_media_type("text/plain"));
        assert!(wants_plain_json("application/json"));
        assert!(!wants_plain_json("application/scim+json, application/json"));
        assert!(!wants_plain_json("*/*"));
    }

    #[test]
    fn depth() {
        assert!(check_depth(b"[[[]]]", 3).is_ok());
        assert!(check_depth(b"[[[[]]]]", 3).is_err());
        assert!(check_depth(br#"{"a":"[[[[[[\"]]"}"#, 1).is_ok());
    }
}
