//! Directory walking: finds every wanted file under a directory, one at a time.
//!
//! Files are handed to a visitor as they are found, never collected, so a scan of 100k files holds
//! only the directories still to visit. Symbolic links are followed (an inbox may be assembled from
//! links); a link that points at one of its own ancestors is reported as a loop and not entered.
//! Hidden and temporary names are skipped before any `stat`; excluded directories (the processed
//! and rejected folders) are never entered. FIFOs, sockets and devices are skipped: opening a FIFO
//! would block the source.

use std::fs::{self, Metadata};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::names::{is_ignored_name, is_wanted_file};
use super::tracker::Stamp;

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

/// Why part of the tree could not be walked or a file could not be keyed.
#[derive(Debug)]
pub enum Problem {
    NotUtf8,
    Loop,
    TooDeep,
    Unreadable(io::Error),
}

impl Problem {
    /// A short reason without any path (`io::Error` from `read_dir`/`stat` carries none).
    pub fn reason(&self) -> String {
        match self {
            Problem::NotUtf8 => "path is not valid UTF-8".into(),
            Problem::Loop => "directory loop (a link points at its own ancestor)".into(),
            Problem::TooDeep => format!("directories nested deeper than {MAX_DEPTH}"),
            Problem::Unreadable(e) => format!("unreadable: {e}"),
        }
    }
}

/// One thing found by the walk.
#[derive(Debug)]
pub enum Found<'a> {
    /// A wanted regular file (links followed) and its current stamp.
    File { rel: &'a str, stamp: Stamp },
    /// Something that could not be looked at; `rel` is lossy for non-UTF-8 names.
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
    }
}

struct Dir {
    abs: PathBuf,
    rel: String,
    canon: PathBuf,
    depth: usize,
}

fn join_rel(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// Walks `start` (whose relative key is `start_rel`, `""` for the root), calling `visit` for every
/// wanted file and every problem. Stops early when `visit` breaks.
pub fn walk(
    start: &Path,
    start_rel: &str,
    rules: WalkRules<'_>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let canon = match fs::canonicalize(start) {
        Ok(c) => c,
        Err(e) => {
            return visit(Found::Problem {
                rel: start_rel.to_string(),
                problem: Problem::Unreadable(e),
            })
        }
    };
    if rules.excluded.contains(&canon) {
        return ControlFlow::Continue(());
    }
    let depth = start_rel.split('/').filter(|s| !s.is_empty()).count();
    let mut stack = vec![Dir {
        abs: start.to_path_buf(),
        rel: start_rel.to_string(),
        canon,
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
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str() else {
                let lossy = join_rel(&dir.rel, &os_name.to_string_lossy());
                if !os_name.to_string_lossy().starts_with('.') {
                    visit(Found::Problem {
                        rel: lossy,
                        problem: Problem::NotUtf8,
                    })?;
                }
                continue;
            };
            if is_ignored_name(name) {
                continue;
            }
            let rel = join_rel(&dir.rel, name);
            let Ok(ft) = entry.file_type() else {
                continue;
            };
            let (md, is_link) = if ft.is_symlink() {
                match fs::metadata(entry.path()) {
                    Ok(md) => (md, true),
                    Err(e) => {
                        if is_wanted_file(name, rules.extensions) {
                            visit(Found::Problem {
                                rel,
                                problem: Problem::Unreadable(e),
                            })?;
                        }
                        continue;
                    }
                }
            } else if ft.is_dir() {
                if rules.recursive {
                    push_dir(
                        &mut stack,
                        &dir,
                        entry.path(),
                        rel,
                        dir.canon.join(name),
                        rules,
                        visit,
                    )?;
                }
                continue;
            } else if ft.is_file() {
                if !is_wanted_file(name, rules.extensions) {
                    continue;
                }
                match entry.metadata() {
                    Ok(md) => (md, false),
                    Err(e) => {
                        visit(Found::Problem {
                            rel,
                            problem: Problem::Unreadable(e),
                        })?;
                        continue;
                    }
                }
            } else {
                continue;
            };
            if md.is_dir() {
                if rules.recursive && is_link {
                    match fs::canonicalize(entry.path()) {
                        Ok(c) => push_dir(&mut stack, &dir, entry.path(), rel, c, rules, visit)?,
                        Err(e) => visit(Found::Problem {
                            rel,
                            problem: Problem::Unreadable(e),
                        })?,
                    }
                }
            } else if md.is_file() && is_wanted_file(name, rules.extensions) {
                visit(Found::File {
                    rel: &rel,
                    stamp: stamp_of(&md),
                })?;
            }
        }
    }
    ControlFlow::Continue(())
}

fn push_dir(
    stack: &mut Vec<Dir>,
    parent: &Dir,
    abs: PathBuf,
    rel: String,
    canon: PathBuf,
    rules: WalkRules<'_>,
    visit: &mut dyn FnMut(Found<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    if rules.excluded.contains(&canon) {
        return ControlFlow::Continue(());
    }
    if parent.canon.starts_with(&canon) {
        return visit(Found::Problem {
            rel,
            problem: Problem::Loop,
        });
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
        canon,
        depth: parent.depth + 1,
    });
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(root: &Path, rules: WalkRules<'_>) -> (Vec<String>, Vec<(String, String)>) {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        let _ = walk(root, "", rules, &mut |f| {
            match f {
                Found::File { rel, .. } => files.push(rel.to_string()),
                Found::Problem { rel, problem } => problems.push((rel, problem.reason())),
            }
            ControlFlow::Continue(())
        });
        files.sort();
        (files, problems)
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
        let (files, problems) = collect(r, rules);
        assert_eq!(files, vec!["a.json", "sub/b.json", "sub/deep/c.JSON"]);
        assert!(problems.is_empty(), "{problems:?}");
        let flat = WalkRules {
            recursive: false,
            ..rules
        };
        assert_eq!(collect(r, flat).0, vec!["a.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn loops_are_reported_not_followed_and_links_are_followed() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("a")).unwrap();
        fs::write(r.join("a/f.json"), b"1").unwrap();
        std::os::unix::fs::symlink(r, r.join("a/loop")).unwrap();
        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join("g.json"), b"22").unwrap();
        std::os::unix::fs::symlink(other.path(), r.join("linked")).unwrap();
        std::os::unix::fs::symlink(r.join("missing"), r.join("dangling.json")).unwrap();
        let rules = WalkRules {
            extensions: &[],
            recursive: true,
            excluded: &[],
        };
        let (files, problems) = collect(r, rules);
        assert_eq!(files, vec!["a/f.json", "linked/g.json"]);
        let reasons: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
        assert!(reasons.contains(&"a/loop"), "{problems:?}");
        assert!(reasons.contains(&"dangling.json"), "{problems:?}");
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
