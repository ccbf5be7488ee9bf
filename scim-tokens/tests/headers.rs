//! Every `Authorization` case of `vectors/auth_headers.json` gets its RFC 6750 response.

mod common;

use std::time::Duration;

use common::{at, tenant};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue};
use scim_tokens::{
    ManualClock, MemoryStore, SecretToken, Settings, TokenFormat, TokenId, TokenOptions,
    TokenService,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    realm: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    values: Vec<String>,
    #[serde(default)]
    bare: bool,
    status: u16,
    #[serde(default)]
    www_authenticate: Option<String>,
}

/// Changes the character at `i` of `text` to another base62 character.
fn change_at(text: &str, i: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
    String::from_utf8(bytes).unwrap()
}

struct Fixture {
    services: [TokenService<std::sync::Arc<MemoryStore>, ManualClock>; 2],
    placeholders: Vec<(&'static str, String)>,
    live_integration: scim_tokens::IntegrationId,
}

fn fixture(realm: &str) -> Fixture {
    let store = std::sync::Arc::new(MemoryStore::new());
    let clock = ManualClock::new(at(1_700_000_000));
    let settings = Settings::new().with_realm(realm).unwrap();
    let strict = TokenService::with_clock(store.clone(), settings.clone(), clock.clone());
    let bare = TokenService::with_clock(store, settings.accept_bare_token(true), clock.clone());

    let acme = tenant("acme");
    let live = strict.create(&acme, "Okta", TokenOptions::new()).unwrap();
    let rotated = strict
        .create(&acme, "Rotated", TokenOptions::new())
        .unwrap();
    strict
        .rotate(&acme, rotated.integration().id(), TokenOptions::new())
        .unwrap();
    let expired = strict
        .create(
            &acme,
            "Expired",
            TokenOptions::new().expires_in(Duration::from_secs(60)),
        )
        .unwrap();
    let deleted = strict
        .create(&acme, "Deleted", TokenOptions::new())
        .unwrap();
    strict.delete(&acme, deleted.integration().id()).unwrap();
    clock.advance(Duration::from_secs(120));

    let format = TokenFormat::default();
    let token = live.token().expose_secret().to_owned();
    let secret_at = "scim_".len() + scim_tokens::ID_LEN + 1;
    let unknown: SecretToken = format.generate(TokenId::random().unwrap()).unwrap();
    let wrong_secret = format.generate(live.token().id()).unwrap();
    let other_prefix = TokenFormat::new("acme")
        .unwrap()
        .generate(live.token().id())
        .unwrap();
    let placeholders = vec![
        ("{typo}", change_at(&token, secret_at + 5)),
        ("{bad_checksum}", change_at(&token, token.len() - 1)),
        ("{unknown}", unknown.expose_secret().to_owned()),
        ("{wrong_secret}", wrong_secret.expose_secret().to_owned()),
        ("{rotated}", rotated.token().expose_secret().to_owned()),
        ("{expired}", expired.token().expose_secret().to_owned()),
        ("{deleted}", deleted.token().expose_secret().to_owned()),
        ("{other_prefix}", other_prefix.expose_secret().to_owned()),
        ("{pad}", "a".repeat(1100)),
        ("{token}", token),
    ];
    Fixture {
        services: [strict, bare],
        placeholders,
        live_integration: live.integration().id(),
    }
}

#[test]
fn every_header_case_gets_its_response() {
    let vectors: Vectors = serde_json::from_str(include_str!("vectors/auth_headers.json")).unwrap();
    let fixture = fixture(&vectors.realm);
    assert!(vectors.cases.len() >= 40);
    for case in &vectors.cases {
        let mut headers = HeaderMap::new();
        for value in &case.values {
            let mut value = value.clone();
            for (name, text) in &fixture.placeholders {
                value = value.replace(name, text);
            }
            headers.append(
                AUTHORIZATION,
                HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            );
        }
        let service = &fixture.services[usize::from(case.bare)];
        match service.authenticate(&headers) {
            Ok(verified) => {
                assert_eq!(
                    case.status, 200,
                    "{}: verified, expected {}",
                    case.name, case.status
                );
                assert_eq!(
                    verified.integration(),
                    fixture.live_integration,
                    "{}",
                    case.name
                );
                assert_eq!(verified.tenant(), &tenant("acme"), "{}", case.name);
            }
            Err(err) => {
                assert_eq!(err.status().as_u16(), case.status, "{}: {err}", case.name);
                let challenge = err
                    .www_authenticate()
                    .map(|v| v.to_str().unwrap().to_owned());
                assert_eq!(challenge, case.www_authenticate, "{}", case.name);
                let response = err.to_response(());
                assert_eq!(response.status().as_u16(), case.status);
                assert_eq!(
                    response
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .map(|v| v.to_str().unwrap()),
                    case.www_authenticate.as_deref()
                );
                // No error message carries a token.
                let shown = format!("{err} {err:?}");
                for (_, text) in &fixture.placeholders {
                    assert!(!shown.contains(text.as_str()), "{}: {shown}", case.name);
                }
            }
        }
    }
}
