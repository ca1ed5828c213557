//! The `inbox` table: raw inputs, committed first, and their processing state.
//!
//! States ([`InputState`], moves checked in [`super::state`]): `received` (committed, not yet
//! processed) → `processed` (its outbox rows exist) or `quarantined` (it could not be decoded
//! or parsed; `error` says why); any of them → `dropped` (given up by hand, `queue drop I-n`,
//! with its reason in `error` and the audit table; final: a replay skips it).
//! `replay` moves processed and quarantined rows back to `received`. Processing results are applied only to an input that
//! is still `received`, so a drop made while the input was being processed stands. The functions here take a `&Connection` and are meant to run inside a
//! [`super::Writer`] job (writes) or on a reader connection (reads).

use rusqlite::{params, Connection, OptionalExtension};

use super::state::{InputMove, InputState as S, OutboxState};
use super::StoreError;
use crate::clock::now_ms;
use crate::digest::sha256_hex;

/// The processor has written an input's outbox rows.
const PROCESS: InputMove = InputMove::new(&[S::Received], S::Processed);
/// The input cannot be decoded or parsed.
const QUARANTINE: InputMove = InputMove::new(&[S::Received], S::Quarantined);
/// `replay`, `queue retry I-n`, or a Patient that completes the input's held items.
const REPLAY: InputMove = InputMove::new(&[S::Processed, S::Quarantined], S::Received);
/// `queue drop I-n`.
const DROP: InputMove = InputMove::new(&[S::Received, S::Processed, S::Quarantined], S::Dropped);

/// A raw input offered by a source.
pub struct NewInput<'a> {
    /// The source's configured name.
    pub source: &'a str,
    /// Path relative to the source root, or MSH-10.
    pub origin: &'a str,
    /// Adapter that will parse it.
    pub format: &'a str,
    /// The bytes, exactly as received.
    pub raw: &'a [u8],
    /// For folder sources: size and mtime, remembered for the read-only mode.
    pub file_stamp: Option<(u64, i128)>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// New: this row id was inserted.
    New(i64),
    /// The same source, origin and content were stored before (row id).
    Duplicate(i64),
}

/// Commits a raw input unless the same (source, origin, content) is already stored.
pub fn insert(conn: &Connection, input: &NewInput<'_>) -> Result<Stored, StoreError> {
    let hash = sha256_hex(input.raw);
    // One index descent for a new input (the common case): the insert itself finds a duplicate.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO inbox (source, origin, format, content_hash, size, raw, received_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (source, origin, content_hash) DO NOTHING",
        )?
        .execute(params![
            input.source,
            input.origin,
            input.format,
            hash,
            input.raw.len() as i64,
            input.raw,
            now_ms(),
            S::Received
        ])?;
    let stored = if inserted == 1 {
        Stored::New(conn.last_insert_rowid())
    } else {
        Stored::Duplicate(
            conn.prepare_cached(
                "SELECT id FROM inbox WHERE source = ?1 AND origin = ?2 AND content_hash = ?3",
            )?
            .query_row(params![input.source, input.origin, hash], |r| r.get(0))?,
        )
    };
    let (Stored::New(id) | Stored::Duplicate(id)) = stored;
    remember_file(conn, input, &hash, id)?;
    Ok(stored)
}

/// What [`insert_once_per_origin`] found under an input's (source, origin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByOrigin {
    /// Nothing was stored under this origin: this row id was inserted.
    New(i64),
    /// The same bytes were stored under this origin before (row id); nothing was added.
    SameBytes(i64),
    /// Other bytes were stored under this origin before; nothing was added. The caller decides
    /// whether they mean the same thing: the earlier row id and its raw bytes (`None` once
    /// pruned).
    OtherBytes { id: i64, raw: Option<Vec<u8>> },
}

/// Commits a raw input unless something is already stored under its (source, origin), whatever
/// its content: the FHIR endpoint's `request:<X-Request-Id>` names one request, however the
/// client serialises it when it retries. When several rows share the origin (stored before this
/// rule), the one with the same bytes wins, else the earliest.
pub fn insert_once_per_origin(
    conn: &Connection,
    input: &NewInput<'_>,
) -> Result<ByOrigin, StoreError> {
    let hash = sha256_hex(input.raw);
    let earlier: Option<(i64, bool, Option<Vec<u8>>)> = conn
        .prepare_cached(
            "SELECT id, content_hash = ?3, CASE WHEN content_hash = ?3 THEN NULL ELSE raw END
             FROM inbox WHERE source = ?1 AND origin = ?2
             ORDER BY content_hash = ?3 DESC, id LIMIT 1",
        )?
        .query_row(params![input.source, input.origin, hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    match earlier {
        Some((id, true, _)) => Ok(ByOrigin::SameBytes(id)),
        Some((id, false, raw)) => Ok(ByOrigin::OtherBytes { id, raw }),
        None => match insert(conn, input)? {
            Stored::New(id) => Ok(ByOrigin::New(id)),
            Stored::Duplicate(id) => Ok(ByOrigin::SameBytes(id)),
        },
    }
}

/// For folder inputs: remembers path, size, mtime and hash (the read-only mode's memory).
fn remember_file(
    conn: &Connection,
    input: &NewInput<'_>,
    hash: &str,
    inbox_id: i64,
) -> Result<(), StoreError> {
    if let Some((size, mtime)) = input.file_stamp {
        conn.execute(
            "INSERT INTO seen_file (source, rel_path, size, mtime_ns, content_hash, inbox_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (source, rel_path) DO UPDATE SET size = ?3, mtime_ns = ?4, content_hash = ?5, inbox_id = ?6",
            params![input.source, input.origin, size as i64, mtime as i64, hash, inbox_id],
        )?;
    }
    Ok(())
}

/// Records an input that was refused before it could be stored whole (e.g. larger than the
/// limit), as a quarantined row without raw bytes, so it is visible and counted. With a file
/// stamp, the file is remembered like a stored one, so a read-only source does not offer it again.
pub fn insert_refused(
    conn: &Connection,
    input: &NewInput<'_>,
    size: u64,
    reason: &str,
) -> Result<i64, StoreError> {
    let marker = sha256_hex(format!("refused:{}:{size}", input.origin).as_bytes());
    conn.execute(
        "INSERT INTO inbox (source, origin, format, content_hash, size, raw, received_at, state, error)
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?8, ?7)
         ON CONFLICT (source, origin, content_hash) DO NOTHING",
        params![
            input.source,
            input.origin,
            input.format,
            marker,
            size as i64,
            now_ms(),
            reason,
            S::Quarantined
        ],
    )?;
    let id: i64 = conn.query_row(
        "SELECT id FROM inbox WHERE source = ?1 AND origin = ?2 AND content_hash = ?3",
        params![input.source, input.origin, marker],
        |r| r.get(0),
    )?;
    remember_file(conn, input, &marker, id)?;
    Ok(id)
}

/// Whether a folder file with this path, size and mtime was already taken in.
pub fn file_is_known(
    conn: &Connection,
    source: &str,
    rel_path: &str,
    size: u64,
    mtime_ns: i128,
) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM seen_file WHERE source = ?1 AND rel_path = ?2 AND size = ?3 AND mtime_ns = ?4",
        params![source, rel_path, size as i64, mtime_ns as i64],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// A committed input waiting to be processed.
pub struct Pending {
    /// Row id.
    pub id: i64,
    /// Source name.
    pub source: String,
    /// Path or MSH-10.
    pub origin: String,
    /// Adapter name.
    pub format: String,
    /// Recorded checksum.
    pub content_hash: String,
    /// The raw bytes (None if pruned).
    pub raw: Option<Vec<u8>>,
    /// Unix ms.
    pub received_at: i64,
}

/// The oldest `limit` inputs in state `received`.
pub fn next_received(conn: &Connection, limit: usize) -> Result<Vec<Pending>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, source, origin, format, content_hash, raw, received_at FROM inbox
         WHERE state = ?2 ORDER BY id LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64, S::Received], |r| {
        Ok(Pending {
            id: r.get(0)?,
            source: r.get(1)?,
            origin: r.get(2)?,
            format: r.get(3)?,
            content_hash: r.get(4)?,
            raw: r.get(5)?,
            received_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Marks an input processed.
pub fn mark_processed(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "UPDATE inbox SET state = ?3, processed_at = ?2, error = NULL
         WHERE id = ?1 AND state IN ({})",
        PROCESS.sources_sql()
    ))?
    .execute(params![id, now_ms(), PROCESS.to])?;
    Ok(())
}

/// Quarantines an input with a reason (which must not contain patient data).
pub fn quarantine(conn: &Connection, id: i64, reason: &str) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "UPDATE inbox SET state = ?4, processed_at = ?2, error = ?3
             WHERE id = ?1 AND state IN ({})",
        QUARANTINE.sources_sql()
    ))?
    .execute(params![id, now_ms(), reason, QUARANTINE.to])?;
    Ok(())
}

/// Puts inputs back to `received` so the pipeline runs again on their raw bytes; their
/// not-yet-delivered outbox rows become `superseded`. Returns how many inputs will be processed
/// again (an input still `received` counts: it will be). Inputs dropped by hand, and inputs
/// whose raw bytes were pruned, are skipped.
pub fn replay(conn: &Connection, ids: &[i64]) -> Result<usize, StoreError> {
    let supersede = super::outbox::SUPERSEDE_ON_REPLAY;
    let mut n = 0;
    for id in ids {
        let row: Option<(S, bool)> = conn
            .query_row(
                "SELECT state, raw IS NOT NULL FROM inbox WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let state = match row {
            Some((state, true)) if state != S::Dropped => state,
            _ => continue,
        };
        conn.execute(
            &format!(
                "UPDATE outbox SET state = ?3, updated_at = ?2 WHERE inbox_id = ?1 AND state IN ({})",
                supersede.sources_sql()
            ),
            params![id, now_ms(), supersede.to],
        )?;
        if state == S::Received {
            n += 1;
            continue;
        }
        n += conn.execute(
            &format!(
                "UPDATE inbox SET state = ?2, error = NULL WHERE id = ?1 AND state IN ({})",
                REPLAY.sources_sql()
            ),
            params![id, REPLAY.to],
        )?;
    }
    Ok(n)
}

/// Why input `id` is quarantined; `None` when it is not.
pub fn quarantine_reason(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT error FROM inbox WHERE id = ?1 AND state = 'quarantined'",
            [id],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

/// Whether input `id` still waits for processing (a batch's results apply only then).
pub fn is_received(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(state(conn, id)? == Some(S::Received))
}

/// The state of input `id`, if it exists.
pub fn state(conn: &Connection, id: i64) -> Result<Option<S>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT state FROM inbox WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Gives up on input `id` for good (`queue drop I-n --reason`): it is not processed again, and
/// its items that were not delivered become `dead`. Refused while one of them is being sent.
/// Returns how many items became dead. The caller records the audit row.
pub fn drop_input(conn: &Connection, id: i64, reason: &str) -> Result<usize, StoreError> {
    match state(conn, id)? {
        None => {
            return Err(StoreError::Invalid(format!(
                "no input I-{id} / I-{id} は存在しません"
            )))
        }
        Some(S::Dropped) => {
            return Err(StoreError::Invalid(format!(
                "I-{id} was dropped already / I-{id} は破棄済みです"
            )))
        }
        Some(_) => {}
    }
    let in_flight: i64 = conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE inbox_id = ?1 AND state = ?2",
        params![id, OutboxState::InFlight],
        |r| r.get(0),
    )?;
    if in_flight > 0 {
        return Err(StoreError::Invalid(format!(
            "I-{id} has an item being sent right now; try again in a moment / 送信中の項目があります。少し待って再実行してください"
        )));
    }
    let why = format!("dropped by hand: {reason}");
    let dead = super::outbox::DROP;
    let items = conn.execute(
        &format!(
            "UPDATE outbox SET state = ?4, last_error = ?2, updated_at = ?3
             WHERE inbox_id = ?1 AND state IN ({})",
            dead.sources_sql()
        ),
        params![id, why, now_ms(), dead.to],
    )?;
    conn.execute(
        &format!(
            "UPDATE inbox SET state = ?4, processed_at = ?2, error = ?3 WHERE id = ?1 AND state IN ({})",
            DROP.sources_sql()
        ),
        params![id, now_ms(), why, DROP.to],
    )?;
    Ok(items)
}

/// Other inputs of `source` stored as versions of one SS-MIX2 order: (id, origin).
pub fn order_siblings(
    conn: &Connection,
    source: &str,
    order_key: &str,
    except: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, origin FROM inbox WHERE source = ?1 AND order_key = ?2 AND id <> ?3",
    )?;
    let rows = st.query_map(params![source, order_key, except], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records which SS-MIX2 order an input is a version of.
pub fn set_order_key(conn: &Connection, id: i64, order_key: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE inbox SET order_key = ?2 WHERE id = ?1",
        params![id, order_key],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(origin: &'a str, raw: &'a [u8]) -> NewInput<'a> {
        NewInput {
            source: "s",
            origin,
            format: "fhir-json",
            raw,
            file_stamp: Some((raw.len() as u64, 42)),
        }
    }

    #[test]
    fn same_content_same_origin_is_stored_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        let a = insert(&conn, &input("a.json", b"{}")).unwrap();
        let b = insert(&conn, &input("a.json", b"{}")).unwrap();
        assert!(matches!(a, Stored::New(_)));
        assert_eq!(
            b,
            Stored::Duplicate(match a {
                Stored::New(id) => id,
                Stored::Duplicate(id) => id,
            })
        );
        assert!(file_is_known(&conn, "s", "a.json", 2, 42).unwrap());
        assert!(!file_is_known(&conn, "s", "a.json", 2, 43).unwrap());
        let c = insert(&conn, &input("a.json", b"{ }")).unwrap();
        assert!(
            matches!(c, Stored::New(_)),
            "changed content is a new input"
        );
    }

    #[test]
    fn an_origin_keyed_input_is_stored_once_whatever_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        let net = |raw: &'static [u8]| NewInput {
            source: "fhir",
            origin: "request:r-1",
            format: "fhir-json",
            raw,
            file_stamp: None,
        };
        let ByOrigin::New(id) = insert_once_per_origin(&conn, &net(b"{\"a\":1}")).unwrap() else {
            panic!("the first is stored")
        };
        assert_eq!(
            insert_once_per_origin(&conn, &net(b"{\"a\":1}")).unwrap(),
            ByOrigin::SameBytes(id)
        );
        assert_eq!(
            insert_once_per_origin(&conn, &net(b"{ \"a\": 1 }")).unwrap(),
            ByOrigin::OtherBytes {
                id,
                raw: Some(b"{\"a\":1}".to_vec())
            }
        );
        let other_source = NewInput {
            source: "fhir-2",
            ..net(b"{ \"a\": 1 }")
        };
        assert!(matches!(
            insert_once_per_origin(&conn, &other_source).unwrap(),
            ByOrigin::New(n) if n != id
        ));
        let rows: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM inbox WHERE origin = 'request:r-1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(rows, 2, "one per source");
    }

    #[test]
    fn processing_states_and_replay() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        let Stored::New(id) = insert(&conn, &input("x", b"raw")).unwrap() else {
            panic!()
        };
        assert_eq!(next_received(&conn, 10).unwrap().len(), 1);
        quarantine(&conn, id, "not JSON").unwrap();
        assert!(next_received(&conn, 10).unwrap().is_empty());
        assert_eq!(replay(&conn, &[id]).unwrap(), 1);
        let p = next_received(&conn, 10).unwrap();
        assert_eq!(p[0].raw.as_deref(), Some(&b"raw"[..]));
        assert_eq!(p[0].content_hash, sha256_hex(b"raw"));
    }

    #[test]
    fn a_dropped_input_is_never_replayed_and_a_waiting_one_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        let Stored::New(dropped) = insert(&conn, &input("d", b"d")).unwrap() else {
            panic!()
        };
        let Stored::New(waiting) = insert(&conn, &input("w", b"w")).unwrap() else {
            panic!()
        };
        drop_input(&conn, dropped, "paper record").unwrap();
        assert_eq!(replay(&conn, &[dropped]).unwrap(), 0);
        assert_eq!(state(&conn, dropped).unwrap(), Some(S::Dropped));
        assert_eq!(
            replay(&conn, &[waiting]).unwrap(),
            1,
            "it will be processed"
        );
        mark_processed(&conn, waiting).unwrap();
        assert_eq!(state(&conn, waiting).unwrap(), Some(S::Processed));
        assert_eq!(replay(&conn, &[waiting, dropped]).unwrap(), 1);
        assert_eq!(state(&conn, waiting).unwrap(), Some(S::Received));
        let ids: Vec<i64> = next_received(&conn, 10)
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, vec![waiting]);
    }
}

#[cfg(test)]
mod retention_tests {
    use super::*;

    fn prune_delivered(conn: &Connection, cutoff_ms: i64) -> Result<usize, StoreError> {
        super::super::retention::prune(
            conn,
            super::super::retention::Pruned::RawInput,
            cutoff_ms,
            500,
        )
    }

    #[test]
    fn pruning_drops_raw_bytes_only_of_finished_old_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::open(dir.path()).unwrap();
        let mut ids = Vec::new();
        for o in ["done", "waiting"] {
            let Stored::New(id) = insert(
                &conn,
                &NewInput {
                    source: "s",
                    origin: o,
                    format: "f",
                    raw: b"r",
                    file_stamp: None,
                },
            )
            .unwrap() else {
                panic!()
            };
            mark_processed(&conn, id).unwrap();
            ids.push(id);
        }
        let body: &[u8] = b"b";
        for (id, state) in [(ids[0], "delivered"), (ids[1], "pending")] {
            conn.execute(
                "INSERT INTO outbox (inbox_id, idempotency_key, resource_type, body, state, created_at, updated_at)
                 VALUES (?1, 'k', 'Condition', ?2, ?3, 0, 0)",
                params![id, body, state],
            )
            .unwrap();
        }
        assert_eq!(
            prune_delivered(&conn, now_ms() - 60_000).unwrap(),
            0,
            "too recent"
        );
        assert_eq!(prune_delivered(&conn, now_ms() + 60_000).unwrap(), 1);
        let raws: Vec<Option<Vec<u8>>> = conn
            .prepare("SELECT raw FROM inbox ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(raws, vec![None, Some(b"r".to_vec())]);
        assert_eq!(
            replay(&conn, &[ids[0]]).unwrap(),
            0,
            "a pruned input cannot be replayed"
        );
    }
}
