//! The store's identity: noticing a database that was deleted or replaced under the agent.
//!
//! Two guards, one at run time and one at start:
//! - **While running**, the writer thread keeps a [`FileWatch`] on the database path and looks
//!   at it (one `stat`) before every commit batch. When the file is gone, or the path now names
//!   another file (device and inode differ from what was opened), the batch fails, every later
//!   batch fails too, and [`StoreLost`] is set: `/readyz` reads it at once. The commits would
//!   otherwise go to an unlinked file that no restart will ever find again, while sources
//!   acknowledge them.
//! - **At start**, [`open_checked`] compares the data directory's marker file (`store.id`, a
//!   UUID) with the id stored in the database (`agent_state` key `store_id`), both written when
//!   the database is first opened. A marker without its database, or with a database holding
//!   another id (or none), means the store that held the acknowledged inputs is gone: the start
//!   is refused unless the operator says so (`tsunagi run --accept-new-store`), because an empty
//!   store started silently would hide the loss.
//!
//! The identity check compares the file's identity on its volume (device and inode; volume
//! serial and file index on Windows): see `owner_only::FileId`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};

use super::{db_path, StoreError};
use crate::clock::now_ms;
use crate::owner_only::{self, FileId};

/// The marker file's name inside the data directory.
pub const MARKER_FILE: &str = "store.id";

/// The `agent_state` key holding the database's id.
const ID_KEY: &str = "store_id";

/// Whether the database file the writer holds is still the one at its path; once it is not,
/// the answer stays "lost". Clone freely: the writer asks before each batch, `/readyz` on each
/// request, so an idle agent's readiness fails as soon as it is asked.
#[derive(Debug, Clone, Default)]
pub struct StoreLost(Arc<Lost>);

#[derive(Debug, Default)]
struct Lost {
    flag: AtomicBool,
    watch: Option<FileWatch>,
}

impl StoreLost {
    /// Watches `path` as it is now (`None`, or a path that cannot be read: nothing is watched).
    pub fn watching(path: Option<&Path>) -> StoreLost {
        StoreLost(Arc::new(Lost {
            flag: AtomicBool::new(false),
            watch: path.and_then(FileWatch::new),
        }))
    }

    /// Whether the store was lost: known before, or seen now (one `stat`). The first time it is
    /// seen, one error is logged.
    pub fn is_lost(&self) -> bool {
        if self.0.flag.load(Ordering::Relaxed) {
            return true;
        }
        let Some(change) = self.0.watch.as_ref().and_then(FileWatch::check) else {
            return false;
        };
        if !self.0.flag.swap(true, Ordering::Relaxed) {
            tracing::error!("store: {}", change.describe());
        }
        true
    }
}

/// What became of the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing is at the path any more.
    Removed,
    /// The path names another file.
    Replaced,
}

impl Change {
    /// A bilingual sentence for logs and callers (names no content).
    pub fn describe(self) -> &'static str {
        match self {
            Change::Removed => {
                "the database file was removed while the agent was running; nothing more is acknowledged / 稼働中にデータベースファイルが削除されました。以後の受信は受け付けません"
            }
            Change::Replaced => {
                "the database file was replaced while the agent was running; nothing more is acknowledged / 稼働中にデータベースファイルが置き換えられました。以後の受信は受け付けません"
            }
        }
    }
}

/// The database file as the writer opened it.
#[derive(Debug)]
pub struct FileWatch {
    path: PathBuf,
    opened: FileId,
}

impl FileWatch {
    /// Watches `path` as it is now; `None` when it cannot be read (then nothing is watched).
    pub fn new(path: &Path) -> Option<FileWatch> {
        Some(FileWatch {
            path: path.to_path_buf(),
            opened: FileId::of(path).ok()?,
        })
    }

    /// Looks at the path again (one `stat`). An unreadable path other than a missing one is
    /// not taken for a loss: the commit that follows reports its own error.
    pub fn check(&self) -> Option<Change> {
        match FileId::of(&self.path) {
            Ok(id) if id == self.opened => None,
            Ok(_) => Some(Change::Replaced),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(Change::Removed),
            Err(_) => None,
        }
    }
}

/// Opens the store like [`super::open`], after checking that it is the store this data directory
/// had before (see the module header). `accept_new` lets a replaced or missing store be started
/// anew; the marker then names the new one.
pub fn open_checked(data_dir: &Path, accept_new: bool) -> Result<Connection, StoreError> {
    let marker = read_marker(data_dir)?;
    let db_existed = db_path(data_dir).exists();
    if marker.is_some() && !db_existed && !accept_new {
        return Err(refusal(data_dir, "is missing / がありません"));
    }
    let conn = super::open(data_dir)?;
    let stored = stored_id(&conn)?;
    match (marker, stored) {
        (Some(m), Some(s)) if m == s => Ok(conn),
        (Some(_), Some(s)) if accept_new => {
            accepted();
            write_marker(data_dir, &s)?;
            Ok(conn)
        }
        (Some(_), Some(_)) => Err(refusal(
            data_dir,
            "is another store than the one this directory held / 以前と別のデータベースです",
        )),
        (Some(_), None) if !accept_new => Err(refusal(
            data_dir,
            "is a new, empty store / 新しい空のデータベースです",
        )),
        (Some(_), None) => {
            accepted();
            settle_new(&conn, data_dir)?;
            Ok(conn)
        }
        (None, Some(s)) => {
            tracing::warn!(
                "store: the marker file was missing and is written again / 識別ファイルを再作成しました"
            );
            write_marker(data_dir, &s)?;
            Ok(conn)
        }
        (None, None) => {
            settle_new(&conn, data_dir)?;
            Ok(conn)
        }
    }
}

fn accepted() {
    tracing::warn!(
        "store: starting on a new store as told (--accept-new-store); what the previous store held is not here / 指示により新しいデータベースで開始します。以前のデータはありません"
    );
}

fn refusal(data_dir: &Path, what: &str) -> StoreError {
    StoreError::Identity(format!(
        "{}: the database {what}, but {} shows that a store existed here; inputs it acknowledged may be lost. Restore the database from a backup, or start with `tsunagi run --accept-new-store` to begin with an empty one / データベースが失われた可能性があります。バックアップから復元するか、--accept-new-store で空のデータベースから開始してください",
        db_path(data_dir).display(),
        data_dir.join(MARKER_FILE).display()
    ))
}

/// Gives a database without an id a fresh one, and writes the marker.
fn settle_new(conn: &Connection, data_dir: &Path) -> Result<(), StoreError> {
    let id = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO agent_state (key, value, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = ?2, at = ?3",
        params![ID_KEY, id, now_ms()],
    )?;
    write_marker(data_dir, &id)
}

/// The id stored in the database, if any.
pub fn stored_id(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT value FROM agent_state WHERE key = ?1",
            [ID_KEY],
            |r| r.get(0),
        )
        .optional()?)
}

fn read_marker(data_dir: &Path) -> Result<Option<String>, StoreError> {
    let path = data_dir.join(MARKER_FILE);
    match fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

/// Writes the marker durably: a 0600 temporary file, fsynced, renamed into place.
fn write_marker(data_dir: &Path, id: &str) -> Result<(), StoreError> {
    let path = data_dir.join(MARKER_FILE);
    let tmp = data_dir.join(format!("{MARKER_FILE}.tmp"));
    let io = |source| StoreError::Io {
        path: path.clone(),
        source,
    };
    let mut f = owner_only::options()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(format!("{id}\n").as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)?;
    if let Ok(dir) = fs::File::open(data_dir) {
        // The rename is durable once the directory is; a failure here leaves the old marker,
        // which the next start reports rather than hides.
        dir.sync_all().map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remove_db(dir: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", db_path(dir).display()));
            let _ = fs::remove_file(p);
        }
    }

    #[test]
    fn a_first_start_writes_the_marker_and_a_second_start_accepts_it() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_checked(dir.path(), false).unwrap();
        let id = stored_id(&conn).unwrap().expect("an id is stored");
        drop(conn);
        let marker = fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap();
        assert_eq!(marker.trim(), id);
        let conn = open_checked(dir.path(), false).unwrap();
        assert_eq!(stored_id(&conn).unwrap(), Some(id));
    }

    #[test]
    fn a_missing_database_is_refused_without_creating_one() {
        let dir = tempfile::tempdir().unwrap();
        drop(open_checked(dir.path(), false).unwrap());
        remove_db(dir.path());
        let err = open_checked(dir.path(), false).unwrap_err();
        assert!(matches!(err, StoreError::Identity(_)), "{err}");
        assert!(err.to_string().contains("--accept-new-store"), "{err}");
        assert!(!db_path(dir.path()).exists(), "no empty store was created");
    }

    #[test]
    fn a_replaced_database_is_refused_and_accepting_it_renames_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        drop(open_checked(dir.path(), false).unwrap());
        remove_db(dir.path());
        // Something (an older tsunagi, a CLI command) created an empty store in its place.
        drop(super::super::open(dir.path()).unwrap());
        let err = open_checked(dir.path(), false).unwrap_err();
        assert!(err.to_string().contains("new, empty store"), "{err}");
        let conn = open_checked(dir.path(), true).unwrap();
        let id = stored_id(&conn).unwrap().expect("the new store has an id");
        drop(conn);
        let marker = fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap();
        assert_eq!(marker.trim(), id);
        drop(open_checked(dir.path(), false).expect("accepted once, normal from then on"));
    }

    #[test]
    fn another_stores_database_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        drop(open_checked(a.path(), false).unwrap());
        drop(open_checked(b.path(), false).unwrap());
        fs::copy(a.path().join(MARKER_FILE), b.path().join(MARKER_FILE)).unwrap();
        let err = open_checked(b.path(), false).unwrap_err();
        assert!(err.to_string().contains("another store"), "{err}");
    }

    #[test]
    fn a_watch_sees_removal_and_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"a").unwrap();
        let w = FileWatch::new(&p).unwrap();
        assert_eq!(w.check(), None);
        fs::write(&p, b"rewritten in place").unwrap();
        assert_eq!(w.check(), None, "same file, new content");
        fs::remove_file(&p).unwrap();
        assert_eq!(w.check(), Some(Change::Removed));
        // Keep the first file's inode alive elsewhere so the new one cannot reuse it.
        let q = dir.path().join("g");
        fs::write(&q, b"b").unwrap();
        let w = FileWatch::new(&q).unwrap();
        let kept = dir.path().join("kept");
        fs::rename(&q, &kept).unwrap();
        fs::write(&q, b"c").unwrap();
        assert_eq!(w.check(), Some(Change::Replaced));
    }
}
