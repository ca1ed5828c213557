//! The HL7 v2 parser: decoded text → [`Message`] of [`Segment`]s, plus problems. It never fails.
//!
//! Every part of the input is accounted for: a segment, a counted [`Quirks`] entry (LF or
//! CRLF endings, blank lines, MLLP framing bytes) or a warning for a line that is not a
//! segment (kept, see [`Message::unparsed`]). Lowercase segment ids are upper-cased and
//! reported; 4-character ids are kept and reported.
//!
//! Zero-copy: segments and fields borrow the text; only a segment's field table (one `Vec`
//! of slices) is allocated. Values are split into repetitions, components and subcomponents
//! lazily, when asked, and unescaped only by `.text()`.
//!
//! Numbering is HL7's: `seg.field(3)` is PID-3, `field.component(1)` the first component.
//! In MSH, MSH-1 is the field separator itself and MSH-2 the encoding characters; both are
//! returned literally, never split.

use std::borrow::Cow;

use super::escape::Delimiters;
pub use super::value::{Component, Field, Repetition, Subcomponent};
use crate::Problem;

/// Things in the input that are not HL7 as written, counted rather than reported one by one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Segments ended by LF alone (SS-MIX2 files often do this).
    pub lf_endings: usize,
    /// Segments ended by CR LF.
    pub crlf_endings: usize,
    /// Empty or whitespace-only lines, skipped.
    pub blank_lines: usize,
    /// MLLP framing bytes (0x0B, 0x1C) found around the text, skipped.
    pub framing_bytes: usize,
    /// Lowercase segment ids, upper-cased.
    pub lowercase_ids: usize,
    /// Segment ids of 4 characters, kept.
    pub long_ids: usize,
    /// Lines that are not segments, kept in [`Message::unparsed`].
    pub unparsed_lines: usize,
}

/// One parsed message (or a batch: a later MSH is kept as a segment).
#[derive(Debug)]
pub struct Message<'a> {
    delimiters: Delimiters,
    segments: Vec<Segment<'a>>,
    unparsed: Vec<(usize, &'a str)>,
    /// Counted irregularities.
    pub quirks: Quirks,
}

/// One segment: its id and its fields.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    id: Cow<'a, str>,
    line: usize,
    /// fields[0] is the id as written; fields[n] is field n.
    fields: Vec<&'a str>,
    delimiters: Delimiters,
    is_msh: bool,
}

impl<'a> Message<'a> {
    /// The delimiters read from MSH-1/MSH-2 (defaults when absent or invalid).
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// All segments in input order.
    pub fn all_segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// The segments with this id, in order.
    pub fn segments<'m>(&'m self, id: &'m str) -> impl Iterator<Item = &'m Segment<'a>> + 'm {
        self.segments.iter().filter(move |s| s.id == id)
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// Lines that were not segments: (line number, raw text). Patient data: do not log.
    pub fn unparsed(&self) -> &[(usize, &'a str)] {
        &self.unparsed
    }
}

impl<'a> Segment<'a> {
    /// The segment id, upper-case (`PID`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The 1-based line the segment was on.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The number of the last field present.
    pub fn field_count(&self) -> usize {
        self.fields.len().saturating_sub(1)
    }

    /// Field `n` (HL7 numbering). Absent fields are empty.
    pub fn field(&self, n: usize) -> Field<'a> {
        let raw = if n == 0 {
            ""
        } else {
            self.fields.get(n).copied().unwrap_or("")
        };
        Field {
            raw,
            d: self.delimiters,
            literal: self.is_msh && n <= 2,
        }
    }

    /// `PID-3 (line 4)`: where a problem is, never what.
    pub fn locate(&self, n: usize) -> String {
        format!("{}-{} (line {})", self.id, n, self.line)
    }
}

/// Reads MSH-1/MSH-2 from a line starting with `MSH`.
fn delimiters_of(msh: &str, problems: &mut Vec<Problem>) -> Delimiters {
    let b = msh.as_bytes();
    let defaults = Delimiters::default();
    let Some(&field) = b.get(3) else {
        problems.push(Problem::warning(
            "MSH-1",
            "no field separator; the standard delimiters are assumed",
            "フィールド区切り文字がないため、標準の区切り文字とみなしました",
        ));
        return defaults;
    };
    let enc: Vec<u8> = b[4..]
        .iter()
        .take_while(|&&c| c != field)
        .copied()
        .collect();
    let pick = |i: usize, default: u8| enc.get(i).copied().unwrap_or(default);
    let d = Delimiters {
        field,
        component: pick(0, defaults.component),
        repetition: pick(1, defaults.repetition),
        escape: pick(2, defaults.escape),
        subcomponent: pick(3, defaults.subcomponent),
    };
    if !d.are_valid() {
        problems.push(Problem::warning(
            "MSH-2",
            "the delimiters are not usable (not distinct punctuation); the standard ones are assumed",
            "区切り文字が使えない（重複または記号以外）ため、標準の区切り文字とみなしました",
        ));
        return defaults;
    }
    if enc.len() < 4 {
        problems.push(Problem::warning(
            "MSH-2",
            "fewer than four encoding characters; the missing ones are assumed standard",
            "符号化文字が4文字未満のため、不足分を標準とみなしました",
        ));
    }
    d
}

/// What a line's first characters say it is.
enum LineKind<'a> {
    Segment(Cow<'a, str>),
    NotASegment,
}

fn classify<'a>(
    line: &'a str,
    field: u8,
    quirks: &mut Quirks,
    problems: &mut Vec<Problem>,
    line_no: usize,
) -> LineKind<'a> {
    let end = line.bytes().position(|b| b == field).unwrap_or(line.len());
    let id_raw = line.get(..end).unwrap_or("");
    let b = id_raw.as_bytes();
    let shape_ok = (b.len() == 3 || b.len() == 4)
        && b[0].is_ascii_alphabetic()
        && b.iter().all(u8::is_ascii_alphanumeric);
    if !shape_ok {
        return LineKind::NotASegment;
    }
    let mut id = Cow::Borrowed(id_raw);
    if b.iter().any(u8::is_ascii_lowercase) {
        quirks.lowercase_ids += 1;
        problems.push(Problem::warning(
            format!("line {line_no}"),
            "lowercase segment id; read as upper case",
            "セグメントIDが小文字のため、大文字として読みました",
        ));
        id = Cow::Owned(id_raw.to_ascii_uppercase());
    }
    if b.len() == 4 {
        quirks.long_ids += 1;
        problems.push(Problem::warning(
            format!("line {line_no}"),
            "segment id of four characters; kept but not interpreted",
            "セグメントIDが4文字です。保持しますが解釈しません",
        ));
    }
    LineKind::Segment(id)
}

/// Splits on the ASCII byte `sep` (a byte loop; faster than `str::split` on short lines).
fn split_into<'a>(line: &'a str, sep: u8, out: &mut Vec<&'a str>) {
    let mut start = 0;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == sep {
            out.push(line.get(start..i).unwrap_or(""));
            start = i + 1;
        }
    }
    out.push(line.get(start..).unwrap_or(""));
}

/// Parses decoded text. Never fails; see the module docs.
pub fn parse(text: &str) -> (Message<'_>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut quirks = Quirks::default();
    let mut body = text;
    while let Some(rest) = body.strip_prefix(['\u{0b}', '\u{feff}']) {
        quirks.framing_bytes += 1;
        body = rest;
    }
    while let Some(rest) = body.strip_suffix('\u{1c}') {
        quirks.framing_bytes += 1;
        body = rest;
    }
    let msh_at = if body.starts_with("MSH") {
        Some(0)
    } else {
        body.match_indices("MSH")
            .map(|(i, _)| i)
            .find(|&i| matches!(body.as_bytes()[i - 1], b'\r' | b'\n'))
    };
    let delimiters = match msh_at {
        Some(i) => {
            let line_end = body[i..].find(['\r', '\n']).map_or(body.len(), |e| i + e);
            delimiters_of(&body[i..line_end], &mut problems)
        }
        None => {
            problems.push(Problem::fatal(
                "MSH",
                "no MSH segment: this is not an HL7 v2 message",
                "MSHセグメントがありません。HL7 v2メッセージではありません",
            ));
            Delimiters::default()
        }
    };
    let mut msg = Message {
        delimiters,
        segments: Vec::with_capacity(16),
        unparsed: Vec::new(),
        quirks,
    };
    let bytes = body.as_bytes();
    let (mut pos, mut line_no, mut seen_msh) = (0usize, 0usize, false);
    while pos < bytes.len() {
        line_no += 1;
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .map_or(bytes.len(), |e| pos + e);
        let line = &body[pos..end];
        pos = match (bytes.get(end), bytes.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => {
                msg.quirks.crlf_endings += 1;
                end + 2
            }
            (Some(b'\n'), _) => {
                msg.quirks.lf_endings += 1;
                end + 1
            }
            _ => end + 1,
        };
        if line.trim().is_empty() {
            msg.quirks.blank_lines += 1;
            continue;
        }
        let id = match classify(
            line,
            delimiters.field,
            &mut msg.quirks,
            &mut problems,
            line_no,
        ) {
            LineKind::Segment(id) => id,
            LineKind::NotASegment => {
                msg.quirks.unparsed_lines += 1;
                msg.unparsed.push((line_no, line));
                problems.push(Problem::warning(
                    format!("line {line_no}"),
                    format!("not an HL7 segment ({} bytes); kept unread", line.len()),
                    format!(
                        "HL7セグメントではありません（{}バイト）。読まずに保持しました",
                        line.len()
                    ),
                ));
                continue;
            }
        };
        let is_msh = id == "MSH";
        if !seen_msh && !is_msh && msh_at.is_some() {
            problems.push(Problem::warning(
                format!("line {line_no}"),
                "segment before MSH",
                "MSHより前にセグメントがあります",
            ));
        }
        seen_msh |= is_msh;
        let mut fields = Vec::with_capacity(24);
        if is_msh && line.len() >= 4 && line.is_char_boundary(4) {
            fields.push(&line[..3]);
            fields.push(&line[3..4]);
            split_into(&line[4..], delimiters.field, &mut fields);
        } else {
            split_into(line, delimiters.field, &mut fields);
        }
        msg.segments.push(Segment {
            id,
            line: line_no,
            fields,
            delimiters,
            is_msh,
        });
    }
    (msg, problems)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
