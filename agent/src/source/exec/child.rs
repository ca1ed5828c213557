//! Starting the plugin process (argv, never a shell) with its limits, and ending it.
//!
//! Unix: the plugin gets its own process group (so ending it ends what it started), dies with the
//! agent on Linux (`PR_SET_PDEATHSIG`), and runs under `RLIMIT_AS` / `RLIMIT_CPU` when
//! `memory_mb` / `cpu_secs` are set. Windows: the plugin runs in its own Job Object
//! ([`super::job`]) with the same limits, ended with the job (and with the agent).

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
    let child = cmd.spawn()?;
    #[cfg(windows)]
    super::job::contain(&child, cfg);
    Ok(child)
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
fn limit(_cmd: &mut Command, _cfg: &ExecConfig) {}

/// Ends the plugin (and on Unix its process group) at once and reaps it.
pub fn end(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) on our child's own process group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(windows)]
    super::job::close(child.id());
    let _ = child.kill();
    let _ = child.wait();
}
