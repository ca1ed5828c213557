//! Retention: patient data is kept for a configured time, then pruned in small batches, and the
//! space it took is given back to the file system.
//!
//! | what | after | how | what stays (the audit trail) |
//! |---|---|---|---|
//! | raw inputs (`inbox.raw`) of processed inputs whose items are all finished | `[agent] retention_days` (30) | set to NULL, `pruned_at` set | the row: source, origin, hash, size, times, state |
//! | bundle bodies (`outbox.body`) of delivered or superseded items | `bundle_body_days` (30) after delivery (or last change) | set to NULL | the row: state, identifier, idempotency key (the body's hash), receipt, times |
//! | delivery attempts (`attempt`), all but each item's last | `attempt_days` (400) | deleted | the item's last attempt and its `outbox.attempts` count |
//! | remembered Patients (`patient`) not seen for long and referenced by no unsent item | `patient_days` (365) | deleted | nothing (a later input brings the Patient again) |
//!
//! Never pruned: held, pending, in-flight, awaiting, rejected or dead items (they may be sent
//! again, by hand or by themselves), quarantined inputs, `audit`, `item_code`, `seen_file`.
//!
//! Each batch is one writer job of at most `batch_rows` rows, so intake waits at most one small
//! batch; it finds them through partial indexes of what may still be pruned (`RAW_DUE`,
//! `BODY_DUE`), never passing over the rows pruned before. Attempts and Patients are found due
//! apart from the writer (`read_apart`): what makes them due (not an item's last attempt; not
//! seen for long and referenced by no unsent item) has no index, and one would cost every
//! input, so a round reads them on a connection of its own and each writer batch deletes by key
//! only those still due.
//!
//! Space: new databases are created with `auto_vacuum = INCREMENTAL` (see `store::open`), and
//! after pruning `PRAGMA incremental_vacuum(vacuum_pages)` returns free
//! pages; the file shrinks at the next checkpoint. A database created before this needs one
//! `VACUUM` with the agent stopped (`PRAGMA auto_vacuum = INCREMENTAL; VACUUM;` in `sqlite3`);
//! until then freed pages are reused but the file does not shrink. What frees whole pages: deleted
//! rows and bodies larger than about a page (their overflow pages); a nulled value smaller than
//! that leaves room inside its page that only a `VACUUM` compacts.

use std::path::Path;

use rusqlite::{params, Connection};
use serde::Deserialize;

use super::{InputState, OutboxState, StoreError, Writer};
use crate::clock::now_ms;
use read_apart::{Attempts, Patients};

/// `[store.retention]`: days to keep each kind of patient data (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Bodies of delivered or superseded bundles, counted from delivery.
    pub bundle_body_days: u32,
    /// Delivery attempts other than each item's last.
    pub attempt_days: u32,
    /// Remembered Patients not seen (in any input) for this long.
    pub patient_days: u32,
    /// Rows per pruning transaction.
    pub batch_rows: u32,
    /// Free pages returned to the file system per pruning round (4 KiB each).
    pub vacuum_pages: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            bundle_body_days: 30,
            attempt_days: 400,
            patient_days: 365,
            batch_rows: 500,
            vacuum_pages: 25_000,
        }
    }
}

/// The kinds of rows pruned, as named in `/metrics` (`table` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pruned {
    /// Raw input bytes (`inbox`).
    RawInput,
    /// Bundle bodies (`outbox`).
    BundleBody,
    /// Delivery attempts (`attempt`).
    Attempt,
    /// Remembered Patients (`patient`).
    Patient,
}

impl Pruned {
    /// Every kind, in pruning order.
    pub const ALL: [Pruned; 4] = [
        Pruned::RawInput,
        Pruned::BundleBody,
        Pruned::Attempt,
        Pruned::Patient,
    ];

    /// The table the rows live in.
    pub fn table(self) -> &'static str {
        match self {
            Pruned::RawInput => "inbox",
            Pruned::BundleBody => "outbox",
            Pruned::Attempt => "attempt",
            Pruned::Patient => "patient",
        }
    }
}

/// Cut-off times (unix ms) per kind: rows older than these are due.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    raw: i64,
    body: i64,
    attempt: i64,
    patient: i64,
}

impl Cutoffs {
    /// The cut-offs at `now_ms` for raw inputs kept `raw_days` and the rest per `cfg`.
    pub fn at(now_ms: i64, raw_days: u32, cfg: &RetentionConfig) -> Cutoffs {
        let before = |days: u32| now_ms - i64::from(days) * 86_400_000;
        Cutoffs {
            raw: before(raw_days),
            body: before(cfg.bundle_body_days),
            attempt: before(cfg.attempt_days),
            patient: before(cfg.patient_days),
        }
    }

    fn of(&self, kind: Pruned) -> i64 {
        match kind {
            Pruned::RawInput => self.raw,
            Pruned::BundleBody => self.body,
            Pruned::Attempt => self.attempt,
            Pruned::Patient => self.patient,
        }
    }
}

/// Processed inputs received before ?1 whose raw bytes may go (all their items finished: ?4,
/// ?5, ?6), at most ?2, oldest first: read through the partial index `inbox_unpruned`, whose
/// condition this repeats with its literals, so that a batch never passes over rows pruned
/// before (`schema::INDEXES`, applied at every open). Named: the planner, knowing nothing of
/// the data, took `inbox_state` for its equality on the state.
const RAW_DUE: &str = "SELECT id FROM inbox INDEXED BY inbox_unpruned
     WHERE raw IS NOT NULL AND state = 'processed' AND received_at < ?1
       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.inbox_id = inbox.id
                       AND o.state NOT IN (?4, ?5, ?6))
     ORDER BY received_at LIMIT ?2";

/// Delivered or superseded items, delivered (or last changed) before ?1, that keep their body;
/// at most ?2, through `outbox_unpruned` (its expression and condition, as [`RAW_DUE`]).
const BODY_DUE: &str = "SELECT id FROM outbox INDEXED BY outbox_unpruned
     WHERE body IS NOT NULL AND state IN ('delivered', 'superseded')
       AND COALESCE(delivered_at, updated_at) < ?1
     ORDER BY COALESCE(delivered_at, updated_at) LIMIT ?2";

const _: () = {
    assert!(matches!(
        InputState::Processed.as_str().as_bytes(),
        b"processed"
    ));
    assert!(matches!(
        OutboxState::Delivered.as_str().as_bytes(),
        b"delivered"
    ));
    assert!(matches!(
        OutboxState::Superseded.as_str().as_bytes(),
        b"superseded"
    ));
};

/// Prunes at most `limit` rows of one kind older than `cutoff_ms` on one connection; returns how
/// many. A round calls it in the writer for raw inputs and bodies; attempts and Patients it
/// finds apart from the writer (`read_apart`), through the same reads and deletes as here.
pub fn prune(
    conn: &Connection,
    kind: Pruned,
    cutoff_ms: i64,
    limit: u32,
) -> Result<usize, StoreError> {
    let n = match kind {
        Pruned::RawInput => conn.execute(
            &format!("UPDATE inbox SET raw = NULL, pruned_at = ?3 WHERE id IN ({RAW_DUE})"),
            params![
                cutoff_ms,
                limit,
                now_ms(),
                OutboxState::Delivered,
                OutboxState::Dead,
                OutboxState::Superseded
            ],
        )?,
        Pruned::BundleBody => conn.execute(
            &format!("UPDATE outbox SET body = NULL WHERE id IN ({BODY_DUE})"),
            params![cutoff_ms, limit],
        )?,
        Pruned::Attempt => read_apart::on_one_connection::<Attempts>(conn, cutoff_ms, limit)?,
        Pruned::Patient => read_apart::on_one_connection::<Patients>(conn, cutoff_ms, limit)?,
    };
    Ok(n)
}

/// Returns up to `pages` free pages to the file system (a no-op without incremental
/// auto-vacuum). The file shrinks when the WAL is next checkpointed.
pub fn reclaim(conn: &Connection, pages: u32) -> Result<(), StoreError> {
    // The pragma frees one page per step (each step returns a row): step it to the end.
    let mut stmt = conn.prepare(&format!("PRAGMA incremental_vacuum({pages})"))?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Rows pruned in one round, per kind (in [`Pruned::ALL`] order).
pub type Round = [(Pruned, u64); 4];

/// One pruning round through the writer: every kind in batches of `batch_rows` until none is
/// due (or `stop` says so, between batches), then a reclaim. Attempts and Patients due are
/// found on a connection of the round's own to the store in `data_dir` (`read_apart`). Stops at
/// the first error (the next round starts over), returning what was pruned so far along with it.
pub async fn run_round(
    writer: &Writer,
    data_dir: &Path,
    cutoffs: Cutoffs,
    cfg: &RetentionConfig,
    stop: impl Fn() -> bool,
) -> (Round, Result<(), StoreError>) {
    let mut round = Pruned::ALL.map(|k| (k, 0u64));
    let limit = cfg.batch_rows.max(1);
    for (kind, total) in round.iter_mut() {
        let (kind, cutoff) = (*kind, cutoffs.of(*kind));
        let done = match kind {
            Pruned::RawInput | Pruned::BundleBody => {
                prune_kind(writer, kind, cutoff, limit, &stop, total).await
            }
            Pruned::Attempt => {
                read_apart::prune::<Attempts>(writer, data_dir, cutoff, limit, &stop, total).await
            }
            Pruned::Patient => {
                read_apart::prune::<Patients>(writer, data_dir, cutoff, limit, &stop, total).await
            }
        };
        if let Err(e) = done {
            return (round, Err(e));
        }
    }
    if round.iter().any(|(_, n)| *n > 0) {
        let pages = cfg.vacuum_pages;
        if let Err(e) = writer.call_async(move |c| reclaim(c, pages)).await {
            return (round, Err(e));
        }
    }
    (round, Ok(()))
}

/// Batches of a kind found due in the writer (through an index), until a batch is not full.
async fn prune_kind(
    writer: &Writer,
    kind: Pruned,
    cutoff: i64,
    limit: u32,
    stop: &impl Fn() -> bool,
    total: &mut u64,
) -> Result<(), StoreError> {
    while !stop() {
        let n = writer
            .call_async(move |c| prune(c, kind, cutoff, limit))
            .await?;
        *total += n as u64;
        if n < limit as usize {
            break;
        }
    }
    Ok(())
}

mod read_apart;

#[cfg(test)]
mod tests;
