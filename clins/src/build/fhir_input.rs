//! Building from FHIR JSON input: resources grouped into report units, ready-made
//! JP_Bundle_CLINS passed through, document bundles handed to [`super::documents`].
//!
//! - an input that already is a JP_Bundle_CLINS passes through unchanged (compact JSON);
//! - Patients are returned in [`BuildResult::patients`]; a Patient alone builds no bundle;
//! - Conditions: one bundle per patient; AllergyIntolerances: one per patient; Observations:
//!   one per lab report (patient + effectiveDateTime + specimen);
//! - a resource whose patient is neither in the input nor in the [`PatientDirectory`] is
//!   [`Held`]; so are MedicationRequest (sent only inside documents) and other types;
//! - one rule for FHIR and HL7 v2: a Patient that cannot head a bundle
//!   ([`super::canonical::sendable`]: a single well-formed 被保険者識別子, name, gender, birth
//!   date, address) is held (`patient-no-insurance-id` / `patient-incomplete`, with its
//!   reference), and so is every resource of that patient and a ready-made JP_Bundle_CLINS
//!   headed by it; they are built again when a complete Patient arrives. Unlike an SS-MIX2 PID,
//!   a FHIR Patient is not completed from an earlier input: the input's Patient is what the EHR
//!   says now;
//! - with a [`Terminology`] (the agent always has one), the codes of Conditions and
//!   AllergyIntolerances go through the map stage ([`super::fhir_codes`]) before grouping.

use crate::build::HoldReason;
use std::collections::BTreeMap;

use serde_json::Value;
use tsunagi_adapters::FhirResource;

use super::assemble::{assemble, Unit};
use super::canonical::sendable;
use super::canonical::InputOrigin;
use super::fhir_codes;
use super::patients::{self, PatientIndex, ResolvedPatient};
use super::terminology::Terminology;
use super::{
    clins, BuildContext, BuildResult, BuildSettings, BuiltBundle, BundleKind, Held,
    PatientDirectory,
};

/// Group key: (resource type, patient key, report key).
type GroupKey = (String, String, String);

/// Builds the FHIR resources of one input (not documents) into `result`.
pub(super) fn build(
    settings: &BuildSettings,
    ctx: &BuildContext<'_>,
    term: Option<&dyn Terminology>,
    origin: &InputOrigin,
    fhir: &[&FhirResource],
    dir: &dyn PatientDirectory,
    result: &mut BuildResult,
) {
    let is_patient = |f: &FhirResource| f.resource_type == "Patient";
    let patients = || fhir.iter().copied().filter(|f| is_patient(f));
    for patient in patients() {
        remember_patient(&mut result.patients, &patient.json);
    }
    let index = PatientIndex::new(patients());
    for patient in index.patients() {
        if let Err(mut held) = sendable(&patient.json, "Patient") {
            held.patient_ref = Some(patient.key.clone());
            result.held.push(held);
        }
    }

    let mut sendable_resources: Vec<(GroupKey, ResolvedPatient, Value)> = Vec::new();
    for resource in fhir.iter().filter(|f| !is_patient(f)) {
        let kind = resource.resource_type.as_str();
        if kind == "Bundle" {
            bundle_record(resource, result);
            continue;
        }
        if !clins::FIVE_INFO_TYPES.contains(&kind) {
            result.held.push(type_held(kind));
            continue;
        }
        let Some(patient) = index.resolve(&resource.json, dir) else {
            result.held.push(patient_held(kind, &resource.json));
            continue;
        };
        if let Err(mut held) = sendable(&patient.json, kind) {
            held.patient_ref = Some(patient.key.clone());
            result.held.push(held);
            continue;
        }
        let mut json = resource.json.clone();
        if let Some(term) = term {
            if let Err(mut held) = fhir_codes::recode(term, origin, &mut json) {
                held.patient_ref = Some(patient.key.clone());
                result.held.push(held);
                continue;
            }
        }
        let key = (kind.to_string(), patient.key.clone(), report_key(&json));
        sendable_resources.push((key, patient, json));
    }
    let mut groups: BTreeMap<GroupKey, (ResolvedPatient, Vec<&Value>)> = BTreeMap::new();
    for (key, patient, json) in sendable_resources.iter() {
        groups
            .entry(key.clone())
            .or_insert_with(|| (patient.clone(), Vec::new()))
            .1
            .push(json);
    }
    for ((kind, _, report), (patient, resources)) in &groups {
        let unit = Unit {
            resource_type: kind,
            patient,
            report_key: report,
            resources: resources.clone(),
        };
        result.bundles.push(assemble(settings, ctx, dir, &unit));
    }
}

/// A Bundle record: a ready-made JP_Bundle_CLINS passes through; anything else is held.
fn bundle_record(bundle: &FhirResource, result: &mut BuildResult) {
    let json = &bundle.json;
    if !clins::declares_profile(json, clins::BUNDLE_PROFILE) {
        result.held.push(Held {
            reason_en: "this bundle is neither a JP_Bundle_CLINS nor a document whose first entry is a Composition".into(),
            reason_ja: "JP_Bundle_CLINSでも、最初のentryがCompositionの文書Bundleでもありません".into(),
            resource_type: "Bundle".into(),
            code: HoldReason::Unsupported,
            patient_ref: None,
        });
        return;
    }
    let first = json.pointer("/entry/0/resource");
    let patient_ref = first
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
        .map(|id| format!("Patient/{id}"));
    if let Some(patient) = first.filter(|p| p.get("resourceType") == Some(&"Patient".into())) {
        remember_patient(&mut result.patients, patient);
        if let Err(mut held) = sendable(patient, "Bundle") {
            held.patient_ref = patient_ref;
            result.held.push(held);
            return;
        }
    }
    let identifier = json.get("identifier").map(|i| i.get(0).unwrap_or(i));
    let tag = json
        .pointer("/meta/tag")
        .and_then(Value::as_array)
        .and_then(|tags| {
            tags.iter()
                .find(|t| t.get("system") == Some(&clins::BUNDLE_RESOURCE_TYPE_CS.into()))
        });
    let text = |v: Option<&Value>, field: &str| {
        v.and_then(|v| v.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let only_patient = json
        .get("entry")
        .and_then(Value::as_array)
        .is_some_and(|e| e.len() == 1);
    result.bundles.push(BuiltBundle {
        identifier: text(identifier, "value"),
        resource_type: text(tag, "code"),
        kind: if only_patient {
            BundleKind::Deletion
        } else {
            BundleKind::Clins
        },
        body: serde_json::to_vec(json).unwrap_or_default(),
        patient_ref: patient_ref.unwrap_or_default(),
    });
}

/// Adds a Patient with an id to the list, a later copy replacing an earlier one.
pub(super) fn remember_patient(patients: &mut Vec<(String, Value)>, patient: &Value) {
    let Some(id) = patient.get("id").and_then(Value::as_str) else {
        return;
    };
    let reference = format!("Patient/{id}");
    patients.retain(|(r, _)| *r != reference);
    patients.push((reference, patient.clone()));
}

/// The report unit within a patient: empty for Condition/AllergyIntolerance (all of them in
/// one bundle); effectiveDateTime + specimen for Observation (one lab report).
fn report_key(resource: &Value) -> String {
    if resource.get("resourceType") != Some(&"Observation".into()) {
        return String::new();
    }
    let text = |p: &str| {
        resource
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let specimen = Some(text("/specimen/reference"))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| text("/specimen/display"));
    format!("{}\u{1f}{specimen}", text("/effectiveDateTime"))
}

/// A resource type that is not sent on its own.
pub(super) fn type_held(kind: &str) -> Held {
    let (reason_en, reason_ja) = if kind == "MedicationRequest" {
        (
            "MedicationRequest is sent only inside a referral or discharge-summary document",
            "処方情報は診療情報提供書・退院時サマリーの中でのみ送信されます",
        )
    } else {
        (
            "this resource type is not sent on its own (only Condition, AllergyIntolerance, Observation)",
            "このリソース種別は単独では送信されません（傷病名・アレルギー・検査のみ）",
        )
    };
    Held {
        reason_en: reason_en.into(),
        reason_ja: reason_ja.into(),
        resource_type: kind.into(),
        code: HoldReason::Unsupported,
        patient_ref: None,
    }
}

fn patient_held(kind: &str, resource: &Value) -> Held {
    let reference = patients::subject(resource)
        .and_then(|s| s.get("reference"))
        .and_then(Value::as_str)
        .map(|r| patients::local_patient_reference(r).unwrap_or_else(|| r.to_string()));
    let code = if reference.is_some() {
        HoldReason::PatientUnknown
    } else {
        HoldReason::Unsupported
    };
    let (reason_en, reason_ja) = if patients::subject(resource).is_none() {
        (
            "the resource names no patient (subject/patient)",
            "患者の参照（subject/patient）がありません",
        )
    } else {
        ("patient not yet received", "患者情報をまだ受信していません")
    };
    Held {
        reason_en: reason_en.into(),
        reason_ja: reason_ja.into(),
        resource_type: kind.into(),
        code,
        patient_ref: reference,
    }
}
