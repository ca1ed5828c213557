//! Read-only views of the store for `status` and `queue`, and the small `agent_state` facts.
//!
//! Nothing here prints bundle bodies or raw inputs; [`item_content`] returns them only for
//! `queue show --reveal`, whose caller records the access in the audit table first.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now_ms, StoreError};

/// Sets a fact in `agent_state`.
pub fn set_state(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO agent_state (key, value, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = ?2, at = ?3",
        params![key, value, now_ms()],
    )?;
    Ok(())
}

/// Reads a fact and when it was set.
pub fn get_state(conn: &Connection, key: &str) -> Result<Option<(String, i64)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT value, at FROM agent_state WHERE key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// What `tsunagi status` shows.
#[derive(Debug, Serialize, Default)]
pub struct Status {
    /// Inputs by state.
    pub inputs_received: i64,
    /// Inputs processed.
    pub inputs_processed: i64,
    /// Inputs quarantined.
    pub inputs_quarantined: i64,
    /// Outbox items by state, as (state, count).
    pub outbox: Vec<(String, i64)>,
    /// Age in seconds of the oldest item not yet delivered (pending, in flight, awaiting).
    pub oldest_pending_age_secs: Option<i64>,
    /// Unix ms of the last delivery.
    pub last_delivery_ms: Option<i64>,
    /// Last error text and when.
    pub last_error: Option<(String, i64)>,
    /// Whether intake is paused by the disk reserve.
    pub intake_paused: bool,
    /// Attempts recorded.
    pub attempts: i64,
}

impl Status {
    /// The count of one outbox state.
    pub fn count(&self, state: &str) -> i64 {
        self.outbox
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// Reads the status.
pub fn status(conn: &Connection) -> Result<Status, StoreError> {
    let mut s = Status::default();
    let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM inbox GROUP BY state")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        match state.as_str() {
            "received" => s.inputs_received = n,
            "processed" => s.inputs_processed = n,
            "quarantined" => s.inputs_quarantined = n,
            _ => {}
        }
    }
    let mut stmt =
        conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
    s.outbox = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let oldest: Option<i64> = conn.query_row(
        "SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'in_flight', 'awaiting')",
        [],
        |r| r.get(0),
    )?;
    s.oldest_pending_age_secs = oldest.map(|t| (now_ms() - t).max(0) / 1000);
    s.last_delivery_ms =
        conn.query_row("SELECT MAX(delivered_at) FROM outbox", [], |r| r.get(0))?;
    s.last_error = get_state(conn, "last_error")?;
    s.intake_paused = get_state(conn, "intake_paused")?.is_some_and(|(v, _)| v == "1");
    s.attempts = conn.query_row("SELECT COUNT(*) FROM attempt", [], |r| r.get(0))?;
    Ok(s)
}

/// One line of `queue list`.
#[derive(Debug, Serialize)]
pub struct QueueItem {
    /// `O-<id>` for outbox items, `I-<id>` for quarantined inputs.
    pub id: String,
    /// State.
    pub state: String,
    /// Resource type, or the input format for inputs.
    pub kind: String,
    /// Source name and origin (path or MSH-10) of the input.
    pub source: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why it is where it is.
    pub reason: Option<String>,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

/// Lists outbox items in the given states, and quarantined inputs if `quarantined`.
pub fn queue(
    conn: &Connection,
    states: &[&str],
    quarantined: bool,
    limit: usize,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut items = Vec::new();
    if !states.is_empty() {
        let marks = vec!["?"; states.len()].join(",");
        let sql = format!(
            "SELECT o.id, o.state, o.resource_type, i.source || ':' || i.origin, o.attempts,
                    COALESCE(o.last_error, o.hold_reason), o.updated_at
             FROM outbox o JOIN inbox i ON i.id = o.inbox_id
             WHERE o.state IN ({marks}) ORDER BY o.id LIMIT {limit}"
        );
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(states.iter()), |r| {
            Ok(QueueItem {
                id: format!("O-{}", r.get::<_, i64>(0)?),
                state: r.get(1)?,
                kind: r.get(2)?,
                source: r.get(3)?,
                attempts: r.get(4)?,
                reason: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })?;
        for row in rows {
            items.push(row?);
        }
    }
    if quarantined {
        let mut stmt = conn.prepare(
            "SELECT id, format, source || ':' || origin, error, COALESCE(processed_at, received_at)
             FROM inbox WHERE state = 'quarantined' ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(QueueItem {
                id: format!("I-{}", r.get::<_, i64>(0)?),
                state: "quarantined".into(),
                kind: r.get(1)?,
                source: r.get(2)?,
                attempts: 0,
                reason: r.get(3)?,
                updated_at: r.get(4)?,
            })
        })?;
        for row in rows {
            items.push(row?);
        }
    }
    Ok(items)
}

/// One recorded attempt: (unix ms, outcome, detail, next delay in ms).
pub type AttemptRow = (i64, String, Option<String>, Option<i64>);

/// The attempts of an outbox item, oldest first.
pub fn attempts(conn: &Connection, outbox_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT at, outcome, detail, next_delay_ms FROM attempt WHERE outbox_id = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([outbox_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The content behind an item id (`O-…` → bundle body; `I-…` → raw input). Patient data.
pub fn item_content(conn: &Connection, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let (table, col, n) = parse_item_id(id)?;
    Ok(conn
        .query_row(
            &format!("SELECT {col} FROM {table} WHERE id = ?1"),
            [n],
            |r| r.get::<_, Option<Vec<u8>>>(0),
        )
        .optional()?
        .flatten())
}

/// Splits `O-12` / `I-7` into table, content column and row id.
pub fn parse_item_id(id: &str) -> Result<(&'static str, &'static str, i64), StoreError> {
    let bad = || {
        StoreError::Invalid(format!(
            "item ids look like O-12 (outbox) or I-7 (input); got {id:?}"
        ))
    };
    let (prefix, n) = id.split_once('-').ok_or_else(bad)?;
    let n: i64 = n.parse().map_err(|_| bad())?;
    match prefix {
        "O" | "o" => Ok(("outbox", "body", n)),
        "I" | "i" => Ok(("inbox", "raw", n)),
        _ => Err(bad()),
    }
}
