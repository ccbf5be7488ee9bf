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

fn update(mut crc: u32, bytes: &[u8]) -> u32 {
    let t = &TABLES;
    let (chunks, rest) = bytes.as_chunks::<SLICES>();
    for c in chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let [b0, b1, b2, b3] = lo.to_le_bytes();
        crc = t[15][usize::from(b0)]
            ^ t[14][usize::from(b1)]
            ^ t[13][usize::from(b2)]
            ^ t[12][usize::from(b3)]
            ^ t[11][usize::from(c[4])]
            ^ t[10][usize::from(c[5])]
            ^ t[9][usize::from(c[6])]
            ^ t[8][usize::from(c[7])]
            ^ t[7][usize::from(c[8])]
            ^ t[6][usize::from(c[9])]
            ^ t[5][usize::from(c[10])]
            ^ t[4][usize::from(c[11])]
            ^ t[3][usize::from(c[12])]
            ^ t[2][usize::from(c[13])]
            ^ t[1][usize::from(c[14])]
            ^ t[0][usize::from(c[15])];
    }
    for &byte in rest {
        crc = (crc >> 8) ^ t[0][usize::from((crc as u8) ^ byte)];
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
    }
}
