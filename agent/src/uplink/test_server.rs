//! Test-only HTTPS/1.1 server on 127.0.0.1:0 with tokio-rustls, answering each connection's one
//! request as the test says (a canned response, a close after reading, or silence). Written by
//! hand instead of with hyper so that the misbehaviours are exact.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Request line and headers, header names lower-cased.
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_owned()))
    }
}

pub enum Reply {
    /// Write these bytes (a complete HTTP response), then close with close_notify.
    Respond(Vec<u8>),
    /// Read the request, then close cleanly (close_notify) without answering.
    CloseAfterRead,
    /// Read the request, then drop the TCP connection without close_notify.
    DropAfterRead,
    /// Read the request and never answer.
    Hang,
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `HTTP/1.1 <status>` with the headers and body, `Connection: close`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} X\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    r.into_bytes()
}

impl TestServer {
    /// Serve with the given certificate; require a client certificate from `client_ca` if set.
    pub async fn start(
        cert_pem: &str,
        key_pem: &str,
        client_ca_pem: Option<&str>,
        reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = match client_ca_pem {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                    roots.add(c.unwrap()).unwrap();
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).unwrap();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(reply);
        let seen_in_task = seen.clone();
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, reply, seen) =
                    (acceptor.clone(), reply.clone(), seen_in_task.clone());
                connections.spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Some(request) = read_request(&mut tls).await else {
                        return;
                    };
                    let action = reply(&request);
                    seen.lock().unwrap().push(request);
                    match action {
                        Reply::Respond(bytes) => {
                            let _ = tls.write_all(&bytes).await;
                            let _ = tls.shutdown().await;
                        }
                        Reply::CloseAfterRead => {
                            let _ = tls.shutdown().await;
                        }
                        Reply::DropAfterRead => drop(tls),
                        Reply::Hang => std::future::pending::<()>().await,
                    }
                });
            }
        });
        TestServer { addr, seen, task }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/clins/v1/bundles", self.addr.port())
    }
}

async fn read_request<S: AsyncReadExt + Unpin>(stream: &mut S) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head: String = String::from_utf8_lossy(&buf[..head_end])
        .lines()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}:{v}\n", k.to_ascii_lowercase()),
            None => format!("{l}\n"),
        })
        .collect();
    let seen_head = Seen {
        head,
        body: Vec::new(),
    };
    let len: usize = seen_head
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen { body, ..seen_head })
}
