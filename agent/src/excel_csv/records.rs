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

/// Splits decoded text into records. Blank lines are skipped. The splitting is the declarative
/// table adapters' (`tsunagi_adapters::table::split`), so a CSV reads the same everywhere.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    use tsunagi_adapters::table::{split, SplitError};
    match split(text, ',', 1) {
        Ok(rows) => Ok(rows
            .into_iter()
            .map(|r| Record {
                line: r.line,
                fields: r.cells,
            })
            .collect()),
        Err(SplitError::UnclosedQuote(line)) => Err(CsvError::UnclosedQuote { line }),
        Err(SplitError::TextAfterQuote(line)) => Err(CsvError::TextAfterQuote { line }),
    }
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
