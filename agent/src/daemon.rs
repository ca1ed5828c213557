//! The daemon: builds every stage from a [`Config`] and runs them until shutdown.
//!
//! ```text
//! FolderSource ─(thread per folder)───┐
//! Ssmix2Source ─(thread per storage)──┤
//! MllpListener ─(task per connection)─┼─▶ StoreIntake ─▶ Writer ─▶ inbox
//! FhirListener ─(task per connection)─┤
//! exec plugin ──(thread per plugin)───┘
//!                                                   Processor (thread) ─▶ outbox
//!                                                   Sender (tokio task) ─▶ Uplink ─▶ platform
//!                                                   housekeeping (task): disk reserve, pruning, heartbeat
//!                                                   ops surface (task): /healthz /readyz /metrics /
//! ```
//! Start order is store → processor → sender → sources, so nothing is taken in before the stages
//! behind it exist; stop order is the reverse: sources stop taking files, the processor finishes
//! its batch, the sender records the outcomes of requests in flight, and the writer thread ends
//! when its last handle is dropped, after its last commit.
//!
//! The sources start through `Sources::start` (`source::kinds`), kind by kind; this module never
//! names a kind. The stages below the config get their section or a small struct built in
//! [`settings`], never the whole `Config`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::Config;
use crate::ops::{Counters, OpsError, OpsListener, OpsState, Readiness};
use crate::pipeline::Processor;
use crate::reload_request::ReloadRequest;
use crate::sender::Sender;
use crate::shutdown::Shutdown;
use crate::source::kinds::{Listening, StartError, Started, Wiring};
use crate::store::disk::DiskReserve;
use crate::store::retention::{self, Cutoffs, RetentionConfig};
use crate::store::{self, query, StoreError, Writer};
use crate::uplink::Uplink;

mod settings;

pub use settings::processor_settings;
use settings::reporting;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The database could not be opened or migrated.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A source could not start.
    #[error(transparent)]
    Source(#[from] StartError),
    /// The agent settings are not usable (institution number, department).
    #[error("settings: {0}")]
    Settings(String),
    /// The uplink could not be built (certificates, URL).
    #[error("uplink: {0}")]
    Uplink(String),
    /// The operations surface's settings are unusable (TLS files).
    #[error("{0}")]
    Ops(OpsError),
}

/// A running daemon. Trigger the shutdown given to [`start`], then call [`Running::wait`].
pub struct Running {
    threads: Vec<JoinHandle<()>>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    sender: tokio::task::JoinHandle<()>,
    housekeeping: tokio::task::JoinHandle<()>,
    ops: Option<tokio::task::JoinHandle<()>>,
    ops_url: Option<String>,
    listening: Vec<Listening>,
    writer_thread: JoinHandle<()>,
}

impl Running {
    /// The operations surface's base URL (`http://127.0.0.1:9464`), when it listens.
    pub fn ops_url(&self) -> Option<&str> {
        self.ops_url.as_deref()
    }

    /// Where each network source listens (bound address or base URL), in config order.
    pub fn listening(&self) -> &[Listening] {
        &self.listening
    }

    /// Waits until every stage has drained and stopped.
    pub async fn wait(self) {
        // Listeners first: they answer every message already handed to the store.
        for l in self.listeners {
            let _ = l.await;
        }
        let _ = self.sender.await;
        let _ = self.housekeeping.await;
        if let Some(ops) = self.ops {
            let _ = ops.await;
        }
        let threads = self.threads;
        let writer_thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
            let _ = writer_thread.join();
        })
        .await;
    }
}

/// Starts every stage on the current tokio runtime. `base_dir` resolves the uplink's relative
/// paths; `reload` makes the processor re-read masters, mapping table and the loaded FHIR
/// package at once (SIGHUP, the service's ParamChange).
pub async fn start(
    cfg: &Config,
    base_dir: &Path,
    shutdown: Shutdown,
    reload: ReloadRequest,
) -> Result<Running, DaemonError> {
    let data_dir = cfg.agent.data_dir.clone();
    let conn = store::identity::open_checked(&data_dir, cfg.store.accept_new_store)?;
    let (writer, writer_thread) = Writer::spawn(conn)?;
    // What /readyz and /metrics learn from the stages (the sender may set the uplink state and
    // the HL7 decoder the replacement count: clone these into them).
    let readiness = Readiness::new();
    let counters = Counters::new();
    readiness.set_store_ok(true);
    readiness.watch_store(writer.lost());
    counters.watch_commits(writer.figures());
    readiness.set_certificates(crate::ops::certificates::files(
        &cfg.uplink,
        &cfg.source,
        &cfg.ops,
        base_dir,
    ));
    let reserve = DiskReserve::new(
        data_dir.clone(),
        cfg.agent.disk_reserve_mb.saturating_mul(1_048_576),
        2_000,
    );
    let wake_processor = Arc::new(crate::doorbell::Doorbell::new());
    let wake_sender = Arc::new(tokio::sync::Notify::new());
    let uplink = Uplink::from_config(&cfg.uplink, base_dir)
        .map_err(|e| DaemonError::Uplink(e.to_string()))?;
    let route = uplink.route_name();
    let policy = cfg
        .uplink
        .retry
        .policy()
        .map_err(|e| DaemonError::Uplink(e.to_string()))?;

    let mut threads = Vec::new();
    // Ready once at least one national master is loaded (`tsunagi masters load`).
    readiness.set_masters_loaded(crate::store::terminology::masters_loaded(&data_dir));
    let settings = processor_settings(cfg).map_err(|e| DaemonError::Settings(e.to_string()))?;
    let processor = Processor::configured(
        &settings,
        &data_dir,
        writer.clone(),
        store::open(&data_dir)?,
        wake_sender.clone(),
    )
    .map_err(|e| DaemonError::Settings(e.to_string()))?
    .with_counters(counters.clone())
    .with_readiness(readiness.clone())
    .with_reload_requests(reload.clone());
    {
        let (wake, sd) = (wake_processor.clone(), shutdown.clone());
        tokio::spawn(crate::pipeline::ring_on_reload_and_stop(
            wake.clone(),
            reload,
            sd.clone(),
        ));
        threads.push(spawn_thread("processor", move || processor.run(wake, sd))?);
    }

    let sender = Sender::new(
        writer.clone(),
        uplink,
        policy,
        cfg.uplink.concurrency,
        wake_sender,
    );
    let sd = shutdown.clone();
    let sender = tokio::spawn(async move {
        if let Err(e) = sender.run(sd).await {
            tracing::error!(error = %e, "sender stopped");
        }
    });

    let wiring = Wiring {
        data_dir: &data_dir,
        writer: &writer,
        reserve: &reserve,
        wake_processor: &wake_processor,
        counters: counters.as_ref(),
        shutdown: &shutdown,
    };
    let mut started = Started::default();
    cfg.source.start(&wiring, &mut started).await?;
    threads.append(&mut started.threads);
    let (listeners, listening) = (started.tasks, started.listening);

    let (ops, ops_url) = start_ops(cfg, &data_dir, &readiness, &counters, &shutdown).await?;
    // Fleet reporting (`[fleet]`) is awaited with the listeners: it says goodbye on a clean stop.
    let mut listeners = listeners;
    listeners.extend(
        crate::fleet::spawn(
            cfg.fleet.as_ref(),
            &reporting(cfg, route),
            base_dir,
            readiness.clone(),
            counters.clone(),
            shutdown.clone(),
        )
        .map_err(|e| DaemonError::Settings(e.to_string()))?,
    );
    listeners.extend(start_telemetry(
        cfg,
        base_dir,
        route,
        OpsState {
            data_dir: data_dir.clone(),
            readiness: readiness.clone(),
            counters: counters.clone(),
        },
        &shutdown,
    )?);
    let housekeeping = tokio::spawn(housekeeping(
        writer,
        reserve,
        Retention {
            data_dir: data_dir.clone(),
            raw_days: cfg.agent.retention_days,
            cfg: cfg.store.retention,
            counters: counters.clone(),
        },
        readiness.clone(),
        shutdown,
    ));
    tracing::info!(sources = cfg.source.names().len(), route, "tsunagi started");
    Ok(Running {
        threads,
        listeners,
        sender,
        housekeeping,
        ops,
        ops_url,
        listening,
        writer_thread,
    })
}

/// Starts the OTLP metrics push (`[telemetry]`), when configured.
fn start_telemetry(
    cfg: &Config,
    base_dir: &Path,
    route: &'static str,
    ops: OpsState,
    shutdown: &Shutdown,
) -> Result<Option<tokio::task::JoinHandle<()>>, DaemonError> {
    let Some(telemetry) = &cfg.telemetry else {
        return Ok(None);
    };
    let resource = crate::fleet::resource_attributes(&reporting(cfg, route)).map_err(|e| {
        DaemonError::Settings(format!(
            "[telemetry]: cannot keep the instance uid in the data dir: {e}"
        ))
    })?;
    crate::telemetry::spawn(telemetry, base_dir, ops, resource, shutdown.clone())
        .map(Some)
        .map_err(|e| DaemonError::Settings(e.to_string()))
}

/// Binds and spawns the operations surface. An address already in use is logged and the agent
/// runs without it (the surface watches the work; it must not stop it); unusable TLS files stop
/// the start, like the uplink's. Returns the task and the base URL it serves.
async fn start_ops(
    cfg: &Config,
    data_dir: &Path,
    readiness: &Arc<Readiness>,
    counters: &Arc<Counters>,
    shutdown: &Shutdown,
) -> Result<(Option<tokio::task::JoinHandle<()>>, Option<String>), DaemonError> {
    let state = OpsState {
        data_dir: data_dir.to_path_buf(),
        readiness: readiness.clone(),
        counters: counters.clone(),
    };
    match OpsListener::bind(&cfg.ops, state).await {
        Ok(Some(listener)) => {
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let scheme = if listener.is_tls() { "https" } else { "http" };
            tracing::info!(addr = %addr, scheme, "ops surface listening");
            let url = listener.local_addr().map(|a| format!("{scheme}://{a}"));
            Ok((Some(tokio::spawn(listener.run(shutdown.clone()))), url))
        }
        Ok(None) => Ok((None, None)),
        Err(e @ OpsError::Bind { .. }) => {
            tracing::error!(error = %e, "ops surface not started; the agent runs without it / 運用画面を開始できません");
            Ok((None, None))
        }
        Err(e) => Err(DaemonError::Ops(e)),
    }
}

fn spawn_thread(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, DaemonError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| {
            DaemonError::Store(StoreError::Io {
                path: name.into(),
                source: e,
            })
        })
}

/// What housekeeping prunes, and where it counts what it pruned.
struct Retention {
    /// The store's directory: attempts and Patients due are read on a connection of the round's
    /// own (`retention::run_round`).
    data_dir: PathBuf,
    raw_days: u32,
    cfg: RetentionConfig,
    counters: Arc<Counters>,
}

/// Publishes the disk-reserve state for `status`, prunes patient data past its retention every
/// hour, and writes a heartbeat through the writer every 30 s (its success is the store's
/// readiness).
async fn housekeeping(
    writer: Writer,
    reserve: DiskReserve,
    retention: Retention,
    readiness: Arc<Readiness>,
    shutdown: Shutdown,
) {
    let mut published: Option<bool> = None;
    let mut last_prune = 0i64;
    let mut last_beat = 0i64;
    loop {
        let now = crate::clock::now_ms();
        if now - last_beat >= 30_000 {
            last_beat = now;
            let v = now.to_string();
            let ok = writer
                .call_async(move |c| query::set_state(c, "heartbeat", &v))
                .await
                .is_ok();
            if !ok {
                tracing::warn!("the store did not take the heartbeat write");
            }
            readiness.set_store_ok(ok);
        }
        let paused = reserve.check();
        if published != Some(paused) {
            let v = if paused { "1" } else { "0" };
            if writer
                .call_async(move |c| query::set_state(c, "intake_paused", v))
                .await
                .is_ok()
            {
                published = Some(paused);
            }
        }
        let now = crate::clock::now_ms();
        if now - last_prune > 3_600_000 {
            last_prune = now;
            prune_round(&writer, &retention, now, &shutdown).await;
        }
        tokio::select! {
            _ = shutdown.triggered() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One pruning round (`store::retention`), counted in `/metrics`; a failure is retried next hour.
async fn prune_round(writer: &Writer, retention: &Retention, now: i64, shutdown: &Shutdown) {
    let cutoffs = Cutoffs::at(now, retention.raw_days, &retention.cfg);
    let (round, done) =
        retention::run_round(writer, &retention.data_dir, cutoffs, &retention.cfg, || {
            shutdown.is_triggered()
        })
        .await;
    for (kind, n) in round {
        retention.counters.add_pruned(kind, n);
        if n > 0 {
            tracing::info!(
                table = kind.table(),
                count = n,
                "pruned patient data past retention / 保存期間を過ぎたデータを削除しました"
            );
        }
    }
    if let Err(e) = done {
        tracing::warn!(error = %e, "pruning failed; will retry / 保存期間の整理に失敗しました。再試行します");
    }
}

/// The log line that says the agent runs and where to watch it (`tsunagi run`, the service).
pub fn announce(running: &Running) {
    let listening: Vec<String> = running
        .listening()
        .iter()
        .map(|l| format!("{} {} {}", l.kind, l.source, l.at))
        .collect();
    tracing::info!(
        status_page = running.ops_url().unwrap_or("-"),
        listening = %listening.join(", "),
        "ready: open the status page to watch the agent / 起動しました。状態ページで稼働状況を確認できます"
    );
}

/// The daemon's async runtime (for `tsunagi run` and the Windows service). The store writer and
/// the processor run on threads of their own, so the async workers (sockets, HTTP, the uplink)
/// get the cores beyond those two, and at least one. Measured on 2 cores (issue 9, part 3; BENCHMARKS.md): two workers woke each other for
/// every message (work stealing), and one worker cut the agent's CPU per MLLP message by a fifth.
/// `TOKIO_WORKER_THREADS` overrides it.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(async_workers(std::thread::available_parallelism().ok()));
    }
    builder.enable_all().build()
}

/// Async workers for this many cores: all but two (the writer's and the processor's), at least one.
fn async_workers(cores: Option<std::num::NonZeroUsize>) -> usize {
    cores.map_or(1, |n| n.get().saturating_sub(2).max(1))
}

#[cfg(test)]
mod tests {
    use super::async_workers;
    use std::num::NonZeroUsize;

    #[test]
    fn the_async_workers_leave_two_cores_to_the_writer_and_the_processor() {
        let cores = |n| NonZeroUsize::new(n);
        assert_eq!(async_workers(cores(1)), 1);
        assert_eq!(async_workers(cores(2)), 1);
        assert_eq!(async_workers(cores(4)), 2);
        assert_eq!(async_workers(cores(16)), 14);
        assert_eq!(async_workers(None), 1);
    }
}
