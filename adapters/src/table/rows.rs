//! Bytes to rows: decoding in the declared encoding, CSV/TSV splitting with Excel's quoting,
//! fixed-width cutting by byte positions. Each row keeps the physical line it starts on, so
//! every complaint names a line.

use encoding_rs::{EUC_JP, SHIFT_JIS, UTF_8};

use super::spec::TextEncoding;

/// Where the WHATWG Shift_JIS table and CP932 differ: (WHATWG's character, CP932's character).
/// Decoding maps the first to the second, so text typed on Windows matches the masters.
pub const CP932_PAIRS: [(char, char); 6] = [
    ('\u{301C}', '\u{FF5E}'), // WAVE DASH → FULLWIDTH TILDE
    ('\u{2016}', '\u{2225}'), // DOUBLE VERTICAL LINE → PARALLEL TO
    ('\u{2212}', '\u{FF0D}'), // MINUS SIGN → FULLWIDTH HYPHEN-MINUS
    ('\u{00A2}', '\u{FFE0}'), // CENT SIGN → FULLWIDTH CENT SIGN
    ('\u{00A3}', '\u{FFE1}'), // POUND SIGN → FULLWIDTH POUND SIGN
    ('\u{00AC}', '\u{FFE2}'), // NOT SIGN → FULLWIDTH NOT SIGN
];

/// CP932's character for one `encoding_rs` decoded from Shift_JIS.
pub fn cp932_char(c: char) -> char {
    CP932_PAIRS
        .iter()
        .find(|(whatwg, _)| *whatwg == c)
        .map_or(c, |(_, windows)| *windows)
}

/// One row: its physical line (1-based) and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The line the row starts on.
    pub line: usize,
    /// The cells, unquoted.
    pub cells: Vec<String>,
}

/// Why text could not be split into rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    /// A quoted cell was still open at the end of the text; the line it started on.
    UnclosedQuote(usize),
    /// Something other than a separator or line end right after a closing quote; its line.
    TextAfterQuote(usize),
}

/// Decodes bytes in `encoding` (a UTF-8 BOM is skipped); undecodable bytes become U+FFFD and
/// are counted.
pub fn decode(bytes: &[u8], encoding: TextEncoding) -> (String, usize) {
    let (text, had_errors) = match encoding {
        TextEncoding::Utf8 => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            let (t, e) = UTF_8.decode_without_bom_handling(b);
            (t.into_owned(), e)
        }
        TextEncoding::Cp932 => {
            let (t, e) = SHIFT_JIS.decode_without_bom_handling(bytes);
            (t.chars().map(cp932_char).collect(), e)
        }
        TextEncoding::EucJp => {
            let (t, e) = EUC_JP.decode_without_bom_handling(bytes);
            (t.into_owned(), e)
        }
    };
    let replaced = if had_errors {
        text.chars().filter(|&c| c == '\u{FFFD}').count()
    } else {
        0
    };
    (text, replaced)
}

/// Splits text into rows: cells separated by `sep`, optionally enclosed in `"` with `""` for a
/// quote; line breaks inside quotes kept (as LF); CRLF or LF line ends; blank lines skipped.
/// `first_line` is the line number of the text's first line.
pub fn split(text: &str, sep: char, first_line: usize) -> Result<Vec<Row>, SplitError> {
    let mut rows = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut line = first_line;
    let mut row_line = first_line;
    let mut in_quotes = false;
    let mut quote_line = 0usize;
    // The cell was quoted and its closing quote has been seen.
    let mut closed = false;
    let mut chars = text.chars().peekable();
    let mut end_row = |cells: &mut Vec<String>, cell: &mut String, start: usize| {
        cells.push(std::mem::take(cell));
        let c = std::mem::take(cells);
        if !(c.len() == 1 && c[0].is_empty()) {
            rows.push(Row {
                line: start,
                cells: c,
            });
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => {
                    in_quotes = false;
                    closed = true;
                }
                // A line break inside a cell is kept as LF, whatever the file's line ends.
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    cell.push('\n');
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            _ if c == sep => {
                cells.push(std::mem::take(&mut cell));
                closed = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => {
                end_row(&mut cells, &mut cell, row_line);
                closed = false;
                line += 1;
                row_line = line;
            }
            _ if closed => return Err(SplitError::TextAfterQuote(line)),
            '"' if cell.is_empty() => {
                in_quotes = true;
                quote_line = line;
            }
            _ => cell.push(c),
        }
    }
    if in_quotes {
        return Err(SplitError::UnclosedQuote(quote_line));
    }
    if !cell.is_empty() || !cells.is_empty() {
        end_row(&mut cells, &mut cell, row_line);
    }
    Ok(rows)
}

/// The bytes after the first `n` lines, and the line number they start on.
pub fn skip_lines(bytes: &[u8], n: usize) -> (&[u8], usize) {
    let mut rest = bytes;
    for _ in 0..n {
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => rest = &rest[i + 1..],
            None => return (&[], n + 1),
        }
    }
    (rest, n + 1)
}

/// Cuts fixed-width lines: for each `(start, width)` (1-based byte, bytes) the decoded cell.
/// Blank lines are skipped; a line shorter than a span gives what it has (an empty cell when
/// it ends before the span starts). Returns the rows and the count of replaced characters.
pub fn fixed(
    bytes: &[u8],
    spans: &[(usize, usize)],
    encoding: TextEncoding,
    first_line: usize,
) -> (Vec<Row>, usize) {
    let mut rows = Vec::new();
    let mut replaced = 0;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| *b == b' ') {
            continue;
        }
        let cells = spans
            .iter()
            .map(|&(start, width)| {
                let from = (start - 1).min(raw.len());
                let to = (start - 1 + width).min(raw.len());
                let (text, n) = decode(&raw[from..to], encoding);
                replaced += n;
                text
            })
            .collect();
        rows.push(Row {
            line: first_line + i,
            cells,
        });
    }
    (rows, replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_excel_quoting_crlf_and_embedded_newlines() {
        let text = "a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\n1,,3\r\n";
        let r = split(text, ',', 1).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].cells, vec!["x, y", "he said \"hi\"", "two\nlines"]);
        assert_eq!((r[1].line, r[2].line), (2, 5));
        assert_eq!(r[2].cells, vec!["1", "", "3"]);
    }

    #[test]
    fn splits_tabs_and_refuses_broken_quotes_with_their_line() {
        let r = split("a\tb,c\n", '\t', 3).unwrap();
        assert_eq!(
            (r[0].line, r[0].cells.clone()),
            (3, vec!["a".into(), "b,c".into()])
        );
        assert_eq!(
            split("a\n\"open,b\n", ',', 1),
            Err(SplitError::UnclosedQuote(2))
        );
        assert_eq!(
            split("a\n\"x\"y,b\n", ',', 1),
            Err(SplitError::TextAfterQuote(2))
        );
    }

    #[test]
    fn cp932_decodes_as_windows_writes_it_and_counts_what_it_cannot() {
        // ～ (0x8160) is FULLWIDTH TILDE in CP932, not the WHATWG table's WAVE DASH.
        assert_eq!(
            decode(b"\x81\x60", TextEncoding::Cp932),
            ("\u{FF5E}".into(), 0)
        );
        assert_eq!(decode(b"\x82\xa0\xff", TextEncoding::Cp932).1, 1);
        assert_eq!(
            decode(b"\xEF\xBB\xBFa", TextEncoding::Utf8),
            ("a".into(), 0)
        );
        assert_eq!(decode(b"\xa4\xa2", TextEncoding::EucJp), ("あ".into(), 0));
    }

    #[test]
    fn fixed_width_cuts_bytes_and_names_lines() {
        // "P001" + "胃炎" in CP932 (4 bytes) + padding.
        let line = b"P001\x88\xdd\x89\x8a  \r\n\r\nP002\x88\xdd\n";
        let (rows, replaced) = fixed(line, &[(1, 4), (5, 6)], TextEncoding::Cp932, 1);
        assert_eq!(replaced, 0);
        assert_eq!(rows[0].cells, vec!["P001", "胃炎  "]);
        assert_eq!((rows[1].line, rows[1].cells[1].as_str()), (3, "胃"));
        // A span cut through a double-byte character is a replacement, not a silent guess.
        assert_eq!(
            fixed(b"P001\x88\xdd", &[(5, 1)], TextEncoding::Cp932, 1).1,
            1
        );
    }

    #[test]
    fn skip_lines_counts_the_lines_it_skipped() {
        assert_eq!(skip_lines(b"title\nnote\na,b\n", 2), (&b"a,b\n"[..], 3));
        assert_eq!(skip_lines(b"x", 3).0, b"");
    }
}
