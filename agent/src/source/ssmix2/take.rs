//! Taking files: decide whether a sighted file is stable, ask the store whether it is known, read
//! it, and commit it with others in one batch.
//!
//! Invariants:
//! - A file is read only after `is_known` answered `false` for its current (size, mtime), and only
//!   if it is still the regular file the walk saw, reached without a link (`RootGuard`).
//! - A file is *stable* when its mtime is at least `stable_ms` in the past at the sighting (it was
//!   not written since), or the [`Tracker`] saw the same stamp twice `stable_ms` apart; the stamp
//!   is verified again around the read.
//! - The tracker holds only files that were not stable at first sight or failed: its size is
//!   bounded by the files being written or failing, not by the storage.
//! - An intake error ends the current scan (`Paused`, `Store`): the scan is retried after
//!   `poll_interval_ms` and retraces its steps through `is_known`, so nothing is skipped, and a
//!   full disk is asked at most once per interval.
//!
//! [`Tracker`]: crate::source::folder::tracker::Tracker

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tracing::{debug, warn};

use super::layout::{classify, FileClass};
use super::run::Runner;
use crate::source::folder::handoff::{self, Prepared, Read};
use crate::source::folder::names::path_tag;
use crate::source::folder::tracker::Stamp;
use crate::source::{Committed, IntakeError, Refusal};

/// Files committed together at most (one fsync for the batch).
pub const BATCH_FILES: usize = 256;
/// Bytes committed together at most.
const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Whether the walk may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// The intake failed (paused or store error): stop this scan, retry later.
    Stop,
}

impl Runner {
    /// A file was seen with `stamp`: take it now if stable, else let the tracker watch it.
    pub(super) fn sighted(&mut self, rel: &str, stamp: Stamp, renamed: bool) -> Flow {
        self.stats.seen += 1;
        let now = Instant::now();
        if self.tracker.stamp(rel).is_some() || !(renamed || self.old_enough(stamp)) {
            self.tracker.observe(rel, stamp, renamed, now);
            return Flow::Go;
        }
        self.take(rel, stamp)
    }

    fn old_enough(&self, stamp: Stamp) -> bool {
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        now_ns - stamp.mtime_ns >= self.stable.as_nanos() as i128
    }

    /// Takes a stable file: is it known? too large? else read it into the batch.
    pub(super) fn take(&mut self, rel: &str, stamp: Stamp) -> Flow {
        let name = self.src.cfg.name.clone();
        match self.intake.is_known(&name, rel, stamp.size, stamp.mtime_ns) {
            Ok(true) => {
                self.stats.already_known += 1;
                self.tracker.forget(rel);
                return Flow::Go;
            }
            Ok(false) => {}
            Err(e) => {
                self.retry_later(rel, stamp);
                return self.intake_failed(e);
            }
        }
        if stamp.size > self.src.cfg.max_file_bytes {
            if let Err(e) =
                self.intake
                    .refuse(&name, rel, stamp.size, stamp.mtime_ns, Refusal::Oversize)
            {
                self.retry_later(rel, stamp);
                return self.intake_failed(e);
            }
            self.stats.rejected_oversize += 1;
            self.tracker.forget(rel);
            warn!(source = %name, file = %path_tag(&name, rel), size = stamp.size,
                limit = self.src.cfg.max_file_bytes, "file larger than max_file_bytes; quarantined without reading");
            return Flow::Go;
        }
        match handoff::read_stable(&self.src.guard, rel, stamp) {
            Ok(Read::Content(bytes)) => {
                self.batch_bytes += bytes.len();
                self.batch.push(Prepared {
                    rel: rel.to_string(),
                    abs: self.src.guard.path(rel),
                    stamp,
                    bytes,
                });
                if self.batch.len() >= BATCH_FILES || self.batch_bytes >= BATCH_BYTES {
                    return self.flush();
                }
                Flow::Go
            }
            Ok(Read::Changed(now)) => {
                self.tracker.forget(rel);
                self.tracker.observe(rel, now, false, Instant::now());
                Flow::Go
            }
            Ok(Read::Gone) => {
                self.tracker.forget(rel);
                Flow::Go
            }
            Ok(Read::Link | Read::Replaced) => {
                self.tracker.forget(rel);
                self.look_again(rel, Instant::now());
                Flow::Go
            }
            Err(e) => {
                self.stats.read_errors += 1;
                warn!(source = %name, file = %path_tag(&name, rel), reason = %e, "file cannot be read; will retry");
                debug!(source = %name, file = %path_tag(&name, rel), "unreadable file");
                self.retry_later(rel, stamp);
                Flow::Go
            }
        }
    }

    /// Puts `rel` in the tracker for another look after `poll_interval_ms`.
    fn retry_later(&mut self, rel: &str, stamp: Stamp) {
        let now = Instant::now();
        self.tracker.observe(rel, stamp, false, now);
        self.tracker.mark_retry(rel, now + self.retry);
    }

    /// Commits the batch in hand in one durable commit and counts what it held.
    pub(super) fn flush(&mut self) -> Flow {
        if self.batch.is_empty() {
            return Flow::Go;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let name = self.src.cfg.name.clone();
        match handoff::commit_batch(self.intake.as_ref(), &name, &batch) {
            Ok(answers) => {
                self.resumed();
                for (p, answer) in batch.iter().zip(answers) {
                    self.tracker.forget(&p.rel);
                    match answer {
                        Committed::Stored { .. } => self.count_stored(&p.rel),
                        Committed::AlreadyStored { .. } => self.stats.already_stored += 1,
                    }
                }
                Flow::Go
            }
            Err(e) => {
                for p in &batch {
                    self.retry_later(&p.rel, p.stamp);
                }
                self.intake_failed(e)
            }
        }
    }

    fn count_stored(&mut self, rel: &str) {
        self.stats.stored += 1;
        match classify(rel, &self.src.cfg.data_types) {
            FileClass::Used(n) => {
                *self
                    .stats
                    .stored_by_data_type
                    .entry(n.data_type)
                    .or_default() += 1;
            }
            FileClass::NotUsed(n) => {
                *self
                    .stats
                    .stored_by_data_type
                    .entry(n.data_type.clone())
                    .or_default() += 1;
                *self.stats.not_used.entry(n.data_type).or_default() += 1;
            }
            FileClass::OffLayout(reason) => {
                self.stats.bad_names += 1;
                let name = &self.src.cfg.name;
                let tag = path_tag(name, rel);
                debug!(source = %name, file = %tag, %reason, "off-layout file stored as not used");
                if !self.off_layout_warned {
                    self.off_layout_warned = true;
                    warn!(source = %name, file = %tag, %reason,
                        "file does not follow the SS-MIX2 layout; stored as not used (further ones are counted, logged at debug)");
                }
            }
        }
    }

    /// `Paused` or a store error: stop the scan, retry after `poll_interval_ms`.
    pub(super) fn intake_failed(&mut self, e: IntakeError) -> Flow {
        let name = &self.src.cfg.name;
        match e {
            IntakeError::Paused => {
                self.stats.paused_skips += 1;
                if !self.paused {
                    warn!(source = %name, retry_ms = self.retry.as_millis() as u64,
                        "intake paused (disk reserve reached); the storage is read again later");
                }
            }
            IntakeError::Store(reason) => {
                self.stats.store_errors += 1;
                warn!(source = %name, %reason, retry_ms = self.retry.as_millis() as u64, "store error; will retry");
            }
        }
        self.paused = true;
        self.pause_retry_at = Instant::now() + self.retry;
        Flow::Stop
    }

    fn resumed(&mut self) {
        if self.paused {
            self.paused = false;
            tracing::info!(source = %self.src.cfg.name, "intake resumed");
        }
    }
}
