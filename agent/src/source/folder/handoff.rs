//! File operations around a commit: reading a file that must not be half-written, and moving a
//! committed file out of the inbox durably.
//!
//! Reading verifies the file against the stamp the tracker saw stable, both before and after the
//! read (through the open handle), so a writer that resumes between the last `stat` and the read
//! is noticed and the file is settled again instead of being stored truncated. The file is opened
//! through the source's [`RootGuard`]: never through a link, and only if it is still the file
//! (device and inode) the walk saw.
//!
//! Moving never overwrites: a taken name gets a numeric suffix. After the rename both the
//! destination and the source directory are fsynced (on Unix), so a crash after `relocate` returns
//! cannot bring the file back into the inbox. If the destination is on another file system the
//! file is copied (0600), fsynced, and then removed from the inbox.

use std::fs::{self, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use super::names::suffixed_name;
use super::tracker::Stamp;
use super::walk::stamp_of;
use crate::source::root_guard::{open_no_follow, Opened, RootGuard};

/// How many suffixes are tried before giving up on a name.
const MAX_SUFFIX: u32 = 10_000;

/// The result of reading a file expected to carry `expect`.
#[derive(Debug)]
pub enum Read {
    /// The whole, unchanged content.
    Content(Vec<u8>),
    /// The file is not what the tracker saw (still being written); it now has this stamp.
    Changed(Stamp),
    /// The file vanished before it could be opened.
    Gone,
    /// The path (or a directory on it) is a link now: not read.
    Link,
    /// Another file (or a directory, a FIFO) is at the path now: not read; look at it afresh.
    Replaced,
}

/// Reads `rel` under `guard`'s root if it is still the file `expect` describes, verifying the
/// stamp again after reading.
pub fn read_stable(guard: &RootGuard, rel: &str, expect: Stamp) -> io::Result<Read> {
    let (mut file, md) = match guard.open(rel, expect.id)? {
        Opened::File(f, md) => (f, md),
        Opened::Link => return Ok(Read::Link),
        Opened::Replaced => return Ok(Read::Replaced),
        Opened::Gone => return Ok(Read::Gone),
    };
    let before = stamp_of(&md);
    if before != expect {
        return Ok(Read::Changed(before));
    }
    let cap = usize::try_from(expect.size).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(cap);
    (&mut file)
        .take(expect.size.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let after = stamp_of(&file.metadata()?);
    if after != expect || bytes.len() as u64 != expect.size {
        return Ok(Read::Changed(after));
    }
    Ok(Read::Content(bytes))
}

/// Creates `dir` and its parents (0700 on Unix: they will hold patient data).
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// The first free path for `rel` under `dest_root` (`a.json`, `a.1.json`, `a.2.json`, ...).
fn free_destination(dest_root: &Path, rel: &str) -> io::Result<PathBuf> {
    let want = dest_root.join(rel);
    if fs::symlink_metadata(&want).is_err() {
        return Ok(want);
    }
    let parent = want.parent().unwrap_or(dest_root);
    let name = want
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .to_string();
    for n in 1..=MAX_SUFFIX {
        let candidate = parent.join(suffixed_name(&name, n));
        if fs::symlink_metadata(&candidate).is_err() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name in the destination folder",
    ))
}

/// Moves `src` (relative key `rel`) to `dest_root/rel`, never overwriting.
pub fn relocate(src: &Path, dest_root: &Path, rel: &str) -> io::Result<PathBuf> {
    let dest = free_destination(dest_root, rel)?;
    let dest_dir = dest.parent().unwrap_or(dest_root).to_path_buf();
    ensure_dir(&dest_dir)?;
    match fs::rename(src, &dest) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_then_remove(src, &dest)?,
        Err(e) => return Err(e),
    }
    // No directory fsync: the content is already durable in the store, and a move that a power
    // loss undoes only puts the file back in the folder, where the store answers AlreadyStored
    // and it is moved again. Two fsyncs per file would halve intake for no safety.
    Ok(dest)
}

fn copy_then_remove(src: &Path, dest: &Path) -> io::Result<()> {
    let mut from = open_no_follow(src)?;
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut to = opts.open(dest)?;
    let copied = io::copy(&mut from, &mut to).and_then(|_| to.sync_all());
    if let Err(e) = copied {
        let _ = fs::remove_file(dest);
        return Err(e);
    }
    fs::remove_file(src)
}

/// A file read whole and stable, waiting for its batch's commit.
pub struct Prepared {
    /// Relative key under the source root.
    pub rel: String,
    /// Where it is on disk.
    pub abs: PathBuf,
    /// Size and mtime it was read at.
    pub stamp: Stamp,
    /// The content.
    pub bytes: Vec<u8>,
}

/// Commits a batch of prepared files of source `name` in one durable commit.
pub fn commit_batch(
    intake: &dyn crate::source::Intake,
    name: &str,
    batch: &[Prepared],
) -> Result<Vec<crate::source::Committed>, crate::source::IntakeError> {
    let files: Vec<crate::source::IncomingFile<'_>> = batch
        .iter()
        .map(|p| crate::source::IncomingFile {
            source: name,
            rel_path: &p.rel,
            abs_path: &p.abs,
            size: p.stamp.size,
            mtime_ns: p.stamp.mtime_ns,
            bytes: &p.bytes,
        })
        .collect();
    intake.commit_batch(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_and_notices_changes() {
        let d = tempfile::tempdir().unwrap();
        let g = RootGuard::new(d.path()).unwrap();
        let p = d.path().join("a.json");
        fs::write(&p, b"hello").unwrap();
        let s = stamp_of(&fs::metadata(&p).unwrap());
        match read_stable(&g, "a.json", s).unwrap() {
            Read::Content(b) => assert_eq!(b, b"hello"),
            other => panic!("{other:?}"),
        }
        let wrong = Stamp { size: 3, ..s };
        assert!(
            matches!(read_stable(&g, "a.json", wrong).unwrap(), Read::Changed(now) if now == s)
        );
        assert!(matches!(read_stable(&g, "gone", s).unwrap(), Read::Gone));
        fs::create_dir(d.path().join("dir")).unwrap();
        assert!(matches!(read_stable(&g, "dir", s).unwrap(), Read::Replaced));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_swapped_for_a_link_after_the_walk_is_not_read() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let g = RootGuard::new(d.path()).unwrap();
        let p = d.path().join("a.json");
        fs::write(&p, b"inside").unwrap();
        let s = stamp_of(&fs::symlink_metadata(&p).unwrap());
        fs::write(outside.path().join("secret"), b"inside").unwrap();
        fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), &p).unwrap();
        assert!(matches!(read_stable(&g, "a.json", s).unwrap(), Read::Link));
        // Even with the outside file's own stamp the link is not followed.
        let theirs = stamp_of(&fs::metadata(&p).unwrap());
        assert!(matches!(
            read_stable(&g, "a.json", theirs).unwrap(),
            Read::Link
        ));
    }

    #[test]
    fn relocate_keeps_relative_path_and_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let inbox = d.path().join("in");
        let done = d.path().join("in/processed");
        for _ in 0..3 {
            fs::create_dir_all(inbox.join("sub")).unwrap();
            fs::write(inbox.join("sub/a.json"), b"x").unwrap();
            relocate(&inbox.join("sub/a.json"), &done, "sub/a.json").unwrap();
        }
        assert!(!inbox.join("sub/a.json").exists());
        for n in ["a.json", "a.1.json", "a.2.json"] {
            assert!(done.join("sub").join(n).is_file(), "{n}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(done.join("sub")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }
}
