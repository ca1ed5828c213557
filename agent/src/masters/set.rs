//! The masters in memory: the active version of each kind, with a hash index by code.
//!
//! A `MasterSet` is immutable once built; to pick up a newly loaded version, build a new one
//! (`from_db`) and swap it in (e.g. behind an `Arc`).

use std::collections::HashMap;

use rusqlite::Connection;

use super::{MasterEntry, MasterError, MasterKind};
use crate::store::terminology::masters::{active_versions, entries};

/// One kind's active version.
#[derive(Debug, Default)]
struct Table {
    version: String,
    entries: Vec<MasterEntry>,
    /// Code → position in `entries`.
    index: HashMap<Box<str>, u32>,
}

/// The active masters, by kind.
#[derive(Debug, Default)]
pub struct MasterSet {
    tables: HashMap<MasterKind, Table>,
}

impl MasterSet {
    /// No masters: every lookup misses.
    #[cfg(test)]
    pub fn empty() -> MasterSet {
        MasterSet::default()
    }

    /// Reads the active version of every kind from the database.
    pub fn from_db(conn: &Connection) -> Result<MasterSet, MasterError> {
        let mut tables = HashMap::new();
        for (kind, id, version) in active_versions(conn)? {
            let entries = entries(conn, id)?
                .into_iter()
                .map(|(code, display, kana, extra)| MasterEntry {
                    code: code.into(),
                    display: display.into(),
                    kana: kana.map(Into::into),
                    extra: MasterEntry::extra_from_json(extra.as_deref()),
                })
                .collect();
            tables.insert(kind, Table::new(version, entries));
        }
        Ok(MasterSet { tables })
    }

    /// Builds a set from entries in memory (tests, tools).
    #[cfg(test)]
    pub fn from_entries(
        kinds: impl IntoIterator<Item = (MasterKind, String, Vec<MasterEntry>)>,
    ) -> MasterSet {
        MasterSet {
            tables: kinds
                .into_iter()
                .map(|(k, v, e)| (k, Table::new(v, e)))
                .collect(),
        }
    }

    /// The entry of `code` in the active version of `kind`.
    pub fn lookup(&self, kind: MasterKind, code: &str) -> Option<&MasterEntry> {
        let t = self.tables.get(&kind)?;
        t.index.get(code).map(|&i| &t.entries[i as usize])
    }

    /// All entries of a kind (empty when none is loaded), in file order.
    pub fn entries(&self, kind: MasterKind) -> &[MasterEntry] {
        self.tables.get(&kind).map_or(&[], |t| &t.entries)
    }

    /// The active version label of a kind.
    pub fn version(&self, kind: MasterKind) -> Option<&str> {
        self.tables.get(&kind).map(|t| t.version.as_str())
    }

    #[cfg(test)]
    /// Approximate heap bytes held for a kind: entries, their strings and the index.
    pub fn heap_bytes(&self, kind: MasterKind) -> usize {
        let Some(t) = self.tables.get(&kind) else {
            return 0;
        };
        let entries = t.entries.capacity() * std::mem::size_of::<MasterEntry>()
            + t.entries.iter().map(MasterEntry::heap_bytes).sum::<usize>();
        // hashbrown: one control byte per bucket plus the (key, value) slot; buckets ≈ 8/7 cap.
        let slot = std::mem::size_of::<(Box<str>, u32)>() + 1;
        let index =
            t.index.capacity() * 8 / 7 * slot + t.index.keys().map(|k| k.len()).sum::<usize>();
        entries + index
    }
}

impl Table {
    fn new(version: String, entries: Vec<MasterEntry>) -> Table {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code.clone(), i as u32))
            .collect();
        Table {
            version,
            entries,
            index,
        }
    }
}
