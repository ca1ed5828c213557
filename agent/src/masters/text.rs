//! Bytes of a master file to records: encoding detection and a strict CSV splitter.
//!
//! Encoding: [`crate::excel_csv::decode`], as for every CSV: a UTF-8 BOM means UTF-8; otherwise
//! valid UTF-8 is UTF-8; otherwise the file is read as Shift_JIS in Microsoft's CP932 flavour
//! (the masters are made on Windows), and an undecodable byte is reported with its line.
//!
//! CSV: one record per line (`\n` or `\r\n`), fields separated by `,`, optionally enclosed in
//! `"` with `""` for a quote: each line is split by the shared table reader
//! (`tsunagi_adapters::table::split`, as `excel_csv` is). A quoted field cannot span lines (no
//! master needs it), and a bare CR inside a line is malformed. Blank lines are skipped. A quote left open, or text after a closing quote, is a malformed line; on the
//! last line of a file that does not end in a newline it is reported as truncation.

use super::parse::Problem;
use crate::excel_csv::{self, TextEncoding};

/// A decoded file.
pub(crate) struct Decoded {
    /// The text.
    pub text: String,
    /// `UTF-8` or `Shift_JIS`.
    pub encoding: &'static str,
}

/// Why bytes could not be decoded: the 1-based line of the first bad byte.
pub(crate) struct Undecodable(pub usize);

/// Decodes a master file the way every CSV is decoded ([`crate::excel_csv::text`]).
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, Undecodable> {
    let (text, encoding) = excel_csv::decode(bytes).map_err(|e| Undecodable(e.line))?;
    let encoding = match encoding {
        TextEncoding::Utf8 => "UTF-8",
        TextEncoding::Cp932 => "Shift_JIS",
    };
    Ok(Decoded { text, encoding })
}

/// One CSV record.
#[derive(Debug)]
pub(crate) struct Record {
    /// 1-based line number.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
    /// This is the file's last record and no newline follows it.
    pub unterminated: bool,
}

/// A line that is not CSV: its number, what is wrong, and whether it is an unterminated last
/// line (then the caller reports truncation).
#[derive(Debug)]
pub(crate) struct BadLine {
    pub line: usize,
    pub problem: Problem,
    pub unterminated: bool,
}

/// Splits decoded text into records.
pub(crate) fn records(text: &str) -> Result<Vec<Record>, BadLine> {
    let ends_with_newline = text.ends_with('\n');
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len() - 1;
    let mut out = Vec::with_capacity(lines.len());
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let unterminated = i == last && !ends_with_newline;
        let fields = split(line, i + 1).map_err(|problem| BadLine {
            line: i + 1,
            problem,
            unterminated,
        })?;
        out.push(Record {
            line: i + 1,
            fields,
            unterminated,
        });
    }
    Ok(out)
}

/// Splits one line into fields with the CSV reader every table uses
/// ([`tsunagi_adapters::table::split`]), so quoting reads the same as in mapping tables and the
/// table adapters. The line is not blank and holds no `\n`; a bare CR would end a row there, so
/// it is a malformed line here, as a quote left open is (a quoted field cannot span lines).
fn split(line: &str, number: usize) -> Result<Vec<String>, Problem> {
    use tsunagi_adapters::table::SplitError;
    let mut rows = tsunagi_adapters::table::split(line, ',', number)
        .map_err(|e| match e {
            SplitError::UnclosedQuote(_) => Problem::UnclosedQuote,
            SplitError::TextAfterQuote(_) => Problem::TextAfterQuote,
        })?
        .into_iter();
    match (rows.next(), rows.next()) {
        (_, Some(_)) => Err(Problem::BareCarriageReturn),
        (Some(row), None) => Ok(row.cells),
        // The shared reader drops a row that is one empty cell: here the line is `""`.
        (None, None) => Ok(vec![String::new()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn detects_encodings() {
        let d = decode("a,胃炎\n".as_bytes()).ok().unwrap();
        assert_eq!((d.encoding, d.text.as_str()), ("UTF-8", "a,胃炎\n"));
        let d = decode(b"\xEF\xBB\xBFa,b\n").ok().unwrap();
        assert_eq!(d.text, "a,b\n");
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("胃炎,ｱ\r\n");
        let d = decode(&sjis).ok().unwrap();
        assert_eq!((d.encoding, d.text.as_str()), ("Shift_JIS", "胃炎,ｱ\r\n"));
        // CP932's 〜 (0x8160) and － (0x817C) come out as Windows and the UTF-8 editions have them.
        let d = decode(b"\x81\x60\x81\x7C\x88\xdd\n").ok().unwrap();
        assert_eq!(d.text, "～－胃\n");
    }

    #[test]
    fn undecodable_bytes_name_their_line() {
        // A lone lead byte at the end of line 2.
        let e = decode(b"ok\n\x88\xdd\x88\n").err().unwrap();
        assert_eq!(e.0, 2);
        let e = decode(b"\xEF\xBB\xBFok\nok\n\xff\n").err().unwrap();
        assert_eq!(e.0, 3);
    }

    #[test]
    fn splits_quoted_fields() {
        let r = records("\"a\",\"b,\"\"c\"\"\",,d\r\n\n\"x\"\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].fields, ["a", "b,\"c\"", "", "d"]);
        assert_eq!((r[1].line, r[1].unterminated), (3, false));
        let r = records("a,b\nc").unwrap();
        assert!(r[1].unterminated);
    }

    #[test]
    fn open_quotes_are_bad_lines() {
        let e = records("a,b\n\"c,d\n").unwrap_err();
        assert_eq!((e.line, e.unterminated), (2, false));
        let e = records("a,b\n\"c,d").unwrap_err();
        assert!(e.unterminated);
        let e = records("\"a\"b,c\n").unwrap_err();
        assert!(matches!(e.problem, Problem::TextAfterQuote));
        let e = records("a,b\rc\n").unwrap_err();
        assert!(matches!(e.problem, Problem::BareCarriageReturn));
        assert_eq!(records("\"\"\n").unwrap()[0].fields, [""]);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(d) = decode(&bytes) {
                let _ = records(&d.text);
            }
        }

        /// On one non-blank line, the masters' records and the shared CSV reader
        /// (`excel_csv::records::parse`) agree: the same fields, or both refuse the line.
        #[test]
        fn a_line_reads_as_the_shared_csv_reader_reads_it(line in "[ab \",]{1,12}") {
            prop_assume!(!line.trim().is_empty());
            let text = format!("{line}\r\n");
            match (records(&text), crate::excel_csv::records::parse(&text)) {
                (Ok(ours), Ok(shared)) => {
                    let shared = shared.first().map_or(vec![String::new()], |r| r.fields.clone());
                    prop_assert_eq!(&ours[0].fields, &shared);
                }
                (Err(_), Err(_)) => {}
                (ours, shared) => prop_assert!(false, "{line:?}: {ours:?} vs {shared:?}"),
            }
        }

        #[test]
        fn quoted_fields_round_trip(fields in proptest::collection::vec("[^\r\n]{0,8}", 1..6)) {
            let line: Vec<String> =
                fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
            let r = records(&format!("{}\n", line.join(","))).unwrap();
            prop_assert_eq!(&r[0].fields, &fields);
        }
    }
}
