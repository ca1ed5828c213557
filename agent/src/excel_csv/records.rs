//! Decoded CSV text to records: fields separated by `,`, optionally enclosed in `"` with `""`
//! for a quote, line breaks inside quotes kept (as LF), CRLF or LF line ends, blank lines
//! skipped. Each record carries the physical line it starts on, so every complaint names a line.

use super::{text, CsvError, TextEncoding};

/// One CSV record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Physical line number of the record's first character.
    pub line: usize,
    /// The fields, unquoted.
    pub fields: Vec<String>,
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
    let (text, enc) = text::decode(bytes)?;
    Ok((parse(&text)?, enc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::excel_csv::format;

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
}
