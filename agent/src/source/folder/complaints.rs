//! Bounded problem logging: every file that cannot be taken is logged, but not every time.
//!
//! Invariants:
//! - A problem is logged at warn level when it first appears for a path or its reason changes;
//!   repeats of the same reason go to debug only.
//! - At most [`WARN_BUDGET`] warn lines per scan period; the rest are counted and summarised in one
//!   line at the start of the next period.
//! - Lines name the file by its [`path_tag`], never by its path (see `names` for why).
//! - Entries not re-reported since the last complete scan are dropped, so the map stays as small as
//!   the set of currently failing paths.

use std::collections::HashMap;

use super::names::path_tag;

/// Warn lines per scan period.
pub const WARN_BUDGET: u32 = 20;

/// Currently failing paths of one source and what was last said about them.
#[derive(Debug)]
pub struct Complaints {
    source: String,
    seen: HashMap<String, (String, u64)>,
    generation: u64,
    budget: u32,
    suppressed: u64,
}

impl Complaints {
    pub fn new(source: &str) -> Self {
        Complaints {
            source: source.to_string(),
            seen: HashMap::new(),
            generation: 0,
            budget: WARN_BUDGET,
            suppressed: 0,
        }
    }

    /// Starts a scan period: refills the warn budget and summarises what was held back.
    pub fn begin_period(&mut self, generation: u64) {
        self.generation = generation;
        self.budget = WARN_BUDGET;
        if self.suppressed > 0 {
            tracing::warn!(
                source = %self.source,
                count = self.suppressed,
                "further file problems were logged at debug level only"
            );
            self.suppressed = 0;
        }
    }

    /// Reports a problem with `rel`; returns `true` if it is new (first time or a new reason).
    pub fn report(&mut self, rel: &str, reason: &str) -> bool {
        let tag = path_tag(&self.source, rel);
        tracing::debug!(source = %self.source, file = %tag, reason, "file problem");
        if let Some((last, generation)) = self.seen.get_mut(rel) {
            *generation = self.generation;
            if last == reason {
                return false;
            }
            *last = reason.to_string();
        } else {
            self.seen
                .insert(rel.to_string(), (reason.to_string(), self.generation));
        }
        if self.budget > 0 {
            self.budget -= 1;
            tracing::warn!(source = %self.source, file = %tag, reason, "file cannot be taken now; will retry");
        } else {
            self.suppressed += 1;
        }
        true
    }

    /// The path is fine again (taken, or gone).
    pub fn clear(&mut self, rel: &str) {
        if self.seen.remove(rel).is_some() {
            tracing::debug!(source = %self.source, file = %path_tag(&self.source, rel), "file problem resolved");
        }
    }

    /// Drops problems not re-reported since scan `generation` began, except for paths `still_tracked`
    /// says are waiting for a retry (their next report would otherwise warn again).
    pub fn sweep(&mut self, generation: u64, still_tracked: impl Fn(&str) -> bool) {
        self.seen
            .retain(|rel, (_, g)| *g >= generation || still_tracked(rel));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    #[cfg(test)]
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_not_new_and_budget_is_bounded() {
        let mut c = Complaints::new("s");
        c.begin_period(1);
        assert!(c.report("a", "denied"));
        assert!(!c.report("a", "denied"));
        assert!(c.report("a", "gone"));
        for i in 0..(WARN_BUDGET + 5) {
            c.report(&format!("f{i}"), "denied");
        }
        assert_eq!(c.suppressed(), 7);
        c.begin_period(2);
        assert_eq!(c.suppressed(), 0);
        c.report("a", "gone");
        c.sweep(2, |_| false);
        assert_eq!(c.len(), 1);
        c.begin_period(3);
        c.sweep(3, |rel| rel == "a");
        assert_eq!(c.len(), 1);
        c.sweep(3, |_| false);
        assert_eq!(c.len(), 0);
        c.report("a", "gone");
        c.clear("a");
        assert_eq!(c.len(), 0);
    }
}
