//! SCIM 2.0 core: schemas, resources, messages, validation, projection, PATCH, and the
//! protocol service over `http` types.
//!
//! STUB: the scim-core model issue writes the full crate documentation here.
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
pub mod validate;

pub use dialects::Dialects;
pub use error::{Error, ScimType};
pub use patch::{PatchOp, PatchOptions, PatchOutcome, apply_patch, apply_patch_in_place};
pub use registry::{Registry, ResolveError, Resolved, ResourceSchema};
pub use schema::{
    AttrType, AttributeDef, Mutability, ResourceType, Returned, Schema, SchemaExtension, Uniqueness,
};
pub use validate::{Mode, ValidateOptions, normalize_value, validate_resource};
