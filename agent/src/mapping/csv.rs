//! CSV as hospital IT staff meet it in Excel: UTF-8 with or without BOM, or CP932 (Shift_JIS as
//! Windows writes it); quoted fields with doubled quotes and embedded line breaks; CRLF or LF.
//!
//! Reading detects the encoding (BOM → UTF-8; valid UTF-8 → UTF-8; otherwise CP932) and yields
//! records with the physical line each one starts on, so every complaint can name a line.
//! Writing produces UTF-8 with a BOM (Excel then opens it correctly) or CP932, CRLF line ends,
//! quoting only the fields that need it.

/// The byte encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8; written with a BOM.
    #[default]
    Utf8,
    /// CP932 (Windows-31J, Shift_JIS as Excel on Japanese Windows writes it).
    Cp932,
}

/// Why a file could not be read or written as CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Neither valid UTF-8 nor valid CP932.
    #[error("the file is neither UTF-8 nor CP932 (Shift_JIS) text / ファイルが UTF-8 でも CP932(Shift_JIS) でもありません")]
    UnknownEncoding,
    /// A quoted field was still open at the end of the file.
    #[error("line {line}: a quoted field is not closed / {line} 行目: 「\"」で始まる項目が閉じられていません")]
    UnclosedQuote {
        /// Where the field started.
        line: usize,
    },
    /// Something other than a comma or line end right after a closing quote.
    #[error("line {line}: unexpected character after a closing quote / {line} 行目: 閉じ「\"」の後に不正な文字があります")]
    TextAfterQuote {
        /// The line of the offending character.
        line: usize,
    },
    /// A character that CP932 cannot hold.
    #[error("{what}: {ch:?} cannot be written in CP932; use --encoding utf8 / {what}: 文字「{ch}」は CP932 で保存できません。--encoding utf8 を使ってください")]
    NotCp932 {
        /// Which row/column.
        what: String,
        /// The character.
        ch: char,
    },
}

/// One CSV record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Physical line number of the record's first character.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
}

/// Decodes bytes as UTF-8 (BOM optional) or, failing that, CP932.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), CsvError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), TextEncoding::Utf8))
            .map_err(|_| CsvError::UnknownEncoding);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), TextEncoding::Utf8));
    }
    let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(CsvError::UnknownEncoding);
    }
    Ok((text.into_owned(), TextEncoding::Cp932))
}

/// Splits decoded text into records. Blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut record_line = 1usize;
    let mut in_quotes = false;
    let mut quote_line = 0usize;
    // The field was quoted and its closing quote has been seen.
    let mut closed = false;
    let mut chars = text.chars().peekable();
    let mut end_record = |fields: &mut Vec<String>, field: &mut String, start: usize| {
        fields.push(std::mem::take(field));
        let f = std::mem::take(fields);
        if !(f.len() == 1 && f[0].is_empty()) {
            records.push(Record {
                line: start,
                fields: f,
            });
        }
    };
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    in_quotes = false;
                    closed = true;
                }
                // A line break inside a cell is kept as LF, whatever the file's line ends.
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                closed = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => {
                end_record(&mut fields, &mut field, record_line);
                closed = false;
                line += 1;
                record_line = line;
            }
            _ if closed => return Err(CsvError::TextAfterQuote { line }),
            '"' if field.is_empty() => {
                in_quotes = true;
                quote_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(CsvError::UnclosedQuote { line: quote_line });
    }
    if !field.is_empty() || !fields.is_empty() {
        end_record(&mut fields, &mut field, record_line);
    }
    Ok(records)
}

/// Reads a file's bytes into records.
pub fn read(bytes: &[u8]) -> Result<(Vec<Record>, TextEncoding), CsvError> {
    let (text, enc) = decode(bytes)?;
    Ok((parse(&text)?, enc))
}

/// Writes records as CSV text with CRLF line ends (no BOM; see [`encode`]).
pub fn format<S: AsRef<str>>(rows: &[Vec<S>]) -> String {
    let mut out = String::new();
    for row in rows {
        for (i, f) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let f = f.as_ref();
            if f.contains([',', '"', '\r', '\n']) || f.starts_with(' ') || f.ends_with(' ') {
                out.push('"');
                out.push_str(&f.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(f);
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// Encodes CSV text: UTF-8 gets a BOM; CP932 refuses characters it cannot hold, naming the line.
pub fn encode(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, CsvError> {
    match encoding {
        TextEncoding::Utf8 => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            out.extend_from_slice(text.as_bytes());
            Ok(out)
        }
        TextEncoding::Cp932 => {
            let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(text);
            if !had_errors {
                return Ok(bytes.into_owned());
            }
            for (n, line) in text.split("\r\n").enumerate() {
                for ch in line.chars() {
                    let mut buf = [0u8; 4];
                    let (_, _, bad) = encoding_rs::SHIFT_JIS.encode(ch.encode_utf8(&mut buf));
                    if bad {
                        return Err(CsvError::NotCp932 {
                            what: format!("line {}", n + 1),
                            ch,
                        });
                    }
                }
            }
            Err(CsvError::NotCp932 {
                what: "text".into(),
                ch: '?',
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_excel_quoting_crlf_and_embedded_newlines() {
        let text = "a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\n1,,3\r\n";
        let r = parse(text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["x, y", "he said \"hi\"", "two\nlines"]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 5);
        assert_eq!(r[2].fields, vec!["1", "", "3"]);
    }

    #[test]
    fn last_record_without_newline_and_lf_only() {
        let r = parse("a,b\nc,d").unwrap();
        assert_eq!(r[1].fields, vec!["c", "d"]);
    }

    #[test]
    fn refuses_unclosed_quote_and_text_after_quote() {
        assert_eq!(
            parse("a\n\"open,b\n").unwrap_err(),
            CsvError::UnclosedQuote { line: 2 }
        );
        assert_eq!(
            parse("a\n\"x\"y,b\n").unwrap_err(),
            CsvError::TextAfterQuote { line: 2 }
        );
    }

    #[test]
    fn format_then_parse_round_trips() {
        let rows = vec![
            vec!["胃炎".to_string(), "a,b".into(), "q\"q".into()],
            vec![" lead".into(), "l1\r\nl2".into(), "".into()],
        ];
        let text = format(&rows);
        let back = parse(&text).unwrap();
        assert_eq!(back[0].fields, rows[0]);
        assert_eq!(back[1].fields, vec![" lead", "l1\nl2", ""]);
    }

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
        // CP932-only characters (NEC/IBM extensions) survive: ①, ㈱, Ⅱ.
        let ext = "①㈱Ⅱ髙";
        let e = encode(ext, TextEncoding::Cp932).unwrap();
        assert_eq!(decode(&e).unwrap().0, ext);
    }

    #[test]
    fn cp932_refuses_what_it_cannot_hold() {
        let err = encode("ok\r\n😀\r\n", TextEncoding::Cp932).unwrap_err();
        assert!(matches!(err, CsvError::NotCp932 { ch: '😀', .. }), "{err}");
        assert!(err.to_string().contains("line 2"));
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(decode(&[0xFF, 0xFF, 0xFF]), Err(CsvError::UnknownEncoding));
    }
}
