//! The canonical printed form.

use std::borrow::Cow;

use proptest::prelude::*;
use scim_filter::{
    AttrPath, CompValue, CompareOp, Comparison, Filter, Number, Parser, Path, parse,
};

fn present(name: &str) -> Filter<'_> {
    Filter::present(AttrPath::new(name))
}

#[test]
fn canonical_spelling() {
    let f = parse("  UserName   EQ \"x\"\tAND  (Title PR   OR NOT(X Ge 1.50E2)) ").unwrap();
    assert_eq!(
        f.to_string(),
        r#"UserName eq "x" and (Title pr or not (X ge 1.50E2))"#
    );
}

#[test]
fn strings_escape_only_what_json_requires() {
    let value = CompValue::String(Cow::Borrowed(
        "quote\" backslash\\ slash/ tab\t nl\n nul\0 del\u{7f} c1\u{85} é 😀 \u{2028}",
    ));
    assert_eq!(
        value.to_string(),
        r#""quote\" backslash\\ slash/ tab\t nl\n nul\u0000 del\u007f c1\u0085 é 😀 "#.to_owned()
            + "\u{2028}\""
    );
}

#[test]
fn numbers_and_names_as_written() {
    let f = Filter::from(Comparison {
        attr: AttrPath::new("Manager")
            .with_urn("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .with_sub_attr("$Ref"),
        op: CompareOp::Le,
        value: CompValue::Number(Number::new("-0.0E-0").unwrap()),
    });
    assert_eq!(
        f.to_string(),
        "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:Manager.$Ref le -0.0E-0"
    );
    assert_eq!(parse(&f.to_string()).unwrap(), f);
}

#[test]
fn every_nested_group_is_parenthesised() {
    let f = Filter::or([
        Filter::and([present("a"), present("b")]),
        Filter::or([present("c"), present("d")]),
        Filter::not(Filter::and([present("e"), present("f")])),
        Filter::value_path(AttrPath::new("x"), Filter::or([present("g"), present("h")])),
    ]);
    let printed = f.to_string();
    assert_eq!(
        printed,
        "(a pr and b pr) or (c pr or d pr) or not (e pr and f pr) or x[g pr or h pr]"
    );
    assert_eq!(parse(&printed).unwrap(), f);
}

#[test]
fn paths() {
    let p = Path {
        attr: AttrPath::new("emails")
            .with_urn("urn:a:b")
            .with_sub_attr("value"),
        filter: Some(Filter::not(present("primary"))),
    };
    assert_eq!(p.to_string(), "urn:a:b:emails[not (primary pr)].value");
    let p = Path {
        attr: AttrPath::new("name").with_sub_attr("givenName"),
        filter: None,
    };
    assert_eq!(p.to_string(), "name.givenName");
}

#[test]
fn dialect_input_prints_as_standard_scim() {
    let f = Parser::with_dialects()
        .parse(
            r#"emails[type eq work or type eq home].value co example.com and userName eq bjensen"#,
        )
        .unwrap();
    let printed = f.to_string();
    assert_eq!(
        printed,
        r#"emails[(type eq "work" or type eq "home") and value co "example.com"] and userName eq "bjensen""#
    );
    assert_eq!(parse(&printed).unwrap(), f);
}

proptest! {
    #[test]
    fn printed_strings_are_json_strings(s in any::<String>()) {
        let printed = CompValue::String(Cow::Borrowed(&s)).to_string();
        let decoded: String = serde_json::from_str(&printed).unwrap();
        prop_assert_eq!(&decoded, &s);
        // Nothing but `"`, `\` and control characters is escaped.
        let unescaped = s.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\').count();
        prop_assert!(printed.chars().count() >= unescaped + 2);
        for c in s.chars().filter(|c| !c.is_control() && *c != '"' && *c != '\\') {
            prop_assert!(printed.contains(c));
        }
    }
}
