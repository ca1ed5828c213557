//! `DATA_DIR/terminology.db`: the national masters, the loaded FHIR package's rule tables and
//! the hospital's mapping table, each kind of row with its SQL here.
//!
//! - [`masters`]: master versions and their entries (one transaction per load), the official
//!   FHIR package's rule tables.
//! - [`mapping`]: the mapping table and its import log.
//!
//! The CLI writes this database (`masters load`, `mapping import`); the processor reads it
//! whole into the map stage ([`load`]: a `tsunagi_clins::map::Mapper`) and notices a change by
//! [`data_version`]. Errors of a read propagate: a caller that cannot read
//! the terminology does not map with a guess.

pub mod mapping;
pub mod masters;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::map::{Mapper, MappingTable, Policies};
use crate::store::StoreError;

/// Why the terminology database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TerminologyError {
    /// The masters could not be read.
    #[error("reading the national masters failed: {0} / 標準マスターを読めません")]
    Masters(#[from] StoreError),
    /// The mapping table could not be read.
    #[error("reading the mapping table failed: {0} / 対応表を読めません")]
    Mapping(String),
}

/// The map stage over the masters and the mapping table of `DATA_DIR/terminology.db` (created
/// empty, 0600, when missing), with the configured policies.
pub fn load(data_dir: &Path, policies: Policies) -> Result<Mapper, TerminologyError> {
    let conn = open(data_dir)?;
    let masters = masters::master_set(&conn)?;
    mapping::ensure_schema(&conn).map_err(|e| TerminologyError::Mapping(e.to_string()))?;
    let rows = mapping::load(&conn, None).map_err(|e| TerminologyError::Mapping(e.to_string()))?;
    Ok(Mapper::new(masters, MappingTable::new(rows), policies))
}

/// Whether any national master is loaded in `DATA_DIR/terminology.db`.
pub fn masters_loaded(data_dir: &Path) -> bool {
    open(data_dir)
        .and_then(|c| masters::status(&c))
        .map(|s| s.iter().any(|m| m.active.is_some()))
        .unwrap_or(false)
}

/// The terminology database's file inside the data directory.
pub const DB_FILE: &str = "terminology.db";

/// Where the terminology database of a data directory lives.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DB_FILE)
}

/// Opens (creating, 0600 in a 0700 directory) `DATA_DIR/terminology.db` with the master
/// tables, WAL and `synchronous=FULL`, through the store's one owner-only opener
/// ([`crate::store::open_private`]).
pub fn open(data_dir: &Path) -> Result<Connection, StoreError> {
    let conn = crate::store::open_private(&db_path(data_dir))?;
    masters::ensure_schema(&conn)?;
    Ok(conn)
}

/// `PRAGMA data_version`: moves when another connection (the CLI) commits to the database,
/// which is how the processor notices a load or an import. Errors propagate: a caller that
/// cannot tell must not act as if nothing changed.
pub fn data_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.pragma_query_value(None, "data_version", |r| r.get(0))
}
