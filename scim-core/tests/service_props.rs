//! Property tests: whatever the request, the service answers (never panics) with a
//! success or a SCIM error; integer parameters follow the parse-then-clamp rules.

mod service_support;

use proptest::prelude::*;
use serde_json::Value;
use service_support::*;

fn is_scim_error(body: &[u8], status: u16) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| {
        v["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error"
            && v["status"].as_str() == Some(status.to_string().as_str())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn count_is_parsed_then_clamped(n in any::<i64>(), plus in any::<bool>()) {
        let svc = service();
        for i in 0..3 {
            create_user(&svc, &format!("u{i}"));
        }
        let text = if plus && n >= 0 { format!("%2B{n}") } else { n.to_string() };
        let page = json(&call(&svc, "GET", &format!("/Users?count={text}"), None));
        let want = n.clamp(0, 3) as u64;
        prop_assert_eq!(page["itemsPerPage"].as_u64(), Some(want));
        prop_assert_eq!(page["totalResults"].as_u64(), Some(3));
        let page = json(&call(&svc, "GET", &format!("/Users?startIndex={text}"), None));
        prop_assert_eq!(page["startIndex"].as_u64(), Some(n.max(1) as u64));
    }

    #[test]
    fn non_integers_are_invalid_values(s in "[^0-9+&#%-][ -~]{0,12}") {
        let svc = service();
        let q: String = form_encode(&s);
        let r = call(&svc, "GET", &format!("/Users?count={q}"), None);
        prop_assert_eq!(r.status().as_u16(), 400);
        prop_assert!(is_scim_error(r.body(), 400));
    }

    #[test]
    fn any_body_any_method_is_answered(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]),
        path in prop::sample::select(vec!["/Users", "/Groups", "/Users/x", "/Groups/x", "/Bulk", "/.search", "/Users/.search", "/Schemas", "/Me", "/nope"]),
        body in prop::collection::vec(any::<u8>(), 0..200),
        json_body in any::<bool>(),
    ) {
        let svc = service();
        let bytes = if json_body {
            // Mostly-JSON bodies reach deeper.
            let mut b = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"#.to_vec();
            b.extend_from_slice(&body);
            b
        } else {
            body
        };
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{BASE}{path}"))
            .body(bytes)
            .expect("request");
        let r = send(&svc, req);
        let status = r.status().as_u16();
        if status >= 400 {
            prop_assert!(is_scim_error(r.body(), status), "{}", String::from_utf8_lossy(r.body()));
            prop_assert!(status < 500 || status == 501, "{status}");
        }
    }

    #[test]
    fn any_filter_is_answered(filter in "[ -~]{0,60}") {
        let svc = service();
        create_user(&svc, "someone");
        let r = call(&svc, "GET", &format!("/Users?filter={}", form_encode(&filter)), None);
        let status = r.status().as_u16();
        prop_assert!(status == 200 || status == 400, "{status}");
        if status == 400 {
            prop_assert!(is_scim_error(r.body(), 400));
        }
    }
}

/// Percent-encodes every byte that is not alphanumeric.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
