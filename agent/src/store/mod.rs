//! The store: one SQLite database that holds every accepted input and every delivery.
//!
//! # Design
//! - **One file, WAL, `synchronous=FULL`.** A commit returns only after the WAL is fsynced, so
//!   what a commit reported survives kill -9 and power loss. The file (and its `-wal`/`-shm`
//!   siblings, which SQLite creates with the same mode) is created `0600` in a `0700` directory.
//! - **One writer, many readers.** All writes of the daemon go through [`Writer`], a thread that
//!   owns the write connection and commits whatever jobs are queued in one transaction (group
//!   commit: one fsync for many records, and no job waits for more than one batch). Each job runs
//!   inside its own SAVEPOINT, so one failing job does not undo the others. Readers (`status`,
//!   `queue list`, the processor's reads) open their own connections; WAL lets them read while
//!   the writer writes. The CLI's few writes (`queue retry`) use a plain connection with a busy
//!   timeout.
//! - **Raw first.** An input is committed to `inbox` as raw bytes before any parsing; everything
//!   after is a deterministic function of the raw bytes and the agent's settings, so it can be
//!   re-run (`tsunagi replay`).
//! - **Checksums.** `inbox.content_hash` is the SHA-256 of `raw`, checked whenever raw is read;
//!   a mismatch quarantines that record and nothing else. `outbox.idempotency_key` is the SHA-256
//!   of `body`, checked before a send.
//!
//! # Invariants
//! - A source is acknowledged only after `Writer::call` returned `Ok` for the commit of its input.
//! - An outbox row leaves `pending`/`in_flight`/`awaiting` only for `delivered`, `rejected`,
//!   `held`, `dead` or `superseded`, and every such move is recorded (in `attempt` or `audit`).
//! - Patient data is kept only for its retention period (`retention`): raw bytes of finished
//!   inputs and bodies of delivered or superseded bundles are set to NULL, while their rows (states,
//!   identifiers, hashes, times) stay as the audit trail; old attempts (all but each item's
//!   last) and patients not seen for long (and referenced by no unsent item) are deleted.
//!   `item_code` (mapping outcomes) describes an input's latest processing and is replaced as a
//!   whole when the input is processed again. `audit` is never pruned.
//!
//! # Where things are
//! `schema` (migrations), `writer` (group commit), `inbox` (intake and processing state),
//! `outbox` (delivery state), `items` (mapping outcomes per coded item), `query` (read-only views for status and the queue commands),
//! `disk` (the free-space reserve), `identity` (a removed or replaced database is noticed),
//! `retention` (what is pruned when, and space reclaimed).

pub mod disk;
pub mod identity;
pub mod inbox;
pub mod items;
pub mod outbox;
pub mod patients;
pub mod query;
pub mod retention;
mod schema;
pub mod writer;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use writer::Writer;

/// Errors of the store. Messages name tables and states, never stored content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, I/O error, locked for too long, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database directory or file could not be created or secured.
    #[error("cannot prepare database at {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The writer thread is gone (shutdown finished, or it failed to start).
    #[error("the store writer has stopped")]
    WriterGone,
    /// The database was written by a newer tsunagi.
    #[error("database schema version {found} is newer than this tsunagi understands ({known}); upgrade tsunagi")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A caller asked for something that does not exist or is in the wrong state.
    #[error("{0}")]
    Invalid(String),
    /// The database is not the store this data directory held (removed, replaced); see
    /// `identity`.
    #[error("{0}")]
    Identity(String),
}

/// The database file name inside the data directory.
pub const DB_FILE: &str = "tsunagi.db";

/// Where the database of a data directory lives.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Creates the data directory (0700) and the database file (0600) if missing, applies pending
/// migrations, and returns a connection configured for durability.
pub fn open(data_dir: &Path) -> Result<Connection, StoreError> {
    let io = |source| StoreError::Io {
        path: data_dir.to_path_buf(),
        source,
    };
    if !data_dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(io)?;
    }
    let path = db_path(data_dir);
    if !path.exists() {
        // Create the file ourselves so that it is owner-only from its first byte (SQLite gives
        // the -wal and -shm files the same mode). Only when it does not exist yet: opening and
        // closing a descriptor on a database this process already has open would drop every
        // POSIX lock the process holds on it, and another process could then take the WAL away
        // from under our connections.
        let created = OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.clone(),
                    source,
                })
            }
        }
    }
    // chmod by path (no descriptor): tightens a file an older version or a user loosened.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).map_err(|source| {
        StoreError::Io {
            path: path.clone(),
            source,
        }
    })?;
    let mut conn = connect(&path)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens an existing database without migrating (for read-mostly CLI commands).
pub fn open_existing(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = db_path(data_dir);
    if !path.exists() {
        return Err(StoreError::Invalid(format!(
            "no database at {} (has the agent run with this data directory?) / データベースがありません",
            path.display()
        )));
    }
    let conn = connect(&path)?;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    Ok(conn)
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    if found > known {
        return Err(StoreError::TooNew { found, known });
    }
    if found == 0 {
        // Before the first table, so that pruning can give space back (see `retention`); the
        // VACUUM of the still empty file applies it (switching to WAL already wrote a header).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.execute_batch("VACUUM")?;
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch, the store's clock.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// SHA-256 hex of bytes: content hashes, checksums and idempotency keys.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_owner_only_file_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(open(&data).unwrap());
        let mode = fs::metadata(db_path(&data)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700);
        let conn = open(&data).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema::MIGRATIONS.len() as i64);
        let jm: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(jm, "wal");
    }

    #[test]
    fn newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }
}
