//! Sample submissions for tests and demos: a minimal valid 5情報 Bundle with fictional data.
//!
//! It satisfies exactly the checks in `checks` (not the full IG); tests break one rule at a time
//! on a copy of it.

use serde_json::{json, Value};

/// Institution number used by the sample (10 digits, well formed).
pub const SAMPLE_INSTITUTION: &str = "1318814790";
/// Bundle.identifier.value of the sample.
pub const SAMPLE_IDENTIFIER: &str = "1318814790^2024^sample-0001";

/// A valid Condition Bundle (Patient + two Conditions) with fictional patient data.
pub fn valid_clins_bundle() -> Value {
    let condition = |n: u32| {
        json!({
            "fullUrl": format!("urn:uuid:00000000-0000-4000-8000-00000000000{n}"),
            "resource": {
                "resourceType": "Condition",
                "extension": [{
                    "url": "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber",
                    "valueIdentifier": {
                        "system": "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no",
                        "value": SAMPLE_INSTITUTION
                    }
                }],
                "code": { "text": "sample condition" },
                "subject": { "reference": "urn:uuid:00000000-0000-4000-8000-000000000000" },
                "onsetDateTime": "2024-01-01"
            }
        })
    };
    json!({
        "resourceType": "Bundle",
        "meta": {
            "lastUpdated": "2024-04-01T10:00:00.000+09:00",
            "profile": ["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS|1.10.0"],
            "tag": [{
                "system": "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS",
                "code": "Condition"
            }]
        },
        "identifier": {
            "system": "http://jpfhir.jp/fhir/clins/bundle-identifier",
            "value": SAMPLE_IDENTIFIER
        },
        "type": "collection",
        "timestamp": "2024-04-01T10:00:00.000+09:00",
        "entry": [
            {
                "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000000",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{
                        "system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID",
                        "value": "00012345:記号:番号:05"
                    }],
                    "name": [{ "text": "試験 太郎" }],
                    "gender": "male",
                    "birthDate": "1970-01-01"
                }
            },
            condition(1),
            condition(2)
        ]
    })
}

/// Names, IDs and birth dates used in generated inputs; tests assert none is ever logged.
/// Family name in generated inputs.
pub const SECRET_FAMILY: &str = "試験";
/// Given name in generated inputs.
pub const SECRET_GIVEN: &str = "花子";
/// Birth date in generated inputs.
pub const SECRET_BIRTH: &str = "1987-06-05";

/// A FHIR collection Bundle with one Patient and one Condition, unique by `i`.
pub fn condition_input(i: usize) -> Vec<u8> {
    let pid = format!("pt{i:06}");
    json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": format!("urn:uuid:00000000-0000-4000-8000-{i:012}"),
             "resource": {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID",
                                "value": format!("00012345:あいう:{i}:01")}],
                "name": [{"text": format!("{SECRET_FAMILY} {SECRET_GIVEN}"), "family": SECRET_FAMILY, "given": [SECRET_GIVEN]}],
                "gender": "female",
                "birthDate": SECRET_BIRTH,
                "address": [{"text": "東京都千代田区"}]
             }},
            {"fullUrl": format!("urn:uuid:00000000-0000-4000-9000-{i:012}"),
             "resource": {
                "resourceType": "Condition",
                "id": format!("c{i}"),
                "identifier": [{"system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier", "value": format!("c{i}")}],
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active", "display": "Active"}]},
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed", "display": "Confirmed"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
                "code": {"coding": [{"system": "http://medis.or.jp/CodeSystem/master-disease-keyNumber", "code": "20054174", "display": "胃炎"}], "text": "胃炎"},
                "subject": {"reference": format!("Patient/{pid}")},
                "onsetDateTime": "2024-04-01"
             }}
        ]
    })
    .to_string()
    .into_bytes()
}
