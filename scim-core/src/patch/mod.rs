//! The PATCH engine (RFC 7644 §3.5.2): applies a [`PatchOp`] to a resource against its
//! schema, atomically.
//!
//! [`apply_patch`] works on a copy of the resource and returns the new resource with
//! whether anything changed, or the first error and nothing else: all operations or none.
//! [`apply_patch_in_place`] changes a resource the caller owns, with the same guarantee: an
//! undo log saves the attributes the operations touch (appends to and removals from a large
//! group's `members` are undone without a copy), and an error puts everything back.
//! The engine never writes `id` or `meta` (the service sets `meta`); it maintains
//! `schemas` as extension attributes come and go.
//!
//! # Semantics
//!
//! - `add` and `replace` with a path set the target; without a path the value is an object
//!   of attributes, each applied in turn (readOnly keys such as Okta's `id` are skipped,
//!   unknown keys dropped). On a single-valued complex attribute both merge the given
//!   sub-attributes. `add` on a multi-valued attribute appends the elements not already
//!   there (Group `members`: the same `value`; other attributes: equal on every
//!   sub-attribute given); `replace` replaces all of them, or, through a value path
//!   (`emails[type eq "work"]`), only the matching elements. `add` or `replace` with `null`
//!   or `[]` makes the target unassigned.
//! - `remove` needs a path (without one: 400 `noTarget`); a value path that matches nothing
//!   removes nothing and succeeds.
//! - A path equal to an extension URN addresses the whole extension object: `add` and
//!   `replace` merge into it, `remove` deletes it and drops its URN from `schemas`. The
//!   first attribute written to an extension adds its URN to `schemas`.
//! - `primary: true` on one element clears it on the others.
//! - A path naming a readOnly attribute (`id`, `meta`, `groups`, `members.display`) is
//!   400 `mutability`. An immutable attribute may be set while unassigned, or to the value
//!   it has; sub-attributes of multi-valued attributes (Group `members.value`) are immutable
//!   per element: elements may be added, removed and replaced whole, not edited in place.
//!   Leaving a required attribute unassigned is 400 `mutability`.
//! - Values are checked and normalised with [`normalize_value_with`](crate::validate::normalize_value_with),
//!   so the identity-provider coercions of [`Dialects`] (booleans as strings, `manager` as
//!   a bare id, JSON-in-a-string roles, a single object for an array) apply to every value
//!   written.
//!
//! The dialects of [`Dialects`] that are the engine's own: `op_any_case`,
//! `remove_listed_values` (a remove of a multi-valued attribute carrying a `value` array
//! removes only those elements; off, such a remove is 400 `invalidValue` rather than a
//! removal of every element), `create_on_unmatched_value_path` (an add or replace through
//! a value path that matches nothing creates the element its `eq` comparisons describe;
//! an empty string through a sub-attribute creates nothing), `value_keys_as_paths`,
//! `unqualified_extension_names`, `scim1_core_urn` and `empty_operations_noop`.
//!
//! # Example
//!
//! ```
//! use scim_core::Registry;
//! use scim_core::patch::{PatchOp, PatchOptions, apply_patch};
//! use serde_json::json;
//!
//! let registry = Registry::core();
//! let users = registry.resource_type("User").unwrap();
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223",
//!     "userName": "bjensen",
//!     "active": true,
//! });
//! let patch: PatchOp = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! }))?;
//! let outcome = apply_patch(&users, user.as_object().unwrap(), &patch, &PatchOptions::default())?;
//! assert!(outcome.changed);
//! assert_eq!(outcome.resource["active"], json!(false));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod engine;
mod fast;
mod message;
mod select;

use serde_json::{Map, Value};

pub use message::{PATCH_OP_SCHEMA, PatchOp, PatchOpKind, PatchOperation, UnknownOp};
pub use select::ElementSchema;

use crate::dialects::Dialects;
use crate::error::Error;
use crate::registry::ResourceSchema;

/// The most operations [`PatchOptions::default`] accepts in one PatchOp.
pub const DEFAULT_MAX_OPERATIONS: usize = 1000;

/// Settings of [`apply_patch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PatchOptions {
    /// The identity-provider dialects tolerated.
    pub dialects: Dialects,
    /// The most operations accepted in one PatchOp; more is 400 `invalidValue` before any
    /// is applied. Default [`DEFAULT_MAX_OPERATIONS`].
    pub max_operations: usize,
    /// Keep attributes and sub-attributes no registered schema defines as given, instead of
    /// dropping them (default `false`, as in validation).
    pub keep_unknown_attributes: bool,
}

impl Default for PatchOptions {
    fn default() -> Self {
        PatchOptions {
            dialects: Dialects::default(),
            max_operations: DEFAULT_MAX_OPERATIONS,
            keep_unknown_attributes: false,
        }
    }
}

impl PatchOptions {
    /// The defaults: every default dialect, [`DEFAULT_MAX_OPERATIONS`], unknown attributes
    /// dropped.
    pub fn new() -> Self {
        PatchOptions::default()
    }

    /// Sets the tolerated dialects.
    pub fn dialects(mut self, dialects: Dialects) -> Self {
        self.dialects = dialects;
        self
    }

    /// Sets the most operations accepted in one PatchOp.
    pub fn max_operations(mut self, n: usize) -> Self {
        self.max_operations = n;
        self
    }

    /// Keeps (or drops, the default) unknown attributes.
    pub fn keep_unknown_attributes(mut self, keep: bool) -> Self {
        self.keep_unknown_attributes = keep;
        self
    }
}

/// The result of [`apply_patch`].
///
/// `Debug` shows the attribute names, never the values (a resource may hold a password).
#[derive(Clone, PartialEq)]
pub struct PatchOutcome {
    /// The resource after every operation.
    pub resource: Map<String, Value>,
    /// Whether the operations changed anything. When false the service leaves
    /// `meta.lastModified` and `meta.version` (so the ETag) unchanged (RFC 7644 §3.5.2.1).
    pub changed: bool,
}

impl std::fmt::Debug for PatchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchOutcome")
            .field("attributes", &self.resource.keys().collect::<Vec<_>>())
            .field("changed", &self.changed)
            .finish()
    }
}

/// Applies `patch` to `resource`, a resource of the type `schema` describes, atomically:
/// every operation in order, or none. The input is not changed; the outcome holds the new
/// resource. [`apply_patch_in_place`] does the same on a resource the caller owns, without
/// copying what the operations do not touch.
///
/// `patch.schemas` is not looked at (see [`PatchOp::check_schemas`]).
///
/// # Errors
///
/// The first failing operation's error, its `detail` prefixed with the operation's index
/// (`Operations[2]: ...`): 400 `invalidPath` (a path that does not parse, names no
/// attribute, or is ambiguous), `noTarget` (a remove without path, a value path that
/// matches nothing where something must be), `invalidValue` (a missing or ill-typed value,
/// no operations, more than [`PatchOptions::max_operations`]), `invalidFilter` (an operator
/// the attribute's type does not allow), `mutability` (readOnly and immutable attributes,
/// required attributes left unassigned), `invalidSyntax` (an op not in lower case with
/// [`Dialects::op_any_case`] off).
pub fn apply_patch(
    schema: &ResourceSchema<'_>,
    resource: &Map<String, Value>,
    patch: &PatchOp,
    options: &PatchOptions,
) -> Result<PatchOutcome, Error> {
    check_operations(patch, options)?;
    let mut copy = resource.clone();
    let changed = apply_checked(schema, &mut copy, patch, options)?;
    Ok(PatchOutcome {
        resource: copy,
        changed,
    })
}

/// [`apply_patch`] on a resource the caller owns: applies every operation to `resource`, or,
/// on error, leaves it exactly as it was. Returns whether anything changed (when not, the
/// service leaves `meta.lastModified` and `meta.version` as they are).
///
/// Only the attributes the operations touch are saved for the rollback; appending members
/// to a large group and removing some are done in place and undone without a copy. After
/// operations that cancel out on a multi-valued attribute (an add, then a remove of the
/// same member) it may report a change that is none.
///
/// # Errors
///
/// As [`apply_patch`].
///
/// ```
/// use scim_core::Registry;
/// use scim_core::patch::{PatchOp, PatchOperation, PatchOptions, apply_patch_in_place};
/// use serde_json::json;
///
/// let registry = Registry::core();
/// let groups = registry.resource_type("Group").unwrap();
/// let mut group = json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
///     "id": "g1",
///     "displayName": "Admins",
///     "members": [{"value": "u1"}],
/// }).as_object().cloned().unwrap();
/// let add = PatchOp::new(vec![PatchOperation::add("members", json!([{"value": "u2"}]))]);
/// assert!(apply_patch_in_place(&groups, &mut group, &add, &PatchOptions::default())?);
/// let bad = PatchOp::new(vec![
///     PatchOperation::remove("members[value eq \"u1\"]"),
///     PatchOperation::remove("displayName"), // required: 400 mutability
/// ]);
/// assert!(apply_patch_in_place(&groups, &mut group, &bad, &PatchOptions::default()).is_err());
/// assert_eq!(group["members"], json!([{"value": "u1"}, {"value": "u2"}]));
/// # Ok::<(), scim_core::Error>(())
/// ```
pub fn apply_patch_in_place(
    schema: &ResourceSchema<'_>,
    resource: &mut Map<String, Value>,
    patch: &PatchOp,
    options: &PatchOptions,
) -> Result<bool, Error> {
    check_operations(patch, options)?;
    apply_checked(schema, resource, patch, options)
}

/// The checks before any operation: not empty (unless the dialect says so), not too many.
fn check_operations(patch: &PatchOp, options: &PatchOptions) -> Result<(), Error> {
    let n = patch.operations.len();
    if n == 0 && !options.dialects.empty_operations_noop {
        return Err(Error::invalid_value(
            "the PatchOp has no operations: \"Operations\" must hold at least one",
        ));
    }
    if n > options.max_operations {
        return Err(Error::invalid_value(format!(
            "the PatchOp has {n} operations; at most {} are accepted in one request",
            options.max_operations
        )));
    }
    Ok(())
}

fn apply_checked(
    schema: &ResourceSchema<'_>,
    resource: &mut Map<String, Value>,
    patch: &PatchOp,
    options: &PatchOptions,
) -> Result<bool, Error> {
    if let [op] = patch.operations.as_slice()
        && let Some(changed) = fast::try_apply(schema, resource, op, options)
    {
        return Ok(changed);
    }
    apply_engine(schema, resource, patch, options)
}

/// The general engine, every operation through the undo log (what the fast paths of
/// `fast` must agree with).
fn apply_engine(
    schema: &ResourceSchema<'_>,
    resource: &mut Map<String, Value>,
    patch: &PatchOp,
    options: &PatchOptions,
) -> Result<bool, Error> {
    let mut engine = engine::Engine::new(*schema, resource, options);
    for (i, op) in patch.operations.iter().enumerate() {
        if let Err(mut e) = engine.apply(op) {
            engine.rollback();
            e.detail = format!("Operations[{i}]: {}", e.detail);
            return Err(e);
        }
    }
    match engine.finish() {
        Ok(changed) => Ok(changed),
        Err(e) => {
            engine.rollback();
            Err(e)
        }
    }
}
