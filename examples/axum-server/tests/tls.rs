//! The hyper server's HTTPS tests (a certificate made at test time, a rustls client that
//! trusts only it; plain HTTP refused off loopback) run against `axum-server`.

#[path = "../../hyper-server/tests/tls.rs"]
mod suite;
