use proptest::prelude::*;

use super::*;
use crate::{Adapter, LabValue, RawInput, Record, Severity};

fn spec(toml_text: &str) -> TableSpec {
    toml::from_str(toml_text).expect("spec parses")
}

fn adapter(toml_text: &str) -> TableAdapter {
    TableAdapter::new(spec(toml_text)).expect("spec is valid")
}

const BYOMEI: &str = r#"
record = "condition"
layout = "csv"
encoding = "cp932"
header = true
skip_rows = 1
[fields]
patient_id = { column = "患者ID" }
original_text = { column = "病名" }
disease_key = { column = "病名管理番号" }
icd10 = { column = "ICD10" }
onset = { column = "開始日", date = "%Y/%m/%d" }
principal = { column = "主病名", true = ["主"], false = [""] }
suspected = { column = "疑い", true = ["1"] }
local_code = { column = 8, system = "LOCAL-BYOMEI" }
"#;

fn cp932(text: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
}

fn parse(a: &TableAdapter, bytes: &[u8]) -> crate::Parsed {
    a.parse(&RawInput {
        bytes,
        origin: "export/byomei.csv",
    })
}

#[test]
fn a_cp932_byomei_csv_becomes_conditions_of_several_patients() {
    let file = cp932(
        "病名一覧 2024年4月\r\n患者ID,病名,病名管理番号,ICD10,開始日,主病名,疑い\r\n\
         P001,胃潰瘍,20060415,K25.9,2024/4/1,主,,L100\r\n\
         P002,\"高血圧症, 本態性\",,I10,2023/12/20,,1,L200\r\n",
    );
    let parsed = parse(&adapter(BYOMEI), &file);
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(parsed.records.len(), 2);
    let Record::Condition(c) = &parsed.records[0] else {
        panic!("not a condition")
    };
    assert_eq!(c.patient_id.expose(), "P001");
    assert_eq!(c.original_text.expose(), "胃潰瘍");
    assert_eq!(c.disease_key.as_deref(), Some("20060415"));
    assert_eq!(c.icd10.as_deref(), Some("K259"));
    assert_eq!(c.onset.as_deref(), Some("2024-04-01"));
    assert!(c.principal && !c.suspected);
    assert_eq!(c.local_code.as_ref().map(|l| l.code.as_str()), Some("L100"));
    let Record::Condition(c) = &parsed.records[1] else {
        panic!("not a condition")
    };
    assert_eq!(c.original_text.expose(), "高血圧症, 本態性");
    assert!(c.suspected && !c.principal && c.disease_key.is_none());
}

#[test]
fn unreadable_cells_are_fatal_and_name_line_and_column_but_never_the_value() {
    let file = cp932(
        "title\n患者ID,病名,病名管理番号,ICD10,開始日,主病名,疑い\n\
         P001,胃潰瘍,,,2024/04/31,主,,\n,感冒,,,,,,\nP003,秘密の病名,,,,はい,,\n",
    );
    let parsed = parse(&adapter(BYOMEI), &file);
    assert_eq!(parsed.records.len(), 0);
    let shown: Vec<String> = parsed.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(
        shown[0].starts_with("line 3, column \"開始日\" (onset)"),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("line 4, column \"患者ID\" (patient_id)"),
        "{shown:?}"
    );
    assert!(
        shown[2].starts_with("line 5, column \"主病名\" (principal)"),
        "{shown:?}"
    );
    assert!(parsed
        .problems
        .iter()
        .all(|p| p.severity == Severity::Fatal));
    for secret in ["P001", "2024/04/31", "秘密", "はい", "感冒"] {
        assert!(shown.iter().all(|s| !s.contains(secret)), "{secret} leaked");
    }
}

#[test]
fn a_header_without_a_named_column_is_one_fatal_problem() {
    let file = cp932("t\n患者ID,病名\nP1,胃炎\n");
    let parsed = parse(&adapter(BYOMEI), &file);
    assert!(parsed.records.is_empty());
    assert!(parsed.has_fatal());
    assert!(parsed
        .problems
        .iter()
        .any(|p| p.field.contains("病名管理番号")));
}

#[test]
fn many_bad_rows_are_listed_up_to_a_cap_then_counted() {
    let mut text = "t\n患者ID,病名,病名管理番号,ICD10,開始日,主病名,疑い\n".to_string();
    for _ in 0..25 {
        text.push_str("P1,x,,,bad,,\n");
    }
    let parsed = parse(&adapter(BYOMEI), &cp932(&text));
    assert_eq!(parsed.problems.len(), MAX_ROW_PROBLEMS + 1);
    assert!(parsed
        .problems
        .last()
        .unwrap()
        .reason_en
        .starts_with("5 more rows"));
}

#[test]
fn a_utf8_tsv_lab_export_gives_numeric_and_text_values_grouped_by_report() {
    let a = adapter(
        r#"
record = "lab-result"
layout = "tsv"
header = true
[fields]
patient_id = { column = "患者番号" }
report_id = { column = "依頼番号" }
local_code = { column = "項目コード", system = "LOCAL-LAB" }
local_name = { column = "項目名" }
jlac10 = { column = "JLAC10" }
value = { column = "結果" }
unit = { column = "単位" }
collected_at = { column = "採取日時", date = "%Y%m%d%H%M" }
"#,
    );
    let file = "患者番号\t依頼番号\t項目コード\t項目名\tJLAC10\t結果\t単位\t採取日時\n\
                P1\tR1\t0001\tAST\t3B035000002327201\t25\tU/L\t202404011015\n\
                P1\tR1\t0002\t尿蛋白\t\t(-)\t\t202404011015\n";
    let parsed = parse(&a, file.as_bytes());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let labs: Vec<_> = parsed
        .records
        .iter()
        .map(|r| match r {
            Record::LabResult(l) => l,
            _ => panic!("not a lab result"),
        })
        .collect();
    assert_eq!(labs.len(), 2);
    assert_eq!(labs[0].value, Some(LabValue::Numeric("25".into())));
    assert_eq!(labs[0].local_code.display.as_deref(), Some("AST"));
    assert_eq!(
        labs[0].collected_at.as_deref(),
        Some("2024-04-01T10:15:00+09:00")
    );
    assert!(matches!(labs[1].value, Some(LabValue::Text(_))));
    assert_eq!(labs[1].report_id.as_deref(), Some("R1"));
    assert!(labs[1].jlac10.is_none());
}

#[test]
fn a_fixed_width_patient_master_is_cut_by_byte_positions() {
    let a = adapter(
        r#"
record = "patient"
layout = "fixed"
encoding = "cp932"
[fields]
patient_id = { start = 1, width = 6 }
family_name = { start = 7, width = 8 }
gender = { start = 15, width = 1, map = { "1" = "male", "2" = "female" } }
birth_date = { start = 16, width = 8, date = "%Y%m%d" }
"#,
    );
    let line = "P00001山田    219700102\r\n";
    let parsed = parse(&a, &cp932(line));
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    let Record::Patient(p) = &parsed.records[0] else {
        panic!("not a patient")
    };
    assert_eq!(p.local_id.expose(), "P00001");
    assert_eq!(
        p.name_kanji.as_ref().map(|n| n.family.expose().as_str()),
        Some("山田")
    );
    assert_eq!(p.gender, crate::Gender::Female);
    assert_eq!(
        p.birth_date.as_ref().map(|d| d.expose().as_str()),
        Some("1970-01-02")
    );
}

#[test]
fn the_wrong_declared_encoding_shows_as_replacements_not_as_guesses() {
    let a = adapter(&BYOMEI.replace("cp932", "utf-8"));
    let file = cp932("t\n患者ID,病名,病名管理番号,ICD10,開始日,主病名,疑い\nP1,胃炎,,,,,\n");
    let parsed = parse(&a, &file);
    assert!(parsed.decode_replacements > 0);
    assert!(parsed
        .problems
        .iter()
        .any(|p| p.severity == Severity::Warning));
}

#[test]
fn spec_mistakes_are_all_listed_with_their_field() {
    let s = spec(
        r#"
record = "lab-result"
layout = "fixed"
[fields]
patient_id = { column = "ID" }
value = { start = 1, width = 3, date = "%Y" }
color = { start = 4, width = 1 }
"#,
    );
    let errors = TableAdapter::new(s).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"local_code"), "required: {fields:?}");
    assert!(
        fields.contains(&"patient_id"),
        "column in a fixed layout: {fields:?}"
    );
    assert!(fields.contains(&"color"), "unknown field: {fields:?}");
    assert_eq!(
        fields.iter().filter(|f| **f == "value").count(),
        2,
        "date on text, bad format"
    );
    assert!(errors.iter().all(|e| !e.ja.is_empty()));
}

#[test]
fn columns_by_name_need_a_header_and_numbers_start_at_one() {
    let s = spec(
        r#"
record = "patient"
layout = "csv"
[fields]
patient_id = { column = "ID" }
address = { column = 0 }
"#,
    );
    let errors = TableAdapter::new(s).unwrap_err();
    assert_eq!(errors.len(), 2, "{errors:?}");
}

proptest! {
    #[test]
    fn any_bytes_give_records_or_problems_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for text in [BYOMEI, &BYOMEI.replace("layout = \"csv\"", "layout = \"tsv\"")] {
            let parsed = parse(&adapter(text), &bytes);
            prop_assert!(parsed.records.len() <= bytes.len());
        }
    }

    #[test]
    fn any_csv_of_short_cells_reads_without_panic(rows in proptest::collection::vec(proptest::collection::vec("[ -~あ胃\"\n,]{0,6}", 0..9), 0..8)) {
        let mut text = "t\n患者ID,病名,病名管理番号,ICD10,開始日,主病名,疑い\n".to_string();
        let n = rows.len();
        for r in rows {
            text.push_str(&r.join(","));
            text.push('\n');
        }
        let parsed = parse(&adapter(&BYOMEI.replace("cp932", "utf-8")), text.as_bytes());
        prop_assert!(parsed.records.len() <= n.max(text.lines().count()));
    }
}
