//! The three documents: 診療情報提供書 (JP_Bundle_eReferral), 退院時サマリー
//! (JP_Bundle_eDischargeSummary) and 健診結果報告書 (JP_Bundle_eCheckupGeneral).
//!
//! Which inputs can produce which documents:
//! - a FHIR Bundle (type `document` or `collection`) whose first resource is a Composition,
//!   as an EHR or a vendor adapter exports it, or the same resources as separate records of
//!   one input: any of the three, the kind read from `Composition.type` (57133-1, 18842-5,
//!   53576-5) or its `meta.profile`;
//! - canonical prescriptions (SS-MIX2 OMP-01) of the same input: added as
//!   JP_MedicationRequest_eCS entries referenced from the prescription section of such a
//!   Composition;
//! - canonical HL7 v2 records alone: **none**. A referral needs its purpose, history and
//!   addressee as free text, a discharge summary its hospital course; SS-MIX2 carries none of
//!   these, and the builder does not invent clinical text.
//!
//! The builder completes and normalises ([`normalise`]): type `document`, Composition first,
//! Bundle identifier/meta/timestamp, resource profiles and lastUpdated, institution
//! extensions, fixed Composition values (status, type, title, category of a discharge
//! summary, version extension, event text), section code displays, MedicationRequests
//! referenced from the prescription section, urn:uuid fullUrls with references rewritten,
//! and what the entries' profiles require where the agent knows it ([`entries`]: 医療機関番号,
//! resourceIdentifier, Condition.category, Rp number and order in Rp).
//! What it cannot supply makes the document [`super::Held`] (`document-incomplete`), the
//! reason naming the missing element or section code (e.g. the referral purpose text, the
//! addressee's 医療機関番号, a MedicationRequest's authoredOn).

mod entries;
mod normalise;
mod sections;

use crate::build::HoldReason;
use serde_json::{json, Value};
use tsunagi_adapters::{FhirResource, Prescription};

use super::terminology::Terminology;
use super::{BuildContext, BuildSettings, BuiltBundle, Held, InputOrigin};

/// The kind of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocumentKind {
    /// 診療情報提供書.
    Referral,
    /// 退院時サマリー.
    DischargeSummary,
    /// 健診結果報告書.
    CheckupGeneral,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [DocumentKind; 3] = [
        DocumentKind::Referral,
        DocumentKind::DischargeSummary,
        DocumentKind::CheckupGeneral,
    ];

    /// The Bundle profile.
    pub fn bundle_profile(self) -> &'static str {
        match self {
            DocumentKind::Referral => {
                "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral"
            }
            DocumentKind::DischargeSummary => {
                "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary"
            }
            DocumentKind::CheckupGeneral => {
                "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eCheckupGeneral"
            }
        }
    }

    /// The Composition profile.
    pub fn composition_profile(self) -> &'static str {
        match self {
            DocumentKind::Referral => {
                "http://jpfhir.jp/fhir/eReferral/StructureDefinition/JP_Composition_eReferral"
            }
            DocumentKind::DischargeSummary => {
                "http://jpfhir.jp/fhir/eDischargeSummary/StructureDefinition/JP_Composition_eDischargeSummary"
            }
            DocumentKind::CheckupGeneral => {
                "http://jpfhir.jp/fhir/eCheckup/StructureDefinition/JP_Composition_eCheckupGeneral"
            }
        }
    }

    /// `Composition.type` code (doc-typecodes).
    pub fn type_code(self) -> &'static str {
        match self {
            DocumentKind::Referral => "57133-1",
            DocumentKind::DischargeSummary => "18842-5",
            DocumentKind::CheckupGeneral => "53576-5",
        }
    }

    /// `Composition.type` display and title.
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::Referral => "診療情報提供書",
            DocumentKind::DischargeSummary => "退院時サマリー",
            DocumentKind::CheckupGeneral => "健診結果報告書",
        }
    }

    /// The letter that starts the document's 施設内ID.
    fn letter(self) -> char {
        match self {
            DocumentKind::Referral => 'R',
            DocumentKind::DischargeSummary => 'D',
            DocumentKind::CheckupGeneral => 'K',
        }
    }

    /// The kind a Composition declares by type code or profile.
    pub fn of(composition: &Value) -> Option<DocumentKind> {
        let codes: Vec<&str> = composition
            .pointer("/type/coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("code").and_then(Value::as_str))
            .collect();
        DocumentKind::ALL.into_iter().find(|k| {
            codes.contains(&k.type_code())
                || super::clins::declares_profile(composition, k.composition_profile())
        })
    }
}

/// The document input among one input's FHIR records: a Bundle record whose first resource
/// is a Composition, or (flattened entries) every record when one is a Composition, the
/// Composition moved first.
pub(crate) fn input_document(fhir: &[&FhirResource]) -> Option<Value> {
    let first_is_composition = |b: &Value| {
        b.pointer("/entry/0/resource/resourceType")
            .and_then(Value::as_str)
            == Some("Composition")
    };
    if let Some(bundle) = fhir
        .iter()
        .find(|f| f.resource_type == "Bundle" && first_is_composition(&f.json))
    {
        return Some(bundle.json.clone());
    }
    let at = fhir.iter().position(|f| f.resource_type == "Composition")?;
    let entry: Vec<Value> = std::iter::once(fhir[at])
        .chain(
            fhir.iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, f)| *f),
        )
        .map(|f| match &f.full_url {
            Some(url) => json!({"fullUrl": url, "resource": f.json}),
            None => json!({"resource": f.json}),
        })
        .collect();
    Some(json!({"resourceType": "Bundle", "type": "document", "entry": entry}))
}

/// A document that cannot be completed.
pub(crate) fn incomplete(en: impl Into<String>, ja: impl Into<String>) -> Held {
    Held {
        reason_en: en.into(),
        reason_ja: ja.into(),
        resource_type: "Composition".into(),
        code: HoldReason::DocumentIncomplete,
        patient_ref: None,
    }
}

/// Completes one document input into its JP_Bundle_e* shape, or says why it cannot.
pub(crate) fn build(
    settings: &BuildSettings,
    term: &dyn Terminology,
    ctx: &BuildContext<'_>,
    origin: &InputOrigin,
    input: &Value,
    prescriptions: &[&Prescription],
) -> Result<BuiltBundle, Held> {
    normalise::document(settings, term, ctx, origin, input, prescriptions)
}

#[cfg(test)]
mod tests;
