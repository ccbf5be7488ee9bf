//! Criterion benchmarks of scim-filter.
//!
//! - `parse/<name>`: parsing each filter of the corpus (`benches/corpus/filters.json`), strict
//!   or with the identity-provider dialects as the corpus entry says; the parsed filter is
//!   dropped inside the measured closure, so its destruction is measured too.
//! - `eval/<filter>`: one pass of `Filter::matches` over [`scim_benches::POPULATION`]
//!   (100 000) generated users; `eval/<filter>_in_cache_1k` the same over 1 000 users, which
//!   stay in cache. The throughput is set to the number of users, so criterion
//!   also prints users per second; the time per user is the pass time divided by the number
//!   of users.
//! - `eval/reference_select`, `eval/reference_rhs_select` (and `_in_cache_1k`): the same
//!   filters over the same users through the batch API `Filter::select`, which takes the
//!   users a chunk at a time and looks up the attribute the filter reads first in all of a
//!   chunk's users before evaluating them, so that their cache misses overlap; the
//!   per-call figures are `eval/reference` and `eval/reference_rhs`.
//! - `eval/floor_get_username` (and `_in_cache_1k`): not a filter but a floor, the
//!   reference filter's first comparison written by hand (`as_object`, the map's `get`,
//!   `eq_ignore_ascii_case`) over the same users.
//!
//! Before measuring, every corpus filter must parse and each evaluated filter must select
//! exactly the users a hand-written oracle selects: a benchmark of code that fails is no
//! figure.
//!
//! Times are the benchmark thread's CPU time, not wall time: see `support/thread_cpu.rs`.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

#[path = "support/thread_cpu.rs"]
mod support;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scim_benches::{
    POPULATION, REFERENCE_FILTER, REFERENCE_RHS_FILTER, corpus, reference_matches,
    reference_rhs_matches, users,
};
use support::ThreadCpuTime;

fn parse(c: &mut Criterion<ThreadCpuTime>) {
    let corpus = corpus().expect("benches/corpus/filters.json is valid");
    let mut group = c.benchmark_group("parse");
    for entry in &corpus {
        if let Err(e) = entry.parse() {
            panic!("corpus filter {} does not parse: {e}", entry.name);
        }
        group.throughput(Throughput::Bytes(entry.filter.len() as u64));
        let input = entry.filter.as_str();
        if entry.dialects {
            let parser = scim_filter::Parser::with_dialects();
            group.bench_function(&entry.name, |b| b.iter(|| parser.parse(black_box(input))));
        } else {
            group.bench_function(&entry.name, |b| {
                b.iter(|| scim_filter::parse(black_box(input)))
            });
        }
    }
    group.finish();
}

fn eval(c: &mut Criterion<ThreadCpuTime>) {
    type Oracle = fn(&serde_json::Value) -> bool;
    let cases: [(&str, &str, Oracle); 2] = [
        ("reference", REFERENCE_FILTER, reference_matches),
        ("reference_rhs", REFERENCE_RHS_FILTER, reference_rhs_matches),
    ];
    // The population of the target (100 000 users, far more than the caches hold), and a
    // small one (1 000 users, a few hundred KB) that stays in cache: the difference is the
    // cost of fetching the JSON trees from memory.
    for (suffix, size) in [("", POPULATION), ("_in_cache_1k", 1_000)] {
        let population = users(size);
        let mut group = c.benchmark_group("eval");
        group.throughput(Throughput::Elements(size as u64));
        group.sample_size(20);
        group.measurement_time(std::time::Duration::from_secs(10));
        for (name, text, oracle) in cases {
            let filter = scim_filter::parse(text).expect("the filter parses");
            let expected = population.iter().filter(|u| oracle(u)).count();
            let got = population
                .iter()
                .filter(|u| filter.matches(u).expect("evaluates"))
                .count();
            assert_eq!(got, expected, "{name}: matches disagree with the oracle");
            assert_eq!(
                filter.select(&population).map(|s| s.len()),
                Ok(expected),
                "{name}: select disagrees with the oracle"
            );
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.iter(|| {
                    let mut n = 0usize;
                    for user in &population {
                        if let Ok(true) = filter.matches(black_box(user)) {
                            n += 1;
                        }
                    }
                    n
                })
            });
            // The same filter through the batch API (`Filter::select`), which looks up the
            // attribute the filter reads first in a chunk of resources before evaluating them.
            group.bench_function(format!("{name}_select{suffix}"), |b| {
                b.iter(|| filter.select(black_box(&population)).map(|s| s.len()))
            });
        }
        // Floors, not filters: what the reference filter's first comparison costs written by
        // hand over the same users. `floor_get_username` looks the member up with the map's
        // own `get` (exact name; it compares the text of every name it passes) and compares
        // the value with `eq_ignore_ascii_case`.
        let bjensen = population.iter().filter(|u| floor_get_username(u)).count();
        assert_eq!(bjensen, 1);
        group.bench_function(format!("floor_get_username{suffix}"), |b| {
            b.iter(|| {
                population
                    .iter()
                    .filter(|u| floor_get_username(black_box(u)))
                    .count()
            })
        });
        group.finish();
    }
}

/// `userName eq "bjensen"` by hand: the map's exact `get`, then an ASCII caseless compare.
fn floor_get_username(user: &serde_json::Value) -> bool {
    user.as_object()
        .and_then(|o| o.get("userName"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|name| name.eq_ignore_ascii_case("bjensen"))
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = parse, eval
}
criterion_main!(benches);
