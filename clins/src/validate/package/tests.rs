//! The built-in rule tables, without `../shared`: they load, they are the package's facts
//! (no prose), and they reject what the profiles require and pass what is complete.

use serde_json::{json, Value};

use super::*;
use crate::validate::{Severity, Validator};

const ORGANIZATION_ECS: &str = "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS";
const INSTITUTION_NO: &str = "http://jpfhir.jp/fhir/core/IdSystem/insurance-medical-institution-no";

fn errors(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {}", f.rule, f.path))
        .collect()
}

fn organization() -> Value {
    json!({"resourceType": "Organization", "meta": {"profile": [ORGANIZATION_ECS]},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">紹介元</div>"},
        "identifier": [{"system": INSTITUTION_NO, "value": "1318814790"}],
        "name": "試験病院", "address": [{"text": "東京都千代田区"}]})
}

#[test]
fn builtin_tables_load_with_the_ecs_profiles() {
    let p = Package::builtin();
    assert_eq!(p.id, "jp-eCSCLINS.r4#1.10.0");
    for url in [
        ORGANIZATION_ECS,
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS",
        "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Condition_eCS",
        "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_MedicationRequest_eCS",
    ] {
        assert!(p.profiles.contains_key(url), "{url} missing");
    }
    assert!(!p.value_sets.is_empty());
}

#[test]
fn builtin_tables_hold_no_prose() {
    for word in [
        "\"description\"",
        "\"definition\"",
        "\"comment\"",
        "\"mapping\"",
        "\"short\"",
        "\"text\":{\"status\"",
    ] {
        assert!(!BUILTIN_TABLES.contains(word), "{word} in the tables");
    }
}

#[test]
fn the_default_rejects_an_organization_without_its_institution_code() {
    let complete = organization();
    assert_eq!(
        errors(&Validator::new().validate_document(&complete)),
        Vec::<String>::new()
    );
    let mut missing = organization();
    missing["identifier"] = json!([{"system": "urn:oid:1.2.392.100495.20.3.51", "value": "1"}]);
    let found = errors(&Validator::new().validate_document(&missing));
    assert!(
        found.contains(&"SD-CARD Organization.identifier:medicalInstitutionCode".to_string()),
        "{found:?}"
    );
    // The hand-written rules alone have no Organization rules: only the tables catch it.
    assert_eq!(
        errors(&Validator::hand_written().validate_document(&missing)),
        Vec::<String>::new()
    );
}

#[test]
fn the_default_rejects_a_clins_condition_without_its_resource_identifier() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-examples/samples/06-ready-made-clins.json");
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(
        errors(&Validator::new().validate(&bundle)),
        Vec::<String>::new()
    );
    let mut broken = bundle.clone();
    let condition = broken["entry"][1]["resource"].as_object_mut().unwrap();
    assert_eq!(condition["resourceType"], "Condition");
    condition.remove("identifier");
    condition.remove("category");
    let found = errors(&Validator::new().validate(&broken));
    for want in [
        "SD-CARD Bundle.entry[1].resource.identifier:resourceIdentifier",
        "SD-CARD Bundle.entry[1].resource.category",
    ] {
        assert!(found.contains(&want.to_string()), "{want} not in {found:?}");
    }
    assert_eq!(
        errors(&Validator::hand_written().validate(&broken)),
        Vec::<String>::new()
    );
}

#[test]
fn tables_round_trip_through_their_json_form() {
    let rules: RuleSet = serde_json::from_str(BUILTIN_TABLES).unwrap();
    assert_eq!(rules.to_json_lines().unwrap(), BUILTIN_TABLES);
}

#[test]
fn broken_tables_are_refused() {
    let cut = &BUILTIN_TABLES[..BUILTIN_TABLES.len() / 2];
    assert!(matches!(
        Package::from_tables(cut),
        Err(PackageError::Tables(_))
    ));
}

#[test]
fn pruning_keeps_ancestors_and_discriminator_targets() {
    let sd = json!({"resourceType": "StructureDefinition", "url": "u", "snapshot": {"element": [
        {"id": "Organization", "min": 0, "max": "*"},
        {"id": "Organization.name", "min": 0, "max": "1", "base": {"max": "1"}},
        {"id": "Organization.identifier", "min": 0, "max": "*", "base": {"max": "*"},
         "slicing": {"discriminator": [{"type": "value", "path": "system"}]}},
        {"id": "Organization.identifier:code", "min": 1, "max": "1", "base": {"max": "*"}},
        {"id": "Organization.identifier:code.system", "min": 0, "max": "1", "base": {"max": "1"},
         "fixedUri": "s"},
        {"id": "Organization.identifier:code.value", "min": 0, "max": "1", "base": {"max": "1"}},
        {"id": "Organization.identifier:other", "min": 0, "max": "*", "base": {"max": "*"}},
        {"id": "Organization.identifier:other.system", "min": 0, "max": "1", "base": {"max": "1"}},
        {"id": "Organization.extension", "min": 0, "max": "*", "base": {"max": "*"},
         "slicing": {"discriminator": [{"type": "value", "path": "url"}]}},
        {"id": "Organization.extension:dept", "min": 1, "max": "1", "base": {"max": "*"},
         "type": [{"code": "Extension", "profile": ["p"]}]},
        {"id": "Organization.extension:dept.url", "min": 0, "max": "1", "base": {"max": "1"}}
    ]}});
    let p = ProfileRules::from_json(&sd).unwrap();
    let ids: Vec<&str> = p.elements.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Organization",
            "Organization.identifier",
            "Organization.identifier:code",
            "Organization.identifier:code.system",
            "Organization.extension",
            "Organization.extension:dept",
            "Organization.extension:dept.url"
        ]
    );
    assert_eq!(
        p.elements[2].max,
        Some(1),
        "a repeating element keeps its max"
    );
    let package = Package::from_rules(&RuleSet {
        package: "test#1".into(),
        profiles: vec![p],
        value_sets: Vec::new(),
    });
    let org = |ext: &str| {
        json!({"resourceType": "Organization", "meta": {"profile": ["u"]},
            "identifier": [{"system": "s", "value": "1"}], "extension": [{"url": ext}]})
    };
    let mut out = Vec::new();
    package.check(&org("p"), "Organization", &mut out);
    assert_eq!(out, []);
    package.check(&org("q"), "Organization", &mut out);
    assert_eq!(errors(&out), ["SD-CARD Organization.extension:dept"]);
    assert_eq!(package.skips(), Skips::default());
}
