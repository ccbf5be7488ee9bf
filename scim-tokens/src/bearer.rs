//! RFC 6750: the bearer token from `Authorization`, and the response to a failure.

use std::fmt;
use std::sync::Arc;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::error::SettingsError;
use crate::store::StoreError;
use crate::token::{MAX_TOKEN_LEN, Malformed};

/// The default realm.
pub const DEFAULT_REALM: &str = "SCIM";

/// The longest realm accepted, in bytes.
const REALM_MAX_LEN: usize = 256;

/// The `realm` of the `WWW-Authenticate` challenges, with the three challenge header
/// values built once. Cheap to clone.
#[derive(Clone)]
pub struct Realm(Arc<RealmInner>);

struct RealmInner {
    name: Box<str>,
    /// `Bearer realm="..."`
    challenge: HeaderValue,
    /// `Bearer realm="...", error="invalid_token"`
    invalid_token: HeaderValue,
    /// `Bearer realm="...", error="invalid_request"`
    invalid_request: HeaderValue,
}

impl Realm {
    /// A realm: at most 256 printable ASCII characters (space included) other than `"` and
    /// `\`, so that it needs no escaping in a quoted string.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Realm`] if it has another character or is too long.
    pub fn new(name: &str) -> Result<Self, SettingsError> {
        let valid = name.len() <= REALM_MAX_LEN
            && name
                .bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        if !valid {
            return Err(SettingsError::Realm);
        }
        let value = |suffix: &str| {
            HeaderValue::from_str(&format!("Bearer realm=\"{name}\"{suffix}"))
                .map_err(|_| SettingsError::Realm)
        };
        Ok(Self(Arc::new(RealmInner {
            name: name.into(),
            challenge: value("")?,
            invalid_token: value(", error=\"invalid_token\"")?,
            invalid_request: value(", error=\"invalid_request\"")?,
        })))
    }

    /// The realm's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl Default for Realm {
    fn default() -> Self {
        Self(Arc::new(RealmInner {
            name: DEFAULT_REALM.into(),
            challenge: HeaderValue::from_static("Bearer realm=\"SCIM\""),
            invalid_token: HeaderValue::from_static(
                "Bearer realm=\"SCIM\", error=\"invalid_token\"",
            ),
            invalid_request: HeaderValue::from_static(
                "Bearer realm=\"SCIM\", error=\"invalid_request\"",
            ),
        }))
    }
}

impl fmt::Debug for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Realm({:?})", self.name())
    }
}

impl PartialEq for Realm {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Realm {}

/// Why a bearer token was refused. Only the first four tell anything about the token's
/// text, and only its shape; the last covers unknown, wrong, expired and revoked tokens
/// alike, so the response does not tell which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidToken {
    /// The header or the token is longer than [`MAX_TOKEN_LEN`] bytes.
    TooLong,
    /// Not the shape of a token: wrong length, prefix or separators, trailing text.
    Shape,
    /// A character that cannot be in a token.
    Character,
    /// The checksum does not match (a typo, or not a token of this deployment).
    Checksum,
    /// Well-formed, but not a live token: unknown id, wrong secret, expired, revoked.
    Rejected,
}

impl From<Malformed> for InvalidToken {
    fn from(m: Malformed) -> Self {
        match m {
            Malformed::TooLong => InvalidToken::TooLong,
            Malformed::Shape => InvalidToken::Shape,
            Malformed::Character => InvalidToken::Character,
            Malformed::Checksum => InvalidToken::Checksum,
        }
    }
}

impl fmt::Display for InvalidToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidToken::TooLong => "too long",
            InvalidToken::Shape => "not the shape of a token",
            InvalidToken::Character => "a character that cannot be in a token",
            InvalidToken::Checksum => "checksum mismatch",
            InvalidToken::Rejected => "unknown, wrong, expired or revoked",
        })
    }
}

/// What went wrong, as [`AuthError::kind`] tells it.
#[derive(Debug, thiserror::Error)]
pub enum AuthErrorKind {
    /// No `Authorization` field, an empty one, or the `Bearer` scheme without a token:
    /// 401 with a challenge and no error code (RFC 6750 §3.1).
    #[error("no credentials")]
    MissingCredentials,
    /// Another scheme than `Bearer` (`Basic`, ...): 401 with a challenge and no error code.
    #[error("the authorization scheme is not Bearer")]
    UnsupportedScheme,
    /// More than one `Authorization` field: 400 `invalid_request`.
    #[error("more than one Authorization header field")]
    MultipleAuthorizationFields,
    /// A bearer token that is malformed, unknown, wrong, expired or revoked: 401
    /// `invalid_token`.
    #[error("invalid token: {0}")]
    InvalidToken(InvalidToken),
    /// The store failed: 500, no challenge. Holds no token (stores only see token ids).
    #[error("token store: {0}")]
    Store(#[source] StoreError),
}

/// A refused authentication, knowing its RFC 6750 response: [`status`](Self::status) and
/// the [`WWW-Authenticate`](Self::www_authenticate) value. Neither its `Display` nor its
/// `Debug` contains the token.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct AuthError {
    kind: AuthErrorKind,
    realm: Realm,
}

impl AuthError {
    /// An error of kind `kind`, answered with challenges for `realm`.
    pub fn new(kind: AuthErrorKind, realm: Realm) -> Self {
        Self { kind, realm }
    }

    /// What went wrong.
    pub fn kind(&self) -> &AuthErrorKind {
        &self.kind
    }

    /// Into what went wrong.
    pub fn into_kind(self) -> AuthErrorKind {
        self.kind
    }

    /// The HTTP status of the response: 401, 400 for several `Authorization` fields, 500 for
    /// a store failure.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            AuthErrorKind::MissingCredentials
            | AuthErrorKind::UnsupportedScheme
            | AuthErrorKind::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            AuthErrorKind::MultipleAuthorizationFields => StatusCode::BAD_REQUEST,
            AuthErrorKind::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `WWW-Authenticate` value of the response (`None` for a store failure).
    pub fn www_authenticate(&self) -> Option<&HeaderValue> {
        let realm = &self.realm.0;
        match self.kind {
            AuthErrorKind::MissingCredentials | AuthErrorKind::UnsupportedScheme => {
                Some(&realm.challenge)
            }
            AuthErrorKind::InvalidToken(_) => Some(&realm.invalid_token),
            AuthErrorKind::MultipleAuthorizationFields => Some(&realm.invalid_request),
            AuthErrorKind::Store(_) => None,
        }
    }

    /// The whole response: the status, the `WWW-Authenticate` header, and `body`.
    pub fn to_response<B>(&self, body: B) -> http::Response<B> {
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status();
        if let Some(value) = self.www_authenticate() {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, value.clone());
        }
        response
    }
}

/// Trims optional white space (SP, HTAB), which is not part of a field value (RFC 9110
/// §5.5).
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Whether the first seven bytes of `head` are `Bearer` in any case followed by one space
/// (the eighth, the token's first byte, is not looked at).
#[inline]
fn is_bearer_space(head: &[u8; 8]) -> bool {
    // One 8-byte load, not seven byte loads put together. Setting bit 5 lowercases an ASCII
    // letter; of all bytes only `B` and `b` give `b`, and so on, so this is a caseless
    // comparison for the six letters. The space is compared as is, the eighth byte masked.
    const FOLD: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0, 0]);
    const MASK: u64 = u64::from_le_bytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
    (u64::from_le_bytes(*head) | FOLD) & MASK == u64::from_le_bytes(*b"bearer \0")
}

/// Up to this many fields, [`authorization_field`] looks for the field by name, one field
/// after the other, rather than by the header map's hash.
const SCAN_MAX_FIELDS: usize = 16;

/// The `Authorization` field of `headers`, if there is one; an error if there are several.
///
/// A request carries a handful of fields, and when no name has a second value
/// (`len() == keys_len()`: each name once, so at most one `Authorization`) they are
/// compared by name in order: a standard name is a one-byte compare, cheaper than hashing
/// the name for the map's lookup (a multiply chain) and probing. Larger maps, and any map
/// where a name repeats, take the map's own lookup of every value of the name.
#[inline]
fn authorization_field(headers: &HeaderMap) -> Result<Option<&HeaderValue>, AuthErrorKind> {
    if headers.len() == headers.keys_len() && headers.keys_len() <= SCAN_MAX_FIELDS {
        return Ok(headers
            .iter()
            .find_map(|(name, value)| (name == AUTHORIZATION).then_some(value)));
    }
    let mut fields = headers.get_all(AUTHORIZATION).iter();
    let first = fields.next();
    if fields.next().is_some() {
        return Err(AuthErrorKind::MultipleAuthorizationFields);
    }
    Ok(first)
}

/// The token text of the one `Authorization` field of `headers`, unchecked.
///
/// `credentials = auth-scheme 1*SP token`, the scheme case-insensitive. With
/// `accept_bare_token`, a value with no space is taken as the token itself (Okta's "Header"
/// authentication mode).
#[inline]
pub(crate) fn bearer_credentials(
    headers: &HeaderMap,
    accept_bare_token: bool,
) -> Result<&[u8], AuthErrorKind> {
    let Some(value) = authorization_field(headers)? else {
        return Err(AuthErrorKind::MissingCredentials);
    };
    let bytes = value.as_bytes();
    if bytes.len() > MAX_TOKEN_LEN {
        return Err(AuthErrorKind::InvalidToken(InvalidToken::TooLong));
    }
    // What clients send: `Bearer`, one space, the token, no white space around. The same
    // answer as the general path below, without its scans.
    // Eight bytes at least: `Bearer `, and a token that is not empty.
    if let Some(head) = bytes.first_chunk::<8>()
        && is_bearer_space(head)
        && head[7] != b' '
        && head[7] != b'\t'
        && bytes.last().is_some_and(|&b| b != b' ' && b != b'\t')
    {
        return Ok(&bytes[7..]);
    }
    let bytes = trim_ows(bytes);
    if bytes.is_empty() {
        return Err(AuthErrorKind::MissingCredentials);
    }
    match bytes.iter().position(|&b| b == b' ') {
        Some(space) => {
            if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
                return Err(AuthErrorKind::UnsupportedScheme);
            }
            // The value is trimmed, so at least one byte after the spaces is not a space.
            let token = &bytes[space..];
            let start = token.iter().position(|&b| b != b' ').unwrap_or(token.len());
            Ok(&token[start..])
        }
        None if bytes.eq_ignore_ascii_case(b"bearer") => Err(AuthErrorKind::MissingCredentials),
        None if accept_bare_token => Ok(bytes),
        None => Err(AuthErrorKind::UnsupportedScheme),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    fn creds(values: &[&[u8]], bare: bool) -> Result<Vec<u8>, String> {
        bearer_credentials(&headers(values), bare)
            .map(<[u8]>::to_vec)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn scheme_and_spacing() {
        assert_eq!(creds(&[b"Bearer abc"], false), Ok(b"abc".to_vec()));
        assert_eq!(creds(&[b"bEaReR    abc"], false), Ok(b"abc".to_vec()));
        assert_eq!(creds(&[b"  Bearer abc \t"], false), Ok(b"abc".to_vec()));
        // Trailing text stays in the token, for the format check to refuse.
        assert_eq!(creds(&[b"Bearer abc def"], false), Ok(b"abc def".to_vec()));
        assert_eq!(
            creds(&[b"Bearer\tabc"], false).unwrap_err(),
            "the authorization scheme is not Bearer"
        );
        assert_eq!(
            creds(&[b"Basic abc"], false).unwrap_err(),
            "the authorization scheme is not Bearer"
        );
        assert_eq!(creds(&[b"Bearer"], false).unwrap_err(), "no credentials");
        assert_eq!(creds(&[b"Bearer   "], false).unwrap_err(), "no credentials");
        assert_eq!(creds(&[b""], false).unwrap_err(), "no credentials");
        assert_eq!(creds(&[], false).unwrap_err(), "no credentials");
        assert_eq!(
            creds(&[b"Bearer a", b"Bearer b"], false).unwrap_err(),
            "more than one Authorization header field"
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        // Every case of the first seven bytes around "Bearer ", and a token with white
        // space or not at each end.
        for scheme in [
            "Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer\t", "Bearez ", "Bearer",
        ] {
            for token in ["abc", " abc", "\tabc", "abc ", "abc\t", "a", " ", ""] {
                let value = format!("{scheme}{token}");
                let Ok(header) = HeaderValue::from_str(&value) else {
                    continue;
                };
                let mut map = HeaderMap::new();
                map.insert(AUTHORIZATION, header);
                let got = bearer_credentials(&map, false).map(<[u8]>::to_vec);
                // The general path: trim, split at the first space, skip the spaces.
                let trimmed = trim_ows(value.as_bytes());
                let expected = match trimmed.iter().position(|&b| b == b' ') {
                    Some(i) if trimmed[..i].eq_ignore_ascii_case(b"bearer") => {
                        let rest = &trimmed[i..];
                        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
                        Some(rest[start..].to_vec())
                    }
                    _ => None,
                };
                assert_eq!(got.ok(), expected, "{value:?}");
            }
        }
        let other: Vec<u8> = (0..=255u8).filter(|&b| b | 0x20 == b'b').collect();
        assert_eq!(other, b"Bb");
    }

    #[test]
    fn bearer_space_word_accepts_only_the_cases_of_each_letter() {
        let base = *b"Bearer x";
        assert!(is_bearer_space(&base));
        // The eighth byte (the token's first) is not looked at.
        for b in 0..=255u8 {
            let mut head = base;
            head[7] = b;
            assert!(is_bearer_space(&head));
        }
        // At each of the seven positions, only the byte itself (and its other case, for a
        // letter) is accepted.
        for i in 0..7 {
            let accepted: Vec<u8> = (0..=255u8)
                .filter(|&b| {
                    let mut head = base;
                    head[i] = b;
                    is_bearer_space(&head)
                })
                .collect();
            let expected: Vec<u8> = if i < 6 {
                vec![base[i].to_ascii_uppercase(), base[i].to_ascii_lowercase()]
            } else {
                vec![b' ']
            };
            assert_eq!(accepted, expected, "position {i}");
        }
    }

    /// A map of `others` unrelated fields with `auth` `Authorization` values inserted after
    /// `at` of them.
    fn map_with(others: usize, auth: &[&str], at: usize) -> HeaderMap {
        let mut map = HeaderMap::new();
        let names = [
            http::header::HOST,
            http::header::USER_AGENT,
            http::header::ACCEPT,
            http::header::CONTENT_TYPE,
            http::header::CONTENT_LENGTH,
            http::header::ACCEPT_ENCODING,
        ];
        for i in 0..others {
            if i == at {
                for a in auth {
                    map.append(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
                }
            }
            let name = match names.get(i) {
                Some(n) => n.clone(),
                None => http::HeaderName::from_bytes(format!("x-field-{i}").as_bytes()).unwrap(),
            };
            map.append(name, HeaderValue::from_static("v"));
        }
        if at >= others {
            for a in auth {
                map.append(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
            }
        }
        map
    }

    #[test]
    fn authorization_field_by_scan_and_by_lookup_agree() {
        // Maps on both sides of the scan limit, the field at every position, once, twice,
        // three times or not at all, and a repeated other field (which disables the scan).
        for others in [
            0,
            1,
            5,
            SCAN_MAX_FIELDS - 1,
            SCAN_MAX_FIELDS,
            SCAN_MAX_FIELDS + 3,
        ] {
            for at in 0..=others {
                for auth in [
                    &[][..],
                    &["Bearer a"],
                    &["Bearer a", "Bearer b"],
                    &["x", "y", "z"],
                ] {
                    for repeat_other in [false, true] {
                        let mut map = map_with(others, auth, at);
                        if repeat_other {
                            map.append(http::header::ACCEPT, HeaderValue::from_static("w"));
                        }
                        let expected = match map.get_all(AUTHORIZATION).iter().count() {
                            0 => Ok(None),
                            1 => Ok(map.get(AUTHORIZATION).cloned()),
                            _ => Err("more than one Authorization header field".to_owned()),
                        };
                        let got = authorization_field(&map)
                            .map(|v| v.cloned())
                            .map_err(|e| e.to_string());
                        assert_eq!(got, expected, "{others} fields, at {at}, {auth:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn bare_tokens_only_when_asked() {
        assert_eq!(
            creds(&[b"abc"], false).unwrap_err(),
            "the authorization scheme is not Bearer"
        );
        assert_eq!(creds(&[b"abc"], true), Ok(b"abc".to_vec()));
        assert_eq!(creds(&[b"Bearer abc"], true), Ok(b"abc".to_vec()));
        assert_eq!(creds(&[b"Bearer"], true).unwrap_err(), "no credentials");
        assert_eq!(
            creds(&[b"Basic abc"], true).unwrap_err(),
            "the authorization scheme is not Bearer"
        );
    }

    #[test]
    fn long_values_are_refused_first() {
        let long = [b"Bearer ".as_slice(), &[b'a'; MAX_TOKEN_LEN]].concat();
        assert_eq!(
            creds(&[&long], false).unwrap_err(),
            "invalid token: too long"
        );
        let basic = [b"Basic ".as_slice(), &[b'a'; MAX_TOKEN_LEN]].concat();
        assert_eq!(
            creds(&[&basic], false).unwrap_err(),
            "invalid token: too long"
        );
    }

    #[test]
    fn realms() {
        assert_eq!(Realm::default(), Realm::new(DEFAULT_REALM).unwrap());
        let realm = Realm::new("Acme SCIM").unwrap();
        let err = AuthError::new(AuthErrorKind::InvalidToken(InvalidToken::Rejected), realm);
        assert_eq!(
            err.www_authenticate().unwrap(),
            "Bearer realm=\"Acme SCIM\", error=\"invalid_token\""
        );
        for bad in ["a\"b", "a\\b", "é", "a\nb"] {
            assert!(Realm::new(bad).is_err(), "{bad}");
        }
        assert!(Realm::new(&"r".repeat(257)).is_err());
        let response = err.to_response(());
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"Acme SCIM\", error=\"invalid_token\""
        );
        let store = AuthError::new(AuthErrorKind::Store(StoreError::IdTaken), Realm::default());
        assert_eq!(store.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            store
                .to_response(())
                .headers()
                .get(WWW_AUTHENTICATE)
                .is_none()
        );
    }
}
