//! Bytes → text for HL7 v2: [`decode`] picks the character set from MSH-18 (or a per-source
//! override) and decodes the whole message *before* it is split into fields, because
//! ISO-2022-JP and Shift_JIS bytes can contain `|`, `^` and `\`.
//!
//! MSH-18 is found on the raw bytes: MSH is ASCII up to MSH-18 in practice, so the field
//! separator is byte 3 and the ASCII prefix of the first line is split on it.
//!
//! Labels (case, spaces, `-` and `_` ignored): `ISO IR87`, `ISO 2022-1994`, `ISO-2022-JP`
//! → [`Charset::Iso2022Jp`]; `SHIFT_JIS`, `cp932`, `Windows-31J`, `MS932`, `SJIS` →
//! [`Charset::ShiftJis`] (encoding_rs' Shift_JIS is the WHATWG one, i.e. Windows-31J);
//! `EUC-JP` → [`Charset::EucJp`]; `UNICODE UTF-8`, `UTF-8`, and the ASCII names `ISO IR6`,
//! `ASCII` → [`Charset::Utf8`]. encoding_rs knows none of the HL7 names, hence this table.
//! Without a usable label the bytes are sniffed: ESC → ISO-2022-JP, valid UTF-8 → UTF-8,
//! otherwise Shift_JIS (with a warning).
//!
//! A byte sequence that cannot be decoded becomes U+FFFD, is counted in
//! [`Decoded::replacements`] and reported as a [`Problem`] naming the segment and field
//! (`PID-5`), never dropped. encoding_rs cannot decode JIS X 0212 (`ESC $ ( D`) inside
//! ISO-2022-JP: such runs are detected before decoding and each 2-byte character becomes
//! `〓` (geta mark), counted the same way.

use std::collections::BTreeMap;

use encoding_rs::{DecoderResult, Encoding, EUC_JP, ISO_2022_JP, SHIFT_JIS, UTF_8};

use crate::Problem;

/// A character set an HL7 v2 message can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// ISO-2022-JP (ASCII + JIS X 0208), the SS-MIX2 standard (`~ISO IR87`).
    Iso2022Jp,
    /// Shift_JIS / CP932 / Windows-31J.
    ShiftJis,
    /// EUC-JP.
    EucJp,
    /// UTF-8 (also used for plain ASCII).
    Utf8,
}

/// What one MSH-18 label means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Ascii,
    Set(Charset),
}

impl Charset {
    /// The charset an MSH-18 label (or a configuration value) names, if known.
    pub fn from_label(label: &str) -> Option<Charset> {
        match label_kind(label)? {
            Label::Ascii => Some(Charset::Utf8),
            Label::Set(c) => Some(c),
        }
    }

    /// A stable name for configuration and messages.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Iso2022Jp => "ISO-2022-JP",
            Charset::ShiftJis => "Shift_JIS",
            Charset::EucJp => "EUC-JP",
            Charset::Utf8 => "UTF-8",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Iso2022Jp => ISO_2022_JP,
            Charset::ShiftJis => SHIFT_JIS,
            Charset::EucJp => EUC_JP,
            Charset::Utf8 => UTF_8,
        }
    }
}

fn label_kind(label: &str) -> Option<Label> {
    let norm: String = label
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Some(match norm.as_str() {
        "ISOIR87" | "ISOIR159" | "ISO20221994" | "ISO2022JP" | "CSISO2022JP" | "JIS" => {
            Label::Set(Charset::Iso2022Jp)
        }
        "SHIFTJIS" | "SJIS" | "CP932" | "WINDOWS31J" | "MS932" | "MSKANJI" | "CSSHIFTJIS" => {
            Label::Set(Charset::ShiftJis)
        }
        "EUCJP" | "CSEUCPKDFMTJAPANESE" => Label::Set(Charset::EucJp),
        "UNICODEUTF8" | "UTF8" | "UNICODE" => Label::Set(Charset::Utf8),
        "ISOIR6" | "ASCII" | "USASCII" => Label::Ascii,
        _ => return None,
    })
}

/// A message turned into text.
#[derive(Debug)]
pub struct Decoded {
    /// The decoded text (undecodable characters replaced by U+FFFD or `〓`).
    pub text: String,
    /// The charset used.
    pub charset: Charset,
    /// How many characters were replaced.
    pub replacements: usize,
    /// Warnings: unknown label, guessed charset, replacements per segment-field.
    pub problems: Vec<Problem>,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const JIS_X_0212: &[u8] = b"\x1b$(D";
/// Replacement for a JIS X 0212 character (geta mark, the customary "cannot show" sign).
const GETA: char = '〓';

/// Decodes one message. `forced` (a per-source setting) wins over MSH-18.
pub fn decode(bytes: &[u8], forced: Option<Charset>) -> Decoded {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut problems = Vec::new();
    let charset = match forced {
        Some(c) => c,
        None => charset_of(bytes, &mut problems),
    };
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    let mut bad = Vec::new();
    if charset == Charset::Iso2022Jp && contains(bytes, JIS_X_0212) {
        decode_iso2022jp_with_0212(bytes, &mut text, &mut bad);
    } else if charset == Charset::Utf8 {
        match std::str::from_utf8(bytes) {
            Ok(s) => text.push_str(s),
            Err(_) => decode_counting(UTF_8, bytes, &mut text, &mut bad),
        }
    } else {
        decode_counting(charset.encoding(), bytes, &mut text, &mut bad);
    }
    report_replacements(&text, &bad, charset, &mut problems);
    Decoded {
        replacements: bad.len(),
        text,
        charset,
        problems,
    }
}

/// Whether `hay` holds `needle`, which starts with ESC (0x1B): only ESC positions are compared.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find_from_esc(hay, needle).is_some()
}

fn find_from_esc(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == 0x1b) {
        let at = from + i;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Charset from MSH-18, else sniffed.
fn charset_of(bytes: &[u8], problems: &mut Vec<Problem>) -> Charset {
    let labels = msh18_labels(bytes);
    let mut chosen = None;
    let mut unknown = false;
    for label in &labels {
        match label_kind(label) {
            // A non-ASCII set wins over ISO IR6 (`ISO IR6~ISO IR87`).
            Some(Label::Set(c)) if chosen.is_none() || c != Charset::Utf8 => chosen = Some(c),
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown {
        problems.push(Problem::warning(
            "MSH-18",
            "unknown character set label; the character set was guessed",
            "文字コードの指定が不明です。文字コードを推定しました",
        ));
    }
    if let Some(c) = chosen {
        return c;
    }
    let has_label = labels.iter().any(|l| label_kind(l).is_some());
    if bytes.contains(&0x1b) {
        Charset::Iso2022Jp
    } else if has_label || std::str::from_utf8(bytes).is_ok() {
        Charset::Utf8
    } else {
        problems.push(Problem::warning(
            "MSH-18",
            "no character set given and the text is not UTF-8; read as Shift_JIS",
            "文字コードの指定がなくUTF-8でもないため、Shift_JISとして読みました",
        ));
        Charset::ShiftJis
    }
}

/// The non-empty repetitions of MSH-18, read from the ASCII prefix of the first line.
fn msh18_labels(bytes: &[u8]) -> Vec<&str> {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, 0x0b | b'\r' | b'\n' | b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let line = &bytes[start..];
    if !line.starts_with(b"MSH") || line.len() < 4 {
        return Vec::new();
    }
    let sep = line[3];
    let end = line
        .iter()
        .position(|&b| matches!(b, b'\r' | b'\n' | 0x1b) || b >= 0x80)
        .unwrap_or(line.len());
    let Ok(prefix) = std::str::from_utf8(&line[..end]) else {
        return Vec::new();
    };
    let pieces: Vec<&str> = prefix.split(sep as char).collect();
    // pieces[0] = "MSH", pieces[1] = MSH-2, pieces[n - 1] = MSH-n.
    let rep = pieces
        .get(1)
        .and_then(|p| p.as_bytes().get(1).copied())
        .unwrap_or(b'~') as char;
    match pieces.get(17) {
        Some(msh18) => msh18
            .split(rep)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

/// Decodes with `encoding`, replacing each malformed sequence by U+FFFD and remembering the
/// byte offset in `out` where it was put.
fn decode_counting(
    encoding: &'static Encoding,
    bytes: &[u8],
    out: &mut String,
    bad: &mut Vec<usize>,
) {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let need = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len() * 3);
    out.reserve(need);
    let mut rest = bytes;
    loop {
        let (result, read) = decoder.decode_to_string_without_replacement(rest, out, true);
        rest = &rest[read..];
        match result {
            DecoderResult::InputEmpty => break,
            DecoderResult::OutputFull => out.reserve(rest.len() * 3 + 16),
            DecoderResult::Malformed(_, _) => {
                bad.push(out.len());
                out.push('\u{FFFD}');
            }
        }
    }
}

/// ISO-2022-JP with JIS X 0212 runs: each run (`ESC $ ( D` up to the next byte outside
/// 0x21..=0x7E) becomes one `〓` per two bytes; the parts between are decoded normally, each
/// starting in ASCII state (the next escape sequence sets the state explicitly).
fn decode_iso2022jp_with_0212(bytes: &[u8], out: &mut String, bad: &mut Vec<usize>) {
    let mut rest = bytes;
    while let Some(at) = find_from_esc(rest, JIS_X_0212) {
        decode_counting(ISO_2022_JP, &rest[..at], out, bad);
        let run = &rest[at + JIS_X_0212.len()..];
        let len = run
            .iter()
            .position(|b| !(0x21..=0x7e).contains(b))
            .unwrap_or(run.len());
        for _ in 0..len.div_ceil(2) {
            bad.push(out.len());
            out.push(GETA);
        }
        rest = &run[len..];
    }
    decode_counting(ISO_2022_JP, rest, out, bad);
}

/// One warning per segment-field that had replacements.
fn report_replacements(text: &str, bad: &[usize], charset: Charset, problems: &mut Vec<Problem>) {
    if bad.is_empty() {
        return;
    }
    let sep = text
        .strip_prefix("MSH")
        .and_then(|t| t.chars().next())
        .filter(char::is_ascii)
        .unwrap_or('|');
    let mut per_field: BTreeMap<String, usize> = BTreeMap::new();
    for &at in bad {
        *per_field.entry(locate(text, at, sep)).or_default() += 1;
    }
    for (field, n) in per_field {
        problems.push(Problem::warning(
            field,
            format!(
                "{n} character(s) could not be decoded as {} and were replaced",
                charset.name()
            ),
            format!("{n}文字を{}として読めず、置換しました", charset.name()),
        ));
    }
}

/// `PID-5`, `MSH-3`, or `line 4` for the text offset `at`.
fn locate(text: &str, at: usize, sep: char) -> String {
    let line_start = text[..at].rfind(['\r', '\n']).map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches(['\r', '\n']).count() + 1;
    let before = &text[line_start..at];
    let id: String = before.chars().take_while(|c| *c != sep).collect();
    let valid = id.len() == 3 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid {
        return format!("line {line_no}");
    }
    let n = before.matches(sep).count();
    match (id.as_str(), n) {
        (_, 0) => id,
        ("MSH", n) => format!("MSH-{}", n + 1),
        (_, n) => format!("{id}-{n}"),
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
