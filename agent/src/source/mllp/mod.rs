//! The MLLP listener: HL7 v2 messages over TCP (optionally TLS), stored raw, acknowledged after
//! the fsync.
//!
//! Shape (after mini-redis): [`MllpListener::bind`] binds the socket (port 0 works; see
//! [`MllpListener::local_addr`]); [`MllpListener::run`] accepts connections until the
//! [`Shutdown`] fires, retrying failed `accept()` calls with a capped backoff (they are transient:
//! out of file descriptors, a peer that reset early), and each connection runs in its own task
//! ([`conn`]). At shutdown the listener stops accepting, every connection stops reading, answers
//! what it already handed to the store, and closes; `run` returns when all have (draining).
//!
//! Exposure (safe beyond loopback): outside loopback the config requires TLS, or an explicit
//! `insecure_plaintext` with an `allow` list ([`config`]). At accept, a peer outside `allow`
//! ([`peers`]) or over `max_connections_per_peer` is closed at once; at `max_connections` the
//! listener keeps accepting and evicts the connection without a message in flight that made no
//! progress for the longest ([`roster`]), so stalled connections cannot lock a real sender out;
//! a frame must end within `frame_timeout_secs` of its first byte ([`conn`]). Every such close is
//! counted by reason ([`stats::CloseReason`]).
//!
//! What is stored: the bytes between `0x0B` and `0x1C`, exactly as received (format
//! [`HL7V2_FORMAT`]), under origin `<MSH-3>^<MSH-4>|<MSH-10>`. The store deduplicates on
//! (source, origin, content hash), so a sender that resends a message whose ACK it lost gets AA
//! again and the message is stored once. Only the MSH segment is read here ([`msh`]); parsing is
//! the adapter's job, later. Acknowledgement decisions are in [`ack`]; framing and tolerated
//! sender quirks in [`frame`]; counters in [`stats`]; the registered source kind in [`kind`].
//!
//! Invariant (the acknowledgement rule of [`crate::source`]): an accepting ACK (AA/CA) is written
//! only after [`MessageIntake::commit_message`]'s future returned `Ok`.

pub mod ack;
pub mod config;
mod conn;
pub mod frame;
mod kind;
pub mod msh;
pub mod peers;
pub(crate) mod roster; // shared with the FHIR endpoint
pub mod stats;
pub(crate) mod tls; // shared with the FHIR endpoint

#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use config::{MllpConfig, MllpConfigError};
pub use kind::Listeners;
pub use stats::{CloseReason, MllpCounts, MllpStats};

use roster::{Refusal, Roster, Seat};

use crate::shutdown::Shutdown;
use crate::source::{Committed, IntakeError};

/// The inbox format name of messages taken by this listener.
pub const HL7V2_FORMAT: &str = "hl7v2";

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest pause between failed `accept()` calls.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// One message offered to the store.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    /// The configured source name.
    pub source: Arc<str>,
    /// `<MSH-3>^<MSH-4>|<MSH-10>`: the deduplication origin.
    pub origin: String,
    /// The message bytes exactly as received (between 0x0B and 0x1C).
    pub raw: Vec<u8>,
}

/// The future of one commit: resolves after the commit is fsynced (or failed).
pub type CommitFuture = Pin<Box<dyn Future<Output = Result<Committed, IntakeError>> + Send>>;

/// The store side of the listener, implemented for [`crate::source::intake::StoreIntake`].
pub trait MessageIntake: Send + Sync + 'static {
    /// Stores the message durably. The future resolves `Ok` only after the commit is fsynced;
    /// `Committed::AlreadyStored` for a message with the same (source, origin, bytes) as a stored
    /// one; `IntakeError::Paused` while the disk reserve is crossed. The commit is queued when
    /// this is called, so several messages' futures share a group commit without being spawned;
    /// awaiting the future only collects the verdict.
    fn commit_message(&self, message: IncomingMessage) -> CommitFuture;

    /// Stores the message durably unless something is already stored under its (source,
    /// origin), whatever the bytes: the FHIR endpoint's `X-Request-Id` retries. Resolves like
    /// [`MessageIntake::commit_message`]; [`OriginCommit::OtherBytes`] when other bytes hold the
    /// origin (nothing stored; the caller decides whether they mean the same).
    fn commit_once_per_origin(&self, message: IncomingMessage) -> OriginCommitFuture;
}

/// What [`MessageIntake::commit_once_per_origin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginCommit {
    /// Stored now (`Stored`), or the same bytes were stored under the origin (`AlreadyStored`).
    Committed(Committed),
    /// Other bytes were stored under the origin before; nothing was stored now. The earlier
    /// input's row and raw bytes (`None` once pruned).
    OtherBytes { inbox_id: i64, raw: Option<Vec<u8>> },
}

/// The future of one commit keyed by origin.
pub type OriginCommitFuture =
    Pin<Box<dyn Future<Output = Result<OriginCommit, IntakeError>> + Send>>;

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum MllpError {
    /// The configuration has a bad value.
    #[error("{0} / {ja}", ja = .0.ja())]
    Config(#[from] MllpConfigError),
    /// The address could not be bound.
    #[error("source.mllp {name}: cannot listen on {addr}: {source}")]
    Bind {
        name: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A TLS file is missing or unusable.
    #[error("source.mllp tls: {}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
}

/// A bound MLLP listener, not yet accepting. See the module docs.
pub struct MllpListener {
    cfg: MllpConfig,
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    stats: Arc<MllpStats>,
}

impl MllpConfig {
    /// Loads the TLS files (when `[source.mllp.tls]` is set): what `bind` does before binding,
    /// for `check-config` too.
    pub fn tls_acceptor(&self) -> Result<Option<TlsAcceptor>, MllpError> {
        match &self.tls {
            Some(t) => Ok(Some(TlsAcceptor::from(tls::server_config(t)?))),
            None => Ok(None),
        }
    }
}

impl MllpListener {
    /// Validates `cfg`, loads TLS files, and binds `cfg.listen`.
    pub async fn bind(cfg: MllpConfig) -> Result<MllpListener, MllpError> {
        cfg.validate()?;
        let tls = cfg.tls_acceptor()?;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| MllpError::Bind {
                name: cfg.name.clone(),
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| MllpError::Bind {
            name: cfg.name.clone(),
            addr: cfg.listen,
            source,
        })?;
        if tls.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(
                source = %cfg.name,
                %addr,
                allow = cfg.allow.len(),
                "MLLP listens outside loopback without TLS (insecure_plaintext, allow-listed peers only): messages cross the network unencrypted / TLSなしで外部向けアドレスを待ち受けています（許可した相手のみ）"
            );
        }
        tracing::info!(source = %cfg.name, %addr, tls = tls.is_some(), "MLLP listening");
        Ok(MllpListener {
            cfg,
            listener,
            addr,
            tls,
            stats: Arc::new(MllpStats::default()),
        })
    }

    /// The bound address (the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live counters (shared with the connections; for `/metrics`).
    pub fn stats(&self) -> Arc<MllpStats> {
        self.stats.clone()
    }

    /// Accepts and serves connections until `shutdown` fires, then drains and returns the final
    /// counters. Failed `accept()` calls are retried with backoff, never fatal.
    pub async fn run(
        self,
        intake: Arc<dyn MessageIntake>,
        shutdown: Shutdown,
    ) -> Result<MllpCounts, MllpError> {
        let roster = Arc::new(Roster::new(
            self.cfg.max_connections,
            self.cfg.max_connections_per_peer,
            self.stats.clone(),
        ));
        let ctx = Arc::new(conn::Ctx::new(
            Arc::from(self.cfg.name.as_str()),
            self.cfg.max_message_bytes,
            Duration::from_secs(self.cfg.idle_timeout_secs),
            Duration::from_secs(self.cfg.frame_timeout_secs),
            self.cfg.enhanced_ack,
            intake,
            self.stats.clone(),
        ));
        loop {
            let (sock, peer) = tokio::select! {
                _ = shutdown.triggered() => break,
                r = accept(&self.listener) => r,
            };
            if !peers::allowed(&self.cfg.allow, peer.ip()) {
                self.stats.closed_by_listener(CloseReason::NotAllowed);
                tracing::info!(source = %self.cfg.name, %peer, "MLLP peer not in the allow list; closed / 許可されていない相手の接続を閉じました");
                continue;
            }
            let seat = tokio::select! {
                _ = shutdown.triggered() => break,
                s = roster.seat(peer.ip()) => s,
            };
            let seat = match seat {
                Ok(seat) => seat,
                Err(Refusal::PeerCap) => {
                    self.stats.closed_by_listener(CloseReason::PeerCap);
                    tracing::info!(source = %self.cfg.name, %peer, max = self.cfg.max_connections_per_peer, "MLLP peer over max_connections_per_peer; closed / 同じ相手からの接続数が上限を超えたため閉じました");
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            let (ctx, shutdown, tls) = (ctx.clone(), shutdown.clone(), self.tls.clone());
            tokio::spawn(serve(sock, peer, tls, ctx, seat, shutdown));
        }
        // Stop accepting (new peers are refused), then wait until every connection has drained.
        drop(self.listener);
        roster.drained().await;
        let counts = self.stats.snapshot();
        tracing::info!(
            source = %self.cfg.name,
            connections = counts.connections_accepted,
            stored = counts.stored,
            duplicates = counts.duplicates,
            "MLLP listener stopped"
        );
        Ok(counts)
    }
}

/// Serves one accepted connection, after its TLS handshake when configured. Eviction also ends
/// a handshake in progress.
async fn serve(
    sock: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    ctx: Arc<conn::Ctx>,
    seat: Seat,
    shutdown: Shutdown,
) {
    let Some(acceptor) = tls else {
        return conn::serve(sock, peer, ctx, seat, shutdown).await;
    };
    let handshake = tokio::select! {
        _ = seat.evicted() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(sock)) => r,
    };
    match handshake {
        Ok(Ok(stream)) => conn::serve(stream, peer, ctx, seat, shutdown).await,
        Ok(Err(e)) => {
            ctx.stats.tls_failed();
            tracing::warn!(%peer, error = %e, "MLLP TLS handshake failed");
        }
        Err(_) => {
            ctx.stats.tls_failed();
            tracing::warn!(%peer, "MLLP TLS handshake timed out");
        }
    }
}

/// `accept()`, retried with a doubling pause (capped) on errors (also the FHIR endpoint's).
pub(crate) async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, SocketAddr) {
    let mut pause = Duration::from_millis(10);
    loop {
        match listener.accept().await {
            Ok(v) => return v,
            Err(e) => {
                tracing::warn!(error = %e, retry_ms = pause.as_millis() as u64, "MLLP accept failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}
