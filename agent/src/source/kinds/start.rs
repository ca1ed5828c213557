//! What starting a source needs from the daemon ([`Wiring`]) and what it leaves running
//! ([`Started`]).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::shutdown::Shutdown;
use crate::source::intake::StoreIntake;
use crate::store::disk::DiskReserve;
use crate::store::{self, StoreError, Writer};

/// Starting one source (network sources bind before they run, hence a future).
pub type Starting<'a> = Pin<Box<dyn Future<Output = Result<(), StartError>> + 'a>>;

/// Why a source could not start; the daemon does not start without it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The source's settings are unusable (a missing folder, a port in use, a certificate).
    #[error("source {name}: {reason}")]
    Unusable {
        /// Source name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The store could not be opened for the source's intake.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The source's thread could not be spawned.
    #[error("source thread {name}: {source}")]
    Thread {
        /// The thread's name.
        name: String,
        /// Why.
        source: std::io::Error,
    },
}

impl StartError {
    /// The source `name` cannot start, for `reason`.
    pub fn unusable(name: &str, reason: impl std::fmt::Display) -> Self {
        StartError::Unusable {
            name: name.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What every source needs from the daemon.
pub struct Wiring<'a> {
    pub data_dir: &'a Path,
    pub writer: &'a Writer,
    pub reserve: &'a DiskReserve,
    /// Woken after every new input.
    pub wake_processor: &'a Arc<crate::doorbell::Doorbell>,
    /// Where the sources' counters are registered (the operations surface's `Counters`).
    pub counters: &'a dyn Watch,
    pub shutdown: &'a Shutdown,
}

/// Takes the live counters a source keeps, for `/metrics` and the status page. Implemented by
/// the operations surface, which sits above the sources.
pub trait Watch: Send + Sync {
    /// An MLLP listener's counters.
    fn watch_mllp(&self, listener: &str, stats: Arc<crate::source::mllp::MllpStats>);
    /// An exec plugin's counters.
    fn watch_plugin(&self, source: &str, stats: Arc<crate::source::exec::PluginStats>);
    /// A folder or SS-MIX2 source's skipped candidates.
    fn watch_source_skips(&self, source: &str, counts: Arc<crate::source::SkipCounts>);
}

impl Wiring<'_> {
    /// An intake storing inputs of `format` through the writer.
    pub fn intake(&self, format: String) -> Result<Arc<StoreIntake>, StartError> {
        Ok(Arc::new(StoreIntake::new(
            self.writer.clone(),
            store::open(self.data_dir)?,
            self.reserve.clone(),
            format,
            self.wake_processor.clone(),
        )))
    }
}

/// Where a started source takes input: `at` is an address (`127.0.0.1:2575`) or a base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listening {
    /// The source's kind (`[[source.KIND]]`).
    pub kind: &'static str,
    /// The source's name.
    pub source: String,
    pub at: String,
}

/// What the started sources run on.
#[derive(Default)]
pub struct Started {
    /// Threads of file sources and plugins.
    pub threads: Vec<JoinHandle<()>>,
    /// Tasks of network sources.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Where network sources listen, in config order.
    pub listening: Vec<Listening>,
}

impl Started {
    /// Runs `f` on a new thread named `name`.
    pub fn thread(
        &mut self,
        name: &str,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), StartError> {
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map_err(|source| StartError::Thread {
                name: name.into(),
                source,
            })?;
        self.threads.push(handle);
        Ok(())
    }
}
