//! The code look-ups the builder consumes: [`Terminology`].
//!
//! Canonical records keep codes as the source sent them (a local `99xxx` code, `MDCDX2`,
//! `JC10`, `HOT9`). Turning those into the code systems JP-CLINS expects (MEDIS 病名管理番号,
//! JLAC10/CoreLabo, J-FAGY, YJ) is the job of a master/mapping layer the integrator plugs in
//! by implementing this trait; the builder only writes what it is told. Every answer carries
//! its codings (system, code, display) and an [`Outcome`]:
//! - [`Outcome::Mapped`]: the codings are standard codes; they are written as given;
//! - [`Outcome::Unmapped`]: no standard code; the builder writes the profile's uncoded marker
//!   (病名 `99999999`, JLAC `99999999999999999`, J-FAGY `D9x000000000`, `NOCODED`) next to
//!   whatever codings were returned;
//! - [`Outcome::Invalid`] / [`Outcome::Hold`]: the item is not sent; it becomes a
//!   [`super::Held`] with code `mapping-invalid` / `unmapped-held` and the given reason.
//!
//! Reasons are shown to users and stored: they must not quote patient values.
//! [`PassThrough`] is a test implementation that trusts the codes it is given.

use tsunagi_adapters::{Allergy, Condition, LabResult, Prescription};

/// Where a code came from: lets a mapping table be chosen per source and sending system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRef<'a> {
    /// The configured source name (folder, SS-MIX2 root, MLLP listener).
    pub source: &'a str,
    /// MSH-3 sending application, when known.
    pub sending_application: Option<&'a str>,
    /// MSH-4 sending facility, when known.
    pub sending_facility: Option<&'a str>,
    /// The code system name the record carries (`MDCDX2`, `JC10`, `99XYZ`, or a URI).
    pub code_system: &'a str,
}

/// One FHIR coding. The builder writes `display` as given (never empty in a good answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coding {
    /// Code system URI.
    pub system: String,
    /// Code.
    pub code: String,
    /// Display text.
    pub display: String,
}

impl Coding {
    /// A coding from its three parts.
    pub fn new(
        system: impl Into<String>,
        code: impl Into<String>,
        display: impl Into<String>,
    ) -> Self {
        Coding {
            system: system.into(),
            code: code.into(),
            display: display.into(),
        }
    }
}

/// A reason in both languages (no patient values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// English.
    pub en: String,
    /// Japanese.
    pub ja: String,
}

/// How a look-up went. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Standard codes found.
    Mapped,
    /// No standard code: send with the uncoded marker.
    Unmapped,
    /// The received code is wrong (e.g. not a 病名管理番号 although labelled so): hold.
    Invalid(Reason),
    /// Policy says do not send unmapped items of this kind: hold.
    Hold(Reason),
}

/// The answer for a disease, allergen or drug: codings (primary first) and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coding3 {
    /// Codings to write, primary first (病名管理番号, then 交換用コード/ICD10/レセ電).
    pub codings: Vec<Coding>,
    /// How the look-up went.
    pub outcome: Outcome,
}

/// The answer for a lab item: the standard coding written beside the LocalCode coding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabCoding {
    /// CoreLabo/InfectionLabo (display = FHIR識別名), general JLAC10, or `None` for the uncoded
    /// marker.
    pub standard: Option<Coding>,
    /// Display of the LocalCode coding (the hospital's item name), when the master knows a
    /// better one than the record.
    pub local_display: Option<String>,
    /// How the look-up went.
    pub outcome: Outcome,
}

/// Code look-ups the builder consumes; the integrator implements it over the masters.
pub trait Terminology: Send + Sync {
    /// 病名管理番号 (+ optional 交換用コード/ICD10/レセ電), or [`Outcome::Unmapped`].
    fn disease(&self, source: &SourceRef<'_>, c: &Condition) -> Coding3;
    /// Display of a 修飾語管理番号.
    fn modifier(&self, key_number: &str) -> Option<String>;
    /// CoreLabo/InfectionLabo, JLAC10 or uncoded, plus display.
    fn lab(&self, source: &SourceRef<'_>, l: &LabResult) -> LabCoding;
    /// J-FAGY, or [`Outcome::Unmapped`] for the D9x dummy.
    fn allergen(&self, source: &SourceRef<'_>, a: &Allergy) -> Coding3;
    /// YJ / HOT / 一般名, or [`Outcome::Unmapped`] for NOCODED.
    fn drug(&self, source: &SourceRef<'_>, p: &Prescription) -> Coding3;
}

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
                outcome: Outcome::Unmapped,
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
            outcome: Outcome::Mapped,
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
                outcome: Outcome::Mapped,
            },
            _ => LabCoding {
                standard: None,
                local_display: None,
                outcome: Outcome::Unmapped,
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
                Outcome::Mapped
            } else {
                Outcome::Unmapped
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
                Outcome::Unmapped
            } else {
                Outcome::Mapped
            },
            codings,
        }
    }
}
