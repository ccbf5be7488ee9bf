//! Read transactions kept open across the requests a worker thread answers back to back.
//!
//! A read transaction of SQLite in WAL mode takes a read mark in the shared memory (the
//! `-shm` file) to begin and drops it to end: a process-wide mutex and, unless another
//! connection of the process holds the same mark, an `fcntl` lock and unlock each time.
//! Under load that was most of what a GET by id cost the kernel beyond its socket calls.
//!
//! A worker thread that opted in ([`enable_on_this_thread`]) keeps one connection of its
//! own per database, and its read transaction stays open after a read. The next read on
//! that thread first reads the WAL-index header (the first 96 bytes of the `-shm` file,
//! which every commit of every process rewrites before it returns) with one `pread`:
//! while it is byte for byte the header read right before the transaction began, nothing
//! has been committed since, by anyone, and the open transaction sees the current state
//! of the database; otherwise the transaction is ended and a new one begun (after a new
//! header read). A write acknowledged before a request arrived is therefore always seen by
//! that request.
//!
//! An open read transaction keeps its snapshot's frames of the WAL in use (a checkpoint
//! cannot copy past them, the WAL cannot start over), so it ends whenever the thread goes
//! idle ([`release`], the worker runtime's park hook) or answers a request that may write
//! (the server calls [`release`] after it). Threads that did not opt in (actix-web's
//! workers, tests) read as before, one transaction per read.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Weak};

use rusqlite::Connection;

use crate::db::{Database, configure};

/// The two copies of the WAL-index header, the first bytes of the `-shm` file (SQLite's
/// WAL format: two 48-byte copies of the header, then the checkpoint information, whose
/// read marks change without any commit and so are left out). Every commit changes them.
pub(crate) type WalHeader = [u8; 96];

/// The WAL index (the `-shm` file) of a database, read for its header.
#[derive(Debug)]
pub(crate) struct WalIndex {
    /// Kept open for the life of the process ([`crate::db::kept_open`]): a closed
    /// descriptor of the `-shm` file would drop SQLite's locks in it (read marks, the
    /// writer's lock) for the whole process.
    #[cfg(unix)]
    shm: Arc<std::fs::File>,
}

impl WalIndex {
    /// The WAL index of the database file at `path`, if it has one.
    pub(crate) fn open(path: &str) -> Option<Self> {
        #[cfg(unix)]
        {
            let shm = crate::db::kept_open(std::path::Path::new(&format!("{path}-shm")))?;
            Some(WalIndex { shm })
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// The header now; `None` when it cannot be read whole.
    pub(crate) fn header(&self) -> Option<WalHeader> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            let mut h = [0u8; 96];
            self.shm.read_exact_at(&mut h, 0).ok()?;
            Some(h)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// This thread's connection to one database and its open read transaction.
struct Held {
    /// The database it reads (compared by identity; a dropped database closes it).
    db: Weak<Database>,
    conn: Connection,
    shm: WalIndex,
    /// The header read right before the open transaction began; `None`: none is open.
    seen: Option<WalHeader>,
}

impl Held {
    fn open(db: &Arc<Database>) -> Option<Self> {
        #[cfg(unix)]
        {
            let path = db
                .reader()
                .ok()?
                .path()
                .filter(|p| !p.is_empty())?
                .to_owned();
            let conn = Connection::open(&path).ok()?;
            let mode: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .ok()?;
            if !mode.eq_ignore_ascii_case("wal") {
                return None;
            }
            // What the list queries need, as on the database's own connections.
            configure(&conn).ok()?;
            conn.pragma_update(None, "query_only", "ON").ok()?;
            let shm = WalIndex::open(&path)?;
            Some(Held {
                db: Arc::downgrade(db),
                conn,
                shm,
                seen: None,
            })
        }
        #[cfg(not(unix))]
        {
            let _ = db;
            None
        }
    }

    fn header(&self) -> Option<WalHeader> {
        self.shm.header()
    }

    /// Ends the open transaction, if any.
    fn end(&mut self) -> rusqlite::Result<()> {
        self.seen = None;
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.prepare_cached("COMMIT")?.execute([]).map(drop)
    }

    /// The connection in a read transaction that sees every commit that ended before this
    /// call: the open one when no commit happened since it began, else a new one.
    fn current(&mut self) -> rusqlite::Result<&Connection> {
        // Read before the transaction begins (its snapshot is taken by its first read,
        // later still): a later equal header means nothing was committed since.
        let now = request_header(|| self.header());
        if now.is_some() && self.seen == now && !self.conn.is_autocommit() {
            return Ok(&self.conn);
        }
        self.end()?;
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        self.seen = now;
        Ok(&self.conn)
    }
}

std::thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
    /// The WAL-index header read during the request this thread is answering (see
    /// [`Request`]).
    static REQUEST_HEADER: Cell<Option<WalHeader>> = const { Cell::new(None) };
    static IN_REQUEST: Cell<bool> = const { Cell::new(false) };
}

/// The scope of one request on this thread: within it the WAL-index header is read once
/// and the token check and the resource's read compare against that one reading. A header
/// read after the request arrived tells of every commit that ended before it arrived, which
/// is all a request must see. The reading is forgotten when a request begins or ends on
/// this thread (two requests may interleave on one thread: a reading kept is then always
/// newer than the start of each of them).
#[derive(Debug)]
pub(crate) struct Request(());

impl Request {
    /// Begins the scope.
    pub(crate) fn begin() -> Self {
        IN_REQUEST.with(|r| r.set(true));
        REQUEST_HEADER.with(|h| h.set(None));
        Request(())
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        IN_REQUEST.with(|r| r.set(false));
        REQUEST_HEADER.with(|h| h.set(None));
    }
}

/// The WAL-index header, read by `read` unless the request being answered on this thread
/// read it already.
pub(crate) fn request_header(read: impl FnOnce() -> Option<WalHeader>) -> Option<WalHeader> {
    if !IN_REQUEST.with(Cell::get) {
        return read();
    }
    if let Some(h) = REQUEST_HEADER.with(Cell::get) {
        return Some(h);
    }
    let h = read();
    REQUEST_HEADER.with(|c| c.set(h));
    h
}

/// Lets reads on this thread keep their read transaction open (see the module). The
/// thread must call [`release`] whenever it goes idle and after a request that may write.
pub(crate) fn enable_on_this_thread() {
    ENABLED.with(|e| e.set(true));
}

/// Ends this thread's open read transaction, if any.
pub(crate) fn release() {
    HELD.with(|h| {
        if let Ok(mut held) = h.try_borrow_mut()
            && let Some(x) = held.as_mut()
            && x.end().is_err()
        {
            // A transaction that cannot be ended is not kept: closing ends it.
            *held = None;
        }
    });
}

/// Runs `read` on this thread's connection to `db` in a read transaction that sees every
/// commit that ended before the call, left open afterwards; `None` when this thread did
/// not opt in or the database has no WAL index (the caller then reads as usual). A read
/// that fails ends the transaction.
pub(crate) fn read<T, E>(
    db: &Arc<Database>,
    read: impl FnOnce(&Connection) -> Result<T, E>,
) -> Option<Result<T, E>> {
    if !ENABLED.with(Cell::get) {
        return None;
    }
    HELD.with(|h| {
        let mut held = h.try_borrow_mut().ok()?;
        let same = held
            .as_ref()
            .is_some_and(|x| std::ptr::eq(x.db.as_ptr(), Arc::as_ptr(db)));
        if !same {
            *held = None;
            *held = Some(Held::open(db)?);
        }
        let x = held.as_mut()?;
        let Ok(conn) = x.current() else {
            *held = None;
            return None;
        };
        let result = read(conn);
        if result.is_err() && x.end().is_err() {
            *held = None;
        }
        Some(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Durability;

    fn scratch(tag: &str) -> (std::path::PathBuf, Arc<Database>) {
        let dir = std::env::temp_dir().join(format!("scim-held-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Arc::new(Database::open(&dir.join("t.db"), Durability::Normal).unwrap());
        db.write(
            |e| e,
            |tx| tx.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);"),
        )
        .unwrap();
        (dir, db)
    }

    fn value(db: &Arc<Database>) -> Option<i64> {
        read(db, |c| {
            c.query_row("SELECT max(v) FROM t", [], |r| r.get(0))
        })
        .map(Result::unwrap)
    }

    fn in_transaction() -> bool {
        HELD.with(|h| h.borrow().as_ref().is_some_and(|x| !x.conn.is_autocommit()))
    }

    #[test]
    fn threads_that_did_not_opt_in_read_as_usual() {
        let (dir, db) = scratch("off");
        std::thread::spawn(move || {
            assert_eq!(value(&db), None);
            assert!(!in_transaction());
        })
        .join()
        .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn every_commit_is_seen_by_the_next_read_and_release_ends_the_transaction() {
        let (dir, db) = scratch("commits");
        let path = dir.join("t.db");
        std::thread::spawn(move || {
            enable_on_this_thread();
            assert_eq!(value(&db), Some(1));
            assert!(in_transaction(), "the read transaction stays open");
            assert_eq!(value(&db), Some(1));
            // A commit of this process's writer, then one of another process's connection.
            db.write(|e| e, |tx| tx.execute("INSERT INTO t VALUES (2)", []))
                .unwrap();
            assert_eq!(value(&db), Some(2));
            let other = Connection::open(&path).unwrap();
            other.execute("INSERT INTO t VALUES (3)", []).unwrap();
            assert_eq!(value(&db), Some(3));
            release();
            assert!(!in_transaction());
            other.execute("INSERT INTO t VALUES (4)", []).unwrap();
            assert_eq!(value(&db), Some(4));
            // A held snapshot does not keep the WAL from being checkpointed once released.
            // (Retried: the database's own checkpoint thread may hold the checkpoint lock
            // for a moment, and a checkpoint that finds it taken answers busy at once. A
            // snapshot still held would keep it busy every time.)
            release();
            let truncated = (0..400).any(|_| {
                let (busy, _, _): (i64, i64, i64) = other
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .unwrap();
                busy == 0 || {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    false
                }
            });
            assert!(truncated, "the WAL stayed busy for 2 s");
            assert_eq!(value(&db), Some(4));
            other.execute("INSERT INTO t VALUES (5)", []).unwrap();
            assert_eq!(value(&db), Some(5));
        })
        .join()
        .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_database_gets_its_own_connection() {
        let (dir_a, a) = scratch("a");
        let (dir_b, b) = scratch("b");
        b.write(|e| e, |tx| tx.execute("INSERT INTO t VALUES (7)", []))
            .unwrap();
        std::thread::spawn(move || {
            enable_on_this_thread();
            assert_eq!(value(&a), Some(1));
            assert_eq!(value(&b), Some(7));
            assert_eq!(value(&a), Some(1));
            drop(a);
            assert_eq!(value(&b), Some(7));
        })
        .join()
        .unwrap();
        std::fs::remove_dir_all(dir_a).unwrap();
        std::fs::remove_dir_all(dir_b).unwrap();
    }

    #[test]
    fn a_failed_read_ends_the_transaction() {
        let (dir, db) = scratch("fail");
        std::thread::spawn(move || {
            enable_on_this_thread();
            let r = read(&db, |c| {
                c.query_row("SELECT nope FROM t", [], |r| r.get::<_, i64>(0))
            });
            assert!(r.unwrap().is_err());
            assert!(!in_transaction());
            assert_eq!(value(&db), Some(1));
        })
        .join()
        .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
