//! Instruction-count probe of scim-filter's parse and eval on the reference filter, for
//! callgrind:
//!
//! ```sh
//! cargo build --release -p scim-benches --example probe_filter
//! valgrind --tool=callgrind --toggle-collect='probe_filter::run_*' \
//!     target/release/examples/probe_filter
//! ```
//!
//! `run_parse` parses and drops the reference filter `ITERATIONS` times; `run_eval` runs
//! `Filter::matches` over 1 000 generated users (those of `benches/src/lib.rs`), `PASSES`
//! times. Divide callgrind's inclusive counts accordingly. A probe with no argument runs
//! both; `parse`, `eval` or `corpus` (every corpus filter, parsed `ITERATIONS` times) pick;
//! `eval N` runs over N users; `select N` runs `Filter::select` instead, `floor N` the
//! hand-written floor of the bench (`eval/floor_get_username`); `text FILTER` parses and
//! drops FILTER `ITERATIONS` times (e.g. `text 'title pr'`); `dialects FILTER` does the same
//! with `Parser::with_dialects()` (`benches/probe_corpus.sh` runs every corpus filter this
//! way and prints instructions per parse-and-drop).

use std::hint::black_box;

use scim_benches::{REFERENCE_FILTER, corpus, users};

const ITERATIONS: usize = 10_000;
const PASSES: usize = 10;

#[inline(never)]
fn run_parse(input: &str) -> usize {
    let mut ok = 0;
    for _ in 0..ITERATIONS {
        ok += usize::from(scim_filter::parse(black_box(input)).is_ok());
    }
    ok
}

#[inline(never)]
fn run_parse_dialects(input: &str) -> usize {
    let dialects = scim_filter::Parser::with_dialects();
    let mut ok = 0;
    for _ in 0..ITERATIONS {
        ok += usize::from(dialects.parse(black_box(input)).is_ok());
    }
    ok
}

#[inline(never)]
fn run_corpus(inputs: &[(String, bool)]) -> usize {
    let dialects = scim_filter::Parser::with_dialects();
    let mut ok = 0;
    for _ in 0..ITERATIONS {
        for (input, with_dialects) in inputs {
            let parsed = if *with_dialects {
                dialects.parse(black_box(input))
            } else {
                scim_filter::parse(black_box(input))
            };
            ok += usize::from(parsed.is_ok());
        }
    }
    ok
}

#[inline(never)]
fn run_eval(filter: &scim_filter::Filter<'_>, population: &[serde_json::Value]) -> usize {
    let mut n = 0;
    for _ in 0..PASSES {
        for user in population {
            n += usize::from(filter.matches(black_box(user)) == Ok(true));
        }
    }
    n
}

#[inline(never)]
fn run_select(filter: &scim_filter::Filter<'_>, population: &[serde_json::Value]) -> usize {
    let mut n = 0;
    for _ in 0..PASSES {
        n += filter.select(black_box(population)).map_or(0, |s| s.len());
    }
    n
}

/// The floor of the bench (`eval/floor_get_username`): `userName eq "bjensen"` by hand.
#[inline(never)]
fn run_floor(population: &[serde_json::Value]) -> usize {
    let mut n = 0;
    for _ in 0..PASSES {
        for user in population {
            n += usize::from(
                black_box(user)
                    .as_object()
                    .and_then(|o| o.get("userName"))
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|name| name.eq_ignore_ascii_case("bjensen")),
            );
        }
    }
    n
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    if which.is_empty() || which == "parse" {
        assert_eq!(run_parse(REFERENCE_FILTER), ITERATIONS);
    }
    if which == "text" {
        let text = std::env::args().nth(2).expect("text FILTER");
        assert_eq!(run_parse(&text), ITERATIONS);
    }
    if which == "dialects" {
        let text = std::env::args().nth(2).expect("dialects FILTER");
        assert_eq!(run_parse_dialects(&text), ITERATIONS);
    }
    if which == "corpus" {
        let inputs: Vec<(String, bool)> = corpus()
            .expect("corpus")
            .into_iter()
            .map(|e| (e.filter, e.dialects))
            .collect();
        assert_eq!(run_corpus(&inputs), ITERATIONS * inputs.len());
    }
    if which.is_empty() || which == "eval" {
        // `eval N` runs over N users instead of 1 000 (for callgrind's cache simulation).
        let size = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000);
        let population = users(size);
        let filter = scim_filter::parse(REFERENCE_FILTER).expect("parses");
        assert!(run_eval(&filter, &population) >= PASSES);
    }
    if which == "select" || which == "floor" {
        // `select N` / `floor N`: the batch API, or the hand-written floor, over N users.
        let size = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000);
        let population = users(size);
        if which == "select" {
            let filter = scim_filter::parse(REFERENCE_FILTER).expect("parses");
            assert!(run_select(&filter, &population) >= PASSES);
        } else {
            assert!(run_floor(&population) >= PASSES);
        }
    }
}
