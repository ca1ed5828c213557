//! Rules on the Bundle itself: type, profile, identifier, timestamps, resource-type tag.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::{str_at, Finding};
use crate::build::clins::{
    declares_profile, BUNDLE_IDENTIFIER_SYSTEM, BUNDLE_PROFILE, BUNDLE_RESOURCE_TYPE_CS,
    FIVE_INFO_TYPES,
};

/// R2152, as written in the package (`[\^]` spelled `\^`).
static BUNDLE_IDENTIFIER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-4][0-9][1-3][0-9]{7}\^20[2-3][0-9]\^[A-Za-z0-9\-]{1,36}$")
        .expect("constant regex compiles")
});
/// A FHIR instant with timezone; group 1 is the fraction.
static INSTANT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
        .expect("constant regex compiles")
});

/// TSG-RESOURCE-TYPE: the document is a Bundle.
pub(super) fn resource_type(bundle: &Value, out: &mut Vec<Finding>) {
    if str_at(bundle, "/resourceType") != Some("Bundle") {
        out.push(Finding::error(
            "TSG-RESOURCE-TYPE",
            "resourceType",
            "resourceType must be Bundle",
            "resourceTypeはBundleでなければなりません",
        ));
    }
}

/// R0213: meta.profile names JP_Bundle_CLINS (any version).
pub(super) fn profile(bundle: &Value, out: &mut Vec<Finding>) {
    if !declares_profile(bundle, BUNDLE_PROFILE) {
        out.push(Finding::error(
            "R0213",
            "Bundle.meta.profile",
            "meta.profile must name JP_Bundle_CLINS",
            "meta.profileにJP_Bundle_CLINSを指定しなければなりません",
        ));
    }
}

/// TSG-BUNDLE-TYPE: Bundle.type is fixed to collection.
pub(super) fn bundle_type(bundle: &Value, out: &mut Vec<Finding>) {
    if str_at(bundle, "/type") != Some("collection") {
        out.push(Finding::error(
            "TSG-BUNDLE-TYPE",
            "Bundle.type",
            "Bundle.type must be collection",
            "Bundle.typeはcollectionでなければなりません",
        ));
    }
}

/// R02151: one identifier object with the bundle-identifier system.
pub(super) fn identifier_system(bundle: &Value, out: &mut Vec<Finding>) {
    if str_at(bundle, "/identifier/system") != Some(BUNDLE_IDENTIFIER_SYSTEM) {
        out.push(Finding::error(
            "R02151",
            "Bundle.identifier.system",
            "Bundle.identifier must be one object with system http://jpfhir.jp/fhir/clins/bundle-identifier",
            "Bundle.identifierは1つで、systemはhttp://jpfhir.jp/fhir/clins/bundle-identifierでなければなりません",
        ));
    }
}

/// R2152: identifier.value is `<institution 10>^<year 20[2-3]x>^<施設内ID ≤36>`.
pub(super) fn identifier_value(bundle: &Value, out: &mut Vec<Finding>) {
    let valid = str_at(bundle, "/identifier/value").is_some_and(|v| BUNDLE_IDENTIFIER.is_match(v));
    if !valid {
        out.push(Finding::error(
            "R2152",
            "Bundle.identifier.value",
            "identifier.value must be <institution number 10 digits>^<year>^<up to 36 of A-Z a-z 0-9 ->",
            "identifier.valueは「医療機関番号10桁^西暦4桁^36文字以内の英数字・ハイフン」でなければなりません",
        ));
    }
}

/// TSG-TIMESTAMP: timestamp is an instant with timezone (milliseconds expected).
pub(super) fn timestamp(bundle: &Value, out: &mut Vec<Finding>) {
    let path = "Bundle.timestamp";
    match str_at(bundle, "/timestamp").and_then(|t| INSTANT.captures(t)) {
        None => out.push(Finding::error(
            "TSG-TIMESTAMP",
            path,
            "timestamp is required, as date and time with timezone",
            "timestampは必須です（タイムゾーン付きの日時）",
        )),
        Some(c) if c.get(1).is_none_or(|f| f.len() != 4) => out.push(Finding::warning(
            "TSG-TIMESTAMP",
            path,
            "timestamp should have millisecond precision",
            "timestampはミリ秒まで記述してください",
        )),
        Some(_) => {}
    }
}

/// TSG-LAST-UPDATED: meta.lastUpdated is required.
pub(super) fn last_updated(bundle: &Value, out: &mut Vec<Finding>) {
    if str_at(bundle, "/meta/lastUpdated").is_none_or(|t| !INSTANT.is_match(t)) {
        out.push(Finding::error(
            "TSG-LAST-UPDATED",
            "Bundle.meta.lastUpdated",
            "meta.lastUpdated is required, as date and time with timezone",
            "meta.lastUpdatedは必須です（タイムゾーン付きの日時）",
        ));
    }
}

/// The codes of the BundleResourceType_CS tags.
pub(super) fn type_tags(bundle: &Value) -> Vec<Option<&str>> {
    bundle
        .pointer("/meta/tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("system").and_then(Value::as_str) == Some(BUNDLE_RESOURCE_TYPE_CS))
        .map(|t| t.get("code").and_then(Value::as_str))
        .collect()
}

/// R02141: meta.tag declares the contained resource type.
pub(super) fn resource_type_tag(bundle: &Value, out: &mut Vec<Finding>) {
    if type_tags(bundle).is_empty() {
        out.push(Finding::error(
            "R02141",
            "Bundle.meta.tag",
            "meta.tag must declare the resource type (BundleResourceType_CS)",
            "meta.tagに収納するresourceType（BundleResourceType_CS）を記述しなければなりません",
        ));
    }
}

/// R02142: exactly one tag, AllergyIntolerance, Condition or Observation (not MedicationRequest).
pub(super) fn resource_type_tag_value(bundle: &Value, out: &mut Vec<Finding>) {
    let tags = type_tags(bundle);
    let valid = match tags.as_slice() {
        [] => return, // reported by R02141
        [Some(code)] => FIVE_INFO_TYPES.contains(code),
        _ => false,
    };
    if !valid {
        out.push(Finding::error(
            "R02142",
            "Bundle.meta.tag",
            "the resource-type tag must be exactly one of AllergyIntolerance, Condition, Observation",
            "meta.tagのresourceTypeはAllergyIntolerance、Condition、Observationのいずれか1つでなければなりません",
        ));
    }
}
