//! `disk`: free space on the data directory's disk against `[agent] disk_reserve_mb` (below it
//! the agent pauses intake). Host facts come from `sysinfo`'s disk list; [`holding`] and
//! [`is_network`] also serve the source checks.

use std::path::{Path, PathBuf};

use sysinfo::{Disk, Disks};

use super::{fix, Check, Setting};

const MIB: u64 = 1024 * 1024;

/// File systems that live on another machine.
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb",
    "smb2",
    "smb3",
    "smbfs",
    "fuse.sshfs",
    "afs",
    "9p",
];

pub fn checks(s: &Setting) -> Vec<Check> {
    let Some(cfg) = &s.config else {
        return Vec::new();
    };
    let disks = Disks::new_with_refreshed_list();
    vec![free_space(
        &disks,
        &cfg.agent.data_dir,
        cfg.agent.disk_reserve_mb,
    )]
}

fn free_space(disks: &Disks, dir: &Path, reserve_mb: u64) -> Check {
    let Some(disk) = holding(disks, dir) else {
        return Check::warn(
            "disk",
            format!("no disk found holding {}", dir.display()),
            fix(
                "データディレクトリのディスクを確認してください (df -h / エクスプローラー)",
                "check the data directory's disk by hand (df -h / Explorer)",
            ),
        );
    };
    let free_mb = disk.available_space() / MIB;
    let detail = format!(
        "{free_mb} MiB free on {} (reserve {reserve_mb} MiB)",
        disk.mount_point().display()
    );
    let fix_space = || {
        fix(
            format!("{} の空きを増やすか、disk_reserve_mb を見直してください。予約値を下回ると受付を一時停止します", disk.mount_point().display()),
            format!("free space on {} or review disk_reserve_mb; below the reserve the agent pauses intake", disk.mount_point().display()),
        )
    };
    if free_mb < reserve_mb {
        Check::fail("disk", detail, fix_space())
    } else if free_mb < reserve_mb.saturating_mul(2) {
        Check::warn(
            "disk",
            format!("{detail}: less than twice the reserve"),
            fix_space(),
        )
    } else {
        Check::ok("disk", detail)
    }
}

/// The disk whose mount point is the longest prefix of `path` (of its nearest existing
/// ancestor, made canonical so that links lead to the real disk).
pub fn holding<'d>(disks: &'d Disks, path: &Path) -> Option<&'d Disk> {
    let real = existing(path);
    disks
        .list()
        .iter()
        .filter(|d| real.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
}

fn existing(path: &Path) -> PathBuf {
    path.ancestors()
        .find_map(|p| std::fs::canonicalize(p).ok())
        .map(plain)
        .unwrap_or_else(|| path.to_path_buf())
}

/// A canonical Windows path without its `\\?\` prefix (mount points are `C:\`), UNC paths
/// left as they are.
fn plain(p: PathBuf) -> PathBuf {
    match p.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
        Some(rest) if !rest.starts_with(r"UNC\") => PathBuf::from(rest),
        _ => p,
    }
}

/// Whether `path` is on a network share: a UNC path (`\\server\share`), or a disk whose file
/// system is a network one.
pub fn is_network(disks: &Disks, path: &Path) -> bool {
    let s = path.as_os_str().to_string_lossy();
    if s.starts_with(r"\\") && !s.starts_with(r"\\?\") || s.starts_with(r"\\?\UNC\") {
        return true;
    }
    holding(disks, path).is_some_and(|d| {
        let fs = d.file_system().to_string_lossy().to_ascii_lowercase();
        NETWORK_FS.contains(&fs.as_str())
    })
}
