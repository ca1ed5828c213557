//! Who owns the binary: the package manager or tsunagi itself.
//!
//! A package-managed install is one whose package put a marker file in place: the .deb installs
//! `/usr/share/tsunagi/package-managed` (it counts for a binary under `/usr/`, where the package
//! puts it), the .msi a `package-managed` file beside `tsunagi.exe`; a marker beside the binary
//! counts on every platform. There `update apply` refuses (the package manager would no longer
//! match its files) and `update check` only reports the version available.

use std::path::{Path, PathBuf};

/// How this build is installed.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `update apply` swaps the binary itself.
    SelfManaged,
    /// Updates come as packages; `marker` says why we think so.
    PackageManaged { marker: PathBuf },
}

impl Mode {
    /// The mode of the running binary.
    pub fn detect() -> Mode {
        match std::env::current_exe() {
            Ok(exe) => Self::of(&exe),
            Err(_) => Mode::SelfManaged,
        }
    }

    /// The mode of the binary at `exe`.
    pub fn of(exe: &Path) -> Mode {
        candidates(exe)
            .into_iter()
            .find(|m| m.is_file())
            .map(|marker| Mode::PackageManaged { marker })
            .unwrap_or(Mode::SelfManaged)
    }

    /// The mode's name in the state file, `/metrics` and the status page.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::SelfManaged => "self-managed",
            Mode::PackageManaged { .. } => "package-managed",
        }
    }
}

/// The marker file name.
pub const MARKER: &str = "package-managed";

fn candidates(exe: &Path) -> Vec<PathBuf> {
    let mut c = Vec::new();
    if let Some(dir) = exe.parent() {
        c.push(dir.join(MARKER));
    }
    if cfg!(unix) && exe.starts_with("/usr/") {
        c.push(PathBuf::from("/usr/share/tsunagi").join(MARKER));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_beside_the_binary_makes_it_package_managed() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("tsunagi");
        std::fs::write(&exe, b"x").unwrap();
        assert_eq!(Mode::of(&exe), Mode::SelfManaged);
        std::fs::write(dir.path().join(MARKER), b"deb").unwrap();
        assert!(matches!(Mode::of(&exe), Mode::PackageManaged { .. }));
        assert_eq!(Mode::of(&exe).name(), "package-managed");
    }
}
