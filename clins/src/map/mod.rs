//! The map stage: from the codes a record arrived with to the national codes JP-CLINS wants.
//!
//! [`Mapper`] owns what mapping needs — the loaded national masters ([`MasterSet`]), the
//! hospital's mapping table ([`MappingTable`]) and the per-category policy for codes that map to
//! nothing — and answers the builder's [`Terminology`] questions through a per-input
//! [`InputMapper`], which also records every item's [`Outcome`] ([`ItemOutcome`]) for the
//! store: mapped (directly, because the record already carried a national code the master
//! knows, or through the table), unmapped (sent with the IG's uncoded marker), held (unmapped,
//! and the policy holds such items) or invalid (the table names a code the master refuses:
//! held, never sent).
//!
//! Pure: the agent reads the masters and the mapping table from `terminology.db` and passes
//! them in ([`Mapper::new`]); nothing here opens a file or a database.
//!
//! A received national code whose master is not loaded is passed on when its format is right
//! ("unverified"), so an installation without, say, the MEDIS file still sends what the EHR
//! coded; `tsunagi masters status` and the readiness check say which masters are missing.
//!
//! Invariant: answers never quote patient values in reasons; the names recorded with outcomes
//! are code names (master terms), except for diseases coded by nothing but their name, whose
//! name is the mapping key (`local_system = "name"`), kept in the 0600 store only.

pub mod catalog;
pub mod category;
pub mod format;
mod masters;
mod outcome;
mod questions;
pub mod resolve;
pub mod row;
mod set_catalog;
pub mod table;
pub mod terminology;

use std::sync::Mutex;

pub use catalog::{Candidate, MasterCatalog, MemoryCatalog};
pub use category::{AllergenKind, Category, Marker, Policies, UnmappedPolicy};
pub use masters::{ExtraKey, MasterEntry, MasterKind, MasterSet};
pub use outcome::{
    Invalid, InvalidMapping, ItemOutcome, ItemState, Outcome, Reason, UnknownOutcome, Via,
};
pub use resolve::{resolve, LocalCode, Resolution};
pub use row::Row;
pub use set_catalog::{jfagy_system, kind_of_system, SetCatalog};
pub use table::MappingTable;
pub use terminology::{Coding, Coding3, LabCoding, SourceRef, Terminology};

/// The code system name used for a disease that arrived with nothing but its name.
pub const NAME_SYSTEM: &str = "name";

/// Owns the map stage's data. See the module docs.
pub struct Mapper {
    masters: MasterSet,
    table: MappingTable,
    policies: Policies,
}

impl Mapper {
    /// A mapper from parts: the masters and mapping table the agent read from
    /// `terminology.db` (or tests built in memory), and the configured policies.
    pub fn new(masters: MasterSet, table: MappingTable, policies: Policies) -> Self {
        Mapper {
            masters,
            table,
            policies,
        }
    }

    /// The active version of a master, when it is loaded.
    pub fn master_version(&self, kind: MasterKind) -> Option<&str> {
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
mod format_tests;
#[cfg(test)]
mod tests;
