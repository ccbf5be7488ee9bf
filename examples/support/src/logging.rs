//! The log's writer: request threads append each formatted line to a shared buffer, and a
//! thread of its own writes the buffer to standard error every [`WRITE_EVERY`], so a slow
//! standard error (a terminal, a full pipe, a busy journal) does not stall the requests
//! being answered, and a busy server makes one write call per batch, not one per request.
//!
//! Logging a line takes a mutex and copies the line; it wakes nobody. Only when standard
//! error stays slower than the requests until [`BUFFER_BYTES`] are waiting does a request
//! wait for room: no line is ever dropped. [`flush`] writes out what is waiting (a server
//! calls it before it exits).

use std::io::Write;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How often the writer thread writes what has been logged.
pub const WRITE_EVERY: Duration = Duration::from_millis(20);

/// How many bytes may wait for standard error before a request waits for room.
pub const BUFFER_BYTES: usize = 1 << 20;

/// The lines waiting, and how the writer and the requests wait for each other.
struct Shared {
    lines: Mutex<Vec<u8>>,
    /// Signalled when the buffer is full (wake the writer) or was emptied (room again).
    changed: Condvar,
    /// Held while writing to the output, so batches leave in the order they were taken.
    output: Mutex<()>,
}

impl Shared {
    fn new() -> Self {
        Shared {
            lines: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            output: Mutex::new(()),
        }
    }

    fn lines(&self) -> MutexGuard<'_, Vec<u8>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line, first waiting while the buffer is full.
    fn push(&self, line: &[u8]) {
        let mut lines = self.lines();
        while lines.len() >= BUFFER_BYTES {
            self.changed.notify_all();
            lines = self.changed.wait(lines).unwrap_or_else(|e| e.into_inner());
        }
        lines.extend_from_slice(line);
    }

    /// Writes out everything appended so far.
    fn write_to(&self, out: &mut dyn Write, spare: &mut Vec<u8>) {
        let _order = self.output.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut lines = self.lines();
            std::mem::swap(&mut *lines, spare);
        }
        self.changed.notify_all();
        if !spare.is_empty() {
            // A log that cannot be written has nowhere to report it.
            let _ = out.write_all(spare).and_then(|()| out.flush());
            spare.clear();
        }
    }

    /// The writer thread: every [`WRITE_EVERY`], or as soon as the buffer is full.
    fn run(&self, out: &mut dyn Write) -> ! {
        let mut spare = Vec::new();
        loop {
            {
                let lines = self.lines();
                if lines.len() < BUFFER_BYTES {
                    drop(
                        self.changed
                            .wait_timeout(lines, WRITE_EVERY)
                            .unwrap_or_else(|e| e.into_inner()),
                    );
                }
            }
            self.write_to(out, &mut spare);
        }
    }
}

/// The buffer, with its writer thread started on first use; `None` when no thread could
/// start (lines are then written directly).
fn shared() -> Option<&'static Shared> {
    static SHARED: OnceLock<Option<&'static Shared>> = OnceLock::new();
    *SHARED.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::new(Shared::new()));
        std::thread::Builder::new()
            .name("log-writer".to_owned())
            .spawn(move || shared.run(&mut std::io::stderr()))
            .ok()
            .map(|_| shared)
    })
}

/// Writes out every line logged so far.
pub fn flush() {
    if let Some(s) = shared() {
        s.write_to(&mut std::io::stderr(), &mut Vec::new());
    }
}

/// A [`tracing_subscriber::fmt::MakeWriter`] that hands each event's line to the writer
/// thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct BufferedStderr;

/// One event being formatted: its bytes, handed over when the formatter drops it.
#[derive(Debug, Default)]
pub struct BufferedLine {
    buf: Vec<u8>,
}

impl Write for BufferedLine {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for BufferedLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        match shared() {
            Some(s) => s.push(&self.buf),
            None => {
                let _ = std::io::stderr().write_all(&self.buf);
            }
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStderr {
    type Writer = BufferedLine;

    fn make_writer(&'a self) -> BufferedLine {
        BufferedLine::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lines_leave_in_order_in_batches() {
        let shared = Shared::new();
        let mut out = Vec::new();
        let mut spare = Vec::new();
        shared.push(b"one\n");
        shared.push(b"two\n");
        shared.write_to(&mut out, &mut spare);
        assert_eq!(out, b"one\ntwo\n");
        shared.write_to(&mut out, &mut spare);
        assert_eq!(out, b"one\ntwo\n", "nothing new, nothing written");
        shared.push(b"three\n");
        shared.write_to(&mut out, &mut spare);
        assert_eq!(out, b"one\ntwo\nthree\n");
    }

    #[test]
    fn a_full_buffer_makes_the_logger_wait_for_the_writer() {
        let shared = Arc::new(Shared::new());
        let line = vec![b'x'; BUFFER_BYTES];
        shared.push(&line);
        let logger = {
            let shared = shared.clone();
            std::thread::spawn(move || shared.push(b"after\n"))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !logger.is_finished(),
            "the buffer is full: the logger waits"
        );
        assert_eq!(shared.lines().len(), BUFFER_BYTES);
        let mut out = Vec::new();
        shared.write_to(&mut out, &mut Vec::new());
        logger.join().expect("logger");
        shared.write_to(&mut out, &mut Vec::new());
        assert_eq!(out.len(), BUFFER_BYTES + 6);
        assert!(out.ends_with(b"xafter\n"));
    }
}
