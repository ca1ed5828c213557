//! Rules on the entries: the Patient first, one resource type after it, fullUrls,
//! institution extension, entry profiles, and a few required elements of Condition and
//! AllergyIntolerance. Rules on each entry's own content are in `resource_rules`.

use std::collections::HashSet;

use serde_json::Value;

use super::bundle_rules::type_tags;
use super::resource_rules::{INSTITUTION_NUMBER, MEDREQ_ECS};
use super::{entries, str_at, Finding};
use crate::build::clins::{declares_profile, resource_profile, INSTITUTION_EXTENSION};

fn resource_type(entry: &Value) -> Option<&str> {
    str_at(entry, "/resource/resourceType")
}

fn patient(bundle: &Value) -> Option<&Value> {
    entries(bundle)
        .first()
        .filter(|e| resource_type(e) == Some("Patient"))
        .and_then(|e| e.get("resource"))
}

/// The entries after the Patient, with their index.
fn rest(bundle: &Value) -> impl Iterator<Item = (usize, &Value)> {
    entries(bundle).iter().enumerate().skip(1)
}

/// R0211: the first entry is a Patient.
pub(super) fn first_entry_patient(bundle: &Value, out: &mut Vec<Finding>) {
    if patient(bundle).is_none() {
        out.push(Finding::error(
            "R0211",
            "Bundle.entry[0].resource",
            "the first entry must be a Patient",
            "最初のentryはPatientでなければなりません",
        ));
    }
}

/// R0212: the Patient declares JP_Patient_eCS.
pub(super) fn patient_profile(bundle: &Value, out: &mut Vec<Finding>) {
    let Some(patient) = patient(bundle) else {
        return;
    };
    let profile = resource_profile("Patient").unwrap_or_default();
    if !declares_profile(patient, profile) {
        out.push(Finding::error(
            "R0212",
            "Bundle.entry[0].resource.meta.profile",
            "the Patient must declare JP_Patient_eCS",
            "PatientはJP_Patient_eCSプロファイルを指定しなければなりません",
        ));
    }
}

/// R02143: at least one resource of the tagged type.
pub(super) fn tagged_type_present(bundle: &Value, out: &mut Vec<Finding>) {
    let tags = type_tags(bundle);
    let [Some(tag)] = tags.as_slice() else {
        return; // R02141/R02142
    };
    if !rest(bundle).any(|(_, e)| resource_type(e) == Some(tag)) {
        out.push(Finding::error(
            "R02143",
            "Bundle.entry",
            "the bundle must contain at least one resource of the type in meta.tag",
            "meta.tagで指定したresourceTypeのリソースを1つ以上含まなければなりません",
        ));
    }
}

/// TSG-ONE-TYPE: every entry after the Patient has the tagged type (never MedicationRequest).
pub(super) fn one_resource_type(bundle: &Value, out: &mut Vec<Finding>) {
    let tags = type_tags(bundle);
    let tag = match tags.as_slice() {
        [Some(tag)] => Some(*tag),
        _ => None,
    };
    for (i, entry) in rest(bundle) {
        let kind = resource_type(entry);
        let path = format!("Bundle.entry[{i}].resource");
        if kind == Some("MedicationRequest") {
            out.push(Finding::error(
                "TSG-ONE-TYPE",
                path,
                "MedicationRequest cannot be sent in a JP_Bundle_CLINS",
                "MedicationRequestはJP_Bundle_CLINSで送信できません",
            ));
        } else if kind.is_none() || (tag.is_some() && kind != tag) {
            out.push(Finding::error(
                "TSG-ONE-TYPE",
                path,
                "every entry after the Patient must be of the one resource type in meta.tag",
                "Patient以降のentryはすべてmeta.tagで指定した1種類のリソースでなければなりません",
            ));
        }
    }
}

/// validEntryProfile-*: an entry of a profiled type declares no *versioned* profile other
/// than its eCS one. As the package writes it, `(versioned profile with another base).exists()
/// .not() or (profile other than eCS).exists().not()`, which an unversioned other profile passes.
pub(super) fn entry_profiles(bundle: &Value, out: &mut Vec<Finding>) {
    for (i, entry) in entries(bundle).iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        let kind = str_at(resource, "/resourceType").unwrap_or_default();
        let (rule, profile) = match kind {
            "AllergyIntolerance" | "Condition" | "Observation" => (
                match kind {
                    "AllergyIntolerance" => "validEntryProfile-AllergyIntolerance",
                    "Condition" => "validEntryProfile-Condition",
                    _ => "validEntryProfile-ObservationLabResult",
                },
                resource_profile(kind).unwrap_or_default(),
            ),
            "MedicationRequest" => ("validEntryProfile-MedicationRequest", MEDREQ_ECS),
            _ => continue,
        };
        if other_versioned_profile(resource, profile) {
            out.push(Finding::error(
                rule,
                format!("Bundle.entry[{i}].resource.meta.profile"),
                "an entry of this type must conform to its JP-CLINS eCS profile",
                "このリソース型のentryはJP-CLINSのeCSプロファイルに準拠しなければなりません",
            ));
        }
    }
}

/// True when `meta.profile` has `base|version` with a base other than `profile`.
pub(super) fn other_versioned_profile(resource: &Value, profile: &str) -> bool {
    resource
        .pointer("/meta/profile")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|p| p.split_once('|').is_some_and(|(base, _)| base != profile))
}

/// TSG-FULLURL: every entry has a fullUrl, unique within the bundle.
pub(super) fn full_urls(bundle: &Value, out: &mut Vec<Finding>) {
    let mut seen = HashSet::new();
    for (i, entry) in entries(bundle).iter().enumerate() {
        let path = format!("Bundle.entry[{i}].fullUrl");
        match entry.get("fullUrl").and_then(Value::as_str) {
            None => out.push(Finding::error(
                "TSG-FULLURL",
                path,
                "every entry needs a fullUrl",
                "すべてのentryにfullUrlが必要です",
            )),
            Some(url) if !seen.insert(url) => out.push(Finding::error(
                "TSG-FULLURL",
                path,
                "fullUrl is used by an earlier entry",
                "fullUrlが前のentryと重複しています",
            )),
            Some(_) => {}
        }
    }
}

fn institution_extensions(resource: &Value) -> impl Iterator<Item = &Value> {
    resource
        .get("extension")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| e.get("url").and_then(Value::as_str) == Some(INSTITUTION_EXTENSION))
}

/// R9011: every entry after the Patient carries JP_eCS_InstitutionNumber.
pub(super) fn institution_extension(bundle: &Value, out: &mut Vec<Finding>) {
    for (i, entry) in rest(bundle) {
        let resource = entry.get("resource").unwrap_or(&Value::Null);
        if institution_extensions(resource).next().is_none() {
            out.push(Finding::error(
                "R9011",
                format!("Bundle.entry[{i}].resource.extension"),
                "resources other than the Patient need the JP_eCS_InstitutionNumber extension",
                "Patient以外のリソースには医療機関番号拡張（JP_eCS_InstitutionNumber）が必要です",
            ));
        }
    }
}

/// R9012: that extension's value is a 10-digit 保険医療機関番号.
pub(super) fn institution_number_format(bundle: &Value, out: &mut Vec<Finding>) {
    for (i, entry) in rest(bundle) {
        let resource = entry.get("resource").unwrap_or(&Value::Null);
        let bad = institution_extensions(resource).any(|e| {
            !str_at(e, "/valueIdentifier/value").is_some_and(|v| INSTITUTION_NUMBER.is_match(v))
        });
        if bad {
            out.push(Finding::error(
                "R9012",
                format!("Bundle.entry[{i}].resource.extension"),
                "the institution number must be 10 digits (^[0-4][0-9][1-3][0-9]{7}$)",
                "医療機関番号は10桁の数字（^[0-4][0-9][1-3][0-9]{7}$）でなければなりません",
            ));
        }
    }
}

/// R9013C (the package's key for this check): every Condition has onsetDateTime.
pub(super) fn condition_onset(bundle: &Value, out: &mut Vec<Finding>) {
    for (i, entry) in rest(bundle) {
        if resource_type(entry) == Some("Condition")
            && str_at(entry, "/resource/onsetDateTime").is_none_or(str::is_empty)
        {
            out.push(Finding::error(
                "R9013C",
                format!("Bundle.entry[{i}].resource.onsetDateTime"),
                "a Condition needs onsetDateTime (病名開始日)",
                "Conditionには病名開始日（onsetDateTime）が必要です",
            ));
        }
    }
}

/// TSG-CODE-TEXT: Condition and AllergyIntolerance carry code.text (the name as written).
pub(super) fn code_text(bundle: &Value, out: &mut Vec<Finding>) {
    for (i, entry) in rest(bundle) {
        if matches!(
            resource_type(entry),
            Some("Condition" | "AllergyIntolerance")
        ) && str_at(entry, "/resource/code/text").is_none_or(|t| t.trim().is_empty())
        {
            out.push(Finding::error(
                "TSG-CODE-TEXT",
                format!("Bundle.entry[{i}].resource.code.text"),
                "Condition and AllergyIntolerance need code.text (the name as written in the record)",
                "ConditionとAllergyIntoleranceにはcode.text（記録された名称）が必要です",
            ));
        }
    }
}
