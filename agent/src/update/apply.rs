//! `tsunagi update apply`: refuse unless everything checks, then stage, verify, keep the previous
//! binary, swap, restart and watch (gate.rs). Every refusal happens before the swap, so the
//! running binary is byte-identical after it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::config::UpdateConfig;
use super::error::{Result, UpdateError};
use super::manifest::{self, Offer, Release};
use super::mode::Mode;
use super::restart;
use super::state::{self, UpdateState};
use super::verify;

/// How long apply waits for deliveries in flight to finish before refusing.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(30);

/// Flags of `update apply`, and how to ask the running agent whether it is ready.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub allow_downgrade: bool,
    pub retry_failed: bool,
    /// Download and verify, change nothing.
    pub dry_run: bool,
    /// `/readyz` with the `[ops]` token and pinned certificate.
    pub probe: super::probe::Probe,
}

/// What apply did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    UpToDate(String),
    /// `--dry-run`: the archive verified.
    Verified(String),
    /// Installed; `restarted` when a running daemon was restarted on it and passed its watch.
    Installed {
        version: String,
        restarted: bool,
    },
}

/// Runs the whole apply.
pub fn apply(upd: &UpdateConfig, data_dir: &Path, opts: ApplyOptions) -> Result<Applied> {
    apply_in(Mode::detect(), upd, data_dir, opts)
}

fn apply_in(
    mode: Mode,
    upd: &UpdateConfig,
    data_dir: &Path,
    opts: ApplyOptions,
) -> Result<Applied> {
    if let Mode::PackageManaged { marker } = mode {
        return Err(UpdateError::PackageManaged {
            marker: marker.display().to_string(),
        });
    }
    let keys = upd.keys()?;
    let checked = super::check::check(upd, data_dir)?;
    let release = match checked.offer {
        Offer::UpToDate(r) => return Ok(Applied::UpToDate(r.version)),
        Offer::Older(r) if !opts.allow_downgrade => {
            return Err(UpdateError::Downgrade {
                offered: r.version,
                running: manifest::running_version().into(),
            })
        }
        Offer::Older(r) | Offer::Newer(r) => r,
    };
    if checked.failed_before && !opts.retry_failed {
        return Err(UpdateError::FailedBefore {
            version: release.version,
        });
    }
    let new_binary = stage(&checked.manifest_url, &release, &keys, data_dir)?;
    if opts.dry_run {
        return Ok(Applied::Verified(release.version));
    }
    let exe = std::env::current_exe().map_err(|e| UpdateError::io("finding the binary", e))?;
    let daemon = restart::daemon(data_dir).filter(|d| restart::alive(d.pid));
    if let Some(d) = &daemon {
        if !same_file(&d.exe, &exe) {
            return Err(UpdateError::OtherBinary {
                daemon: d.exe.display().to_string(),
            });
        }
        let url = d.ops_url.as_deref().ok_or(UpdateError::NoHealthCheck)?;
        if !opts.probe.ready(url) {
            return Err(UpdateError::NotReadyBefore { url: url.into() });
        }
        wait_no_delivery_in_flight(data_dir, IN_FLIGHT_WAIT)?;
    }
    let prev = keep_previous(&exe, data_dir)?;
    swap(&new_binary)?;
    let mut st = UpdateState::read_or_default(data_dir)?;
    st.installed = Some(release.version.clone());
    st.previous = Some(manifest::running_version().into());
    st.available = None;
    let Some(old) = daemon else {
        st.last_result = Some(format!(
            "installed {v}; the agent was not running: start it / {v} を導入しました。エージェントを起動してください",
            v = release.version
        ));
        st.write(data_dir)?;
        return Ok(Applied::Installed {
            version: release.version,
            restarted: false,
        });
    };
    st.write(data_dir)?;
    match super::gate::restart_and_watch(data_dir, upd, &old, &opts.probe) {
        Ok(()) => {
            st.last_result = Some(format!(
                "installed {v}; it is ready / {v} を導入し、正常に稼働しています",
                v = release.version
            ));
            st.write(data_dir)?;
            Ok(Applied::Installed {
                version: release.version,
                restarted: true,
            })
        }
        Err(reason) => {
            let installed = super::gate::Installed {
                exe: &exe,
                prev: &prev,
                release: &release,
            };
            Err(super::gate::roll_back(
                data_dir,
                upd,
                &old,
                installed,
                &reason,
                &opts.probe,
            ))
        }
    }
}

/// Downloads the archive into `DATA/update/staging/`, verifies it and extracts the binary.
fn stage(
    manifest_url: &str,
    release: &Release,
    keys: &[super::config::Key],
    data_dir: &Path,
) -> Result<PathBuf> {
    let staging = state::dir(data_dir).join("staging");
    let _ = std::fs::remove_dir_all(&staging);
    crate::owner_only::create_dir(&staging)
        .map_err(|e| UpdateError::io(format!("creating {}", staging.display()), e))?;
    let archive = staging.join(manifest::archive_name(release));
    super::fetch::archive(
        &manifest::archive_url(manifest_url, release),
        release.size,
        &archive,
    )?;
    verify::verify_archive(&archive, release, keys)?;
    let bin_dir = staging.join("bin");
    crate::owner_only::create_dir(&bin_dir)
        .map_err(|e| UpdateError::io(format!("creating {}", bin_dir.display()), e))?;
    verify::extract_binary(&archive, &bin_dir)
}

/// Refuses while the store has deliveries in flight, after waiting a little for them.
fn wait_no_delivery_in_flight(data_dir: &Path, wait: Duration) -> Result<()> {
    if !crate::store::db_path(data_dir).exists() {
        return Ok(());
    }
    let deadline = Instant::now() + wait;
    loop {
        let count = in_flight(data_dir)?;
        if count == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(UpdateError::DeliveryInFlight { count });
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn in_flight(data_dir: &Path) -> Result<i64> {
    let store_err = |e: crate::store::StoreError| UpdateError::Store(e.to_string());
    let conn = crate::store::open_existing(data_dir).map_err(store_err)?;
    let status = crate::store::query::status(&conn).map_err(store_err)?;
    Ok(status.count(crate::store::OutboxState::InFlight))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Where the previous binary is kept.
pub fn previous_path(data_dir: &Path) -> PathBuf {
    state::dir(data_dir).join(if cfg!(windows) {
        "tsunagi.prev.exe"
    } else {
        "tsunagi.prev"
    })
}

/// Copies the running binary to `DATA/update/tsunagi.prev`.
fn keep_previous(exe: &Path, data_dir: &Path) -> Result<PathBuf> {
    let prev = previous_path(data_dir);
    std::fs::copy(exe, &prev).map_err(|e| {
        UpdateError::io(
            format!("keeping {} as {}", exe.display(), prev.display()),
            e,
        )
    })?;
    Ok(prev)
}

/// Replaces the running binary's file with `new` (self-replace: a rename on Unix, the Windows
/// dance for a running .exe).
fn swap(new: &Path) -> Result<()> {
    self_replace::self_replace(new)
        .map_err(|e| UpdateError::io(format!("replacing the binary with {}", new.display()), e))
}

/// Puts `prev` back at `exe` (after a swap `current_exe` names the replaced file, so the path
/// comes from before it): a copy beside it, renamed over it.
pub fn restore(prev: &Path, exe: &Path) -> Result<()> {
    let io = |e| {
        UpdateError::io(
            format!("restoring {} from {}", exe.display(), prev.display()),
            e,
        )
    };
    let dir = exe.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".tsunagi.restore")
        .tempfile_in(dir)
        .map_err(io)?;
    std::fs::copy(prev, tmp.path()).map_err(io)?;
    tmp.persist(exe).map_err(|e| io(e.error))?;
    Ok(())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
