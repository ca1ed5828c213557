//! The adapter contract: [`Adapter`] turns [`RawInput`] bytes into [`Parsed`] records.
//!
//! Parsing never fails as a whole: an adapter returns what it could read as [`Record`]s plus
//! a [`Problem`] for everything it could not. The agent quarantines an input that yields only
//! fatal problems and no records.

use std::fmt;

use crate::model::{Allergy, Condition, LabResult, Patient, Prescription};
use crate::Problem;

/// One input as received: a file's bytes or one HL7 v2 message.
#[derive(Debug, Clone, Copy)]
pub struct RawInput<'a> {
    /// The raw bytes, exactly as received.
    pub bytes: &'a [u8],
    /// Where it came from (file path or MSH-10), used in messages. Never patient data.
    pub origin: &'a str,
}

/// What an adapter read from one input.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Everything readable, in input order.
    pub records: Vec<Record>,
    /// Everything that was not.
    pub problems: Vec<Problem>,
    /// Characters that could not be decoded in the input's character set and were replaced
    /// (each is also reported, per field, among the problems).
    pub decode_replacements: usize,
}

impl Parsed {
    /// True when some problem is [`crate::Severity::Fatal`].
    pub fn has_fatal(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.severity == crate::Severity::Fatal)
    }
}

/// One clinical record, either canonical (from HL7 v2 / CSV) or already FHIR.
#[derive(Debug, Clone)]
pub enum Record {
    /// A patient.
    Patient(Patient),
    /// A diagnosis.
    Condition(Condition),
    /// An allergy.
    Allergy(Allergy),
    /// A lab result.
    LabResult(LabResult),
    /// A prescription.
    Prescription(Prescription),
    /// A FHIR resource received as FHIR.
    Fhir(FhirResource),
}

/// A FHIR resource received as JSON, kept as-is.
///
/// Its `Debug` shows only the resource type: the id, the patient reference and the JSON can
/// all hold patient data.
#[derive(Clone, PartialEq)]
pub struct FhirResource {
    /// `resourceType`, e.g. `Condition`.
    pub resource_type: String,
    /// `id`, when present.
    pub id: Option<String>,
    /// `subject.reference` (or `patient.reference`) exactly as written, when present.
    pub patient_ref: Option<String>,
    /// The Bundle entry's `fullUrl` when the resource came from a Bundle entry.
    pub full_url: Option<String>,
    /// The whole resource.
    pub json: serde_json::Value,
}

impl FhirResource {
    /// Reads the fields above out of a resource object. `None` when `json` is not an object
    /// with a string `resourceType`.
    pub fn from_json(json: serde_json::Value, full_url: Option<String>) -> Option<Self> {
        let resource_type = json.get("resourceType")?.as_str()?.to_string();
        let id = json.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let patient_ref = ["subject", "patient"]
            .iter()
            .find_map(|k| json.get(k)?.get("reference")?.as_str())
            .map(str::to_string);
        Some(FhirResource {
            resource_type,
            id,
            patient_ref,
            full_url,
            json,
        })
    }
}

impl fmt::Debug for FhirResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FhirResource")
            .field("resource_type", &self.resource_type)
            .field("id", &"***")
            .field("patient_ref", &"***")
            .field("full_url", &"***")
            .field("json", &"***")
            .finish()
    }
}

/// Turns one kind of EHR export into [`Record`]s. Implementations must not panic on any
/// input and must not put input values into [`Problem`]s.
pub trait Adapter: Send + Sync {
    /// A short stable name for configuration and logs, e.g. `fhir-json`.
    fn name(&self) -> &'static str;
    /// Reads one input. Never fails: unreadable parts become problems.
    fn parse(&self, input: &RawInput<'_>) -> Parsed;
}

/// A shared adapter (one declared table spec serving every input of its format) is an adapter.
impl<A: Adapter + ?Sized> Adapter for std::sync::Arc<A> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn parse(&self, input: &RawInput<'_>) -> Parsed {
        (**self).parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fhir_resource_reads_subject_or_patient_reference() {
        let c = FhirResource::from_json(
            json!({"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"}}),
            None,
        )
        .unwrap();
        assert_eq!(c.patient_ref.as_deref(), Some("Patient/p1"));
        let a = FhirResource::from_json(
            json!({"resourceType":"AllergyIntolerance","patient":{"reference":"urn:uuid:x"}}),
            None,
        )
        .unwrap();
        assert_eq!(a.patient_ref.as_deref(), Some("urn:uuid:x"));
        assert!(FhirResource::from_json(json!({"id":"x"}), None).is_none());
        assert!(FhirResource::from_json(json!([1]), None).is_none());
    }

    #[test]
    fn fhir_resource_debug_hides_everything_but_the_type() {
        let r = FhirResource::from_json(
            json!({"resourceType":"Patient","id":"P000123","name":[{"text":"テスト 太郎"}]}),
            None,
        )
        .unwrap();
        let shown = format!("{:?}", Record::Fhir(r));
        assert!(shown.contains("Patient"));
        assert!(
            !shown.contains("P000123") && !shown.contains("テスト"),
            "{shown}"
        );
    }
}
