//! CRC-32 (the IEEE 802.3 polynomial, as in zlib and PNG), slicing-by-16.
//!
//! The checksum of a token only catches typos and garbage before any storage lookup; it is
//! not a security measure (anyone can compute it). Slicing-by-16 (16 tables, 16 KiB) keeps it at a fraction of the
//! cost of the SHA-256 that follows.

/// The reflected IEEE polynomial.
const POLY: u32 = 0xEDB8_8320;

/// How many bytes one step of the main loop consumes.
const SLICES: usize = 16;

/// `SLICES` 256-entry tables: `TABLES[0]` is the classic byte table, `TABLES[k][b]` is the
/// CRC of byte `b` followed by `k` zero bytes.
static TABLES: [[u32; 256]; SLICES] = build_tables();

const fn build_tables() -> [[u32; 256]; SLICES] {
    let mut tables = [[0u32; 256]; SLICES];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < SLICES {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

/// The CRC-32 of `parts` concatenated.
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        crc = update(crc, part);
    }
    !crc
}

/// The register after `bytes` from the start (the complement of [`crc32`] of them), to
/// continue with [`finish_token_body`].
pub(crate) fn start(bytes: &[u8]) -> u32 {
    update(!0, bytes)
}

/// The CRC-32 of a message whose first part left the register at `state` (see [`start`])
/// and whose rest is `rest`: a fixed 60 bytes (a token's id, separator and secret), three
/// 16-byte steps and one 12-byte step, with no byte-at-a-time tail.
// Inlined into the parser: the call's saved registers and spills were about a tenth of it.
#[inline(always)]
pub(crate) fn finish_token_body(state: u32, rest: &[u8; 60]) -> u32 {
    let (chunks, tail) = rest.as_chunks::<SLICES>();
    let mut crc = state;
    for c in chunks {
        crc = step(crc, c);
    }
    // 60 = 3 * 16 + 12.
    let tail: &[u8; 12] = tail.try_into().unwrap_or(&[0; 12]);
    !step(crc, tail)
}

/// One slicing step over `K` bytes (4 <= K <= 16): the register after `c`, from `crc`.
///
/// The lookups of bytes 4 and on do not depend on `crc`: they are combined in a balanced
/// tree on their own, and only the four lookups that do are on the chain from one step to
/// the next (a linear chain of sixteen `xor`s made each step wait for all sixteen).
#[inline(always)]
fn step<const K: usize>(crc: u32, c: &[u8; K]) -> u32 {
    let t = &TABLES;
    let mut free = [0u32; 12];
    let mut i = 4;
    while i < K {
        free[i - 4] = t[K - 1 - i][usize::from(c[i])];
        i += 1;
    }
    let free = ((free[0] ^ free[1]) ^ (free[2] ^ free[3]))
        ^ ((free[4] ^ free[5]) ^ (free[6] ^ free[7]))
        ^ ((free[8] ^ free[9]) ^ (free[10] ^ free[11]));
    let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    let [b0, b1, b2, b3] = lo.to_le_bytes();
    ((t[K - 1][usize::from(b0)] ^ t[K - 2][usize::from(b1)])
        ^ (t[K - 3][usize::from(b2)] ^ t[K - 4][usize::from(b3)]))
        ^ free
}

fn update(mut crc: u32, bytes: &[u8]) -> u32 {
    let (chunks, rest) = bytes.as_chunks::<SLICES>();
    for c in chunks {
        crc = step(crc, c);
    }
    for &byte in rest {
        crc = (crc >> 8) ^ TABLES[0][usize::from((crc as u8) ^ byte)];
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-by-bit definition, to check the tables against.
    fn reference(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ POLY
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_value() {
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b""]), 0);
        assert_eq!(crc32(&[]), 0);
        assert_eq!(
            crc32(&[b"The quick brown fox jumps over the lazy dog"]),
            0x414F_A339
        );
    }

    #[test]
    fn matches_bitwise_definition_and_split_points() {
        let data: Vec<u8> = (0u32..300).map(|i| (i * 31 + 7) as u8).collect();
        for len in 0..data.len() {
            let whole = crc32(&[&data[..len]]);
            assert_eq!(whole, reference(&data[..len]), "len {len}");
            let mid = len / 3;
            assert_eq!(crc32(&[&data[..mid], &data[mid..len]]), whole);
        }
        for split in [0, 1, 5, 17, 33] {
            let message = &data[..split + 60];
            let rest: &[u8; 60] = message[split..].try_into().unwrap();
            assert_eq!(
                finish_token_body(start(&message[..split]), rest),
                reference(message),
                "split {split}"
            );
        }
    }

    proptest::proptest! {
        /// The token path (a register carried over from the constant part, then the fixed
        /// 60 bytes in slicing steps) against the bit-by-bit definition, on arbitrary bytes
        /// (not only base62) after a constant part of any length.
        #[test]
        fn token_body_matches_the_definition(
            head in proptest::collection::vec(proptest::num::u8::ANY, 0..48),
            first in proptest::array::uniform32(proptest::num::u8::ANY),
            second in proptest::array::uniform28(proptest::num::u8::ANY),
        ) {
            let mut message = head.clone();
            message.extend_from_slice(&first);
            message.extend_from_slice(&second);
            let rest: &[u8; 60] = message[head.len()..].try_into().unwrap();
            proptest::prop_assert_eq!(finish_token_body(start(&head), rest), reference(&message));
            proptest::prop_assert_eq!(crc32(&[&head, rest]), reference(&message));
        }
    }
}
