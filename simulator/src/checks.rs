//! The submission checks: what we assume the national service checks first.
//!
//! Each rule is a small pure function over the parsed JSON returning the broken rules as
//! `Issue`s (rule keys from the JP-CLINS IG invariants where one exists, `SIM-*` otherwise).
//! `check_bundle` runs them all. Issues name the element, never its value (patient data).
//!
//! Checked for 5情報 Bundles (`JP_Bundle_CLINS`): resourceType, meta.profile (R0213), type
//! `collection`, identifier system (R02151) and value (R2152), timestamp, entry[0] is a Patient
//! (R0211) with one insurance member identifier (R1012) of the right form (R1013), meta.tag
//! resource type present (R02141) and allowed (R02142), all other entries of that type (R02143),
//! fullUrl present and unique (bdl-7), institution-number extension present (R9011), well formed
//! (R9012), equal to the identifier's institution, and registered (`SIM-INSTITUTION`).
//! Document Bundles (eReferral, eDischargeSummary, eCheckupGeneral): type `document`, identifier
//! and the presence of a Patient only.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::outcome::Issue;

pub const CLINS_PROFILE: &str = "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_CLINS";
pub const DOCUMENT_PROFILES: [&str; 3] = [
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eReferral",
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eDischargeSummary",
    "http://jpfhir.jp/fhir/clins/StructureDefinition/JP_Bundle_eCheckupGeneral",
];
pub const BUNDLE_IDENTIFIER_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/bundle-identifier";
pub const MEMBER_ID_SYSTEM: &str = "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID";
pub const RESOURCE_TYPE_TAG_SYSTEM: &str =
    "http://jpfhir.jp/fhir/clins/CodeSystem/BundleResourceType_CS";
pub const INSTITUTION_EXTENSION: &str =
    "http://jpfhir.jp/fhir/clins/Extension/StructureDefinition/JP_eCS_InstitutionNumber";
/// Resource types a 5情報 Bundle may carry besides the Patient (R02142).
pub const ALLOWED_TYPES: [&str; 3] = ["AllergyIntolerance", "Condition", "Observation"];

static BUNDLE_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$").expect("static")
});
static MEMBER_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]{8}:[^:^\s^　]*:[^:^\s^　]*:(.{0}|[0-9][0-9])$").expect("static")
});
static INSTITUTION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-4][0-9][1-3][0-9]{7}$").expect("static"));

/// Which kind of Bundle `meta.profile` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    /// 5情報 (`JP_Bundle_CLINS`), type `collection`.
    Clins,
    /// One of the document Bundles, type `document`.
    Document,
}

/// Runs every check; an empty result means the Bundle is accepted.
/// `institutions` empty = accept any well-formed institution number.
pub fn check_bundle(b: &Value, institutions: &[String]) -> Vec<Issue> {
    if let Some(i) = check_resource_type(b) {
        return vec![i];
    }
    let kind = match bundle_kind(b) {
        Ok(k) => k,
        Err(i) => return vec![i],
    };
    let mut issues = Vec::new();
    issues.extend(check_type(b, kind));
    issues.extend(check_identifier(b));
    let institution = identifier_institution(b);
    if let Some(inst) = institution {
        issues.extend(check_registered(inst, institutions));
    }
    match kind {
        BundleKind::Document => issues.extend(check_document_patient(b)),
        BundleKind::Clins => {
            issues.extend(check_timestamp(b));
            issues.extend(check_patient(b));
            issues.extend(check_resource_types(b));
            issues.extend(check_full_urls(b));
            issues.extend(check_institution_numbers(b, institution));
        }
    }
    issues
}

/// `Bundle.identifier.value` when the identifier has the bundle-identifier system.
pub fn bundle_identifier(b: &Value) -> Option<&str> {
    let id = &b["identifier"];
    (id["system"] == BUNDLE_IDENTIFIER_SYSTEM).then(|| id["value"].as_str())?
}

/// The institution number (first `^` part) of a well-formed bundle identifier.
pub fn identifier_institution(b: &Value) -> Option<&str> {
    bundle_identifier(b)
        .filter(|v| BUNDLE_ID_RE.is_match(v))
        .and_then(|v| v.split('^').next())
}

pub fn check_resource_type(b: &Value) -> Option<Issue> {
    (b["resourceType"] != "Bundle").then(|| {
        Issue::new(
            "SIM-RESOURCE-TYPE",
            "the submitted resource is not a Bundle",
            "Bundle.resourceType",
        )
    })
}

/// R0213: `meta.profile` must name JP_Bundle_CLINS (or a document Bundle), with or without
/// `|version`.
pub fn bundle_kind(b: &Value) -> Result<BundleKind, Issue> {
    let profiles = b["meta"]["profile"].as_array().into_iter().flatten();
    let mut kind = None;
    for p in profiles.filter_map(Value::as_str) {
        let base = p.split_once('|').map_or(p, |(base, _)| base);
        if base == CLINS_PROFILE {
            return Ok(BundleKind::Clins);
        }
        if DOCUMENT_PROFILES.contains(&base) {
            kind = Some(BundleKind::Document);
        }
    }
    kind.ok_or_else(|| {
        Issue::new(
            "R0213",
            "meta.profile must contain the JP_Bundle_CLINS profile (or a JP-CLINS document Bundle profile)",
            "Bundle.meta.profile",
        )
    })
}

pub fn check_type(b: &Value, kind: BundleKind) -> Option<Issue> {
    let want = match kind {
        BundleKind::Clins => "collection",
        BundleKind::Document => "document",
    };
    (b["type"] != want).then(|| {
        Issue::new(
            "SIM-BUNDLE-TYPE",
            format!("Bundle.type must be `{want}` for this profile"),
            "Bundle.type",
        )
    })
}

/// R02151 (system) and R2152 (value format).
pub fn check_identifier(b: &Value) -> Vec<Issue> {
    let id = &b["identifier"];
    if id["system"] != BUNDLE_IDENTIFIER_SYSTEM {
        return vec![Issue::new(
            "R02151",
            format!("Bundle.identifier.system must be {BUNDLE_IDENTIFIER_SYSTEM}"),
            "Bundle.identifier.system",
        )];
    }
    match id["value"].as_str() {
        Some(v) if BUNDLE_ID_RE.is_match(v) => vec![],
        _ => vec![Issue::new(
            "R2152",
            "Bundle.identifier.value must be <10-digit institution number>^<year 20xx>^<1-36 of [A-Za-z0-9-]>",
            "Bundle.identifier.value",
        )],
    }
}

pub fn check_timestamp(b: &Value) -> Option<Issue> {
    let ok = b["timestamp"].as_str().is_some_and(|t| !t.is_empty());
    (!ok).then(|| {
        Issue::new(
            "SIM-TIMESTAMP",
            "Bundle.timestamp is required",
            "Bundle.timestamp",
        )
    })
}

fn entries(b: &Value) -> &[Value] {
    b["entry"].as_array().map_or(&[], Vec::as_slice)
}

/// R0211 (entry[0] is a Patient), R1012 (one member identifier), R1013 (its format).
pub fn check_patient(b: &Value) -> Vec<Issue> {
    let patient = &entries(b).first().unwrap_or(&Value::Null)["resource"];
    if patient["resourceType"] != "Patient" {
        return vec![Issue::new(
            "R0211",
            "the first entry must be a Patient",
            "Bundle.entry[0].resource",
        )];
    }
    let member_ids: Vec<&Value> = patient["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["system"] == MEMBER_ID_SYSTEM)
        .collect();
    match member_ids.as_slice() {
        [one] if one["value"].as_str().is_some_and(|v| MEMBER_ID_RE.is_match(v)) => vec![],
        [_] => vec![Issue::new(
            "R1013",
            "the insurance member identifier must be <8 digits>:<symbol>:<number>:<2-digit branch or empty>",
            format!("Bundle.entry[0].resource.identifier.where(system='{MEMBER_ID_SYSTEM}').value"),
        )],
        _ => vec![Issue::new(
            "R1012",
            format!("the Patient must have exactly one identifier with system {MEMBER_ID_SYSTEM}"),
            "Bundle.entry[0].resource.identifier",
        )],
    }
}

/// Documents: a Patient must be present somewhere in the Bundle.
pub fn check_document_patient(b: &Value) -> Option<Issue> {
    let present = entries(b)
        .iter()
        .any(|e| e["resource"]["resourceType"] == "Patient");
    (!present).then(|| {
        Issue::new(
            "SIM-DOCUMENT-PATIENT",
            "a document Bundle must contain a Patient",
            "Bundle.entry.resource",
        )
    })
}

/// R02141 (meta.tag resource type present), R02142 (allowed type), R02143 (entries match).
pub fn check_resource_types(b: &Value) -> Vec<Issue> {
    let tags: Vec<&Value> = b["meta"]["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["system"] == RESOURCE_TYPE_TAG_SYSTEM)
        .collect();
    let declared = match tags.as_slice() {
        [] => {
            return vec![Issue::new(
                "R02141",
                format!("Bundle.meta.tag must declare the contained resource type (system {RESOURCE_TYPE_TAG_SYSTEM})"),
                "Bundle.meta.tag",
            )]
        }
        [one] => one["code"].as_str().unwrap_or(""),
        _ => {
            return vec![Issue::new(
                "R02142",
                "Bundle.meta.tag must declare exactly one contained resource type",
                "Bundle.meta.tag",
            )]
        }
    };
    if !ALLOWED_TYPES.contains(&declared) {
        return vec![Issue::new(
            "R02142",
            "the declared resource type must be AllergyIntolerance, Condition or Observation",
            "Bundle.meta.tag.code",
        )];
    }
    entries(b)
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, e)| e["resource"]["resourceType"] != declared)
        .map(|(i, _)| {
            Issue::new(
                "R02143",
                "every entry after the Patient must be of the resource type declared in Bundle.meta.tag",
                format!("Bundle.entry[{i}].resource"),
            )
        })
        .collect()
}

/// Every entry has a fullUrl (`SIM-FULLURL`), all distinct (bdl-7).
pub fn check_full_urls(b: &Value) -> Vec<Issue> {
    let mut seen = HashSet::new();
    let mut issues = Vec::new();
    for (i, e) in entries(b).iter().enumerate() {
        match e["fullUrl"].as_str().filter(|u| !u.is_empty()) {
            None => issues.push(Issue::new(
                "SIM-FULLURL",
                "entry.fullUrl is required",
                format!("Bundle.entry[{i}].fullUrl"),
            )),
            Some(u) if !seen.insert(u) => issues.push(Issue::new(
                "bdl-7",
                "entry.fullUrl must be unique within the Bundle",
                format!("Bundle.entry[{i}].fullUrl"),
            )),
            Some(_) => {}
        }
    }
    issues
}

/// R9011 (extension present), R9012 (10-digit form), `SIM-INSTITUTION-MATCH` (equal to the
/// institution part of Bundle.identifier, when that is well formed).
pub fn check_institution_numbers(b: &Value, expected: Option<&str>) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (i, e) in entries(b).iter().enumerate().skip(1) {
        let path = format!("Bundle.entry[{i}].resource.extension('{INSTITUTION_EXTENSION}')");
        let ext = e["resource"]["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["url"] == INSTITUTION_EXTENSION);
        let Some(ext) = ext else {
            issues.push(Issue::new(
                "R9011",
                "every resource other than the Patient needs the institution number extension",
                path,
            ));
            continue;
        };
        let value = ext["valueIdentifier"]["value"].as_str();
        match value {
            Some(v) if INSTITUTION_RE.is_match(v) => {
                if expected.is_some_and(|x| x != v) {
                    issues.push(Issue::new(
                        "SIM-INSTITUTION-MATCH",
                        "the institution number must equal the first part of Bundle.identifier.value",
                        format!("{path}.valueIdentifier.value"),
                    ));
                }
            }
            _ => issues.push(Issue::new(
                "R9012",
                "the institution number must be 10 digits ([0-4][0-9][1-3][0-9]{7})",
                format!("{path}.valueIdentifier.value"),
            )),
        }
    }
    issues
}

/// `SIM-INSTITUTION`: the identifier's institution must be registered (when a list is set).
pub fn check_registered(institution: &str, institutions: &[String]) -> Option<Issue> {
    let ok = institutions.is_empty() || institutions.iter().any(|r| r == institution);
    (!ok).then(|| {
        Issue::new(
            "SIM-INSTITUTION",
            "the institution in Bundle.identifier is not registered with this platform",
            "Bundle.identifier.value",
        )
    })
}

/// Parses a request body; a failure is a `400` with rule `SIM-JSON` (no body text echoed).
pub fn parse_body(body: &[u8]) -> Result<Value, Issue> {
    serde_json::from_slice(body).map_err(|e| {
        Issue::new(
            "SIM-JSON",
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
            "Bundle",
        )
    })
}

#[cfg(test)]
mod tests;
