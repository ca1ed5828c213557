//! `[[source.fhir]]`: a FHIR R4 REST endpoint (HTTP/1.1, optionally TLS) whose inputs are stored
//! raw and answered only after the fsync.
//!
//! Interactions ([`routes`]): `POST [base]` (transaction / batch Bundle, or a collection /
//! document Bundle as files bring them), `POST [base]/[type]`, `PUT [base]/[type]/[id]`, and
//! `GET [base]/metadata` ([`capability`]). Every accepted body is stored as received, format
//! [`FHIR_FORMAT`] (the FHIR files' format, so the same map → build → validate → deliver runs on
//! it), under origin `request:<X-Request-Id>`, else `bundle:<Bundle.identifier>`, else the
//! URL's `[type]/[id]` or `[type]`. With an `X-Request-Id` the store keeps one input per (source,
//! request id): a retry with the same JSON, however re-serialised, is answered from the stored
//! input, a different body under a used id is refused 409; without one, one input per (source,
//! origin, content). Either way a retried request is stored once and, its answer being derived
//! from the stored row ([`answer`]), answered the same way. `tsunagi queue` shows each input as
//! `<source>:request:<X-Request-Id>`, and `queue show request:<X-Request-Id>` its outcome.
//!
//! Refusals are OperationOutcomes ([`outcome`]) naming the element path, never a value
//! ([`request`]); a failed commit or a crossed disk reserve is a 503 with `Retry-After`.
//!
//! Exposure: loopback by default; elsewhere TLS and a bearer token or client certificates
//! ([`config`], [`auth`]); TLS reuses the MLLP listener's rustls setup. Slow and idle clients
//! ([`serve`]): headers must arrive within `header_timeout_secs`, a body within
//! `body_timeout_secs` (408), and a connection without a request in progress is closed after
//! `idle_timeout_secs`; at `max_connections` a new connection evicts the one idle the longest,
//! never one whose request is committing (the MLLP listener's roster).
//!
//! Invariant (the acknowledgement rule of [`crate::source`]): a 2xx is sent only after
//! [`MessageIntake::commit_message`]'s future returned `Ok`.

pub mod answer;
pub mod auth;
pub mod capability;
pub mod config;
mod kind;
pub mod outcome;
pub mod request;
pub mod resource_types;
mod routes;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use config::{FhirConfig, FhirConfigError};
pub use kind::Endpoints;

use crate::shutdown::Shutdown;
use crate::source::mllp::roster::{Roster, Seat};
use crate::source::mllp::{MessageIntake, MllpError, MllpStats};

/// The inbox format of every body taken here: the FHIR files' format.
pub const FHIR_FORMAT: &str = "fhir-json";

/// Why the endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum FhirError {
    /// The configuration has a bad value.
    #[error("{0} / {ja}", ja = .0.ja())]
    Config(#[from] FhirConfigError),
    /// The address could not be bound.
    #[error("source.fhir {name}: cannot listen on {addr}: {source}")]
    Bind {
        name: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A TLS file is missing or unusable.
    #[error("source.fhir tls: {}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
    /// The token file is missing or unusable.
    #[error("source.fhir token_file: {}: {reason}", path.display())]
    Token { path: PathBuf, reason: String },
}

/// A connection's seat, shared with its requests (they mark themselves in flight on it).
#[derive(Clone)]
pub struct SeatHandle(pub Arc<Seat>);

/// Counters of one endpoint (no labels, no content).
#[derive(Debug, Default)]
pub struct FhirStats {
    stored: AtomicU64,
    duplicates: AtomicU64,
    refused: AtomicU64,
    unavailable: AtomicU64,
    idle_closed: AtomicU64,
}

/// A copy of [`FhirStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FhirCounts {
    /// Requests stored as new inputs.
    pub stored: u64,
    /// Requests whose input was stored before (answered again, stored once).
    pub duplicates: u64,
    /// Requests refused with a 4xx.
    pub refused: u64,
    /// Requests answered 503 (store, disk reserve, closing).
    pub unavailable: u64,
    /// Connections closed for idling or a slow header.
    pub idle_closed: u64,
}

impl FhirStats {
    fn stored(&self) {
        self.stored.fetch_add(1, Ordering::Relaxed);
    }
    fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    fn refused(&self, status: StatusCode) {
        let c = if status.is_server_error() {
            &self.unavailable
        } else {
            &self.refused
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
    fn idle_closed(&self) {
        self.idle_closed.fetch_add(1, Ordering::Relaxed);
    }
    /// The counts now.
    pub fn snapshot(&self) -> FhirCounts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FhirCounts {
            stored: g(&self.stored),
            duplicates: g(&self.duplicates),
            refused: g(&self.refused),
            unavailable: g(&self.unavailable),
            idle_closed: g(&self.idle_closed),
        }
    }
}

impl FhirConfig {
    /// Loads the TLS files and the token file: what `bind` does before binding, for
    /// `check-config` too.
    pub fn secrets(&self) -> Result<(Option<TlsAcceptor>, Option<String>), FhirError> {
        let tls = match &self.tls {
            Some(files) => {
                let shared =
                    crate::source::mllp::tls::server_config(files).map_err(|e| match e {
                        MllpError::Tls { path, reason } => FhirError::Tls { path, reason },
                        other => FhirError::Tls {
                            path: files.cert.clone(),
                            reason: other.to_string(),
                        },
                    })?;
                let mut config = (*shared).clone();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(TlsAcceptor::from(Arc::new(config)))
            }
            None => None,
        };
        let token = match &self.token_file {
            Some(path) => Some(auth::load_token(path).map_err(|reason| FhirError::Token {
                path: path.clone(),
                reason,
            })?),
            None => None,
        };
        Ok((tls, token))
    }
}

/// A bound endpoint, not yet serving.
pub struct FhirListener {
    cfg: FhirConfig,
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    token: Option<String>,
    stats: Arc<FhirStats>,
}

impl FhirListener {
    /// Validates `cfg`, loads TLS and token files, and binds `cfg.listen`.
    pub async fn bind(cfg: FhirConfig) -> Result<FhirListener, FhirError> {
        cfg.validate()?;
        let (tls, token) = cfg.secrets()?;
        let bind_err = |source| FhirError::Bind {
            name: cfg.name.clone(),
            addr: cfg.listen,
            source,
        };
        let listener = TcpListener::bind(cfg.listen).await.map_err(bind_err)?;
        let addr = listener.local_addr().map_err(bind_err)?;
        let listener = FhirListener {
            cfg,
            listener,
            addr,
            tls,
            token,
            stats: Arc::new(FhirStats::default()),
        };
        tracing::info!(source = %listener.cfg.name, url = %listener.base_url(), tls = listener.tls.is_some(), token = listener.token.is_some(), "FHIR endpoint listening");
        Ok(listener)
    }

    /// The FHIR base URL, e.g. `http://127.0.0.1:8088/fhir` (the real port when `listen` had 0).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, self.cfg.base())
    }

    /// Serves until `shutdown` fires, then lets every request in progress be answered and returns
    /// the final counts.
    pub async fn run(self, intake: Arc<dyn MessageIntake>, shutdown: Shutdown) -> FhirCounts {
        let max = self.cfg.max_connections;
        // No cap per peer address: clients behind one proxy or NAT share an address, and a
        // seat given up by eviction is counted per peer until its task ends.
        let roster = Arc::new(Roster::new(max, usize::MAX, Arc::new(MllpStats::default())));
        let endpoint = Arc::new(routes::Endpoint {
            source: Arc::from(self.cfg.name.as_str()),
            base: self.cfg.base().to_string(),
            scheme: if self.tls.is_some() { "https" } else { "http" },
            local: self.addr,
            max_body: self.cfg.max_body_bytes,
            body_timeout: Duration::from_secs(self.cfg.body_timeout_secs),
            token: self.token.clone(),
            security: capability::Security {
                token: self.token.is_some(),
                client_certificates: self.cfg.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
            },
            intake,
            stats: self.stats.clone(),
        });
        let conn = Arc::new(serve::Limits {
            header: Duration::from_secs(self.cfg.header_timeout_secs),
            idle: Duration::from_secs(self.cfg.idle_timeout_secs),
            app: routes::router(endpoint),
            tls: self.tls.clone(),
            stats: self.stats.clone(),
        });
        loop {
            let (sock, peer) = tokio::select! {
                _ = shutdown.triggered() => break,
                r = crate::source::mllp::accept(&self.listener) => r,
            };
            let seat = tokio::select! {
                _ = shutdown.triggered() => break,
                s = roster.seat(peer.ip()) => s,
            };
            // Without a per-peer cap a refusal cannot happen; handled all the same.
            let Ok(seat) = seat else { continue };
            tokio::spawn(serve::connection(
                sock,
                conn.clone(),
                SeatHandle(Arc::new(seat)),
                shutdown.clone(),
            ));
        }
        drop(self.listener);
        roster.drained().await;
        let counts = self.stats.snapshot();
        tracing::info!(source = %self.cfg.name, stored = counts.stored, duplicates = counts.duplicates, refused = counts.refused, "FHIR endpoint stopped");
        counts
    }
}

#[cfg(test)]
mod tests;
