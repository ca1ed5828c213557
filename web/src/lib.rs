//! # tsunagi-web: what tsunagi's HTTP servers share
//!
//! The agent's operations surface (`agent/src/ops/`) and the central fleet view (`fleet/`) serve
//! pages, JSON and metrics to people and programs on a hospital or operator network. Both need
//! the same few things, kept here once:
//!
//! - [`tls_acceptor`]: HTTPS from a PEM certificate chain and key (aws-lc-rs, TLS 1.2/1.3,
//!   ALPN h2 and http/1.1), each problem naming the file;
//! - [`serve`]: the accept loop, HTTP/1.1 and h2 on one port, a 10 s TLS handshake deadline, open
//!   connections dropped at shutdown;
//! - [`security_headers`]: the middleware every page answer gets (a CSP allowing only inline
//!   styles and data images, `nosniff`, `no-store`: pages hold operational data);
//! - [`bearer_ok`]: a bearer token checked in constant time.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Longest wait for a client to finish the TLS handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// A certificate or key file that cannot serve HTTPS.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct TlsError {
    /// The file at fault.
    pub path: PathBuf,
    /// Why (English; no secret material).
    pub reason: String,
}

/// An HTTPS acceptor from a PEM certificate chain and private key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    let err = |path: &Path, reason: String| TlsError {
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

/// Serves `app` on `listener` (over TLS when `tls` is set) until `shutdown` resolves; open
/// connections are dropped then. `name` labels the log lines.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    conns.spawn(connection(name, tcp, tls.clone(), app.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, server = name, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn connection(
    name: &'static str,
    tcp: TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
) {
    let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        app.clone().oneshot(req)
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let result = match tls {
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => builder.serve_connection(TokioIo::new(stream), svc).await,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, server = name, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            }
        }
        None => builder.serve_connection(TokioIo::new(tcp), svc).await,
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, server = name, "connection ended with an error");
    }
}

/// The headers every answer of a page server gets: a CSP allowing inline styles and data images
/// only (no script, no remote resource), `nosniff`, `no-store`.
pub async fn security_headers(req: Request, next: Next) -> Response {
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

/// Shortest bearer token accepted anywhere (a guessable token protects nothing).
pub const MIN_TOKEN_LEN: usize = 16;

/// Constant-time comparison (a token must not leak through timing).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `headers` carry `Authorization: Bearer <token>` (always, when no token is set).
pub fn bearer_ok(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    same(given.trim().as_bytes(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly_and_only_as_bearer() {
        let mut h = HeaderMap::new();
        assert!(bearer_ok(&h, None));
        assert!(!bearer_ok(&h, Some("0123456789abcdef")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer 0123456789abcdef"),
        );
        assert!(bearer_ok(&h, Some("0123456789abcdef")));
        assert!(!bearer_ok(&h, Some("0123456789abcdeg")));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic 0123456789abcdef"),
        );
        assert!(!bearer_ok(&h, Some("0123456789abcdef")));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }

    #[test]
    fn a_missing_or_wrong_file_is_named() {
        let dir = std::env::temp_dir();
        let missing = dir.join("tsunagi-web-no-such.pem");
        let Err(e) = tls_acceptor(&missing, &missing) else {
            panic!("a missing certificate was accepted");
        };
        assert_eq!(e.path, missing);
    }
}
