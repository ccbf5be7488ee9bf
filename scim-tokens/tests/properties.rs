//! Property tests: the parsers never panic on anything, and accept only generated tokens.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use scim_tokens::{
    MemoryStore, Settings, TenantId, TokenFormat, TokenId, TokenOptions, TokenService,
};

fn format() -> TokenFormat {
    TokenFormat::default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary text is rejected, without panicking.
    #[test]
    fn arbitrary_text_is_rejected(text in ".{0,200}") {
        prop_assert!(format().parse(text.as_bytes()).is_err());
    }

    /// Arbitrary bytes are rejected, without panicking.
    #[test]
    fn arbitrary_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        prop_assert!(format().parse(&bytes).is_err());
    }

    /// Text of exactly the token's shape (right prefix, separators, base62) but not
    /// generated fails the checksum (random characters match it with chance 2^-32 per case,
    /// about one run in two million at this case count).
    #[test]
    fn token_shaped_text_is_rejected(
        id in "[0-9A-Za-z]{16}",
        tail in "[0-9A-Za-z]{49}",
    ) {
        let text = format!("scim_{id}_{tail}");
        prop_assert!(format().parse(text.as_bytes()).is_err());
    }

    /// Any one-byte change of a generated token is rejected by the checksum or the shape.
    #[test]
    fn any_single_byte_change_is_rejected(position in 0usize..71, byte in any::<u8>()) {
        let token = format().generate(TokenId::random().unwrap()).unwrap();
        let mut bytes = token.expose_secret().as_bytes().to_vec();
        prop_assume!(bytes[position] != byte);
        bytes[position] = byte;
        prop_assert!(format().parse(&bytes).is_err());
    }

    /// Arbitrary Authorization values never panic and never verify.
    #[test]
    fn arbitrary_headers_never_verify(
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..3),
        bare in any::<bool>(),
    ) {
        let service = TokenService::new(
            MemoryStore::new(),
            Settings::new().accept_bare_token(bare),
        );
        service.create(&TenantId::new("t").unwrap(), "Okta", TokenOptions::new()).unwrap();
        let mut headers = HeaderMap::new();
        for v in values {
            if let Ok(value) = HeaderValue::from_bytes(&v) {
                headers.append(AUTHORIZATION, value);
            }
        }
        let err = service.authenticate(&headers).unwrap_err();
        prop_assert!(matches!(err.status().as_u16(), 400 | 401));
        prop_assert!(err.www_authenticate().is_some());
    }

    /// "Bearer" in any case, any number of spaces, and the token verify.
    #[test]
    fn scheme_case_and_spacing(scheme in "[bB][eE][aA][rR][eE][rR]", spaces in 1usize..20) {
        let service = TokenService::new(MemoryStore::new(), Settings::default());
        let issued = service
            .create(&TenantId::new("t").unwrap(), "Okta", TokenOptions::new())
            .unwrap();
        let value = format!("{scheme}{}{}", " ".repeat(spaces), issued.token().expose_secret());
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        prop_assert_eq!(
            service.authenticate(&headers).unwrap().integration(),
            issued.integration().id()
        );
    }
}
