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

/// One event's writer: each `write` hands its bytes to the writer thread whole (the
/// formatter writes an event's line with one `write_all`, which is one `write` here, so
/// lines of different threads never interleave and no copy of the line is made first).
#[derive(Debug, Default)]
pub struct BufferedLine {
    _private: (),
}

impl Write for BufferedLine {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if b.is_empty() {
            return Ok(0);
        }
        match shared() {
            Some(s) => s.push(b),
            None => std::io::stderr().write_all(b)?,
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufferedStderr {
    type Writer = BufferedLine;

    fn make_writer(&'a self) -> BufferedLine {
        BufferedLine::default()
    }
}

/// The event format of the log when it is not a terminal: the line tracing-subscriber's
/// default format writes without colours and target
/// (`2026-11-29T06:12:04.914512Z  INFO request method=GET status=200`: UTC time to the
/// microsecond, the level right-aligned in five columns, the spans, the message and the
/// fields), with less work per line: the date and time of day are formatted once per second
/// (per thread) and only the microseconds on each line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFormat;

std::thread_local! {
    /// The last second formatted on this thread, and its text (`2026-11-29T06:12:04`).
    static SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
}

/// Writes `now` as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
fn write_time(w: &mut impl std::fmt::Write, now: std::time::SystemTime) -> std::fmt::Result {
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (cached, mut text) = SECOND.with(std::cell::Cell::get);
    if cached != secs {
        let formatted = i64::try_from(secs)
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string());
        match formatted {
            Some(f) if f.len() == text.len() => {
                text.copy_from_slice(f.as_bytes());
                SECOND.with(|c| c.set((secs, text)));
            }
            // Outside years 0000 to 9999: not kept.
            Some(f) => return write!(w, "{f}.{:06}Z", since.subsec_micros()),
            None => return write!(w, "{secs}.{:06}Z", since.subsec_micros()),
        }
    }
    let mut micros = since.subsec_micros();
    let mut digits = [b'0'; 6];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    // Both are ASCII digits and separators.
    w.write_str(std::str::from_utf8(&text).unwrap_or("?"))?;
    w.write_char('.')?;
    w.write_str(std::str::from_utf8(&digits).unwrap_or("?"))?;
    w.write_char('Z')
}

/// Writes an event's fields as the default format does: the message as it is, every other
/// field as ` name=value` (strings quoted).
struct Fields<'a, 'w> {
    w: &'a mut tracing_subscriber::fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl Fields<'_, '_> {
    fn field(&mut self, field: &tracing::field::Field, value: std::fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        use std::fmt::Write as _;
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        self.result = if name == "message" {
            // Control characters that steer a terminal are written escaped (as the default
            // format does), so a message cannot forge or hide lines.
            self.w
                .write_str(sep)
                .and_then(|()| Escaping(&mut *self.w).write_fmt(value))
        } else {
            self.name(sep, name).and_then(|()| self.w.write_fmt(value))
        };
    }

    /// Writes ` name=` (the separator, then the name without a raw identifier's `r#`).
    fn name(&mut self, sep: &str, name: &str) -> std::fmt::Result {
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.w.write_str(sep)?;
        self.w.write_str(name)?;
        self.w.write_char('=')
    }

    /// An integer field, written without the formatting machinery.
    fn integer(&mut self, field: &tracing::field::Field, negative: bool, mut value: u64) {
        let name = field.name();
        if self.result.is_err() || name == "message" || name.starts_with("log.") {
            return self.field(
                field,
                format_args!("{}{value}", if negative { "-" } else { "" }),
            );
        }
        let sep = if self.first { "" } else { " " };
        self.first = false;
        let mut digits = [0u8; 21];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        if negative {
            at -= 1;
            digits[at] = b'-';
        }
        self.result = self.name(sep, name).and_then(|()| {
            // ASCII digits and a sign.
            self.w
                .write_str(std::str::from_utf8(&digits[at..]).unwrap_or("?"))
        });
    }
}

/// Writes through to `W`, terminal control characters (ESC, BEL, BS, FF, DEL and the C1
/// controls) escaped.
struct Escaping<'a, W>(&'a mut W);

impl<W: std::fmt::Write> std::fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // C1 controls are U+0080 to U+009F: 0xC2 then 0x80 to 0x9F in UTF-8.
        let plain = !s
            .bytes()
            .any(|b| matches!(b, 0x07 | 0x08 | 0x0c | 0x1b | 0x7f | 0xc2));
        if plain {
            return self.0.write_str(s);
        }
        for c in s.chars() {
            match c {
                '\x07' | '\x08' | '\x0c' | '\x1b' | '\x7f' => {
                    write!(self.0, "\\x{:02x}", u32::from(c))?;
                }
                '\u{80}'..='\u{9f}' => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

impl tracing::field::Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.field(field, format_args!("{value}"));
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.integer(field, false, value);
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.integer(field, value < 0, value.unsigned_abs());
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LineFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write_time(&mut writer, std::time::SystemTime::now())?;
        let level = *event.metadata().level();
        let level = match level {
            tracing::Level::TRACE => "TRACE",
            tracing::Level::DEBUG => "DEBUG",
            tracing::Level::INFO => " INFO",
            tracing::Level::WARN => " WARN",
            tracing::Level::ERROR => "ERROR",
        };
        writer.write_char(' ')?;
        writer.write_str(level)?;
        writer.write_char(' ')?;
        if let Some(scope) = ctx.event_scope() {
            let mut any = false;
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<tracing_subscriber::fmt::FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    write!(writer, "{{{fields}}}")?;
                }
                writer.write_char(':')?;
                any = true;
            }
            if any {
                writer.write_char(' ')?;
            }
        }
        let mut fields = Fields {
            w: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer into a shared buffer, for comparing formats.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("lock").clone()).expect("UTF-8")
        }
    }

    /// The events the servers log, and some they could.
    fn events() {
        let path = "/scim/v2/Users/2819c223";
        tracing::info!(method = %"GET", path = %path, status = 200u16, ms = %"0.067", integration = %"okta", "request");
        tracing::warn!("accept: {}", "too many open files");
        tracing::error!(name = "quoted \"value\"", n = -3i64, ok = true, "a message");
        tracing::debug!(detail = ?Some(1), "debug");
        tracing::info!("steering \x1b[31mred\x07 \u{85} kept: é ü");
        tracing::info!(r#type = "raw", "raw identifier");
        tracing::info!(only = 1u64);
        let span = tracing::info_span!("outer", tenant = "t1");
        let _entered = span.enter();
        tracing::info!(inner = 2u64, "in a span");
    }

    #[test]
    fn line_format_writes_the_default_format_without_colour() {
        let ours = Captured::default();
        let theirs = Captured::default();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(ours.clone())
            .with_ansi(false)
            .event_format(LineFormat)
            .finish();
        tracing::subscriber::with_default(sub, events);
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(theirs.clone())
            .with_target(false)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(sub, events);
        let (ours, theirs) = (ours.text(), theirs.text());
        assert_eq!(ours.lines().count(), 8, "{ours}");
        assert_eq!(
            ours.lines().count(),
            theirs.lines().count(),
            "{ours}\n{theirs}"
        );
        for (a, b) in ours.lines().zip(theirs.lines()) {
            // The instants differ; their form must not.
            let (ta, ra) = a.split_at(27);
            let (tb, rb) = b.split_at(27);
            assert_eq!(ra, rb);
            for t in [ta, tb] {
                let shape: String = t
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '0' } else { c })
                    .collect();
                assert_eq!(shape, "0000-00-00T00:00:00.000000Z", "{t}");
            }
            assert_eq!(ta[..17], tb[..17], "the same minute");
        }
        assert!(
            ours.contains("\\x1b[31mred\\x07 \\u{85} kept: é ü"),
            "{ours}"
        );
    }

    #[test]
    fn times_are_utc_to_the_microsecond() {
        let at = |s: u64, us: u32| {
            let mut out = String::new();
            let t = std::time::UNIX_EPOCH + Duration::new(s, us * 1000);
            write_time(&mut out, t).expect("write");
            out
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(1_795_941_124, 914_512), "2026-11-29T08:32:04.914512Z");
        assert_eq!(at(1_795_941_124, 7), "2026-11-29T08:32:04.000007Z");
        // The second kept from the line before is not reused for another.
        assert_eq!(at(1_795_941_125, 999_999), "2026-11-29T08:32:05.999999Z");
        assert_eq!(at(951_782_400, 1), "2000-02-29T00:00:00.000001Z");
    }

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
