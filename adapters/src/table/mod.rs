//! Declarative table adapters: a CSV, TSV or fixed-width export described in TOML
//! ([`TableSpec`]) becomes canonical [`Record`]s with no code (issue 14).
//!
//! Each row is one record of the spec's kind. Records of different patients may share a file;
//! lab results with the same `report_id` (and patient) form one report. A row that cannot be
//! read (a date not in the declared format, a yes/no cell that is neither, a missing patient ID)
//! is a fatal problem naming its line and column, so the file is quarantined whole and nothing
//! of it is sent half: fix the spec or the export, then `tsunagi replay` it.

mod records;
mod rows;
mod spec;
mod values;

#[cfg(test)]
mod tests;

pub use rows::{cp932_char, split, Row, SplitError, CP932_PAIRS};
pub use spec::{
    ColumnKey, FieldSpec, FieldType, Layout, RecordKind, SpecError, TableSpec, TextEncoding,
};
pub use values::DateFormat;

use std::collections::BTreeMap;

use crate::{Adapter, Parsed, Problem, RawInput};

/// At most this many row problems are listed for one input; the rest are counted.
const MAX_ROW_PROBLEMS: usize = 20;

/// The adapter a [`TableSpec`] describes.
#[derive(Debug, Clone)]
pub struct TableAdapter {
    spec: TableSpec,
    /// Each date field's format, read once from the spec (not once per cell).
    dates: BTreeMap<String, DateFormat>,
}

impl TableAdapter {
    /// An adapter for a spec without mistakes; else every mistake.
    pub fn new(spec: TableSpec) -> Result<Self, Vec<SpecError>> {
        let errors = spec.check();
        if !errors.is_empty() {
            return Err(errors);
        }
        // `check` refused every format that does not parse.
        let dates = spec
            .fields
            .iter()
            .filter_map(|(name, f)| {
                Some((name.clone(), DateFormat::parse(f.date.as_deref()?).ok()?))
            })
            .collect();
        Ok(TableAdapter { spec, dates })
    }

    /// The spec.
    pub fn spec(&self) -> &TableSpec {
        &self.spec
    }

    /// The rows of the input after `skip_rows`, header included; or why it cannot be cut.
    fn rows(&self, bytes: &[u8], parsed: &mut Parsed) -> Option<Vec<Row>> {
        let (body, first_line) = rows::skip_lines(bytes, self.spec.skip_rows);
        let sep = match self.spec.layout {
            Layout::Csv => ',',
            Layout::Tsv => '\t',
            Layout::Fixed => {
                let spans: Vec<(usize, usize)> = self
                    .spec
                    .fields
                    .values()
                    .map(|f| (f.start.unwrap_or(1), f.width.unwrap_or(0)))
                    .collect();
                let (rows, replaced) = rows::fixed(body, &spans, self.spec.encoding, first_line);
                self.note_replacements(&rows, replaced, parsed);
                return Some(rows);
            }
        };
        let (text, replaced) = rows::decode(body, self.spec.encoding);
        match rows::split(&text, sep, first_line) {
            Ok(rows) => {
                self.note_replacements(&rows, replaced, parsed);
                Some(rows)
            }
            Err(SplitError::UnclosedQuote(line)) => {
                parsed.problems.push(Problem::fatal(
                    format!("line {line}"),
                    "a quoted cell is not closed",
                    "「\"」で始まる項目が閉じられていません",
                ));
                None
            }
            Err(SplitError::TextAfterQuote(line)) => {
                parsed.problems.push(Problem::fatal(
                    format!("line {line}"),
                    "unexpected text after a closing quote",
                    "閉じ「\"」の後に不正な文字があります",
                ));
                None
            }
        }
    }

    fn note_replacements(&self, rows: &[Row], replaced: usize, parsed: &mut Parsed) {
        parsed.decode_replacements += replaced;
        if replaced == 0 {
            return;
        }
        let enc = format!("{:?}", self.spec.encoding);
        for row in rows
            .iter()
            .filter(|r| r.cells.iter().any(|c| c.contains('\u{FFFD}')))
        {
            parsed.problems.push(Problem::warning(
                format!("line {}", row.line),
                format!("characters that are not valid {enc} were replaced"),
                format!("{enc} として読めない文字を置き換えました"),
            ));
        }
    }

    /// For each spec field (in the spec's order) the cell index it reads, from the header.
    fn columns(&self, header: Option<&Row>, parsed: &mut Parsed) -> Option<Vec<usize>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (i, (name, f)) in self.spec.fields.iter().enumerate() {
            let index = match (&f.column, header) {
                (None, _) => Some(i),
                (Some(ColumnKey::Index(n)), _) => Some(n - 1),
                (Some(ColumnKey::Name(col)), Some(h)) => h
                    .cells
                    .iter()
                    .position(|c| c.trim().trim_start_matches('\u{FEFF}') == col),
                (Some(ColumnKey::Name(_)), None) => None,
            };
            match index {
                Some(ix) => out.push(ix),
                None => {
                    ok = false;
                    let col = match &f.column {
                        Some(ColumnKey::Name(c)) => c.as_str(),
                        _ => "",
                    };
                    parsed.problems.push(Problem::fatal(
                        format!("header, column {col:?} ({name})"),
                        "the header has no such column",
                        "見出し行にこの列がありません",
                    ));
                }
            }
        }
        ok.then_some(out)
    }
}

impl Adapter for TableAdapter {
    fn name(&self) -> &'static str {
        "table"
    }

    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        let mut parsed = Parsed::default();
        let Some(rows) = self.rows(input.bytes, &mut parsed) else {
            return parsed;
        };
        let uses_header = self.spec.header && self.spec.layout != Layout::Fixed;
        let (header, data) = match rows.split_first() {
            Some((h, rest)) if uses_header => (Some(h), rest),
            _ => (None, &rows[..]),
        };
        let Some(columns) = self.columns(header, &mut parsed) else {
            return parsed;
        };
        let mut bad_rows = 0usize;
        for row in data {
            match records::read(&self.spec, &self.dates, &columns, row) {
                Ok(record) => parsed.records.push(record),
                Err(problems) => {
                    bad_rows += 1;
                    if bad_rows <= MAX_ROW_PROBLEMS {
                        parsed.problems.extend(problems);
                    }
                }
            }
        }
        if bad_rows > MAX_ROW_PROBLEMS {
            let more = bad_rows - MAX_ROW_PROBLEMS;
            parsed.problems.push(Problem::fatal(
                "rows",
                format!("{more} more rows could not be read"),
                format!("ほかに {more} 行を読めませんでした"),
            ));
        }
        parsed
    }
}

impl From<SpecError> for Problem {
    fn from(e: SpecError) -> Self {
        Problem::fatal(format!("fields.{}", e.field), e.en, e.ja)
    }
}
