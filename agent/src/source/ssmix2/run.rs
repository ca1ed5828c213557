//! One SS-MIX2 source on the shared file-source loop ([`crate::source::scan_loop`]): backfill
//! (the first full scan), then watch and rescan.
//!
//! One thread does everything in order. Its turn, as the loop drives it ([`Scanner`]): a full
//! scan when due (also after an intake failure stopped one; none while the intake's pause
//! holds); a fresh `stat` of tracked files whose stability window passed or whose retry came,
//! taking those now stable; committing the batch in hand.
//!
//! During a scan, shutdown is checked every [`SHUTDOWN_CHECK_EVERY`] files; the batch in hand is
//! committed before returning (it was read; committing it is the cheapest way to not read it
//! again). Invariant: the storage is only ever read (`read_dir`, `lstat`, `open` read-only), and
//! never through a link ([`crate::source::root_guard`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::layout::parse_rel;
use super::progress::Progress;
use super::take::Flow;
use super::walk::{join_rel, DirFiles, Item, SortedWalk};
use super::{Ssmix2Error, Ssmix2Source, Ssmix2Stats};
use crate::shutdown::Shutdown;
use crate::source::folder::handoff::Prepared;
use crate::source::folder::names::{path_tag, rel_path};
use crate::source::folder::tracker::{Stamp, Tracker};
use crate::source::folder::walk::stamp_of;
use crate::source::folder::watch::Hint;
use crate::source::root_guard::Look;
use crate::source::scan_loop::{Cadence, Scanner, Watching};
use crate::source::skips::{SkipReason, Skips};
use crate::source::{Intake, Refusal};

/// Files visited between shutdown checks during a scan.
const SHUTDOWN_CHECK_EVERY: u64 = 64;
/// Walk problems logged at warn level per scan; the rest go to debug.
const PROBLEM_WARNS_PER_SCAN: u32 = 20;

pub struct Runner {
    pub(super) src: Ssmix2Source,
    pub(super) intake: Arc<dyn Intake>,
    pub(super) shutdown: Shutdown,
    pub(super) tracker: Tracker,
    pub(super) stats: Ssmix2Stats,
    pub(super) stable: Duration,
    pub(super) retry: Duration,
    pub(super) batch: Vec<Prepared>,
    pub(super) batch_bytes: usize,
    pub(super) paused: bool,
    pub(super) pause_retry_at: Instant,
    pub(super) off_layout_warned: bool,
    pub(super) skips: Skips,
    rescan_requested: bool,
    problem_warns: u32,
}

impl Runner {
    pub fn new(src: Ssmix2Source, intake: Arc<dyn Intake>, shutdown: Shutdown) -> Self {
        let skips = Skips::new(&src.cfg.name, src.skip_counts());
        Runner {
            skips,
            stable: Duration::from_millis(src.cfg.stable_ms),
            retry: Duration::from_millis(src.cfg.poll_interval_ms),
            src,
            intake,
            shutdown,
            tracker: Tracker::new(),
            stats: Ssmix2Stats::default(),
            batch: Vec::new(),
            batch_bytes: 0,
            paused: false,
            pause_retry_at: Instant::now(),
            off_layout_warned: false,
            rescan_requested: false,
            problem_warns: 0,
        }
    }

    pub fn run(mut self) -> Result<Ssmix2Stats, Ssmix2Error> {
        let name = self.src.cfg.name.clone();
        // Started before the backfill so files written during it are not missed.
        let mut cadence = Cadence::start(&Watching {
            name: &name,
            root: &self.src.root,
            recursive: true,
            mode: self.src.cfg.watch,
            rescan_secs: self.src.cfg.rescan_secs,
            poll_interval_ms: self.src.cfg.poll_interval_ms,
        });
        info!(source = %name, events = cadence.events(), data_types = ?self.src.cfg.data_types, "SS-MIX2 source started (read-only)");
        let shutdown = self.shutdown.clone();
        cadence.run(&mut self, &shutdown);
        self.flush();
        drop(cadence);
        let counts = self.src.skip_counts();
        self.stats.symlinks_skipped =
            counts.get(SkipReason::Symlink) + counts.get(SkipReason::Dangling);
        self.stats.names_not_utf8 = counts.get(SkipReason::NonUtf8Name);
        self.stats.hidden_skipped = counts.get(SkipReason::Hidden);
        info!(source = %name, stats = ?self.stats, "SS-MIX2 source stopped");
        Ok(self.stats)
    }

    /// Walks the whole storage; a scan stopped by shutdown or an intake failure is incomplete.
    fn full_scan(&mut self) {
        self.problem_warns = 0;
        // Files read before an intake failure are committed first, so the scan does not read
        // them again.
        if self.flush() == Flow::Stop {
            self.rescan_requested = true;
            return;
        }
        let mut progress = Progress::start(&self.src.cfg.name, &self.stats);
        let root = self.src.guard.root().to_path_buf();
        let mut superseded = 0;
        self.skips.begin_scan();
        let complete = self.walk_into(&root, "", &mut superseded, Some(&mut progress));
        if complete {
            self.skips.sweep();
            self.stats.scans_completed += 1;
            self.stats.superseded = superseded;
        } else if !self.shutdown.is_triggered() {
            self.rescan_requested = true;
        }
        progress.finish(&self.stats, complete);
        debug!(source = %self.src.cfg.name, tracked = self.tracker.len(), complete, "full scan done");
    }

    /// Walks `start` in sorted order, taking stable files. Returns whether it reached the end
    /// with the intake answering (a final batch commit included).
    fn walk_into(
        &mut self,
        start: &Path,
        start_rel: &str,
        superseded: &mut u64,
        mut progress: Option<&mut Progress>,
    ) -> bool {
        for item in SortedWalk::new(start.to_path_buf(), start_rel) {
            match item {
                Item::Problem { rel, reason } => self.walk_problem(&rel, &reason),
                Item::Skipped { rel, reason, stamp } => {
                    if self.skipped(&rel, reason, stamp) == Flow::Stop {
                        return false;
                    }
                }
                Item::Files(dir) => {
                    *superseded += count_superseded(&dir);
                    for (file, md) in &dir.files {
                        let rel = join_rel(&dir.rel, file);
                        if self.sighted(&rel, stamp_of(md), false) == Flow::Stop {
                            return false;
                        }
                        if self.stats.seen % SHUTDOWN_CHECK_EVERY == 0 {
                            if self.shutdown.is_triggered() {
                                self.flush();
                                return false;
                            }
                            if let Some(p) = progress.as_deref_mut() {
                                p.tick(&self.stats);
                            }
                        }
                    }
                }
            }
        }
        self.flush() == Flow::Go
    }

    /// Records a skipped candidate; quarantines a regular file whose name is not UTF-8 (`rel` is
    /// lossy) the first time it is seen. A failed quarantine stops the scan, like a failed commit.
    fn skipped(&mut self, rel: &str, reason: SkipReason, stamp: Option<Stamp>) -> Flow {
        if !self.skips.record(rel, reason) {
            return Flow::Go;
        }
        let Some(stamp) = stamp else {
            return Flow::Go;
        };
        let name = self.src.cfg.name.clone();
        match self
            .intake
            .refuse(&name, rel, stamp.size, stamp.mtime_ns, Refusal::NameNotUtf8)
        {
            Ok(()) => Flow::Go,
            Err(e) => {
                self.skips.forget(rel);
                self.intake_failed(e)
            }
        }
    }

    fn walk_problem(&mut self, rel: &str, reason: &str) {
        self.stats.read_errors += 1;
        let name = &self.src.cfg.name;
        let tag = path_tag(name, if rel.is_empty() { "." } else { rel });
        debug!(source = %name, file = %tag, reason, "storage path cannot be walked");
        if self.problem_warns < PROBLEM_WARNS_PER_SCAN {
            self.problem_warns += 1;
            warn!(source = %name, file = %tag, reason, "storage path cannot be walked; skipped this scan");
        }
    }

    /// Looks again at tracked files that are due, and takes those now stable.
    fn take_tracked(&mut self) {
        let now = Instant::now();
        for rel in self.tracker.due(now, self.stable) {
            self.look_again(&rel, now);
        }
        for rel in self.tracker.ready(self.stable) {
            if self.shutdown.is_triggered() {
                return;
            }
            let Some(stamp) = self.tracker.stamp(&rel) else {
                continue;
            };
            if self.take(&rel, stamp) == Flow::Stop {
                self.rescan_requested = true;
                return;
            }
        }
    }

    /// Applies one watcher hint; returns the directory it walked because it appeared.
    pub(super) fn hint(&mut self, hint: Hint) -> Option<PathBuf> {
        match hint {
            Hint::Rescan => self.rescan_requested = true,
            Hint::WalkAgain(path) => {
                if let Some(rel) = self.rel_of(&path) {
                    if let Ok(Look::Dir) = self.src.guard.look(&rel) {
                        self.walk_new_dir(&rel);
                    }
                }
            }
            Hint::Error(reason) => {
                warn!(source = %self.src.cfg.name, reason, "file watcher error; rescanning");
                self.rescan_requested = true;
            }
            Hint::Removed(path) => {
                if let Some(rel) = self.rel_of(&path) {
                    self.tracker.forget(&rel);
                }
            }
            Hint::Changed {
                path,
                renamed_in,
                appeared,
            } => {
                let rel = self.rel_of(&path)?;
                match self.src.guard.look(&rel) {
                    Ok(Look::File(md)) => {
                        let hidden = rel
                            .split('/')
                            .any(crate::source::folder::names::is_ignored_name);
                        if !hidden && self.sighted(&rel, stamp_of(&md), renamed_in) == Flow::Stop {
                            self.rescan_requested = true;
                        }
                    }
                    Ok(Look::Dir) if appeared => {
                        self.walk_new_dir(&rel);
                        return Some(path);
                    }
                    Ok(Look::Link { dangling }) => {
                        self.tracker.forget(&rel);
                        self.skips.record(&rel, SkipReason::of_link(dangling));
                    }
                    Ok(Look::Gone) => self.tracker.forget(&rel),
                    Ok(Look::Dir | Look::Other) | Err(_) => {}
                }
            }
        }
        None
    }

    /// Walks a new patient / date / data type folder: its files may predate the watch.
    fn walk_new_dir(&mut self, rel: &str) {
        let mut ignored = 0;
        let abs = self.src.guard.path(rel);
        if !self.walk_into(&abs, rel, &mut ignored, None) && !self.shutdown.is_triggered() {
            self.rescan_requested = true;
        }
    }

    /// Looks at a tracked file afresh, without following links.
    pub(super) fn look_again(&mut self, rel: &str, now: Instant) {
        match self.src.guard.look(rel) {
            Ok(Look::File(md)) => self.tracker.observe(rel, stamp_of(&md), false, now),
            Ok(Look::Link { dangling }) => {
                self.tracker.forget(rel);
                self.skips.record(rel, SkipReason::of_link(dangling));
            }
            Ok(Look::Dir | Look::Other | Look::Gone) => self.tracker.forget(rel),
            Err(_) => self.tracker.mark_retry(rel, now + self.retry),
        }
    }

    /// The relative key of an event path.
    fn rel_of(&self, path: &Path) -> Option<String> {
        rel_path(&self.src.root, path)
            .or_else(|_| rel_path(self.src.guard.root(), path))
            .ok()
    }
}

/// On-layout files in one folder that have a newer version (same patient, data type and order
/// number) in the same folder: the folder's on-layout files minus its distinct orders.
fn count_superseded(dir: &DirFiles) -> u64 {
    let mut orders: HashSet<(String, String, String)> = HashSet::new();
    let mut on_layout = 0u64;
    for (file, _) in &dir.files {
        if let Ok(n) = parse_rel(&join_rel(&dir.rel, file)) {
            on_layout += 1;
            orders.insert((n.patient_id, n.data_type, n.order_no));
        }
    }
    let superseded = on_layout - orders.len() as u64;
    if superseded > 0 {
        debug!(dir = %dir.rel, superseded, "older versions of orders in this folder");
    }
    superseded
}

impl Scanner for Runner {
    fn full_scan(&mut self) {
        Runner::full_scan(self);
    }

    /// Takes what is due and commits the batch in hand, unless the intake's pause holds.
    fn take_due(&mut self) {
        if self.held(Instant::now()) {
            return;
        }
        self.take_tracked();
        if self.flush() == Flow::Stop {
            self.rescan_requested = true;
        }
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

    /// No scan while the intake's pause holds: it would read files it cannot commit.
    fn may_scan(&self, now: Instant) -> bool {
        !self.held(now)
    }
}

impl Runner {
    fn held(&self, now: Instant) -> bool {
        self.paused && now < self.pause_retry_at
    }
}
