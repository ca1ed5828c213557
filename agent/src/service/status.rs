//! What the service tells the SCM, as plain values: its state, whether it takes a stop, the
//! checkpoint and wait hint of a pending state, and its exit code. Also the recovery plan it
//! sets on itself. `windows.rs` turns these into `SERVICE_STATUS` and failure actions.

use std::time::Duration;

use crate::config::Config;

/// How long starting may take before the SCM should worry (the store's integrity check on a
/// large database is the slow part; the checkpoint does not advance while it runs).
pub const START_HINT: Duration = Duration::from_secs(120);

/// How often the checkpoint advances while the agent drains.
pub const DRAIN_TICK: Duration = Duration::from_secs(5);

/// Beyond a send in flight, time for the listeners to answer what they hold and the writer to
/// commit.
const DRAIN_MARGIN: Duration = Duration::from_secs(30);

/// The longest drain the SCM is told about (and the preshutdown timeout's upper bound).
const DRAIN_MAX: Duration = Duration::from_secs(600);

/// Restart after each failure (the last repeats), counted anew after [`FAILURES_RESET_AFTER`].
pub const RESTART_AFTER: [Duration; 3] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(300),
];

/// A day without failures starts the restart delays over.
pub const FAILURES_RESET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The service's state as the SCM knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    StartPending,
    Running,
    StopPending,
    Stopped,
}

/// How the service ended, as its service-specific exit code (the CLI's exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stopped when asked, after draining (exit code 0).
    Clean,
    /// The config has problems (1): each is in the log file with its line.
    Problems,
    /// Could not run (2): the store, a port, the service's files; the log says which.
    Failed,
}

impl Exit {
    /// The service-specific code, `None` for a clean stop.
    pub fn code(self) -> Option<u32> {
        match self {
            Exit::Clean => None,
            Exit::Problems => Some(1),
            Exit::Failed => Some(2),
        }
    }
}

/// One status report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub state: State,
    /// Whether Stop, Preshutdown and ParamChange (a reload) are accepted (only while running).
    pub accepts_controls: bool,
    /// Advances while a pending state makes progress; 0 otherwise.
    pub checkpoint: u32,
    /// How long until the next report of a pending state; zero otherwise.
    pub wait_hint: Duration,
    pub exit: Exit,
}

/// The sequence of reports of one run: start pending, running, stop pending (repeated while
/// draining), stopped.
#[derive(Debug)]
pub struct Reports {
    checkpoint: u32,
    drain: Duration,
}

impl Reports {
    /// Reports for an agent whose drain takes up to `drain`.
    pub fn new(drain: Duration) -> Self {
        Reports {
            checkpoint: 0,
            drain,
        }
    }

    /// The drain's bound, once the config is read.
    pub fn set_drain(&mut self, drain: Duration) {
        self.drain = drain;
    }

    pub fn starting(&mut self) -> Report {
        self.pending(State::StartPending, START_HINT)
    }

    pub fn running(&mut self) -> Report {
        self.settled(State::Running, Exit::Clean)
    }

    /// Each call while draining advances the checkpoint.
    pub fn stopping(&mut self) -> Report {
        self.pending(State::StopPending, self.drain)
    }

    pub fn stopped(&mut self, exit: Exit) -> Report {
        self.settled(State::Stopped, exit)
    }

    fn pending(&mut self, state: State, wait_hint: Duration) -> Report {
        self.checkpoint += 1;
        Report {
            state,
            accepts_controls: false,
            checkpoint: self.checkpoint,
            wait_hint,
            exit: Exit::Clean,
        }
    }

    fn settled(&mut self, state: State, exit: Exit) -> Report {
        self.checkpoint = 0;
        Report {
            state,
            accepts_controls: state == State::Running,
            checkpoint: 0,
            wait_hint: Duration::ZERO,
            exit,
        }
    }
}

/// How long the drain may take: a send in flight (connect and request timeouts of the Web API
/// route) plus a margin for the listeners and the last commit, at most ten minutes.
pub fn drain_hint(cfg: &Config) -> Duration {
    let send = cfg.uplink.web_api.as_ref().map_or(0, |w| {
        w.connect_timeout_secs
            .saturating_add(w.request_timeout_secs)
    });
    Duration::from_secs(send)
        .saturating_add(DRAIN_MARGIN)
        .min(DRAIN_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reports_start_running_stop_pending_and_stopped() {
        let drain = Duration::from_secs(70);
        let mut r = Reports::new(Duration::ZERO);
        let start = r.starting();
        assert_eq!(
            (start.state, start.accepts_controls),
            (State::StartPending, false)
        );
        assert_eq!((start.checkpoint, start.wait_hint), (1, START_HINT));
        r.set_drain(drain);
        let run = r.running();
        assert_eq!((run.state, run.accepts_controls), (State::Running, true));
        assert_eq!((run.checkpoint, run.wait_hint), (0, Duration::ZERO));
        // While draining, each report advances the checkpoint and repeats the drain's hint.
        let first = r.stopping();
        let second = r.stopping();
        assert_eq!(first.state, State::StopPending);
        assert!(!first.accepts_controls);
        assert_eq!((first.checkpoint, second.checkpoint), (1, 2));
        assert_eq!(second.wait_hint, drain);
        let end = r.stopped(Exit::Clean);
        assert_eq!(
            (end.state, end.checkpoint, end.exit),
            (State::Stopped, 0, Exit::Clean)
        );
        assert!(!end.accepts_controls);
    }

    #[test]
    fn a_failed_start_ends_with_its_code() {
        let mut r = Reports::new(Duration::from_secs(1));
        r.starting();
        assert_eq!(r.stopped(Exit::Problems).exit.code(), Some(1));
        assert_eq!(Exit::Failed.code(), Some(2));
        assert_eq!(Exit::Clean.code(), None);
    }

    #[test]
    fn the_drain_hint_covers_a_send_in_flight() {
        // The config the .msi installs (still without institution and URL: parsed all the same).
        let example = include_str!("../../../config-examples/windows.toml");
        let mut cfg = crate::config::parse_all(example).0.unwrap();
        // Its connect 10 s + request 30 s + the margin.
        assert_eq!(drain_hint(&cfg), Duration::from_secs(70));
        if let Some(w) = cfg.uplink.web_api.as_mut() {
            w.request_timeout_secs = u64::MAX;
        }
        assert_eq!(drain_hint(&cfg), DRAIN_MAX);
        cfg.uplink.web_api = None;
        assert_eq!(drain_hint(&cfg), DRAIN_MARGIN);
    }

    #[test]
    fn restarts_back_off() {
        assert!(RESTART_AFTER.windows(2).all(|w| w[0] < w[1]));
    }
}
