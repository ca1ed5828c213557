//! `DATA_DIR/terminology.db`: the national masters, the loaded FHIR package's rule tables and
//! the hospital's mapping table, each kind of row with its SQL here.
//!
//! - [`masters`]: master versions and their entries (one transaction per load), the official
//!   FHIR package's rule tables.
//! - [`mapping`]: the mapping table and its import log.
//!
//! The CLI writes this database (`masters load`, `mapping import`); the processor reads it and
//! notices a change by [`data_version`]. Errors of a read propagate: a caller that cannot read
//! the terminology does not map with a guess.

pub mod mapping;
pub mod masters;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::masters::MasterError;
use crate::store::StoreError;

/// The terminology database's file inside the data directory.
pub const DB_FILE: &str = "terminology.db";

/// Where the terminology database of a data directory lives.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Opens (creating, 0600 in a 0700 directory) `DATA_DIR/terminology.db` with the master
/// tables, WAL and `synchronous=FULL`, through the store's one owner-only opener
/// ([`crate::store::open_private`]).
pub fn open(data_dir: &Path) -> Result<Connection, MasterError> {
    let conn = crate::store::open_private(&db_path(data_dir)).map_err(from_store)?;
    masters::ensure_schema(&conn)?;
    Ok(conn)
}

/// `PRAGMA data_version`: moves when another connection (the CLI) commits to the database,
/// which is how the processor notices a load or an import. Errors propagate: a caller that
/// cannot tell must not act as if nothing changed.
pub fn data_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "data_version", |r| r.get(0))
}

fn from_store(e: StoreError) -> MasterError {
    match e {
        StoreError::Sqlite(e) => MasterError::Sqlite(e),
        StoreError::Io { path, source } => MasterError::Io { path, source },
        other => MasterError::Io {
            path: PathBuf::from(DB_FILE),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
