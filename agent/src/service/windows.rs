//! The SCM side of the service: the dispatcher, the control handler, status reports and the
//! recovery settings. What to report and when is decided in `status.rs`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use anyhow::Context;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceState, ServiceStatus,
    ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use super::status::{self, Exit, Report, Reports, State};
use crate::reload_request::ReloadRequest;
use crate::shutdown::Shutdown;

/// What the command line said, for the service's main function (the SCM calls it without).
struct Start {
    config: PathBuf,
    accept_new_store: bool,
}

static START: OnceLock<Start> = OnceLock::new();
static CLEAN: AtomicBool = AtomicBool::new(false);

/// The SCM answers this when the process was not started by it (`ERROR_FAILED_SERVICE_CONTROLLER_CONNECT`).
const NOT_FROM_SCM: i32 = 1063;

define_windows_service!(ffi_service_main, service_main);

pub fn run(config: PathBuf, accept_new_store: bool) -> anyhow::Result<bool> {
    let start = Start {
        config,
        accept_new_store,
    };
    if START.set(start).is_err() {
        anyhow::bail!("the service was started twice in one process");
    }
    match service_dispatcher::start(super::NAME, ffi_service_main) {
        Ok(()) => Ok(CLEAN.load(Ordering::SeqCst)),
        Err(windows_service::Error::Winapi(e)) if e.raw_os_error() == Some(NOT_FROM_SCM) => {
            anyhow::bail!(
                "--service is for the Service Control Manager (sc.exe start {name}); from a \
                 console run `tsunagi run --config FILE` / --service はサービスとして起動する\
                 ときだけ使います。コンソールでは tsunagi run --config を使ってください",
                name = super::NAME
            )
        }
        Err(e) => Err(e).context("cannot connect to the Service Control Manager"),
    }
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(start) = START.get() else {
        return;
    };
    if let Err(e) = serve(start) {
        tracing::error!(error = %format!("{e:#}"), "the service could not report to the SCM / サービス制御マネージャーに状態を報告できません");
    }
}

/// Registers the control handler, runs the agent and reports each state; errors are the SCM's.
fn serve(start: &Start) -> windows_service::Result<()> {
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    let reload = ReloadRequest::new();
    let ask_reload = reload.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Preshutdown | ServiceControl::Shutdown => {
            trigger.trigger();
            ServiceControlHandlerResult::NoError
        }
        // `sc.exe control tsunagi paramchange`: Windows' counterpart of SIGHUP.
        ServiceControl::ParamChange => {
            ask_reload.request();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let handle = service_control_handler::register(super::NAME, handler)?;
    let report = |r: Report| handle.set_service_status(to_status(r));
    let mut reports = Reports::new(std::time::Duration::ZERO);
    report(reports.starting())?;
    let exit = match prepare(start) {
        Ok((cfg, base)) => {
            let drain = status::drain_hint(&cfg);
            reports.set_drain(drain);
            set_recovery(drain);
            let controls = Controls { shutdown, reload };
            run_agent(&cfg, &base, controls, &mut reports, &report)
        }
        Err(exit) => exit,
    };
    CLEAN.store(exit == Exit::Clean, Ordering::SeqCst);
    report(reports.stopped(exit))
}

/// Reads the config and tightens the service's files; logs why it cannot.
fn prepare(start: &Start) -> Result<(crate::config::Config, PathBuf), Exit> {
    let (mut cfg, _) = crate::config::load(&start.config).map_err(|problems| {
        for p in &problems {
            tracing::error!(problem = %p, "configuration problem / 設定の問題");
        }
        Exit::Problems
    })?;
    cfg.store.accept_new_store = start.accept_new_store;
    let home = super::home::dir(std::env::var_os("ProgramData").as_deref());
    let shared = super::home::shared_folders(&cfg);
    match super::home::restrict(&start.config, &home, &shared) {
        Ok(done) => tracing::info!(
            dirs = done.dirs,
            files = done.files,
            left = done.left,
            "service files readable by SYSTEM and Administrators only / サービスのファイルを SYSTEM と Administrators のみに制限しました"
        ),
        Err(e) => {
            tracing::error!(error = %e, home = %home.display(), "cannot restrict the service's files; not starting / サービスのファイルのアクセス権を設定できないため起動しません");
            return Err(Exit::Failed);
        }
    }
    Ok((cfg, crate::config::base_dir(&start.config)))
}

/// What the control handler sets: a stop, a reload.
struct Controls {
    shutdown: Shutdown,
    reload: ReloadRequest,
}

/// Starts every stage, reports Running, and after a stop request drains while the checkpoint
/// advances.
fn run_agent(
    cfg: &crate::config::Config,
    base: &std::path::Path,
    controls: Controls,
    reports: &mut Reports,
    report: &dyn Fn(Report) -> windows_service::Result<()>,
) -> Exit {
    let rt = match crate::daemon::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime / ランタイムを起動できません");
            return Exit::Failed;
        }
    };
    let Controls { shutdown, reload } = controls;
    rt.block_on(async {
        let running = match crate::daemon::start(cfg, base, shutdown.clone(), reload).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start / 起動できません");
                return Exit::Failed;
            }
        };
        crate::daemon::announce(&running);
        if let Err(e) = report(reports.running()) {
            tracing::warn!(error = %e, "cannot report Running to the SCM");
        }
        shutdown.triggered().await;
        tracing::info!("stopping: draining work in progress / 停止処理中");
        let wait = running.wait();
        tokio::pin!(wait);
        loop {
            if let Err(e) = report(reports.stopping()) {
                tracing::warn!(error = %e, "cannot report StopPending to the SCM");
            }
            tokio::select! {
                _ = &mut wait => break,
                _ = tokio::time::sleep(status::DRAIN_TICK) => {}
            }
        }
        tracing::info!("stopped");
        Exit::Clean
    })
}

fn to_status(r: Report) -> ServiceStatus {
    let current_state = match r.state {
        State::StartPending => ServiceState::StartPending,
        State::Running => ServiceState::Running,
        State::StopPending => ServiceState::StopPending,
        State::Stopped => ServiceState::Stopped,
    };
    let controls_accepted = if r.accepts_controls {
        ServiceControlAccept::STOP
            | ServiceControlAccept::PRESHUTDOWN
            | ServiceControlAccept::PARAM_CHANGE
    } else {
        ServiceControlAccept::empty()
    };
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state,
        controls_accepted,
        exit_code: r
            .exit
            .code()
            .map_or(ServiceExitCode::NO_ERROR, ServiceExitCode::ServiceSpecific),
        checkpoint: r.checkpoint,
        wait_hint: r.wait_hint,
        process_id: None,
    }
}

/// Restart on failure (also on a stop with an error code) and give the drain time at system
/// shutdown. Logged, not fatal: the agent runs without them.
fn set_recovery(drain: std::time::Duration) {
    let set = || -> windows_service::Result<()> {
        let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
        let service = manager.open_service(super::NAME, ServiceAccess::CHANGE_CONFIG)?;
        let actions = status::RESTART_AFTER
            .iter()
            .map(|&delay| ServiceAction {
                action_type: ServiceActionType::Restart,
                delay,
            })
            .collect();
        service.update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(status::FAILURES_RESET_AFTER),
            reboot_msg: None,
            command: None,
            actions: Some(actions),
        })?;
        service.set_failure_actions_on_non_crash_failures(true)?;
        service.set_preshutdown_timeout(drain)
    };
    if let Err(e) = set() {
        tracing::warn!(error = %e, "cannot set the service's recovery actions / 回復動作を設定できません");
    }
}
