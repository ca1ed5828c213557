//! The suggestion file: a mapping CSV (see [`super::row`]) with one row per unmapped code, the
//! top candidate pre-filled for review, and extra columns (`score`, `records`, `unit`,
//! `specimen`, `alternatives`) that `mapping import` ignores. Rows without a candidate keep the
//! standard columns empty, so import skips them until someone fills them in.

use super::row::COLUMNS;
use super::suggest::Suggestion;
use crate::excel_csv::{self as csv, CsvError, TextEncoding};
use crate::map::category::Category;

/// A mapping CSV: the top candidate pre-filled, its score and the alternatives in extra columns
/// that `mapping import` ignores.
pub fn write(suggestions: &[Suggestion], encoding: TextEncoding) -> Result<Vec<u8>, CsvError> {
    let mut header: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(
        ["score", "records", "unit", "specimen", "alternatives"]
            .iter()
            .map(|c| c.to_string()),
    );
    let mut lines = vec![header];
    for sg in suggestions {
        let u = &sg.unmapped;
        let top = sg.candidates.first();
        let alternatives: Vec<String> = sg
            .candidates
            .iter()
            .skip(1)
            .map(|c| format!("{} {} ({:.3})", c.code, c.name, c.score))
            .collect();
        lines.push(vec![
            u.category.map(Category::as_str).unwrap_or("").to_string(),
            u.source_system.clone(),
            u.local_system.clone(),
            u.local_code.clone(),
            u.local_name.clone(),
            top.map(|c| c.system.clone()).unwrap_or_default(),
            top.map(|c| c.code.clone()).unwrap_or_default(),
            top.map(|c| c.name.clone()).unwrap_or_default(),
            top.map(|c| format!("suggested, score {:.3}: review / 候補(要確認)", c.score))
                .unwrap_or_default(),
            top.map(|c| format!("{:.3}", c.score)).unwrap_or_default(),
            u.records.to_string(),
            u.unit.clone().unwrap_or_default(),
            u.specimen.clone().unwrap_or_default(),
            alternatives.join(" | "),
        ]);
    }
    csv::encode(&csv::format(&lines), encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::category::DISEASE_KEY_NUMBER;
    use crate::mapping::row::read_file;
    use crate::mapping::row::tests::{cells, runs};
    use crate::mapping::suggest::{Scored, UnmappedCode};

    #[test]
    fn suggestion_csv_imports_back_with_the_top_candidate() {
        let u = |code: &str, records| UnmappedCode {
            category: Some(Category::Disease),
            source_system: "HIS".into(),
            local_system: "99X".into(),
            local_code: code.into(),
            local_name: "胃炎, 急性".into(),
            records,
            ..Default::default()
        };
        let scored = |code: &str, score| Scored {
            system: DISEASE_KEY_NUMBER.into(),
            code: code.into(),
            name: "急性胃炎".into(),
            score,
        };
        let s = vec![
            Suggestion {
                unmapped: u("D1", 9),
                candidates: vec![scored("20064049", 0.91), scored("20054174", 0.5)],
            },
            Suggestion {
                unmapped: u("D2", 1),
                candidates: vec![],
            },
        ];
        for enc in [TextEncoding::Utf8, TextEncoding::Cp932] {
            let bytes = write(&s, enc).unwrap();
            let f = read_file(&bytes).unwrap();
            assert_eq!(f.rows.len(), 1);
            assert_eq!(f.skipped_unmapped, 1);
            let r = &f.rows[0].1;
            assert_eq!(
                (r.local_code.as_str(), r.standard_code.as_str()),
                ("D1", "20064049")
            );
            assert_eq!(r.local_name, "胃炎, 急性");
            assert!(r.note.contains("0.910"));
        }
    }

    #[test]
    fn hostile_local_names_are_guarded_and_import_back() {
        let hostile = [
            "=cmd|' /C calc'!A0",
            "@SUM(1+1)",
            "=HYPERLINK(\"http://x.example/\")",
        ];
        let s: Vec<Suggestion> = hostile
            .iter()
            .enumerate()
            .map(|(i, name)| Suggestion {
                unmapped: UnmappedCode {
                    category: Some(Category::Disease),
                    source_system: "HIS".into(),
                    local_system: "99X".into(),
                    local_code: format!("-D{i}"),
                    local_name: name.to_string(),
                    records: 1,
                    ..Default::default()
                },
                candidates: vec![Scored {
                    system: DISEASE_KEY_NUMBER.into(),
                    code: "20064049".into(),
                    name: "+急性胃炎".into(),
                    score: 0.5,
                }],
            })
            .collect();
        for enc in [TextEncoding::Utf8, TextEncoding::Cp932] {
            let bytes = write(&s, enc).unwrap();
            let all = cells(&bytes);
            assert!(all.iter().all(|c| !runs(c)), "{all:?}");
            let f = read_file(&bytes).unwrap();
            let names: Vec<&str> = f.rows.iter().map(|(_, r)| r.local_name.as_str()).collect();
            assert_eq!(names, hostile);
            assert_eq!(f.rows[0].1.local_code, "-D0");
            assert_eq!(f.rows[0].1.standard_display, "+急性胃炎");
        }
    }
}
