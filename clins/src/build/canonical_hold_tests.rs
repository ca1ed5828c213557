//! Canonical records → bundles: holds (patient, look-up outcomes) and record extras.

use crate::build::HoldReason;
use crate::map::Invalid;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tsunagi_adapters::{Condition, Record};

use super::canonical::test_records::{allergy, condition, lab, patient};
use super::*;

fn builder() -> BundleBuilder {
    let settings = BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap();
    BundleBuilder::new(settings).with_terminology(Arc::new(PassThrough))
}

fn ctx(key: &str) -> BuildContext<'_> {
    BuildContext {
        input_key: key,
        received_at: chrono::DateTime::parse_from_rfc3339("2025-06-02T10:15:00.250+09:00").unwrap(),
    }
}

fn build(key: &str, records: &[Record]) -> BuildResult {
    builder().build(&ctx(key), records, &BTreeMap::<String, Value>::new())
}

fn body(b: &BuiltBundle) -> Value {
    serde_json::from_slice(&b.body).unwrap()
}

#[test]
fn a_patient_without_insurance_is_held_with_its_items() {
    let mut p = patient("P1");
    p.insurance = None;
    let r = build(
        "k",
        &[
            Record::Patient(p),
            Record::Condition(condition("P1", "20054174", "胃炎")),
        ],
    );
    assert!(r.bundles.is_empty());
    assert_eq!(r.patients.len(), 1, "remembered anyway");
    let codes: Vec<(&str, HoldReason)> = r
        .held
        .iter()
        .map(|h| (h.resource_type.as_str(), h.code))
        .collect();
    assert_eq!(
        codes,
        [
            ("Patient", HoldReason::PatientNoInsuranceId),
            ("Condition", HoldReason::PatientNoInsuranceId)
        ]
    );
    let unknown = build(
        "k",
        &[Record::Condition(condition("P9", "20054174", "胃炎"))],
    );
    assert_eq!(unknown.held[0].code, HoldReason::PatientUnknown);
    assert_eq!(unknown.held[0].patient_ref.as_deref(), Some("Patient/P9"));
    // The reason says what completes it, in both languages.
    let (en, ja) = (&unknown.held[0].reason_en, &unknown.held[0].reason_ja);
    assert!(
        en.contains("ADT") && en.contains("IN1") && en.contains("patient master export"),
        "{en}"
    );
    assert!(
        ja.contains("ADT") && ja.contains("IN1") && ja.contains("患者マスター"),
        "{ja}"
    );
}

struct Strict;
impl Terminology for Strict {
    fn disease(&self, _: &SourceRef<'_>, _: &Condition) -> Coding3 {
        Coding3 {
            codings: vec![],
            outcome: Outcome::Invalid(Invalid::Code(Reason {
                en: "not a MEDIS key".into(),
                ja: "MEDIS管理番号ではありません".into(),
            })),
        }
    }
    fn modifier(&self, _: &str) -> Option<String> {
        None
    }
    fn lab(&self, _: &SourceRef<'_>, _: &tsunagi_adapters::LabResult) -> LabCoding {
        LabCoding {
            standard: None,
            local_display: None,
            outcome: Outcome::Held(Reason {
                en: "policy".into(),
                ja: "方針".into(),
            }),
        }
    }
    fn allergen(&self, _: &SourceRef<'_>, _: &tsunagi_adapters::Allergy) -> Coding3 {
        Coding3 {
            codings: vec![],
            outcome: Outcome::Unmapped { reviewed: false },
        }
    }
    fn drug(&self, _: &SourceRef<'_>, _: &tsunagi_adapters::Prescription) -> Coding3 {
        Coding3 {
            codings: vec![],
            outcome: Outcome::Unmapped { reviewed: false },
        }
    }
}

#[test]
fn invalid_and_policy_held_codes_are_held_and_unmapped_allergens_get_the_dummy() {
    let settings = BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap();
    let b = BundleBuilder::new(settings).with_terminology(Arc::new(Strict));
    let r = b.build(
        &ctx("k"),
        &[
            Record::Patient(patient("P1")),
            Record::Condition(condition("P1", "20054174", "胃炎")),
            Record::LabResult(lab("P1", "O", "A1", "023")),
            Record::Allergy(allergy("P1", "さば")),
        ],
        &BTreeMap::<String, Value>::new(),
    );
    let codes: Vec<HoldReason> = r.held.iter().map(|h| h.code).collect();
    assert_eq!(
        codes,
        [HoldReason::MappingInvalid, HoldReason::UnmappedHeld]
    );
    assert!(r.held[0].reason_ja.contains("MEDIS管理番号"));
    let [a] = r.bundles.as_slice() else {
        panic!("{:?}", r.bundles)
    };
    assert_eq!(
        body(a)["entry"][1]["resource"]["code"]["coding"][0]["code"],
        "D9F000000000"
    );
}

#[test]
fn flags_become_resource_tags() {
    let origin = InputOrigin {
        extras: [(
            1,
            RecordExtras {
                lts: true,
                uninformed: true,
                undelivered: false,
                encounter_class: Some(EncounterClass::Inpatient),
            },
        )]
        .into(),
        ..InputOrigin::default()
    };
    let r = builder().build_with(
        &ctx("k"),
        &origin,
        &[
            Record::Patient(patient("P1")),
            Record::Condition(condition("P1", "20054174", "胃炎")),
        ],
        &BTreeMap::<String, Value>::new(),
    );
    let c = body(&r.bundles[0])["entry"][1]["resource"].clone();
    let tags: Vec<&str> = c["meta"]["tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["LTS", "UNINFORMED"]);
    assert_eq!(c["contained"][0]["class"]["code"], "IMP");
}
