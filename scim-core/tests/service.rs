//! Black-box tests of the protocol: routes, status codes, error bodies, ETags,
//! pagination, sorting, search, content types, limits, events, passwords, /Me, bulk.

mod service_support;

use std::sync::{Arc, Mutex};

use scim_core::resource::Password;
use scim_core::service::{
    EventKind, EventSink, FixedContext, PasswordSink, PatchResponse, ProvisioningEvent,
    ScimService, ServiceSettings,
};
use scim_core::store::{MemoryStore, RequestContext};
use serde_json::{Value, json};
use service_support::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn with_headers(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> http::Request<Vec<u8>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(format!("{BASE}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.to_vec()).expect("request")
}

#[test]
fn create_get_etag_location() {
    let svc = service();
    let r = call(
        &svc,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "userName": "bjensen", "password": "t1meMa$heen"})),
    );
    assert_eq!(r.status(), 201);
    let u = json(&r);
    let id = id_of(&u);
    assert!(u.get("password").is_none(), "password never returned");
    let etag = r.headers()["etag"].to_str().expect("etag").to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(u["meta"]["version"], etag.as_str());
    assert_eq!(
        r.headers()["location"],
        format!("https://sp.example/scim/v2/Users/{id}").as_str()
    );
    assert_eq!(
        u["meta"]["location"],
        r.headers()["location"].to_str().expect("l")
    );
    assert_eq!(
        r.headers()["content-type"],
        "application/scim+json; charset=utf-8"
    );
    let r = call(&svc, "GET", &format!("/Users/{id}"), None);
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], etag.as_str());
    // If-None-Match (weak comparison; a strong form of the same tag matches too).
    for tag in [etag.as_str(), &etag[2..], "*"] {
        let r = send(
            &svc,
            with_headers(
                "GET",
                &format!("/Users/{id}"),
                &[("if-none-match", tag)],
                b"",
            ),
        );
        assert_eq!(r.status(), 304, "{tag}");
        assert!(r.body().is_empty());
    }
    let r = send(
        &svc,
        with_headers(
            "GET",
            &format!("/Users/{id}"),
            &[("if-none-match", "W/\"nope\"")],
            b"",
        ),
    );
    assert_eq!(r.status(), 200);
    let r = send(
        &svc,
        with_headers("HEAD", &format!("/Users/{id}"), &[], b""),
    );
    assert_eq!(r.status(), 200);
    assert!(r.body().is_empty(), "HEAD has no body");
    assert_eq!(r.headers()["etag"], etag.as_str());
}

#[test]
fn if_match_on_writes() {
    let svc = service();
    let u = create_user(&svc, "alice");
    let id = id_of(&u);
    let tag = u["meta"]["version"].as_str().expect("v").to_owned();
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "nickName", "value": "Al"}]});
    let body = serde_json::to_vec(&patch).expect("json");
    let stale = r#"W/"stale""#;
    for method in ["PATCH", "PUT", "DELETE"] {
        let b: &[u8] = match method {
            "PUT" => {
                br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice"}"#
            }
            "PATCH" => &body,
            _ => b"",
        };
        let r = send(
            &svc,
            with_headers(method, &format!("/Users/{id}"), &[("if-match", stale)], b),
        );
        assert_error(&r, 412, None);
    }
    let r = send(
        &svc,
        with_headers(
            "PATCH",
            &format!("/Users/{id}"),
            &[("if-match", &tag)],
            &body,
        ),
    );
    assert_eq!(r.status(), 200, "{}", json(&r));
    let new_tag = r.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(new_tag, tag);
    // The old tag no longer matches.
    let r = send(
        &svc,
        with_headers(
            "PATCH",
            &format!("/Users/{id}"),
            &[("if-match", &tag)],
            &body,
        ),
    );
    assert_error(&r, 412, None);
    // A PATCH that changes nothing keeps the version.
    let r = send(
        &svc,
        with_headers("PATCH", &format!("/Users/{id}"), &[], &body),
    );
    assert_eq!(r.headers()["etag"], new_tag.as_str());
    let r = send(
        &svc,
        with_headers("DELETE", &format!("/Users/{id}"), &[("if-match", "*")], b""),
    );
    assert_eq!(r.status(), 204);
}

#[test]
fn unknown_malformed_and_foreign_ids_are_404() {
    let svc = service();
    let u = create_user(&svc, "carol");
    let id = id_of(&u);
    for bad in ["does-not-exist", "%00%ff", "..", "a%20b"] {
        for method in ["GET", "DELETE"] {
            let r = send(
                &svc,
                with_headers(method, &format!("/Users/{bad}"), &[], b""),
            );
            assert_error(&r, 404, None);
        }
    }
    // Another tenant sees nothing of tenant-a.
    let other = ScimService::new(MemoryStore::new(), FixedContext(ctx("tenant-b")));
    let r = block_on(other.handle(request("GET", &format!("/Users/{id}"), None)));
    assert_error(&r, 404, None);
    // Same store, two tenants.
    let store = Arc::new(MemoryStore::new());
    let a = SharedStore(store.clone());
    let b = SharedStore(store);
    let sa = ScimService::new(a, FixedContext(ctx("t1")));
    let sb = ScimService::new(b, FixedContext(ctx("t2")));
    let create = request(
        "POST",
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "same"})),
    );
    let r = block_on(sa.handle(create));
    let id = id_of(&json(&r));
    assert_eq!(
        block_on(sb.handle(request("GET", &format!("/Users/{id}"), None))).status(),
        404
    );
    let same = request(
        "POST",
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "same"})),
    );
    assert_eq!(
        block_on(sb.handle(same)).status(),
        201,
        "userName unique per tenant only"
    );
    let list = json(&block_on(sb.handle(request("GET", "/Users", None))));
    assert_eq!(list["totalResults"], 1);
}

/// A store shared by two services (delegating to an `Arc<MemoryStore>`).
struct SharedStore(Arc<MemoryStore>);

impl scim_core::store::ResourceStore for SharedStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        rt: &str,
        a: serde_json::Map<String, Value>,
    ) -> Result<scim_core::store::StoredResource, scim_core::store::StoreError> {
        self.0.create(ctx, rt, a).await
    }
    async fn get(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
    ) -> Result<scim_core::store::StoredResource, scim_core::store::StoreError> {
        self.0.get(ctx, rt, id).await
    }
    async fn replace(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        a: serde_json::Map<String, Value>,
        v: &str,
    ) -> Result<scim_core::store::StoredResource, scim_core::store::StoreError> {
        self.0.replace(ctx, rt, id, a, v).await
    }
    async fn delete(
        &self,
        ctx: &RequestContext,
        rt: &str,
        id: &str,
        v: Option<&str>,
    ) -> Result<scim_core::store::StoredResource, scim_core::store::StoreError> {
        self.0.delete(ctx, rt, id, v).await
    }
    async fn list(
        &self,
        ctx: &RequestContext,
        q: &scim_core::store::ListQuery<'_>,
    ) -> Result<scim_core::store::ListPage, scim_core::store::StoreError> {
        self.0.list(ctx, q).await
    }
}

#[test]
fn unknown_routes_and_methods() {
    let svc = service();
    for path in [
        "/Nope",
        "/Users/a/b",
        "",
        "/Schemas/urn:nope",
        "/ResourceTypes/Nope",
    ] {
        let r = call(&svc, "GET", path, None);
        assert_error(&r, 404, None);
    }
    let r = send(&svc, with_headers("GET", "/elsewhere/Users", &[], b""));
    assert_error(&r, 404, None);
    let r = send(
        &svc,
        http::Request::get("/Users").body(Vec::new()).expect("req"),
    );
    assert_error(&r, 404, None);
    // Discovery is read-only: 405 before the (non-JSON) body is looked at.
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes/User"] {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let r = send(
                &svc,
                with_headers(
                    method,
                    path,
                    &[("content-type", "text/plain")],
                    b"test\r\n\r\n",
                ),
            );
            assert_error(&r, 405, None);
            assert_eq!(r.headers()["allow"], "GET");
        }
    }
    let r = call(&svc, "PUT", "/Users", Some(json!({})));
    assert_error(&r, 405, None);
    assert_eq!(r.headers()["allow"], "GET, POST");
    let r = call(&svc, "POST", "/Users/x", Some(json!({})));
    assert_error(&r, 405, None);
    let r = call(&svc, "GET", "/Bulk", None);
    assert_error(&r, 405, None);
    assert_eq!(r.headers()["allow"], "POST");
    let r = call(&svc, "GET", "/.search", None);
    assert_error(&r, 405, None);
    // /Me without a resolver.
    let r = call(&svc, "GET", "/Me", None);
    assert_error(&r, 501, None);
}

#[test]
fn me_with_a_resolver() {
    let store = MemoryStore::new();
    let svc = ScimService::new(store, FixedContext(ctx("tenant-a")));
    let r = block_on(svc.handle(request(
        "POST",
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "me"})),
    )));
    let id = id_of(&json(&r));
    let svc = svc.with_me(Arc::new(move |_ctx: &RequestContext| {
        Some(("User".to_owned(), id.clone()))
    }));
    let r = block_on(svc.handle(request("GET", "/Me", None)));
    assert_eq!(r.status(), 200);
    assert_eq!(json(&r)["userName"], "me");
}

#[test]
fn bodies_that_are_not_resources() {
    let svc = service();
    let r = send(&svc, with_headers("POST", "/Users", &[], b"{not json"));
    assert_error(&r, 400, Some("invalidSyntax"));
    let r = send(
        &svc,
        with_headers("POST", "/Users", &[("content-type", "text/plain")], b"{}"),
    );
    assert_error(&r, 415, None);
    // No Content-Type at all (Okta) and plain JSON are read.
    let r = send(
        &svc,
        with_headers(
            "POST",
            "/Users",
            &[],
            br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"nocT"}"#,
        ),
    );
    assert_eq!(r.status(), 201);
    let r = send(
        &svc,
        with_headers(
            "POST",
            "/Users",
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"plain"}"#,
        ),
    );
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    // A resource without schemas.
    let r = call(&svc, "POST", "/Users", Some(json!({"userName": "x"})));
    assert_error(&r, 400, Some("invalidSyntax"));
    let id = id_of(&create_user(&svc, "put-target"));
    let r = call(
        &svc,
        "PUT",
        &format!("/Users/{id}"),
        Some(json!({"userName": "x"})),
    );
    assert_error(&r, 400, Some("invalidSyntax"));
    // A PatchOp without schemas is accepted; one naming another message is not.
    let r = call(
        &svc,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"Operations": [{"op": "add", "path": "title", "value": "t"}]})),
    );
    assert_eq!(r.status(), 200, "{}", json(&r));
    let r = call(
        &svc,
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": [USER], "Operations": [{"op": "add", "path": "title", "value": "t"}]}),
        ),
    );
    assert_error(&r, 400, Some("invalidSyntax"));
    // Too deep, too large.
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let r = send(&svc, with_headers("POST", "/Users", &[], deep.as_bytes()));
    assert_error(&r, 400, Some("invalidSyntax"));
    let small = service_with(ServiceSettings::new().max_body_bytes(100).bulk(10, 100));
    assert_eq!(small.max_body_bytes(), 100);
    let big = format!(
        r#"{{"schemas":["{USER}"],"userName":"{}"}}"#,
        "x".repeat(200)
    );
    let r = send(&small, with_headers("POST", "/Users", &[], big.as_bytes()));
    assert_error(&r, 413, None);
    // Detail quotes at most 200 bytes of input.
    let long = "y".repeat(5000);
    let r = call(&svc, "GET", &format!("/Users?filter={long}"), None);
    let e = assert_error(&r, 400, Some("invalidFilter"));
    assert!(e["detail"].as_str().expect("detail").len() < 600, "{e}");
}

#[test]
fn uniqueness_and_required() {
    let svc = service();
    create_user(&svc, "Dave");
    let r = call(
        &svc,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "userName": "dAVE"})),
    );
    assert_error(&r, 409, Some("uniqueness"));
    let r = call(
        &svc,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "displayName": "x"})),
    );
    assert_error(&r, 400, Some("invalidValue"));
    // A rename onto a taken name is 409 too.
    let id = id_of(&create_user(&svc, "erin"));
    let r = call(
        &svc,
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": "DAVE"}]}),
        ),
    );
    assert_error(&r, 409, Some("uniqueness"));
    // PATCH errors from the engine.
    let r = call(
        &svc,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH], "Operations": [{"op": "remove"}]})),
    );
    assert_error(&r, 400, Some("noTarget"));
}

#[test]
fn list_parameters() {
    let svc = service();
    for name in ["c", "A", "b", "D"] {
        create_user(&svc, name);
    }
    let names = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .expect("Resources")
            .iter()
            .map(|r| r["userName"].as_str().expect("userName").to_owned())
            .collect()
    };
    let r = json(&call(&svc, "GET", "/Users", None));
    assert_eq!(names(&r), ["c", "A", "b", "D"], "creation order");
    let r = json(&call(&svc, "GET", "/Users?sortBy=userName", None));
    assert_eq!(names(&r), ["A", "b", "c", "D"], "caseExact false");
    let r = json(&call(
        &svc,
        "GET",
        "/Users?sortBy=userName&sortOrder=descending",
        None,
    ));
    assert_eq!(names(&r), ["D", "c", "b", "A"]);
    let r = json(&call(&svc, "GET", "/Users?startIndex=2&count=2", None));
    assert_eq!(names(&r), ["A", "b"]);
    assert_eq!(
        (
            r["startIndex"].clone(),
            r["itemsPerPage"].clone(),
            r["totalResults"].clone()
        ),
        (json!(2), json!(2), json!(4))
    );
    // Clamping.
    let r = json(&call(&svc, "GET", "/Users?startIndex=-4&count=-1", None));
    assert_eq!(
        (
            r["startIndex"].clone(),
            r["itemsPerPage"].clone(),
            r["totalResults"].clone()
        ),
        (json!(1), json!(0), json!(4))
    );
    let r = json(&call(
        &svc,
        "GET",
        "/Users?count=99999999999999999999999999",
        None,
    ));
    assert_eq!(r["itemsPerPage"], 4);
    let r = json(&call(&svc, "GET", "/Users?startIndex=99", None));
    assert_eq!(r["Resources"], json!([]));
    assert_eq!(r["startIndex"], 99);
    for bad in ["abc", "1e9", "1.5", "", "%20"] {
        let r = call(&svc, "GET", &format!("/Users?count={bad}"), None);
        assert_error(&r, 400, Some("invalidValue"));
        let r = call(&svc, "GET", &format!("/Users?startIndex={bad}"), None);
        assert_error(&r, 400, Some("invalidValue"));
    }
    let r = call(&svc, "GET", "/Users?sortOrder=sideways", None);
    assert_error(&r, 400, Some("invalidValue"));
    // Attributes.
    let r = json(&call(
        &svc,
        "GET",
        "/Users?attributes=userName&count=1",
        None,
    ));
    let first = &r["Resources"][0];
    assert!(first.get("displayName").is_none() && first.get("id").is_some());
    // Filters: invalid, and unknown operator for the type.
    let r = call(&svc, "GET", "/Users?filter=userName%20zz%20%22a%22", None);
    assert_error(&r, 400, Some("invalidFilter"));
    let r = call(&svc, "GET", "/Users?filter=active%20gt%20true", None);
    assert_error(&r, 400, Some("invalidFilter"));
    // Percent-encoding and `+`, and a stray `%`.
    let r = json(&call(
        &svc,
        "GET",
        "/Users?filter=userName+eq+%22b%22",
        None,
    ));
    assert_eq!(names(&r), ["b"]);
    let r = json(&call(
        &svc,
        "GET",
        "/Users?filter=displayName%20co%20%22100%%22",
        None,
    ));
    assert_eq!(r["totalResults"], 0);
    // The page maximum is advertised and enforced.
    let small = service_with(ServiceSettings::new().max_results(1));
    let cfg = json(&call(&small, "GET", "/ServiceProviderConfig", None));
    assert_eq!(cfg["filter"]["maxResults"], 100);
    assert_eq!(cfg["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert!(cfg["bulk"]["maxOperations"].is_u64() && cfg["bulk"]["maxPayloadSize"].is_u64());
    assert_eq!(cfg["changePassword"]["supported"], false);
}

#[test]
fn search_endpoints() {
    let svc = service();
    create_user(&svc, "searchme");
    create_group(&svc, "searchme group", &[]);
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"searchme\"", "attributes": ["userName"]});
    let r = json(&call(&svc, "POST", "/Users/.search", Some(body)));
    assert_eq!(r["totalResults"], 1);
    assert!(r["Resources"][0].get("displayName").is_none());
    // Without schemas: accepted; with another message's: 400.
    let r = json(&call(
        &svc,
        "POST",
        "/Users/.search",
        Some(json!({"count": "1"})),
    ));
    assert_eq!(r["itemsPerPage"], 1);
    let r = call(
        &svc,
        "POST",
        "/Users/.search",
        Some(json!({"schemas": [PATCH]})),
    );
    assert_error(&r, 400, Some("invalidSyntax"));
    // At the root: every type.
    let r = json(&call(
        &svc,
        "POST",
        "/.search",
        Some(json!({"filter": "displayName sw \"searchme\""})),
    ));
    assert_eq!(r["totalResults"], 2, "{r}");
    let r = json(&call(
        &svc,
        "POST",
        "/.search",
        Some(json!({"startIndex": 2, "count": 1})),
    ));
    assert_eq!(r["totalResults"], 2);
    assert_eq!(r["Resources"][0]["displayName"], "searchme group");
}

#[test]
fn membership_is_consistent() {
    let svc = service();
    let u = id_of(&create_user(&svc, "member"));
    let g = id_of(&create_group(&svc, "team", &[&u, "unknown-member"]));
    let user = json(&call(&svc, "GET", &format!("/Users/{u}"), None));
    assert_eq!(user["groups"][0]["value"], g.as_str());
    assert_eq!(user["groups"][0]["display"], "team");
    let group = json(&call(&svc, "GET", &format!("/Groups/{g}"), None));
    let members = group["members"].as_array().expect("members");
    assert_eq!(members[0]["display"], "member display");
    assert_eq!(
        members[0]["$ref"],
        format!("https://sp.example/scim/v2/Users/{u}").as_str()
    );
    assert_eq!(members[1], json!({"value": "unknown-member"}));
    // Writing `groups` on a user is ignored (readOnly, derived).
    let r = call(
        &svc,
        "PUT",
        &format!("/Users/{u}"),
        Some(json!({"schemas": [USER], "userName": "member", "groups": []})),
    );
    assert_eq!(json(&r)["groups"][0]["value"], g.as_str());
    // Filter on derived groups.
    let r = json(&call(
        &svc,
        "GET",
        &format!("/Users?filter=groups.value%20eq%20%22{g}%22"),
        None,
    ));
    assert_eq!(r["totalResults"], 1);
    let r = json(&call(
        &svc,
        "GET",
        &format!("/Groups?filter=members.value%20eq%20%22{u}%22&excludedAttributes=members"),
        None,
    ));
    assert_eq!(r["totalResults"], 1);
    assert!(r["Resources"][0].get("members").is_none());
    // Deleting the user removes it from the group.
    assert_eq!(
        call(&svc, "DELETE", &format!("/Users/{u}"), None).status(),
        204
    );
    let group = json(&call(&svc, "GET", &format!("/Groups/{g}"), None));
    assert_eq!(group["members"], json!([{"value": "unknown-member"}]));
    assert_eq!(
        call(&svc, "DELETE", &format!("/Users/{u}"), None).status(),
        404
    );
}

/// The member rule: a member sent with a `$ref` is answered as sent (what scim2-tester
/// checks); one sent by `value` alone gets `$ref`, `display` and `type` when it resolves.
#[test]
fn members_sent_with_a_reference_are_answered_as_sent() {
    let svc = service();
    let u = id_of(&create_user(&svc, "referenced"));
    let v = id_of(&create_user(&svc, "by-value"));
    let g = id_of(&create_group(&svc, "refs", &[]));
    let location = format!("https://sp.example/scim/v2/Users/{u}");
    let sent = json!({"value": u, "$ref": location, "type": "User"});
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [sent, {"value": v}]}]
    });
    let r = json(&call(&svc, "PATCH", &format!("/Groups/{g}"), Some(patch)));
    assert_eq!(r["members"][0], sent, "{r}");
    assert_eq!(r["members"][1]["display"], "by-value display");
    assert_eq!(
        r["members"][1]["$ref"],
        format!("https://sp.example/scim/v2/Users/{v}").as_str()
    );
    assert_eq!(r["members"][1]["type"], "User");
    let got = json(&call(&svc, "GET", &format!("/Groups/{g}"), None));
    assert_eq!(got["members"], r["members"]);
    // The same through PUT.
    let put = json!({"schemas": [GROUP], "displayName": "refs", "members": [sent]});
    let r = json(&call(&svc, "PUT", &format!("/Groups/{g}"), Some(put)));
    assert_eq!(r["members"], json!([sent]));
}

#[test]
fn patch_response_settings() {
    for (setting, user_status, group_status) in [
        (PatchResponse::Resource, 200, 200),
        (PatchResponse::NoContent, 204, 204),
        (PatchResponse::NoContentForGroups, 200, 204),
    ] {
        let svc = service_with(ServiceSettings::new().patch_response(setting));
        let u = id_of(&create_user(&svc, "p"));
        let g = id_of(&create_group(&svc, "g", &[]));
        let op = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
        let r = call(&svc, "PATCH", &format!("/Groups/{g}"), Some(op));
        assert_eq!(r.status(), group_status);
        assert!(r.headers().contains_key("etag"));
        let op = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "title", "value": "x"}]});
        let r = call(&svc, "PATCH", &format!("/Users/{u}"), Some(op));
        assert_eq!(r.status(), user_status);
    }
    // attributes / excludedAttributes shape the PATCH and PUT answers.
    let svc = service();
    let u = id_of(&create_user(&svc, "shape"));
    let g = id_of(&create_group(&svc, "shaped", &[&u]));
    let op = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "x"}]}]});
    let r = json(&call(
        &svc,
        "PATCH",
        &format!("/Groups/{g}?excludedAttributes=members"),
        Some(op.clone()),
    ));
    assert!(r.get("members").is_none());
    assert_eq!(r["displayName"], "shaped");
    let r = json(&call(&svc, "PATCH", &format!("/Groups/{g}"), Some(op)));
    assert_eq!(
        r["members"].as_array().map(Vec::len),
        Some(2),
        "no duplicate added"
    );
    let r = json(&call(
        &svc,
        "PUT",
        &format!("/Users/{u}?attributes=userName"),
        Some(json!({"schemas": [USER], "userName": "shape", "title": "t"})),
    ));
    assert!(r.get("title").is_none() && r["userName"] == "shape");
}

#[derive(Default)]
struct Recorder(Mutex<Vec<ProvisioningEvent>>);

impl EventSink for Recorder {
    fn on_event(&self, e: &ProvisioningEvent) {
        self.0.lock().expect("lock").push(e.clone());
    }
}

#[derive(Default)]
struct Passwords(Mutex<Vec<(String, String)>>);

impl PasswordSink for Passwords {
    fn set_password(&self, _ctx: &RequestContext, user: &str, p: &Password) {
        self.0
            .lock()
            .expect("lock")
            .push((user.to_owned(), p.expose().to_owned()));
    }
}

#[test]
fn events_and_passwords() {
    let rec = Arc::new(Recorder::default());
    let pw = Arc::new(Passwords::default());
    let svc = service()
        .with_events(rec.clone())
        .with_passwords(pw.clone());
    let cfg = json(&call(&svc, "GET", "/ServiceProviderConfig", None));
    assert_eq!(cfg["changePassword"]["supported"], true);
    let r = call(
        &svc,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "userName": "ev", "password": "s3cret!"})),
    );
    let u = id_of(&json(&r));
    assert!(!String::from_utf8_lossy(r.body()).contains("s3cret"));
    let stored = block_on(scim_core::store::ResourceStore::get(
        svc.store(),
        &ctx("tenant-a"),
        "User",
        &u,
    ))
    .expect("stored");
    assert!(stored.attributes.get("password").is_none(), "never stored");
    assert_eq!(
        pw.0.lock().expect("lock")[0],
        (u.clone(), "s3cret!".to_owned())
    );
    let off =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]});
    call(&svc, "PATCH", &format!("/Users/{u}"), Some(off));
    let on =
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": "True"}}]});
    call(&svc, "PATCH", &format!("/Users/{u}"), Some(on));
    let g = id_of(&create_group(&svc, "evg", &[]));
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
    call(&svc, "PATCH", &format!("/Groups/{g}"), Some(add));
    let rename = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "evg2"}]});
    call(&svc, "PATCH", &format!("/Groups/{g}"), Some(rename));
    call(&svc, "DELETE", &format!("/Users/{u}"), None);
    call(&svc, "DELETE", &format!("/Groups/{g}"), None);
    let kinds: Vec<EventKind> = rec.0.lock().expect("lock").iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::UserCreated,
            EventKind::UserDeactivated,
            EventKind::UserReactivated,
            EventKind::GroupCreated,
            EventKind::MembersAdded,
            EventKind::GroupRenamed,
            EventKind::UserDeleted,
            EventKind::GroupDeleted,
        ]
    );
    let events = rec.0.lock().expect("lock");
    assert_eq!(events[4].members, vec![u.clone()]);
    assert_eq!(events[1].context.integration_name(), "Test IdP");
    assert_eq!(
        events[1].before.as_ref().and_then(|b| b.get("active")),
        None
    );
    assert_eq!(
        events[1].after.as_ref().and_then(|b| b.get("active")),
        Some(&json!(false))
    );
}

#[test]
fn bulk_operations() {
    let svc = service();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"schemas": [USER], "userName": "bulk1"}},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"schemas": [GROUP], "displayName": "bg", "members": [{"value": "bulkId:u1"}]}},
            {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"Operations": [{"op": "add", "path": "title", "value": "T"}]}},
            {"method": "DELETE", "path": "/Users/nope"},
        ]
    });
    let r = call(&svc, "POST", "/Bulk", Some(body));
    assert_eq!(r.status(), 200);
    let out = json(&r);
    let ops = out["Operations"].as_array().expect("ops");
    let statuses: Vec<&str> = ops
        .iter()
        .map(|o| o["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["201", "201", "200", "404"]);
    let gid = ops[1]["location"]
        .as_str()
        .expect("loc")
        .rsplit('/')
        .next()
        .expect("id");
    let uid = ops[0]["location"]
        .as_str()
        .expect("loc")
        .rsplit('/')
        .next()
        .expect("id");
    let g = json(&call(&svc, "GET", &format!("/Groups/{gid}"), None));
    assert_eq!(g["members"][0]["value"], uid);
    assert_eq!(ops[3]["response"]["status"], "404");

    // Circular references: two groups naming each other.
    let body = json!({"Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"schemas": [GROUP], "displayName": "A", "members": [{"value": "bulkId:b", "type": "Group"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a", "type": "Group"}]}},
    ]});
    let out = json(&call(&svc, "POST", "/Bulk", Some(body)));
    let ops = out["Operations"].as_array().expect("ops");
    assert_eq!(ops[0]["status"], "201", "{out}");
    assert_eq!(ops[1]["status"], "201", "{out}");
    let id = |o: &Value| {
        o["location"]
            .as_str()
            .expect("loc")
            .rsplit('/')
            .next()
            .expect("id")
            .to_owned()
    };
    let (a, b) = (id(&ops[0]), id(&ops[1]));
    let ga = json(&call(&svc, "GET", &format!("/Groups/{a}"), None));
    let gb = json(&call(&svc, "GET", &format!("/Groups/{b}"), None));
    assert_eq!(ga["members"][0]["value"], b.as_str());
    assert_eq!(gb["members"][0]["value"], a.as_str());

    // A cycle through a single-valued attribute cannot be broken: 409.
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let body = json!({"Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"schemas": [USER, ent], "userName": "x1", ent: {"manager": {"value": "bulkId:y"}}}},
        {"method": "POST", "path": "/Users", "bulkId": "y", "data": {"schemas": [USER, ent], "userName": "y1", ent: {"manager": {"value": "bulkId:x"}}}},
    ]});
    let out = json(&call(&svc, "POST", "/Bulk", Some(body)));
    assert_eq!(out["Operations"][0]["status"], "409", "{out}");
    assert_eq!(out["Operations"][1]["status"], "409", "{out}");

    // failOnErrors stops after that many errors.
    let body = json!({"failOnErrors": 1, "Operations": [
        {"method": "DELETE", "path": "/Users/nope1"},
        {"method": "POST", "path": "/Users", "bulkId": "z", "data": {"schemas": [USER], "userName": "never"}},
    ]});
    let out = json(&call(&svc, "POST", "/Bulk", Some(body)));
    assert_eq!(out["Operations"].as_array().map(Vec::len), Some(1));
    let r = json(&call(
        &svc,
        "GET",
        "/Users?filter=userName%20eq%20%22never%22",
        None,
    ));
    assert_eq!(r["totalResults"], 0);

    // Limits.
    let small = service_with(ServiceSettings::new().bulk(1, 300));
    let two = json!({"Operations": [
        {"method": "DELETE", "path": "/Users/a"}, {"method": "DELETE", "path": "/Users/b"}]});
    assert_error(&call(&small, "POST", "/Bulk", Some(two)), 413, None);
    let big = json!({"Operations": [{"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "x".repeat(400)}}]});
    assert_error(&call(&small, "POST", "/Bulk", Some(big)), 413, None);
    let r = call(
        &svc,
        "POST",
        "/Bulk",
        Some(json!({"schemas": [PATCH], "Operations": []})),
    );
    assert_error(&r, 400, Some("invalidSyntax"));
}

#[test]
fn cursor_pagination() {
    let svc = service_with(ServiceSettings::new().cursor_pagination(true));
    for i in 0..5 {
        create_user(&svc, &format!("cur{i}"));
    }
    let cfg = json(&call(&svc, "GET", "/ServiceProviderConfig", None));
    assert_eq!(cfg["pagination"]["cursor"], true);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = json(&call(
            &svc,
            "GET",
            &format!("/Users?count=2&cursor={cursor}"),
            None,
        ));
        assert!(page.get("startIndex").is_none(), "{page}");
        assert_eq!(page["totalResults"], 5);
        for r in page["Resources"].as_array().expect("Resources") {
            seen.push(r["userName"].as_str().expect("userName").to_owned());
        }
        pages += 1;
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["cur0", "cur1", "cur2", "cur3", "cur4"]);
    let r = call(&svc, "GET", "/Users?cursor=not-mine", None);
    assert_error(&r, 400, Some("invalidValue"));
    let r = call(&svc, "GET", "/Users?cursor=&startIndex=1", None);
    assert_error(&r, 400, Some("invalidValue"));
    // Off (the default), `cursor` is ignored: index pagination.
    let plain = service();
    create_user(&plain, "x");
    let page = json(&call(&plain, "GET", "/Users?cursor=", None));
    assert_eq!(page["startIndex"], 1);
    assert!(page.get("nextCursor").is_none());
}

#[test]
fn handle_future_is_send() {
    fn assert_send<T: Send>(t: T) -> T {
        t
    }
    let svc = service();
    let fut = assert_send(svc.handle(request("GET", "/Users", None)));
    assert_eq!(block_on(fut).status(), 200);
}

#[test]
fn every_limit_is_a_setting_and_advertised() {
    let svc = service_with(
        ServiceSettings::new()
            .max_results(150)
            .max_body_bytes(4000)
            .bulk(3, 5000)
            .max_patch_operations(2)
            .filter_limits(40, 2, 3),
    );
    let spc = json(&call(&svc, "GET", "/ServiceProviderConfig", None));
    assert_eq!(spc["filter"]["maxResults"], 150);
    assert_eq!(spc["bulk"]["maxOperations"], 3);
    assert_eq!(spc["bulk"]["maxPayloadSize"], 5000);

    // The body limit applies to resource bodies even though the bulk limit is higher.
    let big = json!({"schemas": [USER], "userName": "big", "displayName": "x".repeat(4500)});
    assert_eq!(call(&svc, "POST", "/Users", Some(big)).status(), 413);
    let u = json(&call(
        &svc,
        "POST",
        "/Users",
        Some(json!({"schemas": [USER], "userName": "u1"})),
    ));
    let uid = id_of(&u);
    let g = json(&call(
        &svc,
        "POST",
        "/Groups",
        Some(json!({"schemas": [GROUP], "displayName": "g"})),
    ));
    let gid = id_of(&g);

    // PatchOp operations, on the general path and on the group-members path.
    let op = json!({"op": "add", "path": "title", "value": "x"});
    let three = json!({"schemas": [PATCH], "Operations": [op, op, op]});
    let r = call(&svc, "PATCH", &format!("/Users/{uid}"), Some(three));
    assert_eq!(r.status(), 400);
    assert_eq!(json(&r)["scimType"], "invalidValue");
    let two = json!({"schemas": [PATCH], "Operations": [op, op]});
    assert_eq!(
        call(&svc, "PATCH", &format!("/Users/{uid}"), Some(two)).status(),
        200
    );
    let m = json!({"op": "add", "path": "members", "value": [{"value": uid}]});
    let three = json!({"schemas": [PATCH], "Operations": [m, m, m]});
    let r = call(&svc, "PATCH", &format!("/Groups/{gid}"), Some(three));
    assert_eq!(r.status(), 400, "{}", json(&r));

    // Filter budgets: length, depth, comparisons.
    for f in [
        "userName eq \"a\" or userName eq \"b\" or userName eq \"c\" or userName eq \"d\"",
        "((((userName pr))))",
        "a pr or b pr or c pr or d pr",
    ] {
        let r = call(&svc, "GET", &format!("/Users?filter={f}"), None);
        assert_eq!(r.status(), 400, "{f}");
        assert_eq!(json(&r)["scimType"], "invalidFilter", "{f}");
    }
    let r = call(&svc, "GET", "/Users?filter=userName pr or title pr", None);
    assert_eq!(r.status(), 200);

    // Page size capped at maxResults.
    let r = json(&call(&svc, "GET", "/Users?count=1000000000", None));
    assert_eq!(r["itemsPerPage"], 1);

    // Bulk: operations and payload.
    let op = json!({"method": "DELETE", "path": "/Users/none"});
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                      "Operations": [op, op, op, op]});
    assert_eq!(call(&svc, "POST", "/Bulk", Some(bulk)).status(), 413);
}
