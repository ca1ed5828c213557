//! MLLP exposed: stalled connections (slowloris) at `max_connections` cannot lock a real sender
//! out of the real binary, and `tsunagi check-config` refuses a plaintext listener outside
//! loopback without an allow list, in Japanese and English.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::util::*;

/// More connections than `max_connections` open a frame and stall; a real sender connecting
/// after them still gets its AA, and its message is stored.
#[test]
fn stalled_connections_do_not_lock_out_a_real_sender() {
    let mut w = World::new();
    let port = free_port();
    w.extra_config = format!(
        "\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"127.0.0.1:{port}\"\nmax_connections = 8\n"
    );
    w.start_sim("", false);
    w.start_agent();
    let mut stalls = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.write_all(b"\x0bMSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|2025")
            .expect("partial frame");
        stalls.push(s);
    }
    let mut real = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    real.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let msg = "MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250401120000||ADT^A08^ADT_A01|REAL0001|P|2.5\r\
               EVN||20250401120000\r\
               PID|||P0000001^^^^PI||試験^花子||19870605|F\r";
    let mut frame = vec![0x0b];
    frame.extend_from_slice(msg.as_bytes());
    frame.extend_from_slice(&[0x1c, 0x0d]);
    real.write_all(&frame).expect("send");
    let mut ack = Vec::new();
    let mut buf = [0u8; 1024];
    while !ack.ends_with(&[0x1c, 0x0d]) {
        let n = real.read(&mut buf).expect("read ACK");
        assert!(n > 0, "connection closed before the ACK");
        ack.extend_from_slice(&buf[..n]);
    }
    let ack = String::from_utf8_lossy(&ack);
    assert!(ack.contains("MSA|AA|REAL0001"), "{ack}");
    w.stop_agent();
    drop(stalls);
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'ehr'"),
        1,
        "the real message is stored, nothing from the stalled frames"
    );
    assert!(
        w.agent_log().contains("MLLP connection closed") && w.agent_log().contains("evicted"),
        "evictions are logged"
    );
}

/// A plaintext MLLP listener on a non-loopback address without an allow list is refused by
/// `check-config`, with the listener, the field and the reason, in both languages.
#[test]
fn check_config_refuses_an_exposed_plaintext_listener() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("t")).expect("mkdir");
    let base = format!(
        "[agent]\ndata_dir = \"d\"\ninstitution_number = \"{INSTITUTION}\"\n\n[uplink]\nroute = \"shared-folder\"\n[uplink.shared_folder]\ndir = \"t\"\n\n"
    );
    let check = |body: &str| {
        let cfg = dir.path().join("tsunagi.toml");
        std::fs::write(&cfg, format!("{base}{body}")).expect("write");
        let out = Command::new(agent_bin())
            .arg("check-config")
            .arg(&cfg)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = check(
        "[[source.mllp]]\nname = \"ehr\"\nlisten = \"0.0.0.0:2575\"\n\n[[source.mllp]]\nname = \"lab\"\nlisten = \"0.0.0.0:2576\"\ninsecure_plaintext = true\n",
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("2 problem(s)"),
        "both listeners reported: {text}"
    );
    assert!(
        text.contains("source.mllp \"ehr\": listen 0.0.0.0:2575 is not loopback")
            && text.contains("[source.mllp.tls]"),
        "{text}"
    );
    assert!(text.contains("ループバック以外"), "Japanese too: {text}");
    assert!(
        text.contains("source.mllp \"lab\"") && text.contains("set allow"),
        "{text}"
    );
    let (code, text) = check(
        "[[source.mllp]]\nname = \"lab\"\nlisten = \"0.0.0.0:2576\"\ninsecure_plaintext = true\nallow = [\"10.0.0.0/8\", \"192.168.1.20\"]\n",
    );
    assert_eq!(
        code,
        Some(0),
        "an allow-listed plaintext opt-in passes: {text}"
    );
}
