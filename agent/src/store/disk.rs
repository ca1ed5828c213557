//! The free-space reserve: below it, intake pauses instead of failing.
//!
//! [`DiskReserve::check`] asks the file system how many bytes are available to us under the data
//! directory. Sources ask [`DiskReserve::paused`] before committing; while paused, files stay in
//! their folders and MLLP senders get a negative ACK (AE) and retry. Delivery goes on, so the queue
//! drains; intake resumes by itself when space returns. The result is cached for `interval`, so
//! the hot path costs one atomic load.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// Shared view of the reserve. Clone freely.
#[derive(Clone)]
pub struct DiskReserve {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    reserve_bytes: u64,
    interval_ms: i64,
    paused: AtomicBool,
    checked_at: AtomicI64,
}

impl DiskReserve {
    /// A reserve of `reserve_bytes` for the file system holding `dir`, re-checked at most every
    /// `interval_ms`.
    pub fn new(dir: PathBuf, reserve_bytes: u64, interval_ms: i64) -> Self {
        let r = DiskReserve {
            inner: Arc::new(Inner {
                dir,
                reserve_bytes,
                interval_ms,
                paused: AtomicBool::new(false),
                checked_at: AtomicI64::new(i64::MIN),
            }),
        };
        r.check();
        r
    }

    /// Bytes available to this process under the data directory (None if it cannot be read).
    pub fn available(&self) -> Option<u64> {
        fs4::available_space(&self.inner.dir).ok()
    }

    /// Re-reads free space now and returns whether intake is paused. Logs transitions.
    pub fn check(&self) -> bool {
        let now = crate::clock::now_ms();
        self.inner.checked_at.store(now, Ordering::Relaxed);
        let paused = match self.available() {
            Some(free) => free < self.inner.reserve_bytes,
            None => false,
        };
        let was = self.inner.paused.swap(paused, Ordering::Relaxed);
        if paused && !was {
            tracing::warn!(
                reserve_mb = self.inner.reserve_bytes / 1_048_576,
                "intake paused: free disk space is below the reserve / 空き容量が予約値を下回ったため受付を停止しました"
            );
        } else if !paused && was {
            tracing::info!(
                "intake resumed: free disk space is above the reserve / 受付を再開しました"
            );
        }
        paused
    }

    /// Whether intake is paused, re-checking when the cached answer is older than the interval.
    pub fn paused(&self) -> bool {
        let last = self.inner.checked_at.load(Ordering::Relaxed);
        if crate::clock::now_ms().saturating_sub(last) >= self.inner.interval_ms {
            return self.check();
        }
        self.inner.paused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reserve_above_free_space_pauses_and_zero_does_not() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DiskReserve::new(dir.path().into(), u64::MAX, 0).paused());
        assert!(!DiskReserve::new(dir.path().into(), 0, 0).paused());
    }
}
