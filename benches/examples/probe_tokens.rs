//! Instruction-count probe of `tokens/floor` and `tokens/verify`, for callgrind (wall-clock
//! timings are noisy on shared cores; instruction counts are not):
//!
//! ```sh
//! cargo build --release -p scim-benches --example probe_tokens
//! valgrind --tool=callgrind --toggle-collect='probe_tokens::run_*' \
//!     target/release/examples/probe_tokens
//! ```
//!
//! Same setup as `benches/tokens.rs`: 10,000 integrations, a warmed last-use time. Each of
//! `run_floor` and `run_verify` runs `ITERATIONS` times; divide callgrind's inclusive counts
//! by it.
//!
//! With arguments, `probe_tokens floor|verify N` runs only that function, `N` times, for a
//! sampling profiler or a CPU-time reading of one function (`perf stat -e task-clock`,
//! `perf record`); the setup is the same, so subtract a run with `N = 0`.
//!
//! `run_verify_typical` (`probe_tokens verify_typical N`) is `verify` on a header map
//! like an identity provider's request: `Authorization` after six other fields.
//!
//! `probe_tokens threads T N` runs `N` verifications on each of `T` threads at once, on the
//! one store (for `perf stat -e task-clock`: CPU time per verification across cores).
//!
//! `probe_tokens writes` times a rename while this thread holds the store's published
//! token index (it verifies between renames), so each rename copies the index first.
//!
//! `probe_tokens pairs` times both functions in alternating 2,000-call chunks for two
//! seconds and prints the fastest and median chunk of each and the median ratio of adjacent
//! chunks: on the shared machine the speed of both moves by a quarter from one second to
//! the next, inside one process, and adjacent chunks see the same conditions.

use std::hint::black_box;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use scim_tokens::{
    ID_LEN, MemoryStore, SECRET_LEN, SecretDigest, Settings, TenantId, TokenOptions, TokenService,
};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const INTEGRATIONS: usize = 10_000;
const ITERATIONS: usize = 10_000;

#[inline(never)]
fn run_floor(secret: &[u8], stored: &[u8; 32], iterations: usize) -> usize {
    let mut ok = 0;
    for _ in 0..iterations {
        let digest: [u8; 32] = Sha256::digest(black_box(secret)).into();
        ok += usize::from(bool::from(digest.ct_eq(black_box(stored))));
    }
    ok
}

/// The floor with the comparison verification makes (`SecretDigest::ct_eq`: four 64-bit
/// words, each with `subtle`'s constant-time equality).
#[inline(never)]
fn run_floor_words(secret: &[u8], stored: &SecretDigest, iterations: usize) -> usize {
    let mut ok = 0;
    for _ in 0..iterations {
        let digest: [u8; 32] = Sha256::digest(black_box(secret)).into();
        ok += usize::from(bool::from(
            SecretDigest::from_bytes(digest).ct_eq(black_box(stored)),
        ));
    }
    ok
}

#[inline(never)]
fn run_verify(
    service: &TokenService<MemoryStore>,
    headers: &HeaderMap,
    iterations: usize,
) -> usize {
    let mut ok = 0;
    for _ in 0..iterations {
        ok += usize::from(service.authenticate(black_box(headers)).is_ok());
    }
    ok
}

/// The header map of a typical provisioning request: six other fields, then
/// `Authorization` (the one `verify` carries alone).
fn typical_headers(authorization: &HeaderValue) -> HeaderMap {
    use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("scim.example.com"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static("Okta SCIM Client 1.0.0"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/scim+json"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("412"));
    headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
    headers.insert(AUTHORIZATION, authorization.clone());
    headers
}

#[inline(never)]
fn run_verify_typical(
    service: &TokenService<MemoryStore>,
    headers: &HeaderMap,
    iterations: usize,
) -> usize {
    let mut ok = 0;
    for _ in 0..iterations {
        ok += usize::from(service.authenticate(black_box(headers)).is_ok());
    }
    ok
}

fn main() {
    let service = TokenService::new(MemoryStore::new(), Settings::default());
    let mut issued = Vec::with_capacity(INTEGRATIONS);
    for i in 0..INTEGRATIONS {
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
    assert!(service.authenticate(&headers).is_ok());
    let typical = typical_headers(&headers[AUTHORIZATION]);
    let secret = text.as_bytes()[5 + ID_LEN + 1..][..SECRET_LEN].to_vec();
    let stored: [u8; 32] = Sha256::digest(&secret).into();
    let stored_digest = SecretDigest::from_bytes(stored);
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            assert_eq!(run_floor(&secret, &stored, ITERATIONS), ITERATIONS);
            assert_eq!(
                run_floor_words(&secret, &stored_digest, ITERATIONS),
                ITERATIONS
            );
            assert_eq!(run_verify(&service, &headers, ITERATIONS), ITERATIONS);
            assert_eq!(
                run_verify_typical(&service, &typical, ITERATIONS),
                ITERATIONS
            );
        }
        [which, n] => {
            let n: usize = n.parse().expect("an iteration count");
            let ok = match which.as_str() {
                "floor" => run_floor(&secret, &stored, n),
                "floor_words" => run_floor_words(&secret, &stored_digest, n),
                "verify" => run_verify(&service, &headers, n),
                "verify_typical" => run_verify_typical(&service, &typical, n),
                other => panic!(
                    "unknown function {other:?}: floor, floor_words, verify or verify_typical"
                ),
            };
            assert_eq!(ok, n);
        }
        [mode] if mode == "pairs" => {
            // Floor and verify in alternating chunks of 2,000 calls for two seconds: the
            // fastest chunk of each, and the median of the ratios of adjacent chunks (each
            // pair measured within a few milliseconds, so under the same conditions: on the
            // shared machine the speed of both moves by a quarter from one second to the
            // next, which a ratio of separate runs mixes in).
            let chunk = |f: &mut dyn FnMut() -> usize| {
                let t = std::time::Instant::now();
                assert_eq!(f(), 2_000);
                t.elapsed().as_nanos() as f64 / 2_000.0
            };
            let (mut floors, mut verifies, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            let mut word_ratios = Vec::new();
            let start = std::time::Instant::now();
            while start.elapsed().as_secs() < 2 {
                let f = chunk(&mut || run_floor(&secret, &stored, 2_000));
                let v = chunk(&mut || run_verify(&service, &headers, 2_000));
                let w = chunk(&mut || run_floor_words(&secret, &stored_digest, 2_000));
                floors.push(f);
                verifies.push(v);
                ratios.push(v / f);
                word_ratios.push(v / w);
            }
            let median = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
            println!(
                "floor min {:.1} median {:.1} verify min {:.1} median {:.1} pair ratio median {:.3} (over floor_words {:.3}) pairs {}",
                min(&floors),
                median(&mut floors.clone()),
                min(&verifies),
                median(&mut verifies.clone()),
                median(&mut ratios),
                median(&mut word_ratios),
                ratios.len(),
            );
        }
        [mode, threads, n] if mode == "threads" => {
            // `threads` threads verifying `n` times each at once on the one store: read
            // under `perf stat -e task-clock` (less a run with `n = 0`), the CPU time per
            // verification when the store is read from several cores.
            let threads: usize = threads.parse().expect("a thread count");
            let n: usize = n.parse().expect("an iteration count");
            let t = std::time::Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| assert_eq!(run_verify(&service, &headers, n), n));
                }
            });
            println!(
                "{threads} threads x {n} verifications: {:.1} ms wall",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        [mode] if mode == "writes" => {
            // The cost of an administrative write on the in-memory store while a reader
            // holds the published token index (this thread, by verifying after each write):
            // a rename then copies the index of 10,000 tokens before changing it.
            let tenant = chosen.integration().tenant().clone();
            let id = chosen.integration().id();
            let rounds = 200;
            let mut renames = std::time::Duration::ZERO;
            for round in 0..rounds {
                assert!(service.authenticate(&headers).is_ok());
                let t = std::time::Instant::now();
                service
                    .rename(&tenant, id, &format!("renamed {round}"))
                    .expect("rename");
                renames += t.elapsed();
            }
            println!(
                "rename with a reader holding the index: {:.1} µs each over {rounds}",
                renames.as_secs_f64() * 1e6 / f64::from(rounds)
            );
        }
        _ => panic!(
            "usage: probe_tokens [floor|floor_words|verify|verify_typical ITERATIONS | pairs | writes | threads T N]"
        ),
    }
}
