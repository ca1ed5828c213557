//! The running daemon and its restart, as `update apply` sees them.
//!
//! `tsunagi run` records itself in `DATA/update/daemon.json` (pid, binary path, arguments, status
//! page address, start time) and watches for `DATA/update/restart-request`. When apply writes
//! that file, the daemon drains like at a stop (the queue stays as it is) and starts the binary
//! now at its path: on Unix it re-executes itself (same pid, so systemd keeps tracking it), on
//! Windows it starts the new process and exits. The new process records itself again, which is
//! how apply tells it from the old one before asking its `/readyz`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{Result, UpdateError};
use super::state;

/// One start of `tsunagi run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonRecord {
    pub pid: u32,
    /// The binary's path when it started (after a swap `current_exe` names the old, deleted file).
    pub exe: PathBuf,
    pub args: Vec<String>,
    /// The working directory (relative arguments are relative to it).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The operations surface (`http://127.0.0.1:9464`), when it runs.
    pub ops_url: Option<String>,
    /// Start time, milliseconds since the epoch.
    pub started_ms: i64,
    pub version: String,
    /// What restarts the daemon when it dies (none: a rollback starts it itself).
    #[serde(default)]
    pub supervisor: Supervisor,
}

/// What restarts the daemon when it fails. Under one, a rollback must not start a second copy
/// beside the one the supervisor restarts: it puts the previous binary back, ends the failed
/// process (a kill, which the supervisor counts as a failure) and waits for the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Supervisor {
    /// Started by hand or by a tool that does not restart it.
    #[default]
    None,
    /// A systemd service's main process (`SYSTEMD_EXEC_PID` is this process: a child of a
    /// process systemd started, a test run under a CI service say, is not; the unit has
    /// `Restart=on-failure`).
    Systemd,
    /// The Windows service (`tsunagi run --service`; its recovery actions restart it).
    WindowsService,
}

impl Supervisor {
    /// The supervisor of a process started by systemd directly (`systemd_main`) or not, with
    /// these arguments.
    pub fn detect(systemd_main: bool, args: &[String]) -> Self {
        if args.iter().any(|a| a == "--service") {
            Supervisor::WindowsService
        } else if systemd_main {
            Supervisor::Systemd
        } else {
            Supervisor::None
        }
    }
}

static STARTED: OnceLock<DaemonRecord> = OnceLock::new();

fn record_path(data_dir: &Path) -> PathBuf {
    state::dir(data_dir).join("daemon.json")
}

fn request_path(data_dir: &Path) -> PathBuf {
    state::dir(data_dir).join("restart-request")
}

/// Records the running daemon (called by `tsunagi run` once it is started).
pub fn record_daemon(data_dir: &Path, ops_url: Option<&str>) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| UpdateError::io("finding the binary", e))?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let systemd_main =
        std::env::var("SYSTEMD_EXEC_PID").is_ok_and(|p| p == std::process::id().to_string());
    let supervisor = Supervisor::detect(systemd_main, &args);
    let record = DaemonRecord {
        pid: std::process::id(),
        exe,
        args,
        cwd: std::env::current_dir().ok(),
        ops_url: ops_url.map(str::to_string),
        started_ms: chrono::Utc::now().timestamp_millis(),
        version: super::manifest::running_version().into(),
        supervisor,
    };
    let d = state::dir(data_dir);
    crate::owner_only::create_dir(&d)
        .map_err(|e| UpdateError::io(format!("creating {}", d.display()), e))?;
    // A request left from before this start was answered by this start.
    let _ = std::fs::remove_file(request_path(data_dir));
    let p = record_path(data_dir);
    let tmp = d.join(".daemon.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&record).unwrap_or_default())
        .and_then(|_| std::fs::rename(&tmp, &p))
        .map_err(|e| UpdateError::io(format!("writing {}", p.display()), e))?;
    let _ = STARTED.set(record);
    Ok(())
}

/// The daemon last recorded in `data_dir`.
pub fn daemon(data_dir: &Path) -> Option<DaemonRecord> {
    let bytes = std::fs::read(record_path(data_dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Asks the daemon to restart on the binary now at its path.
pub fn request_restart(data_dir: &Path) -> Result<()> {
    let p = request_path(data_dir);
    std::fs::write(&p, state::now())
        .map_err(|e| UpdateError::io(format!("writing {}", p.display()), e))
}

/// Whether a restart request is waiting.
pub fn restart_requested(data_dir: &Path) -> bool {
    request_path(data_dir).exists()
}

/// Resolves when a restart is requested (polled: the same on every platform).
pub async fn wait_for_request(data_dir: PathBuf) {
    while !restart_requested(&data_dir) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts the binary at the recorded path with the same arguments, after the daemon drained. On
/// Unix this replaces the process and returns only on failure.
pub fn reexec(data_dir: &Path) -> anyhow::Result<()> {
    let record = STARTED
        .get()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the daemon was not recorded / 起動記録がありません"))?;
    let _ = std::fs::remove_file(request_path(data_dir));
    let mut cmd = std::process::Command::new(&record.exe);
    cmd.args(&record.args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        Err(anyhow::anyhow!(
            "cannot start {}: {e} / 再起動できません",
            record.exe.display()
        ))
    }
    #[cfg(not(unix))]
    {
        cmd.spawn().map(|_| ()).map_err(|e| {
            anyhow::anyhow!(
                "cannot start {}: {e} / 再起動できません",
                record.exe.display()
            )
        })
    }
}

/// Whether process `pid` runs (a zombie does not).
pub fn alive(pid: u32) -> bool {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};
    let pid = Pid::from_u32(pid);
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    sys.process(pid)
        .is_some_and(|p| !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead))
}

/// Stops process `pid` (a stuck new version): kill, then wait for it to be gone.
pub fn stop(pid: u32) {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    let spid = Pid::from_u32(pid);
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[spid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    if let Some(p) = sys.process(spid) {
        p.kill();
    }
    for _ in 0..100 {
        if !alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `record`'s command again, detached, its output appended to `DATA/update/daemon.log`.
pub fn start_detached(data_dir: &Path, record: &DaemonRecord) -> Result<u32> {
    let log_path = state::dir(data_dir).join("daemon.log");
    let log = crate::owner_only::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| UpdateError::io(format!("opening {}", log_path.display()), e))?;
    let err = log
        .try_clone()
        .map_err(|e| UpdateError::io(format!("opening {}", log_path.display()), e))?;
    let mut cmd = std::process::Command::new(&record.exe);
    if let Some(cwd) = &record.cwd {
        cmd.current_dir(cwd);
    }
    cmd.args(&record.args)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map(|c| c.id())
        .map_err(|e| UpdateError::io(format!("starting {}", record.exe.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisor_is_told_by_the_service_flag_or_being_systemds_main_process() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Supervisor::detect(false, &args(&["run", "--service"])),
            Supervisor::WindowsService
        );
        assert_eq!(
            Supervisor::detect(
                true,
                &args(&["run", "--config", "/etc/tsunagi/tsunagi.toml"])
            ),
            Supervisor::Systemd
        );
        assert_eq!(Supervisor::detect(false, &args(&["run"])), Supervisor::None);
    }

    #[test]
    fn a_record_written_before_the_supervisor_was_recorded_reads_as_unsupervised() {
        let old = r#"{"pid":1,"exe":"/usr/bin/tsunagi","args":["run"],"ops_url":null,"started_ms":5,"version":"0.1.0"}"#;
        let r: DaemonRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.supervisor, Supervisor::None);
        let json = serde_json::to_value(DaemonRecord {
            supervisor: Supervisor::Systemd,
            ..r
        })
        .unwrap();
        assert_eq!(json["supervisor"], "systemd");
    }
}
