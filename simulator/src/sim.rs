//! Starting and stopping a simulator: configuration, the running handle, its shared state.
//!
//! Invariants: every task `start` spawns watches the one shutdown signal and is joined by
//! `RunningSim::shutdown`; the admin listener is never bound to a non-loopback address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::{FaultDice, FaultSpec};
use crate::intake::Platform;
use crate::ledger::Ledger;
use crate::pki::ServerTls;
use crate::{admin, https, shared_folder, Stats};

/// Everything a simulator needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// mTLS listener (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Plain-HTTP admin listener; must be a loopback address.
    pub admin_listen: Option<SocketAddr>,
    /// Where accepted/rejected bodies and the identifier index live.
    pub data_dir: PathBuf,
    pub pki: ServerTls,
    pub faults: FaultSpec,
    /// Root of the shared folder route, if enabled.
    pub shared_folder: Option<PathBuf>,
    /// Registered 10-digit institution numbers; empty = accept any well-formed number.
    pub institutions: Vec<String>,
    /// Fsync what is accepted before answering (the default). Benchmarks turn it off so they
    /// measure the agent rather than the simulator's disk.
    pub fsync: bool,
}

impl SimConfig {
    /// Loopback, free port, no admin port, no faults, no shared folder, any institution.
    pub fn new(data_dir: PathBuf, pki: ServerTls) -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: None,
            data_dir,
            pki,
            faults: FaultSpec::default(),
            shared_folder: None,
            institutions: Vec::new(),
            fsync: true,
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the admin port must listen on a loopback address, not {0}")]
    AdminNotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("the `wrong-cert` fault is set but the TLS config has no wrong certificate")]
    NoWrongCert,
    #[error("cannot prepare the shared folder {path}: {source}")]
    SharedFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// State shared by every transport of one simulator.
pub(crate) struct SimState {
    pub platform: Platform,
    dice: Mutex<FaultDice>,
}

impl SimState {
    pub fn dice(&self) -> std::sync::MutexGuard<'_, FaultDice> {
        self.dice.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the faults; the RNG and the `first503` count restart.
    pub fn set_faults(&self, f: FaultSpec) {
        *self.dice() = FaultDice::new(f);
    }

    pub fn faults(&self) -> FaultSpec {
        self.dice().spec().clone()
    }
}

/// A started simulator. Dropping it also stops its tasks (in the background); `shutdown`
/// stops them and waits until they have ended.
pub struct RunningSim {
    /// The bound mTLS address.
    pub addr: SocketAddr,
    /// The bound admin address, if any.
    pub admin_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    state: Arc<SimState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    pub fn stats(&self) -> Stats {
        self.state.platform.stats()
    }

    /// Replaces the faults at run time (`wrong-cert` is ignored: it only applies at start).
    pub fn set_faults(&self, f: FaultSpec) {
        self.state.set_faults(f);
    }

    pub fn faults(&self) -> FaultSpec {
        self.state.faults()
    }

    /// `https://127.0.0.1:<port>/clins/v1/bundles`.
    pub fn bundles_url(&self) -> String {
        format!("https://{}/clins/v1/bundles", self.addr)
    }

    /// Where accepted bodies are stored (`<key>.json`).
    pub fn accepted_dir(&self) -> PathBuf {
        self.state.platform.accepted_dir()
    }

    /// Number of distinct Bundle identifiers with an accepted submission.
    pub fn identifier_count(&self) -> usize {
        self.state.platform.identifier_count()
    }

    /// The latest accepted Idempotency-Key for a `Bundle.identifier.value`.
    pub fn latest_key_for(&self, bundle_identifier: &str) -> Option<String> {
        self.state.platform.latest_key_for(bundle_identifier)
    }

    /// Stops listening, drops open connections (including hung ones) and joins every task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Binds the listeners and starts serving.
pub async fn start(cfg: SimConfig) -> Result<RunningSim, SimError> {
    if let Some(a) = cfg.admin_listen {
        if !a.ip().is_loopback() {
            return Err(SimError::AdminNotLoopback(a));
        }
    }
    let data_dir = cfg.data_dir.clone();
    let fsync = cfg.fsync;
    let ledger = tokio::task::spawn_blocking(move || {
        Ledger::open(&data_dir).map(|mut l| {
            l.set_fsync(fsync);
            l
        })
    })
    .await
    .map_err(|e| SimError::DataDir {
        path: cfg.data_dir.clone(),
        source: std::io::Error::other(e),
    })?
    .map_err(|source| SimError::DataDir {
        path: cfg.data_dir.clone(),
        source,
    })?;
    let tls = https::server_config(&cfg.pki, cfg.faults.wrong_cert)?;
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })
    };
    let listener = bind(cfg.listen).await?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: cfg.listen,
        source,
    })?;
    let admin = match cfg.admin_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let admin_addr = match &admin {
        Some(l) => Some(l.local_addr().map_err(|source| SimError::Bind {
            addr: cfg.admin_listen.unwrap_or(addr),
            source,
        })?),
        None => None,
    };
    if let Some(root) = &cfg.shared_folder {
        shared_folder::prepare(root).map_err(|source| SimError::SharedFolder {
            path: root.clone(),
            source,
        })?;
    }

    let state = Arc::new(SimState {
        platform: Platform::new(ledger, cfg.institutions.clone()),
        dice: Mutex::new(FaultDice::new(cfg.faults.clone())),
    });
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(https::serve(
        listener,
        tls,
        state.clone(),
        stopped.clone(),
    ))];
    if let Some(l) = admin {
        tasks.push(tokio::spawn(admin::serve(
            l,
            state.clone(),
            stopped.clone(),
        )));
    }
    if let Some(root) = cfg.shared_folder.clone() {
        tasks.push(tokio::spawn(shared_folder::run(
            root,
            state.clone(),
            stopped,
        )));
    }
    tracing::info!(%addr, ?admin_addr, "platform simulator started");
    Ok(RunningSim {
        addr,
        admin_addr,
        data_dir: cfg.data_dir,
        state,
        stop,
        tasks,
    })
}
