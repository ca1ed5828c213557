//! The questions the builder asks the map stage: [`Terminology`].
//!
//! Canonical records keep codes as the source sent them (a local `99xxx` code, `MDCDX2`,
//! `JC10`, `HOT9`). Turning those into the code systems JP-CLINS expects (MEDIS 病名管理番号,
//! JLAC10/CoreLabo, J-FAGY, YJ) is the map stage's job ([`super::InputMapper`] implements this
//! trait over the masters and the mapping table); the builder only writes what it is told.
//! Every answer carries its codings (system, code, display) and an [`Outcome`]:
//! - [`Outcome::Mapped`]: the codings are standard codes; they are written as given;
//! - [`Outcome::Unmapped`]: no standard code; the builder writes the profile's uncoded marker
//!   (病名 `99999999`, JLAC `99999999999999999`, J-FAGY `D9x000000000`, `NOCODED`) next to
//!   whatever codings were returned;
//! - [`Outcome::Invalid`] / [`Outcome::Held`]: the item is not sent; it becomes a
//!   `build::Held` with code `mapping-invalid` / `unmapped-held` and the outcome's reason.
//!
//! Reasons are shown to users and stored: they must not quote patient values.

use tsunagi_adapters::{Allergy, Condition, LabResult, Prescription};

use super::outcome::Outcome;

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
