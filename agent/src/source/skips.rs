//! Candidates a file source did not take, and why (issue 9, F2 and F12): counted per source and
//! reason for `/metrics` and the status page, and logged once per path.
//!
//! What is skipped, and what a hospital administrator gets for it:
//!
//! | reason          | what                                              | trace                      |
//! |-----------------|---------------------------------------------------|----------------------------|
//! | `symlink`       | a link (to a file or a directory) inside the root | counted, warned; never followed, read or moved |
//! | `dangling`      | a link whose target does not exist                | counted, warned            |
//! | `non-utf8-name` | a name that is not UTF-8 (e.g. Shift_JIS written by a Windows share) | a regular file that matches the source's extensions is **quarantined** (no content stored, reason in Japanese and English: rename it or export UTF-8 names); it stays where it is and is taken normally once renamed. A directory is counted and warned. |
//! | `hidden`        | a regular file named `.x` that would otherwise match the source's extensions | counted, logged at info; not quarantined: writers hide files they are still writing that way and rename them when done |
//!
//! An SS-MIX2 storage has no extension filter: every hidden regular file in it is counted. Nothing
//! in a storage is ever moved, whatever the reason.
//!
//! Links are not quarantined: a link is not an input the agent found inside the root, and reading
//! it is exactly what must not happen. Temporary names (`*.tmp`, `*.part`, …) and hidden or
//! temporary directories are not candidates and are not counted.
//!
//! Each path is counted (and logged) once while it stays: [`Skips`] remembers the paths skipped
//! by their [`path_tag`] (never the name, which may carry a patient's name) and forgets those a
//! complete scan no longer saw, so a link removed and put back is counted again. At most
//! [`WARN_BUDGET`] warnings per scan; the rest go to debug and are summarised.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::folder::names::path_tag;

/// Warn lines per scan period.
const WARN_BUDGET: u32 = 20;

/// Why a candidate was not taken. The names are the `reason` label of
/// `tsunagi_source_inputs_skipped_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    Symlink,
    Dangling,
    NonUtf8Name,
    Hidden,
}

impl SkipReason {
    /// Every reason, in the order metrics list them.
    pub const ALL: [SkipReason; 4] = [
        SkipReason::Symlink,
        SkipReason::Dangling,
        SkipReason::NonUtf8Name,
        SkipReason::Hidden,
    ];

    /// The reason for skipping a link.
    pub fn of_link(dangling: bool) -> SkipReason {
        if dangling {
            SkipReason::Dangling
        } else {
            SkipReason::Symlink
        }
    }

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Symlink => "symlink",
            SkipReason::Dangling => "dangling",
            SkipReason::NonUtf8Name => "non-utf8-name",
            SkipReason::Hidden => "hidden",
        }
    }

    /// What the operator reads in the log.
    fn explain(self) -> &'static str {
        match self {
            SkipReason::Symlink => {
                "symbolic link inside the source folder; never followed, read or moved / フォルダ内のシンボリックリンクは辿りません"
            }
            SkipReason::Dangling => {
                "symbolic link to something that does not exist; skipped / リンク先が存在しないシンボリックリンクです"
            }
            SkipReason::NonUtf8Name => {
                "name is not valid UTF-8; a matching file is quarantined and stays until renamed / ファイル名が UTF-8 ではありません"
            }
            SkipReason::Hidden => {
                "hidden file (name starts with a dot); not taken / 隠しファイルは取り込みません"
            }
        }
    }

    fn index(self) -> usize {
        match self {
            SkipReason::Symlink => 0,
            SkipReason::Dangling => 1,
            SkipReason::NonUtf8Name => 2,
            SkipReason::Hidden => 3,
        }
    }
}

/// Live counts of one source's skipped candidates, shared with the operations surface.
#[derive(Debug, Default)]
pub struct SkipCounts {
    counts: [AtomicU64; 4],
}

impl SkipCounts {
    /// Shared, all zero.
    pub fn new() -> Arc<SkipCounts> {
        Arc::new(SkipCounts::default())
    }

    /// Paths skipped for `reason` since start (each counted once while it stays).
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// Every reason with its count.
    pub fn by_reason(&self) -> Vec<(&'static str, u64)> {
        SkipReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.get(*r)))
            .collect()
    }

    fn add(&self, reason: SkipReason) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// One source's memory of skipped paths. See the module docs.
#[derive(Debug)]
pub struct Skips {
    source: String,
    counts: Arc<SkipCounts>,
    /// path tag → (reason, scan generation it was last seen in).
    seen: HashMap<String, (SkipReason, u64)>,
    generation: u64,
    budget: u32,
    suppressed: u64,
}

impl Skips {
    pub fn new(source: &str, counts: Arc<SkipCounts>) -> Self {
        Skips {
            source: source.to_string(),
            counts,
            seen: HashMap::new(),
            generation: 0,
            budget: WARN_BUDGET,
            suppressed: 0,
        }
    }

    /// Starts a full scan: refills the warn budget and summarises what was held back.
    pub fn begin_scan(&mut self) {
        self.generation += 1;
        self.budget = WARN_BUDGET;
        if self.suppressed > 0 {
            tracing::warn!(source = %self.source, count = self.suppressed,
                "further skipped files were logged at debug level only");
            self.suppressed = 0;
        }
    }

    /// Forgets paths the scan that just completed did not see.
    pub fn sweep(&mut self) {
        let g = self.generation;
        self.seen.retain(|_, (_, seen)| *seen >= g);
    }

    /// Records that `rel` (lossy for non-UTF-8 names) was skipped for `reason`. Returns `true`
    /// when this is new (first sighting, or a new reason): then it was counted and logged.
    pub fn record(&mut self, rel: &str, reason: SkipReason) -> bool {
        let tag = path_tag(&self.source, rel);
        if let Some((known, g)) = self.seen.get_mut(&tag) {
            *g = self.generation;
            if *known == reason {
                return false;
            }
            *known = reason;
        } else {
            self.seen.insert(tag.clone(), (reason, self.generation));
        }
        self.counts.add(reason);
        let (kind, why) = (reason.as_str(), reason.explain());
        if reason == SkipReason::Hidden {
            tracing::info!(source = %self.source, file = %tag, reason = kind, "{why}");
        } else if self.budget > 0 {
            self.budget -= 1;
            tracing::warn!(source = %self.source, file = %tag, reason = kind, "{why}");
        } else {
            self.suppressed += 1;
            tracing::debug!(source = %self.source, file = %tag, reason = kind, "{why}");
        }
        true
    }

    /// Forgets `rel`, so that its next sighting is recorded again (e.g. its quarantine failed).
    pub fn forget(&mut self, rel: &str) {
        self.seen.remove(&path_tag(&self.source, rel));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_is_counted_once_while_it_stays() {
        let counts = SkipCounts::new();
        let mut s = Skips::new("drop", counts.clone());
        s.begin_scan();
        assert!(s.record("link.json", SkipReason::Symlink));
        assert!(!s.record("link.json", SkipReason::Symlink));
        assert!(s.record("other", SkipReason::Symlink));
        assert!(s.record(".h.json", SkipReason::Hidden));
        assert_eq!(counts.get(SkipReason::Symlink), 2);
        s.sweep();
        s.begin_scan();
        assert!(!s.record("link.json", SkipReason::Symlink));
        // The link now dangles: a new reason is counted.
        assert!(s.record("link.json", SkipReason::Dangling));
        s.sweep();
        // "other" was not seen by the last complete scan: seen again, counted again.
        s.begin_scan();
        assert!(s.record("other", SkipReason::Symlink));
        assert_eq!(counts.get(SkipReason::Symlink), 3);
        assert_eq!(
            counts.by_reason(),
            vec![
                ("symlink", 3),
                ("dangling", 1),
                ("non-utf8-name", 0),
                ("hidden", 1)
            ]
        );
    }
}
