//! Files and directories that hold patient data are readable by the agent's account only.
//!
//! One place says what "owner-only" means on each platform, so no other module touches modes or
//! ACLs:
//! - Unix: directories 0700, files 0600 (created with that mode from their first byte, and
//!   tightened when an older version or a user loosened them).
//! - Windows: the Administrators group as owner (set explicitly: whoever created the object,
//!   e.g. a non-administrator who made `%ProgramData%\tsunagi` first, keeps no owner's power to
//!   rewrite the DACL) and a protected DACL granting full control to SYSTEM and the
//!   Administrators group only, nothing inherited from the parent. New files inherit the DACL
//!   from their directory, so creating a file needs no call. Setting the owner takes
//!   SeTakeOwnershipPrivilege (enabled when needed), which SYSTEM and elevated administrators
//!   hold: on Windows the agent and its commands run as the service or from an Administrator
//!   prompt.
//!
//! [`FileId`] names a file on its volume (device + inode; volume serial + file index on
//! Windows): the store compares it to notice its database was deleted or replaced under it.

#[cfg(any(windows, test))]
mod sddl;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use self::windows as platform;

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents owner-only, and tightens `dir` itself when it exists
/// with wider access (parents that already exist are left as they are).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        platform::create_dir_all(dir)?;
    }
    platform::restrict_dir(dir)
}

/// Options that create a file owner-only from its first byte (`create`, `write` … are the
/// caller's).
pub fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    platform::owner_only_mode(&mut o);
    o
}

/// Tightens an existing file to owner-only (a leftover or a file someone loosened).
pub fn restrict_file(path: &Path) -> io::Result<()> {
    platform::restrict_file(path)
}

/// Whether `path` is readable by the owner only (the tests check every file the agent creates;
/// `tsunagi doctor` checks the data directory).
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    platform::is_owner_only(path)
}

/// Who owns a file, as `tsunagi doctor` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// `uid:N` on Unix, the owner's SID (or SDDL alias) on Windows.
    pub name: String,
    /// Whether that is the account running this process (`None`: cannot tell on this platform).
    pub ours: Option<bool>,
}

/// The owner of `path`.
pub fn owner(path: &Path) -> io::Result<Owner> {
    platform::owner(path)
}

/// A file's identity on its volume: equal for the same file, different for a file that was
/// deleted and created again under the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    volume: u64,
    index: u64,
}

impl FileId {
    /// The identity of the file at `path` now.
    pub fn of(path: &Path) -> io::Result<FileId> {
        let (volume, index) = platform::file_id(path)?;
        Ok(FileId { volume, index })
    }
}

/// Who runs this process, for audit lines: the login name, else the numeric account id.
pub fn account() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| platform::account_id())
}

#[cfg(test)]
mod tests;
