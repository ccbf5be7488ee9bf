//! The hyper server's hostile-input suite (authentication, malformed HTTP and JSON, slow and
//! oversized requests, limits) run against the `axum-server` binary: the axum glue must not
//! change a single answer.

#[path = "../../hyper-server/tests/hostile.rs"]
mod suite;
