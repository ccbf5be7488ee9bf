//! What is stored of a secret: its SHA-256 digest, or an HMAC-SHA256 under a server-side
//! pepper, and the version of the pepper key beside it.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::SettingsError;
use crate::token::{CHECKSUM_LEN, SECRET_LEN};

/// The shortest pepper key accepted, in bytes (256 bits).
pub const PEPPER_MIN_LEN: usize = 32;

/// The 32-byte digest of a token's secret, as stored. Serialises as 64 lowercase hex digits.
///
/// It is not the secret, and with a 256-bit secret it does not lead back to it; still, its
/// `Debug` output shows only the first four bytes, enough to tell two digests apart in a log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest from its bytes, as read back from a database.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes of the digest.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares two digests in constant time: as four 64-bit words, each compared with
    /// `subtle`'s constant-time `u64` equality and the four results combined with
    /// [`Choice`]'s `&`. No branch or early exit depends on the bytes; `subtle`'s byte-slice
    /// comparison does the same work a byte at a time, with one optimisation barrier per
    /// byte (32) where this has seven.
    // Not inlined: behind a call both digests are read from memory, as whole words.
    #[inline(never)]
    pub fn ct_eq(&self, other: &SecretDigest) -> Choice {
        let (ours, theirs) = (self.0.as_chunks::<8>().0, other.0.as_chunks::<8>().0);
        ours.iter()
            .zip(theirs)
            .fold(Choice::from(1), |equal, (a, b)| {
                equal & u64::from_ne_bytes(*a).ct_eq(&u64::from_ne_bytes(*b))
            })
    }

    fn to_hex(self) -> [u8; 64] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX[usize::from(byte & 0xF)];
        }
        out
    }

    fn from_hex(text: &str) -> Option<Self> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            }
        }
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(
            f,
            "SecretDigest({}…)",
            std::str::from_utf8(&hex[..8]).unwrap_or_default()
        )
    }
}

impl Serialize for SecretDigest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hex = self.to_hex();
        serializer.serialize_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for SecretDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("a digest is 64 hexadecimal digits"))
    }
}

/// A server-side pepper: an HMAC-SHA256 key that digests are computed under, so that a copy
/// of the token table alone does not let anyone check a guessed secret. It is keyed once,
/// when created; the keyed state is zeroed on drop. `Debug` shows only the version.
#[derive(Clone)]
pub struct Pepper {
    version: u32,
    mac: Hmac<Sha256>,
}

impl Pepper {
    /// A pepper with its version (stored beside each digest made with it) and its key, at
    /// least [`PEPPER_MIN_LEN`] bytes. The caller should zero its copy of the key after.
    ///
    /// # Errors
    ///
    /// [`SettingsError::PepperTooShort`] if the key is too short.
    pub fn new(version: u32, key: &[u8]) -> Result<Self, SettingsError> {
        if key.len() < PEPPER_MIN_LEN {
            return Err(SettingsError::PepperTooShort);
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .map_err(|_| SettingsError::PepperTooShort)?;
        Ok(Self { version, mac })
    }

    /// The version of this key.
    pub fn version(&self) -> u32 {
        self.version
    }

    fn digest(&self, secret: &[u8]) -> SecretDigest {
        let mut mac = self.mac.clone();
        mac.update(secret);
        SecretDigest(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pepper")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// How digests are made: plain SHA-256 (no pepper, the default), or HMAC-SHA256 under the
/// current pepper. Older peppers can be kept so that digests made under them still verify
/// while the tokens are rotated.
#[derive(Debug, Clone, Default)]
pub struct DigestKeys {
    /// The current pepper: the last of `peppers` when `current_is_pepper`.
    peppers: Vec<Pepper>,
    current_is_pepper: bool,
}

impl DigestKeys {
    /// Plain SHA-256, no pepper.
    pub fn none() -> Self {
        Self::default()
    }

    /// New digests under `pepper`; digests made earlier (plain, or under the peppers in
    /// `older`) still verify.
    ///
    /// # Errors
    ///
    /// [`SettingsError::DuplicatePepperVersion`] if two peppers share a version.
    pub fn with_pepper(
        pepper: Pepper,
        older: impl IntoIterator<Item = Pepper>,
    ) -> Result<Self, SettingsError> {
        let mut peppers: Vec<Pepper> = older.into_iter().collect();
        peppers.push(pepper);
        for (i, p) in peppers.iter().enumerate() {
            if peppers[..i].iter().any(|q| q.version == p.version) {
                return Err(SettingsError::DuplicatePepperVersion(p.version));
            }
        }
        Ok(Self {
            peppers,
            current_is_pepper: true,
        })
    }

    /// The key version new digests are made with (`None`: plain SHA-256).
    pub fn current_version(&self) -> Option<u32> {
        if self.current_is_pepper {
            self.peppers.last().map(Pepper::version)
        } else {
            None
        }
    }

    /// The digest of `secret` under the current key, and that key's version.
    pub fn digest(&self, secret: &[u8]) -> (SecretDigest, Option<u32>) {
        let version = self.current_version();
        let digest = self
            .digest_with(version, secret)
            .unwrap_or_else(|| sha256(secret));
        (digest, version)
    }

    /// The digest of `secret` under the key of `version`, or `None` if that key is not known.
    #[inline]
    pub fn digest_with(&self, version: Option<u32>, secret: &[u8]) -> Option<SecretDigest> {
        match version {
            None => Some(sha256(secret)),
            Some(v) => self
                .peppers
                .iter()
                .find(|p| p.version == v)
                .map(|p| p.digest(secret)),
        }
    }
}

/// The masks that end a secret's SHA-256 block in the 16-byte word holding the secret's
/// bytes 32 and on (see [`sha256_secret`]). Constants, but kept in the
/// [`TokenFormat`](crate::TokenFormat) rather than as `const`s: with known values, the
/// compiler turned the masking back into stores of the kept bytes one piece at a time, the
/// very stores this avoids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SecretEnd {
    /// Ones over the secret's bytes 32 and on, zeros over the checksum's.
    keep: [u8; 16],
    /// `0x80` just after the secret.
    end: [u8; 16],
}

impl SecretEnd {
    pub(crate) const fn new() -> Self {
        let mut keep = [0u8; 16];
        let mut i = 0;
        while i < SECRET_LEN - 32 {
            keep[i] = 0xFF;
            i += 1;
        }
        let mut end = [0u8; 16];
        end[SECRET_LEN - 32] = 0x80;
        Self { keep, end }
    }
}

/// The initial state of SHA-256 (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message that SHA-256 pads into a single block: 64 bytes less the `0x80`
/// byte and the 8-byte length.
const ONE_BLOCK_MAX: usize = 55;

/// The plain SHA-256 digest of `secret`.
///
/// A secret (43 bytes) fits one block: it is padded here (FIPS 180-4, 5.1.1) and given to
/// the compression function directly, without the incremental hasher's buffering. The
/// block holding the secret is zeroed after, as the hasher's buffer is. Longer inputs take
/// the incremental hasher.
#[inline]
pub(crate) fn sha256(secret: &[u8]) -> SecretDigest {
    let len = secret.len();
    if len > ONE_BLOCK_MAX {
        return SecretDigest(Sha256::digest(secret).into());
    }
    let mut block = [[0u8; 64]];
    block[0][..len].copy_from_slice(secret);
    block[0][len] = 0x80;
    // The length in bits, big-endian; at most 440, so it fits the last two bytes.
    let bits = (len as u64) * 8;
    block[0][56..].copy_from_slice(&bits.to_be_bytes());
    compress_and_erase(&mut block)
}

/// The plain SHA-256 digest of a token's secret: [`sha256`] of the first [`SECRET_LEN`]
/// bytes of `text` (the secret, then the checksum that follows it in the token), with the
/// padded block built from whole 16-byte words.
///
/// Copied byte-wise, the secret was stored in pieces of 16, 8, 2 and 1 bytes with the
/// padding byte and the length around them, and the compression read the block back in
/// 16-byte loads that straddled those stores: a store-forwarding stall on the loads that
/// start the SHA-256 rounds, the longest dependency chain of verification (about 10 ns of
/// 120 measured). Here the block's third word is the 16 bytes of `text` from byte 32, `and`
/// [`SecretEnd::keep`] (which masks the checksum's bytes off), `or` [`SecretEnd::end`] (the
/// `0x80` that ends the message): one 16-byte load, two 16-byte operations, one 16-byte
/// store. The checksum's bytes are read, never hashed.
#[inline]
pub(crate) fn sha256_secret(
    text: &[u8; SECRET_LEN + CHECKSUM_LEN],
    end: &SecretEnd,
) -> SecretDigest {
    const _: () = assert!(SECRET_LEN > 32 && SECRET_LEN < 48 && SECRET_LEN + CHECKSUM_LEN >= 48);
    /// The block's last 16 bytes: zeros, then the length in bits, big-endian.
    const LENGTH: [u8; 16] = {
        let bits = (SECRET_LEN as u64 * 8).to_be_bytes();
        let mut word = [0u8; 16];
        let mut i = 0;
        while i < 8 {
            word[8 + i] = bits[i];
            i += 1;
        }
        word
    };
    let (words, _) = text.as_chunks::<16>();
    let mut block = [[0u8; 64]];
    let (out_words, _) = block[0].as_chunks_mut::<16>();
    out_words[0] = words[0];
    out_words[1] = words[1];
    out_words[2] = std::array::from_fn(|i| (words[2][i] & end.keep[i]) | end.end[i]);
    out_words[3] = LENGTH;
    compress_and_erase(&mut block)
}

/// The digest of one padded `block` (the only block of its message); the block, which
/// holds a copy of the secret, is zeroed after.
#[inline(always)]
fn compress_and_erase(block: &mut [[u8; 64]; 1]) -> SecretDigest {
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, block);
    // Erase the copy of the secret: plain stores (a few wide ones, not 64 volatile byte
    // stores) that the barrier keeps the compiler from dropping, as `zeroize` documents for
    // flat data.
    *block = [[0u8; 64]];
    zeroize::optimization_barrier(block);
    let mut out = [0u8; 32];
    for (bytes, word) in out.as_chunks_mut::<4>().0.iter_mut().zip(state) {
        *bytes = word.to_be_bytes();
    }
    SecretDigest(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answer() {
        let d = sha256(b"abc");
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\""
        );
    }

    #[test]
    fn one_block_digest_matches_the_hasher_at_every_length() {
        let message: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37) ^ 0x5c).collect();
        // Both sides of the one-block limit, the secret's length, and well past it.
        for len in (0..=ONE_BLOCK_MAX + 10).chain([crate::SECRET_LEN, 64, 119, 200]) {
            let expected: [u8; 32] = Sha256::digest(&message[..len]).into();
            assert_eq!(sha256(&message[..len]).0, expected, "length {len}");
        }
        // FIPS 180-2 appendix B.1 and the empty message.
        assert_eq!(
            sha256(b"").to_hex(),
            *b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256(b"abc").to_hex(),
            *b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secret_digest_matches_the_hasher() {
        // Secrets of every byte value at every position, whatever follows them (the
        // checksum's bytes are masked off, never hashed).
        for fill in [0u8, b'0', b'z', 0x7F, 0x80, 0xFF] {
            for after in [0u8, b'A', 0xFF] {
                for position in 0..SECRET_LEN + CHECKSUM_LEN {
                    let mut text = [fill; SECRET_LEN + CHECKSUM_LEN];
                    text[SECRET_LEN..].fill(after);
                    text[position] ^= 0x5A;
                    let secret = &text[..SECRET_LEN];
                    let expected: [u8; 32] = Sha256::digest(secret).into();
                    assert_eq!(
                        sha256_secret(&text, &SecretEnd::new()).0,
                        expected,
                        "{fill} {after} {position}"
                    );
                    assert_eq!(sha256(secret), sha256_secret(&text, &SecretEnd::new()));
                }
            }
        }
        let mut text = [0u8; SECRET_LEN + CHECKSUM_LEN];
        for (i, b) in text.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151) ^ 0x3c;
        }
        let expected: [u8; 32] = Sha256::digest(&text[..SECRET_LEN]).into();
        assert_eq!(sha256_secret(&text, &SecretEnd::new()).0, expected);
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2 needs a 4-byte key, below our minimum; use a 32-byte key and
        // check against HMAC computed from its definition with SHA-256.
        let key = [0x0bu8; 32];
        let pepper = Pepper::new(7, &key).unwrap();
        let message = b"Hi There";
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..32 {
            ipad[i] ^= key[i];
            opad[i] ^= key[i];
        }
        let inner = Sha256::new()
            .chain_update(ipad)
            .chain_update(message)
            .finalize();
        let outer: [u8; 32] = Sha256::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize()
            .into();
        assert_eq!(pepper.digest(message), SecretDigest(outer));
        assert_eq!(format!("{pepper:?}"), "Pepper { version: 7, .. }");
    }

    #[test]
    fn keys_and_versions() {
        assert!(Pepper::new(1, &[0u8; 31]).is_err());
        let p1 = Pepper::new(1, &[1u8; 32]).unwrap();
        let p2 = Pepper::new(2, &[2u8; 32]).unwrap();
        let keys = DigestKeys::with_pepper(p2.clone(), [p1.clone()]).unwrap();
        assert_eq!(keys.current_version(), Some(2));
        let (d, v) = keys.digest(b"s");
        assert_eq!(v, Some(2));
        assert_eq!(keys.digest_with(Some(2), b"s"), Some(d));
        assert_ne!(keys.digest_with(Some(1), b"s"), Some(d));
        assert_eq!(keys.digest_with(None, b"s"), Some(sha256(b"s")));
        assert_eq!(keys.digest_with(Some(3), b"s"), None);
        assert!(DigestKeys::with_pepper(p1.clone(), [p1]).is_err());
        let plain = DigestKeys::none();
        assert_eq!(plain.digest(b"s"), (sha256(b"s"), None));
    }

    #[test]
    fn digest_hex_round_trip_and_debug() {
        let d = sha256(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<SecretDigest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<SecretDigest>("\"abc\"").is_err());
        let not_hex = format!("\"g{}", &json[2..]);
        assert!(serde_json::from_str::<SecretDigest>(&not_hex).is_err());
        let debug = format!("{d:?}");
        assert!(debug.len() < 30, "{debug}");
        assert!(bool::from(d.ct_eq(&d)));
        assert!(!bool::from(d.ct_eq(&sha256(b"y"))));
    }

    #[test]
    fn word_wise_comparison_sees_every_bit() {
        let d = sha256(b"x");
        assert!(bool::from(d.ct_eq(&SecretDigest(d.0))));
        for byte in 0..32 {
            for bit in 0..8 {
                let mut other = d.0;
                other[byte] ^= 1 << bit;
                let other = SecretDigest(other);
                assert!(!bool::from(d.ct_eq(&other)), "byte {byte} bit {bit}");
                assert!(!bool::from(other.ct_eq(&d)), "byte {byte} bit {bit}");
            }
        }
        let zero = SecretDigest([0; 32]);
        assert!(bool::from(zero.ct_eq(&SecretDigest([0; 32]))));
        assert!(!bool::from(zero.ct_eq(&SecretDigest([0xFF; 32]))));
    }
}
