//! Canonical [`Prescription`] → JP_MedicationRequest_eCS, for documents only (処方 is never
//! sent as a 5情報 bundle).
//!
//! The resource carries: meta (profile, lastUpdated), extensions (institution, department
//! when known), identifier (resourceInstance-identifier from the order number or a hash),
//! status `completed`, intent `order`, medicationCodeableConcept (codings from
//! [`Terminology::drug`], `NOCODED` when unmapped; text = drug name, required), subject,
//! authoredOn (an order without a date is held, `medication-incomplete`), dosageInstruction (JP_MedicationDosage_eCS: text, the PeriodOfUse extension
//! from authoredOn, timing.code = JAMI 16-character 用法 when received as `JAMISDP01`, else
//! the uncoded 用法 `0X0XXXXXXXXX0000` with the received text — exactly one of the two,
//! R5020/R5021; route and doseQuantity when received) and dispenseRequest.expectedSupplyDuration
//! (days). The Rp number and the order in the Rp are given by the document builder, which
//! sees every drug of the document.

use crate::build::HoldReason;
use serde_json::{json, Value};
use tsunagi_adapters::Prescription;

use super::super::clins::MEDICATION_REQUEST_PROFILE;
use super::super::terminology::{SourceRef, Terminology};
use super::super::{BuildSettings, Held};
use super::common::{
    clean_text, coding, coding3, department, instance_identifier, institution, missing,
    outcome_held,
};

const USAGE_SYSTEM: &str =
    "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/MedicationUsage_ePrescription";
const USAGE_UNCODED_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/JP_CLINS_MedicationUsage_Uncoded_CS";
const PERIOD_OF_USE: &str =
    "http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_MedicationDosage_PeriodOfUse";

/// The JP_MedicationRequest_eCS resource, or why it is held.
pub fn resource(
    settings: &BuildSettings,
    term: &dyn Terminology,
    source: &SourceRef<'_>,
    p: &Prescription,
    subject: &str,
    timestamp: &str,
) -> Result<Value, Held> {
    let text = p.drug_text.as_deref().map(clean_text).unwrap_or_default();
    if text.is_empty() {
        return Err(missing(
            "MedicationRequest",
            HoldReason::MedicationIncomplete,
            "the drug has no name (medicationCodeableConcept.text is required)",
            "薬剤名がありません（medicationCodeableConcept.textは必須）",
        ));
    }
    let Some(authored) = p.authored.as_deref() else {
        return Err(missing(
            "MedicationRequest",
            HoldReason::MedicationIncomplete,
            "the order has no date (authoredOn is required; HL7 v2 ORC-9, else ORC-15)",
            "処方日がありません（authoredOnは必須。HL7 v2のORC-9、なければORC-15）",
        ));
    };
    let answer = term.drug(source, p);
    if let Some(held) = outcome_held(&answer.outcome, "MedicationRequest") {
        return Err(held);
    }
    let mut codings: Vec<Value> = answer.codings.iter().map(coding).collect();
    if answer.outcome.is_unmapped() || codings.is_empty() {
        codings.push(coding3(
            "http://jpfhir.jp/fhir/eCS/CodeSystem/MedicationCodeNocoded_CS",
            "NOCODED",
            "コード化されていない薬剤",
        ));
    }
    let usage_text = p
        .usage
        .as_ref()
        .and_then(|u| u.display.clone())
        .map(|d| clean_text(&d))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "用法不明".to_string());
    let usage_coding = match &p.usage {
        Some(u) if u.system.eq_ignore_ascii_case("JAMISDP01") && u.code.len() == 16 => {
            coding3(USAGE_SYSTEM, &u.code, &usage_text)
        }
        _ => coding3(USAGE_UNCODED_SYSTEM, "0X0XXXXXXXXX0000", "ダミー用法コード"),
    };
    let mut dosage_text = format!("{text} {usage_text}");
    let mut dosage = json!({
        "timing": {"code": {"coding": [usage_coding], "text": usage_text}},
    });
    if let Some(start) = authored.get(..10) {
        dosage["extension"] = json!([{"url": PERIOD_OF_USE, "valuePeriod": {"start": start}}]);
    }
    if let Some(r) = &p.route {
        let display = r.display.clone().unwrap_or_else(|| r.code.clone());
        dosage["route"] = json!({"coding": [coding3(
            "http://terminology.hl7.org/CodeSystem/v2-0162", &r.code, &display)], "text": display});
    }
    if let Some(d) = &p.dose {
        if let Ok(n) = d.value.trim().parse::<serde_json::Number>() {
            let mut q = json!({"value": n});
            if let Some(u) = &d.unit {
                q["unit"] = u.as_str().into();
                dosage_text.push_str(&format!(" 1回{}{u}", d.value.trim()));
            }
            dosage["doseAndRate"] = json!([{"doseQuantity": q}]);
        }
    }
    if let Some(days) = p.days {
        dosage_text.push_str(&format!(" {days}日分"));
    }
    dosage["text"] = dosage_text.into();
    let identity = format!("{subject}\u{1f}{text}\u{1f}{:?}", p.authored);
    let mut extension = vec![institution(settings)];
    if let Some(d) = department(None, settings) {
        extension.push(d);
    }
    let mut v = json!({
        "resourceType": "MedicationRequest",
        "meta": {"lastUpdated": timestamp, "profile": [MEDICATION_REQUEST_PROFILE]},
        "extension": extension,
        "identifier": instance_identifier(settings, 'M', p.order_id.as_deref(), &identity),
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"coding": codings, "text": text},
        "subject": {"reference": subject},
        "authoredOn": authored,
        "dosageInstruction": [dosage],
    });
    if let Some(days) = p.days {
        v["dispenseRequest"] = json!({"expectedSupplyDuration": {
            "value": days, "unit": "日", "system": "http://unitsofmeasure.org", "code": "d"}});
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::super::super::terminology::PassThrough;
    use super::*;
    use tsunagi_adapters::Coded;

    #[test]
    fn usage_is_the_jami_code_or_the_dummy_never_both() {
        let s = BuildSettings::new("1318814790", None).unwrap();
        let src = SourceRef {
            source: "s",
            sending_application: None,
            sending_facility: None,
            code_system: "",
        };
        let mut p = Prescription {
            drug_text: Some("テスト錠".into()),
            authored: Some("2025-05-20".into()),
            days: Some(14),
            usage: Some(Coded {
                system: "JAMISDP01".into(),
                code: "1013044400000000".into(),
                display: Some("1日3回毎食後".into()),
            }),
            ..Prescription::default()
        };
        let v = resource(&s, &PassThrough, &src, &p, "urn:uuid:x", "t").unwrap();
        let usage = &v["dosageInstruction"][0]["timing"]["code"]["coding"];
        assert_eq!(usage.as_array().unwrap().len(), 1);
        assert_eq!(usage[0]["system"], USAGE_SYSTEM);
        assert_eq!(v["dispenseRequest"]["expectedSupplyDuration"]["value"], 14);
        assert_eq!(
            v["medicationCodeableConcept"]["coding"][0]["code"],
            "NOCODED"
        );
        p.usage = None;
        let v = resource(&s, &PassThrough, &src, &p, "urn:uuid:x", "t").unwrap();
        let usage = &v["dosageInstruction"][0]["timing"]["code"]["coding"];
        assert_eq!(usage[0]["code"], "0X0XXXXXXXXX0000");
        p.authored = None;
        let held = resource(&s, &PassThrough, &src, &p, "urn:uuid:x", "t").unwrap_err();
        assert_eq!(held.code, HoldReason::MedicationIncomplete);
        assert!(held.reason_en.contains("authoredOn"), "{}", held.reason_en);
    }
}
