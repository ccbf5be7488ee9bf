//! Group membership as every store presents it: the rule that completes a stored member
//! object from the resource it names, the `User.groups` entries derived from groups, and
//! the bookkeeping shared by the stores' member changes.
//!
//! # The member rule
//!
//! A member object is stored as the client sent it (after validation, which drops the
//! read-only `display`). When it is shown:
//!
//! - a member sent **with a `$ref`** (the full reference form, as a SCIM client that manages
//!   references itself writes it) is returned exactly as stored;
//! - a member sent **without a `$ref`** (the identity providers' form: `value`, perhaps
//!   `type`; a `"$ref": null` counts as absent) whose `value` names a user or group of the
//!   tenant gets the `$ref` (endpoint-relative, `/Users/{id}`, which the service makes
//!   absolute), the `display` (the resource's `displayName`, else `userName`) and, when
//!   absent, the `type` of that resource;
//! - a member whose `value` names nothing of the tenant is returned as stored.
//!
//! So `$ref` and `display` are filled only for members that resolve, and what a client
//! wrote is never rewritten.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{GROUP, USER};

/// The endpoint of a resource type a member can name (`Users`, `Groups`), or `None`.
pub fn member_endpoint(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        USER => Some("Users"),
        GROUP => Some("Groups"),
        _ => None,
    }
}

/// Whether a stored member object gets filled from the resource it names: it has a string
/// `value` and no `$ref` (a null `$ref` counts as none). See [`complete_member`] for what is filled.
pub fn member_needs_resolving(member: &Map<String, Value>) -> bool {
    member.get("value").is_some_and(Value::is_string)
        && member.get("$ref").is_none_or(Value::is_null)
}

/// Completes `member` (which [`member_needs_resolving`]) from the resource it names:
/// `resource_type` (`User` or `Group`) with `attributes`. Sets `$ref` and `display` (the
/// `displayName`, else the `userName`, when either is a string), and `type` when absent or
/// null. A member of another type of resource is left alone.
pub fn complete_member(
    member: &mut Map<String, Value>,
    resource_type: &str,
    attributes: &Map<String, Value>,
) {
    let Some(endpoint) = member_endpoint(resource_type) else {
        return;
    };
    let Some(value) = member.get("value").and_then(Value::as_str) else {
        return;
    };
    let reference = format!("/{endpoint}/{value}");
    member.insert("$ref".to_owned(), Value::from(reference));
    let display = ["displayName", "userName"]
        .iter()
        .find_map(|k| attributes.get(*k).and_then(Value::as_str));
    if let Some(d) = display {
        member.insert("display".to_owned(), Value::from(d));
    }
    if member.get("type").is_none_or(Value::is_null) {
        member.insert("type".to_owned(), Value::from(resource_type));
    }
}

/// The `User.groups` entry for membership in the group `group_id` whose attributes are
/// `group`: `value`, `$ref` (`/Groups/{id}`), `display` (its `displayName`) and
/// `type: "direct"`.
pub fn group_entry(group_id: &str, group: &Map<String, Value>) -> Value {
    let mut o = Map::new();
    o.insert("value".to_owned(), Value::from(group_id));
    o.insert(
        "$ref".to_owned(),
        Value::from(format!("/Groups/{group_id}")),
    );
    if let Some(d) = group.get("displayName").and_then(Value::as_str) {
        o.insert("display".to_owned(), Value::from(d));
    }
    o.insert("type".to_owned(), Value::from("direct"));
    Value::Object(o)
}

/// Takes `members` off a group's attributes: the member objects with a string `value`,
/// the first of each value kept, in order. Other resource types have none (and keep
/// their attributes).
pub fn take_members(
    resource_type: &str,
    attributes: &mut Map<String, Value>,
) -> Vec<Map<String, Value>> {
    if resource_type != GROUP {
        return Vec::new();
    }
    let mut seen = HashSet::new();
    match attributes.remove("members") {
        Some(Value::Array(list)) => list
            .into_iter()
            .filter_map(|v| match v {
                Value::Object(o) => Some(o),
                _ => None,
            })
            .filter(|o| {
                o.get("value")
                    .and_then(Value::as_str)
                    .is_some_and(|v| seen.insert(v.to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Removes what a store never keeps: `id`, `meta` and `password`, and a user's derived
/// `groups`.
pub fn strip_unstored(resource_type: &str, attributes: &mut Map<String, Value>) {
    attributes.remove("id");
    attributes.remove("meta");
    attributes.remove("password");
    if resource_type == USER {
        attributes.remove("groups");
    }
}

/// Settles what one [`modify_members`](super::ResourceStore::modify_members) call reports
/// when a value was both added and removed by it: it is reported by where it ended
/// (`is_member` tells whether it is a member after the call), so it appears in `added` or
/// `removed`, not both.
pub fn settle_member_changes(
    added: &mut Vec<String>,
    removed: &mut Vec<String>,
    mut is_member: impl FnMut(&str) -> bool,
) {
    if added.is_empty() || removed.is_empty() {
        return;
    }
    let removed_set: HashSet<&str> = removed.iter().map(String::as_str).collect();
    let both: Vec<String> = added
        .iter()
        .filter(|v| removed_set.contains(v.as_str()))
        .cloned()
        .collect();
    if both.is_empty() {
        return;
    }
    let ended: HashMap<String, bool> = both
        .into_iter()
        .map(|v| {
            let m = is_member(&v);
            (v, m)
        })
        .collect();
    added.retain(|v| ended.get(v).copied().unwrap_or(true));
    removed.retain(|v| !ended.get(v).copied().unwrap_or(false));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn value_only_members_are_completed() {
        let user = obj(json!({"userName": "bjensen"}));
        let mut m = obj(json!({"value": "u1"}));
        assert!(member_needs_resolving(&m));
        complete_member(&mut m, USER, &user);
        assert_eq!(
            Value::Object(m),
            json!({"value": "u1", "$ref": "/Users/u1", "display": "bjensen", "type": "User"})
        );
        let group = obj(json!({"displayName": "Staff"}));
        let mut m = obj(json!({"value": "g1", "type": "Group", "$ref": null}));
        assert!(member_needs_resolving(&m));
        complete_member(&mut m, GROUP, &group);
        assert_eq!(
            Value::Object(m),
            json!({"value": "g1", "$ref": "/Groups/g1", "display": "Staff", "type": "Group"})
        );
    }

    #[test]
    fn members_with_a_reference_are_kept_as_sent() {
        let m = obj(json!({"value": "u1", "$ref": "https://x/Users/u1", "type": "User"}));
        assert!(!member_needs_resolving(&m));
        assert!(!member_needs_resolving(&obj(json!({"$ref": null}))));
        assert!(!member_needs_resolving(&obj(json!({"value": 1}))));
    }

    #[test]
    fn taking_members_dedups() {
        let mut a = obj(json!({"displayName": "g", "members": [
            {"value": "a"}, {"value": "a", "display": "2"}, "x", {"display": "no value"}, {"value": "b"}
        ]}));
        let m = take_members(GROUP, &mut a);
        assert_eq!(
            m,
            vec![obj(json!({"value": "a"})), obj(json!({"value": "b"}))]
        );
        assert!(!a.contains_key("members"));
        let mut u = obj(json!({"members": []}));
        assert!(take_members(USER, &mut u).is_empty());
        assert!(u.contains_key("members"));
    }

    #[test]
    fn settling_reports_where_a_value_ended() {
        let mut added = vec!["a".to_owned(), "b".to_owned()];
        let mut removed = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        settle_member_changes(&mut added, &mut removed, |v| v == "a");
        assert_eq!(added, ["a"]);
        assert_eq!(removed, ["b", "c"]);
    }

    #[test]
    fn entries_and_stripping() {
        assert_eq!(
            group_entry("g1", &obj(json!({"displayName": "Staff"}))),
            json!({"value": "g1", "$ref": "/Groups/g1", "display": "Staff", "type": "direct"})
        );
        let mut a = obj(json!({"id": "1", "meta": {}, "password": "p", "groups": [], "x": 1}));
        strip_unstored(USER, &mut a);
        assert_eq!(Value::Object(a), json!({"x": 1}));
    }
}
