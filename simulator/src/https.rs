//! The online route: HTTPS with mutual TLS, `POST /clins/v1/bundles` and `GET /stats`.
//!
//! Owns the TLS configuration (rustls, aws-lc-rs, client certificate required and verified
//! against the client CA), the accept loop, and the transport-level faults: latency, 503, 429,
//! reset (close without answering), hang (never answer) and accept-then-reset.
//! See the crate docs for the assumed protocol.
//!
//! Invariants: every connection task lives in one `JoinSet` that is aborted on shutdown, so a
//! hung connection never outlives the simulator; a reset closes the socket with SO_LINGER=0
//! (TCP RST) and never sends a response.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::faults::Fault;
use crate::intake::Verdict;
use crate::outcome;
use crate::pki::ServerTls;
use crate::sim::{SimError, SimState};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const FHIR_JSON: &str = "application/fhir+json";

/// Builds the rustls server config; `wrong_cert` presents `tls.wrong_cert` instead.
pub fn server_config(tls: &ServerTls, wrong_cert: bool) -> Result<Arc<ServerConfig>, SimError> {
    let (cert_path, key_path) = if wrong_cert {
        tls.wrong_cert.clone().ok_or(SimError::NoWrongCert)?
    } else {
        (tls.cert.clone(), tls.key.clone())
    };
    let pem_err = |p: &std::path::Path, e: rustls_pki_types::pem::Error| {
        SimError::Tls(format!("{}: {e}", p.display()))
    };
    let certs = |p: &std::path::Path| -> Result<Vec<CertificateDer<'static>>, SimError> {
        CertificateDer::pem_file_iter(p)
            .map_err(|e| pem_err(p, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem_err(p, e))
    };
    let chain = certs(&cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| pem_err(&key_path, e))?;
    let mut roots = RootCertStore::empty();
    for ca in certs(&tls.client_ca)? {
        roots
            .add(ca)
            .map_err(|e| SimError::Tls(format!("{}: {e}", tls.client_ca.display())))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| SimError::Tls(e.to_string()))?;
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| SimError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Accepts TLS connections until `stopped` turns true (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: Arc<SimState>,
    mut stopped: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let app = router(state);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    conns.spawn(connection(tcp, acceptor.clone(), app.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

/// Asks the connection task to drop the connection (with a TCP RST) without answering.
#[derive(Clone, Default)]
struct ConnAbort {
    wake: Arc<Notify>,
    reset: Arc<AtomicBool>,
}

impl ConnAbort {
    fn fire(&self) {
        // The flag must be set before the connection is dropped (select! drops it first).
        self.reset.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

async fn connection(tcp: TcpStream, acceptor: TlsAcceptor, app: Router) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!(error = %e, "TLS handshake refused");
            return;
        }
        Err(_) => {
            tracing::info!("TLS handshake timed out");
            return;
        }
    };
    let abort = ConnAbort::default();
    let io = ResettableIo {
        inner: tls,
        reset: abort.reset.clone(),
    };
    let svc = hyper::service::service_fn({
        let abort = abort.clone();
        move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(abort.clone());
            app.clone().oneshot(req)
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        _ = abort.wake.notified() => {
            tracing::info!("fault: connection reset without an answer");
        }
    }
}

fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/clins/v1/bundles", post(post_bundle))
        .route("/stats", get(stats))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn stats(State(state): State<Arc<SimState>>) -> Response {
    Json(state.platform.stats()).into_response()
}

async fn post_bundle(
    State(state): State<Arc<SimState>>,
    Extension(abort): Extension<ConnAbort>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.platform.count_received();
    let (latency, fault) = {
        let mut dice = state.dice();
        (dice.latency(), dice.decide())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::Unavailable => {
            tracing::info!("fault: 503");
            return unavailable();
        }
        Fault::TooMany { retry_after_secs } => {
            tracing::info!("fault: 429");
            let text =
                "SIM-RATE-LIMIT: too many requests; retry later with the same Idempotency-Key";
            let mut r = fhir(
                StatusCode::TOO_MANY_REQUESTS,
                outcome::single("error", "throttled", text),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return r;
        }
        Fault::Reset => {
            abort.fire();
            return std::future::pending().await;
        }
        Fault::Hang => {
            tracing::info!("fault: hang");
            return std::future::pending().await;
        }
        Fault::None | Fault::AcceptThenReset => {}
    }
    // Non-ASCII header values count as present but malformed.
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let st = state.clone();
    let verdict =
        tokio::task::spawn_blocking(move || st.platform.submit(key.as_deref(), &body)).await;
    let verdict = match verdict {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "storage failed");
            return storage_failed();
        }
        Err(e) => {
            tracing::error!(error = %e, "intake task failed");
            return storage_failed();
        }
    };
    if fault == Fault::AcceptThenReset && matches!(verdict, Verdict::Accepted { .. }) {
        abort.fire();
        return std::future::pending().await;
    }
    verdict_response(&verdict)
}

fn verdict_response(v: &Verdict) -> Response {
    match v {
        Verdict::Accepted { receipt } | Verdict::Duplicate { receipt } => {
            let duplicate = matches!(v, Verdict::Duplicate { .. });
            let status = if duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut r = fhir(status, v.outcome());
            if let Ok(h) = HeaderValue::from_str(receipt) {
                r.headers_mut().insert("x-receipt-id", h);
            }
            if duplicate {
                r.headers_mut()
                    .insert("x-duplicate", HeaderValue::from_static("true"));
            }
            r
        }
        Verdict::Rejected { status, outcome } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST);
            fhir(status, outcome.clone())
        }
    }
}

fn unavailable() -> Response {
    let text = "SIM-UNAVAILABLE: the service is temporarily unavailable; retry later with the same Idempotency-Key";
    fhir(
        StatusCode::SERVICE_UNAVAILABLE,
        outcome::single("error", "transient", text),
    )
}

fn storage_failed() -> Response {
    let text = "SIM-STORAGE: the submission could not be stored; retry later with the same Idempotency-Key";
    fhir(
        StatusCode::INTERNAL_SERVER_ERROR,
        outcome::single("error", "exception", text),
    )
}

fn fhir(status: StatusCode, body: serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// The TLS stream of one connection; when dropped after a reset fault, the socket is closed
/// with SO_LINGER=0 so the peer sees a TCP RST instead of an orderly close.
struct ResettableIo {
    inner: TlsStream<TcpStream>,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.get_ref().0.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
