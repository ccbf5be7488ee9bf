//! Verification as a pure function over a record the caller fetched itself, as a service
//! with an asynchronous database does it.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{at, tenant};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use scim_tokens::{
    AuthErrorKind, Integration, InvalidToken, ManualClock, MemoryStore, Settings, TokenId,
    TokenOptions, TokenService,
};

#[test]
fn parse_fetch_verify() {
    let clock = ManualClock::new(at(1_000));
    let issuer = TokenService::with_clock(MemoryStore::new(), Settings::default(), clock.clone());
    let acme = tenant("acme");
    let issued = issuer
        .create(
            &acme,
            "Okta",
            TokenOptions::new().expires_in(Duration::from_secs(60)),
        )
        .unwrap();

    // The service's own database: records by token id, round-tripped through JSON.
    let json = serde_json::to_string(issued.integration()).unwrap();
    let record: Integration = serde_json::from_str(&json).unwrap();
    let db: HashMap<TokenId, Integration> = record
        .tokens()
        .iter()
        .map(|t| (t.id(), record.clone()))
        .collect();

    let settings = Settings::default();
    let mut headers = HeaderMap::new();
    let value = format!("Bearer {}", issued.token().expose_secret());
    headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());

    let token = settings.parse_authorization(&headers).unwrap();
    let fetched = db.get(&token.id());
    let verified = settings.verify_record(&token, fetched, at(1_059)).unwrap();
    assert_eq!(verified.tenant(), &acme);
    assert_eq!(verified.integration(), issued.integration().id());
    assert!(verified.record_use_due());

    // Expired, or no record: the same rejection.
    for (record, now) in [(fetched, 1_060), (None, 1_000)] {
        let err = settings.verify_record(&token, record, at(now)).unwrap_err();
        assert!(matches!(
            err.kind(),
            AuthErrorKind::InvalidToken(InvalidToken::Rejected)
        ));
        assert_eq!(err.status(), 401);
    }

    // A malformed header never gets as far as the fetch.
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer nope"));
    let err = settings.parse_authorization(&headers).unwrap_err();
    assert!(matches!(
        err.kind(),
        AuthErrorKind::InvalidToken(InvalidToken::Shape)
    ));
}
