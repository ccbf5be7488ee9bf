//! Criterion benchmarks of scim-filter: parse over the corpus and eval over generated users.
//! Placeholder until the scim-filter benchmarks land.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

use criterion::{Criterion, criterion_group, criterion_main};

fn parse(c: &mut Criterion) {
    c.bench_function("parse/placeholder", |b| {
        b.iter(|| scim_filter::parse(std::hint::black_box("userName eq \"bjensen\"")))
    });
}

criterion_group!(benches, parse);
criterion_main!(benches);
