//! Shared by the service black-box tests: a tiny executor, a service over a MemoryStore,
//! and request helpers.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use bytes::Bytes;
use http::{Request, Response};
use scim_core::service::{FixedContext, ScimService, ServiceSettings};
use scim_core::store::{MemoryStore, RequestContext};
use serde_json::Value;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

pub const BASE: &str = "/scim/v2";

pub type Service = ScimService<MemoryStore, FixedContext>;

pub fn ctx(tenant: &str) -> RequestContext {
    RequestContext::new(tenant, "integration-1", "Test IdP")
}

pub fn service_with(settings: ServiceSettings) -> Service {
    ScimService::new(MemoryStore::new(), FixedContext(ctx("tenant-a"))).with_settings(settings)
}

pub fn service() -> Service {
    service_with(ServiceSettings::new().base_url("https://sp.example/scim/v2"))
}

/// Percent-encodes what cannot appear in a request target (as an HTTP client would),
/// leaving `%` and `+` as they are.
pub fn encode_target(path_and_query: &str) -> String {
    let mut out = String::new();
    for c in path_and_query.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '"' => out.push_str("%22"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            '|' => out.push_str("%7C"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\\' => out.push_str("%5C"),
            '^' => out.push_str("%5E"),
            '`' => out.push_str("%60"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        }
    }
    out
}

/// Builds a request to `BASE` + `path`.
pub fn request(method: &str, path: &str, body: Option<&Value>) -> Request<Vec<u8>> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("{BASE}{}", encode_target(path)));
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/scim+json");
            serde_json::to_vec(v).expect("json")
        }
        None => Vec::new(),
    };
    b.body(bytes).expect("request")
}

pub fn send(svc: &Service, req: Request<Vec<u8>>) -> Response<Bytes> {
    block_on(svc.handle(req))
}

pub fn call(svc: &Service, method: &str, path: &str, body: Option<Value>) -> Response<Bytes> {
    send(svc, request(method, path, body.as_ref()))
}

pub fn json(r: &Response<Bytes>) -> Value {
    if r.body().is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(r.body()).unwrap_or_else(|e| {
        panic!(
            "response body is not JSON ({e}): {}",
            String::from_utf8_lossy(r.body())
        )
    })
}

/// Asserts the response is a SCIM error with `status` (and `scim_type` when given).
pub fn assert_error(r: &Response<Bytes>, status: u16, scim_type: Option<&str>) -> Value {
    let body = json(r);
    assert_eq!(r.status().as_u16(), status, "body: {body}");
    assert_eq!(
        body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{body}"
    );
    assert_eq!(body["status"], status.to_string(), "{body}");
    if let Some(t) = scim_type {
        assert_eq!(body["scimType"], t, "{body}");
    }
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/scim+json"),
    );
    body
}

pub fn create_user(svc: &Service, user_name: &str) -> Value {
    let r = call(
        svc,
        "POST",
        "/Users",
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "displayName": format!("{user_name} display"),
        })),
    );
    assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
    json(&r)
}

pub fn create_group(svc: &Service, name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|m| serde_json::json!({"value": m}))
        .collect();
    let r = call(
        svc,
        "POST",
        "/Groups",
        Some(serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "members": members,
        })),
    );
    assert_eq!(r.status(), 201, "{}", String::from_utf8_lossy(r.body()));
    json(&r)
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}
