//! The `patient` table: the latest Patient each patient reference was seen with, so that a lone
//! resource (a lab result, an allergy) can be bundled with the Patient an earlier input brought.
//!
//! Writes report what changed ([`Remembered`]): the processor wakes the items waiting for a
//! patient only when the stored Patient really changed, never because an input brought the same
//! Patient again (issue 9, F1: an input that re-brought its own incomplete Patient replayed
//! itself forever). A replayed older input never overwrites what a newer input brought.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::clock::now_ms;

/// What [`remember`] did with one Patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remembered {
    /// Stored: new, or different from what was stored.
    Changed,
    /// The stored Patient is byte-identical; only the time it was last seen was written.
    Unchanged,
    /// A newer input already brought this patient; the older input's Patient was not written
    /// (only the time it was last seen).
    Older,
}

/// Stores `resource` as the Patient of `reference`, brought by input `inbox_id`.
pub fn remember(
    conn: &Connection,
    reference: &str,
    resource: &str,
    inbox_id: i64,
) -> Result<Remembered, StoreError> {
    let stored: Option<(String, i64)> = conn
        .prepare_cached("SELECT resource, inbox_id FROM patient WHERE reference = ?1")?
        .query_row([reference], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let not_written = match stored {
        Some((_, by)) if by > inbox_id => Some(Remembered::Older),
        Some((text, _)) if text == resource => Some(Remembered::Unchanged),
        _ => None,
    };
    if let Some(answer) = not_written {
        // `updated_at` is when the patient was last seen: retention prunes Patients not seen
        // for long (`retention`).
        conn.prepare_cached("UPDATE patient SET updated_at = ?2 WHERE reference = ?1")?
            .execute(params![reference, now_ms()])?;
        return Ok(answer);
    }
    conn.prepare_cached(
        "INSERT INTO patient (reference, resource, inbox_id, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (reference) DO UPDATE SET resource = ?2, inbox_id = ?3, updated_at = ?4",
    )?
    .execute(params![reference, resource, inbox_id, now_ms()])?;
    Ok(Remembered::Changed)
}

/// The stored Patient of `reference` (JSON text), if any. Errors propagate: a caller that
/// cannot read the table must not act as if the patient were unknown.
pub fn find(conn: &Connection, reference: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT resource FROM patient WHERE reference = ?1")?
        .query_row([reference], |r| r.get(0))
        .optional()?)
}

/// How many patients input `inbox_id` brought (and still stands for).
#[cfg(any(test, feature = "demo"))] // only `tsunagi demo` uses it
pub fn count_brought_by(conn: &Connection, inbox_id: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM patient WHERE inbox_id = ?1",
        [inbox_id],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patient_is_changed_only_when_its_text_differs_and_never_by_an_older_input() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::open(dir.path()).unwrap();
        assert_eq!(
            remember(&c, "Patient/1", "a", 5).unwrap(),
            Remembered::Changed
        );
        assert_eq!(
            remember(&c, "Patient/1", "a", 6).unwrap(),
            Remembered::Unchanged
        );
        assert_eq!(
            remember(&c, "Patient/1", "b", 4).unwrap(),
            Remembered::Older
        );
        assert_eq!(find(&c, "Patient/1").unwrap().as_deref(), Some("a"));
        assert_eq!(
            remember(&c, "Patient/1", "b", 7).unwrap(),
            Remembered::Changed
        );
        assert_eq!(find(&c, "Patient/1").unwrap().as_deref(), Some("b"));
        assert_eq!(count_brought_by(&c, 7).unwrap(), 1);
        assert_eq!(find(&c, "Patient/2").unwrap(), None);
    }
}
