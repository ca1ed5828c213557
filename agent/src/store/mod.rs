//! The store: one SQLite database that holds every accepted input and every delivery.
//!
//! # Design
//! - **One file, WAL, `synchronous=FULL`.** A commit returns only after the WAL is fsynced, so
//!   what a commit reported survives kill -9 and power loss (the processor's derived commits
//!   may wait for the next fsync: [`writer::Durability`]). The file (and its `-wal`/`-shm`
//!   siblings, which SQLite creates with the same mode) is created `0600` in a `0700` directory.
//! - **One writer, many readers.** All writes of the daemon go through [`Writer`], a thread that
//!   owns the write connection and commits whatever jobs are queued in one transaction (group
//!   commit: one fsync for many records, and no job waits for more than one batch). Each job runs
//!   inside its own SAVEPOINT, so one failing job does not undo the others; a job that changes
//!   one row at most (an input's insert) needs none, since SQLite undoes a failed statement
//!   ([`Writer::call_async_one_change`]). Readers (`status`,
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
//! - **The store owns the SQL.** Every statement on `tsunagi.db` is in this module; the other
//!   stages call its functions. A read that fails returns the error (never a default), so the
//!   caller fails its batch or request instead of acting on a guess.
//!
//! # Where things are
//! `schema` (migrations), `writer` (group commit), `state` (the input and outbox states and
//! their allowed moves), `inbox` (intake and processing state), `outbox` (delivery state),
//! `items` (mapping outcomes per coded item), `patients` (Patients seen), `query` (read-only
//! views for status and the queue commands), `figures` (the operations surface's counts),
//! `report` (the facts of the monthly quality report), `demo` (what `tsunagi demo` checks),
//! `plugins` (exec plugins' checkpoints), `terminology` (the SQL of `terminology.db`: masters,
//! FHIR package rules, mapping table), `disk` (the free-space reserve), `identity` (a removed or replaced database is noticed),
//! `retention` (what is pruned when, and space reclaimed), `wal_gather` (the VFS that writes a
//! commit's WAL frames at once). [`open_private`] is the one
//! owner-only opener, also used for `terminology.db`.

pub mod commit_figures;
#[cfg(feature = "demo")]
pub mod demo;
pub mod disk;
pub mod figures;
pub mod identity;
pub mod inbox;
pub mod items;
pub mod outbox;
pub mod patients;
pub mod plugins;
pub mod query;
pub mod report;
pub mod retention;
mod schema;
pub mod state;
pub mod terminology;
mod wal_gather;
pub mod writer;

#[cfg(all(test, unix))]
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::owner_only;

pub use state::{InputState, OutboxState};
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
    /// An index change of `schema::INDEXES` failed at open (e.g. rebuilding `inbox_dedup` over
    /// inputs that hold the same key twice).
    #[error("the index {name} could not be changed at open: {source} / 起動時にインデックス {name} を変更できませんでした")]
    IndexChange {
        /// The index.
        name: &'static str,
        /// Why.
        source: rusqlite::Error,
    },
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
    let mut conn = open_private(&db_path(data_dir))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// The one owner-only opener of tsunagi's SQLite files (`tsunagi.db`, `terminology.db`): creates
/// the parent directory `0700` and the file `0600` when missing, tightens the file to `0600`,
/// and returns a connection with WAL, `synchronous=FULL` and a 30 s busy timeout.
///
/// **Locks.** The file is created (one short-lived descriptor) only when it does not exist yet,
/// and its mode is then set by path: opening and closing a plain descriptor on a database this
/// process already has open would drop every POSIX lock the process holds on it, and another
/// process (`tsunagi status`) could then take itself for the last connection and remove the WAL
/// with our commits. Never open a database file any other way.
pub fn open_private(path: &Path) -> Result<Connection, StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            owner_only::create_dir(dir).map_err(io(dir))?;
        }
    }
    if !path.exists() {
        // Owner-only from its first byte (SQLite gives the -wal and -shm files the same mode).
        let created = owner_only::options()
            .create_new(true)
            .write(true)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(io(path)(source)),
        }
    }
    // By path (no descriptor): tightens a file an older version or a user loosened.
    owner_only::restrict_file(path).map_err(io(path))?;
    let conn = open_sqlite(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    keep_statements(&conn)?;
    Ok(conn)
}

/// A connection through [`wal_gather`], which writes each commit's WAL frames at once.
fn open_sqlite(path: &Path) -> Result<Connection, StoreError> {
    wal_gather::register().map_err(|code| {
        StoreError::Invalid(format!(
            "SQLite refused the WAL gathering VFS (code {code}) / SQLite の VFS 登録に失敗しました"
        ))
    })?;
    Ok(Connection::open_with_flags_and_vfs(
        path,
        rusqlite::OpenFlags::default(),
        wal_gather::NAME,
    )?)
}

/// Prepared statements kept per connection: the writer runs a few dozen distinct ones (intake,
/// the processor's batch, the sender), and rusqlite's default of 16 made the hot ones evict each
/// other; preparing a statement costs more than running it (issue 9, part 3).
const STATEMENT_CACHE: usize = 128;

/// Keeps prepared statements prepared: a larger statement cache, and the query planner
/// stability guarantee, without which binding any value to `LIMIT ?` expired the statement
/// and every `next_received` was prepared again (a fifth of the processor's reads).
fn keep_statements(conn: &Connection) -> Result<(), StoreError> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Empties `conn`'s page cache (`PRAGMA shrink_memory`), for an agent that has gone quiet
/// (`hand_back`); the next statements read their pages again.
pub fn release_memory(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("PRAGMA shrink_memory")?;
    Ok(())
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
    check_readable(&conn, found)?;
    Ok(conn)
}

/// Refuses a database at schema `found` that this build cannot run on: a newer schema is
/// accepted only when the build that wrote it recorded that builds knowing ours still can
/// (`schema::readable_from`, after an update rolled back).
fn check_readable(conn: &Connection, found: i64) -> Result<(), StoreError> {
    let known = schema::MIGRATIONS.len() as i64;
    if found <= known {
        return Ok(());
    }
    let readable_from =
        query::get_state(conn, schema::READABLE_FROM_KEY)?.and_then(|(v, _)| v.parse::<i64>().ok());
    match readable_from {
        Some(from) if from <= known => {
            tracing::info!(
                found,
                known,
                "the database's schema is newer but readable by this build (an update was rolled back) / 新しい版のスキーマですが、この版で扱えます"
            );
            Ok(())
        }
        _ => Err(StoreError::TooNew { found, known }),
    }
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = open_sqlite(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    keep_statements(&conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = schema::MIGRATIONS.len() as i64;
    check_readable(conn, found)?;
    if found > known {
        // A newer build's database: its migrations and its record stay as they are.
        return change_indexes(conn);
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
        // In the same transaction: a build stopped between two migrations leaves a record
        // that matches the version it reached.
        record_readable_from(&tx, (i + 1) as i64)?;
        tx.commit()?;
    }
    // A database migrated before builds kept the record gets it now.
    record_readable_from(conn, known)?;
    change_indexes(conn)
}

/// Records which builds can run on this database (`schema::readable_from`), if not yet.
fn record_readable_from(conn: &Connection, version: i64) -> Result<(), StoreError> {
    let from = schema::readable_from(version).to_string();
    let recorded = query::get_state(conn, schema::READABLE_FROM_KEY)?;
    if recorded.is_none_or(|(v, _)| v != from) {
        query::set_state(conn, schema::READABLE_FROM_KEY, &from)?;
    }
    Ok(())
}

/// Applies the index changes not done yet (`schema::INDEXES`), each in its own transaction.
fn change_indexes(conn: &mut Connection) -> Result<(), StoreError> {
    for change in schema::INDEXES {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
            [change.name],
            |r| r.get(0),
        )?;
        if exists != change.present {
            let tx = conn.transaction()?;
            tx.execute_batch(change.sql)
                .map_err(|source| StoreError::IndexChange {
                    name: change.name,
                    source,
                })?;
            tx.commit()?;
        }
    }
    Ok(())
}

/// Runs `f` in an immediate transaction on a plain connection (the CLI's few writes): commits
/// when it returns `Ok`, rolls back otherwise.
pub fn in_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            // The error that made us roll back is the one to report.
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;

    #[test]
    fn a_limit_parameter_does_not_make_a_statement_prepare_again() {
        // Binding `LIMIT ?` used to expire a cached statement (SQLITE_ENABLE_STAT4 without the
        // planner stability guarantee), so the processor prepared its batch query on every
        // batch (issue 9, part 3).
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        let mut stmt = conn
            .prepare_cached("SELECT id FROM inbox WHERE state = ?2 ORDER BY id LIMIT ?1")
            .unwrap();
        for limit in [64, 64, 8] {
            let rows: Vec<i64> = stmt
                .query_map(rusqlite::params![limit, "received"], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(rows.is_empty());
        }
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
        // The same statement on a connection without the guarantee is prepared again.
        let plain = Connection::open(db_path(dir.path())).unwrap();
        let mut stmt = plain
            .prepare_cached("SELECT id FROM inbox WHERE state = ?2 ORDER BY id LIMIT ?1")
            .unwrap();
        for limit in [64, 64, 8] {
            stmt.query_map(rusqlite::params![limit, "received"], |r| r.get::<_, i64>(0))
                .unwrap()
                .for_each(drop);
        }
        assert!(stmt.get_status(rusqlite::StatementStatus::RePrepare) > 0);
    }

    #[test]
    fn open_creates_owner_only_file_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        drop(open(&data).unwrap());
        assert!(owner_only::is_owner_only(&db_path(&data)).unwrap());
        assert!(owner_only::is_owner_only(&data).unwrap());
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
    fn index_changes_apply_to_an_older_database_without_locking_older_builds_out() {
        let dir = tempfile::tempdir().unwrap();
        let indexes = |c: &Connection| -> Vec<String> {
            c.prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'outbox_%key'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        // As a build from before the change left it: the full key index.
        let conn = open(dir.path()).unwrap();
        conn.execute_batch(
            "DROP INDEX outbox_awaiting_key; CREATE INDEX outbox_key ON outbox (idempotency_key);",
        )
        .unwrap();
        drop(conn);
        let conn = open(dir.path()).unwrap();
        assert_eq!(indexes(&conn), ["outbox_awaiting_key"]);
        // No version bump: the previous build (the update gate's rollback) still opens it.
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema::MIGRATIONS.len() as i64);
        assert_eq!(v, 6);
        // Done once: a later open writes nothing (the data version stays).
        let data_version = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "data_version", |r| r.get(0))
                .unwrap()
        };
        let before = data_version(&conn);
        drop(open(dir.path()).unwrap());
        assert_eq!(
            data_version(&conn),
            before,
            "a second open changed the database"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_private_opener_creates_owner_only_and_tightens_a_loosened_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("t.db");
        drop(open_private(&path).unwrap());
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let conn = open_private(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        let jm: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(jm, "wal");
        // The terminology database goes through the same opener.
        drop(crate::store::terminology::open(dir.path()).unwrap());
        assert_eq!(mode(&crate::store::terminology::db_path(dir.path())), 0o600);
    }

    #[test]
    fn newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        // As a newer build records it: both in one transaction.
        conn.pragma_update(None, "user_version", 99).unwrap();
        query::set_state(&conn, schema::READABLE_FROM_KEY, "99").unwrap();
        drop(conn);
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn each_open_records_which_builds_can_run_on_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        let known = schema::MIGRATIONS.len() as i64;
        let (v, _) = query::get_state(&conn, schema::READABLE_FROM_KEY)
            .unwrap()
            .unwrap();
        assert_eq!(v, schema::readable_from(known).to_string());
        // v6 is additive: builds that know v5 (the last that is not) run on it too.
        assert_eq!(schema::readable_from(6), 5);
    }

    fn has_unique_index(conn: &Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT \"unique\" FROM pragma_index_list('inbox') WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .unwrap()
        .unwrap_or(false)
    }

    fn insert_twice(conn: &Connection) -> (inbox::Stored, inbox::Stored) {
        let input = inbox::NewInput {
            source: "mllp",
            origin: "MSG-1",
            format: "hl7v2",
            raw: b"MSH|^~\\&|",
            file_stamp: None,
        };
        (
            inbox::insert(conn, &input).unwrap(),
            inbox::insert(conn, &input).unwrap(),
        )
    }

    /// A rollback from a release that dropped `inbox_dedup` (a newer schema, readable from
    /// v6): this build rebuilds the index at open, and its duplicate check works again.
    #[test]
    fn a_database_without_the_duplicate_index_gets_it_back_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let known = schema::MIGRATIONS.len() as i64;
        let conn = open(dir.path()).unwrap();
        assert!(has_unique_index(&conn, "inbox_dedup"));
        let (first, _) = insert_twice(&conn);
        conn.execute_batch("DROP INDEX inbox_dedup").unwrap();
        conn.pragma_update(None, "user_version", known + 1).unwrap();
        query::set_state(&conn, schema::READABLE_FROM_KEY, "6").unwrap();
        drop(conn);

        let conn = open(dir.path()).unwrap();
        assert!(has_unique_index(&conn, "inbox_dedup"));
        let inbox::Stored::New(id) = first else {
            panic!("the first insert is new: {first:?}");
        };
        assert_eq!(
            insert_twice(&conn),
            (inbox::Stored::Duplicate(id), inbox::Stored::Duplicate(id))
        );
    }

    #[test]
    fn the_rebuild_refuses_inputs_that_hold_the_same_key_twice() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        conn.execute_batch("DROP INDEX inbox_dedup").unwrap();
        // `inbox::insert` cannot be prepared without the index: the same row twice, by hand.
        for _ in 0..2 {
            conn.execute(
                "INSERT INTO inbox (source, origin, format, content_hash, size, raw, received_at, state)
                 VALUES ('mllp', 'MSG-1', 'hl7v2', 'h', 4, x'4d534827', 0, 'received')",
                [],
            )
            .unwrap();
        }
        drop(conn);
        let err = open(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::IndexChange {
                    name: "inbox_dedup",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("inbox_dedup"), "{err}");
        assert!(err.to_string().contains("UNIQUE"), "{err}");
    }

    /// After an update rolled back: the newer build migrated with additive versions only, and
    /// this (older) build still runs on the database, without lowering its version.
    #[test]
    fn a_newer_schema_that_older_builds_can_run_on_opens_and_keeps_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let known = schema::MIGRATIONS.len() as i64;
        let conn = open(dir.path()).unwrap();
        conn.execute_batch("CREATE TABLE added_by_a_newer_build (x INTEGER)")
            .unwrap();
        conn.pragma_update(None, "user_version", known + 1).unwrap();
        query::set_state(&conn, schema::READABLE_FROM_KEY, &known.to_string()).unwrap();
        drop(conn);
        let conn = open(dir.path()).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, known + 1);
        let (from, _) = query::get_state(&conn, schema::READABLE_FROM_KEY)
            .unwrap()
            .unwrap();
        assert_eq!(from, known.to_string(), "the newer build's record stays");
        drop(conn);
        assert!(open_existing(dir.path()).is_ok());
    }

    #[test]
    fn a_newer_schema_that_needs_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let known = schema::MIGRATIONS.len() as i64;
        let conn = open(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", known + 2).unwrap();
        let from = (known + 2).to_string();
        query::set_state(&conn, schema::READABLE_FROM_KEY, &from).unwrap();
        drop(conn);
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        let err = open_existing(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    #[test]
    fn readable_from_is_the_newest_version_that_is_not_additive() {
        assert_eq!(schema::readable_from(0), 0);
        for v in 1..=schema::MIGRATIONS.len() as i64 {
            let from = schema::readable_from(v);
            assert!(from <= v && !schema::ADDITIVE.contains(&from) || from == 0);
            assert!((from + 1..=v).all(|a| schema::ADDITIVE.contains(&a)));
        }
    }
}
