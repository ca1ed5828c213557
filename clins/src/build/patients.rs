//! Finding the Patient a resource belongs to: in the same input, or in earlier inputs.
//!
//! A resource names its patient in `subject` (or `patient` for AllergyIntolerance) either by
//! `reference` (`Patient/ID`, the input Bundle's `fullUrl`, or an absolute URL ending in
//! `/Patient/ID`) or by a JP_Insurance_memberID `identifier`. Patients of the same input are
//! tried first; then `Patient/ID` is asked of the [`PatientDirectory`]. Identifier-only
//! references are matched within the input only.

use serde_json::Value;
use tsunagi_adapters::FhirResource;

use super::clins::INSURANCE_MEMBER_ID_SYSTEM;
use super::PatientDirectory;

/// A patient as a bundle needs it. No `Debug`: it is all patient data.
#[derive(Clone)]
pub(super) struct ResolvedPatient {
    /// Stable key: `Patient/ID` when the Patient has an id, else its fullUrl or member id.
    pub key: String,
    /// The Patient resource.
    pub json: Value,
    /// Every reference string that means this patient in the input.
    pub aliases: Vec<String>,
    /// Its JP_Insurance_memberID value, for identifier-only references.
    pub member_id: Option<String>,
}

/// The Patients of one input.
pub(super) struct PatientIndex {
    patients: Vec<ResolvedPatient>,
}

impl PatientIndex {
    pub(super) fn new<'a>(patients: impl Iterator<Item = &'a FhirResource>) -> Self {
        let patients = patients
            .map(|p| {
                let reference = p.id.as_ref().map(|id| format!("Patient/{id}"));
                let member_id = member_id(&p.json);
                let key = reference
                    .clone()
                    .or_else(|| p.full_url.clone())
                    .or_else(|| member_id.as_ref().map(|m| format!("member:{m}")))
                    .unwrap_or_default();
                let aliases = reference.into_iter().chain(p.full_url.clone()).collect();
                ResolvedPatient {
                    key,
                    json: p.json.clone(),
                    aliases,
                    member_id,
                }
            })
            .collect();
        PatientIndex { patients }
    }

    /// The Patients of the input.
    pub(super) fn patients(&self) -> &[ResolvedPatient] {
        &self.patients
    }

    /// The patient `resource` belongs to, or `None` when it names none or an unknown one.
    pub(super) fn resolve(
        &self,
        resource: &Value,
        dir: &dyn PatientDirectory,
    ) -> Option<ResolvedPatient> {
        let subject = subject(resource)?;
        if let Some(reference) = subject.get("reference").and_then(Value::as_str) {
            // Last one wins, like a later entry replacing an earlier one.
            if let Some(found) = self.patients.iter().rev().find(|p| {
                p.aliases
                    .iter()
                    .any(|a| a == reference || reference.ends_with(&format!("/{a}")))
            }) {
                let mut found = found.clone();
                found.aliases.push(reference.to_string());
                return Some(found);
            }
            let local = local_patient_reference(reference)?;
            let json = dir.patient(&local)?;
            return Some(ResolvedPatient {
                member_id: member_id(&json),
                aliases: vec![local.clone(), reference.to_string()],
                key: local,
                json,
            });
        }
        let identifier = subject.get("identifier")?;
        if identifier.get("system").and_then(Value::as_str) != Some(INSURANCE_MEMBER_ID_SYSTEM) {
            return None;
        }
        let value = identifier.get("value").and_then(Value::as_str)?;
        self.patients
            .iter()
            .rev()
            .find(|p| p.member_id.as_deref() == Some(value))
            .cloned()
    }
}

/// The object naming the patient: `subject`, or `patient` (AllergyIntolerance).
pub(super) fn subject(resource: &Value) -> Option<&Value> {
    resource
        .get("subject")
        .or_else(|| resource.get("patient"))
        .filter(|s| s.is_object())
}

/// `Patient/ID` out of `Patient/ID`, `…/Patient/ID` or `…/Patient/ID/_history/N`.
pub(super) fn local_patient_reference(reference: &str) -> Option<String> {
    let reference = reference.split("/_history/").next().unwrap_or(reference);
    let at = reference.rfind("Patient/")?;
    if at > 0 && !reference[..at].ends_with('/') {
        return None;
    }
    let id = &reference[at + "Patient/".len()..];
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then(|| format!("Patient/{id}"))
}

/// The Patient's JP_Insurance_memberID value, if it has one.
fn member_id(patient: &Value) -> Option<String> {
    patient
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(INSURANCE_MEMBER_ID_SYSTEM))?
        .get("value")?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_references_are_recognised() {
        assert_eq!(
            local_patient_reference("Patient/p-1").as_deref(),
            Some("Patient/p-1")
        );
        assert_eq!(
            local_patient_reference("https://ehr.example/fhir/Patient/p1/_history/2").as_deref(),
            Some("Patient/p1")
        );
        assert_eq!(local_patient_reference("urn:uuid:1234"), None);
        assert_eq!(local_patient_reference("Patient/"), None);
        assert_eq!(local_patient_reference("RelatedPatient/x"), None);
        assert_eq!(local_patient_reference("Patient/a b"), None);
    }
}
