//! The health gate after a swap: restart the daemon, wait for the new process to record itself
//! and answer `/readyz` within `ready_timeout_secs`, then watch it for `watch_secs`. A failure
//! puts the previous binary back, starts it, and records the version as failed.

use std::path::Path;
use std::time::{Duration, Instant};

use super::config::UpdateConfig;
use super::error::UpdateError;
use super::manifest::Release;
use super::probe::Probe;
use super::restart::{self, DaemonRecord, Supervisor};
use super::state::UpdateState;

/// Consecutive failed `/readyz` answers that end the watch.
const NOT_READY_STREAK: u32 = 5;

/// Restarts the daemon recorded as `old` and watches the new process; `Err` says why it failed.
pub fn restart_and_watch(
    data_dir: &Path,
    upd: &UpdateConfig,
    old: &DaemonRecord,
    probe: &Probe,
) -> Result<(), String> {
    restart::request_restart(data_dir).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(upd.ready_timeout_secs);
    let new = wait_new_record(data_dir, old, deadline)?;
    let url = new.ops_url.clone().unwrap_or_default();
    while !probe.ready(&url) {
        if Instant::now() >= deadline {
            return Err(format!(
                "no /readyz within {} s / {} 秒以内に /readyz が応答しませんでした",
                upd.ready_timeout_secs, upd.ready_timeout_secs
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    watch(&new, &url, Duration::from_secs(upd.watch_secs), probe)
}

/// Waits for the record of a process started after `old`.
fn wait_new_record(
    data_dir: &Path,
    old: &DaemonRecord,
    deadline: Instant,
) -> Result<DaemonRecord, String> {
    loop {
        if let Some(r) = restart::daemon(data_dir).filter(|r| r.started_ms != old.started_ms) {
            return Ok(r);
        }
        // On Unix the new version runs in the same process: gone means it crashed.
        if cfg!(unix) && !restart::alive(old.pid) {
            return Err(
                "the new process exited before it started / 新しいプロセスが起動前に終了しました"
                    .into(),
            );
        }
        if Instant::now() >= deadline {
            return Err("the new process did not start in time / 新しいプロセスが時間内に起動しませんでした".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn watch(new: &DaemonRecord, url: &str, window: Duration, probe: &Probe) -> Result<(), String> {
    let end = Instant::now() + window;
    let mut streak = 0;
    while Instant::now() < end {
        if !restart::alive(new.pid) {
            return Err("the new process exited in the watch window / 監視期間中に新しいプロセスが終了しました".into());
        }
        streak = if probe.ready(url) { 0 } else { streak + 1 };
        if streak >= NOT_READY_STREAK {
            return Err("the new process stopped answering /readyz / 新しいプロセスが /readyz に応答しなくなりました".into());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Ok(())
}

/// What apply put in place.
pub struct Installed<'a> {
    /// The binary's path (recorded before the swap).
    pub exe: &'a Path,
    /// The previous binary's copy.
    pub prev: &'a Path,
    pub release: &'a Release,
}

/// Stops whatever runs in the daemon's place, puts the previous binary back, starts it again and
/// records the failure; returns the error apply reports.
pub fn roll_back(
    data_dir: &Path,
    upd: &UpdateConfig,
    old: &DaemonRecord,
    installed: Installed<'_>,
    reason: &str,
    probe: &Probe,
) -> UpdateError {
    let version = &installed.release.version;
    tracing::warn!(%version, reason, "update: rolling back / 更新を取り消します");
    let supervised = old.supervisor != Supervisor::None;
    // Under a supervisor the previous binary must be in place before the failed process ends,
    // since the supervisor restarts whatever is at the path (Unix renames over a running binary;
    // Windows cannot, and its recovery waits 10 s before the restart).
    let restore_first = supervised && cfg!(unix);
    if restore_first {
        if let Err(e) = super::apply::restore(installed.prev, installed.exe) {
            return e;
        }
    }
    for pid in [restart::daemon(data_dir).map(|r| r.pid), Some(old.pid)]
        .into_iter()
        .flatten()
    {
        if restart::alive(pid) {
            restart::stop(pid);
        }
    }
    if !restore_first {
        if let Err(e) = super::apply::restore(installed.prev, installed.exe) {
            return e;
        }
    }
    let mut st = UpdateState::read_or_default(data_dir).unwrap_or_default();
    st.record_failure(version, reason);
    st.installed = st.previous.take();
    let restarted = if supervised {
        // The kill is a failure to systemd (Restart=on-failure) and to the service's recovery.
        Ok(wait_ready(data_dir, old, upd, probe))
    } else {
        restart::start_detached(data_dir, old).map(|_| wait_ready(data_dir, old, upd, probe))
    };
    st.last_result = Some(match &restarted {
        Ok(true) => format!("{version} rolled back; the previous version runs again / 取り消し、以前のバージョンで稼働中"),
        Ok(false) => format!("{version} rolled back; the previous version did not answer /readyz yet / 取り消しましたが以前のバージョンの応答を確認できません"),
        Err(e) => format!("{version} rolled back; starting the previous version failed: {e}"),
    });
    if let Err(e) = st.write(data_dir) {
        return e;
    }
    UpdateError::RolledBack {
        version: version.clone(),
        reason: reason.into(),
    }
}

/// Whether the restarted previous version becomes ready in time.
fn wait_ready(data_dir: &Path, old: &DaemonRecord, upd: &UpdateConfig, probe: &Probe) -> bool {
    let deadline = Instant::now() + Duration::from_secs(upd.ready_timeout_secs);
    while Instant::now() < deadline {
        let fresh = restart::daemon(data_dir).filter(|r| r.started_ms != old.started_ms);
        if let Some(url) = fresh.and_then(|r| r.ops_url) {
            if probe.ready(&url) {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    false
}
