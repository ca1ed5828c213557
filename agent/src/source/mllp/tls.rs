//! The optional TLS side of the listener: a rustls server configuration from PEM files, with
//! client-certificate verification when `client_ca` is set. Uses the aws-lc-rs provider
//! explicitly (no process-wide default needed).

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::config::MllpTlsConfig;
use super::MllpError;

fn tls_err(path: &Path, reason: impl std::fmt::Display) -> MllpError {
    MllpError::Tls {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, MllpError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_err(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(path, e))?;
    if certs.is_empty() {
        return Err(tls_err(path, "no CERTIFICATE section found"));
    }
    Ok(certs)
}

/// Builds the acceptor's configuration; errors name the file and the reason.
pub fn server_config(cfg: &MllpTlsConfig) -> Result<Arc<ServerConfig>, MllpError> {
    let chain = certs(&cfg.cert)?;
    let key = PrivateKeyDer::from_pem_file(&cfg.key)
        .map_err(|e| tls_err(&cfg.key, format!("no usable private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&cfg.cert, e))?;
    let builder = match &cfg.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca)? {
                roots.add(c).map_err(|e| tls_err(ca, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls_err(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder.with_single_cert(chain, key).map_err(|e| {
        tls_err(
            &cfg.key,
            format!("certificate and key do not work together: {e}"),
        )
    })?;
    Ok(Arc::new(config))
}
