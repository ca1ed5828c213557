//! End-to-end tests of the SS-MIX2 source: synthetic storages in temp dirs (and the shared
//! ssmixtwins-300 storage when present), real notify events, a fake in-memory intake. Waits are
//! "eventually, within a bound". Cases are in `cases.rs`; the throughput measurement in `bench.rs`.

mod bench;
mod cases;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::source::{Committed, IncomingFile, IntakeError, Refusal};

const BOUND: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Fake {
    /// rel of every new store, in order.
    stored: Vec<String>,
    store: HashMap<(String, Vec<u8>), i64>,
    known: HashSet<(String, u64, i128)>,
    oversize: Vec<String>,
    /// Files refused for their name (lossy relative path).
    bad_names: Vec<String>,
    batches: usize,
    reads_offered: usize,
    known_asked: usize,
    /// Trigger this shutdown after this many batch commits.
    stop_after: Option<(usize, Shutdown)>,
    /// Trigger this shutdown once this many files are stored.
    stop_at_stored: Option<(usize, Shutdown)>,
}

#[derive(Default)]
struct FakeIntake(Mutex<Fake>);

impl FakeIntake {
    fn with<R>(&self, f: impl FnOnce(&mut Fake) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
    fn stored(&self) -> Vec<String> {
        self.with(|f| f.stored.clone())
    }
}

impl Intake for FakeIntake {
    fn is_known(&self, _: &str, rel: &str, size: u64, mtime_ns: i128) -> Result<bool, IntakeError> {
        Ok(self.with(|f| {
            f.known_asked += 1;
            f.known.contains(&(rel.to_string(), size, mtime_ns))
        }))
    }

    fn commit(&self, file: &IncomingFile<'_>) -> Result<Committed, IntakeError> {
        self.commit_batch(std::slice::from_ref(file))
            .map(|mut v| v.remove(0))
    }

    fn commit_batch(&self, files: &[IncomingFile<'_>]) -> Result<Vec<Committed>, IntakeError> {
        self.with(|f| {
            f.batches += 1;
            let mut out = Vec::new();
            for file in files {
                f.reads_offered += 1;
                assert_eq!(file.bytes.len() as u64, file.size);
                f.known
                    .insert((file.rel_path.to_string(), file.size, file.mtime_ns));
                let key = (file.rel_path.to_string(), file.bytes.to_vec());
                if let Some(id) = f.store.get(&key) {
                    out.push(Committed::AlreadyStored { inbox_id: *id });
                    continue;
                }
                let id = f.store.len() as i64 + 1;
                f.store.insert(key, id);
                f.stored.push(file.rel_path.to_string());
                out.push(Committed::Stored { inbox_id: id });
            }
            if let Some((n, sd)) = &f.stop_after {
                if f.batches >= *n {
                    sd.trigger();
                }
            }
            if let Some((n, sd)) = &f.stop_at_stored {
                if f.stored.len() >= *n {
                    sd.trigger();
                }
            }
            Ok(out)
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
            match why {
                Refusal::Oversize => f.oversize.push(rel.to_string()),
                Refusal::NameNotUtf8 => f.bad_names.push(rel.to_string()),
            }
            f.known.insert((rel.to_string(), size, mtime_ns));
        });
        Ok(())
    }
}

/// A storage path and name for one file.
fn rel_for(
    pid: &str,
    date: &str,
    dt: &str,
    order: &str,
    time: &str,
    dept: &str,
    flag: u8,
) -> String {
    format!(
        "{}/{}/{pid}/{date}/{dt}/{pid}_{date}_{dt}_{order}_{time}_{dept}_{flag}",
        &pid[..3],
        &pid[3..6]
    )
}

/// Writes `rel` under `root` with some bytes, its mtime an hour ago (stable at first sight).
fn put_old(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, bytes).unwrap();
    let f = fs::File::options().write(true).open(&p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// Every regular file under `root` with its size and mtime (to prove nothing changed).
fn listing(root: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let md = fs::metadata(&d).unwrap();
        out.insert(d.clone(), (0, md.modified().unwrap()));
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let md = fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), (md.len(), md.modified().unwrap()));
            }
        }
    }
    out
}

fn cfg(root: &Path, watch: WatchMode) -> Ssmix2Config {
    Ssmix2Config {
        watch,
        stable_ms: 200,
        poll_interval_ms: 200,
        rescan_secs: 3600,
        ..Ssmix2Config::new("ss", root)
    }
}

/// A running source on its own thread.
struct Running {
    shutdown: Shutdown,
    handle: thread::JoinHandle<Result<Ssmix2Stats, Ssmix2Error>>,
}

fn start(cfg: Ssmix2Config, intake: &Arc<FakeIntake>, shutdown: Shutdown) -> Running {
    let src = Ssmix2Source::new(cfg).unwrap();
    let i: Arc<dyn Intake> = Arc::clone(intake) as Arc<dyn Intake>;
    let sd = shutdown.clone();
    Running {
        shutdown,
        handle: thread::spawn(move || src.run(i, sd)),
    }
}

impl Running {
    fn stop(self) -> Ssmix2Stats {
        self.shutdown.trigger();
        self.join()
    }
    fn join(self) -> Ssmix2Stats {
        self.handle.join().unwrap().unwrap()
    }
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < BOUND, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}
