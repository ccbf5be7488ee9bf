//! The inputs and adapters of the side-by-side benchmarks: the same filter corpus as the
//! main benchmarks (`benches/corpus/filters.json`, included at build time), one function per
//! filter parser that says whether it accepts a filter, and the PATCH cases.
//!
//! Peers, pinned exactly in `Cargo.toml`:
//! - `scim_proto` 1.10.4 (kanidm): `ScimFilter: FromStr`, a `peg` grammar.
//! - `scim_v2` 1.0.0: `filter::Filter: FromStr`, a LALRPOP grammar.
//! - `scim-filter` 0.2.3 (an unrelated crate of the same name, imported as
//!   `scim_filter_023`): `parser::filter`, `nom` combinators; its own entry point
//!   (`scim_filter_parser`) is private, so the adapter does what it does on success: run
//!   `filter` and require that nothing is left.
//! - `scim-server` 0.5.3: `ScimPatchOperations::apply_patch_operation` for PATCH, against
//!   our `scim_core::patch::apply_patch_in_place`.
#![forbid(unsafe_code)]

use std::str::FromStr;

use serde_json::{Value, json};

/// The corpus file shared with the main benchmarks.
pub const CORPUS_JSON: &str = include_str!("../../corpus/filters.json");

/// One filter of the corpus.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its benchmark name.
    pub name: String,
    /// The filter text.
    pub filter: String,
    /// Whether our parser needs `Parser::with_dialects()` for it.
    pub dialects: bool,
}

/// The corpus, in file order. Panics if the file is malformed (it is compiled in).
pub fn corpus() -> Vec<Entry> {
    let value: Value = serde_json::from_str(CORPUS_JSON).expect("the corpus is JSON");
    value
        .as_array()
        .expect("the corpus is an array")
        .iter()
        .map(|e| Entry {
            name: e["name"].as_str().expect("name").to_owned(),
            filter: e["filter"].as_str().expect("filter").to_owned(),
            dialects: e["dialects"].as_bool().unwrap_or(false),
        })
        .collect()
}

/// A filter parser under comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parser {
    /// This workspace's scim-filter.
    Ours,
    /// `scim_proto` 1.10.4.
    ScimProto,
    /// `scim_v2` 1.0.0.
    ScimV2,
    /// `scim-filter` 0.2.3.
    ScimFilter023,
}

impl Parser {
    /// Every parser, ours first.
    pub const ALL: [Parser; 4] = [
        Parser::Ours,
        Parser::ScimProto,
        Parser::ScimV2,
        Parser::ScimFilter023,
    ];

    /// The peers, without ours.
    pub const PEERS: [Parser; 3] = [Parser::ScimProto, Parser::ScimV2, Parser::ScimFilter023];

    /// The benchmark id used for this parser.
    pub fn id(self) -> &'static str {
        match self {
            Parser::Ours => "ours",
            Parser::ScimProto => "scim_proto",
            Parser::ScimV2 => "scim_v2",
            Parser::ScimFilter023 => "scim_filter_023",
        }
    }

    /// The crate and version, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Parser::Ours => "scim-filter (ours)",
            Parser::ScimProto => "scim_proto 1.10.4",
            Parser::ScimV2 => "scim_v2 1.0.0",
            Parser::ScimFilter023 => "scim-filter 0.2.3",
        }
    }

    /// Whether this parser accepts `entry` (ours with the dialects if the entry needs them).
    pub fn accepts(self, entry: &Entry) -> bool {
        match self {
            Parser::Ours => parse_ours(&entry.filter, entry.dialects),
            Parser::ScimProto => parse_scim_proto(&entry.filter),
            Parser::ScimV2 => parse_scim_v2(&entry.filter),
            Parser::ScimFilter023 => parse_scim_filter_023(&entry.filter),
        }
    }
}

/// Parses with our parser; the AST is dropped before returning, as for the peers.
#[inline(never)]
pub fn parse_ours(input: &str, dialects: bool) -> bool {
    if dialects {
        scim_filter::Parser::with_dialects().parse(input).is_ok()
    } else {
        scim_filter::parse(input).is_ok()
    }
}

/// Parses with `scim_proto`.
#[inline(never)]
pub fn parse_scim_proto(input: &str) -> bool {
    scim_proto::filter::ScimFilter::from_str(input).is_ok()
}

/// Parses with `scim_v2`.
#[inline(never)]
pub fn parse_scim_v2(input: &str) -> bool {
    scim_v2::filter::Filter::from_str(input).is_ok()
}

/// Parses with `scim-filter` 0.2.3: its `filter` combinator, with nothing left over.
#[inline(never)]
pub fn parse_scim_filter_023(input: &str) -> bool {
    matches!(scim_filter_023::parser::filter(input), Ok((rest, _)) if rest.is_empty())
}

/// A PATCH case: a resource, a PatchOp's operations, and the resource expected after.
#[derive(Debug, Clone)]
pub struct PatchCase {
    /// Its benchmark name.
    pub name: &'static str,
    /// What it is, for tables.
    pub description: &'static str,
    /// The resource before.
    pub resource: Value,
    /// The `Operations` array of the PatchOp.
    pub operations: Vec<Value>,
    /// The resource expected after, per RFC 7644 §3.5.2.
    pub expected: Value,
    /// Another result that is also right, with why (e.g. a sub-attribute the schema does
    /// not define dropped).
    pub also_right: Option<(Value, &'static str)>,
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
        "displayName": "Babs Jensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "title": "Tour Guide",
        "active": true,
        "meta": {
            "resourceType": "User",
            "created": "2024-01-23T04:56:22Z",
            "lastModified": "2024-05-13T04:42:34Z"
        }
    })
}

fn group(members: usize) -> Value {
    let members: Vec<Value> = (0..members)
        .map(|i| {
            json!({
                "value": format!("00000000-0000-4000-8000-{i:012x}"),
                "display": format!("user{i}@example.com"),
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Engineering",
        "members": members,
        "meta": {"resourceType": "Group"}
    })
}

/// The PATCH cases: three operations identity providers send all the time.
pub fn patch_cases() -> Vec<PatchCase> {
    let mut inactive = user();
    inactive["active"] = json!(false);

    let new_member = json!({
        "value": "2900df44-a197-4ca6-bad2-3c1b5641ac8e",
        "display": "ABaker@Gradle.Example"
    });
    let mut grown = group(20);
    if let Some(members) = grown["members"].as_array_mut() {
        members.push(new_member.clone());
    }
    let mut grown_without_display = group(20);
    if let Some(members) = grown_without_display["members"].as_array_mut() {
        members.push(json!({"value": new_member["value"]}));
    }

    let mut renamed = user();
    renamed["name"]["givenName"] = json!("Babs");
    renamed["emails"][0]["value"] = json!("babs.jensen@example.com");

    vec![
        PatchCase {
            name: "entra_replace_active",
            description: r#"Entra ID: `{"op":"Replace","path":"active","value":false}` on a user"#,
            resource: user(),
            operations: vec![json!({"op": "Replace", "path": "active", "value": false})],
            expected: inactive,
            also_right: None,
        },
        PatchCase {
            name: "okta_add_member",
            description: r#"Okta: `{"op":"add","path":"members","value":[{...}]}` on a group of 20 members"#,
            resource: group(20),
            operations: vec![json!({"op": "add", "path": "members", "value": [new_member]})],
            expected: grown,
            also_right: Some((
                grown_without_display,
                "the new member's `display` dropped: RFC 7643 §8.7.1's Group schema defines no \
                 `members.display`",
            )),
        },
        PatchCase {
            name: "replace_given_name_and_work_email",
            description: r#"`replace` of `name.givenName` and of `emails[type eq "work"].value` on a user"#,
            resource: user(),
            operations: vec![
                json!({"op": "replace", "path": "name.givenName", "value": "Babs"}),
                json!({
                    "op": "replace",
                    "path": "emails[type eq \"work\"].value",
                    "value": "babs.jensen@example.com"
                }),
            ],
            expected: renamed,
            also_right: None,
        },
    ]
}

/// The `scim-server` 0.5.3 provider whose PATCH helper is measured.
pub type ScimServerProvider =
    scim_server::providers::StandardResourceProvider<scim_server::providers::InMemoryStorage>;

/// A `scim-server` provider with in-memory storage (the PATCH helper does not touch it).
pub fn scim_server_provider() -> ScimServerProvider {
    scim_server::providers::StandardResourceProvider::new(
        scim_server::providers::InMemoryStorage::new(),
    )
}

/// Applies `operations` to `resource` with `scim-server`'s
/// `ScimPatchOperations::apply_patch_operation`, one after the other, as its
/// `patch_resource` does; stops at the first error.
#[inline(never)]
pub fn patch_scim_server(
    provider: &ScimServerProvider,
    resource: &mut Value,
    operations: &[Value],
) -> Result<(), String> {
    use scim_server::providers::helpers::ScimPatchOperations;
    for op in operations {
        provider
            .apply_patch_operation(resource, op)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Our PATCH engine, ready to apply [`PatchCase`]s: the core registry and default options
/// (every default dialect).
pub struct OurPatch {
    registry: scim_core::Registry,
    options: scim_core::PatchOptions,
}

impl Default for OurPatch {
    fn default() -> Self {
        OurPatch {
            registry: scim_core::Registry::core(),
            options: scim_core::PatchOptions::default(),
        }
    }
}

impl OurPatch {
    /// The schema of the case's resource type (`Group` if the resource lists the Group
    /// schema, else `User`).
    pub fn schema(&self, resource: &Value) -> scim_core::ResourceSchema<'_> {
        let is_group = resource["schemas"].as_array().is_some_and(|s| {
            s.iter()
                .any(|u| u.as_str().is_some_and(|u| u.ends_with(":Group")))
        });
        self.registry
            .resource_type(if is_group { "Group" } else { "User" })
            .expect("the core registry has User and Group")
    }

    /// The options used.
    pub fn options(&self) -> &scim_core::PatchOptions {
        &self.options
    }
}

/// A PatchOp message holding `operations`, decoded as a service would decode the request
/// body (outside the measured code, as the peer also gets already-decoded JSON).
pub fn our_patch_op(operations: &[Value]) -> scim_core::PatchOp {
    serde_json::from_value(json!({
        "schemas": [scim_core::patch::PATCH_OP_SCHEMA],
        "Operations": operations,
    }))
    .expect("a valid PatchOp")
}

/// Applies `patch` to `resource` in place with our engine (atomic: all or nothing).
#[inline(never)]
pub fn patch_ours(
    schema: &scim_core::ResourceSchema<'_>,
    resource: &mut serde_json::Map<String, Value>,
    patch: &scim_core::PatchOp,
    options: &scim_core::PatchOptions,
) -> Result<bool, String> {
    scim_core::apply_patch_in_place(schema, resource, patch, options).map_err(|e| e.to_string())
}
