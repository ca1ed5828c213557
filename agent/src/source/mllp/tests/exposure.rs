//! Exposure beyond loopback: the per-frame deadline, the per-peer cap, eviction at
//! `max_connections`, the allow list, and the exposure rule at bind. No assertion is on timing:
//! each test shows which connection was closed, and why (the counters).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::*;

/// Whether the listener closed this connection (EOF, or a reset when our bytes were unread);
/// gives up after 10 s. ACKs before the close are skipped.
async fn closed(acks: &mut AckReader<OwnedReadHalf>) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), acks.rd.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection that opened a frame and stalls (the slowloris pattern).
async fn stalled(addr: SocketAddr) -> (AckReader<OwnedReadHalf>, OwnedWriteHalf) {
    let (acks, mut w) = connect(addr).await;
    w.write_all(b"\x0bMSH|^~\\&|EHR|HOSP|").await.unwrap();
    (acks, w)
}

#[tokio::test]
async fn a_frame_trickled_a_byte_at_a_time_is_closed_at_its_deadline() {
    let mut c = cfg();
    c.frame_timeout_secs = 1; // idle_timeout stays 300 s: only the frame deadline can close it
    let intake = Arc::new(FakeIntake::default());
    let run = start(c, intake.clone()).await;
    let (mut acks, mut w) = stalled(run.addr).await;
    let trickle = tokio::spawn(async move {
        // Far longer than the frame deadline, each byte well inside the idle timeout.
        for _ in 0..400 {
            if w.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    assert!(closed(&mut acks).await, "closed while bytes still arrive");
    trickle.abort();
    let c = run.stop().await;
    assert_eq!(c.closed(CloseReason::FrameTimeout), 1);
    assert_eq!(c.closed(CloseReason::IdleTimeout), 0);
    assert_eq!(
        (intake.commits.load(Ordering::SeqCst), c.aa),
        (0, 0),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_complete_message_then_a_new_frame_gets_its_own_deadline() {
    let mut c = cfg();
    c.frame_timeout_secs = 1;
    let intake = Arc::new(FakeIntake::default());
    let run = start(c, intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    // One write: a whole message and the start of the next frame that never ends.
    let mut bytes = framed(&message("M1", 100));
    bytes.extend_from_slice(b"\x0bMSH|");
    w.write_all(&bytes).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "M1".into()));
    assert!(closed(&mut acks).await, "the unfinished frame is closed");
    let c = run.stop().await;
    assert_eq!(
        (intake.stored_count(), c.closed(CloseReason::FrameTimeout)),
        (1, 1)
    );
}

#[tokio::test]
async fn a_peer_over_its_connection_cap_is_closed_at_accept() {
    let mut c = cfg();
    c.max_connections_per_peer = 2;
    let intake = Arc::new(FakeIntake::default());
    let run = start(c, intake.clone()).await;
    let (mut a_acks, mut a) = connect(run.addr).await;
    let (_b_acks, _b) = connect(run.addr).await;
    let (mut third, _w) = connect(run.addr).await;
    assert!(closed(&mut third).await, "the third is closed");
    a.write_all(&framed(&message("A1", 100))).await.unwrap();
    assert_eq!(
        msa(&a_acks.next().await.unwrap()),
        ("AA".into(), "A1".into())
    );
    let c = run.stop().await;
    assert_eq!(c.closed(CloseReason::PeerCap), 1);
    assert_eq!(c.closed(CloseReason::Evicted), 0);
}

#[tokio::test]
async fn stalled_connections_at_the_cap_give_way_to_a_real_sender() {
    let mut c = cfg();
    c.max_connections = 4;
    let intake = Arc::new(FakeIntake::default());
    let run = start(c, intake.clone()).await;
    let mut stalls = Vec::new();
    for _ in 0..6 {
        stalls.push(stalled(run.addr).await);
    }
    let (mut acks, mut w) = connect(run.addr).await;
    w.write_all(&framed(&message("REAL1", 200))).await.unwrap();
    assert_eq!(
        msa(&acks.next().await.unwrap()),
        ("AA".into(), "REAL1".into())
    );
    // The three that made no progress for the longest (the first three) were evicted.
    for (acks, _) in stalls.iter_mut().take(3) {
        assert!(closed(acks).await, "an evicted connection is closed");
    }
    w.write_all(&framed(&message("REAL2", 200))).await.unwrap();
    assert_eq!(
        msa(&acks.next().await.unwrap()),
        ("AA".into(), "REAL2".into())
    );
    let c = run.stop().await;
    assert_eq!(intake.stored_count(), 2);
    assert_eq!(c.closed(CloseReason::Evicted), 3);
    assert_eq!(c.messages_in_flight, 0);
}

#[tokio::test]
async fn a_peer_outside_the_allow_list_is_closed_at_accept() {
    let mut c = cfg();
    c.allow = vec!["10.0.0.0/8".parse().unwrap()];
    let run = start(c, Arc::new(FakeIntake::default())).await;
    let (mut acks, _w) = connect(run.addr).await;
    assert!(closed(&mut acks).await, "closed at once");
    let c = run.stop().await;
    assert_eq!((c.closed(CloseReason::NotAllowed), c.messages), (1, 0));

    let mut c = cfg();
    c.allow = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()];
    let run = start(c, Arc::new(FakeIntake::default())).await;
    let (mut acks, mut w) = connect(run.addr).await;
    w.write_all(&framed(&message("Y1", 100))).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()).0, "AA");
    assert_eq!(run.stop().await.closed(CloseReason::NotAllowed), 0);
}

#[tokio::test]
async fn a_plaintext_listener_outside_loopback_is_refused_at_bind() {
    let open = MllpConfig::new("ehr", "0.0.0.0:0".parse().unwrap());
    let e = MllpListener::bind(open).await.err().expect("refused");
    assert!(
        matches!(e, MllpError::Config(MllpConfigError::TlsRequired { .. })),
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("[source.mllp.tls]") && text.contains("ループバック以外"),
        "{text}"
    );

    let mut fenced = MllpConfig::new("ehr", "0.0.0.0:0".parse().unwrap());
    fenced.insecure_plaintext = true;
    let e = MllpListener::bind(fenced.clone())
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(e, MllpError::Config(MllpConfigError::AllowRequired { .. })),
        "{e}"
    );
    fenced.allow = vec!["127.0.0.1".parse().unwrap()];
    assert!(MllpListener::bind(fenced).await.is_ok());
}
