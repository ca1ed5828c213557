//! Documents from a synthetic Composition input (`config-examples/samples/documents/`).

use crate::build::HoldReason;
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use tsunagi_adapters::{Adapter, FhirJsonAdapter, Prescription, RawInput};

use crate::build::{
    BuildContext, BuildSettings, BuiltBundle, BundleBuilder, BundleKind, DocumentKind, InputOrigin,
};

fn input() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-examples/samples/09-referral-document.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn builder() -> BundleBuilder {
    BundleBuilder::new(
        BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap(),
    )
}

fn ctx(key: &str) -> BuildContext<'_> {
    BuildContext {
        input_key: key,
        received_at: chrono::DateTime::parse_from_rfc3339("2025-06-02T10:15:00.250+09:00").unwrap(),
    }
}

fn document(v: &Value, rx: &[&Prescription]) -> Result<BuiltBundle, crate::build::Held> {
    builder().document(&ctx("k"), &InputOrigin::default(), v, rx)
}

fn section<'a>(sections: &'a Value, code: &str) -> &'a Value {
    sections
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"]["coding"][0]["code"] == code)
        .unwrap_or_else(|| panic!("section {code}"))
}

#[test]
fn a_referral_is_completed_into_the_profile_shape() {
    let rx = Prescription {
        drug_text: Some("追加錠".into()),
        authored: Some("2025-06-01".into()),
        days: Some(7),
        ..Prescription::default()
    };
    let b = document(&input(), &[&rx]).unwrap();
    assert_eq!(b.kind, BundleKind::Document(DocumentKind::Referral));
    assert_eq!(b.patient_ref, "Patient/tsg-doc-pt-01");
    let re =
        regex::Regex::new(r"^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$").unwrap();
    assert!(re.is_match(&b.identifier), "{}", b.identifier);
    let j: Value = serde_json::from_slice(&b.body).unwrap();
    assert_eq!(j["type"], "document");
    assert_eq!(
        j["meta"]["profile"][0],
        DocumentKind::Referral.bundle_profile()
    );
    assert_eq!(j["timestamp"], "2025-06-02T10:15:00.250+09:00");
    let entries = j["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 9);
    let urls: Vec<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert!(urls.iter().all(|u| u.starts_with("urn:uuid:")));
    let c = &entries[0]["resource"];
    assert_eq!(c["resourceType"], "Composition");
    assert_eq!(
        c["meta"]["profile"][0],
        DocumentKind::Referral.composition_profile()
    );
    assert_eq!(c["title"], "診療情報提供書");
    assert_eq!(c["type"]["coding"][0]["display"], "診療情報提供書");
    assert_eq!(c["event"][0]["code"][0]["text"], "診療情報提供書発行");
    assert_eq!(c["extension"][0]["valueString"], "1.0");
    let patient_url = entries
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .unwrap()["fullUrl"]
        .clone();
    assert_eq!(c["subject"]["reference"], patient_url);
    let structured = &section(&c["section"], "300")["section"];
    assert_eq!(
        section(structured, "950")["code"]["coding"][0]["display"],
        "紹介目的セクション"
    );
    let meds = section(structured, "430")["entry"].as_array().unwrap();
    assert_eq!(meds.len(), 2, "the input's and the canonical prescription");
    for e in entries.iter().skip(1) {
        let r = &e["resource"];
        assert!(r["meta"]["profile"][0].is_string(), "{}", r["resourceType"]);
        if matches!(
            r["resourceType"].as_str(),
            Some("Condition" | "MedicationRequest")
        ) {
            assert_eq!(r["extension"][0]["valueIdentifier"]["value"], "1318814790");
        }
    }
    // references now point at fullUrls
    let text = String::from_utf8(b.body.clone()).unwrap();
    assert!(
        !text.contains("\"Patient/tsg-doc-pt-01\""),
        "old references remain"
    );
}

#[test]
fn the_same_document_gives_the_same_bytes_and_a_correction_replaces_it() {
    let a = document(&input(), &[]).unwrap();
    assert_eq!(a, document(&input(), &[]).unwrap());
    let mut corrected = input();
    corrected["entry"][0]["resource"]["date"] = json!("2025-06-02T09:00:00+09:00");
    assert_eq!(a.identifier, document(&corrected, &[]).unwrap().identifier);
}

#[test]
fn flattened_records_of_one_input_build_the_document() {
    let bytes = serde_json::to_vec(&input()).unwrap();
    let parsed = FhirJsonAdapter.parse(&RawInput {
        bytes: &bytes,
        origin: "t",
    });
    let r = builder().build(
        &ctx("k"),
        &parsed.records,
        &BTreeMap::<String, Value>::new(),
    );
    assert!(r.held.is_empty(), "{:?}", r.held);
    let [b] = r.bundles.as_slice() else {
        panic!("{:?}", r.bundles)
    };
    assert_eq!(b.kind, BundleKind::Document(DocumentKind::Referral));
}

#[test]
fn missing_parts_hold_the_document_with_the_reason() {
    let mut no_purpose = input();
    no_purpose["entry"][0]["resource"]["section"][2]["section"][0]["text"]["div"] =
        json!("<div xmlns=\"http://www.w3.org/1999/xhtml\"> </div>");
    let h = document(&no_purpose, &[]).unwrap_err();
    assert_eq!(h.code, HoldReason::DocumentIncomplete);
    assert!(h.reason_en.contains("950"), "{}", h.reason_en);

    let mut no_to = input();
    no_to["entry"][0]["resource"]["section"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    assert!(document(&no_to, &[]).unwrap_err().reason_en.contains("910"));

    let mut no_custodian = input();
    no_custodian["entry"][0]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("custodian");
    assert!(document(&no_custodian, &[])
        .unwrap_err()
        .reason_en
        .contains("custodian"));

    let mut no_insurance = input();
    no_insurance["entry"][1]["resource"]["identifier"] = json!([]);
    assert_eq!(
        document(&no_insurance, &[]).unwrap_err().code,
        HoldReason::PatientNoInsuranceId
    );

    let mut unknown = input();
    unknown["entry"][0]["resource"]["type"]["coding"][0]["code"] = json!("11488-4");
    assert!(document(&unknown, &[])
        .unwrap_err()
        .reason_en
        .contains("57133-1"));
}

#[test]
fn a_discharge_summary_needs_its_sections_and_stay() {
    let mut d = input();
    let c = &mut d["entry"][0]["resource"];
    c["type"]["coding"][0]["code"] = json!("18842-5");
    let h = document(&d, &[]).unwrap_err();
    assert!(
        h.reason_en.contains("event.period.start"),
        "{}",
        h.reason_en
    );
    let c = &mut d["entry"][0]["resource"];
    c["event"] = json!([{"period": {"start": "2025-05-01", "end": "2025-05-20"}}]);
    let h = document(&d, &[]).unwrap_err();
    assert!(
        h.reason_en.contains("322") && h.reason_en.contains("444"),
        "{}",
        h.reason_en
    );
    let codes = [
        "322", "342", "352", "312", "333", "324", "344", "444", "424",
    ];
    let extra: Vec<Value> = codes.iter().map(|code| json!({"code": {"coding": [{
        "system": "http://jpfhir.jp/fhir/clins/CodeSystem/document-section", "code": code}]},
        "text": {"status": "additional", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">記載</div>"}})).collect();
    d["entry"][0]["resource"]["section"][2]["section"]
        .as_array_mut()
        .unwrap()
        .extend(extra);
    let b = document(&d, &[]).unwrap();
    assert_eq!(b.kind, BundleKind::Document(DocumentKind::DischargeSummary));
    let j: Value = serde_json::from_slice(&b.body).unwrap();
    let c = &j["entry"][0]["resource"];
    assert_eq!(c["category"][0]["coding"][0]["code"], "DISCHARGE");
    assert_eq!(
        section(&section(&c["section"], "300")["section"], "444")["entry"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_checkup_report_takes_its_profile_and_type() {
    let mut d = input();
    d["entry"][0]["resource"]["type"]["coding"][0]["code"] = json!("53576-5");
    let b = document(&d, &[]).unwrap();
    let j: Value = serde_json::from_slice(&b.body).unwrap();
    assert_eq!(
        j["meta"]["profile"][0],
        "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eCheckupGeneral"
    );
    assert_eq!(j["entry"][0]["resource"]["title"], "健診結果報告書");
}

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config-examples/samples")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn resources<'a>(j: &'a Value, kind: &str) -> Vec<&'a Value> {
    j["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn systems(r: &Value) -> Vec<&str> {
    r["identifier"]
        .as_array()
        .map(|l| l.iter().filter_map(|i| i["system"].as_str()).collect())
        .unwrap_or_default()
}

/// What JP_Organization_eCS, JP_Condition_eCS and JP_MedicationRequest_eCS require of every
/// entry (1.10.0): the 医療機関番号, resourceIdentifier and category, Rp number, order in Rp,
/// authoredOn and dosageInstruction.
fn assert_profiles_complete(j: &Value) {
    for o in resources(j, "Organization") {
        assert!(
            systems(o).contains(&crate::build::clins::INSTITUTION_SYSTEM),
            "{o}"
        );
    }
    for c in resources(j, "Condition") {
        assert!(systems(c).contains(&crate::build::clins::RESOURCE_INSTANCE_ID_SYSTEM));
        assert_eq!(c["category"][0]["coding"][0]["code"], "encounter-diagnosis");
        assert!(c["verificationStatus"]["coding"][0]["display"].is_string());
    }
    for m in resources(j, "MedicationRequest") {
        let s = systems(m);
        assert!(s.contains(&super::entries::RP_NUMBER_SYSTEM), "{m}");
        assert!(s.contains(&super::entries::ORDER_IN_RP_SYSTEM), "{m}");
        assert!(m["authoredOn"].is_string() && m["dosageInstruction"][0].is_object());
    }
}

#[test]
fn the_demo_documents_carry_what_the_profiles_require() {
    let cases = [
        ("09-referral-document.json", DocumentKind::Referral, 2, 1),
        (
            "10-discharge-summary.json",
            DocumentKind::DischargeSummary,
            1,
            1,
        ),
        ("11-checkup-report.json", DocumentKind::CheckupGeneral, 1, 0),
    ];
    for (name, kind, organizations, medications) in cases {
        let b = document(&sample(name), &[]).unwrap_or_else(|h| panic!("{name}: {h:?}"));
        assert_eq!(b.kind, BundleKind::Document(kind), "{name}");
        let j: Value = serde_json::from_slice(&b.body).unwrap();
        assert_eq!(resources(&j, "Organization").len(), organizations, "{name}");
        assert_eq!(
            resources(&j, "MedicationRequest").len(),
            medications,
            "{name}"
        );
        assert_profiles_complete(&j);
    }
    // The referral's author takes the agent's number, its addressee the one its extensions
    // compose (13 + 1 + 1234567).
    let j: Value = serde_json::from_slice(
        &document(&sample("09-referral-document.json"), &[])
            .unwrap()
            .body,
    )
    .unwrap();
    let numbers: Vec<&str> = resources(&j, "Organization")
        .iter()
        .filter_map(|o| o["identifier"][0]["value"].as_str())
        .collect();
    assert_eq!(numbers, ["1318814790", "1311234567"]);
}

#[test]
fn a_canonical_prescription_joins_the_rps_and_one_without_a_date_holds_the_document() {
    let rx = Prescription {
        drug_text: Some("追加錠".into()),
        authored: Some("2025-06-01".into()),
        ..Prescription::default()
    };
    let b = document(&input(), &[&rx]).unwrap();
    let j: Value = serde_json::from_slice(&b.body).unwrap();
    assert_profiles_complete(&j);
    let rps: Vec<&str> = resources(&j, "MedicationRequest")
        .iter()
        .filter_map(|m| {
            m["identifier"]
                .as_array()?
                .iter()
                .find(|i| i["system"] == super::entries::RP_NUMBER_SYSTEM)?["value"]
                .as_str()
        })
        .collect();
    assert_eq!(rps, ["1", "2"], "different usage: two Rps");
    let undated = Prescription {
        authored: None,
        ..rx
    };
    let h = document(&input(), &[&undated]).unwrap_err();
    assert_eq!(h.code, HoldReason::MedicationIncomplete);
    assert!(h.reason_en.contains("authoredOn") && h.reason_ja.contains("処方日"));
}

#[test]
fn an_addressee_without_its_number_holds_the_referral_by_name() {
    let mut d = input();
    for e in d["entry"].as_array_mut().unwrap() {
        if e["resource"]["id"] == "tsg-doc-org-to" {
            e["resource"].as_object_mut().unwrap().remove("extension");
        }
    }
    let h = document(&d, &[]).unwrap_err();
    assert_eq!(h.code, HoldReason::DocumentIncomplete);
    assert!(
        h.reason_en.contains("identifier:medicalInstitutionCode"),
        "{}",
        h.reason_en
    );
    let mut undated = input();
    for e in undated["entry"].as_array_mut().unwrap() {
        if e["resource"]["resourceType"] == "MedicationRequest" {
            e["resource"].as_object_mut().unwrap().remove("authoredOn");
        }
    }
    let h = document(&undated, &[]).unwrap_err();
    assert!(h.reason_en.contains("authoredOn"), "{}", h.reason_en);
}
