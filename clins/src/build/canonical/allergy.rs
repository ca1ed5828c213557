//! Canonical [`Allergy`] → JP_AllergyIntolerance_eCS.
//!
//! The resource carries: meta (profile, lastUpdated, LTS tag), the institution extension,
//! identifier (resourceInstance-identifier), clinicalStatus `active` with display (the EHR's
//! current list holds only current allergies; no verificationStatus is claimed), category
//! (`medication` = 薬剤アレルギー等; `food`/`environment`/none = その他アレルギー等), code
//! (J-FAGY from [`Terminology::allergen`], or the dummy `D9M`/`D9F`/`D9N` + 9 zeros in the
//! matching J-FAGY code system when unmapped; text = the EHR's wording), patient, onset,
//! recordedDate and the reaction text.

use crate::build::HoldReason;
use serde_json::{json, Value};
use tsunagi_adapters::{Allergy, AllergyCategory};

use super::super::clins::resource_profile;
use super::super::terminology::{SourceRef, Terminology};
use super::super::{BuildSettings, Held};
use super::common::{
    clean_text, coding, coding3, instance_identifier, institution, meta, missing, outcome_held,
};
use super::RecordExtras;

/// The J-FAGY code systems (food, non-food non-medication, medication YCM and GCM).
pub(crate) const JFAGY_SYSTEMS: [&str; 4] = [
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS",
    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS",
    "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS",
    "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS",
];

/// The dummy J-FAGY coding for an allergen the master cannot code.
pub(crate) fn dummy(category: AllergyCategory) -> Value {
    let (system, code, display) = match category {
        AllergyCategory::Medication => (
            "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS",
            "D9M000000000",
            "薬剤アレルゲン（コード化不能）",
        ),
        AllergyCategory::Food => (
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS",
            "D9F000000000",
            "食物アレルゲン（コード化不能）",
        ),
        AllergyCategory::Environment | AllergyCategory::Unknown => (
            "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS",
            "D9N000000000",
            "非食品・非医薬品アレルゲン（コード化不能）",
        ),
    };
    coding3(system, code, display)
}

/// The JP_AllergyIntolerance_eCS resource, or why it is held.
pub(crate) fn resource(
    settings: &BuildSettings,
    term: &dyn Terminology,
    source: &SourceRef<'_>,
    a: &Allergy,
    extras: &RecordExtras,
    patient: &str,
    timestamp: &str,
) -> Result<Value, Held> {
    let text = clean_text(a.original_text.expose());
    let text = if text.is_empty() {
        a.allergen
            .as_ref()
            .and_then(|c| c.display.as_deref())
            .map(clean_text)
            .unwrap_or_default()
    } else {
        text
    };
    if text.is_empty() {
        return Err(missing(
            "AllergyIntolerance",
            HoldReason::AllergyIncomplete,
            "the allergen has no text (AllergyIntolerance.code.text is required)",
            "アレルゲンの文字列がありません（AllergyIntolerance.code.textは必須）",
        ));
    }
    let answer = term.allergen(source, a);
    if let Some(held) = outcome_held(&answer.outcome, "AllergyIntolerance") {
        return Err(held);
    }
    let mut codings: Vec<Value> = answer.codings.iter().map(coding).collect();
    if answer.outcome.is_unmapped() || codings.is_empty() {
        codings.insert(0, dummy(a.category));
    }
    let identity = format!(
        "{patient}\u{1f}{}\u{1f}{text}",
        a.allergen
            .as_ref()
            .map(|c| c.code.as_str())
            .unwrap_or_default()
    );
    let mut v = json!({
        "resourceType": "AllergyIntolerance",
        "meta": meta(resource_profile("AllergyIntolerance").unwrap_or_default(), timestamp, extras, false),
        "extension": [institution(settings)],
        "identifier": instance_identifier(settings, 'A', a.record_id.as_deref(), &identity),
        "clinicalStatus": {"coding": [coding3(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")]},
        "code": {"coding": codings, "text": text},
        "patient": {"reference": patient},
    });
    let category = match a.category {
        AllergyCategory::Medication => Some("medication"),
        AllergyCategory::Food => Some("food"),
        AllergyCategory::Environment => Some("environment"),
        AllergyCategory::Unknown => None,
    };
    if let Some(c) = category {
        v["category"] = json!([c]);
    }
    if let Some(o) = &a.onset {
        v["onsetDateTime"] = o.as_str().into();
    }
    if let Some(r) = &a.recorded {
        v["recordedDate"] = r.as_str().into();
    }
    if let Some(r) = a.reaction.as_ref().map(|r| clean_text(r.expose())) {
        if !r.is_empty() {
            v["reaction"] = json!([{"manifestation": [{"text": r}]}]);
        }
    }
    Ok(v)
}
