//! TLS: a client with a certificate from the configured CA is served; one without is refused.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::*;
use crate::source::mllp::config::MllpTlsConfig;

use crate::uplink::test_pki::Pki;

fn connector(p: &Pki, with_client_cert: bool) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(p.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = if with_client_cert {
        b.with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(p.client_cert_pem.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(p.client_key_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    } else {
        b.with_no_client_auth()
    };
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
}

#[tokio::test]
async fn tls_with_client_certificates() {
    let p = Pki::new();
    let mut c = cfg();
    c.tls = Some(MllpTlsConfig {
        cert: p.server_cert_path.clone(),
        key: p.server_key_path.clone(),
        client_ca: Some(p.ca_path.clone()),
    });
    let intake = Arc::new(FakeIntake::default());
    let run = start(c, intake.clone()).await;
    let name = ServerName::try_from("127.0.0.1").unwrap();

    let tcp = TcpStream::connect(run.addr).await.unwrap();
    let tls = connector(&p, true)
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    let (r, mut w) = tokio::io::split(tls);
    w.write_all(&framed(&message("TLS1", 300))).await.unwrap();
    let mut acks = AckReader::new(r);
    assert_eq!(
        msa(&acks.next().await.unwrap()),
        ("AA".into(), "TLS1".into())
    );

    // Without a client certificate: the handshake (or the first read) fails, nothing is stored.
    let tcp = TcpStream::connect(run.addr).await.unwrap();
    let refused = match connector(&p, false).connect(name, tcp).await {
        Err(_) => true,
        Ok(tls) => {
            let (r, mut w) = tokio::io::split(tls);
            let _ = w.write_all(&framed(&message("TLS2", 300))).await;
            let mut r = r;
            let mut buf = [0u8; 16];
            matches!(
                tokio::io::AsyncReadExt::read(&mut r, &mut buf).await,
                Err(_) | Ok(0)
            )
        }
    };
    assert!(refused);
    assert_eq!(intake.stored_count(), 1);
    let c = run.stop().await;
    assert_eq!((c.aa, c.tls_failures), (1, 1));
}

#[tokio::test]
async fn tls_file_problems_are_named() {
    let p = Pki::new();
    let mut c = cfg();
    c.tls = Some(MllpTlsConfig {
        cert: p.server_key_path.clone(),
        key: p.server_key_path.clone(),
        client_ca: None,
    });
    let err = MllpListener::bind(c).await.err().unwrap().to_string();
    assert!(
        err.contains("server-key.pem") && err.contains("CERTIFICATE"),
        "{err}"
    );
}
