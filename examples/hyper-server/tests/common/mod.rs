//! What the black-box tests of the `hyper-server` binary share: temporary databases, the
//! admin commands, starting the server (its standard error kept whole), and a small HTTP/1.1
//! client on raw TCP that reports resets and hangs instead of hiding them.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The server binary cargo built for these tests: `hyper-server`, or `axum-server` when the
/// axum example's tests include these files (both serve through `serve::run`).
pub const BIN: &str = match (
    option_env!("CARGO_BIN_EXE_hyper-server"),
    option_env!("CARGO_BIN_EXE_axum-server"),
) {
    (Some(bin), _) | (None, Some(bin)) => bin,
    (None, None) => panic!("built for neither hyper-server nor axum-server"),
};

/// How long one request may take before the test calls it a hang.
pub const HANG: Duration = Duration::from_secs(30);

/// SCIM's User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// SCIM's Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// SCIM's PatchOp message URN.
pub const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// SCIM's Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A fresh, empty directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scim-hyper-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Runs an admin command on `db`: success, stdout, stderr.
pub fn admin(db: &Path, args: &[&str]) -> (bool, String, String) {
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

/// A port nobody listens on (for a moment).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// A running server, killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its standard error up to the "serving" line (the first-start banner is there).
    pub stderr: String,
    /// Everything it wrote to standard error, growing while it runs.
    pub log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Kills the server (SIGKILL) and returns its whole standard error.
    pub fn kill(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The token of the first-start banner.
    pub fn banner_token(&self) -> String {
        token_from_banner(&self.stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on `db` with `RUST_LOG=info`.
pub fn serve(db: &Path) -> Server {
    serve_with(db, "info", &[])
}

/// Starts the server on `db` with `RUST_LOG=log` and extra `serve` options, and waits until
/// it accepts connections. Its standard error is read to the end on a thread (so it never
/// blocks on a full pipe) and kept in [`Server::log`].
pub fn serve_with(db: &Path, log: &str, extra: &[&str]) -> Server {
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
        .args(extra)
        .arg("--database")
        .arg(db)
        .env("RUST_LOG", log)
        .env("NO_COLOR", "1")
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
    let log = Arc::new(Mutex::new(stderr.clone()));
    let sink = log.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match lines.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(mut l) = sink.lock() {
                        l.push_str(&String::from_utf8_lossy(&buf));
                    }
                }
            }
        }
    });
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start: {stderr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        port,
        stderr,
        log,
        reader: Some(reader),
    }
}

/// The token printed by the first start's banner (empty if none).
pub fn token_from_banner(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token:"))
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

/// An answer: status, header block, body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The header lines (lowercase names), without the status line.
    pub headers: Vec<(String, String)>,
    /// The body, decoded (chunked or not).
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (`Null` if it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How a request failed at the transport level.
#[derive(Debug)]
pub enum Failure {
    /// Could not connect.
    Connect(std::io::Error),
    /// No complete answer within [`HANG`].
    Hang,
    /// The connection was reset or closed before a complete answer.
    Reset(String),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses one complete HTTP/1.1 answer from `buf`, if it holds one.
fn parse_reply(buf: &[u8], closed: bool) -> Option<Reply> {
    let end = find(buf, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &buf[end + 4..];
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let line_end = at + find(&rest[at..], b"\r\n")?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[at..line_end])
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            at = line_end + 2;
            if size == 0 {
                break;
            }
            if rest.len() < at + size + 2 {
                return None;
            }
            body.extend_from_slice(&rest[at..at + size]);
            at += size + 2;
        }
        body
    } else if status == 204 || status == 304 {
        Vec::new()
    } else if closed {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// Reads one answer from `s`.
pub fn read_reply(s: &mut TcpStream) -> Result<Reply, Failure> {
    let deadline = Instant::now() + HANG;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Hang);
        }
        s.set_read_timeout(Some(left)).map_err(Failure::Connect)?;
        match s.read(&mut chunk) {
            Ok(0) => {
                return parse_reply(&buf, true).ok_or_else(|| {
                    Failure::Reset(format!(
                        "closed after {} bytes: {:?}",
                        buf.len(),
                        String::from_utf8_lossy(&buf[..buf.len().min(200)])
                    ))
                });
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if let Some(r) = parse_reply(&buf, false) {
                    return Ok(r);
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Err(Failure::Hang);
            }
            Err(e) => {
                // A reset may still leave a complete answer already received.
                return parse_reply(&buf, true).ok_or(Failure::Reset(e.to_string()));
            }
        }
    }
}

/// Sends raw bytes on a new connection and reads one answer.
pub fn exchange(port: u16, bytes: &[u8]) -> Result<Reply, Failure> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(Failure::Connect)?;
    s.set_write_timeout(Some(HANG)).map_err(Failure::Connect)?;
    // The server may answer (and close) before reading everything: a failed write is not
    // the verdict, the answer is.
    let _ = s.write_all(bytes);
    let r = read_reply(&mut s);
    let _ = s.shutdown(Shutdown::Both);
    r
}

/// A request with the usual headers; `token` empty sends no `Authorization`.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> Result<Reply, Failure> {
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    exchange(port, &bytes)
}

/// [`http`] that panics on a transport failure: the status and body.
pub fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    match http(port, method, path, token, body) {
        Ok(r) => (r.status, r.text()),
        Err(f) => panic!("{method} {path}: {f:?}"),
    }
}

/// Creates a user; its id.
pub fn create_user(port: u16, token: &str, user_name: &str) -> String {
    let body = format!(r#"{{"schemas":["{USER}"],"userName":"{user_name}","active":true}}"#);
    let (status, resp) = request(port, "POST", "/scim/v2/Users", token, &body);
    assert_eq!(status, 201, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
    v["id"].as_str().expect("id").to_owned()
}

/// Creates a group with these member ids; its id.
pub fn create_group(port: u16, token: &str, name: &str, members: &[&str]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|id| format!(r#"{{"value":"{id}"}}"#))
        .collect();
    let body = format!(
        r#"{{"schemas":["{GROUP}"],"displayName":"{name}","members":[{}]}}"#,
        members.join(",")
    );
    let (status, resp) = request(port, "POST", "/scim/v2/Groups", token, &body);
    assert_eq!(status, 201, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
    v["id"].as_str().expect("id").to_owned()
}

/// The member ids of a group, sorted.
pub fn member_ids(port: u16, token: &str, group: &str) -> Vec<String> {
    let (status, resp) = request(port, "GET", &format!("/scim/v2/Groups/{group}"), token, "");
    assert_eq!(status, 200, "{resp}");
    let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
    let mut ids: Vec<String> = v["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// `PRAGMA integrity_check` of the database file: "ok" when sound.
pub fn integrity_check(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open database");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}

/// An HPACK string literal (no Huffman coding) with its 7-bit-prefix length.
fn hpack_string(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    if n < 127 {
        out.push(n as u8);
    } else {
        out.push(127);
        n -= 127;
        while n >= 128 {
            out.push((n % 128) as u8 | 0x80);
            n /= 128;
        }
        out.push(n as u8);
    }
    out.extend_from_slice(s.as_bytes());
}

fn h2_frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// One HTTP/2 GET over cleartext with prior knowledge, headers as HPACK literals: the header
/// block of the answer on stream 1 (its first byte `0x88` is `:status: 200`).
pub fn h2_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Result<Vec<u8>, Failure> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(Failure::Connect)?;
    s.set_read_timeout(Some(HANG)).map_err(Failure::Connect)?;
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    h2_frame(&mut out, 4, 0, 0, &[]);
    let mut block = Vec::new();
    for (name, value) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "127.0.0.1"),
        (":path", path),
    ]
    .iter()
    .chain(headers)
    {
        block.push(0x00);
        hpack_string(&mut block, name);
        hpack_string(&mut block, value);
    }
    h2_frame(&mut out, 1, 0x5, 1, &block);
    s.write_all(&out)
        .map_err(|e| Failure::Reset(e.to_string()))?;
    let mut head = [0u8; 9];
    loop {
        s.read_exact(&mut head).map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => Failure::Hang,
            _ => Failure::Reset(e.to_string()),
        })?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload)
            .map_err(|e| Failure::Reset(e.to_string()))?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        match head[3] {
            // SETTINGS without ACK: acknowledge.
            4 if head[4] & 1 == 0 => {
                let mut ack = Vec::new();
                h2_frame(&mut ack, 4, 1, 0, &[]);
                s.write_all(&ack)
                    .map_err(|e| Failure::Reset(e.to_string()))?;
            }
            1 if stream == 1 => {
                // Skip padding and priority fields if flagged.
                let mut at = 0;
                let mut end = payload.len();
                if head[4] & 0x8 != 0 {
                    let pad = usize::from(payload.first().copied().unwrap_or(0));
                    at = 1;
                    end = end.saturating_sub(pad);
                }
                if head[4] & 0x20 != 0 {
                    at += 5;
                }
                return Ok(payload.get(at..end).unwrap_or_default().to_vec());
            }
            // GOAWAY or RST_STREAM: refused.
            7 | 3 => return Err(Failure::Reset(format!("frame type {}", head[3]))),
            _ => {}
        }
    }
}
