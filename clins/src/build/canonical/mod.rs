//! Canonical records (HL7 v2 / SS-MIX2 via the adapters) → JP-CLINS resources and bundles.
//!
//! Report units (報告単位):
//! - Conditions and AllergyIntolerances: one bundle per patient and type, holding every item
//!   of the input that is active or ended within five years of the build time
//!   (`BuildContext::received_at`). The caller passes the patient's full current list (an
//!   SS-MIX2 PPR-01 file carries all diseases), so a re-send under the same identifier
//!   replaces the whole list upstream;
//! - Observations: one bundle per lab report: patient + report id (else collection time) +
//!   specimen.
//!
//! When a unit's records are all withdrawn (entered-in-error, or ended more than five years
//! ago) the unit becomes the Patient-only deletion bundle under the same identifier.
//! Patients: every canonical Patient is returned for the directory; one that cannot head a
//! bundle is also [`Held`] (`patient-no-insurance-id`, `patient-incomplete`), and so are the
//! items of such a patient. Prescriptions are held here (`unsupported`): they travel only in
//! documents ([`medication::resource`]).

pub(super) mod allergy;
pub(super) mod common;
mod condition;
mod lab;
pub mod medication;
mod patient;

use crate::build::HoldReason;
use std::collections::BTreeMap;

use serde_json::Value;
use tsunagi_adapters::Record;

use super::assemble::{assemble, jst_timestamp, Unit};
use super::fhir_input::type_held;
use super::patients::ResolvedPatient;
use super::terminology::{SourceRef, Terminology};
use super::{BuildContext, BuildResult, BuildSettings, Held, PatientDirectory};

pub use patient::{patient_key, sendable};

/// The class of the contained Encounter, when the caller knows it (else `AMB`).
#[allow(dead_code)] // set by the integrator from PV1-2
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncounterClass {
    /// 外来 `AMB`.
    Ambulatory,
    /// 入院 `IMP`.
    Inpatient,
    /// 救急 `EMER`.
    Emergency,
    /// 在宅 `HH`.
    Home,
}

/// What a canonical record can carry beyond the adapters' model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordExtras {
    /// 長期保存 (`LTS`; on Observation only for designated infection items).
    pub lts: bool,
    /// 未告知 (`UNINFORMED`, Condition only).
    pub uninformed: bool,
    /// 未提供 (`UNDELIVERED`, Condition only).
    pub undelivered: bool,
    /// Encounter class of the record.
    pub encounter_class: Option<EncounterClass>,
}

/// Where an input came from, and extras per record (by index into the input's records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputOrigin {
    /// Configured source name.
    pub source: String,
    /// MSH-3, when known.
    pub sending_application: Option<String>,
    /// MSH-4, when known.
    pub sending_facility: Option<String>,
    /// Extras by record index.
    pub extras: BTreeMap<usize, RecordExtras>,
}

impl InputOrigin {
    pub(crate) fn source_ref<'a>(&'a self, code_system: &'a str) -> SourceRef<'a> {
        SourceRef {
            source: &self.source,
            sending_application: self.sending_application.as_deref(),
            sending_facility: self.sending_facility.as_deref(),
            code_system,
        }
    }
}

/// One report unit being filled.
struct Group {
    patient: ResolvedPatient,
    resources: Vec<Value>,
    /// Resources that are not withdrawn.
    live: usize,
    /// Items withdrawn (entered-in-error, or ended more than five years ago).
    withdrawn: usize,
    /// Items held (mapping, missing data).
    held: usize,
}

impl Group {
    /// Everything known about the unit is withdrawn: delete it upstream. A unit with a held
    /// item is not deleted (the item may still be fixed and sent).
    fn withdrawn(&self) -> bool {
        self.live == 0 && self.held == 0 && self.withdrawn > 0
    }
}

/// The record's patient has no Patient yet. The PID of a result or order message (HL7 v2 ORU,
/// OUL, PPR, RDE) names the patient but carries no insurance (IN1): only an ADT message, or a
/// patient master export, brings the Patient a bundle needs. The reason says so, because the
/// items are released by themselves once it arrives (the processor replays them).
fn patient_unknown(kind: &str, key: String) -> Held {
    Held {
        reason_en: "patient not yet received: this input names the patient but brings no \
                    insurance (IN1, which only ADT messages carry). The items are sent \
                    by themselves once an ADT message with the patient's PID and IN1 \
                    (被保険者識別子), or a patient master export, arrives"
            .into(),
        reason_ja:
            "患者情報をまだ受信していません。この入力は患者IDを含みますが保険情報(IN1)を含みません\
                    (IN1はADTメッセージにのみ含まれます)。同じ患者のADTメッセージ(PID+IN1、\
                    被保険者識別子)または患者マスターの出力を受信すると自動的に送信されます"
                .into(),
        resource_type: kind.into(),
        code: HoldReason::PatientUnknown,
        patient_ref: Some(key),
    }
}

/// Builds the canonical records of one input into `result`.
pub(super) fn build(
    settings: &BuildSettings,
    term: &dyn Terminology,
    ctx: &BuildContext<'_>,
    origin: &InputOrigin,
    records: &[Record],
    dir: &dyn PatientDirectory,
    result: &mut BuildResult,
) {
    let (timestamp, _) = jst_timestamp(ctx);
    let mut local: BTreeMap<String, Value> = BTreeMap::new();
    for r in records {
        if let Record::Patient(p) = r {
            let mut json = patient::resource(settings, p, &timestamp);
            let key = patient_key(p.local_id.expose());
            if let Err(mut held) = sendable(&json, "Patient") {
                // SS-MIX2 carries the insurance (IN1) in ADT messages only: a PPR-01 or OML-11
                // PID without it uses the Patient an earlier input completed.
                match dir.patient(&key).filter(|d| sendable(d, "Patient").is_ok()) {
                    Some(known) => json = known,
                    None => {
                        held.patient_ref = Some(key.clone());
                        result.held.push(held);
                    }
                }
            }
            local.insert(key, json);
        }
    }
    let specimens = lab::Specimens::of(records.iter().filter_map(|r| match r {
        Record::LabResult(l) => Some(l),
        _ => None,
    }));
    let no_extras = RecordExtras::default();
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for (i, record) in records.iter().enumerate() {
        let extras = origin.extras.get(&i).unwrap_or(&no_extras);
        let (kind, patient_id) = match record {
            Record::Condition(c) => ("Condition", c.patient_id.expose()),
            Record::Allergy(a) => ("AllergyIntolerance", a.patient_id.expose()),
            Record::LabResult(l) => ("Observation", l.patient_id.expose()),
            Record::Prescription(_) => {
                result.held.push(type_held("MedicationRequest"));
                continue;
            }
            Record::Patient(_) | Record::Fhir(_) => continue,
        };
        let key = patient_key(patient_id);
        let Some(patient) = local.get(&key).cloned().or_else(|| dir.patient(&key)) else {
            result.held.push(patient_unknown(kind, key));
            continue;
        };
        if let Err(mut held) = sendable(&patient, kind) {
            held.patient_ref = Some(key);
            result.held.push(held);
            continue;
        }
        let built = match record {
            Record::Condition(c) => {
                let source = origin.source_ref(code_system(c));
                if !condition::in_window(c.abatement.as_deref(), ctx.received_at) {
                    Ok(None)
                } else {
                    condition::resource(settings, term, &source, c, extras, &key, &timestamp)
                        .map(|v| Some((v, !c.entered_in_error, String::new())))
                }
            }
            Record::Allergy(a) => {
                let system = a.allergen.as_ref().map_or("", |c| c.system.as_str());
                let source = origin.source_ref(system);
                allergy::resource(settings, term, &source, a, extras, &key, &timestamp)
                    .map(|v| Some((v, true, String::new())))
            }
            Record::LabResult(l) => {
                let source = origin.source_ref(&l.local_code.system);
                let report = format!(
                    "{}\u{1f}{}",
                    l.report_id
                        .as_deref()
                        .or(l.collected_at.as_deref())
                        .unwrap_or_default(),
                    l.specimen.as_ref().map_or("", |s| s.code.as_str())
                );
                lab::resource(
                    settings, term, &source, l, &specimens, extras, &key, &timestamp,
                )
                .map(|v| {
                    let live = v["status"] != "entered-in-error";
                    Some((v, live, report))
                })
            }
            _ => continue,
        };
        let report = match &built {
            Ok(Some((_, _, report))) => report.clone(),
            _ => String::new(),
        };
        let group = groups
            .entry((kind.to_string(), key.clone(), report))
            .or_insert_with(|| Group {
                patient: ResolvedPatient {
                    key: key.clone(),
                    json: patient.clone(),
                    aliases: vec![key.clone()],
                    member_id: None,
                },
                resources: Vec::new(),
                live: 0,
                withdrawn: 0,
                held: 0,
            });
        match built {
            Ok(Some((v, live, _))) => {
                group.live += usize::from(live);
                group.withdrawn += usize::from(!live);
                group.resources.push(v);
            }
            Ok(None) => group.withdrawn += 1,
            Err(held) => {
                group.held += 1;
                result.held.push(held);
            }
        }
    }
    for ((kind, _, report), group) in &groups {
        let resources: Vec<&Value> = if group.live == 0 {
            Vec::new()
        } else {
            group.resources.iter().collect()
        };
        if resources.is_empty() && !group.withdrawn() {
            continue;
        }
        let unit = Unit {
            resource_type: kind,
            patient: &group.patient,
            report_key: report,
            resources,
        };
        result.bundles.push(assemble(settings, ctx, dir, &unit));
    }
    // The input's patients, each once (the last of an id wins), moved rather than copied: a
    // patient master export of many thousands of patients is one input.
    result.patients.retain(|(r, _)| !local.contains_key(r));
    result.patients.extend(local);
}

/// The code system name a Condition's code came in: its local code's, else `MDCDX2`.
fn code_system(c: &tsunagi_adapters::Condition) -> &str {
    match (&c.disease_key, &c.local_code) {
        (None, Some(local)) => local.system.as_str(),
        _ => "MDCDX2",
    }
}

#[cfg(test)]
pub(crate) mod test_records;
