//! The rustls client configuration for the Web API: trust exactly the configured CA file (every
//! certificate in it), present the configured client certificate, offer HTTP/2 and HTTP/1.1.
//! Uses the aws-lc-rs provider explicitly, so it does not depend on a process-wide default.
//! Server certificates are always verified by webpki; nothing here can turn that off.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::UplinkError;

/// Largest PEM file we read (a system CA bundle is ~200 KiB).
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

/// Build the client configuration. `ca` is required for https (see `WebApiConfig::ca_cert`);
/// `client` is `(certificate chain PEM, private key PEM)`.
pub fn client_config(
    ca: Option<&Path>,
    client: Option<(&Path, &Path)>,
) -> Result<rustls::ClientConfig, UplinkError> {
    let mut roots = RootCertStore::empty();
    if let Some(ca) = ca {
        let certs = load_certs(ca)?;
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(UplinkError::Pem {
                path: ca.to_path_buf(),
                reason: format!("no usable CA certificate ({ignored} could not be parsed)"),
            });
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| UplinkError::Tls {
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    let mut config = match client {
        Some((cert_path, key_path)) => {
            let chain = load_certs(cert_path)?;
            let key = load_key(key_path)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| UplinkError::Pem {
                    path: key_path.to_path_buf(),
                    reason: format!("client certificate and key do not work together: {e}"),
                })?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn read_pem(path: &Path) -> Result<Vec<u8>, UplinkError> {
    let err = |reason: String| UplinkError::Pem {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(err(format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    std::fs::read(path).map_err(|e| err(e.to_string()))
}

/// All certificates in a PEM file (at least one).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, UplinkError> {
    let pem = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| UplinkError::Pem {
            path: path.to_path_buf(),
            reason: format!("not a PEM certificate file: {e}"),
        })?;
    if certs.is_empty() {
        return Err(UplinkError::Pem {
            path: path.to_path_buf(),
            reason: "no CERTIFICATE section found".into(),
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, UplinkError> {
    let pem = read_pem(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| UplinkError::Pem {
        path: path.to_path_buf(),
        reason: format!("no usable private key: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_pki::Pki;
    use super::*;

    #[test]
    fn builds_with_ca_and_client_identity() {
        let pki = Pki::new();
        let cfg = client_config(
            Some(&pki.ca_path),
            Some((&pki.client_cert_path, &pki.client_key_path)),
        )
        .unwrap();
        assert!(cfg.client_auth_cert_resolver.has_certs());
        assert_eq!(cfg.alpn_protocols[0], b"h2");
    }

    #[test]
    fn errors_name_the_file_and_reason() {
        let pki = Pki::new();
        let missing = pki.dir.path().join("nope.pem");
        let err = client_config(Some(&missing), None).unwrap_err().to_string();
        assert!(err.contains("nope.pem"), "{err}");

        // A key file given as the CA: no CERTIFICATE section.
        let err = client_config(Some(&pki.client_key_path), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("client-key.pem") && err.contains("no CERTIFICATE"),
            "{err}"
        );

        // A certificate given as the key.
        let err = client_config(
            Some(&pki.ca_path),
            Some((&pki.client_cert_path, &pki.ca_path)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("ca.pem") && err.contains("private key"),
            "{err}"
        );

        // A key that does not belong to the certificate.
        let err = client_config(
            Some(&pki.ca_path),
            Some((&pki.client_cert_path, &pki.server_key_path)),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("do not work together"), "{err}");
    }
}
