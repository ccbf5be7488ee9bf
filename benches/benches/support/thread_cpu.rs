//! A criterion measurement of the benchmark thread's CPU time, instead of wall-clock time.
//!
//! The benchmarks run on two cores shared with other work (builds, other benchmarks). Wall
//! time then counts the time the thread waits for a core: with a load average of 10 on 2
//! cores a `nice`d benchmark got about a quarter of a core and its wall-clock figures came
//! out about four times too high. The thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, read
//! through the `cpu-time` crate) counts only the time the code ran. What sharing still
//! costs (caches, memory bandwidth) remains in the figures.
//!
//! Shared by `benches/benches/*.rs` and `benches/peers/benches/peers.rs` with `#[path]`, so
//! that every figure is measured the same way.

use std::time::Duration;

use cpu_time::ThreadTime;
use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// The CPU time of the benchmarking thread.
pub struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, start: ThreadTime) -> Duration {
        start.elapsed()
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanoseconds (of CPU time) the way criterion formats wall time.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1.0 {
            (1e3, "ps")
        } else if typical_ns < 1e3 {
            (1.0, "ns")
        } else if typical_ns < 1e6 {
            (1e-3, "µs")
        } else if typical_ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (count, units) = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                (n as f64, ["B/s", "KB/s", "MB/s", "GB/s"])
            }
            Throughput::Elements(n) => (n as f64, ["elem/s", "Kelem/s", "Melem/s", "Gelem/s"]),
            Throughput::Bits(n) => (n as f64, ["b/s", "Kb/s", "Mb/s", "Gb/s"]),
        };
        let per_second = count * 1e9 / typical_ns;
        let (divisor, unit) = if per_second < 1e3 {
            (1.0, units[0])
        } else if per_second < 1e6 {
            (1e3, units[1])
        } else if per_second < 1e9 {
            (1e6, units[2])
        } else {
            (1e9, units[3])
        };
        for v in values {
            *v = count * 1e9 / *v / divisor;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
