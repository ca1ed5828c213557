//! The notify glue: turns OS file-system events into small hints for the scan loop.
//!
//! Plain `notify` (8, `RecommendedWatcher`) is used rather than `notify-debouncer-full`: events are
//! only hints here ("look at this path now"), the decision to take a file is made by the stability
//! tracker from `stat` results, and the one event whose *kind* matters (rename-to: "renamed into
//! place, take it at once") is delivered directly by notify. The debouncer would add a second timer
//! and a file-id cache on top of ours and delay that rename signal.
//!
//! Hints go through a bounded channel; when it is full the hint is dropped and an overflow flag is
//! raised, which makes the loop do a full rescan (the same recovery as for a kernel queue overflow).
//! Nothing is lost by dropping a hint, because the rescan finds every file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// One hint from the watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// Something at `path` was created or changed; `renamed_in` if it was renamed into place,
    /// `appeared` if it is new there (created or renamed in; a new directory is walked).
    Changed {
        path: PathBuf,
        renamed_in: bool,
        appeared: bool,
    },
    /// `path` was removed or renamed away.
    Removed(PathBuf),
    /// Events were lost; do a full scan.
    Rescan,
    /// The watcher reported an error (reason without paths).
    Error(String),
    /// Not from notify: the scan loop hands back a directory that appeared, for a second walk
    /// once notify has surely put its watch on it (see `scan_loop`).
    WalkAgain(PathBuf),
}

/// A running watcher; dropping it stops the events.
pub struct Watch {
    _watcher: RecommendedWatcher,
}

/// Starts watching `root`. Fails (with a reason) if the OS watch cannot be set up, e.g. the inotify
/// watch limit is reached; the caller then falls back to polling.
pub fn start(
    root: &Path,
    recursive: bool,
    tx: SyncSender<Hint>,
    overflow: Arc<AtomicBool>,
) -> Result<Watch, String> {
    let handler = move |res: notify::Result<Event>| {
        let hints = match res {
            Ok(event) => hints_of(event),
            Err(e) => vec![Hint::Error(reason_of(&e))],
        };
        for h in hints {
            match tx.try_send(h) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => overflow.store(true, Ordering::Relaxed),
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    };
    let mut watcher = notify::recommended_watcher(handler).map_err(|e| reason_of(&e))?;
    let mode = if recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    watcher.watch(root, mode).map_err(|e| reason_of(&e))?;
    Ok(Watch { _watcher: watcher })
}

/// The error's reason without the paths notify attaches to its `Display`.
fn reason_of(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::Generic(s) => s.clone(),
        notify::ErrorKind::Io(io) => io.to_string(),
        notify::ErrorKind::PathNotFound => "path not found".into(),
        notify::ErrorKind::WatchNotFound => "watch not found".into(),
        notify::ErrorKind::InvalidConfig(_) => "invalid watcher configuration".into(),
        notify::ErrorKind::MaxFilesWatch => "OS file watch limit reached".into(),
    }
}

/// Translates one notify event into hints.
pub fn hints_of(event: Event) -> Vec<Hint> {
    if event.need_rescan() {
        return vec![Hint::Rescan];
    }
    let changed = |path: PathBuf, renamed_in, appeared| Hint::Changed {
        path,
        renamed_in,
        appeared,
    };
    let mut paths = event.paths.into_iter();
    match event.kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
            paths.map(|p| changed(p, true, true)).collect()
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
            paths.map(Hint::Removed).collect()
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            let mut out = Vec::new();
            if let Some(from) = paths.next() {
                out.push(Hint::Removed(from));
            }
            out.extend(paths.map(|p| changed(p, true, true)));
            out
        }
        // Backends that cannot say what happened: treat as new, to be safe.
        EventKind::Create(_) | EventKind::Any | EventKind::Other => {
            paths.map(|p| changed(p, false, true)).collect()
        }
        EventKind::Modify(_) | EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            paths.map(|p| changed(p, false, false)).collect()
        }
        // Reads (including our own) are not news.
        EventKind::Access(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, Flag};

    #[test]
    fn event_translation() {
        let p = PathBuf::from("/r/a.json");
        let q = PathBuf::from("/r/b.json");
        let to =
            Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::To))).add_path(p.clone());
        assert_eq!(
            hints_of(to),
            vec![Hint::Changed {
                path: p.clone(),
                renamed_in: true,
                appeared: true
            }]
        );
        let both = Event::new(EventKind::Modify(ModifyKind::Name(RenameMode::Both)))
            .add_path(p.clone())
            .add_path(q.clone());
        assert_eq!(
            hints_of(both),
            vec![
                Hint::Removed(p.clone()),
                Hint::Changed {
                    path: q,
                    renamed_in: true,
                    appeared: true
                }
            ]
        );
        let create = Event::new(EventKind::Create(CreateKind::File)).add_path(p.clone());
        assert_eq!(
            hints_of(create),
            vec![Hint::Changed {
                path: p.clone(),
                renamed_in: false,
                appeared: true
            }]
        );
        let data = Event::new(EventKind::Modify(ModifyKind::Any)).add_path(p.clone());
        assert_eq!(
            hints_of(data),
            vec![Hint::Changed {
                path: p.clone(),
                renamed_in: false,
                appeared: false
            }]
        );
        let read = Event::new(EventKind::Access(AccessKind::Read)).add_path(p);
        assert!(hints_of(read).is_empty());
        let lost = Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(hints_of(lost), vec![Hint::Rescan]);
    }
}
