//! A single comparison parses, and its AST is dropped, without touching the heap; and
//! whatever a filter owns (strings with escapes, text given to the builders) is freed when
//! it is dropped, on every path, errors included.
//!
//! A counting global allocator needs `unsafe` (implementing `GlobalAlloc` is an unsafe
//! contract, and so is forwarding to the system allocator); this file alone allows it, and
//! keeps it to the four forwarding calls below. Allocations and the bytes still allocated
//! are counted per thread, so the test harness and other tests running at the same time do
//! not disturb the count.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed by this thread (freeing another thread's memory
    /// can take it below zero).
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn live(bytes: usize, sign: i64) {
    let delta = i64::try_from(bytes).unwrap_or(i64::MAX) * sign;
    let _ = LIVE.try_with(|n| n.set(n.get() + delta));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is the system allocator's; counting touches only a const-initialised
// thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size(), 1);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        live(layout.size(), 1);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        live(new_size, 1);
        live(layout.size(), -1);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(layout.size(), -1);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations this thread makes while running `f`.
fn allocations_in<T>(f: impl FnOnce() -> T) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    drop(black_box(f()));
    ALLOCATIONS.with(Cell::get) - before
}

/// How many bytes running `f` and dropping what it returns leaves allocated on this thread.
fn leaked_by<T>(f: impl FnOnce() -> T) -> i64 {
    let before = LIVE.with(Cell::get);
    drop(black_box(f()));
    LIVE.with(Cell::get) - before
}

#[test]
fn the_counter_sees_an_allocation() {
    // Without this, a broken counter would make the zero-allocation test pass vacuously.
    assert!(allocations_in(|| black_box(String::from("bjensen"))) >= 1);
    assert!(allocations_in(|| scim_filter::parse(black_box("userName eq"))) >= 1);
}

#[test]
fn a_single_comparison_parses_and_drops_without_allocating() {
    let input = black_box(scim_benches::SINGLE_COMPARISON);
    // Warm up anything lazily initialised once per process.
    assert!(scim_filter::parse(input).is_ok());
    let n = allocations_in(|| {
        let filter = scim_filter::parse(input);
        assert!(filter.as_ref().is_ok_and(|f| f.as_compare().is_some()));
        filter
    });
    assert_eq!(n, 0, "parsing and dropping `{input}` allocated {n} times");
}

#[test]
fn with_dialects_a_single_comparison_also_does_not_allocate() {
    let input = black_box(scim_benches::SINGLE_COMPARISON);
    let parser = scim_filter::Parser::with_dialects();
    assert!(parser.parse(input).is_ok());
    let n = allocations_in(|| parser.parse(input));
    assert_eq!(n, 0, "parsing and dropping `{input}` allocated {n} times");
}

#[test]
fn the_live_count_sees_a_leak() {
    // Without this, a broken count would make the tests below pass vacuously.
    assert!(leaked_by(|| std::mem::forget(String::from("bjensen"))) >= 7);
    assert_eq!(leaked_by(|| String::from("bjensen")), 0);
}

/// Filters whose string values have escapes (so the AST owns them), read by each path of
/// the parser: a lone leaf, the quick pass, the full parser (nesting beyond the quick pass,
/// the Entra form), and errors found after an owned value was read.
const OWNING_INPUTS: &[&str] = &[
    r#"userName eq "bj\u00e9nsen""#,
    r#"title pr and userName eq "a\"b""#,
    r#"userName eq "a\nb" and (emails[type eq "w\tork" and value co "@x"] or not (title pr))"#,
    r#"emails[value eq "a\/b"]"#,
    r#"((((((((((((((((((userName eq "x\u0041y"))))))))))))))))))"#,
    r#"userName eq "a\nb" and"#,
    r#"userName eq "a\nb" and (title pr"#,
    r#"emails[type eq "w\"k"] or"#,
    r#"userName eq "a\nb" junk"#,
    r#"userName eq "a\nb" and ((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((title pr))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"#,
];

#[test]
fn parsed_filters_free_what_they_own_on_every_path() {
    let strict = scim_filter::Parser::new();
    let dialects = scim_filter::Parser::with_dialects();
    let small = scim_filter::Parser::new().max_depth(3).max_comparisons(1);
    let flat = scim_filter::Parser::new().max_depth(0);
    for input in OWNING_INPUTS {
        for parser in [&strict, &dialects, &small, &flat] {
            // Warm up anything lazily initialised once per process.
            let _ = parser.parse(input);
            let n = leaked_by(|| parser.parse(black_box(input)));
            assert_eq!(
                n, 0,
                "parsing and dropping {input:?} left {n} bytes allocated"
            );
        }
    }
    let entra = r#"emails[type eq "w\u006frk"].value eq "a\u0040b" and title pr"#;
    let _ = dialects.parse(entra);
    assert!(dialects.parse(entra).is_ok());
    assert_eq!(leaked_by(|| dialects.parse(black_box(entra))), 0);
    let path = r#"members[value eq "a\"b"].display"#;
    assert!(scim_filter::parse_path(path).is_ok());
    assert_eq!(leaked_by(|| scim_filter::parse_path(black_box(path))), 0);
}

#[test]
fn built_copied_and_detached_filters_free_what_they_own() {
    use scim_filter::{AttrPath, CompValue, CompareOp, Filter, Number};
    let owned = |s: &str| String::from(s);
    let build = || {
        let leaf = Filter::compare(
            AttrPath::new(owned("emails")).with_sub_attr(owned("value")),
            CompareOp::Co,
            CompValue::String(owned("@example.com").into()),
        );
        let number = Filter::compare(
            AttrPath::new("age"),
            CompareOp::Gt,
            CompValue::Number(Number::new(owned("42")).unwrap_or_else(|| Number::from(42_i64))),
        );
        let present = Filter::present(AttrPath::new(owned("title")));
        let inner = Filter::and([leaf.clone(), Filter::not(present.clone())]);
        let vp = Filter::value_path(AttrPath::new(owned("emails")), inner);
        Filter::or([leaf, number, vp, present])
    };
    assert_eq!(leaked_by(build), 0);
    assert_eq!(leaked_by(|| build().clone()), 0);
    assert_eq!(leaked_by(|| build().into_owned()), 0);
    assert_eq!(
        leaked_by(|| {
            let f = build();
            let subtrees: Vec<Filter<'static>> = match f.root() {
                scim_filter::Node::Or(terms) => terms.map(|t| t.to_filter()).collect(),
                _ => Vec::new(),
            };
            assert_eq!(subtrees.len(), 4);
            subtrees
        }),
        0
    );
    let input = String::from(OWNING_INPUTS[2]);
    assert_eq!(
        leaked_by(|| scim_filter::parse(&input).map(Filter::into_owned)),
        0
    );
    assert_eq!(
        leaked_by(|| {
            let parsed = scim_filter::parse(&input);
            let copy = parsed.as_ref().ok().cloned();
            (copy, parsed.map(|f| f.to_string()))
        }),
        0
    );
}
