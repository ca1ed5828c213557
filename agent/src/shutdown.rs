//! Shutdown as a value that is passed in, never a global.
//!
//! One [`Shutdown`] is created by the daemon; every task, thread and loop gets a clone. Triggering it
//! (SIGTERM, SIGINT, the demo finishing) wakes sync waiters (a condvar) and async waiters (a tokio
//! `Notify`) alike, so stages that run on plain threads (the store writer, folder scans) and stages
//! that run on the runtime (uplink, MLLP) stop the same way. After it fires, stages finish the unit
//! of work they hold (a commit, a send) and return: draining, not abandoning.
//! [`wait_for_signal`] is where the process's SIGTERM/SIGINT arrive (`tsunagi run`, `demo --serve`).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A clonable stop signal. See the module docs.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    fired: Mutex<bool>,
    cond: Condvar,
    notify: tokio::sync::Notify,
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires the signal; idempotent.
    pub fn trigger(&self) {
        let mut fired = self.inner.fired.lock().unwrap_or_else(|e| e.into_inner());
        *fired = true;
        self.inner.cond.notify_all();
        self.inner.notify.notify_waiters();
    }

    /// Whether the signal has fired.
    pub fn is_triggered(&self) -> bool {
        *self.inner.fired.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks the calling thread for at most `timeout`; returns `true` if the signal fired.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let fired = self.inner.fired.lock().unwrap_or_else(|e| e.into_inner());
        let (fired, _) = self
            .inner
            .cond
            .wait_timeout_while(fired, timeout, |f| !*f)
            .unwrap_or_else(|e| e.into_inner());
        *fired
    }

    /// Completes when the signal fires (immediately if it already has).
    pub async fn triggered(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// Completes on SIGTERM or SIGINT (Unix); on Ctrl-C, Ctrl-Break, console close or system
/// shutdown (Windows, when run from a console).
pub async fn wait_for_signal() {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = platform_stop() => {}
    }
}

#[cfg(unix)]
async fn platform_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(windows)]
async fn platform_stop() {
    use tokio::signal::windows;
    let (Ok(mut brk), Ok(mut close), Ok(mut off)) = (
        windows::ctrl_break(),
        windows::ctrl_close(),
        windows::ctrl_shutdown(),
    ) else {
        return std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = brk.recv() => {}
        _ = close.recv() => {}
        _ = off.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_timeout_returns_false_until_triggered() {
        let s = Shutdown::new();
        assert!(!s.wait_timeout(Duration::from_millis(5)));
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.wait_timeout(Duration::from_secs(30)));
        s.trigger();
        assert!(t.join().unwrap_or(false));
        assert!(s.is_triggered());
    }

    #[tokio::test]
    async fn async_waiters_wake() {
        let s = Shutdown::new();
        let s2 = s.clone();
        let h = tokio::spawn(async move { s2.triggered().await });
        s.trigger();
        h.await.unwrap();
    }
}
