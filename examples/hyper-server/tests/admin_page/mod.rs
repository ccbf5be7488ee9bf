//! The admin page through a server binary, over real sockets: the part shared by the hyper
//! and actix-web servers' tests (each passes its binary).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password the tests set through the environment.
pub const PASSWORD: &str = "black-box-password";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// A running server with its own database; killed on drop.
pub struct Server {
    child: Child,
    dir: PathBuf,
    /// The SCIM port.
    pub port: u16,
    /// The admin port.
    pub admin_port: u16,
    /// Its standard error up to the "serving SCIM" line and the admin line.
    pub stderr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `bin` with `--admin-bind admin_bind` (a free loopback port if `None`) and the
/// admin password `password` in the environment (none if `None`); waits for the SCIM port.
pub fn start(bin: &str, tag: &str, admin_bind: Option<&str>, password: Option<&str>) -> Server {
    let dir = std::env::temp_dir().join(format!("scim-admin-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let port = free_port();
    let admin_port = free_port();
    let admin_bind = admin_bind
        .map(str::to_owned)
        .unwrap_or_else(|| format!("127.0.0.1:{admin_port}"));
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .args(["--base-url", &format!("http://127.0.0.1:{port}/scim/v2")])
        .args(["--admin-bind", &admin_bind])
        .arg("--database")
        .arg(dir.join("scim.db"))
        .env("RUST_LOG", "info")
        .env_remove("SCIM_ADMIN_PASSWORD")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    if let Some(p) = password {
        cmd.env("SCIM_ADMIN_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
    let mut stderr = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut serving = false;
    while Instant::now() < deadline {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        stderr.push_str(&line);
        serving |= line.contains("serving SCIM");
        if serving && stderr.contains("admin page") {
            break;
        }
    }
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
        dir,
        port,
        admin_port,
        stderr,
    }
}

/// An HTTP answer.
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The header section, as text.
    pub head: String,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), or "".
    pub fn header(&self, name: &str) -> &str {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// One HTTP/1.1 request on a new connection.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n\
         Connection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status: head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the first `attr="..."` after `marker`.
fn attr_after<'h>(html: &'h str, marker: &str, attr: &str) -> &'h str {
    let rest = &html[html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"))..];
    let start = rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2;
    let end = rest[start..].find('"').expect("quote");
    &rest[start..start + end]
}

/// A logged-in admin client.
pub struct Client {
    port: u16,
    cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Client {
    /// Logs in with `password`.
    pub fn login(port: u16, password: &str) -> Client {
        let r = request(port, "GET", "/admin", &[], "");
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), "/admin/login");
        let r = request(
            port,
            "POST",
            "/admin/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            &form(&[("password", password)]),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        let set = r.header("set-cookie").to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let cookie = set.split(';').next().expect("cookie").to_owned();
        let mut c = Client {
            port,
            cookie,
            csrf: String::new(),
        };
        let list = c.get("/admin");
        assert_eq!(list.status, 200);
        c.csrf = attr_after(&list.body, "name=\"csrf\"", "value").to_owned();
        c
    }

    /// GET with the session.
    pub fn get(&self, path: &str) -> Answer {
        request(self.port, "GET", path, &[("Cookie", &self.cookie)], "")
    }

    /// POST a form with the session and its CSRF token.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        request(
            self.port,
            "POST",
            path,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &format!("http://127.0.0.1:{}", self.port)),
            ],
            &form(&all),
        )
    }
}

fn scim(port: u16, method: &str, path: &str, token: &str, body: &str) -> u16 {
    request(
        port,
        method,
        path,
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/scim+json"),
        ],
        body,
    )
    .status
}

/// The whole flow over HTTP: create, use, rotate, rename, details, delete.
pub fn walk(bin: &str, tag: &str) {
    let server = start(bin, tag, None, Some(PASSWORD));
    assert!(
        !server.stderr.contains("Admin password:"),
        "no password printed when it is set: {}",
        server.stderr
    );
    let c = Client::login(server.admin_port, PASSWORD);
    let r = c.post("/admin/new", &[("name", "Okta")]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let token = attr_after(&r.body, "id=\"token\"", "value").to_owned();
    assert!(token.starts_with("scim_"));
    let user = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"admin-walk@example.com"}"#;
    assert_eq!(
        scim(server.port, "POST", "/scim/v2/Users", &token, user),
        201
    );
    let list = c.get("/admin");
    let id = attr_after(&list.body, ">Okta</a>", "href")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned();
    let r = c.post(
        &format!("/admin/integrations/{id}/rotate"),
        &[("grace", "0")],
    );
    assert_eq!(r.status, 200);
    assert!(!r.head.contains(&token));
    let new_token = attr_after(&r.body, "id=\"token\"", "value").to_owned();
    assert_eq!(scim(server.port, "GET", "/scim/v2/Users", &token, ""), 401);
    assert_eq!(
        scim(server.port, "GET", "/scim/v2/Users", &new_token, ""),
        200
    );
    let r = c.post(
        &format!("/admin/integrations/{id}/rename"),
        &[("name", "Okta EU")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), format!("/admin/integrations/{id}"));
    let details = c.get(&format!("/admin/integrations/{id}"));
    assert!(details.body.contains("<h1>Okta EU</h1>"));
    assert!(details.body.contains(&format!(
        "value=\"http://127.0.0.1:{}/scim/v2\"",
        server.port
    )));
    assert!(!details.body.contains(&new_token));
    let r = c.post(&format!("/admin/integrations/{id}/delete"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(
        scim(server.port, "GET", "/scim/v2/Users", &new_token, ""),
        401
    );
    // CSRF and the session are checked by the server as a whole too.
    let r = request(
        server.admin_port,
        "POST",
        "/admin/new",
        &[
            ("Cookie", &c.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "name=x&csrf=wrong",
    );
    assert_eq!(r.status, 403);
    // The admin page is not on the SCIM port.
    let r = request(server.port, "GET", "/admin/login", &[], "");
    assert_eq!(r.status, 401);
    assert!(!r.body.contains("<html"));
}

/// Without the environment variable, the first start prints a generated password once.
pub fn generated_password(bin: &str, tag: &str) {
    let server = start(bin, tag, None, None);
    let password = server
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Admin password:"))
        .map(|p| p.trim().to_owned())
        .unwrap_or_else(|| panic!("a generated password: {}", server.stderr));
    assert!(password.len() >= 12);
    assert!(
        !server
            .stderr
            .lines()
            .any(|l| l.trim().starts_with("Token:") && l.contains(&password)),
        "the SCIM token banner is separate"
    );
    let r = request(
        server.admin_port,
        "POST",
        "/admin/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "password=wrong-password-1",
    );
    assert_eq!(r.status, 401);
    Client::login(server.admin_port, &password);
}

/// An admin address that cannot be bound is logged; the SCIM API is served anyway.
pub fn bind_failure_is_not_fatal(bin: &str, tag: &str) {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let server = start(bin, tag, Some(&addr), Some(PASSWORD));
    assert!(
        server.stderr.contains("admin page not served"),
        "{}",
        server.stderr
    );
    let token = server
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token:"))
        .map(|t| t.trim().to_owned())
        .expect("the first-start token");
    let r = scim(
        server.port,
        "GET",
        "/scim/v2/ServiceProviderConfig",
        &token,
        "",
    );
    assert_eq!(r, 200, "the SCIM API is served");
    drop(taken);
}

/// Plain HTTP on a non-loopback admin address is refused (logged), like `--bind`'s rule.
pub fn plain_http_off_loopback_is_refused(bin: &str, tag: &str) {
    let server = start(bin, tag, Some("0.0.0.0:0"), Some(PASSWORD));
    assert!(
        server.stderr.contains("refusing plain HTTP"),
        "{}",
        server.stderr
    );
    let token = server
        .stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token:"))
        .map(|t| t.trim().to_owned())
        .expect("the first-start token");
    assert_eq!(
        scim(
            server.port,
            "GET",
            "/scim/v2/ServiceProviderConfig",
            &token,
            ""
        ),
        200
    );
}
