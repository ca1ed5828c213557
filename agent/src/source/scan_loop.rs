//! The loop both file sources (folder, SS-MIX2) run on their thread: scan when due, take what
//! is due, wait for a hint or the next deadline.
//!
//! Each turn:
//! 1. a full scan when it is due: at start (for SS-MIX2, the backfill), every `rescan_secs` with
//!    file events or `poll_interval_ms` without, and when a rescan was asked for (events lost, a
//!    watcher error, an intake failure that stopped a scan) and the last scan is at least
//!    [`RESCAN_MIN_GAP`] old. A source may hold scans back ([`Scanner::may_scan`]) while its
//!    intake is paused;
//! 2. [`Scanner::take_due`]: the source looks again at files whose stability window passed or
//!    whose retry came, and takes those ready;
//! 3. a second walk of each directory that appeared [`WALK_AGAIN_AFTER`] ago (see below);
//! 4. a wait for a watcher hint, the next deadline or at most [`TICK`], so shutdown is seen
//!    within a tick.
//!
//! Why a new directory is walked twice: notify delivers a directory's creation event *before* it
//! puts its own watch on the new directory. A file created (or renamed) into the directory in
//! between raises no event, and the source's first walk, run on the event, may come before the
//! file does. A sender creating `PPR-01/` and renaming a file into it at once hits exactly that
//! window. The second walk, once the watch is surely in place, finds such a file; later files
//! raise events of their own.
//!
//! What a scan finds, how a file is taken and acknowledged, is the source's; the cadence is
//! here, once.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::shutdown::Shutdown;
use crate::source::folder::watch::{self, Hint};
use crate::source::folder::WatchMode;

/// The longest the loop sleeps without looking at the shutdown signal.
const TICK: Duration = Duration::from_millis(100);
/// Hints buffered between the watcher thread and the loop before a rescan is forced instead.
const HINT_QUEUE: usize = 8192;
/// The least time between two full scans asked for by lost events or watcher errors.
pub const RESCAN_MIN_GAP: Duration = Duration::from_secs(1);
/// How long after its first walk a directory that appeared is walked again.
pub const WALK_AGAIN_AFTER: Duration = Duration::from_secs(2);

/// A file source as the loop drives it.
pub trait Scanner {
    /// Walks the whole tree.
    fn full_scan(&mut self);
    /// Looks again at files that are due and takes those ready.
    fn take_due(&mut self);
    /// The earliest moment something tracked becomes due (stability, retry, end of a pause).
    fn next_due(&self) -> Option<Instant>;
    /// Applies one watcher hint. Returns the directory it walked because it appeared, which the
    /// loop hands back as [`Hint::WalkAgain`] after [`WALK_AGAIN_AFTER`].
    fn hint(&mut self, hint: Hint) -> Option<PathBuf>;
    /// The source's "rescan as soon as allowed" flag; the loop clears it when it scans.
    fn rescan_requested(&mut self) -> &mut bool;
    /// Whether a full scan may start now (a source holds them back while its intake is paused).
    fn may_scan(&self, _now: Instant) -> bool {
        true
    }
}

/// How one source is watched: what the config says.
pub struct Watching<'a> {
    pub name: &'a str,
    pub root: &'a Path,
    pub recursive: bool,
    pub mode: WatchMode,
    pub rescan_secs: u64,
    pub poll_interval_ms: u64,
}

/// The watcher (if file events could be set up) and its hint channel.
pub struct Cadence {
    watcher: Option<watch::Watch>,
    rx: Receiver<Hint>,
    // Kept so the channel stays open when events are off (then nothing sends).
    _tx: SyncSender<Hint>,
    overflow: Arc<AtomicBool>,
    scan_every: Duration,
    /// Directories that appeared, with the moment of their second walk (in that order).
    again: VecDeque<(Instant, PathBuf)>,
}

impl Cadence {
    /// Starts the watcher when the config asks for events; falls back to polling (with a
    /// warning) when the OS watch cannot be set up.
    pub fn start(w: &Watching<'_>) -> Cadence {
        let (tx, rx) = mpsc::sync_channel(HINT_QUEUE);
        let overflow = Arc::new(AtomicBool::new(false));
        let watcher = match w.mode {
            WatchMode::Poll => None,
            WatchMode::Events => {
                match watch::start(w.root, w.recursive, tx.clone(), Arc::clone(&overflow)) {
                    Ok(handle) => Some(handle),
                    Err(reason) => {
                        warn!(source = %w.name, reason, "file events unavailable; polling instead");
                        None
                    }
                }
            }
        };
        let scan_every = if watcher.is_some() {
            Duration::from_secs(w.rescan_secs)
        } else {
            Duration::from_millis(w.poll_interval_ms)
        };
        Cadence {
            watcher,
            rx,
            _tx: tx,
            overflow,
            scan_every,
            again: VecDeque::new(),
        }
    }

    /// Whether file events are on (else the source polls).
    pub fn events(&self) -> bool {
        self.watcher.is_some()
    }

    /// Runs the loop until shutdown.
    pub fn run(&mut self, scanner: &mut impl Scanner, shutdown: &Shutdown) {
        let mut next_scan = Instant::now();
        let mut last_scan: Option<Instant> = None;
        while !shutdown.is_triggered() {
            let now = Instant::now();
            if scanner.may_scan(now) && self.scan_due(scanner, now, next_scan, last_scan) {
                *scanner.rescan_requested() = false;
                self.overflow.store(false, Ordering::Relaxed);
                scanner.full_scan();
                last_scan = Some(now);
                next_scan = Instant::now() + self.scan_every;
            }
            scanner.take_due();
            self.walk_again(scanner, Instant::now());
            let deadline = [scanner.next_due(), self.again.front().map(|(at, _)| *at)]
                .into_iter()
                .flatten()
                .fold(next_scan, Instant::min);
            self.wait(scanner, deadline);
        }
    }

    fn scan_due(
        &self,
        scanner: &mut impl Scanner,
        now: Instant,
        next_scan: Instant,
        last_scan: Option<Instant>,
    ) -> bool {
        let requested = *scanner.rescan_requested() || self.overflow.load(Ordering::Relaxed);
        let gap_passed = last_scan.is_none_or(|t| now >= t + RESCAN_MIN_GAP);
        now >= next_scan || (requested && gap_passed)
    }

    /// Hands back the directories whose second walk is due.
    fn walk_again(&mut self, scanner: &mut impl Scanner, now: Instant) {
        while self.again.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, dir)) = self.again.pop_front() {
                // The second walk's answer is not queued again: once is what closes the window.
                let _ = scanner.hint(Hint::WalkAgain(dir));
            }
        }
    }

    /// Waits for hints until `deadline` (at most a tick) and applies every one that came.
    fn wait(&mut self, scanner: &mut impl Scanner, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now()).min(TICK);
        match self.rx.recv_timeout(wait) {
            Ok(hint) => {
                self.apply(scanner, hint);
                let queued: Vec<Hint> = self.rx.try_iter().take(HINT_QUEUE).collect();
                for hint in queued {
                    self.apply(scanner, hint);
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
    }

    /// Applies one hint; a directory it walked is remembered for its second walk. Past
    /// [`HINT_QUEUE`] remembered directories a full rescan is asked for instead.
    fn apply(&mut self, scanner: &mut impl Scanner, hint: Hint) {
        let Some(dir) = scanner.hint(hint) else {
            return;
        };
        if self.again.len() >= HINT_QUEUE {
            self.overflow.store(true, Ordering::Relaxed);
            return;
        }
        self.again
            .push_back((Instant::now() + WALK_AGAIN_AFTER, dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scanner that records what the loop asked of it.
    #[derive(Default)]
    struct Log {
        scans: u32,
        takes: u32,
        hints: u32,
        rescan: bool,
        held: bool,
        again: Vec<PathBuf>,
        stop_after_takes: Option<(u32, Shutdown)>,
    }

    impl Scanner for Log {
        fn full_scan(&mut self) {
            self.scans += 1;
        }
        fn take_due(&mut self) {
            self.takes += 1;
            if let Some((n, s)) = &self.stop_after_takes {
                if self.takes >= *n {
                    s.trigger();
                }
            }
        }
        fn next_due(&self) -> Option<Instant> {
            Some(Instant::now())
        }
        fn hint(&mut self, hint: Hint) -> Option<PathBuf> {
            self.hints += 1;
            match hint {
                Hint::Changed { path, .. } if path.is_dir() => Some(path),
                Hint::WalkAgain(path) => {
                    self.again.push(path);
                    None
                }
                _ => None,
            }
        }
        fn rescan_requested(&mut self) -> &mut bool {
            &mut self.rescan
        }
        fn may_scan(&self, _: Instant) -> bool {
            !self.held
        }
    }

    fn polling(dir: &Path) -> Cadence {
        Cadence::start(&Watching {
            name: "t",
            root: dir,
            recursive: false,
            mode: WatchMode::Poll,
            rescan_secs: 3600,
            poll_interval_ms: 3_600_000,
        })
    }

    #[test]
    fn the_first_turn_scans_and_later_turns_only_take_until_a_rescan_is_due() {
        let dir = tempfile::tempdir().unwrap();
        let mut cadence = polling(dir.path());
        assert!(!cadence.events());
        let shutdown = Shutdown::new();
        let mut log = Log {
            stop_after_takes: Some((5, shutdown.clone())),
            ..Log::default()
        };
        cadence.run(&mut log, &shutdown);
        assert_eq!((log.scans, log.takes), (1, 5));
    }

    #[test]
    fn a_requested_rescan_waits_for_the_gap_and_a_held_source_is_not_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let mut cadence = polling(dir.path());
        let shutdown = Shutdown::new();
        let mut log = Log {
            stop_after_takes: Some((3, shutdown.clone())),
            ..Log::default()
        };
        // Scanned once at start; a request right after waits for RESCAN_MIN_GAP (1 s), which
        // three quick turns do not reach.
        log.rescan = true;
        cadence.run(&mut log, &shutdown);
        assert_eq!(log.scans, 1);
        assert!(!log.rescan, "the scan cleared the request made before it");

        let shutdown = Shutdown::new();
        let mut held = Log {
            held: true,
            stop_after_takes: Some((3, shutdown.clone())),
            ..Log::default()
        };
        cadence.run(&mut held, &shutdown);
        assert_eq!((held.scans, held.takes), (0, 3));
    }

    #[test]
    fn hints_from_the_watcher_reach_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let mut cadence = Cadence::start(&Watching {
            name: "t",
            root: dir.path(),
            recursive: false,
            mode: WatchMode::Events,
            rescan_secs: 3600,
            poll_interval_ms: 3_600_000,
        });
        if !cadence.events() {
            eprintln!("skipped: file events unavailable here");
            return;
        }
        std::fs::write(dir.path().join("a.json"), b"{}").unwrap();
        let shutdown = Shutdown::new();
        let mut log = Log {
            stop_after_takes: Some((50, shutdown.clone())),
            ..Log::default()
        };
        // next_due is "now", so each turn waits only for hints already queued; give the
        // watcher thread time to deliver by waiting for it first.
        let deadline = Instant::now() + Duration::from_secs(10);
        while log.hints == 0 && Instant::now() < deadline {
            cadence.wait(&mut log, Instant::now() + Duration::from_millis(100));
        }
        assert!(log.hints > 0, "a created file gives at least one hint");
    }

    #[test]
    fn a_directory_the_source_walked_on_its_event_is_handed_back_for_a_second_walk() {
        let dir = tempfile::tempdir().unwrap();
        let new_dir = dir.path().join("PPR-01");
        std::fs::create_dir(&new_dir).unwrap();
        let mut cadence = polling(dir.path());
        let mut log = Log::default();
        cadence.apply(
            &mut log,
            Hint::Changed {
                path: new_dir.clone(),
                renamed_in: false,
                appeared: true,
            },
        );
        let start = Instant::now();
        cadence.walk_again(&mut log, start);
        assert!(log.again.is_empty(), "not before WALK_AGAIN_AFTER");
        cadence.walk_again(
            &mut log,
            start + WALK_AGAIN_AFTER + Duration::from_millis(1),
        );
        assert_eq!(log.again, vec![new_dir]);
        cadence.walk_again(&mut log, start + 10 * WALK_AGAIN_AFTER);
        assert_eq!(log.again.len(), 1, "walked again once, not every turn");
    }
}
