//! A log file that rotates by UTC day and by size, and keeps a bounded number of files.
//!
//! Files are named `<prefix>.<YYYY-MM-DD>.log`, then `<prefix>.<YYYY-MM-DD>.1.log`, `.2.log`, …
//! when a day's file fills up. Invariants:
//! - a write never splits a line across files: rotation happens *before* a write that would
//!   pass the cap (a single line larger than the cap gets a file of its own);
//! - files are created 0600 in a 0700 directory (logs are operational data, not for every user);
//! - after each rotation at most `keep` files with this prefix remain (oldest deleted first);
//! - after a restart, writing resumes in the newest file of the current day.
//!
//! Writes go straight to the file (no buffer in this process), so nothing is lost on exit.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use tracing_subscriber::fmt::MakeWriter;

use super::LogError;
use crate::owner_only;

type Clock = Box<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The rotating log file (shareable: writes are serialized by a mutex).
pub struct RollingFile {
    dir: PathBuf,
    prefix: String,
    max_bytes: u64,
    keep: usize,
    clock: Clock,
    state: Mutex<Current>,
}

struct Current {
    file: Option<File>,
    day: NaiveDate,
    seq: u32,
    size: u64,
}

impl RollingFile {
    /// Opens (creating the directory 0700 if needed) with the system clock.
    pub fn open(
        dir: &Path,
        prefix: &str,
        max_bytes: u64,
        keep: usize,
    ) -> Result<RollingFile, LogError> {
        RollingFile::with_clock(dir, prefix, max_bytes, keep, Box::new(Utc::now))
    }

    /// Same, with a clock of the caller's (for tests).
    pub fn with_clock(
        dir: &Path,
        prefix: &str,
        max_bytes: u64,
        keep: usize,
        clock: Clock,
    ) -> Result<RollingFile, LogError> {
        let io_err = |source| LogError::Io {
            path: dir.to_path_buf(),
            source,
        };
        owner_only::create_dir(dir).map_err(io_err)?;
        let today = clock().date_naive();
        let seq = list(dir, prefix)
            .into_iter()
            .filter(|(d, _, _)| *d == today)
            .map(|(_, s, _)| s)
            .max()
            .unwrap_or(0);
        let rf = RollingFile {
            dir: dir.to_path_buf(),
            prefix: prefix.to_string(),
            max_bytes: max_bytes.max(1),
            keep: keep.max(1),
            clock,
            state: Mutex::new(Current {
                file: None,
                day: today,
                seq,
                size: 0,
            }),
        };
        {
            let mut st = rf
                .state
                .lock()
                .map_err(|_| io_err(io::Error::other("poisoned")))?;
            rf.open_current(&mut st).map_err(io_err)?;
        }
        Ok(rf)
    }

    fn path_of(&self, day: NaiveDate, seq: u32) -> PathBuf {
        let name = if seq == 0 {
            format!("{}.{day}.log", self.prefix)
        } else {
            format!("{}.{day}.{seq}.log", self.prefix)
        };
        self.dir.join(name)
    }

    fn open_current(&self, st: &mut Current) -> io::Result<()> {
        let path = self.path_of(st.day, st.seq);
        let file = owner_only::options()
            .create(true)
            .append(true)
            .open(&path)?;
        st.size = file.metadata()?.len();
        st.file = Some(file);
        Ok(())
    }

    fn rotate_if_needed(&self, st: &mut Current, incoming: u64) -> io::Result<()> {
        let today = (self.clock)().date_naive();
        let rotate = if today != st.day {
            st.day = today;
            st.seq = 0;
            true
        } else if st.size > 0 && st.size + incoming > self.max_bytes {
            st.seq += 1;
            true
        } else {
            st.file.is_none()
        };
        if rotate {
            st.file = None;
            self.open_current(st)?;
            self.prune();
        }
        Ok(())
    }

    /// Deletes the oldest files beyond `keep`.
    fn prune(&self) {
        let mut files = list(&self.dir, &self.prefix);
        files.sort();
        let excess = files.len().saturating_sub(self.keep);
        for (_, _, path) in files.into_iter().take(excess) {
            let _ = fs::remove_file(path);
        }
    }

    fn write_line(&self, buf: &[u8]) -> io::Result<usize> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| io::Error::other("log file lock poisoned"))?;
        self.rotate_if_needed(&mut st, buf.len() as u64)?;
        let file = st
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("no log file open"))?;
        file.write_all(buf)?;
        st.size += buf.len() as u64;
        Ok(buf.len())
    }
}

/// The files of `prefix` in `dir`: (day, seq, path).
fn list(dir: &Path, prefix: &str) -> Vec<(NaiveDate, u32, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name
                .strip_prefix(prefix)?
                .strip_prefix('.')?
                .strip_suffix(".log")?;
            let (day, seq) = match rest.split_once('.') {
                Some((d, s)) => (d, s.parse().ok()?),
                None => (rest, 0),
            };
            Some((
                NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
                seq,
                e.path(),
            ))
        })
        .collect()
}

impl Write for &RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_line(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for RollingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_line(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RollingFile {
    type Writer = &'a RollingFile;
    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    fn clock(at: &Arc<AtomicI64>) -> Clock {
        let at = at.clone();
        Box::new(move || DateTime::from_timestamp(at.load(Ordering::SeqCst), 0).unwrap())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    // 2025-01-01T14:59:59Z = 23:59:59 JST; 2025-01-02T00:00:00Z = 09:00 JST.
    const LATE: i64 = 1_735_743_599;
    const NEXT_UTC_DAY: i64 = 1_735_776_000;

    #[test]
    fn rotates_at_the_utc_day_boundary_not_at_jst_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let at = Arc::new(AtomicI64::new(LATE));
        let mut f = RollingFile::with_clock(dir.path(), "t", 1 << 20, 10, clock(&at)).unwrap();
        f.write_all(b"a\n").unwrap();
        at.store(LATE + 2, Ordering::SeqCst); // JST midnight passed, UTC day not.
        f.write_all(b"b\n").unwrap();
        at.store(NEXT_UTC_DAY, Ordering::SeqCst);
        f.write_all(b"c\n").unwrap();
        assert_eq!(
            names(dir.path()),
            vec!["t.2025-01-01.log", "t.2025-01-02.log"]
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("t.2025-01-01.log")).unwrap(),
            "a\nb\n"
        );
    }

    #[test]
    fn size_cap_starts_new_files_without_splitting_lines_and_keeps_n() {
        let dir = tempfile::tempdir().unwrap();
        let at = Arc::new(AtomicI64::new(NEXT_UTC_DAY));
        let f = RollingFile::with_clock(dir.path(), "t", 10, 3, clock(&at)).unwrap();
        for i in 0..10 {
            (&f).write_all(format!("line-{i}\n").as_bytes()).unwrap();
        }
        let n = names(dir.path());
        assert_eq!(n.len(), 3, "{n:?}");
        assert_eq!(
            n,
            vec![
                "t.2025-01-02.7.log",
                "t.2025-01-02.8.log",
                "t.2025-01-02.9.log"
            ]
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("t.2025-01-02.9.log")).unwrap(),
            "line-9\n"
        );
        // Files owner-only, directory owner-only.
        assert!(owner_only::is_owner_only(&dir.path().join(&n[0])).unwrap());
        assert!(owner_only::is_owner_only(dir.path()).unwrap());
    }

    #[test]
    fn retention_counts_across_days_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
        let at = Arc::new(AtomicI64::new(NEXT_UTC_DAY));
        let f = RollingFile::with_clock(dir.path(), "t", 1 << 20, 2, clock(&at)).unwrap();
        for d in 0..4 {
            at.store(NEXT_UTC_DAY + d * 86_400, Ordering::SeqCst);
            (&f).write_all(b"x\n").unwrap();
        }
        assert_eq!(
            names(dir.path()),
            vec!["notes.txt", "t.2025-01-04.log", "t.2025-01-05.log"]
        );
    }

    #[test]
    fn a_restart_resumes_the_newest_file_of_the_day() {
        let dir = tempfile::tempdir().unwrap();
        let at = Arc::new(AtomicI64::new(NEXT_UTC_DAY));
        {
            let f = RollingFile::with_clock(dir.path(), "t", 8, 10, clock(&at)).unwrap();
            (&f).write_all(b"1234567\n").unwrap();
            (&f).write_all(b"abc\n").unwrap();
        }
        let f = RollingFile::with_clock(dir.path(), "t", 8, 10, clock(&at)).unwrap();
        (&f).write_all(b"de\n").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("t.2025-01-02.1.log")).unwrap(),
            "abc\nde\n"
        );
    }
}
