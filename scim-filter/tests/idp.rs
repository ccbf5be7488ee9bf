//! Real identity-provider traffic (`shared/idp/requests.json`, beside the repository): every
//! `filter=` query parameter parses with the dialects on (except the ones the provider
//! expects a 400 for, which must still be rejected), and every PATCH path parses.
//!
//! The file is found at `$CARGO_MANIFEST_DIR/../../shared/idp/requests.json` (or one level
//! further up, for a git worktree), or at the path in the `SCIM_IDP_REQUESTS` environment
//! variable. Without it the tests fail: they must not pass vacuously.

use scim_filter::{Parser, parse};
use serde_json::Value;

fn requests() -> Vec<Value> {
    // In a clone, `shared/` sits beside the repository; in a git worktree kept one level
    // deeper (`worktrees/<name>/`), beside its parent.
    let candidates: Vec<String> = match std::env::var("SCIM_IDP_REQUESTS") {
        Ok(path) => vec![path],
        Err(_) => vec![
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/idp/requests.json"
            )
            .to_owned(),
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/idp/requests.json"
            )
            .to_owned(),
        ],
    };
    let Some(text) = candidates
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
    else {
        panic!(
            "cannot read the identity-provider captures (tried {candidates:?}). They live in \
             `shared/idp/requests.json` beside the repository clone; set SCIM_IDP_REQUESTS \
             to their path if they are elsewhere."
        )
    };
    let json: Value = serde_json::from_str(&text).expect("requests.json is JSON");
    json.as_array().expect("requests.json is an array").clone()
}

/// Decodes a query-string value: `+` is a space and `%XX` a byte; a `%` not followed by
/// two hex digits stays as it is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit() =>
            {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).expect("decoded filter is UTF-8")
}

/// The decoded `filter` query parameter of a request target, if any.
fn filter_param(path_and_query: &str) -> Option<String> {
    let (_, query) = path_and_query.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "filter")
        .map(|(_, v)| percent_decode(v))
}

#[test]
fn decoder() {
    assert_eq!(percent_decode("a+b%20c%22%zz%2"), "a b c\"%zz%2");
    assert_eq!(
        filter_param("/Users?filter=userName+eq+%22x%22&count=1").as_deref(),
        Some("userName eq \"x\"")
    );
    assert_eq!(filter_param("/Users?count=1"), None);
}

#[test]
fn captured_filters_parse_with_dialects() {
    let tolerant = Parser::with_dialects();
    let (mut accepted, mut rejected) = (0, 0);
    for r in requests() {
        let Some(pq) = r["path_and_query"].as_str() else {
            continue;
        };
        let Some(filter) = filter_param(pq) else {
            continue;
        };
        let expect = r["expect"].as_str().unwrap_or_default();
        let result = tolerant.parse(&filter);
        if expect.trim_start().starts_with("400") {
            assert!(
                result.is_err(),
                "{filter:?} must be rejected ({expect}) but parsed as {:?}",
                result.map(|f| f.to_string())
            );
            rejected += 1;
        } else {
            let f = result.unwrap_or_else(|e| panic!("{pq}: {e}\n(expected: {expect})"));
            // What we print is standard SCIM that the strict parser reads back.
            let printed = f.to_string();
            assert_eq!(parse(&printed).as_ref(), Ok(&f), "{printed}");
            accepted += 1;
        }
    }
    assert!(accepted >= 5, "only {accepted} filters found");
    assert!(rejected >= 1, "no rejected filter found");
}

#[test]
fn captured_filter_normalisations() {
    let tolerant = Parser::with_dialects();
    let by_query: Vec<String> = requests()
        .iter()
        .filter_map(|r| filter_param(r["path_and_query"].as_str()?))
        .collect();
    let printed = |needle: &str| {
        let filter = by_query
            .iter()
            .find(|f| f.contains(needle))
            .unwrap_or_else(|| panic!("no captured filter contains {needle:?}"));
        tolerant.parse(filter).unwrap().to_string()
    };
    assert_eq!(printed("akadmin"), r#"userName eq "akadmin""#);
    assert_eq!(printed("Test SCIMv2"), r#"displayName eq "Test SCIMv2""#);
    assert_eq!(
        printed("54D382A4"),
        r#"id eq "54D382A4-2050-4C03-94D1-E769F1D15682" and manager eq "2819c223-7f76-453a-919d-413861904646""#
    );
    assert_eq!(
        printed("FamilyName"),
        r#"name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")"#
    );
}

#[test]
fn captured_patch_paths_parse() {
    let tolerant = Parser::with_dialects();
    let mut paths = 0;
    for r in requests() {
        let Some(ops) = r["body"]["Operations"].as_array() else {
            continue;
        };
        for op in ops {
            match op.get("path").and_then(Value::as_str) {
                Some(path) => {
                    let p = tolerant
                        .parse_path(path)
                        .unwrap_or_else(|e| panic!("{path}: {e}"));
                    assert_eq!(p.to_string(), path);
                    paths += 1;
                }
                // A no-path operation's value keys are attribute paths too.
                None => {
                    for key in op["value"].as_object().into_iter().flat_map(|o| o.keys()) {
                        let p = tolerant
                            .parse_path(key)
                            .unwrap_or_else(|e| panic!("{key}: {e}"));
                        assert_eq!(p.to_string(), *key);
                        paths += 1;
                    }
                }
            }
        }
    }
    assert!(paths >= 20, "only {paths} paths found");
}
