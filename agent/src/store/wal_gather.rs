//! Gathered WAL writes: a SQLite VFS over the platform's own (`unix`, `win32`) that writes a
//! transaction's WAL frames with one system call instead of two per page.
//!
//! SQLite writes each WAL frame as two writes, its 24-byte header and then its page, so a commit
//! of 13 pages made 26 `pwrite`s; a third of the writer thread's time was in them (issue 9,
//! part 3). This VFS keeps the appended frames in a buffer and writes them as one write when the
//! transaction's last frame (the one whose header carries the database size, the commit mark) is
//! complete, before SQLite publishes the frames in the WAL index where readers find them.
//!
//! It changes only when bytes reach the WAL file, never which bytes or where:
//! - Only appends are gathered. A write elsewhere (SQLite rewriting checksums of frames it has
//!   written, or the WAL header of a new generation) first writes what is gathered, then goes
//!   through at once.
//! - Whatever is gathered is written before any read, sync, truncate, size query, file control
//!   or close of that file, so SQLite never sees a file that lacks a write it made; a failed
//!   write is reported to the call that caused it (SQLite then rolls the transaction back).
//! - Only `-wal` files are wrapped. The database, its `-shm` and temporary files use the
//!   platform's methods unchanged (the same POSIX locks and the same shared-memory index), so
//!   other processes opening the database with plain SQLite see a normal database.
//!
//! Durability is unchanged: a `synchronous=FULL` commit syncs, and the sync writes the gathered
//! frames first; a `synchronous=NORMAL` commit is written to the file when it commits, as before.

use rusqlite::ffi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

/// The name this VFS is registered under.
pub const NAME: &CStr = c"tsunagi-wal";

/// The most bytes gathered into one write: the unix VFS writes at most 128 KiB − 1 per call
/// (its `seekAndWriteFd` masks the length with `0x1ffff`). A larger transaction costs one write
/// per 31 frames of 4 KiB.
const CAPACITY: usize = 0x1ffff;

/// A WAL frame header's length; bytes 4..8 hold the database size after a commit, else 0.
const FRAME_HEADER: usize = 24;

/// Registers the VFS once per process; later calls return the first result.
pub fn register() -> Result<(), c_int> {
    static REGISTERED: OnceLock<Result<(), c_int>> = OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe; the struct we
        // register is leaked, so it outlives every connection.
        unsafe {
            let base = ffi::sqlite3_vfs_find(ptr::null());
            if base.is_null() {
                return Err(ffi::SQLITE_ERROR);
            }
            BASE.store(base, Ordering::Release);
            let vfs = Box::leak(Box::new(wrap(&*base)));
            match ffi::sqlite3_vfs_register(vfs, 0) {
                ffi::SQLITE_OK => Ok(()),
                code => Err(code),
            }
        }
    })
}

/// The base VFS with our name, our opener and room for our state before the base's file.
fn wrap(base: &ffi::sqlite3_vfs) -> ffi::sqlite3_vfs {
    // The other methods are the base's own, called with a struct that carries the base's
    // `pAppData` and `mxPathname`, which is all they read of it.
    ffi::sqlite3_vfs {
        szOsFile: HEADER as c_int + base.szOsFile,
        zName: NAME.as_ptr(),
        pNext: ptr::null_mut(),
        xOpen: Some(open),
        ..*base
    }
}

/// Our part of a wrapped file; the base VFS's file follows at offset [`HEADER`].
#[repr(C)]
struct WalFile {
    methods: ffi::sqlite3_file,
    gathered: *mut Gathered,
}

const HEADER: usize = std::mem::size_of::<WalFile>().next_multiple_of(16);

#[derive(Default)]
struct Gathered {
    /// File offset of `bytes[0]`.
    start: i64,
    bytes: Vec<u8>,
    /// The last frame header gathered carries the commit mark (set by every frame header).
    commit: bool,
    /// The end of the last append: a write below it rewrites what was written.
    frontier: i64,
    /// Writes that reached the base file (gathered or not), for tests.
    #[cfg(test)]
    writes: u64,
}

impl Gathered {
    fn end(&self) -> i64 {
        self.start + self.bytes.len() as i64
    }
}

/// The platform's VFS, found by `register` before ours exists.
static BASE: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = BASE.load(Ordering::Acquire);
    if base.is_null() {
        return ffi::SQLITE_ERROR;
    }
    let Some(base_open) = (*base).xOpen else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a WAL: the base's file in place, with the base's methods; nothing of ours.
        return base_open(base, name, file, flags, out_flags);
    }
    let wal = file.cast::<WalFile>();
    (*wal).methods.pMethods = ptr::null();
    let rc = base_open(base, name, inner(file), flags, out_flags);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    (*wal).gathered = Box::into_raw(Box::default());
    (*wal).methods.pMethods = &METHODS;
    rc
}

/// The base VFS's file inside ours.
unsafe fn inner(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    file.cast::<u8>().add(HEADER).cast()
}

unsafe fn gathered<'a>(file: *mut ffi::sqlite3_file) -> &'a mut Gathered {
    &mut *(*file.cast::<WalFile>()).gathered
}

unsafe fn inner_methods(file: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    &*(*inner(file)).pMethods
}

/// Writes what is gathered, as one write.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    flush_to(gathered(file), inner(file))
}

/// Writes `g`'s bytes to the base file `to`, as one write. Takes the one `&mut Gathered` its
/// caller holds, so that no second one is made from the file pointer while it lives.
unsafe fn flush_to(g: &mut Gathered, to: *mut ffi::sqlite3_file) -> c_int {
    if g.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Ok(amount) = c_int::try_from(g.bytes.len()) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let rc = write_to(g, to, g.bytes.as_ptr().cast(), amount, g.start);
    // `commit` stays: a flush between a commit frame's header and its page (the buffer full)
    // must still write that page at once (found by the property test below).
    g.bytes.clear();
    rc
}

/// One write to the base file `to`, counted for tests.
unsafe fn write_to(
    g: &mut Gathered,
    to: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    #[cfg(test)]
    {
        g.writes += 1;
    }
    #[cfg(not(test))]
    let _ = g;
    match (*(*to).pMethods).xWrite {
        Some(write) => write(to, buf, amount, offset),
        None => ffi::SQLITE_IOERR_WRITE,
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let (g, to) = (gathered(file), inner(file));
    let append = offset > 0 && offset >= g.frontier && len <= CAPACITY;
    if !append || offset != g.end() || g.bytes.len() + len > CAPACITY {
        let rc = flush_to(g, to);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if !append {
        // A new generation's WAL header, a rewrite of written frames (checksums), or a giant
        // write: through at once, after what was gathered.
        if offset == 0 {
            g.frontier = i64::from(amount);
        }
        return write_to(g, to, buf, amount, offset);
    }
    let bytes = std::slice::from_raw_parts(buf.cast::<u8>(), len);
    if g.bytes.is_empty() {
        g.start = offset;
    }
    g.bytes.extend_from_slice(bytes);
    g.frontier = g.end();
    if len == FRAME_HEADER {
        g.commit = bytes[4..8] != [0, 0, 0, 0];
        return ffi::SQLITE_OK;
    }
    if g.commit {
        // The commit frame's page: the transaction is complete; written before SQLite
        // publishes it to readers in the WAL index.
        return flush_to(g, to);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let flushed = flush(file);
    let wal = file.cast::<WalFile>();
    drop(Box::from_raw((*wal).gathered));
    (*wal).gathered = ptr::null_mut();
    let closed = match inner_methods(file).xClose {
        Some(close) => close(inner(file)),
        None => ffi::SQLITE_OK,
    };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

/// Forwards a method after writing what is gathered.
macro_rules! flushing {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let rc = flush(file);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match inner_methods(file).$method {
                Some(m) => m(inner(file), $($arg),*),
                None => $missing,
            }
        }
    };
}

/// Forwards a method as it is.
macro_rules! forward {
    ($name:ident, $method:ident, ($($arg:ident: $ty:ty),*), $ret:ty, $missing:expr) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($arg: $ty),*) -> $ret {
            match inner_methods(file).$method {
                Some(m) => m(inner(file), $($arg),*),
                None => $missing,
            }
        }
    };
}

flushing!(read, xRead, (buf: *mut c_void, amount: c_int, offset: i64), ffi::SQLITE_IOERR_READ);
unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    let rc = flush(file);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let g = gathered(file);
    g.frontier = g.frontier.min(size);
    match inner_methods(file).xTruncate {
        Some(m) => m(inner(file), size),
        None => ffi::SQLITE_IOERR_TRUNCATE,
    }
}
flushing!(sync, xSync, (flags: c_int), ffi::SQLITE_IOERR_FSYNC);
flushing!(file_size, xFileSize, (size: *mut i64), ffi::SQLITE_IOERR_FSTAT);
flushing!(file_control, xFileControl, (op: c_int, arg: *mut c_void), ffi::SQLITE_NOTFOUND);
flushing!(fetch, xFetch, (offset: i64, amount: c_int, out: *mut *mut c_void), {
    *out = ptr::null_mut();
    ffi::SQLITE_OK
});
forward!(lock, xLock, (level: c_int), c_int, ffi::SQLITE_OK);
forward!(unlock, xUnlock, (level: c_int), c_int, ffi::SQLITE_OK);
forward!(reserved, xCheckReservedLock, (out: *mut c_int), c_int, ffi::SQLITE_OK);
forward!(sector_size, xSectorSize, (), c_int, 4096);
forward!(device, xDeviceCharacteristics, (), c_int, 0);
forward!(shm_map, xShmMap, (region: c_int, size: c_int, extend: c_int, out: *mut *mut c_void), c_int, ffi::SQLITE_IOERR_SHMMAP);
forward!(shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int), c_int, ffi::SQLITE_IOERR_SHMLOCK);
forward!(shm_barrier, xShmBarrier, (), (), ());
forward!(shm_unmap, xShmUnmap, (delete: c_int), c_int, ffi::SQLITE_OK);
forward!(unfetch, xUnfetch, (offset: i64, page: *mut c_void), c_int, ffi::SQLITE_OK);

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(reserved),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};
    use std::path::Path;

    fn open(path: &Path) -> Connection {
        register().unwrap();
        let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn
    }

    /// Writes that reached the WAL file of `conn` since it was opened.
    fn wal_writes(conn: &Connection) -> u64 {
        let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
        // SAFETY: SQLITE_FCNTL_JOURNAL_POINTER stores the WAL's sqlite3_file pointer, which
        // this VFS opened as a WalFile; the connection is open for the duration.
        unsafe {
            let rc = ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_JOURNAL_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            );
            assert_eq!(rc, ffi::SQLITE_OK);
            assert!(!file.is_null());
            assert!(ptr::eq((*file).pMethods, &METHODS), "the WAL is not ours");
            gathered(file).writes
        }
    }

    fn rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// What a crash right now would leave of `<dir>/<name>.db`: its files as they are, copied
    /// while open, then opened with plain SQLite (which recovers the WAL) and checked whole.
    fn crash_image(dir: &Path, name: &str) -> Connection {
        let copy = dir.join("copy.db");
        std::fs::copy(dir.join(format!("{name}.db")), &copy).unwrap();
        let wal = dir.join(format!("{name}.db-wal"));
        if wal.exists() {
            std::fs::copy(&wal, dir.join("copy.db-wal")).unwrap();
        }
        let recovered = Connection::open(&copy).unwrap();
        let check: String = recovered
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        recovered
    }

    #[test]
    fn a_commit_of_many_pages_is_one_write_to_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("a.db"));
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(10))")
            .unwrap();
        let before = wal_writes(&conn);
        // 20 rows of 3000 bytes: about 22 pages, 44 frame writes without gathering.
        conn.execute_batch(
            "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
             INSERT INTO t SELECT randomblob(3000) FROM n; COMMIT;",
        )
        .unwrap();
        assert_eq!(wal_writes(&conn) - before, 1);
        assert_eq!(rows(&conn), 21);
    }

    #[test]
    fn readers_see_each_commit_at_once_with_or_without_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let writer = open(&path);
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let ours = open(&path);
        let plain = Connection::open(&path).unwrap();
        for (i, sync) in ["NORMAL", "FULL"].iter().cycle().take(200).enumerate() {
            writer.pragma_update(None, "synchronous", sync).unwrap();
            writer
                .execute(
                    "INSERT INTO t VALUES (randomblob(?1))",
                    [1 + (i * 97) % 5000],
                )
                .unwrap();
            assert_eq!(rows(&ours), i as i64 + 1);
            assert_eq!(rows(&plain), i as i64 + 1);
        }
    }

    #[test]
    fn a_spilled_and_rewritten_transaction_is_whole_in_the_files_when_it_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open(&path);
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.pragma_update(None, "cache_size", 8).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)")
            .unwrap();
        // A transaction larger than the cache spills frames to the WAL, then changes spilled
        // pages again (SQLite rewrites them in place and recomputes checksums).
        conn.execute_batch(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             INSERT INTO t SELECT i, randomblob(700) FROM n;
             UPDATE t SET x = randomblob(650) WHERE id % 3 = 0;
             COMMIT;",
        )
        .unwrap();
        let recovered = crash_image(dir.path(), "s");
        assert_eq!(rows(&recovered), 3000);
        let short: i64 = recovered
            .query_row("SELECT count(*) FROM t WHERE length(x) = 650", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(short, 1000);
    }

    #[test]
    fn commits_after_a_checkpoint_restarts_or_truncates_the_wal_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let conn = open(&path);
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let plain = Connection::open(&path).unwrap();
        let mut expected = 0;
        for mode in ["PASSIVE", "RESTART", "TRUNCATE", "RESTART"] {
            for _ in 0..30 {
                conn.execute("INSERT INTO t VALUES (randomblob(1500))", [])
                    .unwrap();
                expected += 1;
            }
            // A checkpoint that resets the WAL: the next commit writes a new WAL header at
            // offset 0 and its frames from the start again.
            conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                .unwrap();
            for _ in 0..30 {
                conn.execute("INSERT INTO t VALUES (randomblob(900))", [])
                    .unwrap();
                expected += 1;
                assert_eq!(rows(&plain), expected);
            }
        }
        assert_eq!(rows(&crash_image(dir.path(), "c")), expected);
    }

    /// One step of the property test below.
    #[derive(Debug, Clone)]
    enum Step {
        /// A transaction inserting `rows` rows of `size` bytes, synced or not.
        Insert { rows: u16, size: u16, full: bool },
        /// A transaction rewriting every `nth` row with `size` bytes.
        Rewrite { nth: u8, size: u16 },
        /// A checkpoint: 0 passive, 1 restart, 2 truncate.
        Checkpoint(u8),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (1u16..80, 1u16..5000, any::<bool>())
                .prop_map(|(rows, size, full)| Step::Insert { rows, size, full }),
            2 => (1u8..6, 1u16..5000).prop_map(|(nth, size)| Step::Rewrite { nth, size }),
            1 => (0u8..3).prop_map(Step::Checkpoint),
        ]
    }

    /// (rows, total bytes) as a connection sees them.
    fn state(conn: &Connection) -> (i64, i64) {
        conn.query_row(
            "SELECT count(*), coalesce(sum(length(x)), 0) FROM t",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Whatever the transactions (small and large, spilling past a small cache, synced or
        /// not) and checkpoints, a plain reader sees each commit at once, and the files as they
        /// are after the last commit (what a crash would leave) recover to the same state.
        #[test]
        fn any_transactions_are_seen_at_once_and_whole_in_the_files(
            steps in proptest::collection::vec(step(), 1..14)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("p.db");
            let conn = open(&path);
            conn.pragma_update(None, "cache_size", 16).unwrap();
            conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)").unwrap();
            let plain = Connection::open(&path).unwrap();
            for s in &steps {
                match *s {
                    Step::Insert { rows, size, full } => {
                        let sync = if full { "FULL" } else { "NORMAL" };
                        conn.pragma_update(None, "synchronous", sync).unwrap();
                        conn.execute(
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                             INSERT INTO t (x) SELECT randomblob(?2) FROM n",
                            [i64::from(rows), i64::from(size)],
                        )
                        .unwrap();
                    }
                    Step::Rewrite { nth, size } => {
                        conn.execute(
                            "UPDATE t SET x = randomblob(?2) WHERE id % ?1 = 0",
                            [i64::from(nth), i64::from(size)],
                        )
                        .unwrap();
                    }
                    Step::Checkpoint(mode) => {
                        let mode = ["PASSIVE", "RESTART", "TRUNCATE"][usize::from(mode)];
                        conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                            .unwrap();
                    }
                }
                proptest::prop_assert_eq!(state(&plain), state(&conn));
            }
            let expected = state(&conn);
            let recovered = crash_image(dir.path(), "p");
            proptest::prop_assert_eq!(state(&recovered), expected);
        }
    }
}
