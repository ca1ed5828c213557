//! Reading the plugin's output one line at a time, never holding more than a cap in memory.
//!
//! A line longer than the cap is read to its end and thrown away; what is kept is its size and
//! its first bytes (so the same too-long line, emitted again after a restart, is recognised).

use std::io::{self, BufRead};

/// Bytes of a too-long line kept to recognise it.
const HEAD_BYTES: usize = 4096;

/// One line read (without its `\n`, or `\r\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line within the cap.
    Text(Vec<u8>),
    /// A line over the cap: its full size and its first bytes.
    TooLong {
        /// Bytes in the line.
        size: u64,
        /// Its first bytes.
        head: Vec<u8>,
    },
}

/// Reads the next line; `None` at the end of the stream. A last line without `\n` counts.
pub fn read_line(r: &mut impl BufRead, cap: usize) -> io::Result<Option<Line>> {
    let mut buf = Vec::new();
    let mut size: u64 = 0;
    let mut over = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if size == 0 && !over {
                return Ok(None);
            }
            break;
        }
        let (chunk, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (&avail[..i], Some(i + 1)),
            None => (avail, None),
        };
        size += chunk.len() as u64;
        if !over && buf.len() + chunk.len() > cap {
            over = true;
            buf.truncate(HEAD_BYTES);
        }
        let room = if over {
            HEAD_BYTES.saturating_sub(buf.len())
        } else {
            chunk.len()
        };
        buf.extend_from_slice(&chunk[..room.min(chunk.len())]);
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            break;
        }
    }
    if over {
        return Ok(Some(Line::TooLong { size, head: buf }));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(Line::Text(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_within_and_over_the_cap() {
        let mut input = b"short\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend(b"\nnext\nlast");
        let mut r = io::BufReader::with_capacity(64, &input[..]);
        assert_eq!(
            read_line(&mut r, 100).unwrap(),
            Some(Line::Text(b"short".to_vec()))
        );
        match read_line(&mut r, 100).unwrap() {
            Some(Line::TooLong { size, head }) => {
                assert_eq!(size, 10_000);
                assert_eq!(head.len(), HEAD_BYTES);
                assert!(head.iter().all(|&b| b == b'x'));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_line(&mut r, 100).unwrap(),
            Some(Line::Text(b"next".to_vec()))
        );
        assert_eq!(
            read_line(&mut r, 100).unwrap(),
            Some(Line::Text(b"last".to_vec()))
        );
        assert_eq!(read_line(&mut r, 100).unwrap(), None);
    }

    #[test]
    fn an_empty_line_is_a_line() {
        let mut r = io::BufReader::new(&b"\n"[..]);
        assert_eq!(read_line(&mut r, 10).unwrap(), Some(Line::Text(Vec::new())));
        assert_eq!(read_line(&mut r, 10).unwrap(), None);
    }
}
