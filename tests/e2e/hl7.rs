use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::util::*;

fn message(i: usize) -> String {
    format!(
        "MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250401120000||ADT^A08^ADT_A01|MSG{i:05}|P|2.5||||||UNICODE UTF-8\r\
         EVN||20250401120000\r\
         PID|||P{i:07}^^^^PI||{SECRET_FAMILY}^{SECRET_GIVEN}^^^^^L^I||19870605|F\r"
    )
}

/// Sends one framed message and reads one framed ACK.
fn send(stream: &mut TcpStream, msg: &str) -> String {
    let mut frame = vec![0x0b];
    frame.extend_from_slice(msg.as_bytes());
    frame.extend_from_slice(&[0x1c, 0x0d]);
    stream.write_all(&frame).expect("send");
    let mut ack = Vec::new();
    let mut buf = [0u8; 1024];
    while !ack.ends_with(&[0x1c, 0x0d]) {
        let n = stream.read(&mut buf).expect("read ACK");
        assert!(n > 0, "connection closed before the ACK");
        ack.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&ack).into_owned()
}

/// HL7 v2 over MLLP into the real binary: every message gets an AA after it is stored, a resend
/// is acknowledged again and stored once, and a frame without MSH gets an AR while the next
/// message on the same connection still flows.
#[test]
fn mllp_messages_are_acknowledged_after_they_are_stored_exactly_once() {
    let mut w = World::new();
    let port = free_port();
    w.extra_config = format!("\n[[source.mllp]]\nname = \"ehr\"\nlisten = \"127.0.0.1:{port}\"\n");
    w.start_sim("", false);
    w.start_agent();
    // Issue 9, F13: the listener says so once (the daemon used to repeat it).
    assert_eq!(w.agent_log().matches("MLLP listening").count(), 1);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    for i in 0..20 {
        let ack = send(&mut s, &message(i));
        assert!(
            ack.contains("MSA|AA|") && ack.contains(&format!("MSG{i:05}")),
            "{ack}"
        );
    }
    let again = send(&mut s, &message(3));
    assert!(
        again.contains("MSA|AA|MSG00003"),
        "a resend is acknowledged: {again}"
    );
    let bad = send(&mut s, "PID|||no header\r");
    assert!(bad.contains("MSA|AR|"), "{bad}");
    let after = send(&mut s, &message(99));
    assert!(after.contains("MSA|AA|MSG00099"), "{after}");
    w.stop_agent();
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'ehr'"),
        21,
        "20 + 1, the resend stored once"
    );
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, SECRET_BIRTH, "P0000003"]);
}

/// An SS-MIX2 storage is taken in whole, never modified, and unused data types are stored but
/// not parsed.
#[test]
fn an_ssmix2_storage_is_ingested_read_only() {
    let mut w = World::new();
    let root = w.path("ssmix2");
    let files = [
        ("0000000001", "-", "ADT-00", message(1)),
        ("0000000001", "20250401", "OML-11", message(2)),
        ("0000000002", "20250402", "ADT-12", message(3)),
    ];
    for (pid, date, kind, body) in &files {
        let dir = root
            .join(&pid[0..3])
            .join(&pid[3..6])
            .join(pid)
            .join(date)
            .join(kind);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let day = if *date == "-" { "-" } else { date };
        let name = format!("{pid}_{day}_{kind}_000000000000001_20250401120000000_01_1");
        std::fs::write(dir.join(name), body).expect("write");
    }
    let listing = || {
        let out = std::process::Command::new("find")
            .arg(&root)
            .args(["-printf", "%p %s %T@\\n"])
            .output()
            .expect("find");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let before = listing();
    w.extra_config =
        "\n[[source.ssmix2]]\nname = \"storage\"\npath = \"ssmix2\"\nstable_ms = 100\n".into();
    w.start_sim("", false);
    w.start_agent();
    wait_until(60, "three files stored and processed", || {
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'storage' AND state = 'processed'")
            == 3
    });
    w.stop_agent();
    assert_eq!(listing(), before, "the storage was not modified");
    w.start_agent();
    std::thread::sleep(Duration::from_secs(1));
    w.stop_agent();
    assert_eq!(
        w.db_count("SELECT COUNT(*) FROM inbox WHERE source = 'storage'"),
        3,
        "a restart re-reads nothing"
    );
    w.assert_log_has_no(&[SECRET_FAMILY, SECRET_GIVEN, "0000000001"]);
}

/// `tsunagi inspect` on an MLLP capture: one record per message, patient values masked unless
/// `--reveal`, nothing stored.
#[test]
fn inspect_shows_canonical_records_masked_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let capture = dir.path().join("capture.mllp");
    let mut bytes = Vec::new();
    for i in 0..3 {
        bytes.push(0x0b);
        bytes.extend_from_slice(message(i).as_bytes());
        bytes.extend_from_slice(&[0x1c, 0x0d]);
    }
    std::fs::write(&capture, bytes).expect("write");
    let run = |reveal: bool| {
        let mut c = std::process::Command::new(agent_bin());
        c.args(["inspect", "--format", "jsonl"]).arg(&capture);
        if reveal {
            c.arg("--reveal");
        }
        let out = c.output().expect("inspect");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let masked = run(false);
    let lines: Vec<serde_json::Value> = masked
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(
        lines.iter().filter(|v| v["type"] == "Patient").count(),
        3,
        "{masked}"
    );
    assert_eq!(
        lines.last().expect("summary")["summary"]["records"]["Patient"],
        3
    );
    for secret in [SECRET_FAMILY, SECRET_GIVEN, "P0000001", "1987"] {
        assert!(
            !masked.contains(secret),
            "{secret} printed without --reveal"
        );
    }
    assert!(
        run(true).contains(SECRET_GIVEN),
        "--reveal prints patient values"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "inspect wrote nothing");
}
