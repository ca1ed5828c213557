//! The HTTP(S) server of the operations surface: routes, the bearer-token gate, TLS.
//!
//! Invariants: a request without the configured token gets 401 before any handler runs (only
//! `/healthz` is open, it says "ok" and nothing else); every response carries a
//! Content-Security-Policy that forbids scripts and external resources; handlers read the store
//! on a fresh connection in a blocking task, never through the daemon's writer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::config::{OpsConfig, OpsConfigError};
use super::page::{self, Lang, PageData};
use super::readiness::{Counters, Readiness};
use super::{checks, metrics, snapshot};
use crate::shutdown::Shutdown;

/// Why the surface could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The `[ops]` table is refused.
    #[error("{0}")]
    Config(#[from] OpsConfigError),
    /// The address could not be bound.
    #[error("[ops] cannot listen on {addr}: {source}")]
    Bind {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key could not be used.
    #[error("[ops] TLS {path}: {reason}")]
    Tls {
        /// Which file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What the handlers need, shared.
#[derive(Clone)]
pub struct OpsState {
    /// The agent's data directory (the database is read from there).
    pub data_dir: PathBuf,
    /// Set by the daemon.
    pub readiness: Arc<Readiness>,
    /// Incremented by the stages.
    pub counters: Arc<Counters>,
}

/// Every series of `/metrics` as Prometheus text (blocking: reads the store). The OTLP push
/// (`crate::telemetry`) sends the same text's series.
pub fn exposition(ops: &OpsState) -> String {
    let snap = snapshot::connect(&ops.data_dir)
        .and_then(|c| snapshot::read(&c))
        .map_err(|e| tracing::warn!(error = %e, "ops: metrics could not read the store"))
        .ok();
    let uplink = checks::effective_uplink(
        &ops.readiness,
        snap.as_ref().map(|s| s.uplink).unwrap_or_default(),
    );
    let process = metrics::ProcessFigures::read(&ops.data_dir);
    let mut text = metrics::render(snap.as_ref(), uplink, &ops.counters, process);
    text.push_str(&metrics::validation_rules(&ops.readiness.validation()));
    text.push_str(&crate::update::metrics(&ops.data_dir));
    text
}

#[derive(Clone)]
struct AppState {
    ops: OpsState,
    token: Option<Arc<str>>,
}

/// A bound, not yet serving, operations surface.
pub struct OpsListener {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
}

impl OpsListener {
    /// Checks the config and binds; `Ok(None)` when the surface is turned off.
    pub async fn bind(cfg: &OpsConfig, state: OpsState) -> Result<Option<OpsListener>, OpsError> {
        if let Some(e) = cfg.problems().into_iter().next() {
            return Err(e.into());
        }
        let Some(addr) = cfg.listen_addr()? else {
            return Ok(None);
        };
        let tls = match cfg.tls() {
            Some((cert, key)) => Some(tls_acceptor(cert, key)?),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| OpsError::Bind { addr, source })?;
        let app = router(AppState {
            ops: state,
            token: cfg.token.as_deref().map(Arc::from),
        });
        Ok(Some(OpsListener { listener, tls, app }))
    }

    /// The bound address (the port when `:0` was asked).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Whether it speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown`; open connections are dropped then.
    pub async fn run(self, shutdown: Shutdown) {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.triggered() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, _)) => {
                        conns.spawn(connection(tcp, self.tls.clone(), self.app.clone()));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "ops: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        conns.shutdown().await;
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, OpsError> {
    let err = |path: &Path, reason: String| OpsError::Tls {
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(err(cert, "no CERTIFICATE section found".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| err(key, format!("no usable private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            err(
                key,
                format!("certificate and key do not work together: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn connection(tcp: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>, app: Router) {
    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        app.clone().oneshot(req)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let result = match tls {
        Some(acceptor) => {
            match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => builder.serve_connection(TokioIo::new(stream), svc).await,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "ops: TLS handshake refused");
                    return;
                }
                Err(_) => return,
            }
        }
        None => builder.serve_connection(TokioIo::new(tcp), svc).await,
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "ops: connection ended with an error");
    }
}

fn router(state: AppState) -> Router {
    let gated = Router::new()
        .route("/", get(status_page))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/report", get(report))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(gated)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Constant-time comparison (the token must not leak through timing).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(token) = &s.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same(given.trim().as_bytes(), token.as_bytes()) {
            let mut r = (
                StatusCode::UNAUTHORIZED,
                "token required / トークンが必要です\n",
            )
                .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    next.run(req).await
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn readyz(State(s): State<AppState>) -> Response {
    let ops = s.ops.clone();
    let Some(c) = blocking(move || checks::run(&ops.data_dir, &ops.readiness)).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let code = if c.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(c)).into_response()
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    let ops = s.ops.clone();
    let body = blocking(move || exposition(&ops)).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

#[derive(serde::Deserialize)]
struct PageQuery {
    lang: Option<String>,
    month: Option<String>,
}

async fn status_page(State(s): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let lang = Lang::from_query(q.lang.as_deref());
    let ops = s.ops.clone();
    let html = blocking(move || {
        let now = crate::store::now_ms();
        let checks = checks::run(&ops.data_dir, &ops.readiness);
        let conn = snapshot::connect(&ops.data_dir).ok();
        let snap = conn.as_ref().and_then(|c| snapshot::read(c).ok());
        let today = conn.as_ref().and_then(|c| snapshot::today(c, now).ok());
        let errors = conn
            .as_ref()
            .and_then(|c| snapshot::recent_errors(c, 10).ok())
            .unwrap_or_default();
        let skipped = ops.counters.source_skips();
        let plugins = ops.counters.plugins();
        page::render(
            lang,
            &PageData {
                checks: &checks,
                snapshot: snap.as_ref(),
                today: today.as_ref(),
                errors: &errors,
                skipped: &skipped,
                plugins: &plugins,
                now_ms: now,
                update: crate::update::status_row(&ops.data_dir),
            },
        )
    })
    .await
    .unwrap_or_default();
    Html(html).into_response()
}

/// Whether `m` is `YYYY-MM` with a real month.
fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(m[5..].parse::<u8>(), Ok(1..=12))
}

async fn report(State(s): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let month = q.month.unwrap_or_default();
    let Some(month) = valid_month(&month)
        .then(|| month.parse::<crate::quality::Month>().ok())
        .flatten()
    else {
        return (
            StatusCode::BAD_REQUEST,
            "month must be YYYY-MM / month は YYYY-MM 形式で指定してください\n",
        )
            .into_response();
    };
    let lang = match Lang::from_query(q.lang.as_deref()) {
        Lang::Ja => crate::quality::Lang::Ja,
        Lang::En => crate::quality::Lang::En,
    };
    let ops = s.ops.clone();
    let html = blocking(move || {
        let conn = snapshot::connect(&ops.data_dir).ok()?;
        crate::quality::report::render_html(&conn, month, lang).ok()
    })
    .await
    .flatten();
    match html {
        Some(h) => Html(h).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the report could not be computed from the store / レポートを作成できませんでした\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked() {
        assert!(valid_month("2025-01") && valid_month("2025-12"));
        assert!(!valid_month("2025-13") && !valid_month("2025-1") && !valid_month("<script>"));
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(same(b"abcdef", b"abcdef"));
        assert!(!same(b"abcdef", b"abcdeg") && !same(b"abc", b"abcdef"));
    }
}
