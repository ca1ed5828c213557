//! The source kinds the daemon starts, registered by name.
//!
//! Each kind is a function that starts every configured source of that kind: it builds the
//! source from its config, gives it an intake on the store and registers its counters. A new
//! kind (an exec plugin) is its module under `source/` plus one line in
//! [`KINDS`]; `start` in `daemon.rs` does not change.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{spawn_thread, DaemonError};
use crate::config::Config;
use crate::intake::StoreIntake;
use crate::ops::Counters;
use crate::shutdown::Shutdown;
use crate::source::exec::{self, PluginStats};
use crate::source::fhir_http::{FhirListener, FHIR_FORMAT};
use crate::source::mllp::{MllpListener, HL7V2_FORMAT};
use crate::source::{FolderSource, Ssmix2Source};
use crate::store::disk::DiskReserve;
use crate::store::{self, Writer};

/// What every source needs from the daemon.
pub(super) struct Wiring<'a> {
    pub data_dir: &'a Path,
    pub writer: &'a Writer,
    pub reserve: &'a DiskReserve,
    /// Woken after every new input.
    pub wake_processor: &'a Arc<tokio::sync::Notify>,
    pub counters: &'a Arc<Counters>,
    pub shutdown: &'a Shutdown,
}

impl Wiring<'_> {
    /// An intake storing inputs of `format` through the writer.
    fn intake(&self, format: String) -> Result<Arc<StoreIntake>, DaemonError> {
        Ok(Arc::new(StoreIntake::new(
            self.writer.clone(),
            store::open(self.data_dir)?,
            self.reserve.clone(),
            format,
            self.wake_processor.clone(),
        )))
    }
}

/// What the started sources run on.
#[derive(Default)]
pub(super) struct Started {
    /// Threads of file sources.
    pub threads: Vec<JoinHandle<()>>,
    /// Tasks of network sources.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The bound address of each MLLP listener, in config order.
    pub mllp_addrs: Vec<SocketAddr>,
    /// The base URL of each FHIR endpoint, in config order.
    pub fhir_urls: Vec<String>,
}

type Starting<'a> = Pin<Box<dyn Future<Output = Result<(), DaemonError>> + 'a>>;

/// A source kind: its name in the config (`[[source.NAME]]`) and how its sources start.
pub(super) struct Kind {
    pub name: &'static str,
    pub start: for<'a> fn(&'a Config, &'a Wiring<'a>, &'a mut Started) -> Starting<'a>,
}

/// Every source kind, in the order they start.
pub(super) const KINDS: &[Kind] = &[
    Kind {
        name: "folder",
        start: |c, w, s| Box::pin(folders(c, w, s)),
    },
    Kind {
        name: "ssmix2",
        start: |c, w, s| Box::pin(storages(c, w, s)),
    },
    Kind {
        name: "mllp",
        start: |c, w, s| Box::pin(listeners(c, w, s)),
    },
    Kind {
        name: "fhir",
        start: |c, w, s| Box::pin(endpoints(c, w, s)),
    },
    Kind {
        name: "exec",
        start: |c, w, s| Box::pin(plugins(c, w, s)),
    },
];

fn unusable(name: &str, e: impl std::fmt::Display) -> DaemonError {
    DaemonError::Source {
        name: name.to_string(),
        reason: e.to_string(),
    }
}

async fn folders(cfg: &Config, w: &Wiring<'_>, started: &mut Started) -> Result<(), DaemonError> {
    for s in &cfg.source.folder {
        let name = s.folder.name.clone();
        let source = FolderSource::new(s.folder.clone()).map_err(|e| unusable(&name, e))?;
        w.counters.watch_source_skips(&name, source.skip_counts());
        let intake = w.intake(s.format.clone())?;
        let sd = w.shutdown.clone();
        started.threads.push(spawn_thread("folder-source", move || {
            if let Err(e) = source.run(intake, sd) {
                tracing::error!(source = %name, error = %e, "folder source stopped");
            }
        })?);
    }
    Ok(())
}

async fn storages(cfg: &Config, w: &Wiring<'_>, started: &mut Started) -> Result<(), DaemonError> {
    for s in &cfg.source.ssmix2 {
        let name = s.name.clone();
        let source = Ssmix2Source::new(s.clone()).map_err(|e| unusable(&name, e))?;
        w.counters.watch_source_skips(&name, source.skip_counts());
        let format = match &s.charset {
            Some(c) => format!("ssmix2:{c}"),
            None => "ssmix2".to_string(),
        };
        let intake = w.intake(format)?;
        let sd = w.shutdown.clone();
        started.threads.push(spawn_thread("ssmix2-source", move || {
            match source.run(intake, sd) {
                Ok(stats) => {
                    tracing::info!(source = %name, stored = stats.stored, "SS-MIX2 source stopped")
                }
                Err(e) => tracing::error!(source = %name, error = %e, "SS-MIX2 source stopped"),
            }
        })?);
    }
    Ok(())
}

async fn listeners(cfg: &Config, w: &Wiring<'_>, started: &mut Started) -> Result<(), DaemonError> {
    for m in &cfg.source.mllp {
        let listener = MllpListener::bind(m.clone())
            .await
            .map_err(|e| unusable(&m.name, e))?;
        // The listener logs its address itself.
        started.mllp_addrs.push(listener.local_addr());
        w.counters.watch_mllp(&m.name, listener.stats());
        let intake = w.intake(HL7V2_FORMAT.to_string())?;
        let (sd, name) = (w.shutdown.clone(), m.name.clone());
        started.tasks.push(tokio::spawn(async move {
            match listener.run(intake, sd).await {
                Ok(counts) => tracing::info!(source = %name, ?counts, "MLLP listener stopped"),
                Err(e) => tracing::error!(source = %name, error = %e, "MLLP listener stopped"),
            }
        }));
    }
    Ok(())
}

async fn endpoints(cfg: &Config, w: &Wiring<'_>, started: &mut Started) -> Result<(), DaemonError> {
    for f in &cfg.source.fhir {
        let endpoint = FhirListener::bind(f.clone())
            .await
            .map_err(|e| unusable(&f.name, e))?;
        started.fhir_urls.push(endpoint.base_url());
        let intake = w.intake(FHIR_FORMAT.to_string())?;
        let sd = w.shutdown.clone();
        // The endpoint logs its address and, when it stops, its counts itself.
        started.tasks.push(tokio::spawn(async move {
            endpoint.run(intake, sd).await;
        }));
    }
    Ok(())
}

async fn plugins(cfg: &Config, w: &Wiring<'_>, started: &mut Started) -> Result<(), DaemonError> {
    for x in &cfg.source.exec {
        let stats = Arc::new(PluginStats::default());
        w.counters.watch_plugin(&x.name, stats.clone());
        let feed = exec::Feed {
            cfg: x.clone(),
            source: x.name.as_str().into(),
            writer: w.writer.clone(),
            reader: std::sync::Mutex::new(store::open(w.data_dir)?),
            reserve: w.reserve.clone(),
            wake: w.wake_processor.clone(),
            stats,
            shutdown: w.shutdown.clone(),
        };
        // The supervisor logs each run's end itself.
        started
            .threads
            .push(spawn_thread("exec-source", move || exec::supervise(feed))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_table_of_the_config_has_a_kind() {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert_eq!(names, ["folder", "ssmix2", "mllp", "fhir", "exec"]);
    }
}
