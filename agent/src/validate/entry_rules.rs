//! Rules on the entries: the Patient first, one resource type after it, fullUrls,
//! institution extension, and a few required elements of Condition and AllergyIntolerance.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::bundle_rules::type_tags;
use super::{entries, str_at, Finding};
use crate::build::clins::{
    declares_profile, resource_profile, INSTITUTION_EXTENSION, INSURANCE_MEMBER_ID_SYSTEM,
};

/// R1013, as written in the package.
static MEMBER_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{8}:[^:^\s^　]*:[^:^\s^　]*:(.{0}|[0-9][0-9])$")
        .expect("constant regex compiles")
});
/// R9012.
static INSTITUTION_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-4][0-9][1-3][0-9]{7}$").expect("constant regex compiles"));

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

fn member_ids(patient: &Value) -> Vec<Option<&str>> {
    patient
        .get("identifier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("system").and_then(Value::as_str) == Some(INSURANCE_MEMBER_ID_SYSTEM))
        .map(|i| i.get("value").and_then(Value::as_str))
        .collect()
}

/// R1012: exactly one JP_Insurance_memberID identifier.
pub(super) fn insurance_member_id_count(bundle: &Value, out: &mut Vec<Finding>) {
    let Some(patient) = patient(bundle) else {
        return;
    };
    if member_ids(patient).len() != 1 {
        out.push(Finding::error(
            "R1012",
            "Bundle.entry[0].resource.identifier",
            "the Patient needs exactly one JP_Insurance_memberID identifier",
            "被保険者識別子（JP_Insurance_memberID）はちょうど1つ必要です",
        ));
    }
}

/// R1013: 保険者番号(8):記号:番号:枝番(2 or empty).
pub(super) fn insurance_member_id_format(bundle: &Value, out: &mut Vec<Finding>) {
    let Some(patient) = patient(bundle) else {
        return;
    };
    if let [value] = member_ids(patient).as_slice() {
        if !value.is_some_and(|v| MEMBER_ID.is_match(v)) {
            out.push(Finding::error(
                "R1013",
                "Bundle.entry[0].resource.identifier.value",
                "the insurance member id must be insurer(8 digits):symbol:number:branch(2 digits or empty), without spaces",
                "被保険者識別子は「保険者番号8桁:記号:番号:枝番（2桁または空）」で、空白を含んではなりません",
            ));
        }
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
