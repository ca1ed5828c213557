//! Fleet reporting over OpAMP (issue 13), with real processes and sockets on loopback:
//! - the agent reports to `tsunagi-fleet` (the real binary), survives the server's outage, is
//!   asked for its full state by a server that lost it, and says goodbye on a clean stop;
//! - the agent's messages decoded by the official OpAMP protobufs (`opamp_pb2` of PyPI's
//!   `opentelemetry-opamp-client`) in a small Python server, through ReportFullState, an outage
//!   and a clean stop;
//! - that package's own OpAMP client, pointed at `tsunagi-fleet`, appears on its page.
//!
//! The Python parts print "skipped" when tests/e2e/clients/install.sh has not installed them.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::util::*;

const AGENT_TOKEN: &str = "agent-token-0123456789abcdef";
const PAGE_TOKEN: &str = "page-token-0123456789abcdef";

/// A running `tsunagi-fleet`; killed on drop.
struct FleetServer {
    child: Child,
    url: String,
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_fleet(dir: &Path, db: &str, listen: &str) -> FleetServer {
    start_fleet_with(dir, db, listen, &[])
}

fn start_fleet_with(dir: &Path, db: &str, listen: &str, extra: &[&OsStr]) -> FleetServer {
    std::fs::write(dir.join("agent.token"), AGENT_TOKEN).expect("token");
    std::fs::write(dir.join("page.token"), PAGE_TOKEN).expect("token");
    let mut child = Command::new(fleet_bin())
        .arg("--listen")
        .arg(listen)
        .arg("--db")
        .arg(dir.join(db))
        .arg("--agent-token-file")
        .arg(dir.join("agent.token"))
        .arg("--page-token-file")
        .arg(dir.join("page.token"))
        .args(["--interval-secs", "1"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tsunagi-fleet");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let url = line
        .trim()
        .strip_prefix("tsunagi-fleet listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    FleetServer { child, url }
}

fn get(w: &World, url: &str, token: Option<&str>) -> (u16, String) {
    w.rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    })
}

fn agents(w: &World, f: &FleetServer) -> Vec<serde_json::Value> {
    let (status, body) = get(w, &format!("{}/agents.json", f.url), Some(PAGE_TOKEN));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("agents.json");
    v["agents"].as_array().cloned().unwrap_or_default()
}

fn fleet_config(url: &str) -> String {
    format!(
        "[fleet]\nopamp_url = \"{url}/v1/opamp\"\ninterval_secs = 1\ntoken = \"{AGENT_TOKEN}\"\n"
    )
}

#[test]
fn the_agent_reports_to_tsunagi_fleet_through_an_outage_a_lost_state_and_a_clean_stop() {
    let mut w = World::new();
    let fleet = start_fleet(w.dir.path(), "fleet.db", "127.0.0.1:0");
    let addr = fleet.url.trim_start_matches("http://").to_string();
    w.extra_config = fleet_config(&fleet.url);
    w.start_sim("", false);
    w.start_agent();
    w.drop_file("in-1.json", &condition_input(1));
    wait_until(60, "the agent on the fleet page with its figures", || {
        agents(&w, &fleet).iter().any(|a| {
            a["non_identifying"]["tsunagi.institution_number"] == INSTITUTION
                && a["identifying"]["service.name"] == "tsunagi"
                && a["health"]["figures"]["tsunagi.delivered_today"].as_f64() == Some(1.0)
        })
    });
    let a = agents(&w, &fleet).remove(0);
    for c in [
        "store",
        "masters",
        "uplink",
        "processor",
        "disk",
        "source/drop",
    ] {
        assert!(
            a["health"]["components"][c].is_object(),
            "component {c}: {a}"
        );
    }
    assert_eq!(
        a["capabilities"].as_u64().map(|c| c & 0x2),
        Some(0),
        "no remote config"
    );
    let config = a["effective_config"]["tsunagi.toml"]
        .as_str()
        .expect("config");
    assert!(config.contains("interval_secs") && !config.contains(AGENT_TOKEN));
    let uid = a["uid"].as_str().expect("uid").to_string();
    let kept = std::fs::read_to_string(w.path("agent/fleet_instance_uid")).expect("uid file");
    assert_eq!(kept.trim(), uid, "the instance uid is kept in the data dir");

    // The page: token required; both languages list the agent.
    assert_eq!(get(&w, &format!("{}/", fleet.url), None).0, 401);
    let (_, ja) = get(&w, &format!("{}/?lang=ja", fleet.url), Some(PAGE_TOKEN));
    let (_, en) = get(
        &w,
        &format!("{}/?lang=en&sort=backlog", fleet.url),
        Some(PAGE_TOKEN),
    );
    assert!(ja.contains("医療機関番号") && ja.contains(INSTITUTION) && ja.contains(&uid));
    assert!(en.contains("Institution") && en.contains(INSTITUTION));
    let (_, detail) = get(
        &w,
        &format!("{}/agent/{uid}?lang=en", fleet.url),
        Some(PAGE_TOKEN),
    );
    assert!(detail.contains("source/drop") && !detail.contains(AGENT_TOKEN));
    let (_, metrics) = get(&w, &format!("{}/metrics", fleet.url), Some(PAGE_TOKEN));
    assert!(
        metrics.contains("tsunagi_fleet_agents{standing=\"healthy\"}"),
        "{metrics}"
    );

    // Outage: the server goes away; the agent keeps working; a new server with an empty
    // database (it lost the state) asks for the full state and gets it.
    drop(fleet);
    wait_until(30, "the agent noticing the outage", || {
        w.agent_log().contains("fleet report not delivered")
    });
    w.drop_file("in-2.json", &condition_input(2));
    wait_until(60, "delivery during the outage", || w.accepted_files() >= 2);
    let fleet = start_fleet(w.dir.path(), "fleet-new.db", &addr);
    wait_until(60, "full state re-sent to the server that lost it", || {
        agents(&w, &fleet).iter().any(|a| {
            a["uid"] == uid.as_str()
                && a["non_identifying"]["tsunagi.institution_number"] == INSTITUTION
                && a["health"]["figures"]["tsunagi.delivered_today"].as_f64() == Some(2.0)
        })
    });
    assert!(w.agent_log().contains("fleet server reachable again"));

    // A clean stop says goodbye.
    w.stop_agent();
    let a = agents(&w, &fleet).remove(0);
    assert_eq!(a["disconnected"], true, "{a}");
    let standing = a["standing"].as_str().unwrap_or("");
    assert!(standing == "stopped" || standing == "stale", "{standing}");
    // No patient data on the server: not in its database, its JSON or its pages.
    let (_, detail) = get(&w, &format!("{}/agent/{uid}", fleet.url), Some(PAGE_TOKEN));
    let db = std::fs::read(w.path("fleet-new.db")).unwrap_or_default();
    let everything = format!(
        "{detail}{}{}",
        String::from_utf8_lossy(&db),
        serde_json::to_string(&a).unwrap_or_default()
    );
    for secret in [SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH] {
        assert!(
            !everything.contains(secret),
            "patient data {secret:?} reached the fleet"
        );
    }
}

/// tsunagi-fleet over HTTPS (its own TLS, `tsunagi-web`): the agent reports with the CA in
/// `[fleet] ca_cert`, the page answers over HTTPS only; off loopback, plain HTTP is refused.
#[test]
fn tsunagi_fleet_serves_https_and_refuses_plain_http_off_loopback() {
    let mut w = World::new();
    let (cert, key) = (w.pki.server_cert.clone(), w.pki.server_key.clone());
    let tls: [&OsStr; 4] = [
        OsStr::new("--tls-cert"),
        cert.as_os_str(),
        OsStr::new("--tls-key"),
        key.as_os_str(),
    ];
    let fleet = start_fleet_with(w.dir.path(), "fleet.db", "127.0.0.1:0", &tls);
    assert!(fleet.url.starts_with("https://"), "{}", fleet.url);
    let url = fleet.url.replace("127.0.0.1", "localhost");
    w.extra_config = format!(
        "{}ca_cert = \"{}\"\n",
        fleet_config(&url),
        w.pki.ca_cert.display()
    );
    w.start_sim("", false);
    w.start_agent();
    let ca = std::fs::read(&w.pki.ca_cert).expect("ca");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).expect("pem")])
        .build()
        .expect("client");
    let listed = |w: &World| {
        w.rt.block_on(async {
            let r = client
                .get(format!("{url}/agents.json"))
                .bearer_auth(PAGE_TOKEN)
                .send()
                .await
                .expect("GET over https");
            assert!(r.headers().contains_key("content-security-policy"));
            r.text().await.expect("body")
        })
        .contains(INSTITUTION)
    };
    wait_until(60, "the agent listed over https", || listed(&w));
    w.stop_agent();
    let plain = get_status(&w, &url.replace("https://", "http://"));
    assert_ne!(
        plain,
        Some(200),
        "plain http to the https port gets nothing"
    );
    let out = Command::new(fleet_bin())
        .args(["--listen", "0.0.0.0:0", "--db"])
        .arg(w.path("other.db"))
        .output()
        .expect("run tsunagi-fleet");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tls-cert") && err.contains("loopback"),
        "{err}"
    );
}

fn get_status(w: &World, url: &str) -> Option<u16> {
    w.rt.block_on(async {
        reqwest::Client::new()
            .get(url)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    })
}

#[test]
fn plain_http_to_a_remote_fleet_server_is_refused_at_start() {
    let mut w = World::new();
    w.extra_config = "[fleet]\nopamp_url = \"http://fleet.example.jp/v1/opamp\"\n".into();
    w.start_sim("", false);
    let cfg = w.write_config();
    let out = Command::new(agent_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback"), "{err}");
}

/// The venv's python if the opentelemetry-opamp-client package is importable there.
fn opamp_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let py = root.join("target/mllp-clients-venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import opentelemetry._opamp.client"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("e2e/clients/opamp")
        .join(name)
}

/// The Python capture server; killed on drop.
struct Capture(Child);

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_capture(py: &Path, w: &World, port: Option<u16>) -> (Capture, u16) {
    let port_file = w.path("capture.port");
    let _ = std::fs::remove_file(&port_file);
    let mut cmd = Command::new(py);
    cmd.arg(script("capture_server.py"))
        .arg(&port_file)
        .arg(w.path("captured.jsonl"))
        .args(["--full-state-at", "3"]);
    if let Some(p) = port {
        cmd.args(["--port", &p.to_string()]);
    }
    let child = Capture(cmd.stderr(Stdio::null()).spawn().expect("python server"));
    let mut port = 0;
    wait_until(30, "the capture server's port", || {
        port = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        port != 0
    });
    (child, port)
}

fn captured(w: &World) -> Vec<serde_json::Value> {
    std::fs::read_to_string(w.path("captured.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn seq(m: &serde_json::Value) -> u64 {
    // proto3 JSON prints uint64 as a string and leaves zero out.
    m["sequence_num"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_official_opamp_protobufs_decode_the_agent_through_full_state_outage_and_stop() {
    let Some(py) = opamp_python() else {
        println!(
            "skipped: opentelemetry-opamp-client not installed (run tests/e2e/clients/install.sh)"
        );
        return;
    };
    let mut w = World::new();
    let (capture, port) = start_capture(&py, &w, None);
    w.extra_config = fleet_config(&format!("http://127.0.0.1:{port}"));
    w.start_sim("", false);
    w.start_agent();
    wait_until(60, "the answer to the full-state request", || {
        captured(&w).iter().any(|m| seq(m) > 3)
    });
    let msgs = captured(&w);
    let first = &msgs[0];
    assert_eq!(first["_path"], "/v1/opamp");
    assert_eq!(first["_content_type"], "application/x-protobuf");
    let ident = first["agent_description"]["identifying_attributes"].to_string();
    assert!(
        ident.contains("service.name") && ident.contains("tsunagi"),
        "{ident}"
    );
    assert!(ident.contains("service.instance.id"));
    let non = first["agent_description"]["non_identifying_attributes"].to_string();
    for k in [
        "host.name",
        "os.type",
        "host.arch",
        INSTITUTION,
        "tsunagi.uplink.route",
    ] {
        assert!(non.contains(k), "{k} in {non}");
    }
    let caps: u64 = first["capabilities"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert_eq!(
        caps,
        0x1 | 0x4 | 0x10 | 0x800 | 0x2000,
        "status, effective config, package statuses, health, heartbeat"
    );
    // The agent itself as the one package, at the version it runs (decoded by opamp_pb2).
    let pkg = &first["package_statuses"]["packages"]["tsunagi"];
    assert_eq!(pkg["name"], "tsunagi", "{first}");
    assert_eq!(pkg["agent_has_version"], env!("CARGO_PKG_VERSION"));
    assert!(first["health"]["component_health_map"]["uplink"].is_object());
    assert!(first["effective_config"]["config_map"]["config_map"]["tsunagi.toml"].is_object());
    let body = first["effective_config"]["config_map"]["config_map"]["tsunagi.toml"]["body"]
        .as_str()
        .unwrap_or("");
    assert!(!body.is_empty());
    // Unchanged fields are left out once the server has them...
    let second = msgs.iter().find(|m| seq(m) == 2).expect("message 2");
    assert!(second["agent_description"].is_null() && second["effective_config"].is_null());
    // ...and all sent again after ReportFullState (answered to message 3).
    let fourth = msgs.iter().find(|m| seq(m) == 4).expect("message 4");
    assert!(fourth["agent_description"].is_object() && fourth["effective_config"].is_object());
    assert!(fourth["health"].is_object());

    // Outage, then the server is back on the same port: reports resume.
    drop(capture);
    wait_until(30, "the agent noticing the outage", || {
        w.agent_log().contains("fleet report not delivered")
    });
    let before = captured(&w).len();
    let (_capture, _) = start_capture(&py, &w, Some(port));
    wait_until(60, "reports after the outage", || {
        captured(&w).len() > before
    });

    // A clean stop: the last message is agent_disconnect.
    w.stop_agent();
    let last = captured(&w).pop().expect("messages");
    assert!(last["agent_disconnect"].is_object(), "{last}");
    let all = std::fs::read_to_string(w.path("captured.jsonl")).unwrap_or_default();
    assert!(
        !all.contains("agent-token-0123456789abcdef"),
        "the token is not in effective_config"
    );
}

#[test]
fn the_python_opamp_client_appears_on_the_tsunagi_fleet_page() {
    let Some(py) = opamp_python() else {
        println!(
            "skipped: opentelemetry-opamp-client not installed (run tests/e2e/clients/install.sh)"
        );
        return;
    };
    let w = World::new();
    let fleet = start_fleet(w.dir.path(), "fleet.db", "127.0.0.1:0");
    let out = Command::new(&py)
        .arg(script("python_agent.py"))
        .arg(format!("{}/v1/opamp", fleet.url))
        .arg(AGENT_TOKEN)
        .arg("python-opamp-agent")
        .arg("3")
        .output()
        .expect("python agent");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 3, "three answers: {stdout}");
    let list = agents(&w, &fleet);
    let a = list
        .iter()
        .find(|a| a["identifying"]["service.name"] == "python-opamp-agent")
        .expect("the python agent is known");
    assert_eq!(a["identifying"]["service.version"], "9.9.9");
    assert!(a["effective_config"]["app.json"]
        .as_str()
        .unwrap_or("")
        .contains("setting"));
    let (_, page) = get(&w, &format!("{}/?lang=en", fleet.url), Some(PAGE_TOKEN));
    assert!(
        page.contains("python-opamp-agent") && page.contains("9.9.9"),
        "{page}"
    );
    // A client without the agent token is refused.
    let refused = Command::new(&py)
        .arg(script("python_agent.py"))
        .arg(format!("{}/v1/opamp", fleet.url))
        .arg("wrong-token-wrong-token")
        .arg("intruder")
        .arg("1")
        .output()
        .expect("python agent");
    assert!(!refused.status.success());
    assert!(!agents(&w, &fleet)
        .iter()
        .any(|a| a["identifying"]["service.name"] == "intruder"));
}

/// A real agent among many, for the fleet page test.
struct RealAgent {
    child: Child,
    uid: String,
}

impl Drop for RealAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` real agents (their own data dirs and inboxes, one simulator) reporting to `fleet_url`
/// every `interval` seconds, without an ops surface.
fn real_agents(w: &World, fleet_url: &str, n: usize, interval: u64) -> Vec<RealAgent> {
    let base = std::fs::read_to_string(w.write_config()).expect("config");
    (0..n)
        .map(|i| {
            let home = format!("a{i}");
            std::fs::create_dir_all(w.path(&format!("{home}/inbox"))).expect("mkdir");
            let text = base
                .replace("data_dir = \"agent\"", &format!("data_dir = \"{home}/agent\""))
                .replace("path = \"inbox\"", &format!("path = \"{home}/inbox\""))
                + &format!(
                    "\n[ops]\nlisten = \"\"\n\n[fleet]\nopamp_url = \"{fleet_url}/v1/opamp\"\ninterval_secs = {interval}\ntoken = \"{AGENT_TOKEN}\"\n"
                );
            let cfg = w.path(&format!("{home}.toml"));
            std::fs::write(&cfg, text).expect("config");
            let child = Command::new(agent_bin())
                .args(["run", "--config"])
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn tsunagi");
            let uid_file = w.path(&format!("{home}/agent/fleet_instance_uid"));
            let mut uid = String::new();
            wait_until(60, "the agent's instance uid", || {
                uid = std::fs::read_to_string(&uid_file).unwrap_or_default();
                !uid.trim().is_empty()
            });
            RealAgent {
                child,
                uid: uid.trim().to_string(),
            }
        })
        .collect()
}

/// Issue 13's acceptance: the fleet page, rendered by headless Chromium, with 1,000 simulated
/// agents (the official OpAMP protobufs, `load.py`) and 20 real agents; the 3 real agents killed
/// (no goodbye) show as stale within 3 intervals, the others not. A screenshot per language is
/// kept in `target/e2e-output/`.
#[test]
fn the_fleet_page_shows_1000_simulated_and_20_real_agents_and_the_3_killed_as_stale() {
    let (Some(chrome), Some(py)) = (crate::ops_page::chromium(), opamp_python()) else {
        println!(
            "skipped: chromium or opentelemetry-opamp-client not installed (.ci/run installs them)"
        );
        return;
    };
    const INTERVAL: u64 = 3;
    let mut w = World::new();
    std::fs::write(w.path("agent.token"), AGENT_TOKEN).expect("token");
    // No page token: Chromium opens the page as an operator on this host would.
    let mut fleet = Command::new(fleet_bin())
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(w.path("fleet.db"))
        .arg("--agent-token-file")
        .arg(w.path("agent.token"))
        .args(["--interval-secs", &INTERVAL.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tsunagi-fleet");
    let mut line = String::new();
    BufReader::new(fleet.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let url = line
        .trim()
        .trim_start_matches("tsunagi-fleet listening on ")
        .to_string();
    let server = FleetServer { child: fleet, url };
    w.start_sim("", false);
    let mut agents = real_agents(&w, &server.url, 20, INTERVAL);
    // The simulated agents keep reporting (a round of 1,000 every second or so) while the test runs.
    let mut load = Capture(
        Command::new(&py)
            .arg(script("load.py"))
            .arg(format!("{}/v1/opamp", server.url))
            .arg(AGENT_TOKEN)
            .args(["1000", "60", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("load.py"),
    );
    let listed = |w: &World| -> Vec<serde_json::Value> {
        let (status, body) = get(w, &format!("{}/agents.json", server.url), None);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["agents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let standing = |list: &[serde_json::Value], uid: &str| {
        list.iter()
            .find(|a| a["uid"] == uid)
            .and_then(|a| a["standing"].as_str().map(str::to_string))
    };
    wait_until(
        120,
        "1,000 simulated and 20 real agents, none stale",
        || {
            let list = listed(&w);
            list.len() >= 1020
                && agents
                    .iter()
                    .all(|a| standing(&list, &a.uid).is_some_and(|s| s != "stale"))
        },
    );
    let killed: Vec<String> = agents.drain(..3).map(|a| a.uid.clone()).collect();
    let stopped_at = Instant::now();
    wait_until(60, "the 3 killed agents stale", || {
        let list = listed(&w);
        killed
            .iter()
            .all(|u| standing(&list, u).as_deref() == Some("stale"))
    });
    println!(
        "the 3 killed agents were stale {:.1} s after the kill (interval {INTERVAL} s)",
        stopped_at.elapsed().as_secs_f64()
    );
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-output");
    std::fs::create_dir_all(&out).expect("output dir");
    for lang in ["ja", "en"] {
        let dom = crate::ops_page::render_in_chromium(
            &chrome,
            w.dir.path(),
            &format!("fleet-{lang}"),
            &format!("{}/?lang={lang}&sort=state", server.url),
        );
        let rows = dom.matches("<tr class=").count();
        assert!(rows >= 1020, "{lang}: {rows} rows");
        for uid in &killed {
            assert!(
                dom.contains(&format!("<tr class=\"stale\" data-uid=\"{uid}\"")),
                "{lang}: {uid} not shown stale"
            );
        }
        for a in &agents {
            assert!(
                !dom.contains(&format!("<tr class=\"stale\" data-uid=\"{}\"", a.uid)),
                "{lang}: a running agent shown stale"
            );
        }
        let png = out.join(format!("fleet-{lang}.png"));
        std::fs::copy(w.path(&format!("fleet-{lang}.png")), &png).expect("keep the screenshot");
        println!("screenshot: {}", png.display());
    }
    let _ = load.0.kill();
    drop(agents);
}
