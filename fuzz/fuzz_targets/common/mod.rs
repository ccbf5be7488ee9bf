//! Shared by the fuzz targets: the fixed resources, a generator of JSON values from the
//! fuzzer's bytes that speaks the schema's vocabulary, and a tiny executor.
#![allow(dead_code)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use scim_core::{Mode, Registry, ResourceSchema, ValidateOptions, validate_resource};
use serde_json::{Map, Number, Value, json};

/// Runs a future that never waits on anything but itself (a `MemoryStore` service).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// [`make_user`], built once.
pub fn fixed_user() -> &'static Map<String, Value> {
    static USER: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    USER.get_or_init(|| make_user(&registry().resource_type("User").expect("User")))
}

/// [`make_group`], built once.
pub fn fixed_group() -> &'static Map<String, Value> {
    static GROUP: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    GROUP.get_or_init(|| make_group(&registry().resource_type("Group").expect("Group")))
}

/// A full user as a POST stores it (validated), with its id.
fn make_user(users: &ResourceSchema<'_>) -> Map<String, Value> {
    let body = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "ext-701",
        "userName": "bjensen@example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "title": "Tour Guide",
        "userType": "Employee",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA", "primary": true}],
        "roles": [{"value": "admin", "primary": false}],
        "entitlements": [{"value": "e1"}],
        "x509Certificates": [{"value": "TUlJRERqQ0NBbmVnQXdJQkFnSUJBREFO"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    });
    let mut user = validate_resource(users, body, Mode::Create, None, &ValidateOptions::new())
        .expect("the fixed user validates");
    user.insert("id".into(), "2819c223-7f76-453a-919d-413861904646".into());
    user
}

/// A group with three members (two users, one group) as a POST stores it, with its id.
fn make_group(groups: &ResourceSchema<'_>) -> Map<String, Value> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Tour Guides",
        "externalId": "grp-1",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "type": "User"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "type": "User"},
            {"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "type": "Group"}
        ]
    });
    let mut group = validate_resource(groups, body, Mode::Create, None, &ValidateOptions::new())
        .expect("the fixed group validates");
    group.insert("id".into(), "e9e30dba-f08f-4109-8486-d5c6a331660a".into());
    group
}

/// The core registry, built once.
pub fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Registry::core)
}

/// Attribute names and sub-attribute names of the core schemas, and a few that are not.
pub const NAMES: &[&str] = &[
    "userName",
    "name",
    "givenName",
    "familyName",
    "formatted",
    "middleName",
    "honorificPrefix",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "value",
    "type",
    "primary",
    "display",
    "$ref",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "streetAddress",
    "locality",
    "region",
    "postalCode",
    "country",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "members",
    "externalId",
    "id",
    "meta",
    "created",
    "lastModified",
    "version",
    "location",
    "resourceType",
    "schemas",
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
    "UserName",
    "EMAILS",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
    "urn:scim:schemas:core:1.0",
    "name.givenName",
    "emails.value",
    "nope",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:example:unknown:1.0",
];

/// Paths a PATCH operation targets: plain, nested, value paths, URNs, Entra's forms.
pub const PATHS: &[&str] = &[
    "userName",
    "active",
    "displayName",
    "title",
    "nickName",
    "externalId",
    "password",
    "name",
    "name.givenName",
    "name.familyName",
    "NAME.GIVENNAME",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"home\" or primary eq true]",
    "emails[value co \"@\"].display",
    "emails[type eq \"other\"].value",
    "emails[not (type eq \"work\")]",
    "phoneNumbers",
    "phoneNumbers[type eq \"mobile\"].value",
    "addresses",
    "addresses[type eq \"work\"].locality",
    "addresses[type eq \"home\"]",
    "roles",
    "roles[primary eq false]",
    "roles[value eq \"admin\"].value",
    "entitlements",
    "x509Certificates",
    "x509Certificates.value",
    "groups",
    "id",
    "meta",
    "meta.created",
    "schemas",
    "members",
    "members.value",
    "members.display",
    "members[value eq \"2819c223-7f76-453a-919d-413861904646\"]",
    "members[value eq \"u-new\"]",
    "members[type eq \"Group\"]",
    "members[value pr]",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    "urn:ietf:params:scim:schemas:core:2.0:Group:displayName",
    "urn:scim:schemas:core:1.0:userName",
    "department",
    "manager",
    "manager.value",
    "costCenter",
    "nope",
    "name.nope",
    "emails[",
    "emails[type eq]",
    "",
];

/// String values: attribute-like, boolean-like, JSON-in-a-string, ids, dates.
pub const STRINGS: &[&str] = &[
    "",
    "x",
    "work",
    "home",
    "other",
    "True",
    "False",
    "true",
    "false",
    "yes",
    "bjensen@example.com",
    "2819c223-7f76-453a-919d-413861904646",
    "u-new",
    "User",
    "Group",
    "2015-10-10T14:38:21.8617979-07:00",
    "2011-05-13T04:42:34Z",
    "not a date",
    "{\"value\":\"r1\",\"display\":\"Role 1\",\"primary\":true}",
    "[1,2]",
    "{}",
    "TUlJRERqQ0NBbmVnQXdJQkFnSUJBREFO",
    "not base64!",
    "https://example.com/u/1",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "\u{130}stanbul",
];

fn pick<'a>(u: &mut Unstructured<'_>, list: &[&'a str]) -> Result<&'a str> {
    u.choose(list).copied()
}

/// A name: mostly from [`NAMES`], sometimes free text.
pub fn gen_name(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(7, 8)? {
        Ok(pick(u, NAMES)?.to_owned())
    } else {
        u.arbitrary()
    }
}

/// A path: mostly from [`PATHS`], sometimes free text.
pub fn gen_path(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(7, 8)? {
        Ok(pick(u, PATHS)?.to_owned())
    } else {
        u.arbitrary()
    }
}

/// A JSON value at most `depth` levels deep, in the schema's vocabulary.
pub fn gen_value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let kinds = if depth == 0 { 5 } else { 8 };
    Ok(match u.choose_index(kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => match u.choose_index(3)? {
            0 => Value::from(u.int_in_range(-3i64..=3)?),
            1 => Value::from(u.arbitrary::<i64>()?),
            _ => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        },
        3 => Value::String(pick(u, STRINGS)?.to_owned()),
        4 => Value::String(u.arbitrary()?),
        5 | 6 => {
            let n = u.int_in_range(0..=4)?;
            let mut m = Map::new();
            for _ in 0..n {
                m.insert(gen_name(u)?, gen_value(u, depth - 1)?);
            }
            Value::Object(m)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(gen_value(u, depth - 1)?);
            }
            Value::Array(items)
        }
    })
}
