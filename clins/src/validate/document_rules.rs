//! Built-in rules on the document bundles JP_Bundle_eReferral (診療情報提供書) and
//! JP_Bundle_eDischargeSummary (退院時サマリー), and on their Composition.

use serde_json::Value;

use super::entry_rules::other_versioned_profile;
use super::resource_rules::MEDREQ_ECS;
use super::{bundle_rules, entries, items, str_at, Finding};
use crate::build::clins::declares_profile;

pub(super) const EREFERRAL: &str =
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral";
pub(super) const EDISCHARGE: &str =
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary";

/// True when the bundle declares one of the two document profiles.
pub(super) fn declares_document_profile(bundle: &Value) -> bool {
    declares_profile(bundle, EREFERRAL) || declares_profile(bundle, EDISCHARGE)
}

/// Every document rule.
pub(super) fn check(bundle: &Value, out: &mut Vec<Finding>) {
    let document = str_at(bundle, "/type") == Some("document");
    if !document {
        out.push(Finding::error(
            "TSG-BUNDLE-TYPE",
            "Bundle.type",
            "a document bundle's type must be document",
            "文書Bundleのtypeはdocumentでなければなりません",
        ));
    }
    if document
        && (str_at(bundle, "/identifier/system").is_none()
            || str_at(bundle, "/identifier/value").is_none())
    {
        out.push(Finding::error(
            "bdl-9",
            "Bundle.identifier",
            "a document needs an identifier with system and value",
            "文書にはsystemとvalueのあるidentifierが必要です",
        ));
    }
    if document && str_at(bundle, "/timestamp").is_none() {
        out.push(Finding::error(
            "bdl-10",
            "Bundle.timestamp",
            "a document needs a timestamp",
            "文書にはtimestampが必要です",
        ));
    }
    let first = entries(bundle).first().and_then(|e| e.get("resource"));
    let composition = first.filter(|r| str_at(r, "/resourceType") == Some("Composition"));
    if document && composition.is_none() {
        out.push(Finding::error(
            "bdl-11",
            "Bundle.entry[0].resource",
            "a document's first entry must be a Composition",
            "文書の最初のentryはCompositionでなければなりません",
        ));
    }
    bundle_rules::identifier_system(bundle, out);
    bundle_rules::identifier_value(bundle, out);
    for (i, entry) in entries(bundle).iter().enumerate() {
        let Some(resource) = entry.get("resource") else {
            continue;
        };
        if str_at(resource, "/resourceType") == Some("MedicationRequest")
            && other_versioned_profile(resource, MEDREQ_ECS)
        {
            out.push(Finding::error(
                "validEntryProfile-MedicationRequest",
                format!("Bundle.entry[{i}].resource.meta.profile"),
                "a MedicationRequest entry must conform to JP_MedicationRequest_eCS",
                "MedicationRequestのentryはJP_MedicationRequest_eCSに準拠しなければなりません",
            ));
        }
    }
    if let Some(c) = composition {
        sections(c, declares_profile(bundle, EREFERRAL), out);
    }
}

/// checkExist-CDASection-or-{Composition,structured}Section: exactly one of the CDA section
/// (code 200) and the structured section (code 300) at the top level.
fn sections(composition: &Value, referral: bool, out: &mut Vec<Finding>) {
    let has = |code: &str| {
        items(composition, "section").iter().any(|s| {
            s.pointer("/code")
                .map(|c| items(c, "coding"))
                .unwrap_or_default()
                .iter()
                .any(|cd| str_at(cd, "/code") == Some(code))
        })
    };
    if has("200") == has("300") {
        out.push(Finding::error(
            if referral {
                "checkExist-CDASection-or-CompositionSection"
            } else {
                "checkExist-CDASection-or-structuredSection"
            },
            "Bundle.entry[0].resource.section",
            "exactly one of the CDA section (200) and the structured section (300) must be present",
            "CDAセクション（200）と構造情報セクション（300）のどちらか一方だけが必要です",
        ));
    }
}
