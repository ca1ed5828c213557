//! `tsunagi doctor` (issue 15, part 6) on the demo sandbox's own config: it passes while the
//! sandbox serves, names the client key when it is gone, and names the platform's address when
//! the platform is down. The banner's FHIR endpoint takes a resource (issue 16). One sandbox
//! for all of it (`demo --serve` listens on fixed ports).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::*;

fn doctor(config: &Path, json: bool) -> (Output, String) {
    let mut cmd = Command::new(agent_bin());
    cmd.args(["doctor", "--config"]).arg(config);
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.output().expect("run tsunagi doctor");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// `demo --serve --data DIR/sandbox`, returned once its banner says it serves.
fn serve(dir: &Path) -> ServingDemo {
    ServingDemo::start(
        &dir.join("sandbox"),
        &dir.join("banner.txt"),
        "serving until",
    )
}

/// The platform's `host:port` as the sandbox config names it.
fn platform_address(config: &Path) -> String {
    let text = std::fs::read_to_string(config).expect("config");
    let url = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("url = \"https://"))
        .expect("the web_api url");
    url.split('/').next().expect("host:port").to_string()
}

fn line_of<'t>(text: &'t str, start: &str) -> &'t str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?}:\n{text}"))
}

#[test]
fn doctor_passes_on_the_serving_demo_then_names_a_missing_key_and_a_down_platform() {
    let dir = tempfile::tempdir().expect("tmp");
    // `demo --serve` starts the fleet view from beside the agent's binary.
    fleet_bin();
    let demo = serve(dir.path());
    let config: PathBuf = dir.path().join("sandbox/tsunagi.toml");

    // Everything in order: exit 0; the listeners are the sandbox's own.
    let (out, text) = doctor(&config, false);
    assert!(out.status.success(), "doctor on the demo's config:\n{text}");
    assert!(!text.contains("\nfail"), "{text}");
    assert!(
        line_of(&text, "ok    platform").contains("TLS handshake"),
        "{text}"
    );
    assert!(
        line_of(&text, "ok    port:demo-mllp").contains("running tsunagi"),
        "{text}"
    );
    for name in [
        "config",
        "data-dir",
        "disk",
        "clock",
        "cert:client",
        "ig",
        "masters",
        "update",
    ] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name)),
            "{name}:\n{text}"
        );
    }

    // The sandbox's fleet view runs, and the sandbox agent reports to it (issue 13).
    let banner = std::fs::read_to_string(dir.path().join("banner.txt")).expect("banner");
    let fleet_line = line_of(&banner, "  fleet view");
    let url = fleet_line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no fleet view address:\n{banner}"))
        .trim_end_matches('/')
        .to_string();
    let token =
        std::fs::read_to_string(dir.path().join("sandbox/fleet/page.token")).expect("token");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    wait_until(60, "the sandbox agent on its fleet view", || {
        rt.block_on(async {
            let r = reqwest::Client::new()
                .get(format!("{url}/agents.json"))
                .bearer_auth(token.trim())
                .send()
                .await;
            match r {
                Ok(r) => r
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("\"service.name\":\"tsunagi\""),
                Err(_) => false,
            }
        })
    });

    // The banner's FHIR endpoint takes a resource (issue 16): POST one there, see it stored.
    let fhir = line_of(&banner, "  FHIR endpoint")
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no FHIR endpoint address:\n{banner}"))
        .to_string();
    let condition = serde_json::json!({"resourceType": "Condition",
        "code": {"text": "demo"}, "subject": {"reference": "Patient/demo-banner"}});
    let (status, location) = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{fhir}/Condition"))
            .header("content-type", "application/fhir+json")
            .header("x-request-id", "demo-banner-1")
            .body(condition.to_string())
            .send()
            .await
            .expect("POST to the banner's FHIR endpoint");
        let location = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        (r.status().as_u16(), location)
    });
    assert_eq!(status, 201, "the banner's FHIR endpoint accepts a resource");
    assert!(
        location.is_some_and(|l| l.starts_with(&format!("{fhir}/Condition/"))),
        "{fhir}"
    );
    let shown = Command::new(agent_bin())
        .args(["queue", "--config"])
        .arg(&config)
        .args(["show", "request:demo-banner-1"])
        .output()
        .expect("tsunagi queue show");
    let shown_text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.status.success() && shown_text.starts_with("I-"),
        "the request is in the store: {shown_text}{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    // JSON parses and says the same.
    let (out, json) = doctor(&config, true);
    assert!(out.status.success(), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("doctor's JSON");
    assert_eq!(v["schema"], "tsunagi.doctor/1");
    assert_eq!(v["ok"], true);
    assert_eq!(v["counts"]["fail"], 0);
    let checks = v["checks"].as_array().expect("checks");
    assert!(
        checks
            .iter()
            .all(|c| c["name"].is_string() && c["fix_ja"].is_string()),
        "{v}"
    );

    // The client key deleted: non-zero, and the file is named.
    let key = dir.path().join("sandbox/pki/client.key");
    let kept = dir.path().join("client.key.kept");
    std::fs::rename(&key, &kept).expect("move the key away");
    let (out, text) = doctor(&config, false);
    assert!(
        !out.status.success(),
        "doctor passed without the client key:\n{text}"
    );
    assert!(
        line_of(&text, "fail  cert:client").contains("client.key"),
        "{text}"
    );
    std::fs::rename(&kept, &key).expect("put the key back");

    // The platform down: the reachability check fails and names the address.
    drop(demo);
    let address = platform_address(&config);
    let (out, text) = doctor(&config, false);
    assert!(
        !out.status.success(),
        "doctor passed with the platform down:\n{text}"
    );
    let platform = line_of(&text, "fail  platform");
    assert!(platform.contains(&address), "{address}: {text}");
    assert!(
        line_of(&text, "ok    cert:client").contains("key matches"),
        "{text}"
    );
}
