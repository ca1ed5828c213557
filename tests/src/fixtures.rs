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
