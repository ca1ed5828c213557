//! End-to-end tests of the folder source: real files in temp dirs, real notify events, a fake
//! in-memory intake. Every wait is "eventually, within a bound". This file is the harness; the
//! cases are in `cases.rs`.

mod cases;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::*;
use crate::source::{Committed, IncomingFile, IntakeError, Refusal};

const BOUND: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Fake {
    /// (rel, content) of every new store.
    stored: Vec<(String, Vec<u8>)>,
    /// Content already in the store, by (rel, content).
    store: HashMap<(String, Vec<u8>), i64>,
    known: HashSet<(String, u64, i128)>,
    oversize: Vec<(String, u64)>,
    /// Files refused for their name (lossy relative path).
    bad_names: Vec<String>,
    /// When set, a committed file is swapped for a link to this path during its commit.
    #[cfg_attr(not(unix), allow(dead_code))] // symlinks are made only on Unix
    swap_for_link: Option<PathBuf>,
    paused: bool,
    paused_answers: u64,
    file_existed_at_commit: Vec<bool>,
    commit_delay: Duration,
    in_commit: bool,
}

#[derive(Default)]
struct FakeIntake(Mutex<Fake>);

impl FakeIntake {
    fn with<R>(&self, f: impl FnOnce(&mut Fake) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
    fn stored_rels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.with(|f| f.stored.iter().map(|s| s.0.clone()).collect());
        v.sort();
        v
    }
}

impl Intake for FakeIntake {
    fn is_known(&self, _: &str, rel: &str, size: u64, mtime_ns: i128) -> Result<bool, IntakeError> {
        self.with(|f| {
            if f.paused {
                f.paused_answers += 1;
                return Err(IntakeError::Paused);
            }
            Ok(f.known.contains(&(rel.to_string(), size, mtime_ns)))
        })
    }

    fn commit(&self, file: &IncomingFile<'_>) -> Result<Committed, IntakeError> {
        let delay = self.with(|f| {
            f.in_commit = true;
            f.commit_delay
        });
        thread::sleep(delay);
        #[cfg(unix)]
        if let Some(target) = self.with(|f| f.swap_for_link.clone()) {
            fs::remove_file(file.abs_path).unwrap();
            std::os::unix::fs::symlink(target, file.abs_path).unwrap();
        }
        let exists = file.abs_path.is_file();
        self.with(|f| {
            f.in_commit = false;
            if f.paused {
                f.paused_answers += 1;
                return Err(IntakeError::Paused);
            }
            f.file_existed_at_commit.push(exists);
            assert_eq!(file.bytes.len() as u64, file.size);
            f.known
                .insert((file.rel_path.to_string(), file.size, file.mtime_ns));
            let key = (file.rel_path.to_string(), file.bytes.to_vec());
            if let Some(id) = f.store.get(&key) {
                return Ok(Committed::AlreadyStored { inbox_id: *id });
            }
            let id = f.store.len() as i64 + 1;
            f.store.insert(key, id);
            f.stored
                .push((file.rel_path.to_string(), file.bytes.to_vec()));
            Ok(Committed::Stored { inbox_id: id })
        })
    }

    fn refuse(
        &self,
        _: &str,
        rel: &str,
        size: u64,
        mtime_ns: i128,
        why: Refusal,
    ) -> Result<(), IntakeError> {
        self.with(|f| {
            if f.paused {
                f.paused_answers += 1;
                return Err(IntakeError::Paused);
            }
            match why {
                Refusal::Oversize => f.oversize.push((rel.to_string(), size)),
                Refusal::NameNotUtf8 => f.bad_names.push(rel.to_string()),
            }
            f.known.insert((rel.to_string(), size, mtime_ns));
            Ok(())
        })
    }
}

fn move_mode() -> FolderMode {
    FolderMode::Move {
        processed: None,
        rejected: None,
    }
}

fn cfg(root: &Path, mode: FolderMode, watch: WatchMode) -> FolderConfig {
    FolderConfig {
        watch,
        poll_interval_ms: 100,
        stable_ms: 300,
        ..FolderConfig::new("test-drop", root, mode)
    }
}

struct Running {
    shutdown: Shutdown,
    done: mpsc::Receiver<Result<FolderStats, FolderError>>,
}

fn start(cfg: FolderConfig, intake: &Arc<FakeIntake>) -> Running {
    start_counted(cfg, intake).0
}

/// Starts a source and hands back its live skip counts too.
fn start_counted(
    cfg: FolderConfig,
    intake: &Arc<FakeIntake>,
) -> (Running, Arc<crate::source::SkipCounts>) {
    let source = FolderSource::new(cfg).unwrap();
    let counts = source.skip_counts();
    let shutdown = Shutdown::new();
    let (tx, done) = mpsc::channel();
    let intake: Arc<dyn Intake> = intake.clone();
    let s = shutdown.clone();
    thread::spawn(move || {
        let _ = tx.send(source.run(intake, s));
    });
    (Running { shutdown, done }, counts)
}

impl Running {
    fn stop(self) -> FolderStats {
        self.shutdown.trigger();
        self.done
            .recv_timeout(Duration::from_secs(5))
            .expect("run returns within 5 s of shutdown")
            .unwrap()
    }
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + BOUND;
    while Instant::now() < end {
        if cond() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("not within {BOUND:?}: {what}");
}

fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Every entry under `root`: relative path → (size, mtime, is_dir).
fn listing(root: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime, bool)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p.clone());
            }
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            out.insert(rel, (md.len(), md.modified().unwrap(), md.is_dir()));
        }
    }
    out
}
