//! The hyper server's black-box tests of the binary (the admin commands' output contract,
//! the first-start token, durability across `kill -9`) run against `axum-server`.

#[path = "../../hyper-server/tests/binary.rs"]
mod suite;
