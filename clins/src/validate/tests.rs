use std::path::Path;

use serde_json::{json, Value};

use super::*;

fn valid_bundle() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-examples/samples/06-ready-made-clins.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn rules_broken(bundle: &Value) -> Vec<&'static str> {
    BundleValidator::new()
        .validate(bundle)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.rule)
        .collect()
}

#[test]
fn the_ready_made_sample_has_no_findings() {
    assert_eq!(BundleValidator::new().validate(&valid_bundle()), []);
}

type Mutation = fn(&mut Value);

/// One mutated copy per rule: (rule that must fire, how to break the bundle).
pub(super) const BROKEN: &[(&str, Mutation)] = &[
    ("TSG-RESOURCE-TYPE", |b| {
        b["resourceType"] = json!("Parameters")
    }),
    ("R0213", |b| {
        b["meta"]["profile"] =
            json!(["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral"])
    }),
    ("TSG-BUNDLE-TYPE", |b| b["type"] = json!("document")),
    ("R02151", |b| {
        b["identifier"]["system"] = json!("urn:ietf:rfc:3986")
    }),
    ("R02151", |b| {
        b["identifier"] = json!([b["identifier"].clone()])
    }),
    ("R2152", |b| {
        b["identifier"]["value"] = json!("1318814790^2019^C1")
    }),
    ("R2152", |b| {
        b["identifier"]["value"] = json!("1318814790^2025^has_underscore")
    }),
    ("R2152", |b| {
        b["identifier"]["value"] = json!(format!("1318814790^2025^{}", "A".repeat(37)))
    }),
    ("TSG-TIMESTAMP", |b| {
        b.as_object_mut().unwrap().remove("timestamp");
    }),
    ("TSG-TIMESTAMP", |b| {
        b["timestamp"] = json!("2025-06-02T10:00:00")
    }),
    ("TSG-LAST-UPDATED", |b| {
        b["meta"].as_object_mut().unwrap().remove("lastUpdated");
    }),
    ("R02141", |b| b["meta"]["tag"] = json!([])),
    ("R02142", |b| {
        b["meta"]["tag"][0]["code"] = json!("MedicationRequest")
    }),
    ("R02142", |b| {
        let tag = b["meta"]["tag"][0].clone();
        b["meta"]["tag"].as_array_mut().unwrap().push(tag);
    }),
    ("R0211", |b| b["entry"].as_array_mut().unwrap().swap(0, 1)),
    ("R0212", |b| {
        b["entry"][0]["resource"]["meta"]["profile"] = json!([])
    }),
    ("R1012", |b| {
        b["entry"][0]["resource"]["identifier"]
            .as_array_mut()
            .unwrap()
            .truncate(1)
    }),
    ("R1012", |b| {
        let id = b["entry"][0]["resource"]["identifier"][1].clone();
        b["entry"][0]["resource"]["identifier"]
            .as_array_mut()
            .unwrap()
            .push(id);
    }),
    ("R1013", |b| {
        b["entry"][0]["resource"]["identifier"][1]["value"] = json!("12345:あいう:１８７:05")
    }),
    ("R1013", |b| {
        b["entry"][0]["resource"]["identifier"][1]["value"] = json!("00012345:あ　う:１８７:05")
    }),
    ("R1013", |b| {
        b["entry"][0]["resource"]["identifier"][1]["value"] = json!("00012345:あいう:１８７:5")
    }),
    ("R02143", |b| {
        b["meta"]["tag"][0]["code"] = json!("Observation")
    }),
    ("R02143", |b| b["entry"].as_array_mut().unwrap().truncate(1)),
    ("TSG-ONE-TYPE", |b| {
        let mut other = b["entry"][1].clone();
        other["fullUrl"] = json!("urn:uuid:00000000-0000-4000-8000-000000000099");
        other["resource"]["resourceType"] = json!("AllergyIntolerance");
        b["entry"].as_array_mut().unwrap().push(other);
    }),
    ("TSG-ONE-TYPE", |b| {
        b["entry"][1]["resource"]["resourceType"] = json!("MedicationRequest")
    }),
    ("TSG-FULLURL", |b| {
        b["entry"][1]["fullUrl"] = b["entry"][0]["fullUrl"].clone()
    }),
    ("TSG-FULLURL", |b| {
        b["entry"][1].as_object_mut().unwrap().remove("fullUrl");
    }),
    ("R9011", |b| {
        b["entry"][1]["resource"]["extension"]
            .as_array_mut()
            .unwrap()
            .remove(0);
    }),
    ("R9012", |b| {
        b["entry"][1]["resource"]["extension"][0]["valueIdentifier"]["value"] = json!("131881479")
    }),
    ("R9013C", |b| {
        b["entry"][1]["resource"]
            .as_object_mut()
            .unwrap()
            .remove("onsetDateTime");
    }),
    ("condition-needs-contained-of-Encounter", |b| {
        b["entry"][1]["resource"]["contained"] = json!([])
    }),
    ("R9014C", |b| {
        b["entry"][1]["resource"]["extension"]
            .as_array_mut()
            .unwrap()
            .truncate(1)
    }),
    ("validEntryProfile-Condition", |b| {
        b["entry"][1]["resource"]["meta"]["profile"] =
            json!(["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Condition|1.1.2"])
    }),
    ("validEntryProfile-AllergyIntolerance", |b| {
        let mut other = b["entry"][1].clone();
        other["fullUrl"] = json!("urn:uuid:00000000-0000-4000-8000-000000000098");
        other["resource"]["resourceType"] = json!("AllergyIntolerance");
        other["resource"]["meta"]["profile"] = json!(["urn:x|1"]);
        b["entry"].as_array_mut().unwrap().push(other);
    }),
    ("TSG-PRIMITIVE", |b| {
        b["entry"][0]["resource"]["birthDate"] = json!("1985-13-45")
    }),
    ("TSG-CODE-TEXT", |b| {
        b["entry"][1]["resource"]["code"]["text"] = json!(" ")
    }),
];

#[test]
fn each_broken_rule_is_caught() {
    for (i, (rule, mutate)) in BROKEN.iter().enumerate() {
        let mut bundle = valid_bundle();
        mutate(&mut bundle);
        assert_ne!(bundle, valid_bundle(), "mutation {i} changed nothing");
        let broken = rules_broken(&bundle);
        assert!(
            broken.contains(rule),
            "mutation {i}: expected {rule}, got {broken:?}"
        );
    }
}

#[test]
fn every_rule_in_the_list_has_a_broken_example() {
    // A bundle rule with no mutation above would be untested (resource rules: rule_tests.rs).
    assert!(RULES.len() <= BROKEN.len());
}

#[test]
fn an_impossible_birth_date_is_an_error_that_does_not_quote_it() {
    for date in ["1985-13-45", "2023-02-29", "1985-04-31"] {
        let mut bundle = valid_bundle();
        bundle["entry"][0]["resource"]["birthDate"] = json!(date);
        let findings = BundleValidator::new().validate(&bundle);
        assert_eq!(findings.len(), 1, "{date}: {findings:?}");
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.path.as_str()),
            (
                "TSG-PRIMITIVE",
                Severity::Error,
                "Bundle.entry[0].resource.birthDate"
            )
        );
        assert!(!f.to_string().contains(&date[..4]), "{f}");
    }
    let mut leap = valid_bundle();
    leap["entry"][0]["resource"]["birthDate"] = json!("2024-02-29");
    assert_eq!(BundleValidator::new().validate(&leap), []);
}

#[test]
fn seconds_only_timestamp_is_a_warning() {
    let mut bundle = valid_bundle();
    bundle["timestamp"] = json!("2025-06-02T10:00:00+09:00");
    let findings = BundleValidator::new().validate(&bundle);
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].rule, findings[0].severity),
        ("TSG-TIMESTAMP", Severity::Warning)
    );
}

#[test]
fn garbage_does_not_panic_and_findings_quote_no_values() {
    for garbage in [
        json!(null),
        json!([]),
        json!("Bundle"),
        json!({"entry": 5}),
        json!({"entry": [1, {"resource": []}]}),
    ] {
        assert!(!BundleValidator::new().validate(&garbage).is_empty());
    }
    let mut bundle = valid_bundle();
    bundle["entry"][0]["resource"]["identifier"][1]["value"] = json!("0001234X:テスト:９９:1");
    for finding in BundleValidator::new().validate(&bundle) {
        let shown = finding.to_string();
        assert!(
            !shown.contains("0001234X") && !shown.contains("テスト:"),
            "{shown}"
        );
    }
}
