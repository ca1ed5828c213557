//! Local codes in FHIR inputs go through the map stage, like HL7 v2 records.
//!
//! A FHIR Condition or AllergyIntolerance is asked about through the same [`Terminology`] the
//! canonical path uses (so the agent records each item's outcome: `mapping suggest`, the coded
//! rate), built as the canonical record its codings describe:
//! - a Condition whose 病名管理番号, or an AllergyIntolerance whose J-FAGY code, is what the map
//!   stage answers (the master knows it, or no master of that kind is loaded) keeps its codings
//!   as the EHR wrote them;
//! - otherwise its national codings come from the answer, first, followed by the input's own
//!   local codings (its other national codings are replaced), exactly as for an HL7 v2 record:
//!   mapped → the national codes (a table row may replace a key); unmapped (also a key the
//!   loaded master does not know) → the profile's uncoded marker (`99999999`, `D9x000000000`);
//!   the unmapped policy's hold → `unmapped-held`; a table row pointing outside the master →
//!   `mapping-invalid`.
//!
//! Ready-made JP_Bundle_CLINS and documents are not changed here.

use serde_json::Value;
use tsunagi_adapters::{Allergy, AllergyCategory, Coded, Condition, Sensitive};

use super::canonical::allergy::{dummy, JFAGY_SYSTEMS};
use super::canonical::common::{clean_text, coding, coding3, outcome_held};
use super::canonical::InputOrigin;
use super::terminology::{
    Coding3, Terminology, DISEASE_EXCODE_SYSTEM, DISEASE_KEY_SYSTEM, ICD10_SYSTEM,
};
use super::Held;

/// The uncoded 病名管理番号.
const UNCODED_DISEASE: &str = "99999999";
/// レセプト電算処理システム傷病名 codes (a national system, not a local one).
const RECEIPT_DISEASE_SYSTEM: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/masterB-disease";

/// Maps the local codes of one FHIR resource in place, or says why it is held.
pub(super) fn recode(
    term: &dyn Terminology,
    origin: &InputOrigin,
    resource: &mut Value,
) -> Result<(), Held> {
    match resource.get("resourceType").and_then(Value::as_str) {
        Some("Condition") => condition(term, origin, resource),
        Some("AllergyIntolerance") => allergy(term, origin, resource),
        _ => Ok(()),
    }
}

/// One coding of `code.coding`, as strings.
struct Given {
    system: String,
    code: String,
    display: Option<String>,
    json: Value,
}

fn given_codings(resource: &Value) -> Vec<Given> {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    resource
        .pointer("/code/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            Some(Given {
                system: text(c, "system")?,
                code: text(c, "code")?,
                display: text(c, "display"),
                json: c.clone(),
            })
        })
        .collect()
}

/// `code.text`, else the first display; cleaned.
fn code_text(resource: &Value, given: &[Given]) -> String {
    resource
        .pointer("/code/text")
        .and_then(Value::as_str)
        .map(clean_text)
        .filter(|t| !t.is_empty())
        .or_else(|| {
            given
                .iter()
                .find_map(|g| g.display.as_deref().map(clean_text))
        })
        .unwrap_or_default()
}

fn set_codings(resource: &mut Value, codings: Vec<Value>) {
    if let Some(code) = resource.get_mut("code").and_then(Value::as_object_mut) {
        code.insert("coding".into(), Value::Array(codings));
    }
}

fn condition(
    term: &dyn Terminology,
    origin: &InputOrigin,
    resource: &mut Value,
) -> Result<(), Held> {
    let given = given_codings(resource);
    let text = code_text(resource, &given);
    let of = |system: &str| given.iter().find(|g| g.system == system);
    let key = of(DISEASE_KEY_SYSTEM).filter(|g| g.code != UNCODED_DISEASE);
    let national = [
        DISEASE_KEY_SYSTEM,
        DISEASE_EXCODE_SYSTEM,
        ICD10_SYSTEM,
        RECEIPT_DISEASE_SYSTEM,
    ];
    let locals: Vec<&Given> = given
        .iter()
        .filter(|g| !national.contains(&g.system.as_str()))
        .collect();
    if key.is_none() && locals.is_empty() && text.is_empty() {
        return Ok(()); // nothing to look up; validation names what is missing
    }
    let record = Condition {
        disease_key: key.map(|g| g.code.clone()),
        exchange_code: of(DISEASE_EXCODE_SYSTEM).map(|g| g.code.clone()),
        icd10: of(ICD10_SYSTEM).map(|g| g.code.clone()),
        local_code: locals.first().map(|g| coded(g)),
        original_text: Sensitive::new(text.clone()),
        ..Condition::default()
    };
    let system = locals.first().map_or("", |g| g.system.as_str());
    let answer = term.disease(&origin.source_ref(system), &record);
    if let Some(held) = outcome_held(&answer.outcome, "Condition") {
        return Err(held);
    }
    if unchanged(&answer, key) {
        return Ok(());
    }
    let mut codings: Vec<Value> = answer.codings.iter().map(coding).collect();
    let has_key = answer
        .codings
        .iter()
        .any(|c| c.system == DISEASE_KEY_SYSTEM);
    if answer.outcome.is_unmapped() || !has_key {
        codings.insert(0, coding3(DISEASE_KEY_SYSTEM, UNCODED_DISEASE, &text));
    }
    codings.extend(locals.iter().map(|g| g.json.clone()));
    set_codings(resource, codings);
    Ok(())
}

fn allergy(term: &dyn Terminology, origin: &InputOrigin, resource: &mut Value) -> Result<(), Held> {
    let given = given_codings(resource);
    let text = code_text(resource, &given);
    let is_jfagy = |g: &&Given| JFAGY_SYSTEMS.contains(&g.system.as_str());
    let jfagy = given
        .iter()
        .find(|g| is_jfagy(g) && !g.code.starts_with('D'));
    let locals: Vec<&Given> = given.iter().filter(|g| !is_jfagy(g)).collect();
    if jfagy.is_none() && locals.is_empty() && text.is_empty() {
        return Ok(());
    }
    let category = match resource.pointer("/category/0").and_then(Value::as_str) {
        Some("medication") => AllergyCategory::Medication,
        Some("food") => AllergyCategory::Food,
        Some("environment") => AllergyCategory::Environment,
        _ => AllergyCategory::Unknown,
    };
    let record = Allergy {
        category,
        allergen: jfagy.or(locals.first().copied()).map(coded),
        original_text: Sensitive::new(text),
        ..Allergy::default()
    };
    let system = record.allergen.as_ref().map_or("", |c| c.system.as_str());
    let answer = term.allergen(&origin.source_ref(system), &record);
    if let Some(held) = outcome_held(&answer.outcome, "AllergyIntolerance") {
        return Err(held);
    }
    if unchanged(&answer, jfagy) {
        return Ok(());
    }
    let mut codings: Vec<Value> = answer.codings.iter().map(coding).collect();
    if answer.outcome.is_unmapped() || codings.is_empty() {
        codings.insert(0, dummy(category));
    }
    // Every coding of JP_AllergyIntolerance_eCS needs a display: local ones without are left out.
    codings.extend(
        locals
            .iter()
            .filter(|g| g.display.as_deref().is_some_and(|d| !d.trim().is_empty()))
            .map(|g| g.json.clone()),
    );
    set_codings(resource, codings);
    Ok(())
}

/// The input's national coding is what the map stage answers: leave the resource as written.
fn unchanged(answer: &Coding3, national: Option<&Given>) -> bool {
    let first = answer.codings.first();
    answer.outcome.is_mapped()
        && national.is_some_and(|g| first.is_some_and(|c| c.system == g.system && c.code == g.code))
}

fn coded(g: &Given) -> Coded {
    Coded {
        system: g.system.clone(),
        code: g.code.clone(),
        display: g.display.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tsunagi_adapters::{LabResult, Prescription};

    use super::*;
    use crate::build::terminology::{Coding, Coding3, LabCoding, Reason, SourceRef};
    use crate::build::HoldReason;
    use crate::map::{Invalid, Outcome, Via};

    /// Maps `L1` (disease) and `A1` (allergen); holds `H1`; calls `K9` invalid; the rest unmapped.
    struct Table;

    fn answer(code: &str, mapped: Coding) -> Coding3 {
        let reason = || Reason {
            en: "r".into(),
            ja: "r".into(),
        };
        match code {
            "L1" | "A1" => Coding3 {
                codings: vec![mapped],
                outcome: Outcome::Mapped {
                    via: Via::Direct,
                    verified: true,
                },
            },
            "H1" => Coding3 {
                codings: vec![],
                outcome: Outcome::Held(reason()),
            },
            "K9" => Coding3 {
                codings: vec![],
                outcome: Outcome::Invalid(Invalid::Code(reason())),
            },
            _ => Coding3 {
                codings: vec![],
                outcome: Outcome::Unmapped { reviewed: false },
            },
        }
    }

    impl Terminology for Table {
        fn disease(&self, source: &SourceRef<'_>, c: &Condition) -> Coding3 {
            assert_eq!(source.source, "ehr");
            let code = c
                .disease_key
                .clone()
                .or(c.local_code.as_ref().map(|l| l.code.clone()))
                .unwrap_or_default();
            let code = if code == "20058911" {
                "L1".into()
            } else {
                code
            };
            answer(&code, Coding::new(DISEASE_KEY_SYSTEM, "20058911", "狭心症"))
        }
        fn modifier(&self, _: &str) -> Option<String> {
            None
        }
        fn lab(&self, _: &SourceRef<'_>, _: &LabResult) -> LabCoding {
            unreachable!("labs are not looked up here")
        }
        fn allergen(&self, _: &SourceRef<'_>, a: &Allergy) -> Coding3 {
            let code = a
                .allergen
                .as_ref()
                .map(|c| c.code.clone())
                .unwrap_or_default();
            let code = if code == "YCM1" { "A1".into() } else { code };
            answer(&code, Coding::new(JFAGY_SYSTEMS[2], "YCM1", "見本薬"))
        }
        fn drug(&self, _: &SourceRef<'_>, _: &Prescription) -> Coding3 {
            unreachable!("drugs are not looked up here")
        }
    }

    fn origin() -> InputOrigin {
        InputOrigin {
            source: "ehr".into(),
            ..InputOrigin::default()
        }
    }

    fn resource(kind: &str, system: &str, code: &str) -> Value {
        json!({"resourceType": kind, "code": {"coding": [
            {"system": system, "code": code, "display": "見本"}], "text": "見本"}})
    }

    fn codes(v: &Value) -> Vec<&str> {
        v["code"]["coding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn a_mapped_local_code_gets_the_national_coding_first() {
        let mut c = resource("Condition", "urn:local", "L1");
        recode(&Table, &origin(), &mut c).unwrap();
        assert_eq!(codes(&c), ["20058911", "L1"]);
        let mut a = resource("AllergyIntolerance", "urn:local", "A1");
        recode(&Table, &origin(), &mut a).unwrap();
        assert_eq!(codes(&a), ["YCM1", "A1"]);
    }

    #[test]
    fn an_unmapped_local_code_gets_the_uncoded_marker() {
        let mut c = resource("Condition", "urn:local", "L2");
        recode(&Table, &origin(), &mut c).unwrap();
        assert_eq!(codes(&c), ["99999999", "L2"]);
        assert_eq!(c["code"]["coding"][0]["display"], "見本");
        let mut a = resource("AllergyIntolerance", "urn:local", "A2");
        a["category"] = json!(["food"]);
        recode(&Table, &origin(), &mut a).unwrap();
        assert_eq!(codes(&a), ["D9F000000000", "A2"]);
    }

    #[test]
    fn policy_holds_and_invalid_codes_are_held_with_their_reason() {
        let mut c = resource("Condition", "urn:local", "H1");
        let held = recode(&Table, &origin(), &mut c).unwrap_err();
        assert_eq!(held.code, HoldReason::UnmappedHeld);
        let mut k = resource("Condition", DISEASE_KEY_SYSTEM, "K9");
        let held = recode(&Table, &origin(), &mut k).unwrap_err();
        assert_eq!(held.code, HoldReason::MappingInvalid);
    }

    #[test]
    fn a_key_the_map_stage_does_not_know_is_sent_uncoded_like_an_hl7_one() {
        let mut c = resource("Condition", DISEASE_KEY_SYSTEM, "12345678");
        recode(&Table, &origin(), &mut c).unwrap();
        assert_eq!(codes(&c), ["99999999"]);
    }

    #[test]
    fn national_codings_are_kept_as_the_ehr_wrote_them() {
        let mut c = resource("Condition", DISEASE_KEY_SYSTEM, "L1");
        c["code"]["coding"][0]["code"] = "20058911".into();
        let before = c.clone();
        recode(&Table, &origin(), &mut c).unwrap();
        assert_eq!(c, before);
        let mut a = resource("AllergyIntolerance", JFAGY_SYSTEMS[2], "YCM1");
        let before = a.clone();
        recode(&Table, &origin(), &mut a).unwrap();
        assert_eq!(a, before);
        let mut o = resource("Observation", "urn:local", "L1");
        let before = o.clone();
        recode(&Table, &origin(), &mut o).unwrap();
        assert_eq!(o, before, "labs from FHIR pass as they came");
    }
}
