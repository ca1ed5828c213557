//! Endpoint tests against a fake intake: answers only after the commit, each refusal in FHIR's
//! words, retries stored once, slow and idle clients. The real store and real clients are in
//! the end-to-end tests (`tests/e2e/fhir_http.rs`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::*;
use crate::source::mllp::{CommitFuture, IncomingMessage, OriginCommit, OriginCommitFuture};
use crate::source::{Committed, IntakeError};

/// Stores (origin, bytes) in memory; commits wait for a permit of `gate`; `fail` = 1 paused,
/// 2 store error.
/// (origin, bytes) → inbox id.
type Stored = Arc<Mutex<HashMap<(String, Vec<u8>), i64>>>;

#[derive(Default)]
struct FakeIntake {
    stored: Stored,
    gate: Option<Arc<Semaphore>>,
    fail: AtomicU8,
}

impl MessageIntake for FakeIntake {
    fn commit_message(&self, m: IncomingMessage) -> CommitFuture {
        let (stored, gate) = (self.stored.clone(), self.gate.clone());
        let fail = self.fail.load(Ordering::SeqCst);
        Box::pin(async move {
            if let Some(g) = gate {
                g.acquire().await.expect("gate").forget();
            }
            match fail {
                1 => return Err(IntakeError::Paused),
                2 => return Err(IntakeError::Store("disk I/O error".into())),
                _ => {}
            }
            let mut s = stored.lock().unwrap();
            let n = s.len() as i64 + 1;
            let key = (m.origin, m.raw);
            Ok(match s.get(&key) {
                Some(id) => Committed::AlreadyStored { inbox_id: *id },
                None => {
                    s.insert(key, n);
                    Committed::Stored { inbox_id: n }
                }
            })
        })
    }

    fn commit_once_per_origin(&self, m: IncomingMessage) -> OriginCommitFuture {
        let earlier = self
            .stored
            .lock()
            .unwrap()
            .iter()
            .find(|((origin, _), _)| *origin == m.origin)
            .map(|((_, raw), id)| (*id, raw.clone()));
        match earlier {
            Some((id, raw)) if raw == m.raw => Box::pin(std::future::ready(Ok(
                OriginCommit::Committed(Committed::AlreadyStored { inbox_id: id }),
            ))),
            Some((id, raw)) => Box::pin(std::future::ready(Ok(OriginCommit::OtherBytes {
                inbox_id: id,
                raw: Some(raw),
            }))),
            None => {
                let commit = self.commit_message(m);
                Box::pin(async move { commit.await.map(OriginCommit::Committed) })
            }
        }
    }
}

/// Sends raw bytes on a new connection and returns the answer's status code (0: closed without
/// an answer).
fn raw_status(addr: SocketAddr, request: &[u8]) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request);
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

struct Running {
    url: String,
    addr: SocketAddr,
    intake: Arc<FakeIntake>,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<FhirCounts>,
}

async fn start(cfg: FhirConfig, intake: FakeIntake) -> Running {
    let listener = FhirListener::bind(cfg).await.expect("bind");
    let (url, addr) = (listener.base_url(), listener.addr);
    let intake = Arc::new(intake);
    let shutdown = Shutdown::new();
    let task = tokio::spawn(listener.run(intake.clone(), shutdown.clone()));
    Running {
        url,
        addr,
        intake,
        shutdown,
        task,
    }
}

fn local() -> FhirConfig {
    FhirConfig::new("ehr", "127.0.0.1:0".parse().unwrap())
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

fn post(url: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/fhir+json")
        .body(body.to_string())
}

async fn outcome(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("a body");
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

fn patient() -> Value {
    json!({"resourceType":"Patient","name":[{"family":"山田"}]})
}

#[tokio::test]
async fn the_answer_comes_only_after_the_commit() {
    let gate = Arc::new(Semaphore::new(0));
    let ep = start(
        local(),
        FakeIntake {
            gate: Some(gate.clone()),
            ..Default::default()
        },
    )
    .await;
    let req = tokio::spawn(post(&format!("{}/Patient", ep.url), &patient()).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!req.is_finished(), "answered before the commit returned");
    assert!(ep.intake.stored.lock().unwrap().is_empty());
    gate.add_permits(1);
    let r = req.await.unwrap().unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(ep.intake.stored.lock().unwrap().len(), 1);
    ep.shutdown.trigger();
    assert_eq!(ep.task.await.unwrap().stored, 1);
}

#[tokio::test]
async fn create_update_and_transaction_are_answered_as_fhir_expects_and_retries_stored_once() {
    let ep = start(local(), FakeIntake::default()).await;
    let r = post(&format!("{}/Patient", ep.url), &patient())
        .header("x-request-id", "req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(loc, format!("{}/Patient/1/_history/1", ep.url));
    assert_eq!(r.headers()["x-request-id"], "req-1");
    let again = post(&format!("{}/Patient", ep.url), &patient())
        .header("x-request-id", "req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            again.status().as_u16(),
            again.headers()["location"].to_str().unwrap()
        ),
        (201, loc.as_str())
    );
    let put = json!({"resourceType":"Patient","id":"p1"});
    let r = client()
        .put(format!("{}/Patient/p1", ep.url))
        .header("content-type", "application/json")
        .body(put.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tx = json!({"resourceType":"Bundle","type":"transaction","entry":[
        {"resource": put, "request":{"method":"PUT","url":"Patient/p1"}},
        {"resource":{"resourceType":"Condition"},"request":{"method":"POST","url":"Condition"}}]});
    let (status, b) = outcome(post(&format!("{}/", ep.url), &tx).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(b["type"], "transaction-response");
    assert_eq!(b["entry"][1]["response"]["status"], "201 Created");
    let (status, _) = outcome(post(&ep.url, &tx).send().await.unwrap()).await;
    assert_eq!(status, 200, "the same transaction again (no slash)");
    assert_eq!(
        ep.intake.stored.lock().unwrap().len(),
        3,
        "retries stored once"
    );
    let (status, cap) = outcome(
        client()
            .get(format!("{}/metadata", ep.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, cap["resourceType"].as_str()),
        (200, Some("CapabilityStatement"))
    );
    ep.shutdown.trigger();
    let counts = ep.task.await.unwrap();
    assert_eq!((counts.stored, counts.duplicates), (3, 2));
}

#[tokio::test]
async fn a_request_id_is_stored_once_however_the_retry_is_serialised_and_never_reused_for_other_content(
) {
    let ep = start(local(), FakeIntake::default()).await;
    let u = format!("{}/", ep.url);
    let tx = json!({"resourceType":"Bundle","type":"batch","entry":[
        {"resource":{"resourceType":"Condition","code":{"text":"x"}},"request":{"method":"POST","url":"Condition"}}]});
    let send = |body: String| {
        client()
            .post(&u)
            .header("content-type", "application/fhir+json")
            .header("x-request-id", "retry-1")
            .body(body)
            .send()
    };
    let (s, first) = outcome(send(tx.to_string()).await.unwrap()).await;
    assert_eq!(s, 200);
    // The same request, pretty-printed: answered from the stored input, not stored again.
    let (s, again) = outcome(
        send(serde_json::to_string_pretty(&tx).unwrap())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, &again), (200, &first));
    // The same id with other content: 409 naming the header, nothing stored, no value echoed.
    let mut other = tx.clone();
    other["entry"][0]["resource"]["code"]["text"] = json!("山田");
    let (s, o) = outcome(send(other.to_string()).await.unwrap()).await;
    assert_eq!((s, o["issue"][0]["code"].as_str()), (409, Some("conflict")));
    let text = o.to_string();
    assert!(
        text.contains("X-Request-Id") && !text.contains("山田"),
        "{o}"
    );
    assert_eq!(ep.intake.stored.lock().unwrap().len(), 1, "stored once");
    ep.shutdown.trigger();
    let counts = ep.task.await.unwrap();
    assert_eq!(
        (counts.stored, counts.duplicates, counts.refused),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn every_refusal_is_an_operation_outcome_and_the_endpoint_keeps_serving() {
    let mut cfg = local();
    cfg.max_body_bytes = 1024;
    let ep = start(cfg, FakeIntake::default()).await;
    let u = |p: &str| format!("{}{p}", ep.url);
    let send = |rb: reqwest::RequestBuilder| async move { outcome(rb.send().await.unwrap()).await };
    let raw = |ct: &'static str, body: &'static str| {
        client()
            .post(u("/Patient"))
            .header("content-type", ct)
            .body(body)
    };
    let (s, o) = send(raw(
        "application/fhir+json",
        "{\"resourceType\":\"Patient\",\"name\":\"山田",
    ))
    .await;
    assert_eq!(
        (s, o["issue"][0]["code"].as_str()),
        (400, Some("structure"))
    );
    assert!(!o.to_string().contains("山田"), "{o}");
    let (s, o) = send(raw(
        "application/fhir+json",
        "{\"resourceType\":\"Patiant\"}",
    ))
    .await;
    assert_eq!(
        (s, o["issue"][0]["expression"][0].as_str()),
        (422, Some("resourceType"))
    );
    let (s, _) = send(raw("text/plain", "{}")).await;
    assert_eq!(s, 415);
    let big = json!({"resourceType":"Patient","text":"x".repeat(4096)});
    let (s, o) = send(post(&u("/Patient"), &big)).await;
    assert_eq!((s, o["issue"][0]["code"].as_str()), (413, Some("too-long")));
    // Over the cap without a declared length (chunked).
    let mut chunked = b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n".to_vec();
    chunked.extend(std::iter::repeat_n(b' ', 4096));
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let addr = ep.addr;
    let status = tokio::task::spawn_blocking(move || raw_status(addr, &chunked))
        .await
        .unwrap();
    assert_eq!(status, 413);
    // Over the cap, waiting for 100 Continue: answered at once, before any body is sent.
    let waiting = b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nExpect: 100-continue\r\nContent-Length: 4096\r\n\r\n".to_vec();
    let status = tokio::task::spawn_blocking(move || raw_status(addr, &waiting))
        .await
        .unwrap();
    assert_eq!(status, 413);
    let (s, _) = send(client().delete(u("/Patient/p1"))).await;
    assert_eq!(s, 405);
    let (s, _) = send(client().get(u("/Patient/p1"))).await;
    assert_eq!(s, 405);
    let (s, _) = send(client().get(format!("http://{}/other", ep.addr))).await;
    assert_eq!(s, 404);
    ep.intake.fail.store(1, Ordering::SeqCst);
    let r = post(&u("/Patient"), &patient()).send().await.unwrap();
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "60")
    );
    ep.intake.fail.store(2, Ordering::SeqCst);
    let r = post(&u("/Patient"), &patient()).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    ep.intake.fail.store(0, Ordering::SeqCst);
    assert!(
        ep.intake.stored.lock().unwrap().is_empty(),
        "nothing refused was stored"
    );
    let r = post(&u("/Patient"), &patient()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    ep.shutdown.trigger();
    let counts = ep.task.await.unwrap();
    assert_eq!((counts.stored, counts.unavailable), (1, 2));
}

#[tokio::test]
async fn a_token_is_required_when_configured_but_not_for_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("fhir.token");
    std::fs::write(&token, "0123456789abcdef-token\n").unwrap();
    let mut cfg = local();
    cfg.token_file = Some(token);
    let ep = start(cfg, FakeIntake::default()).await;
    let u = format!("{}/Patient", ep.url);
    let r = post(&u, &patient()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = post(&u, &patient())
        .bearer_auth("wrong-token-0123456")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(&u, &patient())
        .bearer_auth("0123456789abcdef-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = client()
        .get(format!("{}/metadata", ep.url))
        .send()
        .await
        .unwrap();
    let (s, cap) = outcome(r).await;
    assert_eq!(s, 200);
    assert!(cap["rest"][0]["security"].is_object());
    ep.shutdown.trigger();
    ep.task.await.unwrap();
}

#[tokio::test]
async fn slow_and_idle_clients_are_closed_and_cannot_lock_others_out() {
    let mut cfg = local();
    cfg.idle_timeout_secs = 1;
    cfg.body_timeout_secs = 1;
    cfg.max_connections = 4;
    let ep = start(cfg, FakeIntake::default()).await;
    let addr = ep.addr;
    // Ten idle connections: at the cap each new one evicts the one idle the longest.
    let idle: Vec<std::net::TcpStream> = (0..10)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    // One trickling its headers a byte at a time is closed after idle_timeout_secs.
    let trickle = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let head = b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nX-Padding: ";
        let mut buf = [0u8; 256];
        for i in 0..100 {
            if s.write_all(&head[i % head.len()..][..1]).is_err() {
                return i;
            }
            match s.read(&mut buf) {
                Ok(0) => return i,
                Ok(_) => return i, // an error answer, then the close
                Err(_) => {}
            }
        }
        100
    });
    let r = post(&format!("{}/Patient", ep.url), &patient())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "a real client is served meanwhile");
    // A body that stops arriving is answered 408, nothing stored.
    let partial = b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{".to_vec();
    let status = tokio::task::spawn_blocking(move || raw_status(addr, &partial))
        .await
        .unwrap();
    assert_eq!(status, 408);
    assert_eq!(ep.intake.stored.lock().unwrap().len(), 1);
    let sent = trickle.await.unwrap();
    assert!(sent < 100, "the trickling client was never closed");
    drop(idle);
    ep.shutdown.trigger();
    assert!(ep.task.await.unwrap().idle_closed >= 1);
}

#[tokio::test]
async fn shutdown_answers_the_request_in_progress_and_does_not_wait_for_a_stalled_client() {
    let gate = Arc::new(Semaphore::new(0));
    let mut cfg = local();
    cfg.idle_timeout_secs = 600;
    cfg.header_timeout_secs = 600;
    let ep = start(
        cfg,
        FakeIntake {
            gate: Some(gate.clone()),
            ..Default::default()
        },
    )
    .await;
    // A client that sent half its headers, and a request whose commit is running.
    let mut stalled = tokio::net::TcpStream::connect(ep.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stalled, b"POST /fhir/Patient HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let req = tokio::spawn(post(&format!("{}/Patient", ep.url), &patient()).send());
    // Let the request reach the commit (it waits at the gate), then shut down.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!req.is_finished());
    ep.shutdown.trigger();
    gate.add_permits(1);
    let r = req.await.unwrap().unwrap();
    assert_eq!(r.status(), 201, "the request in progress is answered");
    let counts = tokio::time::timeout(Duration::from_secs(60), ep.task)
        .await
        .expect("the endpoint stopped without waiting for the stalled client's idle timeout")
        .unwrap();
    assert_eq!(counts.stored, 1);
    drop(stalled);
}
