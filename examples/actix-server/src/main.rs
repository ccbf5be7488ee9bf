//! A SCIM 2.0 server on actix-web 4 and embedded SQLite. Everything but the glue between
//! actix-web and [`App`] lives in `scim-example-support`; run with `--help` for the
//! command line.
//!
//! actix-web 4 is built on `http` 0.2 and the SCIM service on `http` 1: the adapter copies
//! the method, URI and every header field byte for byte (repeated fields stay repeated, so
//! two `Authorization` fields still reach the token check), and the response likewise.

#![forbid(unsafe_code)]

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpServer, web};
use scim_example_support::admin::Admin;
use scim_example_support::{App, Start, start};

// mimalloc: 8 to 10% less CPU per request than the C library's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The request line and header fields in `http` 1 types; `None` if one does not convert.
fn parts(req: &HttpRequest) -> Option<http::request::Parts> {
    let method = http::Method::from_bytes(req.method().as_str().as_bytes()).ok()?;
    let uri = http::Uri::try_from(req.uri().to_string()).ok()?;
    let (mut parts, ()) = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .ok()?
        .into_parts();
    for (name, value) in req.headers().iter() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value.as_bytes()).ok()?;
        parts.headers.append(name, value);
    }
    Some(parts)
}

/// The body up to `limit`: `Ok(None)` past it (a 413 from the handler), `Err` if unreadable.
async fn body(
    payload: web::Payload,
    too_large: bool,
    limit: usize,
) -> Result<Option<web::Bytes>, HttpResponse> {
    if too_large {
        return Ok(None);
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(b)) => Ok(Some(b)),
        Ok(Err(_)) => Err(HttpResponse::BadRequest().finish()),
        Err(_) => Ok(None),
    }
}

/// An `http` 1 response as actix-web's.
fn convert(response: http::Response<web::Bytes>) -> HttpResponse {
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in response.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(response.into_body())
}

/// Every path: read the body up to the limit and answer through [`App`].
async fn scim(req: HttpRequest, payload: web::Payload, app: web::Data<App>) -> HttpResponse {
    let Some(parts) = parts(&req) else {
        return HttpResponse::BadRequest().finish();
    };
    match body(payload, app.too_large(&parts), app.max_body_bytes()).await {
        Ok(b) => convert(app.respond(parts, b).await),
        Err(r) => r,
    }
}

/// Every path of the admin listener: the admin page.
async fn admin_page(
    req: HttpRequest,
    payload: web::Payload,
    admin: web::Data<Admin>,
) -> HttpResponse {
    let Some(parts) = parts(&req) else {
        return HttpResponse::BadRequest().finish();
    };
    match body(payload, admin.too_large(&parts), admin.max_body_bytes()).await {
        Ok(b) => convert(admin.respond(&parts, b)),
        Err(r) => r,
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let server = match start() {
        Start::Serve(s) => s,
        Start::Exit(code) => std::process::exit(code),
    };
    let listeners = server.bind();
    // The admin page on its own listener (a failure to bind was logged, never fatal).
    if let (Some(admin), Some(listener)) = (server.admin, listeners.admin) {
        let admin = web::Data::from(admin);
        let http = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(admin.clone())
                .default_service(web::to(admin_page))
        })
        .workers(1)
        .disable_signals();
        let http = match &server.tls {
            Some(tls) => http.listen_rustls_0_23(listener, (**tls).clone()),
            None => http.listen(listener),
        };
        match http {
            Ok(h) => drop(actix_web::rt::spawn(h.run())),
            Err(e) => tracing::error!("admin page not served: {e}"),
        }
    }
    let app = web::Data::from(server.app);
    let timeout = server.args.request_timeout;
    // actix-web stops gracefully on Ctrl-C and SIGTERM, finishing in-flight requests.
    let http = HttpServer::new(move || {
        actix_web::App::new()
            .app_data(app.clone())
            .default_service(web::to(scim))
    })
    .client_request_timeout(timeout);
    let result = match server.tls {
        Some(tls) => http.listen_rustls_0_23(listeners.scim, (*tls).clone()),
        None => http.listen(listeners.scim),
    }?
    .run()
    .await;
    scim_example_support::logging::flush();
    result
}
