//! Validation as the processor queues a bundle: the core's check
//! ([`tsunagi_clins::processing::check`]) with the facts the quality report counts by.

use super::*;

/// A built bundle after validation, with its quality facts (information type, event time).
pub type Checked = processing::Checked<crate::quality::BundleFacts>;

/// Validates a built bundle by its kind (see [`processing::check`]); `strict` holds on
/// warnings too.
pub fn check_bundle(
    validator: &BundleValidator,
    strict: bool,
    b: crate::build::BuiltBundle,
) -> Checked {
    processing::check(validator, strict, b, classify_bundle)
}

/// Every finding for a queued bundle body, warnings included, as text (`inspect --bundles`
/// shows them; the outbox keeps only the ones that hold).
pub fn findings_of(validator: &BundleValidator, body: &serde_json::Value) -> Vec<String> {
    processing::findings_of(validator, body)
        .iter()
        .map(ToString::to_string)
        .collect()
}
