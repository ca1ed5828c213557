//! OTLP metrics push (issue 13, part 2): what the agent pushes, decoded by the official
//! `opentelemetry-proto` Python protobufs (code nobody here wrote), carries the `/metrics` series
//! with the OpAMP description's resource attributes, counters as cumulative monotonic sums.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tsunagi_sim::fixtures::{condition_input, SECRET_FAMILY, SECRET_GIVEN};

use crate::util::*;

/// The venv's python if the opentelemetry-proto package is importable there.
fn otlp_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let py = root.join("target/mllp-clients-venv/bin/python");
    let ok = Command::new(&py)
        .args([
            "-c",
            "import opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(py)
}

/// The receiver; killed on drop.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const TOKEN: &str = "collector-token-0123456789";

fn start_receiver(py: &Path, w: &World) -> (Receiver, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/clients/otlp/receiver.py");
    let port_file = w.path("otlp.port");
    let child = Command::new(py)
        .arg(script)
        .arg(&port_file)
        .arg(w.path("otlp.jsonl"))
        .arg(TOKEN)
        .stderr(Stdio::null())
        .spawn()
        .expect("python receiver");
    let mut port = 0;
    wait_until(30, "the receiver's port", || {
        port = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        port != 0
    });
    (Receiver(child), port)
}

fn pushes(w: &World) -> Vec<Value> {
    std::fs::read_to_string(w.path("otlp.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The metric named `name` in a push.
fn metric<'a>(push: &'a Value, name: &str) -> Option<&'a Value> {
    push["resource_metrics"][0]["scope_metrics"][0]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

#[test]
fn the_official_otlp_protobufs_decode_the_pushed_series_and_resource() {
    let Some(py) = otlp_python() else {
        println!("skipped: opentelemetry-proto not installed (run tests/e2e/clients/install.sh)");
        return;
    };
    let mut w = World::new();
    let (_receiver, port) = start_receiver(&py, &w);
    w.extra_config = format!(
        "\n[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}/v1/metrics\"\ninterval_secs = 1\ntoken = \"{TOKEN}\"\n"
    );
    w.start_sim("", false);
    w.start_agent();
    for i in 0..3 {
        w.drop_file(&format!("in-{i}.json"), &condition_input(i));
    }
    wait_until(60, "three bundles accepted", || w.accepted_files() == 3);
    let delivered = |p: &Value| {
        metric(p, "tsunagi_outbox_items").is_some_and(|m| {
            m["gauge"]["data_points"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|d| d["attributes"].to_string().contains("delivered") && d["as_double"] == 3.0)
        })
    };
    wait_until(30, "a push that shows the three delivered", || {
        pushes(&w).iter().any(delivered)
    });
    w.stop_agent();
    let all = pushes(&w);
    let last = all.iter().rev().find(|p| delivered(p)).expect("a push");
    assert_eq!(last["_path"], "/v1/metrics");
    assert_eq!(last["_content_type"], "application/x-protobuf");
    assert!(
        all.iter().all(|p| p["_token_ok"] == true),
        "every push carried the token"
    );
    // The resource is the OpAMP description's.
    let attrs: Vec<(String, String)> = last["resource_metrics"][0]["resource"]["attributes"]
        .as_array()
        .expect("resource attributes")
        .iter()
        .map(|a| {
            let v = &a["value"];
            let text = v["string_value"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            (a["key"].as_str().unwrap_or_default().to_string(), text)
        })
        .collect();
    let attr = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(attr("service.name"), Some("tsunagi"), "{attrs:?}");
    assert!(
        attr("service.instance.id").is_some_and(|v| v.len() == 36),
        "{attrs:?}"
    );
    assert!(
        attr("service.version").is_some() && attr("host.arch").is_some(),
        "{attrs:?}"
    );
    assert_eq!(
        attr("tsunagi.institution_number"),
        Some(INSTITUTION),
        "{attrs:?}"
    );
    // A counter is a cumulative monotonic sum; its points start when the agent started.
    let ingested = metric(last, "tsunagi_ingested_inputs_total").expect("the intake counter");
    assert_eq!(ingested["sum"]["is_monotonic"], true, "{ingested}");
    assert_eq!(
        ingested["sum"]["aggregation_temporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let point = &ingested["sum"]["data_points"][0];
    assert!(
        point["start_time_unix_nano"].as_str() < point["time_unix_nano"].as_str(),
        "{point}"
    );
    assert!(metric(last, "tsunagi_build_info").is_some());
    let n = last["resource_metrics"][0]["scope_metrics"][0]["metrics"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(n >= 15, "the /metrics families: {n}");
    let text = std::fs::read_to_string(w.path("otlp.jsonl")).unwrap_or_default();
    for secret in [SECRET_FAMILY, SECRET_GIVEN] {
        assert!(!text.contains(secret), "patient data pushed");
    }
}
