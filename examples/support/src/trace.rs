//! An optional timing trace of the request and write path, for finding where the slowest
//! requests spend their time (the latency tail). Off unless the environment variable
//! `SCIM_TRACE` names a file: then every request, grouped write, group commit, checkpoint
//! step and worker-thread park appends one line of text to it (times in nanoseconds since
//! the first event, the thread's name), written out every [`WRITE_EVERY`] by a thread of its
//! own, so the path being traced only formats a short line into a buffer. When off, each
//! trace point costs one load of a `OnceLock`.
//!
//! Lines (`t0 t1` the start and end of what the line describes):
//!
//! - `r t0 t1 thread conn`: a request answered on connection `conn` (serve.rs).
//! - `w t0 t1 thread led`: a grouped write from its queueing to its answer; `led` 1 when its
//!   task ran a group.
//! - `g t0 t1 thread n commit_ns run_ns wait_ns`: a group of `n` writes on the thread that
//!   led it, how long its `COMMIT` took, and of that time how long the thread ran and how
//!   long it waited for a core (the rest it was blocked).
//! - `c t0 t1 thread kind log backfilled run_ns wait_ns`: a checkpoint step (`passive`,
//!   `presync`, `pause`), with the time the thread ran and waited for a core meanwhile.
//! - `k t0 thread`: the worker thread parked (nothing ready to run).
//!
//! Nothing secret is traced: no path, no header, no body.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often the trace thread writes out the lines.
pub const WRITE_EVERY: Duration = Duration::from_millis(500);

/// The name of the environment variable that turns the trace on.
pub const ENV: &str = "SCIM_TRACE";

struct Trace {
    epoch: Instant,
    lines: Mutex<String>,
}

static TRACE: OnceLock<Option<Trace>> = OnceLock::new();

fn trace() -> Option<&'static Trace> {
    TRACE
        .get_or_init(|| {
            let path = std::env::var_os(ENV)?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            let spawned = std::thread::Builder::new()
                .name("scim-trace".to_owned())
                .spawn(move || write_loop(file));
            spawned.ok().map(|_| Trace {
                epoch: Instant::now(),
                lines: Mutex::new(String::new()),
            })
        })
        .as_ref()
}

fn write_loop(mut file: std::fs::File) {
    let mut spare = String::new();
    loop {
        std::thread::sleep(WRITE_EVERY);
        let Some(t) = TRACE.get().and_then(Option::as_ref) else {
            continue;
        };
        std::mem::swap(
            &mut *t.lines.lock().unwrap_or_else(|e| e.into_inner()),
            &mut spare,
        );
        if !spare.is_empty() {
            // A trace that cannot be written is lost; the server goes on.
            let _ = file.write_all(spare.as_bytes());
            spare.clear();
        }
    }
}

/// Whether the trace is on.
pub fn enabled() -> bool {
    trace().is_some()
}

/// Nanoseconds since the trace began, when it is on.
pub fn now() -> Option<u64> {
    let t = trace()?;
    Some(u64::try_from(t.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// The calling thread's time on a core and waiting for one so far (nanoseconds, from
/// `/proc/thread-self/schedstat`), when the trace is on and the system has that file.
pub fn thread_sched() -> Option<(u64, u64)> {
    trace()?;
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<u64>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// Appends one line: `kind t0 [t1] thread` followed by `rest` (space-separated), when the
/// trace is on. `t1` is taken now unless `end_now` is false.
pub fn event(kind: &str, t0: u64, end_now: bool, rest: std::fmt::Arguments<'_>) {
    let Some(t) = trace() else { return };
    let t1 = u64::try_from(t.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("-");
    let mut lines = t.lines.lock().unwrap_or_else(|e| e.into_inner());
    let _ = if end_now {
        writeln!(lines, "{kind} {t0} {t1} {name} {rest}")
    } else {
        writeln!(lines, "{kind} {t0} {name} {rest}")
    };
}

/// Writes out what is waiting now (tests).
#[cfg(test)]
fn take() -> String {
    trace().map_or_else(String::new, |t| {
        std::mem::take(&mut *t.lines.lock().unwrap_or_else(|e| e.into_inner()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_the_variable_names_a_file() {
        // The test binary runs without it (set it only in a process of its own).
        if std::env::var_os(ENV).is_some() {
            return;
        }
        assert!(!enabled());
        assert_eq!(now(), None);
        event("r", 0, true, format_args!("1"));
        assert_eq!(take(), "");
    }
}
