//! MLLP framing: `0x0B <message> 0x1C 0x0D`, read from a byte stream that arrives in pieces.
//!
//! [`Framer`] owns the receive buffer. The connection appends what it read
//! ([`Framer::read_space`]) and then calls [`Framer::next_frame`] until it answers `None`
//! ("incomplete": a normal outcome, read more). Each call first does a cheap check (a scan for
//! the end byte, resumed where the previous scan stopped, so a large message arriving in many
//! reads is scanned once) and only then copies a complete frame out.
//!
//! Tolerated sender quirks, each counted in [`FrameQuirks`]:
//! - bytes outside a frame (before `0x0B`, e.g. a stray `\r\n` between frames): skipped;
//! - `0x1C` not followed by `0x0D`: the frame still ends at `0x1C` (waiting for a `0x0D` that
//!   never comes would deadlock a sender that waits for its ACK);
//! - a `0x0B` inside a frame: the sender restarted; the unfinished frame is abandoned (it was not
//!   acknowledged, so the sender still owns it).
//!
//! Invariants: bytes before `pos` are consumed; while `in_frame`, `buf[pos..]` is the content of
//! the current frame and `buf[pos..pos + scanned]` holds no `0x0B`/`0x1C`; the buffered content
//! never exceeds `max` plus one read: beyond that the frame is discarded up to its end and reported
//! as [`Frame::Oversize`] (keeping its first bytes, so the ACK can still name MSH-10).

/// Start of block.
pub const SB: u8 = 0x0B;
/// End of block.
pub const EB: u8 = 0x1C;
/// Carriage return (the byte after `EB`, and the HL7 segment terminator).
pub const CR: u8 = 0x0D;

/// How many leading bytes of an oversize frame are kept (enough for any sane MSH segment).
pub const OVERSIZE_HEAD_BYTES: usize = 4096;

/// Bytes appended per read.
const READ_CHUNK: usize = 64 * 1024;

/// One framing outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The bytes between `0x0B` and `0x1C`, exactly as received.
    Message(Vec<u8>),
    /// A frame longer than the limit, discarded; `head` is its beginning, `size` its length.
    Oversize { head: Vec<u8>, size: u64 },
}

/// Counts of tolerated framing quirks (since the framer was made).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameQuirks {
    /// Bytes skipped outside any frame.
    pub outside_bytes: u64,
    /// Frames whose `0x1C` was not followed by `0x0D`.
    pub missing_end_cr: u64,
    /// Frames abandoned because a new `0x0B` started before their `0x1C`.
    pub abandoned_frames: u64,
}

/// The receive buffer and framing state of one connection. See the module docs.
pub struct Framer {
    buf: Vec<u8>,
    pos: usize,
    in_frame: bool,
    scanned: usize,
    expect_cr: bool,
    discarding: Option<(Vec<u8>, u64)>,
    max: usize,
    quirks: FrameQuirks,
}

impl Framer {
    /// A framer that refuses frames longer than `max_message_bytes`.
    pub fn new(max_message_bytes: usize) -> Self {
        Framer {
            buf: Vec::with_capacity(8 * 1024),
            pos: 0,
            in_frame: false,
            scanned: 0,
            expect_cr: false,
            discarding: None,
            max: max_message_bytes,
            quirks: FrameQuirks::default(),
        }
    }

    /// The buffer to read into (append only); compacts consumed bytes and reserves room first.
    pub fn read_space(&mut self) -> &mut Vec<u8> {
        if self.pos > 0 && (self.pos == self.buf.len() || self.pos >= self.buf.len() / 2) {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(READ_CHUNK);
        &mut self.buf
    }

    #[cfg(test)]
    /// Appends bytes (tests and callers that already hold a slice).
    pub fn push(&mut self, bytes: &[u8]) {
        self.read_space().extend_from_slice(bytes);
    }

    /// Quirks counted so far.
    pub fn quirks(&self) -> FrameQuirks {
        self.quirks
    }

    /// Whether part of a frame is buffered (bytes received but not yet a whole message).
    pub fn mid_frame(&self) -> bool {
        self.in_frame || self.discarding.is_some()
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let len = self.buf.len();
            if let Some((head, size)) = self.discarding.as_mut() {
                let rest = &self.buf[self.pos..];
                return match rest.iter().position(|&b| b == EB) {
                    Some(i) => {
                        *size += i as u64;
                        let frame = Frame::Oversize {
                            head: std::mem::take(head),
                            size: *size,
                        };
                        self.discarding = None;
                        self.pos += i + 1;
                        self.expect_cr = true;
                        Some(frame)
                    }
                    None => {
                        *size += rest.len() as u64;
                        self.pos = len;
                        None
                    }
                };
            }
            if !self.in_frame {
                if self.pos == len {
                    return None;
                }
                if self.expect_cr {
                    self.expect_cr = false;
                    if self.buf[self.pos] == CR {
                        self.pos += 1;
                        continue;
                    }
                    self.quirks.missing_end_cr += 1;
                }
                match self.buf[self.pos..].iter().position(|&b| b == SB) {
                    Some(i) => {
                        self.quirks.outside_bytes += i as u64;
                        self.pos += i + 1;
                        self.in_frame = true;
                        self.scanned = 0;
                    }
                    None => {
                        self.quirks.outside_bytes += (len - self.pos) as u64;
                        self.pos = len;
                        return None;
                    }
                }
                continue;
            }
            // Cheap check: resume the scan where it stopped.
            let from = self.pos + self.scanned;
            match self.buf[from..].iter().position(|&b| b == EB || b == SB) {
                Some(i) if self.buf[from + i] == EB => {
                    let end = from + i;
                    let content = self.buf[self.pos..end].to_vec();
                    self.pos = end + 1;
                    self.in_frame = false;
                    self.expect_cr = true;
                    if content.len() > self.max {
                        let head = content[..OVERSIZE_HEAD_BYTES.min(content.len())].to_vec();
                        return Some(Frame::Oversize {
                            head,
                            size: content.len() as u64,
                        });
                    }
                    return Some(Frame::Message(content));
                }
                Some(i) => {
                    self.quirks.abandoned_frames += 1;
                    self.pos = from + i + 1;
                    self.scanned = 0;
                }
                None => {
                    self.scanned = len - self.pos;
                    if self.scanned > self.max {
                        let head = self.buf
                            [self.pos..self.pos + OVERSIZE_HEAD_BYTES.min(self.scanned)]
                            .to_vec();
                        self.discarding = Some((head, self.scanned as u64));
                        self.pos = len;
                        self.in_frame = false;
                    }
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(msg: &[u8]) -> Vec<u8> {
        let mut v = vec![SB];
        v.extend_from_slice(msg);
        v.extend_from_slice(&[EB, CR]);
        v
    }

    fn drain(f: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| f.next_frame()).collect()
    }

    #[test]
    fn split_reads_and_many_frames_per_read() {
        let stream: Vec<u8> = [framed(b"MSH|a\r"), framed(b"MSH|b\r"), framed(b"MSH|c\r")].concat();
        // Every possible split point, byte by byte included.
        for cut in 0..stream.len() {
            let mut f = Framer::new(1024);
            f.push(&stream[..cut]);
            let mut got = drain(&mut f);
            f.push(&stream[cut..]);
            got.extend(drain(&mut f));
            let want: Vec<Frame> = [b"MSH|a\r", b"MSH|b\r", b"MSH|c\r"]
                .iter()
                .map(|m| Frame::Message(m.to_vec()))
                .collect();
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(f.quirks(), FrameQuirks::default());
            assert!(!f.mid_frame());
        }
        let mut f = Framer::new(1024);
        for b in &stream {
            f.push(&[*b]);
            drain(&mut f);
        }
        assert_eq!(f.quirks(), FrameQuirks::default());
    }

    #[test]
    fn incomplete_is_none_and_keeps_state() {
        let mut f = Framer::new(1024);
        f.push(&[SB]);
        f.push(b"MSH|x");
        assert_eq!(f.next_frame(), None);
        assert!(f.mid_frame());
        f.push(&[EB]);
        assert_eq!(f.next_frame(), Some(Frame::Message(b"MSH|x".to_vec())));
        f.push(&[CR]);
        assert_eq!(f.next_frame(), None);
        assert_eq!(f.quirks(), FrameQuirks::default());
    }

    #[test]
    fn quirks_are_tolerated_and_counted() {
        let mut f = Framer::new(1024);
        // Garbage before, \r\n between frames, a missing CR after EB, a restarted frame.
        let mut s = b"xx".to_vec();
        s.extend(framed(b"MSH|1\nPID|\n"));
        s.extend(b"\r\n");
        s.extend([SB]);
        s.extend(b"MSH|2");
        s.push(EB);
        s.extend([SB]);
        s.extend(b"MSH|trunc");
        s.extend(framed(b"MSH|3"));
        f.push(&s);
        let got = drain(&mut f);
        assert_eq!(
            got,
            vec![
                Frame::Message(b"MSH|1\nPID|\n".to_vec()),
                Frame::Message(b"MSH|2".to_vec()),
                Frame::Message(b"MSH|3".to_vec()),
            ]
        );
        assert_eq!(
            f.quirks(),
            FrameQuirks {
                outside_bytes: 4,
                missing_end_cr: 1,
                abandoned_frames: 1
            }
        );
    }

    #[test]
    fn oversize_frames_are_discarded_to_their_end_and_the_stream_goes_on() {
        let big = vec![b'A'; 5000];
        let mut msg = b"MSH|^~\\&|S|F|R|G|||ADT^A01|ID1|P|2.5\r".to_vec();
        msg.extend(&big);
        for chunk in [7usize, 100, 10_000] {
            let mut f = Framer::new(1000);
            let stream = [framed(&msg), framed(b"MSH|ok")].concat();
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                f.push(c);
                got.extend(drain(&mut f));
                assert!(f.buf.len() - f.pos <= 1000 + chunk + 1, "buffer bounded");
            }
            assert_eq!(got.len(), 2, "chunk {chunk}");
            match &got[0] {
                Frame::Oversize { head, size } => {
                    assert_eq!(*size, msg.len() as u64);
                    assert!(head.starts_with(b"MSH|^~\\&|S|F"));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(got[1], Frame::Message(b"MSH|ok".to_vec()));
        }
    }

    proptest! {
        #[test]
        fn any_bytes_in_any_chunks_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 1usize..50) {
            let mut f = Framer::new(100);
            for c in data.chunks(cut) {
                f.push(c);
                while let Some(fr) = f.next_frame() {
                    if let Frame::Message(m) = fr {
                        prop_assert!(m.len() <= 100);
                        prop_assert!(!m.contains(&SB) && !m.contains(&EB));
                    }
                }
            }
        }
    }
}
