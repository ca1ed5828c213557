//! The mapping table in SQLite (`DATA_DIR/terminology.db`, opened by the caller).
//!
//! Invariants:
//! - `mapping_row` holds at most one row per (category, source_system, local_system,
//!   local_code) (primary key), and every stored row passed [`crate::mapping::read_file`]'s checks.
//! - An import is one transaction: either every row of the file is in and the replaced
//!   categories' old rows are gone, or nothing changed. Each import is recorded in
//!   `mapping_import` (when, mode, categories, counts; no row contents).

use std::collections::BTreeSet;

use rusqlite::{params, Connection};

use crate::excel_csv::TextEncoding;
use crate::map::category::Category;

/// The rows of a mapping file that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFile {
    /// The rows, with their line numbers.
    pub rows: Vec<(usize, Row)>,
    /// Rows skipped because their standard code was still empty.
    pub skipped_unmapped: usize,
    /// The file's encoding.
    pub encoding: TextEncoding,
}
use crate::map::Row;

/// How an import treats rows already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// The file is the whole truth for each category it contains: that category's old rows go.
    Replace,
    /// The file's rows are added or overwrite rows with the same key; other rows stay.
    Merge,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Categories present in the file.
    pub categories: Vec<Category>,
    /// Rows written.
    pub written: usize,
    /// Old rows removed (replace mode) before writing.
    pub removed: usize,
    /// File rows skipped because their standard code was empty.
    pub skipped_unmapped: usize,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mapping_row (
    category TEXT NOT NULL,
    source_system TEXT NOT NULL,
    local_system TEXT NOT NULL,
    local_code TEXT NOT NULL,
    local_name TEXT NOT NULL,
    standard_system TEXT NOT NULL,
    standard_code TEXT NOT NULL,
    standard_display TEXT NOT NULL,
    note TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (category, source_system, local_system, local_code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mapping_import (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    mode TEXT NOT NULL,
    categories TEXT NOT NULL,
    written INTEGER NOT NULL,
    removed INTEGER NOT NULL
);
";

/// Creates the mapping tables if they do not exist.
pub fn ensure_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// Stores a checked file in one transaction.
pub fn import(
    conn: &mut Connection,
    file: &MappingFile,
    mode: ImportMode,
) -> rusqlite::Result<ImportSummary> {
    ensure_schema(conn)?;
    let categories: BTreeSet<Category> = file.rows.iter().map(|(_, r)| r.category).collect();
    let now = chrono::Utc::now().timestamp_millis();
    let tx = conn.transaction()?;
    let mut removed = 0;
    if mode == ImportMode::Replace {
        for c in &categories {
            removed += tx.execute("DELETE FROM mapping_row WHERE category = ?1", [c.as_str()])?;
        }
    }
    {
        let mut ins = tx.prepare(
            "INSERT OR REPLACE INTO mapping_row (category, source_system, local_system, local_code,
                 local_name, standard_system, standard_code, standard_display, note, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for (_, r) in &file.rows {
            ins.execute(params![
                r.category.as_str(),
                r.source_system,
                r.local_system,
                r.local_code,
                r.local_name,
                r.standard_system,
                r.standard_code,
                r.standard_display,
                r.note,
                now
            ])?;
        }
    }
    let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    tx.execute(
        "INSERT INTO mapping_import (at_ms, mode, categories, written, removed)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            now,
            match mode {
                ImportMode::Replace => "replace",
                ImportMode::Merge => "merge",
            },
            names.join(","),
            file.rows.len() as i64,
            removed as i64
        ],
    )?;
    tx.commit()?;
    Ok(ImportSummary {
        categories: categories.into_iter().collect(),
        written: file.rows.len(),
        removed,
        skipped_unmapped: file.skipped_unmapped,
    })
}

/// Every stored row (of one category, or all), ordered by key. Rows whose category text is not
/// known (a newer agent wrote them) are left out.
pub fn load(conn: &Connection, category: Option<Category>) -> rusqlite::Result<Vec<Row>> {
    ensure_schema(conn)?;
    let mut stmt = conn.prepare(
        "SELECT category, source_system, local_system, local_code, local_name, standard_system,
                standard_code, standard_display, note
         FROM mapping_row WHERE ?1 IS NULL OR category = ?1
         ORDER BY category, source_system, local_system, local_code",
    )?;
    let rows = stmt.query_map([category.map(Category::as_str)], |r| {
        let cat: String = r.get(0)?;
        Ok((
            cat,
            Row {
                category: Category::Disease,
                source_system: r.get(1)?,
                local_system: r.get(2)?,
                local_code: r.get(3)?,
                local_name: r.get(4)?,
                standard_system: r.get(5)?,
                standard_code: r.get(6)?,
                standard_display: r.get(7)?,
                note: r.get(8)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (cat, mut row) = r?;
        if let Ok(c) = cat.parse() {
            row.category = c;
            out.push(row);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::category::{DISEASE_KEY_NUMBER, JLAC10};
    use crate::mapping::row::{read_file, tests::row, write_file, FileError};
    use crate::mapping::TextEncoding;

    fn file(rows: &[Row]) -> MappingFile {
        read_file(&write_file(rows, TextEncoding::Utf8).unwrap()).unwrap()
    }

    /// A disease row from HIS mapping local `code` to 病名管理番号 `std`.
    fn disease(code: &str, std: &str) -> Row {
        row(Category::Disease, "HIS", code, DISEASE_KEY_NUMBER, std)
    }

    /// An in-memory store holding one mapping, D1 → 20054174, and that row.
    fn store_with_d1() -> (Connection, Row) {
        let mut conn = Connection::open_in_memory().unwrap();
        let d1 = disease("D1", "20054174");
        import(
            &mut conn,
            &file(std::slice::from_ref(&d1)),
            ImportMode::Replace,
        )
        .unwrap();
        (conn, d1)
    }

    #[test]
    fn replace_drops_only_the_categories_in_the_file_and_merge_keeps_others() {
        let mut conn = Connection::open_in_memory().unwrap();
        let d1 = disease("D1", "20054174");
        let d2 = disease("D2", "20064049");
        let l1 = row(Category::Lab, "HIS", "L1", JLAC10, "3H015000002326101");
        import(
            &mut conn,
            &file(&[d1.clone(), d2.clone(), l1.clone()]),
            ImportMode::Replace,
        )
        .unwrap();
        let mut d1b = d1.clone();
        d1b.standard_code = "20064049".into();
        let s = import(
            &mut conn,
            &file(std::slice::from_ref(&d1b)),
            ImportMode::Replace,
        )
        .unwrap();
        assert_eq!((s.written, s.removed), (1, 2));
        assert_eq!(load(&conn, None).unwrap(), vec![d1b.clone(), l1.clone()]);
        let s = import(
            &mut conn,
            &file(std::slice::from_ref(&d2)),
            ImportMode::Merge,
        )
        .unwrap();
        assert_eq!((s.written, s.removed), (1, 0));
        assert_eq!(load(&conn, None).unwrap(), vec![d1b, d2, l1.clone()]);
        assert_eq!(load(&conn, Some(Category::Lab)).unwrap(), vec![l1]);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM mapping_import", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn a_refused_file_changes_nothing() {
        let (conn, d1) = store_with_d1();
        let good = disease("D2", "20064049");
        let bad = disease("D3", "123");
        let bytes = write_file(&[good, bad], TextEncoding::Utf8).unwrap();
        let Err(FileError::Lines(p)) = read_file(&bytes) else {
            panic!("must be refused")
        };
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 3);
        assert_eq!(load(&conn, None).unwrap(), vec![d1]);
    }

    #[test]
    fn a_failing_transaction_rolls_back() {
        let (mut conn, d1) = store_with_d1();
        // Make the audit insert (the last statement) fail.
        conn.execute_batch("DROP TABLE mapping_import; CREATE TABLE mapping_import (x);")
            .unwrap();
        let d2 = disease("D2", "20064049");
        assert!(import(&mut conn, &file(&[d2]), ImportMode::Replace).is_err());
        assert_eq!(load(&conn, None).unwrap(), vec![d1]);
    }
}
