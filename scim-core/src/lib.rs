//! SCIM 2.0 core: schemas, resources, messages, validation, projection, PATCH, and the
//! protocol service over `http` types.
//!
//! This crate is being filled by its own issues: the model (schemas as data, typed resource
//! views, messages, validation, projection and the PATCH engine) and then the protocol
//! service (`ScimService`, the `ResourceStore` trait and `MemoryStore`). Until they land it
//! holds nothing.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
