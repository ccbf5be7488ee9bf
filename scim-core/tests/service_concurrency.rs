//! Concurrent writers: PATCH add-member requests to one group lose nothing and all
//! succeed (through the store's member hook, and through the service's compare-and-swap
//! retry loop with a store that has no hook); a userName race has exactly one winner.

mod service_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use scim_core::service::{FixedContext, ScimService};
use scim_core::store::{
    ListPage, ListQuery, MemoryStore, RequestContext, ResourceStore, StoreError, StoredResource,
};
use serde_json::{Map, Value, json};
use service_support::*;

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const N: usize = 16;

/// A MemoryStore without the member hook: the trait's default read-modify-write, so
/// concurrent member adds conflict on the version and the service must retry.
struct NoHook(MemoryStore, AtomicUsize);

impl ResourceStore for NoHook {
    async fn create(
        &self,
        ctx: &RequestContext,
        rt: &str,
        a: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        self.0.create(ctx, rt, a).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
    ) -> Result<StoredResource, StoreError> {
        let r = self.0.get(ctx, rt, id).await;
        // Widen the window between read and write so that writers collide.
        std::thread::sleep(Duration::from_millis(2));
        r
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        a: Map<String, Value>,
        v: &str,
    ) -> Result<StoredResource, StoreError> {
        let r = self.0.replace(ctx, rt, id, a, v).await;
        if r == Err(StoreError::VersionConflict) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        v: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        self.0.delete(ctx, rt, id, v).await
    }
    async fn list(&self, ctx: &RequestContext, q: &ListQuery<'_>) -> Result<ListPage, StoreError> {
        self.0.list(ctx, q).await
    }
}

fn race<S: ResourceStore + 'static>(
    svc: Arc<ScimService<S, FixedContext>>,
    requests: Vec<http::Request<Vec<u8>>>,
) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let svc = svc.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let r = block_on(svc.handle(req));
                let body = if r.body().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(r.body()).expect("json")
                };
                (r.status().as_u16(), body)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect()
}

fn add_member(group: &str, value: &str, extra_op: bool) -> http::Request<Vec<u8>> {
    let mut ops = vec![json!({"op": "add", "path": "members", "value": [{"value": value}]})];
    if extra_op {
        // Not a pure member change: goes through the generic PATCH path.
        ops.push(json!({"op": "replace", "path": "externalId", "value": value}));
    }
    request(
        "PATCH",
        &format!("/Groups/{group}"),
        Some(&json!({"schemas": [PATCH], "Operations": ops})),
    )
}

fn check_members<S: ResourceStore>(
    svc: &ScimService<S, FixedContext>,
    group: &str,
    want: &[String],
) {
    let r = block_on(svc.handle(request("GET", &format!("/Groups/{group}"), None)));
    let g: Value = serde_json::from_slice(r.body()).expect("json");
    let mut got: Vec<String> = g["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().expect("value").to_owned())
        .collect();
    got.sort();
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(got, want, "no member lost");
}

fn setup<S: ResourceStore>(svc: &ScimService<S, FixedContext>) -> (String, Vec<String>) {
    let users: Vec<String> = (0..N)
        .map(|i| {
            let r = block_on(svc.handle(request(
                "POST",
                "/Users",
                Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("user{i}")})),
            )));
            id_of(&serde_json::from_slice(r.body()).expect("json"))
        })
        .collect();
    let r = block_on(svc.handle(request(
        "POST",
        "/Groups",
        Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "crowd"})),
    )));
    (
        id_of(&serde_json::from_slice(r.body()).expect("json")),
        users,
    )
}

#[test]
fn concurrent_member_adds_through_the_member_hook() {
    let svc = Arc::new(service());
    let (group, users) = setup(&svc);
    let results = race(
        svc.clone(),
        users.iter().map(|u| add_member(&group, u, false)).collect(),
    );
    for (status, body) in &results {
        assert!((200..300).contains(status), "{status}: {body}");
    }
    check_members(&svc, &group, &users);
}

#[test]
fn concurrent_member_adds_through_compare_and_swap_retries() {
    for extra_op in [false, true] {
        let svc = Arc::new(ScimService::new(
            NoHook(MemoryStore::new(), AtomicUsize::new(0)),
            FixedContext(ctx("t")),
        ));
        let (group, users) = setup(&svc);
        let results = race(
            svc.clone(),
            users
                .iter()
                .map(|u| add_member(&group, u, extra_op))
                .collect(),
        );
        for (status, body) in &results {
            assert!((200..300).contains(status), "{status}: {body}");
        }
        check_members(&svc, &group, &users);
        let conflicts = svc.store().1.load(Ordering::Relaxed);
        assert!(conflicts > 0, "the writers did collide (and were retried)");
    }
}

#[test]
fn user_name_race_has_one_winner() {
    for _ in 0..5 {
        let svc = Arc::new(service());
        let requests = (0..N)
            .map(|i| {
                // The same userName in different cases.
                let name = if i % 2 == 0 { "Racer" } else { "rACER" };
                request(
                    "POST",
                    "/Users",
                    Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})),
                )
            })
            .collect();
        let results = race(svc.clone(), requests);
        let created = results.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "{results:?}");
        for (s, body) in &results {
            if *s != 201 {
                assert_eq!(*s, 409);
                assert_eq!(body["scimType"], "uniqueness");
            }
        }
    }
}
