//! Every PATCH body captured from identity providers in shared/idp/requests.json, applied to
//! a User or Group built with the ids the request mentions, with the effect its `expect`
//! describes checked concretely.

mod patch_support;

use patch_support::{assert_valid, object};
use scim_core::Registry;
use scim_core::patch::{PatchOp, PatchOptions, apply_patch};
use serde_json::{Map, Value, json};

const REQUESTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/idp/requests.json"
);
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `REQUESTS` as the workspace lays it out; a checkout elsewhere (a git worktree) finds
/// `shared/idp/requests.json` in the nearest ancestor directory holding it.
fn requests_path() -> std::path::PathBuf {
    let primary = std::path::PathBuf::from(REQUESTS);
    if primary.exists() {
        return primary;
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("shared/idp/requests.json"))
        .find(|p| p.exists())
        .unwrap_or(primary)
}

fn requests() -> Vec<Value> {
    let path = requests_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the captured identity-provider requests are missing at {}: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("requests.json is a JSON array")
}

/// The resource id in `/Users/{id}` or `/Groups/{id}`.
fn id_of(path: &str) -> String {
    path.rsplit('/').next().unwrap_or("x").to_owned()
}

fn user(id: &str, step: &str) -> Map<String, Value> {
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": id,
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": !step.contains("Reactivate"),
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "home", "formatted": "456 Hollywood Blvd"}],
        "roles": [{"value": "Old", "type": "WindowsAzureActiveDirectoryRole"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""},
        ENTERPRISE: {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "m-old"}
        }
    }))
}

/// Member ids a remove operation names (in a `value` array or a `value eq "..."` filter).
fn removed_ids(patch: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for op in patch["Operations"].as_array().into_iter().flatten() {
        if !op["op"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("remove")
        {
            continue;
        }
        for m in op["value"].as_array().into_iter().flatten() {
            if let Some(v) = m["value"].as_str() {
                ids.push(v.to_owned());
            }
        }
        if let Some(path) = op["path"].as_str()
            && let Some(start) = path.find("value eq \"")
        {
            let rest = &path[start + 10..];
            ids.push(rest[..rest.find('"').expect("closing quote")].to_owned());
        }
    }
    ids
}

fn group(id: &str, patch: &Value) -> Map<String, Value> {
    let mut members = vec![
        json!({"value": "keep-1", "type": "User"}),
        json!({"value": "keep-2"}),
    ];
    for removed in removed_ids(patch) {
        members.push(json!({"value": removed}));
    }
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": "Group One",
        "members": members,
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    }))
}

fn member_ids(g: &Map<String, Value>) -> Vec<String> {
    g.get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect()
}

fn ext(r: &Map<String, Value>) -> &Value {
    r.get(ENTERPRISE).unwrap_or(&Value::Null)
}

/// The value of the first operation (for checks that compare with what was sent).
fn first_value(patch: &Value) -> &Value {
    &patch["Operations"][0]["value"]
}

/// Checks the effect the request's `expect` describes. Returns false for a step this test
/// does not know, so that a new capture fails the test until it is covered.
fn check(
    step: &str,
    patch: &Value,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> bool {
    let unchanged_except = |keys: &[&str]| {
        for (k, v) in before {
            if !keys.contains(&k.as_str()) {
                assert_eq!(after.get(k), Some(v), "{step}: `{k}` changed");
            }
        }
    };
    match step {
        "Update user, rename userName" => {
            assert_eq!(after["userName"], *first_value(patch));
            unchanged_except(&["userName"]);
        }
        "Update group non-member attribute" | "Rename group (no-path replace including id)" => {
            let want = first_value(patch)
                .get("displayName")
                .unwrap_or(first_value(patch));
            assert_eq!(after["displayName"], *want);
            assert_eq!(after["id"], before["id"]);
            unchanged_except(&["displayName"]);
        }
        "Remove group member (non-RFC: remove with value array)"
        | "Remove group member - WITHOUT flag"
        | "Remove group member - WITH flag (RFC value-filter path)"
        | "Remove group member with value array (no filter)" => {
            let gone = removed_ids(patch);
            assert_eq!(gone.len(), 1, "{step}");
            let mut want = member_ids(before);
            want.retain(|m| *m != gone[0]);
            assert_eq!(member_ids(after), want, "{step}: only {} removed", gone[0]);
            assert_eq!(want, ["keep-1", "keep-2"]);
        }
        "Set manager (doc 'Example 5', legacy reference-array form)" => {
            let sent = &first_value(patch)[0];
            assert_eq!(ext(after)["manager"]["value"], sent["value"]);
            assert_eq!(ext(after)["manager"]["$ref"], sent["$ref"]);
            assert_eq!(ext(after)["employeeNumber"], "701984");
        }
        "Set manager: full URN path, plain string id (captured)"
        | "Validator SCIM_Update_Manager_Test phase 1: set manager" => {
            assert_eq!(ext(after)["manager"], json!({"value": first_value(patch)}));
            assert!(after.get("manager").is_none());
        }
        "Validator SCIM_Update_Manager_Test phase 3: remove manager via replace with empty string" =>
        {
            let m = &ext(after)["manager"];
            assert!(m.is_null() || m["value"] == "", "{step}: manager {m}");
            assert_eq!(ext(after)["department"], "Tour Operations");
        }
        "Disable user - WITH aadOptscim062020 flag"
        | "PATCH active false (boolean)"
        | "Deactivate user (OIN app): PATCH replace without path" => {
            assert_eq!(after["active"], false);
            unchanged_except(&["active"]);
        }
        "Reactivate user (OIN app)" => {
            assert_eq!(before["active"], false);
            assert_eq!(after["active"], true);
            unchanged_except(&["active"]);
        }
        "Add single-value string attribute - WITH flag" => {
            assert_eq!(after["nickName"], "Babs");
            unchanged_except(&[]);
        }
        "Replace multiple attributes - WITH flag (no-path replace with dotted/URN keys)" => {
            assert_eq!(
                after["emails"],
                json!([
                    {"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": true},
                    {"value": "babs@jensen.org", "type": "home"}
                ])
            );
            assert_eq!(after["displayName"], "Bjfe");
            assert_eq!(
                after["name"],
                json!({"givenName": "Kkom", "familyName": "Unua"})
            );
            assert_eq!(ext(after)["employeeNumber"], "Aklq");
            assert_eq!(ext(after)["department"], "Tour Operations");
            assert!(
                after
                    .keys()
                    .all(|k| k != "name.givenName" && !k.ends_with(":employeeNumber"))
            );
        }
        "Update roles (AssertiveAppRoleAssignmentsComplex): replace whole roles list" => {
            assert_eq!(after["roles"], *first_value(patch));
        }
        "Add a 'work' address when only a 'home' address exists" => {
            assert_eq!(
                after["addresses"],
                json!([
                    {"type": "home", "formatted": "456 Hollywood Blvd"},
                    {"type": "work", "formatted": "123 fake st."}
                ])
            );
        }
        "Validator SCIM_Null_Update_Test phase 1 (non-verbose form): no-path replace with dotted/URN keys set to ''" =>
        {
            let cleared =
                |v: Option<&Value>| matches!(v, None | Some(Value::Null)) || v == Some(&json!(""));
            assert!(
                cleared(after.get("title")),
                "title {:?}",
                after.get("title")
            );
            assert!(cleared(ext(after).get("department")));
            assert!(cleared(after["emails"][0].get("value")));
            assert_eq!(after["emails"][1]["value"], "babs@jensen.org");
        }
        "PATCH remove all members (path without filter or value)" => {
            assert!(after.get("members").is_none());
            assert_eq!(after["displayName"], before["displayName"]);
        }
        "Group membership delta: remove by filter + add" => {
            let gone = removed_ids(patch);
            let added = patch["Operations"][1]["value"][0]["value"]
                .as_str()
                .expect("added id");
            let mut want = member_ids(before);
            want.retain(|m| !gone.contains(m));
            want.push(added.to_owned());
            assert_eq!(member_ids(after), want);
        }
        "Add group member (captured from Okta 'SCIM 2.0 Test App'; member has no 'type')"
        | "Add user to group"
        | "Add group member ('Azure AD-style value=[{value:uid}] without an RFC filter')" => {
            let added = first_value(patch)[0]["value"].as_str().expect("member id");
            let mut want = member_ids(before);
            want.push(added.to_owned());
            assert_eq!(member_ids(after), want);
        }
        _ => return false,
    }
    true
}

#[test]
fn every_captured_patch_body_has_its_effect() {
    let registry = Registry::core();
    let mut applied = 0;
    let mut unknown = Vec::new();
    for req in requests() {
        if req["method"] != "PATCH" {
            continue;
        }
        let step = req["step"].as_str().expect("step");
        let path = req["path_and_query"].as_str().expect("path");
        let id = id_of(path);
        let (schema, before) = if path.starts_with("/Groups") {
            (
                registry.resource_type("Group").expect("Group"),
                group(&id, &req["body"]),
            )
        } else {
            (
                registry.resource_type("User").expect("User"),
                user(&id, step),
            )
        };
        let patch: PatchOp = serde_json::from_value(req["body"].clone())
            .unwrap_or_else(|e| panic!("{step}: the body does not read as a PatchOp: {e}"));
        patch.check_schemas().expect("schemas");
        let out = apply_patch(&schema, &before, &patch, &PatchOptions::default())
            .unwrap_or_else(|e| panic!("{} / {step}: {e}", req["idp"]));
        assert!(out.changed, "{step}: nothing changed");
        assert_eq!(out.resource["id"], before["id"], "{step}: id");
        assert_eq!(out.resource["meta"], before["meta"], "{step}: meta");
        assert_valid(&schema, &before, &out.resource, step);
        if !check(step, &req["body"], &before, &out.resource) {
            unknown.push(step.to_owned());
        }
        applied += 1;
    }
    assert!(
        unknown.is_empty(),
        "PATCH requests without a check: {unknown:?}"
    );
    assert!(
        applied >= 25,
        "only {applied} PATCH requests in requests.json"
    );
}

#[test]
fn captured_bodies_fail_as_documented_in_strict_mode() {
    // With every dialect off, the bodies that rely on one are refused, never misapplied:
    // in particular a remove carrying a value array never removes every member.
    let registry = Registry::core();
    let strict = PatchOptions::default().dialects(scim_core::Dialects::strict());
    for req in requests() {
        if req["method"] != "PATCH" {
            continue;
        }
        let path = req["path_and_query"].as_str().expect("path");
        let step = req["step"].as_str().expect("step");
        if !path.starts_with("/Groups") {
            continue;
        }
        let schema = registry.resource_type("Group").expect("Group");
        let before = group(&id_of(path), &req["body"]);
        let patch: PatchOp = serde_json::from_value(req["body"].clone()).expect("PatchOp");
        let with_listed_remove = patch
            .operations
            .iter()
            .any(|o| o.op == scim_core::patch::PatchOpKind::Remove && o.value.is_some());
        match apply_patch(&schema, &before, &patch, &strict) {
            Ok(out) => {
                assert!(!with_listed_remove, "{step}: applied in strict mode");
                if step.contains("remove all members") {
                    assert!(out.resource.get("members").is_none());
                } else {
                    assert!(
                        out.resource.get("members").is_some(),
                        "{step}: members lost"
                    );
                }
            }
            Err(e) => assert!(
                with_listed_remove || !patch.operations.iter().all(|o| o.op_is_lower_case()),
                "{step}: {e}"
            ),
        }
    }
}
