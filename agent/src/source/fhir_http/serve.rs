//! One connection: TLS handshake (when configured), then HTTP/1.1 through hyper into the router,
//! with the deadlines that keep slow and idle clients from holding the endpoint.
//!
//! - headers must arrive within `header_timeout` (hyper's header read timeout);
//! - a connection with no request in progress is closed `idle` after it opened or after its last
//!   answer, however many bytes trickle in meanwhile (a request counts as in progress from its
//!   complete headers until its answer is built; the body has its own deadline, in the routes);
//! - an eviction by the roster (at `max_connections`) closes it at once; the roster never
//!   evicts a connection whose request is committing;
//! - at shutdown a connection stops taking requests, answers the one in progress, and closes
//!   (one without a request in progress within a second, even mid-header).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{FhirStats, SeatHandle};
use crate::shutdown::Shutdown;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// At shutdown, how long a connection without a request in progress stays open.
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// What every connection of one endpoint shares.
pub struct Limits {
    pub header: Duration,
    pub idle: Duration,
    pub app: Router,
    pub tls: Option<TlsAcceptor>,
    pub stats: Arc<FhirStats>,
}

/// Requests in progress on one connection, and when it last made progress.
struct Activity {
    active: AtomicUsize,
    last: Mutex<Instant>,
}

/// Marks a request in progress; dropping it records the progress.
struct Active(Arc<Activity>);

impl Activity {
    fn begin(self: &Arc<Self>) -> Active {
        self.active.fetch_add(1, Ordering::SeqCst);
        Active(self.clone())
    }

    fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the connection will have idled too long, unless a request is in progress.
    fn deadline(&self, idle: Duration) -> Option<Instant> {
        (self.active.load(Ordering::SeqCst) == 0).then(|| self.last() + idle)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves one accepted connection until it closes, idles out, is evicted or shut down.
pub async fn connection(
    sock: TcpStream,
    limits: Arc<Limits>,
    seat: SeatHandle,
    shutdown: Shutdown,
) {
    let _ = sock.set_nodelay(true);
    let Some(acceptor) = limits.tls.clone() else {
        return http(sock, &limits, seat, shutdown).await;
    };
    let handshake = tokio::select! {
        _ = seat.0.evicted() => return,
        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(sock)) => r,
    };
    match handshake {
        Ok(Ok(stream)) => http(stream, &limits, seat, shutdown).await,
        Ok(Err(e)) => tracing::debug!(error = %e, "FHIR endpoint: TLS handshake refused"),
        Err(_) => tracing::debug!("FHIR endpoint: TLS handshake timed out"),
    }
}

async fn http<S>(io: S, limits: &Limits, seat: SeatHandle, shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        active: AtomicUsize::new(0),
        last: Mutex::new(Instant::now()),
    });
    let svc = {
        let (app, seat, activity) = (limits.app.clone(), seat.clone(), activity.clone());
        hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(seat.clone());
            let active = activity.begin();
            let answer = app.clone().oneshot(req);
            async move {
                let r = answer.await;
                drop(active);
                r
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        // Draining, a connection without a request in progress gets a moment to finish writing
        // its last answer, not the whole idle timeout.
        let idle = if draining {
            DRAIN_GRACE.min(limits.idle)
        } else {
            limits.idle
        };
        // With a request in progress, look again after `idle` (its body has its own deadline).
        let deadline = activity
            .deadline(idle)
            .unwrap_or_else(|| Instant::now() + idle);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "FHIR endpoint: connection ended with an error");
                }
                return;
            }
            _ = seat.0.evicted() => return,
            _ = shutdown.triggered(), if !draining => {
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if activity.deadline(idle).is_some_and(|d| d <= Instant::now()) {
                    if !draining {
                        limits.stats.idle_closed();
                    }
                    return;
                }
            }
        }
    }
}
