//! Criterion benchmarks of scim-tokens, one group `tokens`:
//!
//! - `floor`: what verification cannot avoid, SHA-256 of a token's secret plus a `subtle`
//!   constant-time comparison of two 32-byte digests;
//! - `floor_words`: the same SHA-256, compared the way `verify` compares (four 64-bit words,
//!   each with `subtle`'s constant-time `u64` equality, combined with `Choice`'s `&`);
//! - `floor_one_block`: the digest computed as `verify` computes it, then that comparison;
//! - `verify`: the whole verification of a request, from `&HeaderMap` to the verified
//!   (tenant, integration), on the in-memory store holding 10,000 integrations.
//!
//! The target is `verify` ≤ 1.5 × `floor`; `BENCHMARKS.md` records the ratio, and the
//! ratio over `floor_words`.
//!
//! Times are the benchmark thread's CPU time, not wall time (both functions measured the
//! same way): see `support/thread_cpu.rs`.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

#[path = "support/thread_cpu.rs"]
mod support;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use scim_tokens::{
    DigestKeys, ID_LEN, MemoryStore, SECRET_LEN, SecretDigest, Settings, TenantId, TokenOptions,
    TokenService,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use support::ThreadCpuTime;

const INTEGRATIONS: usize = 10_000;

fn tokens(c: &mut Criterion<ThreadCpuTime>) {
    let service = TokenService::new(MemoryStore::new(), Settings::default());
    let mut issued = Vec::with_capacity(INTEGRATIONS);
    for i in 0..INTEGRATIONS {
        // 100 tenants of 100 integrations each.
        let tenant = TenantId::new(&format!("tenant-{}", i % 100)).expect("tenant id");
        let created = service
            .create(&tenant, &format!("integration {i}"), TokenOptions::new())
            .expect("create");
        issued.push(created);
    }
    let chosen = &issued[INTEGRATIONS / 2];
    let text = chosen.token().expose_secret();
    let mut headers = HeaderMap::new();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {text}")).expect("header"),
    );
    // Warm the last-use time so the measured calls are the steady state (no write).
    let verified = service.authenticate(&headers).expect("verifies");
    assert_eq!(verified.integration(), chosen.integration().id());

    let secret = text.as_bytes()[5 + ID_LEN + 1..][..SECRET_LEN].to_vec();
    let stored: [u8; 32] = Sha256::digest(&secret).into();

    let mut group = c.benchmark_group("tokens");
    group.bench_function("floor", |b| {
        b.iter(|| {
            let digest: [u8; 32] = Sha256::digest(black_box(&secret)).into();
            bool::from(digest.ct_eq(black_box(&stored)))
        })
    });
    // The same SHA-256 computed by the function `verify` uses (for a secret of one block:
    // padded and given to the compression function directly, no hasher state or buffer),
    // then the same comparison. `verify` over this is the ratio against the cheapest way to
    // do the unavoidable work, not only against the standard hasher.
    let keys = DigestKeys::none();
    let one_block = |secret: &[u8]| keys.digest_with(None, secret).expect("plain SHA-256");
    let stored_digest = SecretDigest::from_bytes(stored);
    assert_eq!(
        one_block(&secret),
        stored_digest,
        "the one-block path is SHA-256"
    );
    group.bench_function("floor_one_block", |b| {
        b.iter(|| {
            let digest = one_block(black_box(&secret));
            bool::from(digest.ct_eq(black_box(&stored_digest)))
        })
    });
    // The floor with the comparison `verify` makes: the digests as four 64-bit
    // words, each compared with `subtle`'s constant-time `u64` equality, combined with
    // `Choice`'s `&` (`SecretDigest::ct_eq`). `floor` above keeps the definition,
    // `subtle`'s byte-slice comparison; BENCHMARKS.md gives `verify` over both.
    group.bench_function("floor_words", |b| {
        b.iter(|| {
            let digest: [u8; 32] = Sha256::digest(black_box(&secret)).into();
            bool::from(SecretDigest::from_bytes(digest).ct_eq(black_box(&stored_digest)))
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| service.authenticate(black_box(&headers)).is_ok())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = tokens
}
criterion_main!(benches);
