use std::path::Path;
use std::process::{Command, Output};

use crate::util::*;

fn run_in(dir: &Path, args: &[&str]) -> (Output, String, String) {
    let out = Command::new(agent_bin())
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("TSUNAGI_DATA")
        .output()
        .expect("run tsunagi");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// `tsunagi demo --data demo` (relative) ends as expected, prints where the operations surface
/// is, logs plain text to a pipe, keeps its database owner-only, and `report`/`status` take the
/// sandbox directory itself.
#[test]
fn the_demo_takes_a_relative_data_dir_and_report_takes_the_sandbox_dir() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, stdout, stderr) = run_in(dir.path(), &["demo", "--data", "demo"]);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains("NOT AS EXPECTED"), "{stdout}");
    assert!(
        !stderr.contains('\x1b') && !stdout.contains('\x1b'),
        "no colour codes on a pipe:\n{stderr}"
    );
    for want in [
        "status page      http://127.0.0.1:",
        "/metrics",
        "/?lang=en",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
    let month = stdout
        .split("/report?month=")
        .nth(1)
        .and_then(|rest| rest.get(..7))
        .expect("the banner links this month's report")
        .to_string();
    if let Some(mode) = mode_of(&dir.path().join("demo/agent")) {
        assert_eq!(mode, 0o700, "the sandbox's data directory is owner-only");
    }

    let (out, report, err) = run_in(
        dir.path(),
        &[
            "report", "--data", "demo", "--month", &month, "--format", "json",
        ],
    );
    assert!(out.status.success(), "report on the sandbox dir: {err}");
    serde_json::from_str::<serde_json::Value>(&report).expect("a JSON report");
    let (out, status, err) = run_in(dir.path(), &["status", "--data", "demo", "--json"]);
    assert!(out.status.success(), "status on the sandbox dir: {err}");
    let status: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
    assert!(status.is_object(), "{status}");
}

/// A directory with neither a database nor a config: the message says to use --config.
#[test]
fn report_on_a_directory_without_a_database_names_the_config_option() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let (out, stdout, stderr) = run_in(
        dir.path(),
        &["report", "--data", "empty", "--month", "2025-04"],
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("--config") && stderr.contains("tsunagi.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("設定ファイル"), "Japanese too: {stderr}");
}

/// Two independent problems, one in each layer: both listed, exit 1.
#[test]
fn check_config_lists_every_problem_not_only_the_first() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("tsunagi.toml"),
        "[agent]\ndata_dir = \"d\"\ninstitution_number = \"12345\"\n\n\
         [[source.ssmix2]]\nname = \"storage\"\npath = \"no-such-storage\"\n\n\
         [uplink]\nroute = \"web-api\"\n[uplink.web_api]\nurl = \"http://127.0.0.1:8443/x\"\n",
    )
    .expect("write");
    let (out, stdout, _) = run_in(dir.path(), &["check-config", "tsunagi.toml"]);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("2 problem(s)"), "{stdout}");
    assert!(
        stdout.contains("line 3") && stdout.contains("institution_number"),
        "{stdout}"
    );
    assert!(stdout.contains("source storage"), "{stdout}");
}
