//! The shape of parsed filters and paths, the dialects, the budgets and the errors.

use std::borrow::Cow;
use std::error::Error;

use scim_filter::{
    AttrPath, CompValue, CompareOp, Comparison, Expected, Filter, Node, Number, ParseErrorKind,
    Parser, Path, parse, parse_path,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn present(name: &str) -> Filter<'_> {
    Filter::present(AttrPath::new(name))
}

fn cmp<'a>(attr: AttrPath<'a>, op: CompareOp, value: CompValue<'a>) -> Filter<'a> {
    Filter::from(Comparison { attr, op, value })
}

fn eq<'a>(name: &'a str, value: &'a str) -> Filter<'a> {
    cmp(AttrPath::new(name), CompareOp::Eq, string(value))
}

fn string(s: &str) -> CompValue<'_> {
    CompValue::String(Cow::Borrowed(s))
}

fn num(s: &str) -> CompValue<'_> {
    CompValue::Number(Number::new(s).unwrap())
}

fn value_path<'a>(name: &'a str, filter: Filter<'a>) -> Filter<'a> {
    Filter::value_path(AttrPath::new(name), filter)
}

fn kind(input: &str) -> ParseErrorKind {
    *parse(input).unwrap_err().kind()
}

#[test]
fn rfc_reference_filter_shape() {
    let f = parse(
        r#"userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#,
    )
    .unwrap();
    let expected = Filter::and([
        eq("userName", "bjensen"),
        Filter::or([
            value_path(
                "emails",
                Filter::and([
                    eq("type", "work"),
                    cmp(
                        AttrPath::new("value"),
                        CompareOp::Co,
                        string("@example.com"),
                    ),
                ]),
            ),
            Filter::not(present("title")),
        ]),
    ]);
    assert_eq!(f, expected);
    assert_eq!(f.depth(), 5);
}

#[test]
fn every_operator_and_literal() {
    for op in CompareOp::ALL {
        for spelled in [op.as_str().to_owned(), op.as_str().to_ascii_uppercase()] {
            let input = format!("a {spelled} 1");
            let f = parse(&input).unwrap();
            assert_eq!(f, cmp(AttrPath::new("a"), op, num("1")));
        }
    }
    assert_eq!(
        parse("a eq TRUE").unwrap(),
        cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Bool(true))
    );
    assert_eq!(
        parse("a eq fAlSe").unwrap(),
        cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Bool(false))
    );
    assert_eq!(
        parse("a eq NULL").unwrap(),
        cmp(AttrPath::new("a"), CompareOp::Eq, CompValue::Null)
    );
    assert_eq!(
        parse("a gt -12.5E+3").unwrap(),
        cmp(AttrPath::new("a"), CompareOp::Gt, num("-12.5E+3"))
    );
    assert_eq!(kind("a eq"), ParseErrorKind::MissingValue);
}

#[test]
fn strings_without_escapes_are_borrowed() {
    let input = r#"userName eq "bjensen""#;
    let f = parse(input).unwrap();
    let Some(c) = f.as_compare() else {
        panic!("not a comparison")
    };
    let CompValue::String(Cow::Borrowed(s)) = c.value else {
        panic!("string not borrowed")
    };
    // It points into the input.
    assert_eq!(s.as_ptr(), input[13..].as_ptr());
    assert!(c.attr.is_borrowed());
    let f = parse(r#"a eq "x\ty""#).unwrap();
    let Some(c) = f.as_compare() else { panic!() };
    assert!(matches!(c.value, CompValue::String(Cow::Owned(ref s)) if s == "x\ty"));
}

#[test]
fn json_string_escapes() {
    let cases = [
        (r#""\"""#, "\""),
        (r#""\\""#, "\\"),
        (r#""\/""#, "/"),
        (r#""\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (r#""\u0000""#, "\0"),
        (r#""\u00E9\u00e9""#, "éé"),
        (r#""\uD83D\uDE00""#, "😀"),
        (r#""\uffff""#, "\u{ffff}"),
        (r#""a\u0062c""#, "abc"),
        (r#""é😀""#, "é😀"),
    ];
    for (written, value) in cases {
        let input = format!("a eq {written}");
        let f = parse(&input).unwrap();
        assert_eq!(
            f,
            cmp(AttrPath::new("a"), CompareOp::Eq, string(value)),
            "{written}"
        );
        // serde_json agrees on what the string means.
        let json: String = serde_json::from_str(written).unwrap();
        assert_eq!(json, value);
    }
    for (bad, k) in [
        (r#""\a""#, ParseErrorKind::InvalidEscape),
        (r#""\u""#, ParseErrorKind::InvalidEscape),
        (r#""\uD83D""#, ParseErrorKind::LoneSurrogate),
        (r#""\uD83Dx""#, ParseErrorKind::LoneSurrogate),
        (r#""\uDE00\uD83D""#, ParseErrorKind::LoneSurrogate),
        (r#""\uD83D\u""#, ParseErrorKind::InvalidEscape),
        ("\"\u{1f}\"", ParseErrorKind::ControlCharacter),
        ("\"\r\"", ParseErrorKind::ControlCharacter),
        (r#""abc"#, ParseErrorKind::UnterminatedString),
    ] {
        assert_eq!(kind(&format!("a eq {bad}")), k, "{bad}");
    }
}

#[test]
fn precedence_not_and_or() {
    // not > and > or.
    let f = parse("a pr or not (b pr) and c pr").unwrap();
    assert_eq!(
        f,
        Filter::or([
            present("a"),
            Filter::and([Filter::not(present("b")), present("c")]),
        ])
    );
    let f = parse("(a pr or b pr) and c pr").unwrap();
    assert_eq!(
        f,
        Filter::and([Filter::or([present("a"), present("b")]), present("c")])
    );
    // Unparenthesised chains are n-ary; parenthesised ones stay nested.
    let f = parse("a pr and b pr and c pr and d pr").unwrap();
    assert_eq!(
        f,
        Filter::and([present("a"), present("b"), present("c"), present("d")])
    );
    let f = parse("a pr and (b pr and c pr)").unwrap();
    assert_eq!(
        f,
        Filter::and([present("a"), Filter::and([present("b"), present("c")])])
    );
    assert_eq!(f.to_string(), "a pr and (b pr and c pr)");
    assert_eq!(parse("(a pr)").unwrap(), present("a"));
    assert_eq!(parse("(((a pr)))").unwrap(), present("a"));
}

#[test]
fn not_with_or_without_space() {
    let expected = Filter::not(present("a"));
    for input in ["not (a pr)", "not(a pr)", "NOT  (a pr)", "Not\t(a pr)"] {
        assert_eq!(parse(input).unwrap(), expected, "{input}");
    }
    assert_eq!(kind("not a pr"), ParseErrorKind::NotWithoutParens);
    assert_eq!(kind("not"), ParseErrorKind::NotWithoutParens);
    assert_eq!(kind("a pr and not"), ParseErrorKind::NotWithoutParens);
}

#[test]
fn keywords_are_case_insensitive_names_keep_case() {
    let f = parse(r#"UserName EQ "x" AND Title PR OR NOT (X Ne "y")"#).unwrap();
    assert_eq!(
        f.to_string(),
        r#"(UserName eq "x" and Title pr) or not (X ne "y")"#
    );
}

#[test]
fn names_that_start_with_keywords() {
    for name in [
        "never",
        "organization",
        "order",
        "prefix",
        "andrew",
        "notes",
        "eqn",
        "truename",
        "nullable",
    ] {
        let input = format!("{name} pr and {name} eq 1");
        let f = parse(&input).unwrap();
        assert_eq!(
            f,
            Filter::and([
                present(name),
                cmp(AttrPath::new(name), CompareOp::Eq, num("1"))
            ]),
            "{name}"
        );
    }
}

#[test]
fn attribute_names() {
    assert_eq!(
        parse("name.givenName pr").unwrap(),
        Filter::present(AttrPath::new("name").with_sub_attr("givenName"))
    );
    assert_eq!(
        parse("members.$ref pr").unwrap(),
        Filter::present(AttrPath::new("members").with_sub_attr("$ref"))
    );
    assert_eq!(parse("$ref pr").unwrap(), present("$ref"));
    assert_eq!(parse("a-b_c9 pr").unwrap(), present("a-b_c9"));
    assert_eq!(kind("9a pr"), ParseErrorKind::InvalidAttrName);
    assert_eq!(kind("-a pr"), ParseErrorKind::InvalidAttrName);
    assert_eq!(kind("a.b.c pr"), ParseErrorKind::TooManySubAttrs);
    assert_eq!(kind("a..b pr"), ParseErrorKind::InvalidAttrName);
    assert_eq!(kind("a.$refs pr"), ParseErrorKind::InvalidAttrName);
}

#[test]
fn urn_prefix_splits_at_last_colon() {
    let input = format!("{ENTERPRISE}:manager.value eq \"x\"");
    let f = parse(&input).unwrap();
    let Some(c) = f.as_compare() else { panic!() };
    assert_eq!(c.attr.urn(), Some(ENTERPRISE));
    assert_eq!(c.attr.name(), "manager");
    assert_eq!(c.attr.sub_attr(), Some("value"));

    // A whole schema URN parses as urn + name; full_urn gives it back.
    let input = format!("{ENTERPRISE} pr");
    let f = parse(&input).unwrap();
    let Node::Present(a) = f.root() else { panic!() };
    assert_eq!(
        a.urn(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
    );
    assert_eq!(a.name(), "User");
    assert_eq!(a.full_urn(), Some(ENTERPRISE));

    let f = parse("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName pr").unwrap();
    assert_eq!(
        f,
        Filter::present(
            AttrPath::new("name")
                .with_urn("urn:ietf:params:scim:schemas:core:2.0:User")
                .with_sub_attr("familyName")
        )
    );
    assert_eq!(kind("urn:x pr"), ParseErrorKind::InvalidUrn);
    assert_eq!(kind("urn:a::b pr"), ParseErrorKind::InvalidUrn);
    assert_eq!(kind("http:a:b pr"), ParseErrorKind::InvalidUrn);
    assert_eq!(kind("urn:a:b: pr"), ParseErrorKind::InvalidAttrName);
    assert_eq!(kind("urn:a:2b pr"), ParseErrorKind::InvalidAttrName);
}

#[test]
fn value_paths() {
    let f =
        parse(r#"emails[type eq "work" and not (value ew ".org") or primary eq true]"#).unwrap();
    assert_eq!(
        f,
        value_path(
            "emails",
            Filter::or([
                Filter::and([
                    eq("type", "work"),
                    Filter::not(cmp(AttrPath::new("value"), CompareOp::Ew, string(".org"))),
                ]),
                cmp(
                    AttrPath::new("primary"),
                    CompareOp::Eq,
                    CompValue::Bool(true)
                ),
            ])
        )
    );
    assert_eq!(
        kind(r#"emails[type[a pr]]"#),
        ParseErrorKind::NestedValuePath
    );
    assert_eq!(
        kind(r#"emails[(a pr or b[c pr])]"#),
        ParseErrorKind::NestedValuePath
    );
    assert_eq!(
        kind(r#"name.x[a pr]"#),
        ParseErrorKind::SubAttrBeforeValuePath
    );
    // Strict: nothing attribute-like after `]`.
    assert_eq!(
        kind(r#"emails[type eq "work"].value eq "x""#),
        ParseErrorKind::AfterValuePath
    );
    assert_eq!(
        kind(r#"emails[type eq "work"]x pr"#),
        ParseErrorKind::AfterValuePath
    );
}

#[test]
fn entra_value_path_dialect() {
    let p = Parser::new().entra_value_paths(true);
    let f = p
        .parse(r#"emails[type eq "work"].value eq "x@y.com""#)
        .unwrap();
    assert_eq!(
        f,
        value_path(
            "emails",
            Filter::and([eq("type", "work"), eq("value", "x@y.com")])
        )
    );
    assert_eq!(
        f.to_string(),
        r#"emails[type eq "work" and value eq "x@y.com"]"#
    );
    // Flattened into an existing top-level `and`.
    let f = p
        .parse(r#"emails[type eq "work" and primary pr].value pr"#)
        .unwrap();
    assert_eq!(
        f,
        value_path(
            "emails",
            Filter::and([eq("type", "work"), present("primary"), present("value")])
        )
    );
    // An `or` is wrapped.
    let f = p
        .parse(r#"emails[type eq "a" or type eq "b"].value eq "x""#)
        .unwrap();
    assert_eq!(
        f,
        value_path(
            "emails",
            Filter::and([
                Filter::or([eq("type", "a"), eq("type", "b")]),
                eq("value", "x")
            ])
        )
    );
    assert_eq!(
        f.to_string(),
        r#"emails[(type eq "a" or type eq "b") and value eq "x"]"#
    );
    // The Entra form is itself an operand.
    let f = p
        .parse(r#"not (emails[type eq "work"].value eq "x") and a pr"#)
        .unwrap();
    assert_eq!(
        f.to_string(),
        r#"not (emails[type eq "work" and value eq "x"]) and a pr"#
    );
    // Bare words stay off unless asked for.
    assert_eq!(
        *p.parse(r#"emails[type eq "work"].value eq x"#)
            .unwrap_err()
            .kind(),
        ParseErrorKind::BareWord
    );
    // The comparison counts against the budget.
    let small = p.max_comparisons(1);
    assert_eq!(
        *small
            .parse(r#"emails[type eq "work"].value eq "x""#)
            .unwrap_err()
            .kind(),
        ParseErrorKind::TooManyComparisons { max: 1 }
    );
}

#[test]
fn bare_word_dialect() {
    let p = Parser::new().bare_words(true);
    for (input, value) in [
        ("userName eq bjensen", string("bjensen")),
        ("externalId eq jyoung", string("jyoung")),
        (
            "id eq 54D382A4-2050-4B4F-9A5B-2F2E2D2A9B3C",
            string("54D382A4-2050-4B4F-9A5B-2F2E2D2A9B3C"),
        ),
        ("emails co example.com", string("example.com")),
        (
            "userName eq bjensen@example.com",
            string("bjensen@example.com"),
        ),
        ("a eq O'Malley", string("O'Malley")),
        ("a eq 1.5", num("1.5")),
        ("a eq 1.5.2", string("1.5.2")),
        ("a eq True", CompValue::Bool(true)),
        ("a eq nulls", string("nulls")),
        ("a eq \"quoted\"", string("quoted")),
    ] {
        let f = p.parse(input).unwrap();
        let Some(c) = f.as_compare() else { panic!() };
        assert_eq!(c.value, value, "{input}");
        assert!(
            !matches!(c.value, CompValue::String(Cow::Owned(_))),
            "{input}"
        );
    }
    let f = p.parse("(a eq x) and b eq y").unwrap();
    assert_eq!(f, Filter::and([eq("a", "x"), eq("b", "y")]));
    assert_eq!(f.to_string(), r#"a eq "x" and b eq "y""#);
    // A filter that is only a bare word is still an error, and so are single quotes.
    for bad in ["bjensen", "{{randomUsernameCaps}}", "a eq 'x'", "a eq"] {
        assert!(p.parse(bad).is_err(), "{bad}");
    }
    // Entra value paths stay off unless asked for.
    assert_eq!(
        *p.parse(r#"emails[type eq "work"].value eq x"#)
            .unwrap_err()
            .kind(),
        ParseErrorKind::AfterValuePath
    );
}

#[test]
fn dialects_are_off_by_default() {
    assert_eq!(Parser::default(), Parser::new());
    assert_eq!(
        Parser::with_dialects(),
        Parser::new().bare_words(true).entra_value_paths(true)
    );
    assert_eq!(kind("userName eq bjensen"), ParseErrorKind::BareWord);
}

#[test]
fn whitespace() {
    let expected = parse(r#"a eq "x" and b pr"#).unwrap();
    for input in [
        "a  eq   \"x\"   and    b   pr",
        "\ta\teq\t\"x\"\tand\tb\tpr\t",
        "   a eq \"x\" and b pr   ",
        "(a eq \"x\")and(b pr)",
        "( a eq \"x\" ) and ( b pr )",
    ] {
        assert_eq!(parse(input).unwrap(), expected, "{input:?}");
    }
    assert_eq!(kind("a eq \"x\"\nand b pr"), ParseErrorKind::TrailingInput);
    assert_eq!(kind("a\u{a0}pr"), ParseErrorKind::InvalidAttrName);
}

#[test]
fn paths() {
    assert_eq!(
        parse_path("members").unwrap(),
        Path {
            attr: AttrPath::new("members"),
            filter: None
        }
    );
    assert_eq!(
        parse_path("name.givenName").unwrap(),
        Path {
            attr: AttrPath::new("name").with_sub_attr("givenName"),
            filter: None
        }
    );
    assert_eq!(
        parse_path(r#"members[value eq "2819c223"]"#).unwrap(),
        Path {
            attr: AttrPath::new("members"),
            filter: Some(eq("value", "2819c223"))
        }
    );
    assert_eq!(
        parse_path(r#"emails[type eq "work"].value"#).unwrap(),
        Path {
            attr: AttrPath::new("emails").with_sub_attr("value"),
            filter: Some(eq("type", "work"))
        }
    );
    let input = format!("{ENTERPRISE}:manager");
    let p = parse_path(&input).unwrap();
    assert_eq!(p.attr, AttrPath::new("manager").with_urn(ENTERPRISE));
    assert!(p.filter.is_none());
    let p = parse_path(ENTERPRISE).unwrap();
    assert_eq!(p.attr.full_urn(), Some(ENTERPRISE));
    assert_eq!(p.to_string(), ENTERPRISE);

    let err = |input: &str| *parse_path(input).unwrap_err().kind();
    assert_eq!(err("a.b[c pr]"), ParseErrorKind::SubAttrBeforeValuePath);
    assert_eq!(err("a.b.c"), ParseErrorKind::TooManySubAttrs);
    assert_eq!(
        err(r#"emails[type eq "work"].value.x"#),
        ParseErrorKind::TooManySubAttrs
    );
    assert_eq!(err("emails[a[b pr]]"), ParseErrorKind::NestedValuePath);
    assert_eq!(err("a pr"), ParseErrorKind::TrailingInput);
    assert_eq!(err(""), ParseErrorKind::Empty);
    assert_eq!(err("emails[a pr"), ParseErrorKind::UnclosedBracket);
    assert_eq!(err("emails[(a pr]"), ParseErrorKind::UnclosedParen);
    assert_eq!(err("emails[a pr)]"), ParseErrorKind::UnclosedBracket);
    // The dialects apply to the filter of a path.
    let p = Parser::with_dialects()
        .parse_path("members[value eq 2819c223]")
        .unwrap();
    assert_eq!(p.filter, Some(eq("value", "2819c223")));
}

#[test]
fn size_budgets() {
    let long = format!("a eq \"{}\"", "x".repeat(DEFAULT_LEN));
    let e = parse(&long).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooLong { max: DEFAULT_LEN });
    assert_eq!(e.span().start, DEFAULT_LEN);
    assert!(e.kind().is_budget());
    assert!(Parser::new().max_len(DEFAULT_LEN + 10).parse(&long).is_ok());

    let many = vec!["a pr"; 1001].join(" or ");
    let e = parse(&many).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooManyComparisons { max: 1000 });
    assert_eq!(e.span(), 1000 * 8..1000 * 8 + 4);
    assert!(parse(&vec!["a pr"; 1000].join(" or ")).is_ok());
    assert!(Parser::new().max_comparisons(1001).parse(&many).is_ok());
    let e = Parser::new()
        .max_comparisons(2)
        .parse_path("a[b pr and c pr and d pr]")
        .unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooManyComparisons { max: 2 });
}

const DEFAULT_LEN: usize = scim_filter::DEFAULT_MAX_LEN;

#[test]
fn nesting_budget() {
    let nested = |n: usize| format!("{}a pr{}", "not (".repeat(n), ")".repeat(n));
    // `not` n times around a leaf is n + 1 levels.
    assert!(parse(&nested(63)).is_ok());
    let e = parse(&nested(64)).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 64 });
    assert!(e.kind().is_budget());
    assert!(Parser::new().max_depth(65).parse(&nested(64)).is_ok());

    // Redundant parentheses count too.
    let parens = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(parse(&parens(64)).unwrap(), present("a"));
    let e = parse(&parens(65)).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 64 });
    assert_eq!(e.span(), 64..65);

    // `and`/`or` levels count even without their own parentheses.
    let p = Parser::new().max_depth(2);
    assert!(p.parse("a pr and b pr").is_ok());
    assert_eq!(
        p.parse("a pr and b pr or c pr").unwrap_err().kind(),
        &ParseErrorKind::TooDeep { max: 2 }
    );
    assert_eq!(
        p.parse("x[a pr and b pr]").unwrap_err().kind(),
        &ParseErrorKind::TooDeep { max: 2 }
    );
    assert!(p.parse("x[a pr]").is_ok());
}

#[test]
fn errors_render_with_caret_and_expected() {
    let e = parse(r#"userName lte "bjensen""#).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::UnknownOperator);
    assert_eq!(e.span(), 9..12);
    assert!(e.expected().contains(Expected::COMPARE_OP));
    assert!(e.expected().contains(Expected::PRESENT));
    assert_eq!(
        e.to_string(),
        "invalid filter at byte 9: unknown operator `lte`; expected a comparison operator \
         (eq, ne, co, sw, ew, gt, lt, ge, le) or `pr`\n  userName lte \"bjensen\"\n           ^^^"
    );
    // It is a std error, Send and Sync, usable with `?` into Box<dyn Error>.
    let boxed: Box<dyn Error + Send + Sync> = Box::new(e.clone());
    assert!(boxed.source().is_none());
    let e = parse_path("a b").unwrap_err();
    assert!(e.to_string().starts_with("invalid path at byte 2"));
    let e = parse("(a pr").unwrap_err();
    assert_eq!(e.expected(), Expected::CLOSE_PAREN);
    assert!(e.to_string().ends_with("\n  (a pr\n  ^"));
    let e = parse("a pr and").unwrap_err();
    assert_eq!(e.expected(), Expected::FILTER);
    assert_eq!(e.span(), 8..8);
}

#[test]
fn long_inputs_are_shown_truncated_around_the_fault() {
    let input = format!(
        "{} and a lte 1 and {}",
        vec!["a pr"; 200].join(" and "),
        vec!["b pr"; 200].join(" and ")
    );
    let e = Parser::new().parse(&input).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::UnknownOperator);
    let shown = e.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[1].len() <= 2 + 3 + 200 + 3, "{}", lines[1].len());
    assert!(lines[1].starts_with("  ...") && lines[1].ends_with("..."));
    let caret = lines[2].find('^').unwrap();
    assert_eq!(&lines[1][caret..caret + 3], "lte");
    assert_eq!(lines[2].trim(), "^^^");
}

#[test]
fn debug_does_not_dump_the_input() {
    let e = parse(r#"password eq 'hunter2'"#).unwrap_err();
    let debug = format!("{e:?}");
    assert!(debug.contains("SingleQuote"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
