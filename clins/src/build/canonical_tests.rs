//! Canonical records → bundles: required elements per resource, report units, determinism,
//! identifiers, withdrawal and holds.

use crate::build::HoldReason;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tsunagi_adapters::Record;

use super::canonical::test_records::{allergy, condition, lab, patient};
use super::*;
use crate::validate::{BundleValidator, Severity};

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

fn errors(b: &BuiltBundle) -> Vec<String> {
    BundleValidator::new()
        .validate(&body(b))
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {}", f.rule, f.path))
        .collect()
}

/// Every coding anywhere in `v` has system, code and display.
fn assert_displays(v: &Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Array(codings)) = o.get("coding") {
                for c in codings {
                    for k in ["system", "code", "display"] {
                        assert!(
                            c.get(k)
                                .is_some_and(|x| x.as_str().is_some_and(|s| !s.is_empty())),
                            "{k} missing in {c}"
                        );
                    }
                }
            }
            o.values().for_each(assert_displays);
        }
        Value::Array(a) => a.iter().for_each(assert_displays),
        _ => {}
    }
}

#[test]
fn a_condition_bundle_carries_every_required_element() {
    let mut c = condition("P1", "20054174", "胃炎");
    c.principal = true;
    c.suspected = true;
    c.icd10 = Some("K297".into());
    c.prefix_modifiers.push(tsunagi_adapters::DiseaseModifier {
        key_number: "27000358".into(),
        exchange_code: None,
        display: Some("左".into()),
    });
    let mut uncoded = condition("P1", "99999999", "謎の病");
    uncoded.record_id = None;
    let r = build(
        "k",
        &[
            Record::Patient(patient("P1")),
            Record::Condition(c),
            Record::Condition(uncoded),
        ],
    );
    assert!(r.held.is_empty(), "{:?}", r.held);
    let [b] = r.bundles.as_slice() else {
        panic!("{:?}", r.bundles)
    };
    assert_eq!(
        (b.kind, b.resource_type.as_str()),
        (BundleKind::Clins, "Condition")
    );
    assert!(errors(b).is_empty(), "{:?}", errors(b));
    let j = body(b);
    assert_displays(&j);
    let p = &j["entry"][0]["resource"];
    assert_eq!(
        p["meta"]["profile"][0],
        clins::resource_profile("Patient").unwrap()
    );
    let c = &j["entry"][1]["resource"];
    assert_eq!(c["subject"]["reference"], j["entry"][0]["fullUrl"]);
    assert_eq!(c["identifier"][0]["value"], "1318814790-CR20054174");
    assert_eq!(c["clinicalStatus"]["coding"][0]["display"], "Active");
    assert_eq!(c["verificationStatus"]["coding"][0]["code"], "unconfirmed");
    assert_eq!(c["category"][0]["coding"][0]["code"], "encounter-diagnosis");
    assert_eq!(c["code"]["coding"][0]["code"], "20054174");
    assert_eq!(c["code"]["coding"][1]["system"], terminology::ICD10_SYSTEM);
    assert_eq!(c["code"]["text"], "胃炎");
    assert_eq!(
        c["code"]["extension"][0]["url"],
        clins::PREFIX_MODIFIER_EXTENSION
    );
    assert_eq!(c["contained"][0]["class"]["code"], "AMB");
    assert_eq!(c["encounter"]["reference"], "#encounter");
    assert_eq!(c["onsetDateTime"], "2024-04-01");
    let urls: Vec<&str> = c["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            clins::INSTITUTION_EXTENSION,
            clins::DEPARTMENT_EXTENSION,
            clins::DIAGNOSIS_TYPE_EXTENSION
        ]
    );
    let u = &j["entry"][2]["resource"];
    assert_eq!(u["code"]["coding"][0]["code"], "99999999");
    assert_eq!(u["code"]["coding"].as_array().unwrap().len(), 1);
}

#[test]
fn allergies_and_observations_carry_their_required_elements() {
    let mut l2 = lab("P1", "ORD1", "0000181800", "023");
    l2.local_code.code = "0000 1819".into();
    l2.jlac10 = None;
    let r = build(
        "k",
        &[
            Record::Patient(patient("P1")),
            Record::Allergy(allergy("P1", "さば")),
            Record::LabResult(lab("P1", "ORD1", "0000181800", "023")),
            Record::LabResult(l2),
        ],
    );
    assert!(r.held.is_empty(), "{:?}", r.held);
    assert_eq!(r.bundles.len(), 2);
    for b in &r.bundles {
        assert!(errors(b).is_empty(), "{}: {:?}", b.resource_type, errors(b));
        assert_displays(&body(b));
    }
    let a = body(&r.bundles[0]);
    let a = &a["entry"][1]["resource"];
    assert_eq!(a["resourceType"], "AllergyIntolerance");
    assert_eq!(a["category"][0], "food");
    assert_eq!(a["code"]["coding"][0]["code"], "J9FC11310000");
    assert_eq!(a["code"]["text"], "さば");
    assert_eq!(
        a["identifier"][0]["system"],
        clins::RESOURCE_INSTANCE_ID_SYSTEM
    );
    let o = body(&r.bundles[1]);
    let o1 = &o["entry"][1]["resource"];
    assert_eq!(o1["category"][0]["coding"][0]["code"], "laboratory");
    assert_eq!(
        o1["code"]["coding"][0]["system"],
        clins::LAB_LOCAL_CODE_SYSTEM
    );
    assert_eq!(
        o1["code"]["coding"][1]["system"],
        terminology::JLAC10_SYSTEM
    );
    assert_eq!(o1["valueQuantity"]["value"], 3.9);
    assert_eq!(o1["referenceRange"][0]["low"]["unit"], "g/dL");
    assert_eq!(o1["effectiveDateTime"], "2025-05-01T09:00:00+09:00");
    assert_eq!(o1["performer"][0]["reference"], "#performer");
    assert_eq!(o1["specimen"]["reference"], "#specimen");
    let contained: Vec<&str> = o1["contained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(contained, ["Encounter", "Specimen", "Practitioner"]);
    let o2 = &o["entry"][2]["resource"];
    assert_eq!(o2["code"]["coding"][0]["code"], "0000-1819");
    assert_eq!(o2["code"]["coding"][1]["code"], "99999999999999999");
}

#[test]
fn lab_reports_group_by_report_and_specimen_and_suffix_ambiguous_codes() {
    let r = build(
        "k",
        &[
            Record::Patient(patient("P1")),
            Record::Patient(patient("P2")),
            Record::LabResult(lab("P1", "ORD1", "A1", "023")),
            Record::LabResult(lab("P1", "ORD1", "A2", "023")),
            Record::LabResult(lab("P1", "ORD1", "A1", "001")),
            Record::LabResult(lab("P1", "ORD2", "A1", "023")),
            Record::LabResult(lab("P2", "ORD1", "A1", "023")),
            Record::Condition(condition("P1", "20054174", "胃炎")),
            Record::Condition(condition("P1", "20064049", "十二指腸潰瘍")),
            Record::Condition(condition("P2", "20054174", "胃炎")),
        ],
    );
    let mut shape: Vec<(String, String, usize)> = r
        .bundles
        .iter()
        .map(|b| {
            (
                b.resource_type.clone(),
                b.patient_ref.clone(),
                body(b)["entry"].as_array().unwrap().len() - 1,
            )
        })
        .collect();
    shape.sort();
    let s = |t: &str, p: &str, n| (t.to_string(), p.to_string(), n);
    assert_eq!(
        shape,
        [
            s("Condition", "Patient/P1", 2),
            s("Condition", "Patient/P2", 1),
            s("Observation", "Patient/P1", 1),
            s("Observation", "Patient/P1", 1),
            s("Observation", "Patient/P1", 2),
            s("Observation", "Patient/P2", 1),
        ]
    );
    let codes: Vec<String> = r
        .bundles
        .iter()
        .flat_map(|b| {
            body(b)["entry"]
                .as_array()
                .unwrap()
                .iter()
                .skip(1)
                .filter(|e| e["resource"]["resourceType"] == "Observation")
                .map(|e| {
                    e["resource"]["code"]["coding"][0]["code"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        codes.contains(&"A1_023".to_string()) && codes.contains(&"A1_001".to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"A2".to_string()),
        "A2 has one specimen only: {codes:?}"
    );
}

#[test]
fn same_input_same_bytes_and_identifiers_stable_across_inputs() {
    let records = [
        Record::Patient(patient("P1")),
        Record::Condition(condition("P1", "20054174", "胃炎")),
    ];
    assert_eq!(build("k1", &records), build("k1", &records));
    let mut more = records.to_vec();
    more.push(Record::Condition(condition(
        "P1",
        "20064049",
        "十二指腸潰瘍",
    )));
    let (a, b) = (build("k1", &records), build("k2", &more));
    assert_eq!(
        a.bundles[0].identifier, b.bundles[0].identifier,
        "a re-send replaces"
    );
    assert_ne!(
        body(&a.bundles[0])["entry"][0]["fullUrl"],
        body(&b.bundles[0])["entry"][0]["fullUrl"]
    );
    let re =
        regex::Regex::new(r"^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$").unwrap();
    assert!(re.is_match(&a.bundles[0].identifier));
}

#[test]
fn a_directory_that_knows_the_earlier_identifier_keeps_it_in_a_new_year() {
    struct Sent(BTreeMap<String, Value>);
    impl PatientDirectory for Sent {
        fn patient(&self, r: &str) -> Option<Value> {
            self.0.get(r).cloned()
        }
        fn sent_identifier(&self, local: &str) -> Option<String> {
            Some(format!("1318814790^2024^{local}"))
        }
    }
    let records = [
        Record::Patient(patient("P1")),
        Record::Condition(condition("P1", "20054174", "胃炎")),
    ];
    let r = builder().build(&ctx("k"), &records, &Sent(BTreeMap::new()));
    assert!(r.bundles[0].identifier.starts_with("1318814790^2024^C"));
}

#[test]
fn items_ended_over_five_years_ago_are_left_out_and_an_empty_unit_is_deleted() {
    let mut old = condition("P1", "20054174", "胃炎");
    old.abatement = Some("2019-01-01".into());
    let mut recent = condition("P1", "20064049", "十二指腸潰瘍");
    recent.abatement = Some("2024-01-01".into());
    let r = build(
        "k",
        &[
            Record::Patient(patient("P1")),
            Record::Condition(old.clone()),
            Record::Condition(recent),
        ],
    );
    let j = body(&r.bundles[0]);
    assert_eq!(j["entry"].as_array().unwrap().len(), 2);
    assert_eq!(
        j["entry"][1]["resource"]["clinicalStatus"]["coding"][0]["code"],
        "resolved"
    );
    let earlier = r.bundles[0].identifier.clone();

    let mut withdrawn = condition("P1", "20064049", "十二指腸潰瘍");
    withdrawn.entered_in_error = true;
    let r = build(
        "k2",
        &[
            Record::Patient(patient("P1")),
            Record::Condition(old),
            Record::Condition(withdrawn),
        ],
    );
    let [d] = r.bundles.as_slice() else {
        panic!("{:?}", r.bundles)
    };
    assert_eq!(d.kind, BundleKind::Deletion);
    assert_eq!(
        d.identifier, earlier,
        "the deletion names the bundle it withdraws"
    );
    let j = body(d);
    assert_eq!(j["entry"].as_array().unwrap().len(), 1);
    assert_eq!(j["entry"][0]["resource"]["resourceType"], "Patient");
    assert_eq!(j["meta"]["tag"][0]["code"], "Condition");
}

#[test]
fn deletion_reuses_the_identifier_and_checks_the_patient() {
    let sent = build(
        "k",
        &[
            Record::Patient(patient("P1")),
            Record::Condition(condition("P1", "20054174", "胃炎")),
        ],
    );
    let b = &sent.bundles[0];
    let p = &sent.patients[0].1;
    let w = Withdrawal {
        identifier: &b.identifier,
        resource_type: "Condition",
        patient_ref: &b.patient_ref,
        patient: p,
    };
    let d = builder().deletion(&ctx("del"), &w).unwrap();
    assert_eq!(
        (d.kind, d.identifier.as_str()),
        (BundleKind::Deletion, b.identifier.as_str())
    );
    assert_eq!(body(&d)["entry"].as_array().unwrap().len(), 1);
    let bare = serde_json::json!({"resourceType": "Patient", "id": "P1"});
    let held = builder()
        .deletion(
            &ctx("del"),
            &Withdrawal {
                patient: &bare,
                ..w
            },
        )
        .unwrap_err();
    assert_eq!(held.code, HoldReason::PatientNoInsuranceId);
    let held = builder()
        .deletion(
            &ctx("del"),
            &Withdrawal {
                resource_type: "MedicationRequest",
                ..w
            },
        )
        .unwrap_err();
    assert_eq!(held.code, HoldReason::Unsupported);
}
