//! `tsunagi run --service --config FILE`: the agent as a Windows service.
//!
//! The Service Control Manager (SCM) starts `tsunagi.exe run --service --config
//! %ProgramData%\tsunagi\tsunagi.toml` (installed so by the .msi, `installer/`). The service:
//! - reports StartPending while it opens the store, Running once every stage runs, StopPending
//!   with a wait hint that covers the drain (a send in flight, the last commit; the checkpoint
//!   advances every few seconds while it drains) and Stopped with its exit code;
//! - maps Stop and Preshutdown (system shutdown) to the agent's [`crate::shutdown::Shutdown`],
//!   the same drain as SIGTERM on Linux: nothing accepted is lost, work in progress finishes;
//! - maps ParamChange (`sc.exe control tsunagi paramchange`) to a
//!   [`crate::reload_request::ReloadRequest`], as SIGHUP on Linux: masters, mapping table and
//!   the loaded FHIR package re-read at once;
//! - sets its own recovery at each start: restart after 10 s, 1 min, then every 5 min, also when
//!   it stops with an error code (a broken config is retried and logged each time), the failure
//!   count reset after a day, and a preshutdown timeout as long as the drain;
//! - keeps the directory holding its config (`%ProgramData%\tsunagi`: config, certificates,
//!   data, logs) readable by SYSTEM and the Administrators group only ([`home`]); the folders
//!   the config reads inputs from or delivers to are left as they are;
//! - logs to rotated files in `%ProgramData%\tsunagi\logs` unless `[log] dir` says elsewhere (a
//!   service has no console). The SCM itself records start, stop and unexpected ends in the
//!   System event log (events 7036, 7024, 7031); the agent writes no events of its own.
//!
//! Everything that decides (the reports, the wait hint, the recovery plan, which paths are
//! restricted) is plain code tested on every platform; `windows.rs` only talks to the SCM.

// Only the log folder default is used off Windows; the rest runs there (and in tests).
#[cfg_attr(not(windows), allow(dead_code))]
pub mod home;
#[cfg(any(windows, test))]
#[cfg_attr(not(windows), allow(dead_code))]
mod status;
#[cfg(windows)]
mod windows;

use std::path::PathBuf;

/// The service's name in the SCM (`sc.exe start tsunagi`), as the installer registers it.
#[cfg(windows)]
pub const NAME: &str = "tsunagi";

/// Runs the agent under the SCM until it is stopped; refused from a console.
#[cfg(windows)]
pub fn run(config: PathBuf, accept_new_store: bool) -> anyhow::Result<bool> {
    windows::run(config, accept_new_store)
}

/// Refused outside Windows: systemd runs `tsunagi run` there.
#[cfg(not(windows))]
pub fn run(_config: PathBuf, _accept_new_store: bool) -> anyhow::Result<bool> {
    anyhow::bail!(
        "--service is for the Windows Service Control Manager; on Linux systemd runs \
         `tsunagi run --config …` (tsunagi.service) / --service は Windows サービス用です。\
         Linux では systemd が tsunagi run を起動します"
    )
}

/// The `[log]` table the service logs with: the config's, with files in
/// `%ProgramData%\tsunagi\logs` when it names no directory (or could not be read).
pub fn log_config(loaded: Option<crate::logging::LogConfig>) -> crate::logging::LogConfig {
    let home = home::dir(std::env::var_os("ProgramData").as_deref());
    home::with_log_dir(loaded, &home)
}
