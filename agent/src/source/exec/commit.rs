//! One durable commit of what a plugin wrote: its records, its quarantined lines and its latest
//! checkpoint, all in one writer job (so one transaction): the checkpoint is durable exactly when
//! the records before it are.

use std::sync::Arc;

use super::protocol::{Outcome, Record};
use super::stats::LineFault;
use crate::digest::sha256_hex;
use crate::store::{inbox, plugins, StoreError, Writer};

/// The inbox format of a quarantined line (not an adapter: a replay quarantines it again).
pub const LINE_FORMAT: &str = "exec-line";

/// A line that is not taken in, kept as a quarantined input.
#[derive(Debug, Clone)]
pub struct BadLine {
    /// Garbage (with its bytes) or too long (size only).
    pub fault: LineFault,
    /// The line's bytes (garbage), or its first bytes (too long: not stored).
    pub bytes: Vec<u8>,
    /// The line's full size.
    pub size: u64,
    /// The reason, English and Japanese, without the line's content.
    pub reason: String,
}

/// What one commit holds.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records, in the order written.
    pub records: Vec<Record>,
    /// Lines quarantined.
    pub bad: Vec<BadLine>,
    /// The latest checkpoint (JSON text) written after the batch's records.
    pub checkpoint: Option<String>,
}

impl Batch {
    /// Nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.bad.is_empty() && self.checkpoint.is_none()
    }
}

/// Commits `batch` for `source`; returns each record's id and outcome once durable.
pub fn commit(
    writer: &Writer,
    source: &Arc<str>,
    batch: Batch,
) -> Result<Vec<(String, Outcome)>, StoreError> {
    let source = source.clone();
    writer.call(move |c| {
        let mut out = Vec::with_capacity(batch.records.len());
        for r in batch.records {
            let stored = inbox::insert(
                c,
                &inbox::NewInput {
                    source: &source,
                    origin: &r.id,
                    format: &r.format,
                    raw: &r.raw,
                    file_stamp: None,
                },
            )?;
            let outcome = match stored {
                inbox::Stored::New(_) => Outcome::Stored,
                inbox::Stored::Duplicate(_) => Outcome::Duplicate,
            };
            out.push((r.id, outcome));
        }
        for b in &batch.bad {
            quarantine_line(c, &source, b)?;
        }
        if let Some(state) = &batch.checkpoint {
            plugins::save_checkpoint(c, &source, state)?;
        }
        Ok(out)
    })
}

/// Keeps a bad line as a quarantined input: a garbage line with its bytes (so it can be looked
/// at), a too-long line by its size only. The origin is derived from the content, so the same
/// line written again after a restart is the same row.
fn quarantine_line(c: &rusqlite::Connection, source: &str, b: &BadLine) -> Result<(), StoreError> {
    let tag = &sha256_hex(&b.bytes)[..16];
    let origin = format!("{}:{tag}:{}", b.fault.name(), b.size);
    let input = inbox::NewInput {
        source,
        origin: &origin,
        format: LINE_FORMAT,
        raw: &b.bytes,
        file_stamp: None,
    };
    match b.fault {
        LineFault::TooLong => {
            inbox::insert_refused(c, &input, b.size, &b.reason)?;
        }
        LineFault::Garbage => {
            if let inbox::Stored::New(id) = inbox::insert(c, &input)? {
                inbox::quarantine(c, id, &b.reason)?;
            }
        }
    }
    Ok(())
}
