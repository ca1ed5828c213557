//! Scan progress: a line on stderr that updates in place when stderr is a terminal, otherwise a
//! `tracing::info!` line every [`LOG_EVERY`]. Counts only; never a path.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use super::Ssmix2Stats;

/// How often the terminal line is redrawn.
const DRAW_EVERY: Duration = Duration::from_millis(250);
/// How often a log line is written when stderr is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Progress of one full scan.
pub struct Progress {
    source: String,
    tty: bool,
    started: Instant,
    last: Instant,
    base: Ssmix2Stats,
    drawn: bool,
}

impl Progress {
    /// Starts reporting a scan; counts are relative to `base` (the stats at its start).
    pub fn start(source: &str, base: &Ssmix2Stats) -> Self {
        let now = Instant::now();
        Progress {
            source: source.to_string(),
            tty: std::io::stderr().is_terminal(),
            started: now,
            last: now,
            base: base.clone(),
            drawn: false,
        }
    }

    fn line(&self, s: &Ssmix2Stats) -> (u64, u64, u64, u64, f64) {
        let seen = s.seen - self.base.seen;
        let stored = s.stored - self.base.stored;
        let known =
            s.already_known - self.base.already_known + s.already_stored - self.base.already_stored;
        let skipped = s.rejected_oversize - self.base.rejected_oversize + s.read_errors
            - self.base.read_errors;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        (seen, stored, known, skipped, seen as f64 / secs)
    }

    /// Called often; draws or logs when due.
    pub fn tick(&mut self, s: &Ssmix2Stats) {
        let every = if self.tty { DRAW_EVERY } else { LOG_EVERY };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let (seen, stored, known, skipped, rate) = self.line(s);
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[K[{}] SS-MIX2 scan: {seen} files seen, {stored} stored, {known} already known, {skipped} skipped, {rate:.0} files/s",
                self.source
            );
            let _ = err.flush();
            self.drawn = true;
        } else {
            tracing::info!(source = %self.source, seen, stored, known, skipped, files_per_s = rate as u64, "SS-MIX2 scan in progress");
        }
    }

    /// Ends the scan: clears the terminal line and logs a summary if anything happened or the scan
    /// took long enough to have shown progress.
    pub fn finish(self, s: &Ssmix2Stats, complete: bool) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
        let (seen, stored, known, skipped, rate) = self.line(s);
        let bad = s.bad_names - self.base.bad_names;
        if stored > 0 || skipped > 0 || self.started.elapsed() >= LOG_EVERY || !complete {
            tracing::info!(
                source = %self.source,
                seen,
                stored,
                known,
                skipped,
                off_layout_stored = bad,
                files_per_s = rate as u64,
                complete,
                "SS-MIX2 scan finished"
            );
        }
    }
}
