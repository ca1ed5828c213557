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

/// Held items by reason, from the partial index `outbox_held` alone (`schema::INDEXES`): the
/// state is the index's literal, and the rows are grouped by the column as stored, in the
/// index's order (grouping by an expression of it sorted a million rows again).
const HELD_BY_REASON: &str =
    "SELECT hold_reason, COUNT(*) FROM outbox WHERE state = 'held' GROUP BY hold_reason";

/// Held items created since ?1 and held now (`outbox_held`, as [`HELD_BY_REASON`]).
const HELD_SINCE: &str = "SELECT COUNT(*) FROM outbox WHERE state = 'held' AND created_at >= ?1";

const _: () = assert!(matches!(OutboxState::Held.as_str().as_bytes(), b"held"));

/// Held items by reason (`other` when none is recorded).
pub fn held_by_reason(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut counts: Vec<(String, i64)> = Vec::new();
    for (reason, n) in grouped(conn, HELD_BY_REASON, [])? {
        let reason = if reason.is_empty() {
            "other".to_string()
        } else {
            reason
        };
        match counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, total)) => *total += n,
            None => counts.push((reason, n)),
        }
    }
    counts.sort();
    Ok(counts)
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
        held: conn.query_row(HELD_SINCE, [from_ms], |r| r.get(0))?,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// How SQLite would run `sql`: the details of its `EXPLAIN QUERY PLAN`, one per line.
    pub(crate) fn plan(conn: &Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters stay unbound (NULL): the plan does not depend on their values.
        let unbound = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(unbound), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn held_items_are_counted_from_their_index_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        for sql in [HELD_BY_REASON, HELD_SINCE] {
            let plan = plan(&conn, sql);
            assert!(plan.contains("COVERING INDEX outbox_held"), "{sql}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{sql}: {plan}");
        }
    }

    #[test]
    fn held_items_without_a_reason_count_as_other_and_reasons_come_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(dir.path()).unwrap();
        let input = crate::store::inbox::NewInput {
            source: "s",
            origin: "o",
            format: "fhir-json",
            raw: b"{}",
            file_stamp: None,
        };
        let crate::store::inbox::Stored::New(id) =
            crate::store::inbox::insert(&conn, &input).unwrap()
        else {
            panic!("stored before")
        };
        for reason in [
            Some("unsupported"),
            None,
            Some("patient-unknown"),
            None,
            Some("other"),
        ] {
            conn.execute(
                "INSERT INTO outbox (inbox_id, idempotency_key, resource_type, state, hold_reason,
                 created_at, updated_at) VALUES (?1, 'k', 'Condition', 'held', ?2, 1, 1)",
                params![id, reason],
            )
            .unwrap();
        }
        assert_eq!(
            held_by_reason(&conn).unwrap(),
            vec![
                ("other".to_string(), 3),
                ("patient-unknown".to_string(), 1),
                ("unsupported".to_string(), 1)
            ]
        );
        assert_eq!(since(&conn, 0).unwrap().held, 5);
        assert_eq!(since(&conn, 2).unwrap().held, 0);
    }
}
