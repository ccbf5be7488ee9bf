//! A token with one character changed fails its checksum without a storage lookup.

mod common;

use std::sync::Arc;

use common::{CountingStore, tenant};
use scim_tokens::{AuthErrorKind, InvalidToken, Settings, TokenOptions, TokenService};

#[test]
fn one_changed_character_fails_the_checksum_without_a_lookup() {
    let store = Arc::new(CountingStore::default());
    let service = TokenService::new(Arc::clone(&store), Settings::default());
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let text = issued.token().expose_secret().as_bytes().to_vec();
    let prefix_len = "scim_".len();

    let mut checked = 0;
    for i in prefix_len..text.len() {
        if text[i] == b'_' {
            continue;
        }
        for c in [b'0', b'a', b'Z'] {
            if c == text[i] {
                continue;
            }
            let mut typo = text.clone();
            typo[i] = c;
            let err = service.verify(&typo).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    AuthErrorKind::InvalidToken(InvalidToken::Checksum)
                ),
                "position {i}: {err}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100);
    assert_eq!(store.lookups(), 0, "a typo must not reach the store");

    // The untouched token does reach it, once.
    service.verify(&text).unwrap();
    assert_eq!(store.lookups(), 1);
}

#[test]
fn garbage_never_reaches_the_store() {
    let store = Arc::new(CountingStore::default());
    let service = TokenService::new(Arc::clone(&store), Settings::default());
    let issued = service
        .create(&tenant("acme"), "Okta", TokenOptions::new())
        .unwrap();
    let text = issued.token().expose_secret();
    let garbage: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"scim".to_vec(),
        b"not a token".to_vec(),
        text.as_bytes()[..text.len() - 1].to_vec(),
        format!("{text}x").into_bytes(),
        format!("{text} ").into_bytes(),
        text.replacen("scim_", "SCIM_", 1).into_bytes(),
        text.replace('_', "-").into_bytes(),
        vec![0xff; text.len()],
    ];
    for g in &garbage {
        assert!(service.verify(g).is_err());
    }
    assert_eq!(store.lookups(), 0);
}
