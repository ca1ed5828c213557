//! The backfill walk: a lazy, sorted, depth-first walk of the storage, one directory at a time.
//!
//! A storage may hold millions of files, so nothing is collected beyond the directory in hand:
//! the walk keeps, per level of the current path, the sorted names still to visit, and yields the
//! files of one directory together (sorted by name, which for one order is oldest 発生日時 first).
//! The order is deterministic, so a restarted backfill retraces the same path and finds the files
//! it stored before through `is_known`, cheaply.
//!
//! Rules: hidden and temporary names (`.x`, `*.tmp`, ...) are skipped, and a hidden regular file
//! is reported as skipped; symbolic links (to files or directories, dangling or not) are never
//! followed: they are reported as skipped ([`root_guard`]); a name that is not UTF-8 is reported
//! as skipped (a regular file with its stamp, to be quarantined); directories deeper than
//! [`MAX_DEPTH`] are reported; FIFOs, sockets and devices are skipped. Problems carry the
//! relative path (debug only) and a reason without any path.
//!
//! [`root_guard`]: crate::source::root_guard

use std::fs::{self, Metadata};
use std::path::PathBuf;

use crate::source::folder::names::is_ignored_name;
use crate::source::folder::tracker::Stamp;
use crate::source::folder::walk::stamp_of;
use crate::source::root_guard::{classify, Entry};
use crate::source::skips::SkipReason;

/// Directory nesting beyond which the walk stops (the layout needs 5 levels).
pub const MAX_DEPTH: usize = 12;

/// One directory's regular files, sorted by name.
#[derive(Debug)]
pub struct DirFiles {
    /// The directory, relative to the root (`""` for the root).
    pub rel: String,
    /// (file name, metadata), sorted by name.
    pub files: Vec<(String, Metadata)>,
}

/// What the walk yields.
#[derive(Debug)]
pub enum Item {
    Files(DirFiles),
    /// A candidate not taken; `rel` is lossy for non-UTF-8 names; `stamp` is set for a regular
    /// file with a non-UTF-8 name (to be quarantined).
    Skipped {
        rel: String,
        reason: SkipReason,
        stamp: Option<Stamp>,
    },
    /// Something that could not be walked.
    Problem {
        rel: String,
        reason: String,
    },
}

struct Level {
    abs: PathBuf,
    rel: String,
    depth: usize,
    /// Subdirectory names still to visit, reversed (next one at the end).
    dirs: Vec<String>,
}

/// The walk; an iterator of [`Item`]s. See the module docs.
pub struct SortedWalk {
    stack: Vec<Level>,
    pending: Vec<Item>,
    started: Option<(PathBuf, String)>,
}

pub fn join_rel(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

impl SortedWalk {
    /// A walk of `start`, whose relative key is `start_rel` (`""` for the root).
    pub fn new(start: PathBuf, start_rel: &str) -> Self {
        SortedWalk {
            stack: Vec::new(),
            pending: Vec::new(),
            started: Some((start, start_rel.to_string())),
        }
    }

    /// Reads one directory: queues its files (as one item) and problems, returns its level.
    fn open(&mut self, abs: PathBuf, rel: String, depth: usize) -> Option<Level> {
        let problem = |rel: &str, reason: String| Item::Problem {
            rel: rel.to_string(),
            reason,
        };
        let rd = match fs::read_dir(&abs) {
            Ok(rd) => rd,
            Err(e) => {
                self.pending
                    .push(problem(&rel, format!("unreadable directory: {e}")));
                return None;
            }
        };
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        for entry in rd {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.pending
                        .push(problem(&rel, format!("directory listing failed: {e}")));
                    break;
                }
            };
            let os = entry.file_name();
            let Ok(kind) = classify(&entry) else { continue };
            let skipped = |rel: String, reason, stamp| Item::Skipped { rel, reason, stamp };
            let Some(name) = os.to_str() else {
                let lossy = os.to_string_lossy().into_owned();
                let stamp = match &kind {
                    _ if lossy.starts_with('.') => continue,
                    Entry::File(md) => Some(stamp_of(md)),
                    Entry::Dir => None,
                    Entry::Link { .. } | Entry::Other => continue,
                };
                self.pending.push(skipped(
                    join_rel(&rel, &lossy),
                    SkipReason::NonUtf8Name,
                    stamp,
                ));
                continue;
            };
            if is_ignored_name(name) {
                if name.starts_with('.') && matches!(kind, Entry::File(_)) {
                    self.pending
                        .push(skipped(join_rel(&rel, name), SkipReason::Hidden, None));
                }
                continue;
            }
            match kind {
                Entry::Dir => dirs.push(name.to_string()),
                Entry::File(md) => files.push((name.to_string(), md)),
                Entry::Link { dangling } => self.pending.push(skipped(
                    join_rel(&rel, name),
                    SkipReason::of_link(dangling),
                    None,
                )),
                Entry::Other => {}
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        dirs.sort_unstable_by(|a, b| b.cmp(a));
        if !files.is_empty() {
            self.pending.push(Item::Files(DirFiles {
                rel: rel.clone(),
                files,
            }));
        }
        if depth >= MAX_DEPTH && !dirs.is_empty() {
            self.pending.push(problem(
                &rel,
                format!("directories nested deeper than {MAX_DEPTH}"),
            ));
            dirs.clear();
        }
        // Problems and files of this directory come out in the order they were queued.
        self.pending.reverse();
        Some(Level {
            abs,
            rel,
            depth,
            dirs,
        })
    }
}

impl Iterator for SortedWalk {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.pending.pop() {
                return Some(item);
            }
            if let Some((abs, rel)) = self.started.take() {
                let depth = rel.split('/').filter(|s| !s.is_empty()).count();
                if let Some(level) = self.open(abs, rel, depth) {
                    self.stack.push(level);
                }
                continue;
            }
            let top = self.stack.last_mut()?;
            let Some(name) = top.dirs.pop() else {
                self.stack.pop();
                continue;
            };
            let (abs, rel, depth) = (
                top.abs.join(&name),
                join_rel(&top.rel, &name),
                top.depth + 1,
            );
            if let Some(level) = self.open(abs, rel, depth) {
                self.stack.push(level);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_in_sorted_order_one_directory_at_a_time() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for p in ["b/2", "b/1", "a/z/3", "a/y", "top", ".hidden/x", "a/w.tmp"] {
            let p = r.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"x").unwrap();
        }
        let mut seen = Vec::new();
        for item in SortedWalk::new(r.to_path_buf(), "") {
            match item {
                Item::Files(f) => {
                    let names: Vec<String> = f.files.iter().map(|x| x.0.clone()).collect();
                    seen.push(format!("{}:{}", f.rel, names.join(",")));
                }
                Item::Problem { rel, reason } => panic!("{rel}: {reason}"),
                Item::Skipped { rel, reason, .. } => panic!("{rel}: {reason:?}"),
            }
        }
        assert_eq!(seen, vec![":top", "a:y", "a/z:3", "b:1,2"]);
        let sub: Vec<_> = SortedWalk::new(r.join("a"), "a").collect();
        assert_eq!(sub.len(), 2);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_skipped_never_followed_and_unreadable_dirs_reported() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("a")).unwrap();
        fs::write(r.join("a/f"), b"1").unwrap();
        std::os::unix::fs::symlink(r, r.join("a/loop")).unwrap();
        std::os::unix::fs::symlink(r.join("a/f"), r.join("link-to-file")).unwrap();
        std::os::unix::fs::symlink(r.join("gone"), r.join("dangling")).unwrap();
        fs::write(r.join(".hidden"), b"h").unwrap();
        let items: Vec<Item> = SortedWalk::new(r.to_path_buf(), "").collect();
        let mut skipped: Vec<(&str, SkipReason)> = items
            .iter()
            .filter_map(|i| match i {
                Item::Skipped { rel, reason, .. } => Some((rel.as_str(), *reason)),
                _ => None,
            })
            .collect();
        skipped.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(
            skipped,
            vec![
                (".hidden", SkipReason::Hidden),
                ("a/loop", SkipReason::Symlink),
                ("dangling", SkipReason::Dangling),
                ("link-to-file", SkipReason::Symlink),
            ]
        );
        let files: Vec<&str> = items
            .iter()
            .filter_map(|i| match i {
                Item::Files(f) => Some(f.rel.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(files, vec!["a"]);
        assert!(!items.iter().any(|i| matches!(i, Item::Problem { .. })));
        let missing: Vec<Item> = SortedWalk::new(r.join("nope"), "nope").collect();
        assert!(matches!(&missing[..], [Item::Problem { .. }]));
    }
}
