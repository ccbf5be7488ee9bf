//! Hostile input against the running `hyper-server` binary (issue 7): authentication,
//! bodies, filters, list parameters, PATCH and bulk requests that are malformed, oversized
//! or adversarial. Each probe gets the answer RFC 7644 defines (a SCIM error for what is
//! invalid, a 401 always with `WWW-Authenticate`, the RFC's reading of what is merely
//! unusual, a deliberate answer for what is valid but huge); never a 5xx, a hang, a reset
//! connection or a dead server: after every probe the server must answer a normal request.
//!
//! The server runs at `RUST_LOG=trace` for the whole suite; at the end its standard error
//! and every answer body are searched for the tokens, their secrets and their stored
//! digests.

mod common;

use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use common::{ERROR, Failure, PATCH, Reply, USER, admin, exchange, read_reply, temp_dir};
use serde_json::{Value, json};

type Check = Box<dyn Fn(&Reply) -> Result<(), String>>;

/// Exactly this status.
fn status(code: u16) -> Check {
    Box::new(move |r| {
        if r.status == code {
            Ok(())
        } else {
            Err(format!("expected {code}"))
        }
    })
}

/// This status and this `scimType`.
fn scim(code: u16, scim_type: &'static str) -> Check {
    Box::new(move |r| {
        let t = r.json()["scimType"].as_str().unwrap_or("").to_owned();
        if r.status == code && t == scim_type {
            Ok(())
        } else {
            Err(format!("expected {code} {scim_type}"))
        }
    })
}

/// 401 with a `WWW-Authenticate: Bearer` challenge.
fn unauthorized() -> Check {
    Box::new(|r| {
        let challenge = r.header("www-authenticate").unwrap_or("");
        if r.status == 401 && challenge.starts_with("Bearer") {
            Ok(())
        } else {
            Err("expected 401 with a Bearer WWW-Authenticate challenge".into())
        }
    })
}

/// 400 `invalid_request` with its challenge (RFC 6750 §3.1: more than one way of sending
/// credentials).
fn invalid_request() -> Check {
    Box::new(|r| {
        let challenge = r.header("www-authenticate").unwrap_or("");
        if r.status == 400
            && challenge.starts_with("Bearer")
            && challenge.contains("invalid_request")
        {
            Ok(())
        } else {
            Err("expected 400 with a Bearer error=\"invalid_request\" challenge".into())
        }
    })
}

/// A list response whose fields satisfy `f`.
fn list(f: impl Fn(&Value) -> Result<(), String> + 'static) -> Check {
    Box::new(move |r| {
        if r.status != 200 {
            return Err("expected 200".into());
        }
        f(&r.json())
    })
}

struct Suite {
    port: u16,
    token: String,
    passed: usize,
    failures: Vec<String>,
    /// Every answer body, searched for secrets at the end.
    bodies: Vec<u8>,
}

impl Suite {
    /// One probe: the raw request, the expected answer. Checks the general rules (no 5xx,
    /// SCIM errors, 401 with a challenge) and that the server still answers afterwards.
    fn probe(&mut self, name: &str, bytes: &[u8], check: Check) {
        let outcome = exchange(self.port, bytes);
        self.judge(name, outcome, &check);
    }

    fn judge(&mut self, name: &str, outcome: Result<Reply, Failure>, check: &Check) {
        let verdict = match &outcome {
            Err(f) => Err(format!("transport failure {f:?}")),
            Ok(r) => {
                self.bodies.extend_from_slice(&r.body);
                self.bodies.push(b'\n');
                general_rules(r).and_then(|()| check(r))
            }
        };
        let verdict = verdict.and_then(|()| self.healthy());
        match verdict {
            Ok(()) => self.passed += 1,
            Err(e) => {
                let got = outcome.map_or_else(
                    |f| format!("{f:?}"),
                    |r| {
                        let t = r.text();
                        format!("{} {}", r.status, &t[..t.len().min(300)])
                    },
                );
                self.failures.push(format!("{name}: {e}; got {got}"));
            }
        }
    }

    /// A normal request still succeeds.
    fn healthy(&self) -> Result<(), String> {
        match common::http(
            self.port,
            "GET",
            "/scim/v2/ServiceProviderConfig",
            &self.token,
            "",
        ) {
            Ok(r) if r.status == 200 => Ok(()),
            Ok(r) => Err(format!("afterwards a normal request got {}", r.status)),
            Err(f) => Err(format!("afterwards a normal request failed: {f:?}")),
        }
    }

    /// A request with the valid token.
    fn req(&self, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
        request_bytes(method, path, &self.auth(), "application/scim+json", body)
    }

    fn auth(&self) -> String {
        format!("Authorization: Bearer {}\r\n", self.token)
    }
}

/// Rules every answer obeys: no 5xx; an error is a SCIM error whose `status` is the
/// response's (except 414 and 431, which hyper answers itself, empty, before the request
/// reaches the server's code); a 401 carries `WWW-Authenticate`.
fn general_rules(r: &Reply) -> Result<(), String> {
    if r.status >= 500 {
        return Err("a 5xx".into());
    }
    if (r.status == 414 || r.status == 431) && r.body.is_empty() {
        return Ok(());
    }
    if r.status >= 400 {
        let v = r.json();
        let is_scim = v["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|u| u == ERROR))
            && v["status"].as_str() == Some(r.status.to_string().as_str());
        if !is_scim {
            return Err("an error that is not a SCIM error".into());
        }
    }
    if r.status == 401 && r.header("www-authenticate").is_none() {
        return Err("a 401 without WWW-Authenticate".into());
    }
    Ok(())
}

fn request_bytes(method: &str, path: &str, auth: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut b = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    b.extend_from_slice(body);
    b
}

/// Percent-encodes a query parameter value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn user(extra: Value) -> Vec<u8> {
    let mut v = json!({"schemas": [USER], "userName": "probe@example.com"});
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    serde_json::to_vec(&v).expect("json")
}

fn patch_body(ops: &str) -> Vec<u8> {
    format!(r#"{{"schemas":["{PATCH}"],"Operations":[{ops}]}}"#).into_bytes()
}

/// Sends the head of a 50 MB body and then the body itself on another thread; the answer
/// must come (413) while most of the body is still unsent, and the rest must be refused.
fn fifty_megabytes(suite: &mut Suite, chunked: bool) {
    const SIZE: usize = 50 * 1024 * 1024;
    let head = if chunked {
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/scim+json\r\n\
             Transfer-Encoding: chunked\r\n\r\n",
            suite.auth()
        )
    } else {
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\n{}Content-Type: application/scim+json\r\n\
             Content-Length: {SIZE}\r\n\r\n",
            suite.auth()
        )
    };
    let name = if chunked {
        "50 MB chunked body"
    } else {
        "50 MB body"
    };
    let outcome = (|| {
        let mut s = TcpStream::connect(("127.0.0.1", suite.port)).map_err(Failure::Connect)?;
        s.write_all(head.as_bytes())
            .map_err(|e| Failure::Reset(e.to_string()))?;
        let mut w = s.try_clone().map_err(Failure::Connect)?;
        w.set_write_timeout(Some(Duration::from_secs(30)))
            .map_err(Failure::Connect)?;
        let writer = std::thread::spawn(move || {
            let piece = vec![b' '; 256 * 1024];
            let mut sent = 0usize;
            while sent < SIZE {
                let ok = if chunked {
                    w.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                        .and_then(|()| w.write_all(&piece))
                        .and_then(|()| w.write_all(b"\r\n"))
                } else {
                    w.write_all(&piece)
                };
                if ok.is_err() {
                    break;
                }
                sent += piece.len();
            }
            sent
        });
        let r = read_reply(&mut s);
        let _ = s.shutdown(Shutdown::Both);
        let sent = writer.join().unwrap_or(SIZE);
        match r {
            Ok(r) if sent >= SIZE => Err(Failure::Reset(format!(
                "the server read the whole body before answering {}",
                r.status
            ))),
            other => other,
        }
    })();
    suite.judge(name, outcome, &scim_or(413));
}

/// This status (a SCIM error, checked by the general rules).
fn scim_or(code: u16) -> Check {
    status(code)
}

/// The secrets and digests that must never be shown: each token, its secret part, and the
/// digests the database stores.
fn secrets(db: &std::path::Path, tokens: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens {
        out.push((*t).to_owned());
        // `<prefix>_<id>_<secret><checksum>`: the part after the second underscore.
        if let Some(secret) = t.splitn(3, '_').nth(2) {
            out.push(secret.to_owned());
            out.push(secret[..secret.len().min(24)].to_owned());
        }
    }
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut s = conn.prepare("SELECT data FROM integrations").expect("sql");
    let rows: Vec<String> = s
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .filter_map(Result::ok)
        .collect();
    for data in rows {
        // Every 64-hex-digit string of a record is a digest.
        let bytes = data.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let run = bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if run == 64 {
                out.push(data[i..i + 64].to_owned());
                out.push(data[i..i + 16].to_owned());
            }
            i += run.max(1);
        }
    }
    assert!(
        out.iter().any(|s| s.len() == 64 && !s.contains('_')),
        "found the stored digests"
    );
    out
}

#[test]
fn hostile_requests_get_the_rfc_answers() {
    let dir = temp_dir("hostile");
    let db = dir.join("scim.db");
    let mut server = common::serve_with(&db, "trace", &[]);
    let token = server.banner_token();
    assert!(token.starts_with("scim_"), "{}", server.stderr);
    // A token of the right shape (checksum and all) that this database does not know.
    let other_db = dir.join("other.db");
    let (ok, out, err) = admin(&other_db, &["integrations", "create", "elsewhere"]);
    assert!(ok, "{err}");
    let foreign = out.trim().to_owned();
    // The right token with one character of its secret changed (checksum no longer fits).
    let mut typo = token.clone().into_bytes();
    let at = typo.len() - 10;
    typo[at] = if typo[at] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");

    let mut s = Suite {
        port: server.port,
        token: token.clone(),
        passed: 0,
        failures: Vec::new(),
        bodies: Vec::new(),
    };
    let port = s.port;
    let ok_user = common::create_user(port, &token, "target@example.com");
    let user_path = format!("/scim/v2/Users/{ok_user}");

    // ---- Authentication ----
    let users =
        |auth: &str| request_bytes("GET", "/scim/v2/Users", auth, "application/scim+json", b"");
    s.probe("no Authorization", &users(""), unauthorized());
    s.probe(
        "Basic credentials",
        &users("Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n"),
        unauthorized(),
    );
    s.probe(
        "empty Bearer",
        &users("Authorization: Bearer \r\n"),
        unauthorized(),
    );
    s.probe(
        "Bearer without a space",
        &users("Authorization: Bearer\r\n"),
        unauthorized(),
    );
    s.probe(
        "wrong token of the right shape",
        &users(&format!("Authorization: Bearer {foreign}\r\n")),
        unauthorized(),
    );
    s.probe(
        "right token with a typo",
        &users(&format!("Authorization: Bearer {typo}\r\n")),
        unauthorized(),
    );
    s.probe(
        "right token plus a character",
        &users(&format!("Authorization: Bearer {token}x\r\n")),
        unauthorized(),
    );
    s.probe(
        "right token as a prefix of a longer one",
        &users(&format!("Authorization: Bearer {token}{token}\r\n")),
        unauthorized(),
    );
    s.probe(
        "two Authorization headers (both the right token)",
        &users(&format!(
            "Authorization: Bearer {token}\r\nAuthorization: Bearer {token}\r\n"
        )),
        invalid_request(),
    );
    s.probe(
        "two Authorization headers (right and wrong)",
        &users(&format!(
            "Authorization: Bearer {token}\r\nAuthorization: Bearer {foreign}\r\n"
        )),
        invalid_request(),
    );
    s.probe(
        "a 100 KB Authorization header",
        &users(&format!(
            "Authorization: Bearer {}\r\n",
            "A".repeat(100 * 1024)
        )),
        unauthorized(),
    );
    s.probe(
        "a 100 KB header beside the right token",
        &users(&format!(
            "Authorization: Bearer {token}\r\nX-Padding: {}\r\n",
            "A".repeat(100 * 1024)
        )),
        status(200),
    );
    s.probe(
        "token in the query string only",
        &request_bytes(
            "GET",
            &format!("/scim/v2/Users?access_token={token}"),
            "",
            "application/scim+json",
            b"",
        ),
        unauthorized(),
    );
    s.probe(
        "no token on a write with a body",
        &request_bytes(
            "POST",
            "/scim/v2/Users",
            "",
            "application/scim+json",
            &user(json!({})),
        ),
        unauthorized(),
    );
    s.probe(
        "scheme in lower case (RFC 7235: case-insensitive)",
        &users(&format!("Authorization: bearer {token}\r\n")),
        status(200),
    );

    // HTTP/2 (cleartext, prior knowledge): the same answers, and its frame and HPACK
    // tracing must not show the token either.
    for (name, auth, ok) in [
        (
            "HTTP/2 with the right token",
            format!("Bearer {token}"),
            true,
        ),
        (
            "HTTP/2 with the right token plus a character",
            format!("Bearer {token}x"),
            false,
        ),
        (
            "HTTP/2 with Basic credentials",
            "Basic dXNlcjpwYXNz".to_owned(),
            false,
        ),
    ] {
        let outcome = common::h2_get(port, "/scim/v2/Users", &[("authorization", &auth)]);
        let verdict = match outcome {
            // 0x88 is the HPACK static entry `:status: 200`.
            Ok(block) if (block.first() == Some(&0x88)) == ok => s.healthy(),
            Ok(block) => Err(format!(
                "header block {:02x?}",
                &block[..block.len().min(8)]
            )),
            Err(f) => Err(format!("{f:?}")),
        };
        match verdict {
            Ok(()) => s.passed += 1,
            Err(e) => s.failures.push(format!("{name}: {e}")),
        }
    }

    // ---- Bodies ----
    let post = |s: &Suite, body: &[u8]| s.req("POST", "/scim/v2/Users", body);
    s.probe(
        "invalid JSON",
        &post(&s, br#"{"schemas":"#),
        scim(400, "invalidSyntax"),
    );
    s.probe(
        "invalid UTF-8",
        &post(
            &s,
            b"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"\xff\xfe\"}",
        ),
        scim(400, "invalidSyntax"),
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    s.probe(
        "JSON nested 100,000 levels (arrays)",
        &post(&s, deep.as_bytes()),
        scim(400, "invalidSyntax"),
    );
    let deep = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
    s.probe(
        "JSON nested 100,000 levels (objects)",
        &post(&s, deep.as_bytes()),
        scim(400, "invalidSyntax"),
    );
    fifty_megabytes(&mut s, false);
    fifty_megabytes(&mut s, true);
    s.probe(
        "userName is a number",
        &post(&s, &user(json!({"userName": 5}))),
        scim(400, "invalidValue"),
    );
    s.probe(
        "emails is a string",
        &post(&s, &user(json!({"emails": "x"}))),
        scim(400, "invalidValue"),
    );
    s.probe(
        "active is \"maybe\"",
        &post(&s, &user(json!({"active": "maybe"}))),
        scim(400, "invalidValue"),
    );
    s.probe(
        "no userName",
        &post(
            &s,
            format!(r#"{{"schemas":["{USER}"],"displayName":"x"}}"#).as_bytes(),
        ),
        scim(400, "invalidValue"),
    );
    s.probe(
        "no schemas",
        &post(&s, br#"{"userName":"noschemas@example.com"}"#),
        scim(400, "invalidSyntax"),
    );
    s.probe(
        "duplicate keys",
        &post(
            &s,
            format!(r#"{{"schemas":["{USER}"],"userName":"first@example.com","userName":"second@example.com"}}"#)
                .as_bytes(),
        ),
        scim(400, "invalidSyntax"),
    );
    s.probe(
        "a 1 MB string",
        &post(
            &s,
            &user(json!({"userName": "big@example.com", "displayName": "x".repeat(1_000_000)})),
        ),
        status(201),
    );
    let emails: Vec<Value> = (0..10_000)
        .map(|i| json!({"value": format!("e{i}@example.com"), "type": "work"}))
        .collect();
    s.probe(
        "10,000 emails",
        &post(
            &s,
            &user(json!({"userName": "many@example.com", "emails": emails})),
        ),
        status(201),
    );
    s.probe(
        "1e400",
        &post(
            &s,
            format!(r#"{{"schemas":["{USER}"],"userName":"n@example.com","x":1e400}}"#).as_bytes(),
        ),
        scim(400, "invalidValue"),
    );
    s.probe("empty body", &post(&s, b""), scim(400, "invalidSyntax"));
    s.probe("a JSON array", &post(&s, b"[]"), scim(400, "invalidSyntax"));
    s.probe("JSON null", &post(&s, b"null"), scim(400, "invalidSyntax"));
    s.probe(
        "text/plain body",
        &request_bytes(
            "POST",
            "/scim/v2/Users",
            &s.auth(),
            "text/plain",
            &user(json!({})),
        ),
        status(415),
    );
    s.probe(
        "PUT to an id that does not exist",
        &s.req("PUT", "/scim/v2/Users/nope", &user(json!({}))),
        status(404),
    );

    // ---- Filters and list parameters ----
    let get = |s: &Suite, query: &str| s.req("GET", &format!("/scim/v2/Users?{query}"), b"");
    let filter = |s: &Suite, f: &str| get(s, &format!("filter={}", enc(f)));
    let nested = format!(
        "{}userName eq \"a\"{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    s.probe(
        "10,000 nested parentheses",
        &filter(&s, &nested),
        scim(400, "invalidFilter"),
    );
    // Too long for a URI once percent-encoded: sent in a SearchRequest.
    let nots = format!(
        "{}userName eq \"a\"{}",
        "not (".repeat(10_000),
        ")".repeat(10_000)
    );
    let search = serde_json::to_vec(&json!({ "filter": nots })).expect("json");
    s.probe(
        "10,000 nested nots",
        &s.req("POST", "/scim/v2/Users/.search", &search),
        scim(400, "invalidFilter"),
    );
    // As many `a eq 1 or` terms as a URI of about 64 KB holds (spaces as `+`).
    let terms = vec!["a+eq+1"; 6500].join("+or+");
    s.probe(
        "a 6,500-term or-chain in a ~64 KB GET",
        &get(&s, &format!("filter={terms}")),
        scim(400, "invalidFilter"),
    );
    let chain = vec!["a eq 1"; 100_000].join(" or ");
    let search = serde_json::to_vec(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": chain,
    }))
    .expect("json");
    s.probe(
        "a 100,000-term or-chain in POST /.search",
        &s.req("POST", "/scim/v2/.search", &search),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "a 100,000-term or-chain in POST /Users/.search",
        &s.req("POST", "/scim/v2/Users/.search", &search),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "unterminated string",
        &filter(&s, r#"userName eq "abc"#),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "bad escape",
        &filter(&s, r#"userName eq "a\qb""#),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "unknown operator",
        &filter(&s, r#"userName xx "a""#),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "unknown attribute",
        &filter(&s, r#"noSuchAttribute eq "a""#),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "empty parentheses",
        &filter(&s, "()"),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "a lone `and`",
        &filter(&s, "and"),
        scim(400, "invalidFilter"),
    );
    s.probe(
        "count=-1",
        &get(&s, "count=-1"),
        list(|v| {
            let none = v
                .get("Resources")
                .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty));
            if none && v["itemsPerPage"] == 0 && v["totalResults"].as_u64() >= Some(1) {
                Ok(())
            } else {
                Err("expected no Resources, itemsPerPage 0, the total".into())
            }
        }),
    );
    s.probe(
        "count=1e9",
        &get(&s, "count=1e9"),
        scim(400, "invalidValue"),
    );
    s.probe(
        "count=1000000000",
        &get(&s, "count=1000000000"),
        list(|v| match v["itemsPerPage"].as_u64() {
            Some(n) if n <= 1000 && n == v["totalResults"].as_u64().unwrap_or(0).min(1000) => {
                Ok(())
            }
            _ => Err("expected itemsPerPage capped at maxResults".into()),
        }),
    );
    s.probe(
        "count beyond 64 bits",
        &get(&s, "count=99999999999999999999999999"),
        status(200),
    );
    s.probe(
        "startIndex=0",
        &get(&s, "startIndex=0"),
        list(|v| {
            if v["startIndex"] == 1 {
                Ok(())
            } else {
                Err("expected startIndex 1".into())
            }
        }),
    );
    s.probe(
        "startIndex=-5",
        &get(&s, "startIndex=-5"),
        list(|v| {
            if v["startIndex"] == 1 {
                Ok(())
            } else {
                Err("expected startIndex 1".into())
            }
        }),
    );
    s.probe(
        "startIndex=abc",
        &get(&s, "startIndex=abc"),
        scim(400, "invalidValue"),
    );
    s.probe(
        "startIndex beyond the results",
        &get(&s, "startIndex=99999999999999999999"),
        list(|v| {
            if v["itemsPerPage"] == 0 {
                Ok(())
            } else {
                Err("expected an empty page".into())
            }
        }),
    );
    s.probe(
        "unknown sortBy",
        &get(&s, "sortBy=noSuchAttribute"),
        status(200),
    );
    s.probe(
        "sortBy that is no path",
        &get(&s, "sortBy=%5B%5D"),
        scim(400, "invalidValue"),
    );
    s.probe(
        "sortOrder=sideways",
        &get(&s, "sortOrder=sideways"),
        scim(400, "invalidValue"),
    );
    s.probe(
        "search count -1 and startIndex 0 in a body",
        &s.req(
            "POST",
            "/scim/v2/Users/.search",
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":-1,"startIndex":0}"#,
        ),
        list(|v| {
            if v["startIndex"] == 1 && v["itemsPerPage"] == 0 {
                Ok(())
            } else {
                Err("expected startIndex 1, no Resources".into())
            }
        }),
    );
    s.probe(
        "search count as a string",
        &s.req(
            "POST",
            "/scim/v2/.search",
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":"ten"}"#,
        ),
        status(400),
    );
    let attrs = vec!["name.givenName"; 1000].join(",");
    s.probe(
        "1,000 attributes",
        &get(&s, &format!("attributes={attrs}")),
        status(200),
    );
    let attrs = vec!["title"; 1001].join(",");
    s.probe(
        "1,001 attributes",
        &get(&s, &format!("attributes={attrs}")),
        scim(400, "invalidValue"),
    );

    // ---- PATCH ----
    let patch = |s: &Suite, ops: &str| s.req("PATCH", &user_path, &patch_body(ops));
    s.probe(
        "empty Operations",
        &patch(&s, ""),
        scim(400, "invalidValue"),
    );
    s.probe(
        "no Operations",
        &s.req(
            "PATCH",
            &user_path,
            format!(r#"{{"schemas":["{PATCH}"]}}"#).as_bytes(),
        ),
        scim(400, "invalidValue"),
    );
    let many = vec![r#"{"op":"add","path":"title","value":"x"}"#; 100_000].join(",");
    s.probe("100,000 operations", &patch(&s, &many), status(413));
    let many = vec![r#"{"op":"add","path":"title","value":"x"}"#; 1001].join(",");
    s.probe(
        "1,001 operations (over the limit)",
        &patch(&s, &many),
        scim(400, "invalidValue"),
    );
    let many = vec![r#"{"op":"add","path":"title","value":"x"}"#; 1000].join(",");
    s.probe(
        "1,000 operations (at the limit)",
        &patch(&s, &many),
        status(200),
    );
    for (name, path) in [
        ("invalid path `name..givenName`", "name..givenName"),
        ("invalid path `emails[type eq`", "emails[type eq"),
        ("invalid path `]`", "]"),
        (
            "invalid path with a bad filter",
            r#"emails[type xx \"work\"].value"#,
        ),
    ] {
        s.probe(
            name,
            &patch(
                &s,
                &format!(r#"{{"op":"replace","path":"{path}","value":"x"}}"#),
            ),
            scim(400, "invalidPath"),
        );
    }
    for (name, path) in [
        ("readOnly target `id`", "id"),
        ("readOnly target `meta.created`", "meta.created"),
        ("readOnly target `groups`", "groups"),
    ] {
        s.probe(
            name,
            &patch(
                &s,
                &format!(r#"{{"op":"replace","path":"{path}","value":"x"}}"#),
            ),
            scim(400, "mutability"),
        );
    }
    s.probe(
        "unknown op",
        &patch(&s, r#"{"op":"frobnicate","path":"title","value":"x"}"#),
        scim(400, "invalidSyntax"),
    );
    s.probe(
        "op is a number",
        &patch(&s, r#"{"op":5,"path":"title","value":"x"}"#),
        scim(400, "invalidSyntax"),
    );
    s.probe(
        "replace active with \"maybe\"",
        &patch(&s, r#"{"op":"replace","path":"active","value":"maybe"}"#),
        scim(400, "invalidValue"),
    );
    s.probe(
        "remove without a path",
        &patch(&s, r#"{"op":"remove"}"#),
        scim(400, "noTarget"),
    );

    // ---- Bulk, routing, methods ----
    let ops: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/x{i}")}))
        .collect();
    let bulk = serde_json::to_vec(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": ops,
    }))
    .expect("json");
    s.probe(
        "bulk over maxOperations",
        &s.req("POST", "/scim/v2/Bulk", &bulk),
        status(413),
    );
    let cycle = serde_json::to_vec(&json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "a",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "A", "members": [{"value": "bulkId:b"}]}},
            {"method": "POST", "path": "/Groups", "bulkId": "b",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "B", "members": [{"value": "bulkId:a"}]}},
        ],
    }))
    .expect("json");
    s.probe(
        "bulk with a bulkId cycle",
        &s.req("POST", "/scim/v2/Bulk", &cycle),
        status(200),
    );
    s.probe(
        "unknown endpoint",
        &s.req("GET", "/scim/v2/Nope", b""),
        status(404),
    );
    s.probe(
        "DELETE on a collection",
        &s.req("DELETE", "/scim/v2/Users", b""),
        status(405),
    );
    s.probe(
        "dot segments",
        &s.req("GET", "/scim/v2/Users/../../../etc/passwd", b""),
        status(404),
    );
    s.probe(
        "a 60 KB id",
        &s.req(
            "GET",
            &format!("/scim/v2/Users/{}", "a".repeat(60_000)),
            b"",
        ),
        status(404),
    );

    let mut log = server.kill();
    // The first-start banner shows the first token once, by design: take that line out
    // (it must be there exactly once), then nothing may show a secret.
    let banner = format!("Token:        {token}");
    assert_eq!(
        log.matches(&banner).count(),
        1,
        "the banner shows the token once"
    );
    log = log.replacen(&banner, "Token: (banner)", 1);
    let all = [token.as_str(), foreign.as_str(), typo.as_str()];
    let mut leaks = Vec::new();
    for secret in secrets(&db, &all)
        .iter()
        .chain(secrets(&other_db, &[]).iter())
    {
        for line in log.lines().filter(|l| l.contains(secret.as_str())) {
            leaks.push(format!("log line shows a secret: {line}"));
        }
        if String::from_utf8_lossy(&s.bodies).contains(secret.as_str()) {
            leaks.push("an answer body shows a secret".to_owned());
        }
    }
    assert!(
        log.lines().count() > s.passed,
        "the trace log was captured ({} lines)",
        log.lines().count()
    );
    eprintln!(
        "hostile probes: {} passed, {} failed; {} log lines at trace level searched",
        s.passed,
        s.failures.len(),
        log.lines().count()
    );
    assert!(
        s.failures.is_empty() && leaks.is_empty(),
        "{}\n{}",
        s.failures.join("\n"),
        leaks.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limits_are_options_and_advertised() {
    let dir = temp_dir("limits");
    let db = dir.join("scim.db");
    let server = common::serve_with(
        &db,
        "info",
        &[
            "--max-body-bytes",
            "4000",
            "--max-results",
            "120",
            "--max-patch-operations",
            "2",
            "--max-filter-length",
            "60",
            "--max-filter-depth",
            "2",
            "--max-filter-comparisons",
            "3",
            "--bulk-max-operations",
            "4",
            "--bulk-max-payload-size",
            "9000",
            "--max-json-depth",
            "5",
        ],
    );
    let token = server.banner_token();
    let port = server.port;
    let (st, spc) = common::request(port, "GET", "/scim/v2/ServiceProviderConfig", &token, "");
    assert_eq!(st, 200);
    let spc: Value = serde_json::from_str(&spc).expect("json");
    assert_eq!(spc["filter"]["maxResults"], 120);
    assert_eq!(spc["bulk"]["maxOperations"], 4);
    assert_eq!(spc["bulk"]["maxPayloadSize"], 9000);

    let body = |extra: &str| format!(r#"{{"schemas":["{USER}"],"userName":"u","x":{extra}}}"#);
    let (st, _) = common::request(
        port,
        "POST",
        "/scim/v2/Users",
        &token,
        &body(&format!("\"{}\"", "a".repeat(5000))),
    );
    assert_eq!(st, 413, "body over --max-body-bytes");
    let (st, r) = common::request(
        port,
        "POST",
        "/scim/v2/Users",
        &token,
        &body("[[[[[[1]]]]]]"),
    );
    assert_eq!(st, 400, "nesting over --max-json-depth: {r}");
    let id = common::create_user(port, &token, "limits@example.com");
    let op = r#"{"op":"add","path":"title","value":"x"}"#;
    let (st, _) = common::request(
        port,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        &token,
        &String::from_utf8(patch_body(&[op; 3].join(","))).expect("utf8"),
    );
    assert_eq!(st, 400, "over --max-patch-operations");
    for (why, f) in [
        ("length", format!("userName eq \"{}\"", "a".repeat(60))),
        ("depth", "(((userName pr)))".to_owned()),
        ("comparisons", "a pr or b pr or c pr or d pr".to_owned()),
    ] {
        let (st, r) = common::request(
            port,
            "GET",
            &format!("/scim/v2/Users?filter={}", enc(&f)),
            &token,
            "",
        );
        assert_eq!(st, 400, "over the filter {why} limit: {r}");
        assert!(r.contains("invalidFilter"), "{r}");
    }
    let ops: Vec<Value> = (0..5)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/x{i}")}))
        .collect();
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let (st, _) = common::request(port, "POST", "/scim/v2/Bulk", &token, &bulk.to_string());
    assert_eq!(st, 413, "over --bulk-max-operations");
    let (st, _) = common::request(port, "GET", "/scim/v2/Users?count=1000000", &token, "");
    assert_eq!(st, 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slow_clients_are_cut_off() {
    let dir = temp_dir("slow");
    let db = dir.join("scim.db");
    let server = common::serve_with(&db, "info", &["--request-timeout", "2s"]);
    let token = server.banner_token();
    let port = server.port;
    let started = std::time::Instant::now();
    // Headers that never end: the connection is closed after the timeout.
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = [0u8; 256];
    let n = std::io::Read::read(&mut s, &mut buf);
    assert!(
        n.is_ok() || matches!(&n, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "closed, not left hanging: {n:?}"
    );
    // A body that stops short of its Content-Length: 408.
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"schemas\":"
    );
    s.write_all(head.as_bytes()).expect("write");
    let r = read_reply(&mut s).expect("an answer");
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(general_rules(&r).is_ok());
    assert!(started.elapsed() < Duration::from_secs(20));
    let (st, _) = common::request(port, "GET", "/scim/v2/Users", &token, "");
    assert_eq!(st, 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
