//! Durable file writes: the one way the simulator puts a file on disk.
//!
//! `write_atomic` writes to `<name>.tmp` in the same directory, fsyncs it, renames it over the
//! final name and fsyncs the directory, so a crash leaves either the old file, the new file, or
//! a stray `.tmp` (which readers ignore), never a torn file. Files are created owner-only (0600)
//! unless the caller asks for a public mode, because most of them hold patient data.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Mode for files holding patient data or keys.
pub const PRIVATE: u32 = 0o600;
/// Mode for public material (certificates).
pub const PUBLIC: u32 = 0o644;

/// The temporary name `write_atomic` uses for `path`.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `contents` to `path` atomically and durably (tmp + fsync + rename + fsync dir).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, contents, mode, true)
}

/// [`write_atomic`], with the fsyncs only when `fsync` (the benchmark turns them off so that it
/// measures the agent, not the simulator's disk; the write stays atomic by the rename).
pub fn write_atomic_with(path: &Path, contents: &[u8], mode: u32, fsync: bool) -> io::Result<()> {
    let tmp = tmp_path(path);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    let mut f = opts.open(&tmp)?;
    #[cfg(unix)]
    {
        // The open mode is masked by umask and ignored for an existing file: force it.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    f.write_all(contents)?;
    if fsync {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, path)?;
    if fsync {
        sync_dir(path.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// Fsyncs a directory so a rename or unlink inside it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_leaves_no_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one", PRIVATE).unwrap();
        write_atomic(&p, b"two", PRIVATE).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!tmp_path(&p).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn tmp_name_keeps_the_extension() {
        assert_eq!(
            tmp_path(Path::new("/x/server.key")),
            PathBuf::from("/x/server.key.tmp")
        );
    }
}
