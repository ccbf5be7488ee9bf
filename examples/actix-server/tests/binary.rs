//! Black-box tests of the `actix-server` binary: the http 0.2 → 1 adapter keeps repeated
//! header fields, answers through the SCIM service, and refuses oversized bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_actix-server");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn status(port: u16, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("write");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[test]
fn adapter_keeps_repeated_headers_and_limits_bodies() {
    let dir = std::env::temp_dir().join(format!("scim-actix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = dir.join("scim.db");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = Command::new(BIN)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(["--base-url", &format!("http://127.0.0.1:{port}/scim/v2")])
        .arg("--database")
        .arg(&db)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
    let server = Server(child);
    let mut token = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while token.is_empty() && Instant::now() < deadline {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(t) = line.trim().strip_prefix("Token:") {
            token = t.trim().to_owned();
        }
    }
    assert!(token.starts_with("scim_"), "first start prints the token");
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = lines.read_to_string(&mut sink);
    });
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let get = |extra: &str| {
        status(
            port,
            &format!(
                "GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
            ),
        )
    };
    let one = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(get(&one).0, 200);
    let (code, text) = get(&format!("{one}{one}"));
    assert_eq!(
        code, 400,
        "two Authorization fields reach the check: {text}"
    );
    assert_eq!(get("").0, 401);
    let (code, _) = status(
        port,
        &format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n{one}Content-Length: 50000000\r\nConnection: close\r\n\r\n"
        ),
    );
    assert_eq!(code, 413);
    let (code, text) = status(
        port,
        &format!(
            "GET /scim/v2/Users?filter=userName%20eq%20%22nobody%22 HTTP/1.1\r\nHost: x\r\n{one}Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(code, 200);
    assert!(text.contains("\"totalResults\":0"), "{text}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
