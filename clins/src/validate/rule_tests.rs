//! Every hand-written rule passes on a minimal valid JSON and fires on a minimal broken one
//! (no package, no ../shared needed). Bundle-level rules are in `tests.rs` (`BROKEN`). These
//! test the hand-written layer alone (`Validator::hand_written`): the minimal bases are not
//! complete JP-CLINS resources, and the profile rules have their own tests (`package/tests.rs`).

use serde_json::{json, Value};

use super::resource_rules::{ALLERGY_ECS, CONDITION_ECS, LAB_ECS, MEDREQ_ECS, PATIENT_ECS};
use super::*;

const MEMBER: &str = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";
const LOCAL: &str = "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_ObsLabResult_LocalCode_CS";
const YJ: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
const USAGE: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription";

fn patient() -> Value {
    json!({"resourceType": "Patient", "meta": {"profile": [PATIENT_ECS]},
        "identifier": [{"system": MEMBER, "value": "00012345:記号:123:"},
                       {"system": "urn:oid:1.2.392.100495.20.3.51.11318814790", "value": "1"}],
        "name": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "IDE"}],
                  "text": "山田 太郎"}]})
}

fn status(system: &str, code: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": code}]})
}

fn condition() -> Value {
    json!({"resourceType": "Condition", "meta": {"profile": [CONDITION_ECS]},
        "clinicalStatus": status("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "verificationStatus": status("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
        "code": {"text": "胃炎"}})
}

fn allergy() -> Value {
    json!({"resourceType": "AllergyIntolerance", "meta": {"profile": [ALLERGY_ECS]},
        "clinicalStatus": status("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"),
        "code": {"text": "卵"}})
}

fn observation() -> Value {
    json!({"resourceType": "Observation", "meta": {"profile": [LAB_ECS]},
        "code": {"coding": [{"system": LOCAL, "code": "1"}]},
        "performer": [{"reference": "#p"}],
        "valueQuantity": {"value": 2, "unit": "mg/dL", "code": "mg/dL"},
        "referenceRange": [{"low": {"value": 1, "unit": "mg/dL", "code": "mg/dL"},
                            "high": {"value": 3, "unit": "mg/dL"}}]})
}

fn medication_request() -> Value {
    json!({"resourceType": "MedicationRequest", "meta": {"profile": [MEDREQ_ECS]},
        "medicationCodeableConcept": {"coding": [{"system": YJ, "code": "1"}]},
        "dosageInstruction": [{"timing": {"code": {"coding": [{"system": USAGE, "code": "1"}]}}}]})
}

fn referral() -> Value {
    json!({"resourceType": "Bundle",
        "meta": {"profile": ["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral"]},
        "type": "document", "timestamp": "2025-06-02T10:00:00.000+09:00",
        "identifier": {"system": "http://jpfhir.jp/fhir/clins/bundle-identifier", "value": "1318814790^2025^A1"},
        "entry": [{"resource": {"resourceType": "Composition",
            "section": [{"code": {"coding": [{"code": "300"}]}}]}}]})
}

fn discharge() -> Value {
    let mut b = referral();
    b["meta"]["profile"] =
        json!(["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary"]);
    b
}

/// An Observation in a JP_Bundle_CLINS, with everything the bundle rules ask for.
fn clins_observation_bundle() -> Value {
    let mut b: Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../config-examples/samples/06-ready-made-clins.json"),
        )
        .unwrap(),
    )
    .unwrap();
    b["meta"]["tag"][0]["code"] = json!("Observation");
    let cond = b["entry"][1]["resource"].clone();
    let mut obs = observation();
    obs["extension"] = cond["extension"].clone();
    obs["contained"] = json!([cond["contained"][0].clone(),
        {"resourceType": "Practitioner", "id": "p",
         "meta": {"profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Practitioner"]}}]);
    obs["encounter"] = json!({"reference": "#encounter"});
    b["entry"][1]["resource"] = obs;
    b
}

type Base = fn() -> Value;
type Mutation = fn(&mut Value);

/// (rule, base document, how to break it). Each base passes every rule.
const CASES: &[(&str, Base, Mutation)] = &[
    ("R1010", patient, |p| {
        p["identifier"][1]["system"] = json!("urn:oid:1.2.392.100495.20.3.51.2131881479")
    }),
    ("R1012", patient, |p| {
        p["identifier"][0]["system"] = json!("urn:x")
    }),
    ("R1013", patient, |p| {
        p["identifier"][0]["value"] = json!("1234:a:b:")
    }),
    ("R1113", patient, |p| {
        p["name"][0]["text"] = json!("山田　太郎")
    }),
    ("con-3", condition, |c| {
        c.as_object_mut().unwrap().remove("clinicalStatus");
    }),
    ("con-4", condition, |c| {
        c["abatementDateTime"] = json!("2025-01-01")
    }),
    ("con-5", condition, |c| {
        c["verificationStatus"] = status(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "entered-in-error",
        )
    }),
    ("SD-CARD", condition, |c| {
        c["clinicalStatus"]["coding"][0]
            .as_object_mut()
            .unwrap()
            .remove("display");
    }),
    ("SD-CARD", condition, |c| {
        c["verificationStatus"]["coding"][0]
            .as_object_mut()
            .unwrap()
            .remove("display");
    }),
    ("SD-CARD", condition, |c| {
        c.as_object_mut().unwrap().remove("verificationStatus");
    }),
    ("SD-CARD", allergy, |a| {
        a["clinicalStatus"]["coding"][0]
            .as_object_mut()
            .unwrap()
            .remove("display");
    }),
    ("SD-CARD", allergy, |a| {
        a["verificationStatus"] = json!({"coding": [{"system": "s", "code": "confirmed"}]})
    }),
    ("SD-CARD", allergy, |a| a["code"] = json!({})),
    ("ait-1", allergy, |a| {
        a.as_object_mut().unwrap().remove("clinicalStatus");
    }),
    ("ait-2", allergy, |a| {
        a["verificationStatus"] = status(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
            "entered-in-error",
        )
    }),
    ("obs-3", observation, |o| {
        o["referenceRange"] = json!([{"type": {}}])
    }),
    ("obs-6", observation, |o| {
        o["dataAbsentReason"] = json!({"text": "x"})
    }),
    ("obs-7", observation, |o| {
        o["component"] = json!([{"code": o["code"].clone()}])
    }),
    ("needs-performer-on-CLINS", observation, |o| {
        o.as_object_mut().unwrap().remove("performer");
    }),
    ("warn-localCode-observation-laboresult", observation, |o| {
        o["code"]["coding"][0]["system"] = json!("urn:x")
    }),
    (
        "referenceRangeLowUnits-isSameAs-resultValueUnits",
        observation,
        |o| o["referenceRange"][0]["low"]["unit"] = json!("g"),
    ),
    (
        "referenceRangeHighUnits-isSameAs-resultValueUnits",
        observation,
        |o| o["referenceRange"][0]["high"]["unit"] = json!("g"),
    ),
    ("R3010", medication_request, |m| {
        m["medicationCodeableConcept"]["coding"][0]["system"] = json!("urn:x")
    }),
    ("TSG-CODELIST", medication_request, |m| {
        m["medicationCodeableConcept"]["coding"][0]["system"] =
            json!("http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationGeneralOrderCode")
    }),
    ("R5020", medication_request, |m| {
        m["dosageInstruction"][0]["timing"] = json!({})
    }),
    ("R5021", medication_request, |m| {
        m["dosageInstruction"][0]["timing"]["code"]["coding"]
            .as_array_mut()
            .unwrap()
            .push(json!({
            "system": "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS",
            "code": "0X0XXXXXXXXX0000"}))
    }),
    ("TSG-PROFILE", medication_request, |m| {
        m["meta"]["profile"] =
            json!(["http://jpfhir.jp/fhir/core/StructureDefinition/JP_MedicationRequest"])
    }),
    ("TSG-BUNDLE-TYPE", referral, |b| {
        b["type"] = json!("collection")
    }),
    ("bdl-9", referral, |b| {
        b["identifier"].as_object_mut().unwrap().remove("system");
    }),
    ("bdl-10", referral, |b| {
        b.as_object_mut().unwrap().remove("timestamp");
    }),
    ("bdl-11", referral, |b| {
        b["entry"][0]["resource"]["resourceType"] = json!("Patient")
    }),
    ("R2152", referral, |b| {
        b["identifier"]["value"] = json!("1^2025^A")
    }),
    ("validEntryProfile-MedicationRequest", referral, |b| {
        b["entry"].as_array_mut().unwrap().push(json!({"resource": {"resourceType": "MedicationRequest",
            "meta": {"profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_MedicationRequest|1.1.2"]}}}))
    }),
    (
        "checkExist-CDASection-or-CompositionSection",
        referral,
        |b| {
            b["entry"][0]["resource"]["section"]
                .as_array_mut()
                .unwrap()
                .push(json!({"code": {"coding": [{"code": "200"}]}}))
        },
    ),
    (
        "checkExist-CDASection-or-structuredSection",
        discharge,
        |b| b["entry"][0]["resource"]["section"] = json!([]),
    ),
    ("R9013O", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]["contained"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    }),
    ("R9014O", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]["extension"]
            .as_array_mut()
            .unwrap()
            .truncate(1)
    }),
    ("R9016O", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]
            .as_object_mut()
            .unwrap()
            .remove("encounter");
    }),
    ("R9017O", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]
            .as_object_mut()
            .unwrap()
            .remove("performer");
    }),
    ("R9019O", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]["contained"]
            .as_array_mut()
            .unwrap()
            .truncate(1)
    }),
    ("R6081", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]["hasMember"] = json!([{"reference": "#x"}])
    }),
    ("R6021", clins_observation_bundle, |b| {
        b["entry"][1]["resource"]["code"]["coding"][0]["system"] = json!("urn:x")
    }),
    (
        "validEntryProfile-ObservationLabResult",
        clins_observation_bundle,
        |b| {
            b["entry"][1]["resource"]["meta"]["profile"] =
                json!(["http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_Common_eCS|1"])
        },
    ),
];

fn rules(doc: &Value) -> Vec<&'static str> {
    Validator::hand_written()
        .validate_document(doc)
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn every_base_passes_and_every_mutation_fires_its_rule() {
    for (i, (rule, base, mutate)) in CASES.iter().enumerate() {
        let ok = base();
        let fired = rules(&ok);
        assert!(
            !fired.contains(rule),
            "case {i}: base already fires {rule}: {fired:?}"
        );
        let mut broken = base();
        mutate(&mut broken);
        let fired = rules(&broken);
        assert!(
            fired.contains(rule),
            "case {i}: expected {rule}, got {fired:?}"
        );
    }
}

#[test]
fn the_bases_have_no_errors_or_warnings() {
    let bases: [Base; 7] = [
        patient,
        condition,
        allergy,
        observation,
        medication_request,
        referral,
        clins_observation_bundle,
    ];
    for base in bases {
        let findings = Validator::hand_written().validate_document(&base());
        assert!(
            findings.iter().all(|f| f.severity == Severity::Info),
            "{findings:#?}"
        );
    }
}

#[test]
fn lab_rules_are_warnings_alone_and_errors_in_a_clins_bundle() {
    let mut obs = observation();
    obs.as_object_mut().unwrap().remove("performer");
    let alone = Validator::hand_written().validate_document(&obs);
    assert!(alone
        .iter()
        .any(|f| f.rule == "needs-performer-on-CLINS" && f.severity == Severity::Warning));
    assert!(alone.iter().all(|f| f.severity != Severity::Error));
    let mut b = clins_observation_bundle();
    b["entry"][1]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("performer");
    let inside = Validator::hand_written().validate_document(&b);
    assert!(inside
        .iter()
        .any(|f| f.rule == "R9017O" && f.severity == Severity::Error));
}

#[test]
fn every_catalog_rule_has_a_failing_case() {
    let bundle_cases: Vec<&str> = super::tests::BROKEN.iter().map(|(r, _)| *r).collect();
    for info in catalog::RULES {
        assert!(
            CASES.iter().any(|(r, _, _)| *r == info.rule) || bundle_cases.contains(&info.rule),
            "no failing case for {}",
            info.rule
        );
    }
}

#[test]
fn every_rule_a_finding_carries_is_in_the_catalog() {
    for (_, base, mutate) in CASES {
        let mut doc = base();
        mutate(&mut doc);
        for f in Validator::hand_written().validate_document(&doc) {
            assert!(
                catalog::RULES
                    .iter()
                    .any(|r| r.rule == f.rule && r.severity == f.severity),
                "{} ({:?}) not in the catalog",
                f.rule,
                f.severity
            );
        }
    }
}
