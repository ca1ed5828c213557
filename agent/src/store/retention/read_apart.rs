//! Kinds whose due rows have no index to find them by: delivery attempts (all but each item's
//! last) and remembered Patients (not seen for long, referenced by no unsent item). An index
//! would cost every input, and without one finding them passes over whole tables: with
//! 1,000,000 items' last attempts past the cut-off, 0.75–0.94 s per batch; with 300,000
//! Patients and 1,000,000 held items, 0.65–0.74 s per batch (measured, BENCHMARKS.md). In a
//! writer job that holds every acknowledgement back, every batch of every hourly round.
//!
//! So a round reads the due rows' keys on a connection of its own (one snapshot, [`Kind::read`]),
//! and each writer batch deletes by key those still due ([`Kind::delete`]): a few milliseconds.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::{params, Connection};

use super::super::{open_existing, OutboxState, StoreError, Writer};

/// Batches read per snapshot: a round with more due reads again.
const BATCHES_PER_READ: u32 = 20;

/// A kind pruned by key after a read apart. The value read with the keys is what its deletes
/// need to know of that snapshot.
pub trait Kind: Sized + Send + 'static {
    /// What identifies a row.
    type Key: Clone + Send + 'static;

    /// The keys of at most `cap` rows due at `cutoff_ms`, and what to check at delete time.
    fn read(
        conn: &Connection,
        cutoff_ms: i64,
        cap: u32,
    ) -> Result<(Vec<Self::Key>, Self), StoreError>;

    /// Deletes those of `keys` still due; returns how many.
    fn delete(
        &mut self,
        conn: &Connection,
        keys: &[Self::Key],
        cutoff_ms: i64,
    ) -> Result<usize, StoreError>;
}

/// Reads due in one snapshot (a read transaction on a connection that is not the writer's).
pub fn read_due<K: Kind>(
    conn: &Connection,
    cutoff_ms: i64,
    cap: u32,
) -> Result<(Vec<K::Key>, K), StoreError> {
    let snapshot = conn.unchecked_transaction()?;
    let due = K::read(&snapshot, cutoff_ms, cap)?;
    snapshot.finish()?;
    Ok(due)
}

/// Reads and deletes at most `limit` on one connection: `retention::prune` for these kinds,
/// which the tests of the rules call; a round goes through [`prune`] instead.
pub fn on_one_connection<K: Kind>(
    conn: &Connection,
    cutoff_ms: i64,
    limit: u32,
) -> Result<usize, StoreError> {
    let (keys, mut check) = K::read(conn, cutoff_ms, limit)?;
    check.delete(conn, &keys, cutoff_ms)
}

/// Prunes one kind: reads due apart, deletes in writer batches of `limit`, and reads again
/// while a read was full and something went.
pub async fn prune<K: Kind>(
    writer: &Writer,
    data_dir: &Path,
    cutoff_ms: i64,
    limit: u32,
    stop: &impl Fn() -> bool,
    total: &mut u64,
) -> Result<(), StoreError> {
    let cap = limit.saturating_mul(BATCHES_PER_READ);
    while !stop() {
        let dir = data_dir.to_path_buf();
        let (keys, mut check) = tokio::task::spawn_blocking(move || {
            read_due::<K>(&open_existing(&dir)?, cutoff_ms, cap)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("the retention read stopped: {e}")))??;
        let mut deleted = 0;
        for batch in keys.chunks(limit as usize) {
            if stop() {
                break;
            }
            let batch = batch.to_vec();
            let (n, c) = writer
                .call_async(move |conn| Ok((check.delete(conn, &batch, cutoff_ms)?, check)))
                .await?;
            check = c;
            deleted += n as u64;
        }
        *total += deleted;
        if keys.len() < cap as usize || deleted == 0 {
            return Ok(());
        }
    }
    Ok(())
}

/// Delivery attempts other than their item's last. One that is not its item's last never
/// becomes it again (attempts are only added, and only those that are not last are deleted),
/// so a key read due stays due.
pub struct Attempts;

impl Kind for Attempts {
    type Key = i64;

    fn read(conn: &Connection, cutoff_ms: i64, cap: u32) -> Result<(Vec<i64>, Self), StoreError> {
        let ids = conn
            .prepare_cached(
                "SELECT a.id FROM attempt a
                 WHERE a.at < ?1
                   AND a.id < (SELECT MAX(b.id) FROM attempt b WHERE b.outbox_id = a.outbox_id)
                 LIMIT ?2",
            )?
            .query_map(params![cutoff_ms, cap], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok((ids, Attempts))
    }

    fn delete(&mut self, conn: &Connection, ids: &[i64], _: i64) -> Result<usize, StoreError> {
        let mut delete = conn.prepare_cached("DELETE FROM attempt WHERE id = ?1")?;
        let mut n = 0;
        for id in ids {
            n += delete.execute([id])?;
        }
        Ok(n)
    }
}

/// The states whose items keep their Patient remembered: they may be built again (replayed,
/// retried, released when their patient arrives).
const KEEPS_PATIENT: [OutboxState; 5] = [
    OutboxState::Pending,
    OutboxState::InFlight,
    OutboxState::Awaiting,
    OutboxState::Rejected,
    OutboxState::Held,
];

/// Remembered Patients not seen since ?1 and referenced by no item in a [`KEEPS_PATIENT`] state
/// (?3 to ?6, and the literal `held`, whose references `outbox_held` covers), at most ?2.
pub(super) const PATIENTS_DUE: &str = "SELECT reference FROM patient
     WHERE updated_at < ?1
       AND reference NOT IN (SELECT patient_ref FROM outbox
                             WHERE state = 'held' AND patient_ref IS NOT NULL)
       AND reference NOT IN (SELECT patient_ref FROM outbox
                             WHERE state IN (?3, ?4, ?5, ?6) AND patient_ref IS NOT NULL)
     LIMIT ?2";

const _: () = assert!(matches!(OutboxState::Held.as_str().as_bytes(), b"held"));

/// Remembered Patients. At delete time a Patient read due may have been seen again (its
/// `updated_at`, read again by key) or be referenced by an item added since the snapshot: items
/// are never deleted and take ids above every earlier one, so those after the snapshot's last
/// are all that is new, and each batch reads only the ones added since the batch before. An
/// item older than the snapshot that comes back to an unsent state (a dead item retried by hand)
/// does not keep its Patient: it did not before either, and its bundle is already built.
#[derive(Debug)]
pub struct Patients {
    /// The last outbox item read.
    after: i64,
    /// The Patients that items added since the snapshot, in a [`KEEPS_PATIENT`] state, refer to.
    referenced: HashSet<String>,
}

impl Patients {
    fn catch_up(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT id, state, patient_ref FROM outbox WHERE id > ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([self.after])?;
        while let Some(row) = rows.next()? {
            self.after = row.get(0)?;
            let state: OutboxState = row.get(1)?;
            if let (true, Some(patient)) = (KEEPS_PATIENT.contains(&state), row.get(2)?) {
                self.referenced.insert(patient);
            }
        }
        Ok(())
    }
}

impl Kind for Patients {
    type Key = String;

    fn read(
        conn: &Connection,
        cutoff_ms: i64,
        cap: u32,
    ) -> Result<(Vec<String>, Self), StoreError> {
        let after = conn.query_row("SELECT COALESCE(MAX(id), 0) FROM outbox", [], |r| r.get(0))?;
        let [pending, in_flight, awaiting, rejected, _] = KEEPS_PATIENT;
        let references = conn
            .prepare_cached(PATIENTS_DUE)?
            .query_map(
                params![cutoff_ms, cap, pending, in_flight, awaiting, rejected],
                |r| r.get(0),
            )?
            .collect::<Result<_, _>>()?;
        let check = Patients {
            after,
            referenced: HashSet::new(),
        };
        Ok((references, check))
    }

    fn delete(
        &mut self,
        conn: &Connection,
        references: &[String],
        cutoff_ms: i64,
    ) -> Result<usize, StoreError> {
        self.catch_up(conn)?;
        let mut delete =
            conn.prepare_cached("DELETE FROM patient WHERE reference = ?1 AND updated_at < ?2")?;
        let mut n = 0;
        for reference in references.iter().filter(|r| !self.referenced.contains(*r)) {
            n += delete.execute(params![reference, cutoff_ms])?;
        }
        Ok(n)
    }
}
