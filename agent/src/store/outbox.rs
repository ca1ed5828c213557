//! The `outbox` table: what is to be delivered, and each item's delivery state.
//!
//! The states and the moves between them are [`OutboxState`] and its transition table in
//! [`super::state`]; every statement here that changes a state names its [`Move`] below.
//!
//! At start, `in_flight` rows are put back to `pending`: the answer to their last send is
//! unknown, so they are sent again with the same idempotency key (at-least-once; the platform
//! deduplicates). Items that share a `bundle_identifier` are delivered in row order, because a
//! later bundle replaces an earlier one at the platform; other items never wait for each other.

use rusqlite::{params, Connection, OptionalExtension};

use super::state::{sql_list, Move, OutboxState as S};
use super::StoreError;
use crate::clock::now_ms;

/// The sender claims a due item.
const CLAIM: Move = Move::new(&[S::Pending], S::InFlight);
/// An interrupted send (found at start, or claimed but not sent at shutdown) is sent again.
const RESEND: Move = Move::new(&[S::InFlight], S::Pending);
/// The platform has it.
const DELIVER: Move = Move::new(&[S::InFlight, S::Awaiting], S::Delivered);
/// The platform refused it for good.
const REJECT: Move = Move::new(&[S::InFlight, S::Awaiting], S::Rejected);
/// A transient or ambiguous outcome: back off and try again.
const BACK_OFF: Move = Move::new(&[S::InFlight, S::Awaiting], S::Pending);
/// Written to the shared folder; the result comes later.
const AWAIT: Move = Move::new(&[S::InFlight], S::Awaiting);
/// `queue retry O-n` (held items only when held as invalid: checked in [`retry_now`]; a
/// pending item stays pending and is made due now).
const RETRY: Move = Move::new(&[S::Rejected, S::Dead, S::Held], S::Pending);
/// `queue drop O-n` / `queue drop I-n`.
pub(super) const DROP: Move = Move::new(&[S::Pending, S::Rejected, S::Held, S::Awaiting], S::Dead);
/// A newer SS-MIX2 version of the same order replaces what was not sent yet.
const SUPERSEDE_UNSENT: Move = Move::new(&[S::Pending, S::Held], S::Superseded);
/// A replayed input's items that did not reach the platform are replaced by its new ones.
pub(super) const SUPERSEDE_ON_REPLAY: Move =
    Move::new(&[S::Pending, S::Held, S::Rejected, S::Dead], S::Superseded);

/// A bundle ready to be queued.
pub struct NewBundle<'a> {
    /// The input it was built from.
    pub inbox_id: i64,
    /// Bundle.identifier.value.
    pub identifier: &'a str,
    /// Condition | AllergyIntolerance | Observation.
    pub resource_type: &'a str,
    /// "Patient/<id>".
    pub patient_ref: &'a str,
    /// Bundle JSON.
    pub body: &'a [u8],
    /// Its quality facts, written with the row (the report reads them).
    pub facts: Facts<'a>,
}

/// What the quality report reads from a row: its information type (a `quality::InfoType` key)
/// and its clinical event time (unix ms). `None` leaves them NULL: the report classifies the
/// stored body instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// A `quality::InfoType` key.
    pub info_type: Option<&'a str>,
    /// The clinical event time, unix ms.
    pub event_at: Option<i64>,
}

/// Queues a bundle for delivery; its idempotency key is the SHA-256 of the body.
pub fn insert_pending(conn: &Connection, b: &NewBundle<'_>) -> Result<i64, StoreError> {
    insert(conn, b, S::Pending, None, None)
}

/// Queues a bundle that failed validation: kept with its findings, not sent.
pub fn insert_invalid(
    conn: &Connection,
    b: &NewBundle<'_>,
    findings: &str,
) -> Result<i64, StoreError> {
    insert(conn, b, S::Held, Some("invalid"), Some(findings))
}

fn insert(
    conn: &Connection,
    b: &NewBundle<'_>,
    state: S,
    hold: Option<&str>,
    error: Option<&str>,
) -> Result<i64, StoreError> {
    let now = now_ms();
    conn.prepare_cached(
        "INSERT INTO outbox (inbox_id, idempotency_key, bundle_identifier, resource_type, patient_ref,
                             body, state, hold_reason, last_error, created_at, updated_at,
                             info_type, event_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12)",
    )?
    .execute(params![
            b.inbox_id,
            crate::digest::sha256_hex(b.body),
            b.identifier,
            b.resource_type,
            b.patient_ref,
            b.body,
            state,
            hold,
            error,
            now,
            b.facts.info_type,
            b.facts.event_at
        ])?;
    Ok(conn.last_insert_rowid())
}

/// An item that could not be built (patient unknown, unsupported type), to be recorded as held.
pub struct NewHeld<'a> {
    /// The input it came from.
    pub inbox_id: i64,
    /// Its FHIR resource type.
    pub resource_type: &'a str,
    /// "Patient/<id>", when known.
    pub patient_ref: Option<&'a str>,
    /// Why it is held.
    pub reason: tsunagi_clins::build::HoldReason,
    /// The bilingual explanation shown to staff (never patient data).
    pub message: &'a str,
    /// Its quality facts.
    pub facts: Facts<'a>,
}

/// Records an item that could not be built as held.
pub fn insert_held(conn: &Connection, h: &NewHeld<'_>) -> Result<i64, StoreError> {
    let now = now_ms();
    let (inbox_id, resource_type) = (h.inbox_id, h.resource_type);
    let hold_reason = h.reason.key();
    let key = crate::digest::sha256_hex(
        format!("held:{inbox_id}:{resource_type}:{hold_reason}").as_bytes(),
    );
    conn.prepare_cached(
        "INSERT INTO outbox (inbox_id, idempotency_key, resource_type, patient_ref, state, hold_reason,
                             last_error, created_at, updated_at, info_type, event_at)
         VALUES (?1, ?2, ?3, ?4, ?8, ?5, ?6, ?7, ?7, ?9, ?10)",
    )?
    .execute(params![
        inbox_id,
        key,
        resource_type,
        h.patient_ref,
        hold_reason,
        h.message,
        now,
        S::Held,
        h.facts.info_type,
        h.facts.event_at
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Puts interrupted sends back to pending (run once at start). Returns how many.
pub fn recover_in_flight(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        &format!(
            "UPDATE outbox SET state = ?2, updated_at = ?1 WHERE state IN ({})",
            RESEND.sources_sql()
        ),
        params![now_ms(), RESEND.to],
    )?)
}

/// Puts claimed items that were never sent back to pending (at shutdown).
pub fn release(conn: &Connection, ids: &[i64]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "UPDATE outbox SET state = ?3, attempts = MAX(attempts - 1, 0), updated_at = ?2
         WHERE id = ?1 AND state IN ({})",
        RESEND.sources_sql()
    ))?;
    for id in ids {
        stmt.execute(params![id, now_ms(), RESEND.to])?;
    }
    Ok(())
}

/// An item claimed for sending.
#[derive(Debug)]
pub struct Claimed {
    /// Row id.
    pub id: i64,
    /// Idempotency key (SHA-256 of body).
    pub key: String,
    /// Bundle JSON.
    pub body: Vec<u8>,
    /// Attempts including this one.
    pub attempt: u32,
}

/// Claims up to `limit` pending items that are due, marking them in flight.
///
/// An item is due when its next attempt is at or before `now`, or more than `horizon_ms` after
/// it: no backoff or `Retry-After` is ever that long, so such a time was computed before the
/// clock was set back, and the item would otherwise wait out the jump (issue 9, F5).
pub fn claim_ready(
    conn: &Connection,
    now: i64,
    horizon_ms: i64,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, idempotency_key, body, attempts FROM outbox AS o
         WHERE state IN ({}) AND (next_attempt_at <= ?1 OR next_attempt_at > ?1 + ?3)
           AND body IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outbox AS e
                           WHERE e.bundle_identifier = o.bundle_identifier AND e.id < o.id
                             AND e.state IN ({}))
         ORDER BY next_attempt_at, id LIMIT ?2",
        CLAIM.sources_sql(),
        sql_list(S::UNSETTLED.map(S::as_str))
    ))?;
    let rows: Vec<Claimed> = stmt
        .query_map(params![now, limit as i64, horizon_ms], |r| {
            Ok(Claimed {
                id: r.get(0)?,
                key: r.get(1)?,
                body: r.get(2)?,
                attempt: r.get::<_, u32>(3)? + 1,
            })
        })?
        .collect::<Result<_, _>>()?;
    for c in &rows {
        conn.execute(
            "UPDATE outbox SET state = ?4, attempts = ?2, updated_at = ?3 WHERE id = ?1",
            params![c.id, c.attempt, now, CLAIM.to],
        )?;
    }
    Ok(rows)
}

/// The outcome of one attempt, as the store records it.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// The platform has it.
    Delivered {
        /// Receipt id, if the platform gave one.
        receipt: Option<String>,
        /// It had it already (same idempotency key).
        duplicate: bool,
    },
    /// Refused for good; `reason` is the platform's OperationOutcome text.
    Rejected {
        /// Why.
        reason: String,
    },
    /// Try again after `delay_ms`. `kind` is `transient` or `ambiguous`.
    Retry {
        /// transient | ambiguous
        kind: &'static str,
        /// Why.
        reason: String,
        /// Backoff chosen by the policy.
        delay_ms: i64,
    },
    /// Written to the shared folder; the result comes later.
    Awaiting,
}

/// Records an attempt's outcome and moves the item to its next state. The attempt is always
/// recorded; the state changes only if the item is still in flight or awaiting (an item dropped
/// by hand meanwhile stays dead).
pub fn record(conn: &Connection, id: i64, d: &Delivery) -> Result<(), StoreError> {
    let now = now_ms();
    let (outcome, detail, delay) = match d {
        Delivery::Delivered { receipt, duplicate } => {
            conn.execute(
                &format!(
                    "UPDATE outbox SET state = ?4, receipt = ?2, delivered_at = ?3, updated_at = ?3,
                        last_error = NULL WHERE id = ?1 AND state IN ({})",
                    DELIVER.sources_sql()
                ),
                params![id, receipt, now, DELIVER.to],
            )?;
            (
                if *duplicate { "duplicate" } else { "accepted" },
                receipt.clone(),
                None,
            )
        }
        Delivery::Rejected { reason } => {
            conn.execute(
                &format!(
                    "UPDATE outbox SET state = ?4, last_error = ?2, updated_at = ?3
                     WHERE id = ?1 AND state IN ({})",
                    REJECT.sources_sql()
                ),
                params![id, reason, now, REJECT.to],
            )?;
            ("rejected", Some(reason.clone()), None)
        }
        Delivery::Retry {
            kind,
            reason,
            delay_ms,
        } => {
            conn.execute(
                &format!(
                    "UPDATE outbox SET state = ?5, last_error = ?2, next_attempt_at = ?3, updated_at = ?4
                     WHERE id = ?1 AND state IN ({})",
                    BACK_OFF.sources_sql()
                ),
                params![id, reason, now + delay_ms, now, BACK_OFF.to],
            )?;
            (*kind, Some(reason.clone()), Some(*delay_ms))
        }
        Delivery::Awaiting => {
            conn.execute(
                &format!(
                    "UPDATE outbox SET state = ?3, updated_at = ?2 WHERE id = ?1 AND state IN ({})",
                    AWAIT.sources_sql()
                ),
                params![id, now, AWAIT.to],
            )?;
            ("awaiting", None, None)
        }
    };
    conn.execute(
        "INSERT INTO attempt (outbox_id, at, outcome, detail, next_delay_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, now, outcome, detail, delay],
    )?;
    if let Some(err) = match d {
        Delivery::Rejected { reason } | Delivery::Retry { reason, .. } => Some(reason),
        _ => None,
    } {
        super::query::set_state(conn, "last_error", err)?;
    } else if matches!(d, Delivery::Delivered { .. }) {
        super::query::set_state(conn, "last_delivery", &now.to_string())?;
    }
    Ok(())
}

/// The awaiting item with this idempotency key, if any.
pub fn awaiting_by_key(conn: &Connection, key: &str) -> Result<Option<i64>, StoreError> {
    // The partial index `outbox_awaiting_key` (`schema::INDEXES`) is only usable with the literal.
    const _: () = assert!(matches!(S::Awaiting.as_str().as_bytes(), b"awaiting"));
    Ok(conn
        .query_row(
            "SELECT id FROM outbox WHERE idempotency_key = ?1 AND state = 'awaiting'
             ORDER BY id LIMIT 1",
            params![key],
            |r| r.get(0),
        )
        .optional()?)
}

/// When the next pending item is due (unix ms), if any is pending.
/// An item scheduled more than `horizon_ms` after `now` is due now (see [`claim_ready`]).
pub fn next_due(conn: &Connection, now: i64, horizon_ms: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn.query_row(
        "SELECT MIN(CASE WHEN next_attempt_at > ?2 + ?3 THEN ?2 ELSE next_attempt_at END)
         FROM outbox WHERE state = ?1",
        params![S::Pending, now, horizon_ms],
        |r| r.get(0),
    )?)
}

/// Which items `queue retry` sends again when it is given a filter instead of an id.
#[derive(Debug, Clone, Default)]
pub struct RetryFilter {
    /// Only items in this state (rejected, dead, held, pending).
    pub state: Option<S>,
    /// Only items whose hold reason is this, or whose last error contains it.
    pub reason: Option<String>,
}

/// The items `filter` selects among those that can be sent again (rejected, dead, pending,
/// held for findings), oldest first.
pub fn retryable(conn: &Connection, filter: &RetryFilter) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id FROM outbox
         WHERE (state IN (?1, ?2, ?3) OR (state = ?4 AND hold_reason = 'invalid'))
           AND (?5 IS NULL OR state = ?5)
           AND (?6 IS NULL OR hold_reason = ?6 OR instr(COALESCE(last_error, ''), ?6) > 0)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(
        params![
            S::Rejected,
            S::Dead,
            S::Pending,
            S::Held,
            filter.state,
            filter.reason
        ],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The inputs of items held for patient ?1, from the partial index `outbox_held` alone (its
/// literal state; `schema::INDEXES`).
const WAITING_FOR_PATIENT: &str = "SELECT DISTINCT inbox_id FROM outbox
     WHERE state = 'held' AND patient_ref = ?1
       AND hold_reason IN ('patient-unknown', 'patient-no-insurance-id', 'patient-incomplete')";

const _: () = assert!(matches!(S::Held.as_str().as_bytes(), b"held"));

/// Inputs with items held because their patient was unknown, for any of `patient_refs`.
pub fn inputs_waiting_for(
    conn: &Connection,
    patient_refs: &[String],
) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(WAITING_FOR_PATIENT)?;
    let mut ids = Vec::new();
    for r in patient_refs {
        for id in stmt.query_map(params![r], |row| row.get(0))? {
            ids.push(id?);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The items of input `inbox_id` that were not sent yet (pending, held) become `superseded`:
/// a newer version of the same SS-MIX2 order replaces them.
pub fn supersede_unsent(conn: &Connection, inbox_id: i64) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "UPDATE outbox SET state = ?3, updated_at = ?2 WHERE inbox_id = ?1 AND state IN ({})",
            SUPERSEDE_UNSENT.sources_sql()
        ),
        params![inbox_id, now_ms(), SUPERSEDE_UNSENT.to],
    )?;
    Ok(())
}

/// Bundles of input `inbox_id` that reached (or are on their way to) the platform:
/// (bundle identifier, resource type, patient reference), for a withdrawal to delete.
pub fn sent_bundles(
    conn: &Connection,
    inbox_id: i64,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT DISTINCT bundle_identifier, resource_type, patient_ref FROM outbox
         WHERE inbox_id = ?1 AND (body IS NOT NULL OR state = 'delivered')
           AND bundle_identifier IS NOT NULL
           AND patient_ref IS NOT NULL
           AND state IN ({})",
        sql_list([S::Delivered, S::Awaiting, S::InFlight, S::Pending].map(S::as_str))
    ))?;
    let rows = st.query_map([inbox_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sends a rejected, held-invalid or pending item again now (`queue retry`).
pub fn retry_now(conn: &Connection, id: i64, actor: &str) -> Result<(), StoreError> {
    let state: Option<(S, Option<String>)> = conn
        .query_row(
            "SELECT state, hold_reason FROM outbox WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match state.as_ref().map(|(s, h)| (*s, h.as_deref())) {
        None => return Err(StoreError::Invalid(format!("no outbox item O-{id}"))),
        Some((S::Held, h)) if h != Some("invalid") => {
            return Err(StoreError::Invalid(format!(
                "O-{id} is {}: only rejected, dead, pending or invalid-held items can be retried; use `tsunagi replay` to rebuild held items",
                S::Held
            )))
        }
        Some((s, _)) if s == S::Pending || RETRY.from.contains(&s) => {
            conn.execute(
                "UPDATE outbox SET state = ?3, next_attempt_at = 0, updated_at = ?2 WHERE id = ?1",
                params![id, now_ms(), RETRY.to],
            )?;
        }
        Some((s, _)) => {
            return Err(StoreError::Invalid(format!(
                "O-{id} is {s}: only rejected, dead, pending or invalid-held items can be retried; use `tsunagi replay` to rebuild held items"
            )))
        }
    }
    audit(conn, actor, "retry", &format!("O-{id}"), None)
}

/// Gives up on an unfinished item for good (`queue drop --reason`).
pub fn drop_item(conn: &Connection, id: i64, actor: &str, reason: &str) -> Result<(), StoreError> {
    let n = conn.execute(
        &format!(
            "UPDATE outbox SET state = ?4, last_error = ?2, updated_at = ?3
             WHERE id = ?1 AND state IN ({})",
            DROP.sources_sql()
        ),
        params![id, format!("dropped by hand: {reason}"), now_ms(), DROP.to],
    )?;
    if n == 0 {
        let state: Option<S> = conn
            .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        return Err(StoreError::Invalid(match state {
            None => format!("no outbox item O-{id} / O-{id} は存在しません"),
            Some(S::InFlight) => format!(
                "O-{id} is being sent right now; try again in a moment / 送信中です。少し待って再実行してください"
            ),
            Some(s) => format!("O-{id} is {s}; only pending, rejected, held or awaiting items can be dropped"),
        }));
    }
    audit(conn, actor, "drop", &format!("O-{id}"), Some(reason))
}

/// Appends to the audit table.
pub fn audit(
    conn: &Connection,
    actor: &str,
    action: &str,
    target: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit (at, actor, action, target, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_ms(), actor, action, target, reason],
    )?;
    Ok(())
}

/// An outbox row of one input, as `tsunagi inspect --bundles` shows it.
pub struct InputRow {
    /// Bundle.identifier.value; `None` for items held before building.
    pub identifier: Option<String>,
    /// The resource type of the bundle or item.
    pub resource_type: String,
    /// The bundle JSON; `None` for items held before building.
    pub body: Option<Vec<u8>>,
    /// The delivery state.
    pub state: S,
    /// Why it is held (machine reason).
    pub hold_reason: Option<String>,
    /// The findings or reason stored with it.
    pub last_error: Option<String>,
    /// SHA-256 of the body (or of the held item).
    pub idempotency_key: String,
}

/// Every outbox row built from input `inbox_id`, in the order they were queued.
pub fn for_input(conn: &Connection, inbox_id: i64) -> Result<Vec<InputRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT bundle_identifier, resource_type, body, state, hold_reason, last_error, idempotency_key
         FROM outbox WHERE inbox_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([inbox_id], |r| {
        Ok(InputRow {
            identifier: r.get(0)?,
            resource_type: r.get(1)?,
            body: r.get(2)?,
            state: r.get(3)?,
            hold_reason: r.get(4)?,
            last_error: r.get(5)?,
            idempotency_key: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    /// A retry horizon longer than any wait in these tests.
    const HORIZON: i64 = 3_600_000;
    use super::*;
    use crate::store::inbox;

    fn setup() -> (tempfile::TempDir, Connection, i64) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let inbox::Stored::New(id) = inbox::insert(
            &conn,
            &inbox::NewInput {
                source: "s",
                origin: "o",
                format: "fhir-json",
                raw: b"{}",
                file_stamp: None,
            },
        )
        .unwrap() else {
            panic!()
        };
        (dir, conn, id)
    }

    #[test]
    fn items_waiting_for_a_patient_are_found_from_the_held_index_alone() {
        let (_d, conn, _) = setup();
        let plan = crate::store::figures::tests::plan(&conn, WAITING_FOR_PATIENT);
        assert!(
            plan.contains(
                "COVERING INDEX outbox_held (state=? AND hold_reason=? AND patient_ref=?)"
            ),
            "{plan}"
        );
    }

    #[test]
    fn awaiting_items_are_found_by_key_through_the_partial_index() {
        let (_d, conn, _) = setup();
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE idempotency_key = 'k'
                 AND state = 'awaiting' ORDER BY id LIMIT 1",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("outbox_awaiting_key"), "{plan}");
        // Rows in other states carry no index entry, so the index stays small.
        let indexed: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox INDEXED BY outbox_awaiting_key WHERE state = 'awaiting'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexed, 0);
    }

    fn bundle(inbox_id: i64, ident: &'static str, body: &'static [u8]) -> NewBundle<'static> {
        NewBundle {
            inbox_id,
            identifier: ident,
            resource_type: "Condition",
            patient_ref: "Patient/1",
            body,
            facts: Default::default(),
        }
    }

    #[test]
    fn same_identifier_is_delivered_in_order_others_do_not_wait() {
        let (_d, conn, inbox_id) = setup();
        let a = insert_pending(&conn, &bundle(inbox_id, "X", b"a")).unwrap();
        let b = insert_pending(&conn, &bundle(inbox_id, "X", b"b")).unwrap();
        let c = insert_pending(&conn, &bundle(inbox_id, "Y", b"c")).unwrap();
        let first: Vec<i64> = claim_ready(&conn, now_ms(), HORIZON, 10)
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(first, vec![a, c], "b waits for a; c does not");
        record(
            &conn,
            a,
            &Delivery::Retry {
                kind: "transient",
                reason: "503".into(),
                delay_ms: 60_000,
            },
        )
        .unwrap();
        assert!(
            claim_ready(&conn, now_ms(), HORIZON, 10)
                .unwrap()
                .is_empty(),
            "a is backing off, b still waits"
        );
        record(
            &conn,
            c,
            &Delivery::Rejected {
                reason: "R2152".into(),
            },
        )
        .unwrap();
        let later = claim_ready(&conn, now_ms() + 61_000, HORIZON, 10).unwrap();
        assert_eq!(later.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a]);
        assert_eq!(later[0].attempt, 2);
        record(
            &conn,
            a,
            &Delivery::Delivered {
                receipt: Some("r".into()),
                duplicate: false,
            },
        )
        .unwrap();
        let last = claim_ready(&conn, now_ms() + 61_000, HORIZON, 10).unwrap();
        assert_eq!(last.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b]);
    }

    #[test]
    fn in_flight_items_are_recovered_and_attempts_are_recorded() {
        let (_d, conn, inbox_id) = setup();
        let a = insert_pending(&conn, &bundle(inbox_id, "X", b"a")).unwrap();
        assert_eq!(claim_ready(&conn, now_ms(), HORIZON, 10).unwrap().len(), 1);
        assert_eq!(recover_in_flight(&conn).unwrap(), 1);
        let again = claim_ready(&conn, now_ms(), HORIZON, 10).unwrap();
        assert_eq!(again[0].id, a);
        assert_eq!(again[0].key, crate::digest::sha256_hex(b"a"));
        record(
            &conn,
            a,
            &Delivery::Delivered {
                receipt: None,
                duplicate: true,
            },
        )
        .unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM attempt WHERE outbox_id = ?1",
                [a],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn drop_needs_an_unfinished_item_and_is_audited() {
        let (_d, conn, inbox_id) = setup();
        let a = insert_pending(&conn, &bundle(inbox_id, "X", b"a")).unwrap();
        drop_item(&conn, a, "tester", "duplicate of paper record").unwrap();
        assert!(drop_item(&conn, a, "tester", "again").is_err());
        let reason: String = conn
            .query_row("SELECT reason FROM audit WHERE action = 'drop'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(reason, "duplicate of paper record");
    }

    #[test]
    fn an_outcome_arriving_after_a_drop_is_recorded_but_does_not_revive_the_item() {
        let (_d, conn, inbox_id) = setup();
        let id = insert_pending(&conn, &bundle(inbox_id, "X", b"b")).unwrap();
        claim_ready(&conn, now_ms(), HORIZON, 1).unwrap();
        let err = drop_item(&conn, id, "t", "r").unwrap_err().to_string();
        assert!(err.contains("try again"), "{err}");
        let retry = |reason: &str| Delivery::Retry {
            kind: "transient",
            reason: reason.into(),
            delay_ms: 10,
        };
        record(&conn, id, &retry("503")).unwrap();
        drop_item(&conn, id, "t", "paper").unwrap();
        record(&conn, id, &retry("late")).unwrap();
        let st: String = conn
            .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(st, "dead");
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM attempt WHERE outbox_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2);
    }

    /// Issue 9, F5: a retry scheduled before the clock was set back is due at once, not after
    /// the jump; one scheduled within the horizon still waits.
    #[test]
    fn a_retry_scheduled_before_the_clock_went_back_is_due_now() {
        let (_d, conn, input) = setup();
        insert_pending(&conn, &bundle(input, "A", b"{\"a\":1}")).unwrap();
        insert_pending(&conn, &bundle(input, "B", b"{\"b\":1}")).unwrap();
        let rows = [1, 2];
        let now = now_ms();
        let thirty_days = 30 * 86_400_000;
        conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?1",
            [now + thirty_days],
        )
        .unwrap();
        assert_eq!(next_due(&conn, now, HORIZON).unwrap(), Some(now));
        assert_eq!(
            claim_ready(&conn, now, HORIZON, 100).unwrap().len(),
            rows.len()
        );
        conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?1",
            [now + 60_000],
        )
        .unwrap();
        assert!(claim_ready(&conn, now, HORIZON, 100).unwrap().is_empty());
        assert_eq!(next_due(&conn, now, HORIZON).unwrap(), Some(now + 60_000));
    }

    #[test]
    fn retry_filters_select_by_state_and_reason() {
        let (_d, conn, input) = setup();
        let first = insert_pending(&conn, &bundle(input, "A", b"{\"a\":1}")).unwrap();
        insert_pending(&conn, &bundle(input, "B", b"{\"b\":1}")).unwrap();
        conn.execute(
            "UPDATE outbox SET state = 'rejected', last_error = 'R0001 missing insurer' WHERE id = ?1",
            [first],
        )
        .unwrap();
        conn.execute(
            "UPDATE outbox SET state = 'delivered' WHERE id <> ?1",
            [first],
        )
        .unwrap();
        let all = retryable(&conn, &RetryFilter::default()).unwrap();
        assert_eq!(all, vec![first]);
        let by_state = RetryFilter {
            state: Some(S::Dead),
            reason: None,
        };
        assert!(retryable(&conn, &by_state).unwrap().is_empty());
        let by_reason = RetryFilter {
            state: None,
            reason: Some("R0001".into()),
        };
        assert_eq!(retryable(&conn, &by_reason).unwrap(), vec![first]);
        let other = RetryFilter {
            state: None,
            reason: Some("R9999".into()),
        };
        assert!(retryable(&conn, &other).unwrap().is_empty());
    }
}

#[cfg(test)]
mod writer_tests {
    const HORIZON: i64 = 3_600_000;
    use super::*;
    use crate::store::{inbox, Writer};

    #[test]
    fn awaiting_then_delivered_through_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let (w, _h) = Writer::spawn(conn).unwrap();
        let id = w
            .call(|c| {
                let inbox::Stored::New(i) = inbox::insert(
                    c,
                    &inbox::NewInput {
                        source: "s",
                        origin: "o",
                        format: "f",
                        raw: b"x",
                        file_stamp: None,
                    },
                )?
                else {
                    unreachable!()
                };
                insert_pending(
                    c,
                    &NewBundle {
                        inbox_id: i,
                        identifier: "X",
                        resource_type: "Condition",
                        patient_ref: "P",
                        body: b"b",
                        facts: Default::default(),
                    },
                )
            })
            .unwrap();
        let claimed = w.call(|c| claim_ready(c, now_ms(), HORIZON, 5)).unwrap();
        assert_eq!(claimed.len(), 1);
        w.call(move |c| record(c, id, &Delivery::Awaiting)).unwrap();
        let key = crate::digest::sha256_hex(b"b");
        let got = w
            .call(move |c| match awaiting_by_key(c, &key)? {
                Some(id) => record(
                    c,
                    id,
                    &Delivery::Delivered {
                        receipt: None,
                        duplicate: false,
                    },
                )
                .map(|()| Some(id)),
                None => Ok(None),
            })
            .unwrap();
        assert_eq!(got, Some(id));
        let reader = crate::store::open(dir.path()).unwrap();
        let st: String = reader
            .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        assert_eq!(st, "delivered");
    }
}
