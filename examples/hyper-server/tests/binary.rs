//! Black-box tests of the `hyper-server` binary: the admin commands' output contract, the
//! first-start token, and durability across `kill -9`.

mod common;

use common::{admin, exchange, request, serve, temp_dir, token_from_banner};

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
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    exchange(port, &bytes).map_or(0, |r| r.status)
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

#[test]
fn writes_with_a_token_another_process_revoked_fail_on_the_next_request() {
    let dir = temp_dir("revoke-writes");
    let db = dir.join("scim.db");
    let (ok, out, err) = admin(&db, &["integrations", "create", "Entra"]);
    assert!(ok, "{err}");
    let first = out.trim().to_owned();
    let server = serve(&db);
    let user = |name: &str| {
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#
        )
    };
    let (status, body) = request(server.port, "POST", "/scim/v2/Users", &first, &user("a"));
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let deactivate = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#;
    let path = format!("/scim/v2/Users/{id}");
    let (status, _) = request(server.port, "PATCH", &path, &first, deactivate);
    assert_eq!(status, 200);

    // Rotated by the command line (another process): the old token's very next request,
    // read or write, fails, also right after reads that found the token in memory
    // (nothing committed between them: no SQLite read for the token).
    for _ in 0..3 {
        let (status, _) = request(server.port, "GET", &path, &first, "");
        assert_eq!(status, 200);
    }
    let (ok, out, _) = admin(&db, &["integrations", "rotate", "Entra"]);
    assert!(ok);
    let second = out.trim().to_owned();
    for (method, path, body) in [
        ("GET", path.as_str(), ""),
        ("PATCH", path.as_str(), deactivate),
        ("POST", "/scim/v2/Users", user("b").as_str()),
        ("DELETE", path.as_str(), ""),
    ] {
        let (status, _) = request(server.port, method, path, &first, body);
        assert_eq!(status, 401, "{method} with the rotated token");
    }
    let (status, _) = request(server.port, "PATCH", &path, &second, deactivate);
    assert_eq!(status, 200, "the new token writes");

    // Deleted: no request with it succeeds any more (a read right after reads from
    // memory first), and nothing was written.
    for _ in 0..3 {
        let (status, _) = request(server.port, "GET", &path, &second, "");
        assert_eq!(status, 200);
    }
    let (ok, _, _) = admin(&db, &["integrations", "delete", "Entra"]);
    assert!(ok);
    let (status, _) = request(server.port, "GET", &path, &second, "");
    assert_eq!(status, 401, "a read with the deleted token");
    let (status, _) = request(server.port, "POST", "/scim/v2/Users", &second, &user("c"));
    assert_eq!(status, 401);
    let (status, _) = request(server.port, "DELETE", &path, &second, "");
    assert_eq!(status, 401);
    let (ok, out, _) = admin(&db, &["integrations", "create", "Okta"]);
    assert!(ok);
    let third = out.trim().to_owned();
    let (status, _) = request(server.port, "GET", &path, &third, "");
    assert_eq!(status, 200, "the refused DELETEs removed nothing");
    let (status, body) = request(server.port, "GET", "/scim/v2/Users", &third, "");
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        list["totalResults"], 1,
        "the refused POSTs created nothing: {body}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
