//! Loopback tests of the running simulator: real TCP, real mTLS (reqwest + rustls), real files.
//! Every test is bounded by `bounded` (30 s) and every client request by a 10 s timeout.

use std::fs;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;

use crate::fixtures::valid_clins_bundle;
use crate::shared_folder::{request_dir, result_path};
use crate::{start, FaultSpec, RunningSim, ServerTls, SimConfig, SimError, Stats, TestPki};

const TEST_LIMIT: Duration = Duration::from_secs(30);

async fn bounded<F: Future<Output = ()>>(f: F) {
    tokio::time::timeout(TEST_LIMIT, f)
        .await
        .expect("test exceeded its time limit");
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    pki: TestPki,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let pki = TestPki::generate(&root.join("pki")).unwrap();
    Fixture {
        _dir: dir,
        root,
        pki,
    }
}

impl Fixture {
    fn config(&self) -> SimConfig {
        SimConfig::new(self.root.join("data"), ServerTls::from_pki(&self.pki))
    }

    async fn start(&self, faults: &str) -> RunningSim {
        let mut cfg = self.config();
        cfg.faults = FaultSpec::parse(faults).unwrap();
        start(cfg).await.unwrap()
    }
}

fn client_with(pki: &TestPki, identity: bool, timeout: Duration) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&fs::read(&pki.ca_cert).unwrap()).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(timeout);
    if identity {
        let mut pem = fs::read(&pki.client_cert).unwrap();
        pem.extend(fs::read(&pki.client_key).unwrap());
        b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    b.build().unwrap()
}

fn client(pki: &TestPki) -> reqwest::Client {
    client_with(pki, true, Duration::from_secs(10))
}

async fn post(
    c: &reqwest::Client,
    sim: &RunningSim,
    key: Option<&str>,
    body: &serde_json::Value,
) -> reqwest::Result<reqwest::Response> {
    let mut req = c
        .post(sim.bundles_url())
        .header("content-type", "application/fhir+json")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await
}

/// reqwest is built without its `json` feature.
async fn json<T: serde::de::DeserializeOwned>(r: reqwest::Response) -> T {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn accepted_then_duplicate_with_the_same_receipt() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("").await;
        let c = client(&fx.pki);
        let bundle = valid_clins_bundle();

        let r = post(&c, &sim, Some("key-1"), &bundle).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let receipt = header(&r, "x-receipt-id").unwrap().to_string();
        assert_eq!(header(&r, "x-duplicate"), None);
        assert!(sim.accepted_dir().join("key-1.json").is_file());

        let r = post(&c, &sim, Some("key-1"), &bundle).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-receipt-id"), Some(receipt.as_str()));
        assert_eq!(header(&r, "x-duplicate"), Some("true"));

        let r = post(&c, &sim, None, &bundle).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        let stats = c
            .get(format!("https://{}/stats", sim.addr))
            .send()
            .await
            .unwrap();
        let stats: Stats = json(stats).await;
        assert_eq!(
            stats,
            Stats {
                received: 3,
                accepted: 1,
                rejected: 1,
                duplicates: 1
            }
        );
        assert_eq!(sim.identifier_count(), 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn broken_rule_is_422_with_the_rule_key_and_no_patient_value() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("").await;
        let c = client(&fx.pki);
        let mut bundle = valid_clins_bundle();
        bundle["entry"][0]["resource"]["identifier"][0]["value"] = "SECRET:a:b:1".into();
        let r = post(&c, &sim, Some("bad-1"), &bundle).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let text = r.text().await.unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        let oo: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(oo["resourceType"], "OperationOutcome");
        let details = oo["issue"][0]["details"]["text"].as_str().unwrap();
        assert!(details.starts_with("R1013: "), "{details}");
        assert!(fx.root.join("data/rejected/bad-1.json").is_file());
        assert_eq!(sim.stats().rejected, 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn client_without_certificate_is_refused() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("").await;
        let anon = client_with(&fx.pki, false, Duration::from_secs(10));
        let r = post(&anon, &sim, Some("k"), &valid_clins_bundle()).await;
        assert!(r.is_err(), "{r:?}");
        assert_eq!(sim.stats(), Stats::default());
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn server_of_the_wrong_ca_is_refused_by_the_client() {
    bounded(async {
        let fx = fixture();
        for cfg in [
            SimConfig::new(fx.root.join("d1"), ServerTls::wrong_ca_from_pki(&fx.pki)),
            SimConfig {
                faults: FaultSpec::parse("wrong-cert").unwrap(),
                ..SimConfig::new(fx.root.join("d2"), ServerTls::from_pki(&fx.pki))
            },
        ] {
            let sim = start(cfg).await.unwrap();
            let r = post(&client(&fx.pki), &sim, Some("k"), &valid_clins_bundle()).await;
            assert!(r.is_err(), "{r:?}");
            assert_eq!(sim.stats().received, 0);
            sim.shutdown().await;
        }
    })
    .await;
}

#[tokio::test]
async fn first503_then_accepted() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("first503=2").await;
        let c = client(&fx.pki);
        let b = valid_clins_bundle();
        for _ in 0..2 {
            let r = post(&c, &sim, Some("k"), &b).await.unwrap();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            let oo: serde_json::Value = json(r).await;
            assert_eq!(oo["resourceType"], "OperationOutcome");
        }
        let r = post(&c, &sim, Some("k"), &b).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let s = sim.stats();
        assert_eq!((s.received, s.accepted), (3, 1));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn rate_limit_sends_retry_after() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("429=1,retry-after=7").await;
        let r = post(&client(&fx.pki), &sim, Some("k"), &valid_clins_bundle())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after"), Some("7"));
        assert_eq!(sim.stats().accepted, 0);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn reset_answers_nothing_and_accept_then_reset_stores_first() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("reset=1").await;
        let c = client(&fx.pki);
        let b = valid_clins_bundle();
        assert!(post(&c, &sim, Some("k"), &b).await.is_err());
        assert_eq!(sim.stats().accepted, 0);

        sim.set_faults(FaultSpec::parse("accept-then-reset=1").unwrap());
        let c = client(&fx.pki);
        assert!(post(&c, &sim, Some("k"), &b).await.is_err());
        assert_eq!(sim.stats().accepted, 1);
        assert!(sim.accepted_dir().join("k.json").is_file());

        // The agent's retry after the ambiguous failure is recognised as a duplicate.
        sim.set_faults(FaultSpec::default());
        let r = post(&client(&fx.pki), &sim, Some("k"), &b).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-duplicate"), Some("true"));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn hang_holds_until_the_client_gives_up_and_shutdown_still_ends() {
    bounded(async {
        let fx = fixture();
        let sim = fx.start("hang=1").await;
        let impatient = client_with(&fx.pki, true, Duration::from_millis(300));
        let r = post(&impatient, &sim, Some("k"), &valid_clins_bundle()).await;
        assert!(r.as_ref().is_err_and(|e| e.is_timeout()), "{r:?}");
        assert_eq!(sim.stats().received, 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn restarted_sim_still_deduplicates() {
    bounded(async {
        let fx = fixture();
        let b = valid_clins_bundle();
        let sim = fx.start("").await;
        let r = post(&client(&fx.pki), &sim, Some("k"), &b).await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let receipt = header(&r, "x-receipt-id").unwrap().to_string();
        sim.shutdown().await;

        let sim = fx.start("").await;
        let r = post(&client(&fx.pki), &sim, Some("k"), &b).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-receipt-id"), Some(receipt.as_str()));
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn admin_port_reports_stats_and_replaces_faults() {
    bounded(async {
        let fx = fixture();
        let mut cfg = fx.config();
        cfg.admin_listen = Some("127.0.0.1:0".parse().unwrap());
        let sim = start(cfg).await.unwrap();
        let admin = format!("http://{}", sim.admin_addr.unwrap());
        let plain = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();

        let r = plain
            .put(format!("{admin}/faults"))
            .body("first503=1,seed=3")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let spec = plain.get(format!("{admin}/faults")).send().await.unwrap();
        assert_eq!(spec.text().await.unwrap(), "first503=1,seed=3");
        let bad = plain
            .put(format!("{admin}/faults"))
            .body("nope=1")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.text().await.unwrap().contains("nope"));

        let r = post(&client(&fx.pki), &sim, Some("k"), &valid_clins_bundle())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let stats = plain.get(format!("{admin}/stats")).send().await.unwrap();
        let stats: Stats = json(stats).await;
        assert_eq!(stats.received, 1);
        sim.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn admin_port_refuses_non_loopback() {
    let fx = fixture();
    let mut cfg = fx.config();
    cfg.admin_listen = Some("0.0.0.0:0".parse().unwrap());
    assert!(matches!(
        start(cfg).await,
        Err(SimError::AdminNotLoopback(_))
    ));
}

/// Waits until the result exists and the request is gone.
async fn wait_for_answer(result: &Path, request: &Path) {
    while !result.is_file() || request.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn shared_folder_request_gets_a_result_file() {
    bounded(async {
        let fx = fixture();
        let root = fx.root.join("shared");
        let mut cfg = fx.config();
        cfg.shared_folder = Some(root.clone());
        let sim = start(cfg).await.unwrap();

        let req = request_dir(&root).join("sf-1.json");
        let tmp = request_dir(&root).join("sf-1.json.tmp");
        fs::write(&tmp, valid_clins_bundle().to_string()).unwrap();
        fs::rename(&tmp, &req).unwrap();
        let res = result_path(&root, "sf-1");
        tokio::time::timeout(Duration::from_secs(10), wait_for_answer(&res, &req))
            .await
            .expect("no result file within 10 s");
        let result: serde_json::Value = serde_json::from_slice(&fs::read(&res).unwrap()).unwrap();
        assert_eq!(result["status"], "accepted");
        assert_eq!(result["idempotencyKey"], "sf-1");
        assert_eq!(sim.stats().accepted, 1);
        sim.shutdown().await;
    })
    .await;
}
