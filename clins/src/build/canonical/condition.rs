//! Canonical [`Condition`] → JP_Condition_eCS.
//!
//! The resource carries: meta (profile, lastUpdated, LTS/UNINFORMED/UNDELIVERED tags), the
//! contained Encounter (`#encounter`), extensions (institution, department, 主病名
//! DiagnosisType `principal`), identifier (resourceInstance-identifier from PRB-4 or a hash),
//! clinicalStatus and verificationStatus with display (1.10.0 requires it; none of
//! clinicalStatus when entered-in-error), category `encounter-diagnosis`, code (codings from
//! [`Terminology::disease`], the uncoded `99999999` when unmapped, prefix/postfix 修飾語
//! extensions, text = the EHR's disease name), subject, encounter, onsetDateTime,
//! abatementDateTime and recordedDate.
//!
//! Report unit rule: an item that ended (abatement) more than five years before the build
//! time is left out ([`in_window`]).

use crate::build::HoldReason;
use chrono::{DateTime, FixedOffset, Months, NaiveDate};
use serde_json::{json, Value};
use tsunagi_adapters::{Condition, DiseaseModifier};

use super::super::clins::{
    resource_profile, DIAGNOSIS_TYPE_EXTENSION, MODIFIER_EXCODE_SYSTEM, MODIFIER_KEY_SYSTEM,
    POSTFIX_MODIFIER_EXTENSION, PREFIX_MODIFIER_EXTENSION,
};
use super::super::terminology::{SourceRef, Terminology, DISEASE_KEY_SYSTEM};
use super::super::{BuildSettings, Held};
use super::common::{
    clean_text, coding, coding3, department, encounter, instance_identifier, institution, meta,
    missing, outcome_held,
};
use super::RecordExtras;

/// The date part (`YYYY-MM-DD`, or a year/month padded to its first day) of a FHIR dateTime.
fn date_of(text: &str) -> Option<NaiveDate> {
    let padded = match text.len() {
        4 => format!("{text}-01-01"),
        7 => format!("{text}-01"),
        _ => text.get(..10)?.to_string(),
    };
    NaiveDate::parse_from_str(&padded, "%Y-%m-%d").ok()
}

/// True when the item is active, or ended at most five years before `now`.
pub(crate) fn in_window(abatement: Option<&str>, now: DateTime<FixedOffset>) -> bool {
    let Some(ended) = abatement.and_then(date_of) else {
        return true;
    };
    let limit = now
        .date_naive()
        .checked_sub_months(Months::new(60))
        .unwrap_or(NaiveDate::MIN);
    ended >= limit
}

/// `(code, display)` of clinicalStatus from 転帰 (HL70241) and the abatement date.
fn clinical_status(c: &Condition) -> (&'static str, &'static str) {
    match c.outcome.as_ref().map(|o| o.code.as_str()) {
        Some("F") => ("resolved", "Resolved"),
        Some("R") => ("remission", "Remission"),
        Some("D") | Some("S") => ("inactive", "Inactive"),
        Some("N") | Some("W") | Some("U") => ("active", "Active"),
        _ if c.abatement.is_some() => ("resolved", "Resolved"),
        _ => ("active", "Active"),
    }
}

fn modifier(m: &DiseaseModifier, url: &str, term: &dyn Terminology) -> Value {
    let display = term
        .modifier(&m.key_number)
        .or_else(|| m.display.clone())
        .unwrap_or_else(|| m.key_number.clone());
    let mut codings = vec![coding3(MODIFIER_KEY_SYSTEM, &m.key_number, &display)];
    if let Some(ex) = &m.exchange_code {
        codings.push(coding3(MODIFIER_EXCODE_SYSTEM, ex, &display));
    }
    json!({"url": url, "valueCodeableConcept": {"coding": codings}})
}

/// The JP_Condition_eCS resource, or why it is held.
pub(crate) fn resource(
    settings: &BuildSettings,
    term: &dyn Terminology,
    source: &SourceRef<'_>,
    c: &Condition,
    extras: &RecordExtras,
    subject: &str,
    timestamp: &str,
) -> Result<Value, Held> {
    let text = clean_text(c.original_text.expose());
    if text.is_empty() {
        return Err(missing(
            "Condition",
            HoldReason::ConditionIncomplete,
            "the disease name text is empty (Condition.code.text is required)",
            "病名の文字列が空です（Condition.code.textは必須）",
        ));
    }
    let Some(onset) = c.onset.as_deref() else {
        return Err(missing(
            "Condition",
            HoldReason::ConditionIncomplete,
            "the diagnosis has no start date (onsetDateTime is required in JP_Bundle_CLINS, R9013C)",
            "病名開始日がありません（JP_Bundle_CLINSではonsetDateTimeが必須、R9013C）",
        ));
    };
    let answer = term.disease(source, c);
    if let Some(held) = outcome_held(&answer.outcome, "Condition") {
        return Err(held);
    }
    let mut codings: Vec<Value> = answer.codings.iter().map(coding).collect();
    let has_key = answer
        .codings
        .iter()
        .any(|k| k.system == DISEASE_KEY_SYSTEM);
    if answer.outcome.is_unmapped() || !has_key {
        codings.insert(0, coding3(DISEASE_KEY_SYSTEM, "99999999", &text));
    }
    let Some(dept) = department(c.department.as_ref(), settings) else {
        return Err(missing(
            "Condition",
            HoldReason::DepartmentUnknown,
            "no 診療科 on the record and no default department configured (R9014C)",
            "記録に診療科がなく、既定の診療科も設定されていません（R9014C）",
        ));
    };
    let mut extension = vec![institution(settings), dept];
    if c.principal {
        extension.push(json!({"url": DIAGNOSIS_TYPE_EXTENSION, "valueCoding": {
            "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
            "code": "principal", "display": "Principal Diagnosis"}}));
    }
    let mut code = json!({"coding": codings, "text": text});
    let modifiers: Vec<Value> = c
        .prefix_modifiers
        .iter()
        .map(|m| modifier(m, PREFIX_MODIFIER_EXTENSION, term))
        .chain(
            c.postfix_modifiers
                .iter()
                .map(|m| modifier(m, POSTFIX_MODIFIER_EXTENSION, term)),
        )
        .collect();
    if !modifiers.is_empty() {
        code["extension"] = Value::Array(modifiers);
    }
    let verification = if c.entered_in_error {
        ("entered-in-error", "Entered in Error")
    } else if c.suspected {
        ("unconfirmed", "Unconfirmed")
    } else {
        ("confirmed", "Confirmed")
    };
    let identity = format!(
        "{subject}\u{1f}{}\u{1f}{text}\u{1f}{onset}",
        c.disease_key.as_deref().unwrap_or_default()
    );
    let mut v = json!({
        "resourceType": "Condition",
        "meta": meta(resource_profile("Condition").unwrap_or_default(), timestamp, extras, true),
        "contained": [encounter(extras)],
        "extension": extension,
        "identifier": instance_identifier(settings, 'C', c.record_id.as_deref(), &identity),
        "verificationStatus": {"coding": [coding3(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", verification.0, verification.1)]},
        "category": [{"coding": [coding3(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            "encounter-diagnosis", "Encounter Diagnosis")]}],
        "code": code,
        "subject": {"reference": subject},
        "encounter": {"reference": "#encounter"},
        "onsetDateTime": onset,
    });
    if !c.entered_in_error {
        let (code, display) = clinical_status(c);
        v["clinicalStatus"] = json!({"coding": [coding3(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", code, display)]});
    }
    if let Some(a) = &c.abatement {
        v["abatementDateTime"] = a.as_str().into();
    }
    if let Some(r) = &c.recorded {
        v["recordedDate"] = r.as_str().into();
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2025-06-02T10:15:00+09:00").unwrap()
    }

    #[test]
    fn the_five_year_window_counts_from_the_build_time() {
        assert!(in_window(None, now()));
        assert!(in_window(Some("2020-06-02"), now()));
        assert!(!in_window(Some("2020-06-01"), now()));
        assert!(in_window(Some("2024"), now()));
        assert!(in_window(Some("2021-01-01T09:00:00+09:00"), now()));
        assert!(
            in_window(Some("garbage"), now()),
            "unreadable dates keep the item"
        );
    }

    #[test]
    fn outcome_decides_clinical_status() {
        let mut c = Condition::default();
        assert_eq!(clinical_status(&c).0, "active");
        c.abatement = Some("2025-01-01".into());
        assert_eq!(clinical_status(&c).0, "resolved");
        c.outcome = Some(tsunagi_adapters::Coded {
            system: "HL70241".into(),
            code: "N".into(),
            display: None,
        });
        assert_eq!(clinical_status(&c).0, "active");
    }
}
