//! Hostile inputs: wide chains, deep nests, and trees at the budget depth, each on a thread
//! with a small stack to show that nothing recurses on the input's depth.

use scim_filter::{Node, ParseErrorKind, Parser, parse};

/// A stack far too small for recursion per input level on a 10,000-deep input.
const SMALL_STACK: usize = 256 * 1024;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the thread panicked (stack overflow would abort instead)")
}

#[test]
fn wide_or_chain_of_100_000_terms() {
    on_small_stack(|| {
        let n = 100_000;
        let input = vec!["userName eq \"x\""; n].join(" or ");
        let p = Parser::new().max_comparisons(n).max_len(input.len());
        let f = p.parse(&input).expect("wide chain");
        let Node::Or(terms) = f.root() else {
            panic!("not an or")
        };
        assert_eq!(terms.len(), n);
        assert_eq!(f.depth(), 2);
        // Printing and dropping a wide tree is fine too.
        assert_eq!(f.to_string().len(), input.len());
        drop(f);
        // The default budgets refuse it.
        let e = parse(&input).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooLong { max: 64 * 1024 });
        let e = Parser::new()
            .max_len(input.len())
            .parse(&input)
            .unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooManyComparisons { max: 1000 });
    });
}

#[test]
fn wide_mixed_chain() {
    on_small_stack(|| {
        let n = 20_000;
        let input = (0..n)
            .map(|i| if i % 3 == 0 { "(a pr)" } else { "not (b pr)" })
            .collect::<Vec<_>>()
            .join(" and ");
        let f = Parser::new()
            .max_comparisons(n)
            .max_len(input.len())
            .parse(&input)
            .unwrap();
        let Node::And(terms) = f.root() else { panic!() };
        assert_eq!(terms.len(), n);
    });
}

#[test]
fn ten_thousand_open_parens_fail_fast() {
    on_small_stack(|| {
        for opener in ["(", "not (", "not(", "( "] {
            let input = format!("{}a pr{}", opener.repeat(10_000), ")".repeat(10_000));
            let e = parse(&input).unwrap_err();
            assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 64 }, "{opener}");
            let at = e.span().start;
            // The error is at the first group past the budget, not at the end.
            assert!(at < 64 * opener.len() + 8, "{opener}: {at}");
            // Unclosed, too.
            let e = parse(&opener.repeat(10_000)).unwrap_err();
            assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 64 });
        }
    });
}

#[test]
fn the_parser_itself_never_recurses() {
    on_small_stack(|| {
        // With the nesting budget raised far past what the stack could hold, redundant
        // parentheses parse: the parser keeps its groups on the heap.
        let n = 10_000;
        let input = format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
        let f = Parser::new().max_depth(n).parse(&input).unwrap();
        assert_eq!(f.to_string(), "a pr");
        // Deep value paths and groups inside a value path as well.
        let input = format!("x[{}a pr{}]", "(".repeat(n), ")".repeat(n));
        let f = Parser::new().max_depth(n + 1).parse(&input).unwrap();
        assert_eq!(f.to_string(), "x[a pr]");
        let p = Parser::new().max_depth(n + 1).parse_path(&input).unwrap();
        assert_eq!(p.to_string(), "x[a pr]");
    });
}

#[test]
fn tree_at_the_budget_depth_prints_reparses_and_drops() {
    on_small_stack(|| {
        // Alternating and/or groups 64 levels deep: the deepest tree the default budget allows.
        let mut input = String::from("a pr and c pr");
        for level in 1..63 {
            let op = if level % 2 == 0 { "and" } else { "or" };
            input = format!("b pr {op} ({input})");
        }
        let f = parse(&input).unwrap();
        assert_eq!(f.depth(), 64);
        let printed = f.to_string();
        assert_eq!(printed, input);
        assert_eq!(parse(&printed).unwrap(), f);
        let owned = f.clone().into_owned();
        assert_eq!(owned, f);
        drop(owned);
        drop(f);
        // One more level is refused.
        let e = parse(&format!("b pr and ({input})")).unwrap_err();
        assert_eq!(e.kind(), &ParseErrorKind::TooDeep { max: 64 });

        // `not` 63 times around a leaf.
        let nots = format!("{}a pr{}", "not (".repeat(63), ")".repeat(63));
        let f = parse(&nots).unwrap();
        assert_eq!(f.depth(), 64);
        assert_eq!(f.to_string(), nots);
        drop(f);
    });
}

#[test]
fn long_inputs_of_every_kind_are_linear() {
    // Not a timing test: these complete only if the parser is (roughly) linear, since a
    // quadratic parser would take minutes on them.
    on_small_stack(|| {
        let big = 1 << 20;
        let p = Parser::new().max_len(big * 2).max_comparisons(big);
        let string = format!("a eq \"{}\"", "\\u00e9x".repeat(big / 7));
        assert!(p.parse(&string).is_ok());
        let spaces = format!("a{}pr", " ".repeat(big));
        assert!(p.parse(&spaces).is_ok());
        let name = format!("{} pr", "a".repeat(big));
        assert!(p.parse(&name).is_ok());
        let urn = format!("urn:{}x pr", "a:".repeat(big / 2));
        assert!(p.parse(&urn).is_ok());
        let bad_tail = format!("{} and", vec!["a pr"; big / 9].join(" and "));
        assert_eq!(
            p.parse(&bad_tail).unwrap_err().kind(),
            &ParseErrorKind::UnexpectedEnd
        );
        let words = "x ".repeat(big / 2);
        assert!(
            Parser::with_dialects()
                .max_len(big * 2)
                .parse(&words)
                .is_err()
        );
    });
}
