use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::model::{Coded, LabResult, LabValue};
use crate::Sensitive;

fn parse(bytes: &[u8]) -> Parsed {
    CanonicalJsonAdapter.parse(&RawInput {
        bytes,
        origin: "x.json",
    })
}

fn all_kinds() -> Value {
    json!({"records": [
        {"type": "Patient", "local_id": "P1", "gender": "female", "birth_date": "1960-01-02",
         "insurance": {"insurer_number": "06139999", "symbol": "記号", "number": "1", "branch": "01"},
         "name_kanji": {"family": "見本", "given": "花子"}, "address": "東京都"},
        {"type": "Condition", "patient_id": "P1", "original_text": "胃炎", "disease_key": "90000001",
         "onset": "2025-03-01", "principal": true,
         "prefix_modifiers": [{"key_number": "27000358"}]},
        {"type": "Allergy", "patient_id": "P1", "original_text": "卵", "category": "food",
         "allergen": {"system": "J-FAGY", "code": "J9FC11310000"}},
        {"type": "LabResult", "patient_id": "P1", "report_id": "R1",
         "local_code": {"system": "LOCAL", "code": "0101", "display": "WBC"},
         "value": {"numeric": "6.50"}, "unit": "10*3/uL", "collected_at": "2025-03-01T09:30:00+09:00"},
        {"type": "Prescription", "patient_id": "P1", "drug_codes": [{"system": "YJ", "code": "1141007F3023"}],
         "dose": {"value": "1", "unit": "錠"}, "days": 7}
    ]})
}

#[test]
fn every_kind_reads_and_writes_back_the_same_json() {
    let input = all_kinds();
    let parsed = parse(input.to_string().as_bytes());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
    assert_eq!(parsed.records.len(), 5);
    let back: Vec<Value> = parsed.records.iter().map(|r| to_value(r, false)).collect();
    let again = parse(Value::Array(back.clone()).to_string().as_bytes());
    let twice: Vec<Value> = again.records.iter().map(|r| to_value(r, false)).collect();
    assert_eq!(back, twice);
    assert_eq!(
        back[3]["value"],
        json!({"numeric": "6.50"}),
        "precision kept"
    );
    assert_eq!(back[0]["gender"], "female");
}

#[test]
fn a_single_object_and_a_bare_array_are_inputs_too() {
    let one = json!({"type": "Condition", "patient_id": "P", "original_text": "x"});
    assert_eq!(parse(one.to_string().as_bytes()).records.len(), 1);
    assert_eq!(
        parse(json!([one, one]).to_string().as_bytes())
            .records
            .len(),
        2
    );
}

#[test]
fn mistakes_name_the_record_and_field_never_the_value() {
    let input = json!({"records": [
        {"type": "Condition", "patient_id": "P1", "original_text": "胃炎", "onsett": "2025"},
        {"type": "LabResult", "patient_id": "P1"},
        {"type": "Patient", "local_id": "秘密の患者", "gender": "女性"},
        {"type": "Diagnosis", "patient_id": "P1"},
        {"type": "Condition", "patient_id": ["秘密"], "original_text": "x"}
    ]});
    let parsed = parse(input.to_string().as_bytes());
    assert!(parsed.records.is_empty());
    let shown: Vec<String> = parsed.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown.len(), 5, "{shown:?}");
    assert!(
        shown[0].starts_with("$.records[0]: unknown field `onsett`"),
        "{shown:?}"
    );
    assert!(shown[1].contains("`local_code` is missing"), "{shown:?}");
    assert!(shown[3].contains("`type` must be one of"), "{shown:?}");
    for s in &shown {
        assert!(!s.contains("秘密") && !s.contains("女性"), "{s}");
    }
    assert!(parse(b"{not json").has_fatal());
}

#[test]
fn masking_hides_every_patient_value() {
    let parsed = parse(all_kinds().to_string().as_bytes());
    let shown: String = parsed
        .records
        .iter()
        .map(|r| to_value(r, true).to_string())
        .collect();
    for secret in [
        "P1",
        "見本",
        "花子",
        "1960",
        "東京都",
        "胃炎",
        "卵",
        "06139999",
        "記号",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(
        shown.contains("90000001") && shown.contains("0101"),
        "codes stay: {shown}"
    );
}

proptest! {
    #[test]
    fn lab_results_round_trip(value in "[0-9]{1,4}(\\.[0-9]{1,3})?", text in "\\PC{0,12}", numeric in any::<bool>()) {
        let lab = Record::LabResult(LabResult {
            patient_id: Sensitive::new("P".into()),
            report_id: None,
            local_code: Coded { system: "L".into(), code: "1".into(), display: None },
            jlac10: None,
            value: Some(if numeric { LabValue::Numeric(value) } else { LabValue::Text(Sensitive::new(text)) }),
            unit: None, reference_range: None, flag: None, specimen: None, collected_at: None, status: None,
        });
        let json = to_value(&lab, false);
        let parsed = parse(json.to_string().as_bytes());
        prop_assert_eq!(parsed.records.len(), 1);
        prop_assert_eq!(to_value(&parsed.records[0], false), json);
    }

    #[test]
    fn any_bytes_give_records_or_problems(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let parsed = parse(&bytes);
        prop_assert!(!parsed.records.is_empty() || parsed.has_fatal() || serde_json::from_slice::<Value>(&bytes).is_ok());
    }
}
