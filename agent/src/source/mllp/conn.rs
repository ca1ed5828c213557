//! One MLLP connection: read frames, hand each message to the intake, write ACKs in order.
//!
//! Two halves run concurrently. The reader frames the byte stream and, for every message, starts
//! its commit at once (the intake queues it for the next group commit when called, see
//! [`MessageIntake::commit_message`]), then queues `(MSH segment, pending verdict)` for the acker;
//! the acker awaits each verdict **in arrival order** and writes the ACK. So a sender that waits for
//! every ACK gets it right after its commit, and a sender that pipelines has up to
//! [`PIPELINE_DEPTH`] messages committing together (one fsync for many, in the group-commit
//! writer), while ACK order always matches message order.
//!
//! Deadlines: the connection is closed when nothing arrives for `idle_timeout` (reset by every
//! read), and when a frame has not ended `frame_timeout` after its first byte (**not** reset by
//! further bytes, so a peer trickling one byte at a time cannot hold a frame open). It is also
//! closed when the listener evicts it ([`super::roster`]); every complete message is marked in
//! flight in the roster until its ACK is out, so that never happens with a message committing.
//!
//! Invariants: an AA/CA is written only after the intake's future returned `Ok` (committed and
//! fsynced); a frame that never completed is never acknowledged nor stored; on shutdown, a
//! deadline or eviction the reader stops taking new frames, and every message already handed
//! over is still answered (draining) before the socket closes. Logs name the peer and counts, never content; MSH-10
//! appears only at debug level.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant as Deadline;

use super::ack::{self, AckCode, AckStamp, Problem};
use super::frame::{Frame, Framer};
use super::msh::{Msh, MshError};
use super::roster::{InFlight, Seat};
use super::stats::{CloseReason, MllpStats};
use super::{CommitFuture, IncomingMessage, MessageIntake};
use crate::shutdown::Shutdown;
use crate::source::{Committed, IntakeError};

/// Messages of one connection committing at once (pipelining senders).
pub const PIPELINE_DEPTH: usize = 16;

/// What every connection of one listener shares.
pub struct Ctx {
    pub source: Arc<str>,
    pub max_message_bytes: usize,
    pub idle_timeout: Duration,
    pub frame_timeout: Duration,
    pub enhanced_ack: bool,
    pub intake: Arc<dyn MessageIntake>,
    pub stats: Arc<MllpStats>,
    ack_ids: AtomicU64,
    ack_id_prefix: u32,
    /// MSH-7 of our ACKs for one second: (unix second, local time text), once formatted.
    ack_time: Mutex<Option<(u64, String)>>,
}

impl Ctx {
    pub fn new(
        source: Arc<str>,
        max_message_bytes: usize,
        idle_timeout: Duration,
        frame_timeout: Duration,
        enhanced_ack: bool,
        intake: Arc<dyn MessageIntake>,
        stats: Arc<MllpStats>,
    ) -> Ctx {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ctx {
            source,
            max_message_bytes,
            idle_timeout,
            frame_timeout,
            enhanced_ack,
            intake,
            stats,
            ack_ids: AtomicU64::new(1),
            ack_id_prefix: secs as u32,
            ack_time: Mutex::new(None),
        }
    }

    /// MSH-7 of our next ACK: local time to the second with its offset. Formatted once per
    /// second (chrono's formatting was 0.7 % of the agent's CPU under load, issue 9 part 3).
    fn ack_timestamp(&self) -> String {
        let format = || chrono::Local::now().format("%Y%m%d%H%M%S%z").to_string();
        // A clock before 1970 has no second to key the cache by: formatted each time.
        let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
        else {
            return format();
        };
        let second = since_epoch.as_secs();
        let mut cached = self.ack_time.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cached {
            Some((s, text)) if *s == second => text.clone(),
            _ => cached.insert((second, format())).1.clone(),
        }
    }

    /// MSH-10 of our next ACK: 8 hex digits of the start time and a counter (20 characters).
    fn next_ack_id(&self) -> String {
        let n = self.ack_ids.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}{:012}", self.ack_id_prefix, n % 1_000_000_000_000)
    }
}

enum Verdict {
    Decided(AckCode, Option<Problem>),
    Commit(CommitFuture),
}

struct Pending {
    /// The message's first segment (MSH), enough to build the ACK.
    head: Vec<u8>,
    verdict: Verdict,
    /// Keeps the connection from being evicted until this ACK is handled.
    _in_flight: InFlight,
}

fn first_segment(content: &[u8]) -> Vec<u8> {
    let end = content
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(content.len());
    content[..end].to_vec()
}

fn problem_for(e: MshError) -> Problem {
    match e {
        MshError::NotMsh => Problem::NOT_MSH,
        MshError::BadSeparators => Problem::BAD_SEPARATORS,
        MshError::NoControlId => Problem::NO_CONTROL_ID,
    }
}

/// Serves one connection until EOF, error, a deadline, eviction or shutdown, then drains its
/// ACKs and gives its seat back.
pub async fn serve<S>(stream: S, peer: SocketAddr, ctx: Arc<Ctx>, seat: Seat, shutdown: Shutdown)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let opened = Instant::now();
    ctx.stats.connection_opened();
    tracing::info!(%peer, source = %ctx.source, "MLLP connection opened");
    let (mut rd, wr) = tokio::io::split(stream);
    let (tx, rx) = mpsc::channel::<Pending>(PIPELINE_DEPTH);
    let acker = tokio::spawn(ack_loop(wr, rx, ctx.clone(), peer));
    let mut framer = Framer::new(ctx.max_message_bytes);
    let mut messages = 0u64;
    let mut frame_deadline: Option<Deadline> = None;
    let reason = 'conn: loop {
        let before = framer.quirks();
        let mut completed = false;
        while let Some(frame) = framer.next_frame() {
            completed = true;
            let Some(in_flight) = seat.begin_message() else {
                ctx.stats.quirks(before, framer.quirks());
                break 'conn "evicted";
            };
            messages += 1;
            let pending = take(frame, &ctx, peer, in_flight);
            if tx.send(pending).await.is_err() {
                ctx.stats.quirks(before, framer.quirks());
                break 'conn "ACK write failed";
            }
        }
        ctx.stats.quirks(before, framer.quirks());
        frame_deadline = next_frame_deadline(frame_deadline, &framer, completed, ctx.frame_timeout);
        let idle_deadline = Deadline::now() + ctx.idle_timeout;
        let (deadline, expiry) = match frame_deadline {
            Some(f) if f <= idle_deadline => (f, CloseReason::FrameTimeout),
            _ => (idle_deadline, CloseReason::IdleTimeout),
        };
        let read = tokio::select! {
            biased;
            _ = shutdown.triggered() => break 'conn "shutdown",
            _ = seat.evicted() => break 'conn "evicted",
            r = tokio::time::timeout_at(deadline, rd.read_buf(framer.read_space())) => r,
        };
        match read {
            Err(_) => {
                ctx.stats.closed_by_listener(expiry);
                break 'conn expiry.label();
            }
            Ok(Ok(0)) => break 'conn "closed by peer",
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "MLLP read failed");
                break 'conn "read error";
            }
        }
    };
    if framer.mid_frame() {
        tracing::debug!(%peer, "MLLP connection ended inside a frame; that message was not acknowledged");
    }
    drop(tx);
    let acks = acker.await.unwrap_or(0);
    drop(seat);
    ctx.stats.connection_closed();
    tracing::info!(
        %peer,
        source = %ctx.source,
        messages,
        acks,
        secs = opened.elapsed().as_secs(),
        reason,
        "MLLP connection closed"
    );
}

/// The deadline of the frame being received: set when a frame starts (the read that brought its
/// first byte), kept while it lasts (further bytes do not move it), cleared when none is open.
fn next_frame_deadline(
    current: Option<Deadline>,
    framer: &Framer,
    completed_one: bool,
    frame_timeout: Duration,
) -> Option<Deadline> {
    if !framer.mid_frame() {
        return None;
    }
    match current {
        // A frame ended in this read and the next one began: the new frame gets its own time.
        Some(d) if !completed_one => Some(d),
        _ => Some(Deadline::now() + frame_timeout),
    }
}

/// Turns one frame into a pending acknowledgement, starting its commit if it is a message.
fn take(frame: Frame, ctx: &Ctx, peer: SocketAddr, in_flight: InFlight) -> Pending {
    match frame {
        Frame::Oversize { head, size } => {
            ctx.stats.oversize();
            tracing::warn!(
                %peer,
                size,
                max = ctx.max_message_bytes,
                "MLLP message larger than max_message_bytes refused (AR) / 上限を超える大きさのメッセージを拒否しました"
            );
            Pending {
                head: first_segment(&head),
                verdict: Verdict::Decided(AckCode::Reject, Some(Problem::TOO_LARGE)),
                _in_flight: in_flight,
            }
        }
        Frame::Message(content) => {
            ctx.stats.message(&content);
            let head = first_segment(&content);
            let origin = match Msh::parse(&content).and_then(|m| {
                m.require_control_id()?;
                Ok(m.origin())
            }) {
                Ok(origin) => origin,
                Err(e) => {
                    tracing::warn!(%peer, reason = %e, "MLLP message refused (AR) / メッセージを拒否しました");
                    return Pending {
                        head,
                        verdict: Verdict::Decided(AckCode::Reject, Some(problem_for(e))),
                        _in_flight: in_flight,
                    };
                }
            };
            let fut = ctx.intake.commit_message(IncomingMessage {
                source: ctx.source.clone(),
                origin,
                raw: content,
            });
            Pending {
                head,
                verdict: Verdict::Commit(fut),
                _in_flight: in_flight,
            }
        }
    }
}

/// Awaits verdicts in order and writes ACKs; returns how many were written.
async fn ack_loop<W>(wr: W, mut rx: mpsc::Receiver<Pending>, ctx: Arc<Ctx>, peer: SocketAddr) -> u64
where
    W: AsyncWrite + Send,
{
    let mut wr = std::pin::pin!(wr);
    let mut sent = 0u64;
    while let Some(p) = rx.recv().await {
        let (code, problem) = match p.verdict {
            Verdict::Decided(code, problem) => (code, problem),
            Verdict::Commit(commit) => match commit.await {
                Ok(c) => {
                    ctx.stats.committed(matches!(c, Committed::Stored { .. }));
                    (AckCode::Accept, None)
                }
                Err(IntakeError::Paused) => (AckCode::Error, Some(Problem::PAUSED)),
                Err(IntakeError::Store(e)) => {
                    tracing::error!(%peer, error = %e, "MLLP message not stored (AE) / メッセージを保存できませんでした");
                    (AckCode::Error, Some(Problem::STORE_FAILED))
                }
            },
        };
        let msh = Msh::parse(&p.head).ok();
        let mode = ack::mode_for(ctx.enhanced_ack, msh.as_ref());
        let accept_type = msh.as_ref().map(|m| m.accept_ack_type()).unwrap_or(&[]);
        let send = ack::should_send(mode, accept_type, code);
        ctx.stats.ack(mode, code, send);
        if tracing::enabled!(tracing::Level::DEBUG) {
            let id = msh.as_ref().map(|m| m.control_id()).unwrap_or(&[]);
            tracing::debug!(%peer, control_id = %String::from_utf8_lossy(id), ack = code.msa1(mode), send, "MLLP acknowledgement");
        }
        if !send {
            continue;
        }
        let timestamp = ctx.ack_timestamp();
        let control_id = ctx.next_ack_id();
        let stamp = AckStamp {
            timestamp: &timestamp,
            control_id: &control_id,
        };
        let bytes = ack::frame(&ack::build(
            msh.as_ref(),
            mode,
            code,
            problem.as_ref(),
            &stamp,
        ));
        // One write per ACK, flushed at once: some clients (e.g. @medplum/hl7) take one ACK per
        // read and mis-handle two ACKs coalesced into one segment.
        let write = async {
            wr.write_all(&bytes).await?;
            wr.flush().await
        };
        match tokio::time::timeout(ctx.idle_timeout, write).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "MLLP ACK write failed; the sender will resend");
                return sent;
            }
            Err(_) => {
                tracing::debug!(%peer, "MLLP ACK write timed out; the sender will resend");
                return sent;
            }
        }
    }
    let _ = wr.flush().await;
    let _ = wr.shutdown().await;
    sent
}
