//! Two `hyper-server` processes on one PostgreSQL database (`SCIM_TEST_POSTGRES_URL`),
//! 16 concurrent clients spread over both: adding 200 members to one group loses none, and
//! creating one userName from all of them gives exactly one 201. Skipped (with a message)
//! without the variable, except under `CI=true`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hyper-server");
const CLIENTS: usize = 16;
const MEMBERS: usize = 200;

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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/scim/v2");
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--base-url", &base, "--database", url])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr);
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            eprint!("server {port}: {line}");
            line.clear();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server on {port} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, port }
}

/// A tenant of its own per run, so runs on one database never meet.
fn tenant() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("two-processes-{}-{nanos}", std::process::id())
}

#[test]
fn two_processes_sixteen_clients_lose_nothing() {
    let Some(url) =
        scim_example_support::pg::test_url("two_processes_sixteen_clients_lose_nothing")
    else {
        return;
    };
    let tenant = tenant();
    let out = Command::new(BIN)
        .args(["integrations", "create", "load", "--tenant", &tenant])
        .args(["--database", &url])
        .output()
        .expect("create integration");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let servers = [serve(&url), serve(&url)];
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();

    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Everyone"});
    let (status, body) = request(
        ports[0],
        "POST",
        "/scim/v2/Groups",
        &token,
        &group.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    let group: Value = serde_json::from_str(&body).expect("json");
    let gid = group["id"].as_str().expect("id").to_owned();

    // 200 member adds from 16 clients, alternating between the two processes.
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (token, gid, ports, barrier) =
                (token.clone(), gid.clone(), ports.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut failures = Vec::new();
                for i in (c..MEMBERS).step_by(CLIENTS) {
                    let patch = json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "add", "path": "members",
                                        "value": [{"value": format!("member-{i:03}")}]}]
                    });
                    let port = ports[i % 2];
                    let (status, body) = request(
                        port,
                        "PATCH",
                        &format!("/scim/v2/Groups/{gid}?excludedAttributes=members"),
                        &token,
                        &patch.to_string(),
                    );
                    if !(200..300).contains(&status) {
                        failures.push(format!("member {i} on {port}: {status} {body}"));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client"))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    for port in &ports {
        let (status, body) = request(*port, "GET", &format!("/scim/v2/Groups/{gid}"), &token, "");
        assert_eq!(status, 200, "{body}");
        let g: Value = serde_json::from_str(&body).expect("json");
        let mut values: Vec<&str> = g["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["value"].as_str()).collect())
            .unwrap_or_default();
        values.sort_unstable();
        values.dedup();
        assert_eq!(values.len(), MEMBERS, "members seen through port {port}");
    }

    // One userName from 16 clients at once, on both processes: exactly one 201.
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let racers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (token, port, barrier) = (token.clone(), ports[c % 2], barrier.clone());
            std::thread::spawn(move || {
                let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": if c % 3 == 0 { "Race.Winner" } else { "race.winner" }});
                barrier.wait();
                request(port, "POST", "/scim/v2/Users", &token, &user.to_string())
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = racers
        .into_iter()
        .map(|r| r.join().expect("racer"))
        .collect();
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:#?}");
    for (status, body) in &answers {
        assert!(*status == 201 || *status == 409, "{status} {body}");
        if *status == 409 {
            assert!(body.contains("uniqueness"), "{body}");
        }
    }
}
