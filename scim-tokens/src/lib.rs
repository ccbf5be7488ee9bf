//! Per-integration SCIM bearer tokens.
//!
//! This crate will hold the "SCIM directory integration" tokens: generated from the
//! operating system's randomness and shown once, stored only as a SHA-256 digest, verified in
//! constant time from an `Authorization: Bearer` header, rotated with an optional grace
//! period, and revoked. Its own issue fills it.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
