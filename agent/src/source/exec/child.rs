//! Starting the plugin process (argv, never a shell) with its limits, and ending it.
//!
//! Unix: the plugin gets its own process group (so ending it ends what it started), dies with the
//! agent on Linux (`PR_SET_PDEATHSIG`), and runs under `RLIMIT_AS` / `RLIMIT_CPU` when
//! `memory_mb` / `cpu_secs` are set. Windows: the process is ended with `TerminateProcess`; memory
//! and CPU limits (Job Objects) are not applied yet.

use std::io;
use std::process::{Child, Command, Stdio};

use super::config::ExecConfig;

/// Starts the plugin with piped stdin, stdout and stderr.
pub fn spawn(cfg: &ExecConfig) -> io::Result<Child> {
    let (program, args) = cfg
        .command
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cfg.dir())
        .env("TSUNAGI_PLUGIN_PROTOCOL", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit(&mut cmd, cfg);
    cmd.spawn()
}

#[cfg(unix)]
fn limit(cmd: &mut Command, cfg: &ExecConfig) {
    use std::os::unix::process::CommandExt;
    let memory = cfg.memory_mb.map(|mb| mb.saturating_mul(1024 * 1024));
    let cpu = cfg.cpu_secs;
    cmd.process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only calls async-signal-safe
    // functions (prctl, setrlimit) on values computed before the fork.
    unsafe {
        cmd.pre_exec(move || {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(bytes) = memory {
                set_limit(libc::RLIMIT_AS, bytes)?;
            }
            if let Some(secs) = cpu {
                set_limit(libc::RLIMIT_CPU, secs)?;
            }
            Ok(())
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type Resource = libc::__rlimit_resource_t;
#[cfg(all(unix, not(all(target_os = "linux", target_env = "gnu"))))]
type Resource = libc::c_int;

#[cfg(unix)]
fn set_limit(resource: Resource, value: u64) -> io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass; no memory is shared.
    if unsafe { libc::setrlimit(resource, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn limit(_cmd: &mut Command, cfg: &ExecConfig) {
    if cfg.memory_mb.is_some() || cfg.cpu_secs.is_some() {
        tracing::warn!(
            source = %cfg.name,
            "memory_mb and cpu_secs are not applied on this OS / この OS では memory_mb と cpu_secs は適用されません"
        );
    }
}

/// Ends the plugin (and on Unix its process group) at once and reaps it.
pub fn end(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our child's own process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
