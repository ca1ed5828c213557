//! The counts the operations surface (`/metrics`, the status page) reads at request time.
//!
//! Every figure is a count or a time grouped by a fixed vocabulary (states, outcomes, configured
//! source names, hold reasons); no query here selects raw inputs, bundle bodies or patient
//! references. The free text read here (rejection details, quarantine reasons) is returned to
//! `ops`, which reduces it to rule keys or scrubs it before it leaves.

use rusqlite::{params, Connection};

use super::state::{InputState, OutboxState};
use super::StoreError;

fn grouped(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map(p, |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get(1)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Inputs by state.
pub fn inputs_by_state(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    grouped(conn, "SELECT state, COUNT(*) FROM inbox GROUP BY state", [])
}

/// Inputs ever stored, by source name.
pub fn inputs_by_source(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    grouped(
        conn,
        "SELECT source, COUNT(*) FROM inbox GROUP BY source",
        [],
    )
}

/// Delivery attempts by outcome.
pub fn attempts_by_outcome(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    grouped(
        conn,
        "SELECT outcome, COUNT(*) FROM attempt GROUP BY outcome",
        [],
    )
}

/// Held items by reason (`other` when none is recorded).
pub fn held_by_reason(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    grouped(
        conn,
        "SELECT COALESCE(hold_reason, 'other'), COUNT(*) FROM outbox WHERE state = ?1 GROUP BY 1",
        [OutboxState::Held],
    )
}

/// The details of every rejected attempt (the platform's reasons; free text).
pub fn rejection_details(conn: &Connection) -> Result<Vec<Option<String>>, StoreError> {
    let mut stmt = conn.prepare("SELECT detail FROM attempt WHERE outcome = 'rejected'")?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Outcomes of the last (at most 10) attempts since `since_ms` that reached a verdict (not
/// `awaiting`), newest first.
pub fn recent_outcomes(conn: &Connection, since_ms: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT outcome FROM attempt WHERE at >= ?1 AND outcome != 'awaiting'
         ORDER BY id DESC LIMIT 10",
    )?;
    let rows = stmt
        .query_map([since_ms], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Whether the store takes writes now: a write transaction is opened and rolled back.
pub fn check_writable(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
    Ok(())
}

/// Counts since a moment (the status page's "today").
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Today {
    /// Inputs received.
    pub received: i64,
    /// Bundles delivered.
    pub delivered: i64,
    /// Items held (created since, and held now).
    pub held: i64,
    /// Rejections recorded.
    pub rejected: i64,
    /// Inputs quarantined.
    pub quarantined: i64,
}

/// Counts of what happened since `from_ms`.
pub fn since(conn: &Connection, from_ms: i64) -> Result<Today, StoreError> {
    let n = |sql: &str, state: &dyn rusqlite::ToSql| -> Result<i64, StoreError> {
        Ok(conn.query_row(sql, params![from_ms, state], |r| r.get(0))?)
    };
    Ok(Today {
        received: conn.query_row(
            "SELECT COUNT(*) FROM inbox WHERE received_at >= ?1",
            [from_ms],
            |r| r.get(0),
        )?,
        delivered: n(
            "SELECT COUNT(*) FROM outbox WHERE state = ?2 AND delivered_at >= ?1",
            &OutboxState::Delivered,
        )?,
        held: n(
            "SELECT COUNT(*) FROM outbox WHERE state = ?2 AND created_at >= ?1",
            &OutboxState::Held,
        )?,
        rejected: conn.query_row(
            "SELECT COUNT(*) FROM attempt WHERE outcome = 'rejected' AND at >= ?1",
            [from_ms],
            |r| r.get(0),
        )?,
        quarantined: n(
            "SELECT COUNT(*) FROM inbox WHERE state = ?2 AND COALESCE(processed_at, received_at) >= ?1",
            &InputState::Quarantined,
        )?,
    })
}

/// One failed attempt or quarantined input, unscrubbed: (unix ms, kind, `O-n`/`I-n`, text).
pub type RawError = (i64, String, String, String);

/// The latest delivery failures (rejected, transient, ambiguous), newest first.
pub fn recent_failures(conn: &Connection, limit: usize) -> Result<Vec<RawError>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT at, outcome, 'O-' || outbox_id, COALESCE(detail, '') FROM attempt
         WHERE outcome IN ('rejected', 'transient', 'ambiguous') ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt
        .query_map([limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The latest quarantined inputs, newest first (kind `quarantined`), each with its source and
/// origin (path or MSH-10) so that the caller can replace them by a tag before showing the text.
pub fn recent_quarantines(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<(RawError, String, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT COALESCE(processed_at, received_at), 'I-' || id, COALESCE(error, ''), source, origin
         FROM inbox WHERE state = ?2 ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt
        .query_map(params![limit as i64, InputState::Quarantined], |r| {
            Ok((
                (
                    r.get(0)?,
                    InputState::Quarantined.as_str().to_string(),
                    r.get(1)?,
                    r.get(2)?,
                ),
                r.get(3)?,
                r.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
