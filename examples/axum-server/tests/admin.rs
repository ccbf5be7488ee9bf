//! Black-box tests of the admin page served by the `axum-server` binary on `--admin-bind`
//! (the steps are in `admin_page`, shared with the hyper server's tests).

#[path = "../../hyper-server/tests/admin_page/mod.rs"]
mod admin_page;

const BIN: &str = env!("CARGO_BIN_EXE_axum-server");

#[test]
fn the_admin_page_manages_integrations_end_to_end() {
    admin_page::walk(BIN, "axum-walk");
}

#[test]
fn the_first_start_prints_a_generated_admin_password() {
    admin_page::generated_password(BIN, "axum-generated");
}

#[test]
fn a_taken_admin_address_does_not_stop_serve() {
    admin_page::bind_failure_is_not_fatal(BIN, "axum-taken");
}

#[test]
fn plain_http_admin_off_loopback_is_refused() {
    admin_page::plain_http_off_loopback_is_refused(BIN, "axum-public");
}
