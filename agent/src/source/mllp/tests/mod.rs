//! Listener tests against a fake intake (ACK timing, NAKs, pipelining, shutdown, limits, TLS),
//! the real store ([`store`]), and third-party clients ([`clients`]).

mod clients;
mod exposure;
mod store;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};

use super::frame::{Frame, Framer, CR, EB, SB};
use super::msh::Msh;
use super::*;

/// A test message with control id `id` and (about) `size` bytes.
pub fn message(id: &str, size: usize) -> Vec<u8> {
    let mut m = format!(
        "MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250101120000||ADT^A01^ADT_A01|{id}|P|2.5\rEVN|A01|20250101120000\rPID|1||P{id}^^^HOSP^MR||テスト^太郎||19700101|M\r"
    )
    .into_bytes();
    while m.len() + 6 < size {
        m.extend_from_slice(b"NTE|1||");
        let n = (size - m.len()).min(70);
        m.extend(std::iter::repeat_n(b'x', n.saturating_sub(1)));
        m.push(b'\r');
    }
    m
}

pub fn framed(msg: &[u8]) -> Vec<u8> {
    let mut v = vec![SB];
    v.extend_from_slice(msg);
    v.extend_from_slice(&[EB, CR]);
    v
}

/// Reads ACK frames from a stream.
pub struct AckReader<R> {
    rd: R,
    framer: Framer,
}

impl<R: AsyncRead + Unpin> AckReader<R> {
    pub fn new(rd: R) -> Self {
        AckReader {
            rd,
            framer: Framer::new(1 << 20),
        }
    }

    /// The next ACK, or None at EOF. Panics after 10 s.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(Frame::Message(m)) = self.framer.next_frame() {
                return Some(m);
            }
            let n = tokio::time::timeout(
                Duration::from_secs(10),
                self.rd.read_buf(self.framer.read_space()),
            )
            .await
            .expect("no ACK within 10 s")
            .expect("read");
            if n == 0 {
                return None;
            }
        }
    }
}

/// MSA-1 and MSA-2 of an ACK.
pub fn msa(ack: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(ack);
    let seg = text
        .split('\r')
        .find(|s| s.starts_with("MSA|"))
        .unwrap_or_else(|| panic!("no MSA in {text:?}"));
    let f: Vec<&str> = seg.split('|').collect();
    (f[1].to_owned(), f.get(2).copied().unwrap_or("").to_owned())
}

/// (source, origin, raw bytes): the store's deduplication key.
type Key = (String, String, Vec<u8>);

/// A fake store: deduplicates like the real one, can block commits, pause or fail.
#[derive(Default)]
pub struct FakeIntake {
    stored: Mutex<HashMap<Key, i64>>,
    pub commits: AtomicUsize,
    pub paused: AtomicBool,
    pub failing: AtomicBool,
    /// When set, each commit takes a permit first (tests release them).
    pub gate: Option<Arc<Semaphore>>,
    /// Told when a commit has started (before the gate).
    pub started: Mutex<Option<mpsc::UnboundedSender<String>>>,
}

impl MessageIntake for FakeIntake {
    fn commit_message(&self, m: IncomingMessage) -> CommitFuture {
        if self.paused.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(IntakeError::Paused)));
        }
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(IntakeError::Store(
                "disk I/O error".into(),
            ))));
        }
        if let Some(tx) = self.started.lock().unwrap().as_ref() {
            let _ = tx.send(m.origin.clone());
        }
        let gate = self.gate.clone();
        let result = {
            let mut map = self.stored.lock().unwrap();
            let next = map.len() as i64 + 1;
            match map.entry((m.source.to_string(), m.origin, m.raw)) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    Committed::AlreadyStored { inbox_id: *e.get() }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(next);
                    Committed::Stored { inbox_id: next }
                }
            }
        };
        self.commits.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if let Some(g) = gate {
                g.acquire().await.unwrap().forget();
            }
            Ok(result)
        })
    }

    fn commit_once_per_origin(
        &self,
        m: IncomingMessage,
    ) -> crate::source::mllp::OriginCommitFuture {
        // The listener never asks for it; the content-keyed commit stands in.
        let commit = self.commit_message(m);
        Box::pin(async move {
            commit
                .await
                .map(crate::source::mllp::OriginCommit::Committed)
        })
    }
}

impl FakeIntake {
    pub fn stored_count(&self) -> usize {
        self.stored.lock().unwrap().len()
    }
}

pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub task: tokio::task::JoinHandle<Result<MllpCounts, MllpError>>,
}

pub async fn start(cfg: MllpConfig, intake: Arc<dyn MessageIntake>) -> Running {
    let listener = MllpListener::bind(cfg).await.unwrap();
    let addr = listener.local_addr();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(listener.run(intake, shutdown.clone()));
    Running {
        addr,
        shutdown,
        task,
    }
}

impl Running {
    pub async fn stop(self) -> MllpCounts {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("listener drains within 10 s")
            .unwrap()
            .unwrap()
    }
}

pub fn cfg() -> MllpConfig {
    MllpConfig::new("ehr", "127.0.0.1:0".parse().unwrap())
}

async fn connect(
    addr: SocketAddr,
) -> (
    AckReader<tokio::net::tcp::OwnedReadHalf>,
    tokio::net::tcp::OwnedWriteHalf,
) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (r, w) = s.into_split();
    (AckReader::new(r), w)
}

#[tokio::test]
async fn ack_is_written_only_after_the_commit_returns() {
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut started) = mpsc::unbounded_channel();
    let intake = Arc::new(FakeIntake {
        gate: Some(gate.clone()),
        started: Mutex::new(Some(tx)),
        ..Default::default()
    });
    let run = start(cfg(), intake.clone()).await;
    let s = TcpStream::connect(run.addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    w.write_all(&framed(&message("M1", 300))).await.unwrap();
    assert_eq!(started.recv().await.unwrap(), "EHR^HOSP|M1");
    // The commit is held: nothing may arrive (a wrong implementation would have written by now).
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), r.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "bytes arrived before the commit returned: {early:?}"
    );
    gate.add_permits(1);
    let mut acks = AckReader::new(r);
    let ack = acks.next().await.unwrap();
    assert_eq!(msa(&ack), ("AA".into(), "M1".into()));
    let c = run.stop().await;
    assert_eq!((c.stored, c.aa), (1, 1));
}

#[tokio::test]
async fn duplicates_are_acknowledged_again_but_stored_once() {
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(), intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    for _ in 0..3 {
        w.write_all(&framed(&message("D1", 200))).await.unwrap();
        assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "D1".into()));
    }
    assert_eq!(intake.stored_count(), 1);
    let c = run.stop().await;
    assert_eq!((c.stored, c.duplicates, c.aa), (1, 2, 3));
}

#[tokio::test]
async fn paused_and_failing_store_get_ae_with_err_and_the_sender_can_retry() {
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(), intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    intake.paused.store(true, Ordering::SeqCst);
    w.write_all(&framed(&message("P1", 200))).await.unwrap();
    let ack = acks.next().await.unwrap();
    assert_eq!(msa(&ack), ("AE".into(), "P1".into()));
    let text = String::from_utf8_lossy(&ack).to_string();
    assert!(
        text.contains("\rERR|||207^Application internal error^HL70357|E||||"),
        "{text}"
    );
    assert!(text.contains("disk space"), "{text}");
    intake.paused.store(false, Ordering::SeqCst);
    intake.failing.store(true, Ordering::SeqCst);
    w.write_all(&framed(&message("P1", 200))).await.unwrap();
    let ack = acks.next().await.unwrap();
    assert_eq!(msa(&ack).0, "AE");
    assert!(
        !String::from_utf8_lossy(&ack).contains("disk I/O"),
        "store errors are not sent to peers"
    );
    intake.failing.store(false, Ordering::SeqCst);
    w.write_all(&framed(&message("P1", 200))).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "P1".into()));
    assert_eq!(intake.stored_count(), 1);
    let c = run.stop().await;
    assert_eq!((c.ae, c.aa), (2, 1));
}

#[tokio::test]
async fn malformed_and_oversize_frames_are_refused_and_the_stream_goes_on() {
    let intake = Arc::new(FakeIntake::default());
    let mut c = cfg();
    c.max_message_bytes = 1000;
    let run = start(c, intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    let mut stream = framed(b"PID|1||secret-patient-id\r");
    stream.extend(framed(b"MSH|^~\\&|EHR|HOSP|||||ADT^A01||P|2.3\r"));
    stream.extend(framed(&message("BIG", 5000)));
    stream.extend(framed(&message("OK1", 300)));
    w.write_all(&stream).await.unwrap();
    let a = acks.next().await.unwrap();
    assert_eq!(msa(&a), ("AR".into(), "".into()));
    let t = String::from_utf8_lossy(&a).to_string();
    assert!(
        t.contains("|100^Segment sequence error^HL70357|E|") && !t.contains("secret"),
        "{t}"
    );
    let a = acks.next().await.unwrap();
    assert_eq!(msa(&a), ("AR".into(), "".into()));
    assert!(String::from_utf8_lossy(&a).contains("ERR||MSH^1^10|101^Required field missing"));
    assert!(
        String::from_utf8_lossy(&a).contains("|2.3\r"),
        "the message's version is used"
    );
    let a = acks.next().await.unwrap();
    assert_eq!(
        msa(&a),
        ("AR".into(), "BIG".into()),
        "the oversize ACK still names MSH-10"
    );
    assert_eq!(
        msa(&acks.next().await.unwrap()),
        ("AA".into(), "OK1".into())
    );
    assert_eq!(intake.stored_count(), 1);
    let c = run.stop().await;
    assert_eq!((c.ar, c.aa, c.oversize, c.messages), (3, 1, 1, 4));
}

#[tokio::test]
async fn pipelined_messages_are_acknowledged_in_order() {
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(), intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    let all: Vec<u8> = (0..200)
        .flat_map(|i| framed(&message(&format!("Q{i}"), 400)))
        .collect();
    let writer = tokio::spawn(async move {
        w.write_all(&all).await.unwrap();
        w
    });
    for i in 0..200 {
        assert_eq!(
            msa(&acks.next().await.unwrap()),
            ("AA".into(), format!("Q{i}"))
        );
    }
    drop(writer.await.unwrap());
    assert_eq!(intake.stored_count(), 200);
    run.stop().await;
}

#[tokio::test]
async fn sender_quirks_are_tolerated_stored_as_received_and_counted() {
    let intake = Arc::new(FakeIntake::default());
    let run = start(cfg(), intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    let lf = message("L1", 200)
        .iter()
        .map(|&b| if b == b'\r' { b'\n' } else { b })
        .collect::<Vec<u8>>();
    let mut no_cr = message("L2", 200);
    no_cr.pop();
    let mut stream = b"\r\n".to_vec();
    stream.extend(framed(&lf));
    stream.push(SB);
    stream.extend(&no_cr);
    stream.push(EB); // no CR after EB
    w.write_all(&stream).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "L1".into()));
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "L2".into()));
    w.write_all(&framed(&message("L3", 200))).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "L3".into()));
    {
        let map = intake.stored.lock().unwrap();
        assert!(
            map.keys()
                .any(|(_, o, raw)| o == "EHR^HOSP|L1" && raw == &lf),
            "stored as received"
        );
        assert!(map
            .keys()
            .any(|(_, o, raw)| o == "EHR^HOSP|L2" && raw == &no_cr));
    }
    let c = run.stop().await;
    assert_eq!(
        (
            c.lf_segment_endings,
            c.missing_final_cr,
            c.missing_end_cr,
            c.outside_bytes
        ),
        (1, 1, 1, 2)
    );
}

#[tokio::test]
async fn enhanced_mode_follows_msh15() {
    let intake = Arc::new(FakeIntake::default());
    let mut c = cfg();
    c.enhanced_ack = true;
    let run = start(c, intake.clone()).await;
    let (mut acks, mut w) = connect(run.addr).await;
    let with15 = |id: &str, t: &str| {
        format!("MSH|^~\\&|EHR|HOSP|TSUNAGI|CLINS|20250101||ORU^R01|{id}|P|2.5|||{t}|NE\rOBX|1\r")
            .into_bytes()
    };
    let mut s = framed(&with15("E1", "NE"));
    s.extend(framed(&with15("E2", "ER")));
    s.extend(framed(&with15("E3", "AL")));
    s.extend(framed(&message("E4", 100))); // no MSH-15: original mode
    w.write_all(&s).await.unwrap();
    assert_eq!(msa(&acks.next().await.unwrap()), ("CA".into(), "E3".into()));
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "E4".into()));
    assert_eq!(
        intake.stored_count(),
        4,
        "unacknowledged (NE/ER) messages are stored too"
    );
    let c = run.stop().await;
    assert_eq!((c.ca, c.aa, c.acks_suppressed), (1, 1, 2));
}

#[tokio::test]
async fn shutdown_drains_in_flight_messages_and_stops_accepting() {
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut started) = mpsc::unbounded_channel();
    let intake = Arc::new(FakeIntake {
        gate: Some(gate.clone()),
        started: Mutex::new(Some(tx)),
        ..Default::default()
    });
    let run = start(cfg(), intake.clone()).await;
    let addr = run.addr;
    let (mut acks, mut w) = connect(addr).await;
    w.write_all(&framed(&message("S1", 200))).await.unwrap();
    started.recv().await.unwrap();
    run.shutdown.trigger();
    // The listener waits for the held commit; release it and the ACK must still come.
    let shutdown = run.shutdown.clone();
    let task = run.task;
    gate.add_permits(1);
    assert_eq!(msa(&acks.next().await.unwrap()), ("AA".into(), "S1".into()));
    assert!(
        acks.next().await.is_none(),
        "the connection closes after draining"
    );
    let c = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((c.aa, c.connections_open), (1, 0));
    assert!(shutdown.is_triggered());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let mut c = cfg();
    c.idle_timeout_secs = 1;
    let run = start(c, Arc::new(FakeIntake::default())).await;
    let (mut acks, _w) = connect(run.addr).await;
    assert!(acks.next().await.is_none(), "closed by the listener");
    let c = run.stop().await;
    assert_eq!(c.closed(CloseReason::IdleTimeout), 1);
}

#[tokio::test]
async fn at_the_cap_a_connection_committing_is_answered_before_it_gives_way() {
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut started) = mpsc::unbounded_channel();
    let intake = Arc::new(FakeIntake {
        gate: Some(gate.clone()),
        started: Mutex::new(Some(tx)),
        ..Default::default()
    });
    let mut c = cfg();
    c.max_connections = 1;
    let run = start(c, intake.clone()).await;
    let (mut a_acks, mut a) = connect(run.addr).await;
    a.write_all(&framed(&message("A1", 100))).await.unwrap();
    assert_eq!(started.recv().await.unwrap(), "EHR^HOSP|A1");
    // B arrives while A's message is committing: A is not evicted before its ACK.
    let (mut b_acks, mut b) = connect(run.addr).await;
    b.write_all(&framed(&message("B1", 100))).await.unwrap();
    gate.add_permits(2);
    assert_eq!(
        msa(&a_acks.next().await.unwrap()),
        ("AA".into(), "A1".into())
    );
    assert!(a_acks.next().await.is_none(), "then A gives way to B");
    assert_eq!(
        msa(&b_acks.next().await.unwrap()),
        ("AA".into(), "B1".into())
    );
    let c = run.stop().await;
    assert_eq!(intake.stored_count(), 2);
    assert_eq!(c.closed(CloseReason::Evicted), 1);
    assert_eq!(c.messages_in_flight, 0);
}

#[test]
fn acks_parse_as_msh() {
    // Our own reader reads our ACKs (swap is symmetric).
    let m = message("X", 100);
    let msh = Msh::parse(&m).unwrap();
    let ack = ack::build(
        Some(&msh),
        ack::AckMode::Original,
        ack::AckCode::Accept,
        None,
        &ack::AckStamp {
            timestamp: "20250101",
            control_id: "1",
        },
    );
    let back = Msh::parse(&ack).unwrap();
    assert_eq!((back.field(3), back.field(5)), (msh.field(5), msh.field(3)));
    assert_eq!(back.field(9), b"ACK^A01^ACK");
}

/// MSH-7 of an ACK.
fn msh7(ack: &[u8]) -> String {
    let text = String::from_utf8_lossy(ack);
    let msh = text.split('\r').next().unwrap_or_default().to_owned();
    msh.split('|').nth(6).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn acks_carry_the_local_time_to_the_second_with_its_offset() {
    let run = start(cfg(), Arc::new(FakeIntake::default())).await;
    let (mut acks, mut w) = connect(run.addr).await;
    let mut stamps = Vec::new();
    for id in ["T1", "T2", "T3"] {
        let before = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
        w.write_all(&framed(&message(id, 100))).await.unwrap();
        let stamp = msh7(&acks.next().await.unwrap());
        let after = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
        // YYYYMMDDHHMMSS then ±HHMM, within the second of the exchange (the time is reused
        // within a second, never across one).
        assert_eq!(stamp.len(), 19, "{stamp}");
        assert!(stamp[..14].chars().all(|c| c.is_ascii_digit()), "{stamp}");
        assert!(matches!(&stamp[14..15], "+" | "-"), "{stamp}");
        assert!(before.as_str() <= &stamp[..14] && &stamp[..14] <= after.as_str());
        stamps.push(stamp);
    }
    let offset = chrono::Local::now().format("%z").to_string();
    assert!(stamps.iter().all(|s| s.ends_with(&offset)), "{stamps:?}");
    run.stop().await;
}
