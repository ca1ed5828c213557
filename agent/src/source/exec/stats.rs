//! What an exec plugin is doing, for `/metrics` and the logs: its state, how often each kind of
//! run ending happened, records stored, lines quarantined and stderr lines dropped.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// The plugin's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PluginState {
    /// Started, waiting for its hello.
    Starting = 0,
    /// Handshake done, records flowing.
    Running = 1,
    /// Ended; waiting before the next start.
    Backoff = 2,
    /// Refused (wrong protocol, role or format): not started again until the config changes.
    Refused = 3,
    /// The agent is stopping.
    Stopped = 4,
}

impl PluginState {
    /// Every state, in order.
    pub const ALL: [PluginState; 5] = [
        PluginState::Starting,
        PluginState::Running,
        PluginState::Backoff,
        PluginState::Refused,
        PluginState::Stopped,
    ];

    /// Its name (a metric label).
    pub fn name(self) -> &'static str {
        match self {
            PluginState::Starting => "starting",
            PluginState::Running => "running",
            PluginState::Backoff => "backoff",
            PluginState::Refused => "refused",
            PluginState::Stopped => "stopped",
        }
    }
}

/// How one run of the plugin ended: a closed set of named reasons (metric labels, log fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EndReason {
    /// The program could not be started (not found, not executable).
    SpawnFailed = 0,
    /// The hello was wrong (version, role, format) or missing.
    Handshake = 1,
    /// The process exited with success.
    Exited = 2,
    /// The process exited with a failure status or was killed by a signal.
    Crashed = 3,
    /// No message within `message_timeout_secs`.
    Hung = 4,
    /// Too many lines in a row that are not protocol messages.
    Garbage = 5,
    /// The plugin does not read its acknowledgements (stdin is full).
    NotReading = 6,
    /// The store failed; the plugin is restarted after it recovers.
    StoreFailed = 7,
    /// The agent is stopping.
    Shutdown = 8,
}

impl EndReason {
    /// Every reason, in order.
    pub const ALL: [EndReason; 9] = [
        EndReason::SpawnFailed,
        EndReason::Handshake,
        EndReason::Exited,
        EndReason::Crashed,
        EndReason::Hung,
        EndReason::Garbage,
        EndReason::NotReading,
        EndReason::StoreFailed,
        EndReason::Shutdown,
    ];

    /// Its name (a metric label).
    pub fn name(self) -> &'static str {
        match self {
            EndReason::SpawnFailed => "spawn-failed",
            EndReason::Handshake => "handshake",
            EndReason::Exited => "exited",
            EndReason::Crashed => "crashed",
            EndReason::Hung => "hung",
            EndReason::Garbage => "garbage",
            EndReason::NotReading => "not-reading",
            EndReason::StoreFailed => "store-failed",
            EndReason::Shutdown => "shutdown",
        }
    }

    /// What it means, in Japanese.
    pub fn ja(self) -> &'static str {
        match self {
            EndReason::SpawnFailed => "プラグインを起動できません",
            EndReason::Handshake => "プラグインのハンドシェイクが不正です",
            EndReason::Exited => "プラグインが終了しました",
            EndReason::Crashed => "プラグインが異常終了しました",
            EndReason::Hung => "プラグインが応答しません",
            EndReason::Garbage => "プラグインがプロトコル外の行を出し続けました",
            EndReason::NotReading => "プラグインが応答 (ack) を読みません",
            EndReason::StoreFailed => "保存に失敗しました",
            EndReason::Shutdown => "エージェントの停止",
        }
    }
}

/// Why a line was quarantined: a closed set (metric labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LineFault {
    /// Not a protocol message.
    Garbage = 0,
    /// Over `max_line_bytes`.
    TooLong = 1,
}

impl LineFault {
    /// Every fault, in order.
    pub const ALL: [LineFault; 2] = [LineFault::Garbage, LineFault::TooLong];

    /// Its name (a metric label).
    pub fn name(self) -> &'static str {
        match self {
            LineFault::Garbage => "garbage",
            LineFault::TooLong => "line-too-long",
        }
    }
}

/// Counters of one exec plugin source.
#[derive(Debug, Default)]
pub struct PluginStats {
    state: AtomicU8,
    ends: [AtomicU64; EndReason::ALL.len()],
    records: AtomicU64,
    duplicates: AtomicU64,
    quarantined: [AtomicU64; LineFault::ALL.len()],
    stderr_dropped: AtomicU64,
}

impl PluginStats {
    /// Sets the state.
    pub fn set_state(&self, s: PluginState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }
    /// The state now.
    pub fn state(&self) -> PluginState {
        let i = self.state.load(Ordering::Relaxed) as usize;
        PluginState::ALL
            .get(i)
            .copied()
            .unwrap_or(PluginState::Starting)
    }
    /// Counts a run's end.
    pub fn ended(&self, r: EndReason) {
        self.ends[r as usize].fetch_add(1, Ordering::Relaxed);
    }
    /// Run ends per reason, every reason listed.
    pub fn ends(&self) -> Vec<(EndReason, u64)> {
        EndReason::ALL
            .iter()
            .map(|&r| (r, self.ends[r as usize].load(Ordering::Relaxed)))
            .collect()
    }
    /// Counts committed records: `new` stored, `dup` already stored.
    pub fn add_records(&self, new: u64, dup: u64) {
        self.records.fetch_add(new, Ordering::Relaxed);
        self.duplicates.fetch_add(dup, Ordering::Relaxed);
    }
    /// (stored, already stored) records since start.
    pub fn records(&self) -> (u64, u64) {
        (
            self.records.load(Ordering::Relaxed),
            self.duplicates.load(Ordering::Relaxed),
        )
    }
    /// Counts a quarantined line.
    pub fn quarantined(&self, f: LineFault) {
        self.quarantined[f as usize].fetch_add(1, Ordering::Relaxed);
    }
    /// Quarantined lines per fault, every fault listed.
    pub fn quarantined_lines(&self) -> Vec<(LineFault, u64)> {
        LineFault::ALL
            .iter()
            .map(|&f| (f, self.quarantined[f as usize].load(Ordering::Relaxed)))
            .collect()
    }
    /// Counts stderr lines not logged (over the rate).
    pub fn add_stderr_dropped(&self, n: u64) {
        self.stderr_dropped.fetch_add(n, Ordering::Relaxed);
    }
    /// Stderr lines not logged since start.
    pub fn stderr_dropped(&self) -> u64 {
        self.stderr_dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_counted_by_reason() {
        let s = PluginStats::default();
        s.ended(EndReason::Hung);
        s.ended(EndReason::Crashed);
        let ends = s.ends();
        assert_eq!(ends.len(), EndReason::ALL.len());
        assert!(ends.contains(&(EndReason::Hung, 1)));
        s.set_state(PluginState::Refused);
        assert_eq!(s.state(), PluginState::Refused);
    }
}
