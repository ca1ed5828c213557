//! Shutdown as a value that is passed in, never a global.
//!
//! One [`Shutdown`] is created by the daemon; every task, thread and loop gets a clone. Triggering it
//! (SIGTERM, SIGINT, the demo finishing) wakes sync waiters (a condvar) and async waiters (a tokio
//! `Notify`) alike, so stages that run on plain threads (the store writer, folder scans) and stages
//! that run on the runtime (uplink, MLLP) stop the same way. After it fires, stages finish the unit
//! of work they hold (a commit, a send) and return: draining, not abandoning.
//! [`StopSignals`] is where the process's SIGTERM/SIGINT arrive (`tsunagi run`, `demo --serve`). It
//! is installed before the daemon starts: a stop asked for while the store opens or the sources
//! bind is then a clean stop once start-up is done, not the default action (death by signal).

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

/// The process's stop signals, caught from the moment [`StopSignals::install`] runs: SIGTERM and
/// SIGINT (Unix); Ctrl-C, Ctrl-Break, console close and system shutdown (Windows, from a console).
pub struct StopSignals {
    inner: platform::Signals,
}

impl StopSignals {
    /// Installs the handlers now (inside the runtime); a signal that arrives before [`Self::recv`]
    /// is kept, not lost.
    pub fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            inner: platform::Signals::install()?,
        })
    }

    /// Completes at the first stop signal (at once if one came since `install`).
    pub async fn recv(&mut self) {
        self.inner.recv().await;
    }
}

#[cfg(unix)]
mod platform {
    use tokio::signal::unix::{signal, Signal, SignalKind};

    pub struct Signals {
        term: Signal,
        int: Signal,
    }

    impl Signals {
        pub fn install() -> std::io::Result<Signals> {
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }

        pub async fn recv(&mut self) {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.int.recv() => {}
            }
        }
    }
}

#[cfg(windows)]
mod platform {
    use tokio::signal::windows::{self, CtrlBreak, CtrlC, CtrlClose, CtrlShutdown};

    pub struct Signals {
        c: CtrlC,
        brk: CtrlBreak,
        close: CtrlClose,
        off: CtrlShutdown,
    }

    impl Signals {
        pub fn install() -> std::io::Result<Signals> {
            Ok(Signals {
                c: windows::ctrl_c()?,
                brk: windows::ctrl_break()?,
                close: windows::ctrl_close()?,
                off: windows::ctrl_shutdown()?,
            })
        }

        pub async fn recv(&mut self) {
            tokio::select! {
                _ = self.c.recv() => {}
                _ = self.brk.recv() => {}
                _ = self.close.recv() => {}
                _ = self.off.recv() => {}
            }
        }
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

    #[cfg(unix)]
    #[tokio::test]
    async fn a_sigterm_that_comes_before_anyone_waits_is_kept_not_fatal() {
        let mut signals = StopSignals::install().unwrap();
        // Sent to ourselves: without the handler installed this would end the test process.
        let pid = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(30), signals.recv())
            .await
            .expect("the signal that came before recv is delivered");
    }
}
