//! Writing one JP_Bundle_CLINS for one patient and one report unit.
//!
//! Invariants of every bundle written here:
//! - entry[0] is the Patient; every other entry has the same resource type, named in
//!   `meta.tag` (BundleResourceType_CS);
//! - fullUrls are `urn:uuid:` UUIDv5 of (input key, bundle identifier, entry index): unique
//!   within the bundle, and the same when the same input is built again;
//! - `identifier.value` is `<institution>^<year>^<type letter><32 hex>`, the hex being a hash
//!   of (patient key, type, report key): re-sending the same patient's report replaces it;
//! - a unit without resources is the Patient-only bundle that deletes the unit upstream
//!   ([`BundleKind::Deletion`]); it carries the same identifier as the bundles it withdraws;
//! - only administrative content is added (profiles, lastUpdated, institution and department
//!   extensions, patient references rewritten to the fullUrl, the resourceIdentifier from the
//!   resource's id and the fixed `Condition.category` when missing: [`super::profile_fill`]);
//!   clinical content is copied.

use chrono::Datelike;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::clins::{
    declares_profile, resource_profile, BUNDLE_IDENTIFIER_SYSTEM, BUNDLE_PROFILE,
    BUNDLE_RESOURCE_TYPE_CS, DEPARTMENT_EXTENSION, DEPARTMENT_SYSTEM, INSTITUTION_EXTENSION,
    INSTITUTION_SYSTEM,
};
use super::patients::{subject, ResolvedPatient};
use super::{BuildContext, BuildSettings, BuiltBundle, BundleKind, PatientDirectory};

/// Namespace of the UUIDv5 fullUrls (a fixed random UUID owned by tsunagi).
const FULL_URL_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a7e_94b3_4d21_8c5e_3b0f_a9d4_1e72);

/// `received_at` in JST with milliseconds: `2025-04-01T10:15:00.000+09:00`, and its year.
pub(super) fn jst_timestamp(ctx: &BuildContext<'_>) -> (String, i32) {
    let at = ctx.received_at.with_timezone(&crate::time::jst());
    (at.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string(), at.year())
}

/// The year of `received_at` in JST (a bundle identifier's), without formatting the timestamp.
fn jst_year(ctx: &BuildContext<'_>) -> i32 {
    ctx.received_at.with_timezone(&crate::time::jst()).year()
}

/// Everything one bundle is made of.
pub(super) struct Unit<'r> {
    /// `Condition`, `AllergyIntolerance` or `Observation`.
    pub resource_type: &'r str,
    pub patient: &'r ResolvedPatient,
    /// Empty for Condition/AllergyIntolerance; effective time + specimen for Observation.
    pub report_key: &'r str,
    pub resources: Vec<&'r Value>,
}

#[derive(Serialize)]
struct BundleJson<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    meta: Value,
    identifier: Value,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: &'a str,
    entry: Vec<Value>,
}

pub(super) fn assemble(
    settings: &BuildSettings,
    ctx: &BuildContext<'_>,
    dir: &dyn PatientDirectory,
    unit: &Unit<'_>,
) -> BuiltBundle {
    let identifier = unit_identifier(settings, ctx, dir, unit);
    assemble_as(settings, ctx, unit, identifier)
}

/// `<institution>^<year>^<施設内ID>`: the identifier this unit was sent under before (asked of
/// the directory, so a re-send in a later year still replaces it), else one with this year.
pub(super) fn unit_identifier(
    settings: &BuildSettings,
    ctx: &BuildContext<'_>,
    dir: &dyn PatientDirectory,
    unit: &Unit<'_>,
) -> String {
    let local = local_id(unit.resource_type, &unit.patient.key, unit.report_key);
    let prefix = format!("{}^", settings.institution_number);
    let suffix = format!("^{local}");
    if let Some(sent) = dir
        .sent_identifier(&local)
        .filter(|s| s.starts_with(&prefix) && s.ends_with(&suffix))
    {
        return sent;
    }
    let year = jst_year(ctx);
    format!("{prefix}{year}{suffix}")
}

/// [`assemble`] under a given identifier (a deletion reuses the identifier it withdraws).
/// A unit without resources gives the Patient-only bundle that deletes upstream.
pub(super) fn assemble_as(
    settings: &BuildSettings,
    ctx: &BuildContext<'_>,
    unit: &Unit<'_>,
    identifier: String,
) -> BuiltBundle {
    let (timestamp, _) = jst_timestamp(ctx);
    let full_url = |index: usize| {
        let name = format!("{}\u{1f}{identifier}\u{1f}{index}", ctx.input_key);
        format!(
            "urn:uuid:{}",
            Uuid::new_v5(&FULL_URL_NAMESPACE, name.as_bytes())
        )
    };
    let patient_url = full_url(0);

    let mut patient = unit.patient.json.clone();
    complete_meta(&mut patient, "Patient", &timestamp);
    let mut entry = vec![json!({"fullUrl": patient_url, "resource": patient})];
    for (i, resource) in unit.resources.iter().enumerate() {
        let mut resource = (*resource).clone();
        complete_meta(&mut resource, unit.resource_type, &timestamp);
        super::profile_fill::five_info(settings, &mut resource, unit.resource_type);
        add_institution(&mut resource, &settings.institution_number);
        if matches!(unit.resource_type, "Condition" | "Observation") {
            if let Some((code, text)) = &settings.department {
                add_department(&mut resource, code, text);
            }
            add_encounter(&mut resource);
        }
        point_at_patient(&mut resource, unit.patient, &patient_url);
        entry.push(json!({"fullUrl": full_url(i + 1), "resource": resource}));
    }

    let bundle = BundleJson {
        resource_type: "Bundle",
        meta: json!({
            "lastUpdated": timestamp,
            "profile": [BUNDLE_PROFILE],
            "tag": [{"system": BUNDLE_RESOURCE_TYPE_CS, "code": unit.resource_type}],
        }),
        identifier: json!({"system": BUNDLE_IDENTIFIER_SYSTEM, "value": identifier}),
        kind: "collection",
        timestamp: &timestamp,
        entry,
    };
    BuiltBundle {
        body: serde_json::to_vec(&bundle).unwrap_or_default(),
        kind: if unit.resources.is_empty() {
            BundleKind::Deletion
        } else {
            BundleKind::Clins
        },
        identifier,
        resource_type: unit.resource_type.to_string(),
        patient_ref: unit.patient.key.clone(),
    }
}

/// 施設内ID: a type letter and 32 hex digits of SHA-256(patient key, type, report key).
pub(super) fn local_id(resource_type: &str, patient_key: &str, report_key: &str) -> String {
    let letter = resource_type.chars().next().unwrap_or('X');
    let digest = Sha256::digest(format!(
        "{patient_key}\u{1f}{resource_type}\u{1f}{report_key}"
    ));
    format!("{letter}{}", hex::encode(&digest[..16]))
}

fn object(value: &mut Value) -> Option<&mut Map<String, Value>> {
    value.as_object_mut()
}

/// Adds the JP-CLINS profile and `meta.lastUpdated` when missing.
fn complete_meta(resource: &mut Value, resource_type: &str, timestamp: &str) {
    let declared = resource_profile(resource_type).is_none_or(|p| declares_profile(resource, p));
    let Some(obj) = object(resource) else { return };
    let meta = obj.entry("meta").or_insert_with(|| json!({}));
    let Some(meta) = object(meta) else { return };
    meta.entry("lastUpdated")
        .or_insert_with(|| Value::from(timestamp));
    if let (false, Some(profile)) = (declared, resource_profile(resource_type)) {
        match meta.entry("profile").or_insert_with(|| json!([])) {
            Value::Array(list) => list.push(Value::from(profile)),
            other => *other = json!([profile]),
        }
    }
}

fn has_extension(resource: &Value, url: &str) -> bool {
    resource
        .get("extension")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter()
                .any(|e| e.get("url").and_then(Value::as_str) == Some(url))
        })
}

fn push_extension(resource: &mut Value, extension: Value) {
    let Some(obj) = object(resource) else { return };
    match obj.entry("extension").or_insert_with(|| json!([])) {
        Value::Array(list) => list.push(extension),
        other => *other = json!([extension]),
    }
}

fn add_institution(resource: &mut Value, institution: &str) {
    if !has_extension(resource, INSTITUTION_EXTENSION) {
        push_extension(
            resource,
            json!({"url": INSTITUTION_EXTENSION,
                   "valueIdentifier": {"system": INSTITUTION_SYSTEM, "value": institution}}),
        );
    }
}

fn add_department(resource: &mut Value, code: &str, text: &str) {
    if !has_extension(resource, DEPARTMENT_EXTENSION) {
        push_extension(
            resource,
            json!({"url": DEPARTMENT_EXTENSION, "valueCodeableConcept": {
                "coding": [{"system": DEPARTMENT_SYSTEM, "code": code}], "text": text}}),
        );
    }
}

/// JP_Bundle_CLINS wants a contained Encounter behind `encounter` on Conditions and
/// Observations (R9013-R9016); a resource without one gets the AMB encounter the canonical
/// builder writes too (an export that knew the class would have said so).
fn add_encounter(resource: &mut Value) {
    if resource.get("encounter").is_some() {
        return;
    }
    let Some(obj) = object(resource) else {
        return;
    };
    let contained = obj
        .entry("contained")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = contained.as_array_mut() else {
        return;
    };
    let mut encounter = super::canonical::common::encounter(&Default::default());
    let mut id = "encounter".to_string();
    while list.iter().any(|c| c["id"] == id.as_str()) {
        id.push('x');
    }
    encounter["id"] = Value::String(id.clone());
    list.push(encounter);
    obj.insert("encounter".into(), json!({"reference": format!("#{id}")}));
}

/// Rewrites every reference to the patient (anywhere in the resource) to its fullUrl, and
/// gives an identifier-only `subject`/`patient` the fullUrl as `reference`.
fn point_at_patient(resource: &mut Value, patient: &ResolvedPatient, full_url: &str) {
    rewrite_references(resource, &patient.aliases, full_url);
    if subject(resource).is_some_and(|s| s.get("reference").is_none()) {
        let key = if resource.get("subject").is_some() {
            "subject"
        } else {
            "patient"
        };
        if let Some(s) = resource.get_mut(key).and_then(Value::as_object_mut) {
            s.insert("reference".into(), Value::from(full_url));
        }
    }
}

fn rewrite_references(value: &mut Value, aliases: &[String], full_url: &str) {
    match value {
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                match v {
                    Value::String(s) if key == "reference" && aliases.iter().any(|a| a == s) => {
                        *s = full_url.to_string()
                    }
                    _ => rewrite_references(v, aliases, full_url),
                }
            }
        }
        Value::Array(list) => list
            .iter_mut()
            .for_each(|v| rewrite_references(v, aliases, full_url)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_id_fits_r2152() {
        let id = local_id("Observation", "Patient/p1", "2025-01-01\u{1f}#sp");
        assert_eq!(id.len(), 33);
        assert!(id.starts_with('O'));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(
            id,
            local_id("Observation", "Patient/p1", "2025-01-02\u{1f}#sp")
        );
    }

    #[test]
    fn timestamp_is_jst_with_milliseconds() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-12-31T16:30:00.5Z").unwrap();
        let ctx = BuildContext {
            input_key: "k",
            received_at: at,
        };
        assert_eq!(
            jst_timestamp(&ctx),
            ("2026-01-01T01:30:00.500+09:00".to_string(), 2026)
        );
        assert_eq!(
            jst_year(&ctx),
            2026,
            "the identifier's year is Japan's, not UTC's"
        );
    }
}
