//! One broken copy of the sample Bundle per rule; each must fail with exactly that rule.

use serde_json::{json, Value};

use super::*;
use crate::fixtures::{valid_clins_bundle, SAMPLE_INSTITUTION};

fn rules(b: &Value) -> Vec<&'static str> {
    check_bundle(b, &[]).into_iter().map(|i| i.rule).collect()
}

fn broken(edit: impl FnOnce(&mut Value)) -> Value {
    let mut b = valid_clins_bundle();
    edit(&mut b);
    b
}

#[test]
fn sample_is_valid() {
    assert_eq!(check_bundle(&valid_clins_bundle(), &[]), vec![]);
    assert_eq!(
        check_bundle(&valid_clins_bundle(), &[SAMPLE_INSTITUTION.to_string()]),
        vec![]
    );
}

#[test]
fn patient_only_bundle_is_valid() {
    let b = broken(|b| b["entry"].as_array_mut().unwrap().truncate(1));
    assert_eq!(rules(&b), Vec::<&str>::new());
}

#[test]
fn profile_without_version_is_valid() {
    let b = broken(|b| b["meta"]["profile"] = json!([CLINS_PROFILE]));
    assert_eq!(rules(&b), Vec::<&str>::new());
}

#[test]
fn not_a_bundle() {
    assert_eq!(
        rules(&json!({"resourceType": "Patient"})),
        ["SIM-RESOURCE-TYPE"]
    );
    assert_eq!(rules(&json!([1, 2])), ["SIM-RESOURCE-TYPE"]);
}

#[test]
fn r0213_profile() {
    let b = broken(|b| b["meta"]["profile"] = json!(["http://example.org/Other"]));
    assert_eq!(rules(&b), ["R0213"]);
    let b = broken(|b| {
        b["meta"]
            .as_object_mut()
            .unwrap()
            .remove("profile")
            .map(drop)
            .unwrap()
    });
    assert_eq!(rules(&b), ["R0213"]);
}

#[test]
fn bundle_type() {
    let b = broken(|b| b["type"] = json!("document"));
    assert_eq!(rules(&b), ["SIM-BUNDLE-TYPE"]);
}

#[test]
fn r02151_identifier_system() {
    let b = broken(|b| b["identifier"]["system"] = json!("urn:other"));
    // Without a usable identifier the institution cross-check is skipped.
    assert_eq!(rules(&b), ["R02151"]);
}

#[test]
fn r2152_identifier_value() {
    for bad in [
        "1318814790^2024",
        "5318814790^2024^x",
        "1318814790^2019^x",
        "1318814790^2024^a_b",
    ] {
        let b = broken(|b| b["identifier"]["value"] = json!(bad));
        assert_eq!(rules(&b), ["R2152"], "{bad}");
    }
}

#[test]
fn timestamp_required() {
    let b = broken(|b| {
        b.as_object_mut()
            .unwrap()
            .remove("timestamp")
            .map(drop)
            .unwrap()
    });
    assert_eq!(rules(&b), ["SIM-TIMESTAMP"]);
}

#[test]
fn r0211_first_entry_is_patient() {
    let b = broken(|b| b["entry"].as_array_mut().unwrap().swap(0, 1));
    let r = rules(&b);
    assert!(r.contains(&"R0211"), "{r:?}");
}

#[test]
fn r1012_exactly_one_member_identifier() {
    let b = broken(|b| b["entry"][0]["resource"]["identifier"] = json!([]));
    assert_eq!(rules(&b), ["R1012"]);
    let b = broken(|b| {
        let id = b["entry"][0]["resource"]["identifier"][0].clone();
        b["entry"][0]["resource"]["identifier"] = json!([id.clone(), id]);
    });
    assert_eq!(rules(&b), ["R1012"]);
}

#[test]
fn r1013_member_identifier_format() {
    for bad in [
        "0001234:a:b:05",
        "00012345:a b:c:05",
        "00012345:a:b:5",
        "00012345:a:b",
    ] {
        let b = broken(|b| b["entry"][0]["resource"]["identifier"][0]["value"] = json!(bad));
        assert_eq!(rules(&b), ["R1013"], "{bad}");
    }
    let ok = broken(|b| {
        b["entry"][0]["resource"]["identifier"][0]["value"] = json!("00012345::１８７:")
    });
    assert_eq!(rules(&ok), Vec::<&str>::new());
}

#[test]
fn r02141_tag_missing() {
    let b = broken(|b| b["meta"]["tag"] = json!([]));
    assert_eq!(rules(&b), ["R02141"]);
}

#[test]
fn r02142_medication_request_not_allowed() {
    let b = broken(|b| b["meta"]["tag"][0]["code"] = json!("MedicationRequest"));
    assert_eq!(rules(&b), ["R02142"]);
}

#[test]
fn r02143_entries_match_the_tag() {
    let b = broken(|b| b["meta"]["tag"][0]["code"] = json!("Observation"));
    assert_eq!(rules(&b), ["R02143", "R02143"]);
    let b = broken(|b| b["entry"][2]["resource"]["resourceType"] = json!("AllergyIntolerance"));
    assert_eq!(rules(&b), ["R02143"]);
}

#[test]
fn full_url_present_and_unique() {
    let b = broken(|b| {
        b["entry"][1]
            .as_object_mut()
            .unwrap()
            .remove("fullUrl")
            .map(drop)
            .unwrap()
    });
    assert_eq!(rules(&b), ["SIM-FULLURL"]);
    let b = broken(|b| b["entry"][2]["fullUrl"] = b["entry"][1]["fullUrl"].clone());
    assert_eq!(rules(&b), ["bdl-7"]);
}

#[test]
fn r9011_institution_extension_missing() {
    let b = broken(|b| b["entry"][1]["resource"]["extension"] = json!([]));
    let issues = check_bundle(&b, &[]);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].rule, "R9011");
    assert!(issues[0].expression.starts_with("Bundle.entry[1]"));
}

#[test]
fn r9012_institution_number_format() {
    let b = broken(|b| {
        b["entry"][2]["resource"]["extension"][0]["valueIdentifier"]["value"] = json!("12345")
    });
    assert_eq!(rules(&b), ["R9012"]);
}

#[test]
fn institution_must_match_identifier() {
    let b = broken(|b| {
        b["entry"][1]["resource"]["extension"][0]["valueIdentifier"]["value"] = json!("1318814791")
    });
    assert_eq!(rules(&b), ["SIM-INSTITUTION-MATCH"]);
}

#[test]
fn institution_must_be_registered() {
    let issues = check_bundle(&valid_clins_bundle(), &["0000000000".to_string()]);
    let r: Vec<_> = issues.iter().map(|i| i.rule).collect();
    assert_eq!(r, ["SIM-INSTITUTION"]);
}

#[test]
fn document_bundle_checks_identifier_and_patient_only() {
    let doc = |entries: Value| {
        json!({
            "resourceType": "Bundle",
            "meta": {"profile": ["http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral"]},
            "identifier": {"system": BUNDLE_IDENTIFIER_SYSTEM, "value": "1318814790^2024^doc-1"},
            "type": "document",
            "entry": entries,
        })
    };
    let with_patient = doc(json!([
        {"fullUrl": "urn:uuid:a", "resource": {"resourceType": "Composition"}},
        {"fullUrl": "urn:uuid:b", "resource": {"resourceType": "Patient"}},
    ]));
    assert_eq!(rules(&with_patient), Vec::<&str>::new());
    let without = doc(json!([{"resource": {"resourceType": "Composition"}}]));
    assert_eq!(rules(&without), ["SIM-DOCUMENT-PATIENT"]);
    let mut wrong_type = with_patient.clone();
    wrong_type["type"] = json!("collection");
    assert_eq!(rules(&wrong_type), ["SIM-BUNDLE-TYPE"]);
}

#[test]
fn messages_never_echo_patient_values() {
    let b = broken(|b| {
        b["entry"][0]["resource"]["identifier"][0]["value"] = json!("SECRET-ID");
        b["identifier"]["value"] = json!("SECRET^VALUE");
    });
    for i in check_bundle(&b, &[]) {
        assert!(
            !i.message.contains("SECRET") && !i.expression.contains("SECRET"),
            "{i:?}"
        );
    }
    let e = parse_body(br#"{"name": "SECRET" "#).unwrap_err();
    assert_eq!(e.rule, "SIM-JSON");
    assert!(!e.message.contains("SECRET"));
    let e = parse_body(br#"{"a": "SECRET" x}"#).unwrap_err();
    assert!(!e.message.contains("SECRET"));
}

#[test]
fn bundle_identifier_and_institution_are_extracted() {
    let b = valid_clins_bundle();
    assert_eq!(
        bundle_identifier(&b),
        Some(crate::fixtures::SAMPLE_IDENTIFIER)
    );
    assert_eq!(identifier_institution(&b), Some(SAMPLE_INSTITUTION));
}
