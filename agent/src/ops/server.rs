//! The HTTP(S) server of the operations surface: routes, the bearer-token gate, TLS.
//!
//! Invariants: a request without the configured token gets 401 before any handler runs (only
//! `/healthz` is open, it says "ok" and nothing else); every response carries a
//! Content-Security-Policy that forbids scripts and external resources; handlers read the store
//! on a fresh connection in a blocking task, never through the daemon's writer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

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
    text.push_str(&super::certificates::family(&ops.readiness.certificates()));
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
            Some((cert, key)) => {
                Some(
                    tsunagi_web::tls_acceptor(cert, key).map_err(|e| OpsError::Tls {
                        path: e.path,
                        reason: e.reason,
                    })?,
                )
            }
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
        tsunagi_web::serve("ops", self.listener, self.tls, self.app, async move {
            shutdown.triggered().await
        })
        .await;
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
        .layer(middleware::from_fn(tsunagi_web::security_headers))
        .with_state(state)
}

async fn require_token(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !tsunagi_web::bearer_ok(req.headers(), s.token.as_deref()) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            "token required / トークンが必要です\n",
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    next.run(req).await
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
        let now = crate::clock::now_ms();
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
}
