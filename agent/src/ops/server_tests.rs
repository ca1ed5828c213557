//! The surface over real TCP on loopback: health, readiness, token, TLS, and metrics that move
//! with the work recorded in a real store.

use std::sync::Arc;

use rusqlite::params;

use super::readiness::UplinkState;
use super::*;
use crate::shutdown::Shutdown;
use crate::store;
use crate::uplink::test_pki::Pki;

struct Served {
    base: String,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
    readiness: Arc<Readiness>,
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
}

impl Served {
    async fn stop(self) {
        self.shutdown.trigger();
        let _ = self.task.await;
    }
}

async fn serve(cfg: OpsConfig) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(store::open(&data).unwrap());
    let readiness = Readiness::new();
    let state = OpsState {
        data_dir: data.clone(),
        readiness: readiness.clone(),
        counters: Counters::new(),
    };
    let listener = OpsListener::bind(&cfg, state).await.unwrap().unwrap();
    let scheme = if listener.is_tls() { "https" } else { "http" };
    let base = format!("{scheme}://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    let task = tokio::spawn(listener.run(shutdown.clone()));
    Served {
        base,
        shutdown,
        task,
        readiness,
        _dir: dir,
        data,
    }
}

fn loopback() -> OpsConfig {
    OpsConfig {
        listen: "127.0.0.1:0".into(),
        ..OpsConfig::default()
    }
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn healthz_is_ok_and_readyz_follows_the_checks() {
    let s = serve(loopback()).await;
    assert_eq!(
        get(&format!("{}/healthz", s.base)).await,
        (200, "ok".into())
    );
    let (code, body) = get(&format!("{}/readyz", s.base)).await;
    assert_eq!(code, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"][0]["name"], "store");
    s.readiness.set_store_ok(true);
    s.readiness.set_masters_loaded(true);
    let (code, body) = get(&format!("{}/readyz", s.base)).await;
    assert_eq!(code, 200, "{body}");
    s.readiness.set_uplink(UplinkState::Down);
    let (code, body) = get(&format!("{}/readyz", s.base)).await;
    assert_eq!(code, 503);
    assert!(body.contains("\"down\""), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn the_token_is_required_when_configured() {
    let cfg = OpsConfig {
        token: Some("0123456789abcdef-secret".into()),
        ..loopback()
    };
    let s = serve(cfg).await;
    let client = reqwest::Client::new();
    for path in ["/metrics", "/readyz", "/", "/report?month=2025-01"] {
        let r = client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
        let r = client
            .get(format!("{}{path}", s.base))
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{path}");
    }
    let r = client
        .get(format!("{}/metrics", s.base))
        .bearer_auth("0123456789abcdef-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Liveness stays open: it says nothing but "ok".
    assert_eq!(get(&format!("{}/healthz", s.base)).await.0, 200);
    s.stop().await;
}

#[tokio::test]
async fn outside_loopback_without_tls_or_token_is_refused() {
    let state = OpsState {
        data_dir: std::env::temp_dir(),
        readiness: Readiness::new(),
        counters: Counters::new(),
    };
    let cfg = OpsConfig {
        listen: "0.0.0.0:0".into(),
        ..OpsConfig::default()
    };
    assert!(matches!(
        OpsListener::bind(&cfg, state.clone()).await,
        Err(OpsError::Config(config::OpsConfigError::TokenRequired(_)))
    ));
    let cfg = OpsConfig {
        token: Some("0123456789abcdef-secret".into()),
        ..cfg
    };
    assert!(matches!(
        OpsListener::bind(&cfg, state.clone()).await,
        Err(OpsError::Config(config::OpsConfigError::TlsRequired(_)))
    ));
    let off = OpsConfig {
        listen: String::new(),
        ..OpsConfig::default()
    };
    assert!(OpsListener::bind(&off, state).await.unwrap().is_none());
}

#[tokio::test]
async fn https_with_a_token_serves_the_page() {
    let pki = Pki::new();
    let cfg = OpsConfig {
        tls_cert: Some(pki.server_cert_path.clone()),
        tls_key: Some(pki.server_key_path.clone()),
        token: Some("0123456789abcdef-secret".into()),
        ..loopback()
    };
    let s = serve(cfg).await;
    assert!(s.base.starts_with("https://"));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(
            rustls_pki_types::pem::PemObject::from_pem_slice(pki.ca_pem.as_bytes())
                .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
                .unwrap(),
        ))
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/?lang=en", s.base))
        .bearer_auth("0123456789abcdef-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(r.text().await.unwrap().contains("Backlog"));
    // Plain HTTP to the HTTPS port gets no page.
    let plain = reqwest::get(format!("{}/healthz", s.base.replace("https", "http"))).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    s.stop().await;
}

fn value(text: &str, sample: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{sample} missing in\n{text}"))
}

#[tokio::test]
async fn metrics_move_with_the_work_recorded() {
    let s = serve(loopback()).await;
    let url = format!("{}/metrics", s.base);
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let before = r.text().await.unwrap();
    assert_eq!(
        value(&before, "tsunagi_outbox_items{state=\"pending\"}"),
        0.0
    );
    assert_eq!(value(&before, "tsunagi_store_up"), 1.0);
    {
        let conn = store::open(&s.data).unwrap();
        let now = crate::clock::now_ms();
        conn.execute(
            "INSERT INTO inbox (id, source, origin, format, content_hash, size, raw, received_at, state)
             VALUES (1, 'drop', 'a.json', 'fhir-json', 'h', 1, x'00', ?1, 'processed'),
                    (2, 'drop', 'b.json', 'fhir-json', 'h2', 1, x'00', ?1, 'quarantined')",
            params![now],
        )
        .unwrap();
        for (id, state) in [(1, "pending"), (2, "pending"), (3, "rejected")] {
            conn.execute(
                "INSERT INTO outbox (id, inbox_id, idempotency_key, resource_type, state, created_at, updated_at)
                 VALUES (?1, 1, 'k', 'Bundle', ?2, ?3, ?3)",
                params![id, state, now - 5_000],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO attempt (outbox_id, at, outcome, detail) VALUES
             (3, ?1, 'rejected', 'error invalid [R9012]: x'), (1, ?1, 'transient', 'timeout')",
            params![now],
        )
        .unwrap();
    }
    let after = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(
        value(&after, "tsunagi_outbox_items{state=\"pending\"}"),
        2.0
    );
    assert!(value(&after, "tsunagi_outbox_oldest_pending_age_seconds") >= 4.0);
    assert_eq!(
        value(&after, "tsunagi_ingested_inputs_total{source=\"drop\"}"),
        2.0
    );
    assert_eq!(value(&after, "tsunagi_quarantined_inputs"), 1.0);
    assert_eq!(
        value(&after, "tsunagi_rejections_total{rule=\"R9012\"}"),
        1.0
    );
    assert_eq!(value(&after, "tsunagi_delivery_retries_total"), 1.0);
    assert!(value(&after, "tsunagi_database_size_bytes") > 0.0);
    let page = get(&format!("{}/", s.base)).await.1;
    assert!(page.contains("R9012") && page.contains("O-3"), "{page}");
    s.stop().await;
}

/// The update gate's probe (issue 15): `/readyz` over HTTPS with the token, trusting exactly the
/// surface's own certificate; a wrong token, another certificate or a surface that is not ready
/// is "not ready". Plain HTTP with a token on loopback too.
#[tokio::test(flavor = "multi_thread")]
async fn the_update_probe_asks_readyz_with_the_token_and_the_pinned_certificate() {
    use crate::update::probe::Probe;
    let ask = |cfg: &OpsConfig, base: &str| {
        let probe = Probe::new(cfg.token.clone(), cfg.tls_cert.as_deref()).unwrap();
        let base = base.to_string();
        tokio::task::spawn_blocking(move || probe.ready(&base))
    };
    let pki = Pki::new();
    let token = "0123456789abcdef-secret".to_string();
    let cfg = OpsConfig {
        tls_cert: Some(pki.server_cert_path.clone()),
        tls_key: Some(pki.server_key_path.clone()),
        token: Some(token.clone()),
        ..loopback()
    };
    let s = serve(cfg.clone()).await;
    s.readiness.set_store_ok(true);
    s.readiness.set_masters_loaded(true);
    assert!(ask(&cfg, &s.base).await.unwrap(), "ready over https");
    let wrong_token = OpsConfig {
        token: Some("wrong-token-wrong-token".into()),
        ..cfg.clone()
    };
    assert!(!ask(&wrong_token, &s.base).await.unwrap());
    let other_cert = OpsConfig {
        tls_cert: Some(pki.client_cert_path.clone()),
        ..cfg.clone()
    };
    assert!(
        !ask(&other_cert, &s.base).await.unwrap(),
        "only the pinned certificate"
    );
    s.readiness.set_store_ok(false);
    assert!(!ask(&cfg, &s.base).await.unwrap(), "503 is not ready");
    s.stop().await;

    let plain = OpsConfig {
        token: Some(token),
        ..loopback()
    };
    let s = serve(plain.clone()).await;
    s.readiness.set_store_ok(true);
    s.readiness.set_masters_loaded(true);
    assert!(
        ask(&plain, &s.base).await.unwrap(),
        "ready over http with the token"
    );
    assert!(!ask(&loopback(), &s.base).await.unwrap(), "401 without it");
    s.stop().await;
}
