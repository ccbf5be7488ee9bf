//! Identifiers: the tenant an integration belongs to, the integration, and each of its tokens.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::base62;
use crate::error::{IdError, RandomnessError};

/// The number of base62 characters of an [`IntegrationId`] or a [`TokenId`] (about 95 bits).
pub const ID_LEN: usize = 16;

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        // Aligned to 8 bytes so that the records and results holding it copy it as whole
        // words: byte-aligned, it lands at odd offsets after an enum tag and is moved in
        // pieces, and reading those pieces back stalls store-to-load forwarding.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(align(8))]
        pub struct $name([u8; ID_LEN]);

        impl $name {
            /// A new random identifier from the operating system's randomness.
            ///
            /// # Errors
            ///
            /// [`RandomnessError`] if the operating system gives no randomness.
            pub fn random() -> Result<Self, RandomnessError> {
                let mut bytes = [0u8; ID_LEN];
                base62::fill_random(&mut bytes)?;
                Ok(Self(bytes))
            }

            /// Parses the identifier from its bytes: exactly [`ID_LEN`] base62 characters.
            ///
            /// # Errors
            ///
            /// [`IdError`] if the length or a character is wrong.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let array: [u8; ID_LEN] = bytes.try_into().map_err(|_| IdError { what: $what })?;
                if base62::all_digits(&array) {
                    Ok(Self(array))
                } else {
                    Err(IdError { what: $what })
                }
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                // Only base62 bytes are ever stored, and they are ASCII.
                std::str::from_utf8(&self.0).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::from_bytes(s.as_bytes())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

random_id! {
    /// The identifier of an integration: random, not secret, unique across tenants, stable
    /// over rotations. [`ID_LEN`] base62 characters.
    IntegrationId, "integration id"
}

random_id! {
    /// The identifier of one token of an integration: the non-secret middle part of the token
    /// text, by which verification finds the record without a scan. Each rotation draws a new
    /// one, so the current and the previous token of an integration have different ids.
    /// [`ID_LEN`] base62 characters.
    TokenId, "token id"
}

impl TokenId {
    /// The id from bytes the caller has checked to be base62 (the token parser, which checks
    /// them with the rest of the token).
    pub(crate) fn from_checked(bytes: [u8; ID_LEN]) -> Self {
        debug_assert!(base62::all_digits(&bytes));
        Self(bytes)
    }

    /// The id's characters.
    pub(crate) fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}

/// The longest tenant identifier accepted, in bytes.
pub const TENANT_MAX_LEN: usize = 256;

/// The longest tenant identifier kept inline in a [`TenantId`], in bytes: a UUID (36
/// characters) fits.
const TENANT_INLINE_LEN: usize = 38;

/// The tenant an integration belongs to: whatever identifier the embedding service uses for
/// its customers (an account id, an organisation slug). Cheap to clone.
///
/// Verification yields it, so the SCIM service knows whose data a request may touch. An
/// identifier of up to 38 bytes (a UUID, a slug) is held inline, so that the clone each
/// verification makes is a copy, with no shared reference count to update; a longer one is
/// shared.
#[derive(Clone)]
pub struct TenantId(TenantRepr);

#[derive(Clone)]
enum TenantRepr {
    Inline(InlineTenant),
    Shared(Arc<str>),
}

/// An identifier of up to [`TENANT_INLINE_LEN`] bytes: the identifier (checked to be
/// UTF-8), zeros, and its length in the last byte. Aligned to 8 bytes so that the copy
/// verification makes moves whole words: with a one-byte length ahead of unaligned bytes,
/// the copy was written in 4-byte pieces at odd offsets and read back in 16-byte loads
/// that straddled them (a store-forwarding stall on every verification).
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct InlineTenant([u8; TENANT_INLINE_LEN + 2]);

impl TenantId {
    /// A tenant identifier: 1 to [`TENANT_MAX_LEN`] bytes without control characters.
    ///
    /// # Errors
    ///
    /// [`IdError`] if it is empty, too long or has a control character.
    pub fn new(id: &str) -> Result<Self, IdError> {
        if id.is_empty() || id.len() > TENANT_MAX_LEN || id.chars().any(char::is_control) {
            return Err(IdError { what: "tenant id" });
        }
        let repr = match u8::try_from(id.len()) {
            Ok(len) if id.len() <= TENANT_INLINE_LEN => {
                let mut bytes = [0u8; TENANT_INLINE_LEN + 2];
                bytes[..id.len()].copy_from_slice(id.as_bytes());
                bytes[TENANT_INLINE_LEN + 1] = len;
                TenantRepr::Inline(InlineTenant(bytes))
            }
            _ => TenantRepr::Shared(Arc::from(id)),
        };
        Ok(Self(repr))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `str` whole, so they are UTF-8.
            TenantRepr::Inline(InlineTenant(bytes)) => {
                let len = usize::from(bytes[TENANT_INLINE_LEN + 1]);
                std::str::from_utf8(bytes.get(..len).unwrap_or_default()).unwrap_or_default()
            }
            TenantRepr::Shared(id) => id,
        }
    }
}

impl PartialEq for TenantId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TenantId {}

impl std::hash::Hash for TenantId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for TenantId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TenantId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({:?})", self.as_str())
    }
}

impl FromStr for TenantId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for TenantId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_base62_and_parse_back() {
        let id = IntegrationId::random().unwrap();
        assert_eq!(id.as_str().len(), ID_LEN);
        assert_eq!(id.as_str().parse::<IntegrationId>().unwrap(), id);
        assert_ne!(TokenId::random().unwrap(), TokenId::random().unwrap());
        assert_eq!(format!("{id:?}"), format!("IntegrationId({id})"));
    }

    #[test]
    fn ids_reject_wrong_text() {
        for bad in [
            "",
            "abc",
            "0123456789abcdef0",
            "0123456789abcde_",
            "0123456789abcdé",
        ] {
            assert!(bad.parse::<TokenId>().is_err(), "{bad:?}");
        }
        assert!("0123456789abcdef".parse::<TokenId>().is_ok());
    }

    #[test]
    fn tenant_ids() {
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a\nb").is_err());
        assert!(TenantId::new(&"x".repeat(TENANT_MAX_LEN + 1)).is_err());
        let t = TenantId::new("acme").unwrap();
        assert_eq!(t.to_string(), "acme");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"acme\"");
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), t);
        assert!(serde_json::from_str::<TenantId>("\"\"").is_err());
    }

    #[test]
    fn tenant_ids_inline_and_shared_compare_by_text() {
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let hash = |t: &TenantId| {
            let mut h = DefaultHasher::new();
            t.hash(&mut h);
            h.finish()
        };
        // At, below and above the inline length, ASCII and not.
        let texts = [
            "a".to_owned(),
            "x".repeat(TENANT_INLINE_LEN - 1),
            "x".repeat(TENANT_INLINE_LEN),
            "x".repeat(TENANT_INLINE_LEN + 1),
            "é".repeat(TENANT_INLINE_LEN / 2),
            "é".repeat(TENANT_INLINE_LEN),
            "6f1c2a9e-0d4b-4c57-9a39-0f3d1e8b2c71".to_owned(),
            "x".repeat(TENANT_MAX_LEN),
        ];
        for text in &texts {
            let t = TenantId::new(text).unwrap();
            assert_eq!(t.as_str(), text);
            assert_eq!(t.to_string(), *text);
            assert_eq!(t.clone(), t);
            assert_eq!(format!("{t:?}"), format!("TenantId({text:?})"));
            let inline = matches!(t.0, TenantRepr::Inline(_));
            assert_eq!(inline, text.len() <= TENANT_INLINE_LEN, "{text}");
        }
        // Every length round-trips (the inline length byte sits after the text).
        for len in 1..=TENANT_MAX_LEN {
            let text: String = ('a'..='z').cycle().take(len).collect();
            assert_eq!(TenantId::new(&text).unwrap().as_str(), text);
        }
        // Equality, order and hash follow the text, whichever way each side is held.
        let long = "y".repeat(TENANT_INLINE_LEN + 1);
        let shared = TenantId(TenantRepr::Shared(Arc::from("acme")));
        let inline = TenantId::new("acme").unwrap();
        assert_eq!(shared, inline);
        assert_eq!(hash(&shared), hash(&inline));
        assert_eq!(shared.cmp(&inline), std::cmp::Ordering::Equal);
        let mut sorted = [
            TenantId::new(&long).unwrap(),
            inline.clone(),
            TenantId::new("b").unwrap(),
            TenantId::new("acme-").unwrap(),
        ];
        sorted.sort();
        let order: Vec<&str> = sorted.iter().map(TenantId::as_str).collect();
        assert_eq!(order, ["acme", "acme-", "b", long.as_str()]);
        assert_ne!(
            TenantId::new("acme").unwrap(),
            TenantId::new("acmf").unwrap()
        );
    }

    #[test]
    fn id_serde() {
        let id: TokenId = "0123456789abcdef".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0123456789abcdef\"");
        assert_eq!(serde_json::from_str::<TokenId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<TokenId>("\"short\"").is_err());
    }
}
