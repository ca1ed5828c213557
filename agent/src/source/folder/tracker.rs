//! Stability tracking: which files have been seen, how long their size and mtime have held still,
//! and which are ready to be taken.
//!
//! Invariants:
//! - One entry per relative key; the key is shared (`Arc<str>`) between the entry map and the
//!   `unsettled` set, so a large inbox is not held twice.
//! - A file is *ready* only if it was renamed into place, or two observations at least `stable`
//!   apart saw the same (size, mtime). A single sighting is never enough.
//! - `unsettled` holds exactly the keys whose state is not [`State::Done`].
//! - Entries not seen by a complete full scan are forgotten ([`Tracker::sweep`]).
//!
//! Time is passed in (`now`), so the rules are tested without sleeping.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What identifies one version of a file: its size, mtime and identity (device and inode), so
/// that a file replaced by another one, even of the same size and mtime, is a new version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub id: crate::source::root_guard::FileId,
}

/// Where a file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting to be seen stable (or stable and waiting to be taken).
    Settling,
    /// Taking it failed; look again at `at`.
    Retry { at: Instant },
    /// Handled in this version (read-only mode: stored or known). Not taken again unless it changes.
    Done,
}

#[derive(Debug)]
struct Entry {
    stamp: Stamp,
    /// When `stamp` was first observed.
    first_seen: Instant,
    /// The latest observation that still saw `stamp`.
    last_seen: Instant,
    renamed: bool,
    state: State,
    generation: u64,
}

/// The per-source map of files. See the module docs for the invariants.
#[derive(Debug, Default)]
pub struct Tracker {
    entries: HashMap<Arc<str>, Entry>,
    unsettled: HashSet<Arc<str>>,
    generation: u64,
}

impl Tracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a full scan; entries it does not observe are removed by [`Tracker::sweep`].
    pub fn begin_scan(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Records that `rel` currently has `stamp`. `renamed` marks a rename-into-place event.
    pub fn observe(&mut self, rel: &str, stamp: Stamp, renamed: bool, now: Instant) {
        let generation = self.generation;
        if let Some(e) = self.entries.get_mut(rel) {
            e.generation = generation;
            if e.stamp == stamp {
                e.last_seen = e.last_seen.max(now);
                e.renamed |= renamed;
                if let State::Retry { at } = e.state {
                    if now >= at {
                        e.state = State::Settling;
                    }
                }
                if renamed && e.state == State::Done {
                    // Renamed over a handled file with the same stamp: nothing new to take.
                    e.renamed = false;
                }
                return;
            }
            let was_done = e.state == State::Done;
            e.stamp = stamp;
            e.first_seen = now;
            e.last_seen = now;
            e.renamed = renamed;
            e.state = State::Settling;
            if was_done {
                if let Some((k, _)) = self.entries.get_key_value(rel) {
                    self.unsettled.insert(Arc::clone(k));
                }
            }
            return;
        }
        let key: Arc<str> = Arc::from(rel);
        self.unsettled.insert(Arc::clone(&key));
        self.entries.insert(
            key,
            Entry {
                stamp,
                first_seen: now,
                last_seen: now,
                renamed,
                state: State::Settling,
                generation,
            },
        );
    }

    /// Drops a file that is gone (or was moved away).
    pub fn forget(&mut self, rel: &str) {
        self.entries.remove(rel);
        self.unsettled.remove(rel);
    }

    /// Forgets every entry the full scan `generation` did not observe.
    pub fn sweep(&mut self, generation: u64) {
        let unsettled = &mut self.unsettled;
        self.entries.retain(|k, e| {
            let keep = e.generation >= generation;
            if !keep {
                unsettled.remove(k);
            }
            keep
        });
    }

    /// The file's last observed stamp.
    pub fn stamp(&self, rel: &str) -> Option<Stamp> {
        self.entries.get(rel).map(|e| e.stamp)
    }

    #[cfg(test)]
    pub fn state(&self, rel: &str) -> Option<State> {
        self.entries.get(rel).map(|e| e.state)
    }

    /// Marks the current version handled (read-only mode).
    pub fn mark_done(&mut self, rel: &str) {
        if let Some(e) = self.entries.get_mut(rel) {
            e.state = State::Done;
            e.renamed = false;
            self.unsettled.remove(rel);
        }
    }

    /// Schedules another look at `at` after a failure.
    pub fn mark_retry(&mut self, rel: &str, at: Instant) {
        if let Some(e) = self.entries.get_mut(rel) {
            e.state = State::Retry { at };
            e.renamed = false;
        }
    }

    /// Files ready to take, oldest first.
    pub fn ready(&self, stable: Duration) -> Vec<Arc<str>> {
        let mut out: Vec<(&Arc<str>, Instant)> = self
            .unsettled
            .iter()
            .filter_map(|k| {
                let e = self.entries.get(k)?;
                let stable_now = e.renamed || e.last_seen.duration_since(e.first_seen) >= stable;
                (e.state == State::Settling && stable_now).then_some((k, e.first_seen))
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
        out.into_iter().map(|(k, _)| Arc::clone(k)).collect()
    }

    /// Files that must be looked at again now: settling ones whose window has passed without a
    /// confirming observation, and failed ones whose retry time has come.
    pub fn due(&self, now: Instant, stable: Duration) -> Vec<Arc<str>> {
        self.unsettled
            .iter()
            .filter(|k| {
                self.entries
                    .get(*k)
                    .and_then(|e| Self::due_at(e, stable))
                    .is_some_and(|at| at <= now)
            })
            .cloned()
            .collect()
    }

    /// The earliest time [`Tracker::due`] will return something.
    pub fn next_due(&self, stable: Duration) -> Option<Instant> {
        self.unsettled
            .iter()
            .filter_map(|k| self.entries.get(k).and_then(|e| Self::due_at(e, stable)))
            .min()
    }

    fn due_at(e: &Entry, stable: Duration) -> Option<Instant> {
        match e.state {
            State::Settling if e.renamed => None,
            State::Settling if e.last_seen.duration_since(e.first_seen) >= stable => None,
            State::Settling => Some(e.first_seen + stable),
            State::Retry { at } => Some(at),
            State::Done => None,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub fn unsettled_len(&self) -> usize {
        self.unsettled.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STABLE: Duration = Duration::from_millis(2000);

    fn st(size: u64, mtime_ns: i128) -> Stamp {
        Stamp {
            size,
            mtime_ns,
            ..Stamp::default()
        }
    }

    #[test]
    fn one_sighting_is_never_enough() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        t.observe("a", st(1, 1), false, t0);
        assert!(t.ready(STABLE).is_empty());
        assert_eq!(t.next_due(STABLE), Some(t0 + STABLE));
        assert!(t.due(t0 + STABLE / 2, STABLE).is_empty());
        assert_eq!(t.due(t0 + STABLE, STABLE).len(), 1);
        // Long after, still not ready until observed again.
        assert!(t.ready(STABLE).is_empty());
        t.observe("a", st(1, 1), false, t0 + STABLE);
        assert_eq!(t.ready(STABLE), vec![Arc::<str>::from("a")]);
        assert_eq!(t.next_due(STABLE), None);
    }

    #[test]
    fn a_change_restarts_the_window() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        t.observe("a", st(1, 1), false, t0);
        t.observe("a", st(2, 2), false, t0 + STABLE);
        assert!(t.ready(STABLE).is_empty());
        t.observe("a", st(2, 2), false, t0 + STABLE + STABLE / 2);
        assert!(t.ready(STABLE).is_empty());
        t.observe("a", st(2, 2), false, t0 + STABLE * 2);
        assert_eq!(t.ready(STABLE).len(), 1);
    }

    #[test]
    fn renamed_is_ready_at_once_and_done_is_not_retaken() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        t.observe("a", st(1, 1), true, t0);
        assert_eq!(t.ready(STABLE).len(), 1);
        t.mark_done("a");
        assert!(t.ready(STABLE).is_empty());
        assert_eq!(t.unsettled_len(), 0);
        t.observe("a", st(1, 1), false, t0 + STABLE * 3);
        assert!(t.ready(STABLE).is_empty());
        // A new version of a done file settles again.
        t.observe("a", st(5, 9), false, t0 + STABLE * 4);
        assert_eq!(t.unsettled_len(), 1);
        assert_eq!(t.state("a"), Some(State::Settling));
    }

    #[test]
    fn retry_waits_for_its_time() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        t.observe("a", st(1, 1), false, t0);
        t.observe("a", st(1, 1), false, t0 + STABLE);
        t.mark_retry("a", t0 + STABLE * 3);
        assert!(t.ready(STABLE).is_empty());
        assert_eq!(t.next_due(STABLE), Some(t0 + STABLE * 3));
        t.observe("a", st(1, 1), false, t0 + STABLE * 2);
        assert!(t.ready(STABLE).is_empty());
        t.observe("a", st(1, 1), false, t0 + STABLE * 3);
        assert_eq!(t.ready(STABLE).len(), 1);
    }

    #[test]
    fn sweep_forgets_unseen_and_keeps_sets_in_step() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        let g = t.begin_scan();
        t.observe("a", st(1, 1), false, t0);
        t.observe("b", st(1, 1), false, t0);
        t.mark_done("b");
        t.sweep(g);
        assert_eq!(t.len(), 2);
        let g = t.begin_scan();
        t.observe("a", st(1, 1), false, t0);
        t.sweep(g);
        assert_eq!(t.len(), 1);
        assert_eq!(t.unsettled_len(), 1);
        t.forget("a");
        assert_eq!((t.len(), t.unsettled_len()), (0, 0));
    }

    proptest::proptest! {
        /// Against a model: ready exactly when the latest observation is at least `stable` after the
        /// first observation of the current stamp.
        #[test]
        fn ready_matches_the_model(obs in proptest::collection::vec((0u64..1500, 0u8..3), 1..40)) {
            let stable = Duration::from_millis(1000);
            let t0 = Instant::now();
            let mut t = Tracker::new();
            let mut now = t0;
            let mut since = t0;
            let mut current = None;
            for (dt, id) in obs {
                now += Duration::from_millis(dt);
                let stamp = st(u64::from(id), i128::from(id));
                if current != Some(stamp) {
                    current = Some(stamp);
                    since = now;
                }
                t.observe("f", stamp, false, now);
                let expect = now.duration_since(since) >= stable;
                proptest::prop_assert_eq!(t.ready(stable).len() == 1, expect);
                proptest::prop_assert_eq!(t.next_due(stable).is_none(), expect);
            }
        }
    }

    #[test]
    fn ready_is_oldest_first() {
        let t0 = Instant::now();
        let mut t = Tracker::new();
        t.observe("z", st(1, 1), true, t0);
        t.observe("a", st(1, 1), true, t0 + STABLE);
        let r: Vec<String> = t.ready(STABLE).iter().map(|k| k.to_string()).collect();
        assert_eq!(r, vec!["z", "a"]);
    }
}
