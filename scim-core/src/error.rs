//! The SCIM error: one type for every failure, carrying the HTTP status, the `scimType`
//! (RFC 7644 §3.12) and a `detail` that says what and where. It serialises to the SCIM Error
//! message (`urn:ietf:params:scim:api:messages:2.0:Error`), with `status` as a string.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The URN of the SCIM Error message.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The most bytes of client input a `detail` quotes.
pub const MAX_QUOTED_INPUT: usize = 200;

/// The `scimType` error keywords of RFC 7644 §3.12, Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid, or the attribute and comparison combination is not
    /// supported (400).
    InvalidFilter,
    /// The filter yields more results than the server is willing to compute (400).
    TooMany,
    /// One or more unique attribute values are already in use (409).
    Uniqueness,
    /// The modification is incompatible with the target attribute's mutability (400).
    Mutability,
    /// The request body structure was invalid or did not conform to the schema (400).
    InvalidSyntax,
    /// The path attribute was invalid or malformed (400).
    InvalidPath,
    /// The path did not yield an attribute or value that could be operated on (400).
    NoTarget,
    /// A required value was missing, or the value was not compatible (400).
    InvalidValue,
    /// The specified SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request cannot be completed because of sensitive information in the URI (403).
    Sensitive,
}

impl ScimType {
    /// The keyword as it appears in JSON (`invalidFilter`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }

    /// The HTTP status RFC 7644 §3.12 gives this keyword.
    pub const fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SCIM error: HTTP status, optional `scimType`, and a human-readable `detail`.
///
/// Serialises to the SCIM Error message body:
/// `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The HTTP status code.
    pub status: u16,
    /// The `scimType` keyword, for 400 (and 409, 403) errors that have one.
    pub scim_type: Option<ScimType>,
    /// What went wrong and where.
    pub detail: String,
}

impl Error {
    /// An error with a `scimType`, whose status is the one RFC 7644 §3.12 gives it.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Error {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// An error with a status and no `scimType` (404, 405, 412, 413, 500, 501, ...).
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Error {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Error::new(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Error::new(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Error::new(ScimType::InvalidPath, detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Error::new(ScimType::InvalidFilter, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Error::new(ScimType::NoTarget, detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Error::new(ScimType::Mutability, detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Error::new(ScimType::Uniqueness, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Error::status(404, detail)
    }
}

/// Quotes client input for a `detail`: at most [`MAX_QUOTED_INPUT`] bytes (cut at a
/// character boundary, with `…` when cut), in JSON string syntax.
pub fn quote_input(input: &str) -> String {
    let mut end = input.len().min(MAX_QUOTED_INPUT);
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    let mut quoted = serde_json::Value::from(&input[..end]).to_string();
    if end < input.len() {
        quoted.push('…');
    }
    quoted
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scim_type {
            Some(t) => write!(f, "{} {}: {}", self.status, t, self.detail),
            None => write!(f, "{}: {}", self.status, self.detail),
        }
    }
}

impl std::error::Error for Error {}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    schemas: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scim_type: Option<ScimType>,
    #[serde(default)]
    detail: String,
    status: StatusWire,
}

/// `status` is a string in the RFC; accept a number too when reading.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StatusWire {
    Text(String),
    Number(u16),
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            scim_type: self.scim_type,
            detail: self.detail.clone(),
            status: StatusWire::Text(self.status.to_string()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let status = match w.status {
            StatusWire::Number(n) => n,
            StatusWire::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("invalid status `{t}`")))?,
        };
        Ok(Error {
            status,
            scim_type: w.scim_type,
            detail: w.detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let e = Error::invalid_value("attribute `userName` is required");
        let json = serde_json::to_value(&e).expect("serialise");
        assert_eq!(json["status"], "400");
        assert_eq!(json["scimType"], "invalidValue");
        assert_eq!(json["schemas"][0], ERROR_SCHEMA);
        let back: Error = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, e);
        let nf = serde_json::to_value(Error::not_found("no such resource")).expect("serialise");
        assert!(nf.get("scimType").is_none());
        assert_eq!(Error::uniqueness("x").status, 409);
    }

    #[test]
    fn quoting_is_bounded() {
        let long = "é".repeat(300);
        let q = quote_input(&long);
        assert!(q.len() <= MAX_QUOTED_INPUT + 8, "{}", q.len());
        assert!(q.ends_with('…'));
        assert_eq!(quote_input("a\"b"), "\"a\\\"b\"");
    }
}
