//! Taking one ready file: (read-only) ask the store whether it is known, read it, commit it, and
//! acknowledge it (move it out, or mark it done).
//!
//! Invariants: acknowledgement happens only after `commit` / `reject_oversize` returned `Ok`; every
//! other outcome leaves the file where it is, scheduled for a retry or settling again; `Paused`
//! ends the current turn so that a full disk is asked at most once per `poll_interval_ms`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tracing::{debug, info, warn};

use super::handoff::{self, Read};
use super::names::path_tag;
use super::run::{Next, Runner};
use super::tracker::Stamp;
use crate::source::{Committed, IncomingFile, IntakeError};

impl Runner {
    /// Offers every ready file, oldest first, unless paused or shutting down.
    pub(super) fn take_ready(&mut self) {
        if self.paused && Instant::now() < self.pause_retry_at {
            return;
        }
        for rel in self.tracker.ready(self.stable) {
            if self.shutdown.is_triggered() {
                return;
            }
            if let Next::Paused = self.take(&rel) {
                return;
            }
        }
    }

    /// Takes one ready file: (read-only) ask whether it is known, read, commit, acknowledge.
    fn take(&mut self, rel: &str) -> Next {
        let Some(stamp) = self.tracker.stamp(rel) else {
            return Next::Continue;
        };
        let abs = self.src.root.join(rel);
        if self.src.targets.is_none() {
            match self
                .intake
                .is_known(&self.src.cfg.name, rel, stamp.size, stamp.mtime_ns)
            {
                Ok(true) => {
                    debug!(source = %self.src.cfg.name, rel_path = %rel, "already known; not read");
                    self.stats.known_skipped += 1;
                    self.tracker.mark_done(rel);
                    self.complaints.clear(rel);
                    return Next::Continue;
                }
                Ok(false) => {}
                Err(e) => return self.intake_failed(rel, e),
            }
        }
        if stamp.size > self.src.cfg.max_file_bytes {
            return self.reject_oversize(rel, &abs, stamp);
        }
        let bytes = match handoff::read_stable(&abs, stamp) {
            Ok(Read::Content(b)) => b,
            Ok(Read::Changed(now)) => {
                debug!(source = %self.src.cfg.name, rel_path = %rel, "changed while reading; settling again");
                self.tracker.observe(rel, now, false, Instant::now());
                return Next::Continue;
            }
            Ok(Read::Gone) => {
                debug!(source = %self.src.cfg.name, rel_path = %rel, "vanished before reading");
                self.forget(rel);
                return Next::Continue;
            }
            Err(e) => {
                self.stats.read_errors += 1;
                self.complaints.report(rel, &format!("unreadable: {e}"));
                self.tracker.mark_retry(rel, Instant::now() + self.retry);
                return Next::Continue;
            }
        };
        self.stats.offered += 1;
        let committed = self.intake.commit(&IncomingFile {
            source: &self.src.cfg.name,
            rel_path: rel,
            abs_path: &abs,
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            bytes: &bytes,
        });
        drop(bytes);
        match committed {
            Ok(Committed::Stored { inbox_id }) => {
                self.stats.stored += 1;
                debug!(source = %self.src.cfg.name, rel_path = %rel, inbox_id, "stored");
            }
            Ok(Committed::AlreadyStored { inbox_id }) => {
                self.stats.already_stored += 1;
                debug!(source = %self.src.cfg.name, rel_path = %rel, inbox_id, "already stored");
            }
            Err(e) => return self.intake_failed(rel, e),
        }
        self.resumed();
        let target = self.src.targets.as_ref().map(|t| t.0.clone());
        self.acknowledge(rel, &abs, target)
    }

    /// Quarantines a file over `max_file_bytes` without reading it.
    fn reject_oversize(&mut self, rel: &str, abs: &Path, stamp: Stamp) -> Next {
        let name = self.src.cfg.name.clone();
        if let Err(e) = self
            .intake
            .reject_oversize(&name, rel, stamp.size, stamp.mtime_ns)
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
        self.acknowledge(rel, abs, target)
    }

    /// After a durable commit: move the file to `target` (move mode) or mark it done (read-only).
    fn acknowledge(&mut self, rel: &str, abs: &Path, target: Option<PathBuf>) -> Next {
        let Some(target) = target else {
            self.tracker.mark_done(rel);
            self.complaints.clear(rel);
            return Next::Continue;
        };
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
    fn intake_failed(&mut self, rel: &str, e: IntakeError) -> Next {
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

    fn resumed(&mut self) {
        if self.paused {
            self.paused = false;
            info!(source = %self.src.cfg.name, "intake resumed");
        }
    }
}
