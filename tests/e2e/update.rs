//! `tsunagi update` with the real binary: the sandbox's signed update refused when corrupted and
//! verified when restored (the binary byte-identical after every refusal), and a new version that
//! never becomes ready rolled back, the previous one running and delivering again.

#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::util::*;

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

/// A copy of the agent's binary in `dir/bin` (apply replaces the binary it runs from).
fn binary_copy(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    let copy = bin.join("tsunagi");
    std::fs::copy(agent_bin(), &copy).expect("copy the binary");
    copy
}

fn update(bin: &Path, args: &[&str], config: &Path) -> (bool, String, String) {
    let out = Command::new(bin)
        .arg("update")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("run tsunagi update");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sigterm(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

/// Issue 15 (5): the sandbox's archive, corrupted, is refused by `update apply` with the binary
/// unchanged; a manifest rewritten to match the corrupted archive still fails its signature;
/// restored, it verifies.
#[test]
fn the_sandbox_update_is_refused_when_corrupted_and_verifies_when_restored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = dir.path().join("sandbox");
    let banner = dir.path().join("banner.txt");
    let demo = ServingDemo::start(&sandbox, &banner, "try the update");
    let read_banner = || std::fs::read_to_string(&banner).unwrap_or_default();
    assert!(
        read_banner().contains("update apply --config"),
        "{}",
        read_banner()
    );
    let config = sandbox.join("tsunagi.toml");
    let updates = sandbox.join("updates");
    let manifest_path = updates.join("manifest.json");
    wait_until(300, "the sandbox's signed update", || {
        manifest_path.is_file()
    });
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("json");
    let name = manifest["releases"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let archive = updates.join(&name);
    let good = std::fs::read(&archive).expect("archive");
    let good_manifest = std::fs::read(&manifest_path).expect("manifest");
    let bin = binary_copy(dir.path());
    let before = sha256(&bin);

    // Corrupted: the digest does not match the manifest.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&archive, &bad).expect("corrupt");
    let (ok, _, err) = update(&bin, &["apply"], &config);
    assert!(!ok, "a corrupted archive must be refused");
    assert!(err.contains("sha256") && err.contains("改ざん"), "{err}");
    assert_eq!(
        sha256(&bin),
        before,
        "the binary is unchanged after a refusal"
    );

    // A manifest forged to match: the signature still fails.
    let mut forged = manifest.clone();
    forged["releases"][0]["sha256"] = hex::encode(Sha256::digest(&bad)).into();
    forged["releases"][0]["size"] = bad.len().into();
    std::fs::write(&manifest_path, forged.to_string()).expect("forge");
    let (ok, _, err) = update(&bin, &["apply"], &config);
    assert!(!ok, "a tampered archive must be refused");
    assert!(err.contains("signature") && err.contains("署名"), "{err}");
    assert_eq!(
        sha256(&bin),
        before,
        "the binary is unchanged after a refusal"
    );

    // Restored: it verifies.
    std::fs::write(&archive, &good).expect("restore");
    std::fs::write(&manifest_path, &good_manifest).expect("restore manifest");
    let (ok, out, err) = update(&bin, &["apply", "--dry-run"], &config);
    assert!(ok, "{out}{err}");
    assert!(out.contains("verified"), "{out}");
    assert_eq!(sha256(&bin), before, "--dry-run changes nothing");
    let (ok, out, _) = update(&bin, &["check"], &config);
    assert!(ok && out.contains("update available"), "{out}");

    // Package-managed (a marker beside the binary, as the .msi installs it): apply refuses, check
    // only reports.
    std::fs::write(bin.with_file_name("package-managed"), "test").expect("marker");
    let (ok, _, err) = update(&bin, &["apply"], &config);
    assert!(!ok && err.contains("comes as a package"), "{err}");
    assert_eq!(
        sha256(&bin),
        before,
        "the binary is unchanged after a refusal"
    );
    let (ok, out, _) = update(&bin, &["check"], &config);
    assert!(
        ok && out.contains("package-managed") && out.contains("comes as a package"),
        "{out}"
    );

    drop(demo);
}

/// A loopback HTTP server for the files of `dir` (GET only), for the test's update manifest.
fn serve_dir(dir: PathBuf) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let name = line
                .split(' ')
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/');
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let mut stream = reader.into_inner();
            let body = std::fs::read(dir.join(name)).ok();
            let head = match &body {
                Some(b) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    b.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .into(),
            };
            let _ = stream.write_all(head.as_bytes());
            if let Some(b) = body {
                let _ = stream.write_all(&b);
            }
        }
    });
    port
}

/// Packs `binary` as a signed .tar.gz named `name` in `dir`; returns (size, sha256).
fn signed_archive(binary: &[u8], dir: &Path, name: &str, secret: &[u8; 32]) -> (u64, String) {
    let mut gz = Vec::new();
    {
        let enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        let mut tar = tar::Builder::new(enc);
        let mut h = tar::Header::new_gnu();
        h.set_size(binary.len() as u64);
        h.set_mode(0o755);
        h.set_cksum();
        tar.append_data(&mut h, "tsunagi", binary).expect("tar");
        tar.into_inner().expect("tar").finish().expect("gz");
    }
    let path = dir.join(name);
    let mut out = std::fs::File::create(&path).expect("archive");
    zipsign_api::sign::copy_and_sign_tar(
        &mut std::io::Cursor::new(gz),
        &mut out,
        &[zipsign_api::SigningKey::from_bytes(secret)],
        Some(name.as_bytes()),
    )
    .expect("sign");
    drop(out);
    let bytes = std::fs::read(&path).expect("read archive");
    (bytes.len() as u64, hex::encode(Sha256::digest(&bytes)))
}

fn get_ready(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = write!(s, "GET /readyz HTTP/1.0\r\nHost: x\r\n\r\n");
    let mut head = String::new();
    let _ = s.take(12).read_to_string(&mut head);
    head.ends_with("200")
}

/// An agent running from its own copy of the binary (as an install would) with `[ops]` on a free
/// port and `[update]` trusting a test key, and a manifest offering `payload` as 99.0.0, signed.
struct Updatable {
    w: World,
    bin: PathBuf,
    config: PathBuf,
    ops: u16,
}

#[cfg(target_os = "linux")]
fn updatable(payload: &[u8]) -> Updatable {
    let mut w = World::new();
    w.start_sim("", false);
    let updates = w.path("updates");
    std::fs::create_dir_all(&updates).expect("mkdir");
    let secret = [42u8; 32];
    let public = hex::encode(
        zipsign_api::SigningKey::from_bytes(&secret)
            .verifying_key()
            .to_bytes(),
    );
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let name = format!("tsunagi-99.0.0-{target}.tar.gz");
    let (size, sha) = signed_archive(payload, &updates, &name, &secret);
    let manifest = serde_json::json!({"releases": [{"version": "99.0.0", "channel": "stable",
        "target": target, "url": name, "sha256": sha, "size": size}]});
    std::fs::write(updates.join("manifest.json"), manifest.to_string()).expect("manifest");
    let port = serve_dir(updates);
    let ops = free_port();
    w.extra_config = format!(
        "\n[ops]\nlisten = \"127.0.0.1:{ops}\"\n\n[update]\nmanifest_url = \"http://127.0.0.1:{port}/manifest.json\"\ntrusted_keys = [\"{public}\"]\nready_timeout_secs = 20\nwatch_secs = 3\n"
    );
    let config = w.write_config();
    let nmain =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/masters/nmain900.txt");
    let out = Command::new(agent_bin())
        .args(["masters", "--data"])
        .arg(w.path("agent"))
        .args(["load", "medis-disease"])
        .arg(&nmain)
        .output()
        .expect("masters load");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = binary_copy(w.dir.path());
    let log = std::fs::File::create(w.path("agent.log")).expect("log");
    let child = Command::new(&bin)
        .args(["run", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the agent");
    w.agent = Some(child);
    w.wait_started(0);
    wait_until(60, "the agent is ready", || get_ready(ops));
    w.drop_file("a.json", &condition_input(1));
    wait_until(60, "the first bundle is delivered", || {
        w.accepted_files() == 1
    });
    Updatable {
        w,
        bin,
        config,
        ops,
    }
}

/// The pid in the agent's daemon record (the process apply restarted or started).
fn recorded_pid(w: &World) -> u32 {
    let daemon: serde_json::Value = serde_json::from_slice(
        &std::fs::read(w.path("agent/update/daemon.json")).expect("daemon record"),
    )
    .expect("daemon json");
    daemon["pid"].as_u64().expect("pid") as u32
}

/// Issue 15 (3): a new version that never becomes ready (a signed archive whose "binary" only
/// sleeps) is rolled back: the previous binary is back byte for byte, runs again and delivers;
/// the version is recorded as failed and not retried.
#[cfg(target_os = "linux")]
#[test]
fn a_new_version_that_never_gets_ready_is_rolled_back_and_the_previous_one_delivers() {
    let Updatable {
        w,
        bin,
        config,
        ops,
    } = updatable(b"#!/bin/sh\nexec sleep 300\n");
    let before = sha256(&bin);

    let (ok, out, err) = update(&bin, &["apply"], &config);
    assert!(!ok, "the update must fail: {out}");
    assert!(err.contains("99.0.0") && err.contains("restored"), "{err}");
    assert!(err.contains("以前のバイナリに戻しました"), "{err}");
    assert_eq!(
        sha256(&bin),
        before,
        "the previous binary is back byte for byte"
    );

    // The previous version runs again (started by the rollback) and delivers.
    wait_until(60, "the previous version is ready again", || get_ready(ops));
    w.drop_file("b.json", &condition_input(2));
    wait_until(60, "a bundle is delivered after the rollback", || {
        w.accepted_files() == 2
    });
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("agent/update/state.json")).expect("state"))
            .expect("state json");
    assert_eq!(state["failed"][0]["version"], "99.0.0", "{state}");

    // Not retried automatically.
    let (ok, _, err) = update(&bin, &["apply"], &config);
    assert!(!ok && err.contains("--retry-failed"), "{err}");
    assert_eq!(sha256(&bin), before);

    sigterm(recorded_pid(&w));
    wait_until(30, "the restarted agent stops", || !get_ready(ops));
}

/// Issue 15 (3): a good new version (the real binary, signed as 99.0.0) is installed; the running
/// agent drains, re-executes itself on it (same pid), passes the watch and delivers.
#[cfg(target_os = "linux")]
#[test]
fn a_good_new_version_is_installed_and_the_agent_restarts_on_it_and_delivers() {
    let payload = std::fs::read(agent_bin()).expect("the binary");
    let Updatable {
        mut w,
        bin,
        config,
        ops,
    } = updatable(&payload);
    let pid = w.agent.as_ref().map(|c| c.id()).expect("agent");

    let (ok, out, err) = update(&bin, &["apply"], &config);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("99.0.0 installed") && out.contains("stayed ready"),
        "{out}"
    );
    assert_eq!(recorded_pid(&w), pid, "re-executed in the same process");
    assert_eq!(w.started_count(), 2, "the agent started again");
    w.drop_file("b.json", &condition_input(2));
    wait_until(60, "a bundle is delivered after the update", || {
        w.accepted_files() == 2
    });
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path("agent/update/state.json")).expect("state"))
            .expect("state json");
    assert_eq!(state["installed"], "99.0.0", "{state}");
    assert!(w.path("agent/update/tsunagi.prev").is_file());
    w.stop_agent();
    wait_until(30, "the agent stops", || !get_ready(ops));
}
