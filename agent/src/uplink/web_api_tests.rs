//! The Web API client against a real HTTPS server on loopback (mutual TLS, throw-away PKI):
//! each answer and each transport failure lands in the documented [`Outcome`].

use std::time::Duration;

use super::test_pki::Pki;
use super::test_server::{response, Reply, Seen, TestServer};
use super::*;

const BODY: &[u8] = br#"{"resourceType":"Bundle","type":"document"}"#;

fn key() -> String {
    "0123456789abcdef".repeat(4)
}

/// Paths are relative to the PKI's directory, which the tests pass as `base_dir`.
fn config(url: &str) -> UplinkConfig {
    let toml = format!(
        r#"
        route = "web-api"
        [web_api]
        url = "{url}"
        ca_cert = "ca.pem"
        client_cert = "client.pem"
        client_key = "client-key.pem"
        connect_timeout_secs = 5
        request_timeout_secs = 10
        "#
    );
    toml::from_str(&toml).unwrap()
}

async fn server(pki: &Pki, reply: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> TestServer {
    TestServer::start(
        &pki.server_cert_pem,
        &pki.server_key_pem,
        Some(&pki.ca_pem),
        reply,
    )
    .await
}

async fn submit_to(pki: &Pki, url: &str) -> Outcome {
    let up = Uplink::from_config(&config(url), pki.dir.path()).unwrap();
    assert_eq!(up.route_name(), "web-api");
    let k = key();
    up.submit(Submission {
        idempotency_key: &k,
        body: BODY,
    })
    .await
}

#[tokio::test]
async fn created_is_accepted_with_the_receipt_and_the_request_is_well_formed() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {
        Reply::Respond(response(201, &[("X-Receipt-Id", "RCPT-0001")], ""))
    })
    .await;
    let out = submit_to(&pki, &srv.url()).await;
    assert_eq!(
        out,
        Outcome::Accepted {
            receipt: Some("RCPT-0001".into()),
            duplicate: false
        }
    );
    let seen = srv.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].head.starts_with("POST /clins/v1/bundles HTTP/1.1"),
        "{}",
        seen[0].head
    );
    assert_eq!(seen[0].header("idempotency-key"), Some(key()));
    assert_eq!(
        seen[0].header("content-type").as_deref(),
        Some("application/fhir+json; charset=utf-8")
    );
    assert_eq!(seen[0].body, BODY);
}

#[tokio::test]
async fn duplicate_is_success() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {
        Reply::Respond(response(
            200,
            &[("X-Receipt-Id", "RCPT-0001"), ("X-Duplicate", "true")],
            "",
        ))
    })
    .await;
    assert_eq!(
        submit_to(&pki, &srv.url()).await,
        Outcome::Accepted {
            receipt: Some("RCPT-0001".into()),
            duplicate: true
        }
    );
}

#[tokio::test]
async fn unprocessable_is_rejected_with_the_operation_outcome_text() {
    let pki = Pki::new();
    let oo = r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",
        "details":{"coding":[{"code":"JP-CLINS-R1"}],"text":"Composition.subject is required"},
        "expression":["Bundle.entry[0].resource.subject"]}]}"#;
    let srv = server(&pki, move |_| {
        Reply::Respond(response(
            422,
            &[("Content-Type", "application/fhir+json")],
            oo,
        ))
    })
    .await;
    assert_eq!(
        submit_to(&pki, &srv.url()).await,
        Outcome::Rejected {
            status: Some(422),
            reason: "HTTP 422 Unprocessable Entity: error invalid [JP-CLINS-R1] \
                     @Bundle.entry[0].resource.subject: Composition.subject is required"
                .into()
        }
    );
}

#[tokio::test]
async fn unavailable_is_transient() {
    let pki = Pki::new();
    let srv = server(&pki, |_| Reply::Respond(response(503, &[], ""))).await;
    assert_eq!(
        submit_to(&pki, &srv.url()).await,
        Outcome::Transient {
            kind: TransientKind::Server,
            reason: "HTTP 503 Service Unavailable".into(),
            retry_after: None
        }
    );
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let pki = Pki::new();
    let srv = server(&pki, |_| {
        Reply::Respond(response(429, &[("Retry-After", "3")], ""))
    })
    .await;
    let out = submit_to(&pki, &srv.url()).await;
    assert!(
        matches!(
            out,
            Outcome::Transient {
                kind: TransientKind::RateLimited,
                retry_after: Some(d),
                ..
            } if d == Duration::from_secs(3)
        ),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_server_from_another_ca_is_a_tls_failure_saying_not_trusted() {
    let pki = Pki::new();
    let stranger = Pki::new();
    let srv = TestServer::start(
        &stranger.server_cert_pem,
        &stranger.server_key_pem,
        None,
        |_| Reply::Respond(response(201, &[], "")),
    )
    .await;
    let out = submit_to(&pki, &srv.url()).await;
    let Outcome::Transient {
        kind: TransientKind::Tls,
        reason,
        ..
    } = &out
    else {
        panic!("{out:?}");
    };
    assert!(
        reason.starts_with("server certificate not trusted: UnknownIssuer"),
        "{reason}"
    );
    assert!(srv.seen.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_refused_client_certificate_is_a_tls_failure() {
    let pki = Pki::new();
    let other_clients = Pki::new();
    // The server only accepts clients of another CA.
    let srv = TestServer::start(
        &pki.server_cert_pem,
        &pki.server_key_pem,
        Some(&other_clients.ca_pem),
        |_| Reply::Respond(response(201, &[], "")),
    )
    .await;
    let out = submit_to(&pki, &srv.url()).await;
    let Outcome::Transient {
        kind: TransientKind::Tls,
        reason,
        ..
    } = &out
    else {
        panic!("{out:?}");
    };
    assert!(reason.contains("client certificate"), "{reason}");
    assert!(srv.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_close_after_the_request_was_read_is_ambiguous() {
    let pki = Pki::new();
    for reply in [|| Reply::CloseAfterRead, || Reply::DropAfterRead] {
        let srv = server(&pki, move |_| reply()).await;
        let out = submit_to(&pki, &srv.url()).await;
        assert!(matches!(out, Outcome::Ambiguous { .. }), "{out:?}");
        assert_eq!(srv.seen.lock().unwrap().len(), 1, "the request did arrive");
    }
}

#[tokio::test]
async fn silence_after_the_request_is_ambiguous_after_the_request_timeout() {
    let pki = Pki::new();
    let srv = server(&pki, |_| Reply::Hang).await;
    let mut cfg = config(&srv.url());
    if let Some(w) = cfg.web_api.as_mut() {
        w.request_timeout_secs = 1;
    }
    let up = Uplink::from_config(&cfg, pki.dir.path()).unwrap();
    let k = key();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        up.submit(Submission {
            idempotency_key: &k,
            body: BODY,
        }),
    )
    .await
    .expect("the request timeout bounds the call");
    let Outcome::Ambiguous { reason } = &out else {
        panic!("{out:?}");
    };
    assert!(reason.contains("no answer in time"), "{reason}");
}

#[tokio::test]
async fn a_refused_connection_is_transient_connect() {
    let pki = Pki::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = submit_to(&pki, &format!("https://127.0.0.1:{port}/clins/v1/bundles")).await;
    assert!(
        matches!(
            out,
            Outcome::Transient {
                kind: TransientKind::Connect,
                ..
            }
        ),
        "{out:?}"
    );
}

#[test]
fn setup_errors_name_the_file() {
    let pki = Pki::new();
    let mut cfg = config("https://127.0.0.1:1/x");
    if let Some(w) = cfg.web_api.as_mut() {
        w.client_key = Some("missing-key.pem".into());
    }
    let err = Uplink::from_config(&cfg, pki.dir.path()).unwrap_err();
    assert!(err.to_string().contains("missing-key.pem"), "{err}");
}

#[tokio::test]
async fn a_stalled_handshake_is_a_connect_timeout_before_sending() {
    let pki = Pki::new();
    // Accepts TCP, never speaks TLS: the connect phase (which includes the handshake) times out.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let mut cfg = config(&format!("https://127.0.0.1:{port}/clins/v1/bundles"));
    if let Some(w) = cfg.web_api.as_mut() {
        w.connect_timeout_secs = 1;
    }
    let up = Uplink::from_config(&cfg, pki.dir.path()).unwrap();
    let k = key();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        up.submit(Submission {
            idempotency_key: &k,
            body: BODY,
        }),
    )
    .await
    .expect("the connect timeout bounds the call");
    holder.abort();
    assert!(
        matches!(
            out,
            Outcome::Transient {
                kind: TransientKind::Timeout,
                ..
            }
        ),
        "{out:?}"
    );
}
