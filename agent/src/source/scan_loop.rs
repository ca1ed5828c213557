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
//! 3. a wait for a watcher hint, the next deadline or at most [`TICK`], so shutdown is seen
//!    within a tick.
//!
//! What a scan finds, how a file is taken and acknowledged, is the source's; the cadence is
//! here, once.

use std::path::Path;
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

/// A file source as the loop drives it.
pub trait Scanner {
    /// Walks the whole tree.
    fn full_scan(&mut self);
    /// Looks again at files that are due and takes those ready.
    fn take_due(&mut self);
    /// The earliest moment something tracked becomes due (stability, retry, end of a pause).
    fn next_due(&self) -> Option<Instant>;
    /// Applies one watcher hint.
    fn hint(&mut self, hint: Hint);
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
        }
    }

    /// Whether file events are on (else the source polls).
    pub fn events(&self) -> bool {
        self.watcher.is_some()
    }

    /// Runs the loop until shutdown.
    pub fn run(&self, scanner: &mut impl Scanner, shutdown: &Shutdown) {
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
            let deadline = scanner.next_due().map_or(next_scan, |d| d.min(next_scan));
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

    /// Waits for hints until `deadline` (at most a tick) and applies every one that came.
    fn wait(&self, scanner: &mut impl Scanner, deadline: Instant) {
        let wait = deadline.saturating_duration_since(Instant::now()).min(TICK);
        match self.rx.recv_timeout(wait) {
            Ok(hint) => {
                scanner.hint(hint);
                for hint in self.rx.try_iter().take(HINT_QUEUE) {
                    scanner.hint(hint);
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
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
        fn hint(&mut self, _: Hint) {
            self.hints += 1;
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
        let cadence = polling(dir.path());
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
        let cadence = polling(dir.path());
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
        let cadence = Cadence::start(&Watching {
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
}
