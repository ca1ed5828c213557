//! The map stage: from the codes a record arrived with to the national codes JP-CLINS wants.
//!
//! [`Mapper`] owns what mapping needs — the loaded national masters ([`MasterSet`]), the
//! hospital's mapping table ([`MappingTable`]) and the per-category policy for codes that map to
//! nothing — and answers the builder's [`Terminology`] questions through a per-input
//! [`InputMapper`], which also records every item's outcome ([`ItemOutcome`]) for the store:
//! mapped (directly, because the record already carried a national code the master knows, or
//! through the table), unmapped (sent with the IG's uncoded marker, or held when the policy says
//! so) or invalid (the table names a code the master refuses: held, never sent).
//!
//! A received national code whose master is not loaded is passed on when its format is right
//! ("unverified"), so an installation without, say, the MEDIS file still sends what the EHR
//! coded; `tsunagi masters status` and the readiness check say which masters are missing.
//!
//! Invariant: answers never quote patient values in reasons; the names recorded with outcomes
//! are code names (master terms), except for diseases coded by nothing but their name, whose
//! name is the mapping key (`local_system = "name"`), kept in the 0600 store only.

mod catalog;
mod questions;

use std::path::Path;
use std::sync::Mutex;

use crate::mapping::{MappingTable, Policies};
use crate::masters::MasterSet;
use crate::store::items::ItemOutcome;

pub use catalog::SetCatalog;

/// The code system name used for a disease that arrived with nothing but its name.
pub const NAME_SYSTEM: &str = "name";

/// Whether any national master is loaded in `DATA_DIR/terminology.db`.
pub fn masters_loaded(data_dir: &Path) -> bool {
    crate::store::terminology::open(data_dir)
        .and_then(|c| crate::masters::status(&c))
        .map(|s| s.iter().any(|m| m.active.is_some()))
        .unwrap_or(false)
}

/// Owns the map stage's data. See the module docs.
pub struct Mapper {
    masters: MasterSet,
    table: MappingTable,
    policies: Policies,
}

/// Why the terminology database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TerminologyError {
    /// The masters could not be read.
    #[error("reading the national masters failed: {0} / 標準マスターを読めません")]
    Masters(#[from] crate::masters::MasterError),
    /// The mapping table could not be read.
    #[error("reading the mapping table failed: {0} / 対応表を読めません")]
    Mapping(String),
}

impl Mapper {
    /// A mapper from parts (tests, the demo).
    pub fn new(masters: MasterSet, table: MappingTable, policies: Policies) -> Self {
        Mapper {
            masters,
            table,
            policies,
        }
    }

    /// Reads the masters and the mapping table from `DATA_DIR/terminology.db` (created empty,
    /// 0600, when missing).
    pub fn open(data_dir: &Path, policies: Policies) -> Result<Self, TerminologyError> {
        let conn = crate::store::terminology::open(data_dir)?;
        let masters = MasterSet::from_db(&conn)?;
        crate::store::terminology::mapping::ensure_schema(&conn)
            .map_err(|e| TerminologyError::Mapping(e.to_string()))?;
        let rows = crate::store::terminology::mapping::load(&conn, None)
            .map_err(|e| TerminologyError::Mapping(e.to_string()))?;
        Ok(Mapper::new(masters, MappingTable::new(rows), policies))
    }

    /// The active version of a master, when it is loaded.
    pub fn master_version(&self, kind: crate::masters::MasterKind) -> Option<&str> {
        self.masters.version(kind)
    }

    /// How many rows the hospital's mapping table holds.
    pub fn mapping_rows(&self) -> usize {
        self.table.len()
    }

    /// A fresh answerer for one input.
    pub fn for_input(&self) -> InputMapper<'_> {
        InputMapper {
            mapper: self,
            outcomes: Mutex::new(Vec::new()),
        }
    }
}

/// Answers the builder's questions for one input and records each item's outcome.
pub struct InputMapper<'a> {
    mapper: &'a Mapper,
    outcomes: Mutex<Vec<ItemOutcome>>,
}

impl InputMapper<'_> {
    /// The outcomes recorded so far, in question order.
    pub fn into_outcomes(self) -> Vec<ItemOutcome> {
        self.outcomes
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, item: ItemOutcome) {
        match self.outcomes.lock() {
            Ok(mut v) => v.push(item),
            Err(p) => p.into_inner().push(item),
        }
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod tests;
