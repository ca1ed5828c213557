//! The code look-ups the builder consumes: [`Terminology`], defined by the map stage
//! (`crate::map::terminology`, re-exported here), and [`PassThrough`], a test implementation
//! that trusts the codes it is given.

use tsunagi_adapters::{Allergy, Condition, LabResult, Prescription};

pub use crate::map::{Coding, Coding3, LabCoding, Outcome, Reason, SourceRef, Terminology, Via};

/// MEDIS 病名管理番号.
pub const DISEASE_KEY_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-disease-keyNumber";
/// MEDIS 病名交換用コード.
pub const DISEASE_EXCODE_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-disease-exCode";
/// ICD-10 (2013).
pub const ICD10_SYSTEM: &str = "http://jpfhir.jp/fhir/core/mhlw/CodeSystem/ICD10-2013-full";
/// General JLAC10.
pub const JLAC10_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-JLAC10-17digits";
/// YJ code.
pub const YJ_SYSTEM: &str = "http://capstandard.jp/iyaku.info/CodeSystem/YJ-code";
/// HOT9.
pub const HOT9_SYSTEM: &str = "http://medis.or.jp/CodeSystem/master-HOT9";

/// What [`PassThrough`] answers for a code it trusts: taken as received, confirmed by no master.
const PASSED: Outcome = Outcome::Mapped {
    via: Via::Direct,
    verified: false,
};

/// Trusts the codes as received: `MDCDX2`/MEDIS 8-digit keys, ICD-10, JLAC10, J-FAGY-shaped
/// allergen codes, YJ/HOT drug codes. For tests and demos; real installations map.
#[derive(Debug, Default, Clone, Copy)]
pub struct PassThrough;

fn display_or(d: &Option<String>, fallback: &str) -> String {
    d.clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| fallback.to_string())
}

impl Terminology for PassThrough {
    fn disease(&self, _source: &SourceRef<'_>, c: &Condition) -> Coding3 {
        let text = c.original_text.expose().as_str();
        let key = c
            .disease_key
            .as_deref()
            .filter(|k| k.len() == 8 && k.bytes().all(|b| b.is_ascii_digit()) && *k != "99999999");
        let Some(key) = key else {
            return Coding3 {
                codings: Vec::new(),
                outcome: Outcome::Unmapped { reviewed: false },
            };
        };
        let mut codings = vec![Coding::new(DISEASE_KEY_SYSTEM, key, text)];
        if let Some(ex) = &c.exchange_code {
            codings.push(Coding::new(DISEASE_EXCODE_SYSTEM, ex, text));
        }
        if let Some(icd) = &c.icd10 {
            codings.push(Coding::new(ICD10_SYSTEM, icd, text));
        }
        Coding3 {
            codings,
            outcome: PASSED,
        }
    }

    fn modifier(&self, _key_number: &str) -> Option<String> {
        None
    }

    fn lab(&self, _source: &SourceRef<'_>, l: &LabResult) -> LabCoding {
        let name = display_or(&l.local_code.display, &l.local_code.code);
        match &l.jlac10 {
            Some(code) if code.len() == 17 => LabCoding {
                standard: Some(Coding::new(JLAC10_SYSTEM, code, name)),
                local_display: None,
                outcome: PASSED,
            },
            _ => LabCoding {
                standard: None,
                local_display: None,
                outcome: Outcome::Unmapped { reviewed: false },
            },
        }
    }

    fn allergen(&self, _source: &SourceRef<'_>, a: &Allergy) -> Coding3 {
        let text = a.original_text.expose().as_str();
        let jfagy = a.allergen.as_ref().and_then(|c| {
            let system = match c.code.get(..3)? {
                "J9F" => "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyFoodAllergen_CS",
                "J9N" => {
                    "http://jpfhir.jp/fhir/core/CodeSystem/JP_JfagyNonFoodNonMedicationAllergen_CS"
                }
                "YCM" => "http://jpfhir.jp/fhir/core/CodeSystem/YCM/JP_JfagyMedicationAllergen_CS",
                "GCM" => "http://jpfhir.jp/fhir/core/CodeSystem/GCM/JP_JfagyMedicationAllergen_CS",
                _ => return None,
            };
            Some(Coding::new(system, &c.code, display_or(&c.display, text)))
        });
        Coding3 {
            outcome: if jfagy.is_some() {
                PASSED
            } else {
                Outcome::Unmapped { reviewed: false }
            },
            codings: jfagy.into_iter().collect(),
        }
    }

    fn drug(&self, _source: &SourceRef<'_>, p: &Prescription) -> Coding3 {
        let text = p.drug_text.clone().unwrap_or_default();
        let codings: Vec<Coding> = p
            .drug_codes
            .iter()
            .filter_map(|c| {
                let system = match c.system.to_ascii_uppercase().as_str() {
                    "YJ" => YJ_SYSTEM,
                    "HOT9" | "HOT" if c.code.len() == 9 => HOT9_SYSTEM,
                    _ => return None,
                };
                Some(Coding::new(system, &c.code, display_or(&c.display, &text)))
            })
            .collect();
        Coding3 {
            outcome: if codings.is_empty() {
                Outcome::Unmapped { reviewed: false }
            } else {
                PASSED
            },
            codings,
        }
    }
}
