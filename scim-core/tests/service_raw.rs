//! A read answered from the store's JSON text (`ResourceStore::get_raw`) is the same
//! answer as the one presented from the parsed resource: the same members, ETag and
//! status, `groups` and `members` included, whether the text goes into the body as it is
//! or has to be shaped first.

mod service_support;

use std::sync::Arc;

use bytes::Bytes;
use http::Response;
use scim_core::service::{FixedContext, ScimService, ServiceSettings};
use scim_core::store::{
    ListPage, ListQuery, MemberChange, MembersModified, MemoryStore, RawResource, RequestContext,
    ResourceStore, StoreError, StoredResource,
};
use serde_json::{Map, Value, json};
use service_support::{block_on, ctx, request};

/// A MemoryStore that answers `get_raw` with the text of what `get` reads when `raw` is
/// set (with `extra` members spliced into a user's text, to make it need shaping), and with
/// the trait's default (`None`) otherwise.
struct RawStore {
    inner: Arc<MemoryStore>,
    raw: bool,
    extra: &'static str,
}

impl ResourceStore for RawStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        rt: &str,
        a: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        self.inner.create(ctx, rt, a).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
    ) -> Result<StoredResource, StoreError> {
        self.inner.get(ctx, rt, id).await
    }
    async fn get_raw(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
    ) -> Result<Option<RawResource>, StoreError> {
        if !self.raw {
            return Ok(None);
        }
        let mut r = self.inner.get(ctx, rt, id).await?;
        let mut derived = Map::new();
        for k in ["groups", "members"] {
            if let Some(v) = r.attributes.remove(k) {
                derived.insert(k.to_owned(), v);
            }
        }
        let mut json = serde_json::to_string(&r.attributes).expect("json");
        // Only users: for a group, these names are unknown attributes (shown as stored).
        if !self.extra.is_empty() && rt == "User" {
            json.pop();
            json.push(',');
            json.push_str(self.extra);
            json.push('}');
        }
        Ok(Some(RawResource {
            id: r.id,
            version: r.version,
            created: r.created,
            last_modified: r.last_modified,
            json,
            derived,
        }))
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        a: Map<String, Value>,
        v: &str,
    ) -> Result<StoredResource, StoreError> {
        self.inner.replace(ctx, rt, id, a, v).await
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        v: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        self.inner.delete(ctx, rt, id, v).await
    }
    async fn list(&self, ctx: &RequestContext, q: &ListQuery<'_>) -> Result<ListPage, StoreError> {
        self.inner.list(ctx, q).await
    }
    async fn modify_members(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        changes: &[MemberChange],
        v: Option<&str>,
    ) -> Result<MembersModified, StoreError> {
        self.inner.modify_members(ctx, rt, id, changes, v).await
    }
}

type Svc = ScimService<RawStore, FixedContext>;

fn svc(inner: &Arc<MemoryStore>, raw: bool, extra: &'static str) -> Svc {
    let store = RawStore {
        inner: Arc::clone(inner),
        raw,
        extra,
    };
    ScimService::new(store, FixedContext(ctx("tenant-a")))
        .with_settings(ServiceSettings::new().base_url("https://sp.example/scim/v2"))
}

fn send(
    svc: &Svc,
    method: &str,
    path: &str,
    body: Option<Value>,
    inm: Option<&str>,
) -> Response<Bytes> {
    let mut req = request(method, path, body.as_ref());
    if let Some(v) = inm {
        req.headers_mut()
            .insert(http::header::IF_NONE_MATCH, v.parse().expect("header"));
    }
    block_on(svc.handle(req))
}

fn body(r: &Response<Bytes>) -> Value {
    if r.body().is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(r.body()).expect("json")
}

#[test]
fn reads_from_the_stored_text_answer_as_reads_from_the_resource() {
    let inner = Arc::new(MemoryStore::new());
    let parsed = svc(&inner, false, "");
    let raw = svc(&inner, true, "");
    // Shaped first: a `returned: never` attribute and a null the projection drops.
    let shaped = svc(&inner, true, r#""password":"hunter2","nickName":null"#);

    let mut ids = Vec::new();
    for user in [
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen"}),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "Ünïcödé \"quoted\" \\ name", "active": true, "externalId": "e-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                {"department": "Sales", "manager": {"value": "m-1"}},
        }),
    ] {
        let r = send(&parsed, "POST", "/Users", Some(user), None);
        assert_eq!(r.status(), 201);
        ids.push(("Users", body(&r)["id"].as_str().expect("id").to_owned()));
    }
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales",
        "members": [{"value": ids[0].1}, {"value": ids[1].1}],
    });
    let r = send(&parsed, "POST", "/Groups", Some(group), None);
    assert_eq!(r.status(), 201);
    ids.push(("Groups", body(&r)["id"].as_str().expect("id").to_owned()));
    let empty =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Empty"});
    let r = send(&parsed, "POST", "/Groups", Some(empty), None);
    ids.push(("Groups", body(&r)["id"].as_str().expect("id").to_owned()));

    for (endpoint, id) in &ids {
        let path = format!("/{endpoint}/{id}");
        let want = send(&parsed, "GET", &path, None, None);
        assert_eq!(want.status(), 200);
        let etag = want.headers()[http::header::ETAG]
            .to_str()
            .expect("etag")
            .to_owned();
        for (name, s) in [("raw", &raw), ("shaped", &shaped)] {
            let got = send(s, "GET", &path, None, None);
            assert_eq!(got.status(), 200, "{name} {path}");
            assert_eq!(body(&got), body(&want), "{name} {path}");
            assert_eq!(got.headers()[http::header::ETAG], etag.as_str(), "{name}");
            assert_eq!(
                got.headers()[http::header::CONTENT_TYPE],
                want.headers()[http::header::CONTENT_TYPE]
            );
            let head = send(s, "HEAD", &path, None, None);
            assert_eq!((head.status().as_u16(), head.body().len()), (200, 0));
            let same = send(s, "GET", &path, None, Some(&etag));
            assert_eq!(same.status(), 304, "{name}: If-None-Match");
            // With a list the usual path answers, the same as without the text.
            for q in [
                "?attributes=userName,displayName",
                "?excludedAttributes=members,emails",
            ] {
                let a = send(s, "GET", &format!("{path}{q}"), None, None);
                let b = send(&parsed, "GET", &format!("{path}{q}"), None, None);
                assert_eq!(body(&a), body(&b), "{name} {path}{q}");
            }
        }
    }
    // A user in a group shows it, with an absolute `$ref`.
    let user = body(&send(
        &raw,
        "GET",
        &format!("/Users/{}", ids[0].1),
        None,
        None,
    ));
    assert_eq!(user["groups"][0]["value"], ids[2].1.as_str());
    assert!(
        user["groups"][0]["$ref"]
            .as_str()
            .expect("ref")
            .starts_with("https://sp.example/scim/v2/Groups/")
    );
    assert!(user.get("password").is_none());
    let missing = send(&raw, "GET", "/Users/nope", None, None);
    assert_eq!(missing.status(), 404);
}
