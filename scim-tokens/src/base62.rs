//! Base62 (`0-9A-Za-z`): the token alphabet. It has no punctuation, so a double-click selects
//! a whole token, and it is a subset of RFC 6750's `b64token` characters.

use rand_core::{OsRng, TryRngCore};

use crate::error::RandomnessError;

/// The alphabet, in the order of digit values.
pub(crate) const ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `byte` is a base62 digit, without branches.
#[inline]
pub(crate) fn is_digit(byte: u8) -> bool {
    let digit = byte.wrapping_sub(b'0') < 10;
    let letter = (byte | 0x20).wrapping_sub(b'a') < 26;
    digit | letter
}

/// Whether every byte of `bytes` is a base62 digit. Looks at every byte (no early exit), so
/// the compiler can check them many at a time.
#[inline]
pub(crate) fn all_digits(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & is_digit(b))
}

/// The value of a base62 digit, or `None`.
#[cfg(test)]
fn value(byte: u8) -> Option<u64> {
    match byte {
        b'0'..=b'9' => Some(u64::from(byte - b'0')),
        b'A'..=b'Z' => Some(u64::from(byte - b'A') + 10),
        b'a'..=b'z' => Some(u64::from(byte - b'a') + 36),
        _ => None,
    }
}

/// Writes `n` as exactly `out.len()` base62 digits, most significant first, zero-padded.
/// The caller chooses a width whose range covers `n` (6 digits cover any `u32`).
pub(crate) fn encode_fixed(mut n: u32, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
}

/// The value of six base62 digits (checked to be digits by the caller: anything else gives
/// some number), most significant first.
///
/// All six at once in one `u64` (SWAR): each byte becomes its digit value, adjacent digits
/// pair up into three 16-bit lanes (`62 * high + low`), and the lanes are weighted by
/// `62^4`, `62^2` and 1.
#[inline(always)]
pub(crate) fn decode_six(digits: &[u8; 6]) -> u64 {
    /// A byte in each of the six low lanes.
    const fn lanes(byte: u8) -> u64 {
        u64::from_le_bytes([byte, byte, byte, byte, byte, byte, 0, 0])
    }
    const ONES: u64 = lanes(1);
    let [d0, d1, d2, d3, d4, d5] = *digits;
    // Byte i is digit i, the most significant first; bytes 6 and 7 are zero.
    let x = u64::from_le_bytes([d0, d1, d2, d3, d4, d5, 0, 0]);
    // Digits are below 128, so adding 128 - t to a lane carries into its top bit exactly when
    // the digit is at least t, and never into the next lane.
    let upper = ((x + lanes(128 - b'A')) >> 7) & ONES;
    let lower = ((x + lanes(128 - b'a')) >> 7) & ONES;
    // '0'..='9' -> 0..=9, 'A'..='Z' -> 10..=35, 'a'..='z' -> 36..=61: each lane at least zero,
    // so no lane borrows from the next.
    let values = x
        .wrapping_sub(lanes(b'0'))
        .wrapping_sub(upper * 7)
        .wrapping_sub(lower * 6);
    // 16-bit lanes of 62 * digit(2k) + digit(2k + 1), at most 3843.
    const EVEN: u64 = 0x0000_00FF_00FF_00FF;
    let pairs = (values & EVEN) * 62 + ((values >> 8) & EVEN);
    (pairs & 0xFFFF) * 14_776_336 + ((pairs >> 16) & 0xFFFF) * 3_844 + ((pairs >> 32) & 0xFFFF)
}

/// Reads fixed-width base62 digits; `None` on a non-digit or overflow of `u64`.
#[cfg(test)]
fn decode_fixed(digits: &[u8]) -> Option<u64> {
    digits
        .iter()
        .try_fold(0u64, |acc, &d| acc.checked_mul(62)?.checked_add(value(d)?))
}

/// Fills `out` with uniformly random base62 digits from the operating system's randomness.
///
/// Each digit comes from one random byte by rejection sampling: a byte below 248 (= 4 × 62)
/// gives the digit `byte % 62`, which is uniform; a byte of 248 or more is discarded. So
/// every digit carries log2(62) ≈ 5.954 bits, and 43 digits carry 256.03 bits.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), RandomnessError> {
    let mut pool = zeroize::Zeroizing::new([0u8; 64]);
    let mut filled = 0;
    while filled < out.len() {
        OsRng
            .try_fill_bytes(&mut *pool)
            .map_err(|_| RandomnessError)?;
        for &byte in pool.iter() {
            if filled == out.len() {
                break;
            }
            if byte < 248 {
                out[filled] = ALPHABET[usize::from(byte % 62)];
                filled += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_sorted_base62() {
        assert!(all_digits(ALPHABET));
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(value(c), Some(i as u64));
        }
        assert!(!all_digits(b"ab_c"));
        assert!(!all_digits(b"ab-c"));
        for b in 0..=255u8 {
            assert_eq!(is_digit(b), b.is_ascii_alphanumeric(), "{b}");
        }
        assert_eq!(value(b'/'), None);
    }

    #[test]
    fn fixed_width_round_trip() {
        for n in [0u32, 1, 61, 62, 3843, u32::MAX] {
            let mut out = [0u8; 6];
            encode_fixed(n, &mut out);
            assert_eq!(decode_fixed(&out), Some(u64::from(n)));
        }
        let mut out = [0u8; 6];
        encode_fixed(0, &mut out);
        assert_eq!(&out, b"000000");
        encode_fixed(u32::MAX, &mut out);
        assert_eq!(&out, b"4gfFC3");
        assert_eq!(decode_fixed(b"zzzzzzzzzzzzzzzzzzzz"), None);
        for digits in [*b"000000", *b"4gfFC3", *b"zzzzzz", *b"09AZaz", *b"a1B2c3"] {
            assert_eq!(Some(decode_six(&digits)), decode_fixed(&digits));
        }
        // Every digit at every position, the others at the edges of the alphabet.
        for position in 0..6 {
            for &c in ALPHABET {
                for fill in [b'0', b'9', b'A', b'Z', b'a', b'z'] {
                    let mut digits = [fill; 6];
                    digits[position] = c;
                    assert_eq!(Some(decode_six(&digits)), decode_fixed(&digits));
                }
            }
        }
        assert_eq!(decode_fixed(b"00_0"), None);
    }

    #[test]
    fn random_digits_cover_the_alphabet() {
        let mut out = [0u8; 4096];
        fill_random(&mut out).unwrap();
        assert!(all_digits(&out));
        let mut seen = [false; 62];
        for &c in &out {
            seen[value(c).unwrap() as usize] = true;
        }
        // 4096 draws miss one given digit with probability (61/62)^4096 < 1e-28.
        assert!(seen.iter().all(|&s| s));
    }
}
