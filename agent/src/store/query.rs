//! Read-only views of the store for `status` and `queue`, and the small `agent_state` facts.
//!
//! Nothing here prints bundle bodies or raw inputs; [`item_content`] returns them only for
//! `queue show --reveal`, whose caller records the access in the audit table first.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::state::{sql_list, InputState, OutboxState};
use super::StoreError;
use crate::clock::now_ms;

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
    /// Inputs by state, every state counted (`dropped` too), as (state, count): read once with
    /// the three above, for `/metrics` (one count of every input per scrape, not two).
    #[serde(skip)]
    pub inputs_by_state: Vec<(String, i64)>,
}

impl Status {
    /// The count of one outbox state.
    pub fn count(&self, state: OutboxState) -> i64 {
        self.outbox
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// When the last bundle was delivered. The condition is the partial index `outbox_delivered`'s:
/// without it the planner cannot use that index and reads the whole outbox (0.33 s with
/// 1,000,000 rows; 4 ms with it).
const LAST_DELIVERY: &str = "SELECT MAX(delivered_at) FROM outbox WHERE delivered_at IS NOT NULL";

/// Reads the status.
pub fn status(conn: &Connection) -> Result<Status, StoreError> {
    let mut s = Status {
        inputs_by_state: super::figures::inputs_by_state(conn)?,
        ..Status::default()
    };
    for (state, n) in &s.inputs_by_state {
        match state
            .parse::<InputState>()
            .map_err(|e| StoreError::Invalid(e.to_string()))?
        {
            InputState::Received => s.inputs_received = *n,
            InputState::Processed => s.inputs_processed = *n,
            InputState::Quarantined => s.inputs_quarantined = *n,
            InputState::Dropped => {}
        }
    }
    let mut stmt =
        conn.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
    s.outbox = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let oldest: Option<i64> = conn.query_row(
        &format!(
            "SELECT MIN(created_at) FROM outbox WHERE state IN ({})",
            sql_list(OutboxState::UNSETTLED.map(OutboxState::as_str))
        ),
        [],
        |r| r.get(0),
    )?;
    s.oldest_pending_age_secs = oldest.map(|t| (now_ms() - t).max(0) / 1000);
    s.last_delivery_ms = conn.query_row(LAST_DELIVERY, [], |r| r.get(0))?;
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
    /// State (an outbox state, or `quarantined` for inputs).
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

/// The first `limit` outbox items in `states` (bound as ?1..), oldest first. The ids are chosen
/// from an index alone and only their rows are read: selecting the rows first read every row
/// in those states to sort them (0.55 s for 1,000,000 held items; 0.11 s so).
fn outbox_queue_sql(states: usize, limit: usize) -> String {
    let marks = vec!["?"; states].join(",");
    format!(
        "SELECT o.id, o.state, o.resource_type, i.source || ':' || i.origin, o.attempts,
                COALESCE(o.last_error, o.hold_reason), o.updated_at
         FROM outbox o JOIN inbox i ON i.id = o.inbox_id
         WHERE o.id IN (SELECT id FROM outbox WHERE state IN ({marks}) ORDER BY id LIMIT {limit})
         ORDER BY o.id"
    )
}

/// Lists outbox items in the given states, and quarantined inputs if `quarantined`.
pub fn queue(
    conn: &Connection,
    states: &[OutboxState],
    quarantined: bool,
    limit: usize,
) -> Result<Vec<QueueItem>, StoreError> {
    let mut items = Vec::new();
    if !states.is_empty() {
        let mut stmt = conn.prepare(&outbox_queue_sql(states.len(), limit))?;
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
             FROM inbox WHERE state = ?2 ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64, InputState::Quarantined], |r| {
            Ok(QueueItem {
                id: format!("I-{}", r.get::<_, i64>(0)?),
                state: InputState::Quarantined.as_str().into(),
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

/// What `queue show O-n` prints about an outbox item (metadata only, never the body).
#[derive(Debug, Clone)]
pub struct ItemDetail {
    /// State.
    pub state: OutboxState,
    /// Resource type.
    pub resource_type: String,
    /// Bundle.identifier, if built.
    pub bundle_identifier: Option<String>,
    /// SHA-256 of the body.
    pub idempotency_key: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error (the platform's reason, or the validator's findings).
    pub last_error: Option<String>,
    /// Why it is held.
    pub hold_reason: Option<String>,
    /// The platform's receipt.
    pub receipt: Option<String>,
    /// Source name of its input.
    pub source: String,
    /// Origin (path or MSH-10) of its input.
    pub origin: String,
    /// Its input's row id.
    pub inbox_id: i64,
}

/// An outbox item's metadata, if it exists.
pub fn item_detail(conn: &Connection, id: i64) -> Result<Option<ItemDetail>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT o.state, o.resource_type, o.bundle_identifier, o.idempotency_key, o.attempts, o.last_error,
                    o.hold_reason, o.receipt, i.source, i.origin, o.inbox_id
             FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE o.id = ?1",
            [id],
            |r| {
                Ok(ItemDetail {
                    state: r.get(0)?,
                    resource_type: r.get(1)?,
                    bundle_identifier: r.get(2)?,
                    idempotency_key: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                    hold_reason: r.get(6)?,
                    receipt: r.get(7)?,
                    source: r.get(8)?,
                    origin: r.get(9)?,
                    inbox_id: r.get(10)?,
                })
            },
        )
        .optional()?)
}

/// What `queue show I-n` prints about an input (metadata only, never the raw bytes).
#[derive(Debug, Clone)]
pub struct InputDetail {
    /// State.
    pub state: InputState,
    /// Source name.
    pub source: String,
    /// Path or MSH-10.
    pub origin: String,
    /// Format it is parsed with.
    pub format: String,
    /// Bytes.
    pub size: i64,
    /// Why it is quarantined or dropped.
    pub error: Option<String>,
    /// SHA-256 of the raw bytes.
    pub content_hash: String,
}

/// An input's metadata, if it exists.
pub fn input_detail(conn: &Connection, id: i64) -> Result<Option<InputDetail>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT state, source, origin, format, size, error, content_hash FROM inbox WHERE id = ?1",
            [id],
            |r| {
                Ok(InputDetail {
                    state: r.get(0)?,
                    source: r.get(1)?,
                    origin: r.get(2)?,
                    format: r.get(3)?,
                    size: r.get(4)?,
                    error: r.get(5)?,
                    content_hash: r.get(6)?,
                })
            },
        )
        .optional()?)
}

/// The input an outbox item was built from.
pub fn input_of_item(conn: &Connection, outbox_id: i64) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT inbox_id FROM outbox WHERE id = ?1",
        [outbox_id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| {
        StoreError::Invalid(format!(
            "no outbox item O-{outbox_id} / O-{outbox_id} は存在しません"
        ))
    })
}

/// Quarantined inputs whose raw bytes are still stored (what `replay --quarantined` takes).
pub fn quarantined_inputs(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT id FROM inbox WHERE state = ?1 AND raw IS NOT NULL")?;
    let ids = stmt
        .query_map([InputState::Quarantined], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// Inputs with at least one held item (what `replay --held` takes).
pub fn inputs_with_held_items(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT DISTINCT inbox_id FROM outbox WHERE state = ?1")?;
    let ids = stmt
        .query_map([OutboxState::Held], |r| r.get(0))?
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(ids)
}

/// An input found by its origin (`queue show request:<X-Request-Id>`): metadata only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginInput {
    /// Row id (`I-<id>`).
    pub id: i64,
    /// Source name.
    pub source: String,
    /// State.
    pub state: InputState,
    /// Format it is parsed with.
    pub format: String,
    /// Bytes.
    pub size: i64,
    /// Why it is quarantined or dropped.
    pub error: Option<String>,
    /// Unix ms it was committed.
    pub received_at: i64,
}

/// The inputs stored under `origin`, in `source` or (`None`) in any source, oldest first. Each
/// source is sought through the `(source, origin, content_hash)` index (a skip-scan over the
/// few source names), so the lookup never reads the whole inbox.
pub fn inputs_by_origin(
    conn: &Connection,
    source: Option<&str>,
    origin: &str,
) -> Result<Vec<OriginInput>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE s(name) AS (
             SELECT MIN(source) FROM inbox
             UNION ALL
             SELECT (SELECT MIN(source) FROM inbox WHERE source > s.name) FROM s
             WHERE s.name IS NOT NULL
         )
         SELECT i.id, i.source, i.state, i.format, i.size, i.error, i.received_at
         FROM s JOIN inbox i ON i.source = s.name AND i.origin = ?1
         WHERE ?2 IS NULL OR s.name = ?2
         ORDER BY i.id",
    )?;
    let rows = stmt.query_map(params![origin, source], |r| {
        Ok(OriginInput {
            id: r.get(0)?,
            source: r.get(1)?,
            state: r.get(2)?,
            format: r.get(3)?,
            size: r.get(4)?,
            error: r.get(5)?,
            received_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One outbox item of an input, with its delivery state (metadata only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputItem {
    /// Row id (`O-<id>`).
    pub id: i64,
    /// Delivery state.
    pub state: OutboxState,
    /// Resource type.
    pub resource_type: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error or the hold reason.
    pub reason: Option<String>,
    /// The platform's receipt.
    pub receipt: Option<String>,
    /// Unix ms of the last change.
    pub updated_at: i64,
}

/// The outbox items an input produced, oldest first.
pub fn items_of_input(conn: &Connection, inbox_id: i64) -> Result<Vec<InputItem>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, state, resource_type, attempts, COALESCE(last_error, hold_reason), receipt,
                updated_at
         FROM outbox WHERE inbox_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([inbox_id], |r| {
        Ok(InputItem {
            id: r.get(0)?,
            state: r.get(1)?,
            resource_type: r.get(2)?,
            attempts: r.get(3)?,
            reason: r.get(4)?,
            receipt: r.get(5)?,
            updated_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{inbox, outbox};

    fn store(conn: &Connection, source: &str, origin: &str, raw: &[u8]) -> i64 {
        let input = inbox::NewInput {
            source,
            origin,
            format: "fhir-json",
            raw,
            file_stamp: None,
        };
        match inbox::insert(conn, &input).unwrap() {
            inbox::Stored::New(id) | inbox::Stored::Duplicate(id) => id,
        }
    }

    #[test]
    fn the_queue_chooses_its_items_from_an_index_before_reading_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let plan = crate::store::figures::tests::plan(&conn, &outbox_queue_sql(3, 200));
        assert!(plan.contains("LIST SUBQUERY"), "{plan}");
        assert!(plan.contains("COVERING INDEX"), "{plan}");
        assert!(
            plan.contains("SEARCH o USING INTEGER PRIMARY KEY"),
            "rows read by id: {plan}"
        );
    }

    #[test]
    fn the_last_delivery_is_read_from_the_delivered_index() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let plan = crate::store::figures::tests::plan(&conn, LAST_DELIVERY);
        assert!(plan.contains("COVERING INDEX outbox_delivered"), "{plan}");
        assert_eq!(status(&conn).unwrap().last_delivery_ms, None);
    }

    #[test]
    fn inputs_are_found_by_origin_in_any_source_or_one_with_their_items() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        store(&conn, "a-folder", "x.json", b"1");
        let waiting = store(&conn, "fhir", "request:r1", b"2");
        let other = store(&conn, "fhir-2", "request:r1", b"3");
        store(&conn, "fhir", "request:r2", b"4");
        let found = inputs_by_origin(&conn, None, "request:r1").unwrap();
        assert_eq!(
            found.iter().map(|i| i.id).collect::<Vec<_>>(),
            [waiting, other]
        );
        assert_eq!(
            found[0].state,
            InputState::Received,
            "stored, not processed"
        );
        let one = inputs_by_origin(&conn, Some("fhir-2"), "request:r1").unwrap();
        assert_eq!((one.len(), one[0].source.as_str()), (1, "fhir-2"));
        assert!(inputs_by_origin(&conn, None, "request:none")
            .unwrap()
            .is_empty());
        assert!(items_of_input(&conn, waiting).unwrap().is_empty());
        let o = outbox::insert_pending(
            &conn,
            &outbox::NewBundle {
                inbox_id: waiting,
                identifier: "X",
                resource_type: "Condition",
                patient_ref: "Patient/1",
                body: b"{}",
                facts: Default::default(),
            },
        )
        .unwrap();
        let items = items_of_input(&conn, waiting).unwrap();
        assert_eq!(
            (items[0].id, items[0].state, items[0].resource_type.as_str()),
            (o, OutboxState::Pending, "Condition")
        );
    }
}
