//! Map → build → validate for one input: [`process`], the one entry point the daemon's processor,
//! `tsunagi inspect --bundles` and the benchmark call.
//!
//! In: the parsed records of one input (canonical records or FHIR resources) with where they
//! came from and when ([`Input`]), the terminology (a [`Mapper`] over the masters and the
//! mapping table; `None` holds canonical records as not convertible), the Patients known from
//! earlier inputs ([`PatientDirectory`]) and the settings ([`Settings`]: builder, validator,
//! `strict`). Out: one [`Decision`]: the bundles that would be queued, each with its findings
//! and, when it must be held, the verdict; the held items, one per resource type, reason and
//! patient; the Patients to remember; and each coded item's mapping outcome.
//!
//! Deterministic: the same input, terminology, Patients and settings give the same decision,
//! byte for byte (the processing time is part of the input, as `received_at`). Decoding,
//! parsing, the SS-MIX2 version rules and the store are the caller's.

use serde_json::Value;
use tsunagi_adapters::Record;

use crate::build::{
    BuildContext, BuildResult, BuiltBundle, BundleBuilder, BundleKind, DocumentKind, Held,
    InputOrigin, PatientDirectory, Terminology,
};
use crate::map::{ItemOutcome, Mapper};
use crate::validate::{BundleValidator, Finding, Severity};

/// One parsed input.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Its records, as the adapter parsed them.
    pub records: &'a [Record],
    /// The source, sending application and per-record extras.
    pub origin: &'a InputOrigin,
    /// The input's content hash and the time it is processed under.
    pub context: BuildContext<'a>,
}

/// How bundles are built and checked.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Builds the bundles (institution, department, documents).
    pub builder: &'a BundleBuilder,
    /// The rules a bundle must pass before it is queued.
    pub validator: &'a BundleValidator,
    /// Hold bundles with warnings too (`[validation] strict`).
    pub strict: bool,
}

/// A built bundle after validation.
#[derive(Debug, Clone)]
pub struct Checked<F> {
    /// The bundle.
    pub bundle: BuiltBundle,
    /// Every finding, warnings included.
    pub findings: Vec<Finding>,
    /// `Some(reasons)` when the bundle must be held rather than sent: its errors (and, when
    /// `strict`, its warnings), joined.
    pub verdict: Option<String>,
    /// What the caller read off the bundle's parsed body while it was at hand.
    pub facts: F,
}

/// What processing one input decided. See the module docs.
#[derive(Debug, Clone)]
pub struct Decision<F> {
    /// The bundles, in the builder's order, each validated.
    pub bundles: Vec<Checked<F>>,
    /// What was not built, de-duplicated by resource type, reason and patient.
    pub held: Vec<Held>,
    /// Patients of the input with an id, as (`Patient/ID`, resource), for the directory.
    pub patients: Vec<(String, Value)>,
    /// Each coded item's mapping outcome, in question order (empty without a terminology).
    pub items: Vec<ItemOutcome>,
}

/// Maps, builds and validates one input; `facts` reads what the caller wants off each bundle's
/// parsed body (the quality report's classification; `|_| ()` for nothing). See the module docs.
pub fn process<F>(
    input: &Input<'_>,
    terminology: Option<&Mapper>,
    patients: &dyn PatientDirectory,
    settings: &Settings<'_>,
    facts: impl Fn(&Value) -> F,
) -> Decision<F> {
    let mapper = terminology.map(Mapper::for_input);
    let term = mapper.as_ref().map(|m| m as &dyn Terminology);
    let BuildResult {
        bundles,
        patients,
        mut held,
    } = settings
        .builder
        .build_mapped(&input.context, input.origin, input.records, patients, term);
    let items = mapper.map(|m| m.into_outcomes()).unwrap_or_default();
    dedup_held(&mut held);
    let bundles = bundles
        .into_iter()
        .map(|b| check(settings.validator, settings.strict, b, &facts))
        .collect();
    Decision {
        bundles,
        held,
        patients,
        items,
    }
}

/// Validates a built bundle by its kind (documents against their profile, deletion bundles
/// without R02143, which they cannot meet by design); `strict` holds on warnings too.
pub fn check<F>(
    validator: &BundleValidator,
    strict: bool,
    bundle: BuiltBundle,
    facts: impl Fn(&Value) -> F,
) -> Checked<F> {
    let (body, mut errors) = match serde_json::from_slice::<Value>(&bundle.body) {
        Ok(body) => (body, Vec::new()),
        // Never expected of the builder; held, not sent, and never checked as an empty bundle.
        Err(e) => (
            Value::Null,
            vec![format!(
                "the built bundle is not JSON ({e}) / 作成したバンドルがJSONとして読めません"
            )],
        ),
    };
    let findings = findings_by_kind(validator, &bundle.kind, &body);
    errors.extend(
        findings
            .iter()
            .filter(|f| {
                f.severity == Severity::Error || (strict && f.severity == Severity::Warning)
            })
            .map(|f| format!("{} {}: {} / {}", f.rule, f.path, f.message_en, f.message_ja)),
    );
    Checked {
        verdict: (!errors.is_empty()).then(|| errors.join("; ")),
        facts: facts(&body),
        findings,
        bundle,
    }
}

/// One held item per input, resource type, reason and patient: an SS-MIX2 lab file with 40
/// results is one item to look at, not 40.
pub fn dedup_held(held: &mut Vec<Held>) {
    held.sort_by(|a, b| {
        (&a.resource_type, a.code, &a.patient_ref).cmp(&(&b.resource_type, b.code, &b.patient_ref))
    });
    held.dedup_by(|a, b| {
        a.resource_type == b.resource_type && a.code == b.code && a.patient_ref == b.patient_ref
    });
}

/// Every finding for a bundle of `kind`: documents against their profile, deletion bundles
/// without R02143, which they cannot meet by design.
fn findings_by_kind(validator: &BundleValidator, kind: &BundleKind, body: &Value) -> Vec<Finding> {
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
pub fn findings_of(validator: &BundleValidator, body: &Value) -> Vec<Finding> {
    let entries = body["entry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let kind = if body["type"] == "document" {
        // The document rules are the same for the three documents.
        BundleKind::Document(DocumentKind::Referral)
    } else if entries.len() == 1 && entries[0]["resource"]["resourceType"] == "Patient" {
        BundleKind::Deletion
    } else {
        BundleKind::Clins
    };
    findings_by_kind(validator, &kind, body)
}

#[cfg(test)]
mod tests;
