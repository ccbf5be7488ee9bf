//! The token text: `<prefix>_<id>_<secret><checksum>`; generating and parsing it.

use std::fmt;

use zeroize::Zeroizing;

use crate::base62;
use crate::crc32::{self, crc32};
use crate::digest::{SecretDigest, SecretEnd, sha256_secret};
use crate::error::{RandomnessError, SettingsError};
use crate::id::{ID_LEN, TokenId};

/// The number of base62 characters of the secret: 43 characters carry 256.03 bits.
pub const SECRET_LEN: usize = 43;

/// The number of base62 characters of the checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;

/// The longest prefix accepted, in bytes.
pub const PREFIX_MAX_LEN: usize = 32;

/// The default vendor prefix.
pub const DEFAULT_PREFIX: &str = "scim";

/// The longest token, or `Authorization` header value, looked at: anything longer is
/// rejected before any other work.
pub const MAX_TOKEN_LEN: usize = 1024;

/// The shape of the tokens of one deployment: its vendor prefix.
///
/// A token is `<prefix>_<id>_<secret><checksum>`:
///
/// - `prefix`: configurable ([`DEFAULT_PREFIX`] by default), so that secret scanners can
///   recognise a leaked token;
/// - `id`: the [`TokenId`], [`ID_LEN`] base62 characters, not secret, to find the record;
/// - `secret`: [`SECRET_LEN`] base62 characters drawn uniformly from the operating system's
///   randomness (256 bits);
/// - `checksum`: the CRC-32 (IEEE) of everything before it, as [`CHECKSUM_LEN`] base62
///   digits, zero-padded, so a typo or garbage is caught without a storage lookup.
///
/// All characters are base62 or `_`: a double-click selects the whole token, and it matches
/// RFC 6750's `b64token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFormat {
    prefix: Box<str>,
    /// The CRC-32 register after `<prefix>_`, the part every token shares.
    prefix_state: u32,
    /// `<prefix>_` as the low bytes of a little-endian word, when it has at most 8 bytes
    /// (the default `scim_` does): compared with one masked load instead of a `memcmp`.
    head_word: Option<HeadWord>,
    /// The masks that end the SHA-256 block of a secret (see [`sha256_secret`]).
    secret_end: SecretEnd,
}

/// `<prefix>_` of at most 8 bytes, for [`TokenFormat::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeadWord {
    /// The bytes of `<prefix>_`, zero above them.
    word: u64,
    /// Ones over the bytes of `<prefix>_`.
    mask: u64,
}

impl HeadWord {
    fn new(head: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; 8];
        bytes.get_mut(..head.len())?.copy_from_slice(head);
        let mut mask = [0u8; 8];
        mask[..head.len()].fill(0xFF);
        Some(Self {
            word: u64::from_le_bytes(bytes),
            mask: u64::from_le_bytes(mask),
        })
    }
}

impl Default for TokenFormat {
    fn default() -> Self {
        Self::with_valid_prefix(DEFAULT_PREFIX)
    }
}

/// The length of a token after `<prefix>_`: id, `_`, secret, checksum.
const AFTER_PREFIX_LEN: usize = ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;

/// Why a text is not a well-formed token. Says nothing of the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Longer than [`MAX_TOKEN_LEN`].
    #[error("the token is too long")]
    TooLong,
    /// Not the length, prefix or separators of a token of this deployment.
    #[error("the token does not have the expected shape")]
    Shape,
    /// A character that is not base62 where base62 is expected (or not UTF-8).
    #[error("the token has an invalid character")]
    Character,
    /// The checksum does not match.
    #[error("the token's checksum does not match")]
    Checksum,
}

impl TokenFormat {
    /// A format with the vendor prefix `prefix`: 1 to [`PREFIX_MAX_LEN`] ASCII letters,
    /// digits or underscores, starting with a letter.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Prefix`] if the prefix is not valid.
    pub fn new(prefix: &str) -> Result<Self, SettingsError> {
        let bytes = prefix.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= PREFIX_MAX_LEN
            && bytes[0].is_ascii_alphabetic()
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            Ok(Self::with_valid_prefix(prefix))
        } else {
            Err(SettingsError::Prefix)
        }
    }

    fn with_valid_prefix(prefix: &str) -> Self {
        let head = [prefix.as_bytes(), b"_"].concat();
        Self {
            prefix: prefix.into(),
            prefix_state: crc32::start(&head),
            head_word: HeadWord::new(&head),
            secret_end: SecretEnd::new(),
        }
    }

    /// The vendor prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The length of every token of this format.
    pub fn token_len(&self) -> usize {
        self.prefix.len() + 1 + ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN
    }

    /// Generates a token with the id `id` and a fresh secret.
    ///
    /// # Errors
    ///
    /// [`RandomnessError`] if the operating system gives no randomness.
    pub fn generate(&self, id: TokenId) -> Result<SecretToken, RandomnessError> {
        let len = self.token_len();
        let mut text = Zeroizing::new(vec![0u8; len]);
        let p = self.prefix.len();
        text[..p].copy_from_slice(self.prefix.as_bytes());
        text[p] = b'_';
        text[p + 1..p + 1 + ID_LEN].copy_from_slice(id.as_str().as_bytes());
        text[p + 1 + ID_LEN] = b'_';
        let secret_start = p + 2 + ID_LEN;
        base62::fill_random(&mut text[secret_start..secret_start + SECRET_LEN])?;
        let checksum = crc32(&[&text[..len - CHECKSUM_LEN]]);
        base62::encode_fixed(checksum, &mut text[len - CHECKSUM_LEN..]);
        // Every byte is ASCII; the conversion moves the buffer without copying it.
        let text = String::from_utf8(std::mem::take(&mut *text)).unwrap_or_default();
        Ok(SecretToken {
            text: Zeroizing::new(text),
            id,
            secret_start,
        })
    }

    /// The plain SHA-256 digest of the secret of `token`, a token of this format.
    #[inline]
    pub(crate) fn secret_digest(&self, token: &ParsedToken<'_>) -> SecretDigest {
        sha256_secret(token.secret_and_checksum(), &self.secret_end)
    }

    /// Parses a token of this format: its length, prefix, separators, characters and
    /// checksum. Needs no storage, so garbage is rejected before any lookup.
    ///
    /// # Errors
    ///
    /// [`Malformed`], saying what is wrong but not repeating the text.
    #[inline]
    pub fn parse<'a>(&self, text: &'a [u8]) -> Result<ParsedToken<'a>, Malformed> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(Malformed::TooLong);
        }
        let p = self.prefix.len();
        // Fixed-size pieces from here on: the checks below compile to straight-line code.
        let Some((head, rest)) = text.split_at_checked(p + 1) else {
            return Err(Malformed::Shape);
        };
        let Ok(rest) = <&[u8; AFTER_PREFIX_LEN]>::try_from(rest) else {
            return Err(Malformed::Shape);
        };
        let (id_bytes, rest) = rest.split_first_chunk::<ID_LEN>().ok_or(Malformed::Shape)?;
        let (separator, tail) = rest.split_first().ok_or(Malformed::Shape)?;
        let tail: &[u8; SECRET_LEN + CHECKSUM_LEN] =
            tail.try_into().map_err(|_| Malformed::Shape)?;
        let head_matches = match (self.head_word, text.first_chunk::<8>()) {
            // The text is longer than 8 bytes here: its first 8 hold `<prefix>_` and more.
            (Some(h), Some(first)) => u64::from_le_bytes(*first) & h.mask == h.word,
            _ => head[..p] == *self.prefix.as_bytes() && head[p] == b'_',
        };
        if !head_matches || *separator != b'_' {
            return Err(Malformed::Shape);
        }
        if !(base62::all_digits(id_bytes) & base62::all_digits(tail)) {
            return Err(Malformed::Character);
        }
        let (body, checksum) = text
            .split_last_chunk::<CHECKSUM_LEN>()
            .ok_or(Malformed::Shape)?;
        let body: &[u8; ID_LEN + 1 + SECRET_LEN] =
            body[p + 1..].try_into().map_err(|_| Malformed::Shape)?;
        // The digits were checked above, so their value is the checksum they encode (six
        // base62 digits write each number below 62^6 one way only).
        if base62::decode_six(checksum)
            != u64::from(crc32::finish_token_body(self.prefix_state, body))
        {
            return Err(Malformed::Checksum);
        }
        Ok(ParsedToken { id: id_bytes, tail })
    }
}

/// A well-formed token (its checksum matched), borrowed from the text it was parsed from.
/// Not yet verified: that needs the record of its id. `Debug` shows the id, not the secret.
#[derive(Clone, Copy)]
pub struct ParsedToken<'a> {
    /// The id's characters, checked to be base62. Borrowed like the secret: a parsed token
    /// is two pointers, and the id is read from the text in one piece when it is needed.
    id: &'a [u8; ID_LEN],
    /// The secret and the checksum after it.
    tail: &'a [u8; SECRET_LEN + CHECKSUM_LEN],
}

impl<'a> ParsedToken<'a> {
    /// The token's id, to look its record up by.
    #[inline]
    pub fn id(&self) -> TokenId {
        TokenId::from_checked(*self.id)
    }

    /// The secret and the checksum after it (whose bytes the secret's digest reads as
    /// part of a 16-byte word, and masks off).
    #[inline]
    pub(crate) fn secret_and_checksum(&self) -> &'a [u8; SECRET_LEN + CHECKSUM_LEN] {
        self.tail
    }

    /// The secret part, for hashing. Do not log it.
    #[inline]
    pub fn expose_secret(&self) -> &'a [u8] {
        &self.tail[..SECRET_LEN]
    }
}

impl fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("id", &self.id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A newly generated token: the only time its text exists on the server. Show it to the
/// administrator once, then drop it.
///
/// Its `Debug` and `Display` show the prefix and id with the secret redacted; the text is
/// only given by [`expose_secret`](Self::expose_secret); it is zeroed on drop.
pub struct SecretToken {
    text: Zeroizing<String>,
    id: TokenId,
    secret_start: usize,
}

impl SecretToken {
    /// The whole token text, to show once or to send as `Authorization: Bearer <token>`.
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// The token's id (not secret).
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The secret part of the text, to digest.
    pub(crate) fn secret_bytes(&self) -> &[u8] {
        &self.text.as_bytes()[self.secret_start..self.secret_start + SECRET_LEN]
    }

    fn redacted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visible = self.text.get(..self.secret_start).unwrap_or_default();
        write!(f, "{visible}<redacted>")
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(")?;
        self.redacted(f)?;
        f.write_str(")")
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.redacted(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(format: &TokenFormat) -> SecretToken {
        format.generate(TokenId::random().unwrap()).unwrap()
    }

    #[test]
    fn prefixes() {
        for good in ["scim", "acme_scim", "A", "x9", &"p".repeat(PREFIX_MAX_LEN)] {
            assert!(TokenFormat::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "9x",
            "_x",
            "a-b",
            "a b",
            "é",
            &"p".repeat(PREFIX_MAX_LEN + 1),
        ] {
            assert_eq!(TokenFormat::new(bad), Err(SettingsError::Prefix), "{bad}");
        }
    }

    #[test]
    fn generated_tokens_parse_back() {
        for prefix in ["scim", "acme_scim_v2"] {
            let format = TokenFormat::new(prefix).unwrap();
            let token = generate(&format);
            let text = token.expose_secret();
            assert_eq!(text.len(), format.token_len());
            assert!(text.starts_with(&format!("{prefix}_{}_", token.id())));
            let parsed = format.parse(text.as_bytes()).unwrap();
            assert_eq!(parsed.id(), token.id());
            assert_eq!(parsed.expose_secret(), token.secret_bytes());
            assert_eq!(parsed.expose_secret().len(), SECRET_LEN);
        }
    }

    #[test]
    fn default_token_length() {
        assert_eq!(TokenFormat::default().token_len(), 4 + 1 + 16 + 1 + 43 + 6);
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let format = TokenFormat::default();
        let token = generate(&format);
        let text = token.expose_secret().as_bytes();
        for i in 0..text.len() {
            for &c in base62::ALPHABET.iter().chain(b"_-.~+/=") {
                if c == text[i] {
                    continue;
                }
                let mut changed = text.to_vec();
                changed[i] = c;
                assert!(format.parse(&changed).is_err(), "position {i}");
            }
        }
    }

    #[test]
    fn malformed_reasons() {
        let format = TokenFormat::default();
        let token = generate(&format);
        let text = token.expose_secret().as_bytes();
        assert_eq!(
            format.parse(&[b'a'; MAX_TOKEN_LEN + 1]).err(),
            Some(Malformed::TooLong)
        );
        assert_eq!(format.parse(b"").err(), Some(Malformed::Shape));
        assert_eq!(format.parse(&text[1..]).err(), Some(Malformed::Shape));
        let mut other_prefix = text.to_vec();
        other_prefix[0] = b'x';
        assert_eq!(format.parse(&other_prefix).err(), Some(Malformed::Shape));
        let mut bad_char = text.to_vec();
        bad_char[10] = b'-';
        assert_eq!(format.parse(&bad_char).err(), Some(Malformed::Character));
        let mut bad_sum = text.to_vec();
        let last = bad_sum.len() - 1;
        bad_sum[last] = if bad_sum[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(format.parse(&bad_sum).err(), Some(Malformed::Checksum));
        // A token of another deployment's prefix is not ours.
        let other = TokenFormat::new("acme").unwrap();
        assert!(other.parse(text).is_err());
    }

    #[test]
    fn prefixes_of_every_length_compare_whole() {
        // Up to 7 characters (with `_`, 8 bytes) by one word, longer ones byte by byte: the
        // same answers either way.
        for len in 1..=12 {
            let prefix: String = "abcdefghijkl"[..len].to_owned();
            let format = TokenFormat::new(&prefix).unwrap();
            assert_eq!(format.head_word.is_some(), len < 8, "{prefix}");
            let token = generate(&format);
            let text = token.expose_secret().as_bytes();
            assert!(format.parse(text).is_ok(), "{prefix}");
            for i in 0..=len {
                let mut changed = text.to_vec();
                changed[i] ^= 0x01;
                assert_eq!(
                    format.parse(&changed).err(),
                    Some(Malformed::Shape),
                    "{prefix} at {i}"
                );
            }
            // The same length of another prefix, and a prefix of a prefix, are not ours.
            let other = TokenFormat::new(&"z".repeat(len)).unwrap();
            assert!(other.parse(text).is_err());
            if len > 1 {
                let shorter = TokenFormat::new(&prefix[..len - 1]).unwrap();
                assert!(shorter.parse(text).is_err());
            }
        }
    }

    #[test]
    fn redaction() {
        let token = generate(&TokenFormat::default());
        let secret = std::str::from_utf8(token.secret_bytes())
            .unwrap()
            .to_owned();
        for shown in [
            format!("{token:?}"),
            token.to_string(),
            format!("{token:#?}"),
        ] {
            assert!(!shown.contains(&secret), "{shown}");
            assert!(shown.contains("<redacted>"));
            assert!(shown.contains(token.id().as_str()));
        }
        let parsed = TokenFormat::default()
            .parse(token.expose_secret().as_bytes())
            .unwrap();
        assert!(!format!("{parsed:?}").contains(&secret));
    }
}
