//! Side-by-side criterion benchmarks: our scim-filter against the Rust peers, on the corpus
//! shared with the main benchmarks, and scim-server's PATCH helper on three IdP operations.
//!
//! - group `parse_<filter>`: one function per parser that accepts the filter (`ours`,
//!   `scim_proto`, `scim_v2`, `scim_filter_023`); each call parses and drops the AST.
//! - group `patch_<case>`: `ours` (scim-core's `apply_patch_in_place`) and `scim_server`
//!   (`apply_patch_operation` per operation), each where it applies the case without an
//!   error; the resource is cloned outside the measured routine, in blocks of 256 fresh
//!   copies (`iter_prebuilt`, which says why).
//!
//! Times are the benchmark thread's CPU time, measured exactly as in the main benchmarks
//! (the same file, `benches/benches/support/thread_cpu.rs`).
//!
//! `cargo run --release --bin report` turns the estimates of one run into the tables of
//! BENCHMARKS.md.

#[path = "../../benches/support/thread_cpu.rs"]
mod thread_cpu;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use scim_peers::{
    OurPatch, Parser, corpus, our_patch_op, parse_ours, parse_scim_filter_023, parse_scim_proto,
    parse_scim_v2, patch_cases, patch_ours, patch_scim_server, scim_server_provider,
};
use thread_cpu::ThreadCpuTime;

fn parse(c: &mut Criterion<ThreadCpuTime>) {
    for entry in corpus() {
        assert!(
            Parser::Ours.accepts(&entry),
            "our parser rejects corpus filter {}",
            entry.name
        );
        let mut group = c.benchmark_group(format!("parse_{}", entry.name));
        let input = entry.filter.as_str();
        for parser in Parser::ALL {
            if !parser.accepts(&entry) {
                continue;
            }
            match parser {
                Parser::Ours => {
                    let dialects = entry.dialects;
                    group.bench_function(parser.id(), |b| {
                        b.iter(|| parse_ours(black_box(input), dialects))
                    })
                }
                Parser::ScimProto => group.bench_function(parser.id(), |b| {
                    b.iter(|| parse_scim_proto(black_box(input)))
                }),
                Parser::ScimV2 => group
                    .bench_function(parser.id(), |b| b.iter(|| parse_scim_v2(black_box(input)))),
                Parser::ScimFilter023 => group.bench_function(parser.id(), |b| {
                    b.iter(|| parse_scim_filter_023(black_box(input)))
                }),
            };
        }
        group.finish();
    }
}

fn patch(c: &mut Criterion<ThreadCpuTime>) {
    let provider = scim_server_provider();
    let ours = OurPatch::default();
    for case in patch_cases() {
        let mut group = c.benchmark_group(format!("patch_{}", case.name));
        // scim-server: measured only where it applies the operations without an error
        // (`cargo run --release --bin accept` says whether the result is also correct).
        let mut probe = case.resource.clone();
        if patch_scim_server(&provider, &mut probe, &case.operations).is_ok() {
            group.bench_function("scim_server", |b| {
                iter_prebuilt(b, &case.resource, |resource| {
                    patch_scim_server(&provider, resource, &case.operations).is_ok()
                })
            });
        }
        // Ours: scim-core's engine, in place (atomic), on a PatchOp decoded beforehand.
        let op = our_patch_op(&case.operations);
        let schema = ours.schema(&case.resource);
        let map = case.resource.as_object().cloned().unwrap_or_default();
        let mut probe = map.clone();
        if patch_ours(&schema, &mut probe, &op, ours.options()).is_ok() {
            group.bench_function("ours", |b| {
                iter_prebuilt(b, &map, |resource| {
                    patch_ours(&schema, resource, &op, ours.options()).is_ok()
                })
            });
        }
        group.finish();
    }
}

/// How many fresh copies of the resource each timed block patches (see [`iter_prebuilt`]).
const PREBUILT: u64 = 256;

/// Times `routine` over fresh clones of `input`: blocks of [`PREBUILT`] clones are made
/// outside the timed part, then patched one after the other inside it, and dropped outside
/// it again. The same for both sides of every PATCH case.
///
/// Why not `iter_batched`: with `BatchSize::SmallInput` a batch is a tenth of a sample's
/// iterations (tens of thousands of clones, megabytes, far out of the caches), so the cache
/// state, and the figure, changes with the sample size; `LargeInput` and `PerIteration`
/// read the thread's CPU time (a system call) once per iteration in small samples or in
/// all, which adds the same few hundred nanoseconds to both sides. 256 clones of a user
/// (about 0.5 MB) stay near the core, as a resource just read from storage does, and the
/// clock is read once per 256 patches.
fn iter_prebuilt<T: Clone>(
    b: &mut criterion::Bencher<'_, ThreadCpuTime>,
    input: &T,
    mut routine: impl FnMut(&mut T) -> bool,
) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(PREBUILT);
            left -= n;
            let mut copies: Vec<T> = (0..n).map(|_| input.clone()).collect();
            let start = cpu_time::ThreadTime::now();
            for copy in &mut copies {
                black_box(routine(black_box(copy)));
            }
            total += start.elapsed();
            drop(copies);
        }
        total
    })
}

/// The setup experiment behind [`iter_prebuilt`] (only with `PATCH_SETUP=1` in the
/// environment): the two PATCH routines of the first two cases under `iter_batched` with
/// `SmallInput`, `LargeInput` and `PerIteration`, and prebuilt blocks (`vec256`).
fn patch_setups(c: &mut Criterion<ThreadCpuTime>) {
    if std::env::var_os("PATCH_SETUP").is_none() {
        return;
    }
    let provider = scim_server_provider();
    let ours = OurPatch::default();
    for case in patch_cases().into_iter().take(2) {
        let mut group = c.benchmark_group(format!("setup_{}", case.name));
        let op = our_patch_op(&case.operations);
        let schema = ours.schema(&case.resource);
        let map = case.resource.as_object().cloned().unwrap_or_default();
        let modes = [
            ("small", Some(BatchSize::SmallInput)),
            ("large", Some(BatchSize::LargeInput)),
            ("per_iteration", Some(BatchSize::PerIteration)),
            ("vec256", None),
        ];
        for (mode, batch) in modes {
            match batch {
                Some(batch) => {
                    group.bench_function(format!("scim_server_{mode}"), |b| {
                        b.iter_batched(
                            || case.resource.clone(),
                            |mut r| {
                                let o = patch_scim_server(
                                    &provider,
                                    black_box(&mut r),
                                    &case.operations,
                                );
                                (r, o)
                            },
                            batch,
                        )
                    });
                    group.bench_function(format!("ours_{mode}"), |b| {
                        b.iter_batched(
                            || map.clone(),
                            |mut r| {
                                let o = patch_ours(&schema, black_box(&mut r), &op, ours.options());
                                (r, o)
                            },
                            batch,
                        )
                    });
                }
                None => {
                    group.bench_function(format!("scim_server_{mode}"), |b| {
                        iter_prebuilt(b, &case.resource, |r| {
                            patch_scim_server(&provider, r, &case.operations).is_ok()
                        })
                    });
                    group.bench_function(format!("ours_{mode}"), |b| {
                        iter_prebuilt(b, &map, |r| {
                            patch_ours(&schema, r, &op, ours.options()).is_ok()
                        })
                    });
                }
            }
        }
        group.finish();
    }
}

fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = parse, patch, patch_setups
}
criterion_main!(benches);
