//! `%ProgramData%\tsunagi`, the service's home: config, certificates, data and logs, readable
//! by SYSTEM and the Administrators group only (the agent's owner-only rule, `owner_only`).
//!
//! At each start the service tightens its home, every directory and file in it, to owner-only:
//! files an administrator copied in (a client key, a token file) inherit the ProgramData
//! folder's wide read access until then, and new files inherit the protected DACL afterwards.
//! Links are not followed and the folders the config shares with other programs (export
//! folders, SS-MIX2 storages, the shared-folder uplink) are left as they are. A config kept
//! anywhere else only has its own file tightened: the service never locks down a folder it was
//! not installed to.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::logging::LogConfig;
use crate::owner_only;

/// Where Windows keeps ProgramData when the environment does not say.
const DEFAULT_PROGRAM_DATA: &str = r"C:\ProgramData";

/// `%ProgramData%\tsunagi`, from the value of `ProgramData`.
pub fn dir(program_data: Option<&OsStr>) -> PathBuf {
    let base = program_data
        .filter(|p| !p.is_empty())
        .unwrap_or(OsStr::new(DEFAULT_PROGRAM_DATA));
    PathBuf::from(base).join("tsunagi")
}

/// `loaded` with log files in `home\logs` when it names no directory.
pub fn with_log_dir(loaded: Option<LogConfig>, home: &Path) -> LogConfig {
    let mut cfg = loaded.unwrap_or_default();
    if cfg.dir.is_none() {
        cfg.dir = Some(home.join("logs"));
    }
    cfg
}

/// Whether `config_dir` is `home` (Windows paths compare without regard to case or to `/`
/// against `\`).
pub fn is_home(config_dir: &Path, home: &Path) -> bool {
    same_path(config_dir, home)
}

fn same_path(a: &Path, b: &Path) -> bool {
    comparable(a) == comparable(b)
}

fn comparable(p: &Path) -> String {
    p.to_string_lossy()
        .replace('/', "\\")
        .trim_end_matches('\\')
        .to_lowercase()
}

/// The folders the config shares with other programs: never tightened.
pub fn shared_folders(cfg: &Config) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = cfg.source.described().flat_map(|(_, s)| s.shared).collect();
    if let Some(shared) = &cfg.uplink.shared_folder {
        out.push(shared.dir.clone());
    }
    out
}

/// What [`restrict`] tightened.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restricted {
    /// Directories set owner-only.
    pub dirs: usize,
    /// Files set owner-only.
    pub files: usize,
    /// Shared folders and links left as they are.
    pub left: usize,
}

/// Tightens the service's files: all of `home` when the config is in it, else the config file.
pub fn restrict(config: &Path, home: &Path, shared: &[PathBuf]) -> io::Result<Restricted> {
    let mut done = Restricted::default();
    if is_home(&crate::config::base_dir(config), home) {
        restrict_tree(home, shared, &mut done)?;
    } else {
        owner_only::restrict_file(config)?;
        done.files += 1;
    }
    Ok(done)
}

fn restrict_tree(dir: &Path, shared: &[PathBuf], done: &mut Restricted) -> io::Result<()> {
    owner_only::create_dir(dir)?;
    done.dirs += 1;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // `file_type` does not follow links (symbolic links and junctions alike).
        let kind = entry.file_type()?;
        if kind.is_symlink() || shared.iter().any(|s| same_path(s, &path)) {
            done.left += 1;
        } else if kind.is_dir() {
            restrict_tree(&path, shared, done)?;
        } else {
            owner_only::restrict_file(&path)?;
            done.files += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
