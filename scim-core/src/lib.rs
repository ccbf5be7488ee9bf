//! The SCIM 2.0 model below HTTP: schemas as data (RFC 7643), resources and their typed
//! views, the protocol messages (RFC 7644), validation that knows the request context,
//! projection, and discovery.
//!
//! # Primary types
//!
//! - [`Registry`] holds the registered [`Schema`]s (each a list of [`AttributeDef`] with
//!   every RFC 7643 §7 characteristic) and [`ResourceType`]s. [`Registry::core`] has the core
//!   User, Group and Enterprise User schemas; a service adds its own extensions with
//!   [`Registry::add_schema`] and [`Registry::add_extension`].
//! - [`ResourceSchema`] is one resource type with its schemas, from
//!   [`Registry::resource_type`]. It resolves attribute paths (`userName`, `name.givenName`,
//!   URN-qualified names, bare extension names such as Entra's `department`) and implements
//!   [`scim_filter::AttrSchema`], so filters evaluate with the right characteristics.
//! - [`validate_resource`] checks a POST or PUT body, or a PATCH result ([`Mode`]), and
//!   returns the normalised resource; [`normalize_value`] does the same for one attribute
//!   value. [`ValidateOptions`] and [`Dialects`] say which identity-provider habits are
//!   tolerated (booleans as strings, a single object for an array, the SCIM 1.0 core URN...).
//! - [`project::Projection`] applies `attributes` / `excludedAttributes` and the `returned`
//!   characteristic to a stored resource for a response.
//! - [`resource`] has the typed views [`resource::User`], [`resource::Group`],
//!   [`resource::EnterpriseUser`] and their parts; they keep what they do not name, so no
//!   attribute or extension is lost on the way through.
//! - [`message`] has [`message::ListResponse`], [`message::SearchRequest`],
//!   [`message::BulkRequest`] and [`message::BulkResponse`]; [`Error`] is the SCIM Error.
//! - [`discovery`] has [`discovery::ServiceProviderConfig`] and generates the `/Schemas` and
//!   `/ResourceTypes` bodies from the registry.
//!
//! # Conversions
//!
//! - request bytes → `serde_json::Value`: [`message::parse_body`];
//! - `Value` → normalised resource (`Map`): [`validate_resource`];
//! - resource `Value` ⇄ typed view: `User::try_from(value)`, `Value::from(user)`
//!   (the same for every view), [`resource::from_value`] / [`resource::to_value`];
//! - stored resource → response body: [`project::Projection::apply`], inside a
//!   [`message::ListResponse`] for queries;
//! - [`Schema`] / [`ResourceType`] / [`discovery::ServiceProviderConfig`] → discovery JSON:
//!   [`discovery::schemas_list`], [`discovery::resource_types_list`],
//!   [`discovery::ServiceProviderConfig::to_resource`].
//!
//! # Example
//!
//! A user created by Microsoft Entra ID, with its habits (client-sent `meta` and `id`, an
//! empty `roles`, a boolean as a string, a bare extension attribute), stored and returned:
//!
//! ```
//! use scim_core::project::Projection;
//! use scim_core::resource::User;
//! use scim_core::{Mode, Registry, ValidateOptions, message, validate_resource};
//!
//! let registry = Registry::core();
//! let users = registry.resource_type_by_endpoint("/Users").expect("registered");
//!
//! let body = message::parse_body(br#"{
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "UserName": "bjensen@example.com",
//!     "active": "True",
//!     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
//!     "department": "Tour Operations",
//!     "id": "sent-by-the-client", "meta": {"resourceType": "User"}, "roles": []
//! }"#)?;
//! let mut stored = validate_resource(&users, body, Mode::Create, None, &ValidateOptions::default())?;
//! stored.insert("id".into(), "2819c223".into());
//!
//! let user = User::try_from(serde_json::Value::Object(stored.clone()))?;
//! assert_eq!(user.active, Some(true));
//! assert_eq!(user.enterprise()?.and_then(|e| e.department).as_deref(), Some("Tour Operations"));
//!
//! let shown = Projection::parse(Some("userName"), None, &users)?.apply(&stored);
//! assert_eq!(serde_json::Value::Object(shown), serde_json::json!({
//!     "schemas": [
//!         "urn:ietf:params:scim:schemas:core:2.0:User",
//!         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
//!     ],
//!     "id": "2819c223",
//!     "userName": "bjensen@example.com",
//! }));
//! # Ok::<(), scim_core::Error>(())
//! ```
//!
//! # Input safety
//!
//! - Nothing derived from input panics: library code denies `unwrap`, numbers out of range
//!   (`1e400`, integers beyond 64 bits) are 400 `invalidValue`, and no arithmetic or slicing
//!   depends on unchecked input.
//! - No recursion follows the input's depth. [`message::parse_body`] uses serde_json, which
//!   stops at 128 levels of nesting (so dropping a parsed value is bounded too); validation
//!   and projection recurse over the *schema* (attribute, then sub-attribute), never deeper
//!   than the registered schemas, whatever the input holds. Unknown values are dropped
//!   (or, with [`ValidateOptions::keep_unknown_attributes`], kept as given without being
//!   walked).
//! - Work grows linearly with the input (times the size of the schema, which the service
//!   chose); `attributes` / `excludedAttributes` lists are capped at [`project::MAX_NAMES`]
//!   names.
//! - Secrets stay secret: the value of a writeOnly or `returned: never` attribute
//!   (`password`) is never quoted in an error, and [`resource::Password`] redacts itself in
//!   `Debug`.
//!
//! # Error reporting
//!
//! Every failure is one [`Error`]: the HTTP status, the RFC 7644 §3.12 `scimType`
//! ([`ScimType`]) and a `detail` that names the attribute path and what was wrong, quoting
//! at most [`error::MAX_QUOTED_INPUT`] bytes of the client's input in JSON string syntax:
//!
//! - `attribute "userName" must be a string, not the number 5` (400 `invalidValue`);
//! - `attribute "emails.primary" must be a boolean, not the string "yes"`;
//! - `required attribute "userName" is missing` (400 `invalidValue`; `mutability` when a
//!   PATCH left it unassigned);
//! - `the resource has no "schemas" attribute: it must list "urn:...:User"` (400
//!   `invalidSyntax`);
//! - `attribute "...:badge" is immutable and already set: it cannot be changed` (400
//!   `mutability`).
//!
//! `Error` serialises to the SCIM Error message, with `status` as a string.
//!
//! # Modules
//!
//! [`schema`] (attribute definitions, schemas, resource types), [`core_schemas`] (RFC 7643
//! §4), [`registry`] (registration and path resolution), [`dialects`] (tolerated
//! identity-provider habits), [`validate`], [`project`], [`resource`], [`message`],
//! [`discovery`], [`error`].
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod core_schemas;
pub mod dialects;
pub mod discovery;
pub mod error;
pub mod message;
pub mod patch;
pub mod project;
pub mod registry;
pub mod resource;
pub mod schema;
pub mod service;
pub mod store;
pub mod validate;

pub use dialects::Dialects;
pub use error::{Error, ScimType};
pub use message::ListResponse;
pub use patch::{PatchOp, PatchOptions, PatchOutcome, apply_patch, apply_patch_in_place};
pub use project::Projection;
pub use registry::{Registry, ResolveError, Resolved, ResourceSchema};
pub use resource::{EnterpriseUser, Group, User};
pub use schema::{
    AttrType, AttributeDef, Mutability, ResourceType, Returned, Schema, SchemaExtension, Uniqueness,
};
pub use validate::{Mode, ValidateOptions, normalize_value, validate_resource};
