//! Nothing that holds a secret shows it in `Debug` or `Display`.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use scim_tokens::{
    DigestKeys, MemoryStore, Pepper, Settings, TenantId, TokenOptions, TokenService,
};

#[test]
fn no_debug_or_display_output_contains_a_secret() {
    let key = [0x42u8; 32];
    let pepper = Pepper::new(3, &key).unwrap();
    let settings =
        Settings::new().with_digest_keys(DigestKeys::with_pepper(pepper.clone(), []).unwrap());
    let service = TokenService::new(MemoryStore::new(), settings.clone());
    let tenant = TenantId::new("acme").unwrap();
    let issued = service
        .create(&tenant, "Okta", TokenOptions::new())
        .unwrap();
    let text = issued.token().expose_secret().to_owned();
    let secret = text["scim_".len() + scim_tokens::ID_LEN + 1..].to_owned();
    let secret_only = &secret[..scim_tokens::SECRET_LEN];
    let key_hex: String = key.iter().map(|b| format!("{b:02x}")).collect();

    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {text}")).unwrap(),
    );
    let parsed = settings.parse_authorization(&headers).unwrap();
    let verified = service.authenticate(&headers).unwrap();
    let mut wrong = HeaderMap::new();
    wrong.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {text}x")).unwrap(),
    );
    let refused = service.authenticate(&wrong).unwrap_err();
    let malformed = service
        .verify(format!("{text} trailing").as_bytes())
        .unwrap_err();

    let shown = [
        format!("{:?}", issued.token()),
        format!("{:#?}", issued.token()),
        format!("{}", issued.token()),
        format!("{issued:?}"),
        format!("{parsed:?}"),
        format!("{verified:?}"),
        format!("{refused:?} {refused}"),
        format!("{malformed:?} {malformed}"),
        format!("{pepper:?}"),
        format!("{settings:?}"),
        format!("{service:?}"),
        format!(
            "{:?}",
            service.get(&tenant, issued.integration().id()).unwrap()
        ),
    ];
    for s in &shown {
        assert!(!s.contains(secret_only), "secret in {s}");
        assert!(!s.contains(&key_hex), "pepper key in {s}");
        assert!(!s.contains("66, 66, 66"), "pepper key bytes in {s}");
    }
    assert!(shown[0].contains("<redacted>"));
    assert!(shown[2].contains("<redacted>"));
    assert!(shown[0].contains(issued.token().id().as_str()));
    // Only the explicit method reveals it.
    assert_eq!(issued.token().expose_secret(), text);
}
