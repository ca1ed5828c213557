//! Pieces every canonical → FHIR conversion shares: identifiers, extensions, codings, the
//! contained Encounter, `meta` with flags, and the [`Held`] values for look-up outcomes.
//!
//! Everything here is a pure function of its arguments, so the same record always gives the
//! same JSON.

use crate::build::HoldReason;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::super::clins::{
    CORE_ENCOUNTER_PROFILE, DEPARTMENT_EXTENSION, DEPARTMENT_SYSTEM, INDICATION_CS,
    INSTITUTION_EXTENSION, INSTITUTION_SYSTEM, RESOURCE_INSTANCE_ID_SYSTEM,
};
use super::super::terminology::{Coding, Outcome};
use super::super::{BuildSettings, Held};
use super::{EncounterClass, RecordExtras};
use tsunagi_adapters::Coded;

/// A FHIR coding object.
pub(crate) fn coding(c: &Coding) -> Value {
    json!({"system": c.system, "code": c.code, "display": c.display})
}

/// `{"system":…, "code":…, "display":…}` from literals.
pub(crate) fn coding3(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

/// The JP_eCS_InstitutionNumber extension.
pub(crate) fn institution(settings: &BuildSettings) -> Value {
    json!({"url": INSTITUTION_EXTENSION,
           "valueIdentifier": {"system": INSTITUTION_SYSTEM, "value": settings.institution_number}})
}

/// The JP_eCS_Department extension: the record's 診療科, else the configured default.
pub(crate) fn department(record: Option<&Coded>, settings: &BuildSettings) -> Option<Value> {
    let (code, text) = match record.filter(|d| !d.code.trim().is_empty()) {
        Some(d) => (
            d.code.clone(),
            d.display.clone().unwrap_or_else(|| d.code.clone()),
        ),
        None => settings.department.clone()?,
    };
    Some(
        json!({"url": DEPARTMENT_EXTENSION, "valueCodeableConcept": {
        "coding": [{"system": DEPARTMENT_SYSTEM, "code": code, "display": text}], "text": text}}),
    )
}

/// `identifier` with the resourceInstance-identifier system: `<institution>-<letter><id>`,
/// `id` being the source's record id when it fits, else a hash of `identity`.
pub(crate) fn instance_identifier(
    settings: &BuildSettings,
    letter: char,
    record_id: Option<&str>,
    identity: &str,
) -> Value {
    let own = record_id
        .map(str::trim)
        .filter(|r| !r.is_empty() && r.len() <= 40 && r.bytes().all(|b| b.is_ascii_graphic()));
    let value = match own {
        Some(r) => format!("{}-{letter}{r}", settings.institution_number),
        None => format!(
            "{}-{letter}h{}",
            settings.institution_number,
            short_hash(identity)
        ),
    };
    json!([{"system": RESOURCE_INSTANCE_ID_SYSTEM, "value": value}])
}

/// 24 hex digits of SHA-256.
pub(crate) fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..12])
}

/// `meta` with lastUpdated, the profile and the LTS/UNINFORMED/UNDELIVERED tags allowed for
/// this resource type (UNINFORMED/UNDELIVERED only on Condition).
pub(crate) fn meta(
    profile: &str,
    timestamp: &str,
    extras: &RecordExtras,
    condition: bool,
) -> Value {
    let mut tags = Vec::new();
    let mut flag = |on: bool, code: &str, display: &str| {
        if on {
            tags.push(json!({"system": INDICATION_CS, "code": code, "display": display}));
        }
    };
    flag(extras.lts, "LTS", "長期保存");
    flag(condition && extras.uninformed, "UNINFORMED", "未告知");
    flag(condition && extras.undelivered, "UNDELIVERED", "未提供");
    let mut meta = json!({"lastUpdated": timestamp, "profile": [profile]});
    if !tags.is_empty() {
        meta["tag"] = Value::Array(tags);
    }
    meta
}

/// The contained Encounter (`#encounter`): the class the caller gave, else AMB (SS-MIX2
/// disease and lab records do not say whether the patient was an outpatient).
pub(crate) fn encounter(extras: &RecordExtras) -> Value {
    let (code, display) = match extras.encounter_class.unwrap_or(EncounterClass::Ambulatory) {
        EncounterClass::Ambulatory => ("AMB", "外来"),
        EncounterClass::Inpatient => ("IMP", "入院"),
        EncounterClass::Emergency => ("EMER", "救急"),
        EncounterClass::Home => ("HH", "在宅"),
    };
    json!({"resourceType": "Encounter", "id": "encounter",
           "meta": {"profile": [CORE_ENCOUNTER_PROFILE]}, "status": "finished",
           "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                     "code": code, "display": display}})
}

/// A canonical item that is not sent: a Held for the look-up outcome, if it says hold.
pub(crate) fn outcome_held(outcome: &Outcome, resource_type: &str) -> Option<Held> {
    let (code, reason) = match outcome {
        Outcome::Invalid(i) => (HoldReason::MappingInvalid, i.reason()),
        Outcome::Held(r) => (HoldReason::UnmappedHeld, r.clone()),
        Outcome::Mapped { .. } | Outcome::Unmapped { .. } => return None,
    };
    Some(Held {
        reason_en: format!("code look-up: {}", reason.en),
        reason_ja: format!("コード変換: {}", reason.ja),
        resource_type: resource_type.into(),
        code,
        patient_ref: None,
    })
}

/// A Held for a canonical item missing something the profile requires.
pub(crate) fn missing(resource_type: &str, code: HoldReason, en: &str, ja: &str) -> Held {
    Held {
        reason_en: en.into(),
        reason_ja: ja.into(),
        resource_type: resource_type.into(),
        code,
        patient_ref: None,
    }
}

/// FHIR `display`/`text` must not carry half-width kana, full-width spaces or control
/// characters: full-width spaces become ASCII spaces, controls are dropped.
pub(crate) fn clean_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '\u{3000}' { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_used_when_printable_and_hashed_otherwise() {
        let s = BuildSettings::new("1318814790", None).unwrap();
        let own = instance_identifier(&s, 'C', Some("123"), "x");
        assert_eq!(own[0]["value"], "1318814790-C123");
        let hashed = instance_identifier(&s, 'C', Some("a b"), "x");
        assert_eq!(
            hashed[0]["value"].as_str().unwrap().len(),
            "1318814790-Ch".len() + 24
        );
        assert_ne!(hashed, instance_identifier(&s, 'C', None, "y"));
    }

    #[test]
    fn flags_follow_the_resource_type() {
        let extras = RecordExtras {
            lts: true,
            uninformed: true,
            undelivered: true,
            encounter_class: None,
        };
        let on_condition = meta("p", "t", &extras, true);
        assert_eq!(on_condition["tag"].as_array().unwrap().len(), 3);
        let on_allergy = meta("p", "t", &extras, false);
        assert_eq!(on_allergy["tag"].as_array().unwrap().len(), 1);
        assert!(meta("p", "t", &RecordExtras::default(), true)
            .get("tag")
            .is_none());
    }

    #[test]
    fn text_loses_full_width_spaces_and_controls() {
        assert_eq!(clean_text("胃炎\u{3000}疑い\u{7}"), "胃炎 疑い");
    }
}
