//! The listener against the real store: a `StoreIntake` over a temporary SQLite database (WAL,
//! synchronous=FULL, the group-commit writer), and the release-mode throughput measurement.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::*;
use crate::source::intake::StoreIntake;
use crate::store::disk::DiskReserve;
use crate::store::{self, Writer};

/// A real intake on `dir`; `reserve_bytes = u64::MAX` makes it paused.
pub fn store_intake(dir: &Path, reserve_bytes: u64) -> Arc<StoreIntake> {
    let (writer, _thread) = Writer::spawn(store::open(dir).unwrap()).unwrap();
    Arc::new(StoreIntake::new(
        writer,
        store::open(dir).unwrap(),
        DiskReserve::new(dir.to_path_buf(), reserve_bytes, 0),
        HL7V2_FORMAT.into(),
        Arc::new(crate::doorbell::Doorbell::new()),
    ))
}

/// (rows, distinct origins) in the inbox for source `ehr`, and that every row is hl7v2.
pub fn inbox_rows(dir: &Path) -> (i64, i64) {
    let conn = store::open(dir).unwrap();
    let bad: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM inbox WHERE format != 'hl7v2' OR state != 'received'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    conn.query_row(
        "SELECT COUNT(*), COUNT(DISTINCT origin) FROM inbox WHERE source = 'ehr'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_and_resends_are_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let intake = store_intake(dir.path(), 0);
    let run = start(cfg(), intake).await;
    let mut tasks = Vec::new();
    for s in 0..8 {
        let addr = run.addr;
        tasks.push(tokio::spawn(async move {
            let (mut acks, mut w) = connect(addr).await;
            for i in 0..40 {
                let m = message(&format!("C{s}-{i}"), 800);
                w.write_all(&framed(&m)).await.unwrap();
                assert_eq!(
                    msa(&acks.next().await.unwrap()),
                    ("AA".into(), format!("C{s}-{i}"))
                );
                if i % 10 == 0 {
                    // A resend (the sender lost our ACK): AA again, stored once.
                    w.write_all(&framed(&m)).await.unwrap();
                    assert_eq!(msa(&acks.next().await.unwrap()).0, "AA");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = run.stop().await;
    assert_eq!((c.stored, c.duplicates, c.aa), (320, 32, 352));
    assert_eq!(inbox_rows(dir.path()), (320, 320));
    let conn = store::open(dir.path()).unwrap();
    let raw: Vec<u8> = conn
        .query_row(
            "SELECT raw FROM inbox WHERE origin = 'EHR^HOSP|C3-7'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        raw,
        message("C3-7", 800),
        "raw bytes stored exactly as sent"
    );
}

#[tokio::test]
async fn a_paused_store_answers_ae_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(cfg(), store_intake(dir.path(), u64::MAX)).await;
    let (mut acks, mut w) = connect(run.addr).await;
    w.write_all(&framed(&message("Z1", 300))).await.unwrap();
    let ack = acks.next().await.unwrap();
    assert_eq!(msa(&ack), ("AE".into(), "Z1".into()));
    run.stop().await;
    assert_eq!(inbox_rows(dir.path()), (0, 0));
}

/// Durable ingest rate, fsync on. Run: `cargo test --release -p tsunagi -- --ignored mllp_throughput --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run in release mode"]
async fn mllp_throughput() {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 5_000;
    const SERIAL: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let run = start(cfg(), store_intake(dir.path(), 0)).await;

    // 8 concurrent senders, each pipelining (writes ahead, reads ACKs as they come).
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let addr = run.addr;
        tasks.push(tokio::spawn(async move {
            let (mut acks, mut w) = connect(addr).await;
            let writer = tokio::spawn(async move {
                for i in 0..PER_SENDER {
                    w.write_all(&framed(&message(&format!("T{s}-{i}"), 800)))
                        .await
                        .unwrap();
                }
                w
            });
            for _ in 0..PER_SENDER {
                assert_eq!(msa(&acks.next().await.unwrap()).0, "AA");
            }
            drop(writer.await.unwrap());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = (SENDERS * PER_SENDER) as f64 / t0.elapsed().as_secs_f64();

    // One sender that waits for every ACK.
    let (mut acks, mut w) = connect(run.addr).await;
    let t1 = Instant::now();
    for i in 0..SERIAL {
        w.write_all(&framed(&message(&format!("W{i}"), 800)))
            .await
            .unwrap();
        assert_eq!(msa(&acks.next().await.unwrap()).0, "AA");
    }
    let serial = SERIAL as f64 / t1.elapsed().as_secs_f64();
    drop(w);
    let c = run.stop().await;
    assert_eq!(c.stored as usize, SENDERS * PER_SENDER + SERIAL);
    assert_eq!(
        inbox_rows(dir.path()).0 as usize,
        SENDERS * PER_SENDER + SERIAL
    );
    println!("mllp_throughput: {SENDERS} pipelining senders: {concurrent:.0} msg/s; 1 sender waiting for each ACK: {serial:.0} msg/s (800-byte messages, fsync on)");
}

/// A connection that sends nothing does not hold up others (sanity for the acceptor).
#[tokio::test]
async fn a_silent_connection_does_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let run = start(cfg(), store_intake(dir.path(), 0)).await;
    let _silent = TcpStream::connect(run.addr).await.unwrap();
    let (mut acks, mut w) = connect(run.addr).await;
    w.write_all(&framed(&message("N1", 300))).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()).0, "AA");
    run.stop().await;
}
