//! Directory walking: finds every wanted file under a directory, one at a time.
//!
//! Files are handed to a visitor as they are found, never collected, so a scan of 100k files holds
//! only the directories still to visit. Symbolic links are never followed ([`root_guard`]): a link
//! to a file or a directory, dangling or not, is reported as skipped and neither entered nor read.
//! Hidden and temporary names are skipped before any `stat`; a hidden regular file that would
//! otherwise be taken, and any name that is not UTF-8, is reported as skipped too ([`skips`]).
//! Excluded directories (the processed and rejected folders) are never entered. FIFOs, sockets
//! and devices are skipped: opening a FIFO would block the source.
//!
//! [`root_guard`]: crate::source::root_guard
//! [`skips`]: crate::source::skips

use std::fs::{self, Metadata};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::names::{is_ignored_name, is_wanted_file};
use super::tracker::Stamp;
use crate::source::root_guard::{classify, Entry, FileId};
use crate::source::skips::SkipReason;

/// Directory nesting beyond which the walk stops (a guard against pathological trees).
const MAX_DEPTH: usize = 64;

/// What a source takes while walking.
#[derive(Debug, Clone, Copy)]
pub struct WalkRules<'a> {
    pub extensions: &'a [String],
    pub recursive: bool,
    /// Canonical paths of directories never to enter.
    pub excluded: &'a [PathBuf],
}

/// Why part of the tree could not be walked.
#[derive(Debug)]
pub enum Problem {
    TooDeep,
    Unreadable(io::Error),
}

impl Problem {
    /// A short reason without any path (`io::Error` from `read_dir`/`stat` carries none).
    pub fn reason(&self) -> String {
        match self {
            Problem::TooDeep => format!("directories nested deeper than {MAX_DEPTH}"),
            Problem::Unreadable(e) => format!("unreadable: {e}"),
        }
    }
}

/// One thing found by the walk.
#[derive(Debug)]
pub enum Found<'a> {
    /// A wanted regular file (not a link) and its current stamp.
    File { rel: &'a str, stamp: Stamp },
    /// A candidate not taken; `rel` is lossy for non-UTF-8 names; `stamp` is set for a regular
    /// file with a non-UTF-8 name that matches the source's extensions (to be quarantined).
    Skipped {
        rel: String,
        reason: SkipReason,
        stamp: Option<Stamp>,
    },
    /// Something that could not be looked at.
    Problem { rel: String, problem: Problem },
}

/// The stamp of a file's metadata (mtime in ns since the epoch; 0 if the platform has none).
pub fn stamp_of(md: &Metadata) -> Stamp {
    let mtime_ns = md
        .modified()
        .map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        })
        .unwrap_or(0);
    Stamp {
        size: md.len(),
        mtime_ns,
        id: FileId::of(md),
    }
}

struct Dir {
    abs: PathBuf,
    rel: String,
    depth: usize,
}

fn join_rel(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Walks `start` (canonical, inside the source root, reached without links; its relative key is
/// `start_rel`, `""` for the root), calling `visit` for every wanted file, skipped candidate and
/// problem. Stops early when `visit` breaks.
pub fn walk(
    start: &Path,
    start_rel: &str,
    rules: WalkRules<'_>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if rules.excluded.iter().any(|e| e == start) {
        return ControlFlow::Continue(());
    }
    let depth = start_rel.split('/').filter(|s| !s.is_empty()).count();
    let mut stack = vec![Dir {
        abs: start.to_path_buf(),
        rel: start_rel.to_string(),
        depth,
    }];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir.abs) {
            Ok(it) => it,
            Err(e) => {
                visit(Found::Problem {
                    rel: dir.rel.clone(),
                    problem: Problem::Unreadable(e),
                })?;
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(en) => en,
                Err(e) => {
                    visit(Found::Problem {
                        rel: dir.rel.clone(),
                        problem: Problem::Unreadable(e),
                    })?;
                    break;
                }
            };
            visit_entry(&entry, &dir, rules, &mut stack, visit)?;
        }
    }
    ControlFlow::Continue(())
}

/// Looks at one directory entry, without following it.
fn visit_entry(
    entry: &fs::DirEntry,
    dir: &Dir,
    rules: WalkRules<'_>,
    stack: &mut Vec<Dir>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let os_name = entry.file_name();
    let kind = match classify(entry) {
        Ok(k) => k,
        Err(_) => return ControlFlow::Continue(()),
    };
    let Some(name) = os_name.to_str() else {
        let lossy = os_name.to_string_lossy();
        if lossy.starts_with('.') {
            return ControlFlow::Continue(());
        }
        let stamp = match &kind {
            Entry::File(md) if is_wanted_file(&lossy, rules.extensions) => Some(stamp_of(md)),
            Entry::File(_) | Entry::Other | Entry::Link { .. } => return ControlFlow::Continue(()),
            Entry::Dir if !rules.recursive => return ControlFlow::Continue(()),
            Entry::Dir => None,
        };
        return visit(Found::Skipped {
            rel: join_rel(&dir.rel, &lossy),
            reason: SkipReason::NonUtf8Name,
            stamp,
        });
    };
    if is_ignored_name(name) {
        return match kind {
            Entry::File(_) if is_hidden_candidate(name, rules.extensions) => {
                visit(Found::Skipped {
                    rel: join_rel(&dir.rel, name),
                    reason: SkipReason::Hidden,
                    stamp: None,
                })
            }
            _ => ControlFlow::Continue(()),
        };
    }
    let rel = join_rel(&dir.rel, name);
    match kind {
        Entry::Dir if rules.recursive => push_dir(stack, dir, entry.path(), rel, rules, visit),
        Entry::File(md) if is_wanted_file(name, rules.extensions) => visit(Found::File {
            rel: &rel,
            stamp: stamp_of(&md),
        }),
        Entry::Link { .. }
            if fs::canonicalize(entry.path()).is_ok_and(|c| rules.excluded.contains(&c)) =>
        {
            // The operator's processed / rejected folder, configured as a link: not a candidate.
            ControlFlow::Continue(())
        }
        Entry::Link { dangling } => {
            // A link is a candidate when what it stands for would have been: a wanted name, or
            // (recursive) a directory; a dangling link counts when its name is wanted.
            let to_dir = !dangling
                && rules.recursive
                && fs::metadata(entry.path()).is_ok_and(|m| m.is_dir());
            if !(to_dir || is_wanted_file(name, rules.extensions)) {
                return ControlFlow::Continue(());
            }
            visit(Found::Skipped {
                rel,
                reason: SkipReason::of_link(dangling),
                stamp: None,
            })
        }
        Entry::Dir | Entry::File(_) | Entry::Other => ControlFlow::Continue(()),
    }
}

/// A hidden name (`.x.json`, `..x.json`) that, without its leading dots, the source would take.
pub fn is_hidden_candidate(name: &str, extensions: &[String]) -> bool {
    name.starts_with('.') && is_wanted_file(name.trim_start_matches('.'), extensions)
}

fn push_dir(
    stack: &mut Vec<Dir>,
    parent: &Dir,
    abs: PathBuf,
    rel: String,
    rules: WalkRules<'_>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if rules.excluded.contains(&abs) {
        return ControlFlow::Continue(());
    }
    if parent.depth + 1 > MAX_DEPTH {
        return visit(Found::Problem {
            rel,
            problem: Problem::TooDeep,
        });
    }
    stack.push(Dir {
        abs,
        rel,
        depth: parent.depth + 1,
    });
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Skipped = Vec<(String, SkipReason, bool)>;

    fn collect(root: &Path, rules: WalkRules<'_>) -> (Vec<String>, Skipped, Vec<(String, String)>) {
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        let mut problems = Vec::new();
        let root = fs::canonicalize(root).unwrap();
        let _ = walk(&root, "", rules, &mut |f| {
            match f {
                Found::File { rel, .. } => files.push(rel.to_string()),
                Found::Skipped { rel, reason, stamp } => {
                    skipped.push((rel, reason, stamp.is_some()))
                }
                Found::Problem { rel, problem } => problems.push((rel, problem.reason())),
            }
            ControlFlow::Continue(())
        });
        files.sort();
        skipped.sort_by(|a, b| a.0.cmp(&b.0));
        (files, skipped, problems)
    }

    #[test]
    fn finds_wanted_files_skips_hidden_temp_and_excluded() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        for p in [
            "a.json",
            "sub/b.json",
            "sub/deep/c.JSON",
            "x.xml",
            "y.json.part",
            ".h/z.json",
        ] {
            let p = r.join(p);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"{}").unwrap();
        }
        fs::create_dir_all(r.join("processed/q")).unwrap();
        fs::write(r.join("processed/q/done.json"), b"{}").unwrap();
        let excluded = vec![fs::canonicalize(r.join("processed")).unwrap()];
        let ext = vec!["json".to_string()];
        let rules = WalkRules {
            extensions: &ext,
            recursive: true,
            excluded: &excluded,
        };
        let (files, skipped, problems) = collect(r, rules);
        assert_eq!(files, vec!["a.json", "sub/b.json", "sub/deep/c.JSON"]);
        assert!(problems.is_empty(), "{problems:?}");
        // Hidden directories are not candidates; temporary names are not counted.
        assert!(skipped.is_empty(), "{skipped:?}");
        let flat = WalkRules {
            recursive: false,
            ..rules
        };
        assert_eq!(collect(r, flat).0, vec!["a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_skipped_never_followed_and_odd_names_reported() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("a")).unwrap();
        fs::write(r.join("a/f.json"), b"1").unwrap();
        std::os::unix::fs::symlink(r, r.join("a/loop")).unwrap();
        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join("g.json"), b"22").unwrap();
        std::os::unix::fs::symlink(other.path(), r.join("linked")).unwrap();
        std::os::unix::fs::symlink(other.path().join("g.json"), r.join("file.json")).unwrap();
        std::os::unix::fs::symlink(r.join("missing"), r.join("dangling.json")).unwrap();
        fs::write(r.join("..x.json"), b"h").unwrap();
        fs::write(r.join(".x.xml"), b"h").unwrap();
        fs::write(
            r.join(std::ffi::OsStr::from_bytes(b"\x82\xa0.json")),
            b"sjis",
        )
        .unwrap();
        fs::write(
            r.join(std::ffi::OsStr::from_bytes(b"\x82\xa0.xml")),
            b"sjis",
        )
        .unwrap();
        let ext = vec!["json".to_string()];
        let rules = WalkRules {
            extensions: &ext,
            recursive: true,
            excluded: &[],
        };
        let (files, skipped, problems) = collect(r, rules);
        assert_eq!(files, vec!["a/f.json"]);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<(&str, SkipReason, bool)> = skipped
            .iter()
            .map(|(r, s, q)| (r.as_str(), *s, *q))
            .collect();
        assert_eq!(
            got,
            vec![
                ("..x.json", SkipReason::Hidden, false),
                ("a/loop", SkipReason::Symlink, false),
                ("dangling.json", SkipReason::Dangling, false),
                ("file.json", SkipReason::Symlink, false),
                ("linked", SkipReason::Symlink, false),
                ("\u{fffd}\u{fffd}.json", SkipReason::NonUtf8Name, true),
            ]
        );
    }

    #[test]
    fn a_break_stops_the_walk() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..10 {
            fs::write(d.path().join(format!("{i}.json")), b"x").unwrap();
        }
        let mut n = 0;
        let flow = walk(
            d.path(),
            "",
            WalkRules {
                extensions: &[],
                recursive: true,
                excluded: &[],
            },
            &mut |_| {
                n += 1;
                if n == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(flow, ControlFlow::Break(()));
        assert_eq!(n, 3);
    }
}
