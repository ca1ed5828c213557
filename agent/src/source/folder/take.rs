//! Taking ready files: (read-only) ask the store whether each is known, read it, commit a batch
//! of them in one durable commit, and acknowledge each (move it out, or mark it done).
//!
//! Invariants: acknowledgement happens only after `commit` / `refuse` returned `Ok`; every
//! other outcome leaves the file where it is, scheduled for a retry or settling again; `Paused`
//! ends the current turn so that a full disk is asked at most once per `poll_interval_ms`. A file
//! is read only if it is still the regular file the walk saw, reached without a link, and moved
//! only if it still is right before the move; a file replaced by a link is never read or moved.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::{debug, info, warn};

use super::handoff::{self, Prepared, Read};
use super::names::path_tag;
use super::run::{Next, Runner};
use super::tracker::Stamp;
use crate::source::root_guard::{FileId, Look};
use crate::source::skips::SkipReason;
use crate::source::{Committed, IntakeError, Refusal};

/// Files committed together at most (one fsync for the batch).
const BATCH_FILES: usize = 256;
/// Bytes committed together at most.
const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// What preparing one file led to.
enum Prep {
    Read(Prepared),
    Done(Next),
}

impl Runner {
    /// Offers every ready file, oldest first, in batches that share one commit, unless paused or
    /// shutting down.
    pub(super) fn take_ready(&mut self) {
        if self.paused && Instant::now() < self.pause_retry_at {
            return;
        }
        let mut batch: Vec<Prepared> = Vec::new();
        let mut batch_bytes = 0;
        for rel in self.tracker.ready(self.stable) {
            if self.shutdown.is_triggered() {
                break;
            }
            match self.prepare(&rel) {
                Prep::Done(Next::Paused) => return,
                Prep::Done(_) => {}
                Prep::Read(p) => {
                    batch_bytes += p.bytes.len();
                    batch.push(p);
                    if batch.len() >= BATCH_FILES || batch_bytes >= BATCH_BYTES {
                        batch_bytes = 0;
                        if let Next::Paused = self.commit_batch(std::mem::take(&mut batch)) {
                            return;
                        }
                    }
                }
            }
        }
        self.commit_batch(batch);
    }

    /// (read-only) asks whether the file is known, then reads it whole.
    fn prepare(&mut self, rel: &str) -> Prep {
        let Some(stamp) = self.tracker.stamp(rel) else {
            return Prep::Done(Next::Continue);
        };
        let abs = self.src.guard.path(rel);
        if self.src.targets.is_none() {
            match self
                .intake
                .is_known(&self.src.cfg.name, rel, stamp.size, stamp.mtime_ns)
            {
                Ok(true) => {
                    debug!(source = %self.src.cfg.name, file = %path_tag(&self.src.cfg.name, rel), "already known; not read");
                    self.stats.known_skipped += 1;
                    self.tracker.mark_done(rel);
                    self.complaints.clear(rel);
                    return Prep::Done(Next::Continue);
                }
                Ok(false) => {}
                Err(e) => return Prep::Done(self.intake_failed(rel, e)),
            }
        }
        if stamp.size > self.src.cfg.max_file_bytes {
            return Prep::Done(self.reject_oversize(rel, &abs, stamp));
        }
        match handoff::read_stable(&self.src.guard, rel, stamp) {
            Ok(Read::Content(bytes)) => Prep::Read(Prepared {
                rel: rel.to_string(),
                abs,
                stamp,
                bytes,
            }),
            Ok(Read::Changed(now)) => {
                debug!(source = %self.src.cfg.name, file = %path_tag(&self.src.cfg.name, rel), "changed while reading; settling again");
                self.tracker.observe(rel, now, false, Instant::now());
                Prep::Done(Next::Continue)
            }
            Ok(Read::Gone) => {
                debug!(source = %self.src.cfg.name, file = %path_tag(&self.src.cfg.name, rel), "vanished before reading");
                self.forget(rel);
                Prep::Done(Next::Continue)
            }
            Ok(Read::Link) => {
                self.forget(rel);
                self.skips.record(rel, SkipReason::Symlink);
                Prep::Done(Next::Continue)
            }
            Ok(Read::Replaced) => {
                debug!(source = %self.src.cfg.name, file = %path_tag(&self.src.cfg.name, rel), "replaced before reading; looking again");
                self.look_again(rel, Instant::now());
                Prep::Done(Next::Continue)
            }
            Err(e) => {
                self.stats.read_errors += 1;
                self.complaints.report(rel, &format!("unreadable: {e}"));
                self.tracker.mark_retry(rel, Instant::now() + self.retry);
                Prep::Done(Next::Continue)
            }
        }
    }

    /// Commits a batch in one durable commit, then acknowledges each file.
    fn commit_batch(&mut self, batch: Vec<Prepared>) -> Next {
        if batch.is_empty() {
            return Next::Continue;
        }
        self.stats.offered += batch.len() as u64;
        let name = self.src.cfg.name.clone();
        let results = match handoff::commit_batch(self.intake.as_ref(), &name, &batch) {
            Ok(r) if r.len() == batch.len() => r,
            Ok(_) => {
                let e =
                    IntakeError::Store("the intake answered a batch with the wrong count".into());
                return self.batch_failed(&batch, e);
            }
            Err(e) => return self.batch_failed(&batch, e),
        };
        self.resumed();
        let target = self.src.targets.as_ref().map(|t| t.0.clone());
        for (p, c) in batch.into_iter().zip(results) {
            match c {
                Committed::Stored { inbox_id } => {
                    self.stats.stored += 1;
                    debug!(source = %name, file = %path_tag(&name, &p.rel), inbox_id, "stored");
                }
                Committed::AlreadyStored { inbox_id } => {
                    self.stats.already_stored += 1;
                    debug!(source = %name, file = %path_tag(&name, &p.rel), inbox_id, "already stored");
                }
            }
            self.acknowledge(&p.rel, &p.abs, p.stamp.id, target.clone());
        }
        Next::Continue
    }

    /// Nothing of the batch is acknowledged; each file is retried (or waits out the pause).
    fn batch_failed(&mut self, batch: &[Prepared], e: IntakeError) -> Next {
        let mut next = Next::Continue;
        for p in batch {
            let e = match &e {
                IntakeError::Paused => IntakeError::Paused,
                IntakeError::Store(r) => IntakeError::Store(r.clone()),
            };
            if let Next::Paused = self.intake_failed(&p.rel, e) {
                next = Next::Paused;
            }
        }
        next
    }

    /// Quarantines a file over `max_file_bytes` without reading it.
    fn reject_oversize(&mut self, rel: &str, abs: &Path, stamp: Stamp) -> Next {
        let name = self.src.cfg.name.clone();
        if let Err(e) =
            self.intake
                .refuse(&name, rel, stamp.size, stamp.mtime_ns, Refusal::Oversize)
        {
            return self.intake_failed(rel, e);
        }
        self.resumed();
        self.stats.rejected_oversize += 1;
        warn!(
            source = %name,
            file = %path_tag(&name, rel),
            size = stamp.size,
            limit = self.src.cfg.max_file_bytes,
            "file larger than max_file_bytes; quarantined without reading"
        );
        let target = self.src.targets.as_ref().map(|t| t.1.clone());
        self.acknowledge(rel, abs, stamp.id, target)
    }

    /// After a durable commit: move the file to `target` (move mode) or mark it done (read-only).
    /// A file that is no longer the regular file `id` that was stored is not moved.
    fn acknowledge(&mut self, rel: &str, abs: &Path, id: FileId, target: Option<PathBuf>) -> Next {
        let Some(target) = target else {
            self.tracker.mark_done(rel);
            self.complaints.clear(rel);
            return Next::Continue;
        };
        match self.src.guard.still_there(rel, id) {
            Ok(true) => {}
            Ok(false) if matches!(self.src.guard.look(rel), Ok(Look::Gone)) => {
                // Someone else removed it after the commit; the content is stored.
                self.forget(rel);
                return Next::Continue;
            }
            Ok(false) => {
                // Replaced after it was read (by a link, or another file): what was stored is
                // not what is there now. Leave it; look at it afresh.
                warn!(source = %self.src.cfg.name, file = %path_tag(&self.src.cfg.name, rel),
                    "file replaced after it was stored; not moved / 保存後に置き換えられたため移動しません");
                self.look_again(rel, Instant::now());
                return Next::Continue;
            }
            Err(e) => {
                self.stats.move_errors += 1;
                self.complaints.report(
                    rel,
                    &format!("stored, but could not be checked before the move: {e}"),
                );
                self.tracker.mark_retry(rel, Instant::now() + self.retry);
                return Next::Continue;
            }
        }
        match handoff::relocate(abs, &target, rel) {
            Ok(_) => {
                self.stats.moved += 1;
                self.forget(rel);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !abs.exists() => {
                // Someone else removed it after the commit; the content is stored.
                self.forget(rel);
            }
            Err(e) => {
                self.stats.move_errors += 1;
                self.complaints.report(
                    rel,
                    &format!("stored, but could not be moved out of the folder: {e}"),
                );
                self.tracker.mark_retry(rel, Instant::now() + self.retry);
            }
        }
        Next::Continue
    }

    /// `Paused` stops this turn; a store error retries the file later.
    pub(super) fn intake_failed(&mut self, rel: &str, e: IntakeError) -> Next {
        match e {
            IntakeError::Paused => {
                self.stats.paused_skips += 1;
                if !self.paused {
                    warn!(
                        source = %self.src.cfg.name,
                        retry_ms = self.retry.as_millis() as u64,
                        "intake paused (disk reserve reached); files stay in the folder"
                    );
                    self.paused = true;
                }
                self.pause_retry_at = Instant::now() + self.retry;
                Next::Paused
            }
            IntakeError::Store(reason) => {
                self.stats.store_errors += 1;
                self.complaints
                    .report(rel, &format!("store error: {reason}"));
                self.tracker.mark_retry(rel, Instant::now() + self.retry);
                Next::Continue
            }
        }
    }

    pub(super) fn resumed(&mut self) {
        if self.paused {
            self.paused = false;
            info!(source = %self.src.cfg.name, "intake resumed");
        }
    }
}
