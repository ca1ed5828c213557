//! Windows: each plugin runs in its own Job Object, which applies `memory_mb` (per-process
//! committed memory) and `cpu_secs` (per-process user time) as the Unix rlimits do, and ends the
//! plugin and everything it started when the agent closes the job (`end`, or the agent's own
//! exit: kill on job close). The process is assigned right after it starts (the standard library
//! cannot start it suspended), so its first instructions run before the limits apply.

use std::os::windows::io::AsRawHandle;
use std::process::Child;
use std::sync::Mutex;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_LIMIT_PROCESS_MEMORY,
    JOB_OBJECT_LIMIT_PROCESS_TIME,
};

use super::config::ExecConfig;

/// The jobs of running plugins, by process id (the handle as an integer: it is only closed).
static JOBS: Mutex<Vec<(u32, isize)>> = Mutex::new(Vec::new());

/// Puts `child` in a new job with `cfg`'s limits. A failure is logged and the plugin runs
/// unconfined (it is still ended with `TerminateProcess`).
pub fn contain(child: &Child, cfg: &ExecConfig) {
    // SAFETY: creating an unnamed job with default security; the handle is checked.
    let job: HANDLE = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if job.is_null() {
        tracing::warn!(source = %cfg.name, error = %std::io::Error::last_os_error(), "plugin: no job object; memory and CPU limits not applied / ジョブオブジェクトを作成できません");
        return;
    }
    // SAFETY: a zeroed JOBOBJECT_EXTENDED_LIMIT_INFORMATION is a valid "no limits" value.
    let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    let mut flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if let Some(mb) = cfg.memory_mb {
        flags |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
        info.ProcessMemoryLimit =
            usize::try_from(mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    }
    if let Some(secs) = cfg.cpu_secs {
        flags |= JOB_OBJECT_LIMIT_PROCESS_TIME;
        // 100-nanosecond units.
        info.BasicLimitInformation.PerProcessUserTimeLimit =
            i64::try_from(secs.saturating_mul(10_000_000)).unwrap_or(i64::MAX);
    }
    info.BasicLimitInformation.LimitFlags = flags;
    let size =
        u32::try_from(std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>()).unwrap_or(0);
    // SAFETY: `info` lives across the call and `size` is its size; `job` is a valid handle, as
    // is the child's process handle (the Child owns it and outlives the call).
    let ok = unsafe {
        SetInformationJobObject(
            job,
            JobObjectExtendedLimitInformation,
            (&info as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
            size,
        ) != 0
            && AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE) != 0
    };
    if !ok {
        tracing::warn!(source = %cfg.name, error = %std::io::Error::last_os_error(), "plugin: job object limits not applied / ジョブオブジェクトの制限を適用できません");
        // SAFETY: closing the handle created above, once.
        unsafe { CloseHandle(job) };
        return;
    }
    if let Ok(mut jobs) = JOBS.lock() {
        jobs.push((child.id(), job as isize));
    }
}

/// Closes the job of process `pid` (ending it and what it started), if it has one.
pub fn close(pid: u32) {
    let job = JOBS.lock().ok().and_then(|mut jobs| {
        let i = jobs.iter().position(|(p, _)| *p == pid)?;
        Some(jobs.swap_remove(i).1)
    });
    if let Some(job) = job {
        // SAFETY: the handle was stored by `contain` and is closed once (removed from the list).
        unsafe { CloseHandle(job as HANDLE) };
    }
}
