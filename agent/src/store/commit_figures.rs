//! What the writer thread has done, for `/metrics`: jobs waiting for it, and its commits and
//! the jobs they carried, by durability. Callers queueing jobs and the writer thread update
//! shared atomics; a scrape reads them ([`CommitFigures::read`]).
//!
//! Jobs per commit is group commit at work (3.4 acknowledged jobs per fsync with 8 MLLP
//! senders and 12 with 32 on the benchmark machine, issue 9); a queue that keeps growing means
//! the disk does not keep up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::writer::Durability;

/// Shared counters of one writer.
#[derive(Debug, Default)]
pub struct CommitFigures {
    queued: AtomicUsize,
    acknowledged: Kind,
    derived: Kind,
    failed: AtomicU64,
}

#[derive(Debug, Default)]
struct Kind {
    commits: AtomicU64,
    jobs: AtomicU64,
}

/// Commits of one durability and the jobs they carried, since the agent started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commits {
    /// Transactions committed.
    pub commits: u64,
    /// Jobs those transactions carried.
    pub jobs: u64,
}

/// A reading of [`CommitFigures`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitCounts {
    /// Jobs handed to the writer and not taken by its thread yet.
    pub queued: usize,
    /// Commits fsynced before their callers were answered.
    pub acknowledged: Commits,
    /// The processor's commits, on disk at the next fsync.
    pub derived: Commits,
    /// Batches whose transaction could not begin or commit (every job of them failed).
    pub failed: u64,
}

impl CommitFigures {
    pub(super) fn queue(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn unqueue(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    pub(super) fn committed(&self, kind: Durability, jobs: usize) {
        let k = self.kind(kind);
        k.commits.fetch_add(1, Ordering::Relaxed);
        k.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }

    pub(super) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }

    fn kind(&self, kind: Durability) -> &Kind {
        match kind {
            Durability::Acknowledged => &self.acknowledged,
            Durability::Derived => &self.derived,
        }
    }

    /// The figures now.
    pub fn read(&self) -> CommitCounts {
        let read = |k: &Kind| Commits {
            commits: k.commits.load(Ordering::Relaxed),
            jobs: k.jobs.load(Ordering::Relaxed),
        };
        CommitCounts {
            queued: self.queued.load(Ordering::Relaxed),
            acknowledged: read(&self.acknowledged),
            derived: read(&self.derived),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}
