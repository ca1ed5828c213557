//! The mapping CSV file format: [`Row`]s (a hospital's local code → a standard code, defined in
//! `tsunagi_clins::map::row`) as hospital IT edit them in Excel.
//!
//! Columns (header required, matched by name, any order; unknown columns such as `score` from
//! `tsunagi mapping suggest` are ignored):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `category` | yes | `disease`, `lab`, `allergen`, `drug` (or 病名/検査/アレルギー/薬剤) |
//! | `source_system` | yes | the sending system (source name, e.g. `HIS123`); `*` = any source |
//! | `local_system` | no | the code system name as received (`99XYZ`); empty = received without one |
//! | `local_code` | yes | the code as received |
//! | `local_name` | no | the local name (for people; not used for matching) |
//! | `standard_system` | yes* | a standard system URI of the category |
//! | `standard_code` | yes* | the standard code, or the category's uncoded marker code |
//! | `standard_display` | no | the standard name (checked against the master by `mapping check`) |
//! | `note` | no | free text |
//!
//! *A row with both `standard_system` and `standard_code` empty is "not mapped yet" and is
//! skipped, so a half-filled suggestion file can be imported as it is being worked through.
//!
//! Every row is checked before anything is stored; a file with any bad row is refused whole.
//!
//! Cells are written with the formula guard of [`crate::excel_csv::cells`] (a local name
//! `=HYPERLINK(…)` is written `'=HYPERLINK(…)`), and the guard is taken off on reading, so an
//! exported file imports back unchanged.

use std::collections::HashMap;

use crate::excel_csv::{self as csv, CsvError, TextEncoding};
pub use tsunagi_clins::map::row::{check_standard, Row};
use tsunagi_clins::map::Category;

/// The header, in the order files are written.
pub const COLUMNS: [&str; 9] = [
    "category",
    "source_system",
    "local_system",
    "local_code",
    "local_name",
    "standard_system",
    "standard_code",
    "standard_display",
    "note",
];

/// A bad line in a mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line in the file.
    pub line: usize,
    /// English reason.
    pub en: String,
    /// Japanese reason.
    pub ja: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {} / {} 行目: {}",
            self.line, self.en, self.line, self.ja
        )
    }
}

/// Why a mapping file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not readable as CSV.
    #[error(transparent)]
    Csv(#[from] CsvError),
    /// The first line lacks required columns.
    #[error("the header lacks column(s) {0}: the first line must name the columns ({all}) / 1 行目(見出し)に列 {0} がありません", all = COLUMNS.join(","))]
    Header(String),
    /// Some rows are bad; nothing was taken.
    #[error("{} bad line(s); nothing was imported / {} 行に問題があるため取り込みませんでした:\n  {}", .0.len(), .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Lines(Vec<LineProblem>),
}

pub use crate::store::terminology::mapping::MappingFile;

/// Reads and checks a mapping file (bytes in any supported encoding).
pub fn read_file(bytes: &[u8]) -> Result<MappingFile, FileError> {
    let (records, encoding) = csv::read(bytes)?;
    let Some((header, body)) = records.split_first() else {
        return Err(FileError::Header(COLUMNS.join(",")));
    };
    let index: HashMap<String, usize> = header
        .fields
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect();
    let required = [
        "category",
        "source_system",
        "local_code",
        "standard_system",
        "standard_code",
    ];
    let missing: Vec<&str> = required
        .into_iter()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::Header(missing.join(",")));
    }
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: HashMap<(Category, String, String, String), usize> = HashMap::new();
    let mut skipped_unmapped = 0;
    for rec in body {
        let get = |col: &str| {
            index
                .get(col)
                .and_then(|&i| rec.fields.get(i))
                .map(|s| csv::unguard(s).trim().to_string())
                .unwrap_or_default()
        };
        let mut bad = |en: String, ja: String| {
            problems.push(LineProblem {
                line: rec.line,
                en,
                ja,
            })
        };
        let values: Vec<String> = COLUMNS.iter().map(|c| get(c)).collect();
        if let Some(col) = COLUMNS
            .iter()
            .zip(&values)
            .find(|(_, v)| v.chars().any(char::is_control))
            .map(|(c, _)| c)
        {
            bad(
                format!("{col} contains a line break or control character"),
                format!("{col} に改行または制御文字があります"),
            );
            continue;
        }
        let category = match values[0].parse::<Category>() {
            Ok(c) => c,
            Err(e) => {
                bad(
                    format!("category {:?} is not disease, lab, allergen or drug", e.0),
                    format!(
                        "区分「{}」は disease・lab・allergen・drug のいずれでもありません",
                        e.0
                    ),
                );
                continue;
            }
        };
        let row = Row {
            category,
            source_system: values[1].clone(),
            local_system: values[2].clone(),
            local_code: values[3].clone(),
            local_name: values[4].clone(),
            standard_system: values[5].clone(),
            standard_code: values[6].clone(),
            standard_display: values[7].clone(),
            note: values[8].clone(),
        };
        if row.source_system.is_empty() {
            bad(
                "source_system is empty (use * for every source)".into(),
                "source_system が空です(全送信元なら * )".into(),
            );
            continue;
        }
        if row.local_code.is_empty() {
            bad("local_code is empty".into(), "local_code が空です".into());
            continue;
        }
        if row.standard_system.is_empty() && row.standard_code.is_empty() {
            skipped_unmapped += 1;
            continue;
        }
        if let Err((en, ja)) = check_standard(&row) {
            bad(en, ja);
            continue;
        }
        let key = (
            row.category,
            row.source_system.clone(),
            row.local_system.clone(),
            row.local_code.clone(),
        );
        if let Some(first) = seen.insert(key, rec.line) {
            bad(
                format!("the same local code is already mapped on line {first}"),
                format!("同じローカルコードが {first} 行目にもあります"),
            );
            continue;
        }
        rows.push((rec.line, row));
    }
    if !problems.is_empty() {
        return Err(FileError::Lines(problems));
    }
    Ok(MappingFile {
        rows,
        skipped_unmapped,
        encoding,
    })
}

/// A row's cells, in [`COLUMNS`] order.
fn fields(row: &Row) -> [&str; 9] {
    [
        row.category.as_str(),
        &row.source_system,
        &row.local_system,
        &row.local_code,
        &row.local_name,
        &row.standard_system,
        &row.standard_code,
        &row.standard_display,
        &row.note,
    ]
}

/// Writes rows as a mapping file (header first, CRLF).
pub fn write_file<'a>(
    rows: impl IntoIterator<Item = &'a Row>,
    encoding: TextEncoding,
) -> Result<Vec<u8>, CsvError> {
    let mut lines: Vec<Vec<&str>> = vec![COLUMNS.to_vec()];
    lines.extend(rows.into_iter().map(|r| fields(r).to_vec()));
    csv::encode(&csv::format(&lines), encoding)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tsunagi_clins::map::category::{DISEASE_KEY_NUMBER, JLAC10};

    pub(crate) use tsunagi_clins::map::row::testing::row;

    fn sample() -> Vec<Row> {
        let mut a = row(
            Category::Disease,
            "HIS123",
            "D001",
            DISEASE_KEY_NUMBER,
            "20054174",
        );
        a.local_name = "胃炎, 急性 \"疑い\"".into();
        a.standard_display = "胃炎".into();
        a.note = "①確認済み Ⅱ型".into();
        let b = row(Category::Lab, "*", "L01", JLAC10, "3H015000002326101");
        vec![a, b]
    }

    #[test]
    fn round_trip_utf8_bom_and_cp932() {
        let rows = sample();
        for enc in [TextEncoding::Utf8, TextEncoding::Cp932] {
            let bytes = write_file(&rows, enc).unwrap();
            assert_eq!(
                bytes.starts_with(b"\xEF\xBB\xBF"),
                enc == TextEncoding::Utf8
            );
            assert!(bytes.windows(2).any(|w| w == b"\r\n"));
            let f = read_file(&bytes).unwrap();
            assert_eq!(f.encoding, enc);
            let back: Vec<Row> = f.rows.into_iter().map(|(_, r)| r).collect();
            assert_eq!(back, rows);
        }
    }

    /// Every cell of a written file, as a spreadsheet would read it.
    pub(crate) fn cells(bytes: &[u8]) -> Vec<String> {
        let (records, _) = csv::read(bytes).unwrap();
        records.into_iter().flat_map(|r| r.fields).collect()
    }

    /// Whether a spreadsheet would take the cell for a formula.
    pub(crate) fn runs(cell: &str) -> bool {
        cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
    }

    #[test]
    fn hostile_names_are_written_guarded_and_import_back_unchanged() {
        let mut a = row(
            Category::Disease,
            "-HIS",
            "=1+1",
            DISEASE_KEY_NUMBER,
            "20054174",
        );
        a.local_system = "+99X".into();
        a.local_name = "=cmd|' /C calc'!A0".into();
        a.standard_display = "=HYPERLINK(\"http://x.example/\",\"click\")".into();
        a.note = "@SUM(1+1)".into();
        let mut b = row(Category::Lab, "*", "'=L01", JLAC10, "3H015000002326101");
        b.local_name = "'quoted".into();
        let rows = vec![a, b];
        for enc in [TextEncoding::Utf8, TextEncoding::Cp932] {
            let bytes = write_file(&rows, enc).unwrap();
            let all = cells(&bytes);
            assert!(all.iter().all(|c| !runs(c)), "{all:?}");
            assert!(all.contains(&"'=cmd|' /C calc'!A0".to_string()), "{all:?}");
            let back: Vec<Row> = read_file(&bytes)
                .unwrap()
                .rows
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            assert_eq!(back, rows);
        }
    }

    #[test]
    fn a_cp932_wave_dash_reads_as_the_masters_read_it() {
        let text = format!(
            "{}\r\ndisease,HIS,99X,D1,胃炎〜疑い,{DISEASE_KEY_NUMBER},20054174,,\r\n",
            COLUMNS.join(",")
        );
        let bytes = csv::encode(&text, TextEncoding::Cp932).unwrap();
        assert!(bytes.windows(2).any(|w| w == [0x81, 0x60]));
        let f = read_file(&bytes).unwrap();
        assert_eq!(f.rows[0].1.local_name, "胃炎\u{FF5E}疑い");
        let master = crate::masters::text::decode(&bytes).ok().unwrap();
        assert!(master.text.contains("胃炎\u{FF5E}疑い"));
    }

    #[test]
    fn columns_by_name_any_order_extra_ignored_and_empty_standard_skipped() {
        let text = "score,local_code,category,source_system,standard_code,standard_system\r\n\
                    0.9,D1,病名,HIS,20054174,http://medis.or.jp/CodeSystem/master-disease-keyNumber\r\n\
                    0.1,D2,disease,HIS,,\r\n";
        let f = read_file(text.as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].0, 2);
        assert_eq!(f.rows[0].1.local_system, "");
        assert_eq!(f.skipped_unmapped, 1);
    }

    #[test]
    fn bad_rows_are_all_reported_with_line_and_reason() {
        let text = format!(
            "{}\r\n\
             disease,HIS,99X,D1,,{DISEASE_KEY_NUMBER},2005417,,\r\n\
             drug,HIS,99X,M1,,{JLAC10},3H015000002326101,,\r\n\
             food,HIS,99X,F1,,x,y,,\r\n\
             lab,,99X,L1,,{JLAC10},3H015000002326101,,\r\n\
             lab,HIS,99X,L1,,{JLAC10},3H015000002326101,,\r\n\
             lab,HIS,99X,L1,,{JLAC10},3H015000002326101,,\r\n\
             disease,HIS,99X,D9,,{DISEASE_KEY_NUMBER},99999999,,\r\n",
            COLUMNS.join(",")
        );
        let Err(FileError::Lines(p)) = read_file(text.as_bytes()) else {
            panic!("should be refused")
        };
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 7]);
        assert!(p[0].en.contains("8 characters expected") && p[0].ja.contains("8文字"));
        assert!(p[1].en.contains("not a standard system for drug"));
        assert!(p[4].en.contains("line 6"));
        let msg = FileError::Lines(p).to_string();
        assert!(msg.contains("line 2:") && msg.contains("2 行目"));
    }

    #[test]
    fn header_is_required() {
        let text = "disease,HIS,99X,D1,,x,20054174,,\r\n";
        assert!(matches!(
            read_file(text.as_bytes()),
            Err(FileError::Header(_))
        ));
        assert!(matches!(read_file(b""), Err(FileError::Header(_))));
    }
}
