//! Evaluating the deepest filters the parser accepts stays within a small thread stack.

use scim_filter::{AttrSchema, AttrType, Characteristics, Filter, parse};
use serde_json::json;

/// The deepest filter `make(n)` that the default parser accepts.
fn deepest(make: impl Fn(usize) -> String) -> String {
    let mut best = None;
    for n in 1..200 {
        let text = make(n);
        if parse(&text).is_err() {
            break;
        }
        best = Some(text);
    }
    best.expect("a shallow filter parses")
}

struct Schema;

impl AttrSchema for Schema {
    fn characteristics(
        &self,
        _: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Characteristics> {
        let attr_type = match (name, sub) {
            ("emails", None) => AttrType::Complex,
            _ => AttrType::String,
        };
        Some(Characteristics {
            attr_type,
            multi_valued: name == "emails",
            case_exact: false,
        })
    }
}

fn run_on_small_stack(texts: Vec<String>) {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let user = json!({
                "userName": "bjensen",
                "emails": [{"type": "work", "value": "b@example.com"}]
            });
            for text in &texts {
                let f: Filter<'_> = parse(text).expect("parses");
                assert!(f.depth() >= 60, "{} levels only", f.depth());
                f.matches(&user).expect("evaluates");
                f.check(&Schema).expect("checks");
                f.matches_with(&user, &Schema)
                    .expect("evaluates with a schema");
            }
        })
        .expect("spawns")
        .join()
        .expect("no stack overflow");
}

#[test]
fn deepest_filters_evaluate_on_a_small_stack() {
    run_on_small_stack(vec![
        deepest(|n| {
            format!(
                r#"{}userName eq "bjensen"{}"#,
                "not (".repeat(n),
                ")".repeat(n)
            )
        }),
        deepest(|n| {
            format!(
                "{}userName pr{}",
                "userName pr and (title pr or (".repeat(n),
                "))".repeat(n)
            )
        }),
        deepest(|n| {
            format!(
                r#"emails[{}value co "@example.com"{}]"#,
                "not (".repeat(n),
                ")".repeat(n)
            )
        }),
        deepest(|n| {
            format!(
                r#"{}emails[type eq "work" and value co "@example.com"]{}"#,
                "not (".repeat(n),
                ")".repeat(n)
            )
        }),
    ]);
}
