//! The folder source: watches a directory tree and hands every complete file to an [`Intake`].
//!
//! This is where two promises are first kept:
//! - **Half-written files are never read.** A file is taken only when two observations at least
//!   `stable_ms` apart saw the same size and mtime, or when it was renamed into place (the writer's
//!   way of saying "complete"); its stamp is checked again around the read ([`handoff`]).
//! - **Nothing accepted is lost.** In move mode a file leaves the inbox only after
//!   [`Intake::commit`] returned (durable); a crash before the move offers it again, and the store
//!   answers `AlreadyStored`. In read-only mode nothing is ever moved; [`Intake::is_known`] decides.
//!
//! - **Nothing outside the root.** Links are never followed, read or moved; a file is read and
//!   moved only if it is still the regular file the walk found inside the root
//!   ([`crate::source::root_guard`]). Skipped candidates are counted by reason and a regular file
//!   with a non-UTF-8 name is quarantined ([`crate::source::skips`]).
//!
//! Pieces: [`config`] (TOML), [`kind`] (`[[source.folder]]` as a registered source kind), [`walk`] (full scans), [`watch`] (notify hints), [`tracker`]
//! (stability), [`handoff`] (read + durable move), [`complaints`] (bounded problem logs),
//! [`run`] (the loop tying them together) and [`take`] (one file: read, commit, acknowledge).
//! Logs name files by a short hash; see [`names`].

mod complaints;
mod config;
pub(in crate::source) mod handoff;
mod kind;
pub(in crate::source) mod names;
mod run;
mod take;
pub(in crate::source) mod tracker;
pub(in crate::source) mod walk;
pub(in crate::source) mod watch;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use config::{FolderConfig, FolderMode, WatchMode};
pub use kind::Folders;

use super::root_guard::RootGuard;
use super::skips::SkipCounts;
use super::Intake;
use crate::shutdown::Shutdown;

/// Why a folder source cannot start. Messages are shown to the operator (Japanese / English) and
/// name the configured path, never a file inside it.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("フォルダ取り込みの設定が不正です / invalid folder source configuration: {0}")]
    Config(String),
    #[error("フォルダが存在しません / folder does not exist: {}", path.display())]
    RootMissing { path: PathBuf },
    #[error("フォルダではありません / not a directory: {}", path.display())]
    RootNotDir { path: PathBuf },
    #[error("フォルダにアクセスできません / cannot access folder {}: {source}", path.display())]
    Access {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Counters of one run, returned when [`FolderSource::run`] ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderStats {
    /// `commit` calls (each read file offered to the store, including ones answered `Paused`).
    pub offered: u64,
    /// Answered `Stored`.
    pub stored: u64,
    /// Answered `AlreadyStored` (e.g. after a crash between commit and move).
    pub already_stored: u64,
    /// Files moved out of the inbox (to processed or rejected).
    pub moved: u64,
    /// Answers `Paused` (to `is_known`, `commit` or `reject_oversize`); the file stayed.
    pub paused_skips: u64,
    /// Failed reads, plus each newly reported unwalkable path (unreadable dir, too deep).
    pub read_errors: u64,
    /// Links (to files or directories, dangling or not) skipped, each counted once while it stays.
    pub symlinks_skipped: u64,
    /// Names that are not UTF-8 (matching files are quarantined through `refuse`).
    pub names_not_utf8: u64,
    /// Hidden files that would otherwise have been taken.
    pub hidden_skipped: u64,
    /// Answers `Store(..)` (the file stays and is retried).
    pub store_errors: u64,
    /// Read-only mode: files skipped because `is_known` said so.
    pub known_skipped: u64,
    /// Files larger than `max_file_bytes` handed to `reject_oversize`.
    pub rejected_oversize: u64,
    /// Move mode: committed files that could not be moved yet (retried).
    pub move_errors: u64,
}

/// A configured, checked folder source, ready to [`run`](FolderSource::run).
#[derive(Debug)]
pub struct FolderSource {
    cfg: FolderConfig,
    /// The root as an absolute path (symlinks not resolved: events carry this prefix).
    root: PathBuf,
    /// The canonical root; every file is looked at, read and moved through it.
    guard: RootGuard,
    /// Skipped candidates by reason, shared with the operations surface.
    skips: Arc<SkipCounts>,
    /// Move mode: (processed, rejected) directories, absolute.
    targets: Option<(PathBuf, PathBuf)>,
    /// Canonical processed/rejected paths, never walked.
    excluded: Vec<PathBuf>,
    /// Processed/rejected as relative keys when they lie inside the root (event filter).
    excluded_rel: Vec<String>,
}

impl FolderSource {
    /// Checks the configuration and the root (exists, is a directory); in move mode creates the
    /// processed and rejected directories (0700).
    pub fn new(cfg: FolderConfig) -> Result<Self, FolderError> {
        let cfg = cfg.normalized();
        cfg.check().map_err(FolderError::Config)?;
        let access = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FolderError::Access { path, source }
        };
        let root = std::path::absolute(&cfg.path).map_err(access(&cfg.path))?;
        match std::fs::metadata(&root) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => return Err(FolderError::RootNotDir { path: root }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FolderError::RootMissing { path: root })
            }
            Err(e) => {
                return Err(FolderError::Access {
                    path: root,
                    source: e,
                })
            }
        }
        let guard = RootGuard::new(&root).map_err(access(&root))?;
        let root_canon = guard.root().to_path_buf();
        let mut excluded = Vec::new();
        let mut excluded_rel = Vec::new();
        let targets = match &cfg.mode {
            FolderMode::ReadOnly => None,
            FolderMode::Move {
                processed,
                rejected,
            } => {
                let resolve = |p: &Option<PathBuf>, default: &str| match p {
                    Some(p) => root.join(p),
                    None => root.join(default),
                };
                let dirs = (
                    resolve(processed, "processed"),
                    resolve(rejected, "rejected"),
                );
                for dir in [&dirs.0, &dirs.1] {
                    handoff::ensure_dir(dir).map_err(access(dir))?;
                    let canon = std::fs::canonicalize(dir).map_err(access(dir))?;
                    if canon == root_canon {
                        return Err(FolderError::Config(format!(
                            "[[source.folder]] {}: processed_dir / rejected_dir はルートと別にしてください / \
                             must differ from the folder root",
                            cfg.name
                        )));
                    }
                    if let Ok(rel) = names::rel_path(&root_canon, &canon) {
                        excluded_rel.push(rel);
                    }
                    excluded.push(canon);
                }
                Some(dirs)
            }
        };
        Ok(FolderSource {
            cfg,
            root,
            guard,
            skips: SkipCounts::new(),
            targets,
            excluded,
            excluded_rel,
        })
    }

    /// The source's skipped-candidate counts (for `/metrics` and the status page).
    pub fn skip_counts(&self) -> Arc<SkipCounts> {
        Arc::clone(&self.skips)
    }

    /// Runs until `shutdown` fires, then finishes the file in hand (commit and move) and returns.
    /// Blocking: run it on its own thread. Problems with single files are logged and retried, never
    /// returned.
    pub fn run(
        self,
        intake: Arc<dyn Intake>,
        shutdown: Shutdown,
    ) -> Result<FolderStats, FolderError> {
        run::Runner::new(self, intake, shutdown).run()
    }
}
