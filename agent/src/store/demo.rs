//! Reads used only by `tsunagi demo` (and tests): what one sample input ended as. Kept here,
//! apart from the daemon's store functions, so they can be gated with the demo when it becomes
//! a feature.

use rusqlite::{params, Connection, OptionalExtension};

use super::state::{sql_list, InputState, OutboxState};
use super::StoreError;

/// What the newest input of `source` with `origin` ended as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOutcome {
    /// Its row id.
    pub inbox_id: i64,
    /// Its state.
    pub state: InputState,
    /// Its items delivered.
    pub delivered: i64,
    /// Its items rejected.
    pub rejected: i64,
    /// Its items held.
    pub held: i64,
    /// Its items still on their way (pending, in flight, awaiting).
    pub unsettled: i64,
    /// Patients it brought (and still stands for).
    pub patients: i64,
}

/// The outcome of the newest input of `source` with `origin`, if one was stored.
pub fn sample_outcome(
    conn: &Connection,
    source: &str,
    origin: &str,
) -> Result<Option<SampleOutcome>, StoreError> {
    let row: Option<(i64, InputState)> = conn
        .query_row(
            "SELECT id, state FROM inbox WHERE source = ?1 AND origin = ?2 ORDER BY id DESC LIMIT 1",
            [source, origin],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, state)) = row else {
        return Ok(None);
    };
    let count = |st: OutboxState| -> Result<i64, StoreError> {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE inbox_id = ?1 AND state = ?2",
            params![id, st],
            |r| r.get(0),
        )?)
    };
    let unsettled: i64 = conn.query_row(
        &format!(
            "SELECT COUNT(*) FROM outbox WHERE inbox_id = ?1 AND state IN ({})",
            sql_list(OutboxState::UNSETTLED.map(OutboxState::as_str))
        ),
        [id],
        |r| r.get(0),
    )?;
    Ok(Some(SampleOutcome {
        inbox_id: id,
        state,
        delivered: count(OutboxState::Delivered)?,
        rejected: count(OutboxState::Rejected)?,
        held: count(OutboxState::Held)?,
        unsettled,
        patients: super::patients::count_brought_by(conn, id)?,
    }))
}
