//! A database removed under the running agent (issue 9, F6): nothing is acknowledged any more,
//! `/readyz` says so at once, and the next start refuses an empty store until told otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Sends one framed message and returns the ACK's text.
fn mllp_exchange(port: u16, msg: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect MLLP");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut frame = vec![0x0b];
    frame.extend_from_slice(msg.as_bytes());
    frame.extend_from_slice(&[0x1c, 0x0d]);
    s.write_all(&frame).expect("send");
    let mut ack = Vec::new();
    let mut buf = [0u8; 1024];
    while !ack.ends_with(&[0x1c, 0x0d]) {
        let n = s.read(&mut buf).expect("ACK");
        assert!(n > 0, "closed before the ACK");
        ack.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&ack).into_owned()
}

fn adt(i: usize) -> String {
    format!(
        "MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250401120000||ADT^A08^ADT_A01|LOSS{i:04}|P|2.5||||||UNICODE UTF-8\r\
         EVN||20250401120000\r\
         PID|||P{i:07}^^^^PI||試験^太郎^^^^^L^I||19800101|M\r"
    )
}

fn get(w: &World, url: &str) -> (u16, String) {
    w.rt.block_on(async {
        let r = reqwest::get(url).await.expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    })
}

/// Runs `tsunagi run` with `extra` arguments and returns its exit status and stderr, or panics
/// if it is still running after 30 s (it should have refused to start).
fn run_to_exit(w: &World, extra: &[&str]) -> (std::process::ExitStatus, String) {
    let cfg = w.path("tsunagi.toml");
    let mut child = Command::new(agent_bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tsunagi");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                e.read_to_string(&mut err).expect("stderr");
            }
            return (status, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tsunagi started on an empty store instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_database_removed_while_running_stops_acknowledgements_and_the_restart() {
    let mut w = World::new();
    let (ops, mllp) = (free_port(), free_port());
    w.extra_config = format!(
        "\n[ops]\nlisten = \"127.0.0.1:{ops}\"\n\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"127.0.0.1:{mllp}\"\n"
    );
    let base = format!("http://127.0.0.1:{ops}");
    w.start_sim("", false);
    w.start_agent();
    assert!(w.path("agent/store.id").exists(), "the store's marker");
    w.drop_file("before.json", &condition_input(1));
    wait_until(30, "the first file is taken", || w.files_in("inbox") == 0);
    assert!(mllp_exchange(mllp, &adt(1)).contains("MSA|AA|"));
    let (_, ready) = get(&w, &format!("{base}/readyz"));
    assert!(!ready.contains("lost"), "{ready}");

    for name in ["tsunagi.db", "tsunagi.db-wal", "tsunagi.db-shm"] {
        let _ = std::fs::remove_file(w.path("agent").join(name));
    }
    let (code, ready) = get(&w, &format!("{base}/readyz"));
    assert_eq!(code, 503, "{ready}");
    assert!(ready.contains("lost"), "{ready}");
    let ack = mllp_exchange(mllp, &adt(2));
    assert!(ack.contains("MSA|AE|"), "the sender must retry: {ack}");
    w.drop_file("after.json", &condition_input(2));
    wait_until(30, "the folder source tried the file", || {
        w.agent_log().contains("file cannot be taken now")
    });
    assert_eq!(w.files_in("inbox"), 1, "the file stays in the inbox");
    let log = w.agent_log();
    assert!(
        log.contains("removed while the agent was running"),
        "logged loudly"
    );
    assert_eq!(
        log.matches("removed while the agent was running").count(),
        1,
        "once"
    );
    w.assert_log_has_no(&["試験", "太郎", "P0000002"]);
    w.kill_agent();

    let (status, err) = run_to_exit(&w, &[]);
    assert!(!status.success());
    assert!(err.contains("--accept-new-store"), "{err}");
    assert!(
        !w.path("agent/tsunagi.db").exists(),
        "no empty store is created by a refused start"
    );

    // Told to, it starts anew and takes the file that waited.
    let before = w.started_count();
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(w.path("agent.log"))
        .expect("log");
    w.agent = Some(
        Command::new(agent_bin())
            .args(["run", "--accept-new-store", "--config"])
            .arg(w.path("tsunagi.toml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tsunagi"),
    );
    w.wait_started(before);
    wait_until(30, "the waiting file is taken", || w.files_in("inbox") == 0);
    w.stop_agent();
    // The marker now names the new store: a plain start is normal again.
    w.start_agent();
    w.stop_agent();
}
