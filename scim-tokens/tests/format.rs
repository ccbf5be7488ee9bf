//! Generated tokens match the documented format and are unique over 100,000 draws.

use std::collections::HashSet;

use scim_tokens::{
    CHECKSUM_LEN, ID_LEN, MemoryStore, SECRET_LEN, Settings, TenantId, TokenFormat, TokenId,
    TokenOptions, TokenService,
};

const DRAWS: usize = 100_000;

/// The CRC-32 (IEEE) by its bitwise definition, independent of the crate's table version.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn base62_value(digits: &str) -> u64 {
    const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    digits
        .chars()
        .fold(0, |acc, c| acc * 62 + ALPHABET.find(c).unwrap() as u64)
}

/// Checks `text` against the documented format `<prefix>_<id>_<secret><checksum>`.
fn assert_documented_format(prefix: &str, text: &str) {
    let rest = text
        .strip_prefix(prefix)
        .unwrap()
        .strip_prefix('_')
        .unwrap();
    let (id, rest) = rest.split_at(ID_LEN);
    let rest = rest.strip_prefix('_').unwrap();
    assert_eq!(rest.len(), SECRET_LEN + CHECKSUM_LEN);
    let (secret, checksum) = rest.split_at(SECRET_LEN);
    for part in [id, secret, checksum] {
        assert!(part.bytes().all(|b| b.is_ascii_alphanumeric()), "{part}");
    }
    let body = &text[..text.len() - CHECKSUM_LEN];
    assert_eq!(base62_value(checksum), u64::from(crc32(body.as_bytes())));
    // RFC 6750 b64token.
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    );
}

#[test]
fn documented_format_for_several_prefixes() {
    assert_eq!(SECRET_LEN, 43);
    assert_eq!(CHECKSUM_LEN, 6);
    // 43 base62 characters hold at least 256 bits, 42 do not.
    assert!(43.0 * 62f64.log2() >= 256.0 && 42.0 * 62f64.log2() < 256.0);
    for prefix in ["scim", "acme_scim", "x"] {
        let format = TokenFormat::new(prefix).unwrap();
        for _ in 0..100 {
            let token = format.generate(TokenId::random().unwrap()).unwrap();
            assert_documented_format(prefix, token.expose_secret());
            assert_eq!(token.expose_secret().len(), format.token_len());
        }
    }
}

#[test]
fn unique_over_100k_draws() {
    let format = TokenFormat::default();
    let mut tokens = HashSet::with_capacity(DRAWS);
    let mut secrets = HashSet::with_capacity(DRAWS);
    let mut ids = HashSet::with_capacity(DRAWS);
    // Character frequencies of the secrets, to catch a biased draw.
    let mut counts = [0u64; 128];
    for _ in 0..DRAWS {
        let token = format.generate(TokenId::random().unwrap()).unwrap();
        let text = token.expose_secret();
        assert_documented_format("scim", text);
        let secret = &text[5 + ID_LEN + 1..][..SECRET_LEN];
        for b in secret.bytes() {
            counts[usize::from(b)] += 1;
        }
        assert!(ids.insert(token.id()));
        assert!(secrets.insert(secret.to_owned()));
        assert!(tokens.insert(text.to_owned()));
    }
    // Each of the 62 characters expects 100000 * 43 / 62 = 69355 draws, standard deviation
    // about 261; 8 standard deviations is far outside chance (p < 1e-14 for any of them).
    let expected = (DRAWS * SECRET_LEN) as f64 / 62.0;
    for c in (b'0'..=b'9').chain(b'A'..=b'Z').chain(b'a'..=b'z') {
        let n = counts[usize::from(c)] as f64;
        assert!(
            (n - expected).abs() < 8.0 * expected.sqrt(),
            "{} drawn {n} times",
            c as char
        );
    }
}

#[test]
fn service_tokens_use_the_configured_prefix() {
    let settings = Settings::new().with_prefix("acme_scim").unwrap();
    let service = TokenService::new(MemoryStore::new(), settings);
    let issued = service
        .create(&TenantId::new("t").unwrap(), "Okta", TokenOptions::new())
        .unwrap();
    let text = issued.token().expose_secret();
    assert_documented_format("acme_scim", text);
    let id_part = &text["acme_scim_".len()..][..ID_LEN];
    assert_eq!(id_part, issued.token().id().as_str());
    assert_eq!(
        issued.integration().current_token().unwrap().id(),
        issued.token().id()
    );
}
