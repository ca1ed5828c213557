//! JP-CLINS validation of bundles and resources before they are sent.
//!
//! Two layers, both on by default (no configuration, no package at run time):
//! - **Hand-written rules**: the invariants of JP_Bundle_CLINS, JP_Patient_eCS, JP_Condition_eCS,
//!   JP_AllergyIntolerance_eCS, JP_Observation_LabResult_eCS, JP_MedicationRequest_eCS (+ its
//!   Dosage) and the document bundles JP_Bundle_eReferral / JP_Bundle_eDischargeSummary, compiled
//!   by hand. Rule keys are the package's (`R2152`, `R1013`, `R3010`… where its `human` text
//!   starts with one, else the constraint key, `con-4`, `needs-performer-on-CLINS`), `TSG-…` for
//!   the agent's own. `catalog` (tests) lists each with its package key and severity.
//! - **Profile rules** ([`package`]): snapshot cardinality, fixed/pattern values (with slices)
//!   and required bindings that the package's own CodeSystems can expand, from rule tables
//!   generated from the official jp-eCSCLINS package and built into the crate
//!   ([`Validator::new`]); a package directory given at run time (`--package`, `[validation]
//!   fhir_package`) is converted into the same tables and replaces them
//!   ([`Validator::with_package`]). [`Validator::hand_written`] is the first layer alone.
//!
//! Both layers are joined by the primitive formats ([`primitive_rules`], `TSG-PRIMITIVE`): every
//! date, dateTime, instant, decimal, code, id and uri the validator knows the type of must match
//! FHIR R4's pattern and the calendar (`1985-13-45` and `2023-02-29` are not dates), in every
//! resource of the document.
//!
//! Severity depends on context: 1.10.0 marks "Observation needs performer" and "needs a local
//! code" as warnings on JP_Observation_LabResult_eCS alone and as errors (R9017O, R6021) inside
//! a JP_Bundle_CLINS; [`Context`] carries that.
//!
//! FHIRPath: the package's invariants are compiled by hand, not evaluated. Of the two Rust
//! engines, `octofhir-fhirpath` (≈35k SLoC, Rust 2024, async model-provider architecture, 82.7 %
//! of the official FHIRPath tests at 0.4) and `helios-fhirpath` (built on the generated
//! `helios-fhir` R4/R4B/R5 model, a very large compile) both cost minutes of compile on CI's 2
//! cores and neither evaluates `memberOf()` without a terminology server; the ~30 JP-specific
//! invariants are simple `where/exists/count/matches` forms whose hand-written versions are
//! exact, allocation-free on the passing path, and unit-tested one by one. Base-FHIR invariants
//! (`dom-*`, `ele-1`, `txt-*`…) are left out where the JSON parser or the builder already
//! guarantees them; the coverage test lists each.
//!
//! Findings name rules and paths, never patient values.

mod bundle_rules;
#[cfg(test)]
mod catalog;
mod document_rules;
mod entry_rules;
mod observation_rules;
pub mod package;
mod primitive_rules;
mod primitives;
mod resource_rules;

use std::sync::Arc;

use serde_json::Value;

use crate::build::clins::{declares_profile, BUNDLE_PROFILE};
pub use package::Package;

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The platform would reject it; do not send it.
    Error,
    /// Suspicious but probably accepted.
    Warning,
    /// Something the validator could not judge (a code list or profile not available).
    Info,
}

impl Severity {
    /// `ERROR`, `WARNING`, `INFO`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Rule key: `R2152`, `R1013`, `con-4`, `SD-CARD`, `TSG-FULLURL`, …
    pub rule: &'static str,
    /// Error, warning or info.
    pub severity: Severity,
    /// Where: `Bundle.entry[1].resource.extension`.
    pub path: String,
    /// What is wrong, in English; never quotes a value of the instance.
    pub message_en: String,
    /// What is wrong, in Japanese; never quotes a value of the instance.
    pub message_ja: String,
}

impl Finding {
    fn new(
        rule: &'static str,
        severity: Severity,
        path: impl Into<String>,
        en: impl Into<String>,
        ja: impl Into<String>,
    ) -> Self {
        Finding {
            rule,
            severity,
            path: path.into(),
            message_en: en.into(),
            message_ja: ja.into(),
        }
    }

    fn error(rule: &'static str, path: impl Into<String>, en: &str, ja: &str) -> Self {
        Finding::new(rule, Severity::Error, path, en, ja)
    }

    fn warning(rule: &'static str, path: impl Into<String>, en: &str, ja: &str) -> Self {
        Finding::new(rule, Severity::Warning, path, en, ja)
    }

    fn info(rule: &'static str, path: impl Into<String>, en: &str, ja: &str) -> Self {
        Finding::new(rule, Severity::Info, path, en, ja)
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} / {}",
            self.severity.label(),
            self.rule,
            self.path,
            self.message_en,
            self.message_ja
        )
    }
}

/// Where a resource is being judged; some rules change severity with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A resource on its own, against its profile only.
    Standalone,
    /// An entry of a JP_Bundle_CLINS (5情報).
    ClinsEntry,
    /// An entry of a document bundle (eReferral / eDischargeSummary).
    DocumentEntry,
}

/// A resource under judgement: the JSON, where it sits, and in what context.
pub(crate) struct Subject<'a> {
    pub resource: &'a Value,
    /// FHIRPath-like prefix: `Condition` or `Bundle.entry[3].resource`.
    pub at: &'a str,
    pub context: Context,
}

impl Subject<'_> {
    /// `prefix.rel`.
    pub fn path(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.at.to_string()
        } else {
            format!("{}.{rel}", self.at)
        }
    }
}

/// A bundle rule: looks at the bundle, appends what is wrong.
type Rule = fn(&Value, &mut Vec<Finding>);

/// Every JP_Bundle_CLINS bundle-level rule, in the order findings are reported.
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
    entry_rules::tagged_type_present,
    entry_rules::one_resource_type,
    entry_rules::entry_profiles,
    entry_rules::full_urls,
    entry_rules::institution_extension,
    entry_rules::institution_number_format,
    entry_rules::condition_onset,
    entry_rules::code_text,
];

/// Validates bundles and resources: the hand-written rules, plus the profile rules (the
/// built-in tables by default, or a package loaded at run time). Cheap to clone; share one per
/// thread.
#[derive(Debug, Clone)]
pub struct Validator {
    package: Option<Arc<Package>>,
}

/// The name the pipeline knows the validator by.
pub type BundleValidator = Validator;

impl Default for Validator {
    fn default() -> Self {
        Validator::new()
    }
}

impl Validator {
    /// The default: the hand-written rules and the built-in profile rule tables
    /// (jp-eCSCLINS.r4 1.10.0), with no configuration.
    pub fn new() -> Self {
        Validator::with_package(Package::builtin())
    }

    /// The hand-written rules alone, without the profile rules (benchmarks, and tests of the
    /// hand-written layer).
    pub fn hand_written() -> Self {
        Validator { package: None }
    }

    /// The hand-written rules and the profile rules of `package` (instead of the built-in
    /// tables).
    pub fn with_package(package: Arc<Package>) -> Self {
        Validator {
            package: Some(package),
        }
    }

    /// The package whose profile rules run (`name#version`), if any.
    pub fn package(&self) -> Option<&Arc<Package>> {
        self.package.as_ref()
    }

    /// Every finding for a JP_Bundle_CLINS the agent is about to send (whatever `bundle`
    /// declares, it is judged as one). Empty when all rules pass.
    pub fn validate(&self, bundle: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        self.validate_clins(bundle, &mut out);
        primitive_rules::check(bundle, "Bundle", &mut out);
        if let Some(p) = &self.package {
            p.check(bundle, "Bundle", &mut out);
        }
        dedup(&mut out);
        out
    }

    /// Every finding for `doc`, a Bundle (by its profile) or a single resource (against its
    /// profile alone); empty when all rules pass.
    pub fn validate_document(&self, doc: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        let kind = doc.get("resourceType").and_then(Value::as_str);
        match kind {
            Some("Bundle") => self.validate_bundle(doc, &mut out),
            Some(_) => {
                let kind_name = kind.unwrap_or_default();
                self.validate_resource(
                    &Subject {
                        resource: doc,
                        at: kind_name,
                        context: Context::Standalone,
                    },
                    &mut out,
                )
            }
            // Not a resource at all: judged as the CLINS bundle the pipeline expects.
            None => self.validate_clins(doc, &mut out),
        }
        primitive_rules::check(doc, kind.unwrap_or("Bundle"), &mut out);
        dedup(&mut out);
        out
    }

    fn validate_bundle(&self, bundle: &Value, out: &mut Vec<Finding>) {
        if document_rules::declares_document_profile(bundle) {
            document_rules::check(bundle, out);
            self.entries(bundle, Context::DocumentEntry, out);
        } else if declares_profile(bundle, BUNDLE_PROFILE) || !has_profile(bundle) {
            self.validate_clins(bundle, out);
        } else {
            out.push(Finding::info(
                "TSG-PROFILE",
                "Bundle.meta.profile",
                "no built-in rules for this Bundle profile; entries checked on their own",
                "このBundleプロファイルの組込みルールはありません。entryは単独で検査しました",
            ));
            self.entries(bundle, Context::Standalone, out);
        }
        if let Some(p) = &self.package {
            p.check(bundle, "Bundle", out);
        }
    }

    fn validate_clins(&self, bundle: &Value, out: &mut Vec<Finding>) {
        for rule in RULES {
            rule(bundle, out);
        }
        self.entries(bundle, Context::ClinsEntry, out);
    }

    fn entries(&self, bundle: &Value, context: Context, out: &mut Vec<Finding>) {
        for (i, entry) in entries(bundle).iter().enumerate() {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            let at = format!("Bundle.entry[{i}].resource");
            let subject = Subject {
                resource,
                at: &at,
                context,
            };
            resource_rules::check(&subject, out);
            if let Some(p) = &self.package {
                p.check_entry(&subject, out);
            }
        }
    }

    fn validate_resource(&self, subject: &Subject, out: &mut Vec<Finding>) {
        resource_rules::check(subject, out);
        if let Some(p) = &self.package {
            p.check(subject.resource, subject.at, out);
        }
    }
}

/// Both layers may report the same cardinality at the same path: keep the first.
fn dedup(out: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.rule, f.severity, f.path.clone())));
}

fn has_profile(resource: &Value) -> bool {
    resource
        .pointer("/meta/profile")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
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

/// The items of an array field (empty when absent or not an array).
fn items<'a>(value: &'a Value, field: &str) -> &'a [Value] {
    value
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rule_tests;

#[cfg(test)]
mod example_tests;
