//! Exec plugins in the source role (`[[source.exec]]`): a vendor's program, started from its argv
//! (never through a shell), writes records as JSON lines on stdout; the agent commits each and
//! only then acknowledges it on the plugin's stdin (the acknowledgement rule of [`super`]).
//!
//! The protocol (v1) is in [`protocol`], published as `adapters/schema/plugin-protocol-v1.json`
//! and explained to vendors in `adapters/VENDORS.md`.
//!
//! # Exactly once across restarts
//! A record carries a stable id, stored as the input's origin: the same id with the same content
//! is recognised (`duplicate`), never stored twice. The plugin's checkpoint is stored in the same
//! transaction as the records before it ([`commit`]) and handed back in `start` at the next run,
//! so after a crash or kill -9 the plugin resumes from its last durable checkpoint and re-emits at
//! most the records after it, which are recognised.
//!
//! # Supervision
//! Every run ends with a named [`EndReason`] (crashed, hung, garbage, not-reading, …), counted in
//! [`PluginStats`] and logged (never with plugin output); the plugin is then started again after a
//! delay that doubles while runs commit nothing (`restart_initial_ms` … `restart_max_secs`) and
//! returns to the first delay after a run that committed something. A refused handshake (wrong protocol
//! version, role or format) is retried only at the longest delay. Lines that are not messages and
//! lines over `max_line_bytes` are quarantined inputs with a named reason ([`commit::BadLine`]);
//! stderr is logged by level, scrubbed and rate-limited ([`stderr`]); memory and CPU limits are
//! applied where the OS offers them ([`child`]).

pub(crate) mod child;
mod commit;
pub mod config;
#[cfg(windows)]
mod job;
mod kind;
pub mod kit;
pub(crate) mod lines;
pub mod protocol;
mod session;
pub mod stats;
pub(crate) mod stderr;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

pub use config::ExecConfig;
pub use kind::Plugins;
pub use stats::{EndReason, PluginState, PluginStats};

use crate::shutdown::Shutdown;
use crate::store::disk::DiskReserve;
use crate::store::{plugins, StoreError, Writer};

/// What a run needs: the config, the store and the signals.
pub struct Feed {
    /// The source's config.
    pub cfg: ExecConfig,
    /// Its name (shared with the helper threads).
    pub source: Arc<str>,
    /// The group-commit writer.
    pub writer: Writer,
    /// A reader connection (the stored checkpoint).
    pub reader: Mutex<Connection>,
    /// The free-space reserve: while crossed nothing is committed or acknowledged.
    pub reserve: DiskReserve,
    /// Woken after new inputs.
    pub wake: Arc<crate::doorbell::Doorbell>,
    /// The counters.
    pub stats: Arc<PluginStats>,
    /// The agent's stop signal.
    pub shutdown: Shutdown,
}

impl Feed {
    fn checkpoint(&self) -> Result<Option<String>, StoreError> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        plugins::checkpoint(&conn, &self.source)
    }
}

/// Runs the plugin, again and again, until the agent stops.
pub fn supervise(feed: Feed) {
    let initial = Duration::from_millis(feed.cfg.restart_initial_ms);
    let longest = Duration::from_secs(feed.cfg.restart_max_secs).max(initial);
    let mut failures: u32 = 0;
    loop {
        let end = session::run_once(&feed);
        if end.reason == EndReason::Shutdown {
            break;
        }
        feed.stats.ended(end.reason);
        log_end(&feed, &end);
        let delay = match end.reason {
            EndReason::Handshake | EndReason::SpawnFailed => {
                feed.stats.set_state(PluginState::Refused);
                longest
            }
            _ => {
                feed.stats.set_state(PluginState::Backoff);
                // A run that stored something starts the delays over; one that did not (a
                // crash, or a plugin that exits when it has nothing new) doubles them.
                failures = if end.committed > 0 {
                    0
                } else {
                    failures.saturating_add(1)
                };
                initial
                    .saturating_mul(1u32 << failures.min(16))
                    .min(longest)
            }
        };
        if feed.shutdown.wait_timeout(delay) {
            break;
        }
    }
    feed.stats.set_state(PluginState::Stopped);
}

fn log_end(feed: &Feed, end: &session::RunEnd) {
    let (source, reason, detail) = (&feed.source, end.reason.name(), &end.detail);
    match end.reason {
        EndReason::Exited => {
            tracing::info!(source = %source, reason, detail = %detail, "exec plugin exited; it is started again / プラグインが終了しました。再起動します")
        }
        EndReason::Handshake | EndReason::SpawnFailed => {
            tracing::error!(source = %source, reason, detail = %detail, "exec plugin refused / プラグインを起動できません: {}", end.reason.ja())
        }
        _ => {
            tracing::warn!(source = %source, reason, detail = %detail, committed = end.committed, "exec plugin stopped; it is started again / {}。再起動します", end.reason.ja())
        }
    }
}
