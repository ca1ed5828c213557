//! Third-party MLLP clients nobody here wrote, against the listener on the real store:
//! python-hl7's `mllp_send`, `@medplum/hl7`'s `Hl7Client` (Node), and hl7apy validating our ACKs.
//! Installed by `.ci/run` (`tests/e2e/clients/install.sh`); each test prints a notice and returns
//! when its client is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::store::{inbox_rows, store_intake};
use super::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The Python with `hl7` and `hl7apy`: the project venv, else a system one that has them.
fn python() -> Option<PathBuf> {
    let venv = repo_root().join("target/mllp-clients-venv/bin/python");
    let candidates = [venv, PathBuf::from("python3")];
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import hl7, hl7apy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

fn clients_dir() -> PathBuf {
    repo_root().join("tests/e2e/clients")
}

fn messages(n: usize, prefix: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| message(&format!("{prefix}{i}"), 800))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_hl7_mllp_send_gets_aa_for_every_message_stored_once() {
    let Some(py) = python() else {
        println!("skipped: python-hl7 / hl7apy not installed (run tests/e2e/clients/install.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = start(cfg(), store_intake(dir.path(), 0)).await;
    let msgs = messages(25, "PY");
    // mllp_send's file format: messages separated by 0x1C (it strips 0x0B/\r around them).
    let file = dir.path().join("messages.hl7");
    let body: Vec<u8> = msgs
        .iter()
        .flat_map(|m| [m.clone(), vec![EB]].concat())
        .collect();
    std::fs::write(&file, &body).unwrap();
    let send = {
        let (py, file, port) = (py.clone(), file.clone(), run.addr.port().to_string());
        move || {
            // The console script mllp_send, run by this Python (works for a venv and for python3).
            let script = "import sys; from hl7.client import mllp_send; sys.exit(mllp_send())";
            Command::new(&py)
                .args(["-c", script, "-p", &port, "-f"])
                .arg(&file)
                .arg("127.0.0.1")
                .output()
                .unwrap()
        }
    };
    let out = tokio::task::spawn_blocking(send.clone()).await.unwrap();
    assert!(
        out.status.success(),
        "mllp_send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let acks: Vec<&str> = stdout.split('\x0b').skip(1).collect();
    assert_eq!(acks.len(), 25, "{stdout:?}");
    for (i, a) in acks.iter().enumerate() {
        assert_eq!(msa(a.as_bytes()), ("AA".into(), format!("PY{i}")));
    }
    // Sent again (as after lost ACKs): AA again, nothing stored twice.
    let out = tokio::task::spawn_blocking(send).await.unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("MSA|AA|PY")
            .count(),
        25
    );
    run.stop().await;
    assert_eq!(inbox_rows(dir.path()), (25, 25));
}

#[tokio::test]
async fn hl7apy_validates_our_acks() {
    let Some(py) = python() else {
        println!("skipped: hl7apy not installed (run tests/e2e/clients/install.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let stamp = ack::AckStamp {
        timestamp: "20250101120000+0900",
        control_id: "0000000a000000000001",
    };
    let m = message("V1", 300);
    let msh = Msh::parse(&m).unwrap();
    let mut cases = Vec::new();
    for (code, problem) in [
        (ack::AckCode::Accept, None),
        (ack::AckCode::Error, Some(ack::Problem::PAUSED)),
        (ack::AckCode::Reject, Some(ack::Problem::NO_CONTROL_ID)),
    ] {
        for mode in [ack::AckMode::Original, ack::AckMode::Enhanced] {
            cases.push(ack::build(Some(&msh), mode, code, problem.as_ref(), &stamp));
        }
    }
    for (i, c) in cases.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.hl7")), c).unwrap();
    }
    // No MSH at all: MSA-2 is empty (nothing truthful to copy), which strict validation refuses;
    // checked leniently (structure and codes).
    let nak = ack::build(
        None,
        ack::AckMode::Original,
        ack::AckCode::Reject,
        Some(&ack::Problem::NOT_MSH),
        &stamp,
    );
    std::fs::write(dir.path().join("9.lenient.hl7"), nak).unwrap();
    cases.push(Vec::new());
    let out = Command::new(&py)
        .arg(clients_dir().join("validate_ack.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hl7apy refused an ACK:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("valid").count(), cases.len(), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medplum_hl7_client_gets_aa_for_every_message_stored_once() {
    let script = clients_dir().join("medplum_send.mjs");
    let installed = clients_dir()
        .join("node_modules/@medplum/hl7/package.json")
        .exists();
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !installed || !node_ok {
        println!("skipped: node or @medplum/hl7 not installed (run tests/e2e/clients/install.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = start(cfg(), store_intake(dir.path(), 0)).await;
    let msgs = messages(30, "MP");
    let file = dir.path().join("messages.txt");
    // One message per line, segments separated by '\r' inside the line.
    let body: Vec<u8> = msgs
        .iter()
        .flat_map(|m| [m.clone(), b"\n".to_vec()].concat())
        .collect();
    std::fs::write(&file, &body).unwrap();
    let port = run.addr.port().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .arg(&port)
            .arg(&file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "medplum client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        60,
        "30 sent one by one, then all 30 again: {stdout}"
    );
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(*l, format!("AA MP{}", i % 30));
    }
    run.stop().await;
    assert_eq!(inbox_rows(dir.path()), (30, 30));
}
