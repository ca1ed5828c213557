use std::path::{Path, PathBuf};

use crate::build::HoldReason;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tsunagi_adapters::{Adapter, FhirJsonAdapter, RawInput};

use super::*;
use crate::validate::{BundleValidator, Severity};

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config-examples/samples")
}

fn settings() -> BuildSettings {
    BuildSettings::new("1318814790", Some(("01".into(), "内科".into()))).unwrap()
}

fn received_at() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339("2025-06-02T10:15:00.250+09:00").unwrap()
}

fn records(bytes: &[u8]) -> Vec<Record> {
    let parsed = FhirJsonAdapter.parse(&RawInput {
        bytes,
        origin: "test",
    });
    assert!(!parsed.has_fatal(), "{:?}", parsed.problems);
    parsed.records
}

fn build_bytes(bytes: &[u8], dir: &dyn PatientDirectory) -> BuildResult {
    let key = hex::encode(Sha256::digest(bytes));
    let ctx = BuildContext {
        input_key: &key,
        received_at: received_at(),
    };
    BundleBuilder::new(settings()).build(&ctx, &records(bytes), dir)
}

fn build_json(input: Value, dir: &dyn PatientDirectory) -> BuildResult {
    build_bytes(input.to_string().as_bytes(), dir)
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).unwrap()
}

fn body(bundle: &BuiltBundle) -> Value {
    serde_json::from_slice(&bundle.body).unwrap()
}

fn assert_valid(bundle: &BuiltBundle) {
    let validator = BundleValidator::new();
    let findings = match bundle.kind {
        BundleKind::Document(_) => validator.validate_document(&body(bundle)),
        _ => validator.validate(&body(bundle)),
    };
    let errors: Vec<_> = findings
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", bundle.identifier);
}

/// A Patient with everything a JP_Patient_eCS needs to head a bundle.
fn patient(id: &str) -> Value {
    json!({"resourceType":"Patient","id":id,"identifier":[{
        "system":clins::INSURANCE_MEMBER_ID_SYSTEM,"value":"00012345:あいう:１８７:05"}],
        "name":[{"use":"official","text":"試験 花子","family":"試験","given":["花子"]}],
        "gender":"female","birthDate":"1960-01-02","address":[{"text":"東京都千代田区"}]})
}

fn condition(patient_ref: &str, text: &str) -> Value {
    json!({"resourceType":"Condition","code":{"text":text},"onsetDateTime":"2025-01-01",
           "subject":{"reference":patient_ref}})
}

fn observation(patient_ref: &str, at: &str, specimen: &str) -> Value {
    json!({"resourceType":"Observation","effectiveDateTime":at,"specimen":{"reference":specimen},
           "subject":{"reference":patient_ref}})
}

fn collection(resources: Vec<Value>) -> Value {
    let entry: Vec<_> = resources
        .into_iter()
        .map(|r| json!({"resource": r}))
        .collect();
    json!({"resourceType":"Bundle","type":"collection","entry":entry})
}

#[test]
fn debug_output_shows_no_patient_data() {
    let result = build_bytes(&sample("01-conditions-bundle.json"), &NoPatients);
    let shown = format!("{result:?}");
    assert!(shown.contains("Condition"), "{shown}");
    for secret in ["tsg-pt-0001", "テスト", "00012345", "1960"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[test]
fn settings_are_checked() {
    assert!(BuildSettings::new("1318814790", None).is_ok());
    assert_eq!(
        BuildSettings::new("131881479", None),
        Err(SettingsError::InstitutionNumber)
    );
    assert_eq!(
        BuildSettings::new("5318814790", None),
        Err(SettingsError::InstitutionNumber)
    );
    assert_eq!(
        BuildSettings::new("1348814790", None),
        Err(SettingsError::InstitutionNumber)
    );
    let bad_dept = Some(("1".to_string(), "内科".to_string()));
    assert_eq!(
        BuildSettings::new("1318814790", bad_dept),
        Err(SettingsError::Department)
    );
}

#[test]
fn building_twice_gives_identical_bytes() {
    for name in [
        "01-conditions-bundle.json",
        "03-lab-report.json",
        "06-ready-made-clins.json",
    ] {
        let input = sample(name);
        assert_eq!(
            build_bytes(&input, &NoPatients),
            build_bytes(&input, &NoPatients),
            "{name}"
        );
    }
}

#[test]
fn identifier_is_stable_per_patient_but_full_urls_follow_the_input() {
    let first = build_json(
        collection(vec![patient("p1"), condition("Patient/p1", "a")]),
        &NoPatients,
    );
    let second = build_json(
        collection(vec![
            patient("p1"),
            condition("Patient/p1", "a"),
            condition("Patient/p1", "b"),
        ]),
        &NoPatients,
    );
    let (a, b) = (&first.bundles[0], &second.bundles[0]);
    assert_eq!(
        a.identifier, b.identifier,
        "a re-send replaces the patient's bundle"
    );
    assert!(a.identifier.starts_with("1318814790^2025^C"));
    assert_ne!(
        body(a)["entry"][0]["fullUrl"],
        body(b)["entry"][0]["fullUrl"]
    );
}

#[test]
fn a_sample_condition_bundle_is_complete() {
    let result = build_bytes(&sample("01-conditions-bundle.json"), &NoPatients);
    assert!(result.held.is_empty(), "{:?}", result.held);
    assert_eq!(result.patients.len(), 1);
    assert_eq!(result.patients[0].0, "Patient/tsg-pt-0001");
    let [bundle] = result.bundles.as_slice() else {
        panic!("{:?}", result.bundles)
    };
    assert_eq!(bundle.resource_type, "Condition");
    assert_eq!(bundle.patient_ref, "Patient/tsg-pt-0001");
    assert!(bundle
        .body
        .starts_with(br#"{"resourceType":"Bundle","meta":"#));
    let json = body(bundle);
    assert_eq!(json["timestamp"], "2025-06-02T10:15:00.250+09:00");
    assert_eq!(json["meta"]["lastUpdated"], json["timestamp"]);
    assert_eq!(json["meta"]["tag"][0]["code"], "Condition");
    assert_eq!(json["identifier"]["value"], bundle.identifier.as_str());
    let entries = json["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let patient_url = entries[0]["fullUrl"].as_str().unwrap();
    assert!(patient_url.starts_with("urn:uuid:"));
    for entry in &entries[1..] {
        let resource = &entry["resource"];
        assert_eq!(resource["subject"]["reference"], patient_url);
        let urls: Vec<_> = resource["extension"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["url"].as_str().unwrap())
            .collect();
        // the sample already had a department: it is not added twice
        assert_eq!(
            urls,
            [clins::DEPARTMENT_EXTENSION, clins::INSTITUTION_EXTENSION]
        );
        // clinical content is copied as it was
        assert_eq!(resource["clinicalStatus"]["coding"][0]["display"], "Active");
    }
    assert_valid(bundle);
}

#[test]
fn observations_group_by_report_conditions_and_allergies_by_patient() {
    let input = collection(vec![
        patient("p1"),
        patient("p2"),
        condition("Patient/p1", "a"),
        condition("Patient/p2", "b"),
        condition("Patient/p1", "c"),
        json!({"resourceType":"AllergyIntolerance","code":{"text":"x"},"patient":{"reference":"Patient/p1"}}),
        observation("Patient/p1", "2025-06-01T09:00:00+09:00", "#serum"),
        observation("Patient/p1", "2025-06-01T09:00:00+09:00", "#serum"),
        observation("Patient/p1", "2025-06-01T09:00:00+09:00", "#urine"),
        observation("Patient/p1", "2025-06-02T09:00:00+09:00", "#serum"),
    ]);
    let result = build_json(input, &NoPatients);
    let mut shape: Vec<_> = result
        .bundles
        .iter()
        .map(|b| {
            (
                b.resource_type.as_str(),
                b.patient_ref.as_str(),
                body(b)["entry"].as_array().unwrap().len() - 1,
            )
        })
        .collect();
    shape.sort();
    assert_eq!(
        shape,
        [
            ("AllergyIntolerance", "Patient/p1", 1),
            ("Condition", "Patient/p1", 2),
            ("Condition", "Patient/p2", 1),
            ("Observation", "Patient/p1", 1),
            ("Observation", "Patient/p1", 1),
            ("Observation", "Patient/p1", 2),
        ]
    );
    let mut ids: Vec<_> = result.bundles.iter().map(|b| &b.identifier).collect();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every report unit has its own identifier");
}

#[test]
fn a_patient_alone_builds_no_bundle() {
    let result = build_bytes(&sample("04-patient-only.json"), &NoPatients);
    assert!(result.bundles.is_empty());
    assert!(result.held.is_empty());
    assert_eq!(result.patients.len(), 1);
    assert_eq!(result.patients[0].0, "Patient/tsg-pt-0004");
}

#[test]
fn an_unknown_patient_is_held_and_a_known_one_comes_from_the_directory() {
    let condition = sample("05-condition-for-known-patient.json");
    let held = build_bytes(&condition, &NoPatients);
    assert!(held.bundles.is_empty());
    assert_eq!(held.held.len(), 1);
    assert_eq!(held.held[0].reason_en, "patient not yet received");
    assert_eq!(held.held[0].resource_type, "Condition");

    let known: BTreeMap<String, Value> = build_bytes(&sample("04-patient-only.json"), &NoPatients)
        .patients
        .into_iter()
        .collect();
    let built = build_bytes(&condition, &known);
    assert!(built.held.is_empty());
    let [bundle] = built.bundles.as_slice() else {
        panic!()
    };
    assert_eq!(bundle.patient_ref, "Patient/tsg-pt-0004");
    assert_eq!(body(bundle)["entry"][0]["resource"]["id"], "tsg-pt-0004");
    assert_valid(bundle);

    let no_subject = build_json(json!({"resourceType":"Condition"}), &known);
    assert!(no_subject.held[0].reason_en.contains("names no patient"));
}

#[test]
fn a_fhir_patient_without_address_is_held_like_an_hl7_one() {
    let mut p = patient("p1");
    p.as_object_mut().unwrap().remove("address");
    let input = collection(vec![p, condition("Patient/p1", "胃炎")]);
    let result = build_json(input, &NoPatients);
    assert!(result.bundles.is_empty());
    let holds: Vec<(&str, HoldReason, Option<&str>)> = result
        .held
        .iter()
        .map(|h| (h.resource_type.as_str(), h.code, h.patient_ref.as_deref()))
        .collect();
    assert_eq!(
        holds,
        [
            ("Patient", HoldReason::PatientIncomplete, Some("Patient/p1")),
            (
                "Condition",
                HoldReason::PatientIncomplete,
                Some("Patient/p1")
            ),
        ]
    );
    // The reason is the HL7 v2 path's, word for word.
    let hl7 = canonical::sendable(&result.patients[0].1, "Condition").unwrap_err();
    assert_eq!(result.held[1].reason_en, hl7.reason_en);
    assert_eq!(result.held[1].reason_ja, hl7.reason_ja);
    // Remembered all the same: a later complete Patient completes the items.
    assert_eq!(result.patients.len(), 1);

    // Later lone resources of a known but incomplete patient are held too.
    let known: BTreeMap<String, Value> = result.patients.into_iter().collect();
    let later = build_json(condition("Patient/p1", "胃炎"), &known);
    assert!(later.bundles.is_empty());
    assert_eq!(later.held[0].code, HoldReason::PatientIncomplete);

    // A ready-made JP_Bundle_CLINS headed by such a Patient is held, not passed through.
    let mut ready: Value = serde_json::from_slice(&sample("06-ready-made-clins.json")).unwrap();
    ready["entry"][0]["resource"]
        .as_object_mut()
        .unwrap()
        .remove("address");
    let result = build_json(ready, &NoPatients);
    assert!(result.bundles.is_empty());
    assert_eq!(result.held[0].code, HoldReason::PatientIncomplete);
}

#[test]
fn a_fhir_bundle_with_an_impossible_birth_date_is_not_sendable() {
    let mut p = patient("p1");
    p["birthDate"] = json!("1985-13-45");
    let result = build_json(
        collection(vec![p, condition("Patient/p1", "胃炎")]),
        &NoPatients,
    );
    let [bundle] = result.bundles.as_slice() else {
        panic!("{:?}", result.held)
    };
    let findings = BundleValidator::new().validate(&body(bundle));
    let bad: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "TSG-PRIMITIVE")
        .collect();
    assert_eq!(bad.len(), 1, "{findings:#?}");
    assert_eq!(
        (bad[0].severity, bad[0].path.as_str()),
        (Severity::Error, "Bundle.entry[0].resource.birthDate")
    );
    assert!(!bad[0].to_string().contains("1985"));
}

#[test]
fn an_identifier_only_subject_is_matched_in_the_input() {
    let mut c = condition("unused", "a");
    c["subject"] = json!({"identifier":{"system":clins::INSURANCE_MEMBER_ID_SYSTEM,"value":"00012345:あいう:１８７:05"}});
    let result = build_json(collection(vec![patient("p1"), c]), &NoPatients);
    let [bundle] = result.bundles.as_slice() else {
        panic!("{:?}", result.held)
    };
    let json = body(bundle);
    assert_eq!(
        json["entry"][1]["resource"]["subject"]["reference"],
        json["entry"][0]["fullUrl"]
    );
}

#[test]
fn medication_requests_and_other_types_are_held() {
    let result = build_bytes(&sample("08-medication-request.json"), &NoPatients);
    assert!(result.bundles.is_empty());
    assert_eq!(result.held.len(), 1);
    assert_eq!(result.held[0].resource_type, "MedicationRequest");
    let other = build_json(json!({"resourceType":"Encounter"}), &NoPatients);
    assert_eq!(other.held[0].resource_type, "Encounter");
    let canonical = BundleBuilder::new(settings()).build(
        &BuildContext {
            input_key: "k",
            received_at: received_at(),
        },
        &[Record::Condition(Default::default())],
        &NoPatients,
    );
    assert_eq!(canonical.held[0].resource_type, "Condition");
}

#[test]
fn a_ready_made_clins_bundle_passes_through() {
    let input = sample("06-ready-made-clins.json");
    let result = build_bytes(&input, &NoPatients);
    let [bundle] = result.bundles.as_slice() else {
        panic!()
    };
    let original: Value = serde_json::from_slice(&input).unwrap();
    assert_eq!(body(bundle), original);
    assert_eq!(bundle.body, serde_json::to_vec(&original).unwrap());
    assert_eq!(bundle.identifier, "1318814790^2025^TSG-READY-0006");
    assert_eq!(bundle.resource_type, "Condition");
    assert_eq!(bundle.patient_ref, "Patient/tsg-pt-0006");
    assert_eq!(result.patients[0].0, "Patient/tsg-pt-0006");
}

#[test]
fn every_sample_matches_expected_toml_and_every_bundle_validates() {
    let expected: toml::Table =
        toml::from_str(&std::fs::read_to_string(samples_dir().join("expected.toml")).unwrap())
            .unwrap();
    let files = expected["files"].as_table().unwrap();
    let mut known = BTreeMap::new();
    for (name, want) in files {
        let bytes = sample(name);
        let parsed = FhirJsonAdapter.parse(&RawInput {
            bytes: &bytes,
            origin: name,
        });
        if want.get("quarantined").and_then(toml::Value::as_bool) == Some(true) {
            assert!(parsed.records.is_empty() && parsed.has_fatal(), "{name}");
            continue;
        }
        let result = build_bytes(&bytes, &known);
        let count =
            |key: &str| want.get(key).and_then(toml::Value::as_integer).unwrap_or(0) as usize;
        // both delivered and rejected bundles are built; the platform decides
        assert_eq!(
            result.bundles.len(),
            count("delivered") + count("rejected"),
            "{name}"
        );
        assert_eq!(result.held.len(), count("held"), "{name}");
        assert_eq!(result.patients.len(), count("patients"), "{name}");
        result.bundles.iter().for_each(assert_valid);
        known.extend(result.patients);
    }
}

#[test]
fn ig_examples_with_their_patient_build_valid_bundles() {
    // The reference material lives beside the checkout; TSUNAGI_SHARED_DIR overrides that.
    let shared = std::env::var_os("TSUNAGI_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("examples/jp-clins");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        println!(
            "SKIPPED: IG examples not found at {} (../shared absent)",
            dir.display()
        );
        return;
    };
    let mut names: Vec<_> = listing.map(|f| f.unwrap().path()).collect();
    names.sort();
    let makino = names
        .iter()
        .find(|p| p.ends_with("Patient-Example-JP-Patient-eCS-MAKINO.json"));
    let Some(makino) = makino else {
        println!("SKIPPED: the MAKINO patient example is absent");
        return;
    };
    let patient: Value = serde_json::from_slice(&std::fs::read(makino).unwrap()).unwrap();
    let mut built = 0;
    let mut broken = Vec::new();
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let kind = json["resourceType"].as_str().unwrap_or_default();
        if name.contains("ErrorExample") || !clins::FIVE_INFO_TYPES.contains(&kind) {
            continue;
        }
        let result = build_json(collection(vec![patient.clone(), json]), &NoPatients);
        for bundle in &result.bundles {
            built += 1;
            let errors: Vec<_> = BundleValidator::new()
                .validate(&body(bundle))
                .into_iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.rule)
                .collect();
            if !errors.is_empty() {
                broken.push((name.clone(), errors));
            }
        }
    }
    println!("built {built} bundles from IG examples");
    assert!(built >= 10, "only {built} IG examples built");
    // The builder adds administrative content only; what the examples themselves lack stays
    // an error: under 1.10.0 the status codings need a display (SD-CARD; seven examples were
    // written for older versions), ABDPAIN has no onsetDateTime (JP_Bundle_CLINS R9013C), and
    // the Obs-Common text-only example is not a lab result (no local code R6021, no performer
    // R9019O; and, under the profile rules now checked by default, JP_Observation_LabResult_eCS
    // requires code.coding, effective[x] and specimen, which a text-only observation lacks).
    let expected: Vec<(String, Vec<&str>)> = [
        (
            "AllergyIntolerance-Example-JP-Allergy-eCS-01.json",
            vec!["SD-CARD"],
        ),
        (
            "AllergyIntolerance-Example-JP-Allergy-eCS-02.json",
            vec!["SD-CARD"],
        ),
        (
            "Condition-Example-JP-Condition-eCS-ABDPAIN.json",
            vec!["R9013C", "SD-CARD", "SD-CARD"],
        ),
        (
            "Condition-Example-JP-Condition-eCS-ANGINA.json",
            vec!["SD-CARD", "SD-CARD"],
        ),
        (
            "Condition-Example-JP-Condition-eCS-Fx.json",
            vec!["SD-CARD", "SD-CARD"],
        ),
        (
            "Condition-Example-JP-Condition-eCS-cc1-Referral01.json",
            vec!["SD-CARD", "SD-CARD"],
        ),
        (
            "Condition-Example-JP-Condition-eCS-cc2-Referral01.json",
            vec!["SD-CARD", "SD-CARD"],
        ),
        (
            "Observation-Example-JP-Obs-Common-eCS-PS-textOnly01.json",
            vec!["R6021", "R9019O", "SD-CARD", "SD-CARD", "SD-CARD"],
        ),
    ]
    .into_iter()
    .map(|(n, r)| (n.to_string(), r))
    .collect();
    assert_eq!(broken, expected);
}
