//! Building what the platform receives from one input's [`Record`]s: JP_Bundle_CLINS (5情報)
//! bundles, their deletions, and the documents.
//!
//! - FHIR input ([`fhir_input`]): resources grouped into report units; ready-made
//!   JP_Bundle_CLINS pass through unchanged;
//! - canonical input from HL7 v2 / SS-MIX2 ([`canonical`]): converted to JP-CLINS resources
//!   with the integrator's [`Terminology`] (without one, canonical records are held);
//! - documents ([`documents`]): a Composition with its resources, completed into
//!   JP_Bundle_eReferral / eDischargeSummary / eCheckupGeneral;
//! - deletions ([`BundleBuilder::deletion`]): the Patient-only bundle that withdraws a unit;
//! - Patients are returned in [`BuildResult::patients`] for the store to remember; a Patient
//!   alone produces no bundle; anything that cannot be sent is a [`Held`] with a stable code.
//!
//! Building is deterministic: the same records, settings, context and directory give
//! byte-identical bodies (see [`assemble`] for the identifier and fullUrl rules).

mod assemble;
pub mod canonical;
pub mod clins;
pub mod documents;
mod fhir_codes;
mod fhir_input;
mod hold;
mod patients;
mod profile_fill;
pub mod terminology;
mod withdraw;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use thiserror::Error;
use tsunagi_adapters::{FhirResource, Prescription, Record};

pub use canonical::{EncounterClass, InputOrigin, RecordExtras};
pub use documents::DocumentKind;
pub use hold::HoldReason;
pub use terminology::{
    Coding, Coding3, LabCoding, Outcome, PassThrough, Reason, SourceRef, Terminology,
};
pub use withdraw::Withdrawal;

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
    /// The full identifier a unit was last sent under, given its 施設内ID (the part after
    /// the second `^`), so that a re-send in a later year replaces rather than duplicates.
    /// The default knows none: the identifier then carries the build year.
    fn sent_identifier(&self, _local_id: &str) -> Option<String> {
        None
    }
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

/// What a built bundle is, which decides how it is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// A JP_Bundle_CLINS with resources (5情報).
    Clins,
    /// A Patient-only JP_Bundle_CLINS: deletes the unit with this identifier upstream. It
    /// cannot satisfy R02143 (a resource of the tagged type) by design.
    Deletion,
    /// A document bundle (type `document`, Composition first).
    Document(DocumentKind),
}

/// One bundle ready to validate and send. Its `Debug` omits the body and patient key.
#[derive(Clone, PartialEq, Eq)]
pub struct BuiltBundle {
    /// What it is.
    pub kind: BundleKind,
    /// `Bundle.identifier.value` (`<institution>^<year>^<施設内ID>`); the replace key upstream.
    pub identifier: String,
    /// `Condition`, `AllergyIntolerance` or `Observation`; for documents `Composition`.
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
    /// Why, as a closed set with stable keys: `patient-unknown` items are rebuilt by themselves
    /// when their Patient arrives; `unsupported` ones need a newer version or a fix by hand.
    pub code: HoldReason,
    /// The patient reference as written (`Patient/ID`), for `patient-unknown` items.
    pub patient_ref: Option<String>,
}

impl Held {
    /// The reason (see the field).
    pub fn code(&self) -> HoldReason {
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
            .field("kind", &self.kind)
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

/// Builds JP-CLINS bundles and documents. See the module docs.
#[derive(Clone)]
pub struct BundleBuilder {
    settings: BuildSettings,
    terminology: Option<Arc<dyn Terminology>>,
}

impl fmt::Debug for BundleBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BundleBuilder")
            .field("settings", &self.settings)
            .field("terminology", &self.terminology.is_some())
            .finish()
    }
}

impl BundleBuilder {
    /// A builder for one institution. Without a [`Terminology`] canonical records are held.
    pub fn new(settings: BuildSettings) -> Self {
        BundleBuilder {
            settings,
            terminology: None,
        }
    }

    /// Converts canonical records (HL7 v2 / SS-MIX2) with these code look-ups.
    pub fn with_terminology(mut self, terminology: Arc<dyn Terminology>) -> Self {
        self.terminology = Some(terminology);
        self
    }

    /// The settings this builder writes with.
    pub fn settings(&self) -> &BuildSettings {
        &self.settings
    }

    /// Builds the bundles of one input whose origin is not known (see [`Self::build_with`]).
    pub fn build(
        &self,
        ctx: &BuildContext<'_>,
        records: &[Record],
        dir: &dyn PatientDirectory,
    ) -> BuildResult {
        self.build_with(ctx, &InputOrigin::default(), records, dir)
    }

    /// Builds the bundles of one input: FHIR resources, ready-made bundles, documents (an
    /// input holding a Composition) and canonical records (with the origin's extras).
    pub fn build_with(
        &self,
        ctx: &BuildContext<'_>,
        origin: &InputOrigin,
        records: &[Record],
        dir: &dyn PatientDirectory,
    ) -> BuildResult {
        self.build_mapped(ctx, origin, records, dir, self.terminology.as_deref())
    }

    /// [`Self::build_with`] with the code look-ups of this one input (the map stage records
    /// each item's outcome in it). `None` holds canonical records.
    pub fn build_mapped(
        &self,
        ctx: &BuildContext<'_>,
        origin: &InputOrigin,
        records: &[Record],
        dir: &dyn PatientDirectory,
        term: Option<&dyn Terminology>,
    ) -> BuildResult {
        let mut result = BuildResult::default();
        let fhir: Vec<&FhirResource> = records
            .iter()
            .filter_map(|r| match r {
                Record::Fhir(f) => Some(f),
                _ => None,
            })
            .collect();
        if let Some(document) = documents::input_document(&fhir) {
            let prescriptions: Vec<&Prescription> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Prescription(p) => Some(p),
                    _ => None,
                })
                .collect();
            let term = term.unwrap_or(&terminology::PassThrough);
            match documents::build(&self.settings, term, ctx, origin, &document, &prescriptions) {
                Ok(bundle) => result.bundles.push(bundle),
                Err(held) => result.held.push(held),
            }
            return result;
        }
        fhir_input::build(&self.settings, ctx, term, origin, &fhir, dir, &mut result);
        let canonical = records.iter().any(|r| !matches!(r, Record::Fhir(_)));
        match (term, canonical) {
            (Some(term), true) => {
                canonical::build(&self.settings, term, ctx, origin, records, dir, &mut result)
            }
            (None, true) => result.held.extend(
                records
                    .iter()
                    .filter(|r| !matches!(r, Record::Fhir(_)))
                    .map(canonical_held),
            ),
            (_, false) => {}
        }
        result
    }

    /// Completes a document bundle (see [`documents`]); canonical prescriptions become
    /// MedicationRequest entries of its prescription section.
    pub fn document(
        &self,
        ctx: &BuildContext<'_>,
        origin: &InputOrigin,
        input: &Value,
        prescriptions: &[&Prescription],
    ) -> Result<BuiltBundle, Held> {
        let term: &dyn Terminology = match &self.terminology {
            Some(t) => t.as_ref(),
            None => &terminology::PassThrough,
        };
        documents::build(&self.settings, term, ctx, origin, input, prescriptions)
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
        reason_en:
            "records from HL7 v2/CSV adapters need a code terminology, which is not configured"
                .into(),
        reason_ja: "HL7 v2/CSVからのレコードの変換にはコード変換表が必要ですが、設定されていません"
            .into(),
        resource_type: kind.into(),
        code: HoldReason::Unsupported,
        patient_ref: None,
    }
}

#[cfg(test)]
mod canonical_hold_tests;
#[cfg(test)]
mod canonical_tests;
#[cfg(test)]
mod dataset_tests;
#[cfg(test)]
mod tests;
