//! The facts of the monthly quality report (`crate::quality`), read from the store as they are
//! stored; the report classifies and aggregates them.
//!
//! Read-only, on a reader connection while the daemon runs, and on databases written before
//! schema v4 (no `outbox.info_type` / `event_at`: the body is returned so the report can classify
//! the bundle itself). Months are given as unix ms `[start, end)`.

use rusqlite::{params, Connection, OptionalExtension};

use super::state::{InputState, OutboxState};
use super::StoreError;
use crate::map::{Category, ItemState};

/// Inputs received in `[start, end)`: (received at, state).
pub fn inputs(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, InputState)>, StoreError> {
    let mut st = conn.prepare(
        "SELECT received_at, state FROM inbox WHERE received_at >= ?1 AND received_at < ?2",
    )?;
    let rows = st
        .query_map(params![start, end], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One outbox row that matters for a month, as stored.
#[derive(Debug, Clone)]
pub struct OutboxFact {
    /// Row id.
    pub id: i64,
    /// Resource type.
    pub resource_type: String,
    /// Information type key, when recorded (schema v4 and later).
    pub info_type: Option<String>,
    /// Clinical event time, when recorded.
    pub event_at: Option<i64>,
    /// The bundle body, only when no information type is recorded (to classify it).
    pub body: Option<Vec<u8>>,
    /// When its input was received.
    pub received_at: i64,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
    /// When it was held (its creation), unless it was superseded since.
    pub held_at: Option<i64>,
    /// Why it is (or was) held.
    pub hold_reason: Option<String>,
    /// Its first rejection.
    pub first_rejected: Option<i64>,
    /// The validator's findings, for items held as invalid.
    pub last_error: Option<String>,
}

fn has_v4_columns(conn: &Connection) -> Result<bool, StoreError> {
    let mut st =
        conn.prepare("SELECT name FROM pragma_table_info('outbox') WHERE name = 'info_type'")?;
    Ok(st.exists([])?)
}

/// Outbox rows delivered, held or first rejected in `[start, end)`.
pub fn outbox_rows(conn: &Connection, start: i64, end: i64) -> Result<Vec<OutboxFact>, StoreError> {
    let (info, event) = if has_v4_columns(conn)? {
        ("o.info_type", "o.event_at")
    } else {
        ("NULL", "NULL")
    };
    let superseded = OutboxState::Superseded.as_str();
    let sql = format!(
        "WITH rej AS (SELECT outbox_id, MIN(at) AS first_at FROM attempt
                      WHERE outcome = 'rejected' GROUP BY outbox_id)
         SELECT o.id, o.resource_type, {info}, {event},
                CASE WHEN {info} IS NULL THEN o.body END,
                i.received_at, o.delivered_at,
                CASE WHEN o.hold_reason IS NOT NULL AND o.state <> '{superseded}' THEN o.created_at END,
                o.hold_reason, rej.first_at,
                CASE WHEN o.hold_reason = 'invalid' THEN o.last_error END
         FROM outbox AS o JOIN inbox AS i ON i.id = o.inbox_id
              LEFT JOIN rej ON rej.outbox_id = o.id
         WHERE (o.delivered_at >= ?1 AND o.delivered_at < ?2)
            OR (o.hold_reason IS NOT NULL AND o.state <> '{superseded}'
                AND o.created_at >= ?1 AND o.created_at < ?2)
            OR (rej.first_at >= ?1 AND rej.first_at < ?2)
         ORDER BY o.id"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st
        .query_map(params![start, end], |r| {
            Ok(OutboxFact {
                id: r.get(0)?,
                resource_type: r.get(1)?,
                info_type: r.get(2)?,
                event_at: r.get(3)?,
                body: r.get(4)?,
                received_at: r.get(5)?,
                delivered_at: r.get(6)?,
                held_at: r.get(7)?,
                hold_reason: r.get(8)?,
                first_rejected: r.get(9)?,
                last_error: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Items held in `[start, end)` (not superseded since) for `hold_reason`: (items, distinct
/// patients). Patients are counted by their stored reference, never returned.
pub fn held_for(
    conn: &Connection,
    start: i64,
    end: i64,
    hold_reason: &str,
) -> Result<(i64, i64), StoreError> {
    let mut st = conn.prepare(
        "SELECT COUNT(*), COUNT(DISTINCT patient_ref) FROM outbox
         WHERE hold_reason = ?3 AND state <> ?4 AND created_at >= ?1 AND created_at < ?2",
    )?;
    let counts = st.query_row(
        params![start, end, hold_reason, OutboxState::Superseded],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(counts)
}

/// Rejected attempts in `[start, end)`: (outbox id, the platform's reason).
pub fn rejections(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut st = conn.prepare(
        "SELECT outbox_id, COALESCE(detail, '') FROM attempt
         WHERE outcome = 'rejected' AND at >= ?1 AND at < ?2",
    )?;
    let rows = st
        .query_map(params![start, end], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Coded items of inputs received in `[start, end)`: (category, outcome, count).
pub fn coded_counts(
    conn: &Connection,
    start: i64,
    end: i64,
) -> Result<Vec<(Category, ItemState, i64)>, StoreError> {
    let mut st = conn.prepare(
        "SELECT c.category, c.outcome, COUNT(*) FROM item_code AS c JOIN inbox AS i ON i.id = c.inbox_id
         WHERE i.received_at >= ?1 AND i.received_at < ?2 GROUP BY c.category, c.outcome",
    )?;
    let rows = st
        .query_map(params![start, end], |r| {
            Ok((
                super::items::parsed(r, 0)?,
                super::items::parsed(r, 1)?,
                r.get(2)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// One unmapped (or invalid) local code of the month, as stored.
#[derive(Debug, Clone)]
pub struct UnmappedFact {
    /// `disease`, `lab`, `allergen` or `drug`.
    pub category: String,
    /// The sending system.
    pub source_system: String,
    /// The code system as received.
    pub local_system: String,
    /// The code as received.
    pub local_code: String,
    /// The local name: only for master terms (lab, drug); diagnosis and allergen names may be
    /// free text and are never returned.
    pub local_name: Option<String>,
    /// `unmapped` or `invalid`.
    pub outcome: String,
    /// Items carrying it.
    pub items: i64,
    /// Inputs carrying it.
    pub records: i64,
}

/// Unmapped and invalid local codes of inputs received in `[start, end)`, the code carried by
/// the most inputs first.
pub fn unmapped(conn: &Connection, start: i64, end: i64) -> Result<Vec<UnmappedFact>, StoreError> {
    let mut st = conn.prepare(
        "SELECT c.category, c.source_system, c.local_system, c.local_code,
                CASE WHEN c.category IN ('lab', 'drug') THEN MAX(c.local_name) END,
                c.outcome, COUNT(*), COUNT(DISTINCT c.inbox_id)
         FROM item_code AS c JOIN inbox AS i ON i.id = c.inbox_id
         WHERE i.received_at >= ?1 AND i.received_at < ?2 AND c.outcome IN ('unmapped', 'invalid')
         GROUP BY c.category, c.source_system, c.local_system, c.local_code, c.outcome
         ORDER BY COUNT(DISTINCT c.inbox_id) DESC, COUNT(*) DESC, c.category, c.local_code",
    )?;
    let rows = st
        .query_map(params![start, end], |r| {
            Ok(UnmappedFact {
                category: r.get(0)?,
                source_system: r.get(1)?,
                local_system: r.get(2)?,
                local_code: r.get(3)?,
                local_name: r.get(4)?,
                outcome: r.get(5)?,
                items: r.get(6)?,
                records: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The outcome of the last attempt before `at` (the uplink's state when a month starts).
pub fn outcome_before(conn: &Connection, at: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT outcome FROM attempt WHERE at < ?1 ORDER BY at DESC, id DESC LIMIT 1",
            [at],
            |r| r.get(0),
        )
        .optional()?)
}

/// Attempts in `[start, end)`, in time order: (at, outcome).
pub fn outcomes(conn: &Connection, start: i64, end: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let mut st =
        conn.prepare("SELECT at, outcome FROM attempt WHERE at >= ?1 AND at < ?2 ORDER BY at, id")?;
    let rows = st
        .query_map(params![start, end], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
