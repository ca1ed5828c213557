//! Validation of built bundles by their kind, and the facts the quality report counts by.

use super::*;

/// A built bundle after validation: its findings, the verdict (why it is held, if it is) and
/// the facts the quality report counts by.
pub struct Checked {
    /// Every finding, warnings included.
    pub findings: Vec<crate::validate::Finding>,
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
    let findings = match b.kind {
        BundleKind::Clins => validator.validate(&body),
        BundleKind::Document(_) => validator.validate_document(&body),
        BundleKind::Deletion => validator
            .validate(&body)
            .into_iter()
            .filter(|f| f.rule != "R02143")
            .collect(),
    };
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
        findings,
    }
}
