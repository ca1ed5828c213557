//! One folder source on the shared file-source loop ([`crate::source::scan_loop`]): what a scan
//! finds, how a file settles, is taken and acknowledged.
//!
//! One thread does everything in order, so a file is never taken twice at once and shutdown only
//! has to be checked between files. Its turn, as the loop drives it ([`Scanner`]): a full scan
//! when due; a fresh `stat` of files whose stability window has passed or whose retry time has
//! come; taking every ready file, oldest first, unless the intake is paused (see `take`).
//!
//! Files are looked at through the source's [`RootGuard`](crate::source::root_guard::RootGuard):
//! scans, re-`stat`s and watcher hints never follow a link, and what they skip is recorded in
//! [`Skips`] (counted once per path, logged by path tag).
//!
//! Invariants: a file is acknowledged (moved, or marked done in read-only mode) only after
//! `commit` (or `reject_oversize`) returned `Ok`; while the intake is paused at most one file is
//! offered per `poll_interval_ms`; a failing file is retried after `poll_interval_ms`, never in a
//! tight loop.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::complaints::Complaints;
use super::names::{is_ignored_name, is_under, is_wanted_rel, rel_path};
use super::tracker::Stamp;
use super::tracker::Tracker;
use super::walk::{self, stamp_of, Found, WalkRules};
use super::watch::Hint;
use super::{FolderError, FolderSource, FolderStats};
use crate::shutdown::Shutdown;
use crate::source::root_guard::Look;
use crate::source::scan_loop::{Cadence, Scanner, Watching};
use crate::source::skips::{SkipReason, Skips};
use crate::source::{Intake, Refusal};

/// Files visited between shutdown checks during a full scan.
const SHUTDOWN_CHECK_EVERY: u32 = 256;

/// Whether the loop may go on taking files.
pub(super) enum Next {
    Continue,
    Paused,
}

pub struct Runner {
    pub(super) src: FolderSource,
    pub(super) intake: Arc<dyn Intake>,
    pub(super) shutdown: Shutdown,
    pub(super) tracker: Tracker,
    pub(super) complaints: Complaints,
    pub(super) skips: Skips,
    pub(super) stats: FolderStats,
    pub(super) stable: Duration,
    pub(super) retry: Duration,
    pub(super) paused: bool,
    pub(super) pause_retry_at: Instant,
    pub(super) rescan_requested: bool,
}

impl Runner {
    pub fn new(src: FolderSource, intake: Arc<dyn Intake>, shutdown: Shutdown) -> Self {
        let complaints = Complaints::new(&src.cfg.name);
        let skips = Skips::new(&src.cfg.name, src.skip_counts());
        Runner {
            skips,
            stable: Duration::from_millis(src.cfg.stable_ms),
            retry: Duration::from_millis(src.cfg.poll_interval_ms),
            src,
            intake,
            shutdown,
            tracker: Tracker::new(),
            complaints,
            stats: FolderStats::default(),
            paused: false,
            pause_retry_at: Instant::now(),
            rescan_requested: true,
        }
    }

    pub fn run(mut self) -> Result<FolderStats, FolderError> {
        let name = self.src.cfg.name.clone();
        let mut cadence = Cadence::start(&Watching {
            name: &name,
            root: &self.src.root,
            recursive: self.src.cfg.recursive,
            mode: self.src.cfg.watch,
            rescan_secs: self.src.cfg.rescan_secs,
            poll_interval_ms: self.src.cfg.poll_interval_ms,
        });
        info!(
            source = %name,
            mode = if self.src.targets.is_some() { "move" } else { "read-only" },
            events = cadence.events(),
            "folder source started"
        );
        let shutdown = self.shutdown.clone();
        cadence.run(&mut self, &shutdown);
        drop(cadence);
        let counts = self.src.skip_counts();
        self.stats.symlinks_skipped =
            counts.get(SkipReason::Symlink) + counts.get(SkipReason::Dangling);
        self.stats.names_not_utf8 = counts.get(SkipReason::NonUtf8Name);
        self.stats.hidden_skipped = counts.get(SkipReason::Hidden);
        info!(source = %name, stats = ?self.stats, "folder source stopped");
        Ok(self.stats)
    }

    /// Walks the whole tree; forgets files that are gone if the walk completed.
    fn full_scan(&mut self) {
        let generation = self.tracker.begin_scan();
        self.complaints.begin_period(generation);
        self.skips.begin_scan();
        let root = self.src.guard.root().to_path_buf();
        let flow = self.walk_into(&root, "");
        if let Some(root_ok) = flow {
            if root_ok {
                self.tracker.sweep(generation);
                self.skips.sweep();
                let tracker = &self.tracker;
                self.complaints
                    .sweep(generation, |rel| tracker.stamp(rel).is_some());
            }
        }
        debug!(source = %self.src.cfg.name, tracked = self.tracker.len(), "full scan done");
    }

    /// Walks `dir` (canonical, reached without links) into the tracker. `None` if interrupted by
    /// shutdown, else whether the start directory itself could be read.
    fn walk_into(&mut self, dir: &Path, rel: &str) -> Option<bool> {
        let rules = WalkRules {
            extensions: &self.src.cfg.extensions,
            recursive: self.src.cfg.recursive,
            excluded: &self.src.excluded,
        };
        let tracker = &mut self.tracker;
        let complaints = &mut self.complaints;
        let skips = &mut self.skips;
        let stats = &mut self.stats;
        let shutdown = &self.shutdown;
        let mut start_ok = true;
        let mut visited = 0u32;
        let mut to_refuse: Vec<(String, Stamp)> = Vec::new();
        let flow = walk::walk(dir, rel, rules, &mut |found| {
            match found {
                Found::File { rel, stamp } => tracker.observe(rel, stamp, false, Instant::now()),
                Found::Skipped {
                    rel: skipped,
                    reason,
                    stamp,
                } => {
                    if skips.record(&skipped, reason) {
                        if let Some(stamp) = stamp {
                            to_refuse.push((skipped, stamp));
                        }
                    }
                }
                Found::Problem { rel: bad, problem } => {
                    if bad == rel {
                        start_ok = false;
                    }
                    let key = if bad.is_empty() { "." } else { bad.as_str() };
                    if complaints.report(key, &problem.reason()) {
                        stats.read_errors += 1;
                    }
                }
            }
            visited += 1;
            if visited % SHUTDOWN_CHECK_EVERY == 0 && shutdown.is_triggered() {
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        for (skipped, stamp) in to_refuse {
            self.refuse_name(&skipped, stamp);
        }
        match flow {
            ControlFlow::Break(()) => None,
            ControlFlow::Continue(()) => Some(start_ok),
        }
    }

    /// Quarantines a regular file whose name is not UTF-8 (`rel` is lossy); it stays where it
    /// is. A failed attempt is forgotten, so the next scan tries again.
    fn refuse_name(&mut self, rel: &str, stamp: Stamp) {
        let name = self.src.cfg.name.clone();
        match self
            .intake
            .refuse(&name, rel, stamp.size, stamp.mtime_ns, Refusal::NameNotUtf8)
        {
            Ok(()) => self.resumed(),
            Err(e) => {
                self.skips.forget(rel);
                self.intake_failed(rel, e);
            }
        }
    }

    /// Looks again at files whose stability window passed or whose retry time came.
    fn restat_due(&mut self) {
        let now = Instant::now();
        for rel in self.tracker.due(now, self.stable) {
            self.look_again(&rel, now);
        }
    }

    /// Looks at a tracked file afresh, without following links: observes it, forgets it, or
    /// (a link now) records the skip and forgets it.
    pub(super) fn look_again(&mut self, rel: &str, now: Instant) {
        match self.src.guard.look(rel) {
            Ok(Look::File(md)) => self.tracker.observe(rel, stamp_of(&md), false, now),
            Ok(Look::Link { dangling }) => {
                self.skips.record(rel, SkipReason::of_link(dangling));
                self.forget(rel);
            }
            Ok(Look::Dir | Look::Other | Look::Gone) => self.forget(rel),
            Err(e) => {
                if self.complaints.report(rel, &format!("unreadable: {e}")) {
                    self.stats.read_errors += 1;
                }
                self.tracker.mark_retry(rel, now + self.retry);
            }
        }
    }

    pub(super) fn forget(&mut self, rel: &str) {
        self.tracker.forget(rel);
        self.complaints.clear(rel);
    }

    /// Applies one watcher hint; returns the directory it walked because it appeared.
    fn hint(&mut self, hint: Hint) -> Option<PathBuf> {
        match hint {
            Hint::Rescan => self.rescan_requested = true,
            Hint::Error(reason) => {
                self.complaints.report("<watcher>", &reason);
                self.rescan_requested = true;
            }
            Hint::Removed(path) => {
                if let Some(rel) = self.rel_of(&path) {
                    self.forget(&rel);
                }
            }
            Hint::WalkAgain(path) => {
                if let Some(rel) = self.rel_of(&path) {
                    if let Ok(Look::Dir) = self.src.guard.look(&rel) {
                        self.walk_new_dir(&rel);
                    }
                }
            }
            Hint::Changed {
                path,
                renamed_in,
                appeared,
            } => {
                let rel = self.rel_of(&path)?;
                let wanted = is_wanted_rel(&rel, &self.src.cfg.extensions, self.src.cfg.recursive);
                match self.src.guard.look(&rel) {
                    Ok(Look::File(md)) => {
                        if wanted {
                            self.tracker
                                .observe(&rel, stamp_of(&md), renamed_in, Instant::now());
                        }
                    }
                    Ok(Look::Dir) if appeared => {
                        if self.walk_new_dir(&rel) {
                            return Some(path);
                        }
                    }
                    Ok(Look::Link { dangling }) => {
                        // Never followed; directory links are counted by the next full scan.
                        self.forget(&rel);
                        if wanted {
                            self.skips.record(&rel, SkipReason::of_link(dangling));
                        }
                    }
                    Ok(Look::Gone) => self.forget(&rel),
                    Ok(Look::Dir | Look::Other) => {}
                    // Reported by the next full scan, with the bounded logging.
                    Err(_) => {}
                }
            }
        }
        None
    }

    /// Walks a directory created or moved in (its files may predate our watch); returns whether
    /// it was walked (a recursive source, a visible directory).
    fn walk_new_dir(&mut self, rel: &str) -> bool {
        let hidden = rel.split('/').any(is_ignored_name);
        if !self.src.cfg.recursive || hidden {
            return false;
        }
        let abs = self.src.guard.path(rel);
        let _ = self.walk_into(&abs, rel);
        true
    }

    /// The relative key of an event path, unless it lies in the processed/rejected folders.
    fn rel_of(&self, path: &Path) -> Option<String> {
        let rel = rel_path(&self.src.root, path)
            .or_else(|_| rel_path(self.src.guard.root(), path))
            .ok()?;
        (!self.src.excluded_rel.iter().any(|ex| is_under(&rel, ex))).then_some(rel)
    }
}

impl Scanner for Runner {
    fn full_scan(&mut self) {
        Runner::full_scan(self);
    }

    fn take_due(&mut self) {
        self.restat_due();
        self.take_ready();
    }

    fn next_due(&self) -> Option<Instant> {
        let due = self.tracker.next_due(self.stable);
        let pause = self.paused.then_some(self.pause_retry_at);
        due.into_iter().chain(pause).min()
    }

    fn hint(&mut self, hint: Hint) -> Option<PathBuf> {
        Runner::hint(self, hint)
    }

    fn rescan_requested(&mut self) -> &mut bool {
        &mut self.rescan_requested
    }
}
