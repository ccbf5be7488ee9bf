//! Tenant isolation of the `hyper-server` binary (issue 7): an integration of tenant A can
//! neither read, list, search, patch, replace nor delete tenant B's resources, nor add B's
//! users to its groups, nor reach them through `/Bulk`, on every endpoint; and nothing A
//! does changes what B sees.

mod common;

use common::{GROUP, PATCH, USER, admin, create_group, create_user, http, serve, temp_dir};
use serde_json::{Value, json};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn call(port: u16, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = http(port, method, path, token, &text).unwrap_or_else(|f| panic!("{path}: {f:?}"));
    assert!(r.status < 500, "{method} {path}: {} {}", r.status, r.text());
    (r.status, r.json())
}

/// Every id a response mentions, anywhere.
fn mentions(v: &Value, id: &str) -> bool {
    v.to_string().contains(id)
}

#[test]
fn an_integration_sees_and_touches_only_its_tenant() {
    let dir = temp_dir("isolation");
    let db = dir.join("scim.db");
    let server = serve(&db);
    let port = server.port;
    let a = server.banner_token();
    let (ok, out, err) = admin(&db, &["integrations", "create", "Okta", "--tenant", "B"]);
    assert!(ok, "{err}");
    let b = out.trim().to_owned();

    // Tenant B's data.
    let b_user = create_user(port, &b, "shared-name@example.com");
    let b_other = create_user(port, &b, "b-only@example.com");
    let b_group = create_group(port, &b, "B staff", &[&b_user]);
    let (_, before_user) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Users/{b_user}"),
        &Value::Null,
    );
    let (_, before_group) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Groups/{b_group}"),
        &Value::Null,
    );

    // Tenant A's own data; the same userName as B's is no conflict (no existence leak).
    let a_user = create_user(port, &a, "shared-name@example.com");
    let a_group = create_group(port, &a, "A staff", &[&a_user]);

    let mut covered = Vec::new();
    let mut expect_404 = |method: &str, path: String, body: Value| {
        let (status, v) = call(port, &a, method, &path, &body);
        assert_eq!(status, 404, "{method} {path}: {v}");
        assert!(!mentions(&v, "b-only"), "{v}");
        covered.push(format!(
            "{method} {}",
            path.replace(&b_user, "{B user}")
                .replace(&b_group, "{B group}")
        ));
    };
    let user_body = json!({"schemas": [USER], "userName": "taken-over@example.com"});
    let group_body = json!({"schemas": [GROUP], "displayName": "taken over"});
    let patch = json!({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "taken over"}]});
    for (kind, id, body) in [
        ("Users", &b_user, &user_body),
        ("Users", &b_other, &user_body),
        ("Groups", &b_group, &group_body),
    ] {
        let path = format!("/scim/v2/{kind}/{id}");
        expect_404("GET", path.clone(), Value::Null);
        expect_404("HEAD", path.clone(), Value::Null);
        expect_404("PUT", path.clone(), body.clone());
        expect_404("PATCH", path.clone(), patch.clone());
        expect_404("DELETE", path.clone(), Value::Null);
    }

    // Lists and searches: none of B's resources, whatever the filter.
    let queries = [
        "/scim/v2/Users".to_owned(),
        "/scim/v2/Groups".to_owned(),
        "/scim/v2/Users?filter=userName%20eq%20%22b-only%40example.com%22".to_owned(),
        format!("/scim/v2/Users?filter=id%20eq%20%22{b_user}%22"),
        format!("/scim/v2/Users?filter=groups.value%20eq%20%22{b_group}%22"),
        format!("/scim/v2/Groups?filter=members.value%20eq%20%22{b_user}%22"),
        "/scim/v2/Groups?filter=displayName%20sw%20%22B%22".to_owned(),
        "/scim/v2/Users?filter=userName%20pr&count=1000".to_owned(),
    ];
    for q in &queries {
        let (status, v) = call(port, &a, "GET", q, &Value::Null);
        assert_eq!(status, 200, "{q}: {v}");
        assert!(
            !mentions(&v, &b_user) && !mentions(&v, &b_other) && !mentions(&v, &b_group),
            "{q}: {v}"
        );
        covered.push(format!("GET {q}"));
    }
    let (_, v) = call(port, &a, "GET", "/scim/v2/Users", &Value::Null);
    assert_eq!(v["totalResults"], 1, "A counts only its own users: {v}");
    for (path, filter) in [
        (
            "/scim/v2/.search",
            "userName eq \"b-only@example.com\"".to_owned(),
        ),
        ("/scim/v2/.search", format!("id eq \"{b_group}\"")),
        ("/scim/v2/Users/.search", format!("id eq \"{b_other}\"")),
        (
            "/scim/v2/Groups/.search",
            format!("members.value eq \"{b_user}\""),
        ),
        ("/scim/v2/.search", "meta.resourceType pr".to_owned()),
    ] {
        let (status, v) = call(
            port,
            &a,
            "POST",
            path,
            &json!({"schemas": [SEARCH], "filter": filter}),
        );
        assert_eq!(status, 200, "{path} {filter}: {v}");
        assert!(
            !mentions(&v, &b_user) && !mentions(&v, &b_other) && !mentions(&v, &b_group),
            "{v}"
        );
        covered.push(format!("POST {path} ({filter})"));
    }

    // B's users cannot become members of A's groups, by any route. A member value naming
    // no resource of the tenant is kept as given (by design: see the store's documentation),
    // so B's ids must fare exactly as ids that name nothing: nothing of B's resource (type,
    // display, $ref) shows, and B's users see no group of A.
    let unknown = "00000000-0000-4000-8000-000000000000";
    let leaked = |v: &Value| -> Vec<String> {
        let mut out = Vec::new();
        for m in v["members"].as_array().into_iter().flatten() {
            let id = m["value"].as_str().unwrap_or("");
            if (id == b_user || id == b_other || id == unknown)
                && m.as_object()
                    .is_some_and(|o| o.keys().any(|k| k != "value"))
            {
                out.push(m.to_string());
            }
        }
        out
    };
    let (status, v) = call(
        port,
        &a,
        "POST",
        "/scim/v2/Groups",
        &json!({"schemas": [GROUP], "displayName": "A new",
                "members": [{"value": b_user}, {"value": unknown}]}),
    );
    assert!(status == 201 || status == 400, "{status} {v}");
    assert!(leaked(&v).is_empty(), "{v}");
    covered.push("POST /scim/v2/Groups with a B member".into());
    let (status, v) = call(
        port,
        &a,
        "PATCH",
        &format!("/scim/v2/Groups/{a_group}"),
        &json!({"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": b_user}, {"value": unknown}]}]}),
    );
    assert!(status < 300 || status == 400, "{status} {v}");
    assert!(leaked(&v).is_empty(), "{v}");
    covered.push("PATCH A group add B member".into());
    let (status, v) = call(
        port,
        &a,
        "PUT",
        &format!("/scim/v2/Groups/{a_group}"),
        &json!({"schemas": [GROUP], "displayName": "A staff",
                "members": [{"value": a_user}, {"value": b_other}]}),
    );
    assert!(status == 200 || status == 400, "{status} {v}");
    assert!(leaked(&v).is_empty(), "{v}");
    covered.push("PUT A group with a B member".into());

    // /Bulk: every operation on B's resources fails, and none reaches them.
    let ops = json!([
        {"method": "PUT", "path": format!("/Users/{b_user}"), "data": user_body},
        {"method": "PATCH", "path": format!("/Users/{b_other}"), "data": patch},
        {"method": "PATCH", "path": format!("/Groups/{b_group}"), "data": {"schemas": [PATCH],
            "Operations": [{"op": "remove", "path": "members"}]}},
        {"method": "DELETE", "path": format!("/Users/{b_other}")},
        {"method": "DELETE", "path": format!("/Groups/{b_group}")},
        {"method": "PATCH", "path": format!("/Groups/{a_group}"), "data": {"schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": b_user}]}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP], "displayName": "bulk", "members": [{"value": b_other}]}},
    ]);
    let (status, v) = call(
        port,
        &a,
        "POST",
        "/scim/v2/Bulk",
        &json!({"schemas": [BULK], "Operations": ops}),
    );
    assert_eq!(status, 200, "{v}");
    let results = v["Operations"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 7, "{v}");
    for r in &results[..5] {
        assert_eq!(r["status"], "404", "{r}");
    }
    covered.push("POST /scim/v2/Bulk (PUT, PATCH, DELETE on B; B members into A groups)".into());
    // A's groups, however their members were sent, show nothing of B's users.
    let (_, v) = call(port, &a, "GET", "/scim/v2/Groups?count=100", &Value::Null);
    for g in v["Resources"].as_array().into_iter().flatten() {
        assert!(leaked(g).is_empty(), "{g}");
    }
    assert!(!mentions(&v, "b-only"), "{v}");

    // Nothing of B changed, and B sees none of A.
    let (_, after_user) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Users/{b_user}"),
        &Value::Null,
    );
    let (_, after_group) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Groups/{b_group}"),
        &Value::Null,
    );
    assert_eq!(after_user, before_user);
    assert_eq!(after_group, before_group);
    let (status, _) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Users/{b_other}"),
        &Value::Null,
    );
    assert_eq!(status, 200);
    let (_, v) = call(port, &b, "GET", "/scim/v2/Users", &Value::Null);
    assert_eq!(v["totalResults"], 2, "{v}");
    assert!(!mentions(&v, &a_user), "{v}");
    let (status, _) = call(
        port,
        &b,
        "GET",
        &format!("/scim/v2/Users/{a_user}"),
        &Value::Null,
    );
    assert_eq!(status, 404);
    eprintln!(
        "tenant isolation: {} requests of A at B's resources refused or empty",
        covered.len()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
