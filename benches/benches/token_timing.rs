//! Does verifying a wrong token take the same time whether it shares a long prefix with the
//! valid one or nothing? (issue 7, "Timing".)
//!
//! Four tokens of the right shape (prefix, id, checksum all valid) are verified against a
//! store of 1,000 integrations:
//!
//! - `valid`: the integration's token (reference);
//! - `prefix`: the same token with only the last character of its secret changed, so
//!   everything but one character matches;
//! - `nothing`: the same id with a secret that differs from the valid one in every
//!   character;
//! - `unknown_id`: an id no record has (the dummy-digest path).
//!
//! Two measurements: criterion's (the thread's CPU time per verification, as the other
//! benches measure, one group `token_timing`: each function is measured in its own run, so
//! a change of the machine's load between runs shows as a difference), then a dudect-style
//! leak test on wall time, what a client sees: `prefix` and `nothing` measured in randomly interleaved
//! batches, the slowest 10% of each class cropped (interrupts, preemption), and Welch's t
//! statistic of the two classes printed. |t| < 4.5 is the customary "no evidence of a
//! difference"; a leak of even a few nanoseconds reaches |t| in the tens or hundreds at
//! these sample sizes. Run: `cargo bench -p scim-benches --bench token_timing`.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

#[path = "support/thread_cpu.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_tokens::{
    ID_LEN, MemoryStore, SECRET_LEN, Settings, TenantId, TokenOptions, TokenService,
};
use support::ThreadCpuTime;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32 (IEEE, reflected), as the token checksum uses.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// `body` (everything before the checksum) with its six-digit base62 checksum appended.
fn with_checksum(body: &[u8]) -> Vec<u8> {
    let mut n = crc32(body);
    let mut sum = [0u8; 6];
    for slot in sum.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    let mut out = body.to_vec();
    out.extend_from_slice(&sum);
    out
}

/// A base62 digit other than `d`, `k` steps along the alphabet.
fn other_digit(d: u8, k: usize) -> u8 {
    let i = ALPHABET.iter().position(|&a| a == d).unwrap_or(0);
    ALPHABET[(i + 1 + k % 61) % 62]
}

struct Tokens {
    valid: Vec<u8>,
    prefix: Vec<u8>,
    nothing: Vec<u8>,
    unknown_id: Vec<u8>,
}

fn setup() -> (TokenService<MemoryStore>, Tokens) {
    let service = TokenService::new(MemoryStore::new(), Settings::default());
    let tenant = TenantId::new("bench").expect("tenant");
    let mut chosen = None;
    for i in 0..1000 {
        let issued = service
            .create(&tenant, &format!("integration {i}"), TokenOptions::new())
            .expect("create");
        if i == 500 {
            chosen = Some(issued.token().expose_secret().as_bytes().to_vec());
        }
    }
    let valid = chosen.expect("token");
    let secret_at = "scim_".len() + ID_LEN + 1;
    let body_len = secret_at + SECRET_LEN;
    assert_eq!(
        with_checksum(&valid[..body_len]),
        valid,
        "checksum as the crate computes it"
    );

    let mut prefix = valid[..body_len].to_vec();
    prefix[body_len - 1] = other_digit(prefix[body_len - 1], 0);
    let prefix = with_checksum(&prefix);

    let mut nothing = valid[..body_len].to_vec();
    for (k, d) in nothing[secret_at..].iter_mut().enumerate() {
        *d = other_digit(*d, k);
    }
    let nothing = with_checksum(&nothing);

    let mut unknown = valid[..body_len].to_vec();
    for (k, d) in unknown[5..5 + ID_LEN].iter_mut().enumerate() {
        *d = other_digit(*d, k);
    }
    let unknown_id = with_checksum(&unknown);

    assert!(service.verify(&valid).is_ok());
    for wrong in [&prefix, &nothing, &unknown_id] {
        let e = service.verify(wrong).expect_err("wrong token");
        assert_eq!(
            e.status(),
            401,
            "rejected as a wrong token, not malformed: {e}"
        );
        assert!(e.to_string().contains("unknown, wrong"), "{e}");
    }
    (
        service,
        Tokens {
            valid,
            prefix,
            nothing,
            unknown_id,
        },
    )
}

fn timing(c: &mut Criterion<ThreadCpuTime>) {
    let (service, t) = setup();
    let mut group = c.benchmark_group("token_timing");
    for (name, token) in [
        ("valid", &t.valid),
        ("prefix", &t.prefix),
        ("nothing", &t.nothing),
        ("unknown_id", &t.unknown_id),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| service.verify(black_box(token)).is_ok())
        });
    }
    group.finish();
    leak_test(&service, &t);
}

/// Mean, variance and count of the fastest 90% of `xs`.
fn cropped_stats(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let kept = &xs[..xs.len() * 9 / 10];
    let n = kept.len() as f64;
    let mean = kept.iter().sum::<f64>() / n;
    let var = kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var, n)
}

/// Welch's t of two classes measured in random interleaving.
fn leak_test(service: &TokenService<MemoryStore>, t: &Tokens) {
    const SAMPLES: usize = 40_000;
    const BATCH: u32 = 16;
    let mut classes: [Vec<f64>; 2] = [Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES)];
    // xorshift64: the class order must not follow any pattern of the machine.
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    for _ in 0..2 * SAMPLES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let class = (state & 1) as usize;
        let token = if class == 0 { &t.prefix } else { &t.nothing };
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(service.verify(black_box(token)).is_ok());
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(BATCH);
        classes[class].push(ns);
    }
    let (m0, v0, n0) = cropped_stats(&mut classes[0]);
    let (m1, v1, n1) = cropped_stats(&mut classes[1]);
    let t_stat = (m0 - m1) / (v0 / n0 + v1 / n1).sqrt();
    println!(
        "token_timing leak test: prefix {m0:.1} ns (n={n0}), nothing {m1:.1} ns (n={n1}), \
         difference {:.2} ns, Welch t = {t_stat:.2} ({})",
        m0 - m1,
        if t_stat.abs() < 4.5 {
            "no evidence of a difference"
        } else {
            "DIFFERENT"
        }
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = timing
}
criterion_main!(benches);
