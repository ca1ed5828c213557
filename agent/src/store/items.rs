//! Mapping outcomes: which local code each coded item of an input carried, and what became of it.
//!
//! The pipeline records one [`ItemOutcome`] (the map stage's, `tsunagi_clins::map`) per coded item (a diagnosis, a lab result, an
//! allergen, a drug) when it processes an input, replacing whatever an earlier run of the same
//! input recorded, in the same job that writes its outbox rows. The table is what
//! `tsunagi mapping suggest` ranks by (records a fix would improve), what
//! `tsunagi replay --unmapped` selects by, and where the coded rates of the quality report come
//! from.
//!
//! The states are enums everywhere else; here, and only here, they are text
//! ([`ItemState::as_str`], [`Via::as_str`] written, `FromStr` read back).
//!
//! Invariant: the rows of an input describe its latest processing only (replaced as a whole).
//! Local code names are master terms of the hospital (検査項目名, 薬品名), stored like the raw
//! inputs in the 0600 database and never logged.

use rusqlite::{params, Connection};

use super::StoreError;
use crate::clock::now_ms;
pub use crate::map::ItemOutcome;
use crate::map::{Category, ItemState, Via};

/// Replaces the outcomes recorded for an input.
pub fn record(conn: &Connection, inbox_id: i64, items: &[ItemOutcome]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM item_code WHERE inbox_id = ?1")?
        .execute([inbox_id])?;
    if items.is_empty() {
        return Ok(());
    }
    let at = now_ms();
    let mut st = conn.prepare_cached(
        "INSERT INTO item_code (inbox_id, category, source_system, local_system, local_code,
             local_name, unit, specimen, outcome, via, standard_system, standard_code, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for i in items {
        st.execute(params![
            inbox_id,
            i.category.as_str(),
            i.source_system,
            i.local_system,
            i.local_code,
            i.local_name,
            i.unit,
            i.specimen,
            i.outcome.state().as_str(),
            i.outcome.via().map(Via::as_str),
            i.standard_system,
            i.standard_code,
            at
        ])?;
    }
    Ok(())
}

/// One local code that is not mapped, with how many recorded items carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnmappedCount {
    /// The item's category.
    pub category: Category,
    /// The sending system.
    pub source_system: String,
    /// The code system as received.
    pub local_system: String,
    /// The code as received.
    pub local_code: String,
    /// The local name (the most recent one seen).
    pub local_name: Option<String>,
    /// Unit seen with it (labs).
    pub unit: Option<String>,
    /// Specimen seen with it (labs).
    pub specimen: Option<String>,
    /// Items carrying it.
    pub records: u64,
    /// Unmapped, or invalid (the mapping table names a code the master refuses).
    pub outcome: ItemState,
}

/// Unmapped and invalid local codes, most frequent first.
pub fn unmapped(conn: &Connection) -> Result<Vec<UnmappedCount>, StoreError> {
    let mut st = conn.prepare(
        "SELECT category, source_system, local_system, local_code, MAX(local_name), MAX(unit),
                MAX(specimen), COUNT(*), outcome
         FROM item_code WHERE outcome IN ('unmapped', 'invalid')
         GROUP BY category, source_system, local_system, local_code, outcome
         ORDER BY COUNT(*) DESC, category, local_code",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(UnmappedCount {
                category: parsed(r, 0)?,
                source_system: r.get(1)?,
                local_system: r.get(2)?,
                local_code: r.get(3)?,
                local_name: r.get(4)?,
                unit: r.get(5)?,
                specimen: r.get(6)?,
                records: r.get::<_, i64>(7)?.max(0) as u64,
                outcome: parsed(r, 8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Inputs that have at least one unmapped or invalid item (what `replay --unmapped` rebuilds).
pub fn inputs_with_unmapped(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut st = conn.prepare(
        "SELECT DISTINCT inbox_id FROM item_code WHERE outcome IN ('unmapped', 'invalid')
         ORDER BY inbox_id",
    )?;
    let ids = st
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// A coded item's outcome as stored.
pub struct StoredItem {
    /// The item's category.
    pub category: Category,
    /// The code system as received.
    pub local_system: String,
    /// The code as received.
    pub local_code: String,
    /// What became of it.
    pub outcome: ItemState,
    /// How a mapped item's standard code was found.
    pub via: Option<Via>,
    /// The standard code system, for mapped items.
    pub standard_system: Option<String>,
    /// The standard code, for mapped items.
    pub standard_code: Option<String>,
}

/// The outcomes recorded for input `inbox_id`, in the order they were recorded.
pub fn for_input(conn: &Connection, inbox_id: i64) -> Result<Vec<StoredItem>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT category, local_system, local_code, outcome, via, standard_system, standard_code
         FROM item_code WHERE inbox_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([inbox_id], |r| {
        Ok(StoredItem {
            category: parsed(r, 0)?,
            local_system: r.get(1)?,
            local_code: r.get(2)?,
            outcome: parsed(r, 3)?,
            via: r
                .get::<_, Option<String>>(4)?
                .map(|v| v.parse().map_err(|e| conversion(4, e)))
                .transpose()?,
            standard_system: r.get(5)?,
            standard_code: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Column `i` read as text and parsed into its enum; text no state names is an error, never a
/// default.
pub(super) fn parsed<T>(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    r.get::<_, String>(i)?.parse().map_err(|e| conversion(i, e))
}

fn conversion(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::map::{Invalid, InvalidMapping, Outcome};

    fn item(code: &str, state: &'static str) -> ItemOutcome {
        let outcome = match state {
            "mapped" => Outcome::Mapped {
                via: Via::Table,
                verified: true,
            },
            "unmapped" => Outcome::Unmapped { reviewed: false },
            _ => Outcome::Invalid(Invalid::Mapping(InvalidMapping::NotInMaster {
                system: "s".into(),
                code: "c".into(),
            })),
        };
        ItemOutcome {
            category: Category::Lab,
            source_system: "HIS".into(),
            local_system: "99XYZ".into(),
            local_code: code.into(),
            local_name: Some("白血球数".into()),
            unit: Some("/uL".into()),
            specimen: None,
            outcome,
            standard_system: None,
            standard_code: None,
        }
    }

    #[test]
    fn outcomes_are_replaced_per_input_and_ranked_by_volume() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        for n in 1..=3 {
            let origin = format!("{n}.hl7");
            let stored = crate::store::inbox::insert(
                &conn,
                &crate::store::inbox::NewInput {
                    source: "s",
                    origin: &origin,
                    format: "hl7v2",
                    raw: origin.as_bytes(),
                    file_stamp: None,
                },
            )
            .unwrap();
            assert_eq!(stored, crate::store::inbox::Stored::New(n));
        }
        record(&conn, 1, &[item("A", "unmapped"), item("B", "mapped")]).unwrap();
        record(&conn, 2, &[item("A", "unmapped"), item("C", "invalid")]).unwrap();
        record(&conn, 3, &[item("C", "invalid")]).unwrap();
        let u = unmapped(&conn).unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].records, 2);
        assert_eq!(inputs_with_unmapped(&conn).unwrap(), vec![1, 2, 3]);
        // Input 1 processed again after a fix: its rows are replaced.
        record(&conn, 1, &[item("A", "mapped")]).unwrap();
        record(&conn, 3, &[]).unwrap();
        assert_eq!(inputs_with_unmapped(&conn).unwrap(), vec![2]);
        let u = unmapped(&conn).unwrap();
        assert!(u.iter().all(|c| c.records == 1), "{u:?}");
    }
}
