//! The admin page through its handler: access, CSRF, sessions, every action, escaping,
//! and where a token may and may not appear.

use super::*;

const PASSWORD: &str = "correct horse battery staple";
const API_URL: &str = "http://127.0.0.1:8080/scim/v2";

fn admin_with(settings: impl FnOnce(&mut AdminSettings)) -> Admin {
    let db = Arc::new(Database::open_in_memory().expect("db"));
    let tenant = TenantId::new("default").expect("tenant");
    let mut s = AdminSettings::new(API_URL, tenant);
    settings(&mut s);
    let (admin, generated) = Admin::open(db, s, Some(PASSWORD)).expect("open");
    assert!(generated.is_none());
    admin
}

fn admin() -> Admin {
    admin_with(|_| {})
}

/// A browser: keeps the cookie, remembers every URL it was sent to.
struct Browser<'a> {
    admin: &'a Admin,
    cookie: Option<String>,
    locations: Vec<String>,
    pages: Vec<String>,
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// The value of the first `attr="..."` after `marker` in `html`.
fn attr_after<'h>(html: &'h str, marker: &str, attr: &str) -> Option<&'h str> {
    let rest = &html[html.find(marker)?..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[start..].find('"')?;
    Some(&rest[start..start + end])
}

fn csrf_of(html: &str) -> String {
    attr_after(html, "name=\"csrf\"", "value")
        .expect("a csrf field")
        .to_owned()
}

fn token_of(html: &str) -> String {
    attr_after(html, "id=\"token\"", "value")
        .expect("a token field")
        .to_owned()
}

impl<'a> Browser<'a> {
    fn new(admin: &'a Admin) -> Self {
        Browser {
            admin,
            cookie: None,
            locations: Vec::new(),
            pages: Vec::new(),
        }
    }

    fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut b = http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8081");
        if let Some(c) = &self.cookie {
            b = b.header(header::COOKIE, format!("other=1; {COOKIE}={c}"));
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let (parts, ()) = b.body(()).expect("request").into_parts();
        let r = self
            .admin
            .respond(&parts, Some(Bytes::from(body.unwrap_or("").to_owned())));
        let (parts, body) = r.into_parts();
        let answer = Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec()).expect("utf-8"),
        };
        if let Some(c) = answer
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            let value = c
                .split(';')
                .next()
                .and_then(|kv| kv.split_once('='))
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default();
            self.cookie = if value.is_empty() { None } else { Some(value) };
        }
        self.locations.push(path.to_owned());
        if !answer.location().is_empty() {
            self.locations.push(answer.location().to_owned());
        }
        self.pages.push(answer.body.clone());
        answer
    }

    fn get(&mut self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[])
    }

    fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Method::POST,
            path,
            Some(&body),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
    }

    fn login(&mut self) -> String {
        let r = self.post("/admin/login", &[("password", PASSWORD)]);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/admin");
        let list = self.get("/admin");
        assert_eq!(list.status, StatusCode::OK);
        csrf_of(&list.body)
    }

    /// Creates `name`; the token page.
    fn create(&mut self, csrf: &str, name: &str) -> Answer {
        let r = self.post("/admin/new", &[("csrf", csrf), ("name", name)]);
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r
    }
}

fn integration_id(admin: &Admin, name: &str) -> IntegrationId {
    admin
        .tokens
        .list(&admin.settings.tenant)
        .expect("list")
        .into_iter()
        .find(|i| i.name() == name)
        .map(|i| i.id())
        .expect("the integration")
}

fn works(admin: &Admin, token: &str) -> bool {
    admin.tokens.verify(token.as_bytes()).is_ok()
}

#[test]
fn pages_need_a_login() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    for path in ["/admin", "/admin/new", "/admin/integrations/x"] {
        let r = b.get(path);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/admin/login");
    }
    let r = b.post("/admin/new", &[("name", "x")]);
    assert_eq!(r.location(), "/admin/login");
    assert!(
        admin
            .tokens
            .list(&admin.settings.tenant)
            .expect("list")
            .is_empty()
    );
    let r = b.get("/admin/login");
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<label for=\"password\">"));
    assert!(
        r.body
            .contains("id=\"password\" name=\"password\" type=\"password\"")
    );
    assert!(r.body.contains("<main id=\"main\""));
    assert_eq!(b.get("/").location(), "/admin");
    assert_eq!(b.get("/elsewhere").status, StatusCode::NOT_FOUND);
}

#[test]
fn login_sets_a_strict_http_only_cookie() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let r = b.post("/admin/login", &[("password", "wrong password!")]);
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header(header::SET_COOKIE).is_empty());
    assert!(r.body.contains("Wrong password."));
    let r = b.post("/admin/login", &[("password", PASSWORD)]);
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let c = r.header(header::SET_COOKIE);
    assert!(c.starts_with("scim_admin="), "{c}");
    for part in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(c.contains(part), "{c}");
    }
    assert!(!c.contains("Secure"), "no TLS: {c}");
    let old = b.cookie.clone();
    assert_eq!(
        b.get("/admin/login").location(),
        "/admin",
        "already logged in"
    );
    // A new login replaces the session (no fixation).
    b.post("/admin/login", &[("password", PASSWORD)]);
    assert_ne!(old, b.cookie);
    let mut stale = Browser::new(&admin);
    stale.cookie = old;
    assert_eq!(stale.get("/admin").location(), "/admin/login");

    let tls = admin_with(|s| s.tls = true);
    let mut b = Browser::new(&tls);
    let r = b.post("/admin/login", &[("password", PASSWORD)]);
    assert!(r.header(header::SET_COOKIE).contains("; Secure"));
}

#[test]
fn failed_logins_close_logins_for_a_while() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    for _ in 0..auth::FREE_FAILURES + 1 {
        assert_eq!(
            b.post("/admin/login", &[("password", "nope nope nope")])
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = b.post("/admin/login", &[("password", PASSWORD)]);
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right one waits"
    );
    assert!(r.body.contains("Too many failed logins"));
    assert!(b.cookie.is_none());
}

#[test]
fn forms_without_the_sessions_csrf_token_are_refused() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let mut other = Browser::new(&admin);
    let other_csrf = other.login();
    assert_ne!(csrf, other_csrf);
    for fields in [
        vec![("name", "Okta")],
        vec![("csrf", ""), ("name", "Okta")],
        vec![("csrf", &csrf[..63]), ("name", "Okta")],
        vec![("csrf", other_csrf.as_str()), ("name", "Okta")],
    ] {
        let r = b.post("/admin/new", &fields);
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{fields:?}");
    }
    assert!(
        admin
            .tokens
            .list(&admin.settings.tenant)
            .expect("list")
            .is_empty()
    );
    let r = b.post("/admin/logout", &[("csrf", "x")]);
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(b.get("/admin").status, StatusCode::OK, "still logged in");
}

#[test]
fn cross_site_posts_are_refused() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let fields = [("csrf", csrf.as_str()), ("name", "Okta")];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    for extra in [
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let r = b.send(Method::POST, "/admin/new", Some(&body), &[extra]);
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{extra:?}");
    }
    let r = b.send(
        Method::POST,
        "/admin/new",
        Some(&body),
        &[
            ("origin", "http://127.0.0.1:8081"),
            ("sec-fetch-site", "same-origin"),
        ],
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[test]
fn sessions_expire() {
    let admin = admin_with(|s| s.session_ttl = Duration::ZERO);
    let mut b = Browser::new(&admin);
    let r = b.post("/admin/login", &[("password", PASSWORD)]);
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(b.cookie.is_some());
    assert_eq!(
        b.get("/admin").location(),
        "/admin/login",
        "expired at once"
    );
}

#[test]
fn logout_ends_the_session() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let cookie = b.cookie.clone();
    let r = b.post("/admin/logout", &[("csrf", &csrf)]);
    assert_eq!(r.location(), "/admin/login");
    assert!(r.header(header::SET_COOKIE).contains("Max-Age=0"));
    let mut again = Browser::new(&admin);
    again.cookie = cookie;
    assert_eq!(again.get("/admin").location(), "/admin/login");
}

#[test]
fn create_shows_the_token_once_with_no_store() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let r = b.get("/admin");
    assert!(r.body.contains("No integrations yet."));
    assert!(
        r.body
            .contains("href=\"/admin/new\">Add and configure (SCIM)</a>")
    );
    let r = b.get("/admin/new");
    assert!(r.body.contains("<label for=\"name\">Name</label>"));
    assert!(r.body.contains("Generate token</button>"));
    let r = b.create(&csrf, "Okta");
    assert_eq!(r.header(header::CACHE_CONTROL), "no-store");
    assert!(r.location().is_empty());
    let token = token_of(&r.body);
    assert!(token.starts_with("scim_"), "{token}");
    assert!(works(&admin, &token));
    assert!(r.body.contains("it will not be shown again"));
    assert!(r.body.contains("data-copy=\"token\">Copy token</button>"));
    assert!(r.body.contains(&format!("value=\"{API_URL}\"")));
    assert!(
        r.body
            .contains("name=\"copied\" value=\"yes\" required> I have copied the token</label>")
    );
    assert!(r.body.contains("action=\"/admin/done\""));

    let r = b.post("/admin/done", &[("csrf", &csrf)]);
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "the box must be ticked");
    let r = b.post("/admin/done", &[("csrf", &csrf), ("copied", "yes")]);
    assert_eq!(r.location(), "/admin");
    let list = b.get("/admin");
    assert!(list.body.contains("role=\"status\">Done."));
    assert!(list.body.contains(">Okta</a>"));
    assert!(!list.body.contains(&token));
    assert!(
        !b.get("/admin").body.contains("role=\"status\""),
        "a notice shows once"
    );

    let r = b.post("/admin/new", &[("csrf", &csrf), ("name", "okta")]);
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("already exists"));
    assert!(
        r.body.contains("value=\"okta\""),
        "the form keeps the input"
    );
    let r = b.post("/admin/new", &[("csrf", &csrf), ("name", "  ")]);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("The integration name is empty."));
}

#[test]
fn details_show_the_api_url_and_times_never_the_token() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let token = token_of(&b.create(&csrf, "Entra ID").body);
    let id = integration_id(&admin, "Entra ID");
    let r = b.get(&format!("/admin/integrations/{id}"));
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<h1>Entra ID</h1>"));
    assert!(r.body.contains(&format!(
        "id=\"api-url\" type=\"text\" readonly value=\"{API_URL}\""
    )));
    assert!(r.body.contains("data-copy=\"api-url\""));
    assert!(r.body.contains("<dt>Created</dt><dd><time datetime="));
    assert!(
        r.body
            .contains("<dt>Last used</dt><dd><span class=\"muted\">never</span>")
    );
    assert!(!r.body.contains(&token));
    assert!(!r.body.contains("id=\"token\""));
    assert!(works(&admin, &token));
    let r = b.get(&format!("/admin/integrations/{id}"));
    assert!(r.body.contains("<dt>Last used</dt><dd><time"), "{}", r.body);
    assert_eq!(
        b.get("/admin/integrations/nope").status,
        StatusCode::NOT_FOUND
    );
    let other = IntegrationId::random().expect("id");
    assert_eq!(
        b.get(&format!("/admin/integrations/{other}")).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.get(&format!("/admin/integrations/{id}/x")).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn rename_keeps_the_token() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let token = token_of(&b.create(&csrf, "Okta").body);
    b.create(&csrf, "OneLogin");
    let id = integration_id(&admin, "Okta");
    let path = format!("/admin/integrations/{id}/rename");
    let r = b.get(&path);
    assert!(r.body.contains("<label for=\"name\">New name</label>"));
    assert!(r.body.contains("value=\"Okta\""));
    let r = b.post(&path, &[("csrf", &csrf), ("name", "Okta EU")]);
    assert_eq!(r.location(), format!("/admin/integrations/{id}"));
    let r = b.get(r.location());
    assert!(r.body.contains("<h1>Okta EU</h1>"));
    assert!(
        r.body
            .contains("Renamed &quot;Okta&quot; to &quot;Okta EU&quot;.")
    );
    assert!(works(&admin, &token));
    let r = b.post(&path, &[("csrf", &csrf), ("name", "onelogin")]);
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = b.post(&path, &[("csrf", &csrf), ("name", "a\nb")]);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(integration_id(&admin, "Okta EU"), id);
}

#[test]
fn rotate_shows_the_new_token_once_and_honours_the_grace_period() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let first = token_of(&b.create(&csrf, "Okta").body);
    let id = integration_id(&admin, "Okta");
    let path = format!("/admin/integrations/{id}/rotate");
    let r = b.get(&path);
    for (secs, label) in GRACE_CHOICES {
        assert!(r.body.contains(&format!("value=\"{secs}\"")), "{secs}");
        assert!(r.body.contains(label));
    }
    assert!(
        r.body
            .contains("<legend>When should the current token stop working?</legend>")
    );

    let r = b.post(&path, &[("csrf", &csrf), ("grace", "3600")]);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header(header::CACHE_CONTROL), "no-store");
    let second = token_of(&r.body);
    assert!(r.body.contains("keeps working for 1 hour"));
    assert!(works(&admin, &first) && works(&admin, &second), "grace");
    let details = b.get(&format!("/admin/integrations/{id}"));
    assert!(
        details
            .body
            .contains("<dt>Previous token</dt><dd>works until")
    );

    let r = b.post(&path, &[("csrf", &csrf), ("grace", "0")]);
    let third = token_of(&r.body);
    assert!(r.body.contains("The previous token no longer works."));
    assert!(r.body.contains("I have copied the token"));
    assert!(!works(&admin, &second) && !works(&admin, &first));
    assert!(works(&admin, &third));

    for bad in ["5", "", "-1", "3600s"] {
        let r = b.post(&path, &[("csrf", &csrf), ("grace", bad)]);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    assert!(works(&admin, &third), "a refused rotation changes nothing");
}

#[test]
fn delete_asks_first_then_ends_every_token() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let token = token_of(&b.create(&csrf, "Okta").body);
    let id = integration_id(&admin, "Okta");
    let path = format!("/admin/integrations/{id}/delete");
    let r = b.get(&path);
    assert!(r.body.contains("<h1>Delete Okta?</h1>"));
    assert!(r.body.contains("Delete integration</button>"));
    assert!(
        works(&admin, &token),
        "the confirmation page deletes nothing"
    );
    let r = b.post(&path, &[("csrf", &csrf)]);
    assert_eq!(r.location(), "/admin");
    assert!(!works(&admin, &token));
    let list = b.get("/admin");
    assert!(list.body.contains("Deleted &quot;Okta&quot;"));
    assert_eq!(
        b.post(&path, &[("csrf", &csrf)]).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn names_are_escaped_everywhere() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let evil = "<script>alert('x')</script>\"&";
    let r = b.create(&csrf, evil);
    let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;";
    assert!(r.body.contains(escaped));
    let id = integration_id(&admin, evil);
    for path in [
        "/admin".to_owned(),
        format!("/admin/integrations/{id}"),
        format!("/admin/integrations/{id}/rename"),
        format!("/admin/integrations/{id}/rotate"),
        format!("/admin/integrations/{id}/delete"),
    ] {
        let r = b.get(&path);
        assert!(!r.body.contains("<script>alert"), "{path}");
        assert!(r.body.contains(escaped), "{path}");
    }
    let r = b.post("/admin/new", &[("csrf", &csrf), ("name", evil)]);
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!r.body.contains("<script>alert"));
}

#[test]
fn tokens_never_reach_a_url() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    let mut tokens = vec![token_of(&b.create(&csrf, "Okta").body)];
    let id = integration_id(&admin, "Okta");
    b.post("/admin/done", &[("csrf", &csrf), ("copied", "yes")]);
    for grace in ["0", "86400", "604800"] {
        let r = b.post(
            &format!("/admin/integrations/{id}/rotate"),
            &[("csrf", &csrf), ("grace", grace)],
        );
        tokens.push(token_of(&r.body));
    }
    b.post(
        &format!("/admin/integrations/{id}/rename"),
        &[("csrf", &csrf), ("name", "x")],
    );
    b.get(&format!("/admin/integrations/{id}"));
    b.post(
        &format!("/admin/integrations/{id}/delete"),
        &[("csrf", &csrf)],
    );
    b.get("/admin");
    assert!(b.locations.len() > 10);
    for t in &tokens {
        assert!(!b.locations.iter().any(|l| l.contains(t.as_str())));
        // Only the answer of the POST that generated it holds a token.
        assert_eq!(b.pages.iter().filter(|p| p.contains(t.as_str())).count(), 1);
        for p in &b.pages {
            for attr in ["href=\"", "action=\""] {
                for part in p.split(attr).skip(1) {
                    let url = part.split('"').next().unwrap_or("");
                    assert!(!url.contains(t.as_str()) && !url.contains("scim_"), "{url}");
                }
            }
        }
    }
}

#[test]
fn every_page_is_no_store_and_framed_safely() {
    let admin = admin();
    let mut b = Browser::new(&admin);
    let csrf = b.login();
    b.create(&csrf, "Okta");
    let id = integration_id(&admin, "Okta");
    let login = Browser::new(&admin).get("/admin/login");
    assert_eq!(login.header(header::CACHE_CONTROL), "no-store");
    for path in [
        "/admin".to_owned(),
        "/admin/new".to_owned(),
        format!("/admin/integrations/{id}"),
        format!("/admin/integrations/{id}/rotate"),
    ] {
        let r = b.get(&path);
        assert_eq!(r.header(header::CACHE_CONTROL), "no-store", "{path}");
        assert_eq!(r.header(header::X_FRAME_OPTIONS), "DENY");
        assert!(
            r.header(header::CONTENT_SECURITY_POLICY)
                .contains("frame-ancestors 'none'")
        );
        assert!(r.header(header::CONTENT_TYPE).starts_with("text/html"));
    }
    let css = b.get("/admin/admin.css");
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header(header::CONTENT_TYPE).starts_with("text/css"));
    assert!(css.body.contains("@media (max-width"));
    assert!(css.body.contains(":focus-visible"));
    let js = b.get("/admin/admin.js");
    assert!(
        js.header(header::CONTENT_TYPE)
            .starts_with("text/javascript")
    );
    assert!(js.body.contains("data-copy"));
    let r = b.send(Method::PUT, "/admin", None, &[]);
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn oversized_forms_are_refused() {
    let admin = admin();
    let (parts, ()) = http::Request::builder()
        .method(Method::POST)
        .uri("/admin/login")
        .header(header::CONTENT_LENGTH, (MAX_BODY_BYTES + 1).to_string())
        .body(())
        .expect("request")
        .into_parts();
    assert!(admin.too_large(&parts));
    let r = admin.respond(&parts, None);
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn debug_output_holds_no_secret() {
    let admin = admin();
    let d = format!("{admin:?}");
    assert!(!d.contains("argon2"), "{d}");
    assert!(d.contains("api_url"));
}
