//! Side-by-side criterion benchmarks: our scim-filter against the Rust peers, on the corpus
//! shared with the main benchmarks, and scim-server's PATCH helper on three IdP operations.
//!
//! - group `parse_<filter>`: one function per parser that accepts the filter (`ours`,
//!   `scim_proto`, `scim_v2`, `scim_filter_023`); each call parses and drops the AST.
//! - group `patch_<case>`: `ours` (scim-core's `apply_patch_in_place`) and `scim_server`
//!   (`apply_patch_operation` per operation), each where it applies the case without an
//!   error; the resource is cloned outside the measured routine.
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
                b.iter_batched(
                    || case.resource.clone(),
                    |mut resource| {
                        let outcome = patch_scim_server(
                            &provider,
                            black_box(&mut resource),
                            &case.operations,
                        );
                        (resource, outcome)
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        // Ours: scim-core's engine, in place (atomic), on a PatchOp decoded beforehand.
        let op = our_patch_op(&case.operations);
        let schema = ours.schema(&case.resource);
        let map = case.resource.as_object().cloned().unwrap_or_default();
        let mut probe = map.clone();
        if patch_ours(&schema, &mut probe, &op, ours.options()).is_ok() {
            group.bench_function("ours", |b| {
                b.iter_batched(
                    || map.clone(),
                    |mut resource| {
                        let outcome =
                            patch_ours(&schema, black_box(&mut resource), &op, ours.options());
                        (resource, outcome)
                    },
                    BatchSize::SmallInput,
                )
            });
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
    targets = parse, patch
}
criterion_main!(benches);
