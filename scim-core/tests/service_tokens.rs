//! The `tokens` feature: the service authenticates with scim-tokens integration tokens.
#![cfg(feature = "tokens")]

mod service_support;

use scim_core::service::{ScimService, TokenAuthenticator};
use scim_core::store::MemoryStore;
use scim_tokens::{
    MemoryStore as TokenMemoryStore, Settings, TenantId, TokenOptions, TokenService,
};
use serde_json::{Value, json};
use service_support::{BASE, block_on};

fn req(auth: Option<&str>) -> http::Request<Vec<u8>> {
    let mut b = http::Request::post(format!("{BASE}/Users"));
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(
        serde_json::to_vec(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "tok"}),
        )
        .expect("json"),
    )
    .expect("request")
}

/// The token with its last character changed (a typo: the checksum no longer matches).
fn flip_last(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}", if last == "x" { "y" } else { "x" })
}

#[test]
fn bearer_tokens_map_to_the_integration() {
    let tokens = TokenService::new(TokenMemoryStore::new(), Settings::new());
    let tenant = TenantId::new("acme").expect("tenant");
    let issued = tokens
        .create(&tenant, "Okta production", TokenOptions::new())
        .expect("issue");
    let secret = issued.token().expose_secret().to_owned();
    let svc = ScimService::new(MemoryStore::new(), TokenAuthenticator::new(tokens));

    let r = block_on(svc.handle(req(Some(&format!("Bearer {secret}")))));
    assert_eq!(r.status(), 201);
    let ctx = scim_core::store::RequestContext::new("acme", "", "");
    assert_eq!(
        svc.store().len(&ctx, "User"),
        1,
        "stored under the token's tenant"
    );

    for (auth, status) in [
        (None, 401),
        (Some("Basic dXNlcjpwYXNz".to_owned()), 401),
        (Some("Bearer not-a-token".to_owned()), 401),
        (Some(format!("Bearer {}", flip_last(&secret))), 401),
    ] {
        let r = block_on(svc.handle(req(auth.as_deref())));
        assert_eq!(r.status().as_u16(), status, "{auth:?}");
        assert!(r.headers().contains_key("www-authenticate"), "{auth:?}");
        let body: Value = serde_json::from_slice(r.body()).expect("SCIM error body");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(body["status"], status.to_string());
        assert!(
            !String::from_utf8_lossy(r.body()).contains(&secret[4..]),
            "no secret echoed"
        );
    }
    // Two Authorization fields: 400.
    let mut two = req(Some(&format!("Bearer {secret}")));
    two.headers_mut().append(
        "authorization",
        format!("Bearer {secret}").parse().expect("hv"),
    );
    let r = block_on(svc.handle(two));
    assert_eq!(r.status(), 400);
}
