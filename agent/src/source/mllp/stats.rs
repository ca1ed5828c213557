//! Counters of one listener, for logs and `/metrics`. Plain atomics, updated by every
//! connection; [`MllpStats::snapshot`] reads them into a copyable [`MllpCounts`]. No labels, no
//! message content: only counts.

use std::sync::atomic::{AtomicU64, Ordering};

use super::ack::{AckCode, AckMode};
use super::frame::FrameQuirks;

/// Why the listener (not the peer) closed a connection. Labels are fixed words, never addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A frame did not end within `frame_timeout_secs` of its first byte.
    FrameTimeout,
    /// Nothing arrived for `idle_timeout_secs`.
    IdleTimeout,
    /// The peer already had `max_connections_per_peer` connections (closed at accept).
    PeerCap,
    /// The peer is outside the `allow` list (closed at accept).
    NotAllowed,
    /// Evicted at `max_connections` to let a new connection in (it had no message in flight).
    Evicted,
}

impl CloseReason {
    /// Every reason, in the order of [`MllpCounts::closed_by_listener`].
    pub const ALL: [CloseReason; 5] = [
        CloseReason::FrameTimeout,
        CloseReason::IdleTimeout,
        CloseReason::PeerCap,
        CloseReason::NotAllowed,
        CloseReason::Evicted,
    ];

    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::FrameTimeout => "frame-timeout",
            CloseReason::IdleTimeout => "idle-timeout",
            CloseReason::PeerCap => "peer-cap",
            CloseReason::NotAllowed => "not-allowed",
            CloseReason::Evicted => "evicted",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Live counters (shared by the listener and its connections).
#[derive(Debug, Default)]
pub struct MllpStats {
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    tls_failures: AtomicU64,
    closed_by_listener: [AtomicU64; 5],
    messages_in_flight: AtomicU64,
    messages: AtomicU64,
    stored: AtomicU64,
    duplicates: AtomicU64,
    acks: [AtomicU64; 6],
    acks_suppressed: AtomicU64,
    oversize: AtomicU64,
    lf_segment_endings: AtomicU64,
    missing_final_cr: AtomicU64,
    missing_end_cr: AtomicU64,
    outside_bytes: AtomicU64,
    abandoned_frames: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MllpCounts {
    /// Connections accepted since start.
    pub connections_accepted: u64,
    /// Connections open now.
    pub connections_open: u64,
    /// TLS handshakes that failed (or timed out).
    pub tls_failures: u64,
    /// Connections closed by the listener, by [`CloseReason`] (in [`CloseReason::ALL`] order).
    pub closed_by_listener: [u64; 5],
    /// Messages handed to the store whose ACK is not yet written (or suppressed), now.
    pub messages_in_flight: u64,
    /// Complete frames received (including oversize and unparseable ones).
    pub messages: u64,
    /// Messages newly stored.
    pub stored: u64,
    /// Messages already stored before (re-acknowledged, not stored again).
    pub duplicates: u64,
    /// ACKs sent, by MSA-1.
    pub aa: u64,
    pub ae: u64,
    pub ar: u64,
    pub ca: u64,
    pub ce: u64,
    pub cr: u64,
    /// Enhanced mode: ACKs not sent because MSH-15 said so.
    pub acks_suppressed: u64,
    /// Frames over `max_message_bytes`.
    pub oversize: u64,
    /// Quirk: messages with `\n` segment endings (stored as received).
    pub lf_segment_endings: u64,
    /// Quirk: messages whose last segment has no `\r` before `0x1C`.
    pub missing_final_cr: u64,
    /// Quirk: `0x1C` not followed by `0x0D`.
    pub missing_end_cr: u64,
    /// Quirk: bytes outside any frame, skipped.
    pub outside_bytes: u64,
    /// Quirk: unfinished frames abandoned by a new `0x0B`.
    pub abandoned_frames: u64,
}

impl MllpCounts {
    /// Connections the listener closed for `reason`.
    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closed_by_listener[reason.index()]
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn ack_index(mode: AckMode, code: AckCode) -> usize {
    let base = if mode == AckMode::Original { 0 } else { 3 };
    base + match code {
        AckCode::Accept => 0,
        AckCode::Error => 1,
        AckCode::Reject => 2,
    }
}

impl MllpStats {
    pub(crate) fn connection_opened(&self) {
        add(&self.connections_accepted, 1);
        add(&self.connections_open, 1);
    }
    pub(crate) fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
    pub(crate) fn tls_failed(&self) {
        add(&self.tls_failures, 1);
    }
    pub(crate) fn closed_by_listener(&self, reason: CloseReason) {
        add(&self.closed_by_listener[reason.index()], 1);
    }
    pub(crate) fn message_in_flight(&self) {
        add(&self.messages_in_flight, 1);
    }
    pub(crate) fn message_answered(&self) {
        self.messages_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
    pub(crate) fn message(&self, content: &[u8]) {
        add(&self.messages, 1);
        if content.contains(&b'\n') {
            add(&self.lf_segment_endings, 1);
        }
        if !matches!(content.last(), Some(b'\r' | b'\n')) {
            add(&self.missing_final_cr, 1);
        }
    }
    pub(crate) fn oversize(&self) {
        add(&self.messages, 1);
        add(&self.oversize, 1);
    }
    pub(crate) fn committed(&self, new: bool) {
        add(if new { &self.stored } else { &self.duplicates }, 1);
    }
    pub(crate) fn ack(&self, mode: AckMode, code: AckCode, sent: bool) {
        if sent {
            add(&self.acks[ack_index(mode, code)], 1);
        } else {
            add(&self.acks_suppressed, 1);
        }
    }
    /// Adds the framing quirks counted since `before` (a connection reports its deltas).
    pub(crate) fn quirks(&self, before: FrameQuirks, now: FrameQuirks) {
        add(
            &self.outside_bytes,
            now.outside_bytes - before.outside_bytes,
        );
        add(
            &self.missing_end_cr,
            now.missing_end_cr - before.missing_end_cr,
        );
        add(
            &self.abandoned_frames,
            now.abandoned_frames - before.abandoned_frames,
        );
    }

    /// The counters now.
    pub fn snapshot(&self) -> MllpCounts {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MllpCounts {
            connections_accepted: g(&self.connections_accepted),
            connections_open: g(&self.connections_open),
            tls_failures: g(&self.tls_failures),
            closed_by_listener: self.closed_by_listener.each_ref().map(g),
            messages_in_flight: g(&self.messages_in_flight),
            messages: g(&self.messages),
            stored: g(&self.stored),
            duplicates: g(&self.duplicates),
            aa: g(&self.acks[0]),
            ae: g(&self.acks[1]),
            ar: g(&self.acks[2]),
            ca: g(&self.acks[3]),
            ce: g(&self.acks[4]),
            cr: g(&self.acks[5]),
            acks_suppressed: g(&self.acks_suppressed),
            oversize: g(&self.oversize),
            lf_segment_endings: g(&self.lf_segment_endings),
            missing_final_cr: g(&self.missing_final_cr),
            missing_end_cr: g(&self.missing_end_cr),
            outside_bytes: g(&self.outside_bytes),
            abandoned_frames: g(&self.abandoned_frames),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_quirks_and_ack_codes_are_counted() {
        let s = MllpStats::default();
        s.message(b"MSH|1\rPID|\r");
        s.message(b"MSH|1\nPID|");
        s.ack(AckMode::Original, AckCode::Accept, true);
        s.ack(AckMode::Enhanced, AckCode::Reject, true);
        s.ack(AckMode::Enhanced, AckCode::Accept, false);
        let c = s.snapshot();
        assert_eq!(
            (c.messages, c.lf_segment_endings, c.missing_final_cr),
            (2, 1, 1)
        );
        assert_eq!((c.aa, c.cr, c.ca, c.acks_suppressed), (1, 1, 0, 1));
    }

    #[test]
    fn closes_by_reason_and_messages_in_flight_are_counted() {
        let s = MllpStats::default();
        s.closed_by_listener(CloseReason::Evicted);
        s.closed_by_listener(CloseReason::Evicted);
        s.closed_by_listener(CloseReason::FrameTimeout);
        s.message_in_flight();
        s.message_in_flight();
        s.message_answered();
        let c = s.snapshot();
        assert_eq!(c.closed(CloseReason::Evicted), 2);
        assert_eq!(c.closed(CloseReason::FrameTimeout), 1);
        assert_eq!(c.closed(CloseReason::NotAllowed), 0);
        assert_eq!(c.messages_in_flight, 1);
        let labels: Vec<_> = CloseReason::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(
            labels,
            [
                "frame-timeout",
                "idle-timeout",
                "peer-cap",
                "not-allowed",
                "evicted"
            ]
        );
    }
}
