//! What the embedding service learns about: provisioning events after each commit, and
//! passwords.

use serde_json::{Map, Value};

use crate::resource::Password;
use crate::store::RequestContext;

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A user was created.
    UserCreated,
    /// A user changed, other than `active` going to `false` or back to `true`.
    UserUpdated,
    /// A user's `active` became `false` (Okta's and Entra's "unassign"): disable the login,
    /// revoke sessions.
    UserDeactivated,
    /// A user's `active` went from `false` to `true`.
    UserReactivated,
    /// A user was deleted.
    UserDeleted,
    /// A group was created.
    GroupCreated,
    /// A group's `displayName` changed.
    GroupRenamed,
    /// A group changed other than by rename or membership.
    GroupUpdated,
    /// A group was deleted.
    GroupDeleted,
    /// Members were added to a group ([`ProvisioningEvent::members`] names them).
    MembersAdded,
    /// Members were removed from a group ([`ProvisioningEvent::members`] names them).
    MembersRemoved,
    /// A resource of another type was created.
    ResourceCreated,
    /// A resource of another type changed.
    ResourceUpdated,
    /// A resource of another type was deleted.
    ResourceDeleted,
}

/// One committed change, as an [`EventSink`] receives it.
///
/// `before` and `after` are the resource's attributes (as stored, with derived `groups`
/// of users; without `id` and `meta`). For membership changes made without rewriting the
/// group (the store's member hook), they hold the group without `members`, and
/// [`members`](Self::members) lists the member values added or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisioningEvent {
    /// The tenant and integration that made the change.
    pub context: RequestContext,
    /// What happened.
    pub kind: EventKind,
    /// The resource type (`User`, `Group`, ...).
    pub resource_type: String,
    /// The resource's id.
    pub id: String,
    /// The resource before the change (`None` for a creation).
    pub before: Option<Map<String, Value>>,
    /// The resource after the change (`None` for a deletion).
    pub after: Option<Map<String, Value>>,
    /// For [`EventKind::MembersAdded`] and [`EventKind::MembersRemoved`]: the member values.
    pub members: Vec<String>,
}

/// Receives provisioning events after each change is committed to the store, in the
/// order of the request's changes. Called on the request's task: keep it short (queue the
/// work) and do not block.
pub trait EventSink: Send + Sync {
    /// One committed change.
    fn on_event(&self, event: &ProvisioningEvent);
}

/// Receives the passwords identity providers send (`password` on a create, replace or
/// PATCH of a user), after the user is committed. Without one the service discards them
/// and `/ServiceProviderConfig` says `changePassword.supported: false`. The service never
/// stores nor returns a password.
pub trait PasswordSink: Send + Sync {
    /// The password sent for the user `user_id`.
    fn set_password(&self, context: &RequestContext, user_id: &str, password: &Password);
}

/// The events one change of a user or group makes.
pub(crate) fn classify(
    resource_type: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Vec<(EventKind, Vec<String>)> {
    use crate::store::{GROUP, USER};
    let active = |m: Option<&Map<String, Value>>| {
        m.and_then(|m| m.get("active"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    };
    match (resource_type, before, after) {
        (USER, None, Some(_)) => vec![(EventKind::UserCreated, vec![])],
        (USER, Some(_), None) => vec![(EventKind::UserDeleted, vec![])],
        (USER, Some(_), Some(_)) => {
            let kind = match (active(before), active(after)) {
                (true, false) => EventKind::UserDeactivated,
                (false, true) => EventKind::UserReactivated,
                _ => EventKind::UserUpdated,
            };
            vec![(kind, vec![])]
        }
        (GROUP, None, Some(_)) => vec![(EventKind::GroupCreated, vec![])],
        (GROUP, Some(_), None) => vec![(EventKind::GroupDeleted, vec![])],
        (GROUP, Some(b), Some(a)) => {
            let mut out = Vec::new();
            if b.get("displayName") != a.get("displayName") {
                out.push((EventKind::GroupRenamed, vec![]));
            }
            let values = |m: &Map<String, Value>| -> std::collections::BTreeSet<String> {
                m.get("members")
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(|e| e.get("value").and_then(Value::as_str))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (vb, va) = (values(b), values(a));
            let added: Vec<String> = va.difference(&vb).cloned().collect();
            let removed: Vec<String> = vb.difference(&va).cloned().collect();
            if !added.is_empty() {
                out.push((EventKind::MembersAdded, added));
            }
            if !removed.is_empty() {
                out.push((EventKind::MembersRemoved, removed));
            }
            let strip = |m: &Map<String, Value>| {
                let mut m = m.clone();
                m.remove("members");
                m.remove("displayName");
                m
            };
            if out.is_empty() || strip(a) != strip(b) {
                out.push((EventKind::GroupUpdated, vec![]));
            }
            out
        }
        (_, None, _) => vec![(EventKind::ResourceCreated, vec![])],
        (_, Some(_), None) => vec![(EventKind::ResourceDeleted, vec![])],
        (_, Some(_), Some(_)) => vec![(EventKind::ResourceUpdated, vec![])],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn user_transitions() {
        let on = m(json!({"userName": "a", "active": true}));
        let off = m(json!({"userName": "a", "active": false}));
        assert_eq!(
            classify("User", Some(&on), Some(&off))[0].0,
            EventKind::UserDeactivated
        );
        assert_eq!(
            classify("User", Some(&off), Some(&on))[0].0,
            EventKind::UserReactivated
        );
        assert_eq!(
            classify("User", Some(&on), Some(&on))[0].0,
            EventKind::UserUpdated
        );
        assert_eq!(
            classify("User", None, Some(&on))[0].0,
            EventKind::UserCreated
        );
    }

    #[test]
    fn group_transitions() {
        let a = m(json!({"displayName": "a", "members": [{"value": "1"}, {"value": "2"}]}));
        let b = m(json!({"displayName": "b", "members": [{"value": "2"}, {"value": "3"}]}));
        let ev = classify("Group", Some(&a), Some(&b));
        assert_eq!(
            ev,
            vec![
                (EventKind::GroupRenamed, vec![]),
                (EventKind::MembersAdded, vec!["3".to_owned()]),
                (EventKind::MembersRemoved, vec!["1".to_owned()]),
            ]
        );
    }
}
