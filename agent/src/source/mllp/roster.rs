//! Who is connected to one listener, and who gives way when it is full.
//!
//! Every accepted connection takes a [`Seat`] (given back when it is dropped). The roster
//! enforces `max_connections_per_peer` (by peer IP address; a peer over it is refused) and
//! `max_connections` without ever refusing at the cap: a new connection **evicts** the seated
//! connection that has made no progress for the longest (progress = its opening, or the last
//! message it completed) among those with **no message in flight**: idle ones, and ones stalled
//! in the middle of a frame. So 1,000 connections that open a frame and stall cannot lock out a
//! real sender. A connection with a message being committed is never evicted (its ACK goes out
//! after the commit); when every seat has one, the newcomer waits until one is answered.
//!
//! Invariant: [`Seat::begin_message`] and eviction decide under one lock, so an evicted
//! connection never hands another message to the store, and a connection with a message in
//! flight is never chosen.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::stats::{CloseReason, MllpStats};

/// The seats of one listener. See the module docs.
pub struct Roster {
    state: Mutex<State>,
    /// Told when a seat is given back or a message is answered.
    changed: Notify,
    max: usize,
    max_per_peer: usize,
    stats: Arc<MllpStats>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// Logical clock of progress (openings and completed messages).
    clock: u64,
    seats: HashMap<u64, Entry>,
    per_peer: HashMap<IpAddr, usize>,
}

struct Entry {
    peer: IpAddr,
    in_flight: usize,
    progress: u64,
    evicted: bool,
    evict: Arc<Notify>,
}

/// Why a connection gets no seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The peer already holds `max_connections_per_peer` seats.
    PeerCap,
}

/// What a non-waiting attempt gave.
enum Attempt {
    Seated(Seat),
    Refused(Refusal),
    /// Full, and every seat has a message in flight.
    Busy,
}

impl Roster {
    pub fn new(max: usize, max_per_peer: usize, stats: Arc<MllpStats>) -> Roster {
        Roster {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            max,
            max_per_peer,
            stats,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts that are still consistent enough to serve.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A seat for a connection from `peer`, evicting one when full; waits only while every
    /// seat has a message in flight.
    pub async fn seat(self: &Arc<Self>, peer: IpAddr) -> Result<Seat, Refusal> {
        loop {
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            match self.try_seat(peer) {
                Attempt::Seated(s) => return Ok(s),
                Attempt::Refused(r) => return Err(r),
                Attempt::Busy => changed.await,
            }
        }
    }

    fn try_seat(self: &Arc<Self>, peer: IpAddr) -> Attempt {
        let peer = peer.to_canonical();
        let mut st = self.lock();
        if st.per_peer.get(&peer).copied().unwrap_or(0) >= self.max_per_peer {
            return Attempt::Refused(Refusal::PeerCap);
        }
        let seated = st.seats.values().filter(|e| !e.evicted).count();
        if seated >= self.max {
            let victim = st
                .seats
                .values_mut()
                .filter(|e| !e.evicted && e.in_flight == 0)
                .min_by_key(|e| e.progress);
            match victim {
                Some(v) => {
                    v.evicted = true;
                    v.evict.notify_one();
                    self.stats.closed_by_listener(CloseReason::Evicted);
                }
                None => return Attempt::Busy,
            }
        }
        let (id, progress) = (st.next_id, st.clock);
        st.next_id += 1;
        st.clock += 1;
        *st.per_peer.entry(peer).or_insert(0) += 1;
        let evict = Arc::new(Notify::new());
        st.seats.insert(
            id,
            Entry {
                peer,
                in_flight: 0,
                progress,
                evicted: false,
                evict: evict.clone(),
            },
        );
        Attempt::Seated(Seat {
            roster: self.clone(),
            id,
            evict,
        })
    }

    /// Completes when no seat is taken (all connections ended).
    pub async fn drained(&self) {
        loop {
            let mut changed = pin!(self.changed.notified());
            changed.as_mut().enable();
            if self.lock().seats.is_empty() {
                return;
            }
            changed.await;
        }
    }

    #[cfg(test)]
    pub fn seated(&self) -> usize {
        self.lock().seats.values().filter(|e| !e.evicted).count()
    }
}

/// One connection's place in the roster; given back on drop.
pub struct Seat {
    roster: Arc<Roster>,
    id: u64,
    evict: Arc<Notify>,
}

impl Seat {
    /// Completes once this connection has been evicted (at once if it already was).
    pub async fn evicted(&self) {
        self.evict.notified().await;
        // Keep the signal for later callers (the handshake, then the reader, may both wait).
        self.evict.notify_one();
    }

    /// Marks a complete message as in flight until the returned guard drops (after its ACK);
    /// `None` if the connection was evicted (the message must then not be taken).
    pub fn begin_message(&self) -> Option<InFlight> {
        let mut st = self.roster.lock();
        let tick = st.clock;
        let e = st.seats.get_mut(&self.id)?;
        if e.evicted {
            return None;
        }
        e.in_flight += 1;
        e.progress = tick;
        st.clock += 1;
        drop(st);
        self.roster.stats.message_in_flight();
        Some(InFlight {
            roster: self.roster.clone(),
            id: self.id,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut st = self.roster.lock();
        if let Some(e) = st.seats.remove(&self.id) {
            if let Some(n) = st.per_peer.get_mut(&e.peer) {
                *n -= 1;
                if *n == 0 {
                    st.per_peer.remove(&e.peer);
                }
            }
        }
        drop(st);
        self.roster.changed.notify_waiters();
    }
}

/// A message handed to the store whose ACK is not yet out; the connection cannot be evicted
/// while it exists.
pub struct InFlight {
    roster: Arc<Roster>,
    id: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(e) = self.roster.lock().seats.get_mut(&self.id) {
            e.in_flight = e.in_flight.saturating_sub(1);
        }
        self.roster.stats.message_answered();
        self.roster.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(max: usize, per_peer: usize) -> (Arc<Roster>, Arc<MllpStats>) {
        let stats = Arc::new(MllpStats::default());
        (Arc::new(Roster::new(max, per_peer, stats.clone())), stats)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn seat(r: &Arc<Roster>, peer: IpAddr) -> Seat {
        match r.try_seat(peer) {
            Attempt::Seated(s) => s,
            Attempt::Refused(e) => panic!("refused: {e:?}"),
            Attempt::Busy => panic!("busy"),
        }
    }

    fn is_evicted(s: &Seat) -> bool {
        s.roster.lock().seats.get(&s.id).is_some_and(|e| e.evicted)
    }

    #[test]
    fn a_peer_over_its_cap_is_refused_others_are_not() {
        let (r, _) = roster(10, 2);
        let _a = seat(&r, ip(1));
        let b = seat(&r, ip(1));
        assert!(matches!(
            r.try_seat("::ffff:10.0.0.1".parse().unwrap()),
            Attempt::Refused(Refusal::PeerCap)
        ));
        let _c = seat(&r, ip(2));
        drop(b);
        let _d = seat(&r, ip(1));
        assert_eq!(r.seated(), 3);
    }

    #[test]
    fn at_the_cap_the_longest_idle_seat_without_messages_in_flight_gives_way() {
        let (r, stats) = roster(3, 10);
        let oldest = seat(&r, ip(1));
        let busy = seat(&r, ip(2));
        let active = seat(&r, ip(3));
        let _committing = busy.begin_message().unwrap();
        drop(active.begin_message()); // progress, then answered
        let newcomer = seat(&r, ip(4));
        assert!(is_evicted(&oldest), "the longest without progress goes");
        assert!(!is_evicted(&busy) && !is_evicted(&active));
        assert!(
            oldest.begin_message().is_none(),
            "an evicted seat takes no message"
        );
        let _next = seat(&r, ip(5));
        assert!(
            is_evicted(&active),
            "next: the idle one, never the one committing"
        );
        assert!(!is_evicted(&busy) && !is_evicted(&newcomer));
        assert_eq!(stats.snapshot().closed(CloseReason::Evicted), 2);
        assert_eq!(stats.snapshot().messages_in_flight, 1);
    }

    #[tokio::test]
    async fn when_every_seat_is_committing_the_newcomer_waits_for_an_answer() {
        let (r, _) = roster(1, 10);
        let only = seat(&r, ip(1));
        let committing = only.begin_message().unwrap();
        assert!(matches!(r.try_seat(ip(2)), Attempt::Busy));
        let waiting = tokio::spawn({
            let r = r.clone();
            async move { r.seat(ip(2)).await.map(|_| ()) }
        });
        drop(committing);
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert!(is_evicted(&only));
        drop(only);
        r.drained().await;
    }

    #[tokio::test]
    async fn eviction_wakes_the_evicted_connection() {
        let (r, _) = roster(1, 10);
        let first = seat(&r, ip(1));
        let _second = seat(&r, ip(2));
        first.evicted().await;
        first.evicted().await; // still signalled for a later waiter
    }
}
