//! The processor's doorbell: rung by intake after each commit of a new input (from async tasks
//! and plain threads alike), waited on by the processor's plain thread when it has nothing to do.
//!
//! Ringing is a short lock and, only when the processor waits, one futex wake: no thread or
//! runtime sits between the two. It replaced a bridge thread that turned a `tokio::sync::Notify`
//! into a channel and woke for every intake commit (about one context switch per commit,
//! measured in issue 9, part 3). Rings while nobody waits collapse into one.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A wake-up flag with a condition variable.
#[derive(Debug, Default)]
pub struct Doorbell {
    rung: Mutex<bool>,
    waiter: Condvar,
}

impl Doorbell {
    /// A doorbell nobody has rung.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rings: the waiter (or the next one) returns at once.
    pub fn ring(&self) {
        let mut rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        if !*rung {
            *rung = true;
            self.waiter.notify_one();
        }
    }

    /// Waits until rung or `timeout` passes; returns whether it was rung, and resets it.
    pub fn wait(&self, timeout: Duration) -> bool {
        let rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rung, _) = self
            .waiter
            .wait_timeout_while(rung, timeout, |r| !*r)
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *rung, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_ring_before_the_wait_is_not_lost_and_rings_collapse_into_one() {
        let bell = Doorbell::new();
        bell.ring();
        bell.ring();
        assert!(bell.wait(Duration::from_secs(5)));
        assert!(
            !bell.wait(Duration::from_millis(10)),
            "two rings woke twice"
        );
    }

    #[test]
    fn a_ring_from_another_thread_wakes_the_waiter() {
        let bell = Arc::new(Doorbell::new());
        let ringer = {
            let bell = Arc::clone(&bell);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                bell.ring();
            })
        };
        // `true`: woken by the ring (a timeout returns `false`).
        assert!(bell.wait(Duration::from_secs(30)));
        ringer.join().unwrap();
    }
}
