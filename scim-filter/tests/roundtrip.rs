//! Property tests: printing then parsing gives back the tree, for generated trees and for
//! whatever the parser accepts; and the parser never panics.

use std::borrow::Cow;

use proptest::prelude::*;
use scim_filter::{
    AttrPath, CompValue, CompareOp, Comparison, Filter, Number, Parser, Path, parse, parse_path,
};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        // Keywords are valid names too.
        1 => prop::sample::select(vec![
            "not", "NOT", "and", "or", "pr", "eq", "true", "null", "never", "organization",
            "order", "prefix", "andrew", "$ref", "$Ref",
        ])
        .prop_map(str::to_owned),
    ]
}

fn urn() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["urn", "URN", "Urn"]),
        prop::collection::vec("[a-zA-Z0-9._~-]{1,6}", 1..5),
    )
        .prop_map(|(scheme, segments)| format!("{scheme}:{}", segments.join(":")))
}

fn attr_path(sub: bool) -> impl Strategy<Value = AttrPath<'static>> {
    let sub_attr = if sub {
        prop::option::weighted(0.3, name()).boxed()
    } else {
        Just(None).boxed()
    };
    (prop::option::weighted(0.2, urn()), name(), sub_attr).prop_map(|(urn, name, sub_attr)| {
        let mut p = AttrPath::new(name);
        if let Some(urn) = urn {
            p = p.with_urn(urn);
        }
        if let Some(sub) = sub_attr {
            p = p.with_sub_attr(sub);
        }
        p
    })
}

fn number() -> impl Strategy<Value = Number<'static>> {
    "-?(0|[1-9][0-9]{0,6})(\\.[0-9]{1,4})?([eE][+-]?[0-9]{1,3})?"
        .prop_map(|s| Number::new(s).expect("generated a JSON number"))
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        // Quotes, backslashes, control characters and escapes-in-waiting.
        "[\"\\\\/\\x00-\\x1f\\x7f a-zA-Z0-9éß😀\u{2028}]{0,12}",
        "(\\\\u[0-9a-fA-F]{4}|[a-z]){0,5}",
    ]
}

fn comp_value() -> impl Strategy<Value = CompValue<'static>> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        number().prop_map(CompValue::Number),
        string().prop_map(|s| CompValue::String(Cow::Owned(s))),
    ]
}

fn leaf() -> impl Strategy<Value = Filter<'static>> {
    prop_oneof![
        attr_path(true).prop_map(Filter::present),
        (
            attr_path(true),
            prop::sample::select(CompareOp::ALL.to_vec()),
            comp_value()
        )
            .prop_map(|(attr, op, value)| Filter::from(Comparison { attr, op, value })),
    ]
}

/// Filters without value paths (what goes inside `[...]`).
fn value_filter() -> impl Strategy<Value = Filter<'static>> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::and),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::or),
            inner.prop_map(Filter::not),
        ]
    })
}

fn value_path() -> impl Strategy<Value = Filter<'static>> {
    (attr_path(false), value_filter()).prop_map(|(attr, f)| Filter::value_path(attr, f))
}

/// Any filter the parser could produce: `and`/`or` with two or more children, no value path
/// inside a value path.
fn filter() -> impl Strategy<Value = Filter<'static>> {
    prop_oneof![3 => leaf(), 1 => value_path()].prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::and),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::or),
            inner.prop_map(Filter::not),
        ]
    })
}

fn path() -> impl Strategy<Value = Path<'static>> {
    (attr_path(true), prop::option::of(value_filter()))
        .prop_map(|(attr, filter)| Path { attr, filter })
}

/// Text that is often a filter: clauses of the language with random groups, connectives,
/// case and spacing, and now and then a stray token.
fn token_soup() -> impl Strategy<Value = String> {
    let attr = prop_oneof![
        9 => prop::sample::select(vec![
            "userName", "emails", "name.givenName", "urn:a:b:c", "urn:x:2.0:User:m.v", "$ref",
            "emails[type eq \"work\"]", "x[not (a pr) or b eq 1]", "not", "ORDER",
        ]),
        1 => prop::sample::select(vec!["a.b.c", "9a", "emails[type eq \"work\"].value", "a[b[c pr]]"]),
    ];
    let op = prop_oneof![
        9 => prop::sample::select(vec![
            " pr", " PR", " eq \"x\"", " EQ \"\\u00e9\\\"\"", " ne \"\\ud83d\\ude00\"", " co 1",
            " sw -2.5e3", " ew true", " gt False", " ge null", " eq \"\"",
        ]),
        1 => prop::sample::select(vec![
            " lt bjensen", " le 'x'", " eq example.com", " eq 01", " eq", " lte 1", " pr 1",
        ]),
    ];
    let wrap = prop_oneof![
        12 => Just(("", "")),
        2 => Just(("(", ")")),
        2 => Just(("not (", ")")),
        1 => Just(("not(", ")")),
        1 => Just(("((", "))")),
        1 => prop::sample::select(vec![("(", ""), ("", ")"), ("[", "]"), ("not ", "")]),
    ];
    let join = prop_oneof![
        9 => prop::sample::select(vec![" and ", " or ", " AND ", " Or\t", "  and  "]),
        1 => prop::sample::select(vec![" ", "", " not "]),
    ];
    let clause = (wrap, attr, op).prop_map(|((o, c), a, p)| format!("{o}{a}{p}{c}"));
    prop::collection::vec((clause, join), 1..6).prop_map(|parts| {
        let n = parts.len();
        parts
            .into_iter()
            .enumerate()
            .map(|(i, (c, j))| if i + 1 < n { format!("{c}{j}") } else { c })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn printed_filters_parse_back(f in filter()) {
        let printed = f.to_string();
        let parsed = parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
        // The dialects read standard text the same way.
        let tolerant = Parser::with_dialects().parse(&printed);
        prop_assert_eq!(tolerant.as_ref(), Ok(&f));
        // (A filter is dropped before the text it borrows.)
        drop(tolerant);
        // Printing is a fixed point.
        prop_assert_eq!(parsed.map(|g| g.to_string()), Ok(printed));
    }

    #[test]
    fn printed_paths_parse_back(p in path()) {
        let printed = p.to_string();
        let parsed = parse_path(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&p), "printed: {}", printed);
    }

    #[test]
    fn parse_never_panics(input in any::<String>()) {
        for parser in [Parser::new(), Parser::with_dialects()] {
            if let Err(e) = parser.parse(&input) {
                prop_assert!(e.span().end <= input.len());
                let _ = e.to_string();
            }
            if let Err(e) = parser.parse_path(&input) {
                prop_assert!(e.span().end <= input.len());
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn whatever_parses_reparses_from_its_printed_form(input in token_soup()) {
        let reparse = Parser::new().max_len(usize::MAX);
        for parser in [Parser::new(), Parser::with_dialects()] {
            match parser.parse(&input) {
                Ok(f) => {
                    let printed = f.to_string();
                    let again = reparse.parse(&printed);
                    prop_assert_eq!(again.as_ref(), Ok(&f), "{} -> {}", input, printed);
                }
                Err(e) => {
                    prop_assert!(e.span().start <= e.span().end && e.span().end <= input.len());
                    prop_assert_eq!(e.to_string().lines().count(), 3);
                }
            }
            if let Ok(p) = parser.parse_path(&input) {
                let printed = p.to_string();
                let again = reparse.parse_path(&printed);
                prop_assert_eq!(again.as_ref(), Ok(&p), "{} -> {}", input, printed);
            }
        }
    }

    #[test]
    fn strict_is_a_subset_of_the_dialects(input in token_soup()) {
        if let Ok(f) = parse(&input) {
            prop_assert_eq!(Parser::with_dialects().parse(&input), Ok(f));
        }
    }
}

#[test]
fn token_soup_reaches_valid_filters() {
    // Guards the generator above: a fair share of its output must parse, or the
    // round-trip property would be checking errors only.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = token_soup();
    let ok = (0..2000)
        .filter(|_| {
            let input = strategy.new_tree(&mut runner).unwrap().current();
            Parser::with_dialects().parse(&input).is_ok()
        })
        .count();
    assert!(ok >= 200, "only {ok} of 2000 generated inputs parse");
}
