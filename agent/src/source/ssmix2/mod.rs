//! The SS-MIX2 standard-storage source: reads a hospital's 標準化ストレージ, never touching it, and
//! hands every file to an [`Intake`] raw.
//!
//! What it promises:
//! - **Read-only.** Nothing under the root is created, moved, renamed or written. What was taken is
//!   remembered by the store: before reading a file the source asks [`Intake::is_known`] with the
//!   path relative to the root, its size and its mtime (the folder source's read-only memory), so
//!   a restart skips what is stored without reading it, and a file rewritten in place is taken again.
//! - **Complete files only.** SS-MIX2 writers write in place. A file is taken when its size and
//!   mtime have been unchanged for `stable_ms`: at once if its mtime is already `stable_ms` old,
//!   else after two looks `stable_ms` apart (the folder source's [`Tracker`]); the stamp is checked
//!   again around the read (the folder source's `read_stable`).
//! - **Everything is stored; nothing is decided here.** Files of unused data types and files off
//!   the layout are stored too ([`FileClass`]). Which version of an order is current (supersession
//!   by 発生日時, the condition flag) is data: the stored origin is the relative path, from which
//!   [`classify`] / [`FileName::parse`] give back every name field, and [`FileName::supersedes`]
//!   orders versions. The pipeline decides what to send.
//! - **Backfill at scale.** The first scan of a large storage walks it lazily in sorted order
//!   ([`walk`]), commits in batches of [`take::BATCH_FILES`] (one fsync each), reports progress
//!   ([`progress`]), stops between files on shutdown and resumes after a restart via `is_known`.
//!   After that it watches (notify events + a rescan every `rescan_secs`, or polling).
//! - **Nothing outside the root.** Links are never followed, read or entered; a file is read only
//!   if it is still the regular file the walk found ([`crate::source::root_guard`]). Skipped
//!   candidates are counted by reason; a file whose name is not UTF-8 is quarantined without
//!   reading it ([`crate::source::skips`]).
//! - **No patient IDs in logs above debug.** Paths hold patient IDs; info/warn lines name a file
//!   by the folder source's `path_tag`.
//!
//! Pieces: [`config`], [`kind`] (`[[source.ssmix2]]` as a registered source kind), [`name`] (file names), [`layout`] (paths, classes), [`walk`], [`run`]
//! (the loop and events), [`take`] (stability, read, batch commit), [`progress`].
//!
//! [`Tracker`]: crate::source::folder::tracker::Tracker

// The daemon wiring that calls into this module lands with the integrator (issue 3).

mod config;
mod kind;
mod layout;
mod name;
mod progress;
mod run;
mod take;
mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(test)]
pub use config::WatchMode;
pub use config::{default_data_types, Ssmix2Config};
pub use kind::Storages;
pub use layout::{classify, parse_rel, FileClass};
pub use name::{ConditionFlag, FileName};

use super::root_guard::RootGuard;
use super::skips::SkipCounts;
use super::Intake;
use crate::shutdown::Shutdown;

/// Why an SS-MIX2 source cannot start. Names the configured root, never a file inside it.
#[derive(Debug, thiserror::Error)]
pub enum Ssmix2Error {
    #[error("SS-MIX2 取り込みの設定が不正です / invalid SS-MIX2 source configuration: {0}")]
    Config(String),
    #[error("SS-MIX2 ストレージが存在しません / storage root does not exist: {}", path.display())]
    RootMissing { path: PathBuf },
    #[error("SS-MIX2 ストレージがフォルダではありません / storage root is not a directory: {}", path.display())]
    RootNotDir { path: PathBuf },
    #[error("SS-MIX2 ストレージにアクセスできません / cannot access storage root {}: {source}", path.display())]
    Access {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Counters of one run, returned by [`Ssmix2Source::run`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ssmix2Stats {
    /// File sightings (each scan and each event counts a file again).
    pub seen: u64,
    /// Newly stored (`Committed::Stored`).
    pub stored: u64,
    /// Offered and answered `AlreadyStored` (same path and content stored before).
    pub already_stored: u64,
    /// Skipped without reading because `is_known` said so.
    pub already_known: u64,
    /// Newly stored on-layout files per data type (used and not used).
    pub stored_by_data_type: BTreeMap<String, u64>,
    /// Newly stored on-layout files whose data type is not in `data_types`, per data type.
    pub not_used: BTreeMap<String, u64>,
    /// Newly stored files whose path or name is off the layout (stored as not used).
    pub bad_names: u64,
    /// On-layout files of the last complete scan that have a newer version (same patient, data
    /// type and order number) in the same folder.
    pub superseded: u64,
    /// Files over `max_file_bytes`, recorded through `reject_oversize` without reading.
    pub rejected_oversize: u64,
    /// Failed reads and walk problems (unreadable folders, too deep).
    pub read_errors: u64,
    /// Links (to files or directories, dangling or not) skipped, each counted once while it stays.
    pub symlinks_skipped: u64,
    /// Names that are not UTF-8 (files among them quarantined through `refuse`).
    pub names_not_utf8: u64,
    /// Hidden files skipped.
    pub hidden_skipped: u64,
    /// Store errors (the files are retried).
    pub store_errors: u64,
    /// Answers `Paused` (the scan stops and is retried after `poll_interval_ms`).
    pub paused_skips: u64,
    /// Full scans that reached the end.
    pub scans_completed: u64,
}

/// A configured, checked SS-MIX2 source, ready to [`run`](Ssmix2Source::run).
#[derive(Debug)]
pub struct Ssmix2Source {
    cfg: Ssmix2Config,
    /// The root as an absolute path (symlinks not resolved: events carry this prefix).
    root: PathBuf,
    /// The canonical root; every file is looked at and read through it.
    guard: RootGuard,
    /// Skipped candidates by reason, shared with the operations surface.
    skips: Arc<SkipCounts>,
}

impl Ssmix2Source {
    /// Checks the configuration and that the root is a readable directory.
    pub fn new(cfg: Ssmix2Config) -> Result<Self, Ssmix2Error> {
        cfg.check().map_err(Ssmix2Error::Config)?;
        let access = |path: PathBuf| move |source| Ssmix2Error::Access { path, source };
        let root = std::path::absolute(&cfg.path).map_err(access(cfg.path.clone()))?;
        match std::fs::metadata(&root) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => return Err(Ssmix2Error::RootNotDir { path: root }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Ssmix2Error::RootMissing { path: root })
            }
            Err(e) => return Err(access(root)(e)),
        }
        std::fs::read_dir(&root).map_err(access(root.clone()))?;
        let guard = RootGuard::new(&root).map_err(access(root.clone()))?;
        Ok(Ssmix2Source {
            cfg,
            root,
            guard,
            skips: SkipCounts::new(),
        })
    }

    /// The source's skipped-candidate counts (for `/metrics` and the status page).
    pub fn skip_counts(&self) -> Arc<SkipCounts> {
        Arc::clone(&self.skips)
    }

    /// Backfills, then watches, until `shutdown` fires; commits the batch in hand and returns.
    /// Blocking: run it on its own thread. Problems with single files are logged, counted and
    /// retried, never returned.
    pub fn run(
        self,
        intake: Arc<dyn Intake>,
        shutdown: Shutdown,
    ) -> Result<Ssmix2Stats, Ssmix2Error> {
        run::Runner::new(self, intake, shutdown).run()
    }
}
