//! The whole service handling arbitrary requests, authenticated with scim-tokens, over a
//! `MemoryStore` that holds a user and a group of tenant A. Never panics, never answers
//! 5xx but the RFC's 501 for what is not supported; every error is a SCIM error body with the response's status (a 401 with its
//! challenge); nothing succeeds without the real token; tenant B never sees tenant A's
//! resources.
//!
//! The input is up to four requests separated by a line `---`, each written like HTTP/1.1:
//! `METHOD TARGET`, header lines `Name: value`, an empty line, the body. In the target, the
//! headers and the body, `{user}` and `{group}` stand for the ids of tenant A's user and
//! group, `{token}` for tenant A's token and `{token_b}` for tenant B's.
#![no_main]

mod common;

use std::future::Future;
use std::sync::OnceLock;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Response};
use libfuzzer_sys::fuzz_target;
use scim_core::service::{AuthFailure, Authenticator, ScimService, TokenAuthenticator};
use scim_core::store::{MemoryStore, RequestContext};
use scim_tokens::{MemoryStore as TokenStore, Settings, TenantId, TokenOptions, TokenService};
use serde_json::Value;

struct Tokens {
    auth: TokenAuthenticator<TokenStore>,
    a: String,
    b: String,
}

fn tokens() -> &'static Tokens {
    static T: OnceLock<Tokens> = OnceLock::new();
    T.get_or_init(|| {
        let service = TokenService::new(TokenStore::new(), Settings::new());
        let issue = |tenant: &str| {
            let tenant = TenantId::new(tenant).expect("tenant");
            let issued = service
                .create(&tenant, "Okta", TokenOptions::new())
                .expect("issue");
            issued.token().expose_secret().to_owned()
        };
        let a = issue("tenant-a");
        let b = issue("tenant-b");
        Tokens {
            auth: TokenAuthenticator::new(service),
            a,
            b,
        }
    })
}

/// The one token authenticator, shared by the service of every run.
struct Shared;

impl Authenticator for Shared {
    fn authenticate(
        &self,
        request: &Parts,
    ) -> impl Future<Output = Result<RequestContext, AuthFailure>> + Send {
        tokens().auth.authenticate(request)
    }
}

type Service = ScimService<MemoryStore, Shared>;

fn replace_all(text: &[u8], subs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    'outer: while i < text.len() {
        if text[i] == b'{' {
            for (mark, with) in subs {
                if text[i..].starts_with(mark.as_bytes()) {
                    out.extend_from_slice(with.as_bytes());
                    i += mark.len();
                    continue 'outer;
                }
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

fn split_once<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = s.windows(sep.len()).position(|w| w == sep)?;
    Some((&s[..at], &s[at + sep.len()..]))
}

/// One request from its text, or `None` when `http` refuses its method, target or headers
/// (a server's HTTP layer would have refused it before the service).
fn build(text: &[u8]) -> Option<Request<Vec<u8>>> {
    let (head, body) = split_once(text, b"\n\n").unwrap_or((text, b""));
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next()?;
    let (method, target) = split_once(first, b" ").unwrap_or((first, b"/scim/v2/Users"));
    let mut b = Request::builder()
        .method(Method::from_bytes(method).ok()?)
        .uri(http::Uri::try_from(target).ok()?);
    for line in lines {
        let (name, value) = split_once(line, b":")?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        b = b.header(
            HeaderName::from_bytes(name).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    b.body(body.to_vec()).ok()
}

fn send(svc: &Service, req: Request<Vec<u8>>) -> Response<Bytes> {
    common::block_on(svc.handle(req))
}

fn setup(token: &str) -> (Service, String, String) {
    let svc = ScimService::new(MemoryStore::new(), Shared);
    let post = |path: &str, body: String| {
        let req = Request::post(format!("/scim/v2/{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/scim+json")
            .body(body.into_bytes())
            .expect("request");
        let r = send(&svc, req);
        assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
        let v: Value = serde_json::from_slice(r.body()).expect("json");
        v["id"].as_str().expect("id").to_owned()
    };
    let user = post(
        "Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName":"bjensen@example.com","externalId":"ext-701","name":{"givenName":"Barbara","familyName":"Jensen"},
            "emails":[{"value":"bjensen@example.com","type":"work","primary":true}],"active":true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Tours","manager":{"value":"m1"}}}"#
            .to_owned(),
    );
    let group = post(
        "Groups",
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Tour Guides","members":[{{"value":"{user}"}}]}}"#
        ),
    );
    (svc, user, group)
}

/// Whether to print each request's status and body (`SCIM_FUZZ_SHOW=1`, to see what the
/// seeds reach).
fn show() -> bool {
    static SHOW: OnceLock<bool> = OnceLock::new();
    *SHOW.get_or_init(|| std::env::var_os("SCIM_FUZZ_SHOW").is_some())
}

fn check(response: &Response<Bytes>, method: &Method, request: &[u8], ids: [&str; 2]) {
    let status = response.status().as_u16();
    let body = response.body();
    let shown = String::from_utf8_lossy(body);
    if show() {
        let line = request.split(|&b| b == b'\n').next().unwrap_or_default();
        let cut = shown
            .char_indices()
            .nth(150)
            .map_or(shown.len(), |(i, _)| i);
        eprintln!(
            "{} -> {status} {}",
            String::from_utf8_lossy(line),
            &shown[..cut]
        );
    }
    // 501 is the RFC's answer for what a service chose not to support (RFC 7644 §3.11:
    // `/Me` without a mapping from the client to a resource).
    assert!(status < 500 || status == 501, "{status}: {shown}");
    let t = tokens();
    let has = |needle: &str| {
        request
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    if response.status().is_success() {
        assert!(has(&t.a) || has(&t.b), "{status} without a token: {shown}");
        if has(&t.b) && !has(&t.a) {
            for id in ids {
                assert!(
                    has(id) || !shown.contains(id),
                    "tenant B sees tenant A's {id}: {shown}"
                );
            }
        }
    }
    if status >= 400 {
        let v: Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {shown}"));
        assert_eq!(
            v["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{shown}"
        );
        assert_eq!(v["status"], status.to_string(), "{shown}");
        if status == 401 {
            assert!(response.headers().contains_key("www-authenticate"));
        }
        // A token may come back only quoted from where the client put it besides the
        // `Authorization` field (a body or a path that holds it).
        let (head, rest) = split_once(request, b"\n\n").unwrap_or((request, b""));
        let mut elsewhere: Vec<u8> = rest.to_vec();
        for line in head.split(|&b| b == b'\n') {
            if !line
                .get(..14)
                .is_some_and(|n| n.eq_ignore_ascii_case(b"authorization:"))
            {
                elsewhere.extend_from_slice(line);
                elsewhere.push(b'\n');
            }
        }
        for secret in [&t.a, &t.b] {
            let tail = &secret[secret.len() - 30..];
            let sent = elsewhere.windows(tail.len()).any(|w| w == tail.as_bytes());
            assert!(sent || !shown.contains(tail), "a token is echoed: {shown}");
        }
    } else if !body.is_empty() && method != Method::HEAD {
        if let Err(e) = serde_json::from_slice::<Value>(body) {
            panic!("{status} body is not JSON ({e}): {shown}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let t = tokens();
    let (svc, user, group) = setup(&t.a);
    let subs = [
        ("{user}", user.as_str()),
        ("{group}", group.as_str()),
        ("{token}", t.a.as_str()),
        ("{token_b}", t.b.as_str()),
    ];
    let mut rest = data;
    for _ in 0..4 {
        let (one, more) = split_once(rest, b"\n---\n").unwrap_or((rest, b""));
        rest = more;
        let text = replace_all(one, &subs);
        if let Some(req) = build(&text) {
            let method = req.method().clone();
            let response = send(&svc, req);
            check(&response, &method, &text, [&user, &group]);
        }
        if rest.is_empty() {
            break;
        }
    }
});
