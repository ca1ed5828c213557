//! `process` over small in-memory masters: held items de-duplicated, items recorded, bundles
//! validated with their findings, `strict` holding on warnings.

use std::collections::BTreeMap;

use tsunagi_adapters::Record;

use super::*;
use crate::build::canonical::test_records::{condition, lab, patient};
use crate::build::{BuildSettings, HoldReason};
use crate::map::{ItemState, MappingTable, MasterSet, Policies};

fn builder() -> BundleBuilder {
    BundleBuilder::new(
        BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap(),
    )
}

fn run(records: &[Record], strict: bool, validator: &BundleValidator) -> Decision<usize> {
    let mapper = Mapper::new(
        MasterSet::empty(),
        MappingTable::new(Vec::new()),
        Policies::default(),
    );
    let origin = InputOrigin {
        source: "ehr".into(),
        ..InputOrigin::default()
    };
    let input = Input {
        records,
        origin: &origin,
        context: BuildContext {
            input_key: "k",
            received_at: chrono::DateTime::parse_from_rfc3339("2025-06-02T10:15:00+09:00").unwrap(),
        },
    };
    let settings = Settings {
        builder: &builder(),
        validator,
        strict,
    };
    let known = BTreeMap::<String, Value>::new();
    process(&input, Some(&mapper), &known, &settings, |body| {
        body["entry"].as_array().map_or(0, Vec::len)
    })
}

#[test]
fn items_of_an_unknown_patient_are_held_once_per_type_and_reason() {
    let records = [
        Record::LabResult(lab("P9", "O1", "A1", "023")),
        Record::LabResult(lab("P9", "O1", "A2", "023")),
        Record::LabResult(lab("P9", "O1", "A3", "023")),
    ];
    let d = run(&records, false, &BundleValidator::hand_written());
    assert!(d.bundles.is_empty());
    assert_eq!(d.held.len(), 1, "{:?}", d.held);
    assert_eq!(d.held[0].code, HoldReason::PatientUnknown);
}

#[test]
fn bundles_come_with_findings_facts_items_and_the_patients_to_remember() {
    let records = [
        Record::Patient(patient("P1")),
        Record::Condition(condition("P1", "20054174", "胃炎")),
    ];
    let validator = BundleValidator::new();
    let d = run(&records, false, &validator);
    let [b] = d.bundles.as_slice() else {
        panic!("{:?}", d.bundles)
    };
    assert!(b.facts >= 2, "the facts are read off the parsed body");
    let body: Value = serde_json::from_slice(&b.bundle.body).unwrap();
    let again: Vec<String> = findings_of(&validator, &body)
        .iter()
        .map(ToString::to_string)
        .collect();
    let kept: Vec<String> = b.findings.iter().map(ToString::to_string).collect();
    assert_eq!(kept, again);
    assert_eq!(d.patients.len(), 1);
    assert_eq!(d.items.len(), 1);
    // No master loaded: the 病名管理番号 is passed on, unverified.
    assert_eq!(d.items[0].outcome.state(), ItemState::Mapped);
    // `strict` holds a bundle that has warnings; without it only errors hold.
    let errors = b.findings.iter().any(|f| f.severity == Severity::Error);
    let warnings = b.findings.iter().any(|f| f.severity == Severity::Warning);
    assert_eq!(b.verdict.is_some(), errors);
    let strict = run(&records, true, &validator);
    assert_eq!(strict.bundles[0].verdict.is_some(), errors || warnings);
}

#[test]
fn a_body_that_is_not_json_is_held_never_checked_as_an_empty_bundle() {
    let bundle = BuiltBundle {
        kind: BundleKind::Clins,
        identifier: "1318814790^2026^1".into(),
        resource_type: "Condition".into(),
        body: b"{not json".to_vec(),
        patient_ref: "Patient/1".into(),
    };
    let checked = check(&BundleValidator::hand_written(), false, bundle, |_| ());
    let verdict = checked.verdict.expect("held");
    assert!(
        verdict.starts_with("the built bundle is not JSON"),
        "{verdict}"
    );
}
