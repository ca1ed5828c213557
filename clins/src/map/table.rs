//! The mapping table in memory, for the pipeline's lookups.
//!
//! Invariant: at most one row per (category, source_system, local_system, local_code); a later
//! row with the same key replaces the earlier one (as in SQLite).

use std::collections::HashMap;

use super::category::Category;
use super::row::{Row, ANY_SOURCE};

/// Rows indexed by their key.
#[derive(Debug, Clone, Default)]
pub struct MappingTable {
    rows: Vec<Row>,
    index: HashMap<String, usize>,
}

// Fields cannot hold control characters (checked on import), so U+0000 separates them safely.
fn key(category: Category, source: &str, local_system: &str, local_code: &str) -> String {
    format!("{category}\0{source}\0{local_system}\0{local_code}")
}

impl MappingTable {
    /// Builds the table from rows (e.g. the agent's `store::terminology::mapping::load`).
    pub fn new(rows: Vec<Row>) -> Self {
        let mut table = MappingTable::default();
        for row in rows {
            let k = key(
                row.category,
                &row.source_system,
                &row.local_system,
                &row.local_code,
            );
            match table.index.get(&k) {
                Some(&i) => table.rows[i] = row,
                None => {
                    table.index.insert(k, table.rows.len());
                    table.rows.push(row);
                }
            }
        }
        table
    }

    /// The row for a received code: the one for this source, else the one for every source (`*`).
    pub fn lookup(
        &self,
        category: Category,
        source_system: &str,
        local_system: &str,
        local_code: &str,
    ) -> Option<&Row> {
        let exact = self
            .index
            .get(&key(category, source_system, local_system, local_code));
        exact
            .or_else(|| {
                self.index
                    .get(&key(category, ANY_SOURCE, local_system, local_code))
            })
            .map(|&i| &self.rows[i])
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::category::DISEASE_KEY_NUMBER;
    use crate::map::row::testing::row;

    #[test]
    fn exact_source_wins_over_wildcard_and_wildcard_is_the_fallback() {
        let t = MappingTable::new(vec![
            row(Category::Disease, "*", "D1", DISEASE_KEY_NUMBER, "20054174"),
            row(
                Category::Disease,
                "HIS",
                "D1",
                DISEASE_KEY_NUMBER,
                "20064049",
            ),
            row(
                Category::Disease,
                "HIS",
                "D2",
                DISEASE_KEY_NUMBER,
                "20064049",
            ),
            row(
                Category::Disease,
                "HIS",
                "D2",
                DISEASE_KEY_NUMBER,
                "20054178",
            ),
        ]);
        assert_eq!(t.len(), 3);
        let code = |s: &str, c: &str| {
            t.lookup(Category::Disease, s, "99XYZ", c)
                .map(|r| r.standard_code.as_str())
        };
        assert_eq!(code("HIS", "D1"), Some("20064049"));
        assert_eq!(code("LAB2", "D1"), Some("20054174"));
        assert_eq!(code("HIS", "D2"), Some("20054178"));
        assert_eq!(code("LAB2", "D2"), None);
        assert!(t.lookup(Category::Lab, "HIS", "99XYZ", "D1").is_none());
        assert!(t
            .lookup(Category::Disease, "HIS", "99OTHER", "D1")
            .is_none());
    }
}
