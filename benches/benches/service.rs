//! Criterion benchmarks of the scim-core service over a `MemoryStore`, in process (no
//! network): each iteration builds an `http::Request`, runs `ScimService::handle` to
//! completion and drops the response.
//!
//! - `get_by_id/100k`: `GET /Users/{id}` among 100,000 users;
//! - `filter_user_name/1k` and `/100k`: `GET /Users?filter=userName eq "..."` (answered from
//!   the userName index: the time must not grow with the population);
//! - `add_member/100k`: `PATCH /Groups/{id}?excludedAttributes=members` adding one new member
//!   to a group of 100,000 members (the store's member hook; the answer does not serialise
//!   the members). Target: under 1 ms.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::service::{FixedContext, ScimService};
use scim_core::store::{MemoryStore, RequestContext, ResourceStore};
use serde_json::{Map, Value, json};

/// The service's futures never wait on this store: poll until ready.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

fn ctx() -> RequestContext {
    RequestContext::new("tenant", "integration", "Bench IdP")
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

type Service = ScimService<MemoryStore, FixedContext>;

/// A service whose tenant holds `n` users; returns it with the users' ids.
fn populated(n: usize) -> (Service, Vec<String>) {
    let store = MemoryStore::new();
    let c = ctx();
    let ids = (0..n)
        .map(|i| {
            let user = obj(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("user{i}@example.com"),
                "externalId": format!("ext-{i}"),
                "displayName": format!("User {i}"),
                "active": true,
                "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
            }));
            block_on(store.create(&c, "User", user)).map(|r| r.id).expect("create")
        })
        .collect();
    (ScimService::new(store, FixedContext(c)), ids)
}

fn get(uri: &str) -> http::Request<Vec<u8>> {
    http::Request::get(uri).body(Vec::new()).expect("request")
}

fn bench(c: &mut Criterion) {
    let (svc, ids) = populated(100_000);
    let id = &ids[ids.len() / 2];
    c.bench_function("service/get_by_id/100k", |b| {
        b.iter(|| {
            let r = block_on(svc.handle(get(&format!("/scim/v2/Users/{id}"))));
            assert_eq!(r.status(), 200);
            black_box(r)
        })
    });
    let filter = "/scim/v2/Users?filter=userName%20eq%20%22USER500@example.com%22";
    c.bench_function("service/filter_user_name/100k", |b| {
        b.iter(|| {
            let r = block_on(svc.handle(get(filter)));
            assert_eq!(r.status(), 200);
            black_box(r)
        })
    });
    drop(svc);
    let (small, _) = populated(1_000);
    c.bench_function("service/filter_user_name/1k", |b| {
        b.iter(|| {
            let r = block_on(small.handle(get(filter)));
            assert_eq!(r.status(), 200);
            black_box(r)
        })
    });

    // A group of 100,000 members (users of the tenant).
    let (svc, ids) = populated(100_000);
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let group = obj(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "everyone",
        "members": members,
    }));
    let gid = block_on(svc.store().create(&ctx(), "Group", group))
        .map(|g| g.id)
        .expect("group");
    let uri = format!("/scim/v2/Groups/{gid}?excludedAttributes=members");
    let mut n = 0u64;
    c.bench_function("service/add_member/100k", |b| {
        b.iter(|| {
            n += 1;
            let body = format!(
                r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"new-member-{n}"}}]}}]}}"#
            );
            let req = http::Request::patch(uri.as_str())
                .header("content-type", "application/scim+json")
                .body(body.into_bytes())
                .expect("request");
            let r = block_on(svc.handle(req));
            assert_eq!(r.status(), 200);
            black_box(r)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
