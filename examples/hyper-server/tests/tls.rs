//! Black-box tests of `--tls-cert`/`--tls-key` and of the refusal of plain HTTP off
//! loopback: the binary served with a certificate made at test time, spoken to over HTTPS by
//! a rustls client that trusts only that certificate.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{BIN, free_port, serve_with, temp_dir};
use rustls::pki_types::{CertificateDer, ServerName};

/// Writes a self-signed certificate for `localhost` and 127.0.0.1 and its key (PEM) into
/// `dir`; returns the paths and the certificate.
fn self_signed(dir: &Path) -> (String, String, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).expect("write cert");
    std::fs::write(&key, made.key_pair.serialize_pem()).expect("write key");
    (
        cert.display().to_string(),
        key.display().to_string(),
        made.cert.der().clone(),
    )
}

/// A rustls client configuration trusting only `cert`.
fn client_config(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Reads until the peer closes (a missing TLS close_notify counts as the end) or 10 s pass.
fn read_all(stream: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    out
}

/// One HTTPS request with `Connection: close`: the whole answer as text.
fn https_get(config: &Arc<rustls::ClientConfig>, port: u16, path: &str, token: &str) -> String {
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(config.clone(), name).expect("client");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .expect("TLS handshake and write");
    String::from_utf8_lossy(&read_all(&mut tls)).into_owned()
}

#[test]
fn https_answers_and_plain_http_on_the_tls_port_gets_no_scim_answer() {
    let dir = temp_dir("tls");
    let (cert, key, der) = self_signed(&dir);
    let server = serve_with(
        &dir.join("scim.db"),
        "info",
        &["--tls-cert", &cert, "--tls-key", &key],
    );
    let token = server.banner_token();
    assert!(token.starts_with("scim_"), "{}", server.stderr);
    let config = client_config(der);

    let answer = https_get(
        &config,
        server.port,
        "/scim/v2/ServiceProviderConfig",
        &token,
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"),
        "{answer}"
    );
    let refused = https_get(&config, server.port, "/scim/v2/Users", "scim_wrong");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");

    // The same request in plain HTTP on the TLS port: no HTTP answer, no SCIM content.
    let mut plain = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    // The server may close before the whole request is written.
    let _ = plain.write_all(request.as_bytes());
    let answer = read_all(&mut plain);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.contains("urn:ietf:params:scim"), "{text}");

    // HTTPS still answers after the plain-HTTP attempt.
    let again = https_get(
        &config,
        server.port,
        "/scim/v2/ServiceProviderConfig",
        &token,
    );
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `serve` on `bind` with `extra` options until it exits (it must, within 30 s):
/// success and standard error.
fn serve_until_exit(dir: &Path, bind: &str, extra: &[&str]) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", bind, "--base-url"])
        .arg("https://scim.example.com/scim/v2")
        .args(extra)
        .arg("--database")
        .arg(dir.join("scim.db"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plain_http_off_loopback_is_refused_unless_insecure_http() {
    let dir = temp_dir("insecure");
    let (cert, key, _) = self_signed(&dir);
    // 192.0.2.1 (TEST-NET-1) is on no interface: a server that gets past the check fails to
    // bind it, so no test ever listens off loopback.
    let bind = format!("192.0.2.1:{}", free_port());
    let (ok, err) = serve_until_exit(&dir, &bind, &[]);
    assert!(!ok);
    assert!(err.contains("refusing plain HTTP"), "{err}");
    assert!(
        err.contains("--insecure-http"),
        "the way out is named: {err}"
    );
    assert!(
        !err.contains("error: binding"),
        "refused before binding: {err}"
    );

    for extra in [
        &["--insecure-http"][..],
        &["--tls-cert", &cert, "--tls-key", &key][..],
    ] {
        let (ok, err) = serve_until_exit(&dir, &bind, extra);
        assert!(!ok, "192.0.2.1 cannot be bound: {err}");
        assert!(!err.contains("refusing plain HTTP"), "{extra:?}: {err}");
        assert!(err.contains("error: binding 192.0.2.1"), "{extra:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
