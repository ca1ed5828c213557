//! Bytes ↔ text, one way for every CSV the agent touches.
//!
//! Decoding: a UTF-8 BOM means UTF-8; otherwise valid UTF-8 is UTF-8; otherwise the bytes are
//! CP932, decoded line by line so that an undecodable byte is reported with its line (0x0A is
//! never a Shift_JIS trail byte). `encoding_rs` decodes Shift_JIS by the WHATWG table, which
//! differs from CP932 (what Windows, Excel and the masters' UTF-8 editions use) in a few
//! characters; those come out as CP932 has them ([`cp932`]), so a name typed on Windows
//! matches the same name read from a master whatever the file's encoding.
//!
//! Encoding: UTF-8 gets a BOM. CP932 takes both characters of each such pair to the same byte
//! (〜 U+301C and ～ U+FF5E are both 0x8160); [`encode`] refuses a character CP932 lacks and names
//! its line, [`encode_lossy`] writes `?` for it.

use encoding_rs::{EncoderResult, SHIFT_JIS};

// Where the WHATWG table and CP932 differ: the pairs the declarative table adapters decode by.
use tsunagi_adapters::table::{cp932_char as cp932, CP932_PAIRS};

use super::{CsvError, TextEncoding};

/// The other character of a pair, to try when the encoder lacks one.
fn twin(c: char) -> Option<char> {
    CP932_PAIRS.iter().find_map(|&(a, b)| match c {
        _ if c == a => Some(b),
        _ if c == b => Some(a),
        _ => None,
    })
}

/// Bytes that are neither UTF-8 nor CP932.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecodable {
    /// The 1-based line of the first byte that decodes in neither.
    pub line: usize,
}

impl From<Undecodable> for CsvError {
    fn from(e: Undecodable) -> Self {
        CsvError::UnknownEncoding { line: e.line }
    }
}

/// Decodes bytes (see the module doc for the rule).
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), Undecodable> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_string(), TextEncoding::Utf8)),
            Err(e) => Err(Undecodable {
                line: line_of(rest, e.valid_up_to()),
            }),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), TextEncoding::Utf8));
    }
    let mut text = String::with_capacity(bytes.len() * 3 / 2);
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let s = SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(line)
            .ok_or(Undecodable { line: i + 1 })?;
        text.extend(s.chars().map(cp932));
    }
    Ok((text, TextEncoding::Cp932))
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Encodes text: UTF-8 with a BOM, or CP932 refusing what it cannot hold (naming the line).
pub fn encode(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, CsvError> {
    match encoding {
        TextEncoding::Utf8 => Ok(with_bom(text)),
        TextEncoding::Cp932 => to_cp932(text, |ch, out| {
            let line = out.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(CsvError::NotCp932 {
                what: format!("line {line}"),
                ch,
            })
        }),
    }
}

/// Encodes text: UTF-8 with a BOM, or CP932 with `?` for what it cannot hold.
pub fn encode_lossy(text: &str, encoding: TextEncoding) -> Vec<u8> {
    match encoding {
        TextEncoding::Utf8 => with_bom(text),
        TextEncoding::Cp932 => match to_cp932(text, |_, out| {
            out.push(b'?');
            Ok::<(), std::convert::Infallible>(())
        }) {
            Ok(bytes) => bytes,
            Err(never) => match never {},
        },
    }
}

fn with_bom(text: &str) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

/// CP932 bytes of `text`; a character CP932 lacks (after trying its twin) goes to `missing`,
/// which gets the bytes written so far.
fn to_cp932<E>(
    text: &str,
    mut missing: impl FnMut(char, &mut Vec<u8>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut rest = text;
    let mut buf = vec![0u8; text.len() * 2 + 16];
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buf, true);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return Ok(out),
            EncoderResult::Unmappable(ch) => match twin(ch).and_then(single) {
                Some(bytes) => out.extend_from_slice(&bytes),
                None => missing(ch, &mut out)?,
            },
            // Two bytes per UTF-8 byte always fit; should it not, grow and go on.
            EncoderResult::OutputFull => {
                if read == 0 && written == 0 {
                    buf.resize(buf.len() * 2, 0);
                }
            }
        }
    }
}

/// CP932 bytes of one character, if it has them.
fn single(ch: char) -> Option<Vec<u8>> {
    let mut s = [0u8; 4];
    let (bytes, _, bad) = SHIFT_JIS.encode(ch.encode_utf8(&mut s));
    (!bad).then(|| bytes.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_bom_utf8_and_cp932() {
        let text = "区分,名称\r\n病名,胃炎\r\n";
        let utf8 = encode(text, TextEncoding::Utf8).unwrap();
        assert!(utf8.starts_with(b"\xEF\xBB\xBF"));
        assert_eq!(
            decode(&utf8).unwrap(),
            (text.to_string(), TextEncoding::Utf8)
        );
        assert_eq!(
            decode(text.as_bytes()).unwrap(),
            (text.to_string(), TextEncoding::Utf8)
        );
        let sjis = encode(text, TextEncoding::Cp932).unwrap();
        assert_ne!(sjis, text.as_bytes());
        assert_eq!(
            decode(&sjis).unwrap(),
            (text.to_string(), TextEncoding::Cp932)
        );
        // CP932-only characters (NEC/IBM extensions) survive: ①, ㈱, Ⅱ, 髙.
        let ext = "①㈱Ⅱ髙";
        let e = encode(ext, TextEncoding::Cp932).unwrap();
        assert_eq!(decode(&e).unwrap().0, ext);
    }

    #[test]
    fn wave_dash_is_cp932s_fullwidth_tilde_both_ways() {
        // 0x8160 reads as ～ U+FF5E (Windows, the masters' UTF-8 editions), not 〜 U+301C.
        let (text, enc) = decode(b"\x81\x60\x81\x7C\x88\xdd\n").unwrap();
        assert_eq!((text.as_str(), enc), ("～－胃\n", TextEncoding::Cp932));
        // Either tilde is written as 0x8160, and reads back as ～.
        for tilde in ["\u{FF5E}", "\u{301C}"] {
            assert_eq!(encode(tilde, TextEncoding::Cp932).unwrap(), [0x81, 0x60]);
            assert_eq!(encode_lossy(tilde, TextEncoding::Cp932), [0x81, 0x60]);
        }
        let round = encode("1〜3日", TextEncoding::Cp932).unwrap();
        assert_eq!(decode(&round).unwrap().0, "1～3日");
        // Every pair lands on one byte sequence and decodes to CP932's character.
        for (whatwg, windows) in CP932_PAIRS {
            let a = encode(&whatwg.to_string(), TextEncoding::Cp932).unwrap();
            let b = encode(&windows.to_string(), TextEncoding::Cp932).unwrap();
            assert_eq!(a, b, "{whatwg} / {windows}");
            assert_eq!(decode(&a).unwrap().0, windows.to_string());
        }
    }

    #[test]
    fn cp932_refuses_what_it_cannot_hold_or_replaces_it() {
        let err = encode("ok\r\n😀\r\n", TextEncoding::Cp932).unwrap_err();
        assert!(matches!(err, CsvError::NotCp932 { ch: '😀', .. }), "{err}");
        assert!(err.to_string().contains("line 2"));
        // 検 = 0x8C9F, 査 = 0x8DB8 in CP932; ① = 0x8740 (an NEC extension CP932 has).
        assert_eq!(
            encode_lossy("検査,①\u{1F600}x", TextEncoding::Cp932),
            [0x8C, 0x9F, 0x8D, 0xB8, b',', 0x87, 0x40, b'?', b'x']
        );
    }

    #[test]
    fn undecodable_bytes_name_their_line() {
        assert_eq!(decode(&[0xFF, 0xFF, 0xFF]), Err(Undecodable { line: 1 }));
        // A lone lead byte at the end of line 2.
        assert_eq!(decode(b"ok\n\x88\xdd\x88\n"), Err(Undecodable { line: 2 }));
        assert_eq!(
            decode(b"\xEF\xBB\xBFok\nok\n\xff\n"),
            Err(Undecodable { line: 3 })
        );
    }
}
