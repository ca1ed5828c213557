//! The layout of each master kind, and the row parsers that turn its records into entries.
//!
//! | kind | file | header | code |
//! |---|---|---|---|
//! | `medis-disease` | MEDIS `nmainNNN.txt`, CSV, CP932 | none, columns [`medis::MEDIS_DISEASE_COLUMNS`] | 病名管理番号 |
//! | `medis-modifier` | MEDIS 修飾語テーブル (`mdfyNNN.txt`?), CSV | none, columns [`medis::MEDIS_MODIFIER_COLUMNS`]; or our CSV `modifier_key,exchange_code,name,kana,position` | 修飾語管理番号 |
//! | `medis-modifier-exchange` | CSV | `exchange_code,name` | 修飾語交換用コード |
//! | `receipt-disease` | CSV | `receipt_code,name` | 7 digits |
//! | `receipt-modifier` | CSV | `receipt_code,name` | 4 digits |
//! | `jlac10` | our CSV (the full JLAC10 table is not public) | `code,name[,specimen_code,unit]` | JLAC10 |
//! | `clins-lab` | the IG's four JLAC10/JLAC11 CoreLabo/InfectionLabo CodeSystem JSON files (a directory, or one file) | — | leaf concept codes |
//! | `yj` | MHLW 薬価基準収載品目リスト CSV | by name: `薬価基準収載医薬品コード`, `品名`, `成分名`, `規格` | 12 characters |
//! | `jfagy` | J-FAGY CSV (UTF-8 or Shift_JIS) | by name: `JFAGYCODE`, `JPTERM`, `JPKANA`, `ENTERM`, `LEVEL`, `ENDDATE` | J-FAGY |
//! | `hot` | our CSV (the HOT layout is not public) | `hot13,hot9,hot7,yj,receipt_code,name` | HOT13 |
//!
//! Encoding is detected for every CSV kind (UTF-8 with or without BOM, else CP932).
//!
//! The MEDIS column positions are **unverified**: a public DDL (reference §2) and a third-party
//! product page listing MEDIS's tables agree on them, and the HL7 OIDs MEDIS publishes
//! (病名管理番号 `…4.101.2`, 病名交換用コード `…4.101.6`, 修飾語管理番号 `…4.201.2`,
//! 修飾語交換用コード `…4.201.5`) match the positions of those fields; MEDIS's own layout
//! document was not checked. The MEDIS 修飾語 file name is a guess. Only the code column of a
//! row is format-checked strictly; other code columns (ICD-10, exchange, receipt) are stored as
//! they are, so an unexpected value there does not refuse a whole release.
//!
//! J-FAGY: category rows (3-character metacodes such as `00F`) are skipped, and so are rows
//! whose `ENDDATE` is before the day of the load (JST).

pub(crate) mod clins;
pub mod medis;

use medis::{medis_disease, medis_disease_row, medis_modifier, medis_modifier_row};

use super::format::{self, CodeFormat};
use super::parse::{Problem, Rows};
use super::text::Record;
use super::{ExtraKey, MasterEntry, MasterKind};

/// A row problem: the line and what is wrong.
pub(crate) type RowError = (usize, Problem);

/// Parses the records of a CSV kind (every kind but `clins-lab`).
pub(crate) fn parse_records(kind: MasterKind, records: &[Record]) -> Result<Rows, RowError> {
    match kind {
        MasterKind::MedisDisease => {
            headerless(records, medis_disease::MIN_COLUMNS, medis_disease_row)
        }
        MasterKind::MedisModifier => match records.first() {
            Some(r) if field(r, 0) == "modifier_key" => with_header(
                records,
                &["modifier_key", "exchange_code", "name", "kana", "position"],
                &[],
                modifier_csv_row,
            ),
            _ => headerless(records, medis_modifier::MIN_COLUMNS, medis_modifier_row),
        },
        MasterKind::MedisModifierExchange => {
            with_header(records, &["exchange_code", "name"], &[], |r, c| {
                simple_row(r, c, "exchange_code", CodeFormat::MedisExchange)
            })
        }
        MasterKind::ReceiptDisease => {
            with_header(records, &["receipt_code", "name"], &[], |r, c| {
                simple_row(r, c, "receipt_code", CodeFormat::ReceiptDisease)
            })
        }
        MasterKind::ReceiptModifier => {
            with_header(records, &["receipt_code", "name"], &[], |r, c| {
                simple_row(r, c, "receipt_code", CodeFormat::ReceiptModifier)
            })
        }
        MasterKind::Jlac10 => with_header(
            records,
            &["code", "name"],
            &["specimen_code", "unit"],
            jlac10_row,
        ),
        MasterKind::Yj => with_header(
            records,
            &["薬価基準収載医薬品コード", "品名"],
            &["成分名", "規格"],
            yj_row,
        ),
        MasterKind::Jfagy => {
            let today = chrono::Utc::now()
                .with_timezone(&tsunagi_clins::time::jst())
                .format("%Y%m%d")
                .to_string();
            with_header(
                records,
                &["JFAGYCODE", "JPTERM"],
                &["JPKANA", "ENTERM", "LEVEL", "ENDDATE"],
                |r, c| jfagy_row(r, c, &today),
            )
        }
        MasterKind::Hot => with_header(
            records,
            &["hot13", "hot9", "hot7", "yj", "receipt_code", "name"],
            &[],
            hot_row,
        ),
        // Read from JSON by `clins::read`; never routed here.
        MasterKind::ClinsLab => Ok(Rows::default()),
    }
}

/// Header positions: `cols[i]` is where the i-th wanted column (required, then optional) is.
pub(crate) struct Cols(Vec<Option<usize>>);

impl Cols {
    fn at(&self, i: usize) -> Option<usize> {
        self.0.get(i).copied().flatten()
    }
}

type RowFn<'a> = dyn Fn(&Record, &Cols) -> Result<Option<MasterEntry>, Problem> + 'a;

fn headerless(
    records: &[Record],
    min: usize,
    row: fn(&Record) -> Result<Option<MasterEntry>, Problem>,
) -> Result<Rows, RowError> {
    let mut rows = Rows::default();
    for r in records {
        if r.fields.len() < min {
            return Err((
                r.line,
                Problem::Columns {
                    found: r.fields.len(),
                    need: min,
                },
            ));
        }
        push(&mut rows, r, row(r))?;
    }
    Ok(rows)
}

fn with_header(
    records: &[Record],
    required: &[&'static str],
    optional: &[&'static str],
    row: impl Fn(&Record, &Cols) -> Result<Option<MasterEntry>, Problem>,
) -> Result<Rows, RowError> {
    let row: &RowFn<'_> = &row;
    let Some((header, body)) = records.split_first() else {
        return Ok(Rows::default());
    };
    let find = |name: &str| header.fields.iter().position(|h| h.trim() == name);
    let mut cols = Vec::new();
    for name in required {
        match find(name) {
            Some(i) => cols.push(Some(i)),
            None => {
                return Err((
                    header.line,
                    Problem::Header {
                        expected: header_names(required),
                    },
                ))
            }
        }
    }
    cols.extend(optional.iter().map(|n| find(n)));
    let cols = Cols(cols);
    let need = header.fields.len();
    let mut rows = Rows::default();
    for r in body {
        if r.fields.len() < need {
            return Err((
                r.line,
                Problem::Columns {
                    found: r.fields.len(),
                    need,
                },
            ));
        }
        push(&mut rows, r, row(r, &cols))?;
    }
    Ok(rows)
}

/// The required-columns text of a header error (static: the few layouts are known).
fn header_names(required: &[&'static str]) -> &'static str {
    match required.first().copied() {
        Some("modifier_key") => "modifier_key,exchange_code,name,kana,position",
        Some("exchange_code") => "exchange_code,name",
        Some("receipt_code") => "receipt_code,name",
        Some("code") => "code,name",
        Some("薬価基準収載医薬品コード") => "薬価基準収載医薬品コード,品名",
        Some("JFAGYCODE") => "JFAGYCODE,JPTERM",
        Some("hot13") => "hot13,hot9,hot7,yj,receipt_code,name",
        _ => "(see the documentation)",
    }
}

fn push(
    rows: &mut Rows,
    r: &Record,
    parsed: Result<Option<MasterEntry>, Problem>,
) -> Result<(), RowError> {
    match parsed {
        Ok(Some(e)) => rows.entries.push((r.line, e)),
        Ok(None) => rows.skipped += 1,
        Err(p) => return Err((r.line, p)),
    }
    Ok(())
}

pub(super) fn field(r: &Record, i: usize) -> &str {
    r.fields.get(i).map_or("", |f| f.trim())
}

fn col<'r>(r: &'r Record, cols: &Cols, i: usize) -> &'r str {
    cols.at(i).map_or("", |c| field(r, c))
}

pub(super) fn opt(s: &str) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into())
}

pub(super) fn code(s: &str, column: &'static str, f: CodeFormat) -> Result<Box<str>, Problem> {
    format::check(f, s).map_err(|error| Problem::Code { column, error })?;
    Ok(s.into())
}

pub(super) fn required(s: &str, column: &'static str) -> Result<Box<str>, Problem> {
    opt(s).ok_or(Problem::EmptyField { column })
}

pub(super) fn entry(
    code: Box<str>,
    display: Box<str>,
    kana: Option<Box<str>>,
    extra: Vec<(ExtraKey, Option<Box<str>>)>,
) -> Option<MasterEntry> {
    Some(MasterEntry {
        code,
        display,
        kana,
        extra: extra
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect(),
    })
}

fn modifier_csv_row(r: &Record, c: &Cols) -> Result<Option<MasterEntry>, Problem> {
    let position = col(r, c, 4);
    if !matches!(position, "prefix" | "postfix" | "") {
        return Err(Problem::Value {
            column: "position",
            allowed: "prefix, postfix or empty",
        });
    }
    let exchange = col(r, c, 1);
    if !exchange.is_empty() {
        code(exchange, "exchange_code", CodeFormat::MedisExchange)?;
    }
    Ok(entry(
        code(col(r, c, 0), "modifier_key", CodeFormat::MedisModifierKey)?,
        required(col(r, c, 2), "name")?,
        opt(col(r, c, 3)),
        vec![
            (ExtraKey::ExchangeCode, opt(exchange)),
            (ExtraKey::Position, opt(position)),
        ],
    ))
}

fn simple_row(
    r: &Record,
    c: &Cols,
    column: &'static str,
    f: CodeFormat,
) -> Result<Option<MasterEntry>, Problem> {
    Ok(entry(
        code(col(r, c, 0), column, f)?,
        required(col(r, c, 1), "name")?,
        None,
        vec![],
    ))
}

fn jlac10_row(r: &Record, c: &Cols) -> Result<Option<MasterEntry>, Problem> {
    Ok(entry(
        code(col(r, c, 0), "code", CodeFormat::Jlac10)?,
        required(col(r, c, 1), "name")?,
        None,
        vec![
            (ExtraKey::Specimen, opt(col(r, c, 2))),
            (ExtraKey::Unit, opt(col(r, c, 3))),
        ],
    ))
}

fn yj_row(r: &Record, c: &Cols) -> Result<Option<MasterEntry>, Problem> {
    Ok(entry(
        code(col(r, c, 0), "薬価基準収載医薬品コード", CodeFormat::Yj)?,
        required(col(r, c, 1), "品名")?,
        None,
        vec![
            (ExtraKey::Ingredient, opt(col(r, c, 2))),
            (ExtraKey::Strength, opt(col(r, c, 3))),
        ],
    ))
}

fn jfagy_row(r: &Record, c: &Cols, today: &str) -> Result<Option<MasterEntry>, Problem> {
    let raw = col(r, c, 0);
    // Category rows (`00F`, `00N`) carry only a metacode: not codes to record.
    if raw.len() == 3 {
        return Ok(None);
    }
    let end = col(r, c, 5);
    if end.len() == 8 && end.bytes().all(|b| b.is_ascii_digit()) && end < today {
        return Ok(None);
    }
    Ok(entry(
        code(raw, "JFAGYCODE", CodeFormat::Jfagy)?,
        required(col(r, c, 1), "JPTERM")?,
        opt(col(r, c, 2)),
        vec![
            (ExtraKey::English, opt(col(r, c, 3))),
            (ExtraKey::Level, opt(col(r, c, 4))),
        ],
    ))
}

fn hot_row(r: &Record, c: &Cols) -> Result<Option<MasterEntry>, Problem> {
    let checked =
        |i: usize, column: &'static str, f: CodeFormat| -> Result<Option<Box<str>>, Problem> {
            let s = col(r, c, i);
            if s.is_empty() {
                Ok(None)
            } else {
                code(s, column, f).map(Some)
            }
        };
    Ok(entry(
        code(col(r, c, 0), "hot13", CodeFormat::Hot13)?,
        required(col(r, c, 5), "name")?,
        None,
        vec![
            (ExtraKey::Hot9, checked(1, "hot9", CodeFormat::Hot9)?),
            (ExtraKey::Hot7, checked(2, "hot7", CodeFormat::Hot7)?),
            (ExtraKey::Yj, checked(3, "yj", CodeFormat::Yj)?),
            (
                ExtraKey::ReceiptCode,
                checked(4, "receipt_code", CodeFormat::ReceiptDrug)?,
            ),
        ],
    ))
}
