//! The operations surface of the real binary: `/metrics` read by a real Prometheus parser
//! (prometheus-client from PyPI, installed project-locally by `tests/e2e/clients/install.sh`),
//! the status page rendered by headless Chromium, and no patient data in logs, metrics, pages
//! or stderr after inputs carrying known names, IDs and birth dates went through every path,
//! failures included.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// `[ops]` on a free loopback port; returns the base URL.
fn with_ops(w: &mut World, more: &str) -> String {
    let port = free_port();
    w.extra_config = format!("\n[ops]\nlisten = \"127.0.0.1:{port}\"\n{more}");
    format!("http://127.0.0.1:{port}")
}

fn get(w: &World, url: &str) -> (u16, String) {
    w.rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    })
}

/// The venv's python if prometheus_client is importable there.
fn prometheus_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let py = root.join("target/mllp-clients-venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import prometheus_client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// Parses an exposition with `prometheus_client.parser.text_string_to_metric_families`; returns
/// `{"<name>{k=v,...}": value}`. Panics if the parser refuses the text.
fn parse_with_prometheus_client(py: &Path, text: &str) -> serde_json::Value {
    const SCRIPT: &str = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        key = s.name + "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}"
        out[key] = s.value
print(json.dumps(out))
"#;
    let mut child = Command::new(py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "prometheus_client refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parser output JSON")
}

fn sample(parsed: &serde_json::Value, key: &str) -> f64 {
    parsed[key].as_f64().unwrap_or(0.0)
}

#[test]
fn metrics_parse_as_prometheus_text_and_move_with_the_work_done() {
    let mut w = World::new();
    let base = with_ops(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    assert_eq!(get(&w, &format!("{base}/healthz")), (200, "ok".into()));
    // Not ready until a national master is loaded; loading one (while running) makes it ready.
    let (code, ready) = get(&w, &format!("{base}/readyz"));
    assert_eq!(code, 503, "{ready}");
    assert!(ready.contains("not-loaded"), "{ready}");
    let nmain =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/masters/nmain900.txt");
    let (ok, _, err) = w.cli(&[
        "masters",
        "load",
        "medis-disease",
        nmain.to_str().expect("path"),
    ]);
    assert!(ok, "{err}");
    let (code, ready) = get(&w, &format!("{base}/readyz"));
    assert_eq!(code, 200, "{ready}");
    // Issue 11: which IG version validates (no package configured: the built-in one).
    assert!(
        ready.contains("jp-eCSCLINS.r4#1.10.0 (built-in)"),
        "{ready}"
    );
    let (_, before) = get(&w, &format!("{base}/metrics"));
    assert!(
        before.contains(
            "tsunagi_validation_rules_info{package=\"jp-eCSCLINS.r4\",version=\"1.10.0\",origin=\"builtin\"} 1"
        ),
        "{before}"
    );
    for i in 0..3 {
        w.drop_file(&format!("in-{i}.json"), &condition_input(i));
    }
    w.drop_file("broken.json", b"{ not json");
    wait_until(60, "three delivered", || w.accepted_files() == 3);
    // The platform has them; wait until the agent has recorded the answers too.
    wait_until(30, "deliveries recorded", || {
        w.db_count("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") == 3
    });
    wait_until(30, "quarantine recorded", || {
        w.status()["inputs_quarantined"] == 1
    });
    let (_, after) = get(&w, &format!("{base}/metrics"));
    w.stop_agent();
    let Some(py) = prometheus_python() else {
        println!("skipped: prometheus_client parser absent (run tests/e2e/clients/install.sh)");
        assert!(
            after.contains("tsunagi_ingested_inputs_total{source=\"drop\"} 4"),
            "{after}"
        );
        return;
    };
    let b = parse_with_prometheus_client(&py, &before);
    let a = parse_with_prometheus_client(&py, &after);
    let ingested = "tsunagi_ingested_inputs_total{source=drop}";
    assert_eq!(sample(&a, ingested) - sample(&b, ingested), 4.0, "{after}");
    let accepted = "tsunagi_delivery_attempts_total{outcome=accepted}";
    assert_eq!(sample(&a, accepted) - sample(&b, accepted), 3.0, "{after}");
    assert_eq!(sample(&a, "tsunagi_outbox_items{state=delivered}"), 3.0);
    assert_eq!(sample(&a, "tsunagi_quarantined_inputs{}"), 1.0);
    assert_eq!(sample(&a, "tsunagi_store_up{}"), 1.0);
    assert!(sample(&a, "tsunagi_database_size_bytes{}") > 0.0);
    assert!(sample(&a, "tsunagi_process_resident_memory_bytes{}") > 1e6);
    assert!(sample(&a, "tsunagi_data_dir_free_bytes{}") > 0.0);
    assert!(sample(&a, "tsunagi_last_delivery_timestamp_seconds{}") > 1e9);
    assert!(
        a.as_object()
            .expect("map")
            .keys()
            .any(|k| k.starts_with("tsunagi_build_info{commit=")),
        "{a}"
    );
}

pub(crate) fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Runs a command with a deadline; kills it and panics past the deadline.
fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (mut out, mut err) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: o.join().unwrap_or_default(),
        stderr: e.join().unwrap_or_default(),
    }
}

/// Headless Chromium with the flags the issue names and a fresh profile.
fn chromium_cmd(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Screenshots `url` (asserting a non-trivial PNG and a console without messages) and returns
/// its DOM.
pub(crate) fn render_in_chromium(bin: &Path, work: &Path, name: &str, url: &str) -> String {
    let png = work.join(format!("{name}.png"));
    let shot = run_bounded(
        chromium_cmd(bin, &work.join(format!("profile-{name}")))
            .arg(format!("--screenshot={}", png.display()))
            .args([
                "--window-size=1280,1600",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(url),
        90,
    );
    let log = String::from_utf8_lossy(&shot.stderr);
    assert!(shot.status.success(), "chromium failed on {url}: {log}");
    for line in log.lines() {
        assert!(
            !line.contains("CONSOLE") && !line.contains("Uncaught"),
            "console message on {url}: {line}"
        );
    }
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 10_000,
        "screenshot of {url} is nearly empty: {} bytes",
        bytes.len()
    );
    let dom = run_bounded(
        chromium_cmd(bin, &work.join(format!("profile-{name}-dom")))
            .arg("--dump-dom")
            .arg(url),
        90,
    );
    assert!(dom.status.success(), "chromium --dump-dom failed on {url}");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[test]
fn the_status_page_renders_in_headless_chromium_without_console_errors() {
    let Some(bin) = chromium() else {
        println!("skipped: chromium absent (.ci/run installs Debian's chromium)");
        return;
    };
    let mut w = World::new();
    let base = with_ops(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    w.drop_file("in-1.json", &condition_input(1));
    w.drop_file("broken.json", b"{ not json");
    wait_until(60, "delivered", || w.accepted_files() == 1);
    wait_until(30, "quarantined", || w.status()["inputs_quarantined"] == 1);
    let work = w.path("chromium");
    std::fs::create_dir_all(&work).expect("mkdir");
    // (url, name, what the DOM must contain): the status page in both languages and this
    // month's report with its three inline-SVG charts.
    let month = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).expect("JST"))
        .format("%Y-%m")
        .to_string();
    let pages: Vec<(String, &str, &[&str])> = vec![
        (
            format!("{base}/"),
            "status-ja",
            &[
                "稼働状態",
                "id=\"health\"",
                "id=\"backlog\"",
                "id=\"today\"",
                "id=\"errors\"",
                "id=\"report\"",
                "I-2",
                // Issue 11: which IG version validates.
                "検証規則 (JP-CLINS IG)",
                "jp-eCSCLINS.r4#1.10.0 (built-in)",
            ],
        ),
        (
            format!("{base}/?lang=en"),
            "status-en",
            &[
                "Health",
                "Validation rules (JP-CLINS IG)",
                "Backlog",
                "Today's quality",
                "Recent errors",
                "/report?month=",
            ],
        ),
        (
            format!("{base}/report?month={month}"),
            "report-ja",
            &["<svg", "傷病名"],
        ),
        (
            format!("{base}/report?month={month}&lang=en"),
            "report-en",
            &["<svg"],
        ),
    ];
    for (url, name, needles) in &pages {
        let dom = render_in_chromium(&bin, &work, name, url);
        for n in *needles {
            assert!(dom.contains(n), "{url}: {n:?} missing in the DOM:\n{dom}");
        }
    }
    w.stop_agent();
}

fn mllp_send(port: u16, msgs: &[String]) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect MLLP");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    for m in msgs {
        let mut frame = vec![0x0b];
        frame.extend_from_slice(m.as_bytes());
        frame.extend_from_slice(&[0x1c, 0x0d]);
        s.write_all(&frame).expect("send");
        let mut ack = Vec::new();
        let mut buf = [0u8; 1024];
        while !ack.ends_with(&[0x1c, 0x0d]) {
            let n = s.read(&mut buf).expect("ACK");
            assert!(n > 0, "closed before the ACK");
            ack.extend_from_slice(&buf[..n]);
        }
    }
}

fn hl7(i: usize) -> String {
    format!(
        "MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250401120000||ADT^A08^ADT_A01|MSG{i:05}|P|2.5||||||UNICODE UTF-8\r\
         EVN||20250401120000\r\
         PID|||P{i:07}^^^^PI||{SECRET_FAMILY}^{SECRET_GIVEN}^^^^^L^I||19870605|F\r"
    )
}

fn read_dir_text(dir: &Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir)
        .expect("log dir")
        .filter_map(Result::ok)
    {
        all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
    }
    all
}

#[test]
fn no_patient_data_reaches_logs_metrics_the_status_page_or_stderr() {
    let mut w = World::new();
    let mllp_port = free_port();
    let base = with_ops(
        &mut w,
        &format!(
            "[log]\nformat = \"json\"\ndir = \"logs\"\n\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"127.0.0.1:{mllp_port}\"\n"
        ),
    );
    w.start_sim("", false);
    // Logs go to logs/; stderr (agent.log) should stay quiet.
    let cfg = w.write_config();
    let stderr = std::fs::File::create(w.path("agent.log")).expect("stderr file");
    w.agent = Some(
        Command::new(agent_bin())
            .args(["run", "--config"])
            .arg(&cfg)
            .env("TSUNAGI_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn tsunagi"),
    );
    let logs = w.path("logs");
    wait_until(60, "the agent started (logged to logs/)", || {
        logs.exists() && read_dir_text(&logs).contains("tsunagi started")
    });

    // Good inputs, a quarantined one, HL7 over MLLP (with a frame the listener refuses), and a
    // bundle the platform rejects: all carry the same known name and birth date.
    for i in 1..=3 {
        w.drop_file(&format!("in-{i}.json"), &condition_input(i));
    }
    let broken = format!(
        "{{\"resourceType\":\"Patient\",\"name\":[{{\"text\":\"{SECRET_FAMILY} {SECRET_GIVEN}\"}}],\"birthDate\":\"{SECRET_BIRTH}\""
    );
    w.drop_file("broken.json", broken.as_bytes());
    mllp_send(
        mllp_port,
        &[
            hl7(1),
            hl7(2),
            format!("PID|||P0000009||{SECRET_FAMILY}^{SECRET_GIVEN}||19870605\r"),
        ],
    );
    wait_until(60, "three delivered", || w.accepted_files() == 3);
    let accepted = std::fs::read_dir(w.path("platform/accepted"))
        .expect("dir")
        .filter_map(Result::ok)
        .next()
        .expect("file");
    let body = std::fs::read_to_string(accepted.path()).expect("read");
    let foreign = body
        .replace(INSTITUTION, "2318814790")
        .replace("\"c1\"", "\"c-foreign\"");
    w.drop_file("foreign.json", foreign.as_bytes());
    wait_until(60, "rejection and quarantine recorded", || {
        let s = w.status();
        s["outbox"].to_string().contains("rejected") && s["inputs_quarantined"] == 1
    });
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'ehr'"),
        2
    );

    let mut seen = Vec::new();
    for path in [
        "/metrics",
        "/",
        "/?lang=en",
        "/readyz",
        "/report?month=2025-01",
    ] {
        let (code, text) = get(&w, &format!("{base}{path}"));
        assert!(code < 500 || path == "/readyz", "{path}: {code}");
        seen.push((path.to_string(), text));
    }
    let page = &seen[1].1;
    assert!(
        page.contains("I-") && page.contains("O-"),
        "errors listed: {page}"
    );
    w.stop_agent();
    let file_log = read_dir_text(&logs);
    assert!(
        file_log
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "JSON lines"
    );
    assert!(
        file_log.contains("rejected by the platform"),
        "the failures were logged"
    );
    for e in std::fs::read_dir(&logs)
        .expect("logs")
        .filter_map(Result::ok)
    {
        if let Some(mode) = mode_of(&e.path()) {
            assert_eq!(mode, 0o600, "{}", e.path().display());
        }
    }
    seen.push(("log files".into(), file_log));
    seen.push(("stderr".into(), w.agent_log()));
    let secrets = [
        SECRET_FAMILY,
        SECRET_GIVEN,
        SECRET_BIRTH,
        "19870605",
        "P0000001",
        "P0000009",
        "pt000001",
        "00012345:あいう",
    ];
    for (what, text) in &seen {
        for s in secrets {
            assert!(
                !text.contains(s),
                "patient data {s:?} appeared in {what}:\n{text}"
            );
        }
    }
}

/// The operators' kit (`packaging/operators/`, issue 13): every series its alert rules and
/// dashboard name is one the real agent or the real `tsunagi-fleet` exports, so a renamed
/// metric fails here rather than silencing an operator's alert. The agent's certificate expiry
/// series is among them (the uplink's client certificate is configured).
#[test]
fn every_series_the_operators_kit_names_is_exported_by_the_agent_or_the_fleet() {
    let mut w = World::new();
    let base = with_ops(&mut w, "");
    w.start_sim("", false);
    w.start_agent();
    let (code, agent) = get(&w, &format!("{base}/metrics"));
    assert_eq!(code, 200);
    let mut fleet = std::process::Command::new(fleet_bin())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(w.path("fleet.db"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("tsunagi-fleet");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(fleet.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("address line");
    let url = line
        .trim()
        .trim_start_matches("tsunagi-fleet listening on ")
        .to_string();
    let (code, fleet_metrics) = get(&w, &format!("{url}/metrics"));
    let _ = fleet.kill();
    let _ = fleet.wait();
    assert_eq!(code, 200, "{fleet_metrics}");
    let exported: Vec<&str> = agent
        .lines()
        .chain(fleet_metrics.lines())
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        exported.contains(&"tsunagi_certificate_expiry_timestamp_seconds"),
        "{agent}"
    );
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/operators");
    let text = ["prometheus-alerts.yml", "grafana-dashboard.json"]
        .iter()
        .map(|f| std::fs::read_to_string(kit.join(f)).expect("kit file"))
        .collect::<Vec<_>>()
        .join("\n");
    // A label the Collector derives from the resource attribute, not a series.
    const LABELS: [&str; 1] = ["tsunagi_institution_number"];
    let mut named: Vec<String> = text
        .match_indices("tsunagi_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        // `tsunagi_*` in the comments is a prefix, not a name.
        .filter(|n| !LABELS.contains(&n.as_str()) && !n.ends_with('_'))
        .collect();
    named.sort();
    named.dedup();
    assert!(named.len() >= 10, "{named:?}");
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !exported.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the kit names series nothing exports: {missing:?}"
    );
    w.stop_agent();
}
