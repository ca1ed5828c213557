//! What the daemon tells the operations surface about itself: readiness flags and in-process
//! counters that the store does not hold.
//!
//! Both are plain atomics shared behind an `Arc`: the stages set them, `/readyz` and `/metrics`
//! read them. Nothing here holds patient data; the only strings are configured source names.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::source::mllp::MllpStats;
use crate::source::SkipCounts;
use crate::store::commit_figures::{CommitCounts, CommitFigures};
use crate::store::identity::StoreLost;
use crate::store::retention::Pruned;

/// The uplink's state, judged from the last delivery attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UplinkState {
    /// No attempt yet (or the daemon has not said): judged from the store's attempts instead.
    #[default]
    Unknown = 0,
    /// The last attempts succeeded.
    Ok = 1,
    /// Some recent attempts failed transiently; deliveries still get through.
    Degraded = 2,
    /// The platform has not been reached lately.
    Down = 3,
}

impl UplinkState {
    /// The state's name, as shown in `/readyz` and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            UplinkState::Unknown => "unknown",
            UplinkState::Ok => "ok",
            UplinkState::Degraded => "degraded",
            UplinkState::Down => "down",
        }
    }

    fn from_u8(v: u8) -> UplinkState {
        match v {
            1 => UplinkState::Ok,
            2 => UplinkState::Degraded,
            3 => UplinkState::Down,
            _ => UplinkState::Unknown,
        }
    }
}

/// Readiness facts the daemon sets. A fresh value is "not ready" for the store and the masters
/// until the daemon says otherwise.
#[derive(Debug, Default)]
pub struct Readiness {
    store_ok: AtomicBool,
    store_lost: OnceLock<StoreLost>,
    masters_loaded: AtomicBool,
    uplink: AtomicU8,
    /// Which profile rules validate (`jp-eCSCLINS.r4#1.10.0 (built-in)`); empty until the
    /// processor says.
    validation: Mutex<String>,
    /// The certificate files the config names, by name (`uplink-client`, `ops`, …), for their
    /// expiry metric.
    certificates: Mutex<Vec<(String, std::path::PathBuf)>>,
}

impl Readiness {
    /// A shared, not-yet-ready value.
    pub fn new() -> Arc<Readiness> {
        Arc::new(Readiness::default())
    }
    /// The certificate files the config names (set once at start).
    pub fn set_certificates(&self, certs: Vec<(String, std::path::PathBuf)>) {
        if let Ok(mut m) = self.certificates.lock() {
            *m = certs;
        }
    }
    /// The certificate files whose expiry `/metrics` reports.
    pub fn certificates(&self) -> Vec<(String, std::path::PathBuf)> {
        self.certificates
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }
    /// The store opened and its writer runs (set `false` when the writer fails).
    pub fn set_store_ok(&self, ok: bool) {
        self.store_ok.store(ok, Ordering::Relaxed);
    }
    /// Watches the writer's loss flag: once it is set, the store check fails at once.
    pub fn watch_store(&self, lost: StoreLost) {
        // Only the first watch counts: the daemon has one writer.
        let _ = self.store_lost.set(lost);
    }
    /// The database file was removed or replaced under the writer.
    pub fn store_lost(&self) -> bool {
        self.store_lost.get().is_some_and(StoreLost::is_lost)
    }
    /// The code masters and mapping tables are loaded.
    pub fn set_masters_loaded(&self, ok: bool) {
        self.masters_loaded.store(ok, Ordering::Relaxed);
    }
    /// The uplink's state as the sender sees it.
    #[allow(dead_code)] // for the sender; until it calls this, the state comes from the store
    pub fn set_uplink(&self, s: UplinkState) {
        self.uplink.store(s as u8, Ordering::Relaxed);
    }
    /// See [`Readiness::set_store_ok`].
    pub fn store_ok(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
    }
    /// See [`Readiness::set_masters_loaded`].
    pub fn masters_loaded(&self) -> bool {
        self.masters_loaded.load(Ordering::Relaxed)
    }
    /// See [`Readiness::set_uplink`].
    pub fn uplink(&self) -> UplinkState {
        UplinkState::from_u8(self.uplink.load(Ordering::Relaxed))
    }
    /// The profile rules the processor validates with (set at start and on each reload).
    pub fn set_validation(&self, rules: String) {
        *self.validation.lock().unwrap_or_else(|p| p.into_inner()) = rules;
    }
    /// See [`Readiness::set_validation`]; empty when not set.
    pub fn validation(&self) -> String {
        self.validation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// In-process counters exported by `/metrics` (monotonic since start).
#[derive(Debug, Default)]
pub struct Counters {
    /// Characters replaced while decoding inputs (undecodable bytes, by the HL7 decoder).
    pub decode_replacements: AtomicU64,
    mllp: Mutex<Vec<(String, Arc<MllpStats>)>>,
    pruned: [AtomicU64; 4],
    sources: Mutex<Vec<(String, Arc<SkipCounts>)>>,
    plugins: Mutex<Vec<(String, Arc<crate::source::exec::PluginStats>)>>,
    commits: OnceLock<Arc<CommitFigures>>,
}

/// One file source's skipped candidates, by reason (every reason listed, zeros included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSkips {
    /// The configured source name.
    pub source: String,
    /// (reason, count) for every reason.
    pub by_reason: Vec<(&'static str, u64)>,
}

impl SourceSkips {
    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.by_reason.iter().map(|(_, n)| n).sum()
    }
}

impl Counters {
    /// Shared, all zero.
    pub fn new() -> Arc<Counters> {
        Arc::new(Counters::default())
    }
    /// Adds `n` decode replacements.
    pub fn add_decode_replacements(&self, n: u64) {
        self.decode_replacements.fetch_add(n, Ordering::Relaxed);
    }
    /// Adds `n` rows of `kind` pruned past retention.
    pub fn add_pruned(&self, kind: Pruned, n: u64) {
        self.pruned[kind as usize].fetch_add(n, Ordering::Relaxed);
    }
    /// Rows pruned since start, per kind.
    pub fn pruned(&self) -> [(Pruned, u64); 4] {
        Pruned::ALL.map(|k| (k, self.pruned[k as usize].load(Ordering::Relaxed)))
    }
    /// Exports a listener's counters under its configured name.
    pub fn watch_mllp(&self, listener: &str, stats: Arc<MllpStats>) {
        if let Ok(mut m) = self.mllp.lock() {
            m.push((listener.to_string(), stats));
        }
    }
    /// The listeners being watched.
    pub fn mllp(&self) -> Vec<(String, Arc<MllpStats>)> {
        self.mllp.lock().map(|m| m.clone()).unwrap_or_default()
    }
    /// Exports an exec plugin source's counters under its configured name.
    pub fn watch_plugin(&self, source: &str, stats: Arc<crate::source::exec::PluginStats>) {
        if let Ok(mut m) = self.plugins.lock() {
            m.push((source.to_string(), stats));
        }
    }
    /// The exec plugin sources being watched.
    pub fn plugins(&self) -> Vec<(String, Arc<crate::source::exec::PluginStats>)> {
        self.plugins.lock().map(|m| m.clone()).unwrap_or_default()
    }
    /// Exports the store writer's figures (set once, by the daemon).
    pub fn watch_commits(&self, figures: Arc<CommitFigures>) {
        let _ = self.commits.set(figures);
    }
    /// The store writer's figures now, if a writer is watched.
    pub fn commits(&self) -> Option<CommitCounts> {
        self.commits.get().map(|f| f.read())
    }
    /// Exports a file source's skipped-candidate counts under its configured name.
    pub fn watch_source_skips(&self, source: &str, counts: Arc<SkipCounts>) {
        if let Ok(mut m) = self.sources.lock() {
            m.push((source.to_string(), counts));
        }
    }
    /// Every watched file source's skipped candidates, now.
    pub fn source_skips(&self) -> Vec<SourceSkips> {
        let sources = self.sources.lock().map(|m| m.clone()).unwrap_or_default();
        sources
            .into_iter()
            .map(|(source, c)| SourceSkips {
                source,
                by_reason: c.by_reason(),
            })
            .collect()
    }
}

impl crate::source::kinds::Watch for Counters {
    fn watch_mllp(&self, listener: &str, stats: Arc<MllpStats>) {
        Counters::watch_mllp(self, listener, stats)
    }
    fn watch_plugin(&self, source: &str, stats: Arc<crate::source::exec::PluginStats>) {
        Counters::watch_plugin(self, source, stats)
    }
    fn watch_source_skips(&self, source: &str, counts: Arc<SkipCounts>) {
        Counters::watch_source_skips(self, source, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_starts_not_ready_and_follows_the_daemon() {
        let r = Readiness::new();
        assert!(!r.store_ok() && !r.masters_loaded());
        assert_eq!(r.uplink(), UplinkState::Unknown);
        r.set_store_ok(true);
        r.set_masters_loaded(true);
        r.set_uplink(UplinkState::Down);
        assert!(r.store_ok() && r.masters_loaded());
        assert_eq!(r.uplink(), UplinkState::Down);
        assert_eq!(r.uplink().as_str(), "down");
    }

    #[test]
    fn counters_add_up() {
        let c = Counters::new();
        c.add_decode_replacements(2);
        c.add_decode_replacements(3);
        assert_eq!(c.decode_replacements.load(Ordering::Relaxed), 5);
        c.add_pruned(Pruned::Attempt, 4);
        c.add_pruned(Pruned::Attempt, 1);
        assert_eq!(c.pruned()[2], (Pruned::Attempt, 5));
        assert_eq!(c.pruned()[0], (Pruned::RawInput, 0));
        c.watch_mllp("ehr", Arc::new(MllpStats::default()));
        assert_eq!(c.mllp().len(), 1);
        c.watch_source_skips("drop", SkipCounts::new());
        let skips = c.source_skips();
        assert_eq!(skips.len(), 1);
        assert_eq!((skips[0].source.as_str(), skips[0].total()), ("drop", 0));
        assert_eq!(skips[0].by_reason.len(), 4);
    }
}
