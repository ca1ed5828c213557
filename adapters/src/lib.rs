//! # tsunagi-adapters: the canonical clinical model and the [`Adapter`] trait
//!
//! An EHR exports clinical data in its own format: FHIR JSON, HL7 v2 (SS-MIX2), CSV. An
//! *adapter* reads one such format and returns [`Record`]s. The tsunagi agent stores the raw
//! input, then turns the records into JP-CLINS FHIR bundles and sends them. You can write an
//! adapter for your EHR against this crate alone.
//!
//! ## The contract
//!
//! - [`Adapter::parse`] never fails and never panics. It returns a [`Parsed`]: the records it
//!   could read, plus a [`Problem`] for everything it could not.
//! - A [`Problem`] names the field (`$.entry[3].resource.subject`, `PID-3`) and the reason
//!   in English and Japanese. It must **never quote an input value**: inputs are patient data.
//! - Records are either canonical ([`Patient`], [`Condition`], [`Allergy`], [`LabResult`],
//!   [`Prescription`]) or already FHIR ([`FhirResource`]). Canonical records wrap patient
//!   values in [`Sensitive`], whose `Debug`/`Display` print `***`.
//! - Adapters do not invent clinical content: a code not received is `None`, not a guess.
//!
//! ## Example
//!
//! ```
//! use tsunagi_adapters::{Adapter, FhirJsonAdapter, RawInput, Record, Severity};
//!
//! let adapter = FhirJsonAdapter::new();
//! let input = br#"{"resourceType":"Bundle","type":"collection","entry":[
//!     {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p1"}},
//!     {"resource":{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}},
//!     {"fullUrl":"urn:uuid:3"}
//! ]}"#;
//! let parsed = adapter.parse(&RawInput { bytes: input, origin: "inbox/a.json" });
//!
//! // Two resources were readable…
//! assert_eq!(parsed.records.len(), 2);
//! if let Record::Fhir(condition) = &parsed.records[1] {
//!     assert_eq!(condition.patient_ref.as_deref(), Some("Patient/p1"));
//! }
//! // …and the third entry is reported by its path, without its content.
//! assert_eq!(parsed.problems[0].field, "$.entry[2]");
//! assert_eq!(parsed.problems[0].severity, Severity::Fatal);
//! ```
//!
//! Writing your own adapter is implementing two methods:
//!
//! ```
//! use tsunagi_adapters::{Adapter, Parsed, Patient, Problem, RawInput, Record, Sensitive};
//!
//! struct OneIdPerLine;
//!
//! impl Adapter for OneIdPerLine {
//!     fn name(&self) -> &'static str { "one-id-per-line" }
//!     fn parse(&self, input: &RawInput<'_>) -> Parsed {
//!         let mut parsed = Parsed::default();
//!         let Ok(text) = std::str::from_utf8(input.bytes) else {
//!             parsed.problems.push(Problem::fatal("$", "not UTF-8", "UTF-8ではありません"));
//!             return parsed;
//!         };
//!         for line in text.lines().filter(|l| !l.is_empty()) {
//!             parsed.records.push(Record::Patient(Patient {
//!                 local_id: Sensitive::new(line.to_string()),
//!                 ..Patient::default()
//!             }));
//!         }
//!         parsed
//!     }
//! }
//!
//! let parsed = OneIdPerLine.parse(&RawInput { bytes: b"P1\nP2\n", origin: "ids.txt" });
//! assert_eq!(parsed.records.len(), 2);
//! assert_eq!(format!("{:?}", parsed.records[0]).contains("P1"), false);
//! ```
#![deny(missing_docs)]

pub mod canonical_json;
mod fhir_json;
pub mod hl7v2;
mod model;
mod problem;
mod record;
mod sensitive;
pub mod table;

pub use canonical_json::CanonicalJsonAdapter;
pub use fhir_json::{is_clins_bundle, profiles, FhirJsonAdapter, CLINS_BUNDLE_PROFILE_PREFIX};
pub use hl7v2::{Charset, Hl7v2Adapter};
pub use model::{
    Allergy, AllergyCategory, Coded, Condition, DiseaseModifier, Gender, InsuranceId, LabResult,
    LabValue, Patient, PersonName, Prescription, Quantity,
};
pub use problem::{Problem, Severity};
pub use record::{Adapter, FhirResource, Parsed, RawInput, Record};
pub use sensitive::Sensitive;
