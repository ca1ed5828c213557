//! Completing one document input into the JP_Bundle_e* shape (see the parent module).
//!
//! Invariants of the output: type `document`; entry[0] the Composition; every fullUrl a
//! `urn:uuid:` (kept when the input had one, else UUIDv5 of the input key and position) with
//! every reference to the old fullUrl or `Type/id` rewritten; identifier
//! `<institution>^<year>^<letter><hash>` where the hash covers the kind and the
//! Composition's identifier, so a corrected document replaces the earlier one; the same input
//! gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tsunagi_adapters::Prescription;
use uuid::Uuid;

use super::{entries, sections};
use super::{incomplete, DocumentKind};
use crate::build::assemble::jst_timestamp;
use crate::build::canonical::{medication, sendable};
use crate::build::clins::{
    resource_profile, BUNDLE_IDENTIFIER_SYSTEM, INSTITUTION_EXTENSION, INSTITUTION_SYSTEM,
    MEDICATION_REQUEST_PROFILE, RESOURCE_INSTANCE_ID_SYSTEM,
};
use crate::build::terminology::Terminology;
use crate::build::{BuildContext, BuildSettings, BuiltBundle, BundleKind, Held, InputOrigin};

const DOCUMENT_NAMESPACE: Uuid = Uuid::from_u128(0x2b8e_51c4_7d0a_4f96_a3e1_5c7d_90b2_6f18);
const VERSION_EXTENSION: &str =
    "http://hl7.org/fhir/StructureDefinition/composition-clinicaldocument-versionNumber";
const DOC_TYPE_SYSTEM: &str = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes";
const DOC_SUBTYPE_SYSTEM: &str = "http://jpfhir.jp/fhir/Common/CodeSystem/doc-subtypecodes";

/// The profile an entry of this type declares inside a document.
fn entry_profile(resource: &Value) -> Option<&'static str> {
    let kind = resource.get("resourceType").and_then(Value::as_str)?;
    Some(match kind {
        "Encounter" => "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Encounter_eCS",
        "Practitioner" => "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Practitioner_eCS",
        "Organization" => "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Organization_eCS",
        "MedicationRequest" => MEDICATION_REQUEST_PROFILE,
        "Observation" => {
            let lab = resource
                .pointer("/category/0/coding/0/code")
                .and_then(Value::as_str)
                == Some("laboratory");
            if lab {
                resource_profile("Observation")?
            } else {
                "http://jpfhir.jp/fhir/eCS/StructureDefinition/JP_Observation_Common_eCS"
            }
        }
        other => resource_profile(other)?,
    })
}

fn has_profile(resource: &Value) -> bool {
    resource
        .pointer("/meta/profile")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty())
}

/// Adds lastUpdated, a profile when none is declared, and the institution extension on
/// clinical resources.
fn complete_entry(resource: &mut Value, settings: &BuildSettings, timestamp: &str) {
    let profile = (!has_profile(resource))
        .then(|| entry_profile(resource))
        .flatten();
    let clinical = matches!(
        resource.get("resourceType").and_then(Value::as_str),
        Some("Condition" | "AllergyIntolerance" | "Observation" | "MedicationRequest")
    );
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let meta = obj.entry("meta").or_insert_with(|| json!({}));
    if meta.get("lastUpdated").is_none() {
        meta["lastUpdated"] = timestamp.into();
    }
    if let Some(p) = profile {
        meta["profile"] = json!([p]);
    }
    if clinical {
        let ext = obj.entry("extension").or_insert_with(|| json!([]));
        if let Some(list) = ext.as_array_mut() {
            if !list
                .iter()
                .any(|e| e.get("url").and_then(Value::as_str) == Some(INSTITUTION_EXTENSION))
            {
                list.push(json!({"url": INSTITUTION_EXTENSION, "valueIdentifier": {
                    "system": INSTITUTION_SYSTEM, "value": settings.institution_number}}));
            }
        }
    }
}

fn rewrite(value: &mut Value, aliases: &BTreeMap<String, String>) {
    match value {
        Value::Object(obj) => {
            for (key, v) in obj.iter_mut() {
                match v {
                    Value::String(s) if key == "reference" => {
                        if let Some(new) = aliases.get(s.as_str()) {
                            *s = new.clone();
                        }
                    }
                    _ => rewrite(v, aliases),
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| rewrite(v, aliases)),
        _ => {}
    }
}

fn is_urn_uuid(url: &str) -> bool {
    url.strip_prefix("urn:uuid:")
        .is_some_and(|u| Uuid::parse_str(u).is_ok())
}

/// Completes the Composition's fixed and required elements, or names what is missing.
fn complete_composition(
    kind: DocumentKind,
    c: &mut Value,
    timestamp: &str,
    identity: &str,
) -> Result<(), Held> {
    c["meta"] = json!({"lastUpdated": timestamp, "profile": [kind.composition_profile()]});
    c["status"] = "final".into();
    c["type"] = json!({"coding": [{"system": DOC_TYPE_SYSTEM, "code": kind.type_code(),
                                   "display": kind.title()}]});
    c["title"] = kind.title().into();
    let has_version = c
        .get("extension")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|e| e.get("url").and_then(Value::as_str) == Some(VERSION_EXTENSION))
        });
    if !has_version {
        let version = json!({"url": VERSION_EXTENSION, "valueString": "1.0"});
        match c.get_mut("extension") {
            Some(Value::Array(l)) => l.push(version),
            _ => c["extension"] = json!([version]),
        }
    }
    if c.pointer("/identifier/value").is_none() {
        c["identifier"] = json!({"system": RESOURCE_INSTANCE_ID_SYSTEM, "value": identity});
    }
    if c.get("date").is_none() {
        c["date"] = timestamp.into();
    }
    let date = c["date"].clone();
    match kind {
        DocumentKind::Referral => {
            let start = c.pointer("/event/0/period/start").cloned().unwrap_or(date);
            c["event"] =
                json!([{"code": [{"text": "診療情報提供書発行"}], "period": {"start": start}}]);
        }
        DocumentKind::DischargeSummary => {
            c["category"] = json!([{"coding": [{"system": DOC_SUBTYPE_SYSTEM, "code": "DISCHARGE",
                                                "display": "退院時文書"}]}]);
        }
        DocumentKind::CheckupGeneral => {}
    }
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: &'static str| {
        if !ok {
            missing.push(what);
        }
    };
    need(c.pointer("/custodian/reference").is_some(), "custodian");
    if kind != DocumentKind::CheckupGeneral {
        need(c.pointer("/encounter/reference").is_some(), "encounter");
        need(c.pointer("/author/0/reference").is_some(), "author");
    }
    if kind == DocumentKind::Referral {
        need(c.pointer("/category/0/coding/0/code").is_some(), "category");
    }
    if kind == DocumentKind::DischargeSummary {
        need(
            c.pointer("/event/0/period/start").is_some(),
            "event.period.start",
        );
        need(
            c.pointer("/event/0/period/end").is_some(),
            "event.period.end",
        );
    }
    if !missing.is_empty() {
        let list = missing.join(", ");
        return Err(incomplete(
            format!("the Composition lacks required elements: {list}"),
            format!("Compositionに必須の要素がありません: {list}"),
        ));
    }
    let sections = c.get_mut("section").and_then(Value::as_array_mut);
    let Some(sections) = sections else {
        return Err(incomplete(
            "the Composition has no sections",
            "Compositionにセクションがありません",
        ));
    };
    sections::complete(sections);
    sections::check(kind, sections)
}

/// See the module docs.
pub(super) fn document(
    settings: &BuildSettings,
    term: &dyn Terminology,
    ctx: &BuildContext<'_>,
    origin: &InputOrigin,
    input: &Value,
    prescriptions: &[&Prescription],
) -> Result<BuiltBundle, Held> {
    let (timestamp, year) = jst_timestamp(ctx);
    let entries: Vec<&Value> = input
        .get("entry")
        .and_then(Value::as_array)
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    let at = entries
        .iter()
        .position(|e| {
            e.pointer("/resource/resourceType").and_then(Value::as_str) == Some("Composition")
        })
        .ok_or_else(|| {
            incomplete(
                "the document has no Composition",
                "文書にCompositionがありません",
            )
        })?;
    let Some(kind) = entries[at].get("resource").and_then(DocumentKind::of) else {
        return Err(incomplete(
            "the Composition's type is none of 57133-1 (referral), 18842-5 (discharge summary), 53576-5 (checkup)",
            "Compositionの文書種別が診療情報提供書・退院時サマリー・健診結果報告書のいずれでもありません",
        ));
    };
    let order = std::iter::once(at).chain((0..entries.len()).filter(|i| *i != at));
    let mut aliases = BTreeMap::new();
    let mut resources: Vec<(String, Value)> = Vec::new();
    let mut stable_ids: Vec<Option<String>> = Vec::new();
    for (position, i) in order.enumerate() {
        let Some(resource) = entries[i].get("resource").cloned() else {
            continue;
        };
        let old = entries[i].get("fullUrl").and_then(Value::as_str);
        let url = match old.filter(|u| is_urn_uuid(u)) {
            Some(u) => u.to_string(),
            None => {
                let name = format!("{}\u{1f}doc\u{1f}{position}", ctx.input_key);
                format!(
                    "urn:uuid:{}",
                    Uuid::new_v5(&DOCUMENT_NAMESPACE, name.as_bytes())
                )
            }
        };
        if let Some(old) = old {
            aliases.insert(old.to_string(), url.clone());
        }
        let id = resource.get("id").and_then(Value::as_str);
        stable_ids.push(id.or(old).map(str::to_string));
        if let (Some(t), Some(id)) = (
            resource.get("resourceType").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) {
            aliases.insert(format!("{t}/{id}"), url.clone());
        }
        resources.push((url, resource));
    }
    for (_, r) in resources.iter_mut() {
        rewrite(r, &aliases);
    }
    let subject = resources[0]
        .1
        .pointer("/subject/reference")
        .and_then(Value::as_str)
        .map(str::to_string);
    let patient = subject
        .as_deref()
        .and_then(|s| {
            resources
                .iter()
                .find(|(u, r)| u == s && r["resourceType"] == "Patient")
        })
        .map(|(u, r)| (u.clone(), r.clone()));
    let Some((patient_url, patient)) = patient else {
        return Err(incomplete(
            "the Composition's subject is not a Patient entry of the document",
            "Compositionのsubjectが文書内のPatientを参照していません",
        ));
    };
    let patient_ref = patient
        .get("id")
        .and_then(Value::as_str)
        .map(|id| format!("Patient/{id}"))
        .unwrap_or_else(|| patient_url.clone());
    sendable(&patient, "Composition").map_err(|mut h| {
        h.patient_ref = Some(patient_ref.clone());
        h
    })?;
    for (i, p) in prescriptions.iter().enumerate() {
        let source = origin_source(origin);
        let v = medication::resource(settings, term, &source, p, &patient_url, &timestamp)?;
        let name = format!("{}\u{1f}rx\u{1f}{i}", ctx.input_key);
        let url = format!(
            "urn:uuid:{}",
            Uuid::new_v5(&DOCUMENT_NAMESPACE, name.as_bytes())
        );
        resources.push((url, v));
    }
    let medication_urls: Vec<String> = resources
        .iter()
        .filter(|(_, r)| r["resourceType"] == "MedicationRequest")
        .map(|(u, _)| u.clone())
        .collect();
    let identity_source = resources[0]
        .1
        .pointer("/identifier/value")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("{patient_ref}\u{1f}{}", resources[0].1["date"]));
    let digest = hex::encode(&Sha256::digest(format!("{kind:?}\u{1f}{identity_source}"))[..16]);
    let identity = format!("{}-{}{digest}", settings.institution_number, kind.letter());
    let authoring = authoring_urls(&resources[0].1);
    let mut entries: Vec<entries::Entry<'_>> = resources
        .iter_mut()
        .enumerate()
        .skip(1)
        .map(|(i, (url, resource))| entries::Entry {
            url,
            resource,
            stable_id: stable_ids.get(i).and_then(Option::as_deref),
        })
        .collect();
    entries::complete(settings, &mut entries, &authoring)?;
    for (_, r) in resources.iter_mut().skip(1) {
        complete_entry(r, settings, &timestamp);
    }
    let composition = &mut resources[0].1;
    complete_composition(kind, composition, &timestamp, &identity)?;
    if let Some(list) = composition.get_mut("section").and_then(Value::as_array_mut) {
        sections::reference_medications(kind, list, &medication_urls);
    }
    let identifier = format!(
        "{}^{year}^{}{digest}",
        settings.institution_number,
        kind.letter()
    );
    let entry: Vec<Value> = resources
        .into_iter()
        .map(|(u, r)| json!({"fullUrl": u, "resource": r}))
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "meta": {"lastUpdated": timestamp, "profile": [kind.bundle_profile()]},
        "identifier": {"system": BUNDLE_IDENTIFIER_SYSTEM, "value": identifier},
        "type": "document",
        "timestamp": timestamp,
        "entry": entry,
    });
    Ok(BuiltBundle {
        kind: BundleKind::Document(kind),
        identifier,
        resource_type: "Composition".into(),
        body: serde_json::to_vec(&bundle).unwrap_or_default(),
        patient_ref,
    })
}

/// The fullUrls of the Composition's custodian and authors (references already rewritten).
fn authoring_urls(composition: &Value) -> BTreeSet<String> {
    let custodian = composition.pointer("/custodian/reference");
    let authors = composition
        .get("author")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("reference"));
    custodian
        .into_iter()
        .chain(authors)
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn origin_source(origin: &InputOrigin) -> crate::build::SourceRef<'_> {
    crate::build::SourceRef {
        source: &origin.source,
        sending_application: origin.sending_application.as_deref(),
        sending_facility: origin.sending_facility.as_deref(),
        code_system: "",
    }
}
