//! Asking a running agent's `/readyz`, as the update gate does before, during and after a swap.
//!
//! The probe speaks to the operations surface the daemon recorded (`ops_url` in
//! `DATA/update/daemon.json`) with what `[ops]` configures: the bearer token when one is set
//! (`/readyz` is behind it), and for HTTPS exactly the surface's own certificate (`[ops]
//! tls_cert`, pinned: the probe accepts that certificate and no other, whoever issued it, so a
//! self-signed one works and nothing else can answer in its place).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::error::{Result, UpdateError};

/// What the probe presents and trusts.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    token: Option<String>,
    pinned: Option<CertificateDer<'static>>,
}

impl Probe {
    /// The probe for an operations surface with this token and certificate (`[ops] token`,
    /// `[ops] tls_cert`).
    pub fn new(token: Option<String>, tls_cert: Option<&Path>) -> Result<Self> {
        let pinned = match tls_cert {
            Some(path) => Some(first_cert(path)?),
            None => None,
        };
        Ok(Probe { token, pinned })
    }

    /// Whether the surface at `ops_url` (`http://host:port` or `https://host:port`) answers
    /// `/readyz` with 200.
    pub fn ready(&self, ops_url: &str) -> bool {
        let (tls, authority) = match ops_url.split_once("://") {
            Some(("http", a)) => (false, a),
            Some(("https", a)) => (true, a),
            _ => return false,
        };
        let authority = authority.trim_end_matches('/');
        self.ask(tls, authority).unwrap_or(false)
    }

    fn ask(&self, tls: bool, authority: &str) -> std::io::Result<bool> {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(authority)?
            .next()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
        let auth = match &self.token {
            Some(t) => format!("Authorization: Bearer {t}\r\n"),
            None => String::new(),
        };
        let request =
            format!("GET /readyz HTTP/1.0\r\nHost: {authority}\r\n{auth}Connection: close\r\n\r\n");
        if !tls {
            return status_ok(&mut tcp, request.as_bytes());
        }
        let Some(cert) = &self.pinned else {
            return Ok(false);
        };
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_string())
            .map_err(std::io::Error::other)?;
        let conn = rustls::ClientConnection::new(Arc::new(pinned_config(cert)?), name)
            .map_err(std::io::Error::other)?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        status_ok(&mut stream, request.as_bytes())
    }
}

/// Sends the request and reads the status line.
fn status_ok(s: &mut (impl Read + Write), request: &[u8]) -> std::io::Result<bool> {
    s.write_all(request)?;
    s.flush()?;
    let mut head = [0u8; 16];
    let mut got = 0;
    while got < head.len() {
        match s.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(e),
        }
    }
    Ok(head[..got].starts_with(b"HTTP/1.1 200") || head[..got].starts_with(b"HTTP/1.0 200"))
}

fn first_cert(path: &Path) -> Result<CertificateDer<'static>> {
    let bad = |reason: String| {
        UpdateError::io(
            format!("reading [ops] tls_cert {}", path.display()),
            std::io::Error::other(reason),
        )
    };
    CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("no certificate in the file".into()))?
        .map_err(|e| bad(e.to_string()))
}

fn pinned_config(cert: &CertificateDer<'static>) -> std::io::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(Pinned {
        cert: cert.clone(),
        provider: provider.clone(),
    });
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Accepts exactly one certificate: the operations surface's own. The handshake signatures are
/// still verified with its key, so only the holder of that key can answer.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
