//! The first JP-CLINS checks on a bundle, run before it is sent.
//!
//! Each rule is a small function over the bundle JSON that appends [`Finding`]s; the
//! [`BundleValidator`] runs the list in order. Rule keys are the package's own (the `R…`
//! numbers in the JP_Bundle_CLINS / JP_Patient_eCS invariants of jp-eCSCLINS.r4 1.10.0)
//! where one exists, else `TSG-…`. Findings name paths and rules, never patient values.
//!
//! This is a structural first pass (Bundle shape, identifier, Patient identifier, entry
//! types, institution extension, a few required elements); full profile validation comes
//! later and adds rules to the same list.

mod bundle_rules;
mod entry_rules;

use serde_json::Value;

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The platform would reject the bundle; do not send it.
    Error,
    /// Suspicious but probably accepted.
    Warning,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule key: `R2152`, `R1013`, `TSG-FULLURL`, …
    pub rule: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// Where: `Bundle.entry[1].resource.extension`.
    pub path: String,
    /// What is wrong, in English; never quotes a value.
    pub message_en: String,
    /// What is wrong, in Japanese; never quotes a value.
    pub message_ja: String,
}

impl Finding {
    fn error(rule: &'static str, path: impl Into<String>, en: &str, ja: &str) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            path: path.into(),
            message_en: en.into(),
            message_ja: ja.into(),
        }
    }

    fn warning(rule: &'static str, path: impl Into<String>, en: &str, ja: &str) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(rule, path, en, ja)
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}: {} / {}",
            self.rule, self.path, self.message_en, self.message_ja
        )
    }
}

/// A rule: looks at the bundle, appends what is wrong.
type Rule = fn(&Value, &mut Vec<Finding>);

/// Every rule, in the order findings are reported.
const RULES: &[Rule] = &[
    bundle_rules::resource_type,
    bundle_rules::profile,
    bundle_rules::bundle_type,
    bundle_rules::identifier_system,
    bundle_rules::identifier_value,
    bundle_rules::timestamp,
    bundle_rules::last_updated,
    bundle_rules::resource_type_tag,
    bundle_rules::resource_type_tag_value,
    entry_rules::first_entry_patient,
    entry_rules::patient_profile,
    entry_rules::insurance_member_id_count,
    entry_rules::insurance_member_id_format,
    entry_rules::tagged_type_present,
    entry_rules::one_resource_type,
    entry_rules::full_urls,
    entry_rules::institution_extension,
    entry_rules::institution_number_format,
    entry_rules::condition_onset,
    entry_rules::code_text,
];

/// Runs the rules. Stateless and cheap to create.
#[derive(Debug, Default, Clone, Copy)]
pub struct BundleValidator;

impl BundleValidator {
    /// A validator with every rule.
    pub fn new() -> Self {
        BundleValidator
    }

    /// Every finding for `bundle`; empty when all rules pass.
    pub fn validate(&self, bundle: &Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        for rule in RULES {
            rule(bundle, &mut findings);
        }
        findings
    }
}

/// The entries of a bundle (empty when absent or malformed).
fn entries(bundle: &Value) -> &[Value] {
    bundle
        .get("entry")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

#[cfg(test)]
mod tests;
