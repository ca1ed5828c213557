//! Keeping a file source inside its root (issue 9, F2): symbolic links never lead a source out.
//!
//! Anyone who can write to an export folder can put a link in it. A followed link would let them
//! make the agent read (and upload) any file the service account can read, or, in move mode, move
//! another folder's files into `processed/`. So, for both the folder and the SS-MIX2 source:
//! - The root is canonicalised once, when the source is built ([`RootGuard::new`]); the configured
//!   path itself may be a link (that is the operator's choice), nothing below it may.
//! - Walking looks at entries without following links ([`classify`]): a link, to a file or to a
//!   directory, dangling or not, is skipped and counted ([`super::skips`]), never entered or read.
//! - Before a file is read, every component of its relative path is looked at again without
//!   following links ([`RootGuard::look`]); the file is opened with `O_NOFOLLOW` on Unix
//!   (`FILE_FLAG_OPEN_REPARSE_POINT` on Windows) and the opened handle must be the regular file the
//!   walk saw (same device and inode, [`FileId`]); otherwise it is not read.
//! - Before a move the same look must find the same regular file ([`RootGuard::still_there`]);
//!   a file replaced (by a link or by anything else) after it was read is not moved.
//!
//! What is left: between that last look and the `rename` a few system calls later, a directory on
//! the path could still be swapped for a link by someone racing the agent; closing that window
//! needs `renameat` on directory handles. Hard links are regular files; a hard link to a file the
//! writer could not read is refused by Linux's `protected_hardlinks`. On Windows the file index is
//! not available through stable std, so [`FileId`] compares equal there and the checks rest on the
//! reparse-point tests.

use std::fs::{self, DirEntry, File, FileType, Metadata, OpenOptions};
use std::io;
use std::path::{Component, Path, PathBuf};

/// The identity of a file: device and inode on Unix (zero elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file `md` describes.
    pub fn of(md: &Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId {
                dev: md.dev(),
                ino: md.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = md;
            FileId::default()
        }
    }
}

/// Whether a file type (from `symlink_metadata` or a directory entry) is a link: a symbolic link,
/// or on Windows any name-surrogate reparse point (symbolic links and junctions).
pub fn is_link(ft: &FileType) -> bool {
    ft.is_symlink()
}

/// What a directory entry is, looked at without following a link.
#[derive(Debug)]
pub enum Entry {
    /// A regular file and its own metadata.
    File(Metadata),
    Dir,
    /// A link; `dangling` when what it points at does not exist (the target is only `stat`ed).
    Link {
        dangling: bool,
    },
    /// FIFOs, sockets, devices: never opened (a FIFO would block the source).
    Other,
}

/// Classifies a directory entry without following it.
pub fn classify(entry: &DirEntry) -> io::Result<Entry> {
    let ft = entry.file_type()?;
    if is_link(&ft) {
        let dangling =
            matches!(fs::metadata(entry.path()), Err(e) if e.kind() == io::ErrorKind::NotFound);
        return Ok(Entry::Link { dangling });
    }
    if ft.is_dir() {
        return Ok(Entry::Dir);
    }
    if ft.is_file() {
        // `DirEntry::metadata` does not follow links (Unix: fstatat with AT_SYMLINK_NOFOLLOW).
        return entry.metadata().map(Entry::File);
    }
    Ok(Entry::Other)
}

/// What is at a relative path, looked at component by component without following links.
#[derive(Debug)]
pub enum Look {
    File(Metadata),
    Dir,
    /// The path or one of its directories is a link.
    Link {
        dangling: bool,
    },
    /// Something that is neither a regular file nor a directory.
    Other,
    /// Nothing there (or a directory on the way is not a directory).
    Gone,
}

/// What opening a file inside the root gave.
#[derive(Debug)]
pub enum Opened {
    /// The regular file the caller expected, open for reading, with its metadata.
    File(File, Metadata),
    /// The path (or a directory on it) is now a link: not opened.
    Link,
    /// Something else is there now (another file, a directory, a FIFO).
    Replaced,
    Gone,
}

/// A source root that links cannot lead out of. See the module docs.
#[derive(Debug, Clone)]
pub struct RootGuard {
    root: PathBuf,
}

impl RootGuard {
    /// Canonicalises `root` once.
    pub fn new(root: &Path) -> io::Result<RootGuard> {
        Ok(RootGuard {
            root: fs::canonicalize(root)?,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path of `rel` (`/`-separated, relative to the root).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Looks at `rel` with `symlink_metadata` on every component, so no link on the way is
    /// followed. A relative path that is not made of plain names is `Gone`.
    pub fn look(&self, rel: &str) -> io::Result<Look> {
        let rel = Path::new(rel);
        let mut at = self.root.clone();
        let mut parts = rel.components().peekable();
        if parts.peek().is_none() {
            return Ok(Look::Dir);
        }
        while let Some(part) = parts.next() {
            let Component::Normal(name) = part else {
                return Ok(Look::Gone);
            };
            at.push(name);
            let md = match fs::symlink_metadata(&at) {
                Ok(md) => md,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Look::Gone),
                Err(e) => return Err(e),
            };
            let ft = md.file_type();
            if is_link(&ft) {
                let dangling =
                    matches!(fs::metadata(&at), Err(e) if e.kind() == io::ErrorKind::NotFound);
                return Ok(Look::Link { dangling });
            }
            if parts.peek().is_some() {
                if !ft.is_dir() {
                    return Ok(Look::Gone);
                }
                continue;
            }
            return Ok(if ft.is_file() {
                Look::File(md)
            } else if ft.is_dir() {
                Look::Dir
            } else {
                Look::Other
            });
        }
        Ok(Look::Gone)
    }

    /// Opens `rel` for reading if it is still the regular file `expect` identifies, reached
    /// without a link.
    pub fn open(&self, rel: &str, expect: FileId) -> io::Result<Opened> {
        match self.look(rel)? {
            Look::File(md) if FileId::of(&md) == expect => {}
            Look::File(_) | Look::Dir | Look::Other => return Ok(Opened::Replaced),
            Look::Link { .. } => return Ok(Opened::Link),
            Look::Gone => return Ok(Opened::Gone),
        }
        let file = match open_no_follow(&self.path(rel)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Opened::Gone),
            Err(e) if is_link_refusal(&e) => return Ok(Opened::Link),
            Err(e) => return Err(e),
        };
        let md = file.metadata()?;
        if is_link(&md.file_type()) {
            return Ok(Opened::Link);
        }
        if !md.is_file() || FileId::of(&md) != expect {
            return Ok(Opened::Replaced);
        }
        Ok(Opened::File(file, md))
    }

    /// Whether `rel` is still the regular file `id` identifies, reached without a link (checked
    /// right before a move).
    pub fn still_there(&self, rel: &str, id: FileId) -> io::Result<bool> {
        Ok(matches!(self.look(rel)?, Look::File(md) if FileId::of(&md) == id))
    }
}

/// Opens `path` for reading without following a link at its last component; never blocks on a
/// FIFO swapped in after the walk.
pub fn open_no_follow(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // FILE_FLAG_OPEN_REPARSE_POINT: open a link itself, which the caller then refuses.
        opts.custom_flags(0x0020_0000);
    }
    opts.open(path)
}

/// Whether an open failed because the last component is a link (`O_NOFOLLOW`).
fn is_link_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_on_the_way_or_at_the_end_are_seen_never_followed() {
        let inside = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir(inside.path().join("a")).unwrap();
        fs::write(inside.path().join("a/f.json"), b"in").unwrap();
        fs::write(outside.path().join("f.json"), b"out").unwrap();
        symlink(outside.path(), inside.path().join("dir-link")).unwrap();
        symlink(
            outside.path().join("f.json"),
            inside.path().join("file-link"),
        )
        .unwrap();
        symlink(inside.path().join("nope"), inside.path().join("dangling")).unwrap();
        let g = RootGuard::new(inside.path()).unwrap();
        assert!(matches!(g.look("a/f.json").unwrap(), Look::File(_)));
        assert!(matches!(g.look("a").unwrap(), Look::Dir));
        assert!(matches!(
            g.look("dir-link/f.json").unwrap(),
            Look::Link { dangling: false }
        ));
        assert!(matches!(
            g.look("file-link").unwrap(),
            Look::Link { dangling: false }
        ));
        assert!(matches!(
            g.look("dangling").unwrap(),
            Look::Link { dangling: true }
        ));
        assert!(matches!(g.look("a/f.json/x").unwrap(), Look::Gone));
        assert!(matches!(g.look("../x").unwrap(), Look::Gone));
        let outside_id = FileId::of(&fs::metadata(outside.path().join("f.json")).unwrap());
        assert!(matches!(
            g.open("dir-link/f.json", outside_id).unwrap(),
            Opened::Link
        ));
        assert!(matches!(
            g.open("file-link", outside_id).unwrap(),
            Opened::Link
        ));
        assert!(!g.still_there("file-link", outside_id).unwrap());
    }

    #[test]
    fn a_file_replaced_after_the_walk_is_not_opened_and_not_there() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        fs::write(&p, b"first").unwrap();
        let g = RootGuard::new(d.path()).unwrap();
        let seen = FileId::of(&fs::symlink_metadata(&p).unwrap());
        assert!(matches!(g.open("a.json", seen).unwrap(), Opened::File(..)));
        assert!(g.still_there("a.json", seen).unwrap());
        // Replaced by another regular file (new inode): not the file the walk saw.
        fs::write(d.path().join("b.tmp"), b"second").unwrap();
        fs::rename(d.path().join("b.tmp"), &p).unwrap();
        assert!(matches!(g.open("a.json", seen).unwrap(), Opened::Replaced));
        assert!(!g.still_there("a.json", seen).unwrap());
        // Replaced by a link to a file outside: refused even with the outside file's identity.
        fs::write(outside.path().join("secret"), b"secret").unwrap();
        fs::remove_file(&p).unwrap();
        symlink(outside.path().join("secret"), &p).unwrap();
        let secret = FileId::of(&fs::metadata(outside.path().join("secret")).unwrap());
        assert!(matches!(g.open("a.json", secret).unwrap(), Opened::Link));
        let err = open_no_follow(&p).unwrap_err();
        assert!(is_link_refusal(&err), "{err}");
    }
}
