//! Validation of built bundles by their kind, and the facts the quality report counts by.

use super::*;

/// A built bundle after validation: the verdict (why it is held, if it is) and
/// the facts the quality report counts by.
pub struct Checked {
    /// `Some(reasons)` when the bundle must be held rather than sent.
    pub verdict: Option<String>,
    /// Information type and clinical event time.
    pub facts: crate::quality::BundleFacts,
}

/// Validates a built bundle by its kind (documents against their profile, deletion bundles
/// without R02143, which they cannot meet by design); `strict` holds on warnings too.
pub fn check_bundle(
    validator: &BundleValidator,
    strict: bool,
    b: &crate::build::BuiltBundle,
) -> Checked {
    let body = serde_json::from_slice::<serde_json::Value>(&b.body).unwrap_or_default();
    let findings = findings_by_kind(validator, &b.kind, &body);
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| {
            f.severity == FindingSeverity::Error
                || (strict && f.severity == FindingSeverity::Warning)
        })
        .map(|f| format!("{} {}: {} / {}", f.rule, f.path, f.message_en, f.message_ja))
        .collect();
    Checked {
        verdict: (!errors.is_empty()).then(|| errors.join("; ")),
        facts: crate::quality::classify_bundle(&body),
    }
}

/// Every finding for a bundle of `kind`: documents against their profile, deletion bundles
/// without R02143, which they cannot meet by design.
fn findings_by_kind(
    validator: &BundleValidator,
    kind: &BundleKind,
    body: &serde_json::Value,
) -> Vec<crate::validate::Finding> {
    match kind {
        BundleKind::Clins => validator.validate(body),
        BundleKind::Document(_) => validator.validate_document(body),
        BundleKind::Deletion => validator
            .validate(body)
            .into_iter()
            .filter(|f| f.rule != "R02143")
            .collect(),
    }
}

/// Every finding for a queued bundle body, warnings included (`inspect --bundles` shows them;
/// the outbox keeps only the ones that hold). The kind is read off the body: a document is
/// typed `document`, a deletion bundle holds the Patient alone.
pub fn findings_of(validator: &BundleValidator, body: &serde_json::Value) -> Vec<String> {
    let entries = body["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let kind = if body["type"] == "document" {
        // The document rules are the same for the three documents.
        BundleKind::Document(crate::build::DocumentKind::Referral)
    } else if entries.len() == 1 && entries[0]["resource"]["resourceType"] == "Patient" {
        BundleKind::Deletion
    } else {
        BundleKind::Clins
    };
    findings_by_kind(validator, &kind, body)
        .iter()
        .map(ToString::to_string)
        .collect()
}
