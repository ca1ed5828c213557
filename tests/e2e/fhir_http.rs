//! FHIR over HTTP (`[[source.fhir]]`, issue 16) through the real binary: real FHIR clients
//! (fhirpy, fhir-kit-client) create resources and post transactions, the items reach the
//! simulator; every bad request gets its answer in FHIR's words and the endpoint keeps serving.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

const TOKEN: &str = "e2e-fhir-token-0123456789";

/// Configures an open endpoint (`fhir`) and one that needs a token (`fhir-secure`); returns
/// their base URLs.
fn with_endpoints(w: &mut World, extra: &str) -> (String, String) {
    let (open, secure) = (free_port(), free_port());
    std::fs::write(w.path("fhir.token"), format!("{TOKEN}\n")).expect("token file");
    w.extra_config = format!(
        "\n[[source.fhir]]\nname = \"fhir\"\nlisten = \"127.0.0.1:{open}\"\n{extra}\n\n[[source.fhir]]\nname = \"fhir-secure\"\nlisten = \"127.0.0.1:{secure}\"\ntoken_file = \"fhir.token\"\n"
    );
    (
        format!("http://127.0.0.1:{open}/fhir"),
        format!("http://127.0.0.1:{secure}/fhir"),
    )
}

/// A Patient (PUT, with its id) and a Condition for it (POST, no id), from the fixture `i`.
fn patient_and_condition(i: usize) -> (Value, Value) {
    let b: Value = serde_json::from_slice(&condition_input(i)).expect("fixture");
    let patient = b["entry"][0]["resource"].clone();
    let mut condition = b["entry"][1]["resource"].clone();
    condition.as_object_mut().expect("object").remove("id");
    (patient, condition)
}

fn transaction(i: usize) -> Value {
    let (p, c) = patient_and_condition(i);
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"), "resource": p,
         "request": {"method": "PUT", "url": format!("Patient/{}", p["id"].as_str().expect("id"))}},
        {"resource": c, "request": {"method": "POST", "url": "Condition"}}
    ]})
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/clients")
}

/// The venv's python if fhirpy is importable there.
fn fhirpy_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let py = root.join("target/mllp-clients-venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import fhirpy"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn fhir_kit_installed() -> bool {
    clients_dir()
        .join("node_modules/fhir-kit-client/package.json")
        .exists()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Runs a client script on `data`; returns its JSON line.
fn run_client(w: &World, program: &Path, script: &str, base: &str, data: &Value) -> Value {
    let file = w.path(&format!("{script}.json"));
    std::fs::write(&file, data.to_string()).expect("data file");
    let out = Command::new(program)
        .arg(clients_dir().join(script))
        .arg(base)
        .arg(&file)
        .current_dir(clients_dir())
        .output()
        .expect("run the client");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON line")
}

/// Acceptance: fhirpy and fhir-kit-client read the CapabilityStatement, save a Patient (PUT)
/// and a Condition (POST), and post a transaction; each success answer comes after the commit
/// (the inputs are in the store when the client returns), and every patient's bundle reaches
/// the simulator.
#[test]
fn real_fhir_clients_create_resources_and_post_transactions_and_the_items_are_delivered() {
    let py = fhirpy_python();
    let node = fhir_kit_installed();
    if py.is_none() && !node {
        println!(
            "skipped: fhirpy and fhir-kit-client not installed (run tests/e2e/clients/install.sh)"
        );
        return;
    }
    let mut w = World::new();
    let (base, _) = with_endpoints(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    let mut patients = 0;
    let mut clients: Vec<(PathBuf, &str)> = Vec::new();
    match &py {
        Some(py) => clients.push((py.clone(), "fhirpy_send.py")),
        None => println!("skipped: fhirpy not installed (run tests/e2e/clients/install.sh)"),
    }
    if node {
        clients.push((PathBuf::from("node"), "fhirkit_send.mjs"));
    } else {
        println!("skipped: fhir-kit-client not installed (run tests/e2e/clients/install.sh)");
    }
    for (k, (program, script)) in clients.iter().enumerate() {
        let (one, two) = (10 * k + 1, 10 * k + 2);
        let (p, c) = patient_and_condition(one);
        let data = json!({"resources": [p, c], "transaction": transaction(two)});
        let before = w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'");
        let out = run_client(&w, program, script, &base, &data);
        assert_eq!(out["fhirVersion"], "4.0.1", "{script}: {out}");
        assert_eq!(
            out["transaction"],
            json!(["transaction-response", "200 OK", "201 Created"]),
            "{script}: {out}"
        );
        let saved = out["saved"].as_array().expect("saved");
        assert_eq!(saved[0], format!("Patient/pt{one:06}"), "{script}: {out}");
        assert!(
            saved[1]
                .as_str()
                .is_some_and(|s| s.starts_with("Condition/")),
            "{out}"
        );
        assert_eq!(
            w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'") - before,
            3,
            "{script}: every answered request is in the store when the client returns"
        );
        patients += 2;
    }
    wait_until(90, "every patient's condition bundle delivered", || {
        w.db_count("SELECT COUNT(DISTINCT o.bundle_identifier) FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE i.source = 'fhir' AND o.state = 'delivered'")
            >= patients
    });
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir' AND state != 'processed'"),
        0
    );
    assert!(w.accepted_files() >= patients as usize);
    w.stop_agent();
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH, "pt000001"]);
}

/// One request on a fresh connection; returns (status, headers text, body).
fn raw(addr: &str, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn request(method: &str, path: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const JSON: &str = "Content-Type: application/fhir+json\r\n";

/// Asserts an OperationOutcome answer with `status` and issue `code`; returns the outcome.
fn refused(answer: (u16, String, String), status: u16, code: &str) -> Value {
    let (s, head, body) = answer;
    assert_eq!(s, status, "{head}\n{body}");
    let o: Value = serde_json::from_str(&body).expect("an OperationOutcome");
    assert_eq!(o["resourceType"], "OperationOutcome");
    assert_eq!(o["issue"][0]["code"], code, "{o}");
    o
}

/// Issue 16, bad inputs: each gets its FHIR answer, nothing of it is stored, no patient data is
/// echoed or logged, and the endpoint keeps serving good requests (also past a trickling client
/// and 1,000 idle connections).
#[test]
fn bad_requests_get_fhir_answers_and_the_endpoint_keeps_serving() {
    let mut w = World::new();
    let (base, secure) = with_endpoints(
        &mut w,
        "idle_timeout_secs = 2\nheader_timeout_secs = 2\nbody_timeout_secs = 2",
    );
    w.start_sim("", false);
    w.start_agent();
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    let secure_addr = secure
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    let patient = patient_and_condition(1).0.to_string();
    let good = |w: &World| {
        let before = w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'");
        let r = raw(
            &addr,
            &request("PUT", "/fhir/Patient/pt000001", JSON, &patient),
        );
        assert_eq!(r.0, 200, "{r:?}");
        before
    };
    good(&w);

    let o = refused(
        raw(
            &addr,
            &request(
                "POST",
                "/fhir/Patient",
                JSON,
                &format!("{{\"resourceType\":\"Patient\",\"name\":\"{SECRET_FAMILY}"),
            ),
        ),
        400,
        "structure",
    );
    assert!(!o.to_string().contains(SECRET_FAMILY), "{o}");
    let o = refused(
        raw(
            &addr,
            &request(
                "POST",
                "/fhir/Patient",
                JSON,
                &format!("{{\"name\":\"{SECRET_FAMILY}\"}}"),
            ),
        ),
        400,
        "required",
    );
    assert_eq!(o["issue"][0]["expression"][0], "resourceType");
    let unknown = transaction(3)
        .to_string()
        .replacen("\"Condition\",", "\"Conditon\",", 1);
    let o = refused(
        raw(&addr, &request("POST", "/fhir", JSON, &unknown)),
        422,
        "code-invalid",
    );
    assert_eq!(
        o["issue"][0]["expression"][0], "Bundle.entry[1].resource.resourceType",
        "{o}"
    );
    refused(
        raw(
            &addr,
            &request(
                "POST",
                "/fhir/Patient",
                "Content-Type: text/plain\r\n",
                &patient,
            ),
        ),
        415,
        "not-supported",
    );
    // A declared 100 MB body that never comes: 413 once body_timeout_secs passed (a streamed
    // one is in `a_streamed_100_mb_body_gets_its_413_…`).
    let huge = format!(
        "POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\n{JSON}Content-Length: {}\r\n\r\n{{\"resourceType\":\"Patient\"",
        100 * 1024 * 1024
    );
    refused(raw(&addr, huge.as_bytes()), 413, "too-long");
    // A body that stops arriving: 408 once body_timeout_secs passed.
    let stalled = format!(
        "POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\n{JSON}Content-Length: 5000\r\n\r\n{{\"resourceType\":"
    );
    refused(raw(&addr, stalled.as_bytes()), 408, "timeout");
    refused(
        raw(
            &secure_addr,
            &request("POST", "/fhir/Patient", JSON, &patient),
        ),
        401,
        "login",
    );
    refused(
        raw(
            &secure_addr,
            &request(
                "POST",
                "/fhir/Patient",
                &format!("{JSON}Authorization: Bearer wrong-token-000000000\r\n"),
                &patient,
            ),
        ),
        403,
        "forbidden",
    );
    let ok = raw(
        &secure_addr,
        &request(
            "PUT",
            "/fhir/Patient/pt000001",
            &format!("{JSON}Authorization: Bearer {TOKEN}\r\n"),
            &patient,
        ),
    );
    assert_eq!(ok.0, 200, "{ok:?}");
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source LIKE 'fhir%'"),
        2,
        "only the two good requests are stored"
    );

    // A client trickling its headers one byte a second is closed; others are served meanwhile.
    let trickle_addr = addr.clone();
    let trickle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&trickle_addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(900)))
            .expect("timeout");
        let head =
            b"POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa";
        let mut buf = [0u8; 512];
        for (i, b) in head.iter().enumerate() {
            if s.write_all(&[*b]).is_err() {
                return i;
            }
            match s.read(&mut buf) {
                Ok(0) => return i, // closed
                Ok(_) => return i, // an error answer before the close
                Err(_) => {}
            }
        }
        head.len()
    });
    // 1,000 idle connections: at max_connections the idle ones are evicted.
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    assert!(
        idle.len() > 900,
        "could open only {} connections",
        idle.len()
    );
    let before = good(&w);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'"),
        before,
        "the same PUT again is stored once"
    );
    let sent = trickle.join().expect("trickle thread");
    assert!(sent < 40, "the trickling client was served for {sent} s");
    drop(idle);
    let again = raw(
        &addr,
        &request(
            "POST",
            "/fhir/Condition",
            &format!("{JSON}X-Request-Id: e2e-after-1\r\n"),
            &patient_and_condition(1).1.to_string(),
        ),
    );
    assert_eq!(again.0, 201, "{again:?}");
    assert!(
        again
            .1
            .to_ascii_lowercase()
            .contains("location: http://localhost/fhir/condition/"),
        "{}",
        again.1
    );
    // The same request id, the body re-serialised: the first answer again, stored once.
    let condition = patient_and_condition(1).1;
    let pretty = serde_json::to_string_pretty(&condition).expect("json");
    let retried = raw(
        &addr,
        &request(
            "POST",
            "/fhir/Condition",
            &format!("{JSON}X-Request-Id: e2e-after-1\r\n"),
            &pretty,
        ),
    );
    assert_eq!(retried.0, 201, "{retried:?}");
    let location = |head: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with("location:"))
            .map(str::to_string)
    };
    assert_eq!(location(&retried.1), location(&again.1));
    assert_eq!(retried.2, again.2, "the same body as the first answer");
    // The same request id with other content: 409, nothing stored, nothing echoed.
    let mut other = condition.clone();
    other["note"] = json!([{"text": SECRET_FAMILY}]);
    let o = refused(
        raw(
            &addr,
            &request(
                "POST",
                "/fhir/Condition",
                &format!("{JSON}X-Request-Id: e2e-after-1\r\n"),
                &other.to_string(),
            ),
        ),
        409,
        "conflict",
    );
    assert!(
        o.to_string().contains("X-Request-Id") && !o.to_string().contains(SECRET_FAMILY),
        "{o}"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE origin = 'request:e2e-after-1'"),
        1,
        "one request id, one input"
    );
    wait_until(60, "the condition delivered", || {
        w.db_count("SELECT COUNT(*) FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE i.origin = 'request:e2e-after-1' AND o.state = 'delivered'") == 1
    });
    let (ok, out, err) = w.cli(&["queue", "list", "--state", "delivered"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("fhir:request:e2e-after-1"),
        "queue shows the request id: {out}"
    );
    // The outcome per request id: its input and its delivered item, by the ids queue takes.
    let (ok, out, err) = w.cli(&["queue", "show", "fhir:request:e2e-after-1"]);
    assert!(ok, "{err}");
    let input = out.lines().next().unwrap_or_default();
    assert!(
        input.starts_with("I-")
            && input.contains(" processed ")
            && input.contains("fhir:request:e2e-after-1"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("O-") && l.contains("delivered")),
        "{out}"
    );
    // A request that produces no item (a Bundle with no entry): quarantined, and queue says so.
    let empty = raw(
        &addr,
        &request(
            "POST",
            "/fhir",
            &format!("{JSON}X-Request-Id: e2e-empty\r\n"),
            r#"{"resourceType":"Bundle","type":"collection","entry":[]}"#,
        ),
    );
    assert_eq!(empty.0, 201, "{empty:?}");
    wait_until(60, "the empty bundle quarantined", || {
        w.db_count("SELECT COUNT(*) FROM inbox WHERE origin = 'request:e2e-empty' AND state = 'quarantined'") == 1
    });
    let (ok, out, err) = w.cli(&["queue", "show", "request:e2e-empty"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(" quarantined ")
            && out.contains("no clinical content")
            && out.contains("(no item: quarantined"),
        "{out}"
    );
    let (ok, _, err) = w.cli(&["queue", "show", "request:never-sent"]);
    assert!(!ok && err.contains("never-sent"), "{err}");
    w.stop_agent();
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH, "pt000001"]);
}

/// A crossed disk reserve: 503 with Retry-After, nothing stored.
#[test]
fn a_crossed_disk_reserve_answers_503_with_retry_after_and_stores_nothing() {
    let mut w = World::new();
    let (base, _) = with_endpoints(&mut w, "");
    w.start_sim("", false);
    let cfg = w.write_config();
    let text = std::fs::read_to_string(&cfg)
        .expect("read")
        .replace("disk_reserve_mb = 0", "disk_reserve_mb = 1000000000");
    std::fs::write(&cfg, text).expect("write");
    let before = w.started_count();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(w.path("agent.log"))
        .expect("log");
    w.agent = Some(
        Command::new(agent_bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .stderr(log)
            .spawn()
            .expect("spawn"),
    );
    w.wait_started(before);
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    let patient = patient_and_condition(1).0.to_string();
    let mut last = (0, String::new(), String::new());
    // The reserve is checked every few seconds: wait until intake is paused.
    wait_until(30, "intake paused", || {
        last = raw(
            &addr,
            &request("PUT", "/fhir/Patient/pt000001", JSON, &patient),
        );
        last.0 == 503
    });
    let o = refused(last.clone(), 503, "transient");
    assert!(
        last.1.to_ascii_lowercase().contains("retry-after: 60"),
        "{}",
        last.1
    );
    assert!(o["issue"][0]["diagnostics"]
        .as_str()
        .is_some_and(|d| d.contains("disk")));
    w.stop_agent();
    let stored = w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'");
    assert!(stored <= 1, "nothing stored while paused ({stored})");
}

/// The inbox rows of source `fhir` per origin.
fn stored_per_origin(w: &World) -> std::collections::HashMap<String, i64> {
    let db = rusqlite::Connection::open(w.path("agent/tsunagi.db")).expect("db opens");
    let mut stmt = db
        .prepare("SELECT origin, COUNT(*) FROM inbox WHERE source = 'fhir' GROUP BY origin")
        .expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// `POST [base]/Patient` of the fixture `n`'s Patient with `X-Request-Id: crash-<n>`, the body
/// compact or pretty-printed; returns the status and the `Location`.
fn post_patient(addr: &str, n: usize, pretty: bool) -> (u16, Option<String>) {
    let (p, _) = patient_and_condition(n);
    let body = if pretty {
        serde_json::to_string_pretty(&p).expect("json")
    } else {
        p.to_string()
    };
    let headers = format!("{JSON}X-Request-Id: crash-{n}\r\n");
    let (status, head, _) = raw(addr, &request("POST", "/fhir/Patient", &headers, &body));
    let location = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_string())
    });
    (status, location)
}

/// kill -9 while 8 clients stream 5,000 POSTs (each with its own X-Request-Id). After the
/// restart, before any client sends again, every request answered 201 is in the store exactly
/// once; then every client sends again from its last answered request (re-serialised: it must
/// get the same Location) to the end, and nothing is stored twice.
#[test]
fn kill_9_during_a_stream_of_posts_loses_and_duplicates_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 625;
    let mut w = World::new();
    let (base, _) = with_endpoints(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    // Phase 1: stream until the agent dies; each client returns the Locations it was answered.
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, answered) = (addr.clone(), answered.clone());
            std::thread::spawn(move || {
                let mut locations = Vec::new();
                for k in 0..PER_CLIENT {
                    match post_patient(&addr, c * PER_CLIENT + k, false) {
                        (201, Some(location)) => locations.push(location),
                        _ => break,
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                locations
            })
        })
        .collect();
    wait_until(300, "1,500 requests answered", || {
        answered.load(Ordering::SeqCst) >= 1500
    });
    w.kill_agent();
    let answers: Vec<Vec<String>> = clients
        .into_iter()
        .map(|c| c.join().expect("client"))
        .collect();
    assert!(
        answers.iter().any(|a| a.len() < PER_CLIENT),
        "the kill came after the stream ended"
    );
    w.start_agent();
    // After the restart, before anyone sends again: every answered request stored once.
    let stored = stored_per_origin(&w);
    for (c, locations) in answers.iter().enumerate() {
        for k in 0..locations.len() {
            let origin = format!("request:crash-{}", c * PER_CLIENT + k);
            assert_eq!(
                stored.get(&origin),
                Some(&1),
                "{origin} was answered 201 before the kill"
            );
        }
    }
    assert!(stored.values().all(|&n| n == 1), "nothing stored twice");
    // Phase 2: each client repeats its last answered request (re-serialised), then the rest.
    let clients: Vec<_> = answers
        .into_iter()
        .enumerate()
        .map(|(c, locations)| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                if let Some(last) = locations.last() {
                    let n = c * PER_CLIENT + locations.len() - 1;
                    let again = post_patient(&addr, n, true);
                    assert_eq!(again, (201, Some(last.clone())), "request {n} again");
                }
                for k in locations.len()..PER_CLIENT {
                    let n = c * PER_CLIENT + k;
                    assert_eq!(
                        post_patient(&addr, n, false).0,
                        201,
                        "request {n} after the restart"
                    );
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client after the restart");
    }
    w.stop_agent();
    let stored = stored_per_origin(&w);
    assert_eq!(stored.len(), CLIENTS * PER_CLIENT, "every request stored");
    assert!(
        stored
            .iter()
            .all(|(o, &n)| n == 1 && o.starts_with("request:crash-")),
        "none stored twice"
    );
}

/// Issue 16, a 100 MB body: the client really streams all of it (as most clients do, writing
/// before they read) and reads the 413 OperationOutcome, not a reset; other clients are served
/// while it streams, and nothing of it is stored.
#[test]
fn a_streamed_100_mb_body_gets_its_413_and_the_endpoint_keeps_serving_meanwhile() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const MIB: usize = 1024 * 1024;
    const CHUNKS: usize = 100;
    let mut w = World::new();
    let (base, _) = with_endpoints(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let head = format!(
        "POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\n{JSON}Content-Length: {}\r\n\r\n",
        CHUNKS * MIB
    );
    s.write_all(head.as_bytes()).expect("headers");
    let sent = Arc::new(AtomicUsize::new(0));
    let mut writer = s.try_clone().expect("clone");
    let progress = sent.clone();
    let streaming = std::thread::spawn(move || {
        let chunk = vec![b' '; MIB];
        for _ in 0..CHUNKS {
            writer.write_all(&chunk)?;
            progress.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok::<_, std::io::Error>(())
    });
    wait_until(60, "10 MB streamed", || sent.load(Ordering::SeqCst) >= 10);
    let patient = patient_and_condition(1).0;
    let good = raw(
        &addr,
        &request("PUT", "/fhir/Patient/pt000001", JSON, &patient.to_string()),
    );
    assert_eq!(good.0, 200, "{good:?}");
    assert!(
        sent.load(Ordering::SeqCst) < CHUNKS,
        "the good request was answered while the 100 MB streamed"
    );
    streaming
        .join()
        .expect("streaming thread")
        .expect("the whole 100 MB body was taken, not cut off by a reset");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    refused(
        (status, head.to_string(), body.to_string()),
        413,
        "too-long",
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'"),
        1,
        "only the good request is stored"
    );
    w.stop_agent();
}

/// Issue 16, exposure: bound outside loopback the endpoint speaks HTTPS and needs the bearer
/// token and a client certificate; a request with both is stored, one without the token gets
/// 401, a client without a certificate gets no TLS session. A JP-CLINS collection Bundle posted
/// there (`POST [base]`, as files bring them) is processed and delivered to the platform.
#[test]
fn https_outside_loopback_needs_token_and_client_certificate_and_a_collection_bundle_is_delivered()
{
    let mut w = World::new();
    let port = free_port();
    std::fs::write(w.path("fhir.token"), format!("{TOKEN}\n")).expect("token file");
    w.extra_config = format!(
        "\n[[source.fhir]]\nname = \"fhir\"\nlisten = \"0.0.0.0:{port}\"\ntoken_file = \"fhir.token\"\n[source.fhir.tls]\ncert = \"{}\"\nkey = \"{}\"\nclient_ca = \"{}\"\n",
        w.pki.server_cert.display(),
        w.pki.server_key.display(),
        w.pki.ca_cert.display()
    );
    w.start_sim("", false);
    w.start_agent();
    let base = format!("https://localhost:{port}/fhir");
    let ca = std::fs::read(&w.pki.ca_cert).expect("ca");
    let mut identity = std::fs::read(&w.pki.client_cert).expect("client cert");
    identity.extend(std::fs::read(&w.pki.client_key).expect("client key"));
    let builder = || {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("pem")])
    };
    let with_cert = builder()
        .identity(reqwest::Identity::from_pem(&identity).expect("identity"))
        .build()
        .expect("client");
    let without_cert = builder().build().expect("client");
    let bundle = String::from_utf8(condition_input(7)).expect("utf-8");
    let post = |client: &reqwest::Client, token: Option<&str>| {
        w.rt.block_on(async {
            let mut r = client
                .post(&base)
                .header("content-type", "application/fhir+json")
                .header("x-request-id", "tls-1")
                .body(bundle.clone());
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            match r.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let bytes = r.bytes().await.expect("an answer body");
                    let body: Value = serde_json::from_slice(&bytes).expect("a FHIR JSON answer");
                    Ok((status, body))
                }
                Err(e) => Err(e),
            }
        })
    };
    let (status, o) = post(&with_cert, None).expect("an answer over https");
    assert_eq!(
        (status, o["issue"][0]["code"].as_str()),
        (401, Some("login"))
    );
    assert!(
        post(&without_cert, Some(TOKEN)).is_err(),
        "no client certificate, no TLS session"
    );
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir'"),
        0
    );
    let (status, o) = post(&with_cert, Some(TOKEN)).expect("an answer over https");
    assert_eq!(status, 201, "{o}");
    assert_eq!(o["resourceType"], "OperationOutcome");
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'fhir' AND origin = 'request:tls-1'"),
        1,
        "stored when answered"
    );
    wait_until(90, "the collection bundle's condition delivered", || {
        w.db_count("SELECT COUNT(*) FROM outbox o JOIN inbox i ON i.id = o.inbox_id WHERE i.origin = 'request:tls-1' AND o.state = 'delivered'") >= 1
    });
    assert!(w.accepted_files() >= 1);
    w.stop_agent();
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH, "pt000007"]);
}
