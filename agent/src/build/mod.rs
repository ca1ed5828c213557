//! Building JP_Bundle_CLINS bundles (5情報) from parsed records.
//!
//! Owns the rules that turn one input's [`Record`]s into the bundles the platform receives:
//! - an input that already is a JP_Bundle_CLINS passes through unchanged (compact JSON);
//! - Patients are returned in [`BuildResult::patients`] for the store to remember; a Patient
//!   alone produces no bundle (a Patient-only bundle means "delete everything" upstream);
//! - Conditions: one bundle per patient; AllergyIntolerances: one per patient; Observations:
//!   one per lab report (patient + effectiveDateTime + specimen);
//! - a resource whose patient is neither in the input nor in the [`PatientDirectory`] is
//!   [`Held`]; so are MedicationRequest (sent only inside documents) and other types.
//!
//! Building is deterministic: the same records, settings and context give byte-identical
//! bodies (see [`assemble`] for the identifier and fullUrl rules).

mod assemble;
pub mod clins;
mod patients;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;
use thiserror::Error;
use tsunagi_adapters::{FhirResource, Record};

use assemble::{assemble, Unit};
use patients::{PatientIndex, ResolvedPatient};

/// Per-installation settings of the builder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// 保険医療機関番号, 10 digits (`^[0-4][0-9][1-3][0-9]{7}$`).
    pub institution_number: String,
    /// Default JP_eCS_Department (SS-MIX2 診療科 code, text) for Condition/Observation
    /// resources that carry none.
    pub department: Option<(String, String)>,
}

/// A setting the platform would reject every bundle for.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SettingsError {
    /// The institution number is not 10 digits of the 保険医療機関番号 form.
    #[error("institution number must be 10 digits matching ^[0-4][0-9][1-3][0-9]{{7}}$ / 保険医療機関番号は10桁の数字（^[0-4][0-9][1-3][0-9]{{7}}$）で指定してください")]
    InstitutionNumber,
    /// The department code is not two digits or its text is empty.
    #[error("department must be a 2-digit SS-MIX2 code with a text / 診療科は2桁のSS-MIX2コードと名称で指定してください")]
    Department,
}

impl BuildSettings {
    /// Checked settings.
    pub fn new(
        institution_number: impl Into<String>,
        department: Option<(String, String)>,
    ) -> Result<Self, SettingsError> {
        let institution_number = institution_number.into();
        let b = institution_number.as_bytes();
        let ok = b.len() == 10
            && b.iter().all(u8::is_ascii_digit)
            && b[0] <= b'4'
            && (b'1'..=b'3').contains(&b[2]);
        if !ok {
            return Err(SettingsError::InstitutionNumber);
        }
        if let Some((code, text)) = &department {
            if code.len() != 2
                || !code.bytes().all(|c| c.is_ascii_digit())
                || text.trim().is_empty()
            {
                return Err(SettingsError::Department);
            }
        }
        Ok(BuildSettings {
            institution_number,
            department,
        })
    }
}

/// What one build needs to know about the input besides its records.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// Content hash of the raw input; seeds the UUIDv5 fullUrls.
    pub input_key: &'a str,
    /// When the input was received; becomes timestamp, lastUpdated and the identifier year.
    pub received_at: chrono::DateTime<chrono::FixedOffset>,
}

/// Patients seen in earlier inputs (the store implements it).
pub trait PatientDirectory {
    /// The Patient resource stored under `reference` (`Patient/ID`), if any.
    fn patient(&self, reference: &str) -> Option<Value>;
}

/// A directory that knows no patient.
#[derive(Debug, Default, Clone, Copy)]
#[cfg(test)]
pub struct NoPatients;

#[cfg(test)]
impl PatientDirectory for NoPatients {
    fn patient(&self, _reference: &str) -> Option<Value> {
        None
    }
}

impl PatientDirectory for BTreeMap<String, Value> {
    fn patient(&self, reference: &str) -> Option<Value> {
        self.get(reference).cloned()
    }
}

/// One bundle ready to validate and send. Its `Debug` omits the body and patient key.
#[derive(Clone, PartialEq, Eq)]
pub struct BuiltBundle {
    /// `Bundle.identifier.value` (`<institution>^<year>^<施設内ID>`); the replace key upstream.
    pub identifier: String,
    /// `Condition`, `AllergyIntolerance` or `Observation`.
    pub resource_type: String,
    /// Compact JSON.
    pub body: Vec<u8>,
    /// The patient's key, `Patient/ID` when the Patient has an id.
    pub patient_ref: String,
}

/// Something that could not become a bundle now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Why, in English (no patient values).
    pub reason_en: String,
    /// Why, in Japanese (no patient values).
    pub reason_ja: String,
    /// The resource type held.
    pub resource_type: String,
    /// Why, as a stable machine code: `patient-unknown` items are rebuilt by themselves when
    /// their Patient arrives; `unsupported` ones need a newer version or a fix by hand.
    pub code: &'static str,
    /// The patient reference as written (`Patient/ID`), for `patient-unknown` items.
    pub patient_ref: Option<String>,
}

impl Held {
    /// The machine code of the reason (see the field).
    pub fn code(&self) -> &'static str {
        self.code
    }
}

/// Everything one input built into. Its `Debug` omits the Patient resources.
#[derive(Clone, Default, PartialEq)]
pub struct BuildResult {
    /// Bundles, in a deterministic order.
    pub bundles: Vec<BuiltBundle>,
    /// Patients of the input with an id, as (`Patient/ID`, resource), for the directory.
    pub patients: Vec<(String, Value)>,
    /// What was held: one per resource (or canonical record, or bundle) not built.
    pub held: Vec<Held>,
}

impl fmt::Debug for BuiltBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltBundle")
            .field("identifier", &self.identifier)
            .field("resource_type", &self.resource_type)
            .field("body_len", &self.body.len())
            .field("patient_ref", &"***")
            .finish()
    }
}

impl fmt::Debug for BuildResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildResult")
            .field("bundles", &self.bundles)
            .field("patients", &self.patients.len())
            .field("held", &self.held)
            .finish()
    }
}

/// Builds JP_Bundle_CLINS bundles. See the module docs.
#[derive(Debug, Clone)]
pub struct BundleBuilder {
    settings: BuildSettings,
}

/// Group key: (resource type, patient key, report key).
type GroupKey = (String, String, String);

impl BundleBuilder {
    /// A builder for one institution.
    pub fn new(settings: BuildSettings) -> Self {
        BundleBuilder { settings }
    }

    /// Builds the bundles of one input.
    pub fn build(
        &self,
        ctx: &BuildContext<'_>,
        records: &[Record],
        dir: &dyn PatientDirectory,
    ) -> BuildResult {
        let mut result = BuildResult::default();
        let fhir: Vec<&FhirResource> = records
            .iter()
            .filter_map(|r| match r {
                Record::Fhir(f) => Some(f),
                other => {
                    result.held.push(canonical_held(other));
                    None
                }
            })
            .collect();
        let is_patient = |f: &FhirResource| f.resource_type == "Patient";
        let patients = || fhir.iter().copied().filter(|f| is_patient(f));
        for patient in patients() {
            remember_patient(&mut result.patients, &patient.json);
        }
        let index = PatientIndex::new(patients());

        let mut groups: BTreeMap<GroupKey, (ResolvedPatient, Vec<&Value>)> = BTreeMap::new();
        for resource in fhir.iter().filter(|f| !is_patient(f)) {
            let kind = resource.resource_type.as_str();
            if kind == "Bundle" {
                self.bundle_record(resource, &mut result);
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
            let key = (
                kind.to_string(),
                patient.key.clone(),
                report_key(&resource.json),
            );
            groups
                .entry(key)
                .or_insert_with(|| (patient, Vec::new()))
                .1
                .push(&resource.json);
        }
        for ((kind, _, report), (patient, resources)) in &groups {
            let unit = Unit {
                resource_type: kind,
                patient,
                report_key: report,
                resources: resources.clone(),
            };
            result.bundles.push(assemble(&self.settings, ctx, &unit));
        }
        result
    }

    /// A Bundle record: a ready-made JP_Bundle_CLINS passes through; anything else is held.
    fn bundle_record(&self, bundle: &FhirResource, result: &mut BuildResult) {
        let json = &bundle.json;
        if !clins::declares_profile(json, clins::BUNDLE_PROFILE) {
            result.held.push(Held {
                reason_en: "documents and non-JP-CLINS bundles are not built by this version"
                    .into(),
                reason_ja: "文書およびJP-CLINS以外のBundleはこの版では扱いません".into(),
                resource_type: "Bundle".into(),
                code: "unsupported",
                patient_ref: None,
            });
            return;
        }
        let first = json.pointer("/entry/0/resource");
        if let Some(patient) = first.filter(|p| p.get("resourceType") == Some(&"Patient".into())) {
            remember_patient(&mut result.patients, patient);
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
        result.bundles.push(BuiltBundle {
            identifier: text(identifier, "value"),
            resource_type: text(tag, "code"),
            body: serde_json::to_vec(json).unwrap_or_default(),
            patient_ref: first
                .and_then(|p| p.get("id"))
                .and_then(Value::as_str)
                .map(|id| format!("Patient/{id}"))
                .unwrap_or_default(),
        });
    }
}

/// Adds a Patient with an id to the list, a later copy replacing an earlier one.
fn remember_patient(patients: &mut Vec<(String, Value)>, patient: &Value) {
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

fn type_held(kind: &str) -> Held {
    let (reason_en, reason_ja) = if kind == "MedicationRequest" {
        (
            "MedicationRequest is sent only inside a referral or discharge-summary document, which this version does not build",
            "処方情報は診療情報提供書・退院時サマリーの中でのみ送信されます（この版では文書を作成しません）",
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
        code: "unsupported",
        patient_ref: None,
    }
}

fn patient_held(kind: &str, resource: &Value) -> Held {
    let reference = patients::subject(resource)
        .and_then(|s| s.get("reference"))
        .and_then(Value::as_str)
        .map(|r| patients::local_patient_reference(r).unwrap_or_else(|| r.to_string()));
    let code = if reference.is_some() {
        "patient-unknown"
    } else {
        "unsupported"
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

fn canonical_held(record: &Record) -> Held {
    let kind = match record {
        Record::Patient(_) => "Patient",
        Record::Condition(_) => "Condition",
        Record::Allergy(_) => "AllergyIntolerance",
        Record::LabResult(_) => "Observation",
        Record::Prescription(_) => "MedicationRequest",
        Record::Fhir(f) => f.resource_type.as_str(),
    };
    Held {
        reason_en: "records from HL7 v2/CSV adapters are not converted to FHIR by this version"
            .into(),
        reason_ja: "HL7 v2/CSVからのレコードはこの版ではFHIRに変換しません".into(),
        resource_type: kind.into(),
        code: "unsupported",
        patient_ref: None,
    }
}

#[cfg(test)]
mod tests;
