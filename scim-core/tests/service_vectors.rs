//! Data-driven list-query cases (tests/vectors/service_list_queries.json).

mod service_support;

use serde_json::{Value, json};
use service_support::*;

#[test]
fn list_query_vectors() {
    let text = include_str!("vectors/service_list_queries.json");
    let doc: Value = serde_json::from_str(text).expect("vectors");
    let svc = service();
    for name in ["carol", "Alice", "bob", "Dave", "eve"] {
        let mut user =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
        match name {
            "bob" => user["title"] = json!("a"),
            "carol" => user["title"] = json!("b"),
            _ => {}
        }
        assert_eq!(call(&svc, "POST", "/Users", Some(user)).status(), 201);
    }
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 30);
    for case in cases {
        let q = case["query"].as_str().expect("query");
        let req = http::Request::get(format!("{BASE}/Users?{q}"))
            .body(Vec::new())
            .expect("request");
        let r = send(&svc, req);
        let status = case["status"].as_u64().expect("status") as u16;
        if status != 200 {
            assert_error(&r, status, case["scimType"].as_str());
            continue;
        }
        let body = json(&r);
        assert_eq!(r.status(), 200, "{q}: {body}");
        for key in ["startIndex", "itemsPerPage", "totalResults"] {
            assert!(body[key].is_u64(), "{q}: {key} is an integer");
            assert_eq!(body[key], case[key], "{q}: {key} ({})", case["note"]);
        }
        if let Some(names) = case.get("userNames") {
            let got: Vec<Value> = body["Resources"]
                .as_array()
                .expect("Resources")
                .iter()
                .map(|u| u["userName"].clone())
                .collect();
            assert_eq!(&Value::Array(got), names, "{q} ({})", case["note"]);
        }
    }
}
