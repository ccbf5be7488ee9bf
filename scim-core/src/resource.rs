//! Typed views of resources: [`User`], [`Group`], [`EnterpriseUser`] and their parts.
//!
//! Resources are JSON objects checked against their schema (see [`crate::validate`]); these
//! structs are a convenient, typed way to read and build them. Every struct keeps the
//! attributes it does not name in an `extra` map (unknown attributes, extension objects keyed
//! by their URN), so converting JSON to a view and back loses nothing:
//! `Value -> User -> Value` is the identity for any resource whose named attributes have the
//! types the schema gives them.
//!
//! Conversions: `User::try_from(value)` / `Value::from(user)` (and the same for every view),
//! or [`from_value`] / [`to_value`].
//!
//! ```
//! use scim_core::resource::{EnterpriseUser, User};
//! use serde_json::json;
//!
//! let mut user = User::try_from(json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "userName": "bjensen",
//!     "emails": [{"value": "bjensen@example.com", "primary": true}],
//! }))?;
//! assert_eq!(user.emails[0].value.as_deref(), Some("bjensen@example.com"));
//! user.set_enterprise(Some(EnterpriseUser { department: Some("Tour Operations".into()), ..Default::default() }));
//! let value = serde_json::Value::from(user);
//! assert_eq!(value["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"], "Tour Operations");
//! # Ok::<(), scim_core::Error>(())
//! ```

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// Reads a typed view from JSON.
///
/// # Errors
///
/// 400 `invalidValue` when a named attribute has the wrong JSON type.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|e| Error::invalid_value(format!("invalid resource: {e}")))
}

/// Writes a typed view as JSON.
pub fn to_value<T: Serialize>(view: &T) -> Value {
    // The views hold only strings, booleans, maps and JSON values: serialisation cannot fail.
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// The `password` attribute: write-only, never returned, and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps a cleartext password.
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    /// The cleartext, for hashing it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Resource metadata (RFC 7643 §3.1 `meta`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The resource type's name (`User`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// When the resource was added (xsd:dateTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the resource was last changed (xsd:dateTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The version (the ETag, e.g. `W/"3694e05e9dff590"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The components of a user's name (RFC 7643 §4.1.1 `name`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The full name, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The family (last) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// The given (first) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// The middle name(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// The honorific prefix(es), e.g. `Ms.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// The honorific suffix(es), e.g. `III`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One value of a multi-valued attribute with the RFC 7643 §2.4 sub-attributes `value`,
/// `display`, `type` and `primary`: [`Email`], [`PhoneNumber`], [`Im`], [`Photo`], [`Role`],
/// [`Entitlement`], [`X509Certificate`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MultiValued {
    /// The value (an address, a number, a URL, base64 DER for certificates...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// A label of the value's function (`work`, `home`...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the preferred value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl MultiValued {
    /// A value with only `value` set.
    pub fn new(value: impl Into<String>) -> Self {
        MultiValued {
            value: Some(value.into()),
            ..Default::default()
        }
    }

    /// Sets `type`.
    pub fn with_type(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets `primary`.
    pub fn with_primary(mut self, primary: bool) -> Self {
        self.primary = Some(primary);
        self
    }
}

/// An email address (`emails`).
pub type Email = MultiValued;
/// A phone number (`phoneNumbers`).
pub type PhoneNumber = MultiValued;
/// An instant-messaging address (`ims`).
pub type Im = MultiValued;
/// A photo URL (`photos`).
pub type Photo = MultiValued;
/// A role (`roles`).
pub type Role = MultiValued;
/// An entitlement (`entitlements`).
pub type Entitlement = MultiValued;
/// An X.509 certificate, base64 DER in `value` (`x509Certificates`).
pub type X509Certificate = MultiValued;

/// A mailing address (`addresses`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The full address, formatted for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// The city or locality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// The state or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// The country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// `work`, `home`, `other`...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the preferred address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A member of a group (`Group.members`), or a group of a user (`User.groups`): `value`,
/// `$ref`, `display`, `type`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct GroupMember {
    /// The member's (or group's) `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The URI of the member (or group) resource.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `User` or `Group` for members; `direct` or `indirect` for a user's groups.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GroupMember {
    /// A member with only `value` set.
    pub fn new(value: impl Into<String>) -> Self {
        GroupMember {
            value: Some(value.into()),
            ..Default::default()
        }
    }
}

/// A user's manager (Enterprise User `manager`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// The manager's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The URI of the manager's User resource.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The manager's `displayName` (readOnly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The Enterprise User extension object (RFC 7643 §4.3), stored in a [`User`] under
/// [`ENTERPRISE_USER_SCHEMA`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// The employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// The cost center.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// The organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The division.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// The department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
    /// Other keys, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A User resource (RFC 7643 §4.1). Extension objects live in `extra` under their URN; the
/// Enterprise User one through [`User::enterprise`] and [`User::set_enterprise`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The schema URNs of the resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The service-assigned id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identity provider's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The unique user name (required in a stored User).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The components of the user's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The casual name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// The profile URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The relationship to the organization (`Employee`, `Contractor`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// The preferred language (as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// The locale (as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The time zone (as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The administrative status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The cleartext password (write-only; redacted in `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<PhoneNumber>,
    /// Instant-messaging addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ims: Vec<Im>,
    /// Photo URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<Photo>,
    /// Mailing addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// The groups the user belongs to (readOnly, derived by the service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupMember>,
    /// Entitlements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<Entitlement>,
    /// Roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// X.509 certificates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x509_certificates: Vec<X509Certificate>,
    /// Other attributes and extension objects (keyed by URN), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn key_ci(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

impl User {
    /// A User with the core schema URN and this `userName`.
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            schemas: vec![USER_SCHEMA.to_owned()],
            user_name: Some(user_name.into()),
            ..Default::default()
        }
    }

    /// The Enterprise User extension object, if the user has one.
    ///
    /// # Errors
    ///
    /// 400 `invalidValue` when the object's attributes have the wrong JSON types.
    pub fn enterprise(&self) -> Result<Option<EnterpriseUser>, Error> {
        match key_ci(&self.extra, ENTERPRISE_USER_SCHEMA).and_then(|k| self.extra.get(&k)) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => from_value(v.clone()).map(Some),
        }
    }

    /// Sets (or with `None` removes) the Enterprise User extension object, keeping
    /// `schemas` in step.
    pub fn set_enterprise(&mut self, ext: Option<EnterpriseUser>) {
        if let Some(k) = key_ci(&self.extra, ENTERPRISE_USER_SCHEMA) {
            self.extra.remove(&k);
        }
        self.schemas
            .retain(|s| !s.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA));
        if let Some(ext) = ext {
            let value = to_value(&ext);
            if value.as_object().is_some_and(|o| !o.is_empty()) {
                self.extra.insert(ENTERPRISE_USER_SCHEMA.to_owned(), value);
                self.schemas.push(ENTERPRISE_USER_SCHEMA.to_owned());
            }
        }
    }

    /// The email with `primary: true`, else the first one.
    pub fn primary_email(&self) -> Option<&Email> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
    }
}

/// A Group resource (RFC 7643 §4.2).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The schema URNs of the resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The service-assigned id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identity provider's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// The group's name (required in a stored Group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<GroupMember>,
    /// Other attributes and extension objects (keyed by URN), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Group {
    /// A Group with the core schema URN and this `displayName`.
    pub fn new(display_name: impl Into<String>) -> Self {
        Group {
            schemas: vec![GROUP_SCHEMA.to_owned()],
            display_name: Some(display_name.into()),
            ..Default::default()
        }
    }
}

/// `Deserialize` for a view: named keys read directly into their fields (`null` leaves a
/// field unset), every other key kept in `extra`. Hand-rolled rather than
/// `#[serde(flatten)]`, which buffers the whole object first.
macro_rules! view_deserialize {
    ($t:ident { $($key:literal => $field:ident),* $(,)? }) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", stringify!($t), " object"))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$t, A::Error> {
                        let mut out = $t::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $($key => {
                                    if let Some(v) = map.next_value()? {
                                        out.$field = v;
                                    }
                                })*
                                _ => {
                                    let v: Value = map.next_value()?;
                                    out.extra.insert(key, v);
                                }
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

view_deserialize!(Meta {
    "resourceType" => resource_type, "created" => created, "lastModified" => last_modified,
    "location" => location, "version" => version,
});
view_deserialize!(Name {
    "formatted" => formatted, "familyName" => family_name, "givenName" => given_name,
    "middleName" => middle_name, "honorificPrefix" => honorific_prefix,
    "honorificSuffix" => honorific_suffix,
});
view_deserialize!(MultiValued {
    "value" => value, "display" => display, "type" => kind, "primary" => primary,
});
view_deserialize!(Address {
    "formatted" => formatted, "streetAddress" => street_address, "locality" => locality,
    "region" => region, "postalCode" => postal_code, "country" => country, "type" => kind,
    "primary" => primary,
});
view_deserialize!(GroupMember {
    "value" => value, "$ref" => reference, "display" => display, "type" => kind,
});
view_deserialize!(Manager {
    "value" => value, "$ref" => reference, "displayName" => display_name,
});
view_deserialize!(EnterpriseUser {
    "employeeNumber" => employee_number, "costCenter" => cost_center,
    "organization" => organization, "division" => division, "department" => department,
    "manager" => manager,
});
view_deserialize!(User {
    "schemas" => schemas, "id" => id, "externalId" => external_id, "meta" => meta,
    "userName" => user_name, "name" => name, "displayName" => display_name,
    "nickName" => nick_name, "profileUrl" => profile_url, "title" => title,
    "userType" => user_type, "preferredLanguage" => preferred_language, "locale" => locale,
    "timezone" => timezone, "active" => active, "password" => password, "emails" => emails,
    "phoneNumbers" => phone_numbers, "ims" => ims, "photos" => photos,
    "addresses" => addresses, "groups" => groups, "entitlements" => entitlements,
    "roles" => roles, "x509Certificates" => x509_certificates,
});
view_deserialize!(Group {
    "schemas" => schemas, "id" => id, "externalId" => external_id, "meta" => meta,
    "displayName" => display_name, "members" => members,
});

macro_rules! conversions {
    ($($t:ty),*) => {$(
        impl TryFrom<Value> for $t {
            type Error = Error;
            fn try_from(value: Value) -> Result<Self, Error> {
                from_value(value)
            }
        }
        impl From<$t> for Value {
            fn from(view: $t) -> Value {
                to_value(&view)
            }
        }
        impl From<&$t> for Value {
            fn from(view: &$t) -> Value {
                to_value(view)
            }
        }
    )*};
}

conversions!(
    User,
    Group,
    EnterpriseUser,
    Meta,
    Name,
    MultiValued,
    Address,
    GroupMember,
    Manager
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn password_is_redacted() {
        let mut u = User::new("bjensen");
        u.password = Some(Password::new("t1meMa$heen"));
        let dbg = format!("{u:?}");
        assert!(!dbg.contains("t1meMa"), "{dbg}");
        assert_eq!(Value::from(&u)["password"], "t1meMa$heen");
    }

    #[test]
    fn enterprise_accessors() {
        let mut u = User::new("a");
        assert_eq!(u.enterprise(), Ok(None));
        u.set_enterprise(Some(EnterpriseUser {
            manager: Some(Manager {
                value: Some("m".into()),
                ..Default::default()
            }),
            ..Default::default()
        }));
        assert_eq!(u.schemas, vec![USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        let e = u.enterprise().expect("typed").expect("present");
        assert_eq!(e.manager.and_then(|m| m.value).as_deref(), Some("m"));
        u.set_enterprise(None);
        assert_eq!(u.schemas, vec![USER_SCHEMA]);
        assert!(u.extra.is_empty());
        u.extra
            .insert(ENTERPRISE_USER_SCHEMA.into(), json!({"department": 5}));
        assert!(u.enterprise().is_err());
    }

    #[test]
    fn unknown_and_wrong_types() {
        let v = json!({"userName": "a", "x-custom": {"k": [1, 2]}, "urn:example:ext": {"a": 1}});
        let u = User::try_from(v.clone()).expect("typed");
        assert_eq!(Value::from(u), v);
        let e = User::try_from(json!({"userName": 5})).expect_err("wrong type");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidValue));
        assert_eq!(Group::new("g").display_name.as_deref(), Some("g"));
        // null is unassigned: nothing is kept for it.
        let u =
            User::try_from(json!({"emails": null, "name": null, "userName": null})).expect("nulls");
        assert_eq!(u, User::default());
        assert!(User::try_from(json!([1])).is_err());
        assert!(User::try_from(json!({"emails": [{"primary": "yes"}]})).is_err());
    }
}
