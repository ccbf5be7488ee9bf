//! The SQLite database: opening it, its settings, and its schema migrations.
//!
//! One database file holds everything: resources, group members, integrations and token
//! digests. A process keeps **one writer connection** behind a mutex, so its own writes never
//! contend with each other; every write is a `BEGIN IMMEDIATE` transaction, and the
//! connection waits up to [`BUSY_TIMEOUT`] for another process (the admin command run while
//! the server serves), so `SQLITE_BUSY` does not reach a client.
//!
//! The resource writes of the server go through a **group commit**
//! (`Database::write_grouped`) led by the writes themselves: a write that finds no group
//! in progress **leads**: on its own thread it takes every write waiting, runs each in its
//! own `SAVEPOINT` of one transaction, commits once and answers them all; if more writes
//! queued meanwhile (from other threads), it passes the lead to the oldest of them, whose
//! task leads the next group on its own thread, so no thread's connections wait behind
//! the others' writes. A write that finds a leader queues and waits (its task awaits the
//! answer or the lead, not holding a worker thread). No thread of its own, so no hand-off
//! to another thread and back for the writes a worker leads. **Checkpoints** (copying the
//! WAL into the database file, with their fsyncs) run on another thread with a connection
//! of its own, off the write path; to start the WAL over it takes the lead for a moment,
//! so the writes queue meanwhile and no thread waits.
//!
//! Reads go to the writer when it is free (its page cache survives its own commits, a
//! reader's is dropped after every commit of another connection) and otherwise to a few
//! **reader connections** beside it (`query_only`, each behind its own mutex), so a read
//! neither waits for a write nor for another read: in WAL mode a reader
//! sees the last commit when its transaction begins. A read that takes several statements
//! runs in one read transaction, so it sees one state of the database.
//! An in-memory database (tests) has no readers: its one connection serves everything.
//!
//! Journal: WAL with `synchronous=NORMAL` ([`Durability::Normal`], the default): a commit is
//! in the WAL before the write is acknowledged, so every acknowledged write survives a crash
//! of the process (`kill -9`); a power loss may lose the last transactions.
//! [`Durability::Full`] (`synchronous=FULL`) syncs the WAL on every commit and survives
//! power loss too, at the cost of one fsync per write.

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak, mpsc};
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};
use scim_filter::sql::{FOLD_FUNCTION, INSTANT_FUNCTION, fold, instant_key};

/// How long a connection waits for another process's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;

/// The most writes one group commit takes.
const MAX_GROUP: usize = 64;

/// How many groups a leader runs before it passes the lead to a queued write (see
/// [`Writer::lead`]).
const LEAD_ROUNDS: usize = 1;

/// How often the checkpoint thread copies the WAL into the database file while writes
/// arrive. Often, so each copy is small: the copy's writes and fsync stall the disk for
/// the writes' own `write` calls (on ext4, behind the journal), and a large copy stalls
/// them long (measured under wrk, PATCH p99: about 50 ms with a copy a second, 10 to 18 ms
/// every 200 ms, 6 to 7 ms every 20 ms).
#[cfg(not(test))]
const CHECKPOINT_PERIOD: Duration = Duration::from_millis(20);
/// Sooner in the tests, whose WAL is shorter ([`RESTART_FRAMES`]).
#[cfg(test)]
const CHECKPOINT_PERIOD: Duration = Duration::from_millis(50);

/// How often it looks while no write arrived since its last copy.
#[cfg(not(test))]
const CHECKPOINT_IDLE_PERIOD: Duration = Duration::from_millis(200);
#[cfg(test)]
const CHECKPOINT_IDLE_PERIOD: Duration = Duration::from_millis(50);

/// The WAL length (frames) past which the checkpoint thread starts the WAL over: each
/// restart pauses the writes for its last checkpoint (two fsyncs), so a longer WAL means
/// fewer pauses (about one in 5 s at 5,000 PATCHes a second). Page lookups do not grow
/// with it: the passive checkpoints keep the frames a reader searches to the last few
/// thousand.
#[cfg(not(test))]
const RESTART_FRAMES: i64 = 24_000;
/// A shorter WAL for the tests (the same code path, less to write).
#[cfg(test)]
const RESTART_FRAMES: i64 = 800;

/// The bytes a WAL file keeps after it was started over (`journal_size_limit`): about
/// [`RESTART_FRAMES`] frames of the database's pages (24-byte frame headers), so a WAL a
/// slow reader let grow past them is cut back, and one of that length is reused as it is.
fn wal_keep_bytes(page_size: i64) -> i64 {
    RESTART_FRAMES * (page_size + 24)
}

/// The page size of a new database (SQLite's default is 4 KiB). Every write appends each
/// page it changed to the WAL, and the checkpoint copies it again: a PATCH that changes one
/// row of about 500 bytes writes a whole page twice. At 2 KiB a row of that size still shares
/// its page with three others and rows up to about 2 KB fit without overflow pages, while each
/// write moves half the bytes (measured under wrk on 10k users: 4.9 instead of 8.6 KB written
/// per PATCH, PATCH p99 3.7 instead of 5.2 ms, reads unchanged; 1 KiB pages made the filter
/// queries 15% slower).
const PAGE_SIZE: i64 = 2048;

/// The writer connection's page cache (KiB; SQLite's default is 2 MiB). The writer reads
/// every row it rewrites, and its cache stays valid between its own commits (a reader's
/// does not: any commit empties it), so a larger one spares the reads from the file (under
/// wrk on 10k users: 1.9 `pread`s per PATCH with the default, none for the row's pages
/// with this).
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// The WAL length (frames) past which the restart no longer waits for the passive
/// checkpoints to come close to its end: when the writes outpace them (a slow disk, a
/// machine busy with other work), the writes then wait while the restart copies all that is
/// left, a longer pause, rather than the WAL growing without end.
const FORCE_FRAMES: i64 = 4 * RESTART_FRAMES;

/// How many frames a passive checkpoint may have left uncopied for the restart to begin:
/// these are copied while the writes wait.
const RESTART_LAG: i64 = 256;

/// The most passive checkpoints run back to back to come that close to the end of the WAL.
const CATCH_UP_ROUNDS: usize = 8;

/// How often (and how long each time) the restart waits for a reader still in the WAL
/// before it gives up until the next period: about 20 ms in all.
const RESTART_WAITS: i32 = 200;
const RESTART_WAIT: Duration = Duration::from_micros(100);

/// How long the checkpoint thread waits for the writes' leader to hand it the lead.
const PAUSE_WAIT: Duration = Duration::from_millis(50);

/// How hard a commit is pushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: survives a process crash.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: survives a power loss as well.
    Full,
}

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite reported an error.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of this program.
    #[error("the database schema version {found} is newer than this program knows ({known})")]
    TooNew {
        /// The version in the file.
        found: u32,
        /// The newest version this program knows.
        known: u32,
    },
}

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`
/// (the version is SQLite's `user_version`). Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: resources, members, integrations, tokens.
    "CREATE TABLE resources (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        data TEXT NOT NULL,
        user_name_folded TEXT,
        external_id TEXT,
        external_id_folded TEXT,
        display_name_folded TEXT
    );
    CREATE UNIQUE INDEX resources_id ON resources (tenant, resource_type, id);
    CREATE UNIQUE INDEX resources_user_name
        ON resources (tenant, resource_type, user_name_folded);
    CREATE INDEX resources_external_id
        ON resources (tenant, resource_type, external_id_folded);
    CREATE INDEX resources_display_name
        ON resources (tenant, resource_type, display_name_folded);
    CREATE TABLE members (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        value TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE UNIQUE INDEX members_group ON members (tenant, group_id, value);
    CREATE INDEX members_value ON members (tenant, value);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('version', 0);
    CREATE TABLE integrations (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        created INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE UNIQUE INDEX integrations_name ON integrations (tenant, name_key);
    CREATE TABLE tokens (
        token_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        integration_id TEXT NOT NULL
    );
    CREATE INDEX tokens_integration ON tokens (tenant, integration_id);",
    // 2: the admin page's password (argon2id PHC string), one row.
    "CREATE TABLE admin_password (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        hash TEXT NOT NULL,
        updated INTEGER NOT NULL
    );",
    // 3: the generation of the integrations, bumped by every write of one (see
    // `SqliteTokenStore`'s cache).
    "INSERT INTO counters (name, value) VALUES ('integrations', 0);",
];

/// How many reader connections a file database opens: one per core, at least two.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// An open database: the writer connection and the reader connections, each behind a
/// mutex.
#[derive(Debug)]
pub struct Database {
    writer: Arc<Writer>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Dropped with the database: the checkpoint thread then ends.
    _checkpointer: Option<mpsc::Sender<()>>,
}

/// The writer connection and the group commit's queue, shared with the checkpoint thread.
#[derive(Debug)]
struct Writer {
    conn: Mutex<Connection>,
    queue: Mutex<Queue>,
    /// Signalled when a leader hands the lead to the checkpoint thread.
    handed: Condvar,
    /// Writes queued so far (for tests).
    #[cfg(test)]
    queued: AtomicUsize,
    /// Groups run so far (for tests).
    #[cfg(test)]
    groups: AtomicUsize,
    /// Leads the checkpoint thread took so far (for tests).
    #[cfg(test)]
    pauses: AtomicUsize,
}

/// The writes waiting for the next group, and who leads.
#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn GroupJob>>,
    /// A thread runs the groups (or the checkpoint thread holds them back); whoever holds
    /// the lead runs every write queued before it lets go.
    leading: bool,
    /// The checkpoint thread asks the leader for the lead.
    pause_wanted: bool,
    /// The leader handed it the lead.
    pause_granted: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("jobs", &self.jobs.len())
            .field("leading", &self.leading)
            .finish_non_exhaustive()
    }
}

impl Writer {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `job`; `true` when no one led, so the caller now holds the lead and must
    /// [`lead`](Self::lead).
    fn enqueue(&self, job: Box<dyn GroupJob>) -> bool {
        let mut q = self.queue();
        q.jobs.push(job);
        #[cfg(test)]
        self.queued.fetch_add(1, Ordering::SeqCst);
        !std::mem::replace(&mut q.leading, true)
    }

    /// Runs the queued writes group after group, as their leader, until none is left or
    /// the checkpoint thread asks for the lead. The caller holds the lead.
    ///
    /// After [`LEAD_ROUNDS`] groups the lead passes to the oldest write still queued, whose
    /// task leads on its own thread: the writes queued meanwhile came from other threads,
    /// and a leader that ran all of them would keep its own thread's connections waiting
    /// for as long as the others keep writing.
    fn lead(self: &Arc<Self>) {
        let mut guard = LeadGuard(Some(self.as_ref()));
        let mut rounds = 0;
        loop {
            let conn = self.conn();
            let group: Vec<_> = {
                let mut q = self.queue();
                if q.pause_wanted {
                    // The lead goes to the checkpoint thread (still `leading`).
                    q.pause_wanted = false;
                    q.pause_granted = true;
                    self.handed.notify_all();
                    break;
                }
                if q.jobs.is_empty() {
                    q.leading = false;
                    break;
                }
                if rounds >= LEAD_ROUNDS && self.hand_lead(&mut q) {
                    // Still `leading`: the new leader runs what is queued.
                    break;
                }
                let n = q.jobs.len().min(MAX_GROUP);
                q.jobs.drain(..n).collect()
            };
            self.run_group(conn, group);
            rounds += 1;
        }
        guard.0 = None;
    }

    /// Passes the lead to the oldest queued write whose requester still waits; `false`
    /// when none does (the caller keeps the lead).
    fn hand_lead(self: &Arc<Self>, q: &mut Queue) -> bool {
        q.jobs
            .iter_mut()
            .any(|job| job.hand_lead(LeadToken(Some(Arc::clone(self)))))
    }

    /// Takes the lead for the checkpoint thread: at once when no one leads, else from the
    /// leader between two groups, waiting up to [`PAUSE_WAIT`]. `false` when it did not
    /// get it. The writes queue until [`lead`](Self::lead) runs them.
    fn pause(&self) -> bool {
        #[cfg(test)]
        self.pauses.fetch_add(1, Ordering::SeqCst);
        let mut q = self.queue();
        if !q.leading {
            q.leading = true;
            return true;
        }
        q.pause_wanted = true;
        let until = std::time::Instant::now() + PAUSE_WAIT;
        loop {
            if q.pause_granted {
                q.pause_granted = false;
                return true;
            }
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                q.pause_wanted = false;
                return false;
            }
            q = self
                .handed
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Runs `group` on the locked writer connection `conn` in one transaction, each write
    /// in its own savepoint, commits, lets go of the connection, then answers every write.
    fn run_group(&self, mut conn: MutexGuard<'_, Connection>, mut group: Vec<Box<dyn GroupJob>>) {
        #[cfg(test)]
        self.groups.fetch_add(1, Ordering::SeqCst);
        let traced = crate::trace::now();
        if !conn.is_autocommit() {
            // A transaction left open by a failed end: never nest.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => {
                for job in group {
                    job.answer(Some(&e));
                }
                return;
            }
        };
        let mut failed = None;
        for job in &mut group {
            if let Err(e) = tx
                .prepare_cached("SAVEPOINT grouped")
                .and_then(|mut s| s.execute([]))
            {
                failed = Some(e);
                break;
            }
            let kept = catch_unwind(AssertUnwindSafe(|| job.run(&tx))).unwrap_or(false);
            if tx.is_autocommit() {
                // SQLite rolled the whole transaction back (I/O error, disk full): the
                // writes before this one are gone as well, so the group fails.
                failed = Some(failure(
                    rusqlite::ffi::SQLITE_ABORT,
                    "the transaction was rolled back",
                ));
                break;
            }
            let end = if kept {
                tx.prepare_cached("RELEASE grouped")
                    .and_then(|mut s| s.execute([]))
            } else {
                tx.prepare_cached("ROLLBACK TO grouped")
                    .and_then(|mut s| s.execute([]))
                    .and_then(|_| tx.prepare_cached("RELEASE grouped")?.execute([]))
            };
            if let Err(e) = end {
                failed = Some(e);
                break;
            }
        }
        let commit = traced.and(crate::trace::now());
        let sched = traced.and_then(|_| crate::trace::thread_sched());
        let failed = match failed {
            Some(e) => {
                drop(tx);
                Some(e)
            }
            None => tx.commit().err(),
        };
        drop(conn);
        if let (Some(t0), Some(c0), Some(c1)) = (traced, commit, crate::trace::now()) {
            let n = group.len();
            let (run, wait) = sched_since(sched);
            crate::trace::event("g", t0, true, format_args!("{n} {} {run} {wait}", c1 - c0));
        }
        for job in group {
            job.answer(failed.as_ref());
        }
    }
}

/// The lead, held by a write's task: it leads when the task takes it, or when it is
/// dropped (the task went away: dropped while it yields, or a lead handed by a leader
/// dropped unread), so the lead is never lost.
struct LeadToken(Option<Arc<Writer>>);

impl LeadToken {
    /// Leads now, on the calling thread.
    fn lead(mut self) {
        if let Some(w) = self.0.take() {
            w.lead();
        }
    }

    /// Gives the lead back to the leader that offered it (it was not delivered).
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for LeadToken {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            w.lead();
        }
    }
}

/// Lets go of the lead if its holder unwinds (a bug, not a failing write: those are
/// caught), failing the writes still queued rather than leaving them waiting forever.
struct LeadGuard<'a>(Option<&'a Writer>);

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        let Some(w) = self.0 else { return };
        let jobs = {
            let mut q = w.queue();
            q.leading = false;
            std::mem::take(&mut q.jobs)
        };
        for job in jobs {
            job.answer(Some(&write_failed()));
        }
    }
}

/// A descriptor of the file at `path` (the database file, for the checkpoint thread's
/// sync, or its `-shm` file, for reading the WAL-index header), one per file for the life
/// of the process, shared by every user of that file.
///
/// Never closed, on purpose: closing any descriptor of a file drops all of this process's
/// POSIX locks on it, SQLite's included (SQLite's own files defer their closes for that
/// reason), so a descriptor closed while a connection of the process holds a lock (a read
/// mark in the `-shm` file, say) would let another process (the CLI) act as if it did not.
/// Held open, the descriptor also keeps the inode alive, so its (device, inode) key cannot
/// be reused by another file.
pub(crate) fn kept_open(path: &Path) -> Option<Arc<std::fs::File>> {
    #[cfg(unix)]
    {
        use std::collections::HashMap;
        use std::os::unix::fs::MetadataExt;
        use std::sync::OnceLock;

        /// The descriptors by (device, inode).
        type Open = HashMap<(u64, u64), Arc<std::fs::File>>;
        static OPEN: OnceLock<Mutex<Open>> = OnceLock::new();
        let mut open = OPEN
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Looked up by the path's metadata first: a descriptor opened only to be closed
        // again would drop the locks this function exists to keep.
        let meta = std::fs::metadata(path).ok()?;
        if let Some(file) = open.get(&(meta.dev(), meta.ino())) {
            return Some(Arc::clone(file));
        }
        let file = std::fs::File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        match open.entry((meta.dev(), meta.ino())) {
            std::collections::hash_map::Entry::Occupied(known) => {
                // The path named another file a moment ago: this descriptor is left
                // open as well rather than closed.
                std::mem::forget(file);
                Some(Arc::clone(known.get()))
            }
            std::collections::hash_map::Entry::Vacant(new) => {
                Some(Arc::clone(new.insert(Arc::new(file))))
            }
        }
    }
    #[cfg(not(unix))]
    {
        // Other systems' locks are not dropped by closing another descriptor.
        std::fs::File::open(path).ok().map(Arc::new)
    }
}

/// The checkpoint thread: every [`CHECKPOINT_PERIOD`] while writes arrive (else every
/// [`CHECKPOINT_IDLE_PERIOD`]) a `PASSIVE` checkpoint on a
/// connection of its own copies the WAL into the database file (and syncs it) while the
/// writer goes on writing: the copying and its fsyncs are off the write path (SQLite's
/// automatic checkpoint, turned off on the writer, ran them in the committing connection
/// and stalled every write for tens of milliseconds).
///
/// Under steady writes a passive checkpoint never reaches the end of the WAL (the writer
/// adds frames while it copies), so the WAL would grow without end. Once it is
/// [`RESTART_FRAMES`] long, passive checkpoints run back to back until the frames left
/// are few ([`RESTART_LAG`]); then `db_file` (the database file) is synced while the
/// writes go on, and only then the writes wait (the lead) while a `RESTART` checkpoint
/// copies those few frames, syncs the WAL and the database file and waits for the readers
/// still in the WAL, so that the next write starts the WAL over. The writes wait for that
/// short checkpoint only, once per WAL of that length (an idle WAL copied to its end is
/// left for the next write to start over). When the passive checkpoints do not keep up
/// with the writes and the WAL reaches [`FORCE_FRAMES`], the restart begins at once and the
/// writes wait while it copies all that is left (unless a reader is what holds the copies
/// back). Ends when the database is dropped.
///
/// Why the sync before the pause: a passive checkpoint that does not reach the end of the
/// WAL does not sync the database file (a crash before the restart copies the WAL again),
/// so every page copied since the last restart (up to the whole table under steady writes)
/// is still to be written when the restart's checkpoint syncs it; done inside the pause,
/// that write-back held the writes for 30 to 50 ms.
fn checkpoint_loop(
    conn: &Connection,
    db_file: Option<&std::fs::File>,
    writer: &Weak<Writer>,
    stop: &mpsc::Receiver<()>,
    restarter: Option<&RestartThread>,
) {
    let mut period = CHECKPOINT_IDLE_PERIOD;
    // The WAL's length at the last look: a change means writes arrived.
    let mut last_log = 0;
    // The frames copied at the last look: no change means a reader keeps the copies from
    // going on (its snapshot needs the frames after it in the WAL, not in the file).
    let mut last_backfilled = 0;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(period) {
        let Ok((mut log, mut backfilled)) = passive_checkpoint(conn) else {
            period = CHECKPOINT_IDLE_PERIOD;
            continue;
        };
        let idle = log == last_log;
        let copying = backfilled != last_backfilled;
        period = if idle {
            CHECKPOINT_IDLE_PERIOD
        } else {
            CHECKPOINT_PERIOD
        };
        last_log = log;
        last_backfilled = backfilled;
        if log < RESTART_FRAMES || (idle && log == backfilled) {
            // Short, or copied to its end with no write since: the next write starts it
            // over (or, if a reader kept it from that, the WAL grows and a later round
            // pauses).
            continue;
        }
        // Past FORCE_FRAMES the passive checkpoints are not keeping up: no more rounds of
        // them (each would let the WAL grow further), the pause copies what is left. Not
        // while a reader holds the copies back: the restart could not finish before it
        // leaves, and the writes would wait for nothing at every look.
        let presync = if log < FORCE_FRAMES || !copying {
            let Some((seen, presync)) = approach_end(conn, db_file, log, backfilled) else {
                continue;
            };
            (log, backfilled) = seen;
            presync
        } else {
            Duration::ZERO
        };
        if log < RESTART_FRAMES {
            // A write started the WAL over meanwhile.
            continue;
        }
        let Some(writer) = writer.upgrade() else {
            return;
        };
        // On the restart thread (normal priority) while this one waits, so the two never
        // checkpoint at once; here when that thread is gone.
        let restarted = match restarter {
            Some((run, done)) => match run.send(writer) {
                Ok(()) => done.recv().ok().flatten(),
                Err(mpsc::SendError(writer)) => restart(conn, &writer),
            },
            None => restart(conn, &writer),
        };
        let Some(Restarted {
            copied,
            done,
            copy,
            paused,
        }) = restarted
        else {
            continue;
        };
        tracing::debug!(
            ?done,
            log,
            backfilled,
            presync_us = presync.as_micros(),
            ?copied,
            copy_us = copy.as_micros(),
            paused_us = paused.as_micros(),
            "WAL checkpoint before its restart"
        );
    }
}

/// Brings the copy of a WAL of `log` frames (`backfilled` of them copied) close to its end
/// while the writes go on: passive checkpoints back to back (each copies what the writer
/// added during the one before), at most [`CATCH_UP_ROUNDS`]; then the pages copied since
/// the last restart go to the disk (`db_file` synced), so the restart's own sync of the
/// database file has little left to do; then one more copy of what the writes added
/// meanwhile, so the pause has little to copy as well.
///
/// The frames in the WAL and the frames copied at the end, and how long the sync took;
/// `None` while the copy is still more than [`RESTART_LAG`] frames behind (to be tried
/// again next period).
fn approach_end(
    conn: &Connection,
    db_file: Option<&std::fs::File>,
    mut log: i64,
    mut backfilled: i64,
) -> Option<((i64, i64), Duration)> {
    for _ in 0..CATCH_UP_ROUNDS {
        if log - backfilled <= RESTART_LAG {
            break;
        }
        match passive_checkpoint(conn) {
            Ok(seen) => (log, backfilled) = seen,
            Err(_) => break,
        }
    }
    if log - backfilled > RESTART_LAG {
        return None;
    }
    let presync = std::time::Instant::now();
    let traced = crate::trace::now();
    if let Some(file) = db_file {
        // On failure the restart's checkpoint syncs (and reports) as before.
        let _ = file.sync_data();
    }
    let presync = presync.elapsed();
    if let Some(t0) = traced {
        crate::trace::event(
            "c",
            t0,
            true,
            format_args!("presync {log} {backfilled} 0 0"),
        );
    }
    if let Ok(seen) = passive_checkpoint(conn) {
        (log, backfilled) = seen;
    }
    Some(((log, backfilled), presync))
}

/// The channels to the restart thread: the writer to restart the WAL of, and the answer.
type RestartThread = (mpsc::Sender<Arc<Writer>>, mpsc::Receiver<Option<Restarted>>);

/// What a WAL restart did (for the debug line).
struct Restarted {
    /// The last passive copy, done in the pause: frames in the WAL, frames copied.
    copied: rusqlite::Result<(i64, i64)>,
    /// The `RESTART` checkpoint's busy flag and frames.
    done: rusqlite::Result<(i64, i64)>,
    /// How long the copy took, and the whole pause.
    copy: Duration,
    paused: Duration,
}

/// Starts the WAL over: takes the lead from the writes (they queue meanwhile, no thread
/// waits), copies the frames left with a passive checkpoint (and its syncs), then waits for
/// the readers still in the WAL with a `RESTART` checkpoint, so the next write starts the
/// WAL over; then runs the writes queued meanwhile and lets go of the lead. `None` when the
/// leader did not hand over the lead in time.
fn restart(conn: &Connection, writer: &Arc<Writer>) -> Option<Restarted> {
    if !writer.pause() {
        return None;
    }
    let started = std::time::Instant::now();
    let traced = crate::trace::now();
    // The copy first (with its syncs), then the wait for the readers.
    let copied = passive_checkpoint(conn);
    let copy = started.elapsed();
    let done = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    });
    let paused = started.elapsed();
    if let Some(t0) = traced {
        crate::trace::event("c", t0, true, format_args!("pause 0 0 0 0"));
    }
    // The writes queued meanwhile run here, then the lead is free again.
    writer.lead();
    Some(Restarted {
        copied,
        done,
        copy,
        paused,
    })
}

/// The restart thread: runs [`restart`] for the checkpoint thread, on a connection of its
/// own, at the process's normal priority: it holds the lead (the writes wait for it), so
/// it must not wait for a core behind the workers the way the checkpoint thread's copies
/// may. Ends when the checkpoint thread does.
fn restart_loop(
    conn: &Connection,
    runs: &mpsc::Receiver<Arc<Writer>>,
    done: &mpsc::Sender<Option<Restarted>>,
) {
    for writer in runs {
        let out = restart(conn, &writer);
        // Not kept: the database ends when its last handle goes.
        drop(writer);
        if done.send(out).is_err() {
            return;
        }
    }
}

/// The environment variable that lowers the checkpoint thread's priority: a nice value
/// from 1 to 19 (Linux: `setpriority` on that thread's id; the WAL restart, which holds
/// the writes' lead, runs on another thread and keeps the process's priority). Unset (the
/// default), the checkpoint thread keeps the process's priority.
pub const CHECKPOINT_NICE_ENV: &str = "SCIM_CHECKPOINT_NICE";

/// The nice value [`CHECKPOINT_NICE_ENV`] asks for, if any (read once).
fn checkpoint_nice() -> Option<i32> {
    static NICE: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    *NICE.get_or_init(|| {
        let text = std::env::var(CHECKPOINT_NICE_ENV).ok()?;
        text.trim()
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=19).contains(n))
    })
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux: `setpriority` on its
/// thread id, which changes that thread only; elsewhere nothing changes). For the
/// checkpoint thread when [`CHECKPOINT_NICE_ENV`] is set: its copies of the WAL (a few
/// hundred microseconds to milliseconds of CPU every [`CHECKPOINT_PERIOD`] under steady
/// writes) then take the time the worker threads leave instead of preempting one of them
/// (and the requests in flight on it) each time the thread wakes; measured under load, it
/// also falls behind (see BENCHMARKS.md, session 8), hence off by default. A thread cannot
/// raise its priority again without privileges, so whatever holds the writes' lead (the
/// WAL restart) runs on another thread ([`restart_loop`]).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        // On failure the thread keeps its priority, as before.
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), nice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// The busy handler of the checkpoint connection (only its `RESTART` checkpoint waits):
/// short waits for a reader to leave the WAL, at most [`RESTART_WAITS`] of them, so that
/// the writes never wait long for a slow reader (another process's, say).
fn restart_busy(waits: i32) -> bool {
    if waits >= RESTART_WAITS {
        return false;
    }
    std::thread::sleep(RESTART_WAIT);
    true
}

/// A `PASSIVE` checkpoint: the frames in the WAL and, of these, the frames copied into the
/// database file.
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    let traced = crate::trace::now();
    let sched = traced.and_then(|_| crate::trace::thread_sched());
    let out = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    });
    if let (Some(t0), Ok((log, backfilled))) = (traced, &out) {
        let (run, wait) = sched_since(sched);
        crate::trace::event(
            "c",
            t0,
            true,
            format_args!("passive {log} {backfilled} {run} {wait}"),
        );
    }
    out
}

/// The calling thread's run time and run-queue wait since `before` (the trace's
/// [`thread_sched`](crate::trace::thread_sched)); zeros without it.
fn sched_since(before: Option<(u64, u64)>) -> (u64, u64) {
    match (before, crate::trace::thread_sched()) {
        (Some((r0, w0)), Some((r1, w1))) => (r1.saturating_sub(r0), w1.saturating_sub(w0)),
        _ => (0, 0),
    }
}

/// A SQLite failure with primary code `code` and message `message`.
fn failure(code: std::ffi::c_int, message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.to_owned()))
}

/// One write of a group commit: it runs in a savepoint of the group's
/// transaction and is answered once the group committed (or failed).
trait GroupJob: Send {
    /// Runs the write; `true` when it succeeded and is to be kept.
    fn run(&mut self, tx: &rusqlite::Transaction<'_>) -> bool;
    /// Sends the answer: the write's own result when the group committed or the write
    /// failed by itself, else `failed` (the group's error: nothing of it was kept).
    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>);
    /// Passes the lead to the write's task (which then leads on its own thread); `false`,
    /// with the token disarmed, when the task no longer waits.
    fn hand_lead(&mut self, token: LeadToken) -> bool;
}

/// What a queued write's task receives: its answer, or the lead (and a new channel for
/// the answer, which comes after the task ran the group that holds its write).
enum Reply<T, E> {
    Done(Result<T, E>),
    Lead(LeadToken, tokio::sync::oneshot::Receiver<Reply<T, E>>),
}

/// A [`GroupJob`] whose answer goes back through a oneshot channel.
struct Pending<T, E, F> {
    work: Option<F>,
    out: Option<Result<T, E>>,
    reply: Option<tokio::sync::oneshot::Sender<Reply<T, E>>>,
    err: fn(rusqlite::Error) -> E,
}

impl<T, E, F> GroupJob for Pending<T, E, F>
where
    T: Send,
    E: Send,
    F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send,
{
    fn run(&mut self, tx: &rusqlite::Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let out = work(tx);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<&rusqlite::Error>) {
        let out = match (self.out, failed) {
            // A write that failed by itself reports its own error.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(_)), Some(f)) | (None, Some(f)) => Err((self.err)(copy_error(f))),
            (Some(Ok(v)), None) => Ok(v),
            // It panicked (and was rolled back).
            (None, None) => Err((self.err)(write_failed())),
        };
        // The requester may have gone away (its connection closed): nothing to tell.
        if let Some(reply) = self.reply {
            let _ = reply.send(Reply::Done(out));
        }
    }

    fn hand_lead(&mut self, token: LeadToken) -> bool {
        let Some(reply) = self.reply.take() else {
            token.disarm();
            return false;
        };
        let (next, answer) = tokio::sync::oneshot::channel();
        match reply.send(Reply::Lead(token, answer)) {
            Ok(()) => {
                self.reply = Some(next);
                true
            }
            Err(Reply::Lead(token, _)) => {
                token.disarm();
                false
            }
            Err(Reply::Done(_)) => false,
        }
    }
}

/// The error of a write that ended without a result of its own.
fn write_failed() -> rusqlite::Error {
    failure(
        rusqlite::ffi::SQLITE_ERROR,
        "the write failed and was rolled back",
    )
}

/// The same error again, for each write of a group that failed as a whole.
fn copy_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, m) => rusqlite::Error::SqliteFailure(*f, m.clone()),
        other => failure(rusqlite::ffi::SQLITE_ERROR, &other.to_string()),
    }
}

/// A reader connection (or the writer, for a database without readers) in a read
/// transaction, ended when the guard drops.
pub(crate) struct ReadGuard<'a> {
    conn: MutexGuard<'a, Connection>,
}

impl Deref for ReadGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        // Nothing was written: ending the transaction cannot lose anything. If it fails the
        // connection is still in autocommit mode, or the next BEGIN reports it.
        if !self.conn.is_autocommit() {
            let _ = self
                .conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]));
        }
    }
}

impl Database {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`DbError`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, DbError> {
        let mut db = Self::setup(Connection::open(path)?, durability, true)?;
        for _ in 0..reader_count() {
            let conn = Connection::open(path)?;
            configure(&conn)?;
            conn.pragma_update(None, "query_only", "ON")?;
            db.readers.push(Mutex::new(conn));
        }
        // Checkpoints on a thread of their own (see `checkpoint_loop`); the writer's
        // automatic checkpoint stays on when the thread cannot start.
        let conn = Connection::open(path)?;
        configure(&conn)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.busy_handler(Some(restart_busy))?;
        // The database file, to sync it before a restart (see `checkpoint_loop`).
        let db_file = kept_open(path);
        let (stop, stopped) = mpsc::channel();
        let writer = Arc::downgrade(&db.writer);
        // The WAL restart on a thread of its own, at normal priority (see `lower_priority`).
        let restart_conn = Connection::open(path)?;
        configure(&restart_conn)?;
        restart_conn.pragma_update(None, "synchronous", sync)?;
        restart_conn.busy_handler(Some(restart_busy))?;
        let (run, runs) = mpsc::channel();
        let (done, done_rx) = mpsc::channel();
        let restarter = std::thread::Builder::new()
            .name("scim-restart".to_owned())
            .spawn(move || restart_loop(&restart_conn, &runs, &done))
            .ok()
            .map(|_| (run, done_rx));
        let spawned = std::thread::Builder::new()
            .name("scim-checkpoint".to_owned())
            .spawn(move || {
                if let Some(nice) = checkpoint_nice() {
                    lower_priority(nice);
                }
                checkpoint_loop(
                    &conn,
                    db_file.as_deref(),
                    &writer,
                    &stopped,
                    restarter.as_ref(),
                );
            });
        if spawned.is_ok() {
            let writer = db.lock();
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
            let page_size: i64 = writer.pragma_query_value(None, "page_size", |r| r.get(0))?;
            writer.pragma_update(None, "journal_size_limit", wal_keep_bytes(page_size))?;
            drop(writer);
            db._checkpointer = Some(stop);
        }
        Ok(db)
    }

    /// A private in-memory database (for tests).
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::setup(Connection::open_in_memory()?, Durability::Normal, false)
    }

    fn setup(mut conn: Connection, durability: Durability, wal: bool) -> Result<Self, DbError> {
        configure(&conn)?;
        // Takes effect only while the database is still empty (before `journal_mode`
        // writes its first page); an existing database keeps its page size.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        migrate(&mut conn)?;
        Ok(Database {
            writer: Arc::new(Writer {
                conn: Mutex::new(conn),
                queue: Mutex::new(Queue::default()),
                handed: Condvar::new(),
                #[cfg(test)]
                queued: AtomicUsize::new(0),
                #[cfg(test)]
                groups: AtomicUsize::new(0),
                #[cfg(test)]
                pauses: AtomicUsize::new(0),
            }),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            _checkpointer: None,
        })
    }

    /// The writer connection, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.writer.conn()
    }

    /// A connection for a read of one statement (which is its own transaction): the writer
    /// if it is free, else a free reader, else the next reader in turn (waiting for it); the
    /// writer when the database has no readers. Never hold the guard while writing.
    ///
    /// # Errors
    ///
    /// When a transaction left open cannot be ended.
    pub(crate) fn reader(&self) -> rusqlite::Result<ReadGuard<'_>> {
        let conn =
            if self.readers.is_empty() {
                self.lock()
            } else {
                let n = self.readers.len();
                let first = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
                // The writer first when it is free: a reader drops its whole page cache whenever
                // another connection committed, the writer's survives its own commits.
                let free =
                    self.writer.conn.try_lock().ok().or_else(|| {
                        (0..n).find_map(|i| self.readers[(first + i) % n].try_lock().ok())
                    });
                match free {
                    Some(c) => c,
                    None => self.readers[first]
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()),
                }
            };
        // Never nest: a transaction left open (its end failed) is ended first.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        Ok(ReadGuard { conn })
    }

    /// A [`reader`](Self::reader) in a read transaction until the guard drops, for a read
    /// of several statements that must see one state of the database.
    ///
    /// # Errors
    ///
    /// When the transaction cannot begin.
    pub(crate) fn snapshot(&self) -> rusqlite::Result<ReadGuard<'_>> {
        let guard = self.reader()?;
        guard.conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(guard)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, committed when it returns `Ok`.
    /// SQLite's errors are turned into `E` by `err`.
    pub(crate) fn write<T, E>(
        &self,
        err: impl Fn(rusqlite::Error) -> E,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let out = f(&tx)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Runs `f` as one write of a **group commit** and answers after the commit.
    ///
    /// The write is queued; when no group is in progress it leads (see [`Writer::lead`]),
    /// on the calling thread. The writes waiting when a leader starts a group are taken
    /// together (at most [`MAX_GROUP`]): one
    /// `BEGIN IMMEDIATE`, each write in its own `SAVEPOINT` (a write that fails, or
    /// panics, is rolled back to it and only it fails), one `COMMIT`, then every write is
    /// answered. Nothing is answered before the commit that holds it, so durability is
    /// that of [`write`](Self::write). The writes of a group run one after another in the
    /// order they were queued, each seeing the ones before it, as separate transactions
    /// would.
    pub(crate) async fn write_grouped<T, E, F>(
        self: &Arc<Self>,
        err: fn(rusqlite::Error) -> E,
        f: F,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let traced = crate::trace::now();
        let mut led = false;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Box::new(Pending {
            work: Some(f),
            out: None,
            reply: Some(reply),
            err,
        });
        // Queues; when no group is in progress, this write leads the next one on this
        // thread, after letting the thread's other ready tasks queue their writes too (a
        // larger group: one commit, one set of WAL frames for all).
        if self.writer.enqueue(job) {
            let lead = LeadToken(Some(Arc::clone(&self.writer)));
            tokio::task::yield_now().await;
            // Leads here, or when dropped with this future if it is dropped while it
            // yields: either way the queued writes run.
            lead.lead();
            led = true;
        }
        let mut answer = answer;
        loop {
            match answer.await {
                Ok(Reply::Done(out)) => {
                    if let Some(t0) = traced {
                        crate::trace::event("w", t0, true, format_args!("{}", u8::from(led)));
                    }
                    return out;
                }
                // A leader handed this write the lead: run the queued writes (this one
                // among them) on this thread, then take the answer.
                Ok(Reply::Lead(token, next)) => {
                    token.lead();
                    led = true;
                    answer = next;
                }
                // Dropped unanswered (cannot happen: every queued write is answered).
                Err(_) => return Err(err(write_failed())),
            }
        }
    }

    /// Marks the database as started once; `true` the first time only.
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn claim_bootstrap(&self) -> Result<bool, DbError> {
        Ok(self.lock().execute(
            "INSERT OR IGNORE INTO counters (name, value) VALUES ('bootstrapped', 1)",
            [],
        )? > 0)
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn schema_version(&self) -> Result<u32, DbError> {
        Ok(self
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

/// What every connection needs: the busy timeout, foreign keys, the SQL functions the
/// filter compiler calls.
pub(crate) fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The statements of a request stay prepared: list queries differ by filter shape.
    // (No memory map: a connection drops its whole map whenever another one committed.)
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(FOLD_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok().map(fold),
            _ => None,
        })
    })?;
    conn.create_scalar_function(INSTANT_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(instant_key),
            _ => None,
        })
    })?;
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let known = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(DbError::TooNew { found, known });
        }
        let Some(sql) = MIGRATIONS.get(found as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database path `file` in a folder of this process named after `tag`: the
    /// folder (for the caller to remove) and the path, with no database there yet.
    fn scratch(tag: &str, file: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("{tag}{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(file);
        let _ = std::fs::remove_file(&path);
        (dir, path)
    }

    #[cfg(unix)]
    #[test]
    fn one_descriptor_per_file_kept_for_the_process() {
        let (dir, path) = scratch("scim-db-sync-", "s.db");
        let other = dir.join("t.db");
        std::fs::write(&path, b"").expect("write");
        std::fs::write(&other, b"").expect("write");
        let first = kept_open(&path).expect("open");
        let again = kept_open(&path).expect("open");
        assert!(Arc::ptr_eq(&first, &again), "one descriptor per file");
        // Another name of the same file (a hard link) shares it as well.
        let link = dir.join("s-link.db");
        let _ = std::fs::remove_file(&link);
        std::fs::hard_link(&path, &link).expect("link");
        assert!(Arc::ptr_eq(&first, &kept_open(&link).expect("open")));
        let second = kept_open(&other).expect("open");
        assert!(
            !Arc::ptr_eq(&first, &second),
            "another file, another descriptor"
        );
        drop((first, again));
        // The registry holds it: the file stays open after every database let go.
        let kept = kept_open(&path).expect("open");
        assert_eq!(Arc::strong_count(&kept), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn migrates_to_the_latest_version_once() {
        let (dir, path) = scratch("scim-db-", "m.db");
        let db = Database::open(&path, Durability::Full).expect("open");
        assert_eq!(db.schema_version().expect("v") as usize, MIGRATIONS.len());
        let mode: String = db
            .lock()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        drop(db);
        let again = Database::open(&path, Durability::Normal).expect("reopen");
        assert_eq!(
            again.schema_version().expect("v") as usize,
            MIGRATIONS.len()
        );
        let sync: i64 = again
            .lock()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("sync");
        assert_eq!(sync, 1, "NORMAL");
        let limit: i64 = again
            .lock()
            .pragma_query_value(None, "journal_size_limit", |r| r.get(0))
            .expect("limit");
        assert_eq!(limit, wal_keep_bytes(PAGE_SIZE));
        let (page_size, cache): (i64, i64) = {
            let w = again.lock();
            let p = w.pragma_query_value(None, "page_size", |r| r.get(0));
            let c = w.pragma_query_value(None, "cache_size", |r| r.get(0));
            (p.expect("page size"), c.expect("cache size"))
        };
        assert_eq!(page_size, PAGE_SIZE, "a new database gets PAGE_SIZE");
        assert_eq!(cache, -WRITER_CACHE_KIB);
        again
            .lock()
            .pragma_update(None, "user_version", 99)
            .expect("set");
        drop(again);
        assert!(matches!(
            Database::open(&path, Durability::Normal),
            Err(DbError::TooNew { found: 99, .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_existing_database_keeps_its_page_size() {
        let (dir, path) = scratch("scim-db-page-", "p.db");
        {
            let conn = Connection::open(&path).expect("create");
            conn.pragma_update(None, "page_size", 4096)
                .expect("page size");
            conn.pragma_update(None, "journal_mode", "WAL")
                .expect("wal");
        }
        let db = Database::open(&path, Durability::Normal).expect("open");
        let (page_size, limit): (i64, i64) = {
            let w = db.lock();
            let p = w.pragma_query_value(None, "page_size", |r| r.get(0));
            let l = w.pragma_query_value(None, "journal_size_limit", |r| r.get(0));
            (p.expect("page size"), l.expect("limit"))
        };
        assert_eq!(page_size, 4096);
        assert_eq!(
            limit,
            wal_keep_bytes(4096),
            "the WAL kept is sized for its pages"
        );
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Queues `n` grouped writes from threads of their own while the writer connection is
    /// held, so that they wait in the queue together; `job(i)` is the write of thread `i`.
    fn queued_writes<T: Send + 'static>(
        db: &Arc<Database>,
        n: usize,
        job: impl Fn(usize, &rusqlite::Transaction<'_>) -> Result<T, String>
        + Send
        + Sync
        + Copy
        + 'static,
    ) -> Vec<Result<T, String>> {
        let held = db.lock();
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let db = db.clone();
                std::thread::spawn(move || {
                    crate::pg::block_on(db.write_grouped(|e| e.to_string(), move |tx| job(i, tx)))
                })
            })
            .collect();
        // Every write is queued (the first one leads, and waits for the
        // connection) before the connection is released.
        while db.writer.queued.load(Ordering::SeqCst) < n {
            std::thread::yield_now();
        }
        drop(held);
        threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    }

    fn insert_counter(tx: &rusqlite::Transaction<'_>, name: &str) -> Result<(), String> {
        tx.execute(
            "INSERT INTO counters (name, value) VALUES (?1, 1)",
            rusqlite::params![name],
        )
        .map(drop)
        .map_err(|e| e.to_string())
    }

    /// One statement run as a grouped write, waited for.
    fn write_sql<P: rusqlite::Params + Send + 'static>(
        db: &Arc<Database>,
        sql: &'static str,
        params: P,
    ) {
        crate::pg::block_on(db.write_grouped(
            |e| e.to_string(),
            move |tx| tx.execute(sql, params).map(drop).map_err(|e| e.to_string()),
        ))
        .expect("write");
    }

    /// A new database in a scratch directory, with an empty table `blobs (id, data)`.
    fn blobs_db(tag: &str, file: &str) -> (std::path::PathBuf, std::path::PathBuf, Arc<Database>) {
        let (dir, path) = scratch(tag, file);
        let db = Arc::new(Database::open(&path, Durability::Normal).expect("open"));
        db.lock()
            .execute_batch("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL);")
            .expect("table");
        (dir, path, db)
    }

    fn counter_names(db: &Database) -> Vec<String> {
        let conn = db.lock();
        let mut s = conn
            .prepare("SELECT name FROM counters WHERE name LIKE 'w%' ORDER BY name")
            .expect("prepare");
        s.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn queued_writes_commit_together_and_all_are_acknowledged() {
        let (dir, path) = scratch("scim-db-group-", "g.db");
        let db = Arc::new(Database::open(&path, Durability::Normal).expect("open"));
        let results = queued_writes(&db, 12, |i, tx| insert_counter(tx, &format!("w{i:02}")));
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        // The first write may have been taken alone; the others waited behind it together.
        let groups = db.writer.groups.load(Ordering::SeqCst);
        assert!(groups <= 2, "12 queued writes took {groups} commits");
        drop(db);
        // Every acknowledged write is in the file.
        let again = Database::open(&path, Durability::Normal).expect("reopen");
        let expected: Vec<String> = (0..12).map(|i| format!("w{i:02}")).collect();
        assert_eq!(counter_names(&again), expected);
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A grouped write from a thread of its own, started now.
    fn spawn_write(
        db: &Arc<Database>,
        name: &'static str,
    ) -> std::thread::JoinHandle<Result<(), String>> {
        let db = db.clone();
        std::thread::spawn(move || {
            crate::pg::block_on(
                db.write_grouped(|e| e.to_string(), move |tx| insert_counter(tx, name)),
            )
        })
    }

    fn wait_queued(db: &Database, n: usize) {
        while db.writer.queued.load(Ordering::SeqCst) < n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn writes_queue_while_the_checkpoint_holds_the_lead_and_run_when_it_leads() {
        let db = Arc::new(Database::open_in_memory().expect("db"));
        // No one leads: the lead is taken at once.
        assert!(db.writer.pause());
        let a = spawn_write(&db, "wa");
        let b = spawn_write(&db, "wb");
        wait_queued(&db, 2);
        // Queued, not waiting on the connection: it is free, and nothing was written.
        assert!(db.writer.conn.try_lock().is_ok());
        assert!(counter_names(&db).is_empty());
        assert_eq!(db.writer.groups.load(Ordering::SeqCst), 0);
        // The holder of the lead runs them, as one group.
        db.writer.lead();
        assert_eq!(a.join().expect("a"), Ok(()));
        assert_eq!(b.join().expect("b"), Ok(()));
        assert_eq!(counter_names(&db), ["wa", "wb"]);
        assert_eq!(db.writer.groups.load(Ordering::SeqCst), 1);
        // The lead is free again: the next write leads by itself.
        assert_eq!(
            crate::pg::block_on(db.write_grouped(|e| e.to_string(), |tx| insert_counter(tx, "wc"))),
            Ok(())
        );
        assert!(!db.writer.queue().leading);
    }

    #[test]
    fn a_leader_hands_the_lead_to_the_checkpoint_between_groups() {
        let db = Arc::new(Database::open_in_memory().expect("db"));
        let held = db.lock();
        // This write leads, and waits for the connection.
        let a = spawn_write(&db, "wa");
        wait_queued(&db, 1);
        while !db.writer.queue().leading {
            std::thread::yield_now();
        }
        // Asked while the leader cannot answer: no lead within the wait.
        let started = std::time::Instant::now();
        assert!(!db.writer.pause());
        assert!(started.elapsed() >= PAUSE_WAIT);
        assert!(!db.writer.queue().pause_wanted);
        // Asked again, and granted once the leader gets the connection: before it runs
        // its group, so the write is still queued.
        let pauser = {
            let db = db.clone();
            std::thread::spawn(move || db.writer.pause())
        };
        while !db.writer.queue().pause_wanted {
            std::thread::yield_now();
        }
        drop(held);
        assert!(pauser.join().expect("pauser"));
        assert!(counter_names(&db).is_empty());
        assert_eq!(db.writer.queue().jobs.len(), 1);
        assert!(!a.is_finished());
        db.writer.lead();
        assert_eq!(a.join().expect("a"), Ok(()));
        assert_eq!(counter_names(&db), ["wa"]);
    }

    #[test]
    fn a_leader_passes_the_lead_to_a_queued_write_after_its_group() {
        let db = Arc::new(Database::open_in_memory().expect("db"));
        let (entered, entered_rx) = std::sync::mpsc::channel::<()>();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        // The leader's write holds its group open until two more writes are queued.
        let leader = {
            let db = db.clone();
            std::thread::spawn(move || {
                let me = std::thread::current().id();
                let out = crate::pg::block_on(db.write_grouped(
                    |e| e.to_string(),
                    move |tx| {
                        entered.send(()).expect("entered");
                        go_rx.recv().expect("go");
                        insert_counter(tx, "wa")
                    },
                ));
                (me, out)
            })
        };
        entered_rx.recv().expect("the leader runs its group");
        // Each queued write answers the thread that ran it.
        let queue = |name: &'static str| {
            let db = db.clone();
            std::thread::spawn(move || {
                let me = std::thread::current().id();
                let ran_on = crate::pg::block_on(db.write_grouped(
                    |e| e.to_string(),
                    move |tx| insert_counter(tx, name).map(|()| std::thread::current().id()),
                ));
                (me, ran_on)
            })
        };
        let b = queue("wb");
        wait_queued(&db, 2);
        let c = queue("wc");
        wait_queued(&db, 3);
        go.send(()).expect("go");
        let (leader_thread, out) = leader.join().expect("leader");
        assert_eq!(out, Ok(()));
        let (b_thread, b_ran) = b.join().expect("b");
        let (_, c_ran) = c.join().expect("c");
        // The leader ran its own group only; the oldest queued write took the lead and
        // ran both queued writes, as one group, on its own thread.
        assert_ne!(b_thread, leader_thread);
        assert_eq!(b_ran, Ok(b_thread));
        assert_eq!(c_ran, Ok(b_thread));
        assert_eq!(db.writer.groups.load(Ordering::SeqCst), 2);
        assert_eq!(counter_names(&db), ["wa", "wb", "wc"]);
        assert!(!db.writer.queue().leading);
    }

    #[test]
    fn a_lead_passed_to_a_task_that_went_away_is_not_lost() {
        let db = Arc::new(Database::open_in_memory().expect("db"));
        // The lead is held (as by the checkpoint) while a write queues.
        assert!(db.writer.pause());
        let a = spawn_write(&db, "wa");
        wait_queued(&db, 1);
        // A lead token dropped unread (its task was dropped) leads where it is dropped.
        drop(LeadToken(Some(Arc::clone(&db.writer))));
        assert_eq!(a.join().expect("a"), Ok(()));
        assert_eq!(counter_names(&db), ["wa"]);
        assert!(!db.writer.queue().leading);
    }

    #[test]
    fn a_failing_write_undoes_only_itself() {
        let db = Arc::new(Database::open_in_memory().expect("db"));
        let results = queued_writes(&db, 6, |i, tx| {
            insert_counter(tx, &format!("w{i}"))?;
            match i {
                // Wrote, then failed: its own row must go.
                2 => Err("refused".to_owned()),
                // A statement error of its own (the row exists already).
                3 => insert_counter(tx, "w3").map(|()| i),
                // A panic is a failure of this write alone.
                4 => panic!("write 4 panics"),
                _ => Ok(i),
            }
        });
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), ![2, 3, 4].contains(&i), "write {i}: {r:?}");
        }
        assert_eq!(results[2], Err("refused".to_owned()));
        assert!(
            results[4]
                .as_ref()
                .is_err_and(|e| e.contains("rolled back")),
            "{:?}",
            results[4]
        );
        assert_eq!(counter_names(&db), ["w0", "w1", "w5"]);
        // The connection is usable afterwards, outside a transaction.
        assert!(db.lock().is_autocommit());
        let later =
            crate::pg::block_on(db.write_grouped(|e| e.to_string(), |tx| insert_counter(tx, "w9")));
        assert_eq!(later, Ok(()));
        assert_eq!(counter_names(&db), ["w0", "w1", "w5", "w9"]);
    }

    #[test]
    fn steady_writes_start_the_wal_over() {
        let (dir, path) = scratch("scim-db-wal-", "w.db");
        let db = Arc::new(Database::open(&path, Durability::Normal).expect("open"));
        const ROWS: i64 = 64;
        db.lock()
            .execute_batch(
                "CREATE TABLE blobs (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, data BLOB NOT NULL);
                 WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 64)
                 INSERT INTO blobs SELECT i, -1, zeroblob(16000) FROM k;",
            )
            .expect("table");
        // A reader beside the writes, holding read transactions open now and then.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let conn = db.snapshot().expect("snapshot");
                    let n: i64 = conn
                        .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
                        .expect("count");
                    assert_eq!(n, ROWS);
                    drop(conn);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        // Each write rewrites one row of overflow pages (eight of 2 KiB): at least nine
        // frames, so 54 WALs' worth without a pause; without a restart the WAL would hold
        // them all (about 43,000 frames).
        let wal = dir.join("w.db-wal");
        let page: i64 = db
            .lock()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let frame = page + 24;
        let mut longest = 0;
        let writes = 6 * RESTART_FRAMES;
        for i in 0..writes {
            write_sql(
                &db,
                "UPDATE blobs SET n = ?1, data = randomblob(16000) WHERE id = ?2",
                (i, i % ROWS + 1),
            );
            longest = longest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().expect("reader");
        let frames = i64::try_from(longest).unwrap_or(i64::MAX) / frame;
        // The writes outrun the passive checkpoints here (they copy each frame again and
        // share the cores): the WAL reaches FORCE_FRAMES and what the writes add until the
        // checkpoint thread's next look and the restart's pause, never the whole. How much
        // that is depends on how long the checkpoint thread waits for a core: peaks of
        // 2,500 to 5,100 frames under load, and 8,680 in a CI run whose other tests ran
        // beside this one. The bound leaves room for that and is still under a third of the
        // whole.
        assert!(
            frames < FORCE_FRAMES + 12 * RESTART_FRAMES,
            "the WAL reached {frames} frames (restart at {RESTART_FRAMES}, forced at {FORCE_FRAMES})"
        );
        drop(db);
        // Every write is there, after the restarts.
        let again = Database::open(&path, Durability::Normal).expect("reopen");
        for id in 1..=ROWS {
            let (n, len): (i64, i64) = again
                .lock()
                .query_row(
                    "SELECT n, length(data) FROM blobs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("row");
            let last = (writes - id) / ROWS * ROWS + id - 1;
            assert_eq!((n, len), (last, 16000), "row {id}");
        }
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_reader_holding_the_copies_back_does_not_pause_the_writes_at_every_look() {
        let (dir, path, db) = blobs_db("scim-db-pinned-", "p.db");
        let write = |id: i64| {
            write_sql(
                &db,
                "INSERT OR REPLACE INTO blobs VALUES (?1, randomblob(16000))",
                [id],
            );
        };
        // A reader's snapshot from before the writes (another connection's, as another
        // process would hold it): while it lasts, none of the frames written after it can
        // be copied into the database file.
        let reader = rusqlite::Connection::open(&path).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let n: i64 = reader
            .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 0);
        // Past FORCE_FRAMES (each write adds at least nine frames of 2 KiB).
        let writes = (FORCE_FRAMES + RESTART_FRAMES) / 9;
        for id in 0..writes {
            write(id);
        }
        let pauses = || db.writer.pauses.load(Ordering::SeqCst);
        let before = pauses();
        // Ten looks of the checkpoint thread, the reader still there: the writes are not
        // paused for a restart that the reader would keep from finishing.
        std::thread::sleep(CHECKPOINT_PERIOD * 10);
        let held = pauses() - before;
        assert!(held <= 1, "{held} pauses while the reader held the WAL");
        // Once the reader is gone, the WAL is copied and started over.
        drop(reader);
        write(writes);
        let until = std::time::Instant::now() + Duration::from_secs(10);
        let mut log = i64::MAX;
        while std::time::Instant::now() < until {
            write(writes + 1);
            log = db
                .lock()
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .expect("log");
            if log < RESTART_FRAMES {
                break;
            }
            std::thread::sleep(CHECKPOINT_PERIOD);
        }
        assert!(log < RESTART_FRAMES, "the WAL still holds {log} frames");
        let n: i64 = db
            .lock()
            .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, writes + 2);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_idle_wal_copied_to_its_end_pauses_no_write_and_the_next_write_starts_it_over() {
        let (dir, _, db) = blobs_db("scim-db-idle-", "i.db");
        // One write past the restart length (a row of about a page each), then nothing.
        let rows = RESTART_FRAMES + 100;
        write_sql(
            &db,
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
             INSERT INTO blobs SELECT i, randomblob(3900) FROM k",
            [rows],
        );
        let pauses = || db.writer.pauses.load(Ordering::SeqCst);
        // The checkpoint thread copies it all and takes the lead once (its first look
        // after the write: the WAL grew); then, while nothing is written, it leaves the
        // WAL alone.
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while pauses() == 0 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pauses(), 1);
        std::thread::sleep(CHECKPOINT_IDLE_PERIOD * 6);
        assert_eq!(pauses(), 1, "paused while idle");
        // The next write starts the WAL over by itself.
        write_sql(&db, "UPDATE blobs SET data = zeroblob(10) WHERE id = 1", []);
        let log: i64 = db
            .lock()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .expect("log");
        assert!(log < 10, "the WAL holds {log} frames");
        let n: i64 = db
            .lock()
            .query_row("SELECT COUNT(*) FROM blobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, rows);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The nice value of each thread of this process named `name` (Linux).
    #[cfg(target_os = "linux")]
    fn nice_of(name: &str) -> Vec<i64> {
        let mut found = Vec::new();
        for task in std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .flatten()
        {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end() != name {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // The fields after the name (in parentheses) start with the third, the state;
            // the nice value is the nineteenth.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            if let Some(nice) = rest.split_whitespace().nth(16) {
                found.push(nice.parse().expect("nice"));
            }
        }
        found
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn lower_priority_lowers_the_calling_thread_only() {
        let own = |name: &str| nice_of(name).first().copied();
        let (ready, lowered) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let t = std::thread::Builder::new()
            .name("scim-nice-test".to_owned())
            .spawn(move || {
                // The lowest: allowed whatever the thread's priority was.
                lower_priority(19);
                ready.send(()).expect("ready");
                let _ = stopped.recv();
            })
            .expect("spawn");
        lowered.recv().expect("lowered");
        let before = nice_of("scim-nice-test");
        stop.send(()).expect("stop");
        t.join().expect("join");
        // The process's (the main thread's) priority is unchanged.
        let main = std::fs::read_to_string("/proc/self/stat").expect("stat");
        let main: i64 = main
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16)?.parse().ok())
            .expect("nice");
        assert_eq!(before, [19]);
        assert_ne!(main, 19, "run the tests at a nice value under 19");
        assert_eq!(own("scim-nice-test"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_restart_runs_on_a_thread_of_its_own_at_the_process_s_priority() {
        let (dir, path) = scratch("scim-db-nice-", "n.db");
        let db = Database::open(&path, Durability::Normal).expect("open");
        let main = std::fs::read_to_string("/proc/self/stat").expect("stat");
        let main: i64 = main
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16)?.parse().ok())
            .expect("nice");
        // The restart thread holds the writes' lead: never lowered.
        let restart = nice_of("scim-restart");
        assert!(
            !restart.is_empty() && restart.iter().all(|&n| n == main),
            "{restart:?}"
        );
        if checkpoint_nice().is_none() {
            // Without the setting, the checkpoint thread keeps the process's priority.
            let copier = nice_of("scim-checkpoint");
            assert!(
                !copier.is_empty() && copier.iter().all(|&n| n == main),
                "{copier:?}"
            );
        }
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fold_function_matches_rust() {
        let db = Database::open_in_memory().expect("db");
        let got: String = db
            .lock()
            .query_row("SELECT scim_fold('ΟΔΥΣΣΕΎΣ Ärger')", [], |r| {
                r.get(0)
            })
            .expect("q");
        assert_eq!(got, fold("ΟΔΥΣΣΕΎΣ Ärger"));
    }
}
