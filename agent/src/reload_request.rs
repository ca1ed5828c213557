//! A reload asked for from outside, as a value that is passed in (like [`crate::shutdown`]).
//!
//! What a reload re-reads is what can change while the agent runs without rebuilding a stage:
//! the national masters, the hospital's mapping table and the FHIR package loaded with `tsunagi
//! masters load fhir-package`, all in `terminology.db`. The processor already follows that file
//! by itself (`PRAGMA data_version`, `pipeline/reload.rs`); a request makes it re-read at once
//! and say what it now uses, which is what an operator running `systemctl reload tsunagi`
//! expects. The configuration is not re-read: sources, uplink and TLS material are built at
//! start, so a changed config needs a restart (the processor's log line says so).
//!
//! Who asks: SIGHUP on Unix ([`HangupSignal`], the unit's `ExecReload=/bin/kill -HUP $MAINPID`),
//! the SCM's ParamChange control on Windows (`sc.exe control tsunagi paramchange`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A clonable "re-read the terminology" request. Requests that come before the processor looks
/// are merged into one: a reload re-reads everything, so two in a row would do the same work.
#[derive(Clone, Default)]
pub struct ReloadRequest {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    pending: AtomicBool,
    notify: tokio::sync::Notify,
}

impl ReloadRequest {
    /// A request that has not been made.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a reload and wakes whoever waits in [`Self::requested`].
    pub fn request(&self) {
        self.inner.pending.store(true, Ordering::SeqCst);
        // notify_one keeps a permit when nobody waits yet, so a request is never missed.
        self.inner.notify.notify_one();
    }

    /// Whether a reload was asked for since the last call (and forgets it).
    pub fn take(&self) -> bool {
        self.inner.pending.swap(false, Ordering::SeqCst)
    }

    /// Completes when a reload is asked for (at once if one was asked for while nobody waited).
    pub async fn requested(&self) {
        self.inner.notify.notified().await;
    }
}

/// The process's reload signal, caught from the moment [`HangupSignal::install`] runs. SIGHUP's
/// default action ends the process, so it is installed before the daemon starts, like the stop
/// signals: a `systemctl reload` during start-up must not kill the agent. Windows has no SIGHUP
/// (the service takes ParamChange instead); there `recv` never completes.
pub struct HangupSignal {
    inner: platform::Hangup,
}

impl HangupSignal {
    /// Installs the handler now (inside the runtime); a signal that arrives before
    /// [`Self::recv`] is kept.
    pub fn install() -> std::io::Result<HangupSignal> {
        Ok(HangupSignal {
            inner: platform::Hangup::install()?,
        })
    }

    /// Completes at the next SIGHUP.
    pub async fn recv(&mut self) {
        self.inner.recv().await;
    }
}

#[cfg(unix)]
mod platform {
    use tokio::signal::unix::{signal, Signal, SignalKind};

    pub struct Hangup(Signal);

    impl Hangup {
        pub fn install() -> std::io::Result<Hangup> {
            Ok(Hangup(signal(SignalKind::hangup())?))
        }

        pub async fn recv(&mut self) {
            // `None` only when the signal driver is gone (the runtime is shutting down): wait
            // for the stop that is under way instead of reporting a reload.
            if self.0.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(windows)]
mod platform {
    pub struct Hangup;

    impl Hangup {
        pub fn install() -> std::io::Result<Hangup> {
            Ok(Hangup)
        }

        pub async fn recv(&mut self) {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn requests_before_a_look_are_one_reload() {
        let r = ReloadRequest::new();
        assert!(!r.take());
        r.request();
        r.clone().request();
        assert!(r.take());
        assert!(!r.take(), "taken once");
    }

    #[tokio::test]
    async fn a_request_made_before_anyone_waits_still_wakes_the_waiter() {
        let r = ReloadRequest::new();
        r.request();
        tokio::time::timeout(Duration::from_secs(30), r.requested())
            .await
            .expect("the stored permit wakes it");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_sighup_is_caught_not_fatal() {
        let mut hangup = HangupSignal::install().unwrap();
        // Sent to ourselves: without the handler this would end the test process.
        let pid = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(30), hangup.recv())
            .await
            .expect("the SIGHUP is delivered");
    }
}
