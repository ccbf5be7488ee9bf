//! Black-box tests of the `hyper-server` binary: the admin commands' output contract, the
//! first-start token, and durability across `kill -9`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hyper-server");

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scim-hyper-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn admin(db: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--database")
        .arg(db)
        .output()
        .expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// One HTTP/1.1 request; the status and body.
fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

struct Server {
    child: Child,
    port: u16,
    stderr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and waits until it accepts connections; collects its stderr up to
/// the "serving" line.
fn serve(db: &Path) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/scim/v2");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--base-url",
            &base,
        ])
        .arg("--database")
        .arg(db)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
    let mut stderr = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        stderr.push_str(&line);
        if line.contains("serving SCIM") {
            break;
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = lines.read_to_string(&mut sink);
    });
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start: {stderr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        port,
        stderr,
    }
}

fn token_from_banner(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token:"))
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn admin_commands_print_only_the_token_on_stdout() {
    let dir = temp_dir("admin");
    let db = dir.join("scim.db");
    let (ok, out, err) = admin(&db, &["integrations", "create", "Okta"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {out:?}");
    let first = lines[0].to_owned();
    assert!(first.starts_with("scim_"), "{first}");
    assert!(!err.contains(&first), "the token is not repeated on stderr");

    let (ok, _, err) = admin(&db, &["integrations", "create", "okta"]);
    assert!(!ok, "names are unique case-insensitively: {err}");
    let (ok, out, _) = admin(&db, &["--tenant", "t2", "integrations", "list"]);
    assert!(
        !ok || !out.contains("Okta"),
        "--tenant belongs to integrations"
    );
    let (ok, out, _) = admin(&db, &["integrations", "list", "--tenant", "t2"]);
    assert!(ok);
    assert!(!out.contains("Okta"), "another tenant sees nothing: {out}");

    let (ok, _, err) = admin(&db, &["integrations", "rename", "okta", "Okta EU"]);
    assert!(ok, "{err}");
    let (ok, out, _) = admin(&db, &["integrations", "list"]);
    assert!(ok && out.contains("Okta EU"), "{out}");

    let (ok, out, err) = admin(&db, &["integrations", "rotate", "okta eu", "--grace", "1h"]);
    assert!(ok, "{err}");
    let second = out.trim().to_owned();
    assert_eq!(out.lines().count(), 1);
    assert_ne!(first, second);

    // Both tokens work during the grace period; the server never printed a banner because
    // integrations exist.
    let server = serve(&db);
    assert!(
        token_from_banner(&server.stderr).is_empty(),
        "{}",
        server.stderr
    );
    for t in [&first, &second] {
        let (status, _) = request(server.port, "GET", "/scim/v2/ServiceProviderConfig", t, "");
        assert_eq!(status, 200);
    }
    let (ok, out, _) = admin(&db, &["integrations", "rotate", "Okta EU"]);
    assert!(ok);
    let third = out.trim().to_owned();
    let (status, _) = request(server.port, "GET", "/scim/v2/Users", &second, "");
    assert_eq!(
        status, 401,
        "rotation without grace ends the previous token"
    );
    let (status, _) = request(server.port, "GET", "/scim/v2/Users", &third, "");
    assert_eq!(status, 200);
    let (ok, _, _) = admin(&db, &["integrations", "delete", "Okta EU"]);
    assert!(ok);
    let (status, _) = request(server.port, "GET", "/scim/v2/Users", &third, "");
    assert_eq!(status, 401, "deleting ends every token");
    let (ok, _, err) = admin(&db, &["integrations", "delete", "nope"]);
    assert!(!ok && err.contains("nope"));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = temp_dir("crash");
    let db = dir.join("scim.db");
    let mut server = serve(&db);
    let token = token_from_banner(&server.stderr);
    assert!(
        token.starts_with("scim_"),
        "first start prints the token: {}",
        server.stderr
    );
    let (status, _) = request(
        server.port,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        &token,
        "",
    );
    assert_eq!(status, 200);

    let mut users = Vec::new();
    for i in 0..40 {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user{i}@example.com","active":true}}"#
        );
        let (status, resp) = request(server.port, "POST", "/scim/v2/Users", &token, &body);
        assert_eq!(status, 201, "{resp}");
        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
        users.push(v["id"].as_str().expect("id").to_owned());
    }
    let members: Vec<String> = users[..10]
        .iter()
        .map(|id| format!(r#"{{"value":"{id}"}}"#))
        .collect();
    let body = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Staff","members":[{}]}}"#,
        members.join(",")
    );
    let (status, resp) = request(server.port, "POST", "/scim/v2/Groups", &token, &body);
    assert_eq!(status, 201, "{resp}");
    let group: serde_json::Value = serde_json::from_str(&resp).expect("json");
    let gid = group["id"].as_str().expect("id").to_owned();
    let patch = format!(
        r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"add","path":"members","value":[{{"value":"{}"}}]}}]}}"#,
        users[20]
    );
    let (status, _) = request(
        server.port,
        "PATCH",
        &format!("/scim/v2/Groups/{gid}"),
        &token,
        &patch,
    );
    assert!(status == 200 || status == 204);
    let deactivate = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
    let (status, _) = request(
        server.port,
        "PATCH",
        &format!("/scim/v2/Users/{}", users[39]),
        &token,
        deactivate,
    );
    assert_eq!(status, 200);

    // SIGKILL: no chance to flush or close anything.
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    drop(server);

    let server = serve(&db);
    assert!(
        token_from_banner(&server.stderr).is_empty(),
        "the token is printed once"
    );
    let (status, resp) = request(server.port, "GET", "/scim/v2/Users?count=1000", &token, "");
    assert_eq!(status, 200, "the token survived");
    let list: serde_json::Value = serde_json::from_str(&resp).expect("json");
    assert_eq!(list["totalResults"], 40);
    let (_, resp) = request(
        server.port,
        "GET",
        &format!("/scim/v2/Groups/{gid}"),
        &token,
        "",
    );
    let g: serde_json::Value = serde_json::from_str(&resp).expect("json");
    assert_eq!(g["members"].as_array().map(Vec::len), Some(11));
    let (_, resp) = request(
        server.port,
        "GET",
        &format!("/scim/v2/Users/{}", users[39]),
        &token,
        "",
    );
    let u: serde_json::Value = serde_json::from_str(&resp).expect("json");
    assert_eq!(u["active"], false);
    let (_, resp) = request(
        server.port,
        "GET",
        &format!("/scim/v2/Users/{}", users[20]),
        &token,
        "",
    );
    let u: serde_json::Value = serde_json::from_str(&resp).expect("json");
    assert_eq!(u["groups"][0]["value"], gid.as_str());
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends raw bytes, returns the status of the answer.
fn raw_status(port: u16, head: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("head");
    // The server may answer and close before the body is sent.
    let _ = s.write_all(body);
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn oversized_bodies_are_refused_with_413() {
    let dir = temp_dir("limit");
    let db = dir.join("scim.db");
    let server = serve(&db);
    let token = token_from_banner(&server.stderr);
    // Announced too large: refused before the body is read.
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 50000000\r\n\r\n"
    );
    assert_eq!(raw_status(server.port, &head, b""), 413);
    // Chunked: reading stops at the limit.
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
    let body = chunk.repeat(20);
    assert_eq!(raw_status(server.port, &head, body.as_bytes()), 413);
    // Without a valid token: 401 first.
    let head = "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n";
    assert_eq!(raw_status(server.port, head, b""), 401);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
